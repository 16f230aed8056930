//! The allow-list check: the graph must be one onnxify or scikit-learn's converter writes.
//!
//! After limits and structure that hold for every graph (known opsets and IR version; no
//! functions, training programs, subgraphs, sparse or external data; almost nothing in fields
//! the schema does not declare; names, strings, text in total, attributes and tensors within
//! limits, element counts overflow-checked; every tensor defined once and before use, every
//! output produced), the nodes are matched, from the input forward, against the shapes
//! onnxify reads:
//!
//! ```text
//! input [Scaler | Sub -> (Div | Mul) [-> Cast]]
//!   -> LinearClassifier [-> Normalizer] [-> CategoryMapper]              (ai.onnx.ml)
//!   |  MatMul -> Add = scores -> Softmax;  scores -> ArgMax -> Gather           (standard)
//! ```
//!
//! Every node and initializer must take part in the match, with the expected number of inputs
//! and outputs, attributes, types and shapes, consistent class, coefficient and feature
//! counts, and finite numbers.

use std::collections::{HashMap, HashSet};

use super::load::{CheckedModel, ClassifierParams, Flavor, ModelInfo, ScalerParams, Signature};
use super::pb::{
    AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto,
};
use super::wire::{Layout, Place, Text, by_size};
use crate::data::Classes;
use crate::error::excerpt;
use crate::onnx::graph::Precision;
use prost::Message;

/// Most nodes a graph may have (onnxify writes at most 9, scikit-learn's converter 4).
const MAX_NODES: usize = 16;
/// Most values in one attribute or tensor.
pub(super) const MAX_ELEMENTS: usize = 1 << 24;
/// Most input features.
const MAX_FEATURES: usize = 1 << 20;
/// Most classes.
const MAX_CLASSES: usize = 1 << 16;
/// Longest name of a node, tensor, attribute, domain or metadata key.
const MAX_NAME_BYTES: usize = 1024;
/// Longest string attribute value (a class name).
pub(super) const MAX_STRING_BYTES: usize = crate::data::records::MAX_LABEL_BYTES;
/// Longest metadata value or doc string.
pub(super) const MAX_TEXT_BYTES: usize = 4 << 20;
/// Most metadata entries, opset imports or value_info entries.
const MAX_ENTRIES: usize = 1024;
/// Most text in the whole file: every name, doc string, metadata entry and string value.
/// onnxify writes its feature names twice and its other text is a few kilobytes, so even a
/// model with the longest feature-name list the per-item limit admits stays under it.
pub(super) const MAX_TOTAL_TEXT_BYTES: usize = 16 << 20;
/// Most bytes in fields proto/onnx.proto does not declare (prost drops them unread). A
/// newer ONNX writer may add a few small fields; nothing onnxify reads is there.
pub(super) const MAX_UNKNOWN_BYTES: usize = 1024;

pub(super) const ML_DOMAIN: &str = "ai.onnx.ml";
/// Operator-set versions accepted: the default domain up to opset 22, ai.onnx.ml up to 5.
pub(super) const DEFAULT_OPSETS: std::ops::RangeInclusive<i64> = 1..=22;
pub(super) const ML_OPSETS: std::ops::RangeInclusive<i64> = 1..=5;
/// IR versions accepted (3 introduced typed attributes, 11 is opset 23's).
const IR_VERSIONS: std::ops::RangeInclusive<i64> = 3..=11;

/// Operators in the ai.onnx.ml domain that may appear.
pub(super) const ML_OPS: [&str; 4] = ["Scaler", "LinearClassifier", "Normalizer", "CategoryMapper"];
/// Operators in the default domain that may appear.
pub(super) const STANDARD_OPS: [&str; 9] =
    ["Sub", "Div", "Mul", "Cast", "MatMul", "Add", "Softmax", "ArgMax", "Gather"];

pub(super) type Check<T> = std::result::Result<T, String>;

pub(super) fn ensure(condition: bool, message: impl FnOnce() -> String) -> Check<()> {
    if condition { Ok(()) } else { Err(message()) }
}

pub(super) fn short(text: &str) -> String {
    excerpt(text)
}

/// Checks a decoded model; the message says which rule it breaks.
pub(super) fn check_model(model: &ModelProto, layout: &Layout) -> Check<CheckedModel> {
    ensure(model.functions.is_empty(), || {
        "it defines functions (code); onnxify refuses them".into()
    })?;
    ensure(model.training_info.is_empty(), || {
        "it carries training programs; onnxify refuses them".into()
    })?;
    check_totals(layout)?;
    let ir = model.ir_version();
    ensure(IR_VERSIONS.contains(&ir), || {
        format!("IR version {ir} is outside the supported {IR_VERSIONS:?}")
    })?;
    let opsets = check_opsets(model)?;
    check_text("the producer name", model.producer_name(), MAX_NAME_BYTES)?;
    check_text("the producer version", model.producer_version(), MAX_NAME_BYTES)?;
    check_text("the doc string", model.doc_string(), MAX_TEXT_BYTES)?;
    let metadata = check_metadata(model)?;

    let graph = model.graph.as_ref().ok_or("it has no graph")?;
    ensure(graph.sparse_initializer.is_empty(), || {
        "it has sparse initializers; onnxify refuses them".into()
    })?;
    ensure(graph.node.len() <= MAX_NODES, || {
        format!("it has {} nodes; onnxify's models have at most {MAX_NODES}", graph.node.len())
    })?;
    ensure(graph.initializer.len() <= MAX_NODES, || {
        format!("it has {} initializers", graph.initializer.len())
    })?;
    ensure(graph.value_info.len() <= MAX_ENTRIES, || "it has too many value_info entries".into())?;
    check_text("the graph doc string", graph.doc_string(), MAX_TEXT_BYTES)?;
    let mut constants = HashMap::new();
    for tensor in &graph.initializer {
        check_tensor(tensor)?;
        check_text("an initializer name", tensor.name(), MAX_NAME_BYTES)?;
        ensure(constants.insert(tensor.name(), tensor).is_none(), || {
            format!("the initializer {:?} is defined twice", short(tensor.name()))
        })?;
    }

    ensure(graph.input.len() == 1, || {
        format!("it has {} inputs; expected one", graph.input.len())
    })?;
    let input = signature(&graph.input[0])?;
    let (input_type, n_features) = check_input(&graph.input[0])?;
    ensure(graph.output.len() == 2, || {
        format!("it has {} outputs; expected two (labels and probabilities)", graph.output.len())
    })?;
    let outputs: Vec<Signature> = graph.output.iter().map(signature).collect::<Check<_>>()?;
    for place in &layout.text_places {
        check_place(place)?;
    }

    let defined: Vec<&str> = constants.keys().copied().chain([graph.input[0].name()]).collect();
    check_topology(&defined, &graph.node, &graph.output)?;
    for (index, node) in graph.node.iter().enumerate() {
        check_operator(index, node, &opsets)?;
    }
    let mut walk = Walk::new(&graph.node, &constants, n_features);
    let recognised = walk.graph(graph.input[0].name(), input_type)?;
    walk.all_used()?;

    let output_named = |name: &str| graph.output.iter().find(|o| o.name() == name);
    let (Some(label), Some(proba)) =
        (output_named(recognised.label_output), output_named(recognised.probability_output))
    else {
        return Err("its outputs are not the graph's labels and probabilities".into());
    };
    let label_type = if matches!(recognised.classes, Classes::Strings(_)) {
        DataType::String
    } else {
        DataType::Int64
    };
    check_output(label, label_type, 1, None)?;
    check_output(
        proba,
        recognised.probability_type.data_type(),
        2,
        Some(recognised.classes.len()),
    )?;

    let info = ModelInfo {
        ir_version: ir,
        producer_name: model.producer_name().to_owned(),
        producer_version: model.producer_version().to_owned(),
        doc_string: model.doc_string().to_owned(),
        opsets,
        input,
        outputs,
        nodes: graph
            .node
            .iter()
            .map(|n| (n.name().to_owned(), n.op_type().to_owned(), n.domain().to_owned()))
            .collect(),
        label_output: recognised.label_output.to_owned(),
        probability_output: recognised.probability_output.to_owned(),
        flavor: recognised.flavor,
        input_type,
        probability_type: recognised.probability_type,
        n_features,
        classes: recognised.classes,
        scaler: recognised.scaler,
        classifier: recognised.classifier,
        normalizer: recognised.normalizer,
        metadata,
        n_bytes: layout.total,
    };
    let strings = recognised.string_classifier.as_ref().map(|(i, names)| (*i, names.as_slice()));
    let tract_bytes = for_tract(model, strings, recognised.category_mapper).encode_to_vec();
    Ok(CheckedModel { info, tract_bytes })
}

/// Each imported domain known and once, its version within range.
fn check_opsets(model: &ModelProto) -> Check<Vec<(String, i64)>> {
    ensure(model.opset_import.len() <= MAX_ENTRIES, || "it imports too many operator sets".into())?;
    let mut seen: HashMap<&str, i64> = HashMap::new();
    for import in &model.opset_import {
        let domain = match import.domain() {
            "" | "ai.onnx" => "ai.onnx",
            ML_DOMAIN => ML_DOMAIN,
            other => {
                return Err(format!(
                    "it imports the operator set {:?}, which onnxify does not run",
                    short(other)
                ));
            }
        };
        let version = import.version();
        let range = if domain == ML_DOMAIN { ML_OPSETS } else { DEFAULT_OPSETS };
        ensure(range.contains(&version), || {
            format!("it imports {domain} version {version}, outside {range:?}")
        })?;
        if let Some(previous) = seen.insert(domain, version) {
            ensure(previous == version, || {
                format!("it imports {domain} twice, as versions {previous} and {version}")
            })?;
        }
    }
    let mut opsets: Vec<(String, i64)> = seen.into_iter().map(|(d, v)| (d.to_owned(), v)).collect();
    opsets.sort();
    Ok(opsets)
}

/// The node's operator is allowed in its domain, and that domain is imported.
fn check_operator(index: usize, node: &NodeProto, opsets: &[(String, i64)]) -> Check<()> {
    let who = node_label(index, node);
    let imported = |domain: &str| opsets.iter().any(|(d, _)| d == domain);
    let op = node.op_type();
    if op == "ZipMap" {
        return Err(format!(
            "{who} is a ZipMap, which tract cannot run; convert with scikit-learn's option zipmap=False"
        ));
    }
    let allowed = match node.domain() {
        ML_DOMAIN => ML_OPS.contains(&op) && imported(ML_DOMAIN),
        "" | "ai.onnx" => STANDARD_OPS.contains(&op) && imported("ai.onnx"),
        other => {
            return Err(format!(
                "{who} is in the domain {:?}; onnxify runs only {}",
                short(other),
                allowed_ops()
            ));
        }
    };
    ensure(allowed, || {
        format!("{who} is the operator {:?}; onnxify runs only {}", short(op), allowed_ops())
    })
}

fn allowed_ops() -> String {
    format!("{} (ai.onnx.ml) and {} (default domain)", ML_OPS.join(", "), STANDARD_OPS.join(", "))
}

/// Undeclared fields and text in total, from the wire walk: decoding dropped the one and the
/// other is spread over many places, so neither shows in the decoded model alone.
fn check_totals(layout: &Layout) -> Check<()> {
    ensure(layout.unknown <= MAX_UNKNOWN_BYTES, || {
        format!(
            "it holds {} bytes in fields the ONNX schema does not declare ({}); onnxify \
             accepts at most {MAX_UNKNOWN_BYTES}",
            layout.unknown,
            places(&layout.unknown_places)
        )
    })?;
    ensure(layout.text <= MAX_TOTAL_TEXT_BYTES, || {
        format!(
            "it holds {} bytes of text (names, doc strings, metadata, string values), more \
             than the limit of {MAX_TOTAL_TEXT_BYTES}: {}",
            layout.text,
            places(&layout.text_places)
        )
    })
}

/// The largest three places, for a one-line message.
pub(super) fn places(places: &[Place]) -> String {
    let sorted = by_size(places);
    let mut parts: Vec<String> = sorted.iter().take(3).map(|p| p.to_string()).collect();
    if sorted.len() > 3 {
        parts.push(format!("{} more places", sorted.len() - 3));
    }
    parts.join(", ")
}

/// The limit on one text item of a kind.
pub(super) fn text_limit(kind: Text) -> (usize, &'static str) {
    match kind {
        Text::Name => (MAX_NAME_BYTES, "names"),
        Text::Prose => (MAX_TEXT_BYTES, "doc strings and metadata values"),
        Text::Value => (MAX_STRING_BYTES, "string values"),
    }
}

/// Each text item within the limit of its kind, wherever it is (the checks above name the
/// places onnxify reads; this covers the ones it does not, such as a node's doc string).
fn check_place(place: &Place) -> Check<()> {
    let Some(kind) = place.text else { return Ok(()) };
    let (limit, what) = text_limit(kind);
    ensure(place.longest <= limit, || {
        format!(
            "{} holds {} bytes, more than the limit of {limit} for {what}",
            place.label, place.longest
        )
    })
}

fn check_text(what: &str, text: &str, limit: usize) -> Check<()> {
    ensure(text.len() <= limit, || {
        format!("{what} is {} bytes long, more than the limit of {limit}", text.len())
    })
}

fn check_metadata(model: &ModelProto) -> Check<Vec<(String, String)>> {
    ensure(model.metadata_props.len() <= MAX_ENTRIES, || {
        format!("it has {} metadata entries, more than {MAX_ENTRIES}", model.metadata_props.len())
    })?;
    model
        .metadata_props
        .iter()
        .map(|entry| {
            check_text("a metadata key", entry.key(), MAX_NAME_BYTES)?;
            check_text(
                &format!("metadata {:?}", short(entry.key())),
                entry.value(),
                MAX_TEXT_BYTES,
            )?;
            Ok((entry.key().to_owned(), entry.value().to_owned()))
        })
        .collect()
}

/// Element type names, as ONNX writes them.
pub(super) fn elem_type_name(code: i32) -> String {
    DataType::try_from(code)
        .map_or_else(|_| format!("unknown type {code}"), |t| t.as_str_name().to_owned())
}

fn tensor_type(value: &ValueInfoProto) -> Check<&type_proto::Tensor> {
    match value.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => Ok(t),
        None => Err(format!(
            "{:?} is not a tensor (sequences, maps and optionals are not supported)",
            short(value.name())
        )),
    }
}

pub(super) fn signature(value: &ValueInfoProto) -> Check<Signature> {
    check_text("a graph input or output name", value.name(), MAX_NAME_BYTES)?;
    let tensor = tensor_type(value)?;
    let dims = tensor.shape.as_ref().map_or_else(Vec::new, |shape| {
        shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(dimension::Value::DimValue(v)) => v.to_string(),
                Some(dimension::Value::DimParam(p)) => short(p),
                None => "?".into(),
            })
            .collect()
    });
    Ok(Signature {
        name: value.name().to_owned(),
        elem_type: elem_type_name(tensor.elem_type()),
        dims,
    })
}

/// The input: FLOAT or DOUBLE `[N, F]` with a free batch dimension; returns its precision and F.
fn check_input(input: &ValueInfoProto) -> Check<(Precision, usize)> {
    let name = short(input.name());
    let tensor = tensor_type(input)?;
    let precision = precision_of(tensor.elem_type()).ok_or_else(|| {
        format!("input {name:?} is {}, not FLOAT or DOUBLE", elem_type_name(tensor.elem_type()))
    })?;
    let dims = tensor.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or_default();
    ensure(dims.len() == 2, || {
        format!("input {name:?} has {} dimensions; expected [N, features]", dims.len())
    })?;
    // A fixed batch size would not hold for the batches onnxify runs; never trust it either.
    if let Some(dimension::Value::DimValue(n)) = dims[0].value {
        return Err(format!(
            "input {name:?} fixes the batch dimension to {n}; expected a free dimension"
        ));
    }
    match dims[1].value {
        Some(dimension::Value::DimValue(f)) if f >= 1 && f as u64 <= MAX_FEATURES as u64 => {
            Ok((precision, f as usize))
        }
        Some(dimension::Value::DimValue(f)) => {
            Err(format!("input {name:?} declares {f} features, outside 1..={MAX_FEATURES}"))
        }
        _ => Err(format!("input {name:?} does not declare its number of features")),
    }
}

fn precision_of(code: i32) -> Option<Precision> {
    match DataType::try_from(code).ok()? {
        DataType::Float => Some(Precision::Float32),
        DataType::Double => Some(Precision::Float64),
        _ => None,
    }
}

fn check_output(
    output: &ValueInfoProto,
    expected: DataType,
    rank: usize,
    columns: Option<usize>,
) -> Check<()> {
    let name = short(output.name());
    let tensor = tensor_type(output)?;
    ensure(tensor.elem_type() == expected as i32, || {
        format!(
            "output {name:?} is {}, expected {}",
            elem_type_name(tensor.elem_type()),
            expected.as_str_name()
        )
    })?;
    if let Some(shape) = &tensor.shape {
        ensure(shape.dim.len() == rank, || {
            format!("output {name:?} has {} dimensions, expected {rank}", shape.dim.len())
        })?;
        if let (Some(k), Some(dimension::Value::DimValue(declared))) =
            (columns, shape.dim.get(1).and_then(|d| d.value.clone()))
        {
            ensure(declared == k as i64, || {
                format!("output {name:?} declares {declared} columns for {k} classes")
            })?;
        }
    }
    Ok(())
}

/// Every node input is defined before use (no cycle, no self-loop, no undefined input), every
/// tensor is produced once, and every graph output is produced.
fn check_topology(inputs: &[&str], nodes: &[NodeProto], outputs: &[ValueInfoProto]) -> Check<()> {
    let mut defined: HashSet<&str> = inputs.iter().copied().collect();
    for (index, node) in nodes.iter().enumerate() {
        let who = node_label(index, node);
        check_text(&format!("the name of {who}"), node.name(), MAX_NAME_BYTES)?;
        for name in &node.input {
            ensure(defined.contains(name.as_str()), || {
                format!(
                    "{who} reads {:?} before anything defines it (a cycle or a missing tensor)",
                    short(name)
                )
            })?;
        }
        for name in &node.output {
            check_text("a tensor name", name, MAX_NAME_BYTES)?;
            ensure(!name.is_empty(), || format!("{who} has an unnamed output"))?;
            ensure(defined.insert(name.as_str()), || {
                format!("{who} defines {:?} a second time", short(name))
            })?;
        }
    }
    let mut seen = HashSet::new();
    for output in outputs {
        ensure(seen.insert(output.name()), || {
            format!("the output {:?} is declared twice", short(output.name()))
        })?;
        ensure(defined.contains(output.name()), || {
            format!("nothing produces the output {:?}", short(output.name()))
        })?;
    }
    Ok(())
}

pub(super) fn node_label(index: usize, node: &NodeProto) -> String {
    format!("node {} ({:?}, {})", index + 1, short(node.name()), short(node.op_type()))
}

/// What the walk recognised.
struct Recognised<'a> {
    flavor: Flavor,
    scaler: Option<ScalerParams>,
    classifier: ClassifierParams,
    normalizer: Option<String>,
    classes: Classes,
    probability_type: Precision,
    label_output: &'a str,
    probability_output: &'a str,
    /// A LinearClassifier with string labels, which tract needs rewritten: its index and labels.
    string_classifier: Option<(usize, Vec<String>)>,
    /// The index of the CategoryMapper naming the classes, if there is one.
    category_mapper: Option<usize>,
}

/// The inputs and outputs an operator of the allow-list takes and gives.
fn arity(op: &str) -> (usize, usize) {
    match op {
        "Sub" | "Div" | "Mul" | "MatMul" | "Add" | "Gather" => (2, 1),
        "LinearClassifier" => (1, 2),
        _ => (1, 1),
    }
}

/// The node has exactly the inputs and outputs of its operator, so that the walk can index
/// them.
fn check_arity(index: usize, node: &NodeProto) -> Check<()> {
    let (inputs, outputs) = arity(node.op_type());
    let count =
        |n: usize, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
    ensure(node.input.len() == inputs && node.output.len() == outputs, || {
        format!(
            "{} has {} and {}; {} takes {} and gives {}",
            node_label(index, node),
            count(node.input.len(), "input"),
            count(node.output.len(), "output"),
            short(node.op_type()),
            count(inputs, "input"),
            count(outputs, "output")
        )
    })
}

/// Matches the nodes from the input forward; every node and initializer must be used once.
struct Walk<'a> {
    nodes: &'a [NodeProto],
    constants: &'a HashMap<&'a str, &'a TensorProto>,
    consumers: HashMap<&'a str, Vec<usize>>,
    used_nodes: Vec<bool>,
    used_constants: HashSet<&'a str>,
    n_features: usize,
}

impl<'a> Walk<'a> {
    fn new(
        nodes: &'a [NodeProto],
        constants: &'a HashMap<&'a str, &'a TensorProto>,
        n_features: usize,
    ) -> Self {
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, node) in nodes.iter().enumerate() {
            for input in &node.input {
                consumers.entry(input.as_str()).or_default().push(index);
            }
        }
        Walk {
            nodes,
            constants,
            consumers,
            used_nodes: vec![false; nodes.len()],
            used_constants: HashSet::new(),
            n_features,
        }
    }

    /// The node reading `tensor`, if one does; refused if several do.
    fn reader(&self, tensor: &str) -> Check<Option<(usize, &'a NodeProto)>> {
        match self.consumers.get(tensor).map(Vec::as_slice).unwrap_or_default() {
            [] => Ok(None),
            [index] => Ok(Some((*index, &self.nodes[*index]))),
            _ => Err(format!("{:?} is read by several nodes", short(tensor))),
        }
    }

    /// The one node reading `tensor`, which must be an `op`.
    fn reader_of(&self, tensor: &str, op: &str) -> Check<(usize, &'a NodeProto)> {
        let (index, node) =
            self.reader(tensor)?.ok_or_else(|| format!("nothing reads {:?}", short(tensor)))?;
        ensure(node.op_type() == op, || {
            format!(
                "{} reads {:?} where a {op} was expected",
                node_label(index, node),
                short(tensor)
            )
        })?;
        Ok((index, node))
    }

    /// Takes the node reading `tensor`, which must be `op` with `tensor` as its first input
    /// and the operator's number of inputs and outputs.
    fn next(&mut self, tensor: &str, op: &str) -> Check<&'a NodeProto> {
        let (index, node) = self.reader_of(tensor, op)?;
        ensure(node.input.first().map(String::as_str) == Some(tensor), || {
            format!("{} takes {:?} in the wrong place", node_label(index, node), short(tensor))
        })?;
        self.take(index)?;
        Ok(node)
    }

    /// Marks a node as part of the match, once its inputs and outputs are counted.
    fn take(&mut self, index: usize) -> Check<()> {
        check_arity(index, &self.nodes[index])?;
        self.used_nodes[index] = true;
        Ok(())
    }

    /// A constant input: an initializer of the expected type and shape, marked as used.
    fn constant(&mut self, name: &str, what: &str) -> Check<&'a TensorProto> {
        let (&key, &tensor) = self
            .constants
            .get_key_value(name)
            .ok_or_else(|| format!("{what} {:?} is not a constant", short(name)))?;
        self.used_constants.insert(key);
        Ok(tensor)
    }

    /// A constant vector of `precision`: `len` values, or one value if `broadcast`.
    fn vector(
        &mut self,
        name: &str,
        what: &str,
        precision: Precision,
        len: usize,
        broadcast: bool,
    ) -> Check<Vec<f64>> {
        let tensor = self.constant(name, what)?;
        ensure(precision_of(tensor.data_type()) == Some(precision), || {
            format!(
                "{what} {:?} is {}, expected {}",
                short(name),
                elem_type_name(tensor.data_type()),
                precision.name()
            )
        })?;
        let count: usize = tensor.dims.iter().map(|&d| d as usize).product();
        ensure(tensor.dims.len() <= 1 && (count == len || (broadcast && count == 1)), || {
            format!("{what} {:?} has shape {:?}; expected [{len}]", short(name), tensor.dims)
        })?;
        finite_values(tensor, what)
    }

    fn graph(&mut self, input: &'a str, input_type: Precision) -> Check<Recognised<'a>> {
        let f = self.n_features;
        let mut x = input;
        let mut precision = input_type;
        let mut scaler = None;
        let first = self.reader(x)?.ok_or("nothing reads the input")?;
        // Node outputs and second inputs below are indexed after `next` checked their count.
        match first.1.op_type() {
            "Scaler" => {
                ensure(precision == Precision::Float32, || {
                    "the Scaler reads a DOUBLE input".into()
                })?;
                let node = self.next(x, "Scaler")?;
                scaler = Some(scaler_params(node, f)?);
                x = &node.output[0];
            }
            "Sub" => {
                let sub = self.next(x, "Sub")?;
                attributes(sub, &[])?;
                let offset = self.vector(&sub.input[1], "the offset", precision, f, true)?;
                let divide = match self.reader(&sub.output[0])?.map(|(_, n)| n.op_type()) {
                    Some("Div") => true,
                    Some("Mul") => false,
                    _ => {
                        return Err(
                            "the subtraction of the mean is not followed by Div or Mul".into()
                        );
                    }
                };
                let op = self.next(&sub.output[0], if divide { "Div" } else { "Mul" })?;
                attributes(op, &[])?;
                let scale = self.vector(&op.input[1], "the scale", precision, f, true)?;
                scaler = Some(ScalerParams { offset, scale, divides: divide });
                x = &op.output[0];
                if let Some((_, cast)) = self.reader(x)?
                    && cast.op_type() == "Cast"
                {
                    let cast = self.next(x, "Cast")?;
                    let attrs = attributes(
                        cast,
                        &[("to", AttributeType::Int), ("saturate", AttributeType::Int)],
                    )?;
                    let to = attrs.get("to").map(|a| a.i()).unwrap_or_default();
                    precision = i32::try_from(to).ok().and_then(precision_of).ok_or_else(|| {
                        format!("the Cast goes to type {to}, not FLOAT or DOUBLE")
                    })?;
                    x = &cast.output[0];
                }
            }
            _ => {}
        }
        let what = if scaler.is_some() { "the scaled input" } else { "the input" };
        let (index, node) = self.reader(x)?.ok_or_else(|| format!("nothing reads {what}"))?;
        let recognised = match node.op_type() {
            "LinearClassifier" => self.ml_classifier(x, index, scaler)?,
            "MatMul" => self.standard_classifier(x, precision, scaler)?,
            _ => {
                let expected = if scaler.is_some() {
                    "a LinearClassifier or MatMul"
                } else {
                    "a Scaler, Sub, LinearClassifier or MatMul"
                };
                return Err(format!(
                    "{} reads {what} where {expected} was expected (onnxify runs StandardScaler \
                     -> LogisticRegression pipelines)",
                    node_label(index, node)
                ));
            }
        };
        Ok(recognised)
    }

    fn ml_classifier(
        &mut self,
        x: &str,
        index: usize,
        scaler: Option<ScalerParams>,
    ) -> Check<Recognised<'a>> {
        let node = self.next(x, "LinearClassifier")?;
        let (classifier, labels) = classifier_params(node, self.n_features)?;
        let (mut label, mut proba) = (node.output[0].as_str(), node.output[1].as_str());
        let mut normalizer = None;
        if self.reader(proba)?.is_some() {
            let n = self.next(proba, "Normalizer")?;
            normalizer = Some(normalizer_norm(n)?);
            proba = &n.output[0];
        }
        let mut classes = labels.clone();
        let mut category_mapper = None;
        if let Some((mapper_index, _)) = self.reader(label)? {
            let mapper = self.next(label, "CategoryMapper")?;
            classes = map_labels(mapper, &labels)?;
            label = &mapper.output[0];
            category_mapper = Some(mapper_index);
        }
        let string_classifier = match labels {
            Classes::Strings(names) => Some((index, names)),
            Classes::Ints(_) => None,
        };
        Ok(Recognised {
            flavor: Flavor::Ml,
            scaler,
            classifier,
            normalizer,
            classes,
            probability_type: Precision::Float32,
            label_output: label,
            probability_output: proba,
            string_classifier,
            category_mapper,
        })
    }

    fn standard_classifier(
        &mut self,
        x: &str,
        precision: Precision,
        scaler: Option<ScalerParams>,
    ) -> Check<Recognised<'a>> {
        let f = self.n_features;
        let matmul = self.next(x, "MatMul")?;
        attributes(matmul, &[])?;
        let weights = self.constant(&matmul.input[1], "the coefficients")?;
        ensure(
            precision_of(weights.data_type()) == Some(precision)
                && weights.dims.len() == 2
                && weights.dims[0] as usize == f,
            || {
                format!(
                    "the coefficients have shape {:?} and type {}; expected [{f}, columns] of {}",
                    weights.dims,
                    elem_type_name(weights.data_type()),
                    precision.name()
                )
            },
        )?;
        let columns = weights.dims[1] as usize;
        ensure((2..=MAX_CLASSES).contains(&columns), || {
            format!("the coefficients have {columns} columns")
        })?;
        let weights = finite_values(weights, "the coefficients")?;
        let add = self.next(&matmul.output[0], "Add")?;
        attributes(add, &[])?;
        let intercepts = self.vector(&add.input[1], "the intercepts", precision, columns, false)?;
        let scores = add.output[0].as_str();
        let readers: Vec<usize> = self.consumers.get(scores).cloned().unwrap_or_default();
        ensure(readers.len() == 2, || {
            format!(
                "the scores are read by {} nodes; expected an activation and an ArgMax",
                readers.len()
            )
        })?;
        let (mut activation, mut argmax) = (None, None);
        for index in readers {
            let node = &self.nodes[index];
            match node.op_type() {
                "Softmax" => {
                    self.take(index)?;
                    let attrs = attributes(node, &[("axis", AttributeType::Int)])?;
                    let axis = attrs.get("axis").map_or(1, |a| a.i());
                    ensure(axis == 1 || axis == -1, || {
                        format!("the Softmax is over axis {axis}, not the classes")
                    })?;
                    activation = Some(("SOFTMAX", node));
                }
                "ArgMax" => {
                    self.take(index)?;
                    let attrs = attributes(
                        node,
                        &[
                            ("axis", AttributeType::Int),
                            ("keepdims", AttributeType::Int),
                            ("select_last_index", AttributeType::Int),
                        ],
                    )?;
                    let get = |name: &str, default: i64| attrs.get(name).map_or(default, |a| a.i());
                    ensure(
                        (get("axis", 0) == 1 || get("axis", 0) == -1)
                            && get("keepdims", 1) == 0
                            && get("select_last_index", 0) == 0,
                        || {
                            "the ArgMax must pick the first largest score per row (axis 1, keepdims 0)".into()
                        },
                    )?;
                    argmax = Some(node);
                }
                other => {
                    return Err(format!(
                        "{} ({:?}) reads the scores",
                        node_label(index, node),
                        short(other)
                    ));
                }
            }
        }
        let ((post_transform, activation), argmax) =
            activation.zip(argmax).ok_or("the scores need one activation and one ArgMax")?;
        let gather = self.next_argument(&argmax.output[0], "Gather")?;
        let attrs = attributes(gather, &[("axis", AttributeType::Int)])?;
        ensure(attrs.get("axis").map_or(0, |a| a.i()) == 0, || {
            "the Gather must read the class labels along axis 0".into()
        })?;
        let classes = self.labels(&gather.input[0])?;
        ensure(classes.len() == columns, || {
            format!("{} class labels for {columns} score columns", classes.len())
        })?;
        // Coefficients as rows (one per score column), as the LinearClassifier holds them.
        let rows: Vec<f64> = (0..columns)
            .flat_map(|c| (0..f).map(move |j| (c, j)))
            .map(|(c, j)| weights[j * columns + c])
            .collect();
        Ok(Recognised {
            flavor: Flavor::Standard,
            scaler,
            classifier: ClassifierParams {
                coefficients: rows,
                rows: columns,
                intercepts,
                post_transform: post_transform.into(),
                multi_class: i64::from(columns > 2),
            },
            normalizer: None,
            classes,
            probability_type: precision,
            label_output: &gather.output[0],
            probability_output: &activation.output[0],
            string_classifier: None,
            category_mapper: None,
        })
    }

    /// Takes the node reading `tensor` as its second input (Gather reads the labels first).
    fn next_argument(&mut self, tensor: &str, op: &str) -> Check<&'a NodeProto> {
        let (index, node) = self.reader_of(tensor, op)?;
        self.take(index)?; // so it has two inputs
        ensure(node.input[1] == tensor, || {
            format!("{} takes {:?} in the wrong place", node_label(index, node), short(tensor))
        })?;
        Ok(node)
    }

    /// The class labels of a Gather: a constant vector of INT64 or STRING, distinct.
    fn labels(&mut self, name: &str) -> Check<Classes> {
        let tensor = self.constant(name, "the class labels")?;
        ensure(tensor.dims.len() == 1, || {
            format!("the class labels have shape {:?}", tensor.dims)
        })?;
        let classes = match DataType::try_from(tensor.data_type()) {
            Ok(DataType::Int64) => Classes::Ints(match &tensor.raw_data {
                Some(raw) => raw
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
                None => tensor.int64_data.clone(),
            }),
            Ok(DataType::String) => Classes::Strings(
                tensor
                    .string_data
                    .iter()
                    .map(|s| {
                        ensure(s.len() <= MAX_STRING_BYTES, || {
                            format!("a class label is {} bytes long", s.len())
                        })?;
                        String::from_utf8(s.clone())
                            .map_err(|_| "a class label is not UTF-8".to_owned())
                    })
                    .collect::<Check<_>>()?,
            ),
            _ => {
                return Err(format!(
                    "the class labels are {}, not INT64 or STRING",
                    elem_type_name(tensor.data_type())
                ));
            }
        };
        ensure(distinct(&classes), || "the class labels list a class twice".into())?;
        Ok(classes)
    }

    /// Every node and initializer took part in the match.
    fn all_used(&self) -> Check<()> {
        if let Some(index) = self.used_nodes.iter().position(|used| !used) {
            return Err(format!(
                "{} is not part of a graph onnxify recognises",
                node_label(index, &self.nodes[index])
            ));
        }
        if let Some(name) = self.constants.keys().find(|k| !self.used_constants.contains(*k)) {
            return Err(format!(
                "the initializer {:?} is not used by a graph onnxify recognises",
                short(name)
            ));
        }
        Ok(())
    }
}

/// A float tensor's values as f64, all finite.
fn finite_values(tensor: &TensorProto, what: &str) -> Check<Vec<f64>> {
    let values: Vec<f64> = match (DataType::try_from(tensor.data_type()), &tensor.raw_data) {
        (Ok(DataType::Float), Some(raw)) => raw
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
            .collect(),
        (Ok(DataType::Double), Some(raw)) => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        (Ok(DataType::Float), None) => tensor.float_data.iter().map(|&v| f64::from(v)).collect(),
        (Ok(DataType::Double), None) => tensor.double_data.clone(),
        _ => {
            return Err(format!(
                "{what} are {}, not FLOAT or DOUBLE",
                elem_type_name(tensor.data_type())
            ));
        }
    };
    ensure(values.iter().all(|v| v.is_finite()), || format!("{what} hold NaN or infinite values"))?;
    Ok(values)
}

/// The attributes of a node, each checked: an allowed name, at most once, the expected type,
/// no subgraph or tensor value, lengths and string sizes within limits, finite floats.
fn attributes<'a>(
    node: &'a NodeProto,
    allowed: &[(&str, AttributeType)],
) -> Check<HashMap<&'a str, &'a AttributeProto>> {
    let who = format!("{} {:?}", short(node.op_type()), short(node.name()));
    let mut found = HashMap::new();
    for attribute in &node.attribute {
        let name = attribute.name();
        check_text("an attribute name", name, MAX_NAME_BYTES)?;
        let Some(&(_, expected)) = allowed.iter().find(|(n, _)| *n == name) else {
            return Err(format!(
                "{who} has the attribute {:?}, which its operator does not define",
                short(name)
            ));
        };
        ensure(found.insert(name, attribute).is_none(), || {
            format!("{who} sets the attribute {name:?} twice")
        })?;
        let smuggled = attribute.t.is_some()
            || attribute.g.is_some()
            || !attribute.tensors.is_empty()
            || !attribute.graphs.is_empty()
            || attribute.tp.is_some()
            || !attribute.type_protos.is_empty()
            || attribute.sparse_tensor.is_some()
            || !attribute.sparse_tensors.is_empty()
            || attribute.ref_attr_name.is_some();
        ensure(!smuggled, || {
            format!("{who}: attribute {name:?} holds a tensor, subgraph or reference; refused")
        })?;
        let present = [
            (AttributeType::Float, attribute.f.is_some()),
            (AttributeType::Int, attribute.i.is_some()),
            (AttributeType::String, attribute.s.is_some()),
            (AttributeType::Floats, !attribute.floats.is_empty()),
            (AttributeType::Ints, !attribute.ints.is_empty()),
            (AttributeType::Strings, !attribute.strings.is_empty()),
        ];
        let declared = attribute.r#type.map(|_| attribute.r#type());
        let wrong = present.iter().find(|(kind, set)| *set && *kind != expected);
        if let Some((kind, _)) = wrong {
            return Err(format!(
                "{who}: attribute {name:?} must be {}, found {}",
                expected.as_str_name(),
                kind.as_str_name()
            ));
        }
        if let Some(declared) = declared {
            ensure(declared == expected, || {
                format!(
                    "{who}: attribute {name:?} must be {}, declared {}",
                    expected.as_str_name(),
                    declared.as_str_name()
                )
            })?;
        }
        let length = attribute.floats.len().max(attribute.ints.len()).max(attribute.strings.len());
        ensure(length <= MAX_ELEMENTS, || {
            format!("{who}: attribute {name:?} has {length} values, more than {MAX_ELEMENTS}")
        })?;
        for s in attribute.strings.iter().chain(attribute.s.iter()) {
            ensure(s.len() <= MAX_STRING_BYTES, || {
                format!(
                    "{who}: attribute {name:?} holds a string of {} bytes, more than {MAX_STRING_BYTES}",
                    s.len()
                )
            })?;
            ensure(std::str::from_utf8(s).is_ok(), || {
                format!("{who}: attribute {name:?} holds invalid UTF-8")
            })?;
        }
        ensure(attribute.floats.iter().chain(attribute.f.iter()).all(|v| v.is_finite()), || {
            format!("{who}: attribute {name:?} holds NaN or infinite values")
        })?;
    }
    Ok(found)
}

fn distinct(classes: &Classes) -> bool {
    match classes {
        Classes::Ints(v) => v.iter().collect::<HashSet<_>>().len() == v.len(),
        Classes::Strings(v) => v.iter().collect::<HashSet<_>>().len() == v.len(),
    }
}

fn normalizer_norm(node: &NodeProto) -> Check<String> {
    let attrs = attributes(node, &[("norm", AttributeType::String)])?;
    let norm = text(&attrs, "norm").unwrap_or_else(|| "MAX".into());
    ensure(["MAX", "L1", "L2"].contains(&norm.as_str()), || {
        format!("the Normalizer's norm {:?} is unknown", short(&norm))
    })?;
    Ok(norm)
}

/// The class names a CategoryMapper gives the classifier's integer labels.
fn map_labels(node: &NodeProto, labels: &Classes) -> Check<Classes> {
    let attrs = attributes(
        node,
        &[
            ("cats_int64s", AttributeType::Ints),
            ("cats_strings", AttributeType::Strings),
            ("default_string", AttributeType::String),
            ("default_int64", AttributeType::Int),
        ],
    )?;
    let Classes::Ints(indices) = labels else {
        return Err("the CategoryMapper follows a LinearClassifier with string labels".into());
    };
    let keys = attrs.get("cats_int64s").map(|a| a.ints.as_slice()).unwrap_or_default();
    let names = attrs.get("cats_strings").map(|a| a.strings.as_slice()).unwrap_or_default();
    ensure(keys.len() == names.len(), || {
        format!("the CategoryMapper has {} keys and {} names", keys.len(), names.len())
    })?;
    let mapped: Vec<String> = indices
        .iter()
        .map(|label| {
            let at = keys
                .iter()
                .position(|k| k == label)
                .ok_or_else(|| format!("the CategoryMapper has no name for class {label}"))?;
            Ok(String::from_utf8_lossy(&names[at]).into_owned())
        })
        .collect::<Check<_>>()?;
    let classes = Classes::Strings(mapped);
    ensure(distinct(&classes), || "the CategoryMapper gives two classes the same name".into())?;
    Ok(classes)
}

/// Element count of a tensor with overflow checks, and its data consistent with it.
fn check_tensor(tensor: &TensorProto) -> Check<usize> {
    let name = short(tensor.name());
    ensure(tensor.external_data.is_empty() && tensor.data_location() == 0, || {
        format!(
            "tensor {name:?} keeps its data in another file (external data); onnxify refuses it"
        )
    })?;
    let mut count: usize = 1;
    for &d in &tensor.dims {
        ensure(d >= 0, || format!("tensor {name:?} has a negative dimension {d}"))?;
        count = usize::try_from(d)
            .ok()
            .and_then(|d| count.checked_mul(d))
            .ok_or_else(|| format!("tensor {name:?}: the product of its dimensions overflows"))?;
    }
    ensure(count <= MAX_ELEMENTS, || {
        format!("tensor {name:?} declares {count} values, more than {MAX_ELEMENTS}")
    })?;
    let kind = DataType::try_from(tensor.data_type())
        .map_err(|_| format!("tensor {name:?} has the unknown type {}", tensor.data_type()))?;
    let width = match kind {
        DataType::Float | DataType::Int32 | DataType::Uint32 => 4,
        DataType::Double | DataType::Int64 | DataType::Uint64 => 8,
        DataType::String => 0,
        other => {
            return Err(format!(
                "tensor {name:?} has the type {}, which onnxify does not use",
                other.as_str_name()
            ));
        }
    };
    // Only the field of its type holds values: numbers anywhere else would be data the
    // parameters do not account for.
    let fields = [
        ("raw_data", tensor.raw_data.is_some()),
        ("float_data", !tensor.float_data.is_empty()),
        ("double_data", !tensor.double_data.is_empty()),
        ("int32_data", !tensor.int32_data.is_empty()),
        ("int64_data", !tensor.int64_data.is_empty()),
        ("uint64_data", !tensor.uint64_data.is_empty()),
        ("string_data", !tensor.string_data.is_empty()),
    ];
    let expected = match kind {
        DataType::Float => "float_data",
        DataType::Double => "double_data",
        DataType::Int32 => "int32_data",
        DataType::Int64 => "int64_data",
        DataType::Uint32 | DataType::Uint64 => "uint64_data",
        _ => "string_data",
    };
    let used: Vec<&str> = fields.iter().filter(|(_, set)| *set).map(|(field, _)| *field).collect();
    ensure(matches!(used.as_slice(), [] | ["raw_data"]) || used == [expected], || {
        format!(
            "tensor {name:?} of type {} stores values in {}; expected {expected} or raw_data alone",
            kind.as_str_name(),
            used.join(" and ")
        )
    })?;
    if let Some(raw) = &tensor.raw_data {
        ensure(kind != DataType::String, || {
            format!("tensor {name:?} stores strings as raw bytes, which ONNX forbids")
        })?;
        ensure(raw.len() as u64 == count as u64 * width as u64, || {
            format!(
                "tensor {name:?} has {} bytes of data for {count} values of {width} bytes",
                raw.len()
            )
        })?;
    } else {
        let stored = match kind {
            DataType::Float => tensor.float_data.len(),
            DataType::Double => tensor.double_data.len(),
            DataType::Int64 => tensor.int64_data.len(),
            DataType::Int32 => tensor.int32_data.len(),
            DataType::Uint64 | DataType::Uint32 => tensor.uint64_data.len(),
            _ => tensor.string_data.len(),
        };
        ensure(stored == count, || {
            format!("tensor {name:?} has {stored} values for a shape of {count}")
        })?;
    }
    Ok(count)
}

/// The model as tract receives it: batch dimension named, string labels mapped by a
/// CategoryMapper, the file's CategoryMapper (at `mapper`) with its default written out,
/// nothing else changed.
fn for_tract(
    model: &ModelProto,
    strings: Option<(usize, &[String])>,
    mapper: Option<usize>,
) -> ModelProto {
    let mut model = model.clone();
    let graph = model.graph.as_mut().expect("checked");
    if let Some(index) = mapper {
        default_string(&mut graph.node[index]);
    }
    if let Some(type_proto::Value::TensorType(t)) =
        graph.input[0].r#type.as_mut().and_then(|t| t.value.as_mut())
        && let Some(shape) = t.shape.as_mut()
    {
        shape.dim[0].value = Some(dimension::Value::DimParam("N".into()));
    }
    if let Some((classifier_index, names)) = strings {
        let classifier = &mut graph.node[classifier_index];
        let label = std::mem::replace(&mut classifier.output[0], "onnxify_label_index".into());
        let k = names.len() as i64;
        for attribute in &mut classifier.attribute {
            if attribute.name() == "classlabels_strings" {
                *attribute = AttributeProto {
                    name: Some("classlabels_ints".into()),
                    r#type: Some(AttributeType::Ints as i32),
                    ints: (0..k).collect(),
                    ..Default::default()
                };
            }
        }
        graph.node.push(NodeProto {
            input: vec!["onnxify_label_index".into()],
            output: vec![label],
            name: Some("onnxify_label_names".into()),
            op_type: Some("CategoryMapper".into()),
            domain: Some(ML_DOMAIN.into()),
            attribute: vec![
                AttributeProto {
                    name: Some("cats_int64s".into()),
                    r#type: Some(AttributeType::Ints as i32),
                    ints: (0..k).collect(),
                    ..Default::default()
                },
                AttributeProto {
                    name: Some("cats_strings".into()),
                    r#type: Some(AttributeType::Strings as i32),
                    strings: names.iter().map(|n| n.as_bytes().to_vec()).collect(),
                    ..Default::default()
                },
                AttributeProto {
                    name: Some("default_string".into()),
                    r#type: Some(AttributeType::String as i32),
                    s: Some(Vec::new()),
                    ..Default::default()
                },
            ],
            doc_string: None,
        });
    }
    model
}

/// Gives a CategoryMapper from class indices to names exactly the default tract requires:
/// `default_string` (ONNX's default "_Unused" when the file leaves it out; every class has a
/// name, so it is never used) and no `default_int64`, which only the other direction reads.
fn default_string(mapper: &mut NodeProto) {
    mapper.attribute.retain(|a| a.name() != "default_int64");
    if !mapper.attribute.iter().any(|a| a.name() == "default_string") {
        mapper.attribute.push(AttributeProto {
            name: Some("default_string".into()),
            r#type: Some(AttributeType::String as i32),
            s: Some(b"_Unused".to_vec()),
            ..Default::default()
        });
    }
}

fn scaler_params(node: &NodeProto, n_features: usize) -> Check<ScalerParams> {
    let attrs =
        attributes(node, &[("offset", AttributeType::Floats), ("scale", AttributeType::Floats)])?;
    let param = |name: &str, default: f64| -> Check<Vec<f64>> {
        let values: Vec<f64> = floats(&attrs, name)
            .map_or_else(|| vec![default], |v| v.iter().map(|&x| f64::from(x)).collect());
        ensure(values.len() == 1 || values.len() == n_features, || {
            format!("the Scaler's {name} has {} values for {n_features} features", values.len())
        })?;
        Ok(values)
    };
    Ok(ScalerParams { offset: param("offset", 0.0)?, scale: param("scale", 1.0)?, divides: false })
}

/// The classifier's numbers and its class labels (integers, or strings before any mapping).
fn classifier_params(node: &NodeProto, n_features: usize) -> Check<(ClassifierParams, Classes)> {
    let attrs = attributes(
        node,
        &[
            ("coefficients", AttributeType::Floats),
            ("intercepts", AttributeType::Floats),
            ("classlabels_ints", AttributeType::Ints),
            ("classlabels_strings", AttributeType::Strings),
            ("multi_class", AttributeType::Int),
            ("post_transform", AttributeType::String),
        ],
    )?;
    let coefficients = floats(&attrs, "coefficients").unwrap_or_default();
    let intercepts = floats(&attrs, "intercepts").unwrap_or_default();
    ensure(!intercepts.is_empty(), || "the LinearClassifier has no intercepts".into())?;
    let rows = intercepts.len();
    let expected = rows.checked_mul(n_features).ok_or("the LinearClassifier's size overflows")?;
    ensure(coefficients.len() == expected, || {
        format!(
            "the LinearClassifier has {} coefficients for {rows} rows x {n_features} features (expected {expected})",
            coefficients.len()
        )
    })?;
    let ints = attrs.get("classlabels_ints").map(|a| a.ints.clone()).unwrap_or_default();
    let strings: Vec<String> = attrs
        .get("classlabels_strings")
        .map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
        .unwrap_or_default();
    let labels = match (ints.is_empty(), strings.is_empty()) {
        (false, true) => Classes::Ints(ints),
        (true, false) => Classes::Strings(strings),
        (true, true) => return Err("the LinearClassifier has no class labels".into()),
        (false, false) => {
            return Err("the LinearClassifier has both integer and string class labels".into());
        }
    };
    let k = labels.len();
    ensure((2..=MAX_CLASSES).contains(&k), || {
        format!("the LinearClassifier has {k} classes; expected 2 to {MAX_CLASSES}")
    })?;
    ensure(distinct(&labels), || "the LinearClassifier lists a class label twice".into())?;
    let post_transform = text(&attrs, "post_transform").unwrap_or_else(|| "NONE".into());
    ensure(["NONE", "LOGISTIC", "SOFTMAX"].contains(&post_transform.as_str()), || {
        format!(
            "the LinearClassifier's post_transform {:?} is not supported (NONE, LOGISTIC, SOFTMAX)",
            short(&post_transform)
        )
    })?;
    let multi_class = attrs.get("multi_class").map_or(0, |a| a.i());
    ensure(multi_class == 0 || multi_class == 1, || {
        format!("the LinearClassifier's multi_class is {multi_class}, not 0 or 1")
    })?;
    // One row for two classes is read differently by different runtimes unless it is
    // LOGISTIC with multi_class 0; any other count must give one row per class.
    let one_row_binary = rows == 1 && k == 2 && post_transform == "LOGISTIC" && multi_class == 0;
    ensure(rows == k || one_row_binary, || {
        format!("the LinearClassifier has {rows} coefficient rows for {k} classes")
    })?;
    let params = ClassifierParams {
        coefficients: coefficients.iter().map(|&v| f64::from(v)).collect(),
        rows,
        intercepts: intercepts.iter().map(|&v| f64::from(v)).collect(),
        post_transform,
        multi_class,
    };
    Ok((params, labels))
}

fn floats<'a>(attrs: &HashMap<&str, &'a AttributeProto>, name: &str) -> Option<&'a [f32]> {
    attrs.get(name).map(|a| a.floats.as_slice())
}

fn text(attrs: &HashMap<&str, &AttributeProto>, name: &str) -> Option<String> {
    attrs.get(name).map(|a| String::from_utf8_lossy(a.s()).into_owned())
}
