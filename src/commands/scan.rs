//! `onnxify scan`: every global a pickle (or each pickle in a zip archive) references, and
//! whether `convert` accepts it; nothing in the file is loaded.

use std::io;
use std::path::PathBuf;

use super::{Failure, to_stdout};
use crate::pickle::{self, Decision, Scanned, report::write_json_ascii};

/// What to scan and how to print the report.
#[derive(Debug, Clone)]
pub struct ScanCommand {
    /// The pickle, joblib file or zip archive.
    pub pickle: PathBuf,
    /// Print the report as JSON.
    pub json: bool,
}

/// Scans the file and prints its report; a file that is not accepted is a [`Failure`] (exit 3
/// for a refused one, 2 for an unreadable one) after its report.
pub fn run(command: &ScanCommand) -> Result<(), Failure> {
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
