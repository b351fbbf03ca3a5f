//! The resume journal (`--resume STATE`): an append-only record of a run's progress, so
//! that a run stopped by Ctrl-C, `kill -9` or a reboot can be continued without losing or
//! repeating a finding.
//!
//! ```text
//! {"type":"pansweep-resume","version":1,"validity":"sha256:…"}
//! {"cp":{"offset":…,"files":…,…},"k":["<path key>",…]}   ← a checkpoint
//! …
//! {"done":true}                                          ← the run completed
//! ```
//!
//! A checkpoint is written only after the report is flushed and synced up to `offset`,
//! so every file listed in it (or an earlier one) has all its records in the first
//! `offset` bytes of the report. To resume, the report is cut back to the last
//! checkpoint's offset, files listed in the journal are not read again, and records that
//! the cut-back report already holds (from files or directories that were in progress)
//! are recognised and not written twice ([`SoFar`]).

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Header, KeySet, PathKey, StateError, Validity, try_lock};
use crate::finding::{Confidence, Fingerprint};
use crate::report::Counts;
use crate::report::read::Record;

const KIND: &str = "pansweep-resume";
const VERSION: u32 = 1;

/// The run's totals at a checkpoint, and how much of the report they cover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Checkpoint {
    /// Bytes of the report that are complete and synced.
    pub offset: u64,
    /// Files finished.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Database tables (SQLite files) read.
    pub tables: u64,
    /// Database rows read.
    pub rows: u64,
    /// Files taken unchanged from the incremental state.
    pub unchanged: u64,
    /// Wall time of the run so far, all sessions.
    pub elapsed_s: f64,
    /// Findings the allowlist left out so far, all sessions.
    pub allowlisted: u64,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Line {
    #[serde(skip_serializing_if = "Option::is_none")]
    cp: Option<Checkpoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    k: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    done: bool,
}

/// What the journal held when opened.
#[derive(Debug)]
pub enum Resumed {
    /// No run to continue (no journal, or its run completed): start a new one.
    Fresh,
    /// An interrupted run: the files it finished and its last checkpoint.
    Continue {
        /// Files finished (not to be read again).
        completed: KeySet,
        /// The last checkpoint.
        last: Checkpoint,
    },
}

/// The open, locked journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    line: Vec<u8>,
}

impl Journal {
    /// Opens (or creates, mode 0600) the journal at `path` and locks it. A journal of an
    /// interrupted run made under another `validity` (another command, ruleset or key)
    /// is an error: continuing it would mix two runs in one report.
    pub fn open(path: &Path, validity: &Validity) -> Result<(Journal, Resumed), StateError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(StateError::io(path, "cannot open resume file"))?;
        try_lock(&file, path)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(StateError::io(path, "cannot read resume file"))?;
        let mut journal = Journal { path: path.to_owned(), file, line: Vec::new() };
        let resumed = journal.parse(&text, validity)?;
        if matches!(resumed, Resumed::Fresh) {
            journal.file.set_len(0).map_err(StateError::io(path, "cannot truncate resume file"))?;
            journal.file.seek(SeekFrom::Start(0)).map_err(StateError::io(path, "cannot seek resume file"))?;
            let h = Header::new(KIND, VERSION, validity);
            journal.append(&h).map_err(StateError::io(path, "cannot write resume file"))?;
        }
        Ok((journal, resumed))
    }

    fn parse(&mut self, text: &[u8], validity: &Validity) -> Result<Resumed, StateError> {
        if text.is_empty() {
            return Ok(Resumed::Fresh);
        }
        let bad = |line| StateError::Format { path: self.path.clone(), kind: "resume", line };
        // A line without its newline was being written when the run died: drop it.
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut lines = text[..whole].split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let header: Header = lines.next().and_then(|l| serde_json::from_slice(l).ok()).ok_or_else(|| bad(1))?;
        if header.ty != KIND || header.version != VERSION {
            return Err(bad(1));
        }
        let mut completed = KeySet::default();
        let mut last = None;
        for (i, l) in lines.enumerate() {
            let line: Line = serde_json::from_slice(l).map_err(|_| bad(i as u64 + 2))?;
            if line.done {
                return Ok(Resumed::Fresh);
            }
            for k in &line.k {
                completed.insert(PathKey::from_hex(k).ok_or_else(|| bad(i as u64 + 2))?);
            }
            if line.cp.is_some() {
                last = line.cp;
            }
        }
        let Some(last) = last else {
            // Stopped before its first checkpoint: nothing of it can be trusted.
            return Ok(Resumed::Fresh);
        };
        if header.validity != validity.0 {
            return Err(StateError::Mismatch {
                path: self.path.clone(),
                why: "it holds an interrupted run of a different command (other paths, report, options, ruleset \
                      or key)"
                    .into(),
            });
        }
        self.file.set_len(whole as u64).map_err(StateError::io(&self.path, "cannot truncate resume file"))?;
        self.file.seek(SeekFrom::End(0)).map_err(StateError::io(&self.path, "cannot seek resume file"))?;
        Ok(Resumed::Continue { completed, last })
    }

    fn append(&mut self, value: &impl Serialize) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)?;
        self.line.push(b'\n');
        self.file.write_all(&self.line)?;
        self.file.sync_data()
    }

    /// Records a checkpoint: `keys` are the files finished since the last one. The
    /// report must already be synced up to `cp.offset`.
    pub fn checkpoint(&mut self, cp: &Checkpoint, keys: &[PathKey]) -> io::Result<()> {
        self.append(&Line { cp: Some(*cp), k: keys.iter().map(|k| k.to_hex()).collect(), done: false })
    }

    /// Marks the run complete: the next `--resume` with this file starts a new run.
    pub fn done(&mut self) -> io::Result<()> {
        self.append(&Line { done: true, ..Line::default() })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What the report of an interrupted run already holds, up to its last checkpoint: the
/// totals to carry on from, and the records not to write again.
#[derive(Debug, Default)]
pub struct SoFar {
    /// Findings per tier and class.
    pub counts: Counts,
    /// Strongest cardholder-data tier.
    pub worst: Option<Confidence>,
    /// Distinct cardholder-data fingerprints.
    pub distinct: HashSet<Fingerprint>,
    /// Skipped records.
    pub skipped: u64,
    /// A skip that leaves data unread.
    pub incomplete: bool,
    /// Hashes of the finding and skipped lines, with their multiplicity.
    pub seen: HashMap<u64, u32>,
}

/// The hash a record line is recognised by (the line as the JSONL writer writes it,
/// without its newline).
pub fn line_hash(line: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    line.hash(&mut h);
    h.finish()
}

/// Cuts the report at `report` back to `offset` (dropping records written after the last
/// checkpoint, and a line cut short) and reads what it holds.
pub fn cut_report(report: &Path, offset: u64) -> Result<SoFar, StateError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(report)
        .map_err(StateError::io(report, "cannot open report to resume"))?;
    let len = file.metadata().map_err(StateError::io(report, "cannot stat report"))?.len();
    if len < offset {
        return Err(StateError::Mismatch {
            path: report.to_owned(),
            why: format!("the report is shorter ({len} bytes) than the resume file says it was ({offset} bytes)"),
        });
    }
    file.set_len(offset).map_err(StateError::io(report, "cannot cut report back"))?;
    let mut so_far = SoFar::default();
    let mut r = BufReader::with_capacity(256 << 10, &file);
    let mut line = Vec::new();
    let mut lineno = 0u64;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).map_err(StateError::io(report, "cannot read report"))? == 0 {
            break;
        }
        lineno += 1;
        if line.pop() != Some(b'\n') {
            return Err(StateError::Format { path: report.to_owned(), kind: "report", line: lineno });
        }
        let rec = Record::parse(&line).map_err(|_| StateError::Format {
            path: report.to_owned(),
            kind: "report",
            line: lineno,
        })?;
        match rec {
            Record::Finding(f) => {
                let f = &f.finding;
                so_far.counts.add(f.class, f.confidence);
                if f.class.is_cardholder_data() {
                    so_far.worst = so_far.worst.max(Some(f.confidence));
                    if let Some(fp) = f.fingerprint {
                        so_far.distinct.insert(fp);
                    }
                }
                *so_far.seen.entry(line_hash(&line)).or_default() += 1;
            }
            Record::Skipped(s) => {
                so_far.skipped += 1;
                so_far.incomplete |= s.kind.incomplete();
                *so_far.seen.entry(line_hash(&line)).or_default() += 1;
            }
            Record::Summary(_) => {
                return Err(StateError::Format { path: report.to_owned(), kind: "report", line: lineno });
            }
            Record::Run(_) | Record::Table(_) | Record::Resolved(_) | Record::Evidence(_) | Record::Unknown => {}
        }
    }
    Ok(so_far)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Keyer;

    fn keys(n: usize) -> Vec<PathKey> {
        let k = Keyer::new(b"0123456789abcdef");
        (0..n).map(|i| k.key(Path::new(&format!("f{i}")))).collect()
    }

    #[test]
    fn journal_continues_an_interrupted_run_and_starts_over_after_a_complete_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j");
        let v = Validity::new("r", "k", "o");
        let ks = keys(3);
        {
            let (mut j, r) = Journal::open(&p, &v).unwrap();
            assert!(matches!(r, Resumed::Fresh));
            // Locked while open.
            assert!(matches!(Journal::open(&p, &v), Err(StateError::Busy { .. })));
            j.checkpoint(&Checkpoint { offset: 10, files: 1, ..Checkpoint::default() }, &ks[..1]).unwrap();
            j.checkpoint(&Checkpoint { offset: 20, files: 2, ..Checkpoint::default() }, &ks[1..2]).unwrap();
        }
        // A half-written line (killed mid-write) is dropped.
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"{\"cp\":{\"off").unwrap();
        {
            let (mut j, r) = Journal::open(&p, &v).unwrap();
            let Resumed::Continue { completed, last } = r else { panic!("expected a run to continue") };
            assert_eq!(last.offset, 20);
            assert_eq!(completed, ks[..2].iter().copied().collect());
            j.checkpoint(&Checkpoint { offset: 30, files: 3, ..Checkpoint::default() }, &ks[2..]).unwrap();
        }
        let e = Journal::open(&p, &Validity::new("r", "k", "other")).unwrap_err().to_string();
        assert!(e.contains("different command"), "{e}");
        {
            let (mut j, r) = Journal::open(&p, &v).unwrap();
            assert!(matches!(r, Resumed::Continue { last: Checkpoint { offset: 30, .. }, .. }));
            j.done().unwrap();
        }
        let (_j, r) = Journal::open(&p, &v).unwrap();
        assert!(matches!(r, Resumed::Fresh));
        // Started over: only the header is left.
        assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 1);
    }

    #[test]
    fn cut_report_drops_the_tail_and_counts_what_is_left() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.jsonl");
        let run = "{\"type\":\"run\",\"tool\":\"pansweep\",\"version\":\"0\",\"ruleset\":\"\",\"started\":\"\",\"host\":\"\",\"argv\":[],\"fingerprint_key_id\":\"\"}\n";
        let skip =
            "{\"type\":\"skipped\",\"path\":\"d\",\"reason\":\"cannot read: permission denied\",\"kind\":\"error\"}\n";
        let keep = format!("{run}{skip}");
        std::fs::write(&p, format!("{keep}{skip}{{\"type\":\"summ")).unwrap();
        let so_far = cut_report(&p, keep.len() as u64).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), keep);
        assert_eq!(so_far.skipped, 1);
        assert!(so_far.incomplete);
        assert_eq!(so_far.seen.get(&line_hash(skip.trim_end().as_bytes())), Some(&1));
        // A report shorter than the journal says: not the same report.
        let e = cut_report(&p, 10_000).unwrap_err().to_string();
        assert!(e.contains("shorter"), "{e}");
    }
}
