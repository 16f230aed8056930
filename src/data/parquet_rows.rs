//! Rows of a Parquet file (as Spark or pandas write a table) read as a column pipeline's
//! cells, by column name, for `convert --data`: numbers from any numeric column (null or NaN is
//! missing), texts from string columns (null is missing). The decoder runs under a panic guard:
//! a file it cannot read is an error naming it, never a crash.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use ndarray::Array2;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::cell_rows::{CellColumns, CellRows, TextCodes};
use super::{Cells, MISSING_CODE};
use crate::error::{Error, Result};
use crate::util::catch_panic;

/// Reads every row of the Parquet file at `path`, taking the columns of `columns` by name.
pub fn read_parquet_cells(path: &Path, columns: CellColumns) -> Result<CellRows> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    catch_panic(|| read(file, &name, columns)).unwrap_or_else(|message| {
        Err(unreadable(&name, format!("the Parquet decoder stopped: {message}")))
    })
}

fn unreadable(file: &str, message: String) -> Error {
    Error::DataUnreadable { file: file.to_owned(), message }
}

fn read(file: File, name: &str, columns: CellColumns) -> Result<CellRows> {
    let reader = SerializedFileReader::new(file).map_err(|e| unreadable(name, e.to_string()))?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let present: Vec<String> =
        schema.root_schema().get_fields().iter().map(|f| f.name().to_owned()).collect();
    for column in columns.names() {
        if !present.contains(&column) {
            return Err(Error::MissingColumn {
                file: name.to_owned(),
                name: column,
                why: "the model reads it".into(),
                columns: present.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "),
            });
        }
    }
    let n_numeric = columns.numeric.len();
    let texts = columns.categorical.len();
    let mut numeric = Vec::new();
    let mut codes: Vec<Vec<u32>> = vec![Vec::new(); texts];
    let mut values = vec![TextCodes::default(); texts];
    let mut lines = Vec::new();
    let rows = reader.get_row_iter(None).map_err(|e| unreadable(name, e.to_string()))?;
    for (r, row) in rows.enumerate() {
        let row_number = r as u64 + 1;
        let row = row.map_err(|e| unreadable(name, format!("row {row_number}: {e}")))?;
        let fields: HashMap<&str, &Field> =
            row.get_column_iter().map(|(n, f)| (n.as_str(), f)).collect();
        let bad = |column: &str, message: String| Error::BadColumn {
            file: name.to_owned(),
            column: column.to_owned(),
            message: format!("row {row_number}: {message}"),
        };
        for column in columns.numeric {
            let value = number(fields[column.as_str()]).ok_or_else(|| {
                bad(column, format!("{} is not a number", kind(fields[column.as_str()])))
            })?;
            numeric.push(value);
        }
        for (k, column) in columns.categorical.iter().enumerate() {
            let field = fields[column.as_str()];
            let text = match (field, columns.integer[k]) {
                (Field::Null, true) => {
                    return Err(bad(column, "the integer category is missing".into()));
                }
                (Field::Null, false) => None,
                (Field::Str(text), false) => Some(text.clone()),
                (field, true) => Some(
                    integer(field)
                        .ok_or_else(|| bad(column, format!("{} is not an integer", kind(field))))?
                        .to_string(),
                ),
                (field, false) => {
                    return Err(bad(column, format!("{} is not a string", kind(field))));
                }
            };
            codes[k].push(match text {
                None => MISSING_CODE,
                Some(text) => values[k].code(&text),
            });
        }
        lines.push(row_number);
    }
    let rows = lines.len();
    if rows == 0 {
        return Err(Error::NoRows { file: name.to_owned() });
    }
    let numeric = Array2::from_shape_vec((rows, n_numeric), numeric)
        .expect("every row has one number per numeric column");
    let codes = Array2::from_shape_fn((rows, texts), |(r, k)| codes[k][r]);
    let values = values.into_iter().map(TextCodes::into_values).collect();
    Ok(CellRows { cells: Cells { numeric, codes, values }, lines })
}

/// A numeric field as f64 (null and NaN are missing: NaN); `None` for anything else.
fn number(field: &Field) -> Option<f64> {
    Some(match field {
        Field::Null => f64::NAN,
        Field::Double(v) => *v,
        Field::Float(v) => f64::from(*v),
        Field::Float16(v) => f64::from(*v),
        _ => integer(field)? as f64,
    })
}

/// An integer field; `None` for anything else.
fn integer(field: &Field) -> Option<i128> {
    Some(match field {
        Field::Byte(v) => i128::from(*v),
        Field::Short(v) => i128::from(*v),
        Field::Int(v) => i128::from(*v),
        Field::Long(v) => i128::from(*v),
        Field::UByte(v) => i128::from(*v),
        Field::UShort(v) => i128::from(*v),
        Field::UInt(v) => i128::from(*v),
        Field::ULong(v) => i128::from(*v),
        _ => return None,
    })
}

/// What a field holds, for messages.
fn kind(field: &Field) -> String {
    match field {
        Field::Null => "null".into(),
        Field::Bool(v) => format!("the boolean {v}"),
        Field::Str(text) => format!("the string {:?}", crate::util::excerpt(text)),
        Field::Bytes(_) => "a byte string".into(),
        Field::Decimal(_) => "a decimal".into(),
        Field::Date(_) | Field::TimestampMillis(_) | Field::TimestampMicros(_) => {
            "a date or time".into()
        }
        Field::Group(_) => "a struct".into(),
        Field::ListInternal(_) => "a list".into(),
        Field::MapInternal(_) => "a map".into(),
        other => format!("{other}"),
    }
}
