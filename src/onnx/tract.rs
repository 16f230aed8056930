//! The model as tract receives it: a checked model re-encoded with normalisations that keep its
//! meaning. The batch dimension gets a name (scikit-learn's converter leaves it blank, which
//! tract cannot type); string class labels on the LinearClassifier become integer labels
//! followed by a CategoryMapper (tract cannot output strings from a LinearClassifier); and a
//! CategoryMapper from class indices to names gets the `default_string` ONNX gives it by
//! default (tract requires it to be written out).

use super::limits::ML_DOMAIN;
use super::pb::{
    AttributeProto, ModelProto, NodeProto, attribute_proto::AttributeType,
    tensor_shape_proto::dimension, type_proto,
};

/// What the check found that tract needs rewritten.
#[derive(Debug, Clone, Default)]
pub(super) struct Rewrite {
    /// A LinearClassifier with string labels: its index and labels.
    pub(super) string_classifier: Option<(usize, Vec<String>)>,
    /// The index of the CategoryMapper naming the classes, if there is one.
    pub(super) category_mapper: Option<usize>,
}

/// The bytes to give tract for `model`.
pub(super) fn tract_bytes(model: &ModelProto, rewrite: &Rewrite) -> Vec<u8> {
    use prost::Message;
    let strings = rewrite.string_classifier.as_ref().map(|(i, names)| (*i, names.as_slice()));
    for_tract(model, strings, rewrite.category_mapper).encode_to_vec()
}

/// The model as tract receives it: batch dimension named, string labels mapped by a
/// CategoryMapper, the file's CategoryMapper (at `mapper`) with its default written out,
/// nothing else changed.
pub(super) fn for_tract(
    model: &ModelProto,
    strings: Option<(usize, &[String])>,
    mapper: Option<usize>,
) -> ModelProto {
    let mut model = model.clone();
    let graph = model.graph.as_mut().expect("checked");
    if let Some(index) = mapper {
        default_string(&mut graph.node[index]);
    }
    for input in &mut graph.input {
        if let Some(type_proto::Value::TensorType(t)) =
            input.r#type.as_mut().and_then(|t| t.value.as_mut())
            && let Some(shape) = t.shape.as_mut()
        {
            shape.dim[0].value = Some(dimension::Value::DimParam("N".into()));
        }
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
pub(super) fn default_string(mapper: &mut NodeProto) {
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
