//! The subcommands, one module each, on top of the library's layers: [`train`], [`predict`],
//! [`inspect`], [`verify`], [`convert`], [`scan`], [`sign`] and [`keygen`]. No command imports another; what two
//! of them share lives a layer down (or, for what they print alike, in [`summary`]).
//!
//! A command either succeeds or ends in a [`Failure`], which owns the exit codes: a library
//! [`Error`], or an outcome that is the command's answer (a refused pickle and its report, a
//! model whose predictions disagree, a checklist with a failed line).

pub mod convert;
pub mod inspect;
pub mod keygen;
pub mod predict;
pub mod scan;
pub mod sign;
pub mod summary;
pub mod train;
pub mod verify;

use std::io::{self, Write};

use crate::error::{Error, Parameter};
use crate::export::{NotWritten, VerificationFailure};
use crate::pickle::report::escape;
use crate::pickle::{ArchiveReport, Decision, ScanReport};
use crate::progress::Progress;
use crate::spark::SparkProblem;

/// What the caller gives every command: how to show progress, and how to name a setting in a
/// message (the command line names its flags; a library caller may pass [`Parameter::name`]).
#[derive(Clone)]
pub struct Console {
    pub progress: Progress,
    pub naming: fn(Parameter) -> &'static str,
}

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad input, a bad setting, or I/O; or the runtime broke.
    #[error(transparent)]
    Error(#[from] Error),

    /// A pickle that `convert` or `scan` does not accept; the report says why.
    #[error(
        "{}: {}: {}; nothing in the file was loaded or executed",
        escape(&.0.file),
        if .0.decision == Decision::Refused { "refused" } else { "not a readable pickle" },
        .0.reason()
    )]
    PickleRejected(Box<ScanReport>),

    /// A zip archive whose pickle members `scan` does not accept; the report says why.
    #[error(
        "{}: {}: {}; nothing in the archive was loaded or executed",
        escape(&.0.file),
        if .0.decision == Decision::Refused { "refused" } else { "not a readable archive of pickles" },
        .0.reason()
    )]
    ArchiveRejected(Box<ArchiveReport>),

    /// A saved Spark model that `convert` or `scan` does not accept.
    #[error(
        "{}: {}: {}; nothing in it was run",
        escape(dir),
        if problem.refused { "refused" } else { "not a readable Spark model" },
        problem
    )]
    SparkRejected { dir: String, problem: SparkProblem },

    /// Files `scan` refused (or could not read), summed up.
    #[error("{summary}")]
    ScanRejected { refused: bool, summary: String },

    /// A model whose predictions disagree with the native pipeline's; nothing was written.
    #[error("{0}")]
    Unverified(Box<VerificationFailure>),

    /// A line of `verify`'s checklist failed.
    #[error("verification failed: {0}")]
    CheckFailed(String),

    /// Writing the command's output to stdout failed.
    #[error("writing to stdout")]
    Stdout(#[source] io::Error),
}

impl Failure {
    /// The process exit code: 1 when a check of the model failed or the runtime broke, 2 when
    /// the input or the command line is at fault, 3 when a pickle is refused by the allow-list
    /// or a Spark model holds a stage onnxify does not read.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Error(Error::Runtime { .. })
            | Failure::Unverified(_)
            | Failure::CheckFailed(_)
            | Failure::Stdout(_) => 1,
            Failure::Error(_) => 2,
            Failure::PickleRejected(report) => report.decision.exit_code(),
            Failure::ArchiveRejected(report) => report.decision.exit_code(),
            Failure::SparkRejected { problem, .. } => {
                if problem.refused {
                    3
                } else {
                    2
                }
            }
            Failure::ScanRejected { refused, .. } => {
                if *refused {
                    3
                } else {
                    2
                }
            }
        }
    }

    /// The message with every setting it names spelled by `naming`.
    pub fn message_naming(&self, naming: fn(Parameter) -> &'static str) -> String {
        match self {
            Failure::Error(error) => error.message_naming(naming),
            Failure::Unverified(failure) => failure.message_naming(naming),
            other => other.to_string(),
        }
    }

    /// True if the failure is a write to a closed pipe (`onnxify ... | head`), which is not a
    /// failure of the command.
    pub fn is_broken_pipe(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(error) = cause {
            if error
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            {
                return true;
            }
            cause = error.source();
        }
        false
    }
}

impl From<NotWritten> for Failure {
    fn from(not_written: NotWritten) -> Failure {
        match not_written {
            NotWritten::Error(error) => Failure::Error(error),
            NotWritten::Unverified(failure) => {
                write_worst_rows(&failure.comparison);
                Failure::Unverified(failure)
            }
        }
    }
}

/// Prints the rows where a model disagreed with the native pipeline, worst first.
fn write_worst_rows(comparison: &crate::proof::compare::Comparison) {
    eprintln!("onnxify: rows where the ONNX model and the native model disagree most:");
    let row = comparison.summary.row_word();
    for r in &comparison.worst_rows {
        eprintln!(
            "  {row} {}: native label {} {:?}, ONNX label {} {:?} (difference {:.3e})",
            r.line, r.native_label, r.native_proba, r.onnx_label, r.onnx_proba, r.max_difference
        );
    }
}

/// Writes a command's answer on stdout, flushed; `write` does the writing.
fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write(&mut out).and_then(|()| out.flush()).map_err(Failure::Stdout)
}

/// Prints a run's summary on stdout: as JSON, as text, or (quiet) not at all.
fn print_summary(
    json: bool,
    quiet: bool,
    as_json: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    as_text: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    to_stdout(|out| {
        if json {
            as_json(out)
        } else if !quiet {
            as_text(out)
        } else {
            Ok(())
        }
    })
}
