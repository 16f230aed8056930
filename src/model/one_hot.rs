//! OneHotEncoder(handle_unknown="ignore") with scikit-learn's semantics for text columns: the
//! categories of each column are its distinct values in sorted (code point) order, with a
//! missing value as a category of its own placed last; a value not seen at fit time encodes as
//! all zeros. Output columns go column by column, each in `categories_` order.

use std::collections::HashMap;

use ndarray::ArrayView2;

use crate::data::MISSING_CODE;

/// A category of a column: a value, or missing (`None`).
pub type Category = Option<String>;

/// A fitted OneHotEncoder.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedOneHotEncoder {
    categories: Vec<Vec<Category>>,
    /// Per column, where its first output column is.
    offsets: Vec<usize>,
}

impl FittedOneHotEncoder {
    /// Fits on the categorical cells `codes` (one column per categorical column), which index
    /// `values` (one list per column) or are [`MISSING_CODE`].
    pub fn fit(codes: ArrayView2<u32>, values: &[Vec<String>]) -> FittedOneHotEncoder {
        let mut categories = Vec::with_capacity(values.len());
        for (column_codes, column_values) in codes.columns().into_iter().zip(values) {
            let mut seen = vec![false; column_values.len()];
            let mut missing = false;
            for &code in column_codes {
                if code == MISSING_CODE {
                    missing = true;
                } else {
                    seen[code as usize] = true;
                }
            }
            let mut found: Vec<&String> =
                column_values.iter().zip(&seen).filter(|(_, s)| **s).map(|(v, _)| v).collect();
            // `str` orders by bytes, which for UTF-8 is code point order, as numpy sorts.
            found.sort_unstable();
            let mut column: Vec<Category> = found.into_iter().map(|v| Some(v.clone())).collect();
            if missing {
                column.push(None);
            }
            categories.push(column);
        }
        FittedOneHotEncoder::from_categories(categories)
    }

    /// An encoder fitted elsewhere, from its `categories_`.
    pub fn from_categories(categories: Vec<Vec<Category>>) -> FittedOneHotEncoder {
        let mut offsets = Vec::with_capacity(categories.len());
        let mut next = 0;
        for column in &categories {
            offsets.push(next);
            next += column.len();
        }
        FittedOneHotEncoder { categories, offsets }
    }

    /// Per column, its categories in output order (`categories_`); `None` is missing.
    pub fn categories(&self) -> &[Vec<Category>] {
        &self.categories
    }

    /// Output columns in all.
    pub fn n_outputs(&self) -> usize {
        self.categories.iter().map(Vec::len).sum()
    }

    /// Per categorical column whose codes index `values`, the output column of each code, or
    /// `None` for an unknown value.
    pub fn columns_of_codes(&self, values: &[Vec<String>]) -> Vec<CodeColumns> {
        self.categories
            .iter()
            .zip(&self.offsets)
            .zip(values)
            .map(|((categories, &offset), values)| {
                let index: HashMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.as_deref().map(|c| (c, i)))
                    .collect();
                CodeColumns {
                    of_value: values
                        .iter()
                        .map(|v| index.get(v.as_str()).map(|i| (offset + i) as u32))
                        .collect(),
                    of_missing: categories
                        .last()
                        .is_some_and(Option::is_none)
                        .then(|| (offset + categories.len() - 1) as u32),
                }
            })
            .collect()
    }
}

/// Output columns of one column's codes.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeColumns {
    of_value: Vec<Option<u32>>,
    of_missing: Option<u32>,
}

impl CodeColumns {
    /// The output column of `code`, if it has one.
    pub fn column(&self, code: u32) -> Option<u32> {
        if code == MISSING_CODE { self.of_missing } else { self.of_value[code as usize] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn strings(values: Vec<Vec<&str>>) -> Vec<Vec<String>> {
        values.into_iter().map(|v| v.into_iter().map(String::from).collect()).collect()
    }

    #[test]
    fn categories_are_sorted_with_missing_last_and_unknown_values_have_no_column() {
        const M: u32 = MISSING_CODE;
        let codes = array![[0, 1], [1, M], [2, 0]];
        let training = strings(vec![vec!["b", "B", "a"], vec!["y", "x"]]);
        let encoder = FittedOneHotEncoder::fit(codes.view(), &training);
        let expected: Vec<Vec<Category>> = vec![
            vec![Some("B".into()), Some("a".into()), Some("b".into())],
            vec![Some("x".into()), Some("y".into()), None],
        ];
        assert_eq!(encoder.categories(), expected);
        assert_eq!(encoder.n_outputs(), 6);
        // New rows with their own dictionary: "c" is unknown, the first column has no missing
        // category.
        let columns = encoder.columns_of_codes(&strings(vec![vec!["a", "c"], vec!["y", "x"]]));
        assert_eq!(columns[0].column(0), Some(1));
        assert_eq!(columns[0].column(1), None);
        assert_eq!(columns[0].column(M), None);
        assert_eq!(columns[1].column(0), Some(4));
        assert_eq!(columns[1].column(M), Some(5));
    }
}
