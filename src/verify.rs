//! Proves an ONNX file: loads its bytes with tract, runs rows through it and compares the
//! labels and probabilities with the native float64 pipeline's.
//!
//! Tolerance: the ai.onnx.ml operators compute in float32, which moves probabilities by up to
//! ~5e-7 on well-scaled data (measured against onnxruntime and tract), so 1e-5 passes every
//! sound model while a feature that float32 cannot represent (|mean| / std of 1e8 and more)
//! moves probabilities by far more. A label may differ only where the native top-two
//! probabilities are closer than twice the tolerance: there rounding alone can swap them.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ndarray::{Array2, ArrayView2, s};
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use crate::data::Classes;
use crate::error::{Error, Result};
use crate::model::Pipeline;
use crate::onnx::Verification;
use crate::progress::Step;

/// Largest accepted |ONNX - native| difference of a probability.
pub const PROBABILITY_TOLERANCE: f64 = 1e-5;
/// Rows whose native top-two probabilities are closer than this may swap labels.
pub const NEAR_TIE: f64 = 2.0 * PROBABILITY_TOLERANCE;
/// The runtime used, with its exact version (pinned in Cargo.toml).
pub const RUNTIME: &str = "tract-onnx 0.23.9";
/// Rows per call into tract: bounds the memory of a run over millions of rows.
const BATCH_ROWS: usize = 16_384;

/// tract's ONNX loader with the ai.onnx.ml `Scaler` registered, which tract lacks: what a Rust
/// program needs to run onnxify's models in tract.
///
/// ```no_run
/// use tract_onnx::prelude::*;
///
/// let model = onnxify::verify::onnx_with_scaler()
///     .model_for_path("model.onnx")?
///     .into_optimized()?
///     .into_runnable()?;
/// let input = tract_ndarray::arr2(&[[5.1f32, 3.5, 1.4, 0.2]]);
/// let outputs = model.run(tvec!(Tensor::from(input).into()))?;
/// let probabilities = outputs[1].to_plain_array_view::<f32>()?;
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn onnx_with_scaler() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register.insert("Scaler", scaler);
    onnx
}

/// An ONNX model loaded by tract, ready to run.
pub struct TractModel {
    plan: Arc<TypedRunnableModel>,
}

impl TractModel {
    /// Loads model bytes (with [`onnx_with_scaler`]). A panic inside tract becomes an error.
    pub fn load(bytes: &[u8]) -> Result<TractModel> {
        guarded("loading the model", || {
            let plan = onnx_with_scaler()
                .model_for_read(&mut &bytes[..])?
                .into_optimized()?
                .into_runnable()?;
            Ok(TractModel { plan })
        })
    }

    /// Runs float32 rows; returns the label tensor and the probabilities.
    fn run_batch(&self, x: Array2<f32>) -> Result<(Tensor, Array2<f32>)> {
        guarded("running the model", || {
            let mut outputs = self.plan.run(tvec!(Tensor::from(x).into()))?;
            anyhow::ensure!(outputs.len() == 2, "expected 2 outputs, got {}", outputs.len());
            let proba =
                outputs.remove(1).into_tensor().into_plain_array::<f32>()?.into_dimensionality()?;
            Ok((outputs.remove(0).into_tensor(), proba))
        })
    }

    /// Class indices (into `classes`; `None` for a label that is no class) and probabilities
    /// for every row of `x`.
    pub fn predict(
        &self,
        x: ArrayView2<f32>,
        classes: &Classes,
        step: &Step,
    ) -> Result<(Vec<Option<u32>>, Array2<f32>)> {
        let mut labels = Vec::with_capacity(x.nrows());
        let mut proba = Array2::zeros((x.nrows(), classes.len()));
        for start in (0..x.nrows()).step_by(BATCH_ROWS) {
            let end = (start + BATCH_ROWS).min(x.nrows());
            let (label_tensor, batch_proba) =
                self.run_batch(x.slice(s![start..end, ..]).to_owned())?;
            labels.extend(
                class_indices(&label_tensor, classes)
                    .map_err(|e| tract_error("reading the labels", e))?,
            );
            if batch_proba.dim() != (end - start, classes.len()) {
                let shape = format!("unexpected shape {:?}", batch_proba.dim());
                return Err(tract_error("reading the probabilities", shape));
            }
            proba.slice_mut(s![start..end, ..]).assign(&batch_proba);
            step.set(end as u64);
        }
        Ok((labels, proba))
    }
}

/// Runs `f`, turning an error or a panic inside tract into an [`Error::Runtime`].
fn guarded<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(tract_error(what, e)),
        Err(_) => Err(Error::Runtime(format!("{RUNTIME} panicked while {what}"))),
    }
}

fn tract_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("{RUNTIME} failed while {what}: {e:#}"))
}

/// Maps tract's label output to class indices.
fn class_indices(labels: &Tensor, classes: &Classes) -> anyhow::Result<Vec<Option<u32>>> {
    Ok(match classes {
        Classes::Ints(values) => labels
            .to_plain_array_view::<i64>()?
            .iter()
            .map(|v| values.binary_search(v).ok().map(|i| i as u32))
            .collect(),
        Classes::Strings(names) => labels
            .to_plain_array_view::<String>()?
            .iter()
            .map(|v| names.iter().position(|n| n == v).map(|i| i as u32))
            .collect(),
    })
}

/// The rows a model file is checked on, with the native pipeline's float64 predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The rows' features as float32, what a caller of the ONNX file passes.
    pub features: Array2<f32>,
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
    pub onnx_proba: Vec<f32>,
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
            .map(|(&n, &o)| (n - f64::from(o)).abs())
            .fold(0.0, |m: f64, d| if d.is_nan() { f64::INFINITY } else { m.max(d) });
        let agree = onnx_labels[row] == Some(reference.labels[row]);
        if agree {
            labels_agreeing += 1;
        } else if top_two_margin(native.as_slice().expect("contiguous")) < NEAR_TIE {
            near_ties += 1;
        }
        if max.1.is_none() || difference > max.0 {
            max = (difference, Some(row));
        }
        if !agree || difference > PROBABILITY_TOLERANCE {
            worst.push((!agree, difference, row));
        }
    }
    let rows_checked = reference.labels.len();
    let passed = labels_agreeing + near_ties == rows_checked && max.0 <= PROBABILITY_TOLERANCE;
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
            probability_tolerance: PROBABILITY_TOLERANCE,
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
        .filter(|c| c.score_error > PROBABILITY_TOLERANCE)
        .collect();
    culprits.sort_by(|a, b| b.score_error.total_cmp(&a.score_error));
    culprits
}

/// The ai.onnx.ml `Scaler` for tract: `y = (x - offset) * scale` in float32, per column.
///
/// Parsed as an expansion into a cast to float32 and [`ScaleColumns`], an op of our own:
/// tract's broadcasting Sub and Mul go through a generic strided loop that took half of the
/// verification time on wide inputs; this performs the same float32 operations in the same
/// order, so the results are identical.
#[derive(Debug, Clone)]
struct Scaler {
    columns: ScaleColumns,
}

fn scaler(
    _ctx: &tract_onnx::model::ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset: Vec<f32> = node.get_attr_opt_vec("offset")?.unwrap_or_else(|| vec![0.0]);
    let scale: Vec<f32> = node.get_attr_opt_vec("scale")?.unwrap_or_else(|| vec![1.0]);
    Ok((expand(Scaler { columns: ScaleColumns { offset, scale } }), vec![]))
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let mut x = inputs[0];
        if model.outlet_fact(x)?.datum_type != f32::datum_type() {
            let cast = tract_onnx::tract_core::ops::cast::cast(f32::datum_type());
            x = model.wire_node(format!("{prefix}.to_f32"), cast, &[x])?[0];
        }
        model.wire_node(format!("{prefix}.scale_columns"), self.columns.clone(), &[x])
    }
}

/// `(x - offset[j]) * scale[j]` on each column j of the last axis, in float32; an offset or
/// scale of length 1 applies to every column, as the ONNX operator allows.
#[derive(Debug, Clone)]
struct ScaleColumns {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

/// Equal when bit-identical (so a NaN parameter equals itself, as `Eq` requires).
impl PartialEq for ScaleColumns {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        bits(&self.offset) == bits(&other.offset) && bits(&self.scale) == bits(&other.scale)
    }
}

impl Eq for ScaleColumns {}

impl Op for ScaleColumns {
    fn name(&self) -> StaticName {
        "ScaleColumns".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ScaleColumns {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut x = args_1!(inputs).into_tensor();
        let columns = x.shape().last().copied().unwrap_or(1).max(1);
        let fits = |v: &[f32]| v.len() == 1 || v.len() == columns;
        anyhow::ensure!(
            fits(&self.offset) && fits(&self.scale),
            "Scaler has {} offsets and {} scales for {columns} features",
            self.offset.len(),
            self.scale.len()
        );
        let at = |v: &[f32], j: usize| if v.len() == 1 { v[0] } else { v[j] };
        let mut view = x.to_plain_array_view_mut::<f32>()?;
        let values = view
            .as_slice_mut()
            .ok_or_else(|| anyhow::anyhow!("the Scaler input is not contiguous"))?;
        for row in values.chunks_exact_mut(columns) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v - at(&self.offset, j)) * at(&self.scale, j);
            }
        }
        Ok(tvec!(x.into_tvalue()))
    }
}

impl TypedOp for ScaleColumns {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.iter())))
    }

    as_op!();
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
