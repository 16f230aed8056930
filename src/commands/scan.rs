//! `onnxify scan`: every global a pickle (or each pickle in a zip archive) references, and
//! whether `convert` accepts it; nothing in the file is loaded. For a directory, the files and
//! stages of a saved Spark model.

use std::io;
use std::path::PathBuf;

use serde::Serialize;

use super::{Failure, to_stdout};
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

/// What `scan` reports of a saved Spark model.
#[derive(Debug, Serialize)]
struct SparkReport<'a> {
    directory: String,
    format: &'static str,
    spark_version: &'a str,
    class: &'a str,
    uid: &'a str,
    stages: Vec<StageReport<'a>>,
    files: Vec<FileReport<'a>>,
    decision: &'static str,
}

#[derive(Debug, Serialize)]
struct StageReport<'a> {
    folder: &'a str,
    class: &'a str,
    uid: &'a str,
    description: String,
}

#[derive(Debug, Serialize)]
struct FileReport<'a> {
    path: &'a str,
    sha256: &'a str,
}

/// Reads a saved Spark model's files and stages and prints what it found.
fn scan_spark(command: &ScanCommand) -> Result<(), Failure> {
    let dir = command.pickle.display().to_string();
    let scanned = spark::scan(&command.pickle)
        .map_err(|problem| Failure::SparkRejected { dir: dir.clone(), problem })?;
    let saved = &scanned.saved;
    let report = SparkReport {
        directory: dir.clone(),
        format: "spark",
        spark_version: &saved.metadata.spark_version,
        class: &saved.metadata.class,
        uid: &saved.metadata.uid,
        stages: saved
            .stages
            .iter()
            .zip(&scanned.stages)
            .map(|(s, stage)| StageReport {
                folder: &s.dir,
                class: &s.metadata.class,
                uid: &s.metadata.uid,
                description: stage.describe(),
            })
            .collect(),
        files: saved.files.iter().map(|(path, sha256)| FileReport { path, sha256 }).collect(),
        decision: "accepted",
    };
    to_stdout(|out| {
        if command.json {
            serde_json::to_writer(&mut *out, &report).map_err(io::Error::from)?;
            return writeln!(out);
        }
        writeln!(
            out,
            "{dir}: Spark model saved by Spark {} ({}, uid {})",
            report.spark_version, report.class, report.uid
        )?;
        writeln!(out, "Files read ({}):", report.files.len())?;
        for file in &report.files {
            writeln!(out, "  {}  sha256 {}", escape(file.path), file.sha256)?;
        }
        writeln!(out, "Stages ({}):", report.stages.len())?;
        for (i, stage) in report.stages.iter().enumerate() {
            let class = stage.class.rsplit('.').next().unwrap_or(stage.class);
            writeln!(out, "  {i}: {class} {}: {}", escape(stage.uid), escape(&stage.description))?;
        }
        writeln!(
            out,
            "Result: accepted: every stage is one onnxify reads; nothing in the directory was run"
        )
    })?;
    Ok(())
}
