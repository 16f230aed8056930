//! `onnxify scan`: every global a pickle (or each pickle in a zip archive) references, and
//! whether `convert` accepts it; nothing in the file is loaded. For a directory, the files and
//! stages of a saved Spark model.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::{Failure, to_stdout};
use crate::onnx::FileHash;
use crate::pickle::report::escape;
use crate::pickle::{self, Decision, Scanned, report::write_json_ascii};
use crate::spark;

/// What to scan and how to print the report.
#[derive(Debug, Clone)]
pub struct ScanCommand {
    /// The pickle, joblib file or zip archive.
    pub pickle: PathBuf,
    /// Print the report as JSON.
    pub json: bool,
}

/// Scans the file and prints its report; a file that is not accepted is a [`Failure`] (exit 3
/// for a refused one, 2 for an unreadable one) after its report. A directory is read as a
/// saved Spark model.
pub fn run(command: &ScanCommand) -> Result<(), Failure> {
    if std::fs::symlink_metadata(&command.pickle).is_ok_and(|m| m.is_dir()) {
        return scan_spark(command);
    }
    let scanned = pickle::scan_file(&command.pickle)?;
    to_stdout(|out| {
        if command.json {
            write_json_ascii(out, &scanned).map_err(io::Error::from)?;
            writeln!(out)
        } else {
            writeln!(out, "{scanned}")
        }
    })?;
    match scanned {
        _ if scanned.decision() == Decision::Accepted => Ok(()),
        Scanned::Pickle(report) => Err(Failure::PickleRejected(Box::new(report))),
        Scanned::Archive(report) => Err(Failure::ArchiveRejected(Box::new(report))),
    }
}

/// What `scan` (and `convert`) report of a saved Spark model.
#[derive(Debug, Clone, Serialize)]
pub struct SparkReport {
    pub directory: String,
    pub format: &'static str,
    pub spark_version: String,
    pub class: String,
    pub uid: String,
    pub stages: Vec<StageReport>,
    pub files: Vec<FileHash>,
    pub decision: &'static str,
}

/// One stage of a saved Spark model.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub folder: String,
    pub class: String,
    pub uid: String,
    pub description: String,
}

impl SparkReport {
    /// The report of the model saved in `dir`, read.
    pub fn of(dir: &str, scanned: &spark::Scanned) -> SparkReport {
        let saved = &scanned.saved;
        SparkReport {
            directory: dir.to_owned(),
            format: "spark",
            spark_version: saved.metadata.spark_version.clone(),
            class: saved.metadata.class.clone(),
            uid: saved.metadata.uid.clone(),
            stages: saved
                .stages
                .iter()
                .zip(&scanned.stages)
                .map(|(s, stage)| StageReport {
                    folder: s.dir.clone(),
                    class: s.metadata.class.clone(),
                    uid: s.metadata.uid.clone(),
                    description: stage.describe(),
                })
                .collect(),
            files: saved
                .files
                .iter()
                .map(|(path, sha256)| FileHash { path: path.clone(), sha256: sha256.clone() })
                .collect(),
            decision: "accepted",
        }
    }

    /// Writes the report as text for a person.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}: Spark model saved by Spark {} ({}, uid {})",
            escape(&self.directory),
            escape(&self.spark_version),
            escape(&self.class),
            escape(&self.uid)
        )?;
        writeln!(out, "Files read ({}):", self.files.len())?;
        for file in &self.files {
            writeln!(out, "  {}  sha256 {}", escape(&file.path), file.sha256)?;
        }
        writeln!(out, "Stages ({}):", self.stages.len())?;
        for (i, stage) in self.stages.iter().enumerate() {
            let class = stage.class.rsplit('.').next().unwrap_or(&stage.class);
            writeln!(
                out,
                "  {i}: {} {}: {}",
                escape(class),
                escape(&stage.uid),
                escape(&stage.description)
            )?;
        }
        writeln!(
            out,
            "Result: accepted: every stage is one onnxify reads; nothing in the directory was run"
        )
    }
}

/// Reads a saved Spark model's files and stages and prints what it found.
fn scan_spark(command: &ScanCommand) -> Result<(), Failure> {
    let dir = command.pickle.display().to_string();
    let scanned = spark::scan(&command.pickle)
        .map_err(|problem| Failure::SparkRejected { dir: dir.clone(), problem })?;
    let report = SparkReport::of(&dir, &scanned);
    to_stdout(|out| {
        if command.json {
            serde_json::to_writer(&mut *out, &report).map_err(io::Error::from)?;
            return writeln!(out);
        }
        report.write_text(out)
    })?;
    Ok(())
}
