//! `onnxify convert` and `onnxify scan`, live: fixtures written by scikit-learn and joblib in
//! every form the converter reads are converted, and onnxruntime's output for the written file
//! matches scikit-learn's own `predict` and `predict_proba` for the pickle. Malicious pickles are
//! refused with exit code 3 and a marker file proves nothing ran; hostile ones end in a clean
//! error within bounded time and memory.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

use common::{assert_close, onnxify_in, python_json, run_limited, stderr, stdout};

/// onnxruntime computes the converted graph in float32 (or float64 for a double input); against
/// scikit-learn's float64 the probabilities differ by ~1e-7 (measured), far below this.
const RUNTIME_TOLERANCE: f64 = 1e-5;

struct Fixtures {
    dir: PathBuf,
    marker: PathBuf,
    cases: Vec<Value>,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = common::scratch().join("pickles");
        let marker = common::scratch().join("payload-ran");
        let manifest =
            python_json("pickles.py", &[dir.to_str().unwrap(), marker.to_str().unwrap()]);
        Fixtures { dir, marker, cases: manifest.as_array().unwrap().clone() }
    })
}

fn cases(kind: &str) -> Vec<&'static Value> {
    fixtures().cases.iter().filter(|c| c["kind"] == kind).collect()
}

fn file_of(case: &Value) -> &str {
    case["file"].as_str().unwrap()
}

fn name_of(case: &Value) -> String {
    Path::new(file_of(case)).file_name().unwrap().to_string_lossy().into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs each converted model through onnxruntime on its fixture's CSV.
fn onnxruntime(jobs: &[(PathBuf, &str)]) -> Vec<Value> {
    let list: Vec<Value> =
        jobs.iter().map(|(model, csv)| serde_json::json!({"model": model, "csv": csv})).collect();
    let path = tempfile::NamedTempFile::new_in(common::scratch()).unwrap().into_temp_path();
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
    let results = python_json("onnx_runtime.py", &["batch", path.to_str().unwrap()]);
    results.as_array().unwrap().clone()
}

fn assert_matches_scikit_learn(case: &Value, onnx: &Value, what: &str) {
    let expected = common::strings(&case["labels"]);
    let labels: Vec<String> = common::labels(&onnx["labels"]);
    assert_eq!(labels, expected, "{what}: labels, onnxruntime vs scikit-learn's predict");
    assert_close(
        &format!("{what}: probabilities, onnxruntime vs scikit-learn's predict_proba"),
        &common::floats(&onnx["proba"]),
        &common::floats(&case["proba"]),
        RUNTIME_TOLERANCE,
    );
}

#[test]
fn every_supported_pickle_converts_to_a_model_that_predicts_like_scikit_learn() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let benign = cases("benign");
    assert!(benign.len() >= 20, "the fixture set covers every variant");
    let mut jobs = Vec::new();
    for case in &benign {
        let name = name_of(case);
        let model = out.path().join(format!("{name}.onnx"));
        let output = onnxify_in(
            out.path(),
            &["convert", file_of(case), "-o", model.to_str().unwrap(), "-q"],
        );
        assert!(output.status.success(), "{name}: {}", stderr(&output));

        let json: Value =
            serde_json::from_slice(&std::fs::read(format!("{}.json", model.display())).unwrap())
                .unwrap();
        let source = std::fs::read(file_of(case)).unwrap();
        assert_eq!(json["origin"], "converted", "{name}");
        assert_eq!(json["source"]["file_name"], name.as_str(), "{name}");
        assert_eq!(json["source"]["sha256"], hex(&Sha256::digest(&source)).as_str(), "{name}");
        assert_eq!(json["sklearn_version"], case["sklearn_version"], "{name}");
        assert_eq!(json["verification"]["passed"], true, "{name}");
        assert_eq!(json["verification"]["rows_used"], "probe", "{name}");
        assert!(
            json.get("dataset").is_none() && json.get("metrics").is_none(),
            "{name}: no training record"
        );
        jobs.push((model, case["csv"].as_str().unwrap()));
    }
    for ((case, onnx), (model, _)) in benign.iter().zip(onnxruntime(&jobs)).zip(&jobs) {
        assert_matches_scikit_learn(case, &onnx, &name_of(case));
        assert_eq!(onnx["metadata"]["origin"], "converted", "{}", model.display());
    }
}

#[test]
fn graph_flavors_and_precisions_convert_like_train() {
    let case =
        cases("benign").into_iter().find(|c| name_of(c) == "iris_object_labels.joblib").unwrap();
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let flavors: [&[&str]; 3] = [
        &["--ops", "standard"],
        &["--ops", "standard", "--dtype", "f64"],
        &["--input-dtype", "f64"],
    ];
    let mut jobs = Vec::new();
    for (i, flags) in flavors.iter().enumerate() {
        let model = out.path().join(format!("flavor{i}.onnx"));
        let mut args = vec!["convert", file_of(case), "-o", model.to_str().unwrap(), "-q"];
        args.extend_from_slice(flags);
        let output = onnxify_in(out.path(), &args);
        assert!(output.status.success(), "{flags:?}: {}", stderr(&output));
        jobs.push((model, case["csv"].as_str().unwrap()));
    }
    let results = onnxruntime(&jobs);
    for (flags, onnx) in flavors.iter().zip(&results) {
        assert_matches_scikit_learn(case, onnx, &format!("{flags:?}"));
    }
    assert_eq!(results[1]["inputs"][0][1], "tensor(double)");
    assert_eq!(results[2]["inputs"][0][1], "tensor(double)");
}

#[test]
fn converted_models_pass_the_reviewers_checklist_in_every_flavor() {
    // Scalers with centring or scaling turned off and a bare classifier included: the probes
    // come from the scaler the file holds, whatever the pickle's scaler recorded besides.
    let names = [
        "cancer_unicode_labels.joblib",
        "cancer_int_labels.joblib",
        "iris_object_labels.joblib",
        "wine_no_mean.joblib",
        "wine_no_std.joblib",
        "wine_no_mean_no_std.joblib",
        "bare_logistic_regression.joblib",
    ];
    let flavors: [&[&str]; 4] = [
        &[],
        &["--input-dtype", "f64"],
        &["--ops", "standard"],
        &["--ops", "standard", "--dtype", "f64"],
    ];
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    for name in names {
        let case = cases("benign").into_iter().find(|c| name_of(c) == name).unwrap();
        for flags in flavors {
            let mut args = vec!["convert", file_of(case), "-o", "model.onnx", "-q"];
            args.extend_from_slice(flags);
            let converted = onnxify_in(out.path(), &args);
            assert!(converted.status.success(), "{name} {flags:?}: {}", stderr(&converted));
            let verified = onnxify_in(out.path(), &["verify", "model.onnx", "--json"]);
            let report: Value = serde_json::from_str(&stdout(&verified))
                .unwrap_or_else(|_| panic!("{name} {flags:?}: {}", stderr(&verified)));
            for item in report["items"].as_array().unwrap() {
                assert_eq!(item["passed"], true, "{name} {flags:?}: {item}");
            }
            assert!(verified.status.success(), "{name} {flags:?}: {}", stderr(&verified));
        }
    }
}

#[test]
fn predict_takes_columns_by_name_or_in_order_as_the_pickle_did() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    // Fitted on a named DataFrame (columns matched by name) and on an unnamed array (columns
    // taken in order, whatever the CSV calls them).
    for name in ["iris_object_labels.joblib", "cancer_unicode_labels.joblib"] {
        let case = cases("benign").into_iter().find(|c| name_of(c) == name).unwrap();
        let model = format!("{name}.onnx");
        let converted = onnxify_in(out.path(), &["convert", file_of(case), "-o", &model, "-q"]);
        assert!(converted.status.success(), "{name}: {}", stderr(&converted));
        let predicted =
            onnxify_in(out.path(), &["predict", &model, case["csv"].as_str().unwrap(), "-q"]);
        assert!(predicted.status.success(), "{name}: {}", stderr(&predicted));
        let labels: Vec<String> = stdout(&predicted)
            .lines()
            .skip(1)
            .map(|line| line.split(',').next().unwrap().to_owned())
            .collect();
        let expected = common::strings(&case["labels"]);
        assert_eq!(labels, expected, "{name}: labels, onnxify predict vs scikit-learn's predict");
    }
}

#[test]
fn integer_category_columns_become_int64_inputs_in_every_flavor_and_predict_checks_their_cells() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let name = "penguins_integer_categories.joblib";
    let case = cases("benign").into_iter().find(|c| name_of(c) == name).unwrap();
    let csv = case["csv"].as_str().unwrap();
    let flavors: [&[&str]; 4] = [
        &[],
        &["--ops", "standard"],
        &["--ops", "standard", "--dtype", "f64", "--input-dtype", "f64"],
        &["--inputs", "grouped"],
    ];
    let mut jobs = Vec::new();
    for (f, flags) in flavors.iter().enumerate() {
        let model = out.path().join(format!("{f}.onnx"));
        let mut args = vec!["convert", file_of(case), "-o", model.to_str().unwrap(), "-q"];
        args.extend_from_slice(flags);
        let converted = onnxify_in(out.path(), &args);
        assert!(converted.status.success(), "{flags:?}: {}", stderr(&converted));
        let verified = onnxify_in(out.path(), &["verify", model.to_str().unwrap(), "--json"]);
        let report: Value = serde_json::from_str(&stdout(&verified))
            .unwrap_or_else(|_| panic!("{flags:?}: {}", stderr(&verified)));
        for item in report["items"].as_array().unwrap() {
            assert_eq!(item["passed"], true, "{flags:?}: {item}");
        }
        let predicted = onnxify_in(out.path(), &["predict", model.to_str().unwrap(), csv, "-q"]);
        assert!(predicted.status.success(), "{flags:?}: {}", stderr(&predicted));
        let labels: Vec<String> = stdout(&predicted)
            .lines()
            .skip(1)
            .map(|line| line.split(',').next().unwrap().to_owned())
            .collect();
        assert_eq!(labels, common::strings(&case["labels"]), "{flags:?}: onnxify predict");
        jobs.push((model, csv));
    }
    let scanned = onnxify_in(out.path(), &["scan", file_of(case)]);
    assert!(
        stdout(&scanned)
            .contains("ColumnTransformer (4 numeric, 2 text, 1 integer category columns)"),
        "{}",
        stdout(&scanned)
    );
    let results = onnxruntime(&jobs);
    for (flags, onnx) in flavors.iter().zip(&results) {
        assert_matches_scikit_learn(case, onnx, &format!("{name} {flags:?}"));
        let year = onnx["inputs"].as_array().unwrap().iter().find(|i| i[0] == "year").cloned();
        let grouped = flags.contains(&"grouped");
        // One input per column: the int64 column is an INT64 input, as skl2onnx types it;
        // grouped, it is fed in decimal among the categorical texts.
        assert_eq!(year.is_some(), !grouped, "{flags:?}: {}", onnx["inputs"]);
        if let Some(year) = year {
            assert_eq!(year[1], "tensor(int64)", "{flags:?}");
        }
    }

    // A cell that is no whole number, or is missing, is an error at its line and column, and
    // the output file is not written; a whole number spelled as a float is read.
    let text = std::fs::read_to_string(csv).unwrap();
    let lines: Vec<&str> = text.lines().take(3).collect();
    let year = lines[0].split(',').position(|h| h == "year").unwrap();
    // The first two rows, the second's year replaced.
    let with_year = |value: &str| -> String {
        let mut cells: Vec<&str> = lines[2].split(',').collect();
        cells[year] = value;
        format!("{}\n{}\n{}\n", lines[0], lines[1], cells.join(","))
    };
    for (value, expected) in [
        ("2007.5", "line 3, column \"year\": \"2007.5\" is not a whole number"),
        ("", "line 3, column \"year\": the cell is missing"),
        ("NA", "line 3, column \"year\": the cell is missing"),
    ] {
        let data = out.path().join("changed.csv");
        std::fs::write(&data, with_year(value)).unwrap();
        let target = out.path().join("predictions.csv");
        let predicted = onnxify_in(
            out.path(),
            &["predict", "0.onnx", data.to_str().unwrap(), "-o", target.to_str().unwrap()],
        );
        assert_eq!(predicted.status.code(), Some(2), "{value:?}: {}", stderr(&predicted));
        assert!(stderr(&predicted).contains(expected), "{value:?}: {}", stderr(&predicted));
        assert!(!target.exists(), "{value:?}: no output file");
    }
    let original = lines[2].split(',').nth(year).unwrap().to_owned();
    let data = out.path().join("float.csv");
    std::fs::write(&data, with_year(&format!(" {original}.0 "))).unwrap();
    let predicted = onnxify_in(out.path(), &["predict", "0.onnx", data.to_str().unwrap(), "-q"]);
    assert!(predicted.status.success(), "{}", stderr(&predicted));
    let label = stdout(&predicted).lines().nth(2).unwrap().split(',').next().unwrap().to_owned();
    assert_eq!(label, common::strings(&case["labels"])[1], "a year written as {original}.0");

    // The metadata's record of the INT64 columns, dropped: the graph's inputs disagree with it.
    let tampered = out.path().join("tampered.onnx");
    let model = out.path().join("0.onnx");
    python_json(
        "tamper.py",
        &["integer_columns", model.to_str().unwrap(), tampered.to_str().unwrap()],
    );
    std::fs::copy(out.path().join("0.onnx.json"), out.path().join("tampered.onnx.json")).unwrap();
    let verified = onnxify_in(out.path(), &["verify", tampered.to_str().unwrap()]);
    assert_eq!(verified.status.code(), Some(1), "{}", stdout(&verified));
    assert!(
        stdout(&verified).contains(
            "[FAIL] metadata consistent with the graph: columns.integer_columns is not the graph's INT64 inputs"
        ),
        "{}",
        stdout(&verified)
    );
}

#[test]
fn scan_accepts_a_benign_pipeline_and_lists_its_globals() {
    let case =
        cases("benign").into_iter().find(|c| name_of(c) == "iris_object_labels.joblib").unwrap();
    let output = onnxify_in(common::scratch(), &["scan", file_of(case), "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["decision"], "accepted");
    let globals: Vec<String> = report["globals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert_eq!(g["verdict"], "allowed", "{g}");
            format!("{}.{}", g["module"].as_str().unwrap(), g["name"].as_str().unwrap())
        })
        .collect();
    for expected in [
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.linear_model._logistic.LogisticRegression",
        "joblib.numpy_pickle.NumpyArrayWrapper",
    ] {
        assert!(globals.iter().any(|g| g == expected), "{expected} in {globals:?}");
    }
    assert_eq!(
        report["model"]["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    assert_eq!(
        report["model"]["steps"],
        serde_json::json!([
            "scaler: StandardScaler (4 features)",
            "clf: LogisticRegression (coef_ 3 x 4)"
        ])
    );
}

#[test]
fn scan_names_nested_steps_as_scikit_learn_does_with_their_shapes() {
    let nested = |name: &str| {
        let case = cases("benign").into_iter().find(|c| name_of(c) == name).unwrap();
        let output = onnxify_in(common::scratch(), &["scan", file_of(case), "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
        report["model"]["steps"].clone()
    };
    // wine: 13 features, 3 classes; iris: 4 features, 3 classes.
    assert_eq!(
        nested("wine_nested_scalers.joblib"),
        serde_json::json!([
            "prep__std: StandardScaler (13 features)",
            "prep__mm: MinMaxScaler (13 features)",
            "clf: LogisticRegression (coef_ 3 x 13)"
        ])
    );
    assert_eq!(
        nested("iris_nested_named.joblib"),
        serde_json::json!([
            "outer__inner__scale: MaxAbsScaler (4 features)",
            "clf: LogisticRegression (coef_ 3 x 4)"
        ])
    );
}

#[test]
fn malicious_pickles_are_refused_with_a_report_and_nothing_runs() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let existing = out.path().join("existing.onnx");
    std::fs::write(&existing, b"a file the user already had").unwrap();
    let malicious = cases("malicious");
    assert!(malicious.len() >= 20);
    for case in malicious.iter().chain(cases("unsupported").iter()) {
        let name = name_of(case);
        let output = onnxify_in(out.path(), &["convert", file_of(case), "-o", "existing.onnx"]);
        assert_eq!(output.status.code(), Some(3), "{name}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(
            err.contains("REFUSED") && err.contains("Globals referenced"),
            "{name}: the report: {err}"
        );
        assert_eq!(std::fs::read(&existing).unwrap(), b"a file the user already had", "{name}");
        assert!(!out.path().join("existing.onnx.json").exists(), "{name}");

        let scanned = onnxify_in(out.path(), &["scan", file_of(case), "--json"]);
        assert_eq!(scanned.status.code(), Some(3), "{name}: {}", stderr(&scanned));
        let report: Value = serde_json::from_str(&stdout(&scanned)).unwrap();
        assert_eq!(report["decision"], "refused", "{name}");
        let (verdict, global) = match case["kind"].as_str().unwrap() {
            "malicious" => ("dangerous", case["dangerous"].as_str().unwrap()),
            _ => ("unsupported", case["unsupported"].as_str().unwrap()),
        };
        let flagged = report["globals"].as_array().unwrap().iter().find(|g| {
            format!("{}.{}", g["module"].as_str().unwrap(), g["name"].as_str().unwrap()) == global
        });
        let flagged = flagged.unwrap_or_else(|| panic!("{name}: {global} is listed: {report}"));
        assert_eq!(flagged["verdict"], verdict, "{name}: {flagged}");
        assert!(flagged["offset"].as_u64().is_some(), "{name}: the global's offset");
        let label = if verdict == "dangerous" { "DANGEROUS" } else { "unsupported" };
        assert!(
            err.lines().any(|line| line.contains(label) && line.contains(global)),
            "{name}: {global} marked {label} in the report: {err}"
        );
        if verdict == "unsupported" {
            assert!(flagged["reason"].as_str().unwrap().contains("not supported yet"), "{flagged}");
        }
    }
    assert!(!fixtures().marker.exists(), "a payload ran: {} exists", fixtures().marker.display());
}

/// Pickles scikit-learn 1.3.2 wrote (checked in with `make.py`, the script that made them,
/// and what that version's `predict` and `predict_proba` gave for each CSV's rows): older
/// scorer classes, encoder attributes and numpy module names; liblinear's one-vs-rest models
/// and a binary multinomial one, which that version computed as it did.
#[test]
fn pickles_written_by_scikit_learn_1_3_convert_to_what_that_version_predicted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sklearn13");
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 6, "the scikit-learn 1.3 fixtures");
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let mut jobs = Vec::new();
    for case in &cases {
        let name = case["file"].as_str().unwrap();
        let model = out.path().join(format!("{name}.onnx"));
        let pickle = dir.join(name);
        let args = ["convert", pickle.to_str().unwrap(), "-o", model.to_str().unwrap(), "-q"];
        let output = onnxify_in(out.path(), &args);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let json: Value =
            serde_json::from_slice(&std::fs::read(format!("{}.json", model.display())).unwrap())
                .unwrap();
        assert_eq!(json["sklearn_version"], "1.3.2", "{name}");
        jobs.push((model, dir.join(case["csv"].as_str().unwrap())));
    }
    let jobs: Vec<(PathBuf, &str)> =
        jobs.iter().map(|(model, csv)| (model.clone(), csv.to_str().unwrap())).collect();
    for (case, onnx) in cases.iter().zip(onnxruntime(&jobs)) {
        assert_matches_scikit_learn(case, &onnx, case["file"].as_str().unwrap());
    }
}

#[test]
fn one_vs_rest_models_convert_in_every_flavor_to_normalised_sigmoids() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let ovr = cases("one_vs_rest");
    assert!(ovr.len() >= 5, "one-vs-rest fixtures, plain and table");
    let flavors: [&[&str]; 3] =
        [&[], &["--ops", "standard"], &["--ops", "standard", "--dtype", "f64"]];
    let mut jobs = Vec::new();
    let mut expected = Vec::new();
    for (f, flags) in flavors.iter().enumerate() {
        for case in &ovr {
            let name = name_of(case);
            let model = out.path().join(format!("{name}.{f}.onnx"));
            let mut args = vec!["convert", file_of(case), "-o", model.to_str().unwrap(), "-q"];
            args.extend_from_slice(flags);
            let output = onnxify_in(out.path(), &args);
            assert!(output.status.success(), "{name} {flags:?}: {}", stderr(&output));
            let verified = onnxify_in(out.path(), &["verify", model.to_str().unwrap()]);
            assert!(verified.status.success(), "verify {name} {flags:?}: {}", stdout(&verified));
            jobs.push((model, case["csv"].as_str().unwrap()));
            expected.push((*case, format!("{name} {flags:?}")));
        }
    }
    for ((case, what), onnx) in expected.iter().zip(onnxruntime(&jobs)) {
        assert_matches_scikit_learn(case, &onnx, what);
    }
}

#[test]
fn unconvertible_models_are_refused_and_inconsistent_ones_reported_as_broken() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    for (kind, code) in [("refused_model", 3), ("inconsistent", 2)] {
        assert!(!cases(kind).is_empty(), "fixtures of kind {kind}");
        for case in cases(kind) {
            let name = name_of(case);
            let output = onnxify_in(out.path(), &["convert", file_of(case), "-o", "model.onnx"]);
            let err = stderr(&output);
            assert_eq!(output.status.code(), Some(code), "{name}: {err}");
            assert!(err.contains(case["message"].as_str().unwrap()), "{name}: {err}");
            assert!(!out.path().join("model.onnx").exists(), "{name}");
        }
    }
}

#[test]
fn hostile_pickles_end_in_a_clean_error_within_bounded_time_and_memory() {
    let hostile = cases("hostile");
    assert!(hostile.len() >= 10);
    for case in hostile {
        let name = name_of(case);
        for command in ["convert", "scan"] {
            let output_path = fixtures().dir.join(format!("{name}.onnx"));
            let (output, elapsed) = run_limited(
                &[command, file_of(case), "-o", output_path.to_str().unwrap()]
                    [..if command == "scan" { 2 } else { 4 }],
            );
            let err = stderr(&output);
            assert!(!err.contains("panicked"), "{command} {name}: {err}");
            let code = output.status.code();
            assert!(matches!(code, Some(2 | 3)), "{command} {name}: exit {code:?}: {err}");
            let last = err.lines().last().unwrap_or_default();
            assert!(
                last.starts_with("onnxify: error: ") && last.contains(&name),
                "{command} {name}: {err}"
            );
            assert!(!output_path.exists(), "{command} {name}: wrote a model");
            if let Some(message) = case["message"].as_str() {
                assert!(err.contains(message), "{command} {name}: says {message:?}: {err}");
            }
            eprintln!("{command} {name}: exit {code:?} in {elapsed:?}: {last}");
        }
    }
}

/// A bare model of raw, large values is verified near its decision boundary, where float32
/// arithmetic fails it: the default graph is refused with advice, and the float64 graph the
/// advice names predicts like scikit-learn.
#[test]
fn a_model_float32_cannot_compute_is_refused_and_converts_in_float64() {
    let out = tempfile::tempdir_in(common::scratch()).unwrap();
    let cases = cases("needs_float64");
    assert!(!cases.is_empty());
    let mut jobs = Vec::new();
    for case in &cases {
        let name = name_of(case);
        let refused = out.path().join(format!("{name}-f32.onnx"));
        let output =
            onnxify_in(out.path(), &["convert", file_of(case), "-o", refused.to_str().unwrap()]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains("--ops standard --dtype f64"), "{name}: {err}");
        assert!(!refused.exists(), "{name}");

        let model = out.path().join(format!("{name}.onnx"));
        let args = ["convert", file_of(case), "-o", model.to_str().unwrap(), "--ops", "standard"];
        let output = onnxify_in(out.path(), &[&args[..], &["--dtype", "f64", "-q"]].concat());
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        jobs.push((model, case["csv"].as_str().unwrap()));
    }
    for (case, onnx) in cases.iter().zip(onnxruntime(&jobs)) {
        assert_matches_scikit_learn(case, &onnx, &name_of(case));
    }
}
