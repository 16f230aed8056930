//! The checklist's lines about the provenance record: the companion JSON read within the model
//! file's limit, the SHA-256 it records, the metadata a model must carry, and that metadata,
//! graph and companion JSON all say the same.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::regular_file_size;
use crate::data::Classes;
use crate::onnx::load::{MAX_FILE_BYTES, OnnxFile};
use crate::onnx::{CheckedModel, Flavor};
use crate::util::sha256_hex;

/// Metadata every onnxify model carries.
pub const COMMON_METADATA: [&str; 8] = [
    "onnxify_version",
    "ir_version",
    "opset_imports",
    "graph",
    "origin",
    "feature_names",
    "class_labels",
    "verification",
];

/// Metadata a model trained by onnxify carries besides the common entries.
pub const TRAINED_METADATA: [&str; 10] = [
    "dataset_file_name",
    "dataset_sha256",
    "dataset_rows",
    "dataset_columns",
    "target",
    "hyperparameters",
    "n_iter",
    "converged",
    "metrics",
    "trained_at",
];

/// Metadata a model converted from a pickle carries besides the common entries.
pub const CONVERTED_METADATA: [&str; 8] = [
    "source_file_name",
    "source_sha256",
    "source_bytes",
    "source_format",
    "sklearn_version",
    "estimator",
    "feature_names_recorded",
    "converted_at",
];

/// The metadata a model with `origin` must carry.
pub(super) fn required_metadata(origin: Option<&str>) -> Vec<&'static str> {
    let specific: &[&str] = match origin {
        Some("converted") => &CONVERTED_METADATA,
        _ => &TRAINED_METADATA,
    };
    COMMON_METADATA.iter().chain(specific).copied().collect()
}

/// Reads the companion JSON: a regular file, read whole, so bounded by the model file's limit.
pub(super) fn read_companion(path: &Path) -> std::result::Result<Value, String> {
    let name = path.display();
    let too_large = || format!("{name} is larger than {MAX_FILE_BYTES} bytes");
    let size = regular_file_size(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    if size > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    let mut text = Vec::new();
    // The limit holds even if the file grows while it is read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    serde_json::from_slice(&text).map_err(|e| format!("{name} is not JSON: {e}"))
}

pub(super) fn matches_sha(json: &Value, file: &OnnxFile) -> std::result::Result<String, String> {
    let actual = sha256_hex(file.bytes());
    match json.get("model_sha256").and_then(Value::as_str) {
        Some(recorded) if recorded == actual => Ok(actual),
        Some(recorded) => {
            Err(format!("the file's SHA-256 is {actual}, the companion JSON records {recorded}"))
        }
        None => Err("the companion JSON has no model_sha256".into()),
    }
}

/// The class labels as JSON values, as the provenance record writes them.
fn classes_json(classes: &Classes) -> Value {
    serde_json::to_value(classes).expect("classes serialise")
}

pub(super) fn consistent(checked: &CheckedModel) -> std::result::Result<String, String> {
    let info = &checked.info;
    let json = |key: &str| info.metadata(key).and_then(|v| serde_json::from_str::<Value>(v).ok());
    let mut problems = Vec::new();
    match info.feature_names() {
        Some(names) => {
            if names.len() != info.n_features {
                problems.push(format!(
                    "{} feature names for {} inputs",
                    names.len(),
                    info.n_features
                ));
            }
        }
        None => problems.push(format!("feature_names does not list {} names", info.n_features)),
    }
    if json("class_labels") != Some(classes_json(&info.classes)) {
        problems.push(format!("class_labels is not the graph's classes {}", info.classes));
    }
    if info.metadata("ir_version") != Some(&info.ir_version.to_string()) {
        problems.push(format!("ir_version is not the file's {}", info.ir_version));
    }
    let recorded_opsets: Option<Vec<(String, i64)>> = json("opset_imports").and_then(|v| {
        v.as_array()?
            .iter()
            .map(|o| Some((o.get("domain")?.as_str()?.to_owned(), o.get("version")?.as_i64()?)))
            .collect()
    });
    let mut recorded_opsets = recorded_opsets.unwrap_or_default();
    recorded_opsets.sort();
    if recorded_opsets != info.opsets {
        problems.push(format!("opset_imports is not the file's {:?}", info.opsets));
    }
    let graph = json("graph");
    let ops = match info.flavor {
        Flavor::Ml => "ml",
        Flavor::Standard => "standard",
    };
    let recorded = |key: &str| graph.as_ref().and_then(|g| g.get(key)).and_then(Value::as_str);
    if recorded("ops") != Some(ops)
        || recorded("input_dtype") != Some(info.input_type.name())
        || recorded("dtype") != Some(info.probability_type.name())
    {
        problems.push(format!(
            "graph does not record the file's {ops} operators with {} input and {} arithmetic",
            info.input_type.name(),
            info.probability_type.name()
        ));
    }
    if problems.is_empty() {
        Ok(format!(
            "{} features, classes {}, IR {}, opsets {:?}",
            info.n_features, info.classes, info.ir_version, info.opsets
        ))
    } else {
        Err(problems.join("; "))
    }
}

pub(super) fn agrees(json: &Value, checked: &CheckedModel) -> std::result::Result<String, String> {
    let info = &checked.info;
    let parsed = |key: &str| info.metadata(key).and_then(|v| serde_json::from_str::<Value>(v).ok());
    let text = |key: &str| info.metadata(key).map(|v| Value::String(v.to_owned()));
    let mut pairs: Vec<(&str, Option<Value>, Option<&Value>)> = vec![
        ("origin", text("origin"), json.get("origin")),
        ("feature names", parsed("feature_names"), json.get("feature_names")),
        ("class labels", parsed("class_labels"), json.get("class_labels")),
        ("verification", parsed("verification"), json.get("verification")),
    ];
    let checked_items = if info.metadata("origin") == Some("converted") {
        pairs.extend([
            ("source sha256", text("source_sha256"), json.pointer("/source/sha256")),
            ("source file name", text("source_file_name"), json.pointer("/source/file_name")),
            ("scikit-learn version", parsed("sklearn_version"), json.get("sklearn_version")),
            ("conversion date", text("converted_at"), json.get("converted_at")),
        ]);
        "source, features, classes, verification, date"
    } else {
        pairs.extend([
            ("dataset sha256", text("dataset_sha256"), json.pointer("/dataset/sha256")),
            ("dataset file name", text("dataset_file_name"), json.pointer("/dataset/file_name")),
            ("hyperparameters", parsed("hyperparameters"), json.get("hyperparameters")),
            ("metrics", parsed("metrics"), json.get("metrics")),
            ("training date", text("trained_at"), json.get("trained_at")),
        ]);
        "dataset, features, classes, hyperparameters, metrics, verification, date"
    };
    let differ: Vec<&str> =
        pairs.iter().filter(|(_, a, b)| a.as_ref() != *b).map(|(name, _, _)| *name).collect();
    if differ.is_empty() {
        Ok(checked_items.into())
    } else {
        Err(format!("differs in {}", differ.join(", ")))
    }
}
