//! The provenance record: what a reviewer needs to trust a model file, stored twice, in the
//! model's `metadata_props` and in the companion JSON next to it. It holds statistics and
//! identifiers only, never training rows. A trained model records its dataset, hyperparameters
//! and metrics; a converted one records the pickle it came from.

use serde::{Deserialize, Serialize};

use crate::data::Classes;
use crate::metrics::Metrics;
use crate::model::{ClassWeight, ImputeStrategy};
use crate::onnx::{InputLayout, Ops, Precision, SearchRecord};

/// Where a model came from and how it was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub onnxify_version: String,
    pub ir_version: i64,
    pub opset_imports: Vec<OpsetImport>,
    pub graph: GraphRecord,
    /// Trained by onnxify, or converted from a scikit-learn pickle, with the record of each.
    #[serde(flatten)]
    pub origin: Origin,
    /// Feature names in input-column order (for a table: the numeric columns, then the text
    /// columns).
    pub feature_names: Vec<String>,
    /// For a table's column pipeline: its columns, what it fitted to them, and how missing
    /// values are fed. Absent for a numeric matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<ColumnsRecord>,
    /// Class labels in probability-column order.
    pub class_labels: Classes,
    /// Result of running the written file; `None` only before verification.
    pub verification: Option<Verification>,
}

/// The columns of a table's model and what the column pipeline fitted to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnsRecord {
    /// How the columns reach the graph: one input each, or grouped.
    pub inputs: InputLayout,
    /// Numeric columns, in design order.
    pub numeric: Vec<String>,
    /// Text (categorical) columns, in design order.
    pub categorical: Vec<String>,
    /// The categorical columns fed as INT64 (integer categories, never missing); the others
    /// are fed as STRING.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integer_columns: Vec<String>,
    /// How a missing number was filled: scikit-learn's SimpleImputer strategy.
    pub impute: ImputeStrategy,
    /// The fill value per numeric column (`statistics_`).
    pub statistics: Vec<f64>,
    /// Numeric columns (indices) with a missing indicator (`indicator_.features_`).
    pub indicator_features: Vec<usize>,
    /// Per text column, its categories (`categories_`); null is the missing category.
    pub categories: Vec<Vec<Option<String>>>,
    /// What to feed for a missing number: "NaN".
    pub missing_number: String,
    /// What to feed for a missing text: "" (the empty string).
    pub missing_text: String,
}

/// How the model's parameters came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "lowercase")]
pub enum Origin {
    Trained(TrainingRecord),
    Converted(ConversionRecord),
    Spark(SparkRecord),
}

/// A model converted from a directory Spark MLlib saved, read as data without a JVM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SparkRecord {
    /// The directory's name, without its parents.
    pub directory: String,
    /// The Spark version the metadata records (`sparkVersion`).
    pub spark_version: String,
    /// The saved model's JVM class and uid.
    pub class: String,
    pub uid: String,
    /// Each stage in order, as `uid (class)`.
    pub stages: Vec<String>,
    /// Every file read, relative to the directory, with its SHA-256.
    pub files: Vec<FileHash>,
    /// Conversion date, UTC, RFC 3339.
    pub converted_at: String,
}

/// A file and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: String,
    pub sha256: String,
}

/// A model onnxify trained from a CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    pub dataset: DatasetRecord,
    pub target: String,
    pub hyperparameters: Hyperparameters,
    pub n_iter: u64,
    pub converged: bool,
    /// Held-out metrics; `None` when every row trained.
    pub metrics: Option<Metrics>,
    /// The grid search that chose the hyperparameters; absent when none ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_selection: Option<Box<SearchRecord>>,
    /// Training date, UTC, RFC 3339.
    pub trained_at: String,
}

/// A model converted from a fitted scikit-learn pipeline in a pickle, without loading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionRecord {
    pub source: SourceRecord,
    /// The scikit-learn version the pickle records (`_sklearn_version`), if it records one.
    pub sklearn_version: Option<String>,
    /// The estimator the pickle holds: "Pipeline" or "LogisticRegression".
    pub estimator: String,
    /// Whether the feature names come from the pickle (`feature_names_in_`) or were made up
    /// as `x0, x1, ...` because the pipeline was fitted on an unnamed array.
    pub feature_names_recorded: bool,
    /// Each step the pickle holds, named as scikit-learn names it, with its class and shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// The search that chose the model, when the pickle holds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<PickledSearch>,
    /// Conversion date, UTC, RFC 3339.
    pub converted_at: String,
}

/// A fitted `GridSearchCV` or `RandomizedSearchCV`'s choice, as its pickle records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickledSearch {
    /// "GridSearchCV" or "RandomizedSearchCV".
    pub class: String,
    /// `best_params_`: each parameter and its value as Python prints it.
    pub best_params: Vec<(String, String)>,
    /// `best_score_`: the chosen candidate's mean cross-validated score.
    pub best_score: Option<f64>,
    /// The candidates tried (`cv_results_["params"]`).
    pub candidates: Option<usize>,
    /// `n_splits_`: the folds each candidate was scored on.
    pub folds: Option<i64>,
    /// `scoring`, or "the estimator's score" when none was given.
    pub scoring: String,
}

/// The pickle a model was converted from, identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// File name without its directory.
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    /// "pickle protocol 4", "joblib pickle protocol 4, zlib-compressed", ...
    pub format: String,
}

/// How the graph computes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsetImport {
    pub domain: String,
    pub version: i64,
}

/// The training CSV, identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// File name without its directory.
    pub file_name: String,
    pub sha256: String,
    pub rows: usize,
    pub columns: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    #[serde(rename = "C")]
    pub c: f64,
    pub max_iter: u64,
    pub tol: f64,
    /// How rows were weighed by class; left out when every row weighed 1.
    #[serde(default, skip_serializing_if = "ClassWeight::is_none")]
    pub class_weight: ClassWeight,
    pub test_size: f64,
    pub seed: u64,
}

/// How the ONNX file's predictions compared with the native float64 pipeline's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The runtime that loaded the file.
    pub runtime: String,
    /// Which rows were run: "held-out", "training" (with a test size of 0), "probe" (rows
    /// made from the scaler's parameters, for a converted model), or the rows of the data file
    /// a converted model was verified on, "data" (a CSV) or "parquet".
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
    /// How a row is named: probe rows and Parquet rows by their number, the others by their
    /// line in the CSV.
    pub fn row_word(&self) -> &'static str {
        match self.rows_used.as_str() {
            "probe" => "probe row",
            "parquet" => "row",
            _ => "line",
        }
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
            Origin::Spark(c) => props.extend([
                ("origin", "spark".to_owned()),
                ("spark_directory", c.directory.clone()),
                ("spark_version", c.spark_version.clone()),
                ("spark_class", c.class.clone()),
                ("spark_uid", c.uid.clone()),
                ("spark_stages", json(&c.stages)),
                ("spark_files", json(&c.files)),
            ]),
        }
        props.extend([
            ("feature_names", json(&self.feature_names)),
            ("class_labels", json(&self.class_labels)),
        ]);
        if let Some(columns) = &self.columns {
            props.push(("columns", json(columns)));
        }
        match &self.origin {
            Origin::Trained(t) => props.extend([
                ("target", t.target.clone()),
                ("hyperparameters", json(&t.hyperparameters)),
                ("n_iter", t.n_iter.to_string()),
                ("converged", t.converged.to_string()),
                ("metrics", json(&t.metrics)),
            ]),
            Origin::Converted(c) => {
                props.push(("feature_names_recorded", c.feature_names_recorded.to_string()));
                if !c.steps.is_empty() {
                    props.push(("steps", json(&c.steps)));
                }
                if let Some(search) = &c.search {
                    props.push(("search", json(search)));
                }
            }
            Origin::Spark(_) => {}
        }
        if let Origin::Trained(TrainingRecord { model_selection: Some(search), .. }) = &self.origin
        {
            props.push(("model_selection", json(search)));
        }
        if let Some(verification) = &self.verification {
            props.push(("verification", json(verification)));
        }
        match &self.origin {
            Origin::Trained(t) => props.push(("trained_at", t.trained_at.clone())),
            Origin::Converted(c) => props.push(("converted_at", c.converted_at.clone())),
            Origin::Spark(c) => props.push(("converted_at", c.converted_at.clone())),
        }
        props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

impl Provenance {
    /// The record read back from the entries [`Provenance::metadata_props`] writes, with the
    /// same types: scalars from their text, structures from their JSON. `entry` looks an entry
    /// up by key. The error names the entry that does not fit the record.
    pub fn from_metadata<'a>(
        entry: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Provenance, String> {
        use serde_json::{Map, Value};
        let text = |key: &str| entry(key).map(|v| Value::String(v.to_owned()));
        let parsed = |key: &str| -> Result<Option<Value>, String> {
            entry(key)
                .map(|v| {
                    serde_json::from_str(v)
                        .map_err(|e| format!("the metadata entry {key} is not JSON ({e})"))
                })
                .transpose()
        };
        let mut record = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                record.insert(key.to_owned(), value);
            }
        };
        put("onnxify_version", text("onnxify_version"));
        for key in ["ir_version", "opset_imports", "graph", "feature_names", "class_labels"] {
            put(key, parsed(key)?);
        }
        put("columns", parsed("columns")?);
        put("verification", parsed("verification")?);
        put("origin", text("origin"));
        match entry("origin") {
            Some("converted") => {
                let source = [
                    ("file_name", text("source_file_name")),
                    ("sha256", text("source_sha256")),
                    ("bytes", parsed("source_bytes")?),
                    ("format", text("source_format")),
                ];
                put("source", Some(object(source)));
                put("sklearn_version", parsed("sklearn_version")?);
                put("estimator", text("estimator"));
                put("feature_names_recorded", parsed("feature_names_recorded")?);
                put("steps", parsed("steps")?);
                put("search", parsed("search")?);
                put("converted_at", text("converted_at"));
            }
            Some("spark") => {
                put("directory", text("spark_directory"));
                put("spark_version", text("spark_version"));
                put("class", text("spark_class"));
                put("uid", text("spark_uid"));
                put("stages", parsed("spark_stages")?);
                put("files", parsed("spark_files")?);
                put("converted_at", text("converted_at"));
            }
            _ => {
                let dataset = [
                    ("file_name", text("dataset_file_name")),
                    ("sha256", text("dataset_sha256")),
                    ("rows", parsed("dataset_rows")?),
                    ("columns", parsed("dataset_columns")?),
                ];
                put("dataset", Some(object(dataset)));
                put("target", text("target"));
                for key in ["hyperparameters", "n_iter", "converged", "metrics", "model_selection"]
                {
                    put(key, parsed(key)?);
                }
                put("trained_at", text("trained_at"));
            }
        }
        serde_json::from_value(Value::Object(record))
            .map_err(|e| format!("the metadata is not a provenance record: {e}"))
    }
}

/// A JSON object of the entries present.
fn object<const N: usize>(entries: [(&str, Option<serde_json::Value>); N]) -> serde_json::Value {
    let fields = entries.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?)));
    serde_json::Value::Object(fields.collect())
}

/// Compact JSON of a provenance value.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("provenance values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ClassMetrics;

    fn common(origin: Origin) -> Provenance {
        Provenance {
            onnxify_version: "0.1.0".into(),
            ir_version: 8,
            opset_imports: vec![
                OpsetImport { domain: "".into(), version: 17 },
                OpsetImport { domain: "ai.onnx.ml".into(), version: 1 },
            ],
            graph: GraphRecord {
                ops: Ops::Ml,
                input_dtype: Precision::Float64,
                dtype: Precision::Float32,
                input_dtype_reason: Some("float32 input changed 2 of 9 labels".into()),
            },
            origin,
            feature_names: vec!["a".into(), "b,\"c\"".into()],
            columns: None,
            class_labels: Classes::Strings(vec!["x".into(), "1.5".into()]),
            verification: Some(Verification {
                runtime: "tract".into(),
                rows_used: "held-out".into(),
                rows_checked: 9,
                labels_agreeing: 9,
                near_ties: 0,
                max_probability_difference: 1.0 / 3.0 * 1e-7,
                max_difference_line: Some(12),
                probability_tolerance: 1e-5,
                passed: true,
            }),
        }
    }

    fn read_back(record: &Provenance) -> Provenance {
        let props = record.metadata_props();
        Provenance::from_metadata(|key| {
            props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        })
        .unwrap()
    }

    #[test]
    fn a_trained_record_reads_back_from_the_metadata_as_written() {
        let record = common(Origin::Trained(TrainingRecord {
            dataset: DatasetRecord {
                file_name: "train.csv".into(),
                sha256: "ab".repeat(32),
                rows: 150,
                columns: 3,
            },
            target: "species".into(),
            hyperparameters: Hyperparameters {
                c: 0.1,
                max_iter: 1000,
                tol: 1e-8,
                class_weight: ClassWeight::Balanced,
                test_size: 0.25,
                seed: 7,
            },
            n_iter: 31,
            converged: true,
            metrics: Some(Metrics {
                n_rows: 38,
                accuracy: 0.1 + 0.2,
                log_loss: 0.25,
                macro_f1: 2.0 / 3.0,
                roc_auc: None,
                per_class: vec![ClassMetrics {
                    class: "x".into(),
                    precision: 1.0,
                    recall: 0.5,
                    f1: 2.0 / 3.0,
                    support: 2,
                }],
                confusion_matrix: vec![vec![1, 1], vec![0, 36]],
            }),
            model_selection: None,
            trained_at: "2026-01-01T00:00:00Z".into(),
        }));
        assert_eq!(read_back(&record), record);
    }

    #[test]
    fn a_converted_record_reads_back_from_the_metadata_as_written() {
        let mut record = common(Origin::Converted(ConversionRecord {
            source: SourceRecord {
                file_name: "model.pkl".into(),
                sha256: "cd".repeat(32),
                bytes: 1985,
                format: "pickle protocol 4".into(),
            },
            sklearn_version: None,
            estimator: "Pipeline".into(),
            feature_names_recorded: false,
            steps: vec!["scaler: StandardScaler (4 features)".into()],
            search: Some(PickledSearch {
                class: "GridSearchCV".into(),
                best_params: vec![("clf__C".into(), "10.0".into())],
                best_score: Some(0.97),
                candidates: Some(3),
                folds: Some(5),
                scoring: "accuracy".into(),
            }),
            converted_at: "2026-01-01T00:00:00Z".into(),
        }));
        record.verification = None;
        assert_eq!(read_back(&record), record);
    }

    #[test]
    fn a_spark_record_reads_back_from_the_metadata_as_written() {
        let record = common(Origin::Spark(SparkRecord {
            directory: "penguins_model".into(),
            spark_version: "4.3.0".into(),
            class: "org.apache.spark.ml.PipelineModel".into(),
            uid: "PipelineModel_1".into(),
            stages: vec![
                "StandardScaler_2 (org.apache.spark.ml.feature.StandardScalerModel)".into(),
            ],
            files: vec![FileHash { path: "metadata/part-00000".into(), sha256: "ef".repeat(32) }],
            converted_at: "2026-01-01T00:00:00Z".into(),
        }));
        assert_eq!(read_back(&record), record);
        let props = record.metadata_props();
        let origin = props.iter().find(|(k, _)| k == "origin").unwrap();
        assert_eq!(origin.1, "spark");
    }

    #[test]
    fn an_entry_that_does_not_fit_the_record_is_named() {
        let record = common(Origin::Converted(ConversionRecord {
            source: SourceRecord {
                file_name: "m.pkl".into(),
                sha256: String::new(),
                bytes: 1,
                format: String::new(),
            },
            sklearn_version: Some("1.9".into()),
            estimator: "LogisticRegression".into(),
            feature_names_recorded: true,
            steps: Vec::new(),
            search: None,
            converted_at: String::new(),
        }));
        let mut props = record.metadata_props();
        props.iter_mut().find(|(k, _)| k == "source_bytes").unwrap().1 = "many".into();
        let error = Provenance::from_metadata(|key| {
            props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        })
        .unwrap_err();
        assert!(error.contains("source_bytes"), "{error}");
    }
}
