//! SQLite database files met during a file scan (issue 4 point 6): tables are read
//! read-only, each hit is reported at its cell (`x.sqlite!main.orders.card_no`, with
//! `table` and `column`), in files on disk and in archives, and a file that only looks
//! like a database is skipped and still scanned as bytes. Databases are made at test
//! time with `pansweep::source::sqlite::build` (sqlx, in memory) and written to a
//! temporary directory.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use pansweep::canary;
use pansweep::source::sqlite;

use crate::util::{Run, TestDir, findings, mask_digits, of_type, pan, s, scan_jsonl, strs, summary};

fn orders_db(number: &str) -> Vec<u8> {
    sqlite::build(&format!(
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, name TEXT, card_no TEXT, exp TEXT, cvv TEXT);
         INSERT INTO orders VALUES (1, 'TARO YAMADA', 'n/a', '01/30', '000');
         INSERT INTO orders VALUES (2, 'HANAKO SATO', '{number}', '12/29', '123');"
    ))
    .unwrap()
}

fn no_leak(r: &Run, number: &str) {
    assert!(!r.stdout().contains(number) && !r.stderr().contains(number), "full number in output");
}

fn one<'a>(r: &Run, f: &[&'a serde_json::Value], path: &str) -> &'a serde_json::Value {
    let v: Vec<_> = f.iter().filter(|x| s(x, "path") == path).collect();
    assert_eq!(v.len(), 1, "{path}: {}", mask_digits(&r.stdout()));
    v[0]
}

#[test]
fn orders_table_is_critical_at_its_cell() {
    let t = TestDir::new();
    let number = pan("453201", 16, 601);
    t.write("x.sqlite", orders_db(&number));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    no_leak(&r, &number);
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    let x = one(&r, &f, "./x.sqlite!main.orders.card_no");
    assert_eq!(s(x, "table"), "main.orders");
    assert_eq!(s(x, "column"), "card_no");
    // The row's cvv column makes it sensitive authentication data (SPEC §3).
    assert_eq!(s(x, "confidence"), "critical", "{}", mask_digits(&r.stdout()));
    assert_eq!(strs(x, "elements"), ["pan", "expiry", "cvv"]);
    assert_eq!(strs(x, "decoders"), ["sqlite"]);
    assert_eq!(x["line"], 2, "the second row");
    assert_eq!(s(x, "first6"), &number[..6]);
    assert_eq!(s(x, "last4"), &number[12..]);
    assert!(strs(x, "signals").contains(&"column:card_no".to_string()), "{:?}", x["signals"]);
    let sum = summary(&recs);
    assert_eq!(sum["tables"], 1);
    assert_eq!(sum["rows"], 2);
    assert_eq!(sum["files"], 1);
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
}

#[test]
fn integers_blobs_odd_names_and_without_rowid_tables() {
    let t = TestDir::new();
    let as_int = pan("453202", 16, 602);
    let in_blob = pan("535310", 16, 603);
    let odd = pan("371449", 15, 604);
    let real = pan("401288", 16, 605);
    let blob_text = format!("captured card {in_blob} exp 12/29\n");
    let hex: String = blob_text.bytes().fold(String::new(), |mut h, b| {
        let _ = write!(h, "{b:02X}");
        h
    });
    let db = sqlite::build(&format!(
        "CREATE TABLE payments(id INTEGER PRIMARY KEY, card_number INTEGER, note TEXT);
         INSERT INTO payments VALUES (7, {as_int}, 'multi\nline\tvalue');
         CREATE TABLE dumps(id INTEGER, payload BLOB);
         INSERT INTO dumps VALUES (1, X'00FF00');
         INSERT INTO dumps VALUES (2, X'{hex}');
         CREATE TABLE \"we\"\"ird 2\"(\"card no\"\"x\" TEXT PRIMARY KEY, exp TEXT) WITHOUT ROWID;
         INSERT INTO \"we\"\"ird 2\" VALUES ('{odd}', '12/29');
         CREATE TABLE amounts(card_no REAL);
         INSERT INTO amounts VALUES ({real}.0);"
    ))
    .unwrap();
    t.write("app.db", db);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    for n in [&as_int, &in_blob, &odd, &real] {
        no_leak(&r, n);
    }
    let f = findings(&recs);
    let int = one(&r, &f, "./app.db!main.payments.card_number");
    assert_eq!(s(int, "column"), "card_number");
    assert_eq!(s(int, "first6"), &as_int[..6]);
    assert_eq!(s(int, "confidence"), "high");
    let blob = one(&r, &f, "./app.db!main.dumps.payload");
    assert_eq!(strs(blob, "decoders"), ["sqlite", "blob"]);
    assert_eq!(s(blob, "first6"), &in_blob[..6]);
    assert_eq!(blob["line"], 2);
    let weird = one(&r, &f, "./app.db!main.we\"ird 2.card no\"x");
    assert_eq!(s(weird, "table"), "main.we\"ird 2");
    assert_eq!(s(weird, "column"), "card no\"x");
    assert_eq!(s(weird, "first6"), &odd[..6]);
    // A PAN above 2^53 does not survive a REAL: only check that a whole REAL is digits.
    if real.parse::<u64>().unwrap() < (1u64 << 53) {
        one(&r, &f, "./app.db!main.amounts.card_no");
    }
    assert_eq!(summary(&recs)["tables"], 4);
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
}

#[test]
fn databases_in_archives_are_read_from_memory() {
    let t = TestDir::new();
    let number = pan("453201", 16, 606);
    let db = orders_db(&number);
    t.write("backup.tar.gz", canary::gzip(&canary::tar_of(&[("app.sqlite", &db)]).unwrap()).unwrap());
    t.write("export.zip", canary::zip_of(&[("data/app.sqlite", &db)]).unwrap());
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    no_leak(&r, &number);
    let f = findings(&recs);
    let tgz = one(&r, &f, "./backup.tar.gz!app.sqlite!main.orders.card_no");
    assert_eq!(strs(tgz, "decoders"), ["gzip", "tar", "sqlite"]);
    assert_eq!(s(tgz, "confidence"), "critical");
    assert_eq!(s(tgz, "table"), "main.orders");
    let zip = one(&r, &f, "./export.zip!data/app.sqlite!main.orders.card_no");
    assert_eq!(strs(zip, "decoders"), ["zip", "sqlite"]);
    assert_eq!(f.len(), 2, "{}", mask_digits(&r.stdout()));
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
}

#[test]
fn corrupt_database_is_skipped_and_scanned_as_bytes() {
    let t = TestDir::new();
    let number = pan("453201", 16, 608);
    let mut bytes = sqlite::MAGIC.to_vec();
    bytes.extend_from_slice(&[0xAB; 200]);
    bytes.extend_from_slice(format!("\ncard {number} exp 12/29\n").as_bytes());
    bytes.extend_from_slice(&[0xCD; 300]);
    t.write("broken.sqlite", &bytes);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    no_leak(&r, &number);
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), "./broken.sqlite");
    assert!(s(sk[0], "reason").starts_with("not a readable sqlite database: "), "{}", r.show());
    let f = findings(&recs);
    let raw = one(&r, &f, "./broken.sqlite");
    assert!(raw.get("table").is_none());
    assert_eq!(s(raw, "first6"), &number[..6]);
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    v.sort();
    v
}

#[test]
fn the_database_file_is_left_as_it_was() {
    let t = TestDir::new();
    let number = pan("453201", 16, 609);
    let mut db = orders_db(&number);
    // Claim WAL mode (header bytes 18, 19): an ordinary open would look for -wal/-shm.
    db[18] = 2;
    db[19] = 2;
    let p = t.write("shop/orders.sqlite", &db);
    let before = fs::metadata(&p).unwrap();
    let names = listing(&t.join("shop"));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    no_leak(&r, &number);
    one(&r, &findings(&recs), "./shop/orders.sqlite!main.orders.card_no");
    assert_eq!(listing(&t.join("shop")), names, "no -wal, -shm or journal file");
    let after = fs::metadata(&p).unwrap();
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
    assert_eq!(fs::read(&p).unwrap(), db);
}

#[test]
fn text_and_json_reports_name_the_cell() {
    let t = TestDir::new();
    let number = pan("453201", 16, 610);
    t.write("x.sqlite", orders_db(&number));
    let r = crate::util::scan_in(t.path(), &["--format", "text", "."]);
    no_leak(&r, &number);
    assert!(r.stdout().contains("x.sqlite!main.orders.card_no"), "{}", mask_digits(&r.stdout()));
    assert!(r.stdout().contains("main.orders: row 2, column card_no"), "{}", mask_digits(&r.stdout()));
    let r = crate::util::scan_in(t.path(), &["--format", "json", "."]);
    no_leak(&r, &number);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    let text = doc.to_string();
    assert!(
        text.contains("\"table\":\"main.orders\"") && text.contains("\"column\":\"card_no\""),
        "{}",
        mask_digits(&text)
    );
}

/// Table and column names are data: named after a card number, they are masked in every
/// field and every format (the path, `table`, `column`, the text report).
#[test]
fn names_holding_a_card_number_are_masked() {
    let t = TestDir::new();
    let number = pan("453201", 16, 620);
    let cell = pan("535310", 16, 621);
    let db = sqlite::build(&format!(
        "CREATE TABLE \"t_{number}\"(id INTEGER PRIMARY KEY, \"card_{number}\" TEXT);
         INSERT INTO \"t_{number}\" VALUES (1, '{cell}');"
    ))
    .unwrap();
    t.write("names.sqlite", db);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    no_leak(&r, &cell);
    let f = findings(&recs);
    assert!(!f.is_empty(), "{}", mask_digits(&r.stdout()));
    for x in &f {
        assert!(!s(x, "table").contains(&number[6..12]), "{}", mask_digits(&r.stdout()));
        assert!(!s(x, "column").contains(&number[6..12]), "{}", mask_digits(&r.stdout()));
    }
    let text = crate::util::scan_in(t.path(), &["--format", "text", "."]);
    no_leak(&text, &number);
    no_leak(&text, &cell);
}

/// A hostile database whose every row is slow to read (a generated column computing a
/// big value on `SELECT *`): the time limit is checked on every row (and inside a
/// statement by a progress handler), not once per hundreds of rows.
#[test]
fn slow_rows_are_stopped_at_the_time_limit() {
    let t = TestDir::new();
    let values = vec!["(4000000)"; 60].join(", ");
    let db = sqlite::build(&format!(
        "CREATE TABLE slow(a INTEGER, b TEXT GENERATED ALWAYS AS (length(replace(hex(zeroblob(a)), '00', '1'))) VIRTUAL);
         INSERT INTO slow(a) VALUES {values};"
    ))
    .unwrap();
    t.write("slow.sqlite", db);
    let (r, recs) = scan_jsonl(t.path(), &["--item-timeout", "1", "."]);
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert!(s(sk[0], "reason").starts_with("limit max-time"), "{}", r.show());
    assert!(summary(&recs)["rows"].as_u64().unwrap() < 60, "{}", r.show());
}
