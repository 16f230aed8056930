//! Writing output files safely: a temporary file beside the target, renamed onto it only once
//! complete, so a failed run leaves no partial file and never replaces an existing one.

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written; it replaces its target only on [`Pending::commit`], and disappears if
/// dropped before.
#[derive(Debug)]
pub struct Pending {
    target: PathBuf,
    file: NamedTempFile,
}

impl Pending {
    /// Starts a file for `target`, refusing a directory, a missing directory, or any of
    /// `inputs` (which the run reads and must not overwrite); `what` names the output in
    /// messages ("the model", "the predictions").
    pub fn create(target: &Path, inputs: &[&Path], what: &str) -> Result<Pending> {
        let refuse =
            |message: String| Err(Error::Output { path: target.display().to_string(), message });
        if target.is_dir() {
            return refuse(format!("is a directory; give a file name for {what}"));
        }
        let dir = parent_dir(target);
        if !dir.is_dir() {
            return refuse("its directory does not exist; create it first".into());
        }
        for input in inputs {
            if let (Ok(a), Ok(b)) = (target.canonicalize(), input.canonicalize())
                && a == b
            {
                return refuse(format!(
                    "is an input of this run ({}); choose another output path",
                    input.display()
                ));
            }
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".onnxify-").suffix(".tmp");
        // Temporary files are private (0600) by default; the output gets the usual permissions
        // (0666 less the umask), as any file the user writes.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let file = builder.tempfile_in(dir).map_err(|e| Error::io(target, e))?;
        Ok(Pending { target: target.to_owned(), file })
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// A handle for writing.
    pub fn writer(&self) -> Result<std::fs::File> {
        self.file.reopen().map_err(|e| Error::io(&self.target, e))
    }

    /// Writes all of `bytes` and flushes them to disk.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let io = |e| Error::io(&self.target, e);
        self.file.write_all(bytes).map_err(io)?;
        self.file.as_file().sync_all().map_err(io)
    }

    /// Renames the file onto its target (atomically: both are in the same directory).
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        self.file.persist(&target).map_err(|e| Error::io(&target, e.error))?;
        Ok(())
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
