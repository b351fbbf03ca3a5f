//! SQLite database files met during a file scan (SPEC §5, issue 4): opened strictly
//! read-only and scanned table by table, each table rendered as tab-separated text so
//! the engine and its record linkage (`scan::record`) do the work.
//!
//! - A file on disk is opened with `mode=ro` and `immutable=1`: SQLite then takes no
//!   lock and never creates a `-wal`, `-shm` or journal file, so the evidence is not
//!   changed. A database held in memory (an archive member) is opened with
//!   `sqlite3_deserialize`, read-only; nothing is extracted to disk.
//! - Every table of `main` (rowid and `WITHOUT ROWID`; not `sqlite_*` internals, not
//!   virtual tables, whose data lives in their shadow tables) is read with one streaming
//!   `SELECT *`: a header line of the column names, then one line per row, fields
//!   separated by a tab (tabs, CR and LF inside values become spaces). INTEGER values
//!   are decimal digits, whole REAL values integer digits, TEXT as stored; BLOB fields
//!   stay empty in that text and each BLOB is scanned as a stream of its own through
//!   the full decoder stack.
//! - Each hit is mapped back to its row (1-based, reported as the line) and column (the
//!   tab field holding its first byte) through a sliding index of the rows recently
//!   rendered; its byte offset is the offset in the rendered table text (or in the BLOB).
//!
//! The API is synchronous: a tokio current-thread runtime (it spawns no thread) drives
//! sqlx on the calling thread. sqlx's SQLite driver runs each connection on a worker
//! thread of its own, which ends when the connection is closed. Errors never quote a
//! value from the database: SQLite's messages are reduced to a fixed text per code.

use std::io::{self, Cursor, Read, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sqlx::decode::Decode;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteConnection, SqliteOwnedBuf, SqliteRow, SqliteValueRef};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row, TypeInfo, ValueRef};

use super::container::ReadSeek;
use super::db::render::{self, CellHits, Layout, Render, RowOut, RowSource, Stop};
use super::file::Reader;
use super::item::{ItemScanner, LEAF_BATCH, Leaf};
use super::{Skip, SkipKind};
use crate::detectors::DetectorSet;
use crate::scan::Scanner;

/// The first 16 bytes of every SQLite 3 database file.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// SQLite virtual-machine instructions between two looks at the clock inside a statement
/// (the progress handler), so that one slow row or schema query also stops at the time
/// limit.
const PROGRESS_OPS: i32 = 10_000;

/// Whether `head` starts like a SQLite 3 database.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// What went wrong with a database or one of its tables. Messages are lowercase and
/// never hold a value read from the database.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// The database cannot be opened or its schema cannot be read (corrupt, encrypted,
    /// not really SQLite).
    #[error("not a readable sqlite database: {0}")]
    Open(String),
    /// A table could not be (completely) read.
    #[error("cannot read table {table}: {reason}")]
    Table {
        /// Schema-qualified table name (`main.orders`).
        table: String,
        /// What SQLite said, as a fixed text.
        reason: String,
    },
    /// The item took longer than the time limit.
    #[error("limit max-time: took longer than {0}s")]
    Time(f64),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Where a database comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A file on disk, opened in place read-only.
    File(&'a Path),
    /// A whole database file in memory (copied into SQLite's own buffer).
    Memory(&'a [u8]),
}

/// A table of `main`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The name as stored in `sqlite_master`.
    pub name: String,
    /// `main.<name>`, as reported.
    pub qualified: String,
    /// Its columns (hidden columns of virtual tables left out), in order.
    pub columns: Vec<String>,
    /// Primary-key columns in key order; empty when the table has none.
    pub key: Vec<String>,
    /// A `WITHOUT ROWID` table (always has a primary key).
    pub without_rowid: bool,
}

impl Table {
    /// The row key: the primary key, else `rowid`.
    pub fn key_names(&self) -> Vec<Arc<str>> {
        if self.key.is_empty() {
            vec![Arc::from("rowid")]
        } else {
            self.key.iter().map(|k| Arc::from(k.as_str())).collect()
        }
    }
}

/// What a table scan needs from the caller.
pub struct TableScan<'a> {
    /// The reader for the table text.
    pub reader: &'a mut Reader,
    /// The engine.
    pub scanner: &'a Scanner,
    /// Set on Ctrl-C.
    pub cancel: &'a AtomicBool,
    /// When the item must be done.
    pub deadline: Instant,
    /// The time limit (for the message).
    pub max_time: Duration,
    /// Receives findings, column by column, in batches of at most `batch` findings.
    pub emit: &'a mut dyn FnMut(CellHits),
    /// Findings held before they are handed on.
    pub batch: usize,
    /// Read at most this many rows (`pansweep db --sample`).
    pub sample: Option<u64>,
    /// Set by the scan: rows read, also when it failed part-way.
    pub rows_read: u64,
}

/// An open database.
pub struct Database {
    rt: tokio::runtime::Runtime,
    conn: Option<SqliteConnection>,
    /// A second reader for BLOBs (the first one is busy with the table text), made on
    /// the first BLOB.
    blob_reader: Option<Reader>,
}

impl Database {
    /// Opens a database read-only.
    pub fn open(source: Source<'_>) -> Result<Database, SqliteError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| SqliteError::Open(format!("cannot start the sqlite driver: {e}")))?;
        let base = SqliteConnectOptions::new()
            .read_only(true)
            .create_if_missing(false)
            .foreign_keys(false)
            .statement_cache_capacity(0)
            .pragma("query_only", "ON");
        let conn = match source {
            Source::File(path) => {
                let opts = base.filename(path).immutable(true);
                rt.block_on(opts.connect()).map_err(|e| SqliteError::Open(reason(&e)))?
            }
            Source::Memory(bytes) => {
                let mut buf = SqliteOwnedBuf::try_from(bytes)
                    .map_err(|_| SqliteError::Open("empty or too large to load".into()))?;
                // A database in WAL mode cannot be deserialized: mark the copy as a
                // rollback-journal database (header bytes 18 and 19). The copy is ours;
                // the evidence is not touched.
                if buf.len() >= 20 && buf[18] == 2 && buf[19] == 2 {
                    buf[18] = 1;
                    buf[19] = 1;
                }
                let opts = base.in_memory(true);
                rt.block_on(async move {
                    let mut conn = opts.connect().await?;
                    conn.deserialize(None, buf, true).await?;
                    Ok::<_, sqlx::Error>(conn)
                })
                .map_err(|e| SqliteError::Open(reason(&e)))?
            }
        };
        Ok(Database { rt, conn: Some(conn), blob_reader: None })
    }

    /// The tables of `main` in schema order, with their columns and keys. An error here
    /// means the file is not a readable database (SQLite reads the header and schema
    /// lazily).
    pub fn tables(&mut self) -> Result<Vec<Table>, SqliteError> {
        let conn = self.conn.as_mut().ok_or_else(|| SqliteError::Open("closed".into()))?;
        let sql = "SELECT name, coalesce(sql, '') FROM main.sqlite_master WHERE type = 'table' \
                   AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                   AND coalesce(sql, '') NOT LIKE 'create virtual table%' ORDER BY rowid";
        let rows = self
            .rt
            .block_on(sqlx::query(sql).persistent(false).fetch_all(&mut *conn))
            .map_err(|e| SqliteError::Open(reason(&e)))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let name = text_at(&row, 0)?;
            let ddl = text_at(&row, 1)?.to_ascii_lowercase();
            let words: Vec<&str> =
                ddl.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
            let without_rowid = words.windows(2).any(|w| w[0] == "without" && w[1] == "rowid");
            let cols = self
                .rt
                .block_on(
                    sqlx::query("SELECT name, pk FROM pragma_table_xinfo(?1, 'main') WHERE hidden <> 1 ORDER BY cid")
                        .bind(name.clone())
                        .persistent(false)
                        .fetch_all(&mut *conn),
                )
                .map_err(|e| SqliteError::Open(reason(&e)))?;
            let mut columns = Vec::with_capacity(cols.len());
            let mut key: Vec<(i64, String)> = Vec::new();
            for c in cols {
                let col = text_at(&c, 0)?;
                let pk: i64 = c.try_get(1).unwrap_or(0);
                if pk > 0 {
                    key.push((pk, col.clone()));
                }
                columns.push(col);
            }
            key.sort();
            out.push(Table {
                qualified: format!("main.{name}"),
                name,
                columns,
                key: key.into_iter().map(|k| k.1).collect(),
                without_rowid,
            });
        }
        Ok(out)
    }

    /// Scans one table: renders it as text for `scan.reader`, scans BLOBs on their own,
    /// hands findings to `scan.emit`. Returns the rows read.
    pub fn scan_table(
        &mut self,
        det: &DetectorSet,
        table: &Table,
        scan: &mut TableScan<'_>,
    ) -> Result<u64, SqliteError> {
        let conn = self.conn.as_mut().ok_or_else(|| SqliteError::Open("closed".into()))?;
        // Interrupt any statement still running at the deadline.
        let deadline = scan.deadline;
        self.rt
            .block_on(async {
                conn.lock_handle().await?.set_progress_handler(PROGRESS_OPS, move || Instant::now() <= deadline);
                Ok::<_, sqlx::Error>(())
            })
            .map_err(|e| SqliteError::Open(reason(&e)))?;
        // The row key comes first: the primary key's columns (again), or the rowid.
        let mut select: Vec<String> = if table.key.is_empty() && !table.without_rowid {
            vec!["rowid".into()]
        } else {
            table.key.iter().map(|k| quote_ident(k)).collect()
        };
        let key_fields = select.len();
        select.extend(table.columns.iter().map(|c| quote_ident(c)));
        let limit = scan.sample.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        let sql = format!("SELECT {} FROM main.{}{limit}", select.join(", "), quote_ident(&table.name));
        let rows = sqlx::query(AssertSqlSafe(sql)).persistent(false).fetch(&mut *conn);
        let layout = Layout::new(det, table.columns.clone(), table.key_names());
        let blob_reader = self.blob_reader.get_or_insert_with(Reader::default);
        let expiry = table.columns.iter().map(|c| super::db::expiry_named(det, c)).collect();
        let mut source = SqliteRows { rt: &self.rt, rows, key_fields, value: Vec::new(), expiry };
        let mut render = Render {
            reader: &mut *scan.reader,
            blob_reader,
            scanner: scan.scanner,
            cancel: scan.cancel,
            deadline: Some(scan.deadline),
            emit: &mut *scan.emit,
            batch: scan.batch,
        };
        let done = render::scan_rows(&layout, &mut source, &mut render);
        scan.rows_read = done.rows;
        // A statement interrupted by the progress handler ends in an error: it is the
        // time limit.
        let stop = match done.stop {
            Some(Stop::Failed(_)) | None if Instant::now() > scan.deadline => Some(Stop::Time),
            s => s,
        };
        match stop {
            None => Ok(done.rows),
            Some(Stop::Time) => Err(SqliteError::Time(scan.max_time.as_secs_f64())),
            Some(Stop::Cancelled) => Err(SqliteError::Cancelled),
            Some(Stop::Failed(reason)) => Err(SqliteError::Table { table: table.qualified.clone(), reason }),
        }
    }
}

/// Rows of a SQLite table: key values first, then the columns.
struct SqliteRows<'a> {
    rt: &'a tokio::runtime::Runtime,
    rows: BoxStream<'a, Result<SqliteRow, sqlx::Error>>,
    key_fields: usize,
    value: Vec<u8>,
    /// Per column: named like an expiry (a `2029-12-31` value there is read as `2029-12`).
    expiry: Vec<bool>,
}

impl RowSource for SqliteRows<'_> {
    fn next_row(&mut self, out: &mut RowOut<'_>) -> Result<bool, Stop> {
        let row = match self.rt.block_on(self.rows.try_next()) {
            Ok(Some(row)) => row,
            Ok(None) => return Ok(false),
            Err(e) => return Err(Stop::Failed(reason(&e))),
        };
        let mut keys = Vec::with_capacity(self.key_fields);
        for i in 0..row.len() {
            let v = row.try_get_raw(i).ok().filter(|v| !v.is_null());
            self.value.clear();
            if i < self.key_fields {
                if let Some(v) = v {
                    render_value(&mut self.value, v);
                }
                keys.push(self.value.clone());
                continue;
            }
            match v {
                None => out.null(),
                Some(v) if v.type_info().name() == "BLOB" => match <&[u8] as Decode<Sqlite>>::decode(v) {
                    Ok(b) => out.blob(b),
                    Err(_) => out.null(),
                },
                Some(v) => {
                    render_value(&mut self.value, v);
                    if self.expiry.get(i - self.key_fields).copied().unwrap_or(false) {
                        out.text(super::db::date_as_expiry(&self.value));
                    } else {
                        out.text(&self.value);
                    }
                }
            }
        }
        for k in &keys {
            out.key(k);
        }
        Ok(true)
    }
}

/// Appends a value as text: INTEGER as decimal digits, a whole REAL as integer digits,
/// TEXT (and, for keys, BLOB) bytes as stored.
fn render_value(out: &mut Vec<u8>, v: SqliteValueRef<'_>) {
    match v.type_info().name() {
        "INTEGER" | "BOOLEAN" | "INT4" => {
            if let Ok(i) = <i64 as Decode<Sqlite>>::decode(v) {
                out.extend_from_slice(i.to_string().as_bytes());
            }
        }
        "REAL" => {
            if let Ok(f) = <f64 as Decode<Sqlite>>::decode(v) {
                let s = if f.is_finite() && f.fract() == 0.0 { format!("{f:.0}") } else { format!("{f}") };
                out.extend_from_slice(s.as_bytes());
            }
        }
        _ => {
            if let Ok(b) = <&[u8] as Decode<Sqlite>>::decode(v) {
                out.extend_from_slice(b);
            }
        }
    }
}

/// Column `i` of a schema row as text.
fn text_at(row: &SqliteRow, i: usize) -> Result<String, SqliteError> {
    let raw = row.try_get_raw(i).map_err(|e| SqliteError::Open(reason(&e)))?;
    if raw.is_null() {
        return Ok(String::new());
    }
    let bytes = <&[u8] as Decode<Sqlite>>::decode(raw).map_err(|_| SqliteError::Open("bad schema".into()))?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Ends the driver's worker thread; errors on close change nothing on disk.
            let _ = self.rt.block_on(conn.close());
        }
    }
}

/// Makes a database file in memory from SQL statements and returns its bytes (for
/// canaries and tests: nothing is written to disk).
pub fn build(sql: &str) -> Result<Vec<u8>, SqliteError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| SqliteError::Open(format!("cannot start the sqlite driver: {e}")))?;
    let opts = SqliteConnectOptions::new().in_memory(true);
    let sql = sql.to_owned();
    rt.block_on(async move {
        let mut conn = opts.connect().await?;
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
        let bytes = conn.serialize(None).await?.to_vec();
        conn.close().await?;
        Ok::<_, sqlx::Error>(bytes)
    })
    .map_err(|e| SqliteError::Open(reason(&e)))
}

/// Opens a database and lists its tables: both fail on a file that only looks like one.
fn open_tables(source: Source<'_>) -> Result<(Database, Vec<Table>), SqliteError> {
    let mut db = Database::open(source)?;
    let tables = db.tables()?;
    Ok((db, tables))
}

/// The SQLite stage of [`ItemScanner`]: a database met as a file or as a member.
impl ItemScanner<'_> {
    /// A database file on disk (`path` as shown, `fs_path` to open), opened in place.
    pub(super) fn sqlite_file(&mut self, path: &str, fs_path: &Path, file: &mut dyn ReadSeek) {
        if fs_path.to_str().is_none() {
            // SQLite takes UTF-8 file names only: read the file into memory instead.
            if let Err(e) = self.sqlite_stream(path, &[], file) {
                (self.skip)(Skip::io(path, "cannot read", &e));
            }
            return;
        }
        let start = Instant::now();
        match open_tables(Source::File(fs_path)) {
            Ok((db, tables)) => self.sqlite_tables(path, &[], db, &tables, start),
            Err(e) => {
                self.sqlite_unreadable(path, &e);
                let r = file.seek(SeekFrom::Start(0)).and_then(|_| self.plain(path, &[], file, None));
                if let Err(e) = r {
                    (self.skip)(Skip::io(path, "cannot read", &e));
                }
            }
        }
    }

    /// A database inside an archive or mail: held in memory up to the container buffer
    /// limit and opened from there; a larger one, or one that cannot be opened, is
    /// scanned as raw bytes instead (and reported as skipped).
    pub(super) fn sqlite_stream(
        &mut self,
        path: &str,
        decoders: &[&'static str],
        input: &mut dyn Read,
    ) -> io::Result<()> {
        let max = self.limits.container.max_buffer_bytes;
        let mut buf = Vec::new();
        input.take(max.saturating_add(1)).read_to_end(&mut buf)?;
        if buf.len() as u64 > max {
            (self.skip)(Skip {
                path: path.to_owned(),
                reason: format!(
                    "limit max-buffer-bytes: sqlite database larger than {max} bytes cannot be opened from memory; \
                     its bytes were scanned as they are"
                ),
                kind: SkipKind::Limit,
            });
            let mut chained = Cursor::new(buf).chain(input);
            return self.plain(path, decoders, &mut chained, None);
        }
        let start = Instant::now();
        let opened = open_tables(Source::Memory(&buf));
        match opened {
            Ok((db, tables)) => {
                drop(buf);
                self.sqlite_tables(path, decoders, db, &tables, start);
                Ok(())
            }
            Err(e) => {
                self.sqlite_unreadable(path, &e);
                self.plain(path, decoders, &mut &buf[..], None)
            }
        }
    }

    fn sqlite_unreadable(&mut self, path: &str, e: &SqliteError) {
        (self.skip)(Skip {
            path: path.to_owned(),
            reason: format!("{e}; its bytes were scanned as they are"),
            kind: SkipKind::Error,
        });
    }

    /// Scans every table; one that fails is skipped and the others are read.
    fn sqlite_tables(
        &mut self,
        path: &str,
        decoders: &[&'static str],
        mut db: Database,
        tables: &[Table],
        start: Instant,
    ) {
        let mut chain = decoders.to_vec();
        chain.push("sqlite");
        let mut blob_chain = chain.clone();
        blob_chain.push("blob");
        let max_time = self.limits.container.max_time;
        let deadline = start + max_time;
        for table in tables {
            if self.cancel.load(Ordering::Relaxed) {
                return;
            }
            let leaf = &mut *self.leaf;
            let mut emit = |c: CellHits| {
                let (p, column) = match c.column {
                    Some(col) => (format!("{path}!{}.{col}", table.qualified), Some(col)),
                    None => (format!("{path}!{}", table.qualified), None),
                };
                leaf(Leaf {
                    path: p,
                    table: Some(table.qualified.clone()),
                    column,
                    decoders: if c.blob { blob_chain.clone() } else { chain.clone() },
                    hits: c.hits,
                    stats: c.stats,
                });
            };
            let mut scan = TableScan {
                reader: &mut *self.reader,
                scanner: self.scanner,
                cancel: self.cancel,
                deadline,
                max_time,
                emit: &mut emit,
                batch: LEAF_BATCH,
                sample: None,
                rows_read: 0,
            };
            match db.scan_table(self.scanner.detectors(), table, &mut scan) {
                Ok(_) => {}
                Err(SqliteError::Cancelled) => return,
                Err(e @ SqliteError::Time(_)) => {
                    (self.skip)(Skip { path: path.to_owned(), reason: e.to_string(), kind: SkipKind::Limit });
                    return;
                }
                Err(e) => (self.skip)(Skip {
                    path: format!("{path}!{}", table.qualified),
                    reason: e.to_string(),
                    kind: SkipKind::Error,
                }),
            }
        }
    }
}

/// `"name"` with inner quotes doubled: any table or column name is safe in SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A fixed text for a sqlx error: SQLite's own message can quote schema text or
/// values, so only the result code is trusted.
fn reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(1);
            match code & 0xff {
                26 => "file is not a database (or is encrypted)".into(),
                11 => "database disk image is malformed".into(),
                14 => "unable to open database file".into(),
                10 => "disk i/o error".into(),
                7 => "out of memory".into(),
                5 | 6 => "database is locked".into(),
                1 => "sql error (e.g. an unknown virtual-table module or collation)".into(),
                c => format!("sqlite error code {c}"),
            }
        }
        sqlx::Error::Io(io) => format!("i/o error: {}", io.kind()),
        sqlx::Error::Configuration(_) => "bad path for sqlite (not utf-8 or holds nul)".into(),
        _ => "sqlite driver error".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::canary::TEST_PAN;
    use crate::detectors::DetectorSet;
    use crate::scan::ScannerBuilder;
    use crate::source::item::ItemLimits;

    fn scanner() -> Scanner {
        ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).current_year(2026).build()
    }

    fn orders() -> Vec<u8> {
        build(&format!(
            "CREATE TABLE orders(id INTEGER PRIMARY KEY, card_no TEXT, exp TEXT, note BLOB);
             INSERT INTO orders VALUES (1, 'none', '01/30', NULL);
             INSERT INTO orders VALUES (2, '{TEST_PAN}', '12/29', CAST('card {TEST_PAN}' AS BLOB));"
        ))
        .unwrap()
    }

    /// `(path, table, column, line)` of a finding.
    type Found = (String, Option<String>, Option<String>, u64);

    /// Scans `bytes` as a member with `limits`; returns each finding and the skip reasons.
    fn scan_member(bytes: &[u8], limits: &ItemLimits) -> (Vec<Found>, Vec<String>) {
        let scanner = scanner();
        let mut reader = Reader::default();
        let cancel = AtomicBool::new(false);
        let (mut found, mut skips) = (Vec::new(), Vec::new());
        let mut items = ItemScanner {
            reader: &mut reader,
            scanner: &scanner,
            cancel: &cancel,
            limits,
            leaf: &mut |l: Leaf| {
                for h in &l.hits {
                    found.push((l.path.clone(), l.table.clone(), l.column.clone(), h.line_in_piece + 1));
                }
            },
            skip: &mut |s: Skip| skips.push(s.reason),
        };
        items.sqlite_stream("a.zip!app.db", &["zip"], &mut &bytes[..]).unwrap();
        (found, skips)
    }

    #[test]
    fn member_is_read_from_memory_cell_by_cell() {
        let (mut found, skips) = scan_member(&orders(), &ItemLimits::default());
        assert!(skips.is_empty(), "{skips:?}");
        // BLOB findings are handed on at once, table-text findings in batches.
        found.sort();
        let col = |c: &str| Some(c.to_owned());
        let table = Some("main.orders".to_owned());
        assert_eq!(
            found,
            vec![
                ("a.zip!app.db!main.orders.card_no".into(), table.clone(), col("card_no"), 2),
                ("a.zip!app.db!main.orders.note".into(), table, col("note"), 2),
            ]
        );
    }

    #[test]
    fn big_table_maps_hits_to_their_rows_across_chunks() {
        // About 6 MiB of table text: several chunks, and rows long gone from the index.
        let db = build(&format!(
            "CREATE TABLE log(id INTEGER PRIMARY KEY, msg TEXT, card_no TEXT, exp TEXT);
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000)
             INSERT INTO log SELECT x, printf('%.90c', 'z'), NULL, NULL FROM c;
             INSERT INTO log VALUES (60001, 'paid', '{TEST_PAN}', '12/29');
             INSERT INTO log SELECT x + 60001, printf('%.90c', 'y'), NULL, NULL FROM
               (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT x FROM c);
             INSERT INTO log VALUES (65002, '{TEST_PAN}', NULL, NULL);"
        ))
        .unwrap();
        let (mut found, skips) = scan_member(&db, &ItemLimits::default());
        assert!(skips.is_empty(), "{skips:?}");
        found.sort_by_key(|f| f.3);
        let cells: Vec<(Option<String>, u64)> = found.into_iter().map(|f| (f.2, f.3)).collect();
        assert_eq!(cells, vec![(Some("card_no".into()), 60001), (Some("msg".into()), 65002)]);
    }

    #[test]
    fn wal_mode_member_is_opened_from_a_patched_copy() {
        let mut db = orders();
        db[18] = 2;
        db[19] = 2;
        let (found, skips) = scan_member(&db, &ItemLimits::default());
        assert!(skips.is_empty(), "{skips:?}");
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn member_over_the_buffer_limit_is_scanned_raw() {
        let mut limits = ItemLimits::default();
        limits.container.max_buffer_bytes = 1024;
        let (found, skips) = scan_member(&orders(), &limits);
        assert_eq!(skips.len(), 1);
        assert!(skips[0].starts_with("limit max-buffer-bytes"), "{skips:?}");
        assert!(!found.is_empty() && found.iter().all(|f| f.0 == "a.zip!app.db" && f.1.is_none()));
    }

    #[test]
    fn garbage_after_the_magic_is_not_a_database() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[0x5A; 4096]);
        let (found, skips) = scan_member(&bytes, &ItemLimits::default());
        assert!(found.is_empty());
        assert_eq!(skips.len(), 1);
        assert!(skips[0].starts_with("not a readable sqlite database: "), "{skips:?}");
    }

    #[test]
    fn time_limit_stops_a_table() {
        let mut limits = ItemLimits::default();
        limits.container.max_time = Duration::ZERO;
        let (found, skips) = scan_member(&orders(), &limits);
        assert!(found.is_empty());
        assert_eq!(skips, vec!["limit max-time: took longer than 0s".to_owned()]);
    }

    #[test]
    fn magic_and_quoting() {
        assert!(sniff(b"SQLite format 3\0\x10\x00"));
        assert!(!sniff(b"SQLite format 3"));
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_ident("12 x"), "\"12 x\"");
    }
}
