//! Incremental re-scans (`--state`) and checkpoint/resume (`--resume`), issue 7 points 4
//! and 6: an unchanged file is taken from the state with the same findings; a changed
//! file, a new ruleset or `--full` reads again; a run killed with SIGKILL mid-scan and
//! resumed reports every finding exactly once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{TestDir, findings, of_type, pan, pansweep, parse_jsonl, run, summary};

/// A finding's place and card: what must be the same between runs.
fn identity(f: &Value) -> String {
    format!("{}|{}|{}|{}|{}", f["path"], f["line"], f["byte_offset"], f["class"], f["fingerprint"])
}

/// Findings by identity, with multiplicity.
fn finding_set(recs: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in findings(recs) {
        *m.entry(identity(f)).or_default() += 1;
    }
    m
}

fn key(t: &TestDir) -> String {
    let k = t.join("key");
    if !k.exists() {
        std::fs::write(&k, [7u8; 32]).unwrap();
    }
    k.display().to_string()
}

/// `pansweep scan -j 1 --fingerprint-key KEY --state STATE tree -o REPORT` in `t`; the
/// report's records.
fn state_run(t: &TestDir, report: &str, extra: &[&str]) -> (crate::util::Run, Vec<Value>) {
    let mut args = vec!["--state", "state"];
    args.extend_from_slice(extra);
    keyed_run(t, report, &args)
}

/// `pansweep scan -j 1 --fingerprint-key KEY tree -o REPORT EXTRA…` in `t`; the report's
/// records.
fn keyed_run(t: &TestDir, report: &str, extra: &[&str]) -> (crate::util::Run, Vec<Value>) {
    let key = key(t);
    let mut c = pansweep();
    c.current_dir(t.path()).args(["scan", "-j", "1", "--fingerprint-key", &key, "-o", report, "tree"]).args(extra);
    let r = run(&mut c);
    let text = std::fs::read_to_string(t.join(report)).unwrap_or_default();
    let recs = parse_jsonl(&text).unwrap_or_else(|e| panic!("{report}: {e}\n{r:?}"));
    (r, recs)
}

fn tree_with_cards(t: &TestDir) -> Vec<String> {
    let pans: Vec<String> = (0..3).map(|i| pan("453201", 16, 100 + i)).collect();
    t.write("tree/orders.csv", format!("id,card,exp\n1,{},12/29\n2,{},01/30\n", pans[0], pans[1]));
    t.write("tree/notes/call.txt", format!("customer read out card {} exp 03/28\n", pans[2]));
    t.write("tree/clean.log", "GET /index.html 200\n".repeat(200));
    t.write(format!("tree/receipt-{}.txt", pans[2]), "thank you for your order\n");
    pans
}

#[test]
fn unchanged_files_come_from_the_state_with_the_same_findings() {
    let t = TestDir::new();
    let pans = tree_with_cards(&t);
    let (r1, first) = state_run(&t, "r1.jsonl", &[]);
    assert_eq!(r1.code, 1, "{r1:?}");
    assert_eq!(findings(&first).len(), 3);
    assert!(summary(&first).get("unchanged").is_none(), "first run reads everything");

    let (r2, second) = state_run(&t, "r2.jsonl", &[]);
    assert_eq!(r2.code, 1, "{r2:?}");
    assert_eq!(finding_set(&first), finding_set(&second));
    let s2 = summary(&second);
    assert_eq!(s2["unchanged"], 4, "{s2}");
    assert_eq!(s2["files"], 4);
    assert_eq!(s2["bytes"], 0, "nothing read again: {s2}");
    assert_eq!(s2["findings"], summary(&first)["findings"]);

    // A changed file is read again; the others still come from the state.
    let new_pan = pan("453201", 16, 999);
    let mut f = std::fs::OpenOptions::new().append(true).open(t.join("tree/clean.log")).unwrap();
    writeln!(f, "refund to card {new_pan} exp 04/27").unwrap();
    drop(f);
    let (r3, third) = state_run(&t, "r3.jsonl", &[]);
    assert_eq!(r3.code, 1, "{r3:?}");
    assert_eq!(summary(&third)["unchanged"], 3);
    assert_eq!(findings(&third).len(), 4);
    assert!(findings(&third).iter().any(|f| f["path"] == "tree/clean.log" && f["last4"] == new_pan[12..]));

    // A deleted file's findings are gone, and it drops out of the state.
    std::fs::remove_file(t.join("tree/notes/call.txt")).unwrap();
    let (_, fourth) = state_run(&t, "r4.jsonl", &[]);
    assert_eq!(findings(&fourth).len(), 3);
    assert_eq!(summary(&fourth)["unchanged"], 3);
    let state = std::fs::read_to_string(t.join("state")).unwrap();
    assert_eq!(state.lines().filter(|l| l.starts_with("{\"k\"")).count(), 3, "{}", crate::util::mask_digits(&state));

    // No card number is in the state file, not even one a file is named after; files are
    // named by keyed hash (a file's name shows only in its masked finding records).
    for p in &pans {
        assert!(!state.contains(p.as_str()), "a full PAN is in the state file");
    }
    assert!(!state.contains("receipt-"));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(t.join("state")).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_new_ruleset_or_full_reads_every_file_again() {
    let t = TestDir::new();
    tree_with_cards(&t);
    let (_, first) = state_run(&t, "r1.jsonl", &[]);
    // Other options that change what is reported: the state is stale.
    let (r, recs) = state_run(&t, "r2.jsonl", &["--min-confidence", "high"]);
    assert!(r.stderr().contains("every file is read again"), "{r:?}");
    assert!(summary(&recs).get("unchanged").is_none());
    // Snippets of context are part of each finding: stale too.
    let (r, recs) = state_run(&t, "r2c.jsonl", &["--min-confidence", "high", "--context"]);
    assert!(r.stderr().contains("every file is read again"), "{r:?}");
    assert!(summary(&recs).get("unchanged").is_none());
    assert!(findings(&recs).iter().all(|f| f.get("context").is_some()), "{r:?}");
    // A detector overlay (a house brand) changes the ruleset: stale too.
    let overlay = t.mkdir("detectors");
    t.write("detectors/brands/house.toml", crate::detectors::HOUSE_CARD);
    let (r, recs) = state_run(&t, "r3.jsonl", &["--detectors", &overlay.display().to_string()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr().contains("every file is read again"), "{r:?}");
    assert!(summary(&recs).get("unchanged").is_none(), "{r:?}");
    // Back to the first options: the state now holds the last run's; read again once.
    let (_, recs) = state_run(&t, "r4.jsonl", &[]);
    assert_eq!(finding_set(&first), finding_set(&recs));
    let (_, recs) = state_run(&t, "r5.jsonl", &[]);
    assert_eq!(summary(&recs)["unchanged"], 4);
    // --full reads everything and rewrites the state.
    let (_, recs) = state_run(&t, "r6.jsonl", &["--full"]);
    assert!(summary(&recs).get("unchanged").is_none());
    assert_eq!(finding_set(&first), finding_set(&recs));
    let (_, recs) = state_run(&t, "r7.jsonl", &[]);
    assert_eq!(summary(&recs)["unchanged"], 4);
}

#[test]
fn state_and_resume_need_a_key_file_and_resume_a_jsonl_report_file() {
    let t = TestDir::new();
    t.write("tree/a.txt", "x");
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--state", "st", "tree"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("--fingerprint-key"), "{r:?}");
    let key = key(&t);
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--fingerprint-key", &key, "--resume", "j", "tree"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("-o FILE"), "{r:?}");
    let r = run(pansweep().current_dir(t.path()).args([
        "scan",
        "--fingerprint-key",
        &key,
        "--resume",
        "j",
        "--format",
        "csv",
        "-o",
        "r.csv",
        "tree",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("jsonl"), "{r:?}");
    assert!(!t.join("j").exists() && !t.join("st").exists());
}

/// Many small files, some with cards, and archives whose members hold cards (a run
/// killed inside an archive has written some of its findings but not finished it).
fn resume_tree(t: &TestDir) {
    let filler = "2026-12-05T10:00:00Z GET /api/orders/status 200 1532 \"Mozilla/5.0\"\n".repeat(400);
    for i in 0..60u64 {
        let mut body = filler.clone();
        if i % 3 == 0 {
            let _ = writeln!(body, "payment card {} exp 12/29", pan("453201", 16, i));
        }
        t.write(format!("tree/d{}/f{i}.log", i % 6), body);
    }
    for a in 0..3u64 {
        let path = t.join(format!("tree/archive{a}.zip"));
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for m in 0..8u64 {
            zip.start_file(format!("m{m}.txt"), zip::write::SimpleFileOptions::default()).unwrap();
            let body = format!("{filler}card {} exp 11/28\n", pan("542418", 16, 1000 + a * 10 + m));
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
}

fn resume_cmd(t: &TestDir, extra: &[&str]) -> std::process::Command {
    let key = key(t);
    let mut c = pansweep();
    c.current_dir(t.path())
        .args(["scan", "-j", "1", "--fingerprint-key", &key, "--resume", "journal", "-o", "report.jsonl", "tree"])
        .args(extra);
    c
}

/// Waits until the journal holds a checkpoint that lists a finished file.
fn wait_for_checkpoint(t: &TestDir, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let j = std::fs::read_to_string(t.join("journal")).unwrap_or_default();
        if j.lines().any(|l| l.contains("\"k\":[")) {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the scan ended before its first checkpoint");
        assert!(Instant::now() < deadline, "no checkpoint within two minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn resume_after_kill_9_and_ctrl_c_loses_nothing_and_repeats_nothing() {
    let t = TestDir::new();
    resume_tree(&t);
    // The reference: one uninterrupted run.
    let (r, whole) = keyed_run(&t, "whole.jsonl", &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(findings(&whole).len(), 20 + 24);

    // Session 1: slowed down, killed with SIGKILL after its first checkpoint.
    let mut child =
        resume_cmd(&t, &["--max-rate", "150K"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for_checkpoint(&t, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let cut = std::fs::read_to_string(t.join("report.jsonl")).unwrap();
    assert!(!cut.contains("\"summary\""), "killed before the end");

    // Session 2: interrupted with SIGINT after a checkpoint of its own.
    let lines_before = std::fs::read_to_string(t.join("journal")).unwrap().lines().count();
    let mut child =
        resume_cmd(&t, &["--max-rate", "150K"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_mins(2);
    while std::fs::read_to_string(t.join("journal")).unwrap().lines().count() <= lines_before {
        assert!(child.try_wait().unwrap().is_none(), "session 2 ended before a checkpoint");
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));

    // Session 3: runs to the end.
    let r = run(&mut resume_cmd(&t, &[]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr().contains("continuing an interrupted run"), "{r:?}");
    let resumed = parse_jsonl(&std::fs::read_to_string(t.join("report.jsonl")).unwrap()).unwrap();
    assert_eq!(of_type(&resumed, "run").len(), 1);
    assert_eq!(finding_set(&resumed), finding_set(&whole), "same findings, each once");
    let (a, b) = (summary(&resumed), summary(&whole));
    assert_eq!(a["complete"], true);
    for k in ["files", "findings", "distinct_pans", "skipped"] {
        assert_eq!(a[k], b[k], "{k}: {a} vs {b}");
    }

    // The journal says the run is done: the next --resume starts a new run.
    let r = run(&mut resume_cmd(&t, &[]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!r.stderr().contains("continuing"), "{r:?}");
    let again = parse_jsonl(&std::fs::read_to_string(t.join("report.jsonl")).unwrap()).unwrap();
    assert_eq!(finding_set(&again), finding_set(&whole));
    assert_eq!(of_type(&again, "run").len(), 1);
}

#[test]
fn an_interrupted_run_is_continued_only_by_the_same_command() {
    let t = TestDir::new();
    resume_tree(&t);
    let mut child =
        resume_cmd(&t, &["--max-rate", "150K"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for_checkpoint(&t, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let before = std::fs::read(t.join("report.jsonl")).unwrap();
    // Other options: refused, and the report is left as it was.
    let r = run(&mut resume_cmd(&t, &["--min-confidence", "high"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("different command"), "{r:?}");
    assert_eq!(std::fs::read(t.join("report.jsonl")).unwrap(), before);
    // The journal is locked while a run uses it.
    let _held = hold_lock(&t.join("journal"));
    let r = run(&mut resume_cmd(&t, &[]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("in use by another pansweep run"), "{r:?}");
}

fn hold_lock(path: &Path) -> std::fs::File {
    let f = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    f.lock().unwrap();
    f
}

/// `--forensic` reads every file (evidence for each with findings), so it refuses a state
/// that would leave unchanged files unread; and it will not hold a `--quiet` report back
/// in a temporary file that could be inside a scanned root.
#[test]
fn forensic_refuses_state_and_a_held_back_report() {
    let t = TestDir::new();
    t.write("tree/a.txt", "x");
    let key = key(&t);
    let r = run(pansweep().current_dir(t.path()).args([
        "scan",
        "--forensic",
        "--fingerprint-key",
        &key,
        "--state",
        "st",
        "-o",
        "r.jsonl",
        "tree",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("--state"), "{r:?}");
    let r = run(pansweep().current_dir(t.path()).args(["--quiet", "scan", "--forensic", "tree"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("-o FILE"), "{r:?}");
    assert!(!t.join("st").exists() && !t.join("r.jsonl").exists());
}

/// The nightly cron job of docs/scheduling.md, all options together: twice with no change
/// it prints nothing and exits 0 (the second time from the state); a new card in a new
/// file makes it exit 1 and print a report holding only that finding.
#[test]
fn a_cron_run_is_silent_until_a_new_card_appears() {
    let t = TestDir::new();
    tree_with_cards(&t);
    let (r, _) = keyed_run(&t, "baseline.jsonl", &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let key = key(&t);
    let cron = || {
        let mut c = pansweep();
        c.current_dir(t.path()).args([
            "--quiet",
            "scan",
            "-j",
            "1",
            "--nice",
            "--lock",
            "pansweep.lock",
            "--fingerprint-key",
            &key,
            "--state",
            "state",
            "--baseline",
            "baseline.jsonl",
            "tree",
        ]);
        run(&mut c)
    };
    for night in 1..=2 {
        let r = cron();
        assert_eq!(r.code, 0, "night {night}: {r:?}");
        assert!(r.stdout_bytes.is_empty() && r.stderr_bytes.is_empty(), "night {night}: {r:?}");
    }
    let new_pan = pan("453201", 16, 4242);
    t.write("tree/new/export.csv", format!("card_no,exp\n{new_pan},09/29\n"));
    let r = cron();
    assert_eq!(r.code, 1, "{r:?}");
    let recs = r.jsonl();
    let found = findings(&recs);
    assert_eq!(found.len(), 1, "{r:?}");
    assert_eq!(found[0]["path"], "tree/new/export.csv");
    assert_eq!(summary(&recs)["unchanged"], 4, "{r:?}");
}
