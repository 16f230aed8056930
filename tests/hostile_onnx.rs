//! The hostile ONNX corpus (written by tests/python/hostile_onnx.py): every command that reads
//! a model refuses every hostile file with one clear line and a non-zero exit, within bounded
//! time and memory, never panicking and never reading another file. Some families are checked
//! for the rule that refuses them, too: nodes missing an input or output, decoding bombs, and
//! room for data beyond the limits. The valid controls are checked against references: predict
//! gives onnxruntime's labels and probabilities, inspect reports the numbers the generator wrote.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use common::{assert_close, floats, labels, python_json, run_limited, stderr, stdout};
use serde_json::{Value, json};

struct Case {
    file: PathBuf,
    name: String,
    valid: bool,
    /// For a valid control, the numbers it was written with, as scikit-learn names them.
    parameters: Value,
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
                parameters: c["parameters"].clone(),
            })
            .collect();
        let data = dir.join("data.csv");
        std::fs::write(&data, "f0,f1,f2,f3\n1,2,3,4\n0.5,0.1,0.2,0.3\n").unwrap();
        (data, cases)
    })
}

/// The one-line error of a refused file: `onnxify: error: FILE: ...`, no panic, nothing else,
/// and exit code `code`.
fn assert_clean_refusal(command: &str, case: &Case, output: &Output, code: i32) {
    let err = stderr(output);
    assert!(!err.contains("panicked"), "{command} {}: panicked:\n{err}", case.name);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{command} {}: exit code; stderr: {err}",
        case.name
    );
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

fn case(name: &str) -> &'static Case {
    let (_, cases) = corpus();
    cases.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case {name}"))
}

/// Runs `command` (predict on the corpus's data, or inspect or verify) on `file`.
fn run_on(command: &str, file: &Path) -> Output {
    let (data, _) = corpus();
    let mut args = vec![command, file.to_str().unwrap()];
    if command == "predict" {
        args.push(data.to_str().unwrap());
    }
    run_limited(&args).0
}

#[test]
fn predict_refuses_every_hostile_model_with_one_clear_line() {
    let (data, cases) = corpus();
    assert!(cases.len() >= 50, "the corpus has {} cases", cases.len());
    let mut controls = Vec::new();
    for case in cases {
        let (output, _) =
            run_limited(&["predict", case.file.to_str().unwrap(), data.to_str().unwrap()]);
        if case.valid {
            assert!(output.status.success(), "{}: {}", case.name, stderr(&output));
            controls.push((case, stdout(&output)));
        } else {
            assert_clean_refusal("predict", case, &output, 2);
        }
    }
    assert_predictions_are_onnxruntimes(&controls);
}

/// Each valid control's predictions are those onnxruntime gives for the same file and rows,
/// under a header naming the classes the generator wrote: a row per data row, the same labels (the standard-operator control has a tie between its last
/// two classes on the first row, which both give to the first), and probabilities within 1e-6
/// (both compute in float32; they differ only in the order of operations, a few units in the
/// last place of a number at most 1).
fn assert_predictions_are_onnxruntimes(controls: &[(&Case, String)]) {
    let (data, _) = corpus();
    assert_eq!(controls.len(), 6, "valid controls");
    let jobs: Vec<Value> =
        controls.iter().map(|(c, _)| json!({"model": c.file, "csv": data})).collect();
    let list = common::write_file("controls.json", Value::from(jobs).to_string().as_bytes());
    let expected = python_json("onnx_runtime.py", &["batch", list.to_str().unwrap()]);
    for ((case, written), expected) in controls.iter().zip(expected.as_array().unwrap()) {
        let mut reader = csv::Reader::from_reader(written.as_bytes());
        let classes = labels(&case.parameters["classes"]);
        let header: Vec<String> = ["label".to_owned()]
            .into_iter()
            .chain(classes.iter().map(|c| format!("p_{c}")))
            .collect();
        assert_eq!(reader.headers().unwrap(), header, "{}: header", case.name);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let got_labels: Vec<String> = rows.iter().map(|r| r[0].to_owned()).collect();
        assert_eq!(got_labels, labels(&expected["labels"]), "{}: labels", case.name);
        let got_proba: Vec<f64> =
            rows.iter().flat_map(|r| r.iter().skip(1).map(|v| v.parse().unwrap())).collect();
        assert_close(
            &format!("{}: probabilities (onnxify against onnxruntime)", case.name),
            &got_proba,
            &floats(&expected["proba"]),
            1e-6,
        );
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
            assert_clean_refusal("inspect", case, &output, 2);
        }
    }
}

/// `inspect --json` reports each valid control's classes, scaler (mean_ and scale_, or none),
/// coefficients (classes x features) and intercepts as the generator wrote them. Exactly: each
/// is a float32 number, or the reciprocal of a power of two, written out in float64.
#[test]
fn inspect_reports_the_numbers_each_valid_control_was_written_with() {
    let (_, cases) = corpus();
    let controls: Vec<&Case> = cases.iter().filter(|c| c.valid).collect();
    assert_eq!(controls.len(), 6, "valid controls");
    for case in controls {
        let (output, _) = run_limited(&["inspect", "--json", case.file.to_str().unwrap()]);
        assert!(output.status.success(), "{}: {}", case.name, stderr(&output));
        let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
        let (got, want) = (&report["parameters"], &case.parameters);
        let name = &case.name;
        assert_eq!(labels(&got["classes"]), labels(&want["classes"]), "{name}: classes");
        for field in ["mean", "scale"] {
            if want[field].is_null() {
                assert!(got[field].is_null(), "{name}: {field}: {}", got[field]);
            } else {
                let what = format!("{name}: {field}");
                assert_close(&what, &floats(&got[field]), &floats(&want[field]), 0.0);
            }
        }
        let what = format!("{name}: coefficients");
        assert_close(&what, &floats(&got["coefficients"]), &floats(&want["coef"]), 0.0);
        let what = format!("{name}: intercepts");
        assert_close(&what, &floats(&got["intercepts"]), &floats(&want["intercept"]), 0.0);
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
            assert_clean_refusal("verify", case, &output, 1);
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

/// The refusal of each case that has a node with an input or output missing or extra: the
/// check names the node and what its operator takes, where the walk used to index blindly
/// (the Sub, Div and MatMul cases panicked with "index out of bounds").
#[test]
fn a_node_missing_an_input_or_output_is_refused_by_name() {
    let expected = [
        (
            "80_sub_one_input",
            r#"node 1 ("sub", Sub) has 1 input and 1 output; Sub takes 2 inputs and gives 1 output"#,
        ),
        ("81_sub_no_output", r#"node 2 ("div", Div) reads "centred" before anything defines it"#),
        ("82_div_one_input", r#"node 2 ("div", Div) has 1 input and 1 output; Div takes 2 inputs"#),
        ("83_div_no_output", r#"reads "scaled" before anything defines it"#),
        ("84_mul_one_input", r#"node 2 ("mul", Mul) has 1 input and 1 output; Mul takes 2 inputs"#),
        ("85_scaler_no_input", "nothing reads the input"),
        ("86_scaler_no_output", r#""input" is read by several nodes"#),
        (
            "87_scaler_two_outputs",
            r#"node 1 ("scaler", Scaler) has 1 input and 2 outputs; Scaler takes 1 input and gives 1 output"#,
        ),
        ("88_linear_classifier_no_input", "nothing reads the scaled input"),
        ("89_linear_classifier_one_output", r#"nothing produces the output "probabilities""#),
        (
            "90_linear_classifier_three_outputs",
            "has 1 input and 3 outputs; LinearClassifier takes 1 input and gives 2 outputs",
        ),
        (
            "91_matmul_one_input",
            r#"node 1 ("matmul", MatMul) has 1 input and 1 output; MatMul takes 2 inputs"#,
        ),
        ("92_matmul_no_output", r#"reads "mm" before anything defines it"#),
        ("93_add_one_input", r#"node 2 ("add", Add) has 1 input and 1 output; Add takes 2 inputs"#),
        ("94_add_no_output", r#"reads "scores" before anything defines it"#),
        (
            "95_softmax_two_inputs",
            r#"node 3 ("softmax", Softmax) has 2 inputs and 1 output; Softmax takes 1 input"#,
        ),
        ("96_argmax_no_output", r#"reads "index" before anything defines it"#),
        (
            "97_gather_one_input",
            r#"node 5 ("gather", Gather) has 1 input and 1 output; Gather takes 2 inputs"#,
        ),
        ("98_gather_no_output", r#"nothing produces the output "label""#),
        (
            "99_category_mapper_no_input",
            r#"node 3 ("", CategoryMapper) is not part of a graph onnxify recognises"#,
        ),
        (
            "100_normalizer_before_scaler",
            r#"node 1 ("normalizer", Normalizer) reads the input where a Scaler, Sub, LinearClassifier or MatMul was expected"#,
        ),
    ];
    for (name, message) in expected {
        let case = case(name);
        for command in ["predict", "inspect"] {
            let output = run_on(command, &case.file);
            assert_eq!(output.status.code(), Some(2), "{command} {name}: {}", stderr(&output));
            assert!(
                stderr(&output).contains(message),
                "{command} {name}:\n  expected: {message}\n  actual:   {}",
                stderr(&output)
            );
        }
    }
}

/// Runs onnxify under an address-space limit of `bytes`.
fn run_with_memory(bytes: u64, args: &[&str]) -> (Output, Duration) {
    let start = std::time::Instant::now();
    let output = Command::new("prlimit")
        .arg(format!("--as={bytes}"))
        .arg(env!("CARGO_BIN_EXE_onnxify"))
        .args(args)
        .output()
        .expect("prlimit and onnxify run");
    (output, start.elapsed())
}

/// Files of two-byte empty entries that prost would decode into gigabytes (16 MB of empty
/// nodes took 3.5 GB and 17 s) are refused by the wire walk before decoding, in a fraction of
/// the time and memory; so is nesting deeper than onnxify's models use.
#[test]
fn decoding_bombs_are_refused_before_decoding() {
    let (_, cases) = corpus();
    let bombs: Vec<&Case> = cases
        .iter()
        .filter(|c| c.name.contains("_bomb_many_") || c.name.contains("_bomb_nested_"))
        .collect();
    assert_eq!(
        bombs.len(),
        7,
        "nodes, attributes, metadata, strings, dimensions, subgraphs, groups"
    );
    for case in bombs {
        // The debug binary needs about 100 MB of address space for a valid model; a decoded
        // bomb would need gigabytes.
        let (output, elapsed) =
            run_with_memory(512 << 20, &["inspect", case.file.to_str().unwrap()]);
        let err = stderr(&output);
        assert_clean_refusal("inspect", case, &output, 2);
        let budget =
            ["more than 65536 protobuf messages", "bytes of memory", "nested more than 16 levels"];
        assert!(
            budget.iter().any(|b| err.contains(b)),
            "{}: refused by the walk: {err}",
            case.name
        );
        assert!(elapsed < Duration::from_secs(5), "{}: {elapsed:?}", case.name);
    }
}

/// Text and undeclared fields are bounded in every place and in total, not only in the
/// metadata entries and doc strings the check used to read.
#[test]
fn text_and_undeclared_fields_beyond_the_limits_are_refused() {
    let expected = [
        (
            "120_node_doc_string_5mib",
            "node.doc_string holds 5242873 bytes, more than the limit of 4194304",
        ),
        (
            "121_metadata_17mib_in_small_entries",
            "more than the limit of 16777216: metadata_props.value: 18429900 bytes in 300 items",
        ),
        (
            "122_undeclared_field_2kib",
            "2074 bytes in fields the ONNX schema does not declare (model.100: 2074 bytes in 1 item)",
        ),
    ];
    for (name, message) in expected {
        let output = run_on("predict", &case(name).file);
        assert!(
            stderr(&output).contains(message),
            "{name}:\n  expected: {message}\n  actual:   {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let fifo = dir.path().join("model.onnx");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    for command in ["inspect", "predict", "verify"] {
        // run_on fails the test if the command blocks past the time limit.
        let output = run_on(command, &fifo);
        let out = stdout(&output) + &stderr(&output);
        assert!(out.contains("not a regular file"), "{command}: {out}");
        assert_eq!(output.status.code(), Some(2), "{command}");
    }
}
