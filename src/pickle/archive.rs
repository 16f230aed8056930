//! Zip archives that hold pickles, as PyTorch's `.pt` and `.pth` files do (`archive/data.pkl`
//! beside raw tensor data): `torch.load` unpickles `data.pkl`, so a payload there runs like one
//! in a plain pickle. `scan` reads every pickle member with the same rules as a single file, so
//! a model repository can be gated; nothing is converted from an archive.
//!
//! The archive is read with the `zip` crate, member by member, each at most
//! [`MAX_STREAM_BYTES`](super::MAX_STREAM_BYTES) once decompressed, so a zip bomb stops there.

use std::fmt;
use std::io::{Cursor, Read};

use serde::Serialize;

use super::report::{Decision, ScanReport, escape};
use super::{MAX_STREAM_BYTES, scan_bytes};
use crate::util::sha256_hex;

/// Members read, at most, and decompressed bytes read in all.
const MAX_MEMBERS: usize = 10_000;
const MAX_TOTAL_BYTES: u64 = 1 << 30;

/// Whether `bytes` start like a zip archive (a local file header, or the end record of an
/// empty archive).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// A pickle member of an archive and its report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// The member's name in the archive.
    pub name: String,
    pub report: ScanReport,
}

/// What a scan of a zip archive found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchiveReport {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    /// The members scanned as pickles: those named `.pkl`, `.pickle` or `.joblib`, and any
    /// other that starts like a pickle of protocol 2 to 5.
    pub members: Vec<Member>,
    /// Members that are not pickles (tensor data, version files), counted.
    pub other_members: usize,
    /// What kept a member or the archive from being read.
    pub problems: Vec<String>,
    pub decision: Decision,
}

/// Scans every pickle member of the zip archive `bytes`; `file` names it in the report.
pub fn scan_archive(file: &str, bytes: &[u8]) -> ArchiveReport {
    let mut report = ArchiveReport {
        file: file.to_owned(),
        bytes: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        members: Vec::new(),
        other_members: 0,
        problems: Vec::new(),
        decision: Decision::Unreadable,
    };
    match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(mut archive) => read_members(&mut archive, &mut report),
        Err(e) => report.problems.push(format!("not a readable zip archive: {e}")),
    }
    report.decision = decide(&report);
    report
}

fn read_members(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, report: &mut ArchiveReport) {
    if archive.len() > MAX_MEMBERS {
        report.problems.push(format!(
            "the archive holds {} members; the first {MAX_MEMBERS} are read",
            archive.len()
        ));
    }
    let mut total = 0u64;
    for index in 0..archive.len().min(MAX_MEMBERS) {
        let mut member = match archive.by_index(index) {
            Ok(member) => member,
            Err(e) => {
                report.problems.push(format!("member {index} cannot be read: {e}"));
                continue;
            }
        };
        let name = String::from_utf8_lossy(member.name_raw()).into_owned();
        if member.is_dir() {
            continue;
        }
        let named_pickle = [".pkl", ".pickle", ".joblib"].iter().any(|s| name.ends_with(s));
        let mut data = Vec::new();
        // One byte past the limit tells a member at the limit from one beyond it.
        let read = (&mut member).take(MAX_STREAM_BYTES as u64 + 1).read_to_end(&mut data);
        if let Err(e) = read {
            let problem = format!("member {:?} cannot be decompressed: {e}", name);
            if named_pickle {
                report.problems.push(problem);
            } else {
                report.other_members += 1;
            }
            continue;
        }
        total += data.len() as u64;
        let pickle = named_pickle || matches!(data.as_slice(), [0x80, 2..=5, ..]);
        if !pickle {
            report.other_members += 1;
            continue;
        }
        if data.len() > MAX_STREAM_BYTES {
            report.problems.push(format!(
                "member {name:?} expands beyond {} MiB, the limit for a pickle",
                MAX_STREAM_BYTES >> 20
            ));
            continue;
        }
        let scan = scan_bytes(&format!("{}[{name}]", report.file), &data);
        report.members.push(Member { name, report: scan.report });
        if total > MAX_TOTAL_BYTES {
            report.problems.push(format!(
                "the archive's members expand beyond {} MiB; the rest are not read",
                MAX_TOTAL_BYTES >> 20
            ));
            break;
        }
    }
}

/// Refused if any pickle member is; unreadable if any member or the archive could not be read,
/// or no member is a pickle; accepted only if every pickle member is.
fn decide(report: &ArchiveReport) -> Decision {
    let decisions = || report.members.iter().map(|m| m.report.decision);
    if decisions().any(|d| d == Decision::Refused) {
        Decision::Refused
    } else if !report.problems.is_empty()
        || report.members.is_empty()
        || decisions().any(|d| d != Decision::Accepted)
    {
        Decision::Unreadable
    } else {
        Decision::Accepted
    }
}

impl ArchiveReport {
    /// One line saying why the archive was refused or is unreadable.
    pub fn reason(&self) -> String {
        let member = |wanted: Decision| {
            self.members
                .iter()
                .find(|m| m.report.decision == wanted)
                .map(|m| format!("member {}: {}", escape(&m.name), m.report.reason()))
        };
        match self.decision {
            Decision::Refused => member(Decision::Refused).unwrap_or_default(),
            _ => self
                .problems
                .first()
                .map(|p| escape(p))
                .or_else(|| member(Decision::Unreadable))
                .unwrap_or_else(|| "it holds no pickle".into()),
        }
    }
}

impl fmt::Display for ArchiveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} bytes, sha256 {}", escape(&self.file), self.bytes, self.sha256)?;
        writeln!(
            f,
            "  zip archive: {} pickle members, {} other members (not pickles, not read)",
            self.members.len(),
            self.other_members
        )?;
        for problem in &self.problems {
            writeln!(f, "  problem: {}", escape(problem))?;
        }
        for member in &self.members {
            writeln!(f)?;
            writeln!(f, "{}", member.report)?;
        }
        writeln!(f)?;
        match self.decision {
            Decision::Accepted => write!(
                f,
                "Archive: accepted: every pickle member is within the allow-list; nothing was executed"
            ),
            Decision::Refused => write!(
                f,
                "Archive: REFUSED: {}; nothing in the archive was loaded or executed",
                self.reason()
            ),
            Decision::Unreadable => write!(
                f,
                "Archive: UNREADABLE: {}; nothing in the archive was loaded or executed",
                self.reason()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut out);
        for (name, data) in members {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn a_payload_in_a_pickle_member_refuses_the_archive() {
        let bytes = zip_of(&[
            ("archive/data.pkl", b"cposix\nsystem\n(S'echo'\ntR."),
            ("archive/data/0", &[0x80, 0x01, 2, 3]),
            ("archive/version", b"3\n"),
        ]);
        assert!(is_zip(&bytes));
        let report = scan_archive("model.pt", &bytes);
        assert_eq!(report.decision, Decision::Refused);
        assert_eq!(report.members.len(), 1);
        assert_eq!(report.other_members, 2);
        assert_eq!(report.members[0].report.globals[0].name, "system");
        assert!(report.to_string().contains("DANGEROUS    posix.system"), "{report}");
    }

    #[test]
    fn an_archive_without_pickles_or_that_is_broken_is_unreadable() {
        let report = scan_archive("a.zip", &zip_of(&[("readme.txt", b"hello")]));
        assert_eq!(report.decision, Decision::Unreadable);
        assert!(report.reason().contains("no pickle"), "{}", report.reason());
        let broken = scan_archive("b.zip", b"PK\x03\x04 not really");
        assert_eq!(broken.decision, Decision::Unreadable);
        assert!(broken.reason().contains("not a readable zip"), "{}", broken.reason());
    }
}
