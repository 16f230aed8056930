//! `onnxify convert`: a model fitted elsewhere -> the same verified ONNX artefact as `train`,
//! without running anything the source holds. A file is a scikit-learn pickle or joblib file
//! ([`pickle`]); a directory is a model Spark MLlib saved ([`spark`]).
//!
//! The source is read as data; a refused or unreadable one stops here with its report. There
//! are no training rows, so the written file is verified against the native pipeline rebuilt
//! from the parameters on probe rows made from the scaler's mean and scale, and with `--data`
//! on the rows of a data file too.

mod pickle;
mod spark;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ndarray::{Array2, ArrayView1};
use serde::Serialize;

use super::scan::SparkReport;
use super::summary::{ModelFile, write_graph, write_signature, write_verification};
use super::{Console, Failure, print_summary};
use crate::data::Delimiter;
use crate::data::cell_rows::{CellColumns, read_cells};
use crate::data::parquet_rows::read_parquet_cells;
use crate::export::Exported;
use crate::model::{ColumnPipeline, FittedLogisticRegression};
use crate::onnx::{GraphOptions, Precision};
use crate::pickle::ScanReport;
use crate::progress::Progress;
use crate::proof::compare::Reference;
use crate::proof::probes::probe_cells;
use crate::proof::runtime::Inputs;
use crate::signing::Signer;

/// Probe rows the converted model is verified on.
pub const VERIFICATION_ROWS: usize = 2_000;

/// What to convert, where to, and how.
#[derive(Debug, Clone)]
pub struct ConvertConfig {
    /// The pickle or joblib file, or the directory a Spark model was saved in.
    pub source: PathBuf,
    pub output: PathBuf,
    pub graph: GraphOptions,
    /// Rows to verify the model on besides the probe rows: a CSV, or a Parquet file.
    pub data: Option<DataFile>,
    /// Recorded as the conversion date.
    pub converted_at: SystemTime,
    /// Sign the written model with this key (into `<output>.sig`).
    pub sign: Option<Signer>,
}

/// A data file to verify a converted model on.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub path: PathBuf,
    /// The CSV's delimiter (unused for Parquet).
    pub delimiter: Delimiter,
}

impl DataFile {
    /// Whether the file is Parquet (by its extension), else CSV.
    pub fn is_parquet(&self) -> bool {
        self.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    }
}

/// A whole `convert` command: the conversion and what to print.
#[derive(Debug, Clone)]
pub struct ConvertCommand {
    pub config: ConvertConfig,
    /// Print the summary as JSON.
    pub json: bool,
    /// Print nothing but errors (and the report of a refused file).
    pub quiet: bool,
}

/// Runs the convert command: converts, then prints the summary; a refused pickle's report is
/// printed whole on stderr, as the answer to "why".
pub fn run(command: &ConvertCommand, console: &Console) -> Result<(), Failure> {
    let converted = match convert(&command.config, &console.progress) {
        Ok(converted) => converted,
        Err(Failure::PickleRejected(report)) => {
            eprintln!("{report}");
            return Err(Failure::PickleRejected(report));
        }
        Err(failure) => return Err(failure),
    };
    let summary = ConvertSummary::new(&converted);
    print_summary(
        command.json,
        command.quiet,
        |out| summary.write_json(out),
        |out| summary.write_text(out),
    )
}

/// What a model was converted from, as `scan` reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Source {
    Pickle(Box<ScanReport>),
    Spark(Box<SparkReport>),
}

/// A converted, written and verified model.
#[derive(Debug, Clone)]
pub struct Converted {
    pub source: Source,
    pub feature_names: Vec<String>,
    pub exported: Exported,
}

/// Converts the pickle or saved Spark model at `config.source` to a verified ONNX model at
/// `config.output`.
pub fn convert(config: &ConvertConfig, progress: &Progress) -> Result<Converted, Failure> {
    if std::fs::symlink_metadata(&config.source).is_ok_and(|m| m.is_dir()) {
        spark::convert(config, progress)
    } else {
        pickle::convert(config, progress)
    }
}

/// `model.pkl` (or a Spark model's directory `model/`) -> `model.onnx` in the current
/// directory.
pub fn default_output(source: &Path) -> PathBuf {
    let mut name = source.file_stem().map_or_else(|| "model".into(), |s| s.to_owned());
    name.push(".onnx");
    PathBuf::from(name)
}

/// The facts of a conversion, as printed by `--json`.
#[derive(Debug, Serialize)]
pub struct ConvertSummary<'a> {
    pub onnxify_version: &'static str,
    pub source: &'a Source,
    pub feature_names: &'a [String],
    pub model: ModelFile<'a>,
}

impl<'a> ConvertSummary<'a> {
    pub fn new(converted: &'a Converted) -> Self {
        ConvertSummary {
            onnxify_version: env!("CARGO_PKG_VERSION"),
            source: &converted.source,
            feature_names: &converted.feature_names,
            model: ModelFile::of(&converted.exported),
        }
    }

    /// Writes the summary as pretty JSON.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    /// Writes the summary as text for a person.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        match self.source {
            Source::Pickle(report) => writeln!(out, "{report}")?,
            Source::Spark(report) => report.write_text(out)?,
        }
        writeln!(out)?;
        write_graph(out, self.model.graph, self.model.columns)?;
        write_verification(out, self.model.verification)?;
        writeln!(
            out,
            "Wrote {} ({} bytes, sha256 {}) and its provenance record {}",
            self.model.path, self.model.bytes, self.model.sha256, self.model.companion_json
        )?;
        write_signature(out, self.model.signature.as_ref())
    }
}

/// The rows of `data` with the native pipeline's predictions, to verify the written file on.
fn data_reference(
    data: &DataFile,
    pipeline: &ColumnPipeline,
    progress: &Progress,
) -> Result<Reference, Failure> {
    let names = pipeline.columns();
    let integer = names.integer_flags();
    let columns =
        CellColumns { numeric: &names.numeric, categorical: &names.categorical, integer: &integer };
    let rows = if data.is_parquet() {
        read_parquet_cells(&data.path, columns)?
    } else {
        read_cells(&data.path, data.delimiter, columns, progress)?
    };
    let (labels, proba) = pipeline.predict_with_proba(&rows.cells);
    Ok(Reference {
        inputs: Inputs::Cells(rows.cells),
        proba,
        labels,
        lines: rows.lines,
        rows_used: if data.is_parquet() { "parquet" } else { "data" },
        decision: pipeline.classifier().decision().clone(),
    })
}

/// Probe rows for a column pipeline, with the native predictions: numbers spread around
/// `center` by `spread`, every category of each text column, missing and unseen texts and
/// missing numbers.
fn table_probes(
    pipeline: &ColumnPipeline,
    (center, spread): (ArrayView1<f64>, ArrayView1<f64>),
) -> Reference {
    let categories: Vec<Vec<String>> = pipeline
        .categories()
        .iter()
        .map(|c| c.iter().map(|c| c.clone().unwrap_or_default()).collect())
        .collect();
    let cells = probe_cells(
        (center, spread),
        (&categories, &pipeline.columns().kinds),
        "",
        VERIFICATION_ROWS,
        Precision::Float64,
    );
    let (labels, proba) = pipeline.predict_with_proba(&cells);
    probe_reference(Inputs::Cells(cells), (labels, proba), pipeline.classifier())
}

/// The probe rows `inputs` and the native predictions on them, as a reference.
fn probe_reference(
    inputs: Inputs,
    (labels, proba): (Vec<u32>, Array2<f64>),
    classifier: &FittedLogisticRegression,
) -> Reference {
    Reference {
        lines: (1..=inputs.len() as u64).collect(),
        inputs,
        proba,
        labels,
        rows_used: "probe",
        decision: classifier.decision().clone(),
    }
}

/// The files the outputs may never replace: the source and the data file.
fn inputs(config: &ConvertConfig) -> Vec<&std::path::Path> {
    let mut inputs = vec![config.source.as_path()];
    inputs.extend(config.data.as_ref().map(|d| d.path.as_path()));
    inputs
}
