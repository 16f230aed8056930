//! Spark's vectors and matrices as its Parquet files store them (`VectorUDT`, `MatrixUDT`):
//! a struct with a `type` (0 sparse, 1 dense) and the arrays of that form. A matrix stored
//! `isTransposed` is row-major (dense) or compressed by row (sparse); otherwise column-major or
//! compressed by column. Every index and length is checked against the declared shape.

use ndarray::Array2;

use super::parquet::Field;

/// Elements of one vector or matrix.
const MAX_ELEMENTS: usize = 1 << 26;

/// A dense vector from a `VectorUDT` struct.
pub fn vector(field: &Field) -> Result<Vec<f64>, String> {
    let values = doubles(field, "values")?;
    match kind(field)? {
        1 => Ok(values),
        _ => {
            let size = count(field, "size")?;
            let indices = ints(field, "indices")?;
            if indices.len() != values.len() {
                return Err(format!(
                    "a sparse vector has {} indices for {} values",
                    indices.len(),
                    values.len()
                ));
            }
            let mut dense = vec![0.0; size];
            let mut previous = None;
            for (&i, &v) in indices.iter().zip(&values) {
                let Some(i) = usize::try_from(i).ok().filter(|&i| i < size) else {
                    return Err(format!("a sparse vector of size {size} has index {i}"));
                };
                if previous.is_some_and(|p| p >= i) {
                    return Err("a sparse vector's indices are not increasing".into());
                }
                previous = Some(i);
                dense[i] = v;
            }
            Ok(dense)
        }
    }
}

/// A dense matrix from a `MatrixUDT` struct.
pub fn matrix(field: &Field) -> Result<Array2<f64>, String> {
    let rows = count(field, "numRows")?;
    let cols = count(field, "numCols")?;
    if rows.saturating_mul(cols) > MAX_ELEMENTS {
        return Err(format!("a matrix of {rows} x {cols} is larger than {MAX_ELEMENTS} elements"));
    }
    let transposed = match field.get("isTransposed") {
        Some(Field::Bool(b)) => *b,
        _ => return Err("a matrix has no isTransposed".into()),
    };
    let values = doubles(field, "values")?;
    if kind(field)? == 1 {
        if values.len() != rows * cols {
            return Err(format!("a dense {rows} x {cols} matrix has {} values", values.len()));
        }
        return Ok(if transposed {
            Array2::from_shape_vec((rows, cols), values).expect("checked length")
        } else {
            Array2::from_shape_vec((cols, rows), values).expect("checked length").reversed_axes()
        });
    }
    // Compressed: by row when transposed, else by column.
    let (outer, inner) = if transposed { (rows, cols) } else { (cols, rows) };
    let pointers = ints(field, "colPtrs")?;
    let indices = ints(field, "rowIndices")?;
    if pointers.len() != outer + 1
        || pointers.first() != Some(&0)
        || pointers.windows(2).any(|w| w[0] > w[1])
        || pointers.last().copied() != i64::try_from(values.len()).ok()
        || indices.len() != values.len()
    {
        return Err(format!(
            "a sparse {rows} x {cols} matrix's pointers and indices do not fit its {} values",
            values.len()
        ));
    }
    let mut dense = Array2::zeros((rows, cols));
    for o in 0..outer {
        let (start, end) = (pointers[o] as usize, pointers[o + 1] as usize);
        for k in start..end {
            let Some(i) = usize::try_from(indices[k]).ok().filter(|&i| i < inner) else {
                return Err(format!("a sparse matrix has index {} of {inner}", indices[k]));
            };
            let at = if transposed { (o, i) } else { (i, o) };
            dense[at] = values[k];
        }
    }
    Ok(dense)
}

/// The `type` of a vector or matrix struct: 0 (sparse) or 1 (dense).
fn kind(field: &Field) -> Result<i64, String> {
    match field.get("type") {
        Some(Field::Int(k @ (0 | 1))) => Ok(*k),
        Some(other) => Err(format!("a vector or matrix has type {other:?}, not 0 or 1")),
        None => Err(format!("{} is not a vector or matrix", field.kind())),
    }
}

/// A non-negative integer field, as a length.
fn count(field: &Field, name: &str) -> Result<usize, String> {
    match field.get(name) {
        Some(Field::Int(n)) if *n >= 0 && (*n as u64) <= MAX_ELEMENTS as u64 => Ok(*n as usize),
        Some(other) => Err(format!("{name} is {other:?}, not a size")),
        None => Err(format!("{name} is missing")),
    }
}

fn doubles(field: &Field, name: &str) -> Result<Vec<f64>, String> {
    list(field, name, "doubles", |v| match v {
        Field::Double(x) => Some(*x),
        _ => None,
    })
}

fn ints(field: &Field, name: &str) -> Result<Vec<i64>, String> {
    list(field, name, "integers", |v| match v {
        Field::Int(x) => Some(*x),
        _ => None,
    })
}

/// The list field `name`, each item as `pick` reads it (`what` they are, for messages).
fn list<T>(
    field: &Field,
    name: &str,
    what: &str,
    pick: impl Fn(&Field) -> Option<T>,
) -> Result<Vec<T>, String> {
    match field.get(name) {
        Some(Field::List(items)) if items.len() <= MAX_ELEMENTS => items
            .iter()
            .map(|v| pick(v).ok_or_else(|| format!("{name} holds {}, not {what}", v.kind())))
            .collect(),
        _ => Err(format!("{name} is not a list of {what}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_f(values: &[f64]) -> Field {
        Field::List(values.iter().map(|&v| Field::Double(v)).collect())
    }
    fn list_i(values: &[i64]) -> Field {
        Field::List(values.iter().map(|&v| Field::Int(v)).collect())
    }
    fn sparse_matrix(rows: i64, cols: i64, ptrs: &[i64], idx: &[i64], v: &[f64], t: bool) -> Field {
        Field::Struct(vec![
            ("type".into(), Field::Int(0)),
            ("numRows".into(), Field::Int(rows)),
            ("numCols".into(), Field::Int(cols)),
            ("colPtrs".into(), list_i(ptrs)),
            ("rowIndices".into(), list_i(idx)),
            ("values".into(), list_f(v)),
            ("isTransposed".into(), Field::Bool(t)),
        ])
    }

    #[test]
    fn sparse_and_dense_forms_give_the_same_matrix() {
        // [[1, 0, 2], [0, 3, 0]] by row (transposed) and by column.
        let by_row = sparse_matrix(2, 3, &[0, 2, 3], &[0, 2, 1], &[1.0, 2.0, 3.0], true);
        let by_col = sparse_matrix(2, 3, &[0, 1, 2, 3], &[0, 1, 0], &[1.0, 3.0, 2.0], false);
        let expected = ndarray::array![[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]];
        assert_eq!(matrix(&by_row).unwrap(), expected);
        assert_eq!(matrix(&by_col).unwrap(), expected);
        let dense = |values: &[f64], t: bool| {
            Field::Struct(vec![
                ("type".into(), Field::Int(1)),
                ("numRows".into(), Field::Int(2)),
                ("numCols".into(), Field::Int(3)),
                ("colPtrs".into(), Field::Null),
                ("rowIndices".into(), Field::Null),
                ("values".into(), list_f(values)),
                ("isTransposed".into(), Field::Bool(t)),
            ])
        };
        assert_eq!(matrix(&dense(&[1.0, 0.0, 2.0, 0.0, 3.0, 0.0], true)).unwrap(), expected);
        assert_eq!(matrix(&dense(&[1.0, 0.0, 0.0, 3.0, 2.0, 0.0], false)).unwrap(), expected);
    }

    #[test]
    fn lying_shapes_and_indices_are_refused() {
        let outside = sparse_matrix(2, 3, &[0, 2, 3], &[0, 3, 1], &[1.0, 2.0, 3.0], true);
        assert!(matrix(&outside).unwrap_err().contains("index 3 of 3"));
        let short = sparse_matrix(2, 3, &[0, 2, 4], &[0, 2, 1], &[1.0, 2.0, 3.0], true);
        assert!(matrix(&short).unwrap_err().contains("do not fit its 3 values"));
        let vector_field = |size: i64, idx: &[i64]| {
            Field::Struct(vec![
                ("type".into(), Field::Int(0)),
                ("size".into(), Field::Int(size)),
                ("indices".into(), list_i(idx)),
                ("values".into(), list_f(&[1.0, 2.0])),
            ])
        };
        assert_eq!(vector(&vector_field(4, &[1, 3])).unwrap(), vec![0.0, 1.0, 0.0, 2.0]);
        assert!(vector(&vector_field(3, &[1, 3])).unwrap_err().contains("has index 3"));
        assert!(vector(&vector_field(4, &[3, 1])).unwrap_err().contains("not increasing"));
        let huge = sparse_matrix(1 << 20, 1 << 20, &[0], &[], &[], true);
        assert!(matrix(&huge).unwrap_err().contains("larger than"));
    }
}
