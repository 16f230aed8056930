//! `onnxify verify`: the reviewer's checklist for a model file, each line passed or failed.
//!
//! It checks the file on its own (decoding, allow-list, the exact graph onnxify writes, limits,
//! finite numbers), against its companion JSON (SHA-256, metadata), and by running it: it loads
//! in tract, and the probe rows recorded when it was written are exactly those made from its
//! scaler's parameters and reproduce their recorded outputs. With `--data` it also predicts a
//! labelled CSV and reports the metrics against its target column.
//!
//! A model file that is missing or is not a regular file is bad input (an error, exit code 2);
//! everything about a file that can be read is a line of the checklist.

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
use crate::model::{FittedLogisticRegression, FittedStandardScaler, Pipeline};
use crate::onnx::load::{self, CheckedModel, Flavor, MAX_FILE_BYTES, ModelInfo, OnnxFile};
use crate::onnx::{
    self, GraphOptions, GraphSpec, Ops, Precision, SUPPORTED_OPSETS, TEXT_ALLOWANCE, model_bytes,
};
use crate::predict::plan_columns;
use crate::probe::{self, Probes, RECORDED_ROWS};
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
const WRITTEN: &str = "exactly the operators and opsets onnxify writes for the recorded flavor";
const CONTAINED: &str = "no external data, subgraphs or functions";
const LIMITS: &str = "tensors and attributes within size limits";
const FINITE: &str = "all floats finite";
const ROOM: &str = "no room for training data besides the fitted parameters";
const STRUCTURE: &str = "graph structure";
const COMPANION: &str = "SHA-256 matches the companion JSON";
const METADATA: &str = "required metadata present";
const CONSISTENT: &str = "metadata consistent with the graph";
const AGREES: &str = "metadata agrees with the companion JSON";
const RUNS: &str = "loads and runs in tract";
const PROBES: &str = "probe inputs come from the scaler and reproduce their recorded outputs";

/// The same account `inspect` gives: text within the allowance beyond the model's names, and
/// nothing in fields the schema does not declare.
fn room_for_data(file: &OnnxFile, info: &ModelInfo) -> std::result::Result<String, String> {
    let room = onnx::room(file.layout(), Some(info));
    if room.is_small() {
        Ok(format!(
            "{} bytes of text, within the {} bytes the names and {TEXT_ALLOWANCE} more allow; no undeclared fields",
            room.text, room.names
        ))
    } else {
        Err(format!("{} bytes could hold data: {}", room.bytes(), room.places.join("; ")))
    }
}

/// Runs the checklist. Errors only for problems outside the model's content (a model path that
/// is missing or not a regular file, an unreadable `--data` file); every problem of a model
/// file that can be read is a failed line.
pub fn verify(config: &VerifyConfig, progress: &Progress) -> Result<VerifyReport> {
    let model_name = config.model.display().to_string();
    regular_file_size(&config.model).map_err(|e| Error::io(&config.model, e))?;
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
        Err(e @ Error::Io { .. }) => return Err(e),
        Err(e) => {
            list.add(READABLE, Err(reason(&e)));
            let rest = [
                ALLOWED, WRITTEN, CONTAINED, LIMITS, FINITE, ROOM, STRUCTURE, COMPANION, METADATA,
                CONSISTENT, AGREES, RUNS, PROBES,
            ];
            list.skip(&rest, "the file is unreadable");
            return Ok(VerifyReport { model: model_name, items: list.0, data: None });
        }
    };
    let audit = file.audit();
    let checked = file.check();
    let findings = |items: &[String], ok: &str| {
        if items.is_empty() { Ok(ok.to_owned()) } else { Err(items.join("; ")) }
    };
    let operators_used = match &checked {
        Ok(checked) => operators(&checked.info),
        Err(_) => "every operator, domain and opset is on the allow-list".into(),
    };
    list.add(ALLOWED, findings(&audit.not_allowed, &operators_used));
    list.add(
        WRITTEN,
        match &checked {
            Ok(checked) => as_written(&checked.info),
            Err(_) => Err("not checked: the graph failed the allow-list check".into()),
        },
    );
    list.add(CONTAINED, findings(&audit.outside_the_graph, "everything is inline in the graph"));
    list.add(LIMITS, findings(&audit.oversized, "within limits"));
    list.add(FINITE, findings(&audit.non_finite, "no NaN or infinity"));
    list.add(
        ROOM,
        match &checked {
            Ok(checked) => room_for_data(&file, &checked.info),
            Err(_) => Err("not checked: the graph failed the allow-list check".into()),
        },
    );
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

    let model = TractModel::load(&checked, &model_name);
    let runs = model.as_ref().map_err(|e| runtime_reason(e, &model_name)).and_then(|model| {
        let zeros = Array2::<f64>::zeros((1, info.n_features));
        model
            .predict(zeros.view(), &info.classes, &Progress::hidden().rows("", 0))
            .map_err(|e| runtime_reason(&e, &model_name))?;
        Ok(RUNTIME.to_string())
    });
    let runs_ok = list.add(RUNS, runs);
    match (&model, &companion) {
        (Ok(model), Ok(json)) if runs_ok => {
            list.add(PROBES, probes(json, model, info, &model_name))
        }
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

/// A runtime error's message without the model's name, which the checklist already shows.
fn runtime_reason(error: &Error, model: &str) -> String {
    let message = error.to_string();
    match message.strip_prefix(model).and_then(|rest| rest.strip_prefix(": ")) {
        Some(rest) => rest.to_owned(),
        None => message,
    }
}

/// The size of the regular file at `path`. Its type is looked up before the file is opened,
/// because opening a FIFO blocks until something writes to it.
fn regular_file_size(path: &Path) -> io::Result<u64> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_file() {
        Ok(metadata.len())
    } else {
        Err(io::Error::other("not a regular file"))
    }
}

/// Reads the companion JSON: a regular file, read whole, so bounded by the model file's limit.
fn read_companion(path: &Path) -> std::result::Result<Value, String> {
    let name = path.display();
    let too_large = || format!("{name} is larger than {MAX_FILE_BYTES} bytes");
    let size = regular_file_size(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    if size > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    let mut text = Vec::new();
    // The limit holds even if the file grows while it is read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    serde_json::from_slice(&text).map_err(|e| format!("{name} is not JSON: {e}"))
}

/// The operators of a checked model, each run of one domain with its domain, and its opsets:
/// `Scaler, LinearClassifier (ai.onnx.ml); opsets ai.onnx 17, ai.onnx.ml 1`.
fn operators(info: &ModelInfo) -> String {
    let domain_name = |d: &str| if d.is_empty() { "ai.onnx".to_owned() } else { d.to_owned() };
    let mut runs: Vec<(String, Vec<&str>)> = Vec::new();
    for (_, op, domain) in &info.nodes {
        let domain = domain_name(domain);
        match runs.last_mut() {
            Some((last, ops)) if *last == domain => ops.push(op),
            _ => runs.push((domain, vec![op])),
        }
    }
    let ops: Vec<String> =
        runs.iter().map(|(domain, ops)| format!("{} ({domain})", ops.join(", "))).collect();
    format!("{}; opsets {}", ops.join(", "), opset_list(&info.opsets))
}

fn opset_list(opsets: &[(String, i64)]) -> String {
    opsets.iter().map(|(d, v)| format!("{d} {v}")).collect::<Vec<_>>().join(", ")
}

/// The graph onnxify writes for the flavor the model records (metadata `graph`: operators,
/// input and arithmetic precision) at the model's opset: the file must have exactly its nodes,
/// opset imports and IR version. This is narrower than the allow-list, which also admits what
/// other converters write, for `predict`.
fn as_written(info: &ModelInfo) -> std::result::Result<String, String> {
    let graph: Value = info
        .metadata("graph")
        .and_then(|v| serde_json::from_str(v).ok())
        .ok_or("the model records no graph flavor (metadata \"graph\")")?;
    let field = |key: &str| graph.get(key).and_then(Value::as_str);
    let unknown = |key: &str, expected: &str| {
        let value = field(key).map_or_else(|| "missing".to_owned(), |v| format!("{v:?}"));
        format!("the recorded graph's {key} is {value}, not {expected}")
    };
    let ops = match field("ops") {
        Some("ml") => Ops::Ml,
        Some("standard") => Ops::Standard,
        _ => return Err(unknown("ops", "\"ml\" or \"standard\"")),
    };
    let precision = |key: &str| match field(key) {
        Some("float32") => Ok(Precision::Float32),
        Some("float64") => Ok(Precision::Float64),
        _ => Err(unknown(key, "\"float32\" or \"float64\"")),
    };
    let (input, dtype) = (precision("input_dtype")?, precision("dtype")?);
    let opset = info
        .opsets
        .iter()
        .find(|(domain, _)| domain == "ai.onnx")
        .map(|(_, version)| *version)
        .ok_or("the file imports no ai.onnx operator set")?;
    if !SUPPORTED_OPSETS.contains(&opset) {
        return Err(format!(
            "ai.onnx opset {opset}; onnxify writes {} to {}",
            SUPPORTED_OPSETS.start(),
            SUPPORTED_OPSETS.end()
        ));
    }
    let options = GraphOptions { ops, dtype, input: Some(input), opset }
        .check()
        .map_err(|e| format!("onnxify does not write the recorded flavor ({e})"))?;
    let flavor = match ops {
        Ops::Ml => format!("the ml graph with {} input at opset {opset}", input.name()),
        Ops::Standard => format!(
            "the standard graph in {} with {} input at opset {opset}",
            dtype.name(),
            input.name()
        ),
    };
    let written = written_graph(options, &info.classes)?;
    let nodes = |info: &ModelInfo| -> String {
        let each: Vec<String> = info
            .nodes
            .iter()
            .map(|(name, op, domain)| {
                if domain.is_empty() {
                    format!("{op} {name:?}")
                } else {
                    format!("{domain}.{op} {name:?}")
                }
            })
            .collect();
        each.join(", ")
    };
    let mut problems = Vec::new();
    if info.opsets != written.opsets {
        problems.push(format!(
            "the file imports {}, onnxify imports {}",
            opset_list(&info.opsets),
            opset_list(&written.opsets)
        ));
    }
    if info.nodes != written.nodes {
        problems.push(format!(
            "the file's nodes are {}, onnxify writes {}",
            nodes(info),
            nodes(&written)
        ));
    }
    if info.ir_version != written.ir_version {
        problems.push(format!(
            "the file has IR version {}, onnxify writes {}",
            info.ir_version, written.ir_version
        ));
    }
    if problems.is_empty() {
        Ok(format!("{flavor} (IR version {}), node for node", info.ir_version))
    } else {
        Err(format!("for {flavor}, {}", problems.join("; ")))
    }
}

/// What onnxify writes for `options` and `classes`, read back from a model the writer builds
/// for a pipeline of one feature and those classes: the writer itself is the reference, so
/// this check cannot drift from it. (Which nodes are written depends on the options and on
/// whether the labels are strings, not on the number of features or the fitted values.)
fn written_graph(
    options: GraphOptions,
    classes: &Classes,
) -> std::result::Result<ModelInfo, String> {
    let input = options.input_candidates()[0];
    let rows = if classes.len() == 2 { 1 } else { classes.len() };
    let pipeline = Pipeline::from_parts(
        FittedStandardScaler::from_parameters(ndarray::arr1(&[0.0]), ndarray::arr1(&[1.0])),
        FittedLogisticRegression::from_parameters(
            Array2::zeros((rows, 1)),
            ndarray::Array1::zeros(rows),
            0,
        ),
        classes.clone(),
    );
    let spec = GraphSpec {
        pipeline: &pipeline,
        feature_names: &["x".to_owned()],
        options,
        input,
        doc_string: String::new(),
        metadata: Vec::new(),
    };
    let reference = load::decode("the reference graph", model_bytes(&spec))
        .and_then(|file| file.check())
        .map_err(|e| format!("onnxify cannot write a reference graph for it: {e}"))?;
    Ok(reference.info)
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

/// The recorded probes must be exactly the rows [`probe::recorded_inputs`] makes from this
/// file's scaler parameters (so they can be neither training rows nor left out), and the file
/// must reproduce their recorded outputs.
fn probes(
    json: &Value,
    model: &TractModel,
    info: &ModelInfo,
    model_name: &str,
) -> std::result::Result<String, String> {
    let recorded: Probes = serde_json::from_value(
        json.get("probes").cloned().ok_or("the companion JSON records no probes")?,
    )
    .map_err(|e| format!("the probes in the companion JSON are malformed: {e}"))?;
    let made = probe::record(model, info).map_err(|e| runtime_reason(&e, model_name))?;
    let rows = recorded.inputs.len();
    if rows != RECORDED_ROWS {
        return Err(format!(
            "the companion JSON records {rows} probe rows; onnxify records {RECORDED_ROWS}, made from the scaler's parameters"
        ));
    }
    if recorded.labels.len() != rows || recorded.probabilities.len() != rows {
        return Err(format!(
            "the companion JSON records {} labels and {} probability rows for {rows} probe rows",
            recorded.labels.len(),
            recorded.probabilities.len()
        ));
    }
    let names = info.feature_names();
    let feature =
        |j: usize| names.as_ref().map_or_else(|| (j + 1).to_string(), |n| format!("{:?}", n[j]));
    for (r, (got, want)) in recorded.inputs.iter().zip(&made.inputs).enumerate() {
        if got.len() != want.len() {
            return Err(format!(
                "probe {}: {} input values recorded for {} features",
                r + 1,
                got.len(),
                want.len()
            ));
        }
        if let Some(j) = (0..got.len()).find(|&j| got[j] != want[j]) {
            return Err(format!(
                "probe {}: the recorded input is not the row made from the model's scaler parameters (feature {}: recorded {}, made {})",
                r + 1,
                feature(j),
                got[j],
                want[j]
            ));
        }
    }
    let mut worst = 0.0f64;
    for (r, (got, recorded_label)) in made.labels.iter().zip(&recorded.labels).enumerate() {
        if got != recorded_label {
            return Err(format!("probe {}: label {got:?}, recorded {recorded_label:?}", r + 1));
        }
        let (got, recorded) = (&made.probabilities[r], &recorded.probabilities[r]);
        if recorded.len() != got.len() {
            return Err(format!(
                "probe {}: {} probabilities recorded for {} classes",
                r + 1,
                recorded.len(),
                got.len()
            ));
        }
        for (a, b) in got.iter().zip(recorded) {
            let d = (a - b).abs();
            worst = if d.is_nan() { f64::INFINITY } else { worst.max(d) };
        }
    }
    if worst <= PROBE_TOLERANCE {
        Ok(format!(
            "{rows} probe rows made from the scaler's parameters, as recorded; labels identical, largest probability difference {worst:.1e} (tolerance {PROBE_TOLERANCE:e})"
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

/// The class a label text names, by the rules training used (see [`Classes::index_of`]).
fn class_of(classes: &Classes, label: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(label).ok()?;
    classes.index_of(text).map(|i| i as u32)
}
