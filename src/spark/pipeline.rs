//! A saved Spark pipeline rebuilt as onnxify's column pipeline. Every column the stages make
//! is followed from the source columns it comes from: a StringIndexer's index is a value per
//! text of its source column, a OneHotEncoder's slots are values per text, an Imputer fills a
//! source number, the VectorAssembler concatenates, the StandardScaler maps each slot
//! affinely. Each slot of the features then depends on one source column, so the pipeline is
//! rewritten exactly ([`canonical`]) into imputed and scaled numbers and a weight per category,
//! as for a scikit-learn ColumnTransformer.
//!
//! Where Spark raises (an unseen label with `handleInvalid="error"`, a null a VectorAssembler
//! refuses) or drops the row (`"skip"`), the rebuilt model answers as for an unseen text, or
//! with the column's centre.

use std::collections::HashMap;

use ndarray::Array1;

use super::{Invalid, Scanned, SparkProblem, Stage};
use crate::data::Classes;
use crate::model::column_rewrite::{
    Output, RewriteError, Role, Token, canonical, identity, scale_output,
};
use crate::model::{
    CategoryKind, ColumnPipeline, Decision, FittedLogisticRegression, FittedStandardScaler,
    ImputeStrategy, Pipeline,
};

/// What a column holds, followed back to the source columns.
#[derive(Debug, Clone)]
enum Column {
    /// A label index of source text column `source`: a value per token of its universe
    /// (`None` where Spark raises or drops the row).
    Index { source: usize, values: Vec<Option<f64>> },
    /// Numbers or a vector: its slots.
    Slots(Vec<Output>),
}

/// The source columns and what the stages make of them.
#[derive(Default)]
struct Flow {
    names: Vec<String>,
    roles: Vec<Option<Role>>,
    made: HashMap<String, Column>,
}

impl Flow {
    /// Source column `name` (added on first use).
    fn source(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(j) => j,
            None => {
                self.names.push(name.to_owned());
                self.roles.push(None);
                self.names.len() - 1
            }
        }
    }

    /// Gives source column `j` its role; a column read both as text and as a number is refused.
    fn role(&mut self, j: usize, role: Role, at: &str) -> Result<(), SparkProblem> {
        match (&self.roles[j], &role) {
            (None, _) => {
                self.roles[j] = Some(role);
                Ok(())
            }
            (Some(Role::Numeric { statistic: None, .. }), Role::Numeric { .. }) => {
                self.roles[j] = Some(role);
                Ok(())
            }
            _ => Err(SparkProblem::refused(
                at,
                format!(
                    "reads the column {:?}, which another stage reads otherwise; onnxify converts \
                     a pipeline whose stages each read their own source columns",
                    self.names[j]
                ),
            )),
        }
    }

    /// The slots a column gives a VectorAssembler: made by a stage, or a source number.
    fn slots(&mut self, name: &str, at: &str) -> Result<Vec<Output>, SparkProblem> {
        match self.made.get(name) {
            Some(Column::Slots(slots)) => Ok(slots.clone()),
            Some(Column::Index { source, values }) => {
                Ok(vec![Output::Text { column: *source, values: values.clone() }])
            }
            None => {
                let j = self.source(name);
                if self.roles[j].is_none() {
                    self.role(j, Role::Numeric { statistic: None, strategy: None }, at)?;
                }
                Ok(vec![identity(j, false)])
            }
        }
    }
}

/// A saved model rebuilt.
#[derive(Debug, Clone)]
pub enum Rebuilt {
    /// A pipeline of stages from source columns, as a column pipeline.
    Table(ColumnPipeline),
    /// A LogisticRegression alone, on the vector column `features`: a pipeline of a numeric
    /// matrix whose scaler does nothing.
    Vector { pipeline: Pipeline, features: String },
}

/// Rebuilds a scanned pipeline whose last stage is a LogisticRegression; `scanned`'s stages
/// must be in order. The classifier chooses the label as Spark does: by the threshold for two
/// classes (the second only above it), else by the class thresholds if the model has them.
pub fn rebuild(scanned: &Scanned) -> Result<Rebuilt, SparkProblem> {
    let saved = &scanned.saved.stages;
    let (
        Some(last),
        Some(Stage::LogisticRegression {
            features,
            label,
            coefficients,
            intercepts,
            multinomial,
            threshold,
            thresholds,
        }),
    ) = (saved.last(), scanned.stages.last())
    else {
        return Err(SparkProblem::refused(
            "",
            "does not end with a LogisticRegression model; onnxify converts classifiers",
        ));
    };
    let mut flow = Flow::default();
    let mut classes = None;
    for (stage_saved, stage) in saved.iter().zip(&scanned.stages).take(saved.len() - 1) {
        let at = stage_saved.dir.as_str();
        match stage {
            // The label's indexer names the classes; nothing reads its output but the model.
            Stage::StringIndexer { inputs, outputs, labels, .. } if outputs.contains(label) => {
                if inputs.len() != 1 {
                    return Err(SparkProblem::refused(at, "indexes the label with other columns"));
                }
                classes = Some(Classes::Strings(labels[0].clone()));
            }
            Stage::StringIndexer { inputs, outputs, labels, invalid } => {
                for ((input, output), labels) in inputs.iter().zip(outputs).zip(labels) {
                    let j = flow.source(input);
                    let universe = text_universe(labels, at)?;
                    let n = labels.len() as f64;
                    // Unseen text and null are one index past the labels with "keep".
                    let other = (*invalid == Invalid::Keep).then_some(n);
                    let values = universe
                        .iter()
                        .map(|token| match token {
                            Token::Known(text) => {
                                labels.iter().position(|l| l == text).map(|i| i as f64)
                            }
                            Token::Missing | Token::Unseen => other,
                        })
                        .collect();
                    flow.role(j, Role::Text { universe, kind: CategoryKind::Text }, at)?;
                    flow.made.insert(output.clone(), Column::Index { source: j, values });
                }
            }
            Stage::OneHotEncoder { inputs, outputs, sizes, drop_last, invalid } => {
                for ((input, output), &n) in inputs.iter().zip(outputs).zip(sizes) {
                    let Some(Column::Index { source, values }) = flow.made.get(input) else {
                        return Err(SparkProblem::refused(
                            at,
                            format!(
                                "encodes {input:?}, which no StringIndexer makes; onnxify \
                                 converts one-hot encoded text columns"
                            ),
                        ));
                    };
                    let slots = one_hot(*source, values, n, *drop_last, *invalid);
                    flow.made.insert(output.clone(), Column::Slots(slots));
                }
            }
            Stage::Imputer { inputs, outputs, surrogates, missing_value, strategy } => {
                if !missing_value.is_nan() {
                    return Err(SparkProblem::refused(
                        at,
                        format!(
                            "imputes the value {missing_value}; onnxify converts imputers of \
                             null and NaN (missingValue NaN)"
                        ),
                    ));
                }
                let strategy = match strategy.as_str() {
                    "mean" => ImputeStrategy::Mean,
                    "median" => ImputeStrategy::Median,
                    "mode" => ImputeStrategy::MostFrequent,
                    other => {
                        return Err(SparkProblem::refused(at, format!("has strategy {other:?}")));
                    }
                };
                for ((input, output), &surrogate) in inputs.iter().zip(outputs).zip(surrogates) {
                    if flow.made.contains_key(input) {
                        return Err(SparkProblem::refused(
                            at,
                            format!(
                                "imputes {input:?}, which a stage makes; onnxify converts imputers of source columns"
                            ),
                        ));
                    }
                    let j = flow.source(input);
                    let role =
                        Role::Numeric { statistic: Some(surrogate), strategy: Some(strategy) };
                    flow.role(j, role, at)?;
                    flow.made.insert(output.clone(), Column::Slots(vec![identity(j, false)]));
                }
            }
            Stage::VectorAssembler { inputs, output, invalid } => {
                // "keep" passes a missing number on as NaN, and Spark's probabilities with it.
                if let (Invalid::Keep, Some(raw)) =
                    (invalid, inputs.iter().find(|i| !flow.made.contains_key(*i)))
                {
                    return Err(SparkProblem::refused(
                        at,
                        format!(
                            "keeps a missing value of {raw:?} as NaN (handleInvalid \"keep\"), \
                             which makes Spark's probabilities NaN; onnxify converts a \
                             VectorAssembler that raises or skips the row, or numbers an Imputer \
                             filled"
                        ),
                    ));
                }
                let mut slots = Vec::new();
                for input in inputs {
                    slots.extend(flow.slots(input, at)?);
                }
                flow.made.insert(output.clone(), Column::Slots(slots));
            }
            Stage::StandardScaler { input, output, with_mean, with_std, mean, std } => {
                let Some(Column::Slots(slots)) = flow.made.get(input) else {
                    return Err(SparkProblem::refused(
                        at,
                        format!("scales {input:?}, which no VectorAssembler makes"),
                    ));
                };
                if slots.len() != std.len() {
                    return Err(SparkProblem::unreadable(
                        at,
                        format!("scales {} features, but {input:?} has {}", std.len(), slots.len()),
                    ));
                }
                let mut scaled = slots.clone();
                for (k, slot) in scaled.iter_mut().enumerate() {
                    if *with_std && std[k] == 0.0 {
                        // Spark multiplies by 0 where the deviation is 0: the slot is 0.
                        zero(slot);
                        continue;
                    }
                    let offset = if *with_mean { mean[k] } else { 0.0 };
                    let scale = if *with_std { std[k] } else { 1.0 };
                    scale_output(slot, offset, scale);
                }
                flow.made.insert(output.clone(), Column::Slots(scaled));
            }
            Stage::LogisticRegression { .. } => {
                return Err(SparkProblem::refused(
                    at,
                    "is a LogisticRegression before the last stage",
                ));
            }
        }
    }
    let at = last.dir.as_str();
    let alone = flow.names.is_empty() && flow.made.is_empty();
    let slots = match flow.made.get(features) {
        Some(Column::Slots(slots)) => slots.clone(),
        _ if alone => Vec::new(),
        _ => {
            // A features column no stage makes comes from the caller, a number per slot.
            let slots = (0..coefficients.ncols())
                .map(|j| flow.source(&format!("{features}[{j}]")))
                .collect::<Vec<_>>();
            for &j in &slots {
                flow.role(j, Role::Numeric { statistic: None, strategy: None }, at)?;
            }
            slots.into_iter().map(|j| identity(j, false)).collect()
        }
    };
    if !alone && slots.len() != coefficients.ncols() {
        return Err(SparkProblem::unreadable(
            at,
            format!(
                "has {} coefficients per class, but {features:?} has {} features",
                coefficients.ncols(),
                slots.len()
            ),
        ));
    }
    let k = coefficients.nrows();
    let n_classes = if *multinomial { k } else { 2 };
    let classes = match classes {
        Some(classes) if classes.len() == n_classes => classes,
        Some(classes) => {
            return Err(SparkProblem::unreadable(
                at,
                format!("has {n_classes} classes, but the label's indexer {}", classes.len()),
            ));
        }
        None => Classes::Ints((0..n_classes as i64).collect()),
    };
    // A two-class multinomial model's softmax is the sigmoid of the difference of its scores.
    let (coef, intercept) = if *multinomial && k == 2 {
        let row = &coefficients.row(1) - &coefficients.row(0);
        (row.insert_axis(ndarray::Axis(0)), Array1::from(vec![intercepts[1] - intercepts[0]]))
    } else {
        (coefficients.clone(), Array1::from(intercepts.clone()))
    };
    let decision = decision(n_classes, *threshold, thresholds.as_deref(), at)?;
    if alone {
        let f = coef.ncols();
        let classifier =
            FittedLogisticRegression::from_parameters(coef, intercept, 0).with_decision(decision);
        let scaler = FittedStandardScaler::from_parameters(Array1::zeros(f), Array1::ones(f));
        let pipeline = Pipeline::from_parts(scaler, classifier, classes);
        return Ok(Rebuilt::Vector { pipeline, features: features.clone() });
    }
    let names = flow.names.clone();
    let roles = flow.roles.clone();
    let (parts, coef, intercept) =
        canonical(&names, &roles, &slots, (coef.view(), intercept.view())).map_err(
            |e| match e {
                RewriteError::Unsupported(m) => SparkProblem::refused(at, m),
                RewriteError::Malformed(m) => SparkProblem::unreadable(at, m),
            },
        )?;
    let classifier =
        FittedLogisticRegression::from_parameters(coef, intercept, 0).with_decision(decision);
    Ok(Rebuilt::Table(ColumnPipeline::from_parts(
        parts.columns,
        parts.imputer,
        parts.scaler,
        parts.encoder,
        classifier,
        classes,
    )))
}

/// How Spark chooses the label: for two classes the second above `threshold` (taken from
/// `thresholds` [t0, t1] as 1 / (1 + t0 / t1) when they are set), for more the largest
/// probability divided by its class threshold. A threshold of 0 or 1 for two classes, or a
/// class threshold of 0, decides the label without the probabilities and is refused.
fn decision(
    n_classes: usize,
    threshold: f64,
    thresholds: Option<&[f64]>,
    at: &str,
) -> Result<Decision, SparkProblem> {
    if n_classes == 2 {
        let t = match thresholds {
            Some(t) => 1.0 / (1.0 + t[0] / t[1]),
            None => threshold,
        };
        if !(t > 0.0 && t < 1.0) {
            return Err(SparkProblem::refused(
                at,
                format!(
                    "has the threshold {t}, which predicts one class whatever the probabilities; \
                     onnxify converts thresholds strictly between 0 and 1"
                ),
            ));
        }
        // At 0.5 the rule is the most probable class, and the graph scikit-learn's.
        return Ok(if t == 0.5 { Decision::MostProbable } else { Decision::Threshold(t) });
    }
    match thresholds {
        None => Ok(Decision::MostProbable),
        Some(t) if t.iter().all(|&v| v > 0.0 && v.is_finite()) => {
            Ok(Decision::ClassThresholds(t.to_vec()))
        }
        Some(t) => Err(SparkProblem::refused(
            at,
            format!(
                "has the class thresholds {t:?}; onnxify converts thresholds above 0 (a class \
                 threshold of 0 predicts that class whatever the probabilities)"
            ),
        )),
    }
}

/// A text column's tokens: unseen, missing, then its labels; the empty text, which onnxify's
/// models take as missing, cannot be a label.
fn text_universe(labels: &[String], at: &str) -> Result<Vec<Token>, SparkProblem> {
    if labels.iter().any(String::is_empty) {
        return Err(SparkProblem::refused(
            at,
            "has the empty text as a label; onnxify's models take the empty text as a missing value",
        ));
    }
    let mut universe = vec![Token::Unseen, Token::Missing];
    universe.extend(labels.iter().map(|l| Token::Known(l.clone())));
    Ok(universe)
}

/// The slots of a OneHotEncoder of `n` categories over an index: index `i` sets slot `i`; an
/// index past the categories sets the extra slot with `Keep` and raises otherwise; the last
/// slot is dropped with `drop_last`.
fn one_hot(
    source: usize,
    index: &[Option<f64>],
    n: usize,
    drop_last: bool,
    invalid: Invalid,
) -> Vec<Output> {
    let keep = invalid == Invalid::Keep;
    let width = n + usize::from(keep) - usize::from(drop_last);
    (0..width)
        .map(|slot| Output::Text {
            column: source,
            values: index
                .iter()
                .map(|value| {
                    let i = (*value)? as usize;
                    let i = if i < n {
                        i
                    } else if keep {
                        n
                    } else {
                        return None;
                    };
                    Some(if i == slot { 1.0 } else { 0.0 })
                })
                .collect(),
        })
        .collect()
}

/// A slot that is always 0.
fn zero(slot: &mut Output) {
    match slot {
        Output::Number { weight, constant, .. } => {
            *weight = 0.0;
            *constant = 0.0;
        }
        Output::Text { values, .. } => {
            for v in values.iter_mut().flatten() {
                *v = 0.0;
            }
        }
    }
}
