//! A fitted `GridSearchCV` or `RandomizedSearchCV`: the model it refitted on every row
//! (`best_estimator_`) is what is converted; the search's choice and its scores are read for
//! the provenance record, as data.

use super::{Checked, Extracted, Tree, class_name, describe, malformed, unsupported};
use crate::onnx::PickledSearch;
use crate::pickle::allow::Allowed;
use crate::pickle::machine::{Array, Elements, Id, Value};
use crate::pickle::numpy::Kind;

impl Tree<'_> {
    /// The model a search refitted, with the search's summary.
    pub(super) fn search(&self, class: Allowed, state: Id) -> Checked<Extracted> {
        let name = class_name(class);
        let Some(best) = self.attr(state, "best_estimator_") else {
            return unsupported(format!(
                "the {name} holds no best_estimator_ (it was run with refit=False, or is not \
                 fitted); onnxify converts the model a search refitted on all rows"
            ));
        };
        if !matches!(self.value(best), Value::Object { class, .. }
            if *class == Allowed::Pipeline || super::is_classifier(*class))
        {
            return unsupported(format!(
                "the {name}'s best_estimator_ is a {}, not a Pipeline or LogisticRegression",
                describe(self.value(best))
            ));
        }
        let mut extracted = self.model(best)?;
        let best_params = match self.attr(state, "best_params_").map(|v| self.value(v)) {
            Some(Value::Dict(pairs)) => pairs
                .iter()
                .map(|&(k, v)| match self.value(k) {
                    Value::Str(key) => Ok((key.clone(), self.shown(v))),
                    _ => {
                        malformed(format!("the {name}'s best_params_ has a key that is not a name"))
                    }
                })
                .collect::<Checked<Vec<_>>>()?,
            None => Vec::new(),
            Some(other) => {
                return malformed(format!("the {name}'s best_params_ is a {}", other.kind()));
            }
        };
        let candidates = self.candidates(state, name)?;
        let best_index = self.attr(state, "best_index_").and_then(|v| self.integer(v));
        if let (Some(n), Some(i)) = (candidates, best_index)
            && !(0..n as i64).contains(&i)
        {
            return malformed(format!("the {name}'s best_index_ is {i} of {n} candidates"));
        }
        let best_score = self.attr(state, "best_score_").and_then(|v| self.number(v));
        let folds = self.attr(state, "n_splits_").and_then(|v| self.integer(v));
        let scoring = match self.attr(state, "scoring").map(|v| self.value(v)) {
            Some(Value::Str(s)) => s.clone(),
            None | Some(Value::None) => "the estimator's score".into(),
            Some(_) => "custom".into(),
        };
        if extracted.sklearn_version.is_none() {
            extracted.sklearn_version = self.text_attr(state, "_sklearn_version");
        }
        let chosen: Vec<String> = best_params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        extracted.steps.insert(
            0,
            (
                "search".into(),
                format!(
                    "{name} ({} candidates, {} folds), chose {}",
                    candidates.map_or_else(|| "?".into(), |n| n.to_string()),
                    folds.map_or_else(|| "?".into(), |n| n.to_string()),
                    if chosen.is_empty() { "the defaults".into() } else { chosen.join(", ") }
                ),
            ),
        );
        extracted.search = Some(PickledSearch {
            class: name.into(),
            best_params,
            best_score,
            candidates,
            folds,
            scoring,
        });
        Ok(extracted)
    }

    /// The number of candidates in `cv_results_`, whose columns must all have one entry each.
    fn candidates(&self, state: Id, name: &str) -> Checked<Option<usize>> {
        let Some(results) = self.attr(state, "cv_results_") else { return Ok(None) };
        let Value::Dict(columns) = self.value(results) else {
            return malformed(format!("the {name}'s cv_results_ is not a dict"));
        };
        let mut count = None;
        for &(k, v) in columns {
            let n = match self.value(v) {
                Value::List(items) => items.len(),
                Value::Array(array) if array.shape.len() == 1 => array.shape[0],
                other => {
                    return malformed(format!(
                        "the {name}'s cv_results_ column {} is a {}",
                        self.shown(k),
                        other.kind()
                    ));
                }
            };
            if *count.get_or_insert(n) != n {
                return malformed(format!(
                    "the {name}'s cv_results_ columns have different lengths ({} and {n})",
                    count.unwrap_or_default()
                ));
            }
        }
        Ok(count)
    }

    fn integer(&self, id: Id) -> Option<i64> {
        match self.value(id) {
            Value::Int(n) => Some(*n),
            Value::Array(a)
                if a.shape.is_empty() && matches!(a.dtype.kind, Kind::Int | Kind::Unsigned) =>
            {
                a.integers(self.raw(a)).ok()?.first().copied()
            }
            _ => None,
        }
    }

    /// A parameter value as Python prints it, for the report (text the file controls is
    /// escaped where it is shown).
    fn shown(&self, id: Id) -> String {
        match self.value(id) {
            Value::None => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(n) => n.to_string(),
            Value::Float(x) => python_float(*x),
            Value::Str(s) => format!("'{}'", crate::util::excerpt(s)),
            Value::Array(a) if a.shape.is_empty() => match a.dtype.kind {
                Kind::Float => self.number(id).map_or_else(|| "?".into(), python_float),
                Kind::Int | Kind::Unsigned => {
                    self.integer(id).map_or_else(|| "?".into(), |n| n.to_string())
                }
                _ => "?".into(),
            },
            Value::Array(Array { elements: Elements::Objects(_), .. }) => "[...]".into(),
            Value::Object { class, .. } => format!("{}(...)", class_name(*class)),
            other => other.kind().into(),
        }
    }
}

/// `0.1`, `10.0`, `1e-05`: Python's repr of a float, closely enough for a report.
fn python_float(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}
