//! Embedded-encoding tests: the public test PAN 4111 1111 1111 1111 planted in every form,
//! found by the real scanner on the regions and mapped back to its original offset.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::detectors::DetectorSet;
use crate::finding::{Class, Element};
use crate::scan::{ScanInput, Scanner, ScannerBuilder};

fn scanner() -> Scanner {
    static SCANNER: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
    SCANNER
        .get_or_init(|| ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).current_year(2026).build())
        .clone()
}

#[derive(Debug)]
struct Hit {
    chain: String,
    /// Original range of the match.
    at: Range<usize>,
    class: Class,
    expiry: bool,
}

fn check_region(r: &Region<'_>, len: usize) {
    assert_eq!(r.map.len(), r.buf.len() + 1);
    assert_eq!(r.flags.len(), r.buf.len());
    assert!(r.map.windows(2).all(|w| w[0] <= w[1]), "map is monotonic: {:?}", r.map);
    assert!(r.map.iter().all(|&m| m as usize <= len), "map in bounds");
    assert!(!r.decoders.is_empty());
}

fn hits(src: &[u8]) -> Vec<Hit> {
    let mut e = Embedded::new(EmbeddedLimits::default());
    let s = scanner();
    let mut out = Vec::new();
    e.for_each_region(src, &mut |r| {
        check_region(r, src.len());
        let mut found = Vec::new();
        s.scan(&ScanInput::whole(r.buf), &mut found);
        for f in found {
            let v = f.offset..f.offset + f.len;
            if r.is_new(&v) {
                out.push(Hit {
                    chain: r.chain(),
                    at: r.original_range(&v),
                    class: f.class,
                    expiry: f.elements.contains(&Element::Expiry),
                });
            }
        }
    });
    out
}

/// Exactly one test-PAN hit, by `chain`, starting at original offset `at`, with expiry.
fn one(src: &[u8], chain: &str, at: usize) -> Hit {
    let h = hits(src);
    assert_eq!(h.len(), 1, "{:?}: {h:?}", String::from_utf8_lossy(src));
    let h = h.into_iter().next().unwrap();
    assert_eq!(h.class, Class::TestPan);
    assert_eq!(h.chain, chain);
    assert_eq!(h.at.start, at, "{:?}", String::from_utf8_lossy(src));
    h
}

fn b64(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for c in data.chunks(3) {
        let v = c.iter().enumerate().fold(0u32, |a, (i, &b)| a | u32::from(b) << (16 - 8 * i));
        let n = c.len() + 1;
        for k in 0..4 {
            if k < n {
                out.push(alphabet[(v >> (18 - 6 * k) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URLSAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const RECORD: &str = "card number 4111 1111 1111 1111 exp 12/29";

#[test]
fn base64_single_line() {
    let enc = b64(RECORD.as_bytes(), STD, true);
    let src = format!("GET /img.png data={enc} 200\n");
    let h = one(src.as_bytes(), "base64", src.find(&enc).unwrap() + 16);
    assert!(h.expiry);
    // Unpadded, and the PAN alone without spaces.
    let enc = b64(b"pan=4111111111111111;exp=12/29", STD, false);
    let src = format!("x {enc}\n");
    one(src.as_bytes(), "base64", 2 + 4);
}

#[test]
fn base64_with_mime_line_breaks() {
    let body = format!("{}\r\n", "filler text before the card; ".repeat(5)) + RECORD + "\r\n";
    let enc = b64(body.as_bytes(), STD, true);
    let lines: Vec<&str> = enc.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let src = format!("Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n--boundary--\r\n", lines.join("\r\n"));
    let h = hits(src.as_bytes());
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].chain, "base64");
    assert!(h[0].expiry);
    // The offset points at the base64 group holding the PAN's first digit.
    let pan_at = body.find("4111").unwrap();
    let group = pan_at / 3 * 4;
    let block = src.find(lines[0]).unwrap();
    let expected = block + group + (group / 76) * 2;
    assert_eq!(h[0].at.start, expected);
}

#[test]
fn base64_url_safe_alphabet() {
    // Bytes chosen so that the encoding holds `-` and `_`.
    let mut data = vec![0xFB, 0xEF, 0xFF];
    data.extend_from_slice(RECORD.as_bytes());
    data.extend_from_slice(&[0xFB, 0xEF, 0xFF]);
    let enc = b64(&data, URLSAFE, false);
    assert!(enc.contains('-') || enc.contains('_'), "{enc}");
    let src = format!("token={enc}&x=1");
    let h = hits(src.as_bytes());
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].chain, "base64");
}

#[test]
fn base64_binary_and_hex_are_not_handed_on() {
    let bin: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let enc = b64(&bin, STD, true);
    let hexs = "0123456789abcdef".repeat(8);
    let src = format!("img {enc}\nsha {hexs}\n");
    let mut e = Embedded::new(EmbeddedLimits::default());
    let mut n = 0;
    let out = e.for_each_region(src.as_bytes(), &mut |_| n += 1);
    assert_eq!(n, 0);
    assert!(out.decoded_bytes > 0 && !out.truncated);
}

#[test]
fn url_encoding() {
    let src = "GET /pay?card=4111%201111%201111%201111&exp=12%2F29 HTTP/1.1";
    let h = one(src.as_bytes(), "url", src.find("4111").unwrap());
    assert!(h.expiry);
    let src = "q=card+4111+1111+1111+1111+exp+12/29";
    one(src.as_bytes(), "url", src.find("4111").unwrap());
    let src = "pan=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31 exp 12/29";
    let h = one(src.as_bytes(), "url", 4);
    assert_eq!(h.at.end, src.find(" exp").unwrap(), "the end maps past the last escape");
}

#[test]
fn plain_pans_are_not_repeated() {
    // A plain PAN next to URL escapes is found by the plain scan, not again here.
    let src = "card=4111111111111111&exp=12%2F29&name=J%20Doe";
    assert!(hits(src.as_bytes()).is_empty());
    let src = "<td>4111 1111 1111 1111</td><td>12/29</td>";
    assert!(hits(src.as_bytes()).is_empty());
}

#[test]
fn json_unicode_escapes() {
    let src = r#"{"pan":"\u0034\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031","exp":"12/29"}"#;
    let h = one(src.as_bytes(), "json-escape", src.find("\\u0034").unwrap());
    assert!(h.expiry);
    // Japanese keyword escaped: カード番号 4111 1111 1111 1111.
    let src = r#"{"\u30AB\u30FC\u30C9\u756A\u53F7":"4111 \u0031111 1111 1111"}"#;
    one(src.as_bytes(), "json-escape", src.find("4111").unwrap());
}

#[test]
fn quoted_printable() {
    let src = "card =34=31=31=31=31=31=31=31=31=31=31=31=31=31=31=31 exp 12/29\r\n";
    one(src.as_bytes(), "quoted-printable", 5);
    // A soft line break splitting the number.
    let src = "card number 4111 1111 11=\r\n11 1111 exp 12/29\r\n";
    let h = one(src.as_bytes(), "quoted-printable", src.find("4111").unwrap());
    assert!(h.expiry);
    assert_eq!(h.at.end, src.len() - " exp 12/29\r\n".len());
    // `id=12` in a query string is not quoted-printable.
    let mut spans = Vec::new();
    find_text(b"GET /a?id=12&page=34 HTTP", 1 << 20, &mut spans);
    assert!(spans.iter().all(|s| s.kind != Kind::Qp));
}

#[test]
fn html_entities() {
    let src = "<p>card &#52;&#49;&#49;&#49;&#32;&#49;&#49;&#49;&#49; &#x31;&#x31;&#x31;&#x31; 1111 exp 12/29</p>";
    one(src.as_bytes(), "html-entity", src.find("&#52;").unwrap());
    let src = "card 4111&nbsp;1111&nbsp;1111&nbsp;1111 exp 12&#47;29";
    one(src.as_bytes(), "html-entity", 5);
}

#[test]
fn ooxml_runs() {
    // Digits split across runs: the document text is the runs joined.
    let src = r#"<w:p><w:r><w:t>card 4111</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>111111111111</w:t></w:r><w:r><w:t xml:space="preserve"> exp 12/29</w:t></w:r></w:p>"#;
    let h = one(src.as_bytes(), "xml-text", src.find("4111").unwrap());
    assert!(h.expiry);
    let src = r#"<w:t xml:space="preserve">4111 </w:t></w:r><w:r><w:t>1111 1111 1111</w:t></w:r> exp 12/29"#;
    one(src.as_bytes(), "xml-text", src.find("4111").unwrap());
    // Runs cut at a group boundary with the space lost: the spaced variant reads it.
    let src = "<w:t>4111</w:t></w:r><w:r><w:t>1111 1111 1111</w:t>";
    one(src.as_bytes(), "xml-text", 5);
}

#[test]
fn nested_base64_of_url_encoded() {
    let inner = "card=4111%201111%201111%201111&exp=12%2F29";
    let enc = b64(inner.as_bytes(), STD, true);
    let src = format!("log: payload {enc} end\n");
    let h = one(src.as_bytes(), "base64+url", src.find(&enc).unwrap() + 4);
    assert!(h.expiry);
}

#[test]
fn adversarial_inputs_do_not_panic() {
    let cases: Vec<Vec<u8>> = vec![
        b"%%%%%%%%%%%%%%%%%%%%%".to_vec(),
        b"%3".to_vec(),
        b"\\u".to_vec(),
        b"abc \\u00".to_vec(),
        b"\\uD800\\u".to_vec(),
        b"\\uD800\\uDC00 1".to_vec(),
        b"&#".to_vec(),
        b"&#x".to_vec(),
        b"&#52".to_vec(),
        b"&#99999999999;&#x110000;".to_vec(),
        b"=".to_vec(),
        b"=\r".to_vec(),
        b"=3".to_vec(),
        b"1<".to_vec(),
        b"1<<<<>>>>2<".to_vec(),
        b"==== ====".to_vec(),
        b"QUJD=".to_vec(),
        "=\r\n".repeat(100).into_bytes(),
        "<a>1</a>".repeat(1000).into_bytes(),
        "&#52;".repeat(10_000).into_bytes(),
    ];
    for c in &cases {
        let _ = hits(c);
    }
}

#[test]
fn huge_base64_is_linear_and_bounded() {
    // ~4 MiB of base64-looking lines: one long block, decoded in pieces within budget.
    let mut src = Vec::new();
    let mut x = 1u64;
    while src.len() < 4 << 20 {
        for _ in 0..76 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            src.push(STD[(x >> 58) as usize]);
        }
        src.extend_from_slice(b"\r\n");
    }
    let mut e = Embedded::new(EmbeddedLimits::default());
    let mut n = 0;
    let out = e.for_each_region(&src, &mut |_| n += 1);
    assert_eq!(n, 0);
    assert!(!out.truncated);
    assert!(out.decoded_bytes <= 2 * src.len() + (64 << 10));
    // Per-region bound: several pieces.
    let mut spans = Vec::new();
    find_base64(&src, &EmbeddedLimits::default(), &mut spans);
    assert!(spans.len() >= 4 && spans.iter().all(|s| s.core.len() <= (1 << 20) + 80), "{}", spans.len());
    assert!(spans.iter().all(|s| (s.core.start - spans[0].core.start) % 78 % 4 == 0 || s.core.start == 0));
}

#[test]
fn budget_truncates() {
    let src = "&#52;".repeat(1000);
    let mut e = Embedded::new(EmbeddedLimits { max_total_factor: 0, ..EmbeddedLimits::default() });
    let out = e.for_each_region(src.as_bytes(), &mut |_| {});
    assert!(!out.truncated, "64 KiB base budget");
    let src = "&#52;".repeat(100_000);
    let out = e.for_each_region(src.as_bytes(), &mut |_| {});
    assert!(out.truncated);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_and_maps_are_sane(src in proptest::collection::vec(
        prop_oneof![
            Just(b'%'), Just(b'='), Just(b'&'), Just(b'#'), Just(b';'), Just(b'\\'), Just(b'u'),
            Just(b'<'), Just(b'>'), Just(b'\r'), Just(b'\n'), Just(b' '), Just(b'x'), Just(b'Q'),
            b'0'..=b'9', b'A'..=b'F', any::<u8>(),
        ], 0..600)) {
        let mut e = Embedded::new(EmbeddedLimits { min_base64: 8, ..EmbeddedLimits::default() });
        e.for_each_region(&src, &mut |r| check_region(r, src.len()));
    }

    #[test]
    fn every_region_is_checked(src in proptest::collection::vec(any::<u8>(), 0..400)) {
        // The filter and callback are reached without panics even for unfiltered spans.
        let mut spans = Vec::new();
        find_base64(&src, &EmbeddedLimits { min_base64: 4, ..EmbeddedLimits::default() }, &mut spans);
        find_text(&src, 1 << 20, &mut spans);
        let mut s = Scratch::default();
        for span in &spans {
            prop_assert!(span.all.start <= span.core.start && span.core.end <= span.all.end);
            prop_assert!(span.all.end <= src.len());
            decode(&mut s, &src, span, true);
            prop_assert!(s.core.start <= s.core.end && s.core.end <= s.buf.len());
            prop_assert!(s.map.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}

/// The cheap pre-test lets through every form the decoders handle, and stops plain text.
#[test]
fn may_contain_gates_every_decoder() {
    let e = Embedded::new(EmbeddedLimits::default());
    let b64 = "Y2FyZCA0MTExIDExMTEgMTExMSAxMTExIGV4cCAxMi8yOQ==";
    for yes in [
        format!("data {b64}\n"),
        "card=4111%201111%201111%201111".to_string(),
        "n=%34%31%31%31".to_string(),
        "\"\\u0034\\u0031\"".to_string(),
        "=34=31=31=31".to_string(),
        "4111 1111=\r\n 1111 1111".to_string(),
        "card 4111 1111 1111 111=31\n".to_string(),
        "card 4111 1111 1111 111=31\r\n".to_string(),
        "card 4111=20=\n1111 1111 1111\n".to_string(),
        "&#52;&#49;".to_string(),
        "<w:t>4111</w:t><w:t>1111</w:t>".to_string(),
    ] {
        assert!(e.may_contain(yes.as_bytes()), "{yes}");
    }
    for no in [
        "10.0.0.1 - - [22/Oct/2024:11:11:30 +0000] \"GET /api/v2/session/refresh?id=31&page=3 HTTP/1.1\" 200 512 uid=3123\n",
        // An `=` and two hex digits one byte before a line end is no escape there (it
        // once passed every chunk of a web log to the decoders: half the scan time).
        "10.0.0.1 - - [22/Oct/2024:11:11:30 +0000] \"GET / HTTP/1.1\" 200 512 rt=0.064 uid=965\n",
        "status=404\r\nsize=123\n",
        // Nor is one that decodes to anything but a digit there.
        "10.0.0.1 - - [22/Oct/2024:11:11:30 +0000] \"GET / HTTP/1.1\" 200 512 rt=0.064 uid=13\n",
        "line with a trailing space=20\r\n",
        "plain text with 100% certainty and 4111 1111 1111 1111\n",
        "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef\n",
    ] {
        assert!(!e.may_contain(no.as_bytes()), "{no}");
    }
}

/// Forms the decoders turn into a card number that the pre-test once ruled out (found by
/// the `decode_*` fuzz targets): each is let through and found.
#[test]
fn pre_test_lets_through_what_the_decoders_find() {
    for src in [
        "q=card&no=4111+1111+1111+1111&x=1\n",
        "card 4111&nbsp;1111&nbsp;1111&nbsp;1111\n",
        "card 4111=20=31111=201111=201111\n",
        "card 4111 1111 1111 111=31\n",
        "card 4111 1111 1111 111%31 ok\n",
        "card 4111<br>1111<br>1111<br>1111\n",
        // Second level: what the first decodes is decoded again.
        "card &amp;#52;&amp;#49;&amp;#49;&amp;#49;&amp;#32;1111 1111 1111 &amp;\n",
        "card %26#52;%26#49;%26#49;%26#49;%26#32;1111 1111 1111 %26\n",
    ] {
        assert!(!gated_hits(src.as_bytes()).is_empty(), "{src}");
    }
}

// ---------------------------------------------------------------------------------------
// Base64 blobs in the middle of a line

/// Runs `may_contain` as the file reader does, then the decoders: the hits of a chunk.
fn gated_hits(src: &[u8]) -> Vec<Hit> {
    if Embedded::new(EmbeddedLimits::default()).may_contain(src) { hits(src) } else { Vec::new() }
}

/// Exactly one test-PAN hit with expiry through the gate, by base64, whose original
/// offset is inside the blob `enc` of `src`.
fn one_in_blob(src: &str, enc: &str) -> Hit {
    let h = gated_hits(src.as_bytes());
    assert_eq!(h.len(), 1, "{src}: {h:?}");
    let h = h.into_iter().next().unwrap();
    let at = src.find(enc).unwrap();
    assert_eq!((h.class, h.chain.as_str(), h.expiry), (Class::TestPan, "base64", true), "{src}");
    assert!(h.at.start >= at && h.at.end <= at + enc.len(), "{:?} outside the blob at {at}", h.at);
    h
}

#[test]
fn base64_in_the_middle_of_a_line() {
    let enc = b64(RECORD.as_bytes(), STD, true);
    // The PAN's first digit is in the 4-character group of decoded byte 12.
    let group = RECORD.find("4111").unwrap() / 3 * 4;
    for src in [
        format!("{{\"a\": \"{enc}\", \"b\": 1}}\n"),
        format!("2024-10-22 INFO payload={enc} status=ok\n"),
        format!("<order id=\"7\" state=\"paid\"><data>{enc}</data><n>1</n></order>\n"),
        format!("card data: {enc} (captured) from 10.0.0.1 port 443\n"),
    ] {
        let h = one_in_blob(&src, &enc);
        assert_eq!(h.at.start, src.find(&enc).unwrap() + group, "{src}");
    }
    // URL-safe alphabet between spaces, unpadded.
    let mut data = vec![0xFB, 0xEF, 0xFF];
    data.extend_from_slice(RECORD.as_bytes());
    data.extend_from_slice(&[0xFB, 0xEF, 0xFF]);
    let enc = b64(&data, URLSAFE, false);
    assert!(enc.contains('-') || enc.contains('_'), "{enc}");
    one_in_blob(&format!("ts=1729591890 level=warn token {enc} user=7 ok\n"), &enc);
    // Deep inside a long line of a 1 MiB-like chunk, among many other tokens.
    let words = "GET /api/v2/session/refresh HTTP/1.1 200 4123 Mozilla/5.0 ".repeat(40);
    let enc = b64(b"pan=4111111111111111;exp=12/29", STD, false);
    let src = format!("{words}{{\"x\":\"{enc}\"}} {words}\n{words}\n");
    one_in_blob(&src, &enc);
}

#[test]
fn mid_line_look_alikes_are_not_base64_findings() {
    let e = Embedded::new(EmbeddedLimits::default());
    let jwt_like = format!(
        "{}.{}.{}",
        b64(b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", URLSAFE, false),
        b64(b"{\"sub\":\"user-name\",\"role\":\"admin\"}", URLSAFE, false),
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    );
    for token in [
        "internationalizationconsiderations",
        "deadbeefdeadbeefdeadbeefdeadbeef0123456789abcdef",
        "DEADBEEFDEADBEEF0123456789ABCDEF",
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        "https://example.com/api/v2/session/refresh?id=31&page=3",
        "550e8400-e29b-41d4-a716-446655440000",
        jwt_like.as_str(),
        "AbstractSingletonProxyFactoryBeanImpl012",
    ] {
        let src = format!("2024-10-22 11:11:30 INFO request {token} done in 12 ms\n");
        assert!(gated_hits(src.as_bytes()).is_empty(), "{src}");
        // Only tokens with a 20-character run of both cases may pass the gate at all.
        let expected = has_base64_run(token.as_bytes(), 20);
        assert_eq!(e.may_contain(src.as_bytes()), expected, "{src}");
    }
    // A 40-character mixed-case identifier passes the gate but yields nothing.
    let ident = "getUserAccountPreferencesByIdentifierNow";
    assert_eq!(ident.len(), 40);
    let src = format!("{{\"handler\": \"{ident}\", \"ms\": 12}}\n");
    assert!(e.may_contain(src.as_bytes()));
    assert!(gated_hits(src.as_bytes()).is_empty());
}

#[test]
fn sampled_run_test_matches_the_plain_one_at_every_position() {
    // A 20-run with both cases at every offset and length around the sampling stride, in
    // plain text and at both ends of the buffer.
    let run = "Ab01+/-_cdEFghIJklMNopQR";
    for len in 18..=run.len() {
        for pad in 0..30 {
            for tail in [0, 1, 7, 13] {
                let src = format!("{}{}{}", &" :.".repeat(pad)[..pad], &run[..len], " ".repeat(tail));
                assert_eq!(has_long_base64_run(src.as_bytes(), 20), len >= 20, "{src:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The sampled test gives the same answer as the byte-by-byte one on random text.
    #[test]
    fn sampled_run_test_equals_the_plain_one(
        src in proptest::collection::vec(
            prop_oneof![
                20 => proptest::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_vec()),
                20 => proptest::sample::select(b"abcdefghijklmnopqrstuvwxyz".to_vec()),
                8 => proptest::sample::select(b"0123456789+/-_".to_vec()),
                3 => any::<u8>(),
                2 => proptest::sample::select(b" .,:=\"\n".to_vec()),
            ],
            0..400,
        ),
        min in 20usize..40,
    ) {
        prop_assert_eq!(has_long_base64_run(&src, min), has_base64_run(&src, min));
        for k in crate::scan::kernel::Kernel::available() {
            prop_assert_eq!(
                crate::scan::kernel::has_base64_run_with(k, &src, min),
                has_base64_run(&src, min),
                "kernel {}", k.name()
            );
        }
    }
}

/// The kernel's alphabet is the decoder's.
#[test]
fn kernel_base64_alphabet_is_the_decoders() {
    for b in 0..=255u8 {
        assert_eq!(crate::scan::kernel::is_base64_byte(b), B64[usize::from(b)] != NOT_B64, "{b:#x}");
    }
}

/// Runs at every offset around block edges, long runs across blocks, runs cut by one byte.
#[test]
fn kernel_base64_runs_at_block_edges() {
    for len in [19usize, 20, 21, 63, 64, 65, 130] {
        for at in 0..140 {
            let mut src = b"ab. cd, ".repeat(40);
            let run: Vec<u8> = (0..len).map(|i| if i % 3 == 0 { b'Q' } else { b'q' }).collect();
            src.splice(at..at, run);
            for min in [20, 21, 64] {
                for k in crate::scan::kernel::Kernel::available() {
                    assert_eq!(
                        crate::scan::kernel::has_base64_run_with(k, &src, min),
                        has_base64_run(&src, min),
                        "kernel {} len {len} at {at} min {min}",
                        k.name()
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lines the plain scan skips

/// Findings of the plain scan as `(offset, class)`: on the whole buffer, or only outside
/// the ranges [`base64_lines`] gives (`Scanner::scan_outside`, as the file reader does).
fn plain(src: &[u8], skip_lines: bool) -> Vec<(usize, Class)> {
    let s = scanner();
    let input = ScanInput::whole(src);
    let mut found = Vec::new();
    if skip_lines {
        let mut skip = Vec::new();
        base64_lines(src, &mut skip);
        s.scan_outside(&input, &skip, &mut found);
    } else {
        s.scan(&input, &mut found);
    }
    let mut v: Vec<_> = found.iter().map(|f| (f.offset, f.class)).collect();
    v.sort_unstable_by_key(|x| x.0);
    v
}

#[test]
fn base64_lines_are_whole_mixed_case_alphabet_lines() {
    let b64 = "TWFuIGlzIGRpc3Rpbmd1aXNoZWQsIG5vdCBvbmx5IGJ5IGhpcyByZWFzb24sIGJ1dCBieSB0aGlz";
    let src = format!("{b64}\n{b64}\r\nshort\n{b64}==\nall lower case words here and there\n{b64}");
    let mut out = Vec::new();
    base64_lines(src.as_bytes(), &mut out);
    let first = b64.len() + 1 + b64.len() + 2;
    let third = first + 6;
    assert_eq!(out, vec![0..first, third..third + b64.len() + 3]);
    // Too long for the engine's look-around to cover, or holding a possible mask.
    let long = "QUJD".repeat(20);
    base64_lines(format!("{long}\n").as_bytes(), &mut out);
    assert!(out.is_empty());
    base64_lines(b"AbCdEfGhIjKlMnOpQr411111xxxxxx1111\n", &mut out);
    assert!(out.is_empty());
}

/// The fast path changes nothing: whatever the plain scan reports in a buffer mixing
/// base64 lines with card numbers in every position (glued to letters, after `+` or `/`,
/// masked, grouped, at the ends of a line), it also reports when the lines are skipped.
#[test]
fn skipping_base64_lines_finds_the_same() {
    let pans = [
        "4111111111111111",
        "5555555555554444",
        "4111 1111 1111 1111",
        "411111xxxxxx1111",
        "4111111111111111D2512201000000000000F",
        "57134111111111111111D25122010000F",
    ];
    let b64 = "TWFuIGlzIGRpc3Rpbmd1aXNoZWQsIG5vdCBvbmx5IGJ5IGhp";
    let mut src = String::new();
    for (i, p) in pans.iter().enumerate() {
        for line in [
            format!("{b64}{p}"),
            format!("{p}{b64}"),
            format!("{b64}+{p}"),
            format!("{b64}/{p}/Ab"),
            format!("/{p}/{}", &b64[..30]),
            format!("card {p} exp 12/29"),
            format!("{}{p}{}", &b64[..10], &b64[10..30]),
        ] {
            src.push_str(&line);
            src.push_str(if i % 2 == 0 { "\n" } else { "\r\n" });
            src.push_str(b64);
            src.push('\n');
        }
    }
    let bytes = src.as_bytes();
    assert_eq!(plain(bytes, true), plain(bytes, false));
    assert!(!plain(bytes, false).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random lines of base64-alphabet characters, digits, masks and separators: the gap
    /// scan equals the whole scan.
    #[test]
    fn skipping_base64_lines_finds_the_same_on_random_lines(
        lines in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![
                    36 => proptest::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/".to_vec()),
                    24 => proptest::sample::select(b"0123456789".to_vec()),
                    2 => proptest::sample::select(b"xXDd".to_vec()),
                    1 => proptest::sample::select(b"= -.*".to_vec()),
                ],
                0..90,
            ),
            1..40,
        ),
        pan_at in proptest::collection::vec((0usize..40, 0usize..90, any::<bool>()), 0..6),
    ) {
        let mut lines = lines;
        for (l, at, track) in pan_at {
            if let Some(line) = lines.get_mut(l) {
                let at = at.min(line.len());
                let planted: &[u8] = if track { b"4111111111111111D2512201000000" } else { b"4111111111111111" };
                line.splice(at..at, planted.iter().copied());
            }
        }
        let src: Vec<u8> = lines.join(&b'\n');
        prop_assert_eq!(plain(&src, true), plain(&src, false));
    }
}
