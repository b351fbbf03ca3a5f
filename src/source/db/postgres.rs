//! PostgreSQL: a read-only session (`default_transaction_read_only`, checked after
//! connecting), tables and columns from `pg_catalog`, rows in primary-key order one page
//! at a time with every value cast to text except `bytea` (sent as its bytes).

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, ConnectOptions, Row, ValueRef};

use super::render::{self, Layout, Render, Stop};
use super::{
    ColKind, DbError, DbOptions, DbUrl, Errors, KeyCast, KeyColumn, Matcher, PageError, Paged, Part, PartResult,
    RawRow, Table,
};
use crate::detectors::DetectorSet;

/// `"name"` with inner quotes doubled.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(super) fn connect(rt: &tokio::runtime::Runtime, url: &DbUrl, opts: &DbOptions) -> Result<PgConnection, DbError> {
    let mut o = PgConnectOptions::from_url(&url.url).map_err(|e| url.connect_error(&e.to_string()))?;
    if let Some(p) = &url.password {
        o = o.password(p);
    }
    let timeout_ms = opts.statement_timeout.as_millis().to_string();
    o = o.application_name("pansweep").options([
        ("default_transaction_read_only", "on"),
        ("statement_timeout", timeout_ms.as_str()),
        ("lock_timeout", timeout_ms.as_str()),
    ]);
    let mut conn = run(rt, opts.connect_timeout, o.connect()).map_err(|e| url.connect_error(&reason(&e)))?;
    // A pooler may drop start-up options: never scan on a session that could write.
    let ro: String = run(
        rt,
        opts.connect_timeout,
        sqlx::query_scalar("SELECT current_setting('transaction_read_only')").fetch_one(&mut conn),
    )
    .map_err(|e| url.connect_error(&reason(&e)))?;
    if ro != "on" {
        return Err(url.connect_error("the session is not read-only (default_transaction_read_only was not applied)"));
    }
    Ok(conn)
}

/// Runs a future on the connection's runtime with a time limit.
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

/// A fixed-shape text for an error: the SQLSTATE and the server's message (which names
/// objects, not values, except for conversion errors: the caller masks digits).
pub(super) fn reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| format!(" (sqlstate {c})")).unwrap_or_default();
            format!("{}{code}", crate::source::lowercase_first(d.message()))
        }
        sqlx::Error::Io(io) => format!("network error: {}", crate::source::lowercase_first(&io.to_string())),
        sqlx::Error::Tls(_) => "tls error".into(),
        sqlx::Error::Protocol(p) => format!("protocol error: {p}"),
        sqlx::Error::Configuration(c) => format!("bad configuration: {c}"),
        other => crate::source::lowercase_first(&other.to_string()),
    }
}

/// Whether the connection is unusable after `e`.
fn breaks(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("57") || c.starts_with("08")),
        _ => true,
    }
}

const DISCOVER: &str = "\
SELECT n.nspname::text, c.relname::text, c.relkind::text,
       CASE WHEN c.relkind = 'p' THEN coalesce((SELECT sum(greatest(ch.reltuples, 0)) FROM pg_catalog.pg_inherits i
                 JOIN pg_catalog.pg_class ch ON ch.oid = i.inhrelid WHERE i.inhparent = c.oid), 0)
            ELSE greatest(c.reltuples, 0) END::float8,
       a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod),
       coalesce(bt.typcategory, t.typcategory)::text, coalesce(bt.typname, t.typname)::text,
       pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')
         AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'),
       coalesce(array_position(pk.conkey, a.attnum), 0)::int4
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
WHERE c.relkind IN ('r', 'p', 'm', 'v', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
ORDER BY 1, 2, a.attnum";

/// How a column of this type category and (base) type name is read, if at all.
fn kind_of(det: &DetectorSet, name: &str, category: &str, base: &str) -> Option<ColKind> {
    match (category, base) {
        (_, "bytea") => Some(ColKind::Binary),
        (_, "int8" | "numeric") => Some(ColKind::Number),
        (_, "uuid") => None,
        ("D", _) => super::expiry_named(det, name).then_some(ColKind::Date),
        // String, enum, array, composite, user-defined (json, jsonb, xml, citext, …).
        ("S" | "E" | "A" | "C" | "U" | "X", _) => Some(ColKind::Text),
        _ => None,
    }
}

pub(super) fn discover(
    rt: &tokio::runtime::Runtime,
    conn: &mut PgConnection,
    url: &DbUrl,
    m: &Matcher,
    det: &DetectorSet,
) -> Result<Vec<Table>, DbError> {
    let rows = run(rt, Duration::from_mins(10), sqlx::query(DISCOVER).fetch_all(&mut *conn))
        .map_err(|e| url.query_error(&format!("cannot list tables: {}", reason(&e))))?;
    let mut tables: Vec<Table> = Vec::new();
    let mut keys: Vec<(i32, KeyColumn, bool)> = Vec::new();
    let mut any_readable = false;
    let finish = |t: &mut Table, keys: &mut Vec<(i32, KeyColumn, bool)>, any: bool| {
        keys.sort_by_key(|k| k.0);
        // Keyset paging needs every key column readable.
        if keys.iter().all(|k| k.2) {
            t.key = keys.drain(..).map(|k| k.1).collect();
        }
        keys.clear();
        t.denied = !any;
    };
    for row in rows {
        let g = |i: usize| row.try_get::<String, _>(i).unwrap_or_default();
        let (schema, name, relkind) = (g(0), g(1), g(2));
        if !m.schema(&schema, true) || !m.table(&schema, &name) {
            continue;
        }
        if matches!(relkind.as_str(), "v" | "f") && !m.include_views {
            continue;
        }
        let new_table = tables.last().is_none_or(|t| t.schema != schema || t.name != name);
        if new_table {
            if let Some(t) = tables.last_mut() {
                finish(t, &mut keys, any_readable);
            }
            any_readable = false;
            let est: f64 = row.try_get(3).unwrap_or(0.0);
            tables.push(Table {
                qualified: format!("{schema}.{name}"),
                schema: schema.clone(),
                name: name.clone(),
                columns: Vec::new(),
                unread: 0,
                denied_columns: 0,
                key: Vec::new(),
                // An estimate: positive, finite and bounded, so the cast is exact enough.
                #[allow(clippy::cast_sign_loss)]
                est_rows: if est.is_finite() && est > 0.0 { est.round().min(1e18) as u64 } else { 0 },
                partitioned: relkind == "p",
                denied: false,
            });
        }
        let t = tables.last_mut().expect("a table was pushed");
        let (col, type_name, category, base) = (g(4), g(5), g(6), g(7));
        let readable: bool = row.try_get(8).unwrap_or(false);
        let key_pos: i32 = row.try_get(9).unwrap_or(0);
        any_readable |= readable;
        if key_pos > 0 {
            keys.push((key_pos, KeyColumn { name: col.clone(), cast: KeyCast::PgType(type_name.clone()) }, readable));
        }
        let kind = kind_of(det, &col, &category, &base);
        t.add_column(col, kind, readable, type_name);
    }
    if let Some(t) = tables.last_mut() {
        finish(t, &mut keys, any_readable);
    }
    Ok(tables)
}

/// `FROM [ONLY] "schema"."table" AS t0` (`ONLY`: rows of inheritance children are read
/// with the children; a partitioned table is read whole, its partitions never alone).
fn from(t: &Table) -> String {
    let only = if t.partitioned { "" } else { "ONLY " };
    format!("FROM {only}{}.{} AS t0", quote(&t.schema), quote(&t.name))
}

pub(super) fn key_bounds(
    rt: &tokio::runtime::Runtime,
    conn: &mut PgConnection,
    url: &DbUrl,
    t: &Table,
) -> Result<Option<(i64, i64)>, DbError> {
    let [k] = t.key.as_slice() else { return Ok(None) };
    if !matches!(&k.cast, KeyCast::PgType(ty) if matches!(ty.as_str(), "bigint" | "integer" | "smallint")) {
        return Ok(None);
    }
    let sql = format!("SELECT min(t0.{c})::int8, max(t0.{c})::int8 {}", from(t), c = quote(&k.name));
    let row = run(rt, Duration::from_mins(10), sqlx::query(AssertSqlSafe(sql)).fetch_one(&mut *conn))
        .map_err(|e| url.query_error(&format!("{}: {}", t.qualified, reason(&e))))?;
    let lo: Option<i64> = row.try_get(0).ok();
    let hi: Option<i64> = row.try_get(1).ok();
    Ok(lo.zip(hi))
}

/// The select list: key values as text, then every column (text, or bytea as bytes).
fn select_list(t: &Table) -> String {
    let keys = t.key.iter().map(|k| format!("t0.{}::text", quote(&k.name)));
    let cols = t.columns.iter().map(|c| match c.kind {
        ColKind::Binary => format!("t0.{}", quote(&c.name)),
        _ => format!("t0.{}::text", quote(&c.name)),
    });
    keys.chain(cols).collect::<Vec<_>>().join(", ")
}

pub(super) fn scan(
    rt: &tokio::runtime::Runtime,
    conn: &mut PgConnection,
    url: &DbUrl,
    opts: &DbOptions,
    part: &Part,
    det: &DetectorSet,
    render: &mut Render<'_>,
) -> PartResult {
    let t = &*part.table;
    let layout = t.layout(det);
    if t.key.is_empty() {
        return scan_cursor(rt, conn, url, opts, part, &layout, render);
    }
    let limit_time = opts.statement_timeout + Duration::from_secs(5);
    let mut fetch = |after: Option<&[Vec<u8>]>, limit: u64| -> Result<Vec<PgRow>, PageError> {
        let mut conds = match t.key.as_slice() {
            [k] => part.range_conditions(&format!("t0.{}", quote(&k.name))),
            _ => Vec::new(),
        };
        if after.is_some() {
            let lhs: Vec<String> = t.key.iter().map(|k| format!("t0.{}", quote(&k.name))).collect();
            let rhs: Vec<String> = t
                .key
                .iter()
                .enumerate()
                .map(|(i, k)| match &k.cast {
                    KeyCast::PgType(ty) => format!("${}::text::{ty}", i + 1),
                    _ => format!("${}", i + 1),
                })
                .collect();
            conds.push(format!("({}) > ({})", lhs.join(", "), rhs.join(", ")));
        }
        let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        let order: Vec<String> = t.key.iter().map(|k| format!("t0.{}", quote(&k.name))).collect();
        let sql = format!("SELECT {} {}{filter} ORDER BY {} LIMIT {limit}", select_list(t), from(t), order.join(", "));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in after.unwrap_or_default() {
            q = q.bind(String::from_utf8_lossy(v).into_owned());
        }
        Ok(run(rt, limit_time, q.fetch_all(&mut *conn))?)
    };
    let mut source = Paged::new(&mut fetch, url, ERRORS, opts.sample, t);
    let done = render::scan_rows(&layout, &mut source, render);
    let broken = source.broken || matches!(done.stop, Some(Stop::Cancelled | Stop::Time));
    PartResult { rows: done.rows, bytes: done.bytes, stop: done.stop, broken }
}

impl RawRow for PgRow {
    fn cell(&self, i: usize) -> Option<&[u8]> {
        self.try_get_raw(i).ok().filter(|v| !v.is_null()).and_then(|v| v.as_bytes().ok())
    }
}

const ERRORS: Errors = Errors { reason, breaks };

/// A table without a key: a server-side cursor in a read-only transaction, fetched one
/// page at a time. Each `FETCH` runs under the statement timeout and nothing runs on the
/// server between fetches, so a read pansweep gives up on leaves no statement behind (the
/// backend ends the transaction when the connection goes).
fn scan_cursor(
    rt: &tokio::runtime::Runtime,
    conn: &mut PgConnection,
    url: &DbUrl,
    opts: &DbOptions,
    part: &Part,
    layout: &Layout,
    render: &mut Render<'_>,
) -> PartResult {
    let t = &*part.table;
    let limit_time = opts.statement_timeout + Duration::from_secs(5);
    let declare = format!("DECLARE pansweep_rows NO SCROLL CURSOR FOR SELECT {} {}", select_list(t), from(t));
    let opened = run(rt, limit_time, sqlx::raw_sql("BEGIN READ ONLY").execute(&mut *conn))
        .and_then(|_| run(rt, limit_time, sqlx::raw_sql(AssertSqlSafe(declare)).execute(&mut *conn)));
    if let Err(e) = opened {
        let broken = breaks(&e) || run(rt, limit_time, sqlx::raw_sql("ROLLBACK").execute(&mut *conn)).is_err();
        return PartResult { rows: 0, bytes: 0, stop: Some(Stop::Failed(url.scrub(&reason(&e)))), broken };
    }
    let mut fetch = |_: Option<&[Vec<u8>]>, limit: u64| -> Result<Vec<PgRow>, PageError> {
        let sql = format!("FETCH FORWARD {limit} FROM pansweep_rows");
        Ok(run(rt, limit_time, sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *conn))?)
    };
    let mut source = Paged::new(&mut fetch, url, ERRORS, opts.sample, t);
    let done = render::scan_rows(layout, &mut source, render);
    let mut broken = source.broken || matches!(done.stop, Some(Stop::Cancelled | Stop::Time));
    if !broken {
        // Closes the cursor (after a failed FETCH the transaction is aborted: same).
        let end = if done.stop.is_none() { "COMMIT" } else { "ROLLBACK" };
        broken = run(rt, limit_time, sqlx::raw_sql(end).execute(&mut *conn)).is_err();
    }
    PartResult { rows: done.rows, bytes: done.bytes, stop: done.stop, broken }
}
