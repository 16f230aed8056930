//! Reading ONNX files that may be hostile. Nothing reaches tract before it has passed here.
//!
//! Three stages, each refusing with one line that names the file and the rule broken:
//! 1. [`read`]: a regular file of at most [`MAX_FILE_BYTES`], read by value (so external data,
//!    which tract would read from other files, can never be followed).
//! 2. [`decode`]: protobuf decoding (prost; nesting limited to 100 levels, every length prefix
//!    checked against the bytes present).
//! 3. [`OnnxFile::check`]: the allow-list. The graph must be the shape onnxify and
//!    scikit-learn's converter write: `[Scaler] -> LinearClassifier [-> Normalizer]
//!    [-> CategoryMapper]` in the ai.onnx.ml domain, one float input `[N, F]`, a label and a
//!    probability output, no initializers, functions, subgraphs or external data, attributes of
//!    the expected names, types and lengths (element counts computed with overflow checks),
//!    finite numbers, known opsets, every tensor defined once and before use.
//!
//! A checked model is handed to tract as bytes re-encoded from the checked message, with two
//! normalisations that keep its meaning: the batch dimension gets a name (scikit-learn's
//! converter leaves it blank, which tract cannot type), and string class labels on the
//! LinearClassifier become integer labels followed by a CategoryMapper (tract cannot output
//! strings from a LinearClassifier).

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use prost::Message;

use super::pb::{
    AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto,
};
use crate::data::Classes;
use crate::error::{Error, Result, excerpt};

/// Largest model file read. onnxify's models are a few kilobytes per thousand features.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Most nodes a graph may have (onnxify writes at most 3, scikit-learn's converter 4).
const MAX_NODES: usize = 16;
/// Most values in one attribute or tensor.
const MAX_ELEMENTS: usize = 1 << 24;
/// Most input features.
const MAX_FEATURES: usize = 1 << 20;
/// Most classes.
const MAX_CLASSES: usize = 1 << 16;
/// Longest name of a node, tensor, attribute, domain or metadata key.
const MAX_NAME_BYTES: usize = 1024;
/// Longest string attribute value (a class name).
const MAX_STRING_BYTES: usize = crate::data::records::MAX_LABEL_BYTES;
/// Longest metadata value or doc string.
const MAX_TEXT_BYTES: usize = 4 << 20;
/// Most metadata entries, opset imports or value_info entries.
const MAX_ENTRIES: usize = 1024;

const ML_DOMAIN: &str = "ai.onnx.ml";
/// Operator-set versions accepted: the default domain up to opset 22, ai.onnx.ml up to 5.
const DEFAULT_OPSETS: std::ops::RangeInclusive<i64> = 1..=22;
const ML_OPSETS: std::ops::RangeInclusive<i64> = 1..=5;
/// IR versions accepted (3 introduced typed attributes, 11 is opset 23's).
const IR_VERSIONS: std::ops::RangeInclusive<i64> = 3..=11;

/// A decoded ONNX file, not yet checked.
#[derive(Debug, Clone)]
pub struct OnnxFile {
    name: String,
    bytes: Vec<u8>,
    model: ModelProto,
}

/// Reads and decodes `path`.
pub fn read(path: &Path) -> Result<OnnxFile> {
    let name = path.display().to_string();
    let unreadable = |message: String| Error::ModelUnreadable { file: name.clone(), message };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
    if !metadata.is_file() {
        return Err(unreadable("not a regular file".into()));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(unreadable(format!(
            "{} bytes, more than the limit of {MAX_FILE_BYTES}",
            metadata.len()
        )));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The limit holds even if the file grows while it is read.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(unreadable(format!("more than the limit of {MAX_FILE_BYTES} bytes")));
    }
    decode(&name, bytes)
}

/// Decodes model bytes; `name` names them in messages.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<OnnxFile> {
    let unreadable = |message: String| Error::ModelUnreadable { file: name.to_owned(), message };
    if bytes.is_empty() {
        return Err(unreadable("the file is empty".into()));
    }
    let model = ModelProto::decode(&bytes[..])
        .map_err(|e| unreadable(format!("it is not an ONNX protobuf message ({e})")))?;
    if model.graph.is_none() {
        return Err(unreadable("it has no graph (is it an ONNX model?)".into()));
    }
    Ok(OnnxFile { name: name.to_owned(), bytes, model })
}

/// An allow-listed model: what it computes, and the bytes to give tract.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedModel {
    pub info: ModelInfo,
    tract_bytes: Vec<u8>,
}

impl CheckedModel {
    /// The model as tract receives it (see the module documentation).
    pub fn tract_bytes(&self) -> &[u8] {
        &self.tract_bytes
    }
}

/// What a checked model computes and what its file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    /// (domain, version); the default domain is written "ai.onnx".
    pub opsets: Vec<(String, i64)>,
    pub input: Signature,
    pub outputs: Vec<Signature>,
    /// (name, op type, domain) of each node, in order.
    pub nodes: Vec<(String, String, String)>,
    /// Name of the label output.
    pub label_output: String,
    /// Name of the probability output.
    pub probability_output: String,
    pub n_features: usize,
    /// Class labels in probability-column order.
    pub classes: Classes,
    pub scaler: Option<ScalerParams>,
    pub classifier: ClassifierParams,
    /// The Normalizer's norm, when the graph has one.
    pub normalizer: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub n_bytes: usize,
}

/// A graph input or output: name, element type and dimensions as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub elem_type: String,
    pub dims: Vec<String>,
}

/// The Scaler's float32 attributes (length 1 or the feature count).
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerParams {
    pub offset: Vec<f32>,
    pub scale: Vec<f32>,
}

/// The LinearClassifier's float32 attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierParams {
    /// `rows x n_features`, row-major.
    pub coefficients: Vec<f32>,
    pub rows: usize,
    pub intercepts: Vec<f32>,
    pub post_transform: String,
    pub multi_class: i64,
}

impl ModelInfo {
    /// A metadata value.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Feature names recorded by onnxify, if present and one per input column.
    pub fn feature_names(&self) -> Option<Vec<String>> {
        let names: Vec<String> = serde_json::from_str(self.metadata("feature_names")?).ok()?;
        (names.len() == self.n_features).then_some(names)
    }
}

impl OnnxFile {
    /// The file's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Checks the model against the allow-list and limits.
    pub fn check(&self) -> Result<CheckedModel> {
        check_model(&self.model, self.bytes.len())
            .map_err(|message| Error::ModelRefused { file: self.name.clone(), message })
    }

    /// A description of whatever the file holds, checked or not, for `inspect`.
    pub fn describe(&self) -> Description {
        describe(&self.model, self.bytes.len())
    }

    /// Findings about the file, each rule checked on its own (the complete check is
    /// [`Self::check`]); for the reviewer's checklist and `inspect`.
    pub fn audit(&self) -> Audit {
        audit(&self.model)
    }
}

/// Values or bytes from which an item counts as large enough to hold data.
pub const DATA_SIZED: usize = 65_536;

/// What a file holds that a rule forbids, one list per rule; an empty list means it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Operators, domains and operator-set versions outside the allow-list.
    pub not_allowed: Vec<String>,
    /// External data, subgraphs, functions, training programs, sparse or tensor attributes.
    pub outside_the_graph: Vec<String>,
    /// Tensors, attributes and strings beyond the size limits.
    pub oversized: Vec<String>,
    /// Float values that are NaN or infinite.
    pub non_finite: Vec<String>,
    /// Items large enough to hold data (at least [`DATA_SIZED`] values or bytes).
    pub large: Vec<String>,
}

fn audit(model: &ModelProto) -> Audit {
    let mut audit = Audit::default();
    if !model.functions.is_empty() {
        audit.outside_the_graph.push(format!("{} functions", model.functions.len()));
    }
    if !model.training_info.is_empty() {
        audit.outside_the_graph.push(format!("{} training programs", model.training_info.len()));
    }
    for import in &model.opset_import {
        let (domain, version) = (import.domain(), import.version());
        let allowed = match domain {
            "" | "ai.onnx" => DEFAULT_OPSETS.contains(&version),
            ML_DOMAIN => ML_OPSETS.contains(&version),
            _ => false,
        };
        if !allowed {
            audit.not_allowed.push(format!("operator set {:?} version {version}", short(domain)));
        }
    }
    for entry in &model.metadata_props {
        if entry.value().len() > MAX_TEXT_BYTES {
            audit.oversized.push(format!(
                "metadata {:?} ({} bytes)",
                short(entry.key()),
                entry.value().len()
            ));
        } else if entry.value().len() >= DATA_SIZED {
            audit.large.push(format!(
                "metadata {:?} ({} bytes)",
                short(entry.key()),
                entry.value().len()
            ));
        }
    }
    let Some(graph) = &model.graph else { return audit };
    if !graph.sparse_initializer.is_empty() {
        audit
            .outside_the_graph
            .push(format!("{} sparse initializers", graph.sparse_initializer.len()));
    }
    for tensor in &graph.initializer {
        audit_tensor(&mut audit, &format!("initializer {:?}", short(tensor.name())), tensor);
    }
    for (index, node) in graph.node.iter().enumerate() {
        let who = node_label(index, node);
        let allowed = node.domain() == ML_DOMAIN
            && ["Scaler", "LinearClassifier", "Normalizer", "CategoryMapper"]
                .contains(&node.op_type());
        if !allowed {
            audit.not_allowed.push(format!("{who} in domain {:?}", short(node.domain())));
        }
        for attribute in &node.attribute {
            let what = format!("{who}, attribute {:?}", short(attribute.name()));
            if attribute.g.is_some() || !attribute.graphs.is_empty() {
                audit.outside_the_graph.push(format!("{what}: a subgraph"));
            }
            if attribute.sparse_tensor.is_some()
                || !attribute.sparse_tensors.is_empty()
                || attribute.ref_attr_name.is_some()
            {
                audit.outside_the_graph.push(format!("{what}: a sparse tensor or reference"));
            }
            for tensor in attribute.t.iter().chain(&attribute.tensors) {
                audit.outside_the_graph.push(format!("{what}: a tensor value"));
                audit_tensor(&mut audit, &what, tensor);
            }
            let count =
                attribute.floats.len().max(attribute.ints.len()).max(attribute.strings.len());
            let longest =
                attribute.strings.iter().chain(attribute.s.iter()).map(Vec::len).max().unwrap_or(0);
            if count > MAX_ELEMENTS || longest > MAX_STRING_BYTES {
                audit
                    .oversized
                    .push(format!("{what} ({count} values, longest string {longest} bytes)"));
            } else if count >= DATA_SIZED || longest >= DATA_SIZED {
                audit.large.push(format!("{what} ({count} values)"));
            }
            if attribute.floats.iter().chain(attribute.f.iter()).any(|v| !v.is_finite()) {
                audit.non_finite.push(what);
            }
        }
    }
    audit
}

fn audit_tensor(audit: &mut Audit, what: &str, tensor: &TensorProto) {
    if !tensor.external_data.is_empty() || tensor.data_location() != 0 {
        audit.outside_the_graph.push(format!("{what}: external data"));
    }
    let count = tensor
        .dims
        .iter()
        .try_fold(1usize, |c, &d| usize::try_from(d).ok().and_then(|d| c.checked_mul(d)));
    match count {
        Some(n) if n > MAX_ELEMENTS => audit.oversized.push(format!("{what} ({n} values)")),
        None => audit.oversized.push(format!("{what} (a negative or overflowing shape)")),
        Some(n) if n >= DATA_SIZED => audit.large.push(format!("{what} ({n} values)")),
        _ => {}
    }
    let raw_floats = || -> Vec<f64> {
        let raw = tensor.raw_data.as_deref().unwrap_or_default();
        match DataType::try_from(tensor.data_type()) {
            Ok(DataType::Float) => raw
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
            Ok(DataType::Double) => raw
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
            _ => Vec::new(),
        }
    };
    let finite = tensor.float_data.iter().all(|v| v.is_finite())
        && tensor.double_data.iter().all(|v| v.is_finite())
        && raw_floats().iter().all(|v| v.is_finite());
    if !finite {
        audit.non_finite.push(what.to_owned());
    }
}

type Check<T> = std::result::Result<T, String>;

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Check<()> {
    if condition { Ok(()) } else { Err(message()) }
}

fn short(text: &str) -> String {
    excerpt(text)
}

fn check_model(model: &ModelProto, n_bytes: usize) -> Check<CheckedModel> {
    ensure(model.functions.is_empty(), || {
        "it defines functions (code); onnxify refuses them".into()
    })?;
    ensure(model.training_info.is_empty(), || {
        "it carries training programs; onnxify refuses them".into()
    })?;
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
    ensure(graph.value_info.len() <= MAX_ENTRIES, || "it has too many value_info entries".into())?;
    check_text("the graph doc string", graph.doc_string(), MAX_TEXT_BYTES)?;
    for tensor in &graph.initializer {
        check_tensor(tensor)?;
    }
    if let Some(t) = graph.initializer.first() {
        return Err(format!(
            "it has an initializer ({:?}); the graphs onnxify runs hold their numbers in attributes",
            short(t.name())
        ));
    }

    ensure(graph.input.len() == 1, || {
        format!("it has {} inputs; expected one", graph.input.len())
    })?;
    let input = signature(&graph.input[0])?;
    let n_features = check_input(&graph.input[0])?;
    ensure(graph.output.len() == 2, || {
        format!("it has {} outputs; expected two (labels and probabilities)", graph.output.len())
    })?;
    let outputs: Vec<Signature> = graph.output.iter().map(signature).collect::<Check<_>>()?;

    check_topology(graph.input[0].name(), &graph.node, &graph.output)?;
    let mut chain = Chain::default();
    for (index, node) in graph.node.iter().enumerate() {
        chain.add(index, node)?;
    }
    let parts = chain.connect(graph.input[0].name())?;

    let scaler = parts.scaler.map(|node| scaler_params(node, n_features)).transpose()?;
    let (classifier, labels) = classifier_params(parts.classifier, n_features)?;
    let normalizer = parts.normalizer.map(normalizer_norm).transpose()?;
    let classes = match parts.mapper {
        Some(mapper) => map_labels(mapper, &labels)?,
        None => labels.clone(),
    };

    let (label_output, probability_output) =
        (parts.label_output.to_owned(), parts.probability_output.to_owned());
    let output_named =
        |name: &str| graph.output.iter().find(|o| o.name() == name).expect("checked by connect");
    let label_type =
        if matches!(classes, Classes::Strings(_)) { DataType::String } else { DataType::Int64 };
    check_output(output_named(&label_output), label_type, 1, None)?;
    check_output(output_named(&probability_output), DataType::Float, 2, Some(classes.len()))?;

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
        label_output,
        probability_output,
        n_features,
        classes,
        scaler,
        classifier,
        normalizer,
        metadata,
        n_bytes,
    };
    let tract_bytes = for_tract(model, parts.classifier_index, &labels).encode_to_vec();
    Ok(CheckedModel { info, tract_bytes })
}

fn check_text(what: &str, text: &str, limit: usize) -> Check<()> {
    ensure(text.len() <= limit, || {
        format!("{what} is {} bytes long, more than the limit of {limit}", text.len())
    })
}

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
    ensure(seen.contains_key(ML_DOMAIN), || {
        "it does not import the ai.onnx.ml operator set".into()
    })?;
    let mut opsets: Vec<(String, i64)> = seen.into_iter().map(|(d, v)| (d.to_owned(), v)).collect();
    opsets.sort();
    Ok(opsets)
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
fn elem_type_name(code: i32) -> String {
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

fn signature(value: &ValueInfoProto) -> Check<Signature> {
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

/// The input: float32 `[N, F]` (N free); returns F.
fn check_input(input: &ValueInfoProto) -> Check<usize> {
    let name = short(input.name());
    let tensor = tensor_type(input)?;
    ensure(tensor.elem_type() == DataType::Float as i32, || {
        format!("input {name:?} is {}, not FLOAT", elem_type_name(tensor.elem_type()))
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
            Ok(f as usize)
        }
        Some(dimension::Value::DimValue(f)) => {
            Err(format!("input {name:?} declares {f} features, outside 1..={MAX_FEATURES}"))
        }
        _ => Err(format!("input {name:?} does not declare its number of features")),
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
fn check_topology(input: &str, nodes: &[NodeProto], outputs: &[ValueInfoProto]) -> Check<()> {
    let mut defined: HashSet<&str> = HashSet::from([input]);
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

fn node_label(index: usize, node: &NodeProto) -> String {
    format!("node {} ({:?}, {})", index + 1, short(node.name()), short(node.op_type()))
}

/// The nodes of the allowed chain, found by op type.
#[derive(Default)]
struct Chain<'a> {
    scaler: Option<&'a NodeProto>,
    classifier: Option<(usize, &'a NodeProto)>,
    normalizer: Option<&'a NodeProto>,
    mapper: Option<&'a NodeProto>,
}

/// The chain connected from input to outputs.
struct Parts<'a> {
    scaler: Option<&'a NodeProto>,
    classifier: &'a NodeProto,
    classifier_index: usize,
    normalizer: Option<&'a NodeProto>,
    mapper: Option<&'a NodeProto>,
    label_output: &'a str,
    probability_output: &'a str,
}

const ALLOWED_OPS: &str = "Scaler, LinearClassifier, Normalizer and CategoryMapper (ai.onnx.ml)";

impl<'a> Chain<'a> {
    fn add(&mut self, index: usize, node: &'a NodeProto) -> Check<()> {
        let who = node_label(index, node);
        ensure(node.domain() == ML_DOMAIN, || {
            format!(
                "{who} is in the domain {:?}; onnxify runs only {ALLOWED_OPS}",
                short(node.domain())
            )
        })?;
        let (slot, inputs, outputs) = match node.op_type() {
            "Scaler" => (&mut self.scaler, 1, 1),
            "LinearClassifier" => {
                ensure(self.classifier.is_none(), || {
                    format!("{who} is a second LinearClassifier")
                })?;
                self.classifier = Some((index, node));
                return ensure(node.input.len() == 1 && node.output.len() == 2, || {
                    format!("{who} must have one input and two outputs")
                });
            }
            "Normalizer" => (&mut self.normalizer, 1, 1),
            "CategoryMapper" => (&mut self.mapper, 1, 1),
            "ZipMap" => {
                return Err(format!(
                    "{who} is a ZipMap, which tract cannot run; convert with scikit-learn's option zipmap=False"
                ));
            }
            other => {
                return Err(format!(
                    "{who} is the operator {:?}; onnxify runs only {ALLOWED_OPS}",
                    short(other)
                ));
            }
        };
        ensure(slot.is_none(), || format!("{who} is a second {}", node.op_type()))?;
        ensure(node.input.len() == inputs && node.output.len() == outputs, || {
            format!("{who} must have {inputs} input and {outputs} output")
        })?;
        *slot = Some(node);
        Ok(())
    }

    fn connect(self, input: &str) -> Check<Parts<'a>> {
        let (classifier_index, classifier) = self.classifier.ok_or("it has no LinearClassifier")?;
        let mut feed = input;
        if let Some(scaler) = self.scaler {
            ensure(scaler.input[0] == input, || "the Scaler does not read the graph input".into())?;
            feed = &scaler.output[0];
        }
        ensure(classifier.input[0] == feed, || {
            "the LinearClassifier does not read the (scaled) input".into()
        })?;
        let (mut label, mut proba) = (classifier.output[0].as_str(), classifier.output[1].as_str());
        if let Some(normalizer) = self.normalizer {
            ensure(normalizer.input[0] == proba, || {
                "the Normalizer does not read the classifier's scores".into()
            })?;
            proba = &normalizer.output[0];
        }
        if let Some(mapper) = self.mapper {
            ensure(mapper.input[0] == label, || {
                "the CategoryMapper does not read the classifier's labels".into()
            })?;
            label = &mapper.output[0];
        }
        Ok(Parts {
            scaler: self.scaler,
            classifier,
            classifier_index,
            normalizer: self.normalizer,
            mapper: self.mapper,
            label_output: label,
            probability_output: proba,
        })
    }
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

fn floats<'a>(attrs: &HashMap<&str, &'a AttributeProto>, name: &str) -> Option<&'a [f32]> {
    attrs.get(name).map(|a| a.floats.as_slice())
}

fn text(attrs: &HashMap<&str, &AttributeProto>, name: &str) -> Option<String> {
    attrs.get(name).map(|a| String::from_utf8_lossy(a.s()).into_owned())
}

fn scaler_params(node: &NodeProto, n_features: usize) -> Check<ScalerParams> {
    let attrs =
        attributes(node, &[("offset", AttributeType::Floats), ("scale", AttributeType::Floats)])?;
    let param = |name: &str, default: f32| -> Check<Vec<f32>> {
        let values = floats(&attrs, name).map_or_else(|| vec![default], <[f32]>::to_vec);
        ensure(values.len() == 1 || values.len() == n_features, || {
            format!("the Scaler's {name} has {} values for {n_features} features", values.len())
        })?;
        Ok(values)
    };
    Ok(ScalerParams { offset: param("offset", 0.0)?, scale: param("scale", 1.0)? })
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
        coefficients: coefficients.to_vec(),
        rows,
        intercepts: intercepts.to_vec(),
        post_transform,
        multi_class,
    };
    Ok((params, labels))
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
/// CategoryMapper, nothing else changed.
fn for_tract(model: &ModelProto, classifier_index: usize, labels: &Classes) -> ModelProto {
    let mut model = model.clone();
    let graph = model.graph.as_mut().expect("checked");
    if let Some(type_proto::Value::TensorType(t)) =
        graph.input[0].r#type.as_mut().and_then(|t| t.value.as_mut())
        && let Some(shape) = t.shape.as_mut()
    {
        shape.dim[0].value = Some(dimension::Value::DimParam("N".into()));
    }
    if let Classes::Strings(names) = labels {
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

/// Whatever a decoded file holds, for a person to read; strings are shortened.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub n_bytes: usize,
    pub ir_version: i64,
    pub producer: String,
    pub opsets: Vec<(String, i64)>,
    pub inputs: Vec<Signature>,
    pub outputs: Vec<Signature>,
    pub nodes: Vec<NodeDescription>,
    /// (name, element type, dimensions, value count) of each initializer.
    pub initializers: Vec<(String, String, Vec<i64>, usize)>,
    pub metadata: Vec<(String, String)>,
    pub functions: usize,
}

/// A node: (name, op type, domain) and, per attribute, its name, type and value count.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDescription {
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub attributes: Vec<(String, String, usize)>,
}

fn describe(model: &ModelProto, n_bytes: usize) -> Description {
    let graph = model.graph.clone().unwrap_or_default();
    let signature_of = |v: &ValueInfoProto| {
        signature(v).unwrap_or_else(|_| Signature {
            name: short(v.name()),
            elem_type: "not a tensor".into(),
            dims: vec![],
        })
    };
    Description {
        n_bytes,
        ir_version: model.ir_version(),
        producer: format!("{} {}", short(model.producer_name()), short(model.producer_version())),
        opsets: model.opset_import.iter().map(|o| (short(o.domain()), o.version())).collect(),
        inputs: graph.input.iter().map(signature_of).collect(),
        outputs: graph.output.iter().map(signature_of).collect(),
        nodes: graph
            .node
            .iter()
            .map(|n| NodeDescription {
                name: short(n.name()),
                op_type: short(n.op_type()),
                domain: short(n.domain()),
                attributes: n
                    .attribute
                    .iter()
                    .map(|a| {
                        let count = a.floats.len().max(a.ints.len()).max(a.strings.len()).max(1);
                        let count = a.s.as_ref().map_or(count, |s| s.len());
                        (short(a.name()), a.r#type().as_str_name().to_owned(), count)
                    })
                    .collect(),
            })
            .collect(),
        initializers: graph
            .initializer
            .iter()
            .map(|t| {
                let count = t.dims.iter().try_fold(1usize, |c, &d| {
                    usize::try_from(d).ok().and_then(|d| c.checked_mul(d))
                });
                (
                    short(t.name()),
                    elem_type_name(t.data_type()),
                    t.dims.clone(),
                    count.unwrap_or(usize::MAX),
                )
            })
            .collect(),
        metadata: model
            .metadata_props
            .iter()
            .map(|e| (short(e.key()), e.value().to_owned()))
            .collect(),
        functions: model.functions.len(),
    }
}
