//! No output ever holds a full card number (SPEC §4, §7): whatever is planted, in every
//! format, with and without `--context`, in English and Japanese, and in file names; and
//! every byte a run writes — stdout, stderr, report files, the `--state` file, the
//! `--resume` journal, the forensic manifest, an allowlist written by `allowlist add`,
//! the `--syslog` line and the message of a worker that panics while holding a number —
//! holds none of the planted numbers, compared as written, without separators and as
//! bare digits. Database errors never show the password.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use proptest::prelude::*;

use crate::util::{
    Run, TestDir, findings, grouped, mask_digits, masked, of_type, pan, pansweep, run, run_with_hang_guard, s,
    scan_jsonl, strs, summary,
};

/// (IIN prefix, length) of the numbers planted: most brands and lengths, some that need
/// context, one that is only a 13-digit legacy Visa.
const SHAPES: &[(&str, usize)] = &[
    ("453201", 16),
    ("4", 19),
    ("4556", 13),
    ("51", 16),
    ("2221", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3528", 16),
    ("3589", 19),
    ("36", 14),
    ("62", 16),
    ("62", 19),
    ("5018", 12),
    ("2200", 16),
    ("9999", 16),
];

const SEPARATORS: &[&str] = &["", " ", "-", ".", "\u{a0}", "\u{3000}"];
const KEYWORDS: &[&str] = &["", "card number ", "カード番号：", "cc# ", "PAN=", "\"card_no\":\"", "クレジットカード "];
const FILLER: &[&str] = &[
    "order",
    "id",
    "42",
    "2024-10-22",
    "total",
    "JPY",
    "1200",
    "ok",
    "GET",
    "/cart",
    "お届け先",
    "東京都",
    "user",
    "=",
    ";",
    "\n",
    "\n",
    "tel",
    "03-1234-5678",
    "x",
    "zip",
    "150-0001",
];

/// One planted number, described by parameters only (so a proptest failure report
/// never holds the number itself).
#[derive(Clone, Debug)]
struct Plant {
    shape: usize,
    seed: u64,
    sep: usize,
    keyword: usize,
    cvv: bool,
    expiry: bool,
}

#[derive(Clone, Debug)]
struct FileCase {
    plants: Vec<Plant>,
    filler_seed: u64,
    filler_words: usize,
    named_after_first_pan: bool,
}

fn plant() -> impl Strategy<Value = Plant> {
    (0..SHAPES.len(), any::<u64>(), 0..SEPARATORS.len(), 0..KEYWORDS.len(), any::<bool>(), any::<bool>())
        .prop_map(|(shape, seed, sep, keyword, cvv, expiry)| Plant { shape, seed, sep, keyword, cvv, expiry })
}

fn file_case() -> impl Strategy<Value = FileCase> {
    (prop::collection::vec(plant(), 1..5), any::<u64>(), 0..200usize, prop::bool::weighted(0.2)).prop_map(
        |(plants, filler_seed, filler_words, named_after_first_pan)| FileCase {
            plants,
            filler_seed,
            filler_words,
            named_after_first_pan,
        },
    )
}

fn filler(seed: u64, words: usize) -> String {
    let mut x = seed | 1;
    let mut out = String::new();
    for _ in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(FILLER[(x % FILLER.len() as u64) as usize]);
        out.push(' ');
    }
    out
}

/// Writes the files of a case; returns the planted PANs.
fn build(t: &TestDir, files: &[FileCase]) -> Vec<String> {
    let mut pans = Vec::new();
    for (i, fc) in files.iter().enumerate() {
        let mut text = filler(fc.filler_seed, fc.filler_words / 2);
        let mut first = None;
        for (k, p) in fc.plants.iter().enumerate() {
            let (prefix, len) = SHAPES[p.shape];
            let number = pan(prefix, len, p.seed);
            let written = grouped(&number, SEPARATORS[p.sep]);
            text.push('\n');
            text.push_str(KEYWORDS[p.keyword]);
            text.push_str(&written);
            if p.expiry {
                text.push_str(" exp 12/27");
            }
            if p.cvv {
                text.push_str(" cvv 123");
            }
            text.push(' ');
            text.push_str(&filler(fc.filler_seed.wrapping_add(k as u64), fc.filler_words / 4));
            first.get_or_insert_with(|| number.clone());
            pans.push(number);
        }
        let name = match (&first, fc.named_after_first_pan) {
            (Some(p), true) => format!("dir{i}/{p}.txt"),
            _ => format!("dir{i}/file{i}.txt"),
        };
        t.write(name, text);
    }
    pans
}

/// Removes the separators SPEC §3 allows inside a PAN.
fn without_separators(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{a0}' | '\u{3000}')).collect()
}

/// Every way the scan command can print findings.
const RUNS: &[&[&str]] = &[
    &["scan", "--format", "text", "--color", "never"],
    &["scan", "--format", "text", "--color", "always", "--context"],
    &["--lang", "ja", "scan", "--format", "text", "--color", "never"],
    &["--lang", "ja", "scan", "--format", "text", "--color", "never", "--context"],
    &["scan", "--format", "jsonl"],
    &["scan", "--format", "jsonl", "--context"],
    &["scan", "--format", "json"],
    &["scan", "--format", "json", "--context"],
    &["scan", "--format", "csv"],
    &["scan", "--format", "csv", "--context"],
    &["scan", "--format", "sarif"],
    &["scan", "--format", "sarif", "--context"],
    &["scan", "--format", "html", "--context"],
    &["--lang", "ja", "scan", "--format", "html"],
];

/// Every format `pansweep report` re-renders a stored JSONL run into.
const REPORT_RUNS: &[&[&str]] = &[
    &["report", "--format", "text", "--color", "never"],
    &["--lang", "ja", "report", "--format", "text", "--color", "never"],
    &["report", "--format", "jsonl"],
    &["report", "--format", "json"],
    &["report", "--format", "csv"],
    &["report", "--format", "sarif"],
    &["report", "--format", "html"],
    &["--lang", "ja", "report", "--format", "html"],
];

/// The first planted number `r` printed in full (also with separators removed), masked.
fn leak_in(args: &[&str], r: &crate::util::Run, pans: &[String]) -> Option<String> {
    for stream in [&r.stdout_bytes, &r.stderr_bytes] {
        let text = String::from_utf8_lossy(stream);
        let flat = without_separators(&text);
        for p in pans {
            if text.contains(p.as_str()) || flat.contains(p.as_str()) {
                return Some(format!("{args:?} printed the full number {}:\n{}", masked(p), r.show()));
            }
        }
        // The planted expiry date and security code (`exp 12/27`, `cvv 123`): context masks
        // them, and no format may print them otherwise.
        for secret in ["12/27", "cvv 123"] {
            if text.contains(secret) {
                return Some(format!("{args:?} printed the planted {secret:?}:\n{}", r.show()));
            }
        }
    }
    None
}

/// Runs every format over `root`, and every `pansweep report` re-render of a stored
/// JSONL run of it; returns the first leak found, masked.
fn find_leak(root: &std::path::Path, pans: &[String], extra: &[&str]) -> Option<String> {
    for args in RUNS {
        let r = run(pansweep().current_dir(root).args(*args).args(extra).arg("."));
        if !(r.code == 0 || r.code == 1) {
            return Some(format!("{args:?} exited {}: {}", r.code, r.show()));
        }
        if let Some(leak) = leak_in(args, &r, pans) {
            return Some(leak);
        }
    }
    // The stored run goes outside the scanned tree (a report inside it would be scanned).
    let stored = TestDir::new();
    let jsonl = stored.join("run.jsonl");
    let r = run(pansweep()
        .current_dir(root)
        .args(["scan", "--format", "jsonl", "--context", "-o"])
        .arg(&jsonl)
        .args(extra)
        .arg("."));
    if !(r.code == 0 || r.code == 1) {
        return Some(format!("scan to {} exited {}: {}", jsonl.display(), r.code, r.show()));
    }
    for args in REPORT_RUNS {
        let r = run(pansweep().args(*args).arg(&jsonl));
        if !(r.code == 0 || r.code == 1) {
            return Some(format!("{args:?} exited {}: {}", r.code, r.show()));
        }
        if let Some(leak) = leak_in(args, &r, pans) {
            return Some(leak);
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_output_holds_a_planted_pan(files in prop::collection::vec(file_case(), 1..4)) {
        let t = TestDir::new();
        let pans = build(&t, &files);
        if let Some(leak) = find_leak(t.path(), &pans, &["-j", "1"]) {
            prop_assert!(false, "{}", leak);
        }
        // A plain 16-digit Visa next to a keyword is always found, so the property is not
        // vacuous: the scanner saw the data and still printed only masked forms.
        let (_, recs) = scan_jsonl(t.path(), &["."]);
        let shown: Vec<&str> = findings(&recs).iter().map(|f| s(f, "masked")).collect();
        for fc in &files {
            for p in &fc.plants {
                if p.shape == 0 && p.keyword == 1 && p.sep == 0 {
                    let want = masked(&pan(SHAPES[0].0, SHAPES[0].1, p.seed));
                    prop_assert!(shown.contains(&want.as_str()), "{} not reported", want);
                }
            }
        }
    }
}

#[test]
fn file_named_after_a_pan_is_reported_masked() {
    let t = TestDir::new();
    let p = pan("453201", 16, 77);
    let d = pan("545454", 16, 78);
    let name = format!("{p}.txt");
    t.write(&name, "card 4111111111111111\n");
    t.write(format!("{d}/inner.txt"), "card 5555555555554444\n");
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    let mut paths: Vec<String> = findings(&recs).iter().map(|f| s(f, "path").to_string()).collect();
    paths.sort();
    let mut want = vec![format!("./{}.txt", masked(&p)), format!("./{}/inner.txt", masked(&d))];
    want.sort();
    assert_eq!(paths, want);
    // Nowhere in any format, nor in the argv of the run record when named explicitly.
    assert_eq!(find_leak(t.path(), &[p.clone(), d.clone()], &[]), None);
    let r2 = run(pansweep().current_dir(t.path()).args(["scan", "--format", "jsonl", &name]));
    let argv = strs(&r2.jsonl()[0], "argv");
    assert!(argv.last().is_some_and(|a| *a == format!("{}.txt", masked(&p))), "{}", mask_digits(&argv.join(" ")));
    for out in [&r.stdout_bytes, &r.stderr_bytes, &r2.stdout_bytes, &r2.stderr_bytes] {
        let text = String::from_utf8_lossy(out);
        assert!(!text.contains(&p) && !text.contains(&d), "full number printed: {}", mask_digits(&text));
    }
    // The error for a missing path named after a PAN is masked too.
    let missing = pan("453201", 16, 79);
    let r3 = run(pansweep().current_dir(t.path()).args(["scan", &missing]));
    assert_eq!(r3.code, 2);
    assert!(!r3.stderr().contains(&missing), "{}", r3.show());
    assert!(r3.stderr().contains(&masked(&missing)), "{}", r3.show());
}

#[test]
fn context_never_shows_a_neighbouring_pan() {
    let t = TestDir::new();
    let (a, b) = (pan("453201", 16, 80), pan("545454", 16, 81));
    // Two PANs, a bare one and a grouped one, well within each other's snippet.
    t.write("x.txt", format!("card {a} and {} cvv 123\n", grouped(&b, " ")));
    let (_, recs) = scan_jsonl(t.path(), &["--context", "."]);
    assert_eq!(findings(&recs).len(), 2);
    for f in findings(&recs) {
        let ctx = s(f, "context");
        assert_eq!(ctx.chars().filter(char::is_ascii_digit).count(), 10, "{}", mask_digits(ctx));
    }
    assert_eq!(find_leak(t.path(), &[a, b], &[]), None);
}

/// SPEC §5: full-width digits are digits. A PAN written in full-width digits next to an
/// ASCII one must not appear in the ASCII one's masked context.
#[test]
fn context_masks_full_width_digits() {
    let t = TestDir::new();
    let a = pan("453201", 16, 82);
    let b = pan("545454", 16, 83);
    let wide: String = b.chars().map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xFF10).unwrap()).collect();
    t.write("x.txt", format!("card {a} / {wide}\n"));
    let (_, recs) = scan_jsonl(t.path(), &["--context", "."]);
    let f = findings(&recs);
    assert!(!f.is_empty());
    let ctx = s(f[0], "context");
    let wide_digits = ctx.chars().filter(|c| ('\u{FF10}'..='\u{FF19}').contains(c)).count();
    assert_eq!(wide_digits, 0, "full-width digits left unmasked in the context");
}

/// Skipped records from the walker (FIFO or dangling link named on the command line,
/// unreadable directories, symlink loops) carry the raw path.
#[test]
fn skipped_path_named_after_a_pan_is_masked() {
    let t = TestDir::new();
    let p = pan("453201", 16, 84);
    let ok = Command::new("mkfifo").arg(t.join(&p)).status().is_ok_and(|s| s.success());
    assert!(ok, "mkfifo");
    let r = run(pansweep().current_dir(t.path()).args(["scan", "--format", "jsonl", &p]));
    assert_eq!(r.code, 3, "{}", r.show());
    assert!(!r.stdout().contains(&p), "the skipped record holds the full number: {}", r.show());
}

/// A file name with the number grouped by separators (`4532 0151 …`).
#[test]
fn file_name_with_a_grouped_pan_is_masked() {
    let t = TestDir::new();
    let p = pan("453201", 16, 85);
    t.write(format!("card {}.txt", grouped(&p, " ")), "card 4111111111111111\n");
    assert_eq!(find_leak(t.path(), std::slice::from_ref(&p), &[]), None);
}

// ---------------------------------------------------------------------------------------
// Every byte a run writes.

/// Full-width digits folded to ASCII, everything that is not a digit dropped.
fn digits_only(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '\u{FF10}'..='\u{FF19}' => char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')),
            _ => None,
        })
        .collect()
}

/// Where in `bytes` (named `what`) a planted number appears: as written, without the
/// separators a PAN may hold, or as bare digits with anything between them (`4-5-3-2…`,
/// a JSON array of digits, full-width digits). Also the planted expiry and security code.
/// `None` when clean; the message shows only masked forms.
fn leak_in_bytes(what: &str, bytes: &[u8], pans: &[String]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let flat = without_separators(&text);
    let digits = digits_only(&text);
    for p in pans {
        for (how, hay) in [("as written", &*text), ("without separators", &flat), ("as bare digits", &digits)] {
            if hay.contains(p.as_str()) {
                return Some(format!("{what} holds the planted number {} {how}", masked(p)));
            }
        }
    }
    for secret in ["12/27", "cvv 123"] {
        if text.contains(secret) {
            return Some(format!("{what} holds the planted {secret:?}"));
        }
    }
    None
}

/// What every run of the test wrote, as named byte strings, and the syslog socket the
/// runs send to.
struct Written {
    all: Vec<(String, Vec<u8>)>,
    log: Syslog,
}

impl Written {
    fn new(dir: &Path) -> Written {
        Written { all: Vec::new(), log: Syslog::new(dir) }
    }

    /// A command that sends its syslog line to the test's socket.
    fn pansweep(&self) -> Command {
        let mut c = pansweep();
        c.env("PANSWEEP_SYSLOG_SOCKET", &self.log.path);
        c
    }

    /// Keeps what a run wrote on stdout and stderr and the syslog line it sent (the
    /// socket's queue is read after every run: it holds only 10 datagrams).
    fn run(&mut self, name: &str, r: &Run) {
        self.all.push((format!("{name}: stdout"), r.stdout_bytes.clone()));
        self.all.push((format!("{name}: stderr"), r.stderr_bytes.clone()));
        for line in self.log.drain() {
            self.all.push((format!("{name}: syslog line"), line));
        }
    }

    /// Every file under `dir` (the syslog socket left out).
    fn files(&mut self, dir: &Path) {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("list output dir").flatten() {
                let ft = e.file_type().expect("file type");
                if ft.is_dir() {
                    stack.push(e.path());
                } else if ft.is_file() {
                    self.all.push((e.path().display().to_string(), std::fs::read(e.path()).expect("read output")));
                }
            }
        }
    }

    fn check(&self, pans: &[String]) {
        for (what, bytes) in &self.all {
            if let Some(leak) = leak_in_bytes(what, bytes, pans) {
                panic!("{leak}");
            }
        }
    }
}

/// Syslog lines sent to a socket of the test's own.
struct Syslog {
    sock: UnixDatagram,
    path: std::path::PathBuf,
}

impl Syslog {
    fn new(dir: &Path) -> Syslog {
        let path = dir.join("log.sock");
        let sock = UnixDatagram::bind(&path).expect("bind syslog socket");
        sock.set_nonblocking(true).expect("non-blocking");
        Syslog { sock, path }
    }

    /// Every line received so far.
    fn drain(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = self.sock.recv(&mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }
}

/// A tree with one file per brand and length, every separator and keyword, with expiry
/// and security code, one file named after a number and one after a grouped number, and a
/// gzip member; returns the planted numbers.
fn planted_tree(t: &TestDir) -> Vec<String> {
    let files: Vec<FileCase> = (0..SHAPES.len())
        .map(|i| FileCase {
            plants: vec![Plant {
                shape: i,
                seed: 7000 + i as u64,
                sep: i % SEPARATORS.len(),
                keyword: i % KEYWORDS.len(),
                cvv: i % 2 == 0,
                expiry: i % 3 == 0,
            }],
            filler_seed: 40 + i as u64,
            filler_words: 60,
            named_after_first_pan: i == 1,
        })
        .collect();
    let mut pans = build(t, &files);
    let g = pan("453201", 16, 7100);
    t.write(format!("card {}.txt", grouped(&g, " ")), "card number 4111111111111111\n");
    pans.push(g);
    let z = pan("545454", 16, 7101);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, format!("id,card_no\n1,{z}\n").as_bytes()).expect("gzip");
    t.write("orders.csv.gz", gz.finish().expect("gzip"));
    pans.push(z);
    // Enough bytes that a run throttled to 64 KiB/s takes seconds (to interrupt it).
    t.write("padding.log", "2024-10-22 11:11:30 GET /cart 200 ok\n".repeat(12_000));
    pans
}

/// Every way a scan writes, into files of `out` (outside the scanned tree), with the
/// syslog line on: reports in each format and language, an incremental state used
/// twice, a resume journal of an interrupted and continued run, a forensic report and
/// manifest, an allowlist written by `allowlist add` and runs that use it and a baseline,
/// and a run whose worker panics while holding a planted number. Then every byte is
/// checked for every planted number.
#[test]
fn every_byte_a_run_writes_is_free_of_planted_numbers() {
    let t = TestDir::new();
    let pans = planted_tree(&t);
    let out = TestDir::new();
    let key = out.write("key", [0x5au8; 32]);
    let mut w = Written::new(out.path());
    let sock = w.log.path.clone();
    let cmd = || {
        let mut c = pansweep();
        c.current_dir(t.path()).env("PANSWEEP_SYSLOG_SOCKET", &sock);
        c
    };
    let arg = |p: &Path| p.display().to_string();
    let limit = Duration::from_mins(2);
    let ok = |name: &str, r: &Run| assert!(r.code == 0 || r.code == 1, "{name}: {}", r.show());

    // Reports in every format and both languages, with context.
    for lang in ["en", "ja"] {
        for format in ["text", "jsonl", "json", "csv", "sarif", "html"] {
            let report = out.join(format!("report-{lang}.{format}"));
            let mut c = cmd();
            c.args(["--lang", lang, "scan", "-j", "2", "--context", "--syslog", "--format", format, "-o"])
                .arg(&report)
                .arg(".");
            let r = run_with_hang_guard(&mut c, limit);
            ok(&format!("{lang} {format}"), &r);
            w.run(&format!("scan --lang {lang} --format {format}"), &r);
        }
    }
    let en = crate::util::parse_jsonl(&std::fs::read_to_string(out.join("report-en.jsonl")).unwrap()).unwrap();
    // Not vacuous: the scan saw the planted numbers (all but the ones needing more context).
    assert!(findings(&en).len() >= pans.len() / 2, "{} findings", findings(&en).len());

    // An incremental state, written and then used.
    for n in 1..=2 {
        let mut c = cmd();
        c.args(["scan", "-j", "2", "--syslog", "--fingerprint-key", &arg(&key), "--state"])
            .arg(out.join("state"))
            .arg("-o")
            .arg(out.join(format!("state-run-{n}.jsonl")))
            .arg(".");
        let r = run_with_hang_guard(&mut c, limit);
        ok("state", &r);
        w.run(&format!("scan --state (run {n})"), &r);
    }

    // A resumable run interrupted by SIGINT, then continued to its end.
    let resume_args = |c: &mut Command| {
        c.args(["scan", "-j", "1", "--syslog", "--max-rate", "64K", "--fingerprint-key", &arg(&key), "--resume"])
            .arg(out.join("journal"))
            .arg("-o")
            .arg(out.join("resumed.jsonl"))
            .arg(".");
    };
    let mut c = cmd();
    resume_args(&mut c);
    let child = c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn");
    // The run record is written once the signal handler is in place; then let it work.
    let started = std::time::Instant::now();
    while std::fs::metadata(out.join("resumed.jsonl")).map_or(0, |m| m.len()) == 0 {
        assert!(started.elapsed() < limit, "the resumable run never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(700));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let o = child.wait_with_output().expect("interrupted run");
    let r = Run { code: o.status.code().unwrap_or(-1), stdout_bytes: o.stdout, stderr_bytes: o.stderr };
    assert_eq!(r.code, 130, "{}", r.show());
    w.run("scan --resume (interrupted)", &r);
    let mut c = cmd();
    resume_args(&mut c);
    let r = run_with_hang_guard(&mut c, limit);
    ok("resume", &r);
    assert!(r.stderr().contains("continuing an interrupted run"), "{}", r.show());
    w.run("scan --resume (continued)", &r);

    // Forensic mode: evidence records and the run manifest.
    let mut c = cmd();
    c.args(["scan", "-j", "2", "--syslog", "--forensic", "-o"]).arg(out.join("forensic.jsonl")).arg(".");
    let r = run_with_hang_guard(&mut c, limit);
    ok("forensic", &r);
    assert!(out.join("forensic.jsonl.manifest.json").exists(), "{}", r.show());
    w.run("scan --forensic", &r);

    // An allowlist written from a report made with the key, then used; a baseline.
    let keyed = crate::util::parse_jsonl(&std::fs::read_to_string(out.join("state-run-1.jsonl")).unwrap()).unwrap();
    let id = s(findings(&keyed)[0], "id").to_owned();
    let mut c = cmd();
    c.args(["allowlist", "add", "--id", &id, "--reason", "accepted in a test", "--from"])
        .arg(out.join("state-run-1.jsonl"))
        .arg("--allowlist")
        .arg(out.join("allow.toml"));
    let r = run_with_hang_guard(&mut c, limit);
    assert_eq!(r.code, 0, "{}", r.show());
    w.run("allowlist add", &r);
    let mut c = cmd();
    c.args(["scan", "-j", "2", "--syslog", "--allowlist"])
        .arg(out.join("allow.toml"))
        .arg("--baseline")
        .arg(out.join("state-run-1.jsonl"))
        .args(["--fingerprint-key", &arg(&key), "-o"])
        .arg(out.join("triaged.jsonl"))
        .arg(".");
    let r = run_with_hang_guard(&mut c, limit);
    assert!(matches!(r.code, 0 | 1), "{}", r.show());
    w.run("scan --allowlist --baseline", &r);

    // A worker that panics while it holds a planted number (debug builds only).
    let victim = &pans[0];
    let mut c = cmd();
    c.env("PANSWEEP_FAULT_PANIC_ON_PAN", &victim[..10])
        .args(["scan", "-j", "2", "--syslog", "--format", "jsonl", "-o"])
        .arg(out.join("panicked.jsonl"))
        .arg(".");
    let r = run_with_hang_guard(&mut c, limit);
    if cfg!(debug_assertions) {
        assert_eq!(r.code, 1, "the run goes on after a panic: {}", r.show());
        assert!(r.stderr().contains("pansweep: internal error at "), "{}", r.show());
        assert!(r.stderr().contains(&masked(victim)), "the message is masked, not dropped: {}", r.show());
        let recs = crate::util::parse_jsonl(&std::fs::read_to_string(out.join("panicked.jsonl")).unwrap()).unwrap();
        let internal: Vec<_> =
            of_type(&recs, "skipped").into_iter().filter(|k| s(k, "reason").starts_with("internal error")).collect();
        assert_eq!(internal.len(), 1, "{}", r.show());
        assert!(!findings(&recs).is_empty(), "the other files are still reported");
    }
    w.run("scan with a worker panic", &r);

    w.files(out.path());
    let lines = w.all.iter().filter(|(n, _)| n.ends_with("syslog line")).count();
    assert_eq!(lines, 19, "one syslog line per run with --syslog");
    for name in ["state", "journal", "forensic.jsonl.manifest.json", "allow.toml"] {
        assert!(w.all.iter().any(|(n, _)| n.ends_with(name)), "{name} was not written");
    }
    w.check(&pans);
}

// ---------------------------------------------------------------------------------------
// Database passwords.

/// `host:port` of the server in `var`, or `default` when the variable is not set.
fn server_addr(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .and_then(|u| url::Url::parse(&u).ok())
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| default.to_owned())
}

/// A wrong password for a user the servers do not have, and a port nothing listens on:
/// the database is a skipped item (exit 3) and the password is in none of stdout, stderr,
/// the report (every format), the run record's argv or the syslog line, neither as written
/// nor URL-encoded.
#[test]
fn database_errors_never_show_the_password() {
    const SECRET: &str = "S3cretPw";
    let pg = server_addr("PANSWEEP_TEST_PG_URL", "127.0.0.1:5432");
    let my = server_addr("PANSWEEP_TEST_MYSQL_URL", "127.0.0.1:3306");
    let out = TestDir::new();
    let mut w = Written::new(out.path());
    let urls = [
        format!("postgres://u:{SECRET}@{pg}/test"),
        format!("mysql://u:{SECRET}@{my}/test"),
        format!("postgres://u:{SECRET}@127.0.0.1:1/test"),
        format!("mariadb://u:{SECRET}@127.0.0.1:1/test"),
        format!("postgres://u@{pg}/test?password={SECRET}"),
    ];
    for (i, url) in urls.iter().enumerate() {
        for format in ["jsonl", "text", "json", "csv", "sarif", "html"] {
            let report = out.join(format!("db-{i}.{format}"));
            let mut c = w.pansweep();
            c.args(["db", "--syslog", "--connect-timeout", "5", "--format", format, "-o"]).arg(&report).arg(url);
            let r = run_with_hang_guard(&mut c, Duration::from_mins(2));
            assert_eq!(r.code, 3, "database {i}, {format}: a database that refuses us is skipped: {}", r.show());
            if format == "jsonl" {
                let recs = crate::util::parse_jsonl(&std::fs::read_to_string(&report).unwrap()).unwrap();
                let sk = of_type(&recs, "skipped");
                assert_eq!(sk.len(), 1, "{}", r.show());
                assert!(s(sk[0], "reason").starts_with("cannot connect"), "{}", s(sk[0], "reason"));
                assert_eq!(summary(&recs)["complete"], true);
            }
            w.run(&format!("db {i} --format {format}"), &r);
        }
    }
    w.files(out.path());
    assert_eq!(w.all.iter().filter(|(n, _)| n.ends_with("syslog line")).count(), urls.len() * 6);
    let encoded: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    for (what, bytes) in &w.all {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(SECRET) && !text.contains(&encoded), "the password is in {what}");
    }
}
