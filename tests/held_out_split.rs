//! The held-out split against scikit-learn's `train_test_split(X, y, stratify=y, test_size=...)`,
//! computed live: onnxify holds out as many rows in all, and as many of each class, as
//! scikit-learn does. Counts only: onnxify draws its rows with its own generator (SplitMix64;
//! README, "What is trained"), not numpy's, so a seed selects other rows than scikit-learn's
//! `random_state` and no row-for-row agreement is promised.
//!
//! Both share rows between classes by largest remainder (scikit-learn allocates the training
//! rows, onnxify the held-out ones; in exact arithmetic that is the same rule), so the counts are
//! equal wherever the rule has one answer. Two places where it has none are checked for what the
//! README promises instead: remainders tied across the cut (scikit-learn breaks the tie at
//! random, onnxify by class order), and a class whose share rounds to no row on one side
//! (onnxify keeps at least one row of every class on each side, scikit-learn does not).

mod common;

use std::path::{Path, PathBuf};

use common::{labels, onnxify, python_json, stderr, stdout, write_file};
use serde_json::{Value, json};

/// A data set: each class label with its number of rows, a test size and the seeds to try.
struct Case {
    name: &'static str,
    classes: &'static [(&'static str, usize)],
    test_size: f64,
}

const SEEDS: [u64; 3] = [0, 1, 42];

/// Cases with one answer: the remainders are not tied across the cut and every class gets at
/// least one row on each side.
const DETERMINED: [Case; 5] = [
    // 91 * 0.3 = 27.3 rounds up to 28; shares 2.15, 7.08, 18.77.
    Case {
        name: "uneven_three_classes",
        classes: &[("0", 7), ("1", 23), ("2", 61)],
        test_size: 0.3,
    },
    // 150 * 0.25 = 37.5 rounds up to 38; shares 12.67, 11.4, 13.93: two rows go by remainder.
    Case {
        name: "half_row_rounded_up",
        classes: &[("0", 50), ("1", 45), ("2", 55)],
        test_size: 0.25,
    },
    // 0.07 * 100 is 7.000000000000001 in float64, so both hold out 8 rows, not 7.
    Case {
        name: "float_product_above_an_integer",
        classes: &[("0", 60), ("1", 30), ("2", 10)],
        test_size: 0.07,
    },
    // breast_cancer's classes: 569 * 0.2 = 113.8 rounds up to 114; shares 42.47 and 71.53.
    Case { name: "binary_uneven", classes: &[("0", 212), ("1", 357)], test_size: 0.2 },
    // String labels, written in another order than np.unique's (B, a, b); shares 1.89, 6.53, 3.58.
    Case { name: "string_labels", classes: &[("b", 17), ("B", 9), ("a", 31)], test_size: 0.2 },
];

/// What onnxify reports of one split: the class names, rows on each side per class, and the
/// totals of its split summary.
struct Reported {
    classes: Vec<String>,
    train: Vec<u64>,
    test: Vec<u64>,
}

/// Writes the case's rows, classes interleaved through the file, and returns the path.
fn write_case(case: &Case) -> PathBuf {
    let grouped: Vec<&str> =
        case.classes.iter().flat_map(|&(label, n)| std::iter::repeat_n(label, n)).collect();
    let n = grouped.len();
    // Row i takes grouped[(i * stride) % n]: a stride prime to n visits every row once.
    let stride = (37..).find(|s| gcd(*s, n) == 1).unwrap();
    let mut text = String::from("x1,x2,label\n");
    for i in 0..n {
        let label = grouped[(i * stride) % n];
        let class = case.classes.iter().position(|&(l, _)| l == label).unwrap();
        text.push_str(&format!(
            "{},{},{label}\n",
            (i * 13 % 17) as f64 / 4.0,
            class as f64 + (i % 5) as f64 * 0.1
        ));
    }
    write_file(&format!("{}.csv", case.name), text.as_bytes())
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Runs `onnxify train --json --dry-run` and reads its split summary and per-class support.
fn onnxify_split(case: &Case, csv: &Path, seed: u64) -> Reported {
    let (test_size, seed_text) = (case.test_size.to_string(), seed.to_string());
    let args = [
        "train",
        csv.to_str().unwrap(),
        "--json",
        "--dry-run",
        "--test-size",
        &test_size,
        "--seed",
        &seed_text,
    ];
    let output = onnxify(&args);
    assert!(output.status.success(), "{}: {}", case.name, stderr(&output));
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let per_class = summary["metrics"]["per_class"].as_array().unwrap();
    let classes = labels(&per_class.iter().map(|c| c["class"].clone()).collect());
    let test: Vec<u64> = per_class.iter().map(|c| c["support"].as_u64().unwrap()).collect();
    let rows_of = |name: &str| case.classes.iter().find(|&&(l, _)| l == name).unwrap().1 as u64;
    let train: Vec<u64> = classes.iter().zip(&test).map(|(c, t)| rows_of(c) - t).collect();
    let split = &summary["split"];
    let what = format!("{} seed {seed}", case.name);
    assert_eq!(
        split["test_rows"].as_u64(),
        Some(test.iter().sum()),
        "{what}: held-out rows and support"
    );
    assert_eq!(split["train_rows"].as_u64(), Some(train.iter().sum()), "{what}: training rows");
    assert_eq!(summary["metrics"]["n_rows"], split["test_rows"], "{what}: rows evaluated");
    Reported { classes, train, test }
}

/// scikit-learn's split of each case for each seed, in one run of tests/python/reference.py.
fn sklearn_splits(cases: &[(&Case, PathBuf)]) -> Vec<Value> {
    let jobs: Vec<Value> = cases
        .iter()
        .map(|(case, csv)| json!({"csv": csv, "test_size": case.test_size, "seeds": SEEDS}))
        .collect();
    let path = write_file("split_jobs.json", Value::from(jobs).to_string().as_bytes());
    let out = python_json("reference.py", &["split", path.to_str().unwrap()]);
    out.as_array().unwrap().clone()
}

fn counts(value: &Value) -> Vec<u64> {
    value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect()
}

#[test]
fn held_out_rows_per_class_equal_scikit_learns_stratified_split() {
    let cases: Vec<(&Case, PathBuf)> = DETERMINED.iter().map(|c| (c, write_case(c))).collect();
    for ((case, csv), expected) in cases.iter().zip(sklearn_splits(&cases)) {
        let classes = labels(&expected["classes"]);
        let sizes: Vec<usize> = classes
            .iter()
            .map(|c| case.classes.iter().find(|&&(l, _)| l == c).unwrap().1)
            .collect();
        let by_rule = largest_remainder(&sizes, held_out_total(case))
            .unwrap_or_else(|| panic!("{}: the case must have a single answer", case.name));
        let by_rule: Vec<u64> = by_rule.into_iter().map(|h| h as u64).collect();
        for split in expected["splits"].as_array().unwrap() {
            let seed = split["seed"].as_u64().unwrap();
            let got = onnxify_split(case, csv, seed);
            let what = format!("{} seed {seed}", case.name);
            assert_eq!(got.classes, classes, "{what}: classes in scikit-learn's classes_ order");
            assert_eq!(got.test, by_rule, "{what}: held-out rows per class (onnxify, rule)");
            assert_eq!(
                got.test,
                counts(&split["test"]),
                "{what}: held-out rows per class (onnxify, scikit-learn)"
            );
            assert_eq!(
                got.train,
                counts(&split["train"]),
                "{what}: training rows per class (onnxify, scikit-learn)"
            );
        }
    }
}

/// Held-out rows in all, `ceil(test_size * n)` in float64 as scikit-learn computes it.
fn held_out_total(case: &Case) -> usize {
    let n: usize = case.classes.iter().map(|c| c.1).sum();
    (case.test_size * n as f64).ceil() as usize
}

/// The held-out rows per class by largest remainder when `total` of the rows (class sizes
/// `sizes`) are held out, in exact integer arithmetic: each class gets the floor of its share
/// `size * total / n`, and the classes with the largest remainders one row more. `None` where
/// that has no single answer: remainders tied across the cut, or a class left without a row on
/// one side.
fn largest_remainder(sizes: &[usize], total: usize) -> Option<Vec<usize>> {
    let n: usize = sizes.iter().sum();
    let remainder = |i: usize| sizes[i] * total % n;
    let mut held: Vec<usize> = sizes.iter().map(|&c| c * total / n).collect();
    let mut by_remainder: Vec<usize> = (0..sizes.len()).collect();
    by_remainder.sort_by_key(|&i| std::cmp::Reverse(remainder(i)));
    let extra = total - held.iter().sum::<usize>();
    if extra > 0
        && extra < sizes.len()
        && remainder(by_remainder[extra - 1]) == remainder(by_remainder[extra])
    {
        return None;
    }
    for &i in &by_remainder[..extra] {
        held[i] += 1;
    }
    held.iter().zip(sizes).all(|(&h, &c)| h >= 1 && h < c).then_some(held)
}

/// Where largest remainder has two answers (three classes of 50 share 38 rows: 12.67 each, two
/// extra rows for three equal remainders), onnxify holds out what scikit-learn does in all, and
/// each class the floor or the ceiling of its share.
#[test]
fn tied_remainders_give_scikit_learns_total_and_each_class_its_rounded_share() {
    let case = Case {
        name: "tied_remainders",
        classes: &[("0", 50), ("1", 50), ("2", 50)],
        test_size: 0.25,
    };
    assert_eq!(largest_remainder(&[50, 50, 50], held_out_total(&case)), None);
    let csv = write_case(&case);
    let cases = [(&case, csv.clone())];
    let expected = &sklearn_splits(&cases)[0];
    for split in expected["splits"].as_array().unwrap() {
        let seed = split["seed"].as_u64().unwrap();
        let got = onnxify_split(&case, &csv, seed);
        let sklearn_test = counts(&split["test"]);
        assert_eq!(
            got.test.iter().sum::<u64>(),
            sklearn_test.iter().sum::<u64>(),
            "seed {seed}: held-out rows"
        );
        // 50 * 38 / 150 = 12.67: 12 or 13 rows of each class.
        assert!(got.test.iter().all(|&t| t == 12 || t == 13), "seed {seed}: {:?}", got.test);
        assert!(sklearn_test.iter().all(|&t| t == 12 || t == 13), "seed {seed}: {sklearn_test:?}");
    }
}

/// Where a class's share rounds to no held-out row (2 of 100 rows at test size 0.1: 0.2 rows),
/// scikit-learn holds none of it out; onnxify holds out one, as the README promises, and keeps
/// the total scikit-learn holds out by taking one row fewer from the large class.
#[test]
fn a_class_too_small_for_a_held_out_share_keeps_one_row_on_each_side() {
    let case = Case { name: "tiny_class", classes: &[("0", 98), ("1", 2)], test_size: 0.1 };
    assert_eq!(largest_remainder(&[98, 2], held_out_total(&case)), None);
    let csv = write_case(&case);
    let cases = [(&case, csv.clone())];
    let expected = &sklearn_splits(&cases)[0];
    for split in expected["splits"].as_array().unwrap() {
        let seed = split["seed"].as_u64().unwrap();
        let got = onnxify_split(&case, &csv, seed);
        let sklearn_test = counts(&split["test"]);
        assert_eq!(sklearn_test, [10, 0], "seed {seed}: scikit-learn's split of this case");
        assert_eq!(got.test.iter().sum::<u64>(), 10, "seed {seed}: held-out rows");
        assert_eq!(got.test, [9, 1], "seed {seed}: held-out rows per class");
        assert_eq!(got.train, [89, 1], "seed {seed}: training rows per class");
    }
}
