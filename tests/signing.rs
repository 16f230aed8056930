//! Signing, live against OpenSSF's model_signing (`python -m model_signing`, from the venv):
//! what onnxify signs passes `model_signing verify key`, what model_signing signs passes
//! `onnxify verify --public-key`, and a flipped bit, another key or a statement for another
//! file fails on both sides. Then the commands around it: keygen, predict's refusal, inspect's
//! claims, encrypted keys, and hostile signature files.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{onnxify_in, paths, python, python_json, stderr, stdout};

/// Keys of every kind onnxify reads, made once by the same library model_signing uses.
fn keys() -> &'static HashMap<String, PathBuf> {
    static KEYS: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = common::scratch().join("keys");
        let mut written = python_json("signing.py", &["keys", dir.to_str().unwrap()]);
        written.as_object_mut().unwrap().remove("password");
        paths(&written)
    })
}

fn key(name: &str) -> String {
    keys()[name].to_str().unwrap().to_owned()
}

const PASSWORD: &str = "correct horse battery";

/// A fresh directory holding `iris.onnx` (and its companion), trained on the sample.
fn trained(extra: &[&str]) -> PathBuf {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap().keep();
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/iris.csv");
    let mut args = vec!["train", csv.to_str().unwrap(), "-o", "iris.onnx", "--quiet"];
    args.extend_from_slice(extra);
    let output = onnxify_in(&dir, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    dir
}

/// Runs `python -m model_signing ARGS` in `dir`.
fn model_signing(dir: &Path, args: &[&str]) -> Output {
    Command::new(python())
        .current_dir(dir)
        .args(["-m", "model_signing"])
        .args(args)
        .output()
        .expect("python runs")
}

fn ms_verify(dir: &Path, public: &str, signature: &str, model: &str) -> Output {
    let args = ["verify", "key", "--public_key", public, "--signature", signature, model];
    model_signing(dir, &args)
}

fn ms_sign(dir: &Path, private: &str, signature: &str, model: &str) -> Output {
    let args = ["sign", "key", "--private_key", private, "--signature", signature, model];
    let output = model_signing(dir, &args);
    assert!(output.status.success(), "model_signing sign: {}", stderr(&output));
    output
}

/// Signs `dir`'s `iris.onnx` into `iris.onnx.sig` with the trainer's key, by `onnxify sign` or
/// by model_signing.
fn sign_with_trainer_key(dir: &Path, by_onnxify: bool) {
    if by_onnxify {
        let args = ["sign", "iris.onnx", "--key", &key("trainer.pem")];
        assert_passes(&onnxify_in(dir, &args), "onnxify sign");
    } else {
        ms_sign(dir, &key("trainer.pem"), "iris.onnx.sig", "iris.onnx");
    }
}

fn verify(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["verify", "iris.onnx"];
    all.extend_from_slice(args);
    onnxify_in(dir, &all)
}

fn assert_passes(output: &Output, what: &str) {
    assert!(output.status.success(), "{what}:\n{}{}", stdout(output), stderr(output));
}

fn assert_fails(output: &Output, what: &str) {
    assert!(!output.status.success(), "{what} passed:\n{}", stdout(output));
    assert!(!stderr(output).contains("panicked"), "{what}: {}", stderr(output));
}

/// Flips the lowest bit of the model's last byte.
fn flip_a_bit(model: &Path) {
    let mut bytes = std::fs::read(model).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(model, bytes).unwrap();
}

#[test]
fn a_model_onnxify_trains_and_signs_passes_model_signing_verify_key() {
    let dir = trained(&["--sign", &key("trainer.pem")]);
    assert!(dir.join("iris.onnx.sig").is_file());
    let output = ms_verify(&dir, &key("trainer.pub"), "iris.onnx.sig", "iris.onnx");
    assert_passes(&output, "model_signing verify key");
    let output = verify(&dir, &["--public-key", &key("trainer.pub")]);
    assert_passes(&output, "onnxify verify");
    assert!(stdout(&output).contains("[PASS] signed by key"), "{}", stdout(&output));
}

#[test]
fn a_signature_model_signing_makes_passes_onnxify_verify_and_predict() {
    let dir = trained(&[]);
    ms_sign(&dir, &key("reviewer.pem"), "iris.onnx.sig", "iris.onnx");
    let output = verify(&dir, &["--public-key", &key("reviewer.pub")]);
    assert_passes(&output, "onnxify verify of model_signing's signature");
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/iris.csv");
    let args =
        ["predict", "iris.onnx", csv.to_str().unwrap(), "--public-key", &key("reviewer.pub")];
    let output = onnxify_in(&dir, &args);
    assert_passes(&output, "predict with the signing key");
    assert_eq!(stdout(&output).lines().count(), 151);
}

#[test]
fn a_flipped_bit_fails_on_both_sides() {
    // Signed by onnxify, then by model_signing.
    for by_onnxify in [true, false] {
        let dir = trained(&[]);
        sign_with_trainer_key(&dir, by_onnxify);
        flip_a_bit(&dir.join("iris.onnx"));
        let output = ms_verify(&dir, &key("trainer.pub"), "iris.onnx.sig", "iris.onnx");
        assert_fails(&output, "model_signing on a changed file");
        let output = verify(&dir, &["--public-key", &key("trainer.pub")]);
        assert_fails(&output, "onnxify verify on a changed file");
        let text = stdout(&output);
        assert!(text.contains("[FAIL] signed by key"), "{text}");
        assert!(text.contains("are not the bytes signed"), "{text}");
    }
}

#[test]
fn an_appended_byte_fails_on_both_sides_though_the_file_no_longer_decodes() {
    let dir = trained(&["--sign", &key("trainer.pem")]);
    let model = dir.join("iris.onnx");
    let mut bytes = std::fs::read(&model).unwrap();
    bytes.push(b'x');
    std::fs::write(&model, bytes).unwrap();
    let output = ms_verify(&dir, &key("trainer.pub"), "iris.onnx.sig", "iris.onnx");
    assert_fails(&output, "model_signing on a file with a byte appended");
    let output = verify(&dir, &["--public-key", &key("trainer.pub")]);
    assert_fails(&output, "onnxify verify on a file with a byte appended");
    let text = stdout(&output);
    let line = text.lines().find(|l| l.contains("signed by key")).unwrap();
    assert!(line.contains("[FAIL]") && line.contains("not the bytes signed"), "{text}");
}

#[test]
fn another_key_fails_on_both_sides() {
    for by_onnxify in [true, false] {
        let dir = trained(&[]);
        sign_with_trainer_key(&dir, by_onnxify);
        let output = ms_verify(&dir, &key("reviewer.pub"), "iris.onnx.sig", "iris.onnx");
        assert_fails(&output, "model_signing with another key");
        let output =
            verify(&dir, &["--public-key", &key("reviewer.pub"), "--signature", "iris.onnx.sig"]);
        assert_fails(&output, "onnxify verify with another key");
        assert!(stdout(&output).contains("signed with another key"), "{}", stdout(&output));
    }
}

#[test]
fn a_statement_for_another_file_fails_on_both_sides() {
    // Another model's valid signature, put beside this one.
    let dir = trained(&[]);
    let other = trained(&["--C", "0.5"]);
    for by_onnxify in [true, false] {
        sign_with_trainer_key(&other, by_onnxify);
        std::fs::copy(other.join("iris.onnx.sig"), dir.join("iris.onnx.sig")).unwrap();
        let output = ms_verify(&dir, &key("trainer.pub"), "iris.onnx.sig", "iris.onnx");
        assert_fails(&output, "model_signing with another file's statement");
        let output = verify(&dir, &["--public-key", &key("trainer.pub")]);
        assert_fails(&output, "onnxify verify with another file's statement");
    }
}

#[test]
fn a_statement_edited_after_signing_fails_on_both_sides() {
    // Another model's signature with its statement rewritten for this file: the hint and the
    // digests now match, only the signature over the statement can tell.
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use sha2::{Digest, Sha256};
    let dir = trained(&[]);
    let other = trained(&["--C", "0.5", "--sign", &key("trainer.pem")]);
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(other.join("iris.onnx.sig")).unwrap()).unwrap();
    let payload = STANDARD.decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
    let mut statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let digest = Sha256::digest(std::fs::read(dir.join("iris.onnx")).unwrap());
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    statement["predicate"]["resources"][0]["digest"] = hex(&digest).into();
    statement["subject"][0]["digest"]["sha256"] = hex(&Sha256::digest(digest)).into();
    bundle["dsseEnvelope"]["payload"] = STANDARD.encode(statement.to_string()).into();
    std::fs::write(dir.join("iris.onnx.sig"), bundle.to_string()).unwrap();
    let output = ms_verify(&dir, &key("trainer.pub"), "iris.onnx.sig", "iris.onnx");
    assert_fails(&output, "model_signing on an edited statement");
    let output = verify(&dir, &["--public-key", &key("trainer.pub")]);
    assert_fails(&output, "onnxify verify on an edited statement");
    assert!(stdout(&output).contains("does not verify under this key"), "{}", stdout(&output));
}

#[test]
fn a_signature_for_the_same_bytes_under_another_name_fails_in_onnxify() {
    // model_signing takes the name as information only; onnxify does not.
    let dir = trained(&["--sign", &key("trainer.pem")]);
    std::fs::copy(dir.join("iris.onnx"), dir.join("renamed.onnx")).unwrap();
    let output = ms_verify(&dir, &key("trainer.pub"), "iris.onnx.sig", "renamed.onnx");
    assert_passes(&output, "model_signing on a renamed file");
    let args = [
        "verify",
        "renamed.onnx",
        "--companion",
        "iris.onnx.json",
        "--public-key",
        &key("trainer.pub"),
        "--signature",
        "iris.onnx.sig",
    ];
    let output = onnxify_in(&dir, &args);
    assert_fails(&output, "onnxify verify of a renamed file");
    assert!(stdout(&output).contains("for a file named \"iris.onnx\""), "{}", stdout(&output));
}

#[test]
fn every_curve_model_signing_verifies_with_keys_signs_both_ways() {
    for name in ["p384", "p521"] {
        let dir = trained(&[]);
        let args = ["sign", "iris.onnx", "--key", &key(&format!("{name}.pem"))];
        assert_passes(&onnxify_in(&dir, &args), "onnxify sign");
        let public = key(&format!("{name}.pub"));
        let output = ms_verify(&dir, &public, "iris.onnx.sig", "iris.onnx");
        assert_passes(&output, &format!("model_signing verify of onnxify's {name} signature"));
        ms_sign(&dir, &key(&format!("{name}.pem")), "ms.sig", "iris.onnx");
        let output = verify(&dir, &["--public-key", &public, "--signature", "ms.sig"]);
        assert_passes(&output, &format!("onnxify verify of model_signing's {name} signature"));
    }
}

#[test]
fn the_handoff_train_sign_review_countersign_deploy() {
    let dir = trained(&["--sign", &key("trainer.pem")]);
    // The reviewer checks the trainer's signature, then countersigns beside it; the default
    // file holds the trainer's signature, so it is not replaced.
    assert_passes(&verify(&dir, &["--public-key", &key("trainer.pub")]), "review");
    let output = onnxify_in(&dir, &["sign", "iris.onnx", "--key", &key("reviewer.pem")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("holds a signature by key"), "{}", stderr(&output));
    let args =
        ["sign", "iris.onnx", "--key", &key("reviewer.pem"), "--signature", "iris.onnx.review.sig"];
    assert_passes(&onnxify_in(&dir, &args), "countersign");
    // Deployment finds each key's signature beside the model.
    let output =
        verify(&dir, &["--public-key", &key("trainer.pub"), "--public-key", &key("reviewer.pub")]);
    assert_passes(&output, "deploy check of both keys");
    assert_eq!(stdout(&output).matches("[PASS] signed by key").count(), 2, "{}", stdout(&output));
    // and model_signing agrees about the countersignature.
    let output = ms_verify(&dir, &key("reviewer.pub"), "iris.onnx.review.sig", "iris.onnx");
    assert_passes(&output, "model_signing on the countersignature");
    // A key that signed nothing fails its own line.
    let output =
        verify(&dir, &["--public-key", &key("trainer.pub"), "--public-key", &key("p384.pub")]);
    assert_fails(&output, "a key without a signature");
    assert_eq!(stdout(&output).matches("[PASS] signed by key").count(), 1, "{}", stdout(&output));
}

#[test]
fn predict_refuses_an_unsigned_or_wrongly_signed_model_and_writes_nothing() {
    let dir = trained(&[]);
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/iris.csv");
    let csv = csv.to_str().unwrap();
    let run = |dir: &Path, public: &str| {
        let args = ["predict", "iris.onnx", csv, "-o", "out.csv", "--public-key", public];
        onnxify_in(dir, &args)
    };
    let output = run(&dir, &key("trainer.pub"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("not signed"), "{}", stderr(&output));
    assert!(!dir.join("out.csv").exists());
    let args = ["sign", "iris.onnx", "--key", &key("trainer.pem")];
    assert_passes(&onnxify_in(&dir, &args), "sign");
    let output = run(&dir, &key("reviewer.pub"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!dir.join("out.csv").exists());
    flip_a_bit(&dir.join("iris.onnx"));
    let output = run(&dir, &key("trainer.pub"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("not the bytes signed"), "{}", stderr(&output));
    assert!(!dir.join("out.csv").exists());
}

#[test]
fn inspect_reports_the_signatures_beside_the_file_without_trusting_them() {
    let dir = trained(&["--sign", &key("trainer.pem")]);
    let output = onnxify_in(&dir, &["inspect", "iris.onnx", "--json"]);
    assert_passes(&output, "inspect");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let signature = &report["signatures"][0];
    assert_eq!(signature["claim"]["file_name"], "iris.onnx");
    assert_eq!(signature["matches_this_file"], true);
    assert_eq!(signature["claim"]["sha256"], report["sha256"]);
    flip_a_bit(&dir.join("iris.onnx"));
    let output = onnxify_in(&dir, &["inspect", "iris.onnx"]);
    assert!(stdout(&output).contains("NOT this file's"), "{}", stdout(&output));
}

#[test]
fn an_encrypted_key_takes_its_password_from_the_environment_only() {
    let dir = trained(&[]);
    let sign = |password: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_onnxify"));
        command.current_dir(&dir).args(["sign", "iris.onnx", "--key", &key("locked.pem")]);
        command.env_remove("ONNXIFY_KEY_PASSWORD").stdin(std::process::Stdio::null());
        if let Some(password) = password {
            command.env("ONNXIFY_KEY_PASSWORD", password);
        }
        command.output().unwrap()
    };
    let output = sign(None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("ONNXIFY_KEY_PASSWORD"), "{}", stderr(&output));
    let output = sign(Some("wrong"));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("does not decrypt"), "{}", stderr(&output));
    assert!(!dir.join("iris.onnx.sig").exists());
    assert_passes(&sign(Some(PASSWORD)), "sign with the password");
    let output = ms_verify(&dir, &key("locked.pub"), "iris.onnx.sig", "iris.onnx");
    assert_passes(&output, "model_signing on the encrypted key's signature");
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_never_replaces_one() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap().keep();
    let output = onnxify_in(&dir, &["keygen", "team"]);
    assert_passes(&output, "keygen");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("team.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let pem = std::fs::read(dir.join("team.pem")).unwrap();
    let output = onnxify_in(&dir, &["keygen", "team"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("never replaces a key"), "{}", stderr(&output));
    assert_eq!(std::fs::read(dir.join("team.pem")).unwrap(), pem);
    // model_signing signs with keygen's key, and onnxify checks it with keygen's public key.
    let model = trained(&[]);
    let private = dir.join("team.pem");
    ms_sign(&model, private.to_str().unwrap(), "iris.onnx.sig", "iris.onnx");
    let public = dir.join("team.pub");
    assert_passes(&verify(&model, &["--public-key", public.to_str().unwrap()]), "verify");
    // An encrypted key of another curve, which the library model_signing loads keys with reads.
    let output = Command::new(env!("CARGO_BIN_EXE_onnxify"))
        .current_dir(&dir)
        .args(["keygen", "locked", "--encrypt", "--curve", "p384"])
        .env("ONNXIFY_KEY_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_passes(&output, "keygen --encrypt");
    let pem = dir.join("locked.pem");
    assert!(std::fs::read_to_string(&pem).unwrap().starts_with("-----BEGIN ENCRYPTED PRIVATE KEY"));
    let loaded = python_json("signing.py", &["load", pem.to_str().unwrap(), PASSWORD]);
    assert_eq!(loaded["curve"], "secp384r1");
}

#[test]
fn signature_files_pair_with_keys_one_to_one() {
    let dir = trained(&["--sign", &key("trainer.pem")]);
    let args = [
        "--public-key",
        &key("trainer.pub"),
        "--public-key",
        &key("reviewer.pub"),
        "--signature",
        "iris.onnx.sig",
    ];
    let output = verify(&dir, &args);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("1 signature files for 2 public keys"), "{}", stderr(&output));
}

#[test]
fn convert_signs_the_file_it_writes() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap().keep();
    let pickle = dir.join("model.joblib");
    python_json("signing.py", &["pickle", pickle.to_str().unwrap()]);
    let args = ["convert", "model.joblib", "-o", "model.onnx", "--sign", &key("trainer.pem")];
    assert_passes(&onnxify_in(&dir, &args), "convert --sign");
    let output = ms_verify(&dir, &key("trainer.pub"), "model.onnx.sig", "model.onnx");
    assert_passes(&output, "model_signing on a converted model's signature");
}

#[test]
fn hostile_signature_files_are_failing_lines_not_panics() {
    let dir = trained(&["--sign", &key("trainer.pem")]);
    let good = std::fs::read_to_string(dir.join("iris.onnx.sig")).unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&good).unwrap();
    let mut several = bundle.clone();
    let signature = several["dsseEnvelope"]["signatures"][0].clone();
    several["dsseEnvelope"]["signatures"].as_array_mut().unwrap().push(signature);
    let mut media = bundle.clone();
    media["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1".into();
    let mut payload = bundle.clone();
    payload["dsseEnvelope"]["payload"] = "not base64!".into();
    let mut payload_type = bundle.clone();
    payload_type["dsseEnvelope"]["payloadType"] = "application/json".into();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not JSON", b"{\"mediaType\": ".to_vec(), "not a sigstore bundle"),
        ("several signatures", several.to_string().into_bytes(), "holds 2 signatures"),
        ("another media type", media.to_string().into_bytes(), "mediaType is"),
        ("bad base64", payload.to_string().into_bytes(), "not valid base64"),
        ("another payload type", payload_type.to_string().into_bytes(), "payloadType is"),
        ("huge", vec![b' '; 1 << 20], "larger than"),
    ];
    for (what, bytes, expected) in cases {
        std::fs::write(dir.join("hostile.sig"), bytes).unwrap();
        let output =
            verify(&dir, &["--public-key", &key("trainer.pub"), "--signature", "hostile.sig"]);
        assert_eq!(output.status.code(), Some(1), "{what}: {}", stderr(&output));
        assert!(stdout(&output).contains(expected), "{what}: {}", stdout(&output));
        assert!(!stderr(&output).contains("panicked"), "{what}");
    }
}

#[test]
fn keys_of_another_curve_or_algorithm_are_refused_by_name() {
    let dir = trained(&[]);
    for (file, expected) in
        [("secp256k1.pub", "secp256k1"), ("ed25519.pub", "Ed25519"), ("trainer.pem", "private key")]
    {
        let output = verify(&dir, &["--public-key", &key(file)]);
        assert_eq!(output.status.code(), Some(2), "{file}");
        let message = stderr(&output);
        assert!(message.contains(file) && message.contains(expected), "{file}: {message}");
    }
    let output = onnxify_in(&dir, &["sign", "iris.onnx", "--key", &key("secp256k1.pem")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("a key on the curve secp256k1"), "{}", stderr(&output));
    let output = onnxify_in(&dir, &["sign", "iris.onnx", "--key", &key("trainer.pub")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!dir.join("iris.onnx.sig").exists());
}
