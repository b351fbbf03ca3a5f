//! The baseline (`--baseline`): an earlier JSONL report, read back with
//! [`crate::report::read`], whose findings a run compares its own with.
//!
//! A finding's identity is its place (path, engine, table, column, row key) and class,
//! plus the card: its fingerprint when both runs used the same fingerprint key file, else
//! (fingerprints of different keys cannot be compared) its masked form, line and byte
//! offset. Identities are kept as a multiset: a card found twice in a file and once in the
//! baseline is one known finding and one new one.

use std::collections::HashMap;
use std::io::BufRead;

use sha2::{Digest, Sha256};

use crate::report::FindingRecord;
use crate::report::read::{ReadError, Record};

/// Why a baseline cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file cannot be read.
    #[error("cannot read baseline {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line that is not a pansweep JSONL record.
    #[error("baseline {path}:{line}: {source}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// What is wrong with it.
        #[source]
        source: ReadError,
    },
    /// No `run` record: not a JSONL report of `pansweep scan` or `pansweep db`.
    #[error("baseline {path} is not a pansweep JSONL report (no run record; write one with --format jsonl)")]
    NoRun {
        /// The file.
        path: String,
    },
}

/// An earlier report's findings.
#[derive(Debug)]
pub struct Baseline {
    /// The file, as named in messages.
    pub path: String,
    /// Fingerprint key id of the run that wrote it.
    pub key_id: String,
    /// It ends with a summary that says the run was complete.
    pub complete: bool,
    /// It was itself written with `--baseline`: it holds only what was new then.
    pub made_with_baseline: bool,
    /// Its findings, in file order.
    pub findings: Vec<FindingRecord>,
}

impl Baseline {
    /// Reads a JSONL report (`path` names it in messages). Only its first run is read; a
    /// last line cut short (an interrupted run) is left out and the baseline counts as
    /// incomplete.
    pub fn read(mut r: impl BufRead, path: &str) -> Result<Baseline, BaselineError> {
        let mut b = Baseline {
            path: path.to_owned(),
            key_id: String::new(),
            complete: false,
            made_with_baseline: false,
            findings: Vec::new(),
        };
        let mut seen_run = false;
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            let read = r
                .read_until(b'\n', &mut buf)
                .map_err(|source| BaselineError::Read { path: path.to_owned(), source })?;
            if read == 0 {
                break;
            }
            n += 1;
            let whole = buf.ends_with(b"\n");
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match Record::parse(buf.trim_ascii_end()) {
                Ok(Record::Run(run)) => {
                    if seen_run {
                        // Another run appended to the same file.
                        break;
                    }
                    seen_run = true;
                    b.key_id = run.fingerprint_key_id;
                }
                Ok(Record::Finding(f)) => b.findings.push(*f),
                Ok(Record::Summary(s)) => {
                    b.complete = s.complete;
                    b.made_with_baseline = s.baseline.is_some();
                }
                Ok(_) => {}
                Err(_) if !whole => b.complete = false,
                Err(source) => return Err(BaselineError::Line { path: path.to_owned(), line: n, source }),
            }
        }
        if !seen_run {
            return Err(BaselineError::NoRun { path: path.to_owned() });
        }
        Ok(b)
    }
}

/// A finding's identity for comparing runs (see the module doc). `by_fingerprint`: both
/// runs used the same key file.
pub(crate) fn identity(rec: &FindingRecord, by_fingerprint: bool) -> [u8; 16] {
    let mut h = Sha256::new();
    rec.hash_store(&mut h);
    let mut field = |v: Option<&[u8]>| crate::report::hash_field(&mut h, v);
    field(Some(rec.finding.class.as_str().as_bytes()));
    match rec.finding.fingerprint {
        Some(fp) if by_fingerprint => {
            field(Some(b"fingerprint"));
            field(Some(&fp.0));
        }
        _ => {
            let (line, offset) = rec.place();
            field(Some(rec.finding.view.masked().as_bytes()));
            field(line.map(u64::to_le_bytes).as_ref().map(|b| &b[..]));
            field(offset.map(u64::to_le_bytes).as_ref().map(|b| &b[..]));
        }
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

/// The baseline as a multiset of identities, consumed as the run finds them again.
#[derive(Debug)]
pub(crate) struct Index {
    by_fingerprint: bool,
    /// Identity → indexes into `findings` not yet found again (last one taken first).
    left: HashMap<[u8; 16], Vec<usize>>,
    findings: Vec<Option<FindingRecord>>,
}

impl Index {
    pub(crate) fn new(baseline: Baseline, by_fingerprint: bool) -> Index {
        let mut left: HashMap<[u8; 16], Vec<usize>> = HashMap::with_capacity(baseline.findings.len());
        for (i, f) in baseline.findings.iter().enumerate().rev() {
            left.entry(identity(f, by_fingerprint)).or_default().push(i);
        }
        Index { by_fingerprint, left, findings: baseline.findings.into_iter().map(Some).collect() }
    }

    /// Takes one finding of `rec`'s identity out of the multiset; false when none is left.
    pub(crate) fn take(&mut self, rec: &FindingRecord) -> bool {
        let id = identity(rec, self.by_fingerprint);
        let Some(v) = self.left.get_mut(&id) else { return false };
        let Some(i) = v.pop() else { return false };
        if v.is_empty() {
            self.left.remove(&id);
        }
        self.findings[i] = None;
        true
    }

    /// The findings not found again, in baseline order.
    pub(crate) fn rest(self) -> Vec<FindingRecord> {
        self.findings.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Class, Confidence, Fingerprint};
    use crate::report::{FindingJson, test_record};

    fn report(key: &str, recs: &[FindingRecord], summary: &str) -> Vec<u8> {
        let mut out = format!(
            "{{\"type\":\"run\",\"tool\":\"pansweep\",\"version\":\"0\",\"ruleset\":\"r\",\"started\":\"x\",\"host\":\"h\",\"argv\":[],\"fingerprint_key_id\":\"{key}\"}}\n"
        );
        for r in recs {
            out.push_str(&serde_json::to_string(&FindingJson::new(r)).unwrap());
            out.push('\n');
        }
        out.push_str(summary);
        out.into_bytes()
    }

    #[test]
    fn reads_findings_key_and_completeness() {
        let a = test_record("/srv/a", Class::Pan, Confidence::High, &[], 1);
        let text = report("sha256:00", &[a.clone(), a], "{\"type\":\"summary\",\"complete\":true}\n");
        let b = Baseline::read(&text[..], "base.jsonl").unwrap();
        assert_eq!((b.key_id.as_str(), b.complete, b.findings.len()), ("sha256:00", true, 2));
        // Cut short: the half line is left out.
        let cut = &text[..text.len() - 10];
        let b = Baseline::read(cut, "base.jsonl").unwrap();
        assert!(!b.complete);
        assert_eq!(b.findings.len(), 2);
        // A bad line in the middle names its line, not its text.
        let mut bad = text.clone();
        bad.splice(0..0, b"{\"type\":\"finding\",\"x\":1}\n".iter().copied());
        let err = Baseline::read(&bad[..], "base.jsonl").unwrap_err().to_string();
        assert!(err.starts_with("baseline base.jsonl:1: "), "{err}");
        assert!(matches!(Baseline::read(&b"\n"[..], "e"), Err(BaselineError::NoRun { .. })));
    }

    #[test]
    fn identity_uses_the_fingerprint_only_when_keys_compare() {
        let a = test_record("/srv/a", Class::Pan, Confidence::High, &[], 1);
        let mut moved = a.clone();
        moved.line += 1;
        moved.byte_offset += 10;
        assert_eq!(identity(&a, true), identity(&moved, true));
        assert_ne!(identity(&a, false), identity(&moved, false));
        let mut other = a.clone();
        other.finding.fingerprint = Some(Fingerprint([2; 32]));
        assert_ne!(identity(&a, true), identity(&other, true));
        assert_eq!(identity(&a, false), identity(&other, false), "masked view and place are the same");
        let mut elsewhere = a.clone();
        elsewhere.path = "/srv/b".into();
        assert_ne!(identity(&a, true), identity(&elsewhere, true));
    }

    #[test]
    fn the_index_is_a_multiset() {
        let a = test_record("/srv/a", Class::Pan, Confidence::High, &[], 1);
        let b = test_record("/srv/b", Class::Pan, Confidence::High, &[], 1);
        let base = Baseline {
            path: "b".into(),
            key_id: "sha256:00".into(),
            complete: true,
            made_with_baseline: false,
            findings: vec![a.clone(), b.clone(), a.clone()],
        };
        let mut ix = Index::new(base, true);
        assert!(ix.take(&a));
        assert!(ix.take(&a));
        assert!(!ix.take(&a), "only two were in the baseline");
        let rest = ix.rest();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].path, "/srv/b");
    }
}
