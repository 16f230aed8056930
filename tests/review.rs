//! The reviewer's commands on onnxify's own models: `verify` passes a fresh model line by line
//! and catches tampering, `--data` scores a labelled file, `inspect --json` reports the fitted
//! numbers and that no training data is stored.

mod common;

use std::path::{Path, PathBuf};

use common::{datasets, onnxify_in, python_json, stderr, stdout};
use serde_json::Value;

fn trained_model() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let csv = &datasets()["breast_cancer_strings"];
    let output = onnxify_in(dir.path(), &[csv.to_str().unwrap(), "-o", "model.onnx", "-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let model = dir.path().join("model.onnx");
    (dir, model)
}

fn verify(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let output = onnxify_in(dir, &[&["verify"], args, &["--json"]].concat());
    let report: Value =
        serde_json::from_str(&stdout(&output)).unwrap_or_else(|_| panic!("{}", stderr(&output)));
    (output.status.code(), report)
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
    assert_eq!(report["items"].as_array().unwrap().len(), 12);
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
    assert!(
        failed.contains(&"probe inputs reproduce their recorded outputs".to_owned()),
        "{failed:?}"
    );
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
            .contains("[FAIL] SHA-256 matches the companion JSON: cannot open model.onnx.json"),
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
