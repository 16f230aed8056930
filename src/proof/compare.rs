//! Comparing a model file's predictions with the native float64 pipeline's.
//!
//! Tolerance: a graph computing in float32 moves probabilities by up to ~5e-7 on well-scaled
//! data (measured against onnxruntime and tract), so 1e-5 passes every sound model while a
//! feature that float32 cannot represent (|mean| / std of 1e8 and more) moves probabilities by
//! far more. A graph computing in float64 must agree to 1e-12: only the order of operations
//! differs from the native pipeline. A label may differ only where the native probabilities are
//! closer than twice the tolerance to choosing another label (the top two probabilities, or a
//! probability and its threshold): there rounding alone can change it.

use ndarray::{Array2, ArrayView2, s};
use sha2::{Digest, Sha256};

use crate::data::Classes;
use crate::error::Result;
use crate::model::{Decision, Pipeline};
use crate::onnx::{Precision, Verification};
use crate::progress::Step;
use crate::proof::runtime::{Inputs, RUNTIME, TractModel};

/// Rows the quicker checks run on: a precision that may be rejected is tried on them first, and
/// the written file is run on them. Enough for a feature float32 cannot carry to show; few
/// enough to cost little beside a run over a million rows.
pub const FIRST_ROWS: usize = 16_384;

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
    pub inputs: Inputs,
    /// Native class probabilities, one column per class.
    pub proba: Array2<f64>,
    /// Native predicted class indices.
    pub labels: Vec<u32>,
    /// File line of each row.
    pub lines: Vec<u64>,
    /// "held-out", or "training" when every row trained.
    pub rows_used: &'static str,
    /// How the native labels were chosen, which says which label differences rounding
    /// explains.
    pub decision: Decision,
}

impl Reference {
    /// The first `n` rows (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Reference {
        let n = n.min(self.labels.len());
        Reference {
            inputs: match &self.inputs {
                Inputs::Matrix(x) => Inputs::Matrix(x.slice(s![..n, ..]).to_owned()),
                Inputs::Cells(cells) => Inputs::Cells(cells.select(&(0..n).collect::<Vec<_>>())),
            },
            proba: self.proba.slice(s![..n, ..]).to_owned(),
            labels: self.labels[..n].to_vec(),
            lines: self.lines[..n].to_vec(),
            rows_used: self.rows_used,
            decision: self.decision.clone(),
        }
    }
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
    /// The SHA-256 of the model's outputs on the first [`FIRST_ROWS`] rows
    /// ([`outputs_digest`]).
    pub first_rows_sha256: [u8; 32],
}

/// Runs the reference rows through `model` and compares with the native predictions.
pub fn compare(
    model: &TractModel,
    classes: &Classes,
    reference: &Reference,
    step: &Step,
) -> Result<Comparison> {
    let (onnx_labels, onnx_proba) = model.predict_inputs(&reference.inputs, classes, step)?;
    let first = onnx_labels.len().min(FIRST_ROWS);
    let first_rows_sha256 =
        outputs_digest(&onnx_labels[..first], &onnx_proba.slice(s![..first, ..]));
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
        } else if reference.decision.margin(native.as_slice().expect("contiguous")) < near_tie {
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
        first_rows_sha256,
    })
}

/// The SHA-256 of a model's outputs on the first [`FIRST_ROWS`] rows of `reference`
/// ([`outputs_digest`]), to set beside [`Comparison::first_rows_sha256`].
pub fn first_rows_digest(
    model: &TractModel,
    classes: &Classes,
    reference: &Reference,
    step: &Step,
) -> Result<[u8; 32]> {
    let (labels, proba) =
        model.predict_inputs(&reference.head(FIRST_ROWS).inputs, classes, step)?;
    Ok(outputs_digest(&labels, &proba.view()))
}

/// The SHA-256 of every row's label (its class index, or a marker for a label that is no
/// class) and the bits of its probabilities: equal digests mean the same outputs, bit for bit.
pub fn outputs_digest(labels: &[Option<u32>], proba: &ArrayView2<f64>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut buffer = Vec::with_capacity(8 * (1 + proba.ncols()));
    for (label, row) in labels.iter().zip(proba.rows()) {
        buffer.clear();
        buffer.extend_from_slice(&label.map_or(u64::MAX, u64::from).to_le_bytes());
        for p in row {
            buffer.extend_from_slice(&p.to_bits().to_le_bytes());
        }
        hasher.update(&buffer);
    }
    hasher.finalize().into()
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
    use crate::model::{FittedLogisticRegression, FittedStandardScaler};
    use crate::onnx::load::decode;
    use crate::onnx::{GraphOptions, GraphSpec, Ops, model_bytes};
    use crate::progress::Progress;
    use ndarray::{Array1, arr1, arr2};

    #[test]
    fn the_outputs_digest_changes_with_any_label_or_probability_bit() {
        let labels = vec![Some(0), Some(1), None];
        let proba = arr2(&[[0.75, 0.25], [0.5, 0.5], [0.0, 1.0]]);
        let digest = outputs_digest(&labels, &proba.view());
        assert_eq!(digest, outputs_digest(&labels.clone(), &proba.clone().view()));
        let mut other_labels = labels.clone();
        other_labels[2] = Some(1);
        assert_ne!(digest, outputs_digest(&other_labels, &proba.view()));
        let mut flipped = proba.clone();
        flipped[[1, 0]] = f64::from_bits(flipped[[1, 0]].to_bits() ^ 1);
        assert_ne!(digest, outputs_digest(&labels, &flipped.view()));
        assert_ne!(digest, outputs_digest(&labels[..2], &proba.view()));
    }

    fn classes() -> Classes {
        Classes::Strings(vec!["no".into(), "yes".into()])
    }

    /// Two encodings of one model with other metadata hold the same model but for it; another
    /// weight does not.
    #[test]
    fn models_that_differ_in_metadata_alone_are_told_from_models_that_compute_otherwise() {
        let bytes = |weight: f64, metadata: Vec<(String, String)>| {
            let pipeline = Pipeline::from_parts(
                FittedStandardScaler::from_parameters(arr1(&[0.0]), arr1(&[1.0])),
                FittedLogisticRegression::from_parameters(arr2(&[[weight]]), Array1::zeros(1), 0),
                classes(),
            );
            let spec = GraphSpec {
                pipeline: &pipeline,
                input_name: crate::onnx::INPUT,
                feature_names: &["x".into()],
                options: GraphOptions::default().check().unwrap(),
                input: Precision::Float32,
                doc_string: String::new(),
                metadata,
            };
            decode("m.onnx", model_bytes(&spec)).unwrap()
        };
        let verified = bytes(1.0, vec![("a".into(), "1".into())]);
        let recorded = bytes(1.0, vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert!(verified.same_but_metadata(&recorded));
        assert!(!verified.same_but_metadata(&bytes(1.5, vec![("a".into(), "1".into())])));
    }

    /// A real model file, run by tract, whose probability of "yes" is sigmoid(x): an identity
    /// scaler, weight 1 and intercept 0; float32 throughout (ai.onnx.ml operators) or float64
    /// throughout (standard operators).
    fn sigmoid_model(precision: Precision) -> TractModel {
        let pipeline = Pipeline::from_parts(
            FittedStandardScaler::from_parameters(arr1(&[0.0]), arr1(&[1.0])),
            FittedLogisticRegression::from_parameters(arr2(&[[1.0]]), Array1::zeros(1), 0),
            classes(),
        );
        let options = match precision {
            Precision::Float32 => {
                GraphOptions { input: Some(precision), ..GraphOptions::default() }
            }
            Precision::Float64 => GraphOptions {
                ops: Ops::Standard,
                dtype: precision,
                input: Some(precision),
                ..GraphOptions::default()
            },
        };
        let spec = GraphSpec {
            pipeline: &pipeline,
            input_name: crate::onnx::INPUT,
            feature_names: &["x".into()],
            options: options.check().unwrap(),
            input: precision,
            doc_string: String::new(),
            metadata: Vec::new(),
        };
        let checked = decode("m.onnx", model_bytes(&spec)).unwrap().check().unwrap();
        TractModel::load(&checked, "m.onnx").unwrap()
    }

    /// The model's own labels and probabilities for `xs`, checked against sigmoid(x) computed
    /// here (to 3e-7 in float32, a few units of 1.2e-7 at 1; to 1e-15 in float64).
    fn run(model: &TractModel, xs: &[f64]) -> (Vec<Option<u32>>, Array2<f64>) {
        let features = Array2::from_shape_vec((xs.len(), 1), xs.to_vec()).unwrap();
        let step = Progress::hidden().rows("test", xs.len() as u64);
        let (labels, proba) = model.predict(features.view(), &classes(), &step).unwrap();
        let bound = match model.output_precision() {
            Precision::Float32 => 3e-7,
            Precision::Float64 => 1e-15,
        };
        for (&x, p) in xs.iter().zip(proba.rows()) {
            let yes = 1.0 / (1.0 + (-x).exp());
            assert!((p[1] - yes).abs() <= bound && (p[0] - (1.0 - yes)).abs() <= bound, "{x}: {p}");
        }
        (labels, proba)
    }

    /// Reference rows at `xs` (lines 10, 11, ...) whose native predictions are the model's own,
    /// each row's probabilities then moved by `shift[row]` towards "yes" (so every probability of
    /// the row differs from the file's by exactly |shift|), with the model's labels.
    fn reference(model: &TractModel, xs: &[f64], shift: &[f64]) -> Reference {
        let (labels, mut proba) = run(model, xs);
        for (mut p, &d) in proba.rows_mut().into_iter().zip(shift) {
            p[0] -= d;
            p[1] += d;
        }
        Reference {
            inputs: Inputs::Matrix(Array2::from_shape_vec((xs.len(), 1), xs.to_vec()).unwrap()),
            proba,
            labels: labels.into_iter().map(Option::unwrap).collect(),
            lines: (10..10 + xs.len() as u64).collect(),
            rows_used: "held-out",
            decision: Decision::MostProbable,
        }
    }

    fn compared(model: &TractModel, reference: &Reference) -> Comparison {
        let step = Progress::hidden().rows("test", reference.labels.len() as u64);
        compare(model, &classes(), reference, &step).unwrap()
    }

    const XS: [f64; 4] = [-2.0, -0.5, 0.7, 3.0];

    #[test]
    fn a_difference_just_under_the_tolerance_passes_and_just_over_fails() {
        for (precision, tolerance) in [(Precision::Float32, 1e-5), (Precision::Float64, 1e-12)] {
            let model = sigmoid_model(precision);
            // 1% either side: far beyond the rounding of the shift itself (~1e-16).
            for (factor, passes) in [(0.99, true), (1.01, false)] {
                let shift = [0.0, tolerance * factor, 0.0, 0.0];
                let c = compared(&model, &reference(&model, &XS, &shift));
                let s = &c.summary;
                let what = format!("{precision:?} at {factor} x tolerance");
                assert_eq!(s.probability_tolerance, tolerance, "{what}");
                assert_eq!(s.passed, passes, "{what}: {s:?}");
                assert_eq!((s.rows_checked, s.labels_agreeing, s.near_ties), (4, 4, 0), "{what}");
                let max = s.max_probability_difference;
                assert!((max - tolerance * factor).abs() < 1e-15, "{what}: {max:e}");
                assert_eq!(s.max_difference_line, Some(11), "{what}");
                // Only a row beyond the tolerance is listed.
                let lines: Vec<u64> = c.worst_rows.iter().map(|r| r.line).collect();
                assert_eq!(lines, if passes { vec![] } else { vec![11] }, "{what}");
            }
        }
    }

    #[test]
    fn the_tolerance_is_the_one_of_the_files_output_precision() {
        // 1e-9: within float32's 1e-5, far beyond float64's 1e-12.
        for (precision, passes) in [(Precision::Float32, true), (Precision::Float64, false)] {
            let model = sigmoid_model(precision);
            let c = compared(&model, &reference(&model, &XS, &[1e-9, 0.0, 0.0, 0.0]));
            assert_eq!(c.summary.passed, passes, "{precision:?}: {:?}", c.summary);
        }
    }

    /// The file says "yes" where the native label is "no", while the native probabilities stay
    /// within 0.05 x tolerance of the file's (as from a file whose label output disagrees with
    /// its probabilities), so only the label rule decides: a different label is excused only
    /// where the native top two probabilities are closer than twice the tolerance.
    #[test]
    fn a_label_disagreement_passes_only_at_a_near_tie() {
        let tolerance = 1e-12;
        let model = sigmoid_model(Precision::Float64);
        // At x = 4e-12 the file says "yes" with P(yes) - P(no) = 2e-12 (sigmoid'(0) = 1/4).
        let xs = [-2.0, 4.0 * tolerance, 3.0];
        let (_, proba) = run(&model, &xs);
        let file_margin = proba[[1, 1]] - proba[[1, 0]];
        for (margin, near_tie) in [(1.9 * tolerance, true), (2.1 * tolerance, false)] {
            let shift = (margin - file_margin) / 2.0;
            let mut reference = reference(&model, &xs, &[0.0, shift, 0.0]);
            reference.labels[1] = 0;
            let native = reference.proba.row(1).to_vec();
            assert!((native[1] - native[0] - margin).abs() < 1e-15, "{native:?}");
            assert!(shift.abs() <= 0.2 * tolerance, "{shift:e}");
            let c = compared(&model, &reference);
            let s = &c.summary;
            assert_eq!((s.labels_agreeing, s.near_ties), (2, usize::from(near_tie)), "{s:?}");
            assert_eq!(s.passed, near_tie, "margin {margin:e}: {s:?}");
            // Listed either way, first, with both labels by name.
            let first = &c.worst_rows[0];
            assert_eq!((first.line, &*first.native_label, &*first.onnx_label), (11, "no", "yes"));
        }
        // Far from a tie (P(yes) = 0.95 at x = 3), a different label fails even with
        // probabilities that agree exactly.
        let mut reference = reference(&model, &xs, &[0.0; 3]);
        reference.labels[2] = 0;
        let c = compared(&model, &reference);
        assert_eq!(c.summary.max_probability_difference, 0.0);
        assert_eq!((c.summary.labels_agreeing, c.summary.near_ties), (2, 0));
        assert!(!c.summary.passed);
        assert_eq!(c.worst_rows.len(), 1);
        assert_eq!(c.worst_rows[0].line, 12);
    }

    #[test]
    fn the_max_difference_line_is_the_first_row_with_the_largest_difference() {
        let model = sigmoid_model(Precision::Float32);
        // Rows 2 and 3 are the same row moved the same way: their differences are equal.
        let xs = [-2.0, -0.5, 0.7, 0.7, 3.0];
        let shift = [2e-7, 3e-6, 7e-6, 7e-6, 1e-6];
        let reference = reference(&model, &xs, &shift);
        let c = compared(&model, &reference);
        let (_, proba) = run(&model, &xs);
        let largest = (&reference.proba - &proba).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        assert_eq!(c.summary.max_probability_difference, largest);
        assert!((largest - 7e-6).abs() < 1e-15, "{largest:e}");
        // Lines 12 and 13 both differ by the largest difference; the first is named.
        assert_eq!(c.summary.max_difference_line, Some(12));
        assert!(c.summary.passed);
    }

    #[test]
    fn a_nan_probability_is_an_infinite_difference() {
        let model = sigmoid_model(Precision::Float64);
        let mut reference = reference(&model, &XS, &[0.0; 4]);
        reference.proba[[2, 1]] = f64::NAN;
        let c = compared(&model, &reference);
        assert_eq!(c.summary.max_probability_difference, f64::INFINITY);
        assert_eq!(c.summary.max_difference_line, Some(12));
        assert!(!c.summary.passed);
    }

    /// The worst rows: label disagreements first, then the larger differences, five at most;
    /// a row that agrees within the tolerance is never listed.
    #[test]
    fn worst_rows_put_label_disagreements_first_then_larger_differences_and_stop_at_five() {
        let tolerance = 1e-5;
        let model = sigmoid_model(Precision::Float32);
        let xs = [-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0];
        let over = |k: f64| k * tolerance;
        // Lines 10..17: two rows within the tolerance, five over it, one with a label flipped.
        let shift =
            [over(2.0), over(0.5), over(5.0), over(3.0), 0.0, over(4.0), over(0.9), over(6.0)];
        let mut reference = reference(&model, &xs, &shift);
        reference.labels[4] = 0;
        let c = compared(&model, &reference);
        let lines: Vec<u64> = c.worst_rows.iter().map(|r| r.line).collect();
        // The flipped label (line 14, no difference), then 6, 5, 4 and 3 x tolerance; the
        // smallest difference over the tolerance (2 x, line 10) is left out.
        assert_eq!(lines, [14, 17, 12, 15, 13]);
        let differences: Vec<f64> = c.worst_rows.iter().map(|r| r.max_difference).collect();
        for (got, want) in differences.iter().zip([0.0, over(6.0), over(5.0), over(4.0), over(3.0)])
        {
            assert!((got - want).abs() < 1e-15, "{differences:?}");
        }
        let flipped = &c.worst_rows[0];
        assert_eq!((&*flipped.native_label, &*flipped.onnx_label), ("no", "yes"));
        assert_eq!(flipped.native_proba, reference.proba.row(4).to_vec());
        assert!(!c.summary.passed);
    }
}
