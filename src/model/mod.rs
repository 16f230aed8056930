//! The estimators: [`StandardScaler`], [`LogisticRegression`] and the fitted [`Pipeline`] of
//! the two. Each follows the same shape: checked settings -> `fit` -> an immutable fitted value
//! whose accessors are named after scikit-learn's attributes.

mod logistic;
mod objective;
mod optimizer;
mod pipeline;
mod scaler;

pub use logistic::{FittedLogisticRegression, LogisticRegression, LogisticRegressionParams};
pub use pipeline::Pipeline;
pub use scaler::{FittedStandardScaler, StandardScaler};
