//! Saved Spark models, live: Spark (pyspark in local mode) fits pipelines on real tables and
//! saves them; onnxify's reader must find in the files exactly the stages and fitted values
//! the live Spark objects hold, and refuse a directory that is not what Spark writes with a
//! clear error naming the file, without reading outside the directory.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::Array2;
use serde_json::Value;

use common::{onnxify, python_json, stdout};
use onnxify::data::{Cells, MISSING_CODE};
use onnxify::spark::{self, Stage};

/// The models Spark saved and its manifest of them, made once per test process.
fn models() -> &'static Vec<Value> {
    static MODELS: OnceLock<Vec<Value>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = common::scratch().join("spark");
        python_json("spark_models.py", &[dir.to_str().unwrap()]).as_array().unwrap().clone()
    })
}

fn model(name: &str) -> &'static Value {
    models().iter().find(|m| m["name"] == name).unwrap()
}

fn dir_of(model: &Value) -> PathBuf {
    PathBuf::from(model["dir"].as_str().unwrap())
}

fn strings(value: &Value) -> Vec<String> {
    common::strings(value)
}

/// A copy of a saved model's directory, to break.
fn copy(model: &Value, into: &Path) -> PathBuf {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let target = into.join(model["name"].as_str().unwrap());
    copy_dir(&dir_of(model), &target);
    target
}

/// Hadoop's checksum side file of `file`.
fn checksum_of(file: &Path) -> PathBuf {
    let name = file.file_name().unwrap().to_str().unwrap();
    file.with_file_name(format!(".{name}.crc"))
}

/// The path of the one `part-*` file in `folder`.
fn part(folder: &Path) -> PathBuf {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("part-"))
        .unwrap()
}

#[test]
fn the_reader_finds_every_stage_and_fitted_value_spark_holds() {
    for name in ["penguins_multinomial", "penguins_binary_threshold", "cancer_sparse_l1"] {
        let expected = model(name);
        let scanned = spark::scan(&dir_of(expected)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(scanned.saved.metadata.spark_version, expected["spark_version"], "{name}");
        let stages = expected["stages"].as_array().unwrap();
        assert_eq!(scanned.stages.len(), stages.len(), "{name}: stages");
        for ((saved, stage), spark) in scanned.saved.stages.iter().zip(&scanned.stages).zip(stages)
        {
            let what = format!("{name} {}", spark["uid"]);
            assert_eq!(saved.metadata.class, spark["class"].as_str().unwrap(), "{what}");
            assert_eq!(saved.metadata.uid, spark["uid"].as_str().unwrap(), "{what}");
            // Doubles cross JSON exactly both ways, so the values must be equal, not close.
            match stage {
                Stage::StringIndexer { labels, .. } => {
                    let held: Vec<Vec<String>> =
                        spark["labels"].as_array().unwrap().iter().map(strings).collect();
                    assert_eq!(*labels, held, "{what}: labels");
                }
                Stage::OneHotEncoder { sizes, .. } => {
                    let held: Vec<usize> = serde_json::from_value(spark["sizes"].clone()).unwrap();
                    assert_eq!(*sizes, held, "{what}: category sizes");
                }
                Stage::Imputer { surrogates, .. } => {
                    assert_eq!(*surrogates, common::floats(&spark["surrogates"]), "{what}");
                }
                Stage::VectorAssembler { inputs, .. } => {
                    assert_eq!(*inputs, strings(&spark["inputs"]), "{what}: inputs");
                }
                Stage::StandardScaler { mean, std, with_mean, with_std, .. } => {
                    assert_eq!(*mean, common::floats(&spark["mean"]), "{what}: mean");
                    assert_eq!(*std, common::floats(&spark["std"]), "{what}: std");
                    assert_eq!(*with_mean, spark["with_mean"].as_bool().unwrap(), "{what}");
                    assert_eq!(*with_std, spark["with_std"].as_bool().unwrap(), "{what}");
                }
                Stage::LogisticRegression {
                    coefficients,
                    intercepts,
                    multinomial,
                    threshold,
                    ..
                } => {
                    let held: Vec<Vec<f64>> =
                        serde_json::from_value(spark["coefficients"].clone()).unwrap();
                    let rows: Vec<Vec<f64>> =
                        coefficients.rows().into_iter().map(|r| r.to_vec()).collect();
                    assert_eq!(rows, held, "{what}: coefficients");
                    assert_eq!(*intercepts, common::floats(&spark["intercepts"]), "{what}");
                    assert_eq!(*multinomial, spark["multinomial"].as_bool().unwrap(), "{what}");
                    if let Some(t) = spark["threshold"].as_f64() {
                        assert_eq!(*threshold, t, "{what}: threshold");
                    }
                }
            }
        }
    }
    // The L1 model's coefficients are stored sparse; most are zero.
    let scanned = spark::scan(&dir_of(model("cancer_sparse_l1"))).unwrap();
    let Stage::LogisticRegression { coefficients, .. } = &scanned.stages[0] else { panic!() };
    assert!(coefficients.iter().filter(|v| **v == 0.0).count() > coefficients.len() / 2);
}

/// The rows Spark predicted, as cells in the column order of `pipeline`.
fn cells_of(rows: &[Value], columns: &onnxify::model::ColumnNames) -> Cells {
    let numeric = Array2::from_shape_fn((rows.len(), columns.numeric.len()), |(r, j)| {
        rows[r]["numbers"][&columns.numeric[j]].as_f64().unwrap_or(f64::NAN)
    });
    let mut values: Vec<Vec<String>> = vec![Vec::new(); columns.categorical.len()];
    let codes = Array2::from_shape_fn((rows.len(), columns.categorical.len()), |(r, k)| match rows
        [r]["texts"][&columns.categorical[k]]
        .as_str()
    {
        None => MISSING_CODE,
        Some(text) => match values[k].iter().position(|v| v == text) {
            Some(i) => i as u32,
            None => {
                values[k].push(text.to_owned());
                (values[k].len() - 1) as u32
            }
        },
    });
    Cells { numeric, codes, values }
}

#[test]
fn the_rebuilt_pipeline_predicts_what_spark_predicted_on_every_row() {
    for name in PREDICTED.iter().filter(|n| n.starts_with("penguins")) {
        let expected = model(name);
        let scanned = spark::scan(&dir_of(expected)).unwrap();
        let spark::Rebuilt::Table(rebuilt) =
            spark::rebuild(&scanned).unwrap_or_else(|e| panic!("{name}: {e}"))
        else {
            panic!("{name}: a pipeline of a table's columns");
        };
        let rows = expected["rows"].as_array().unwrap();
        let cells = cells_of(rows, rebuilt.columns());
        let (labels, proba) = rebuilt.predict_with_proba(&cells);
        let classes = rebuilt.classes();
        // Rows with unseen and missing texts and missing numbers are among them.
        assert!(rows.len() > 300, "{name}: the table and its edge rows");
        let mut largest = 0.0f64;
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(
                classes.name(labels[r] as usize),
                row["label"].as_str().unwrap(),
                "{name} row {r}"
            );
            for (a, b) in proba.row(r).iter().zip(common::floats(&row["probability"])) {
                largest = largest.max((a - b).abs());
            }
        }
        eprintln!("{name}: {} rows, largest probability difference {largest:e}", rows.len());
        // The same arithmetic in another order: a few units in the last place.
        assert!(largest < 1e-12, "{name}: largest probability difference {largest:e}");
    }
}

#[test]
fn scan_lists_the_stages_and_every_file_read_with_its_hash() {
    let expected = model("penguins_multinomial");
    let dir = dir_of(expected);
    let output = onnxify(&["scan", dir.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["format"], "spark");
    assert_eq!(report["decision"], "accepted");
    let classes: Vec<&str> =
        report["stages"].as_array().unwrap().iter().map(|s| s["class"].as_str().unwrap()).collect();
    let held: Vec<&str> = expected["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, held);
    // Every metadata and data file, each with the SHA-256 of its bytes on disk.
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 1 + 7 + 6, "the pipeline's metadata, 7 stages' metadata, 6 data files");
    for file in files {
        let bytes = std::fs::read(dir.join(file["path"].as_str().unwrap())).unwrap();
        assert_eq!(file["sha256"], onnxify::util::sha256_hex(&bytes), "{file}");
    }
    let text = stdout(&onnxify(&["scan", dir.to_str().unwrap()]));
    assert!(text.contains("Spark model saved by Spark"), "{text}");
    assert!(text.contains("StringIndexerModel"), "{text}");
    assert!(text.contains("island, sex -> island_index, sex_index"), "{text}");
}

#[test]
fn a_stage_onnxify_does_not_read_is_refused_by_class_with_exit_3() {
    let dir = dir_of(model("binarizer_pipeline"));
    let output = onnxify(&["scan", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3), "{}", common::stderr(&output));
    assert!(
        common::stderr(&output)
            .contains("is org.apache.spark.ml.feature.Binarizer, a class onnxify does not read"),
        "{}",
        common::stderr(&output)
    );
}

/// Each way a directory can differ from what Spark writes: a clear error naming the file or
/// folder, exit 2 (exit 3 for a link, refused), and nothing read from outside the directory.
#[test]
fn broken_or_hostile_model_directories_are_refused_naming_the_file() {
    let scratch = tempfile::tempdir_in(common::scratch()).unwrap();
    let source = model("penguins_multinomial");
    let mut cases: Vec<(PathBuf, i32, String)> = Vec::new();
    let mut case = |label: &str, change: &dyn Fn(&Path) -> String, code: i32| {
        let root = scratch.path().join(label);
        let dir = copy(source, &root);
        let expected = change(&dir);
        cases.push((dir, code, expected));
    };
    let stage = |dir: &Path, prefix: &str| -> PathBuf {
        std::fs::read_dir(dir.join("stages"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
            .unwrap()
    };
    case(
        "no_metadata",
        &|dir| {
            std::fs::remove_dir_all(dir.join("metadata")).unwrap();
            "has no metadata folder".into()
        },
        2,
    );
    case(
        "key_twice",
        &|dir| {
            let file = part(&dir.join("metadata"));
            let text = std::fs::read_to_string(&file).unwrap();
            let twice = text.replacen("{\"class\":", "{\"class\":\"x\",\"class\":", 1);
            std::fs::write(&file, twice).unwrap();
            std::fs::remove_file(checksum_of(&file)).unwrap();
            "the key \"class\" is given twice".into()
        },
        2,
    );
    case(
        "extra_stage",
        &|dir| {
            std::fs::create_dir(dir.join("stages/7_Unlisted_1")).unwrap();
            "holds 8 folders where the pipeline lists 7 stages".into()
        },
        2,
    );
    case(
        "truncated_parquet",
        &|dir| {
            let file = part(&stage(dir, "6_").join("data"));
            let bytes = std::fs::read(&file).unwrap();
            std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
            std::fs::remove_file(checksum_of(&file)).unwrap();
            "is not a readable Parquet file".into()
        },
        2,
    );
    case(
        "checksum_disagrees",
        &|dir| {
            let file = part(&stage(dir, "6_").join("data"));
            let mut bytes = std::fs::read(&file).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 1;
            std::fs::write(&file, &bytes).unwrap();
            "does not match its checksum file".into()
        },
        2,
    );
    case(
        "metadata_of_another_stage",
        &|dir| {
            let first = part(&stage(dir, "0_").join("metadata"));
            let fifth = part(&stage(dir, "5_").join("metadata"));
            std::fs::copy(&fifth, &first).unwrap();
            std::fs::remove_file(checksum_of(&first)).unwrap();
            "but its pipeline lists".into()
        },
        2,
    );
    case(
        "link_out",
        &|dir| {
            let data = stage(dir, "6_").join("data");
            let file = part(&data);
            std::fs::remove_file(&file).unwrap();
            std::os::unix::fs::symlink("/etc/passwd", &file).unwrap();
            "is a symbolic link".into()
        },
        3,
    );
    for (dir, code, expected) in cases {
        let output = onnxify(&["scan", dir.to_str().unwrap()]);
        let stderr = common::stderr(&output);
        assert_eq!(output.status.code(), Some(code), "{}: {stderr}", dir.display());
        assert!(stderr.contains(&expected), "{}: {stderr}", dir.display());
        assert!(stderr.contains(dir.to_str().unwrap()), "names the directory: {stderr}");
    }
}

/// Data Spark itself wrote, as an edited or broken model would hold it: a NaN coefficient, a
/// feature count the coefficients do not have. Each is a clear error naming the file, exit 2.
#[test]
fn fitted_values_that_cannot_be_a_model_are_refused_naming_the_stage() {
    for (name, expected) in [
        ("cancer_nan_coefficient", "has a coefficient or intercept that is NaN"),
        (
            "cancer_features_lie",
            "has 1 x 30 coefficients and 1 intercepts for 2 classes and 5 features",
        ),
    ] {
        let dir = dir_of(model(name));
        let output = onnxify(&["scan", dir.to_str().unwrap()]);
        let stderr = common::stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

/// Mutated data files (bytes flipped, cut, repeated; their checksum files removed) end in an
/// error or a reading, never a panic. `ONNXIFY_SPARK_MUTANTS` sets how many per file (default 300).
#[test]
fn mutated_parquet_files_never_panic_the_reader() {
    let per_file: usize =
        std::env::var("ONNXIFY_SPARK_MUTANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let scratch = tempfile::tempdir_in(common::scratch()).unwrap();
    let dir = copy(model("penguins_multinomial"), scratch.path());
    let mut data_files = Vec::new();
    for stage in std::fs::read_dir(dir.join("stages")).unwrap() {
        let data = stage.unwrap().path().join("data");
        if data.exists() {
            // Without its checksum file, so that the mutants reach the decoder.
            let file = part(&data);
            std::fs::remove_file(checksum_of(&file)).unwrap();
            data_files.push(file);
        }
    }
    // SplitMix64, for mutants that are the same on every run.
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (mut read, mut refused) = (0, 0);
    for file in &data_files {
        let original = std::fs::read(file).unwrap();
        for _ in 0..per_file {
            let mut bytes = original.clone();
            match next() % 4 {
                0 => {
                    for _ in 0..1 + next() % 8 {
                        let at = (next() as usize) % bytes.len();
                        bytes[at] ^= 1 << (next() % 8);
                    }
                }
                1 => {
                    let at = (next() as usize) % bytes.len();
                    bytes[at] = [0x00, 0xff, 0x7f, 0x80][(next() % 4) as usize];
                }
                2 => bytes.truncate((next() as usize) % bytes.len()),
                _ => {
                    let at = (next() as usize) % bytes.len();
                    let len = 1 + (next() as usize) % 16.min(bytes.len() - at);
                    let piece = bytes[at..at + len].to_vec();
                    bytes.splice(at..at, piece);
                }
            }
            std::fs::write(file, &bytes).unwrap();
            let outcome = std::panic::catch_unwind(|| spark::scan(&dir).is_ok());
            match outcome {
                Ok(true) => read += 1,
                Ok(false) => refused += 1,
                Err(_) => {
                    let kept = scratch.path().join("panicked.parquet");
                    std::fs::write(&kept, &bytes).unwrap();
                    panic!(
                        "{} mutated panicked the reader (kept as {})",
                        file.display(),
                        kept.display()
                    );
                }
            }
        }
        std::fs::write(file, &original).unwrap();
    }
    eprintln!("mutated Parquet files: {read} read, {refused} refused, none panicked");
    assert!(refused > 0, "the mutants reach the checks");
}

/// The saved models Spark predicted rows for, each with a threshold, class thresholds, a
/// scaler with and without centring and every handleInvalid mode that changes predictions
/// (keep, skip, error), and a LogisticRegression alone on a vector.
const PREDICTED: [&str; 5] = [
    "penguins_multinomial",
    "penguins_binary_threshold",
    "penguins_class_thresholds",
    "penguins_defaults",
    "cancer_sparse_l1",
];

/// A label onnxruntime gave (a string, or an integer class) as text.
fn label_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.as_i64().expect("an integer label").to_string(),
    }
}

#[test]
fn onnxruntime_gives_sparks_labels_and_probabilities_in_every_flavor() {
    let out = common::scratch().join("spark-onnx");
    std::fs::create_dir_all(&out).unwrap();
    let flavors: [(&str, &[&str], f64); 3] = [
        ("ml", &[], 1e-5),
        ("standard", &["--ops", "standard"], 1e-5),
        ("f64", &["--ops", "standard", "--dtype", "f64"], 1e-12),
    ];
    let mut batch = Vec::new();
    let mut cases = Vec::new();
    for name in PREDICTED {
        let expected = model(name);
        let dir = dir_of(expected);
        for (flavor, options, tolerance) in flavors {
            let path = out.join(format!("{name}-{flavor}.onnx"));
            let mut args = vec!["convert", dir.to_str().unwrap(), "-o", path.to_str().unwrap()];
            args.extend_from_slice(options);
            args.push("--quiet");
            let output = onnxify(&args);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{name} {flavor}: {}",
                common::stderr(&output)
            );
            // The reviewer's checklist passes, and inspect shows the thresholds the graph holds.
            let verified = onnxify(&["verify", path.to_str().unwrap()]);
            assert_eq!(verified.status.code(), Some(0), "{name} {flavor}: {}", stdout(&verified));
            let inspected = onnxify(&["inspect", path.to_str().unwrap(), "--json"]);
            let report: Value = serde_json::from_str(&stdout(&inspected)).unwrap();
            let thresholds = &report["parameters"]["thresholds"];
            assert_eq!(thresholds.is_array(), name.contains("threshold"), "{name} {flavor}");
            batch.push(serde_json::json!({"model": path, "csv": expected["csv"]}));
            cases.push((name, flavor, tolerance));
        }
    }
    let list = out.join("batch.json");
    std::fs::write(&list, serde_json::to_vec(&batch).unwrap()).unwrap();
    let results = python_json("onnx_runtime.py", &["batch", list.to_str().unwrap()]);
    for (result, (name, flavor, tolerance)) in results.as_array().unwrap().iter().zip(cases) {
        let rows = model(name)["rows"].as_array().unwrap();
        let labels = result["labels"].as_array().unwrap();
        let proba = result["proba"].as_array().unwrap();
        assert_eq!(labels.len(), rows.len(), "{name} {flavor}: rows");
        let classes: Vec<Value> =
            serde_json::from_str(result["metadata"]["class_labels"].as_str().unwrap()).unwrap();
        let classes: Vec<String> = classes.iter().map(label_text).collect();
        let mut largest = 0.0f64;
        let mut not_most_probable = 0;
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(
                label_text(&labels[r]),
                row["label"].as_str().unwrap(),
                "{name} {flavor} row {r}"
            );
            let p = common::floats(&row["probability"]);
            let most_probable =
                (0..p.len()).fold(0, |best, c| if p[c] > p[best] { c } else { best });
            not_most_probable +=
                usize::from(classes[most_probable] != row["label"].as_str().unwrap());
            for (a, b) in common::floats(&proba[r]).iter().zip(common::floats(&row["probability"]))
            {
                largest = largest.max((a - b).abs());
            }
        }
        eprintln!(
            "{name} {flavor}: {} rows ({not_most_probable} labelled other than the most probable \
             class), largest probability difference {largest:e}",
            rows.len()
        );
        // The thresholds decide some labels, so the rule is tested, not only the probabilities.
        if name.contains("threshold") {
            assert!(not_most_probable > 0, "{name}: every row's label is its most probable class");
        }
        assert!(
            largest <= tolerance,
            "{name} {flavor}: largest probability difference {largest:e}"
        );
    }
}

#[test]
fn convert_verifies_on_the_rows_of_a_csv_or_parquet_data_file() {
    let out = common::scratch().join("spark-data");
    std::fs::create_dir_all(&out).unwrap();
    for name in ["penguins_binary_threshold", "penguins_class_thresholds"] {
        let expected = model(name);
        let dir = dir_of(expected);
        let rows = expected["rows"].as_array().unwrap().len();
        for (key, rows_used) in [("csv", "data"), ("parquet", "parquet")] {
            let data = expected[key].as_str().unwrap();
            let path = out.join(format!("{name}-{key}.onnx"));
            let output = onnxify(&[
                "convert",
                dir.to_str().unwrap(),
                "-o",
                path.to_str().unwrap(),
                "--data",
                data,
                "--json",
            ]);
            assert_eq!(output.status.code(), Some(0), "{name} {key}: {}", common::stderr(&output));
            let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
            let verification = &summary["model"]["verification"];
            assert_eq!(verification["rows_used"], rows_used, "{name} {key}");
            assert_eq!(verification["rows_checked"], rows, "{name} {key}");
            assert_eq!(verification["passed"], true, "{name} {key}");
            assert_eq!(summary["source"]["format"], "spark");
        }
    }
}

#[test]
fn a_data_file_that_cannot_verify_the_model_is_an_error_and_nothing_is_written() {
    let scratch = tempfile::tempdir_in(common::scratch()).unwrap();
    let expected = model("penguins_binary_threshold");
    let dir = dir_of(expected);
    let output_path = scratch.path().join("model.onnx");
    let csv = std::fs::read_to_string(expected["csv"].as_str().unwrap()).unwrap();
    let parquet = std::fs::read(expected["parquet"].as_str().unwrap()).unwrap();
    let without_island = scratch.path().join("no_island.csv");
    std::fs::write(&without_island, csv.replace("island", "isle")).unwrap();
    let truncated = scratch.path().join("truncated.parquet");
    std::fs::write(&truncated, &parquet[..parquet.len() / 2]).unwrap();
    let text_number = scratch.path().join("text_number.csv");
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    lines[3] = format!("heavy{}", &lines[3][lines[3].find(',').unwrap()..]);
    std::fs::write(&text_number, lines.join("\n") + "\n").unwrap();
    let vector_model = dir_of(model("cancer_sparse_l1"));
    let cases: [(&Path, &Path, &str); 4] = [
        (&dir, &without_island, "no column named \"island\""),
        (&dir, &truncated, "not a readable Parquet file"),
        (&dir, &text_number, "line 4, column \"bill_length_mm\""),
        (&vector_model, &without_island, "LogisticRegression alone"),
    ];
    for (model_dir, data, message) in cases {
        let output = onnxify(&[
            "convert",
            model_dir.to_str().unwrap(),
            "-o",
            output_path.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ]);
        let stderr = common::stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", data.display());
        assert!(stderr.contains(message), "{}: {stderr}", data.display());
        assert!(!output_path.exists(), "{}: nothing is written", data.display());
    }
}
