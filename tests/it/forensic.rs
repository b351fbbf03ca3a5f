//! `scan --forensic` (issue 7 point 7): every access time under the root is unchanged
//! after a run — files, archives, a SQLite database (which SQLite reads by path, so its
//! atime must be set back), a file hashed in a second pass, a file split across threads,
//! and directories — on a tmpfs mounted `strictatime`, where every read really updates the
//! atime (a control run without `--forensic` shows it does). Evidence records and the
//! manifest are checked against the files; outputs inside a root are refused.
//!
//! The mount needs root; without it the atime tests say so and pass without checking.

use std::fmt::Write as _;
use std::fs::{self, File, FileTimes};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, UNIX_EPOCH};

use pansweep::canary;
use pansweep::source::sqlite;
use pansweep::time::rfc3339_nanos;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{Run, TestDir, findings, mask_digits, of_type, pan, pansweep, pansweep_unprivileged, run, s};

/// A tmpfs mounted with `strictatime` (every read updates the access time), unmounted on
/// drop. Declare it after the `TestDir` it lives in, so it is dropped first.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    #[allow(clippy::print_stderr)] // a skipped test says so
    fn strictatime(dir: &Path) -> Option<Mount> {
        fs::create_dir_all(dir).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "strictatime,mode=0755,size=64m", "tmpfs"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a strictatime tmpfs (not root?); access times not checked");
            return None;
        }
        Some(Mount { dir: dir.to_owned() })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let done = Command::new("umount").arg(&self.dir).status().is_ok_and(|s| s.success());
        if !done {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Sets the access time of `path` (file or directory) to 2001-01-01 plus `n` seconds and
/// some nanoseconds, leaving its mtime alone.
fn backdate(path: &Path, n: u64) {
    let at = UNIX_EPOCH + Duration::new(978_307_200 + n, 123_456_789);
    File::open(path).expect("open to backdate").set_times(FileTimes::new().set_accessed(at)).expect("set atime");
}

/// (seconds, nanoseconds) of the access time of each path, by `lstat` (which reads
/// nothing, so taking it changes no time).
fn atimes(paths: &[PathBuf]) -> Vec<(PathBuf, (i64, i64))> {
    paths
        .iter()
        .map(|p| {
            let m = fs::symlink_metadata(p).expect("stat");
            (p.clone(), (m.atime(), m.atime_nsec()))
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    pansweep::finding::hex(&Sha256::digest(bytes))
}

fn evidence_for<'a>(r: &Run, recs: &'a [Value], path: &Path) -> &'a Value {
    let want = path.display().to_string();
    let v: Vec<_> = of_type(recs, "evidence").into_iter().filter(|e| s(e, "path") == want).collect();
    assert_eq!(v.len(), 1, "one evidence record for {want}: {}", r.show());
    v[0]
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    crate::util::parse_jsonl(&fs::read_to_string(path).expect("read report")).expect("report is JSONL")
}

fn card_text(number: &str) -> String {
    format!("order 1001 card number: {number} exp 12/29 name TARO YAMADA\n")
}

#[test]
fn forensic_run_leaves_every_atime_as_it_was() {
    let t = TestDir::new();
    let root = t.join("m");
    let Some(_mount) = Mount::strictatime(&root) else { return };
    let out = t.mkdir("out");
    let number = pan("453201", 16, 701);
    let text = card_text(&number);
    let mut paths = vec![root.clone()];
    let add = |rel: &str, bytes: &[u8]| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        p
    };
    let plain = add("a/orders.txt", text.as_bytes());
    let zip_bytes = canary::zip_of(&[("export/orders.csv", text.as_bytes())]).unwrap();
    let zip = add("a/b/backup.zip", &zip_bytes);
    let db = sqlite::build(&format!(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, name TEXT, card_no TEXT, exp TEXT);
         INSERT INTO orders VALUES (1, 'TARO YAMADA', '{number}', '12/29');"
    ))
    .unwrap();
    let dbp = add("a/b/c/shop.sqlite", &db);
    // Larger than what is read in one go: hashed in a second pass.
    let mut big = "GET /index.html 200\n".repeat(20_000);
    big.push_str(&text);
    let bigp = add("logs/big.log", big.as_bytes());
    let clean = add("logs/empty/clean.txt", b"nothing here\n");
    paths.extend([
        root.join("a"),
        root.join("a/b"),
        root.join("a/b/c"),
        root.join("logs"),
        root.join("logs/empty"),
        plain.clone(),
        zip.clone(),
        dbp.clone(),
        bigp.clone(),
        clean,
    ]);
    for (i, p) in paths.iter().enumerate() {
        backdate(p, i as u64);
    }
    let before = atimes(&paths);
    let report = out.join("r.jsonl");

    let r = run(pansweep().args(["scan", "--forensic", "-j", "2", "--format", "jsonl", "-o"]).arg(&report).arg(&root));
    assert!(r.code == 1, "{}", r.show());
    assert!(!r.stdout().contains(&number) && !r.stderr().contains(&number), "full number in output");
    assert_eq!(atimes(&paths), before, "an access time moved in a --forensic run");

    let recs = read_jsonl(&report);
    assert!(findings(&recs).len() >= 4, "{}", mask_digits(&fs::read_to_string(&report).unwrap()));
    // One evidence record per file on disk with findings, and none for the clean file.
    assert_eq!(of_type(&recs, "evidence").len(), 4, "{}", mask_digits(&fs::read_to_string(&report).unwrap()));
    let ev = evidence_for(&r, &recs, &plain);
    let meta = fs::metadata(&plain).unwrap();
    assert_eq!(ev["size"], text.len());
    assert_eq!(s(ev, "sha256"), sha256_hex(text.as_bytes()));
    assert_eq!(s(ev, "mode"), "0644");
    assert_eq!(s(ev, "mtime"), rfc3339_nanos(meta.mtime(), meta.mtime_nsec()));
    assert_eq!(s(ev, "atime"), "2001-01-01T00:00:06.123456789Z");
    assert_eq!(ev["inode"], meta.ino());
    assert_eq!(ev["uid"], meta.uid());
    assert_eq!(ev["changed_during_scan"], false);
    assert_eq!(ev["atime_restored"], false, "opened with O_NOATIME: nothing to set back");
    assert_eq!(ev["atime_preserved"], true);
    // The evidence follows the file's findings.
    let pos = |pred: &dyn Fn(&Value) -> bool| recs.iter().position(pred).unwrap();
    let want = plain.display().to_string();
    assert!(
        pos(&|v| v["type"] == "evidence" && s(v, "path") == want)
            > pos(&|v| v["type"] == "finding" && s(v, "path") == want)
    );
    // An archive's record is for the archive on disk.
    assert_eq!(s(evidence_for(&r, &recs, &zip), "sha256"), sha256_hex(&zip_bytes));
    assert_eq!(s(evidence_for(&r, &recs, &bigp), "sha256"), sha256_hex(big.as_bytes()));
    // SQLite reads the database by path, without O_NOATIME: its atime moved and was set back.
    let dbev = evidence_for(&r, &recs, &dbp);
    assert_eq!(s(dbev, "sha256"), sha256_hex(&db));
    assert_eq!(dbev["atime_restored"], true, "{}", r.show());

    // The manifest vouches for the report as written.
    let manifest_path = out.join("r.jsonl.manifest.json");
    let m: Value = serde_json::from_slice(&fs::read(&manifest_path).expect("manifest written")).unwrap();
    let report_bytes = fs::read(&report).unwrap();
    assert_eq!(s(&m["report"], "sha256"), sha256_hex(&report_bytes));
    assert_eq!(m["report"]["size"], report_bytes.len());
    assert_eq!(m["exit_code"], 1);
    assert_eq!(m["roots"][0], root.canonicalize().unwrap().display().to_string());
    assert_eq!(m["summary"]["files"], 5);
    assert_eq!(m["atime_not_preserved"], 0);
    assert_eq!(fs::metadata(&manifest_path).unwrap().mode() & 0o777, 0o600);

    // Control: without --forensic, directories' access times do move on this mount, so
    // the check above can fail.
    let r =
        run(pansweep().args(["scan", "-j", "2", "--format", "jsonl", "-o"]).arg(out.join("plain.jsonl")).arg(&root));
    assert_eq!(r.code, 1, "{}", r.show());
    let moved = atimes(&paths).iter().zip(&before).filter(|(a, b)| a.1 != b.1).count();
    assert!(moved > 0, "a normal run changed no access time: the mount does not update atimes");
}

/// A file larger than the split threshold, scanned in pieces by two threads (through the
/// library, where the threshold can be lowered): one evidence record after all its
/// findings, with the hash of the whole file, and its atime unchanged.
#[test]
fn split_file_gets_one_evidence_record_after_its_last_piece() {
    use pansweep::detectors::DetectorSet;
    use pansweep::pipeline::{Counters, ScanJob, run_scan};
    use pansweep::report::RunInfo;
    use pansweep::report::jsonl::Jsonl;
    use pansweep::scan::ScannerBuilder;

    let t = TestDir::new();
    let root = t.join("m");
    let Some(_mount) = Mount::strictatime(&root) else { return };
    let mut text = String::new();
    for i in 0..20_000u64 {
        if i % 997 == 13 {
            text.push_str(&card_text(&pan("453201", 16, 800 + i)));
        } else {
            let _ = writeln!(text, "line {i} GET /index.html 200");
        }
    }
    let big = root.join("big.log");
    fs::write(&big, &text).unwrap();
    backdate(&big, 1);
    backdate(&root, 2);
    let before = atimes(&[root.clone(), big.clone()]);

    let mut job = ScanJob::new(vec![root.clone()]);
    job.threads = 2;
    job.walk.threads = 2;
    job.split_threshold = 4096;
    job.piece_size = 10_000;
    job.forensic = true;
    let scanner = ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).build();
    let run_info = RunInfo { tool: "pansweep".into(), version: "test".into(), ..RunInfo::default() };
    let mut out = Vec::new();
    let outcome = {
        let mut w = Jsonl::new(&mut out);
        run_scan(&job, &scanner, &mut w, &run_info, &AtomicBool::new(false), &Counters::default(), &mut |_| {}, None)
            .unwrap()
    };
    assert_eq!(atimes(&[root.clone(), big.clone()]), before);
    assert_eq!(outcome.atime_lost, 0);
    let recs = crate::util::parse_jsonl(&String::from_utf8(out).unwrap()).unwrap();
    let ev = of_type(&recs, "evidence");
    assert_eq!(ev.len(), 1);
    assert_eq!(s(ev[0], "sha256"), sha256_hex(text.as_bytes()));
    assert_eq!(ev[0]["size"], text.len());
    let last_finding = recs.iter().rposition(|v| v["type"] == "finding").unwrap();
    let evidence_at = recs.iter().position(|v| v["type"] == "evidence").unwrap();
    assert!(evidence_at > last_finding, "evidence before the file's last finding");
    assert_eq!(findings(&recs).len(), 21);
}

/// Run as a user who neither owns the file nor holds `CAP_FOWNER`: `O_NOATIME` is refused,
/// the file is still opened and scanned (the fallback), and the evidence says its access
/// time could not be kept.
#[test]
fn file_of_another_owner_is_read_through_the_fallback() {
    let t = TestDir::new();
    let root = t.join("m");
    let Some(_mount) = Mount::strictatime(&root) else { return };
    let Some(mut cmd) = pansweep_unprivileged() else { return };
    let out = t.mkdir("out");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    let number = pan("453201", 16, 702);
    let file = root.join("orders.txt");
    fs::write(&file, card_text(&number)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    backdate(&file, 0);
    let report = out.join("r.jsonl");
    let r = run(cmd.args(["scan", "--forensic", "-j", "1", "-o"]).arg(&report).arg(&root));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr().contains("not running as root"), "{}", r.show());
    let recs = read_jsonl(&report);
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
    assert_eq!(findings(&recs).len(), 1);
    let ev = evidence_for(&r, &recs, &file);
    assert_eq!(ev["atime_preserved"], false, "a strictatime read by a non-owner cannot be undone");
    assert_eq!(ev["atime_restored"], false);
    assert_eq!(s(ev, "atime"), "2001-01-01T00:00:00.123456789Z", "the atime as found");
    assert_eq!(s(ev, "user"), "root");
    let m: Value = serde_json::from_slice(&fs::read(out.join("r.jsonl.manifest.json")).unwrap()).unwrap();
    assert!(m["atime_not_preserved"].as_u64().unwrap() >= 1, "{m}");
    assert_eq!(m["user"]["uid"], 65534);
}

#[test]
fn outputs_inside_a_scanned_root_are_refused_and_nothing_is_written() {
    let t = TestDir::new();
    let root = t.mkdir("root");
    t.write("root/a.txt", "nothing\n");
    let out = t.mkdir("out");
    let listing = |d: &Path| {
        let mut v: Vec<_> = fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
        v.sort();
        v
    };
    let root_before = listing(&root);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["-o".into(), root.join("new/sub/r.jsonl").display().to_string()], "report file"),
        (
            vec![
                "-o".into(),
                out.join("r.jsonl").display().to_string(),
                "--manifest".into(),
                root.join("m.json").display().to_string(),
            ],
            "manifest",
        ),
        (
            vec![
                "-o".into(),
                out.join("r.jsonl").display().to_string(),
                "--lock".into(),
                root.join("x.lock").display().to_string(),
            ],
            "--lock file",
        ),
        (
            vec![
                "-o".into(),
                out.join("r.jsonl").display().to_string(),
                "--resume".into(),
                root.join("s").display().to_string(),
            ],
            "--resume file",
        ),
    ];
    for (args, what) in cases {
        let r = run(pansweep().arg("scan").arg("--forensic").args(&args).arg(&root));
        assert_eq!(r.code, 2, "{what}: {}", r.show());
        assert!(r.stderr().contains(what), "{what}: {}", r.show());
        assert!(r.stderr().contains("inside the scanned root"), "{}", r.show());
        assert!(r.stderr().contains(&root.display().to_string()), "names the root: {}", r.show());
        assert_eq!(listing(&root), root_before, "{what}: something was written inside the root");
        assert!(listing(&out).is_empty(), "{what}: something was written before the refusal");
    }
    // A relative path, resolved against the working directory inside the root.
    let r = run(pansweep().current_dir(&root).args(["scan", "--forensic", "-o", "r.jsonl", "."]));
    assert_eq!(r.code, 2, "{}", r.show());
    assert_eq!(listing(&root), root_before);
    // Outside the root it runs; the manifest goes next to the report.
    let r = run(pansweep().args(["scan", "--forensic", "-o"]).arg(out.join("r.jsonl")).arg(&root));
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(listing(&out), ["r.jsonl", "r.jsonl.manifest.json"]);
    // To stdout without --manifest: no manifest, and stderr says so.
    let r = run(pansweep().args(["scan", "--forensic", "--format", "jsonl"]).arg(&root));
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(r.stderr().contains("no manifest written"), "{}", r.show());
}
