//! Reads a fitted `ColumnTransformer` (and any scalers after it) in front of a
//! LogisticRegression, and rewrites it as onnxify's one column pipeline: imputed and scaled
//! numeric columns, then one-hot columns of each text column, then the classifier.
//!
//! Every output column of a ColumnTransformer depends on one input column. A numeric output is
//! an affine map of the column's imputed value (or of its missing indicator); a text column's
//! outputs are a value per category token: each known category, missing, and any unseen text.
//! So however the file encodes a text column (one-hot with dropped, infrequent or ignored
//! categories, ordinal codes then scaling, an imputer first), the classifier's score is an
//! intercept plus one weight per token, which is exactly a one-hot block whose unseen text
//! scores zero: the unseen token's score moves into the intercept.

use std::collections::HashMap;

use ndarray::{Array1, Array2};

use super::{Checked, Classifier, Problem, ScalerParameters, Tree, chain, describe};
use super::{class_name, is_scaler, malformed, unsupported};
use crate::model::ImputeStrategy;
use crate::model::column_rewrite::{
    Output, RewriteError, Role, TableParts, canonical, identity, scale_output,
};
use crate::pickle::allow::Allowed;
use crate::pickle::machine::{Array, Elements, Id, Value};
use crate::pickle::numpy::Kind;

/// A ColumnTransformer read: the column pipeline's parts, the classifier's weights and
/// intercepts over that pipeline's design (scaled numbers, indicators, one-hot columns), and
/// per transformer its name and what it does, for the report.
pub(super) struct ReadTable {
    pub(super) parts: TableParts,
    pub(super) coef: Array2<f64>,
    pub(super) intercept: Array1<f64>,
    pub(super) steps: Vec<(String, String)>,
}

/// What a transformer's steps have made of its input columns so far.
enum Stage {
    /// The input columns as they are; text imputers' fill values, if any, and the positions
    /// of the columns whose missing indicators a text imputer appended after them.
    Raw {
        fills: Vec<Option<String>>,
        flags: Vec<usize>,
    },
    Outputs(Vec<Output>),
}

impl<'a> Tree<'a> {
    /// The column pipeline of a ColumnTransformer whose state is `state`, with `scalers` after
    /// it and then `classifier`; `name` is the transformer's step name.
    pub(super) fn column_pipeline(
        &self,
        name: &str,
        state: Id,
        scalers: &[ScalerParameters],
        classifier: &Classifier,
    ) -> Checked<ReadTable> {
        let names = self.input_names(state)?;
        let n = names.len();
        let mut roles: Vec<Option<Role>> = vec![None; n];
        let mut outputs: Vec<Output> = Vec::new();
        let mut steps = Vec::new();
        let weights = self.transformer_weights(state)?;
        let declared_widths = self.output_indices(state)?;
        let input_indices = self.input_indices(state)?;
        let Some(list) = self.attr(state, "transformers_") else {
            return malformed("the ColumnTransformer has no transformers_ (is it fitted?)");
        };
        let Value::List(entries) = self.value(list) else {
            return malformed("the ColumnTransformer's transformers_ is not a list");
        };
        let mut seen_names = Vec::new();
        for &entry in entries {
            let (label, transformer, selection) = match self.value(entry) {
                Value::Tuple(items) if items.len() == 3 => (items[0], items[1], items[2]),
                _ => {
                    return malformed(
                        "a ColumnTransformer entry is not a (name, transformer, columns) triple",
                    );
                }
            };
            let Value::Str(label) = self.value(label) else {
                return malformed("a ColumnTransformer entry's name is not a string");
            };
            if seen_names.contains(label) {
                return malformed(format!(
                    "the ColumnTransformer names two transformers {label:?}"
                ));
            }
            seen_names.push(label.clone());
            let columns = self.selection(label, selection, &names)?;
            if let Some(indices) = input_indices.as_ref().and_then(|m| m.get(label.as_str()))
                && *indices != columns
            {
                return malformed(format!(
                    "the ColumnTransformer's transformer {label:?} takes columns {columns:?} but \
                     its _transformer_to_input_indices says {indices:?}"
                ));
            }
            let steps_of = self.transformer_steps(label, transformer, columns.is_empty())?;
            let Some(steps_of) = steps_of else { continue };
            for &j in &columns {
                if roles[j].is_some() {
                    return unsupported(format!(
                        "column {:?} goes to two transformers; onnxify converts a \
                         ColumnTransformer whose transformers take separate columns",
                        names[j]
                    ));
                }
            }
            let mut produced = self.transform(label, &steps_of, &columns, &names, &mut roles)?;
            if let Some(weight) = weights.get(label.as_str()) {
                for output in &mut produced {
                    scale_output(output, 0.0, 1.0 / weight);
                }
            }
            if let Some(widths) = &declared_widths {
                match widths.get(label.as_str()) {
                    Some(&(start, stop))
                        if start == outputs.len() && stop - start == produced.len() => {}
                    Some(&(start, stop)) => {
                        return malformed(format!(
                            "the ColumnTransformer's output_indices_ puts {label:?} at columns \
                             {start}..{stop}, but its steps make {} columns from column {}",
                            produced.len(),
                            outputs.len()
                        ));
                    }
                    None if produced.is_empty() => {}
                    None => {
                        return malformed(format!(
                            "the ColumnTransformer's output_indices_ has no entry for {label:?}"
                        ));
                    }
                }
            }
            let described: Vec<&str> =
                steps_of.iter().map(|(_, class, _)| class_name(*class)).collect();
            let chosen: Vec<&str> = columns.iter().map(|&j| names[j].as_str()).collect();
            steps.push((
                format!("{name}__{label}"),
                format!(
                    "{} on {} ({} outputs)",
                    if described.is_empty() {
                        "passthrough".into()
                    } else {
                        described.join(" -> ")
                    },
                    chosen.join(", "),
                    produced.len()
                ),
            ));
            outputs.extend(produced);
        }
        if let Some(widths) = &declared_widths {
            let total = widths.values().map(|&(_, stop)| stop).max().unwrap_or(0);
            if total > outputs.len() {
                return malformed(format!(
                    "the ColumnTransformer's output_indices_ reach column {total}, but its \
                     transformers make {}",
                    outputs.len()
                ));
            }
        }
        for scaler in scalers {
            let width =
                scaler.mean.as_ref().or(scaler.scale.as_ref()).map_or(outputs.len(), Vec::len);
            if width != outputs.len() {
                return malformed(format!(
                    "the {} after the ColumnTransformer scales {width} columns, but the \
                     ColumnTransformer makes {}",
                    scaler.class,
                    outputs.len()
                ));
            }
        }
        if let Some(scaler) = chain(scalers.to_vec())? {
            for (j, output) in outputs.iter_mut().enumerate() {
                let offset =
                    scaler.mean.as_ref().filter(|_| scaler.with_mean).map_or(0.0, |m| m[j]);
                let scale = scaler.scale.as_ref().filter(|_| scaler.with_std).map_or(1.0, |s| s[j]);
                scale_output(output, offset, scale);
            }
        }
        if outputs.len() != classifier.coef.ncols() {
            return malformed(format!(
                "the ColumnTransformer makes {} columns but the LogisticRegression's coef_ has {}",
                outputs.len(),
                classifier.coef.ncols()
            ));
        }
        let weights = (classifier.coef.view(), classifier.intercept.view());
        let (parts, coef, intercept) =
            canonical(&names, &roles, &outputs, weights).map_err(|e| match e {
                RewriteError::Unsupported(m) => Problem::Unsupported(m),
                RewriteError::Malformed(m) => Problem::Malformed(m),
            })?;
        Ok(ReadTable { parts, coef, intercept, steps })
    }

    /// The input column names: `feature_names_in_`, else `x0, x1, ...` for `n_features_in_`.
    fn input_names(&self, state: Id) -> Checked<Vec<String>> {
        let count = match self.attr(state, "n_features_in_").map(|v| self.value(v)) {
            Some(Value::Int(n)) if *n > 0 && *n <= MAX_COLUMNS as i64 => Some(*n as usize),
            Some(Value::Int(n)) => {
                return malformed(format!("the ColumnTransformer's n_features_in_ is {n}"));
            }
            _ => None,
        };
        match (self.feature_names(state)?, count) {
            (Some(names), Some(n)) if names.len() != n => malformed(format!(
                "the ColumnTransformer's feature_names_in_ holds {} names but n_features_in_ is {n}",
                names.len()
            )),
            (Some(names), _) => {
                let mut sorted = names.clone();
                sorted.sort();
                sorted.dedup();
                if sorted.len() != names.len() {
                    return malformed(
                        "the ColumnTransformer's feature_names_in_ names a column twice",
                    );
                }
                if names.len() > MAX_COLUMNS {
                    return unsupported(format!("the table has more than {MAX_COLUMNS} columns"));
                }
                Ok(names)
            }
            (None, Some(n)) => Ok((0..n).map(|j| format!("x{j}")).collect()),
            (None, None) => {
                malformed("the ColumnTransformer has no n_features_in_ (is it fitted?)")
            }
        }
    }

    /// `transformer_weights`: a weight per transformer name.
    fn transformer_weights(&self, state: Id) -> Checked<HashMap<&'a str, f64>> {
        let mut weights = HashMap::new();
        match self.attr(state, "transformer_weights").map(|v| self.value(v)) {
            None | Some(Value::None) => {}
            Some(Value::Dict(pairs)) => {
                for &(k, v) in pairs {
                    let (Value::Str(name), Some(weight)) = (self.value(k), self.number(v)) else {
                        return malformed("transformer_weights is not a dict of names to numbers");
                    };
                    if !(weight.is_finite() && weight != 0.0) {
                        return unsupported(format!(
                            "transformer {name:?} has weight {weight}; onnxify converts finite, \
                             non-zero weights"
                        ));
                    }
                    weights.insert(name.as_str(), weight);
                }
            }
            Some(other) => return malformed(format!("transformer_weights is a {}", other.kind())),
        }
        Ok(weights)
    }

    /// `output_indices_`: each transformer's output columns, as `(start, stop)`.
    fn output_indices(&self, state: Id) -> Checked<Option<HashMap<&'a str, (usize, usize)>>> {
        let Some(id) = self.attr(state, "output_indices_") else { return Ok(None) };
        let Value::Dict(pairs) = self.value(id) else {
            return malformed("the ColumnTransformer's output_indices_ is not a dict");
        };
        let mut widths = HashMap::new();
        for &(k, v) in pairs {
            let (Value::Str(name), Value::Slice { start, stop, step: None | Some(1) }) =
                (self.value(k), self.value(v))
            else {
                return malformed("output_indices_ is not a dict of names to slices");
            };
            let start = start.unwrap_or(0);
            let stop = stop.unwrap_or(start);
            if start < 0 || stop < start {
                return malformed(format!(
                    "output_indices_ gives {name:?} columns {start}..{stop}"
                ));
            }
            // An empty transformer's slice is (0, 0) wherever it stands.
            if stop > start {
                widths.insert(name.as_str(), (start as usize, stop as usize));
            }
        }
        Ok(Some(widths))
    }

    /// `_transformer_to_input_indices`: each transformer's input columns.
    fn input_indices(&self, state: Id) -> Checked<Option<HashMap<&'a str, Vec<usize>>>> {
        let Some(id) = self.attr(state, "_transformer_to_input_indices") else { return Ok(None) };
        let Value::Dict(pairs) = self.value(id) else {
            return malformed("_transformer_to_input_indices is not a dict");
        };
        let mut indices = HashMap::new();
        for &(k, v) in pairs {
            let Value::Str(name) = self.value(k) else {
                return malformed("_transformer_to_input_indices has a key that is not a name");
            };
            let items = self.ints(v).ok_or_else(|| {
                Problem::Malformed(format!(
                    "_transformer_to_input_indices[{name:?}] is not a list of column indices"
                ))
            })?;
            let positions = items
                .into_iter()
                .map(|i| usize::try_from(i).ok())
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| {
                    Problem::Malformed(format!(
                        "_transformer_to_input_indices[{name:?}] holds a negative index"
                    ))
                })?;
            indices.insert(name.as_str(), positions);
        }
        Ok(Some(indices))
    }

    /// A list, tuple or 1-D integer array of ints.
    pub(super) fn ints(&self, id: Id) -> Option<Vec<i64>> {
        match self.value(id) {
            Value::List(items) | Value::Tuple(items) => items
                .iter()
                .map(|&i| match self.value(i) {
                    Value::Int(n) => Some(*n),
                    _ => None,
                })
                .collect(),
            Value::Array(array)
                if array.shape.len() == 1
                    && matches!(array.dtype.kind, Kind::Int | Kind::Unsigned) =>
            {
                array.integers(self.raw(array)).ok()
            }
            _ => None,
        }
    }

    pub(super) fn number(&self, id: Id) -> Option<f64> {
        match self.value(id) {
            Value::Int(n) => Some(*n as f64),
            Value::Float(x) => Some(*x),
            Value::Array(array) if array.shape.is_empty() => {
                array.floats(self.raw(array)).ok().and_then(|v| v.first().copied())
            }
            _ => None,
        }
    }

    /// The input positions a transformer's columns select: names, positions, a boolean mask or
    /// a slice of positions, as scikit-learn resolved them at fit time.
    fn selection(&self, label: &str, id: Id, names: &[String]) -> Checked<Vec<usize>> {
        let n = names.len();
        let bad = |what: String| -> Checked<Vec<usize>> {
            malformed(format!("transformer {label:?} selects {what}"))
        };
        let position = |i: i64| -> Option<usize> {
            let j = if i < 0 { i + n as i64 } else { i };
            usize::try_from(j).ok().filter(|&j| j < n)
        };
        let items: Vec<&Value> = match self.value(id) {
            Value::List(items) | Value::Tuple(items) => {
                items.iter().map(|&i| self.value(i)).collect()
            }
            Value::Array(array) if array.shape.len() == 1 => {
                return self.array_selection(label, array, names);
            }
            Value::Slice { start, stop, step } => {
                let step = step.unwrap_or(1);
                if step != 1 {
                    return unsupported(format!(
                        "transformer {label:?} selects a slice with step {step}"
                    ));
                }
                let clamp =
                    |b: i64| if b < 0 { (b + n as i64).max(0) } else { b.min(n as i64) } as usize;
                let (a, b) = (clamp(start.unwrap_or(0)), clamp(stop.unwrap_or(n as i64)));
                return Ok((a..b.max(a)).collect());
            }
            Value::Str(_) | Value::Int(_) => {
                return unsupported(format!(
                    "transformer {label:?} selects a single column as a scalar, which hands it a \
                     1-D array; onnxify converts column lists"
                ));
            }
            other => return bad(format!("a {}", other.kind())),
        };
        let mut positions = Vec::with_capacity(items.len());
        if !items.is_empty() && items.iter().all(|v| matches!(v, Value::Bool(_))) {
            if items.len() != n {
                return bad(format!("a mask of {} values for {n} columns", items.len()));
            }
            for (j, v) in items.iter().enumerate() {
                if matches!(v, Value::Bool(true)) {
                    positions.push(j);
                }
            }
            return Ok(positions);
        }
        for item in items {
            let j = match item {
                Value::Str(s) => names.iter().position(|name| name == s),
                Value::Int(i) => position(*i),
                other => return bad(format!("a {} among its columns", other.kind())),
            };
            match j {
                Some(j) if !positions.contains(&j) => positions.push(j),
                Some(j) => return bad(format!("column {:?} twice", names[j])),
                None => return bad(format!("{} , which is not a column", describe(item))),
            }
        }
        Ok(positions)
    }

    fn array_selection(&self, label: &str, array: &Array, names: &[String]) -> Checked<Vec<usize>> {
        let n = names.len();
        let raw = self.raw(array);
        let positions: Option<Vec<usize>> = match (&array.elements, array.dtype.kind) {
            (_, Kind::Bool) => {
                let flags = array.integers(raw).ok();
                match flags {
                    Some(flags) if flags.len() == n => Some(
                        flags
                            .iter()
                            .enumerate()
                            .filter(|(_, f)| **f != 0)
                            .map(|(j, _)| j)
                            .collect(),
                    ),
                    _ => None,
                }
            }
            (_, Kind::Int | Kind::Unsigned) => array.integers(raw).ok().and_then(|v| {
                v.into_iter()
                    .map(|i| {
                        let j = if i < 0 { i + n as i64 } else { i };
                        usize::try_from(j).ok().filter(|&j| j < n)
                    })
                    .collect()
            }),
            (_, Kind::Unicode) => array
                .unicode(raw)
                .ok()
                .and_then(|v| v.iter().map(|s| names.iter().position(|name| name == s)).collect()),
            (Elements::Objects(items), _) => items
                .iter()
                .map(|&i| match self.value(i) {
                    Value::Str(s) => names.iter().position(|name| name == s),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        let Some(positions) = positions else {
            return malformed(format!(
                "transformer {label:?} selects columns with an array that names no columns of the table"
            ));
        };
        let mut sorted = positions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != positions.len() {
            return malformed(format!("transformer {label:?} selects a column twice"));
        }
        Ok(positions)
    }

    /// The fitted steps of one transformer, or `None` for a dropped one. `empty` says it takes
    /// no columns (scikit-learn leaves such a transformer unfitted).
    fn transformer_steps(
        &self,
        label: &str,
        id: Id,
        empty: bool,
    ) -> Checked<Option<Vec<(String, Allowed, Id)>>> {
        match self.value(id) {
            Value::Str(s) if s == "drop" => Ok(None),
            Value::Str(s) if s == "passthrough" => Ok(Some(Vec::new())),
            _ if empty => Ok(None),
            Value::Object { class: Allowed::Pipeline, state: Some(state) } => {
                let mut steps = Vec::new();
                self.steps(*state, &format!("{label}__"), 1, &mut steps)?;
                for (name, class, state) in &steps {
                    if *class == Allowed::FunctionTransformer {
                        self.passthrough_function(name, *state)?;
                    }
                }
                Ok(Some(
                    steps
                        .into_iter()
                        .filter(|(_, c, _)| *c != Allowed::FunctionTransformer)
                        .collect(),
                ))
            }
            Value::Object { class: Allowed::FunctionTransformer, state: Some(state) } => {
                self.passthrough_function(label, *state)?;
                Ok(Some(Vec::new()))
            }
            Value::Object { class, state: Some(state) } => {
                Ok(Some(vec![(label.to_owned(), *class, *state)]))
            }
            other => unsupported(format!(
                "transformer {label:?} is a {}, not a fitted transformer",
                describe(other)
            )),
        }
    }

    /// A FunctionTransformer is read only as the identity scikit-learn makes of
    /// `remainder="passthrough"`: any function it held would be code.
    fn passthrough_function(&self, label: &str, state: Id) -> Checked<()> {
        for key in ["func", "inverse_func"] {
            match self.attr(state, key).map(|v| self.value(v)) {
                None | Some(Value::None) => {}
                Some(_) => {
                    return unsupported(format!(
                        "{label:?} is a FunctionTransformer with a {key}: it holds code, which \
                         onnxify never runs or converts"
                    ));
                }
            }
        }
        if !matches!(self.attr(state, "kw_args").map(|v| self.value(v)), None | Some(Value::None)) {
            return unsupported(format!("{label:?} is a FunctionTransformer with kw_args"));
        }
        Ok(())
    }

    /// The outputs of one transformer's steps on input `columns`; records each column's role.
    fn transform(
        &self,
        label: &str,
        steps: &[(String, Allowed, Id)],
        columns: &[usize],
        names: &[String],
        roles: &mut [Option<Role>],
    ) -> Checked<Vec<Output>> {
        let mut stage = Stage::Raw { fills: vec![None; columns.len()], flags: Vec::new() };
        for (step, class, state) in steps {
            stage = match (*class, stage) {
                (Allowed::SimpleImputer, Stage::Raw { flags, .. }) if !flags.is_empty() => {
                    return unsupported(format!(
                        "{step:?} imputes the missing indicators of a text imputer before it"
                    ));
                }
                (Allowed::SimpleImputer, Stage::Raw { fills, .. }) => {
                    self.imputer(step, *state, columns, names, fills, roles)?
                }
                (Allowed::SimpleImputer, Stage::Outputs(outputs)) => {
                    Stage::Outputs(self.impute_outputs(step, *state, outputs)?)
                }
                (Allowed::OneHotEncoder | Allowed::OrdinalEncoder, Stage::Raw { fills, flags }) => {
                    Stage::Outputs(
                        self.encoder(step, *class, *state, columns, names, &fills, &flags, roles)?,
                    )
                }
                (class, Stage::Raw { fills, flags }) if is_scaler(class) => {
                    if fills.iter().any(Option::is_some) || !flags.is_empty() {
                        return unsupported(format!(
                            "{step:?} scales text; onnxify converts text imputers followed by an encoder"
                        ));
                    }
                    let outputs = numeric_outputs(columns, roles);
                    Stage::Outputs(self.scale(step, class, *state, outputs)?)
                }
                (class, Stage::Outputs(outputs)) if is_scaler(class) => {
                    Stage::Outputs(self.scale(step, class, *state, outputs)?)
                }
                (class, _) => {
                    return unsupported(format!(
                        "{label:?} has a step {step:?} of class {class:?} where onnxify \
                         converts SimpleImputers, OneHotEncoders, OrdinalEncoders and scalers \
                         in that order"
                    ));
                }
            };
        }
        match stage {
            Stage::Outputs(outputs) => Ok(outputs),
            Stage::Raw { fills, flags }
                if fills.iter().all(Option::is_none) && flags.is_empty() =>
            {
                Ok(numeric_outputs(columns, roles))
            }
            Stage::Raw { .. } => unsupported(format!(
                "{label:?} imputes text but does not encode it; the LogisticRegression after it \
                 cannot read text"
            )),
        }
    }

    /// A SimpleImputer on input columns: numbers with a statistic each (and indicators), or
    /// text with a fill value each.
    fn imputer(
        &self,
        step: &str,
        state: Id,
        columns: &[usize],
        names: &[String],
        fills: Vec<Option<String>>,
        roles: &mut [Option<Role>],
    ) -> Checked<Stage> {
        let Some(statistics) = self.array(state, "statistics_")? else {
            return malformed(format!("the SimpleImputer {step:?} has no statistics_"));
        };
        if statistics.shape != [columns.len()] {
            return malformed(format!(
                "the SimpleImputer {step:?} has {} statistics for {} columns",
                statistics.shape_text(),
                columns.len()
            ));
        }
        self.check_n_features(step, state, columns.len())?;
        let strategy_name = self.text_attr(state, "strategy").unwrap_or_else(|| "mean".into());
        self.missing_is_nan_or_none(step, state)?;
        let indicator = self.indicator(step, state, columns.len())?;
        // A constant fill keeps its statistics in an object array, numbers included.
        let numbers = match (&statistics.elements, statistics.dtype.kind) {
            (_, Kind::Unicode) => None,
            (Elements::Objects(items), _) => items
                .iter()
                .map(|&i| match self.value(i) {
                    Value::Float(x) => Some(*x),
                    Value::Int(n) => Some(*n as f64),
                    _ => None,
                })
                .collect::<Option<Vec<f64>>>(),
            _ => Some(self.floats_allowing_nan(&format!("{step}.statistics_"), statistics)?),
        };
        let Some(values) = numbers else {
            let values = self.texts(step, "statistics_", statistics)?;
            let fills = fills.into_iter().zip(values).map(|(old, new)| old.or(new)).collect();
            return Ok(Stage::Raw { fills, flags: indicator.unwrap_or_default() });
        };
        if fills.iter().any(Option::is_some) {
            return unsupported(format!("{step:?} imputes numbers into text"));
        }
        if let Some(i) = values.iter().position(|v| v.is_infinite()) {
            return malformed(format!("{step}.statistics_ holds {} at position {i}", values[i]));
        }
        let keep_empty = self.bool_attr(state, "keep_empty_features", false)?;
        let strategy = match strategy_name.as_str() {
            "mean" => ImputeStrategy::Mean,
            "median" => ImputeStrategy::Median,
            "most_frequent" => ImputeStrategy::MostFrequent,
            "constant" => ImputeStrategy::Constant(values.first().copied().unwrap_or(0.0)),
            other => {
                return unsupported(format!(
                    "the SimpleImputer {step:?} has strategy {other:?}, which onnxify does not know \
                     (a callable strategy would be code)"
                ));
            }
        };
        let mut outputs = Vec::new();
        for (&j, &statistic) in columns.iter().zip(&values) {
            if statistic.is_nan() {
                if keep_empty {
                    return malformed(format!(
                        "the SimpleImputer {step:?} keeps empty features but has no statistic for {:?}",
                        names[j]
                    ));
                }
            } else {
                outputs.push(identity(j, false));
            }
            roles[j] = Some(Role::Numeric {
                statistic: (!statistic.is_nan()).then_some(statistic),
                strategy: Some(strategy),
            });
        }
        for k in indicator.unwrap_or_default() {
            outputs.push(identity(columns[k], true));
        }
        Ok(Stage::Outputs(outputs))
    }

    /// `missing_values` must be NaN (or None, for text): what pandas and onnxify call missing.
    fn missing_is_nan_or_none(&self, step: &str, state: Id) -> Checked<()> {
        match self.attr(state, "missing_values").map(|v| self.value(v)) {
            None | Some(Value::None) => Ok(()),
            Some(Value::Float(x)) if x.is_nan() => Ok(()),
            Some(other) => unsupported(format!(
                "the SimpleImputer {step:?} treats {} as missing; onnxify converts imputers of \
                 NaN or None",
                describe(other)
            )),
        }
    }

    /// `n_features_in_`, where recorded, must be the number of columns the step is given.
    pub(super) fn check_n_features(&self, step: &str, state: Id, columns: usize) -> Checked<()> {
        match self.attr(state, "n_features_in_").map(|v| self.value(v)) {
            Some(Value::Int(n)) if *n != columns as i64 => {
                malformed(format!("{step:?} was fitted on {n} columns but is given {columns}"))
            }
            _ => Ok(()),
        }
    }

    /// The columns (of `columns` in all) that get a missing indicator, if the imputer adds any.
    fn indicator(&self, step: &str, state: Id, columns: usize) -> Checked<Option<Vec<usize>>> {
        let add = self.bool_attr(state, "add_indicator", false)?;
        let found = self.attr(state, "indicator_").map(|v| self.value(v));
        let indicator = match (add, found) {
            (false, None | Some(Value::None)) => return Ok(None),
            (true, Some(Value::Object { class: Allowed::MissingIndicator, state: Some(s) })) => *s,
            (true, _) => {
                return malformed(format!(
                    "the SimpleImputer {step:?} adds indicators but has no fitted MissingIndicator"
                ));
            }
            (false, Some(_)) => {
                return malformed(format!(
                    "the SimpleImputer {step:?} has an indicator_ but add_indicator=False"
                ));
            }
        };
        self.missing_is_nan_or_none(step, indicator)?;
        match self.attr(indicator, "_n_features").map(|v| self.value(v)) {
            Some(Value::Int(n)) if *n == columns as i64 => {}
            _ => {
                return malformed(format!(
                    "the MissingIndicator of {step:?} was not fitted on its imputer's {columns} columns"
                ));
            }
        }
        let features =
            self.attr(indicator, "features_").and_then(|v| self.ints(v)).ok_or_else(|| {
                Problem::Malformed(format!(
                    "the MissingIndicator of {step:?} has no features_ indices"
                ))
            })?;
        let mut previous = None;
        let mut out = Vec::with_capacity(features.len());
        for f in features {
            let Some(k) = usize::try_from(f).ok().filter(|&k| k < columns) else {
                return malformed(format!(
                    "the MissingIndicator of {step:?} marks column {f} of {columns}"
                ));
            };
            if previous.is_some_and(|p| p >= k) {
                return malformed(format!(
                    "the MissingIndicator of {step:?} lists its columns out of order"
                ));
            }
            previous = Some(k);
            out.push(k);
        }
        if self.text_attr(indicator, "features").as_deref() == Some("all") && out.len() != columns {
            return malformed(format!(
                "the MissingIndicator of {step:?} marks every column (features=\"all\") but lists {}",
                out.len()
            ));
        }
        Ok(Some(out))
    }

    /// A numeric SimpleImputer after an encoder: fills the NaN an encoder gives a token.
    fn impute_outputs(
        &self,
        step: &str,
        state: Id,
        mut outputs: Vec<Output>,
    ) -> Checked<Vec<Output>> {
        let Some(statistics) = self.array(state, "statistics_")? else {
            return malformed(format!("the SimpleImputer {step:?} has no statistics_"));
        };
        self.check_n_features(step, state, outputs.len())?;
        self.missing_is_nan_or_none(step, state)?;
        if self.indicator(step, state, outputs.len())?.is_some() {
            return unsupported(format!(
                "the SimpleImputer {step:?} after an encoder adds indicators"
            ));
        }
        let values = self.floats_allowing_nan(&format!("{step}.statistics_"), statistics)?;
        if values.len() != outputs.len() {
            return malformed(format!(
                "the SimpleImputer {step:?} has {} statistics for {} columns",
                values.len(),
                outputs.len()
            ));
        }
        if values.iter().any(|v| v.is_nan()) {
            return unsupported(format!(
                "the SimpleImputer {step:?} drops a column of encoded values"
            ));
        }
        for (output, statistic) in outputs.iter_mut().zip(values) {
            match output {
                Output::Text { values, .. } => {
                    for v in values.iter_mut().flatten() {
                        if v.is_nan() {
                            *v = statistic;
                        }
                    }
                }
                Output::Number { .. } => {
                    return unsupported(format!(
                        "the SimpleImputer {step:?} imputes scaled numbers"
                    ));
                }
            }
        }
        Ok(outputs)
    }

    /// A scaler's affine map applied to each output.
    fn scale(
        &self,
        step: &str,
        class: Allowed,
        state: Id,
        mut outputs: Vec<Output>,
    ) -> Checked<Vec<Output>> {
        let scaler = self.scaler(class, state)?;
        let width = scaler.mean.as_ref().or(scaler.scale.as_ref()).map_or(outputs.len(), Vec::len);
        if width != outputs.len() {
            return malformed(format!(
                "the {} {step:?} scales {width} columns but is given {}",
                scaler.class,
                outputs.len()
            ));
        }
        for (j, output) in outputs.iter_mut().enumerate() {
            let offset = scaler.mean.as_ref().filter(|_| scaler.with_mean).map_or(0.0, |m| m[j]);
            let scale = scaler.scale.as_ref().filter(|_| scaler.with_std).map_or(1.0, |s| s[j]);
            scale_output(output, offset, scale);
        }
        Ok(outputs)
    }

    /// The texts of a 1-D object or unicode array (an imputer's text statistics); None or NaN
    /// for a column it cannot fill.
    fn texts(&self, step: &str, key: &str, array: &Array) -> Checked<Vec<Option<String>>> {
        self.category_array(step, array)
            .map_err(|_| Problem::Malformed(format!("{step}.{key} is not an array of texts")))
    }

    /// A 1-D float array whose NaN marks "none" (an imputer's empty column).
    fn floats_allowing_nan(&self, key: &str, array: &Array) -> Checked<Vec<f64>> {
        if array.shape.len() != 1 {
            return malformed(format!("{key} has shape {}", array.shape_text()));
        }
        let values = match array.dtype.kind {
            Kind::Float | Kind::Int | Kind::Unsigned | Kind::Bool => array
                .floats(self.raw(array))
                .map_err(|e| Problem::Malformed(format!("{key}: {e}")))?,
            _ => return malformed(format!("{key} has dtype {}, not a number", array.dtype)),
        };
        if let Some(i) = values.iter().position(|v| v.is_infinite()) {
            return malformed(format!("{key} holds {} at position {i}", values[i]));
        }
        Ok(values)
    }
}

/// The columns a table may have.
const MAX_COLUMNS: usize = 100_000;

/// Identity outputs of numeric input `columns` with no imputer before them.
fn numeric_outputs(columns: &[usize], roles: &mut [Option<Role>]) -> Vec<Output> {
    for &j in columns {
        roles[j] = Some(Role::Numeric { statistic: None, strategy: None });
    }
    columns.iter().map(|&j| identity(j, false)).collect()
}
