//! `onnxify scan PATH...` as a CI gate: a tree holding the suite's benign, malicious and
//! hostile pickles, hostile and valid ONNX models, files of other kinds and a symbolic link out
//! of the tree is walked; every file is judged as scanning it alone judges it, nothing outside
//! the tree is read, the exit code is the worst decision, and the SARIF log validates against
//! the SARIF 2.1.0 schema; pre-commit runs the repository's hook.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use common::{onnxify, python_json, scratch, stderr, stdout};

/// The tree, and what each model file in it is: (path, manifest kind).
struct Tree {
    root: PathBuf,
    kinds: Vec<(PathBuf, String)>,
    /// A malicious pickle outside the tree, which a link in the tree points to.
    outside: PathBuf,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let root = scratch().join("scan-tree");
        let marker = scratch().join("scan-payload-ran");
        let mut kinds = Vec::new();
        for (script, dir) in [("pickles.py", "pickles"), ("attacks.py", "attacks")] {
            let dir = root.join(dir);
            let manifest = python_json(script, &[dir.to_str().unwrap(), marker.to_str().unwrap()]);
            for case in manifest.as_array().unwrap() {
                let kind = case["kind"].as_str().unwrap().to_owned();
                kinds.push((PathBuf::from(case["file"].as_str().unwrap()), kind));
            }
        }
        let onnx = python_json("hostile_onnx.py", &[root.join("onnx").to_str().unwrap()]);
        for case in onnx.as_array().unwrap() {
            let kind = if case["valid"] == true { "onnx valid" } else { "onnx hostile" };
            kinds.push((PathBuf::from(case["file"].as_str().unwrap()), kind.to_owned()));
        }
        let other = root.join("other/deeper");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "a text file, no model\n").unwrap();
        std::fs::write(other.join("table.csv"), "a,b,label\n1,2,x\n").unwrap();
        let gzip = Command::new("gzip").arg("-c").arg(other.join("notes.txt")).output().unwrap();
        std::fs::write(other.join("notes.txt.gz"), gzip.stdout).unwrap();
        // The payload a link would lead the walk to, outside the tree.
        let outside = scratch().join("scan-outside.pkl");
        let malicious = kinds.iter().find(|(_, k)| k == "malicious").unwrap().0.clone();
        std::fs::copy(&malicious, &outside).unwrap();
        std::os::unix::fs::symlink(&outside, other.join("link.pkl")).unwrap();
        Tree { root, kinds, outside }
    })
}

/// `scan` of the tree in `format`: the exit code and stdout.
fn scan_tree(format: &str) -> (Option<i32>, String) {
    let output = onnxify(&["scan", tree().root.to_str().unwrap(), "--format", format]);
    (output.status.code(), stdout(&output))
}

#[test]
fn a_tree_is_judged_file_by_file_and_refused_if_any_file_is() {
    let tree = tree();
    let (code, json) = scan_tree("json");
    assert_eq!(code, Some(3), "a malicious file refuses the tree");
    let report: Value = serde_json::from_str(&json).unwrap();
    let decisions: HashMap<PathBuf, &str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (PathBuf::from(f["path"].as_str().unwrap()), f["decision"].as_str().unwrap()))
        .collect();
    let mut counted = HashMap::<(&str, &str), usize>::new();
    for (file, kind) in &tree.kinds {
        let decision = decisions.get(file).copied().unwrap_or("skipped");
        *counted.entry((kind, decision)).or_default() += 1;
        let expected: &[&str] = match kind.as_str() {
            "malicious" | "refused_model" | "unsupported" => &["refused"],
            "benign" | "control" | "one_vs_rest" | "needs_float64" | "onnx valid" => &["accepted"],
            "inconsistent" => &["unreadable"],
            // What cannot be read is never accepted; what cannot even be a model file (an
            // empty file, bytes no loader reads as a pickle or an ONNX model) is skipped.
            _ => &["refused", "unreadable", "skipped"],
        };
        assert!(expected.contains(&decision), "{} ({kind}): {decision}", file.display());
        // Alone, the file gets the same decision.
        if decision != "skipped" && file.extension().is_some_and(|e| e != "onnx") {
            let alone = onnxify(&["scan", file.to_str().unwrap(), "--json"]);
            let alone: Value = serde_json::from_str(&stdout(&alone)).unwrap();
            assert_eq!(alone["decision"], decision, "{} alone", file.display());
        }
    }
    eprintln!("decisions by kind: {counted:?}");
    // Nothing outside the tree is read: the link is reported, not followed.
    let link = tree.root.join("other/deeper/link.pkl");
    assert!(!decisions.contains_key(&link) && !decisions.contains_key(&tree.outside));
    let links = common::strings(&report["links_not_followed"]);
    assert!(links.contains(&link.to_str().unwrap().to_owned()), "{links:?}");
    assert!(report["skipped"].as_u64().unwrap() >= 3, "the text, CSV and gzip files");
    for other in ["notes.txt", "table.csv", "notes.txt.gz"] {
        assert!(!decisions.contains_key(&tree.root.join("other/deeper").join(other)), "{other}");
    }
    assert!(!scratch().join("scan-payload-ran").exists(), "no payload ran");
}

#[test]
fn the_sarif_log_validates_and_locates_each_dangerous_global_at_its_opcode() {
    let tree = tree();
    let (code, sarif) = scan_tree("sarif");
    assert_eq!(code, Some(3));
    let log_path = scratch().join("scan.sarif");
    std::fs::write(&log_path, &sarif).unwrap();
    let checked = python_json("sarif_check.py", &[log_path.to_str().unwrap()]);
    assert_eq!(checked["errors"], serde_json::json!([]), "the log fits the SARIF 2.1.0 schema");

    let log: Value = serde_json::from_str(&sarif).unwrap();
    let run = &log["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["DangerousCallable", "UnsupportedClass", "Corrupt", "OverLimit", "OnnxNotAllowed"]
    );
    let results = run["results"].as_array().unwrap();
    let uri_of = |path: &Path| path.to_str().unwrap().to_owned();
    let mut located = 0;
    for (file, kind) in &tree.kinds {
        let uri = uri_of(file);
        let of_file: Vec<&Value> = results
            .iter()
            .filter(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri)
            .collect();
        match kind.as_str() {
            "benign" | "control" | "onnx valid" => {
                assert!(of_file.is_empty(), "{uri}: an accepted file has no result")
            }
            "malicious" => assert!(
                of_file.iter().any(|r| r["ruleId"] == "ONNXIFY001"),
                "{uri}: a dangerous callable"
            ),
            _ => {}
        }
        // A global's offset in an uncompressed pickle is the opcode that names it.
        let bytes = std::fs::read(file).unwrap();
        for result in of_file {
            let text = result["message"]["text"].as_str().unwrap();
            if let Some(offset) =
                result["locations"][0]["physicalLocation"]["region"]["byteOffset"].as_u64()
                && text.starts_with("references ")
            {
                let opcode = bytes[offset as usize];
                assert!(matches!(opcode, b'c' | b'i' | 0x93), "{uri} at {offset}: {opcode:#x}");
                located += 1;
            }
        }
    }
    assert!(located > 20, "{located} globals located at their opcodes");
    let over_limit = results.iter().filter(|r| r["ruleId"] == "ONNXIFY004").count();
    assert!(over_limit > 0, "the decompression bombs and the deep nesting are over a limit");
}

#[test]
fn the_exit_code_is_the_worst_decision() {
    let tree = tree();
    let dir = tempfile::tempdir_in(scratch()).unwrap();
    let benign =
        tree.kinds.iter().filter(|(f, k)| k == "benign" && f.extension().unwrap() == "joblib");
    for (file, _) in benign.take(3) {
        std::fs::copy(file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    let output = onnxify(&["scan", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("3 model files scanned: 3 accepted"), "{}", stdout(&output));
    // An inconsistent model is unreadable: exit 2, naming it.
    let (inconsistent, _) = tree.kinds.iter().find(|(_, k)| k == "inconsistent").unwrap();
    std::fs::copy(inconsistent, dir.path().join("inconsistent.joblib")).unwrap();
    let output = onnxify(&["scan", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let error = stderr(&output);
    assert!(
        error.contains("1 unreadable; the first: ") && error.contains("inconsistent.joblib"),
        "{error}"
    );
    // Several paths, a file among them.
    let (malicious, _) = tree.kinds.iter().find(|(_, k)| k == "malicious").unwrap();
    let output = onnxify(&["scan", dir.path().to_str().unwrap(), malicious.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3), "{}", stdout(&output));
    let missing = onnxify(&["scan", dir.path().join("no such file").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn pre_commit_runs_the_hook_and_stops_a_commit_of_a_malicious_pickle() {
    let tree = tree();
    let repo = tempfile::tempdir_in(scratch()).unwrap();
    let git = |args: &[&str]| {
        let output = Command::new("git").current_dir(repo.path()).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    git(&["init", "-q"]);
    let (benign, _) = tree.kinds.iter().find(|(_, k)| k == "benign").unwrap();
    std::fs::copy(benign, repo.path().join("model.joblib")).unwrap();
    std::fs::write(repo.path().join("train.csv"), "a,label\n1,x\n").unwrap();
    git(&["add", "."]);
    let binary_dir = Path::new(env!("CARGO_BIN_EXE_onnxify")).parent().unwrap().to_owned();
    let path = format!("{}:{}", binary_dir.display(), std::env::var("PATH").unwrap_or_default());
    let pre_commit = || {
        let python = common::python();
        Command::new(python)
            .current_dir(repo.path())
            .args(["-m", "pre_commit", "try-repo", env!("CARGO_MANIFEST_DIR"), "onnxify-scan"])
            .arg("--all-files")
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", scratch().join("pre-commit-home"))
            .output()
            .unwrap()
    };
    let passed = pre_commit();
    let text = String::from_utf8_lossy(&passed.stdout).into_owned();
    assert_eq!(passed.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&passed.stderr));
    assert!(text.contains("onnxify scan") && text.contains("Passed"), "{text}");

    let (malicious, _) = tree.kinds.iter().find(|(_, k)| k == "malicious").unwrap();
    std::fs::copy(malicious, repo.path().join("payload.pkl")).unwrap();
    git(&["add", "."]);
    let stopped = pre_commit();
    let text = String::from_utf8_lossy(&stopped.stdout).into_owned();
    assert_eq!(stopped.status.code(), Some(1), "{text}");
    assert!(text.contains("Failed") && text.contains("payload.pkl"), "{text}");
    assert!(text.contains("refused"), "{text}");
}
