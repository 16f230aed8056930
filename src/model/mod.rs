//! The estimators: [`StandardScaler`], [`LogisticRegression`] and the fitted [`Pipeline`] of
//! the two; for tables, [`SimpleImputer`], the OneHotEncoder ([`FittedOneHotEncoder`]) and the
//! [`ColumnPipeline`] of them all. Each follows the same shape: checked settings -> `fit` -> an immutable fitted value
//! whose accessors are named after scikit-learn's attributes.

mod column_pipeline;
mod imputer;
mod logistic;
mod objective;
mod one_hot;
mod optimizer;
mod pipeline;
mod scaler;

pub use column_pipeline::{ColumnNames, ColumnPipeline};
pub use imputer::{FittedSimpleImputer, ImputeStrategy, SimpleImputer};
pub use one_hot::{Category, CodeColumns, FittedOneHotEncoder};

pub use logistic::{FittedLogisticRegression, LogisticRegression, LogisticRegressionParams};
pub use pipeline::Pipeline;
pub use scaler::{FittedStandardScaler, StandardScaler};
