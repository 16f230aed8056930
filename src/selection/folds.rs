//! scikit-learn's `StratifiedKFold`: which fold tests each row.
//!
//! Classes are numbered in order of first appearance. Each fold's share of a class comes from
//! dealing the rows, sorted by that numbering, round-robin to the folds; a class's rows then go
//! to the folds in contiguous blocks in data order (the blocks' order shuffled per class with
//! `shuffle`, by numpy's generator, so a seed gives scikit-learn's folds for that
//! `random_state`).

use super::numpy_random::Mt19937;
use crate::data::Classes;
use crate::error::{Error, Parameter, Result};

/// Stratified K-fold cross-validation, checked: at least two folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StratifiedKFold {
    n_splits: usize,
    shuffle: Option<u32>,
}

impl StratifiedKFold {
    /// `n_splits` folds (at least 2); `shuffle` is the seed of the shuffled variant.
    pub fn new(n_splits: usize, shuffle: Option<u32>) -> Result<StratifiedKFold> {
        if n_splits < 2 {
            return Err(Error::InvalidParameter {
                parameter: Parameter::Cv,
                message: format!("{n_splits} folds cannot cross-validate; give at least 2"),
            });
        }
        Ok(StratifiedKFold { n_splits, shuffle })
    }

    pub fn n_splits(&self) -> usize {
        self.n_splits
    }

    /// The seed of the shuffled variant, `None` when the folds keep data order.
    pub fn shuffle(&self) -> Option<u32> {
        self.shuffle
    }

    /// The fold that tests each row, for rows of class indices `y` into `classes`. A class
    /// with fewer rows than folds is an error naming it and its count, since some fold would
    /// then test none of its rows.
    pub fn test_folds(&self, y: &[u32], classes: &Classes) -> Result<Vec<u32>> {
        let k = self.n_splits;
        // Class numbers in order of first appearance, and each one's count.
        let mut number = vec![u32::MAX; classes.len()];
        let mut counts: Vec<usize> = Vec::new();
        let mut first_seen: Vec<u32> = Vec::new();
        for &class in y {
            let slot = &mut number[class as usize];
            if *slot == u32::MAX {
                *slot = counts.len() as u32;
                counts.push(0);
                first_seen.push(class);
            }
            counts[*slot as usize] += 1;
        }
        let smallest = (0..counts.len()).min_by_key(|&c| counts[c]);
        if let Some(small) = smallest.filter(|&c| counts[c] < k) {
            let count = counts[small];
            let fix = if count >= 2 {
                format!("lower {{cv}} to at most {count}")
            } else {
                "a class needs at least 2 training rows to be cross-validated".to_owned()
            };
            return Err(Error::InvalidParameter {
                parameter: Parameter::Cv,
                message: format!(
                    "{k} folds need at least {k} rows of every class, but class {} has {count} \
                     among the training rows; {fix}",
                    classes.display(first_seen[small] as usize),
                ),
            });
        }

        let mut rng = self.shuffle.map(Mt19937::new);
        let mut folds_of_class: Vec<Vec<u32>> = Vec::with_capacity(counts.len());
        let mut start = 0;
        for &count in &counts {
            // The rows of this class occupy positions start..start + count of the sorted
            // labels; fold i takes those at positions congruent to i modulo k.
            let end = start + count;
            let mut folds = Vec::with_capacity(count);
            for fold in 0..k {
                let dealt = below(end, fold, k) - below(start, fold, k);
                folds.extend(std::iter::repeat_n(fold as u32, dealt));
            }
            if let Some(rng) = rng.as_mut() {
                rng.shuffle(&mut folds);
            }
            folds_of_class.push(folds);
            start = end;
        }

        let mut next = vec![0usize; counts.len()];
        Ok(y.iter()
            .map(|&class| {
                let c = number[class as usize] as usize;
                next[c] += 1;
                folds_of_class[c][next[c] - 1]
            })
            .collect())
    }
}

/// The number of positions `p < end` with `p % k == fold`.
fn below(end: usize, fold: usize, k: usize) -> usize {
    (end + k - 1 - fold) / k
}

/// The training and test rows of fold `fold`, each in data order.
pub fn split(test_folds: &[u32], fold: u32) -> (Vec<usize>, Vec<usize>) {
    let (test, train): (Vec<usize>, Vec<usize>) =
        (0..test_folds.len()).partition(|&row| test_folds[row] == fold);
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(n: usize) -> Classes {
        Classes::Ints((0..n as i64).collect())
    }

    #[test]
    fn deals_each_class_in_contiguous_blocks() {
        // Class 1 appears first, so it is dealt first: its 4 rows over 3 folds give 2, 1, 1
        // (in blocks: rows 0 and 1 to fold 0, row 3 to fold 1, row 5 to fold 2); class 0's 3
        // rows get one per fold.
        let y = [1, 1, 0, 1, 0, 1, 0];
        let folds = StratifiedKFold::new(3, None).unwrap().test_folds(&y, &classes(2)).unwrap();
        assert_eq!(folds, [0, 0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn a_class_smaller_than_the_folds_is_named() {
        let y = [0, 0, 0, 1, 1, 0];
        let err = StratifiedKFold::new(3, None).unwrap().test_folds(&y, &classes(2)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("class 1 has 2"), "{message}");
    }

    #[test]
    fn fewer_than_two_folds_are_refused() {
        assert!(StratifiedKFold::new(1, None).is_err());
    }
}
