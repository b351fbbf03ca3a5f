//! The writer thread's side of `--state` and `--resume`: it collects each file's finding
//! records for the next state, replays the findings of unchanged files, checkpoints the
//! report into the resume journal once a second, and recognises records that an
//! interrupted run already wrote.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::report::{FindingJson, FindingRecord, ReportWriter, SkipJson};
use crate::source::Skip;
use crate::state::resume::{SoFar, line_hash};
use crate::state::{Checkpoint, FileMark, Journal, KeySet, Keyer, NextState, PathKey, Previous, StateError};

/// A file's findings kept for the next state beyond this many bytes of records are
/// dropped, and the file is read again next time (bounded memory for a file with
/// millions of findings).
const MAX_FILE_RECORDS: usize = 4 << 20;

/// What a scan remembers between runs. Workers read `keyer`, `previous` and
/// `completed`; the writer takes the rest when the run starts.
pub struct Memo {
    /// Names files in the state and journal.
    pub keyer: Keyer,
    /// The previous state (`--state`, unless `--full`, missing or stale).
    pub previous: Option<Previous>,
    /// The state this run writes (`--state`).
    pub next: Mutex<Option<NextState>>,
    /// `--resume`.
    pub resume: Option<Resume>,
}

/// `--resume`: the journal, and what an interrupted run already did.
pub struct Resume {
    /// The journal (taken by the writer).
    pub journal: Mutex<Option<Journal>>,
    /// The report file (synced before each checkpoint).
    pub report: PathBuf,
    /// Files the interrupted run finished: not read again.
    pub completed: KeySet,
    /// Its last checkpoint (`None` for a new run).
    pub last: Option<Checkpoint>,
    /// What its report holds (taken by the writer).
    pub so_far: Mutex<Option<SoFar>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("previous", &self.previous.as_ref().map(Previous::len))
            .field("resume", &self.resume.as_ref().map(|r| (r.completed.len(), r.last)))
            .finish_non_exhaustive()
    }
}

impl Memo {
    /// Whether an interrupted run is being continued (its `run` record is written).
    pub fn continuing(&self) -> bool {
        self.resume.as_ref().is_some_and(|r| r.last.is_some())
    }
}

/// One file's records for the next state.
#[derive(Default)]
struct FileRecords {
    lines: Vec<u8>,
    count: u32,
    /// False once the file met a problem or too many records: not kept.
    keep: bool,
}

/// The writer's state for `--state` and `--resume`.
pub(super) struct MemoWriter {
    pub(super) memo: Arc<Memo>,
    next: Option<NextState>,
    journal: Option<Journal>,
    report: Option<File>,
    /// Records of files in progress, by file id.
    open: HashMap<u64, FileRecords>,
    /// Files finished since the last checkpoint.
    finished: Vec<PathKey>,
    /// Lines the interrupted run's report holds, with multiplicity.
    seen: HashMap<u64, u32>,
    last_checkpoint: Instant,
    /// Totals carried from earlier sessions.
    pub(super) base: Checkpoint,
    started: Instant,
    line: Vec<u8>,
    pub(super) warnings: Vec<String>,
    /// Files finished while the run was being cancelled (not journaled).
    partial: u64,
}

/// Totals at a checkpoint, from the writer.
pub(super) struct Totals {
    pub(super) files: u64,
    pub(super) bytes: u64,
    pub(super) tables: u64,
    pub(super) rows: u64,
    pub(super) unchanged: u64,
    /// Findings the allowlist left out this session.
    pub(super) allowlisted: u64,
}

impl MemoWriter {
    /// Takes the writer's parts out of `memo`, and what the interrupted run's report held.
    pub(super) fn new(memo: Arc<Memo>, started: Instant) -> (MemoWriter, Option<SoFar>) {
        let next = memo.next.lock().expect("memo lock").take();
        let (journal, mut so_far, report, base) = match &memo.resume {
            Some(r) => (
                r.journal.lock().expect("memo lock").take(),
                r.so_far.lock().expect("memo lock").take(),
                Some(r.report.clone()),
                r.last.unwrap_or_default(),
            ),
            None => (None, None, None, Checkpoint::default()),
        };
        let mut warnings = Vec::new();
        let report = report.and_then(|p| match File::open(&p) {
            Ok(f) => Some(f),
            Err(e) => {
                warnings.push(format!(
                    "{}: cannot open to sync for checkpoints ({e}); the run cannot be resumed",
                    p.display()
                ));
                None
            }
        });
        let journal = if report.is_some() { journal } else { None };
        // The writer owns the lines to recognise; the caller takes the totals.
        let seen = so_far.as_mut().map(|s| std::mem::take(&mut s.seen)).unwrap_or_default();
        let w = MemoWriter {
            memo,
            next,
            journal,
            report,
            open: HashMap::new(),
            finished: Vec::new(),
            seen,
            last_checkpoint: Instant::now(),
            base,
            started,
            line: Vec::with_capacity(1024),
            warnings,
            partial: 0,
        };
        (w, so_far)
    }

    /// A finding of file `file_id` (a member's findings count for the file on disk), as
    /// scanned: kept for the next state. Returns its line hash for [`MemoWriter::fresh`].
    pub(super) fn finding(&mut self, file_id: Option<u64>, rec: &FindingRecord) -> Option<u64> {
        let wants_state = self.next.is_some() && file_id.is_some();
        if !wants_state && self.seen.is_empty() {
            return None;
        }
        self.line.clear();
        if serde_json::to_writer(&mut self.line, &FindingJson::new(rec)).is_err() {
            return None;
        }
        if wants_state && let Some(id) = file_id {
            let f = self.open.entry(id).or_insert_with(|| FileRecords { keep: true, ..FileRecords::default() });
            if f.keep && f.lines.len() + self.line.len() < MAX_FILE_RECORDS {
                f.lines.extend_from_slice(&self.line);
                f.lines.push(b'\n');
                f.count += 1;
            } else {
                *f = FileRecords::default();
            }
        }
        Some(line_hash(&self.line))
    }

    /// A skipped record about to be written: false when already in the report.
    pub(super) fn skip(&mut self, skip: &Skip) -> bool {
        if self.seen.is_empty() {
            return true;
        }
        self.line.clear();
        if serde_json::to_writer(&mut self.line, &SkipJson::new(skip)).is_err() {
            return true;
        }
        self.fresh(Some(line_hash(&self.line)))
    }

    /// Whether a record (by line hash) is new: false when the interrupted run's report
    /// already holds it (counted there: neither count nor write it again).
    pub(super) fn fresh(&mut self, hash: Option<u64>) -> bool {
        let Some(hash) = hash else { return true };
        match self.seen.get_mut(&hash) {
            // Dropped when used up: once none is left, findings are no longer hashed.
            Some(1) => {
                self.seen.remove(&hash);
                false
            }
            Some(n) => {
                *n -= 1;
                false
            }
            None => true,
        }
    }

    /// A file that cannot be kept in the state (a problem, or database tables in it).
    pub(super) fn spoil(&mut self, file_id: u64) {
        if self.next.is_some() {
            self.open.insert(file_id, FileRecords::default());
        }
    }

    /// A file is finished: keep its records when it was read whole without a problem,
    /// and list it for the next checkpoint. `whole` is false when the run was being
    /// cancelled: the read may have stopped early, so the file counts as not done.
    pub(super) fn file_done(&mut self, file_id: u64, mark: Option<&FileMark>, clean: bool, whole: bool) {
        let records = self.open.remove(&file_id);
        if !whole {
            // Counted in this session's files, but read again when the run is continued.
            self.partial += 1;
            return;
        }
        let Some(mark) = mark else { return };
        if let Some(next) = &mut self.next
            && clean
        {
            match records {
                Some(r) if r.keep => next.add(mark, &r.lines, r.count),
                Some(_) => {}
                None => next.add(mark, &[], 0),
            }
        }
        if self.journal.is_some() {
            self.finished.push(mark.key);
        }
    }

    /// An unchanged file: its records from the previous state, to be replayed.
    pub(super) fn cached(&self, c: &crate::state::CachedFile) -> io::Result<Vec<u8>> {
        let prev = self.memo.previous.as_ref().ok_or_else(|| io::Error::other("no previous state"))?;
        prev.read(c)
    }

    /// An unchanged file whose records all read back: kept in the next state as they are,
    /// and listed for the next checkpoint. (A file whose records are damaged is not: the
    /// next run reads it.)
    pub(super) fn keep_cached(&mut self, c: &crate::state::CachedFile, lines: &[u8]) {
        if let Some(next) = &mut self.next {
            next.add(&c.mark, lines, c.count);
        }
        if self.journal.is_some() {
            self.finished.push(c.mark.key);
        }
    }

    /// Time for a checkpoint (once a second, when files finished).
    pub(super) fn due(&self) -> bool {
        self.journal.is_some() && !self.finished.is_empty() && self.last_checkpoint.elapsed() >= Duration::from_secs(1)
    }

    /// Flushes and syncs the report, then records the files finished so far. A failure
    /// stops checkpointing (the run goes on, but cannot be resumed past this point).
    pub(super) fn checkpoint(&mut self, writer: &mut dyn ReportWriter, t: &Totals) -> io::Result<()> {
        self.last_checkpoint = Instant::now();
        let (Some(journal), Some(report)) = (&mut self.journal, &self.report) else { return Ok(()) };
        writer.flush()?;
        let r = report.sync_data().and_then(|()| report.metadata()).and_then(|m| {
            let cp = Checkpoint {
                offset: m.len(),
                files: t.files - self.partial,
                bytes: t.bytes,
                tables: t.tables,
                rows: t.rows,
                unchanged: t.unchanged,
                allowlisted: self.base.allowlisted + t.allowlisted,
                elapsed_s: self.base.elapsed_s + self.started.elapsed().as_secs_f64(),
            };
            journal.checkpoint(&cp, &self.finished)
        });
        match r {
            Ok(()) => self.finished.clear(),
            Err(e) => {
                self.warnings.push(format!(
                    "{}: cannot write checkpoint ({e}); the run cannot be resumed past here",
                    journal.path().display()
                ));
                self.journal = None;
            }
        }
        Ok(())
    }

    /// The end of the run, after the summary is written: the state replaces the old one,
    /// and a complete run's journal is marked done.
    pub(super) fn close(mut self, complete: bool) -> Vec<String> {
        // Files an interrupted run finished were not looked at by this session: their
        // previous entries stay (checked against their stamps when used).
        let completed = self.memo.resume.as_ref().map(|r| &r.completed);
        let keep = |k: &PathKey| !complete || completed.is_some_and(|c| c.contains(k));
        if let Some(next) = self.next.take()
            && let Err(e) = next.commit(self.memo.previous.as_ref(), &keep)
        {
            self.warnings.push(state_warning(&e));
        }
        if complete
            && let Some(j) = &mut self.journal
            && let Err(e) = j.done()
        {
            self.warnings.push(format!("{}: cannot mark the run complete ({e})", j.path().display()));
        }
        self.warnings
    }
}

fn state_warning(e: &StateError) -> String {
    format!("the state file was not updated: {e}")
}
