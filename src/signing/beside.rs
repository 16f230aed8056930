//! Which signature file each public key is checked against, and the check itself, for the
//! commands that take `--public-key` (`verify`, `predict`) and for `inspect`.
//!
//! Each signer writes a signature file of their own, so several keys mean several files. The
//! convention: with as many signature paths as keys, they pair in order; with none, each key's
//! signature is found beside the model among `MODEL.sig` and `MODEL.*.sig` (`model.onnx.sig`,
//! `model.onnx.review.sig`) by the key hint it records; a key no file names is checked against
//! `MODEL.sig`, so that the line says whose signature is there instead.

use std::path::{Path, PathBuf};

use super::{Problem, PublicKey, Verified, read_signature, signature_path, verify};

/// Most signature files beside one model that are looked at.
const MAX_CANDIDATES: usize = 64;

/// How keys are paired with signature files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pairing {
    /// Key i with path i.
    Given(Vec<PathBuf>),
    /// Each key with the file beside the model that names it.
    Beside,
}

/// One key's check of a model file.
#[derive(Debug, Clone)]
pub struct KeyCheck {
    /// The key's fingerprint.
    pub fingerprint: String,
    /// The signature file checked; `None` when there is none to check.
    pub signature: Option<PathBuf>,
    pub result: Result<Verified, Problem>,
}

impl KeyCheck {
    /// The check's line: what it checked and, when it failed, why.
    pub fn describe(&self) -> String {
        let file = self.signature.as_ref().map(|p| p.display().to_string());
        match (&self.result, file) {
            (Ok(v), Some(file)) => format!(
                "{file}: valid for this file's bytes (SHA-256 {}) under key {} (ECDSA {}, {})",
                v.sha256,
                v.fingerprint,
                v.curve.name(),
                v.curve.hash()
            ),
            (Err(problem), Some(file)) => format!("{file}: {problem}"),
            (Err(problem), None) => problem.to_string(),
            (Ok(_), None) => unreachable!("a valid signature has a file"),
        }
    }
}

/// Signature files beside `model`: `MODEL.sig` first, then `MODEL.*.sig` in name order.
pub fn signatures_beside(model: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let default = signature_path(model);
    if default.is_file() {
        found.push(default);
    }
    let Some(name) = model.file_name().and_then(|n| n.to_str()) else { return found };
    let dir = match model.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!("{name}.");
    // Named as the model is (`model.onnx.review.sig` beside `model.onnx`, not `./...`).
    let mut others: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name();
            let file = file.to_str()?;
            let middle = file.strip_prefix(&prefix)?.strip_suffix(".sig")?;
            (!middle.is_empty()).then(|| model.with_file_name(file))
        })
        .filter(|path| path.is_file())
        .collect();
    others.sort();
    others.truncate(MAX_CANDIDATES);
    found.extend(others);
    found
}

/// Checks `bytes`, the file at `model`, against each key's signature (see the module's
/// documentation for the pairing). `pairing` with another count of paths than keys is the
/// caller's error to refuse before.
pub fn check_keys(
    model: &Path,
    bytes: &[u8],
    keys: &[PublicKey],
    pairing: &Pairing,
) -> Vec<KeyCheck> {
    let file_name = model
        .file_name()
        .map_or_else(|| model.display().to_string(), |n| n.to_string_lossy().into_owned());
    let check = |key: &PublicKey, path: PathBuf| KeyCheck {
        fingerprint: key.fingerprint().to_owned(),
        result: read_signature(&path).and_then(|sig| verify(bytes, &file_name, &sig, key)),
        signature: Some(path),
    };
    match pairing {
        Pairing::Given(paths) => {
            keys.iter().zip(paths).map(|(key, path)| check(key, path.clone())).collect()
        }
        Pairing::Beside => {
            let candidates: Vec<(PathBuf, Option<String>)> = signatures_beside(model)
                .into_iter()
                .map(|path| {
                    let hint = read_signature(&path)
                        .ok()
                        .and_then(|sig| super::Bundle::parse(&sig).ok())
                        .and_then(|bundle| bundle.hint().map(str::to_ascii_lowercase));
                    (path, hint)
                })
                .collect();
            keys.iter()
                .map(|key| {
                    let named = candidates
                        .iter()
                        .find(|(_, hint)| hint.as_deref() == Some(key.fingerprint()))
                        .map(|(path, _)| path.clone());
                    match named.or_else(|| candidates.first().map(|(path, _)| path.clone())) {
                        Some(path) => check(key, path),
                        None => KeyCheck {
                            fingerprint: key.fingerprint().to_owned(),
                            signature: None,
                            result: Err(Problem::Missing(format!(
                                "no signature beside the model ({} or {}.*.sig)",
                                signature_path(model).display(),
                                model.display()
                            ))),
                        },
                    }
                })
                .collect()
        }
    }
}
