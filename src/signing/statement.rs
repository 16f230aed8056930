//! The signed statement: an in-toto statement (v1) of model_signing's predicate v1.0, which
//! lists every file of a model with its digest. A model file signed on its own is one resource
//! named `.` (the path of the file relative to itself); the subject is the file's name with the
//! SHA-256 of the resources' digests, concatenated in the listed order.
//!
//! model_signing treats the subject's name as information only, so a renamed file still passes
//! its verifier. onnxify requires the name too: a reviewer's signature of `fraud-v2.onnx` must
//! not vouch for the same bytes deployed as `fraud-v3.onnx`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::problem::Problem;
use crate::util::hex;

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The predicate of model_signing 0.2, which listed files as subjects; onnxify does not read it.
const PREDICATE_TYPE_V0_2: &str = "https://model_signing/Digests/v0.1";

/// An in-toto statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Predicate,
}

/// The model: its name and the digest of its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: SubjectDigest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectDigest {
    pub sha256: String,
}

/// model_signing's predicate: the manifest and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicate {
    pub resources: Vec<Resource>,
    pub serialization: Serialization,
}

/// One file (or shard) of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub digest: String,
    pub algorithm: String,
}

/// How the manifest was made: by whole files (`files`) or by shards, with which hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Serialization {
    pub method: String,
    pub hash_type: String,
    pub allow_symlinks: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_size: Option<u64>,
}

impl Statement {
    /// The statement for one file named `file_name` holding `bytes`, as model_signing makes it
    /// (by files, SHA-256, no symbolic links).
    pub fn for_file(file_name: &str, bytes: &[u8]) -> Statement {
        let digest = Sha256::digest(bytes);
        Statement {
            statement_type: STATEMENT_TYPE.into(),
            subject: vec![Subject {
                name: file_name.into(),
                digest: SubjectDigest { sha256: hex(&Sha256::digest(digest)) },
            }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate: Predicate {
                resources: vec![Resource {
                    name: ".".into(),
                    digest: hex(&digest),
                    algorithm: "sha256".into(),
                }],
                serialization: Serialization {
                    method: "files".into(),
                    hash_type: "sha256".into(),
                    allow_symlinks: false,
                    ignore_paths: Vec::new(),
                    shard_size: None,
                },
            },
        }
    }

    /// Reads the payload's JSON; the problem names the field that does not read.
    pub fn parse(payload: &[u8]) -> Result<Statement, Problem> {
        let deserializer = &mut serde_json::Deserializer::from_slice(payload);
        serde_path_to_error::deserialize(deserializer).map_err(|e| Problem::Statement {
            field: match e.path().to_string() {
                path if path == "." => "payload".into(),
                path => path,
            },
            message: e.inner().to_string(),
        })
    }

    /// The one subject and the one resource of a statement about a single file hashed with
    /// SHA-256 by files.
    pub fn single_file(&self) -> Result<(&Subject, &Resource), Problem> {
        let field =
            |field: &str, message: String| Problem::Statement { field: field.into(), message };
        if self.statement_type != STATEMENT_TYPE {
            let found = &self.statement_type;
            return Err(field("_type", format!("{found:?}; expected {STATEMENT_TYPE:?}")));
        }
        if self.predicate_type != PREDICATE_TYPE {
            let found = &self.predicate_type;
            let also = if found == PREDICATE_TYPE_V0_2 {
                " (model_signing 0.2's format, which onnxify does not read: re-sign the file)"
            } else {
                ""
            };
            return Err(field(
                "predicateType",
                format!("{found:?}; expected {PREDICATE_TYPE:?}{also}"),
            ));
        }
        let [subject] = self.subject.as_slice() else {
            return Err(field("subject", format!("{} subjects; expected one", self.subject.len())));
        };
        let serialization = &self.predicate.serialization;
        if serialization.method != "files" {
            return Err(Problem::NotOneFile(format!(
                "predicate.serialization.method is {:?}; a file signed whole is serialised by \
                 \"files\"",
                serialization.method
            )));
        }
        if serialization.hash_type != "sha256" {
            return Err(field(
                "predicate.serialization.hash_type",
                format!("{:?}; onnxify checks \"sha256\"", serialization.hash_type),
            ));
        }
        let [resource] = self.predicate.resources.as_slice() else {
            return Err(Problem::NotOneFile(format!(
                "predicate.resources lists {} files",
                self.predicate.resources.len()
            )));
        };
        if resource.name != "." {
            return Err(Problem::NotOneFile(format!(
                "predicate.resources names {:?}, a file inside a signed directory",
                resource.name
            )));
        }
        if resource.algorithm != "sha256" {
            return Err(field(
                "predicate.resources[0].algorithm",
                format!("{:?}; expected \"sha256\"", resource.algorithm),
            ));
        }
        Ok((subject, resource))
    }

    /// Checks that the statement vouches for `bytes` under the name `file_name`: the file's
    /// digest, the subject digest that follows from it, and the name.
    pub fn check_file(&self, file_name: &str, bytes: &[u8]) -> Result<(), Problem> {
        let (subject, resource) = self.single_file()?;
        let actual = Sha256::digest(bytes);
        let signed = parse_sha256(&resource.digest).ok_or_else(|| Problem::Statement {
            field: "predicate.resources[0].digest".into(),
            message: "not a SHA-256 digest in hex".into(),
        })?;
        if signed != actual.as_slice() {
            return Err(Problem::Digest { signed: resource.digest.clone(), actual: hex(&actual) });
        }
        let computed = hex(&Sha256::digest(signed));
        if !subject.digest.sha256.eq_ignore_ascii_case(&computed) {
            return Err(Problem::RootDigest { recorded: subject.digest.sha256.clone(), computed });
        }
        if subject.name != file_name {
            return Err(Problem::FileName {
                signed: subject.name.clone(),
                actual: file_name.to_owned(),
            });
        }
        Ok(())
    }
}

/// A SHA-256 digest written in hex (either case), as bytes.
fn parse_sha256(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..32).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_vouches_for_its_own_file_only() {
        let statement = Statement::for_file("iris.onnx", b"model bytes");
        assert_eq!(statement.check_file("iris.onnx", b"model bytes"), Ok(()));
        assert!(matches!(
            statement.check_file("iris.onnx", b"model bytez"),
            Err(Problem::Digest { .. })
        ));
        assert!(matches!(
            statement.check_file("other.onnx", b"model bytes"),
            Err(Problem::FileName { .. })
        ));
    }

    #[test]
    fn the_subject_digest_must_follow_from_the_resources() {
        let mut statement = Statement::for_file("iris.onnx", b"model bytes");
        statement.subject[0].digest.sha256 = "0".repeat(64);
        assert!(matches!(
            statement.check_file("iris.onnx", b"model bytes"),
            Err(Problem::RootDigest { .. })
        ));
    }

    #[test]
    fn a_directory_manifest_is_not_a_single_file() {
        let mut statement = Statement::for_file("model", b"x");
        statement.predicate.resources[0].name = "weights.onnx".into();
        assert!(matches!(statement.check_file("model", b"x"), Err(Problem::NotOneFile(_))));
        statement.predicate.resources.push(statement.predicate.resources[0].clone());
        assert!(matches!(statement.check_file("model", b"x"), Err(Problem::NotOneFile(_))));
    }

    #[test]
    fn each_field_of_another_kind_of_statement_is_refused_by_name() {
        type Edit = fn(&mut Statement);
        let edits: [(&str, Edit); 6] = [
            ("_type", |s| s.statement_type = "https://in-toto.io/Statement/v0.1".into()),
            ("predicateType", |s| s.predicate_type = PREDICATE_TYPE_V0_2.into()),
            ("subject", |s| s.subject.push(s.subject[0].clone())),
            ("method", |s| s.predicate.serialization.method = "shards".into()),
            ("hash_type", |s| s.predicate.serialization.hash_type = "blake3".into()),
            ("algorithm", |s| s.predicate.resources[0].algorithm = "blake2".into()),
        ];
        for (field, edit) in edits {
            let mut statement = Statement::for_file("m.onnx", b"x");
            edit(&mut statement);
            let error = statement.check_file("m.onnx", b"x").unwrap_err().to_string();
            assert!(error.contains(field), "{field}: {error}");
        }
    }

    #[test]
    fn the_subject_digest_is_the_digest_of_the_file_digest() {
        // sha256(sha256(b"")), as model_signing computes the root of a one-file manifest.
        let statement = Statement::for_file("empty", b"");
        assert_eq!(
            statement.predicate.resources[0].digest,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            statement.subject[0].digest.sha256,
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
    }
}
