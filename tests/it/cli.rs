//! The command line: exit codes (SPEC §2), `--version`, `--help`, and snapshots of the
//! user-visible text and JSONL output on a small fixed tree of public test PANs.

use crate::util::{
    TestDir, csv_records, findings, insta_settings, mask_digits, of_type, pan, pansweep, run, s, scan_in, scan_jsonl,
    sort_text_groups, sorted_csv, sorted_jsonl, summary,
};

#[test]
fn exit_0_on_a_clean_tree() {
    let t = TestDir::new();
    t.write("readme.txt", "nothing to see here\n");
    t.write("sub/notes.md", "# notes\nno card data at all\n");
    let r = scan_in(t.path(), &["--format", "text", "--color", "never", "."]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout().contains("no card data found in the scanned scope"), "{r:?}");
    assert!(r.stdout().contains("scanned 2 files"), "{r:?}");
}

#[test]
fn exit_1_with_a_finding_at_or_above_medium() {
    let t = TestDir::new();
    t.write("a.txt", format!("ref {}\n", pan("453201", 16, 1)));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(s(findings(&recs)[0], "confidence"), "medium");
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn low_findings_do_not_fail_by_default() {
    let t = TestDir::new();
    // 13-digit Visa: reported only with context, and then as low.
    t.write("a.txt", format!("visa card number {}\n", pan("455612", 13, 2)));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(findings(&recs).len(), 1, "{r:?}");
    assert_eq!(s(findings(&recs)[0], "confidence"), "low");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(scan_in(t.path(), &["--format", "jsonl", "--fail-on", "low", "."]).code, 1);
}

#[test]
fn exit_2_on_a_bad_flag() {
    let r = run(pansweep().args(["scan", "--no-such-flag", "."]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("--no-such-flag"), "{r:?}");
    assert!(r.stdout().is_empty());
    let r = run(pansweep().args(["scan", "--min-confidence", "urgent", "."]));
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(pansweep().args(["scan", "-j", "0", "."]));
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(pansweep().args(["scan", "--max-filesize", "lots", "."]));
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(pansweep().arg("frobnicate"));
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn exit_2_on_a_nonexistent_path() {
    let t = TestDir::new();
    t.write("a.txt", "fine\n");
    let r = scan_in(t.path(), &["--format", "jsonl", "a.txt", "missing/dir"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("no such file or directory: missing/dir"), "{r:?}");
    assert!(r.stdout().is_empty(), "the run never started: {r:?}");
}

#[test]
fn exit_2_when_the_output_file_cannot_be_created() {
    let t = TestDir::new();
    t.write("a.txt", "fine\n");
    let r = scan_in(t.path(), &["-o", "no/such/dir/report.jsonl", "."]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr().contains("cannot create output file"), "{r:?}");
}

#[test]
fn exit_3_when_something_is_skipped_and_nothing_found() {
    let t = TestDir::new();
    t.write("small.txt", "fine\n");
    t.write("large.bin", vec![b'a'; 4096]);
    let (r, recs) = scan_jsonl(t.path(), &["--max-filesize", "1K", "."]);
    assert_eq!(r.code, 3, "{r:?}");
    let skipped = of_type(&recs, "skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(s(skipped[0], "path"), "./large.bin");
    assert_eq!(s(skipped[0], "kind"), "limit");
    assert_eq!(summary(&recs)["skipped"], 1);
    assert_eq!(summary(&recs)["files"], 1);
    // A finding at or above --fail-on wins over incomplete coverage.
    t.write("card.txt", format!("card number {}\n", pan("453201", 16, 3)));
    let (r, _) = scan_jsonl(t.path(), &["--max-filesize", "1K", "."]);
    assert_eq!(r.code, 1, "{r:?}");
    // A finding below --fail-on does not.
    let (r, _) = scan_jsonl(t.path(), &["--max-filesize", "1K", "--fail-on", "critical", "."]);
    assert_eq!(r.code, 3, "{r:?}");
}

#[test]
fn version() {
    let r = run(pansweep().arg("--version"));
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout(), format!("pansweep {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_for_scan() {
    let r = run(pansweep().args(["scan", "--help"]));
    assert_eq!(r.code, 0, "{r:?}");
    insta::assert_snapshot!("scan_help", r.stdout());
}

#[test]
fn help_for_report() {
    let r = run(pansweep().args(["report", "--help"]));
    assert_eq!(r.code, 0, "{r:?}");
    insta::assert_snapshot!("report_help", r.stdout());
}

/// A fixed tree with public test PANs and masked PANs only, so its output is stable.
fn fixed_tree() -> TestDir {
    let t = TestDir::new();
    crate::util::write_order_export_and_log(&t);
    t.write("notes.txt", "amex 3782 822463 10005\njcb 3530-1113-3330-0000 exp 12/27\nmasked xxxx-xxxx-xxxx-1234\n");
    t.write("clean.txt", "nothing to see here\n");
    t
}

#[test]
fn text_output_snapshot() {
    let t = fixed_tree();
    let r = scan_in(t.path(), &["--format", "text", "--color", "never", "."]);
    assert_eq!(r.code, 0, "test and masked PANs only: {r:?}");
    assert!(r.stderr().is_empty(), "{r:?}");
    let settings = insta_settings(Some(t.path()));
    settings.bind(|| insta::assert_snapshot!("text_output", sort_text_groups(&r.stdout())));
}

#[test]
fn text_output_ja_snapshot() {
    let t = fixed_tree();
    let r = run(pansweep().current_dir(t.path()).args([
        "--lang",
        "ja",
        "scan",
        "-j",
        "1",
        "--format",
        "text",
        "--color",
        "never",
        "--context",
        ".",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let settings = insta_settings(Some(t.path()));
    settings.bind(|| insta::assert_snapshot!("text_output_ja_context", sort_text_groups(&r.stdout())));
}

#[test]
fn text_output_groups_findings_under_their_path() {
    let t = fixed_tree();
    let r = scan_in(t.path(), &["--format", "text", "--color", "never", "."]);
    let out = r.stdout();
    let blocks: Vec<&str> = out.split("\n\n").collect();
    let group = |path: &str| {
        blocks
            .iter()
            .find(|b| b.lines().next() == Some(path))
            .copied()
            .unwrap_or_else(|| panic!("no group for {path}: {r:?}"))
    };
    assert_eq!(group("./orders.csv").lines().count(), 3, "path line + 2 findings");
    assert_eq!(group("./logs/app.log").lines().count(), 3);
    assert_eq!(group("./notes.txt").lines().count(), 4);
    assert!(!out.contains("clean.txt"));
    // Each path heads exactly one group.
    assert_eq!(out.matches("./orders.csv").count(), 1);
}

#[test]
fn color_always_uses_ansi_and_never_does_not() {
    let t = fixed_tree();
    let r = scan_in(t.path(), &["--format", "text", "--color", "always", "."]);
    assert!(r.stdout().contains("\x1b["), "{r:?}");
    let r = scan_in(t.path(), &["--format", "text", "--color", "never", "."]);
    assert!(!r.stdout().contains('\x1b'), "{r:?}");
    // Not a terminal: auto means no colour.
    let r = scan_in(t.path(), &["--format", "text", "."]);
    assert!(!r.stdout().contains('\x1b'), "{r:?}");
}

#[test]
fn jsonl_is_the_default_when_stdout_is_not_a_terminal() {
    let t = fixed_tree();
    let r = scan_in(t.path(), &["."]);
    let recs = r.jsonl();
    assert_eq!(recs.first().map(|v| s(v, "type")), Some("run"));
    assert_eq!(recs.last().map(|v| s(v, "type")), Some("summary"));
}

#[test]
fn jsonl_output_snapshot() {
    let t = fixed_tree();
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 0, "{r:?}");
    // The record shapes SPEC §4 promises.
    let run_rec = of_type(&recs, "run")[0];
    for key in ["tool", "version", "ruleset", "started", "host", "argv", "fingerprint_key_id"] {
        assert!(run_rec.get(key).is_some(), "run record lacks {key}");
    }
    assert!(s(run_rec, "ruleset").starts_with("sha256:"));
    assert!(s(run_rec, "fingerprint_key_id").starts_with("random:"));
    for f in findings(&recs) {
        let full = f.get("fingerprint").is_some();
        assert_eq!(full, s(f, "class") != "masked_pan", "fingerprint on every full PAN, none on masked ones");
    }
    let settings = insta_settings(Some(t.path()));
    settings.bind(|| insta::assert_snapshot!("jsonl_output", sorted_jsonl(&r.stdout())));
}

/// `--format csv`: a BOM, a header, one row per finding (the same findings as JSONL),
/// nothing else; the exit code is the same as for any format.
#[test]
fn csv_output_snapshot() {
    let t = fixed_tree();
    let r = scan_in(t.path(), &["--format", "csv", "."]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr().is_empty(), "{r:?}");
    let recs = csv_records(&r.stdout());
    let (_, jsonl) = scan_jsonl(t.path(), &["."]);
    assert_eq!(recs.len(), 1 + findings(&jsonl).len(), "a header and one row per finding: {r:?}");
    assert!(recs.iter().all(|(_, fields)| fields.len() == recs[0].1.len()), "{r:?}");
    let settings = insta_settings(Some(t.path()));
    settings.bind(|| insta::assert_snapshot!("csv_output", sorted_csv(&r.stdout())));
}

/// A file name is chosen by whoever wrote the file: one that is a spreadsheet formula
/// comes out as text (OWASP CSV injection), quoted, and still names the file.
#[test]
fn csv_guards_a_formula_in_a_path() {
    let t = TestDir::new();
    let name = "=HYPERLINK(\"x\").txt";
    t.write(name, "card number 4111111111111111\n");
    t.write("+cmd|' \\C calc'!A0.txt", "card number 5555555555554444\n");
    let r = scan_in(t.path(), &["--format", "csv", name, "+cmd|' \\C calc'!A0.txt"]);
    assert_eq!(r.code, 0, "test PANs only: {r:?}");
    let out = r.stdout();
    assert!(out.contains(",test_pan,\"'=HYPERLINK(\"\"x\"\").txt\","), "{out}");
    assert!(out.contains(",'+cmd|' \\C calc'!A0.txt,"), "{out}");
    let recs = csv_records(&out);
    let path = recs[0].1.iter().position(|c| c == "path").unwrap();
    let mut paths: Vec<&str> = recs[1..].iter().map(|(_, f)| f[path].as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["'+cmd|' \\C calc'!A0.txt", "'=HYPERLINK(\"x\").txt"]);
    // Walked from `.`, the path starts with `./` and needs no guard.
    let r = scan_in(t.path(), &["--format", "csv", "."]);
    assert!(r.stdout().contains(",\"./=HYPERLINK(\"\"x\"\").txt\","), "{r:?}");
}

/// `pansweep db --format csv`: database findings are placed by `row_key`, with no line or
/// byte offset, and table and column names are guarded like paths.
#[test]
fn csv_for_a_database() {
    let t = TestDir::new();
    let number = pan("453201", 16, 611);
    let db = pansweep::source::sqlite::build(&format!(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, region TEXT, card_no TEXT, cvv TEXT);
         INSERT INTO orders VALUES (-7, 'kanto', '{number}', '123');
         CREATE TABLE \"=evil\"(\"@pan\" TEXT);
         INSERT INTO \"=evil\" VALUES ('card 4111111111111111');"
    ))
    .unwrap();
    std::fs::write(t.join("shop.sqlite"), db).unwrap();
    let url = format!("sqlite://{}", t.join("shop.sqlite").display());
    let r = run(pansweep().args(["db", "--format", "csv", &url]));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(!r.stdout().contains(&number), "full number in output");
    let recs = csv_records(&r.stdout());
    let header = &recs[0].1;
    let rows: Vec<_> = recs[1..]
        .iter()
        .map(|(_, f)| {
            let col = |name: &str| f[header.iter().position(|c| c == name).unwrap()].clone();
            (col("engine"), col("table"), col("column"), col("row_key"), col("line"), col("byte_offset"), col("masked"))
        })
        .collect();
    let rows_shown = mask_digits(&format!("{rows:?}"));
    assert_eq!(rows.len(), 2, "{rows_shown}");
    let masked = crate::util::masked(&number);
    assert!(
        rows.contains(&(
            "sqlite".into(),
            "main.orders".into(),
            "card_no".into(),
            "id=-7".into(),
            String::new(),
            String::new(),
            masked
        )),
        "{rows_shown}"
    );
    // Only a field's first character can start a formula.
    assert!(rows.iter().any(|r| r.1 == "main.=evil"), "{rows_shown}");
    assert!(rows.iter().any(|r| r.2 == "'@pan"), "{rows_shown}");
}

#[test]
fn fingerprints_are_stable_with_a_key_file() {
    let t = fixed_tree();
    let key = TestDir::new();
    let key_file = key.write("key", [7u8; 32]);
    let fp = |args: &[&str]| {
        let (_, recs) = scan_jsonl(t.path(), args);
        let mut v: Vec<String> =
            findings(&recs).iter().filter_map(|f| f["fingerprint"].as_str().map(str::to_string)).collect();
        v.sort();
        (v, s(of_type(&recs, "run")[0], "fingerprint_key_id").to_string())
    };
    let k = key_file.to_str().unwrap();
    let (a, id_a) = fp(&["--fingerprint-key", k, "."]);
    let (b, id_b) = fp(&["--fingerprint-key", k, "."]);
    let (c, id_c) = fp(&["."]);
    assert_eq!(a.len(), 5, "5 full (test) PANs, 2 masked without fingerprint");
    assert_eq!(a, b, "same key, same fingerprints");
    assert_eq!(id_a, id_b);
    assert!(id_a.starts_with("sha256:"), "{id_a}");
    assert_ne!(a, c, "a random per-run key differs");
    assert!(id_c.starts_with("random:"), "{id_c}");
    // A key that is too short is a usage error.
    let short = key.write("short", [1u8; 8]);
    let r = scan_in(t.path(), &["--fingerprint-key", short.to_str().unwrap(), "."]);
    assert_eq!(r.code, 2, "{r:?}");
}

/// `pansweep canary DIR`: every supported format passes, the files stay as evidence, and a
/// second run over the same directory passes again.
#[test]
fn canary_passes_for_every_format() {
    let t = crate::util::TestDir::new();
    let dir = t.join("canary");
    for _ in 0..2 {
        let r = crate::util::run(crate::util::pansweep().arg("canary").arg(&dir));
        assert_eq!(r.code, 0, "{}", r.show());
        let out = r.stdout();
        let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("pass ") || l.starts_with("FAIL ")).collect();
        assert!(lines.len() >= 25, "{out}");
        assert!(lines.iter().all(|l| l.starts_with("pass ")), "{out}");
        for format in
            ["utf-16le", "shift_jis", "iso-2022-jp", "tar.gz", "zip in tar.gz", "docx", "eml attachment", "mbox"]
        {
            assert!(
                lines.iter().any(|l| l.split("  ").nth(1).is_some_and(|f| f.trim() == format)),
                "{format} missing: {out}"
            );
        }
    }
    assert!(dir.join("backup.tar.gz").is_file());
}
