//! The companion JSON written next to every model: the provenance record, the model file's
//! identity and the probe rows, one set of serde types for writing it and for reading it back.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::onnx::Provenance;
use crate::onnx::load::MAX_FILE_BYTES;
use crate::proof::probes::Probes;
use crate::util::regular_file_size;

/// The companion JSON: the provenance record plus the model file's identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Companion {
    pub model_file: String,
    pub model_sha256: String,
    pub model_bytes: u64,
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Inputs made from the written file's scaler parameters, with the outputs it gave.
    pub probes: Probes,
}

impl Companion {
    /// The record as written: pretty JSON and a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("the companion record serialises");
        json.push(b'\n');
        json
    }

    /// Reads a companion JSON: a regular file, read whole, so bounded by the model file's
    /// limit. The error says what is wrong with the file, naming it.
    pub fn read(path: &Path) -> Result<Companion, String> {
        let name = path.display();
        let too_large = || format!("{name} is larger than {MAX_FILE_BYTES} bytes");
        let size = regular_file_size(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "{name} does not exist (train and convert write it beside the model; the \
                 checks that need no companion run in `onnxify scan`)"
            ),
            _ => format!("cannot open {name}: {e}"),
        })?;
        if size > MAX_FILE_BYTES {
            return Err(too_large());
        }
        let file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
        let mut text = Vec::new();
        // The limit holds even if the file grows while it is read.
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large());
        }
        let json: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| format!("{name} is not JSON: {e}"))?;
        serde_json::from_value(json)
            .map_err(|e| format!("{name} is not an onnxify companion record: {e}"))
    }
}

/// `model.onnx` -> `model.onnx.json`.
pub fn companion_path(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}
