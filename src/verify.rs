//! `onnxify verify`: the reviewer's checklist for a model file, each line passed or failed.
//!
//! It checks the file on its own (decoding, allow-list, limits, finite numbers), against its
//! companion JSON (SHA-256, metadata), and by running it: it loads in tract and the probe rows
//! recorded at training time reproduce their recorded outputs. With `--data` it also predicts
//! a labelled CSV and reports the metrics against its target column.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::data::records;
use crate::data::{Classes, hex};
use crate::error::{Error, Location, Result};
use crate::export::companion_path;
use crate::metrics::{self, Metrics};
use crate::onnx::load::{self, CheckedModel, Flavor, MAX_FILE_BYTES, OnnxFile};
use crate::predict::plan_columns;
use crate::probe::Probes;
use crate::progress::Progress;
use crate::runtime::{RUNTIME, TractModel};

/// Probe outputs must agree with their recorded values to this (float32 arithmetic may differ
/// in the last bits between processors; a changed model moves them by far more).
pub const PROBE_TOLERANCE: f64 = 1e-6;

/// Metadata every onnxify model carries.
pub const COMMON_METADATA: [&str; 8] = [
    "onnxify_version",
    "ir_version",
    "opset_imports",
    "graph",
    "origin",
    "feature_names",
    "class_labels",
    "verification",
];

/// Metadata a model trained by onnxify carries besides the common entries.
pub const TRAINED_METADATA: [&str; 10] = [
    "dataset_file_name",
    "dataset_sha256",
    "dataset_rows",
    "dataset_columns",
    "target",
    "hyperparameters",
    "n_iter",
    "converged",
    "metrics",
    "trained_at",
];

/// Metadata a model converted from a pickle carries besides the common entries.
pub const CONVERTED_METADATA: [&str; 8] = [
    "source_file_name",
    "source_sha256",
    "source_bytes",
    "source_format",
    "sklearn_version",
    "estimator",
    "feature_names_recorded",
    "converted_at",
];

/// The metadata a model with `origin` must carry.
fn required_metadata(origin: Option<&str>) -> Vec<&'static str> {
    let specific: &[&str] = match origin {
        Some("converted") => &CONVERTED_METADATA,
        _ => &TRAINED_METADATA,
    };
    COMMON_METADATA.iter().chain(specific).copied().collect()
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub model: PathBuf,
    /// The companion JSON [default: the model's path with `.json` appended].
    pub companion: Option<PathBuf>,
    /// A labelled CSV to predict and score.
    pub data: Option<PathBuf>,
    /// The data's label column [default: the model's recorded target, else the last column].
    pub target: Option<String>,
    pub delimiter: u8,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub check: String,
    pub passed: bool,
    pub detail: String,
}

/// The checklist and, with `--data`, the scores on the data.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub model: String,
    pub items: Vec<Item>,
    pub data: Option<DataScore>,
}

/// Metrics of the model on a labelled CSV.
#[derive(Debug, Clone, Serialize)]
pub struct DataScore {
    pub file: String,
    pub metrics: Metrics,
}

impl VerifyReport {
    /// True when every line passed.
    pub fn passed(&self) -> bool {
        self.items.iter().all(|i| i.passed)
    }

    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Verifying {}", self.model)?;
        for item in &self.items {
            let mark = if item.passed { "PASS" } else { "FAIL" };
            writeln!(out, "  [{mark}] {}: {}", item.check, item.detail)?;
        }
        if let Some(score) = &self.data {
            writeln!(out)?;
            let title = format!("Metrics on {} ({} rows)", score.file, score.metrics.n_rows);
            crate::report::write_metrics(out, &title, &score.metrics)?;
            writeln!(out)?;
        }
        let failed = self.items.iter().filter(|i| !i.passed).count();
        if failed == 0 {
            writeln!(out, "All {} checks passed", self.items.len())
        } else {
            writeln!(out, "{failed} of {} checks FAILED", self.items.len())
        }
    }
}

struct Checklist(Vec<Item>);

impl Checklist {
    fn add(&mut self, check: &str, result: std::result::Result<String, String>) -> bool {
        let passed = result.is_ok();
        let detail = result.unwrap_or_else(|e| e);
        self.0.push(Item { check: check.into(), passed, detail });
        passed
    }

    fn skip(&mut self, checks: &[&str], why: &str) {
        for check in checks {
            self.add(check, Err(format!("not checked: {why}")));
        }
    }
}

const READABLE: &str = "readable";
const ALLOWED: &str = "allow-listed operators, domains and opsets";
const CONTAINED: &str = "no external data, subgraphs or functions";
const LIMITS: &str = "tensors and attributes within size limits";
const FINITE: &str = "all floats finite";
const STRUCTURE: &str = "graph structure";
const COMPANION: &str = "SHA-256 matches the companion JSON";
const METADATA: &str = "required metadata present";
const CONSISTENT: &str = "metadata consistent with the graph";
const AGREES: &str = "metadata agrees with the companion JSON";
const RUNS: &str = "loads and runs in tract";
const PROBES: &str = "probe inputs reproduce their recorded outputs";

/// Runs the checklist. Errors only for problems outside the model (such as an unreadable
/// `--data` file); every problem of the model is a failed line.
pub fn verify(config: &VerifyConfig, progress: &Progress) -> Result<VerifyReport> {
    let model_name = config.model.display().to_string();
    let mut list = Checklist(Vec::new());
    let file = match load::read(&config.model) {
        Ok(file) => {
            list.add(
                READABLE,
                Ok(format!(
                    "{} bytes (limit {MAX_FILE_BYTES}), decodes as ONNX",
                    file.bytes().len()
                )),
            );
            file
        }
        Err(e) => {
            list.add(READABLE, Err(reason(&e)));
            let rest = [
                ALLOWED, CONTAINED, LIMITS, FINITE, STRUCTURE, COMPANION, METADATA, CONSISTENT,
                AGREES, RUNS, PROBES,
            ];
            list.skip(&rest, "the file is unreadable");
            return Ok(VerifyReport { model: model_name, items: list.0, data: None });
        }
    };
    let audit = file.audit();
    let findings = |items: &[String], ok: &str| {
        if items.is_empty() { Ok(ok.to_owned()) } else { Err(items.join("; ")) }
    };
    list.add(
        ALLOWED,
        findings(
            &audit.not_allowed,
            "Scaler, LinearClassifier, Normalizer, CategoryMapper in ai.onnx.ml",
        ),
    );
    list.add(CONTAINED, findings(&audit.outside_the_graph, "everything is inline in the graph"));
    list.add(LIMITS, findings(&audit.oversized, "within limits"));
    list.add(FINITE, findings(&audit.non_finite, "no NaN or infinity"));
    let checked = file.check();
    list.add(
        STRUCTURE,
        checked.as_ref().map(|_| "the shape onnxify writes".to_owned()).map_err(|e| e.to_string()),
    );

    let companion_file = config.companion.clone().unwrap_or_else(|| companion_path(&config.model));
    let companion = read_companion(&companion_file);
    list.add(
        COMPANION,
        companion.as_ref().map_err(Clone::clone).and_then(|json| matches_sha(json, &file)),
    );

    let checked = match checked {
        Ok(checked) => checked,
        Err(_) => {
            list.skip(
                &[METADATA, CONSISTENT, AGREES, RUNS, PROBES],
                "the graph failed the allow-list check",
            );
            return Ok(VerifyReport { model: model_name, items: list.0, data: None });
        }
    };
    let info = &checked.info;
    let required = required_metadata(info.metadata("origin"));
    let missing: Vec<&str> =
        required.iter().copied().filter(|k| info.metadata(k).is_none()).collect();
    list.add(
        METADATA,
        if missing.is_empty() {
            Ok(format!("{} entries", required.len()))
        } else {
            Err(format!("missing {}", missing.join(", ")))
        },
    );
    list.add(CONSISTENT, consistent(&checked));
    list.add(
        AGREES,
        companion.as_ref().map_err(Clone::clone).and_then(|json| agrees(json, &checked)),
    );

    let model = TractModel::load(&checked);
    let runs = model.as_ref().map_err(|e| e.to_string()).and_then(|model| {
        let zeros = Array2::<f64>::zeros((1, info.n_features));
        model
            .predict(zeros.view(), &info.classes, &Progress::hidden().rows("", 0))
            .map_err(|e| e.to_string())?;
        Ok(RUNTIME.to_string())
    });
    let runs_ok = list.add(RUNS, runs);
    match (&model, &companion) {
        (Ok(model), Ok(json)) if runs_ok => list.add(PROBES, probes(json, model, &info.classes)),
        (_, Err(e)) => list.add(PROBES, Err(format!("no recorded probes: {e}"))),
        _ => list.add(PROBES, Err("not checked: the model does not run".into())),
    };

    let data = match (&config.data, model) {
        (Some(data), Ok(model)) => Some(score(config, data, &checked, &model, progress)?),
        _ => None,
    };
    Ok(VerifyReport { model: model_name, items: list.0, data })
}

/// An error's message without the file name the checklist already shows.
fn reason(error: &Error) -> String {
    match error {
        Error::ModelRefused { message, .. } => message.clone(),
        Error::ModelUnreadable { message, .. } => format!("not a readable ONNX model: {message}"),
        other => other.to_string(),
    }
}

fn read_companion(path: &Path) -> std::result::Result<Value, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    let mut text = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("{name} is larger than {MAX_FILE_BYTES} bytes"));
    }
    serde_json::from_slice(&text).map_err(|e| format!("{name} is not JSON: {e}"))
}

fn matches_sha(json: &Value, file: &OnnxFile) -> std::result::Result<String, String> {
    let actual = hex(&Sha256::digest(file.bytes()));
    match json.get("model_sha256").and_then(Value::as_str) {
        Some(recorded) if recorded == actual => Ok(actual),
        Some(recorded) => {
            Err(format!("the file's SHA-256 is {actual}, the companion JSON records {recorded}"))
        }
        None => Err("the companion JSON has no model_sha256".into()),
    }
}

/// The class labels as JSON values, as the provenance record writes them.
fn classes_json(classes: &Classes) -> Value {
    serde_json::to_value(classes).expect("classes serialise")
}

fn consistent(checked: &CheckedModel) -> std::result::Result<String, String> {
    let info = &checked.info;
    let json = |key: &str| info.metadata(key).and_then(|v| serde_json::from_str::<Value>(v).ok());
    let mut problems = Vec::new();
    match info.feature_names() {
        Some(names) => {
            if names.len() != info.n_features {
                problems.push(format!(
                    "{} feature names for {} inputs",
                    names.len(),
                    info.n_features
                ));
            }
        }
        None => problems.push(format!("feature_names does not list {} names", info.n_features)),
    }
    if json("class_labels") != Some(classes_json(&info.classes)) {
        problems.push(format!("class_labels is not the graph's classes {}", info.classes));
    }
    if info.metadata("ir_version") != Some(&info.ir_version.to_string()) {
        problems.push(format!("ir_version is not the file's {}", info.ir_version));
    }
    let recorded_opsets: Option<Vec<(String, i64)>> = json("opset_imports").and_then(|v| {
        v.as_array()?
            .iter()
            .map(|o| Some((o.get("domain")?.as_str()?.to_owned(), o.get("version")?.as_i64()?)))
            .collect()
    });
    let mut recorded_opsets = recorded_opsets.unwrap_or_default();
    recorded_opsets.sort();
    if recorded_opsets != info.opsets {
        problems.push(format!("opset_imports is not the file's {:?}", info.opsets));
    }
    let graph = json("graph");
    let ops = match info.flavor {
        Flavor::Ml => "ml",
        Flavor::Standard => "standard",
    };
    let recorded = |key: &str| graph.as_ref().and_then(|g| g.get(key)).and_then(Value::as_str);
    if recorded("ops") != Some(ops)
        || recorded("input_dtype") != Some(info.input_type.name())
        || recorded("dtype") != Some(info.probability_type.name())
    {
        problems.push(format!(
            "graph does not record the file's {ops} operators with {} input and {} arithmetic",
            info.input_type.name(),
            info.probability_type.name()
        ));
    }
    if problems.is_empty() {
        Ok(format!(
            "{} features, classes {}, IR {}, opsets {:?}",
            info.n_features, info.classes, info.ir_version, info.opsets
        ))
    } else {
        Err(problems.join("; "))
    }
}

fn agrees(json: &Value, checked: &CheckedModel) -> std::result::Result<String, String> {
    let info = &checked.info;
    let parsed = |key: &str| info.metadata(key).and_then(|v| serde_json::from_str::<Value>(v).ok());
    let text = |key: &str| info.metadata(key).map(|v| Value::String(v.to_owned()));
    let mut pairs: Vec<(&str, Option<Value>, Option<&Value>)> = vec![
        ("origin", text("origin"), json.get("origin")),
        ("feature names", parsed("feature_names"), json.get("feature_names")),
        ("class labels", parsed("class_labels"), json.get("class_labels")),
        ("verification", parsed("verification"), json.get("verification")),
    ];
    let checked_items = if info.metadata("origin") == Some("converted") {
        pairs.extend([
            ("source sha256", text("source_sha256"), json.pointer("/source/sha256")),
            ("source file name", text("source_file_name"), json.pointer("/source/file_name")),
            ("scikit-learn version", parsed("sklearn_version"), json.get("sklearn_version")),
            ("conversion date", text("converted_at"), json.get("converted_at")),
        ]);
        "source, features, classes, verification, date"
    } else {
        pairs.extend([
            ("dataset sha256", text("dataset_sha256"), json.pointer("/dataset/sha256")),
            ("dataset file name", text("dataset_file_name"), json.pointer("/dataset/file_name")),
            ("hyperparameters", parsed("hyperparameters"), json.get("hyperparameters")),
            ("metrics", parsed("metrics"), json.get("metrics")),
            ("training date", text("trained_at"), json.get("trained_at")),
        ]);
        "dataset, features, classes, hyperparameters, metrics, verification, date"
    };
    let differ: Vec<&str> =
        pairs.iter().filter(|(_, a, b)| a.as_ref() != *b).map(|(name, _, _)| *name).collect();
    if differ.is_empty() {
        Ok(checked_items.into())
    } else {
        Err(format!("differs in {}", differ.join(", ")))
    }
}

fn probes(
    json: &Value,
    model: &TractModel,
    classes: &Classes,
) -> std::result::Result<String, String> {
    let probes: Probes = serde_json::from_value(
        json.get("probes").cloned().ok_or("the companion JSON records no probes")?,
    )
    .map_err(|e| format!("the probes in the companion JSON are malformed: {e}"))?;
    let rows = probes.inputs.len();
    let width = probes.inputs.first().map_or(0, Vec::len);
    let values: Vec<f64> = probes.inputs.iter().flatten().copied().collect();
    let x = Array2::from_shape_vec((rows, width), values)
        .map_err(|_| "the probe rows have different lengths".to_owned())?;
    let (labels, proba) = model
        .predict(x.view(), classes, &Progress::hidden().rows("", 0))
        .map_err(|e| e.to_string())?;
    if labels.len() != probes.labels.len() || proba.nrows() != probes.probabilities.len() {
        return Err("the number of probe outputs differs from the record".into());
    }
    let mut worst = 0.0f64;
    for (r, (label, recorded)) in labels.iter().zip(&probes.labels).enumerate() {
        let got = label.map_or_else(String::new, |c| classes.name(c as usize));
        if &got != recorded {
            return Err(format!("probe {}: label {got:?}, recorded {recorded:?}", r + 1));
        }
        let recorded = &probes.probabilities[r];
        if recorded.len() != proba.ncols() {
            return Err(format!(
                "probe {}: {} probabilities recorded for {} classes",
                r + 1,
                recorded.len(),
                proba.ncols()
            ));
        }
        for (a, b) in proba.row(r).iter().zip(recorded) {
            let d = (a - b).abs();
            worst = if d.is_nan() { f64::INFINITY } else { worst.max(d) };
        }
    }
    if worst <= PROBE_TOLERANCE {
        Ok(format!(
            "{rows} probes, labels identical, largest probability difference {worst:.1e} (tolerance {PROBE_TOLERANCE:e})"
        ))
    } else {
        Err(format!("largest probability difference {worst:.3e}, above {PROBE_TOLERANCE:e}"))
    }
}

/// Predicts the labelled CSV and scores it.
fn score(
    config: &VerifyConfig,
    data: &Path,
    checked: &CheckedModel,
    model: &TractModel,
    progress: &Progress,
) -> Result<DataScore> {
    let info = &checked.info;
    let csv = records::open(data, config.delimiter)?;
    let target = match config.target.as_deref().or(info.metadata("target")) {
        Some(name) if csv.columns.iter().any(|c| c == name) => name.to_owned(),
        Some(name) if config.target.is_some() => name.to_owned(),
        _ => csv.columns.last().cloned().unwrap_or_default(),
    };
    let plan = plan_columns(info, &csv.name, &csv.columns, None, Some(&target))?;
    let file = csv.name.clone();
    let (mut truth, mut predicted, mut proba) = (Vec::new(), Vec::new(), Vec::new());
    let step = progress.bytes("scoring", csv.n_bytes);
    csv.parse(
        &plan.roles,
        &step,
        |chunk| {
            let rows = chunk.lines.len();
            let x = ndarray::ArrayView2::from_shape((rows, info.n_features), &chunk.values)
                .expect("every row has one value per feature");
            let (labels, p) = model.predict(x, &info.classes, &Progress::hidden().rows("", 0))?;
            let classes: Vec<Option<u32>> =
                chunk.distinct.iter().map(|l| class_of(&info.classes, l)).collect();
            let mut row_truth = Vec::with_capacity(rows);
            for (r, &label) in chunk.labels.iter().enumerate() {
                let class = classes[label as usize].ok_or_else(|| Error::UnknownClass {
                    at: Location::cell(&file, chunk.lines[r], &target),
                    label: String::from_utf8_lossy(&chunk.distinct[label as usize]).into_owned(),
                    classes: info.classes.to_string(),
                })?;
                row_truth.push(class);
            }
            Ok((row_truth, labels, p))
        },
        |(t, l, p)| {
            truth.extend(t);
            predicted.extend(l.into_iter().map(|c| c.unwrap_or(0)));
            proba.extend(p.rows().into_iter().map(|r| r.to_vec()));
            Ok(())
        },
    )?;
    step.finish();
    if truth.is_empty() {
        return Err(Error::NoRows { file });
    }
    let k = info.classes.len();
    let proba = Array2::from_shape_vec((truth.len(), k), proba.into_iter().flatten().collect())
        .expect("one row per label");
    Ok(DataScore {
        file,
        metrics: metrics::evaluate(&truth, &predicted, proba.view(), &info.classes),
    })
}

/// The class a label text names: integers compare as numbers (as in training), strings exactly.
fn class_of(classes: &Classes, label: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(label).ok()?;
    let position = match classes {
        Classes::Ints(values) => {
            let value: i64 = text.trim().parse().ok()?;
            values.iter().position(|c| *c == value)
        }
        Classes::Strings(names) => names.iter().position(|n| n == text),
    };
    position.map(|i| i as u32)
}
