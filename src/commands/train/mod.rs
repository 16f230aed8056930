//! `onnxify train`: CSV -> stratified split -> fitted pipeline -> held-out metrics ([`train`]),
//! then the model exported and verified on the held-out rows ([`export_training`]) and the
//! run's summary printed ([`run`]).

mod summary;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde::Serialize;

pub use summary::TrainSummary;

use super::{Console, Failure, print_summary};
use crate::data::split::{self, TestFraction};
use crate::data::{Dataset, Source, Table, TableOptions, read_table};
use crate::error::{Error, Result, spell};
use crate::export::{Artefact, ExportOptions, Exported, NotWritten, export, file_name, rfc3339};
use crate::metrics::{self, Metrics};
use crate::model::{
    ColumnNames, ColumnPipeline, Decision, FittedPipeline, LogisticRegression, Pipeline,
    SimpleImputer, table_designs,
};
use crate::onnx::{
    DatasetRecord, GraphOptions, Hyperparameters, Origin, SearchRecord, TrainingRecord,
};
use crate::progress::Progress;
use crate::proof::compare::Reference;
use crate::proof::runtime::Inputs;
use crate::selection::{GridSearch, Outcome, SearchResults, grid_search, grid_search_numeric};
use crate::signing::Signer;

/// A whole `train` command: the job, where the model goes, and what to print.
#[derive(Debug, Clone)]
pub struct TrainCommand {
    pub config: TrainConfig,
    pub output: PathBuf,
    pub graph: GraphOptions,
    /// Recorded as the training date.
    pub trained_at: SystemTime,
    /// Sign the written model with this key (into `<output>.sig`).
    pub sign: Option<Signer>,
    /// Train and evaluate only: write no model and verify nothing.
    pub dry_run: bool,
    /// Print the summary as JSON.
    pub json: bool,
    /// Print nothing but errors.
    pub quiet: bool,
}

/// Runs the train command: trains, exports (unless a dry run) and prints the summary.
pub fn run(command: &TrainCommand, console: &Console) -> Result<(), Failure> {
    let config = &command.config;
    let progress = &console.progress;
    let mut training = train(config, progress)?;
    if !command.quiet
        && let Some(warning) = convergence_warning(&training, console)
    {
        eprintln!("onnxify: warning: {warning}");
    }
    if !command.quiet
        && let Some(warning) = search_warning(&training, console)
    {
        eprintln!("onnxify: warning: {warning}");
    }

    let clock = Instant::now();
    let exported = if command.dry_run {
        None
    } else {
        let options = ExportOptions {
            output: command.output.clone(),
            graph: command.graph,
            sign: command.sign.clone(),
        };
        Some(export_training(&training, config, &options, command.trained_at, progress)?)
    };
    training.seconds.export = clock.elapsed().as_secs_f64();
    training.seconds.verify = exported.as_ref().map_or(0.0, |e| e.verify_seconds);

    let summary = TrainSummary::new(
        &training,
        exported.as_ref(),
        config.search.as_ref(),
        config.test_fraction.get(),
        config.seed,
    );
    print_summary(
        command.json,
        command.quiet,
        |out| summary.write_json(out),
        |out| summary.write_text(out),
    )
}

/// What to say when the optimiser stopped before scikit-learn's convergence test held.
fn convergence_warning(training: &Training, console: &Console) -> Option<String> {
    let classifier = training.model.fitted().classifier();
    if classifier.converged() {
        return None;
    }
    // More iterations help only when the iteration limit stopped the fit.
    let advice = if classifier.n_iter() >= training.hyperparameters.max_iter() {
        "raise {max-iter} or {tol}"
    } else {
        "raise {tol} (more iterations would not lower the loss)"
    };
    Some(spell(
        &format!(
            "the optimiser did not converge: it {} with the gradient's inf-norm at {:.2e}, \
             above {{tol}} {:e} (scikit-learn would raise a ConvergenceWarning); {advice}",
            classifier.stop_reason().unwrap_or("stopped"),
            classifier.gradient_norm(),
            training.hyperparameters.tol()
        ),
        console.naming,
    ))
}

/// What to say when candidates of the grid search failed or did not converge in some fold.
fn search_warning(training: &Training, console: &Console) -> Option<String> {
    let results = training.search.as_ref()?;
    let n = results.candidates.len();
    let outcomes: Vec<Outcome> = (0..n).map(|c| results.outcome(c)).collect();
    let failed: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(message) => Some(message.as_str()),
            _ => None,
        })
        .collect();
    let unconverged = outcomes.iter().filter(|o| **o == Outcome::NotConverged).count();
    let mut said = Vec::new();
    if let Some(first) = failed.first() {
        said.push(format!("{} of {n} candidates failed in some fold ({first})", failed.len()));
    }
    if unconverged > 0 {
        said.push(spell(
            &format!(
                "{unconverged} of {n} candidates did not converge in every fold (raise \
                 {{max-iter}} or {{tol}})"
            ),
            console.naming,
        ));
    }
    (!said.is_empty()).then(|| {
        format!(
            "{}; they rank last, as scikit-learn ranks a failed fit{}",
            said.join("; "),
            if failed.len() == n { ", and the first candidate is refit" } else { "" }
        )
    })
}

/// Exports a training run to `options.output` (and `<output>.json`), verified on its held-out
/// rows (or its training rows with a test size of 0).
pub fn export_training(
    training: &Training,
    config: &TrainConfig,
    options: &ExportOptions,
    trained_at: SystemTime,
    progress: &Progress,
) -> Result<Exported, NotWritten> {
    let pipeline = training.model.fitted();
    let (steps, feature_names) = match &training.model {
        TrainedModel::Plain(_) => ("StandardScaler", training.feature_names.clone()),
        TrainedModel::Table(p) => (
            "ColumnTransformer(SimpleImputer -> StandardScaler | OneHotEncoder)",
            p.columns().numeric.iter().chain(&p.columns().categorical).cloned().collect(),
        ),
    };
    let reference = training.reference.as_ref().ok_or_else(|| Error::Runtime {
        file: training.source.file_name.clone(),
        message: "the training run kept no rows to verify the model on (keep_reference was \
                      off)"
            .into(),
    })?;
    let artefact = Artefact {
        pipeline,
        feature_names: &feature_names,
        matrix_input: crate::onnx::INPUT,
        reference,
        origin: Origin::Trained(training_record(training, config, trained_at)),
        summary: format!(
            "{steps} -> LogisticRegression trained by onnxify {} on {} (target {:?}).",
            env!("CARGO_PKG_VERSION"),
            file_name(Path::new(&training.source.file_name)),
            training.target_name,
        ),
        inputs: vec![&config.csv],
    };
    export(&artefact, options, progress)
}

fn training_record(
    training: &Training,
    config: &TrainConfig,
    trained_at: SystemTime,
) -> TrainingRecord {
    let classifier = training.model.fitted().classifier();
    let source = &training.source;
    TrainingRecord {
        dataset: DatasetRecord {
            file_name: file_name(Path::new(&source.file_name)),
            sha256: source.sha256.clone(),
            rows: source.n_rows,
            columns: source.n_columns,
        },
        target: training.target_name.clone(),
        hyperparameters: Hyperparameters {
            c: training.hyperparameters.c(),
            max_iter: training.hyperparameters.max_iter(),
            tol: training.hyperparameters.tol(),
            class_weight: training.hyperparameters.class_weight(),
            test_size: config.test_fraction.get(),
            seed: config.seed,
        },
        n_iter: classifier.n_iter(),
        converged: classifier.converged(),
        metrics: training.metrics.clone(),
        model_selection: training.search_record(config).map(Box::new),
        trained_at: rfc3339(trained_at),
    }
}

/// `data/train.csv` -> `train.onnx` in the current directory.
pub fn default_output(csv: &Path) -> PathBuf {
    let stem = csv.file_stem().map_or_else(|| "model".into(), |s| s.to_owned());
    let mut name = stem;
    name.push(".onnx");
    PathBuf::from(name)
}

/// Everything the train job needs, checked.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub csv: PathBuf,
    pub table: TableOptions,
    /// How missing numbers are filled (for tables with missing numbers).
    pub imputer: SimpleImputer,
    /// The model to fit; with a search, the settings its candidates share.
    pub model: LogisticRegression,
    /// A grid search by cross-validation on the training rows that chooses C and the class
    /// weighting; `None` fits `model` as it is.
    pub search: Option<GridSearch>,
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
    pub model: TrainedModel,
    /// The hyperparameters the model was fitted with (a search's best candidate).
    pub hyperparameters: LogisticRegression,
    /// The grid search that chose them, if one ran.
    pub search: Option<SearchResults>,
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
    /// The grid search's cross-validation (0 without one).
    pub search: f64,
    pub fit: f64,
    pub evaluate: f64,
    /// Writing the model, its verification included.
    pub export: f64,
    /// Of `export`, loading the model into tract and running it on the rows.
    pub verify: f64,
}

impl Training {
    /// The provenance record of the grid search, if one ran.
    pub fn search_record(&self, config: &TrainConfig) -> Option<SearchRecord> {
        Some(SearchRecord::of(config.search.as_ref()?, self.search.as_ref()?))
    }
}

/// What a training run fitted: the plain pipeline for a CSV of numbers without a missing cell,
/// else the column pipeline.
// One value per run: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum TrainedModel {
    Plain(Pipeline),
    Table(ColumnPipeline),
}

impl TrainedModel {
    /// The fitted pipeline, borrowed.
    pub fn fitted(&self) -> FittedPipeline<'_> {
        match self {
            TrainedModel::Plain(p) => FittedPipeline::Plain(p),
            TrainedModel::Table(p) => FittedPipeline::Table(p),
        }
    }
}

/// Reads the CSV, splits it, fits the pipeline on the training rows and scores the held-out rows.
pub fn train(config: &TrainConfig, progress: &Progress) -> Result<Training> {
    let clock = Instant::now();
    let table = read_table(&config.csv, &config.table, progress)?;
    let read = clock.elapsed().as_secs_f64();
    let mut training = match table.into_dataset() {
        Ok(dataset) => train_plain(dataset, config, progress)?,
        Err(table) => train_table(*table, config, progress)?,
    };
    training.seconds.read = read;
    Ok(training)
}

/// The hyperparameters to fit: `config.model` as it is, or the best candidate of the
/// configured grid search, which `search` runs.
fn select_model(
    config: &TrainConfig,
    search: impl FnOnce(&GridSearch) -> Result<SearchResults>,
) -> Result<(LogisticRegression, Option<SearchResults>)> {
    let Some(grid) = &config.search else {
        return Ok((config.model, None));
    };
    let results = search(grid)?;
    let best = results.candidates[results.best];
    let model = config.model.params().c(best.c).class_weight(best.class_weight).check()?;
    Ok((model, Some(results)))
}

/// The plain pipeline: StandardScaler -> LogisticRegression on a numeric matrix.
fn train_plain(dataset: Dataset, config: &TrainConfig, progress: &Progress) -> Result<Training> {
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
    let features = &train_rows.features;
    let (hyperparameters, search) = select_model(config, |search| {
        let (y, classes) = (&train_rows.targets, &dataset.classes);
        grid_search_numeric(search, &config.model, features.view(), y, classes, progress)
    })?;
    let search_seconds = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    // The fit scales each block of rows as it uses it, so the rows stay as read: with no
    // held-out rows, the exported file is verified on them.
    let keep_training_rows = test.is_empty() && config.keep_reference;
    let features = train_rows.features;
    let step = progress.iterations("fitting", hyperparameters.max_iter());
    // A search's refit starts where the best candidate's folds ended, mean of them.
    let start = search.as_ref().and_then(|results| results.refit_start.as_ref());
    let (y, classes) = (&train_rows.targets, dataset.classes);
    let pipeline = Pipeline::fit_from(features.view(), y, classes, &hyperparameters, start, &step)?;
    step.finish();
    let fit = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let (reference, metrics) = if keep_training_rows {
        let (labels, proba) = pipeline.predict_with_proba(features.view());
        (
            Some(Reference {
                inputs: Inputs::Matrix(features),
                proba,
                labels,
                lines: train_rows.lines,
                rows_used: "training",
                decision: Decision::MostProbable,
            }),
            None,
        )
    } else if test.is_empty() {
        (None, None)
    } else {
        drop(features);
        let (labels, proba) = pipeline.predict_with_proba(test.features.view());
        let metrics = metrics::evaluate(&test.targets, &labels, proba.view(), pipeline.classes());
        let reference = config.keep_reference.then(|| Reference {
            inputs: Inputs::Matrix(test.features),
            proba,
            labels,
            lines: test.lines,
            rows_used: "held-out",
            decision: Decision::MostProbable,
        });
        (reference, Some(metrics))
    };
    let evaluate = clock.elapsed().as_secs_f64();

    Ok(Training {
        source: dataset.source,
        feature_names: dataset.feature_names,
        target_name: dataset.target_name,
        model: TrainedModel::Plain(pipeline),
        hyperparameters,
        search,
        n_train,
        n_test: test.targets.len(),
        metrics,
        reference,
        seconds: Timings { search: search_seconds, fit, evaluate, ..Timings::default() },
    })
}

/// The column pipeline: imputation, scaling and one-hot encoding -> LogisticRegression.
fn train_table(table: Table, config: &TrainConfig, progress: &Progress) -> Result<Training> {
    let clock = Instant::now();
    let split = split::stratified(
        &table.rows.targets,
        &table.rows.lines,
        &table.classes,
        (&table.source.file_name, &table.target_name),
        config.test_fraction,
        config.seed,
    )?;
    let columns = ColumnNames::with_texts(table.numeric_names(), table.categorical_names());
    let feature_names = table.columns.iter().map(|c| c.name.clone()).collect();
    let (train_rows, test) = split::apply_to_table(table.rows, &split);
    let n_train = train_rows.len();
    let (file, cells) = (&table.source.file_name, &train_rows.cells);
    let (hyperparameters, search) = select_model(config, |search| {
        let designs = |train: &[usize], test: &[usize]| {
            table_designs(file, &columns, cells.select(train), &cells.select(test), &config.imputer)
        };
        grid_search(search, &config.model, &train_rows.targets, &table.classes, designs, progress)
    })?;
    let search_seconds = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    // With no held-out rows, the exported file is verified on the training rows.
    let training_cells =
        (test.is_empty() && config.keep_reference).then(|| train_rows.cells.clone());
    let step = progress.iterations("fitting", hyperparameters.max_iter());
    let pipeline = ColumnPipeline::fit(
        &table.source.file_name,
        columns,
        train_rows.cells,
        &train_rows.targets,
        table.classes.clone(),
        &config.imputer,
        &hyperparameters,
        &step,
    )?;
    step.finish();
    let fit = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let (reference, metrics) = if let Some(cells) = training_cells {
        let (labels, proba) = pipeline.predict_with_proba(&cells);
        let reference = Reference {
            inputs: Inputs::Cells(cells),
            proba,
            labels,
            lines: train_rows.lines,
            rows_used: "training",
            decision: Decision::MostProbable,
        };
        (Some(reference), None)
    } else if test.is_empty() {
        (None, None)
    } else {
        let (labels, proba) = pipeline.predict_with_proba(&test.cells);
        let metrics = metrics::evaluate(&test.targets, &labels, proba.view(), pipeline.classes());
        let reference = config.keep_reference.then(|| Reference {
            inputs: Inputs::Cells(test.cells),
            proba,
            labels,
            lines: test.lines,
            rows_used: "held-out",
            decision: Decision::MostProbable,
        });
        (reference, Some(metrics))
    };
    let evaluate = clock.elapsed().as_secs_f64();
    Ok(Training {
        source: table.source,
        feature_names,
        target_name: table.target_name,
        model: TrainedModel::Table(pipeline),
        hyperparameters,
        search,
        n_train,
        n_test: split.test.len(),
        metrics,
        reference,
        seconds: Timings { search: search_seconds, fit, evaluate, ..Timings::default() },
    })
}
