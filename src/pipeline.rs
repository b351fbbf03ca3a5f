//! Orchestration: the only module that spawns threads or makes channels.
//!
//! ```text
//! walker thread (ignore::WalkParallel) ──bounded jobs──▶ rayon workers ──bounded results──▶ writer (calling thread)
//!                                          ▲   │
//!                                          └───┘ pieces of large files (unbounded, few)
//! ```
//!
//! A worker that opens a file larger than the split threshold cuts it into pieces and
//! queues all but the first for any idle worker, so one huge file uses every core. The
//! writer turns piece-relative line numbers into file line numbers by taking pieces in
//! order. Memory stays bounded: fixed-capacity channels, one reused buffer per worker,
//! and findings batched per file or piece.
//!
//! Cancellation (Ctrl-C, broken pipe, a writer error) is one flag: the walker quits,
//! workers drop queued work, and the writer writes the summary with `complete: false`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, select, unbounded};

mod db;
mod memo;
pub use db::{DbJob, run_db};
pub use memo::{Memo, Resume};

use crate::finding::{Confidence, Fingerprint};
use crate::report::{Evidence, FindingRecord, ReportWriter, RunInfo, Summary, redact_digits};
use crate::scan::Scanner;
use crate::source::file::{self, Hit, Piece, PieceStats, Probe, Reader};
use crate::source::forensic::{self, AtimeLog, Owners, Stamp};
use crate::source::item::{self, ItemLimits, ItemScanner, Kind};
use crate::source::throttle::{Throttle, Throttled};
use crate::source::walk::{self, Entry, WalkOptions};
use crate::source::{RowKey, Skip, SkipKind};
use crate::state::{CachedFile, FileMark, PathKey, Stamp as StateStamp};
use crate::triage::{Triage, Verdict};
use memo::{MemoWriter, Totals};

/// Files smaller than this are read in one piece and scanned from memory.
const SMALL_FILE: u64 = 256 << 10;

/// What to scan and how.
#[derive(Clone, Debug)]
pub struct ScanJob {
    /// Roots as given.
    pub roots: Vec<PathBuf>,
    /// Walk options.
    pub walk: WalkOptions,
    /// Scanning threads.
    pub threads: usize,
    /// Files larger than this are split across threads.
    pub split_threshold: u64,
    /// Size of each piece of a split file.
    pub piece_size: u64,
    /// Files larger than this are skipped (`--max-filesize`).
    pub max_filesize: Option<u64>,
    /// (device, inode) of the report file, never scanned.
    pub output_file: Option<(u64, u64)>,
    /// (device, inode) of other files this run writes or reads as its own (the state
    /// file, the resume journal): never scanned.
    pub own_files: Vec<(u64, u64)>,
    /// Findings below this tier are not reported.
    pub min_confidence: Confidence,
    /// Limits on taking archives and mail apart.
    pub items: ItemLimits,
    /// What the scan remembers between runs (`--state`, `--resume`).
    pub memo: Option<Arc<Memo>>,
    /// `--max-rate`: every byte read from disk is charged to this bucket, shared by all
    /// workers (`None`: no limit).
    pub throttle: Option<Arc<Throttle>>,
    /// Forensic mode (`--forensic`): access times of files, directories and links are
    /// kept (or set back), and each file with reported findings gets an `evidence`
    /// record (stat before and after, owner names, SHA-256 of its content).
    pub forensic: bool,
}

impl ScanJob {
    /// Whether `meta` is the report or another file of this run's own.
    fn is_own(&self, meta: &std::fs::Metadata) -> bool {
        let id = (meta.dev(), meta.ino());
        self.output_file == Some(id) || self.own_files.contains(&id)
    }

    /// A job over `roots` with defaults: all cores, 64 MiB split threshold, 16 MiB pieces.
    pub fn new(roots: Vec<PathBuf>) -> ScanJob {
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        ScanJob {
            roots,
            walk: WalkOptions { threads, ..WalkOptions::default() },
            threads,
            split_threshold: 64 << 20,
            piece_size: 16 << 20,
            max_filesize: None,
            output_file: None,
            own_files: Vec::new(),
            min_confidence: Confidence::Low,
            items: ItemLimits::default(),
            memo: None,
            throttle: None,
            forensic: false,
        }
    }
}

/// Live counters for progress display (updated in batches).
#[derive(Debug, Default)]
pub struct Counters {
    /// Files finished.
    pub files: AtomicU64,
    /// Bytes scanned.
    pub bytes: AtomicU64,
    /// Findings reported.
    pub findings: AtomicU64,
    /// Items skipped.
    pub skipped: AtomicU64,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The summary as written.
    pub summary: Summary,
    /// Strongest tier among reported cardholder-data findings.
    pub worst: Option<Confidence>,
    /// Something in scope could not be read (a skip that is not "vanished").
    pub incomplete: bool,
    /// The output was closed by its reader (e.g. `| head`).
    pub broken_pipe: bool,
    /// Problems that did not stop the run (the state file or resume journal could not
    /// be written), for the command line to show.
    pub warnings: Vec<String>,
    /// Forensic mode: files, directories and links whose access time a read changed and
    /// that could not be set back (not the owner, not privileged).
    pub atime_lost: u64,
}

/// A failure that stops the run (not a per-file problem).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Writing the report failed.
    #[error("cannot write the report: {0}")]
    Write(#[source] std::io::Error),
    /// The walk could not start.
    #[error(transparent)]
    Walk(#[from] walk::WalkError),
    /// The thread pool could not start.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

enum Job {
    /// A file to read, with its state key (`--state`, `--resume`).
    File(PathBuf, Option<PathKey>),
    Piece(PieceJob),
}

struct PieceJob {
    path: Arc<str>,
    file: Arc<File>,
    file_id: u64,
    index: usize,
    count: usize,
    piece: Piece,
    /// The file's size when it was opened (the last piece's growth cap comes from it).
    size: u64,
    probe: Arc<Probe>,
    mark: Option<FileMark>,
    /// Forensic mode: what the pieces of this file share.
    track: Option<Arc<SplitTrack>>,
}

/// The pieces of one split file in forensic mode: the worker that finishes the last one
/// hashes the file (when any piece had reported findings) and sets its atime back.
struct SplitTrack {
    before: Stamp,
    remaining: AtomicUsize,
    reported: AtomicBool,
}

enum Msg {
    Done {
        path: Arc<str>,
        file_id: u64,
        index: usize,
        count: usize,
        hits: Vec<Hit>,
        stats: PieceStats,
        /// The file's path key and stamp (with `--state` or `--resume`).
        mark: Option<FileMark>,
        /// Read whole without a problem (a failed piece, or a skip inside an archive,
        /// makes it false): only such files are kept in the state.
        clean: bool,
        /// Forensic mode: the file's evidence record, carried by one of its pieces (the
        /// writer writes it after the file's last finding).
        evidence: Option<Box<Evidence>>,
    },
    /// An unchanged file, taken from the previous state.
    Cached {
        path: Arc<str>,
        file: CachedFile,
    },
    /// A leaf inside an archive or mail: its findings; the file is counted by its `Done`.
    Member {
        /// The file on disk the member is in.
        file_id: u64,
        path: Arc<str>,
        /// Table and column of a database cell (SQLite files met during the scan).
        table: Option<String>,
        column: Option<String>,
        decoders: Vec<&'static str>,
        hits: Vec<Hit>,
        stats: PieceStats,
    },
    Skip(Skip),
}

struct Ctx<'a> {
    job: &'a ScanJob,
    scanner: &'a Scanner,
    cancel: &'a AtomicBool,
    results: Sender<Msg>,
    pieces_tx: Sender<PieceJob>,
    /// Files queued or being scanned, plus pieces queued or being scanned: a worker that
    /// finds the walk over stops only when this is 0 (a file being scanned may still be
    /// split into pieces for it).
    pending_work: &'a AtomicUsize,
    next_file_id: &'a AtomicU64,
    /// Forensic mode: owner names for evidence records (`None`: not forensic).
    owners: Option<&'a Owners>,
    /// Forensic mode: files whose access time moved and could not be set back.
    atime_lost: &'a AtomicU64,
}

/// Runs a file scan to completion (or cancellation), writing through `writer`.
///
/// With `triage`, each finding is judged before it is counted: allowlisted findings and
/// findings of the baseline are neither written nor counted in `findings` or the outcome's
/// `worst` (only in the summary's `allowlisted` and `baseline`), and the baseline's
/// findings not found again are written as resolved before the summary.
#[allow(clippy::too_many_arguments)] // the run's parts, each from a different owner
pub fn run_scan(
    job: &ScanJob,
    scanner: &Scanner,
    writer: &mut dyn ReportWriter,
    run: &RunInfo,
    cancel: &AtomicBool,
    counters: &Counters,
    tick: &mut dyn FnMut(&Counters),
    triage: Option<&mut Triage>,
) -> Result<Outcome, PipelineError> {
    let started = Instant::now();
    let (memo, so_far) = job.memo.clone().map(|m| MemoWriter::new(m, started)).unzip();
    // A continued run's report already starts with its run record.
    if !job.memo.as_ref().is_some_and(|m| m.continuing()) {
        writer.begin(run).map_err(PipelineError::Write)?;
    }
    let threads = job.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("pansweep-scan-{i}"))
        .build()
        .map_err(|e| PipelineError::Threads(e.to_string()))?;
    let (jobs_tx, jobs_rx) = bounded::<Job>(threads * 64);
    let (pieces_tx, pieces_rx) = unbounded::<PieceJob>();
    let (results_tx, results_rx) = bounded::<Msg>(threads * 16);
    let pending_work = AtomicUsize::new(0);
    let next_file_id = AtomicU64::new(0);
    let walk_error: std::sync::Mutex<Option<walk::WalkError>> = std::sync::Mutex::new(None);
    // Forensic mode: directories' and links' access times, noted as the walk meets them
    // and set back once every worker is done; owner names for evidence records.
    let atimes = job.forensic.then(|| Arc::new(AtimeLog::new()));
    let owners = job.forensic.then(Owners::load);
    let atime_lost = AtomicU64::new(0);
    let mut walk_opts = job.walk.clone();
    walk_opts.atimes.clone_from(&atimes);

    let mut state = WriterState::new(job.min_confidence, triage);
    if let Some(sf) = so_far.flatten() {
        state.counts = sf.counts;
        state.worst = sf.worst;
        state.distinct = sf.distinct;
        state.skipped = sf.skipped;
        state.incomplete = sf.incomplete;
    }
    let (mut base_elapsed, mut base_allowlisted) = (0.0, 0);
    if let Some(m) = &memo {
        let b = m.base;
        (state.files, state.bytes, state.tables, state.rows, state.unchanged) =
            (b.files, b.bytes, b.tables, b.rows, b.unchanged);
        base_elapsed = b.elapsed_s;
        base_allowlisted = b.allowlisted;
    }
    state.memo = memo;
    state.cancel = Some(cancel);
    state.forensic = job.forensic;
    let write_result = std::thread::scope(|s| {
        // Walker.
        let walk_results = results_tx.clone();
        let walk_error = &walk_error;
        let pending = &pending_work;
        s.spawn(move || {
            let visit = |e: Entry| match e {
                Entry::File(p) => match remembered(job, &p) {
                    Remembered::Read(key) => {
                        // Counted before it is queued, so no worker can see the walk over
                        // and nothing pending while a file that may be split is on its way.
                        pending.fetch_add(1, Ordering::Release);
                        let sent = send_unless_cancelled(&jobs_tx, Job::File(p, key), cancel);
                        if !sent {
                            pending.fetch_sub(1, Ordering::Release);
                        }
                        sent
                    }
                    Remembered::Cached(msg) => walk_results.send(msg).is_ok(),
                    Remembered::Done => true,
                },
                Entry::Skipped(sk) => walk_results.send(Msg::Skip(sk)).is_ok(),
            };
            if let Err(e) = walk::walk(&job.roots, &walk_opts, cancel, &visit) {
                *walk_error.lock().expect("walk error lock") = Some(e);
            }
        });
        // Workers. They own the last result sender, so the writer's channel closes when
        // the pool is done.
        let (jobs_rx, pieces_rx) = (&jobs_rx, &pieces_rx);
        let (pool, pending_work, next_file_id) = (&pool, &pending_work, &next_file_id);
        let (owners, atime_lost) = (owners.as_ref(), &atime_lost);
        s.spawn(move || {
            let ctx = Ctx {
                job,
                scanner,
                cancel,
                results: results_tx,
                pieces_tx,
                pending_work,
                next_file_id,
                owners,
                atime_lost,
            };
            let ctx = &ctx;
            pool.scope(|rs| {
                for _ in 0..threads {
                    rs.spawn(move |_| worker(ctx, jobs_rx, pieces_rx));
                }
            });
        });
        // Writer: the calling thread. It ends when every sender is gone.
        let r = state.drain(&results_rx, writer, counters, tick);
        if r.is_err() {
            cancel.store(true, Ordering::Relaxed);
            // Keep receiving so workers never block on a full channel.
            for _ in &results_rx {}
        }
        r
    });
    let mut atime_lost = atime_lost.into_inner();
    if let Some(log) = &atimes {
        atime_lost += log.restore().failed.len() as u64;
    }
    if let Some(e) = walk_error.into_inner().expect("walk error lock") {
        return Err(e.into());
    }
    let broken_pipe = matches!(&write_result, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe);
    if let Err(e) = write_result
        && !broken_pipe
    {
        return Err(PipelineError::Write(e));
    }
    let interrupted = cancel.load(Ordering::Relaxed);
    let totals = state.totals();
    if !broken_pipe && let Some(m) = &mut state.memo {
        // Everything finished is on disk before the summary is written: a resume cuts
        // the report back to here.
        m.checkpoint(writer, &totals).map_err(PipelineError::Write)?;
    }
    let summary = Summary {
        complete: !interrupted,
        files: state.files,
        bytes: state.bytes,
        tables: state.tables,
        rows: state.rows,
        skipped: state.skipped,
        findings: state.counts,
        distinct_pans: Some(state.distinct.len() as u64),
        elapsed_s: ((base_elapsed + started.elapsed().as_secs_f64()) * 1000.0).round() / 1000.0,
        sampled: false,
        unchanged: state.unchanged,
        allowlisted: base_allowlisted,
        baseline: None,
    };
    let summary = finish(writer, state.triage, summary, broken_pipe)?;
    let warnings = state.memo.take().map(|m| m.close(!interrupted)).unwrap_or_default();
    Ok(Outcome { summary, worst: state.worst, incomplete: state.incomplete, broken_pipe, warnings, atime_lost })
}

/// Writes the baseline's resolved findings (a finished run only) and the summary, with
/// the triage counts filled in.
fn finish(
    writer: &mut dyn ReportWriter,
    triage: Option<&mut Triage>,
    mut summary: Summary,
    broken_pipe: bool,
) -> Result<Summary, PipelineError> {
    if let Some(t) = triage {
        let resolved = t.resolved(summary.complete && !broken_pipe);
        if !broken_pipe {
            for rec in &resolved {
                writer.resolved(rec).map_err(PipelineError::Write)?;
            }
        }
        // Added to what earlier sessions of a resumed run left out.
        summary.allowlisted += t.allowlisted();
        summary.baseline = t.baseline_counts();
    }
    if !broken_pipe {
        writer.finish(&summary).map_err(PipelineError::Write)?;
    }
    Ok(summary)
}

/// Sends a job, giving up when the run is cancelled (workers may have stopped taking).
fn send_unless_cancelled(tx: &Sender<Job>, mut job: Job, cancel: &AtomicBool) -> bool {
    loop {
        match tx.send_timeout(job, Duration::from_millis(100)) {
            Ok(()) => return true,
            Err(crossbeam_channel::SendTimeoutError::Timeout(j)) => {
                if cancel.load(Ordering::Relaxed) {
                    return false;
                }
                job = j;
            }
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}

fn worker(ctx: &Ctx<'_>, jobs: &Receiver<Job>, pieces: &Receiver<PieceJob>) {
    let new_reader = || Reader::with_throttle(ctx.job.throttle.clone());
    let mut reader = new_reader();
    loop {
        if ctx.cancel.load(Ordering::Relaxed) {
            // Drop queued work; the walker stops on its own.
            while jobs.try_recv().is_ok() {
                ctx.pending_work.fetch_sub(1, Ordering::Relaxed);
            }
            while pieces.try_recv().is_ok() {
                ctx.pending_work.fetch_sub(1, Ordering::Relaxed);
            }
            if jobs.is_empty() && ctx.pending_work.load(Ordering::Relaxed) == 0 {
                return;
            }
        }
        let job = if let Ok(p) = pieces.try_recv() {
            Job::Piece(p)
        } else {
            select! {
                recv(pieces) -> p => match p { Ok(p) => Job::Piece(p), Err(_) => return },
                recv(jobs) -> j => if let Ok(j) = j { j } else {
                    // The walk is over: wait only for pieces other workers still queue.
                    if ctx.pending_work.load(Ordering::Acquire) == 0 {
                        return;
                    }
                    match pieces.recv_timeout(Duration::from_millis(20)) {
                        Ok(p) => Job::Piece(p),
                        Err(_) => continue,
                    }
                },
            }
        };
        // A bug (ours or a parser's) on one input must not stop the run: the item is
        // reported as not scanned, and the worker goes on with fresh buffers.
        let msg = match job {
            Job::File(path, key) => {
                let m = panic::catch_unwind(AssertUnwindSafe(|| scan_file(ctx, &mut reader, &path, key)))
                    .unwrap_or_else(|_| {
                        reader = new_reader();
                        Some(Msg::Skip(internal_error(&path.display().to_string())))
                    });
                // Its pieces, if it was split, were counted before this.
                ctx.pending_work.fetch_sub(1, Ordering::Release);
                m
            }
            Job::Piece(p) => {
                let m = panic::catch_unwind(AssertUnwindSafe(|| scan_one_piece(ctx, &mut reader, &p))).unwrap_or_else(
                    |_| {
                        reader = new_reader();
                        let _ = ctx.results.send(Msg::Skip(internal_error(&p.path)));
                        empty_piece(&p)
                    },
                );
                let m = piece_done(ctx, &p, m);
                ctx.pending_work.fetch_sub(1, Ordering::Release);
                Some(m)
            }
        };
        if let Some(msg) = msg
            && ctx.results.send(msg).is_err()
        {
            return;
        }
    }
}

/// The skip for an item whose scan panicked (the panic hook has printed a redacted
/// message on stderr).
fn internal_error(path: &str) -> Skip {
    Skip {
        path: redact_digits(path).into_owned(),
        reason: "internal error: the scan of this item stopped early (a bug; please report it)".into(),
        kind: SkipKind::Error,
    }
}

/// What the walker does with a file, given what the scan remembers.
enum Remembered {
    /// Read it (with its state key, when there is a state or journal).
    Read(Option<PathKey>),
    /// Unchanged since the last run: its findings come from the state.
    Cached(Msg),
    /// Finished by the interrupted run this one continues: in its report already.
    Done,
}

/// Decided on the walker's thread, so an unchanged file costs a stat and no trip through
/// the job queue.
fn remembered(job: &ScanJob, path: &Path) -> Remembered {
    let Some(m) = job.memo.as_deref() else { return Remembered::Read(None) };
    let key = m.keyer.key(path);
    if m.resume.as_ref().is_some_and(|r| r.completed.contains(&key)) {
        return Remembered::Done;
    }
    // Unchanged: a stat, no open (no read, no atime).
    if let Some(prev) = &m.previous
        && let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && !job.is_own(&meta)
        && let Some(file) = prev.lookup(&FileMark { key, stamp: StateStamp::of(&meta) })
    {
        let shown: Arc<str> = Arc::from(redact_digits(&path.display().to_string()).as_ref());
        return Remembered::Cached(Msg::Cached { path: shown, file });
    }
    Remembered::Read(Some(key))
}

fn scan_file(ctx: &Ctx<'_>, reader: &mut Reader, path: &Path, key: Option<PathKey>) -> Option<Msg> {
    let shown: Arc<str> = Arc::from(redact_digits(&path.display().to_string()).as_ref());
    let file = match file::open(path) {
        Ok(f) => f,
        Err(e) => return Some(Msg::Skip(Skip::io(&*shown, "cannot open", &e))),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Some(Msg::Skip(Skip::io(&*shown, "cannot stat", &e))),
    };
    if !meta.is_file() {
        return Some(Msg::Skip(Skip {
            path: shown.to_string(),
            reason: "not a regular file: not read".into(),
            kind: SkipKind::Error,
        }));
    }
    if ctx.job.is_own(&meta) {
        return None;
    }
    if let Some(max) = ctx.job.max_filesize
        && meta.len() > max
    {
        return Some(Msg::Skip(Skip {
            path: shown.to_string(),
            reason: format!("larger than --max-filesize ({} > {max} bytes)", meta.len()),
            kind: SkipKind::Limit,
        }));
    }
    // Forensic mode: the file as found, before any read.
    let before = ctx.owners.is_some().then(|| Stamp::of(&meta));
    let file_id = ctx.next_file_id.fetch_add(1, Ordering::Relaxed);
    // Stamped before reading: a file that changes while read looks changed next time.
    let mark = key.map(|key| FileMark { key, stamp: StateStamp::of(&meta) });
    // Small files are read whole, once: the same bytes decide what the file is and are
    // scanned from memory. One byte more than the size tells a file that grew.
    let small = meta.len() < SMALL_FILE;
    let want = if small { usize::try_from(meta.len()).unwrap_or(0) + 1 } else { item::HEAD_BYTES };
    let head = match file::read_head(&file, want) {
        Ok(h) => h,
        Err(e) => {
            if let Some(b) = &before {
                let _ = forensic_done(ctx, &file, b, &shown, false, None);
            }
            return Some(Msg::Skip(Skip::io(&*shown, "cannot read", &e)));
        }
    };
    if let Some(t) = &ctx.job.throttle {
        t.take(head.len() as u64, ctx.cancel);
    }
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let kind = Kind::of(&head, &name);
    if kind != Kind::Plain {
        let mut file = file;
        let item = scan_item(ctx, reader, &shown, path, &mut file, meta.len(), kind, file_id);
        let evidence = before.and_then(|b| forensic_done(ctx, &file, &b, &shown, item.reported, None));
        return Some(Msg::Done {
            path: shown,
            file_id,
            index: 0,
            count: 1,
            hits: Vec::new(),
            stats: PieceStats::default(),
            mark,
            clean: item.clean,
            evidence,
        });
    }
    if small && head.len() < want {
        // The head is the whole file (most files are small): scan it from memory rather
        // than reading it again.
        let mut hits = Vec::new();
        let mut bytes: &[u8] = &head;
        let scanned = reader.scan_stream(&mut bytes, None, ctx.scanner, ctx.cancel, &mut |h| hits.push(h));
        let reported = scanned.is_ok() && reportable(ctx, &hits);
        let evidence = before.and_then(|b| forensic_done(ctx, &file, &b, &shown, reported, Some(&head)));
        return match scanned {
            Ok(stats) => {
                Some(Msg::Done { path: shown, file_id, index: 0, count: 1, hits, stats, mark, clean: true, evidence })
            }
            Err(e) => Some(Msg::Skip(Skip::io(&*shown, "cannot read", &e))),
        };
    }
    if ctx.job.threads > 1 && meta.len() > ctx.job.split_threshold {
        let file = Arc::new(file);
        // The head read above is the file's first 8 KiB: probe it, no second read.
        let probe = Arc::new(Probe::of(&head, ctx.scanner));
        let mut pieces = Piece::split(meta.len(), ctx.job.piece_size);
        if let Some(last) = pieces.last_mut() {
            last.cap = Some(Piece::growth_cap(meta.len()));
        }
        let count = pieces.len();
        let track = before.map(|before| {
            Arc::new(SplitTrack { before, remaining: AtomicUsize::new(count), reported: AtomicBool::new(false) })
        });
        let mut first = None;
        for (index, piece) in pieces.into_iter().enumerate() {
            let pj = PieceJob {
                path: shown.clone(),
                file: file.clone(),
                file_id,
                index,
                count,
                piece,
                size: meta.len(),
                probe: probe.clone(),
                mark,
                track: track.clone(),
            };
            if index == 0 {
                first = Some(pj);
            } else {
                ctx.pending_work.fetch_add(1, Ordering::Release);
                if ctx.pieces_tx.send(pj).is_err() {
                    ctx.pending_work.fetch_sub(1, Ordering::Release);
                }
            }
        }
        return first.map(|p| {
            let m = scan_one_piece(ctx, reader, &p);
            piece_done(ctx, &p, m)
        });
    }
    let mut hits = Vec::new();
    let piece = Piece::whole(meta.len());
    let scanned = reader.scan_piece(&file, piece, None, ctx.scanner, ctx.cancel, &mut |h| hits.push(h));
    let capped = scanned.as_ref().is_ok_and(|st| st.capped) && grew_past(ctx, &shown, meta.len());
    // A file that could not be read whole is not hashed for evidence (the hash would read
    // the failing part again).
    let reported = scanned.is_ok() && reportable(ctx, &hits);
    let evidence = before.and_then(|b| forensic_done(ctx, &file, &b, &shown, reported, None));
    let (stats, clean) = match scanned {
        Ok(stats) => (stats, !capped),
        Err(e) => {
            // A read error part way (EIO from a bad sector): the skip says so, and what
            // was found before it is still reported (SPEC §8: never lose a finding).
            let _ = ctx.results.send(Msg::Skip(Skip::io(&*shown, "cannot read", &e)));
            (reader.partial_stats(), false)
        }
    };
    Some(Msg::Done { path: shown, file_id, index: 0, count: 1, hits, stats, mark, clean, evidence })
}

/// A file that was `size` bytes long when opened was read up to its growth cap and more
/// of it was there: a `limit` skip says what was scanned. Returns true (the file is not
/// clean).
fn grew_past(ctx: &Ctx<'_>, shown: &str, size: u64) -> bool {
    let cap = Piece::growth_cap(size);
    let _ = ctx.results.send(Msg::Skip(Skip {
        path: shown.to_owned(),
        reason: format!(
            "limit growth: grew by more than {} bytes while read (from {size} bytes); the first {cap} bytes were \
             scanned",
            cap - size
        ),
        kind: SkipKind::Limit,
    }));
    true
}

/// Whether any of `hits` will be reported (is at or above `--min-confidence`).
fn reportable(ctx: &Ctx<'_>, hits: &[Hit]) -> bool {
    hits.iter().any(|h| h.finding.confidence >= ctx.job.min_confidence)
}

/// Forensic mode, once a file has been read: hashes it when it has reported findings
/// (from `whole` when it was read in one piece, else in a second pass through the same
/// descriptor), stats it again, sets its access time back if a read moved it, and
/// returns its evidence record (only for a file with reported findings).
fn forensic_done(
    ctx: &Ctx<'_>,
    file: &File,
    before: &Stamp,
    shown: &str,
    reported: bool,
    whole: Option<&[u8]>,
) -> Option<Box<Evidence>> {
    let owners = ctx.owners?;
    let sha = if !reported {
        None
    } else if let Some(bytes) = whole {
        Some(forensic::sha256_bytes(bytes))
    } else {
        let mut buf = Vec::new();
        match forensic::sha256_of(file, &mut buf, ctx.cancel) {
            Ok(h) => h,
            Err(e) => {
                let _ = ctx.results.send(Msg::Skip(Skip::io(shown, "cannot read for its sha256 (forensic)", &e)));
                None
            }
        }
    };
    let (after, atime) = forensic::settle(file, before);
    if atime.lost {
        ctx.atime_lost.fetch_add(1, Ordering::Relaxed);
    }
    reported.then(|| Box::new(forensic::evidence(shown, before, after.as_ref(), sha, atime, owners)))
}

/// After a piece was scanned (forensic mode): notes whether it had reported findings, and
/// when it is the last piece of its file to finish, settles the file and attaches its
/// evidence record to this piece's message.
fn piece_done(ctx: &Ctx<'_>, p: &PieceJob, mut msg: Msg) -> Msg {
    let Some(track) = &p.track else { return msg };
    let Msg::Done { hits, evidence, .. } = &mut msg else { return msg };
    if reportable(ctx, hits) {
        track.reported.store(true, Ordering::Release);
    }
    if track.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        *evidence = forensic_done(ctx, &p.file, &track.before, &p.path, track.reported.load(Ordering::Acquire), None);
    }
    msg
}

/// An archive or mail file: every leaf and skip goes to the writer as it is found, so a
/// large archive never holds its results in memory.
#[allow(clippy::too_many_arguments)] // the file as the worker found it: one call site
fn scan_item(
    ctx: &Ctx<'_>,
    reader: &mut Reader,
    shown: &str,
    path: &Path,
    file: &mut File,
    size: u64,
    kind: Kind,
    file_id: u64,
) -> ItemDone {
    let results = &ctx.results;
    let mut skips = 0usize;
    let mut reported = false;
    let mut items = ItemScanner {
        reader,
        scanner: ctx.scanner,
        cancel: ctx.cancel,
        limits: &ctx.job.items,
        leaf: &mut |leaf| {
            reported |= reportable(ctx, &leaf.hits);
            let path: Arc<str> = Arc::from(redact_digits(&leaf.path).as_ref());
            // Table and column names are data too: a column may be named after a PAN.
            let redact = |s: Option<String>| s.map(|s| redact_digits(&s).into_owned());
            let (table, column) = (redact(leaf.table), redact(leaf.column));
            let _ = results.send(Msg::Member {
                file_id,
                path,
                table,
                column,
                decoders: leaf.decoders,
                hits: leaf.hits,
                stats: leaf.stats,
            });
        },
        skip: &mut |skip| {
            skips += 1;
            let _ = results.send(Msg::Skip(skip));
        },
    };
    match &ctx.job.throttle {
        Some(t) => {
            if kind == Kind::Sqlite {
                // SQLite reads the file by name, past any reader of ours: charge its size.
                t.take(size, ctx.cancel);
            }
            items.file(shown, path, &mut Throttled::new(file, t, ctx.cancel), kind);
        }
        None => items.file(shown, path, file, kind),
    }
    ItemDone { clean: skips == 0, reported }
}

/// How an archive or mail file went.
struct ItemDone {
    /// Nothing in it was skipped (it may be kept in the state).
    clean: bool,
    /// A leaf had findings that will be reported (forensic evidence).
    reported: bool,
}

/// A piece that yielded nothing (its scan panicked, reported apart): the writer still
/// needs it so that later pieces of the file are not held back.
fn empty_piece(p: &PieceJob) -> Msg {
    piece_done_msg(p, Vec::new(), PieceStats::default(), false)
}

/// The writer's message for piece `p`.
fn piece_done_msg(p: &PieceJob, hits: Vec<Hit>, stats: PieceStats, clean: bool) -> Msg {
    Msg::Done {
        path: p.path.clone(),
        file_id: p.file_id,
        index: p.index,
        count: p.count,
        hits,
        stats,
        mark: p.mark,
        clean,
        evidence: None,
    }
}

fn scan_one_piece(ctx: &Ctx<'_>, reader: &mut Reader, p: &PieceJob) -> Msg {
    let mut hits = Vec::new();
    match reader.scan_piece(&p.file, p.piece, Some(&p.probe), ctx.scanner, ctx.cancel, &mut |h| hits.push(h)) {
        Ok(stats) => {
            // The last piece runs to the end, within the growth cap.
            let capped = stats.capped && grew_past(ctx, &p.path, p.size);
            piece_done_msg(p, hits, stats, !capped)
        }
        Err(e) => {
            // A read error in one piece: report it, and give the writer the piece (not
            // clean) with what was found before the error, so that nothing found is lost
            // and later pieces of the same file are not held back.
            let skip = Skip::io(
                format!(
                    "{} (bytes {}..{})",
                    p.path,
                    p.piece.start,
                    p.piece.end.map_or_else(|| "end".into(), |e| e.to_string())
                ),
                "cannot read",
                &e,
            );
            let _ = ctx.results.send(Msg::Skip(skip));
            piece_done_msg(p, hits, reader.partial_stats(), false)
        }
    }
}

/// Reassembles split files in order and keeps the run's totals.
struct WriterState<'t> {
    min_confidence: Confidence,
    /// Allowlist and baseline: asked about each finding before it is counted.
    triage: Option<&'t mut Triage>,
    files: u64,
    bytes: u64,
    /// Database tables read (SQLite files met during the scan) and their rows.
    tables: u64,
    rows: u64,
    skipped: u64,
    counts: crate::report::Counts,
    distinct: HashSet<Fingerprint>,
    worst: Option<Confidence>,
    incomplete: bool,
    /// Split files in progress: next piece index, lines before it, pieces waiting.
    split: HashMap<u64, SplitFile>,
    /// Files taken unchanged from the previous state.
    unchanged: u64,
    /// `--state` / `--resume`.
    memo: Option<MemoWriter>,
    /// The file on disk whose findings are being emitted.
    file: Option<u64>,
    /// The run's cancel flag (`run_scan`).
    cancel: Option<&'t AtomicBool>,
    /// Forensic mode: files (ids) with a finding written, awaiting their evidence.
    forensic: bool,
    written: HashSet<u64>,
}

/// Where in a database a leaf's findings are (both `None` for files and members).
#[derive(Clone, Copy, Default)]
struct Cell<'a> {
    table: Option<&'a str>,
    column: Option<&'a str>,
}

#[derive(Default)]
struct SplitFile {
    next: usize,
    lines_before: u64,
    waiting: BTreeMap<usize, (Vec<Hit>, PieceStats)>,
    /// A piece failed.
    spoiled: bool,
    /// A piece was cut short by cancellation: later pieces' line numbers are unknown.
    cut: bool,
    /// Forensic mode: the file's evidence record, written after its last piece.
    evidence: Option<Box<Evidence>>,
}

impl<'t> WriterState<'t> {
    fn new(min_confidence: Confidence, triage: Option<&'t mut Triage>) -> WriterState<'t> {
        WriterState {
            min_confidence,
            triage,
            files: 0,
            bytes: 0,
            tables: 0,
            rows: 0,
            skipped: 0,
            counts: crate::report::Counts::default(),
            distinct: HashSet::new(),
            worst: None,
            incomplete: false,
            split: HashMap::new(),
            unchanged: 0,
            memo: None,
            file: None,
            cancel: None,
            forensic: false,
            written: HashSet::new(),
        }
    }

    /// Whether the run is being cancelled: a file finished now may have been cut short
    /// (readers stop at cancellation), so it is neither kept in the state nor journaled
    /// as done.
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::SeqCst))
    }

    /// Totals for a resume checkpoint.
    fn totals(&self) -> Totals {
        Totals {
            files: self.files,
            bytes: self.bytes,
            tables: self.tables,
            rows: self.rows,
            unchanged: self.unchanged,
            allowlisted: self.triage.as_deref().map_or(0, Triage::allowlisted),
        }
    }

    fn drain(
        &mut self,
        rx: &Receiver<Msg>,
        writer: &mut dyn ReportWriter,
        counters: &Counters,
        tick: &mut dyn FnMut(&Counters),
    ) -> std::io::Result<()> {
        drain(rx, writer, counters, tick, &mut |msg, w| {
            self.handle(msg, w, counters)?;
            if self.memo.as_ref().is_some_and(MemoWriter::due) {
                let totals = self.totals();
                if let Some(m) = &mut self.memo {
                    m.checkpoint(w, &totals)?;
                }
            }
            Ok(())
        })
    }

    fn handle(&mut self, msg: Msg, writer: &mut dyn ReportWriter, counters: &Counters) -> std::io::Result<()> {
        match msg {
            Msg::Skip(mut skip) => {
                // Walker paths arrive as found: a directory may be named after a PAN. Reasons
                // too: archive and mail errors can quote a member name or a value.
                if let Cow::Owned(p) = redact_digits(&skip.path) {
                    skip.path = p;
                }
                if let Cow::Owned(r) = redact_digits(&skip.reason) {
                    skip.reason = r;
                }
                if let Some(m) = &mut self.memo
                    && !m.skip(&skip)
                {
                    // In the interrupted run's report already, and counted from it.
                    return Ok(());
                }
                self.skipped += 1;
                self.incomplete |= skip.kind.incomplete();
                if let Some(t) = self.triage.as_deref_mut() {
                    t.skipped(&skip);
                }
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                writer.skipped(&skip)
            }
            Msg::Member { file_id, path, table, column, decoders, hits, stats } => {
                if table.is_some() && column.is_none() {
                    // A table's closing record: its text had a header line and one line
                    // per row.
                    self.tables += 1;
                    self.rows += stats.newlines.saturating_sub(1);
                }
                if table.is_some()
                    && let Some(m) = &mut self.memo
                {
                    // Table and row counts are not kept in the state: read it again.
                    m.spoil(file_id);
                }
                let cell = Cell { table: table.as_deref(), column: column.as_deref() };
                self.file = Some(file_id);
                self.emit(&path, cell, &decoders, hits, stats, 0, writer, counters)
            }
            Msg::Cached { path, file } => self.replay(&path, &file, writer, counters),
            Msg::Done { path, file_id, index, count, hits, stats, mark, clean, evidence } => {
                self.file = Some(file_id);
                if count == 1 {
                    self.emit(&path, Cell::default(), &[], hits, stats, 0, writer, counters)?;
                    if let Some(ev) = evidence {
                        self.evidence(file_id, &ev, writer)?;
                    }
                    self.files += 1;
                    counters.files.fetch_add(1, Ordering::Relaxed);
                    let whole = !self.cancelled();
                    if let Some(m) = &mut self.memo {
                        m.file_done(file_id, mark.as_ref(), clean, whole);
                    }
                    return Ok(());
                }
                let entry = self.split.entry(file_id).or_default();
                entry.spoiled |= !clean;
                entry.waiting.insert(index, (hits, stats));
                if evidence.is_some() {
                    entry.evidence = evidence;
                }
                while let Some(sf) = self.split.get_mut(&file_id) {
                    let Some((mut hits, stats)) = sf.waiting.remove(&sf.next) else { break };
                    let lines_before = sf.lines_before;
                    sf.lines_before += stats.newlines;
                    sf.next += 1;
                    if sf.cut {
                        // An earlier piece stopped short (the run is being cancelled): its
                        // lines were not all counted, so these would be placed on wrong
                        // lines. The file is not done; a resumed run reads it again.
                        hits.clear();
                    }
                    sf.cut |= stats.interrupted;
                    let finished = sf.next == count;
                    self.emit(&path, Cell::default(), &[], hits, stats, lines_before, writer, counters)?;
                    if finished {
                        let sf = self.split.remove(&file_id);
                        let spoiled = sf.as_ref().is_some_and(|sf| sf.spoiled);
                        if let Some(ev) = sf.and_then(|sf| sf.evidence) {
                            self.evidence(file_id, &ev, writer)?;
                        }
                        self.files += 1;
                        counters.files.fetch_add(1, Ordering::Relaxed);
                        let whole = !self.cancelled();
                        if let Some(m) = &mut self.memo {
                            m.file_done(file_id, mark.as_ref(), !spoiled, whole);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // one call site per message kind; a struct would only rename them
    fn emit(
        &mut self,
        path: &Arc<str>,
        cell: Cell<'_>,
        decoders: &[&'static str],
        hits: Vec<Hit>,
        stats: PieceStats,
        lines_before: u64,
        writer: &mut dyn ReportWriter,
        counters: &Counters,
    ) -> std::io::Result<()> {
        self.bytes += stats.bytes;
        counters.bytes.fetch_add(stats.bytes, Ordering::Relaxed);
        if stats.embedded_truncated {
            if let (Some(m), Some(id)) = (&mut self.memo, self.file) {
                m.spoil(id);
            }
            self.handle(
                Msg::Skip(Skip {
                    path: path.to_string(),
                    reason: "limit embedded-decode: more base64 or other embedded encoding than the decoding budget \
                             (twice the text) in one chunk; the rest was scanned as plain text"
                        .into(),
                    kind: SkipKind::Limit,
                }),
                writer,
                counters,
            )?;
        }
        let encoding = stats.encoding_name();
        for hit in hits {
            let f = hit.finding;
            if f.confidence < self.min_confidence {
                continue;
            }
            let rec = FindingRecord {
                finding: f,
                path: path.to_string(),
                table: cell.table.map(str::to_owned),
                column: cell.column.map(str::to_owned),
                line: lines_before + hit.line_in_piece + 1,
                byte_offset: hit.byte_offset,
                decoders: decoders
                    .iter()
                    .copied()
                    .chain(hit.decoders.iter().copied())
                    .chain(hit.folded.then_some("fullwidth"))
                    .map(str::to_owned)
                    .collect(),
                encoding: encoding.into(),
                engine: None,
                row_key: hit.row_key.map(redact_key),
            };
            self.report(&rec, writer, counters)?;
        }
        Ok(())
    }

    /// A file's evidence record, written when a finding of it was (the worker judged by
    /// `--min-confidence` only; the allowlist or baseline may have left them all out).
    fn evidence(&mut self, file_id: u64, ev: &Evidence, writer: &mut dyn ReportWriter) -> std::io::Result<()> {
        if self.written.remove(&file_id) { writer.evidence(ev) } else { Ok(()) }
    }

    /// Counts and writes one finding of the current file.
    fn report(
        &mut self,
        rec: &FindingRecord,
        writer: &mut dyn ReportWriter,
        counters: &Counters,
    ) -> std::io::Result<()> {
        // Kept for the next state as scanned (before any triage); left out when the
        // interrupted run's report already holds it (counted from there).
        let hash = self.memo.as_mut().and_then(|m| m.finding(self.file, rec));
        // Allowlisted or in the baseline: not reported (counted by the triage).
        if let Some(t) = self.triage.as_deref_mut()
            && t.judge(rec) != Verdict::Report
        {
            return Ok(());
        }
        // Written now or by the interrupted run this one continues: its file gets evidence.
        if self.forensic
            && let Some(id) = self.file
        {
            self.written.insert(id);
        }
        if let Some(m) = &mut self.memo
            && !m.fresh(hash)
        {
            return Ok(());
        }
        let f = &rec.finding;
        self.counts.add(f.class, f.confidence);
        if f.class.is_cardholder_data() {
            self.worst = self.worst.max(Some(f.confidence));
            if let Some(fp) = f.fingerprint {
                self.distinct.insert(fp);
            }
        }
        counters.findings.fetch_add(1, Ordering::Relaxed);
        writer.finding(rec)
    }

    /// An unchanged file: its findings as the previous state holds them.
    fn replay(
        &mut self,
        path: &str,
        file: &CachedFile,
        writer: &mut dyn ReportWriter,
        counters: &Counters,
    ) -> std::io::Result<()> {
        let Some(m) = &mut self.memo else { return Ok(()) };
        let lines = match m.cached(file) {
            Ok(l) => l,
            Err(e) => {
                let skip = Skip::io(path, "cannot read its findings from the state file", &e);
                return self.handle(Msg::Skip(skip), writer, counters);
            }
        };
        self.file = None;
        // The state file is checked like any report read back (masked views only), all of
        // a file's records before any is reported.
        let mut records = Vec::new();
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match crate::report::read::Record::parse(line) {
                Ok(crate::report::read::Record::Finding(rec)) => records.push(rec),
                Ok(_) => {}
                Err(e) => {
                    // Not kept in the next state: the next run reads the file again.
                    let skip = Skip {
                        path: path.to_owned(),
                        reason: format!(
                            "its findings in the state file are damaged ({e}): not reported; the next run reads it"
                        ),
                        kind: SkipKind::Error,
                    };
                    return self.handle(Msg::Skip(skip), writer, counters);
                }
            }
        }
        m.keep_cached(file, &lines);
        let min = self.min_confidence;
        for rec in records.iter().filter(|r| r.finding.confidence >= min) {
            self.report(rec, writer, counters)?;
        }
        self.files += 1;
        self.unchanged += 1;
        counters.files.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The writer's loop: hands each message to `handle`, ticks the progress display ten
/// times a second and flushes the report at least once a second, until every sender is
/// gone.
fn drain<M>(
    rx: &Receiver<M>,
    writer: &mut dyn ReportWriter,
    counters: &Counters,
    tick: &mut dyn FnMut(&Counters),
    handle: &mut dyn FnMut(M, &mut dyn ReportWriter) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut last_flush = Instant::now();
    let mut last_tick = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(msg) => handle(msg, writer)?,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if last_tick.elapsed() >= Duration::from_millis(100) {
            tick(counters);
            last_tick = Instant::now();
        }
        if last_flush.elapsed() >= Duration::from_secs(1) {
            writer.flush()?;
            last_flush = Instant::now();
        }
    }
    tick(counters);
    writer.flush()
}

/// A row key as it may be reported: key values can be card numbers (a table keyed by
/// PAN), so they are masked like paths.
fn redact_key(key: RowKey) -> RowKey {
    key.into_iter()
        .map(|(k, v)| {
            let k = match redact_digits(&k) {
                Cow::Owned(o) => Arc::from(o),
                Cow::Borrowed(_) => k,
            };
            (k, redact_digits(&v).into_owned())
        })
        .collect()
}

/// Whether any reported class is cardholder data at or above `fail_on`.
pub fn fails(outcome: &Outcome, fail_on: Confidence) -> bool {
    outcome.worst.is_some_and(|w| w >= fail_on)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::detectors::DetectorSet;
    use crate::report::jsonl::Jsonl;
    use crate::scan::ScannerBuilder;

    fn scanner() -> Scanner {
        ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).current_year(2026).build()
    }

    /// A Luhn-valid 16-digit number starting with `4532` (made at test time, never printed).
    fn pan(seed: u64) -> String {
        let mut d: Vec<u32> = vec![4, 5, 3, 2];
        let mut x = seed;
        while d.len() < 15 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            d.push(((x >> 33) % 10) as u32);
        }
        let sum: u32 = d
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &v)| if i % 2 == 0 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v })
            .sum();
        d.push((10 - sum % 10) % 10);
        d.iter().map(|v| char::from_digit(*v, 10).unwrap()).collect()
    }

    fn run_info() -> RunInfo {
        RunInfo { tool: "pansweep".into(), version: "test".into(), ..RunInfo::default() }
    }

    fn run(job: &ScanJob) -> (Outcome, Vec<serde_json::Value>) {
        let mut out = Vec::new();
        let outcome = {
            let mut w = Jsonl::new(&mut out);
            run_scan(
                job,
                &scanner(),
                &mut w,
                &run_info(),
                &AtomicBool::new(false),
                &Counters::default(),
                &mut |_| {},
                None,
            )
            .unwrap()
        };
        let recs = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (outcome, recs)
    }

    /// The worker's path for a file that was listed by the walker and then deleted
    /// before it could be opened: a `vanished` skip, which does not make the run
    /// incomplete (nothing is left to scan).
    #[test]
    fn file_deleted_after_listing_is_a_vanished_skip() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("gone.txt");
        std::fs::write(&path, "x").unwrap();
        std::fs::remove_file(&path).unwrap();
        let job = ScanJob::new(vec![d.path().to_owned()]);
        let scanner = scanner();
        let (results, results_rx) = bounded(4);
        let (pieces_tx, _pieces_rx) = unbounded();
        let (cancel, pending, ids) = (AtomicBool::new(false), AtomicUsize::new(0), AtomicU64::new(0));
        let lost = AtomicU64::new(0);
        let ctx = Ctx {
            job: &job,
            scanner: &scanner,
            cancel: &cancel,
            results,
            pieces_tx,
            pending_work: &pending,
            next_file_id: &ids,
            owners: None,
            atime_lost: &lost,
        };
        let Some(Msg::Skip(skip)) = scan_file(&ctx, &mut Reader::new(), &path, None) else {
            panic!("expected a skip for a deleted file")
        };
        assert_eq!(skip.kind, SkipKind::Vanished);
        assert!(skip.reason.contains("vanished"), "{}", skip.reason);

        // Through the writer: counted and reported, but coverage stays complete.
        let mut state = WriterState::new(Confidence::Low, None);
        let mut out = Vec::new();
        let mut w = Jsonl::new(&mut out);
        state.handle(Msg::Skip(skip), &mut w, &Counters::default()).unwrap();
        assert_eq!(state.skipped, 1);
        assert!(!state.incomplete);
        let error = Skip { path: "x".into(), reason: "cannot read: input/output error".into(), kind: SkipKind::Error };
        state.handle(Msg::Skip(error), &mut w, &Counters::default()).unwrap();
        assert!(state.incomplete);
        drop(w);
        assert!(results_rx.is_empty());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"vanished\""), "{text}");
    }

    /// Pieces of one file arrive at the writer in any order; line numbers come out the
    /// same as a one-thread scan, and the file is counted once.
    #[test]
    fn split_file_matches_a_one_thread_scan() {
        let d = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..40_000u64 {
            if i % 997 == 13 {
                let _ = writeln!(text, "line {i} card {}", pan(i));
            } else {
                let _ = writeln!(text, "line {i} GET /index.html 200 {}", i * 7);
            }
        }
        std::fs::write(d.path().join("big.log"), &text).unwrap();
        let mut one = ScanJob::new(vec![d.path().to_owned()]);
        one.threads = 1;
        let mut split = ScanJob::new(vec![d.path().to_owned()]);
        split.threads = 2;
        split.split_threshold = 4096;
        split.piece_size = 10_000;
        let key = |recs: &[serde_json::Value]| -> Vec<(u64, u64)> {
            recs.iter()
                .filter(|r| r["type"] == "finding")
                .map(|r| (r["line"].as_u64().unwrap(), r["byte_offset"].as_u64().unwrap()))
                .collect()
        };
        let (o1, r1) = run(&one);
        let (o2, r2) = run(&split);
        assert_eq!(key(&r1).len(), 41);
        assert_eq!(key(&r1), key(&r2));
        assert_eq!(o1.summary.files, 1);
        assert_eq!(o2.summary.files, 1);
        assert_eq!(o1.summary.bytes, o2.summary.bytes);
        assert_eq!(o2.summary.bytes, text.len() as u64);
        assert!(o2.summary.complete && !o2.incomplete);
    }

    /// A split file written faster than it is read: its last piece stops at the growth
    /// cap and a `limit` skip says so (the whole-file path is tested in `tests/it/faults.rs`).
    #[test]
    fn split_file_written_faster_than_read_stops_at_its_growth_cap() {
        use std::io::Write as _;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("busy.log");
        let line = "2024-10-22 11:11:30 GET /item 200 ok\n";
        let text = line.repeat(100_000);
        std::fs::write(&path, &text).unwrap();
        let size = text.len() as u64;
        let mut job = ScanJob::new(vec![d.path().to_owned()]);
        job.threads = 2;
        job.split_threshold = 4096;
        job.piece_size = 1 << 20;
        job.throttle = Some(Arc::new(crate::source::throttle::Throttle::new(8 << 20)));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (path, stop, block) = (path.clone(), stop.clone(), line.repeat(4096));
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
                let start = std::time::Instant::now();
                while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_mins(1) {
                    f.write_all(block.as_bytes()).unwrap();
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        let (o, recs) = run(&job);
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        let skips: Vec<_> = recs.iter().filter(|r| r["type"] == "skipped").collect();
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert_eq!(skips[0]["kind"], "limit");
        // The writer starts before the walk: the size at open is the one the reason gives.
        let reason = skips[0]["reason"].as_str().unwrap();
        let number_after = |word: &str| -> u64 {
            let rest = &reason[reason.find(word).unwrap() + word.len()..];
            rest.split(' ').next().unwrap().parse().unwrap()
        };
        let (opened, read) = (number_after("(from "), number_after("the first "));
        assert!(reason.starts_with("limit growth: "), "{reason}");
        assert!(opened >= size, "{reason}");
        assert_eq!(read, Piece::growth_cap(opened), "{reason}");
        assert_eq!(o.summary.bytes, read);
        assert!(o.incomplete);
    }

    /// A job over `dir` that keeps its state in `state` (key fixed).
    fn state_job(dir: &Path, state: &Path, split: bool) -> ScanJob {
        use crate::state::incremental::Loaded;
        use crate::state::{Keyer, NextState, Previous, Validity};
        let mut job = ScanJob::new(vec![dir.to_owned()]);
        job.threads = 2;
        if split {
            job.split_threshold = 4096;
            job.piece_size = 10_000;
        }
        let v = Validity::new("test", "test", "");
        let previous = match Previous::load(state, &v).unwrap() {
            Loaded::Ready(p) => Some(p),
            _ => None,
        };
        let next = NextState::create(state, &v).unwrap();
        job.memo = Some(Arc::new(Memo {
            keyer: Keyer::new(b"0123456789abcdef"),
            previous,
            next: std::sync::Mutex::new(Some(next)),
            resume: None,
        }));
        job
    }

    /// A file split across workers is kept in the state with the findings of all its
    /// pieces, and an unchanged second run reports the same findings without reading.
    #[test]
    fn split_file_findings_come_back_from_the_state() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        let mut text = String::new();
        for i in 0..20_000u64 {
            if i % 1999 == 5 {
                let _ = writeln!(text, "line {i} card {}", pan(i));
            } else {
                let _ = writeln!(text, "line {i} GET /index.html 200 {}", i * 7);
            }
        }
        std::fs::write(tree.join("big.log"), &text).unwrap();
        std::fs::write(tree.join("small.txt"), format!("card {}\n", pan(7))).unwrap();
        let state = d.path().join("state");
        let key = |recs: &[serde_json::Value]| -> Vec<String> {
            let mut v: Vec<String> = recs
                .iter()
                .filter(|r| r["type"] == "finding")
                .map(|r| format!("{} {} {} {}", r["path"], r["line"], r["byte_offset"], r["fingerprint"]))
                .collect();
            v.sort();
            v
        };
        let (o1, r1) = run(&state_job(&tree, &state, true));
        assert_eq!(key(&r1).len(), 12);
        assert_eq!(o1.summary.unchanged, 0);
        let (o2, r2) = run(&state_job(&tree, &state, true));
        assert_eq!(key(&r1), key(&r2));
        assert_eq!((o2.summary.unchanged, o2.summary.files, o2.summary.bytes), (2, 2, 0));
        assert_eq!(o1.summary.findings.total(), o2.summary.findings.total());
        assert_eq!(o1.worst, o2.worst);
        assert!(o2.warnings.is_empty(), "{:?}", o2.warnings);
    }
}
