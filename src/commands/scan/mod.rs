//! `onnxify scan`: what model files hold, read as data, nothing in them loaded or run. For a
//! pickle (or each pickle in a zip archive), every global it references and whether `convert`
//! accepts it; for an ONNX model, the checks `verify` runs that need no companion; for a
//! directory Spark saved a model in, its files and stages. Given several paths or a directory
//! to walk ([`targets`]), it reports each file and the worst decision, as text, JSON or SARIF
//! ([`sarif`]) for code-scanning services.

pub mod sarif;
pub mod targets;

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::verify::{VerifyReport, check_alone};
use super::{Failure, to_stdout};
use crate::onnx::FileHash;
use crate::pickle::report::escape;
use crate::pickle::{self, Decision, Scanned, report::write_json_ascii};
use crate::spark;
use sarif::{Issue, Rule};
use targets::{Kind, Target};

/// How `scan` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Text,
    Json,
    /// SARIF 2.1.0, as code-scanning services read it.
    Sarif,
}

/// What to scan and how to print the report.
#[derive(Debug, Clone)]
pub struct ScanCommand {
    /// Files and directories.
    pub paths: Vec<PathBuf>,
    pub format: ScanFormat,
}

/// Scans the paths and prints the reports; a refused file makes the command a [`Failure`] with
/// exit code 3, else an unreadable one with exit code 2. One file (or Spark model directory)
/// named alone is reported whole, as `convert` would see it.
pub fn run(command: &ScanCommand) -> Result<(), Failure> {
    let found = targets::find(&command.paths)?;
    if let ([only], [_], false) =
        (&found.targets[..], &command.paths[..], command.format == ScanFormat::Sarif)
        && only.given
    {
        return scan_one(only, command.format == ScanFormat::Json);
    }
    let mut files = Vec::new();
    let mut skipped = found.skipped;
    for target in &found.targets {
        match scan_target(target)? {
            Some(file) => files.push(file),
            None => skipped += 1,
        }
    }
    let summary = Summary::of(&files, skipped, &found.links);
    to_stdout(|out| match command.format {
        ScanFormat::Sarif => sarif::write(out, &files),
        ScanFormat::Json => {
            let links: Vec<String> = found.links.iter().map(|l| l.display().to_string()).collect();
            let json = serde_json::json!({
                "files": files,
                "skipped": skipped,
                "links_not_followed": links,
                "decision": summary.decision,
            });
            write_json_ascii(out, &json).map_err(io::Error::from)?;
            writeln!(out)
        }
        ScanFormat::Text => {
            for file in &files {
                let reason = file.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                let decision = format!("{:?}", file.decision).to_lowercase();
                writeln!(out, "{decision:<10}  {} ({}){reason}", escape(&file.path), file.kind)?;
            }
            for link in &found.links {
                writeln!(
                    out,
                    "{:<10}  {} (a symbolic link, not followed)",
                    "skipped",
                    escape(&link.display().to_string())
                )?;
            }
            writeln!(out, "{}", summary.line)
        }
    })?;
    match summary.failure(&files) {
        None => Ok(()),
        Some(failure) => Err(failure),
    }
}

/// The decision over every file, the files refused and unreadable, and the line that says it.
struct Summary {
    decision: Decision,
    refused: usize,
    unreadable: usize,
    line: String,
}

impl Summary {
    fn of(files: &[FileScan], skipped: usize, links: &[PathBuf]) -> Summary {
        let count = |d: Decision| files.iter().filter(|f| f.decision == d).count();
        let (refused, unreadable) = (count(Decision::Refused), count(Decision::Unreadable));
        let decision = if refused > 0 {
            Decision::Refused
        } else if unreadable > 0 {
            Decision::Unreadable
        } else {
            Decision::Accepted
        };
        let line = format!(
            "{} model files scanned: {} accepted, {refused} refused, {unreadable} unreadable; {skipped} other files and {} symbolic links skipped; nothing in them was loaded or run",
            files.len(),
            count(Decision::Accepted),
            links.len()
        );
        Summary { decision, refused, unreadable, line }
    }

    /// The command's failure unless every file was accepted: its error line names the first
    /// file of the worst decision.
    fn failure(&self, files: &[FileScan]) -> Option<Failure> {
        let first = files
            .iter()
            .find(|f| f.decision == self.decision && f.decision != Decision::Accepted)?;
        Some(Failure::ScanRejected {
            refused: self.decision == Decision::Refused,
            summary: format!(
                "{} of {} model files refused, {} unreadable; the first: {}: {}",
                self.refused,
                files.len(),
                self.unreadable,
                escape(&first.path),
                first.reason.as_deref().unwrap_or_default()
            ),
        })
    }
}

/// One file's scan: its decision, why, the issues a code-scanning service shows, and the
/// whole report.
#[derive(Debug, Clone, Serialize)]
pub struct FileScan {
    pub path: String,
    /// "pickle", "archive", "onnx" or "spark".
    pub kind: &'static str,
    pub decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip)]
    pub issues: Vec<Issue>,
    pub report: serde_json::Value,
}

/// Scans one target; `None` for a zip archive found in a walk that holds no pickle (a wheel, a
/// jar), which is not a model file.
fn scan_target(target: &Target) -> Result<Option<FileScan>, Failure> {
    let path = target.path.display().to_string();
    Ok(Some(match target.kind {
        Kind::Pickle => match pickle::scan_file(&target.path) {
            Err(error) if !target.given => {
                // Found in a walk: a file too large (or gone) is one the scan could not read.
                let large =
                    std::fs::metadata(&target.path).is_ok_and(|m| m.len() > pickle::MAX_FILE_BYTES);
                let rule = if large { Rule::OverLimit } else { Rule::Corrupt };
                let message = error.to_string();
                FileScan {
                    issues: vec![Issue::new(rule, message.clone(), None)],
                    reason: Some(message.clone()),
                    decision: Decision::Unreadable,
                    kind: "pickle",
                    report: serde_json::json!({"file": path, "problem": message}),
                    path,
                }
            }
            Err(error) => return Err(error.into()),
            Ok(Scanned::Pickle(report)) if !target.given && not_a_pickle(&report) => {
                return Ok(None);
            }
            Ok(Scanned::Pickle(report)) => FileScan {
                issues: sarif::pickle_issues(&report, true),
                reason: (report.decision != Decision::Accepted).then(|| report.reason()),
                decision: report.decision,
                kind: "pickle",
                report: to_json(&report),
                path,
            },
            Ok(Scanned::Archive(report)) => {
                if !target.given && report.members.is_empty() && report.problems.is_empty() {
                    return Ok(None);
                }
                FileScan {
                    issues: sarif::archive_issues(&report),
                    reason: (report.decision != Decision::Accepted).then(|| report.reason()),
                    decision: report.decision,
                    kind: "archive",
                    report: to_json(&report),
                    path,
                }
            }
        },
        Kind::Onnx => {
            let report = check_alone(&target.path)?;
            let (decision, issues) = sarif::onnx_issues(&report);
            let reason = report
                .items
                .iter()
                .find(|i| !i.passed)
                .map(|i| format!("{}: {}", i.check, i.detail));
            FileScan { path, kind: "onnx", decision, reason, issues, report: to_json(&report) }
        }
        Kind::Spark => match spark::scan(&target.path) {
            Ok(scanned) => {
                let report = SparkReport::of(&path, &scanned);
                FileScan {
                    path,
                    kind: "spark",
                    decision: Decision::Accepted,
                    reason: None,
                    issues: Vec::new(),
                    report: to_json(&report),
                }
            }
            Err(problem) => {
                let decision =
                    if problem.refused { Decision::Refused } else { Decision::Unreadable };
                let rule = if problem.refused { Rule::UnsupportedClass } else { Rule::Corrupt };
                let issues = vec![Issue::new(rule, problem.to_string(), None)];
                let report = serde_json::json!({"directory": path, "format": "spark", "problem": problem.to_string()});
                FileScan {
                    path,
                    kind: "spark",
                    decision,
                    reason: Some(problem.to_string()),
                    issues,
                    report,
                }
            }
        },
    }))
}

/// Whether a file found in a walk cannot be a pickle: unreadable from the start with nothing a
/// loader could call (no global anywhere in it, no refusal) and no limit reached, so that
/// `pickle.load` would raise before doing anything (a CSV, a text file, a corrupt download).
/// Everything else is reported.
fn not_a_pickle(report: &pickle::ScanReport) -> bool {
    use crate::pickle::machine::Severity;
    report.decision == Decision::Unreadable
        && report.globals.is_empty()
        && report.model.is_none()
        && report.findings.iter().all(|f| f.severity == Severity::Malformed && !f.at_limit)
}

/// A report as JSON, for the JSON output.
fn to_json<T: Serialize>(report: &T) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or(serde_json::Value::Null)
}

/// One file or Spark model named alone: its whole report, and its decision as the exit code.
fn scan_one(target: &Target, json: bool) -> Result<(), Failure> {
    match target.kind {
        Kind::Spark => scan_spark(target, json),
        Kind::Onnx => {
            let report = check_alone(&target.path)?;
            to_stdout(|out| if json { report.write_json(out) } else { write_onnx(out, &report) })?;
            let (decision, _) = sarif::onnx_issues(&report);
            match report.items.iter().find(|i| !i.passed) {
                None => Ok(()),
                Some(first) => Err(Failure::ScanRejected {
                    refused: decision == Decision::Refused,
                    summary: format!(
                        "{}: {}: {}",
                        escape(&report.model),
                        first.check,
                        first.detail
                    ),
                }),
            }
        }
        Kind::Pickle => {
            let scanned = pickle::scan_file(&target.path)?;
            to_stdout(|out| {
                if json {
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
    }
}

/// An ONNX model's checks as text.
fn write_onnx(out: &mut dyn Write, report: &VerifyReport) -> io::Result<()> {
    writeln!(
        out,
        "Scanning {} (an ONNX model; the checks that need no companion JSON)",
        escape(&report.model)
    )?;
    for item in &report.items {
        let mark = if item.passed { "PASS" } else { "FAIL" };
        writeln!(out, "  [{mark}] {}: {}", item.check, escape(&item.detail))?;
    }
    let failed = report.items.iter().filter(|i| !i.passed).count();
    if failed == 0 {
        writeln!(
            out,
            "Result: accepted: all {} checks passed; nothing in the file was run but the graph",
            report.items.len()
        )
    } else {
        writeln!(out, "Result: {failed} of {} checks FAILED", report.items.len())
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
fn scan_spark(target: &Target, json: bool) -> Result<(), Failure> {
    let dir = target.path.display().to_string();
    let scanned = spark::scan(&target.path)
        .map_err(|problem| Failure::SparkRejected { dir: dir.clone(), problem })?;
    let report = SparkReport::of(&dir, &scanned);
    to_stdout(|out| {
        if json {
            serde_json::to_writer(&mut *out, &report).map_err(io::Error::from)?;
            return writeln!(out);
        }
        report.write_text(out)
    })?;
    Ok(())
}
