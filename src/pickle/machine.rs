//! A pickle machine that never calls anything. It reads the opcodes of a stream into a tree of
//! plain values: a global is a name, a `REDUCE`/`NEWOBJ`/`BUILD` is either one of the uses the
//! allow-list binds to that name (a numpy dtype or array, a scikit-learn object with its
//! attribute dict) or an opaque value recorded as a finding. Interpretation goes on after a
//! refused global, so the report lists every global a file references.
//!
//! Every opcode of protocols 0 to 5 is understood, but only those a scikit-learn or joblib dump
//! uses are accepted. joblib writes array bytes inline after each `NumpyArrayWrapper`'s `BUILD`
//! (and an object array as a whole nested pickle stream there), so a wrapper's `BUILD` consumes
//! those bytes, bounded by what the stream holds, before the next opcode is read.
//!
//! Resources are bounded: the values made, the bytes they hold, stack and MARK depth, memo
//! entries and nested streams. Nothing walks the value tree recursively, so neither deep
//! nesting nor shared references (memo expansion) cost more than the opcodes that made them.
//! Limits a model's dump never reaches but Python does not have (stack depth, open MARKs, line
//! length) are reported and read past, since a loader would go on and run what follows; where
//! reading has to stop, a linear walk (the `walk` submodule) lists the globals the rest of the
//! data names.

mod walk;

use std::collections::HashMap;

use super::allow::{self, Allowed, Verdict};
use super::numpy::{Array, Dtype, Elements, Kind, shape_text};

/// Index of a value in the machine's arena.
pub type Id = u32;

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
/// Nested streams (object arrays) inside one another.
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
/// Attributes of an object's state (a fitted LogisticRegression has about 25). Each `BUILD`
/// copies its dict, as Python's does, so this also bounds the work one `BUILD` can cost.
const MAX_ATTRIBUTES: usize = 4_096;
/// Entries of a joblib wrapper's description (joblib writes 6).
const MAX_WRAPPER_ENTRIES: usize = 16;
/// Dimensions of an array (numpy allows 64).
const MAX_DIMENSIONS: usize = 64;
/// Arguments or state items read from a tuple for an allowed call or `BUILD` (at most 9).
const MAX_CALL_ITEMS: usize = 9;

/// A value of the pickle, as data.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    /// A reference to `globals[index]`.
    Global(usize),
    /// An allowed class built with `NEWOBJ`, and the dict `BUILD` gave it.
    Object {
        class: Allowed,
        state: Option<Id>,
    },
    /// A numpy dtype; `built` once `BUILD` has given its byte order.
    Dtype {
        dtype: Dtype,
        built: bool,
    },
    /// An empty ndarray from `_reconstruct`, waiting for its `BUILD`.
    PendingArray,
    Array(Array),
    /// The result of anything that would run code; never looked into.
    Opaque,
}

impl Value {
    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::Global(_) => "global",
            Value::Object { .. } => "object",
            Value::Dtype { .. } => "dtype",
            Value::PendingArray | Value::Array(_) => "ndarray",
            Value::Opaque => "opaque value",
        }
    }
}

/// A global the stream references.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalRef {
    pub module: String,
    pub name: String,
    /// Offset of the opcode that names it, in the (decompressed) stream.
    pub offset: usize,
    pub verdict: Verdict,
    pub allowed: Option<Allowed>,
    /// Named inside a nested stream (a joblib object array), not the file's own stream.
    pub nested: bool,
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
}

/// What reading a stream found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub values: Vec<Value>,
    /// The object the first stream's STOP returned, if it got there.
    pub root: Option<Id>,
    pub globals: Vec<GlobalRef>,
    pub findings: Vec<Finding>,
    /// Findings left out of `findings`.
    pub more_findings: usize,
    pub protocol: Option<u8>,
    /// Opcodes read, in all streams.
    pub opcodes: usize,
}

/// Reads `data`, a whole pickle stream (decompressed), without executing anything.
pub fn run(data: &[u8]) -> Outcome {
    let mut machine = Machine {
        data,
        pos: 0,
        values: Vec::new(),
        value_bytes: 0,
        globals: Vec::new(),
        findings: Vec::new(),
        more_findings: 0,
        refused_opcodes: Vec::new(),
        protocol: None,
        nested: 0,
        opcodes: 0,
        op_at: 0,
        unwound: Vec::new(),
        beyond: Vec::new(),
    };
    let root = match machine.load() {
        Ok(root) => Some(root),
        Err(stop) => {
            machine.stopped(stop);
            None
        }
    };
    if root.is_some() && machine.pos < data.len() {
        let at = machine.pos;
        machine.finding(
            at,
            Severity::NotAllowed,
            format!(
                "{} bytes follow the STOP that ends the pickle at byte {}; a loader that reads on \
                 would run them",
                data.len() - at,
                at - 1
            ),
        );
        let mut streams = 0;
        while machine.pos < data.len() {
            if streams == MAX_TRAILING_STREAMS {
                // Streams beyond those read are still listed.
                machine.walk_rest(machine.pos, true, true);
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
        values: machine.values,
        root,
        globals: machine.globals,
        findings: machine.findings,
        more_findings: machine.more_findings,
        protocol: machine.protocol,
        opcodes: machine.opcodes,
    }
}

/// Why reading stopped.
#[derive(Debug)]
struct Stop {
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

/// The stack, MARKs and memo of one stream.
#[derive(Default)]
struct Frame {
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    values: Vec<Value>,
    value_bytes: usize,
    globals: Vec<GlobalRef>,
    findings: Vec<Finding>,
    more_findings: usize,
    refused_opcodes: Vec<u8>,
    protocol: Option<u8>,
    nested: usize,
    opcodes: usize,
    /// Offset of the opcode being run (in the innermost stream).
    op_at: usize,
    /// When reading stopped: the state of each stream it was in, innermost first.
    unwound: Vec<walk::Resume>,
    /// Limits passed and read on past (reported once each).
    beyond: Vec<&'static str>,
}

impl<'a> Machine<'a> {
    /// Reading stopped early: reports why, then lists what the rest of the data references.
    fn stopped(&mut self, stop: Stop) {
        self.finding(stop.offset, Severity::Malformed, stop.message);
        self.walk_rest(self.op_at, false, stop.limit);
    }

    fn finding(&mut self, offset: usize, severity: Severity, message: String) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding { offset: Some(offset), severity, message });
        } else {
            self.more_findings += 1;
        }
    }

    fn refuse(&mut self, offset: usize, message: String) {
        self.finding(offset, Severity::NotAllowed, message);
    }

    // --- reading bytes ---

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Stop> {
        let remaining = self.data.len() - self.pos;
        if n > remaining {
            return stop(
                self.pos,
                format!(
                    "{what} needs {n} bytes, but only {remaining} remain (the file is truncated)"
                ),
            );
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Stop> {
        Ok(self.take(N, what)?.try_into().expect("N bytes"))
    }

    fn length(&mut self, bytes: usize, what: &str) -> Result<usize, Stop> {
        let at = self.pos;
        let n = match bytes {
            1 => u64::from(self.array::<1>(what)?[0]),
            4 => u64::from(u32::from_le_bytes(self.array(what)?)),
            _ => u64::from_le_bytes(self.array(what)?),
        };
        usize::try_from(n).or_else(|_| stop(at, format!("{what} declares {n} bytes")))
    }

    fn line(&mut self, what: &str) -> Result<&'a [u8], Stop> {
        let start = self.pos;
        let Some(end) = memchr::memchr(b'\n', &self.data[start..]) else {
            return stop(
                start,
                format!("{what} does not end in a newline (the file is truncated)"),
            );
        };
        if end > MAX_LINE {
            self.beyond(
                start,
                "line",
                format!("{what} is a line of {end} bytes, longer than the {MAX_LINE} a model's dump writes"),
            );
        }
        self.pos = start + end + 1;
        Ok(&self.data[start..start + end])
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
        }
    }

    fn text_line(&mut self, what: &str) -> Result<String, Stop> {
        let at = self.pos;
        let line = self.line(what)?;
        String::from_utf8(line.to_vec()).or_else(|_| stop(at, format!("{what} is not UTF-8 text")))
    }

    // --- values ---

    fn alloc(&mut self, at: usize, value: Value) -> Result<Id, Stop> {
        let bytes = match &value {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Tuple(v) | Value::List(v) | Value::Set(v) => 4 * v.len(),
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

    fn push(&mut self, frame: &mut Frame, at: usize, value: Value) -> Result<(), Stop> {
        let id = self.alloc(at, value)?;
        self.push_id(frame, at, id)
    }

    fn push_id(&mut self, frame: &mut Frame, at: usize, id: Id) -> Result<(), Stop> {
        if frame.stack.len() >= MAX_STACK {
            if frame.stack.len() >= HARD_MAX_STACK {
                return limit(at, format!("the stack holds more than {HARD_MAX_STACK} items"));
            }
            self.beyond(
                at,
                "stack",
                format!("the stack holds more than {MAX_STACK} items (nesting too deep)"),
            );
        }
        frame.stack.push(id);
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

    /// The items of a short tuple (arguments, a state): a long one is never copied, since a
    /// shared (memoised) tuple can be given to any number of calls.
    fn few_items(&self, id: Id) -> Vec<Id> {
        match self.items(id) {
            Some(items) if items.len() <= MAX_CALL_ITEMS => items.to_vec(),
            _ => Vec::new(),
        }
    }

    fn shape(&self, id: Id) -> Option<Vec<usize>> {
        let dims = self.items(id)?;
        if dims.len() > MAX_DIMENSIONS {
            return None;
        }
        dims.iter().map(|&d| self.int(d).and_then(|n| usize::try_from(n).ok())).collect()
    }

    fn built_dtype(&self, id: Id) -> Option<&Dtype> {
        match self.value(id) {
            Value::Dtype { dtype, .. } => Some(dtype),
            _ => None,
        }
    }

    fn global_name(&self, index: usize) -> String {
        let g = &self.globals[index];
        format!("{}.{}", g.module, g.name)
    }

    fn record_global(&mut self, at: usize, module: String, name: String) -> Result<usize, Stop> {
        if self.globals.len() >= MAX_GLOBALS {
            return limit(at, format!("the pickle references more than {MAX_GLOBALS} globals"));
        }
        let verdict = allow::verdict(&module, &name);
        let allowed = allow::allowed(&module, &name);
        let nested = self.nested > 0;
        self.globals.push(GlobalRef { module, name, offset: at, verdict, allowed, nested });
        Ok(self.globals.len() - 1)
    }

    // --- the interpreter ---

    /// Reads one stream, from the current position to its STOP, and returns what STOP returns.
    fn load(&mut self) -> Result<Id, Stop> {
        let mut frame = Frame::default();
        let result = self.read_stream(&mut frame);
        if result.is_err() {
            let resume = self.resume_state(&frame);
            self.unwound.push(resume);
        }
        result
    }

    fn read_stream(&mut self, frame: &mut Frame) -> Result<Id, Stop> {
        loop {
            let at = self.pos;
            self.op_at = at;
            if at >= self.data.len() {
                return stop(at, "the pickle ends without a STOP opcode (the file is truncated)");
            }
            let op = self.data[at];
            self.pos += 1;
            self.opcodes += 1;
            if let Some(id) = self.step(frame, at, op)? {
                return Ok(id);
            }
        }
    }

    /// What the walk after a stop needs of `frame`: the strings in its memo and on top of its
    /// stack.
    fn resume_state(&self, frame: &Frame) -> walk::Resume {
        let short_text =
            |id: Id| self.text(id).filter(|s| s.len() <= walk::MAX_NAME).map(str::to_owned);
        let floor = frame.marks.last().copied().unwrap_or(0);
        let above = &frame.stack[floor.min(frame.stack.len())..];
        let top =
            |back: usize| above.len().checked_sub(back).map(|i| above[i]).and_then(short_text);
        walk::Resume {
            memo: frame.memo.iter().map(|(&key, &id)| (key, short_text(id))).collect(),
            top: [top(2), top(1)],
            lost: false,
        }
    }

    /// Runs one opcode; returns the stream's result at STOP.
    fn step(&mut self, f: &mut Frame, at: usize, op: u8) -> Result<Option<Id>, Stop> {
        let name = opcode_name(op).ok_or_else(|| Stop {
            offset: at,
            message: format!("byte {op:#04x} is not a pickle opcode"),
            limit: false,
        })?;
        if !ACCEPTED.contains(&name) && !self.refused_opcodes.contains(&op) {
            self.refused_opcodes.push(op);
            self.refuse(
                at,
                format!("opcode {name} is not one that scikit-learn or joblib dumps use"),
            );
        }
        match op {
            // Framing and structure.
            0x80 => {
                let version = self.array::<1>("PROTO")?[0];
                if version > 5 {
                    return stop(at, format!("pickle protocol {version} is newer than 5"));
                }
                self.protocol.get_or_insert(version);
            }
            0x95 => {
                let n = self.length(8, "FRAME")?;
                if n > self.data.len() - self.pos {
                    return stop(at, format!("a FRAME of {n} bytes runs past the end of the file"));
                }
            }
            b'.' => return Ok(Some(pop(f, at)?)),
            b'(' => {
                if f.marks.len() >= MAX_MARKS {
                    if f.marks.len() >= HARD_MAX_MARKS {
                        return limit(at, format!("more than {HARD_MAX_MARKS} MARKs are open"));
                    }
                    self.beyond(
                        at,
                        "marks",
                        format!("more than {MAX_MARKS} MARKs are open (nesting too deep)"),
                    );
                }
                f.marks.push(f.stack.len());
            }
            b'0' => {
                if f.stack.len() > f.marks.last().copied().unwrap_or(0) {
                    f.stack.pop();
                } else {
                    pop_mark(f, at)?;
                }
            }
            b'1' => {
                pop_mark(f, at)?;
            }
            b'2' => {
                let top = top(f, at)?;
                self.push_id(f, at, top)?;
            }

            // Constants.
            b'N' => self.push(f, at, Value::None)?,
            0x88 => self.push(f, at, Value::Bool(true))?,
            0x89 => self.push(f, at, Value::Bool(false))?,
            b'J' => {
                let n = i32::from_le_bytes(self.array("BININT")?);
                self.push(f, at, Value::Int(n.into()))?;
            }
            b'K' => {
                let n = self.array::<1>("BININT1")?[0];
                self.push(f, at, Value::Int(n.into()))?;
            }
            b'M' => {
                let n = u16::from_le_bytes(self.array("BININT2")?);
                self.push(f, at, Value::Int(n.into()))?;
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    self.length(1, "LONG1")?
                } else {
                    let n = i32::from_le_bytes(self.array("LONG4")?);
                    usize::try_from(n).or_else(|_| stop(at, "LONG4 has a negative length"))?
                };
                let bytes = self.take(n, "a long integer")?;
                let value = if n <= 8 {
                    let mut word =
                        [if bytes.last().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 }; 8];
                    word[..n].copy_from_slice(bytes);
                    Value::Int(i64::from_le_bytes(word))
                } else {
                    Value::Opaque
                };
                self.push(f, at, value)?;
            }
            b'G' => {
                let x = f64::from_be_bytes(self.array("BINFLOAT")?);
                self.push(f, at, Value::Float(x))?;
            }
            b'I' | b'L' | b'F' => {
                let line = self.line("a text number")?;
                let value = match (op, line) {
                    (b'I', b"01") => Value::Bool(true),
                    (b'I', b"00") => Value::Bool(false),
                    (b'I', _) => std::str::from_utf8(line)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .map_or(Value::Opaque, Value::Int),
                    _ => Value::Opaque,
                };
                self.push(f, at, value)?;
            }
            0x8c | b'X' | 0x8d => {
                let width = match op {
                    0x8c => 1,
                    b'X' => 4,
                    _ => 8,
                };
                let n = self.length(width, "a string")?;
                let bytes = self.take(n, "a string")?;
                let text = std::str::from_utf8(bytes)
                    .or_else(|_| stop(at, "a string is not valid UTF-8"))?
                    .to_owned();
                self.push(f, at, Value::Str(text))?;
            }
            b'C' | b'B' | 0x8e | 0x96 => {
                let width = match op {
                    b'C' => 1,
                    b'B' => 4,
                    _ => 8,
                };
                let n = self.length(width, "a bytes value")?;
                let bytes = self.take(n, "a bytes value")?.to_vec();
                self.push(f, at, Value::Bytes(bytes))?;
            }
            b'S' | b'V' => {
                let line = self.line("a text string")?;
                let text = String::from_utf8_lossy(line);
                let text = if op == b'S' {
                    text.trim_matches(['\'', '"']).to_owned()
                } else {
                    text.into_owned()
                };
                self.push(f, at, Value::Str(text))?;
            }
            b'T' | b'U' => {
                let n = if op == b'U' {
                    self.length(1, "SHORT_BINSTRING")?
                } else {
                    let n = i32::from_le_bytes(self.array("BINSTRING")?);
                    usize::try_from(n).or_else(|_| stop(at, "BINSTRING has a negative length"))?
                };
                let bytes = self.take(n, "a string")?;
                let value = match std::str::from_utf8(bytes) {
                    Ok(text) => Value::Str(text.to_owned()),
                    Err(_) => Value::Bytes(bytes.to_vec()),
                };
                self.push(f, at, value)?;
            }

            // Containers.
            b'}' => self.push(f, at, Value::Dict(Vec::new()))?,
            b']' => self.push(f, at, Value::List(Vec::new()))?,
            b')' => self.push(f, at, Value::Tuple(Vec::new()))?,
            0x8f => self.push(f, at, Value::Set(Vec::new()))?,
            b't' | b'l' | 0x91 => {
                let items = pop_mark(f, at)?;
                let value = match op {
                    b't' => Value::Tuple(items),
                    b'l' => Value::List(items),
                    _ => Value::Set(items),
                };
                self.push(f, at, value)?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if f.stack.len() < f.marks.last().copied().unwrap_or(0) + n {
                    return stop(at, "the stack holds too few items for a tuple");
                }
                let items = f.stack.split_off(f.stack.len() - n);
                self.push(f, at, Value::Tuple(items))?;
            }
            b'd' => {
                let items = pop_mark(f, at)?;
                let pairs = pairs(&items, at)?;
                self.push(f, at, Value::Dict(pairs))?;
            }
            b'a' | b'e' | 0x90 => {
                let items = if op == b'a' { vec![pop(f, at)?] } else { pop_mark(f, at)? };
                let target = top(f, at)?;
                self.charge(at, 4 * items.len())?;
                match &mut self.values[target as usize] {
                    Value::List(list) if op != 0x90 => list.extend(items),
                    Value::Set(set) if op == 0x90 => set.extend(items),
                    Value::Opaque => {}
                    other => {
                        let kind = other.kind();
                        // On anything but a list, loading would call the object's own method.
                        self.refuse(
                            at,
                            format!(
                                "an APPEND adds items to a value of type {kind}, which would call its method"
                            ),
                        );
                    }
                }
            }
            b's' | b'u' => {
                let items = if op == b's' {
                    let value = pop(f, at)?;
                    let key = pop(f, at)?;
                    vec![key, value]
                } else {
                    pop_mark(f, at)?
                };
                let new = pairs(&items, at)?;
                let target = top(f, at)?;
                self.charge(at, 8 * new.len())?;
                match &mut self.values[target as usize] {
                    Value::Dict(dict) => dict.extend(new),
                    Value::Opaque => {}
                    other => {
                        let kind = other.kind();
                        self.refuse(
                            at,
                            format!("a SETITEM stores into a value of type {kind}, which would call its method"),
                        );
                    }
                }
            }

            // The memo.
            0x94 => {
                let key = f.memo.len() as u64;
                self.memo_put(f, at, key)?;
            }
            b'q' => {
                let key = u64::from(self.array::<1>("BINPUT")?[0]);
                self.memo_put(f, at, key)?;
            }
            b'r' => {
                let key = u64::from(u32::from_le_bytes(self.array("LONG_BINPUT")?));
                self.memo_put(f, at, key)?;
            }
            b'p' => {
                let key = self.decimal("PUT")?;
                self.memo_put(f, at, key)?;
            }
            b'h' | b'j' | b'g' => {
                let key = match op {
                    b'h' => u64::from(self.array::<1>("BINGET")?[0]),
                    b'j' => u64::from(u32::from_le_bytes(self.array("LONG_BINGET")?)),
                    _ => self.decimal("GET")?,
                };
                let id = *f.memo.get(&key).ok_or_else(|| Stop {
                    offset: at,
                    message: format!("memo entry {key} is read before it is written"),
                    limit: false,
                })?;
                self.push_id(f, at, id)?;
            }

            // Globals and calls.
            b'c' | b'i' => {
                let module = self.text_line("a global's module")?;
                let name = self.text_line("a global's name")?;
                let index = self.record_global(at, module, name)?;
                if op == b'c' {
                    self.push(f, at, Value::Global(index))?;
                } else {
                    pop_mark(f, at)?;
                    self.push(f, at, Value::Opaque)?;
                }
            }
            0x93 => {
                let name = pop(f, at)?;
                let module = pop(f, at)?;
                let (Some(module), Some(name)) = (self.text(module), self.text(name)) else {
                    return stop(at, "STACK_GLOBAL's module and name are not both strings");
                };
                let (module, name) = (module.to_owned(), name.to_owned());
                let index = self.record_global(at, module, name)?;
                self.push(f, at, Value::Global(index))?;
            }
            b'R' => {
                let args = pop(f, at)?;
                let callable = pop(f, at)?;
                let value = self.call(at, callable, args)?;
                self.push(f, at, value)?;
            }
            0x81 => {
                let args = pop(f, at)?;
                let class = pop(f, at)?;
                let value = self.construct(at, class, args);
                self.push(f, at, value)?;
            }
            b'b' => {
                let state = pop(f, at)?;
                let target = top(f, at)?;
                if let Some(replacement) = self.build(at, target, state)? {
                    *f.stack.last_mut().expect("checked by top") = replacement;
                }
            }
            b'o' => {
                pop_mark(f, at)?;
                self.push(f, at, Value::Opaque)?;
            }
            0x92 => {
                pop(f, at)?;
                pop(f, at)?;
                pop(f, at)?;
                self.push(f, at, Value::Opaque)?;
            }
            b'P' | b'Q' => {
                if op == b'P' {
                    self.line("PERSID")?;
                } else {
                    pop(f, at)?;
                }
                self.push(f, at, Value::Opaque)?;
            }
            0x82..=0x84 => {
                let width = [1, 2, 4][usize::from(op - 0x82)];
                self.take(width, "an extension code")?;
                self.push(f, at, Value::Opaque)?;
            }
            0x97 => self.push(f, at, Value::Opaque)?,
            0x98 => {}
            _ => unreachable!("every named opcode is handled"),
        }
        Ok(None)
    }

    fn decimal(&mut self, what: &str) -> Result<u64, Stop> {
        let at = self.pos;
        let line = self.line(what)?;
        std::str::from_utf8(line).ok().and_then(|s| s.trim().parse().ok()).ok_or_else(|| Stop {
            offset: at,
            message: format!("{what} has no decimal memo key"),
            limit: false,
        })
    }

    fn memo_put(&mut self, f: &mut Frame, at: usize, key: u64) -> Result<(), Stop> {
        let id = top(f, at)?;
        f.memo.insert(key, id);
        if f.memo.len() > MAX_MEMO {
            return limit(at, format!("the memo holds more than {MAX_MEMO} entries"));
        }
        Ok(())
    }

    /// `REDUCE`: only the allowed numpy constructors, with the arguments numpy itself writes.
    fn call(&mut self, at: usize, callable: Id, args: Id) -> Result<Value, Stop> {
        let index = match self.value(callable) {
            Value::Global(index) => *index,
            Value::Opaque => return Ok(Value::Opaque),
            other => {
                let kind = other.kind();
                self.refuse(at, format!("REDUCE calls a {kind}, not a global"));
                return Ok(Value::Opaque);
            }
        };
        let Some(allowed) = self.globals[index].allowed else {
            // The global itself is already reported.
            return Ok(Value::Opaque);
        };
        let name = self.global_name(index);
        let args = self.few_items(args);
        let arg = |i: usize| args.get(i).map(|&id| self.value(id));
        let made = match allowed {
            Allowed::Dtype => match (args.len(), arg(0), arg(1), arg(2)) {
                (3, Some(Value::Str(descr)), Some(Value::Bool(false)), Some(Value::Bool(true))) => {
                    Dtype::parse(descr).map(|dtype| Value::Dtype { dtype, built: false })
                }
                _ => {
                    Err(format!("{name} is called with arguments other than (descr, False, True)"))
                }
            },
            Allowed::Scalar => match (args.len(), arg(0), arg(1)) {
                (2, Some(Value::Dtype { dtype, .. }), Some(Value::Bytes(bytes)))
                    if dtype.kind != Kind::Object && bytes.len() == dtype.itemsize =>
                {
                    let scalar = Array {
                        dtype: dtype.clone(),
                        shape: Vec::new(),
                        fortran: false,
                        elements: Elements::Bytes(args[1]),
                    };
                    // numpy.str_ subclasses str and equals the text it holds (labels in an
                    // object array are often numpy.str_), so it is read as that text.
                    if dtype.kind == Kind::Unicode {
                        scalar
                            .unicode(bytes)
                            .map(|mut text| Value::Str(text.remove(0)))
                            .or(Ok(Value::Array(scalar)))
                    } else {
                        Ok(Value::Array(scalar))
                    }
                }
                _ => Err(format!("{name} is called with arguments other than (dtype, its bytes)")),
            },
            Allowed::Reconstruct => match (args.len(), arg(0), arg(1), arg(2)) {
                (
                    3,
                    Some(Value::Global(g)),
                    Some(Value::Tuple(shape)),
                    Some(Value::Bytes(code)),
                ) if self.globals[*g].allowed == Some(Allowed::NdArray)
                    && shape.len() == 1
                    && self.int(shape[0]) == Some(0)
                    && code == b"b" =>
                {
                    Ok(Value::PendingArray)
                }
                _ => Err(format!(
                    "{name} is called with arguments other than (numpy.ndarray, (0,), b'b')"
                )),
            },
            Allowed::FromBuffer => {
                let shape = args.get(2).and_then(|&s| self.shape(s));
                match (args.len(), arg(0), arg(1), shape, arg(3)) {
                    (
                        4,
                        Some(Value::Bytes(bytes)),
                        Some(Value::Dtype { dtype, .. }),
                        Some(shape),
                        Some(Value::Str(order)),
                    ) if dtype.kind != Kind::Object && (order == "C" || order == "F") => {
                        let fortran = order == "F";
                        match Array::count(&shape).and_then(|n| n.checked_mul(dtype.itemsize)) {
                            Some(n) if n == bytes.len() => Ok(Value::Array(Array {
                                dtype: dtype.clone(),
                                shape,
                                fortran,
                                elements: Elements::Bytes(args[0]),
                            })),
                            _ => Err(format!(
                                "{name} is given {} bytes for an array of shape {} and dtype {}",
                                bytes.len(),
                                shape_text(&shape),
                                dtype
                            )),
                        }
                    }
                    _ => Err(format!(
                        "{name} is called with arguments other than (buffer, dtype, shape, order)"
                    )),
                }
            }
            Allowed::Encode => match (args.len(), arg(0), arg(1)) {
                (2, Some(Value::Str(text)), Some(Value::Str(codec)))
                    if codec == "latin1" || codec == "latin-1" =>
                {
                    text.chars()
                        .map(|c| {
                            u8::try_from(u32::from(c))
                                .map_err(|_| format!("{name}: {c:?} is not latin-1"))
                        })
                        .collect::<Result<Vec<u8>, String>>()
                        .map(Value::Bytes)
                }
                _ => Err(format!("{name} is called with arguments other than (str, 'latin1')")),
            },
            Allowed::Pipeline
            | Allowed::StandardScaler
            | Allowed::LogisticRegression
            | Allowed::ArrayWrapper
            | Allowed::NdArray => Err(format!(
                "{name} is called with REDUCE; only NEWOBJ with no arguments is allowed"
            )),
        };
        match made {
            Ok(value) => {
                match &value {
                    Value::Bytes(bytes) => self.charge(at, bytes.len())?,
                    Value::Str(text) => self.charge(at, text.len())?,
                    _ => {}
                }
                Ok(value)
            }
            Err(message) => {
                self.refuse(at, message);
                Ok(Value::Opaque)
            }
        }
    }

    /// `NEWOBJ`: only the allowed classes, with no arguments.
    fn construct(&mut self, at: usize, class: Id, args: Id) -> Value {
        let index = match self.value(class) {
            Value::Global(index) => *index,
            Value::Opaque => return Value::Opaque,
            other => {
                let kind = other.kind();
                self.refuse(at, format!("NEWOBJ builds a {kind}, not a class"));
                return Value::Opaque;
            }
        };
        match self.globals[index].allowed {
            None => Value::Opaque,
            Some(
                class @ (Allowed::Pipeline
                | Allowed::StandardScaler
                | Allowed::LogisticRegression
                | Allowed::ArrayWrapper),
            ) if self.items(args).is_some_and(<[Id]>::is_empty) => {
                Value::Object { class, state: None }
            }
            Some(_) => {
                let name = self.global_name(index);
                self.refuse(at, format!("NEWOBJ builds {name} in a way onnxify does not accept"));
                Value::Opaque
            }
        }
    }

    /// `BUILD`: an object's attribute dict, a dtype's state, an array's state, or a joblib
    /// wrapper's description followed by the array's bytes. Returns the value that replaces the
    /// target on the stack, if any.
    fn build(&mut self, at: usize, target: Id, state: Id) -> Result<Option<Id>, Stop> {
        // Only small values are cloned: a large one could be shared by many BUILDs.
        let target_value = match self.value(target) {
            value @ (Value::Object { .. }
            | Value::Dtype { .. }
            | Value::PendingArray
            | Value::Opaque) => value.clone(),
            other => {
                let kind = other.kind();
                self.refuse(
                    at,
                    format!(
                        "BUILD sets the state of a value of type {kind}, which would call its code"
                    ),
                );
                return Ok(None);
            }
        };
        match target_value {
            Value::Object { class: Allowed::ArrayWrapper, state: None } => {
                match self.value(state) {
                    Value::Dict(pairs) if pairs.len() <= MAX_WRAPPER_ENTRIES => {}
                    _ => return limit(at, "a joblib array wrapper's state is not a short dict"),
                }
                self.read_wrapped_array(at, state).map(Some)
            }
            Value::Object { class, state: None } => {
                let attributes = match self.value(state) {
                    Value::Dict(pairs)
                        if pairs.len() <= MAX_ATTRIBUTES
                            && pairs.iter().all(|&(k, _)| self.text(k).is_some()) =>
                    {
                        Some(pairs.clone())
                    }
                    _ => None,
                };
                match attributes {
                    // Python copies the dict into the object's __dict__, so changes made to
                    // the dict after this BUILD must not reach the object: keep a copy.
                    Some(pairs) => {
                        let copy = self.alloc(at, Value::Dict(pairs))?;
                        self.values[target as usize] = Value::Object { class, state: Some(copy) };
                    }
                    None => self.refuse(
                        at,
                        format!("{class:?}'s state is not a dict of at most {MAX_ATTRIBUTES} named attributes"),
                    ),
                }
                Ok(None)
            }
            Value::Dtype { mut dtype, built: false } => {
                let state = self.few_items(state);
                let order = state.get(1).and_then(|&s| self.text(s));
                let elsize = state.get(5).and_then(|&s| self.int(s));
                let version = state.first().and_then(|&s| self.int(s));
                match (state.len(), version, order, elsize) {
                    (8 | 9, Some(3 | 4), Some(order @ ("<" | ">" | "|" | "=")), Some(elsize)) => {
                        dtype.big_endian = order == ">";
                        let fixed = matches!(dtype.kind, Kind::Unicode | Kind::Other('S' | 'V'));
                        if fixed && usize::try_from(elsize).ok() != Some(dtype.itemsize) {
                            return limit(
                                at,
                                format!("dtype {} declares {elsize}-byte items", dtype.descr),
                            );
                        }
                        self.values[target as usize] = Value::Dtype { dtype, built: true };
                    }
                    _ => self.refuse(
                        at,
                        format!("dtype {}'s state is not one numpy writes", dtype.descr),
                    ),
                }
                Ok(None)
            }
            Value::PendingArray => {
                let items = self.few_items(state);
                let get = |i: usize| items.get(i).map(|&id| self.value(id));
                let shape = items.get(1).and_then(|&s| self.shape(s));
                let array = match (items.len(), get(0), shape, get(2), get(3), get(4)) {
                    (
                        5,
                        Some(Value::Int(1)),
                        Some(shape),
                        Some(Value::Dtype { dtype, .. }),
                        Some(Value::Bool(fortran)),
                        Some(data),
                    ) => {
                        let count = Array::count(&shape);
                        let elements = match (data, dtype.kind) {
                            (Value::List(objects), Kind::Object)
                                if count == Some(objects.len()) =>
                            {
                                Some(Elements::Objects(objects.clone()))
                            }
                            (Value::Bytes(bytes), kind)
                                if kind != Kind::Object
                                    && count.and_then(|n| n.checked_mul(dtype.itemsize))
                                        == Some(bytes.len()) =>
                            {
                                Some(Elements::Bytes(items[4]))
                            }
                            _ => None,
                        };
                        match elements {
                            Some(elements) => Ok(Array {
                                dtype: dtype.clone(),
                                shape,
                                fortran: *fortran,
                                elements,
                            }),
                            None => Err(format!(
                                "an ndarray of shape {} and dtype {} is given a {} that does not hold it",
                                shape_text(&shape),
                                dtype,
                                data.kind()
                            )),
                        }
                    }
                    _ => {
                        Err("an ndarray's state is not (1, shape, dtype, is_fortran, data)"
                            .to_owned())
                    }
                };
                match array {
                    Ok(array) => {
                        let id = self.alloc(at, Value::Array(array))?;
                        Ok(Some(id))
                    }
                    Err(message) => {
                        self.refuse(at, message);
                        Ok(None)
                    }
                }
            }
            Value::Opaque => Ok(None),
            // An object or dtype whose state is already set.
            other => {
                self.refuse(
                    at,
                    format!("a second BUILD sets the state of the same {}", other.kind()),
                );
                Ok(None)
            }
        }
    }

    /// The array a joblib `NumpyArrayWrapper` describes, read from the bytes after its `BUILD`.
    fn read_wrapped_array(&mut self, at: usize, state: Id) -> Result<Id, Stop> {
        let Value::Dict(pairs) = self.value(state).clone() else {
            unreachable!("checked by build")
        };
        let field =
            |key: &str| pairs.iter().find(|&&(k, _)| self.text(k) == Some(key)).map(|&(_, v)| v);
        let shape = field("shape").and_then(|s| self.shape(s));
        let dtype = field("dtype").and_then(|d| self.built_dtype(d)).cloned();
        let order = field("order").and_then(|o| self.text(o)).map(str::to_owned);
        let subclass = field("subclass").map(|s| self.value(s).clone());
        let padded = field("numpy_array_alignment_bytes").is_some();
        let (Some(shape), Some(dtype), Some(order @ ("C" | "F"))) =
            (shape, dtype, order.as_deref())
        else {
            return stop(
                at,
                "a joblib array wrapper lacks a shape, dtype or order onnxify can read",
            );
        };
        match subclass {
            Some(Value::Global(g)) if self.globals[g].allowed == Some(Allowed::NdArray) => {}
            _ => self.refuse(at, "a joblib array wrapper's subclass is not numpy.ndarray".into()),
        }
        let fortran = order == "F";
        let Some(count) = Array::count(&shape) else {
            return stop(at, format!("a joblib array's shape {} overflows", shape_text(&shape)));
        };

        if dtype.kind == Kind::Object {
            if self.nested >= MAX_NESTED {
                return limit(
                    self.pos,
                    format!("object arrays are nested more than {MAX_NESTED} deep"),
                );
            }
            // joblib pickles an object array as a whole stream of its own, right here.
            let start = self.pos;
            self.nested += 1;
            let inner = self.load();
            self.nested -= 1;
            let inner = inner?;
            return match self.value(inner) {
                Value::Array(array)
                    if matches!(array.elements, Elements::Objects(_)) && array.shape == shape =>
                {
                    Ok(inner)
                }
                Value::Opaque => Ok(inner),
                other => {
                    let kind = other.kind();
                    self.refuse(
                        start,
                        format!(
                            "the nested stream of an object array of shape {} holds a {kind}",
                            shape_text(&shape)
                        ),
                    );
                    self.alloc(at, Value::Opaque)
                }
            };
        }

        if padded {
            let padding = self.array::<1>("an array's padding length")?[0];
            self.take(usize::from(padding), "an array's padding")?;
        }
        let start = self.pos;
        let remaining = self.data.len() - start;
        let bytes = count.checked_mul(dtype.itemsize).filter(|&n| n <= remaining).ok_or_else(|| Stop {
            offset: start,
            message: format!(
                "the joblib array at byte {at} declares shape {} of dtype {dtype} ({count} elements of {} bytes), \
                 but only {remaining} bytes remain in the file",
                shape_text(&shape),
                dtype.itemsize
            ),
            limit: false,
        })?;
        self.pos += bytes;
        self.alloc(
            at,
            Value::Array(Array {
                dtype,
                shape,
                fortran,
                elements: Elements::Inline(start..start + bytes),
            }),
        )
    }
}

fn pop(frame: &mut Frame, at: usize) -> Result<Id, Stop> {
    if frame.stack.len() <= frame.marks.last().copied().unwrap_or(0) {
        return stop(at, "the opcode needs an item but the stack is empty (up to the last MARK)");
    }
    Ok(frame.stack.pop().expect("checked"))
}

fn top(frame: &Frame, at: usize) -> Result<Id, Stop> {
    match frame.stack.last() {
        Some(&id) if frame.stack.len() > frame.marks.last().copied().unwrap_or(0) => Ok(id),
        _ => stop(at, "the opcode needs an item but the stack is empty (up to the last MARK)"),
    }
}

fn pop_mark(frame: &mut Frame, at: usize) -> Result<Vec<Id>, Stop> {
    let mark = frame.marks.pop().ok_or_else(|| Stop {
        offset: at,
        message: "the opcode needs a MARK but none is open".into(),
        limit: false,
    })?;
    Ok(frame.stack.split_off(mark))
}

fn pairs(items: &[Id], at: usize) -> Result<Vec<(Id, Id)>, Stop> {
    if !items.len().is_multiple_of(2) {
        return stop(at, "a dict is given an odd number of items");
    }
    Ok(items.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// Opcodes a scikit-learn or joblib dump (protocols 2 to 5) uses.
const ACCEPTED: [&str; 40] = [
    "PROTO",
    "FRAME",
    "STOP",
    "MARK",
    "EMPTY_DICT",
    "EMPTY_LIST",
    "EMPTY_TUPLE",
    "TUPLE",
    "TUPLE1",
    "TUPLE2",
    "TUPLE3",
    "APPEND",
    "APPENDS",
    "SETITEM",
    "SETITEMS",
    "NONE",
    "NEWTRUE",
    "NEWFALSE",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG1",
    "BINFLOAT",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "SHORT_BINBYTES",
    "BINBYTES",
    "BINBYTES8",
    "BYTEARRAY8",
    "MEMOIZE",
    "BINPUT",
    "LONG_BINPUT",
    "BINGET",
    "LONG_BINGET",
    "GLOBAL",
    "STACK_GLOBAL",
    "REDUCE",
    "NEWOBJ",
    "BUILD",
];

/// The name of every pickle opcode (protocols 0 to 5).
pub fn opcode_name(op: u8) -> Option<&'static str> {
    Some(match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHORT_BINUNICODE `s`.
    fn text(s: &str) -> Vec<u8> {
        let mut out = vec![0x8c, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    /// STACK_GLOBAL `module.name`.
    fn global(module: &str, name: &str) -> Vec<u8> {
        [text(module), text(name), vec![0x93]].concat()
    }

    /// A joblib wrapper of `shape` and `descr` in `order`, followed by `payload`.
    fn wrapper(shape: &[u64], descr: &str, order: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80, 4];
        out.extend(global("joblib.numpy_pickle", "NumpyArrayWrapper"));
        out.extend(b")\x81}(");
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
        out.extend(b"K\x10ub");
        out.extend(payload);
        out.push(b'.');
        out
    }

    fn root(outcome: &Outcome) -> &Value {
        &outcome.values[outcome.root.expect("reached STOP") as usize]
    }

    #[test]
    fn a_list_of_constants_is_read_as_data() {
        let outcome = run(b"\x80\x04](K\x01K\x02e.");
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        let Value::List(items) = root(&outcome) else { panic!("{:?}", root(&outcome)) };
        let values: Vec<&Value> = items.iter().map(|&i| &outcome.values[i as usize]).collect();
        assert_eq!(values, [&Value::Int(1), &Value::Int(2)]);
    }

    #[test]
    fn a_called_global_is_recorded_with_its_offset_and_never_resolved() {
        let outcome = run(b"\x80\x02cos\nsystem\n(X\x02\x00\x00\x00lstR.");
        assert_eq!(outcome.globals.len(), 1);
        let g = &outcome.globals[0];
        assert_eq!((g.module.as_str(), g.name.as_str(), g.offset), ("os", "system", 2));
        assert!(matches!(g.verdict, Verdict::Dangerous(_)));
        assert_eq!(root(&outcome), &Value::Opaque);
    }

    #[test]
    fn a_joblib_array_is_read_inline_after_its_padding_in_fortran_order() {
        // [[1, 2, 3], [4, 5, 6]] stored column-major after two padding bytes.
        let mut payload = vec![2, 0xff, 0xff];
        for v in [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0] {
            payload.extend(v.to_le_bytes());
        }
        let data = wrapper(&[2, 3], "f8", "F", &payload);
        let outcome = run(&data);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        let Value::Array(array) = root(&outcome) else { panic!("{:?}", root(&outcome)) };
        let Elements::Inline(range) = &array.elements else { panic!() };
        assert_eq!(array.floats(&data[range.clone()]).unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn an_array_larger_than_the_bytes_present_is_refused_before_any_allocation() {
        let outcome = run(&wrapper(&[1 << 40], "f8", "C", &[0; 33]));
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
        let outcome = run(&data);
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
        let outcome = run(&data);
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
        let outcome = run(&data);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        assert_eq!(outcome.values.len(), 31);
    }

    #[test]
    fn bytes_after_stop_are_refused_and_read_for_their_globals() {
        let data = b"\x80\x04N.cposix\nsystem\n.";
        let outcome = run(data);
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
            let outcome = run(&[prefix.as_slice(), system].concat());
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
        let outcome = run(&data);
        assert_eq!(outcome.globals.len(), 1, "{:?}", outcome.findings);
        assert_eq!(outcome.globals[0].offset, data.len() - 15);
    }

    #[test]
    fn truncated_and_deep_streams_are_reported_with_a_reason() {
        let truncated = run(b"\x80\x04](K\x01");
        assert!(
            truncated.findings[0].message.contains("without a STOP"),
            "{:?}",
            truncated.findings
        );
        let deep = run(&[b"\x80\x04".as_slice(), &[b'('; 5000]].concat());
        assert!(deep.findings[0].message.contains("MARKs are open"), "{:?}", deep.findings);
        let wide = run(&[b"\x80\x04".as_slice(), &[b']'; 60_000]].concat());
        assert!(wide.findings[0].message.contains("stack holds more than"), "{:?}", wide.findings);
    }

    #[test]
    fn appending_to_an_object_is_refused_because_it_would_call_its_method() {
        let data =
            [vec![0x80, 4], global("sklearn.pipeline", "Pipeline"), b")\x81K\x01a.".to_vec()]
                .concat();
        let outcome = run(&data);
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
        let outcome = run(&data);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        let Value::Tuple(pair) = root(&outcome) else { panic!("{:?}", root(&outcome)) };
        let Value::Object { state: Some(state), .. } = &outcome.values[pair[0] as usize] else {
            panic!("{:?}", outcome.values[pair[0] as usize])
        };
        assert_eq!(outcome.values[*state as usize], Value::Dict(vec![]), "the object's copy");
        assert!(matches!(&outcome.values[pair[1] as usize], Value::Dict(d) if d.len() == 1));
    }
}
