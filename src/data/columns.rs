//! How a CSV's columns feed a model that was trained elsewhere: which column is each feature
//! (by the model's recorded names, or in order), which is the id or the target, which are
//! ignored. `predict` and `verify --data` plan their columns here.

use super::records::{Role, list_columns};
use crate::error::{Error, Result};

/// How the data's columns feed the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    pub roles: Vec<Role>,
    pub ignored: Vec<String>,
    /// The feature the id column also feeds, when the id is a feature (users key rows by a
    /// feature's value). The CSV engine gives each column one role, so that column is read as
    /// the id, its text is parsed as the feature here ([`feature_value`]), and the feature roles
    /// of the other columns are numbered without it.
    pub id_feature: Option<usize>,
}

/// The features a model takes: how many, and their names when it records names to match
/// columns by.
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    pub names: Option<&'a [String]>,
    pub count: usize,
}

/// Matches data columns to model features: by the model's recorded feature names when it has
/// them, else in order (the count must match). `id` and `target` name columns with those roles.
/// The id column may also be a feature; the target column may not.
pub fn plan_columns(
    model: Features,
    file: &str,
    columns: &[String],
    id: Option<&str>,
    target: Option<&str>,
) -> Result<ColumnPlan> {
    let find = |name: &str, what: &str| {
        columns.iter().position(|c| c == name).ok_or_else(|| Error::MissingColumn {
            file: file.to_owned(),
            name: name.to_owned(),
            why: what.to_owned(),
            columns: list_columns(columns),
        })
    };
    let conflict = |column: usize, role: String, other: String| Error::ColumnConflict {
        file: file.to_owned(),
        name: columns[column].clone(),
        role,
        other,
    };
    let id_at = id.map(|name| find(name, "given by {id-column}")).transpose()?;
    let target_at = target.map(|name| find(name, "the target column")).transpose()?;
    if let Some(t) = target_at
        && id_at == Some(t)
    {
        return Err(conflict(t, "the target column".into(), "the id column".into()));
    }
    let features: Vec<usize> = match model.names {
        Some(names) => names
            .iter()
            .map(|name| find(name, "a feature the model needs"))
            .collect::<Result<_>>()?,
        None => {
            // In order: the columns besides the target and the id; or, when only that gives
            // the count, besides the target alone (the id is then a feature too).
            let besides = |id_too: bool| -> Vec<usize> {
                (0..columns.len())
                    .filter(|&c| Some(c) != target_at && !(id_too && Some(c) == id_at))
                    .collect()
            };
            let (without_id, with_id) = (besides(true), besides(false));
            if without_id.len() == model.count {
                without_id
            } else if id_at.is_some() && with_id.len() == model.count {
                with_id
            } else {
                return Err(Error::ColumnCount {
                    file: file.to_owned(),
                    found: without_id.len(),
                    expected: model.count,
                });
            }
        }
    };
    let mut feature_of = vec![None; columns.len()];
    for (j, &column) in features.iter().enumerate() {
        if Some(column) == target_at {
            return Err(conflict(
                column,
                "a feature the model needs".into(),
                "the target column".into(),
            ));
        }
        // A file whose feature names repeat would feed one column to two features.
        if let Some(first) = feature_of[column].replace(j) {
            return Err(conflict(
                column,
                format!("the model's feature {}", first + 1),
                format!("its feature {}", j + 1),
            ));
        }
    }
    let id_feature = id_at.and_then(|i| features.iter().position(|&c| c == i));
    let mut roles = vec![Role::Ignore; columns.len()];
    if let Some(i) = id_at {
        roles[i] = Role::Id;
    }
    if let Some(t) = target_at {
        roles[t] = Role::Label;
    }
    for (j, &column) in features.iter().enumerate() {
        match id_feature {
            Some(k) if j == k => {}
            Some(k) if j > k => roles[column] = Role::Feature(j - 1),
            _ => roles[column] = Role::Feature(j),
        }
    }
    let ignored = columns
        .iter()
        .zip(&roles)
        .filter(|(_, r)| **r == Role::Ignore)
        .map(|(c, _)| c.clone())
        .collect();
    Ok(ColumnPlan { roles, ignored, id_feature })
}
