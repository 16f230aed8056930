//! What a training run prints: a readable summary, or the same facts as JSON (`--json`).

use std::io::{self, Write};

use serde::Serialize;

use super::{Timings, TrainedModel, Training};
use crate::commands::summary::{
    ModelFile, write_graph, write_metrics, write_search, write_signature, write_verification,
};
use crate::data::Classes;
use crate::export::Exported;
use crate::metrics::{Metrics, Scoring};
use crate::model::{Category, ColumnPipeline, LogisticRegression};
use crate::onnx::SearchRecord;
use crate::selection::{Candidate, FoldFit, Grid, GridSearch, SearchResults, mean_and_std};

/// The facts of a training run, as printed by `--json`.
#[derive(Debug, Serialize)]
pub struct TrainSummary<'a> {
    pub onnxify_version: &'static str,
    pub dataset: DatasetSummary<'a>,
    pub split: SplitSummary,
    pub hyperparameters: LogisticRegression,
    pub fit: FitSummary<'a>,
    pub parameters: ModelParameters,
    /// The grid search; absent when none ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchSummary<'a>>,
    /// Held-out metrics; null when every row trained.
    pub metrics: Option<&'a Metrics>,
    /// The written model; null for a dry run.
    pub model: Option<ModelFile<'a>>,
    pub seconds: Timings,
}

#[derive(Debug, Serialize)]
pub struct DatasetSummary<'a> {
    pub file: &'a str,
    pub sha256: &'a str,
    pub bytes: u64,
    pub rows: usize,
    pub columns: usize,
    pub features: &'a [String],
    pub target: &'a str,
    pub classes: &'a Classes,
}

#[derive(Debug, Serialize)]
pub struct SplitSummary {
    pub test_size: f64,
    pub seed: u64,
    pub train_rows: usize,
    pub test_rows: usize,
}

#[derive(Debug, Serialize)]
pub struct FitSummary<'a> {
    pub n_iter: u64,
    /// Loss and gradient evaluations, line searches included.
    pub n_evaluations: u64,
    pub converged: bool,
    pub loss: f64,
    pub gradient_norm: f64,
    pub stop_reason: Option<&'a str>,
}

/// The grid search as `--json` prints it: the settings, `cv_results` with the keys and
/// columns of scikit-learn's `cv_results_`, and the best candidate.
#[derive(Debug, Serialize)]
pub struct SearchSummary<'a> {
    pub n_splits: usize,
    pub shuffle: bool,
    /// The seed of shuffled folds (StratifiedKFold's `random_state`).
    pub random_state: Option<u32>,
    pub scoring: Scoring,
    pub grid: &'a Grid,
    pub cv_results: CvResults<'a>,
    pub best_index: usize,
    pub best_params: Candidate,
    pub best_score: f64,
    /// Which candidate each fit belongs to is in `cv_results`; this is the provenance record.
    #[serde(skip)]
    pub record: SearchRecord,
}

/// `cv_results_`: one list per key, one entry per candidate, NaN written as null; besides
/// scikit-learn's keys, `n_iter` (per candidate, per fold) and `outcome`.
#[derive(Debug)]
pub struct CvResults<'a>(&'a SearchResults);

impl Serialize for CvResults<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = self.0;
        let n_splits = r.fits.first().map_or(0, Vec::len);
        let column = |f: &dyn Fn(&FoldFit) -> f64, c: usize| -> Vec<f64> {
            r.fits[c].iter().map(f).collect()
        };
        let per_candidate =
            |f: &dyn Fn(usize) -> f64| -> Vec<f64> { (0..r.candidates.len()).map(f).collect() };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("params", &r.candidates)?;
        map.serialize_entry("param_C", &r.candidates.iter().map(|c| c.c).collect::<Vec<_>>())?;
        map.serialize_entry(
            "param_class_weight",
            &r.candidates.iter().map(|c| c.class_weight.scikit_learn()).collect::<Vec<_>>(),
        )?;
        for k in 0..n_splits {
            map.serialize_entry(
                &format!("split{k}_test_score"),
                &per_candidate(&|c| r.fits[c][k].score),
            )?;
        }
        map.serialize_entry("mean_test_score", &r.mean)?;
        map.serialize_entry("std_test_score", &r.std)?;
        map.serialize_entry("rank_test_score", &r.rank)?;
        for (name, time) in [
            ("fit_time", &(|f: &FoldFit| f.fit_seconds) as &dyn Fn(&FoldFit) -> f64),
            ("score_time", &|f: &FoldFit| f.score_seconds),
        ] {
            let stats: Vec<(f64, f64)> =
                (0..r.candidates.len()).map(|c| mean_and_std(&column(time, c))).collect();
            map.serialize_entry(
                &format!("mean_{name}"),
                &stats.iter().map(|s| s.0).collect::<Vec<_>>(),
            )?;
            map.serialize_entry(
                &format!("std_{name}"),
                &stats.iter().map(|s| s.1).collect::<Vec<_>>(),
            )?;
        }
        map.serialize_entry(
            "n_iter",
            &r.fits
                .iter()
                .map(|f| f.iter().map(|f| f.n_iter).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        )?;
        map.serialize_entry(
            "outcome",
            &(0..r.candidates.len()).map(|c| r.outcome(c)).collect::<Vec<_>>(),
        )?;
        map.end()
    }
}

impl<'a> SearchSummary<'a> {
    fn of(search: &'a GridSearch, results: &'a SearchResults) -> SearchSummary<'a> {
        SearchSummary {
            n_splits: search.folds().n_splits(),
            shuffle: search.folds().shuffle().is_some(),
            random_state: search.folds().shuffle(),
            scoring: search.scoring(),
            grid: search.grid(),
            cv_results: CvResults(results),
            best_index: results.best,
            best_params: results.candidates[results.best],
            best_score: results.mean[results.best],
            record: SearchRecord::of(search, results),
        }
    }

    /// Mean fit seconds per fold of each candidate.
    fn fit_seconds(&self) -> Vec<f64> {
        self.cv_results
            .0
            .fits
            .iter()
            .map(|f| f.iter().map(|f| f.fit_seconds).sum::<f64>() / f.len() as f64)
            .collect()
    }
}

/// The fitted numbers, named as scikit-learn names them.
#[derive(Debug, Serialize)]
pub struct ModelParameters {
    /// The column pipeline's columns and fitted text and statistics; absent for the plain
    /// pipeline.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub columns: Option<ColumnParameters>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub coef: Vec<Vec<f64>>,
    pub intercept: Vec<f64>,
}

/// What a column pipeline fitted besides the scaler and the classifier.
#[derive(Debug, Serialize)]
pub struct ColumnParameters {
    /// Numeric feature columns, in design order.
    pub numeric: Vec<String>,
    /// Categorical feature columns, in design order.
    pub categorical: Vec<String>,
    /// The imputer's strategy (scikit-learn's name).
    pub impute: &'static str,
    /// The imputer's fill value per numeric column (`statistics_`).
    pub statistics: Vec<f64>,
    /// Numeric columns (indices) with a missing indicator (`indicator_.features_`).
    pub indicator_features: Vec<usize>,
    /// Per categorical column, its categories (`categories_`); null is the missing category.
    pub categories: Vec<Vec<Category>>,
}

impl ColumnParameters {
    fn of(pipeline: &ColumnPipeline) -> ColumnParameters {
        ColumnParameters {
            numeric: pipeline.columns().numeric.clone(),
            categorical: pipeline.columns().categorical.clone(),
            impute: pipeline.imputer().strategy().name(),
            statistics: pipeline.statistics().to_vec(),
            indicator_features: pipeline.imputer().indicator_features().to_vec(),
            categories: pipeline.categories().to_vec(),
        }
    }
}

impl<'a> TrainSummary<'a> {
    pub fn new(
        training: &'a Training,
        exported: Option<&'a Exported>,
        search: Option<&'a GridSearch>,
        test_size: f64,
        seed: u64,
    ) -> Self {
        let hyperparameters = training.hyperparameters;
        let model = &training.model;
        let classifier = model.fitted().classifier();
        let (columns, mean, scale) = match model {
            TrainedModel::Plain(p) => (None, p.mean().to_vec(), p.scale().to_vec()),
            TrainedModel::Table(p) => {
                (Some(ColumnParameters::of(p)), p.mean().to_vec(), p.scale().to_vec())
            }
        };
        TrainSummary {
            onnxify_version: env!("CARGO_PKG_VERSION"),
            dataset: DatasetSummary {
                file: &training.source.file_name,
                sha256: &training.source.sha256,
                bytes: training.source.n_bytes,
                rows: training.source.n_rows,
                columns: training.source.n_columns,
                features: &training.feature_names,
                target: &training.target_name,
                classes: model.fitted().classes(),
            },
            split: SplitSummary {
                test_size,
                seed,
                train_rows: training.n_train,
                test_rows: training.n_test,
            },
            hyperparameters,
            fit: FitSummary {
                n_iter: classifier.n_iter(),
                n_evaluations: classifier.n_evaluations(),
                converged: classifier.converged(),
                loss: classifier.loss(),
                gradient_norm: classifier.gradient_norm(),
                stop_reason: classifier.stop_reason(),
            },
            parameters: ModelParameters {
                columns,
                mean,
                scale,
                coef: classifier.coef().rows().into_iter().map(|r| r.to_vec()).collect(),
                intercept: classifier.intercept().to_vec(),
            },
            search: search
                .zip(training.search.as_ref())
                .map(|(search, results)| SearchSummary::of(search, results)),
            metrics: training.metrics.as_ref(),
            model: exported.map(ModelFile::of),
            seconds: training.seconds,
        }
    }

    /// Writes the summary as pretty JSON.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    /// Writes the summary as text for a person.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let d = &self.dataset;
        writeln!(
            out,
            "Read {}: {} rows, {}, target {:?} with {} classes {} ({:.2} s)",
            d.file,
            d.rows,
            count(d.features.len(), "feature"),
            d.target,
            d.classes.len(),
            d.classes,
            self.seconds.read
        )?;
        let s = &self.split;
        if s.test_rows > 0 {
            writeln!(
                out,
                "Split: {} training rows, {} held-out rows (stratified, test size {}, seed {})",
                s.train_rows, s.test_rows, s.test_size, s.seed
            )?;
        } else {
            writeln!(
                out,
                "Split: all {} rows train the model (test size 0, no held-out metrics)",
                s.train_rows
            )?;
        }
        if let Some(search) = &self.search {
            write_search(out, &search.record, Some(&search.fit_seconds()))?;
            writeln!(out, "Cross-validation took {:.2} s", self.seconds.search)?;
        }
        let h = &self.hyperparameters;
        let f = &self.fit;
        let outcome = if f.converged { "converged" } else { "did NOT converge" };
        let steps = match &self.parameters.columns {
            None => "StandardScaler",
            Some(c) => {
                write_columns(out, c)?;
                "ColumnTransformer(SimpleImputer -> StandardScaler | OneHotEncoder)"
            }
        };
        writeln!(
            out,
            "Fit: {steps} -> LogisticRegression(C={}, tol={:e}, max_iter={}{}) {outcome} in {} iterations \
             (loss {:.6}, gradient inf-norm {:.1e}, {:.2} s)",
            shortest(h.c()),
            h.tol(),
            h.max_iter(),
            if h.class_weight().is_none() { "" } else { ", class_weight=\"balanced\"" },
            f.n_iter,
            f.loss,
            f.gradient_norm,
            self.seconds.fit
        )?;
        if let Some(m) = self.metrics {
            writeln!(out)?;
            write_metrics(out, &format!("Held-out metrics ({} rows)", m.n_rows), m)?;
        }
        writeln!(out)?;
        let Some(model) = &self.model else {
            return writeln!(out, "Dry run: no model written");
        };
        write_graph(out, model.graph, model.columns)?;
        write_verification(out, model.verification)?;
        writeln!(
            out,
            "Wrote {} ({}, sha256 {}) and its provenance record {} ({:.2} s)",
            model.path,
            human_bytes(model.bytes),
            model.sha256,
            model.companion_json,
            self.seconds.export
        )?;
        write_signature(out, model.signature.as_ref())
    }
}

/// The column pipeline's columns: which are numeric and how they are imputed, which are
/// categorical and their categories.
fn write_columns(out: &mut dyn Write, c: &ColumnParameters) -> io::Result<()> {
    if !c.numeric.is_empty() {
        let indicators = if c.indicator_features.is_empty() {
            String::new()
        } else {
            format!(", {} missing indicators", c.indicator_features.len())
        };
        writeln!(
            out,
            "Numeric columns ({}, missing values imputed with the {}{indicators}): {}",
            c.numeric.len(),
            c.impute.replace('_', " "),
            c.numeric.join(", ")
        )?;
    }
    if !c.categorical.is_empty() {
        let described: Vec<String> = c
            .categorical
            .iter()
            .zip(&c.categories)
            .map(|(name, categories)| {
                let missing = categories.last().is_some_and(Option::is_none);
                format!(
                    "{name} ({} categories{})",
                    categories.len(),
                    if missing { ", missing among them" } else { "" }
                )
            })
            .collect();
        writeln!(
            out,
            "Categorical columns ({}, one-hot encoded): {}",
            c.categorical.len(),
            described.join(", ")
        )?;
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// `1 feature`, `2 features`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The shorter of plain and scientific notation: `0.01`, `1e300`.
fn shortest(x: f64) -> String {
    let (plain, scientific) = (format!("{x}"), format!("{x:e}"));
    if plain.len() <= scientific.len() { plain } else { scientific }
}
