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
pub use db::{DbJob, run_db};

use crate::finding::{Confidence, Fingerprint};
use crate::report::{Evidence, FindingRecord, ReportWriter, RunInfo, Summary, redact_digits};
use crate::scan::Scanner;
use crate::source::file::{self, Hit, Piece, PieceStats, Probe, Reader};
use crate::source::forensic::{self, AtimeLog, Owners, Stamp};
use crate::source::item::{self, ItemLimits, ItemScanner, Kind};
use crate::source::walk::{self, Entry, WalkOptions};
use crate::source::{RowKey, Skip, SkipKind};

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
    /// Findings below this tier are not reported.
    pub min_confidence: Confidence,
    /// Limits on taking archives and mail apart.
    pub items: ItemLimits,
    /// Forensic mode (`--forensic`): access times of files, directories and links are
    /// kept (or set back), and each file with reported findings gets an `evidence`
    /// record (stat before and after, owner names, SHA-256 of its content).
    pub forensic: bool,
}

impl ScanJob {
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
            min_confidence: Confidence::Low,
            items: ItemLimits::default(),
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
    File(PathBuf),
    Piece(PieceJob),
}

struct PieceJob {
    path: Arc<str>,
    file: Arc<File>,
    file_id: u64,
    index: usize,
    count: usize,
    piece: Piece,
    probe: Arc<Probe>,
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
        /// Forensic mode: the file's evidence record, carried by one of its pieces (the
        /// writer writes it after the file's last finding).
        evidence: Option<Box<Evidence>>,
    },
    /// A leaf inside an archive or mail: its findings; the file is counted by its `Done`.
    Member {
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
    pending_pieces: &'a AtomicUsize,
    next_file_id: &'a AtomicU64,
    /// Forensic mode: owner names for evidence records (`None`: not forensic).
    owners: Option<&'a Owners>,
    /// Forensic mode: files whose access time moved and could not be set back.
    atime_lost: &'a AtomicU64,
}

/// Runs a file scan to completion (or cancellation), writing through `writer`.
pub fn run_scan(
    job: &ScanJob,
    scanner: &Scanner,
    writer: &mut dyn ReportWriter,
    run: &RunInfo,
    cancel: &AtomicBool,
    counters: &Counters,
    tick: &mut dyn FnMut(&Counters),
) -> Result<Outcome, PipelineError> {
    let started = Instant::now();
    writer.begin(run).map_err(PipelineError::Write)?;
    let threads = job.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("pansweep-scan-{i}"))
        .build()
        .map_err(|e| PipelineError::Threads(e.to_string()))?;
    let (jobs_tx, jobs_rx) = bounded::<Job>(threads * 64);
    let (pieces_tx, pieces_rx) = unbounded::<PieceJob>();
    let (results_tx, results_rx) = bounded::<Msg>(threads * 16);
    let pending_pieces = AtomicUsize::new(0);
    let next_file_id = AtomicU64::new(0);
    let walk_error: std::sync::Mutex<Option<walk::WalkError>> = std::sync::Mutex::new(None);
    // Forensic mode: directories' and links' access times, noted as the walk meets them
    // and set back once every worker is done; owner names for evidence records.
    let atimes = job.forensic.then(|| Arc::new(AtimeLog::new()));
    let owners = job.forensic.then(Owners::load);
    let atime_lost = AtomicU64::new(0);
    let mut walk_opts = job.walk.clone();
    walk_opts.atimes.clone_from(&atimes);

    let mut state = WriterState::new(job.min_confidence);
    let write_result = std::thread::scope(|s| {
        // Walker.
        let walk_results = results_tx.clone();
        let walk_error = &walk_error;
        s.spawn(move || {
            let visit = |e: Entry| match e {
                Entry::File(p) => send_unless_cancelled(&jobs_tx, Job::File(p), cancel),
                Entry::Skipped(sk) => walk_results.send(Msg::Skip(sk)).is_ok(),
            };
            if let Err(e) = walk::walk(&job.roots, &walk_opts, cancel, &visit) {
                *walk_error.lock().expect("walk error lock") = Some(e);
            }
        });
        // Workers. They own the last result sender, so the writer's channel closes when
        // the pool is done.
        let (jobs_rx, pieces_rx) = (&jobs_rx, &pieces_rx);
        let (pool, pending_pieces, next_file_id) = (&pool, &pending_pieces, &next_file_id);
        let (owners, atime_lost) = (owners.as_ref(), &atime_lost);
        s.spawn(move || {
            let ctx = Ctx {
                job,
                scanner,
                cancel,
                results: results_tx,
                pieces_tx,
                pending_pieces,
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
    let summary = Summary {
        complete: !interrupted,
        files: state.files,
        bytes: state.bytes,
        tables: state.tables,
        rows: state.rows,
        skipped: state.skipped,
        findings: state.counts,
        distinct_pans: Some(state.distinct.len() as u64),
        elapsed_s: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        sampled: false,
    };
    if !broken_pipe {
        writer.finish(&summary).map_err(PipelineError::Write)?;
    }
    Ok(Outcome { summary, worst: state.worst, incomplete: state.incomplete, broken_pipe, atime_lost })
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
    let mut reader = Reader::new();
    loop {
        if ctx.cancel.load(Ordering::Relaxed) {
            // Drop queued work; the walker stops on its own.
            while jobs.try_recv().is_ok() {}
            while pieces.try_recv().is_ok() {
                ctx.pending_pieces.fetch_sub(1, Ordering::Relaxed);
            }
            if jobs.is_empty() && ctx.pending_pieces.load(Ordering::Relaxed) == 0 {
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
                    if ctx.pending_pieces.load(Ordering::Acquire) == 0 {
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
            Job::File(path) => panic::catch_unwind(AssertUnwindSafe(|| scan_file(ctx, &mut reader, &path)))
                .unwrap_or_else(|_| {
                    reader = Reader::new();
                    Some(Msg::Skip(internal_error(&path.display().to_string())))
                }),
            Job::Piece(p) => {
                let m = panic::catch_unwind(AssertUnwindSafe(|| scan_one_piece(ctx, &mut reader, &p))).unwrap_or_else(
                    |_| {
                        reader = Reader::new();
                        let _ = ctx.results.send(Msg::Skip(internal_error(&p.path)));
                        empty_piece(&p)
                    },
                );
                let m = piece_done(ctx, &p, m);
                ctx.pending_pieces.fetch_sub(1, Ordering::Release);
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

fn scan_file(ctx: &Ctx<'_>, reader: &mut Reader, path: &Path) -> Option<Msg> {
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
    if ctx.job.output_file == Some((meta.dev(), meta.ino())) {
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
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let kind = Kind::of(&head, &name);
    if kind != Kind::Plain {
        let mut file = file;
        let reported = scan_item(ctx, reader, &shown, path, &mut file, kind);
        let evidence = before.and_then(|b| forensic_done(ctx, &file, &b, &shown, reported, None));
        return Some(Msg::Done {
            path: shown,
            file_id,
            index: 0,
            count: 1,
            hits: Vec::new(),
            stats: PieceStats::default(),
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
            Ok(stats) => Some(Msg::Done { path: shown, file_id, index: 0, count: 1, hits, stats, evidence }),
            Err(e) => Some(Msg::Skip(Skip::io(&*shown, "cannot read", &e))),
        };
    }
    if ctx.job.threads > 1 && meta.len() > ctx.job.split_threshold {
        let file = Arc::new(file);
        // The head read above is the file's first 8 KiB: probe it, no second read.
        let probe = Arc::new(Probe::of(&head, ctx.scanner));
        let pieces = Piece::split(meta.len(), ctx.job.piece_size);
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
                probe: probe.clone(),
                track: track.clone(),
            };
            if index == 0 {
                first = Some(pj);
            } else {
                ctx.pending_pieces.fetch_add(1, Ordering::Release);
                if ctx.pieces_tx.send(pj).is_err() {
                    ctx.pending_pieces.fetch_sub(1, Ordering::Release);
                }
            }
        }
        return first.map(|p| {
            let m = scan_one_piece(ctx, reader, &p);
            piece_done(ctx, &p, m)
        });
    }
    let mut hits = Vec::new();
    let scanned = reader.scan_piece(&file, Piece::WHOLE, None, ctx.scanner, ctx.cancel, &mut |h| hits.push(h));
    let reported = scanned.is_ok() && reportable(ctx, &hits);
    let evidence = before.and_then(|b| forensic_done(ctx, &file, &b, &shown, reported, None));
    match scanned {
        Ok(stats) => Some(Msg::Done { path: shown, file_id, index: 0, count: 1, hits, stats, evidence }),
        Err(e) => Some(Msg::Skip(Skip::io(&*shown, "cannot read", &e))),
    }
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
/// large archive never holds its results in memory. Returns whether any leaf had findings
/// that will be reported.
fn scan_item(ctx: &Ctx<'_>, reader: &mut Reader, shown: &str, path: &Path, file: &mut File, kind: Kind) -> bool {
    let results = &ctx.results;
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
                path,
                table,
                column,
                decoders: leaf.decoders,
                hits: leaf.hits,
                stats: leaf.stats,
            });
        },
        skip: &mut |skip| {
            let _ = results.send(Msg::Skip(skip));
        },
    };
    items.file(shown, path, file, kind);
    reported
}

/// A piece that yielded nothing (its read failed or its scan panicked, reported apart):
/// the writer still needs it so that later pieces of the file are not held back.
fn empty_piece(p: &PieceJob) -> Msg {
    Msg::Done {
        path: p.path.clone(),
        file_id: p.file_id,
        index: p.index,
        count: p.count,
        hits: Vec::new(),
        stats: PieceStats::default(),
        evidence: None,
    }
}

fn scan_one_piece(ctx: &Ctx<'_>, reader: &mut Reader, p: &PieceJob) -> Msg {
    let mut hits = Vec::new();
    match reader.scan_piece(&p.file, p.piece, Some(&p.probe), ctx.scanner, ctx.cancel, &mut |h| hits.push(h)) {
        Ok(stats) => Msg::Done {
            path: p.path.clone(),
            file_id: p.file_id,
            index: p.index,
            count: p.count,
            hits,
            stats,
            evidence: None,
        },
        Err(e) => {
            // A read error in one piece: report it, and give the writer an empty piece
            // so later pieces of the same file are not held back.
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
            empty_piece(p)
        }
    }
}

/// Reassembles split files in order and keeps the run's totals.
struct WriterState {
    min_confidence: Confidence,
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
    /// Forensic mode: the file's evidence record, written after its last piece.
    evidence: Option<Box<Evidence>>,
}

impl WriterState {
    fn new(min_confidence: Confidence) -> WriterState {
        WriterState {
            min_confidence,
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
        }
    }

    fn drain(
        &mut self,
        rx: &Receiver<Msg>,
        writer: &mut dyn ReportWriter,
        counters: &Counters,
        tick: &mut dyn FnMut(&Counters),
    ) -> std::io::Result<()> {
        drain(rx, writer, counters, tick, &mut |msg, w| self.handle(msg, w, counters))
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
                self.skipped += 1;
                self.incomplete |= skip.kind.incomplete();
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                writer.skipped(&skip)
            }
            Msg::Member { path, table, column, decoders, hits, stats } => {
                if table.is_some() && column.is_none() {
                    // A table's closing record: its text had a header line and one line
                    // per row.
                    self.tables += 1;
                    self.rows += stats.newlines.saturating_sub(1);
                }
                let cell = Cell { table: table.as_deref(), column: column.as_deref() };
                self.emit(&path, cell, &decoders, hits, stats, 0, writer, counters)
            }
            Msg::Done { path, file_id, index, count, hits, stats, evidence } => {
                if count == 1 {
                    self.emit(&path, Cell::default(), &[], hits, stats, 0, writer, counters)?;
                    if let Some(ev) = evidence {
                        writer.evidence(&ev)?;
                    }
                    self.files += 1;
                    counters.files.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                let entry = self.split.entry(file_id).or_default();
                entry.waiting.insert(index, (hits, stats));
                if evidence.is_some() {
                    entry.evidence = evidence;
                }
                while let Some(sf) = self.split.get_mut(&file_id) {
                    let Some((hits, stats)) = sf.waiting.remove(&sf.next) else { break };
                    let lines_before = sf.lines_before;
                    sf.lines_before += stats.newlines;
                    sf.next += 1;
                    let finished = sf.next == count;
                    self.emit(&path, Cell::default(), &[], hits, stats, lines_before, writer, counters)?;
                    if finished {
                        if let Some(ev) = self.split.remove(&file_id).and_then(|sf| sf.evidence) {
                            writer.evidence(&ev)?;
                        }
                        self.files += 1;
                        counters.files.fetch_add(1, Ordering::Relaxed);
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
            self.counts.add(f.class, f.confidence);
            if f.class.is_cardholder_data() {
                self.worst = self.worst.max(Some(f.confidence));
                if let Some(fp) = f.fingerprint {
                    self.distinct.insert(fp);
                }
            }
            counters.findings.fetch_add(1, Ordering::Relaxed);
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
            writer.finding(&rec)?;
        }
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
        RunInfo {
            tool: "pansweep".into(),
            version: "test".into(),
            ruleset: String::new(),
            started: String::new(),
            host: String::new(),
            argv: Vec::new(),
            fingerprint_key_id: String::new(),
            sources: Vec::new(),
        }
    }

    fn run(job: &ScanJob) -> (Outcome, Vec<serde_json::Value>) {
        let mut out = Vec::new();
        let outcome = {
            let mut w = Jsonl::new(&mut out);
            run_scan(job, &scanner(), &mut w, &run_info(), &AtomicBool::new(false), &Counters::default(), &mut |_| {})
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
            pending_pieces: &pending,
            next_file_id: &ids,
            owners: None,
            atime_lost: &lost,
        };
        let Some(Msg::Skip(skip)) = scan_file(&ctx, &mut Reader::new(), &path) else {
            panic!("expected a skip for a deleted file")
        };
        assert_eq!(skip.kind, SkipKind::Vanished);
        assert!(skip.reason.contains("vanished"), "{}", skip.reason);

        // Through the writer: counted and reported, but coverage stays complete.
        let mut state = WriterState::new(Confidence::Low);
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
}
