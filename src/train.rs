//! The train job: CSV -> stratified split -> fitted pipeline -> held-out metrics, and the rows
//! (with the native predictions) that the exported file will be verified on.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::compare::Reference;
use crate::data::split::{self, TestFraction};
use crate::data::{CsvOptions, Source, read_csv};
use crate::error::Result;
use crate::metrics::{self, Metrics};
use crate::model::{LogisticRegression, Pipeline, StandardScaler};
use crate::progress::Progress;

/// Everything the train job needs, checked.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub csv: PathBuf,
    pub csv_options: CsvOptions,
    pub model: LogisticRegression,
    pub test_fraction: TestFraction,
    pub seed: u64,
    /// Keep the rows (and native predictions) an exported model is verified on. Off for a
    /// run that writes nothing, which then needs neither the time nor the memory.
    pub keep_reference: bool,
}

/// The result of a training run.
#[derive(Debug, Clone)]
pub struct Training {
    pub source: Source,
    pub feature_names: Vec<String>,
    pub target_name: String,
    pub pipeline: Pipeline,
    pub n_train: usize,
    pub n_test: usize,
    /// Metrics on the held-out rows; `None` when every row trained.
    pub metrics: Option<Metrics>,
    /// The held-out rows (every row with a test fraction of 0) and the native predictions for
    /// them, to check an exported model against; `None` unless `keep_reference` was set.
    pub reference: Option<Reference>,
    pub seconds: Timings,
}

/// Wall time of each step, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    pub read: f64,
    pub fit: f64,
    pub evaluate: f64,
    pub export: f64,
}

/// Reads the CSV, splits it, fits the pipeline on the training rows and scores the held-out rows.
pub fn train(config: &TrainConfig, progress: &Progress) -> Result<Training> {
    let clock = Instant::now();
    let dataset = read_csv(&config.csv, &config.csv_options, progress)?;
    let read = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let split = split::stratified(
        &dataset.rows.targets,
        &dataset.rows.lines,
        &dataset.classes,
        (&dataset.source.file_name, &dataset.target_name),
        config.test_fraction,
        config.seed,
    )?;
    let (train_rows, test) = split::apply(dataset.rows, &split);
    let n_train = train_rows.len();
    // With no held-out rows, the exported file is verified on the training rows, which are
    // about to be scaled in place: keep a copy as read.
    let keep_training_rows = test.is_empty() && config.keep_reference;
    let train_features = keep_training_rows.then(|| train_rows.features.clone());
    let scaler = StandardScaler::new().fit(train_rows.features.view());
    let mut scaled = train_rows.features;
    scaler.transform_in_place(scaled.view_mut());
    let step = progress.iterations("fitting", config.model.max_iter());
    let classifier =
        config.model.fit(scaled.view(), &train_rows.targets, dataset.classes.len(), &step)?;
    step.finish();
    let fit = clock.elapsed().as_secs_f64();

    let pipeline = Pipeline::from_parts(scaler, classifier, dataset.classes);

    let clock = Instant::now();
    let (reference, metrics) = if let Some(features) = train_features {
        let (labels, proba) = pipeline.classifier().predict_with_proba(scaled.view());
        (
            Some(Reference {
                features,
                proba,
                labels,
                lines: train_rows.lines,
                rows_used: "training",
            }),
            None,
        )
    } else if test.is_empty() {
        (None, None)
    } else {
        drop(scaled);
        let (labels, proba) = pipeline.predict_with_proba(test.features.view());
        let metrics = metrics::evaluate(&test.targets, &labels, proba.view(), pipeline.classes());
        let reference = config.keep_reference.then(|| Reference {
            features: test.features,
            proba,
            labels,
            lines: test.lines,
            rows_used: "held-out",
        });
        (reference, Some(metrics))
    };
    let evaluate = clock.elapsed().as_secs_f64();

    Ok(Training {
        source: dataset.source,
        feature_names: dataset.feature_names,
        target_name: dataset.target_name,
        pipeline,
        n_train,
        n_test: test.targets.len(),
        metrics,
        reference,
        seconds: Timings { read, fit, evaluate, export: 0.0 },
    })
}
