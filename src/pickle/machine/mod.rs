//! A pickle machine that never calls anything. It reads the opcodes of a stream into a tree of
//! plain values the way one of CPython's unpicklers would: a global is a name, and a
//! `REDUCE`/`NEWOBJ`/`BUILD` is either one of the uses the allow-list binds to that name (a
//! numpy dtype or array, a scikit-learn object with its attribute dict) or an opaque value
//! recorded as a finding. Interpretation goes on after a refused global, so the report lists
//! every global a file references.
//!
//! The rule it serves: onnxify's reading of a file must be the loader's reading, or the file is
//! refused. So it follows the loaders exactly where a dump's opcodes go ([`source`] for frames,
//! [`pyint`] for Python's integer text, Python's dict and memo semantics) and, as joblib's
//! `NumpyUnpickler` does, reads each `NumpyArrayWrapper`'s array from the file at its `BUILD`
//! ([`objects`]). The same bytes are also read the way `pickle.load` reads them, where a
//! wrapper is an ordinary object and the array bytes after it are opcodes ([`Loader`]).
//!
//! Every opcode of protocols 0 to 5 is understood, but only those a scikit-learn or joblib dump
//! uses are accepted ([`opcodes`]). Resources are bounded: the values made, the bytes they
//! hold, stack and MARK depth, memo entries. Nothing walks the value tree recursively, so
//! neither deep nesting nor shared references (memo expansion) cost more than the opcodes that
//! made them. Limits a model's dump never reaches but Python does not have (stack depth, open
//! MARKs, line length) are reported and read past, since a loader would go on and run what
//! follows; where reading has to stop, a linear walk ([`walk`]) lists the globals the rest of
//! the data names.

mod objects;
pub mod opcodes;
mod pyint;
mod source;
mod text;
mod values;
mod walk;

use std::collections::{HashMap, HashSet};

use super::allow::{self, Allowed, Verdict};
use opcodes::opcode_name;
use pyint::{MemoKey, PyInt};
use source::{Framing, Source};
pub use values::{Array, Elements, GlobalRef, Id, Value};

/// Values made, at most.
const MAX_VALUES: usize = 4_000_000;
/// Bytes of text, bytes and container slots the values may hold together.
const MAX_VALUE_BYTES: usize = 512 << 20;
/// Stack entries a dump makes, at most (it batches its containers by 1,000 items). Python has
/// no such limit, so past it reading goes on, to list what follows, up to the hard limit.
const MAX_STACK: usize = 50_000;
const HARD_MAX_STACK: usize = 8 << 20;
/// Open MARKs a dump makes, at most (a pipeline's dump nests a handful); as `MAX_STACK`.
const MAX_MARKS: usize = 1_000;
const HARD_MAX_MARKS: usize = 1 << 20;
/// Memo entries per stream.
const MAX_MEMO: usize = 1_000_000;
/// Memo keys from here on make pickle.load's memo array (8 bytes an entry, twice the key)
/// larger than 64 MiB.
const MAX_MEMO_KEY: u64 = 1 << 22;
/// Streams inside one another the walk after a stop follows (joblib nests one level: an object
/// array's stream is read by a plain unpickler, which does not expand arrays).
const MAX_NESTED: usize = 4;
/// Globals referenced, at most.
const MAX_GLOBALS: usize = 10_000;
/// Length of a text line (protocol 0 arguments) a pickler writes for a model; a longer one is
/// reported and read on.
const MAX_LINE: usize = 64 << 10;
/// Streams read after the first STOP to find what trailing bytes reference.
const MAX_TRAILING_STREAMS: usize = 8;
/// Findings kept (the count of the rest is kept).
const MAX_FINDINGS: usize = 100;

/// Which loader's reading of the bytes the machine follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loader {
    /// `joblib.load`: CPython's pure-Python unpickler with joblib's `BUILD`, which reads each
    /// `NumpyArrayWrapper`'s array (or an object array's nested stream) from the file.
    Joblib,
    /// `pickle.load`: CPython's C unpickler; a wrapper is an ordinary object and its array
    /// bytes are opcodes.
    Pickle,
    /// `pickle._Unpickler`: the pure-Python unpickler, wrappers as for `pickle.load`.
    PicklePy,
}

impl Loader {
    fn framing(self) -> Framing {
        match self {
            Loader::Pickle => Framing::C,
            Loader::Joblib | Loader::PicklePy => Framing::Python,
        }
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Outside the allow-list: refused.
    NotAllowed,
    /// A scikit-learn model onnxify does not convert (yet): refused.
    Unsupported,
    /// Not a well-formed pickle or model, or beyond a resource limit.
    Malformed,
}

/// Something about the stream other than a global's verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    /// Offset in the (decompressed) stream, where the finding has one.
    pub offset: Option<usize>,
    pub severity: Severity,
    pub message: String,
    /// Reading stopped at a limit of onnxify's (a size, a count, a depth), not at a fault of
    /// the file's.
    #[serde(skip_serializing_if = "is_false")]
    pub at_limit: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// What the loader does, in order, as the machine reads it: the differential tests compare
/// this with the real loader's.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// The `(module, name)` of each `find_class` call, as the stream spells them.
    pub globals: Vec<(String, String)>,
    /// Each array and numpy scalar as it is completed: a joblib array read, an ndarray given its
    /// state, the result of `_frombuffer` or `scalar`.
    pub arrays: Vec<Array>,
    /// Whether `load()` returns (the first STOP is reached).
    pub completed: bool,
}

/// What reading a stream found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub loader: Loader,
    pub values: Vec<Value>,
    /// The object the first stream's STOP returned, if it got there.
    pub root: Option<Id>,
    pub globals: Vec<GlobalRef>,
    pub findings: Vec<Finding>,
    /// Findings left out of `findings`.
    pub more_findings: usize,
    /// The findings about what a loader would import or call beyond the allow-list's uses (a
    /// global built at load time, an allowed callable given other arguments, attributes set on
    /// a global): what matters even where the loader fails soon after.
    pub calls: Vec<Finding>,
    /// The first protocol the stream declares.
    pub protocol: Option<u8>,
    /// Opcodes read, in all streams.
    pub opcodes: usize,
    pub trace: Trace,
    /// A joblib `NumpyArrayWrapper` was given its state somewhere.
    pub wrappers: bool,
    /// The reading met a FRAME the two unpicklers read differently: one that runs past the end
    /// of the data (the C unpickler stops there) or one whose rules stopped the pure-Python one.
    pub framing_differs: bool,
}

/// Reads `data`, a whole pickle stream (decompressed), as `loader` would, without executing
/// anything.
pub fn run(data: &[u8], loader: Loader) -> Outcome {
    let mut machine = Machine {
        data,
        source: Source::new(data, loader.framing()),
        loader,
        values: Vec::new(),
        value_bytes: 0,
        bound: HashMap::new(),
        hashable: HashSet::new(),
        scalars: HashSet::new(),
        clean_states: HashMap::new(),
        globals: Vec::new(),
        findings: Vec::new(),
        more_findings: 0,
        calls: Vec::new(),
        refused_opcodes: Vec::new(),
        protocol: None,
        proto: 0,
        nested: 0,
        opcodes: 0,
        op_at: 0,
        unwound: Vec::new(),
        beyond: Vec::new(),
        trace: Trace::default(),
        tracing: true,
        wrappers: false,
        framing_differs: false,
    };
    let root = match machine.load() {
        Ok(root) => Some(root),
        Err(stop) => {
            machine.stopped(stop);
            None
        }
    };
    machine.trace.completed = root.is_some();
    machine.tracing = false;
    if let Some(root) = root {
        machine.check_result(root);
    }
    if root.is_some() && !machine.source.at_end() {
        let at = machine.source.position();
        let unread = machine.source.unread();
        machine.finding(
            at,
            Severity::NotAllowed,
            format!(
                "{unread} bytes follow the STOP that ends the pickle at byte {}; a loader that \
                 reads on would run them",
                machine.op_at
            ),
        );
        let mut streams = 0;
        while !machine.source.at_end() {
            if streams == MAX_TRAILING_STREAMS {
                // Streams beyond those read are still listed.
                machine.walk_rest(machine.source.position(), true, true);
                break;
            }
            streams += 1;
            if let Err(stop) = machine.load() {
                machine.stopped(stop);
                break;
            }
        }
    }
    Outcome {
        loader,
        values: machine.values,
        root,
        globals: machine.globals,
        findings: machine.findings,
        more_findings: machine.more_findings,
        calls: machine.calls,
        protocol: machine.protocol,
        opcodes: machine.opcodes,
        trace: machine.trace,
        wrappers: machine.wrappers,
        framing_differs: machine.framing_differs || machine.source.short_frame(),
    }
}

/// Why reading stopped.
#[derive(Debug)]
pub struct Stop {
    offset: usize,
    message: String,
    /// At a limit of ours (or a check stricter than the loader's), where a loader would go on;
    /// otherwise the stream is one a loader rejects there too.
    limit: bool,
}

fn stop<T>(offset: usize, message: impl Into<String>) -> Result<T, Stop> {
    Err(Stop { offset, message: message.into(), limit: false })
}

fn limit<T>(offset: usize, message: impl Into<String>) -> Result<T, Stop> {
    Err(Stop { offset, message: message.into(), limit: true })
}

/// The stack, MARKs and memo of one stream: one unpickler's state.
#[derive(Default)]
struct Stream {
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<MemoKey, Id>,
}

/// A value that may only be used one way: an allowed global, a container holding one where the
/// allow-list lets it be, or a joblib wrapper object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    /// A tuple holding `numpy.ndarray` first: only `_reconstruct`'s arguments.
    ReconstructArgs,
    /// A dict holding `numpy.ndarray` under `subclass`: only a joblib wrapper's state.
    WrapperState,
    /// A tuple holding `numpy.ma.MaskedArray` then `numpy.ndarray`: only `_mareconstruct`'s
    /// arguments.
    MaskedArgs,
    /// A dict holding a metric function under `_score_func`: only a scorer's state.
    ScorerState,
}

struct Machine<'a> {
    data: &'a [u8],
    source: Source<'a>,
    loader: Loader,
    values: Vec<Value>,
    value_bytes: usize,
    /// Containers bound to one use (see [`Binding`]).
    bound: HashMap<Id, Binding>,
    /// Tuples found hashable: immutable, so a memoised one is checked once however often it
    /// is used as a key.
    hashable: HashSet<Id>,
    /// numpy scalars (`scalar`'s results), which hash; an ndarray, even of no dimension,
    /// does not.
    scalars: HashSet<Id>,
    /// Attribute dicts found clean at a BUILD, with their length then.
    clean_states: HashMap<Id, usize>,
    globals: Vec<GlobalRef>,
    findings: Vec<Finding>,
    more_findings: usize,
    calls: Vec<Finding>,
    refused_opcodes: Vec<u8>,
    protocol: Option<u8>,
    /// The protocol of the stream being read, as the unpickler's `proto` (0 until a PROTO).
    proto: u8,
    /// Depth of nested streams (a joblib object array's).
    nested: usize,
    opcodes: usize,
    /// Offset of the opcode being run (in the innermost stream).
    op_at: usize,
    /// When reading stopped: the state of each stream it was in, innermost first.
    unwound: Vec<walk::Resume>,
    /// Limits passed and read on past (reported once each).
    beyond: Vec<&'static str>,
    trace: Trace,
    /// Until the first STOP: what happens after it is not part of the loader's load.
    tracing: bool,
    wrappers: bool,
    framing_differs: bool,
}

impl<'a> Machine<'a> {
    /// Reading stopped early: reports why, then lists what the rest of the data references.
    fn stopped(&mut self, stop: Stop) {
        if stop.message.contains("FRAME") {
            self.framing_differs = true;
        }
        self.finding(stop.offset, Severity::Malformed, stop.message);
        if let Some(last) = self.findings.last_mut() {
            last.at_limit = stop.limit;
        }
        self.walk_rest(self.op_at, false, stop.limit);
    }

    fn finding(&mut self, offset: usize, severity: Severity, message: String) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding {
                offset: Some(offset),
                severity,
                message,
                at_limit: false,
            });
        } else {
            self.more_findings += 1;
        }
    }

    fn refuse(&mut self, offset: usize, message: String) {
        self.finding(offset, Severity::NotAllowed, message);
    }

    /// Refuses what a loader would import or call beyond the allow-list's uses.
    fn refuse_call(&mut self, offset: usize, message: String) {
        if self.calls.len() < MAX_FINDINGS {
            let severity = Severity::NotAllowed;
            let message = message.clone();
            self.calls.push(Finding { offset: Some(offset), severity, message, at_limit: false });
        }
        self.refuse(offset, message);
    }

    // --- reading bytes ---

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Stop> {
        Ok(self.source.read(N, what)?.try_into().expect("N bytes"))
    }

    /// A length prefix of `bytes` bytes.
    fn length(&mut self, bytes: usize, what: &str) -> Result<usize, Stop> {
        let at = self.source.position();
        let n = match bytes {
            1 => u64::from(self.array::<1>(what)?[0]),
            4 => u64::from(u32::from_le_bytes(self.array(what)?)),
            _ => u64::from_le_bytes(self.array(what)?),
        };
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= isize::MAX as usize)
            .map_or_else(|| stop(at, format!("{what} declares {n} bytes")), Ok)
    }

    /// A protocol 0 line, without its last byte (the newline, as Python strips it).
    fn line(&mut self, what: &str) -> Result<&'a [u8], Stop> {
        let start = self.source.position();
        let line = self.source.readline(what)?;
        if line.len() > MAX_LINE {
            self.beyond(
                start,
                "line",
                format!(
                    "{what} is a line of {} bytes, longer than the {MAX_LINE} a model's dump writes",
                    line.len() - 1
                ),
            );
        }
        Ok(&line[..line.len().saturating_sub(1)])
    }

    /// Records, once per kind, that the stream passed a limit of ours that Python does not
    /// have; reading goes on, so that what follows is listed too.
    fn beyond(&mut self, at: usize, kind: &'static str, message: String) {
        if !self.beyond.contains(&kind) {
            self.beyond.push(kind);
            self.finding(
                at,
                Severity::Malformed,
                format!("{message}; read on to list what follows"),
            );
            if let Some(last) = self.findings.last_mut() {
                last.at_limit = true;
            }
        }
    }

    // --- values ---

    fn alloc(&mut self, at: usize, value: Value) -> Result<Id, Stop> {
        let bytes = match &value {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Tuple(v) | Value::List(v) | Value::Set(v) | Value::FrozenSet(v) => 4 * v.len(),
            Value::Dict(v) => 8 * v.len(),
            Value::Array(a) => match &a.elements {
                Elements::Objects(v) => 4 * v.len(),
                _ => 0,
            },
            _ => 0,
        };
        self.charge(at, bytes)?;
        if self.values.len() >= MAX_VALUES {
            return limit(at, format!("the pickle makes more than {MAX_VALUES} values"));
        }
        self.values.push(value);
        Ok((self.values.len() - 1) as Id)
    }

    fn charge(&mut self, at: usize, bytes: usize) -> Result<(), Stop> {
        self.value_bytes += bytes;
        if self.value_bytes > MAX_VALUE_BYTES {
            return limit(
                at,
                format!("the pickle's values hold more than {} MiB", MAX_VALUE_BYTES >> 20),
            );
        }
        Ok(())
    }

    fn push(&mut self, stream: &mut Stream, at: usize, value: Value) -> Result<(), Stop> {
        let id = self.alloc(at, value)?;
        self.push_id(stream, at, id)
    }

    fn push_id(&mut self, stream: &mut Stream, at: usize, id: Id) -> Result<(), Stop> {
        if stream.stack.len() >= MAX_STACK {
            if stream.stack.len() >= HARD_MAX_STACK {
                return limit(at, format!("the stack holds more than {HARD_MAX_STACK} items"));
            }
            self.beyond(
                at,
                "stack",
                format!("the stack holds more than {MAX_STACK} items (nesting too deep)"),
            );
        }
        stream.stack.push(id);
        Ok(())
    }

    fn value(&self, id: Id) -> &Value {
        &self.values[id as usize]
    }

    fn text(&self, id: Id) -> Option<&str> {
        match self.value(id) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn int(&self, id: Id) -> Option<i64> {
        match self.value(id) {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    fn items(&self, id: Id) -> Option<&[Id]> {
        match self.value(id) {
            Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    fn global_name(&self, index: usize) -> String {
        let g = &self.globals[index];
        format!("{}.{}", g.module, g.name)
    }

    /// A `find_class` call: recorded with its verdict, and in the trace while the load runs.
    fn find_class(&mut self, at: usize, module: String, name: String) -> Result<usize, Stop> {
        if self.tracing {
            self.trace.globals.push((module.clone(), name.clone()));
        }
        self.record_global(at, module, name, self.proto, true)
    }

    /// Records a global, judged as a loader at protocol `proto` resolves it.
    fn record_global(
        &mut self,
        at: usize,
        module: String,
        name: String,
        proto: u8,
        reached: bool,
    ) -> Result<usize, Stop> {
        if self.globals.len() >= MAX_GLOBALS {
            return limit(at, format!("the pickle references more than {MAX_GLOBALS} globals"));
        }
        let verdict = allow::verdict(&module, &name, proto);
        let allowed = match verdict {
            Verdict::Allowed => {
                let (module, name) = allow::resolve(&module, &name, proto);
                allow::allowed(&module, &name)
            }
            _ => None,
        };
        let nested = self.nested > 0;
        self.globals.push(GlobalRef {
            module,
            name,
            offset: at,
            verdict,
            allowed,
            nested,
            reached,
        });
        Ok(self.globals.len() - 1)
    }

    // --- the interpreter ---

    /// Reads one stream, from the current position to its STOP, and returns what STOP returns.
    fn load(&mut self) -> Result<Id, Stop> {
        let mut stream = Stream::default();
        let outer_proto = std::mem::replace(&mut self.proto, 0);
        let result = self.read_stream(&mut stream);
        match result {
            Ok(_) => self.proto = outer_proto,
            Err(_) => {
                let resume = self.resume_state(&stream);
                self.unwound.push(resume);
            }
        }
        result
    }

    fn read_stream(&mut self, stream: &mut Stream) -> Result<Id, Stop> {
        loop {
            let at = self.source.position();
            self.op_at = at;
            if self.source.at_end() {
                return stop(at, "the pickle ends without a STOP opcode (the file is truncated)");
            }
            let op = self.array::<1>("an opcode")?[0];
            self.opcodes += 1;
            if let Some(id) = self.step(stream, at, op)? {
                return Ok(id);
            }
        }
    }

    /// What the walk after a stop needs of `stream`: the strings in its memo and on top of its
    /// stack.
    fn resume_state(&self, stream: &Stream) -> walk::Resume {
        let short_text =
            |id: Id| self.text(id).filter(|s| s.len() <= walk::MAX_NAME).map(str::to_owned);
        let floor = stream.marks.last().copied().unwrap_or(0);
        let above = &stream.stack[floor.min(stream.stack.len())..];
        let top =
            |back: usize| above.len().checked_sub(back).map(|i| above[i]).and_then(short_text);
        walk::Resume {
            memo: stream.memo.iter().map(|(key, &id)| (key.clone(), short_text(id))).collect(),
            top: [top(2), top(1)],
            lost: false,
            proto: self.proto,
        }
    }

    /// Runs one opcode; returns the stream's result at STOP.
    fn step(&mut self, s: &mut Stream, at: usize, op: u8) -> Result<Option<Id>, Stop> {
        let name = opcode_name(op).ok_or_else(|| Stop {
            offset: at,
            message: format!("byte {op:#04x} is not a pickle opcode"),
            limit: false,
        })?;
        if !opcodes::accepted(op) && !self.refused_opcodes.contains(&op) {
            self.refused_opcodes.push(op);
            let message = format!("opcode {name} is not one that scikit-learn or joblib dumps use");
            // The extension registry names a global by number, beyond the report's list.
            if matches!(op, 0x82..=0x84) {
                self.refuse_call(at, message);
            } else {
                self.refuse(at, message);
            }
        }
        match op {
            // Framing and structure.
            0x80 => {
                let version = self.array::<1>("PROTO")?[0];
                if version > 5 {
                    return stop(at, format!("pickle protocol {version} is newer than 5"));
                }
                self.protocol.get_or_insert(version);
                self.proto = version;
            }
            0x95 => {
                let n = u64::from_le_bytes(self.array("FRAME")?);
                if n > isize::MAX as u64 {
                    return stop(at, format!("a FRAME declares {n} bytes"));
                }
                self.source.load_frame(at, n)?;
            }
            b'.' => return Ok(Some(pop(s, at)?)),
            b'(' => {
                if s.marks.len() >= MAX_MARKS {
                    if s.marks.len() >= HARD_MAX_MARKS {
                        return limit(at, format!("more than {HARD_MAX_MARKS} MARKs are open"));
                    }
                    self.beyond(
                        at,
                        "marks",
                        format!("more than {MAX_MARKS} MARKs are open (nesting too deep)"),
                    );
                }
                s.marks.push(s.stack.len());
            }
            b'0' => {
                if s.stack.len() > s.marks.last().copied().unwrap_or(0) {
                    s.stack.pop();
                } else {
                    pop_mark(s, at)?;
                }
            }
            b'1' => {
                pop_mark(s, at)?;
            }
            b'2' => {
                let top = top(s, at)?;
                self.push_id(s, at, top)?;
            }

            // Constants.
            b'N' => self.push(s, at, Value::None)?,
            0x88 => self.push(s, at, Value::Bool(true))?,
            0x89 => self.push(s, at, Value::Bool(false))?,
            b'J' => {
                let n = i32::from_le_bytes(self.array("BININT")?);
                self.push(s, at, Value::Int(n.into()))?;
            }
            b'K' => {
                let n = self.array::<1>("BININT1")?[0];
                self.push(s, at, Value::Int(n.into()))?;
            }
            b'M' => {
                let n = u16::from_le_bytes(self.array("BININT2")?);
                self.push(s, at, Value::Int(n.into()))?;
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    self.length(1, "LONG1")?
                } else {
                    let n = i32::from_le_bytes(self.array("LONG4")?);
                    usize::try_from(n).or_else(|_| stop(at, "LONG4 has a negative length"))?
                };
                let bytes = self.source.read(n, "a long integer")?;
                let value = if n <= 8 {
                    let mut word =
                        [if bytes.last().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 }; 8];
                    word[..n].copy_from_slice(bytes);
                    Value::Int(i64::from_le_bytes(word))
                } else {
                    Value::BigInt
                };
                self.push(s, at, value)?;
            }
            b'G' => {
                let x = f64::from_be_bytes(self.array("BINFLOAT")?);
                self.push(s, at, Value::Float(x))?;
            }
            b'I' => {
                let line = self.source.readline("INT")?;
                let value = match line {
                    b"00\n" => Value::Bool(false),
                    b"01\n" => Value::Bool(true),
                    _ => match pyint::int_base0(line) {
                        Some(PyInt::Small(n)) => Value::Int(n),
                        Some(PyInt::Big) => Value::BigInt,
                        None => return stop(at, "INT's text is not an integer Python reads"),
                    },
                };
                self.push(s, at, value)?;
            }
            b'L' => {
                let line = self.line("LONG")?;
                let line = line.strip_suffix(b"L").unwrap_or(line);
                let value = match pyint::int_base0(line) {
                    Some(PyInt::Small(n)) => Value::Int(n),
                    Some(PyInt::Big) => Value::BigInt,
                    None => return stop(at, "LONG's text is not an integer Python reads"),
                };
                self.push(s, at, value)?;
            }
            b'F' => {
                let line = self.line("FLOAT")?;
                // Python's float() reads more spellings than Rust's; what it makes is data.
                let value = std::str::from_utf8(line)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .map_or(Value::Opaque, Value::Float);
                self.push(s, at, value)?;
            }
            0x8c | b'X' | 0x8d => {
                let width = match op {
                    0x8c => 1,
                    b'X' => 4,
                    _ => 8,
                };
                let n = self.length(width, "a string")?;
                let bytes = self.source.read(n, "a string")?;
                let Some(text) = text::utf8_surrogatepass(bytes) else {
                    return stop(at, "a string is not UTF-8 (the loader stops)");
                };
                self.push(s, at, Value::Str(text))?;
            }
            b'C' | b'B' | 0x8e | 0x96 => {
                let width = match op {
                    b'C' => 1,
                    b'B' => 4,
                    _ => 8,
                };
                let n = self.length(width, "a bytes value")?;
                let bytes = self.source.read(n, "a bytes value")?.to_vec();
                self.push(s, at, Value::Bytes(bytes))?;
            }
            b'S' => {
                let line = self.line("STRING")?;
                let quoted = line.len() >= 2
                    && line[0] == line[line.len() - 1]
                    && matches!(line[0], b'\'' | b'"');
                if !quoted {
                    return stop(at, "STRING's argument is not quoted (the loader stops)");
                }
                // Decoded with escapes, then as ASCII (the loaders' default encoding).
                let text = text::escape_decode(&line[1..line.len() - 1])
                    .filter(|b| b.is_ascii())
                    .map(|b| String::from_utf8(b).expect("ASCII"));
                let Some(text) = text else {
                    return stop(at, "STRING's argument is not ASCII text (the loader stops)");
                };
                self.push(s, at, Value::Str(text))?;
            }
            b'V' => {
                let line = self.line("UNICODE")?;
                let Some(text) = text::raw_unicode_escape(line) else {
                    return stop(
                        at,
                        "UNICODE's argument has a broken \\u escape (the loader stops)",
                    );
                };
                self.push(s, at, Value::Str(text))?;
            }
            b'T' | b'U' => {
                let n = if op == b'U' {
                    self.length(1, "SHORT_BINSTRING")?
                } else {
                    let n = i32::from_le_bytes(self.array("BINSTRING")?);
                    usize::try_from(n).or_else(|_| stop(at, "BINSTRING has a negative length"))?
                };
                let bytes = self.source.read(n, "a string")?;
                if !bytes.is_ascii() {
                    return stop(at, "a BINSTRING is not ASCII text (the loader stops)");
                }
                let text = String::from_utf8(bytes.to_vec()).expect("ASCII");
                self.push(s, at, Value::Str(text))?;
            }

            // Containers.
            b'}' => self.push(s, at, Value::Dict(Vec::new()))?,
            b']' => self.push(s, at, Value::List(Vec::new()))?,
            b')' => self.push(s, at, Value::Tuple(Vec::new()))?,
            0x8f => self.push(s, at, Value::Set(Vec::new()))?,
            b't' | b'l' | 0x91 => {
                let items = pop_mark(s, at)?;
                if !matches!(op, b't' | b'l') {
                    self.check_hashable(at, &items, "a frozenset's item")?;
                }
                let id = self.alloc(
                    at,
                    match op {
                        b't' => Value::Tuple(items.clone()),
                        b'l' => Value::List(items.clone()),
                        _ => Value::FrozenSet(items.clone()),
                    },
                )?;
                self.place_items(at, id, &items);
                self.push_id(s, at, id)?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if s.stack.len() < s.marks.last().copied().unwrap_or(0) + n {
                    return stop(at, "the stack holds too few items for a tuple");
                }
                let items = s.stack.split_off(s.stack.len() - n);
                let id = self.alloc(at, Value::Tuple(items.clone()))?;
                self.place_items(at, id, &items);
                self.push_id(s, at, id)?;
            }
            b'd' => {
                let items = pop_mark(s, at)?;
                let pairs = pairs(&items, at)?;
                self.check_hashable(
                    at,
                    &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
                    "a dict key",
                )?;
                let id = self.alloc(at, Value::Dict(pairs.clone()))?;
                self.place_pairs(at, id, &pairs);
                self.push_id(s, at, id)?;
            }
            b'a' | b'e' | 0x90 => {
                let items = if op == b'a' { vec![pop(s, at)?] } else { pop_mark(s, at)? };
                let target = top(s, at)?;
                self.charge(at, 4 * items.len())?;
                if op == 0x90 {
                    self.check_hashable(at, &items, "a set's item")?;
                }
                match &mut self.values[target as usize] {
                    Value::List(list) if op != 0x90 => list.extend(&items),
                    Value::Set(set) if op == 0x90 => set.extend(&items),
                    Value::Opaque => {}
                    other => {
                        let kind = other.kind();
                        // On anything but a list (or a set for ADDITEMS), loading would call
                        // the object's own method.
                        self.refuse(
                            at,
                            format!(
                                "an {name} adds items to a value of type {kind}, which would call its method"
                            ),
                        );
                        return Ok(None);
                    }
                }
                self.place_items(at, target, &items);
            }
            b's' | b'u' => {
                let items = if op == b's' {
                    let value = pop(s, at)?;
                    let key = pop(s, at)?;
                    vec![key, value]
                } else {
                    pop_mark(s, at)?
                };
                let new = pairs(&items, at)?;
                self.check_hashable(
                    at,
                    &new.iter().map(|p| p.0).collect::<Vec<_>>(),
                    "a dict key",
                )?;
                let target = top(s, at)?;
                self.charge(at, 8 * new.len())?;
                match &mut self.values[target as usize] {
                    Value::Dict(dict) => dict.extend(&new),
                    Value::Opaque => {}
                    other => {
                        let kind = other.kind();
                        self.refuse(
                            at,
                            format!("a {name} stores into a value of type {kind}, which would call its method"),
                        );
                        return Ok(None);
                    }
                }
                self.place_pairs(at, target, &new);
            }

            // The memo.
            0x94 => {
                let key = MemoKey::Small(s.memo.len() as u64);
                self.memo_put(s, at, key)?;
            }
            b'q' => {
                let key = MemoKey::Small(u64::from(self.array::<1>("BINPUT")?[0]));
                self.memo_put(s, at, key)?;
            }
            b'r' => {
                let key = MemoKey::Small(u64::from(u32::from_le_bytes(self.array("LONG_BINPUT")?)));
                self.memo_put(s, at, key)?;
            }
            b'p' => {
                let line = self.line("PUT")?;
                let key = match pyint::memo_key(line) {
                    Some(Ok(key)) => key,
                    Some(Err(_)) => return stop(at, "PUT has a negative memo key"),
                    None => return stop(at, "PUT's memo key is not an integer Python reads"),
                };
                self.memo_put(s, at, key)?;
            }
            b'h' | b'j' | b'g' => {
                let key = match op {
                    b'h' => MemoKey::Small(u64::from(self.array::<1>("BINGET")?[0])),
                    b'j' => {
                        MemoKey::Small(u64::from(u32::from_le_bytes(self.array("LONG_BINGET")?)))
                    }
                    _ => match pyint::memo_key(self.line("GET")?) {
                        Some(Ok(key)) => key,
                        // A negative key is never written, so never found.
                        Some(Err(_)) => return stop(at, "GET reads a memo entry never written"),
                        None => return stop(at, "GET's memo key is not an integer Python reads"),
                    },
                };
                let id = *s.memo.get(&key).ok_or_else(|| Stop {
                    offset: at,
                    message: format!("memo entry {} is read before it is written", key_text(&key)),
                    limit: false,
                })?;
                self.push_id(s, at, id)?;
            }

            // Globals and calls.
            b'c' | b'i' => {
                let module_line = self.line("a global's module")?;
                let name_line = self.line("a global's name")?;
                // GLOBAL decodes UTF-8, INST ASCII; either fails before anything is imported.
                let decode = |b: &[u8]| {
                    std::str::from_utf8(b)
                        .ok()
                        .filter(|t| op == b'c' || t.is_ascii())
                        .map(str::to_owned)
                };
                let (Some(module), Some(name)) = (decode(module_line), decode(name_line)) else {
                    return stop(
                        at,
                        format!("{name}'s module or name is not text the loader decodes"),
                    );
                };
                let index = self.find_class(at, module, name)?;
                if op == b'c' {
                    self.push(s, at, Value::Global(index))?;
                } else {
                    pop_mark(s, at)?;
                    self.push(s, at, Value::Opaque)?;
                }
            }
            0x93 => {
                let name = pop(s, at)?;
                let module = pop(s, at)?;
                match (self.value(module), self.value(name)) {
                    (Value::Str(module), Value::Str(name)) => {
                        let (module, name) = (module.clone(), name.clone());
                        let index = self.find_class(at, module, name)?;
                        self.push(s, at, Value::Global(index))?;
                    }
                    (Value::Opaque, _) | (_, Value::Opaque) => {
                        self.refuse_call(
                            at,
                            "a STACK_GLOBAL takes its module and name from values onnxify cannot \
                             determine without running the pickle"
                                .into(),
                        );
                        self.push(s, at, Value::Opaque)?;
                    }
                    _ => return stop(at, "STACK_GLOBAL's module and name are not both strings"),
                }
            }
            b'R' => {
                let args = pop(s, at)?;
                let callable = pop(s, at)?;
                let scalar = matches!(self.value(callable), Value::Global(g)
                    if self.globals[*g].allowed == Some(Allowed::Scalar));
                let value = self.call(at, callable, args)?;
                let array = matches!(value, Value::Array(_));
                self.push(s, at, value)?;
                if scalar && array {
                    self.scalars.extend(s.stack.last());
                }
            }
            0x81 => {
                let args = pop(s, at)?;
                let class = pop(s, at)?;
                let value = self.construct(at, class, args);
                self.push(s, at, value)?;
            }
            b'b' => {
                let state = pop(s, at)?;
                let target = top(s, at)?;
                if let Some(replacement) = self.build(at, target, state)? {
                    *s.stack.last_mut().expect("checked by top") = replacement;
                }
            }
            b'o' => {
                pop_mark(s, at)?;
                self.push(s, at, Value::Opaque)?;
            }
            0x92 => {
                pop(s, at)?;
                pop(s, at)?;
                pop(s, at)?;
                self.push(s, at, Value::Opaque)?;
            }
            b'P' | b'Q' => {
                if op == b'P' {
                    self.line("PERSID")?;
                } else {
                    pop(s, at)?;
                }
                self.push(s, at, Value::Opaque)?;
            }
            0x82..=0x84 => {
                let width = [1, 2, 4][usize::from(op - 0x82)];
                self.source.read(width, "an extension code")?;
                self.push(s, at, Value::Opaque)?;
            }
            0x97 => self.push(s, at, Value::Opaque)?,
            0x98 => {
                top(s, at)?;
            }
            _ => unreachable!("every named opcode is handled"),
        }
        Ok(None)
    }

    /// Python hashes a dict's keys and a set's items as they go in, and the load stops with
    /// a TypeError at one it cannot hash: a list, dict, set, ndarray or slice, or a tuple
    /// holding one.
    fn check_hashable(&mut self, at: usize, ids: &[Id], what: &str) -> Result<(), Stop> {
        for &id in ids {
            // Each tuple is walked once (a memoised one may appear in many keys, or many
            // times in one).
            let mut pending = vec![(id, 0usize)];
            let mut tuples = HashSet::new();
            while let Some((id, depth)) = pending.pop() {
                let kind = match &self.values[id as usize] {
                    Value::Tuple(_) if self.hashable.contains(&id) || tuples.contains(&id) => {
                        continue;
                    }
                    Value::Tuple(items) if depth < MAX_HASHED_DEPTH => {
                        tuples.insert(id);
                        pending.extend(items.iter().map(|&item| (item, depth + 1)));
                        continue;
                    }
                    Value::Tuple(_) => "tuple nested too deep to check",
                    Value::Array(_) if self.scalars.contains(&id) => continue,
                    value @ (Value::List(_)
                    | Value::Dict(_)
                    | Value::Set(_)
                    | Value::Array(_)
                    | Value::PendingArray
                    | Value::PendingMaskedArray
                    | Value::Slice { .. }) => value.kind(),
                    _ => continue,
                };
                return stop(at, unhashable(what, kind));
            }
            self.hashable.extend(tuples);
        }
        Ok(())
    }

    fn memo_put(&mut self, s: &mut Stream, at: usize, key: MemoKey) -> Result<(), Stop> {
        // The C unpickler keeps its memo in an array and grows it to twice the key: whether a
        // large key fits in memory depends on the machine. No pickler numbers its memo so. The
        // pure-Python unpickler (joblib's) keeps a dict and reads on, so the rest is walked as
        // a loader reads it.
        if !matches!(key, MemoKey::Small(n) if n < MAX_MEMO_KEY) {
            return limit(
                at,
                format!(
                    "a memo key of {}: pickle.load makes room for twice as many entries, which may \
                     not fit in memory, and no pickler numbers its memo so (the loader may stop \
                     there)",
                    key_text(&key)
                ),
            );
        }
        let id = top(s, at)?;
        s.memo.insert(key, id);
        if s.memo.len() > MAX_MEMO {
            return limit(at, format!("the memo holds more than {MAX_MEMO} entries"));
        }
        Ok(())
    }
}

fn unhashable(what: &str, kind: &str) -> String {
    format!("{what} is a {kind}, which Python cannot hash: the loader raises TypeError here")
}

/// Tuples a dict key or set item may nest; a deeper one is refused rather than followed.
const MAX_HASHED_DEPTH: usize = 64;

fn key_text(key: &MemoKey) -> String {
    match key {
        MemoKey::Small(n) => n.to_string(),
        MemoKey::Big(digits) => digits.to_string(),
    }
}

fn pop(stream: &mut Stream, at: usize) -> Result<Id, Stop> {
    if stream.stack.len() <= stream.marks.last().copied().unwrap_or(0) {
        return stop(at, "the opcode needs an item but the stack is empty (up to the last MARK)");
    }
    Ok(stream.stack.pop().expect("checked"))
}

fn top(stream: &Stream, at: usize) -> Result<Id, Stop> {
    match stream.stack.last() {
        Some(&id) if stream.stack.len() > stream.marks.last().copied().unwrap_or(0) => Ok(id),
        _ => stop(at, "the opcode needs an item but the stack is empty (up to the last MARK)"),
    }
}

fn pop_mark(stream: &mut Stream, at: usize) -> Result<Vec<Id>, Stop> {
    let mark = stream.marks.pop().ok_or_else(|| Stop {
        offset: at,
        message: "the opcode needs a MARK but none is open".into(),
        limit: false,
    })?;
    Ok(stream.stack.split_off(mark))
}

fn pairs(items: &[Id], at: usize) -> Result<Vec<(Id, Id)>, Stop> {
    if !items.len().is_multiple_of(2) {
        return stop(at, "a dict is given an odd number of items");
    }
    Ok(items.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// Hand-written streams for the reader's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    /// SHORT_BINUNICODE `s`.
    pub fn text(s: &str) -> Vec<u8> {
        let mut out = vec![0x8c, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    /// STACK_GLOBAL `module.name`.
    pub fn global(module: &str, name: &str) -> Vec<u8> {
        [text(module), text(name), vec![0x93]].concat()
    }

    /// A joblib wrapper of `shape` and `descr` in `order`, then (if `padded`, as joblib pads
    /// when the alignment is 16) joblib's padding, then `payload` and STOP.
    pub fn wrapper(
        shape: &[u64],
        descr: &str,
        order: &str,
        padded: bool,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut out = wrapper_state(shape, descr, order, padded);
        out.extend(b"ub");
        if padded {
            pad(&mut out);
        }
        out.extend(payload);
        out.push(b'.');
        out
    }

    /// A joblib wrapper, memoised at key 0 as joblib's dumps do, and its state dict up to the
    /// SETITEMS that ends it.
    pub fn wrapper_state(shape: &[u64], descr: &str, order: &str, padded: bool) -> Vec<u8> {
        let mut out = vec![0x80, 4];
        out.extend(global("joblib.numpy_pickle", "NumpyArrayWrapper"));
        out.extend(b")\x81\x94}(");
        out.extend(text("subclass"));
        out.extend(global("numpy", "ndarray"));
        out.extend(text("shape"));
        out.push(b'(');
        for &d in shape {
            out.push(0x8a);
            out.push(8);
            out.extend(d.to_le_bytes());
        }
        out.push(b't');
        out.extend(text("order"));
        out.extend(text(order));
        out.extend(text("dtype"));
        out.extend(global("numpy", "dtype"));
        out.extend(text(descr));
        out.extend(b"\x89\x88\x87R(K\x03");
        out.extend(text("<"));
        out.extend(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb");
        out.extend(text("numpy_array_alignment_bytes"));
        out.extend(if padded { &b"K\x10"[..] } else { b"N" });
        out
    }

    /// joblib's padding: its length, then that many 0xFF, so that the data after is aligned.
    pub fn pad(out: &mut Vec<u8>) {
        let padding = 16 - (out.len() + 1) % 16;
        out.push(padding as u8);
        out.extend(std::iter::repeat_n(0xff, padding));
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{global, pad, text, wrapper, wrapper_state};
    use super::*;

    fn run_joblib(data: &[u8]) -> Outcome {
        run(data, Loader::Joblib)
    }

    fn root(outcome: &Outcome) -> &Value {
        &outcome.values[outcome.root.expect("reached STOP") as usize]
    }

    #[test]
    fn a_list_of_constants_is_read_as_data() {
        let outcome = run_joblib(b"\x80\x04](K\x01K\x02e.");
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        let Value::List(items) = root(&outcome) else { panic!("{:?}", root(&outcome)) };
        let values: Vec<&Value> = items.iter().map(|&i| &outcome.values[i as usize]).collect();
        assert_eq!(values, [&Value::Int(1), &Value::Int(2)]);
    }

    #[test]
    fn a_called_global_is_recorded_with_its_offset_and_never_resolved() {
        let outcome = run_joblib(b"\x80\x02cos\nsystem\n(X\x02\x00\x00\x00lstR.");
        assert_eq!(outcome.globals.len(), 1);
        let g = &outcome.globals[0];
        assert_eq!((g.module.as_str(), g.name.as_str(), g.offset), ("os", "system", 2));
        assert!(matches!(g.verdict, Verdict::Dangerous(_)));
        assert_eq!(root(&outcome), &Value::Opaque);
    }

    #[test]
    fn a_joblib_array_is_read_inline_after_its_padding_in_fortran_order() {
        // [[1, 2, 3], [4, 5, 6]] stored column-major.
        let mut payload = Vec::new();
        for v in [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0] {
            payload.extend(v.to_le_bytes());
        }
        let data = wrapper(&[2, 3], "f8", "F", true, &payload);
        let outcome = run(&data, Loader::Joblib);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        let Value::Array(array) = root(&outcome) else { panic!("{:?}", root(&outcome)) };
        let Elements::Inline(range) = &array.elements else { panic!() };
        assert_eq!(array.floats(&data[range.clone()]).unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn an_array_larger_than_the_bytes_present_is_refused_before_any_allocation() {
        let outcome = run_joblib(&wrapper(&[1 << 40], "f8", "C", true, &[0; 32]));
        assert!(outcome.root.is_none());
        let message = &outcome.findings[0].message;
        assert!(
            message.contains("(1099511627776,)") && message.contains("only 33 bytes remain"),
            "{message}"
        );
        assert_eq!(outcome.findings[0].severity, Severity::Malformed);
    }

    #[test]
    fn an_allowed_global_used_another_way_is_refused() {
        // numpy.dtype called with one argument instead of (descr, False, True).
        let data =
            [vec![0x80, 4], global("numpy", "dtype"), text("f8"), vec![0x85, b'R', b'.']].concat();
        let outcome = run(&data, Loader::Joblib);
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].severity, Severity::NotAllowed);
        assert!(
            outcome.findings[0].message.contains("numpy.dtype is called"),
            "{:?}",
            outcome.findings
        );
    }

    #[test]
    fn a_numpy_str_scalar_is_read_as_the_text_it_holds() {
        // numpy.str_('ab'): scalar(dtype('<U2'), b'a\0\0\0b\0\0\0'), as in an object array.
        let mut data = vec![0x80, 4];
        data.extend(global("numpy._core.multiarray", "scalar"));
        data.extend(global("numpy", "dtype"));
        data.extend(text("U2"));
        data.extend(b"\x89\x88\x87R(K\x03");
        data.extend(text("<"));
        data.extend(b"NNNK\x08K\x04K\x08tbC\x08a\x00\x00\x00b\x00\x00\x00\x86R.");
        let outcome = run(&data, Loader::Joblib);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        assert_eq!(root(&outcome), &Value::Str("ab".into()));
    }

    #[test]
    fn memo_expansion_costs_only_the_opcodes_that_make_it() {
        // 30 levels, each a list holding ten references to the level below: 10^30 leaves.
        let mut data = b"\x80\x04]\x94".to_vec();
        for level in 0..30u8 {
            data.extend(b"](");
            for _ in 0..10 {
                data.extend([b'h', level]);
            }
            data.extend(b"e\x94");
        }
        data.push(b'.');
        let outcome = run(&data, Loader::Joblib);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        assert_eq!(outcome.values.len(), 31);
    }

    #[test]
    fn bytes_after_stop_are_refused_and_read_for_their_globals() {
        let data = b"\x80\x04N.cposix\nsystem\n.";
        let outcome = run(data, Loader::Joblib);
        assert!(outcome.findings.iter().any(|f| f.message.contains("follow the STOP")));
        assert_eq!(outcome.globals[0].module, "posix");
        assert_eq!(outcome.globals[0].offset, 4);
    }

    #[test]
    fn limits_python_does_not_have_are_reported_and_read_past_to_the_globals_after_them() {
        let system = b"cos\nsystem\n(S'echo'\ntR.".as_slice();
        let long_line = [b"S'".as_slice(), &[b'a'; 70_000], b"'\n0"].concat();
        for (prefix, reason) in [
            ([b"\x80\x04".as_slice(), &[b'N'; 60_000]].concat(), "stack holds more than"),
            ([b"\x80\x04".as_slice(), &[b'('; 1_500]].concat(), "MARKs are open"),
            (long_line, "a line of 70002 bytes"),
        ] {
            let outcome = run_joblib(&[prefix.as_slice(), system].concat());
            assert!(
                outcome.findings.iter().any(|f| f.message.contains(reason)),
                "{reason}: {:?}",
                outcome.findings
            );
            assert_eq!(outcome.globals.len(), 1, "{reason}");
            assert!(matches!(outcome.globals[0].verdict, Verdict::Dangerous(_)), "{reason}");
        }
    }

    #[test]
    fn streams_beyond_those_read_after_stop_are_still_listed() {
        let data =
            [b"\x80\x04N.".repeat(1 + MAX_TRAILING_STREAMS + 2), b"cposix\nsystem\n.".to_vec()]
                .concat();
        let outcome = run(&data, Loader::Joblib);
        assert_eq!(outcome.globals.len(), 1, "{:?}", outcome.findings);
        assert_eq!(outcome.globals[0].offset, data.len() - 15);
    }

    #[test]
    fn truncated_and_deep_streams_are_reported_with_a_reason() {
        let truncated = run_joblib(b"\x80\x04](K\x01");
        assert!(
            truncated.findings[0].message.contains("without a STOP"),
            "{:?}",
            truncated.findings
        );
        let deep = run_joblib(&[b"\x80\x04".as_slice(), &[b'('; 5000]].concat());
        assert!(deep.findings[0].message.contains("MARKs are open"), "{:?}", deep.findings);
        let wide = run_joblib(&[b"\x80\x04".as_slice(), &[b']'; 60_000]].concat());
        assert!(wide.findings[0].message.contains("stack holds more than"), "{:?}", wide.findings);
    }

    #[test]
    fn appending_to_an_object_is_refused_because_it_would_call_its_method() {
        let data =
            [vec![0x80, 4], global("sklearn.pipeline", "Pipeline"), b")\x81K\x01a.".to_vec()]
                .concat();
        let outcome = run(&data, Loader::Joblib);
        assert!(
            outcome
                .findings
                .iter()
                .any(|f| f.message.contains("APPEND adds items to a value of type object")),
            "{:?}",
            outcome.findings
        );
    }

    #[test]
    fn a_dict_changed_after_its_build_does_not_reach_the_object() {
        // obj = Pipeline(); state = {}; obj.__setstate__(state); state["x"] = 1; (obj, state)
        let data = [
            vec![0x80, 4],
            global("sklearn.pipeline", "Pipeline"),
            b")\x81}\x94b".to_vec(),
            b"h\x00".to_vec(),
            text("x"),
            b"K\x01s\x86.".to_vec(),
        ]
        .concat();
        let outcome = run(&data, Loader::Joblib);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        let Value::Tuple(pair) = root(&outcome) else { panic!("{:?}", root(&outcome)) };
        let Value::Object { state: Some(state), .. } = &outcome.values[pair[0] as usize] else {
            panic!("{:?}", outcome.values[pair[0] as usize])
        };
        assert_eq!(outcome.values[*state as usize], Value::Dict(vec![]), "the object's copy");
        assert!(matches!(&outcome.values[pair[1] as usize], Value::Dict(d) if d.len() == 1));
    }

    fn floats(outcome: &Outcome, data: &[u8], id: Id) -> Vec<f64> {
        let Value::Array(array) = &outcome.values[id as usize] else { panic!() };
        let Elements::Inline(range) = &array.elements else { panic!() };
        array.floats(&data[range.clone()]).unwrap()
    }

    #[test]
    fn a_wrapper_given_its_state_twice_reads_a_second_array_as_joblib_does() {
        // The memoised wrapper is BUILT again with an empty dict: joblib keeps its attributes
        // and reads another array after padding.
        let mut data = wrapper(&[1], "f8", "C", true, &1.5f64.to_le_bytes());
        data.pop();
        data.extend(b"h\x00}b");
        pad(&mut data);
        data.extend(2.5f64.to_le_bytes());
        data.extend(b"\x86.");
        let outcome = run_joblib(&data);
        let messages: Vec<&str> = outcome.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("second BUILD of the same joblib NumpyArrayWrapper"));
        let Value::Tuple(pair) = root(&outcome) else { panic!("{:?}", root(&outcome)) };
        assert_eq!(floats(&outcome, &data, pair[0]), [1.5]);
        assert_eq!(floats(&outcome, &data, pair[1]), [2.5]);
        assert_eq!(outcome.trace.arrays.len(), 2);
    }

    #[test]
    fn a_wrapper_state_of_state_and_slots_is_read_as_python_sets_it() {
        // BUILD with (dict, None): Python sets the dict's attributes; joblib reads the array.
        let mut data = wrapper_state(&[1], "f8", "C", true);
        data.extend(b"uN\x86b");
        pad(&mut data);
        data.extend(1.5f64.to_le_bytes());
        data.push(b'.');
        let outcome = run_joblib(&data);
        let messages: Vec<&str> = outcome.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("(state, slotstate) pair")), "{messages:?}");
        assert!(outcome.findings.iter().all(|f| f.severity == Severity::NotAllowed));
        let root = outcome.root.expect("reached STOP");
        assert_eq!(floats(&outcome, &data, root), [1.5]);
    }

    #[test]
    fn a_wrapper_shape_given_as_a_list_is_read_as_joblib_reads_it_and_refused() {
        let mut data =
            wrapper(&[2], "f8", "C", true, &[1.5f64.to_le_bytes(), 2.5f64.to_le_bytes()].concat());
        let tuple = data.windows(8).position(|w| w == b"t\x8c\x05order").unwrap();
        data[tuple] = b'l';
        let outcome = run_joblib(&data);
        let messages: Vec<&str> = outcome.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "opcode LIST is not one that scikit-learn or joblib dumps use",
                "a joblib NumpyArrayWrapper's shape is not a tuple of integers"
            ]
        );
        let root = outcome.root.expect("reached STOP");
        assert_eq!(floats(&outcome, &data, root), [1.5, 2.5]);
    }
}
