//! A column pipeline described output by output, as a file's steps compute it (each output
//! column a function of one input column: an affine map of a number or of its missing
//! indicator, or a value per category), rewritten into the parts of a [`ColumnPipeline`]:
//! imputed and scaled numbers, one weight per category, and an unseen category's score moved
//! into the intercept. The readers of scikit-learn pickles and of Spark models describe their
//! steps this way.
//!
//! [`ColumnPipeline`]: super::ColumnPipeline

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::{
    Category, CategoryKind, ColumnNames, FittedOneHotEncoder, FittedSimpleImputer,
    FittedStandardScaler, ImputeStrategy,
};

/// Why outputs cannot be rewritten: a form onnxify does not convert, or numbers that cannot
/// be a fitted model's.
#[derive(Debug, Clone, PartialEq)]
pub enum RewriteError {
    Unsupported(String),
    Malformed(String),
}

/// A categorical value as a column pipeline's steps see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    Known(String),
    Missing,
    /// Any text the file does not name.
    Unseen,
}

/// One output column of a transformer.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `weight * (x - offset) / scale + constant`, with `x` the imputed value of numeric input
    /// column `column`, or with `indicator` its missing indicator (0 or 1).
    Number { column: usize, indicator: bool, offset: f64, scale: f64, weight: f64, constant: f64 },
    /// The value for each token of text input column `column` (indexed as its universe);
    /// `None` where scikit-learn raises instead.
    Text { column: usize, values: Vec<Option<f64>> },
}

/// How an input column is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// A number, with the imputer's statistic if one fills it.
    Numeric { statistic: Option<f64>, strategy: Option<ImputeStrategy> },
    /// A category (text, or an integer in decimal), whose tokens are `universe`: unseen,
    /// missing, then the known values.
    Text { universe: Vec<Token>, kind: CategoryKind },
}

/// The parts of a column pipeline read from a file, before its classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct TableParts {
    pub columns: ColumnNames,
    pub imputer: FittedSimpleImputer,
    pub scaler: FittedStandardScaler,
    pub encoder: FittedOneHotEncoder,
}

/// Output `column` as it is (or, with `indicator`, its missing indicator).
pub fn identity(column: usize, indicator: bool) -> Output {
    Output::Number { column, indicator, offset: 0.0, scale: 1.0, weight: 1.0, constant: 0.0 }
}

/// `(output - offset) / scale`, in place.
pub fn scale_output(output: &mut Output, offset: f64, scale: f64) {
    match output {
        // (x - o) / s, then (. - offset) / scale: one affine map of x.
        Output::Number { offset: o, scale: s, weight: 1.0, constant: 0.0, .. } => {
            *o += offset * *s;
            *s *= scale;
        }
        Output::Number { weight, constant, .. } => {
            *weight /= scale;
            *constant = (*constant - offset) / scale;
        }
        Output::Text { values, .. } => {
            for v in values.iter_mut().flatten() {
                *v = (*v - offset) / scale;
            }
        }
    }
}

/// The column pipeline computing what `outputs` and a linear classifier of weights `coef`
/// (one column per output) and intercepts `intercept` compute; returns its parts and the
/// classifier's weights and intercepts over the pipeline's design.
pub fn canonical(
    names: &[String],
    roles: &[Option<Role>],
    outputs: &[Output],
    (coef_in, intercept_in): (ArrayView2<f64>, ArrayView1<f64>),
) -> Result<(TableParts, Array2<f64>, Array1<f64>), RewriteError> {
    let k = coef_in.nrows();
    let numeric: Vec<usize> =
        (0..names.len()).filter(|&j| matches!(roles[j], Some(Role::Numeric { .. }))).collect();
    let text: Vec<usize> =
        (0..names.len()).filter(|&j| matches!(roles[j], Some(Role::Text { .. }))).collect();
    let slot_of: HashMap<usize, usize> = numeric.iter().enumerate().map(|(s, &j)| (j, s)).collect();
    let mut indicators: Vec<usize> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Number { column, indicator: true, .. } => Some(slot_of[column]),
            _ => None,
        })
        .collect();
    indicators.sort_unstable();
    indicators.dedup();
    let n_dense = numeric.len() + indicators.len();
    let mut mean = vec![0.0; n_dense];
    let mut scale = vec![1.0; n_dense];
    let mut assigned = vec![false; n_dense];
    let mut coef_dense = Array2::<f64>::zeros((k, n_dense));
    let mut intercept = intercept_in.to_owned();
    // Per text column (in `text` order), per token, the score it adds.
    let (universes, kinds): (Vec<&Vec<Token>>, Vec<CategoryKind>) = text
        .iter()
        .map(|&j| match &roles[j] {
            Some(Role::Text { universe, kind }) => (universe, *kind),
            _ => unreachable!("text columns have a universe"),
        })
        .unzip();
    let text_of: HashMap<usize, usize> = text.iter().enumerate().map(|(t, &j)| (j, t)).collect();
    let mut token_scores: Vec<Array2<f64>> =
        universes.iter().map(|u| Array2::zeros((u.len(), k))).collect();
    for (o, output) in outputs.iter().enumerate() {
        let w = coef_in.column(o);
        match output {
            Output::Number { column, indicator, offset, scale: s, weight, constant } => {
                let slot = if *indicator {
                    numeric.len()
                        + indicators.iter().position(|&i| i == slot_of[column]).expect("listed")
                } else {
                    slot_of[column]
                };
                if assigned[slot] {
                    return Err(RewriteError::Unsupported(format!(
                        "column {:?} reaches the classifier twice",
                        names[*column]
                    )));
                }
                assigned[slot] = true;
                if !(s.is_finite() && *s != 0.0 && offset.is_finite()) {
                    return Err(RewriteError::Malformed(format!(
                        "column {:?} is scaled by {s} around {offset}",
                        names[*column]
                    )));
                }
                mean[slot] = *offset;
                scale[slot] = *s;
                for c in 0..k {
                    coef_dense[[c, slot]] = w[c] * weight;
                    intercept[c] += w[c] * constant;
                }
            }
            Output::Text { column, values } => {
                let t = text_of[column];
                for (u, value) in values.iter().enumerate() {
                    // Where the fitting library raises the model has no answer of its own; it
                    // scores the token as it scores unseen text.
                    let v = value.filter(|v| v.is_finite()).unwrap_or(0.0);
                    for c in 0..k {
                        token_scores[t][[u, c]] += w[c] * v;
                    }
                }
            }
        }
    }
    if let Some((slot, _)) = scale.iter().enumerate().find(|(_, s)| **s < 0.0) {
        return Err(RewriteError::Unsupported(format!(
            "a column is scaled by a negative factor ({})",
            scale[slot]
        )));
    }
    // Statistics: the imputer's, or for a column no imputer fills (the fitting library
    // refuses a missing value there), its scaled centre.
    let mut statistics = Vec::with_capacity(numeric.len());
    let mut strategy = None;
    for (slot, &j) in numeric.iter().enumerate() {
        let Some(Role::Numeric { statistic, strategy: s }) = &roles[j] else { unreachable!() };
        statistics.push(statistic.unwrap_or(mean[slot]));
        strategy = strategy.or(*s);
    }
    // Text: every known token and, when it scores otherwise than unseen text, missing.
    let mut categories = Vec::with_capacity(text.len());
    let mut coef_text: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (t, universe) in universes.iter().enumerate() {
        let scores = &token_scores[t];
        let unseen = scores.row(0).to_owned();
        for c in 0..k {
            intercept[c] += unseen[c];
        }
        let mut column = Vec::new();
        let mut push = |category: Category, u: usize| {
            column.push(category);
            for c in 0..k {
                coef_text[c].push(scores[[u, c]] - unseen[c]);
            }
        };
        for (u, token) in universe.iter().enumerate() {
            if let Token::Known(text) = token {
                push(Some(text.clone()), u);
            }
        }
        // An integer column is never missing.
        if kinds[t] == CategoryKind::Text {
            push(None, 1);
        }
        categories.push(column);
    }
    let width = n_dense + coef_text[0].len();
    let mut coef = Array2::zeros((k, width));
    coef.slice_mut(ndarray::s![.., ..n_dense]).assign(&coef_dense);
    for c in 0..k {
        for (i, v) in coef_text[c].iter().enumerate() {
            coef[[c, n_dense + i]] = *v;
        }
    }
    let columns = ColumnNames {
        numeric: numeric.iter().map(|&j| names[j].clone()).collect(),
        categorical: text.iter().map(|&j| names[j].clone()).collect(),
        kinds,
    };
    let parts = TableParts {
        columns,
        imputer: FittedSimpleImputer::from_parameters(
            strategy.unwrap_or(ImputeStrategy::Mean),
            Array1::from(statistics),
            indicators,
        ),
        scaler: FittedStandardScaler::from_parameters(Array1::from(mean), Array1::from(scale)),
        encoder: FittedOneHotEncoder::from_categories(categories),
    };
    Ok((parts, coef, intercept))
}
