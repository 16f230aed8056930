"""The real loaders, restricted to an allow-list: the oracle of the pickle differential test.

  loader.py ALLOWED_JSON [--jobs N]  < paths

ALLOWED_JSON is a JSON list of [module, name] pairs. For each path read from stdin (one per
line) this prints one JSON line, flushed, in input order:

  {"file": path, "joblib": R, "pickle": R, "pickle_py": R}
  R = {"outcome": "loaded" | "refused" | "error" | "timeout" | "crashed",
       "error": str or null, "globals": [[module, name], ...], "arrays": [A, ...]}
  A = {"dtype": "<f8", "shape": [...], "sha256": hex or null, "objects": [str or null, ...] or null}

Modes: `joblib` is what joblib.load(path) does (decompression included; a pre-0.10 file is an
error); `pickle` is the C unpickler and `pickle_py` the pure-Python one, on the raw file. Each
resolves a global only if the raw (module, name) its find_class receives is allow-listed, and
otherwise raises `Refused`, a BaseException nothing in pickle or joblib catches: no other global
is ever imported, resolved or called. `globals` lists every find_class call in order, refused
or not. `arrays` (joblib mode only) lists every ndarray or numpy scalar completed during the
load: after a BUILD whose result is an array (a joblib wrapper replaced by its array, or
numpy's own `_reconstruct` + BUILD), and after a REDUCE of numpy's `_frombuffer` or `scalar`.
joblib unpickles an object array's nested stream with a fresh plain unpickler: that one is
replaced here by a recording one too.

Each load runs in a forked child (2 GiB address space, 10 s alarm, output silenced) that streams
what it records to the parent as it goes, so a timeout (the alarm, or the parent's kill after
15 s) or a crash still reports what was seen before it. Only ever load untrusted files
through this script.
"""

import os

# One BLAS thread: no thread pool to fork from, and a small address space for RLIMIT_AS.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import contextlib
import gc
import hashlib
import json
import pickle
import resource
import select
import signal
import sys
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import numpy as np
    import joblib
    import joblib.numpy_pickle
    import joblib.numpy_pickle_utils
    import sklearn.pipeline  # noqa: F401  (imported once here, not in every child)
    import sklearn.preprocessing  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.compose  # noqa: F401
    import sklearn.impute  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import numpy.ma  # noqa: F401
    from numpy._core import multiarray as _multiarray, numeric as _numeric

MODES = ("joblib", "pickle", "pickle_py")
MEMORY_LIMIT = 2 << 30
ALARM_SECONDS = 10
KILL_SECONDS = 15
ERROR_CHARS = 300

# numpy's array-making functions, compared by identity (numpy.core.* are the same objects).
ARRAY_FUNCTIONS = (_numeric._frombuffer, _multiarray.scalar)

BUILD = pickle.BUILD[0]
REDUCE = pickle.REDUCE[0]


def without_surrogates(value):
    """`value` with each lone surrogate replaced by U+FFFD, as onnxify reads one: a Python str
    may hold one (BINUNICODE is decoded with surrogatepass), but JSON readers refuse it."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: without_surrogates(v) for k, v in value.items()}
    return value


class Refused(BaseException):
    """A global outside the allow-list: derives from BaseException so that no `except
    Exception` on the way up can swallow it and let the load go on."""


# The child's channel to the parent and the allow-list; set in the child before loading.
_channel = None
_allowed = frozenset()


def _send(event):
    """Writes one JSON line to the parent at once, so it survives a later kill."""
    data = (json.dumps(event) + "\n").encode()
    while data:
        written = os.write(_channel, data)
        data = data[written:]


class Restricted:
    """find_class that records every request and resolves only allow-listed ones."""

    def find_class(self, module, name):
        _send(["global", module, name])
        if (module, name) not in _allowed:
            raise Refused(f"{module}.{name}")
        return super().find_class(module, name)


def _describe_array(value):
    a = np.asarray(value)
    little = a.dtype.newbyteorder("<")
    record = {"dtype": little.str, "shape": list(a.shape), "sha256": None, "objects": None}
    if a.dtype.hasobject:
        record["objects"] = [str(v) if isinstance(v, str) else None for v in a.ravel(order="C")]
    else:
        data = np.ascontiguousarray(a).astype(little, copy=False).tobytes()
        record["sha256"] = hashlib.sha256(data).hexdigest()
    return record


def _recording_dispatch(base):
    """A copy of the dispatch table `base` whose BUILD and REDUCE also report the arrays they
    complete; both still run the original entry first."""
    dispatch = dict(base)
    build, reduce = base[BUILD], base[REDUCE]

    def recording_build(self):
        build(self)
        if self.stack and isinstance(self.stack[-1], np.ndarray):
            _send(["array", _describe_array(self.stack[-1])])

    def recording_reduce(self):
        func = self.stack[-2] if len(self.stack) >= 2 else None
        reduce(self)
        if any(func is f for f in ARRAY_FUNCTIONS):
            _send(["array", _describe_array(self.stack[-1])])

    dispatch[BUILD] = recording_build
    dispatch[REDUCE] = recording_reduce
    return dispatch


class JoblibUnpickler(Restricted, joblib.numpy_pickle.NumpyUnpickler):
    """joblib's NumpyUnpickler (its BUILD still expands the array wrappers), restricted."""

    dispatch = _recording_dispatch(joblib.numpy_pickle.NumpyUnpickler.dispatch)


class NestedUnpickler(Restricted, pickle._Unpickler):
    """Stands in for the plain pure-Python unpickler joblib makes for an object array's nested
    stream. joblib gives it the outer unpickler's find_class; the restricted one here is only
    a safety net should it not."""

    dispatch = _recording_dispatch(pickle._Unpickler.dispatch)


class CUnpickler(Restricted, pickle.Unpickler):
    pass


class PyUnpickler(Restricted, pickle._Unpickler):
    pass


def load_joblib(path):
    """joblib.load(path), step by step, with the restricted unpicklers swapped in."""
    # NumpyArrayWrapper.read_array calls the module's `Unpickler` for nested streams and
    # NumpyUnpickler.load_build calls `Unpickler.load_build`, which the subclass inherits
    # unchanged from pickle._Unpickler.
    joblib.numpy_pickle.Unpickler = NestedUnpickler
    joblib.numpy_pickle.NumpyUnpickler = JoblibUnpickler
    with open(path, "rb") as f:
        with joblib.numpy_pickle_utils._validate_fileobject_and_memmap(f, path, None) as (fobj, _):
            if isinstance(fobj, str):
                # joblib.load would hand this to load_compatibility, an unrestricted loader.
                raise ValueError("a joblib < 0.10 file ('ZF' prefix), not loaded")
            return joblib.numpy_pickle._unpickle(
                fobj, ensure_native_byte_order=True, filename=path, mmap_mode=None
            )


def load_pickle(path):
    with open(path, "rb") as f:
        return CUnpickler(f).load()


def load_pickle_py(path):
    with open(path, "rb") as f:
        return PyUnpickler(f).load()


LOADERS = {"joblib": load_joblib, "pickle": load_pickle, "pickle_py": load_pickle_py}


def _error_text(error):
    try:
        text = f"{type(error).__name__}: {error}"
    except BaseException:  # a str() that fails is still an error to report
        text = type(error).__name__
    return text[:ERROR_CHARS]


def _child(path, mode, channel, inherited):
    """Runs in the forked child: loads, streams events, never returns."""
    global _channel
    try:
        _channel = channel
        for fd in inherited:  # the other children's pipes
            with contextlib.suppress(OSError):
                os.close(fd)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(ALARM_SECONDS)
        warnings.simplefilter("ignore")
        try:
            LOADERS[mode](path)
            outcome, error = "loaded", None
        except Refused:
            outcome, error = "refused", None
        except BaseException as e:
            outcome, error = "error", _error_text(e)
        _send(["outcome", outcome, error])
    finally:
        # No interpreter shutdown: no atexit, no flushing of inherited buffers, no finalizers.
        os._exit(0)


class Run:
    """One forked load of `path` in `mode`, read by the parent as the child streams it."""

    def __init__(self, path, mode, inherited):
        self.buffer = bytearray()
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            raise
        if pid == 0:
            os.close(read)
            _child(path, mode, write, inherited)
        os.close(write)
        self.pid, self.fd = pid, read
        self.deadline = time.monotonic() + KILL_SECONDS

    def read(self):
        """Takes what the child wrote; False once it has closed the pipe."""
        chunk = os.read(self.fd, 1 << 16)
        self.buffer += chunk
        return bool(chunk)

    def finish(self, killed):
        """Reaps the child (killing it if `killed` or still alive at the deadline) and returns
        its R."""
        os.close(self.fd)
        status = None
        while not killed:
            pid, waited = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                status = waited
                break
            if time.monotonic() >= self.deadline:
                killed = True
            else:
                time.sleep(0.001)
        if status is None:
            os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
        return self.result(killed, status)

    def result(self, killed, status):
        result = {"outcome": None, "error": None, "globals": [], "arrays": []}
        for line in bytes(self.buffer).split(b"\n"):
            try:
                event = json.loads(line)
            except ValueError:
                continue  # empty, or cut short by a kill
            if event[0] == "global":
                result["globals"].append(event[1:])
            elif event[0] == "array":
                result["arrays"].append(event[1])
            elif event[0] == "outcome":
                result["outcome"], result["error"] = event[1], event[2]
        if result["outcome"] is None:
            signalled = os.WIFSIGNALED(status)
            if killed or (signalled and os.WTERMSIG(status) == signal.SIGALRM):
                result["outcome"] = "timeout"
            elif signalled:
                result["outcome"] = "crashed"
                result["error"] = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
            else:
                result["outcome"] = "crashed"
                result["error"] = f"exited with status {os.WEXITSTATUS(status)} before its result"
        return result


class Scheduler:
    """Reads paths from stdin as they come, runs up to `jobs` loads at once, and prints each
    file's line as soon as it and every file before it are done."""

    def __init__(self, jobs):
        self.jobs = jobs
        self.tasks = []  # (index, path, mode) not started yet
        self.running = {}  # pipe fd -> (Run, index, mode)
        self.files = []  # index -> [path, {mode: R}]
        self.printed = 0
        self.stdin_open = True
        self.pending_input = b""

    def take_input(self):
        chunk = os.read(0, 1 << 16)
        if not chunk:
            self.stdin_open = False
            lines, self.pending_input = [self.pending_input], b""
        else:
            *lines, self.pending_input = (self.pending_input + chunk).split(b"\n")
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                continue
            path = os.fsdecode(line)
            index = len(self.files)
            self.files.append([path, {}])
            self.tasks.extend((index, path, mode) for mode in MODES)

    def start(self):
        while self.tasks and len(self.running) < self.jobs:
            index, path, mode = self.tasks.pop(0)
            try:
                run = Run(path, mode, list(self.running))
            except OSError as e:  # out of processes or descriptors: report, go on
                self.files[index][1][mode] = {"outcome": "crashed", "error": f"cannot fork: {e}",
                                              "globals": [], "arrays": []}
                continue
            self.running[run.fd] = (run, index, mode)

    def done(self, fd, killed):
        run, index, mode = self.running.pop(fd)
        self.files[index][1][mode] = run.finish(killed)

    def emit(self):
        while self.printed < len(self.files) and len(self.files[self.printed][1]) == len(MODES):
            path, results = self.files[self.printed]
            line = {"file": path}
            line.update((mode, results[mode]) for mode in MODES)
            sys.stdout.write(json.dumps(without_surrogates(line)) + "\n")
            sys.stdout.flush()
            self.files[self.printed] = None  # done with it
            self.printed += 1

    def run(self):
        while self.stdin_open or self.tasks or self.running:
            self.start()
            watched = list(self.running)
            # Read more paths only when there is room to start them.
            if self.stdin_open and len(self.tasks) < self.jobs:
                watched.append(0)
            now = time.monotonic()
            wait = min((r.deadline for r, _, _ in self.running.values()), default=now + 60) - now
            ready, _, _ = select.select(watched, [], [], max(wait, 0))
            for fd in ready:
                if fd == 0:
                    self.take_input()
                elif not self.running[fd][0].read():
                    self.done(fd, killed=False)
            now = time.monotonic()
            for fd in [fd for fd, (r, _, _) in self.running.items() if r.deadline <= now]:
                self.done(fd, killed=True)
            self.emit()


def main():
    args = sys.argv[1:]
    jobs = max(1, min(os.cpu_count() or 1, 4))
    if "--jobs" in args:
        at = args.index("--jobs")
        jobs = max(1, int(args[at + 1]))
        del args[at : at + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    global _allowed
    _allowed = frozenset((module, name) for module, name in json.loads(args[0]))
    # Children share the parent's pages; keep the collector from touching (copying) them.
    gc.collect()
    gc.freeze()
    Scheduler(jobs).run()


if __name__ == "__main__":
    main()
