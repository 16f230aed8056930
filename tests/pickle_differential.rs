//! The differential test of the pickle reader: onnxify's reading of a file must be the loader's
//! reading, or the file is refused.
//!
//! The real loaders run in a subprocess (`tests/python/loader.py`) with a `find_class` that
//! resolves only onnxify's allow-list and records and raises on anything else, so nothing else
//! is ever imported: `joblib.load`, `pickle.load` and the pure-Python `pickle._Unpickler`, each
//! in a forked child with memory and time limits. For every file:
//! - every global outside the allow-list that a loader tried to resolve is listed in onnxify's
//!   report, not allowed;
//! - if onnxify accepts the file, `joblib.load` loads it, resolving the same globals in the
//!   same order and making the same arrays bit for bit, and `pickle.load` and
//!   `pickle._Unpickler` resolve the same globals onnxify says they would (all allowed).
//!
//! The files are every fixture the suite writes, and mutants of the benign ones from a seeded
//! fuzzer: `ONNXIFY_DIFFERENTIAL_SECONDS` (default 60) bounds its run; failing mutants are kept
//! in `ONNXIFY_DIFFERENTIAL_FAILURES` if that names a directory.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use onnxify::pickle::allow::{ALLOWED, Verdict};
use onnxify::pickle::{Decision, LoadedArray, loads, scan_bytes};

/// The real loaders, restricted to the allow-list.
struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    fn start() -> Oracle {
        let allowed: Vec<[&str; 2]> = ALLOWED.iter().map(|&(m, n)| [m, n]).collect();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/loader.py");
        let mut child = Command::new(common::python())
            .arg(script)
            .arg(serde_json::to_string(&allowed).unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the loader oracle starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Oracle { child, stdin, stdout }
    }

    /// What the three loaders do with the file at `path`.
    fn ask(&mut self, path: &Path) -> Value {
        writeln!(self.stdin, "{}", path.display()).unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("oracle answered {line:?}: {e}"))
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LOADERS: [&str; 3] = ["joblib", "pickle", "pickle_py"];

fn allowed(module: &str, name: &str) -> bool {
    ALLOWED.contains(&(module, name))
}

fn pairs(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
        .collect()
}

fn python_arrays(value: &Value) -> Vec<LoadedArray> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|a| LoadedArray {
            dtype: a["dtype"].as_str().unwrap().to_owned(),
            shape: a["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect(),
            sha256: text(&a["sha256"]),
            objects: a["objects"].as_array().map(|items| items.iter().map(text).collect()),
        })
        .collect()
}

/// Checks onnxify's reading of `bytes` against the loaders' (`oracle`'s answer); the error
/// says where they disagree.
fn check(bytes: &[u8], oracle: &Value) -> Result<Decision, String> {
    let report = scan_bytes("checked.pkl", bytes).report;
    for loader in LOADERS {
        for (module, name) in pairs(&oracle[loader]["globals"]) {
            if allowed(&module, &name) {
                continue;
            }
            let listed = report
                .globals
                .iter()
                .any(|g| g.module == module && g.name == name && g.verdict != Verdict::Allowed);
            if !listed {
                return Err(format!(
                    "{loader} resolves {module}.{name}, which onnxify's report does not list as \
                     refused (decision {:?})",
                    report.decision
                ));
            }
        }
    }
    if report.decision != Decision::Accepted {
        return Ok(report.decision);
    }
    let ours = loads(bytes);
    let joblib = &oracle["joblib"];
    if joblib["outcome"] != "loaded" {
        return Err(format!(
            "onnxify accepts a file joblib.load does not load: {} {}",
            joblib["outcome"], joblib["error"]
        ));
    }
    for (loader, load) in
        [("joblib", &ours.joblib), ("pickle", &ours.pickle), ("pickle_py", &ours.pickle_py)]
    {
        let theirs = pairs(&oracle[loader]["globals"]);
        if theirs != load.globals {
            return Err(format!("{loader} resolves {theirs:?}; onnxify reads {:?}", load.globals));
        }
    }
    let arrays = python_arrays(&joblib["arrays"]);
    if arrays != ours.joblib.arrays {
        let at = arrays.iter().zip(&ours.joblib.arrays).position(|(a, b)| a != b);
        return Err(format!(
            "joblib.load makes {} arrays, onnxify reads {}; first difference at {at:?}: {:?} vs {:?}",
            arrays.len(),
            ours.joblib.arrays.len(),
            at.map(|i| &arrays[i]),
            at.map(|i| &ours.joblib.arrays[i])
        ));
    }
    Ok(report.decision)
}

/// Every file the fixture generators write: their paths and the manifest entries.
fn fixture_manifest() -> &'static [Value] {
    static CASES: OnceLock<Vec<Value>> = OnceLock::new();
    CASES.get_or_init(write_fixtures)
}

fn write_fixtures() -> Vec<Value> {
    let dir = common::scratch().join("differential");
    let marker = common::scratch().join("differential-payload-ran");
    let mut cases = common::python_json(
        "pickles.py",
        &[dir.join("pickles").to_str().unwrap(), marker.to_str().unwrap()],
    )
    .as_array()
    .unwrap()
    .clone();
    if Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/attacks.py").exists() {
        cases.extend(
            common::python_json(
                "attacks.py",
                &[dir.join("attacks").to_str().unwrap(), marker.to_str().unwrap()],
            )
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
        );
    } // TEMPORARY
    assert!(!marker.exists(), "a fixture generator ran a payload");
    cases
}

#[test]
fn every_fixture_is_read_as_the_loaders_read_it_or_refused() {
    let cases = fixture_manifest();
    let mut oracle = Oracle::start();
    let mut failures = Vec::new();
    let mut accepted = 0;
    for case in cases {
        let path = PathBuf::from(case["file"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let answer = oracle.ask(&path);
        match check(&bytes, &answer) {
            Ok(Decision::Accepted) => accepted += 1,
            Ok(_) => {}
            Err(message) => failures.push(format!("{}: {message}", path.display())),
        }
        // A fixture with a payload must really reach it in the loaders it names, or it tests
        // nothing.
        if let Some(payload) = case.get("payload").and_then(Value::as_str) {
            for loader in case["loaders"].as_array().into_iter().flatten() {
                let loader = loader.as_str().unwrap();
                let reached = pairs(&answer[loader]["globals"])
                    .iter()
                    .any(|(m, n)| format!("{m}.{n}") == payload);
                if !reached {
                    failures.push(format!(
                        "{}: {loader} never resolves the payload {payload}: {}",
                        path.display(),
                        answer[loader]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The benign fixtures must be accepted, or the comparison above compared nothing.
    let benign = cases.iter().filter(|c| c["kind"] == "benign").count();
    assert!(accepted >= benign, "{accepted} accepted, {benign} benign fixtures");
}

/// SplitMix64: a small generator with a fixed seed, so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte strings a mutation may insert: opcodes and arguments a hostile file would use to make
/// onnxify and a loader read differently.
fn snippets() -> Vec<Vec<u8>> {
    let text = |s: &str| [vec![0x8c, s.len() as u8], s.as_bytes().to_vec()].concat();
    let mut snippets: Vec<Vec<u8>> = [
        &b"N"[..],
        b"\x94",
        b"q\x05",
        b"h\x00",
        b"h\x03",
        b"j\x01\x00\x00\x00",
        b"0",
        b"1",
        b"2",
        b"(",
        b")",
        b"}",
        b"]",
        b"t",
        b"\x85",
        b"\x86",
        b"\x87",
        b"s",
        b"u",
        b"a",
        b"e",
        b"b",
        b"R",
        b"\x81",
        b"\x93",
        b".",
        b"\x88",
        b"\x89",
        b"K\x00",
        b"K\x10",
        b"J\xff\xff\xff\xff",
        b"\x80\x02",
        b"\x80\x04",
        b"\x80\x05",
        b"\x95\x00\x00\x00\x00\x00\x00\x00\x00",
        b"\x95\x08\x00\x00\x00\x00\x00\x00\x00",
        b"\x95\x40\x00\x00\x00\x00\x00\x00\x00",
        b"p9_001\n",
        b"g9_001\n",
        b"p +3\n",
        b"g 3\n",
        b"I01\n",
        b"cposix\nsystem\n",
        b"C\x01b",
        b"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    for s in [
        "numpy",
        "dtype",
        "ndarray",
        "O8",
        "f8",
        "i8",
        "U3",
        "|",
        "<",
        ">",
        "subclass",
        "shape",
        "dtype",
        "order",
        "F",
        "C",
        "numpy_array_alignment_bytes",
        "allow_mmap",
        "posix",
        "system",
        "_sklearn_version",
        "coef_",
        "classes_",
    ] {
        snippets.push(text(s));
    }
    // A dtype state with the flags that mark it as holding objects, and a subarray.
    snippets.push(
        [b"(K\x03".to_vec(), text("<"), b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb".to_vec()]
            .concat(),
    );
    snippets.push([b"(K\x03".to_vec(), text("|"), b"N)NNK\x08K\x01K\x00tb".to_vec()].concat());
    snippets
}

fn mutate(rng: &mut Rng, seed: &[u8], others: &[Vec<u8>], snippets: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(data.len() + 1);
        match rng.below(8) {
            0 if at < data.len() => data[at] ^= 1 << rng.below(8),
            1 if at < data.len() => data[at] = rng.next() as u8,
            2 | 3 => {
                let snippet = &snippets[rng.below(snippets.len())];
                data.splice(at..at, snippet.iter().copied());
            }
            4 => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            5 => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                let copy = data[at.min(end)..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, copy);
            }
            6 => {
                let other = &others[rng.below(others.len())];
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(128)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                // A length or integer argument nudged: the byte after an opcode that takes one.
                if let Some(i) = data[at.min(data.len())..]
                    .iter()
                    .position(|b| matches!(b, 0x95 | b'K' | 0x8c | b'C' | b'J' | b'q' | b'h'))
                {
                    let i = at + i + 1;
                    if i < data.len() {
                        data[i] = data[i].wrapping_add(1 + rng.below(3) as u8).wrapping_sub(2);
                    }
                }
            }
        }
    }
    data
}

#[test]
fn mutated_pickles_are_read_as_the_loaders_read_them_or_refused() {
    let seconds: u64 = std::env::var("ONNXIFY_DIFFERENTIAL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let keep = std::env::var_os("ONNXIFY_DIFFERENTIAL_FAILURES").map(PathBuf::from);
    let cases = fixture_manifest();
    // Uncompressed benign files: a mutant of compressed data is almost always just corrupt.
    let seeds: Vec<Vec<u8>> = cases
        .iter()
        .filter(|c| c["kind"] == "benign" || c["kind"] == "control")
        .map(|c| std::fs::read(c["file"].as_str().unwrap()).unwrap())
        .filter(|bytes| bytes.first() == Some(&0x80))
        .collect();
    assert!(seeds.len() >= 10, "{} seeds", seeds.len());
    let snippets = snippets();
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let mut oracle = Oracle::start();
    let mut rng = Rng(0x6f6e_6e78_6966_7921);
    let (start, budget) = (Instant::now(), Duration::from_secs(seconds));
    let (mut runs, mut accepted, mut failures) = (0usize, 0usize, Vec::new());
    while start.elapsed() < budget {
        let seed = &seeds[rng.below(seeds.len())];
        let mutant = mutate(&mut rng, seed, &seeds, &snippets);
        let path = dir.path().join(format!("mutant-{runs}.pkl"));
        std::fs::write(&path, &mutant).unwrap();
        let answer = oracle.ask(&path);
        match check(&mutant, &answer) {
            Ok(Decision::Accepted) => accepted += 1,
            Ok(_) => {}
            Err(message) => {
                if let Some(keep) = &keep {
                    std::fs::create_dir_all(keep).unwrap();
                    std::fs::write(keep.join(format!("mutant-{runs}.pkl")), &mutant).unwrap();
                }
                failures.push(format!("mutant {runs}: {message}"));
            }
        }
        std::fs::remove_file(&path).unwrap();
        runs += 1;
    }
    eprintln!(
        "differential fuzzing: {runs} mutants in {:.0?}, {accepted} accepted, {} disagreements",
        start.elapsed(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {runs} mutants:\n{}", failures.len(), failures.join("\n"));
    assert!(runs >= 100, "only {runs} mutants ran in {seconds} s");
}
