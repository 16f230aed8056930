//! Typed readers of a decoded model's parts: tensors and attributes read into checked values
//! (finite numbers, the scaler's and the classifier's parameters, class labels), and the
//! failure type of the check, a message naming the rule a file breaks.

use std::collections::{HashMap, HashSet};

use super::graph::Precision;
use super::limits::*;
use super::model::{ClassifierParams, ScalerParams, Signature};
use super::pb::{
    AttributeProto, NodeProto, TensorProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto::dimension, type_proto,
};
use crate::data::Classes;
use crate::util::excerpt;

pub(super) type Check<T> = std::result::Result<T, String>;

pub(super) fn ensure(condition: bool, message: impl FnOnce() -> String) -> Check<()> {
    if condition { Ok(()) } else { Err(message()) }
}

pub(super) fn short(text: &str) -> String {
    excerpt(text)
}

/// Element type names, as ONNX writes them.
pub(super) fn elem_type_name(code: i32) -> String {
    DataType::try_from(code)
        .map_or_else(|_| format!("unknown type {code}"), |t| t.as_str_name().to_owned())
}

pub(super) fn tensor_type(value: &ValueInfoProto) -> Check<&type_proto::Tensor> {
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

pub(super) fn precision_of(code: i32) -> Option<Precision> {
    match DataType::try_from(code).ok()? {
        DataType::Float => Some(Precision::Float32),
        DataType::Double => Some(Precision::Float64),
        _ => None,
    }
}

pub(super) fn node_label(index: usize, node: &NodeProto) -> String {
    format!("node {} ({:?}, {})", index + 1, short(node.name()), short(node.op_type()))
}

/// A float tensor's values as f64, all finite.
pub(super) fn finite_values(tensor: &TensorProto, what: &str) -> Check<Vec<f64>> {
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
pub(super) fn attributes<'a>(
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

pub(super) fn distinct(classes: &Classes) -> bool {
    match classes {
        Classes::Ints(v) => v.iter().collect::<HashSet<_>>().len() == v.len(),
        Classes::Strings(v) => v.iter().collect::<HashSet<_>>().len() == v.len(),
    }
}

pub(super) fn normalizer_norm(node: &NodeProto) -> Check<String> {
    let attrs = attributes(node, &[("norm", AttributeType::String)])?;
    let norm = text(&attrs, "norm").unwrap_or_else(|| "MAX".into());
    ensure(["MAX", "L1", "L2"].contains(&norm.as_str()), || {
        format!("the Normalizer's norm {:?} is unknown", short(&norm))
    })?;
    Ok(norm)
}

/// The class names a CategoryMapper gives the classifier's integer labels.
pub(super) fn map_labels(node: &NodeProto, labels: &Classes) -> Check<Classes> {
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

pub(super) fn scaler_params(node: &NodeProto, n_features: usize) -> Check<ScalerParams> {
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
pub(super) fn classifier_params(
    node: &NodeProto,
    n_features: usize,
) -> Check<(ClassifierParams, Classes)> {
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

pub(super) fn floats<'a>(
    attrs: &HashMap<&str, &'a AttributeProto>,
    name: &str,
) -> Option<&'a [f32]> {
    attrs.get(name).map(|a| a.floats.as_slice())
}

pub(super) fn text(attrs: &HashMap<&str, &AttributeProto>, name: &str) -> Option<String> {
    attrs.get(name).map(|a| String::from_utf8_lossy(a.s()).into_owned())
}

pub(super) fn check_text(what: &str, text: &str, limit: usize) -> Check<()> {
    ensure(text.len() <= limit, || {
        format!("{what} is {} bytes long, more than the limit of {limit}", text.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats_attribute(name: &str, values: &[f32]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            r#type: Some(AttributeType::Floats as i32),
            floats: values.to_vec(),
            ..Default::default()
        }
    }

    fn node(op: &str, attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: Some(op.into()),
            name: Some("n".into()),
            attribute,
            ..Default::default()
        }
    }

    #[test]
    fn tensors_are_read_from_raw_little_endian_bytes_or_typed_fields() {
        let raw: Vec<u8> = [1.5f32, -2.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let float = TensorProto {
            data_type: Some(DataType::Float as i32),
            raw_data: Some(raw),
            ..Default::default()
        };
        assert_eq!(finite_values(&float, "t").unwrap(), [1.5, -2.25]);
        let raw: Vec<u8> = [0.1f64, 1e300].iter().flat_map(|v| v.to_le_bytes()).collect();
        let double = TensorProto {
            data_type: Some(DataType::Double as i32),
            raw_data: Some(raw),
            ..Default::default()
        };
        assert_eq!(finite_values(&double, "t").unwrap(), [0.1, 1e300]);
        let typed = TensorProto {
            data_type: Some(DataType::Double as i32),
            double_data: vec![3.0, 4.0],
            ..Default::default()
        };
        assert_eq!(finite_values(&typed, "t").unwrap(), [3.0, 4.0]);
    }

    #[test]
    fn a_tensor_with_nan_or_of_another_type_is_refused_by_name() {
        let nan = TensorProto {
            data_type: Some(DataType::Float as i32),
            float_data: vec![1.0, f32::NAN],
            ..Default::default()
        };
        assert_eq!(
            finite_values(&nan, "the offsets").unwrap_err(),
            "the offsets hold NaN or infinite values"
        );
        let ints = TensorProto {
            data_type: Some(DataType::Int64 as i32),
            int64_data: vec![1],
            ..Default::default()
        };
        assert_eq!(
            finite_values(&ints, "the offsets").unwrap_err(),
            "the offsets are INT64, not FLOAT or DOUBLE"
        );
    }

    #[test]
    fn a_scaler_reads_its_offsets_and_scales_per_feature_or_broadcast() {
        let scaler = node(
            "Scaler",
            vec![floats_attribute("offset", &[1.0, 2.0, 3.0]), floats_attribute("scale", &[0.5])],
        );
        let params = scaler_params(&scaler, 3).unwrap();
        assert_eq!(params.offset, [1.0, 2.0, 3.0]);
        assert_eq!(params.scale, [0.5]);
        // scale multiplies: scikit-learn's scale_ is its inverse.
        assert_eq!(params.mean_and_scale(3), (vec![1.0, 2.0, 3.0], vec![2.0, 2.0, 2.0]));
        assert_eq!(
            scaler_params(&scaler, 4).unwrap_err(),
            "the Scaler's offset has 3 values for 4 features"
        );
    }

    #[test]
    fn attributes_outside_the_operator_twice_or_of_another_type_are_refused() {
        let allowed = [("offset", AttributeType::Floats)];
        let unknown = node("Scaler", vec![floats_attribute("bias", &[1.0])]);
        assert!(
            attributes(&unknown, &allowed)
                .unwrap_err()
                .contains("\"bias\", which its operator does not define")
        );
        let twice = node(
            "Scaler",
            vec![floats_attribute("offset", &[1.0]), floats_attribute("offset", &[2.0])],
        );
        assert!(
            attributes(&twice, &allowed)
                .unwrap_err()
                .contains("sets the attribute \"offset\" twice")
        );
        let mut int = floats_attribute("offset", &[]);
        int.r#type = Some(AttributeType::Ints as i32);
        int.ints = vec![1];
        assert!(
            attributes(&node("Scaler", vec![int]), &allowed)
                .unwrap_err()
                .contains("must be FLOATS, found INTS")
        );
        let mut smuggled = floats_attribute("offset", &[1.0]);
        smuggled.t = Some(TensorProto::default());
        assert!(
            attributes(&node("Scaler", vec![smuggled]), &allowed)
                .unwrap_err()
                .contains("holds a tensor")
        );
        let infinite = floats_attribute("offset", &[f32::INFINITY]);
        assert!(
            attributes(&node("Scaler", vec![infinite]), &allowed)
                .unwrap_err()
                .contains("NaN or infinite")
        );
    }
}
