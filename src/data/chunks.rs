//! Cuts a CSV byte stream into chunks of whole records, so that several threads can parse them
//! independently, and hashes every byte on the way (the dataset digest of the provenance record).
//!
//! A record boundary is a line terminator outside a quoted field. Blocks without any quote
//! character are cut at their last `\n` with a SIMD search; only blocks that contain quotes are
//! walked byte by byte with the small state machine below, which follows the csv crate's quoting
//! rules (RFC 4180: a quote opens a quoted field only at the start of a field, `""` escapes).

use std::io::Read;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::error::{Error, Location, Result};
use crate::util::hex;

/// Bytes read from the source per system call.
const READ_SIZE: usize = 256 << 10;
/// A chunk is handed to a parser once it holds at least this many bytes of whole records.
const CHUNK_SIZE: usize = 256 << 10;
/// A single record longer than this is refused rather than buffered without bound.
pub const MAX_RECORD_BYTES: usize = 256 << 20;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A run of whole records and the line number its first byte is on.
pub struct Chunk {
    pub index: usize,
    pub first_line: u64,
    pub bytes: Vec<u8>,
}

/// Chunk buffers handed back once parsed, for the reader to fill again. A fresh buffer of a
/// megabyte or more is mapped from the system and faulted in page by page, then unmapped when
/// dropped; reused buffers take neither step (the training matrix's own first touch remains).
#[derive(Clone, Default)]
pub struct Spares(Arc<Mutex<Vec<Vec<u8>>>>);

/// Buffers kept for reuse, at most: more than are ever in flight at once.
const MAX_SPARES: usize = 32;

impl Spares {
    /// Hands a chunk's buffer back once its bytes are no longer needed.
    pub fn give(&self, mut bytes: Vec<u8>) {
        bytes.clear();
        if let Ok(mut spares) = self.0.lock()
            && spares.len() < MAX_SPARES
        {
            spares.push(bytes);
        }
    }

    fn take(&self) -> Vec<u8> {
        self.0.lock().ok().and_then(|mut spares| spares.pop()).unwrap_or_default()
    }
}

/// Reads a source into chunks of whole records.
pub struct ChunkReader<R> {
    source: R,
    spares: Spares,
    file: String,
    delimiter: u8,
    /// `None` when no digest is wanted ([`Self::skip_digest`]).
    hasher: Option<Sha256>,
    /// Bytes read but not yet handed out; always starts at a record boundary.
    pending: Vec<u8>,
    /// Line number of `pending[0]`.
    line: u64,
    bytes_read: u64,
    at_start: bool,
    eof: bool,
    next_index: usize,
}

impl<R: Read> ChunkReader<R> {
    pub fn new(source: R, file: &str, delimiter: u8) -> ChunkReader<R> {
        ChunkReader {
            source,
            spares: Spares::default(),
            file: file.to_owned(),
            delimiter,
            hasher: Some(Sha256::new()),
            pending: Vec::new(),
            line: 1,
            bytes_read: 0,
            at_start: true,
            eof: false,
            next_index: 0,
        }
    }

    /// Where to hand chunk buffers back for reuse ([`Spares::give`]).
    pub fn spares(&self) -> Spares {
        self.spares.clone()
    }

    /// Reads without hashing (the digest of [`Self::finish`] is then empty): for readers
    /// of rows that record no provenance, to whom it would cost a sixth of their time.
    pub fn skip_digest(&mut self) {
        self.hasher = None;
    }

    /// Total bytes read from the source so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The first record of the stream (the header), or `None` for a stream without a single
    /// record. Its chunk index is 0, like that of the first [`Self::next_chunk`].
    pub fn header(&mut self) -> Result<Option<Chunk>> {
        let header = self.next_records(Cut::First)?;
        self.next_index = 0;
        Ok(header)
    }

    /// The next chunk of whole records, numbered from 0, or `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        self.next_records(Cut::Last)
    }

    /// Reads the rest of the source (so the digest covers the whole file) and returns the
    /// SHA-256 of every byte read, as lowercase hex.
    pub fn finish(mut self) -> Result<String> {
        while !self.eof {
            self.fill()?;
        }
        Ok(self.hasher.map(|hasher| hex(&hasher.finalize())).unwrap_or_default())
    }

    fn next_records(&mut self, cut: Cut) -> Result<Option<Chunk>> {
        loop {
            let want = if cut == Cut::First { 1 } else { CHUNK_SIZE };
            if self.eof && cut == Cut::Last {
                return self.emit_rest();
            }
            if self.pending.len() >= want || self.eof {
                match record_boundary(&self.pending, self.delimiter, cut) {
                    Some(end) => {
                        if let Some(end) = keep_crlf_together(&self.pending, end, self.eof) {
                            return Ok(Some(self.emit(end)));
                        }
                    }
                    None if self.eof => return self.emit_rest(),
                    None => {}
                }
                if self.pending.len() > MAX_RECORD_BYTES {
                    return Err(Error::RecordTooLong {
                        at: Location::line(&self.file, self.line),
                        limit: MAX_RECORD_BYTES,
                    });
                }
            }
            self.fill()?;
        }
    }

    /// The bytes after the last terminator, at the end of the stream.
    fn emit_rest(&mut self) -> Result<Option<Chunk>> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        if let Some(offset) = unterminated_quote(&self.pending, self.delimiter) {
            let line = self.line + count_lines(&self.pending[..offset]);
            return Err(Error::UnterminatedQuote { at: Location::line(&self.file, line) });
        }
        let end = self.pending.len();
        Ok(Some(self.emit(end)))
    }

    fn emit(&mut self, end: usize) -> Chunk {
        let mut rest = self.spares.take();
        rest.extend_from_slice(&self.pending[end..]);
        self.pending.truncate(end);
        let bytes = std::mem::replace(&mut self.pending, rest);
        let first_line = self.line;
        self.line += count_lines(&bytes);
        let index = self.next_index;
        self.next_index += 1;
        Chunk { index, first_line, bytes }
    }

    fn fill(&mut self) -> Result<()> {
        let start = self.pending.len();
        self.pending.resize(start + READ_SIZE, 0);
        let n = loop {
            match self.source.read(&mut self.pending[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.pending.truncate(start);
                    return Err(Error::Io { path: self.file.clone(), source: e });
                }
            }
        };
        self.pending.truncate(start + n);
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&self.pending[start..]);
        }
        self.bytes_read += n as u64;
        if n == 0 {
            self.eof = true;
        }
        if self.at_start && (self.pending.len() >= UTF8_BOM.len() || self.eof) {
            self.at_start = false;
            if self.pending.starts_with(UTF8_BOM) {
                self.pending.drain(..UTF8_BOM.len());
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Cut after the first record.
    First,
    /// Cut after the last complete record.
    Last,
}

/// Line breaks as an editor counts them: `\n`, `\r\n` and a lone `\r` each end a line.
fn count_lines(bytes: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', bytes).count();
    let lone_returns = match memchr::memchr(b'\r', bytes) {
        None => 0,
        Some(_) => {
            memchr::memchr_iter(b'\r', bytes).filter(|&i| bytes.get(i + 1) != Some(&b'\n')).count()
        }
    };
    (newlines + lone_returns) as u64
}

/// The offset just past the first or last record terminator in `buf`, which starts at a record
/// boundary; `None` if `buf` holds no complete record.
fn record_boundary(buf: &[u8], delimiter: u8, cut: Cut) -> Option<usize> {
    if memchr::memchr(b'"', buf).is_none() {
        let found = match cut {
            Cut::First => memchr::memchr2(b'\n', b'\r', buf),
            // A file with `\r` alone as its line ending has no `\n` at all.
            Cut::Last => memchr::memrchr(b'\n', buf).or_else(|| memchr::memrchr(b'\r', buf)),
        };
        return found.map(|i| i + 1);
    }
    let mut scanner = QuoteScanner::new(delimiter);
    let mut last = None;
    for (i, &b) in buf.iter().enumerate() {
        if scanner.step(b) {
            if cut == Cut::First {
                return Some(i + 1);
            }
            last = Some(i + 1);
        }
    }
    last
}

/// Moves a cut made just after the `\r` of a `\r\n` to after its `\n`, so that no chunk starts
/// with the second half of a line break (which would count as a line of its own). `None` when
/// `buf` ends with that `\r` and the next byte has not been read yet.
fn keep_crlf_together(buf: &[u8], end: usize, eof: bool) -> Option<usize> {
    if buf[end - 1] != b'\r' {
        return Some(end);
    }
    match buf.get(end) {
        Some(b'\n') => Some(end + 1),
        Some(_) => Some(end),
        None if eof => Some(end),
        None => None,
    }
}

/// If `buf` (whole records from a record boundary to the end of the stream) ends inside a quoted
/// field, the offset of the quote that opened it.
fn unterminated_quote(buf: &[u8], delimiter: u8) -> Option<usize> {
    memchr::memchr(b'"', buf)?;
    let mut scanner = QuoteScanner::new(delimiter);
    let mut opened_at = 0;
    for (i, &b) in buf.iter().enumerate() {
        let before = scanner.state;
        scanner.step(b);
        if before == State::StartField && scanner.state == State::Quoted {
            opened_at = i;
        }
    }
    (scanner.state == State::Quoted).then_some(opened_at)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    StartField,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: either the closing quote or the first half of `""`.
    QuoteInQuoted,
}

/// Tracks whether a position is inside a quoted field.
struct QuoteScanner {
    delimiter: u8,
    state: State,
}

impl QuoteScanner {
    fn new(delimiter: u8) -> QuoteScanner {
        QuoteScanner { delimiter, state: State::StartField }
    }

    /// Consumes one byte; true if it terminates a record.
    fn step(&mut self, b: u8) -> bool {
        let terminator = b == b'\n' || b == b'\r';
        let (next, ends_record) = match self.state {
            State::Quoted => (if b == b'"' { State::QuoteInQuoted } else { State::Quoted }, false),
            State::StartField if b == b'"' => (State::Quoted, false),
            State::QuoteInQuoted if b == b'"' => (State::Quoted, false),
            _ if terminator => (State::StartField, true),
            _ if b == self.delimiter => (State::StartField, false),
            _ => (State::Unquoted, false),
        };
        self.state = next;
        ends_record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks_of(data: &[u8]) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut reader = ChunkReader::new(data, "t.csv", b',');
        let mut out = Vec::new();
        if let Some(h) = reader.header()? {
            out.push((h.first_line, h.bytes));
        }
        while let Some(c) = reader.next_chunk()? {
            out.push((c.first_line, c.bytes));
        }
        Ok(out)
    }

    #[test]
    fn splits_the_header_from_the_rows_and_strips_a_bom() {
        let got = chunks_of(b"\xEF\xBB\xBFa,b\n1,2\n3,4").unwrap();
        assert_eq!(got, vec![(1, b"a,b\n".to_vec()), (2, b"1,2\n3,4".to_vec())]);
    }

    #[test]
    fn a_crlf_line_break_stays_in_one_chunk() {
        let got = chunks_of(b"a,b\r\n\r\n1,2\r\n3,4\r\n").unwrap();
        assert_eq!(got, vec![(1, b"a,b\r\n".to_vec()), (2, b"\r\n1,2\r\n3,4\r\n".to_vec())]);
        assert_eq!(keep_crlf_together(b"a\r", 2, false), None);
        assert_eq!(keep_crlf_together(b"a\r", 2, true), Some(2));
        assert_eq!(keep_crlf_together(b"a\rb", 2, false), Some(2));
    }

    #[test]
    fn a_newline_inside_quotes_is_not_a_record_boundary() {
        assert_eq!(record_boundary(b"1,\"x\ny\"\n2,\"z", b',', Cut::Last), Some(8));
        assert_eq!(record_boundary(b"\"a\nb\",c\nd", b',', Cut::First), Some(8));
        assert_eq!(record_boundary(b"1,\"a\"\"\nb\"", b',', Cut::Last), None);
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_literal() {
        assert_eq!(record_boundary(b"12\" pipe,1\n3,4", b',', Cut::First), Some(11));
    }

    #[test]
    fn reports_the_line_of_an_unclosed_quote() {
        let err = chunks_of(b"a,b\n1,2\n3,\"oops\n4,5\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: line 3: a quoted field starts here and is never closed"
        );
    }

    #[test]
    fn a_reader_that_skips_the_digest_reads_the_same_chunks_and_no_digest() {
        let data = b"a,b\n1,2\n3,4\n";
        let mut reader = ChunkReader::new(&data[..], "t.csv", b',');
        reader.skip_digest();
        let mut bytes = reader.header().unwrap().unwrap().bytes;
        while let Some(chunk) = reader.next_chunk().unwrap() {
            bytes.extend(chunk.bytes);
        }
        assert_eq!(bytes, data);
        assert_eq!(reader.finish().unwrap(), "");
    }

    #[test]
    fn hashes_every_byte_including_the_bom() {
        let data = b"\xEF\xBB\xBFa,b\n1,2\n";
        let mut reader = ChunkReader::new(&data[..], "t.csv", b',');
        while reader.next_chunk().unwrap().is_some() {}
        let expected = hex(&Sha256::digest(data));
        assert_eq!(reader.finish().unwrap(), expected);
    }
}
