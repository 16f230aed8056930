//! onnxify trains a `StandardScaler -> LogisticRegression` pipeline from a CSV with
//! scikit-learn's exact semantics (for a table with text columns or missing cells, the column
//! pipeline of SimpleImputer, StandardScaler and OneHotEncoder), so that a model can be handed
//! to production as pure data instead of a pickle.
//!
//! The layers, each importing only those below it:
//!
//! - [`commands`]: one module per subcommand, and [`commands::Failure`], which owns the exit
//!   codes; [`cli`] is the command line on top (clap types, flags, dispatch).
//! - [`export`]: writing an artefact, only once its file has been proven.
//! - [`proof`]: what proves a file (the tract runtime, the comparison with the native
//!   pipeline, probe rows); [`pickle`]: reading a scikit-learn pickle as data, never loading it.
//! - [`onnx`]: the graph onnxify writes, the provenance record, and the reading of hostile
//!   model files.
//! - [`signing`]: signing a model file and checking a signature before the file is trusted,
//!   in the format of OpenSSF's model signing.
//! - [`selection`]: model selection (stratified K-fold cross-validation, grid search).
//! - [`model`] and [`metrics`]: the estimators with scikit-learn's semantics, and held-out
//!   metrics.
//! - [`data`]: CSV reading (a numeric matrix, or a table of numeric and text columns with
//!   missing cells), class labels, the stratified split.
//! - [`Error`], [`util`] and [`progress`] at the bottom.
//!
//! A training run: CSV bytes -> [`data::Dataset`] -> [`model::Pipeline`] (or
//! [`data::Table`] -> [`model::ColumnPipeline`]) -> [`metrics`] -> ONNX bytes -> a file proven
//! by [`proof`] and written by [`export`] ([`commands::train`]). A conversion comes in the other way: a pickle read by [`pickle`],
//! then the same export ([`commands::convert`]).
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
pub mod selection;
pub mod signing;
pub mod spark;
mod terminal;
pub mod util;

pub use error::{Error, Location, Parameter, Result};

/// The README's Rust examples, compiled by `cargo test` so that they keep matching the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
