//! `onnxify sign`: signs a model file with a private key, in the format of OpenSSF's model
//! signing, so that `onnxify verify --public-key` and `model_signing verify key` check it. A
//! reviewer countersigns with a signature file of their own.

use std::path::{Path, PathBuf};

use super::{Failure, to_stdout};
use crate::error::{Error, Result};
use crate::export::file_name;
use crate::export::output::Pending;
use crate::onnx::load;
use crate::signing::{self, Bundle, Signer};

/// What to sign, with which key, and where the signature goes.
#[derive(Debug, Clone)]
pub struct SignCommand {
    pub model: PathBuf,
    pub signer: Signer,
    /// The signature file [default: MODEL.sig].
    pub signature: Option<PathBuf>,
}

/// A written signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFile {
    pub signature: PathBuf,
    pub sha256: String,
    pub key: String,
}

/// Signs and says what it wrote.
pub fn run(command: &SignCommand) -> Result<(), Failure> {
    let signed = sign(command)?;
    to_stdout(|out| {
        writeln!(
            out,
            "Signed {} (sha256 {}) into {} with key {}",
            command.model.display(),
            signed.sha256,
            signed.signature.display(),
            signed.key
        )
    })
}

/// Signs the model's bytes. The file must decode as ONNX (so that a companion JSON or a data
/// file is not signed by mistake); the default signature file is not replaced when it holds
/// another key's signature, which is a second signer's cue to name a file of their own.
pub fn sign(command: &SignCommand) -> Result<SignedFile> {
    let model = &command.model;
    let bytes = load::read_bytes(model)?;
    let name = model.display().to_string();
    let bytes = load::decode(&name, bytes)?.bytes().to_vec();
    let key = &command.signer.key;
    let fingerprint = key.public().fingerprint().to_owned();
    let path = match &command.signature {
        Some(path) => path.clone(),
        None => {
            let path = signing::signature_path(model);
            refuse_another_signers_file(&path, &fingerprint, model)?;
            path
        }
    };
    let mut file = Pending::create(&path, &[model, &command.signer.key_file], "the signature")?;
    file.write_all(&signing::sign(&bytes, &file_name(model), key))?;
    file.commit()?;
    Ok(SignedFile { signature: path, sha256: crate::util::sha256_hex(&bytes), key: fingerprint })
}

/// Refuses to replace `path` when it holds a signature that names another key.
fn refuse_another_signers_file(path: &Path, fingerprint: &str, model: &Path) -> Result<()> {
    let Ok(existing) = signing::read_signature(path) else { return Ok(()) };
    let hint = Bundle::parse(&existing).ok().and_then(|b| b.hint().map(str::to_ascii_lowercase));
    match hint {
        Some(hint) if hint != fingerprint => Err(Error::Output {
            path: path.display().to_string(),
            message: format!(
                "holds a signature by key {hint}; a second signer writes a file of their own \
                 (--signature {}.review.sig, say), which `verify` finds beside the model",
                model.display()
            ),
        }),
        _ => Ok(()),
    }
}
