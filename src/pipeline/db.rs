//! `pansweep db`: databases read by a few connections at once.
//!
//! ```text
//! planner thread (connect, list tables, cut big ones into key ranges)
//!     ──bounded parts──▶ N workers (one connection each per database, --db-connections)
//!                           ──bounded results──▶ writer (calling thread)
//! ```
//!
//! The writer keeps, per table, the findings by column (tiers, distinct PANs, up to five
//! example row keys) and writes the table's summary when its last part is in. A part
//! that fails (permission denied, connection lost, statement timeout) makes its table a
//! `skipped` record with the reason; a worker whose connection broke makes a new one for
//! its next part, and the other tables are read as usual.

use std::collections::{HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::{Counters, Outcome, PipelineError, redact_key};
use crate::detectors::DetectorSet;
use crate::finding::{Confidence, Fingerprint};
use crate::report::{
    ColumnSummary, Counts, FindingRecord, ReportWriter, RunInfo, Summary, TableSummary, redact_digits,
};
use crate::scan::Scanner;
use crate::source::db::render::{CellHits, Render, Stop};
use crate::source::db::{Conn, DbOptions, DbUrl, Filter, Part, PartResult, Table};
use crate::source::file::{Hit, Reader};
use crate::source::item::LEAF_BATCH;
use crate::source::{RowKey, Skip, SkipKind};
use crate::triage::{Triage, Verdict};

/// What to read and how.
#[derive(Clone, Debug)]
pub struct DbJob {
    /// Databases, in order.
    pub urls: Vec<Arc<DbUrl>>,
    /// Which tables.
    pub filter: Filter,
    /// Timeouts, sampling, splitting.
    pub options: DbOptions,
    /// Connections per database (`--db-connections`).
    pub connections: usize,
    /// Findings below this tier are not reported.
    pub min_confidence: Confidence,
}

/// Example row keys kept per column.
const EXAMPLES: usize = 5;

struct TableMeta {
    id: usize,
    url: Arc<DbUrl>,
    table: Arc<Table>,
    parts: usize,
}

struct Work {
    meta: Arc<TableMeta>,
    url_index: usize,
    part: Part,
}

enum Msg {
    /// A table about to be read, in `parts` parts (0: nothing to read in it).
    Table(Arc<TableMeta>),
    Cells {
        id: usize,
        cells: CellHits,
    },
    PartDone {
        id: usize,
        result: PartResult,
    },
    Skip(Skip),
}

/// Reads every database of `job`, writing through `writer`. `triage` as for
/// [`super::run_scan`]; judged findings are left out of the table summaries too.
#[allow(clippy::too_many_arguments)] // the run's parts, each from a different owner
pub fn run_db(
    job: &DbJob,
    scanner: &Scanner,
    writer: &mut dyn ReportWriter,
    run: &RunInfo,
    cancel: &AtomicBool,
    counters: &Counters,
    tick: &mut dyn FnMut(&Counters),
    triage: Option<&mut Triage>,
) -> Result<Outcome, PipelineError> {
    let started = Instant::now();
    writer.begin(run).map_err(PipelineError::Write)?;
    let workers = job.connections.max(1);
    let (work_tx, work_rx) = bounded::<Work>(workers * 2);
    let (results_tx, results_rx) = bounded::<Msg>(workers * 16);
    let det = scanner.detectors();
    let mut state = DbState::new(job.min_confidence, job.options.sample.is_some(), triage);
    let write_result = std::thread::scope(|s| {
        let planner_tx = results_tx.clone();
        s.spawn(move || {
            // A bug while planning must not end the run: what was queued is read, the
            // rest is reported.
            if panic::catch_unwind(AssertUnwindSafe(|| plan(job, det, &work_tx, &planner_tx, cancel))).is_err() {
                let _ = planner_tx.send(Msg::Skip(Skip {
                    path: "pansweep db".into(),
                    reason: "internal error: listing or planning tables stopped early (a bug; please report it)".into(),
                    kind: SkipKind::Error,
                }));
            }
        });
        for i in 0..workers {
            let (rx, tx) = (work_rx.clone(), results_tx.clone());
            std::thread::Builder::new()
                .name(format!("pansweep-db-{i}"))
                .spawn_scoped(s, move || worker(job, scanner, &rx, &tx, cancel))
                .map_err(|e| PipelineError::Threads(e.to_string()))?;
        }
        drop(results_tx);
        drop(work_rx);
        let r = state.drain(&results_rx, writer, counters, tick);
        if r.is_err() {
            cancel.store(true, Ordering::Relaxed);
            for _ in &results_rx {}
        }
        Ok::<_, PipelineError>(r)
    })?;
    let broken_pipe = matches!(&write_result, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe);
    if let Err(e) = write_result
        && !broken_pipe
    {
        return Err(PipelineError::Write(e));
    }
    let interrupted = cancel.load(Ordering::Relaxed);
    let sampled = job.options.sample.is_some();
    let summary = Summary {
        complete: !interrupted && !sampled,
        files: 0,
        bytes: state.bytes,
        tables: state.tables_done,
        rows: state.rows,
        skipped: state.skipped,
        findings: state.counts,
        distinct_pans: Some(state.distinct.len() as u64),
        elapsed_s: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        sampled,
        unchanged: 0,
        allowlisted: 0,
        baseline: None,
    };
    // `complete` is false for a sampled run too: it did not read every row, so nothing is
    // listed as resolved.
    let summary = super::finish(writer, state.triage, summary, broken_pipe)?;
    Ok(Outcome {
        summary,
        worst: state.worst,
        incomplete: state.incomplete || sampled,
        broken_pipe,
        warnings: Vec::new(),
        atime_lost: 0,
    })
}

/// Connects to each database in turn, lists its tables and queues their parts.
fn plan(job: &DbJob, det: &DetectorSet, work: &Sender<Work>, results: &Sender<Msg>, cancel: &AtomicBool) {
    let mut next_id = 0;
    for (url_index, url) in job.urls.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        let skip = |reason: String| Skip { path: url.shown().to_owned(), reason, kind: SkipKind::Error };
        let mut conn = match Conn::connect(url.clone(), &job.options) {
            Ok(c) => c,
            Err(e) => {
                let _ = results.send(Msg::Skip(skip(e.to_string())));
                continue;
            }
        };
        let tables = match conn.discover(&job.filter, det) {
            Ok(t) => t,
            Err(e) => {
                let _ = results.send(Msg::Skip(skip(e.to_string())));
                continue;
            }
        };
        if tables.is_empty() {
            let reason = "no table in scope: check --schema, --table and the user's grants".to_owned();
            let _ = results.send(Msg::Skip(skip(reason)));
        }
        // Plan every table first, then close this connection before the workers open
        // theirs: a database never sees more than --db-connections sessions of the run.
        let mut planned = Vec::with_capacity(tables.len());
        for table in tables {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            if table.denied_columns > 0 && !table.denied {
                let _ = results.send(Msg::Skip(Skip {
                    path: format!("{}!{}", url.shown(), table.qualified),
                    reason: format!(
                        "permission denied on {} column(s) that can hold card data; the other columns were read",
                        table.denied_columns
                    ),
                    kind: SkipKind::Error,
                }));
            }
            let table = Arc::new(table);
            let id = next_id;
            next_id += 1;
            if table.denied {
                let _ = results.send(Msg::Skip(Skip {
                    path: format!("{}!{}", url.shown(), table.qualified),
                    reason: "permission denied: no column of this table may be read".into(),
                    kind: SkipKind::Error,
                }));
                continue;
            }
            let parts = if table.columns.is_empty() { Vec::new() } else { conn.plan(&table, job.connections) };
            planned.push((id, table, parts));
        }
        drop(conn);
        for (id, table, parts) in planned {
            let meta = Arc::new(TableMeta { id, url: url.clone(), table, parts: parts.len() });
            if results.send(Msg::Table(meta.clone())).is_err() {
                return;
            }
            for part in parts {
                if work.send(Work { meta: meta.clone(), url_index, part }).is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads parts with one connection per database, made on first use and again after it
/// broke.
fn worker(job: &DbJob, scanner: &Scanner, work: &Receiver<Work>, results: &Sender<Msg>, cancel: &AtomicBool) {
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let (mut reader, mut blob_reader) = (Reader::new(), Reader::new());
    for w in work {
        let id = w.meta.id;
        // Databases are planned in order: no more work will come for earlier ones.
        conns.retain(|&u, _| u >= w.url_index);
        if cancel.load(Ordering::Relaxed) {
            let stop = Some(Stop::Cancelled);
            let _ = results.send(Msg::PartDone { id, result: PartResult { rows: 0, bytes: 0, stop, broken: false } });
            continue;
        }
        let conn = match conns.entry(w.url_index) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => match Conn::connect(w.meta.url.clone(), &job.options) {
                Ok(c) => v.insert(c),
                Err(e) => {
                    let stop = Some(Stop::Failed(e.to_string()));
                    let result = PartResult { rows: 0, bytes: 0, stop, broken: true };
                    let _ = results.send(Msg::PartDone { id, result });
                    continue;
                }
            },
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut emit = |cells: CellHits| {
                let _ = results.send(Msg::Cells { id, cells });
            };
            let mut render = Render {
                reader: &mut reader,
                blob_reader: &mut blob_reader,
                scanner,
                cancel,
                deadline: None,
                emit: &mut emit,
                batch: LEAF_BATCH,
            };
            conn.scan_part(&w.part, scanner.detectors(), &mut render)
        }))
        .unwrap_or_else(|_| {
            reader = Reader::new();
            blob_reader = Reader::new();
            let stop = Some(Stop::Failed("internal error: the scan of this table stopped early (a bug)".into()));
            PartResult { rows: 0, bytes: 0, stop, broken: true }
        });
        if result.broken
            && let Some(c) = conns.remove(&w.url_index)
        {
            c.abandon();
        }
        if results.send(Msg::PartDone { id, result }).is_err() {
            return;
        }
    }
}

#[derive(Default)]
struct ColumnAcc {
    counts: Counts,
    distinct: HashSet<Fingerprint>,
    examples: Vec<RowKey>,
}

struct TableAcc {
    meta: Arc<TableMeta>,
    parts_left: usize,
    rows: u64,
    bytes: u64,
    failed: Option<Stop>,
    counts: Counts,
    distinct: HashSet<Fingerprint>,
    columns: Vec<(String, ColumnAcc)>,
}

struct DbState<'t> {
    min_confidence: Confidence,
    /// Allowlist and baseline: asked about each finding before it is counted.
    triage: Option<&'t mut Triage>,
    /// Only `--sample` rows of each table are read.
    sampled: bool,
    bytes: u64,
    rows: u64,
    tables_done: u64,
    skipped: u64,
    counts: Counts,
    distinct: HashSet<Fingerprint>,
    worst: Option<Confidence>,
    incomplete: bool,
    tables: HashMap<usize, TableAcc>,
}

impl<'t> DbState<'t> {
    fn new(min_confidence: Confidence, sampled: bool, triage: Option<&'t mut Triage>) -> DbState<'t> {
        DbState {
            min_confidence,
            triage,
            sampled,
            bytes: 0,
            rows: 0,
            tables_done: 0,
            skipped: 0,
            counts: Counts::default(),
            distinct: HashSet::new(),
            worst: None,
            incomplete: false,
            tables: HashMap::new(),
        }
    }

    fn drain(
        &mut self,
        rx: &Receiver<Msg>,
        writer: &mut dyn ReportWriter,
        counters: &Counters,
        tick: &mut dyn FnMut(&Counters),
    ) -> std::io::Result<()> {
        super::drain(rx, writer, counters, tick, &mut |msg, w| self.handle(msg, w, counters))
    }

    fn skip(&mut self, mut skip: Skip, writer: &mut dyn ReportWriter, counters: &Counters) -> std::io::Result<()> {
        skip.path = redact_digits(&skip.path).into_owned();
        skip.reason = redact_digits(&skip.reason).into_owned();
        self.skipped += 1;
        self.incomplete |= skip.kind.incomplete();
        if let Some(t) = self.triage.as_deref_mut() {
            t.skipped(&skip);
        }
        counters.skipped.fetch_add(1, Ordering::Relaxed);
        writer.skipped(&skip)
    }

    fn handle(&mut self, msg: Msg, writer: &mut dyn ReportWriter, counters: &Counters) -> std::io::Result<()> {
        match msg {
            Msg::Skip(skip) => self.skip(skip, writer, counters),
            Msg::Table(meta) => {
                let acc = TableAcc {
                    parts_left: meta.parts,
                    meta: meta.clone(),
                    rows: 0,
                    bytes: 0,
                    failed: None,
                    counts: Counts::default(),
                    distinct: HashSet::new(),
                    columns: Vec::new(),
                };
                self.tables.insert(meta.id, acc);
                if meta.parts == 0 {
                    return self.finish_table(meta.id, writer, counters);
                }
                Ok(())
            }
            Msg::Cells { id, cells } => self.cells(id, cells, writer, counters),
            Msg::PartDone { id, result } => {
                let Some(acc) = self.tables.get_mut(&id) else { return Ok(()) };
                acc.rows += result.rows;
                acc.bytes += result.bytes;
                self.rows += result.rows;
                self.bytes += result.bytes;
                counters.bytes.fetch_add(result.bytes, Ordering::Relaxed);
                if acc.failed.is_none() {
                    acc.failed = result.stop;
                }
                acc.parts_left = acc.parts_left.saturating_sub(1);
                if acc.parts_left == 0 {
                    return self.finish_table(id, writer, counters);
                }
                Ok(())
            }
        }
    }

    fn cells(
        &mut self,
        id: usize,
        cells: CellHits,
        writer: &mut dyn ReportWriter,
        counters: &Counters,
    ) -> std::io::Result<()> {
        let Some(acc) = self.tables.get_mut(&id) else { return Ok(()) };
        let Some(column) = cells.column else { return Ok(()) };
        let column = redact_digits(&column).into_owned();
        let encoding = cells.stats.encoding_name();
        let meta = acc.meta.clone();
        let table = redact_digits(&meta.table.qualified).into_owned();
        for hit in cells.hits {
            let Hit { finding: f, byte_offset, line_in_piece, folded, decoders, row_key } = hit;
            if f.confidence < self.min_confidence {
                continue;
            }
            // A table without a key: the row's number in the scan (never split, so it is
            // the row's place in the whole read).
            let row_key =
                row_key.map(redact_key).or_else(|| Some(vec![(Arc::from("row"), (line_in_piece + 1).to_string())]));
            let chain = if cells.blob { vec!["blob".to_owned()] } else { Vec::new() };
            let rec = FindingRecord {
                finding: f,
                path: meta.url.shown().to_owned(),
                table: Some(table.clone()),
                column: Some(column.clone()),
                line: line_in_piece + 1,
                byte_offset,
                decoders: chain
                    .into_iter()
                    .chain(decoders.iter().map(|d| (*d).to_owned()))
                    .chain(folded.then(|| "fullwidth".to_owned()))
                    .collect(),
                encoding: encoding.into(),
                engine: Some(meta.url.engine().name().into()),
                row_key,
            };
            if let Some(t) = self.triage.as_deref_mut()
                && t.judge(&rec) != Verdict::Report
            {
                continue;
            }
            let f = &rec.finding;
            self.counts.add(f.class, f.confidence);
            acc.counts.add(f.class, f.confidence);
            if !acc.columns.iter().any(|c| c.0 == column) {
                acc.columns.push((column.clone(), ColumnAcc::default()));
            }
            let col = &mut acc.columns.iter_mut().find(|c| c.0 == column).expect("just made").1;
            col.counts.add(f.class, f.confidence);
            if f.class.is_cardholder_data() {
                self.worst = self.worst.max(Some(f.confidence));
                if let Some(fp) = f.fingerprint {
                    self.distinct.insert(fp);
                    acc.distinct.insert(fp);
                    col.distinct.insert(fp);
                }
            }
            if let Some(k) = &rec.row_key
                && col.examples.len() < EXAMPLES
                && !col.examples.contains(k)
            {
                col.examples.push(k.clone());
            }
            counters.findings.fetch_add(1, Ordering::Relaxed);
            writer.finding(&rec)?;
        }
        Ok(())
    }

    fn finish_table(&mut self, id: usize, writer: &mut dyn ReportWriter, counters: &Counters) -> std::io::Result<()> {
        let Some(acc) = self.tables.remove(&id) else { return Ok(()) };
        let meta = &acc.meta;
        self.tables_done += 1;
        counters.files.fetch_add(1, Ordering::Relaxed);
        let cancelled = matches!(acc.failed, Some(Stop::Cancelled));
        if let Some(stop) = &acc.failed
            && !cancelled
        {
            let reason = match stop {
                Stop::Failed(r) => r.clone(),
                Stop::Time => "time limit".into(),
                Stop::Cancelled => unreachable!("handled above"),
            };
            let skip = Skip {
                path: format!("{}!{}", meta.url.shown(), meta.table.qualified),
                reason: format!("table not completely read ({} rows read): {reason}", acc.rows),
                kind: SkipKind::Error,
            };
            self.skip(skip, writer, counters)?;
        }
        let sampled = self.sampled;
        let summary = TableSummary {
            path: meta.url.shown().to_owned(),
            engine: meta.url.engine().name().into(),
            table: redact_digits(&meta.table.qualified).into_owned(),
            rows: acc.rows,
            bytes: acc.bytes,
            sampled,
            complete: acc.failed.is_none() && !sampled,
            columns_read: meta.table.columns.len(),
            columns_unread: meta.table.unread,
            findings: acc.counts,
            distinct_pans: acc.distinct.len() as u64,
            columns: acc
                .columns
                .into_iter()
                .map(|(column, c)| ColumnSummary {
                    column,
                    findings: c.counts,
                    distinct_pans: c.distinct.len() as u64,
                    example_row_keys: c.examples,
                })
                .collect(),
        };
        writer.table(&summary)
    }
}
