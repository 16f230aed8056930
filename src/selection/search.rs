//! Grid search with stratified K-fold cross-validation, as scikit-learn's `GridSearchCV` runs
//! it: every candidate fitted on each fold's training part and scored on its test part, then
//! ranked by the mean of its fold scores.
//!
//! Two things make it cheaper than fitting candidates x folds pipelines one by one, without
//! changing any result: a fold's preprocessing does not depend on the candidate, so it is
//! fitted once per fold and shared; and fits start near their optimum: within a fold the fits
//! of one class weighting run in increasing C, each starting from the previous one's solution,
//! and folds after the first wave may start instead from the first fold's solution for the same
//! candidate, whichever has the lower loss (the optimiser still stops only at the same
//! gradient tolerance). Folds run in parallel, as many at once as there are threads, so that
//! at most that many folds' data are held at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::folds::{StratifiedKFold, split};
use super::grid::{Candidate, Grid};
use crate::data::Classes;
use crate::error::{Error, Parameter, Result};
use crate::metrics::{Scoring, numpy_sum};
use crate::model::{Design, FittedLogisticRegression, FoldStack, LogisticRegression, WarmStart};
use crate::progress::{Progress, Step};
use ndarray::ArrayView2;

/// The most candidates a search may have, and the most fits (candidates x folds): the
/// provenance records every fold score, and a model file has room for about 64 KiB of text
/// besides its names (a candidate's record takes about 200 bytes, a fold score about 25).
pub const MAX_CANDIDATES: usize = 100;
pub const MAX_FITS: usize = 1000;

/// A grid search: the folds, the candidates and the score that ranks them.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSearch {
    folds: StratifiedKFold,
    grid: Grid,
    scoring: Scoring,
}

impl GridSearch {
    /// A search of at most [`MAX_CANDIDATES`] candidates and [`MAX_FITS`] fits.
    pub fn new(folds: StratifiedKFold, grid: Grid, scoring: Scoring) -> Result<GridSearch> {
        let fits = grid.len() * folds.n_splits();
        if grid.len() > MAX_CANDIDATES || fits > MAX_FITS {
            return Err(Error::InvalidParameter {
                parameter: if grid.len() > MAX_CANDIDATES { Parameter::C } else { Parameter::Cv },
                message: format!(
                    "{} candidates x {} folds is more than the model's provenance records: at \
                     most {MAX_CANDIDATES} candidates and {MAX_FITS} fits",
                    grid.len(),
                    folds.n_splits()
                ),
            });
        }
        Ok(GridSearch { folds, grid, scoring })
    }

    pub fn folds(&self) -> &StratifiedKFold {
        &self.folds
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    pub fn scoring(&self) -> Scoring {
        self.scoring
    }
}

/// How one fit of a candidate on a fold ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Converged,
    /// The optimiser stopped before the gradient tolerance held (scikit-learn would warn).
    NotConverged,
    /// The fit, or the fold's preprocessing, failed with this message.
    Failed(String),
}

/// One candidate fitted on one fold.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldFit {
    /// The score on the fold's test part; NaN if the fit failed.
    pub score: f64,
    pub fit_seconds: f64,
    pub score_seconds: f64,
    /// Optimiser iterations (from the warm start, where there was one).
    pub n_iter: u64,
    pub outcome: Outcome,
}

/// What the search found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub candidates: Vec<Candidate>,
    /// `fits[candidate][fold]`.
    pub fits: Vec<Vec<FoldFit>>,
    /// Mean of each candidate's fold scores (`mean_test_score`).
    pub mean: Vec<f64>,
    /// Population standard deviation of each candidate's fold scores (`std_test_score`).
    pub std: Vec<f64>,
    /// `rank_test_score`: 1 is best; ties share the lowest rank; a candidate with a failed or
    /// unconverged fit ranks with the worst.
    pub rank: Vec<u32>,
    /// The first candidate of rank 1 (`best_index_`).
    pub best: usize,
    /// Where the refit of the best candidate on all training rows may start: the mean of its
    /// fold solutions, when the folds share one scaling to carry them to (numeric data).
    pub refit_start: Option<WarmStart>,
}

impl SearchResults {
    /// How a candidate's fits ended: the first failure, else not converged if any fit was
    /// not, else converged.
    pub fn outcome(&self, candidate: usize) -> Outcome {
        let fits = &self.fits[candidate];
        if let Some(failed) = fits.iter().find(|f| matches!(f.outcome, Outcome::Failed(_))) {
            return failed.outcome.clone();
        }
        if fits.iter().any(|f| f.outcome == Outcome::NotConverged) {
            Outcome::NotConverged
        } else {
            Outcome::Converged
        }
    }
}

/// Runs `search` on rows of class indices `y` into `classes`: each fold's designs come from
/// `designs(training rows, test rows)` (row indices into `y`), which fits the preprocessing on
/// the training rows only; each candidate is `model` with its C and class weighting. A fold
/// whose preprocessing fails (a column with no value in its training part) fails every
/// candidate there; when every candidate has failed, all rank 1 and the first is the best, as
/// in scikit-learn.
///
/// Folds run in waves, one per thread; the folds after the first wave start each candidate
/// from the first fold's solution too.
pub fn grid_search<D>(
    search: &GridSearch,
    model: &LogisticRegression,
    y: &[u32],
    classes: &Classes,
    designs: D,
    progress: &Progress,
) -> Result<SearchResults>
where
    D: Fn(&[usize], &[usize]) -> Result<(Design, Design)> + Sync,
{
    let test_folds = search.test_folds(y, classes)?;
    let job = FoldJob::new(search, model, y, classes, &test_folds, progress);
    let folds: Vec<u32> = (0..search.folds.n_splits() as u32).collect();
    let mut by_fold: Vec<Vec<FoldFit>> = Vec::with_capacity(folds.len());
    let mut seeds: Vec<Option<WarmStart>> = Vec::new();
    for wave in folds.chunks(rayon::current_num_threads().max(1)) {
        let ran: Vec<(Vec<FoldFit>, Vec<Option<WarmStart>>)> =
            wave.par_iter().map(|&fold| job.run(fold, &designs, &seeds)).collect();
        for (fits, solutions) in ran {
            if seeds.is_empty() {
                seeds = solutions;
            }
            by_fold.push(fits);
        }
    }
    Ok(job.results(by_fold))
}

/// [`grid_search`] for the plain pipeline (StandardScaler -> LogisticRegression) on the
/// numeric matrix `features`, whose folds are fitted side by side on one matrix
/// ([`FoldStack`]): on data larger than the cache, several times faster than fold by fold.
pub fn grid_search_numeric(
    search: &GridSearch,
    model: &LogisticRegression,
    features: ArrayView2<f64>,
    y: &[u32],
    classes: &Classes,
    progress: &Progress,
) -> Result<SearchResults> {
    let test_folds = search.test_folds(y, classes)?;
    let job = FoldJob::new(search, model, y, classes, &test_folds, progress);
    let n_folds = search.folds.n_splits();
    let stack = FoldStack::new(features, &test_folds, n_folds, y, classes.len());
    let folds: Vec<u32> = (0..n_folds as u32).collect();
    // Scored once every fold has finished fitting: a lane busy scoring would hold up the
    // passes that serve all the others.
    let fittings = stack.lockstep(&folds, |lane| {
        let train: Vec<u32> = split(&test_folds, lane.fold()).0.iter().map(|&r| y[r]).collect();
        let fit = |model: &LogisticRegression, starts: &[&WarmStart], step: &Step| {
            model.fit_fold(lane, &train, starts, step)
        };
        job.fit_candidates(fit, &[])
    });
    let (fittings, solutions): (Vec<_>, Vec<_>) = fittings.into_iter().unzip();
    let tests: Vec<(Design, Vec<u32>)> = folds
        .par_iter()
        .map(|&fold| {
            let test_y = split(&test_folds, fold).1.iter().map(|&r| y[r]).collect();
            (stack.test_design(fold), test_y)
        })
        .collect();
    let by_fold = (fittings.into_par_iter().zip(&tests))
        .map(|(fittings, (design, test_y))| job.score(fittings, design, test_y))
        .collect();
    let mut results = job.results(by_fold);
    let best: Vec<(u32, &WarmStart)> = (folds.iter().zip(&solutions))
        .filter_map(|(&fold, solutions)| Some((fold, solutions[results.best].as_ref()?)))
        .collect();
    results.refit_start = stack.common_start(&best);
    Ok(results)
}

impl GridSearch {
    /// Each row's test fold, once the scoring is known to suit the classes.
    fn test_folds(&self, y: &[u32], classes: &Classes) -> Result<Vec<u32>> {
        if !self.scoring.supports(classes.len()) {
            return Err(Error::InvalidParameter {
                parameter: Parameter::Scoring,
                message: format!(
                    "{} scores two classes, and the data has {}; choose accuracy, \
                     balanced_accuracy, neg_log_loss or f1_macro",
                    self.scoring.name(),
                    classes.len()
                ),
            });
        }
        self.folds.test_folds(y, classes)
    }
}

/// A candidate's fit on one fold: the classifier, or why there is none, and the time taken.
struct Fitting {
    classifier: Result<FittedLogisticRegression>,
    seconds: f64,
}

/// What every fold's fits share: the search, the rows, and the progress over all fits.
struct FoldJob<'a> {
    search: &'a GridSearch,
    model: &'a LogisticRegression,
    y: &'a [u32],
    n_classes: usize,
    test_folds: &'a [u32],
    done: AtomicU64,
    step: Step,
}

impl<'a> FoldJob<'a> {
    fn new(
        search: &'a GridSearch,
        model: &'a LogisticRegression,
        y: &'a [u32],
        classes: &Classes,
        test_folds: &'a [u32],
        progress: &Progress,
    ) -> FoldJob<'a> {
        let fits = (search.grid.len() * search.folds.n_splits()) as u64;
        FoldJob {
            search,
            model,
            y,
            n_classes: classes.len(),
            test_folds,
            done: AtomicU64::new(0),
            step: progress.fits("cross-validating", fits),
        }
    }

    /// Fits and scores every candidate on one fold whose designs come from `designs`; returns
    /// the fits and the solutions (for the other folds' warm starts), in candidate order.
    fn run<D>(
        &self,
        fold: u32,
        designs: &D,
        seeds: &[Option<WarmStart>],
    ) -> (Vec<FoldFit>, Vec<Option<WarmStart>>)
    where
        D: Fn(&[usize], &[usize]) -> Result<(Design, Design)> + Sync,
    {
        let n_candidates = self.search.grid.len();
        let (train, test) = split(self.test_folds, fold);
        let (train_design, test_design) = match designs(&train, &test) {
            Ok(designs) => designs,
            Err(error) => {
                self.advance(n_candidates as u64);
                return (vec![failed(&error, 0.0); n_candidates], vec![None; n_candidates]);
            }
        };
        let train_y: Vec<u32> = train.iter().map(|&r| self.y[r]).collect();
        let test_y: Vec<u32> = test.iter().map(|&r| self.y[r]).collect();
        let fit = |model: &LogisticRegression, starts: &[&WarmStart], step: &Step| {
            model.fit_design(&train_design, &train_y, self.n_classes, starts, step)
        };
        let (fittings, solutions) = self.fit_candidates(fit, seeds);
        (self.score(fittings, &test_design, &test_y), solutions)
    }

    /// Fits every candidate on one fold with `fit`: for each class weighting, C in increasing
    /// order, each fit starting from the previous C's solution and the candidate's seed,
    /// whichever has the lower loss. Returns the fits and their solutions in candidate order.
    fn fit_candidates<F>(
        &self,
        fit: F,
        seeds: &[Option<WarmStart>],
    ) -> (Vec<Fitting>, Vec<Option<WarmStart>>)
    where
        F: Fn(
            &LogisticRegression,
            &[&WarmStart],
            &Step,
        ) -> Result<(FittedLogisticRegression, WarmStart)>,
    {
        let grid = &self.search.grid;
        let n_candidates = grid.len();
        let weightings = grid.class_weight().len();
        let mut increasing_c: Vec<usize> = (0..grid.c().len()).collect();
        increasing_c.sort_by(|&a, &b| grid.c()[a].total_cmp(&grid.c()[b]));
        let mut fittings: Vec<Option<Fitting>> = (0..n_candidates).map(|_| None).collect();
        let mut solutions: Vec<Option<WarmStart>> = vec![None; n_candidates];
        let silent = Progress::hidden().iterations("fitting", self.model.max_iter());
        for (w, &class_weight) in grid.class_weight().iter().enumerate() {
            let mut previous: Option<WarmStart> = None;
            for &i in &increasing_c {
                let index = i * weightings + w;
                let starts: Vec<&WarmStart> =
                    previous.iter().chain(seeds.get(index).and_then(Option::as_ref)).collect();
                let clock = Instant::now();
                let fitted = self
                    .model
                    .params()
                    .c(grid.c()[i])
                    .class_weight(class_weight)
                    .check()
                    .and_then(|model| fit(&model, &starts, &silent));
                let seconds = clock.elapsed().as_secs_f64();
                fittings[index] = Some(Fitting {
                    classifier: fitted.map(|(classifier, warm)| {
                        solutions[index] = Some(warm.clone());
                        previous = Some(warm);
                        classifier
                    }),
                    seconds,
                });
                self.advance(1);
            }
        }
        let fittings =
            fittings.into_iter().map(|f| f.expect("every candidate was fitted")).collect();
        (fittings, solutions)
    }

    /// Each fitting scored on its fold's test part, `test_design` with classes `test_y`.
    fn score(&self, fittings: Vec<Fitting>, test_design: &Design, test_y: &[u32]) -> Vec<FoldFit> {
        let fold_fit = |fitting: Fitting| match fitting.classifier {
            Ok(classifier) => {
                let clock = Instant::now();
                let decision = classifier.decision_function_design(test_design);
                let (labels, proba) = classifier.predict_scores(decision.clone());
                let score = (self.search.scoring).score(
                    test_y,
                    &labels,
                    proba.view(),
                    decision.view(),
                    self.n_classes,
                );
                FoldFit {
                    score,
                    fit_seconds: fitting.seconds,
                    score_seconds: clock.elapsed().as_secs_f64(),
                    n_iter: classifier.n_iter(),
                    outcome: if classifier.converged() {
                        Outcome::Converged
                    } else {
                        Outcome::NotConverged
                    },
                }
            }
            Err(error) => failed(&error, fitting.seconds),
        };
        fittings.into_par_iter().map(fold_fit).collect()
    }

    fn advance(&self, fits: u64) {
        let done = self.done.fetch_add(fits, Ordering::Relaxed) + fits;
        self.step.set(done);
    }

    /// The search's results from each fold's fits (in fold order): means, standard deviations
    /// and ranks, scikit-learn's way.
    fn results(self, by_fold: Vec<Vec<FoldFit>>) -> SearchResults {
        self.step.finish();
        let candidates = self.search.grid.candidates();
        let fits: Vec<Vec<FoldFit>> = (0..candidates.len())
            .map(|c| by_fold.iter().map(|fold| fold[c].clone()).collect())
            .collect();
        let mut results = SearchResults {
            candidates,
            mean: Vec::new(),
            std: Vec::new(),
            rank: Vec::new(),
            best: 0,
            fits,
            refit_start: None,
        };
        for fits in &results.fits {
            let scores: Vec<f64> = fits.iter().map(|f| f.score).collect();
            let (mean, std) = mean_and_std(&scores);
            results.mean.push(mean);
            results.std.push(std);
        }
        let ranked: Vec<f64> = (0..results.candidates.len())
            .map(|c| match results.outcome(c) {
                Outcome::Converged => results.mean[c],
                _ => f64::NAN,
            })
            .collect();
        results.rank = rank(&ranked);
        results.best = results.rank.iter().position(|&r| r == 1).unwrap_or(0);
        results
    }
}

fn failed(error: &Error, fit_seconds: f64) -> FoldFit {
    FoldFit {
        score: f64::NAN,
        fit_seconds,
        score_seconds: 0.0,
        n_iter: 0,
        outcome: Outcome::Failed(error.to_string()),
    }
}

/// Mean and population standard deviation, summed as numpy sums (`np.average`).
pub fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = numpy_sum(values) / n;
    let squares: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
    (mean, (numpy_sum(&squares) / n).sqrt())
}

/// `GridSearchCV`'s ranks of mean scores: `rankdata(-means, method="min")` once NaN (a failed
/// candidate) is replaced by one below the lowest score; all 1 when every mean is NaN.
pub fn rank(means: &[f64]) -> Vec<u32> {
    if means.iter().all(|m| m.is_nan()) {
        return vec![1; means.len()];
    }
    let lowest = means.iter().copied().filter(|m| !m.is_nan()).fold(f64::INFINITY, f64::min);
    let filled: Vec<f64> =
        means.iter().map(|&m| if m.is_nan() { lowest - 1.0 } else { m }).collect();
    filled.iter().map(|&m| 1 + filled.iter().filter(|&&other| other > m).count() as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_lowest_rank_and_nan_ranks_last() {
        assert_eq!(rank(&[0.5, 0.9, 0.9, f64::NAN, 0.1]), [3, 1, 1, 5, 4]);
        assert_eq!(rank(&[f64::NAN, f64::NAN]), [1, 1]);
        assert_eq!(rank(&[0.2, f64::NAN, 0.2]), [1, 3, 1]);
    }

    #[test]
    fn the_standard_deviation_is_the_population_one() {
        let (mean, std) = mean_and_std(&[1.0, 3.0]);
        assert_eq!(mean, 2.0);
        assert_eq!(std, 1.0);
    }
}
