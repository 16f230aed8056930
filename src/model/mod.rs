//! The estimators: [`StandardScaler`], [`LogisticRegression`] and the fitted [`Pipeline`] of
//! the two; for tables, [`SimpleImputer`], the OneHotEncoder ([`FittedOneHotEncoder`]) and the
//! [`ColumnPipeline`] of them all. Each follows the same shape: checked settings -> `fit` -> an immutable fitted value
//! whose accessors are named after scikit-learn's attributes.

mod column_pipeline;
mod design;
mod fold_stack;
mod imputer;
mod logistic;
mod objective;
mod one_hot;
mod optimizer;
mod pipeline;
mod scaler;

pub mod column_rewrite;
pub use column_pipeline::{
    CategoryKind, ColumnNames, ColumnPipeline, columns_of_kind, table_designs,
};
pub use design::Design;
pub use fold_stack::{FoldStack, Lane};
pub use imputer::{FittedSimpleImputer, ImputeStrategy, SimpleImputer};
pub use one_hot::{Category, CodeColumns, FittedOneHotEncoder};

pub use logistic::{
    ClassWeight, Decision, FittedLogisticRegression, Link, LogisticRegression,
    LogisticRegressionParams, top_two_margin,
};
pub use optimizer::WarmStart;
pub use pipeline::Pipeline;
pub use scaler::{FittedStandardScaler, StandardScaler};

/// A fitted pipeline of either kind, borrowed: what the exporter writes.
#[derive(Debug, Clone, Copy)]
pub enum FittedPipeline<'a> {
    /// StandardScaler -> LogisticRegression on a numeric matrix.
    Plain(&'a Pipeline),
    /// The column pipeline of a table.
    Table(&'a ColumnPipeline),
}

impl<'a> FittedPipeline<'a> {
    pub fn classes(self) -> &'a crate::data::Classes {
        match self {
            FittedPipeline::Plain(p) => p.classes(),
            FittedPipeline::Table(p) => p.classes(),
        }
    }

    pub fn classifier(self) -> &'a FittedLogisticRegression {
        match self {
            FittedPipeline::Plain(p) => p.classifier(),
            FittedPipeline::Table(p) => p.classifier(),
        }
    }
}
