//! The ONNX graph of a fitted pipeline, in the shape scikit-learn's converter writes (zipmap
//! off), so serving code written for those files works unchanged:
//!
//! ```text
//! input  FLOAT [N, F]
//!   -> Scaler            (ai.onnx.ml)  offset = mean, scale = 1 / scale
//!   -> LinearClassifier  (ai.onnx.ml)  -> label INT64 [N], probabilities FLOAT [N, K]
//!   [-> CategoryMapper   (ai.onnx.ml)  class index -> label STRING [N], for string classes]
//! ```
//!
//! Two classes are written as two coefficient rows (-w, +w) with intercepts (-b, +b) and a
//! LOGISTIC post-transform, the layout onnxruntime and tract read alike; three or more as K
//! rows with SOFTMAX. String classes go through `classlabels_ints` 0..K-1 and a CategoryMapper
//! because tract cannot output `classlabels_strings`. The ai.onnx.ml operators take float32
//! attributes: the reciprocal of the scale is taken in f64 before rounding to f32.

use prost::Message;

use super::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TypeProto, ValueInfoProto,
    attribute_proto::AttributeType,
    tensor_proto::DataType,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use crate::data::Classes;
use crate::model::Pipeline;

/// IR version written: 8 is the IR of opset 17.
pub const IR_VERSION: i64 = 8;
/// Version of the default operator set imported.
pub const OPSET: i64 = 17;
/// Version of the ai.onnx.ml operator set used.
pub const ML_OPSET: i64 = 1;
/// Name of the graph input.
pub const INPUT: &str = "input";
/// Name of the label output.
pub const OUTPUT_LABEL: &str = "label";
/// Name of the probability output.
pub const OUTPUT_PROBABILITIES: &str = "probabilities";

const ML_DOMAIN: &str = "ai.onnx.ml";

/// What goes into a model file besides the pipeline's numbers.
#[derive(Debug, Clone)]
pub struct GraphSpec<'a> {
    pub pipeline: &'a Pipeline,
    pub feature_names: &'a [String],
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
    let n_features = pipeline.n_features();
    let classes = pipeline.classes();
    let string_labels = matches!(classes, Classes::Strings(_));

    let mut nodes = vec![scaler(pipeline), linear_classifier(pipeline, string_labels)];
    if let Classes::Strings(names) = classes {
        nodes.push(label_names(names));
    }
    let label_type = if string_labels { DataType::String } else { DataType::Int64 };
    let graph = GraphProto {
        node: nodes,
        name: Some("standard_scaler_logistic_regression".into()),
        doc_string: Some(format!(
            "Features in this order: {}. Probability columns in this class order: {}.",
            spec.feature_names.join(", "),
            (0..classes.len()).map(|c| classes.name(c)).collect::<Vec<_>>().join(", ")
        )),
        input: vec![tensor_info(INPUT, DataType::Float, &[Dim::Batch, Dim::Fixed(n_features)])],
        output: vec![
            tensor_info(OUTPUT_LABEL, label_type, &[Dim::Batch]),
            tensor_info(
                OUTPUT_PROBABILITIES,
                DataType::Float,
                &[Dim::Batch, Dim::Fixed(classes.len())],
            ),
        ],
        ..Default::default()
    };
    ModelProto {
        ir_version: Some(IR_VERSION),
        producer_name: Some("onnxify".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: Some("onnxify".into()),
        model_version: Some(1),
        doc_string: Some(spec.doc_string.clone()),
        graph: Some(graph),
        opset_import: vec![
            OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) },
            OperatorSetIdProto { domain: Some(ML_DOMAIN.into()), version: Some(ML_OPSET) },
        ],
        metadata_props: spec
            .metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto { key: Some(k.clone()), value: Some(v.clone()) })
            .collect(),
        ..Default::default()
    }
}

/// `Scaler`: `(x - offset) * scale` with offset = mean and scale = 1 / scale_.
fn scaler(pipeline: &Pipeline) -> NodeProto {
    let offset: Vec<f32> = pipeline.mean().iter().map(|&m| m as f32).collect();
    let scale: Vec<f32> = pipeline.scale().iter().map(|&s| (1.0 / s) as f32).collect();
    ml_node(
        "scaler",
        "Scaler",
        &[INPUT],
        &["scaled"],
        vec![floats("offset", offset), floats("scale", scale)],
    )
}

/// `LinearClassifier` on the scaled features.
fn linear_classifier(pipeline: &Pipeline, string_labels: bool) -> NodeProto {
    let coef = pipeline.coef();
    let intercept = pipeline.intercept();
    let classes = pipeline.classes();
    let binary = coef.nrows() == 1;
    let (coefficients, intercepts): (Vec<f32>, Vec<f32>) = if binary {
        // Class 0 scores -s and class 1 scores s, so the logistic of each is its probability.
        let w: Vec<f32> = coef.row(0).iter().map(|&v| v as f32).collect();
        let b = intercept[0] as f32;
        (w.iter().map(|v| -v).chain(w.iter().copied()).collect(), vec![-b, b])
    } else {
        (coef.iter().map(|&v| v as f32).collect(), intercept.iter().map(|&v| v as f32).collect())
    };
    let labels: Vec<i64> = match classes {
        Classes::Ints(values) => values.clone(),
        Classes::Strings(names) => (0..names.len() as i64).collect(),
    };
    let label_output = if string_labels { "label_index" } else { OUTPUT_LABEL };
    ml_node(
        "linear_classifier",
        "LinearClassifier",
        &["scaled"],
        &[label_output, OUTPUT_PROBABILITIES],
        vec![
            ints("classlabels_ints", labels),
            floats("coefficients", coefficients),
            floats("intercepts", intercepts),
            int("multi_class", i64::from(!binary)),
            string("post_transform", if binary { "LOGISTIC" } else { "SOFTMAX" }),
        ],
    )
}

/// `CategoryMapper` from class index to class name.
fn label_names(names: &[String]) -> NodeProto {
    ml_node(
        "label_names",
        "CategoryMapper",
        &["label_index"],
        &[OUTPUT_LABEL],
        vec![
            ints("cats_int64s", (0..names.len() as i64).collect()),
            strings("cats_strings", names),
            string("default_string", ""),
        ],
    )
}

fn ml_node(
    name: &str,
    op_type: &str,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: Some(name.into()),
        op_type: Some(op_type.into()),
        attribute,
        doc_string: None,
        domain: Some(ML_DOMAIN.into()),
    }
}

fn attribute(name: &str, kind: AttributeType) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(kind as i32), ..Default::default() }
}

fn floats(name: &str, values: Vec<f32>) -> AttributeProto {
    AttributeProto { floats: values, ..attribute(name, AttributeType::Floats) }
}

fn ints(name: &str, values: Vec<i64>) -> AttributeProto {
    AttributeProto { ints: values, ..attribute(name, AttributeType::Ints) }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { i: Some(value), ..attribute(name, AttributeType::Int) }
}

fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto { s: Some(value.as_bytes().to_vec()), ..attribute(name, AttributeType::String) }
}

fn strings(name: &str, values: &[String]) -> AttributeProto {
    AttributeProto {
        strings: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        ..attribute(name, AttributeType::Strings)
    }
}

/// A dimension of a tensor type.
enum Dim {
    /// The batch dimension, named "N".
    Batch,
    Fixed(usize),
}

fn tensor_info(name: &str, elem_type: DataType, dims: &[Dim]) -> ValueInfoProto {
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

    fn attr<'a>(node: &'a NodeProto, name: &str) -> &'a AttributeProto {
        node.attribute.iter().find(|a| a.name() == name).unwrap()
    }

    #[test]
    fn a_binary_model_has_two_opposite_coefficient_rows() {
        let pipeline = fitted(Classes::Ints(vec![3, 7]), &[0, 0, 1, 0, 1, 1]);
        let names = ["a".to_string(), "b".to_string()];
        let spec = GraphSpec {
            pipeline: &pipeline,
            feature_names: &names,
            doc_string: String::new(),
            metadata: vec![],
        };
        let model = ModelProto::decode(&model_bytes(&spec)[..]).unwrap();
        let graph = model.graph.unwrap();
        assert_eq!(
            graph.node.iter().map(|n| n.name()).collect::<Vec<_>>(),
            ["scaler", "linear_classifier"]
        );
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
        let names = ["a".to_string(), "b".to_string()];
        let spec = GraphSpec {
            pipeline: &pipeline,
            feature_names: &names,
            doc_string: String::new(),
            metadata: vec![],
        };
        let graph = ModelProto::decode(&model_bytes(&spec)[..]).unwrap().graph.unwrap();
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
}
