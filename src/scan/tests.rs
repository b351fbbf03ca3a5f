//! Engine tests. PANs are generated here at test time (`make_pan`) or are public test PANs.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::detectors::DetectorSet;

/// One scanner for all tests: building the keyword automaton per proptest case is slow.
fn scanner() -> Scanner {
    static SCANNER: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
    SCANNER
        .get_or_init(|| ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).current_year(2026).build())
        .clone()
}

/// A Luhn-valid number with this prefix and length (middle digits fixed but varied).
fn make_pan(prefix: &str, len: usize) -> String {
    let mut d: Vec<u8> = prefix.bytes().collect();
    let filler = b"7306152948";
    let mut k = 0;
    while d.len() < len - 1 {
        d.push(filler[k % filler.len()]);
        k += 1;
    }
    d.push(luhn::check_digit_for(&d));
    String::from_utf8(d).unwrap()
}

fn scan(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    scanner().scan(&ScanInput::whole(text.as_bytes()), &mut out);
    out
}

fn one(text: &str) -> Finding {
    let f = scan(text);
    assert_eq!(f.len(), 1, "{text:?} gave {f:?}");
    f.into_iter().next().unwrap()
}

fn signals(f: &Finding) -> Vec<String> {
    f.signals.iter().map(ToString::to_string).collect()
}

#[test]
fn plain_pan_without_context_is_medium() {
    let pan = make_pan("45", 16);
    let f = one(&format!("value {pan} end"));
    assert_eq!((f.class, f.confidence), (Class::Pan, Confidence::Medium));
    assert_eq!(f.brands.iter().map(|b| &**b).collect::<Vec<_>>(), vec!["visa"]);
    assert_eq!(f.view.masked(), format!("{}******{}", &pan[..6], &pan[12..]));
    assert!(signals(&f).contains(&"luhn".to_string()));
}

#[test]
fn keyword_makes_high_and_cvv_makes_critical() {
    let pan = make_pan("5412", 16);
    assert_eq!(one(&format!("card number: {pan}")).confidence, Confidence::High);
    assert_eq!(one(&format!("カード番号：{pan}")).confidence, Confidence::High);
    let f = one(&format!("card {pan} exp 12/27 cvv 123"));
    assert_eq!(f.confidence, Confidence::Critical);
    assert_eq!(f.elements, vec![Element::Pan, Element::Expiry, Element::Cvv]);
    assert_eq!(one(&format!("{pan} 有効期限 2027年3月 セキュリティコード 1234")).confidence, Confidence::Critical);
}

#[test]
fn luhn_failure_is_never_a_pan() {
    let mut pan = make_pan("45", 16).into_bytes();
    pan[15] = b'0' + (pan[15] - b'0' + 1) % 10;
    let text = format!("card number {}", String::from_utf8(pan).unwrap());
    assert!(scan(&text).is_empty());
}

#[test]
fn grouped_pans() {
    let pan = make_pan("45", 16);
    for sep in [" ", "-", ".", "\u{3000}", "\u{a0}"] {
        let grouped = [&pan[..4], &pan[4..8], &pan[8..12], &pan[12..]].join(sep);
        let f = one(&format!("x {grouped} y"));
        assert!(signals(&f).contains(&"grouped:4-4-4-4".to_string()), "{sep:?}");
    }
    let amex = make_pan("37", 15);
    let f = one(&format!("amex {} {} {}", &amex[..4], &amex[4..10], &amex[10..]));
    assert_eq!(f.brands.iter().map(|b| &**b).collect::<Vec<_>>(), vec!["amex"]);
    // Mixed separators are not one PAN.
    assert!(scan(&format!("{} {}-{} {}", &pan[..4], &pan[4..8], &pan[8..12], &pan[12..])).is_empty());
    // Five groups of four are not a PAN either.
    assert!(scan(&format!("{} {} {} {} 1234", &pan[..4], &pan[4..8], &pan[8..12], &pan[12..])).is_empty());
}

#[test]
fn strict_boundaries() {
    let pan = make_pan("45", 16);
    for text in [
        format!("9{pan}"),
        format!("{pan}9"),
        format!("abc{pan}"),
        format!("{pan}def"),
        format!("3.{pan}"),
        format!("{pan}.5"),
        format!("e3b0c44298fc{pan}aefbf4c8996fb924"),
        format!("Zm9vYmFyYmF6/{pan}+QUJDREVGR0g="),
        format!("{}-{}-{}-{}-{}", &pan[..8], &pan[8..12], &pan[12..], "1234", "123456789012"),
    ] {
        assert!(scan(&text).is_empty(), "{text}");
    }
    assert_eq!(scan(&format!("/orders/{pan}/items")).len(), 1);
    assert_eq!(scan(&format!("\"{pan}\",")).len(), 1);
}

#[test]
fn test_pans_are_their_own_class() {
    let f = one("card number 4111 1111 1111 1111");
    assert_eq!(f.class, Class::TestPan);
    assert_eq!(f.confidence, Confidence::High);
    assert!(!f.class.is_cardholder_data());
    // Luhn-invalid public test PAN (Square's UnionPay) is still recognised.
    assert_eq!(one("6222988812340000").class, Class::TestPan);
}

#[test]
fn thirteen_digit_visa_and_jan_codes_need_context() {
    // A JAN code (49 = Japan) that also passes Luhn.
    let jan = (0..10_000u32)
        .map(|i| format!("49{:010}", 1_234_560_000 + i))
        .map(|b| {
            let sum: u32 =
                b.bytes().enumerate().map(|(i, c)| u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
            format!("{b}{}", (10 - sum % 10) % 10)
        })
        .find(|s| luhn::is_valid(s.as_bytes()))
        .unwrap();
    assert!(scan(&format!("item {jan} price 300")).is_empty());
    assert!(scan(&format!("有効期限 12/27 item {jan}")).is_empty(), "a date alone does not make a barcode a card");
    assert!(scan(&format!("card_number=... cvv=123\nitem JAN {jan} qty=2")).is_empty(), "card words on another line");
    let f = one(&format!("card number {jan}"));
    assert_eq!(f.confidence, Confidence::Low);
    assert!(signals(&f).contains(&"jan-code".to_string()));
    let v13 = make_pan("41", 13);
    assert!(scan(&format!("x {v13} y")).is_empty());
    assert_eq!(one(&format!("visa card {v13}")).confidence, Confidence::Low);
}

#[test]
fn imei_like_numbers_stay_low() {
    let imei = make_pan("3598", 15);
    assert!(
        scan(&format!("IMEI {imei}")).is_empty()
            || scan(&format!("IMEI {imei}")).iter().all(|f| f.confidence == Confidence::Low)
    );
    assert!(scan(&format!("device {imei} ok")).is_empty());
    let diners15 = make_pan("36", 15);
    assert!(scan(&format!("device {diners15} ok")).iter().all(|f| f.confidence <= Confidence::Low));
}

#[test]
fn suspicious_patterns_are_low() {
    let rep = make_pan("455555555555555", 16);
    let f = one(&format!("card {rep}"));
    assert_eq!(f.confidence, Confidence::Low);
    assert!(signals(&f).iter().any(|s| s.starts_with("suspicious:")));
}

#[test]
fn tracks_are_critical() {
    let f = one("%B4111111111111111^DOE/JOHN^2512101000000000000000000000000?");
    assert_eq!(f.class, Class::TestPan);
    let pan = make_pan("45", 16);
    let f = one(&format!("%B{pan}^DOE/JOHN^2512101000000000000000000000000?"));
    assert_eq!((f.class, f.confidence), (Class::Track1, Confidence::Critical));
    assert!(f.elements.contains(&Element::Track1) && f.elements.contains(&Element::Name));
    let f = one(&format!(";{pan}=25121010000000000000?"));
    assert_eq!((f.class, f.confidence), (Class::Track2, Confidence::Critical));
    let f = one(&format!("tag 57 5713{pan}D25121011143804400F"));
    assert_eq!(f.class, Class::Track2);
}

#[test]
fn masked_pans() {
    let f = one("receipt 411111******1111");
    assert_eq!((f.class, f.confidence), (Class::MaskedPan, Confidence::Low));
    assert_eq!(f.view.masked(), "411111******1111");
    assert!(f.fingerprint.is_none());
    assert_eq!(one("card: xxxx-xxxx-xxxx-1234").view.masked(), "************1234");
    assert!(scan("ref 999999******1234").is_empty(), "no brand starts with 9999");
    // Three-byte mask characters in groups, a separator before the last four.
    for m in ["••••", "●●●●", "＊＊＊＊"] {
        for sep in [" ", "-"] {
            let text = format!("card: {m}{sep}{m}{sep}{m}{sep}1234");
            assert_eq!(one(&text).view.masked(), "************1234", "{text}");
        }
    }
}

#[test]
fn csv_row_linkage() {
    let header =
        record::Header::detect(&DetectorSet::builtin().unwrap(), b"order_id,card_no,expire,security_code").unwrap();
    let pan = make_pan("35", 16);
    let text = format!("order_id,card_no,expire,security_code\n1001,{pan},2712,123\n");
    let mut out = Vec::new();
    let input = ScanInput { buf: text.as_bytes(), report: 0..text.len(), at_start: true, header: Some(&header) };
    scanner().scan(&input, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].confidence, Confidence::Critical);
    let s = signals(&out[0]);
    assert!(s.contains(&"column:card_no".to_string()) && s.contains(&"row:cvv".to_string()), "{s:?}");
}

#[test]
fn fingerprints_are_keyed() {
    let det = Arc::new(DetectorSet::builtin().unwrap());
    let pan = make_pan("45", 16);
    let a = ScannerBuilder::new(det.clone()).fingerprint_key(b"one").build();
    let b = ScannerBuilder::new(det).fingerprint_key(b"two").build();
    let fp = |s: &Scanner| {
        let mut v = Vec::new();
        s.scan(&ScanInput::whole(pan.as_bytes()), &mut v);
        v[0].fingerprint.unwrap()
    };
    assert_eq!(fp(&a), fp(&a));
    assert_ne!(fp(&a), fp(&b));
}

#[test]
fn context_snippet_is_masked() {
    let pan = make_pan("45", 16);
    let s = ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).snippets(true).build();
    let mut v = Vec::new();
    let text = format!("id 98765 card {pan} cvv 123");
    s.scan(&ScanInput::whole(text.as_bytes()), &mut v);
    let snip = v[0].context.clone().unwrap();
    assert_eq!(snip, format!("id ***** card {}******{} cvv ***", &pan[..6], &pan[12..]));
}

#[test]
fn report_range_limits_what_is_reported() {
    let pan = make_pan("45", 16);
    let text = format!("{pan} ................ {pan}");
    let mut v = Vec::new();
    let second = text.rfind(&pan).unwrap();
    scanner().scan(&ScanInput { buf: text.as_bytes(), report: 1..text.len(), at_start: true, header: None }, &mut v);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].offset, second);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the bytes, the scanner never panics and never shows more than 6+4 digits.
    #[test]
    fn arbitrary_bytes(buf in proptest::collection::vec(prop_oneof![any::<u8>(), b'0'..=b'9', Just(b' '), Just(b'-')], 0..600)) {
        let mut v = Vec::new();
        scanner().scan(&ScanInput::whole(&buf), &mut v);
        for f in v {
            prop_assert!(f.view.first6.len() <= 6 && f.view.last4.len() == 4);
            prop_assert!(f.offset + f.len <= buf.len());
        }
    }

    /// Splitting a buffer into overlapping chunks finds exactly what one pass finds.
    #[test]
    fn chunking_is_invisible(seed in 0u64..1000, cut in 1usize..2000) {
        let pan = make_pan(&format!("4{}", seed % 100), 16);
        let text = format!("{}card {pan} exp 12/27 {}", "a1 ".repeat((seed % 300) as usize), "z 42 ".repeat(100));
        let buf = text.as_bytes();
        let s = scanner();
        let mut whole = Vec::new();
        s.scan(&ScanInput::whole(buf), &mut whole);
        let cut = cut.min(buf.len());
        let ov = s.overlap();
        let mut parts = Vec::new();
        s.scan(&ScanInput { buf: &buf[..(cut + ov).min(buf.len())], report: 0..cut, at_start: true, header: None }, &mut parts);
        let lo = cut.saturating_sub(ov);
        let mut second = Vec::new();
        s.scan(&ScanInput { buf: &buf[lo..], report: cut - lo..buf.len() - lo, at_start: lo == 0, header: None }, &mut second);
        for f in &mut second { f.offset += lo; }
        parts.extend(second);
        let key = |f: &Finding| (f.offset, f.confidence, f.class);
        prop_assert_eq!(whole.iter().map(key).collect::<Vec<_>>(), parts.iter().map(key).collect::<Vec<_>>());
    }
}

/// Text pieces that exercise every path the kernel feeds: PANs plain and grouped by
/// every separator, masked numbers, track data, keywords, dates, short numbers.
fn piece() -> impl Strategy<Value = String> {
    let pan = (prop_oneof![Just("4"), Just("51"), Just("37"), Just("6011"), Just("3528"), Just("62")], 13usize..=19)
        .prop_map(|(p, len)| make_pan(p, len));
    prop_oneof![
        3 => pan.clone(),
        2 => (pan.clone(), prop_oneof![Just(" "), Just("-"), Just("."), Just("\u{a0}"), Just("\u{3000}")])
            .prop_map(|(p, sep)| p.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(sep)),
        1 => pan.clone().prop_map(|p| format!("{}******{}", &p[..6], &p[p.len() - 4..])),
        1 => pan.clone().prop_map(|p| format!("xxxx-xxxx-xxxx-{}", &p[p.len() - 4..])),
        1 => pan.clone().prop_map(|p| format!("••••{}", &p[p.len() - 4..])),
        1 => pan.prop_map(|p| format!("%B{p}^DOE/JOHN^2812101000000000?")),
        2 => prop_oneof![
            Just("card number: "), Just("カード番号："), Just("exp 12/28 "), Just("cvv 123 "), Just("有効期限 2028年12月"),
            Just("2024-10-22 11:11:30 "), Just("192.168.100.200 "), Just("0x1F x64 "), Just("** "), Just("\n"),
        ].prop_map(String::from),
        4 => "[a-z ]{0,40}",
        3 => "[0-9 .-]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every SIMD kernel gives the scalar walk's findings, in order, on whole buffers and
    /// on report windows that start and end anywhere.
    #[test]
    fn findings_do_not_depend_on_the_kernel(pieces in proptest::collection::vec(piece(), 0..60), a in 0usize..4000, b in 0usize..4000) {
        let text = pieces.concat();
        let buf = text.as_bytes();
        let (lo, hi) = (a.min(b).min(buf.len()), a.max(b).min(buf.len()));
        let base = ScannerBuilder::new(scanner().inner.detectors.clone()).current_year(2026).snippets(true);
        let reference = base.clone().kernel(kernel::Kernel::Scalar).build();
        let key = |f: &Finding| format!("{} {:?} {:?} {} {} {:?} {:?}", f.offset, f.class, f.confidence, f.len, f.view.masked(), f.signals, f.context);
        for input in [ScanInput::whole(buf), ScanInput { buf, report: lo..hi, at_start: lo == 0, header: None }] {
            let mut want = Vec::new();
            reference.scan(&input, &mut want);
            for k in kernel::Kernel::available() {
                let mut got = Vec::new();
                base.clone().kernel(k).build().scan(&input, &mut got);
                prop_assert_eq!(got.iter().map(key).collect::<Vec<_>>(), want.iter().map(key).collect::<Vec<_>>(), "kernel {}", k.name());
            }
        }
    }
}
