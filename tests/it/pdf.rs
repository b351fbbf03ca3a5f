//! PDF end to end (issue 4 point 5): card data in compressed content streams is found at
//! `file.pdf!page-N` with the decoder `pdf` (also inside zips and mail, through TJ
//! kerning and through CID fonts with a `ToUnicode` map); damaged, encrypted and oversized
//! documents become `skipped` records and their raw bytes are still scanned. Every PDF is
//! generated here; the numbers are generated at test time and never printed.

use std::time::{Duration, Instant};

use pansweep::canary::{base64, pdf_of, pdf_pages, pdf_stream, zip_of};

use crate::util::{Run, TestDir, findings, grouped, mask_digits, of_type, pan, s, scan_jsonl, strs};

fn page(text: &str) -> Vec<u8> {
    format!("BT /F1 11 Tf 72 720 Td ({text}) Tj ET").into_bytes()
}

fn no_leak(r: &Run, number: &str) {
    assert!(!r.stdout().contains(number) && !r.stderr().contains(number), "full number in output");
}

fn at<'a>(r: &Run, recs: &'a [serde_json::Value], path: &str) -> &'a serde_json::Value {
    let f = findings(recs);
    let v: Vec<_> = f.into_iter().filter(|x| s(x, "path") == path).collect();
    assert_eq!(v.len(), 1, "{path}: {}", mask_digits(&r.show()));
    v[0]
}

#[test]
fn card_data_in_a_compressed_page_is_critical_at_its_page() {
    let t = TestDir::new();
    let number = pan("453201", 16, 501);
    let p1 = page(&format!("Card number: {} Exp: 12/29 CVV: 123", grouped(&number, " ")));
    t.write("x.pdf", pdf_pages(&[b"BT /F1 11 Tf 72 720 Td (Order 1001) Tj ET", &p1]).unwrap());
    // The raw bytes show nothing: the stream is compressed.
    assert!(!std::fs::read(t.join("x.pdf")).unwrap().windows(4).any(|w| w == &number.as_bytes()[..4]));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    assert_eq!(r.code, 1, "{}", mask_digits(&r.show()));
    let f = at(&r, &recs, "./x.pdf!page-2");
    assert_eq!(s(f, "confidence"), "critical");
    assert_eq!(strs(f, "decoders"), ["pdf"]);
    assert_eq!(s(f, "first6"), &number[..6]);
    assert_eq!(s(f, "last4"), &number[12..]);
    let elements = strs(f, "elements");
    assert!(elements.contains(&"expiry".to_owned()) && elements.contains(&"cvv".to_owned()), "{elements:?}");
    assert_eq!(findings(&recs).len(), 1, "{}", mask_digits(&r.stdout()));
    assert!(of_type(&recs, "skipped").is_empty(), "{}", mask_digits(&r.show()));
}

#[test]
fn a_number_split_by_tj_kerning_is_found_whole() {
    let t = TestDir::new();
    let number = pan("542523", 16, 502);
    let other = pan("453201", 16, 507);
    // Small kerning inside a group joins; large gaps between groups are spaces.
    let content = format!(
        "BT /F1 10 Tf 72 700 Td (Card number:) Tj 90 0 Td [({} {})-12({} {})] TJ 0 -20 Td \
         (Card number:) Tj 90 0 Td [({})-300({})-300({})-300({})] TJ ET",
        &number[..4],
        &number[4..6],
        &number[6..8],
        grouped(&number[8..], " "),
        &other[..4],
        &other[4..8],
        &other[8..12],
        &other[12..]
    );
    t.write("k.pdf", pdf_pages(&[content.as_bytes()]).unwrap());
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    no_leak(&r, &other);
    let f = findings(&recs);
    assert_eq!(f.len(), 2, "{}", mask_digits(&r.show()));
    for (x, n) in f.iter().zip([&number, &other]) {
        assert_eq!(s(x, "path"), "./k.pdf!page-1");
        assert_eq!(s(x, "last4"), &n[12..]);
        assert_eq!(s(x, "confidence"), "high");
    }
}

/// The Japanese case: a CID font (Identity-H) whose glyph ids map to full-width digits and
/// kana through a `ToUnicode` `CMap`; the scanner folds the full-width digits.
#[test]
fn a_cid_font_with_a_to_unicode_map_japanese() {
    let t = TestDir::new();
    let number = pan("353011", 16, 503);
    // Glyph ids: digits 0x0011.., カ ー ド 番 号 ： 0x0101..0x0106.
    let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
        1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
        1 beginbfrange <0011> <001a> <FF10> endbfrange\n\
        6 beginbfchar <0101> <30AB> <0102> <30FC> <0103> <30C9> <0104> <756A> <0105> <53F7> <0106> <FF1A> endbfchar\n\
        endcmap CMapName currentdict /CMap defineresource pop end end";
    let glyphs: Vec<String> = number.bytes().map(|d| format!("{:04X}", 0x11 + u32::from(d - b'0'))).collect();
    let glyphs = glyphs.concat();
    let content = format!("BT /F2 10.5 Tf 1 0 0 1 50 800 Tm <010101020103010401050106{glyphs}> Tj ET");
    let doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F2 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        pdf_stream("", content.as_bytes(), true).unwrap(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /MS-Gothic /Encoding /Identity-H /ToUnicode 6 0 R >>".to_vec(),
        pdf_stream("", cmap.as_bytes(), true).unwrap(),
    ]);
    t.write("注文.pdf", doc);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    let f = at(&r, &recs, "./注文.pdf!page-1");
    assert!(strs(f, "decoders").contains(&"pdf".to_owned()), "{:?}", strs(f, "decoders"));
    assert_eq!(s(f, "confidence"), "high");
    assert!(strs(f, "signals").iter().any(|x| x.starts_with("keyword:")), "{:?}", strs(f, "signals"));
}

#[test]
fn pdfs_inside_a_zip_and_attached_to_a_mail() {
    let t = TestDir::new();
    let number = pan("453201", 16, 504);
    let doc = pdf_pages(&[&page(&format!("card {number} exp 12/29"))]).unwrap();
    t.write("reports.zip", zip_of(&[("2024/order.pdf", &doc)]).unwrap());
    let mail = format!(
        "From: shop@example.com\r\nTo: ops@example.com\r\nSubject: order\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"order.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        base64(&doc)
    );
    t.write("order.eml", mail);
    // Junk before the header is allowed.
    t.write("junk.bin", [b"\x00\x01junk\n".as_slice(), &doc].concat());
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    let z = at(&r, &recs, "./reports.zip!2024/order.pdf!page-1");
    assert_eq!(strs(z, "decoders"), ["zip", "pdf"]);
    let m = at(&r, &recs, "./order.eml!order.pdf!page-1");
    assert!(strs(m, "decoders").ends_with(&["pdf".to_owned()]), "{:?}", strs(m, "decoders"));
    at(&r, &recs, "./junk.bin!page-1");
    assert!(of_type(&recs, "skipped").is_empty(), "{}", mask_digits(&r.show()));
}

/// Damaged documents: each ends (quickly) in findings or a skip record, never a crash or a
/// hang, and what the raw bytes show is still found.
#[test]
fn malformed_pdfs_are_skipped_and_their_raw_bytes_scanned() {
    let t = TestDir::new();
    let number = pan("453201", 16, 505);
    let compressed = pdf_pages(&[&page(&format!("card {number} exp 12/29"))]).unwrap();
    // Truncated: the page read before the cut is found, the document is reported.
    t.write("truncated.pdf", &compressed[..compressed.len() - 30]);
    // Garbage xref offsets and a huge /Length: read anyway.
    let garbage = replace(&replace(&compressed, b"0000000", b"9999999"), b"/Length ", b"/Length 999999999999");
    t.write("garbage-xref.pdf", garbage);
    // A page tree that only refers to itself, with the number visible in the raw bytes.
    let cyclic = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>".to_vec(),
        format!("<< /Title (card {number} exp 12/29) >>").into_bytes(),
    ]);
    t.write("cyclic.pdf", cyclic);
    // A decompression bomb in a content stream.
    t.write("bomb.pdf", pdf_pages(&[&vec![b' '; 64 << 20]]).unwrap());
    // Encrypted, with the number in a plain comment.
    let enc = replace(&compressed, b"/Root 1 0 R", b"/Root 1 0 R /Encrypt << /Filter /Standard /V 2 >>");
    t.write("encrypted.pdf", [enc, format!("% card {number} exp 12/29\n").into_bytes()].concat());
    // Garbage after the header; deep nesting.
    t.write("noise.pdf", [b"%PDF-1.4\n".as_slice(), &[0xA5; 4096]].concat());
    t.write("deep.pdf", [b"%PDF-1.4\n1 0 obj\n".as_slice(), &vec![b'['; 1 << 20], b"\nendobj\n%%EOF\n"].concat());
    // Unterminated trailers, each holding the next: parsed once, not once per keyword.
    t.write("trailers.pdf", [b"%PDF-1.4\n".as_slice(), &b"trailer<</K(".repeat(200_000), b"\n%%EOF\n"].concat());
    // An object stream whose 5,000 entries all point at one 1 MiB unterminated string.
    let header = (10..5010).map(|i| i.to_string()).collect::<Vec<_>>().join(" 0 ") + " 0 ";
    let body = [header.as_bytes(), b"(", &vec![b'A'; 1 << 20]].concat();
    let objstm = pdf_stream(&format!("/Type /ObjStm /N 5000 /First {}", header.len()), &body, true).unwrap();
    t.write("objstm.pdf", pdf_of(&[b"<< /Type /Catalog /Pages 3 0 R >>".to_vec(), objstm]));
    let start = Instant::now();
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(start.elapsed() < Duration::from_mins(2), "took {:?}", start.elapsed());
    no_leak(&r, &number);
    assert_eq!(r.code, 1, "{}", mask_digits(&r.show()));
    let skip = |path: &str| {
        let v: Vec<_> = of_type(&recs, "skipped").into_iter().filter(|x| s(x, "path") == path).collect();
        assert_eq!(v.len(), 1, "{path}: {}", mask_digits(&r.show()));
        s(v[0], "reason").to_owned()
    };
    at(&r, &recs, "./truncated.pdf!page-1");
    assert_eq!(skip("./truncated.pdf"), "malformed pdf: truncated (no %%EOF marker at the end)");
    // Its pages were read: its raw bytes are not scanned too (no second finding).
    assert!(findings(&recs).iter().all(|x| s(x, "path") != "./truncated.pdf"), "{}", mask_digits(&r.show()));
    at(&r, &recs, "./garbage-xref.pdf!page-1");
    assert_eq!(skip("./cyclic.pdf"), "malformed pdf: no pages found");
    at(&r, &recs, "./cyclic.pdf");
    assert!(skip("./bomb.pdf").starts_with("limit max-"), "{}", mask_digits(&r.show()));
    assert_eq!(skip("./encrypted.pdf"), "encrypted pdf");
    let e = at(&r, &recs, "./encrypted.pdf");
    assert!(strs(e, "decoders").is_empty());
    assert_eq!(skip("./noise.pdf"), "malformed pdf: no objects found");
    // Six documents skipped, plus the truncated one, plus the two without pages.
    assert!(!skip("./trailers.pdf").is_empty());
    assert!(!skip("./objstm.pdf").is_empty());
    assert_eq!(crate::util::summary(&recs)["skipped"], 8, "{}", mask_digits(&r.show()));
}

/// A PDF over the in-memory limit is skipped by name and scanned as plain bytes.
#[test]
fn an_oversized_pdf_is_scanned_raw() {
    let t = TestDir::new();
    let number = pan("453201", 16, 506);
    let big =
        [b"%PDF-1.4\n% card ".as_slice(), number.as_bytes(), b" exp 12/29\n", &vec![b'x'; 65 << 20], b"\n%%EOF\n"]
            .concat();
    t.write("big.pdf", big);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    no_leak(&r, &number);
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", mask_digits(&r.show()));
    assert!(s(sk[0], "reason").starts_with("limit max-buffer-bytes: pdf larger than"), "{}", r.show());
    assert_eq!(s(sk[0], "kind"), "limit");
    at(&r, &recs, "./big.pdf");
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}
