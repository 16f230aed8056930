//! `onnxify convert`: a fitted scikit-learn pipeline in a pickle or joblib file -> the same
//! verified ONNX artefact as `train`, without ever loading the pickle.
//!
//! The pickle is scanned and its parameters read as data ([`crate::pickle`]); a refused or
//! unreadable file stops here with its report. There are no training rows, so the written file
//! is verified against the native pipeline rebuilt from the parameters on probe rows made from
//! the scaler's mean and scale.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::summary::{ModelFile, write_graph, write_verification};
use super::{Console, Failure, print_summary};
use crate::export::{Artefact, ExportOptions, Exported, export, file_name, rfc3339};
use crate::onnx::{ConversionRecord, GraphOptions, Origin, Precision, SourceRecord};
use crate::pickle::{self, PickledModel, PickledPipeline, ScanReport};
use crate::progress::Progress;
use crate::proof::compare::Reference;
use crate::proof::probes::{probe_cells, probe_inputs};
use crate::proof::runtime::Inputs;

/// Probe rows the converted model is verified on.
pub const VERIFICATION_ROWS: usize = 2_000;

/// What to convert, where to, and how.
#[derive(Debug, Clone)]
pub struct ConvertConfig {
    pub pickle: PathBuf,
    pub output: PathBuf,
    pub graph: GraphOptions,
    /// Recorded as the conversion date.
    pub converted_at: SystemTime,
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

/// A converted, written and verified model.
#[derive(Debug, Clone)]
pub struct Converted {
    pub report: ScanReport,
    pub model: PickledModel,
    pub exported: Exported,
}

/// Converts the pickle at `config.pickle` to a verified ONNX model at `config.output`.
pub fn convert(config: &ConvertConfig, progress: &Progress) -> Result<Converted, Failure> {
    let scan = pickle::scan(&config.pickle)?;
    let Some(model) = scan.model else {
        return Err(Failure::PickleRejected(Box::new(scan.report)));
    };
    let report = scan.report;

    let center = model.probe_center.view();
    let spread = model.probe_spread.view();
    let (inputs, (labels, proba)) = match &model.pipeline {
        PickledPipeline::Plain(pipeline) => {
            let features = probe_inputs(center, spread, VERIFICATION_ROWS, Precision::Float64);
            let predicted = pipeline.predict_with_proba(features.view());
            (Inputs::Matrix(features), predicted)
        }
        PickledPipeline::Table(pipeline) => {
            // Every known category, missing and unseen values, missing numbers.
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
            let predicted = pipeline.predict_with_proba(&cells);
            (Inputs::Cells(cells), predicted)
        }
    };
    let reference = Reference {
        lines: (1..=inputs.len() as u64).collect(),
        inputs,
        proba,
        labels,
        rows_used: "probe",
    };
    let source_name = file_name(&config.pickle);
    let version = model.sklearn_version.as_deref().unwrap_or("version not recorded");
    let artefact = Artefact {
        pipeline: model.pipeline.fitted(),
        feature_names: &model.feature_names,
        reference: &reference,
        origin: Origin::Converted(ConversionRecord {
            source: SourceRecord {
                file_name: source_name.clone(),
                sha256: report.sha256.clone(),
                bytes: report.bytes,
                format: report.format(),
            },
            sklearn_version: model.sklearn_version.clone(),
            estimator: model.estimator.into(),
            feature_names_recorded: model.feature_names_recorded,
            steps: report.model.as_ref().map(|m| m.steps.clone()).unwrap_or_default(),
            search: model.search.clone(),
            converted_at: rfc3339(config.converted_at),
        }),
        summary: format!(
            "{} fitted by scikit-learn ({version}), converted by onnxify {} from {source_name} \
             without loading the pickle.",
            match &model.pipeline {
                PickledPipeline::Table(_) => "ColumnTransformer -> LogisticRegression",
                PickledPipeline::Plain(_) if model.estimator == "Pipeline" => {
                    "scaler -> LogisticRegression"
                }
                PickledPipeline::Plain(_) => "LogisticRegression",
            },
            env!("CARGO_PKG_VERSION"),
        ),
        inputs: vec![config.pickle.as_path()],
    };
    let options = ExportOptions { output: config.output.clone(), graph: config.graph };
    let exported = export(&artefact, &options, progress)?;
    Ok(Converted { report, model, exported })
}

/// `model.pkl` -> `model.onnx` in the current directory.
pub fn default_output(pickle: &Path) -> PathBuf {
    let mut name = pickle.file_stem().map_or_else(|| "model".into(), |s| s.to_owned());
    name.push(".onnx");
    PathBuf::from(name)
}

/// The facts of a conversion, as printed by `--json`.
#[derive(Debug, Serialize)]
pub struct ConvertSummary<'a> {
    pub onnxify_version: &'static str,
    pub source: &'a ScanReport,
    pub feature_names: &'a [String],
    pub model: ModelFile<'a>,
}

impl<'a> ConvertSummary<'a> {
    pub fn new(converted: &'a Converted) -> Self {
        let exported = &converted.exported;
        ConvertSummary {
            onnxify_version: env!("CARGO_PKG_VERSION"),
            source: &converted.report,
            feature_names: &converted.model.feature_names,
            model: ModelFile::of(exported),
        }
    }

    /// Writes the summary as pretty JSON.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    /// Writes the summary as text for a person.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.source)?;
        writeln!(out)?;
        write_graph(out, self.model.graph, self.model.columns)?;
        write_verification(out, self.model.verification)?;
        writeln!(
            out,
            "Wrote {} ({} bytes, sha256 {}) and its provenance record {}",
            self.model.path, self.model.bytes, self.model.sha256, self.model.companion_json
        )
    }
}
