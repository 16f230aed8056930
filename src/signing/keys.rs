//! Keys: ECDSA on the NIST curves model_signing signs and verifies with (P-256 with SHA-256,
//! P-384 with SHA-384, P-521 with SHA-512), read from PEM files and made by `keygen`.
//!
//! Private keys come as SEC1 (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes, maybe
//! after an `EC PARAMETERS` block), PKCS#8 (`PRIVATE KEY`) or encrypted PKCS#8 (`ENCRYPTED
//! PRIVATE KEY`, whose password the caller supplies); public keys as SPKI (`PUBLIC KEY`). The
//! curve is read from the key's own parameters before the key is decoded, so a key of another
//! curve or algorithm is named as such.
//!
//! A key's fingerprint is the SHA-256 of its public key's PEM text (SPKI, 64-column lines, LF),
//! in hex: the value model_signing records as the key hint, and what `sha256sum KEY.pub` prints
//! for a public key file written by OpenSSL or by `keygen`. One digest names a key everywhere:
//! in a signature, in `verify`'s lines and in `inspect`.

use std::io::Read;
use std::path::Path;

use pkcs8::der::{Decode, SecretDocument};
use pkcs8::{
    DecodePrivateKey, EncodePrivateKey, EncryptedPrivateKeyInfoRef, LineEnding, ObjectIdentifier,
    PrivateKeyInfoRef,
};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierRef, DecodePublicKey, EncodePublicKey, SubjectPublicKeyInfoRef};

use super::Zeroizing;
use super::problem::Problem;
use crate::error::{Error, Result};
use crate::util::{hex, regular_file_size};

/// Largest key file read; a PEM key is a few hundred bytes.
const MAX_KEY_BYTES: u64 = 64 << 10;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// A curve model_signing signs with, and the hash its ECDSA signatures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The curve's NIST name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The hash of the message the curve's signatures sign, as model_signing chooses it by the
    /// key's size.
    pub fn hash(self) -> &'static str {
        match self {
            Curve::P256 => "SHA-256",
            Curve::P384 => "SHA-384",
            Curve::P521 => "SHA-512",
        }
    }

    /// The curve of an EC key's algorithm identifier (of a public or a private key); another
    /// algorithm, or a curve model_signing does not sign with, is named.
    fn of_key(algorithm: &AlgorithmIdentifierRef) -> std::result::Result<Curve, String> {
        if algorithm.oid != EC_PUBLIC_KEY {
            return Err(algorithm_name(algorithm.oid));
        }
        algorithm
            .parameters_oid()
            .map_err(|_| "the EC key does not name its curve".to_owned())
            .and_then(Curve::of)
    }

    fn of(oid: ObjectIdentifier) -> std::result::Result<Curve, String> {
        match oid {
            P256_OID => Ok(Curve::P256),
            P384_OID => Ok(Curve::P384),
            P521_OID => Ok(Curve::P521),
            other => Err(format!(
                "a key on the curve {} ({other}); model_signing signs with ECDSA keys on P-256, \
                 P-384 or P-521",
                curve_name(other)
            )),
        }
    }
}

fn curve_name(oid: ObjectIdentifier) -> &'static str {
    match oid.to_string().as_str() {
        "1.3.132.0.10" => "secp256k1",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.132.0.33" => "P-224",
        _ => "with that identifier",
    }
}

/// What an algorithm identifier other than an EC key names.
fn algorithm_name(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "an RSA key",
        "1.3.101.112" => "an Ed25519 key",
        "1.3.101.113" => "an Ed448 key",
        "1.2.840.10040.4.1" => "a DSA key",
        _ => "a key of another algorithm",
    };
    format!("{name} ({oid}); model_signing signs with ECDSA keys on P-256, P-384 or P-521")
}

#[derive(Debug, Clone)]
enum Verifying {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

/// A public key that checks signatures.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: Verifying,
    pem: String,
    fingerprint: String,
}

impl PublicKey {
    /// Reads a PEM public key (`PUBLIC KEY`) from `path`.
    pub fn read(path: &Path) -> Result<PublicKey> {
        let text = read_key_file(path)?;
        let bad = |message: String| Error::Key { file: path.display().to_string(), message };
        let blocks = pem_blocks(&text);
        if blocks.iter().any(|(label, _)| label.ends_with("PRIVATE KEY")) {
            return Err(bad(
                "a private key; checking a signature takes the public key (KEY.pub)".into()
            ));
        }
        let (label, der) = blocks
            .into_iter()
            .find(|(label, _)| label.ends_with("PUBLIC KEY"))
            .ok_or_else(|| bad(no_block(&text, "a PEM block \"PUBLIC KEY\"")))?;
        if label != "PUBLIC KEY" {
            return Err(bad(format!(
                "a PEM block {label:?}; expected \"PUBLIC KEY\" (SubjectPublicKeyInfo, as \
                 `openssl ec -pubout` writes)"
            )));
        }
        let (_, document) = spki::Document::from_pem(&der)
            .map_err(|e| bad(format!("the PEM block does not decode: {e}")))?;
        PublicKey::from_spki_der(document.as_bytes()).map_err(bad)
    }

    /// A public key from its DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> std::result::Result<PublicKey, String> {
        let info = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
        let curve = Curve::of_key(&info.algorithm)?;
        let invalid = |e: spki::Error| format!("not a valid {} public key: {e}", curve.name());
        let key = match curve {
            Curve::P256 => {
                Verifying::P256(p256::PublicKey::from_public_key_der(der).map_err(invalid)?.into())
            }
            Curve::P384 => {
                Verifying::P384(p384::PublicKey::from_public_key_der(der).map_err(invalid)?.into())
            }
            Curve::P521 => {
                Verifying::P521(p521::PublicKey::from_public_key_der(der).map_err(invalid)?.into())
            }
        };
        Ok(PublicKey::new(key))
    }

    fn new(key: Verifying) -> PublicKey {
        let pem = match &key {
            Verifying::P256(k) => k.to_public_key_pem(LineEnding::LF),
            Verifying::P384(k) => k.to_public_key_pem(LineEnding::LF),
            Verifying::P521(k) => k.to_public_key_pem(LineEnding::LF),
        }
        .expect("a valid public key encodes");
        let fingerprint = hex(&Sha256::digest(pem.as_bytes()));
        PublicKey { key, pem, fingerprint }
    }

    /// The SHA-256 of the key's PEM text, in hex (see the module's documentation).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key as PEM text (SPKI), as `keygen` writes it.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    pub fn curve(&self) -> Curve {
        match self.key {
            Verifying::P256(_) => Curve::P256,
            Verifying::P384(_) => Curve::P384,
            Verifying::P521(_) => Curve::P521,
        }
    }

    /// Checks a DER-encoded ECDSA signature of `message` (hashed with the curve's hash).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> std::result::Result<(), Problem> {
        use p256::ecdsa::signature::Verifier;
        let encoding = Problem::SignatureEncoding { curve: self.curve().name() };
        let verified = match &self.key {
            Verifying::P256(key) => {
                let signature = p256::ecdsa::DerSignature::from_bytes(signature)
                    .map_err(|_| encoding.clone())?;
                key.verify(message, &signature)
            }
            Verifying::P384(key) => {
                let signature = p384::ecdsa::DerSignature::from_bytes(signature)
                    .map_err(|_| encoding.clone())?;
                key.verify(message, &signature)
            }
            Verifying::P521(key) => {
                let signature = p521::ecdsa::DerSignature::from_bytes(signature)
                    .map_err(|_| encoding.clone())?;
                key.verify(message, &signature)
            }
        };
        verified.map_err(|_| Problem::BadSignature)
    }
}

enum Signing {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

/// A private key that signs.
pub struct PrivateKey {
    key: Signing,
    public: PublicKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("public", &self.public).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Reads a PEM private key from `path`; `password` is asked only for an encrypted key.
    pub fn read(
        path: &Path,
        password: &mut dyn FnMut() -> Result<Zeroizing<String>>,
    ) -> Result<Self> {
        let text = Zeroizing::new(read_key_file(path)?);
        let bad = |message: String| Error::Key { file: path.display().to_string(), message };
        let blocks = pem_blocks(&text);
        let Some((label, block)) = blocks.iter().find(|(label, _)| label != "EC PARAMETERS") else {
            return Err(bad(no_block(&text, "a PEM private key")));
        };
        let decode = |block: &str| {
            SecretDocument::from_pem(block)
                .map(|(_, document)| document)
                .map_err(|e| bad(format!("the PEM block {label:?} does not decode: {e}")))
        };
        match label.as_str() {
            "EC PRIVATE KEY" => {
                let document = decode(block)?;
                PrivateKey::from_sec1_der(document.as_bytes()).map_err(bad)
            }
            "PRIVATE KEY" => {
                let document = decode(block)?;
                PrivateKey::from_pkcs8_der(document.as_bytes()).map_err(bad)
            }
            "ENCRYPTED PRIVATE KEY" => {
                let document = decode(block)?;
                let encrypted = EncryptedPrivateKeyInfoRef::from_der(document.as_bytes())
                    .map_err(|e| bad(format!("not an encrypted PKCS#8 key: {e}")))?;
                let password = password()?;
                let wrong = || {
                    bad("the key does not decrypt with this password (a wrong password, or a \
                         damaged key)"
                        .into())
                };
                let decrypted = encrypted.decrypt(password.as_bytes()).map_err(|_| wrong())?;
                PrivateKey::from_pkcs8_der(decrypted.as_bytes()).map_err(|_| wrong())
            }
            "PUBLIC KEY" => Err(bad(
                "a public key; signing needs the private key (the .pem, not the .pub)".into(),
            )),
            "RSA PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => Err(bad(format!(
                "a PEM block {label:?}; model_signing signs with ECDSA keys on P-256, P-384 or \
                 P-521 (PEM \"EC PRIVATE KEY\", \"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\")"
            ))),
            other => Err(bad(format!(
                "a PEM block {other:?}; expected \"EC PRIVATE KEY\", \"PRIVATE KEY\" or \
                 \"ENCRYPTED PRIVATE KEY\""
            ))),
        }
    }

    fn from_sec1_der(der: &[u8]) -> std::result::Result<PrivateKey, String> {
        let key = sec1::EcPrivateKey::from_der(der)
            .map_err(|e| format!("not a SEC1 EC private key: {e}"))?;
        let curve = key
            .parameters
            .and_then(|p| p.named_curve())
            .ok_or_else(|| "the EC key does not name its curve".to_owned())
            .and_then(Curve::of)?;
        let invalid = |e: p256::elliptic_curve::DecodeError| {
            format!("not a valid {} private key: {e}", curve.name())
        };
        Ok(PrivateKey::new(match curve {
            Curve::P256 => {
                Signing::P256(p256::SecretKey::from_sec1_der(der).map_err(invalid)?.into())
            }
            Curve::P384 => {
                Signing::P384(p384::SecretKey::from_sec1_der(der).map_err(invalid)?.into())
            }
            Curve::P521 => {
                Signing::P521(p521::SecretKey::from_sec1_der(der).map_err(invalid)?.into())
            }
        }))
    }

    fn from_pkcs8_der(der: &[u8]) -> std::result::Result<PrivateKey, String> {
        let info =
            PrivateKeyInfoRef::try_from(der).map_err(|e| format!("not a PKCS#8 key: {e}"))?;
        let curve = Curve::of_key(&info.algorithm)?;
        let invalid = |e: pkcs8::Error| format!("not a valid {} private key: {e}", curve.name());
        Ok(PrivateKey::new(match curve {
            Curve::P256 => {
                Signing::P256(p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(invalid)?)
            }
            Curve::P384 => {
                Signing::P384(p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(invalid)?)
            }
            Curve::P521 => {
                Signing::P521(p521::ecdsa::SigningKey::from_pkcs8_der(der).map_err(invalid)?)
            }
        }))
    }

    fn new(key: Signing) -> PrivateKey {
        let public = PublicKey::new(match &key {
            Signing::P256(k) => Verifying::P256(*k.verifying_key()),
            Signing::P384(k) => Verifying::P384(*k.verifying_key()),
            Signing::P521(k) => Verifying::P521(*k.verifying_key()),
        });
        PrivateKey { key, public }
    }

    /// A new key on `curve`, from the operating system's random numbers.
    pub fn generate(curve: Curve) -> PrivateKey {
        use p256::elliptic_curve::Generate;
        PrivateKey::new(match curve {
            Curve::P256 => Signing::P256(p256::ecdsa::SigningKey::generate()),
            Curve::P384 => Signing::P384(p384::ecdsa::SigningKey::generate()),
            Curve::P521 => Signing::P521(p521::ecdsa::SigningKey::generate()),
        })
    }

    /// The key as PKCS#8 PEM text, encrypted (PBES2: scrypt and AES-256-CBC) under `password`
    /// when there is one.
    pub fn to_pem(&self, password: Option<&str>) -> Zeroizing<String> {
        let pem = match (&self.key, password) {
            (Signing::P256(k), None) => k.to_pkcs8_pem(LineEnding::LF),
            (Signing::P384(k), None) => k.to_pkcs8_pem(LineEnding::LF),
            (Signing::P521(k), None) => k.to_pkcs8_pem(LineEnding::LF),
            (Signing::P256(k), Some(p)) => k.to_pkcs8_encrypted_pem(p, LineEnding::LF),
            (Signing::P384(k), Some(p)) => k.to_pkcs8_encrypted_pem(p, LineEnding::LF),
            (Signing::P521(k), Some(p)) => k.to_pkcs8_encrypted_pem(p, LineEnding::LF),
        };
        pem.expect("a valid private key encodes")
    }

    /// The key's public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// A DER-encoded ECDSA signature of `message`, hashed with the curve's hash; deterministic
    /// (RFC 6979), so no random numbers are needed.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        match &self.key {
            Signing::P256(key) => {
                let signature: p256::ecdsa::DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
            Signing::P384(key) => {
                let signature: p384::ecdsa::DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
            Signing::P521(key) => {
                let signature: p521::ecdsa::DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
        }
    }
}

/// Reads a key file: a regular file within [`MAX_KEY_BYTES`], as text.
fn read_key_file(path: &Path) -> Result<String> {
    let bad = |message: String| Error::Key { file: path.display().to_string(), message };
    let size = regular_file_size(path).map_err(|e| Error::io(path, e))?;
    if size > MAX_KEY_BYTES {
        return Err(bad(format!("{size} bytes; a PEM key is a few hundred")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_KEY_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_KEY_BYTES {
        return Err(bad(format!("more than {MAX_KEY_BYTES} bytes; a PEM key is a few hundred")));
    }
    String::from_utf8(bytes).map_err(|_| bad("not a PEM text file (it is not UTF-8)".into()))
}

/// The PEM blocks of `text`: each label with the block's text from its BEGIN line to its END
/// line. Text between blocks (OpenSSL's explanatory lines) is skipped.
fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some((label, block)) = &mut open {
            block.push_str(line);
            block.push('\n');
            if line == format!("-----END {label}-----") {
                blocks.extend(open.take());
            }
        } else if let Some(label) =
            line.strip_prefix("-----BEGIN ").and_then(|rest| rest.strip_suffix("-----"))
        {
            open = Some((label.to_owned(), format!("{line}\n")));
        }
    }
    blocks
}

/// Why a key file has no usable PEM block.
fn no_block(text: &str, expected: &str) -> String {
    if text.contains("-----BEGIN ") {
        format!("no complete PEM block holds {expected}")
    } else {
        format!("not a PEM file: expected {expected}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_curve_signs_and_verifies_and_refuses_another_message() {
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let key = PrivateKey::generate(curve);
            let signature = key.sign(b"message");
            assert_eq!(key.public().verify(b"message", &signature), Ok(()));
            assert_eq!(key.public().verify(b"messagf", &signature), Err(Problem::BadSignature));
            let other = PrivateKey::generate(curve);
            assert_eq!(other.public().verify(b"message", &signature), Err(Problem::BadSignature));
        }
    }

    #[test]
    fn a_signature_for_another_curve_is_an_encoding_problem() {
        let p384 = PrivateKey::generate(Curve::P384).sign(b"m");
        let p256 = PrivateKey::generate(Curve::P256);
        assert_eq!(
            p256.public().verify(b"m", &p384),
            Err(Problem::SignatureEncoding { curve: "P-256" })
        );
    }

    #[test]
    fn pem_blocks_skip_the_curve_parameters_and_surrounding_text() {
        let text = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n\
                    note\n-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----\n";
        let blocks = pem_blocks(text);
        let labels: Vec<&str> = blocks.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["EC PARAMETERS", "EC PRIVATE KEY"]);
        assert!(blocks[1].1.starts_with("-----BEGIN EC PRIVATE KEY-----\nabc\n"));
    }

    #[test]
    fn a_written_key_reads_back_with_and_without_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate(Curve::P256);
        let plain = dir.path().join("plain.pem");
        std::fs::write(&plain, key.to_pem(None).as_bytes()).unwrap();
        let mut no_password = || -> Result<Zeroizing<String>> { panic!("not encrypted") };
        let read = PrivateKey::read(&plain, &mut no_password).unwrap();
        assert_eq!(read.public().fingerprint(), key.public().fingerprint());

        let locked = dir.path().join("locked.pem");
        std::fs::write(&locked, key.to_pem(Some("s3cret")).as_bytes()).unwrap();
        let mut right = || Ok(Zeroizing::new("s3cret".to_owned()));
        let read = PrivateKey::read(&locked, &mut right).unwrap();
        assert_eq!(read.public().fingerprint(), key.public().fingerprint());
        let mut wrong = || Ok(Zeroizing::new("guess".to_owned()));
        let error = PrivateKey::read(&locked, &mut wrong).unwrap_err().to_string();
        assert!(error.contains("does not decrypt"), "{error}");
    }
}
