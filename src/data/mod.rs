//! Training data: reading an all-numeric CSV ([`read_csv`]) or a table of numeric and
//! categorical columns with missing cells ([`read_table`]), its class labels ([`Classes`]) and
//! the stratified held-out split ([`split`]).

pub mod cell_rows;
mod chunks;
pub(crate) mod columns;
mod csv;
mod delimiter;
mod labels;
pub mod missing;
mod number;
pub mod parquet_rows;
pub(crate) mod records;
pub mod split;
mod table;

use ndarray::Array2;
use serde::Serialize;

pub use self::csv::{CsvOptions, read_csv};
pub use delimiter::Delimiter;
pub use labels::Classes;
pub(crate) use number::parse_integer;
pub use table::{
    Cells, ColumnRole, DEFAULT_MAX_CATEGORIES, MISSING_CODE, Table, TableColumn, TableOptions,
    TableRows, read_table,
};

/// What a dataset was read from, for the provenance record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The file name as the user gave it.
    pub file_name: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    pub n_bytes: u64,
    /// Data rows (the header excluded).
    pub n_rows: usize,
    /// Columns, the target included.
    pub n_columns: usize,
}

/// A CSV read into a feature matrix and class indices, with its column names and classes.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub source: Source,
    /// Feature column names in the order of the matrix's columns (the file's order, target removed).
    pub feature_names: Vec<String>,
    pub target_name: String,
    pub classes: Classes,
    pub rows: Rows,
}

/// Data rows: features, class indices and where each row is in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// One row per data row, one column per feature.
    pub features: Array2<f64>,
    /// Per row, the index of its class in the dataset's `classes`.
    pub targets: Vec<u32>,
    /// Per row, the line of the file it starts on (for messages about single rows).
    pub lines: Vec<u64>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}
