//! numpy's pickled forms, as data: a dtype from its descriptor (`'f8'`, `'<U9'`, `'O8'`) and the
//! state `BUILD` gives it, and an array as shape, memory order and the bytes holding it.

use std::fmt;
use std::ops::Range;

/// Element kinds onnxify reads; the others are kept only by size so that their bytes can be
/// skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    Unsigned,
    Bool,
    /// Fixed-width UTF-32 text (`U`).
    Unicode,
    /// Python objects, pickled as a list (or, in joblib, as a nested pickle stream).
    Object,
    /// Anything else (bytes `S`, void `V`, datetimes, complex, ...), by size only.
    Other(char),
}

/// A numpy dtype as pickled: `numpy.dtype(descr, False, True)`, then `BUILD` with its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtype {
    pub kind: Kind,
    /// Bytes per element.
    pub itemsize: usize,
    pub big_endian: bool,
    /// The descriptor as pickled, for messages.
    pub descr: String,
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = if self.big_endian && self.itemsize > 1 { ">" } else { "" };
        write!(f, "{order}{}", self.descr)
    }
}

impl Dtype {
    /// Parses a descriptor such as `f8`, `<i4`, `U9` (9 characters) or `O8`.
    pub fn parse(descr: &str) -> Result<Dtype, String> {
        let bad = || format!("{descr:?} is not a numpy dtype descriptor onnxify reads");
        let (big_endian, rest) = match descr.as_bytes().first() {
            Some(b'>') => (true, &descr[1..]),
            Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
            _ => (false, descr),
        };
        let mut chars = rest.chars();
        let code = chars.next().ok_or_else(bad)?;
        let digits = chars.as_str();
        // numpy writes datetime units in the state, not the descriptor ('M8').
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: usize = digits.parse().map_err(|_| bad())?;
        let (kind, itemsize) = match code {
            'f' => (Kind::Float, n),
            'i' => (Kind::Int, n),
            'u' => (Kind::Unsigned, n),
            'b' => (Kind::Bool, n),
            'U' => (Kind::Unicode, n.checked_mul(4).ok_or_else(bad)?),
            'O' => (Kind::Object, n),
            'S' | 'V' | 'M' | 'm' | 'c' => (Kind::Other(code), n),
            _ => return Err(bad()),
        };
        let valid = match kind {
            Kind::Float => matches!(itemsize, 2 | 4 | 8 | 16),
            Kind::Int | Kind::Unsigned => matches!(itemsize, 1 | 2 | 4 | 8),
            Kind::Bool => itemsize == 1,
            Kind::Object => itemsize == 8,
            // Zero-size items would let a few bytes declare any number of elements.
            Kind::Unicode | Kind::Other(_) => itemsize > 0,
        };
        if !valid {
            return Err(bad());
        }
        Ok(Dtype { kind, itemsize, big_endian, descr: rest.to_owned() })
    }
}

/// Where an array's elements are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elements {
    /// `bytes` of the decompressed stream (joblib writes array bytes inline).
    Inline(Range<usize>),
    /// A bytes value of the pickle (numpy's own `__reduce__`).
    Bytes(super::machine::Id),
    /// One value per element, for object arrays.
    Objects(Vec<super::machine::Id>),
}

/// An ndarray: its dtype, shape, memory order and elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Array {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Column-major (`order='F'`): the bytes run down the first axis first.
    pub fortran: bool,
    pub elements: Elements,
}

impl Array {
    /// Number of elements, or `None` if the shape overflows.
    pub fn count(shape: &[usize]) -> Option<usize> {
        shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// Number of elements.
    #[allow(clippy::len_without_is_empty)] // an array of no elements is still an array
    pub fn len(&self) -> usize {
        Array::count(&self.shape).expect("checked when the array was made")
    }

    /// The shape as numpy prints it.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }

    /// The bytes of each element in row-major order, from `raw`, the array's bytes in its own
    /// memory order.
    fn elements<'a>(&self, raw: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let size = self.dtype.itemsize;
        // Column-major strides, in elements, of each axis.
        let mut strides = Vec::with_capacity(self.shape.len());
        let mut stride = 1;
        for &d in &self.shape {
            strides.push(stride);
            stride *= d;
        }
        let shape = self.shape.clone();
        let fortran = self.fortran && shape.len() > 1;
        (0..self.len()).map(move |index| {
            let position = if fortran {
                // The row-major index's coordinates, placed at their column-major position.
                let mut rest = index;
                let mut position = 0;
                for (axis, &d) in shape.iter().enumerate().rev() {
                    position += (rest % d) * strides[axis];
                    rest /= d;
                }
                position
            } else {
                index
            };
            &raw[position * size..(position + 1) * size]
        })
    }

    /// The elements as f64, in row-major order; `raw` is the array's bytes.
    pub fn floats(&self, raw: &[u8]) -> Result<Vec<f64>, String> {
        self.elements(raw)
            .map(|b| {
                Ok(match (self.dtype.kind, self.dtype.itemsize) {
                    (Kind::Float, 8) => f64::from_bits(self.word(b)),
                    (Kind::Float, 4) => f64::from(f32::from_bits(self.word(b) as u32)),
                    (Kind::Int | Kind::Unsigned | Kind::Bool, _) => self.integer(b)? as f64,
                    _ => return Err(format!("a {} array is not numeric", self.dtype)),
                })
            })
            .collect()
    }

    /// The elements as i64, in row-major order.
    pub fn integers(&self, raw: &[u8]) -> Result<Vec<i64>, String> {
        self.elements(raw).map(|b| self.integer(b)).collect()
    }

    /// The elements of a `U` array as strings (numpy pads with NUL characters).
    pub fn unicode(&self, raw: &[u8]) -> Result<Vec<String>, String> {
        self.elements(raw)
            .enumerate()
            .map(|(i, b)| {
                let mut text = String::new();
                for unit in b.chunks_exact(4) {
                    let code = if self.dtype.big_endian {
                        u32::from_be_bytes(unit.try_into().expect("4 bytes"))
                    } else {
                        u32::from_le_bytes(unit.try_into().expect("4 bytes"))
                    };
                    if code == 0 {
                        break;
                    }
                    text.push(char::from_u32(code).ok_or_else(|| {
                        format!("element {i} holds {code:#x}, which is not a Unicode character")
                    })?);
                }
                Ok(text)
            })
            .collect()
    }

    fn word(&self, b: &[u8]) -> u64 {
        let mut value = 0u64;
        let bytes: Box<dyn Iterator<Item = &u8>> =
            if self.dtype.big_endian { Box::new(b.iter()) } else { Box::new(b.iter().rev()) };
        for &byte in bytes {
            value = value << 8 | u64::from(byte);
        }
        value
    }

    fn integer(&self, b: &[u8]) -> Result<i64, String> {
        let word = self.word(b);
        let bits = 8 * self.dtype.itemsize as u32;
        match self.dtype.kind {
            Kind::Int => Ok(((word << (64 - bits)) as i64) >> (64 - bits)),
            Kind::Unsigned | Kind::Bool => {
                i64::try_from(word).map_err(|_| format!("{word} does not fit a 64-bit integer"))
            }
            _ => Err(format!("a {} array does not hold integers", self.dtype)),
        }
    }
}

/// `(3,)`, `(3, 4)`, `()`.
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(descr: &str, shape: &[usize], fortran: bool) -> Array {
        Array {
            dtype: Dtype::parse(descr).unwrap(),
            shape: shape.to_vec(),
            fortran,
            elements: Elements::Inline(0..0),
        }
    }

    #[test]
    fn descriptors_give_kind_and_size() {
        let u = Dtype::parse("U9").unwrap();
        assert_eq!((u.kind, u.itemsize), (Kind::Unicode, 36));
        let f = Dtype::parse(">f4").unwrap();
        assert_eq!((f.kind, f.itemsize, f.big_endian), (Kind::Float, 4, true));
        assert_eq!(Dtype::parse("V64").unwrap().itemsize, 64);
        for bad in ["", "f", "f3", "x8", "U0", "O4", "f8f", "i99999999999"] {
            assert!(Dtype::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fortran_order_is_transposed_into_row_major() {
        // [[1, 2, 3], [4, 5, 6]] stored column-major: 1 4 2 5 3 6.
        let raw: Vec<u8> =
            [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = array("f8", &[2, 3], true);
        assert_eq!(a.floats(&raw).unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let c = array("f8", &[2, 3], false);
        assert_eq!(c.floats(&raw).unwrap(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn byte_order_and_sign_are_honoured() {
        let a = array(">i4", &[2], false);
        assert_eq!(a.integers(&[0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]).unwrap(), vec![-2, 256]);
        let b = array("<f4", &[1], false);
        assert_eq!(b.floats(&1.5f32.to_le_bytes()).unwrap(), vec![1.5]);
        let u = array("u8", &[1], false);
        assert!(u.integers(&u64::MAX.to_le_bytes()).is_err());
    }

    #[test]
    fn unicode_elements_stop_at_the_padding() {
        let a = array("U3", &[2], false);
        let raw: Vec<u8> = ['a', 'b', '\0', 'é', '\0', '\0']
            .iter()
            .flat_map(|c| (*c as u32).to_le_bytes())
            .collect();
        assert_eq!(a.unicode(&raw).unwrap(), vec!["ab".to_owned(), "é".to_owned()]);
    }
}
