//! Unit tests of the PDF stage on documents generated here (no card numbers: the engine is
//! not involved; the text that comes out is compared).

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::*;
use crate::canary::{pdf_of, pdf_pages, pdf_stream};

#[derive(Default)]
struct Seen {
    parts: Vec<(String, String, bool)>,
    skips: Vec<(String, String, SkipKind)>,
}

fn run_with(data: &[u8], limits: &Limits) -> (Seen, Result<(), PdfError>) {
    let mut seen = Seen::default();
    let cancel = AtomicBool::new(false);
    let mut parts = Vec::new();
    let mut skips = Vec::new();
    let r = walk(
        data,
        limits,
        &cancel,
        &mut |p| parts.push((p.label, String::from_utf8_lossy(&p.body).into_owned(), p.embedded)),
        &mut |l, r, k| skips.push((l, r, k)),
    );
    seen.parts = parts;
    seen.skips = skips;
    (seen, r)
}

fn run(data: &[u8]) -> (Seen, Result<(), PdfError>) {
    run_with(data, &Limits::default())
}

/// `data` with the first `max` occurrences of `from` replaced by `to`.
fn replace(data: &[u8], from: &[u8], to: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    for _ in 0..max {
        let Some(i) = memmem::find(rest, from) else { break };
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn page(seen: &Seen, label: &str) -> String {
    seen.parts.iter().find(|p| p.0 == label).map_or_else(|| panic!("no {label}"), |p| p.1.clone())
}

#[test]
fn sniffs_the_header_at_the_start_or_after_junk() {
    assert!(sniff(b"%PDF-1.4\n"));
    assert!(sniff(b"junk junk\r\n%PDF-1.7\n1 0 obj"));
    assert!(!sniff(b"a text that mentions %PDF-1.4 in passing"));
    assert!(!sniff(b"plain text\n"));
    let late = [vec![b'x'; 1100], b"\n%PDF-1.4\n".to_vec()].concat();
    assert!(!sniff(&late));
}

#[test]
fn page_text_in_order_with_lines() {
    let doc = pdf_pages(&[
        b"BT /F1 12 Tf 72 720 Td (Order 17) Tj 0 -14 Td (Total: 5 EUR) Tj ET",
        b"BT /F1 12 Tf 1 0 0 1 72 700 Tm (second) Tj 1 0 0 1 200 700 Tm (page) Tj 14 TL (x) ' ET",
    ])
    .unwrap();
    let (seen, r) = run(&doc);
    assert_eq!(r, Ok(()));
    assert_eq!(page(&seen, "page-1"), "Order 17\nTotal: 5 EUR");
    assert_eq!(page(&seen, "page-2"), "second page\nx");
    assert!(seen.skips.is_empty());
}

#[test]
fn tj_kerning_joins_and_wide_gaps_are_spaces() {
    let doc = pdf_pages(&[b"BT /F1 10 Tf 72 720 Td [(12)-12(34)-8(56)-400(ab)] TJ ET"]).unwrap();
    let (seen, _) = run(&doc);
    assert_eq!(page(&seen, "page-1"), "123456 ab");
}

#[test]
fn cid_font_with_to_unicode_cmap() {
    // Glyph ids 0x0011..0x001a are the digits (full width), 0x0030 a space, 0x0101 'カ'.
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
        1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
        1 beginbfrange <0011> <001a> <FF10> endbfrange\n\
        2 beginbfchar <0030> <0020> <0101> <30AB> endbfchar\n\
        endcmap CMapName currentdict /CMap defineresource pop end end";
    let content = b"BT /F2 10.5 Tf 1 0 0 1 50 800 Tm <0101003000120013> Tj [<0014>-20<0015>] TJ ET";
    let doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F2 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        pdf_stream("", content, true).unwrap(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /MS-Gothic /Encoding /Identity-H /ToUnicode 6 0 R >>".to_vec(),
        pdf_stream("", cmap, true).unwrap(),
    ]);
    let (seen, r) = run(&doc);
    assert_eq!(r, Ok(()));
    assert_eq!(page(&seen, "page-1"), "カ １２３４");
}

#[test]
fn differences_and_predefined_ucs2() {
    let doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Resources << /Font << /A 5 0 R /B 6 0 R >> >> /Contents 4 0 R >>".to_vec(),
        pdf_stream("", b"BT /A 9 Tf 10 10 Td <0102> Tj /B 9 Tf <FF11FF12> Tj ET", true).unwrap(),
        b"<< /Type /Font /Subtype /Type1 /Encoding << /Differences [1 /seven /uni0038] >> >>".to_vec(),
        b"<< /Type /Font /Subtype /Type0 /Encoding /UniJIS-UCS2-H >>".to_vec(),
    ]);
    let (seen, _) = run(&doc);
    assert_eq!(page(&seen, "page-1"), "78１２");
}

#[test]
fn info_form_and_embedded_files() {
    let doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> /Names << /EmbeddedFiles << /Names [(a.csv) 5 0 R] >> >> >>".to_vec(),
        b"<< /Type /Pages /Kids [7 0 R] /Count 1 >>".to_vec(),
        b"<< /Title (Orders) /Author <FEFF30AB> >>".to_vec(),
        b"<< /T (card) /V (12 34) /Kids [4 0 R] >>".to_vec(),
        b"<< /Type /Filespec /F (a.csv) /UF (orders!.csv) /EF << /F 6 0 R >> >>".to_vec(),
        pdf_stream("/Type /EmbeddedFile", b"id,n\n1,2\n", true).unwrap(),
        b"<< /Type /Page >>".to_vec(),
    ]);
    let doc = replace(&doc, b"/Root 1 0 R", b"/Root 1 0 R /Info 3 0 R", 1);
    let (seen, r) = run(&doc);
    assert_eq!(r, Ok(()));
    assert_eq!(page(&seen, "info"), "Title: Orders\nAuthor: カ\n");
    assert_eq!(page(&seen, "form"), "card: 12 34\n");
    assert_eq!(seen.parts.last().unwrap(), &("orders_.csv".to_owned(), "id,n\n1,2\n".to_owned(), true));
}

#[test]
fn object_streams_and_incremental_updates() {
    // Objects 2-3 live in an object stream (object 5); object 4 (the content) is written
    // twice, the later version wins.
    let packed = b"2 0 3 42 << /Type /Pages /Kids [3 0 R] /Count 1 >> << /Type /Page /Contents 4 0 R >>";
    let mut doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"null".to_vec(),
        b"null".to_vec(),
        pdf_stream("", b"BT (old) Tj ET", true).unwrap(),
        pdf_stream("/Type /ObjStm /N 2 /First 9", packed, true).unwrap(),
    ]);
    // Objects 2 and 3 as `null` would win over the packed ones: drop them.
    doc = replace(&doc, b"2 0 obj\nnull", b"% gone    ", 1);
    doc = replace(&doc, b"3 0 obj\nnull", b"% gone    ", 1);
    doc.extend_from_slice(b"4 0 obj\n<< >>\nstream\nBT (new) Tj ET\nendstream\nendobj\n");
    let (seen, r) = run(&doc);
    assert_eq!(r, Ok(()));
    assert_eq!(page(&seen, "page-1"), "new");
}

#[test]
fn form_xobjects_are_drawn_and_may_not_recurse() {
    let doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        pdf_stream("", b"/X Do", false).unwrap(),
        pdf_stream(
            "/Type /XObject /Subtype /Form /Resources << /XObject << /X 5 0 R >> >>",
            b"BT (in form) Tj ET /X Do",
            true,
        )
        .unwrap(),
    ]);
    let (seen, r) = run(&doc);
    assert_eq!(r, Ok(()));
    assert_eq!(page(&seen, "page-1"), "in form");
}

/// Damaged documents end (quickly) in an error or in parts, never in a panic or a hang.
#[test]
fn malformed_documents_end() {
    let good = pdf_pages(&[b"BT /F1 12 Tf 72 720 Td (hello) Tj ET"]).unwrap();
    let start = Instant::now();
    // Truncated anywhere.
    for cut in (0..good.len()).step_by(7) {
        let _ = run(&good[..cut]);
    }
    // Garbage xref and trailer offsets: objects are found by scanning.
    let garbage = replace(&good, b"0000000", b"9999999", 100);
    let (seen, r) = run(&garbage);
    assert_eq!(r, Ok(()));
    assert_eq!(page(&seen, "page-1"), "hello");
    // A page tree that contains itself.
    let cyclic = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [2 0 R 3 0 R 2 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Parent 2 0 R >>".to_vec(),
    ]);
    assert_eq!(run(&cyclic).1, Err(PdfError::Malformed("no pages found".into())));
    // Cut before the end: the pages read are handed, then the document is reported.
    let (seen, r) = run(&good[..good.len() - 20]);
    assert_eq!(page(&seen, "page-1"), "hello");
    assert_eq!(r, Err(PdfError::Malformed("truncated (no %%EOF marker at the end)".into())));
    // References to themselves.
    let selfref = pdf_of(&[b"1 0 R".to_vec(), b"<< /Type /Pages /Kids 2 0 R >>".to_vec()]);
    let _ = run(&selfref);
    // A huge /Length: the data ends at `endstream`.
    let huge = replace(&good, b"/Length ", b"/Length 99999999999", 1);
    let (seen, r) = run(&huge);
    assert_eq!(r, Ok(()));
    assert_eq!(page(&seen, "page-1"), "hello");
    // Deep nesting in an object and in a content stream.
    let deep = [b"%PDF-1.4\n1 0 obj\n".to_vec(), vec![b'['; 200_000], b"\nendobj\n".to_vec()].concat();
    let _ = run(&deep);
    let content = [vec![b'['; 100_000], b" TJ".to_vec()].concat();
    let _ = run(&pdf_pages(&[&content]).unwrap());
    // No objects at all.
    assert!(matches!(run(b"%PDF-1.4\nnothing here\n").1, Err(PdfError::Malformed(_))));
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn decompression_bombs_stop_at_the_ratio_limit() {
    let zeros = vec![0u8; 8 << 20];
    let doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Contents 4 0 R >>".to_vec(),
        pdf_stream("", &zeros, true).unwrap(),
    ]);
    let limits = Limits { max_ratio: 100, ..Limits::default() };
    let (_, r) = run_with(&doc, &limits);
    assert_eq!(r, Err(PdfError::Limit("limit max-ratio: a pdf stream expands more than 100x".into())));
    let limits = Limits { max_buffer_bytes: 1 << 20, ..Limits::default() };
    let (_, r) = run_with(&doc, &limits);
    assert!(matches!(r, Err(PdfError::Limit(ref m)) if m.starts_with("limit max-buffer-bytes")), "{r:?}");
    let limits = Limits { max_time: Duration::ZERO, ..Limits::default() };
    let (_, r) = run_with(&doc, &limits);
    assert!(matches!(r, Err(PdfError::Limit(ref m)) if m.starts_with("limit max-time")), "{r:?}");
}

#[test]
fn encrypted_documents_are_reported() {
    let doc = pdf_pages(&[b"BT (x) Tj ET"]).unwrap();
    let doc = replace(&doc, b"/Root 1 0 R", b"/Root 1 0 R /Encrypt << /Filter /Standard /V 2 >>", 1);
    assert_eq!(run(&doc).1, Err(PdfError::Encrypted));
}

#[test]
fn a_panic_becomes_an_error_without_digits() {
    let r: Result<(), PdfError> = guarded(|| panic!("bad object 4111 1111 1111 1111"));
    assert_eq!(r, Err(PdfError::Malformed("parser failure (bad object **** **** **** ****)".into())));
    // Outside `guarded`, the hook still reports (it only stays quiet inside).
    assert!(!crate::source::quiet::is_quiet());
}

#[test]
fn unsupported_filters_skip_the_page() {
    let doc = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Contents 4 0 R >>".to_vec(),
        b"<< /Filter /LZWDecode /Length 3 >>\nstream\nabc\nendstream".to_vec(),
    ]);
    let (seen, r) = run(&doc);
    assert_eq!(r, Ok(()));
    assert_eq!(
        seen.skips,
        [("page-1".into(), "malformed pdf: unsupported stream filter LZWDecode".into(), SkipKind::Error)]
    );
}
