//! The checklist's lines about the graph itself: the operators it uses, that it is node for node
//! the graph onnxify writes for the flavor it records, and that it has no room for training data.

use ndarray::Array2;

use crate::data::Classes;
use crate::model::{
    Category, ColumnPipeline, Decision, FittedLogisticRegression, FittedOneHotEncoder,
    FittedSimpleImputer, FittedStandardScaler, ImputeStrategy, Link, Pipeline,
};
use crate::onnx::load::{self, OnnxFile};
use crate::onnx::{
    self, GraphOptions, GraphRecord, GraphSpec, Ops, SUPPORTED_OPSETS, TEXT_ALLOWANCE, model_bytes,
};
use crate::onnx::{
    InputLayout, ModelInfo, TableGraphSpec, TableInfo, table_model_bytes, table_options,
};

/// The same account `inspect` gives: text within the allowance beyond the model's names, and
/// nothing in fields the schema does not declare.
pub(super) fn room_for_data(
    file: &OnnxFile,
    info: &ModelInfo,
) -> std::result::Result<String, String> {
    let room = onnx::room(file.layout(), Some(info));
    if room.is_small() {
        Ok(format!(
            "{} bytes of text, within the {} bytes the names and {TEXT_ALLOWANCE} more allow; no undeclared fields",
            room.text, room.names
        ))
    } else {
        Err(format!("{} bytes could hold data: {}", room.bytes(), room.places.join("; ")))
    }
}

/// The operators of a checked model, each run of one domain with its domain, and its opsets:
/// `Scaler, LinearClassifier (ai.onnx.ml); opsets ai.onnx 17, ai.onnx.ml 1`.
pub(super) fn operators(info: &ModelInfo) -> String {
    let domain_name = |d: &str| if d.is_empty() { "ai.onnx".to_owned() } else { d.to_owned() };
    let mut runs: Vec<(String, Vec<&str>)> = Vec::new();
    for (_, op, domain) in &info.nodes {
        let domain = domain_name(domain);
        match runs.last_mut() {
            Some((last, ops)) if *last == domain => ops.push(op),
            _ => runs.push((domain, vec![op])),
        }
    }
    let ops: Vec<String> =
        runs.iter().map(|(domain, ops)| format!("{} ({domain})", ops.join(", "))).collect();
    format!("{}; opsets {}", ops.join(", "), opset_list(&info.opsets))
}

fn opset_list(opsets: &[(String, i64)]) -> String {
    opsets.iter().map(|(d, v)| format!("{d} {v}")).collect::<Vec<_>>().join(", ")
}

/// The graph onnxify writes for the flavor the model records (metadata `graph`: operators,
/// input and arithmetic precision) at the model's opset: the file must have exactly its nodes,
/// opset imports and IR version. This is narrower than the allow-list, which also admits what
/// other converters write, for `predict`.
pub(super) fn as_written(info: &ModelInfo) -> std::result::Result<String, String> {
    let recorded =
        info.metadata("graph").ok_or("the model records no graph flavor (metadata \"graph\")")?;
    let graph: GraphRecord = serde_json::from_str(recorded).map_err(|e| {
        format!("the recorded graph flavor {recorded:?} is not one onnxify writes ({e})")
    })?;
    let (ops, input, dtype) = (graph.ops, graph.input_dtype, graph.dtype);
    let opset = info
        .opsets
        .iter()
        .find(|(domain, _)| domain == "ai.onnx")
        .map(|(_, version)| *version)
        .ok_or("the file imports no ai.onnx operator set")?;
    if !SUPPORTED_OPSETS.contains(&opset) {
        return Err(format!(
            "ai.onnx opset {opset}; onnxify writes {} to {}",
            SUPPORTED_OPSETS.start(),
            SUPPORTED_OPSETS.end()
        ));
    }
    let layout = info.table.as_ref().map_or(InputLayout::Columns, |t| t.layout);
    let options = GraphOptions { ops, dtype, input: Some(input), opset, opset_given: true, layout }
        .check()
        .map_err(|e| format!("onnxify does not write the recorded flavor ({e})"))?;
    let flavor = match ops {
        Ops::Ml => format!("the ml graph with {} input at opset {opset}", input.name()),
        Ops::Standard => format!(
            "the standard graph in {} with {} input at opset {opset}",
            dtype.name(),
            input.name()
        ),
    };
    // Normalised sigmoids of three or more classes: a one-vs-rest model's graph.
    let link = if info.classes.len() > 2
        && info.classifier.post_transform == "LOGISTIC"
        && info.normalizer.as_deref() == Some("L1")
    {
        Link::OneVsRest
    } else {
        Link::Softmax
    };
    // Which nodes are written depends on whether the label is by thresholds, not on them.
    let decision = match &info.thresholds {
        Some(thresholds) => Decision::ClassThresholds(thresholds.clone()),
        None => Decision::MostProbable,
    };
    let written = match &info.table {
        Some(table) => written_table_graph(options, table, &info.classes, (link, decision))?,
        None => written_graph(options, &info.classes, (link, decision))?,
    };
    let nodes = |info: &ModelInfo| -> String {
        let each: Vec<String> = info
            .nodes
            .iter()
            .map(|(name, op, domain)| {
                if domain.is_empty() {
                    format!("{op} {name:?}")
                } else {
                    format!("{domain}.{op} {name:?}")
                }
            })
            .collect();
        each.join(", ")
    };
    let mut problems = Vec::new();
    if info.opsets != written.opsets {
        problems.push(format!(
            "the file imports {}, onnxify imports {}",
            opset_list(&info.opsets),
            opset_list(&written.opsets)
        ));
    }
    if info.nodes != written.nodes {
        problems.push(format!(
            "the file's nodes are {}, onnxify writes {}",
            nodes(info),
            nodes(&written)
        ));
    }
    if info.ir_version != written.ir_version {
        problems.push(format!(
            "the file has IR version {}, onnxify writes {}",
            info.ir_version, written.ir_version
        ));
    }
    if problems.is_empty() {
        Ok(format!("{flavor} (IR version {}), node for node", info.ir_version))
    } else {
        Err(format!("for {flavor}, {}", problems.join("; ")))
    }
}

/// What onnxify writes for a table with the columns, indicators and categories of `table`,
/// read back from a model the writer builds with zero parameters (which nodes are written
/// depends on those, the options and the classes, not on the fitted values).
fn written_table_graph(
    options: GraphOptions,
    table: &TableInfo,
    classes: &Classes,
    (link, decision): (Link, Decision),
) -> std::result::Result<ModelInfo, String> {
    let columns = table.column_names();
    let options = table_options(options, &columns)
        .map_err(|e| format!("onnxify does not write the recorded flavor ({e})"))?;
    let rows = if classes.len() == 2 { 1 } else { classes.len() };
    let width = table.numeric_width();
    let categories: Vec<Vec<Category>> = table
        .categories
        .iter()
        .map(|c| c.iter().map(|v| (!v.is_empty()).then(|| v.clone())).collect())
        .collect();
    let encoder = FittedOneHotEncoder::from_categories(categories);
    let features = width + encoder.n_outputs();
    let pipeline = ColumnPipeline::from_parts(
        columns,
        FittedSimpleImputer::from_parameters(
            ImputeStrategy::Mean,
            ndarray::Array1::zeros(table.numeric.len()),
            table.indicator_features.clone(),
        ),
        FittedStandardScaler::from_parameters(
            ndarray::Array1::zeros(width),
            ndarray::Array1::ones(width),
        ),
        encoder,
        FittedLogisticRegression::from_parameters(
            Array2::zeros((rows, features)),
            ndarray::Array1::zeros(rows),
            0,
        )
        .with_link(link)
        .with_decision(decision),
        classes.clone(),
    );
    let spec = TableGraphSpec {
        pipeline: &pipeline,
        options,
        input: options.input_candidates()[0],
        doc_string: String::new(),
        metadata: Vec::new(),
    };
    read_back(table_model_bytes(&spec))
}

/// What onnxify writes for `options` and `classes`, read back from a model the writer builds
/// for a pipeline of one feature and those classes: the writer itself is the reference, so
/// this check cannot drift from it. (Which nodes are written depends on the options and on
/// whether the labels are strings, not on the number of features or the fitted values.)
fn written_graph(
    options: GraphOptions,
    classes: &Classes,
    (link, decision): (Link, Decision),
) -> std::result::Result<ModelInfo, String> {
    let input = options.input_candidates()[0];
    let rows = if classes.len() == 2 { 1 } else { classes.len() };
    let pipeline = Pipeline::from_parts(
        FittedStandardScaler::from_parameters(ndarray::arr1(&[0.0]), ndarray::arr1(&[1.0])),
        FittedLogisticRegression::from_parameters(
            Array2::zeros((rows, 1)),
            ndarray::Array1::zeros(rows),
            0,
        )
        .with_link(link)
        .with_decision(decision),
        classes.clone(),
    );
    let spec = GraphSpec {
        pipeline: &pipeline,
        input_name: crate::onnx::INPUT,
        feature_names: &["x".to_owned()],
        options,
        input,
        doc_string: String::new(),
        metadata: Vec::new(),
    };
    read_back(model_bytes(&spec))
}

/// What the check makes of a reference graph the writer built.
fn read_back(bytes: Vec<u8>) -> std::result::Result<ModelInfo, String> {
    let reference = load::decode("the reference graph", bytes)
        .and_then(|file| file.check())
        .map_err(|e| format!("onnxify cannot write a reference graph for it: {e}"))?;
    Ok(reference.info)
}
