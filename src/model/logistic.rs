//! LogisticRegression with scikit-learn 1.9's model and objective (L2 on the coefficients, the
//! intercept unpenalised, the loss averaged over rows; one weight vector for two classes, a
//! multinomial softmax with K vectors for more).
//!
//! onnxify's defaults (`tol` 1e-8, `max_iter` 1000) differ from scikit-learn's (1e-4, 100) on
//! purpose: scikit-learn's defaults stop well short of the optimum on large data, and a model
//! handed to production should be the optimum, not wherever an iteration budget ran out.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::design::Design;
use super::fold_stack::Lane;
use super::objective::{
    Differentiable, NO_COLUMN, Objective, OneHotColumns, softmax_in_place, unpack,
};
use super::optimizer::{Minimum, WarmStart, minimize};
use super::scaler::FittedStandardScaler;
use crate::error::{Error, Parameter, Result};
use crate::progress::Step;

/// How the classes' rows are weighed in the loss (scikit-learn's `class_weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every row weighs 1 (`class_weight=None`).
    #[default]
    None,
    /// A row of class c weighs n_samples / (n_classes * count of c) (`"balanced"`).
    Balanced,
}

impl ClassWeight {
    /// Whether rows are weighed 1, for leaving the setting out of records.
    pub fn is_none(&self) -> bool {
        *self == ClassWeight::None
    }

    /// The setting's name: `none` or `balanced`.
    pub fn name(self) -> &'static str {
        match self {
            ClassWeight::None => "none",
            ClassWeight::Balanced => "balanced",
        }
    }

    /// The setting as scikit-learn's `class_weight` holds it: `None` or `"balanced"`.
    pub fn scikit_learn(self) -> Option<&'static str> {
        match self {
            ClassWeight::None => None,
            ClassWeight::Balanced => Some("balanced"),
        }
    }

    /// The weight of each class given the class index of every row, `None` for unweighted.
    pub fn weights(self, y: &[u32], n_classes: usize) -> Option<Vec<f64>> {
        match self {
            ClassWeight::None => None,
            ClassWeight::Balanced => {
                let mut counts = vec![0usize; n_classes];
                for &label in y {
                    counts[label as usize] += 1;
                }
                let n = y.len() as f64;
                let k = n_classes as f64;
                Some(counts.iter().map(|&c| n / (k * c as f64)).collect())
            }
        }
    }
}

/// Hyperparameters, unchecked; [`LogisticRegressionParams::check`] validates them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogisticRegressionParams {
    #[serde(rename = "C")]
    c: f64,
    max_iter: u64,
    tol: f64,
    #[serde(skip_serializing_if = "ClassWeight::is_none")]
    class_weight: ClassWeight,
}

impl Default for LogisticRegressionParams {
    fn default() -> Self {
        LogisticRegressionParams {
            c: 1.0,
            max_iter: 1000,
            tol: 1e-8,
            class_weight: ClassWeight::None,
        }
    }
}

impl LogisticRegressionParams {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inverse regularisation strength, a positive finite number. Default 1.0.
    pub fn c(mut self, c: f64) -> Self {
        self.c = c;
        self
    }

    /// Iteration limit of the optimiser, at least 1. Default 1000 (scikit-learn: 100).
    pub fn max_iter(mut self, max_iter: u64) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Stop once the inf-norm of the gradient of the mean objective is at most `tol` (>= 0).
    /// Default 1e-8 (scikit-learn: 1e-4).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// How rows are weighed by class. Default [`ClassWeight::None`].
    pub fn class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }

    /// Validates the values.
    pub fn check(self) -> Result<LogisticRegression> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(invalid(
                Parameter::C,
                format!("{} is not a positive finite number", self.c),
            ));
        }
        if self.max_iter == 0 {
            return Err(invalid(Parameter::MaxIter, "must be at least 1".into()));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(invalid(
                Parameter::Tol,
                format!("{} is not a finite number >= 0", self.tol),
            ));
        }
        Ok(LogisticRegression { params: self })
    }
}

fn invalid(parameter: Parameter, message: String) -> Error {
    Error::InvalidParameter { parameter, message }
}

/// A LogisticRegression with checked hyperparameters, ready to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct LogisticRegression {
    params: LogisticRegressionParams,
}

impl LogisticRegression {
    /// The settings, to derive another model from (a candidate of a grid search).
    pub fn params(&self) -> LogisticRegressionParams {
        self.params
    }

    pub fn c(&self) -> f64 {
        self.params.c
    }

    pub fn max_iter(&self) -> u64 {
        self.params.max_iter
    }

    pub fn tol(&self) -> f64 {
        self.params.tol
    }

    pub fn class_weight(&self) -> ClassWeight {
        self.params.class_weight
    }

    /// Fits on scaled features `x` with class indices `y` (each below `n_classes`, at least 2).
    pub fn fit(
        &self,
        x: ArrayView2<f64>,
        y: &[u32],
        n_classes: usize,
        step: &Step,
    ) -> Result<FittedLogisticRegression> {
        self.fit_from(x, y, n_classes, None, step)
    }

    /// [`fit`](Self::fit) from `start` (from zero when `None`): the stopping test is the same,
    /// so the optimum reached is too.
    pub fn fit_from(
        &self,
        x: ArrayView2<f64>,
        y: &[u32],
        n_classes: usize,
        start: Option<&WarmStart>,
        step: &Step,
    ) -> Result<FittedLogisticRegression> {
        let objective = Objective::new(x, y, n_classes, self.params.c);
        self.fit_weighted(objective, y, n_classes, start, step)
    }

    /// [`fit_from`](Self::fit_from) on features `x` as read, each block of rows scaled by
    /// `scaler` as the fit uses it: the fit on `scaler.transform(x)`, without that copy of `x`.
    pub fn fit_scaling_from(
        &self,
        x: ArrayView2<f64>,
        scaler: &FittedStandardScaler,
        y: &[u32],
        n_classes: usize,
        start: Option<&WarmStart>,
        step: &Step,
    ) -> Result<FittedLogisticRegression> {
        let (mean, scale) = (scaler.mean(), scaler.scale());
        let (mean, scale) =
            (mean.as_slice().expect("contiguous"), scale.as_slice().expect("contiguous"));
        let objective = Objective::new(x, y, n_classes, self.params.c).with_scaling(mean, scale);
        self.fit_weighted(objective, y, n_classes, start, step)
    }

    /// Fits `objective`, its rows weighed by the class weighting.
    fn fit_weighted(
        &self,
        objective: Objective,
        y: &[u32],
        n_classes: usize,
        start: Option<&WarmStart>,
        step: &Step,
    ) -> Result<FittedLogisticRegression> {
        let start = start.cloned();
        match self.params.class_weight.weights(y, n_classes) {
            Some(weights) => {
                self.fit_objective(&objective.with_class_weights(weights), start, step)
            }
            None => self.fit_objective(&objective, start, step),
        }
    }

    /// Fits on a [`Design`], starting from the one of `starts` with the lowest loss (a warm
    /// start: a model fitted on the same rows at a neighbouring C, or on other folds of the
    /// same data at this C), from zero when there is none; the coefficients cover the dense
    /// columns, then the one-hot ones.
    pub fn fit_design(
        &self,
        design: &Design,
        y: &[u32],
        n_classes: usize,
        starts: &[&WarmStart],
        step: &Step,
    ) -> Result<(FittedLogisticRegression, WarmStart)> {
        let objective = match design.one_hot() {
            Some(one_hot) => {
                Objective::with_one_hot(design.dense_view(), one_hot, y, n_classes, self.params.c)
            }
            None => Objective::new(design.dense_view(), y, n_classes, self.params.c),
        };
        let objective = match self.params.class_weight.weights(y, n_classes) {
            Some(weights) => objective.with_class_weights(weights),
            None => objective,
        };
        let columns = objective.n_columns();
        self.fit_warm(&objective, (objective.rows(), columns), starts, step)
    }

    /// Fits on one fold of a [`FoldStack`], through its `lane` of a lockstep run: the rows are
    /// the fold's training part, `y` their class indices (for balanced class weights), scaled
    /// by the fold's own StandardScaler. Starts as [`fit_design`](Self::fit_design) does.
    pub fn fit_fold(
        &self,
        lane: &Lane<'_, '_>,
        y: &[u32],
        starts: &[&WarmStart],
        step: &Step,
    ) -> Result<(FittedLogisticRegression, WarmStart)> {
        let weights = self.params.class_weight.weights(y, lane.n_classes());
        let objective = lane.objective(self.params.c, weights, y);
        self.fit_warm(&objective, lane.shape(), starts, step)
    }

    /// Minimises `objective`, whose parameters are a `shape` weight matrix and its intercepts,
    /// from the one of `starts` with the lowest loss.
    fn fit_warm(
        &self,
        objective: &dyn Differentiable,
        shape: (usize, usize),
        starts: &[&WarmStart],
        step: &Step,
    ) -> Result<(FittedLogisticRegression, WarmStart)> {
        let chosen = if starts.len() < 2 {
            starts.first().copied()
        } else {
            let mut gradient = vec![0.0; objective.n_params()];
            starts
                .iter()
                .map(|&warm| (objective.evaluate(&warm.params, &mut gradient), warm))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, warm)| warm)
        };
        let start = chosen.cloned();
        let minimum = minimize(objective, start, self.params.max_iter, self.params.tol, step);
        let warm = WarmStart { params: minimum.params.clone(), scale: minimum.scale };
        Ok((self.fitted(shape, minimum), warm))
    }

    fn fit_objective(
        &self,
        objective: &Objective,
        start: Option<WarmStart>,
        step: &Step,
    ) -> Result<FittedLogisticRegression> {
        let minimum = minimize(objective, start, self.params.max_iter, self.params.tol, step);
        Ok(self.fitted((objective.rows(), objective.n_columns()), minimum))
    }

    fn fitted(
        &self,
        (rows, columns): (usize, usize),
        minimum: Minimum,
    ) -> FittedLogisticRegression {
        let (coef, intercept) = unpack(&minimum.params, rows, columns);
        FittedLogisticRegression {
            coef,
            intercept: Array1::from(intercept),
            link: Link::Softmax,
            decision: Decision::MostProbable,
            n_iter: minimum.n_iter,
            n_evaluations: minimum.n_evaluations,
            converged: minimum.converged,
            loss: minimum.loss,
            gradient_norm: minimum.gradient_norm,
            stop_reason: minimum.stop_reason,
        }
    }
}

/// How a model of three or more classes turns its scores into probabilities (two classes
/// always take the sigmoid of their one score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The softmax of the scores: a multinomial model, what onnxify fits.
    Softmax,
    /// The sigmoid of each score, divided by their sum: scikit-learn's one-vs-rest models
    /// (`multi_class="ovr"`, liblinear).
    OneVsRest,
}

/// How the label is chosen from the probabilities.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The most probable class, the first on ties: scikit-learn's `predict`.
    MostProbable,
    /// Two classes: the second one exactly where its probability is above this threshold
    /// (Spark's binomial `threshold`).
    Threshold(f64),
    /// The class whose probability divided by its threshold is largest, the first on ties
    /// (Spark's multinomial `thresholds`, each above 0).
    ClassThresholds(Vec<f64>),
}

impl Decision {
    /// The divisors of the probabilities whose largest quotient is the label, as the graph
    /// computes it (`None` for the most probable class): `[1 - t, t]` for a threshold `t`.
    pub fn class_thresholds(&self) -> Option<Vec<f64>> {
        match self {
            Decision::MostProbable => None,
            Decision::Threshold(t) => Some(vec![1.0 - t, *t]),
            Decision::ClassThresholds(t) => Some(t.clone()),
        }
    }

    /// The class index of one row of probabilities.
    pub fn label(&self, proba: &[f64]) -> u32 {
        match self {
            Decision::MostProbable => argmax(proba),
            Decision::Threshold(t) => u32::from(proba[1] > *t),
            Decision::ClassThresholds(t) => {
                let quotients: Vec<f64> = proba.iter().zip(t).map(|(p, t)| p / t).collect();
                argmax(&quotients)
            }
        }
    }

    /// How far a row of probabilities is from choosing another label, in probability: a
    /// label computed from probabilities each off by less than half of it cannot change.
    pub fn margin(&self, proba: &[f64]) -> f64 {
        match self {
            Decision::MostProbable => top_two_margin(proba),
            Decision::Threshold(t) => (proba[1] - t).abs(),
            Decision::ClassThresholds(t) => {
                // Each quotient moves by at most the probability's error over its threshold.
                let quotients: Vec<f64> = proba.iter().zip(t).map(|(p, t)| p / t).collect();
                let smallest = t.iter().copied().fold(f64::INFINITY, f64::min);
                top_two_margin(&quotients) * smallest
            }
        }
    }
}

/// Difference between the two largest values.
pub fn top_two_margin(values: &[f64]) -> f64 {
    let (mut first, mut second) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &v in values {
        if v > first {
            second = first;
            first = v;
        } else if v > second {
            second = v;
        }
    }
    first - second
}

/// A fitted LogisticRegression. Inputs to its methods are already scaled.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLogisticRegression {
    coef: Array2<f64>,
    intercept: Array1<f64>,
    link: Link,
    decision: Decision,
    n_iter: u64,
    n_evaluations: u64,
    converged: bool,
    loss: f64,
    gradient_norm: f64,
    stop_reason: Option<String>,
}

impl FittedLogisticRegression {
    /// A classifier fitted elsewhere, from `coef_` (one row for two classes, one per class
    /// otherwise), `intercept_` and `n_iter_`. Its optimiser diagnostics are unknown: the loss
    /// and gradient norm are NaN, and it counts as converged.
    pub fn from_parameters(
        coef: Array2<f64>,
        intercept: Array1<f64>,
        n_iter: u64,
    ) -> FittedLogisticRegression {
        FittedLogisticRegression {
            coef,
            intercept,
            link: Link::Softmax,
            decision: Decision::MostProbable,
            n_iter,
            n_evaluations: 0,
            converged: true,
            loss: f64::NAN,
            gradient_norm: f64::NAN,
            stop_reason: None,
        }
    }

    /// The same model with probabilities linked to the scores by `link`.
    pub fn with_link(self, link: Link) -> FittedLogisticRegression {
        FittedLogisticRegression { link, ..self }
    }

    /// How scores become probabilities for three or more classes.
    pub fn link(&self) -> Link {
        self.link
    }

    /// The same model with its label chosen by `decision`.
    pub fn with_decision(self, decision: Decision) -> FittedLogisticRegression {
        FittedLogisticRegression { decision, ..self }
    }

    /// How the label is chosen from the probabilities.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Weights (`coef_`): shape (1, features) for two classes (the score of the second class),
    /// (classes, features) otherwise.
    pub fn coef(&self) -> ArrayView2<'_, f64> {
        self.coef.view()
    }

    /// Intercepts (`intercept_`), one per row of `coef`.
    pub fn intercept(&self) -> ArrayView1<'_, f64> {
        self.intercept.view()
    }

    /// Optimiser iterations run (`n_iter_`).
    pub fn n_iter(&self) -> u64 {
        self.n_iter
    }

    /// The loss and gradient evaluations the fit took (0 for a classifier fitted elsewhere).
    pub fn n_evaluations(&self) -> u64 {
        self.n_evaluations
    }

    /// Whether the gradient reached `tol` within `max_iter` iterations.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The objective at the solution.
    pub fn loss(&self) -> f64 {
        self.loss
    }

    /// Inf-norm of the objective's gradient at the solution.
    pub fn gradient_norm(&self) -> f64 {
        self.gradient_norm
    }

    /// Why the optimiser stopped before converging, if it did.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }

    /// `x coef^T + intercept`: one column for a binary model, one per class otherwise.
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Array2<f64> {
        x.dot(&self.coef.t()) + &self.intercept
    }

    /// `decision_function` of a [`Design`].
    pub fn decision_function_design(&self, design: &Design) -> Array2<f64> {
        match design.one_hot() {
            Some(one_hot) => self.decision_function_with_one_hot(design.dense_view(), one_hot),
            None => self.decision_function(design.dense_view()),
        }
    }

    /// `decision_function` of dense columns `x` followed by one-hot columns.
    fn decision_function_with_one_hot(
        &self,
        x: ArrayView2<f64>,
        one_hot: OneHotColumns,
    ) -> Array2<f64> {
        let d = x.ncols();
        let dense = self.coef.slice(ndarray::s![.., ..d]);
        let mut scores = x.dot(&dense.t()) + &self.intercept;
        for (mut z, coded) in scores.rows_mut().into_iter().zip(one_hot.codes.rows()) {
            for &c in coded {
                if c != NO_COLUMN {
                    z += &self.coef.column(d + c as usize);
                }
            }
        }
        scores
    }

    /// `predict` and `predict_proba` from scores (`decision_function`'s output).
    /// The label comes from the scores for the most probable class (which rounding cannot tie
    /// where the probabilities might), else from the probabilities by the [`Decision`].
    pub fn predict_scores(&self, scores: Array2<f64>) -> (Vec<u32>, Array2<f64>) {
        if self.decision == Decision::MostProbable {
            let labels = labels_from_scores(scores.view());
            return (labels, proba_from_scores(scores, self.link));
        }
        let proba = proba_from_scores(scores, self.link);
        let labels = proba
            .rows()
            .into_iter()
            .map(|p| {
                self.decision.label(p.as_slice().expect("rows of a new matrix are contiguous"))
            })
            .collect();
        (labels, proba)
    }

    /// Class probabilities, one column per class: `[1 - sigmoid(s), sigmoid(s)]` for two
    /// classes, otherwise the softmax of the scores, or for a one-vs-rest model their
    /// sigmoids divided by their sum.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Array2<f64> {
        proba_from_scores(self.decision_function(x), self.link)
    }

    /// Class indices: binary `score > 0`, else the first class with the highest score (or
    /// as the [`Decision`] says).
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<u32> {
        let scores = self.decision_function(x);
        if self.decision == Decision::MostProbable {
            return labels_from_scores(scores.view());
        }
        self.predict_scores(scores).0
    }

    /// `predict` and `predict_proba` from one pass over `x`.
    pub fn predict_with_proba(&self, x: ArrayView2<f64>) -> (Vec<u32>, Array2<f64>) {
        self.predict_scores(self.decision_function(x))
    }
}

fn proba_from_scores(scores: Array2<f64>, link: Link) -> Array2<f64> {
    if scores.ncols() == 1 {
        let mut proba = Array2::zeros((scores.nrows(), 2));
        for (mut p, &s) in proba.rows_mut().into_iter().zip(scores.column(0)) {
            let positive = sigmoid(s);
            p[0] = 1.0 - positive;
            p[1] = positive;
        }
        proba
    } else if link == Link::OneVsRest {
        // scikit-learn's _predict_proba_lr: expit, then each row divided by its sum.
        let mut proba = scores.mapv(sigmoid);
        for mut row in proba.rows_mut() {
            let sum = row.sum();
            row /= sum;
        }
        proba
    } else {
        let mut proba = scores;
        let zeros = vec![0.0; proba.ncols()];
        for mut row in proba.rows_mut() {
            softmax_in_place(
                row.as_slice_mut().expect("rows of a new matrix are contiguous"),
                &zeros,
            );
        }
        proba
    }
}

fn labels_from_scores(scores: ArrayView2<f64>) -> Vec<u32> {
    scores
        .rows()
        .into_iter()
        .map(|row| {
            if row.len() == 1 {
                u32::from(row[0] > 0.0)
            } else {
                argmax(row.as_slice().expect("contiguous"))
            }
        })
        .collect()
}

/// The logistic function, evaluated so that it cannot overflow (scipy's `expit`).
fn sigmoid(s: f64) -> f64 {
    if s >= 0.0 {
        1.0 / (1.0 + (-s).exp())
    } else {
        let e = s.exp();
        e / (1.0 + e)
    }
}

/// Index of the first maximum.
pub(crate) fn argmax(values: &[f64]) -> u32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_hyperparameters_scikit_learn_would_refuse() {
        assert!(LogisticRegressionParams::new().c(0.0).check().is_err());
        assert!(LogisticRegressionParams::new().c(f64::INFINITY).check().is_err());
        assert!(LogisticRegressionParams::new().tol(-1.0).check().is_err());
        assert!(LogisticRegressionParams::new().max_iter(0).check().is_err());
        assert!(LogisticRegressionParams::new().check().is_ok());
    }

    #[test]
    fn ties_go_to_the_first_class() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[2.0, 2.0]), 0);
    }

    #[test]
    fn the_margin_is_between_the_two_largest_probabilities() {
        assert_eq!(top_two_margin(&[0.2, 0.5, 0.3]), 0.2);
        assert_eq!(top_two_margin(&[0.5, 0.5]), 0.0);
        assert_eq!(Decision::MostProbable.margin(&[0.2, 0.5, 0.3]), 0.2);
    }

    #[test]
    fn a_threshold_gives_the_second_class_only_above_it() {
        let decision = Decision::Threshold(0.3);
        assert_eq!(decision.label(&[0.69, 0.31]), 1);
        assert_eq!(decision.label(&[0.7, 0.3]), 0);
        assert_eq!(decision.label(&[0.8, 0.2]), 0);
        assert!((decision.margin(&[0.75, 0.25]) - 0.05).abs() < 1e-15);
        assert_eq!(decision.class_thresholds(), Some(vec![0.7, 0.3]));
    }

    #[test]
    fn class_thresholds_divide_the_probabilities() {
        let decision = Decision::ClassThresholds(vec![0.5, 0.25, 0.25]);
        // Quotients 1.0, 1.2, 0.8: the second class, though the first is the most probable.
        assert_eq!(decision.label(&[0.5, 0.3, 0.2]), 1);
        // Quotients 1.2, 1.2, 0.4: the first on a tie.
        assert_eq!(decision.label(&[0.6, 0.3, 0.1]), 0);
        // The quotients' margin 0.2, back in probability at the smallest threshold.
        assert!((decision.margin(&[0.5, 0.3, 0.2]) - 0.05).abs() < 1e-15);
    }

    #[test]
    fn a_decision_changes_the_labels_and_not_the_probabilities() {
        let model = FittedLogisticRegression::from_parameters(
            Array2::from_elem((1, 1), 1.0),
            Array1::zeros(1),
            0,
        );
        let x = ndarray::arr2(&[[-1.0], [-0.5], [0.5]]);
        let (labels, proba) = model.predict_with_proba(x.view());
        assert_eq!(labels, [0, 0, 1]);
        let thresholded = model.with_decision(Decision::Threshold(0.3));
        let (labels_at, proba_at) = thresholded.predict_with_proba(x.view());
        // sigmoid(-0.5) = 0.378 > 0.3; sigmoid(-1) = 0.269 is not.
        assert_eq!(labels_at, [0, 1, 1]);
        assert_eq!(proba_at, proba);
        assert_eq!(thresholded.predict(x.view()), labels_at);
    }

    #[test]
    fn sigmoid_saturates_without_overflow() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
