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
//! A checked model is handed to tract as bytes re-encoded from the checked message, with
//! normalisations that keep its meaning: the batch dimension gets a name (scikit-learn's
//! converter leaves it blank, which tract cannot type); string class labels on the
//! LinearClassifier become integer labels followed by a CategoryMapper (tract cannot output
//! strings from a LinearClassifier); and a CategoryMapper from class indices to names gets
//! the `default_string` ONNX gives it by default (tract requires it to be written out).

use std::fs::OpenOptions;
use std::io::Read;
use std::path::Path;

use prost::Message;

use super::audit::{Audit, Description, audit, describe};
use super::check::check_model;
use super::graph::Precision;
use super::pb::ModelProto;
use super::wire::{self, Layout, Stop};
use crate::data::Classes;
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
    decode(&name, bytes)
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

/// An allow-listed model: what it computes, and the bytes to give tract.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedModel {
    pub info: ModelInfo,
    pub(super) tract_bytes: Vec<u8>,
}

impl CheckedModel {
    /// The model as tract receives it (see the module documentation).
    pub fn tract_bytes(&self) -> &[u8] {
        &self.tract_bytes
    }
}

/// What a checked model computes and what its file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    /// (domain, version); the default domain is written "ai.onnx".
    pub opsets: Vec<(String, i64)>,
    pub input: Signature,
    pub outputs: Vec<Signature>,
    /// (name, op type, domain) of each node, in order.
    pub nodes: Vec<(String, String, String)>,
    /// Name of the label output.
    pub label_output: String,
    /// Name of the probability output.
    pub probability_output: String,
    /// Which operators compute the scores.
    pub flavor: Flavor,
    pub input_type: Precision,
    pub probability_type: Precision,
    pub n_features: usize,
    /// Class labels in probability-column order.
    pub classes: Classes,
    pub scaler: Option<ScalerParams>,
    pub classifier: ClassifierParams,
    /// The Normalizer's norm, when the graph has one.
    pub normalizer: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub n_bytes: usize,
}

/// A graph input or output: name, element type and dimensions as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub elem_type: String,
    pub dims: Vec<String>,
}

/// Which operators compute the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// LinearClassifier (ai.onnx.ml).
    Ml,
    /// MatMul, Add and an activation (default domain).
    Standard,
}

/// The scaling: `(x - offset) / scale` if `divides`, else `(x - offset) * scale` (the ai.onnx.ml
/// Scaler's form); each vector has one value per feature, or one for all.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerParams {
    pub offset: Vec<f64>,
    pub scale: Vec<f64>,
    pub divides: bool,
}

impl ScalerParams {
    /// scikit-learn's `mean_` and `scale_` for `n` features.
    pub fn mean_and_scale(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let at = |v: &[f64], j: usize| if v.len() == 1 { v[0] } else { v[j] };
        let mean = (0..n).map(|j| at(&self.offset, j)).collect();
        let scale = (0..n)
            .map(|j| if self.divides { at(&self.scale, j) } else { 1.0 / at(&self.scale, j) })
            .collect();
        (mean, scale)
    }
}

/// The score computation: `x W^T + b` then the post-transform.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierParams {
    /// `rows x n_features`, row-major: one row per score column.
    pub coefficients: Vec<f64>,
    pub rows: usize,
    pub intercepts: Vec<f64>,
    /// NONE, LOGISTIC or SOFTMAX.
    pub post_transform: String,
    pub multi_class: i64,
}

impl ModelInfo {
    /// A metadata value.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Feature names recorded by onnxify, if present and one per input column.
    pub fn feature_names(&self) -> Option<Vec<String>> {
        let names: Vec<String> = serde_json::from_str(self.metadata("feature_names")?).ok()?;
        (names.len() == self.n_features).then_some(names)
    }

    /// The names to match data columns by: the recorded feature names, unless the model
    /// records that they were made up (`x0, x1, ...` for a converted pipeline that was fitted
    /// on an unnamed array, which takes its columns in order, as scikit-learn did).
    pub fn column_names(&self) -> Option<Vec<String>> {
        if self.metadata("feature_names_recorded") == Some("false") {
            return None;
        }
        self.feature_names()
    }
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

    /// Checks the model against the allow-list and limits.
    pub fn check(&self) -> Result<CheckedModel> {
        check_model(&self.model, &self.layout)
            .map_err(|message| Error::ModelRefused { file: self.name.clone(), message })
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
