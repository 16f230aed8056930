//! `onnxify predict`, live: foreign models from scikit-learn's converter and a model with
//! integer labels out of order give onnxruntime's answers, columns are matched by name, ids are
//! copied through (also from a feature's column), output lands only when complete.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{assert_close, datasets, onnxify_in, python_json, stderr, stdout, write_file};
use serde_json::Value;

/// tract and onnxruntime both compute in float32 and differ by up to ~5e-7 (measured).
const RUNTIME_TOLERANCE: f64 = 1e-5;

fn parse_predictions(text: &str) -> (Vec<String>, Vec<String>, Vec<f64>) {
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_owned).collect();
    let (mut labels, mut proba) = (Vec::new(), Vec::new());
    for line in lines {
        let mut fields = line.split(',');
        labels.push(fields.next().unwrap().to_owned());
        proba.extend(fields.map(|f| f.parse::<f64>().unwrap()));
    }
    (header, labels, proba)
}

/// The models of `foreign_models.py`, made once per test run.
fn foreign_models() -> &'static Value {
    static MANIFEST: OnceLock<Value> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        let dir = common::scratch().join("foreign_models");
        python_json("foreign_models.py", &[dir.to_str().unwrap()])
    })
}

#[test]
fn scikit_learn_converter_models_predict_like_onnxruntime() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    for entry in foreign_models().as_array().unwrap() {
        let model = entry["model"].as_str().unwrap();
        let output =
            onnxify_in(dir.path(), &["predict", model, entry["csv"].as_str().unwrap(), "-q"]);
        assert!(output.status.success(), "{model}: {}", stderr(&output));
        let (header, labels, proba) = parse_predictions(&stdout(&output));
        let classes: Vec<String> = entry["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("p_{}", c.as_str().unwrap()))
            .collect();
        assert_eq!(header[1..], classes[..], "{model}: probability columns in class order");
        let expected = common::strings(&entry["labels"]);
        assert_eq!(labels, expected, "{model}: labels");
        assert_close(model, &proba, &common::floats(&entry["proba"]), RUNTIME_TOLERANCE);
    }
}

/// The iris CSV with string labels, and a directory holding `model.onnx` trained on it.
fn trained_on_iris() -> (&'static PathBuf, tempfile::TempDir) {
    let csv = &datasets()["iris_strings"];
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let trained = onnxify_in(dir.path(), &[csv.to_str().unwrap(), "-o", "model.onnx", "-q"]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    (csv, dir)
}

#[test]
fn columns_are_matched_by_name_and_ids_copied_through() {
    let (csv, dir) = trained_on_iris();

    // The same rows with the columns reversed, an id column and an unused column.
    let text = std::fs::read_to_string(csv).unwrap();
    let mut shuffled = String::from("note,target,f3,f2,f1,f0,row_id\n");
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        shuffled.push_str(&format!("x,{},{},{},{},{},\"r,{i}\"\n", f[4], f[3], f[2], f[1], f[0]));
    }
    std::fs::write(dir.path().join("shuffled.csv"), shuffled).unwrap();
    let straight = onnxify_in(dir.path(), &["predict", "model.onnx", csv.to_str().unwrap()]);
    let reordered = onnxify_in(
        dir.path(),
        &["predict", "model.onnx", "shuffled.csv", "--id-column", "row_id", "-o", "out.csv"],
    );
    assert!(reordered.status.success(), "{}", stderr(&reordered));
    assert!(
        stderr(&reordered).contains(r#"ignoring columns the model does not use: "note", "target""#),
        "{}",
        stderr(&reordered)
    );
    let out = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    let expected: Vec<String> = stdout(&straight)
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { format!("row_id,{l}") } else { format!("\"r,{}\",{l}", i - 1) })
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn a_missing_feature_column_is_named_and_nothing_is_written() {
    let csv = &datasets()["iris_strings"];
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    assert!(
        onnxify_in(dir.path(), &[csv.to_str().unwrap(), "-o", "model.onnx", "-q"]).status.success()
    );
    std::fs::write(dir.path().join("partial.csv"), "f0,f1,f3\n1,2,3\n").unwrap();
    std::fs::write(dir.path().join("out.csv"), "previous results").unwrap();
    let output = onnxify_in(dir.path(), &["predict", "model.onnx", "partial.csv", "-o", "out.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains(r#"partial.csv: there is no column named "f2" (a feature the model needs); the columns are "f0", "f1", "f3""#), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("out.csv")).unwrap(), "previous results");
}

#[test]
fn a_bad_row_midway_leaves_the_previous_output_untouched() {
    let csv = &datasets()["iris_strings"];
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    assert!(
        onnxify_in(dir.path(), &[csv.to_str().unwrap(), "-o", "model.onnx", "-q"]).status.success()
    );
    let mut text = std::fs::read_to_string(csv).unwrap();
    text.push_str("1,2,oops,4,setosa\n");
    std::fs::write(dir.path().join("bad.csv"), &text).unwrap();
    std::fs::write(dir.path().join("out.csv"), "previous results").unwrap();
    let output = onnxify_in(dir.path(), &["predict", "model.onnx", "bad.csv", "-o", "out.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(r#"bad.csv: line 152, column "f2": "oops" is not a number"#),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("out.csv")).unwrap(), "previous results");
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn a_model_without_feature_names_takes_columns_in_order_and_counts_them() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let model = foreign_models()[1]["model"].as_str().unwrap();
    let data = write_file("three.csv", b"a,b,c\n1,2,3\n");
    let output = onnxify_in(dir.path(), &["predict", model, data.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("the model records no feature names, so it takes its 30 features from the columns in order, but the file has 3 such columns"), "{}", stderr(&output));
}

/// `expected` with `ids` (and the id column's name) put first on each line.
fn with_ids(expected: &str, name: &str, ids: &[&str]) -> Vec<String> {
    expected
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{},{l}", if i == 0 { name } else { ids[i - 1] }))
        .collect()
}

#[test]
fn an_id_column_that_is_a_feature_is_copied_through_and_still_used() {
    // The README's example: the sample set keyed by its first feature.
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/iris.csv");
    let iris = iris.to_str().unwrap();
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let trained = onnxify_in(dir.path(), &[iris, "-o", "iris.onnx", "-q"]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let plain = onnxify_in(dir.path(), &["predict", "iris.onnx", iris, "-q"]);
    let keyed =
        onnxify_in(dir.path(), &["predict", "iris.onnx", iris, "--id-column", "sepal_length"]);
    assert!(keyed.status.success(), "{}", stderr(&keyed));
    let text = std::fs::read_to_string(iris).unwrap();
    let ids: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(
        stdout(&keyed).lines().collect::<Vec<_>>(),
        with_ids(&stdout(&plain), "sepal_length", &ids)
    );

    // The id is the cell's text as written; the feature is its value.
    let mut respelled = String::from("sepal_length,sepal_width,petal_length,petal_width\n");
    let mut spelled = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        spelled.push(format!(" {}0", f[0]));
        respelled.push_str(&format!(" {}0,{},{},{}\n", f[0], f[1], f[2], f[3]));
    }
    std::fs::write(dir.path().join("respelled.csv"), respelled).unwrap();
    let keyed = onnxify_in(
        dir.path(),
        &["predict", "iris.onnx", "respelled.csv", "--id-column", "sepal_length"],
    );
    assert!(keyed.status.success(), "{}", stderr(&keyed));
    let spelled: Vec<&str> = spelled.iter().map(String::as_str).collect();
    assert_eq!(
        stdout(&keyed).lines().collect::<Vec<_>>(),
        with_ids(&stdout(&plain), "sepal_length", &spelled)
    );

    // A cell that is no number is refused as in any feature column.
    std::fs::write(
        dir.path().join("bad.csv"),
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\nn/a,3.0,1.4,0.2\n",
    )
    .unwrap();
    let refused =
        onnxify_in(dir.path(), &["predict", "iris.onnx", "bad.csv", "--id-column", "sepal_length"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused)
            .contains(r#"bad.csv: line 3, column "sepal_length": "n/a" is not a number"#),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn an_id_column_of_a_model_without_feature_names_is_a_feature_when_the_count_says_so() {
    // The converter's breast cancer model takes its 30 features in order; the CSV has exactly
    // 30 columns, so the id column is one of them.
    let entry = &foreign_models()[0];
    let (model, csv) = (entry["model"].as_str().unwrap(), entry["csv"].as_str().unwrap());
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let plain = onnxify_in(dir.path(), &["predict", model, csv, "-q"]);
    let keyed = onnxify_in(dir.path(), &["predict", model, csv, "-q", "--id-column", "c0"]);
    assert!(keyed.status.success(), "{}", stderr(&keyed));
    let text = std::fs::read_to_string(csv).unwrap();
    let ids: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(stdout(&keyed).lines().collect::<Vec<_>>(), with_ids(&stdout(&plain), "c0", &ids));
}

#[test]
fn integer_labels_out_of_ascending_order_predict_like_onnxruntime() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let entry = python_json("unsorted_labels.py", &[dir.path().to_str().unwrap()]);
    let model = entry["model"].as_str().unwrap();
    let output = onnxify_in(dir.path(), &["predict", model, entry["csv"].as_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (header, labels, proba) = parse_predictions(&stdout(&output));
    assert_eq!(header, ["label", "p_2", "p_1", "p_0"]);
    let expected = common::strings(&entry["labels"]);
    assert_eq!(labels, expected);
    assert!(["0", "1", "2"].iter().all(|c| labels.iter().any(|l| l == c)), "every class occurs");
    assert_close(model, &proba, &common::floats(&entry["proba"]), RUNTIME_TOLERANCE);
}

#[test]
fn a_category_mapper_without_its_default_attribute_predicts_as_with_it() {
    // ONNX gives CategoryMapper a default when the attribute is left out; the model is valid
    // and must predict exactly as the model that spells the default out.
    let (csv, dir) = trained_on_iris();
    let (model, bare) = (dir.path().join("model.onnx"), dir.path().join("bare.onnx"));
    python_json("tamper.py", &["no_default", model.to_str().unwrap(), bare.to_str().unwrap()]);
    let predict = |name: &str| {
        let output = onnxify_in(dir.path(), &["predict", name, csv.to_str().unwrap()]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        stdout(&output)
    };
    assert_eq!(predict("bare.onnx"), predict("model.onnx"));
}
