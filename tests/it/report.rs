//! `pansweep report`: re-rendering a stored JSONL run and merging runs from several hosts
//! (SPEC §2, §7). Runs are made by the real binary on trees built at test time; "hosts"
//! are told apart by editing the run record's `host`, as a fleet's reports would differ.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{TestDir, findings, mask_digits, masked, of_type, pan, pansweep, parse_jsonl, run, s, summary};

/// Scans `dir` into `out` as JSONL with `extra` options; returns the exit code.
fn scan_to(dir: &Path, out: &Path, extra: &[&str]) -> i32 {
    let r = run(pansweep()
        .current_dir(dir)
        .args(["scan", "-j", "1", "--format", "jsonl", "-o"])
        .arg(out)
        .args(extra)
        .arg("."));
    assert!(r.code == 0 || r.code == 1, "{}", r.show());
    r.code
}

/// Rewrites the `host` of the run record of a JSONL file, as if it came from `host`.
fn set_host(file: &Path, host: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut run: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(run["type"], "run");
    run["host"] = host.into();
    lines[0] = run.to_string();
    std::fs::write(file, lines.join("\n") + "\n").unwrap();
}

fn report(args: &[&str], inputs: &[&PathBuf]) -> crate::util::Run {
    run(pansweep().arg("report").args(args).args(inputs))
}

struct Fleet {
    _t: TestDir,
    key: PathBuf,
    web1: PathBuf,
    web2: PathBuf,
    a: String,
    b: String,
    shared: String,
}

/// Two "hosts": web1 holds PANs a and shared, web2 holds b and shared (same file path).
fn fleet() -> Fleet {
    let t = TestDir::new();
    let (a, b, shared) = (pan("453201", 16, 901), pan("545454", 16, 902), pan("371449", 15, 903));
    let key = t.write("key", [7u8; 32]);
    t.write("h1/var/log/app.log", format!("card number {a} exp 12/27\npayment card {shared}\n"));
    t.write("h2/var/log/app.log", format!("card number {b} exp 01/28\npayment card {shared}\n"));
    let (web1, web2) = (t.join("web1.jsonl"), t.join("web2.jsonl"));
    let k = key.to_str().unwrap().to_owned();
    assert_eq!(scan_to(&t.join("h1"), &web1, &["--fingerprint-key", &k]), 1);
    assert_eq!(scan_to(&t.join("h2"), &web2, &["--fingerprint-key", &k]), 1);
    set_host(&web1, "web1");
    set_host(&web2, "web2");
    Fleet { _t: t, key, web1, web2, a, b, shared }
}

#[test]
fn one_run_re_renders_in_every_format() {
    let f = fleet();
    let original = parse_jsonl(&std::fs::read_to_string(&f.web1).unwrap()).unwrap();
    let r = report(&["--format", "jsonl"], &[&f.web1]);
    assert_eq!(r.code, 1, "findings at or above --fail-on: {}", r.show());
    let again = r.jsonl();
    // The same findings, field for field, and the same summary counts.
    assert_eq!(findings(&again), findings(&original));
    assert_eq!(summary(&again)["findings"], summary(&original)["findings"]);
    assert_eq!(summary(&again)["distinct_pans"], 2);
    let run0 = &of_type(&again, "run")[0];
    assert_eq!(run0["host"], "web1");
    assert_eq!(run0["sources"][0]["complete"], true);
    for format in ["text", "json", "csv", "sarif", "html"] {
        let r = report(&["--format", format, "--color", "never"], &[&f.web1]);
        assert_eq!(r.code, 1, "{format}: {}", r.show());
        assert!(r.stdout().contains(&masked(&f.a)), "{format}: {}", r.show());
        assert!(!r.stdout().contains(&f.a), "{format} printed a full number");
    }
}

#[test]
fn a_fleet_merges_into_one_report() {
    let f = fleet();
    // One host's report arrives gzip-compressed.
    let gz = f.web2.with_extension("jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &std::fs::read(&f.web2).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let r = report(&["--format", "json"], &[&f.web1, &gz, &f.web1]);
    assert_eq!(r.code, 1, "{}", r.show());
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {}", r.show()));
    let list = doc["findings"].as_array().unwrap();
    // web1 given twice counts once; the shared card on two hosts is two locations.
    assert_eq!(list.len(), 4, "{}", mask_digits(&r.stdout()));
    let hosts: Vec<&str> =
        doc["run"]["sources"].as_array().unwrap().iter().map(|x| x["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["web1", "web2", "web1"]);
    assert_eq!(doc["run"]["host"], "web1, web2");
    let mut paths: Vec<&str> = list.iter().map(|x| x["path"].as_str().unwrap()).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths, ["web1:./var/log/app.log", "web2:./var/log/app.log"], "which host, in every format");
    // One key: distinct cards are a, b and shared.
    assert_eq!(doc["summary"]["distinct_pans"], 3);
    assert_eq!(doc["summary"]["files"], 3, "coverage adds up across the runs given");
    assert_eq!(doc["summary"]["complete"], true);
    assert_eq!(doc["coverage"]["full"], true);
    assert_eq!(doc["coverage"]["files"], 3);
    assert!(r.stderr().is_empty(), "{}", r.show());
    for p in [&f.a, &f.b, &f.shared] {
        assert!(r.stdout().contains(&masked(p)));
    }
    // One location per host's log, each with its own distinct cards (the shared card in both).
    let locs: Vec<(&str, &Value)> = doc["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["store"].as_str().unwrap(), &l["distinct_cards"]))
        .collect();
    assert_eq!(locs, [("web1:./var/log/app.log", &Value::from(2)), ("web2:./var/log/app.log", &Value::from(2))]);
    // The page for the fleet names both hosts and every run.
    let page = report(&["--format", "html"], &[&f.web1, &gz]);
    assert_eq!(page.code, 1, "{}", page.show());
    let html = page.stdout();
    assert!(html.contains("web1:./var/log/app.log") && html.contains("web2:./var/log/app.log"));
    assert!(html.contains("Merged from 2 runs (hosts: web1, web2); every run completed."), "{}", page.show());
    assert_eq!(html.matches("<tr class=\"\"><td class=\"path\">").count(), 2, "both runs listed as complete");
}

#[test]
fn runs_with_different_keys_do_not_count_distinct_cards_together() {
    let f = fleet();
    let t = TestDir::new();
    let other = t.join("web3.jsonl");
    let h1 = f.web1.parent().unwrap().join("h1");
    scan_to(&h1, &other, &[]); // a random key for this run only
    let r = report(&["--format", "jsonl"], &[&f.web1, &other]);
    assert_eq!(r.code, 1, "{}", r.show());
    let recs = r.jsonl();
    assert!(summary(&recs)["distinct_pans"].is_null(), "{}", r.show());
    assert_eq!(of_type(&recs, "run")[0]["fingerprint_key_id"], "mixed");
    assert!(r.stderr().contains("different fingerprint keys"), "{}", r.show());
    // Said in the human report too.
    let text = report(&["--format", "text", "--color", "never"], &[&f.web1, &other]);
    assert!(text.stdout().contains("not comparable"), "{}", text.show());
    let json = report(&["--format", "json"], &[&f.web1, &other]);
    let doc: Value = serde_json::from_str(&json.stdout()).unwrap_or_else(|e| panic!("{e}: {}", json.show()));
    assert!(doc["locations"].as_array().unwrap().iter().all(|l| l["distinct_cards"].is_null()), "{}", json.show());
    let html = report(&["--format", "html"], &[&f.web1, &other]);
    assert!(html.stdout().contains("not comparable (different fingerprint keys)"), "{}", html.show());
    let _ = &f.key;
}

#[test]
fn a_truncated_report_is_accepted_and_shown_incomplete() {
    let f = fleet();
    let bytes = std::fs::read(&f.web2).unwrap();
    // Cut in the middle of the second record (the first finding).
    let first_nl = bytes.iter().position(|&b| b == b'\n').unwrap();
    let cut = f.web2.with_file_name("cut.jsonl");
    std::fs::write(&cut, &bytes[..first_nl + 40]).unwrap();
    let r = report(&["--format", "jsonl", "--fail-on", "critical"], &[&f.web1, &cut]);
    assert_eq!(r.code, 3, "incomplete coverage, nothing at critical: {}", r.show());
    let recs = r.jsonl();
    assert_eq!(summary(&recs)["complete"], false);
    let sources = of_type(&recs, "run")[0]["sources"].as_array().unwrap().clone();
    assert_eq!((sources[0]["complete"].clone(), sources[1]["complete"].clone()), (true.into(), false.into()));
    assert!(r.stderr().contains("did not finish"), "{}", r.show());
    let text = report(&["--format", "text", "--color", "never"], &[&cut]);
    assert!(text.stdout().contains("not complete"), "{}", text.show());
}

#[test]
fn unreadable_inputs_are_skipped_items_and_the_rest_is_merged() {
    let f = fleet();
    let t = TestDir::new();
    let junk = t.write("junk.jsonl", "hello\n");
    let missing = t.join("missing.jsonl");
    let r = report(&["--format", "jsonl"], &[&f.web1, &junk, &missing]);
    assert_eq!(r.code, 1, "{}", r.show());
    let recs = r.jsonl();
    let skips = of_type(&recs, "skipped");
    assert_eq!(skips.len(), 2, "{}", r.show());
    assert!(skips.iter().any(|x| s(x, "path").ends_with("junk.jsonl") && s(x, "reason").contains("no run record")));
    assert!(skips.iter().any(|x| s(x, "path").ends_with("missing.jsonl") && s(x, "reason").contains("cannot open")));
    assert_eq!(findings(&recs).len(), 2);
    assert_eq!(summary(&recs)["complete"], false);
}

#[test]
fn the_report_file_is_0600_and_never_an_input() {
    let f = fleet();
    let out = f.web1.with_file_name("fleet.csv");
    let r = report(&["--format", "csv", "-o", out.to_str().unwrap()], &[&f.web1, &f.web2]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let before = std::fs::read(&f.web1).unwrap();
    let r = report(&["-o", f.web1.to_str().unwrap()], &[&f.web1]);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().contains("also an input"), "{}", r.show());
    assert_eq!(std::fs::read(&f.web1).unwrap(), before, "the input was not touched");
}

#[test]
fn min_confidence_and_fail_on_apply_to_the_merge() {
    let f = fleet();
    let r = report(&["--format", "jsonl", "--min-confidence", "high"], &[&f.web1]);
    let recs = r.jsonl();
    assert!(findings(&recs).iter().all(|x| matches!(s(x, "confidence"), "high" | "critical")), "{}", r.show());
    assert_eq!(report(&["--format", "jsonl", "--fail-on", "critical"], &[&f.web1]).code, 0);
}

/// A report edited to hold a full number (in a path, a context, a key) does not pass it on.
#[test]
fn a_tampered_report_does_not_leak() {
    let f = fleet();
    let text = std::fs::read_to_string(&f.web1).unwrap();
    let mut lines: Vec<Value> = parse_jsonl(&text).unwrap();
    let p = pan("453201", 16, 904);
    for v in &mut lines {
        if v["type"] == "finding" {
            v["path"] = format!("/srv/{p}.txt").into();
            v["context"] = format!("card {p}").into();
        }
    }
    let mut widened = lines.iter().find(|v| v["type"] == "finding").unwrap().clone();
    widened["first6"] = p.clone().into();
    lines.insert(1, widened);
    let edited = f.web1.with_file_name("edited.jsonl");
    std::fs::write(&edited, lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    for format in ["jsonl", "json", "csv", "sarif", "text"] {
        let r = report(&["--format", format, "--color", "never"], &[&edited]);
        assert!(!r.stdout().contains(&p) && !r.stderr().contains(&p), "{format} passed a full number on");
        assert!(r.stdout().contains(&masked(&p)), "{format}: {}", r.show());
    }
    // The widened record is refused and said so.
    let r = report(&["--format", "jsonl"], &[&edited]);
    let recs = r.jsonl();
    assert!(of_type(&recs, "skipped").iter().any(|x| s(x, "reason").contains("line 2")), "{}", r.show());
}

/// A report read from a pipe (`-`, /dev/stdin) is read twice like any other: it is
/// spooled first, so the second pass is not empty (and the page not falsely clean).
#[test]
fn a_piped_report_is_read_whole() {
    let f = fleet();
    let from_file = report(&["--format", "json"], &[&f.web1]);
    let want: Value = serde_json::from_str(&from_file.stdout()).unwrap();
    for input in ["-", "/dev/stdin"] {
        let r = run(std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("cat \"$1\" | \"$2\" report --format json {input}"))
            .arg("sh")
            .arg(&f.web1)
            .arg(crate::util::BIN));
        assert_eq!(r.code, 1, "{input}: {}", r.show());
        let got: Value = serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {}", r.show()));
        assert_eq!(got["findings"], want["findings"], "{input}");
        assert_eq!(got["locations"], want["locations"], "{input}");
        let page = run(std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("cat \"$1\" | \"$2\" report --format html {input}"))
            .arg("sh")
            .arg(&f.web1)
            .arg(crate::util::BIN));
        assert!(page.stdout().contains("class=\"verdict-found\""), "{input}: {}", page.show());
    }
}

/// With `--min-confidence`, weaker findings are not reported, so the page never says the
/// scope is clean.
#[test]
fn a_threshold_is_not_a_clean_verdict() {
    let t = TestDir::new();
    t.write("ref.txt", format!("ref {}\n", pan("453201", 16, 904)));
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--format", "html", "--min-confidence", "high", "."]));
    assert_eq!(r.code, 0, "{}", r.show());
    let html = r.stdout();
    assert!(html.contains("class=\"verdict-partial\""), "{}", mask_digits(&html));
    assert!(html.contains("No card data found at or above high confidence"), "{}", mask_digits(&html));
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--format", "html", "."]));
    assert!(r.stdout().contains("class=\"verdict-found\""), "{}", r.show());
}

/// `sqlite://…` and `localhost` name the scanning host's own database: merged from two
/// hosts, the same URL is two databases, each said with its host.
#[test]
fn local_databases_of_two_hosts_stay_apart() {
    let t = TestDir::new();
    let number = pan("453201", 16, 905);
    let db = pansweep::source::sqlite::build(&format!(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, card_no TEXT); INSERT INTO orders VALUES (1, '{number}');"
    ))
    .unwrap();
    let file = t.write("shop.sqlite", db);
    let url = format!("sqlite://{}", file.display());
    let mut outs = Vec::new();
    for host in ["web1", "web2"] {
        let out = t.join(format!("{host}.jsonl"));
        let r = run(pansweep().args(["db", "--format", "jsonl", "-o"]).arg(&out).arg(&url));
        assert_eq!(r.code, 1, "{}", r.show());
        set_host(&out, host);
        outs.push(out);
    }
    let r = report(&["--format", "json"], &[&outs[0], &outs[1]]);
    assert!(!r.stdout().contains(&number));
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {}", r.show()));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 2, "{}", mask_digits(&r.stdout()));
    let stores: Vec<&str> = doc["locations"].as_array().unwrap().iter().map(|l| s(l, "store")).collect();
    assert_eq!(stores, [format!("main.orders.card_no @ web1:{url}"), format!("main.orders.card_no @ web2:{url}")]);
    let tables: Vec<&str> = doc["tables"].as_array().unwrap().iter().map(|x| s(x, "path")).collect();
    assert_eq!(tables, [format!("web1:{url}"), format!("web2:{url}")]);
}
