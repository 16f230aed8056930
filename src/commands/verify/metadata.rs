//! The checklist's lines about the provenance record: the SHA-256 the companion JSON records,
//! the metadata a model must carry, and that metadata, graph and companion JSON all say the
//! same. Both records are read with the types they were written with ([`Provenance`],
//! [`Companion`]).

use crate::export::Companion;
use crate::model::{CategoryKind, columns_of_kind};
use crate::onnx::load::OnnxFile;
use crate::onnx::{
    ColumnsRecord, ConversionRecord, Flavor, Hyperparameters, ModelInfo, Ops, Origin, Precision,
    Provenance, SearchRecord, SparkRecord, TableInfo, TrainingRecord,
};
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

/// Metadata a model converted from a saved Spark model carries besides the common entries.
pub const SPARK_METADATA: [&str; 7] = [
    "spark_directory",
    "spark_version",
    "spark_class",
    "spark_uid",
    "spark_stages",
    "spark_files",
    "converted_at",
];

/// The metadata a model with `origin` must carry.
pub(super) fn required_metadata(origin: Option<&str>) -> Vec<&'static str> {
    let specific: &[&str] = match origin {
        Some("converted") => &CONVERTED_METADATA,
        Some("spark") => &SPARK_METADATA,
        _ => &TRAINED_METADATA,
    };
    COMMON_METADATA.iter().chain(specific).copied().collect()
}

/// The companion's SHA-256 is the file's.
pub(super) fn matches_sha(companion: &Companion, file: &OnnxFile) -> Result<String, String> {
    let actual = sha256_hex(file.bytes());
    if companion.model_sha256 == actual {
        Ok(actual)
    } else {
        Err(format!(
            "the file's SHA-256 is {actual}, the companion JSON records {}",
            companion.model_sha256
        ))
    }
}

/// The provenance record in the metadata describes the graph it sits in.
pub(super) fn consistent(
    recorded: &Result<Provenance, String>,
    info: &ModelInfo,
) -> Result<String, String> {
    let recorded = recorded.as_ref().map_err(Clone::clone)?;
    let mut problems = Vec::new();
    let columns =
        info.table.as_ref().map_or(info.n_features, |t| t.numeric.len() + t.categorical.len());
    if recorded.feature_names.len() != columns {
        problems.push(format!("feature_names does not list {columns} names"));
    }
    match (&recorded.columns, &info.table) {
        (None, None) => {}
        (Some(record), Some(table)) => {
            problems.extend(columns_problems(record, table, info.input_type))
        }
        (Some(_), None) => {
            problems.push("columns describes a table, but the graph takes one numeric input".into())
        }
        (None, Some(_)) => problems
            .push("the graph takes a table's columns, but no columns record describes them".into()),
    }
    if recorded.class_labels != info.classes {
        problems.push(format!("class_labels is not the graph's classes {}", info.classes));
    }
    if recorded.ir_version != info.ir_version {
        problems.push(format!("ir_version is not the file's {}", info.ir_version));
    }
    let mut opsets: Vec<(String, i64)> =
        recorded.opset_imports.iter().map(|o| (o.domain.clone(), o.version)).collect();
    opsets.sort();
    if opsets != info.opsets {
        problems.push(format!("opset_imports is not the file's {:?}", info.opsets));
    }
    let (ops, name) = match info.flavor {
        Flavor::Ml => (Ops::Ml, "ml"),
        Flavor::Standard => (Ops::Standard, "standard"),
    };
    let graph = &recorded.graph;
    if graph.ops != ops
        || graph.input_dtype != info.input_type
        || graph.dtype != info.probability_type
    {
        problems.push(format!(
            "graph does not record the file's {name} operators with {} input and {} arithmetic",
            info.input_type.name(),
            info.probability_type.name()
        ));
    }
    if problems.is_empty() {
        let columns = info.table.as_ref().map_or_else(String::new, |t| {
            format!(
                "{} columns ({} numeric, {} text, their categories and fill values as recorded), ",
                t.numeric.len() + t.categorical.len(),
                t.numeric.len(),
                t.categorical.len()
            )
        });
        Ok(format!(
            "{columns}{} features, classes {}, IR {}, opsets {:?}",
            info.n_features, info.classes, info.ir_version, info.opsets
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// Where the columns record disagrees with the table the graph computes: names and roles,
/// indicators, categories (null is the missing category, fed as ""), and the imputation
/// statistics as the file's input type holds them.
fn columns_problems(record: &ColumnsRecord, table: &TableInfo, input: Precision) -> Vec<String> {
    let mut problems = Vec::new();
    if record.inputs != table.layout {
        problems.push("columns.inputs is not the graph's input layout".into());
    }
    if record.numeric != table.numeric || record.categorical != table.categorical {
        problems.push("columns does not name the graph's numeric and text columns".into());
    }
    if record.integer_columns
        != columns_of_kind(&table.categorical, &table.kinds, CategoryKind::Integer)
    {
        problems.push("columns.integer_columns is not the graph's INT64 inputs".into());
    }
    if record.indicator_features != table.indicator_features {
        problems.push("columns.indicator_features is not the graph's".into());
    }
    let categories: Vec<Vec<String>> = record
        .categories
        .iter()
        .map(|c| c.iter().map(|v| v.clone().unwrap_or_default()).collect())
        .collect();
    if categories != table.categories {
        problems.push("columns.categories is not the graph's".into());
    }
    let stored = |v: f64| match input {
        Precision::Float32 => f64::from(v as f32),
        Precision::Float64 => v,
    };
    let statistics: Vec<f64> = record.statistics.iter().map(|&v| stored(v)).collect();
    if statistics != table.statistics {
        problems.push("columns.statistics is not what the graph fills in".into());
    }
    if record.missing_number != "NaN" || !record.missing_text.is_empty() {
        problems
            .push("columns says to feed missing values otherwise than the graph reads them".into());
    }
    problems
}

/// The grid search record agrees with itself (candidates, means, ranks, best index) and chose
/// the hyperparameters the model records, with a scorer defined for the model's classes.
pub(super) fn search_consistent(
    search: &SearchRecord,
    hyperparameters: &Hyperparameters,
    info: &ModelInfo,
) -> Result<String, String> {
    let mut problems = search.problems(hyperparameters.c, hyperparameters.class_weight);
    if !search.scoring.supports(info.classes.len()) {
        problems.push(format!(
            "{} does not score {} classes",
            search.scoring.name(),
            info.classes.len()
        ));
    }
    if problems.is_empty() {
        Ok(format!(
            "{} candidates x {} folds scored by {}; the best, C {} with class_weight {}, is the \
             model's",
            search.candidates.len(),
            search.n_splits,
            search.scoring.name(),
            hyperparameters.c,
            hyperparameters.class_weight.name()
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// The provenance record in the metadata and the one in the companion JSON say the same.
pub(super) fn agrees(
    companion: &Result<Companion, String>,
    recorded: &Result<Provenance, String>,
) -> Result<String, String> {
    let companion = &companion.as_ref().map_err(Clone::clone)?.provenance;
    let recorded = recorded.as_ref().map_err(Clone::clone)?;
    let mut differ: Vec<&str> = Vec::new();
    let mut compare = |name, same: bool| {
        if !same {
            differ.push(name);
        }
    };
    let kind = |origin: &Origin| std::mem::discriminant(origin);
    compare("origin", kind(&recorded.origin) == kind(&companion.origin));
    compare("feature names", recorded.feature_names == companion.feature_names);
    compare("class labels", recorded.class_labels == companion.class_labels);
    compare("columns", recorded.columns == companion.columns);
    compare("verification", recorded.verification == companion.verification);
    let checked_items = match &recorded.origin {
        Origin::Converted(ours) => {
            let theirs = match &companion.origin {
                Origin::Converted(theirs) => Some(theirs),
                _ => None,
            };
            let same = |same: fn(&ConversionRecord, &ConversionRecord) -> bool| {
                theirs.is_some_and(|theirs| same(ours, theirs))
            };
            compare("source sha256", same(|a, b| a.source.sha256 == b.source.sha256));
            compare("source file name", same(|a, b| a.source.file_name == b.source.file_name));
            compare("scikit-learn version", same(|a, b| a.sklearn_version == b.sklearn_version));
            compare("conversion date", same(|a, b| a.converted_at == b.converted_at));
            "source, features, columns, classes, verification, date"
        }
        Origin::Trained(ours) => {
            let theirs = match &companion.origin {
                Origin::Trained(theirs) => Some(theirs),
                _ => None,
            };
            let same = |same: fn(&TrainingRecord, &TrainingRecord) -> bool| {
                theirs.is_some_and(|theirs| same(ours, theirs))
            };
            compare("dataset sha256", same(|a, b| a.dataset.sha256 == b.dataset.sha256));
            compare("dataset file name", same(|a, b| a.dataset.file_name == b.dataset.file_name));
            compare("hyperparameters", same(|a, b| a.hyperparameters == b.hyperparameters));
            compare("metrics", same(|a, b| a.metrics == b.metrics));
            compare("model selection", same(|a, b| a.model_selection == b.model_selection));
            compare("training date", same(|a, b| a.trained_at == b.trained_at));
            "dataset, features, columns, classes, hyperparameters, metrics, model selection, \
             verification, date"
        }
        Origin::Spark(ours) => {
            let theirs = match &companion.origin {
                Origin::Spark(theirs) => Some(theirs),
                _ => None,
            };
            let same = |same: fn(&SparkRecord, &SparkRecord) -> bool| {
                theirs.is_some_and(|theirs| same(ours, theirs))
            };
            compare("files read", same(|a, b| a.files == b.files));
            compare("Spark version", same(|a, b| a.spark_version == b.spark_version));
            compare(
                "stages",
                same(|a, b| (&a.class, &a.uid, &a.stages) == (&b.class, &b.uid, &b.stages)),
            );
            compare("conversion date", same(|a, b| a.converted_at == b.converted_at));
            "Spark files, stages, features, columns, classes, verification, date"
        }
    };
    if differ.is_empty() {
        Ok(checked_items.into())
    } else {
        Err(format!("differs in {}", differ.join(", ")))
    }
}
