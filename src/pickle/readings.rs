//! A file as each loader reads it: `joblib.load` (the reading a model is converted from) and,
//! where they can differ, `pickle.load` and the pure-Python unpickler, which take a joblib
//! file's array bytes as opcodes. [`loads`] gives what each loader does, in order, for the
//! differential tests that compare onnxify's reading with the real loaders'.

use super::MAX_STREAM_BYTES;
use super::decompress::{self, Compression, Unpacked};
use super::machine::Elements;
use super::machine::{self, Loader, Outcome, Value};
use crate::util::sha256_hex;

/// The readings of one file: as `joblib.load` reads it, and, where it can differ, as
/// `pickle.load` would.
pub(super) struct Readings {
    pub compression: Compression,
    pub unpacked: Unpacked,
    pub joblib: Outcome,
    /// `pickle.load` (C) and `pickle._Unpickler` over the file as stored; `None` where they
    /// read it exactly as joblib does (no joblib arrays, frames as Python reads them).
    pub file_plain: Option<[Outcome; 2]>,
    /// The same over the decompressed stream of a compressed file with joblib arrays (someone
    /// may decompress it and call `pickle.load`).
    pub stream_plain: Option<[Outcome; 2]>,
}

impl Readings {
    pub fn of(bytes: &[u8]) -> std::result::Result<Readings, String> {
        if bytes.is_empty() {
            return Err("the file is empty".into());
        }
        let compression = decompress::detect(bytes)?;
        // A loader decompresses as it reads, so whatever decoded before a corruption or the
        // size cap is read too: a payload there would run before the loader hit the error.
        let unpacked = decompress::unpack(compression, bytes, MAX_STREAM_BYTES);
        let joblib = machine::run(&unpacked.stream, Loader::Joblib);
        let plain = |data: &[u8]| {
            [machine::run(data, Loader::Pickle), machine::run(data, Loader::PicklePy)]
        };
        let differs = joblib.wrappers || joblib.framing_differs;
        let file_plain = (compression != Compression::None || differs).then(|| plain(bytes));
        let stream_plain =
            (compression != Compression::None && differs).then(|| plain(&unpacked.stream));
        Ok(Readings { compression, unpacked, joblib, file_plain, stream_plain })
    }

    /// The plain readings, each with the words that place what it found.
    pub fn plain(&self) -> Vec<(String, &Outcome)> {
        let mut readings = Vec::new();
        let file =
            if self.compression == Compression::None { "" } else { " of the file as stored" };
        if let Some([c, python]) = &self.file_plain {
            readings.push((format!("pickle.load{file}"), c));
            readings.push((format!("pickle._Unpickler{file}"), python));
        }
        if let Some([c, python]) = &self.stream_plain {
            readings.push(("pickle.load of the decompressed stream".to_owned(), c));
            readings.push(("pickle._Unpickler of the decompressed stream".to_owned(), python));
        }
        readings
    }
}

/// What each loader does with a file, as onnxify reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loads {
    pub joblib: Load,
    /// `pickle.load` (the C unpickler) of the file as stored.
    pub pickle: Load,
    /// `pickle._Unpickler` of the file as stored.
    pub pickle_py: Load,
}

/// One loader's load, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Load {
    /// The `(module, name)` of each `find_class` call, as the file spells them.
    pub globals: Vec<(String, String)>,
    /// The arrays and numpy scalars made, in order.
    pub arrays: Vec<LoadedArray>,
    /// Whether the load returns (reaches the first STOP).
    pub completed: bool,
}

/// An array as the differential tests compare it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedArray {
    /// numpy's name of the dtype in little-endian order (`<f8`, `|b1`, `<U9`, `|O`).
    pub dtype: String,
    pub shape: Vec<usize>,
    /// SHA-256 of the elements in row-major order, each little-endian (not for objects).
    pub sha256: Option<String>,
    /// The elements of an object array: the text of each string, `None` for anything else.
    pub objects: Option<Vec<Option<String>>>,
}

/// What `joblib.load`, `pickle.load` and `pickle._Unpickler` do with `bytes`, as onnxify reads
/// them.
pub fn loads(bytes: &[u8]) -> Loads {
    let Ok(readings) = Readings::of(bytes) else { return Loads::default() };
    let joblib = load(&readings.joblib, &readings.unpacked.stream);
    let (pickle, pickle_py) = match &readings.file_plain {
        Some([c, python]) => (load(c, bytes), load(python, bytes)),
        None => (joblib.clone(), joblib.clone()),
    };
    Loads { joblib, pickle, pickle_py }
}

fn load(outcome: &Outcome, data: &[u8]) -> Load {
    let arrays = outcome
        .trace
        .arrays
        .iter()
        .map(|array| {
            let (sha256, objects) = match &array.elements {
                Elements::Objects(items) => {
                    let text = |&id: &u32| match &outcome.values[id as usize] {
                        Value::Str(s) => Some(s.clone()),
                        _ => None,
                    };
                    (None, Some(items.iter().map(text).collect()))
                }
                Elements::Inline(range) => {
                    (Some(digest(&array.row_major_little_endian(&data[range.clone()]))), None)
                }
                Elements::Bytes(id) => match &outcome.values[*id as usize] {
                    Value::Bytes(raw) => (Some(digest(&array.row_major_little_endian(raw))), None),
                    _ => (None, None),
                },
            };
            LoadedArray {
                dtype: array.little_endian_name(),
                shape: array.shape.clone(),
                sha256,
                objects,
            }
        })
        .collect();
    Load { globals: outcome.trace.globals.clone(), arrays, completed: outcome.trace.completed }
}

fn digest(bytes: &[u8]) -> String {
    sha256_hex(bytes)
}
