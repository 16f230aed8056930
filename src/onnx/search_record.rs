//! The record of the grid search that chose a trained model's C and class weighting, as the
//! provenance keeps it (the metadata entry `model_selection` and the companion JSON), and the
//! check that it agrees with itself and with the hyperparameters the model records. It holds
//! scores and settings only: no timings, so that a rebuild writes the same bytes.

use serde::{Deserialize, Serialize};

use crate::metrics::Scoring;
use crate::model::ClassWeight;
use crate::selection::{GridSearch, Outcome, SearchResults, mean_and_std, rank};

/// The search: folds, grid, scorer, every candidate's results and the one chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// Stratified K-fold cross-validation on the training rows: K.
    pub n_splits: usize,
    /// The seed of shuffled folds; absent for folds in data order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_seed: Option<u32>,
    pub scoring: Scoring,
    /// The values searched, in the order given.
    pub grid: GridRecord,
    /// One per candidate, in scikit-learn's ParameterGrid order.
    pub candidates: Vec<CandidateRecord>,
    /// The candidate refit on all training rows (`best_index_`).
    pub best_index: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridRecord {
    #[serde(rename = "C")]
    pub c: Vec<f64>,
    pub class_weight: Vec<ClassWeight>,
}

/// One candidate's cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    #[serde(rename = "C")]
    pub c: f64,
    pub class_weight: ClassWeight,
    /// The score on each fold's test part; null where the fit failed.
    pub split_test_scores: Vec<Option<f64>>,
    /// Mean of the fold scores; null if one is.
    pub mean_test_score: Option<f64>,
    /// Population standard deviation of the fold scores; null if one is null.
    pub std_test_score: Option<f64>,
    pub rank_test_score: u32,
    /// Optimiser iterations per fold.
    pub n_iter: Vec<u64>,
    pub outcome: Outcome,
}

impl SearchRecord {
    pub fn of(search: &GridSearch, results: &SearchResults) -> SearchRecord {
        let finite = |v: f64| (!v.is_nan()).then_some(v);
        SearchRecord {
            n_splits: search.folds().n_splits(),
            shuffle_seed: search.folds().shuffle(),
            scoring: search.scoring(),
            grid: GridRecord {
                c: search.grid().c().to_vec(),
                class_weight: search.grid().class_weight().to_vec(),
            },
            candidates: results
                .candidates
                .iter()
                .enumerate()
                .map(|(i, candidate)| CandidateRecord {
                    c: candidate.c,
                    class_weight: candidate.class_weight,
                    split_test_scores: results.fits[i].iter().map(|f| finite(f.score)).collect(),
                    mean_test_score: finite(results.mean[i]),
                    std_test_score: finite(results.std[i]),
                    rank_test_score: results.rank[i],
                    n_iter: results.fits[i].iter().map(|f| f.n_iter).collect(),
                    outcome: results.outcome(i),
                })
                .collect(),
            best_index: results.best,
        }
    }

    /// Where the record disagrees with itself (the candidates are not the grid's in
    /// ParameterGrid order, a mean or rank is not what the fold scores give, the best index is
    /// not the first of rank 1) or with the hyperparameters `c` and `class_weight` the model
    /// was fitted with.
    pub fn problems(&self, c: f64, class_weight: ClassWeight) -> Vec<String> {
        let mut problems = Vec::new();
        let grid: Vec<(f64, ClassWeight)> = self
            .grid
            .c
            .iter()
            .flat_map(|&c| self.grid.class_weight.iter().map(move |&w| (c, w)))
            .collect();
        let listed: Vec<(f64, ClassWeight)> =
            self.candidates.iter().map(|k| (k.c, k.class_weight)).collect();
        if listed != grid {
            problems.push("the candidates are not the grid's, in ParameterGrid order".to_owned());
        }
        let mut means = Vec::with_capacity(self.candidates.len());
        for (i, candidate) in self.candidates.iter().enumerate() {
            if candidate.split_test_scores.len() != self.n_splits
                || candidate.n_iter.len() != self.n_splits
            {
                problems
                    .push(format!("candidate {i} does not have {} fold results", self.n_splits));
                means.push(f64::NAN);
                continue;
            }
            let scores: Vec<f64> =
                candidate.split_test_scores.iter().map(|s| s.unwrap_or(f64::NAN)).collect();
            let (mean, std) = mean_and_std(&scores);
            if !same(candidate.mean_test_score, mean) || !same(candidate.std_test_score, std) {
                problems.push(format!(
                    "candidate {i}'s mean and standard deviation are not its fold scores'"
                ));
            }
            means.push(if candidate.outcome == Outcome::Converged { mean } else { f64::NAN });
        }
        let ranks: Vec<u32> = self.candidates.iter().map(|k| k.rank_test_score).collect();
        if ranks != rank(&means) {
            problems.push("the ranks are not those of the mean scores".to_owned());
        }
        match self.candidates.get(self.best_index) {
            None => problems.push(format!("best_index {} names no candidate", self.best_index)),
            Some(best) => {
                if ranks.iter().position(|&r| r == 1) != Some(self.best_index) {
                    problems.push("best_index is not the first candidate of rank 1".to_owned());
                }
                if best.c != c || best.class_weight != class_weight {
                    problems.push(format!(
                        "the best candidate (C {}, class_weight {}) is not the hyperparameters \
                         the model records (C {c}, class_weight {})",
                        best.c,
                        best.class_weight.name(),
                        class_weight.name()
                    ));
                }
            }
        }
        problems
    }
}

/// A recorded number (null for NaN) equals a recomputed one, to rounding.
fn same(recorded: Option<f64>, computed: f64) -> bool {
    match recorded {
        None => computed.is_nan(),
        Some(v) => (v - computed).abs() <= 1e-12 * v.abs().max(1.0),
    }
}
