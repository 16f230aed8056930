//! Why a signature does not vouch for a model file: one typed value per rule, each saying what
//! was found and what was expected, so that `verify` prints it as a failed line and `predict`
//! refuses with it.

use std::fmt;

/// A reason a signature file is refused or does not hold for a file and a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The signature file cannot be read.
    Unreadable(String),
    /// There is no signature file to check.
    Missing(String),
    /// The signature file is larger than the limit.
    TooLarge { limit: u64 },
    /// The file is not JSON, or a field does not have the bundle's shape.
    Malformed { field: String, message: String },
    /// `mediaType` is not the bundle version model_signing writes and reads.
    MediaType { found: String, expected: &'static str },
    /// The bundle holds no DSSE envelope (a message signature, say).
    NoEnvelope,
    /// `dsseEnvelope.payloadType` is not an in-toto statement.
    PayloadType { found: String, expected: &'static str },
    /// The envelope does not hold exactly one signature.
    SignatureCount(usize),
    /// A base64 field does not decode.
    Base64 { field: &'static str },
    /// `verificationMaterial.publicKey.hint` names another key.
    OtherKey { hint: String, fingerprint: String },
    /// The signature is not a DER-encoded ECDSA signature for the key's curve.
    SignatureEncoding { curve: &'static str },
    /// The signature does not verify over the payload under the key.
    BadSignature,
    /// The payload is not an in-toto statement of the model_signing predicate.
    Statement { field: String, message: String },
    /// The statement is for several files or shards, or hashed another way.
    NotOneFile(String),
    /// The statement's digest of the file is not the digest of the bytes checked.
    Digest { signed: String, actual: String },
    /// The statement's subject digest does not follow from its resources.
    RootDigest { recorded: String, computed: String },
    /// The statement names another file.
    FileName { signed: String, actual: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreadable(message) => write!(f, "cannot read the signature: {message}"),
            Problem::Missing(message) => write!(f, "not signed: {message}"),
            Problem::TooLarge { limit } => write!(
                f,
                "the signature file is larger than {limit} bytes (a model_signing signature of \
                 one file is about 1.5 kB)"
            ),
            Problem::Malformed { field, message } if field.is_empty() || field == "." => {
                write!(f, "not a sigstore bundle: {message}")
            }
            Problem::Malformed { field, message } => {
                write!(f, "not a sigstore bundle: field {field}: {message}")
            }
            Problem::MediaType { found, expected } => {
                write!(f, "mediaType is {found:?}; expected {expected:?}")
            }
            Problem::NoEnvelope => f.write_str("the bundle holds no dsseEnvelope"),
            Problem::PayloadType { found, expected } => {
                write!(f, "dsseEnvelope.payloadType is {found:?}; expected {expected:?}")
            }
            Problem::SignatureCount(n) => write!(
                f,
                "dsseEnvelope.signatures holds {n} signatures; a model_signing signature holds \
                 exactly one (each signer writes a signature file of its own)"
            ),
            Problem::Base64 { field } => write!(f, "{field} is not valid base64"),
            Problem::OtherKey { hint, fingerprint } => write!(
                f,
                "signed with another key: the signature names key {hint}, this key is \
                 {fingerprint}"
            ),
            Problem::SignatureEncoding { curve } => write!(
                f,
                "dsseEnvelope.signatures[0].sig is not a DER-encoded ECDSA signature on {curve}"
            ),
            Problem::BadSignature => f.write_str(
                "the signature does not verify under this key: it was made by another key, or \
                 the statement was changed after signing",
            ),
            Problem::Statement { field, message } => {
                write!(f, "the signed statement: {field}: {message}")
            }
            Problem::NotOneFile(message) => {
                write!(f, "the signed statement is not about one file: {message}")
            }
            Problem::Digest { signed, actual } => write!(
                f,
                "the file's bytes are not the bytes signed: SHA-256 signed {signed}, this file's \
                 {actual}"
            ),
            Problem::RootDigest { recorded, computed } => write!(
                f,
                "the signed statement is inconsistent: its subject digest is {recorded}, its \
                 resources hash to {computed}"
            ),
            Problem::FileName { signed, actual } => write!(
                f,
                "the signature is for a file named {signed:?}, not {actual:?} (a signature \
                 vouches for a file under its name; re-sign a renamed file)"
            ),
        }
    }
}

impl std::error::Error for Problem {}
