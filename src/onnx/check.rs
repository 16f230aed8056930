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
//! or, with the label by class thresholds (positive constants), the probabilities ->
//! Div -> ArgMax -> Gather instead of the classifier's label or the scores' ArgMax.
//!
//! Every node and initializer must take part in the match, with the expected number of inputs
//! and outputs, attributes, types and shapes, consistent class, coefficient and feature
//! counts, and finite numbers.

use std::collections::{HashMap, HashSet};

use super::graph::InputLayout;
use super::graph::Precision;
use super::limits::*;
use super::model::{ModelInfo, Signature, TableInfo};
use super::pb::{
    GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto, tensor_proto::DataType,
    tensor_shape_proto::dimension,
};
use super::readers::*;
use super::table_walk::{TableFront, TableInput};
use super::tract::Rewrite;
use super::walk::Walk;
use super::wire::{Layout, Place, by_size};
use crate::data::Classes;
use crate::model::CategoryKind;

/// Checks a decoded model; the message says which rule it breaks.
pub(super) fn check_model(model: &ModelProto, layout: &Layout) -> Check<(ModelInfo, Rewrite)> {
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

    ensure(!graph.input.is_empty() && graph.input.len() <= MAX_INPUTS, || {
        format!("it has {} inputs", graph.input.len())
    })?;
    let inputs: Vec<Signature> = graph.input.iter().map(signature).collect::<Check<_>>()?;
    let table = is_table(graph);
    let (input_type, n_features) = if table {
        (Precision::Float32, 0)
    } else {
        ensure(graph.input.len() == 1, || {
            format!("it has {} inputs; expected one", graph.input.len())
        })?;
        check_input(&graph.input[0])?
    };
    ensure(graph.output.len() == 2, || {
        format!("it has {} outputs; expected two (labels and probabilities)", graph.output.len())
    })?;
    let outputs: Vec<Signature> = graph.output.iter().map(signature).collect::<Check<_>>()?;
    for place in &layout.text_places {
        check_place(place)?;
    }

    let defined: Vec<&str> =
        constants.keys().copied().chain(graph.input.iter().map(|i| i.name())).collect();
    check_topology(&defined, &graph.node, &graph.output)?;
    for (index, node) in graph.node.iter().enumerate() {
        check_operator(index, node, &opsets)?;
    }
    let mut walk = Walk::new(&graph.node, &constants, n_features);
    let (recognised, input_type, n_features, table) = if table {
        let table_inputs =
            graph.input.iter().map(table_input).collect::<Check<Vec<TableInput>>>()?;
        let (front, recognised) = walk.table(&table_inputs)?;
        let info = table_info(front.clone(), &metadata)?;
        (recognised, front.numeric_type.unwrap_or(Precision::Float32), walk.n_features, Some(info))
    } else {
        (walk.graph(graph.input[0].name(), input_type)?, input_type, n_features, None)
    };
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
        inputs,
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
        thresholds: recognised.thresholds,
        table,
        metadata,
        n_bytes: layout.total,
    };
    let rewrite = Rewrite {
        string_classifier: recognised.string_classifier,
        category_mapper: recognised.category_mapper,
    };
    Ok((info, rewrite))
}

/// Whether the graph is a column pipeline's: several inputs, a text input, or a numeric input
/// gathered (Concat) or imputed (IsNaN) rather than scaled.
fn is_table(graph: &GraphProto) -> bool {
    if graph.input.len() != 1 {
        return true;
    }
    let input = &graph.input[0];
    let text = tensor_type(input).is_ok_and(|t| t.elem_type() == DataType::String as i32);
    text || graph.node.iter().any(|n| {
        matches!(n.op_type(), "Concat" | "IsNaN") && n.input.iter().any(|i| i == input.name())
    })
}

/// A table graph's input: FLOAT, DOUBLE, STRING or INT64 `[N, k]` with a free batch
/// dimension.
fn table_input(input: &ValueInfoProto) -> Check<TableInput<'_>> {
    let name = short(input.name());
    let tensor = tensor_type(input)?;
    let precision = precision_of(tensor.elem_type());
    let kind = if tensor.elem_type() == DataType::Int64 as i32 {
        CategoryKind::Integer
    } else {
        CategoryKind::Text
    };
    ensure(
        precision.is_some()
            || tensor.elem_type() == DataType::String as i32
            || kind == CategoryKind::Integer,
        || {
            format!(
                "input {name:?} is {}, not FLOAT, DOUBLE, STRING or INT64",
                elem_type_name(tensor.elem_type())
            )
        },
    )?;
    let dims = tensor.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or_default();
    ensure(dims.len() == 2, || {
        format!("input {name:?} has {} dimensions; expected 2", dims.len())
    })?;
    if let Some(dimension::Value::DimValue(n)) = dims[0].value {
        return Err(format!(
            "input {name:?} fixes the batch dimension to {n}; expected a free dimension"
        ));
    }
    let width = match dims[1].value {
        Some(dimension::Value::DimValue(k)) if k >= 1 && k as u64 <= MAX_FEATURES as u64 => {
            k as usize
        }
        _ => return Err(format!("input {name:?} does not declare a column count in range")),
    };
    Ok(TableInput { name: input.name(), precision, kind, width })
}

/// The table description of a recognised column pipeline; grouped inputs take their column
/// names from onnxify's `columns` metadata entry when it lists the right counts.
fn table_info(front: TableFront, metadata: &[(String, String)]) -> Check<TableInfo> {
    ensure(front.categories.len() <= MAX_TEXT_COLUMNS, || {
        format!("it has {} text columns, more than {MAX_TEXT_COLUMNS}", front.categories.len())
    })?;
    let (numeric, categorical) = match front.layout {
        InputLayout::Columns => (front.numeric, front.categorical),
        InputLayout::Grouped => {
            #[derive(serde::Deserialize)]
            struct Names {
                numeric: Vec<String>,
                categorical: Vec<String>,
            }
            let recorded = metadata
                .iter()
                .find(|(k, _)| k == "columns")
                .and_then(|(_, v)| serde_json::from_str::<Names>(v).ok())
                .filter(|n| {
                    n.numeric.len() == front.n_numeric
                        && n.categorical.len() == front.categories.len()
                });
            match recorded {
                Some(names) => (names.numeric, names.categorical),
                None => (
                    (0..front.n_numeric).map(|j| format!("numeric[{j}]")).collect(),
                    (0..front.categories.len()).map(|k| format!("categorical[{k}]")).collect(),
                ),
            }
        }
    };
    Ok(TableInfo {
        layout: front.layout,
        numeric,
        categorical,
        statistics: front.statistics,
        indicator_features: front.indicator_features,
        categories: front.categories,
        kinds: front.kinds,
        missing_text: front.missing_text,
    })
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
