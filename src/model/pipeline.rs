//! The fitted `StandardScaler -> LogisticRegression` pipeline: what onnxify trains and exports.

use ndarray::{Array2, ArrayView1, ArrayView2, s};
use rayon::prelude::*;

use super::logistic::{FittedLogisticRegression, LogisticRegression};
use super::optimizer::WarmStart;
use super::scaler::{FittedStandardScaler, StandardScaler};
use crate::data::Classes;
use crate::error::Result;
use crate::progress::Step;

/// A fitted StandardScaler followed by a fitted LogisticRegression. Its methods take raw
/// (unscaled) features in the training column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    scaler: FittedStandardScaler,
    classifier: FittedLogisticRegression,
    classes: Classes,
}

impl Pipeline {
    /// Fits the scaler on `x`, then the classifier on `x` scaled by it, each block of rows as
    /// the fit uses it (so a large matrix is never copied). `y` holds class indices into
    /// `classes`.
    pub fn fit(
        x: Array2<f64>,
        y: &[u32],
        classes: Classes,
        params: &LogisticRegression,
        step: &Step,
    ) -> Result<Pipeline> {
        Pipeline::fit_from(x.view(), y, classes, params, None, step)
    }

    /// [`fit`](Self::fit), the classifier's fit starting from `start` (from zero when `None`).
    pub fn fit_from(
        x: ArrayView2<f64>,
        y: &[u32],
        classes: Classes,
        params: &LogisticRegression,
        start: Option<&WarmStart>,
        step: &Step,
    ) -> Result<Pipeline> {
        let scaler = StandardScaler::new().fit(x);
        let classifier = params.fit_scaling_from(x, &scaler, y, classes.len(), start, step)?;
        Ok(Pipeline { scaler, classifier, classes })
    }

    /// A pipeline of already fitted parts; `classifier` must have been fitted on features
    /// scaled by `scaler`, with one weight row for two classes or one per class.
    pub fn from_parts(
        scaler: FittedStandardScaler,
        classifier: FittedLogisticRegression,
        classes: Classes,
    ) -> Pipeline {
        Pipeline { scaler, classifier, classes }
    }

    /// The fitted scaler.
    pub fn scaler(&self) -> &FittedStandardScaler {
        &self.scaler
    }

    /// The fitted classifier.
    pub fn classifier(&self) -> &FittedLogisticRegression {
        &self.classifier
    }

    /// Class labels in probability-column order (`classes_`).
    pub fn classes(&self) -> &Classes {
        &self.classes
    }

    /// The scaler's per-feature means (`mean_`).
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.scaler.mean()
    }

    /// The scaler's per-feature divisors (`scale_`).
    pub fn scale(&self) -> ArrayView1<'_, f64> {
        self.scaler.scale()
    }

    /// The classifier's weights (`coef_`), on the scaled features.
    pub fn coef(&self) -> ArrayView2<'_, f64> {
        self.classifier.coef()
    }

    /// The classifier's intercepts (`intercept_`).
    pub fn intercept(&self) -> ArrayView1<'_, f64> {
        self.classifier.intercept()
    }

    /// Optimiser iterations (`n_iter_`).
    pub fn n_iter(&self) -> u64 {
        self.classifier.n_iter()
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.scaler.mean().len()
    }

    /// Raw scores: one column (the second class's score) for two classes, one per class otherwise.
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Array2<f64> {
        self.classifier.decision_function(self.scaler.transform(x).view())
    }

    /// Class probabilities, one column per class in `classes()` order.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Array2<f64> {
        self.classifier.predict_proba(self.scaler.transform(x).view())
    }

    /// Predicted class of each row, as an index into `classes()`.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<u32> {
        self.classifier.predict(self.scaler.transform(x).view())
    }

    /// `predict` and `predict_proba` from one pass over `x`, in blocks of rows on every core:
    /// only a block at a time is scaled, so a large `x` is never copied whole.
    pub fn predict_with_proba(&self, x: ArrayView2<f64>) -> (Vec<u32>, Array2<f64>) {
        const BLOCK: usize = 4096;
        let blocks: Vec<(Vec<u32>, Array2<f64>)> = (0..x.nrows().div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let rows = x.slice(s![b * BLOCK..((b + 1) * BLOCK).min(x.nrows()), ..]);
                self.classifier.predict_with_proba(self.scaler.transform(rows).view())
            })
            .collect();
        let mut labels = Vec::with_capacity(x.nrows());
        let mut proba = Array2::zeros((x.nrows(), self.classes.len()));
        for (b, (block_labels, block_proba)) in blocks.into_iter().enumerate() {
            let start = b * BLOCK;
            proba.slice_mut(s![start..start + block_labels.len(), ..]).assign(&block_proba);
            labels.extend(block_labels);
        }
        (labels, proba)
    }
}
