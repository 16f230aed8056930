//! The hostile ONNX corpus (written by tests/python/hostile_onnx.py): every command that reads
//! a model refuses every hostile file with one clear line and a non-zero exit, within bounded
//! time and memory, never panicking and never reading another file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use common::{python_json, run_limited, stderr, stdout};

struct Case {
    file: PathBuf,
    name: String,
    valid: bool,
}

fn corpus() -> &'static (PathBuf, Vec<Case>) {
    static CORPUS: OnceLock<(PathBuf, Vec<Case>)> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = common::scratch().join("hostile_onnx");
        let manifest = python_json("hostile_onnx.py", &[dir.to_str().unwrap()]);
        let cases = manifest
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Case {
                file: PathBuf::from(c["file"].as_str().unwrap()),
                name: c["case"].as_str().unwrap().to_owned(),
                valid: c["valid"].as_bool().unwrap(),
            })
            .collect();
        let data = dir.join("data.csv");
        std::fs::write(&data, "f0,f1,f2,f3\n1,2,3,4\n0.5,0.1,0.2,0.3\n").unwrap();
        (data, cases)
    })
}

/// The one-line error of a refused file: `onnxify: error: FILE: ...`, no panic, nothing else.
fn assert_clean_refusal(command: &str, case: &Case, output: &Output) {
    let err = stderr(output);
    assert!(!err.contains("panicked"), "{command} {}: panicked:\n{err}", case.name);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{command} {}: expected one line on stderr, got:\n{err}", case.name);
    assert!(lines[0].starts_with("onnxify: error: "), "{command} {}: {err}", case.name);
    assert!(
        lines[0].contains(case.file.file_name().unwrap().to_str().unwrap()),
        "{command} {}: names the file: {err}",
        case.name
    );
    assert!(
        !stdout(output).contains("TOP-SECRET") && !err.contains("TOP-SECRET"),
        "{command} {}: read another file",
        case.name
    );
}

#[test]
fn predict_refuses_every_hostile_model_with_one_clear_line() {
    let (data, cases) = corpus();
    assert!(cases.len() >= 50, "the corpus has {} cases", cases.len());
    for case in cases {
        let (output, _) =
            run_limited(&["predict", case.file.to_str().unwrap(), data.to_str().unwrap()]);
        if case.valid {
            assert!(output.status.success(), "{}: {}", case.name, stderr(&output));
            assert_eq!(stdout(&output).lines().count(), 3, "{}: header and two rows", case.name);
        } else {
            assert_eq!(
                output.status.code(),
                Some(2),
                "{}: exit code; stderr: {}",
                case.name,
                stderr(&output)
            );
            assert_clean_refusal("predict", case, &output);
        }
    }
}

#[test]
fn inspect_describes_what_it_can_and_refuses_every_hostile_model() {
    let (_, cases) = corpus();
    for case in cases {
        let (output, _) = run_limited(&["inspect", case.file.to_str().unwrap()]);
        if case.valid {
            assert!(output.status.success(), "{}: {}", case.name, stderr(&output));
            assert!(stdout(&output).contains("Check:     passed"), "{}", case.name);
        } else {
            assert_eq!(
                output.status.code(),
                Some(2),
                "{}: exit code; stderr: {}",
                case.name,
                stderr(&output)
            );
            assert_clean_refusal("inspect", case, &output);
        }
    }
}

#[test]
fn verify_fails_every_hostile_model_line_by_line() {
    let (_, cases) = corpus();
    for case in cases {
        let (output, _) = run_limited(&["verify", case.file.to_str().unwrap()]);
        // Even the valid control has no companion JSON, so verify fails it too.
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: exit code; stderr: {}",
            case.name,
            stderr(&output)
        );
        assert!(stdout(&output).contains("[FAIL]"), "{}: {}", case.name, stdout(&output));
        if !case.valid {
            assert_clean_refusal("verify", case, &output);
        }
    }
}

#[test]
fn external_data_is_refused_before_any_file_is_opened() {
    let (_, cases) = corpus();
    let external: Vec<&Case> = cases.iter().filter(|c| c.name.contains("external")).collect();
    assert_eq!(external.len(), 7, "relative, absolute, .., missing, /dev/zero, symlink, hard link");
    for case in external {
        let (output, _) = run_limited(&["inspect", case.file.to_str().unwrap()]);
        assert!(stderr(&output).contains("external data"), "{}: {}", case.name, stderr(&output));
    }
}

#[test]
fn a_model_larger_than_the_limit_is_refused_unread() {
    let path = common::write_file("big.onnx", &[]);
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(65 << 20).unwrap();
    let (output, elapsed) = run_limited(&["inspect", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("more than the limit of 67108864"), "{}", stderr(&output));
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let dir: &Path = path.parent().unwrap();
    let (output, _) = run_limited(&["inspect", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not a regular file"), "{}", stderr(&output));
}
