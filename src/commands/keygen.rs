//! `onnxify keygen`: a key pair for teams without a key workflow of their own: `NAME.pem`, the
//! private key (PKCS#8, created readable by its owner only, encrypted when a password is
//! given), and `NAME.pub`, the public key to hand to whoever checks signatures. Neither file
//! ever replaces an existing one.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Failure, to_stdout};
use crate::error::{Error, Result};
use crate::signing::{Curve, PrivateKey, Zeroizing};

/// Which key pair to make, and where.
#[derive(Debug, Clone)]
pub struct KeygenCommand {
    /// The files' common path: NAME.pem and NAME.pub.
    pub name: PathBuf,
    pub curve: Curve,
    /// Encrypt the private key under this password.
    pub password: Option<Zeroizing<String>>,
}

/// The files written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub private: PathBuf,
    pub public: PathBuf,
    pub fingerprint: String,
}

/// Makes the key pair and says where it went.
pub fn run(command: &KeygenCommand) -> Result<(), Failure> {
    let pair = keygen(command)?;
    to_stdout(|out| {
        writeln!(
            out,
            "Wrote the private key {} (keep it secret) and the public key {}; key {}",
            pair.private.display(),
            pair.public.display(),
            pair.fingerprint
        )
    })
}

/// The two paths for NAME: NAME.pem and NAME.pub (a NAME ending in .pem or .pub loses it).
pub fn key_paths(name: &Path) -> (PathBuf, PathBuf) {
    let stem = match name.extension().and_then(|e| e.to_str()) {
        Some("pem" | "pub") => name.with_extension(""),
        _ => name.to_owned(),
    };
    let with = |extension: &str| {
        let mut path = stem.as_os_str().to_owned();
        path.push(extension);
        PathBuf::from(path)
    };
    (with(".pem"), with(".pub"))
}

/// Writes a new key pair. Each file is written whole beside its path and then linked into
/// place only if nothing is there, so an existing key is never replaced, even by a run started
/// at the same time; if the public key cannot be placed, the private key just placed is removed.
pub fn keygen(command: &KeygenCommand) -> Result<KeyPair> {
    let (private_path, public_path) = key_paths(&command.name);
    for path in [&private_path, &public_path] {
        if path.symlink_metadata().is_ok() {
            return Err(Error::Output {
                path: path.display().to_string(),
                message: "exists; keygen never replaces a key (choose another name)".into(),
            });
        }
    }
    let key = PrivateKey::generate(command.curve);
    let private_pem = key.to_pem(command.password.as_ref().map(|p| p.as_str()));
    // Temporary files are created readable by their owner only (0600), which the private key
    // keeps; the public key gets the usual permissions.
    place(&private_path, private_pem.as_bytes(), false)?;
    if let Err(e) = place(&public_path, key.public().pem().as_bytes(), true) {
        let _ = std::fs::remove_file(&private_path);
        return Err(e);
    }
    Ok(KeyPair {
        private: private_path,
        public: public_path,
        fingerprint: key.public().fingerprint().to_owned(),
    })
}

/// Writes `bytes` to a temporary file beside `path`, then links it to `path` unless something
/// is there.
fn place(path: &Path, bytes: &[u8], public: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io = |e| Error::io(path, e);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".onnxify-").suffix(".tmp");
    #[cfg(unix)]
    if public {
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = public;
    let mut file = builder.tempfile_in(dir).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist_noclobber(path).map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Output {
            path: path.display().to_string(),
            message: "exists; keygen never replaces a key (choose another name)".into(),
        },
        _ => Error::io(path, e.error),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placing_a_file_never_replaces_one_even_when_it_appears_after_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("team.pem");
        std::fs::write(&path, "existing").unwrap();
        let error = place(&path, b"new", false).unwrap_err().to_string();
        assert!(error.contains("never replaces a key"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "existing");
        // Nothing is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_paths_drop_a_key_extension() {
        let paths = |name: &str| key_paths(Path::new(name));
        assert_eq!(paths("keys/team"), ("keys/team.pem".into(), "keys/team.pub".into()));
        assert_eq!(paths("team.pem"), ("team.pem".into(), "team.pub".into()));
        assert_eq!(paths("team.v2"), ("team.v2.pem".into(), "team.v2.pub".into()));
    }
}
