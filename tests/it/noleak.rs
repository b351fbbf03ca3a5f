//! No output ever holds a full card number (SPEC §4, §7): whatever is planted, in every
//! format, with and without `--context`, in English and Japanese, and in file names.

use std::process::Command;

use proptest::prelude::*;

use crate::util::{TestDir, findings, grouped, mask_digits, masked, pan, pansweep, run, s, scan_jsonl, strs};

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
