//! Feature cells to `f64`: a fast path for the short decimals that make up almost every CSV,
//! the fast-float2 crate for everything else, and a named reason for every refusal.
//!
//! Parsing dominates reading time. The fast path handles `[+-]digits[.digits]` with at most 19
//! significant digits by Clinger's method: when the digits form an integer below 2^53 and the
//! power of ten is at most 22, both are exact in f64 and one division (or multiplication) gives
//! the correctly rounded result, so it agrees bit for bit with any correct parser. Measured on
//! the benchmark file: 18 ns per cell with fast-float2 alone, 22 ns with the standard library.

use crate::error::{Error, Location};
use crate::util::excerpt;

/// Why a feature cell is not a usable number.
#[derive(Debug, PartialEq)]
pub(crate) enum CellProblem {
    InvalidUtf8,
    Empty,
    Missing(String),
    Infinite(String),
    OutOfRange(String),
    NotANumber(String),
}

impl CellProblem {
    /// The error for this problem at a cell.
    pub(crate) fn at(self, at: Location) -> Error {
        match self {
            CellProblem::InvalidUtf8 => Error::InvalidUtf8 { at },
            CellProblem::Empty => Error::EmptyCell { at },
            CellProblem::Missing(value) => Error::MissingValue { at, value },
            CellProblem::Infinite(value) => Error::Infinite { at, value },
            CellProblem::OutOfRange(value) => Error::OutOfRange { at, value },
            CellProblem::NotANumber(value) => Error::NotANumber { at, value },
        }
    }
}

/// Parses an integer category cell: a number as [`parse_number`] reads it (so `3`, ` 3 ` and
/// `3.0` alike, as pandas reads a column of whole numbers) that is whole and within int64.
pub(crate) fn parse_integer(cell: &[u8]) -> Option<i64> {
    let trimmed = cell.trim_ascii();
    if let Some(v) = std::str::from_utf8(trimmed).ok().and_then(|t| t.parse::<i64>().ok()) {
        return Some(v);
    }
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    let v = parse_number(trimmed).ok()?;
    (v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v)).then_some(v as i64)
}

/// Spellings of a missing value that pandas and spreadsheets write.
const MISSING_MARKERS: [&str; 9] = ["na", "n/a", "nan", "-nan", "null", "none", "nil", "#n/a", "?"];

/// Parses a feature cell. Surrounding whitespace is allowed (as in pandas); the number itself
/// is a decimal with optional sign, fraction and exponent (`1`, `-2.5`, `.5`, `5.`, `1e-3`), as
/// Python's `float` reads it minus underscores. Only finite values are accepted.
pub(crate) fn parse_number(cell: &[u8]) -> Result<f64, CellProblem> {
    let trimmed = cell.trim_ascii();
    if let Some(v) = short_decimal(trimmed) {
        return Ok(v);
    }
    if let Ok(v) = fast_float2::parse::<f64, _>(trimmed)
        && v.is_finite()
    {
        return Ok(v);
    }
    let text = std::str::from_utf8(trimmed).map_err(|_| CellProblem::InvalidUtf8)?;
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => Err(CellProblem::Missing(excerpt(text))),
        // `inf` and `infinity` are written as such; digits mean a finite literal that overflowed.
        Ok(_) if text.bytes().any(|b| b.is_ascii_digit()) => {
            Err(CellProblem::OutOfRange(excerpt(text)))
        }
        Ok(_) => Err(CellProblem::Infinite(excerpt(text))),
        Err(_) if text.is_empty() => Err(CellProblem::Empty),
        Err(_) if MISSING_MARKERS.contains(&text.to_ascii_lowercase().as_str()) => {
            Err(CellProblem::Missing(excerpt(text)))
        }
        Err(_) => Err(CellProblem::NotANumber(excerpt(text))),
    }
}

/// Powers of ten that are exact in f64.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Clinger's fast path for a whole cell `[+-]digits[.digits]`; `None` for anything it cannot
/// do exactly.
#[inline]
fn short_decimal(text: &[u8]) -> Option<f64> {
    short_decimal_prefix(text).filter(|&(_, used)| used == text.len()).map(|(v, _)| v)
}

/// Clinger's fast path for the `[+-]digits[.digits][e[+-]digits]` at the start of `text`: the
/// value and the number of bytes it spans, or `None` if there is no such number or it needs
/// the full parser (more than 19 digits, digits above 2^53, a power of ten beyond 1e22 once
/// the decimals are counted). Lets the reader parse a cell and find its end in one pass.
#[inline(always)]
pub(crate) fn short_decimal_prefix(text: &[u8]) -> Option<(f64, usize)> {
    let negative = text.first() == Some(&b'-');
    let mut i = usize::from(negative || text.first() == Some(&b'+'));
    let int_start = i;
    let (mut mantissa, end) = fold_digits(text, i, 0);
    i = end;
    let mut n_digits = i - int_start;
    let mut fraction_digits = 0;
    if text.get(i) == Some(&b'.') {
        i += 1;
        let fraction_start = i;
        (mantissa, i) = fold_digits(text, i, mantissa);
        fraction_digits = i - fraction_start;
        n_digits += fraction_digits;
    }
    // 19 digits always fit in a u64 (so the wrapping arithmetic above never wrapped).
    if n_digits == 0 || n_digits > 19 || mantissa > 1 << 53 {
        return None;
    }
    let mut power = -(fraction_digits as i64);
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        let negative_exponent = text.get(i) == Some(&b'-');
        i += usize::from(negative_exponent || text.get(i) == Some(&b'+'));
        let (exponent_start, mut exponent) = (i, 0i64);
        while let Some(d) = text.get(i).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9) {
            exponent = (exponent * 10 + i64::from(d)).min(1000);
            i += 1;
        }
        if i == exponent_start {
            return None;
        }
        power += if negative_exponent { -exponent } else { exponent };
    }
    // Both operands exact and one correctly rounded operation: the value is exact too.
    let exact = |p: i64| EXACT_POWERS_OF_TEN.get(p.unsigned_abs() as usize).copied();
    let value =
        if power >= 0 { mantissa as f64 * exact(power)? } else { mantissa as f64 / exact(power)? };
    Some((if negative { -value } else { value }, i))
}

/// The ASCII digits of `text` from `i` on, appended to `mantissa` (wrapping): the new mantissa
/// and the index after the last digit. Eight bytes at a time while eight remain, as one word:
/// which of them are digits, and their value, each from a few word operations.
#[inline(always)]
fn fold_digits(text: &[u8], mut i: usize, mut mantissa: u64) -> (u64, usize) {
    const POWERS: [u64; 9] =
        [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
    while let Some(bytes) = text.get(i..i + 8) {
        let word = u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
        // Digits become 0..=9; every other byte becomes 10 or more.
        let values = word ^ 0x3030_3030_3030_3030;
        let over_nine = (((values & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676) | values)
            & 0x8080_8080_8080_8080;
        let n = (over_nine.trailing_zeros() / 8) as usize;
        if n == 0 {
            return (mantissa, i);
        }
        // The n digits moved to the word's top bytes, the rest zero: leading zeros.
        let mut v = values << (8 * (8 - n));
        v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
        v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
        mantissa = mantissa.wrapping_mul(POWERS[n]).wrapping_add(v);
        i += n;
        if n < 8 {
            return (mantissa, i);
        }
    }
    while let Some(d) = text.get(i).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    (mantissa, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight digits at a time reads what one at a time reads, wherever the digits stop.
    #[test]
    fn folding_digits_a_word_at_a_time_is_folding_them_one_at_a_time() {
        let one_at_a_time = |text: &[u8], mut i: usize| {
            let mut mantissa = 7u64;
            while let Some(d) = text.get(i).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9) {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
                i += 1;
            }
            (mantissa, i)
        };
        let mut state = 1u64;
        for _ in 0..200_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (state >> 59) as usize;
            let text: Vec<u8> = (0..len)
                .map(|k| {
                    let r = (state >> (k % 48)) as u8;
                    if r.is_multiple_of(5) {
                        [b'.', b',', b'e', b'/', b':', 0, 0xff][usize::from(r) % 7]
                    } else {
                        b'0' + r % 10
                    }
                })
                .collect();
            for start in 0..=text.len() {
                assert_eq!(
                    fold_digits(&text, start, 7),
                    one_at_a_time(&text, start),
                    "{text:?} from {start}"
                );
            }
        }
    }

    #[test]
    fn parses_the_usual_spellings_of_numbers() {
        for (text, value) in [
            ("1", 1.0),
            (" -2.5 ", -2.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("+1e-3", 1e-3),
            ("\t7\r", 7.0),
        ] {
            assert_eq!(parse_number(text.as_bytes()), Ok(value), "{text:?}");
        }
    }

    #[test]
    fn the_fast_path_reads_exponents_exactly_and_leaves_the_rest_to_the_full_parser() {
        for text in [
            "1e5",
            "1.5e-3",
            "-2.25E+2",
            "1.23457e+06",
            "9.99999e-05",
            "3e22",
            "12345.678e-19",
            "1e0",
            "0e0",
            "7E-22",
        ] {
            let parsed = short_decimal(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(parsed, text.parse::<f64>().unwrap(), "{text}");
        }
        for text in ["1e", "1e+", "1e23", "1e-23", "1.5e-22", "1e99999999999", "e5", "1e5x"] {
            assert_eq!(short_decimal(text.as_bytes()), None, "{text}");
        }
        // Where the fast path declines, the full parser reads the cell as Rust does.
        for text in ["1e23", "1.5e-22", "4.9e-324", "1.7976931348623157e308"] {
            assert_eq!(parse_number(text.as_bytes()), Ok(text.parse::<f64>().unwrap()), "{text}");
        }
    }

    #[test]
    fn keeps_the_sign_of_zero() {
        assert!(parse_number(b"-0.0").unwrap().is_sign_negative());
        assert!(parse_number(b"0.000").unwrap().is_sign_positive());
    }

    #[test]
    fn integer_cells_are_whole_numbers_within_int64() {
        assert_eq!(parse_integer(b"3"), Some(3));
        assert_eq!(parse_integer(b" -12 "), Some(-12));
        assert_eq!(parse_integer(b"+7"), Some(7));
        assert_eq!(parse_integer(b"3.0"), Some(3));
        assert_eq!(parse_integer(b"1e3"), Some(1000));
        assert_eq!(parse_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_integer(b"9223372036854775808"), None);
        assert_eq!(parse_integer(b"2.5"), None);
        assert_eq!(parse_integer(b"three"), None);
        assert_eq!(parse_integer(b""), None);
        assert_eq!(parse_integer(b"nan"), None);
    }

    #[test]
    fn names_the_problem_with_a_cell() {
        assert_eq!(parse_number(b""), Err(CellProblem::Empty));
        assert_eq!(parse_number(b"  "), Err(CellProblem::Empty));
        assert_eq!(parse_number(b"NaN"), Err(CellProblem::Missing("NaN".into())));
        assert_eq!(parse_number(b"N/A"), Err(CellProblem::Missing("N/A".into())));
        assert_eq!(parse_number(b"-inf"), Err(CellProblem::Infinite("-inf".into())));
        assert_eq!(parse_number(b"1e400"), Err(CellProblem::OutOfRange("1e400".into())));
        assert_eq!(parse_number(b"12,5"), Err(CellProblem::NotANumber("12,5".into())));
        assert_eq!(parse_number(b"1_000"), Err(CellProblem::NotANumber("1_000".into())));
        assert_eq!(parse_number(b"."), Err(CellProblem::NotANumber(".".into())));
        assert_eq!(parse_number(b"-"), Err(CellProblem::NotANumber("-".into())));
        assert_eq!(parse_number(b"1.2.3"), Err(CellProblem::NotANumber("1.2.3".into())));
        assert_eq!(parse_number(b"\xff1"), Err(CellProblem::InvalidUtf8));
    }

    /// The fast path must agree bit for bit with the standard library's correctly rounded
    /// parser, including at the edges of where it applies (19 digits, 2^53, 22 decimals).
    #[test]
    fn the_fast_path_agrees_with_the_standard_library_bit_for_bit() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for _ in 0..200_000 {
            let n_int = (next() % 12) as usize;
            let n_frac = (next() % 24) as usize;
            let mut text = String::new();
            match next() % 3 {
                0 => text.push('-'),
                1 => text.push('+'),
                _ => {}
            }
            text.extend((0..n_int).map(|_| char::from(b'0' + (next() % 10) as u8)));
            if n_frac > 0 || next() % 2 == 0 {
                text.push('.');
                text.extend((0..n_frac).map(|_| char::from(b'0' + (next() % 10) as u8)));
            }
            let expected = text.parse::<f64>().ok();
            let fast = short_decimal(text.as_bytes());
            if let Some(v) = fast {
                assert_eq!(Some(v.to_bits()), expected.map(f64::to_bits), "{text:?}");
                checked += 1;
            }
            assert_eq!(
                parse_number(text.as_bytes()).ok().map(f64::to_bits),
                expected.map(f64::to_bits),
                "{text:?}"
            );
        }
        assert!(checked > 50_000, "the fast path handled only {checked} cases");
        for edge in [
            "9007199254740992",
            "9007199254740993",
            "1234567890123456789",
            "0.0000000000000000000001",
        ] {
            assert_eq!(parse_number(edge.as_bytes()).ok(), edge.parse::<f64>().ok(), "{edge:?}");
        }
    }
}
