//! Reads a training CSV into a [`Dataset`]: one thread cuts the file into chunks of whole
//! records, the others parse the chunks, and the results are put back in file order.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use csv::ByteRecord;
use ndarray::Array2;

use super::chunks::{Chunk, ChunkReader};
use super::labels;
use super::number::{parse_number, short_decimal_prefix};
use super::{Dataset, Rows, Source};
use crate::error::{Error, Location, Result};
use crate::progress::Progress;

/// How to read a CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field separator. Default `,`.
    pub delimiter: u8,
    /// Name of the label column. Default: the last column.
    pub target: Option<String>,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions { delimiter: b',', target: None }
    }
}

/// The columns of a file, checked.
struct Header {
    names: Vec<String>,
    target: usize,
}

/// One chunk's rows, parsed. Labels are numbered in order of first appearance in the chunk.
struct ParsedChunk {
    values: Vec<f64>,
    lines: Vec<u64>,
    labels: Vec<u32>,
    distinct: Vec<Box<[u8]>>,
}

/// Reads `path` as a header row followed by data rows: every column but the target is a numeric
/// feature, the target holds class labels.
///
/// Fails on the first problem in file order, naming the line and column.
pub fn read_csv(path: &Path, options: &CsvOptions, progress: &Progress) -> Result<Dataset> {
    let file_name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let total_bytes = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = ChunkReader::new(file, &file_name, options.delimiter);

    let header = read_header(&mut reader, &file_name, options)?;
    let step = progress.bytes("reading", total_bytes);
    let (assembled, reader) = parse_in_parallel(reader, &header, &file_name, options, &step)?;
    step.finish();
    let sha256 = reader.finish()?;

    let n_rows = assembled.targets.len();
    if n_rows == 0 {
        return Err(Error::NoRows { file: file_name });
    }
    let label_texts: Vec<&str> = assembled.distinct.iter().map(String::as_str).collect();
    let (classes, class_of_label) = labels::discover(&label_texts);
    let target_name = header.names[header.target].clone();
    if classes.len() < 2 {
        return Err(Error::SingleClass {
            file: file_name,
            target: target_name,
            class: classes.display(0),
        });
    }
    let targets = assembled.targets.iter().map(|&l| class_of_label[l as usize]).collect();

    let n_features = header.names.len() - 1;
    let features = Array2::from_shape_vec((n_rows, n_features), assembled.values)
        .expect("every parsed row has one value per feature");
    let feature_names = header
        .names
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != header.target)
        .map(|(_, n)| n.clone());
    Ok(Dataset {
        source: Source {
            file_name,
            sha256,
            n_bytes: total_bytes,
            n_rows,
            n_columns: header.names.len(),
        },
        feature_names: feature_names.collect(),
        target_name,
        classes,
        rows: Rows { features, targets, lines: assembled.lines },
    })
}

fn read_header<R: std::io::Read>(
    reader: &mut ChunkReader<R>,
    file: &str,
    options: &CsvOptions,
) -> Result<Header> {
    // Blank lines before the header are skipped, as they are between rows.
    let (line, record) = loop {
        let Some(chunk) = reader.header()? else {
            return Err(Error::EmptyFile { file: file.to_owned() });
        };
        let mut csv = csv_reader(&chunk.bytes, options.delimiter);
        let mut record = ByteRecord::new();
        if csv.read_byte_record(&mut record).map_err(|e| csv_error(file, chunk.first_line, e))? {
            break (chunk.first_line, record);
        }
    };

    let mut names = Vec::with_capacity(record.len());
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for (i, field) in record.iter().enumerate() {
        let at = Location::line(file, line);
        let name = std::str::from_utf8(field).map_err(|_| Error::InvalidUtf8 { at: at.clone() })?;
        if name.trim().is_empty() {
            return Err(Error::EmptyColumnName { at, index: i + 1 });
        }
        if let Some(first) = seen.insert(field, i) {
            return Err(Error::DuplicateColumn {
                at,
                name: name.to_owned(),
                first: first + 1,
                second: i + 1,
            });
        }
        names.push(name.to_owned());
    }

    let target = match &options.target {
        None => names.len() - 1,
        Some(wanted) => {
            names.iter().position(|n| n == wanted).ok_or_else(|| Error::UnknownTarget {
                file: file.to_owned(),
                name: wanted.clone(),
                columns: list_columns(&names),
            })?
        }
    };
    if names.len() < 2 {
        return Err(Error::NoFeatures { file: file.to_owned(), target: names[target].clone() });
    }
    Ok(Header { names, target })
}

fn list_columns(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let quoted: Vec<String> = names.iter().take(SHOWN).map(|n| format!("{n:?}")).collect();
    let more = names.len().saturating_sub(SHOWN);
    if more > 0 { format!("{} and {more} more", quoted.join(", ")) } else { quoted.join(", ") }
}

/// Rows put back in file order, with labels numbered across the whole file.
struct Assembled {
    values: Vec<f64>,
    lines: Vec<u64>,
    targets: Vec<u32>,
    distinct: Vec<String>,
    ids: HashMap<Box<[u8]>, u32>,
}

impl Assembled {
    fn append(&mut self, chunk: ParsedChunk) {
        let global: Vec<u32> = chunk
            .distinct
            .into_iter()
            .map(|label| {
                let next = self.ids.len() as u32;
                *self.ids.entry(label).or_insert_with_key(|label| {
                    // Labels were checked to be UTF-8 by the parser.
                    self.distinct.push(String::from_utf8_lossy(label).into_owned());
                    next
                })
            })
            .collect();
        self.targets.extend(chunk.labels.iter().map(|&l| global[l as usize]));
        self.values.extend_from_slice(&chunk.values);
        self.lines.extend_from_slice(&chunk.lines);
    }
}

fn parse_in_parallel<R: std::io::Read + Send>(
    mut reader: ChunkReader<R>,
    header: &Header,
    file: &str,
    options: &CsvOptions,
    step: &crate::progress::Step,
) -> Result<(Assembled, ChunkReader<R>)> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    let stop = AtomicBool::new(false);
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(2 * workers);
    let chunk_rx = Arc::new(Mutex::new(chunk_rx));
    let (result_tx, result_rx) = mpsc::channel::<(usize, Result<ParsedChunk>)>();

    std::thread::scope(|scope| {
        let stop = &stop;
        let reader_result_tx = result_tx.clone();
        let cutter = scope.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
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
            scope.spawn(move || {
                loop {
                    let next = chunk_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok(chunk)) = next else { break };
                    let parsed = parse_chunk(&chunk, header, file, options.delimiter);
                    if result_tx.send((chunk.index, parsed)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(result_tx);

        let mut assembled = Assembled {
            values: Vec::new(),
            lines: Vec::new(),
            targets: Vec::new(),
            distinct: Vec::new(),
            ids: HashMap::new(),
        };
        let mut waiting = BTreeMap::new();
        let mut next = 0;
        let mut failure: Option<(usize, Error)> = None;
        for (index, parsed) in result_rx {
            match parsed {
                // A reader error comes after every chunk it handed out.
                Err(e) if index == usize::MAX => {
                    failure.get_or_insert((index, e));
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    if failure.as_ref().is_none_or(|(first, _)| index < *first) {
                        failure = Some((index, e));
                    }
                }
                Ok(chunk) => {
                    waiting.insert(index, chunk);
                }
            }
            while let Some(chunk) = waiting.remove(&next) {
                assembled.append(chunk);
                next += 1;
            }
        }
        let reader = cutter.join().expect("the chunk reader does not panic");
        match failure {
            Some((_, e)) => Err(e),
            None => Ok((assembled, reader)),
        }
    })
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
fn parse_chunk(chunk: &Chunk, header: &Header, file: &str, delimiter: u8) -> Result<ParsedChunk> {
    let mut parser = ChunkParser::new(chunk, header, file);
    if memchr::memchr(b'"', &chunk.bytes).is_none() {
        for (line, record) in PlainRecords::new(&chunk.bytes, chunk.first_line) {
            parser.plain_record(line, record, delimiter)?;
        }
    } else {
        let mut csv = csv_reader(&chunk.bytes, delimiter);
        let mut record = ByteRecord::new();
        loop {
            let more = csv.read_byte_record(&mut record);
            let line = chunk.first_line - 1 + record.position().map_or(1, |p| p.line());
            if !more.map_err(|e| csv_error(file, line, e))? {
                break;
            }
            parser.record(line, record.len(), record.iter())?;
        }
    }
    Ok(parser.out)
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
            let mut skip = end;
            if self.rest.get(end) == Some(&b'\r') {
                skip += 1;
            }
            if self.rest.get(skip) == Some(&b'\n') {
                skip += 1;
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

/// Turns records into values, class-label ids and line numbers.
struct ChunkParser<'a> {
    header: &'a Header,
    file: &'a str,
    out: ParsedChunk,
    ids: HashMap<Box<[u8]>, u32>,
}

impl<'a> ChunkParser<'a> {
    fn new(chunk: &Chunk, header: &'a Header, file: &'a str) -> Self {
        let n_columns = header.names.len();
        let estimated_rows = chunk.bytes.len() / (4 * n_columns);
        ChunkParser {
            header,
            file,
            out: ParsedChunk {
                values: Vec::with_capacity(estimated_rows * (n_columns - 1)),
                lines: Vec::with_capacity(estimated_rows),
                labels: Vec::with_capacity(estimated_rows),
                distinct: Vec::new(),
            },
            ids: HashMap::new(),
        }
    }

    /// A record without quotes. Most cells are short decimals, parsed and delimited in one
    /// pass; any other cell is cut at the next delimiter and goes through the general path.
    fn plain_record(&mut self, line: u64, record: &[u8], delimiter: u8) -> Result<()> {
        let n_fields = memchr::memchr_iter(delimiter, record).count() + 1;
        if n_fields != self.header.names.len() {
            return Err(self.field_count(line, n_fields));
        }
        let mut start = 0;
        for column in 0..n_fields {
            let rest = &record[start..];
            if column != self.header.target
                && let Some((value, used)) = short_decimal_prefix(rest)
                && rest.get(used).is_none_or(|&b| b == delimiter)
            {
                self.out.values.push(value);
                start += used + 1;
                continue;
            }
            let end = memchr::memchr(delimiter, rest).unwrap_or(rest.len());
            self.cell(line, column, &rest[..end])?;
            start += end + 1;
        }
        self.out.lines.push(line);
        Ok(())
    }

    fn field_count(&self, line: u64, found: usize) -> Error {
        Error::FieldCount {
            at: Location::line(self.file, line),
            found,
            expected: self.header.names.len(),
        }
    }

    /// One cell of a record: a label in the target column, else a feature value.
    fn cell(&mut self, line: u64, column: usize, cell: &[u8]) -> Result<()> {
        let names = &self.header.names;
        if column == self.header.target {
            let id = match self.ids.get(cell) {
                Some(&id) => id,
                None => {
                    check_label(cell, || Location::cell(self.file, line, &names[column]))?;
                    let id = self.out.distinct.len() as u32;
                    self.out.distinct.push(cell.into());
                    self.ids.insert(cell.into(), id);
                    id
                }
            };
            self.out.labels.push(id);
        } else {
            let value = parse_number(cell)
                .map_err(|problem| problem.at(Location::cell(self.file, line, &names[column])))?;
            self.out.values.push(value);
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
        if n_fields != self.header.names.len() {
            return Err(self.field_count(line, n_fields));
        }
        for (column, cell) in fields.enumerate() {
            self.cell(line, column, cell)?;
        }
        self.out.lines.push(line);
        Ok(())
    }
}

fn check_label(cell: &[u8], at: impl Fn() -> Location) -> Result<()> {
    if std::str::from_utf8(cell).is_err() {
        return Err(Error::InvalidUtf8 { at: at() });
    }
    if cell.is_empty() {
        return Err(Error::EmptyLabel { at: at() });
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
    fn plain_records_end_at_any_line_ending_and_skip_empty_lines() {
        assert_eq!(
            records(b"a,b\nc\r\nd\re\n\nf"),
            vec![(10, &b"a,b"[..]), (11, b"c"), (12, b"d"), (12, b"e"), (14, b"f")]
        );
        assert_eq!(records(b"\r\n\r\nx\r\n"), vec![(12, &b"x"[..])]);
    }
}
