//! What a checked model is: what it computes (its flavor, precision, classes, the scaler's and
//! the classifier's parameters) and what its file says about itself, shared by the check that
//! makes it and everything that reads it.

use super::graph::{InputLayout, Precision};
use crate::data::Classes;
use crate::model::{CategoryKind, ColumnNames};

/// An allow-listed model: what it computes, and the bytes to give tract.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedModel {
    pub info: ModelInfo,
    pub(super) tract_bytes: Vec<u8>,
}

impl CheckedModel {
    /// The model as tract receives it (see the module documentation).
    pub fn tract_bytes(&self) -> &[u8] {
        &self.tract_bytes
    }
}

/// What a checked model computes and what its file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    /// (domain, version); the default domain is written "ai.onnx".
    pub opsets: Vec<(String, i64)>,
    pub inputs: Vec<Signature>,
    pub outputs: Vec<Signature>,
    /// (name, op type, domain) of each node, in order.
    pub nodes: Vec<(String, String, String)>,
    /// Name of the label output.
    pub label_output: String,
    /// Name of the probability output.
    pub probability_output: String,
    /// Which operators compute the scores.
    pub flavor: Flavor,
    pub input_type: Precision,
    pub probability_type: Precision,
    pub n_features: usize,
    /// Class labels in probability-column order.
    pub classes: Classes,
    pub scaler: Option<ScalerParams>,
    pub classifier: ClassifierParams,
    /// The Normalizer's norm, when the graph has one.
    pub normalizer: Option<String>,
    /// The probabilities' divisors whose largest quotient is the label (Spark's thresholds),
    /// when the label is not the most probable class.
    pub thresholds: Option<Vec<f64>>,
    /// For a column pipeline's graph, its inputs and what it fitted besides the scaler and the
    /// classifier (then `n_features` counts the classifier's features, `scaler` covers the
    /// numeric block and `input_type` is the numeric inputs' type).
    pub table: Option<TableInfo>,
    pub metadata: Vec<(String, String)>,
    pub n_bytes: usize,
}

/// The inputs and fitted text and statistics of a column pipeline's graph.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    pub layout: InputLayout,
    /// Numeric columns in design order: the inputs' names, or for grouped inputs the names the
    /// metadata records (`numeric[0]`, ... without them).
    pub numeric: Vec<String>,
    /// Text columns in design order, named alike.
    pub categorical: Vec<String>,
    /// The imputer's fill value per numeric column.
    pub statistics: Vec<f64>,
    /// Numeric columns with a missing indicator.
    pub indicator_features: Vec<usize>,
    /// Per categorical column its categories (integers as their decimal spellings).
    pub categories: Vec<Vec<String>>,
    /// Per categorical column, how its input is typed (STRING or INT64).
    pub kinds: Vec<CategoryKind>,
    /// The text a missing cell is fed as: "" for onnxify's graphs (the missing category is
    /// ""), "nan" for scikit-learn's converter's (which names it so).
    pub missing_text: &'static str,
}

impl TableInfo {
    /// The columns the graph takes, as a column pipeline names them.
    pub fn column_names(&self) -> ColumnNames {
        ColumnNames {
            numeric: self.numeric.clone(),
            categorical: self.categorical.clone(),
            kinds: self.kinds.clone(),
        }
    }

    /// Width of the scaled numeric block: the imputed columns and the indicators.
    pub fn numeric_width(&self) -> usize {
        self.numeric.len() + self.indicator_features.len()
    }
}

/// A graph input or output: name, element type and dimensions as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub elem_type: String,
    pub dims: Vec<String>,
}

/// Which operators compute the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// LinearClassifier (ai.onnx.ml).
    Ml,
    /// MatMul, Add and an activation (default domain).
    Standard,
}

/// The scaling: `(x - offset) / scale` if `divides`, else `(x - offset) * scale` (the ai.onnx.ml
/// Scaler's form); each vector has one value per feature, or one for all.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerParams {
    pub offset: Vec<f64>,
    pub scale: Vec<f64>,
    pub divides: bool,
}

impl ScalerParams {
    /// scikit-learn's `mean_` and `scale_` for `n` features.
    pub fn mean_and_scale(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let at = |v: &[f64], j: usize| if v.len() == 1 { v[0] } else { v[j] };
        let mean = (0..n).map(|j| at(&self.offset, j)).collect();
        let scale = (0..n)
            .map(|j| if self.divides { at(&self.scale, j) } else { 1.0 / at(&self.scale, j) })
            .collect();
        (mean, scale)
    }
}

/// The score computation: `x W^T + b` then the post-transform.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierParams {
    /// `rows x n_features`, row-major: one row per score column.
    pub coefficients: Vec<f64>,
    pub rows: usize,
    pub intercepts: Vec<f64>,
    /// NONE, LOGISTIC or SOFTMAX.
    pub post_transform: String,
    pub multi_class: i64,
}

impl ModelInfo {
    /// A metadata value.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Feature names recorded by onnxify, if present and one per input column.
    pub fn feature_names(&self) -> Option<Vec<String>> {
        let names: Vec<String> = serde_json::from_str(self.metadata("feature_names")?).ok()?;
        let count = match &self.table {
            Some(table) => table.numeric.len() + table.categorical.len(),
            None => self.n_features,
        };
        (names.len() == count).then_some(names)
    }

    /// The names to match data columns by: the recorded feature names, unless the model
    /// records that they were made up (`x0, x1, ...` for a converted pipeline that was fitted
    /// on an unnamed array, which takes its columns in order, as scikit-learn did).
    pub fn column_names(&self) -> Option<Vec<String>> {
        if self.metadata("feature_names_recorded") == Some("false") {
            return None;
        }
        self.feature_names()
    }
}
