//! The encoders of a ColumnTransformer's text columns, read as data: `OneHotEncoder` (unseen,
//! infrequent and dropped categories, missing values as a category) and `OrdinalEncoder`
//! (unknown and missing values encoded as given). Each column's outputs are evaluated for
//! every token the column can hold: its known texts, missing, and unseen text.

use super::{Checked, Problem, Tree, malformed, unsupported};
use crate::model::column_rewrite::{Output, Role, Token};
use crate::model::{Category, CategoryKind};
use crate::pickle::allow::Allowed;
use crate::pickle::machine::{Array, Elements, Id, Value};
use crate::pickle::numpy::Kind;

impl<'a> Tree<'a> {
    /// A OneHotEncoder or OrdinalEncoder on text columns (after text imputers' `fills`), and
    /// after them on the missing indicators a text imputer appended for `flags` (positions in
    /// `columns`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn encoder(
        &self,
        step: &str,
        class: Allowed,
        state: Id,
        columns: &[usize],
        names: &[String],
        fills: &[Option<String>],
        flags: &[usize],
        roles: &mut [Option<Role>],
    ) -> Checked<Vec<Output>> {
        let width = columns.len() + flags.len();
        self.check_n_features(step, state, width)?;
        let (categories, kinds) =
            self.encoder_categories(step, state, columns.len(), flags.len())?;
        let encoding = Encoding::read(self, step, class, state, &categories)?;
        let mut outputs = Vec::new();
        let mut universes = Vec::with_capacity(columns.len());
        for (k, &j) in columns.iter().enumerate() {
            // The column's tokens: unseen, missing, then every text the file names for it.
            let mut universe = vec![Token::Unseen, Token::Missing];
            for text in categories[k].iter().flatten().chain(fills[k].iter()) {
                if text.is_empty() && kinds[k] == CategoryKind::Text {
                    return unsupported(format!(
                        "column {:?} has the empty text as a category; onnxify's models take \
                         the empty text as a missing value",
                        names[j]
                    ));
                }
                let token = Token::Known(text.clone());
                if !universe.contains(&token) {
                    universe.push(token);
                }
            }
            let per_token: Vec<Vec<Option<f64>>> = universe
                .iter()
                .map(|token| {
                    let token = match (token, &fills[k]) {
                        (Token::Missing, Some(fill)) => Token::Known(fill.clone()),
                        (token, _) => token.clone(),
                    };
                    encoding.encode(k, &categories[k], &token)
                })
                .collect();
            push_outputs(&mut outputs, j, encoding.width(k), &per_token);
            universes.push(universe);
        }
        // A missing indicator reads its column's tokens as True (missing) or False (any text).
        for (f, &k) in flags.iter().enumerate() {
            let e = columns.len() + f;
            let per_token: Vec<Vec<Option<f64>>> = universes[k]
                .iter()
                .map(|token| {
                    let flag = if *token == Token::Missing { TRUE } else { FALSE };
                    encoding.encode(e, &categories[e], &Token::Known(flag.into()))
                })
                .collect();
            push_outputs(&mut outputs, columns[k], encoding.width(e), &per_token);
        }
        for ((&j, universe), &kind) in columns.iter().zip(universes).zip(&kinds) {
            roles[j] = Some(Role::Text { universe, kind });
        }
        Ok(outputs)
    }

    /// `categories_`: per column, its categories (text, missing as `None`, last; or integers
    /// in decimal) and their kind; for the last `flags` columns, missing indicators, the
    /// booleans as [`TRUE`] and [`FALSE`].
    fn encoder_categories(
        &self,
        step: &str,
        state: Id,
        texts: usize,
        flags: usize,
    ) -> Checked<(Vec<Vec<Category>>, Vec<CategoryKind>)> {
        let Some(arrays) = self.column_list(step, state, "categories_", texts + flags)? else {
            return malformed(format!("the encoder {step:?} has no categories_ (is it fitted?)"));
        };
        let mut out = Vec::with_capacity(texts + flags);
        let mut kinds = Vec::with_capacity(texts + flags);
        for (k, &id) in arrays.iter().enumerate() {
            let Value::Array(array) = self.value(id) else {
                return malformed(format!("the encoder {step:?}'s categories_ holds a non-array"));
            };
            let integers = matches!(array.dtype.kind, Kind::Int | Kind::Unsigned);
            let categories = if k >= texts {
                self.flag_categories(step, array)?
            } else if integers && flags == 0 {
                self.integer_categories(step, array)?
            } else {
                self.category_array(step, array)?
            };
            kinds.push(if integers { CategoryKind::Integer } else { CategoryKind::Text });
            if categories.is_empty() {
                return malformed(format!("the encoder {step:?} has a column without categories"));
            }
            if categories[..categories.len() - 1].iter().any(Option::is_none) {
                return malformed(format!(
                    "the encoder {step:?} lists the missing category before the last place"
                ));
            }
            let mut known: Vec<&String> = categories.iter().flatten().collect();
            known.sort_unstable();
            known.dedup();
            if known.len() != categories.iter().flatten().count() {
                return malformed(format!("the encoder {step:?} lists a category twice"));
            }
            out.push(categories);
        }
        Ok((out, kinds))
    }

    /// The categories of an integer column (a 1-D int array), in decimal.
    fn integer_categories(&self, step: &str, array: &Array) -> Checked<Vec<Category>> {
        if array.shape.len() != 1 {
            return malformed(format!(
                "the encoder {step:?} has categories of shape {}",
                array.shape_text()
            ));
        }
        let values = array
            .integers(self.raw(array))
            .map_err(|e| Problem::Malformed(format!("{step}.categories_: {e}")))?;
        Ok(values.into_iter().map(|v| Some(v.to_string())).collect())
    }

    /// The categories of a missing indicator's column: Python booleans in an object array.
    fn flag_categories(&self, step: &str, array: &Array) -> Checked<Vec<Category>> {
        let flags: Option<Vec<Category>> = match (&array.elements, array.shape.len()) {
            (Elements::Objects(items), 1) => items
                .iter()
                .map(|&i| match self.value(i) {
                    Value::Bool(b) => Some(Some(if *b { TRUE } else { FALSE }.to_string())),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        flags.ok_or_else(|| {
            Problem::Malformed(format!(
                "the encoder {step:?} encodes a missing indicator, but its categories are not \
                 booleans"
            ))
        })
    }

    /// A 1-D array of texts, with NaN or None as missing.
    pub(super) fn category_array(&self, step: &str, array: &Array) -> Checked<Vec<Category>> {
        if array.shape.len() != 1 {
            return malformed(format!(
                "the encoder {step:?} has categories of shape {}",
                array.shape_text()
            ));
        }
        match (&array.elements, array.dtype.kind) {
            (_, Kind::Unicode) => Ok(array
                .unicode(self.raw(array))
                .map_err(|e| Problem::Malformed(format!("{step}.categories_: {e}")))?
                .into_iter()
                .map(Some)
                .collect()),
            (Elements::Objects(items), _) => items
                .iter()
                .map(|&i| match self.value(i) {
                    Value::Str(s) => Ok(Some(s.clone())),
                    Value::None => Ok(None),
                    Value::Float(x) if x.is_nan() => Ok(None),
                    other => unsupported(format!(
                        "the encoder {step:?} has a category of type {}; onnxify encodes text \
                         and integer columns",
                        other.kind()
                    )),
                })
                .collect(),
            _ => unsupported(format!(
                "the encoder {step:?} has categories of dtype {}; onnxify encodes text and \
                 integer columns",
                array.dtype
            )),
        }
    }

    /// Per column, the index an encoder drops (`drop_idx_`): an object array of ints and
    /// None, an int array, or None for no column.
    pub(super) fn drop_indices(
        &self,
        step: &str,
        state: Id,
        key: &str,
        columns: usize,
    ) -> Checked<Vec<Option<usize>>> {
        let bad = || malformed(format!("{step}.{key} is not a list of category indices"));
        let Some(id) = self.attr(state, key) else { return Ok(vec![None; columns]) };
        let items: Vec<Option<usize>> = match self.value(id) {
            Value::None => return Ok(vec![None; columns]),
            Value::Array(Array { elements: Elements::Objects(items), shape, .. })
                if shape.len() == 1 =>
            {
                let mut out = Vec::with_capacity(items.len());
                for &i in items {
                    out.push(match self.value(i) {
                        Value::None => None,
                        _ => match self.number(i) {
                            Some(x) if x >= 0.0 && x.fract() == 0.0 => Some(x as usize),
                            _ => return bad(),
                        },
                    });
                }
                out
            }
            _ => match self.ints(id) {
                Some(values) if values.iter().all(|&v| v >= 0) => {
                    values.into_iter().map(|v| Some(v as usize)).collect()
                }
                _ => return bad(),
            },
        };
        if items.len() != columns {
            return malformed(format!(
                "{step}.{key} has {} entries for {columns} columns",
                items.len()
            ));
        }
        Ok(items)
    }

    /// The list attribute `key`, one entry per column (`None` if the state has none).
    fn column_list(
        &self,
        step: &str,
        state: Id,
        key: &str,
        columns: usize,
    ) -> Checked<Option<&'a [Id]>> {
        let Some(id) = self.attr(state, key) else { return Ok(None) };
        let Value::List(items) = self.value(id) else {
            return malformed(format!("{step}.{key} is not a list"));
        };
        if items.len() != columns {
            return malformed(format!(
                "{step}.{key} has {} entries for {columns} columns",
                items.len()
            ));
        }
        Ok(Some(items))
    }

    /// Optional list attribute of per-column int arrays or None.
    pub(super) fn per_column_indices(
        &self,
        step: &str,
        state: Id,
        key: &str,
        columns: usize,
    ) -> Checked<Vec<Option<Vec<i64>>>> {
        let Some(items) = self.column_list(step, state, key, columns)? else {
            return Ok(vec![None; columns]);
        };
        items
            .iter()
            .map(|&i| match self.value(i) {
                Value::None => Ok(None),
                _ => self.ints(i).map(Some).ok_or_else(|| {
                    Problem::Malformed(format!("{step}.{key} holds something other than indices"))
                }),
            })
            .collect()
    }
}

/// How an indicator's booleans are spelled among a column's categories.
const TRUE: &str = "True";
const FALSE: &str = "False";

/// The `width` outputs of an encoder's column, as values per token of input column `column`.
fn push_outputs(
    outputs: &mut Vec<Output>,
    column: usize,
    width: usize,
    per_token: &[Vec<Option<f64>>],
) {
    for o in 0..width {
        outputs.push(Output::Text {
            column,
            values: per_token.iter().map(|v| v.get(o).copied().flatten()).collect(),
        });
    }
}

/// How the encoder of a transformer turns a column's category index into outputs.
struct Encoding {
    one_hot: bool,
    /// OneHotEncoder: unseen text is an error (`handle_unknown="error"`), else zeros or the
    /// infrequent column.
    unseen_error: bool,
    unseen_to_infrequent: bool,
    /// Per column, the index of its first infrequent category after grouping (`None` without).
    infrequent_first: Vec<Option<usize>>,
    /// Per column, category index -> grouped index (`_default_to_infrequent_mappings`).
    grouping: Vec<Option<Vec<usize>>>,
    /// Per column, the grouped index that is dropped (OneHotEncoder `drop`).
    dropped: Vec<Option<usize>>,
    /// Per column, output width.
    widths: Vec<usize>,
    /// OrdinalEncoder: the value of unseen text (None: an error) and of a missing value.
    unknown_value: Option<f64>,
    missing_value: f64,
}

impl Encoding {
    fn read(
        tree: &Tree,
        step: &str,
        class: Allowed,
        state: Id,
        categories: &[Vec<Category>],
    ) -> Checked<Encoding> {
        let columns = categories.len();
        let one_hot = class == Allowed::OneHotEncoder;
        let infrequent_enabled = tree.bool_attr(state, "_infrequent_enabled", false)?;
        let (infrequent, mappings) = if infrequent_enabled {
            (
                tree.per_column_indices(step, state, "_infrequent_indices", columns)?,
                tree.per_column_indices(step, state, "_default_to_infrequent_mappings", columns)?,
            )
        } else {
            (vec![None; columns], vec![None; columns])
        };
        let missing_index: Vec<Option<usize>> = categories
            .iter()
            .map(|c| c.last().is_some_and(Option::is_none).then(|| c.len() - 1))
            .collect();
        let mut grouping = Vec::with_capacity(columns);
        let mut infrequent_first = Vec::with_capacity(columns);
        for k in 0..columns {
            let n = categories[k].len();
            match (&infrequent[k], &mappings[k]) {
                (None, None) => {
                    grouping.push(None);
                    infrequent_first.push(None);
                }
                (Some(indices), Some(mapping)) => {
                    // The OrdinalEncoder leaves the missing category out of the grouping.
                    let expected =
                        if one_hot { n } else { n - usize::from(missing_index[k].is_some()) };
                    let mapping: Option<Vec<usize>> =
                        mapping.iter().map(|&m| usize::try_from(m).ok()).collect();
                    let first = indices.first().and_then(|&i| usize::try_from(i).ok());
                    match (mapping, first) {
                        (Some(mapping), Some(first))
                            if mapping.len() == expected
                                && first < n
                                && indices
                                    .iter()
                                    .all(|&i| usize::try_from(i).is_ok_and(|i| i < expected)) =>
                        {
                            infrequent_first.push(Some(first));
                            grouping.push(Some(mapping));
                        }
                        _ => {
                            return malformed(format!(
                                "the encoder {step:?}'s infrequent categories of column {k} do not \
                                 match its {n} categories"
                            ));
                        }
                    }
                }
                _ => {
                    return malformed(format!(
                        "the encoder {step:?} has infrequent indices without a mapping, or the reverse"
                    ));
                }
            }
        }
        let grouped_count = |k: usize| -> usize {
            match &grouping[k] {
                Some(mapping) => {
                    mapping.iter().max().map_or(0, |m| m + 1)
                        + usize::from(!one_hot && missing_index[k].is_some())
                }
                None => categories[k].len(),
            }
        };
        for (k, mapping) in grouping.iter().enumerate() {
            if let Some(mapping) = mapping {
                let count = mapping.iter().max().map_or(0, |m| m + 1);
                let mut hit = vec![false; count];
                mapping.iter().for_each(|&m| hit[m] = true);
                if hit.contains(&false) {
                    return malformed(format!(
                        "the encoder {step:?}'s infrequent mapping of column {k} skips an output"
                    ));
                }
            }
        }
        let handle_unknown =
            tree.text_attr(state, "handle_unknown").unwrap_or_else(|| "error".into());
        if one_hot {
            // Older releases kept only `drop_idx_`, which then indexes the grouped categories.
            let key = if tree.attr(state, "_drop_idx_after_grouping").is_some() {
                "_drop_idx_after_grouping"
            } else {
                "drop_idx_"
            };
            let mut widths = Vec::with_capacity(columns);
            let mut dropped = Vec::with_capacity(columns);
            for (k, d) in tree.drop_indices(step, state, key, columns)?.into_iter().enumerate() {
                let count = grouped_count(k);
                if d.is_some_and(|d| d >= count) {
                    return malformed(format!(
                        "the OneHotEncoder {step:?} drops output {} of column {k}, which has {count}",
                        d.unwrap_or_default()
                    ));
                }
                widths.push(count - usize::from(d.is_some()));
                dropped.push(d);
            }
            if let Some(id) = tree.attr(state, "_n_features_outs") {
                match tree.ints(id) {
                    Some(declared)
                        if declared.iter().map(|&w| w as usize).eq(widths.iter().copied()) => {}
                    _ => {
                        return malformed(format!(
                            "the OneHotEncoder {step:?}'s _n_features_outs disagree with its \
                             categories, infrequent groups and dropped categories ({widths:?})"
                        ));
                    }
                }
            }
            let (unseen_error, unseen_to_infrequent) = match handle_unknown.as_str() {
                "error" => (true, false),
                "ignore" => (false, false),
                "infrequent_if_exist" | "warn" => (false, true),
                other => {
                    return unsupported(format!(
                        "the OneHotEncoder {step:?} has handle_unknown={other:?}"
                    ));
                }
            };
            return Ok(Encoding {
                one_hot: true,
                unseen_error,
                unseen_to_infrequent,
                infrequent_first,
                grouping,
                dropped,
                widths,
                unknown_value: None,
                missing_value: f64::NAN,
            });
        }
        // OrdinalEncoder.
        let unknown_value = match handle_unknown.as_str() {
            "error" => None,
            "use_encoded_value" => {
                let value = tree.attr(state, "unknown_value").and_then(|v| tree.number(v));
                match value {
                    Some(v) => Some(v),
                    None => {
                        return malformed(format!(
                            "the OrdinalEncoder {step:?} has no unknown_value"
                        ));
                    }
                }
            }
            other => {
                return unsupported(format!(
                    "the OrdinalEncoder {step:?} has handle_unknown={other:?}"
                ));
            }
        };
        let missing_value = tree
            .attr(state, "encoded_missing_value")
            .and_then(|v| tree.number(v))
            .unwrap_or(f64::NAN);
        Ok(Encoding {
            one_hot: false,
            unseen_error: unknown_value.is_none(),
            unseen_to_infrequent: false,
            infrequent_first,
            grouping,
            dropped: vec![None; columns],
            widths: vec![1; columns],
            unknown_value,
            missing_value,
        })
    }

    fn width(&self, k: usize) -> usize {
        self.widths[k]
    }

    /// The outputs of column `k` for `token` (each `None` where scikit-learn raises).
    fn encode(&self, k: usize, categories: &[Category], token: &Token) -> Vec<Option<f64>> {
        let index = match token {
            Token::Known(text) => {
                categories.iter().position(|c| c.as_deref() == Some(text.as_str()))
            }
            Token::Missing => categories.iter().position(Option::is_none),
            Token::Unseen => None,
        };
        let width = self.widths[k];
        if !self.one_hot {
            let value = match index {
                Some(i) if categories[i].is_none() => Some(self.missing_value),
                Some(i) => Some(match &self.grouping[k] {
                    Some(mapping) => mapping[i] as f64,
                    None => i as f64,
                }),
                // A missing value the encoder never saw is unknown too.
                None => self.unknown_value,
            };
            return vec![value];
        }
        let grouped = match (index, self.infrequent_first[k]) {
            (Some(i), _) => Some(i),
            (None, _) if self.unseen_error => return vec![None; width],
            (None, Some(first)) if self.unseen_to_infrequent => Some(first),
            (None, _) => None,
        };
        let mut out = vec![Some(0.0); width];
        if let Some(i) = grouped {
            let mut g = match &self.grouping[k] {
                Some(mapping) => mapping[i],
                None => i,
            };
            match self.dropped[k] {
                Some(d) if g == d => return out,
                Some(d) if g > d => g -= 1,
                _ => {}
            }
            out[g] = Some(1.0);
        }
        out
    }
}
