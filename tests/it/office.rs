//! Office documents end to end (issue 4 point 3): legacy `.doc`/`.xls` read stream by
//! stream from their OLE compound file, and xlsx cells holding a card number *as a number*
//! (Excel keeps 15 significant digits: a 16-digit PAN comes back ending in 0).

use pansweep::canary;

use crate::util::{TestDir, findings, luhn_valid, mask_digits, pan, s, scan_jsonl, strs};

fn no_leak(r: &crate::util::Run, number: &str) {
    assert!(!r.stdout().contains(number) && !r.stderr().contains(number), "full number in output");
}

#[test]
fn legacy_word_text_is_found_in_its_stream() {
    let t = TestDir::new();
    let number = pan("453201", 16, 401);
    let doc = canary::doc(&format!("Order 1001\rCard number {number} exp 12/29 CVV 123\r")).unwrap();
    t.write("letters/order.doc", &doc);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    assert_eq!(r.code, 1, "{}", r.show());
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./letters/order.doc!WordDocument");
    assert_eq!(s(f[0], "confidence"), "critical");
    assert_eq!(strs(f[0], "decoders"), ["ole", "utf-16le-strings"]);
    assert_eq!(s(f[0], "first6"), &number[..6]);
}

/// BIFF stores short strings as 8-bit characters: a `Workbook` stream scanned as bytes.
/// The stream is bigger than a sector and preceded by another one, so it is not simply
/// contiguous text in the file.
#[test]
fn legacy_excel_strings_are_found_in_the_workbook_stream() {
    let t = TestDir::new();
    let number = pan("535310", 16, 402);
    let mut book = vec![0x09, 0x08, 0x10, 0x00, 0x00, 0x06, 0x05, 0x00];
    book.resize(5000, 0);
    book.extend_from_slice(format!("\x00card_number\x00{number}\x00exp\x0012/29\x00").as_bytes());
    book.resize(9000, 0);
    let xls = canary::ole_of(&[("/\u{5}SummaryInformation", &[0u8; 4096]), ("/Workbook", &book)]).unwrap();
    t.write("orders.xls", &xls);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./orders.xls!Workbook");
    assert_eq!(strs(f[0], "decoders"), ["ole"]);
    assert_eq!(s(f[0], "encoding"), "binary");
    assert_eq!(s(f[0], "confidence"), "high");
}

/// A corrupt OLE file (a valid header whose sector table points past the end) is skipped
/// with a reason, its bytes are still scanned as they are (the text in it is found), and
/// random bytes after an OLE signature are simply binary data.
#[test]
fn corrupt_ole_file_is_skipped_and_scanned_as_bytes() {
    let t = TestDir::new();
    let number = pan("453201", 16, 403);
    let mut doc = canary::doc(&format!("Card number {number} exp 12/29\r")).unwrap();
    // The first FAT sector's number (header offset 76): far past the end of the file.
    doc[76..80].copy_from_slice(&0x00FF_FF00u32.to_le_bytes());
    t.write("broken.doc", &doc);
    let mut junk = pansweep::source::container::OLE_MAGIC.to_vec();
    junk.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    t.write("junk.xls", &junk);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    assert_eq!(r.code, 1, "{}", r.show());
    let sk = crate::util::of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), "./broken.doc");
    assert!(s(sk[0], "reason").starts_with("corrupt ole file"), "{}", r.show());
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./broken.doc");
    assert_eq!(strs(f[0], "decoders"), ["utf-16le-strings"]);
}

/// The number Excel keeps for a 16-digit PAN typed into a cell: 15 significant digits,
/// then 0. Picks a seed for which that fails the Luhn check, as it does 9 times in 10.
fn mangled(prefix: &str, seed: u64) -> (String, String) {
    (seed..seed + 20)
        .map(|k| pan(prefix, 16, k))
        .map(|p| {
            let m = format!("{}0", &p[..15]);
            (p, m)
        })
        .find(|(_, m)| !luhn_valid(m))
        .expect("a seed whose mangled number fails Luhn")
}

#[test]
fn xlsx_number_that_lost_its_last_digit_is_low_with_a_signal() {
    let t = TestDir::new();
    let (number, stored) = mangled("453201", 410);
    t.write("orders.xlsx", canary::xlsx(&[("A1", "card no"), ("B1", &stored)]).unwrap());
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    no_leak(&r, &stored);
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./orders.xlsx!xl/worksheets/sheet1.xml");
    assert_eq!(s(f[0], "class"), "pan");
    assert_eq!(s(f[0], "confidence"), "low");
    assert_eq!(s(f[0], "first6"), &number[..6]);
    assert_eq!(s(f[0], "last4"), &stored[12..]);
    let signals = strs(f[0], "signals");
    assert!(signals.contains(&"spreadsheet-precision-lost".to_owned()), "{signals:?}");
    assert!(signals.contains(&"brand:visa".to_owned()), "{signals:?}");
    assert!(f[0].get("fingerprint").is_none(), "not the card's number: no fingerprint");
}

#[test]
fn xlsx_numbers_in_e_notation_are_expanded() {
    let t = TestDir::new();
    // Written with every digit (by a library, not Excel): a full PAN in E notation.
    let number = pan("453201", 16, 420);
    let full = format!("{}.{}E+15", &number[..1], &number[1..]);
    // Written the way Excel keeps it: 15 significant digits.
    let (lost, stored) = mangled("535310", 430);
    let short = format!("{}.{}E+15", &stored[..1], &stored[1..15]);
    let book = canary::xlsx(&[("A1", &full), ("B1", &short), ("C1", "4.5E+15"), ("D1", "1.23456789012E+11")]).unwrap();
    t.write("book.xlsx", book);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    no_leak(&r, &lost);
    let f = findings(&recs);
    assert_eq!(f.len(), 2, "{}", mask_digits(&r.stdout()));
    let full_f = f.iter().find(|x| s(x, "first6") == &number[..6]).expect("the full number");
    assert_eq!(s(full_f, "last4"), &number[12..]);
    assert!(strs(full_f, "signals").contains(&"luhn".to_owned()));
    assert!(full_f.get("fingerprint").is_some());
    let lost_f = f.iter().find(|x| s(x, "first6") == &lost[..6]).expect("the mangled number");
    assert_eq!(s(lost_f, "confidence"), "low");
    assert!(strs(lost_f, "signals").contains(&"spreadsheet-precision-lost".to_owned()));
}

/// Spreadsheet numbers are only read in spreadsheets: a 16-digit number ending in 0 in
/// ordinary XML or text is no finding.
#[test]
fn numbers_outside_spreadsheets_are_not_reported() {
    let t = TestDir::new();
    let (_, stored) = mangled("453201", 440);
    t.write("data.xml", format!("<?xml version=\"1.0\"?><data><v>{stored}</v></data>\n"));
    t.write("notes.txt", format!("ref {stored}\n"));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(findings(&recs).is_empty(), "{}", mask_digits(&r.stdout()));
}

/// An ODF spreadsheet stores a float cell's value in `office:value`: the same rule.
#[test]
fn ods_float_cell_that_lost_its_last_digit_is_low() {
    let t = TestDir::new();
    let (number, stored) = mangled("535310", 450);
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content \
         xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\"><office:body><office:spreadsheet>\
         <table:table table:name=\"orders\"><table:table-row><table:table-cell office:value-type=\"float\" \
         office:value=\"{stored}\"><text:p>5.35310E+15</text:p></table:table-cell></table:table-row>\
         </table:table></office:spreadsheet></office:body></office:document-content>"
    );
    let ods = canary::zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", content.as_bytes()),
    ])
    .unwrap();
    t.write("orders.ods", ods);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    no_leak(&r, &stored);
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./orders.ods!content.xml");
    assert_eq!(s(f[0], "confidence"), "low");
    assert!(strs(f[0], "signals").contains(&"spreadsheet-precision-lost".to_owned()));
}
