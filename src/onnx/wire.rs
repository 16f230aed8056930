//! A walk over the protobuf wire format of a model file before anything is decoded: it bounds
//! the work decoding will do, and it accounts for every byte of the file.
//!
//! prost decodes a whole message at once, and a hostile file can make that cost far more than
//! its size: each two-byte empty entry of a repeated message field becomes a Rust struct of a
//! few hundred bytes (a 16 MB file of empty nodes took 3.5 GB and 17 s before any limit was
//! checked). The walk follows a schema of the messages proto/onnx.proto declares, counts the
//! messages, the nesting depth and an estimate of the decoded size, and stops at the first
//! budget exceeded; it allocates nothing per field.
//!
//! On the way it sorts the bytes into numbers, text, fields declared only to be refused,
//! fields the schema does not declare (prost drops those silently, so only this walk sees
//! them) and protobuf structure, for the audit's account of what the file could hold.
//!
//! Malformed data is not diagnosed here: the walk stops and leaves the error to prost. The
//! walk accepts everything prost accepts (both packed and unpacked repeated numbers, groups in
//! undeclared fields), so prost fails at or before the point where the walk stopped, having
//! done no more work than the walk allowed up to there.

use std::mem::size_of;

use super::pb;

/// Most messages a file may hold. A file the check accepts has at most 16 nodes and 1024
/// entries in each list (metadata, operator sets, value_info), a few thousand messages at most;
/// each message costs up to a few hundred bytes decoded.
pub(super) const MAX_MESSAGES: usize = 1 << 16;
/// Largest estimated decoded size. Float parameters decode to at most twice their size on the
/// wire (8 bytes estimated per 4-byte value), so any file up to the 64 MiB cap made of float
/// parameters and text fits; two-byte empty messages and strings and one-byte packed integers,
/// which multiply eight- to a hundredfold, do not.
pub(super) const MAX_DECODED_BYTES: usize = 256 << 20;
/// Deepest nesting of messages. The deepest path onnxify reads is 7 levels (model, graph,
/// value_info, type, tensor_type, shape, dim); prost's own limit is 100.
pub(super) const MAX_DEPTH: usize = 16;

/// Estimated decoded cost of one repeated number: the value, rounded up, and the vector's
/// spare capacity.
const NUMBER_COST: usize = 8;
/// Estimated decoded cost of one string or byte string besides its bytes: the `String` and
/// allocator rounding.
const STRING_COST: usize = size_of::<String>() + 8;

/// What a text field holds, for the limits the check sets on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    /// An identifier: a name, key, domain, op type, producer, dimension name.
    Name,
    /// Free prose: doc strings and metadata values.
    Prose,
    /// A string value of an attribute or a tensor (a class label, a post-transform).
    Value,
}

/// The wire encoding of a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Varint,
    Fixed32,
    Fixed64,
}

impl Scalar {
    fn wire_type(self) -> u8 {
        match self {
            Scalar::Varint => VARINT,
            Scalar::Fixed32 => FIXED32,
            Scalar::Fixed64 => FIXED64,
        }
    }
}

// No Debug on the schema types: the schema is cyclic (a graph's nodes have attributes that
// may hold graphs), and a derived Debug would recurse without end.
#[derive(Clone, Copy)]
enum Kind {
    Message(&'static Schema),
    Text(Text),
    /// Values: attribute numbers and tensor data.
    Numbers(Scalar),
    /// Values as little-endian bytes (`raw_data`).
    RawNumbers,
    /// Numbers that describe the structure: versions, types, dimensions.
    Structure(Scalar),
    /// Byte strings declared only so that the check can see and refuse them.
    Refused,
}

struct Field {
    number: u32,
    name: &'static str,
    kind: Kind,
    repeated: bool,
}

/// A message: the size of its decoded Rust struct, and its declared fields.
struct Schema {
    size: usize,
    fields: &'static [Field],
}

const fn one(number: u32, name: &'static str, kind: Kind) -> Field {
    Field { number, name, kind, repeated: false }
}

const fn many(number: u32, name: &'static str, kind: Kind) -> Field {
    Field { number, name, kind, repeated: true }
}

use Kind::{Message, Numbers, RawNumbers, Refused, Structure};
use Scalar::{Fixed32, Fixed64, Varint};
const NAME: Kind = Kind::Text(Text::Name);
const PROSE: Kind = Kind::Text(Text::Prose);
const VALUE: Kind = Kind::Text(Text::Value);

/// The schema of proto/onnx.proto, field for field.
static MODEL: Schema = Schema {
    size: size_of::<pb::ModelProto>(),
    fields: &[
        one(1, "ir_version", Structure(Varint)),
        one(2, "producer_name", NAME),
        one(3, "producer_version", NAME),
        one(4, "domain", NAME),
        one(5, "model_version", Structure(Varint)),
        one(6, "doc_string", PROSE),
        one(7, "graph", Message(&GRAPH)),
        many(8, "opset_import", Message(&OPSET)),
        many(14, "metadata_props", Message(&ENTRY)),
        many(20, "training_info", Refused),
        many(25, "functions", Refused),
    ],
};

static OPSET: Schema = Schema {
    size: size_of::<pb::OperatorSetIdProto>(),
    fields: &[one(1, "domain", NAME), one(2, "version", Structure(Varint))],
};

static ENTRY: Schema = Schema {
    size: size_of::<pb::StringStringEntryProto>(),
    fields: &[one(1, "key", NAME), one(2, "value", PROSE)],
};

static GRAPH: Schema = Schema {
    size: size_of::<pb::GraphProto>(),
    fields: &[
        many(1, "node", Message(&NODE)),
        one(2, "name", NAME),
        many(5, "initializer", Message(&TENSOR)),
        one(10, "doc_string", PROSE),
        many(11, "input", Message(&VALUE_INFO)),
        many(12, "output", Message(&VALUE_INFO)),
        many(13, "value_info", Message(&VALUE_INFO)),
        many(15, "sparse_initializer", Refused),
    ],
};

static NODE: Schema = Schema {
    size: size_of::<pb::NodeProto>(),
    fields: &[
        many(1, "input", NAME),
        many(2, "output", NAME),
        one(3, "name", NAME),
        one(4, "op_type", NAME),
        many(5, "attribute", Message(&ATTRIBUTE)),
        one(6, "doc_string", PROSE),
        one(7, "domain", NAME),
    ],
};

static ATTRIBUTE: Schema = Schema {
    size: size_of::<pb::AttributeProto>(),
    fields: &[
        one(1, "name", NAME),
        one(2, "f", Numbers(Fixed32)),
        one(3, "i", Numbers(Varint)),
        one(4, "s", VALUE),
        one(5, "t", Message(&TENSOR)),
        one(6, "g", Message(&GRAPH)),
        many(7, "floats", Numbers(Fixed32)),
        many(8, "ints", Numbers(Varint)),
        many(9, "strings", VALUE),
        many(10, "tensors", Message(&TENSOR)),
        many(11, "graphs", Message(&GRAPH)),
        one(13, "doc_string", PROSE),
        one(14, "tp", Refused),
        many(15, "type_protos", Refused),
        one(20, "type", Structure(Varint)),
        one(21, "ref_attr_name", NAME),
        one(22, "sparse_tensor", Refused),
        many(23, "sparse_tensors", Refused),
    ],
};

static VALUE_INFO: Schema = Schema {
    size: size_of::<pb::ValueInfoProto>(),
    fields: &[one(1, "name", NAME), one(2, "type", Message(&TYPE)), one(3, "doc_string", PROSE)],
};

static TYPE: Schema = Schema {
    size: size_of::<pb::TypeProto>(),
    fields: &[one(1, "tensor_type", Message(&TENSOR_TYPE)), one(6, "denotation", NAME)],
};

static TENSOR_TYPE: Schema = Schema {
    size: size_of::<pb::type_proto::Tensor>(),
    fields: &[one(1, "elem_type", Structure(Varint)), one(2, "shape", Message(&SHAPE))],
};

static SHAPE: Schema = Schema {
    size: size_of::<pb::TensorShapeProto>(),
    fields: &[many(1, "dim", Message(&DIMENSION))],
};

static DIMENSION: Schema = Schema {
    size: size_of::<pb::tensor_shape_proto::Dimension>(),
    fields: &[
        one(1, "dim_value", Structure(Varint)),
        one(2, "dim_param", NAME),
        one(3, "denotation", NAME),
    ],
};

static TENSOR: Schema = Schema {
    size: size_of::<pb::TensorProto>(),
    fields: &[
        many(1, "dims", Structure(Varint)),
        one(2, "data_type", Structure(Varint)),
        many(4, "float_data", Numbers(Fixed32)),
        many(5, "int32_data", Numbers(Varint)),
        many(6, "string_data", VALUE),
        many(7, "int64_data", Numbers(Varint)),
        one(8, "name", NAME),
        one(9, "raw_data", RawNumbers),
        many(10, "double_data", Numbers(Fixed64)),
        many(11, "uint64_data", Numbers(Varint)),
        one(12, "doc_string", PROSE),
        many(13, "external_data", Message(&ENTRY)),
        one(14, "data_location", Structure(Varint)),
    ],
};

/// Where some of a file's bytes are: a field, named `parent.field` (`node.doc_string`,
/// `metadata_props.value`; `model.` for the top level), or for an undeclared field
/// `parent.number` (`graph.99`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub label: String,
    /// How many times the field occurs.
    pub items: usize,
    /// Bytes of content (for an undeclared field, with its tag and length).
    pub bytes: usize,
    /// The longest single occurrence.
    pub longest: usize,
    /// For text, what kind of text the field holds.
    pub(super) text: Option<Text>,
    /// Identifies the place: the addresses of the field it is in and of its own field (or, for
    /// an undeclared field, of its message's schema), and its number.
    key: (usize, usize, u32),
}

impl std::fmt::Display for Place {
    /// `label: 1234 bytes in 5 items`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.items == 1 { "" } else { "s" };
        write!(f, "{}: {} bytes in {} item{s}", self.label, self.bytes, self.items)
    }
}

/// `places`, largest first.
pub(super) fn by_size(places: &[Place]) -> Vec<&Place> {
    let mut sorted: Vec<&Place> = places.iter().collect();
    sorted.sort_by_key(|p| std::cmp::Reverse(p.bytes));
    sorted
}

/// Where every byte of a file is, and what decoding it would cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// The file's size; the sum of the five kinds below.
    pub total: usize,
    /// Numbers stored as values: attribute values and tensor data.
    pub numbers: usize,
    /// Text: every name, doc string, metadata key and value, string attribute and string tensor.
    pub text: usize,
    /// Fields declared only to be refused (functions, training programs, sparse tensors, ...).
    pub refused: usize,
    /// Fields proto/onnx.proto does not declare, with their tags.
    pub unknown: usize,
    /// Tags, lengths, and numbers that describe the structure (versions, types, dimensions).
    pub structure: usize,
    pub messages: usize,
    pub decoded_estimate: usize,
    pub depth: usize,
    /// Text, per field, in the order first seen.
    pub text_places: Vec<Place>,
    /// Undeclared fields, per message and number.
    pub unknown_places: Vec<Place>,
    /// Fields declared only to be refused.
    pub refused_places: Vec<Place>,
}

/// Why the walk stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stop {
    /// A budget was exceeded: the message says which and by what.
    OverBudget(String),
    /// The wire data is malformed at this offset; prost will say how.
    Malformed(usize),
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// Walks `bytes` as a ModelProto.
pub(super) fn walk(bytes: &[u8]) -> Result<Layout, Stop> {
    let mut walker = Walker { bytes, layout: Layout::default(), last_place: None };
    walker.enter(&MODEL, 1, ("file", "model"))?;
    walker.message(0, bytes.len(), &MODEL, 1, "model", 0)?;
    let mut layout = walker.layout;
    layout.total = bytes.len();
    layout.structure =
        layout.total - layout.numbers - layout.text - layout.refused - layout.unknown;
    Ok(layout)
}

struct Walker<'a> {
    bytes: &'a [u8],
    layout: Layout,
    /// The place last added to, which repeated fields hit again.
    last_place: Option<(Bucket, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Text,
    Refused,
    Unknown,
}

impl Walker<'_> {
    /// Counts one more message of `schema` at `depth`, in the field `at` (`parent.field`),
    /// within the budgets.
    fn enter(&mut self, schema: &Schema, depth: usize, at: (&str, &str)) -> Result<(), Stop> {
        let layout = &mut self.layout;
        layout.messages += 1;
        layout.depth = layout.depth.max(depth);
        if depth > MAX_DEPTH {
            return Err(Stop::OverBudget(format!(
                "its messages are nested more than {MAX_DEPTH} levels deep (onnxify's models \
                 nest 7)"
            )));
        }
        if layout.messages > MAX_MESSAGES {
            return Err(Stop::OverBudget(format!(
                "it holds more than {MAX_MESSAGES} protobuf messages (counting stopped in {}.{}); \
                 onnxify's models hold a few dozen",
                at.0, at.1
            )));
        }
        self.cost(schema.size)
    }

    fn cost(&mut self, bytes: usize) -> Result<(), Stop> {
        let layout = &mut self.layout;
        layout.decoded_estimate = layout.decoded_estimate.saturating_add(bytes);
        if layout.decoded_estimate > MAX_DECODED_BYTES {
            return Err(Stop::OverBudget(format!(
                "decoding it would take more than {MAX_DECODED_BYTES} bytes of memory \
                 (estimated from its {} messages and its strings and numbers)",
                layout.messages
            )));
        }
        Ok(())
    }

    /// Walks the fields of one `schema` message in `start..end`; `parent` names the field it
    /// is in, `parent_id` identifies that field.
    fn message(
        &mut self,
        start: usize,
        end: usize,
        schema: &'static Schema,
        depth: usize,
        parent: &'static str,
        parent_id: usize,
    ) -> Result<(), Stop> {
        let mut at = start;
        while at < end {
            let field_start = at;
            let key = self.varint(&mut at, end)?;
            let number = u32::try_from(key >> 3).map_err(|_| Stop::Malformed(field_start))?;
            let wire = (key & 7) as u8;
            if number == 0 {
                return Err(Stop::Malformed(field_start));
            }
            let Some(field) = schema.fields.iter().find(|f| f.number == number) else {
                self.skip(&mut at, end, wire, depth)?;
                let id = (parent_id, schema as *const Schema as usize, number);
                let label = || format!("{parent}.{number}");
                self.place(Bucket::Unknown, id, label, None, at - field_start);
                self.layout.unknown += at - field_start;
                continue;
            };
            let id = (parent_id, field as *const Field as usize, number);
            match (field.kind, wire) {
                (Message(inner), LEN) => {
                    let (from, to) = self.length_delimited(&mut at, end)?;
                    self.enter(inner, depth + 1, (parent, field.name))?;
                    self.message(from, to, inner, depth + 1, field.name, id.1)?;
                }
                (Kind::Text(kind), LEN) => {
                    let (from, to) = self.length_delimited(&mut at, end)?;
                    self.cost(STRING_COST + (to - from))?;
                    let label = || format!("{parent}.{}", field.name);
                    self.place(Bucket::Text, id, label, Some(kind), to - from);
                    self.layout.text += to - from;
                }
                (Refused, LEN) => {
                    let (from, to) = self.length_delimited(&mut at, end)?;
                    self.cost(STRING_COST + (to - from))?;
                    let label = || format!("{parent}.{}", field.name);
                    self.place(Bucket::Refused, id, label, None, to - from);
                    self.layout.refused += to - from;
                }
                (RawNumbers, LEN) => {
                    let (from, to) = self.length_delimited(&mut at, end)?;
                    self.cost(to - from)?;
                    self.layout.numbers += to - from;
                }
                (Numbers(scalar) | Structure(scalar), LEN) if field.repeated => {
                    let (from, to) = self.length_delimited(&mut at, end)?;
                    let count = match scalar {
                        Scalar::Varint => {
                            self.bytes[from..to].iter().filter(|&&b| b < 0x80).count()
                        }
                        Scalar::Fixed32 => (to - from) / 4,
                        Scalar::Fixed64 => (to - from) / 8,
                    };
                    self.cost(count.saturating_mul(NUMBER_COST))?;
                    self.number_bytes(field.kind, to - from);
                }
                (Numbers(scalar) | Structure(scalar), w) if w == scalar.wire_type() => {
                    let value_start = at;
                    self.skip(&mut at, end, w, depth)?;
                    if field.repeated {
                        self.cost(NUMBER_COST)?;
                    }
                    self.number_bytes(field.kind, at - value_start);
                }
                // A declared field with the wrong wire type: prost refuses it.
                _ => return Err(Stop::Malformed(field_start)),
            }
        }
        Ok(())
    }

    fn number_bytes(&mut self, kind: Kind, bytes: usize) {
        if let Numbers(_) = kind {
            self.layout.numbers += bytes;
        }
    }

    /// Adds an occurrence of `bytes` to the place `key` in `bucket`.
    fn place(
        &mut self,
        bucket: Bucket,
        key: (usize, usize, u32),
        label: impl FnOnce() -> String,
        text: Option<Text>,
        bytes: usize,
    ) {
        let places = match bucket {
            Bucket::Text => &mut self.layout.text_places,
            Bucket::Refused => &mut self.layout.refused_places,
            Bucket::Unknown => &mut self.layout.unknown_places,
        };
        // Repeated fields come one after another: try the place used last before searching.
        let cached = self
            .last_place
            .filter(|&(b, i)| b == bucket && places.get(i).is_some_and(|p| p.key == key))
            .map(|(_, i)| i);
        let index = match cached.or_else(|| places.iter().position(|p| p.key == key)) {
            Some(index) => index,
            None => {
                places.push(Place { label: label(), items: 0, bytes: 0, longest: 0, text, key });
                places.len() - 1
            }
        };
        let place = &mut places[index];
        place.items += 1;
        place.bytes += bytes;
        place.longest = place.longest.max(bytes);
        self.last_place = Some((bucket, index));
    }

    /// Reads a varint at `at`; prost accepts up to ten bytes.
    fn varint(&self, at: &mut usize, end: usize) -> Result<u64, Stop> {
        let start = *at;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let &byte = self.bytes[..end].get(*at).ok_or(Stop::Malformed(start))?;
            *at += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Stop::Malformed(start))
    }

    /// Reads a length prefix at `at` and returns the range it delimits, which must fit.
    fn length_delimited(&self, at: &mut usize, end: usize) -> Result<(usize, usize), Stop> {
        let start = *at;
        let length = self.varint(at, end)?;
        let from = *at;
        let to = usize::try_from(length)
            .ok()
            .and_then(|l| from.checked_add(l))
            .filter(|&to| to <= end)
            .ok_or(Stop::Malformed(start))?;
        *at = to;
        Ok((from, to))
    }

    /// Skips a value of wire type `wire` at `at`, groups included (as prost skips them).
    fn skip(&mut self, at: &mut usize, end: usize, wire: u8, depth: usize) -> Result<(), Stop> {
        let start = *at;
        match wire {
            VARINT => {
                self.varint(at, end)?;
            }
            FIXED64 | FIXED32 => {
                let width = if wire == FIXED64 { 8 } else { 4 };
                if end - *at < width {
                    return Err(Stop::Malformed(start));
                }
                *at += width;
            }
            LEN => {
                self.length_delimited(at, end)?;
            }
            START_GROUP => {
                // Fields up to the matching end-group tag; nested groups count as nesting.
                let mut open = 1usize;
                while open > 0 {
                    if depth + open > MAX_DEPTH {
                        return Err(Stop::OverBudget(format!(
                            "its fields are nested more than {MAX_DEPTH} levels deep"
                        )));
                    }
                    let key = self.varint(at, end)?;
                    match (key & 7) as u8 {
                        START_GROUP => open += 1,
                        END_GROUP => open -= 1,
                        inner => self.skip(at, end, inner, depth + open)?,
                    }
                }
            }
            _ => return Err(Stop::Malformed(start)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::onnx::pb::{
        AttributeProto, GraphProto, ModelProto, NodeProto, StringStringEntryProto, TensorProto,
    };

    fn key(number: u32, wire: u8) -> Vec<u8> {
        varint(u64::from(number) << 3 | u64::from(wire))
    }

    fn varint(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn field(number: u32, payload: &[u8]) -> Vec<u8> {
        [key(number, LEN), varint(payload.len() as u64), payload.to_vec()].concat()
    }

    fn sample() -> ModelProto {
        let attribute = |name: &str, floats: Vec<f32>| AttributeProto {
            name: Some(name.into()),
            floats,
            ..Default::default()
        };
        ModelProto {
            ir_version: Some(8),
            producer_name: Some("onnxify".into()),
            doc_string: Some("a model".into()),
            graph: Some(GraphProto {
                name: Some("g".into()),
                node: vec![NodeProto {
                    input: vec!["input".into()],
                    output: vec!["scaled".into()],
                    op_type: Some("Scaler".into()),
                    attribute: vec![
                        attribute("offset", vec![0.5; 4]),
                        attribute("scale", vec![2.0; 4]),
                    ],
                    ..Default::default()
                }],
                initializer: vec![TensorProto {
                    dims: vec![3],
                    data_type: Some(7),
                    int64_data: vec![0, 1, 2],
                    name: Some("classes".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            metadata_props: vec![StringStringEntryProto {
                key: Some("k".into()),
                value: Some("value".into()),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn every_byte_of_a_model_is_accounted_for() {
        let bytes = sample().encode_to_vec();
        let layout = walk(&bytes).unwrap();
        assert_eq!(layout.total, bytes.len());
        let text = ["onnxify", "a model", "g", "input", "scaled", "Scaler", "offset", "scale"]
            .iter()
            .chain(&["classes", "k", "value"])
            .map(|s| s.len())
            .sum::<usize>();
        assert_eq!(layout.text, text);
        // 8 floats unpacked (4 bytes each) and three one-byte int64 values, packed.
        assert_eq!(layout.numbers, 8 * 4 + 3);
        assert_eq!((layout.unknown, layout.refused), (0, 0));
        assert_eq!(
            layout.structure,
            bytes.len() - layout.text - layout.numbers,
            "tags, lengths, ir_version, dims and data_type"
        );
        assert_eq!(layout.messages, 7, "model, graph, node, 2 attributes, tensor, entry");
        let labels: Vec<&str> = layout.text_places.iter().map(|p| p.label.as_str()).collect();
        assert!(labels.contains(&"node.input") && labels.contains(&"metadata_props.value"));
    }

    #[test]
    fn undeclared_fields_are_measured_where_they_are() {
        let mut model = sample();
        model.graph.as_mut().unwrap().doc_string = None;
        let mut graph = model.graph.take().unwrap().encode_to_vec();
        let smuggled = field(99, &[b'x'; 300]);
        graph.extend(&smuggled);
        let bytes = [model.encode_to_vec(), field(7, &graph), key(100, VARINT), vec![5]].concat();
        let layout = walk(&bytes).unwrap();
        assert_eq!(layout.unknown, smuggled.len() + 3);
        let places: Vec<(&str, usize)> =
            layout.unknown_places.iter().map(|p| (p.label.as_str(), p.bytes)).collect();
        assert_eq!(places, [("graph.99", smuggled.len()), ("model.100", 3)]);
        // prost reads the same file, dropping what the walk measured.
        assert!(ModelProto::decode(&bytes[..]).is_ok());
    }

    #[test]
    fn many_empty_messages_are_refused_before_decoding() {
        let nodes: Vec<u8> = (0..MAX_MESSAGES).flat_map(|_| field(1, &[])).collect();
        let Stop::OverBudget(message) = walk(&field(7, &nodes)).unwrap_err() else { panic!() };
        assert!(message.contains("more than 65536 protobuf messages"), "{message}");
        assert!(message.contains("graph.node"), "{message}");
        // One fewer fits: the model and graph messages count too.
        let nodes: Vec<u8> = (0..MAX_MESSAGES - 2).flat_map(|_| field(1, &[])).collect();
        assert_eq!(walk(&field(7, &nodes)).unwrap().messages, MAX_MESSAGES);
    }

    #[test]
    fn many_empty_strings_are_refused_by_the_size_estimate() {
        let count = MAX_DECODED_BYTES / STRING_COST + 1;
        let inputs: Vec<u8> = (0..count).flat_map(|_| field(1, &[])).collect();
        let stop = walk(&field(7, &field(1, &inputs))).unwrap_err();
        assert!(matches!(&stop, Stop::OverBudget(m) if m.contains("bytes of memory")), "{stop:?}");
    }

    #[test]
    fn packed_numbers_are_estimated_per_value() {
        // int64_data, packed: one byte per zero.
        let count = MAX_DECODED_BYTES / NUMBER_COST + 1;
        let tensor = field(7, &vec![0; count]);
        let stop = walk(&field(7, &field(5, &tensor))).unwrap_err();
        assert!(matches!(stop, Stop::OverBudget(_)), "{stop:?}");
        let small = field(7, &field(5, &field(7, &[0; 1000])));
        let layout = walk(&small).unwrap();
        assert_eq!(layout.numbers, 1000);
        assert_eq!(
            ModelProto::decode(&small[..]).unwrap().graph.unwrap().initializer[0].int64_data.len(),
            1000
        );
    }

    #[test]
    fn nesting_is_limited_in_messages_and_in_groups() {
        let mut nested = Vec::new();
        for _ in 0..6 {
            nested = field(1, &field(5, &field(6, &nested)));
        }
        let stop = walk(&field(7, &nested)).unwrap_err();
        assert!(matches!(&stop, Stop::OverBudget(m) if m.contains("nested")), "{stop:?}");
        let groups = [key(99, START_GROUP).repeat(40), key(99, END_GROUP).repeat(40)].concat();
        let stop = walk(&groups).unwrap_err();
        assert!(matches!(&stop, Stop::OverBudget(m) if m.contains("nested")), "{stop:?}");
        // A shallow group is an undeclared field, skipped as prost skips it.
        let shallow = [key(99, START_GROUP), key(1, VARINT), vec![1], key(99, END_GROUP)].concat();
        assert_eq!(walk(&shallow).unwrap().unknown, shallow.len());
        assert!(ModelProto::decode(&shallow[..]).is_ok());
    }

    /// The walk must accept whatever prost accepts: if it stopped on data prost decodes, prost
    /// could do unbounded work past that point.
    #[test]
    fn the_walk_stops_on_malformed_data_only_where_prost_fails() {
        let good = sample().encode_to_vec();
        let mut rng = crate::util::SplitMix64::new(0x2545_F491_4F6C_DD1D);
        let mut next = || rng.next_u64();
        let mut malformed = 0;
        for _ in 0..20_000 {
            let mut bytes = good.clone();
            for _ in 0..=next() % 3 {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            bytes.truncate(bytes.len() - (next() % 4) as usize);
            if let Err(Stop::Malformed(at)) = walk(&bytes) {
                malformed += 1;
                assert!(
                    ModelProto::decode(&bytes[..]).is_err(),
                    "prost decodes what the walk stopped on at {at}: {bytes:?}"
                );
            }
        }
        assert!(malformed > 1000, "only {malformed} malformed mutations");
    }
}
