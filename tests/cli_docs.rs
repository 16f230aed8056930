//! Shell completions and manual pages, made from the command-line definitions: every command
//! and every long flag `--help` knows must be in each, and what they print must be what the
//! shells and man read without complaint.

mod common;

use std::process::Command;

use clap::CommandFactory;
use common::{onnxify, stderr, stdout};
use onnxify::cli::Cli;

/// Each command's name and its long flags, as the parser defines them.
fn commands() -> Vec<(String, Vec<String>)> {
    let cli = Cli::command();
    cli.get_subcommands()
        .map(|sub| {
            let flags = sub.get_arguments().filter_map(|a| a.get_long()).map(str::to_owned);
            (sub.get_name().to_owned(), flags.collect())
        })
        .collect()
}

#[test]
fn every_shell_completes_every_command_and_flag() {
    let commands = commands();
    assert!(commands.iter().any(|(name, _)| name == "completions"), "{commands:?}");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = onnxify(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        for (name, flags) in &commands {
            assert!(script.contains(name.as_str()), "{shell}: the command {name}");
            for flag in flags {
                // fish names a long flag `-l flag`; the others spell it out.
                let spelled =
                    if shell == "fish" { format!("-l {flag}") } else { format!("--{flag}") };
                assert!(script.contains(&spelled), "{shell}: {name} --{flag}");
            }
        }
    }
    // bash itself parses the script.
    let script = stdout(&onnxify(&["completions", "bash"]));
    let path = common::write_file("onnxify.bash", script.as_bytes());
    let parsed = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
}

#[test]
fn the_manual_pages_cover_every_command_and_flag_and_render_cleanly() {
    let output = onnxify(&["man"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let main_page = stdout(&output);
    assert!(main_page.contains(".TH onnxify 1"), "{main_page}");
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let written = onnxify(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    assert_eq!(std::fs::read_to_string(dir.path().join("onnxify.1")).unwrap(), main_page);
    for (name, flags) in commands() {
        assert!(main_page.contains(&name), "the main page lists {name}");
        let page = dir.path().join(format!("onnxify-{name}.1"));
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(text.contains(&format!(".TH onnxify-{name} 1")), "{name}: {text}");
        for flag in flags {
            // roff escapes each hyphen.
            let roff = format!("\\-\\-{}", flag.replace('-', "\\-"));
            assert!(text.contains(&roff), "{name}: --{flag}");
        }
        // groff reads the page with every warning on, and finds nothing to warn about.
        let rendered =
            Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(&page).output();
        if let Ok(rendered) = rendered {
            assert!(rendered.status.success(), "{name}");
            assert_eq!(String::from_utf8_lossy(&rendered.stderr), "", "{name}: groff warns");
        }
    }
}

#[test]
fn a_directory_that_cannot_take_the_pages_is_an_error_naming_it() {
    let dir = tempfile::tempdir_in(common::scratch()).unwrap();
    let missing = dir.path().join("no/such/dir");
    let output = onnxify(&["man", "--out-dir", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("no/such/dir/onnxify.1"), "{}", stderr(&output));
    let unknown = onnxify(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("possible values"), "{}", stderr(&unknown));
}

/// The example command lines of a help text: each line `  onnxify ...` of its Examples, up to
/// the two spaces before its comment.
fn examples(help: &str) -> Vec<Vec<String>> {
    let Some((_, examples)) = help.split_once("Examples:\n") else {
        return Vec::new();
    };
    examples
        .lines()
        .take_while(|line| line.starts_with("  ") || line.is_empty())
        .filter_map(|line| line.strip_prefix("  onnxify "))
        .map(|line| {
            let command = line.split("  ").next().unwrap();
            let words = command.split_whitespace().take_while(|w| !matches!(*w, ">" | ">>" | "|"));
            std::iter::once("onnxify").chain(words).map(str::to_owned).collect()
        })
        .collect()
}

#[test]
fn every_command_s_help_ends_with_examples_the_parser_accepts() {
    let top = stdout(&onnxify(&["--help"]));
    let mut all = examples(&top);
    for (name, _) in commands() {
        let help = stdout(&onnxify(&[name.as_str(), "--help"]));
        let tail = help.trim_end().rsplit("\n\n").next().unwrap();
        let own = examples(tail);
        assert!(
            tail.starts_with("Examples:") && (2..=3).contains(&own.len()),
            "{name}: its help ends with two or three examples:\n{tail}"
        );
        for example in &own {
            assert_eq!(example[1], name, "{name}: an example of the command itself");
        }
        all.extend(own);
    }
    assert!(all.len() > 20, "{all:?}");
    for example in all {
        if let Err(e) = onnxify::cli::try_parse(example.iter().map(Into::into)) {
            panic!("{example:?} does not parse: {e}");
        }
    }
}
