//! Comparing a model file's predictions with the native float64 pipeline's.
//!
//! Tolerance: a graph computing in float32 moves probabilities by up to ~5e-7 on well-scaled
//! data (measured against onnxruntime and tract), so 1e-5 passes every sound model while a
//! feature that float32 cannot represent (|mean| / std of 1e8 and more) moves probabilities by
//! far more. A graph computing in float64 must agree to 1e-12: only the order of operations
//! differs from the native pipeline. A label may differ only where the native top-two
//! probabilities are closer than twice the tolerance: there rounding alone can swap them.

use ndarray::Array2;

use crate::data::Classes;
use crate::error::Result;
use crate::model::Pipeline;
use crate::onnx::{Precision, Verification};
use crate::progress::Step;
use crate::proof::runtime::{RUNTIME, TractModel};

/// Largest accepted |ONNX - native| difference of a probability computed in `precision`.
pub fn probability_tolerance(precision: Precision) -> f64 {
    match precision {
        Precision::Float32 => 1e-5,
        Precision::Float64 => 1e-12,
    }
}

/// The rows a model file is checked on, with the native pipeline's float64 predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The rows' features, as read (cast to the model's input type when run).
    pub features: Array2<f64>,
    /// Native class probabilities, one column per class.
    pub proba: Array2<f64>,
    /// Native predicted class indices.
    pub labels: Vec<u32>,
    /// File line of each row.
    pub lines: Vec<u64>,
    /// "held-out", or "training" when every row trained.
    pub rows_used: &'static str,
}

/// One row where the ONNX file and the native pipeline differ.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDifference {
    pub line: u64,
    pub native_label: String,
    pub onnx_label: String,
    pub native_proba: Vec<f64>,
    pub onnx_proba: Vec<f64>,
    pub max_difference: f64,
}

/// The comparison of a file's predictions with the native pipeline's.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub summary: Verification,
    /// The worst rows (label disagreements first, then the largest probability differences).
    pub worst_rows: Vec<RowDifference>,
}

/// Runs the reference rows through `model` and compares with the native predictions.
pub fn compare(
    model: &TractModel,
    classes: &Classes,
    reference: &Reference,
    step: &Step,
) -> Result<Comparison> {
    let (onnx_labels, onnx_proba) = model.predict(reference.features.view(), classes, step)?;
    let tolerance = probability_tolerance(model.output_precision());
    let near_tie = 2.0 * tolerance;
    let mut labels_agreeing = 0;
    let mut near_ties = 0;
    let mut max = (0.0f64, None);
    let mut worst: Vec<(bool, f64, usize)> = Vec::new();
    for (row, (native, onnx)) in
        reference.proba.rows().into_iter().zip(onnx_proba.rows()).enumerate()
    {
        // NaN compares as an infinite difference, never as agreement.
        let difference = native
            .iter()
            .zip(onnx)
            .map(|(&n, &o)| (n - o).abs())
            .fold(0.0, |m: f64, d| if d.is_nan() { f64::INFINITY } else { m.max(d) });
        let agree = onnx_labels[row] == Some(reference.labels[row]);
        if agree {
            labels_agreeing += 1;
        } else if top_two_margin(native.as_slice().expect("contiguous")) < near_tie {
            near_ties += 1;
        }
        if max.1.is_none() || difference > max.0 {
            max = (difference, Some(row));
        }
        if !agree || difference > tolerance {
            worst.push((!agree, difference, row));
        }
    }
    let rows_checked = reference.labels.len();
    let passed = labels_agreeing + near_ties == rows_checked && max.0 <= tolerance;
    worst.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let label =
        |c: Option<u32>| c.map_or_else(|| "(not a class)".to_owned(), |c| classes.name(c as usize));
    let worst_rows = worst
        .into_iter()
        .take(5)
        .map(|(_, max_difference, row)| RowDifference {
            line: reference.lines[row],
            native_label: label(Some(reference.labels[row])),
            onnx_label: label(onnx_labels[row]),
            native_proba: reference.proba.row(row).to_vec(),
            onnx_proba: onnx_proba.row(row).to_vec(),
            max_difference,
        })
        .collect();
    Ok(Comparison {
        summary: Verification {
            runtime: RUNTIME.into(),
            rows_used: reference.rows_used.into(),
            rows_checked,
            labels_agreeing,
            near_ties,
            max_probability_difference: max.0,
            max_difference_line: max.1.map(|r| reference.lines[r]),
            probability_tolerance: tolerance,
            passed,
        },
        worst_rows,
    })
}

/// Difference between the two largest values.
fn top_two_margin(values: &[f64]) -> f64 {
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

/// A feature whose float32 rounding can move the model's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Float32Culprit {
    pub feature: String,
    /// |mean| / standard deviation of the feature.
    pub mean_over_std: f64,
    /// Bound on how far float32 moves a score through this feature.
    pub score_error: f64,
}

/// The features whose float32 scaling can move a score by more than the probability
/// tolerance, worst first.
///
/// The ai.onnx.ml Scaler computes `(x - offset) * scale` in float32. For a value within three
/// standard deviations of the mean, rounding the input and the offset to float32 costs up to
/// `(2 |mean| + 3 std) * 2^-24` before scaling, so the scaled value is off by about
/// `(2 |mean| / std + 3) * 2^-24`; times the feature's largest weight, that is how far a score
/// can move. Features with a large |mean| / std (timestamps, money in cents, 1e8 +- 0.1) are
/// the ones float32 cannot represent.
pub fn float32_culprits(pipeline: &Pipeline, feature_names: &[String]) -> Vec<Float32Culprit> {
    let unit = f64::from(f32::EPSILON) / 2.0;
    let coef = pipeline.coef();
    let mut culprits: Vec<Float32Culprit> = (0..pipeline.n_features())
        .map(|j| {
            let mean_over_std = pipeline.mean()[j].abs() / pipeline.scale()[j];
            let weight = coef.column(j).iter().fold(0.0f64, |m, w| m.max(w.abs()));
            Float32Culprit {
                feature: feature_names[j].clone(),
                mean_over_std,
                score_error: (2.0 * mean_over_std + 3.0) * unit * weight,
            }
        })
        .filter(|c| c.score_error > probability_tolerance(Precision::Float32))
        .collect();
    culprits.sort_by(|a, b| b.score_error.total_cmp(&a.score_error));
    culprits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_between_the_two_largest_probabilities() {
        assert_eq!(top_two_margin(&[0.2, 0.5, 0.3]), 0.2);
        assert_eq!(top_two_margin(&[0.5, 0.5]), 0.0);
    }
}
