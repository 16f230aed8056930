//! The train job: CSV -> stratified split -> fitted pipeline -> held-out metrics.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::data::split::{self, TestFraction};
use crate::data::{Classes, CsvOptions, Rows, Source, read_csv};
use crate::error::Result;
use crate::metrics::{self, Metrics};
use crate::model::{LogisticRegression, Pipeline};
use crate::progress::Progress;

/// Everything the train job needs, checked.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub csv: PathBuf,
    pub csv_options: CsvOptions,
    pub model: LogisticRegression,
    pub test_fraction: TestFraction,
    pub seed: u64,
}

/// The result of a training run.
#[derive(Debug, Clone)]
pub struct Training {
    pub source: Source,
    pub feature_names: Vec<String>,
    pub target_name: String,
    pub pipeline: Pipeline,
    pub n_train: usize,
    /// The held-out rows, raw (empty with a test fraction of 0).
    pub test: Rows,
    /// Metrics on the held-out rows; `None` when every row trained.
    pub metrics: Option<Metrics>,
    pub seconds: Timings,
}

/// Wall time of each step, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    pub read: f64,
    pub fit: f64,
    pub evaluate: f64,
}

/// Reads the CSV, splits it, fits the pipeline on the training rows and scores the held-out rows.
pub fn train(config: &TrainConfig, progress: &Progress) -> Result<Training> {
    let clock = Instant::now();
    let dataset = read_csv(&config.csv, &config.csv_options, progress)?;
    let read = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let split = split::stratified(
        &dataset.rows.targets,
        &dataset.classes,
        &dataset.source.file_name,
        config.test_fraction,
        config.seed,
    )?;
    let (train_rows, test) = split::apply(dataset.rows, &split);
    let n_train = train_rows.len();
    let step = progress.iterations("fitting", config.model.max_iter());
    let pipeline = Pipeline::fit(
        train_rows.features,
        &train_rows.targets,
        dataset.classes,
        &config.model,
        &step,
    )?;
    step.finish();
    let fit = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let metrics = (!test.is_empty()).then(|| held_out_metrics(&pipeline, &test));
    let evaluate = clock.elapsed().as_secs_f64();

    Ok(Training {
        source: dataset.source,
        feature_names: dataset.feature_names,
        target_name: dataset.target_name,
        pipeline,
        n_train,
        test,
        metrics,
        seconds: Timings { read, fit, evaluate },
    })
}

fn held_out_metrics(pipeline: &Pipeline, test: &Rows) -> Metrics {
    let proba = pipeline.predict_proba(test.features.view());
    let predicted = pipeline.predict(test.features.view());
    metrics::evaluate(&test.targets, &predicted, proba.view(), pipeline.classes())
}

impl Training {
    pub fn classes(&self) -> &Classes {
        self.pipeline.classes()
    }
}
