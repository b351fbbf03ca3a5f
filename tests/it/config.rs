//! The config file (issue 7.1): its options apply when the command line does not give
//! them, the command line overrides them, `config check` places every problem at
//! LINE:COLUMN and exits 2, discovery (`--config`, `PANSWEEP_CONFIG`, XDG, `--no-config`),
//! and a database target whose password comes from a variable connects to the real
//! PostgreSQL without the password being shown.
//!
//! Every test writes its config into a temp dir; the default locations are pointed at a
//! temp dir through `XDG_CONFIG_HOME` (the `pansweep()` helper points them at a path that
//! does not exist).

use std::process::Command;
use std::time::Duration;

use crate::util::{
    Run, TestDir, findings, insta_settings, mask_digits, pan, pansweep, run, run_with_hang_guard, s, summary,
};

/// A tree with a medium PAN in `data/a.txt` and another in `data/skip/b.txt`, and a
/// config at `etc/pansweep.toml` whose paths are relative to `etc/`.
fn tree(config: &str) -> TestDir {
    let t = TestDir::new();
    t.write("data/a.txt", format!("ref {}\n", pan("453201", 16, 11)));
    t.write("data/skip/b.txt", format!("ref {}\n", pan("453201", 16, 12)));
    t.write("etc/pansweep.toml", config);
    t
}

/// `pansweep --config etc/pansweep.toml scan -j 1 ARGS…`, run in the tree's root.
fn scan_with_config(t: &TestDir, args: &[&str]) -> Run {
    let mut c = pansweep();
    c.current_dir(t.path()).arg("--config").arg(t.join("etc/pansweep.toml")).args(["scan", "-j", "1"]).args(args);
    run(&mut c)
}

/// The `path` of every finding, sorted.
fn paths(r: &Run) -> Vec<String> {
    let recs = r.jsonl();
    let mut p: Vec<String> = findings(&recs).iter().map(|f| s(f, "path").to_owned()).collect();
    p.sort();
    p
}

const CONFIG: &str = r#"
[scan]
paths = ["../data"]
exclude = ["skip"]

[report]
format = "jsonl"
fail_on = "critical"
"#;

#[test]
fn the_file_supplies_paths_format_fail_on_and_excludes() {
    let t = tree(CONFIG);
    let r = scan_with_config(&t, &[]);
    // jsonl from the file, the file's paths (relative to etc/), its exclude, and its
    // fail_on: a medium finding does not fail.
    let d = t.join("etc/../data").display().to_string();
    assert_eq!(paths(&r), [format!("{d}/a.txt")], "{}", r.show());
    assert_eq!(r.code, 0, "{}", r.show());
}

#[test]
fn the_command_line_overrides_the_file() {
    let t = tree(CONFIG);
    // --fail-on: the medium finding fails.
    let r = scan_with_config(&t, &["--fail-on", "medium"]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert_eq!(paths(&r).len(), 1, "{}", r.show());
    // --exclude replaces the file's list: skip/ is read again.
    let r = scan_with_config(&t, &["--exclude", "nothing-matches"]);
    assert_eq!(paths(&r).len(), 2, "{}", r.show());
    // --format: csv, not the file's jsonl.
    let r = scan_with_config(&t, &["--format", "csv"]);
    assert!(r.stdout().trim_start_matches('\u{feff}').starts_with("confidence,class,path,"), "{}", r.show());
    // Paths on the command line replace the file's (the file's exclude still applies).
    let r = scan_with_config(&t, &["data"]);
    assert_eq!(paths(&r), ["data/a.txt"], "{}", r.show());
}

#[test]
fn an_invalid_file_stops_the_run_with_exit_2() {
    let t = tree("[report]\nfail_on = \"hihg\"\n");
    let r = scan_with_config(&t, &[]);
    assert_eq!(r.code, 2, "{}", r.show());
    let want = format!("{}:2:11: fail_on: unknown value \"hihg\"", t.join("etc/pansweep.toml").display());
    assert!(r.stderr().contains(&want), "{}", r.show());
    assert!(r.stdout().is_empty(), "{}", r.show());
}

#[test]
fn a_named_config_file_that_does_not_exist_is_exit_2() {
    let t = TestDir::new();
    let r = run(pansweep().current_dir(t.path()).args(["--config", "missing.toml", "scan", "."]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().contains("config file missing.toml not found"), "{}", r.show());
    let r = run(pansweep().current_dir(t.path()).env("PANSWEEP_CONFIG", "missing.toml").args(["scan", "."]));
    assert_eq!(r.code, 2, "{}", r.show());
}

#[test]
fn config_check_exit_codes_and_positions() {
    let t = TestDir::new();
    t.mkdir("data");
    t.write("good.toml", "[scan]\npaths = [\"data\"]\nmax_filesize = \"500M\"\n");
    let r = run(pansweep().current_dir(t.path()).args(["config", "check", "good.toml"]));
    assert_eq!((r.code, r.stdout()), (0, "good.toml: ok\n".to_owned()), "{}", r.show());

    t.write(
        "bad.toml",
        r#"# A nightly run, with a mistake on nearly every line.
[scan]
paths = ["data", "gone"]
exclude = ["*.iso", "a[b"]
max_filesize = "500Q"
threads = 0

[scan.limits]
max_depth = -1

[db]
schemas = ["{x"]

[[db.targets]]
url = "postgres://app:Sup3rSecretPw@db1/shop"

[[db.targets]]
url = "postgres://app@db1/shop"
password_file = "db.password"
password_env = "DB_PW"

[[db.targets]]
url = "oracle://scott:Sup3rSecretPw@db2/orcl"

[[db.targets]]
url = "mysql://app@db3/legacy"
password_env = "PANSWEEP_IT_SURELY_UNSET"

[report]
format = "xml"
min_confidence = "hihg"
lang = "fr"
fingerprint_key = "short.key"
detectors = "nodir"

[schedule]
allowlist = "allow.toml"
baseline = "previous.jsonl"
lock = "no/such/dir/pansweep.lock"
"#,
    );
    t.write("short.key", "0123456789");
    let r = run(pansweep().current_dir(t.path()).args(["config", "check", "bad.toml"]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(!r.stdout().contains("Sup3rSecretPw") && !r.stderr().contains("Sup3rSecretPw"), "a password is shown");
    insta_settings(Some(t.path())).bind(|| insta::assert_snapshot!("config_check_bad", r.stdout()));

    // Syntax and schema errors are placed too.
    t.write("typo.toml", "[scan]\nfollow = true\nfolow = true\n");
    let r = run(pansweep().current_dir(t.path()).args(["config", "check", "typo.toml"]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stdout().starts_with("typo.toml:3:1: unknown field `folow`"), "{}", r.show());
    t.write("syntax.toml", "[scan\n");
    let r = run(pansweep().current_dir(t.path()).args(["config", "check", "syntax.toml"]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stdout().starts_with("syntax.toml:1:6: "), "{}", r.show());

    // A file that cannot be read, and no file at all.
    let r = run(pansweep().current_dir(t.path()).args(["config", "check", "nope.toml"]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().contains("cannot read config file nope.toml"), "{}", r.show());
    let r = run(pansweep().current_dir(t.path()).args(["config", "check"]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().contains("no config file to check"), "{}", r.show());
}

/// `config check` with no FILE checks `--config`, else the default file.
#[test]
fn config_check_finds_the_file_like_a_run_does() {
    let t = TestDir::new();
    t.write("xdg/pansweep/pansweep.toml", "[report]\nfail_on = \"high\"\n");
    let r = run(pansweep().env("XDG_CONFIG_HOME", t.join("xdg")).args(["config", "check"]));
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(r.stdout(), format!("{}: ok\n", t.join("xdg/pansweep/pansweep.toml").display()));
    t.write("other.toml", "[report]\nfail_on = \"nope\"\n");
    let r = run(pansweep()
        .env("XDG_CONFIG_HOME", t.join("xdg"))
        .arg("--config")
        .arg(t.join("other.toml"))
        .args(["config", "check"]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stdout().contains("other.toml:2:11: fail_on"), "{}", r.show());
}

#[test]
fn the_default_file_is_read_unless_no_config() {
    let t = TestDir::new();
    t.write("a.txt", format!("ref {}\n", pan("453201", 16, 13)));
    // The user's default file raises --fail-on: the medium finding does not fail.
    t.write("xdg/pansweep/pansweep.toml", "[report]\nformat = \"jsonl\"\nfail_on = \"critical\"\n");
    let base = |extra: &[&str]| {
        let mut c = pansweep();
        c.current_dir(t.path()).env("XDG_CONFIG_HOME", t.join("xdg")).args(extra).args(["scan", "-j", "1", "a.txt"]);
        c
    };
    let r = run(&mut base(&[]));
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(findings(&r.jsonl()).len(), 1, "{}", r.show());
    // --no-config: the default fail_on (medium) again.
    let r = run(&mut base(&["--no-config"]));
    assert_eq!(r.code, 1, "{}", r.show());
    // --no-config also silences PANSWEEP_CONFIG.
    t.write("env.toml", "[report]\nfail_on = \"critical\"\n");
    let r = run(base(&["--no-config"]).env("PANSWEEP_CONFIG", t.join("env.toml")));
    assert_eq!(r.code, 1, "{}", r.show());
    // --config and --no-config together is a usage error.
    let r = run(&mut base(&["--no-config", "--config", "env.toml"]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().contains("--config and --no-config cannot be used together"), "{}", r.show());
    // --config names another file: the default one is not read.
    t.write("strict.toml", "[report]\nformat = \"jsonl\"\nfail_on = \"low\"\n");
    let r = run(&mut base(&["--config", "strict.toml"]));
    assert_eq!(r.code, 1, "{}", r.show());
    // Global options in the file: quiet.
    t.write("xdg/pansweep/pansweep.toml", "[report]\nformat = \"jsonl\"\n[schedule]\nquiet = true\n");
    let r = run(&mut base(&[]));
    assert_eq!(r.code, 1, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// A database target from the file.

const PG_ENV: &str = "PANSWEEP_TEST_PG_URL";
const SECRET: &str = "Sup3rSecretPw";
const LIMIT: Duration = Duration::from_mins(2);

/// `psql` on `url` running `sql`.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(mask_digits(&String::from_utf8_lossy(&out.stderr)))
    }
}

/// A schema of one test, dropped on drop.
struct Schema {
    server: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = psql(&self.server, &format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE;", self.name));
    }
}

#[test]
#[allow(clippy::print_stderr)] // a skipped test says so on stderr
fn a_db_target_with_password_env_connects_and_the_password_is_not_shown() {
    let Some(server) = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty()) else {
        eprintln!("SKIPPED config::a_db_target_with_password_env_connects: {PG_ENV} is not set");
        return;
    };
    let schema = Schema { server: server.clone(), name: format!("pansweep_it_cfg_{}", std::process::id()) };
    let card = pan("453201", 16, 14);
    psql(
        &server,
        &format!(
            "CREATE SCHEMA \"{s}\"; CREATE TABLE \"{s}\".orders (id int primary key, note text); \
             INSERT INTO \"{s}\".orders VALUES (1, 'ref {card}');",
            s = schema.name
        ),
    )
    .unwrap_or_else(|e| panic!("setup: {e}"));

    let t = TestDir::new();
    // The server trusts local connections, so the password is sent and ignored; what is
    // checked is that it is read from the variable and never shown.
    let mut url = url::Url::parse(&server).expect("PANSWEEP_TEST_PG_URL is a URL");
    let _ = url.set_password(None);
    let config = format!(
        "[db]\nschemas = [\"{}\"]\n\n[[db.targets]]\nurl = \"{url}\"\npassword_env = \"PANSWEEP_IT_DB_PW\"\n\n\
         [report]\nformat = \"jsonl\"\noutput = \"report.jsonl\"\n",
        schema.name
    );
    t.write("pansweep.toml", &config);
    let cmd = || {
        let mut c = pansweep();
        c.current_dir(t.path()).arg("--config").arg(t.join("pansweep.toml")).env("PANSWEEP_IT_DB_PW", SECRET);
        c
    };
    let r = run_with_hang_guard(cmd().arg("db"), LIMIT);
    assert_eq!(r.code, 1, "{}", r.show());
    let report = std::fs::read_to_string(t.join("report.jsonl")).expect("the report is where the file says");
    let recs = crate::util::parse_jsonl(&report).expect("jsonl");
    assert_eq!(findings(&recs).len(), 1, "{}", mask_digits(&report));
    assert_eq!(s(findings(&recs)[0], "table"), format!("{}.orders", schema.name));
    assert_eq!(summary(&recs)["tables"], 1);
    for text in [r.stdout(), r.stderr(), report] {
        assert!(!text.contains(SECRET), "the password is shown");
    }
    // config check is clean with the variable set.
    let r = run(cmd().args(["config", "check"]));
    assert_eq!(r.code, 0, "{}", r.show());

    // Without the variable: exit 2, naming the variable, before anything is read.
    let r = run_with_hang_guard(cmd().env_remove("PANSWEEP_IT_DB_PW").arg("db"), LIMIT);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().contains("PANSWEEP_IT_DB_PW"), "{}", r.show());

    // A target that cannot be reached: the error names the URL without the password.
    t.write(
        "down.toml",
        "[[db.targets]]\nurl = \"postgres://postgres@127.0.0.1:1/test\"\npassword_env = \"PANSWEEP_IT_DB_PW\"\n",
    );
    let mut down = pansweep();
    down.arg("--config").arg(t.join("down.toml")).env("PANSWEEP_IT_DB_PW", SECRET).arg("db");
    let r = run_with_hang_guard(&mut down, LIMIT);
    assert!(matches!(r.code, 2 | 3), "{}", r.show());
    assert!(r.stdout().contains("127.0.0.1:1"), "{}", r.show());
    assert!(!r.stdout().contains(SECRET) && !r.stderr().contains(SECRET), "the password is shown");

    // A URL on the command line wins over the file's targets (here: one that fails).
    let r = run_with_hang_guard(cmd().args(["db", "postgres://postgres@127.0.0.1:1/test"]), LIMIT);
    assert!(matches!(r.code, 2 | 3), "{}", r.show());
    let report = std::fs::read_to_string(t.join("report.jsonl")).expect("report");
    assert!(report.contains("127.0.0.1:1") && !report.contains(&schema.name), "{}", mask_digits(&report));
}

const MY_ENV: &str = "PANSWEEP_TEST_MYSQL_URL";

/// The `mysql` client on the server of `server` running `sql`.
fn mysql(server: &str, sql: &str) -> Result<String, String> {
    let u = url::Url::parse(server).map_err(|e| format!("{MY_ENV} is not a URL: {e}"))?;
    let mut c = Command::new("mysql");
    c.args(["--protocol=TCP", "--batch", "--skip-column-names", "--connect-timeout=10"])
        .arg(format!("--host={}", u.host_str().unwrap_or("127.0.0.1")))
        .arg(format!("--port={}", u.port().unwrap_or(3306)))
        .arg(format!("--user={}", if u.username().is_empty() { "root" } else { u.username() }))
        .args(["-e", sql]);
    if let Some(p) = u.password() {
        c.env("MYSQL_PWD", p);
    }
    let out = c.output().map_err(|e| format!("cannot run mysql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(mask_digits(&String::from_utf8_lossy(&out.stderr)))
    }
}

/// A MySQL database and user of one test, dropped on drop.
struct MyDb {
    server: String,
    name: String,
}

impl Drop for MyDb {
    fn drop(&mut self) {
        let _ = mysql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS `{n}`; DROP USER IF EXISTS '{n}'@'%';", n = self.name),
        );
    }
}

/// The MySQL server checks passwords (PostgreSQL here trusts local connections): the
/// password of `password_file` is the one sent, and a wrong one is refused without being
/// shown.
#[test]
#[allow(clippy::print_stderr)] // a skipped test says so on stderr
fn a_db_target_with_password_file_logs_in_to_mysql() {
    let Some(server) = std::env::var(MY_ENV).ok().filter(|u| !u.trim().is_empty()) else {
        eprintln!("SKIPPED config::a_db_target_with_password_file_logs_in_to_mysql: {MY_ENV} is not set");
        return;
    };
    let db = MyDb { server: server.clone(), name: format!("psw_cfg_{}", std::process::id()) };
    let real = "An0ther-Passw0rd";
    let card = pan("453201", 16, 15);
    mysql(
        &server,
        &format!(
            "CREATE DATABASE `{n}`; CREATE TABLE `{n}`.orders (id INT PRIMARY KEY, note TEXT); \
             INSERT INTO `{n}`.orders VALUES (1, 'ref {card}'); \
             CREATE USER '{n}'@'%' IDENTIFIED BY '{real}'; GRANT SELECT ON `{n}`.* TO '{n}'@'%';",
            n = db.name
        ),
    )
    .unwrap_or_else(|e| panic!("setup: {e}"));
    let mut url = url::Url::parse(&server).expect("url");
    url.set_username(&db.name).expect("user");
    let _ = url.set_password(None);
    url.set_path(&format!("/{}", db.name));

    let t = TestDir::new();
    t.write("secret/db.password", format!("{real}\n"));
    t.write(
        "etc/pansweep.toml",
        format!("[[db.targets]]\nurl = \"{url}\"\npassword_file = \"../secret/db.password\"\n"),
    );
    let run_db = || {
        let mut c = pansweep();
        c.arg("--config").arg(t.join("etc/pansweep.toml")).args(["db", "--format", "jsonl"]);
        run_with_hang_guard(&mut c, LIMIT)
    };
    let r = run_db();
    assert_eq!(r.code, 1, "{}", r.show());
    assert_eq!(findings(&r.jsonl()).len(), 1, "{}", r.show());
    assert!(!r.stdout().contains(real) && !r.stderr().contains(real), "the password is shown");

    // The wrong password in the file: refused, a skipped database, not shown.
    t.write("secret/db.password", format!("{SECRET}\n"));
    let r = run_db();
    assert_eq!(r.code, 3, "{}", r.show());
    assert!(findings(&r.jsonl()).is_empty(), "{}", r.show());
    assert!(!r.stdout().contains(SECRET) && !r.stderr().contains(SECRET), "the password is shown");
}
