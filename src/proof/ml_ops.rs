//! The operators onnxify writes that tract 0.23.9 lacks or gets wrong, as tract ops of our own:
//! the ai.onnx.ml `Scaler` and `OneHotEncoder`, which tract does not register, and the ONNX
//! `IsNaN`, which tract refuses on DOUBLE input; and [`onnx_with_ml_ops`], the loader that
//! registers them.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use crate::util::excerpt;

/// tract's ONNX loader with the operators onnxify writes and tract lacks registered (the
/// ai.onnx.ml `Scaler` and `OneHotEncoder`, and an `IsNaN` that accepts DOUBLE input): what a
/// Rust program needs to run onnxify's models in tract.
///
/// ```no_run
/// use tract_onnx::prelude::*;
///
/// let model = onnxify::proof::ml_ops::onnx_with_ml_ops()
///     .model_for_path("model.onnx")?
///     .into_optimized()?
///     .into_runnable()?;
/// let input = tract_ndarray::arr2(&[[5.1f32, 3.5, 1.4, 0.2]]);
/// let outputs = model.run(tvec!(Tensor::from(input).into()))?;
/// let probabilities = outputs[1].to_plain_array_view::<f32>()?;
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn onnx_with_ml_ops() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register.insert("Scaler", scaler);
    onnx.op_register.insert("Imputer", imputer);
    onnx.op_register.insert("OneHotEncoder", one_hot_encoder);
    onnx.op_register.insert("IsNaN", is_nan);
    onnx
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
    _ctx: &ParsingContext,
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

/// The ai.onnx.ml `Imputer` for float input (what scikit-learn's converter writes for a
/// SimpleImputer): each value equal to `replaced_value_float` (NaN matches NaN) becomes the
/// column's `imputed_value_floats` entry (one for every column when there is one), in float32.
#[derive(Debug, Clone)]
struct Imputer {
    columns: ImputeColumns,
}

fn imputer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let values: Vec<f32> = node.get_attr_opt_vec("imputed_value_floats")?.unwrap_or_default();
    anyhow::ensure!(!values.is_empty(), "the Imputer has no imputed_value_floats");
    let replaced: f32 = node.get_attr_opt("replaced_value_float")?.unwrap_or(0.0);
    Ok((expand(Imputer { columns: ImputeColumns { values, replaced } }), vec![]))
}

impl Expansion for Imputer {
    fn name(&self) -> StaticName {
        "Imputer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, DatumType::F32)?;
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
        model.wire_node(format!("{prefix}.impute_columns"), self.columns.clone(), inputs)
    }
}

/// The Imputer's replacement on each column of the last axis, in float32.
#[derive(Debug, Clone)]
struct ImputeColumns {
    values: Vec<f32>,
    replaced: f32,
}

/// Equal when bit-identical (so a NaN parameter equals itself, as `Eq` requires).
impl PartialEq for ImputeColumns {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        bits(&self.values) == bits(&other.values)
            && self.replaced.to_bits() == other.replaced.to_bits()
    }
}

impl Eq for ImputeColumns {}

impl Op for ImputeColumns {
    fn name(&self) -> StaticName {
        "ImputeColumns".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ImputeColumns {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut x = args_1!(inputs).into_tensor();
        let columns = x.shape().last().copied().unwrap_or(1).max(1);
        let values = &self.values;
        anyhow::ensure!(
            values.len() == 1 || values.len() == columns,
            "the Imputer has {} values for {columns} columns",
            values.len()
        );
        let replaced = self.replaced;
        let mut view = x.to_plain_array_view_mut::<f32>()?;
        let cells = view
            .as_slice_mut()
            .ok_or_else(|| anyhow::anyhow!("the Imputer input is not contiguous"))?;
        for row in cells.chunks_exact_mut(columns) {
            for (j, v) in row.iter_mut().enumerate() {
                if (replaced.is_nan() && v.is_nan()) || *v == replaced {
                    *v = if values.len() == 1 { values[0] } else { values[j] };
                }
            }
        }
        Ok(tvec!(x.into_tvalue()))
    }
}

impl TypedOp for ImputeColumns {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.iter())))
    }

    as_op!();
}

/// The ai.onnx.ml `OneHotEncoder`: each value of the input becomes a row of float32 zeros with a
/// one at its category's position; the output has the input's shape with the number of
/// categories appended (`[N, 1]` in, `[N, 1, C]` out).
///
/// Categories come from `cats_strings` (STRING input) or `cats_int64s` (INT64 input); exactly
/// one of them must be non-empty. A value that is no category encodes as all zeros when `zeros`
/// is non-zero (the default, 1) and is an error when it is 0. Where the ONNX-ML spec is silent we
/// do what onnxruntime does: a category listed twice takes its last position (the output still
/// has one column per entry of the list), and any non-zero `zeros` means true. onnxruntime also
/// casts float and double input to int64 before the lookup and refuses input of rank above 2;
/// onnxify writes neither, so float input is refused here and any rank is accepted.
#[derive(Debug, Clone)]
struct OneHotEncoder {
    columns: OneHotColumns,
}

fn one_hot_encoder(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let strings: Vec<String> = node.get_attr_opt_vec("cats_strings")?.unwrap_or_default();
    let ints: Vec<i64> = node.get_attr_opt_vec("cats_int64s")?.unwrap_or_default();
    let zeros = node.get_attr_opt::<i64>("zeros")?.unwrap_or(1) != 0;
    let (categories, width) = match (strings.is_empty(), ints.is_empty()) {
        (false, true) => (Categories::Strings(positions(&strings)), strings.len()),
        (true, false) => (Categories::Ints(positions(&ints)), ints.len()),
        (true, true) => {
            node.bail("expected categories in cats_strings or cats_int64s, both are empty")?
        }
        (false, false) => node.bail(&format!(
            "expected categories in one of cats_strings ({}) and cats_int64s ({}), not both",
            strings.len(),
            ints.len()
        ))?,
    };
    let columns = OneHotColumns { categories: Arc::new(categories), width, zeros };
    Ok((expand(OneHotEncoder { columns }), vec![]))
}

/// Each category's output column: the later of two equal entries wins, as in onnxruntime.
fn positions<T: std::hash::Hash + Eq + Clone>(categories: &[T]) -> HashMap<T, usize> {
    categories.iter().enumerate().map(|(j, c)| (c.clone(), j)).collect()
}

impl Expansion for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, self.columns.input_type())?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(inputs[0].rank.bex() + 1, &outputs[0].rank)?;
        s.given(&inputs[0].rank, move |s, rank| {
            let rank = rank as usize;
            for axis in 0..rank {
                s.equals(&inputs[0].shape[axis], &outputs[0].shape[axis])?;
            }
            s.equals(&outputs[0].shape[rank], self.columns.width.to_dim())
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(format!("{prefix}.one_hot_columns"), self.columns.clone(), inputs)
    }
}

/// The lookup behind [`OneHotEncoder`], built once when the node is parsed: a hash map from
/// category to output column, so that a batch costs one lookup per value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OneHotColumns {
    /// Shared between the copies tract makes of the op while optimising.
    categories: Arc<Categories>,
    width: usize,
    zeros: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Categories {
    Strings(HashMap<String, usize>),
    Ints(HashMap<i64, usize>),
}

impl OneHotColumns {
    fn input_type(&self) -> DatumType {
        match *self.categories {
            Categories::Strings(_) => DatumType::String,
            Categories::Ints(_) => DatumType::I64,
        }
    }

    /// Sets the one in each value's row of `out` (`width` zeros per value) at the column
    /// `column` finds for it, `None` for a value that is no category.
    fn encode<V: std::fmt::Debug>(
        &self,
        values: &[V],
        column: impl Fn(&V) -> Option<usize>,
        out: &mut [f32],
    ) -> TractResult<()> {
        for (value, row) in values.iter().zip(out.chunks_exact_mut(self.width)) {
            match column(value) {
                Some(j) => row[j] = 1.0,
                None if self.zeros => {}
                None => bail!(
                    "OneHotEncoder: {} is none of the {} categories and zeros is 0",
                    excerpt(&format!("{value:?}")),
                    self.width
                ),
            }
        }
        Ok(())
    }
}

impl Op for OneHotColumns {
    fn name(&self) -> StaticName {
        "OneHotColumns".into()
    }

    op_as_typed_op!();
}

impl EvalOp for OneHotColumns {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let mut shape: TVec<usize> = x.shape().into();
        shape.push(self.width);
        let mut y = Tensor::zero::<f32>(&shape)?;
        {
            let mut plain = y.try_as_plain_ram_mut()?;
            let out = plain.as_slice_mut::<f32>()?;
            let plain_x = x.try_as_plain_ram()?;
            match &*self.categories {
                Categories::Strings(map) => {
                    let values = plain_x.as_slice::<String>()?;
                    self.encode(values, |v| map.get(v.as_str()).copied(), out)?
                }
                Categories::Ints(map) => {
                    let values = plain_x.as_slice::<i64>()?;
                    self.encode(values, |v| map.get(v).copied(), out)?
                }
            }
        }
        Ok(tvec!(y.into_tvalue()))
    }
}

impl TypedOp for OneHotColumns {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        shape.push(self.width.to_dim());
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

/// The ONNX `IsNaN`, in place of tract's: tract 0.23.9 defines its IsNaN for f16 and f32 only,
/// and on DOUBLE input infers an output of DOUBLE instead of BOOL, so that the `Where` of an
/// imputation fails to load ("Impossible to unify F64 with Bool"). f16 and f32 input still goes
/// to tract's own op; f64 input to [`IsNanF64`].
#[derive(Debug, Clone)]
struct IsNan;

fn is_nan(
    _ctx: &ParsingContext,
    _node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(IsNan), vec![]))
}

impl Expansion for IsNan {
    fn name(&self) -> StaticName {
        "IsNaN".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::Bool)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        if model.outlet_fact(inputs[0])?.datum_type == DatumType::F64 {
            model.wire_node(format!("{prefix}.is_nan_f64"), IsNanF64, inputs)
        } else {
            model.wire_node(prefix, tract_onnx::tract_core::ops::math::is_nan(), inputs)
        }
    }
}

/// `x.is_nan()` for each value of an f64 tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IsNanF64;

impl Op for IsNanF64 {
    fn name(&self) -> StaticName {
        "IsNanF64".into()
    }

    op_as_typed_op!();
}

impl EvalOp for IsNanF64 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let plain = x.try_as_plain_ram()?;
        let flags: Vec<bool> = plain.as_slice::<f64>()?.iter().map(|v| v.is_nan()).collect();
        Ok(tvec!(Tensor::from_shape(x.shape(), &flags)?.into_tvalue()))
    }
}

impl TypedOp for IsNanF64 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(bool::fact(inputs[0].shape.iter())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    //! Each graph pattern onnxify writes for mixed tables, built in code and run through
    //! [`onnx_with_ml_ops`]; expected outputs are worked out by hand next to each test.

    use super::*;
    use tract_onnx::pb::attribute_proto::AttributeType;
    use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
    use tract_onnx::pb::{
        AttributeProto, GraphProto, ModelProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
        TypeProto, ValueInfoProto, type_proto,
    };

    // TensorProto.DataType codes.
    const FLOAT: i32 = 1;
    const INT64: i32 = 7;
    const STRING: i32 = 8;
    const BOOL: i32 = 9;
    const DOUBLE: i32 = 11;
    /// Stands for the symbolic batch dimension "N" in a declared shape.
    const N: i64 = -1;

    fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
        let ml = ["Scaler", "OneHotEncoder", "LinearClassifier"].contains(&op);
        NodeProto {
            name: output.into(),
            op_type: op.into(),
            domain: if ml { "ai.onnx.ml" } else { "" }.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute,
            ..Default::default()
        }
    }

    fn attr(name: &str, kind: AttributeType) -> AttributeProto {
        AttributeProto { name: name.into(), r#type: kind as i32, ..Default::default() }
    }

    fn int(name: &str, i: i64) -> AttributeProto {
        AttributeProto { i, ..attr(name, AttributeType::Int) }
    }

    fn ints(name: &str, ints: &[i64]) -> AttributeProto {
        AttributeProto { ints: ints.to_vec(), ..attr(name, AttributeType::Ints) }
    }

    fn floats(name: &str, floats: &[f32]) -> AttributeProto {
        AttributeProto { floats: floats.to_vec(), ..attr(name, AttributeType::Floats) }
    }

    fn strings(name: &str, strings: &[&str]) -> AttributeProto {
        let strings = strings.iter().map(|s| s.as_bytes().to_vec()).collect();
        AttributeProto { strings, ..attr(name, AttributeType::Strings) }
    }

    fn string(name: &str, s: &str) -> AttributeProto {
        AttributeProto { s: s.as_bytes().to_vec(), ..attr(name, AttributeType::String) }
    }

    /// A graph input or output; a dimension of [`N`] is the symbolic batch size.
    fn value(name: &str, elem_type: i32, dims: &[i64]) -> ValueInfoProto {
        let dim = dims
            .iter()
            .map(|&d| Dimension {
                value: Some(if d == N {
                    dimension::Value::DimParam("N".into())
                } else {
                    dimension::Value::DimValue(d)
                }),
                ..Default::default()
            })
            .collect();
        let tensor = type_proto::Tensor { elem_type, shape: Some(TensorShapeProto { dim }) };
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(tensor)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn constant(name: &str, data_type: i32, dims: &[i64]) -> TensorProto {
        TensorProto { name: name.into(), data_type, dims: dims.to_vec(), ..Default::default() }
    }

    fn const_i64(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
        TensorProto { int64_data: data.to_vec(), ..constant(name, INT64, dims) }
    }

    /// A FLOAT or DOUBLE constant.
    fn const_real(name: &str, elem_type: i32, dims: &[i64], data: &[f64]) -> TensorProto {
        match elem_type {
            FLOAT => TensorProto {
                float_data: data.iter().map(|&v| v as f32).collect(),
                ..constant(name, FLOAT, dims)
            },
            _ => TensorProto { double_data: data.to_vec(), ..constant(name, DOUBLE, dims) },
        }
    }

    fn const_strings(name: &str, dims: &[i64], data: &[&str]) -> TensorProto {
        let string_data = data.iter().map(|s| s.as_bytes().to_vec()).collect();
        TensorProto { string_data, ..constant(name, STRING, dims) }
    }

    /// A model at opset 19 (with ai.onnx.ml 1), as onnxify writes for its standard flavor.
    fn model(
        node: Vec<NodeProto>,
        input: Vec<ValueInfoProto>,
        output: Vec<ValueInfoProto>,
        initializer: Vec<TensorProto>,
    ) -> ModelProto {
        let opset = |domain: &str, version| OperatorSetIdProto { domain: domain.into(), version };
        ModelProto {
            ir_version: 9,
            opset_import: vec![opset("", 19), opset("ai.onnx.ml", 1)],
            graph: Some(GraphProto {
                name: "test".into(),
                node,
                input,
                output,
                initializer,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn run_with(
        onnx: tract_onnx::Onnx,
        model: &ModelProto,
        inputs: Vec<Tensor>,
    ) -> TractResult<TVec<TValue>> {
        let plan = onnx.model_for_proto_model(model)?.into_optimized()?.into_runnable()?;
        plan.run(inputs.into_iter().map(|t| t.into_tvalue()).collect())
    }

    /// Runs through [`onnx_with_ml_ops`].
    fn run(model: &ModelProto, inputs: Vec<Tensor>) -> TractResult<TVec<TValue>> {
        run_with(onnx_with_ml_ops(), model, inputs)
    }

    /// Runs through tract's own loader, to show what tract does without our ops.
    fn run_in_plain_tract(model: &ModelProto, inputs: Vec<Tensor>) -> TractResult<TVec<TValue>> {
        run_with(tract_onnx::onnx(), model, inputs)
    }

    /// A tensor of the given ONNX elem type (FLOAT or DOUBLE) from f64 values.
    fn real(elem_type: i32, shape: &[usize], values: &[f64]) -> Tensor {
        let t = Tensor::from_shape(shape, values).unwrap();
        t.cast_to_dt(datum(elem_type)).unwrap().into_owned()
    }

    fn text(shape: &[usize], values: &[&str]) -> Tensor {
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        tract_ndarray::ArrayD::from_shape_vec(shape, values).unwrap().into()
    }

    /// The datum type, shape and values (as f64) of a real output.
    fn reals(t: &TValue) -> (DatumType, Vec<usize>, Vec<f64>) {
        let values = t.cast_to::<f64>().unwrap();
        let values = values.try_as_plain_ram().unwrap().as_slice::<f64>().unwrap().to_vec();
        (t.datum_type(), t.shape().to_vec(), values)
    }

    fn texts(t: &TValue) -> (Vec<usize>, Vec<String>) {
        let values = t.try_as_plain_ram().unwrap().as_slice::<String>().unwrap().to_vec();
        (t.shape().to_vec(), values)
    }

    fn datum(elem_type: i32) -> DatumType {
        if elem_type == FLOAT { DatumType::F32 } else { DatumType::F64 }
    }

    // ---- numeric columns: Concat, IsNaN + Where imputation, missing indicators ----

    fn concat_of_columns(elem_type: i32) -> TVec<TValue> {
        let nodes = vec![node("Concat", &["a", "b", "c"], "x", vec![int("axis", 1)])];
        let inputs = ["a", "b", "c"].map(|name| value(name, elem_type, &[N, 1])).to_vec();
        let model = model(nodes, inputs, vec![value("x", elem_type, &[N, 3])], vec![]);
        let column = |values: &[f64]| real(elem_type, &[2, 1], values);
        run(&model, vec![column(&[1.0, 2.0]), column(&[3.0, f64::NAN]), column(&[5.0, 6.0])])
            .unwrap()
    }

    #[test]
    fn concat_joins_n_by_1_columns_side_by_side_in_f32_and_f64() {
        for elem_type in [FLOAT, DOUBLE] {
            let (dt, shape, x) = reals(&concat_of_columns(elem_type)[0]);
            assert_eq!((dt, shape), (datum(elem_type), vec![2, 3]));
            assert_eq!(x[..4], [1.0, 3.0, 5.0, 2.0]);
            assert!(x[4].is_nan(), "expected NaN at row 1 column 1, got {}", x[4]);
            assert_eq!(x[5], 6.0);
        }
    }

    /// IsNaN, Where with the per-column statistics, then the indicator columns of features 0
    /// and 2 picked from the mask by Gather on axis 1 and cast to the input's type.
    fn imputation_model(elem_type: i32) -> ModelProto {
        let nodes = vec![
            node("IsNaN", &["x"], "isnan", vec![]),
            node("Where", &["isnan", "statistics", "x"], "imputed", vec![]),
            node("Gather", &["isnan", "indicator_columns"], "missing", vec![int("axis", 1)]),
            node("Cast", &["missing"], "indicators", vec![int("to", elem_type as i64)]),
        ];
        let initializers = vec![
            const_real("statistics", elem_type, &[3], &[10.0, 20.0, 30.0]),
            const_i64("indicator_columns", &[2], &[0, 2]),
        ];
        let outputs =
            vec![value("imputed", elem_type, &[N, 3]), value("indicators", elem_type, &[N, 2])];
        model(nodes, vec![value("x", elem_type, &[N, 3])], outputs, initializers)
    }

    /// Three rows with missing values (NaN) and an infinity, which is no missing value.
    fn imputation_input(elem_type: i32) -> Tensor {
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        real(elem_type, &[3, 3], &[1.0, nan, inf, nan, 5.0, nan, 7.0, 8.0, 9.0])
    }

    #[test]
    fn imputation_fills_missing_values_and_flags_them_in_f32_and_f64() {
        for elem_type in [FLOAT, DOUBLE] {
            let outputs = run(&imputation_model(elem_type), vec![imputation_input(elem_type)]);
            let outputs = outputs.unwrap_or_else(|e| panic!("elem type {elem_type}: {e:?}"));
            let (dt, shape, imputed) = reals(&outputs[0]);
            assert_eq!((dt, shape), (datum(elem_type), vec![3, 3]));
            assert_eq!(imputed, [1.0, 20.0, f64::INFINITY, 10.0, 5.0, 30.0, 7.0, 8.0, 9.0]);
            let (dt, shape, indicators) = reals(&outputs[1]);
            assert_eq!((dt, shape), (datum(elem_type), vec![3, 2]));
            assert_eq!(indicators, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        }
    }

    /// Fails once tract's IsNaN accepts DOUBLE input: [`IsNan`] can go then.
    #[test]
    fn tract_alone_refuses_isnan_on_double_input() {
        let outputs = run_in_plain_tract(&imputation_model(DOUBLE), vec![imputation_input(DOUBLE)]);
        let error = format!("{:#}", outputs.unwrap_err());
        assert!(error.contains("Impossible to unify F64 with Bool"), "got: {error}");
    }

    #[test]
    fn imputation_runs_on_a_batch_of_no_rows() {
        for elem_type in [FLOAT, DOUBLE] {
            let outputs = run(&imputation_model(elem_type), vec![real(elem_type, &[0, 3], &[])]);
            let outputs = outputs.unwrap_or_else(|e| panic!("elem type {elem_type}: {e:?}"));
            assert_eq!(reals(&outputs[0]).1, [0, 3]);
            assert_eq!(reals(&outputs[1]).1, [0, 2]);
        }
    }

    // ---- text columns: Gather on STRING, OneHotEncoder, Reshape, Equal ----

    #[test]
    fn gather_picks_one_string_column_of_a_grouped_input_as_n_by_1() {
        let nodes = vec![node("Gather", &["categorical", "which"], "column", vec![int("axis", 1)])];
        let model = model(
            nodes,
            vec![value("categorical", STRING, &[N, 3])],
            vec![value("column", STRING, &[N, 1])],
            vec![const_i64("which", &[1], &[2])],
        );
        let input = text(&[2, 3], &["a", "b", "c", "d", "", "f"]);
        let outputs = run(&model, vec![input]).unwrap();
        assert_eq!(texts(&outputs[0]), (vec![2, 1], vec!["c".to_string(), "f".to_string()]));
    }

    /// `OneHotEncoder` then `Reshape` to [N, C], with the empty string (a missing value) as a
    /// category.
    fn one_hot_model(zeros: i64) -> ModelProto {
        let nodes = vec![
            node(
                "OneHotEncoder",
                &["colour"],
                "encoded",
                vec![strings("cats_strings", &["", "blue", "red"]), int("zeros", zeros)],
            ),
            node("Reshape", &["encoded", "shape"], "flat", vec![]),
        ];
        model(
            nodes,
            vec![value("colour", STRING, &[N, 1])],
            vec![value("encoded", FLOAT, &[N, 1, 3]), value("flat", FLOAT, &[N, 3])],
            vec![const_i64("shape", &[2], &[-1, 3])],
        )
    }

    /// Fails once tract registers a OneHotEncoder: compare it with ours then.
    #[test]
    fn tract_alone_has_no_one_hot_encoder() {
        let outputs = run_in_plain_tract(&one_hot_model(1), vec![text(&[1, 1], &["red"])]);
        let error = format!("{:#}", outputs.unwrap_err());
        assert!(error.contains("Unimplemented(OneHotEncoder)"), "got: {error}");
    }

    #[test]
    fn one_hot_encoder_encodes_known_missing_and_unknown_values() {
        let input = text(&[4, 1], &["red", "", "green", "blue"]);
        let outputs = run(&one_hot_model(1), vec![input]).unwrap();
        let expected = [
            0.0, 0.0, 1.0, // red
            1.0, 0.0, 0.0, // "" (missing)
            0.0, 0.0, 0.0, // green: no category
            0.0, 1.0, 0.0, // blue
        ];
        assert_eq!(reals(&outputs[0]), (DatumType::F32, vec![4, 1, 3], expected.to_vec()));
        assert_eq!(reals(&outputs[1]), (DatumType::F32, vec![4, 3], expected.to_vec()));
    }

    #[test]
    fn one_hot_encoder_and_reshape_run_on_a_batch_of_no_rows() {
        let outputs = run(&one_hot_model(1), vec![text(&[0, 1], &[])]).unwrap();
        assert_eq!(reals(&outputs[0]), (DatumType::F32, vec![0, 1, 3], vec![]));
        assert_eq!(reals(&outputs[1]), (DatumType::F32, vec![0, 3], vec![]));
    }

    #[test]
    fn one_hot_encoder_with_zeros_0_refuses_an_unknown_value_only() {
        let known = run(&one_hot_model(0), vec![text(&[2, 1], &["blue", ""])]).unwrap();
        assert_eq!(reals(&known[1]).2, [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        let unknown = run(&one_hot_model(0), vec![text(&[2, 1], &["blue", "Blue"])]);
        let message = format!("{:#}", unknown.unwrap_err());
        assert!(message.contains("\"Blue\" is none of the 3 categories"), "got: {message}");
    }

    #[test]
    fn one_hot_encoder_encodes_int64_values_with_cats_int64s() {
        let nodes =
            vec![node("OneHotEncoder", &["code"], "encoded", vec![ints("cats_int64s", &[7, -1])])];
        let model = model(
            nodes,
            vec![value("code", INT64, &[N, 1])],
            vec![value("encoded", FLOAT, &[N, 1, 2])],
            vec![],
        );
        let input = Tensor::from(tract_ndarray::arr2(&[[-1i64], [7], [0]]));
        let outputs = run(&model, vec![input]).unwrap();
        let expected = vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        assert_eq!(reals(&outputs[0]), (DatumType::F32, vec![3, 1, 2], expected));
    }

    #[test]
    fn one_hot_encoder_refuses_a_node_without_categories_or_with_both_kinds() {
        for attributes in [vec![], vec![strings("cats_strings", &["a"]), ints("cats_int64s", &[1])]]
        {
            let nodes = vec![node("OneHotEncoder", &["x"], "y", attributes)];
            let model = model(
                nodes,
                vec![value("x", STRING, &[N, 1])],
                vec![value("y", FLOAT, &[N, 1, 1])],
                vec![],
            );
            let error = format!("{:#}", run(&model, vec![text(&[1, 1], &["a"])]).unwrap_err());
            assert!(error.contains("expected categories in"), "got: {error}");
        }
    }

    /// onnxruntime's kernel (onehotencoder.cc), transcribed: the output is the input's shape
    /// plus one axis of `categories.len()` zeros; each category's position is written into a
    /// map in list order, so a category listed twice takes its last position; a value found in
    /// the map sets a 1, else it is an error if `zeros` is 0.
    fn onnxruntime_one_hot(categories: &[&str], zeros: bool, values: &[&str]) -> Option<Vec<f32>> {
        let width = categories.len();
        let mut y = vec![0.0f32; values.len() * width];
        for (i, v) in values.iter().enumerate() {
            match categories.iter().rposition(|c| c == v) {
                Some(j) => y[i * width + j] = 1.0,
                None if zeros => {}
                None => return None,
            }
        }
        Some(y)
    }

    #[test]
    fn one_hot_encoder_matches_onnxruntime_value_for_value() {
        // Near misses of each category (case, spaces, accents, "nan" for a missing value), and
        // a category listed twice.
        let categories = ["", "Dream", "Biscoe", "Torgersen", "café", "nan", "Biscoe"];
        let values = [
            "Dream",
            "",
            "Biscoe",
            " Dream",
            "dream",
            "Dream ",
            "café",
            "cafe\u{301}",
            "nan",
            "NaN",
            "Torgersen",
            "\u{0}",
            "Biscoe",
            "Torgersen\n",
            "Dream",
        ];
        for zeros in [0, 1] {
            for shape in [[15, 1], [5, 3]] {
                let nodes = vec![node(
                    "OneHotEncoder",
                    &["x"],
                    "y",
                    vec![strings("cats_strings", &categories), int("zeros", zeros)],
                )];
                let model = model(
                    nodes,
                    vec![value("x", STRING, &[N, shape[1] as i64])],
                    vec![value("y", FLOAT, &[N, shape[1] as i64, 7])],
                    vec![],
                );
                let ours = run(&model, vec![text(&shape, &values)]);
                match onnxruntime_one_hot(&categories, zeros != 0, &values) {
                    Some(expected) => {
                        let (dt, got_shape, got) = reals(&ours.unwrap()[0]);
                        assert_eq!((dt, got_shape), (DatumType::F32, vec![shape[0], shape[1], 7]));
                        let expected: Vec<f64> = expected.into_iter().map(f64::from).collect();
                        assert_eq!(got, expected);
                    }
                    None => assert!(ours.is_err(), "zeros = 0 with unknown values must fail"),
                }
            }
        }
        // The duplicate "Biscoe" encodes in its last column (6), never in column 2.
        let expected = onnxruntime_one_hot(&categories, true, &["Biscoe"]).unwrap();
        assert_eq!(expected, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }

    /// The grouped layout: one categorical column picked by Gather, then encoded and reshaped.
    #[test]
    fn gather_then_one_hot_encoder_encodes_a_grouped_column() {
        let nodes = vec![
            node("Gather", &["categorical", "which"], "column", vec![int("axis", 1)]),
            node(
                "OneHotEncoder",
                &["column"],
                "encoded",
                vec![strings("cats_strings", &["no", "yes"])],
            ),
            node("Reshape", &["encoded", "shape"], "flat", vec![]),
        ];
        let model = model(
            nodes,
            vec![value("categorical", STRING, &[N, 2])],
            vec![value("flat", FLOAT, &[N, 2])],
            vec![const_i64("which", &[1], &[1]), const_i64("shape", &[2], &[-1, 2])],
        );
        let input = text(&[3, 2], &["red", "yes", "blue", "no", "red", ""]);
        let outputs = run(&model, vec![input]).unwrap();
        let expected = vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        assert_eq!(reals(&outputs[0]), (DatumType::F32, vec![3, 2], expected));
    }

    fn equal_model(elem_type: i32) -> ModelProto {
        let nodes = vec![
            node("Equal", &["colour", "categories"], "is", vec![]),
            node("Cast", &["is"], "encoded", vec![int("to", elem_type as i64)]),
        ];
        model(
            nodes,
            vec![value("colour", STRING, &[N, 1])],
            vec![value("is", BOOL, &[N, 3]), value("encoded", elem_type, &[N, 3])],
            vec![const_strings("categories", &[1, 3], &["", "blue", "red"])],
        )
    }

    #[test]
    fn equal_on_strings_broadcasts_n_by_1_against_1_by_c_at_opset_19() {
        for elem_type in [FLOAT, DOUBLE] {
            let input = text(&[4, 1], &["red", "", "green", "blue"]);
            let outputs = run(&equal_model(elem_type), vec![input]);
            let outputs = outputs.unwrap_or_else(|e| panic!("elem type {elem_type}: {e:?}"));
            let expected = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
            let (dt, shape, is) = reals(&outputs[0]);
            assert_eq!((dt, shape, is), (DatumType::Bool, vec![4, 3], expected.to_vec()));
            assert_eq!(reals(&outputs[1]), (datum(elem_type), vec![4, 3], expected.to_vec()));
        }
    }

    #[test]
    fn equal_on_strings_runs_on_a_batch_of_no_rows() {
        let outputs = run(&equal_model(FLOAT), vec![text(&[0, 1], &[])]).unwrap();
        assert_eq!(reals(&outputs[1]), (DatumType::F32, vec![0, 3], vec![]));
    }

    // ---- whole graphs ----

    /// The ml flavor over a mixed table: numeric columns `age` and `fare` (FLOAT or DOUBLE),
    /// text column `sex`; Concat, imputation with an indicator for `age`, Scaler (whose output
    /// is FLOAT), OneHotEncoder + Reshape, Concat of the blocks, LinearClassifier (2 rows, no
    /// transform: scores are `x W^T + b`).
    #[test]
    fn the_ml_flavor_graph_runs_end_to_end_in_f32_and_f64() {
        for elem_type in [FLOAT, DOUBLE] {
            let outputs = run(&ml_flavor_model(elem_type), ml_flavor_rows(elem_type));
            let outputs = outputs.unwrap_or_else(|e| panic!("elem type {elem_type}: {e:?}"));
            // Row 0: age 40 -> (40-30)*0.5 = 5, no indicator: score0 = 5; female: 1 + 0.5.
            // Row 1: age imputed 30 -> 0, indicator 1: score0 = 10; "" is column 2: 3 + 0.5.
            // Row 2: age 20 -> -5: score0 = -5; "other" encodes as zeros: score1 = 0.5.
            let expected = vec![5.0, 1.5, 10.0, 3.5, -5.0, 0.5];
            assert_eq!(reals(&outputs[1]), (DatumType::F32, vec![3, 2], expected));
            let labels = outputs[0].try_as_plain_ram().unwrap().as_slice::<i64>().unwrap().to_vec();
            assert_eq!(labels, [0, 0, 1]);
        }
    }

    fn ml_flavor_model(elem_type: i32) -> ModelProto {
        let nodes = vec![
            node("Concat", &["age", "fare"], "numeric", vec![int("axis", 1)]),
            node("IsNaN", &["numeric"], "isnan", vec![]),
            node("Where", &["isnan", "statistics", "numeric"], "imputed", vec![]),
            node("Gather", &["isnan", "indicator_columns"], "missing", vec![int("axis", 1)]),
            node("Cast", &["missing"], "indicators", vec![int("to", FLOAT as i64)]),
            node(
                "Scaler",
                &["imputed"],
                "scaled",
                vec![floats("offset", &[30.0, 10.0]), floats("scale", &[0.5, 0.25])],
            ),
            node(
                "OneHotEncoder",
                &["sex"],
                "sex_encoded",
                vec![strings("cats_strings", &["female", "male", ""]), int("zeros", 1)],
            ),
            node("Reshape", &["sex_encoded", "sex_shape"], "sex_flat", vec![]),
            node("Concat", &["scaled", "indicators", "sex_flat"], "features", vec![int("axis", 1)]),
            NodeProto {
                output: vec!["label".into(), "scores".into()],
                ..node(
                    "LinearClassifier",
                    &["features"],
                    "label",
                    vec![
                        ints("classlabels_ints", &[0, 1]),
                        // Row 0 reads the scaled age and the indicator, row 1 the one-hot block.
                        floats("coefficients", &[1., 0., 10., 0., 0., 0., 0., 0., 0., 1., 2., 3.]),
                        floats("intercepts", &[0.0, 0.5]),
                        string("post_transform", "NONE"),
                    ],
                )
            },
        ];
        model(
            nodes,
            vec![
                value("age", elem_type, &[N, 1]),
                value("fare", elem_type, &[N, 1]),
                value("sex", STRING, &[N, 1]),
            ],
            vec![value("label", INT64, &[N]), value("scores", FLOAT, &[N, 2])],
            vec![
                const_real("statistics", elem_type, &[2], &[30.0, 10.0]),
                const_i64("indicator_columns", &[1], &[0]),
                const_i64("sex_shape", &[2], &[-1, 3]),
            ],
        )
    }

    /// Three rows: a complete one, one with both numbers missing and the missing text value,
    /// one with a text value that is no category.
    fn ml_flavor_rows(elem_type: i32) -> Vec<Tensor> {
        vec![
            real(elem_type, &[3, 1], &[40.0, f64::NAN, 20.0]),
            real(elem_type, &[3, 1], &[14.0, f64::NAN, 2.0]),
            text(&[3, 1], &["female", "", "other"]),
        ]
    }

    /// A batch of the size the verifier runs, through the whole ml graph: every row is checked.
    #[test]
    fn the_ml_flavor_graph_runs_a_full_batch() {
        let rows = crate::proof::runtime::BATCH_ROWS;
        let sexes = ["female", "male", "", "other"];
        let age: Vec<f64> = (0..rows).map(|i| if i % 5 == 0 { f64::NAN } else { 30.0 }).collect();
        let sex: Vec<&str> = (0..rows).map(|i| sexes[i % 4]).collect();
        let inputs = vec![
            real(FLOAT, &[rows, 1], &age),
            real(FLOAT, &[rows, 1], &vec![10.0; rows]),
            text(&[rows, 1], &sex),
        ];
        let outputs = run(&ml_flavor_model(FLOAT), inputs).unwrap();
        let (_, shape, scores) = reals(&outputs[1]);
        assert_eq!(shape, [rows, 2]);
        for (i, row) in scores.chunks_exact(2).enumerate() {
            // Age scales to 0 either way; a missing one adds 10 through its indicator.
            let expected_0 = if i % 5 == 0 { 10.0 } else { 0.0 };
            let expected_1 = [1.5, 2.5, 3.5, 0.5][i % 4];
            assert_eq!(row, [expected_0, expected_1], "row {i}");
        }
    }

    /// The standard flavor in f64: Concat, IsNaN + Where, Sub + Div, Equal + Cast to DOUBLE,
    /// Concat, MatMul + Add.
    #[test]
    fn the_standard_flavor_graph_runs_end_to_end_in_f64() {
        let nodes = vec![
            node("Concat", &["age", "fare"], "numeric", vec![int("axis", 1)]),
            node("IsNaN", &["numeric"], "isnan", vec![]),
            node("Where", &["isnan", "statistics", "numeric"], "imputed", vec![]),
            node("Sub", &["imputed", "mean"], "centred", vec![]),
            node("Div", &["centred", "scale"], "scaled", vec![]),
            node("Equal", &["sex", "sex_categories"], "sex_is", vec![]),
            node("Cast", &["sex_is"], "sex_encoded", vec![int("to", DOUBLE as i64)]),
            node("Concat", &["scaled", "sex_encoded"], "features", vec![int("axis", 1)]),
            node("MatMul", &["features", "weights"], "product", vec![]),
            node("Add", &["product", "bias"], "scores", vec![]),
        ];
        let model = model(
            nodes,
            vec![
                value("age", DOUBLE, &[N, 1]),
                value("fare", DOUBLE, &[N, 1]),
                value("sex", STRING, &[N, 1]),
            ],
            vec![value("scores", DOUBLE, &[N, 1])],
            vec![
                const_real("statistics", DOUBLE, &[2], &[30.0, 10.0]),
                const_real("mean", DOUBLE, &[2], &[30.0, 10.0]),
                const_real("scale", DOUBLE, &[2], &[2.0, 4.0]),
                const_strings("sex_categories", &[1, 2], &["female", ""]),
                const_real("weights", DOUBLE, &[4, 1], &[1.0, 1.0, 100.0, 1000.0]),
                const_real("bias", DOUBLE, &[1], &[0.25]),
            ],
        );
        let age = real(DOUBLE, &[3, 1], &[40.0, f64::NAN, 20.0]);
        let fare = real(DOUBLE, &[3, 1], &[14.0, f64::NAN, 2.0]);
        let sex = text(&[3, 1], &["female", "", "other"]);
        let outputs = run(&model, vec![age, fare, sex]).unwrap();
        // Row 0: (40-30)/2 + (14-10)/4 + 100 (female) + 0.25 = 106.25.
        // Row 1: imputed to the means: 0 + 0 + 1000 ("") + 0.25.
        // Row 2: (20-30)/2 + (2-10)/4 + 0 ("other") + 0.25 = -6.75.
        assert_eq!(reals(&outputs[0]), (DatumType::F64, vec![3, 1], vec![106.25, 1000.25, -6.75]));
    }
}
