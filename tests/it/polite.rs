//! A polite scheduled run (issue 7 point 5): `--nice`, `--max-rate`, `--lock`, `--quiet`
//! and `--syslog`.

use std::fs::{self, File};
use std::io::{BufRead, Read};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use pansweep::canary;

use crate::util::{
    TestDir, findings, mask_digits, of_type, pan, pansweep, pansweep_unprivileged, run, s, scan_in, summary,
};

/// A tree with card data in a small file, in a file large enough to be read in chunks,
/// and inside a zip and a gzip file: every way a file's bytes are read.
fn tree_with_cards(t: &TestDir) -> usize {
    t.write("small.txt", format!("card number {}\n", pan("453201", 16, 1)));
    let mut big = Vec::new();
    for i in 0..12_000u64 {
        big.extend_from_slice(format!("2024-10-22 GET /index.html?page={} HTTP/1.1 200\n", i % 97).as_bytes());
        if i % 4000 == 3999 {
            big.extend_from_slice(format!("charge ok card={} exp=12/29\n", pan("545454", 16, i)).as_bytes());
        }
    }
    t.write("big.log", &big);
    let csv = format!("order_id,card_number,exp,cvv\n1001,{},12/29,123\n", pan("453201", 16, 7));
    t.write("backup.zip", canary::zip_of(&[("orders.csv", csv.as_bytes())]).unwrap());
    t.write("app.log.gz", canary::gzip(format!("card={} exp=12/29\n", pan("453201", 16, 8)).as_bytes()).unwrap());
    1 + 3 + 1 + 1
}

#[test]
fn nice_lowers_cpu_and_io_priority_of_every_thread() {
    let t = TestDir::new();
    // Enough files with findings that the report fills the pipe, the result channel fills
    // behind it and the workers and the walker wait too: the run stays alive with all its
    // threads while we look at them, until we read the rest.
    for f in 0..600 {
        let mut text = String::new();
        for i in 0..10 {
            text.push_str("card ");
            text.push_str(&pan("453201", 16, f * 10 + i));
            text.push('\n');
        }
        t.write(format!("cards/{f}.txt"), text);
    }
    let mut child = pansweep()
        .current_dir(t.path())
        .args(["scan", "--nice", "-j", "2", "--format", "jsonl", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pansweep");
    // The first finding comes from a worker: by then every thread has been started.
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("\"type\":\"finding\"") {
        line.clear();
        assert!(stdout.read_line(&mut line).expect("read the report") > 0, "no finding in the report");
    }
    let pid = child.id();
    let mut seen = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/task")).expect("list threads") {
        let tid: i32 = entry.unwrap().file_name().to_str().unwrap().parse().unwrap();
        // A thread that has just ended is gone from /proc: skip it.
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else { continue };
        let nice = pansweep::os::parse_stat_nice(&stat).expect("nice field");
        let Ok(class) = pansweep::os::io_class(tid) else { continue };
        seen.push((tid, nice, class));
    }
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).expect("rest of the report");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1));
    // The main thread, the signal handler's, the walker and two workers at least.
    assert!(seen.len() >= 5, "{seen:?}");
    for (tid, nice, class) in &seen {
        assert_eq!(*nice, pansweep::os::LOWEST_NICE, "thread {tid}: {seen:?}");
        assert_eq!(*class, pansweep::os::IOPRIO_CLASS_IDLE, "thread {tid}: {seen:?}");
    }
}

#[test]
fn max_rate_scan_finds_everything() {
    let t = TestDir::new();
    let expected = tree_with_cards(&t);
    let scan = |extra: &[&str]| {
        let mut c = pansweep();
        c.current_dir(t.path()).args(["scan", "-j", "2", "--format", "jsonl"]).args(extra).arg(".");
        run(&mut c)
    };
    let free = scan(&[]);
    // About 0.5 MiB of files at 256 KiB/s: the bucket is drained and the run is paced.
    let slow = scan(&["--max-rate", "256K"]);
    assert_eq!(free.code, 1, "{free:?}");
    assert_eq!(slow.code, 1, "{slow:?}");
    let key = |r: &crate::util::Run| {
        let recs = r.jsonl();
        let mut v: Vec<(String, u64)> =
            findings(&recs).iter().map(|f| (s(f, "path").to_owned(), f["byte_offset"].as_u64().unwrap())).collect();
        v.sort();
        (v, summary(&recs)["bytes"].as_u64().unwrap(), summary(&recs)["files"].as_u64().unwrap())
    };
    let (free_findings, free_bytes, free_files) = key(&free);
    assert_eq!(free_findings.len(), expected, "{}", mask_digits(&free.stdout()));
    assert_eq!(key(&slow), (free_findings, free_bytes, free_files));
    assert!(slow.stderr().is_empty(), "{slow:?}");

    let zero = scan(&["--max-rate", "0"]);
    assert_eq!(zero.code, 2, "{zero:?}");
    assert!(zero.stderr().contains("--max-rate must be at least 1"), "{zero:?}");
}

/// Takes the lock as another run would: the holder line, then `flock`.
fn hold_lock(path: &Path, line: &str) -> File {
    fs::write(path, line).unwrap();
    let f = fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    f.try_lock().expect("lock free at first");
    f
}

#[test]
fn a_second_run_exits_2_at_once_and_leaves_the_first_runs_report_alone() {
    let t = TestDir::new();
    t.write("data/clean.txt", "nothing to see\n");
    let lock = t.join("pansweep.lock");
    let out = t.join("report.jsonl");
    fs::write(&out, "the first run's report\n").unwrap();
    let holder_line = "pid=4242 started=2026-12-06T01:00:00Z argv0=/usr/bin/pansweep\n";
    let held = hold_lock(&lock, holder_line);

    let lock_arg = lock.to_str().unwrap();
    let out_arg = out.to_str().unwrap();
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--lock", lock_arg, "-o", out_arg, "data"]));
    assert_eq!(r.code, 2, "{r:?}");
    let err = r.stderr();
    assert!(err.contains(lock_arg), "names the lock file: {err}");
    assert!(err.contains("pid 4242") && err.contains("started 2026-12-06T01:00:00Z"), "names the holder: {err}");
    assert!(r.stdout().is_empty(), "{r:?}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "the first run's report\n", "report untouched");
    assert_eq!(fs::read_to_string(&lock).unwrap(), holder_line, "holder line untouched");

    // `db` takes the same lock.
    let db = t.join("shop.sqlite");
    fs::write(&db, b"").unwrap();
    let url = format!("sqlite://{}", db.display());
    let r = run(pansweep().args(["db", "--lock", lock_arg, "-o", out_arg, &url]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("pid 4242"), "{r:?}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "the first run's report\n");

    // With --syslog, the skipped night is in the log.
    let (sock, sock_path) = listen(t.path());
    let mut c = pansweep();
    c.current_dir(t.path()).env("PANSWEEP_SYSLOG_SOCKET", &sock_path);
    let child = c
        .args(["scan", "--syslog", "--lock", lock_arg, "data"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let line = recv_line(&sock);
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(2));
    assert_eq!(line, format!("<11>pansweep[{pid}]: complete=false exit=2 error=lock-held report=stdout"));

    // Released: the next run takes it, records itself, and leaves the file in place.
    drop(held);
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--lock", lock_arg, "-o", out_arg, "data"]));
    assert_eq!(r.code, 0, "{r:?}");
    let line = fs::read_to_string(&lock).unwrap();
    assert!(line.starts_with("pid=") && line.contains(" started=") && line.contains(" argv0="), "{line}");
    assert_ne!(line, holder_line);
    assert!(of_type(&crate::util::parse_jsonl(&fs::read_to_string(&out).unwrap()).unwrap(), "summary").len() == 1);
}

fn quiet_scan(dir: &Path, extra: &[&str]) -> crate::util::Run {
    run(pansweep().current_dir(dir).args(["--quiet", "scan", "-j", "1"]).args(extra).arg("."))
}

#[test]
fn quiet_prints_nothing_for_a_clean_run() {
    let t = TestDir::new();
    t.write("a.txt", "nothing to see\n");
    t.write("b.log", "2024-10-22 GET / 200\n");
    // A syslog socket that does not exist would be a warning: not under --quiet.
    let r = run(pansweep()
        .current_dir(t.path())
        .env("PANSWEEP_SYSLOG_SOCKET", t.join("no-such-socket"))
        .args(["--quiet", "scan", "--syslog", "."]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout_bytes.is_empty() && r.stderr_bytes.is_empty(), "{r:?}");

    // With -o the report is written all the same.
    let out = t.join("out/report.jsonl");
    fs::create_dir(t.join("out")).unwrap();
    let r = quiet_scan(t.path(), &["-o", out.to_str().unwrap(), "--exclude", "out"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout_bytes.is_empty() && r.stderr_bytes.is_empty(), "{r:?}");
    let recs = crate::util::parse_jsonl(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(summary(&recs)["files"], 2);
}

#[test]
fn quiet_prints_the_report_when_there_are_findings() {
    let t = TestDir::new();
    t.write("a.txt", "nothing to see\n");
    let number = pan("453201", 16, 11);
    t.write("orders.csv", format!("order_id,card_number,exp\n1,{number},12/29\n"));
    let r = quiet_scan(t.path(), &["--format", "jsonl"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr_bytes.is_empty(), "{r:?}");
    let recs = r.jsonl();
    assert_eq!(findings(&recs).len(), 1, "{r:?}");
    assert_eq!(summary(&recs)["files"], 2);
    assert!(!r.stdout().contains(&number));

    // Findings that do not fail the run (a public test PAN) are no reason to print.
    let t = TestDir::new();
    t.write("test-card.txt", "card 4111 1111 1111 1111\n");
    let r = quiet_scan(t.path(), &["--format", "jsonl"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout_bytes.is_empty() && r.stderr_bytes.is_empty(), "{r:?}");
    let r = scan_in(t.path(), &["--format", "jsonl", "."]);
    assert_eq!(findings(&r.jsonl()).len(), 1, "the same run without --quiet reports it: {r:?}");
}

#[test]
fn quiet_prints_the_report_of_an_incomplete_run() {
    let Some(mut cmd) = pansweep_unprivileged() else { return };
    let t = TestDir::new();
    t.write("ok.txt", "nothing here\n");
    t.write("locked.txt", "nothing here either\n");
    t.chmod("locked.txt", 0o000);
    let r = run(cmd.current_dir(t.path()).args(["--quiet", "scan", "--format", "jsonl", "-j", "1", "."]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr_bytes.is_empty(), "{r:?}");
    let recs = r.jsonl();
    let skipped = of_type(&recs, "skipped");
    assert_eq!(skipped.len(), 1, "{r:?}");
    assert_eq!(s(skipped[0], "path"), "./locked.txt");
    assert_eq!(summary(&recs)["files"], 1);
}

/// A syslog socket of our own; `recv` waits at most `limit` (a hang guard).
fn listen(dir: &Path) -> (UnixDatagram, std::path::PathBuf) {
    let path = dir.join("log.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_mins(1))).unwrap();
    (sock, path)
}

fn recv_line(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).expect("a syslog line");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// The line with the variable parts (pid, elapsed time, temp paths) replaced.
fn stable(line: &str, pid: u32, tmp: &Path) -> String {
    let line = line.replace(&format!("[{pid}]"), "[PID]").replace(tmp.to_str().unwrap(), "TMP");
    let at = line.find(" elapsed_s=").expect("elapsed_s");
    let end = line[at + 1..].find(' ').map_or(line.len(), |e| at + 1 + e);
    format!("{} elapsed_s=E{}", &line[..at], &line[end..])
}

#[test]
fn syslog_gets_one_summary_line_per_run() {
    let t = TestDir::new();
    let logs = TestDir::new();
    let (sock, sock_path) = listen(logs.path());
    tree_with_cards(&t);
    let out = logs.join("nightly report.jsonl");
    let mut child = pansweep()
        .current_dir(t.path())
        .env("PANSWEEP_SYSLOG_SOCKET", &sock_path)
        .args(["scan", "--syslog", "-j", "2", "-o", out.to_str().unwrap(), "."])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let line = recv_line(&sock);
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(1), "{}", mask_digits(&err));
    let recs = crate::util::parse_jsonl(&fs::read_to_string(&out).unwrap()).unwrap();
    let sum = summary(&recs);
    assert_eq!(
        stable(&line, pid, logs.path()),
        format!(
            "<12>pansweep[PID]: complete=true exit=1 files=4 bytes={} tables=0 rows=0 findings=6 critical={} high={} \
             medium={} low={} skipped=0 elapsed_s=E report=\"TMP/nightly report.jsonl\"",
            sum["bytes"],
            sum["findings"]["critical"],
            sum["findings"]["high"],
            sum["findings"]["medium"],
            sum["findings"]["low"]
        )
    );
    assert_eq!(mask_digits(&line), line, "no card number");

    // A clean run to stdout: notice, report=stdout.
    let clean = TestDir::new();
    clean.write("a.txt", "nothing\n");
    let mut c = pansweep();
    c.current_dir(clean.path()).env("PANSWEEP_SYSLOG_SOCKET", &sock_path).args(["scan", "--syslog", "."]);
    let child = c.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let pid = child.id();
    let line = recv_line(&sock);
    assert_eq!(
        stable(&line, pid, clean.path()),
        "<13>pansweep[PID]: complete=true exit=0 files=1 bytes=8 tables=0 rows=0 findings=0 critical=0 high=0 \
         medium=0 low=0 skipped=0 elapsed_s=E report=stdout"
    );
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(0));
}

#[test]
fn a_missing_syslog_socket_is_a_warning() {
    let t = TestDir::new();
    t.write("a.txt", "nothing\n");
    let missing = t.join("no-such-socket");
    let r = run(pansweep().current_dir(t.path()).env("PANSWEEP_SYSLOG_SOCKET", &missing).args([
        "scan",
        "--syslog",
        "--exclude",
        "no-such-socket",
        ".",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr().contains("warning: cannot send the summary to syslog"), "{r:?}");
    assert!(r.stderr().contains(missing.to_str().unwrap()), "{r:?}");
}

#[test]
fn quiet_report_merges_print_only_what_needs_acting_on() {
    let t = TestDir::new();
    t.write("clean/a.txt", "nothing to see\n");
    t.write("dirty/orders.csv", format!("order_id,card_number,exp\n1,{},12/29\n", pan("453201", 16, 21)));
    for name in ["clean", "dirty"] {
        let out = t.join(format!("{name}.jsonl"));
        let r = run(pansweep().current_dir(t.path()).args(["scan", "-o", out.to_str().unwrap(), name]));
        assert!(r.code == 0 || r.code == 1, "{r:?}");
    }
    let report =
        |file: &str| run(pansweep().current_dir(t.path()).args(["--quiet", "report", "--format", "jsonl", file]));
    let r = report("clean.jsonl");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout_bytes.is_empty() && r.stderr_bytes.is_empty(), "{r:?}");
    let r = report("dirty.jsonl");
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(findings(&r.jsonl()).len(), 1, "{r:?}");
}
