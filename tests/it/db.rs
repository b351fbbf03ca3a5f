//! `pansweep db` against live servers and SQLite files (issue 5): every column type that
//! can hold a card number, row linkage, split card columns, Japanese and odd identifiers,
//! tables without a key, partitions and views, keyset paging over pages and key ranges,
//! sampling, permissions, a connection killed mid-table, passwords never shown, bad URLs
//! and read-only sessions.
//!
//! The servers come from `PANSWEEP_TEST_PG_URL` and `PANSWEEP_TEST_MYSQL_URL` (`.ci/run`
//! sets both); a test whose server is not configured prints `SKIPPED` on stderr and
//! passes. Each test works in a schema (PostgreSQL) or database (MySQL) of its own, named
//! `pansweep_it_<pid>_<n>_<test>` and dropped when the test ends, passed or not; roles and
//! users made for a test are dropped the same way. Data is loaded with the `psql` and
//! `mysql` clients (the MySQL session in `ANSI_QUOTES` mode, so that one SQL text with
//! `"quoted"` names serves every engine); SQLite files are built in memory with
//! `pansweep::source::sqlite::build`. Card numbers are generated at test time and never
//! printed: failure messages go through `mask_digits`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pansweep::source::sqlite;
use serde_json::{Value, json};

use crate::util::{Run, TestDir, findings, mask_digits, of_type, pan, pansweep, run_with_hang_guard, s, strs, summary};

const PG_ENV: &str = "PANSWEEP_TEST_PG_URL";
const MY_ENV: &str = "PANSWEEP_TEST_MYSQL_URL";
/// A guard against a hanging run, not a timing assertion.
const LIMIT: Duration = Duration::from_mins(2);
/// Public test PANs: class `test_pan`, which does not count for exit 1.
const TEST_VISA: &str = "4111111111111111";
const TEST_MC: &str = "5555555555554444";
/// The password that must never be shown.
const SECRET: &str = "Sup3rSecretPw";

// ---------------------------------------------------------------------------------------
// Databases made for one test.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Pg,
    My,
    Lite,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// `pansweep_it_<pid>_<n>_<tag>`: unique per process and call, short enough for a
/// PostgreSQL identifier (63 bytes) and a MySQL database name (64).
fn unique(tag: &str) -> String {
    let tag: String = tag.chars().take(28).collect();
    format!("pansweep_it_{}_{}_{tag}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The server URL from `var`, or `None` after saying loudly that the test is skipped.
#[allow(clippy::print_stderr)] // a skipped test says so on stderr
fn server(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            eprintln!("SKIPPED db::{test}: {var} is not set (.ci/run sets it to the local server)");
            None
        }
    }
}

/// Runs `cmd` with `input` on stdin; stdout on success, both streams on failure.
fn feed(cmd: &mut Command, input: &str) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the sql client: {e}"))?;
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().map_err(|e| format!("sql client: {e}"))?;
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

/// `psql` on `url` running `sql` (unaligned, tuples only).
fn psql_cmd(url: &str) -> Command {
    let mut c = Command::new("psql");
    c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"])
        .env("PGCLIENTENCODING", "UTF8")
        .env("PGCONNECT_TIMEOUT", "10");
    c
}

fn try_psql(url: &str, sql: &str) -> Result<String, String> {
    feed(&mut psql_cmd(url), sql)
}

fn psql(url: &str, sql: &str) -> String {
    try_psql(url, sql).unwrap_or_else(|e| panic!("psql failed: {}", mask_digits(&e)))
}

/// The `mysql` client on the server of `url`, in database `db`, `ANSI_QUOTES` on.
fn mysql_cmd(url: &str, db: Option<&str>) -> Command {
    let u = url::Url::parse(url).expect("PANSWEEP_TEST_MYSQL_URL is a URL");
    let mut c = Command::new("mysql");
    c.args(["--protocol=TCP", "--batch", "--skip-column-names", "--default-character-set=utf8mb4"])
        .arg(format!("--host={}", u.host_str().unwrap_or("127.0.0.1")))
        .arg(format!("--port={}", u.port().unwrap_or(3306)))
        .arg(format!("--user={}", if u.username().is_empty() { "root" } else { u.username() }))
        .arg("--connect-timeout=10");
    if let Some(p) = u.password() {
        c.env("MYSQL_PWD", p);
    }
    if let Some(db) = db {
        c.arg(format!("--database={db}"));
    }
    c
}

fn try_mysql(url: &str, db: Option<&str>, sql: &str) -> Result<String, String> {
    feed(&mut mysql_cmd(url, db), &format!("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES');\n{sql}"))
}

fn mysql(url: &str, db: Option<&str>, sql: &str) -> String {
    try_mysql(url, db, sql).unwrap_or_else(|e| panic!("mysql failed: {}", mask_digits(&e)))
}

/// `"name"` for PostgreSQL (and MySQL in `ANSI_QUOTES` mode, and SQLite).
fn dq(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A schema (PostgreSQL), database (MySQL) or file (SQLite) of one test, dropped on drop.
struct Db {
    engine: Engine,
    /// Schema, database, or `main`.
    name: String,
    /// The server URL from the environment (empty for SQLite).
    server: String,
    dir: TestDir,
    /// SQLite: the statements so far (the file is built before each run).
    lite_sql: RefCell<String>,
}

impl Db {
    fn pg(test: &str) -> Option<Db> {
        let server = server(PG_ENV, test)?;
        let name = unique(test);
        psql(&server, &format!("CREATE SCHEMA {};", dq(&name)));
        Some(Db { engine: Engine::Pg, name, server, dir: TestDir::new(), lite_sql: RefCell::default() })
    }

    fn mysql(test: &str) -> Option<Db> {
        let server = server(MY_ENV, test)?;
        let name = unique(test);
        mysql(
            &server,
            None,
            &format!("CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;", dq(&name)),
        );
        Some(Db { engine: Engine::My, name, server, dir: TestDir::new(), lite_sql: RefCell::default() })
    }

    fn sqlite() -> Db {
        Db {
            engine: Engine::Lite,
            name: "main".into(),
            server: String::new(),
            dir: TestDir::new(),
            lite_sql: RefCell::default(),
        }
    }

    fn try_exec(&self, sql: &str) -> Result<String, String> {
        match self.engine {
            Engine::Pg => try_psql(&self.server, &format!("SET search_path TO {}, public;\n{sql}", dq(&self.name))),
            Engine::My => try_mysql(&self.server, Some(&self.name), sql),
            Engine::Lite => {
                self.lite_sql.borrow_mut().push_str(sql);
                self.lite_sql.borrow_mut().push('\n');
                Ok(String::new())
            }
        }
    }

    /// Runs SQL in this schema / database (SQLite: adds it to the file's script).
    fn exec(&self, sql: &str) -> String {
        self.try_exec(sql).unwrap_or_else(|e| panic!("{:?} setup failed: {}", self.engine, mask_digits(&e)))
    }

    fn lite_path(&self) -> std::path::PathBuf {
        self.dir.join("app.sqlite")
    }

    /// The URL pansweep is given (MySQL: with this database; SQLite: the file).
    fn url(&self) -> String {
        match self.engine {
            Engine::Pg => self.server.clone(),
            Engine::My => {
                let mut u = url::Url::parse(&self.server).expect("mysql url");
                u.set_path(&format!("/{}", self.name));
                u.to_string()
            }
            Engine::Lite => format!("sqlite://{}", self.lite_path().display()),
        }
    }

    /// The `path` of findings: the URL without a password.
    fn shown(&self) -> String {
        if self.engine == Engine::Lite {
            return self.url();
        }
        let mut u = url::Url::parse(&self.url()).expect("url");
        let _ = u.set_password(None);
        u.to_string()
    }

    fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Pg => "postgres",
            Engine::My => "mysql",
            Engine::Lite => "sqlite",
        }
    }

    /// A table as reported: `schema.name`.
    fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.name)
    }

    /// `pansweep db --format jsonl URL [--schema S] EXTRA…`.
    fn command(&self, extra: &[&str]) -> Command {
        self.command_as("jsonl", extra)
    }

    /// `pansweep db --format FORMAT URL [--schema S] EXTRA…`.
    fn command_as(&self, format: &str, extra: &[&str]) -> Command {
        if self.engine == Engine::Lite {
            let bytes = sqlite::build(&self.lite_sql.borrow())
                .unwrap_or_else(|e| panic!("sqlite build: {}", mask_digits(&e.to_string())));
            self.dir.write("app.sqlite", bytes);
        }
        let mut c = pansweep();
        c.args(["db", "--format", format]).arg(self.url());
        if self.engine == Engine::Pg {
            c.args(["--schema", &self.name]);
        }
        c.args(extra);
        c
    }

    fn run(&self, extra: &[&str]) -> (Run, Vec<Value>) {
        let r = run_with_hang_guard(&mut self.command(extra), LIMIT);
        let v = r.jsonl();
        (r, v)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Errors are ignored: a failed drop must not hide the test's own failure.
        match self.engine {
            Engine::Pg => {
                let _ = try_psql(&self.server, &format!("DROP SCHEMA IF EXISTS {} CASCADE;", dq(&self.name)));
            }
            Engine::My => {
                let _ = try_mysql(&self.server, None, &format!("DROP DATABASE IF EXISTS {};", dq(&self.name)));
            }
            Engine::Lite => {}
        }
    }
}

/// A PostgreSQL role (LOGIN, no password: the test server trusts local connections) or a
/// MySQL user, dropped on drop.
struct Account {
    engine: Engine,
    server: String,
    name: String,
}

impl Account {
    fn pg(db: &Db) -> Account {
        let name = format!("pansweep_it_role_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        psql(&db.server, &format!("CREATE ROLE {} LOGIN;", dq(&name)));
        Account { engine: Engine::Pg, server: db.server.clone(), name }
    }

    fn mysql(db: &Db, password: &str) -> Account {
        let name = format!("psw_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        mysql(&db.server, None, &format!("CREATE USER '{name}'@'%' IDENTIFIED BY '{password}';"));
        Account { engine: Engine::My, server: db.server.clone(), name }
    }

    /// The server URL with this account as user (and `password`), path `/db`.
    fn url(&self, password: Option<&str>, db: &str) -> String {
        let mut u = url::Url::parse(&self.server).expect("url");
        u.set_username(&self.name).expect("set user");
        u.set_password(password).expect("set password");
        if !db.is_empty() {
            u.set_path(&format!("/{db}"));
        }
        u.to_string()
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        match self.engine {
            Engine::Pg => {
                let r = dq(&self.name);
                let _ = try_psql(&self.server, &format!("DROP OWNED BY {r}; DROP ROLE IF EXISTS {r};"));
            }
            Engine::My => {
                let _ = try_mysql(&self.server, None, &format!("DROP USER IF EXISTS '{}'@'%';", self.name));
            }
            Engine::Lite => {}
        }
    }
}

/// Defines `mod <name> { postgres, mysql, sqlite }` tests running `fn <name>(&Db)` on a
/// fresh database of each engine (the server ones skipped when not configured).
macro_rules! on_every_engine {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn postgres() {
                if let Some(db) = super::Db::pg(stringify!($name)) {
                    super::$name(&db);
                }
            }

            #[test]
            fn mysql() {
                if let Some(db) = super::Db::mysql(stringify!($name)) {
                    super::$name(&db);
                }
            }

            #[test]
            fn sqlite() {
                super::$name(&super::Db::sqlite());
            }
        }
    )*};
}

on_every_engine!(
    row_linkage,
    split_card_columns,
    japanese_and_odd_identifiers,
    table_without_a_key,
    sample_reads_the_first_rows_only,
    keyed_by_card_number,
    scope_filters,
    long_values_map_to_their_rows,
    tiers_and_report_formats,
);

// ---------------------------------------------------------------------------------------
// Card numbers and findings.

/// `n` generated Luhn-valid PANs of `len` digits after `prefix`, distinct in
/// (first 6, last 4) so that a finding names the one it is.
fn pans(prefix: &str, len: usize, seed: u64, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut k = seed;
    while out.len() < n {
        let p = pan(prefix, len, k);
        k += 1;
        if !out.iter().any(|o| o[..6] == p[..6] && o[o.len() - 4..] == p[p.len() - 4..]) {
            out.push(p);
        }
    }
    out
}

/// (table, column, row key as JSON, class, first6, last4): where a finding is and what.
type Cell = (String, String, String, String, String, String);

fn cell_of(f: &Value) -> Cell {
    (
        s(f, "table").to_owned(),
        s(f, "column").to_owned(),
        f["row_key"].to_string(),
        s(f, "class").to_owned(),
        s(f, "first6").to_owned(),
        s(f, "last4").to_owned(),
    )
}

fn cell(table: &str, column: &str, key: &Value, class: &str, number: &str) -> Cell {
    (
        table.to_owned(),
        column.to_owned(),
        key.to_string(),
        class.to_owned(),
        number[..6].to_owned(),
        number[number.len() - 4..].to_owned(),
    )
}

/// Every finding as a cell; fails if one is reported twice.
fn cells(r: &Run, recs: &[Value]) -> BTreeSet<Cell> {
    let mut out = BTreeSet::new();
    for f in findings(recs) {
        assert!(out.insert(cell_of(f)), "reported twice: {:?}\n{}", cell_of(f), r.show());
    }
    out
}

/// The findings at (table, column, row key).
fn at<'a>(recs: &'a [Value], table: &str, column: &str, key: &Value) -> Vec<&'a Value> {
    findings(recs)
        .into_iter()
        .filter(|f| s(f, "table") == table && s(f, "column") == column && f["row_key"] == *key)
        .collect()
}

/// The one finding at (table, column, row key) for `number`.
fn one<'a>(r: &Run, recs: &'a [Value], table: &str, column: &str, key: &Value, number: &str) -> &'a Value {
    let v: Vec<_> = at(recs, table, column, key)
        .into_iter()
        .filter(|f| s(f, "first6") == &number[..6] && s(f, "last4") == &number[number.len() - 4..])
        .collect();
    assert_eq!(v.len(), 1, "one finding at {table} / {column} / {key}\n{}", r.show());
    v[0]
}

/// No full card number in either stream.
fn no_leak(r: &Run, numbers: &[String]) {
    for n in numbers {
        assert!(!r.stdout().contains(n.as_str()) && !r.stderr().contains(n.as_str()), "a full number in the output");
    }
}

/// The `table` record of `table`.
fn table_rec<'a>(r: &Run, recs: &'a [Value], table: &str) -> &'a Value {
    let t: Vec<_> = of_type(recs, "table").into_iter().filter(|t| s(t, "table") == table).collect();
    assert_eq!(t.len(), 1, "one table record for {table}\n{}", r.show());
    t[0]
}

fn has_signal(f: &Value, signal: &str) -> bool {
    strs(f, "signals").iter().any(|x| x == signal)
}

/// Base64 (standard alphabet, padded): the tests put base64 text into binary columns.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut h, b| {
        let _ = write!(h, "{b:02X}");
        h
    })
}

/// A binary literal of `bytes` for `engine`.
fn blob(engine: Engine, bytes: &[u8]) -> String {
    match engine {
        Engine::Pg => format!("'\\x{}'::bytea", hex(bytes)),
        Engine::My | Engine::Lite => format!("X'{}'", hex(bytes)),
    }
}

/// Full-width digits (U+FF10–U+FF19) for ASCII ones.
fn fullwidth(number: &str) -> String {
    number.chars().map(|c| char::from_u32(0xFF10 + c.to_digit(10).expect("digit")).expect("char")).collect()
}

/// `INSERT INTO table(cols) SELECT <n>, …` for `n` in `first..=last`: a cross join of a
/// digits table, the same SQL on every engine. `select` is the select list with `n` in it.
fn insert_series(table: &str, cols: &str, select: &str, first: u64, last: u64) -> String {
    let mut places = 1;
    while 10u64.pow(places) < last - first + 1 {
        places += 1;
    }
    let n = (0..places).map(|i| format!("{}*d{i}.x", 10u64.pow(i))).collect::<Vec<_>>().join(" + ");
    let from = (0..places).map(|i| format!("digits d{i}")).collect::<Vec<_>>().join(", ");
    format!(
        "CREATE TABLE digits(x INT);
         INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
         INSERT INTO {table}({cols}) SELECT {select} FROM (SELECT {first} + {n} AS n FROM {from}) s WHERE n <= {last};
         DROP TABLE digits;"
    )
}

// ---------------------------------------------------------------------------------------
// 1. Every column type.

/// A number planted in `column` of row `id`.
struct Plant {
    column: &'static str,
    id: u32,
    number: String,
    /// Decoders the finding must carry, in order.
    decoders: &'static [&'static str],
}

fn check_plants(db: &Db, r: &Run, recs: &[Value], table: &str, plants: &[Plant]) {
    let numbers: Vec<String> = plants.iter().map(|p| p.number.clone()).collect();
    no_leak(r, &numbers);
    let table = db.table(table);
    for p in plants {
        let f = one(r, recs, &table, p.column, &json!({"id": p.id.to_string()}), &p.number);
        assert_eq!(s(f, "class"), "pan", "{}: {}", p.column, r.show());
        assert_eq!(s(f, "engine"), db.engine_name());
        assert_eq!(s(f, "path"), db.shown());
        assert_eq!(strs(f, "decoders"), p.decoders, "{}: {}", p.column, r.show());
        assert_eq!(s(f, "masked"), crate::util::masked(&p.number));
        assert!(f.get("line").is_none() && f.get("byte_offset").is_none(), "a row is placed by its key");
    }
    // Nothing else: each planted number once, in its own cell.
    let pan_findings = findings(recs).into_iter().filter(|f| s(f, "class") == "pan").count();
    assert_eq!(pan_findings, plants.len(), "{}", r.show());
    let t = table_rec(r, recs, &table);
    assert_eq!(t["complete"], true);
    assert_eq!(t["distinct_pans"], plants.len());
    assert!(of_type(recs, "skipped").is_empty(), "{}", r.show());
    assert_eq!(r.code, 1, "{}", r.show());
}

/// The row with `card_no` and an expiry-named `expire` column (a date on the servers,
/// `MM/YY` text in SQLite, which has no date type): the expiry links to the PAN.
fn check_expire_date(db: &Db, r: &Run, recs: &[Value], table: &str, id: u32, number: &str) {
    let f = one(r, recs, &db.table(table), "card_no", &json!({"id": id.to_string()}), number);
    assert!(has_signal(f, "row:expiry"), "the expire date is the row's expiry: {}", r.show());
    assert!(strs(f, "elements").contains(&"expiry".to_owned()), "{}", r.show());
    assert_eq!(s(f, "confidence"), "high", "{}", r.show());
}

#[test]
fn every_type_postgres() {
    let Some(db) = Db::pg("types") else { return };
    let p = pans("453201", 16, 1000, 16);
    // citext is an extension: made here when missing (it then goes with the schema).
    let citext = db
        .try_exec(
            "CREATE EXTENSION IF NOT EXISTS citext;
             SELECT quote_ident(n.nspname) || '.citext' FROM pg_extension e
               JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'citext';",
        )
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let ci_type = citext.unwrap_or_else(|| "text".into());
    let raw = format!("ref {} ok", p[11]);
    let b64 = base64(format!("captured card {}\n", p[12]).as_bytes());
    db.exec(&format!(
        "CREATE TYPE mood AS ENUM ('none', '{e}');
         CREATE TABLE types(id int PRIMARY KEY, t text, vc varchar(40), ch char(20), ci {ci_type}, en mood,
             js json, jb jsonb, x xml, arr text[], num numeric(19,0), bi bigint, raw bytea, b64 bytea, fw text,
             card_no text, expire date, flag boolean, small int);
         INSERT INTO types(id, t) VALUES (1, 'ref {t}');
         INSERT INTO types(id, vc) VALUES (2, '{vc}');
         INSERT INTO types(id, ch) VALUES (3, '{ch}');
         INSERT INTO types(id, ci) VALUES (4, '{ci}');
         INSERT INTO types(id, en) VALUES (5, '{e}');
         INSERT INTO types(id, js) VALUES (6, '{{\"ref\": \"{js}\"}}');
         INSERT INTO types(id, jb) VALUES (7, '{{\"n\": {jb}}}');
         INSERT INTO types(id, x) VALUES (8, '<ref>{x}</ref>');
         INSERT INTO types(id, arr) VALUES (9, ARRAY['none', '{arr}']);
         INSERT INTO types(id, num) VALUES (10, {num});
         INSERT INTO types(id, bi) VALUES (11, {bi});
         INSERT INTO types(id, raw) VALUES (12, {raw});
         INSERT INTO types(id, b64) VALUES (13, convert_to('{b64}', 'UTF8'));
         INSERT INTO types(id, fw) VALUES (14, '{fw}');
         INSERT INTO types(id, card_no, expire) VALUES (15, '{card}', DATE '2029-12-31');
         INSERT INTO types(id, flag, small) VALUES (16, true, 42);",
        e = p[4],
        t = p[0],
        vc = p[1],
        ch = p[2],
        ci = p[3],
        js = p[5],
        jb = p[6],
        x = p[7],
        arr = p[8],
        num = p[9],
        bi = p[10],
        raw = blob(Engine::Pg, raw.as_bytes()),
        fw = fullwidth(&p[13]),
        card = p[14],
    ));
    // Without the extension `ci` is a text column: read all the same.
    let plants = vec![
        Plant { column: "t", id: 1, number: p[0].clone(), decoders: &[] },
        Plant { column: "vc", id: 2, number: p[1].clone(), decoders: &[] },
        Plant { column: "ch", id: 3, number: p[2].clone(), decoders: &[] },
        Plant { column: "ci", id: 4, number: p[3].clone(), decoders: &[] },
        Plant { column: "en", id: 5, number: p[4].clone(), decoders: &[] },
        Plant { column: "js", id: 6, number: p[5].clone(), decoders: &[] },
        Plant { column: "jb", id: 7, number: p[6].clone(), decoders: &[] },
        Plant { column: "x", id: 8, number: p[7].clone(), decoders: &[] },
        Plant { column: "arr", id: 9, number: p[8].clone(), decoders: &[] },
        Plant { column: "num", id: 10, number: p[9].clone(), decoders: &[] },
        Plant { column: "bi", id: 11, number: p[10].clone(), decoders: &[] },
        Plant { column: "raw", id: 12, number: p[11].clone(), decoders: &["blob"] },
        Plant { column: "b64", id: 13, number: p[12].clone(), decoders: &["blob", "base64"] },
        Plant { column: "fw", id: 14, number: p[13].clone(), decoders: &["fullwidth"] },
        Plant { column: "card_no", id: 15, number: p[14].clone(), decoders: &[] },
    ];
    let (r, recs) = db.run(&[]);
    check_plants(&db, &r, &recs, "types", &plants);
    check_expire_date(&db, &r, &recs, "types", 15, &p[14]);
    let t = table_rec(&r, &recs, &db.table("types"));
    assert_eq!(t["rows"], 16);
    // id (int4), flag (boolean) and small (int4) cannot hold a card number.
    assert_eq!((t["columns_read"].as_u64(), t["columns_unread"].as_u64()), (Some(16), Some(3)), "{}", r.show());
}

#[test]
fn every_type_mysql() {
    let Some(db) = Db::mysql("types") else { return };
    let p = pans("453201", 16, 1100, 15);
    let b64 = base64(format!("captured card {}\n", p[10]).as_bytes());
    db.exec(&format!(
        "CREATE TABLE types(id INT PRIMARY KEY, c CHAR(20), vc VARCHAR(40), t TEXT, mt MEDIUMTEXT, lt LONGTEXT,
             en ENUM('none', '{en}'), js JSON, num DECIMAL(19,0), bi BIGINT, bl BLOB, b64 BLOB, vb VARBINARY(64),
             fw VARCHAR(40), card_no VARCHAR(20), expire DATE, flag TINYINT, small INT);
         INSERT INTO types(id, c) VALUES (1, '{c}');
         INSERT INTO types(id, vc) VALUES (2, '{vc}');
         INSERT INTO types(id, t) VALUES (3, 'ref {t}');
         INSERT INTO types(id, mt) VALUES (4, 'ref {mt}');
         INSERT INTO types(id, lt) VALUES (5, 'ref {lt}');
         INSERT INTO types(id, en) VALUES (6, '{en}');
         INSERT INTO types(id, js) VALUES (7, '{{\"ref\": \"{js}\"}}');
         INSERT INTO types(id, num) VALUES (8, {num});
         INSERT INTO types(id, bi) VALUES (9, {bi});
         INSERT INTO types(id, bl) VALUES (10, {bl});
         INSERT INTO types(id, b64) VALUES (11, '{b64}');
         INSERT INTO types(id, vb) VALUES (12, {vb});
         INSERT INTO types(id, fw) VALUES (13, '{fw}');
         INSERT INTO types(id, card_no, expire) VALUES (14, '{card}', '2029-12-31');
         INSERT INTO types(id, flag, small) VALUES (15, 1, 42);",
        c = p[0],
        vc = p[1],
        t = p[2],
        mt = p[3],
        lt = p[4],
        en = p[5],
        js = p[6],
        num = p[7],
        bi = p[8],
        bl = blob(Engine::My, format!("ref {} ok", p[9]).as_bytes()),
        vb = blob(Engine::My, format!("ref {} ok", p[11]).as_bytes()),
        fw = fullwidth(&p[12]),
        card = p[13],
    ));
    let plants = vec![
        Plant { column: "c", id: 1, number: p[0].clone(), decoders: &[] },
        Plant { column: "vc", id: 2, number: p[1].clone(), decoders: &[] },
        Plant { column: "t", id: 3, number: p[2].clone(), decoders: &[] },
        Plant { column: "mt", id: 4, number: p[3].clone(), decoders: &[] },
        Plant { column: "lt", id: 5, number: p[4].clone(), decoders: &[] },
        Plant { column: "en", id: 6, number: p[5].clone(), decoders: &[] },
        Plant { column: "js", id: 7, number: p[6].clone(), decoders: &[] },
        Plant { column: "num", id: 8, number: p[7].clone(), decoders: &[] },
        Plant { column: "bi", id: 9, number: p[8].clone(), decoders: &[] },
        Plant { column: "bl", id: 10, number: p[9].clone(), decoders: &["blob"] },
        Plant { column: "b64", id: 11, number: p[10].clone(), decoders: &["blob", "base64"] },
        Plant { column: "vb", id: 12, number: p[11].clone(), decoders: &["blob"] },
        Plant { column: "fw", id: 13, number: p[12].clone(), decoders: &["fullwidth"] },
        Plant { column: "card_no", id: 14, number: p[13].clone(), decoders: &[] },
    ];
    let (r, recs) = db.run(&[]);
    check_plants(&db, &r, &recs, "types", &plants);
    check_expire_date(&db, &r, &recs, "types", 14, &p[13]);
    let t = table_rec(&r, &recs, &db.table("types"));
    assert_eq!(t["rows"], 15);
    // id and small (INT) and flag (TINYINT) cannot hold a card number.
    assert_eq!((t["columns_read"].as_u64(), t["columns_unread"].as_u64()), (Some(15), Some(3)), "{}", r.show());
}

#[test]
fn every_type_sqlite() {
    let db = Db::sqlite();
    let p = pans("453201", 16, 1200, 6);
    let b64 = base64(format!("captured card {}\n", p[3]).as_bytes());
    db.exec(&format!(
        "CREATE TABLE types(id INTEGER PRIMARY KEY, t TEXT, i INTEGER, bl BLOB, b64 BLOB, fw TEXT, card_no TEXT, expire TEXT);
         INSERT INTO types(id, t) VALUES (1, 'ref {t}');
         INSERT INTO types(id, i) VALUES (2, {i});
         INSERT INTO types(id, bl) VALUES (3, {bl});
         INSERT INTO types(id, b64) VALUES (4, CAST('{b64}' AS BLOB));
         INSERT INTO types(id, fw) VALUES (5, '{fw}');
         INSERT INTO types(id, card_no, expire) VALUES (6, '{card}', '12/29');",
        t = p[0],
        i = p[1],
        bl = blob(Engine::Lite, format!("ref {} ok", p[2]).as_bytes()),
        fw = fullwidth(&p[4]),
        card = p[5],
    ));
    let plants = vec![
        Plant { column: "t", id: 1, number: p[0].clone(), decoders: &[] },
        Plant { column: "i", id: 2, number: p[1].clone(), decoders: &[] },
        Plant { column: "bl", id: 3, number: p[2].clone(), decoders: &["blob"] },
        Plant { column: "b64", id: 4, number: p[3].clone(), decoders: &["blob", "base64"] },
        Plant { column: "fw", id: 5, number: p[4].clone(), decoders: &["fullwidth"] },
        Plant { column: "card_no", id: 6, number: p[5].clone(), decoders: &[] },
    ];
    let (r, recs) = db.run(&[]);
    check_plants(&db, &r, &recs, "types", &plants);
    check_expire_date(&db, &r, &recs, "types", 6, &p[5]);
}

// ---------------------------------------------------------------------------------------
// 2. Row linkage: security code, expiry, masked numbers.

fn row_linkage(db: &Db) {
    let p = pans("453201", 16, 2000, 3);
    db.exec(&format!(
        "CREATE TABLE orders(id INT PRIMARY KEY, card_no VARCHAR(40), expire VARCHAR(10), cvv VARCHAR(4), note VARCHAR(40));
         INSERT INTO orders VALUES (1, '{a}', '12/29', '123', NULL);
         INSERT INTO orders VALUES (2, NULL, NULL, NULL, 'nothing here');
         INSERT INTO orders VALUES (3, '{b}', '11/28', NULL, NULL);
         INSERT INTO orders VALUES (4, NULL, NULL, NULL, 'nothing here');
         INSERT INTO orders VALUES (5, '411111******1111', '10/27', NULL, NULL);
         INSERT INTO orders VALUES (6, '{c}', NULL, '45', NULL);",
        a = p[0],
        b = p[1],
        c = p[2],
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, &p);
    let t = db.table("orders");
    let key = |id: u32| json!({"id": id.to_string()});
    let crit = one(&r, &recs, &t, "card_no", &key(1), &p[0]);
    assert_eq!((s(crit, "class"), s(crit, "confidence")), ("pan", "critical"), "{}", r.show());
    assert_eq!(strs(crit, "elements"), ["pan", "expiry", "cvv"], "{}", r.show());
    assert!(has_signal(crit, "row:cvv") && has_signal(crit, "row:expiry"), "{}", r.show());
    let high = one(&r, &recs, &t, "card_no", &key(3), &p[1]);
    assert_eq!((s(high, "class"), s(high, "confidence")), ("pan", "high"), "{}", r.show());
    assert!(has_signal(high, "row:expiry") && !has_signal(high, "row:cvv"), "{}", r.show());
    // A masked number is reported as such, never as a PAN.
    let m = at(&recs, &t, "card_no", &key(5));
    assert_eq!(m.len(), 1, "{}", r.show());
    assert_eq!(s(m[0], "class"), "masked_pan", "{}", r.show());
    assert_eq!(s(m[0], "masked"), "411111******1111");
    // Two digits in the cvv column are not a security code.
    let two = one(&r, &recs, &t, "card_no", &key(6), &p[2]);
    assert_ne!(s(two, "confidence"), "critical", "{}", r.show());
    assert!(!has_signal(two, "row:cvv"), "{}", r.show());
    assert_eq!(findings(&recs).len(), 4, "{}", r.show());
    let tr = table_rec(&r, &recs, &t);
    assert_eq!(tr["engine"], db.engine_name());
    assert_eq!(tr["path"], db.shown());
    assert_eq!(tr["rows"], 6);
    assert_eq!((tr["sampled"].as_bool(), tr["complete"].as_bool()), (Some(false), Some(true)));
    assert_eq!(tr["findings"]["critical"], 1, "{}", r.show());
    assert_eq!(tr["findings"]["masked_pan"], 1, "{}", r.show());
    assert_eq!(tr["distinct_pans"], 3, "{}", r.show());
    let cols = tr["columns"].as_array().expect("columns");
    assert_eq!(cols.len(), 1, "{}", r.show());
    assert_eq!(cols[0]["column"], "card_no");
    assert_eq!(cols[0]["example_row_keys"], json!([key(1), key(3), key(5), key(6)]), "{}", r.show());
    let sum = summary(&recs);
    assert_eq!((sum["tables"].as_u64(), sum["rows"].as_u64()), (Some(1), Some(6)), "{}", r.show());
    assert!(sum.get("sampled").is_none(), "only present when true");
    assert_eq!(r.code, 1, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// 3. Split card columns.

fn split_card_columns(db: &Db) {
    let visa = pan("453201", 16, 3000);
    let amex = pan("371449", 15, 3001);
    db.exec(&format!(
        "CREATE TABLE forms(id INT PRIMARY KEY, card_no1 VARCHAR(8), card_no2 VARCHAR(8), card_no3 VARCHAR(8),
             card_no4 VARCHAR(8), note VARCHAR(20));
         INSERT INTO forms VALUES (1, '{v1}', '{v2}', '{v3}', '{v4}', 'web');
         INSERT INTO forms VALUES (2, '{a1}', '{a2}', '{a3}', NULL, 'web');
         INSERT INTO forms VALUES (3, '1234', '5678', NULL, NULL, 'web');",
        v1 = &visa[..4],
        v2 = &visa[4..8],
        v3 = &visa[8..12],
        v4 = &visa[12..],
        a1 = &amex[..4],
        a2 = &amex[4..10],
        a3 = &amex[10..],
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, &[visa.clone(), amex.clone()]);
    let t = db.table("forms");
    let col = "card_no1+card_no2+card_no3+card_no4";
    let f = one(&r, &recs, &t, col, &json!({"id": "1"}), &visa);
    assert_eq!(s(f, "class"), "pan");
    assert_eq!(s(f, "confidence"), "high", "a card-number column: {}", r.show());
    let a = one(&r, &recs, &t, col, &json!({"id": "2"}), &amex);
    assert_eq!(s(a, "class"), "pan");
    assert_eq!(findings(&recs).len(), 2, "no finding in a single part: {}", r.show());
    let tr = table_rec(&r, &recs, &t);
    let cols = tr["columns"].as_array().expect("columns");
    assert_eq!(cols.len(), 1, "{}", r.show());
    assert_eq!(cols[0]["column"], col);
    assert_eq!(cols[0]["distinct_pans"], 2);
    assert_eq!(r.code, 1, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// 4. Japanese and odd identifiers.

fn japanese_and_odd_identifiers(db: &Db) {
    let p = pans("453201", 16, 4000, 3);
    // Double quotes on every engine (MySQL runs with ANSI_QUOTES); one table name holds a
    // double quote and a backtick, the quoting characters of the two servers.
    db.exec(&format!(
        "CREATE TABLE \"注文\"(\"注文番号\" INT PRIMARY KEY, \"カード番号\" VARCHAR(40), \"有効期限\" VARCHAR(10));
         INSERT INTO \"注文\" VALUES (1001, '{a}', '12/29');
         CREATE TABLE \"Mixed Case Table\"(\"Order Id\" INT PRIMARY KEY, \"Card No\" VARCHAR(40));
         INSERT INTO \"Mixed Case Table\" VALUES (7, '{b}');
         CREATE TABLE {odd}({key} VARCHAR(20) PRIMARY KEY, {card} VARCHAR(40));
         INSERT INTO {odd} VALUES ('O''Neil \"x\"', '{c}');",
        a = p[0],
        b = p[1],
        c = p[2],
        odd = dq("we\"ird`t"),
        key = dq("k`ey"),
        card = dq("card\"no"),
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, &p);
    let jp = one(&r, &recs, &db.table("注文"), "カード番号", &json!({"注文番号": "1001"}), &p[0]);
    assert_eq!(s(jp, "class"), "pan");
    assert!(has_signal(jp, "row:expiry"), "有効期限 is the row's expiry: {}", r.show());
    assert_eq!(s(jp, "confidence"), "high", "{}", r.show());
    let mixed = one(&r, &recs, &db.table("Mixed Case Table"), "Card No", &json!({"Order Id": "7"}), &p[1]);
    assert_eq!(s(mixed, "class"), "pan");
    let odd = one(&r, &recs, &db.table("we\"ird`t"), "card\"no", &json!({"k`ey": "O'Neil \"x\""}), &p[2]);
    assert_eq!(s(odd, "class"), "pan");
    for t in ["注文", "Mixed Case Table", "we\"ird`t"] {
        assert_eq!(table_rec(&r, &recs, &db.table(t))["complete"], true, "{t}: {}", r.show());
    }
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
    assert_eq!(r.code, 1, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// 5. A table without a primary key.

fn table_without_a_key(db: &Db) {
    let number = pan("453201", 16, 5000);
    db.exec(&format!(
        "CREATE TABLE audit_log(note VARCHAR(60), card_no VARCHAR(40));
         INSERT INTO audit_log VALUES ('first', NULL);
         INSERT INTO audit_log VALUES ('second', '{number}');
         INSERT INTO audit_log VALUES ('third', NULL);"
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, std::slice::from_ref(&number));
    // Without a key the row is placed by its number in the scan (SQLite: its rowid).
    let key = if db.engine == Engine::Lite { json!({"rowid": "2"}) } else { json!({"row": "2"}) };
    let f = one(&r, &recs, &db.table("audit_log"), "card_no", &key, &number);
    assert_eq!(s(f, "class"), "pan");
    assert_eq!(findings(&recs).len(), 1, "{}", r.show());
    let t = table_rec(&r, &recs, &db.table("audit_log"));
    assert_eq!((t["rows"].as_u64(), t["complete"].as_bool()), (Some(3), Some(true)), "{}", r.show());
    assert_eq!(t["columns"][0]["example_row_keys"], json!([key]), "{}", r.show());
    assert_eq!(r.code, 1, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// 6. Partitions, inheritance and views.

#[test]
fn partitions_and_views_postgres() {
    let Some(db) = Db::pg("partitions") else { return };
    let p = pans("453201", 16, 6000, 4);
    db.exec(&format!(
        "CREATE TABLE payments(id int, card_no varchar(40), PRIMARY KEY (id)) PARTITION BY RANGE (id);
         CREATE TABLE payments_2025 PARTITION OF payments FOR VALUES FROM (1) TO (100);
         CREATE TABLE payments_2026 PARTITION OF payments FOR VALUES FROM (100) TO (200);
         INSERT INTO payments VALUES (5, '{a}'), (150, '{b}');
         CREATE TABLE parent(id int PRIMARY KEY, card_no varchar(40));
         CREATE TABLE child(note text) INHERITS (parent);
         INSERT INTO child VALUES (1, '{c}', 'x');
         CREATE TABLE base(id int PRIMARY KEY, card_no varchar(40));
         INSERT INTO base VALUES (1, '{d}');
         CREATE VIEW base_view AS SELECT id, card_no FROM base;
         CREATE MATERIALIZED VIEW base_copy AS SELECT id, card_no FROM base;",
        a = p[0],
        b = p[1],
        c = p[2],
        d = p[3],
    ));
    let key = |id: u32| json!({"id": id.to_string()});
    let (r, recs) = db.run(&[]);
    no_leak(&r, &p);
    let expected: BTreeSet<Cell> = [
        cell(&db.table("payments"), "card_no", &key(5), "pan", &p[0]),
        cell(&db.table("payments"), "card_no", &key(150), "pan", &p[1]),
        // Read through `child` only: `parent` is read with ONLY.
        cell(&db.table("child"), "card_no", &json!({"row": "1"}), "pan", &p[2]),
        cell(&db.table("base"), "card_no", &key(1), "pan", &p[3]),
        // A materialized view holds its own copy: it is read like a table.
        cell(&db.table("base_copy"), "card_no", &json!({"row": "1"}), "pan", &p[3]),
    ]
    .into();
    assert_eq!(cells(&r, &recs), expected, "{}", r.show());
    let tables: BTreeSet<String> = of_type(&recs, "table").iter().map(|t| s(t, "table").to_owned()).collect();
    let want: BTreeSet<String> =
        ["payments", "parent", "child", "base", "base_copy"].iter().map(|t| db.table(t)).collect();
    assert_eq!(tables, want, "partitions and views are not tables of their own: {}", r.show());
    assert_eq!(table_rec(&r, &recs, &db.table("payments"))["rows"], 2);
    assert_eq!(table_rec(&r, &recs, &db.table("parent"))["rows"], 0);

    // --include-views: the view is read too (no key: rows by number).
    let (r, recs) = db.run(&["--include-views", "--table", "base*"]);
    no_leak(&r, &p);
    let got = cells(&r, &recs);
    assert!(got.contains(&cell(&db.table("base_view"), "card_no", &json!({"row": "1"}), "pan", &p[3])), "{}", r.show());
    assert!(got.contains(&cell(&db.table("base"), "card_no", &key(1), "pan", &p[3])), "{}", r.show());
    assert_eq!(got.len(), 3, "base, base_copy, base_view: {}", r.show());
}

#[test]
fn partitions_and_views_mysql() {
    let Some(db) = Db::mysql("partitions") else { return };
    let p = pans("453201", 16, 6100, 3);
    db.exec(&format!(
        "CREATE TABLE payments(id INT PRIMARY KEY, card_no VARCHAR(40))
             PARTITION BY RANGE (id) (PARTITION p2025 VALUES LESS THAN (100), PARTITION p2026 VALUES LESS THAN MAXVALUE);
         INSERT INTO payments VALUES (5, '{a}'), (150, '{b}');
         CREATE TABLE base(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO base VALUES (1, '{c}');
         CREATE VIEW base_view AS SELECT id, card_no FROM base;",
        a = p[0],
        b = p[1],
        c = p[2],
    ));
    let key = |id: u32| json!({"id": id.to_string()});
    let (r, recs) = db.run(&[]);
    no_leak(&r, &p);
    let expected: BTreeSet<Cell> = [
        cell(&db.table("payments"), "card_no", &key(5), "pan", &p[0]),
        cell(&db.table("payments"), "card_no", &key(150), "pan", &p[1]),
        cell(&db.table("base"), "card_no", &key(1), "pan", &p[2]),
    ]
    .into();
    assert_eq!(cells(&r, &recs), expected, "{}", r.show());
    assert_eq!(of_type(&recs, "table").len(), 2, "{}", r.show());

    let (r, recs) = db.run(&["--include-views"]);
    let got = cells(&r, &recs);
    assert!(got.contains(&cell(&db.table("base_view"), "card_no", &json!({"row": "1"}), "pan", &p[2])), "{}", r.show());
    assert_eq!(got.len(), 4, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// 7. Keyset paging over pages and key ranges.

/// Rows in `big`: above the 100,000 estimated rows from which a table with an integer key
/// is split across connections (`DbOptions::split_rows`), so `--db-connections 4` reads
/// it as 4 key ranges, each in pages of 1,000 then 20,000 rows.
const BIG: u64 = 120_000;

/// Ids at the first and last row, page boundaries (1,000 / 21,000 rows into a range) and
/// key-range boundaries (every 30,000 with 4 connections).
const BIG_IDS: &[u64] =
    &[1, 2, 1000, 1001, 21_000, 21_001, 30_000, 30_001, 31_000, 31_001, 60_001, 90_000, 90_001, 119_999, 120_000];

/// Composite-key rows (text, int) planted: ('a', 1000) ends the first page, ('b', 1)
/// starts the second.
const REGION_ROWS: &[(&str, u32)] =
    &[("a", 1), ("a", 1000), ("b", 1), ("b", 500), ("c", 1000), ("注文", 2), ("o'neil", 1)];

fn keyset(db: &Db) {
    let big = pans("453201", 16, 7000, BIG_IDS.len());
    let reg = pans("535310", 16, 7100, REGION_ROWS.len());
    let mut sql = String::from(
        "CREATE TABLE big(id INT PRIMARY KEY, card_no VARCHAR(40), note VARCHAR(60));
         CREATE TABLE regions(region VARCHAR(20), n INT, card_no VARCHAR(40), PRIMARY KEY (region, n));",
    );
    sql.push_str(&insert_series("big", "id, card_no, note", "n, NULL, 'order placed, nothing to see'", 1, BIG));
    for r in ["a", "b", "c"] {
        sql.push_str(&insert_series("regions", "region, n, card_no", &format!("'{r}', n, NULL"), 1, 1000));
    }
    sql.push_str("INSERT INTO regions VALUES ('注文', 1, NULL), ('注文', 2, NULL), ('o''neil', 1, NULL);");
    for (id, number) in BIG_IDS.iter().zip(&big) {
        let _ = write!(sql, "UPDATE big SET card_no = '{number}' WHERE id = {id};");
    }
    for ((region, n), number) in REGION_ROWS.iter().zip(&reg) {
        let _ = write!(
            sql,
            "UPDATE regions SET card_no = '{number}' WHERE region = '{}' AND n = {n};",
            region.replace('\'', "''")
        );
    }
    // Fresh statistics: the row estimate decides the split.
    sql.push_str(if db.engine == Engine::Pg { "ANALYZE big; ANALYZE regions;" } else { "ANALYZE TABLE big, regions;" });
    db.exec(&sql);

    let mut expected: BTreeSet<Cell> = BIG_IDS
        .iter()
        .zip(&big)
        .map(|(id, number)| cell(&db.table("big"), "card_no", &json!({"id": id.to_string()}), "pan", number))
        .collect();
    expected.extend(REGION_ROWS.iter().zip(&reg).map(|((region, n), number)| {
        cell(&db.table("regions"), "card_no", &json!({"region": region, "n": n.to_string()}), "pan", number)
    }));
    let mut all = big.clone();
    all.extend(reg.iter().cloned());
    for connections in ["1", "4"] {
        let (r, recs) = db.run(&["--db-connections", connections]);
        no_leak(&r, &all);
        assert_eq!(cells(&r, &recs), expected, "--db-connections {connections}: {}", mask_digits(&r.stderr()));
        let t = table_rec(&r, &recs, &db.table("big"));
        assert_eq!((t["rows"].as_u64(), t["complete"].as_bool()), (Some(BIG), Some(true)), "{connections}");
        assert_eq!(t["distinct_pans"], BIG_IDS.len());
        let t = table_rec(&r, &recs, &db.table("regions"));
        assert_eq!((t["rows"].as_u64(), t["complete"].as_bool()), (Some(3003), Some(true)), "{connections}");
        assert_eq!(summary(&recs)["rows"], BIG + 3003);
        assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
        assert_eq!(r.code, 1);
    }
}

#[test]
fn keyset_paging_postgres() {
    if let Some(db) = Db::pg("keyset") {
        keyset(&db);
    }
}

#[test]
fn keyset_paging_mysql() {
    if let Some(db) = Db::mysql("keyset") {
        keyset(&db);
    }
}

// ---------------------------------------------------------------------------------------
// 8. --sample.

fn sample_reads_the_first_rows_only(db: &Db) {
    let late = pan("453201", 16, 8000);
    let values: Vec<String> = (1..=100)
        .map(|id| match id {
            5 => format!("({id}, '{TEST_VISA}')"),
            50 => format!("({id}, '{late}')"),
            _ => format!("({id}, NULL)"),
        })
        .collect();
    db.exec(&format!(
        "CREATE TABLE cards(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO cards VALUES {};",
        values.join(", ")
    ));
    let (r, recs) = db.run(&["--sample", "10"]);
    no_leak(&r, std::slice::from_ref(&late));
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "only the first 10 rows are read: {}", r.show());
    assert_eq!(s(f[0], "class"), "test_pan");
    assert_eq!(f[0]["row_key"], json!({"id": "5"}));
    let t = table_rec(&r, &recs, &db.table("cards"));
    assert_eq!(t["rows"], 10, "{}", r.show());
    assert_eq!((t["sampled"].as_bool(), t["complete"].as_bool()), (Some(true), Some(false)), "{}", r.show());
    let sum = summary(&recs);
    assert_eq!(sum["sampled"], true, "{}", r.show());
    assert_eq!(sum["complete"], false, "{}", r.show());
    assert_eq!(r.code, 3, "a sample is never complete: {}", r.show());
}

// ---------------------------------------------------------------------------------------
// 9. Permissions.

#[test]
fn table_without_select_is_skipped_postgres() {
    let Some(db) = Db::pg("grants") else { return };
    db.exec(&format!(
        "CREATE TABLE a_open(id int PRIMARY KEY, card_no varchar(40));
         INSERT INTO a_open VALUES (1, '{TEST_VISA}');
         CREATE TABLE b_closed(id int PRIMARY KEY, card_no varchar(40));
         INSERT INTO b_closed VALUES (1, '{TEST_MC}');"
    ));
    let role = Account::pg(&db);
    db.exec(&format!(
        "GRANT USAGE ON SCHEMA {s} TO {r}; GRANT SELECT ON a_open TO {r};",
        s = dq(&db.name),
        r = dq(&role.name)
    ));
    let url = role.url(None, "");
    let r = run_with_hang_guard(pansweep().args(["db", "--format", "jsonl", &url, "--schema", &db.name]), LIMIT);
    let recs = r.jsonl();
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", r.show());
    assert_eq!(s(f[0], "table"), db.table("a_open"));
    assert_eq!(s(f[0], "class"), "test_pan");
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), format!("{url}!{}", db.table("b_closed")));
    assert!(s(sk[0], "reason").contains("permission"), "{}", r.show());
    assert_eq!(s(sk[0], "kind"), "error");
    assert_eq!(r.code, 3, "{}", r.show());
}

#[test]
fn table_without_select_is_skipped_mysql() {
    let Some(db) = Db::mysql("grants") else { return };
    db.exec(&format!(
        "CREATE TABLE a_open(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO a_open VALUES (1, '{TEST_VISA}');
         CREATE TABLE b_closed(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO b_closed VALUES (1, '{TEST_MC}');
         CREATE TABLE c_hidden(id INT PRIMARY KEY, card_no VARCHAR(40));"
    ));
    let user = Account::mysql(&db, "Pw-for-grants-1");
    // information_schema lists only tables the user holds some privilege on: INSERT
    // makes b_closed visible (and unreadable); c_hidden, with none, is invisible.
    db.exec(&format!(
        "GRANT SELECT ON {d}.a_open TO '{u}'@'%'; GRANT INSERT ON {d}.b_closed TO '{u}'@'%';",
        d = dq(&db.name),
        u = user.name
    ));
    let url = user.url(None, &db.name);
    let r = run_with_hang_guard(
        pansweep().args(["db", "--format", "jsonl", &url]).env("PANSWEEP_DB_PASSWORD", "Pw-for-grants-1"),
        LIMIT,
    );
    let recs = r.jsonl();
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", r.show());
    assert_eq!(s(f[0], "table"), db.table("a_open"));
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), format!("{url}!{}", db.table("b_closed")));
    assert!(s(sk[0], "reason").contains("permission"), "{}", r.show());
    assert_eq!(r.code, 3, "{}", r.show());
}

/// A column the user may not read is not read: a card number there is not seen, so the
/// table is not complete and the run is not clean.
#[test]
fn unreadable_column_makes_the_table_incomplete_postgres() {
    let Some(db) = Db::pg("colgrants") else { return };
    let number = pan("453201", 16, 9000);
    db.exec(&format!(
        "CREATE TABLE orders(id int PRIMARY KEY, note varchar(40), card_no varchar(40));
         INSERT INTO orders VALUES (1, 'hello', '{number}');"
    ));
    let role = Account::pg(&db);
    db.exec(&format!(
        "GRANT USAGE ON SCHEMA {s} TO {r}; GRANT SELECT (id, note) ON orders TO {r};",
        s = dq(&db.name),
        r = dq(&role.name)
    ));
    let url = role.url(None, "");
    let r = run_with_hang_guard(pansweep().args(["db", "--format", "jsonl", &url, "--schema", &db.name]), LIMIT);
    let recs = r.jsonl();
    no_leak(&r, std::slice::from_ref(&number));
    assert!(findings(&recs).is_empty(), "{}", r.show());
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "card_no was not read: the table must say so: {}", r.show());
    assert_eq!(s(sk[0], "path"), format!("{url}!{}", db.table("orders")));
    assert!(s(sk[0], "reason").contains("permission denied"), "{}", r.show());
    // The columns it may read are read.
    let t = table_rec(&r, &recs, &db.table("orders"));
    assert_eq!(t["rows"], 1, "{}", r.show());
    assert_eq!(r.code, 3, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// 10. A connection killed mid-table.

/// What the run did once the big table's connection was killed.
fn check_killed(db: &Db, r: &Run, recs: &[Value]) {
    let sk = of_type(recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), format!("{}!{}", db.shown(), db.table("a_big")), "{}", r.show());
    assert!(!s(sk[0], "reason").is_empty());
    assert_eq!(s(sk[0], "kind"), "error");
    assert_eq!(table_rec(r, recs, &db.table("a_big"))["complete"], false, "{}", r.show());
    // The worker connects again and reads the next table.
    let f = findings(recs);
    assert_eq!(f.len(), 1, "{}", r.show());
    assert_eq!(s(f[0], "table"), db.table("b_small"));
    assert_eq!(s(f[0], "class"), "test_pan");
    assert_eq!(table_rec(r, recs, &db.table("b_small"))["complete"], true, "{}", r.show());
    assert_eq!(r.code, 3, "{}", r.show());
}

#[test]
fn killed_connection_skips_the_table_postgres() {
    let Some(db) = Db::pg("killed") else { return };
    db.exec(&format!(
        "CREATE TABLE a_big(id INT PRIMARY KEY, card_no VARCHAR(40), note VARCHAR(120));
         CREATE TABLE b_small(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO b_small VALUES (1, '{TEST_VISA}');"
    ));
    let mut rows = 0;
    for attempt in 0..3 {
        let more = 200_000 << attempt;
        db.exec(&format!(
            "INSERT INTO a_big SELECT g, NULL, repeat('order placed ', 8) FROM generate_series({}, {}) g;",
            rows + 1,
            rows + more
        ));
        rows += more;
        // The killer polls server-side every few milliseconds for a running statement
        // on a_big from pansweep, terminates its backend, and says how many it hit; it
        // gives up once pansweep's statements are gone.
        let pattern = format!("%{}%a_big%", db.name);
        let killer = format!(
            "DO $$
             DECLARE n int := 0; seen bool := false; here bool;
             BEGIN
               FOR i IN 1..6000 LOOP
                 PERFORM pg_stat_clear_snapshot();
                 SELECT count(pg_terminate_backend(pid)) INTO n FROM pg_stat_activity
                  WHERE application_name = 'pansweep' AND state = 'active' AND pid <> pg_backend_pid()
                    AND query LIKE '{pattern}';
                 EXIT WHEN n > 0;
                 SELECT exists(SELECT 1 FROM pg_stat_activity WHERE application_name = 'pansweep'
                   AND pid <> pg_backend_pid() AND query LIKE '%{name}%') INTO here;
                 EXIT WHEN seen AND NOT here;
                 seen := seen OR here;
                 PERFORM pg_sleep(0.003);
               END LOOP;
               RAISE NOTICE 'killed=%', n;
             END $$;",
            name = db.name
        );
        let mut k = psql_cmd(&db.server);
        k.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut killer_child = k.spawn().expect("psql");
        {
            let mut stdin = killer_child.stdin.take().expect("stdin");
            stdin.write_all(killer.as_bytes()).expect("killer sql");
        }
        std::thread::sleep(Duration::from_millis(200));
        let r = run_with_hang_guard(&mut db.command(&["--db-connections", "1"]), LIMIT);
        let out = killer_child.wait_with_output().expect("killer");
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "killer: {}", mask_digits(&said));
        let recs = r.jsonl();
        if said.contains("killed=0") {
            // pansweep was faster than the killer: a bigger table and again.
            assert_eq!(r.code, 0, "{}", r.show());
            continue;
        }
        assert!(said.contains("killed=1"), "killer: {said}");
        check_killed(&db, &r, &recs);
        return;
    }
    panic!("the scan of {rows} rows always ended before its connection could be killed");
}

#[test]
fn killed_connection_skips_the_table_mysql() {
    let Some(db) = Db::mysql("killed") else { return };
    db.exec(&format!(
        "CREATE TABLE a_big(id INT PRIMARY KEY, card_no VARCHAR(40), note VARCHAR(120));
         CREATE TABLE b_small(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO b_small VALUES (1, '{TEST_VISA}');"
    ));
    let mut rows = 0;
    for attempt in 0..3 {
        let more = 200_000 << attempt;
        db.exec(&insert_series(
            "a_big",
            "id, card_no, note",
            "n, NULL, REPEAT('order placed ', 8)",
            rows + 1,
            rows + more,
        ));
        rows += more;
        // MariaDB runs each page in a few milliseconds and pansweep spends the rest of
        // the time scanning, so a running statement is seldom caught. Instead: the
        // connection that has lived for 0.5 s is the worker (the planner's is gone by
        // then, and b_small takes milliseconds), reading a_big; KILL it. Stop once
        // pansweep's connections have been gone for a second (the worker connects a
        // moment after the planner, which may close first).
        let killer = format!(
            "DELIMITER //
             BEGIN NOT ATOMIC
               DECLARE n INT DEFAULT 0; DECLARE i INT DEFAULT 0; DECLARE seen INT DEFAULT 0;
               DECLARE age INT DEFAULT 0; DECLARE gone INT DEFAULT 0;
               DECLARE cand BIGINT DEFAULT NULL; DECLARE now_id BIGINT;
               WHILE n = 0 AND i < 6000 DO
                 SET now_id = (SELECT MIN(ID) FROM information_schema.PROCESSLIST
                               WHERE ID <> CONNECTION_ID() AND DB = '{name}');
                 IF now_id IS NOT NULL AND now_id = cand THEN SET age = age + 1;
                 ELSE SET cand = now_id; SET age = 0;
                 END IF;
                 IF cand IS NOT NULL AND age >= 100 THEN
                   KILL CONNECTION cand;
                   SET n = 1;
                 END IF;
                 IF now_id IS NULL THEN SET gone = gone + 1; ELSE SET gone = 0; SET seen = 1; END IF;
                 IF seen > 0 AND gone >= 200 THEN SET i = 6000; END IF;
                 DO SLEEP(0.005);
                 SET i = i + 1;
               END WHILE;
               SELECT CONCAT('killed=', n);
             END //
             DELIMITER ;",
            name = db.name
        );
        let mut k = mysql_cmd(&db.server, None);
        k.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut killer_child = k.spawn().expect("mysql");
        {
            let mut stdin = killer_child.stdin.take().expect("stdin");
            stdin.write_all(killer.as_bytes()).expect("killer sql");
        }
        std::thread::sleep(Duration::from_millis(200));
        let r = run_with_hang_guard(&mut db.command(&["--db-connections", "1"]), LIMIT);
        let out = killer_child.wait_with_output().expect("killer");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "killer: {said} {}", String::from_utf8_lossy(&out.stderr));
        let recs = r.jsonl();
        if said.contains("killed=0") {
            assert_eq!(r.code, 0, "{}", r.show());
            continue;
        }
        assert!(said.contains("killed=1"), "killer: {said}");
        check_killed(&db, &r, &recs);
        return;
    }
    panic!("the scan of {rows} rows always ended before its connection could be killed");
}

// ---------------------------------------------------------------------------------------
// 11. Passwords are never shown.

/// Runs `cmd` with `-o report` and `stdin_text` on stdin; checks that the password is in
/// neither stream nor the report and that the run record's argv has it redacted.
fn check_no_password(cmd: &mut Command, stdin_text: Option<&str>, secret: &str) -> (Run, Vec<Value>) {
    let dir = TestDir::new();
    let report = dir.join("report.jsonl");
    cmd.arg("-o").arg(&report);
    let r = match stdin_text {
        Some(text) => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::piped());
            let mut child = cmd.spawn().expect("spawn pansweep");
            child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("password on stdin");
            let out = child.wait_with_output().expect("pansweep");
            Run { code: out.status.code().unwrap_or(-1), stdout_bytes: out.stdout, stderr_bytes: out.stderr }
        }
        None => run_with_hang_guard(cmd, LIMIT),
    };
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("no report ({e}): {}", r.show()));
    for (what, out) in [("stdout", r.stdout()), ("stderr", r.stderr()), ("report", text.clone())] {
        assert!(!out.contains(secret), "the password is in the {what}");
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        assert!(!out.contains(&encoded), "the url-encoded password is in the {what}");
    }
    let recs = crate::util::parse_jsonl(&text).expect("report is JSONL");
    let run_rec = of_type(&recs, "run");
    assert_eq!(run_rec.len(), 1, "{text}");
    (r, recs)
}

#[test]
fn password_is_never_shown_postgres_url_env_and_stdin() {
    // Nothing listens on port 1: the connection fails, which is a skipped database.
    let with_pw = format!("postgres://postgres:{SECRET}@127.0.0.1:1/test");
    let without = "postgres://postgres@127.0.0.1:1/test";
    let stdin_pw = format!("{SECRET}\n");
    let cases: [(&str, Option<&str>, bool); 3] =
        [(&with_pw, None, false), (without, None, true), (without, Some(&stdin_pw), false)];
    for (url, stdin_text, env) in cases {
        let mut cmd = pansweep();
        cmd.args(["db", "--format", "jsonl", "--connect-timeout", "5", url]);
        if env {
            cmd.env("PANSWEEP_DB_PASSWORD", SECRET);
        }
        if stdin_text.is_some() {
            cmd.arg("--password-stdin");
        }
        let (r, recs) = check_no_password(&mut cmd, stdin_text, SECRET);
        assert_eq!(r.code, 3, "a database that cannot be reached is skipped: {}", r.show());
        let sk = of_type(&recs, "skipped");
        assert_eq!(sk.len(), 1, "{}", r.show());
        assert_eq!(s(sk[0], "path"), without);
        assert!(s(sk[0], "reason").starts_with("cannot connect"), "{}", s(sk[0], "reason"));
        let argv = strs(of_type(&recs, "run")[0], "argv");
        if url == with_pw {
            assert!(argv.contains(&"postgres://postgres:****@127.0.0.1:1/test".to_owned()), "{argv:?}");
        }
        assert_eq!(summary(&recs)["tables"], 0);
    }
}

/// A password given as a URL parameter is taken out of the URL too: not in the path, the
/// reason or the run record's argv.
#[test]
fn password_in_a_url_parameter_is_never_shown() {
    let url = format!("postgres://postgres@127.0.0.1:1/test?password={SECRET}&sslmode=disable");
    let mut cmd = pansweep();
    cmd.args(["db", "--format", "jsonl", "--connect-timeout", "5", &url]);
    let (r, recs) = check_no_password(&mut cmd, None, SECRET);
    assert_eq!(r.code, 3, "{}", r.show());
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), "postgres://postgres@127.0.0.1:1/test?sslmode=disable");
    let argv = strs(of_type(&recs, "run")[0], "argv");
    assert!(argv.iter().any(|a| a.contains("password=****")), "{argv:?}");
}

#[test]
fn password_is_never_shown_mysql() {
    let Some(db) = Db::mysql("password") else { return };
    let real = "An0ther-Passw0rd";
    let user = Account::mysql(&db, real);
    db.exec(&format!("GRANT SELECT ON {}.* TO '{}'@'%';", dq(&db.name), user.name));
    db.exec(&format!(
        "CREATE TABLE t(id INT PRIMARY KEY, card_no VARCHAR(40)); INSERT INTO t VALUES (1, '{TEST_VISA}');"
    ));
    let without = user.url(None, &db.name);
    // The wrong password, in the URL, from the environment and on stdin.
    let with_pw = user.url(Some(SECRET), &db.name);
    let stdin_pw = format!("{SECRET}\n");
    let cases: [(&str, Option<&str>, bool); 3] =
        [(&with_pw, None, false), (&without, None, true), (&without, Some(&stdin_pw), false)];
    for (url, stdin_text, env) in cases {
        let mut cmd = pansweep();
        cmd.args(["db", "--format", "jsonl", url]);
        if env {
            cmd.env("PANSWEEP_DB_PASSWORD", SECRET);
        }
        if stdin_text.is_some() {
            cmd.arg("--password-stdin");
        }
        let (r, recs) = check_no_password(&mut cmd, stdin_text, SECRET);
        assert_eq!(r.code, 3, "access denied is a skipped database: {}", r.show());
        let sk = of_type(&recs, "skipped");
        assert_eq!(sk.len(), 1, "{}", r.show());
        assert_eq!(s(sk[0], "path"), without);
        assert!(findings(&recs).is_empty());
    }
    // The right password on stdin is used (and not shown either).
    let mut cmd = pansweep();
    cmd.args(["db", "--format", "jsonl", "--password-stdin", &without]);
    let (r, recs) = check_no_password(&mut cmd, Some(&format!("{real}\n")), real);
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
    assert_eq!(findings(&recs).len(), 1, "{}", r.show());
    assert_eq!(r.code, 0, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// 12. Bad URLs and options.

#[test]
fn bad_url_is_a_usage_error() {
    for (args, says) in [
        (vec![format!("oracle://scott:{SECRET}@db1/orcl")], "unknown scheme"),
        (vec!["postgres:///test".to_owned()], "no host"),
        (vec!["sqlite://".to_owned()], "no file name"),
        (
            vec!["--db-connections".to_owned(), "0".to_owned(), "postgres://u@127.0.0.1:1/x".to_owned()],
            "--db-connections",
        ),
        (vec!["--sample".to_owned(), "0".to_owned(), "postgres://u@127.0.0.1:1/x".to_owned()], "--sample"),
    ] {
        let mut cmd = pansweep();
        cmd.args(["db", "--format", "jsonl"]).args(&args);
        let r = run_with_hang_guard(&mut cmd, LIMIT);
        assert_eq!(r.code, 2, "{args:?}: {}", r.show());
        assert!(r.stderr().contains(says), "{args:?}: {}", r.show());
        assert!(!r.stderr().contains(SECRET) && !r.stdout().contains(SECRET), "{args:?}: the password is shown");
    }
    // --password-stdin with nothing on stdin.
    let r = run_with_hang_guard(pansweep().args(["db", "--password-stdin", "postgres://u@127.0.0.1:1/x"]), LIMIT);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().contains("no password on stdin"), "{}", r.show());
    // No URL at all: clap's usage error.
    let r = run_with_hang_guard(pansweep().args(["db"]), LIMIT);
    assert_eq!(r.code, 2, "{}", r.show());
}

#[test]
fn missing_sqlite_file_is_skipped() {
    let t = TestDir::new();
    let url = format!("sqlite://{}", t.join("nope.sqlite").display());
    let r = run_with_hang_guard(pansweep().args(["db", "--format", "jsonl", &url]), LIMIT);
    let recs = r.jsonl();
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), url);
    assert_eq!(r.code, 3, "{}", r.show());
    assert!(!t.join("nope.sqlite").exists(), "no file is made");
}

// ---------------------------------------------------------------------------------------
// 13. Read-only sessions.

/// A view whose column calls a function that writes: reading it in pansweep's session
/// fails as a write in a read-only transaction, and nothing is written.
#[test]
fn session_is_read_only_postgres() {
    let Some(db) = Db::pg("readonly") else { return };
    db.exec(&format!(
        "CREATE TABLE touched(n int);
         CREATE FUNCTION touch() RETURNS text LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO {s}.touched VALUES (1); RETURN 'x'; END $$;
         CREATE VIEW writer AS SELECT 1 AS id, touch() AS note;",
        s = dq(&db.name)
    ));
    let (r, recs) = db.run(&["--include-views", "--table", "writer"]);
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert!(s(sk[0], "reason").contains("read-only"), "{}", r.show());
    assert_eq!(db.exec("SELECT count(*) FROM touched;").trim(), "0", "pansweep wrote to the database");
    assert_eq!(r.code, 3, "{}", r.show());
}

/// As for PostgreSQL. MariaDB opens such a view only to fail in a read-only session (and
/// then leaves it out of `information_schema.COLUMNS`, so it is not listed at all); in a
/// writable session the same run would read the view and write a row.
#[test]
fn session_is_read_only_mysql() {
    let Some(db) = Db::mysql("readonly") else { return };
    db.exec(&format!(
        "CREATE TABLE touched(n INT);
         DELIMITER //
         CREATE FUNCTION touch() RETURNS VARCHAR(10) MODIFIES SQL DATA BEGIN INSERT INTO touched VALUES (1); RETURN 'x'; END //
         DELIMITER ;
         CREATE VIEW writer AS SELECT 1 AS id, touch() AS note;
         CREATE TABLE cards(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO cards VALUES (1, '{TEST_VISA}');"
    ));
    let (r, recs) = db.run(&["--include-views"]);
    assert_eq!(db.exec("SELECT COUNT(*) FROM touched;").trim(), "0", "pansweep wrote to the database");
    assert!(
        of_type(&recs, "table").iter().all(|t| s(t, "table") != db.table("writer") || t["rows"] == 0),
        "{}",
        r.show()
    );
    // The rest is read as usual.
    assert_eq!(findings(&recs).len(), 1, "{}", r.show());
    assert_eq!(table_rec(&r, &recs, &db.table("cards"))["complete"], true);
    for sk in of_type(&recs, "skipped") {
        assert!(s(sk, "reason").to_ascii_lowercase().contains("read only"), "{}", r.show());
    }
}

#[test]
fn sqlite_file_is_left_as_it_was() {
    let db = Db::sqlite();
    db.exec(&format!("CREATE TABLE t(id INTEGER PRIMARY KEY, card_no TEXT); INSERT INTO t VALUES (1, '{TEST_VISA}');"));
    let mut cmd = db.command(&[]);
    let before = std::fs::read(db.lite_path()).expect("db file");
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into())
            .collect();
        v.sort();
        v
    };
    let listing = names(db.dir.path());
    let r = run_with_hang_guard(&mut cmd, LIMIT);
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(findings(&r.jsonl()).len(), 1, "{}", r.show());
    assert_eq!(std::fs::read(db.lite_path()).expect("db file"), before);
    assert_eq!(names(db.dir.path()), listing, "no -wal, -shm or journal file");
}

// ---------------------------------------------------------------------------------------
// More: masked keys, filters, long values, tiers and formats, several URLs, timeouts,
// keys of other types across pages.

/// A table keyed by card number: the key is masked in `row_key` and `example_row_keys`.
fn keyed_by_card_number(db: &Db) {
    let p = pans("453201", 16, 10_000, 2);
    db.exec(&format!(
        "CREATE TABLE vault(card_no VARCHAR(40) PRIMARY KEY, holder VARCHAR(40));
         INSERT INTO vault VALUES ('{a}', 'TARO YAMADA'), ('{b}', 'HANAKO SATO');",
        a = p[0],
        b = p[1],
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, &p);
    let t = db.table("vault");
    for n in &p {
        let key = json!({"card_no": crate::util::masked(n)});
        let f = one(&r, &recs, &t, "card_no", &key, n);
        assert_eq!(s(f, "class"), "pan");
    }
    let keys = &table_rec(&r, &recs, &t)["columns"][0]["example_row_keys"];
    assert_eq!(keys.as_array().map(Vec::len), Some(2), "{}", r.show());
    assert_eq!(r.code, 1, "{}", r.show());
}

/// `--table`, `--exclude-table` (name or `schema.name` globs) and, on the servers,
/// `--schema` / the URL's database.
fn scope_filters(db: &Db) {
    db.exec(&format!(
        "CREATE TABLE orders(id INT PRIMARY KEY, card_no VARCHAR(40));
         CREATE TABLE orders_archive(id INT PRIMARY KEY, card_no VARCHAR(40));
         CREATE TABLE users(id INT PRIMARY KEY, card_no VARCHAR(40));
         INSERT INTO orders VALUES (1, '{TEST_VISA}');
         INSERT INTO orders_archive VALUES (1, '{TEST_VISA}');
         INSERT INTO users VALUES (1, '{TEST_MC}');"
    ));
    let tables = |extra: &[&str]| -> BTreeSet<String> {
        let (r, recs) = db.run(extra);
        assert!(r.code == 0 || r.code == 3, "{}", r.show());
        of_type(&recs, "table").iter().map(|t| s(t, "table").to_owned()).collect()
    };
    let set = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| db.table(n)).collect() };
    assert_eq!(tables(&[]), set(&["orders", "orders_archive", "users"]));
    assert_eq!(tables(&["--table", "orders*", "--exclude-table", "orders_archive"]), set(&["orders"]));
    let qualified = format!("{}.users", db.name);
    assert_eq!(tables(&["--table", &qualified]), set(&["users"]));
    assert_eq!(tables(&["--exclude-table", "*s"]), set(&["orders_archive"]));
    // Nothing in scope is said, not silently clean.
    let (r, recs) = db.run(&["--table", "no_such_table"]);
    assert_eq!(of_type(&recs, "skipped").len(), 1, "{}", r.show());
    assert_eq!(r.code, 3, "{}", r.show());
    if db.engine == Engine::Pg {
        // Another schema's tables are out of scope with --schema.
        let r = run_with_hang_guard(
            pansweep().args(["db", "--format", "jsonl", &db.url(), "--schema", "pansweep_it_no_such_schema"]),
            LIMIT,
        );
        assert!(of_type(&r.jsonl(), "table").is_empty(), "{}", r.show());
    }
}

/// `n` copies of `ch` as an SQL expression.
fn repeat_sql(engine: Engine, ch: char, n: usize) -> String {
    match engine {
        Engine::Pg | Engine::My => format!("REPEAT('{ch}', {n})"),
        // hex(zeroblob(k)) is 2k zeros.
        Engine::Lite => format!("replace(hex(zeroblob({})), '0', '{ch}')", n / 2),
    }
}

fn concat_sql(engine: Engine, parts: &[String]) -> String {
    match engine {
        Engine::My => format!("CONCAT({})", parts.join(", ")),
        Engine::Pg | Engine::Lite => parts.join(" || "),
    }
}

/// Values longer than the window of rows the renderer keeps (a few MiB): every hit is
/// still placed in its own row and column.
fn long_values_map_to_their_rows(db: &Db) {
    const LONG: usize = 5 << 20;
    let p = pans("453201", 16, 11_000, 4);
    let e = db.engine;
    let lit = |s: &str| format!("'{s}'");
    db.exec(&format!(
        "CREATE TABLE blobs(id INT PRIMARY KEY, note {text}, card_no VARCHAR(40));
         INSERT INTO blobs VALUES (1, {v1}, NULL);
         INSERT INTO blobs VALUES (2, {v2}, NULL);
         INSERT INTO blobs VALUES (3, {v3}, NULL);
         INSERT INTO blobs VALUES (4, NULL, '{d}');",
        text = if e == Engine::My { "LONGTEXT" } else { "TEXT" },
        v1 = concat_sql(e, &[repeat_sql(e, 'x', LONG), lit(&format!(" {}", p[0]))]),
        v2 = concat_sql(e, &[lit(&format!("{} ", p[1])), repeat_sql(e, 'y', LONG)]),
        v3 = concat_sql(e, &[repeat_sql(e, 'z', LONG), lit(&format!(" {} ", p[2])), repeat_sql(e, 'z', LONG)]),
        d = p[3],
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, &p);
    let t = db.table("blobs");
    let key = |id: u32| json!({"id": id.to_string()});
    let expected: BTreeSet<Cell> = [
        cell(&t, "note", &key(1), "pan", &p[0]),
        cell(&t, "note", &key(2), "pan", &p[1]),
        cell(&t, "note", &key(3), "pan", &p[2]),
        cell(&t, "card_no", &key(4), "pan", &p[3]),
    ]
    .into();
    assert_eq!(cells(&r, &recs), expected, "{}", mask_digits(&r.stderr()));
    assert_eq!(table_rec(&r, &recs, &t)["rows"], 4);
}

/// `--min-confidence`, `--fail-on`, and the text and JSON reports of a table.
fn tiers_and_report_formats(db: &Db) {
    let p = pans("453201", 16, 12_000, 2);
    db.exec(&format!(
        "CREATE TABLE orders(id INT PRIMARY KEY, card_no VARCHAR(40), memo VARCHAR(40));
         INSERT INTO orders VALUES (1, '{a}', NULL);
         INSERT INTO orders VALUES (2, NULL, 'x');
         INSERT INTO orders VALUES (3, NULL, 'x');
         INSERT INTO orders VALUES (4, NULL, 'x');
         INSERT INTO orders VALUES (5, NULL, 'x');
         INSERT INTO orders VALUES (6, NULL, 'x');
         INSERT INTO orders VALUES (7, NULL, 'x');
         INSERT INTO orders VALUES (8, NULL, 'x');",
        a = p[0],
    ));
    let t = db.table("orders");
    let (r, recs) = db.run(&[]);
    let f = one(&r, &recs, &t, "card_no", &json!({"id": "1"}), &p[0]);
    assert_eq!(s(f, "confidence"), "high", "{}", r.show());
    assert_eq!(r.code, 1);
    // Only `high`: nothing at critical fails.
    let (r, recs) = db.run(&["--fail-on", "critical"]);
    assert_eq!(findings(&recs).len(), 1);
    assert_eq!(r.code, 0, "{}", r.show());
    let (r, recs) = db.run(&["--min-confidence", "critical"]);
    assert!(findings(&recs).is_empty(), "{}", r.show());
    assert_eq!(r.code, 0, "{}", r.show());

    let text = run_with_hang_guard(&mut db.command_as("text", &[]), LIMIT);
    no_leak(&text, &p);
    assert!(text.stdout().contains(&format!("{t}: id=1, column card_no")), "{}", text.show());
    let json = run_with_hang_guard(&mut db.command_as("json", &[]), LIMIT);
    no_leak(&json, &p);
    let doc: Value = serde_json::from_str(&json.stdout()).unwrap_or_else(|e| panic!("{e}: {}", json.show()));
    let tables = doc["tables"].as_array().unwrap_or_else(|| panic!("a tables array: {}", json.show()));
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["table"], t.as_str());
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(1), "{}", json.show());
    // One location: the card column, a card store kept on purpose.
    let locs = doc["locations"].as_array().unwrap_or_else(|| panic!("a locations array: {}", json.show()));
    assert_eq!(locs.len(), 1, "{}", json.show());
    let l = &locs[0];
    assert_eq!((s(l, "kind"), s(l, "table"), s(l, "column")), ("column", t.as_str(), "card_no"));
    assert_eq!((s(l, "engine"), s(l, "protection"), s(l, "action")), (db.engine_name(), "cleartext", "truncate"));
    assert_eq!(l["distinct_cards"], 1);
    assert_eq!(s(l, "store"), format!("{t}.card_no @ {}", s(&tables[0], "path")));

    let html = run_with_hang_guard(&mut db.command_as("html", &[]), LIMIT);
    no_leak(&html, &p);
    let page = html.stdout();
    assert!(page.contains(&format!("{t}.card_no @ ")) && page.contains("truncate or tokenise"), "{}", html.show());
    assert!(page.contains("class=\"verdict-found\""), "{}", html.show());
}

/// Several databases of every engine in one run; one that cannot be reached is skipped
/// and the others are read.
#[test]
fn several_urls_in_one_run() {
    let (Some(pg), Some(my)) = (Db::pg("several"), Db::mysql("several")) else { return };
    let lite = Db::sqlite();
    let p = pans("453201", 16, 13_000, 3);
    for (db, n) in [(&pg, &p[0]), (&my, &p[1]), (&lite, &p[2])] {
        db.exec(&format!(
            "CREATE TABLE cards(id INT PRIMARY KEY, card_no VARCHAR(40)); INSERT INTO cards VALUES (1, '{n}');"
        ));
    }
    let mut cmd = lite.command(&[]);
    cmd.args([my.url(), pg.url(), "postgres://postgres@127.0.0.1:1/test".to_owned()]).args(["--schema", &pg.name]);
    // MySQL: `--schema` scopes every database; name the MySQL one too.
    cmd.args(["--schema", &my.name, "--schema", "main"]);
    let r = run_with_hang_guard(&mut cmd, LIMIT);
    let recs = r.jsonl();
    no_leak(&r, &p);
    let key = json!({"id": "1"});
    let expected: BTreeSet<Cell> = [
        cell(&pg.table("cards"), "card_no", &key, "pan", &p[0]),
        cell(&my.table("cards"), "card_no", &key, "pan", &p[1]),
        cell(&lite.table("cards"), "card_no", &key, "pan", &p[2]),
    ]
    .into();
    assert_eq!(cells(&r, &recs), expected, "{}", r.show());
    let engines: BTreeSet<&str> = findings(&recs).iter().map(|f| s(f, "engine")).collect();
    assert_eq!(engines, ["mysql", "postgres", "sqlite"].into());
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), "postgres://postgres@127.0.0.1:1/test");
    assert_eq!(summary(&recs)["tables"], 3);
    assert_eq!(r.code, 1, "{}", r.show());
}

/// A statement that runs past `--statement-timeout` makes its table skipped; the worker
/// connects again and reads the next table.
#[test]
fn statement_timeout_skips_the_table_postgres() {
    let Some(db) = Db::pg("timeout") else { return };
    db.exec(&format!(
        "CREATE VIEW a_slow AS SELECT 1 AS id, pg_sleep(3)::text AS note;
         CREATE TABLE b_cards(id int PRIMARY KEY, card_no varchar(40));
         INSERT INTO b_cards VALUES (1, '{TEST_VISA}');"
    ));
    let started = std::time::Instant::now();
    let (r, recs) = db.run(&["--include-views", "--statement-timeout", "1", "--db-connections", "1"]);
    assert!(started.elapsed() < Duration::from_secs(30), "the time limit was not applied");
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), format!("{}!{}", db.shown(), db.table("a_slow")));
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", r.show());
    assert_eq!(s(f[0], "table"), db.table("b_cards"));
    assert_eq!(r.code, 3, "{}", r.show());
}

/// Keys of other types across a page boundary (the first page is 1,000 rows): the rows
/// on either side of it and the last row are found, each once.
fn check_boundary_rows(db: &Db, table: &str, keys: &[Value], numbers: &[String]) {
    let (r, recs) = db.run(&["--table", table]);
    no_leak(&r, numbers);
    let t = db.table(table);
    let expected: BTreeSet<Cell> = keys.iter().zip(numbers).map(|(k, n)| cell(&t, "card_no", k, "pan", n)).collect();
    assert_eq!(cells(&r, &recs), expected, "{}", mask_digits(&r.stderr()));
    let tr = table_rec(&r, &recs, &t);
    assert_eq!((tr["rows"].as_u64(), tr["complete"].as_bool()), (Some(1500), Some(true)), "{}", r.show());
}

#[test]
fn keys_of_other_types_page_correctly_postgres() {
    let Some(db) = Db::pg("pgkeys") else { return };
    db.exec(
        "CREATE TABLE by_uuid(id uuid PRIMARY KEY, card_no varchar(40));
         INSERT INTO by_uuid SELECT md5(n::text)::uuid, NULL FROM generate_series(1, 1500) n;
         CREATE TABLE by_time(ts timestamptz PRIMARY KEY, card_no varchar(40));
         INSERT INTO by_time SELECT timestamptz '2026-01-01 00:00:00+00' + n * interval '1.000001 second', NULL
           FROM generate_series(1, 1500) n;
         CREATE TABLE by_text(k text COLLATE \"C\" PRIMARY KEY, card_no varchar(40));
         INSERT INTO by_text SELECT 'k''\\' || lpad(n::text, 5, '0') || ' é', NULL FROM generate_series(1, 1500) n;",
    );
    for (table, col, seed) in [("by_uuid", "id", 14_000), ("by_time", "ts", 14_100), ("by_text", "k", 14_200)] {
        // The keys at rows 1000, 1001 and 1500 in key order, as text (UTC, as pansweep reads them).
        let keys: Vec<String> = db
            .exec(&format!(
                "SET TimeZone = 'UTC';
                 SELECT {col}::text FROM {table} ORDER BY {col} OFFSET 999 LIMIT 2;
                 SELECT {col}::text FROM {table} ORDER BY {col} DESC LIMIT 1;"
            ))
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        let numbers = pans("453201", 16, seed, 3);
        for (k, n) in keys.iter().zip(&numbers) {
            db.exec(&format!("UPDATE {table} SET card_no = '{n}' WHERE {col}::text = '{}';", k.replace('\'', "''")));
        }
        let keys: Vec<Value> = keys.iter().map(|k| json!({ col: k })).collect();
        check_boundary_rows(&db, table, &keys, &numbers);
    }
}

#[test]
fn keys_of_other_types_page_correctly_mysql() {
    let Some(db) = Db::mysql("mykeys") else { return };
    let mut sql = String::from(
        "CREATE TABLE by_time(ts DATETIME(6) PRIMARY KEY, card_no VARCHAR(40));
         CREATE TABLE by_bytes(k VARBINARY(20) PRIMARY KEY, card_no VARCHAR(40));
         CREATE TABLE by_chars(k CHAR(12) PRIMARY KEY, card_no VARCHAR(40));",
    );
    sql.push_str(&insert_series(
        "by_time",
        "ts, card_no",
        "TIMESTAMPADD(MICROSECOND, n * 1000001, '2026-01-01 00:00:00'), NULL",
        1,
        1500,
    ));
    sql.push_str(&insert_series("by_bytes", "k, card_no", "CONCAT('k''\\\\', LPAD(n, 5, '0')), NULL", 1, 1500));
    sql.push_str(&insert_series("by_chars", "k, card_no", "CONCAT('注', LPAD(n, 5, '0')), NULL", 1, 1500));
    db.exec(&sql);
    // The key of row n as the server writes it.
    let key = |table: &str, n: u32| match table {
        "by_time" => format!("2026-01-01 {:02}:{:02}:{:02}.{n:06}", n / 3600, n % 3600 / 60, n % 60),
        "by_bytes" => format!("k'\\{n:05}"),
        _ => format!("注{n:05}"),
    };
    let cases = [("by_time", "ts", 15_000), ("by_bytes", "k", 15_100), ("by_chars", "k", 15_200)];
    for (table, col, seed) in cases {
        let numbers = pans("453201", 16, seed, 3);
        let rows = [1000, 1001, 1500];
        for (n, number) in rows.iter().zip(&numbers) {
            let k = key(table, *n).replace('\\', "\\\\").replace('\'', "''");
            db.exec(&format!("UPDATE {table} SET card_no = '{number}' WHERE {col} = '{k}';"));
        }
        let keys: Vec<Value> = rows.iter().map(|n| json!({ col: key(table, *n) })).collect();
        check_boundary_rows(&db, table, &keys, &numbers);
    }
}

/// A key column in another character set than the connection's (utf8mb4): the last
/// key's value, read as UTF-8, must go back as the same string, not as its UTF-8 bytes
/// taken for latin1. Otherwise the next page starts at the wrong place: `latin1_bin`
/// keys `¿00001`… after `¿01000` are never read (a PAN missed, `complete: true`);
/// `latin1_swedish_ci` keys `é…` are read twice.
#[test]
fn latin1_keys_page_correctly_mysql() {
    let Some(db) = Db::mysql("latin1") else { return };
    let mut sql = String::from(
        "CREATE TABLE bin_keys(k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_bin PRIMARY KEY, card_no VARCHAR(40));
         CREATE TABLE ci_keys(k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci PRIMARY KEY, card_no VARCHAR(40));",
    );
    sql.push_str(&insert_series("bin_keys", "k, card_no", "CONCAT('¿', LPAD(n, 5, '0')), NULL", 1, 1500));
    sql.push_str(&insert_series("ci_keys", "k, card_no", "CONCAT('é', LPAD(n, 5, '0')), NULL", 1, 1500));
    let numbers = pans("453201", 16, 16_000, 6);
    for (i, (table, ch)) in [("bin_keys", '¿'), ("ci_keys", 'é')].iter().enumerate() {
        for (j, n) in [500, 1000, 1200].iter().enumerate() {
            let _ = write!(sql, "UPDATE {table} SET card_no = '{}' WHERE k = '{ch}{n:05}';", numbers[i * 3 + j]);
        }
    }
    db.exec(&sql);
    for (i, (table, ch)) in [("bin_keys", '¿'), ("ci_keys", 'é')].iter().enumerate() {
        let keys: Vec<Value> = [500, 1000, 1200].iter().map(|n| json!({"k": format!("{ch}{n:05}")})).collect();
        check_boundary_rows(&db, table, &keys, &numbers[i * 3..i * 3 + 3]);
    }
}

/// Ctrl-C (SIGINT) mid-table: what was found is written, no `skipped` record, the table
/// and the summary say `complete: false`, exit 130.
#[test]
fn interrupt_stops_between_rows_postgres() {
    let Some(db) = Db::pg("interrupt") else { return };
    db.exec(
        "CREATE TABLE a_big(id INT PRIMARY KEY, card_no VARCHAR(40), note VARCHAR(120));
         CREATE TABLE b_small(id INT PRIMARY KEY, card_no VARCHAR(40));",
    );
    let mut rows = 0;
    for attempt in 0..3 {
        let more = 300_000 << attempt;
        db.exec(&format!(
            "INSERT INTO a_big SELECT g, NULL, repeat('order placed ', 8) FROM generate_series({}, {}) g;",
            rows + 1,
            rows + more
        ));
        if attempt == 0 {
            db.exec(&format!("UPDATE a_big SET card_no = '{TEST_VISA}' WHERE id = 1;"));
        }
        rows += more;
        let mut cmd = db.command(&["--db-connections", "1"]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn pansweep");
        let pid = child.id().to_string();
        std::thread::sleep(Duration::from_millis(700));
        // Our own child, by its id.
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let out = child.wait_with_output().expect("pansweep");
        let r = Run { code: out.status.code().unwrap_or(-1), stdout_bytes: out.stdout, stderr_bytes: out.stderr };
        let recs = r.jsonl();
        if r.code == 3 || r.code == 0 {
            // Done before the signal: a bigger table and again.
            continue;
        }
        assert_eq!(r.code, 130, "{}", r.show());
        assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
        let sum = summary(&recs);
        assert_eq!(sum["complete"], false, "{}", r.show());
        let t = table_rec(&r, &recs, &db.table("a_big"));
        assert_eq!(t["complete"], false, "{}", r.show());
        assert!(t["rows"].as_u64().is_some_and(|n| n < rows), "{}", r.show());
        // Found before the signal: written.
        assert_eq!(findings(&recs).len(), 1, "{}", r.show());
        return;
    }
    panic!("the scan of {rows} rows always ended before the signal");
}

// ---------------------------------------------------------------------------------------
// Row linkage stays in its row.

/// Evidence in one row does not raise the tier of a PAN in another: a table's rows are
/// separate records (neighbours in key order are unrelated customers).
fn context_stays_in_its_row(db: &Db) {
    let number = pan("453201", 16, 9100);
    db.exec(&format!(
        "CREATE TABLE notes(id INT PRIMARY KEY, a VARCHAR(40), b VARCHAR(60));
         INSERT INTO notes VALUES (1, '{number}', NULL);
         INSERT INTO notes VALUES (2, NULL, 'cvv 123 exp 12/29');"
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, std::slice::from_ref(&number));
    let f = one(&r, &recs, &db.table("notes"), "a", &json!({"id": "1"}), &number);
    assert_eq!(strs(f, "elements"), ["pan"], "row 2's security code and expiry are not row 1's: {}", r.show());
    assert_ne!(s(f, "confidence"), "critical", "{}", r.show());
}

mod context_stays_in_its_row {
    #[test]
    fn postgres() {
        if let Some(db) = super::Db::pg("context") {
            super::context_stays_in_its_row(&db);
        }
    }

    #[test]
    fn mysql() {
        if let Some(db) = super::Db::mysql("context") {
            super::context_stays_in_its_row(&db);
        }
    }

    #[test]
    fn sqlite() {
        super::context_stays_in_its_row(&super::Db::sqlite());
    }
}

/// SQLite has no date type: an ISO date in an expiry-named column is read as the
/// year-month it stands for, as on the server engines.
#[test]
fn iso_date_in_an_expiry_column_links_on_sqlite() {
    let db = Db::sqlite();
    let number = pan("453201", 16, 9200);
    db.exec(&format!(
        "CREATE TABLE cards(id INTEGER PRIMARY KEY, card_no TEXT, expire TEXT);
         INSERT INTO cards VALUES (1, '{number}', '2029-12-31');"
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, std::slice::from_ref(&number));
    let f = one(&r, &recs, &db.table("cards"), "card_no", &json!({"id": "1"}), &number);
    assert!(has_signal(f, "row:expiry"), "{}", r.show());
}

/// A `"` inside a value is text, not CSV quoting: the fields after it keep their
/// columns (a year must not land under the security-code column).
#[test]
fn quotes_in_values_keep_columns_on_sqlite() {
    let db = Db::sqlite();
    let number = pan("453201", 16, 9300);
    db.exec(&format!(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, memo TEXT, note TEXT, card_number TEXT, security_code TEXT, exp_year TEXT);
         INSERT INTO t VALUES (1, '5\" screen', '7\" tablet', '{number}', NULL, '2029');"
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, std::slice::from_ref(&number));
    let f = one(&r, &recs, &db.table("t"), "card_number", &json!({"id": "1"}), &number);
    assert!(has_signal(f, "column:card_number"), "{}", r.show());
    assert!(!has_signal(f, "row:cvv"), "the year is not a security code: {}", r.show());
}

/// Rows longer than the look-back kept at a 1 MiB chunk edge are still read field by
/// field: every row's security code links, including the row that straddles the edge.
#[test]
fn rows_across_chunk_edges_link_on_sqlite() {
    let db = Db::sqlite();
    let number = pan("453201", 16, 9400);
    db.exec(&format!(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, notes TEXT, card_number TEXT, security_code TEXT);
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)
         INSERT INTO t SELECT x, printf('%.3000c', 'n'), '{number}', '123' FROM c;"
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, std::slice::from_ref(&number));
    let f = findings(&recs);
    assert_eq!(f.len(), 1000, "exit {}", r.code);
    let not_critical = f.iter().filter(|f| s(f, "confidence") != "critical").count();
    assert_eq!(not_critical, 0, "rows whose security code did not link");
}

/// A PAN typed whole into the first of four split inputs is reported once, in that
/// column; the joined field is only for numbers spread over two or more parts.
#[test]
fn whole_number_in_one_split_part_is_reported_once_on_sqlite() {
    let db = Db::sqlite();
    let number = pan("453201", 16, 9500);
    db.exec(&format!(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, card_no1 TEXT, card_no2 TEXT, card_no3 TEXT, card_no4 TEXT);
         INSERT INTO t VALUES (1, '{number}', NULL, NULL, NULL);"
    ));
    let (r, recs) = db.run(&[]);
    no_leak(&r, std::slice::from_ref(&number));
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", r.show());
    assert_eq!(s(f[0], "column"), "card_no1");
}
