//! `onnxify verify`: the reviewer's checklist for a model file, each line passed or failed.
//!
//! It checks the file on its own (decoding, allow-list, the exact graph onnxify writes, limits,
//! finite numbers), against its companion JSON (SHA-256, metadata), and by running it: it loads
//! in tract, and the probe rows recorded when it was written are exactly those made from its
//! scaler's parameters and reproduce their recorded outputs. With `--data` it also predicts a
//! labelled CSV and reports the metrics against its target column. With `--public-key`, one line
//! per key: its signature is valid for the file's bytes (see [`crate::signing`]).
//!
//! A model file that is missing or is not a regular file is bad input (an error, exit code 2);
//! everything about a file that can be read is a line of the checklist.

mod graph;
mod metadata;
mod probes;
mod score;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::Serialize;

pub use metadata::{COMMON_METADATA, CONVERTED_METADATA, SPARK_METADATA, TRAINED_METADATA};
pub use probes::PROBE_TOLERANCE;

use super::summary::write_metrics;
use super::{Console, Failure, to_stdout};
use crate::data::Delimiter;
use crate::error::{Error, Result};
use crate::export::{Companion, companion_path};
use crate::metrics::Metrics;
use crate::onnx::CheckedModel;
use crate::onnx::load::{self, MAX_FILE_BYTES, OnnxFile};
use crate::onnx::{Origin, Provenance};
use crate::progress::Progress;
use crate::proof::probes::table_probe_cells;
use crate::proof::runtime::{RUNTIME, TractModel};
use crate::signing::{KeyCheck, Pairing, PublicKey, check_keys};
use crate::util::regular_file_size;

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub model: PathBuf,
    /// The companion JSON [default: the model's path with `.json` appended].
    pub companion: Option<PathBuf>,
    /// A labelled CSV to predict and score.
    pub data: Option<LabelledData>,
    /// Public keys whose signatures of the file must hold: one line each.
    pub keys: Vec<PublicKey>,
    /// Which signature file each key is checked against.
    pub signatures: Pairing,
}

/// A labelled CSV to score the model on.
#[derive(Debug, Clone)]
pub struct LabelledData {
    pub path: PathBuf,
    /// The label column [default: the model's recorded target, else the last column].
    pub target: Option<String>,
    pub delimiter: Delimiter,
}

/// A whole `verify` command: the checklist and how to print it.
#[derive(Debug, Clone)]
pub struct VerifyCommand {
    pub config: VerifyConfig,
    /// Print the checklist as JSON.
    pub json: bool,
}

/// Runs the checklist and prints it; a failed line is a [`Failure::CheckFailed`] naming the
/// first one.
pub fn run(command: &VerifyCommand, console: &Console) -> Result<(), Failure> {
    let report = verify(&command.config, &console.progress)?;
    to_stdout(|out| if command.json { report.write_json(out) } else { report.write_text(out) })?;
    match report.items.iter().find(|i| !i.passed) {
        None => Ok(()),
        Some(first) => Err(Failure::CheckFailed(format!(
            "{}: {}: {}",
            report.model, first.check, first.detail
        ))),
    }
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
            write_metrics(out, &title, &score.metrics)?;
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
const SEARCH: &str = "grid search record consistent with the model's hyperparameters";
const RUNS: &str = "loads and runs in tract";
const PROBES: &str = "probe inputs come from the scaler and reproduce their recorded outputs";

/// Runs the checklist. Errors only for problems outside the model's content (a model path that
/// is missing or not a regular file, an unreadable `--data` file); every problem of a model
/// file that can be read is a failed line.
pub fn verify(config: &VerifyConfig, progress: &Progress) -> Result<VerifyReport> {
    let model_name = config.model.display().to_string();
    let mut list = Checklist(Vec::new());
    let path = &config.model;
    regular_file_size(path).map_err(|e| Error::io(path, e))?;
    // A signature is about bytes, so it is checked even on bytes that do not decode (one byte
    // appended), and on exactly the bytes every other line checks.
    let bytes = load::read_bytes(path);
    let signatures =
        bytes.as_ref().ok().map(|bytes| check_keys(path, bytes, &config.keys, &config.signatures));
    let decoded = bytes.and_then(|bytes| load::decode(&model_name, bytes));
    let Some((file, checked)) = decoded_checks(&mut list, decoded, true)? else {
        list.skip(&[COMPANION], "the file is unreadable");
        match &signatures {
            Some(checks) => checks.iter().for_each(|check| signature_line(&mut list, check)),
            None => config.keys.iter().for_each(|key| {
                list.skip(&[&signed_by(key.fingerprint())], "the file is unreadable")
            }),
        }
        list.skip(&[METADATA, CONSISTENT, AGREES, RUNS, PROBES], "the file is unreadable");
        return Ok(VerifyReport { model: model_name, items: list.0, data: None });
    };

    let companion_file = config.companion.clone().unwrap_or_else(|| companion_path(&config.model));
    let companion = Companion::read(&companion_file);
    list.add(
        COMPANION,
        companion
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|companion| metadata::matches_sha(companion, &file)),
    );
    for check in signatures.iter().flatten() {
        signature_line(&mut list, check);
    }

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
    let required = metadata::required_metadata(info.metadata("origin"));
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
    let recorded = Provenance::from_metadata(|key| info.metadata(key));
    list.add(CONSISTENT, metadata::consistent(&recorded, info));
    list.add(AGREES, metadata::agrees(&companion, &recorded));
    if let Ok(Provenance { origin: Origin::Trained(training), .. }) = &recorded
        && let Some(search) = &training.model_selection
    {
        list.add(SEARCH, metadata::search_consistent(search, &training.hyperparameters, info));
    }

    let model = runs(&mut list, &checked, &model_name);
    match (&model, &companion) {
        (Some(model), Ok(companion)) => {
            list.add(PROBES, probes::reproduced(&companion.probes, model, info, &model_name))
        }
        (_, Err(e)) => list.add(PROBES, Err(format!("no recorded probes: {e}"))),
        _ => list.add(PROBES, Err("not checked: the model does not run".into())),
    };

    let data = match (&config.data, model) {
        (Some(data), Some(model)) => Some(score::score(data, &checked, &model, progress)?),
        _ => None,
    };
    Ok(VerifyReport { model: model_name, items: list.0, data })
}

/// The lines of the checklist that need nothing but the model file, for a file found without
/// its companion (`scan`): readable, allow-listed, self-contained, within limits, finite, no
/// room for data, the graph's structure, and that it loads and runs in tract. A file made by
/// another converter passes them as one onnxify made does.
pub fn check_alone(path: &Path) -> Result<VerifyReport> {
    let model_name = path.display().to_string();
    let mut list = Checklist(Vec::new());
    match file_checks(&mut list, path, false)? {
        None => list.skip(&[RUNS], "the file is unreadable"),
        Some((_, Err(_))) => list.skip(&[RUNS], "the graph failed the allow-list check"),
        Some((_, Ok(checked))) => {
            runs(&mut list, &checked, &model_name);
        }
    }
    Ok(VerifyReport { model: model_name, items: list.0, data: None })
}

/// The lines about the file itself, up to its structure (with `written`, also that it is node
/// for node the graph onnxify writes for its recorded flavor); the file and the check's result
/// when it decodes.
fn file_checks(
    list: &mut Checklist,
    path: &Path,
    written: bool,
) -> Result<Option<(OnnxFile, std::result::Result<CheckedModel, Error>)>> {
    regular_file_size(path).map_err(|e| Error::io(path, e))?;
    decoded_checks(list, load::read(path), written)
}

/// [`file_checks`] for a file already read and decoded (or not).
fn decoded_checks(
    list: &mut Checklist,
    decoded: Result<OnnxFile>,
    written: bool,
) -> Result<Option<(OnnxFile, std::result::Result<CheckedModel, Error>)>> {
    let file = match decoded {
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
            let mut rest = vec![ALLOWED, CONTAINED, LIMITS, FINITE, ROOM, STRUCTURE];
            if written {
                rest.insert(1, WRITTEN);
            }
            list.skip(&rest, "the file is unreadable");
            return Ok(None);
        }
    };
    let audit = file.audit();
    let checked = file.check();
    let findings = |items: &[String], ok: &str| {
        if items.is_empty() { Ok(ok.to_owned()) } else { Err(items.join("; ")) }
    };
    let operators_used = match &checked {
        Ok(checked) => graph::operators(&checked.info),
        Err(_) => "every operator, domain and opset is on the allow-list".into(),
    };
    list.add(ALLOWED, findings(&audit.not_allowed, &operators_used));
    if written {
        list.add(
            WRITTEN,
            match &checked {
                Ok(checked) => graph::as_written(&checked.info),
                Err(_) => Err("not checked: the graph failed the allow-list check".into()),
            },
        );
    }
    list.add(CONTAINED, findings(&audit.outside_the_graph, "everything is inline in the graph"));
    list.add(LIMITS, findings(&audit.oversized, "within limits"));
    list.add(FINITE, findings(&audit.non_finite, "no NaN or infinity"));
    list.add(
        ROOM,
        match &checked {
            Ok(checked) => graph::room_for_data(&file, &checked.info),
            Err(_) => Err("not checked: the graph failed the allow-list check".into()),
        },
    );
    list.add(
        STRUCTURE,
        checked.as_ref().map(|_| "the shape onnxify writes".to_owned()).map_err(|e| e.to_string()),
    );
    Ok(Some((file, checked)))
}

/// The line that the model loads in tract and runs (on its probe cells, or a row of zeros);
/// the loaded model if it does.
fn runs(list: &mut Checklist, checked: &CheckedModel, model_name: &str) -> Option<TractModel> {
    let info = &checked.info;
    let model = TractModel::load(checked, model_name);
    let ran = model.as_ref().map_err(|e| runtime_reason(e, model_name)).and_then(|model| {
        let step = Progress::hidden().rows("", 0);
        let ran = match &info.table {
            Some(_) => model.predict_cells(&table_probe_cells(info), &info.classes, &step),
            None => {
                let zeros = Array2::<f64>::zeros((1, info.n_features));
                model.predict(zeros.view(), &info.classes, &step)
            }
        };
        ran.map_err(|e| runtime_reason(&e, model_name))?;
        Ok(RUNTIME.to_string())
    });
    if list.add(RUNS, ran) { model.ok() } else { None }
}

/// The line's name for the signature check of the key with `fingerprint`.
fn signed_by(fingerprint: &str) -> String {
    format!("signed by key {}", &fingerprint[..fingerprint.len().min(16)])
}

/// The line of one key's signature check.
fn signature_line(list: &mut Checklist, check: &KeyCheck) {
    let detail = check.describe();
    list.add(
        &signed_by(&check.fingerprint),
        check.result.as_ref().map(|_| detail.clone()).map_err(|_| detail),
    );
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
pub(super) fn runtime_reason(error: &Error, model: &str) -> String {
    match error {
        Error::Runtime { file, message } if file == model => message.clone(),
        other => other.to_string(),
    }
}
