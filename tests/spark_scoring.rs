//! Scoring inside Apache Spark, live: the README's recipe (`tests/python/spark_scoring.py`:
//! `mapInPandas`, one onnxruntime session per Python worker, columns fed by name as `onnxify
//! predict` feeds them) runs in pyspark's local mode and must give every row the label `onnxify
//! predict` gives and its probabilities, for trained and converted models, plain and tables,
//! on rows with missing cells (in every spelling pandas reads as missing), unseen categories and
//! the columns in another order.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{onnxify_in, python_json, scratch, stderr, stdout, write_file};

/// `onnxify predict` runs the graph in tract, the recipe in onnxruntime, on the same float32 (or
/// float64) inputs; the two round float32 arithmetic alike to a few units of 6e-8, as
/// `tests/table_input.rs` measures for predict against onnxruntime.
const TOLERANCE: f64 = 1e-6;

/// A model and the CSV to score with it.
struct Job {
    name: &'static str,
    model: PathBuf,
    data: PathBuf,
}

/// Output columns (`label`, `p_<class>`...) and, per row, the label and the probabilities.
#[derive(Debug)]
struct Scores {
    columns: Vec<String>,
    labels: Vec<String>,
    probabilities: Vec<Vec<f64>>,
}

/// Runs `onnxify` in `dir`, asserting success.
fn run(dir: &Path, args: &[&str]) -> String {
    let output = onnxify_in(dir, args);
    assert!(output.status.success(), "onnxify {args:?}: {}", stderr(&output));
    stdout(&output)
}

/// A fresh directory for one model.
fn fresh_dir() -> PathBuf {
    tempfile::tempdir_in(scratch()).unwrap().keep()
}

/// Trains on `csv` with `flags` (every row, converged); returns the model's path.
fn trained(csv: &Path, flags: &[&str]) -> PathBuf {
    let dir = fresh_dir();
    let mut args = vec!["train", csv.to_str().unwrap(), "-o", "model.onnx", "-q"];
    args.extend(common::EVERY_ROW_CONVERGED);
    args.extend_from_slice(flags);
    run(&dir, &args);
    dir.join("model.onnx")
}

/// Converts the pickle at `pickle`; returns the model's path.
fn converted(pickle: &Path) -> PathBuf {
    let dir = fresh_dir();
    run(&dir, &["convert", pickle.to_str().unwrap(), "-o", "model.onnx", "-q"]);
    dir.join("model.onnx")
}

/// The rows of `csv` and, for each column a table model reads, a copy of the first row with
/// that cell missing (spelled in turn as each token below, all of which pandas and onnxify read
/// as missing) and, for a text column, a copy with a value training never saw; then one row
/// with every such cell missing. Integer categories are left whole: a missing one is an error.
/// The columns are written in reverse order, so that only feeding by name gives the right rows.
fn with_edge_rows(csv: &Path, model: &Path) -> PathBuf {
    const MISSING: [&str; 6] = ["", "NA", "null", "NaN", "n/a", "None"];
    let report: Value =
        serde_json::from_str(&run(scratch(), &["inspect", model.to_str().unwrap(), "--json"]))
            .unwrap();
    let table = &report["parameters"]["columns"];
    let integers: HashSet<String> =
        common::strings(&table["integer_columns"]).into_iter().collect();
    let texts: HashSet<String> = common::strings(&table["categorical"]).into_iter().collect();
    let used: Vec<String> =
        [common::strings(&table["numeric"]), common::strings(&table["categorical"])].concat();

    let mut reader = csv::Reader::from_path(csv).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let mut rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    let first = rows[0].clone();
    let mut all_missing = first.clone();
    for (k, name) in used.iter().filter(|n| !integers.contains(*n)).enumerate() {
        let at = headers.iter().position(|h| h == name).unwrap();
        let mut row = first.clone();
        row[at] = MISSING[k % MISSING.len()].into();
        rows.push(row);
        if texts.contains(name) {
            let mut row = first.clone();
            row[at] = "never seen in training".into();
            rows.push(row);
        }
        all_missing[at] = String::new();
    }
    rows.push(all_missing);
    reversed(&headers, &rows)
}

/// `csv` with its columns in reverse order.
fn with_reversed_columns(csv: &Path) -> PathBuf {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    reversed(&headers, &rows)
}

fn reversed(headers: &[String], rows: &[Vec<String>]) -> PathBuf {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(headers.iter().rev()).unwrap();
    for row in rows {
        writer.write_record(row.iter().rev()).unwrap();
    }
    write_file("data.csv", &writer.into_inner().unwrap())
}

/// What `onnxify predict` writes for the job.
fn predicted(job: &Job) -> Scores {
    let out = fresh_dir().join("predictions.csv");
    let (model, data) = (job.model.to_str().unwrap(), job.data.to_str().unwrap());
    run(scratch(), &["predict", model, data, "-o", out.to_str().unwrap(), "-q"]);
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let columns = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let (mut labels, mut probabilities) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.unwrap();
        labels.push(record[0].to_owned());
        probabilities.push(record.iter().skip(1).map(|v| v.parse().unwrap()).collect());
    }
    Scores { columns, labels, probabilities }
}

/// Scores every job in one Spark session, after a pipeline Spark fits in it, saves and onnxify
/// converts (appended to the jobs); returns the scores per job, how many sessions the Python
/// worker holds, and Spark's own label for each row of the Spark model's job.
fn spark_scores(jobs: &mut Vec<Job>) -> (Vec<Scores>, Vec<Value>, Vec<String>) {
    let out = fresh_dir();
    let mut args = vec!["--fit-spark", out.to_str().unwrap(), env!("CARGO_BIN_EXE_onnxify")];
    args.extend(
        jobs.iter().flat_map(|job| [job.model.to_str().unwrap(), job.data.to_str().unwrap()]),
    );
    let report = python_json("spark_scoring.py", &args);
    let fitted = &report["spark"];
    jobs.push(Job {
        name: "converted from Spark",
        model: PathBuf::from(fitted["model"].as_str().unwrap()),
        data: PathBuf::from(fitted["csv"].as_str().unwrap()),
    });
    let scores = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            let rows = job["rows"].as_array().unwrap();
            Scores {
                columns: common::strings(&job["columns"]),
                labels: rows.iter().map(|row| row[0].as_str().unwrap().to_owned()).collect(),
                probabilities: rows
                    .iter()
                    .map(|row| {
                        row.as_array().unwrap()[1..].iter().flat_map(common::floats).collect()
                    })
                    .collect(),
            }
        })
        .collect();
    (scores, report["workers"].as_array().unwrap().clone(), common::strings(&fitted["labels"]))
}

/// The first way Spark's scores differ from `onnxify predict`'s, if any.
fn first_difference(spark: &Scores, expected: &Scores) -> Option<String> {
    if spark.columns != expected.columns {
        return Some(format!(
            "output columns\n  Spark:   {:?}\n  predict: {:?}",
            spark.columns, expected.columns
        ));
    }
    if spark.labels.len() != expected.labels.len() {
        return Some(format!(
            "{} rows from Spark, {} from predict",
            spark.labels.len(),
            expected.labels.len()
        ));
    }
    let rows = spark.labels.iter().zip(&spark.probabilities);
    let expected_rows = expected.labels.iter().zip(&expected.probabilities);
    for (row, ((label, p), (expected_label, expected_p))) in rows.zip(expected_rows).enumerate() {
        let worst = p.iter().zip(expected_p).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        if label != expected_label || p.len() != expected_p.len() || worst > TOLERANCE {
            return Some(format!(
                "row {row}: probabilities differ by up to {worst:e} (tolerance {TOLERANCE:e})\n  \
                 Spark:   {label} {p:?}\n  predict: {expected_label} {expected_p:?}"
            ));
        }
    }
    None
}

/// Asserts that the Spark recipe scores every job's rows (and those of a model Spark fits and
/// onnxify converts) as `onnxify predict` does, reporting each job that differs, that the
/// converted Spark model's labels are Spark's own, and that the recipe keeps one onnxruntime
/// session per model in its Python worker though each job's rows come in three tasks.
fn assert_spark_scores_as_predict(mut jobs: Vec<Job>) {
    let (spark, workers, spark_labels) = spark_scores(&mut jobs);
    assert_eq!(spark.len(), jobs.len(), "one result per job");
    assert_eq!(spark.last().unwrap().labels, spark_labels, "the Spark model's labels are Spark's");
    let differences: Vec<String> = jobs
        .iter()
        .zip(&spark)
        .filter_map(|(job, spark)| {
            let difference = first_difference(spark, &predicted(job))?;
            Some(format!("{}: {difference}", job.name))
        })
        .collect();
    assert!(differences.is_empty(), "Spark vs onnxify predict:\n{}", differences.join("\n"));
    let models: HashSet<&Path> = jobs.iter().map(|job| job.model.as_path()).collect();
    let sessions: Vec<u64> = workers.iter().map(|w| w["sessions"].as_u64().unwrap()).collect();
    assert_eq!(
        sessions,
        [models.len() as u64],
        "one Python worker holding one session per model, kept across tasks: {workers:?}"
    );
}

/// The CSV of each mixed table (penguins, synthetic, ...), written by the reference script.
fn tables() -> Value {
    python_json("mixed_reference.py", &["tables", fresh_dir().to_str().unwrap()])
}

fn csv_of(tables: &Value, name: &str) -> PathBuf {
    PathBuf::from(tables[name]["csv"].as_str().unwrap())
}

/// The fitted pickle fixture named `name` and its CSV (rows with missing cells and unseen
/// values among them), from the converter's fixture set.
fn pickle(manifest: &Value, name: &str) -> (PathBuf, PathBuf) {
    let case = manifest
        .as_array()
        .unwrap()
        .iter()
        .find(|c| Path::new(c["file"].as_str().unwrap()).file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("no pickle fixture {name}"));
    (PathBuf::from(case["file"].as_str().unwrap()), PathBuf::from(case["csv"].as_str().unwrap()))
}

/// Trained and converted models of every input shape: a numeric matrix (named features; and
/// unnamed ones taken in order), one FLOAT or STRING input per column, grouped DOUBLE and STRING
/// inputs, an INT64 category; string and integer labels.
#[test]
fn spark_scores_every_kind_of_model_as_onnxify_predict_does() {
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/iris.csv");
    let tables = tables();
    let (penguins, synthetic) = (csv_of(&tables, "penguins"), csv_of(&tables, "synthetic"));
    let pickles = scratch().join("pickles");
    let manifest = python_json(
        "pickles.py",
        &[pickles.to_str().unwrap(), scratch().join("payload-ran").to_str().unwrap()],
    );
    let (integer_categories, integer_categories_csv) =
        pickle(&manifest, "penguins_integer_categories.joblib");
    let (unnamed, unnamed_csv) = pickle(&manifest, "cancer_int_labels.joblib");

    let mut jobs = Vec::new();
    let model = trained(&iris, &[]);
    jobs.push(Job { name: "iris", model, data: with_reversed_columns(&iris) });
    for (name, flags) in [
        ("penguins", &["--target", "species"][..]),
        (
            "penguins grouped f64",
            &["--target", "species", "--inputs", "grouped", "--ops", "standard", "--dtype", "f64"],
        ),
        (
            "penguins f64 input, indicators",
            &["--target", "species", "--input-dtype", "f64", "--missing-indicator"],
        ),
    ] {
        let model = trained(&penguins, flags);
        jobs.push(Job { name, data: with_edge_rows(&penguins, &model), model });
    }
    let model = trained(&synthetic, &["--target", "label", "--categorical", "code"]);
    jobs.push(Job { name: "synthetic", data: with_edge_rows(&synthetic, &model), model });
    let model = converted(&integer_categories);
    jobs.push(Job {
        name: "converted, integer categories",
        data: with_reversed_columns(&integer_categories_csv),
        model,
    });
    // Fitted on an unnamed array: the columns are taken in order, as written.
    jobs.push(Job { name: "converted, unnamed", model: converted(&unnamed), data: unnamed_csv });

    assert_spark_scores_as_predict(jobs);
}
