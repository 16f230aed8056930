//! `scan --format sarif`: the issues of every file as a SARIF 2.1.0 log, the format
//! code-scanning services read. One rule per kind of issue; a pickle's issue has its byte
//! offset as the location's region where the offset is the file's own (an uncompressed
//! pickle), and names it in the message otherwise (an offset in the decompressed stream, or
//! in an archive member).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::FileScan;
use crate::commands::verify::VerifyReport;
use crate::pickle::allow::Verdict;
use crate::pickle::archive::ArchiveReport;
use crate::pickle::decompress::Compression;
use crate::pickle::machine::Severity;
use crate::pickle::{Decision, ScanReport};

/// A kind of issue: one SARIF rule each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A global outside the allow-list, or a use of one a loader would call beyond it.
    DangerousCallable,
    /// A class (or stage) onnxify does not convert.
    UnsupportedClass,
    /// Not a well-formed file.
    Corrupt,
    /// Reading stopped at one of onnxify's limits.
    OverLimit,
    /// An ONNX model outside the allow-list of operators, domains and shapes.
    OnnxNotAllowed,
}

/// Every rule, in the order of the log's rule list.
const RULES: [Rule; 5] = [
    Rule::DangerousCallable,
    Rule::UnsupportedClass,
    Rule::Corrupt,
    Rule::OverLimit,
    Rule::OnnxNotAllowed,
];

impl Rule {
    fn id(self) -> &'static str {
        match self {
            Rule::DangerousCallable => "ONNXIFY001",
            Rule::UnsupportedClass => "ONNXIFY002",
            Rule::Corrupt => "ONNXIFY003",
            Rule::OverLimit => "ONNXIFY004",
            Rule::OnnxNotAllowed => "ONNXIFY005",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Rule::DangerousCallable => "DangerousCallable",
            Rule::UnsupportedClass => "UnsupportedClass",
            Rule::Corrupt => "Corrupt",
            Rule::OverLimit => "OverLimit",
            Rule::OnnxNotAllowed => "OnnxNotAllowed",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Rule::DangerousCallable => {
                "The file references a callable outside the allow-list of what a fitted model \
                 needs, or uses an allowed one otherwise: loading it can run code."
            }
            Rule::UnsupportedClass => {
                "The file holds a class or stage onnxify does not convert; it is refused, not \
                 loaded."
            }
            Rule::Corrupt => "The file is not well formed (truncated, corrupt or not a model).",
            Rule::OverLimit => {
                "Reading stopped at one of onnxify's limits (a size, a count or a depth), \
                 where a loader would go on."
            }
            Rule::OnnxNotAllowed => {
                "The ONNX model is outside the allow-list of operators, domains, shapes and \
                 sizes, or does not run."
            }
        }
    }
}

/// One issue of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub rule: Rule,
    pub message: String,
    /// A byte offset in the file itself, for the location's region.
    pub byte_offset: Option<usize>,
}

impl Issue {
    pub fn new(rule: Rule, message: String, byte_offset: Option<usize>) -> Issue {
        Issue { rule, message, byte_offset }
    }
}

/// The issues of a pickle's report; offsets are the file's own when `own_file` and the file is
/// not compressed.
pub fn pickle_issues(report: &ScanReport, own_file: bool) -> Vec<Issue> {
    let in_file = own_file && report.compression == Compression::None;
    let place = |offset: Option<usize>| match offset {
        Some(at) if in_file => (String::new(), Some(at)),
        Some(at) => (format!(" (byte {at} of the decompressed stream)"), None),
        None => (String::new(), None),
    };
    let mut issues = Vec::new();
    for global in &report.globals {
        let (rule, why) = match &global.verdict {
            Verdict::Allowed => continue,
            Verdict::Dangerous(why) => (Rule::DangerousCallable, why),
            Verdict::Unsupported(why) => (Rule::UnsupportedClass, why),
        };
        let (where_, offset) = place(Some(global.offset));
        let message = format!("references {}.{}{where_}: {why}", global.module, global.name);
        issues.push(Issue::new(rule, message, offset));
    }
    for finding in &report.findings {
        let rule = match finding.severity {
            Severity::NotAllowed => Rule::DangerousCallable,
            Severity::Unsupported => Rule::UnsupportedClass,
            Severity::Malformed if finding.at_limit => Rule::OverLimit,
            Severity::Malformed => Rule::Corrupt,
        };
        let (where_, offset) = place(finding.offset);
        issues.push(Issue::new(rule, format!("{}{where_}", finding.message), offset));
    }
    if issues.is_empty() && report.decision != Decision::Accepted {
        // Refused or unreadable as a whole: no model onnxify converts, or none at all.
        let rule = match report.decision {
            Decision::Refused => Rule::UnsupportedClass,
            _ => Rule::Corrupt,
        };
        issues.push(Issue::new(rule, report.reason(), None));
    }
    issues
}

/// The issues of a zip archive: its members', named, and what kept it from being read.
pub fn archive_issues(report: &ArchiveReport) -> Vec<Issue> {
    let mut issues: Vec<Issue> =
        report.problems.iter().map(|p| Issue::new(Rule::Corrupt, p.clone(), None)).collect();
    for member in &report.members {
        for issue in pickle_issues(&member.report, false) {
            let message = format!("member {}: {}", member.name, issue.message);
            issues.push(Issue::new(issue.rule, message, None));
        }
    }
    if issues.is_empty() && report.decision != Decision::Accepted {
        issues.push(Issue::new(Rule::Corrupt, report.reason(), None));
    }
    issues
}

/// An ONNX model's decision and issues from its checks: unreadable if it does not decode,
/// refused if any other check fails.
pub fn onnx_issues(report: &VerifyReport) -> (Decision, Vec<Issue>) {
    let mut issues = Vec::new();
    let mut decision = Decision::Accepted;
    for item in report.items.iter().filter(|i| !i.passed) {
        if item.detail.starts_with("not checked:") {
            continue;
        }
        let rule = match item.check.as_str() {
            "readable" => {
                decision = Decision::Unreadable;
                Rule::Corrupt
            }
            "tensors and attributes within size limits" => Rule::OverLimit,
            _ => Rule::OnnxNotAllowed,
        };
        if rule != Rule::Corrupt {
            decision = Decision::Refused;
        }
        issues.push(Issue::new(rule, format!("{}: {}", item.check, item.detail), None));
    }
    (decision, issues)
}

/// Writes the SARIF log of `files`.
pub fn write(out: &mut dyn Write, files: &[FileScan]) -> io::Result<()> {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id(),
                "name": rule.name(),
                "shortDescription": {"text": rule.description()},
                "defaultConfiguration": {"level": "error"},
            })
        })
        .collect();
    let mut results = Vec::new();
    for file in files {
        for issue in &file.issues {
            let index = RULES.iter().position(|r| *r == issue.rule).expect("every rule is listed");
            let mut location = json!({"artifactLocation": {"uri": uri(&file.path)}});
            if let Some(offset) = issue.byte_offset {
                location["region"] = json!({"byteOffset": offset, "byteLength": 1});
            }
            results.push(json!({
                "ruleId": issue.rule.id(),
                "ruleIndex": index,
                "level": "error",
                "message": {"text": issue.message},
                "locations": [{"physicalLocation": location}],
            }));
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "onnxify",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// A path as a relative URI reference: `/` between its parts, every byte outside the
/// characters a URI path may hold percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut text = String::with_capacity(path.len());
    for byte in path.bytes() {
        let plain = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if plain {
            text.push(char::from(byte));
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_becomes_a_uri_reference() {
        assert_eq!(uri("models/a b.pkl"), "models/a%20b.pkl");
        assert_eq!(uri("dir\\x#1.onnx"), "dir/x%231.onnx");
        assert_eq!(uri("ü.pkl"), "%C3%BC.pkl");
    }
}
