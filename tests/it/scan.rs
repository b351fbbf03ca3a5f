//! `pansweep scan`: what is found, with which class, tier, signals and location, and the
//! options that shape a run (filters, output file, formats, walking rules).

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::util::{TestDir, findings, mask_digits, masked, pan, s, scan_in, scan_jsonl, strs, summary};

/// The one finding for `pan` in `records` (panics, masked, if there is not exactly one).
fn only_finding<'a>(records: &'a [Value], pan: &str) -> &'a Value {
    let m = masked(pan);
    let hits: Vec<&Value> = findings(records).into_iter().filter(|f| s(f, "masked") == m).collect();
    assert_eq!(hits.len(), 1, "expected exactly one finding for {m}, got {}", hits.len());
    hits[0]
}

/// Filler log line for big files: no run of digits that could become a candidate.
const FILLER: &[u8] = b"2024-10-22 11:11:30 GET /index.html?page=7 HTTP/1.1 200 agent=curl\n";

/// Appends filler lines, then spaces, so that `buf.len() == at`.
fn fill_to(buf: &mut Vec<u8>, at: usize) {
    assert!(buf.len() <= at, "placements must be increasing");
    while buf.len() + FILLER.len() <= at {
        buf.extend_from_slice(FILLER);
    }
    buf.resize(at, b' ');
}

/// Puts `prefix` + `pan` + `\n` so that the PAN starts at `pan_at`; returns (line, offset).
fn place(buf: &mut Vec<u8>, pan_at: usize, prefix: &str, pan: &str) -> (u64, u64) {
    fill_to(buf, pan_at - prefix.len());
    buf.extend_from_slice(prefix.as_bytes());
    let line = memchr::memchr_iter(b'\n', buf).count() as u64 + 1;
    assert_eq!(buf.len(), pan_at);
    buf.extend_from_slice(pan.as_bytes());
    buf.push(b'\n');
    (line, pan_at as u64)
}

#[test]
fn csv_header_columns_make_rows_critical() {
    let t = TestDir::new();
    let (a, b) = (pan("453201", 16, 1), pan("545454", 16, 2));
    let header = "card_no,expire,security_code\n";
    let row1 = format!("{a},12/27,123\n");
    t.write("orders.csv", format!("{header}{row1}{b},01/29,456\n"));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{r:?}");
    let fa = only_finding(&recs, &a);
    let fb = only_finding(&recs, &b);
    for (f, line, off) in [(fa, 2, header.len()), (fb, 3, header.len() + row1.len())] {
        assert_eq!(s(f, "class"), "pan");
        assert_eq!(s(f, "confidence"), "critical");
        assert_eq!(s(f, "path"), "./orders.csv");
        assert_eq!(f["line"], line);
        assert_eq!(f["byte_offset"], off);
        let signals = strs(f, "signals");
        assert!(signals.contains(&"column:card_no".to_string()), "{signals:?}");
        assert!(signals.contains(&"row:cvv".to_string()), "{signals:?}");
        assert!(signals.contains(&"row:expiry".to_string()), "{signals:?}");
        assert_eq!(strs(f, "elements"), ["pan", "expiry", "cvv"]);
    }
    assert_eq!(strs(fa, "brands"), ["visa"]);
    assert_eq!(strs(fb, "brands"), ["mastercard"]);
    let sum = summary(&recs);
    assert_eq!(sum["findings"]["critical"], 2);
    assert_eq!(sum["distinct_pans"], 2);
}

#[test]
fn log_line_with_keyword_is_high() {
    let t = TestDir::new();
    let p = pan("453201", 16, 3);
    t.write("app.log", format!("INFO request served\nINFO charge ok card number {p} amount 1200 JPY\nINFO done\n"));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{r:?}");
    let f = only_finding(&recs, &p);
    assert_eq!(s(f, "class"), "pan");
    assert_eq!(s(f, "confidence"), "high");
    assert_eq!(f["line"], 2);
    assert!(strs(f, "signals").contains(&"keyword:card number".to_string()), "{:?}", strs(f, "signals"));
    assert_eq!(strs(f, "elements"), ["pan"]);
    assert_eq!(findings(&recs).len(), 1);
}

#[test]
fn json_record_with_cvv_and_expiry_is_critical() {
    let t = TestDir::new();
    let p = pan("356600", 16, 4);
    t.write("order.json", format!(r#"{{"card_number":"{p}","cvv":"123","exp":"12/27"}}"#));
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    let f = only_finding(&recs, &p);
    assert_eq!(s(f, "confidence"), "critical");
    assert_eq!(f["byte_offset"], 16);
    assert_eq!(strs(f, "elements"), ["pan", "expiry", "cvv"]);
    assert!(strs(f, "brands").contains(&"jcb".to_string()));
}

#[test]
fn pan_with_expiry_and_cvv_is_critical() {
    let t = TestDir::new();
    let p = pan("520082", 16, 5);
    t.write("note.txt", format!("{p} exp 12/27 cvv 123\n"));
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    let f = only_finding(&recs, &p);
    assert_eq!(s(f, "confidence"), "critical");
    assert_eq!(strs(f, "elements"), ["pan", "expiry", "cvv"]);
    let signals = strs(f, "signals");
    for want in ["luhn", "brand:mastercard", "expiry", "cvv"] {
        assert!(signals.contains(&want.to_string()), "{want} missing from {signals:?}");
    }
}

#[test]
fn japanese_utf8_with_expiry_and_security_code_is_critical() {
    let t = TestDir::new();
    let p = pan("453201", 16, 6);
    let prefix = "カード番号：";
    t.write("注文.txt", format!("{prefix}{p} 有効期限：2027年12月 セキュリティコード：123\n"));
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    let f = only_finding(&recs, &p);
    assert_eq!(s(f, "confidence"), "critical");
    assert_eq!(s(f, "path"), "./注文.txt");
    assert_eq!(f["byte_offset"], prefix.len());
    assert_eq!(strs(f, "elements"), ["pan", "expiry", "cvv"]);
    let signals = strs(f, "signals");
    assert!(signals.contains(&"keyword:カード番号".to_string()), "{signals:?}");
    assert!(signals.contains(&"keyword:セキュリティコード".to_string()), "{signals:?}");
}

#[test]
fn public_test_pan_is_class_test_pan_and_does_not_fail_the_run() {
    let t = TestDir::new();
    t.write("fixtures.txt", "use 4111111111111111 in the sandbox\n");
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    let f = only_finding(&recs, "4111111111111111");
    assert_eq!(s(f, "class"), "test_pan");
    assert!(strs(f, "signals").contains(&"test-pan".to_string()));
    assert_eq!(summary(&recs)["findings"]["test_pan"], 1);
    assert_eq!(summary(&recs)["distinct_pans"], 0);
    // Test PANs are reported but are not cardholder data: no failure even at --fail-on low.
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(scan_in(t.path(), &["--format", "jsonl", "--fail-on", "low", "."]).code, 0);
}

#[test]
fn masked_pan_is_class_masked_pan() {
    let t = TestDir::new();
    t.write("receipt.txt", "paid with 411111******1111 thanks\n");
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    let fs = findings(&recs);
    assert_eq!(fs.len(), 1);
    let f = fs[0];
    assert_eq!(s(f, "class"), "masked_pan");
    assert_eq!(s(f, "confidence"), "low");
    assert_eq!(s(f, "masked"), "411111******1111");
    assert_eq!(f["byte_offset"], 10);
    assert!(f.get("fingerprint").is_none(), "a masked PAN has no fingerprint");
    assert_eq!(summary(&recs)["findings"]["masked_pan"], 1);
    assert_eq!(r.code, 0, "{r:?}");
}

/// A 13-digit number starting 49 whose GS1 (JAN/EAN-13) check digit AND Luhn check
/// digit are both valid: a Japanese barcode that looks like a legacy Visa PAN.
fn jan_code() -> String {
    for i in 0..1_000_000u64 {
        let body = format!("49{:010}", (i * 7919 + 12_345) % 10_000_000_000);
        let sum: u32 =
            body.bytes().enumerate().map(|(k, b)| u32::from(b - b'0') * if k % 2 == 0 { 1 } else { 3 }).sum();
        let gs1 = char::from(b'0' + ((10 - sum % 10) % 10) as u8);
        let code = format!("{body}{gs1}");
        if crate::util::luhn_valid(&code) {
            return code;
        }
    }
    unreachable!("about 1 in 10 GS1 codes is also Luhn-valid");
}

#[test]
fn jan_code_without_card_keyword_is_not_reported() {
    let t = TestDir::new();
    let jan = jan_code();
    t.write("items.csv", format!("sku,name,qty\n{jan},green tea 500ml,2\n"));
    t.write("label.txt", format!("barcode {jan} price 150 exp 12/27\n"));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(findings(&recs).len(), 0, "{r:?}");
    assert_eq!(r.code, 0);
    // With a card keyword it may be reported, but never above low.
    t.write("form.txt", format!("card number {jan}\n"));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    let fs = findings(&recs);
    assert_eq!(fs.len(), 1, "{r:?}");
    assert_eq!(s(fs[0], "path"), "./form.txt");
    assert_eq!(s(fs[0], "confidence"), "low", "{}", mask_digits(&fs[0].to_string()));
    assert!(strs(fs[0], "signals").contains(&"jan-code".to_string()));
    assert_eq!(r.code, 0, "low does not fail the run by default");
}

#[test]
fn pan_across_the_chunk_edge_is_found_once_with_its_location() {
    const CHUNK: usize = 1 << 20; // src/source/file.rs
    let t = TestDir::new();
    let pans: Vec<String> = (0..4).map(|i| pan("453201", 16, 100 + i)).collect();
    let mut buf = Vec::new();
    let mut want = Vec::new();
    // Straddling the first chunk edge, the edge plus the reader's overlap, and the second
    // chunk edge; the keyword is always before the edge.
    for (p, at) in pans.iter().zip([CHUNK - 8, CHUNK + 500 - 8, 2 * CHUNK - 3, 2 * CHUNK + 500 - 12]) {
        want.push(place(&mut buf, at, "card number: ", p));
    }
    let end = buf.len() + 5000;
    fill_to(&mut buf, end);
    t.write("edge.log", &buf);
    for threads in ["1", "2"] {
        let mut c = crate::util::pansweep();
        c.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", threads, "edge.log"]);
        let r = crate::util::run(&mut c);
        let recs = r.jsonl();
        assert_eq!(findings(&recs).len(), pans.len(), "-j {threads}: {r:?}");
        for (p, (line, off)) in pans.iter().zip(&want) {
            let f = only_finding(&recs, p);
            assert_eq!(f["line"], *line, "-j {threads}");
            assert_eq!(f["byte_offset"], *off, "-j {threads}");
            assert_eq!(s(f, "confidence"), "high", "-j {threads}");
        }
        assert_eq!(summary(&recs)["bytes"], buf.len());
    }
}

/// A CSV file with rows longer than the look-back kept at a 1 MiB chunk edge: every
/// row is read field by field, so every row's security code links to its card number,
/// the row across each edge too (the file path, as `db::rows_across_chunk_edges_link_on_sqlite`
/// is for tables).
#[test]
fn csv_rows_across_chunk_edges_link() {
    let t = TestDir::new();
    let number = pan("453201", 16, 9401);
    let notes = "n".repeat(3000);
    let rows: Vec<String> = (0..1000).map(|i| format!("{i},{notes},{number},123\n")).collect();
    let csv = format!("id,notes,card_number,security_code\n{}", rows.concat());
    t.write("orders.csv", &csv);
    for threads in ["1", "2"] {
        let mut c = crate::util::pansweep();
        c.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", threads, "orders.csv"]);
        let r = crate::util::run(&mut c);
        let recs = r.jsonl();
        let f = findings(&recs);
        assert_eq!(f.len(), 1000, "-j {threads}: exit {}", r.code);
        let not_critical = f.iter().filter(|f| s(f, "confidence") != "critical").count();
        assert_eq!(not_critical, 0, "-j {threads}: rows whose security code did not link");
    }
}

#[test]
fn file_over_the_split_threshold_is_scanned_in_pieces_without_loss_or_duplicates() {
    const MIB: usize = 1 << 20;
    const PIECE: usize = 16 * MIB; // src/pipeline.rs ScanJob::new
    let t = TestDir::new();
    let spots = [
        1000,
        PIECE - 8,
        PIECE + 40,
        2 * PIECE - 400,
        2 * PIECE - 1,
        3 * PIECE - 10,
        4 * PIECE - 6,
        4 * PIECE + 700,
        70 * MIB - 200,
    ];
    let pans: Vec<String> = (0..spots.len() as u64).map(|i| pan("552433", 16, 200 + i)).collect();
    let mut buf = Vec::with_capacity(70 * MIB + 1000);
    let mut want = Vec::new();
    for (p, at) in pans.iter().zip(spots) {
        want.push(place(&mut buf, at, "card no ", p));
    }
    fill_to(&mut buf, 70 * MIB + 100);
    assert!(buf.len() > 64 * MIB, "must exceed the 64 MiB split threshold");
    t.write("huge.log", &buf);
    drop(buf);

    let mut results = Vec::new();
    for threads in ["2", "1"] {
        let mut c = crate::util::pansweep();
        c.current_dir(t.path()).args(["scan", "--format", "jsonl", "-j", threads, "huge.log"]);
        let r = crate::util::run(&mut c);
        assert_eq!(r.code, 1, "-j {threads}: {r:?}");
        let recs = r.jsonl();
        assert_eq!(findings(&recs).len(), pans.len(), "-j {threads}: {r:?}");
        for (p, (line, off)) in pans.iter().zip(&want) {
            let f = only_finding(&recs, p);
            assert_eq!((&f["line"], &f["byte_offset"]), (&Value::from(*line), &Value::from(*off)), "-j {threads}");
        }
        let sum = summary(&recs);
        assert_eq!(sum["files"], 1);
        assert_eq!(sum["bytes"], 70 * MIB + 100);
        let mut located: Vec<(String, u64, u64, String)> = findings(&recs)
            .iter()
            .map(|f| {
                (
                    s(f, "masked").into(),
                    f["line"].as_u64().unwrap(),
                    f["byte_offset"].as_u64().unwrap(),
                    s(f, "confidence").into(),
                )
            })
            .collect();
        located.sort();
        results.push(located);
    }
    assert_eq!(results[0], results[1], "-j 2 and -j 1 must agree");
}

/// One critical, one high, one medium and one test PAN.
fn tiered_tree() -> (TestDir, [String; 3]) {
    let t = TestDir::new();
    let p = [pan("453201", 16, 11), pan("453201", 16, 12), pan("453201", 16, 13)];
    t.write("critical.txt", format!("{} cvv 123\n", p[0]));
    t.write("high.txt", format!("card number {}\n", p[1]));
    t.write("medium.txt", format!("ref {}\n", p[2]));
    t.write("test.txt", "4242424242424242\n");
    (t, p)
}

#[test]
fn min_confidence_filters_findings_and_counts() {
    let (t, p) = tiered_tree();
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(findings(&recs).len(), 4);
    let (_, recs) = scan_jsonl(t.path(), &["--min-confidence", "high", "."]);
    let mut got: Vec<String> = findings(&recs).iter().map(|f| s(f, "confidence").to_string()).collect();
    got.sort();
    assert_eq!(got, ["critical", "high"]);
    only_finding(&recs, &p[0]);
    only_finding(&recs, &p[1]);
    let c = &summary(&recs)["findings"];
    assert_eq!(
        (&c["critical"], &c["high"], &c["medium"], &c["test_pan"]),
        (&Value::from(1), &Value::from(1), &Value::from(0), &Value::from(0))
    );
    let (_, recs) = scan_jsonl(t.path(), &["--min-confidence", "critical", "."]);
    assert_eq!(findings(&recs).len(), 1);
    only_finding(&recs, &p[0]);
}

#[test]
fn fail_on_sets_the_exit_code() {
    let (t, _) = tiered_tree();
    let code = |args: &[&str]| scan_in(t.path(), &[&["--format", "jsonl"], args, &["."]].concat()).code;
    assert_eq!(code(&[]), 1, "default --fail-on medium");
    assert_eq!(code(&["--fail-on", "critical"]), 1);
    assert_eq!(code(&["--fail-on", "critical", "--exclude", "critical.txt"]), 0);
    assert_eq!(code(&["--fail-on", "high", "--exclude", "critical.txt"]), 1);
    assert_eq!(code(&["--fail-on", "high", "--exclude", "critical.txt", "--exclude", "high.txt"]), 0);
    assert_eq!(code(&["--fail-on", "medium", "--exclude", "critical.txt", "--exclude", "high.txt"]), 1);
    // Findings filtered out by --min-confidence do not fail the run.
    assert_eq!(code(&["--min-confidence", "critical", "--fail-on", "medium", "--exclude", "critical.txt"]), 0);
}

#[test]
fn output_file_is_created_0600_and_existing_file_is_tightened() {
    let t = TestDir::new();
    let out = TestDir::new();
    t.write("a.txt", format!("card number {}\n", pan("453201", 16, 21)));
    let report = out.join("report.jsonl");
    let r = scan_in(t.path(), &["--format", "jsonl", "-o", report.to_str().unwrap(), "."]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout_bytes.is_empty(), "nothing on stdout with -o");
    let mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "new report file mode {mode:o}");
    let recs = crate::util::parse_jsonl(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(findings(&recs).len(), 1);

    let old = out.write("old.txt", "x".repeat(100_000));
    assert_eq!(std::fs::metadata(&old).unwrap().permissions().mode() & 0o777, 0o644);
    let r = scan_in(t.path(), &["--format", "jsonl", "-o", old.to_str().unwrap(), "."]);
    assert_eq!(r.code, 1, "{r:?}");
    let mode = std::fs::metadata(&old).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "existing report file mode {mode:o}");
    let text = std::fs::read_to_string(&old).unwrap();
    assert!(!text.contains("xxxx"), "the old content is truncated");
    assert_eq!(findings(&crate::util::parse_jsonl(&text).unwrap()).len(), 1);
}

/// `-o /dev/null` or `-o FIFO`: written to, never chmod-ed (an earlier build made
/// `/dev/null` 0600, which broke every other program on the host). Tested on a FIFO in a
/// temp dir, never on the real `/dev/null`.
#[test]
fn output_to_a_fifo_is_written_without_changing_its_mode() {
    let t = TestDir::new();
    let out = TestDir::new();
    t.write("a.txt", format!("card number {}\n", pan("453201", 16, 22)));
    let fifo = out.join("report.fifo");
    assert!(std::process::Command::new("mkfifo").arg("-m").arg("0644").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let r = scan_in(t.path(), &["--format", "jsonl", "-o", fifo.to_str().unwrap(), "."]);
    let text = reader.join().unwrap();
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(findings(&crate::util::parse_jsonl(&text).unwrap()).len(), 1);
    let mode = std::fs::metadata(&fifo).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "FIFO mode changed to {mode:o}");
}

#[test]
fn report_file_inside_the_scanned_tree_is_not_scanned() {
    let t = TestDir::new();
    t.write("a.txt", "card 4111111111111111\n");
    t.write("b.txt", "masked 411111******1111\n");
    for format in ["jsonl", "json", "text"] {
        let name = format!("report.{format}");
        // Twice: the second run would see the first run's report, which holds masked PANs.
        for _ in 0..2 {
            let r = scan_in(t.path(), &["--format", format, "--color", "never", "-o", &name, "."]);
            assert_eq!(r.code, 0, "{format}: {r:?}");
        }
        let report = std::fs::read_to_string(t.join(&name)).unwrap();
        assert!(report.contains("411111******1111"), "{format}: the report holds masked PANs");
        match format {
            "jsonl" => {
                let recs = crate::util::parse_jsonl(&report).unwrap();
                assert_eq!(summary(&recs)["files"], 2, "{format}");
                let paths: Vec<&str> = findings(&recs).iter().map(|f| s(f, "path")).collect();
                assert_eq!(paths.len(), 2, "{format}: {paths:?}");
                assert!(paths.iter().all(|p| *p == "./a.txt" || *p == "./b.txt"), "{format}: {paths:?}");
            }
            "json" => {
                let doc: Value = serde_json::from_str(&report).unwrap();
                assert_eq!(doc["summary"]["files"], 2, "{format}");
                assert_eq!(doc["findings"].as_array().unwrap().len(), 2, "{format}");
            }
            _ => {
                assert!(report.contains("scanned 2 files"), "{format}: {}", mask_digits(&report));
                assert!(!report.contains("report."), "{format}: {}", mask_digits(&report));
            }
        }
        std::fs::remove_file(t.join(&name)).unwrap();
    }
}

#[test]
fn json_format_is_one_document() {
    let (t, p) = tiered_tree();
    t.write("sub/masked.txt", "xxxx-xxxx-xxxx-4444\n");
    t.write("big.bin", vec![b'z'; 2000]);
    let r = scan_in(t.path(), &["--format", "json", "--max-filesize", "1K", "."]);
    let doc: Value =
        serde_json::from_slice(&r.stdout_bytes).unwrap_or_else(|e| panic!("not one JSON document: {e}\n{r:?}"));
    let obj = doc.as_object().expect("an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["coverage", "findings", "locations", "run", "skipped", "summary"]);
    assert_eq!(doc["run"]["tool"], "pansweep");
    // The skipped file was over a limit: coverage is not full, and says why.
    assert_eq!(doc["coverage"]["skipped"]["limit"], 1);
    assert_eq!(doc["coverage"]["full"], false);
    assert_eq!(doc["coverage"]["complete"], true);
    assert_eq!(doc["run"]["version"], env!("CARGO_PKG_VERSION"));
    let skipped = doc["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{}", mask_digits(&doc.to_string()));
    assert_eq!(skipped[0]["path"], "./big.bin");
    assert!(s(&skipped[0], "reason").contains("max-filesize"), "{}", skipped[0]);
    let fs = doc["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 5, "critical, high, medium, test PAN, masked PAN");
    assert!(fs.iter().all(|f| f["type"] == "finding"));
    assert!(fs.iter().any(|f| s(f, "masked") == masked(&p[1]) && s(f, "confidence") == "high"));
    let sum = &doc["summary"];
    assert_eq!(sum["files"], 5);
    assert_eq!(sum["skipped"], 1);
    assert_eq!(sum["findings"]["critical"], 1);
    assert_eq!(sum["findings"]["masked_pan"], 1);
    assert_eq!(sum["complete"], true);
    assert_eq!(r.code, 1);
    // One location per file, most urgent first, in the 12.5.2 shape.
    let locs = doc["locations"].as_array().unwrap();
    let stores: Vec<&str> = locs.iter().map(|l| s(l, "store")).collect();
    assert_eq!(stores, ["./critical.txt", "./high.txt", "./medium.txt", "./test.txt", "./sub/masked.txt"]);
    let crit = &locs[0];
    assert_eq!(crit["kind"], "file");
    assert_eq!(crit["elements"], serde_json::json!(["pan", "cvv"]));
    assert_eq!(
        (s(crit, "protection"), s(crit, "highest"), s(crit, "action")),
        ("cleartext", "critical", "delete_securely")
    );
    assert_eq!((&crit["distinct_cards"], &crit["findings"]["critical"]), (&Value::from(1), &Value::from(1)));
    assert_eq!(crit["examples"][0].as_str(), Some(format!("line 1 · {}", masked(&p[0])).as_str()));
    assert_eq!((s(&locs[3], "protection"), s(&locs[3], "action")), ("test", "none"));
    assert_eq!((s(&locs[4], "protection"), &locs[4]["highest"]), ("masked", &Value::Null));
    assert_eq!(locs[3]["distinct_cards"], 0, "test numbers are not counted as cards");
}

#[test]
fn context_is_masked() {
    let t = TestDir::new();
    let p = pan("453201", 16, 31);
    t.write("x.txt", format!("order 98765 tel 0312345678 card number {p} exp 12/27 cvv 123 zip 1500001\n"));
    let (_, recs) = scan_jsonl(t.path(), &["--context", "."]);
    let f = only_finding(&recs, &p);
    let ctx = s(f, "context");
    assert!(ctx.contains(&masked(&p)), "context shows first6/last4: {}", mask_digits(ctx));
    let digits = ctx.chars().filter(char::is_ascii_digit).count();
    assert_eq!(digits, 10, "only the 6 + 4 visible digits remain: {}", mask_digits(ctx));
    assert!(ctx.contains("exp **/** cvv ***"), "{}", mask_digits(ctx));
    assert!(ctx.contains("card number"), "{}", mask_digits(ctx));
    // Without --context there is no context field.
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    assert!(only_finding(&recs, &p).get("context").is_none());
    // Text format shows it on its own line.
    let r = scan_in(t.path(), &["--format", "text", "--color", "never", "--context", "."]);
    let line = r.stdout().lines().find(|l| l.starts_with("    | ")).map(str::to_string).expect("a context line");
    assert_eq!(line.chars().filter(char::is_ascii_digit).count(), 10, "{}", mask_digits(&line));
}

#[test]
fn exclude_glob_leaves_files_out() {
    let t = TestDir::new();
    t.write("a.log", format!("card number {}\n", pan("453201", 16, 41)));
    t.write("logs/b.log", format!("card number {}\n", pan("453201", 16, 42)));
    t.write("c.txt", format!("card number {}\n", pan("453201", 16, 43)));
    let (_, recs) = scan_jsonl(t.path(), &["--exclude", "*.log", "."]);
    let paths: Vec<&str> = findings(&recs).iter().map(|f| s(f, "path")).collect();
    assert_eq!(paths, ["./c.txt"]);
    assert_eq!(summary(&recs)["files"], 1);
    let (_, recs) = scan_jsonl(t.path(), &["--exclude", "logs", "--exclude", "c.txt", "."]);
    let paths: Vec<&str> = findings(&recs).iter().map(|f| s(f, "path")).collect();
    assert_eq!(paths, ["./a.log"]);
}

#[test]
fn hidden_files_are_scanned() {
    let t = TestDir::new();
    let p = pan("453201", 16, 51);
    t.write(".config/.secrets", format!("card number {p}\n"));
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(s(only_finding(&recs, &p), "path"), "./.config/.secrets");
}

#[test]
fn gitignored_files_are_scanned_unless_respect_ignore() {
    let t = TestDir::new();
    let (a, b) = (pan("453201", 16, 61), pan("453201", 16, 62));
    t.mkdir(".git");
    t.write(".gitignore", "dump.sql\n");
    t.write(".ignore", "cache/\n");
    t.write("dump.sql", format!("INSERT INTO cards VALUES ('card number {a}');\n"));
    t.write("cache/x.txt", format!("card number {b}\n"));
    let (_, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(s(only_finding(&recs, &a), "path"), "./dump.sql");
    assert_eq!(s(only_finding(&recs, &b), "path"), "./cache/x.txt");
    let (r, recs) = scan_jsonl(t.path(), &["--respect-ignore", "."]);
    assert_eq!(findings(&recs).len(), 0, "{r:?}");
    assert_eq!(r.code, 0);
}
