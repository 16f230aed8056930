//! The stratified held-out split: which rows train the model and which evaluate it.
//!
//! The split depends only on the class of each row, the test fraction and the seed. Its random
//! numbers come from [`SplitMix64`] with unbiased bounded integers, so one seed selects the same
//! rows on every machine and in every release.

use ndarray::Array2;
use rayon::prelude::*;

use super::{Cells, Classes, Rows, TableRows};
use crate::error::{Error, Location, Parameter, Result};
use crate::util::SplitMix64;

/// Fraction of rows held out, checked to lie in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TestFraction(f64);

impl TestFraction {
    pub fn new(fraction: f64) -> Result<TestFraction> {
        if (0.0..1.0).contains(&fraction) {
            Ok(TestFraction(fraction))
        } else {
            Err(Error::InvalidParameter {
                parameter: Parameter::TestSize,
                message: format!("{fraction} is not a fraction in [0, 1)"),
            })
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// Row indices of the two sides of a split, each in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Splits rows so that each class is held out in proportion to its size.
///
/// Holds out `ceil(fraction * n)` rows in all (scikit-learn's rule), shared between classes by
/// largest remainder; every class keeps at least one row on each side, so a class needs two rows
/// (an error names the first that has fewer, with the line of its row in `file`, where the
/// target column is `target`). With a fraction of 0 every row trains.
pub fn stratified(
    targets: &[u32],
    lines: &[u64],
    classes: &Classes,
    (file, target): (&str, &str),
    fraction: TestFraction,
    seed: u64,
) -> Result<Split> {
    let n = targets.len();
    if fraction.get() == 0.0 {
        return Ok(Split { train: (0..n).collect(), test: Vec::new() });
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (row, &class) in targets.iter().enumerate() {
        members[class as usize].push(row);
    }
    if let Some(small) = members.iter().position(|m| m.len() < 2) {
        // Classes come from the rows, so a class too small has exactly one row.
        let line = members[small].first().map_or(0, |&row| lines[row]);
        return Err(Error::ClassTooSmall {
            at: Location::cell(file, line, target),
            class: classes.display(small),
        });
    }

    let n_test = (fraction.get() * n as f64).ceil() as usize;
    let counts: Vec<usize> = members.iter().map(Vec::len).collect();
    let held_out = allocate(&counts, n_test);

    let mut rng = SplitMix64::new(seed);
    let mut held = vec![false; n];
    for (mut rows, take) in members.into_iter().zip(held_out) {
        rng.shuffle(&mut rows);
        for &row in &rows[..take] {
            held[row] = true;
        }
    }
    // Both sides in file order, without sorting them.
    let mut split =
        Split { train: Vec::with_capacity(n - n_test), test: Vec::with_capacity(n_test) };
    for (row, &held) in held.iter().enumerate() {
        if held { &mut split.test } else { &mut split.train }.push(row);
    }
    Ok(split)
}

/// Shares `total` held-out rows between classes of sizes `counts` in proportion: each class
/// gets the floor of its exact share, kept within [1, count - 1], then single rows go to (or
/// come back from) the classes furthest below (above) their exact share, ties to the lower
/// class index, until the total is met or no class can move.
fn allocate(counts: &[usize], total: usize) -> Vec<usize> {
    let n: usize = counts.iter().sum();
    let exact: Vec<f64> = counts.iter().map(|&c| c as f64 * total as f64 / n as f64).collect();
    let mut take: Vec<usize> =
        exact.iter().zip(counts).map(|(q, &c)| (q.floor() as usize).clamp(1, c - 1)).collect();
    let shortfall = |take: &[usize], i: usize| exact[i] - take[i] as f64;
    loop {
        let sum: usize = take.iter().sum();
        let candidates = (0..counts.len())
            .filter(|&i| if sum < total { take[i] < counts[i] - 1 } else { take[i] > 1 });
        let pick = if sum < total {
            candidates.max_by(|&a, &b| {
                shortfall(&take, a).total_cmp(&shortfall(&take, b)).then(b.cmp(&a))
            })
        } else if sum > total {
            candidates.min_by(|&a, &b| {
                shortfall(&take, a).total_cmp(&shortfall(&take, b)).then(a.cmp(&b))
            })
        } else {
            None
        };
        match pick {
            Some(i) if sum < total => take[i] += 1,
            Some(i) => take[i] -= 1,
            None => return take,
        }
    }
}

/// Moves the rows of `split` out of `rows`: the training rows are compacted in place (no second
/// copy of the matrix), the held-out rows are copied into a matrix of their own.
pub fn apply(rows: Rows, split: &Split) -> (Rows, Rows) {
    let (train_features, test_features) = split_matrix(rows.features, split);
    let (train, test) = split_rows(&rows.targets, &rows.lines, split);
    (
        Rows { features: train_features, targets: train.0, lines: train.1 },
        Rows { features: test_features, targets: test.0, lines: test.1 },
    )
}

/// [`apply`] for a table's rows.
pub fn apply_to_table(rows: TableRows, split: &Split) -> (TableRows, TableRows) {
    let Cells { numeric, codes, values } = rows.cells;
    let (train_numeric, test_numeric) = split_matrix(numeric, split);
    let (train_codes, test_codes) = split_matrix(codes, split);
    let (train, test) = split_rows(&rows.targets, &rows.lines, split);
    (
        TableRows {
            cells: Cells { numeric: train_numeric, codes: train_codes, values: values.clone() },
            targets: train.0,
            lines: train.1,
        },
        TableRows {
            cells: Cells { numeric: test_numeric, codes: test_codes, values },
            targets: test.0,
            lines: test.1,
        },
    )
}

/// The targets and lines of each side of `split`.
#[allow(clippy::type_complexity)]
fn split_rows(
    targets: &[u32],
    lines: &[u64],
    split: &Split,
) -> ((Vec<u32>, Vec<u64>), (Vec<u32>, Vec<u64>)) {
    let side = |rows: &[usize]| {
        (rows.iter().map(|&r| targets[r]).collect(), rows.iter().map(|&r| lines[r]).collect())
    };
    (side(&split.train), side(&split.test))
}

/// Held-out rows copied per task: each task's copy faults in its own part of the new matrix,
/// and the page faults of a fresh allocation cost more than the copying.
const COPY_ROWS: usize = 4096;

/// The training rows of a row-major matrix compacted in place and the held-out rows copied out.
fn split_matrix<T: Copy + Default + Send + Sync>(
    matrix: Array2<T>,
    split: &Split,
) -> (Array2<T>, Array2<T>) {
    let width = matrix.ncols();
    let matrix =
        if matrix.is_standard_layout() { matrix } else { matrix.as_standard_layout().to_owned() };
    let (mut values, _) = matrix.into_raw_vec_and_offset();
    let mut test = vec![T::default(); split.test.len() * width];
    if width > 0 {
        let tasks = test.par_chunks_mut(COPY_ROWS * width).zip(split.test.par_chunks(COPY_ROWS));
        tasks.for_each(|(out, rows)| {
            for (row, &src) in out.chunks_exact_mut(width).zip(rows) {
                row.copy_from_slice(&values[src * width..(src + 1) * width]);
            }
        });
    }
    // Indices are increasing, so each run of consecutive rows moves towards the front over
    // rows already moved.
    let mut dst = 0;
    for run in split.train.chunk_by(|a, b| a + 1 == *b) {
        let src = run[0];
        if dst != src {
            values.copy_within(src * width..(src + run.len()) * width, dst * width);
        }
        dst += run.len();
    }
    values.truncate(split.train.len() * width);
    values.shrink_to_fit();
    (
        Array2::from_shape_vec((split.train.len(), width), values)
            .expect("the compacted rows fill the matrix"),
        Array2::from_shape_vec((split.test.len(), width), test).expect("one row per held-out row"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(k: usize) -> Classes {
        Classes::Ints((0..k as i64).collect())
    }

    /// Line numbers of `n` rows below a header.
    fn lines(n: usize) -> Vec<u64> {
        (2..n as u64 + 2).collect()
    }

    #[test]
    fn holds_out_each_class_in_proportion() {
        let targets: Vec<u32> = (0..100).map(|i| if i < 80 { 0 } else { 1 }).collect();
        let split = stratified(
            &targets,
            &lines(targets.len()),
            &classes(2),
            ("t.csv", "y"),
            TestFraction::new(0.25).unwrap(),
            0,
        )
        .unwrap();
        assert_eq!(split.test.len(), 25);
        assert_eq!(split.test.iter().filter(|&&r| targets[r] == 1).count(), 5);
        let mut all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn the_seed_chooses_the_rows_and_the_same_seed_the_same_rows() {
        let targets: Vec<u32> = (0..50).map(|i| i % 2).collect();
        let run = |seed| {
            stratified(
                &targets,
                &lines(targets.len()),
                &classes(2),
                ("t.csv", "y"),
                TestFraction::new(0.3).unwrap(),
                seed,
            )
            .unwrap()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7).test, run(8).test);
    }

    #[test]
    fn every_class_keeps_a_row_on_each_side() {
        assert_eq!(allocate(&[98, 2], 10), vec![9, 1]);
        assert_eq!(allocate(&[2, 2, 2], 1), vec![1, 1, 1]);
        assert_eq!(allocate(&[3, 100], 99), vec![2, 97]);
        assert_eq!(allocate(&[50, 30, 20], 25), vec![13, 7, 5]);
    }

    #[test]
    fn refuses_a_class_with_a_single_row() {
        let err = stratified(
            &[0, 0, 1],
            &lines(3),
            &classes(2),
            ("t.csv", "y"),
            TestFraction::new(0.5).unwrap(),
            0,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(r#"t.csv: line 4, column "y": class 1 has only this row"#),
            "{err}"
        );
    }

    #[test]
    fn apply_keeps_rows_whole_and_in_file_order() {
        let features = Array2::from_shape_fn((5, 2), |(r, c)| (10 * r + c) as f64);
        let rows = Rows { features, targets: vec![0, 1, 0, 1, 0], lines: vec![2, 3, 4, 5, 6] };
        let split = Split { train: vec![0, 2, 3], test: vec![1, 4] };
        let (train, test) = apply(rows, &split);
        assert_eq!(train.features.column(0).to_vec(), vec![0.0, 20.0, 30.0]);
        assert_eq!(train.features.column(1).to_vec(), vec![1.0, 21.0, 31.0]);
        assert_eq!(train.lines, vec![2, 4, 5]);
        assert_eq!(test.features.column(0).to_vec(), vec![10.0, 40.0]);
        assert_eq!(test.targets, vec![1, 0]);
    }

    /// Enough held-out rows for several copying tasks, and runs of training rows of every length.
    #[test]
    fn apply_moves_every_row_of_a_large_split() {
        let (n, width) = (20_000, 3);
        let features = Array2::from_shape_fn((n, width), |(r, c)| (10 * r + c) as f64);
        let targets: Vec<u32> = (0..n).map(|r| (r % 7 == 0) as u32).collect();
        let lines: Vec<u64> = (0..n as u64).map(|r| r + 2).collect();
        let fraction = TestFraction::new(0.3).unwrap();
        let split = stratified(&targets, &lines, &classes(2), ("f.csv", "y"), fraction, 5).unwrap();
        assert!(split.test.len() > 4096);
        let mut all = [split.train.clone(), split.test.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "each row on exactly one side");
        for side in [&split.train, &split.test] {
            assert!(side.windows(2).all(|w| w[0] < w[1]), "each side in file order");
        }
        let rows = Rows { features: features.clone(), targets, lines };
        let (train, test) = apply(rows, &split);
        for (side, moved) in [(&split.train, &train), (&split.test, &test)] {
            for (k, &row) in side.iter().enumerate() {
                assert_eq!(moved.features.row(k), features.row(row), "row {row}");
                assert_eq!(moved.lines[k], row as u64 + 2);
            }
        }
    }

    #[test]
    fn rejects_fractions_outside_zero_to_one() {
        assert!(TestFraction::new(1.0).is_err());
        assert!(TestFraction::new(-0.1).is_err());
        assert!(TestFraction::new(f64::NAN).is_err());
        assert!(TestFraction::new(0.0).is_ok());
    }
}
