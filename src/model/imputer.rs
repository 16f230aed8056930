//! SimpleImputer with scikit-learn's semantics for numeric columns (NaN is missing): one
//! statistic per column fitted on the observed values, and with `add_indicator` a 0/1 column
//! for each column that had a missing value at fit time (`MissingIndicator(features=
//! "missing-only")`), appended after the imputed columns.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

/// How a missing number is filled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "strategy", content = "fill_value")]
pub enum ImputeStrategy {
    /// The mean of the observed values (scikit-learn's default).
    Mean,
    /// The median of the observed values; of an even count, the mean of the middle two.
    Median,
    /// The most frequent observed value; of several, the smallest.
    MostFrequent,
    /// A fixed value.
    Constant(f64),
}

impl ImputeStrategy {
    /// scikit-learn's name of the strategy.
    pub fn name(self) -> &'static str {
        match self {
            ImputeStrategy::Mean => "mean",
            ImputeStrategy::Median => "median",
            ImputeStrategy::MostFrequent => "most_frequent",
            ImputeStrategy::Constant(_) => "constant",
        }
    }
}

/// Settings of a SimpleImputer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimpleImputer {
    strategy: ImputeStrategy,
    add_indicator: bool,
}

impl Default for SimpleImputer {
    fn default() -> Self {
        SimpleImputer { strategy: ImputeStrategy::Mean, add_indicator: false }
    }
}

impl SimpleImputer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The statistic filled in. Default [`ImputeStrategy::Mean`].
    pub fn strategy(mut self, strategy: ImputeStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Append a missing-indicator column per column with a missing value at fit time.
    /// Default false.
    pub fn add_indicator(mut self, add: bool) -> Self {
        self.add_indicator = add;
        self
    }

    /// Fits on `x` (NaN is missing). A column without any observed value has no statistic
    /// (scikit-learn drops it); the error is its index.
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<FittedSimpleImputer, usize> {
        let columns = x.ncols();
        let mut observed: Vec<Vec<f64>> = vec![Vec::new(); columns];
        let mut sums = vec![0.0; columns];
        let mut counts = vec![0usize; columns];
        let keep = !matches!(self.strategy, ImputeStrategy::Mean | ImputeStrategy::Constant(_));
        for row in x.rows() {
            for (j, &v) in row.iter().enumerate() {
                if !v.is_nan() {
                    sums[j] += v;
                    counts[j] += 1;
                    if keep {
                        observed[j].push(v);
                    }
                }
            }
        }
        let n = x.nrows();
        let mut statistics = Vec::with_capacity(columns);
        for j in 0..columns {
            let statistic = match self.strategy {
                ImputeStrategy::Constant(value) => value,
                _ if counts[j] == 0 => return Err(j),
                ImputeStrategy::Mean => sums[j] / counts[j] as f64,
                ImputeStrategy::Median => median(&mut observed[j]),
                ImputeStrategy::MostFrequent => most_frequent(&mut observed[j]),
            };
            statistics.push(statistic);
        }
        let indicator_features = if self.add_indicator {
            (0..columns).filter(|&j| counts[j] < n).collect()
        } else {
            Vec::new()
        };
        Ok(FittedSimpleImputer {
            strategy: self.strategy,
            statistics: Array1::from(statistics),
            indicator_features,
        })
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

fn most_frequent(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let (mut best, mut best_count) = (values[0], 0);
    let mut start = 0;
    while start < values.len() {
        let end = start + values[start..].iter().take_while(|&&v| v == values[start]).count();
        // Ascending order: a later value must be strictly more frequent to win a tie.
        if end - start > best_count {
            (best, best_count) = (values[start], end - start);
        }
        start = end;
    }
    best
}

/// A fitted SimpleImputer.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedSimpleImputer {
    strategy: ImputeStrategy,
    statistics: Array1<f64>,
    indicator_features: Vec<usize>,
}

impl FittedSimpleImputer {
    /// An imputer fitted elsewhere.
    pub fn from_parameters(
        strategy: ImputeStrategy,
        statistics: Array1<f64>,
        indicator_features: Vec<usize>,
    ) -> FittedSimpleImputer {
        FittedSimpleImputer { strategy, statistics, indicator_features }
    }

    pub fn strategy(&self) -> ImputeStrategy {
        self.strategy
    }

    /// The value filled in per column (`statistics_`).
    pub fn statistics(&self) -> ArrayView1<'_, f64> {
        self.statistics.view()
    }

    /// The columns that get a missing indicator (`indicator_.features_`), in order.
    pub fn indicator_features(&self) -> &[usize] {
        &self.indicator_features
    }

    /// Output columns: the imputed columns, then the indicators.
    pub fn n_outputs(&self) -> usize {
        self.statistics.len() + self.indicator_features.len()
    }

    /// [`transform`](FittedSimpleImputer::transform), filling `x` in place when there are no
    /// indicators to append (so a large matrix is not copied).
    pub fn transform_owned(&self, mut x: Array2<f64>) -> Array2<f64> {
        if !self.indicator_features.is_empty() {
            return self.transform(x.view());
        }
        for mut row in x.rows_mut() {
            for (v, &statistic) in row.iter_mut().zip(&self.statistics) {
                if v.is_nan() {
                    *v = statistic;
                }
            }
        }
        x
    }

    /// The imputed columns followed by the indicator columns (1.0 where the cell was missing).
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let columns = self.statistics.len();
        let mut out = Array2::zeros((x.nrows(), self.n_outputs()));
        for (mut row, input) in out.rows_mut().into_iter().zip(x.rows()) {
            for j in 0..columns {
                let v = input[j];
                row[j] = if v.is_nan() { self.statistics[j] } else { v };
            }
            for (k, &j) in self.indicator_features.iter().enumerate() {
                row[columns + k] = if input[j].is_nan() { 1.0 } else { 0.0 };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    const NAN: f64 = f64::NAN;

    #[test]
    fn each_strategy_fills_with_its_statistic() {
        let x = array![[1.0, 5.0], [NAN, 5.0], [4.0, 2.0], [2.0, NAN], [4.0, 2.0]];
        let fit = |s| SimpleImputer::new().strategy(s).fit(x.view()).unwrap();
        assert_eq!(fit(ImputeStrategy::Mean).statistics().to_vec(), [11.0 / 4.0, 3.5]);
        // Even counts: the mean of the middle two.
        assert_eq!(fit(ImputeStrategy::Median).statistics().to_vec(), [3.0, 3.5]);
        // 5 and 2 tie in the second column: the smaller wins.
        assert_eq!(fit(ImputeStrategy::MostFrequent).statistics().to_vec(), [4.0, 2.0]);
        assert_eq!(fit(ImputeStrategy::Constant(-1.0)).statistics().to_vec(), [-1.0, -1.0]);
        let filled = fit(ImputeStrategy::Mean).transform(x.view());
        assert_eq!(fit(ImputeStrategy::Mean).transform_owned(x.clone()), filled);
        assert_eq!(filled[[1, 0]], 11.0 / 4.0);
        assert_eq!(filled[[3, 1]], 3.5);
        assert_eq!(filled[[2, 0]], 4.0);
    }

    #[test]
    fn indicators_follow_the_columns_that_had_a_missing_value() {
        let x = array![[1.0, 5.0, 0.0], [NAN, 5.0, 1.0], [4.0, 2.0, NAN]];
        let fitted = SimpleImputer::new().add_indicator(true).fit(x.view()).unwrap();
        assert_eq!(fitted.indicator_features(), [0, 2]);
        let out = fitted.transform(array![[NAN, NAN, 3.0]].view());
        assert_eq!(out.row(0).to_vec(), [2.5, 4.0, 3.0, 1.0, 0.0]);
    }

    #[test]
    fn a_column_without_an_observed_value_has_no_statistic() {
        let x = array![[1.0, NAN], [2.0, NAN]];
        assert_eq!(SimpleImputer::new().fit(x.view()), Err(1));
        let constant = SimpleImputer::new().strategy(ImputeStrategy::Constant(0.0));
        assert!(constant.fit(x.view()).is_ok());
    }
}
