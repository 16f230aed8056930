//! The field delimiter of a CSV: one ASCII character that cannot be part of a number or a
//! quoted field, checked once where it is given.

use std::path::Path;

use crate::error::{Error, Parameter, Result};

/// A checked field delimiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(u8);

impl Delimiter {
    pub const COMMA: Delimiter = Delimiter(b',');
    pub const TAB: Delimiter = Delimiter(b'\t');

    /// The delimiter `given` (one ASCII character, or `tab`), else tab for a `.tsv` file, else
    /// a comma.
    pub fn for_file(path: &Path, given: Option<&str>) -> Result<Delimiter> {
        match given {
            Some(text) => Delimiter::parse(text),
            None if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) => {
                Ok(Delimiter::TAB)
            }
            None => Ok(Delimiter::COMMA),
        }
    }

    /// One ASCII character, or `tab`.
    pub fn parse(text: &str) -> Result<Delimiter> {
        let invalid =
            |message: String| Error::InvalidParameter { parameter: Parameter::Delimiter, message };
        let byte = match text {
            "tab" | "\\t" | "\t" => b'\t',
            _ if text.len() == 1 && text.is_ascii() => text.as_bytes()[0],
            _ => return Err(invalid(format!("{text:?} is not a single ASCII character or `tab`"))),
        };
        if matches!(byte, b'"' | b'\n' | b'\r')
            || byte.is_ascii_alphanumeric()
            || byte == b'.'
            || byte == b'-'
        {
            return Err(invalid(format!(
                "{text:?} cannot separate fields that hold numbers or quotes"
            )));
        }
        Ok(Delimiter(byte))
    }

    /// The delimiter's byte.
    pub fn byte(self) -> u8 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_the_delimiter_from_the_flag_or_the_extension() {
        let byte =
            |path: &str, given| Delimiter::for_file(Path::new(path), given).map(Delimiter::byte);
        assert_eq!(byte("a.tsv", None).unwrap(), b'\t');
        assert_eq!(byte("a.TSV", None).unwrap(), b'\t');
        assert_eq!(byte("a.csv", None).unwrap(), b',');
        assert_eq!(byte("a.csv", Some(";")).unwrap(), b';');
        assert_eq!(byte("a.csv", Some("tab")).unwrap(), b'\t');
        assert!(byte("a.csv", Some(";;")).is_err());
        assert!(byte("a.csv", Some("\"")).is_err());
        assert!(byte("a.csv", Some(".")).is_err());
    }
}
