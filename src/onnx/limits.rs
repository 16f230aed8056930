//! The limits every model file is held to (counts, sizes, text) and the operators, domains and
//! versions the allow-list admits. One place, so the check, the audit and the messages agree.

use super::wire::Text;

/// Most text columns a table's graph may take.
pub(super) const MAX_TEXT_COLUMNS: usize = 1024;

/// Most nodes a graph may have: onnxify writes at most 9 for a numeric matrix and about 12
/// plus 2 or 3 per text column for a table.
pub(super) const MAX_NODES: usize = 16 + 3 * MAX_TEXT_COLUMNS;

/// Most graph inputs (a table's graph takes one per column).
pub(super) const MAX_INPUTS: usize = 1 << 16;

/// Most values in one attribute or tensor.
pub(super) const MAX_ELEMENTS: usize = 1 << 24;

/// Most input features.
pub(super) const MAX_FEATURES: usize = 1 << 20;

/// Most classes.
pub(super) const MAX_CLASSES: usize = 1 << 16;

/// Longest name of a node, tensor, attribute, domain or metadata key.
pub(super) const MAX_NAME_BYTES: usize = 1024;

/// Longest string attribute value (a class name).
pub(super) const MAX_STRING_BYTES: usize = crate::util::MAX_LABEL_BYTES;

/// Longest metadata value or doc string.
pub(super) const MAX_TEXT_BYTES: usize = 4 << 20;

/// Most metadata entries, opset imports or value_info entries.
pub(super) const MAX_ENTRIES: usize = 1024;

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
pub(super) const IR_VERSIONS: std::ops::RangeInclusive<i64> = 3..=11;

/// Operators in the ai.onnx.ml domain that may appear.
pub(super) const ML_OPS: [&str; 6] =
    ["Scaler", "LinearClassifier", "Normalizer", "CategoryMapper", "OneHotEncoder", "Imputer"];

/// Operators in the default domain that may appear.
pub(super) const STANDARD_OPS: [&str; 18] = [
    "Sub", "Div", "Mul", "Cast", "MatMul", "Add", "Softmax", "ArgMax", "Gather", "Concat", "IsNaN",
    "Where", "Reshape", "Equal", "Abs", "Exp", "Log", "Min",
];

/// The limit on one text item of a kind.
pub(super) fn text_limit(kind: Text) -> (usize, &'static str) {
    match kind {
        Text::Name => (MAX_NAME_BYTES, "names"),
        Text::Prose => (MAX_TEXT_BYTES, "doc strings and metadata values"),
        Text::Value => (MAX_STRING_BYTES, "string values"),
    }
}
