//! Helpers shared by the integration tests: running the built binary, running scikit-learn
//! (the reference) from the venv `.ci/run` creates, and comparing numbers with a stated tolerance.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Python interpreter with scikit-learn: `$ONNXIFY_PYTHON`, else the project's `.venv`.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("ONNXIFY_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "the live cross-checks need Python with scikit-learn: run `bash .ci/run` (it creates .venv) \
         or set ONNXIFY_PYTHON"
    );
    venv
}

/// Runs `tests/python/<script>` with `args` and parses the JSON it prints.
pub fn python_json(script: &str, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
    let output = Command::new(python()).arg(&script).args(args).output().expect("python runs");
    assert!(
        output.status.success(),
        "{} {:?} failed:\n{}",
        script.display(),
        args,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

/// Runs scikit-learn's side of the suite (`tests/python/reference.py`).
pub fn reference(args: &[&str]) -> Value {
    python_json("reference.py", args)
}

/// A scratch directory for this test process, under cargo's temporary directory for tests.
///
/// A static is never dropped, so a `TempDir` here would be left behind by every run (100 MB
/// and more each): instead each run removes the scratch directories of earlier runs whose
/// process is gone.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(root) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name.strip_prefix("scratch-").and_then(|rest| rest.rsplit('-').next());
                if let Some(pid) = pid
                    && !process_runs(pid)
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let binary = std::env::current_exe().expect("the test binary's path");
        let binary = binary.file_stem().and_then(|s| s.to_str()).unwrap_or("tests");
        let dir = root.join(format!("scratch-{binary}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

/// Whether the process `pid` still runs; where that cannot be told, it is taken to run.
fn process_runs(pid: &str) -> bool {
    if cfg!(target_os = "linux") { Path::new("/proc").join(pid).exists() } else { true }
}

/// CSVs of scikit-learn's bundled datasets and a synthetic string-label set, written once.
pub fn datasets() -> &'static HashMap<String, PathBuf> {
    static PATHS: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let dir = scratch().join("datasets");
        std::fs::create_dir_all(&dir).unwrap();
        paths(&reference(&["datasets", dir.to_str().unwrap()]))
    })
}

/// A JSON object of names and file paths, as the generator scripts print what they wrote.
pub fn paths(written: &Value) -> HashMap<String, PathBuf> {
    let path =
        |(name, path): (&String, &Value)| (name.clone(), PathBuf::from(path.as_str().unwrap()));
    written.as_object().unwrap().iter().map(path).collect()
}

/// Runs the built `onnxify` binary in `dir`.
pub fn onnxify_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onnxify"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("onnxify runs")
}

/// Runs the built `onnxify` binary.
pub fn onnxify(args: &[&str]) -> Output {
    onnxify_in(scratch(), args)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A JSON array of numbers (nested arrays flattened) as `f64`s.
pub fn floats(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("expected numbers, got {other}"),
    }
}

/// Train on every row to a gradient inf-norm of 1e-10: the converged fit the cross-checks use.
pub const EVERY_ROW_CONVERGED: [&str; 6] =
    ["--test-size", "0", "--tol", "1e-10", "--max-iter", "10000"];

/// A JSON array of strings.
pub fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// A JSON array of labels as text: strings as they are, numbers as written.
pub fn labels(value: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    value.as_array().unwrap().iter().map(text).collect()
}

/// Asserts `actual` and `expected` agree element-wise within `tol` relative to the larger
/// magnitude, or `tol` absolute where both are below 1. Reports the worst element side by side.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let mut worst = (0.0, 0);
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let err = (a - e).abs() / a.abs().max(e.abs()).max(1.0);
        if err.is_nan() || err > worst.0 {
            worst = (err, i);
        }
    }
    let (err, i) = worst;
    if actual.is_empty() {
        return;
    }
    assert!(
        err <= tol,
        "{what}: element {i} differs by {err:.3e} (tolerance {tol:e})\n  onnxify:      {}\n  scikit-learn: {}",
        actual[i],
        expected[i]
    );
}

/// Writes `contents` to a file named `name` in a fresh directory and returns its path.
pub fn write_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = tempfile::tempdir_in(scratch()).unwrap().keep();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs `onnxify train` on a CSV of `contents` with `flags` in a fresh directory; returns
/// (exit code, stdout, stderr), and checks that it did not panic and that a failed run wrote
/// nothing.
pub fn train_csv(contents: &str, flags: &[&str]) -> (i32, String, String) {
    let path = write_file("data.csv", contents.as_bytes());
    let dir = path.parent().unwrap();
    let mut args = vec!["train", "data.csv"];
    args.extend_from_slice(flags);
    let output = onnxify_in(dir, &args);
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    let code = output.status.code().unwrap();
    if code != 0 {
        let files = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(files, 1, "a failed run wrote files: {err}");
    }
    (code, stdout(&output), err)
}

/// Each command must finish within this, whatever the file.
pub const TIME_LIMIT: Duration = Duration::from_secs(30);
/// Address-space limit for each run: a decompression or allocation bomb would hit it and fail.
pub const MEMORY_LIMIT_BYTES: &str = "4000000000";

/// Runs onnxify under the memory limit, killed after the time limit.
pub fn run_limited(args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = Command::new("prlimit")
        .arg(format!("--as={MEMORY_LIMIT_BYTES}"))
        .arg(env!("CARGO_BIN_EXE_onnxify"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit and onnxify run");
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            panic!("onnxify {args:?} ran longer than {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), start.elapsed())
}
