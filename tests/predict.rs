//! `onnxify predict`, live: foreign models from scikit-learn's converter give onnxruntime's
//! answers, columns are matched by name, ids are copied through, output lands only when
//! complete.

mod common;

use common::{assert_close, datasets, onnxify_in, python_json, stderr, stdout, write_file};

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

#[test]
fn scikit_learn_converter_models_predict_like_onnxruntime() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let manifest = python_json("foreign_models.py", &[dir.path().to_str().unwrap()]);
    for entry in manifest.as_array().unwrap() {
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
        let expected: Vec<String> = entry["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(labels, expected, "{model}: labels");
        assert_close(model, &proba, &common::floats(&entry["proba"]), RUNTIME_TOLERANCE);
    }
}

#[test]
fn columns_are_matched_by_name_and_ids_copied_through() {
    let csv = &datasets()["iris_strings"];
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let trained = onnxify_in(dir.path(), &[csv.to_str().unwrap(), "-o", "model.onnx", "-q"]);
    assert!(trained.status.success(), "{}", stderr(&trained));

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
    let manifest = python_json("foreign_models.py", &[dir.path().to_str().unwrap()]);
    let model = manifest[1]["model"].as_str().unwrap();
    let data = write_file("three.csv", b"a,b,c\n1,2,3\n");
    let output = onnxify_in(dir.path(), &["predict", model, data.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("the model records no feature names, so it takes its 30 features from the columns in order, but the file has 3 such columns"), "{}", stderr(&output));
}
