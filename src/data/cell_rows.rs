//! Rows of a data file read as a column pipeline's cells, by column name: numbers (a missing
//! cell is NaN) and texts (a missing cell is [`MISSING_CODE`]), integer categories checked to
//! be whole numbers. `predict` feeds a table's model chunk by chunk ([`chunk_cells`]);
//! `convert --data` reads a whole file ([`read_cells`]) to verify a converted model on it.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array2;

use super::columns::{ColumnPlan, Features, plan_columns};
use super::records::{self, CellColumn, CellKind, MISSING, ParsedChunk, Role};
use super::{Cells, Delimiter, MISSING_CODE, parse_integer};
use crate::error::{Error, Location, Result};
use crate::progress::Progress;
use crate::util::excerpt;

/// The columns to read, by name: the numeric ones, then the categorical ones, each of those
/// read as text or as an integer category.
#[derive(Debug, Clone, Copy)]
pub struct CellColumns<'a> {
    pub numeric: &'a [String],
    pub categorical: &'a [String],
    /// Per categorical column, whether it holds integer categories.
    pub integer: &'a [bool],
}

impl CellColumns<'_> {
    /// Every column's name: the numeric ones, then the categorical ones.
    pub fn names(&self) -> Vec<String> {
        self.numeric.iter().chain(self.categorical).cloned().collect()
    }
}

/// The cells of a data file's rows and the line each row was on.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRows {
    pub cells: Cells,
    pub lines: Vec<u64>,
}

/// Reads every row of the CSV at `path`, taking the columns of `columns` by name (others are
/// ignored).
pub fn read_cells(
    path: &Path,
    delimiter: Delimiter,
    columns: CellColumns,
    progress: &Progress,
) -> Result<CellRows> {
    let csv = records::open(path, delimiter)?;
    let names = columns.names();
    let features = Features { names: Some(&names), count: names.len() };
    let mut plan = plan_columns(features, &csv.name, &csv.columns, None, None)?;
    table_roles(&mut plan, columns.numeric.len(), &csv.name, &csv.columns)?;
    let file = csv.name.clone();
    let step = progress.bytes("reading the data", csv.n_bytes);
    let mut rows = Rows::default();
    csv.parse_rows(
        &plan.roles,
        &step,
        |chunk| Ok((chunk_cells(&chunk, columns, &file)?, chunk.lines)),
        |(cells, lines)| {
            rows.append(&cells, lines);
            Ok(())
        },
    )?;
    step.finish();
    Ok(rows.finish(columns))
}

/// The roles of a table's columns: numbers (missing allowed) for the first `n_numeric` features,
/// text for the rest. An id column that is also a feature is refused here: the engine gives a
/// column one role.
pub(crate) fn table_roles(
    plan: &mut ColumnPlan,
    n_numeric: usize,
    file: &str,
    columns: &[String],
) -> Result<()> {
    if let Some(k) = plan.id_feature {
        let at = plan.roles.iter().position(|r| *r == Role::Id).unwrap_or(k);
        return Err(Error::ColumnConflict {
            file: file.to_owned(),
            name: columns[at].clone(),
            role: "the id column".into(),
            other: "a column the model reads".into(),
        });
    }
    for role in &mut plan.roles {
        if let Role::Feature(j) = *role {
            let kind = if j < n_numeric { CellKind::Number } else { CellKind::Text };
            *role = Role::Cell(j, kind);
        }
    }
    Ok(())
}

/// The cells of a parsed chunk whose columns have the [`table_roles`] (numeric cell columns
/// first, then the categorical ones, read as text). `file` names the data in errors.
pub(crate) fn chunk_cells(chunk: &ParsedChunk, columns: CellColumns, file: &str) -> Result<Cells> {
    let rows = chunk.lines.len();
    let n_numeric = columns.numeric.len();
    let numeric =
        Array2::from_shape_fn((rows, n_numeric), |(r, j)| chunk.values[r * chunk.width + j]);
    let texts = &chunk.cells[n_numeric..];
    let codes = Array2::from_shape_fn((rows, texts.len()), |(r, k)| texts[k].codes[r]);
    let mut values = Vec::with_capacity(texts.len());
    for (k, column) in texts.iter().enumerate() {
        values.push(if columns.integer.get(k) == Some(&true) {
            integers(chunk, column, (file, &columns.categorical[k]))?
        } else {
            column.distinct.iter().map(|t| String::from_utf8_lossy(t).into_owned()).collect()
        });
    }
    Ok(Cells { numeric, codes, values })
}

/// The distinct values of an integer category column, each in decimal; a cell that is missing
/// or not a whole number is an error at its row.
fn integers(
    chunk: &ParsedChunk,
    column: &CellColumn,
    (file, name): (&str, &str),
) -> Result<Vec<String>> {
    let at = |code: u32| {
        let r = column.codes.iter().position(|&c| c == code).unwrap_or_default();
        Location::cell(file, chunk.lines[r], name)
    };
    if column.n_missing > 0 {
        return Err(Error::MissingInteger { at: at(MISSING) });
    }
    column
        .distinct
        .iter()
        .enumerate()
        .map(|(i, text)| match parse_integer(text) {
            Some(v) => Ok(v.to_string()),
            None => Err(Error::NotAnInteger {
                at: at(i as u32),
                value: excerpt(&String::from_utf8_lossy(text)),
            }),
        })
        .collect()
}

/// The distinct texts of one column, in order of first appearance, each coded by its index.
#[derive(Debug, Clone, Default)]
pub(crate) struct TextCodes {
    values: Vec<String>,
    index: HashMap<String, u32>,
}

impl TextCodes {
    /// The code of `text`, added if new.
    pub(crate) fn code(&mut self, text: &str) -> u32 {
        if let Some(&code) = self.index.get(text) {
            return code;
        }
        let code = self.values.len() as u32;
        self.values.push(text.to_owned());
        self.index.insert(text.to_owned(), code);
        code
    }

    /// The texts, in code order.
    pub(crate) fn into_values(self) -> Vec<String> {
        self.values
    }
}

/// Chunks of cells joined into one: each text column's values re-coded over the whole file.
#[derive(Default)]
struct Rows {
    numeric: Vec<f64>,
    codes: Vec<Vec<u32>>,
    texts: Vec<TextCodes>,
    lines: Vec<u64>,
}

impl Rows {
    fn append(&mut self, cells: &Cells, lines: Vec<u64>) {
        let n_texts = cells.codes.ncols();
        if self.codes.is_empty() {
            self.codes = vec![Vec::new(); n_texts];
            self.texts = vec![TextCodes::default(); n_texts];
        }
        self.numeric.extend(cells.numeric.iter());
        for k in 0..n_texts {
            let recode: Vec<u32> = cells.values[k].iter().map(|v| self.texts[k].code(v)).collect();
            self.codes[k].extend(
                cells
                    .codes
                    .column(k)
                    .iter()
                    .map(|&c| if c == MISSING_CODE { MISSING_CODE } else { recode[c as usize] }),
            );
        }
        self.lines.extend(lines);
    }

    fn finish(self, columns: CellColumns) -> CellRows {
        let rows = self.lines.len();
        let n_texts = columns.categorical.len();
        let numeric = Array2::from_shape_vec((rows, columns.numeric.len()), self.numeric)
            .expect("every row has one number per numeric column");
        let codes = Array2::from_shape_fn((rows, n_texts), |(r, k)| self.codes[k][r]);
        let mut values: Vec<Vec<String>> =
            self.texts.into_iter().map(TextCodes::into_values).collect();
        values.resize(n_texts, Vec::new());
        CellRows { cells: Cells { numeric, codes, values }, lines: self.lines }
    }
}
