//! The reviewer's commands on onnxify's own models: `verify` passes a fresh model of every
//! graph flavor line by line and catches tampering (with the model, its opsets, or the probe
//! rows of its companion JSON), `--data` scores a labelled file, `inspect --json` reports the
//! fitted numbers and that no training data is stored.

mod common;

use std::path::{Path, PathBuf};

use common::{datasets, onnxify_in, python_json, run_limited, stderr, stdout};
use serde_json::{Value, json};

const WRITTEN: &str = "exactly the operators and opsets onnxify writes for the recorded flavor";
const PROBES: &str = "probe inputs come from the scaler and reproduce their recorded outputs";

fn trained_model() -> (tempfile::TempDir, PathBuf) {
    trained_model_with(&[])
}

/// A model of the breast cancer set (string labels) trained with `flags`, in a fresh directory.
fn trained_model_with(flags: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let csv = &datasets()["breast_cancer_strings"];
    let args = [&[csv.to_str().unwrap(), "-o", "model.onnx", "-q"], flags].concat();
    let output = onnxify_in(dir.path(), &args);
    assert!(output.status.success(), "{flags:?}: {}", stderr(&output));
    let model = dir.path().join("model.onnx");
    (dir, model)
}

fn verify(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let output = onnxify_in(dir, &[&["verify"], args, &["--json"]].concat());
    let report: Value =
        serde_json::from_str(&stdout(&output)).unwrap_or_else(|_| panic!("{}", stderr(&output)));
    (output.status.code(), report)
}

/// The checklist line named `check`.
fn item<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check"] == check)
        .unwrap_or_else(|| panic!("no line {check:?} in {report}"))
}

fn detail(report: &Value, check: &str) -> String {
    item(report, check)["detail"].as_str().unwrap().to_owned()
}

fn failed_checks(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["passed"] == false)
        .map(|i| i["check"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_fresh_model_passes_every_line() {
    let (dir, _) = trained_model();
    let (code, report) = verify(dir.path(), &["model.onnx"]);
    assert_eq!(failed_checks(&report), Vec::<String>::new());
    assert_eq!(code, Some(0));
    assert_eq!(report["items"].as_array().unwrap().len(), 14);
}

#[test]
fn every_graph_flavor_passes_every_line_and_is_described_as_it_is() {
    let standard = "Sub, Div, MatMul, Add, Softmax, ArgMax, Gather (ai.onnx); opsets ai.onnx 17";
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &[],
            "Scaler, LinearClassifier, CategoryMapper (ai.onnx.ml); opsets ai.onnx 17, ai.onnx.ml 1",
            "the ml graph with float32 input at opset 17 (IR version 8)",
        ),
        (
            &["--input-dtype", "f64"],
            "Sub, Div, Cast (ai.onnx), LinearClassifier, CategoryMapper (ai.onnx.ml); opsets ai.onnx 17, ai.onnx.ml 1",
            "the ml graph with float64 input at opset 17",
        ),
        (&["--ops", "standard"], standard, "the standard graph in float32 with float32 input"),
        (
            &["--ops", "standard", "--dtype", "f64"],
            standard,
            "the standard graph in float64 with float64 input",
        ),
        (
            &["--ops", "standard", "--input-dtype", "f64", "--target-opset", "21"],
            "Sub, Div, Cast, MatMul, Add, Softmax, ArgMax, Gather (ai.onnx); opsets ai.onnx 21",
            "the standard graph in float32 with float64 input at opset 21 (IR version 10)",
        ),
    ];
    for (flags, operators, flavor) in cases {
        let (dir, _) = trained_model_with(flags);
        let (code, report) = verify(dir.path(), &["model.onnx"]);
        assert_eq!(failed_checks(&report), Vec::<String>::new(), "{flags:?}");
        assert_eq!(code, Some(0), "{flags:?}");
        assert_eq!(detail(&report, "allow-listed operators, domains and opsets"), operators);
        assert!(detail(&report, WRITTEN).starts_with(flavor), "{flags:?}: {report}");
    }
}

#[test]
fn an_allow_listed_opset_onnxify_does_not_write_fails_the_written_line() {
    let (dir, model) = trained_model();
    let tampered = dir.path().join("tampered.onnx");
    python_json("tamper.py", &["opset", model.to_str().unwrap(), tampered.to_str().unwrap()]);
    let (code, report) = verify(dir.path(), &["tampered.onnx", "--companion", "model.onnx.json"]);
    assert_eq!(code, Some(1));
    let failed = failed_checks(&report);
    assert!(!failed.contains(&"allow-listed operators, domains and opsets".to_owned()));
    assert!(failed.contains(&WRITTEN.to_owned()), "{failed:?}");
    assert_eq!(
        detail(&report, WRITTEN),
        "for the ml graph with float32 input at opset 17, the file imports ai.onnx 17, \
         ai.onnx.ml 3, onnxify imports ai.onnx 17, ai.onnx.ml 1"
    );
}

/// Rewrites the probes of the companion JSON in `dir`.
fn edit_probes(dir: &Path, change: impl FnOnce(&mut Value)) {
    let path = dir.join("model.onnx.json");
    let mut json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    change(&mut json["probes"]);
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

/// Verifies model.onnx in `dir`: it fails with exit code 1 on the probe line alone, whose
/// detail contains `expected`.
fn assert_only_the_probe_line_fails(dir: &Path, expected: &str) {
    let (code, report) = verify(dir, &["model.onnx"]);
    assert_eq!(failed_checks(&report), [PROBES]);
    assert_eq!(code, Some(1));
    let detail = detail(&report, PROBES);
    assert!(detail.contains(expected), "expected {expected:?}\n  in {detail:?}");
}

#[test]
fn emptied_probes_fail_the_probe_line() {
    let (dir, _) = trained_model();
    edit_probes(dir.path(), |probes| {
        *probes = json!({"inputs": [], "labels": [], "probabilities": []});
    });
    assert_only_the_probe_line_fails(
        dir.path(),
        "the companion JSON records 0 probe rows; onnxify records 16, made from the scaler's parameters",
    );
}

#[test]
fn training_rows_recorded_as_probes_fail_the_probe_line_even_with_their_true_outputs() {
    let (dir, _) = trained_model();
    // The first 16 training rows, with the labels and probabilities the model gives them
    // (from predict): only where the inputs came from gives them away.
    let text = std::fs::read_to_string(&datasets()["breast_cancer_strings"]).unwrap();
    let rows: Vec<&str> = text.lines().take(17).collect();
    std::fs::write(dir.path().join("rows.csv"), rows.join("\n") + "\n").unwrap();
    let predicted = onnxify_in(dir.path(), &["predict", "model.onnx", "rows.csv", "-q"]);
    assert!(predicted.status.success(), "{}", stderr(&predicted));
    let inputs: Vec<Vec<f64>> = rows[1..]
        .iter()
        .map(|row| {
            let fields: Vec<&str> = row.split(',').collect();
            fields[..fields.len() - 1].iter().map(|v| v.parse().unwrap()).collect()
        })
        .collect();
    let (mut labels, mut probabilities) = (Vec::new(), Vec::new());
    for line in stdout(&predicted).lines().skip(1) {
        let mut fields = line.split(',');
        labels.push(fields.next().unwrap().to_owned());
        probabilities.push(fields.map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>());
    }
    edit_probes(dir.path(), |probes| {
        *probes = json!({"inputs": inputs, "labels": labels, "probabilities": probabilities});
    });
    assert_only_the_probe_line_fails(
        dir.path(),
        "probe 1: the recorded input is not the row made from the model's scaler parameters",
    );
}

#[test]
fn one_changed_probe_fails_the_probe_line() {
    let (dir, _) = trained_model();
    edit_probes(dir.path(), |probes| {
        let value = probes["inputs"][5][2].as_f64().unwrap();
        probes["inputs"][5][2] = json!(value + 1e-3);
    });
    assert_only_the_probe_line_fails(
        dir.path(),
        r#"probe 6: the recorded input is not the row made from the model's scaler parameters (feature "f2": recorded "#,
    );

    let (dir, _) = trained_model();
    edit_probes(dir.path(), |probes| {
        let value = probes["probabilities"][3][0].as_f64().unwrap();
        probes["probabilities"][3][0] = json!(value - 1e-3);
    });
    assert_only_the_probe_line_fails(dir.path(), "largest probability difference 1.000e-3");

    let (dir, _) = trained_model();
    let mut flip = (String::new(), String::new());
    edit_probes(dir.path(), |probes| {
        let label = probes["labels"][0].as_str().unwrap().to_owned();
        let other = if label == "benign" { "malignant" } else { "benign" };
        probes["labels"][0] = json!(other);
        flip = (label, other.to_owned());
    });
    let (label, recorded) = flip;
    assert_only_the_probe_line_fails(
        dir.path(),
        &format!("probe 1: label {label:?}, recorded {recorded:?}"),
    );
}

#[test]
fn a_model_that_cannot_be_read_is_bad_input_and_gets_no_checklist() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let output = onnxify_in(dir.path(), &["verify", "missing.onnx"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).starts_with("onnxify: error: missing.onnx: "), "{}", stderr(&output));

    std::fs::create_dir(dir.path().join("folder.onnx")).unwrap();
    let output = onnxify_in(dir.path(), &["verify", "folder.onnx"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("onnxify: error: folder.onnx: not a regular file"),
        "{}",
        stderr(&output)
    );

    // A file that can be read but is no model fails the checklist's first line.
    std::fs::write(dir.path().join("text.onnx"), "not a model").unwrap();
    let (code, report) = verify(dir.path(), &["text.onnx"]);
    assert_eq!(code, Some(1));
    assert_eq!(failed_checks(&report).len(), 14);
    assert!(detail(&report, "readable").starts_with("not a readable ONNX model"), "{report}");
}

#[test]
fn fifos_in_place_of_the_model_or_its_companion_do_not_block() {
    let (dir, model) = trained_model();
    let companion = dir.path().join("model.onnx.json");
    let fifo = dir.path().join("fifo.onnx");
    std::fs::remove_file(&companion).unwrap();
    for path in [&companion, &fifo] {
        let made = std::process::Command::new("mkfifo").arg(path).status().unwrap();
        assert!(made.success());
    }
    // run_limited kills a run that blocks and fails the test.
    let (output, _) = run_limited(&["verify", model.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        detail(&report, "SHA-256 matches the companion JSON"),
        format!("cannot open {}: not a regular file", companion.display())
    );

    let (output, _) = run_limited(&["verify", fifo.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("fifo.onnx: not a regular file"), "{}", stderr(&output));
}

#[test]
fn a_changed_coefficient_fails_the_hash_and_the_probes() {
    let (dir, model) = trained_model();
    let tampered = dir.path().join("tampered.onnx");
    python_json("tamper.py", &["coefficient", model.to_str().unwrap(), tampered.to_str().unwrap()]);
    let (code, report) = verify(dir.path(), &["tampered.onnx", "--companion", "model.onnx.json"]);
    assert_eq!(code, Some(1));
    let failed = failed_checks(&report);
    assert!(failed.contains(&"SHA-256 matches the companion JSON".to_owned()), "{failed:?}");
    assert!(failed.contains(&PROBES.to_owned()), "{failed:?}");
}

#[test]
fn text_smuggled_in_small_metadata_entries_fails_the_room_line() {
    let (dir, model) = trained_model();
    let tampered = dir.path().join("tampered.onnx");
    python_json("tamper.py", &["smuggle", model.to_str().unwrap(), tampered.to_str().unwrap()]);
    let (code, report) = verify(dir.path(), &["tampered.onnx", "--companion", "model.onnx.json"]);
    assert_eq!(code, Some(1));
    let room = "no room for training data besides the fitted parameters";
    assert!(failed_checks(&report).contains(&room.to_owned()), "{report}");
    let item = report["items"].as_array().unwrap().iter().find(|i| i["check"] == room).unwrap();
    assert!(item["detail"].as_str().unwrap().contains("metadata_props"), "{item}");
}

#[test]
fn changed_metadata_disagrees_with_the_companion() {
    let (dir, model) = trained_model();
    let tampered = dir.path().join("tampered.onnx");
    python_json("tamper.py", &["metadata", model.to_str().unwrap(), tampered.to_str().unwrap()]);
    let (code, report) = verify(dir.path(), &["tampered.onnx", "--companion", "model.onnx.json"]);
    assert_eq!(code, Some(1));
    let failed = failed_checks(&report);
    assert!(failed.contains(&"metadata agrees with the companion JSON".to_owned()), "{failed:?}");
    let item = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check"] == "metadata agrees with the companion JSON")
        .unwrap();
    assert!(item["detail"].as_str().unwrap().contains("dataset sha256"), "{item}");
}

#[test]
fn a_missing_companion_fails_and_says_why() {
    let (dir, _) = trained_model();
    std::fs::remove_file(dir.path().join("model.onnx.json")).unwrap();
    let output = onnxify_in(dir.path(), &["verify", "model.onnx"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output)
            .contains("[FAIL] SHA-256 matches the companion JSON: model.onnx.json does not exist (train and convert write it beside the model; the checks that need no companion run in `onnxify scan`)"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).starts_with(
            "onnxify: error: verification failed: model.onnx: SHA-256 matches the companion JSON"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn data_is_scored_against_its_target_column() {
    let (dir, _) = trained_model();
    let csv = &datasets()["breast_cancer_strings"];
    let (code, report) = verify(dir.path(), &["model.onnx", "--data", csv.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    let metrics = &report["data"]["metrics"];
    assert_eq!(metrics["n_rows"], 569);

    // The same accuracy from predict's output and the file's labels.
    let predicted = onnxify_in(dir.path(), &["predict", "model.onnx", csv.to_str().unwrap(), "-q"]);
    let truth: Vec<String> = std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_owned())
        .collect();
    let labels: Vec<String> = stdout(&predicted)
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    let correct = truth.iter().zip(&labels).filter(|(a, b)| a == b).count();
    assert_eq!(metrics["accuracy"].as_f64().unwrap(), correct as f64 / 569.0);
}

#[test]
fn a_label_the_model_does_not_know_is_named_with_its_line() {
    let (dir, _) = trained_model();
    let csv = &datasets()["breast_cancer_strings"];
    let mut text = std::fs::read_to_string(csv).unwrap();
    text = text.replacen(",benign\n", ",unknown\n", 1);
    std::fs::write(dir.path().join("odd.csv"), text).unwrap();
    let output = onnxify_in(dir.path(), &["verify", "model.onnx", "--data", "odd.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains(r#"odd.csv: line "#) && stderr(&output).contains(r#"column "target": "unknown" is not one of the model's classes ["benign", "malignant"]"#), "{}", stderr(&output));
}

#[test]
fn a_target_that_is_a_feature_is_refused_with_a_clear_message() {
    let (dir, _) = trained_model();
    let csv = &datasets()["breast_cancer_strings"];
    let output = onnxify_in(
        dir.path(),
        &["verify", "model.onnx", "--data", csv.to_str().unwrap(), "--target", "f0"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            r#"the column "f0" is a feature the model needs, so it cannot also be the target column"#
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn inspect_reports_the_fitted_numbers_and_no_training_data() {
    let (dir, _) = trained_model();
    let output = onnxify_in(dir.path(), &["inspect", "model.onnx", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["check"], "passed");
    assert_eq!(report["training_data"]["stored"], false);
    assert!(report["training_data"]["statement"].as_str().unwrap().starts_with("No training data is stored. Every number in the graph is a fitted parameter (30 offsets, 30 scales, 60 coefficients, 2 intercepts, 2 class labels)"));
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("model.onnx.json")).unwrap())
            .unwrap();
    assert_eq!(report["sha256"], json["model_sha256"]);
    assert_eq!(report["parameters"]["classes"], serde_json::json!(["benign", "malignant"]));
    assert_eq!(report["parameters"]["mean"].as_array().unwrap().len(), 30);
    assert_eq!(report["nodes"].as_array().unwrap().len(), 3);
}
