//! Which cells mean "no value": the spellings pandas' `read_csv` treats as missing by default
//! (`pandas._libs.parsers.STR_NA_VALUES`), so that a table reads as a scikit-learn user's
//! `pd.read_csv(path)` reads it.

/// The default missing-value spellings of pandas, matched exactly (case-sensitive, untrimmed).
pub const MISSING_TOKENS: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether a cell is one of [`MISSING_TOKENS`].
#[inline]
pub fn is_missing(cell: &[u8]) -> bool {
    // Every token is at most 8 bytes: most cells are rejected by their length alone.
    cell.len() <= 8 && MISSING_TOKENS.iter().any(|token| token.as_bytes() == cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pandas_spellings_exactly() {
        for token in MISSING_TOKENS {
            assert!(is_missing(token.as_bytes()), "{token:?}");
        }
        for not in ["na", "Nan", " NA", "NA ", "?", "-", "none", "NULL "] {
            assert!(!is_missing(not.as_bytes()), "{not:?}");
        }
    }
}
