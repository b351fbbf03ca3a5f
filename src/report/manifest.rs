//! The run manifest of `scan --forensic`: one JSON document written after the report is
//! finished, that says who ran what, where and when, and fixes the report's content by
//! its size and SHA-256, so the report can later be shown to be the one this run wrote.
//!
//! Only the shape and its serialization live here; the command line gathers the facts
//! and writes the file.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::Summary;

/// The manifest document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `pansweep`.
    pub tool: String,
    /// Crate version.
    pub version: String,
    /// Command line, secrets and PAN-like digit runs redacted (as in the `run` record).
    pub argv: Vec<String>,
    /// Host name.
    pub host: String,
    /// Who ran it.
    pub user: ManifestUser,
    /// RFC 3339 UTC start time (the `run` record's `started`).
    pub started: String,
    /// RFC 3339 UTC time the report was finished.
    pub finished: String,
    /// Kernel release (`/proc/sys/kernel/osrelease`), `null` when unreadable.
    pub kernel: Option<String>,
    /// The scanned roots, canonical (links resolved).
    pub roots: Vec<String>,
    /// The report file.
    pub report: ManifestReport,
    /// The run's summary, as in the report.
    pub summary: Summary,
    /// The process exit code.
    pub exit_code: u8,
    /// `sha256:` of the detector files.
    pub ruleset: String,
    /// Which fingerprint key was used (never the key).
    pub fingerprint_key_id: String,
    /// Files and directories whose access time a read changed and that could not be set
    /// back (0 when run as root or as the owner of everything scanned).
    pub atime_not_preserved: u64,
}

/// The user a run ran as.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestUser {
    /// Effective user id.
    pub uid: u32,
    /// Its name in `/etc/passwd` (`null` when it has none).
    pub name: Option<String>,
}

/// The report a manifest vouches for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestReport {
    /// Path, canonical.
    pub path: String,
    /// `jsonl`, `json`, `text`, `csv`, `sarif` or `html`.
    pub format: String,
    /// Size in bytes (`null` for something that is not a regular file, e.g. `/dev/null`).
    pub size: Option<u64>,
    /// SHA-256 of its content, lowercase hex (`null` as for `size`).
    pub sha256: Option<String>,
}

/// Writes `m` as indented JSON with a final newline.
pub fn write(m: &Manifest, mut out: impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, m)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_with_its_field_names() {
        let m = Manifest {
            tool: "pansweep".into(),
            version: "1.0.0".into(),
            argv: vec!["pansweep".into(), "scan".into(), "--forensic".into()],
            host: "h".into(),
            user: ManifestUser { uid: 0, name: Some("root".into()) },
            started: "2026-12-06T00:00:00Z".into(),
            finished: "2026-12-06T00:00:05Z".into(),
            kernel: Some("6.1.0".into()),
            roots: vec!["/srv".into()],
            report: ManifestReport {
                path: "/cases/r.jsonl".into(),
                format: "jsonl".into(),
                size: Some(10),
                sha256: Some("ab".repeat(32)),
            },
            summary: Summary { complete: true, files: 2, ..Summary::default() },
            exit_code: 1,
            ruleset: "sha256:x".into(),
            fingerprint_key_id: "random:y".into(),
            atime_not_preserved: 0,
        };
        let mut out = Vec::new();
        write(&m, &mut out).unwrap();
        assert!(out.ends_with(b"}\n"));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["report"]["sha256"], "ab".repeat(32));
        assert_eq!(v["user"]["name"], "root");
        assert_eq!(v["exit_code"], 1);
        assert_eq!(v["summary"]["files"], 2);
        let back: Manifest = serde_json::from_slice(&out).unwrap();
        assert_eq!(back.roots, m.roots);
    }
}
