//! Live parity with scikit-learn: onnxify's fitted numbers and predictions against
//! `Pipeline([StandardScaler(), LogisticRegression(solver="newton-cholesky", tol=1e-12)])`,
//! fitted in the same run on the same CSV.

mod common;

use std::path::Path;

use common::{EVERY_ROW_CONVERGED, assert_close, datasets, floats, onnxify_in, reference, stdout};
use onnxify::data::split::{self, TestFraction};
use onnxify::data::{CsvOptions, read_csv};
use onnxify::metrics;
use onnxify::model::{LogisticRegressionParams, Pipeline};
use onnxify::progress::Progress;
use serde_json::Value;

const DATASETS: [&str; 5] = ["iris", "wine", "breast_cancer", "digits", "synthetic_strings"];

/// Parameters and predictions, for a fit that converged to a gradient inf-norm of 1e-10.
///
/// Tolerances: the reference sits within ~1e-11 of the optimum and onnxify's coefficient error
/// is the gradient norm times at most ~5000 on these sets (measured for scikit-learn's own
/// solvers), so 1e-6 leaves a wide margin; at C = 100 the problems are nearly separable and
/// ill-conditioned, so only labels and probabilities (to 1e-5) are compared there.
fn check_converged_fit(name: &str, c: f64) {
    let csv = &datasets()[name];
    let c_text = c.to_string();
    let args = ["train", csv.to_str().unwrap(), "--C", &c_text, "--json"];
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let output = onnxify_in(dir.path(), &[&args[..], &EVERY_ROW_CONVERGED[..]].concat());
    assert!(output.status.success(), "{}", common::stderr(&output));
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let fit = &summary["fit"];
    assert_eq!(fit["converged"], true, "{name} C={c}: {fit}");
    assert!(fit["gradient_norm"].as_f64().unwrap() <= 1e-10, "{name} C={c}: {fit}");

    let expected = &reference(&["fit", csv.to_str().unwrap(), "--C", &c_text])[0];
    let classes: Vec<String> = common::labels(&summary["dataset"]["classes"]);
    let expected_classes = common::strings(&expected["classes"]);
    assert_eq!(classes, expected_classes, "{name}: classes_ order");

    let model = &summary["parameters"];
    let what = |field: &str| format!("{name} C={c}: {field}");
    assert_close(&what("mean_"), &floats(&model["mean"]), &floats(&expected["mean"]), 1e-6);
    assert_close(&what("scale_"), &floats(&model["scale"]), &floats(&expected["scale"]), 1e-6);
    if c <= 1.0 {
        assert_close(&what("coef_"), &floats(&model["coef"]), &floats(&expected["coef"]), 1e-6);
        assert_close(
            &what("intercept_"),
            &floats(&model["intercept"]),
            &floats(&expected["intercept"]),
            1e-6,
        );
    }

    // Predictions of the library's pipeline fitted the same way, on every row.
    let data = read_csv(csv, &CsvOptions::default(), &Progress::hidden()).unwrap();
    let params = LogisticRegressionParams::new().c(c).tol(1e-10).max_iter(10000).check().unwrap();
    let step = Progress::hidden().iterations("fit", 10000);
    let pipeline =
        Pipeline::fit(data.rows.features.clone(), &data.rows.targets, data.classes, &params, &step)
            .unwrap();
    let library_coef: Vec<f64> = pipeline.coef().iter().copied().collect();
    assert_close(
        &what("coef_ of the CLI and the library"),
        &floats(&model["coef"]),
        &library_coef,
        0.0,
    );
    let proba = pipeline.predict_proba(data.rows.features.view());
    let proba_tol = if c <= 1.0 { 1e-6 } else { 1e-5 };
    assert_close(
        &what("predict_proba"),
        &proba.iter().copied().collect::<Vec<_>>(),
        &floats(&expected["proba"]),
        proba_tol,
    );
    let predicted: Vec<u32> = pipeline.predict(data.rows.features.view());
    let expected_predicted: Vec<u32> = expected["predicted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(predicted, expected_predicted, "{}", what("predict"));
}

macro_rules! parity_tests {
    ($($test:ident: $name:expr, $c:expr;)*) => {
        $(
            #[test]
            fn $test() {
                check_converged_fit($name, $c);
            }
        )*
    };
}

parity_tests! {
    iris_matches_scikit_learn_at_c_0_01: "iris", 0.01;
    iris_matches_scikit_learn_at_c_1: "iris", 1.0;
    iris_matches_scikit_learn_at_c_100: "iris", 100.0;
    wine_matches_scikit_learn_at_c_0_01: "wine", 0.01;
    wine_matches_scikit_learn_at_c_1: "wine", 1.0;
    wine_matches_scikit_learn_at_c_100: "wine", 100.0;
    breast_cancer_matches_scikit_learn_at_c_0_01: "breast_cancer", 0.01;
    breast_cancer_matches_scikit_learn_at_c_1: "breast_cancer", 1.0;
    breast_cancer_matches_scikit_learn_at_c_100: "breast_cancer", 100.0;
    digits_matches_scikit_learn_at_c_0_01: "digits", 0.01;
    digits_matches_scikit_learn_at_c_1: "digits", 1.0;
    digits_matches_scikit_learn_at_c_100: "digits", 100.0;
    string_labels_on_mixed_scales_match_scikit_learn_at_c_0_01: "synthetic_strings", 0.01;
    string_labels_on_mixed_scales_match_scikit_learn_at_c_1: "synthetic_strings", 1.0;
    string_labels_on_mixed_scales_match_scikit_learn_at_c_100: "synthetic_strings", 100.0;
}

/// With onnxify's defaults (tol 1e-8), the held-out predictions equal those of scikit-learn's
/// converged fit on the same training rows, and the held-out metrics equal scikit-learn's
/// metrics of the same predictions.
#[test]
fn default_fits_predict_the_held_out_rows_like_scikit_learns_converged_fit() {
    for name in DATASETS {
        let csv = &datasets()[name];
        let data = read_csv(csv, &CsvOptions::default(), &Progress::hidden()).unwrap();
        let header = std::fs::read_to_string(csv).unwrap().lines().next().unwrap().to_owned();
        let split = split::stratified(
            &data.rows.targets,
            &data.rows.lines,
            &data.classes,
            (name, &data.target_name),
            TestFraction::new(0.25).unwrap(),
            0,
        )
        .unwrap();
        let dir = common::scratch().join(format!("held_out_{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let train_csv = write_rows(&dir.join("train.csv"), &header, csv, &split.train);
        let test_csv = write_rows(&dir.join("test.csv"), &header, csv, &split.test);

        let classes = data.classes.clone();
        let (train, test) = split::apply(data.rows, &split);
        let params = LogisticRegressionParams::new().check().unwrap();
        let step = Progress::hidden().iterations("fit", 1000);
        let pipeline =
            Pipeline::fit(train.features, &train.targets, classes.clone(), &params, &step).unwrap();
        assert!(pipeline.classifier().converged(), "{name}");
        let predicted = pipeline.predict(test.features.view());
        let proba = pipeline.predict_proba(test.features.view());

        let expected = &reference(&[
            "fit",
            train_csv.to_str().unwrap(),
            "--C",
            "1",
            "--predict",
            test_csv.to_str().unwrap(),
        ])[0];
        let expected_predicted: Vec<u32> = expected["predicted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(predicted, expected_predicted, "{name}: held-out predictions");

        let ours = metrics::evaluate(&test.targets, &predicted, proba.view(), &classes);
        let input = serde_json::json!({
            "y_true": test.targets,
            "y_pred": predicted,
            "proba": proba.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        });
        let input_path = dir.join("metrics.json");
        std::fs::write(&input_path, input.to_string()).unwrap();
        let theirs = reference(&["metrics", input_path.to_str().unwrap()]);
        let close = |what: &str, a: f64, b: &Value| {
            assert_close(&format!("{name}: {what}"), &[a], &floats(b), 1e-12)
        };
        close("accuracy", ours.accuracy, &theirs["accuracy"]);
        close("log_loss", ours.log_loss, &theirs["log_loss"]);
        close("macro_f1", ours.macro_f1, &theirs["macro_f1"]);
        let per_class =
            |f: fn(&metrics::ClassMetrics) -> f64| ours.per_class.iter().map(f).collect::<Vec<_>>();
        assert_close(
            &format!("{name}: precision"),
            &per_class(|m| m.precision),
            &floats(&theirs["precision"]),
            1e-12,
        );
        assert_close(
            &format!("{name}: recall"),
            &per_class(|m| m.recall),
            &floats(&theirs["recall"]),
            1e-12,
        );
        assert_close(&format!("{name}: f1"), &per_class(|m| m.f1), &floats(&theirs["f1"]), 1e-12);
        assert_close(
            &format!("{name}: support"),
            &per_class(|m| m.support as f64),
            &floats(&theirs["support"]),
            0.0,
        );
        let confusion: Vec<f64> =
            ours.confusion_matrix.iter().flatten().map(|&v| v as f64).collect();
        assert_close(
            &format!("{name}: confusion matrix"),
            &confusion,
            &floats(&theirs["confusion_matrix"]),
            0.0,
        );
        match ours.roc_auc {
            Some(auc) => close("roc_auc", auc, &theirs["roc_auc"]),
            None => assert!(theirs["roc_auc"].is_null(), "{name}: roc_auc"),
        }
    }
}

/// Copies the header and the data rows with the given 0-based indices.
fn write_rows(path: &Path, header: &str, csv: &Path, rows: &[usize]) -> std::path::PathBuf {
    let text = std::fs::read_to_string(csv).unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let mut out = String::from(header);
    out.push('\n');
    for &r in rows {
        out.push_str(lines[r]);
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
    path.to_path_buf()
}

/// `--class-weight balanced` fits scikit-learn's `class_weight="balanced"`: each row's loss term
/// weighed by n_samples / (n_classes * count of its class). Tolerances as above.
#[test]
fn balanced_class_weights_match_scikit_learn() {
    for name in ["breast_cancer", "wine", "synthetic_strings"] {
        let csv = &datasets()[name];
        let args = ["train", csv.to_str().unwrap(), "--class-weight", "balanced", "--json"];
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        let output = onnxify_in(dir.path(), &[&args[..], &EVERY_ROW_CONVERGED[..]].concat());
        assert!(output.status.success(), "{}", common::stderr(&output));
        let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(summary["hyperparameters"]["class_weight"], "balanced");
        let expected =
            &reference(&["fit", csv.to_str().unwrap(), "--C", "1", "--class-weight", "balanced"])
                [0];
        let model = &summary["parameters"];
        let what = |field: &str| format!("{name} balanced: {field}");
        assert_close(&what("coef_"), &floats(&model["coef"]), &floats(&expected["coef"]), 1e-6);
        assert_close(
            &what("intercept_"),
            &floats(&model["intercept"]),
            &floats(&expected["intercept"]),
            1e-6,
        );
    }
}
