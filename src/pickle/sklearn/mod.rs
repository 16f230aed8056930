//! Reads the fitted parameters of a `Pipeline(scaler, LogisticRegression)` (the scaler a
//! StandardScaler, MinMaxScaler, MaxAbsScaler or RobustScaler) or a bare `LogisticRegression`
//! out of the value tree, checking every shape, count and number against the others: the
//! parameters are data from an untrusted file.

use ndarray::{Array1, Array2};

use super::allow::Allowed;
use super::machine::{Array, Elements};
use super::machine::{Id, Outcome, Value};
use super::numpy::Kind;
use crate::data::Classes;
use crate::model::Link;
use crate::util::MAX_LABEL_BYTES;

mod columns;
mod encoders;
mod search;

pub use crate::model::column_rewrite::TableParts;

/// Why the tree is not a model onnxify converts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A shape of estimator onnxify does not convert (yet): refused.
    Unsupported(String),
    /// Parameters that contradict each other or are not numbers: a broken file.
    Malformed(String),
}

type Checked<T> = Result<T, Problem>;

fn unsupported<T>(message: impl Into<String>) -> Checked<T> {
    Err(Problem::Unsupported(message.into()))
}

fn malformed<T>(message: impl Into<String>) -> Checked<T> {
    Err(Problem::Malformed(message.into()))
}

/// A scaler's fitted attributes as a StandardScaler's: `(x - mean) / scale`. The other scalers
/// are affine maps of the same form (see [`Tree::scaler`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerParameters {
    /// The scaler's class (or classes, for a chain of them), for messages.
    pub class: String,
    pub with_mean: bool,
    pub with_std: bool,
    /// `mean_` (None when both `with_mean` and `with_std` are off).
    pub mean: Option<Vec<f64>>,
    /// `scale_` (None with `with_std=False`).
    pub scale: Option<Vec<f64>>,
}

/// The fitted parameters a pickle holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// "Pipeline" or "LogisticRegression".
    pub estimator: &'static str,
    /// The pipeline's step names, and classes with the shapes of their fitted parameters, for
    /// the report.
    pub steps: Vec<(String, String)>,
    pub scaler: Option<ScalerParameters>,
    /// `coef_`: (1, features) for two classes, (classes, features) otherwise.
    pub coef: Array2<f64>,
    pub intercept: Array1<f64>,
    pub classes: Classes,
    /// The largest of `n_iter_`.
    pub n_iter: Option<u64>,
    /// How the probabilities of three or more classes follow from the scores.
    pub link: Link,
    /// `feature_names_in_`, if the pipeline was fitted on named columns.
    pub feature_names: Option<Vec<String>>,
    /// `_sklearn_version`.
    pub sklearn_version: Option<String>,
    /// For a ColumnTransformer's pipeline, its parts as onnxify's column pipeline; `coef` and
    /// `intercept` are then the classifier's over that pipeline's design.
    pub table: Option<TableParts>,
    /// The search that chose the model, when the file holds one.
    pub search: Option<crate::onnx::PickledSearch>,
}

impl Extracted {
    /// The input columns.
    pub fn n_features(&self) -> usize {
        match &self.table {
            Some(table) => table.columns.numeric.len() + table.columns.categorical.len(),
            None => self.coef.ncols(),
        }
    }
}

/// Reads the model the stream's root holds.
pub fn extract(outcome: &Outcome, data: &[u8]) -> Checked<Extracted> {
    let tree = Tree { values: &outcome.values, data };
    let root = outcome.root.expect("extract runs on a stream that reached STOP");
    match tree.value(root) {
        Value::Object {
            class: class @ (Allowed::GridSearchCV | Allowed::RandomizedSearchCV),
            state: Some(state),
        } => tree.search(*class, *state),
        _ => tree.model(root),
    }
}

impl Tree<'_> {
    /// The fitted model `id` is: a Pipeline or a LogisticRegression.
    fn model(&self, id: Id) -> Checked<Extracted> {
        let tree = self;
        match tree.value(id) {
            Value::Object { class: Allowed::Pipeline, state: Some(state) } => tree.pipeline(*state),
            Value::Object { class, state: Some(state) } if is_classifier(*class) => {
                let classifier = tree.classifier_of(*class, *state)?;
                let sklearn_version = tree.text_attr(*state, "_sklearn_version");
                let feature_names = tree.feature_names(*state)?;
                tree.assemble(
                    class_name(*class),
                    vec![],
                    None,
                    classifier,
                    feature_names,
                    sklearn_version,
                )
            }
            Value::Object { class, .. } if is_scaler(*class) => unsupported(format!(
                "the file holds a bare {}; onnxify converts a Pipeline of a scaler and a \
             LogisticRegression, or a bare LogisticRegression",
                class_name(*class)
            )),
            other => unsupported(format!(
                "the file holds a {}, not a fitted Pipeline or LogisticRegression",
                describe(other)
            )),
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Object { class, state: None } => format!("{class:?} with no state"),
        Value::Object { class, .. } => format!("{class:?}"),
        other => other.kind().to_owned(),
    }
}

struct Classifier {
    coef: Array2<f64>,
    intercept: Array1<f64>,
    classes: Classes,
    n_iter: Option<u64>,
    link: Link,
}

struct Tree<'a> {
    values: &'a [Value],
    data: &'a [u8],
}

impl<'a> Tree<'a> {
    fn value(&self, id: Id) -> &'a Value {
        &self.values[id as usize]
    }

    /// The attribute `key` of an object's state dict.
    fn attr(&self, state: Id, key: &str) -> Option<Id> {
        let Value::Dict(pairs) = self.value(state) else { return None };
        pairs
            .iter()
            .rev()
            .find(|&&(k, _)| matches!(self.value(k), Value::Str(s) if s == key))
            .map(|&(_, v)| v)
    }

    fn text_attr(&self, state: Id, key: &str) -> Option<String> {
        match self.attr(state, key).map(|v| self.value(v)) {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn bool_attr(&self, state: Id, key: &str, default: bool) -> Checked<bool> {
        match self.attr(state, key).map(|v| self.value(v)) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => malformed(format!("{key} is a {}, not True or False", other.kind())),
        }
    }

    fn array(&self, state: Id, key: &str) -> Checked<Option<&'a Array>> {
        match self.attr(state, key).map(|v| self.value(v)) {
            None | Some(Value::None) => Ok(None),
            Some(Value::Array(array)) => Ok(Some(array)),
            Some(other) => malformed(format!("{key} is a {}, not an array", other.kind())),
        }
    }

    fn raw(&self, array: &Array) -> &'a [u8] {
        match &array.elements {
            Elements::Inline(range) => &self.data[range.clone()],
            Elements::Bytes(id) => match self.value(*id) {
                Value::Bytes(bytes) => bytes,
                _ => unreachable!("the machine makes byte-backed arrays from bytes values"),
            },
            Elements::Objects(_) => &[],
        }
    }

    /// A float array of `shape` rank, finite.
    fn floats(&self, key: &str, array: &Array, rank: usize) -> Checked<Vec<f64>> {
        if array.shape.len() != rank {
            return malformed(format!(
                "{key} has shape {}, expected {rank} dimensions",
                array.shape_text()
            ));
        }
        let values = match array.dtype.kind {
            Kind::Float | Kind::Int | Kind::Unsigned => array
                .floats(self.raw(array))
                .map_err(|e| Problem::Malformed(format!("{key}: {e}")))?,
            _ => return malformed(format!("{key} has dtype {}, not a number", array.dtype)),
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return malformed(format!(
                "{key} holds {} at position {i}; every parameter must be finite",
                values[i]
            ));
        }
        Ok(values)
    }

    fn pipeline(&self, state: Id) -> Checked<Extracted> {
        let mut parsed = Vec::new();
        self.steps(state, "", 0, &mut parsed)?;
        let classes: Vec<Allowed> = parsed.iter().map(|(_, c, _)| *c).collect();
        if let Some((name, Allowed::ColumnTransformer, transformer)) = parsed.first() {
            return self.column_transformer_pipeline(state, name, *transformer, &parsed[1..]);
        }
        let (scalers, (last_class, classifier)) = match parsed.split_last() {
            Some(((_, last, classifier), scalers))
                if is_classifier(*last)
                    && scalers.iter().all(|(_, class, _)| is_scaler(*class)) =>
            {
                (scalers, (*last, *classifier))
            }
            _ => {
                return unsupported(format!(
                    "the Pipeline's steps are {:?}; onnxify converts StandardScalers, \
                     MinMaxScalers, MaxAbsScalers or RobustScalers -> LogisticRegression",
                    classes
                ));
            }
        };
        let sklearn_version = self
            .text_attr(classifier, "_sklearn_version")
            .or_else(|| self.text_attr(state, "_sklearn_version"));
        let first = scalers.first().map_or(classifier, |(_, _, state)| *state);
        let feature_names = self.feature_names(first)?;
        let names: Vec<&String> = parsed.iter().map(|(name, ..)| name).collect();
        let scalers = scalers
            .iter()
            .map(|(_, class, state)| self.scaler(*class, *state))
            .collect::<Checked<Vec<_>>>()?;
        let classifier = self.classifier_of(last_class, classifier)?;
        // Each step with its class and the shape of its fitted parameters, for the report.
        let mut steps: Vec<(String, String)> = (names.iter().zip(&scalers))
            .map(|(name, scaler)| {
                let shape = match scaler.mean.as_ref().or(scaler.scale.as_ref()) {
                    Some(values) => format!("{} features", values.len()),
                    None => "centres and scales nothing".into(),
                };
                ((*name).clone(), format!("{} ({shape})", scaler.class))
            })
            .collect();
        let (rows, columns) = classifier.coef.dim();
        let last = names.last().map_or_else(String::new, |name| (*name).clone());
        steps.push((last, classifier_text(last_class, rows, columns, classifier.link)));
        let scaler = chain(scalers)?;
        self.assemble("Pipeline", steps, scaler, classifier, feature_names, sklearn_version)
    }

    /// A Pipeline of a ColumnTransformer, then scalers, then a LogisticRegression.
    fn column_transformer_pipeline(
        &self,
        state: Id,
        name: &str,
        transformer: Id,
        rest: &[(String, Allowed, Id)],
    ) -> Checked<Extracted> {
        let (scalers, classifier, last_class) = match rest.split_last() {
            Some(((last, class, classifier), scalers))
                if is_classifier(*class)
                    && scalers.iter().all(|(_, class, _)| is_scaler(*class)) =>
            {
                (scalers, (last, *classifier), *class)
            }
            _ => {
                let classes: Vec<&str> = rest.iter().map(|(_, c, _)| class_name(*c)).collect();
                return unsupported(format!(
                    "the steps after the ColumnTransformer are [{}]; onnxify converts scalers, \
                     then a LogisticRegression",
                    classes.join(", ")
                ));
            }
        };
        let sklearn_version = self
            .text_attr(classifier.1, "_sklearn_version")
            .or_else(|| self.text_attr(state, "_sklearn_version"));
        let recorded = self.feature_names(transformer)?.is_some();
        let scaler_parameters = scalers
            .iter()
            .map(|(_, class, state)| self.scaler(*class, *state))
            .collect::<Checked<Vec<_>>>()?;
        let fitted = self.classifier_of(last_class, classifier.1)?;
        let read = self.column_pipeline(name, transformer, &scaler_parameters, &fitted)?;
        let table = read.parts;
        let mut steps =
            vec![(name.to_owned(), format!("ColumnTransformer ({})", table.columns.counts()))];
        steps.extend(read.steps);
        for (step, scaler) in scalers.iter().zip(&scaler_parameters) {
            steps.push((step.0.clone(), scaler.class.clone()));
        }
        let (rows, columns) = fitted.coef.dim();
        steps.push((classifier.0.clone(), classifier_text(last_class, rows, columns, fitted.link)));
        let names =
            table.columns.numeric.iter().chain(&table.columns.categorical).cloned().collect();
        Ok(Extracted {
            estimator: "Pipeline",
            steps,
            scaler: None,
            coef: read.coef,
            intercept: read.intercept,
            classes: fitted.classes,
            n_iter: fitted.n_iter,
            link: fitted.link,
            feature_names: recorded.then_some(names),
            sklearn_version,
            table: Some(table),
            search: None,
        })
    }

    /// The fitted steps of the Pipeline whose state is `state`, in order, with a nested
    /// Pipeline's steps in its place, named as scikit-learn names them (`outer__inner`);
    /// `passthrough` and `None` steps do nothing and are left out.
    fn steps(
        &self,
        state: Id,
        prefix: &str,
        depth: usize,
        parsed: &mut Vec<(String, Allowed, Id)>,
    ) -> Checked<()> {
        // A memo reference can make a Pipeline its own step: nesting is bounded.
        if depth > MAX_NESTING {
            return unsupported(format!(
                "the Pipeline nests Pipelines more than {MAX_NESTING} deep"
            ));
        }
        let Some(steps) = self.attr(state, "steps") else {
            return malformed("the Pipeline has no steps");
        };
        let Value::List(steps) = self.value(steps) else {
            return malformed("the Pipeline's steps are not a list");
        };
        for &step in steps {
            let pair = match self.value(step) {
                Value::Tuple(pair) if pair.len() == 2 => pair,
                _ => return malformed("a Pipeline step is not a (name, estimator) pair"),
            };
            let Value::Str(name) = self.value(pair[0]) else {
                return malformed("a Pipeline step's name is not a string");
            };
            let name = format!("{prefix}{name}");
            match self.value(pair[1]) {
                Value::Object { class: Allowed::Pipeline, state: Some(nested) } => {
                    self.steps(*nested, &format!("{name}__"), depth + 1, parsed)?
                }
                Value::Object { class, state: Some(s) } => parsed.push((name, *class, *s)),
                Value::Str(s) if s == "passthrough" => {}
                Value::None => {}
                other => {
                    return unsupported(format!(
                        "Pipeline step {name:?} is a {}, not a fitted scaler or LogisticRegression",
                        describe(other)
                    ));
                }
            }
        }
        Ok(())
    }

    /// A scaler's attributes as `(x - mean) / scale`:
    /// - StandardScaler: `mean_` and `scale_`, each used as `with_mean` / `with_std` say;
    /// - RobustScaler: `center_` and `scale_`, as `with_centering` / `with_scaling` say;
    /// - MaxAbsScaler: `x / scale_`;
    /// - MinMaxScaler: `x * scale_ + min_`, that is mean `-min_ / scale_` and scale
    ///   `1 / scale_`; refused with `clip=True`, which bounds the output.
    fn scaler(&self, class: Allowed, state: Id) -> Checked<ScalerParameters> {
        let name = class_name(class);
        let vector = |key: &str| -> Checked<Option<Vec<f64>>> {
            self.array(state, key)?.map(|a| self.floats(&format!("{name}.{key}"), a, 1)).transpose()
        };
        let required = |key: &str, why: &str| -> Checked<Vec<f64>> {
            vector(key)?
                .ok_or_else(|| Problem::Malformed(format!("the {name} {why} but has no {key}")))
        };
        let positive = |key: &str, values: &[f64]| -> Checked<()> {
            match values.iter().position(|&s| s <= 0.0) {
                Some(i) => malformed(format!(
                    "{name}.{key} holds {} at position {i}; a scale must be positive",
                    values[i]
                )),
                None => Ok(()),
            }
        };
        let (with_mean, with_std, mean, scale) = match class {
            Allowed::StandardScaler | Allowed::RobustScaler => {
                let (centre_flag, scale_flag, centre_key) = if class == Allowed::StandardScaler {
                    ("with_mean", "with_std", "mean_")
                } else {
                    ("with_centering", "with_scaling", "center_")
                };
                let with_mean = self.bool_attr(state, centre_flag, true)?;
                let with_std = self.bool_attr(state, scale_flag, true)?;
                let mean = vector(centre_key)?;
                let scale = vector("scale_")?;
                if with_mean && mean.is_none() {
                    return malformed(format!(
                        "the {name} centres ({centre_flag}=True) but has no {centre_key}"
                    ));
                }
                if with_std && scale.is_none() {
                    return malformed(format!(
                        "the {name} scales ({scale_flag}=True) but has no scale_"
                    ));
                }
                (with_mean, with_std, mean, scale)
            }
            Allowed::MaxAbsScaler => (false, true, None, Some(required("scale_", "scales")?)),
            Allowed::MinMaxScaler => {
                if self.bool_attr(state, "clip", false)? {
                    return unsupported(
                        "the MinMaxScaler clips its output (clip=True), which the ONNX Scaler \
                         cannot; onnxify converts MinMaxScaler(clip=False)",
                    );
                }
                let scale = required("scale_", "scales")?;
                let min = required("min_", "shifts")?;
                if min.len() != scale.len() {
                    return malformed(format!(
                        "MinMaxScaler.min_ holds {} values but scale_ holds {}",
                        min.len(),
                        scale.len()
                    ));
                }
                positive("scale_", &scale)?;
                let mean = min.iter().zip(&scale).map(|(m, s)| -m / s).collect();
                (true, true, Some(mean), Some(scale.iter().map(|s| 1.0 / s).collect()))
            }
            _ => unreachable!("is_scaler admits the four scalers only"),
        };
        if let Some(scale) = &scale {
            positive("scale_", scale)?;
        }
        Ok(ScalerParameters { class: name.to_owned(), with_mean, with_std, mean, scale })
    }

    /// How the scikit-learn that wrote the file turned scores into probabilities. Until 1.8 the
    /// `multi_class` option chose between a softmax and one sigmoid per class, divided by
    /// their sum (one-vs-rest), which the default `auto` picked for liblinear, and before 1.6
    /// for newton-cholesky; from 1.8 on, three or more classes always take a softmax.
    fn probability_rule(&self, state: Id, k: usize) -> Checked<ProbabilityRule> {
        let multi_class = self.text_attr(state, "multi_class");
        let solver = self.text_attr(state, "solver");
        let version = self.text_attr(state, "_sklearn_version");
        // An unknown version is taken as an old one, where more solvers meant one-vs-rest.
        let written = version.as_deref().and_then(major_minor);
        let before_1_6 = written.is_none_or(|v| v < (1, 6));
        // From 1.8 on, predict_proba ignores multi_class: a softmax for three or more classes.
        if written.is_some_and(|v| v >= (1, 8)) {
            return Ok(ProbabilityRule::Standard);
        }
        let one_vs_rest = match multi_class.as_deref() {
            None | Some("auto") | Some("deprecated") => match solver.as_deref() {
                Some("liblinear") => true,
                Some("newton-cholesky") => before_1_6,
                _ => false,
            },
            Some("ovr") | Some("warn") => true,
            Some("multinomial") if k == 2 => return Ok(ProbabilityRule::BinarySoftmax),
            Some("multinomial") => false,
            Some(other) => {
                return unsupported(format!(
                    "the LogisticRegression has multi_class={other:?}, which onnxify does not know"
                ));
            }
        };
        if one_vs_rest && k > 2 {
            return Ok(ProbabilityRule::OneVsRest);
        }
        Ok(ProbabilityRule::Standard)
    }

    fn classifier(&self, state: Id) -> Checked<Classifier> {
        let Some(coef) = self.array(state, "coef_")? else {
            return malformed("the LogisticRegression has no coef_ (is it fitted?)");
        };
        let values = self.floats("LogisticRegression.coef_", coef, 2)?;
        let (rows, features) = (coef.shape[0], coef.shape[1]);
        let coef_matrix = Array2::from_shape_vec((rows, features), values).expect("shape checked");
        let classes = match self.array(state, "classes_")? {
            Some(array) => self.classes(array)?,
            None => return malformed("the LogisticRegression has no classes_"),
        };
        let k = classes.len();
        if k < 2 {
            return malformed(format!("classes_ holds {k} class; a classifier needs two or more"));
        }
        let expected_rows = if k == 2 { 1 } else { k };
        if rows != expected_rows {
            return malformed(format!(
                "coef_ has {rows} rows for {k} classes; scikit-learn fits {expected_rows}"
            ));
        }
        if features == 0 {
            return malformed("coef_ has no columns");
        }
        let intercept = match self.attr(state, "intercept_").map(|v| self.value(v)) {
            Some(Value::Array(array)) => {
                let values = self.floats("LogisticRegression.intercept_", array, 1)?;
                if values.len() != rows {
                    return malformed(format!(
                        "intercept_ holds {} values for {rows} coef_ rows",
                        values.len()
                    ));
                }
                Array1::from(values)
            }
            Some(Value::Float(x)) if *x == 0.0 => Array1::zeros(rows),
            Some(Value::Int(0)) => Array1::zeros(rows),
            _ => return malformed("the LogisticRegression has no intercept_ array"),
        };
        if let Some(Value::Int(n)) = self.attr(state, "n_features_in_").map(|v| self.value(v))
            && *n != features as i64
        {
            return malformed(format!("n_features_in_ is {n} but coef_ has {features} columns"));
        }
        let rule = self.probability_rule(state, k)?;
        let link = match rule {
            ProbabilityRule::OneVsRest => Link::OneVsRest,
            _ => Link::Softmax,
        };
        let (coef_matrix, intercept) = match rule {
            ProbabilityRule::Standard | ProbabilityRule::OneVsRest => (coef_matrix, intercept),
            // softmax([-d, d]) is sigmoid(2d): the same model with doubled parameters, which
            // doubling in floating point reproduces exactly.
            ProbabilityRule::BinarySoftmax => (coef_matrix * 2.0, intercept * 2.0),
        };
        // An array per class (or fold), or one int (SGDClassifier).
        let n_iter = match self.attr(state, "n_iter_").map(|v| self.value(v)) {
            Some(Value::Array(array)) if matches!(array.dtype.kind, Kind::Int | Kind::Unsigned) => {
                array
                    .integers(self.raw(array))
                    .map_err(|e| Problem::Malformed(format!("n_iter_: {e}")))?
                    .into_iter()
                    .max()
                    .and_then(|n| u64::try_from(n).ok())
            }
            Some(Value::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        };
        Ok(Classifier { coef: coef_matrix, intercept, classes, n_iter, link })
    }

    /// The linear classifier a step of class `class` holds.
    fn classifier_of(&self, class: Allowed, state: Id) -> Checked<Classifier> {
        match class {
            Allowed::OneVsRestClassifier => self.one_vs_rest(state),
            Allowed::SgdClassifier => self.sgd(state),
            _ => self.classifier(state),
        }
    }

    /// An SGDClassifier with the log loss: a linear model whose probabilities are the
    /// sigmoid of its score for two classes, and for more each class's sigmoid divided by
    /// the row's sum (its predict_proba is one-vs-rest whatever the version).
    fn sgd(&self, state: Id) -> Checked<Classifier> {
        match self.text_attr(state, "loss").as_deref() {
            Some("log_loss" | "log") => {}
            other => {
                return unsupported(format!(
                    "the SGDClassifier has loss={:?}; onnxify converts the log loss, whose \
                     probabilities are a logistic regression's",
                    other.unwrap_or("unrecorded")
                ));
            }
        }
        let mut classifier = self.classifier(state)?;
        classifier.link =
            if classifier.classes.len() > 2 { Link::OneVsRest } else { Link::Softmax };
        Ok(classifier)
    }

    /// A OneVsRestClassifier of binary LogisticRegressions: one score per class (its
    /// estimator's), whose probabilities are the sigmoids divided by their sum.
    fn one_vs_rest(&self, state: Id) -> Checked<Classifier> {
        let classes = match self.array(state, "classes_")? {
            Some(array) => self.classes(array)?,
            None => return malformed("the OneVsRestClassifier has no classes_ (is it fitted?)"),
        };
        let k = classes.len();
        if k < 2 {
            return malformed(format!("the OneVsRestClassifier has {k} class"));
        }
        match self.attr(state, "label_binarizer_").map(|v| self.value(v)) {
            Some(Value::Object { class: Allowed::LabelBinarizer, state: Some(binarizer) }) => {
                match self.text_attr(*binarizer, "y_type_").as_deref() {
                    Some("multiclass") if k > 2 => {}
                    Some("binary") if k == 2 => {}
                    other => {
                        return unsupported(format!(
                            "the OneVsRestClassifier's targets are {:?} over {k} classes; onnxify                              converts one class per row (binary or multiclass)",
                            other.unwrap_or("unrecorded")
                        ));
                    }
                }
            }
            _ => return malformed("the OneVsRestClassifier has no fitted label_binarizer_"),
        }
        let Some(list) = self.attr(state, "estimators_") else {
            return malformed("the OneVsRestClassifier has no estimators_");
        };
        let Value::List(estimators) = self.value(list) else {
            return malformed("the OneVsRestClassifier's estimators_ is not a list");
        };
        let expected = if k == 2 { 1 } else { k };
        if estimators.len() != expected {
            return malformed(format!(
                "the OneVsRestClassifier has {} estimators for {k} classes; scikit-learn fits {expected}",
                estimators.len()
            ));
        }
        let mut rows = Vec::with_capacity(expected);
        let mut intercept = Vec::with_capacity(expected);
        let mut n_iter = None;
        for (i, &estimator) in estimators.iter().enumerate() {
            let fitted = match self.value(estimator) {
                Value::Object {
                    class: Allowed::LogisticRegression | Allowed::LogisticRegressionCV,
                    state: Some(s),
                } => self.classifier(*s)?,
                other => {
                    return unsupported(format!(
                        "the OneVsRestClassifier's estimator {i} is a {}; onnxify converts                          LogisticRegressions",
                        describe(other)
                    ));
                }
            };
            if fitted.classes != Classes::Ints(vec![0, 1]) {
                return malformed(format!(
                    "the OneVsRestClassifier's estimator {i} was not fitted on the classes 0 and 1"
                ));
            }
            if let Some(first) = rows.first().map(|r: &Array1<f64>| r.len())
                && first != fitted.coef.ncols()
            {
                return malformed(format!(
                    "the OneVsRestClassifier's estimators take {first} and {} features",
                    fitted.coef.ncols()
                ));
            }
            rows.push(fitted.coef.row(0).to_owned());
            intercept.push(fitted.intercept[0]);
            n_iter = n_iter.max(fitted.n_iter);
        }
        let features = rows[0].len();
        let coef = Array2::from_shape_fn((expected, features), |(r, j)| rows[r][j]);
        let link = if k > 2 { Link::OneVsRest } else { Link::Softmax };
        Ok(Classifier { coef, intercept: Array1::from(intercept), classes, n_iter, link })
    }

    fn classes(&self, array: &Array) -> Checked<Classes> {
        if array.shape.len() != 1 {
            return malformed(format!(
                "classes_ has shape {}, expected one dimension",
                array.shape_text()
            ));
        }
        let raw = self.raw(array);
        let classes = match array.dtype.kind {
            // Only an unsigned value beyond i64 fails to convert; ONNX labels are int64.
            Kind::Int | Kind::Unsigned => Classes::Ints(array.integers(raw).map_err(|e| {
                Problem::Unsupported(format!(
                    "classes_: {e}; onnxify converts integer labels that fit a signed 64-bit \
                     integer (ONNX's int64 labels)"
                ))
            })?),
            // False and True are the labels 0 and 1 (Python's bools are those ints).
            Kind::Bool => Classes::Ints(
                array.integers(raw).map_err(|e| Problem::Malformed(format!("classes_: {e}")))?,
            ),
            Kind::Float => Classes::Ints(whole_labels(
                array.floats(raw).map_err(|e| Problem::Malformed(format!("classes_: {e}")))?,
            )?),
            Kind::Unicode => Classes::Strings(
                array.unicode(raw).map_err(|e| Problem::Malformed(format!("classes_: {e}")))?,
            ),
            Kind::Object => {
                let Elements::Objects(items) = &array.elements else {
                    unreachable!("object arrays hold objects")
                };
                let values: Vec<&Value> = items.iter().map(|&id| self.value(id)).collect();
                if values.iter().all(|v| matches!(v, Value::Str(_))) {
                    Classes::Strings(
                        values
                            .iter()
                            .map(|v| match v {
                                Value::Str(s) => s.clone(),
                                _ => unreachable!(),
                            })
                            .collect(),
                    )
                } else if values.iter().all(|v| matches!(v, Value::Int(_))) {
                    Classes::Ints(
                        values
                            .iter()
                            .map(|v| match v {
                                Value::Int(n) => *n,
                                _ => unreachable!(),
                            })
                            .collect(),
                    )
                } else {
                    return unsupported(
                        "classes_ holds objects other than all strings or all integers; \
                         onnxify converts integer, string, whole float or bool labels",
                    );
                }
            }
        };
        if let Classes::Strings(labels) = &classes {
            for label in labels {
                if label.len() > MAX_LABEL_BYTES || label.contains('\0') {
                    return unsupported(format!(
                        "the class label {:?} is longer than {MAX_LABEL_BYTES} bytes or contains a NUL",
                        crate::util::excerpt(label)
                    ));
                }
            }
        }
        let names: Vec<String> = (0..classes.len()).map(|i| classes.name(i)).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != names.len() {
            return malformed("classes_ holds the same label twice");
        }
        Ok(classes)
    }

    fn feature_names(&self, state: Id) -> Checked<Option<Vec<String>>> {
        let Some(array) = self.array(state, "feature_names_in_")? else { return Ok(None) };
        let names = match (&array.elements, array.dtype.kind) {
            (Elements::Objects(items), _) => items
                .iter()
                .map(|&id| match self.value(id) {
                    Value::Str(s) => Ok(s.clone()),
                    other => {
                        malformed(format!("feature_names_in_ holds a {}, not a name", other.kind()))
                    }
                })
                .collect::<Checked<Vec<String>>>()?,
            (_, Kind::Unicode) => array
                .unicode(self.raw(array))
                .map_err(|e| Problem::Malformed(format!("feature_names_in_: {e}")))?,
            _ => {
                return malformed(format!(
                    "feature_names_in_ has dtype {}, not names",
                    array.dtype
                ));
            }
        };
        Ok(Some(names))
    }

    fn assemble(
        &self,
        estimator: &'static str,
        steps: Vec<(String, String)>,
        scaler: Option<ScalerParameters>,
        classifier: Classifier,
        feature_names: Option<Vec<String>>,
        sklearn_version: Option<String>,
    ) -> Checked<Extracted> {
        let features = classifier.coef.ncols();
        if let Some(scaler) = &scaler {
            for (key, values) in [("mean_", &scaler.mean), ("scale_", &scaler.scale)] {
                if let Some(values) = values
                    && values.len() != features
                {
                    return malformed(format!(
                        "the {} scales {} features ({key}) but coef_ has {features} columns",
                        scaler.class,
                        values.len()
                    ));
                }
            }
        }
        if let Some(names) = &feature_names
            && names.len() != features
        {
            return malformed(format!(
                "feature_names_in_ holds {} names but coef_ has {features} columns",
                names.len()
            ));
        }
        Ok(Extracted {
            estimator,
            steps,
            scaler,
            coef: classifier.coef,
            intercept: classifier.intercept,
            classes: classifier.classes,
            n_iter: classifier.n_iter,
            link: classifier.link,
            feature_names,
            sklearn_version,
            table: None,
            search: None,
        })
    }
}

/// Float labels as ONNX's int64 labels, which scikit-learn's converter writes for them too:
/// only whole numbers convert exactly (1.0 is the label 1).
fn whole_labels(values: Vec<f64>) -> Checked<Vec<i64>> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    values
        .into_iter()
        .map(|x| {
            if x.fract() == 0.0 && x.abs() <= EXACT {
                Ok(x as i64)
            } else {
                unsupported(format!(
                    "classes_ holds the label {x}; onnxify converts float labels that are whole \
                     numbers, as ONNX's int64 labels"
                ))
            }
        })
        .collect()
}

/// A classifier step as the report shows it.
fn classifier_text(class: Allowed, rows: usize, columns: usize, link: Link) -> String {
    let ovr = if link == Link::OneVsRest { ", one-vs-rest" } else { "" };
    format!("{} (coef_ {rows} x {columns}{ovr})", class_name(class))
}

/// The classifiers a model may end with.
fn is_classifier(class: Allowed) -> bool {
    matches!(
        class,
        Allowed::LogisticRegression
            | Allowed::LogisticRegressionCV
            | Allowed::SgdClassifier
            | Allowed::OneVsRestClassifier
    )
}

/// How deep Pipelines may nest inside a Pipeline.
const MAX_NESTING: usize = 8;

/// One scaler doing what `scalers` do one after the other (`None` for none): each is
/// `(x - offset) / scale`, with a disabled centring an offset of 0 and a disabled scaling a
/// scale of 1, so two compose into offset `o1 + o2 * s1` and scale `s1 * s2`.
fn chain(mut scalers: Vec<ScalerParameters>) -> Checked<Option<ScalerParameters>> {
    if scalers.len() < 2 {
        return Ok(scalers.pop());
    }
    let mut offset: Option<Vec<f64>> = None;
    let mut scale: Option<Vec<f64>> = None;
    let mut names = Vec::new();
    for step in &scalers {
        names.push(step.class.as_str());
        let width = step.mean.as_ref().or(step.scale.as_ref()).map(Vec::len);
        let Some(width) = width else { continue };
        let composed = offset.get_or_insert_with(|| vec![0.0; width]);
        if composed.len() != width {
            return malformed(format!(
                "the Pipeline's {} scales {width} features but the scaler before it {}",
                step.class,
                composed.len()
            ));
        }
        let spread = scale.get_or_insert_with(|| vec![1.0; width]);
        for j in 0..width {
            let o = match &step.mean {
                Some(mean) if step.with_mean => mean[j],
                _ => 0.0,
            };
            let s = match &step.scale {
                Some(scale) if step.with_std => scale[j],
                _ => 1.0,
            };
            composed[j] += o * spread[j];
            spread[j] *= s;
        }
    }
    let class = names.join(" -> ");
    Ok(Some(ScalerParameters {
        class,
        with_mean: offset.is_some(),
        with_std: scale.is_some(),
        mean: offset,
        scale,
    }))
}

/// The scalers a Pipeline may start with.
fn is_scaler(class: Allowed) -> bool {
    matches!(
        class,
        Allowed::StandardScaler
            | Allowed::MinMaxScaler
            | Allowed::MaxAbsScaler
            | Allowed::RobustScaler
    )
}

fn class_name(class: Allowed) -> &'static str {
    match class {
        Allowed::StandardScaler => "StandardScaler",
        Allowed::MinMaxScaler => "MinMaxScaler",
        Allowed::MaxAbsScaler => "MaxAbsScaler",
        Allowed::RobustScaler => "RobustScaler",
        Allowed::LogisticRegression => "LogisticRegression",
        Allowed::LogisticRegressionCV => "LogisticRegressionCV",
        Allowed::OneVsRestClassifier => "OneVsRestClassifier",
        Allowed::SgdClassifier => "SGDClassifier",
        Allowed::LabelBinarizer => "LabelBinarizer",
        Allowed::Pipeline => "Pipeline",
        Allowed::ColumnTransformer => "ColumnTransformer",
        Allowed::SimpleImputer => "SimpleImputer",
        Allowed::MissingIndicator => "MissingIndicator",
        Allowed::OneHotEncoder => "OneHotEncoder",
        Allowed::OrdinalEncoder => "OrdinalEncoder",
        Allowed::FunctionTransformer => "FunctionTransformer",
        Allowed::ColumnSelector => "make_column_selector",
        Allowed::GridSearchCV => "GridSearchCV",
        Allowed::RandomizedSearchCV => "RandomizedSearchCV",
        _ => "?",
    }
}

/// How a fitted LogisticRegression's probabilities follow from its scores.
enum ProbabilityRule {
    /// The sigmoid of the score for two classes, the softmax of the scores for more.
    Standard,
    /// Three or more classes, each score's sigmoid divided by the row's sum.
    OneVsRest,
    /// Two classes through a softmax of (-score, score), as `multi_class="multinomial"` did.
    BinarySoftmax,
}

/// `(1, 4)` from a version such as `1.4.2`, `1.6.dev0` or `1.5rc1`.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_major_and_minor() {
        assert_eq!(major_minor("1.4.2"), Some((1, 4)));
        assert_eq!(major_minor("1.6.dev0"), Some((1, 6)));
        assert_eq!(major_minor("1.5rc1"), Some((1, 5)));
        assert_eq!(major_minor("0.24.2"), Some((0, 24)));
        assert_eq!(major_minor("pre-0.18"), None);
    }
}
