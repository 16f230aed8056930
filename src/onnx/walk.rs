//! The node-pattern walk: from the graph's input forward, each node must be the next one of the
//! shapes onnxify reads (see [`super::check`]), with its inputs, outputs, attributes and
//! initializers, and every node and initializer used exactly once.

use std::collections::{HashMap, HashSet};

use super::graph::Precision;
use super::limits::*;
use super::model::{ClassifierParams, Flavor, ScalerParams};
use super::pb::{NodeProto, TensorProto, attribute_proto::AttributeType, tensor_proto::DataType};
use super::readers::*;
use crate::data::Classes;

/// What the walk recognised.
pub(super) struct Recognised<'a> {
    pub(super) flavor: Flavor,
    pub(super) scaler: Option<ScalerParams>,
    pub(super) classifier: ClassifierParams,
    pub(super) normalizer: Option<String>,
    pub(super) classes: Classes,
    pub(super) probability_type: Precision,
    pub(super) label_output: &'a str,
    pub(super) probability_output: &'a str,
    /// A LinearClassifier with string labels, which tract needs rewritten: its index and labels.
    pub(super) string_classifier: Option<(usize, Vec<String>)>,
    /// The index of the CategoryMapper naming the classes, if there is one.
    pub(super) category_mapper: Option<usize>,
    /// The probabilities' divisors whose largest quotient is the label, if the graph has them.
    pub(super) thresholds: Option<Vec<f64>>,
}

/// The inputs and outputs an operator of the allow-list takes and gives.
/// (Concat takes any number of inputs: its count here is 0.)
pub(super) fn arity(op: &str) -> (usize, usize) {
    match op {
        "Sub" | "Div" | "Mul" | "MatMul" | "Add" | "Gather" | "Reshape" | "Equal" | "Min" => (2, 1),
        "Where" => (3, 1),
        "LinearClassifier" => (1, 2),
        "Concat" => (0, 1),
        _ => (1, 1),
    }
}

/// The node has exactly the inputs and outputs of its operator, so that the walk can index
/// them.
pub(super) fn check_arity(index: usize, node: &NodeProto) -> Check<()> {
    let (mut inputs, outputs) = arity(node.op_type());
    if node.op_type() == "Concat" && !node.input.is_empty() {
        inputs = node.input.len();
    }
    let count =
        |n: usize, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
    ensure(node.input.len() == inputs && node.output.len() == outputs, || {
        format!(
            "{} has {} and {}; {} takes {} and gives {}",
            node_label(index, node),
            count(node.input.len(), "input"),
            count(node.output.len(), "output"),
            short(node.op_type()),
            count(inputs, "input"),
            count(outputs, "output")
        )
    })
}

/// Matches the nodes from the input forward; every node and initializer must be used once.
pub(super) struct Walk<'a> {
    pub(super) nodes: &'a [NodeProto],
    constants: &'a HashMap<&'a str, &'a TensorProto>,
    pub(super) consumers: HashMap<&'a str, Vec<usize>>,
    used_nodes: Vec<bool>,
    used_constants: HashSet<&'a str>,
    pub(super) n_features: usize,
}

impl<'a> Walk<'a> {
    pub(super) fn new(
        nodes: &'a [NodeProto],
        constants: &'a HashMap<&'a str, &'a TensorProto>,
        n_features: usize,
    ) -> Self {
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, node) in nodes.iter().enumerate() {
            for input in &node.input {
                consumers.entry(input.as_str()).or_default().push(index);
            }
        }
        Walk {
            nodes,
            constants,
            consumers,
            used_nodes: vec![false; nodes.len()],
            used_constants: HashSet::new(),
            n_features,
        }
    }

    /// The node reading `tensor`, if one does; refused if several do.
    pub(super) fn reader(&self, tensor: &str) -> Check<Option<(usize, &'a NodeProto)>> {
        match self.consumers.get(tensor).map(Vec::as_slice).unwrap_or_default() {
            [] => Ok(None),
            [index] => Ok(Some((*index, &self.nodes[*index]))),
            _ => Err(format!("{:?} is read by several nodes", short(tensor))),
        }
    }

    /// The one node reading `tensor`, which must be an `op`.
    pub(super) fn reader_of(&self, tensor: &str, op: &str) -> Check<(usize, &'a NodeProto)> {
        let (index, node) =
            self.reader(tensor)?.ok_or_else(|| format!("nothing reads {:?}", short(tensor)))?;
        ensure(node.op_type() == op, || {
            format!(
                "{} reads {:?} where a {op} was expected",
                node_label(index, node),
                short(tensor)
            )
        })?;
        Ok((index, node))
    }

    /// Takes the node reading `tensor`, which must be `op` with `tensor` as its first input
    /// and the operator's number of inputs and outputs.
    pub(super) fn next(&mut self, tensor: &str, op: &str) -> Check<&'a NodeProto> {
        let (index, node) = self.reader_of(tensor, op)?;
        ensure(node.input.first().map(String::as_str) == Some(tensor), || {
            format!("{} takes {:?} in the wrong place", node_label(index, node), short(tensor))
        })?;
        self.take(index)?;
        Ok(node)
    }

    /// Marks a node as part of the match, once its inputs and outputs are counted.
    pub(super) fn take(&mut self, index: usize) -> Check<()> {
        check_arity(index, &self.nodes[index])?;
        self.used_nodes[index] = true;
        Ok(())
    }

    /// A constant input: an initializer of the expected type and shape, marked as used.
    pub(super) fn constant(&mut self, name: &str, what: &str) -> Check<&'a TensorProto> {
        let (&key, &tensor) = self
            .constants
            .get_key_value(name)
            .ok_or_else(|| format!("{what} {:?} is not a constant", short(name)))?;
        self.used_constants.insert(key);
        Ok(tensor)
    }

    /// A constant vector of `precision`: `len` values, or one value if `broadcast`.
    pub(super) fn vector(
        &mut self,
        name: &str,
        what: &str,
        precision: Precision,
        len: usize,
        broadcast: bool,
    ) -> Check<Vec<f64>> {
        let tensor = self.constant(name, what)?;
        ensure(precision_of(tensor.data_type()) == Some(precision), || {
            format!(
                "{what} {:?} is {}, expected {}",
                short(name),
                elem_type_name(tensor.data_type()),
                precision.name()
            )
        })?;
        let count: usize = tensor.dims.iter().map(|&d| d as usize).product();
        ensure(tensor.dims.len() <= 1 && (count == len || (broadcast && count == 1)), || {
            format!("{what} {:?} has shape {:?}; expected [{len}]", short(name), tensor.dims)
        })?;
        finite_values(tensor, what)
    }

    /// The scaling that may follow `x` (of `precision`, `f` columns): a Scaler, or Sub then
    /// Div or Mul, then perhaps a Cast. Returns the scaled tensor, its precision and the
    /// parameters (none if no scaling follows).
    pub(super) fn scaling(
        &mut self,
        input: &'a str,
        input_type: Precision,
        f: usize,
    ) -> Check<(&'a str, Precision, Option<ScalerParams>)> {
        let mut x = input;
        let mut precision = input_type;
        let mut scaler = None;
        let first = self.reader(x)?.ok_or("nothing reads the input")?;
        // Node outputs and second inputs below are indexed after `next` checked their count.
        match first.1.op_type() {
            "Scaler" => {
                ensure(precision == Precision::Float32, || {
                    "the Scaler reads a DOUBLE input".into()
                })?;
                let node = self.next(x, "Scaler")?;
                scaler = Some(scaler_params(node, f)?);
                x = &node.output[0];
            }
            "Sub" => {
                let sub = self.next(x, "Sub")?;
                attributes(sub, &[])?;
                let offset = self.vector(&sub.input[1], "the offset", precision, f, true)?;
                let divide = match self.reader(&sub.output[0])?.map(|(_, n)| n.op_type()) {
                    Some("Div") => true,
                    Some("Mul") => false,
                    _ => {
                        return Err(
                            "the subtraction of the mean is not followed by Div or Mul".into()
                        );
                    }
                };
                let op = self.next(&sub.output[0], if divide { "Div" } else { "Mul" })?;
                attributes(op, &[])?;
                let scale = self.vector(&op.input[1], "the scale", precision, f, true)?;
                scaler = Some(ScalerParams { offset, scale, divides: divide });
                x = &op.output[0];
                if let Some((_, cast)) = self.reader(x)?
                    && cast.op_type() == "Cast"
                {
                    let cast = self.next(x, "Cast")?;
                    let attrs = attributes(
                        cast,
                        &[("to", AttributeType::Int), ("saturate", AttributeType::Int)],
                    )?;
                    let to = attrs.get("to").map(|a| a.i()).unwrap_or_default();
                    precision = i32::try_from(to).ok().and_then(precision_of).ok_or_else(|| {
                        format!("the Cast goes to type {to}, not FLOAT or DOUBLE")
                    })?;
                    x = &cast.output[0];
                }
            }
            _ => {}
        }
        Ok((x, precision, scaler))
    }

    pub(super) fn graph(&mut self, input: &'a str, input_type: Precision) -> Check<Recognised<'a>> {
        let (x, precision, scaler) = self.scaling(input, input_type, self.n_features)?;
        let what = if scaler.is_some() { "the scaled input" } else { "the input" };
        let (index, node) = self.reader(x)?.ok_or_else(|| format!("nothing reads {what}"))?;
        let recognised = match node.op_type() {
            "LinearClassifier" => self.ml_classifier(x, index, scaler)?,
            "MatMul" => self.standard_classifier(x, precision, scaler)?,
            _ => {
                let expected = if scaler.is_some() {
                    "a LinearClassifier or MatMul"
                } else {
                    "a Scaler, Sub, LinearClassifier or MatMul"
                };
                return Err(format!(
                    "{} reads {what} where {expected} was expected (onnxify runs StandardScaler \
                     -> LogisticRegression pipelines)",
                    node_label(index, node)
                ));
            }
        };
        Ok(recognised)
    }

    pub(super) fn ml_classifier(
        &mut self,
        x: &str,
        index: usize,
        scaler: Option<ScalerParams>,
    ) -> Check<Recognised<'a>> {
        let node = self.next(x, "LinearClassifier")?;
        let (classifier, labels) = classifier_params(node, self.n_features)?;
        let (mut label, mut proba) = (node.output[0].as_str(), node.output[1].as_str());
        let mut normalizer = None;
        if let Some((_, reader)) = self.reader(proba)?
            && reader.op_type() == "Normalizer"
        {
            let n = self.next(proba, "Normalizer")?;
            normalizer = Some(normalizer_norm(n)?);
            proba = &n.output[0];
        }
        let mut classes = labels.clone();
        let mut category_mapper = None;
        let mut thresholds = None;
        if self.reader(proba)?.is_some() {
            // The label by thresholds: the classifier's own label is unused.
            ensure(self.reader(label)?.is_none(), || {
                "the classifier's label is read though the label is computed by thresholds".into()
            })?;
            let rule = self.thresholded_label(proba, Precision::Float32, labels.len())?;
            (label, classes, thresholds) = (rule.0, rule.1, Some(rule.2));
        } else if let Some((mapper_index, _)) = self.reader(label)? {
            let mapper = self.next(label, "CategoryMapper")?;
            classes = map_labels(mapper, &labels)?;
            label = &mapper.output[0];
            category_mapper = Some(mapper_index);
        }
        let string_classifier = match labels {
            Classes::Strings(names) => Some((index, names)),
            Classes::Ints(_) => None,
        };
        Ok(Recognised {
            flavor: Flavor::Ml,
            scaler,
            classifier,
            normalizer,
            classes,
            probability_type: Precision::Float32,
            label_output: label,
            probability_output: proba,
            string_classifier,
            category_mapper,
            thresholds,
        })
    }

    pub(super) fn standard_classifier(
        &mut self,
        x: &str,
        precision: Precision,
        scaler: Option<ScalerParams>,
    ) -> Check<Recognised<'a>> {
        let f = self.n_features;
        let matmul = self.next(x, "MatMul")?;
        attributes(matmul, &[])?;
        let weights = self.constant(&matmul.input[1], "the coefficients")?;
        ensure(
            precision_of(weights.data_type()) == Some(precision)
                && weights.dims.len() == 2
                && weights.dims[0] as usize == f,
            || {
                format!(
                    "the coefficients have shape {:?} and type {}; expected [{f}, columns] of {}",
                    weights.dims,
                    elem_type_name(weights.data_type()),
                    precision.name()
                )
            },
        )?;
        let columns = weights.dims[1] as usize;
        ensure((2..=MAX_CLASSES).contains(&columns), || {
            format!("the coefficients have {columns} columns")
        })?;
        let weights = finite_values(weights, "the coefficients")?;
        let add = self.next(&matmul.output[0], "Add")?;
        attributes(add, &[])?;
        let intercepts = self.vector(&add.input[1], "the intercepts", precision, columns, false)?;
        let scores = add.output[0].as_str();
        let readers: Vec<usize> = self.consumers.get(scores).cloned().unwrap_or_default();
        // A one-vs-rest model reads its scores twice more, for their log-sigmoids; a label
        // by thresholds reads the probabilities instead of the scores.
        let one_vs_rest = readers.len() == 3 && columns > 2;
        ensure((1..=2).contains(&readers.len()) || one_vs_rest, || {
            format!(
                "the scores are read by {} nodes; expected an activation and an ArgMax",
                readers.len()
            )
        })?;
        let (mut activation, mut argmax) = (None, None);
        if one_vs_rest {
            let softmax = self.log_sigmoids(scores, precision)?;
            activation = Some(("LOGISTIC", softmax));
        }
        for index in readers {
            let node = &self.nodes[index];
            match node.op_type() {
                "Abs" | "Min" if one_vs_rest => {}
                "Softmax" if !one_vs_rest => {
                    self.take(index)?;
                    activation = Some(("SOFTMAX", softmax_over_classes(node)?));
                }
                "ArgMax" => {
                    self.take(index)?;
                    argmax = Some(first_largest_per_row(node)?);
                }
                other => {
                    return Err(format!(
                        "{} ({:?}) reads the scores",
                        node_label(index, node),
                        short(other)
                    ));
                }
            }
        }
        let (post_transform, activation) = activation.ok_or("the scores need an activation")?;
        let proba = activation.output[0].as_str();
        let (label, classes, thresholds) = match argmax {
            Some(argmax) => {
                ensure(self.reader(proba)?.is_none(), || {
                    "the probabilities are read though the label is read from the scores".into()
                })?;
                let (label, classes) = self.class_label(&argmax.output[0], columns)?;
                (label, classes, None)
            }
            None => {
                let (label, classes, thresholds) =
                    self.thresholded_label(proba, precision, columns)?;
                (label, classes, Some(thresholds))
            }
        };
        // Coefficients as rows (one per score column), as the LinearClassifier holds them.
        let rows: Vec<f64> = (0..columns)
            .flat_map(|c| (0..f).map(move |j| (c, j)))
            .map(|(c, j)| weights[j * columns + c])
            .collect();
        Ok(Recognised {
            flavor: Flavor::Standard,
            scaler,
            classifier: ClassifierParams {
                coefficients: rows,
                rows: columns,
                intercepts,
                post_transform: post_transform.into(),
                multi_class: i64::from(columns > 2),
            },
            normalizer: one_vs_rest.then(|| "L1".to_owned()),
            classes,
            probability_type: precision,
            label_output: label,
            probability_output: proba,
            string_classifier: None,
            category_mapper: None,
            thresholds,
        })
    }

    /// The class label a Gather reads at the index `index` from a constant list of
    /// `columns` labels: the label output and the classes.
    fn class_label(&mut self, index: &str, columns: usize) -> Check<(&'a str, Classes)> {
        let gather = self.next_argument(index, "Gather")?;
        let attrs = attributes(gather, &[("axis", AttributeType::Int)])?;
        ensure(attrs.get("axis").map_or(0, |a| a.i()) == 0, || {
            "the Gather must read the class labels along axis 0".into()
        })?;
        let classes = self.labels(&gather.input[0])?;
        ensure(classes.len() == columns, || {
            format!("{} class labels for {columns} score columns", classes.len())
        })?;
        Ok((&gather.output[0], classes))
    }

    /// The label by thresholds: the probabilities `proba` divided by a constant vector of
    /// thresholds (each positive and finite), the first largest quotient's class label.
    /// Returns the label output, the classes and the thresholds.
    fn thresholded_label(
        &mut self,
        proba: &str,
        precision: Precision,
        columns: usize,
    ) -> Check<(&'a str, Classes, Vec<f64>)> {
        let div = self.next(proba, "Div")?;
        attributes(div, &[])?;
        let thresholds =
            self.vector(&div.input[1], "the class thresholds", precision, columns, false)?;
        ensure(thresholds.iter().all(|&t| t > 0.0), || {
            format!("the class thresholds {thresholds:?} are not all above 0")
        })?;
        let argmax = self.next(&div.output[0], "ArgMax")?;
        first_largest_per_row(argmax)?;
        let (label, classes) = self.class_label(&argmax.output[0], columns)?;
        Ok((label, classes, thresholds))
    }

    /// The one-vs-rest probabilities of `scores`: `min(s, 0) - log(exp(-|s|) + 1)`, then a
    /// Softmax over the classes (each sigmoid divided by the row's sum). Returns the Softmax.
    fn log_sigmoids(&mut self, scores: &str, precision: Precision) -> Check<&'a NodeProto> {
        let abs = self.next_among(scores, "Abs")?;
        let negate = self.next(&abs.output[0], "Mul")?;
        self.scalar(&negate.input[1], -1.0, precision)?;
        let exp = self.next(&negate.output[0], "Exp")?;
        let add = self.next(&exp.output[0], "Add")?;
        self.scalar(&add.input[1], 1.0, precision)?;
        let log = self.next(&add.output[0], "Log")?;
        let min = self.next_among(scores, "Min")?;
        self.scalar(&min.input[1], 0.0, precision)?;
        let sub = self.next(&min.output[0], "Sub")?;
        for node in [abs, negate, exp, add, log, min, sub] {
            attributes(node, &[])?;
        }
        ensure(sub.input[1] == log.output[0], || {
            "the log-sigmoids must be min(s, 0) minus the logarithm".into()
        })?;
        let softmax = self.next(&sub.output[0], "Softmax")?;
        softmax_over_classes(softmax)
    }

    /// The constant `name` holds `value`, a scalar of `precision`.
    fn scalar(&mut self, name: &str, value: f64, precision: Precision) -> Check<()> {
        let held = self.vector(name, "a constant", precision, 1, true)?;
        ensure(held == [value], || format!("{:?} holds {held:?}, expected {value}", short(name)))
    }

    /// Takes the one `op` among the nodes reading `tensor`, with `tensor` its first input.
    fn next_among(&mut self, tensor: &str, op: &str) -> Check<&'a NodeProto> {
        let readers = self.consumers.get(tensor).cloned().unwrap_or_default();
        let mut found = readers.into_iter().filter(|&i| self.nodes[i].op_type() == op);
        let (Some(index), None) = (found.next(), found.next()) else {
            return Err(format!("{:?} must be read by one {op}", short(tensor)));
        };
        let node = &self.nodes[index];
        ensure(node.input.first().map(String::as_str) == Some(tensor), || {
            format!("{} takes {:?} in the wrong place", node_label(index, node), short(tensor))
        })?;
        self.take(index)?;
        Ok(node)
    }

    /// Takes the node reading `tensor` as its second input (Gather reads the labels first).
    fn next_argument(&mut self, tensor: &str, op: &str) -> Check<&'a NodeProto> {
        let (index, node) = self.reader_of(tensor, op)?;
        self.take(index)?; // so it has two inputs
        ensure(node.input[1] == tensor, || {
            format!("{} takes {:?} in the wrong place", node_label(index, node), short(tensor))
        })?;
        Ok(node)
    }

    /// The class labels of a Gather: a constant vector of INT64 or STRING, distinct.
    fn labels(&mut self, name: &str) -> Check<Classes> {
        let tensor = self.constant(name, "the class labels")?;
        ensure(tensor.dims.len() == 1, || {
            format!("the class labels have shape {:?}", tensor.dims)
        })?;
        let classes = match DataType::try_from(tensor.data_type()) {
            Ok(DataType::Int64) => Classes::Ints(match &tensor.raw_data {
                Some(raw) => raw
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
                None => tensor.int64_data.clone(),
            }),
            Ok(DataType::String) => Classes::Strings(
                tensor
                    .string_data
                    .iter()
                    .map(|s| {
                        ensure(s.len() <= MAX_STRING_BYTES, || {
                            format!("a class label is {} bytes long", s.len())
                        })?;
                        String::from_utf8(s.clone())
                            .map_err(|_| "a class label is not UTF-8".to_owned())
                    })
                    .collect::<Check<_>>()?,
            ),
            _ => {
                return Err(format!(
                    "the class labels are {}, not INT64 or STRING",
                    elem_type_name(tensor.data_type())
                ));
            }
        };
        ensure(distinct(&classes), || "the class labels list a class twice".into())?;
        Ok(classes)
    }

    /// Every node and initializer took part in the match.
    pub(super) fn all_used(&self) -> Check<()> {
        if let Some(index) = self.used_nodes.iter().position(|used| !used) {
            return Err(format!(
                "{} is not part of a graph onnxify recognises",
                node_label(index, &self.nodes[index])
            ));
        }
        if let Some(name) = self.constants.keys().find(|k| !self.used_constants.contains(*k)) {
            return Err(format!(
                "the initializer {:?} is not used by a graph onnxify recognises",
                short(name)
            ));
        }
        Ok(())
    }
}

/// `node`, an ArgMax picking the first largest value of each row.
fn first_largest_per_row(node: &NodeProto) -> Check<&NodeProto> {
    let attrs = attributes(
        node,
        &[
            ("axis", AttributeType::Int),
            ("keepdims", AttributeType::Int),
            ("select_last_index", AttributeType::Int),
        ],
    )?;
    let get = |name: &str, default: i64| attrs.get(name).map_or(default, |a| a.i());
    ensure(
        (get("axis", 0) == 1 || get("axis", 0) == -1)
            && get("keepdims", 1) == 0
            && get("select_last_index", 0) == 0,
        || "the ArgMax must pick the first largest value per row (axis 1, keepdims 0)".into(),
    )?;
    Ok(node)
}

/// `node`, a Softmax over the classes (axis 1).
fn softmax_over_classes(node: &NodeProto) -> Check<&NodeProto> {
    let attrs = attributes(node, &[("axis", AttributeType::Int)])?;
    let axis = attrs.get("axis").map_or(1, |a| a.i());
    ensure(axis == 1 || axis == -1, || {
        format!("the Softmax is over axis {axis}, not the classes")
    })?;
    Ok(node)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::super::check::check_model;
    use super::super::graph::{GraphOptions, GraphSpec, Ops, model_bytes};
    use super::super::pb::ModelProto;
    use super::super::wire;
    use super::*;
    use crate::model::{FittedLogisticRegression, FittedStandardScaler, Pipeline};
    use ndarray::array;

    /// A pipeline with parameters chosen here, so that what the walk reads back can be
    /// compared with them.
    fn pipeline(classes: Classes) -> Pipeline {
        let rows = if classes.len() == 2 { 1 } else { classes.len() };
        let coef = ndarray::Array2::from_shape_fn((rows, 2), |(i, j)| (i * 2 + j) as f64 + 0.5);
        Pipeline::from_parts(
            FittedStandardScaler::from_parameters(array![1.0, -2.0], array![4.0, 0.5]),
            FittedLogisticRegression::from_parameters(coef, ndarray::Array1::zeros(rows), 3),
            classes,
        )
    }

    fn model(pipeline: &Pipeline, options: GraphOptions) -> ModelProto {
        let names = ["a".to_owned(), "b".to_owned()];
        let spec = GraphSpec {
            pipeline,
            input_name: super::super::graph::INPUT,
            feature_names: &names,
            options,
            input: options.input_candidates()[0],
            doc_string: String::new(),
            metadata: vec![],
        };
        ModelProto::decode(&model_bytes(&spec)[..]).unwrap()
    }

    fn checked(model: &ModelProto) -> Check<crate::onnx::ModelInfo> {
        let bytes = model.encode_to_vec();
        let layout = wire::walk(&bytes).map_err(|_| "the wire walk stopped".to_owned())?;
        check_model(model, &layout).map(|(info, _)| info)
    }

    #[test]
    fn the_ml_graph_is_recognised_with_the_parameters_it_was_written_with() {
        let classes = Classes::Strings(vec!["x".into(), "y".into(), "z".into()]);
        let info = checked(&model(&pipeline(classes.clone()), GraphOptions::default())).unwrap();
        assert_eq!(info.flavor, Flavor::Ml);
        assert_eq!(info.classes, classes);
        assert_eq!(info.n_features, 2);
        let (mean, scale) = info.scaler.as_ref().unwrap().mean_and_scale(2);
        assert_eq!(mean, [1.0, -2.0]);
        // The Scaler multiplies by 1 / scale in float32.
        assert_eq!(scale, [1.0 / f64::from(0.25f32), 1.0 / f64::from(2.0f32)]);
    }

    #[test]
    fn the_standard_graph_is_recognised_too() {
        let options = GraphOptions { ops: Ops::Standard, ..GraphOptions::default() };
        let info = checked(&model(&pipeline(Classes::Ints(vec![4, 9])), options)).unwrap();
        assert_eq!(info.flavor, Flavor::Standard);
        assert_eq!(info.classes, Classes::Ints(vec![4, 9]));
    }

    #[test]
    fn a_label_by_thresholds_is_recognised_in_both_flavors() {
        for classes in
            [Classes::Strings(vec!["x".into(), "y".into(), "z".into()]), Classes::Ints(vec![3, 5])]
        {
            let k = classes.len();
            let thresholds: Vec<f64> = (1..=k).map(|c| c as f64 / 8.0).collect();
            let plain = pipeline(classes.clone());
            let thresholded = Pipeline::from_parts(
                plain.scaler().clone(),
                plain
                    .classifier()
                    .clone()
                    .with_decision(crate::model::Decision::ClassThresholds(thresholds.clone())),
                classes.clone(),
            );
            for ops in [Ops::Ml, Ops::Standard] {
                let options = GraphOptions { ops, ..GraphOptions::default() };
                let info = checked(&model(&thresholded, options)).unwrap();
                assert_eq!(info.classes, classes, "{ops:?}");
                assert_eq!(info.thresholds.as_deref(), Some(&thresholds[..]), "{ops:?}");
                assert_eq!(info.label_output, "label", "{ops:?}");
                assert_eq!(checked(&model(&plain, options)).unwrap().thresholds, None, "{ops:?}");
            }
        }
    }

    #[test]
    fn a_threshold_of_zero_is_refused() {
        let plain = pipeline(Classes::Ints(vec![0, 1]));
        let thresholded = Pipeline::from_parts(
            plain.scaler().clone(),
            plain.classifier().clone().with_decision(crate::model::Decision::Threshold(0.25)),
            plain.classes().clone(),
        );
        let mut model = model(&thresholded, GraphOptions::default());
        let graph = model.graph.as_mut().unwrap();
        let t = graph.initializer.iter_mut().find(|t| t.name() == "class_thresholds").unwrap();
        assert_eq!(t.float_data, [0.75, 0.25]);
        t.float_data[1] = 0.0;
        let error = checked(&model).unwrap_err();
        assert!(error.contains("not all above 0"), "{error}");
    }

    #[test]
    fn an_initializer_no_node_reads_is_refused() {
        let options = GraphOptions { ops: Ops::Standard, ..GraphOptions::default() };
        let mut model = model(&pipeline(Classes::Ints(vec![0, 1])), options);
        let graph = model.graph.as_mut().unwrap();
        let mut spare = graph.initializer[0].clone();
        spare.name = Some("spare".into());
        graph.initializer.push(spare);
        let error = checked(&model).unwrap_err();
        assert!(error.contains("\"spare\""), "{error}");
    }

    #[test]
    fn a_classifier_with_a_post_transform_outside_the_list_is_refused() {
        let mut model = model(&pipeline(Classes::Ints(vec![0, 1, 2])), GraphOptions::default());
        let graph = model.graph.as_mut().unwrap();
        let classifier = graph.node.iter_mut().find(|n| n.op_type() == "LinearClassifier").unwrap();
        let transform =
            classifier.attribute.iter_mut().find(|a| a.name() == "post_transform").unwrap();
        transform.s = Some(b"SOFTMAX_ZERO".to_vec());
        let error = checked(&model).unwrap_err();
        assert!(error.contains("post_transform \"SOFTMAX_ZERO\" is not supported"), "{error}");
    }

    #[test]
    fn a_node_out_of_the_pattern_is_refused_by_its_label() {
        let mut model = model(&pipeline(Classes::Ints(vec![0, 1])), GraphOptions::default());
        let graph = model.graph.as_mut().unwrap();
        graph.node[0].op_type = Some("Normalizer".into());
        let error = checked(&model).unwrap_err();
        assert!(error.contains("node 1"), "{error}");
    }

    #[test]
    fn arities_follow_the_operator() {
        assert_eq!(arity("LinearClassifier"), (1, 2));
        assert_eq!(arity("MatMul"), (2, 1));
        assert_eq!(arity("Softmax"), (1, 1));
    }
}
