//! The signature file: a sigstore bundle (media type v0.3) holding a DSSE envelope, as
//! OpenSSF's model_signing writes it for key-based signing. One set of serde types, written by
//! [`super::sign`] and read back by [`Bundle::parse`].
//!
//! model_signing records no transparency-log entry for a key signature (`tlogEntries` is empty)
//! and names the key by `verificationMaterial.publicKey.hint`, the SHA-256 of the public key's
//! PEM text. A reader keeps only what it checks; other fields a newer writer adds are ignored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::problem::Problem;

/// The bundle version model_signing writes, and the only one its key verifier accepts.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Largest signature file read. A signature of one file is about 1.5 kB; the limit leaves room
/// for a long list of ignored paths and refuses a file made to exhaust memory.
pub const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// A sigstore bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    #[serde(default)]
    pub verification_material: VerificationMaterial,
    /// Absent in a bundle that signs a message instead of an envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
}

/// How the signer's key is named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// Always empty for a key signature; an entry's fields are not read.
    #[serde(default)]
    pub tlog_entries: Vec<TlogEntry>,
}

/// The key's name: model_signing writes the SHA-256 of the public key's PEM text, in hex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    #[serde(default)]
    pub hint: Option<String>,
}

/// A transparency-log entry, which a key signature does not have; its fields are not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlogEntry {}

/// A DSSE envelope: the payload and the signatures over its pre-authentication encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The statement's JSON, in base64.
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// The envelope of `payload` with its one signature (DER), as model_signing writes it.
    pub fn signed(payload: &[u8], signature: &[u8]) -> Envelope {
        Envelope {
            payload: STANDARD.encode(payload),
            payload_type: PAYLOAD_TYPE.into(),
            signatures: vec![EnvelopeSignature {
                sig: STANDARD.encode(signature),
                keyid: String::new(),
            }],
        }
    }
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The DER-encoded ECDSA signature, in base64.
    pub sig: String,
    /// Empty in model_signing's key signatures.
    #[serde(default)]
    pub keyid: String,
}

impl Bundle {
    /// Reads a bundle from the signature file's bytes; the problem names the field that does
    /// not read.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, Problem> {
        let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(deserializer).map_err(|e| Problem::Malformed {
            field: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// The bundle as written: compact JSON, as model_signing writes it, and a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec(self).expect("a bundle serialises");
        json.push(b'\n');
        json
    }

    /// The envelope, which must hold an in-toto statement and exactly one signature.
    pub fn envelope(&self) -> Result<&Envelope, Problem> {
        if self.media_type != BUNDLE_MEDIA_TYPE {
            let found = self.media_type.clone();
            return Err(Problem::MediaType { found, expected: BUNDLE_MEDIA_TYPE });
        }
        let envelope = self.dsse_envelope.as_ref().ok_or(Problem::NoEnvelope)?;
        if envelope.payload_type != PAYLOAD_TYPE {
            let found = envelope.payload_type.clone();
            return Err(Problem::PayloadType { found, expected: PAYLOAD_TYPE });
        }
        if envelope.signatures.len() != 1 {
            return Err(Problem::SignatureCount(envelope.signatures.len()));
        }
        Ok(envelope)
    }

    /// The key hint, when the bundle has one.
    pub fn hint(&self) -> Option<&str> {
        self.verification_material.public_key.as_ref()?.hint.as_deref()
    }
}

/// The DSSE pre-authentication encoding of `payload`: what the signature signs.
pub fn pae(payload: &[u8]) -> Vec<u8> {
    let mut encoded =
        format!("DSSEv1 {} {PAYLOAD_TYPE} {} ", PAYLOAD_TYPE.len(), payload.len()).into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_dsse_version_1() {
        assert_eq!(pae(b"{}"), b"DSSEv1 28 application/vnd.in-toto+json 2 {}");
    }

    #[test]
    fn a_missing_field_is_named_with_its_path() {
        let json = br#"{"mediaType":"x","dsseEnvelope":{"payloadType":"t","signatures":[]}}"#;
        let Err(Problem::Malformed { field, message }) = Bundle::parse(json) else { panic!() };
        assert_eq!(field, "dsseEnvelope");
        assert!(message.contains("payload"), "{message}");
        let json = br#"{"mediaType":"x","dsseEnvelope":{"payload":"","payloadType":"t","signatures":[{"sig":7}]}}"#;
        let Err(Problem::Malformed { field, .. }) = Bundle::parse(json) else { panic!() };
        assert_eq!(field, "dsseEnvelope.signatures[0].sig");
    }

    #[test]
    fn several_signatures_are_refused() {
        let signature = EnvelopeSignature { sig: String::new(), keyid: String::new() };
        let bundle = Bundle {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            verification_material: VerificationMaterial::default(),
            dsse_envelope: Some(Envelope {
                payload: String::new(),
                payload_type: PAYLOAD_TYPE.into(),
                signatures: vec![signature.clone(), signature],
            }),
        };
        assert_eq!(bundle.envelope(), Err(Problem::SignatureCount(2)));
    }
}
