//! numpy's pickled forms, as data: a dtype from its descriptor (`'f8'`, `'<U9'`, `'O8'`) and the
//! state `BUILD` gives it, and an array as shape, memory order and the bytes holding it.

use std::fmt;
use std::ops::Range;

/// Element kinds onnxify reads.
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

/// The state numpy's `dtype.__setstate__` takes, as `BUILD` gives it: `(version, byte order,
/// subarray, names, fields, elsize, alignment, flags)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtypeState<'a> {
    pub version: i64,
    pub order: &'a str,
    /// Subarray, names and fields are all None.
    pub plain: bool,
    pub elsize: i64,
    pub alignment: i64,
    pub flags: i64,
}

impl Dtype {
    /// Parses a descriptor as numpy writes it in a pickle: the kind and the item size, no byte
    /// order (`f8`, `i4`, `b1`, `U9` for 9 characters, `O8`). Only the dtypes a fitted linear
    /// pipeline holds are read.
    pub fn parse(descr: &str) -> Result<Dtype, String> {
        let bad = || format!("{descr:?} is not a numpy dtype descriptor onnxify reads");
        let mut chars = descr.chars();
        let code = chars.next().ok_or_else(bad)?;
        let digits = chars.as_str();
        if digits.is_empty()
            || digits.len() > 9
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let n: usize = digits.parse().map_err(|_| bad())?;
        let (kind, itemsize) = match (code, n) {
            ('f', 4 | 8) => (Kind::Float, n),
            ('i', 1 | 2 | 4 | 8) => (Kind::Int, n),
            ('u', 1 | 2 | 4 | 8) => (Kind::Unsigned, n),
            ('b', 1) => (Kind::Bool, 1),
            ('U', _) => (Kind::Unicode, n.checked_mul(4).ok_or_else(bad)?),
            ('O', 8) => (Kind::Object, 8),
            _ => return Err(bad()),
        };
        Ok(Dtype { kind, itemsize, big_endian: false, descr: descr.to_owned() })
    }

    /// Takes the state numpy writes for this dtype, and nothing else: flags that mark a numeric
    /// dtype as holding objects, or a subarray, make numpy read the array's bytes as something
    /// else entirely.
    pub fn set_state(&mut self, state: &DtypeState) -> Result<(), String> {
        let single_byte = self.itemsize == 1 && self.kind != Kind::Unicode;
        let orders: &[&str] =
            if single_byte || self.kind == Kind::Object { &["|"] } else { &["<", ">"] };
        let (elsize, alignment, flags) = match self.kind {
            Kind::Unicode => (self.itemsize as i64, 4, 8),
            Kind::Object => (-1, -1, 63),
            _ => (-1, -1, 0),
        };
        let expected = state.version == 3
            && state.plain
            && orders.contains(&state.order)
            && (state.elsize, state.alignment, state.flags) == (elsize, alignment, flags);
        if !expected {
            let (version, order) = (state.version, state.order);
            let middle =
                if state.plain { "None, None, None" } else { "a subarray, names or fields" };
            return Err(format!(
                "dtype {}'s state ({version}, {order:?}, {middle}, {}, {}, {}) is not the one numpy \
                 writes for it (3, {}, None, None, None, {elsize}, {alignment}, {flags}); other \
                 flags or a subarray make numpy read the array as something else",
                self.descr,
                state.elsize,
                state.alignment,
                state.flags,
                orders.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(" or ")
            ));
        }
        self.big_endian = state.order == ">";
        Ok(())
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

    /// The dtype as numpy spells it in little-endian order (`<f8`, `|b1`, `<U9`, `|O`).
    pub fn little_endian_name(&self) -> String {
        match self.dtype.kind {
            Kind::Object => "|O".to_owned(),
            Kind::Unicode => format!("<{}", self.dtype.descr),
            _ if self.dtype.itemsize == 1 => format!("|{}", self.dtype.descr),
            _ => format!("<{}", self.dtype.descr),
        }
    }

    /// The elements in row-major order, each little-endian: what numpy's
    /// `ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes()` gives.
    pub fn row_major_little_endian(&self, raw: &[u8]) -> Vec<u8> {
        // Text is swapped per UTF-32 code unit, numbers per item.
        let unit = if self.dtype.kind == Kind::Unicode { 4 } else { self.dtype.itemsize };
        let mut out = Vec::with_capacity(self.len() * self.dtype.itemsize);
        for element in self.elements(raw) {
            for value in element.chunks(unit) {
                if self.dtype.big_endian {
                    out.extend(value.iter().rev());
                } else {
                    out.extend(value);
                }
            }
        }
        out
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

    /// An array of `descr`, which may start with numpy's `>` or `<` for its byte order.
    fn array(descr: &str, shape: &[usize], fortran: bool) -> Array {
        let bare = descr.trim_start_matches(['<', '>']);
        let mut dtype = Dtype::parse(bare).unwrap();
        dtype.big_endian = descr.starts_with('>');
        Array { dtype, shape: shape.to_vec(), fortran, elements: Elements::Inline(0..0) }
    }

    #[test]
    fn descriptors_give_kind_and_size() {
        let u = Dtype::parse("U9").unwrap();
        assert_eq!((u.kind, u.itemsize), (Kind::Unicode, 36));
        let f = Dtype::parse("f4").unwrap();
        assert_eq!((f.kind, f.itemsize, f.big_endian), (Kind::Float, 4, false));
        for bad in [
            "",
            "f",
            "f3",
            "x8",
            "U0",
            "O4",
            "f8f",
            "i99999999999",
            "<f8",
            "V64",
            "S3",
            "f2",
            "U09",
        ] {
            assert!(Dtype::parse(bad).is_err(), "{bad}");
        }
    }

    fn state(order: &str, elsize: i64, alignment: i64, flags: i64) -> DtypeState<'_> {
        DtypeState { version: 3, order, plain: true, elsize, alignment, flags }
    }

    #[test]
    fn a_dtype_takes_only_the_state_numpy_writes_for_it() {
        let mut f8 = Dtype::parse("f8").unwrap();
        assert!(f8.set_state(&state(">", -1, -1, 0)).is_ok());
        assert!(f8.big_endian);
        // Flags that make numpy treat the items as Python objects.
        assert!(f8.set_state(&state("<", -1, -1, 63)).is_err());
        assert!(f8.set_state(&state("|", -1, -1, 0)).is_err());
        assert!(f8.set_state(&DtypeState { plain: false, ..state("<", -1, -1, 0) }).is_err());
        assert!(f8.set_state(&DtypeState { version: 4, ..state("<", -1, -1, 0) }).is_err());
        let mut u9 = Dtype::parse("U9").unwrap();
        assert!(u9.set_state(&state("<", 36, 4, 8)).is_ok());
        assert!(u9.set_state(&state("<", 40, 4, 8)).is_err());
        let mut object = Dtype::parse("O8").unwrap();
        assert!(object.set_state(&state("|", -1, -1, 63)).is_ok());
        assert!(object.set_state(&state("|", -1, -1, 0)).is_err());
        let mut bool8 = Dtype::parse("b1").unwrap();
        assert!(bool8.set_state(&state("|", -1, -1, 0)).is_ok());
        assert!(bool8.set_state(&state("<", -1, -1, 0)).is_err());
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
