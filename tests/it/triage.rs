//! Scheduled runs (issue 7 points 2 and 3): the allowlist (`--allowlist`, `allowlist add`)
//! and the baseline (`--baseline`). Each test scans a tree of its own and keeps reports,
//! keys and allowlists in a second directory, outside the scanned tree. Card numbers are
//! generated at test time and never printed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::util::{Run, TestDir, findings, mask_digits, of_type, pan, pansweep, run, s, summary};

/// A tree with two files holding one card number each (a keyword makes them `high`).
struct Setup {
    tree: TestDir,
    work: TestDir,
    pans: Vec<String>,
}

impl Setup {
    fn new(seed: u64) -> Setup {
        let tree = TestDir::new();
        let work = TestDir::new();
        let pans: Vec<String> = (0..3).map(|i| pan("4532", 16, seed * 10 + i)).collect();
        tree.write("a.txt", format!("order 1\ncard number {}\n", pans[0]));
        tree.write("logs/b.log", format!("payment card {}\n", pans[1]));
        work.write("key", [0x5a_u8; 32]);
        Setup { tree, work, pans }
    }

    fn root(&self) -> String {
        self.tree.path().display().to_string()
    }

    fn key(&self) -> String {
        self.work.join("key").display().to_string()
    }

    fn file(&self, name: &str) -> String {
        self.work.join(name).display().to_string()
    }

    /// `pansweep scan --format jsonl -j 1 ROOT ARGS…`.
    fn scan(&self, args: &[&str]) -> (Run, Vec<Value>) {
        let mut c = pansweep();
        c.args(["scan", "--format", "jsonl", "-j", "1"]).args(args).arg(self.root());
        let r = run(&mut c);
        let v = if r.stdout_bytes.is_empty() { Vec::new() } else { r.jsonl() };
        (r, v)
    }

    /// A first run with the key, written to `name` in the work dir.
    fn report(&self, name: &str) -> Vec<Value> {
        let out = self.file(name);
        let (r, _) = self.scan(&["--fingerprint-key", &self.key(), "-o", &out]);
        assert_eq!(r.code, 1, "{r:?}");
        let text = std::fs::read_to_string(&out).expect("report written");
        crate::util::parse_jsonl(&text).expect("JSONL report")
    }

    /// Neither the output nor `file` holds any of the card numbers.
    fn no_leak(&self, r: &Run, file: Option<&str>) {
        for p in &self.pans {
            assert!(!r.stdout().contains(p.as_str()) && !r.stderr().contains(p.as_str()), "a card number was shown");
            if let Some(f) = file {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                assert!(!text.contains(p.as_str()), "a card number was written to {f}");
            }
        }
    }
}

fn finding_paths(recs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = findings(recs).iter().map(|f| s(f, "path").to_owned()).collect();
    v.sort();
    v
}

fn key_id(recs: &[Value]) -> String {
    s(of_type(recs, "run")[0], "fingerprint_key_id").to_owned()
}

/// The finding in `path` ending with `name`.
fn finding_in<'a>(recs: &'a [Value], name: &str) -> &'a Value {
    findings(recs).into_iter().find(|f| s(f, "path").ends_with(name)).unwrap_or_else(|| panic!("no finding in {name}"))
}

#[test]
fn an_allowlisted_fingerprint_is_suppressed_until_its_expiry() {
    let t = Setup::new(1);
    let first = t.report("first.jsonl");
    let a = finding_in(&first, "a.txt");
    let entry = |expires: &str| {
        format!(
            "# accepted\n[[allow]]\nfingerprint = \"{}\"\nkey_id = \"{}\"\nreason = \"test data, OPS-1\"\nexpires = \"{expires}\"\n",
            s(a, "fingerprint"),
            key_id(&first)
        )
    };
    let allow = t.work.write("allow.toml", entry("2999-12-31"));
    let allow = allow.display().to_string();
    let (r, recs) = t.scan(&["--fingerprint-key", &t.key(), "--allowlist", &allow]);
    assert_eq!(r.code, 1, "b.log is still reported: {r:?}");
    assert_eq!(finding_paths(&recs), [format!("{}/logs/b.log", t.root())]);
    let sum = summary(&recs);
    assert_eq!(sum["allowlisted"], 1);
    assert_eq!(sum["findings"]["high"].as_u64().unwrap() + sum["findings"]["medium"].as_u64().unwrap(), 1);
    assert_eq!(sum["distinct_pans"], 1, "only reported findings count");
    assert!(!r.stderr().contains("warning"), "{r:?}");

    // Expired: the finding is back, and the run says why.
    t.work.write("allow.toml", entry("2000-01-01"));
    let (r, recs) = t.scan(&["--fingerprint-key", &t.key(), "--allowlist", &allow]);
    assert_eq!(r.code, 1);
    assert_eq!(findings(&recs).len(), 2);
    assert!(summary(&recs).get("allowlisted").is_none(), "0 is not written");
    assert!(r.stderr().contains("allow.toml:2: entry expired on 2000-01-01"), "{r:?}");

    // A run with a random key cannot match fingerprint entries, and says so.
    t.work.write("allow.toml", entry("2999-12-31"));
    let (r, recs) = t.scan(&["--allowlist", &allow]);
    assert_eq!(findings(&recs).len(), 2, "{r:?}");
    assert!(r.stderr().contains("random fingerprint key") && r.stderr().contains("--fingerprint-key"), "{r:?}");
    // --quiet keeps the warning off stderr.
    let (r, _) = t.scan(&["--quiet", "--allowlist", &allow]);
    assert!(!r.stderr().contains("warning"), "{r:?}");
    t.no_leak(&r, Some(&allow));
}

#[test]
fn path_glob_entries_accept_what_they_match() {
    let t = Setup::new(2);
    let allow = t.work.write("allow.toml", "[[allow]]\npath = \"**/logs/*\"\nreason = \"rotated away nightly\"\n");
    let allow = allow.display().to_string();
    let (r, recs) = t.scan(&["--allowlist", &allow]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(finding_paths(&recs), [format!("{}/a.txt", t.root())]);
    assert_eq!(summary(&recs)["allowlisted"], 1);

    // Everything accepted: exit 0.
    t.work.write(
        "allow.toml",
        "[[allow]]\npath = \"**/logs/*\"\nreason = \"r\"\n\n[[allow]]\npath = \"**/a.txt\"\nreason = \"r\"\n",
    );
    let (r, recs) = t.scan(&["--allowlist", &allow]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(findings(&recs).is_empty());
    assert_eq!(summary(&recs)["allowlisted"], 2);
}

#[test]
fn bad_allowlists_are_refused_with_line_and_column() {
    let t = Setup::new(3);
    let allow = t.work.write("allow.toml", "[[allow]]\npath = \"x\"\nreason = \"r\"\ncolour = \"red\"\n");
    let allow = allow.display().to_string();
    let (r, _) = t.scan(&["--allowlist", &allow]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("allow.toml:4:1:") && r.stderr().contains("colour"), "{r:?}");
    assert!(r.stdout().is_empty(), "nothing is scanned with a bad allowlist");

    // A card number anywhere in the file: refused, the line named, the number not shown.
    t.work.write("allow.toml", format!("[[allow]]\npath = \"x\"\nreason = \"was {}\"\n", t.pans[0]));
    let (r, _) = t.scan(&["--allowlist", &allow]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("allow.toml:3:") && r.stderr().contains("card number"), "{r:?}");
    t.no_leak(&r, None);
    t.work.write("allow.toml", format!("# {}\n[[allow]]\npath = \"x\"\nreason = \"r\"\n", t.pans[1]));
    let (r, _) = t.scan(&["--allowlist", &allow]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("allow.toml:1:"), "{r:?}");
    t.no_leak(&r, None);
}

/// A nightly run against the first night's report, with the key file (cards compared by
/// fingerprint) or without (compared by place and masked number).
fn cron(with_key: bool) {
    let t = Setup::new(if with_key { 4 } else { 5 });
    let base = t.file("base.jsonl");
    let mut args: Vec<String> = Vec::new();
    if with_key {
        args.extend(["--fingerprint-key".into(), t.key()]);
    }
    let (r, _) = {
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["-o", &base]);
        t.scan(&a)
    };
    assert_eq!(r.code, 1, "{r:?}");
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["--baseline", &base]);
        a.extend_from_slice(extra);
        t.scan(&a)
    };

    // No change: nothing written but the run and summary records, exit 0.
    let (r, recs) = with(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(findings(&recs).is_empty() && of_type(&recs, "resolved").is_empty(), "{}", mask_digits(&r.stdout()));
    assert_eq!(summary(&recs)["baseline"], serde_json::json!({"new": 0, "known": 2, "resolved": 0}));
    assert_eq!(summary(&recs)["findings"]["high"], 0);
    assert_eq!(r.stderr().contains("compared by place"), !with_key, "{r:?}");
    let (r, recs) = with(&["--quiet"]);
    assert_eq!(r.code, 0);
    assert!(findings(&recs).is_empty(), "{r:?}");
    // Silent: cron mails nothing.
    assert!(r.stdout_bytes.is_empty() && r.stderr_bytes.is_empty(), "{r:?}");
    // People are not told that nothing was found: known findings were left out.
    for (format, said, not_said) in [
        ("text", "no new card data found", "no card data found in the scanned scope"),
        ("html", "No new card data found (2 known from the baseline", "No card data found in the scanned scope"),
    ] {
        let mut c = pansweep();
        c.args(["scan", "--format", format, "-j", "1"]).args(&args).args(["--baseline", &base]).arg(t.root());
        let r = run(&mut c);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout().contains(said) && !r.stdout().contains(not_said), "{format}: {r:?}");
    }

    // A new card in a new file: exit 1, only that finding.
    t.tree.write("new/c.csv", format!("card_no\n{}\n", t.pans[2]));
    let (r, recs) = with(&[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(finding_paths(&recs), [format!("{}/new/c.csv", t.root())]);
    assert_eq!(summary(&recs)["baseline"], serde_json::json!({"new": 1, "known": 2, "resolved": 0}));
    assert_eq!(summary(&recs)["distinct_pans"], 1);

    // The new file gone, and an old one too: listed as resolved, exit 0.
    std::fs::remove_file(t.tree.join("new/c.csv")).unwrap();
    std::fs::remove_file(t.tree.join("logs/b.log")).unwrap();
    let (r, recs) = with(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(findings(&recs).is_empty());
    let resolved = of_type(&recs, "resolved");
    assert_eq!(resolved.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(resolved[0], "path"), format!("{}/logs/b.log", t.root()));
    assert_eq!(s(resolved[0], "id").len(), 16);
    assert_eq!(summary(&recs)["baseline"], serde_json::json!({"new": 0, "known": 1, "resolved": 1}));
    // The resolved record comes before the summary.
    assert_eq!(recs.last().unwrap()["type"], "summary");
    // `pansweep report` keeps them, and the counts, when it re-renders the run.
    let night = t.file("night.jsonl");
    let (r, _) = with(&["-o", &night]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut c = pansweep();
    c.args(["report", "--format", "json", &night]);
    let r = run(&mut c);
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    assert_eq!(doc["resolved"].as_array().map(Vec::len), Some(1), "{r:?}");
    assert_eq!(doc["summary"]["baseline"], serde_json::json!({"new": 0, "known": 1, "resolved": 1}));

    // The same in text, English and Japanese.
    for (lang, head) in [("en", "resolved since baseline (1):"), ("ja", "ベースライン以降に解消 (1):")] {
        let mut c = pansweep();
        c.args(["--lang", lang, "scan", "--format", "text", "-j", "1"])
            .args(&args)
            .args(["--baseline", &base])
            .arg(t.root());
        let r = run(&mut c);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout().contains(head), "{r:?}");
        assert!(r.stdout().contains("logs/b.log"), "{r:?}");
        t.no_leak(&r, None);
    }
    // And in one JSON document.
    let mut c = pansweep();
    c.args(["scan", "--format", "json", "-j", "1"]).args(&args).args(["--baseline", &base]).arg(t.root());
    let r = run(&mut c);
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    assert_eq!(doc["resolved"].as_array().map(Vec::len), Some(1), "{r:?}");
    assert_eq!(doc["resolved"][0]["type"], "resolved");
}

#[test]
fn cron_runs_against_a_baseline_with_the_key() {
    cron(true);
}

#[test]
fn cron_runs_against_a_baseline_with_random_keys() {
    cron(false);
}

#[test]
fn a_bad_baseline_is_refused() {
    let t = Setup::new(6);
    let base = t.work.write("base.jsonl", "{\"type\":\"summary\"}\n");
    let (r, _) = t.scan(&["--baseline", &base.display().to_string()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("not a pansweep JSONL report"), "{r:?}");
    let (r, _) = t.scan(&["--baseline", &t.file("missing.jsonl")]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("cannot read baseline"), "{r:?}");
}

fn allowlist_add(from: &str, ids: &[&str], extra: &[&str]) -> Run {
    let mut c = pansweep();
    c.args(["allowlist", "add", "--from", from, "--reason", "accepted by QSA, ticket 42"]);
    for id in ids {
        c.args(["--id", id]);
    }
    c.args(extra);
    run(&mut c)
}

#[test]
fn allowlist_add_writes_entries_without_any_card_number() {
    let t = Setup::new(7);
    let first = t.report("first.jsonl");
    let from = t.file("first.jsonl");
    let allow = t.file("allow.toml");
    let ids: Vec<String> = findings(&first).iter().map(|f| s(f, "id").to_owned()).collect();
    assert_eq!(ids.len(), 2);

    // Appending keeps what the file held.
    std::fs::write(&allow, "# accepted findings, reviewed monthly\n").unwrap();
    let r = allowlist_add(&from, &[&ids[0]], &["--allowlist", &allow, "--expires", "2999-01-31"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = allowlist_add(&from, &[&ids[1]], &["--allowlist", &allow, "--match", "location"]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&allow).unwrap();
    assert!(text.starts_with("# accepted findings, reviewed monthly\n"), "{}", mask_digits(&text));
    assert_eq!(text.matches("[[allow]]").count(), 2);
    assert!(text.contains("fingerprint = \"hmac-sha256:") && text.contains("expires = \"2999-01-31\""));
    t.no_leak(&r, Some(&allow));
    // Not even the digits a masked number shows beyond first 6 and last 4.
    for p in &t.pans {
        assert!(!text.contains(&p[6..12]), "{}", mask_digits(&text));
    }

    // With it, the run is clean.
    let (r, recs) = t.scan(&["--fingerprint-key", &t.key(), "--allowlist", &allow]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(findings(&recs).is_empty());
    assert_eq!(summary(&recs)["allowlisted"], 2);

    // A file created by `allowlist add` is 0600.
    let fresh = t.file("fresh.toml");
    let r = allowlist_add(&from, &[&ids[0]], &["--allowlist", &fresh]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o600);
}

/// Without `--allowlist`, `allowlist add` appends to the allowlist the config file's
/// scheduled runs use, so the next run from that config is clean.
#[test]
fn allowlist_add_uses_the_config_files_allowlist() {
    let t = Setup::new(9);
    let first = t.report("first.jsonl");
    let ids: Vec<String> = findings(&first).iter().map(|f| s(f, "id").to_owned()).collect();
    let config = t
        .work
        .write("pansweep.toml", "[report]\nfingerprint_key = \"key\"\n\n[schedule]\nallowlist = \"accepted.toml\"\n");
    let config = config.display().to_string();
    let mut c = pansweep();
    c.args(["--config", &config, "allowlist", "add", "--from", &t.file("first.jsonl"), "--reason", "r"]);
    for id in &ids {
        c.args(["--id", id]);
    }
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(t.work.join("accepted.toml")).unwrap();
    assert_eq!(text.matches("[[allow]]").count(), 2, "{}", mask_digits(&text));
    let (r, recs) = t.scan(&["--config", &config]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(findings(&recs).is_empty());
    assert_eq!(summary(&recs)["allowlisted"], 2);
    // Without either, a clear error.
    let r = allowlist_add(&t.file("first.jsonl"), &[&ids[0]], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("[schedule]"), "{r:?}");
}

#[test]
fn allowlist_add_refuses_what_cannot_work() {
    let t = Setup::new(8);
    let from = t.file("random.jsonl");
    let (r, _) = t.scan(&["-o", &from]);
    assert_eq!(r.code, 1, "{r:?}");
    let text = std::fs::read_to_string(&from).unwrap();
    let recs = crate::util::parse_jsonl(&text).unwrap();
    let id = s(findings(&recs)[0], "id").to_owned();
    let allow = t.file("allow.toml");

    // A random key's fingerprints match nothing later.
    let r = allowlist_add(&from, &[&id], &["--allowlist", &allow]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("--fingerprint-key") && r.stderr().contains("--match location"), "{r:?}");
    assert!(!Path::new(&allow).exists(), "nothing written");
    // By location it works, and the run that follows is clean for that file.
    let r = allowlist_add(&from, &[&id], &["--allowlist", &allow, "--match", "location"]);
    assert_eq!(r.code, 0, "{r:?}");
    let (r, recs) = t.scan(&["--allowlist", &allow]);
    assert_eq!(findings(&recs).len(), 1, "{r:?}");
    assert_eq!(summary(&recs)["allowlisted"], 1);

    // An id not in the report; no --allowlist.
    let r = allowlist_add(&from, &["0123456789abcdef"], &["--allowlist", &allow, "--match", "location"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("no finding with id 0123456789abcdef"), "{r:?}");
    let r = allowlist_add(&from, &[&id], &["--match", "location"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("--allowlist FILE"), "{r:?}");
}

/// Runs its closure when dropped (drops a test schema, passed or not).
struct Cleanup<F: Fn()>(F);
impl<F: Fn()> Drop for Cleanup<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// `table` and `column` entries against the real PostgreSQL server
/// (`PANSWEEP_TEST_PG_URL`; skipped, loudly, when it is not set).
#[test]
#[allow(clippy::print_stderr)] // a skipped test says so on stderr
fn table_and_column_entries_postgres() {
    let Some(server) = std::env::var("PANSWEEP_TEST_PG_URL").ok().filter(|u| !u.trim().is_empty()) else {
        eprintln!("SKIPPED triage::table_and_column_entries_postgres: PANSWEEP_TEST_PG_URL is not set");
        return;
    };
    let schema = format!("pansweep_it_{}_triage", std::process::id());
    let psql = |sql: &str| {
        let mut c = std::process::Command::new("psql");
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &server, "-c", sql]);
        let out = c.output().expect("run psql");
        assert!(out.status.success(), "psql failed: {}", mask_digits(&String::from_utf8_lossy(&out.stderr)));
    };
    psql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"));
    let _cleanup = Cleanup(|| {
        let _ = std::process::Command::new("psql")
            .args(["-X", "-q", "-d", &server, "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE;")])
            .output();
    });
    let t = Setup::new(9);
    psql(&format!(
        "CREATE TABLE {schema}.orders (id int PRIMARY KEY, card_no text, note text);
         INSERT INTO {schema}.orders VALUES (1, '{}', 'paid'), (2, 'n/a', 'card {}');",
        t.pans[0], t.pans[1]
    ));
    let db = |allow: &str| {
        let mut c = pansweep();
        c.args(["db", "--format", "jsonl", &server, "--schema", &schema, "--allowlist", allow]);
        let r = run(&mut c);
        let v = r.jsonl();
        (r, v)
    };
    let allow = t.work.write(
        "allow.toml",
        format!("[[allow]]\ntable = \"{schema}.orders\"\ncolumn = \"card_no\"\nreason = \"the CDE card store\"\n"),
    );
    let (r, recs) = db(&allow.display().to_string());
    assert_eq!(r.code, 1, "{r:?}");
    let found = findings(&recs);
    assert_eq!(found.len(), 1, "{r:?}");
    assert_eq!(s(found[0], "column"), "note");
    assert_eq!(summary(&recs)["allowlisted"], 1);
    // The table record counts only what was reported.
    let table = of_type(&recs, "table")[0];
    assert_eq!(table["columns"].as_array().unwrap().len(), 1);
    t.no_leak(&r, None);

    // With the database named by a path glob too, and a glob for any schema.
    t.work.write("allow.toml", "[[allow]]\npath = \"postgres://**\"\ntable = \"*.orders\"\nreason = \"the CDE\"\n");
    let (r, recs) = db(&allow.display().to_string());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(findings(&recs).is_empty());
    assert_eq!(summary(&recs)["allowlisted"], 2);
}
