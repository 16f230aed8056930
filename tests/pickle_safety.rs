//! The pickle reader's safety, live: every malicious, hostile or unconvertible fixture ends with
//! its exact exit code and reason, and the differential test holds: onnxify's reading of a file
//! must be the loader's reading, or the file is refused.
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

use onnxify::pickle::allow::{ALLOWED, IMPORT_MAPPING, NAME_MAPPING, Verdict};
use onnxify::pickle::{Decision, LoadedArray, loads, scan_bytes};

/// The real loaders, restricted to the allow-list.
struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    fn start() -> Oracle {
        let allowed: Vec<[&str; 2]> = oracle_allowed().iter().map(|&(m, n)| [m, n]).collect();
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

/// The names the oracle's `find_class` resolves, as it receives them: the allow-list, and the
/// Python 2 spellings a loader renames to an allowed name below protocol 3 (Python 3 writes
/// `slice` as `__builtin__.slice` there). At protocol 3 and above such a spelling is not
/// renamed, and importing it fails.
fn oracle_allowed() -> &'static [(&'static str, &'static str)] {
    static PAIRS: OnceLock<Vec<(&str, &str)>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        let mut pairs = ALLOWED.to_vec();
        for &(old, new) in IMPORT_MAPPING {
            pairs.extend(ALLOWED.iter().filter(|&&(m, _)| m == new).map(|&(_, n)| (old, n)));
        }
        for &(old, new) in NAME_MAPPING {
            if ALLOWED.contains(&new) {
                pairs.push(old);
            }
        }
        pairs
    })
}

fn allowed(module: &str, name: &str) -> bool {
    oracle_allowed().contains(&(module, name))
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
            // Benign files and controls (made to look like attacks, but read alike by every
            // loader) must be accepted: a refusal there is a reader that sees what no loader does.
            Ok(decision)
                if matches!(case["kind"].as_str(), Some("benign" | "control"))
                    && !onnxify::pickle::archive::is_zip(&bytes) =>
            {
                failures.push(format!("{}: a {} file, {decision:?}", path.display(), case["kind"]))
            }
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
    // The benign fixtures are accepted, or the comparison above compared nothing.
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

/// Every malicious, hostile and unconvertible fixture: the exit code of `scan` and `convert`, and
/// the reason their last line gives (after the file's name, before "nothing in the file was
/// loaded or executed").
const REFUSALS: &[(&str, i32, &str)] = &[
    ("os_system_global.pkl", 3, "refused: it references dangerous callables (os.system)"),
    (
        "posix_system_stack_global.pkl",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "getattr_import_chain.pkl",
        3,
        "refused: it references dangerous callables (builtins.__import__, builtins.getattr)",
    ),
    ("trojan_pipeline.joblib", 3, "refused: it references dangerous callables (posix.system)"),
    (
        "payload_in_object_array.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "trailing_bytes_after_stop.pkl",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    ("deep_stack_then_system.pkl", 3, "refused: it references dangerous callables (os.system)"),
    ("many_marks_then_system.pkl", 3, "refused: it references dangerous callables (os.system)"),
    ("long_line_then_system.pkl", 3, "refused: it references dangerous callables (os.system)"),
    (
        "zlib_trailing_raw_payload.joblib",
        3,
        "refused: it references dangerous callables (os.system)",
    ),
    ("zlib_two_streams.joblib", 3, "refused: it references dangerous callables (os.system)"),
    (
        "gzip_trailing_raw_payload.joblib",
        3,
        "refused: it references dangerous callables (os.system)",
    ),
    ("xz_two_streams.joblib", 3, "refused: it references dangerous callables (os.system)"),
    (
        "zlib_truncated_after_payload.joblib",
        3,
        "refused: it references dangerous callables (os.system)",
    ),
    (
        "sklearn_dotted_os_system.pkl",
        3,
        "refused: it references dangerous callables (sklearn.datasets._base.os.system)",
    ),
    ("pydoc_pipepager.pkl", 3, "refused: it references dangerous callables (pydoc.pipepager)"),
    (
        "operator_attrgetter.pkl",
        3,
        "refused: it references dangerous callables (_operator.attrgetter, importlib.import_module)",
    ),
    (
        "pandas_read_pickle.pkl",
        3,
        "refused: it references dangerous callables (pandas.read_pickle)",
    ),
    ("joblib_load.pkl", 3, "refused: it references dangerous callables (joblib.load)"),
    ("numpy_load_allow_pickle.pkl", 3, "refused: it references dangerous callables (numpy.load)"),
    (
        "thread_start_new_thread.pkl",
        3,
        "refused: it references dangerous callables (os.system, thread.start_new_thread)",
    ),
    (
        "random_forest.joblib",
        3,
        "refused: it references dangerous callables (sklearn.tree._tree.Tree); it holds scikit-learn classes not supported yet (sklearn.ensemble._forest.RandomForestClassifier, sklearn.tree._classes.DecisionTreeClassifier)",
    ),
    (
        "minmax_clip.joblib",
        3,
        "refused: the MinMaxScaler clips its output (clip=True), which the ONNX Scaler cannot; onnxify converts MinMaxScaler(clip=False)",
    ),
    (
        "minmax_min_shorter_than_scale.joblib",
        2,
        "not a readable pickle: MinMaxScaler.min_ holds 2 values but scale_ holds 4",
    ),
    (
        "maxabs_zero_scale.joblib",
        2,
        "not a readable pickle: MaxAbsScaler.scale_ holds 0 at position 1; a scale must be positive",
    ),
    (
        "pipeline_nested_too_deep.joblib",
        3,
        "refused: the Pipeline nests Pipelines more than 8 deep",
    ),
    (
        "pipeline_containing_itself.joblib",
        3,
        "refused: the Pipeline nests Pipelines more than 8 deep",
    ),
    (
        "scaler_chain_widths_disagree.joblib",
        2,
        "not a readable pickle: the Pipeline's MinMaxScaler scales 3 features but the scaler before it 4",
    ),
    (
        "sgd_hinge.joblib",
        3,
        "refused: it references dangerous callables (sklearn.linear_model._sgd_fast.Hinge)",
    ),
    (
        "iris_fractional_labels.joblib",
        3,
        "refused: classes_ holds the label 0.5; onnxify converts float labels that are whole numbers, as ONNX's int64 labels",
    ),
    (
        "one_vs_rest_estimators_missing.joblib",
        2,
        "not a readable pickle: the OneVsRestClassifier has 2 estimators for 3 classes; scikit-learn fits 3",
    ),
    (
        "one_vs_rest_linear_svc.joblib",
        3,
        "refused: it holds scikit-learn classes not supported yet (sklearn.svm._classes.LinearSVC)",
    ),
    (
        "grid_search_no_refit.joblib",
        3,
        "refused: the GridSearchCV holds no best_estimator_ (it was run with refit=False, or is not fitted); onnxify converts the model a search refitted on all rows",
    ),
    (
        "grid_search_best_index_lies.joblib",
        2,
        "not a readable pickle: the GridSearchCV's best_index_ is 7 of 2 candidates",
    ),
    (
        "table_remainder_twice.pkl",
        3,
        "refused: byte 3094: an object's state gives the attribute \"remainder\" twice; Python keeps the last",
    ),
    (
        "table_function_transformer.joblib",
        3,
        "refused: it references dangerous callables (numpy.log1p)",
    ),
    (
        "table_category_count_lies.joblib",
        2,
        "not a readable pickle: the OneHotEncoder \"cat\"'s _n_features_outs disagree with its categories, infrequent groups and dropped categories ([2, 3])",
    ),
    (
        "table_output_indices_lie.joblib",
        2,
        "not a readable pickle: the ColumnTransformer's output_indices_ puts \"num\" at columns 0..4, but its steps make 5 columns from column 0",
    ),
    (
        "table_input_indices_lie.joblib",
        2,
        "not a readable pickle: the ColumnTransformer's transformer \"cat\" takes columns [0, 5] but its _transformer_to_input_indices says [0, 1]",
    ),
    (
        "table_coef_narrower.joblib",
        2,
        "not a readable pickle: n_features_in_ is 11 but coef_ has 10 columns",
    ),
    (
        "table_text_indicator_texts.joblib",
        2,
        "not a readable pickle: the encoder \"cat__encode\" encodes a missing indicator, but its categories are not booleans",
    ),
    (
        "table_integer_category_twice.joblib",
        2,
        "not a readable pickle: the encoder \"year\" lists a category twice",
    ),
    (
        "table_float_categories.joblib",
        3,
        "refused: the encoder \"length\" has categories of dtype f8; onnxify encodes text and integer columns",
    ),
    (
        "robust_without_center.joblib",
        2,
        "not a readable pickle: the RobustScaler centres (with_centering=True) but has no center_",
    ),
    (
        "scaler_shorter_than_coef.joblib",
        2,
        "not a readable pickle: the StandardScaler scales 3 features (mean_) but coef_ has 4 columns",
    ),
    (
        "array_claiming_2pow40_elements.joblib",
        2,
        "not a readable pickle: byte 208: the joblib array at byte 201 declares shape (1099511627776,) of dtype f8 (1099511627776 elements of 8 bytes), but only 33 bytes remain in the file",
    ),
    (
        "truncated_inside_array.joblib",
        2,
        "not a readable pickle: byte 480: the joblib array at byte 471 declares shape (4,) of dtype f8 (4 elements of 8 bytes), but only 20 bytes remain in the file",
    ),
    (
        "memo_expansion.pkl",
        3,
        "refused: the file holds a list, not a fitted Pipeline or LogisticRegression",
    ),
    (
        "nesting_100000_deep.pkl",
        2,
        "not a readable pickle: byte 1002: more than 1000 MARKs are open (nesting too deep); read on to list what follows",
    ),
    (
        "nested_lists_100000_deep.pkl",
        2,
        "not a readable pickle: byte 50002: the stack holds more than 50000 items (nesting too deep); read on to list what follows",
    ),
    (
        "decompression_bomb.joblib",
        2,
        "not a readable pickle: the zlib stream expands beyond 256 MiB, the limit for a model (a decompression bomb?)",
    ),
    (
        "xz_decompression_bomb.joblib",
        2,
        "not a readable pickle: the xz stream expands beyond 256 MiB, the limit for a model (a decompression bomb?)",
    ),
    (
        "lzma_decompression_bomb.joblib",
        2,
        "not a readable pickle: the lzma stream expands beyond 256 MiB, the limit for a model (a decompression bomb?)",
    ),
    (
        "shared_attribute_dict.pkl",
        3,
        "refused: byte 30926: opcode POP is not one that scikit-learn or joblib dumps use",
    ),
    (
        "shared_build_target.pkl",
        3,
        "refused: byte 80009: BUILD sets the state of a value of type list, which would call its code",
    ),
    ("empty.pkl", 2, "not a readable pickle: the file is empty"),
    (
        "not_a_pickle.pkl",
        2,
        "not a readable pickle: byte 0: memo entry 101 is read before it is written",
    ),
    ("dtype_flags_object.joblib", 3, "refused: it references dangerous callables (posix.system)"),
    ("dtype_flags_one.joblib", 3, "refused: it references dangerous callables (posix.system)"),
    (
        "dtype_flags_subarray.joblib",
        3,
        "refused: byte 812: dtype f8's state (3, \"<\", a subarray, names or fields, -1, -1, 0) is not the one numpy writes for it (3, \"<\" or \">\", None, None, None, -1, -1, 0); other flags or a subarray make numpy read the array as something else",
    ),
    ("duplicate_dtype_key.joblib", 3, "refused: it references dangerous callables (posix.system)"),
    ("duplicate_shape_key.joblib", 3, "refused: it references dangerous callables (posix.system)"),
    (
        "alignment_none_payload.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "frame_payload_after_build.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "frame_filler_after_build.joblib",
        3,
        "refused: byte 562: a joblib NumpyArrayWrapper that joblib does not write: its FRAME still holds 16 bytes: joblib reads the array from the file past the frame, then runs those bytes as opcodes",
    ),
    (
        "padding_zeros.joblib",
        3,
        "refused: byte 562: a joblib array's 12 bytes of padding are not the 0xFF bytes joblib writes",
    ),
    (
        "padding_longer.joblib",
        3,
        "refused: byte 562: a joblib array's padding is 28 bytes where joblib writes 12 bytes of 0xFF",
    ),
    (
        "shape_list.joblib",
        3,
        "refused: byte 563: a joblib NumpyArrayWrapper's shape is not a tuple of integers",
    ),
    (
        "nested_frame_leftover.joblib",
        3,
        "refused: byte 1327: 16 bytes follow an object array's nested stream inside its last FRAME: joblib drops them, pickle.load runs them",
    ),
    ("dtype_without_state.joblib", 3, "refused: byte 583: dtype f8 lacks the state numpy writes"),
    (
        "huge_frame.pkl",
        2,
        "not a readable pickle: byte 2: a FRAME declares 576460752303423488 bytes where 1300 remain: a loader allocates the frame before reading it, and may run out of memory (the loader stops there)",
    ),
    (
        "memo_key_huge.pkl",
        2,
        "not a readable pickle: byte 3: a memo key of 4294967280: pickle.load makes room for twice as many entries, which may not fit in memory, and no pickler numbers its memo so (the loader may stop there)",
    ),
    ("memo_key_huge_then_call.pkl", 3, "refused: it references dangerous callables (posix.system)"),
    (
        "unhashable_dict_key.pkl",
        2,
        "not a readable pickle: byte 51: a dict key is a list, which Python cannot hash: the loader raises TypeError here",
    ),
    (
        "nested_wrapper_payload.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "nested_wrapper_memo_payload.joblib",
        3,
        "refused: it references dangerous callables (_reconstruct.dtype, posix.system)",
    ),
    (
        "plain_pickle_alignment_none.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "plain_pickle_alignment_absent.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "forged_name_newline.joblib",
        3,
        "refused: it references dangerous callables (posix.system\\nResult: accepted: every global and opcode is on... (97 bytes))",
    ),
    (
        "forged_name_ansi_erase.joblib",
        3,
        "refused: it references dangerous callables (posix.system\\x1b[1A\\x1b[2K\\x1b[1A\\x1b[2KResult: accepted: every global a... (112 bytes))",
    ),
    (
        "forged_name_nul.joblib",
        3,
        "refused: it references dangerous callables (sklearn.pipeline.Pipeline\\x00posix.system)",
    ),
    (
        "forged_name_carriage_return.joblib",
        3,
        "refused: it references dangerous callables (posix.system\\rsklearn.pipeline.Pipeline)",
    ),
    (
        "forged_name_bidi_override.joblib",
        3,
        "refused: it references dangerous callables (posix.system\\u{202e}enilepiP.enilepip.nraelks)",
    ),
    (
        "forged_name_lone_surrogate.joblib",
        3,
        "refused: it references dangerous callables (posix.system\\u{fffd})",
    ),
    (
        "predict_proba_ndarray.joblib",
        3,
        "refused: byte 1543: numpy.ndarray is put in a dict, where a loader hands it to whatever reads that value; scikit-learn and numpy pickles use it only as a joblib wrapper's subclass or as _reconstruct's first argument",
    ),
    (
        "predict_proba_codecs_encode.joblib",
        3,
        "refused: byte 1562: _codecs.encode is put in a dict, where a loader hands it to whatever reads that value; scikit-learn and numpy pickles use it only as the callable of a REDUCE, with the arguments numpy writes",
    ),
    (
        "predict_proba_reconstruct.joblib",
        3,
        "refused: byte 1560: numpy._core.multiarray._reconstruct is put in a dict, where a loader hands it to whatever reads that value; scikit-learn and numpy pickles use it only as the callable of a REDUCE, with the arguments numpy writes",
    ),
    (
        "predict_proba_ndarray_p4.pkl",
        3,
        "refused: byte 1285: numpy.ndarray is put in a dict, where a loader hands it to whatever reads that value; scikit-learn and numpy pickles use it only as a joblib wrapper's subclass or as _reconstruct's first argument",
    ),
    ("memo_key_underscore.pkl", 3, "refused: it references dangerous callables (posix.system)"),
    (
        "memo_key_underscore_mixed.pkl",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    ("memo_key_plus_space.pkl", 3, "refused: it references dangerous callables (posix.system)"),
    ("memo_key_leading_zeros.pkl", 3, "refused: it references dangerous callables (posix.system)"),
    ("memo_key_overwrite.pkl", 3, "refused: it references dangerous callables (posix.system)"),
    (
        "member_zlib_then_gzip.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "member_gzip_then_zlib.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    ("member_xz_then_bz2.joblib", 3, "refused: it references dangerous callables (posix.system)"),
    (
        "member_zlib_then_clean_zlib.joblib",
        3,
        "refused: the file holds 2 zlib members one after another; joblib's reader never gets past the first (it stops responding), and no dump writes more than one",
    ),
    (
        "member_xz_split_then_xz.joblib",
        3,
        "refused: it references dangerous callables (posix.system)",
    ),
    (
        "gadget_uuid__get_command_stdout.pkl",
        3,
        "refused: it references dangerous callables (uuid._get_command_stdout)",
    ),
    (
        "gadget_osx_support__read_output.pkl",
        3,
        "refused: it references dangerous callables (_osx_support._read_output)",
    ),
    (
        "gadget_aix_support__read_cmd_output.pkl",
        3,
        "refused: it references dangerous callables (_aix_support._read_cmd_output)",
    ),
    (
        "gadget_xxsubinterpreters_run_string.pkl",
        3,
        "refused: it references dangerous callables (_xxsubinterpreters.run_string)",
    ),
    (
        "gadget_imp_create_dynamic.pkl",
        3,
        "refused: it references dangerous callables (imp.create_dynamic)",
    ),
    (
        "gadget_unittest_mock_patch.pkl",
        3,
        "refused: it references dangerous callables (unittest.mock.patch)",
    ),
    (
        "gadget_sqlite3_connect.pkl",
        3,
        "refused: it references dangerous callables (sqlite3.connect)",
    ),
    (
        "gadget_numpy_ndarray_dump.pkl",
        3,
        "refused: it references dangerous callables (numpy.ndarray.dump)",
    ),
    (
        "gadget_sklearn_datasets_fetch_openml.pkl",
        3,
        "refused: it references dangerous callables (sklearn.datasets.fetch_openml)",
    ),
    ("gadget_time_sleep.pkl", 3, "refused: it references dangerous callables (time.sleep)"),
    (
        "gadget_py2_builtin___eval.pkl",
        3,
        "refused: it references dangerous callables (__builtin__.eval)",
    ),
    (
        "gadget_py2_commands_getoutput.pkl",
        3,
        "refused: it references dangerous callables (commands.getoutput)",
    ),
    (
        "gadget_py2_copy_reg__reconstructor.pkl",
        3,
        "refused: it references dangerous callables (copy_reg._reconstructor)",
    ),
    (
        "unknown_module.joblib",
        3,
        "refused: it references dangerous callables (onnxify_attack_module.run)",
    ),
    (
        "codecs_utf8_same_text_p2.pkl",
        3,
        "refused: byte {at}: _codecs.encode is called with arguments other than (str, 'latin1')",
    ),
    (
        "codecs_utf8_other_values_p2.pkl",
        3,
        "refused: byte {at}: _codecs.encode is called with arguments other than (str, 'latin1')",
    ),
    (
        "archive_payload.pt",
        3,
        "refused: member archive/data.pkl: it references dangerous callables (posix.system)",
    ),
    (
        "archive_deflated_payload.pkl",
        3,
        "refused: member archive/data.pkl: it references dangerous callables (posix.system)",
    ),
];

/// What `convert` says of a zip archive.
const ZIP: &str = "the file is a zip archive (PyTorch's or skops' layout?), not a pickle; convert \
                   reads one pickle or joblib file, and `onnxify scan` lists what an archive's \
                   pickles reference";

#[test]
fn every_refused_fixture_ends_with_its_exact_exit_code_and_reason() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let mut seen = Vec::new();
    for case in fixture_manifest() {
        if matches!(
            case["kind"].as_str(),
            Some("benign" | "needs_float64" | "one_vs_rest" | "control")
        ) {
            continue;
        }
        let file = case["file"].as_str().unwrap();
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        let &(_, code, reason) = REFUSALS
            .iter()
            .find(|(fixture, ..)| *fixture == name)
            .unwrap_or_else(|| panic!("{name}: no expected exit code and reason"));
        // A byte offset that depends on the fitted values before it comes from the generator.
        let reason = match case["at"].as_u64() {
            Some(at) => reason.replace("{at}", &at.to_string()),
            None => reason.to_owned(),
        };
        seen.push(name.to_owned());
        let model = out.path().join("model.onnx");
        let archive = onnxify::pickle::archive::is_zip(&std::fs::read(file).unwrap());
        let what = if archive { "archive" } else { "file" };
        let convert = ["convert", file, "-o", model.to_str().unwrap()];
        for args in [&["scan", file][..], &convert[..]] {
            let (output, _) = common::run_limited(args);
            let err = common::stderr(&output);
            let (code, expected) = if archive && args[0] == "convert" {
                // convert reads single pickles only.
                (
                    2,
                    format!(
                        "onnxify: error: {file}: not a readable pickle: {ZIP}; nothing in the file was loaded or executed"
                    ),
                )
            } else {
                (
                    code,
                    format!(
                        "onnxify: error: {file}: {reason}; nothing in the {what} was loaded or executed"
                    ),
                )
            };
            assert_eq!(output.status.code(), Some(code), "{} {name}: {err}", args[0]);
            assert_eq!(err.lines().last(), Some(expected.as_str()), "{} {name}", args[0]);
            assert!(!model.exists(), "{} {name} wrote a model", args[0]);
        }
    }
    let missing: Vec<&str> =
        REFUSALS.iter().map(|r| r.0).filter(|f| !seen.iter().any(|s| s == f)).collect();
    assert!(missing.is_empty(), "expected fixtures that were not written: {missing:?}");
}
