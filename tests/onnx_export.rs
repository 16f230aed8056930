//! The exported model, live: onnx.checker (full check) accepts it, onnxruntime's outputs match
//! onnxify's native predictions and scikit-learn's `predict_proba`, a feature float32 cannot
//! represent fails verification without touching the output path, and `SOURCE_DATE_EPOCH`
//! makes runs byte-identical.

mod common;

use std::path::{Path, PathBuf};

use common::{
    EVERY_ROW_CONVERGED, assert_close, datasets, floats, onnxify_in, python_json, reference,
    stderr, write_file,
};
use onnxify::data::{CsvOptions, read_csv};
use onnxify::model::{LogisticRegressionParams, Pipeline};
use onnxify::progress::Progress;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Probabilities of the float32 ONNX graph against float64 references: the float32
/// arithmetic moves them by at most ~5e-7 on these sets (measured), well inside 1e-5.
const PROBABILITY_TOLERANCE: f64 = 1e-5;

fn fresh_dir() -> PathBuf {
    tempfile::tempdir_in(common::scratch()).unwrap().keep()
}

/// Trains on `csv` into `dir/model.onnx` with every row and a tight tol; returns the model path.
fn export(csv: &Path, dir: &Path) -> PathBuf {
    let args =
        [&["train", csv.to_str().unwrap(), "-o", "model.onnx", "-q"], &EVERY_ROW_CONVERGED[..]];
    let output = onnxify_in(dir, &args.concat());
    assert!(output.status.success(), "{}", stderr(&output));
    dir.join("model.onnx")
}

fn check_label_kind(dataset: &str, expect_string_labels: bool, n_classes: usize) {
    let csv = &datasets()[dataset];
    let dir = fresh_dir();
    let model = export(csv, &dir);
    let ort =
        python_json("onnx_runtime.py", &["run", model.to_str().unwrap(), csv.to_str().unwrap()]);

    // The file has scikit-learn's converter's names and types.
    let label_type = if expect_string_labels { "tensor(string)" } else { "tensor(int64)" };
    let data = read_csv(csv, &CsvOptions::default(), &Progress::hidden()).unwrap();
    let n_features = data.feature_names.len();
    assert_eq!(
        ort["inputs"],
        serde_json::json!([["input", "tensor(float)", ["N", n_features]]]),
        "{dataset}"
    );
    assert_eq!(
        ort["outputs"],
        serde_json::json!([
            ["label", label_type, ["N"]],
            ["probabilities", "tensor(float)", ["N", n_classes]]
        ]),
        "{dataset}"
    );
    assert_eq!(ort["ir_version"], 8);
    assert_eq!(ort["opset_import"], serde_json::json!({"": 17, "ai.onnx.ml": 1}));
    for (node, domain) in ort["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n[0].as_str().unwrap(), n[1].as_str().unwrap()))
    {
        assert_eq!(domain, "ai.onnx.ml", "{node}");
        assert!(["Scaler", "LinearClassifier", "CategoryMapper"].contains(&node), "{node}");
    }

    // Native predictions of the same fit.
    let params = LogisticRegressionParams::new().tol(1e-10).max_iter(10000).check().unwrap();
    let step = Progress::hidden().iterations("fit", 1);
    let classes = data.classes.clone();
    let pipeline =
        Pipeline::fit(data.rows.features.clone(), &data.rows.targets, data.classes, &params, &step)
            .unwrap();
    let native_proba: Vec<f64> =
        pipeline.predict_proba(data.rows.features.view()).iter().copied().collect();
    let native_labels: Vec<String> = pipeline
        .predict(data.rows.features.view())
        .iter()
        .map(|&c| classes.name(c as usize))
        .collect();

    let ort_labels: Vec<String> = common::labels(&ort["labels"]);
    let ort_proba = floats(&ort["proba"]);
    assert_eq!(
        ort_labels, native_labels,
        "{dataset}: onnxruntime labels vs onnxify's native labels"
    );
    assert_close(
        &format!("{dataset}: onnxruntime vs native probabilities"),
        &ort_proba,
        &native_proba,
        PROBABILITY_TOLERANCE,
    );

    let sklearn = &reference(&["fit", csv.to_str().unwrap(), "--C", "1"])[0];
    let sklearn_classes: Vec<&str> =
        sklearn["classes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let sklearn_labels: Vec<String> = sklearn["predicted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| sklearn_classes[v.as_u64().unwrap() as usize].to_owned())
        .collect();
    assert_eq!(
        ort_labels, sklearn_labels,
        "{dataset}: onnxruntime labels vs scikit-learn's predict"
    );
    assert_close(
        &format!("{dataset}: onnxruntime vs scikit-learn's predict_proba"),
        &ort_proba,
        &floats(&sklearn["proba"]),
        PROBABILITY_TOLERANCE,
    );
}

#[test]
fn binary_integer_labels_run_in_onnxruntime_like_the_native_model_and_scikit_learn() {
    check_label_kind("breast_cancer", false, 2);
}

#[test]
fn binary_string_labels_run_in_onnxruntime_like_the_native_model_and_scikit_learn() {
    check_label_kind("breast_cancer_strings", true, 2);
}

#[test]
fn multiclass_integer_labels_run_in_onnxruntime_like_the_native_model_and_scikit_learn() {
    check_label_kind("wine", false, 3);
}

#[test]
fn multiclass_string_labels_run_in_onnxruntime_like_the_native_model_and_scikit_learn() {
    check_label_kind("iris_strings", true, 3);
}

/// A CSV whose feature `ts` is 1e8 +- 0.1: float32 (spacing 8 at 1e8) erases it.
fn imprecise_csv() -> Vec<u8> {
    imprecise_csv_of(400)
}

fn imprecise_csv_of(rows: usize) -> Vec<u8> {
    let mut text = String::from("a,ts,label\n");
    let mut state = 7u64;
    let mut uniform = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    for _ in 0..rows {
        let (a, z) = (uniform(), uniform());
        let label = u8::from(z + 0.2 * a + 0.05 * uniform() > 0.0);
        text.push_str(&format!("{a:.6},{:.6},{label}\n", 1e8 + 0.1 * z));
    }
    text.into_bytes()
}

#[test]
fn with_float32_input_a_feature_float32_cannot_represent_fails_verification_and_is_named() {
    let csv = write_file("imprecise.csv", &imprecise_csv());
    let dir = csv.parent().unwrap();
    std::fs::write(dir.join("model.onnx"), b"the user's own file").unwrap();
    let output = onnxify_in(dir, &["imprecise.csv", "-o", "model.onnx", "--input-dtype", "f32"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("verification failed"), "{err}");
    assert!(err.contains("cannot represent these features precisely enough: \"ts\""), "{err}");
    assert!(err.contains("--input-dtype auto or f64 scales them in float64 first"), "{err}");
    assert!(!err.contains("\"a\" (|mean|"), "only the responsible feature is named: {err}");
    assert!(err.contains("rows where the ONNX model and the native model disagree most"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("model.onnx")).unwrap(),
        b"the user's own file",
        "the existing file is untouched"
    );
    assert!(!dir.join("model.onnx.json").exists());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["imprecise.csv", "model.onnx"], "no temporary file is left behind");
}

/// On many rows, float32 input that the fitted scaler already shows cannot carry a feature is
/// tried on the first rows only before the float64 input is verified on every row; a file
/// whose features float32 carries runs one graph over the rows.
#[test]
fn float32_input_the_scaler_rules_out_is_tried_on_the_first_rows_only() {
    let csv = write_file("imprecise.csv", &imprecise_csv_of(20_000));
    let dir = csv.parent().unwrap();
    let output =
        onnxify_in(dir, &["imprecise.csv", "-o", "model.onnx", "--test-size", "0", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: Value = serde_json::from_str(&common::stdout(&output)).unwrap();
    let graph = &summary["model"]["graph"];
    assert_eq!(graph["input_dtype"], "float64", "{graph}");
    let reason = graph["input_dtype_reason"].as_str().unwrap();
    assert!(reason.starts_with("float32 input changed "), "{reason}");
    assert!(reason.contains(" of the first 16384 training labels"), "{reason}");
    assert_eq!(summary["model"]["verification"]["rows_checked"], 20_000, "{summary}");

    let mut text = String::from("a,b,label\n");
    for i in 0..20_000u32 {
        let (a, b) = (f64::from(i % 97) / 97.0, f64::from(i % 89) / 89.0);
        text.push_str(&format!("{a:.4},{b:.4},{}\n", u8::from(a + 0.3 * b > 0.6)));
    }
    let csv = write_file("plain.csv", text.as_bytes());
    let dir = csv.parent().unwrap();
    let output = onnxify_in(dir, &["plain.csv", "-o", "plain.onnx", "--test-size", "0", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: Value = serde_json::from_str(&common::stdout(&output)).unwrap();
    assert_eq!(summary["model"]["graph"]["input_dtype"], "float32");
    assert_eq!(summary["model"]["graph"]["input_dtype_reason"], Value::Null);
}

/// The default input precision (`auto`) takes float64 input for a feature float32 cannot
/// represent, says so, and the model then agrees with the native pipeline in onnxruntime.
#[test]
fn a_feature_float32_cannot_represent_gets_a_float64_input() {
    let csv = write_file("imprecise.csv", &imprecise_csv());
    let dir = csv.parent().unwrap();
    let output = onnxify_in(dir, &["imprecise.csv", "-o", "model.onnx", "--test-size", "0"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = common::stdout(&output);
    assert!(
        out.contains("float64 input, float64 scaling, float32 classifier (float32 input changed"),
        "{out}"
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.join("model.onnx.json")).unwrap()).unwrap();
    assert_eq!(json["graph"]["input_dtype"], "float64");
    assert!(
        json["graph"]["input_dtype_reason"].as_str().unwrap().starts_with("float32 input changed")
    );

    let ort = python_json(
        "onnx_runtime.py",
        &["run", dir.join("model.onnx").to_str().unwrap(), csv.to_str().unwrap()],
    );
    assert_eq!(ort["inputs"][0][1], "tensor(double)");
    let data = read_csv(&csv, &CsvOptions::default(), &Progress::hidden()).unwrap();
    let params = LogisticRegressionParams::new().check().unwrap();
    let step = Progress::hidden().iterations("fit", 1);
    let pipeline = Pipeline::fit(
        data.rows.features.clone(),
        &data.rows.targets,
        data.classes.clone(),
        &params,
        &step,
    )
    .unwrap();
    let native: Vec<f64> =
        pipeline.predict_proba(data.rows.features.view()).iter().copied().collect();
    assert_close(
        "onnxruntime vs native with float64 input",
        &floats(&ort["proba"]),
        &native,
        PROBABILITY_TOLERANCE,
    );
    let labels: Vec<String> = pipeline
        .predict(data.rows.features.view())
        .iter()
        .map(|&c| data.classes.name(c as usize))
        .collect();
    let ort_labels: Vec<String> =
        ort["labels"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
    assert_eq!(ort_labels, labels);
}

#[test]
fn source_date_epoch_makes_two_runs_byte_identical() {
    let csv = &datasets()["iris_strings"];
    let run = || {
        let dir = fresh_dir();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_onnxify"))
            .current_dir(&dir)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args([csv.to_str().unwrap(), "-o", "model.onnx", "-q"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        (
            std::fs::read(dir.join("model.onnx")).unwrap(),
            std::fs::read(dir.join("model.onnx.json")).unwrap(),
        )
    };
    let (model1, json1) = run();
    let (model2, json2) = run();
    assert!(model1 == model2, "the model files differ");
    assert!(json1 == json2, "the companion JSON files differ");
    let json: Value = serde_json::from_slice(&json1).unwrap();
    assert_eq!(json["trained_at"], "2023-11-14T22:13:20Z");
}

#[test]
fn the_provenance_record_identifies_data_model_and_verification() {
    let csv = &datasets()["breast_cancer"];
    let dir = fresh_dir();
    let model = export(csv, &dir);
    let bytes = std::fs::read(&model).unwrap();
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.join("model.onnx.json")).unwrap()).unwrap();
    let hex = |digest: &[u8]| digest.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(json["model_sha256"], hex(&Sha256::digest(&bytes)));
    assert_eq!(json["model_bytes"], bytes.len());
    assert_eq!(json["dataset"]["sha256"], hex(&Sha256::digest(std::fs::read(csv).unwrap())));
    assert_eq!(json["dataset"]["file_name"], "breast_cancer.csv");
    assert_eq!(json["dataset"]["rows"], 569);
    assert_eq!(json["feature_names"].as_array().unwrap().len(), 30);
    assert_eq!(json["class_labels"], serde_json::json!([0, 1]));
    assert_eq!(
        json["hyperparameters"],
        serde_json::json!({"C": 1.0, "max_iter": 10000, "tol": 1e-10, "test_size": 0.0, "seed": 0})
    );
    assert_eq!(json["converged"], true);
    assert_eq!(json["verification"]["passed"], true);
    assert_eq!(json["verification"]["rows_used"], "training");
    assert_eq!(json["verification"]["rows_checked"], 569);
    assert_eq!(json["verification"]["runtime"], "tract-onnx 0.23.9");

    let ort =
        python_json("onnx_runtime.py", &["run", model.to_str().unwrap(), csv.to_str().unwrap()]);
    let metadata = &ort["metadata"];
    for key in [
        "onnxify_version",
        "dataset_sha256",
        "feature_names",
        "class_labels",
        "hyperparameters",
        "n_iter",
        "converged",
        "metrics",
        "verification",
        "trained_at",
        "ir_version",
        "opset_imports",
    ] {
        assert!(metadata.get(key).is_some(), "metadata_props lacks {key}: {metadata}");
    }
    assert_eq!(metadata["dataset_sha256"], json["dataset"]["sha256"]);
    let recorded: Value = serde_json::from_str(metadata["verification"].as_str().unwrap()).unwrap();
    assert_eq!(recorded, json["verification"]);

    // No training row is in the file: no float32 value of any training cell appears in it.
    let text = std::fs::read_to_string(csv).unwrap();
    let mut cells: Vec<[u8; 4]> = text
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',').map(|c| c.parse::<f32>().unwrap().to_le_bytes()).collect::<Vec<_>>()
        })
        .filter(|b| b != &[0; 4])
        .collect();
    cells.sort_unstable();
    cells.dedup();
    let found =
        bytes.windows(4).filter(|w| cells.binary_search(&[w[0], w[1], w[2], w[3]]).is_ok()).count();
    assert_eq!(found, 0, "training values found in the model file");
}

#[test]
fn refuses_an_output_path_that_cannot_be_written_safely() {
    let csv = write_file("data.csv", b"f,label\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n8,b\n");
    let dir = csv.parent().unwrap();
    for (output, expected) in [
        ("data.csv", "data.csv: is an input of this run (data.csv); choose another output path"),
        ("no/such/dir/model.onnx", "no/such/dir/model.onnx: its directory does not exist"),
        (".", ".: is a directory"),
    ] {
        let result = onnxify_in(dir, &["data.csv", "-o", output]);
        assert_eq!(result.status.code(), Some(2), "{output}: {}", stderr(&result));
        assert!(stderr(&result).contains(expected), "{output}: {}", stderr(&result));
    }
    assert_eq!(std::fs::read(&csv).unwrap(), b"f,label\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n8,b\n");
}

#[test]
fn the_short_form_writes_the_model_named_after_the_csv() {
    let csv = write_file("flowers.csv", b"f,label\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n8,b\n");
    let dir = csv.parent().unwrap();
    let result = onnxify_in(dir, &["flowers.csv"]);
    assert!(result.status.success(), "{}", stderr(&result));
    assert!(dir.join("flowers.onnx").exists() && dir.join("flowers.onnx.json").exists());
    let out = common::stdout(&result);
    assert!(
        out.contains("Verification passed: 2 held-out rows through tract-onnx 0.23.9"),
        "{out}"
    );
    assert!(out.contains("Wrote flowers.onnx"), "{out}");
}

#[test]
fn a_dry_run_trains_and_reports_but_writes_nothing() {
    let csv = write_file("flowers.csv", b"f,label\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n8,b\n");
    let dir = csv.parent().unwrap();
    let result = onnxify_in(dir, &["flowers.csv", "--dry-run", "--json"]);
    assert!(result.status.success(), "{}", stderr(&result));
    let summary: Value = serde_json::from_str(&common::stdout(&result)).unwrap();
    assert!(summary["model"].is_null());
    assert_eq!(summary["metrics"]["n_rows"], 2);
    let names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["flowers.csv"]);
}
