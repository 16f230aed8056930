//! Reads a training CSV as a table ([`read_table`]): each feature column numeric or categorical,
//! with missing cells, as `pd.read_csv(path)` reads it with its defaults.
//!
//! A column whose every non-missing cell is a number is numeric; any other is categorical, its
//! cells kept verbatim as text. Before a table is accepted, the guards a column pipeline needs
//! hold (each an error naming the column and the fix): no column without values, no numeric
//! column with a few stray text cells, no categorical column that looks like an identifier or
//! free text. A table that is all numbers without a missing cell is also a [`Dataset`], trained
//! by the plain pipeline ([`Table::into_dataset`]).

use std::collections::VecDeque;
use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::csv::target_column;
use super::labels;
use super::records::{self, CellKind, Dictionary, EXAMPLES, MISSING, NOT_TEXT, ParsedChunk, Role};
use super::{Classes, Dataset, Delimiter, Rows, Source};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Categorical columns may have at most this many distinct values unless told otherwise.
pub const DEFAULT_MAX_CATEGORIES: usize = 1000;
/// A column with text in at most this fraction of its values is numbers with stray text.
const STRAY_TEXT_FRACTION: f64 = 0.1;
/// Below this many values, all-distinct values do not mark an identifier.
const MIN_VALUES_FOR_IDENTIFIER: usize = 10;

/// How to read a table.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Field separator. Default `,`.
    pub delimiter: Delimiter,
    /// Name of the label column. Default: the last column.
    pub target: Option<String>,
    /// Columns read as categorical whatever their cells spell (integer codes, zip codes).
    pub categorical: Vec<String>,
    /// Columns left out (identifiers, free text).
    pub drop: Vec<String>,
    /// The most distinct values a categorical column may have. Default
    /// [`DEFAULT_MAX_CATEGORIES`].
    pub max_categories: usize,
}

impl Default for TableOptions {
    fn default() -> TableOptions {
        TableOptions {
            delimiter: Delimiter::COMMA,
            target: None,
            categorical: Vec::new(),
            drop: Vec::new(),
            max_categories: DEFAULT_MAX_CATEGORIES,
        }
    }
}

/// What a feature column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnRole {
    Numeric,
    Categorical,
}

/// A feature column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableColumn {
    pub name: String,
    pub role: ColumnRole,
    /// Missing cells in the whole file.
    pub n_missing: usize,
}

/// A CSV read as a table: numeric and categorical columns, class indices, lines.
#[derive(Debug, Clone)]
pub struct Table {
    pub source: Source,
    pub target_name: String,
    pub classes: Classes,
    /// The feature columns in file order (the target and dropped columns left out).
    pub columns: Vec<TableColumn>,
    /// Columns left out as asked.
    pub dropped: Vec<String>,
    pub rows: TableRows,
}

/// The feature cells of rows, as a column pipeline takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    /// One row per data row, one column per numeric column (in column order); NaN is missing.
    pub numeric: Array2<f64>,
    /// One row per data row, one column per categorical column: the index of the cell's value
    /// in the column's `values`, or [`MISSING_CODE`].
    pub codes: Array2<u32>,
    /// Per categorical column, the values its codes index.
    pub values: Vec<Vec<String>>,
}

impl Cells {
    pub fn len(&self) -> usize {
        self.numeric.nrows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cells of rows `rows` (indices), in that order.
    pub fn select(&self, rows: &[usize]) -> Cells {
        Cells {
            numeric: self.numeric.select(ndarray::Axis(0), rows),
            codes: self.codes.select(ndarray::Axis(0), rows),
            values: self.values.clone(),
        }
    }

    /// The text of categorical column `k` in row `r`; `None` if missing.
    pub fn text(&self, r: usize, k: usize) -> Option<&str> {
        let code = self.codes[[r, k]];
        (code != MISSING_CODE).then(|| self.values[k][code as usize].as_str())
    }
}

/// Rows of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub cells: Cells,
    /// Per row, the index of its class.
    pub targets: Vec<u32>,
    /// Per row, the line it starts on.
    pub lines: Vec<u64>,
}

/// In [`Cells::codes`], a missing cell.
pub const MISSING_CODE: u32 = MISSING;

impl TableRows {
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

impl Table {
    /// Names of the numeric columns, in order.
    pub fn numeric_names(&self) -> Vec<String> {
        self.names(ColumnRole::Numeric)
    }

    /// Names of the categorical columns, in order.
    pub fn categorical_names(&self) -> Vec<String> {
        self.names(ColumnRole::Categorical)
    }

    fn names(&self, role: ColumnRole) -> Vec<String> {
        self.columns.iter().filter(|c| c.role == role).map(|c| c.name.clone()).collect()
    }

    /// Whether the table is what the plain pipeline takes: numbers only, none missing.
    pub fn is_plain(&self) -> bool {
        self.columns.iter().all(|c| c.role == ColumnRole::Numeric && c.n_missing == 0)
    }

    /// The table as a numeric [`Dataset`], if it [`is_plain`](Table::is_plain).
    pub fn into_dataset(self) -> std::result::Result<Dataset, Box<Table>> {
        if !self.is_plain() {
            return Err(Box::new(self));
        }
        Ok(Dataset {
            source: self.source,
            feature_names: self.columns.into_iter().map(|c| c.name).collect(),
            target_name: self.target_name,
            classes: self.classes,
            rows: Rows {
                features: self.rows.cells.numeric,
                targets: self.rows.targets,
                lines: self.rows.lines,
            },
        })
    }
}

/// Reads `path` as a table.
///
/// A column that mixes numbers and text and is not stray text in a numeric column is
/// categorical; its numbers are then needed as the text they were written as, so the file is
/// read a second time with that column read as text.
pub fn read_table(path: &Path, options: &TableOptions, progress: &Progress) -> Result<Table> {
    let first = read_pass(path, options, &[], progress)?;
    let mixed = match first {
        Pass::Done(table) => return Ok(*table),
        Pass::Mixed(mixed) => mixed,
    };
    match read_pass(path, options, &mixed, progress)? {
        Pass::Done(table) => Ok(*table),
        Pass::Mixed(_) => unreachable!("columns read as text cannot mix numbers into them"),
    }
}

enum Pass {
    Done(Box<Table>),
    /// Names of columns to read again as text.
    Mixed(Vec<String>),
}

fn read_pass(
    path: &Path,
    options: &TableOptions,
    as_text: &[String],
    progress: &Progress,
) -> Result<Pass> {
    let csv = records::open(path, options.delimiter)?;
    let (file, total_bytes, columns) = (csv.name.clone(), csv.n_bytes, csv.columns.clone());
    let target = target_column(&file, &columns, options.target.as_deref())?;
    let find = |name: &String, why: &str| {
        columns.iter().position(|c| c == name).ok_or_else(|| Error::MissingColumn {
            file: file.clone(),
            name: name.clone(),
            why: why.to_owned(),
            columns: records::list_columns(&columns),
        })
    };
    let mut dropped = vec![false; columns.len()];
    for name in &options.drop {
        let at = find(name, "given by {drop}")?;
        if at == target {
            return Err(conflict(&file, name, "the target column", "dropped"));
        }
        dropped[at] = true;
    }
    let mut text = vec![false; columns.len()];
    for name in options.categorical.iter().chain(as_text) {
        let at = find(name, "given by {categorical}")?;
        if at == target {
            return Err(conflict(&file, name, "the target column", "a categorical feature"));
        }
        if dropped[at] {
            return Err(conflict(&file, name, "dropped", "a categorical feature"));
        }
        text[at] = true;
    }
    if (0..columns.len()).all(|c| c == target || dropped[c]) {
        return Err(Error::NoFeatures { file, target: columns[target].clone() });
    }
    let mut features = Vec::new();
    let roles: Vec<Role> = (0..columns.len())
        .map(|c| {
            if c == target {
                Role::Label
            } else if dropped[c] {
                Role::Ignore
            } else {
                features.push(c);
                Role::Cell(
                    features.len() - 1,
                    if text[c] { CellKind::Text } else { CellKind::Auto },
                )
            }
        })
        .collect();

    let step = progress.bytes("reading", total_bytes);
    let mut assembled = Assembled::new(features.len(), total_bytes);
    let sha256 = csv.parse(&roles, &step, Ok, |chunk| {
        assembled.append(chunk);
        Ok(())
    })?;
    step.finish();

    let n_rows = assembled.targets.len();
    if n_rows == 0 {
        return Err(Error::NoRows { file });
    }
    let names: Vec<&str> = features.iter().map(|&c| columns[c].as_str()).collect();
    let decided = decide_roles(&file, &names, &assembled, options, &text_of(&features, &text))?;
    let mixed: Vec<String> = decided
        .iter()
        .zip(&names)
        .filter(|(d, _)| **d == Decision::MixedCategorical)
        .map(|(_, n)| n.to_string())
        .collect();
    if !mixed.is_empty() {
        return Ok(Pass::Mixed(mixed));
    }

    let label_texts: Vec<&str> = assembled.labels.texts.iter().map(String::as_str).collect();
    let (classes, class_of_label) = labels::discover(&label_texts);
    let target_name = columns[target].clone();
    if classes.len() < 2 {
        return Err(Error::SingleClass { file, target: target_name, class: classes.display(0) });
    }
    let targets = assembled.targets.iter().map(|&l| class_of_label[l as usize]).collect();
    let roles: Vec<ColumnRole> = decided
        .iter()
        .map(|d| match d {
            Decision::Numeric => ColumnRole::Numeric,
            _ => ColumnRole::Categorical,
        })
        .collect();
    let table_columns = names
        .iter()
        .zip(&roles)
        .zip(&assembled.columns)
        .map(|((name, &role), column)| TableColumn {
            name: name.to_string(),
            role,
            n_missing: column.n_missing,
        })
        .collect();
    let values = assembled
        .columns
        .iter()
        .zip(&roles)
        .filter(|(_, role)| **role == ColumnRole::Categorical)
        .map(|(column, _)| column.texts.texts.clone())
        .collect();
    let lines = std::mem::take(&mut assembled.lines);
    let (numeric, codes) = assembled.into_matrices(&roles);
    Ok(Pass::Done(Box::new(Table {
        source: Source {
            file_name: file,
            sha256,
            n_bytes: total_bytes,
            n_rows,
            n_columns: columns.len(),
        },
        target_name,
        classes,
        columns: table_columns,
        dropped: options.drop.clone(),
        rows: TableRows { cells: Cells { numeric, codes, values }, targets, lines },
    })))
}

fn text_of(features: &[usize], text: &[bool]) -> Vec<bool> {
    features.iter().map(|&c| text[c]).collect()
}

fn conflict(file: &str, name: &str, role: &str, other: &str) -> Error {
    Error::ColumnConflict {
        file: file.to_owned(),
        name: name.to_owned(),
        role: role.to_owned(),
        other: other.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Numeric,
    Categorical,
    /// Categorical, but read with numbers among its text: to be read again as text.
    MixedCategorical,
}

/// Each column's role, or the first guard a column breaks (in column order).
fn decide_roles(
    file: &str,
    names: &[&str],
    assembled: &Assembled,
    options: &TableOptions,
    declared_text: &[bool],
) -> Result<Vec<Decision>> {
    let n_rows = assembled.targets.len();
    let mut decisions = Vec::with_capacity(names.len());
    for (j, column) in assembled.columns.iter().enumerate() {
        let bad = |message: String| Error::BadColumn {
            file: file.to_owned(),
            column: names[j].to_owned(),
            message,
        };
        let n_values = n_rows - column.n_missing;
        if n_values == 0 {
            return Err(bad(format!(
                "every one of its {n_rows} cells is missing, so it carries nothing to learn from; \
                 leave it out with {{drop}} {:?}",
                names[j]
            )));
        }
        let n_numbers = n_values - column.n_text;
        let decision = if column.n_text == 0 {
            Decision::Numeric
        } else if declared_text[j] || n_numbers == 0 {
            Decision::Categorical
        } else if column.n_text as f64 <= STRAY_TEXT_FRACTION * n_values as f64 {
            let shown: Vec<String> = column
                .examples
                .iter()
                .map(|(line, id)| format!("{:?} (line {line})", column.texts.texts[*id as usize]))
                .collect();
            return Err(bad(format!(
                "{n_numbers} of its {n_values} values are numbers but {} {} not: {}{}; if they \
                 mean a missing value, leave the cells empty (or write NA); if the column is \
                 categorical, pass {{categorical}} {:?}",
                column.n_text,
                if column.n_text == 1 { "is" } else { "are" },
                shown.join(", "),
                if column.n_text > shown.len() { ", ..." } else { "" },
                names[j]
            )));
        } else {
            Decision::MixedCategorical
        };
        if decision == Decision::Categorical {
            let distinct = column.texts.texts.len();
            if distinct > options.max_categories {
                return Err(bad(format!(
                    "it has {distinct} distinct values, more than {{max-categories}} {}: it looks \
                     like an identifier or free text; leave it out with {{drop}} {:?}, or raise \
                     {{max-categories}} if it truly is categorical",
                    options.max_categories, names[j]
                )));
            }
            if distinct == n_values && n_values >= MIN_VALUES_FOR_IDENTIFIER {
                return Err(bad(format!(
                    "each of its {n_values} values is different, so it looks like an identifier \
                     or free text, which a one-hot encoding cannot generalise from; leave it out \
                     with {{drop}} {:?}",
                    names[j]
                )));
            }
        }
        decisions.push(decision);
    }
    Ok(decisions)
}

/// The cells in file order until the roles are known: every column's numbers in one row-major
/// matrix (NaN where a cell is missing or text), and per chunk the text codes, numbered across
/// the file. Numbers go straight into the matrix, so they are held once.
struct Assembled {
    total_bytes: u64,
    /// Row-major, one value per row and column.
    values: Vec<f64>,
    chunks: VecDeque<ChunkCodes>,
    lines: Vec<u64>,
    targets: Vec<u32>,
    labels: Dictionary,
    /// Per column: counts, examples (lines and file-wide ids) and the file's distinct texts.
    columns: Vec<ColumnSummary>,
}

/// One chunk's text codes per column (empty for a column without text there), renumbered to
/// the file's ids.
struct ChunkCodes {
    rows: usize,
    codes: Vec<Vec<u32>>,
}

#[derive(Default)]
struct ColumnSummary {
    n_missing: usize,
    n_text: usize,
    examples: Vec<(u64, u32)>,
    /// The column's distinct texts in the file.
    texts: Dictionary,
}

impl Assembled {
    /// `total_bytes` is the file's size, from which the first chunk tells how many rows to
    /// expect.
    fn new(n_columns: usize, total_bytes: u64) -> Assembled {
        Assembled {
            total_bytes,
            values: Vec::new(),
            chunks: VecDeque::new(),
            lines: Vec::new(),
            targets: Vec::new(),
            labels: Dictionary::default(),
            columns: (0..n_columns).map(|_| ColumnSummary::default()).collect(),
        }
    }

    fn append(&mut self, chunk: ParsedChunk) {
        let global = self.labels.renumber(chunk.distinct);
        self.targets.extend(chunk.labels.iter().map(|&l| global[l as usize]));
        let rows = chunk.lines.len();
        self.lines.extend_from_slice(&chunk.lines);
        let mut cells = chunk.cells;
        let width = cells.len();
        let start = self.values.len();
        if start == 0 && chunk.n_bytes > 0 {
            // Room for the rows the file holds if its rows are as long as the first chunk's,
            // and an eighth more: the matrix is then rarely moved as it grows, and never held
            // twice while it moves (reserved room that stays unused is never touched, so it
            // costs no memory). Where the room cannot be had, the matrix grows as it goes.
            let expected = self.total_bytes as f64 / chunk.n_bytes as f64 * rows as f64 * 1.125;
            let _ = self.values.try_reserve((expected as usize + 1).saturating_mul(width));
        }
        self.values.extend_from_slice(&chunk.values);
        for (column, summary) in cells.iter_mut().zip(&mut self.columns) {
            summary.n_missing += column.n_missing;
            summary.n_text += column.n_text;
            let renumber = summary.texts.renumber(std::mem::take(&mut column.distinct));
            for code in &mut column.codes {
                if *code != MISSING && *code != NOT_TEXT {
                    *code = renumber[*code as usize];
                }
            }
            for &(line, id) in &column.examples {
                if summary.examples.len() < EXAMPLES {
                    summary.examples.push((line, renumber[id as usize]));
                }
            }
        }
        let codes = cells.into_iter().map(|c| c.codes).collect();
        self.chunks.push_back(ChunkCodes { rows, codes });
    }

    /// The numeric matrix (the values of the numeric columns, compacted in place) and the code
    /// matrix (built chunk by chunk while the chunks are dropped).
    fn into_matrices(mut self, roles: &[ColumnRole]) -> (Array2<f64>, Array2<u32>) {
        let n = self.targets.len();
        let width = roles.len();
        let numeric_at: Vec<usize> =
            (0..roles.len()).filter(|&j| roles[j] == ColumnRole::Numeric).collect();
        let text_at: Vec<usize> =
            (0..roles.len()).filter(|&j| roles[j] == ColumnRole::Categorical).collect();
        let (fn_, fc) = (numeric_at.len(), text_at.len());
        let mut numeric = std::mem::take(&mut self.values);
        // Each value moves to an earlier position than any still to be read (none moves when
        // every column is numeric).
        if fn_ < width {
            for i in 0..n {
                for (k, &j) in numeric_at.iter().enumerate() {
                    numeric[i * fn_ + k] = numeric[i * width + j];
                }
            }
        }
        numeric.truncate(n * fn_);
        numeric.shrink_to_fit();
        let mut codes = vec![0u32; n * fc];
        let mut row = 0;
        while let Some(chunk) = self.chunks.pop_front() {
            for (k, &j) in text_at.iter().enumerate() {
                let column = &chunk.codes[j];
                for r in 0..chunk.rows {
                    // A chunk without text in a categorical column has only missing cells.
                    let code = column.get(r).copied().unwrap_or(MISSING);
                    codes[(row + r) * fc + k] = if code == NOT_TEXT { MISSING } else { code };
                }
            }
            row += chunk.rows;
        }
        (
            Array2::from_shape_vec((n, fn_), numeric).expect("one value per numeric cell"),
            Array2::from_shape_vec((n, fc), codes).expect("one code per categorical cell"),
        )
    }
}
