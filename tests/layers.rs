//! The source tree's layers point one way: every `crate::` path in a module names a module of
//! a lower layer (or its own). A path that reaches up, or across to a sibling of the same
//! layer, fails here with the file and the line.

use std::path::{Path, PathBuf};

/// Top-level modules by layer, highest first; modules of one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["main", "cli"],
    &["terminal"],
    &["commands"],
    &["export"],
    &["proof", "pickle", "spark", "signing"],
    &["onnx"],
    &["selection"],
    &["model", "metrics"],
    &["data"],
    &["error", "util", "progress"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names after each `crate::` in `code`.
fn crate_paths(code: &str) -> Vec<&str> {
    code.match_indices("crate::")
        .filter(|(at, _)| {
            !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
        })
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn every_crate_path_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
        let module = first.trim_end_matches(".rs");
        if module == "lib" {
            continue;
        }
        let own = layer(module).unwrap_or_else(|| panic!("{module} is in no layer of LAYERS"));
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            for target in crate_paths(code) {
                // `crate::Error`, `crate::Result`: the error module's re-exports at the root.
                let target = match target {
                    "Error" | "Result" | "Location" | "Parameter" => "error",
                    other => other,
                };
                let Some(theirs) = layer(target) else { continue };
                if target != module && theirs <= own {
                    wrong.push(format!(
                        "src/{}:{}: {module} uses crate::{target}, which is not below it",
                        relative.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_finds_a_path_that_reaches_up() {
    assert_eq!(crate_paths("use crate::commands::Failure; x::crate::no"), ["commands"]);
    assert!(layer("data").unwrap() > layer("commands").unwrap());
}
