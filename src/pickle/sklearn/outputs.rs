//! What a ColumnTransformer's steps make of its columns, as the readers of its transformers
//! ([`super::columns`]) and encoders ([`super::encoders`]) describe it.

use crate::model::{CategoryKind, ImputeStrategy};

/// A text value as a ColumnTransformer's steps see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Token {
    Known(String),
    Missing,
    /// Any text the file does not name.
    Unseen,
}

/// One output column of a transformer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Output {
    /// `weight * (x - offset) / scale + constant`, with `x` the imputed value of numeric input
    /// column `column`, or with `indicator` its missing indicator (0 or 1).
    Number { column: usize, indicator: bool, offset: f64, scale: f64, weight: f64, constant: f64 },
    /// The value for each token of text input column `column` (indexed as its universe);
    /// `None` where scikit-learn raises instead.
    Text { column: usize, values: Vec<Option<f64>> },
}

/// How an input column is read.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Role {
    /// A number, with the imputer's statistic if one fills it.
    Numeric { statistic: Option<f64>, strategy: Option<ImputeStrategy> },
    /// A category (text, or an integer in decimal), whose tokens are `universe`: unseen,
    /// missing, then the known values.
    Text { universe: Vec<Token>, kind: CategoryKind },
}
