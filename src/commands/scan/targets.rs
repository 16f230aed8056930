//! What `scan` reads among the paths it is given: each file by its content (a pickle or joblib
//! file, compressed or not; a zip archive, as PyTorch saves pickles; an ONNX model) and each
//! directory a Spark model was saved in. Directories are walked in name order without
//! following a symbolic link; anything else is skipped, whatever its name.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pickle::decompress::{self, Compression};
use crate::pickle::machine::opcodes::opcode_name;

/// Directory levels walked below a path given, at most.
const MAX_DEPTH: usize = 64;
/// Entries walked in all, at most.
const MAX_ENTRIES: usize = 1_000_000;
/// Bytes read to tell what a file is.
const SNIFF_BYTES: u64 = 64 << 10;

/// What a file or directory is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A pickle or joblib file, or a zip archive of pickles.
    Pickle,
    /// An ONNX model.
    Onnx,
    /// A directory a Spark model was saved in.
    Spark,
}

/// A file or directory to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    pub kind: Kind,
    /// Named on the command line (rather than found in a directory).
    pub given: bool,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Found {
    pub targets: Vec<Target>,
    /// Files that are none of the kinds `scan` reads.
    pub skipped: usize,
    /// Symbolic links met in a directory, not followed.
    pub links: Vec<PathBuf>,
}

/// The targets among `paths`. A file named on the command line is read whatever its content
/// (as a pickle unless its content or its name says ONNX); a path that does not exist is an
/// error.
pub fn find(paths: &[PathBuf]) -> Result<Found> {
    let mut found = Found::default();
    let mut entries = 0;
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if metadata.is_dir() {
            walk(path, 0, &mut found, &mut entries)?;
        } else {
            // What the content does not tell, the name does: the checks then say what is wrong.
            let named_onnx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
            let guess = if named_onnx { Kind::Onnx } else { Kind::Pickle };
            let kind = sniff(path).map_err(|e| Error::io(path, e))?.unwrap_or(guess);
            found.targets.push(Target { path: path.clone(), kind, given: true });
        }
    }
    Ok(found)
}

fn walk(dir: &Path, depth: usize, found: &mut Found, entries: &mut usize) -> Result<()> {
    if is_spark_model(dir) {
        found.targets.push(Target { path: dir.to_owned(), kind: Kind::Spark, given: depth == 0 });
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return Err(Error::Output {
            path: dir.display().to_string(),
            message: format!(
                "directories nest more than {MAX_DEPTH} levels deep; scan the deeper directories on their own"
            ),
        });
    }
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    children.sort();
    for child in children {
        *entries += 1;
        if *entries > MAX_ENTRIES {
            return Err(Error::Output {
                path: dir.display().to_string(),
                message: format!(
                    "the paths given hold more than {MAX_ENTRIES} entries; scan fewer at a time"
                ),
            });
        }
        let metadata = std::fs::symlink_metadata(&child).map_err(|e| Error::io(&child, e))?;
        if metadata.file_type().is_symlink() {
            found.links.push(child);
        } else if metadata.is_dir() {
            walk(&child, depth + 1, found, entries)?;
        } else if metadata.is_file() {
            match sniff(&child).map_err(|e| Error::io(&child, e))? {
                Some(kind) => found.targets.push(Target { path: child, kind, given: false }),
                None => found.skipped += 1,
            }
        } else {
            found.skipped += 1;
        }
    }
    Ok(())
}

/// A directory Spark's `save` wrote (or one missing its metadata, which the Spark reader then
/// explains): a `metadata` folder, or a `stages` folder of stages with theirs.
fn is_spark_model(dir: &Path) -> bool {
    if dir.join("metadata").is_dir() {
        return true;
    }
    let Ok(stages) = std::fs::read_dir(dir.join("stages")) else {
        return false;
    };
    stages.flatten().any(|stage| stage.path().join("metadata").is_dir())
}

/// What a file may be, from its first bytes: a zip archive; a stream compressed as joblib
/// compresses; an ONNX model (a protobuf starting with the IR version that decodes as a model
/// with a graph); or a pickle, which `pickle.load` reads from any first byte that is an opcode
/// (protocols 0 and 1 have no header), so that every such file is read as one and dropped only
/// once the scan shows it cannot be a pickle ([`not_a_pickle`](super::not_a_pickle)).
fn sniff(path: &Path) -> std::io::Result<Option<Kind>> {
    let mut head = Vec::new();
    File::open(path)?.take(SNIFF_BYTES).read_to_end(&mut head)?;
    let Some(&first) = head.first() else {
        return Ok(None);
    };
    if head.starts_with(b"PK\x03\x04")
        || decompress::detect(&head).is_ok_and(|c| c != Compression::None)
    {
        return Ok(Some(Kind::Pickle));
    }
    if first == 0x08 && crate::onnx::load::read(path).is_ok() {
        return Ok(Some(Kind::Onnx));
    }
    Ok(opcode_name(first).map(|_| Kind::Pickle))
}
