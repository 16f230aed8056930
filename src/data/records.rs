//! The CSV engine under every command that reads rows: the header, the role of each column,
//! and parsing on every core with the results handed over in file order.
//!
//! One thread cuts the file into chunks of whole records ([`super::chunks`]) and hashes it;
//! worker threads parse chunks and apply a caller's `map` (training keeps the values, `predict`
//! runs the model and formats output); the calling thread receives the mapped chunks in file
//! order. At most [`IN_FLIGHT`] chunks exist at once, so memory does not grow with the file.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use csv::ByteRecord;

use super::Delimiter;
use super::chunks::{Chunk, ChunkReader};
use super::missing::is_missing;
use super::number::{CellProblem, parse_number, short_decimal_prefix};
use crate::error::{Error, Location, Result};
use crate::progress::Step;
use crate::util::{MAX_LABEL_BYTES, excerpt};

/// Chunks (of about 256 KiB) read but not yet consumed, at most.
const IN_FLIGHT: usize = 16;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A numeric feature: position in the feature vector.
    Feature(usize),
    /// A column of a table: its position among the table's columns, and what its cells may be.
    Cell(usize, CellKind),
    /// The class label.
    Label,
    /// Text copied through unchanged (`predict --id-column`).
    Id,
    /// Not read.
    Ignore,
}

/// What the cells of a table column may hold. A missing cell (see [`super::missing`]) is
/// allowed in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellKind {
    /// Numbers or text: which the column is is decided once every cell has been read.
    Auto,
    /// Text, whatever it spells (a column declared categorical).
    Text,
    /// Numbers only: a text cell is an error.
    Number,
}

/// In [`CellColumn::codes`], a cell that is a number.
pub(crate) const NOT_TEXT: u32 = u32::MAX;
/// In [`CellColumn::codes`], a missing cell.
pub(crate) const MISSING: u32 = u32::MAX - 1;
/// Text cells of a column remembered with their lines, for messages.
pub(crate) const EXAMPLES: usize = 3;

/// One chunk's text cells of one table column (its numbers are in [`ParsedChunk::values`]).
#[derive(Debug, Default)]
pub(crate) struct CellColumn {
    /// Per row: the index of its text in `distinct`, [`MISSING`] or [`NOT_TEXT`]. Empty until
    /// the chunk's first text cell in an [`CellKind::Auto`] column.
    pub(crate) codes: Vec<u32>,
    /// Distinct texts in order of first appearance in the chunk.
    pub(crate) distinct: Vec<Box<[u8]>>,
    ids: HashMap<Box<[u8]>, u32>,
    pub(crate) n_missing: usize,
    pub(crate) n_text: usize,
    /// The first text cells: (line, index in `distinct`).
    pub(crate) examples: Vec<(u64, u32)>,
}

impl CellColumn {
    fn push_number(&mut self) {
        if !self.codes.is_empty() {
            self.codes.push(NOT_TEXT);
        }
    }

    fn push_missing(&mut self, kind: CellKind) {
        self.n_missing += 1;
        if kind == CellKind::Text || !self.codes.is_empty() {
            self.codes.push(MISSING);
        }
    }

    /// A text cell; `earlier` are the column's values in the chunk's rows before it (NaN where
    /// missing), from which the first text cell of a column that may hold numbers gives the
    /// earlier rows their codes.
    fn push_text(
        &mut self,
        kind: CellKind,
        line: u64,
        cell: &[u8],
        earlier: impl Iterator<Item = f64>,
    ) {
        if kind != CellKind::Text && self.codes.is_empty() {
            self.codes = earlier.map(|v| if v.is_nan() { MISSING } else { NOT_TEXT }).collect();
        }
        let id = match self.ids.get(cell) {
            Some(&id) => id,
            None => {
                let id = self.distinct.len() as u32;
                self.distinct.push(cell.into());
                self.ids.insert(cell.into(), id);
                id
            }
        };
        self.codes.push(id);
        self.n_text += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push((line, id));
        }
    }
}

/// Texts numbered across a whole file, in order of first appearance: chunks number their texts
/// (labels, a column's text cells) on their own, and [`Dictionary::renumber`] maps each chunk's
/// numbers to the file's.
#[derive(Debug, Default)]
pub(crate) struct Dictionary {
    /// The file's texts; a number indexes this list.
    pub(crate) texts: Vec<String>,
    ids: HashMap<Box<[u8]>, u32>,
}

impl Dictionary {
    /// The file-wide number of each of a chunk's distinct texts (checked to be UTF-8 by the
    /// parser), in the chunk's order.
    pub(crate) fn renumber(&mut self, distinct: Vec<Box<[u8]>>) -> Vec<u32> {
        distinct
            .into_iter()
            .map(|text| {
                let next = self.ids.len() as u32;
                *self.ids.entry(text).or_insert_with_key(|text| {
                    self.texts.push(String::from_utf8_lossy(text).into_owned());
                    next
                })
            })
            .collect()
    }
}

/// A CSV file opened, its header read and checked.
pub(crate) struct CsvFile {
    pub(crate) name: String,
    /// Refuse feature values beyond the float32 range (on by default: ONNX inputs are float32).
    pub(crate) float32: bool,
    pub(crate) n_bytes: u64,
    /// Column names, unique and non-empty.
    pub(crate) columns: Vec<String>,
    delimiter: u8,
    reader: ChunkReader<File>,
}

/// Opens `path` and reads its header: blank lines before it are skipped; names must be
/// UTF-8, non-empty and unique.
pub(crate) fn open(path: &Path, delimiter: Delimiter) -> Result<CsvFile> {
    let delimiter = delimiter.byte();
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
    if metadata.is_dir() {
        return Err(Error::io(path, std::io::Error::other("is a directory")));
    }
    let mut reader = ChunkReader::new(file, &name, delimiter);
    let (line, record) = loop {
        let Some(chunk) = reader.header()? else {
            return Err(Error::EmptyFile { file: name });
        };
        let mut csv = csv_reader(&chunk.bytes, delimiter);
        let mut record = ByteRecord::new();
        if csv.read_byte_record(&mut record).map_err(|e| csv_error(&name, chunk.first_line, e))? {
            break (chunk.first_line, record);
        }
    };
    let mut columns = Vec::with_capacity(record.len());
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for (i, field) in record.iter().enumerate() {
        let at = Location::line(&name, line);
        let column =
            std::str::from_utf8(field).map_err(|_| Error::InvalidUtf8 { at: at.clone() })?;
        if column.trim().is_empty() {
            return Err(Error::EmptyColumnName { at, index: i + 1 });
        }
        if let Some(first) = seen.insert(field, i) {
            return Err(Error::DuplicateColumn {
                at,
                name: column.to_owned(),
                first: first + 1,
                second: i + 1,
            });
        }
        columns.push(column.to_owned());
    }
    Ok(CsvFile { name, float32: true, n_bytes: metadata.len(), columns, delimiter, reader })
}

/// "a", "b", ... for messages, at most 20 names.
pub(crate) fn list_columns(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let quoted: Vec<String> = names.iter().take(SHOWN).map(|n| format!("{n:?}")).collect();
    let more = names.len().saturating_sub(SHOWN);
    if more > 0 { format!("{} and {more} more", quoted.join(", ")) } else { quoted.join(", ") }
}

/// One chunk's rows, parsed. Labels are numbered in order of first appearance in the chunk.
#[derive(Debug, Default)]
pub(crate) struct ParsedChunk {
    /// The length of the chunk's text, in bytes.
    pub(crate) n_bytes: usize,
    /// Values per row: one per [`Role::Feature`] (in feature order), then one per [`Role::Cell`]
    /// (in table order; NaN where the cell is missing or text).
    pub(crate) width: usize,
    /// `rows x width`, row-major.
    pub(crate) values: Vec<f64>,
    pub(crate) lines: Vec<u64>,
    /// Per row, the index of its label in `distinct` (when a column has the Label role).
    pub(crate) labels: Vec<u32>,
    pub(crate) distinct: Vec<Box<[u8]>>,
    /// Per row, the text of the Id column, concatenated; `id_ends[r]` is where row r's ends.
    pub(crate) id_text: String,
    pub(crate) id_ends: Vec<usize>,
    /// Per table column ([`Role::Cell`]), its cells.
    pub(crate) cells: Vec<CellColumn>,
}

impl ParsedChunk {
    /// The Id text of row `r`.
    pub(crate) fn id(&self, r: usize) -> &str {
        let start = if r == 0 { 0 } else { self.id_ends[r - 1] };
        &self.id_text[start..self.id_ends[r]]
    }
}

impl CsvFile {
    /// [`parse`](Self::parse) for a reader that needs no digest of the file (predicting,
    /// scoring): the file is not hashed.
    pub(crate) fn parse_rows<T: Send>(
        mut self,
        roles: &[Role],
        step: &Step,
        map: impl Fn(ParsedChunk) -> Result<T> + Sync,
        consume: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.reader.skip_digest();
        self.parse(roles, step, map, consume).map(drop)
    }

    /// Parses every row with the given column roles: `map` runs on the worker threads, in any
    /// order; `consume` runs on this thread, in file order. Stops at the first error in file
    /// order. Returns the SHA-256 of the whole file.
    pub(crate) fn parse<T: Send>(
        self,
        roles: &[Role],
        step: &Step,
        map: impl Fn(ParsedChunk) -> Result<T> + Sync,
        mut consume: impl FnMut(T) -> Result<()>,
    ) -> Result<String> {
        let layout = Layout::new(&self.name, &self.columns, roles, self.delimiter, self.float32);
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
        let stop = AtomicBool::new(false);
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(workers);
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let (result_tx, result_rx) = mpsc::channel::<(usize, Result<T>)>();
        // A token per chunk in flight: the cutter takes one per chunk, the consumer gives it back.
        let (token_tx, token_rx) = mpsc::sync_channel::<()>(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            token_tx.send(()).expect("the channel has room for every token");
        }
        let mut reader = self.reader;
        let spares = reader.spares();

        std::thread::scope(|scope| {
            let stop = &stop;
            let reader_result_tx = result_tx.clone();
            let cutter = scope.spawn(move || {
                while token_rx.recv().is_ok() && !stop.load(Ordering::Relaxed) {
                    match reader.next_chunk() {
                        Ok(Some(chunk)) => {
                            step.set(reader.bytes_read());
                            if chunk_tx.send(chunk).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = reader_result_tx.send((usize::MAX, Err(e)));
                            break;
                        }
                    }
                }
                reader
            });
            for _ in 0..workers {
                let chunk_rx = Arc::clone(&chunk_rx);
                let result_tx = result_tx.clone();
                let (layout, map, spares) = (&layout, &map, &spares);
                scope.spawn(move || {
                    loop {
                        let next = chunk_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok(chunk)) = next else { break };
                        let parsed = parse_chunk(&chunk, layout);
                        let index = chunk.index;
                        spares.give(chunk.bytes);
                        let result = parsed.and_then(map);
                        if result_tx.send((index, result)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(result_tx);

            let mut waiting = BTreeMap::new();
            let mut next = 0;
            let mut failure: Option<(usize, Error)> = None;
            let mut token_tx = Some(token_tx);
            for (index, result) in result_rx {
                match result {
                    // A reader error comes after every chunk it handed out.
                    Err(e) if index == usize::MAX => {
                        failure.get_or_insert((index, e));
                    }
                    Err(e) => {
                        if failure.as_ref().is_none_or(|(first, _)| index < *first) {
                            failure = Some((index, e));
                        }
                    }
                    Ok(value) => {
                        waiting.insert(index, value);
                    }
                }
                while failure.as_ref().is_none_or(|(first, _)| next < *first)
                    && let Some(value) = waiting.remove(&next)
                {
                    if let Err(e) = consume(value) {
                        failure = Some((next, e));
                        break;
                    }
                    next += 1;
                    if let Some(tokens) = &token_tx {
                        let _ = tokens.send(());
                    }
                }
                if failure.is_some() {
                    stop.store(true, Ordering::Relaxed);
                    // Wakes the cutter if it waits for a token.
                    token_tx = None;
                    waiting.clear();
                }
            }
            drop(token_tx);
            let reader = cutter.join().expect("the chunk reader does not panic");
            match failure {
                Some((_, e)) => Err(e),
                None => reader.finish(),
            }
        })
    }
}

/// How to turn a record into values.
struct Layout<'a> {
    file: &'a str,
    columns: &'a [String],
    roles: &'a [Role],
    /// Columns with the [`Role::Cell`] role.
    n_cells: usize,
    /// Values per row ([`ParsedChunk::width`]).
    width: usize,
    /// Per column, where in its row the value of a cell that may be a number goes, or
    /// [`NO_NUMBER`].
    slots: Vec<usize>,
    delimiter: u8,
    /// Refuse feature values a float32 cannot hold.
    float32: bool,
}

/// In [`Layout::slots`], a column whose cells are never numbers.
const NO_NUMBER: usize = usize::MAX;

impl<'a> Layout<'a> {
    fn new(
        file: &'a str,
        columns: &'a [String],
        roles: &'a [Role],
        delimiter: u8,
        float32: bool,
    ) -> Layout<'a> {
        let n_features = roles.iter().filter(|r| matches!(r, Role::Feature(_))).count();
        let n_cells = roles.iter().filter(|r| matches!(r, Role::Cell(..))).count();
        let slots = roles
            .iter()
            .map(|role| match *role {
                Role::Feature(j) => j,
                Role::Cell(j, CellKind::Auto | CellKind::Number) => n_features + j,
                _ => NO_NUMBER,
            })
            .collect();
        let width = n_features + n_cells;
        Layout { file, columns, roles, n_cells, width, slots, delimiter, float32 }
    }
}

fn csv_reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes)
}

fn csv_error(file: &str, line: u64, e: csv::Error) -> Error {
    Error::Io { path: format!("{file}: line {line}"), source: std::io::Error::other(e.to_string()) }
}

/// Parses one chunk's records; the first bad cell fails the chunk.
///
/// A chunk without a quote character (the usual case) is split on line ends and delimiters
/// directly, which is several times faster than the csv crate's general state machine and
/// gives the same records; a chunk with quotes goes through the csv crate.
fn parse_chunk(chunk: &Chunk, layout: &Layout) -> Result<ParsedChunk> {
    let mut parser = ChunkParser::new(chunk, layout);
    if memchr::memchr(b'"', &chunk.bytes).is_none() {
        for (line, record) in PlainRecords::new(&chunk.bytes, chunk.first_line) {
            parser.plain_record(line, record)?;
        }
    } else {
        let mut csv = csv_reader(&chunk.bytes, layout.delimiter);
        let mut record = ByteRecord::new();
        loop {
            let more = csv.read_byte_record(&mut record);
            let line = chunk.first_line - 1 + record.position().map_or(1, |p| p.line());
            if !more.map_err(|e| csv_error(layout.file, line, e))? {
                break;
            }
            parser.record(line, record.len(), record.iter())?;
        }
    }
    Ok(ParsedChunk { n_bytes: chunk.bytes.len(), ..parser.out })
}

/// The non-empty records of a chunk without quotes, with their line numbers. Like the csv
/// crate, `\n`, `\r` and `\r\n` all end a record and empty lines are skipped.
struct PlainRecords<'a> {
    rest: &'a [u8],
    line: u64,
}

impl<'a> PlainRecords<'a> {
    fn new(bytes: &'a [u8], first_line: u64) -> Self {
        PlainRecords { rest: bytes, line: first_line }
    }
}

impl<'a> Iterator for PlainRecords<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        while !self.rest.is_empty() {
            let end = memchr::memchr2(b'\n', b'\r', self.rest).unwrap_or(self.rest.len());
            let (record, line) = (&self.rest[..end], self.line);
            // `\r\n`, `\n` and a lone `\r` each end one line.
            let mut skip = end;
            if self.rest.get(end) == Some(&b'\r') {
                skip += 1;
            }
            if self.rest.get(skip) == Some(&b'\n') {
                skip += 1;
            }
            if skip > end {
                self.line += 1;
            }
            self.rest = &self.rest[skip.max(end + 1).min(self.rest.len())..];
            if !record.is_empty() {
                return Some((line, record));
            }
        }
        None
    }
}

/// Turns records into values, label ids, id text and line numbers.
struct ChunkParser<'a> {
    layout: &'a Layout<'a>,
    out: ParsedChunk,
    label_ids: HashMap<Box<[u8]>, u32>,
}

impl<'a> ChunkParser<'a> {
    fn new(chunk: &Chunk, layout: &'a Layout<'a>) -> Self {
        let estimated_rows = chunk.bytes.len() / (4 * layout.columns.len());
        ChunkParser {
            layout,
            out: ParsedChunk {
                width: layout.width,
                values: Vec::with_capacity(estimated_rows * layout.width),
                lines: Vec::with_capacity(estimated_rows),
                cells: (0..layout.n_cells).map(|_| CellColumn::default()).collect(),
                ..ParsedChunk::default()
            },
            label_ids: HashMap::new(),
        }
    }

    /// A record without quotes. Most cells are short decimals, parsed and delimited in one
    /// pass; any other cell is cut at the next delimiter and goes through the general path.
    fn plain_record(&mut self, line: u64, record: &[u8]) -> Result<()> {
        let delimiter = self.layout.delimiter;
        // The fields are counted as they are cut: too few or too many is an error.
        let wrong_count = |parser: &Self| {
            let n_fields = memchr::memchr_iter(delimiter, record).count() + 1;
            parser.check_field_count(line, n_fields)
        };
        self.add_row(line);
        let row = self.out.values.len() - self.layout.width;
        let mut start = 0;
        for (column, (role, &slot)) in self.layout.roles.iter().zip(&self.layout.slots).enumerate()
        {
            let Some(rest) = record.get(start..) else {
                return wrong_count(self);
            };
            if slot != NO_NUMBER
                && let Some((value, used)) = short_decimal_prefix(rest)
                && rest.get(used).is_none_or(|&b| b == delimiter)
            {
                self.out.values[row + slot] = value;
                if let Role::Cell(j, _) = *role {
                    self.out.cells[j].push_number();
                }
                start += used + 1;
                continue;
            }
            let end = memchr::memchr(delimiter, rest).unwrap_or(rest.len());
            // A record with the wrong number of fields is that, whatever its cells hold.
            if let Err(e) = self.cell(line, column, &rest[..end]) {
                return wrong_count(self).and(Err(e));
            }
            start += end + 1;
        }
        if start <= record.len() {
            return wrong_count(self);
        }
        Ok(())
    }

    /// A record from the csv crate.
    fn record<'r>(
        &mut self,
        line: u64,
        n_fields: usize,
        fields: impl Iterator<Item = &'r [u8]>,
    ) -> Result<()> {
        self.start_row(line, n_fields)?;
        for (column, cell) in fields.enumerate() {
            self.cell(line, column, cell)?;
        }
        Ok(())
    }

    /// Checks the field count and makes room for the row's features.
    fn start_row(&mut self, line: u64, n_fields: usize) -> Result<()> {
        self.check_field_count(line, n_fields)?;
        self.add_row(line);
        Ok(())
    }

    /// A record of `n_fields` fields must have one per column.
    fn check_field_count(&self, line: u64, n_fields: usize) -> Result<()> {
        let expected = self.layout.columns.len();
        if n_fields != expected {
            let columns = self.layout.columns;
            let (at, beyond) = match columns.get(n_fields) {
                Some(missing) => (Location::cell(self.layout.file, line, missing), None),
                None => (Location::line(self.layout.file, line), columns.last().cloned()),
            };
            return Err(Error::FieldCount { at, found: n_fields, expected, beyond });
        }
        Ok(())
    }

    /// Makes room for a row's values.
    fn add_row(&mut self, line: u64) {
        self.out.values.resize(self.out.values.len() + self.layout.width, f64::NAN);
        self.out.lines.push(line);
    }

    /// One cell of the current row.
    fn cell(&mut self, line: u64, column: usize, cell: &[u8]) -> Result<()> {
        let at = || Location::cell(self.layout.file, line, &self.layout.columns[column]);
        match self.layout.roles[column] {
            Role::Feature(j) => {
                let row = self.out.values.len() - self.layout.width;
                let value = parse_number(cell).map_err(|problem| problem.at(at()))?;
                // Short decimals (the fast path) are far inside the float32 range.
                if self.layout.float32 && value.abs() > f64::from(f32::MAX) {
                    return Err(Error::OutsideFloat32 {
                        at: at(),
                        value: excerpt(&String::from_utf8_lossy(cell)),
                    });
                }
                self.out.values[row + j] = value;
            }
            Role::Cell(j, kind) => {
                let row = self.out.values.len() - self.layout.width;
                let slot = self.layout.slots[column];
                let column = &mut self.out.cells[j];
                if is_missing(cell) {
                    column.push_missing(kind);
                    return Ok(());
                }
                if kind != CellKind::Text {
                    match parse_number(cell) {
                        Ok(value) => {
                            if self.layout.float32 && value.abs() > f64::from(f32::MAX) {
                                return Err(Error::OutsideFloat32 {
                                    at: at(),
                                    value: excerpt(&String::from_utf8_lossy(cell)),
                                });
                            }
                            self.out.values[row + slot] = value;
                            column.push_number();
                            return Ok(());
                        }
                        // A NaN spelled otherwise than pandas' tokens (`NAN`, `+nan`) is
                        // missing too, as pandas' float parser reads it.
                        Err(CellProblem::Missing(_)) if is_nan_spelling(cell) => {
                            column.push_missing(kind);
                            return Ok(());
                        }
                        Err(
                            problem @ (CellProblem::InvalidUtf8
                            | CellProblem::Infinite(_)
                            | CellProblem::OutOfRange(_)),
                        ) => return Err(problem.at(at())),
                        Err(problem) if kind == CellKind::Number => {
                            return Err(problem.at(at()));
                        }
                        Err(_) => {}
                    }
                }
                check_text(cell, at)?;
                let width = self.layout.width;
                let earlier = (0..row / width).map(|r| self.out.values[r * width + slot]);
                column.push_text(kind, line, cell, earlier);
            }
            Role::Label => {
                if !cell.is_empty() && is_missing(cell) {
                    return Err(Error::MissingLabel {
                        at: at(),
                        value: String::from_utf8_lossy(cell).into_owned(),
                    });
                }
                let id = match self.label_ids.get(cell) {
                    Some(&id) => id,
                    None => {
                        check_label(cell, at)?;
                        let id = self.out.distinct.len() as u32;
                        self.out.distinct.push(cell.into());
                        self.label_ids.insert(cell.into(), id);
                        id
                    }
                };
                self.out.labels.push(id);
            }
            Role::Id => {
                let text =
                    std::str::from_utf8(cell).map_err(|_| Error::InvalidUtf8 { at: at() })?;
                self.out.id_text.push_str(text);
                self.out.id_ends.push(self.out.id_text.len());
            }
            Role::Ignore => {}
        }
        Ok(())
    }
}

/// Whether a cell spells NaN in a way Rust's float parser reads (`NAN`, `+nan`).
fn is_nan_spelling(cell: &[u8]) -> bool {
    std::str::from_utf8(cell)
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .is_some_and(f64::is_nan)
}

/// A text cell of a table: UTF-8, no NUL, at most [`MAX_LABEL_BYTES`] (it may become a category,
/// which the model file holds).
fn check_text(cell: &[u8], at: impl Fn() -> Location) -> Result<()> {
    if std::str::from_utf8(cell).is_err() {
        return Err(Error::InvalidUtf8 { at: at() });
    }
    if cell.contains(&0) {
        return Err(Error::NulInText { at: at() });
    }
    if cell.len() > MAX_LABEL_BYTES {
        return Err(Error::TextTooLong { at: at(), bytes: cell.len(), limit: MAX_LABEL_BYTES });
    }
    Ok(())
}

fn check_label(cell: &[u8], at: impl Fn() -> Location) -> Result<()> {
    if std::str::from_utf8(cell).is_err() {
        return Err(Error::InvalidUtf8 { at: at() });
    }
    if cell.is_empty() {
        return Err(Error::EmptyLabel { at: at() });
    }
    if cell.contains(&0) {
        return Err(Error::NulInLabel { at: at() });
    }
    if cell.len() > MAX_LABEL_BYTES {
        return Err(Error::LabelTooLong { at: at(), bytes: cell.len(), limit: MAX_LABEL_BYTES });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(bytes: &[u8]) -> Vec<(u64, &[u8])> {
        PlainRecords::new(bytes, 10).collect()
    }

    #[test]
    fn plain_records_count_every_line_ending_as_an_editor_does_and_skip_empty_lines() {
        assert_eq!(
            records(b"a,b\nc\r\nd\re\n\nf"),
            vec![(10, &b"a,b"[..]), (11, b"c"), (12, b"d"), (13, b"e"), (15, b"f")]
        );
        assert_eq!(records(b"\r\n\r\nx\r\n"), vec![(12, &b"x"[..])]);
    }

    #[test]
    fn features_land_in_model_order_whatever_the_column_order() {
        let chunk = Chunk { index: 0, first_line: 2, bytes: b"1,id7,2,x\n3,id8,4,y\n".to_vec() };
        let columns = ["b", "id", "a", "other"].map(String::from);
        let roles = [Role::Feature(1), Role::Id, Role::Feature(0), Role::Ignore];
        let layout = Layout::new("t.csv", &columns, &roles, b',', true);
        let parsed = parse_chunk(&chunk, &layout).unwrap();
        assert_eq!(parsed.values, vec![2.0, 1.0, 4.0, 3.0]);
        assert_eq!((parsed.id(0), parsed.id(1)), ("id7", "id8"));
        assert_eq!(parsed.lines, vec![2, 3]);
    }
}
