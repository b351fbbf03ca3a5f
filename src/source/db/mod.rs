//! Databases scanned by `pansweep db` (SPEC §6): PostgreSQL, MySQL/MariaDB and SQLite,
//! read-only, streamed in constant memory, each table rendered as text for the engine
//! ([`render`]) so that row linkage works the same way for every engine.
//!
//! - [`DbUrl`] holds a URL and its password apart: what is shown is the URL with the
//!   password removed, and every error text is scrubbed of the password.
//! - [`Conn`] is one read-only connection (a read-only session, a statement timeout,
//!   SQLite opened `mode=ro`): it lists the tables ([`Conn::discover`]), cuts big ones
//!   into key ranges ([`Conn::plan`]) and scans one part ([`Conn::scan_part`]).
//! - A table is read in primary-key order, one page at a time (keyset paging: short
//!   statements, no long snapshot, nothing held but one page); a table without a key is
//!   read with one streaming statement whose rows arrive as they are scanned.
//!
//! The API is synchronous: each connection drives sqlx on a tokio current-thread runtime
//! of its own, so the pipeline runs one connection per worker thread. Every statement
//! pansweep sends is in docs/databases.md.

pub mod mysql;
pub mod postgres;
pub mod render;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};

use self::render::{Render, RowOut, RowSource, Stop};
use crate::detectors::DetectorSet;
use crate::source::sqlite;

/// A database engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// A SQLite file.
    Sqlite,
}

impl Engine {
    /// The `engine` field of findings.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Sqlite => "sqlite",
        }
    }
}

/// What went wrong with a database. Messages are lowercase, name the URL (without its
/// password) or the table, and never hold the password or a value read from a table.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL cannot be used.
    #[error("bad database url {url}: {reason}")]
    Url {
        /// The URL as shown (password removed).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection could not be made (or was lost).
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL as shown.
        url: String,
        /// What the driver said (scrubbed).
        reason: String,
    },
    /// A statement failed.
    #[error("{url}: {reason}")]
    Query {
        /// The URL as shown.
        url: String,
        /// What the server said (scrubbed).
        reason: String,
    },
}

/// A database URL with its password held apart.
#[derive(Clone)]
pub struct DbUrl {
    engine: Engine,
    /// The URL to connect with (no password in it).
    url: url::Url,
    /// SQLite: the file.
    path: Option<PathBuf>,
    password: Option<String>,
    shown: String,
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbUrl").field("url", &self.shown).finish_non_exhaustive()
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Query parameters that can carry a secret; they are taken out of the URL.
const SECRET_PARAMS: [&str; 3] = ["password", "sslpassword", "passfile"];

impl DbUrl {
    /// Parses `raw`; `password` is used when the URL holds none (from
    /// `PANSWEEP_DB_PASSWORD` or `--password-stdin`).
    pub fn parse(raw: &str, password: Option<&str>) -> Result<DbUrl, DbError> {
        let bad = |reason: &str, shown: String| DbError::Url { url: shown, reason: reason.to_owned() };
        let scheme = raw.split(':').next().unwrap_or("").to_ascii_lowercase();
        if scheme == "sqlite" {
            let rest = &raw[raw.find(':').map_or(0, |i| i + 1)..];
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let rest = rest.split('?').next().unwrap_or("");
            let shown = format!("sqlite://{}", crate::report::redact_digits(rest));
            if rest.is_empty() {
                return Err(bad("no file name", shown));
            }
            let decoded = percent_decode(rest);
            return Ok(DbUrl {
                engine: Engine::Sqlite,
                url: url::Url::parse("sqlite://local").map_err(|_| bad("cannot parse", shown.clone()))?,
                path: Some(PathBuf::from(decoded)),
                password: None,
                shown,
            });
        }
        let engine = match scheme.as_str() {
            "postgres" | "postgresql" => Engine::Postgres,
            "mysql" | "mariadb" => Engine::Mysql,
            _ => {
                return Err(bad(
                    "unknown scheme (use postgres://, postgresql://, mysql://, mariadb:// or sqlite://)",
                    masked_raw(raw),
                ));
            }
        };
        let mut url = url::Url::parse(raw).map_err(|e| bad(&e.to_string(), masked_raw(raw)))?;
        let mut secret = url.password().map(percent_decode);
        let _ = url.set_password(None);
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        if pairs.iter().any(|(k, _)| SECRET_PARAMS.contains(&k.as_str())) {
            if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "password") {
                secret.get_or_insert_with(|| v.clone());
            }
            let kept: Vec<_> = pairs.iter().filter(|(k, _)| !SECRET_PARAMS.contains(&k.as_str())).collect();
            if kept.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(kept);
            }
        }
        if engine == Engine::Mysql && url.scheme() != "mysql" {
            // `mariadb://` is ours; the driver speaks `mysql://`.
            let rebuilt = format!("mysql{}", &url.as_str()[url.scheme().len()..]);
            url = url::Url::parse(&rebuilt).map_err(|e| bad(&e.to_string(), String::new()))?;
        }
        if url.host_str().is_none_or(str::is_empty) && !url.query_pairs().any(|(k, _)| k == "host" || k == "socket") {
            return Err(bad("no host", masked_raw(raw)));
        }
        let password = secret.filter(|p| !p.is_empty()).or_else(|| password.map(str::to_owned));
        let mut shown_url = url.clone();
        if engine == Engine::Mysql && scheme == "mariadb" {
            let s = format!("mariadb{}", &shown_url.as_str()[shown_url.scheme().len()..]);
            shown_url = url::Url::parse(&s).unwrap_or(shown_url);
        }
        let shown = crate::report::redact_digits(shown_url.as_str()).into_owned();
        Ok(DbUrl { engine, url, path: None, password, shown })
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The URL as it may be shown: no password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The database named in the URL (MySQL: the default scope).
    fn database(&self) -> Option<String> {
        let db = self.url.path().trim_start_matches('/');
        (!db.is_empty()).then(|| percent_decode(db))
    }

    /// `text` with the password (raw and URL-encoded) replaced by `****`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = crate::report::redact_digits(text).into_owned();
        if let Some(p) = self.password.as_deref().filter(|p| p.len() >= 3) {
            out = out.replace(p, "****");
            let encoded: String = url::form_urlencoded::byte_serialize(p.as_bytes()).collect();
            out = out.replace(&encoded, "****");
        }
        out
    }

    fn connect_error(&self, reason: &str) -> DbError {
        DbError::Connect { url: self.shown.clone(), reason: self.scrub(reason) }
    }

    fn query_error(&self, reason: &str) -> DbError {
        DbError::Query { url: self.shown.clone(), reason: self.scrub(reason) }
    }
}

/// A URL that could not be parsed, as it may be shown: everything between `://` and the
/// last `@` is hidden (a password can hold `/`, `?` or `#`, which would end a parsed
/// user-info part early), and PAN-like digits are masked.
fn masked_raw(raw: &str) -> String {
    let shown = match (raw.find("://"), raw.rfind('@')) {
        (Some(i), Some(at)) if at > i => format!("{}://****@{}", &raw[..i], &raw[at + 1..]),
        _ => crate::report::redact_arg(raw),
    };
    crate::report::redact_digits(&shown).into_owned()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_owned(), |(_, v)| v.into_owned())
}

/// Which tables to read.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Schemas (MySQL: databases) to read; empty = all (MySQL: the URL's database, or all).
    pub schemas: Vec<String>,
    /// Tables to read (`name` or `schema.name` globs); empty = all.
    pub tables: Vec<String>,
    /// Tables to leave out.
    pub exclude: Vec<String>,
    /// Also read views (their base tables are read anyway).
    pub include_views: bool,
}

/// Compiled [`Filter`].
#[derive(Clone, Debug)]
pub(crate) struct Matcher {
    schemas: Option<GlobSet>,
    tables: Option<GlobSet>,
    exclude: Option<GlobSet>,
    pub(crate) include_views: bool,
}

fn globs(list: &[String]) -> Result<Option<GlobSet>, String> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in list {
        b.add(Glob::new(g).map_err(|e| format!("bad glob {g:?}: {e}"))?);
    }
    b.build().map(Some).map_err(|e| e.to_string())
}

impl Matcher {
    /// Compiles the globs.
    pub(crate) fn new(f: &Filter) -> Result<Matcher, String> {
        Ok(Matcher {
            schemas: globs(&f.schemas)?,
            tables: globs(&f.tables)?,
            exclude: globs(&f.exclude)?,
            include_views: f.include_views,
        })
    }

    /// Whether `schema` is in scope (`default`: when no `--schema` was given).
    pub(crate) fn schema(&self, schema: &str, default: bool) -> bool {
        self.schemas.as_ref().map_or(default, |g| g.is_match(schema))
    }

    /// Whether the table is in scope.
    pub(crate) fn table(&self, schema: &str, name: &str) -> bool {
        let qualified = format!("{schema}.{name}");
        let hit = |g: &GlobSet| g.is_match(name) || g.is_match(&qualified);
        self.tables.as_ref().is_none_or(hit) && !self.exclude.as_ref().is_some_and(hit)
    }
}

/// How a column's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColKind {
    /// Text (and anything the server writes as text: JSON, XML, arrays, enums).
    Text,
    /// Integer or decimal numbers (12–19 digit integers are card-number candidates).
    Number,
    /// Binary (bytea, BLOB): scanned through the full decoder stack.
    Binary,
    /// A date named like an expiry: read as expiry evidence for the row.
    Date,
}

/// A column to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// How it is read.
    pub kind: ColKind,
    /// The server's type name (for messages and docs).
    pub type_name: String,
}

/// A key column: name and what the keyset condition needs to compare it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyColumn {
    /// Its name.
    pub name: String,
    /// PostgreSQL: the type (`format_type`) the text value is cast back to; MySQL: how
    /// a value is written as a literal.
    pub cast: KeyCast,
}

/// How a key value goes back into a keyset condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCast {
    /// PostgreSQL: `$n::text::<type>`.
    PgType(String),
    /// MySQL integer: the digits.
    Integer,
    /// MySQL character string: `CONVERT(X'…' USING charset) COLLATE collation`.
    Chars {
        /// Character set name.
        charset: String,
        /// Collation name.
        collation: String,
    },
    /// MySQL binary string: `X'…'`.
    Bytes,
    /// MySQL date or time: a quoted literal of digits, `-`, `:`, `.` and spaces only,
    /// converted by the server.
    Temporal,
}

/// A table to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Schema (MySQL: database; SQLite: `main`).
    pub schema: String,
    /// Name.
    pub name: String,
    /// `schema.name`, as reported.
    pub qualified: String,
    /// Columns read, in order.
    pub columns: Vec<Column>,
    /// Columns not read (types that cannot hold card data, or not readable), for the record.
    pub unread: usize,
    /// Columns that could hold card data but may not be read (no SELECT privilege).
    pub denied_columns: usize,
    /// Primary key usable for keyset paging; empty: read with one streaming statement.
    pub key: Vec<KeyColumn>,
    /// Estimated rows (0 = unknown).
    pub est_rows: u64,
    /// PostgreSQL: a partitioned table (read whole, without `ONLY`).
    pub partitioned: bool,
    /// The user may not read it (no SELECT privilege on any column): reported as skipped.
    pub denied: bool,
}

/// One part of a table: all of it, or a range of its integer key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The table.
    pub table: Arc<Table>,
    /// `(from, to)`: key >= from (when set) and key < to (when set).
    pub range: Option<(Option<i64>, Option<i64>)>,
    /// Index of this part and number of parts of the table.
    pub index: usize,
    /// Parts of the table.
    pub count: usize,
}

impl Part {
    /// The key-range conditions of this part on `key`, the key column as written in the
    /// statement (empty for a whole table).
    pub(crate) fn range_conditions(&self, key: &str) -> Vec<String> {
        let mut conds = Vec::new();
        if let Some((from, to)) = self.range {
            if let Some(f) = from {
                conds.push(format!("{key} >= {f}"));
            }
            if let Some(to) = to {
                conds.push(format!("{key} < {to}"));
            }
        }
        conds
    }
}

/// How a part was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartResult {
    /// Rows read.
    pub rows: u64,
    /// Bytes of table text.
    pub bytes: u64,
    /// Why it stopped early (a failure, the time limit, Ctrl-C).
    pub stop: Option<Stop>,
    /// The connection is no longer usable (it must be made again for the next part).
    pub broken: bool,
}

/// Options for every connection of a run.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// Statement timeout (and, for a streaming read, the longest wait for one row).
    pub statement_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read at most this many rows per table.
    pub sample: Option<u64>,
    /// Tables with at least this many (estimated) rows and an integer key are split
    /// into one range per connection.
    pub split_rows: u64,
}

impl Default for DbOptions {
    fn default() -> DbOptions {
        DbOptions {
            statement_timeout: Duration::from_mins(1),
            connect_timeout: Duration::from_secs(30),
            sample: None,
            split_rows: 100_000,
        }
    }
}

/// Target bytes of one page: the page size adapts to the rows seen.
const PAGE_BYTES: u64 = 4 << 20;
/// Rows of the first page, and bounds of later ones.
const PAGE_FIRST: u64 = 16;
const PAGE_MIN: u64 = 1;
const PAGE_MAX: u64 = 20_000;

/// Rows to ask for in the next page, from the rows and bytes seen so far.
fn page_rows(rows: u64, bytes: u64, sample_left: Option<u64>) -> u64 {
    let n = if rows == 0 { PAGE_FIRST } else { (PAGE_BYTES * rows / bytes.max(1)).clamp(PAGE_MIN, PAGE_MAX) };
    sample_left.map_or(n, |s| n.min(s))
}

/// One read-only connection.
pub struct Conn {
    rt: tokio::runtime::Runtime,
    url: Arc<DbUrl>,
    opts: DbOptions,
    inner: Inner,
}

enum Inner {
    Pg(sqlx::postgres::PgConnection),
    My(sqlx::mysql::MySqlConnection, mysql::Flavor),
    Lite(Box<sqlite::Database>, Vec<sqlite::Table>),
    /// Closed or abandoned.
    Closed,
}

impl Drop for Conn {
    /// Ends the session politely (the server logs no aborted connection).
    fn drop(&mut self) {
        let limit = Duration::from_secs(2);
        match std::mem::replace(&mut self.inner, Inner::Closed) {
            Inner::Pg(c) => {
                let _ = self.rt.block_on(async { tokio::time::timeout(limit, sqlx::Connection::close(c)).await });
            }
            Inner::My(c, _) => {
                let _ = self.rt.block_on(async { tokio::time::timeout(limit, sqlx::Connection::close(c)).await });
            }
            Inner::Lite(..) | Inner::Closed => {}
        }
    }
}

impl Conn {
    /// Connects read-only.
    pub fn connect(url: Arc<DbUrl>, opts: &DbOptions) -> Result<Conn, DbError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| url.connect_error(&format!("cannot start the database driver: {e}")))?;
        let inner = match url.engine {
            Engine::Postgres => Inner::Pg(postgres::connect(&rt, &url, opts)?),
            Engine::Mysql => {
                let (c, flavor) = mysql::connect(&rt, &url, opts)?;
                Inner::My(c, flavor)
            }
            Engine::Sqlite => {
                let path = url.path.as_deref().unwrap_or(std::path::Path::new(""));
                if path.to_str().is_none() {
                    return Err(url.connect_error("the file name is not utf-8"));
                }
                std::fs::metadata(path)
                    .map_err(|e| url.connect_error(&crate::source::lowercase_first(&e.to_string())))?;
                let mut db = sqlite::Database::open(sqlite::Source::File(path))
                    .map_err(|e| url.connect_error(&e.to_string()))?;
                let tables = db.tables().map_err(|e| url.connect_error(&e.to_string()))?;
                Inner::Lite(Box::new(db), tables)
            }
        };
        Ok(Conn { rt, url, opts: opts.clone(), inner })
    }

    /// Drops a connection that broke (or has a statement half-read) without the close
    /// handshake, which could wait on it.
    pub fn abandon(mut self) {
        self.inner = Inner::Closed;
    }

    /// The URL.
    pub fn url(&self) -> &Arc<DbUrl> {
        &self.url
    }

    /// Every table in scope with the columns to read.
    pub fn discover(&mut self, filter: &Filter, det: &DetectorSet) -> Result<Vec<Table>, DbError> {
        let m = Matcher::new(filter).map_err(|e| self.url.query_error(&e))?;
        match &mut self.inner {
            Inner::Pg(c) => postgres::discover(&self.rt, c, &self.url, &m, det),
            Inner::My(c, _) => mysql::discover(&self.rt, c, &self.url, &m, det),
            Inner::Closed => Err(self.url.query_error("the connection is closed")),
            Inner::Lite(_, tables) => Ok(tables
                .iter()
                .filter(|t| m.schema("main", true) && m.table("main", &t.name))
                .map(|t| Table {
                    schema: "main".into(),
                    name: t.name.clone(),
                    qualified: t.qualified.clone(),
                    columns: t
                        .columns
                        .iter()
                        .map(|c| Column { name: c.clone(), kind: ColKind::Text, type_name: String::new() })
                        .collect(),
                    unread: 0,
                    denied_columns: 0,
                    key: t.key.iter().map(|k| KeyColumn { name: k.clone(), cast: KeyCast::Bytes }).collect(),
                    est_rows: 0,
                    partitioned: false,
                    denied: false,
                })
                .collect()),
        }
    }

    /// The parts of `table`: one, or one per connection for a big table with an
    /// integer key (split at even steps between its smallest and largest key). When the
    /// key's bounds cannot be read, the table is read whole.
    pub fn plan(&mut self, table: &Arc<Table>, connections: usize) -> Vec<Part> {
        let whole = || vec![Part { table: table.clone(), range: None, index: 0, count: 1 }];
        if connections < 2 || table.est_rows < self.opts.split_rows || self.opts.sample.is_some() {
            return whole();
        }
        let bounds = match &mut self.inner {
            Inner::Pg(c) => postgres::key_bounds(&self.rt, c, &self.url, table).ok().flatten(),
            Inner::My(c, _) => mysql::key_bounds(&self.rt, c, &self.url, table).ok().flatten(),
            Inner::Lite(..) | Inner::Closed => None,
        };
        let Some((lo, hi)) = bounds else { return whole() };
        let span = i128::from(hi) - i128::from(lo) + 1;
        let n = connections.min(usize::try_from(span).unwrap_or(usize::MAX)).max(1);
        if n < 2 {
            return whole();
        }
        let step = span / n as i128;
        let cut = |k: usize| i64::try_from(i128::from(lo) + step * k as i128).ok();
        (0..n)
            .map(|k| Part {
                table: table.clone(),
                range: Some((if k == 0 { None } else { cut(k) }, if k + 1 == n { None } else { cut(k + 1) })),
                index: k,
                count: n,
            })
            .collect()
    }

    /// Reads one part through `render`. An error mid-table is in `stop`; `broken` says
    /// the connection must be made again.
    pub fn scan_part(&mut self, part: &Part, det: &DetectorSet, render: &mut Render<'_>) -> PartResult {
        match &mut self.inner {
            Inner::Pg(c) => postgres::scan(&self.rt, c, &self.url, &self.opts, part, det, render),
            Inner::My(c, flavor) => mysql::scan(&self.rt, c, *flavor, &self.url, &self.opts, part, det, render),
            Inner::Closed => {
                let stop = Some(Stop::Failed("the connection is closed".into()));
                PartResult { rows: 0, bytes: 0, stop, broken: true }
            }
            Inner::Lite(db, tables) => {
                let Some(t) = tables.iter().find(|t| t.name == part.table.name) else {
                    return PartResult {
                        rows: 0,
                        bytes: 0,
                        stop: Some(Stop::Failed("table vanished".into())),
                        broken: false,
                    };
                };
                let mut bytes = 0;
                let mut emit = |c: render::CellHits| {
                    if c.column.is_none() {
                        bytes = c.stats.bytes;
                    }
                    (render.emit)(c);
                };
                let max_time = Duration::from_hours(24 * 365);
                let mut scan = sqlite::TableScan {
                    reader: &mut *render.reader,
                    scanner: render.scanner,
                    cancel: render.cancel,
                    deadline: std::time::Instant::now() + max_time,
                    max_time,
                    emit: &mut emit,
                    batch: render.batch,
                    sample: self.opts.sample,
                    rows_read: 0,
                };
                let r = db.scan_table(det, t, &mut scan);
                let rows = scan.rows_read;
                let stop = match r {
                    Ok(_) => None,
                    Err(sqlite::SqliteError::Cancelled) => Some(Stop::Cancelled),
                    Err(e) => Some(Stop::Failed(e.to_string())),
                };
                PartResult { rows, bytes, stop, broken: false }
            }
        }
    }
}

/// Reads a whole table or key range page by page: the shared loop of the keyset engines.
/// `fetch(after, limit)` returns the next page (rows as cells) and the last row's key.
pub(crate) struct Pager {
    /// Rows read so far.
    pub rows: u64,
    /// Bytes of values read so far (for the page size).
    pub bytes: u64,
}

impl Pager {
    pub(crate) fn next_limit(&self, sample: Option<u64>) -> Option<u64> {
        let left = match sample {
            Some(s) if self.rows >= s => return None,
            Some(s) => Some(s - self.rows),
            None => None,
        };
        Some(page_rows(self.rows, self.bytes, left))
    }
}

/// A fetched row whose values can be read as bytes (text, or binary for BLOB columns).
pub(crate) trait RawRow {
    /// Value `i` of the select list; `None` for NULL.
    fn cell(&self, i: usize) -> Option<&[u8]>;
}

/// Writes a row whose select list is the key values, then the table's columns.
pub(crate) fn write_row(t: &Table, row: &impl RawRow, out: &mut RowOut<'_>, pager: &mut Pager) {
    let nkeys = t.key.len();
    let mut bytes = 0u64;
    for (i, c) in t.columns.iter().enumerate() {
        let Some(b) = row.cell(nkeys + i) else {
            out.null();
            continue;
        };
        bytes += b.len() as u64 + 1;
        match c.kind {
            ColKind::Binary => out.blob(b),
            ColKind::Date => out.text(date_as_expiry(b)),
            ColKind::Text | ColKind::Number => out.text(b),
        }
    }
    for i in 0..nkeys {
        out.key(row.cell(i).unwrap_or_default());
    }
    pager.rows += 1;
    pager.bytes += bytes;
}

/// How an engine describes a driver error: a fixed-shape reason, and whether the
/// connection is unusable after it.
#[derive(Clone, Copy)]
pub(crate) struct Errors {
    pub(crate) reason: fn(&sqlx::Error) -> String,
    pub(crate) breaks: fn(&sqlx::Error) -> bool,
}

/// Why fetching a page failed: the driver's error, or a key value that cannot go back
/// into the keyset condition (a fixed text).
pub(crate) enum PageError {
    Driver(sqlx::Error),
    Key(String),
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> PageError {
        PageError::Driver(e)
    }
}

/// Fetches one page: the rows after the key values given (`None`: from the start of the
/// part), at most `limit` of them, in key order.
pub(crate) type FetchPage<'a, R> = dyn FnMut(Option<&[Vec<u8>]>, u64) -> Result<Vec<R>, PageError> + 'a;

/// Rows of a keyed table (or key range), one keyset page at a time: short statements,
/// no long snapshot, one page held.
pub(crate) struct Paged<'a, R> {
    pub(crate) fetch: &'a mut FetchPage<'a, R>,
    pub(crate) url: &'a DbUrl,
    pub(crate) errors: Errors,
    pub(crate) sample: Option<u64>,
    pub(crate) table: &'a Table,
    pub(crate) pager: Pager,
    pub(crate) page: std::collections::VecDeque<R>,
    /// Key values of the last row read.
    pub(crate) after: Option<Vec<Vec<u8>>>,
    pub(crate) end: bool,
    pub(crate) broken: bool,
}

impl<'a, R: RawRow> Paged<'a, R> {
    pub(crate) fn new(
        fetch: &'a mut FetchPage<'a, R>,
        url: &'a DbUrl,
        errors: Errors,
        sample: Option<u64>,
        table: &'a Table,
    ) -> Self {
        Paged {
            fetch,
            url,
            errors,
            sample,
            table,
            pager: Pager { rows: 0, bytes: 0 },
            page: std::collections::VecDeque::new(),
            after: None,
            end: false,
            broken: false,
        }
    }

    /// Fetches the next page; `Ok(false)` at the end.
    fn fetch_page(&mut self) -> Result<bool, Stop> {
        let Some(limit) = self.pager.next_limit(self.sample) else { return Ok(false) };
        let rows = match (self.fetch)(self.after.as_deref(), limit) {
            Ok(rows) => rows,
            Err(PageError::Driver(e)) => {
                self.broken |= (self.errors.breaks)(&e);
                return Err(Stop::Failed(self.url.scrub(&(self.errors.reason)(&e))));
            }
            Err(PageError::Key(reason)) => return Err(Stop::Failed(reason)),
        };
        let got = rows.len() as u64;
        self.end = got < limit;
        if let Some(last) = rows.last() {
            self.after = Some((0..self.table.key.len()).map(|i| last.cell(i).unwrap_or_default().to_vec()).collect());
        }
        self.page.extend(rows);
        Ok(got > 0)
    }
}

impl<R: RawRow> RowSource for Paged<'_, R> {
    fn next_row(&mut self, out: &mut RowOut<'_>) -> Result<bool, Stop> {
        if self.page.is_empty() && (self.end || !self.fetch_page()?) {
            return Ok(false);
        }
        let Some(row) = self.page.pop_front() else { return Ok(false) };
        write_row(self.table, &row, out, &mut self.pager);
        Ok(true)
    }
}

/// Rows of a table without a usable key: one statement whose rows are read as they are
/// scanned (the server sends them as the socket drains, so memory stays bounded), each
/// wait for a row limited to `wait`.
pub(crate) struct Streamed<'a, R> {
    pub(crate) rt: &'a tokio::runtime::Runtime,
    pub(crate) stream: futures_util::stream::BoxStream<'a, Result<R, sqlx::Error>>,
    pub(crate) url: &'a DbUrl,
    pub(crate) errors: Errors,
    pub(crate) wait: Duration,
    pub(crate) table: &'a Table,
    pub(crate) pager: Pager,
    pub(crate) broken: bool,
}

impl<R: RawRow> RowSource for Streamed<'_, R> {
    fn next_row(&mut self, out: &mut RowOut<'_>) -> Result<bool, Stop> {
        use futures_util::TryStreamExt;
        let wait = self.wait;
        let stream = &mut self.stream;
        match self.rt.block_on(async { tokio::time::timeout(wait, stream.try_next()).await }) {
            Err(_) => {
                self.broken = true;
                Err(Stop::Failed(format!("stalled: no row for {}s", wait.as_secs())))
            }
            Ok(Err(e)) => {
                self.broken |= (self.errors.breaks)(&e);
                Err(Stop::Failed(self.url.scrub(&(self.errors.reason)(&e))))
            }
            Ok(Ok(None)) => Ok(false),
            Ok(Ok(Some(row))) => {
                write_row(self.table, &row, out, &mut self.pager);
                Ok(true)
            }
        }
    }
}

impl Table {
    /// Records a column found by discovery: read when its type can hold card data and the
    /// account may read it; otherwise counted as unread (and as denied when only the
    /// privilege is missing).
    pub(crate) fn add_column(&mut self, name: String, kind: Option<ColKind>, readable: bool, type_name: String) {
        match kind {
            Some(kind) if readable => self.columns.push(Column { name, kind, type_name }),
            Some(_) => {
                self.unread += 1;
                self.denied_columns += 1;
            }
            None => self.unread += 1,
        }
    }

    /// The layout of its rendered text: its columns, keyed by its key columns.
    pub(crate) fn layout(&self, det: &DetectorSet) -> render::Layout {
        render::Layout::new(
            det,
            self.columns.iter().map(|c| c.name.clone()).collect(),
            self.key.iter().map(|k| Arc::from(k.name.as_str())).collect(),
        )
    }
}

/// Whether a column named `name` holds an expiry (so a date column is worth reading).
pub(crate) fn expiry_named(det: &DetectorSet, name: &str) -> bool {
    use crate::detectors::spec::HintElement;
    matches!(det.column_element(name), Some(HintElement::Expiry | HintElement::ExpiryMonth | HintElement::ExpiryYear))
}

/// A date or timestamp value of an expiry-named column as the expiry it stands for:
/// `2029-12-31` and `2029-12-01 00:00:00` become `2029-12` (year and month are what a card
/// carries; the day is a storage artefact). Anything else is left as it is.
pub(crate) fn date_as_expiry(v: &[u8]) -> &[u8] {
    let d = |i: usize| v.get(i).is_some_and(u8::is_ascii_digit);
    if v.len() >= 10 && (0..4).all(d) && v[4] == b'-' && d(5) && d(6) && v[7] == b'-' && d(8) && d(9) {
        &v[..7]
    } else {
        v
    }
}

/// Hex digits of `bytes` (for literals).
pub(crate) fn hex_digits(bytes: &[u8]) -> String {
    crate::finding::hex(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_held_apart_and_never_shown() {
        let u = DbUrl::parse("postgres://app:s3cr%40t@db1:5432/shop?sslmode=require", None).unwrap();
        assert_eq!(u.shown(), "postgres://app@db1:5432/shop?sslmode=require");
        assert_eq!(u.password.as_deref(), Some("s3cr@t"));
        assert!(!format!("{u:?} {u}").contains("s3cr"));
        assert_eq!(u.scrub("auth failed for s3cr@t and s3cr%40t"), "auth failed for **** and ****");
        let u = DbUrl::parse("postgresql://app@db1/shop?password=hunter22&application_name=x", None).unwrap();
        assert_eq!(u.shown(), "postgresql://app@db1/shop?application_name=x");
        assert_eq!(u.password.as_deref(), Some("hunter22"));
        let u = DbUrl::parse("mariadb://root@127.0.0.1:3306/test", Some("fromenv")).unwrap();
        assert_eq!(u.engine(), Engine::Mysql);
        assert_eq!(u.shown(), "mariadb://root@127.0.0.1:3306/test");
        assert_eq!(u.url.scheme(), "mysql");
        assert_eq!(u.password.as_deref(), Some("fromenv"));
        assert_eq!(u.database().as_deref(), Some("test"));
        let u = DbUrl::parse("mysql://root:pw1@h/", Some("fromenv")).unwrap();
        assert_eq!(u.password.as_deref(), Some("pw1"), "the url's password comes first");
        assert_eq!(u.database(), None);
    }

    #[test]
    fn sqlite_urls() {
        let u = DbUrl::parse("sqlite:///var/db/app.db?mode=ro", None).unwrap();
        assert_eq!(u.engine(), Engine::Sqlite);
        assert_eq!(u.path.as_deref(), Some(std::path::Path::new("/var/db/app.db")));
        let u = DbUrl::parse("sqlite://rel/dir/a%20b.db", None).unwrap();
        assert_eq!(u.path.as_deref(), Some(std::path::Path::new("rel/dir/a b.db")));
        assert!(DbUrl::parse("sqlite://", None).is_err());
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        let e = DbUrl::parse("oracle://u:topsecret@h/db", None).unwrap_err().to_string();
        assert!(e.contains("unknown scheme") && !e.contains("topsecret"), "{e}");
        let e = DbUrl::parse("postgres://u:topsecret@/db", None).unwrap_err().to_string();
        assert!(!e.contains("topsecret"), "{e}");
        for raw in ["postgres://app:se/cret@db1/shop", "postgres://app:se#cret@db1/shop", "mysql://a:b?c@h:99999/d"] {
            let e = DbUrl::parse(raw, None).unwrap_err().to_string();
            assert!(!e.contains("cret") && !e.contains("b?c"), "{e}");
        }
    }

    #[test]
    fn filters() {
        let m = Matcher::new(&Filter {
            schemas: vec!["shop*".into()],
            tables: vec!["order*".into(), "billing.*".into()],
            exclude: vec!["orders_archive".into()],
            include_views: false,
        })
        .unwrap();
        assert!(m.schema("shop_jp", false) && !m.schema("public", true));
        assert!(m.table("shop", "orders") && m.table("billing", "cards"));
        assert!(!m.table("shop", "orders_archive") && !m.table("shop", "users"));
        let all = Matcher::new(&Filter::default()).unwrap();
        assert!(all.schema("x", true) && !all.schema("x", false) && all.table("x", "注文"));
    }

    #[test]
    fn dates_read_as_expiries() {
        assert_eq!(date_as_expiry(b"2029-12-31"), b"2029-12");
        assert_eq!(date_as_expiry(b"2029-12-01 00:00:00+09"), b"2029-12");
        assert_eq!(date_as_expiry(b"12/29"), b"12/29");
        assert!(crate::scan::expiry::is_value(date_as_expiry(b"2029-12-31"), 2026));
    }

    #[test]
    fn pages_adapt_to_row_size() {
        assert_eq!(page_rows(0, 0, None), PAGE_FIRST);
        assert_eq!(page_rows(1000, 100_000, None), PAGE_MAX);
        assert_eq!(page_rows(10, 100 << 20, None), PAGE_MIN);
        assert_eq!(page_rows(1000, 100_000, Some(7)), 7);
        let p = Pager { rows: 10, bytes: 100 };
        assert_eq!(p.next_limit(Some(10)), None);
        assert_eq!(p.next_limit(Some(15)), Some(5));
    }
}
