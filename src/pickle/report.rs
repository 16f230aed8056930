//! The scan report: every global a pickle references with its byte offset and verdict, what
//! else was found, and the resulting decision. `onnxify scan` prints it; `onnxify convert`
//! prints it when it refuses a file.

use std::fmt;

use serde::Serialize;

use super::allow::Verdict;
use super::decompress::Compression;
use super::machine::{Finding, Severity};
use crate::data::Classes;
use crate::util::excerpt;

/// The decision on a pickle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Within the allow-list, and a model onnxify converts.
    Accepted,
    /// Outside the allow-list, or a model onnxify does not convert.
    Refused,
    /// Not a readable pickle (corrupt, truncated, beyond a limit).
    Unreadable,
}

impl Decision {
    /// The command's exit code: 0 accepted, 3 refused, 2 unreadable (bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Decision::Accepted => 0,
            Decision::Refused => 3,
            Decision::Unreadable => 2,
        }
    }
}

/// A global the file references.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalEntry {
    pub module: String,
    pub name: String,
    /// Offset of the opcode naming it, in the decompressed stream.
    pub offset: usize,
    /// Named inside a nested stream (a joblib object array's).
    pub nested: bool,
    /// Where it was found, if not in the stream as `joblib.load` reads it ("when read by
    /// pickle.load", "in the bytes after the compressed data ...").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The model an accepted file holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    /// "Pipeline" or "LogisticRegression".
    pub estimator: String,
    /// The pipeline's steps as "name: Class (shape)".
    pub steps: Vec<String>,
    pub n_features: usize,
    /// Whether the pickle records feature names (`feature_names_in_`).
    pub feature_names_recorded: bool,
    pub classes: Classes,
    pub sklearn_version: Option<String>,
}

/// What a scan of a pickle found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanReport {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub compression: Compression,
    /// Bytes of the pickle stream once decompressed.
    pub stream_bytes: usize,
    pub protocol: Option<u8>,
    /// Whether arrays are stored the joblib way (inline after a NumpyArrayWrapper).
    pub joblib: bool,
    pub opcodes: usize,
    pub globals: Vec<GlobalEntry>,
    pub findings: Vec<Finding>,
    /// Findings beyond the first hundred, counted only.
    pub more_findings: usize,
    pub model: Option<ModelSummary>,
    pub decision: Decision,
}

impl ScanReport {
    /// "joblib pickle, protocol 4, zlib-compressed".
    pub fn format(&self) -> String {
        let mut text = if self.joblib { "joblib pickle".to_owned() } else { "pickle".to_owned() };
        if let Some(protocol) = self.protocol {
            text.push_str(&format!(", protocol {protocol}"));
        }
        if self.compression != Compression::None {
            text.push_str(&format!(", {}-compressed", self.compression));
        }
        text
    }

    /// Decides from the globals and findings.
    pub(crate) fn decide(&mut self) {
        let refused = self.globals.iter().any(|g| g.verdict != Verdict::Allowed)
            || self.findings.iter().any(|f| f.severity != Severity::Malformed);
        self.decision = if refused {
            Decision::Refused
        } else if !self.findings.is_empty() || self.more_findings > 0 || self.model.is_none() {
            Decision::Unreadable
        } else {
            Decision::Accepted
        };
    }

    /// One line saying why the file was refused or is unreadable.
    pub fn reason(&self) -> String {
        let names = |wanted: fn(&Verdict) -> bool| -> Vec<String> {
            self.globals
                .iter()
                .filter(|g| wanted(&g.verdict))
                .map(|g| escape(&excerpt(&format!("{}.{}", g.module, g.name))))
                .collect()
        };
        let dangerous = names(|v| matches!(v, Verdict::Dangerous(_)));
        let unsupported = names(|v| matches!(v, Verdict::Unsupported(_)));
        let mut parts = Vec::new();
        if !dangerous.is_empty() {
            parts.push(format!("it references dangerous callables ({})", dedup(dangerous)));
        }
        if !unsupported.is_empty() {
            parts.push(format!(
                "it holds scikit-learn classes not supported yet ({})",
                dedup(unsupported)
            ));
        }
        if parts.is_empty() {
            // The finding that refused the file, not a malformation noted before it.
            let refusing = self.findings.iter().find(|f| f.severity != Severity::Malformed);
            if let Some(first) = refusing.or(self.findings.first()) {
                parts.push(match first.offset {
                    Some(offset) => format!("byte {offset}: {}", escape(&first.message)),
                    None => escape(&first.message),
                });
            } else {
                parts.push("it holds no model".into());
            }
        }
        parts.join("; ")
    }
}

fn dedup(mut names: Vec<String>) -> String {
    names.sort();
    names.dedup();
    names.join(", ")
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} bytes, sha256 {}", escape(&self.file), self.bytes, self.sha256)?;
        write!(f, "  {}", self.format())?;
        if self.compression != Compression::None {
            write!(
                f,
                " ({} bytes decompressed; offsets below are in the decompressed stream)",
                self.stream_bytes
            )?;
        }
        writeln!(f, ", {} opcodes read", self.opcodes)?;
        writeln!(f, "Globals referenced ({}):", self.globals.len())?;
        for g in &self.globals {
            let at = format!("byte {:>8}", g.offset);
            let global = escape(&excerpt(&format!("{}.{}", g.module, g.name)));
            write!(f, "  {at:<13}  {:<12} {global}", g.verdict.label())?;
            if g.nested {
                write!(f, " (in a nested stream)")?;
            }
            if let Some(context) = &g.context {
                write!(f, " ({context})")?;
            }
            match &g.verdict {
                Verdict::Allowed => writeln!(f)?,
                Verdict::Dangerous(why) | Verdict::Unsupported(why) => {
                    writeln!(f, ": {}", escape(why))?
                }
            }
        }
        if !self.findings.is_empty() {
            writeln!(f, "Findings:")?;
            for finding in &self.findings {
                let label = match finding.severity {
                    Severity::NotAllowed => "not allowed",
                    Severity::Unsupported => "unsupported",
                    Severity::Malformed => "malformed",
                };
                let at = finding.offset.map_or_else(String::new, |o| format!("byte {o:>8}"));
                writeln!(f, "  {at:<13}  {label:<12} {}", escape(&finding.message))?;
            }
            if self.more_findings > 0 {
                writeln!(f, "  ... and {} more", self.more_findings)?;
            }
        }
        if let Some(model) = &self.model {
            let names = if model.feature_names_recorded { "named" } else { "unnamed: x0, x1, ..." };
            let line = format!(
                "Model: {}{}, {} features ({names}), classes {}, scikit-learn {}",
                model.estimator,
                if model.steps.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", model.steps.join(", "))
                },
                model.n_features,
                model.classes,
                model.sklearn_version.as_deref().unwrap_or("version not recorded")
            );
            writeln!(f, "{}", escape(&line))?;
        }
        match self.decision {
            Decision::Accepted => write!(
                f,
                "Result: accepted: every global and opcode is on the allow-list; nothing was executed"
            ),
            Decision::Refused => write!(
                f,
                "Result: REFUSED: {}; nothing in the file was loaded or executed",
                self.reason()
            ),
            Decision::Unreadable => write!(
                f,
                "Result: UNREADABLE: {}; nothing in the file was loaded or executed",
                self.reason()
            ),
        }
    }
}

/// `text` from a file, made safe to print: every character that could change what a terminal
/// shows (control characters such as newline, carriage return, escape and NUL; bidirectional
/// overrides and other invisible format characters; the replacement character that stands for
/// bytes that were not UTF-8) is written as an escape, and so is the backslash, so that an
/// escape in the output always means one was made.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if invisible(c) => out.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Characters that print as nothing, or change how the text around them is shown.
fn invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0xad | 0x034f
            | 0x061c
            | 0x115f..=0x1160
            | 0x17b4..=0x17b5
            | 0x180b..=0x180f
            | 0x200b..=0x200f
            | 0x2028..=0x202e
            | 0x2060..=0x206f
            | 0x3164
            | 0xfe00..=0xfe0f
            | 0xfeff
            | 0xffa0
            | 0xfff0..=0xfffd
            | 0x1d173..=0x1d17a
            | 0xe0000..=0xe0fff
    ) || (0xe000..=0xf8ff).contains(&u32::from(c))
        || (0xf0000..=0x10ffff).contains(&u32::from(c))
}

/// Writes `value` as pretty JSON in which every character outside ASCII is a `\\u` escape,
/// so that text from a file cannot reach a terminal or a log as anything but escapes.
pub fn write_json_ascii<T: Serialize + ?Sized>(
    out: &mut dyn std::io::Write,
    value: &T,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(
        out,
        AsciiFormatter(serde_json::ser::PrettyFormatter::new()),
    );
    value.serialize(&mut serializer)
}

/// serde_json's pretty formatter, writing non-ASCII characters as escapes.
struct AsciiFormatter<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for AsciiFormatter<'_> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_gives_the_finding_that_refused_it() {
        let finding = |offset, severity, message: &str| Finding {
            offset: Some(offset),
            severity,
            message: message.into(),
            at_limit: false,
        };
        let mut report = ScanReport {
            file: "model.pkl".into(),
            bytes: 100,
            sha256: String::new(),
            compression: Compression::None,
            stream_bytes: 100,
            protocol: Some(4),
            joblib: false,
            opcodes: 10,
            globals: Vec::new(),
            findings: vec![
                finding(2, Severity::Malformed, "the stack holds more than 50000 items"),
                finding(90, Severity::NotAllowed, "a STACK_GLOBAL takes its module and name"),
            ],
            more_findings: 0,
            model: None,
            decision: Decision::Unreadable,
        };
        report.decide();
        assert_eq!(report.decision, Decision::Refused);
        assert_eq!(report.reason(), "byte 90: a STACK_GLOBAL takes its module and name");
    }

    /// A report of one refused global `module.name`, as the scan of a file naming it makes.
    fn naming(module: &str, name: &str) -> ScanReport {
        let mut report = ScanReport {
            file: "model.pkl".into(),
            bytes: 100,
            sha256: String::new(),
            compression: Compression::None,
            stream_bytes: 100,
            protocol: Some(4),
            joblib: false,
            opcodes: 10,
            globals: vec![GlobalEntry {
                module: module.into(),
                name: name.into(),
                offset: 2,
                nested: false,
                context: None,
                verdict: crate::pickle::allow::verdict(module, name, 4),
            }],
            findings: Vec::new(),
            more_findings: 0,
            model: None,
            decision: Decision::Unreadable,
        };
        report.decide();
        report
    }

    const FORGED: &str =
        "Result: accepted: every global and opcode is on the allow-list; nothing was executed";

    #[test]
    fn a_name_with_a_newline_cannot_forge_a_line_of_the_report() {
        let report = naming("os", &format!("system\n{FORGED}"));
        let text = format!("{report}\n{}", report.reason());
        assert!(text.lines().all(|line| !line.starts_with("Result: accepted")), "{text}");
        assert_eq!(text.lines().filter(|line| line.starts_with("Result:")).count(), 1, "{text}");
        assert!(text.contains("os.system\\nResult: accepted"), "{text}");
    }

    #[test]
    fn terminal_escapes_nul_and_carriage_returns_are_printed_as_escapes() {
        for (name, shown) in [
            ("system\x1b[1A\x1b[2K", "system\\x1b[1A\\x1b[2K"),
            ("system\0", "system\\x00"),
            ("sys\rtem", "sys\\rtem"),
            ("sys\u{9b}2K", "sys\\x9b2K"),
        ] {
            let text = naming("os", name).to_string();
            assert!(text.contains(&format!("os.{shown}")), "{name:?}: {text}");
            assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{name:?}: {text:?}");
        }
    }

    #[test]
    fn bidirectional_overrides_and_invisible_characters_are_printed_as_escapes() {
        // U+202E makes a terminal show the rest of the line backwards; U+200B is invisible;
        // U+FFFD stands for bytes that were not UTF-8.
        for (name, shown) in [
            ("metsys\u{202e}", "metsys\\u{202e}"),
            ("sys\u{200b}tem", "sys\\u{200b}tem"),
            ("sys\u{fffd}tem", "sys\\u{fffd}tem"),
        ] {
            let text = naming("os", name).to_string();
            assert!(text.contains(&format!("os.{shown}")), "{name:?}: {text}");
        }
    }

    #[test]
    fn json_carries_every_character_outside_ascii_as_an_escape() {
        let name = "system\u{202e}\u{1b}\u{0}é\u{1F600}";
        let report = naming("os", name);
        let mut out = Vec::new();
        write_json_ascii(&mut out, &report).unwrap();
        assert!(out.is_ascii(), "{}", String::from_utf8_lossy(&out));
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\\u202e") && text.contains("\\u001b") && text.contains("\\ud83d\\ude00"),
            "{text}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["globals"][0]["name"], name);
    }
}
