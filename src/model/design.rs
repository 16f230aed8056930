//! The design matrix a classifier is fitted on and scores: the scaled dense columns, then the
//! one-hot columns, kept as per-row indices (see [`OneHotColumns`]).
//!
//! Model selection fits many classifiers on one fold, so a fold's preprocessing is fitted on
//! its training part once, both parts are transformed into designs, and every candidate is
//! fitted and scored on those.

use ndarray::{Array2, ArrayView2};

use super::objective::OneHotColumns;

/// Dense columns followed by one-hot columns, one row per data row.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    dense: Array2<f64>,
    /// Per row, the one-hot column of each categorical column, and the number of one-hot
    /// columns; `None` for a design of dense columns only.
    one_hot: Option<(Array2<u32>, usize)>,
}

impl Design {
    /// A design of dense columns only.
    pub fn dense(dense: Array2<f64>) -> Design {
        Design { dense, one_hot: None }
    }

    /// Dense columns followed by `width` one-hot columns given by `codes`.
    pub(crate) fn with_one_hot(dense: Array2<f64>, codes: Array2<u32>, width: usize) -> Design {
        Design { dense, one_hot: Some((codes, width)) }
    }

    pub(crate) fn dense_view(&self) -> ArrayView2<'_, f64> {
        self.dense.view()
    }

    pub(crate) fn one_hot(&self) -> Option<OneHotColumns<'_>> {
        self.one_hot
            .as_ref()
            .map(|(codes, width)| OneHotColumns { codes: codes.view(), width: *width })
    }
}
