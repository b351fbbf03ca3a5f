//! MySQL and MariaDB: a read-only session (`SET SESSION TRANSACTION READ ONLY`, checked),
//! tables and columns from `information_schema` read through the text protocol (so its
//! `VARBINARY` name columns need no decoding quirks), rows in primary-key order one page
//! at a time. Every statement is plain text without parameters: key values go back into
//! the keyset condition as literals that cannot break out (digits, or hex).

use std::future::Future;
use std::time::Duration;

use sqlx::decode::Decode;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlConnection, MySqlRow};
use sqlx::{AssertSqlSafe, ConnectOptions, Row, ValueRef};

use super::render::{self, Layout, Render, Stop};
use super::{
    ColKind, DbError, DbOptions, DbUrl, Errors, KeyCast, KeyColumn, Matcher, PageError, Paged, Pager, Part, PartResult,
    RawRow, Streamed, Table, hex_digits,
};
use crate::detectors::DetectorSet;

/// Which server: the statement-timeout variable differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Oracle MySQL (`max_execution_time`, milliseconds).
    Mysql,
    /// MariaDB (`max_statement_time`, seconds).
    Mariadb,
}

impl Flavor {
    fn timeout_sql(self, t: Duration) -> String {
        match self {
            Flavor::Mysql => format!("SET SESSION max_execution_time = {}", t.as_millis()),
            Flavor::Mariadb => format!("SET SESSION max_statement_time = {}", t.as_secs_f64()),
        }
    }
}

/// `` `name` `` with inner backticks doubled.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn run<T>(
    rt: &tokio::runtime::Runtime,
    limit: Duration,
    f: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    rt.block_on(async {
        tokio::time::timeout(limit, f).await.unwrap_or_else(|_| {
            Err(sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within the time limit")))
        })
    })
}

fn reason(e: &sqlx::Error) -> String {
    super::postgres::reason(e)
}

/// Whether the connection is unusable after `e` (server errors other than a lost or
/// killed connection leave it usable).
fn breaks(e: &sqlx::Error) -> bool {
    match e {
        // 1927 (MariaDB) / 1317 / 1053: connection killed, query interrupted, server
        // shutting down; 2006/2013: gone; SQLSTATE 08S01: communication failure.
        sqlx::Error::Database(d) => {
            d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|m| matches!(m.number(), 1927 | 1317 | 1053 | 2006 | 2013))
                || d.code().is_some_and(|c| c == "08S01")
        }
        _ => true,
    }
}

/// Column `i` of a text-protocol row as bytes (`None` for NULL).
fn bytes_at(row: &MySqlRow, i: usize) -> Option<&[u8]> {
    let v = row.try_get_raw(i).ok()?;
    if v.is_null() {
        return None;
    }
    <&[u8] as Decode<MySql>>::decode(v).ok()
}

fn text_at(row: &MySqlRow, i: usize) -> String {
    bytes_at(row, i).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
}

fn exec(rt: &tokio::runtime::Runtime, conn: &mut MySqlConnection, t: Duration, sql: String) -> Result<(), sqlx::Error> {
    run(rt, t, sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *conn)).map(|_| ())
}

pub(super) fn connect(
    rt: &tokio::runtime::Runtime,
    url: &DbUrl,
    opts: &DbOptions,
) -> Result<(MySqlConnection, Flavor), DbError> {
    let mut o = MySqlConnectOptions::from_url(&url.url).map_err(|e| url.connect_error(&e.to_string()))?;
    if let Some(p) = &url.password {
        o = o.password(p);
    }
    // Values arrive as utf8mb4 whatever the URL says, and timestamps in UTC (no repeated
    // hour at a DST change): key literals rely on both.
    o = o.charset("utf8mb4").timezone(Some("+00:00".to_owned()));
    let t = opts.connect_timeout;
    let mut conn = run(rt, t, o.connect()).map_err(|e| url.connect_error(&reason(&e)))?;
    let err = |e: sqlx::Error| url.connect_error(&reason(&e));
    let version = run(rt, t, sqlx::raw_sql("SELECT VERSION()").fetch_one(&mut conn)).map_err(err)?;
    let flavor =
        if text_at(&version, 0).to_ascii_lowercase().contains("mariadb") { Flavor::Mariadb } else { Flavor::Mysql };
    exec(rt, &mut conn, t, "SET SESSION TRANSACTION READ ONLY".into()).map_err(err)?;
    exec(rt, &mut conn, t, flavor.timeout_sql(opts.statement_timeout)).map_err(err)?;
    // The server gives up on a client that stops reading for this long (streamed reads).
    exec(rt, &mut conn, t, "SET SESSION net_write_timeout = 600".into()).map_err(err)?;
    let var = match flavor {
        Flavor::Mysql => "SELECT @@session.transaction_read_only",
        Flavor::Mariadb => "SELECT @@session.tx_read_only",
    };
    let ro = run(rt, t, sqlx::raw_sql(var).fetch_one(&mut conn)).map_err(err)?;
    if text_at(&ro, 0) != "1" {
        return Err(url.connect_error("the session is not read-only"));
    }
    Ok((conn, flavor))
}

const DISCOVER: &str = "\
SELECT c.TABLE_SCHEMA, c.TABLE_NAME, t.TABLE_TYPE, COALESCE(t.TABLE_ROWS, 0), c.COLUMN_NAME, c.DATA_TYPE,
       c.COLUMN_TYPE, COALESCE(c.CHARACTER_SET_NAME, ''), COALESCE(c.COLLATION_NAME, ''),
       COALESCE(s.SEQ_IN_INDEX, 0), FIND_IN_SET('select', c.PRIVILEGES) > 0
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
LEFT JOIN information_schema.STATISTICS s ON s.TABLE_SCHEMA = c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME
     AND s.INDEX_NAME = 'PRIMARY' AND s.COLUMN_NAME = c.COLUMN_NAME
WHERE c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION";

fn kind_of(det: &DetectorSet, name: &str, data_type: &str) -> Option<ColKind> {
    match data_type {
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" | "json" => {
            Some(ColKind::Text)
        }
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Some(ColKind::Binary),
        "bigint" | "decimal" => Some(ColKind::Number),
        "date" | "datetime" | "timestamp" => super::expiry_named(det, name).then_some(ColKind::Date),
        _ => None,
    }
}

fn key_cast(data_type: &str, charset: &str, collation: &str) -> Option<KeyCast> {
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match data_type {
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => Some(KeyCast::Integer),
        "char" | "varchar" if ident(charset) && ident(collation) => {
            Some(KeyCast::Chars { charset: charset.to_owned(), collation: collation.to_owned() })
        }
        "binary" | "varbinary" => Some(KeyCast::Bytes),
        "date" | "datetime" | "timestamp" => Some(KeyCast::Temporal),
        _ => None,
    }
}

pub(super) fn discover(
    rt: &tokio::runtime::Runtime,
    conn: &mut MySqlConnection,
    url: &DbUrl,
    m: &Matcher,
    det: &DetectorSet,
) -> Result<Vec<Table>, DbError> {
    let rows = run(rt, Duration::from_mins(10), sqlx::raw_sql(DISCOVER).fetch_all(&mut *conn))
        .map_err(|e| url.query_error(&format!("cannot list tables: {}", reason(&e))))?;
    let default_db = url.database();
    let mut tables: Vec<Table> = Vec::new();
    // (position in key, key column, usable for keyset paging)
    let mut keys: Vec<(u32, Option<KeyColumn>)> = Vec::new();
    let mut any_readable = false;
    let finish = |t: &mut Table, keys: &mut Vec<(u32, Option<KeyColumn>)>, any: bool| {
        keys.sort_by_key(|k| k.0);
        if !keys.is_empty() && keys.iter().all(|k| k.1.is_some()) {
            t.key = keys.drain(..).filter_map(|k| k.1).collect();
        }
        keys.clear();
        t.denied = !any;
    };
    for row in rows {
        let (schema, name, ty) = (text_at(&row, 0), text_at(&row, 1), text_at(&row, 2));
        let in_default = default_db.as_ref().is_none_or(|d| *d == schema);
        if !m.schema(&schema, in_default) || !m.table(&schema, &name) {
            continue;
        }
        match ty.as_str() {
            "BASE TABLE" | "SYSTEM VERSIONED" => {}
            "VIEW" if m.include_views => {}
            _ => continue,
        }
        if tables.last().is_none_or(|t| t.schema != schema || t.name != name) {
            if let Some(t) = tables.last_mut() {
                finish(t, &mut keys, any_readable);
            }
            any_readable = false;
            tables.push(Table {
                qualified: format!("{schema}.{name}"),
                schema: schema.clone(),
                name: name.clone(),
                columns: Vec::new(),
                unread: 0,
                denied_columns: 0,
                key: Vec::new(),
                est_rows: text_at(&row, 3).parse().unwrap_or(0),
                partitioned: false,
                denied: false,
            });
        }
        let t = tables.last_mut().expect("a table was pushed");
        let (col, data_type, column_type) = (text_at(&row, 4), text_at(&row, 5).to_ascii_lowercase(), text_at(&row, 6));
        let (charset, collation) = (text_at(&row, 7), text_at(&row, 8));
        let key_pos: u32 = text_at(&row, 9).parse().unwrap_or(0);
        let readable = text_at(&row, 10) == "1";
        any_readable |= readable;
        if key_pos > 0 {
            let cast = key_cast(&data_type, &charset, &collation).filter(|_| readable);
            keys.push((key_pos, cast.map(|cast| KeyColumn { name: col.clone(), cast })));
        }
        let kind = kind_of(det, &col, &data_type);
        t.add_column(col, kind, readable, column_type);
    }
    if let Some(t) = tables.last_mut() {
        finish(t, &mut keys, any_readable);
    }
    Ok(tables)
}

fn from(t: &Table) -> String {
    format!("FROM {}.{}", quote(&t.schema), quote(&t.name))
}

pub(super) fn key_bounds(
    rt: &tokio::runtime::Runtime,
    conn: &mut MySqlConnection,
    url: &DbUrl,
    t: &Table,
) -> Result<Option<(i64, i64)>, DbError> {
    let [k] = t.key.as_slice() else { return Ok(None) };
    if k.cast != KeyCast::Integer {
        return Ok(None);
    }
    let sql = format!("SELECT MIN({c}), MAX({c}) {}", from(t), c = quote(&k.name));
    let row = run(rt, Duration::from_mins(10), sqlx::raw_sql(AssertSqlSafe(sql)).fetch_one(&mut *conn))
        .map_err(|e| url.query_error(&format!("{}: {}", t.qualified, reason(&e))))?;
    let lo: Option<i64> = text_at(&row, 0).parse().ok();
    let hi: Option<i64> = text_at(&row, 1).parse().ok();
    Ok(lo.zip(hi))
}

fn select_list(t: &Table) -> String {
    let keys = t.key.iter().map(|k| quote(&k.name));
    let cols = t.columns.iter().map(|c| quote(&c.name));
    keys.chain(cols).collect::<Vec<_>>().join(", ")
}

/// A key value as a literal of its column's type, or `None` when it cannot be written
/// safely (then the part fails rather than guess).
fn literal(cast: &KeyCast, v: &[u8]) -> Option<String> {
    match cast {
        KeyCast::Integer => {
            let digits = v.strip_prefix(b"-").unwrap_or(v);
            (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
                .then(|| String::from_utf8_lossy(v).into_owned())
        }
        KeyCast::Chars { charset, collation } => {
            // The value arrived in the connection's character set (utf8mb4, set by the
            // driver); the column compares in its own set and collation.
            Some(format!("CONVERT(CONVERT(X'{}' USING utf8mb4) USING {charset}) COLLATE {collation}", hex_digits(v)))
        }
        KeyCast::Bytes | KeyCast::PgType(_) => Some(format!("X'{}'", hex_digits(v))),
        KeyCast::Temporal => v
            .iter()
            .all(|b| b.is_ascii_digit() || b" -:.".contains(b))
            .then(|| format!("'{}'", String::from_utf8_lossy(v))),
    }
}

#[allow(clippy::too_many_arguments)] // the connection's parts, passed apart to keep borrows simple
pub(super) fn scan(
    rt: &tokio::runtime::Runtime,
    conn: &mut MySqlConnection,
    flavor: Flavor,
    url: &DbUrl,
    opts: &DbOptions,
    part: &Part,
    det: &DetectorSet,
    render: &mut Render<'_>,
) -> PartResult {
    let t = &*part.table;
    let layout = t.layout(det);
    if t.key.is_empty() {
        return scan_streamed(rt, conn, flavor, url, opts, part, &layout, render);
    }
    let limit_time = opts.statement_timeout + Duration::from_secs(5);
    let mut fetch = |after: Option<&[Vec<u8>]>, limit: u64| -> Result<Vec<MySqlRow>, PageError> {
        let mut conds = match t.key.as_slice() {
            [k] => part.range_conditions(&quote(&k.name)),
            _ => Vec::new(),
        };
        if let Some(after) = after {
            let lhs: Vec<String> = t.key.iter().map(|k| quote(&k.name)).collect();
            let mut rhs = Vec::new();
            for (k, v) in t.key.iter().zip(after) {
                let Some(lit) = literal(&k.cast, v) else {
                    return Err(PageError::Key(format!("key column {} holds a value that cannot be paged on", k.name)));
                };
                rhs.push(lit);
            }
            // MariaDB plans a row comparison as a full index scan: the bound on the first
            // key column gives it a range to start from.
            if let (Some(first), Some(lit)) = (lhs.first(), rhs.first())
                && lhs.len() > 1
            {
                conds.push(format!("{first} >= {lit}"));
            }
            conds.push(format!("({}) > ({})", lhs.join(", "), rhs.join(", ")));
        }
        let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        let order: Vec<String> = t.key.iter().map(|k| quote(&k.name)).collect();
        let sql = format!("SELECT {} {}{filter} ORDER BY {} LIMIT {limit}", select_list(t), from(t), order.join(", "));
        Ok(run(rt, limit_time, sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(&mut *conn))?)
    };
    let mut source = Paged::new(&mut fetch, url, ERRORS, opts.sample, t);
    let done = render::scan_rows(&layout, &mut source, render);
    let broken = source.broken || matches!(done.stop, Some(Stop::Cancelled | Stop::Time));
    PartResult { rows: done.rows, bytes: done.bytes, stop: done.stop, broken }
}

impl RawRow for MySqlRow {
    fn cell(&self, i: usize) -> Option<&[u8]> {
        bytes_at(self, i)
    }
}

const ERRORS: Errors = Errors { reason, breaks };

/// A table without a usable key: one streaming statement (the text protocol sends rows
/// as they are read), with the server's statement timeout lifted and the wait for each
/// row limited instead.
#[allow(clippy::too_many_arguments)] // as `scan`
fn scan_streamed(
    rt: &tokio::runtime::Runtime,
    conn: &mut MySqlConnection,
    flavor: Flavor,
    url: &DbUrl,
    opts: &DbOptions,
    part: &Part,
    layout: &Layout,
    render: &mut Render<'_>,
) -> PartResult {
    let failed = |e: &sqlx::Error| PartResult {
        rows: 0,
        bytes: 0,
        stop: Some(Stop::Failed(url.scrub(&reason(e)))),
        broken: breaks(e),
    };
    if let Err(e) = exec(rt, conn, opts.connect_timeout, flavor.timeout_sql(Duration::ZERO)) {
        return failed(&e);
    }
    let t = &*part.table;
    let limit = opts.sample.map(|s| format!(" LIMIT {s}")).unwrap_or_default();
    let sql = format!("SELECT {} {}{limit}", select_list(t), from(t));
    let (done, broken) = {
        let stream = sqlx::raw_sql(AssertSqlSafe(sql)).fetch(&mut *conn);
        let mut source = Streamed {
            rt,
            stream,
            url,
            errors: ERRORS,
            wait: opts.statement_timeout,
            table: t,
            pager: Pager { rows: 0, bytes: 0 },
            broken: false,
        };
        let done = render::scan_rows(layout, &mut source, render);
        (done, source.broken)
    };
    let broken = broken || done.stop.is_some();
    if !broken && let Err(e) = exec(rt, conn, opts.connect_timeout, flavor.timeout_sql(opts.statement_timeout)) {
        return PartResult { broken: true, ..failed(&e) };
    }
    PartResult { rows: done.rows, bytes: done.bytes, stop: done.stop, broken }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_break_out() {
        assert_eq!(literal(&KeyCast::Integer, b"-42").as_deref(), Some("-42"));
        assert_eq!(literal(&KeyCast::Integer, b"1 OR 1=1"), None);
        assert_eq!(literal(&KeyCast::Bytes, b"a'b").as_deref(), Some("X'612762'"));
        let chars = KeyCast::Chars { charset: "utf8mb4".into(), collation: "utf8mb4_general_ci".into() };
        assert_eq!(
            literal(&chars, "注".as_bytes()).as_deref(),
            Some("CONVERT(CONVERT(X'e6b3a8' USING utf8mb4) USING utf8mb4) COLLATE utf8mb4_general_ci")
        );
        assert_eq!(literal(&KeyCast::Temporal, b"2026-01-02 03:04:05.5").as_deref(), Some("'2026-01-02 03:04:05.5'"));
        assert_eq!(literal(&KeyCast::Temporal, b"2026' OR '1"), None);
        assert_eq!(key_cast("varchar", "utf8mb4", "x' OR 1"), None);
        assert_eq!(quote("a`b"), "`a``b`");
    }
}
