//! Text as the unpickler decodes it: BINUNICODE as UTF-8 with `surrogatepass`, STRING through
//! `codecs.escape_decode`, UNICODE as `raw-unicode-escape`. A surrogate code point, which Python
//! keeps in a `str` and Rust cannot, becomes U+FFFD: no such name imports anything.

/// `str(bytes, 'utf-8', 'surrogatepass')`, or `None` where Python raises.
pub fn utf8_surrogatepass(bytes: &[u8]) -> Option<String> {
    let mut text = String::new();
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                return Some(text);
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                text.push_str(std::str::from_utf8(valid).expect("valid up to here"));
                // An encoded surrogate: ED A0..BF 80..BF.
                match after {
                    [0xed, 0xa0..=0xbf, 0x80..=0xbf, ..] => {
                        text.push('\u{fffd}');
                        rest = &after[3..];
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// `codecs.escape_decode(bytes)`, or `None` where Python raises.
pub fn escape_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let escaped = *bytes.get(i)?;
        i += 1;
        match escaped {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(escaped),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b't' => out.push(9),
            b'n' => out.push(10),
            b'r' => out.push(13),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(escaped - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' => {
                let hex = bytes.get(i..i + 2)?;
                let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(value);
                i += 2;
            }
            other => out.extend([b'\\', other]),
        }
    }
    Some(out)
}

/// `str(bytes, 'raw-unicode-escape')`, or `None` where Python raises: bytes are Latin-1
/// characters, except that `\uXXXX` and `\UXXXXXXXX` after an odd run of backslashes are
/// escapes.
pub fn raw_unicode_escape(bytes: &[u8]) -> Option<String> {
    let mut text = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            text.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|&&b| b == b'\\').count();
        i += run;
        let width = match bytes.get(i) {
            Some(b'u') if run % 2 == 1 => 4,
            Some(b'U') if run % 2 == 1 => 8,
            _ => {
                text.extend(std::iter::repeat_n('\\', run));
                continue;
            }
        };
        text.extend(std::iter::repeat_n('\\', run - 1));
        let hex = bytes.get(i + 1..i + 1 + width)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        if code > 0x10ffff {
            return None;
        }
        text.push(char::from_u32(code).unwrap_or('\u{fffd}'));
        i += 1 + width;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each expectation is what CPython 3.11 decodes the bytes to.
    #[test]
    fn surrogates_pass_as_python_lets_them() {
        assert_eq!(utf8_surrogatepass(b"os").as_deref(), Some("os"));
        assert_eq!(utf8_surrogatepass(b"a\xed\xa0\x80b").as_deref(), Some("a\u{fffd}b"));
        assert_eq!(utf8_surrogatepass(b"\xff"), None);
        assert_eq!(utf8_surrogatepass(b"\xed\xa0"), None);
    }

    #[test]
    fn escapes_decode_as_python_decodes_them() {
        assert_eq!(escape_decode(br"a\x41\n\101\\\q\'").unwrap(), b"aA\nA\\\\q'");
        assert_eq!(escape_decode(b"ab\\\ncd").unwrap(), b"abcd");
        assert_eq!(escape_decode(br"\x4"), None);
        assert_eq!(escape_decode(b"\\"), None);
    }

    #[test]
    fn raw_unicode_escapes_count_backslashes() {
        assert_eq!(raw_unicode_escape(br"\u0041").as_deref(), Some("A"));
        assert_eq!(raw_unicode_escape(br"\\u0041").as_deref(), Some(r"\\u0041"));
        assert_eq!(raw_unicode_escape(br"\\\u0041").as_deref(), Some(r"\\A"));
        assert_eq!(raw_unicode_escape(b"\xe9").as_deref(), Some("\u{e9}"));
        assert_eq!(raw_unicode_escape(br"\U0001F600").as_deref(), Some("\u{1F600}"));
        assert_eq!(raw_unicode_escape(br"\u00"), None);
        assert_eq!(raw_unicode_escape(br"\U00110000"), None);
    }
}
