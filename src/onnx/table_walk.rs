//! The node-pattern walk of a column pipeline's graph (see [`super::table_graph`]): the numeric
//! inputs gathered, imputed (with indicators), scaled; each text input one-hot encoded; all of
//! it concatenated into the features the classifier of [`super::walk`] reads.

use super::graph::{InputLayout, Precision};
use super::limits::*;
use super::model::ScalerParams;
use super::pb::{NodeProto, TensorProto, attribute_proto::AttributeType, tensor_proto::DataType};
use super::readers::*;
use super::walk::{Recognised, Walk};
use crate::model::CategoryKind;

/// A graph input as the table walk sees it.
#[derive(Debug, Clone)]
pub(super) struct TableInput<'a> {
    pub(super) name: &'a str,
    /// The numbers' precision; `None` for a category input (STRING or INT64).
    pub(super) precision: Option<Precision>,
    /// How a category input's values are typed (INT64: integers).
    pub(super) kind: CategoryKind,
    /// The second dimension.
    pub(super) width: usize,
}

/// What the table walk recognised besides the classifier.
#[derive(Debug, Clone)]
pub(super) struct TableFront {
    pub(super) layout: InputLayout,
    /// Per-column layout: the numeric and text inputs, in design order. Grouped: empty.
    pub(super) numeric: Vec<String>,
    pub(super) categorical: Vec<String>,
    pub(super) n_numeric: usize,
    pub(super) numeric_type: Option<Precision>,
    pub(super) statistics: Vec<f64>,
    pub(super) indicator_features: Vec<usize>,
    pub(super) scaler: Option<ScalerParams>,
    /// Per categorical column, its categories (integers as their decimal spellings) and kind.
    pub(super) categories: Vec<Vec<String>>,
    pub(super) kinds: Vec<CategoryKind>,
    /// The text a missing cell is fed as: "" in onnxify's graphs, "nan" in scikit-learn's
    /// converter's (which keeps a missing category as the text of a NaN).
    pub(super) missing_text: &'static str,
}

impl<'a> Walk<'a> {
    /// The nodes reading `tensor` (any number).
    fn readers(&self, tensor: &str) -> Vec<usize> {
        self.consumers.get(tensor).cloned().unwrap_or_default()
    }

    /// The one node of type `op` among the readers of `tensor`, taken.
    fn take_reader(&mut self, tensor: &str, op: &str) -> Check<&'a NodeProto> {
        let found: Vec<usize> =
            self.readers(tensor).into_iter().filter(|&i| self.nodes[i].op_type() == op).collect();
        ensure(found.len() == 1, || {
            format!("{:?} must be read by exactly one {op}, not {}", short(tensor), found.len())
        })?;
        self.take(found[0])?;
        Ok(&self.nodes[found[0]])
    }

    /// Every reader of `tensor` is one of `ops`, each at most once.
    fn readers_are(&self, tensor: &str, ops: &[&str]) -> Check<()> {
        let readers = self.readers(tensor);
        for &i in &readers {
            let op = self.nodes[i].op_type();
            ensure(ops.contains(&op), || {
                format!(
                    "{} reads {:?}; expected only {}",
                    node_label(i, &self.nodes[i]),
                    short(tensor),
                    ops.join(" and ")
                )
            })?;
        }
        ensure(readers.len() <= ops.len(), || {
            format!("{:?} is read by too many nodes", short(tensor))
        })
    }

    /// Matches the graph of a column pipeline from its inputs; returns the front and the
    /// classifier.
    pub(super) fn table(
        &mut self,
        inputs: &[TableInput<'a>],
    ) -> Check<(TableFront, Recognised<'a>)> {
        let numbers: Vec<&TableInput> = inputs.iter().filter(|i| i.precision.is_some()).collect();
        let texts: Vec<&TableInput> = inputs.iter().filter(|i| i.precision.is_none()).collect();
        let grouped = inputs.iter().any(|i| i.width != 1)
            || (texts.len() == 1
                && self
                    .readers(texts[0].name)
                    .iter()
                    .all(|&r| self.nodes[r].op_type() == "Gather"));
        let layout = if grouped { InputLayout::Grouped } else { InputLayout::Columns };
        let numeric_type = numbers.first().and_then(|i| i.precision);
        ensure(numbers.iter().all(|i| i.precision == numeric_type), || {
            "the numeric inputs differ in type".into()
        })?;
        if grouped {
            ensure(numbers.len() <= 1 && texts.len() <= 1, || {
                "a grouped graph has one numeric and one text input at most".into()
            })?;
            ensure(texts.iter().all(|t| t.kind == CategoryKind::Text), || {
                "a grouped graph's categorical input must be STRING".into()
            })?;
        }

        let mut blocks: Vec<&'a str> = Vec::new();
        let mut precisions: Vec<Precision> = Vec::new();
        let mut front = TableFront {
            layout,
            numeric: Vec::new(),
            categorical: Vec::new(),
            n_numeric: 0,
            numeric_type,
            statistics: Vec::new(),
            indicator_features: Vec::new(),
            scaler: None,
            categories: Vec::new(),
            kinds: Vec::new(),
            missing_text: "",
        };
        if let Some(precision) = numeric_type {
            let numeric: &'a str = if grouped {
                front.n_numeric = numbers[0].width;
                numbers[0].name
            } else {
                let concat = self.take_reader(numbers[0].name, "Concat")?;
                ensure(concat.input.len() == numbers.len() && concat.output.len() == 1, || {
                    "the numeric inputs are not gathered by one Concat".into()
                })?;
                for (input, expected) in concat.input.iter().zip(&numbers) {
                    ensure(input == expected.name, || {
                        format!(
                            "the Concat of the numeric inputs reads {:?} out of order",
                            short(input)
                        )
                    })?;
                    self.readers_are(expected.name, &["Concat"])?;
                }
                axis_one(concat)?;
                front.numeric = numbers.iter().map(|i| i.name.to_owned()).collect();
                front.n_numeric = numbers.len();
                &concat.output[0]
            };
            let (block, block_precision) = self.numeric_block(numeric, precision, &mut front)?;
            blocks.push(block);
            precisions.push(block_precision);
        }

        if grouped {
            if let Some(text) = texts.first() {
                let gathers = self.readers(text.name);
                ensure(gathers.len() == text.width, || {
                    format!(
                        "the text input has {} columns but {} readers",
                        text.width,
                        gathers.len()
                    )
                })?;
                let mut selected: Vec<Option<&'a str>> = vec![None; text.width];
                for index in gathers {
                    let node = &self.nodes[index];
                    ensure(
                        node.op_type() == "Gather"
                            && node.input.len() == 2
                            && node.input[0] == text.name,
                        || {
                            format!(
                                "{} reads the text input where a Gather was expected",
                                node_label(index, node)
                            )
                        },
                    )?;
                    self.take(index)?;
                    axis_one(node)?;
                    let k = self.single_index(&node.input[1], text.width)?;
                    ensure(selected[k].replace(&node.output[0]).is_none(), || {
                        format!("text column {k} is selected twice")
                    })?;
                }
                for (k, column) in selected.into_iter().enumerate() {
                    let column =
                        column.ok_or_else(|| format!("text column {k} is never selected"))?;
                    let (block, categories, block_precision) =
                        self.one_hot_block(column, CategoryKind::Text)?;
                    blocks.push(block);
                    precisions.push(block_precision);
                    front.categories.push(categories);
                    front.kinds.push(CategoryKind::Text);
                }
            }
        } else if self.encoders_concatenated(&texts) {
            // scikit-learn's converter: every encoder's output concatenated, then one Reshape.
            let (block, columns) = self.one_hot_group(&texts)?;
            blocks.push(block);
            precisions.push(Precision::Float32);
            for (text, categories) in columns {
                front.categorical.push(text.name.to_owned());
                front.categories.push(categories);
                front.kinds.push(text.kind);
            }
            front.missing_text = "nan";
        } else {
            for text in &texts {
                let (block, categories, block_precision) =
                    self.one_hot_block(text.name, text.kind)?;
                blocks.push(block);
                precisions.push(block_precision);
                front.categories.push(categories);
                front.kinds.push(text.kind);
                front.categorical.push(text.name.to_owned());
            }
        }

        // The features: the blocks concatenated in order.
        let first = blocks.first().ok_or("the graph has no inputs")?;
        let concat = self.take_reader(first, "Concat")?;
        ensure(
            concat.input.iter().map(String::as_str).eq(blocks.iter().copied())
                && concat.output.len() == 1,
            || {
                "the features are not the numeric block and the one-hot blocks concatenated in order".into()
            },
        )?;
        for block in &blocks {
            self.readers_are(block, &["Concat"])?;
        }
        axis_one(concat)?;
        let width = front.n_numeric
            + front.indicator_features.len()
            + front.categories.iter().map(Vec::len).sum::<usize>();
        ensure(width <= MAX_FEATURES, || format!("the graph has {width} features"))?;
        self.n_features = width;
        let features: &'a str = &concat.output[0];
        let (index, node) = self.reader(features)?.ok_or("nothing reads the features")?;
        let precision = precisions[0];
        ensure(precisions.iter().all(|&p| p == precision), || {
            "the feature blocks differ in type".into()
        })?;
        let mut recognised = match node.op_type() {
            "LinearClassifier" => self.ml_classifier(features, index, None)?,
            "MatMul" => self.standard_classifier(features, precision, None)?,
            _ => {
                return Err(format!(
                    "{} reads the features where a LinearClassifier or MatMul was expected",
                    node_label(index, node)
                ));
            }
        };
        recognised.scaler = front.scaler.clone();
        Ok((front, recognised))
    }

    /// IsNaN, Where, the indicators and the scaling of the numeric block.
    fn numeric_block(
        &mut self,
        numeric: &'a str,
        precision: Precision,
        front: &mut TableFront,
    ) -> Check<(&'a str, Precision)> {
        let n = front.n_numeric;
        let imputer_reads = match self.readers(numeric).as_slice() {
            [i] => self.nodes[*i].op_type() == "Imputer",
            _ => false,
        };
        if imputer_reads {
            // scikit-learn's converter: an ai.onnx.ml Imputer on float input, then the Scaler.
            ensure(precision == Precision::Float32, || "the Imputer reads a DOUBLE input".into())?;
            let imputer = self.next(numeric, "Imputer")?;
            front.statistics = imputer_statistics(imputer, n)?;
            let (scaled, scaled_precision, scaler) =
                self.scaling(&imputer.output[0], precision, n)?;
            front.scaler = Some(scaler.ok_or("the numeric block is not scaled")?);
            return Ok((scaled, scaled_precision));
        }
        self.readers_are(numeric, &["IsNaN", "Where"])?;
        let isnan = self.take_reader(numeric, "IsNaN")?;
        ensure(isnan.input.len() == 1 && isnan.output.len() == 1, || {
            "IsNaN takes one input".into()
        })?;
        attributes(isnan, &[])?;
        let missing: &'a str = &isnan.output[0];
        self.readers_are(missing, &["Where", "Gather"])?;
        let fill = self.take_reader(missing, "Where")?;
        ensure(
            fill.input.len() == 3
                && fill.output.len() == 1
                && fill.input[0] == missing
                && fill.input[2] == numeric,
            || "the imputation must be Where(IsNaN(x), statistics, x)".into(),
        )?;
        attributes(fill, &[])?;
        front.statistics =
            self.vector(&fill.input[1], "the imputer statistics", precision, n, false)?;
        let mut x: &'a str = &fill.output[0];
        let mut width = n;
        if self.readers(missing).iter().any(|&i| self.nodes[i].op_type() == "Gather") {
            let gather = self.take_reader(missing, "Gather")?;
            ensure(
                gather.input.len() == 2 && gather.input[0] == missing && gather.output.len() == 1,
                || "the indicators must Gather columns of IsNaN's output".into(),
            )?;
            axis_one(gather)?;
            let columns = self.indices(&gather.input[1], n)?;
            let cast = self.next(&gather.output[0], "Cast")?;
            ensure(cast_target(cast)? == precision, || {
                "the indicators are cast to another type".into()
            })?;
            let concat = self.take_reader(x, "Concat")?;
            ensure(
                concat.input.len() == 2
                    && concat.input[0] == x
                    && concat.input[1] == cast.output[0]
                    && concat.output.len() == 1,
                || "the indicators must be appended after the imputed columns".into(),
            )?;
            self.readers_are(&cast.output[0], &["Concat"])?;
            axis_one(concat)?;
            width += columns.len();
            front.indicator_features = columns;
            x = &concat.output[0];
        }
        self.readers_are(x, &["Scaler", "Sub"])?;
        let (scaled, scaled_precision, scaler) = self.scaling(x, precision, width)?;
        let scaler = scaler.ok_or("the numeric block is not scaled")?;
        front.scaler = Some(scaler);
        Ok((scaled, scaled_precision))
    }

    /// The one-hot block of a categorical column `[N, 1]`: OneHotEncoder -> Reshape, or
    /// Equal -> Cast.
    fn one_hot_block(
        &mut self,
        text: &'a str,
        kind: CategoryKind,
    ) -> Check<(&'a str, Vec<String>, Precision)> {
        let (index, node) =
            self.reader(text)?.ok_or_else(|| format!("nothing reads {:?}", short(text)))?;
        match node.op_type() {
            "OneHotEncoder" => {
                let encoder = self.next(text, "OneHotEncoder")?;
                let categories = encoder_categories(encoder, kind)?;
                let reshape = self.next(&encoder.output[0], "Reshape")?;
                attributes(reshape, &[("allowzero", AttributeType::Int)])?;
                let shape = self.int_constant(&reshape.input[1], "the one-hot shape")?;
                ensure(shape == [-1, categories.len() as i64], || {
                    format!(
                        "the one-hot block is reshaped to {shape:?}, not [-1, {}]",
                        categories.len()
                    )
                })?;
                Ok((&reshape.output[0], categories, Precision::Float32))
            }
            "Equal" => {
                let equal = self.next(text, "Equal")?;
                attributes(equal, &[])?;
                let tensor = self.constant(&equal.input[1], "the categories")?;
                let data_type = match kind {
                    CategoryKind::Text => DataType::String,
                    CategoryKind::Integer => DataType::Int64,
                };
                ensure(
                    tensor.data_type() == data_type as i32
                        && tensor.dims.len() == 2
                        && tensor.dims[0] == 1,
                    || format!("the categories must be a {} constant [1, C]", kind_name(kind)),
                )?;
                let categories = match kind {
                    CategoryKind::Text => {
                        category_texts(tensor.string_data.iter().map(Vec::as_slice))?
                    }
                    CategoryKind::Integer => category_integers(&int64_values(tensor))?,
                };
                let cast = self.next(&equal.output[0], "Cast")?;
                Ok((&cast.output[0], categories, cast_target(cast)?))
            }
            _ => Err(format!(
                "{} reads the text column {:?} where a OneHotEncoder or Equal was expected",
                node_label(index, node),
                short(text)
            )),
        }
    }

    /// Whether the text inputs' encoders feed one Concat (scikit-learn's converter's layout).
    fn encoders_concatenated(&self, texts: &[&TableInput<'a>]) -> bool {
        let Some(text) = texts.first() else { return false };
        let encoder = match self.readers(text.name).as_slice() {
            [i] if self.nodes[*i].op_type() == "OneHotEncoder" => &self.nodes[*i],
            _ => return false,
        };
        encoder.output.first().is_some_and(|out| {
            self.readers(out).iter().any(|&r| self.nodes[r].op_type() == "Concat")
        })
    }

    /// Every text input one-hot encoded, the encoders' outputs concatenated along the last
    /// axis and reshaped to `[N, all categories]`; returns the block and each text column's
    /// name and categories, in the order of the concatenation.
    #[allow(clippy::type_complexity)]
    fn one_hot_group<'t>(
        &mut self,
        texts: &[&'t TableInput<'a>],
    ) -> Check<(&'a str, Vec<(&'t TableInput<'a>, Vec<String>)>)> {
        let mut encoded: Vec<(&'a str, &'t TableInput<'a>, Vec<String>)> = Vec::new();
        for &text in texts {
            let encoder = self.next(text.name, "OneHotEncoder")?;
            encoded.push((&encoder.output[0], text, encoder_categories(encoder, text.kind)?));
        }
        let concat = self.take_reader(encoded[0].0, "Concat")?;
        ensure(concat.input.len() == encoded.len() && concat.output.len() == 1, || {
            "the one-hot Concat does not read every encoder once".into()
        })?;
        let attrs = attributes(concat, &[("axis", AttributeType::Int)])?;
        ensure(matches!(attrs.get("axis").map(|a| a.i()), Some(-1 | 2)), || {
            "the encoders must be concatenated along their last axis".into()
        })?;
        let mut columns = Vec::with_capacity(encoded.len());
        for input in &concat.input {
            let at = encoded
                .iter()
                .position(|(out, _, _)| out == input)
                .ok_or_else(|| format!("the one-hot Concat reads {:?}", short(input)))?;
            let (out, name, categories) = encoded.swap_remove(at);
            self.readers_are(out, &["Concat"])?;
            columns.push((name, categories));
        }
        let reshape = self.next(&concat.output[0], "Reshape")?;
        attributes(reshape, &[("allowzero", AttributeType::Int)])?;
        let total: usize = columns.iter().map(|(_, c)| c.len()).sum();
        let shape = self.int_constant(&reshape.input[1], "the one-hot shape")?;
        ensure(shape == [-1, total as i64], || {
            format!("the one-hot blocks are reshaped to {shape:?}, not [-1, {total}]")
        })?;
        Ok((&reshape.output[0], columns))
    }

    /// An INT64 constant's values.
    fn int_constant(&mut self, name: &str, what: &str) -> Check<Vec<i64>> {
        let tensor: &TensorProto = self.constant(name, what)?;
        ensure(tensor.data_type() == DataType::Int64 as i32 && tensor.dims.len() == 1, || {
            format!("{what} {:?} is not a one-dimensional INT64 constant", short(name))
        })?;
        Ok(int64_values(tensor))
    }

    /// Indicator columns: increasing, below `n`.
    fn indices(&mut self, name: &str, n: usize) -> Check<Vec<usize>> {
        let values = self.int_constant(name, "the indicator columns")?;
        ensure(
            !values.is_empty()
                && values.windows(2).all(|w| w[0] < w[1])
                && values.iter().all(|&v| (0..n as i64).contains(&v)),
            || format!("the indicator columns {values:?} are not increasing columns below {n}"),
        )?;
        Ok(values.into_iter().map(|v| v as usize).collect())
    }

    /// The one index a grouped text column's Gather selects.
    fn single_index(&mut self, name: &str, width: usize) -> Check<usize> {
        let values = self.int_constant(name, "the text column index")?;
        match values.as_slice() {
            [k] if (0..width as i64).contains(k) => Ok(*k as usize),
            _ => Err(format!("the text column index {values:?} is not one column below {width}")),
        }
    }
}

/// An INT64 tensor's values.
fn int64_values(tensor: &TensorProto) -> Vec<i64> {
    match &tensor.raw_data {
        Some(raw) => raw
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        None => tensor.int64_data.clone(),
    }
}

/// A OneHotEncoder's categories (strings, or integers for an INT64 column), an unknown value
/// encoded as zeros.
fn encoder_categories(encoder: &NodeProto, kind: CategoryKind) -> Check<Vec<String>> {
    let attrs = attributes(
        encoder,
        &[
            ("cats_strings", AttributeType::Strings),
            ("cats_int64s", AttributeType::Ints),
            ("zeros", AttributeType::Int),
        ],
    )?;
    ensure(attrs.get("zeros").map_or(1, |a| a.i()) == 1, || {
        "the OneHotEncoder must encode an unknown value as zeros".into()
    })?;
    let (key, other) = match kind {
        CategoryKind::Text => ("cats_strings", "cats_int64s"),
        CategoryKind::Integer => ("cats_int64s", "cats_strings"),
    };
    ensure(!attrs.contains_key(other), || {
        format!("the OneHotEncoder of a {} input must list {key}", kind_name(kind))
    })?;
    let found = attrs.get(key).ok_or("the OneHotEncoder has no categories")?;
    match kind {
        CategoryKind::Text => category_texts(found.strings.iter().map(Vec::as_slice)),
        CategoryKind::Integer => category_integers(&found.ints),
    }
}

fn kind_name(kind: CategoryKind) -> &'static str {
    match kind {
        CategoryKind::Text => "STRING",
        CategoryKind::Integer => "INT64",
    }
}

/// Integer categories as their decimal spellings: distinct, at least one.
fn category_integers(values: &[i64]) -> Check<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    for v in values {
        ensure(seen.insert(*v), || format!("the category {v} is listed twice"))?;
    }
    ensure(!values.is_empty(), || "a categorical column has no categories".into())?;
    Ok(values.iter().map(i64::to_string).collect())
}

/// An ai.onnx.ml Imputer's fill values for `n` columns: `imputed_value_floats` (one per column,
/// or one for all), finite, replacing NaN (`replaced_value_float`, which the attribute check
/// would refuse as a non-finite number, is read apart).
fn imputer_statistics(imputer: &NodeProto, n: usize) -> Check<Vec<f64>> {
    let mut rest = imputer.clone();
    let replaced: Vec<_> =
        rest.attribute.iter().filter(|a| a.name() == "replaced_value_float").cloned().collect();
    rest.attribute.retain(|a| a.name() != "replaced_value_float");
    let attrs = attributes(&rest, &[("imputed_value_floats", AttributeType::Floats)])?;
    let replaces_nan = matches!(replaced.as_slice(), [a]
        if a.f.is_some_and(f32::is_nan)
            && a.r#type() == AttributeType::Float
            && a.floats.is_empty()
            && a.ints.is_empty()
            && a.strings.is_empty());
    ensure(replaces_nan, || "the Imputer must replace NaN (replaced_value_float)".into())?;
    let values = attrs
        .get("imputed_value_floats")
        .map(|a| &a.floats)
        .ok_or("the Imputer has no imputed_value_floats")?;
    ensure(values.len() == n || values.len() == 1, || {
        format!("the Imputer has {} values for {n} columns", values.len())
    })?;
    Ok((0..n).map(|j| f64::from(if values.len() == 1 { values[0] } else { values[j] })).collect())
}

/// The node concatenates or gathers along axis 1.
fn axis_one(node: &NodeProto) -> Check<()> {
    let attrs = attributes(node, &[("axis", AttributeType::Int)])?;
    ensure(attrs.get("axis").map(|a| a.i()) == Some(1), || {
        format!("{} {:?} must work along axis 1", short(node.op_type()), short(node.name()))
    })
}

/// The precision a Cast goes to.
fn cast_target(cast: &NodeProto) -> Check<Precision> {
    let attrs = attributes(cast, &[("to", AttributeType::Int), ("saturate", AttributeType::Int)])?;
    let to = attrs.get("to").map(|a| a.i()).unwrap_or_default();
    i32::try_from(to)
        .ok()
        .and_then(precision_of)
        .ok_or_else(|| format!("the Cast goes to type {to}, not FLOAT or DOUBLE"))
}

/// Categories as text: UTF-8, each within the string limit, distinct, at least one.
fn category_texts<'b>(values: impl Iterator<Item = &'b [u8]>) -> Check<Vec<String>> {
    let mut texts = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for value in values {
        ensure(value.len() <= MAX_STRING_BYTES, || {
            format!("a category is {} bytes long", value.len())
        })?;
        let text =
            String::from_utf8(value.to_vec()).map_err(|_| "a category is not UTF-8".to_owned())?;
        ensure(seen.insert(text.clone()), || {
            format!("the category {:?} is listed twice", short(&text))
        })?;
        texts.push(text);
    }
    ensure(!texts.is_empty(), || "a text column has no categories".into())?;
    Ok(texts)
}
