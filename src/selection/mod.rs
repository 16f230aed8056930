//! Model selection with scikit-learn's semantics: stratified K-fold cross-validation
//! ([`StratifiedKFold`]) and a grid search over C and class weighting ([`grid_search`]) whose
//! candidates, scores and ranks are `GridSearchCV`'s.

mod folds;
mod grid;
mod numpy_random;
mod search;

pub use folds::{StratifiedKFold, split};
pub use grid::{Candidate, Grid, logspace};
pub use search::{
    FoldFit, GridSearch, MAX_CANDIDATES, MAX_FITS, Outcome, SearchResults, grid_search,
    grid_search_numeric, mean_and_std, rank,
};
