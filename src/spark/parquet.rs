//! A Spark model's `data/part-*.parquet`: one row of fitted values (snappy-compressed, data
//! pages v1, plain or dictionary encoded), read with the `parquet` crate into plain values.
//! The file's footer is checked before any page is decoded: one row, a bounded schema and
//! column chunks whose declared sizes fit the file and the limits.

use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field as ParquetField;

use super::SparkProblem;
use super::files::ReadFile;
use crate::util::catch_panic;

/// Leaf columns of one data file (an Imputer writes one per input column).
const MAX_COLUMNS: usize = 100_000;
/// Bytes the decoded pages of one file may take together (the fitted values of 1,000
/// features and 1,000 classes are 8 MB).
const MAX_UNCOMPRESSED_BYTES: i64 = 256 << 20;
/// Bytes one decoded page may take.
const MAX_PAGE_BYTES: i64 = 64 << 20;
/// Pages of one column chunk.
const MAX_PAGES: usize = 10_000;
/// Nesting of the schema: a matrix is a struct of lists, a label list a list of lists.
const MAX_SCHEMA_DEPTH: usize = 6;

/// A value of the row.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Text(String),
    List(Vec<Field>),
    Struct(Vec<(String, Field)>),
}

impl Field {
    /// What the value is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Field::Null => "null",
            Field::Bool(_) => "a boolean",
            Field::Int(_) => "an integer",
            Field::Double(_) => "a double",
            Field::Text(_) => "a string",
            Field::List(_) => "a list",
            Field::Struct(_) => "a struct",
        }
    }

    /// The field `name` of a struct.
    pub fn get(&self, name: &str) -> Option<&Field> {
        match self {
            Field::Struct(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, f)| f),
            _ => None,
        }
    }
}

/// The one row of a data file, its columns by name in file order.
pub fn read_row(file: ReadFile) -> Result<Field, SparkProblem> {
    let (path, bytes) = (file.path, Bytes::from(file.bytes));
    // The decoder panics on some malformed files: a panic is an unreadable file too.
    catch_panic(|| decode_row(&path, bytes)).unwrap_or_else(|message| {
        Err(SparkProblem::unreadable(
            &path,
            format!("cannot be decoded (the Parquet decoder stopped: {message})"),
        ))
    })
}

fn decode_row(path: &str, bytes: Bytes) -> Result<Field, SparkProblem> {
    let bad = |message: String| SparkProblem::unreadable(path, message);
    // Bytes shares the buffer: the reader and the page walk below read the same copy.
    let reader = SerializedFileReader::new(bytes.clone())
        .map_err(|e| bad(format!("is not a readable Parquet file: {e}")))?;
    let metadata = reader.metadata();
    let rows = metadata.file_metadata().num_rows();
    if rows != 1 {
        return Err(bad(format!("holds {rows} rows; a saved model's data is one row")));
    }
    let schema = metadata.file_metadata().schema_descr();
    if schema.num_columns() > MAX_COLUMNS {
        return Err(bad(format!("has {} columns, more than {MAX_COLUMNS}", schema.num_columns())));
    }
    if let Some(column) =
        schema.columns().iter().find(|c| c.path().parts().len() > MAX_SCHEMA_DEPTH)
    {
        return Err(bad(format!(
            "nests column {} more than {MAX_SCHEMA_DEPTH} deep",
            column.path().string()
        )));
    }
    let size = bytes.len() as u64;
    // Every page's declared sizes, before the decoder reserves memory for them.
    let mut uncompressed = 0i64;
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            let column = chunk.column_path().string();
            let (start, length) = chunk.byte_range();
            let end = start.checked_add(length).filter(|&end| end <= size).ok_or_else(|| {
                bad(format!("declares column {column} at bytes beyond the file's {size}"))
            })?;
            let pages = &bytes[start as usize..end as usize];
            uncompressed = uncompressed.saturating_add(
                page_sizes(pages).map_err(|e| bad(format!("column {column}: {e}")))?,
            );
            if uncompressed > MAX_UNCOMPRESSED_BYTES {
                return Err(bad(format!(
                    "declares more than {MAX_UNCOMPRESSED_BYTES} bytes of decoded pages"
                )));
            }
        }
    }
    let row = match reader.get_row_iter(None).map(|mut rows| rows.next()) {
        Ok(Some(Ok(row))) => row,
        Ok(Some(Err(e))) | Err(e) => return Err(bad(format!("cannot be decoded: {e}"))),
        Ok(None) => return Err(bad("holds no row".into())),
    };
    let fields = row
        .get_column_iter()
        .map(|(name, field)| Ok((name.clone(), convert(field).map_err(&bad)?)))
        .collect::<Result<Vec<_>, SparkProblem>>()?;
    Ok(Field::Struct(fields))
}

/// The crate's value as a plain one; types a Spark model never writes are refused.
fn convert(field: &ParquetField) -> Result<Field, String> {
    Ok(match field {
        ParquetField::Null => Field::Null,
        ParquetField::Bool(b) => Field::Bool(*b),
        ParquetField::Byte(v) => Field::Int(i64::from(*v)),
        ParquetField::Short(v) => Field::Int(i64::from(*v)),
        ParquetField::Int(v) => Field::Int(i64::from(*v)),
        ParquetField::Long(v) => Field::Int(*v),
        ParquetField::Float(v) => Field::Double(f64::from(*v)),
        ParquetField::Double(v) => Field::Double(*v),
        ParquetField::Str(s) => Field::Text(s.clone()),
        ParquetField::ListInternal(list) => {
            Field::List(list.elements().iter().map(convert).collect::<Result<_, _>>()?)
        }
        ParquetField::Group(row) => Field::Struct(
            row.get_column_iter()
                .map(|(name, field)| Ok((name.clone(), convert(field)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => return Err(format!("holds a value of a type Spark models do not write: {other}")),
    })
}

/// Walks a column chunk's pages by their headers; returns the bytes they declare decoded.
/// Each page must lie inside the chunk and declare at most [`MAX_PAGE_BYTES`].
fn page_sizes(mut chunk: &[u8]) -> Result<i64, String> {
    let mut total = 0i64;
    let mut pages = 0;
    while !chunk.is_empty() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(format!("has more than {MAX_PAGES} pages"));
        }
        let mut header = Compact { bytes: chunk, at: 0 };
        let (decoded, stored) = header.page_header()?;
        if !(0..=MAX_PAGE_BYTES).contains(&decoded) {
            return Err(format!(
                "a page declares {decoded} decoded bytes (at most {MAX_PAGE_BYTES})"
            ));
        }
        let body = usize::try_from(stored)
            .ok()
            .filter(|&n| n <= chunk.len() - header.at)
            .ok_or_else(|| format!("a page declares {stored} stored bytes beyond its column"))?;
        total += decoded;
        chunk = &chunk[header.at + body..];
    }
    Ok(total)
}

/// A reader of Thrift's compact protocol, enough to read a Parquet page header and skip what
/// it does not need.
struct Compact<'b> {
    bytes: &'b [u8],
    at: usize,
}

/// Nesting of structs and lists skipped in a page header.
const MAX_THRIFT_DEPTH: usize = 8;

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or("a page header is cut short")?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a page header holds an overlong number".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip_bytes(&mut self, n: u64) -> Result<(), String> {
        let n = usize::try_from(n).ok().filter(|&n| n <= self.bytes.len() - self.at);
        self.at += n.ok_or("a page header's field runs past its column")?;
        Ok(())
    }

    /// The `PageHeader` struct: returns its uncompressed (field 2) and compressed (field 3)
    /// page sizes.
    fn page_header(&mut self) -> Result<(i64, i64), String> {
        let (mut decoded, mut stored) = (None, None);
        let mut id = 0i64;
        loop {
            let header = self.byte()?;
            let kind = header & 0x0f;
            if kind == 0 {
                break;
            }
            id = match header >> 4 {
                0 => self.zigzag()?,
                delta => id + i64::from(delta),
            };
            match (id, kind) {
                (2, 5) => decoded = Some(self.zigzag()?),
                (3, 5) => stored = Some(self.zigzag()?),
                _ => self.skip(kind, 0, false)?,
            }
        }
        match (decoded, stored) {
            (Some(d), Some(s)) => Ok((d, s)),
            _ => Err("a page header lacks its sizes".into()),
        }
    }

    /// Skips a value of compact type `kind`; a boolean `element` of a list or map takes a
    /// byte, a boolean field none (its value is its type).
    fn skip(&mut self, kind: u8, depth: usize, element: bool) -> Result<(), String> {
        if depth > MAX_THRIFT_DEPTH {
            return Err("a page header nests too deep".into());
        }
        match kind {
            1 | 2 if element => self.skip_bytes(1),
            1 | 2 => Ok(()),
            3 => self.skip_bytes(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip_bytes(8),
            8 => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            9 | 10 => {
                let header = self.byte()?;
                let n = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                if n > (self.bytes.len() - self.at) as u64 {
                    return Err("a page header's list is longer than its column".into());
                }
                for _ in 0..n {
                    self.skip(header & 0x0f, depth + 1, true)?;
                }
                Ok(())
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                if n > (self.bytes.len() - self.at) as u64 {
                    return Err("a page header's map is longer than its column".into());
                }
                let types = self.byte()?;
                for _ in 0..n {
                    self.skip(types >> 4, depth + 1, true)?;
                    self.skip(types & 0x0f, depth + 1, true)?;
                }
                Ok(())
            }
            12 => loop {
                let header = self.byte()?;
                if header & 0x0f == 0 {
                    return Ok(());
                }
                if header >> 4 == 0 {
                    self.zigzag()?;
                }
                self.skip(header & 0x0f, depth + 1, false)?;
            },
            other => Err(format!("a page header holds a field of unknown type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page header (compact protocol): type DATA_PAGE, the two sizes, a CRC, then a data
    /// page header struct holding a bool field and a list of bools, and `body` bytes.
    fn page(decoded: i64, stored: i64, body: usize) -> Vec<u8> {
        let zigzag = |v: i64| {
            let mut z = ((v << 1) ^ (v >> 63)) as u64;
            let mut out = Vec::new();
            loop {
                let b = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(b);
                    return out;
                }
                out.push(b | 0x80);
            }
        };
        let mut bytes = vec![0x15];
        bytes.extend(zigzag(0));
        bytes.push(0x15);
        bytes.extend(zigzag(decoded));
        bytes.push(0x15);
        bytes.extend(zigzag(stored));
        bytes.push(0x15);
        bytes.extend(zigzag(12345));
        // Field 5, a struct: field 1 a true boolean, field 2 a list of three booleans.
        bytes.extend([0x1c, 0x11, 0x19, 0x31, 0x01, 0x00, 0x01, 0x00, 0x00]);
        bytes.extend(std::iter::repeat_n(7u8, body));
        bytes
    }

    #[test]
    fn page_headers_are_walked_and_their_sizes_bounded_before_decoding() {
        let mut chunk = page(100, 10, 10);
        chunk.extend(page(50, 3, 3));
        assert_eq!(page_sizes(&chunk), Ok(150));
        let huge = page(i64::from(i32::MAX), 10, 10);
        assert!(page_sizes(&huge).unwrap_err().contains("declares 2147483647 decoded bytes"));
        let beyond = page(100, 11, 10);
        assert!(page_sizes(&beyond).unwrap_err().contains("11 stored bytes beyond its column"));
        let negative = page(-1, 10, 10);
        assert!(page_sizes(&negative).unwrap_err().contains("declares -1 decoded bytes"));
        let cut = &page(100, 10, 10)[..5];
        assert!(page_sizes(cut).unwrap_err().contains("cut short"));
    }
}
