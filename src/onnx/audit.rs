//! What a decoded file holds, rule by rule, for the reviewer's checklist and `inspect`: each
//! finding stands on its own (the complete allow-list check is [`super::check`]), and the
//! description covers files that fail the check too. [`room`] says which of a file's bytes
//! could hold data, from the wire walk's account of every byte.

use super::check::places;
use super::limits::{
    DEFAULT_OPSETS, MAX_ELEMENTS, MAX_STRING_BYTES, MAX_TEXT_BYTES, MAX_TOTAL_TEXT_BYTES,
    MAX_UNKNOWN_BYTES, ML_DOMAIN, ML_OPS, ML_OPSETS, STANDARD_OPS, text_limit,
};
use super::model::{ModelInfo, Signature};
use super::pb::{GraphProto, ModelProto, TensorProto, ValueInfoProto, tensor_proto::DataType};
use super::readers::{elem_type_name, node_label, short, signature};
use super::wire::{Layout, by_size};

/// Values or bytes from which an item counts as large enough to hold data.
pub const DATA_SIZED: usize = 65_536;

/// Text, beyond the model's own feature and class names, up to which onnxify states that no
/// training data is stored. Its models need a few kilobytes (names of nodes and tensors, doc
/// strings, the provenance record; held-out metrics grow with the square of the classes), so
/// this is room for the metrics of about a hundred classes, and far too little for a
/// training set of any size worth hiding.
pub const TEXT_ALLOWANCE: usize = 64 << 10;
/// Copies of each feature name a model may carry besides the allowance: onnxify writes them in
/// the metadata and in the graph doc string.
const FEATURE_NAME_COPIES: usize = 2;
/// Copies of each class label: the metadata, the graph doc string, the metrics and the
/// classifier (or the CategoryMapper naming its classes).
const CLASS_LABEL_COPIES: usize = 4;
/// Quoting and separators around each copy (`"name",` or `name, `).
const NAME_QUOTING: usize = 4;
/// Longest part of one name counted: a longer "name" is room for text, not a column's name.
const NAME_COUNTED: usize = 256;
/// Copies of each column name of a table's model: the graph input, the node reading it, the
/// graph and model doc strings, and the metadata's feature names and columns record.
const TABLE_COLUMN_NAME_COPIES: usize = 6;
/// Copies of each category: the encoder (or the categories' initializer) and the metadata's
/// columns record.
const CATEGORY_COPIES: usize = 2;
/// Categories of one column counted as fitted text; more are room for data (onnxify refuses a
/// column of more than 1000 distinct values unless told otherwise).
pub const CATEGORIES_COUNTED_PER_COLUMN: usize = 1000;
/// Category text counted in all, whatever the columns.
pub const CATEGORY_TEXT_COUNTED: usize = 1 << 20;

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
    /// The findings of `oversized` that are about text (which [`room`] reports by place).
    pub oversized_text: Vec<String>,
}

/// Text places with their own findings above, named by key or attribute.
const AUDITED_TEXT: [&str; 3] = ["metadata_props.value", "attribute.s", "attribute.strings"];

pub(super) fn audit(model: &ModelProto, layout: &Layout) -> Audit {
    let mut audit = Audit::default();
    if layout.unknown > MAX_UNKNOWN_BYTES {
        audit.outside_the_graph.push(format!(
            "{} bytes in fields the ONNX schema does not declare ({})",
            layout.unknown,
            places(&layout.unknown_places)
        ));
    }
    if layout.text > MAX_TOTAL_TEXT_BYTES {
        audit.oversized_text.push(format!(
            "text in total ({} bytes, more than {MAX_TOTAL_TEXT_BYTES}: {})",
            layout.text,
            places(&layout.text_places)
        ));
    }
    for place in &layout.text_places {
        let Some(kind) = place.text else { continue };
        let (limit, _) = text_limit(kind);
        if place.longest > limit && !AUDITED_TEXT.contains(&place.label.as_str()) {
            audit
                .oversized_text
                .push(format!("{} ({} bytes, more than {limit})", place.label, place.longest));
        }
    }
    audit.oversized.extend(audit.oversized_text.iter().cloned());
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
        let allowed = match node.domain() {
            ML_DOMAIN => ML_OPS.contains(&node.op_type()),
            "" | "ai.onnx" => STANDARD_OPS.contains(&node.op_type()),
            _ => false,
        };
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
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NodeDescription {
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub attributes: Vec<(String, String, usize)>,
}

pub(super) fn describe(model: &ModelProto, layout: &Layout) -> Description {
    let empty = GraphProto::default();
    let graph = model.graph.as_ref().unwrap_or(&empty);
    let signature_of = |v: &ValueInfoProto| {
        signature(v).unwrap_or_else(|_| Signature {
            name: short(v.name()),
            elem_type: "not a tensor".into(),
            dims: vec![],
        })
    };
    Description {
        n_bytes: layout.total,
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

/// Which bytes of a file could hold data, beyond the parameters of a recognised graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// Text in the whole file.
    pub text: usize,
    /// Text a recognised model may hold for copies of its feature names and class labels; 0
    /// for a graph onnxify does not recognise.
    pub names: usize,
    /// Bytes in fields the schema does not declare.
    pub unknown: usize,
    /// Bytes in fields declared only to be refused.
    pub refused: usize,
    /// Where the room is, largest first, when there is any.
    pub places: Vec<String>,
}

impl Room {
    /// Whether the text beyond the names is more than [`TEXT_ALLOWANCE`].
    pub fn text_over(&self) -> bool {
        self.text > self.names + TEXT_ALLOWANCE
    }

    /// Whether the text is within the allowance and nothing is in an undeclared or refused
    /// field: then nothing but the parameters could hold data.
    pub fn is_small(&self) -> bool {
        !self.text_over() && self.unknown == 0 && self.refused == 0
    }

    /// Bytes that could hold data: all text beyond the names when it is more than the
    /// allowance, and every undeclared or refused byte.
    pub fn bytes(&self) -> usize {
        let text = if self.text_over() { self.text - self.names } else { 0 };
        text + self.unknown + self.refused
    }
}

/// The room for data in a file: its text (less what `model`'s names account for, when the
/// graph was recognised), and its undeclared and refused fields.
pub fn room(layout: &Layout, model: Option<&ModelInfo>) -> Room {
    let names = model.map_or(0, names_allowance);
    let mut room = Room {
        text: layout.text,
        names,
        unknown: layout.unknown,
        refused: layout.refused,
        places: Vec::new(),
    };
    if room.is_small() {
        return room;
    }
    if room.text_over() {
        // The largest places, enough to show where most of the text is.
        let mut shown = 0;
        for place in by_size(&layout.text_places).into_iter().take(5) {
            if shown >= room.text / 10 * 9 {
                break;
            }
            shown += place.bytes;
            room.places.push(format!("text in {place}"));
        }
    }
    for place in by_size(&layout.unknown_places) {
        room.places.push(format!("undeclared field {place}"));
    }
    for place in by_size(&layout.refused_places) {
        room.places.push(format!("refused {place}"));
    }
    room
}

/// The text a recognised model's feature names and class labels may take, in as many copies
/// as onnxify writes of each.
fn names_allowance(model: &ModelInfo) -> usize {
    let size = |name: &str, copies: usize| copies * (name.len().min(NAME_COUNTED) + NAME_QUOTING);
    let features: usize = match &model.table {
        Some(table) => {
            let names: usize = table
                .numeric
                .iter()
                .chain(&table.categorical)
                .map(|n| size(n, TABLE_COLUMN_NAME_COPIES))
                .sum();
            let categories: usize = table
                .categories
                .iter()
                .flat_map(|c| c.iter().take(CATEGORIES_COUNTED_PER_COLUMN))
                .map(|c| size(c, CATEGORY_COPIES))
                .sum();
            names + categories.min(CATEGORY_TEXT_COUNTED)
        }
        None => {
            let features = model.feature_names().unwrap_or_default();
            features.iter().map(|n| size(n, FEATURE_NAME_COPIES)).sum()
        }
    };
    let classes: usize =
        (0..model.classes.len()).map(|c| size(&model.classes.name(c), CLASS_LABEL_COPIES)).sum();
    features + classes
}
