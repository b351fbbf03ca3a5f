//! Fault injection on the real binary (SPEC §8, issue 9): files that shrink, grow or
//! disappear while the scan runs, a disk that returns EIO in the middle of a file (a loop
//! device whose backing file was cut short), a report written to a full disk (a 256 KiB
//! tmpfs), and a syslog daemon that does not read. One bad item never stops the run; a
//! report that cannot be written stops it with exit 2 and a message naming the file, and
//! leaves every whole JSONL line valid.
//!
//! The EIO and full-disk tests need root, `mount` (and `losetup`, `mkfs.ext2` with `-d`,
//! `debugfs` for EIO); without them they print `SKIPPED` with the reason and pass.
//! Slow reads come from `--max-rate`; a test waits until pansweep has the file open
//! (`/proc/PID/fd`) before it changes it.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{
    Run, TestDir, findings, is_root, mask_digits, masked, of_type, pan, pansweep, parse_jsonl, s, summary,
};

/// A guard against hangs, not a timing assertion.
const LIMIT: Duration = Duration::from_mins(2);

/// Says loudly that a test did not run, and why.
#[allow(clippy::print_stderr)] // a skipped test says so on stderr
fn skipped(test: &str, why: &str) {
    eprintln!("SKIPPED faults::{test}: {why}");
}

/// Runs a system command quietly; its output when it failed.
fn sh(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).stdin(Stdio::null()).output().map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{program} {args:?}: {}{}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// A file system mounted for one test (and the loop device under it), taken down on drop.
struct Mounted {
    dir: PathBuf,
    loop_dev: Option<String>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        // Lazily when still busy (a pansweep left running by a failed assertion).
        if sh("umount", &[&dir]).is_err() {
            let _ = sh("umount", &["-l", &dir]);
        }
        if let Some(dev) = &self.loop_dev {
            let _ = sh("losetup", &["-d", dev]);
        }
    }
}

/// Starts `pansweep --progress never ARGS…` in `dir` with both streams piped.
fn spawn(dir: &Path, args: &[&str]) -> Child {
    pansweep()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pansweep")
}

/// Waits for `child` (killing it after [`LIMIT`]) and collects what it wrote, `first`
/// being stdout already read (all of it when the child's stdout was taken).
fn finish(mut child: Child, first: &str) -> Run {
    let stdout = child.stdout.take();
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_end(&mut v);
        }
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pansweep did not finish within {LIMIT:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout_bytes = first.as_bytes().to_vec();
    stdout_bytes.extend(out_t.join().expect("stdout reader"));
    Run { code: status.code().unwrap_or(-1), stdout_bytes, stderr_bytes: err_t.join().expect("stderr reader") }
}

/// Waits until process `pid` has `path` open (a descriptor in `/proc/PID/fd` links to
/// it); false when it has not after [`LIMIT`] or the process is gone.
fn wait_until_open(pid: u32, path: &Path) -> bool {
    let want = path.canonicalize().expect("canonical path");
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
        if fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == want)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// `lines` lines of filler text, then `card NUMBER`.
fn filler_then(lines: usize, number: &str) -> String {
    let mut text = String::with_capacity(lines * 40);
    for i in 0..lines {
        let _ = writeln!(text, "2024-10-22 11:11:30 GET /item/{i} 200 ok");
    }
    let _ = writeln!(text, "card number {number}");
    text
}

/// The masked forms of the findings of a run.
fn masked_found(recs: &[serde_json::Value]) -> Vec<String> {
    findings(recs).iter().map(|f| s(f, "masked").to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Files that change while they are read.

/// An 8 MB file cut to 4 KiB while it is read (1 MiB at a time, throttled to 512 KiB/s):
/// the read ends at the new end of file, what was read before is reported, nothing is
/// skipped, no panic, exit 1 for the card at its start.
#[test]
fn file_that_shrinks_while_read_ends_at_its_new_end() {
    let t = TestDir::new();
    let (a, b) = (pan("453201", 16, 9001), pan("453201", 16, 9002));
    let mut text = format!("card number {a}\n");
    text.push_str(&filler_then(6 << 20 >> 5, &b));
    let path = t.write("shrinks.log", &text);
    let child = spawn(t.path(), &["scan", "--format", "jsonl", "-j", "1", "--max-rate", "512K", "."]);
    assert!(wait_until_open(child.id(), &path), "pansweep never opened the file");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(4096)).expect("truncate");
    let r = finish(child, "");
    let recs = r.jsonl();
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(!r.stderr().contains("internal error"), "{}", r.show());
    assert_eq!(masked_found(&recs), vec![masked(&a)], "{}", r.show());
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
    let sum = summary(&recs);
    assert_eq!(sum["complete"], true);
    assert_eq!(sum["files"], 1);
    // Read past the new end before the cut, and not to the old end after it.
    let bytes = sum["bytes"].as_u64().unwrap_or(0);
    assert!(bytes > 4096 && bytes < text.len() as u64, "bytes {bytes} of {}", text.len());
}

/// A 2 MB file that grows by 0.7 MB, ending in a card, while it is read (throttled to
/// 256 KiB/s: the second chunk is read 3 s after the first, time enough to append): a file is read to its end as it is when the reader gets there, so the
/// appended card is found and every byte counted.
#[test]
fn file_that_grows_while_read_is_read_to_its_new_end() {
    let t = TestDir::new();
    let (a, b) = (pan("453201", 16, 9003), pan("453201", 16, 9004));
    let mut text = format!("card number {a}\n");
    text.push_str(&filler_then(3 << 19 >> 5, "none"));
    let path = t.write("grows.log", &text);
    let appended = filler_then(1 << 19 >> 5, &b);
    let child = spawn(t.path(), &["scan", "--format", "jsonl", "-j", "1", "--max-rate", "256K", "."]);
    assert!(wait_until_open(child.id(), &path), "pansweep never opened the file");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(appended.as_bytes()))
        .expect("append");
    let r = finish(child, "");
    let recs = r.jsonl();
    assert_eq!(r.code, 1, "{}", r.show());
    let (mut found, mut want) = (masked_found(&recs), vec![masked(&a), masked(&b)]);
    found.sort();
    want.sort();
    assert_eq!(found, want, "{}", r.show());
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
    let sum = summary(&recs);
    assert_eq!(sum["complete"], true);
    assert_eq!(sum["bytes"], (text.len() + appended.len()) as u64, "{}", mask_digits(&sum.to_string()));
}

/// A file written faster than it is read (a writer appending as fast as the page cache
/// takes it, the scan held to 4 MiB/s) would never be done: it is read up to its growth
/// cap (its size when opened plus 8 MiB here), then the run goes on with a `limit` skip
/// saying so. The card at its start is reported, with one worker or two.
///
/// The file starts at ~7 MB, more than the one second of burst the rate limit allows, so
/// the reader cannot reach the end before the writer's first append (a 1 MiB file with
/// a pausing writer let a burst read to the end first on a loaded CI machine).
#[test]
fn file_written_faster_than_read_stops_at_its_growth_cap() {
    for jobs in ["1", "2"] {
        let t = TestDir::new();
        let a = pan("453201", 16, 9005);
        let mut text = format!("card number {a}\n");
        text.push_str(&filler_then(5 << 20 >> 5, "none"));
        let path = t.write("busy.log", &text);
        let size = text.len() as u64;
        let child = spawn(t.path(), &["scan", "--format", "jsonl", "-j", jobs, "--max-rate", "4M", "."]);
        assert!(wait_until_open(child.id(), &path), "pansweep never opened the file");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().append(true).open(&path).expect("append");
                let block = filler_then(64 << 10 >> 5, "none");
                // At most 64 MiB appended (far past the 8 MiB cap, which the 4 MiB/s reader
                // needs seconds to reach): the test fails rather than filling the disk.
                let mut written = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && written < 64 << 20 {
                    f.write_all(block.as_bytes()).expect("append");
                    written += block.len();
                }
            })
        };
        let r = finish(child, "");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().expect("writer");
        let recs = r.jsonl();
        assert_eq!(masked_found(&recs), vec![masked(&a)], "-j {jobs}: {}", r.show());
        let skipped = of_type(&recs, "skipped");
        assert_eq!(skipped.len(), 1, "-j {jobs}: {}", r.show());
        assert_eq!(s(skipped[0], "kind"), "limit", "{}", r.show());
        let cap = size + (8 << 20);
        assert_eq!(
            s(skipped[0], "reason"),
            format!(
                "limit growth: grew by more than {} bytes while read (from {size} bytes); the first {cap} bytes were \
                 scanned",
                8 << 20
            ),
            "{}",
            r.show()
        );
        let sum = summary(&recs);
        assert_eq!(sum["bytes"], cap, "-j {jobs}: {}", mask_digits(&sum.to_string()));
        assert_eq!(r.code, 1, "-j {jobs}: {}", r.show());
    }
}

/// Forty files listed by the walker and deleted before a worker opens them (the one
/// worker reads 16 KiB/s): each is a `vanished` skip, which leaves coverage complete (exit
/// 0, `complete: true`), and every file is either scanned or vanished.
#[test]
fn files_deleted_between_walk_and_open_are_vanished_skips() {
    let t = TestDir::new();
    let n = 40;
    for i in 0..n {
        t.write(format!("d/f{i:02}.txt"), "nothing to see here\n".repeat(400));
    }
    let mut child = spawn(t.path(), &["scan", "--format", "jsonl", "-j", "1", "--max-rate", "16K", "."]);
    // The run record is written and flushed before the walk starts.
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("run record");
    assert!(first.contains("\"type\":\"run\""), "{}", mask_digits(&first));
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..n {
        let _ = std::fs::remove_file(t.join(format!("d/f{i:02}.txt")));
    }
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("rest of the report");
    let r = finish(child, &(first + &rest));
    let recs = r.jsonl();
    let skipped = of_type(&recs, "skipped");
    assert!(!skipped.is_empty(), "no file was listed before it was deleted: {}", r.show());
    for k in &skipped {
        assert_eq!(s(k, "kind"), "vanished", "{}", r.show());
        assert_eq!(s(k, "reason"), "cannot open: vanished during the scan", "{}", r.show());
    }
    let sum = summary(&recs);
    assert_eq!(sum["complete"], true);
    assert!(sum["files"].as_u64().unwrap_or(0) + skipped.len() as u64 <= n, "{}", r.show());
    assert_eq!(r.code, 0, "a vanished file leaves nothing unread: {}", r.show());
}

// ---------------------------------------------------------------------------------------
// EIO.

/// An ext2 image holding `bad.txt` on a loop device whose backing file is cut in the
/// middle of the file's blocks: reads of the second half fail with EIO (the loop driver
/// ends a read past its backing file's end with an I/O error). `None` (after saying why)
/// when this machine cannot do it.
fn eio_mount(test: &str, work: &TestDir, contents: &str) -> Option<Mounted> {
    if !is_root() {
        skipped(test, "needs root for losetup and mount");
        return None;
    }
    let src = work.mkdir("src");
    std::fs::write(src.join("bad.txt"), contents).expect("write bad.txt");
    let img = work.join("disk.img");
    let img_s = img.display().to_string();
    std::fs::File::create(&img).and_then(|f| f.set_len(8 << 20)).expect("image file");
    if let Err(e) = sh("mkfs.ext2", &["-q", "-F", "-b", "1024", "-d", &src.display().to_string(), &img_s]) {
        skipped(test, &format!("cannot make an ext2 image with mkfs.ext2 -d: {e}"));
        return None;
    }
    let blocks = match sh("debugfs", &["-R", "blocks /bad.txt", &img_s]) {
        Ok(b) => b.split_whitespace().filter_map(|b| b.parse::<u64>().ok()).collect::<Vec<_>>(),
        Err(e) => {
            skipped(test, &format!("cannot list the file's blocks with debugfs: {e}"));
            return None;
        }
    };
    assert!(blocks.len() > 100, "bad.txt has {} blocks", blocks.len());
    let dev = match sh("losetup", &["-f", "--show", &img_s]) {
        Ok(d) => d.trim().to_owned(),
        Err(e) => {
            skipped(test, &format!("no loop device: {e}"));
            return None;
        }
    };
    let dir = work.mkdir("mnt");
    // The device keeps its size; the blocks past the cut now fail with EIO.
    let cut = blocks[blocks.len() / 2] * 1024;
    std::fs::OpenOptions::new().write(true).open(&img).and_then(|f| f.set_len(cut)).expect("cut the image");
    let m = Mounted { dir: dir.clone(), loop_dev: Some(dev.clone()) };
    // The ext4 driver mounts ext2 too, where no ext2 driver is built.
    let target = dir.display().to_string();
    let mounted = sh("mount", &["-t", "ext2", "-o", "ro", &dev, &target])
        .or_else(|_| sh("mount", &["-t", "ext4", "-o", "ro", &dev, &target]));
    if let Err(e) = mounted {
        skipped(test, &format!("cannot mount the image: {e}"));
        return None;
    }
    Some(m)
}

/// A file whose second half cannot be read (EIO from the disk): the file is a `skipped`
/// record of kind `error` saying `input/output error`, the run goes on and finishes
/// (`complete: true`), other files are reported, and the card in the readable first half is
/// still reported (so the exit code is 1, a finding, also for the damaged file alone).
#[test]
fn read_error_in_the_middle_of_a_file_is_a_skipped_error() {
    let work = TestDir::new();
    let (early, late, other) = (pan("453201", 16, 9005), pan("453201", 16, 9006), pan("453201", 16, 9007));
    let mut text = format!("card number {early}\n");
    text.push_str(&filler_then(1 << 20 >> 5, &late));
    let Some(m) = eio_mount("read_error_in_the_middle_of_a_file_is_a_skipped_error", &work, &text) else { return };
    let bad = m.dir.join("bad.txt");
    assert!(std::fs::read(&bad).is_err_and(|e| e.raw_os_error() == Some(libc::EIO)), "the cut did not cause EIO");
    let elsewhere = TestDir::new();
    elsewhere.write("ok.txt", format!("card number {other}\n"));
    for threads in ["1", "2"] {
        let mut c = pansweep();
        c.args(["scan", "--format", "jsonl", "-j", threads]).arg(&m.dir).arg(elsewhere.path());
        let r = crate::util::run_with_hang_guard(&mut c, LIMIT);
        let recs = r.jsonl();
        assert_eq!(r.code, 1, "-j {threads}: {}", r.show());
        assert!(!r.stderr().contains("internal error"), "{}", r.show());
        let sk = of_type(&recs, "skipped");
        assert_eq!(sk.len(), 1, "{}", r.show());
        assert_eq!(s(sk[0], "path"), bad.display().to_string());
        assert_eq!(s(sk[0], "kind"), "error");
        assert!(s(sk[0], "reason").starts_with("cannot read: input/output error"), "{}", r.show());
        assert!(masked_found(&recs).contains(&masked(&other)), "{}", r.show());
        assert!(!masked_found(&recs).contains(&masked(&late)), "{}", r.show());
        assert!(masked_found(&recs).contains(&masked(&early)), "-j {threads}: the card before the error: {}", r.show());
        assert_eq!(summary(&recs)["complete"], true);
        assert_eq!(summary(&recs)["skipped"], 1);
    }
    // On its own: the card before the error is a finding (exit 1, as with a finding
    // elsewhere), and the skip is still there.
    let mut c = pansweep();
    c.args(["scan", "--format", "jsonl", "-j", "1"]).arg(&bad);
    let r = crate::util::run_with_hang_guard(&mut c, LIMIT);
    assert_eq!(r.code, 1, "{}", r.show());
    assert_eq!(masked_found(&r.jsonl()), vec![masked(&early)], "{}", r.show());
    assert_eq!(summary(&r.jsonl())["skipped"], 1);
}

// ---------------------------------------------------------------------------------------
// A full output disk.

/// A 256 KiB tmpfs mounted on a new directory of `work`, or `None` after saying why.
fn small_tmpfs(test: &str, work: &TestDir) -> Option<Mounted> {
    if !is_root() {
        skipped(test, "needs root to mount a tmpfs");
        return None;
    }
    let dir = work.mkdir("full");
    match sh("mount", &["-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", &dir.display().to_string()]) {
        Ok(_) => Some(Mounted { dir, loop_dev: None }),
        Err(e) => {
            skipped(test, &format!("cannot mount a tmpfs: {e}"));
            None
        }
    }
}

/// A report that outgrows its disk (8,000 findings, about 3 MB of JSONL, into 256 KiB):
/// exit 2, one line on stderr naming the report file and the cause, and the JSONL left
/// behind is valid up to its last whole line, starting with the run record. Every other
/// format, and `pansweep report` onto the same disk, also exits 2 with the same message.
/// A `--state` file there is given up with a warning (the run is not harmed); a
/// `--resume` journal there stops the run before it starts.
#[test]
fn full_output_disk_exits_2_naming_the_report() {
    let test = "full_output_disk_exits_2_naming_the_report";
    let work = TestDir::new();
    let Some(m) = small_tmpfs(test, &work) else { return };
    let tree = TestDir::new();
    let mut body = String::new();
    for i in 0..8_000u64 {
        let _ = writeln!(body, "row {i} card {}", pan("453201", 16, 20_000 + i % 50));
    }
    tree.write("many.txt", &body);
    for format in ["jsonl", "text", "csv", "json", "sarif", "html"] {
        let report = m.dir.join(format!("report.{format}"));
        let mut c = pansweep();
        c.current_dir(tree.path()).args(["scan", "-j", "2", "--format", format, "-o"]).arg(&report).arg(".");
        let r = crate::util::run_with_hang_guard(&mut c, LIMIT);
        assert_eq!(r.code, 2, "{format}: {}", r.show());
        let want = format!("pansweep: cannot write the report {}: no space left on device", report.display());
        assert!(r.stderr().starts_with(&want), "{format}: {}", r.show());
        assert_eq!(r.stderr().lines().count(), 1, "{format}: {}", r.show());
        assert!(!r.stderr().contains("internal error"), "{}", r.show());
        let written = std::fs::read(&report).expect("the report file exists");
        assert!(!written.is_empty(), "{format}: nothing written");
        if format == "jsonl" {
            let text = String::from_utf8_lossy(&written);
            let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            let recs = parse_jsonl(whole).unwrap_or_else(|e| panic!("a whole line is not JSON: {e}"));
            assert_eq!(recs[0]["type"], "run");
            assert!(findings(&recs).len() > 100, "{} findings", findings(&recs).len());
        }
        std::fs::remove_file(&report).expect("free the disk for the next format");
    }
    // `pansweep report` re-rendering a stored run onto the full disk says the same.
    let stored = work.join("stored.jsonl");
    let mut c = pansweep();
    c.current_dir(tree.path()).args(["scan", "-j", "2", "--format", "jsonl", "-o"]).arg(&stored).arg(".");
    assert_eq!(crate::util::run_with_hang_guard(&mut c, LIMIT).code, 1);
    let report = m.dir.join("merged.jsonl");
    let mut c = pansweep();
    c.args(["report", "--format", "jsonl", "-o"]).arg(&report).arg(&stored);
    let r = crate::util::run_with_hang_guard(&mut c, LIMIT);
    assert_eq!(r.code, 2, "{}", r.show());
    let want = format!("pansweep: cannot write the report {}: no space left on device", report.display());
    assert!(r.stderr().starts_with(&want), "{}", r.show());
    std::fs::remove_file(&report).expect("free the disk");

    // A --state file on the full disk: the run and its report are not harmed, a warning
    // says the state was not updated, and the abandoned temporary state is removed.
    let key = work.write("key", [7u8; 32]);
    let state = m.dir.join("state");
    let mut c = pansweep();
    c.current_dir(tree.path())
        .args(["scan", "-j", "2", "--format", "jsonl", "--fingerprint-key"])
        .arg(&key)
        .arg("--state")
        .arg(&state)
        .arg("-o")
        .arg(work.join("with-state.jsonl"))
        .arg(".");
    let r = crate::util::run_with_hang_guard(&mut c, LIMIT);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr().contains("warning: the state file was not updated"), "{}", r.show());
    assert!(r.stderr().contains("No space left on device"), "{}", r.show());
    assert_eq!(
        summary(&parse_jsonl(&std::fs::read_to_string(work.join("with-state.jsonl")).unwrap()).unwrap())["complete"],
        true
    );
    let left: Vec<_> = std::fs::read_dir(&m.dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left on the full disk: {left:?}");

    // A --resume journal that cannot be written: the run cannot start (exit 2), and the
    // message names the journal and says why once.
    let mut filler = std::fs::File::create(m.dir.join("filler")).expect("filler");
    let block = vec![0u8; 64 << 10];
    while filler.write_all(&block).is_ok() {}
    let journal = m.dir.join("journal");
    let mut c = pansweep();
    c.current_dir(tree.path())
        .args(["scan", "--fingerprint-key"])
        .arg(&key)
        .arg("--resume")
        .arg(&journal)
        .arg("-o")
        .arg(work.join("resumed.jsonl"))
        .arg(".");
    let r = crate::util::run_with_hang_guard(&mut c, LIMIT);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr().starts_with(&format!("pansweep: {}: ", journal.display())), "{}", r.show());
    assert_eq!(r.stderr().matches("No space left on device").count(), 1, "{}", r.show());
}

// ---------------------------------------------------------------------------------------
// A logger that does not read.

/// A syslog daemon that has stopped reading (its socket's queue full, as with a stalled
/// journald): the run still ends, with its own exit code, and says on stderr that the
/// line could not be sent. A datagram send to a full queue blocks; without a time limit
/// the run never ended.
#[test]
fn stalled_syslog_does_not_hang_the_run() {
    let t = TestDir::new();
    t.write("a.txt", "nothing here\n");
    let logs = TestDir::new();
    let path = logs.join("log.sock");
    let _listener = UnixDatagram::bind(&path).expect("bind");
    let filler = UnixDatagram::unbound().expect("socket");
    filler.set_nonblocking(true).expect("non-blocking");
    let mut queued = 0;
    while filler.send_to(b"<13>filler", &path).is_ok() {
        queued += 1;
        assert!(queued < 100_000, "the queue never filled");
    }
    let mut c = pansweep();
    c.current_dir(t.path()).env("PANSWEEP_SYSLOG_SOCKET", &path).args(["scan", "--syslog", "--format", "jsonl", "."]);
    let started = Instant::now();
    let r = crate::util::run_with_hang_guard(&mut c, LIMIT);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(r.stderr().contains("warning: cannot send the summary to syslog"), "{}", r.show());
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}
