//! Python's `int()` on the text of a protocol 0 opcode: the memo keys of PUT and GET are
//! `int(line)` and the values of INT and LONG `int(line, 0)`. A reader that parses less than
//! Python does stops where the loader goes on: `9_001` and ` +7` are memo keys to Python.
//!
//! The rules, for bytes: ASCII whitespace around, an optional sign, then digits in groups joined
//! by single underscores; with base 0 a `0x`, `0o` or `0b` prefix (any case, optionally followed
//! by an underscore) chooses the base, and a decimal number may start with 0 only if it is 0.

/// A memo key. Python's memo is a dict keyed by any integer, however large.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemoKey {
    Small(u64),
    /// The decimal digits of a key beyond `u64`, without leading zeros.
    Big(Box<str>),
}

/// An integer parsed from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyInt {
    Small(i64),
    /// Beyond `i64`: its value is not needed, only that it is an integer.
    Big,
}

/// `int(text)`: the memo key of a PUT or GET, or `None` where Python raises (a negative key
/// parses, and is then refused by PUT or never found by GET).
pub fn memo_key(text: &[u8]) -> Option<Result<MemoKey, Negative>> {
    let (negative, digits) = split_sign(trim(text))?;
    let digits = grouped_digits(digits, 10)?;
    if negative && digits.iter().any(|&d| d != b'0') {
        return Some(Err(Negative));
    }
    let significant = {
        let first = digits.iter().position(|&d| d != b'0').unwrap_or(digits.len());
        &digits[first..]
    };
    let small = significant
        .iter()
        .try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')));
    Some(Ok(match small {
        Some(n) => MemoKey::Small(n),
        None => MemoKey::Big(String::from_utf8(significant.to_vec()).expect("ASCII digits").into()),
    }))
}

/// A negative memo key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negative;

/// `int(text, 0)`, or `None` where Python raises.
pub fn int_base0(text: &[u8]) -> Option<PyInt> {
    let (negative, rest) = split_sign(trim(text))?;
    let lower = |i: usize| rest.get(i).map(u8::to_ascii_lowercase);
    let (base, digits) = match (rest.first(), lower(1)) {
        (Some(b'0'), Some(b'x')) => (16, &rest[2..]),
        (Some(b'0'), Some(b'o')) => (8, &rest[2..]),
        (Some(b'0'), Some(b'b')) => (2, &rest[2..]),
        _ => (10, rest),
    };
    // After a prefix one underscore may come before the first digit.
    let digits = if base != 10 { digits.strip_prefix(b"_").unwrap_or(digits) } else { digits };
    let digits = grouped_digits(digits, base)?;
    if base == 10 && digits.len() > 1 && digits[0] == b'0' && digits.iter().any(|&d| d != b'0') {
        return None;
    }
    let value = digits.iter().try_fold(0i64, |n, &d| {
        let d = i64::from(char::from(d).to_digit(base).expect("checked"));
        n.checked_mul(i64::from(base))?.checked_add(d)
    });
    Some(match value {
        Some(n) if negative => PyInt::Small(-n),
        Some(n) => PyInt::Small(n),
        None => PyInt::Big,
    })
}

fn trim(text: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = text.iter().position(|b| !space(b)).unwrap_or(text.len());
    let end = text.iter().rposition(|b| !space(b)).map_or(start, |i| i + 1);
    &text[start..end]
}

fn split_sign(text: &[u8]) -> Option<(bool, &[u8])> {
    match text.first()? {
        b'-' => Some((true, &text[1..])),
        b'+' => Some((false, &text[1..])),
        _ => Some((false, text)),
    }
}

/// The digits of `text` in `base` with the underscores between them taken out, or `None` if
/// it is empty, holds anything else, or has an underscore that does not join two digits.
fn grouped_digits(text: &[u8], base: u32) -> Option<Vec<u8>> {
    let mut digits = Vec::with_capacity(text.len());
    let mut after_digit = false;
    for &b in text {
        if b == b'_' {
            if !after_digit {
                return None;
            }
            after_digit = false;
        } else if char::from(b).is_digit(base) {
            digits.push(b);
            after_digit = true;
        } else {
            return None;
        }
    }
    (after_digit && !digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each expectation is what CPython 3.11's int() gives for the bytes.
    #[test]
    fn memo_keys_parse_as_python_parses_them() {
        let key = |t: &[u8]| memo_key(t);
        assert_eq!(key(b"9_001"), Some(Ok(MemoKey::Small(9001))));
        assert_eq!(key(b" 12 "), Some(Ok(MemoKey::Small(12))));
        assert_eq!(key(b"+5"), Some(Ok(MemoKey::Small(5))));
        assert_eq!(key(b"-0"), Some(Ok(MemoKey::Small(0))));
        assert_eq!(key(b"05"), Some(Ok(MemoKey::Small(5))));
        assert_eq!(key(b"\x0b7\x0c"), Some(Ok(MemoKey::Small(7))));
        assert_eq!(key(b"-3"), Some(Err(Negative)));
        assert_eq!(
            key(b"000123456789012345678901234567890"),
            Some(Ok(MemoKey::Big("123456789012345678901234567890".into())))
        );
        for bad in
            [&b"0x10"[..], b"1__0", b"_1", b"1_", b"\x1c5", b"\xc2\xa05", b"7\x00", b"", b"1e3"]
        {
            assert_eq!(key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base_zero_integers_parse_as_python_parses_them() {
        assert_eq!(int_base0(b"0x10\n"), Some(PyInt::Small(16)));
        assert_eq!(int_base0(b"0X_f"), Some(PyInt::Small(15)));
        assert_eq!(int_base0(b"-0b101"), Some(PyInt::Small(-5)));
        assert_eq!(int_base0(b"0o17"), Some(PyInt::Small(15)));
        assert_eq!(int_base0(b"00"), Some(PyInt::Small(0)));
        assert_eq!(int_base0(b"1_000"), Some(PyInt::Small(1000)));
        assert_eq!(int_base0(b"99999999999999999999"), Some(PyInt::Big));
        for bad in [&b"05"[..], b"010", b"0x", b"0x_", b"0b2", b"1__0", b""] {
            assert_eq!(int_base0(bad), None, "{bad:?}");
        }
    }
}
