//! Hostile and awkward input: binary and invalid UTF-8, empty and unreadable files and
//! directories, repeated paths, symlinks and loops, FIFOs, and many tiny files. One bad
//! item never stops the run (SPEC §8); what could not be read is a `skipped` record.

use std::os::unix::fs::symlink;
use std::process::Command;
use std::time::Duration;

use crate::util::{
    TestDir, findings, masked, of_type, pan, pansweep, pansweep_unprivileged, run, run_with_hang_guard, s, scan_jsonl,
    summary,
};

/// Deterministic pseudo-random bytes.
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

fn lines_before(data: &[u8], offset: usize) -> u64 {
    memchr::memchr_iter(b'\n', &data[..offset]).count() as u64 + 1
}

#[test]
fn pan_inside_binary_garbage_is_found() {
    let t = TestDir::new();
    let p = pan("453201", 16, 1);
    let mut data = garbage(64 * 1024, 42);
    data[10] = 0; // a NUL early on: the file is binary
    let insert = format!(" card number {p} ");
    let at = 30_000;
    data.splice(at..at, insert.bytes());
    t.write("dump.bin", &data);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    let fs = findings(&recs);
    assert_eq!(fs.len(), 1, "{r:?}");
    let f = fs[0];
    assert_eq!(s(f, "masked"), masked(&p));
    assert_eq!(s(f, "class"), "pan");
    assert_eq!(s(f, "confidence"), "high");
    assert_eq!(s(f, "encoding"), "binary");
    let off = at + " card number ".len();
    assert_eq!(f["byte_offset"], off);
    assert_eq!(f["line"], lines_before(&data, off));
    assert_eq!(summary(&recs)["bytes"], data.len());
    assert_eq!(r.code, 1);
}

#[test]
fn pan_between_invalid_utf8_is_found() {
    let t = TestDir::new();
    let p = pan("545454", 16, 2);
    let mut data = b"\xff\xfe\xc3(\n\xe3\x81 card number \x80".to_vec();
    let off = data.len();
    data.extend_from_slice(p.as_bytes());
    data.extend_from_slice(b"\x80\xc0\xaf\n\xf5\xff");
    t.write("mixed.txt", &data);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    let fs = findings(&recs);
    assert_eq!(fs.len(), 1, "{r:?}");
    assert_eq!(s(fs[0], "masked"), masked(&p));
    assert_eq!(s(fs[0], "confidence"), "high");
    assert_eq!(fs[0]["byte_offset"], off);
    assert_eq!(fs[0]["line"], 2);
}

#[test]
fn empty_file_is_scanned_and_counted() {
    let t = TestDir::new();
    t.write("empty.txt", "");
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(findings(&recs).is_empty());
    assert!(of_type(&recs, "skipped").is_empty());
    let sum = summary(&recs);
    assert_eq!((sum["files"].as_u64(), sum["bytes"].as_u64()), (Some(1), Some(0)));
    // Named on the command line too.
    let (r, recs) = scan_jsonl(t.path(), &["empty.txt"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(summary(&recs)["files"], 1);
}

#[test]
fn unreadable_file_is_skipped_with_exit_3() {
    let Some(mut cmd) = pansweep_unprivileged() else { return };
    let t = TestDir::new();
    t.write("ok.txt", "nothing here\n");
    t.write("secret.txt", format!("card number {}\n", pan("453201", 16, 3)));
    t.chmod("secret.txt", 0o000);
    let r = run(cmd.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", "1", "."]));
    assert_eq!(r.code, 3, "{r:?}");
    let recs = r.jsonl();
    let skipped = of_type(&recs, "skipped");
    assert_eq!(skipped.len(), 1, "{r:?}");
    assert_eq!(s(skipped[0], "path"), "./secret.txt");
    assert!(s(skipped[0], "reason").contains("permission denied"), "{r:?}");
    assert_eq!(s(skipped[0], "kind"), "error");
    assert!(findings(&recs).is_empty());
    let sum = summary(&recs);
    assert_eq!(sum["skipped"], 1);
    assert_eq!(sum["files"], 1);
    assert_eq!(sum["complete"], true);
}

#[test]
fn unreadable_directory_is_skipped_and_the_rest_is_scanned() {
    let Some(mut cmd) = pansweep_unprivileged() else { return };
    let t = TestDir::new();
    let p = pan("453201", 16, 4);
    t.write("open/a.txt", format!("card number {p}\n"));
    t.write("locked/b.txt", format!("card number {}\n", pan("453201", 16, 5)));
    t.write("z.txt", "nothing\n");
    t.chmod("locked", 0o000);
    let r = run(cmd.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", "1", "."]));
    let recs = r.jsonl();
    let skipped = of_type(&recs, "skipped");
    assert_eq!(skipped.len(), 1, "{r:?}");
    assert_eq!(s(skipped[0], "path"), "./locked");
    assert!(s(skipped[0], "reason").contains("permission denied"), "{r:?}");
    let fs = findings(&recs);
    assert_eq!(fs.len(), 1, "{r:?}");
    assert_eq!(s(fs[0], "masked"), masked(&p));
    assert_eq!(s(fs[0], "path"), "./open/a.txt");
    assert_eq!(summary(&recs)["files"], 2);
    assert_eq!(r.code, 1, "a finding wins over incomplete coverage");
    // Without the finding, the skipped directory makes it exit 3.
    let r = run(pansweep_unprivileged().expect("checked above").current_dir(t.path()).args([
        "scan",
        "--format",
        "jsonl",
        "-j",
        "1",
        "--exclude",
        "open",
        ".",
    ]));
    assert_eq!(r.code, 3, "{r:?}");
}

#[test]
fn paths_given_twice_or_nested_are_scanned_once() {
    let t = TestDir::new();
    let (a, b) = (pan("453201", 16, 6), pan("453201", 16, 7));
    t.write("a.txt", format!("card number {a}\n"));
    t.write("sub/b.txt", format!("card number {b}\n"));
    t.write("c.txt", "nothing\n");
    let (_, recs) = scan_jsonl(t.path(), &["a.txt", "a.txt", "sub", "sub/b.txt", ".", "./sub"]);
    let fs = findings(&recs);
    assert_eq!(fs.len(), 2, "each PAN once");
    assert_eq!(fs.iter().filter(|f| s(f, "masked") == masked(&a)).count(), 1);
    assert_eq!(fs.iter().filter(|f| s(f, "masked") == masked(&b)).count(), 1);
    assert_eq!(summary(&recs)["files"], 3);
    let (_, recs) = scan_jsonl(t.path(), &["a.txt", "a.txt"]);
    assert_eq!(findings(&recs).len(), 1);
    assert_eq!(s(findings(&recs)[0], "path"), "a.txt");
    assert_eq!(summary(&recs)["files"], 1);
}

#[test]
fn symlink_loop_with_follow_is_reported_and_the_run_finishes() {
    let t = TestDir::new();
    let p = pan("453201", 16, 8);
    t.write("a/f.txt", format!("card number {p}\n"));
    symlink(t.join("a"), t.join("a/loop")).unwrap();
    symlink("..", t.join("a/up")).unwrap();
    let mut c = pansweep();
    c.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", "1", "--follow", "."]);
    let r = run_with_hang_guard(&mut c, Duration::from_mins(2));
    let recs = r.jsonl();
    let loops: Vec<_> =
        of_type(&recs, "skipped").into_iter().filter(|k| s(k, "reason").contains("symlink loop")).collect();
    assert!(!loops.is_empty(), "{r:?}");
    assert!(loops.iter().all(|k| s(k, "kind") == "link"), "a loop loses no data: {r:?}");
    assert_eq!(findings(&recs).len(), 1, "the file is scanned once, not once per loop: {r:?}");
    assert_eq!(summary(&recs)["files"], 1);
    assert_eq!(summary(&recs)["complete"], true);
    assert_eq!(r.code, 1);
    // Without --follow the links are not entered and nothing is skipped.
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(of_type(&recs, "skipped").is_empty(), "{r:?}");
    assert_eq!(findings(&recs).len(), 1);
}

#[test]
fn loops_and_broken_links_do_not_make_coverage_incomplete() {
    let t = TestDir::new();
    t.write("a/f.txt", "nothing here\n");
    symlink(t.join("a"), t.join("a/loop")).unwrap();
    symlink("/nonexistent/pansweep-target", t.join("broken")).unwrap();
    let mut c = pansweep();
    c.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", "1", "--follow", "."]);
    let r = run_with_hang_guard(&mut c, Duration::from_mins(2));
    let recs = r.jsonl();
    let skipped = of_type(&recs, "skipped");
    assert!(skipped.iter().any(|k| s(k, "reason").starts_with("broken symbolic link")), "{r:?}");
    assert!(skipped.iter().all(|k| s(k, "kind") == "link"), "{r:?}");
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn symlinks_are_not_followed_by_default() {
    let outside = TestDir::new();
    let p = pan("453201", 16, 9);
    outside.write("pan.txt", format!("card number {p}\n"));
    let t = TestDir::new();
    t.write("plain.txt", "nothing\n");
    symlink(outside.join("pan.txt"), t.join("link.txt")).unwrap();
    symlink(outside.path(), t.join("linkdir")).unwrap();
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(findings(&recs).is_empty(), "{r:?}");
    assert_eq!(summary(&recs)["files"], 1);
    assert_eq!(r.code, 0);
    // With --follow both links lead to the PAN.
    let (_, recs) = scan_jsonl(t.path(), &["--follow", "."]);
    let mut paths: Vec<&str> = findings(&recs).iter().map(|f| s(f, "path")).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["./link.txt", "./linkdir/pan.txt"]);
    // A symlink named on the command line is followed.
    let (_, recs) = scan_jsonl(t.path(), &["link.txt"]);
    assert_eq!(findings(&recs).len(), 1);
    assert_eq!(s(findings(&recs)[0], "masked"), masked(&p));
}

#[allow(clippy::print_stderr)] // a skipped test says so on stderr
fn mkfifo(path: &std::path::Path) -> bool {
    match Command::new("mkfifo").arg(path).status() {
        Ok(s) if s.success() => true,
        _ => {
            eprintln!("skipped: mkfifo is not available");
            false
        }
    }
}

#[test]
fn fifo_inside_the_tree_is_never_opened() {
    let t = TestDir::new();
    let p = pan("453201", 16, 10);
    t.write("a.txt", format!("card number {p}\n"));
    if !mkfifo(&t.join("pipe")) {
        return;
    }
    let mut c = pansweep();
    c.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", "1", "."]);
    let r = run_with_hang_guard(&mut c, Duration::from_mins(2));
    let recs = r.jsonl();
    assert_eq!(findings(&recs).len(), 1, "{r:?}");
    assert_eq!(summary(&recs)["files"], 1, "the FIFO is not a scanned file");
    assert!(of_type(&recs, "skipped").is_empty(), "{r:?}");
    assert_eq!(r.code, 1);
    // Named on the command line, it is reported as skipped, still never opened.
    let mut c = pansweep();
    c.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", "1", "pipe"]);
    let r = run_with_hang_guard(&mut c, Duration::from_mins(2));
    let recs = r.jsonl();
    let skipped = of_type(&recs, "skipped");
    assert_eq!(skipped.len(), 1, "{r:?}");
    assert_eq!(s(skipped[0], "path"), "pipe");
    assert!(s(skipped[0], "reason").contains("not a regular file"), "{r:?}");
    assert_eq!(r.code, 3);
}

#[test]
fn thousands_of_tiny_files_are_all_counted() {
    let t = TestDir::new();
    let mut planted = 0;
    for i in 0..2000u64 {
        let body = if i % 100 == 7 {
            planted += 1;
            format!("card number {}\n", pan("453201", 16, 1000 + i))
        } else {
            format!("file {i}\n")
        };
        t.write(format!("d{:02}/f{i:04}.txt", i % 20), body);
    }
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", "2", "."]));
    let recs = r.jsonl();
    let sum = summary(&recs);
    assert_eq!(sum["files"], 2000, "{}", crate::util::mask_digits(&sum.to_string()));
    assert_eq!(sum["skipped"], 0);
    assert_eq!(findings(&recs).len(), planted);
    assert_eq!(sum["findings"]["high"], planted);
    assert_eq!(sum["distinct_pans"], planted);
}

/// Files and directories deleted, truncated and appended to while the scan runs: the run
/// finishes complete, what disappeared shows only as `vanished` skips (never an error,
/// never exit 3), and nothing in the untouched part of the tree is lost.
#[test]
fn tree_changing_during_the_scan_loses_nothing_that_stays() {
    let t = TestDir::new();
    let mut kept = std::collections::BTreeSet::new();
    for i in 0..200u64 {
        let rel = format!("keep/k{i:03}.txt");
        t.write(&rel, format!("order {i} card {}\n", pan("453201", 16, 5000 + i)));
        kept.insert(format!("./{rel}"));
    }
    for i in 0..3000u64 {
        t.write(format!("churn/d{:02}/f{i:04}.txt", i % 30), format!("row {i} nothing here\n").repeat(20));
    }
    let child = pansweep()
        .current_dir(t.path())
        .args(["scan", "--format", "jsonl", "-j", "2", "."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start pansweep");
    // Change the churn tree while pansweep walks it: delete whole directories, shrink
    // and grow files.
    for d in 0..30u64 {
        let dir = t.join(format!("churn/d{d:02}"));
        match d % 3 {
            0 => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            1 => {
                for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let _ = std::fs::OpenOptions::new().write(true).open(e.path()).and_then(|f| f.set_len(3));
                }
            }
            _ => {
                for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(e.path()) {
                        let _ = std::io::Write::write_all(&mut f, b"appended line\n");
                    }
                }
            }
        }
    }
    let out = child.wait_with_output().expect("wait for pansweep");
    let out =
        crate::util::Run { code: out.status.code().unwrap_or(-1), stdout_bytes: out.stdout, stderr_bytes: out.stderr };
    let recs = out.jsonl();
    let sum = summary(&recs);
    assert_eq!(out.code, 1, "{}", out.show());
    assert_eq!(sum["complete"], true);
    for sk in of_type(&recs, "skipped") {
        assert_eq!(sk["kind"], "vanished", "{}", out.show());
    }
    let found: std::collections::BTreeSet<String> = findings(&recs).iter().map(|f| s(f, "path").to_string()).collect();
    assert_eq!(found, kept, "{}", out.show());
    assert_eq!(sum["distinct_pans"], 200);
}
