//! Shared helpers: temp trees, the `pansweep` command, a Luhn PAN generator, JSONL
//! parsing, output masking for failure messages and insta filters.
//!
//! Rule for every test: a full card number never appears in a committed file or in test
//! output, except public test PANs. Generated PANs exist only at test time; failure
//! messages show output through [`mask_digits`].

#![allow(dead_code)] // not every test module uses every helper

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_pansweep");

/// A temporary directory tree, removed on drop. The root is made world-readable (0755)
/// so that tests which drop privileges can walk it.
pub(crate) struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub(crate) fn new() -> TestDir {
        let dir = tempfile::Builder::new().prefix("pansweep-it-").tempdir().expect("create temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        TestDir { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `root/rel`.
    pub(crate) fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `rel` (creating parent directories) with mode 0644 and returns its path.
    pub(crate) fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("create parent dirs");
        }
        fs::write(&p, contents).expect("write test file");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod test file");
        p
    }

    /// Creates directory `rel` (and parents) with mode 0755.
    pub(crate) fn mkdir(&self, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.join(rel);
        fs::create_dir_all(&p).expect("create dir");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod dir");
        p
    }

    /// Sets the mode of `rel`.
    pub(crate) fn chmod(&self, rel: impl AsRef<Path>, mode: u32) {
        fs::set_permissions(self.join(rel), fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        // Give back permissions taken away by a test so the tree can be removed.
        fn restore(p: &Path) {
            let Ok(meta) = fs::symlink_metadata(p) else { return };
            if meta.file_type().is_symlink() {
                return;
            }
            let _ = fs::set_permissions(p, fs::Permissions::from_mode(if meta.is_dir() { 0o755 } else { 0o644 }));
            if meta.is_dir()
                && let Ok(rd) = fs::read_dir(p)
            {
                for e in rd.flatten() {
                    restore(&e.path());
                }
            }
        }
        restore(self.dir.path());
    }
}

/// `pansweep --progress never` with a clean environment (no detector overlay from the
/// environment, no `NO_COLOR`, a fixed help width), run in `cwd` when given.
pub(crate) fn pansweep() -> Command {
    let mut c = Command::new(BIN);
    c.args(["--progress", "never"])
        .env_remove("PANSWEEP_DETECTORS")
        .env_remove("NO_COLOR")
        // No config file from the environment or the user running the tests.
        .env_remove("PANSWEEP_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent/pansweep-tests")
        .env("COLUMNS", "100")
        .stdin(Stdio::null());
    c
}

/// `pansweep --progress never scan -j 1 ARGS…` run in `dir`.
pub(crate) fn scan_in(dir: &Path, args: &[&str]) -> Run {
    let mut c = pansweep();
    c.current_dir(dir).args(["scan", "-j", "1"]).args(args);
    run(&mut c)
}

/// Runs `pansweep … scan --format jsonl -j 1 ARGS…` in `dir`, parsed.
pub(crate) fn scan_jsonl(dir: &Path, args: &[&str]) -> (Run, Vec<Value>) {
    let mut all = vec!["--format", "jsonl"];
    all.extend_from_slice(args);
    let r = scan_in(dir, &all);
    let v = r.jsonl();
    (r, v)
}

/// What a run of the binary produced.
pub(crate) struct Run {
    /// Exit code (-1 if killed by a signal).
    pub(crate) code: i32,
    /// Raw stdout.
    pub(crate) stdout_bytes: Vec<u8>,
    /// Raw stderr.
    pub(crate) stderr_bytes: Vec<u8>,
}

impl Run {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout_bytes).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr_bytes).into_owned()
    }

    /// Both streams with every 12+ digit run masked: safe for failure messages.
    pub(crate) fn show(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            mask_digits(&self.stdout()),
            mask_digits(&self.stderr())
        )
    }

    /// Parses stdout as JSONL (panics, showing masked output, on a bad line).
    pub(crate) fn jsonl(&self) -> Vec<Value> {
        parse_jsonl(&self.stdout()).unwrap_or_else(|e| panic!("stdout is not JSONL: {e}\n{}", self.show()))
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.show())
    }
}

/// Runs a command to completion, capturing output.
pub(crate) fn run(cmd: &mut Command) -> Run {
    let out: Output = cmd.output().expect("run pansweep");
    Run { code: out.status.code().unwrap_or(-1), stdout_bytes: out.stdout, stderr_bytes: out.stderr }
}

/// Parses JSON lines (blank lines ignored).
pub(crate) fn parse_jsonl(s: &str) -> Result<Vec<Value>, String> {
    s.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// Records of one `type`.
pub(crate) fn of_type<'a>(records: &'a [Value], ty: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == ty).collect()
}

/// The finding records.
pub(crate) fn findings(records: &[Value]) -> Vec<&Value> {
    of_type(records, "finding")
}

/// The one summary record.
pub(crate) fn summary(records: &[Value]) -> &Value {
    let s = of_type(records, "summary");
    assert_eq!(s.len(), 1, "expected exactly one summary record");
    s[0]
}

/// A string field of a record ("" when absent).
pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// An array-of-strings field of a record.
pub(crate) fn strs(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Masks anything that could be a card number so test output can be shown: every run of
/// 12 or more digits (ASCII or full-width), also when grouped by single separators
/// (space, `-`, `.`, NBSP, ideographic space), keeps only its first 6 and last 4 digits.
pub(crate) fn mask_digits(s: &str) -> String {
    let is_digit = |c: char| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c);
    let is_sep = |c: char| matches!(c, ' ' | '-' | '.' | '\u{a0}' | '\u{3000}');
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A chain of digit groups joined by single separators.
        let start = i;
        let mut end = i;
        let mut j = i;
        loop {
            while j < chars.len() && is_digit(chars[j]) {
                j += 1;
            }
            end = end.max(j);
            if j + 1 < chars.len() && is_sep(chars[j]) && is_digit(chars[j + 1]) {
                j += 1;
            } else {
                break;
            }
        }
        let total = chars[start..end].iter().filter(|c| is_digit(**c)).count();
        let mut seen = 0;
        for &c in &chars[start..end] {
            if is_digit(c) {
                seen += 1;
                out.push(if total >= 12 && seen > 6 && seen + 4 <= total { '*' } else { c });
            } else {
                out.push(c);
            }
        }
        i = end;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Luhn PANs generated at test time.

/// The Luhn sum mod 10 of ASCII digits (0 = valid).
fn luhn_sum(digits: &[u8]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum::<u32>()
        % 10
}

/// Whether ASCII digits pass Luhn.
pub(crate) fn luhn_valid(digits: &str) -> bool {
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && luhn_sum(digits.as_bytes()) == 0
}

/// The Luhn check digit for `body`.
pub(crate) fn luhn_digit(body: &str) -> char {
    let mut d = body.as_bytes().to_vec();
    d.push(b'0');
    char::from(b'0' + ((10 - luhn_sum(&d)) % 10) as u8)
}

/// A Luhn-valid number of `len` digits starting with `prefix`, middle digits from a
/// deterministic sequence seeded by `seed` (different seeds give different numbers).
/// Not a real card: real PANs are never used in tests.
pub(crate) fn pan(prefix: &str, len: usize, seed: u64) -> String {
    assert!(prefix.len() < len && prefix.bytes().all(|b| b.is_ascii_digit()));
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5eed_cafe;
    let mut body = prefix.to_string();
    while body.len() < len - 1 {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        body.push(char::from(b'0' + ((state >> 33) % 10) as u8));
    }
    let c = luhn_digit(&body);
    body.push(c);
    debug_assert!(luhn_valid(&body));
    body
}

/// The masked form reports use: first 6, `*` for the middle, last 4.
pub(crate) fn masked(pan: &str) -> String {
    format!("{}{}{}", &pan[..6], "*".repeat(pan.len() - 10), &pan[pan.len() - 4..])
}

/// Groups a PAN 4-4-4-4… with `sep`.
pub(crate) fn grouped(pan: &str, sep: &str) -> String {
    pan.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).expect("ASCII")).collect::<Vec<_>>().join(sep)
}

// ---------------------------------------------------------------------------------------
// Snapshots.

/// insta settings that replace what varies between runs: temp paths, times, host,
/// fingerprints (random key per run), ruleset hash, key id, argv.
pub(crate) fn insta_settings(tmp: Option<&Path>) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    if let Some(tmp) = tmp {
        let mut paths = vec![tmp.display().to_string()];
        if let Ok(c) = tmp.canonicalize() {
            paths.push(c.display().to_string());
        }
        for p in paths {
            settings.add_filter(&regex::escape(&p), "[TMP]");
        }
    }
    settings.add_filter(r#""elapsed_s":[0-9.eE+-]+"#, r#""elapsed_s":"[ELAPSED]""#);
    settings.add_filter(r"in [0-9]+\.[0-9]+s \([0-9]+ MB/s\)", "in [ELAPSED]");
    settings.add_filter(r"[0-9]+\.[0-9]+ 秒 \([0-9]+ MB/s\)", "[ELAPSED]");
    settings.add_filter(r"hmac-sha256:[0-9a-f]{64}", "[FP]");
    // A finding's id hashes its fingerprint, which changes with the per-run key.
    settings.add_filter(r#""id":"[0-9a-f]{16}""#, r#""id":"[ID]""#);
    settings.add_filter(r#""id": "[0-9a-f]{16}""#, r#""id": "[ID]""#);
    settings.add_filter(r#""started":"[^"]*""#, r#""started":"[TIME]""#);
    settings.add_filter(r"sha256:[0-9a-f]{64}", "[RULESET]");
    settings.add_filter(r#""fingerprint_key_id":"[^"]*""#, r#""fingerprint_key_id":"[KEYID]""#);
    settings.add_filter(r#""host":"[^"]*""#, r#""host":"[HOST]""#);
    settings.add_filter(r#""argv":\[[^\]]*\]"#, r#""argv":"[ARGV]""#);
    settings
}

/// Text output with its per-file groups sorted by path (walk order is not part of the
/// contract), the closing summary kept last.
pub(crate) fn sort_text_groups(text: &str) -> String {
    let blocks: Vec<&str> = text.split("\n\n").collect();
    let Some((last, groups)) = blocks.split_last() else { return text.to_string() };
    // Groups are the blocks before the skipped/summary ones; each starts with a path line
    // followed by `line:offset:` finding lines.
    let is_group = |b: &&str| {
        b.lines().nth(1).is_some_and(|l| {
            l.split(':').next().is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty())
        })
    };
    let mut sorted: Vec<&str> = groups.iter().copied().filter(is_group).collect();
    let rest: Vec<&str> = groups.iter().copied().filter(|b| !is_group(b)).collect();
    sorted.sort_by_key(|b| b.lines().next().unwrap_or(""));
    let mut out: Vec<&str> = sorted;
    out.extend(rest);
    out.push(last);
    out.join("\n\n")
}

/// JSONL output with the finding lines sorted by (`path`, `byte_offset`), the other lines in
/// place (run first, skipped and summary last). Lines are kept byte for byte.
pub(crate) fn sorted_jsonl(stdout: &str) -> String {
    let mut head = Vec::new();
    let mut found: Vec<(String, u64, &str)> = Vec::new();
    let mut tail = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {e}: {}", mask_digits(line)));
        match v["type"].as_str() {
            Some("run") => head.push(line),
            Some("finding") => found.push((s(&v, "path").to_string(), v["byte_offset"].as_u64().unwrap_or(0), line)),
            _ => tail.push(line),
        }
    }
    found.sort();
    let mut out = String::new();
    for l in head.into_iter().chain(found.into_iter().map(|f| f.2)).chain(tail) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Splits `--format csv` output into records (RFC 4180): each is its raw text (CRLF
/// included) and its fields with quotes undone. Panics, masked, unless the output starts
/// with a UTF-8 BOM and every record ends with CRLF.
pub(crate) fn csv_records(stdout: &str) -> Vec<(String, Vec<String>)> {
    let body = stdout.strip_prefix('\u{FEFF}').unwrap_or_else(|| panic!("no BOM: {}", mask_digits(stdout)));
    let mut out = Vec::new();
    let (mut raw, mut fields, mut cur) = (String::new(), Vec::new(), String::new());
    let mut chars = body.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        raw.push(c);
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                raw.push('"');
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut cur)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                raw.push('\n');
                chars.next();
                fields.push(std::mem::take(&mut cur));
                out.push((std::mem::take(&mut raw), std::mem::take(&mut fields)));
            }
            (false, '\r' | '\n') => panic!("a bare CR or LF ends a record: {}", mask_digits(stdout)),
            (_, c) => cur.push(c),
        }
    }
    assert!(raw.is_empty(), "last record not ended by CRLF: {}", mask_digits(stdout));
    out
}

/// `--format csv` output as a string for a snapshot: BOM dropped, CRLF shown as LF, the
/// header first and the rows sorted by (`path`, `byte_offset`) (walk order is not part
/// of the contract).
pub(crate) fn sorted_csv(stdout: &str) -> String {
    let mut recs = csv_records(stdout);
    assert!(!recs.is_empty(), "no header row");
    let header = recs.remove(0);
    let col = |name: &str| header.1.iter().position(|c| c == name).unwrap_or_else(|| panic!("no column {name}"));
    let (path, offset) = (col("path"), col("byte_offset"));
    recs.sort_by(|a, b| {
        let key = |r: &(String, Vec<String>)| (r.1[path].clone(), r.1[offset].parse::<u64>().unwrap_or(0));
        key(a).cmp(&key(b))
    });
    std::iter::once(header).map(|r| r.0).chain(recs.into_iter().map(|r| r.0)).collect::<String>().replace("\r\n", "\n")
}

// ---------------------------------------------------------------------------------------
// Privileges and hang guards.

/// Whether this process runs with effective uid 0 (root ignores file modes).
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `pansweep --progress never` as a user whom file modes apply to: as is when not root,
/// through `setpriv` as nobody (65534) when root. `None` when root and `setpriv` is
/// missing (the caller skips, loudly).
#[allow(clippy::print_stderr)] // a skipped test says so on stderr
pub(crate) fn pansweep_unprivileged() -> Option<Command> {
    if !is_root() {
        return Some(pansweep());
    }
    let ok = Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: running as root and setpriv is not available to drop privileges");
        return None;
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "--progress", "never"])
        .env_remove("PANSWEEP_DETECTORS")
        .env_remove("NO_COLOR")
        .env("COLUMNS", "100")
        .stdin(Stdio::null());
    Some(c)
}

/// Runs a command, killing it and failing the test if it has not ended after `limit`
/// (a guard against hangs, not a timing assertion).
pub(crate) fn run_with_hang_guard(cmd: &mut Command, limit: std::time::Duration) -> Run {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn pansweep");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut v);
        v
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pansweep did not finish within {limit:?}: it hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout_bytes: out_t.join().expect("stdout reader"),
        stderr_bytes: err_t.join().expect("stderr reader"),
    }
}

#[test]
fn helpers_mask_and_generate() {
    assert_eq!(mask_digits("a 4111111111111111 b"), "a 411111******1111 b");
    assert_eq!(mask_digits("4111 1111 1111 1111."), "4111 11** **** 1111.");
    assert_eq!(mask_digits("2024-10-22 11:11:30 id 12345"), "2024-10-22 11:11:30 id 12345");
    assert_eq!(mask_digits("３７８２８２２４６３１０００５"), "３７８２８２*****０００５");
    let p = pan("453201", 16, 1);
    assert_eq!(p.len(), 16);
    assert!(p.starts_with("453201") && luhn_valid(&p));
    assert_ne!(p, pan("453201", 16, 2));
    assert_eq!(luhn_digit("411111111111111"), '1');
    assert!(!luhn_valid("4111111111111112"));
    assert_eq!(masked("378282246310005"), "378282*****0005");
    assert_eq!(grouped("4111111111111111", "-"), "4111-1111-1111-1111");
}

/// The fixed files of the snapshot trees (public test PANs only, so output is stable): an
/// order export with expiry and security code, and a log with a card and a receipt.
pub(crate) fn write_order_export_and_log(t: &TestDir) {
    t.write(
        "orders.csv",
        "id,card_no,expire,security_code\n1,4111111111111111,12/27,123\n2,5555555555554444,01/28,456\n",
    );
    t.write(
        "logs/app.log",
        "2024-10-22 INFO charge ok card=4242424242424242\n2024-10-22 INFO receipt 424242******4242\n",
    );
}
