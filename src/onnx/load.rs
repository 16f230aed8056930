//! Reading ONNX files that may be hostile. Nothing reaches tract before it has passed here.
//!
//! Three stages, each refusing with one line that names the file and the rule broken:
//! 1. [`read`]: a regular file of at most [`MAX_FILE_BYTES`], read by value (so external data,
//!    which tract would read from other files, can never be followed). The file type is checked
//!    before the file is opened, and it is opened without blocking, so a FIFO or a device
//!    cannot hang the command.
//! 2. [`decode`]: a walk over the wire format ([`super::wire`]) that bounds the number of
//!    messages, their nesting and the memory decoding would take, and accounts for every
//!    byte; then protobuf decoding (prost; every length prefix checked against the bytes
//!    present).
//! 3. [`OnnxFile::check`]: the allow-list of [`super::check`]: the graph must be one onnxify or
//!    scikit-learn's converter writes.
//!
//! A checked model is handed to tract as bytes re-encoded from the checked message
//! ([`super::tract`]).

use std::fs::OpenOptions;
use std::io::Read;
use std::path::Path;

use prost::Message;

use super::audit::{Audit, Description, audit, describe};
use super::check::check_model;
use super::model::CheckedModel;
use super::pb::ModelProto;
use super::tract::tract_bytes;
use super::wire::{self, Layout, Stop};
use crate::error::{Error, Result};

/// Largest model file read. onnxify's models are a few kilobytes per thousand features.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A decoded ONNX file, not yet checked.
#[derive(Debug, Clone)]
pub struct OnnxFile {
    name: String,
    bytes: Vec<u8>,
    model: ModelProto,
    layout: Layout,
}

/// Reads and decodes `path`.
pub fn read(path: &Path) -> Result<OnnxFile> {
    let bytes = read_bytes(path)?;
    decode(&path.display().to_string(), bytes)
}

/// Reads the bytes of `path` (a regular file within [`MAX_FILE_BYTES`]) without decoding them,
/// so that they can be checked (against a signature) before any parser sees them.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    let unreadable = |message: String| Error::ModelUnreadable { file: name.clone(), message };
    // Before opening: opening a FIFO for reading waits for a writer.
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !metadata.is_file() {
        return Err(unreadable("not a regular file".into()));
    }
    let file = open_nonblocking(path).map_err(|e| Error::io(path, e))?;
    // Again on what was opened, in case the path was replaced in between.
    let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
    if !metadata.is_file() {
        return Err(unreadable("not a regular file".into()));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(unreadable(format!(
            "{} bytes, more than the limit of {MAX_FILE_BYTES}",
            metadata.len()
        )));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The limit holds even if the file grows while it is read.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(unreadable(format!("more than the limit of {MAX_FILE_BYTES} bytes")));
    }
    Ok(bytes)
}

/// Opens `path` for reading with `O_NONBLOCK` on Unix, so that a FIFO swapped in after the type
/// check opens at once (and is then refused) instead of waiting for a writer. The flag changes
/// nothing for regular files.
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
}

/// Decodes model bytes; `name` names them in messages.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<OnnxFile> {
    let unreadable = |message: String| Error::ModelUnreadable { file: name.to_owned(), message };
    if bytes.is_empty() {
        return Err(unreadable("the file is empty".into()));
    }
    let not_onnx =
        |e: prost::DecodeError| unreadable(format!("it is not an ONNX protobuf message ({e})"));
    let layout = match wire::walk(&bytes) {
        Ok(layout) => layout,
        Err(Stop::OverBudget(message)) => {
            return Err(Error::ModelRefused { file: name.to_owned(), message });
        }
        // prost fails at or before that point, and says how.
        Err(Stop::Malformed(at)) => {
            return Err(match ModelProto::decode(&bytes[..]) {
                Err(e) => not_onnx(e),
                Ok(_) => unreadable(format!("its protobuf data is malformed at byte {at}")),
            });
        }
    };
    let model = ModelProto::decode(&bytes[..]).map_err(not_onnx)?;
    if model.graph.is_none() {
        return Err(unreadable("it has no graph (is it an ONNX model?)".into()));
    }
    Ok(OnnxFile { name: name.to_owned(), bytes, model, layout })
}

impl OnnxFile {
    /// The file's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where the file's bytes are, from the wire walk.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether `other` holds the same model but for its `metadata_props`: a runtime, which
    /// reads no metadata, then computes the same outputs from both.
    pub fn same_but_metadata(&self, other: &OnnxFile) -> bool {
        let computed = |m: &ModelProto| ModelProto { metadata_props: Vec::new(), ..m.clone() };
        computed(&self.model) == computed(&other.model)
    }

    /// Checks the model against the allow-list and limits.
    pub fn check(&self) -> Result<CheckedModel> {
        let (info, rewrite) = check_model(&self.model, &self.layout)
            .map_err(|message| Error::ModelRefused { file: self.name.clone(), message })?;
        Ok(CheckedModel { info, tract_bytes: tract_bytes(&self.model, &rewrite) })
    }

    /// A description of whatever the file holds, checked or not, for `inspect`.
    pub fn describe(&self) -> Description {
        describe(&self.model, &self.layout)
    }

    /// Findings about the file, each rule checked on its own (the complete check is
    /// [`Self::check`]); for the reviewer's checklist and `inspect`.
    pub fn audit(&self) -> Audit {
        audit(&self.model, &self.layout)
    }
}
