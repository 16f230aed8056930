//! `inspect` says what a model holds, and its text and JSON agree: the fitted parameters as
//! they are (no made-up scaler, rows named by class, the Normalizer), where the numbers are
//! held, and "No training data is stored" only when the wire walk found no undeclared fields
//! and no more text than the model's names and 64 KiB; otherwise how many bytes could hold
//! data, and where. The models come from tests/python/inspect_models.py.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use common::{datasets, onnxify, onnxify_in, python_json, stderr, stdout};
use serde_json::Value;

fn models() -> &'static HashMap<String, PathBuf> {
    static MODELS: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = common::scratch().join("inspect_models");
        common::paths(&python_json("inspect_models.py", &[dir.to_str().unwrap()]))
    })
}

/// `inspect` as text and as JSON; both must succeed.
fn inspect(path: &str) -> (String, Value) {
    let text = onnxify(&["inspect", path]);
    assert!(text.status.success(), "{path}: {}", stderr(&text));
    let json = onnxify(&["inspect", path, "--json"]);
    assert!(json.status.success(), "{path}: {}", stderr(&json));
    (stdout(&text), serde_json::from_str(&stdout(&json)).unwrap())
}

fn inspect_model(name: &str) -> (String, Value) {
    inspect(models()[name].to_str().unwrap())
}

/// The text's training-data line is the JSON statement, and its places follow it.
fn assert_text_matches_json(name: &str, text: &str, json: &Value) {
    let data = &json["training_data"];
    let line = format!("Training data: {}", data["statement"].as_str().unwrap());
    assert!(text.contains(&line), "{name}: the text says\n{text}\nthe JSON says\n{line}");
    for place in data["places"].as_array().unwrap() {
        assert!(text.contains(&format!("  {}", place.as_str().unwrap())), "{name}: {place}");
    }
}

/// The byte account covers the whole file.
fn assert_bytes_add_up(name: &str, json: &Value) {
    let bytes = &json["training_data"]["bytes"];
    let sum: u64 = ["numbers", "text", "undeclared", "refused", "structure"]
        .iter()
        .map(|k| bytes[k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, json["bytes"].as_u64().unwrap(), "{name}: {bytes}");
}

#[test]
fn a_wide_coefficient_vector_is_parameters_and_text_and_json_agree() {
    let (text, json) = inspect_model("wide");
    let data = &json["training_data"];
    assert_eq!(data["stored"], false, "{data}");
    assert!(
        data["statement"].as_str().unwrap().starts_with(
            "No training data is stored. Every number in the graph is a fitted parameter (40000 \
             offsets, 40000 scales, 120000 coefficients, 3 intercepts, 3 class labels), held in \
             node attributes;"
        ),
        "{data}"
    );
    assert_eq!(data["places"], serde_json::json!([]));
    assert_eq!(data["room_bytes"], 0);
    assert_text_matches_json("wide", &text, &json);
    assert_bytes_add_up("wide", &json);
}

#[test]
fn a_model_without_a_scaler_says_so() {
    let (text, json) = inspect_model("no_scaler");
    assert!(text.contains("Scaler:    none; the features reach the classifier unscaled"), "{text}");
    assert!(!text.contains("mean 0, scale 1"), "{text}");
    assert_eq!(json["parameters"]["mean"], Value::Null);
    assert_eq!(json["parameters"]["scale"], Value::Null);
    assert!(
        json["training_data"]["statement"]
            .as_str()
            .unwrap()
            .contains("(12 coefficients, 3 intercepts, 3 class labels), held in node attributes")
    );
}

#[test]
fn coefficient_rows_are_named_by_class_and_the_normalizer_is_reported() {
    let (text, json) = inspect_model("normalizer");
    for class in ["setosa", "versicolor", "virginica"] {
        assert!(text.contains(&format!("  class {class}: intercept ")), "{class}: {text}");
    }
    assert!(!text.contains("row 1"), "{text}");
    assert!(text.contains("Normalizer: norm L1, applied to the probabilities"), "{text}");
    assert_eq!(json["parameters"]["normalizer"], "L1");
    assert_eq!(
        json["parameters"]["rows"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );

    let (text, json) = inspect_model("binary_one_row");
    assert!(text.contains("  class yes: intercept 0, coefficients"), "{text}");
    assert!(text.contains("  class no: the complement (one score row for two classes)"), "{text}");
    assert_eq!(json["parameters"]["rows"], serde_json::json!(["yes"]));
    assert_eq!(json["parameters"]["normalizer"], Value::Null);
    assert!(json["training_data"]["statement"].as_str().unwrap().contains("1 intercept, "));
}

#[test]
fn text_beyond_the_allowance_is_reported_with_where_it_is() {
    for (name, place) in [
        ("text_in_graph_doc_string", "text in graph.doc_string: 102396 bytes in 1 item"),
        // No entry is large on its own; together they are.
        ("text_in_500_metadata_entries", "text in metadata_props.value: 494500 bytes in 500 items"),
    ] {
        // Such a model still runs: the text is within the check's limits.
        let (text, json) = inspect_model(name);
        let data = &json["training_data"];
        assert_eq!(data["stored"], true, "{name}: {data}");
        let statement = data["statement"].as_str().unwrap();
        assert!(statement.starts_with("Training data may be stored."), "{name}: {statement}");
        assert!(statement.contains("more than the 65536 onnxify accepts"), "{name}: {statement}");
        assert!(data["places"].as_array().unwrap().contains(&place.into()), "{name}: {data}");
        assert!(data["room_bytes"].as_u64().unwrap() > 65536, "{name}: {data}");
        assert_text_matches_json(name, &text, &json);
        assert_bytes_add_up(name, &json);
    }
}

#[test]
fn an_undeclared_field_is_never_vouched_for() {
    let (text, json) = inspect_model("undeclared_field");
    let data = &json["training_data"];
    assert_eq!(data["stored"], true, "{data}");
    assert_eq!(data["bytes"]["undeclared"], 13, "{data}");
    assert_eq!(data["room_bytes"], 13, "{data}");
    assert!(
        data["statement"].as_str().unwrap().contains(
            "but 13 bytes of the file could hold data: 13 bytes in fields the ONNX schema does \
             not declare."
        ),
        "{data}"
    );
    assert_eq!(
        data["places"],
        serde_json::json!(["undeclared field model.100: 13 bytes in 1 item"])
    );
    assert_text_matches_json("undeclared_field", &text, &json);
}

#[test]
fn a_standard_flavor_model_counts_its_initializers() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let csv = &datasets()["iris"];
    let output = onnxify_in(
        dir.path(),
        &[csv.to_str().unwrap(), "-o", "model.onnx", "--ops", "standard", "-q"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let (text, json) = inspect(dir.path().join("model.onnx").to_str().unwrap());
    let statement = json["training_data"]["statement"].as_str().unwrap();
    assert!(
        statement.starts_with(
            "No training data is stored. Every number in the graph is a fitted parameter (4 \
             offsets, 4 scales, 12 coefficients, 3 intercepts, 3 class labels), held in 5 \
             initializers;"
        ),
        "{statement}"
    );
    assert!(!statement.contains("no initializers"), "{statement}");
    assert_eq!(json["initializers"].as_array().unwrap().len(), 5);
    assert_text_matches_json("standard", &text, &json);
    assert_bytes_add_up("standard", &json);
}

/// onnxify writes every feature name twice (metadata and graph doc string): 40,000 of them are
/// over a megabyte of text, all accounted for as names.
#[test]
fn onnxify_s_own_wide_model_is_vouched_for() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let features = 40_000;
    let mut csv: String = (0..features).map(|j| format!("feature_{j},")).collect();
    csv.push_str("label\n");
    for i in 0..20 {
        for j in 0..features {
            csv.push_str(&format!("{},", ((i * 31 + j * 17) % 13) as f64 / 4.0 - 1.5));
        }
        csv.push_str(if i % 2 == 0 { "yes\n" } else { "no\n" });
    }
    std::fs::write(dir.path().join("wide.csv"), csv).unwrap();
    let output = onnxify_in(dir.path(), &["wide.csv", "-o", "wide.onnx", "--test-size", "0", "-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (text, json) = inspect(dir.path().join("wide.onnx").to_str().unwrap());
    let data = &json["training_data"];
    assert!(data["bytes"]["text"].as_u64().unwrap() > 1_000_000, "{}", data["bytes"]);
    assert_eq!(data["stored"], false, "{}", data["statement"]);
    assert_text_matches_json("wide onnxify model", &text, &json);
    assert_bytes_add_up("wide onnxify model", &json);
}
