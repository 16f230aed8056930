//! The ONNX graph of a fitted column pipeline (a table of numeric and text columns).
//!
//! Inputs follow scikit-learn's converter's convention for a DataFrame: one input per column,
//! named after it, `[N, 1]`, numbers FLOAT (or DOUBLE), text STRING and integer categories
//! INT64; or, grouped, `numeric` `[N, Fn]` and `categorical` `[N, Fc]` (STRING, integers in
//! decimal). A missing number is fed as NaN and a missing text as the empty string, which is
//! the missing category when training saw one:
//!
//! ```text
//! numeric columns -> Concat = numeric          (grouped: the `numeric` input)
//!   IsNaN(numeric) = missing;  Where(missing, statistics, numeric) = imputed
//!   [Gather(missing, indicator columns) -> Cast = indicators;  Concat(imputed, indicators)]
//!   -> Scaler (ml, float input) | Sub(offset) -> Div(scale) [-> Cast]    = scaled_numeric
//! each categorical column (grouped: Gather(categorical, [k], axis 1)) ->
//!   OneHotEncoder(categories, zeros=1) -> Reshape [N, C]                  (ml)
//!   Equal(categories [1, C]) -> Cast                         (standard; strings from opset 19)
//! Concat(scaled_numeric, one-hot blocks) = features -> the classifier of graph.rs
//! ```
//!
//! Imputation uses the default domain in both flavors: onnxruntime has no DOUBLE `Imputer`.

use prost::Message;

use super::graph::{
    Dim, GraphBuilder, GraphOptions, InputLayout, Linear, ML_DOMAIN, ModelParts, Ops, Precision,
    assemble, class_list, classifier, int, ints, label_rule, scaling, strings, tensor_info,
};
use super::pb::tensor_proto::DataType;
use crate::error::{Error, Parameter, Result};
use crate::model::{CategoryKind, ColumnNames, ColumnPipeline, columns_of_kind};

/// The first default-domain operator set whose `Equal` compares strings.
pub const STRING_EQUAL_OPSET: i64 = 19;
/// Input names of the grouped layout.
pub const NUMERIC_INPUT: &str = "numeric";
pub const CATEGORICAL_INPUT: &str = "categorical";

/// What goes into the model file of a column pipeline.
#[derive(Debug, Clone)]
pub struct TableGraphSpec<'a> {
    pub pipeline: &'a ColumnPipeline,
    pub options: GraphOptions,
    /// The precision of the numeric inputs.
    pub input: Precision,
    pub doc_string: String,
    pub metadata: Vec<(String, String)>,
}

/// The options a table's graph is written with: the standard flavor of a table with text
/// inputs needs `Equal` on strings, so it takes opset 19 unless another was asked for, and an
/// earlier one asked for is an error.
pub fn table_options(options: GraphOptions, columns: &ColumnNames) -> Result<GraphOptions> {
    let has_text = match options.layout {
        InputLayout::Grouped => !columns.categorical.is_empty(),
        InputLayout::Columns => columns.kinds.contains(&CategoryKind::Text),
    };
    if options.ops != Ops::Standard || !has_text || options.opset >= STRING_EQUAL_OPSET {
        return Ok(options);
    }
    if options.opset_given {
        return Err(Error::InvalidParameter {
            parameter: Parameter::TargetOpset,
            message: format!(
                "{} is too early for the standard graph of a table with text columns, which \
                 compares strings with Equal (ONNX has it from opset {STRING_EQUAL_OPSET}); use \
                 {STRING_EQUAL_OPSET} or later, or {{ops}} ml",
                options.opset
            ),
        });
    }
    Ok(GraphOptions { opset: STRING_EQUAL_OPSET, ..options })
}

/// A column whose name the graph also gives one of its own tensors (an input is named after
/// its column), if there is one.
pub fn name_clash(spec: &TableGraphSpec) -> Option<String> {
    if spec.options.layout == InputLayout::Grouped {
        return None;
    }
    let graph = table_model(spec).graph.unwrap_or_default();
    let own: std::collections::HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter().map(String::as_str))
        .chain(graph.initializer.iter().map(|t| t.name()))
        .collect();
    let columns = spec.pipeline.columns();
    columns.numeric.iter().chain(&columns.categorical).find(|c| own.contains(c.as_str())).cloned()
}

/// The encoded ONNX model of `spec`.
pub fn table_model_bytes(spec: &TableGraphSpec) -> Vec<u8> {
    table_model(spec).encode_to_vec()
}

fn table_model(spec: &TableGraphSpec) -> super::pb::ModelProto {
    let pipeline = spec.pipeline;
    let options = spec.options;
    let columns = pipeline.columns();
    let mut graph = GraphBuilder::default();
    let mut inputs = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let arithmetic = if options.ops == Ops::Ml { Precision::Float32 } else { options.dtype };

    if !columns.numeric.is_empty() {
        let numeric = match options.layout {
            InputLayout::Columns => {
                for name in &columns.numeric {
                    inputs.push(tensor_info(
                        name,
                        spec.input.data_type(),
                        &[Dim::Batch, Dim::Fixed(1)],
                    ));
                }
                let names: Vec<&str> = columns.numeric.iter().map(String::as_str).collect();
                graph.node(
                    "gather_numeric",
                    "Concat",
                    "",
                    &names,
                    &["numeric"],
                    vec![int("axis", 1)],
                );
                "numeric"
            }
            InputLayout::Grouped => {
                inputs.push(tensor_info(
                    NUMERIC_INPUT,
                    spec.input.data_type(),
                    &[Dim::Batch, Dim::Fixed(columns.numeric.len())],
                ));
                NUMERIC_INPUT
            }
        };
        blocks.push(numeric_block(&mut graph, pipeline, numeric, spec.input, options));
    }
    for (k, categories) in pipeline.categories().iter().enumerate() {
        let name = &columns.categorical[k];
        let mut kind = CategoryKind::Text;
        let text = match options.layout {
            InputLayout::Columns => {
                kind = columns.kinds[k];
                let data_type = match kind {
                    CategoryKind::Text => DataType::String,
                    CategoryKind::Integer => DataType::Int64,
                };
                inputs.push(tensor_info(name, data_type, &[Dim::Batch, Dim::Fixed(1)]));
                name.clone()
            }
            InputLayout::Grouped => {
                let column = format!("text_{k}");
                let index = format!("text_{k}_index");
                graph.int64s(&index, &[1], &[k as i64]);
                graph.node(
                    &format!("select_text_{k}"),
                    "Gather",
                    "",
                    &[CATEGORICAL_INPUT, &index],
                    &[&column],
                    vec![int("axis", 1)],
                );
                column
            }
        };
        let values: Vec<String> =
            categories.iter().map(|c| c.clone().unwrap_or_default()).collect();
        let categories = match kind {
            CategoryKind::Text => Categories::Texts(&values),
            CategoryKind::Integer => Categories::Integers(
                values.iter().map(|v| v.parse().expect("decimal integer categories")).collect(),
            ),
        };
        blocks.push(one_hot_block(&mut graph, k, &text, &categories, options, arithmetic));
    }
    if options.layout == InputLayout::Grouped && !columns.categorical.is_empty() {
        inputs.push(tensor_info(
            CATEGORICAL_INPUT,
            DataType::String,
            &[Dim::Batch, Dim::Fixed(columns.categorical.len())],
        ));
    }
    let block_names: Vec<&str> = blocks.iter().map(String::as_str).collect();
    graph.node("gather_features", "Concat", "", &block_names, &["features"], vec![int("axis", 1)]);
    let linear = Linear::of(pipeline.classifier(), pipeline.classes());
    classifier(&mut graph, &linear, "features", options);
    let of_kind = |wanted: CategoryKind| -> String {
        let names = columns_of_kind(&columns.categorical, &columns.kinds, wanted);
        if names.is_empty() { "none".into() } else { names.join(", ") }
    };
    let integers = of_kind(CategoryKind::Integer);
    let graph_doc = format!(
        "Numeric columns: {}. Text columns: {}.{} A missing number is fed as NaN, a missing text \
         as the empty string. Probability columns in this class order: {}.{}",
        if columns.numeric.is_empty() { "none".into() } else { columns.numeric.join(", ") },
        of_kind(CategoryKind::Text),
        match (integers.as_str(), options.layout) {
            ("none", _) => String::new(),
            (_, InputLayout::Columns) => format!(" Integer category columns (INT64): {integers}."),
            (_, InputLayout::Grouped) => {
                format!(" Integer category columns (fed in decimal): {integers}.")
            }
        },
        class_list(linear.classes),
        label_rule(&linear)
    );
    let parts = ModelParts {
        name: "column_transformer_logistic_regression",
        graph_doc,
        inputs,
        doc_string: &spec.doc_string,
        metadata: &spec.metadata,
    };
    assemble(graph, parts, linear.classes, options)
}

/// Imputation, indicators and scaling of the numeric block; returns the scaled tensor's name.
fn numeric_block(
    graph: &mut GraphBuilder,
    pipeline: &ColumnPipeline,
    numeric: &str,
    input: Precision,
    options: GraphOptions,
) -> String {
    let imputer = pipeline.imputer();
    let statistics = imputer.statistics().to_vec();
    let n = statistics.len();
    graph.constant("imputer_statistics", &[n], &statistics, input);
    graph.node("find_missing", "IsNaN", "", &[numeric], &["numeric_missing"], vec![]);
    graph.node(
        "impute",
        "Where",
        "",
        &["numeric_missing", "imputer_statistics", numeric],
        &["imputed"],
        vec![],
    );
    let mut x = "imputed";
    let indicators = imputer.indicator_features();
    if !indicators.is_empty() {
        let columns: Vec<i64> = indicators.iter().map(|&j| j as i64).collect();
        graph.int64s("indicator_features", &[columns.len()], &columns);
        graph.node(
            "select_indicators",
            "Gather",
            "",
            &["numeric_missing", "indicator_features"],
            &["indicator_flags"],
            vec![int("axis", 1)],
        );
        graph.node(
            "indicators_to_numbers",
            "Cast",
            "",
            &["indicator_flags"],
            &["indicators"],
            vec![int("to", input.data_type() as i64)],
        );
        graph.node(
            "append_indicators",
            "Concat",
            "",
            &["imputed", "indicators"],
            &["imputed_with_indicators"],
            vec![int("axis", 1)],
        );
        x = "imputed_with_indicators";
    }
    let (mean, scale) = (pipeline.mean().to_vec(), pipeline.scale().to_vec());
    scaling(graph, (x, "scaled_numeric"), (&mean, &scale), options, input);
    "scaled_numeric".into()
}

/// The categories of one column as the graph lists them.
enum Categories<'c> {
    Texts(&'c [String]),
    Integers(Vec<i64>),
}

/// The one-hot columns of categorical column `k` (tensor `text`, `[N, 1]`); returns their name.
fn one_hot_block(
    graph: &mut GraphBuilder,
    k: usize,
    text: &str,
    categories: &Categories,
    options: GraphOptions,
    arithmetic: Precision,
) -> String {
    let out = format!("one_hot_{k}");
    let c = match categories {
        Categories::Texts(texts) => texts.len(),
        Categories::Integers(values) => values.len(),
    };
    match options.ops {
        Ops::Ml => {
            let encoded = format!("one_hot_{k}_3d");
            let shape = format!("one_hot_{k}_shape");
            let listed = match categories {
                Categories::Texts(texts) => strings("cats_strings", texts),
                Categories::Integers(values) => ints("cats_int64s", values.clone()),
            };
            graph.node(
                &format!("encode_text_{k}"),
                "OneHotEncoder",
                ML_DOMAIN,
                &[text],
                &[&encoded],
                vec![listed, int("zeros", 1)],
            );
            graph.int64s(&shape, &[2], &[-1, c as i64]);
            graph.node(
                &format!("flatten_text_{k}"),
                "Reshape",
                "",
                &[&encoded, &shape],
                &[&out],
                vec![],
            );
        }
        Ops::Standard => {
            let names = format!("categories_{k}");
            let matches = format!("one_hot_{k}_matches");
            match categories {
                Categories::Texts(texts) => graph.strings(&names, &[1, c], texts),
                Categories::Integers(values) => graph.int64s(&names, &[1, c], values),
            }
            graph.node(
                &format!("match_text_{k}"),
                "Equal",
                "",
                &[text, &names],
                &[&matches],
                vec![],
            );
            graph.node(
                &format!("text_{k}_to_numbers"),
                "Cast",
                "",
                &[&matches],
                &[&out],
                vec![int("to", arithmetic.data_type() as i64)],
            );
        }
    }
    out
}
