//! The provenance record: what a reviewer needs to trust a model file, stored twice, in the
//! model's `metadata_props` and in the companion JSON next to it. It holds statistics and
//! identifiers only, never training rows.

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
    pub dataset: DatasetRecord,
    /// Feature names in input-column order.
    pub feature_names: Vec<String>,
    pub target: String,
    /// Class labels in probability-column order.
    pub class_labels: Classes,
    pub hyperparameters: Hyperparameters,
    pub n_iter: u64,
    pub converged: bool,
    /// Held-out metrics; `None` when every row trained.
    pub metrics: Option<Metrics>,
    /// Result of running the written file; `None` only before verification.
    pub verification: Option<Verification>,
    /// Training date, UTC, RFC 3339.
    pub trained_at: String,
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
    /// Which rows were run: "held-out" or "training" (with a test size of 0).
    pub rows_used: String,
    pub rows_checked: usize,
    pub labels_agreeing: usize,
    /// Rows whose labels differ where the native top-two probabilities are closer than twice
    /// the tolerance, so float32 rounding alone can swap them.
    pub near_ties: usize,
    pub max_probability_difference: f64,
    /// File line of the row with the largest probability difference.
    pub max_difference_line: Option<u64>,
    pub probability_tolerance: f64,
    pub passed: bool,
}

impl Provenance {
    /// The record as `metadata_props` entries: scalars as text, structures as compact JSON.
    pub fn metadata_props(&self) -> Vec<(String, String)> {
        let mut props = vec![
            ("onnxify_version", self.onnxify_version.clone()),
            ("ir_version", self.ir_version.to_string()),
            ("opset_imports", json(&self.opset_imports)),
            ("graph", json(&self.graph)),
            ("dataset_file_name", self.dataset.file_name.clone()),
            ("dataset_sha256", self.dataset.sha256.clone()),
            ("dataset_rows", self.dataset.rows.to_string()),
            ("dataset_columns", self.dataset.columns.to_string()),
            ("feature_names", json(&self.feature_names)),
            ("target", self.target.clone()),
            ("class_labels", json(&self.class_labels)),
            ("hyperparameters", json(&self.hyperparameters)),
            ("n_iter", self.n_iter.to_string()),
            ("converged", self.converged.to_string()),
            ("metrics", json(&self.metrics)),
        ];
        if let Some(verification) = &self.verification {
            props.push(("verification", json(verification)));
        }
        props.push(("trained_at", self.trained_at.clone()));
        props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// Compact JSON of a provenance value.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("provenance values serialise")
}
