//! Interruption and closed pipes (SPEC §2, §8): Ctrl-C or SIGTERM mid-run writes what was
//! found plus a summary with `complete: false` and exits 130; a reader that closes the
//! pipe early is not an error.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

use crate::util::{TestDir, of_type, pansweep, parse_jsonl, summary};

/// A tree that takes a debug build many seconds to scan: a small file with a public test
/// PAN plus a sparse 16 GiB file (no disk used; it reads as zeros).
fn slow_tree() -> TestDir {
    let t = TestDir::new();
    std::fs::write(t.path().join("a.txt"), "card number 4111 1111 1111 1111\n").unwrap();
    let f = std::fs::File::create(t.path().join("zeros.img")).unwrap();
    f.set_len(16 << 30).unwrap();
    t
}

/// `pansweep scan --format jsonl -j THREADS .` in `dir`, stdout and stderr piped.
fn spawn_scan(dir: &std::path::Path, threads: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = pansweep()
        .current_dir(dir)
        .args(["scan", "--format", "jsonl", "-j", threads, "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

fn interrupt_with(signal: &str) {
    let t = slow_tree();
    let (mut child, mut out) = spawn_scan(t.path(), "2");
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("\"type\":\"run\""), "{first}");
    // Let the workers get into the big file.
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "exit after {signal}");
    let recs = parse_jsonl(&(first + &rest)).expect("every line is whole JSON");
    let sum = summary(&recs);
    assert_eq!(sum["complete"], false, "{sum}");
    assert_eq!(of_type(&recs, "summary").len(), 1);
}

#[test]
fn sigint_writes_an_incomplete_summary_and_exits_130() {
    interrupt_with("-INT");
}

#[test]
fn sigterm_behaves_like_ctrl_c() {
    interrupt_with("-TERM");
}

#[test]
fn closed_pipe_is_not_an_error() {
    let t = TestDir::new();
    let mut body = String::new();
    for i in 0..20_000 {
        let _ = writeln!(body, "row {i} card 4111 1111 1111 1111");
    }
    std::fs::write(t.path().join("many.txt"), body).unwrap();
    let (mut child, mut out) = spawn_scan(t.path(), "1");
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    drop(out); // like `| head -1`
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let code = child.wait().unwrap().code();
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}, stderr {err}");
    assert!(err.is_empty(), "no error message for a closed pipe: {err}");
}
