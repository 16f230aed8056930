//! The library's error type: plain data about inputs, settings and I/O. Every message names the
//! file and, where there is one, the line (as an editor numbers it) and the column, so a user can
//! go straight to the bad cell; a bad setting is named as the library names it ([`Parameter`]),
//! which the command line turns into its flag. What a command makes of an error (its exit code)
//! is decided a layer up, in [`crate::commands::Failure`].

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

    #[error(
        "{at}: the column name {name:?} appears more than once (columns {first} and {second}); \
         rename one of them in the header"
    )]
    DuplicateColumn { at: Location, name: String, first: usize, second: usize },

    #[error("{file}: there is no column named {name:?}; the columns are {columns}")]
    UnknownTarget { file: String, name: String, columns: String },

    /// `why` may name a setting as `{key}` (see [`Parameter::key`]).
    #[error("{}", missing_column(file, name, why, columns, Parameter::name))]
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
        beyond.as_ref().map(|last| format!("; field {} is beyond the last column, {last:?} (a field holding the delimiter must be quoted)", expected + 1)).unwrap_or_default())]
    FieldCount { at: Location, found: usize, expected: usize, beyond: Option<String> },

    #[error("{at}: {value:?} is not a number{}", decimal_comma_hint(value))]
    NotANumber { at: Location, value: String },

    #[error(
        "{at}: {value:?} is not a whole number, but the model reads this column as integer \
         categories (an INT64 input)"
    )]
    NotAnInteger { at: Location, value: String },

    #[error(
        "{at}: the cell is missing, but the model reads this column as integer categories (an \
         INT64 input, which has no missing value)"
    )]
    MissingInteger { at: Location },

    #[error(
        "{at}: the cell is empty, but this model takes a number in every cell (it was trained \
         on numbers without a missing value, so it has no imputer)"
    )]
    EmptyCell { at: Location },

    #[error(
        "{at}: {value:?} marks a missing value, but this model takes a number in every cell (it \
         was trained on numbers without a missing value, so it has no imputer)"
    )]
    MissingValue { at: Location, value: String },

    #[error("{at}: {value:?} is infinite; only finite numbers are accepted")]
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

    #[error(
        "{at}: the label is empty; every row needs a class label: fill it in or remove the row"
    )]
    EmptyLabel { at: Location },

    #[error(
        "{at}: the label {value:?} marks a missing value (as pandas reads it); every row needs a \
         class label: fill it in or remove the row"
    )]
    MissingLabel { at: Location, value: String },

    #[error("{at}: the text contains a NUL byte")]
    NulInText { at: Location },

    #[error(
        "{at}: the text is {bytes} bytes long; a categorical value longer than {limit} bytes is \
         refused (free text is no category: drop the column)"
    )]
    TextTooLong { at: Location, bytes: usize, limit: usize },

    /// A column of a table that cannot be used as it is; `message` may name settings as
    /// `{key}` (see [`Parameter::key`]).
    #[error("{}", bad_column(file, column, message, Parameter::name))]
    BadColumn { file: String, column: String, message: String },

    #[error(
        "{at}: the text is not valid UTF-8; save the file as UTF-8 (a Latin-1 file converts with \
         `iconv -f latin1 -t utf-8`)"
    )]
    InvalidUtf8 { at: Location },

    #[error("{at}: a quoted field starts here and is never closed")]
    UnterminatedQuote { at: Location },

    #[error(
        "{at}: the record is longer than {limit} bytes (a quote opened and never closed makes \
         one record of all the lines after it)"
    )]
    RecordTooLong { at: Location, limit: usize },

    #[error(
        "{file}: the target column {target:?} has only one class ({class}); a classifier needs at least two"
    )]
    SingleClass { file: String, target: String, class: String },

    #[error("{}", class_too_small(at, class, Parameter::name))]
    ClassTooSmall { at: Location, class: String },

    /// A setting outside its range; `message` may name other settings as `{key}` (see
    /// [`Parameter::key`]).
    #[error("{}", invalid_value(*parameter, message, Parameter::name))]
    InvalidParameter { parameter: Parameter, message: String },

    #[error("{path}: {message}")]
    Output { path: String, message: String },

    /// A key file that cannot be used to sign or to check a signature.
    #[error("{file}: not a usable key: {message}")]
    Key { file: String, message: String },

    #[error("{file}: not a readable ONNX model: {message}")]
    ModelUnreadable { file: String, message: String },

    #[error("{file}: refused: {message}")]
    ModelRefused { file: String, message: String },

    #[error("{file}: not a readable Parquet file: {message}")]
    DataUnreadable { file: String, message: String },

    #[error("{file}: not a readable pickle: {message}")]
    PickleUnreadable { file: String, message: String },

    /// The runtime failed on a model file (or on the rows of `file`).
    #[error("{file}: {message}")]
    Runtime { file: String, message: String },

    /// One column asked to play two roles that exclude each other.
    #[error("{file}: the column {name:?} is {role}, so it cannot also be {other}")]
    ColumnConflict { file: String, name: String, role: String, other: String },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io { path: path.display().to_string(), source }
    }

    /// The message with every setting it names spelled by `name` (the command line passes its
    /// flag names; `Display` uses [`Parameter::name`]).
    pub fn message_naming(&self, name: fn(Parameter) -> &'static str) -> String {
        match self {
            Error::InvalidParameter { parameter, message } => {
                invalid_value(*parameter, message, name)
            }
            Error::ClassTooSmall { at, class } => class_too_small(at, class, name),
            Error::BadColumn { file, column, message } => bad_column(file, column, message, name),
            Error::MissingColumn { file, name: column, why, columns } => {
                missing_column(file, column, why, columns, name)
            }
            other => other.to_string(),
        }
    }
}

/// A setting of the library that an error can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    /// LogisticRegression's inverse regularisation strength.
    C,
    /// The optimiser's stopping tolerance.
    Tol,
    /// The optimiser's iteration limit.
    MaxIter,
    /// The fraction of rows held out.
    TestSize,
    /// The operators of the graph.
    Ops,
    /// The precision of the graph's arithmetic.
    Dtype,
    /// The precision of the graph's input.
    InputDtype,
    /// The default-domain operator set of the graph.
    TargetOpset,
    /// The CSV field delimiter.
    Delimiter,
    /// The date recorded as the training or conversion date.
    RecordedDate,
    /// The column `predict` copies through as each row's id.
    IdColumn,
    /// Columns read as categorical whatever their cells spell.
    Categorical,
    /// Columns left out of the model.
    Drop,
    /// The most distinct values a categorical column may have.
    MaxCategories,
    /// How missing numbers are filled.
    Impute,
    /// How a table's columns reach the graph.
    Inputs,
    /// How classes weigh in the loss.
    ClassWeight,
    /// The number of cross-validation folds.
    Cv,
    /// The seed of the shuffled folds.
    CvShuffle,
    /// The score model selection ranks candidates by.
    Scoring,
    /// The data file a converted model is verified on.
    Data,
    /// The signature files checked, one per public key.
    Signature,
}

impl Parameter {
    pub const ALL: [Parameter; 22] = [
        Parameter::C,
        Parameter::Tol,
        Parameter::MaxIter,
        Parameter::TestSize,
        Parameter::Ops,
        Parameter::Dtype,
        Parameter::InputDtype,
        Parameter::TargetOpset,
        Parameter::Delimiter,
        Parameter::RecordedDate,
        Parameter::IdColumn,
        Parameter::Categorical,
        Parameter::Drop,
        Parameter::MaxCategories,
        Parameter::Impute,
        Parameter::Inputs,
        Parameter::ClassWeight,
        Parameter::Cv,
        Parameter::CvShuffle,
        Parameter::Scoring,
        Parameter::Data,
        Parameter::Signature,
    ];

    /// The setting's name in the library's own terms.
    pub fn name(self) -> &'static str {
        match self {
            Parameter::C => "C",
            Parameter::Tol => "tol",
            Parameter::MaxIter => "max_iter",
            Parameter::TestSize => "test size",
            Parameter::Ops => "ops",
            Parameter::Dtype => "dtype",
            Parameter::InputDtype => "input dtype",
            Parameter::TargetOpset => "target opset",
            Parameter::Delimiter => "delimiter",
            Parameter::RecordedDate => "recorded date",
            Parameter::IdColumn => "id column",
            Parameter::Categorical => "categorical columns",
            Parameter::Drop => "dropped columns",
            Parameter::MaxCategories => "max categories",
            Parameter::Impute => "imputation",
            Parameter::Inputs => "inputs",
            Parameter::ClassWeight => "class weight",
            Parameter::Cv => "cross-validation folds",
            Parameter::CvShuffle => "fold shuffling",
            Parameter::Scoring => "scoring",
            Parameter::Data => "data file",
            Parameter::Signature => "signature files",
        }
    }

    /// How a message names the setting before it is spelled: `{key}`.
    pub fn key(self) -> &'static str {
        match self {
            Parameter::C => "C",
            Parameter::Tol => "tol",
            Parameter::MaxIter => "max-iter",
            Parameter::TestSize => "test-size",
            Parameter::Ops => "ops",
            Parameter::Dtype => "dtype",
            Parameter::InputDtype => "input-dtype",
            Parameter::TargetOpset => "target-opset",
            Parameter::Delimiter => "delimiter",
            Parameter::RecordedDate => "recorded-date",
            Parameter::IdColumn => "id-column",
            Parameter::Categorical => "categorical",
            Parameter::Drop => "drop",
            Parameter::MaxCategories => "max-categories",
            Parameter::Impute => "impute",
            Parameter::Inputs => "inputs",
            Parameter::ClassWeight => "class-weight",
            Parameter::Cv => "cv",
            Parameter::CvShuffle => "cv-shuffle",
            Parameter::Scoring => "scoring",
            Parameter::Data => "data",
            Parameter::Signature => "signature",
        }
    }
}

/// `text` with each `{key}` of a [`Parameter`] replaced by `name(parameter)`.
pub fn spell(text: &str, name: fn(Parameter) -> &'static str) -> String {
    let mut spelled = text.to_owned();
    for parameter in Parameter::ALL {
        spelled = spelled.replace(&format!("{{{}}}", parameter.key()), name(parameter));
    }
    spelled
}

fn invalid_value(
    parameter: Parameter,
    message: &str,
    name: fn(Parameter) -> &'static str,
) -> String {
    format!("invalid value for {}: {}", name(parameter), spell(message, name))
}

fn missing_column(
    file: &str,
    column: &str,
    why: &str,
    columns: &str,
    name: fn(Parameter) -> &'static str,
) -> String {
    format!(
        "{file}: there is no column named {column:?} ({}); the columns are {columns}",
        spell(why, name)
    )
}

fn bad_column(
    file: &str,
    column: &str,
    message: &str,
    name: fn(Parameter) -> &'static str,
) -> String {
    format!("{file}: column {column:?}: {}", spell(message, name))
}

/// A hint for a number written with a decimal comma (`12,5`), as some locales write them.
fn decimal_comma_hint(value: &str) -> &'static str {
    let mut parts = value.split(',');
    let digits = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let (whole, fraction) = (parts.next().map(|p| p.trim_start_matches(['-', '+'])), parts.next());
    if digits(whole) && digits(fraction) && parts.next().is_none() {
        "; numbers take a decimal point (12.5), not a comma"
    } else {
        ""
    }
}

fn class_too_small(at: &Location, class: &str, name: fn(Parameter) -> &'static str) -> String {
    format!(
        "{at}: class {class} has only this row, too few for a stratified split that keeps every \
         class in both the training and the held-out rows (at least 2 needed); use {} 0 to train \
         on every row",
        name(Parameter::TestSize)
    )
}

/// Shorthand used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_comma_gets_a_hint_and_other_text_does_not() {
        let at = Location::cell("t.csv", 3, "x");
        let message =
            |value: &str| Error::NotANumber { at: at.clone(), value: value.into() }.to_string();
        for value in ["12,5", "-0,25", "3,0"] {
            assert!(message(value).ends_with("not a comma"), "{}", message(value));
        }
        for value in ["abc", "1,2,3", ",5", "5,", "1.5,2", "a,b"] {
            assert!(message(value).ends_with("is not a number"), "{}", message(value));
        }
    }
}
