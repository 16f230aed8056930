//! Every graph flavor and precision, live: onnx.checker (full check) and onnxruntime agree with
//! onnxify's native predictions; the standard flavor runs in plain tract with nothing
//! registered and has no node outside the default domain; operator sets 13 to 21 each load.

mod common;

use std::path::{Path, PathBuf};

use common::{
    EVERY_ROW_CONVERGED, assert_close, datasets, floats, onnxify_in, python_json, stderr,
};
use onnxify::data::{CsvOptions, read_csv};
use onnxify::model::{LogisticRegressionParams, Pipeline};
use onnxify::progress::Progress;
use serde_json::Value;
use tract_onnx::prelude::*;

/// Float32 arithmetic moves probabilities by up to ~5e-7 on these sets (measured); float64
/// arithmetic differs from the native pipeline only in the order of operations.
const FLOAT32_TOLERANCE: f64 = 1e-5;
const FLOAT64_TOLERANCE: f64 = 1e-12;

const DATASETS: [&str; 4] = ["breast_cancer", "breast_cancer_strings", "wine", "iris_strings"];

/// The native pipeline fitted as the tests' exports are (every row, tol 1e-10): probabilities
/// row by row, and labels as text.
fn native(csv: &Path) -> (Vec<f64>, Vec<String>) {
    let data = read_csv(csv, &CsvOptions::default(), &Progress::hidden()).unwrap();
    let params = LogisticRegressionParams::new().tol(1e-10).max_iter(10000).check().unwrap();
    let step = Progress::hidden().iterations("fit", 1);
    let pipeline = Pipeline::fit(
        data.rows.features.clone(),
        &data.rows.targets,
        data.classes.clone(),
        &params,
        &step,
    )
    .unwrap();
    let proba = pipeline.predict_proba(data.rows.features.view()).iter().copied().collect();
    let labels = pipeline
        .predict(data.rows.features.view())
        .iter()
        .map(|&c| data.classes.name(c as usize))
        .collect();
    (proba, labels)
}

fn export(csv: &Path, flags: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let args =
        [&[csv.to_str().unwrap(), "-o", "model.onnx", "-q"], &EVERY_ROW_CONVERGED[..], flags]
            .concat();
    let output = onnxify_in(dir.path(), &args);
    assert!(output.status.success(), "{flags:?}: {}", stderr(&output));
    let model = dir.path().join("model.onnx");
    (dir, model)
}

/// Exports every dataset with `flags` and checks onnxruntime (and the checker) against native.
fn check_flavor(flags: &[&str], tolerance: f64, input_type: &str, probability_type: &str) {
    for name in DATASETS {
        let csv = &datasets()[name];
        let (_dir, model) = export(csv, flags);
        let ort = python_json(
            "onnx_runtime.py",
            &["run", model.to_str().unwrap(), csv.to_str().unwrap()],
        );
        assert_eq!(ort["inputs"][0][1], input_type, "{name} {flags:?}");
        assert_eq!(ort["outputs"][1][1], probability_type, "{name} {flags:?}");
        let (proba, labels) = native(csv);
        assert_eq!(common::labels(&ort["labels"]), labels, "{name} {flags:?}: labels");
        assert_close(
            &format!("{name} {flags:?}: onnxruntime vs native"),
            &floats(&ort["proba"]),
            &proba,
            tolerance,
        );
    }
}

#[test]
fn the_ml_graph_with_float32_input_agrees_in_onnxruntime() {
    check_flavor(&[], FLOAT32_TOLERANCE, "tensor(float)", "tensor(float)");
}

#[test]
fn the_ml_graph_with_float64_input_agrees_in_onnxruntime() {
    check_flavor(&["--input-dtype", "f64"], FLOAT32_TOLERANCE, "tensor(double)", "tensor(float)");
}

#[test]
fn the_standard_graph_in_float32_agrees_in_onnxruntime() {
    check_flavor(&["--ops", "standard"], FLOAT32_TOLERANCE, "tensor(float)", "tensor(float)");
}

#[test]
fn the_standard_graph_in_float32_with_float64_input_agrees_in_onnxruntime() {
    check_flavor(
        &["--ops", "standard", "--input-dtype", "f64"],
        FLOAT32_TOLERANCE,
        "tensor(double)",
        "tensor(float)",
    );
}

#[test]
fn the_standard_graph_in_float64_agrees_with_native_to_1e_12_in_onnxruntime() {
    check_flavor(
        &["--ops", "standard", "--dtype", "f64"],
        FLOAT64_TOLERANCE,
        "tensor(double)",
        "tensor(double)",
    );
}

#[test]
fn the_standard_graph_uses_the_default_domain_only() {
    for flags in [&["--ops", "standard"][..], &["--ops", "standard", "--dtype", "f64"]] {
        let csv = &datasets()["iris_strings"];
        let (_dir, model) = export(csv, flags);
        let ort = python_json(
            "onnx_runtime.py",
            &["run", model.to_str().unwrap(), csv.to_str().unwrap()],
        );
        for node in ort["nodes"].as_array().unwrap() {
            assert_eq!(node[1], "", "{flags:?}: node {node} is outside the default domain");
        }
        assert_eq!(ort["opset_import"], serde_json::json!({"": 17}), "{flags:?}");
    }
}

/// Runs `model` in tract with nothing registered; returns probabilities and text labels.
fn plain_tract(model: &Path, csv: &Path, double: bool) -> (Vec<f64>, Vec<String>) {
    let data = read_csv(csv, &CsvOptions::default(), &Progress::hidden()).unwrap();
    let plan = tract_onnx::onnx()
        .model_for_path(model)
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let input: Tensor = if double {
        data.rows.features.clone().into()
    } else {
        data.rows.features.mapv(|v| v as f32).into()
    };
    let outputs = plan.run(tvec!(input.into())).unwrap();
    let proba: Vec<f64> = if double {
        outputs[1].to_plain_array_view::<f64>().unwrap().iter().copied().collect()
    } else {
        outputs[1].to_plain_array_view::<f32>().unwrap().iter().map(|&v| f64::from(v)).collect()
    };
    let labels: Vec<String> = match outputs[0].to_plain_array_view::<i64>() {
        Ok(ints) => ints.iter().map(|v| v.to_string()).collect(),
        Err(_) => outputs[0].to_plain_array_view::<String>().unwrap().iter().cloned().collect(),
    };
    (proba, labels)
}

#[test]
fn the_standard_graph_runs_in_plain_tract_with_nothing_registered() {
    for (flags, double, tolerance) in [
        (&["--ops", "standard"][..], false, FLOAT32_TOLERANCE),
        (&["--ops", "standard", "--dtype", "f64"], true, FLOAT64_TOLERANCE),
    ] {
        for name in DATASETS {
            let csv = &datasets()[name];
            let (_dir, model) = export(csv, flags);
            let (proba, labels) = plain_tract(&model, csv, double);
            let (expected_proba, expected_labels) = native(csv);
            assert_eq!(labels, expected_labels, "{name} {flags:?}: labels in plain tract");
            assert_close(
                &format!("{name} {flags:?}: plain tract vs native"),
                &proba,
                &expected_proba,
                tolerance,
            );
        }
    }
}

#[test]
fn every_supported_opset_loads_with_its_ir_version() {
    let expected_ir = |opset: i64| match opset {
        13..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        _ => 10,
    };
    let csv = &datasets()["iris_strings"];
    let (proba, labels) = native(csv);
    for opset in 13..=21 {
        for ops in ["ml", "standard"] {
            let opset_text = opset.to_string();
            let (_dir, model) = export(csv, &["--ops", ops, "--target-opset", &opset_text]);
            let ort = python_json(
                "onnx_runtime.py",
                &["run", model.to_str().unwrap(), csv.to_str().unwrap()],
            );
            assert_eq!(ort["ir_version"], expected_ir(opset), "opset {opset} {ops}");
            assert_eq!(ort["opset_import"][""], opset, "opset {opset} {ops}");
            assert_eq!(common::labels(&ort["labels"]), labels, "opset {opset} {ops}");
            assert_close(
                &format!("opset {opset} {ops}"),
                &floats(&ort["proba"]),
                &proba,
                FLOAT32_TOLERANCE,
            );
            let graph: Value =
                serde_json::from_str(ort["metadata"]["opset_imports"].as_str().unwrap()).unwrap();
            assert_eq!(graph[0]["version"], opset, "the metadata records the opset");
        }
    }
}

#[test]
fn an_unsupported_opset_or_combination_is_refused_with_the_range() {
    let csv = &datasets()["iris_strings"];
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    for (flags, expected) in [
        (
            &["--target-opset", "12"][..],
            "invalid value for --target-opset: 12 is not supported; choose 13 to 21",
        ),
        (
            &["--target-opset", "22"],
            "invalid value for --target-opset: 22 is not supported; choose 13 to 21",
        ),
        (&["--dtype", "f64"], "invalid value for --dtype: f64 needs --ops standard"),
        (
            &["--ops", "standard", "--dtype", "f64", "--input-dtype", "f32"],
            "invalid value for --input-dtype",
        ),
    ] {
        let output =
            onnxify_in(dir.path(), &[&[csv.to_str().unwrap(), "-o", "model.onnx"], flags].concat());
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        assert!(stderr(&output).contains(expected), "{flags:?}: {}", stderr(&output));
        assert!(!dir.path().join("model.onnx").exists());
    }
}

/// With float64 arithmetic throughout, even a 1e8 +- 0.1 feature agrees with native to 1e-12.
#[test]
fn float64_arithmetic_keeps_a_feature_float32_would_erase() {
    let mut text = String::from("a,ts,label\n");
    let mut state = 11u64;
    let mut uniform = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    for _ in 0..400 {
        let (a, z) = (uniform(), uniform());
        let label = u8::from(z + 0.2 * a + 0.05 * uniform() > 0.0);
        text.push_str(&format!("{a:.6},{:.6},{label}\n", 1e8 + 0.1 * z));
    }
    let csv = common::write_file("imprecise.csv", text.as_bytes());
    let (_dir, model) = export(&csv, &["--ops", "standard", "--dtype", "f64"]);
    let ort =
        python_json("onnx_runtime.py", &["run", model.to_str().unwrap(), csv.to_str().unwrap()]);
    let (proba, labels) = native(&csv);
    assert_eq!(common::labels(&ort["labels"]), labels);
    assert_close("1e8 +- 0.1 in float64", &floats(&ort["proba"]), &proba, FLOAT64_TOLERANCE);
}
