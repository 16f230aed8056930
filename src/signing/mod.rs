//! Signing a model file, and checking a signature before the file is trusted, in the format of
//! OpenSSF's model signing (`model_signing sign key` / `verify key`): a sigstore bundle
//! ([`bundle`]) whose DSSE envelope signs an in-toto statement ([`statement`]) naming the file
//! and its SHA-256, with an ECDSA key ([`keys`]). A signature onnxify writes passes
//! `model_signing verify key`, and one model_signing writes passes [`verify`].
//!
//! Serving code refuses an unsigned model before any runtime reads it:
//!
//! ```no_run
//! use onnxify::signing::{PublicKey, read_signature, verify};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = PublicKey::read("reviewer.pub".as_ref())?;
//! let bytes = std::fs::read("model.onnx")?;
//! let signature = read_signature("model.onnx.sig".as_ref())?;
//! verify(&bytes, "model.onnx", &signature, &key)?; // a `Problem` says why not
//! // only now hand `bytes` to the runtime
//! # Ok(())
//! # }
//! ```

pub mod beside;
pub mod bundle;
pub mod keys;
mod problem;
pub mod statement;

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub use beside::{KeyCheck, Pairing, check_keys};
pub use bundle::{Bundle, MAX_SIGNATURE_BYTES};
pub use keys::{Curve, PrivateKey, PublicKey};
/// A password or a private key's text, wiped from memory when dropped.
pub use pkcs8::der::zeroize::Zeroizing;
pub use problem::Problem;
pub use statement::Statement;

use bundle::{Envelope, PublicKeyIdentifier, VerificationMaterial};

/// The environment variable an encrypted private key's password is read from (a password is
/// never a command-line flag, which other users can read in the process list).
pub const PASSWORD_VARIABLE: &str = "ONNXIFY_KEY_PASSWORD";

/// A private key read for signing, and the file it came from (which no output may replace).
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: std::sync::Arc<PrivateKey>,
    pub key_file: PathBuf,
}

/// The signature's default path: the model's path with `.sig` appended.
pub fn signature_path(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// The signature file for `bytes`, a file named `file_name`, signed with `key`: a sigstore
/// bundle as `model_signing sign key` writes it.
pub fn sign(bytes: &[u8], file_name: &str, key: &PrivateKey) -> Vec<u8> {
    let statement = Statement::for_file(file_name, bytes);
    let payload = serde_json::to_vec_pretty(&statement).expect("a statement serialises");
    let signature = key.sign(&bundle::pae(&payload));
    Bundle {
        media_type: bundle::BUNDLE_MEDIA_TYPE.into(),
        verification_material: VerificationMaterial {
            public_key: Some(PublicKeyIdentifier {
                hint: Some(key.public().fingerprint().to_owned()),
            }),
            tlog_entries: Vec::new(),
        },
        dsse_envelope: Some(Envelope::signed(&payload, &signature)),
    }
    .to_json()
}

/// What a valid signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signing key's fingerprint.
    pub fingerprint: String,
    pub curve: Curve,
    /// The SHA-256 of the signed bytes, in hex.
    pub sha256: String,
}

/// Checks that `signature` (a signature file's bytes) is a valid signature by `key` of
/// `bytes`, a file named `file_name`: the bundle's shape, the key hint, the ECDSA signature
/// over the envelope's payload, and then the signed statement's file digest and name. Nothing
/// in the payload is read before its signature has been checked.
pub fn verify(
    bytes: &[u8],
    file_name: &str,
    signature: &[u8],
    key: &PublicKey,
) -> Result<Verified, Problem> {
    let bundle = Bundle::parse(signature)?;
    let envelope = bundle.envelope()?;
    if let Some(hint) = bundle.hint()
        && !hint.eq_ignore_ascii_case(key.fingerprint())
    {
        return Err(Problem::OtherKey {
            hint: hint.to_owned(),
            fingerprint: key.fingerprint().into(),
        });
    }
    let payload = STANDARD
        .decode(&envelope.payload)
        .map_err(|_| Problem::Base64 { field: "dsseEnvelope.payload" })?;
    let sig = STANDARD
        .decode(&envelope.signatures[0].sig)
        .map_err(|_| Problem::Base64 { field: "dsseEnvelope.signatures[0].sig" })?;
    key.verify(&bundle::pae(&payload), &sig)?;
    let statement = Statement::parse(&payload)?;
    statement.check_file(file_name, bytes)?;
    Ok(Verified {
        fingerprint: key.fingerprint().to_owned(),
        curve: key.curve(),
        sha256: crate::util::sha256_hex(bytes),
    })
}

/// Reads a signature file: a regular file of at most [`MAX_SIGNATURE_BYTES`].
pub fn read_signature(path: &Path) -> Result<Vec<u8>, Problem> {
    let size =
        crate::util::regular_file_size(path).map_err(|e| Problem::Unreadable(e.to_string()))?;
    if size > MAX_SIGNATURE_BYTES {
        return Err(Problem::TooLarge { limit: MAX_SIGNATURE_BYTES });
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_SIGNATURE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| Problem::Unreadable(e.to_string()))?;
    // The limit holds even if the file grows while it is read.
    if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
        return Err(Problem::TooLarge { limit: MAX_SIGNATURE_BYTES });
    }
    Ok(bytes)
}

/// What a signature file says, read without trusting it (its signature is not checked).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Claim {
    /// The key hint: the fingerprint of the key it says signed it.
    pub key: Option<String>,
    /// The file name the statement names.
    pub file_name: String,
    /// The SHA-256 the statement gives for the file.
    pub sha256: String,
}

/// Reads what a signature claims, checking its shape but not its signature.
pub fn claim(signature: &[u8]) -> Result<Claim, Problem> {
    let bundle = Bundle::parse(signature)?;
    let envelope = bundle.envelope()?;
    let payload = STANDARD
        .decode(&envelope.payload)
        .map_err(|_| Problem::Base64 { field: "dsseEnvelope.payload" })?;
    let statement = Statement::parse(&payload)?;
    let (subject, resource) = statement.single_file()?;
    Ok(Claim {
        key: bundle.hint().map(str::to_owned),
        file_name: subject.name.clone(),
        sha256: resource.digest.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> (PrivateKey, Vec<u8>) {
        let key = PrivateKey::generate(Curve::P256);
        let signature = sign(b"model bytes", "m.onnx", &key);
        (key, signature)
    }

    #[test]
    fn a_signature_verifies_for_its_file_and_key_only() {
        let (key, signature) = signed();
        let verified = verify(b"model bytes", "m.onnx", &signature, key.public()).unwrap();
        assert_eq!(verified.fingerprint, key.public().fingerprint());
        assert!(matches!(
            verify(b"model bytez", "m.onnx", &signature, key.public()),
            Err(Problem::Digest { .. })
        ));
        let other = PrivateKey::generate(Curve::P256);
        assert!(matches!(
            verify(b"model bytes", "m.onnx", &signature, other.public()),
            Err(Problem::OtherKey { .. })
        ));
    }

    /// A bundle with its JSON changed by `edit`, still naming the key.
    fn edited(signature: &[u8], edit: impl FnOnce(&mut Bundle)) -> Vec<u8> {
        let mut bundle = Bundle::parse(signature).unwrap();
        edit(&mut bundle);
        bundle.to_json()
    }

    #[test]
    fn a_changed_statement_fails_the_signature_check() {
        let (key, signature) = signed();
        // Another file's statement, put in the envelope without re-signing.
        let other = serde_json::to_vec_pretty(&Statement::for_file("m.onnx", b"other")).unwrap();
        let swapped = edited(&signature, |b| {
            b.dsse_envelope.as_mut().unwrap().payload = STANDARD.encode(other)
        });
        assert_eq!(verify(b"other", "m.onnx", &swapped, key.public()), Err(Problem::BadSignature));
    }

    #[test]
    fn a_signature_without_a_hint_is_still_checked_with_the_key() {
        let (key, signature) = signed();
        let bare = edited(&signature, |b| b.verification_material.public_key = None);
        assert!(verify(b"model bytes", "m.onnx", &bare, key.public()).is_ok());
        let other = PrivateKey::generate(Curve::P256);
        assert_eq!(
            verify(b"model bytes", "m.onnx", &bare, other.public()),
            Err(Problem::BadSignature)
        );
    }

    #[test]
    fn hostile_fields_are_problems_not_panics() {
        let (key, signature) = signed();
        let check = |bytes: &[u8]| verify(b"model bytes", "m.onnx", bytes, key.public());
        assert!(matches!(check(b"not json"), Err(Problem::Malformed { .. })));
        assert!(matches!(check(b""), Err(Problem::Malformed { .. })));
        let bad_media = edited(&signature, |b| b.media_type = "text/plain".into());
        assert!(matches!(check(&bad_media), Err(Problem::MediaType { .. })));
        let bad_type = edited(&signature, |b| {
            b.dsse_envelope.as_mut().unwrap().payload_type = "application/json".into()
        });
        assert!(matches!(check(&bad_type), Err(Problem::PayloadType { .. })));
        let bad_payload =
            edited(&signature, |b| b.dsse_envelope.as_mut().unwrap().payload = "%%%".into());
        assert_eq!(check(&bad_payload), Err(Problem::Base64 { field: "dsseEnvelope.payload" }));
        let bad_sig = edited(&signature, |b| {
            b.dsse_envelope.as_mut().unwrap().signatures[0].sig = STANDARD.encode([0u8; 8])
        });
        assert_eq!(check(&bad_sig), Err(Problem::SignatureEncoding { curve: "P-256" }));
        let no_envelope = edited(&signature, |b| b.dsse_envelope = None);
        assert_eq!(check(&no_envelope), Err(Problem::NoEnvelope));
        let twice = edited(&signature, |b| {
            let envelope = b.dsse_envelope.as_mut().unwrap();
            envelope.signatures.push(envelope.signatures[0].clone());
        });
        assert_eq!(check(&twice), Err(Problem::SignatureCount(2)));
    }

    #[test]
    fn a_signed_statement_that_is_not_json_is_named() {
        let key = PrivateKey::generate(Curve::P256);
        let payload = b"[1, 2]".to_vec();
        let signature = key.sign(&bundle::pae(&payload));
        let bundle = Bundle {
            media_type: bundle::BUNDLE_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial::default(),
            dsse_envelope: Some(Envelope::signed(&payload, &signature)),
        };
        assert!(matches!(
            verify(b"x", "m.onnx", &bundle.to_json(), key.public()),
            Err(Problem::Statement { .. })
        ));
    }

    #[test]
    fn a_claim_is_read_without_the_key() {
        let (key, signature) = signed();
        let claim = claim(&signature).unwrap();
        assert_eq!(claim.key.as_deref(), Some(key.public().fingerprint()));
        assert_eq!(claim.file_name, "m.onnx");
        assert_eq!(claim.sha256, crate::util::sha256_hex(b"model bytes"));
    }
}
