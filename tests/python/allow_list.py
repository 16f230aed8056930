"""Python's side of the allow-list cross-check (tests/allow_list.rs).

  allow_list.py   prints one JSON object:
    import_mapping, name_mapping   _compat_pickle's effective tables, the renaming find_class
                                   applies below protocol 3
    windows_error                  whether this Python renames exceptions.WindowsError (Windows)
    estimators                     [module, name] of every class sklearn.utils.all_estimators()
                                   lists, at the module that defines it
    loads                          for small streams that name only __builtin__.xrange under
                                   different protocols: the stream (hex) and, for each global the
                                   loader resolved in order, "builtins.range" or "missing"

The only global any stream here names is __builtin__.xrange, and the unpickler refuses every
other name before importing it: resolving it returns the range class, and nothing is called.
"""

import _compat_pickle
import io
import json
import pickle
import warnings

import sklearn
from sklearn.utils import all_estimators

GLOBAL = b"c__builtin__\nxrange\n"
STACK_GLOBAL = b"\x8c\x0b__builtin__\x8c\x06xrange\x93"

# What the protocol is when find_class runs: none yet, set once, set twice, in a second stream.
STREAMS = [
    GLOBAL + b".",
    b"\x80\x00" + GLOBAL + b".",
    b"\x80\x02" + GLOBAL + b".",
    b"\x80\x03" + GLOBAL + b".",
    b"\x80\x04" + GLOBAL + b".",
    b"\x80\x02" + STACK_GLOBAL + b".",
    b"\x80\x04" + STACK_GLOBAL + b".",
    b"\x80\x04\x80\x02" + GLOBAL + b".",
    b"\x80\x02\x80\x04" + GLOBAL + b".",
    b"\x80\x04N." + GLOBAL + b".",
    b"\x80\x02N.\x80\x05" + STACK_GLOBAL + b".",
    b"\x80\x02" + GLOBAL + b"0\x80\x03" + GLOBAL + b".",
]


class OnlyXrange(pickle.Unpickler):
    def __init__(self, file, resolved):
        super().__init__(file)
        self.resolved = resolved

    def find_class(self, module, name):
        if (module, name) != ("__builtin__", "xrange"):
            raise pickle.UnpicklingError(f"the cross-check refuses {module}.{name}")
        try:
            found = super().find_class(module, name)
        except ModuleNotFoundError:
            self.resolved.append("missing")
            raise
        self.resolved.append(f"{found.__module__}.{found.__qualname__}")
        return found


def load_all(stream):
    """Loads stream after stream from the bytes, as a loader that reads on would."""
    resolved = []
    data = io.BytesIO(stream)
    unpickler = OnlyXrange(data, resolved)
    while data.tell() < len(stream):
        try:
            unpickler.load()
        except ModuleNotFoundError:
            break
    return resolved


def main():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimators = [[cls.__module__, name] for name, cls in all_estimators()]
    print(
        json.dumps(
            {
                "sklearn_version": sklearn.__version__,
                "import_mapping": _compat_pickle.IMPORT_MAPPING,
                "name_mapping": [[list(k), list(v)] for k, v in _compat_pickle.NAME_MAPPING.items()],
                "windows_error": "WindowsError" in _compat_pickle.PYTHON2_EXCEPTIONS,
                "estimators": estimators,
                "loads": [{"stream": s.hex(), "resolved": load_all(s)} for s in STREAMS],
            }
        )
    )


if __name__ == "__main__":
    main()
