//! The rest of a stream after the machine stopped early, at a limit Python does not have (stack
//! depth, open MARKs, line length) or at a malformation, read for the globals it names only. A
//! loader would go on past a limit of ours, so a report that stopped there could leave out the
//! very global that runs: this walk goes opcode by opcode to the end of the data, keeping no
//! stack, only the strings the memo and the top of the stack hold, which is enough to resolve a
//! `STACK_GLOBAL` built the way picklers write it. One it cannot resolve refuses the file where
//! a loader could get to it.
//!
//! joblib's inline array bytes are not opcodes. Where the walk meets a byte that is not an
//! opcode it goes on from the next place where opcodes resume: a run of opcodes that reaches
//! the end of the data, or the next array (a `BUILD` then joblib's padding), or is long enough
//! that array bytes do not make one by chance. A loader cannot get past bytes that are neither
//! opcodes nor an array's, so nothing those runs skip can run.

use std::cell::Cell;
use std::collections::HashMap;

use memchr::{memchr, memrchr};

use super::pyint::{self, MemoKey};
use super::{MAX_LINE, MAX_MEMO, MAX_NESTED, Machine, Severity};

/// Longest string the walk keeps as a possible module or global name.
pub(super) const MAX_NAME: usize = 1 << 10;
/// Longest opcode in a run that makes a place to resume (the names, numbers and strings a dump
/// writes between arrays are far shorter).
const RESUME_LINE: usize = 4 << 10;
/// Opcodes in a row that make a place to resume after bytes that are not opcodes. Random bytes
/// make a run of 16 about once a megabyte (many opcodes take any bytes as their argument);
/// between two of joblib's arrays a dump writes some 25 opcodes, and the run also ends well at
/// the next array.
const RESUME_RUN: usize = 32;

/// What the walk knows of one stream's state: the strings in its memo and at the top of its
/// stack (`None` where the value is anything else).
#[derive(Debug, Default)]
pub(super) struct Resume {
    pub memo: HashMap<MemoKey, Option<String>>,
    pub top: [Option<String>; 2],
    /// The memo cannot be known (streams nested too deep to follow).
    pub lost: bool,
    /// The stream's current protocol (0 before a PROTO opcode), which decides how the loader
    /// resolves a global.
    pub proto: u8,
}

impl Resume {
    fn push(&mut self, value: Option<String>) {
        self.top = [self.top[1].take(), value];
    }

    fn forget_top(&mut self) {
        self.top = [None, None];
    }

    fn put(&mut self, key: MemoKey) {
        if self.memo.len() < MAX_MEMO || self.memo.contains_key(&key) {
            self.memo.insert(key, self.top[1].clone());
        }
    }
}

impl Machine<'_> {
    /// Walks from `from` to the end of the data, listing the globals it names. `self.unwound`
    /// holds the state of each stream the machine was in when it stopped, innermost first;
    /// `at_stream_start` says `from` is where a stream starts. Unless `loader_goes_on`, no
    /// loader gets past `from`, so the bytes there may be anything: the walk starts where
    /// opcodes plausibly start, as after array bytes, rather than listing what noise spells.
    pub(super) fn walk_rest(&mut self, from: usize, at_stream_start: bool, loader_goes_on: bool) {
        let data = self.data;
        let ops = Opcodes {
            data,
            last_newline: memrchr(b'\n', data),
            // Intervals that hold nothing until a newline is found.
            newlines: Cell::new([(1, 0); 2]),
        };
        // The streams around the current one, the nearest last: those the machine was in, then
        // any nested stream (a joblib object array's, which starts with PROTO) the walk enters.
        let mut enclosing = std::mem::take(&mut self.unwound);
        enclosing.reverse();
        let mut state = enclosing.pop().unwrap_or_default();
        let mut fresh = at_stream_start;
        // Bytes the search for places to resume may read in all, so that it stays linear.
        let mut budget = data.len().saturating_mul(32).max(1 << 20);
        let mut pos = from;
        if !loader_goes_on {
            match ops.resume(from, &mut budget) {
                Ok(Some(start)) => pos = start,
                _ => return,
            }
        }
        while pos < data.len() {
            let at = pos;
            // Where no loader gets, only what a pickler would write is taken as opcodes.
            let len = ops.len(at, usize::MAX, &Cell::new(0));
            let len = len.filter(|&len| loader_goes_on || ops.plausible(at, len, &Cell::new(0)));
            let Some(len) = len else {
                match ops.resume(at + 1, &mut budget) {
                    Ok(Some(next)) => {
                        // Past an array's bytes the stack holds the array; the memo goes on.
                        state.forget_top();
                        pos = next;
                        continue;
                    }
                    Ok(None) => return,
                    Err(()) => {
                        self.finding(
                            at,
                            Severity::NotAllowed,
                            format!(
                                "the {} bytes from byte {at} on are not pickle opcodes, and \
                                 onnxify gave up searching them for globals",
                                data.len() - at
                            ),
                        );
                        return;
                    }
                }
            };
            pos += len;
            let arg = &data[at + 1..pos];
            let starts_stream = std::mem::replace(&mut fresh, false);
            match data[at] {
                b'c' | b'i' => {
                    let mut lines = arg.split(|&b| b == b'\n');
                    let (module, name) = (lines.next().unwrap_or(&[]), lines.next().unwrap_or(&[]));
                    // The machine records a global before pushing it, so one it stopped on
                    // may be listed already.
                    let listed = at == from && self.globals.last().is_some_and(|g| g.offset == at);
                    if !listed
                        && !self.walk_global(
                            at,
                            line_text(module),
                            line_text(name),
                            enclosing.len(),
                            state.proto,
                            loader_goes_on,
                        )
                    {
                        return;
                    }
                    if data[at] == b'c' {
                        state.push(None);
                    } else {
                        state.forget_top();
                    }
                }
                0x93 => {
                    let listed = at == from && self.globals.last().is_some_and(|g| g.offset == at);
                    match state.top.clone() {
                        _ if listed => {}
                        [Some(module), Some(name)] => {
                            let depth = enclosing.len();
                            if !self.walk_global(
                                at,
                                module,
                                name,
                                depth,
                                state.proto,
                                loader_goes_on,
                            ) {
                                return;
                            }
                        }
                        // One no loader reaches is noted; one it may reach refuses the file.
                        _ => self.finding(
                            at,
                            if loader_goes_on { Severity::NotAllowed } else { Severity::Malformed },
                            "a STACK_GLOBAL takes its module and name from values onnxify cannot \
                             determine without running the pickle"
                                .into(),
                        ),
                    }
                    state.forget_top();
                }
                // Strings: Python decodes these as str (protocol 0 text through escapes).
                0x8c | b'X' | 0x8d => state.push(text(&arg[width(data[at])..])),
                b'T' | b'U' => state.push(text(&arg[width(data[at])..]).filter(|s| s.is_ascii())),
                b'S' => state.push(
                    text(trim_line(arg))
                        .map(|s| s.trim_matches(['\'', '"']).to_owned())
                        .filter(|s| s.is_ascii() && !s.contains('\\')),
                ),
                b'V' => {
                    state.push(text(trim_line(arg)).filter(|s| s.is_ascii() && !s.contains('\\')))
                }
                // The memo.
                0x94 => state.put(MemoKey::Small(state.memo.len() as u64)),
                b'q' => state.put(MemoKey::Small(u64::from(arg[0]))),
                b'r' => state.put(MemoKey::Small(u64::from(u32::from_le_bytes(
                    arg.try_into().expect("4 bytes"),
                )))),
                b'p' => {
                    if let Some(key) = decimal(arg) {
                        state.put(key);
                    }
                }
                b'h' | b'j' | b'g' => {
                    let key = match data[at] {
                        b'h' => Some(MemoKey::Small(u64::from(arg[0]))),
                        b'j' => Some(MemoKey::Small(u64::from(u32::from_le_bytes(
                            arg.try_into().expect("4 bytes"),
                        )))),
                        _ => decimal(arg),
                    };
                    let value = key
                        .filter(|_| !state.lost)
                        .and_then(|k| state.memo.get(&k).cloned().flatten());
                    state.push(value);
                }
                b'2' => state.push(state.top[1].clone()),
                b'.' => {
                    // The end of a nested stream returns to the one holding it; the end of the
                    // outermost starts a trailing stream with an empty memo. Once streams were
                    // nested too deep to follow, which one this ends is unknown.
                    if !state.lost {
                        state = enclosing.pop().unwrap_or_default();
                    }
                    state.forget_top();
                    fresh = true;
                    continue;
                }
                0x80 if !starts_stream => {
                    if enclosing.len() < MAX_NESTED {
                        enclosing.push(std::mem::take(&mut state));
                    } else {
                        // Too deep to follow: no memo entry can be trusted from here on.
                        state = Resume { lost: true, ..Resume::default() };
                    }
                    state.proto = arg[0];
                }
                // PROTO changes how names are looked up; FRAME leaves the stack as it is.
                0x80 => state.proto = arg[0],
                0x95 => {}
                // Opcodes that only push a value that is not a string.
                b'N' | 0x88 | 0x89 | b'J' | b'K' | b'M' | 0x8a | 0x8b | b'I' | b'L' | b'F'
                | b'G' | b'B' | b'C' | 0x8e | 0x96 | b'}' | b']' | b')' | 0x8f | b'P' | 0x82
                | 0x83 | 0x84 | 0x97 => state.push(None),
                // MARK starts an empty stack; everything else pops.
                _ => state.forget_top(),
            }
        }
    }

    /// Records a global the walk found; false once no more can be listed.
    fn walk_global(
        &mut self,
        at: usize,
        module: String,
        name: String,
        depth: usize,
        proto: u8,
        reached: bool,
    ) -> bool {
        let nested = std::mem::replace(&mut self.nested, depth);
        let recorded = self.record_global(at, module, name, proto, reached);
        self.nested = nested;
        if let Err(stop) = recorded {
            self.finding(
                at,
                Severity::NotAllowed,
                format!("{}; the rest are not listed", stop.message),
            );
            return false;
        }
        true
    }
}

/// Bytes of the length prefix of a string or bytes opcode.
fn width(op: u8) -> usize {
    match op {
        0x8c | b'U' | b'C' | 0x8a => 1,
        b'X' | b'T' | b'B' | 0x8b => 4,
        _ => 8,
    }
}

/// The data, read as opcodes.
struct Opcodes<'a> {
    data: &'a [u8],
    /// Where the data's last newline is: a text argument past it cannot end.
    last_newline: Option<usize>,
    /// The last two newlines found, each with where the search for it started: the search
    /// for places to resume asks for the same lines again and again.
    newlines: Cell<[(usize, usize); 2]>,
}

impl Opcodes<'_> {
    /// The length of the opcode at `at` with its argument, if the bytes there are one, a text
    /// argument being a line of at most `max_line` bytes; `read` grows by the bytes looked at.
    fn len(&self, at: usize, max_line: usize, read: &Cell<usize>) -> Option<usize> {
        let data = self.data;
        let rest = &data[at + 1..];
        let fixed = |n: usize| (rest.len() >= n).then_some(1 + n);
        let prefixed = |w: usize, signed: bool| {
            let prefix = rest.get(..w)?;
            let mut word = [0u8; 8];
            word[..w].copy_from_slice(prefix);
            let n = u64::from_le_bytes(word);
            if signed && n >= 1 << 31 {
                return None;
            }
            let n = usize::try_from(n).ok()?;
            // Lazily: with n near usize::MAX the sum would overflow.
            (rest.len() - w >= n).then(|| 1 + w + n)
        };
        let lines = |count: usize| {
            let mut end = at + 1;
            for _ in 0..count {
                let newline = self.newline_after(end, read)?;
                if newline - end > max_line {
                    return None;
                }
                end = newline + 1;
            }
            Some(end - at)
        };
        super::opcode_name(data[at])?;
        match data[at] {
            b'F' | b'I' | b'L' | b'S' | b'V' | b'P' | b'g' | b'p' => lines(1),
            b'c' | b'i' => lines(2),
            b'K' | b'h' | b'q' | 0x80 | 0x82 => fixed(1),
            b'M' | 0x83 => fixed(2),
            b'J' | b'j' | b'r' | 0x84 => fixed(4),
            b'G' | 0x95 => fixed(8),
            0x8c | b'U' | b'C' | 0x8a => prefixed(1, false),
            b'X' | b'B' => prefixed(4, false),
            b'T' | 0x8b => prefixed(4, true),
            0x8d | 0x8e | 0x96 => prefixed(8, false),
            _ => Some(1),
        }
    }

    /// The first newline at or after `from`.
    fn newline_after(&self, from: usize, read: &Cell<usize>) -> Option<usize> {
        // Checked first so that a search for a newline never runs to the end in vain.
        if self.last_newline? < from {
            return None;
        }
        let mut known = self.newlines.get();
        if let Some(&(_, newline)) = known.iter().find(|&&(start, nl)| start <= from && from <= nl)
        {
            return Some(newline);
        }
        let newline = from + memchr(b'\n', &self.data[from..]).expect("before the last newline");
        read.set(read.get() + newline - from + 1);
        known = [known[1], (from, newline)];
        self.newlines.set(known);
        Some(newline)
    }

    /// The first place from `from` on where opcodes resume (see the module's doc), or `None`
    /// if they never do; `Err` once `budget` bytes have been read looking.
    fn resume(&self, from: usize, budget: &mut usize) -> Result<Option<usize>, ()> {
        // Where the opcodes of the last run that failed start: a run from one of them would fail
        // at the same place with fewer opcodes, so it is not tried.
        let mut failed = [0usize; RESUME_RUN];
        let mut failed_len = 0;
        let mut starts = [0usize; RESUME_RUN];
        for start in from..self.data.len() {
            if super::opcode_name(self.data[start]).is_none()
                || failed[..failed_len].binary_search(&start).is_ok()
            {
                continue;
            }
            let (mut at, mut run, mut last) = (start, 0, None);
            loop {
                let array = || last == Some(b'b') && self.padding_at(at);
                if at == self.data.len() || run == RESUME_RUN || array() {
                    return Ok(Some(start));
                }
                let read = Cell::new(1);
                let len = self.len(at, RESUME_LINE, &read);
                let len = len.filter(|&len| len <= RESUME_LINE && self.plausible(at, len, &read));
                *budget = budget.checked_sub(read.get()).ok_or(())?;
                let Some(len) = len else { break };
                starts[run] = at;
                run += 1;
                last = Some(self.data[at]);
                at += len;
            }
            (failed, failed_len) = (starts, run);
        }
        Ok(None)
    }

    /// Whether an argument is what a pickler writes. A run that starts inside array bytes could
    /// otherwise take an argument across the array's end into real opcodes.
    fn plausible(&self, at: usize, len: usize, read: &Cell<usize>) -> bool {
        let arg = &self.data[at + 1..at + len];
        // Lines were counted as they were found; a string's bytes are read here.
        if matches!(self.data[at], 0x8c | b'X' | 0x8d | b'T' | b'U') {
            read.set(read.get() + len);
        }
        let mut lines = arg.split(|&b| b == b'\n');
        let mut line = || lines.next().unwrap_or_default();
        let name = |l: &[u8]| {
            !l.is_empty() && l.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        };
        let number = |l: &[u8]| {
            !l.is_empty()
                && l.len() <= 64
                && l.iter().all(|&b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_' | b' ')
                })
        };
        match self.data[at] {
            b'c' | b'i' => name(line()) && name(line()),
            b'S' => {
                let l = line();
                l.len() >= 2
                    && matches!(l[0], b'\'' | b'"')
                    && l.last() == Some(&l[0])
                    && l.iter().all(|&b| (b' '..=b'~').contains(&b))
            }
            b'V' | b'P' => {
                std::str::from_utf8(line()).is_ok_and(|t| !t.chars().any(char::is_control))
            }
            b'I' | b'L' | b'F' | b'g' | b'p' => number(line()),
            0x8c | b'X' | 0x8d => std::str::from_utf8(&arg[width(self.data[at])..]).is_ok(),
            b'T' | b'U' => arg[width(self.data[at])..].is_ascii(),
            _ => true,
        }
    }

    /// Whether joblib's padding before an array's bytes is at `at`: its length, 1 to 16 (joblib
    /// writes 16 rather than 0), then that many 0xFF bytes.
    fn padding_at(&self, at: usize) -> bool {
        let data = self.data;
        let Some(&padding) = data.get(at) else { return false };
        let padding = usize::from(padding);
        (1..=16).contains(&padding)
            && data.get(at + 1..at + 1 + padding).is_some_and(|p| p.iter().all(|&b| b == 0xff))
    }
}

fn text(bytes: &[u8]) -> Option<String> {
    (bytes.len() <= MAX_NAME).then(|| std::str::from_utf8(bytes).ok().map(str::to_owned)).flatten()
}

fn trim_line(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

fn line_text(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(MAX_LINE)]).into_owned()
}

/// A PUT or GET key as Python reads it (`int()` of the line without its newline).
fn decimal(line: &[u8]) -> Option<MemoKey> {
    pyint::memo_key(trim_line(line))?.ok()
}

#[cfg(test)]
mod tests {
    use super::super::{Loader, Outcome, Severity};

    fn run(data: &[u8]) -> Outcome {
        super::super::run(data, Loader::Joblib)
    }
    use crate::pickle::allow::Verdict;

    fn listed(outcome: &Outcome) -> Vec<String> {
        outcome.globals.iter().map(|g| format!("{}.{}@{}", g.module, g.name, g.offset)).collect()
    }

    #[test]
    fn a_length_prefix_near_the_largest_integer_is_no_opcode() {
        // Found by fuzzing: after a stop, the walk added 9 to a length of 2^64 - 1.
        for opcode in [0x8d_u8, 0x8e, 0x96] {
            let mut data = b"\x80\x04h\x09".to_vec();
            data.push(opcode);
            data.extend([0xff; 8]);
            data.push(b'.');
            let outcome = run(&data);
            assert!(outcome.globals.is_empty(), "{:?}", listed(&outcome));
        }
    }

    #[test]
    fn a_stack_global_after_a_stop_is_resolved_from_the_memo_the_machine_had() {
        // 'os' and 'system' memoised, a GET of an entry never written (the machine stops), then
        // STACK_GLOBAL of the two memoised strings.
        let data = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x09h\x00h\x01\x93.";
        let outcome = run(data);
        assert_eq!(listed(&outcome), ["os.system@22"]);
        assert!(matches!(outcome.globals[0].verdict, Verdict::Dangerous(_)));
    }

    #[test]
    fn a_stack_global_whose_name_cannot_be_known_refuses_the_file_if_a_loader_gets_there() {
        // A Pipeline whose state has more attributes than onnxify reads stops the machine, not
        // the loader; then STACK_GLOBAL takes a string and a value the walk cannot know.
        let mut data = b"\x80\x04\x8c\x10sklearn.pipeline\x8c\x08Pipeline\x93)\x81}(".to_vec();
        for i in 0..4_097 {
            let key = format!("k{i}");
            data.extend([0x8c, key.len() as u8]);
            data.extend(key.as_bytes());
            data.push(b'N');
        }
        data.extend(b"ub\x8c\x02osN\x93.");
        let outcome = run(&data);
        assert_eq!(outcome.globals.len(), 1, "only the Pipeline: {:?}", listed(&outcome));
        let unresolved = |outcome: &Outcome| {
            outcome.findings.iter().find(|f| f.message.contains("a STACK_GLOBAL")).cloned()
        };
        let refused = unresolved(&outcome).unwrap_or_else(|| panic!("{:?}", outcome.findings));
        assert_eq!(
            (refused.offset, refused.severity),
            (Some(data.len() - 2), Severity::NotAllowed)
        );

        // After a memo entry read before it is written no loader goes on: only noted.
        let outcome = run(b"\x80\x04h\x09\x8c\x02osN\x93.");
        let noted = unresolved(&outcome).unwrap_or_else(|| panic!("{:?}", outcome.findings));
        assert_eq!((noted.offset, noted.severity), (Some(9), Severity::Malformed));
    }

    #[test]
    fn the_walk_steps_over_a_joblib_array_and_a_nested_stream() {
        // A stop, then: a BUILD, joblib's padding and eight array bytes (which are no opcodes),
        // a nested stream with its own memo, and a GLOBAL after it.
        let mut data = b"\x80\x04h\x09\x8c\x05numpy\x94N".to_vec();
        data.extend(b"b\x03\xff\xff\xff\x00\x00\x00\x00\x00\x00\xf0\x3f");
        data.extend(b"\x95\x04\x00\x00\x00\x00\x00\x00\x00N\x8c\x01x\x94");
        data.extend(b"\x80\x05\x8c\x05numpy\x94\x8c\x05dtype\x93.");
        data.extend(b"h\x00\x8c\x07ndarray\x93");
        data.extend(b"cposix\nsystem\n.");
        let outcome = run(&data);
        let globals = listed(&outcome);
        assert_eq!(globals.len(), 3, "{globals:?} {:?}", outcome.findings);
        assert!(globals[0].starts_with("numpy.dtype@"), "{globals:?}");
        assert!(globals[1].starts_with("numpy.ndarray@"), "the outer memo is back: {globals:?}");
        assert!(globals[2].starts_with("posix.system@"), "{globals:?}");
        assert!(outcome.globals[0].nested && !outcome.globals[1].nested);
    }

    #[test]
    fn a_run_ending_in_build_at_the_end_of_the_data_is_a_place_to_resume() {
        // Found by fuzzing: the check for joblib's padding after the BUILD read past the end.
        let outcome = run(b"\x80\x04h\x09\x00b");
        assert!(outcome.findings.iter().all(|f| f.severity == Severity::Malformed));
    }

    #[test]
    fn bytes_that_are_no_opcodes_up_to_the_end_hide_nothing() {
        let outcome = run(b"\x80\x04h\x09\x00\x01\x02\x03");
        assert!(outcome.globals.is_empty());
        assert!(outcome.findings.iter().all(|f| f.severity == Severity::Malformed));
    }
}
