//! The ONNX graph of a fitted pipeline, in one of three flavors.
//!
//! The default (`ml`) is the graph scikit-learn's converter writes (zipmap off), so serving
//! code written for those files works unchanged:
//!
//! ```text
//! input  FLOAT [N, F]
//!   -> Scaler            (ai.onnx.ml)  offset = mean, scale = 1 / scale
//!   -> LinearClassifier  (ai.onnx.ml)  -> label INT64 [N], probabilities FLOAT [N, K]
//!   [-> CategoryMapper   (ai.onnx.ml)  class index -> label STRING [N], for string classes]
//! ```
//!
//! With a DOUBLE input the scaling is `Sub` and `Div` in double (initializers `offset` and
//! `scale`) and a `Cast` to float before the LinearClassifier: the ai.onnx.ml operators compute
//! in float32, and scaling first keeps what float32 would erase from a large |mean| / std.
//!
//! The `standard` flavor uses default-domain operators only, for runtimes without ai.onnx.ml:
//!
//! ```text
//! input -> Sub(offset) -> Div(scale) [-> Cast(FLOAT)] -> MatMul(coefficients) -> Add(intercepts)
//!   = scores -> Softmax = probabilities;  scores -> ArgMax -> Gather(class_labels) = label
//! ```
//!
//! in float32 or, with `--dtype f64`, in double throughout (then `probabilities` is DOUBLE).
//!
//! Two classes are written as two score columns (-w, +w) with intercepts (-b, +b) and a
//! logistic, the layout onnxruntime and tract read alike (in the standard flavor, half of
//! those and a softmax, which is the same); three or more as K columns with a softmax. String classes in the ml flavor go through `classlabels_ints` 0..K-1 and a
//! CategoryMapper, because tract cannot output `classlabels_strings`. The ai.onnx.ml operators
//! take float32 attributes: the Scaler's reciprocal scale is taken in f64 before rounding.
//!
//! A model whose label is not the most probable class (a Spark model's `threshold` or
//! `thresholds`) computes it after the probabilities in either flavor, Spark's rule on them:
//!
//! ```text
//! probabilities -> Div(class_thresholds) -> ArgMax -> Gather(class_labels) = label
//! ```
//!
//! (the LinearClassifier's own label output is then unused).

use prost::Message;

use super::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType,
    tensor_proto::DataType,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use ndarray::{ArrayView1, ArrayView2};

use crate::data::Classes;
use crate::error::{Error, Parameter, Result};
use crate::model::{FittedLogisticRegression, Link, Pipeline};

/// Default-domain operator sets onnxify can write, with the IR version of each
/// (onnx's VERSION_TABLE).
pub const SUPPORTED_OPSETS: std::ops::RangeInclusive<i64> = 13..=21;
/// The default-domain operator set written unless asked otherwise.
pub const DEFAULT_OPSET: i64 = 17;
/// Version of the ai.onnx.ml operator set used.
pub const ML_OPSET: i64 = 1;
/// Name of the graph input.
pub const INPUT: &str = "input";
/// Name of the label output.
pub const OUTPUT_LABEL: &str = "label";
/// Name of the probability output.
pub const OUTPUT_PROBABILITIES: &str = "probabilities";

pub(super) const ML_DOMAIN: &str = "ai.onnx.ml";

/// The IR version that goes with a default-domain operator set.
pub fn ir_version(opset: i64) -> i64 {
    match opset {
        ..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        _ => 10,
    }
}

/// Which operators the graph uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ops {
    /// Scaler and LinearClassifier from ai.onnx.ml: scikit-learn's converter's graph.
    Ml,
    /// Default-domain operators only.
    Standard,
}

/// A floating-point precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Float32,
    Float64,
}

impl Precision {
    pub(super) fn data_type(self) -> DataType {
        match self {
            Precision::Float32 => DataType::Float,
            Precision::Float64 => DataType::Double,
        }
    }

    /// "float32" or "float64".
    pub fn name(self) -> &'static str {
        match self {
            Precision::Float32 => "float32",
            Precision::Float64 => "float64",
        }
    }
}

/// How a table's columns reach the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputLayout {
    /// One input per column, named after it, `[N, 1]`: scikit-learn's converter's convention
    /// for a DataFrame.
    #[default]
    Columns,
    /// Two inputs: `numeric` `[N, numeric columns]` and `categorical` `[N, text columns]`.
    Grouped,
}

/// How to write the graph, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphOptions {
    pub ops: Ops,
    /// How a table's columns reach the graph (a numeric matrix always has one input).
    pub layout: InputLayout,
    /// Precision of the arithmetic after scaling (float64 only with standard operators).
    pub dtype: Precision,
    /// Precision of the input; `None` lets the exporter choose (float32 unless it changes a
    /// verified label).
    pub input: Option<Precision>,
    /// Default-domain operator set, within [`SUPPORTED_OPSETS`].
    pub opset: i64,
    /// Whether the operator set was asked for; if not, a graph that needs a later one (a
    /// table's text compared with `Equal`, from opset 19) takes the first that has it.
    pub opset_given: bool,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            ops: Ops::Ml,
            layout: InputLayout::Columns,
            dtype: Precision::Float32,
            input: None,
            opset: DEFAULT_OPSET,
            opset_given: false,
        }
    }
}

impl GraphOptions {
    /// Checks that the combination can be written.
    pub fn check(self) -> Result<GraphOptions> {
        let invalid =
            |parameter, message: String| Err(Error::InvalidParameter { parameter, message });
        if !SUPPORTED_OPSETS.contains(&self.opset) {
            return invalid(
                Parameter::TargetOpset,
                format!(
                    "{} is not supported; choose {} to {}",
                    self.opset,
                    SUPPORTED_OPSETS.start(),
                    SUPPORTED_OPSETS.end()
                ),
            );
        }
        if self.dtype == Precision::Float64 && self.ops == Ops::Ml {
            return invalid(
                Parameter::Dtype,
                "f64 needs {ops} standard: the ai.onnx.ml operators compute in float32 (for double input to them, use {input-dtype} f64)".into(),
            );
        }
        if self.dtype == Precision::Float64 && self.input == Some(Precision::Float32) {
            return invalid(
                Parameter::InputDtype,
                "f32 cannot feed double arithmetic; use f64 or auto with {dtype} f64".into(),
            );
        }
        Ok(self)
    }

    /// The input precisions to try, in order.
    pub fn input_candidates(self) -> Vec<Precision> {
        match (self.dtype, self.input) {
            (Precision::Float64, _) => vec![Precision::Float64],
            (_, Some(input)) => vec![input],
            (_, None) => vec![Precision::Float32, Precision::Float64],
        }
    }

    /// The opsets the graph imports, as (domain, version).
    pub fn opset_imports(self) -> Vec<(&'static str, i64)> {
        match self.ops {
            Ops::Ml => vec![("ai.onnx", self.opset), (ML_DOMAIN, ML_OPSET)],
            Ops::Standard => vec![("ai.onnx", self.opset)],
        }
    }
}

/// What goes into a model file besides the pipeline's numbers.
#[derive(Debug, Clone)]
pub struct GraphSpec<'a> {
    pub pipeline: &'a Pipeline,
    /// The name of the one input ([`INPUT`], or the vector column a Spark model reads).
    pub input_name: &'a str,
    pub feature_names: &'a [String],
    pub options: GraphOptions,
    /// The input precision chosen.
    pub input: Precision,
    pub doc_string: String,
    /// `metadata_props`, in order.
    pub metadata: Vec<(String, String)>,
}

/// The encoded ONNX model of `spec`.
pub fn model_bytes(spec: &GraphSpec) -> Vec<u8> {
    model(spec).encode_to_vec()
}

fn model(spec: &GraphSpec) -> ModelProto {
    let pipeline = spec.pipeline;
    let options = spec.options;
    let mut graph = GraphBuilder::default();
    let (mean, scale) = (pipeline.mean().to_vec(), pipeline.scale().to_vec());
    scaling(&mut graph, (spec.input_name, "scaled"), (&mean, &scale), options, spec.input);
    let linear = Linear::of(pipeline.classifier(), pipeline.classes());
    classifier(&mut graph, &linear, "scaled", options);
    let input = tensor_info(
        spec.input_name,
        spec.input.data_type(),
        &[Dim::Batch, Dim::Fixed(pipeline.n_features())],
    );
    let doc = format!(
        "Features in this order: {}. Probability columns in this class order: {}.{}",
        spec.feature_names.join(", "),
        class_list(linear.classes),
        label_rule(&linear)
    );
    let parts = ModelParts {
        name: "standard_scaler_logistic_regression",
        graph_doc: doc,
        inputs: vec![input],
        doc_string: &spec.doc_string,
        metadata: &spec.metadata,
    };
    assemble(graph, parts, linear.classes, options)
}

/// Class labels as the graph doc strings list them.
pub(super) fn class_list(classes: &Classes) -> String {
    (0..classes.len()).map(|c| classes.name(c)).collect::<Vec<_>>().join(", ")
}

/// How the label is chosen, for the graph doc string, when it is not the most probable class.
pub(super) fn label_rule(linear: &Linear) -> String {
    match &linear.thresholds {
        None => String::new(),
        Some(t) => format!(
            " The label is the class whose probability divided by its threshold is largest \
             (the first on ties); thresholds in class order: {}.",
            t.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The classifier on `scaled` in the flavor `options` asks for, and the label by the
/// thresholds where the model has them.
pub(super) fn classifier(
    graph: &mut GraphBuilder,
    linear: &Linear,
    scaled: &str,
    options: GraphOptions,
) {
    match options.ops {
        Ops::Ml => ml_classifier(graph, linear, scaled),
        Ops::Standard => standard_classifier(graph, linear, scaled, options.dtype),
    }
    if let Some(thresholds) = &linear.thresholds {
        let precision = if options.ops == Ops::Ml { Precision::Float32 } else { options.dtype };
        thresholded_label(graph, linear.classes, thresholds, precision);
    }
}

/// `label = class_labels[argmax(probabilities / thresholds)]`, the first largest quotient:
/// Spark's rule, on the probabilities the graph outputs.
fn thresholded_label(
    graph: &mut GraphBuilder,
    classes: &Classes,
    thresholds: &[f64],
    precision: Precision,
) {
    graph.constant("class_thresholds", &[thresholds.len()], thresholds, precision);
    graph.node(
        "divide_by_thresholds",
        "Div",
        "",
        &[OUTPUT_PROBABILITIES, "class_thresholds"],
        &["quotients"],
        vec![],
    );
    largest_label(graph, ("best_quotient", "quotients"), classes);
}

/// `label = class_labels[argmax(values)]`, the first largest value of each row, by the ArgMax
/// node `name`.
fn largest_label(graph: &mut GraphBuilder, (name, values): (&str, &str), classes: &Classes) {
    graph.labels("class_labels", classes);
    graph.node(
        name,
        "ArgMax",
        "",
        &[values],
        &["label_index"],
        vec![int("axis", 1), int("keepdims", 0)],
    );
    graph.node(
        "class_label",
        "Gather",
        "",
        &["class_labels", "label_index"],
        &[OUTPUT_LABEL],
        vec![int("axis", 0)],
    );
}

/// What a model file says besides its nodes and initializers.
pub(super) struct ModelParts<'a> {
    pub(super) name: &'a str,
    pub(super) graph_doc: String,
    pub(super) inputs: Vec<ValueInfoProto>,
    pub(super) doc_string: &'a str,
    pub(super) metadata: &'a [(String, String)],
}

/// The model of `graph`, with the outputs `label` and `probabilities`.
pub(super) fn assemble(
    graph: GraphBuilder,
    parts: ModelParts,
    classes: &Classes,
    options: GraphOptions,
) -> ModelProto {
    let compute = options.dtype;
    let label_type =
        if matches!(classes, Classes::Strings(_)) { DataType::String } else { DataType::Int64 };
    let probability_type =
        if options.ops == Ops::Standard { compute.data_type() } else { DataType::Float };
    let graph = GraphProto {
        node: graph.nodes,
        name: Some(parts.name.into()),
        initializer: graph.initializers,
        doc_string: Some(parts.graph_doc),
        input: parts.inputs,
        output: vec![
            tensor_info(OUTPUT_LABEL, label_type, &[Dim::Batch]),
            tensor_info(
                OUTPUT_PROBABILITIES,
                probability_type,
                &[Dim::Batch, Dim::Fixed(classes.len())],
            ),
        ],
        ..Default::default()
    };
    let opset_import = options
        .opset_imports()
        .into_iter()
        .map(|(domain, version)| OperatorSetIdProto {
            domain: Some(if domain == "ai.onnx" { String::new() } else { domain.into() }),
            version: Some(version),
        })
        .collect();
    ModelProto {
        ir_version: Some(ir_version(options.opset)),
        producer_name: Some("onnxify".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: Some("onnxify".into()),
        model_version: Some(1),
        doc_string: Some(parts.doc_string.to_owned()),
        graph: Some(graph),
        opset_import,
        metadata_props: parts
            .metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto { key: Some(k.clone()), value: Some(v.clone()) })
            .collect(),
        ..Default::default()
    }
}

/// The linear classifier of a fitted pipeline: weights on its design, intercepts, classes.
pub(super) struct Linear<'a> {
    pub(super) coef: ArrayView2<'a, f64>,
    pub(super) intercept: ArrayView1<'a, f64>,
    pub(super) classes: &'a Classes,
    pub(super) link: Link,
    /// The probabilities' divisors whose largest quotient is the label, if the label is not
    /// the most probable class.
    pub(super) thresholds: Option<Vec<f64>>,
}

impl<'a> Linear<'a> {
    pub(super) fn of(classifier: &'a FittedLogisticRegression, classes: &'a Classes) -> Linear<'a> {
        Linear {
            coef: classifier.coef(),
            intercept: classifier.intercept(),
            classes,
            link: classifier.link(),
            thresholds: classifier.decision().class_thresholds(),
        }
    }

    /// Three or more classes whose probabilities are normalised sigmoids.
    fn one_vs_rest(&self) -> bool {
        self.link == Link::OneVsRest && self.classes.len() > 2
    }

    /// Columns of the design the weights apply to.
    fn n_features(&self) -> usize {
        self.coef.ncols()
    }
}

/// Nodes and initializers, in order.
#[derive(Default)]
pub(super) struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl GraphBuilder {
    pub(super) fn node(
        &mut self,
        name: &str,
        op_type: &str,
        domain: &str,
        inputs: &[&str],
        outputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: Some(name.into()),
            op_type: Some(op_type.into()),
            attribute,
            doc_string: None,
            domain: Some(domain.into()),
        });
    }

    /// A numeric initializer of `precision`, values rounded to it.
    pub(super) fn constant(
        &mut self,
        name: &str,
        dims: &[usize],
        values: &[f64],
        precision: Precision,
    ) {
        let mut tensor = TensorProto {
            name: Some(name.into()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(precision.data_type() as i32),
            ..Default::default()
        };
        match precision {
            Precision::Float32 => tensor.float_data = values.iter().map(|&v| v as f32).collect(),
            Precision::Float64 => tensor.double_data = values.to_vec(),
        }
        self.initializers.push(tensor);
    }

    /// An INT64 initializer.
    pub(super) fn int64s(&mut self, name: &str, dims: &[usize], values: &[i64]) {
        self.initializers.push(TensorProto {
            name: Some(name.into()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(DataType::Int64 as i32),
            int64_data: values.to_vec(),
            ..Default::default()
        });
    }

    /// A STRING initializer.
    pub(super) fn strings(&mut self, name: &str, dims: &[usize], values: &[String]) {
        self.initializers.push(TensorProto {
            name: Some(name.into()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(DataType::String as i32),
            string_data: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
            ..Default::default()
        });
    }

    fn labels(&mut self, name: &str, classes: &Classes) {
        let mut tensor = TensorProto {
            name: Some(name.into()),
            dims: vec![classes.len() as i64],
            ..Default::default()
        };
        match classes {
            Classes::Ints(values) => {
                tensor.data_type = Some(DataType::Int64 as i32);
                tensor.int64_data = values.clone();
            }
            Classes::Strings(names) => {
                tensor.data_type = Some(DataType::String as i32);
                tensor.string_data = names.iter().map(|n| n.as_bytes().to_vec()).collect();
            }
        }
        self.initializers.push(tensor);
    }
}

/// Writes the scaling of `x` (columns with offsets `mean` and divisors `scale`) into the
/// tensor `out`: the ai.onnx.ml Scaler for float32 input to the ml flavor, else Sub and Div in
/// the input's precision, then a Cast to the arithmetic's precision if they differ.
pub(super) fn scaling(
    graph: &mut GraphBuilder,
    (x, out): (&str, &str),
    (mean, scale): (&[f64], &[f64]),
    options: GraphOptions,
    input: Precision,
) {
    if options.ops == Ops::Ml && input == Precision::Float32 {
        // Scaler computes (x - offset) * scale: the reciprocal is taken in f64, then rounded.
        let offset: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let reciprocal: Vec<f32> = scale.iter().map(|&s| (1.0 / s) as f32).collect();
        graph.node(
            "scaler",
            "Scaler",
            ML_DOMAIN,
            &[x],
            &[out],
            vec![floats("offset", offset), floats("scale", reciprocal)],
        );
        return;
    }
    // (x - mean) / scale with a true division, as scikit-learn computes it, in the input's
    // precision; then to the arithmetic's precision if they differ.
    let f = mean.len();
    graph.constant("offset", &[f], mean, input);
    graph.constant("scale", &[f], scale, input);
    graph.node("subtract_mean", "Sub", "", &[x, "offset"], &["centred"], vec![]);
    let compute = if options.ops == Ops::Ml { Precision::Float32 } else { options.dtype };
    if compute == input {
        graph.node("divide_by_scale", "Div", "", &["centred", "scale"], &[out], vec![]);
    } else {
        graph.node("divide_by_scale", "Div", "", &["centred", "scale"], &["scaled_input"], vec![]);
        graph.node(
            "cast_to_arithmetic",
            "Cast",
            "",
            &["scaled_input"],
            &[out],
            vec![int("to", compute.data_type() as i64)],
        );
    }
}

/// Weight rows and intercepts of the score columns: two opposite columns for two classes.
fn score_columns(linear: &Linear) -> (Vec<Vec<f64>>, Vec<f64>) {
    let coef = linear.coef;
    let intercept = linear.intercept;
    if coef.nrows() == 1 {
        // Class 0 scores -s and class 1 scores s, so the logistic of each is its probability.
        let w: Vec<f64> = coef.row(0).to_vec();
        (vec![w.iter().map(|v| -v).collect(), w], vec![-intercept[0], intercept[0]])
    } else {
        (coef.rows().into_iter().map(|r| r.to_vec()).collect(), intercept.to_vec())
    }
}

/// `LinearClassifier` on the scaled features, and a `CategoryMapper` for string classes.
fn ml_classifier(graph: &mut GraphBuilder, linear: &Linear, scaled: &str) {
    let classes = linear.classes;
    let (rows, intercepts) = score_columns(linear);
    let binary = classes.len() == 2;
    let labels: Vec<i64> = match classes {
        Classes::Ints(values) => values.clone(),
        Classes::Strings(names) => (0..names.len() as i64).collect(),
    };
    // With thresholds the label is computed after the probabilities, and this one is unused.
    let label_output = if linear.thresholds.is_some() {
        "classifier_label"
    } else if matches!(classes, Classes::Strings(_)) {
        "label_index"
    } else {
        OUTPUT_LABEL
    };
    // One-vs-rest: each class's sigmoid, then each row divided by its sum, as scikit-learn's
    // converter writes it.
    let one_vs_rest = linear.one_vs_rest();
    let probabilities = if one_vs_rest { "class_sigmoids" } else { OUTPUT_PROBABILITIES };
    graph.node(
        "linear_classifier",
        "LinearClassifier",
        ML_DOMAIN,
        &[scaled],
        &[label_output, probabilities],
        vec![
            ints("classlabels_ints", labels),
            floats("coefficients", rows.iter().flatten().map(|&v| v as f32).collect()),
            floats("intercepts", intercepts.iter().map(|&v| v as f32).collect()),
            int("multi_class", i64::from(!binary && !one_vs_rest)),
            string("post_transform", if binary || one_vs_rest { "LOGISTIC" } else { "SOFTMAX" }),
        ],
    );
    if one_vs_rest {
        graph.node(
            "normalise_sigmoids",
            "Normalizer",
            ML_DOMAIN,
            &[probabilities],
            &[OUTPUT_PROBABILITIES],
            vec![string("norm", "L1")],
        );
    }
    if let (Classes::Strings(names), None) = (classes, &linear.thresholds) {
        graph.node(
            "label_names",
            "CategoryMapper",
            ML_DOMAIN,
            &["label_index"],
            &[OUTPUT_LABEL],
            vec![
                ints("cats_int64s", (0..names.len() as i64).collect()),
                strings("cats_strings", names),
                string("default_string", ""),
            ],
        );
    }
}

/// MatMul, Add, Softmax, ArgMax and Gather, in `precision`.
///
/// Two classes get the score columns (-s/2, +s/2), whose softmax is exactly
/// (sigmoid(-s), sigmoid(s)): tract 0.23.9 has no float64 Sigmoid, and halving is exact.
fn standard_classifier(
    graph: &mut GraphBuilder,
    linear: &Linear,
    scaled: &str,
    precision: Precision,
) {
    let classes = linear.classes;
    let (mut rows, mut intercepts) = score_columns(linear);
    if classes.len() == 2 {
        rows.iter_mut().flatten().chain(intercepts.iter_mut()).for_each(|v| *v /= 2.0);
    }
    let f = linear.n_features();
    let columns = rows.len();
    // MatMul takes the weights as [features, columns].
    let weights: Vec<f64> = (0..f).flat_map(|j| rows.iter().map(move |row| row[j])).collect();
    graph.constant("coefficients", &[f, columns], &weights, precision);
    graph.constant("intercepts", &[columns], &intercepts, precision);
    graph.node(
        "multiply_coefficients",
        "MatMul",
        "",
        &[scaled, "coefficients"],
        &["products"],
        vec![],
    );
    graph.node("add_intercepts", "Add", "", &["products", "intercepts"], &["scores"], vec![]);
    let logits = if linear.one_vs_rest() {
        log_sigmoids(graph, "scores", precision);
        "log_sigmoids"
    } else {
        "scores"
    };
    graph.node("softmax", "Softmax", "", &[logits], &[OUTPUT_PROBABILITIES], vec![int("axis", 1)]);
    if linear.thresholds.is_some() {
        return;
    }
    // The label is read from the scores, which float rounding cannot tie where the
    // probabilities might.
    largest_label(graph, ("best_class", "scores"), classes);
}

/// `log sigmoid(s) = min(s, 0) - log(exp(-|s|) + 1)` of each score, which overflows nowhere:
/// their softmax is each sigmoid divided by the row's sum, the one-vs-rest probabilities, even
/// where every sigmoid is too small for the precision.
fn log_sigmoids(graph: &mut GraphBuilder, scores: &str, precision: Precision) {
    graph.constant("zero", &[], &[0.0], precision);
    graph.constant("one", &[], &[1.0], precision);
    graph.constant("minus_one", &[], &[-1.0], precision);
    graph.node("score_magnitudes", "Abs", "", &[scores], &["magnitudes"], vec![]);
    graph.node("negate", "Mul", "", &["magnitudes", "minus_one"], &["negated"], vec![]);
    graph.node("exponentiate", "Exp", "", &["negated"], &["exponentials"], vec![]);
    graph.node("add_one", "Add", "", &["exponentials", "one"], &["one_plus"], vec![]);
    graph.node("logarithm", "Log", "", &["one_plus"], &["softplus_rest"], vec![]);
    graph.node("clip_positive", "Min", "", &[scores, "zero"], &["nonpositive"], vec![]);
    graph.node(
        "log_sigmoid",
        "Sub",
        "",
        &["nonpositive", "softplus_rest"],
        &["log_sigmoids"],
        vec![],
    );
}

pub(super) fn attribute(name: &str, kind: AttributeType) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(kind as i32), ..Default::default() }
}

pub(super) fn floats(name: &str, values: Vec<f32>) -> AttributeProto {
    AttributeProto { floats: values, ..attribute(name, AttributeType::Floats) }
}

pub(super) fn ints(name: &str, values: Vec<i64>) -> AttributeProto {
    AttributeProto { ints: values, ..attribute(name, AttributeType::Ints) }
}

pub(super) fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { i: Some(value), ..attribute(name, AttributeType::Int) }
}

pub(super) fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto { s: Some(value.as_bytes().to_vec()), ..attribute(name, AttributeType::String) }
}

pub(super) fn strings(name: &str, values: &[String]) -> AttributeProto {
    AttributeProto {
        strings: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        ..attribute(name, AttributeType::Strings)
    }
}

/// A dimension of a tensor type.
pub(super) enum Dim {
    /// The batch dimension, named "N".
    Batch,
    Fixed(usize),
}

pub(super) fn tensor_info(name: &str, elem_type: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Batch => dimension::Value::DimParam("N".into()),
                Dim::Fixed(n) => dimension::Value::DimValue(*n as i64),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type as i32),
                shape: Some(super::pb::TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogisticRegressionParams;
    use crate::progress::Progress;
    use ndarray::array;

    fn fitted(classes: Classes, y: &[u32]) -> Pipeline {
        let x =
            array![[1.0, 10.0], [2.0, 30.0], [3.0, 20.0], [4.0, 60.0], [5.0, 50.0], [6.0, 40.0]];
        let params = LogisticRegressionParams::new().check().unwrap();
        Pipeline::fit(x, y, classes, &params, &Progress::hidden().iterations("fit", 1)).unwrap()
    }

    fn built(pipeline: &Pipeline, options: GraphOptions, input: Precision) -> ModelProto {
        let names = ["a".to_string(), "b".to_string()];
        let spec = GraphSpec {
            pipeline,
            input_name: INPUT,
            feature_names: &names,
            options,
            input,
            doc_string: String::new(),
            metadata: vec![],
        };
        ModelProto::decode(&model_bytes(&spec)[..]).unwrap()
    }

    fn attr<'a>(node: &'a NodeProto, name: &str) -> &'a AttributeProto {
        node.attribute.iter().find(|a| a.name() == name).unwrap()
    }

    #[test]
    fn a_binary_model_has_two_opposite_coefficient_rows() {
        let pipeline = fitted(Classes::Ints(vec![3, 7]), &[0, 0, 1, 0, 1, 1]);
        let graph = built(&pipeline, GraphOptions::default(), Precision::Float32).graph.unwrap();
        let names: Vec<&str> = graph.node.iter().map(|n| n.name()).collect();
        assert_eq!(names, ["scaler", "linear_classifier"]);
        let classifier = &graph.node[1];
        let w = pipeline.coef();
        let expected: Vec<f32> =
            [-w[[0, 0]], -w[[0, 1]], w[[0, 0]], w[[0, 1]]].iter().map(|&v| v as f32).collect();
        assert_eq!(attr(classifier, "coefficients").floats, expected);
        assert_eq!(attr(classifier, "classlabels_ints").ints, vec![3, 7]);
        assert_eq!(attr(classifier, "post_transform").s(), b"LOGISTIC");
        let scale = attr(&graph.node[0], "scale");
        assert_eq!(scale.floats[1], (1.0 / pipeline.scale()[1]) as f32);
        assert_eq!(scale.r#type(), AttributeType::Floats);
    }

    #[test]
    fn string_classes_are_mapped_from_indices_by_a_category_mapper() {
        let classes = Classes::Strings(vec!["x".into(), "y".into(), "z".into()]);
        let pipeline = fitted(classes, &[0, 1, 2, 0, 1, 2]);
        let graph = built(&pipeline, GraphOptions::default(), Precision::Float32).graph.unwrap();
        let mapper = &graph.node[2];
        assert_eq!(mapper.op_type(), "CategoryMapper");
        assert_eq!(
            attr(mapper, "cats_strings").strings,
            vec![b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]
        );
        assert_eq!(attr(&graph.node[1], "coefficients").floats.len(), 3 * 2);
        assert_eq!(attr(&graph.node[1], "post_transform").s(), b"SOFTMAX");
        let label = &graph.output[0];
        let Some(type_proto::Value::TensorType(t)) = &label.r#type.as_ref().unwrap().value else {
            panic!()
        };
        assert_eq!(t.elem_type(), DataType::String as i32);
    }

    #[test]
    fn double_input_scales_in_double_before_the_float_classifier() {
        let pipeline = fitted(Classes::Ints(vec![0, 1]), &[0, 0, 1, 0, 1, 1]);
        let model = built(&pipeline, GraphOptions::default(), Precision::Float64);
        let graph = model.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type()).collect();
        assert_eq!(ops, ["Sub", "Div", "Cast", "LinearClassifier"]);
        assert_eq!(graph.initializer[1].double_data, pipeline.scale().to_vec());
        assert_eq!(attr(&graph.node[2], "to").i(), DataType::Float as i64);
    }

    #[test]
    fn the_standard_flavor_uses_only_the_default_domain() {
        let pipeline =
            fitted(Classes::Strings(vec!["x".into(), "y".into(), "z".into()]), &[0, 1, 2, 0, 1, 2]);
        let options = GraphOptions {
            ops: Ops::Standard,
            dtype: Precision::Float64,
            opset: 13,
            ..Default::default()
        };
        let model = built(&pipeline, options, Precision::Float64);
        assert_eq!(model.ir_version(), 7);
        assert_eq!(model.opset_import.len(), 1);
        assert_eq!((model.opset_import[0].domain(), model.opset_import[0].version()), ("", 13));
        let graph = model.graph.unwrap();
        assert!(graph.node.iter().all(|n| n.domain().is_empty()), "{:?}", graph.node);
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type()).collect();
        assert_eq!(ops, ["Sub", "Div", "MatMul", "Add", "Softmax", "ArgMax", "Gather"]);
        let weights = graph.initializer.iter().find(|t| t.name() == "coefficients").unwrap();
        assert_eq!(weights.dims, vec![2, 3]);
        assert_eq!(weights.double_data[1], pipeline.coef()[[1, 0]]);
    }

    #[test]
    fn refuses_combinations_it_cannot_write() {
        let ml_double = GraphOptions { dtype: Precision::Float64, ..GraphOptions::default() };
        assert!(
            ml_double.check().unwrap_err().to_string().contains("dtype: f64 needs ops standard")
        );
        let old = GraphOptions { opset: 12, ..GraphOptions::default() };
        assert_eq!(
            old.check().unwrap_err().to_string(),
            "invalid value for target opset: 12 is not supported; choose 13 to 21"
        );
        assert_eq!(ir_version(17), 8);
        assert_eq!(ir_version(21), 10);
    }
}
