//! The library's error type. Every message names the file and, where there is one, the line
//! (as an editor numbers it) and the column, so a user can go straight to the bad cell.

use std::fmt;
use std::path::Path;

/// Where in an input file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as the user gave it.
    pub file: String,
    /// 1-based line number of the record, counting `\n` as editors do.
    pub line: u64,
    /// The column's header name, when the problem is in one cell.
    pub column: Option<String>,
}

impl Location {
    pub(crate) fn line(file: &str, line: u64) -> Location {
        Location { file: file.to_owned(), line, column: None }
    }

    pub(crate) fn cell(file: &str, line: u64, column: &str) -> Location {
        Location { file: file.to_owned(), line, column: Some(column.to_owned()) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {}", self.file, self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column {column:?}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in onnxify's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}: the file is empty; expected a header row followed by data rows")]
    EmptyFile { file: String },

    #[error("{file}: the file has a header row but no data rows")]
    NoRows { file: String },

    #[error("{at}: column {index} of the header has an empty name; every column needs a name")]
    EmptyColumnName { at: Location, index: usize },

    #[error("{at}: the column name {name:?} appears more than once (columns {first} and {second})")]
    DuplicateColumn { at: Location, name: String, first: usize, second: usize },

    #[error("{file}: there is no column named {name:?}; the columns are {columns}")]
    UnknownTarget { file: String, name: String, columns: String },

    #[error("{file}: there is no column named {name:?} ({why}); the columns are {columns}")]
    MissingColumn { file: String, name: String, why: String, columns: String },

    #[error(
        "{file}: the model records no feature names, so it takes its {expected} features from the \
         columns in order, but the file has {found} such columns"
    )]
    ColumnCount { file: String, found: usize, expected: usize },

    #[error("{file}: there are no feature columns besides the target column {target:?}")]
    NoFeatures { file: String, target: String },

    /// A short row's location names the first column it has no value for; a long row's `beyond`
    /// names the header's last column.
    #[error("{at}: the row has {found} fields but the header has {expected}{}",
        beyond.as_ref().map(|last| format!("; field {} is beyond the last column, {last:?}", expected + 1)).unwrap_or_default())]
    FieldCount { at: Location, found: usize, expected: usize, beyond: Option<String> },

    #[error("{at}: {value:?} is not a number")]
    NotANumber { at: Location, value: String },

    #[error("{at}: the cell is empty; missing values are not supported yet")]
    EmptyCell { at: Location },

    #[error("{at}: {value:?} marks a missing value; missing values are not supported yet")]
    MissingValue { at: Location, value: String },

    #[error("{at}: {value:?} is infinite; missing and infinite values are not supported yet")]
    Infinite { at: Location, value: String },

    #[error("{at}: {value:?} is outside the range of a 64-bit float")]
    OutOfRange { at: Location, value: String },

    #[error("{at}: {label:?} is not one of the model's classes {classes}")]
    UnknownClass { at: Location, label: String, classes: String },

    #[error(
        "{at}: {value:?} is beyond the range of a 32-bit float (3.4e38), which the ONNX model's \
         float input cannot carry"
    )]
    OutsideFloat32 { at: Location, value: String },

    #[error("{at}: the label is {bytes} bytes long; labels longer than {limit} bytes are refused")]
    LabelTooLong { at: Location, bytes: usize, limit: usize },

    #[error("{at}: the label contains a NUL byte")]
    NulInLabel { at: Location },

    #[error("{at}: the label is empty; every row needs a class label")]
    EmptyLabel { at: Location },

    #[error("{at}: the text is not valid UTF-8")]
    InvalidUtf8 { at: Location },

    #[error("{at}: a quoted field starts here and is never closed")]
    UnterminatedQuote { at: Location },

    #[error("{at}: the record is longer than {limit} bytes")]
    RecordTooLong { at: Location, limit: usize },

    #[error(
        "{file}: the target column {target:?} has only one class ({class}); a classifier needs at least two"
    )]
    SingleClass { file: String, target: String, class: String },

    #[error(
        "{at}: class {class} has only this row, too few for a stratified split that keeps every \
         class in both the training and the held-out rows (at least 2 needed); use --test-size 0 \
         to train on every row"
    )]
    ClassTooSmall { at: Location, class: String },

    #[error("invalid value for {flag}: {message}")]
    InvalidArgument { flag: &'static str, message: String },

    #[error("{path}: {message}")]
    Output { path: String, message: String },

    #[error("{file}: not a readable ONNX model: {message}")]
    ModelUnreadable { file: String, message: String },

    #[error("{file}: refused: {message}")]
    ModelRefused { file: String, message: String },

    #[error("{file}: not a readable pickle: {message}")]
    PickleUnreadable { file: String, message: String },

    /// A pickle that `convert` will not turn into a model; the report says why.
    #[error(
        "{}: {}: {}; nothing in the file was loaded or executed",
        crate::pickle::report::escape(&.0.file),
        if .0.decision == crate::pickle::Decision::Refused { "refused" } else { "not a readable pickle" },
        .0.reason()
    )]
    PickleRejected(Box<crate::pickle::ScanReport>),

    /// A zip archive whose pickle members `scan` does not accept; the report says why.
    #[error(
        "{}: {}: {}; nothing in the archive was loaded or executed",
        crate::pickle::report::escape(&.0.file),
        if .0.decision == crate::pickle::Decision::Refused { "refused" } else { "not a readable archive of pickles" },
        .0.reason()
    )]
    ArchiveRejected(Box<crate::pickle::ArchiveReport>),

    #[error("{0}")]
    Runtime(String),

    #[error("verification failed: {0}")]
    CheckFailed(String),

    #[error("{0}")]
    VerificationFailed(Box<crate::export::VerificationFailure>),

    /// One column asked to play two roles that exclude each other.
    #[error("{file}: the column {name:?} is {role}, so it cannot also be {other}")]
    ColumnConflict { file: String, name: String, role: String, other: String },
}

impl Error {
    /// The process exit code for this error: 1 when a check of the model failed or the
    /// runtime broke, 2 when the input or the command line is at fault, 3 when a pickle is
    /// refused by the allow-list.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Runtime(_) | Error::VerificationFailed(_) | Error::CheckFailed(_) => 1,
            Error::PickleRejected(report) => report.decision.exit_code(),
            Error::ArchiveRejected(report) => report.decision.exit_code(),
            _ => 2,
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io { path: path.display().to_string(), source }
    }
}

/// The text of a cell for an error message, shortened so that a 16 MiB cell cannot flood the
/// terminal.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    match text.char_indices().nth(MAX_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}... ({} bytes)", &text[..cut], text.len()),
    }
}

/// Shorthand used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
