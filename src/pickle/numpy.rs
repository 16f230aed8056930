//! numpy's dtypes as pickled, as data: a dtype from its descriptor (`'f8'`, `'<U9'`, `'O8'`) and
//! the state `BUILD` gives it. The arrays made with them are values of the pickle machine
//! ([`super::machine::Array`]).

use std::fmt;

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
}
