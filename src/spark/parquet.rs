//! A Spark model's `data/part-*.parquet`: one row of fitted values (snappy-compressed, data
//! pages v1, plain or dictionary encoded), read with the `parquet` crate into plain values.
//! The file's footer is checked before any page is decoded: one row, a bounded schema and
//! column chunks whose declared sizes fit the file and the limits.

use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field as ParquetField;

use super::SparkProblem;
use super::files::ReadFile;

/// Leaf columns of one data file (an Imputer writes one per input column).
const MAX_COLUMNS: usize = 100_000;
/// Bytes the decoded column chunks of one file may take together.
const MAX_UNCOMPRESSED_BYTES: i64 = 1 << 30;
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
pub fn read_row(file: &ReadFile) -> Result<Field, SparkProblem> {
    let bad = |message: String| SparkProblem::unreadable(&file.path, message);
    let reader = SerializedFileReader::new(Bytes::from(file.bytes.clone()))
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
    let size = file.bytes.len() as i64;
    let mut uncompressed = 0i64;
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            let (start, length) = chunk.byte_range();
            let inside = start.checked_add(length).is_some_and(|end| end <= size as u64);
            if !inside || chunk.compressed_size() < 0 || chunk.uncompressed_size() < 0 {
                return Err(bad(format!(
                    "declares column {} at bytes beyond the file's {size}",
                    chunk.column_path().string()
                )));
            }
            uncompressed = uncompressed.saturating_add(chunk.uncompressed_size());
        }
    }
    if uncompressed > MAX_UNCOMPRESSED_BYTES {
        return Err(bad(format!(
            "declares {uncompressed} bytes of decoded columns, more than {MAX_UNCOMPRESSED_BYTES}"
        )));
    }
    let mut rows = reader.get_row_iter(None).map_err(|e| bad(format!("cannot be decoded: {e}")))?;
    let row = match rows.next() {
        Some(Ok(row)) => row,
        Some(Err(e)) => return Err(bad(format!("cannot be decoded: {e}"))),
        None => return Err(bad("holds no row".into())),
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
