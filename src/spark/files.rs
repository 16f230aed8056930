//! The files of a saved Spark model, read as untrusted input: a model directory holds
//! `metadata/` (one JSON line) and, for a fitted model, `data/` (Parquet); a `PipelineModel`
//! holds its stages under `stages/<index>_<uid>/`, each a model directory of its own. Only
//! `part-*` files are data; Spark's `_SUCCESS` markers and Hadoop's `.crc` side files are
//! skipped. Nothing outside the directory is read: a symbolic link anywhere is refused, and
//! the number, depth and sizes of what is read are bounded before anything is allocated.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::SparkProblem;
use crate::util::sha256_hex;

/// Files read from one model directory, stages included.
pub const MAX_FILES: usize = 4_096;
/// Bytes of one metadata file (one JSON line of parameters).
pub const MAX_METADATA_BYTES: u64 = 4 << 20;
/// Bytes of one Parquet file (a model's fitted arrays: 1,000 features x 100 classes of
/// doubles is 800 kB).
pub const MAX_DATA_BYTES: u64 = 256 << 20;
/// Bytes of every file read, together.
pub const MAX_TOTAL_BYTES: u64 = 512 << 20;
/// Entries of one folder listed.
const MAX_ENTRIES: usize = 10_000;

/// A file read from the model directory: its path relative to the directory and its bytes.
#[derive(Debug, Clone)]
pub struct ReadFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Reads files under one model directory within the limits, counting what was read.
#[derive(Debug)]
pub struct Reader {
    root: PathBuf,
    files: usize,
    total: u64,
    /// Every file read, in order, for the provenance record.
    pub read: Vec<(String, String)>,
}

impl Reader {
    /// A reader of the directory `root`, which must be a directory and not a link.
    pub fn new(root: &Path) -> Result<Reader, SparkProblem> {
        let kind = fs::symlink_metadata(root).map_err(|e| SparkProblem::io(root, e))?;
        if kind.file_type().is_symlink() {
            return Err(SparkProblem::refused("", "the model directory is a symbolic link"));
        }
        if !kind.is_dir() {
            return Err(SparkProblem::unreadable("", "not a directory"));
        }
        Ok(Reader { root: root.to_owned(), files: 0, total: 0, read: Vec::new() })
    }

    /// The names in folder `relative` (relative to the root), sorted; `None` if it does not
    /// exist. Links are refused.
    pub fn list(&self, relative: &str) -> Result<Option<Vec<String>>, SparkProblem> {
        let path = self.root.join(relative);
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SparkProblem::io(&path, e)),
            Ok(kind) if kind.file_type().is_symlink() => {
                return Err(SparkProblem::refused(relative, "is a symbolic link"));
            }
            Ok(kind) if !kind.is_dir() => {
                return Err(SparkProblem::unreadable(relative, "is not a folder"));
            }
            Ok(_) => {}
        }
        let mut names = Vec::new();
        for entry in fs::read_dir(&path).map_err(|e| SparkProblem::io(&path, e))? {
            let entry = entry.map_err(|e| SparkProblem::io(&path, e))?;
            if names.len() == MAX_ENTRIES {
                return Err(SparkProblem::unreadable(
                    relative,
                    format!("holds more than {MAX_ENTRIES} entries"),
                ));
            }
            let name = entry.file_name().into_string().map_err(|name| {
                SparkProblem::unreadable(
                    relative,
                    format!("holds a name that is not UTF-8: {name:?}"),
                )
            })?;
            names.push(name);
        }
        names.sort();
        Ok(Some(names))
    }

    /// The `part-*` files of folder `relative` (Spark's and Hadoop's own files skipped).
    pub fn parts(&self, relative: &str) -> Result<Option<Vec<String>>, SparkProblem> {
        Ok(self.list(relative)?.map(|names| {
            names
                .into_iter()
                .filter(|n| !n.starts_with('_') && !n.starts_with('.'))
                .map(|n| format!("{relative}/{n}"))
                .collect()
        }))
    }

    /// The bytes of file `relative`, at most `limit` of them; a link, a folder or a longer
    /// file is refused before its bytes are read.
    pub fn read(&mut self, relative: &str, limit: u64) -> Result<ReadFile, SparkProblem> {
        let path = self.root.join(relative);
        let kind = fs::symlink_metadata(&path).map_err(|e| SparkProblem::io(&path, e))?;
        if kind.file_type().is_symlink() {
            return Err(SparkProblem::refused(relative, "is a symbolic link"));
        }
        if !kind.is_file() {
            return Err(SparkProblem::unreadable(relative, "is not a regular file"));
        }
        if self.files == MAX_FILES {
            return Err(SparkProblem::unreadable(
                relative,
                format!("the model has more than {MAX_FILES} files"),
            ));
        }
        if kind.len() > limit {
            return Err(SparkProblem::unreadable(
                relative,
                format!("is {} bytes, more than the {limit} allowed", kind.len()),
            ));
        }
        if self.total + kind.len() > MAX_TOTAL_BYTES {
            return Err(SparkProblem::unreadable(
                relative,
                format!("the model's files are more than {MAX_TOTAL_BYTES} bytes together"),
            ));
        }
        // The length is read again through the open file and bounded there too: the file may
        // change between the two looks.
        let file = fs::File::open(&path).map_err(|e| SparkProblem::io(&path, e))?;
        let mut bytes = Vec::with_capacity(kind.len() as usize);
        file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| SparkProblem::io(&path, e))?;
        if bytes.len() as u64 > limit {
            return Err(SparkProblem::unreadable(relative, "grew while it was read"));
        }
        self.check_sum(relative, &bytes)?;
        self.files += 1;
        self.total += bytes.len() as u64;
        self.read.push((relative.to_owned(), sha256_hex(&bytes)));
        Ok(ReadFile { path: relative.to_owned(), bytes })
    }

    /// Checks `bytes`, read from `relative`, against Hadoop's checksum side file beside it
    /// (`.<name>.crc`: "crc\0", the bytes per checksum, then a big-endian CRC-32 of each chunk),
    /// when there is one: Spark refuses a file that disagrees with it, and so does onnxify.
    fn check_sum(&self, relative: &str, bytes: &[u8]) -> Result<(), SparkProblem> {
        let (folder, name) = relative.rsplit_once('/').unwrap_or(("", relative));
        let side = if folder.is_empty() {
            format!(".{name}.crc")
        } else {
            format!("{folder}/.{name}.crc")
        };
        let path = self.root.join(&side);
        let kind = match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(SparkProblem::io(&path, e)),
            Ok(kind) => kind,
        };
        if kind.file_type().is_symlink() {
            return Err(SparkProblem::refused(&side, "is a symbolic link"));
        }
        // 8 header bytes and 4 per chunk of at least one byte.
        let limit = 8 + 4 * bytes.len() as u64;
        if !kind.is_file() || kind.len() > limit.max(8) {
            return Err(SparkProblem::unreadable(&side, "is not a checksum file of its data"));
        }
        let sums = fs::read(&path).map_err(|e| SparkProblem::io(&path, e))?;
        let bad = || {
            SparkProblem::unreadable(
                relative,
                format!("does not match its checksum file {side}; Spark refuses it too"),
            )
        };
        if sums.len() < 8 || &sums[..4] != b"crc\0" {
            return Err(SparkProblem::unreadable(&side, "is not a Hadoop checksum file"));
        }
        let chunk = u32::from_be_bytes(sums[4..8].try_into().expect("4 bytes")) as usize;
        if chunk == 0 {
            return Err(SparkProblem::unreadable(&side, "declares chunks of 0 bytes"));
        }
        let expected =
            sums[8..].chunks_exact(4).map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")));
        if (sums.len() - 8) % 4 != 0 || (sums.len() - 8) / 4 != bytes.len().div_ceil(chunk) {
            return Err(bad());
        }
        if bytes.chunks(chunk).map(crc32fast::hash).eq(expected) { Ok(()) } else { Err(bad()) }
    }

    /// The one `part-*` file of folder `relative`, read (at most `limit` bytes); `None` if the
    /// folder does not exist.
    pub fn single_part(
        &mut self,
        relative: &str,
        limit: u64,
    ) -> Result<Option<ReadFile>, SparkProblem> {
        let Some(parts) = self.parts(relative)? else { return Ok(None) };
        let [path] = parts.as_slice() else {
            return Err(SparkProblem::unreadable(
                relative,
                format!("holds {} part files; a saved model has one", parts.len()),
            ));
        };
        self.read(path, limit).map(Some)
    }
}
