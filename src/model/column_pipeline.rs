//! The fitted column pipeline for tables of numeric and categorical columns, scikit-learn's
//!
//! ```text
//! ColumnTransformer([
//!     ("num", Pipeline([SimpleImputer(strategy, add_indicator), StandardScaler()]), numeric),
//!     ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
//! ]) -> LogisticRegression
//! ```
//!
//! The design matrix is the scaled numeric block (imputed columns, then indicators) followed by
//! the one-hot columns. The one-hot block is never written out: each row keeps the index of its
//! one column per categorical column, which the objective and the predictions add directly.

use ndarray::{Array2, ArrayView1, ArrayView2};

use super::design::Design;
use super::imputer::{FittedSimpleImputer, SimpleImputer};
use super::logistic::{FittedLogisticRegression, LogisticRegression};
use super::objective::NO_COLUMN;
use super::one_hot::{Category, FittedOneHotEncoder};
use super::scaler::{FittedStandardScaler, StandardScaler};
use crate::data::{Cells, Classes};
use crate::error::{Error, Result};
use crate::progress::Step;

/// The names of a table's feature columns, by role, each in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnNames {
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
    /// Per categorical column, how its values are typed.
    pub kinds: Vec<CategoryKind>,
}

impl ColumnNames {
    /// Numeric columns and text columns.
    pub fn with_texts(numeric: Vec<String>, categorical: Vec<String>) -> ColumnNames {
        let kinds = vec![CategoryKind::Text; categorical.len()];
        ColumnNames { numeric, categorical, kinds }
    }

    /// The columns counted by role: "4 numeric, 2 text columns", with "1 integer category"
    /// among them when there are any.
    pub fn counts(&self) -> String {
        let integers = self.integer_columns().len();
        let texts = self.categorical.len() - integers;
        let integers =
            if integers > 0 { format!(", {integers} integer category") } else { String::new() };
        format!("{} numeric, {texts} text{integers} columns", self.numeric.len())
    }

    /// Whether each categorical column holds integer categories.
    pub fn integer_flags(&self) -> Vec<bool> {
        self.kinds.iter().map(|k| *k == CategoryKind::Integer).collect()
    }

    /// The names of the categorical columns of integers.
    pub fn integer_columns(&self) -> Vec<String> {
        columns_of_kind(&self.categorical, &self.kinds, CategoryKind::Integer)
    }
}

/// The categorical columns among `names` (kinds `kinds`) whose kind is `wanted`.
pub fn columns_of_kind(
    names: &[String],
    kinds: &[CategoryKind],
    wanted: CategoryKind,
) -> Vec<String> {
    (names.iter().zip(kinds)).filter(|(_, kind)| **kind == wanted).map(|(n, _)| n.clone()).collect()
}

/// How the values of a categorical column are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryKind {
    /// Text; a missing value is the missing category.
    Text,
    /// Whole numbers, as a pandas int64 column holds them (never missing); the categories
    /// are their decimal spellings.
    Integer,
}

/// A fitted column pipeline. Its methods take [`Cells`] with the columns in the order of
/// [`ColumnNames`].
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPipeline {
    columns: ColumnNames,
    imputer: FittedSimpleImputer,
    scaler: FittedStandardScaler,
    encoder: FittedOneHotEncoder,
    classifier: FittedLogisticRegression,
    classes: Classes,
}

impl ColumnPipeline {
    /// Fits every step on `cells` (the training rows) with class indices `y` into `classes`.
    /// `file` names the data in messages.
    #[allow(clippy::too_many_arguments)]
    pub fn fit(
        file: &str,
        columns: ColumnNames,
        cells: Cells,
        y: &[u32],
        classes: Classes,
        imputer: &SimpleImputer,
        classifier: &LogisticRegression,
        step: &Step,
    ) -> Result<ColumnPipeline> {
        let (preprocessing, design) = Preprocessing::fit(file, &columns, cells, imputer)?;
        let (classifier, _) = classifier.fit_design(&design, y, classes.len(), &[], step)?;
        let Preprocessing { imputer, scaler, encoder } = preprocessing;
        Ok(ColumnPipeline { columns, imputer, scaler, encoder, classifier, classes })
    }

    /// A pipeline of parts fitted elsewhere; the classifier's coefficients cover the imputer's
    /// outputs, then the encoder's.
    pub fn from_parts(
        columns: ColumnNames,
        imputer: FittedSimpleImputer,
        scaler: FittedStandardScaler,
        encoder: FittedOneHotEncoder,
        classifier: FittedLogisticRegression,
        classes: Classes,
    ) -> ColumnPipeline {
        ColumnPipeline { columns, imputer, scaler, encoder, classifier, classes }
    }

    /// The feature columns, by role.
    pub fn columns(&self) -> &ColumnNames {
        &self.columns
    }

    pub fn imputer(&self) -> &FittedSimpleImputer {
        &self.imputer
    }

    pub fn scaler(&self) -> &FittedStandardScaler {
        &self.scaler
    }

    pub fn encoder(&self) -> &FittedOneHotEncoder {
        &self.encoder
    }

    pub fn classifier(&self) -> &FittedLogisticRegression {
        &self.classifier
    }

    /// Class labels in probability-column order (`classes_`).
    pub fn classes(&self) -> &Classes {
        &self.classes
    }

    /// The imputer's fill values (`statistics_`).
    pub fn statistics(&self) -> ArrayView1<'_, f64> {
        self.imputer.statistics()
    }

    /// The encoder's categories per column (`categories_`), missing (`None`) last.
    pub fn categories(&self) -> &[Vec<Category>] {
        self.encoder.categories()
    }

    /// The scaler's means (`mean_`), over the imputed columns and the indicators.
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.scaler.mean()
    }

    /// The scaler's divisors (`scale_`).
    pub fn scale(&self) -> ArrayView1<'_, f64> {
        self.scaler.scale()
    }

    /// The classifier's weights (`coef_`): the scaled numeric block, then the one-hot columns.
    pub fn coef(&self) -> ArrayView2<'_, f64> {
        self.classifier.coef()
    }

    /// The classifier's intercepts (`intercept_`).
    pub fn intercept(&self) -> ArrayView1<'_, f64> {
        self.classifier.intercept()
    }

    /// Optimiser iterations (`n_iter_`).
    pub fn n_iter(&self) -> u64 {
        self.classifier.n_iter()
    }

    /// Raw scores: one column for two classes, one per class otherwise.
    pub fn decision_function(&self, cells: &Cells) -> Array2<f64> {
        let design = transform(&self.imputer, &self.scaler, &self.encoder, cells);
        self.classifier.decision_function_design(&design)
    }

    /// Predicted class indices and class probabilities, one column per class.
    pub fn predict_with_proba(&self, cells: &Cells) -> (Vec<u32>, Array2<f64>) {
        self.classifier.predict_scores(self.decision_function(cells))
    }
}

/// One fold's preprocessing for model selection: fitted on `train`, then both parts
/// transformed into designs.
pub fn table_designs(
    file: &str,
    columns: &ColumnNames,
    train: Cells,
    test: &Cells,
    imputer: &SimpleImputer,
) -> Result<(Design, Design)> {
    let (fitted, train) = Preprocessing::fit(file, columns, train, imputer)?;
    let test = transform(&fitted.imputer, &fitted.scaler, &fitted.encoder, test);
    Ok((train, test))
}

/// The fitted steps before the classifier.
struct Preprocessing {
    imputer: FittedSimpleImputer,
    scaler: FittedStandardScaler,
    encoder: FittedOneHotEncoder,
}

impl Preprocessing {
    /// Fits the imputer and scaler on the numeric cells and the encoder on the categorical
    /// ones, and returns the fitted steps with the design of `cells`.
    fn fit(
        file: &str,
        columns: &ColumnNames,
        cells: Cells,
        imputer: &SimpleImputer,
    ) -> Result<(Preprocessing, Design)> {
        let imputer = imputer.fit(cells.numeric.view()).map_err(|j| Error::BadColumn {
            file: file.to_owned(),
            column: columns.numeric[j].clone(),
            message: "it has no value in the training rows, so the imputer has no statistic to \
                      fill it with; leave it out with {drop}, or fill missing numbers with a \
                      constant ({impute} constant:VALUE)"
                .into(),
        })?;
        let Cells { numeric, codes, values } = cells;
        let mut dense = imputer.transform_owned(numeric);
        let scaler = StandardScaler::new().fit(dense.view());
        scaler.transform_in_place(dense.view_mut());
        let encoder = FittedOneHotEncoder::fit(codes.view(), &values);
        let codes = one_hot_codes(&encoder, codes, &values);
        let design = Design::with_one_hot(dense, codes, encoder.n_outputs());
        Ok((Preprocessing { imputer, scaler, encoder }, design))
    }
}

/// The design of `cells` under fitted steps.
fn transform(
    imputer: &FittedSimpleImputer,
    scaler: &FittedStandardScaler,
    encoder: &FittedOneHotEncoder,
    cells: &Cells,
) -> Design {
    let mut dense = imputer.transform(cells.numeric.view());
    scaler.transform_in_place(dense.view_mut());
    let codes = one_hot_codes(encoder, cells.codes.clone(), &cells.values);
    Design::with_one_hot(dense, codes, encoder.n_outputs())
}

/// Per row and categorical column, the one-hot column the cell sets ([`NO_COLUMN`] for none).
fn one_hot_codes(
    encoder: &FittedOneHotEncoder,
    mut codes: Array2<u32>,
    values: &[Vec<String>],
) -> Array2<u32> {
    let columns = encoder.columns_of_codes(values);
    for mut row in codes.rows_mut() {
        for (code, column) in row.iter_mut().zip(&columns) {
            *code = column.column(*code).unwrap_or(NO_COLUMN);
        }
    }
    codes
}
