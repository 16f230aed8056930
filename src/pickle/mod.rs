//! Reading a scikit-learn pickle without executing it.
//!
//! `pickle.load` and `joblib.load` run whatever callables a file names, so a trojaned pipeline
//! loads, runs its payload and then predicts normally. This module never loads anything: it
//! undoes joblib's compression ([`decompress`]), reads the opcodes symbolically into a value
//! tree ([`machine`]) in which globals resolve only against an exact allow-list ([`allow`]),
//! with numpy arrays as data ([`numpy`]), then reads the fitted parameters out of the tree
//! ([`sklearn`]). What it found, and the decision, is a [`ScanReport`].

pub mod allow;
pub mod archive;
pub mod decompress;
pub mod machine;
pub mod numpy;
mod readings;
pub mod report;
pub mod sklearn;

use std::io::Read;
use std::path::Path;

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};
use crate::model::{
    ColumnPipeline, FittedLogisticRegression, FittedPipeline, FittedStandardScaler, Pipeline,
};
use crate::util::sha256_hex;
pub use archive::ArchiveReport;
use decompress::Compression;
use machine::{Finding, Loader, Outcome, Severity};
use readings::Readings;
pub use readings::{Load, LoadedArray, Loads, loads};
pub use report::{Decision, GlobalEntry, ModelSummary, ScanReport};
use sklearn::{Extracted, Problem, ScalerParameters};

/// Largest pickle file read, and largest stream once decompressed (a model's parameters are
/// far smaller; an ONNX model is limited to 64 MiB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;
pub const MAX_STREAM_BYTES: usize = 256 << 20;

/// A scanned pickle: the report and, if it was accepted, the pipeline it holds.
#[derive(Debug, Clone)]
pub struct Scan {
    pub report: ScanReport,
    pub model: Option<PickledModel>,
}

/// A fitted pipeline read from a pickle, ready to export.
#[derive(Debug, Clone)]
pub struct PickledModel {
    pub pipeline: PickledPipeline,
    /// `feature_names_in_`, or `x0, x1, ...` when the pickle records none.
    pub feature_names: Vec<String>,
    pub feature_names_recorded: bool,
    /// "Pipeline" or "LogisticRegression".
    pub estimator: &'static str,
    pub sklearn_version: Option<String>,
    /// The search that chose the model, when the file holds one.
    pub search: Option<crate::onnx::PickledSearch>,
    /// Centre and spread of the rows conversion is verified on: the scaler's `mean_` and
    /// `scale_` where it has them (even when `with_mean`/`with_std` turn their use off); for a
    /// bare LogisticRegression, the point of its decision boundary nearest the origin, spread so
    /// that the scores vary by a few units (see [`boundary_probes`]).
    pub probe_center: Array1<f64>,
    pub probe_spread: Array1<f64>,
}

/// The pipeline a pickle holds, rebuilt natively.
// One value per run: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum PickledPipeline {
    /// Scalers -> LogisticRegression on a numeric matrix (or a bare LogisticRegression).
    Plain(Pipeline),
    /// A ColumnTransformer -> LogisticRegression, as onnxify's column pipeline.
    Table(ColumnPipeline),
}

impl PickledPipeline {
    pub fn fitted(&self) -> FittedPipeline<'_> {
        match self {
            PickledPipeline::Plain(p) => FittedPipeline::Plain(p),
            PickledPipeline::Table(p) => FittedPipeline::Table(p),
        }
    }
}

/// What `onnxify scan` reports on a file: a pickle's report, or a zip archive's with one for
/// each pickle member.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Scanned {
    Pickle(ScanReport),
    Archive(ArchiveReport),
}

impl Scanned {
    pub fn decision(&self) -> Decision {
        match self {
            Scanned::Pickle(report) => report.decision,
            Scanned::Archive(report) => report.decision,
        }
    }
}

impl std::fmt::Display for Scanned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scanned::Pickle(report) => report.fmt(f),
            Scanned::Archive(report) => report.fmt(f),
        }
    }
}

/// Reads and judges the file at `path`, a pickle or a zip archive of pickles.
pub fn scan_file(path: &Path) -> Result<Scanned> {
    let bytes = read(path)?;
    let name = path.display().to_string();
    Ok(if archive::is_zip(&bytes) {
        Scanned::Archive(archive::scan_archive(&name, &bytes))
    } else {
        Scanned::Pickle(scan_bytes(&name, &bytes).report)
    })
}

/// Reads and judges the pickle at `path`. Errors only when the file cannot be read at all;
/// everything about its content is in the report.
pub fn scan(path: &Path) -> Result<Scan> {
    let bytes = read(path)?;
    Ok(scan_bytes(&path.display().to_string(), &bytes))
}

/// Judges pickle `bytes`; `file` names them in the report.
pub fn scan_bytes(file: &str, bytes: &[u8]) -> Scan {
    let mut report = ScanReport {
        file: file.to_owned(),
        bytes: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        compression: Compression::None,
        stream_bytes: 0,
        protocol: None,
        joblib: false,
        opcodes: 0,
        globals: Vec::new(),
        findings: Vec::new(),
        more_findings: 0,
        model: None,
        decision: Decision::Unreadable,
    };
    let readings = match Readings::of(bytes) {
        Ok(readings) => readings,
        Err(message) => {
            let severity = Severity::Malformed;
            report.findings.push(Finding { offset: None, severity, message, at_limit: false });
            report.decide();
            return Scan { report, model: None };
        }
    };
    let joblib = &readings.joblib;
    report.compression = readings.compression;
    report.stream_bytes = readings.unpacked.stream.len();
    report.protocol = joblib.protocol;
    report.opcodes = joblib.opcodes;
    report.joblib = joblib.wrappers;
    report.globals = entries(joblib, None, 0);
    // Why decoding stopped comes first: it explains what reading the stream then found.
    if let Some(message) = &readings.unpacked.error {
        report.findings.push(Finding {
            offset: None,
            severity: Severity::Malformed,
            message: message.clone(),
            at_limit: readings.unpacked.capped,
        });
    }
    if readings.unpacked.members > 1
        && matches!(readings.compression, Compression::Zlib | Compression::Gzip)
    {
        report.findings.push(Finding {
            offset: None,
            severity: Severity::NotAllowed,
            message: format!(
                "the file holds {} {} members one after another; joblib's reader never gets past \
                 the first (it stops responding), and no dump writes more than one",
                readings.unpacked.members, readings.compression
            ),
            at_limit: false,
        });
    }
    report.findings.extend(joblib.findings.iter().cloned());
    report.more_findings = joblib.more_findings;
    for (context, outcome) in readings.plain() {
        add_plain_reading(&mut report, &context, outcome);
    }
    if let Some(at) = readings.unpacked.trailing {
        // Bytes after the compressed data are refused, and read (decompressed, if they are
        // compressed) to list what they reference.
        report.findings.push(Finding {
            offset: None,
            severity: Severity::NotAllowed,
            message: format!(
                "{} bytes follow the compressed data, from file byte {at}; no dump writes them",
                bytes.len() - at
            ),
            at_limit: false,
        });
        list_trailing(&mut report, bytes, at, 0);
    }
    report.decide();

    let mut model = None;
    if report.findings.is_empty() && report.decision != Decision::Refused && joblib.root.is_some() {
        match sklearn::extract(joblib, &readings.unpacked.stream) {
            Ok(extracted) => {
                report.model = Some(summary(&extracted));
                model = Some(pickled_model(extracted));
            }
            Err(Problem::Unsupported(message)) => report.findings.push(Finding {
                offset: None,
                severity: Severity::Unsupported,
                message,
                at_limit: false,
            }),
            Err(Problem::Malformed(message)) => report.findings.push(Finding {
                offset: None,
                severity: Severity::Malformed,
                message,
                at_limit: false,
            }),
        }
        report.decide();
    }
    Scan { report, model }
}

/// The report's entries for what `outcome` references, offsets moved by `shift`.
fn entries(outcome: &Outcome, context: Option<&str>, shift: usize) -> Vec<GlobalEntry> {
    entries_of(outcome.globals.iter(), context, shift)
}

fn entries_of<'a>(
    globals: impl Iterator<Item = &'a machine::GlobalRef>,
    context: Option<&str>,
    shift: usize,
) -> Vec<GlobalEntry> {
    globals
        .map(|g| GlobalEntry {
            module: g.module.clone(),
            name: g.name.clone(),
            offset: g.offset + shift,
            nested: g.nested,
            context: context.map(str::to_owned),
            verdict: g.verdict.clone(),
        })
        .collect()
}

/// Adds what a plain loader's reading finds beyond joblib's: globals it resolves that joblib
/// does not, and what it would call beyond the allow-list's uses. That a plain loader stops on
/// joblib's array bytes is expected, and what it builds from them is never a model, so the
/// rest of what its reading finds is no finding.
fn add_plain_reading(report: &mut ScanReport, context: &str, outcome: &Outcome) {
    // What the walk after the plain loader stopped finds, the plain loader never runs.
    let reached = outcome.globals.iter().filter(|g| g.reached);
    for entry in entries_of(reached, Some(&format!("when read by {context}")), 0) {
        let listed = report
            .globals
            .iter()
            .any(|g| g.offset == entry.offset && g.module == entry.module && g.name == entry.name);
        if !listed {
            report.globals.push(entry);
        }
    }
    for finding in &outcome.calls {
        let known = report
            .findings
            .iter()
            .any(|f| f.offset == finding.offset && f.message.ends_with(&finding.message));
        if !known {
            report.findings.push(Finding {
                message: format!("when read by {context}: {}", finding.message),
                ..finding.clone()
            });
        }
    }
}

/// Streams chained after trailing compressed data that are followed, at most.
const MAX_TRAILING_MEMBERS: usize = 8;

/// Lists what the bytes from `at` on reference: decompressed, if they are compressed data of
/// any kind joblib writes, else read as they are.
fn list_trailing(report: &mut ScanReport, bytes: &[u8], at: usize, depth: usize) {
    let rest = &bytes[at..];
    let compression = decompress::detect(rest).unwrap_or(Compression::None);
    if compression == Compression::None || depth == MAX_TRAILING_MEMBERS {
        let outcome = machine::run(rest, Loader::PicklePy);
        let context = format!("in the bytes after the compressed data, offset from file byte {at}");
        report.globals.extend(entries(&outcome, Some(&context), at));
        return;
    }
    let unpacked = decompress::unpack(compression, rest, MAX_STREAM_BYTES);
    let outcome = machine::run(&unpacked.stream, Loader::PicklePy);
    let context = format!(
        "in the {compression} data from file byte {at}, at offsets in what it decompresses to"
    );
    report.globals.extend(entries(&outcome, Some(&context), 0));
    if let Some(next) = unpacked.trailing {
        list_trailing(report, bytes, at + next, depth + 1);
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
    let too_big = || Error::PickleUnreadable {
        file: name.clone(),
        message: format!(
            "the file is larger than {} MiB, the limit for a pickled model",
            MAX_FILE_BYTES >> 20
        ),
    };
    if !metadata.is_file() {
        return Err(Error::PickleUnreadable { file: name, message: "not a regular file".into() });
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The limit holds even if the file grows while it is read.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

fn summary(extracted: &Extracted) -> ModelSummary {
    ModelSummary {
        estimator: extracted.estimator.into(),
        steps: extracted.steps.iter().map(|(name, class)| format!("{name}: {class}")).collect(),
        n_features: extracted.n_features(),
        feature_names_recorded: extracted.feature_names.is_some(),
        classes: extracted.classes.clone(),
        sklearn_version: extracted.sklearn_version.clone(),
    }
}

/// The pipeline that computes what scikit-learn's `predict_proba` computes for `extracted`:
/// a disabled centring subtracts 0 and a disabled scaling divides by 1.
fn pickled_model(extracted: Extracted) -> PickledModel {
    let feature_names_recorded = extracted.feature_names.is_some();
    let (n_iter, link) = (extracted.n_iter.unwrap_or(0), extracted.link);
    let classifier = |coef, intercept| {
        FittedLogisticRegression::from_parameters(coef, intercept, n_iter).with_link(link)
    };
    let (pipeline, feature_names, (center, spread)) = match extracted.table {
        Some(table) => {
            let feature_names =
                table.columns.numeric.iter().chain(&table.columns.categorical).cloned().collect();
            let n = table.columns.numeric.len();
            let pipeline = ColumnPipeline::from_parts(
                table.columns,
                table.imputer,
                table.scaler,
                table.encoder,
                classifier(extracted.coef, extracted.intercept),
                extracted.classes,
            );
            // Probes around the numeric columns' centres and spreads.
            let probes = (
                pipeline.mean().slice(ndarray::s![..n]).to_owned(),
                pipeline.scale().slice(ndarray::s![..n]).to_owned(),
            );
            (PickledPipeline::Table(pipeline), feature_names, probes)
        }
        None => {
            let n = extracted.coef.ncols();
            let (scaler, probes) = match &extracted.scaler {
                Some(s) => plain_scaler(s, n),
                None => (
                    FittedStandardScaler::from_parameters(Array1::zeros(n), Array1::ones(n)),
                    boundary_probes(extracted.coef.view(), extracted.intercept.view()),
                ),
            };
            let feature_names = extracted
                .feature_names
                .unwrap_or_else(|| (0..n).map(|j| format!("x{j}")).collect());
            let classifier = classifier(extracted.coef, extracted.intercept);
            let pipeline = Pipeline::from_parts(scaler, classifier, extracted.classes);
            (PickledPipeline::Plain(pipeline), feature_names, probes)
        }
    };
    PickledModel {
        pipeline,
        feature_names,
        feature_names_recorded,
        estimator: extracted.estimator,
        sklearn_version: extracted.sklearn_version,
        search: extracted.search,
        probe_center: center,
        probe_spread: spread,
    }
}

/// The scaler of a plain pipeline, and the centre and spread of its probes: its `mean_` and
/// `scale_` where it has them, even when `with_mean` / `with_std` turn their use off.
fn plain_scaler(
    s: &ScalerParameters,
    n: usize,
) -> (FittedStandardScaler, (Array1<f64>, Array1<f64>)) {
    let zeros = || Array1::zeros(n);
    let ones = || Array1::ones(n);
    let mean = s.mean.clone().map(Array1::from);
    let scale = s.scale.clone().map(Array1::from);
    let offset = if s.with_mean { mean.clone().unwrap_or_else(zeros) } else { zeros() };
    let divisor = if s.with_std { scale.clone().unwrap_or_else(ones) } else { ones() };
    (
        FittedStandardScaler::from_parameters(offset, divisor),
        (mean.unwrap_or_else(zeros), scale.unwrap_or_else(ones)),
    )
}

/// Where a model without a scaler is tested: nothing records the scale of its data, but its
/// probabilities only vary near its decision boundary, and a model fitted on large raw values
/// (years, amounts) has its boundary there too, where float32 arithmetic loses most.
///
/// The centre is the point nearest the origin where every class scores alike (the binary score
/// is 0), the least-norm solution of `W x = -b` with `W` and `b` the coefficients and intercepts
/// less their mean over classes, found by conjugate gradients on the normal equations (from 0,
/// they stay in the row space, so they reach the least-norm solution in at most `K` steps).
/// The spread, the same for every feature, moves each score by about one unit per feature's
/// z-unit.
fn boundary_probes(
    coef: ArrayView2<f64>,
    intercept: ArrayView1<f64>,
) -> (Array1<f64>, Array1<f64>) {
    let n = coef.ncols();
    let (w, b) = if coef.nrows() == 1 {
        (coef.to_owned(), intercept.to_owned())
    } else {
        let w_mean = coef.mean_axis(Axis(0)).expect("a model has coefficient rows");
        let b_mean = intercept.mean().unwrap_or(0.0);
        (&coef - &w_mean, intercept.mapv(|v| v - b_mean))
    };
    let largest_norm = w.rows().into_iter().map(|r| r.dot(&r).sqrt()).fold(0.0, f64::max);
    if !(largest_norm > 0.0 && largest_norm.is_finite()) {
        return (Array1::zeros(n), Array1::ones(n));
    }
    // CGLS for min |w x + b|.
    let mut x = Array1::<f64>::zeros(n);
    let mut r = b.mapv(|v| -v);
    let mut s = w.t().dot(&r);
    let mut p = s.clone();
    let mut gamma = s.dot(&s);
    for _ in 0..=w.nrows() {
        if gamma <= f64::EPSILON * f64::EPSILON {
            break;
        }
        let q = w.dot(&p);
        let alpha = gamma / q.dot(&q);
        if !alpha.is_finite() {
            break;
        }
        x.scaled_add(alpha, &p);
        r.scaled_add(-alpha, &q);
        s = w.t().dot(&r);
        let next = s.dot(&s);
        p = &s + &(p * (next / gamma));
        gamma = next;
    }
    if x.iter().any(|v| !v.is_finite()) {
        x.fill(0.0);
    }
    (x, Array1::from_elem(n, 1.0 / largest_norm))
}

#[cfg(test)]
mod tests {
    use ndarray::{arr1, arr2};

    use super::machine::fixtures::wrapper;
    use super::*;

    #[test]
    fn a_global_past_where_pickle_load_stops_is_not_listed_as_one_it_runs() {
        // Without padding (alignment None) the array's bytes follow the wrapper: joblib reads
        // them as two numbers; pickle.load stops at their first byte, which is no opcode, so
        // the GLOBAL the bytes spell after it never runs (though opcodes from there on run to
        // the end, where the walk after a stop looks for what a loader could reach).
        let data = wrapper(&[2], "f8", "C", false, b"\x00cos\nsystem\nNNNN");
        let report = scan_bytes("array.joblib", &data).report;
        assert!(report.globals.iter().all(|g| g.name != "system"), "{report}");
        // The same bytes first in the array run under pickle.load.
        let data = wrapper(&[2], "f8", "C", false, b"cos\nsystem\n\x00\x00\x00\x00\x00");
        let report = scan_bytes("array.joblib", &data).report;
        let system = report.globals.iter().find(|g| g.name == "system");
        let system = system.unwrap_or_else(|| panic!("{report}"));
        assert_eq!(system.context.as_deref(), Some("when read by pickle.load"), "{report}");
        assert_eq!(report.decision, Decision::Refused);
    }

    #[test]
    fn a_binary_model_is_probed_at_its_decision_boundary() {
        let (center, spread) =
            boundary_probes(arr2(&[[8.0, 0.0]]).view(), arr1(&[-16000.0]).view());
        assert!((center[0] - 2000.0).abs() < 1e-9 && center[1].abs() < 1e-9, "{center}");
        assert_eq!(spread, arr1(&[0.125, 0.125]));
    }

    #[test]
    fn a_multiclass_model_is_probed_where_its_classes_score_alike() {
        let coef = arr2(&[[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.0, -2.0, 1.0]]);
        let intercept = arr1(&[5.0, -1.0, 2.0]);
        let (center, _) = boundary_probes(coef.view(), intercept.view());
        let scores = coef.dot(&center) + &intercept;
        assert!(scores.iter().all(|s| (s - scores[0]).abs() < 1e-9), "{scores}");
    }

    #[test]
    fn a_model_without_weights_is_probed_around_the_origin() {
        let (center, spread) = boundary_probes(arr2(&[[0.0, 0.0]]).view(), arr1(&[1.0]).view());
        assert_eq!((center, spread), (arr1(&[0.0, 0.0]), arr1(&[1.0, 1.0])));
    }
}
