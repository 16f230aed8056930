//! onnxify trains a `StandardScaler -> LogisticRegression` pipeline from a CSV with
//! scikit-learn's exact semantics, so that a model can be handed to production as pure data
//! instead of a pickle.
//!
//! The data flows one way: CSV bytes ([`data`]) -> a fitted [`model::Pipeline`] -> held-out
//! [`metrics`] -> ONNX bytes ([`onnx`]) -> a file proven by [`runtime`] and [`compare`] and
//! written by [`export`]. The [`train`] module runs the training job; [`convert`] runs the other
//! way in: a pickled scikit-learn pipeline read as data by [`pickle`], never loaded, then the
//! same export. [`cli`] is the command line on top.
//!
//! ```no_run
//! use onnxify::data::{CsvOptions, read_csv};
//! use onnxify::model::{LogisticRegressionParams, Pipeline};
//! use onnxify::progress::Progress;
//!
//! # fn main() -> onnxify::Result<()> {
//! let data = read_csv("samples/iris.csv".as_ref(), &CsvOptions::default(), &Progress::hidden())?;
//! let params = LogisticRegressionParams::new().c(1.0).check()?;
//! let silent = Progress::hidden().iterations("fitting", params.max_iter());
//! let x = data.rows.features.clone();
//! let pipeline = Pipeline::fit(x, &data.rows.targets, data.classes, &params, &silent)?;
//! let proba = pipeline.predict_proba(data.rows.features.view());
//! println!("{} classes, first row: {}", pipeline.classes().len(), proba.row(0));
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod commands;
pub mod data;
mod error;
pub mod export;
pub mod metrics;
pub mod model;
pub mod onnx;
pub mod pickle;
pub mod progress;
pub mod proof;
mod terminal;
pub mod util;

pub use error::{Error, Location, Parameter, Result};

/// The README's Rust examples, compiled by `cargo test` so that they keep matching the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
