//! The stages onnxify reads from a saved Spark model, each with its parameters as Spark applies
//! them and its fitted values checked: lengths against the columns they serve, finite numbers,
//! distinct labels. Any other stage class is refused by name.

use ndarray::Array2;

use super::linalg::{matrix, vector};
use super::{Field, SavedStage, SparkProblem};

const FEATURE: &str = "org.apache.spark.ml.feature.";
const CLASSIFICATION: &str = "org.apache.spark.ml.classification.";

/// What a stage does with an invalid value (an unseen label, a null, a NaN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Error,
    Skip,
    Keep,
}

impl Invalid {
    pub fn name(self) -> &'static str {
        match self {
            Invalid::Error => "error",
            Invalid::Skip => "skip",
            Invalid::Keep => "keep",
        }
    }
}

/// A stage onnxify reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Texts to label indices, one list of labels per input column (index order).
    StringIndexer {
        inputs: Vec<String>,
        outputs: Vec<String>,
        labels: Vec<Vec<String>>,
        invalid: Invalid,
    },
    /// Indices to one-hot vectors of `sizes[i]` categories (less the last with `drop_last`,
    /// plus one for invalid indices with `Keep`).
    OneHotEncoder {
        inputs: Vec<String>,
        outputs: Vec<String>,
        sizes: Vec<usize>,
        drop_last: bool,
        invalid: Invalid,
    },
    /// Null or `missing_value` (NaN by default) replaced by each column's surrogate.
    Imputer {
        inputs: Vec<String>,
        outputs: Vec<String>,
        surrogates: Vec<f64>,
        missing_value: f64,
        strategy: String,
    },
    /// Columns (numbers and vectors) concatenated into one vector.
    VectorAssembler { inputs: Vec<String>, output: String, invalid: Invalid },
    /// `(x - mean) * (1 / std)`, a zero std giving 0.
    StandardScaler {
        input: String,
        output: String,
        with_mean: bool,
        with_std: bool,
        mean: Vec<f64>,
        std: Vec<f64>,
    },
    /// Binomial: one row of coefficients, the label by `threshold`; multinomial: one row per
    /// class and a softmax, the label by the largest probability (over `thresholds`, if set).
    LogisticRegression {
        features: String,
        label: String,
        coefficients: Array2<f64>,
        intercepts: Vec<f64>,
        multinomial: bool,
        threshold: f64,
        thresholds: Option<Vec<f64>>,
    },
}

impl Stage {
    /// The stage's short class name, as Spark names the model.
    pub fn class_name(&self) -> &'static str {
        match self {
            Stage::StringIndexer { .. } => "StringIndexerModel",
            Stage::OneHotEncoder { .. } => "OneHotEncoderModel",
            Stage::Imputer { .. } => "ImputerModel",
            Stage::VectorAssembler { .. } => "VectorAssembler",
            Stage::StandardScaler { .. } => "StandardScalerModel",
            Stage::LogisticRegression { .. } => "LogisticRegressionModel",
        }
    }

    /// One line on what the stage does and its fitted sizes, for the report.
    pub fn describe(&self) -> String {
        match self {
            Stage::StringIndexer { inputs, outputs, labels, invalid } => format!(
                "{} -> {} ({} labels; handleInvalid {})",
                inputs.join(", "),
                outputs.join(", "),
                labels.iter().map(|l| l.len().to_string()).collect::<Vec<_>>().join(", "),
                invalid.name()
            ),
            Stage::OneHotEncoder { inputs, outputs, sizes, drop_last, invalid } => format!(
                "{} -> {} (categories {sizes:?}; dropLast {drop_last}; handleInvalid {})",
                inputs.join(", "),
                outputs.join(", "),
                invalid.name()
            ),
            Stage::Imputer { inputs, outputs, strategy, missing_value, .. } => format!(
                "{} -> {} ({strategy}; missing value {missing_value})",
                inputs.join(", "),
                outputs.join(", ")
            ),
            Stage::VectorAssembler { inputs, output, invalid } => {
                format!("{} -> {output} (handleInvalid {})", inputs.join(", "), invalid.name())
            }
            Stage::StandardScaler { input, output, with_mean, with_std, std, .. } => format!(
                "{input} -> {output} ({} features; withMean {with_mean}, withStd {with_std})",
                std.len()
            ),
            Stage::LogisticRegression {
                features, coefficients, multinomial, threshold, ..
            } => {
                format!(
                    "{features} -> prediction ({} x {} coefficients, {}{})",
                    coefficients.nrows(),
                    coefficients.ncols(),
                    if *multinomial { "multinomial" } else { "binomial" },
                    if *multinomial { String::new() } else { format!(", threshold {threshold}") }
                )
            }
        }
    }

    /// The stage a saved one is; a class onnxify does not read is refused by name.
    pub fn read(saved: &SavedStage) -> Result<Stage, SparkProblem> {
        let m = &saved.metadata;
        let at = if saved.dir.is_empty() { "the model".to_owned() } else { saved.dir.clone() };
        let bad = |message: String| SparkProblem::unreadable(&at, message);
        let data = || saved.data.as_ref().ok_or_else(|| bad("has no data folder".into()));
        let invalid = |default: Invalid| -> Result<Invalid, SparkProblem> {
            match m.text("handleInvalid") {
                None => Ok(default),
                Some("error") => Ok(Invalid::Error),
                Some("skip") => Ok(Invalid::Skip),
                Some("keep") => Ok(Invalid::Keep),
                Some(other) => Err(bad(format!("has handleInvalid {other:?}"))),
            }
        };
        // A single-column stage names `inputCol`/`outputCol`; a multi-column one the plurals.
        let columns = || -> Result<(Vec<String>, Vec<String>), SparkProblem> {
            let pair = match (m.texts("inputCols"), m.texts("outputCols")) {
                (Some(inputs), Some(outputs)) => (inputs, outputs),
                _ => match (m.text("inputCol"), m.text("outputCol")) {
                    (Some(input), Some(output)) => {
                        (vec![input.to_owned()], vec![output.to_owned()])
                    }
                    _ => return Err(bad("names no input and output columns".into())),
                },
            };
            if pair.0.len() != pair.1.len() || pair.0.is_empty() {
                return Err(bad(format!(
                    "has {} input columns and {} output columns",
                    pair.0.len(),
                    pair.1.len()
                )));
            }
            Ok(pair)
        };
        let class = m.class.as_str();
        let stage = if class == format!("{FEATURE}StringIndexerModel") {
            let (inputs, outputs) = columns()?;
            let labels = string_labels(data()?).map_err(&bad)?;
            if labels.len() != inputs.len() {
                return Err(bad(format!(
                    "has labels for {} columns but {} input columns",
                    labels.len(),
                    inputs.len()
                )));
            }
            Stage::StringIndexer { inputs, outputs, labels, invalid: invalid(Invalid::Error)? }
        } else if class == format!("{FEATURE}OneHotEncoderModel") {
            let (inputs, outputs) = columns()?;
            let sizes = match data()?.get("categorySizes") {
                Some(Field::List(items)) => items
                    .iter()
                    .map(|v| match v {
                        Field::Int(n) if *n >= 0 && *n <= 1 << 24 => Ok(*n as usize),
                        other => Err(bad(format!("has a category size {other:?}"))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(bad("has no categorySizes list".into())),
            };
            if sizes.len() != inputs.len() {
                return Err(bad(format!(
                    "has {} category sizes for {} input columns",
                    sizes.len(),
                    inputs.len()
                )));
            }
            Stage::OneHotEncoder {
                inputs,
                outputs,
                sizes,
                drop_last: m.flag("dropLast").unwrap_or(true),
                invalid: invalid(Invalid::Error)?,
            }
        } else if class == format!("{FEATURE}ImputerModel") {
            let (inputs, outputs) = columns()?;
            let row = data()?;
            let surrogates = inputs
                .iter()
                .map(|name| match row.get(name) {
                    Some(Field::Double(v)) if v.is_finite() => Ok(*v),
                    Some(other) => Err(bad(format!("has the surrogate {other:?} for {name:?}"))),
                    None => Err(bad(format!("has no surrogate for {name:?}"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Stage::Imputer {
                inputs,
                outputs,
                surrogates,
                missing_value: m.number("missingValue").unwrap_or(f64::NAN),
                strategy: m.text("strategy").unwrap_or("mean").to_owned(),
            }
        } else if class == format!("{FEATURE}VectorAssembler") {
            let inputs = m.texts("inputCols").filter(|c| !c.is_empty());
            let (Some(inputs), Some(output)) = (inputs, m.text("outputCol")) else {
                return Err(bad("names no input columns or output column".into()));
            };
            Stage::VectorAssembler {
                inputs,
                output: output.to_owned(),
                invalid: invalid(Invalid::Error)?,
            }
        } else if class == format!("{FEATURE}StandardScalerModel") {
            let (inputs, outputs) = columns()?;
            let row = data()?;
            let field = |name: &str| -> Result<Vec<f64>, SparkProblem> {
                let values = row
                    .get(name)
                    .ok_or_else(|| bad(format!("has no {name}")))
                    .and_then(|f| vector(f).map_err(|e| bad(format!("{name}: {e}"))))?;
                match values.iter().find(|v| !v.is_finite()) {
                    Some(v) => Err(bad(format!("has {v} in its {name}"))),
                    None => Ok(values),
                }
            };
            let (mean, std) = (field("mean")?, field("std")?);
            if mean.len() != std.len() || std.iter().any(|&s| s < 0.0) {
                return Err(bad(format!(
                    "has {} means and {} standard deviations (each at least 0)",
                    mean.len(),
                    std.len()
                )));
            }
            Stage::StandardScaler {
                input: inputs[0].clone(),
                output: outputs[0].clone(),
                with_mean: m.flag("withMean").unwrap_or(false),
                with_std: m.flag("withStd").unwrap_or(true),
                mean,
                std,
            }
        } else if class == format!("{CLASSIFICATION}LogisticRegressionModel") {
            logistic_regression(saved, data()?).map_err(&bad)?
        } else {
            return Err(SparkProblem::refused(
                &at,
                format!(
                    "is {class}, a class onnxify does not read; it reads StringIndexer, \
                     OneHotEncoder, Imputer, VectorAssembler, StandardScaler and \
                     LogisticRegression models"
                ),
            ));
        };
        Ok(stage)
    }
}

/// A StringIndexerModel's labels: `labelsArray` (one list per input column), or `labels`
/// (one column, as Spark 2 wrote it); each label a distinct, non-null text.
fn string_labels(row: &Field) -> Result<Vec<Vec<String>>, String> {
    let texts = |field: &Field| -> Result<Vec<String>, String> {
        let Field::List(items) = field else { return Err("a label list is not a list".into()) };
        let mut seen = std::collections::HashSet::new();
        items
            .iter()
            .map(|v| match v {
                Field::Text(s) if seen.insert(s.clone()) => Ok(s.clone()),
                Field::Text(s) => Err(format!("lists the label {s:?} twice")),
                other => Err(format!("has a label that is {}", other.kind())),
            })
            .collect()
    };
    match (row.get("labelsArray"), row.get("labels")) {
        (Some(Field::List(columns)), None) => columns.iter().map(texts).collect(),
        (None, Some(labels)) => Ok(vec![texts(labels)?]),
        _ => Err("has neither labelsArray nor labels".into()),
    }
}

/// A LogisticRegressionModel: coefficients and intercepts checked against the class and
/// feature counts it records, every number finite.
fn logistic_regression(saved: &SavedStage, row: &Field) -> Result<Stage, String> {
    let m = &saved.metadata;
    let int = |name: &str| match row.get(name) {
        Some(Field::Int(n)) if *n >= 0 => Ok(*n as usize),
        _ => Err(format!("has no {name}")),
    };
    let classes = int("numClasses")?;
    let features = int("numFeatures")?;
    let (coefficients, intercepts, multinomial) =
        match (row.get("coefficientMatrix"), row.get("interceptVector")) {
            (Some(c), Some(i)) => {
                let multinomial = match row.get("isMultinomial") {
                    Some(Field::Bool(b)) => *b,
                    _ => return Err("has no isMultinomial".into()),
                };
                (
                    matrix(c).map_err(|e| format!("coefficientMatrix: {e}"))?,
                    vector(i).map_err(|e| format!("interceptVector: {e}"))?,
                    multinomial,
                )
            }
            _ => {
                // Spark 2.0 wrote a binomial model's `coefficients` and `intercept`.
                let c = row.get("coefficients").ok_or("has no coefficientMatrix")?;
                let c = vector(c).map_err(|e| format!("coefficients: {e}"))?;
                let Some(Field::Double(i)) = row.get("intercept") else {
                    return Err("has no interceptVector".into());
                };
                let n = c.len();
                (Array2::from_shape_vec((1, n), c).expect("one row"), vec![*i], false)
            }
        };
    if classes < 2 {
        return Err(format!("has {classes} classes"));
    }
    let rows = if multinomial { classes } else { 1 };
    if !multinomial && classes != 2 {
        return Err(format!("is binomial but has {classes} classes"));
    }
    if coefficients.dim() != (rows, features) || intercepts.len() != rows {
        return Err(format!(
            "has {} x {} coefficients and {} intercepts for {classes} classes and {features} \
             features",
            coefficients.nrows(),
            coefficients.ncols(),
            intercepts.len()
        ));
    }
    if let Some(v) = coefficients.iter().chain(&intercepts).find(|v| !v.is_finite()) {
        return Err(format!("has a coefficient or intercept that is {v}"));
    }
    let threshold = m.number("threshold").unwrap_or(0.5);
    let thresholds = m.numbers("thresholds");
    if let Some(t) = &thresholds
        && (t.len() != classes || t.iter().any(|v| !(v.is_finite() && *v >= 0.0)))
    {
        return Err(format!("has thresholds {t:?} for {classes} classes"));
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(format!("has the threshold {threshold}"));
    }
    Ok(Stage::LogisticRegression {
        features: m.text("featuresCol").unwrap_or("features").to_owned(),
        label: m.text("labelCol").unwrap_or("label").to_owned(),
        coefficients,
        intercepts,
        multinomial,
        threshold,
        thresholds,
    })
}
