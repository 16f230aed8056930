//! The provenance record: what a reviewer needs to trust a model file, stored twice, in the
//! model's `metadata_props` and in the companion JSON next to it. It holds statistics and
//! identifiers only, never training rows. A trained model records its dataset, hyperparameters
//! and metrics; a converted one records the pickle it came from.

use serde::Serialize;

use crate::data::Classes;
use crate::metrics::Metrics;
use crate::onnx::{Ops, Precision};

/// Where a model came from and how it was checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    pub onnxify_version: String,
    pub ir_version: i64,
    pub opset_imports: Vec<OpsetImport>,
    pub graph: GraphRecord,
    /// Trained by onnxify, or converted from a scikit-learn pickle, with the record of each.
    #[serde(flatten)]
    pub origin: Origin,
    /// Feature names in input-column order.
    pub feature_names: Vec<String>,
    /// Class labels in probability-column order.
    pub class_labels: Classes,
    /// Result of running the written file; `None` only before verification.
    pub verification: Option<Verification>,
}

/// How the model's parameters came to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "origin", rename_all = "lowercase")]
pub enum Origin {
    Trained(TrainingRecord),
    Converted(ConversionRecord),
}

/// A model onnxify trained from a CSV.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingRecord {
    pub dataset: DatasetRecord,
    pub target: String,
    pub hyperparameters: Hyperparameters,
    pub n_iter: u64,
    pub converged: bool,
    /// Held-out metrics; `None` when every row trained.
    pub metrics: Option<Metrics>,
    /// Training date, UTC, RFC 3339.
    pub trained_at: String,
}

/// A model converted from a fitted scikit-learn pipeline in a pickle, without loading it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionRecord {
    pub source: SourceRecord,
    /// The scikit-learn version the pickle records (`_sklearn_version`), if it records one.
    pub sklearn_version: Option<String>,
    /// The estimator the pickle holds: "Pipeline" or "LogisticRegression".
    pub estimator: String,
    /// Whether the feature names come from the pickle (`feature_names_in_`) or were made up
    /// as `x0, x1, ...` because the pipeline was fitted on an unnamed array.
    pub feature_names_recorded: bool,
    /// Conversion date, UTC, RFC 3339.
    pub converted_at: String,
}

/// The pickle a model was converted from, identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    /// File name without its directory.
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    /// "pickle protocol 4", "joblib pickle protocol 4, zlib-compressed", ...
    pub format: String,
}

/// How the graph computes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphRecord {
    /// "ml" (ai.onnx.ml Scaler and LinearClassifier) or "standard" (default-domain operators).
    pub ops: Ops,
    /// Precision of the input.
    pub input_dtype: Precision,
    /// Precision of the arithmetic after scaling.
    pub dtype: Precision,
    /// Why the input precision was chosen, when onnxify chose it.
    pub input_dtype_reason: Option<String>,
}

/// An operator set the model imports ("" is the default domain, ai.onnx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpsetImport {
    pub domain: String,
    pub version: i64,
}

/// The training CSV, identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetRecord {
    /// File name without its directory.
    pub file_name: String,
    pub sha256: String,
    pub rows: usize,
    pub columns: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hyperparameters {
    #[serde(rename = "C")]
    pub c: f64,
    pub max_iter: u64,
    pub tol: f64,
    pub test_size: f64,
    pub seed: u64,
}

/// How the ONNX file's predictions compared with the native float64 pipeline's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The runtime that loaded the file.
    pub runtime: String,
    /// Which rows were run: "held-out", "training" (with a test size of 0), or "probe" (rows
    /// made from the scaler's parameters, for a model converted from a pickle).
    pub rows_used: String,
    pub rows_checked: usize,
    pub labels_agreeing: usize,
    /// Rows whose labels differ where the native top-two probabilities are closer than twice
    /// the tolerance, so float32 rounding alone can swap them.
    pub near_ties: usize,
    pub max_probability_difference: f64,
    /// File line (for probe rows, the row number) of the row with the largest probability
    /// difference.
    pub max_difference_line: Option<u64>,
    pub probability_tolerance: f64,
    pub passed: bool,
}

impl Verification {
    /// How a row is named: probe rows by their number, the others by their line in the CSV.
    pub fn row_word(&self) -> &'static str {
        if self.rows_used == "probe" { "probe row" } else { "line" }
    }
}

impl Provenance {
    /// The record as `metadata_props` entries: scalars as text, structures as compact JSON.
    pub fn metadata_props(&self) -> Vec<(String, String)> {
        let mut props = vec![
            ("onnxify_version", self.onnxify_version.clone()),
            ("ir_version", self.ir_version.to_string()),
            ("opset_imports", json(&self.opset_imports)),
            ("graph", json(&self.graph)),
        ];
        match &self.origin {
            Origin::Trained(t) => props.extend([
                ("origin", "trained".to_owned()),
                ("dataset_file_name", t.dataset.file_name.clone()),
                ("dataset_sha256", t.dataset.sha256.clone()),
                ("dataset_rows", t.dataset.rows.to_string()),
                ("dataset_columns", t.dataset.columns.to_string()),
            ]),
            Origin::Converted(c) => props.extend([
                ("origin", "converted".to_owned()),
                ("source_file_name", c.source.file_name.clone()),
                ("source_sha256", c.source.sha256.clone()),
                ("source_bytes", c.source.bytes.to_string()),
                ("source_format", c.source.format.clone()),
                ("sklearn_version", json(&c.sklearn_version)),
                ("estimator", c.estimator.clone()),
            ]),
        }
        props.extend([
            ("feature_names", json(&self.feature_names)),
            ("class_labels", json(&self.class_labels)),
        ]);
        match &self.origin {
            Origin::Trained(t) => props.extend([
                ("target", t.target.clone()),
                ("hyperparameters", json(&t.hyperparameters)),
                ("n_iter", t.n_iter.to_string()),
                ("converged", t.converged.to_string()),
                ("metrics", json(&t.metrics)),
            ]),
            Origin::Converted(c) => {
                props.push(("feature_names_recorded", c.feature_names_recorded.to_string()))
            }
        }
        if let Some(verification) = &self.verification {
            props.push(("verification", json(verification)));
        }
        match &self.origin {
            Origin::Trained(t) => props.push(("trained_at", t.trained_at.clone())),
            Origin::Converted(c) => props.push(("converted_at", c.converted_at.clone())),
        }
        props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// Compact JSON of a provenance value.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("provenance values serialise")
}
