//! Card data written in other text encodings (SPEC §5, issue 4 point 1): UTF-16 with and
//! without a byte-order mark, `Shift_JIS`, EUC-JP, ISO-2022-JP, and full-width digits and
//! separators in each. Every file is generated at test time from one Japanese order
//! record; the finding must come out with the same tier, the right `encoding`, the byte
//! offset of the number's first byte in the original encoding, and no full number.

use std::fmt::Write as _;

use crate::util::{TestDir, findings, mask_digits, pan, s, scan_jsonl, strs, summary};

/// A Japanese order record: card number, expiry and security code, written the way a
/// Japanese form or mail often holds them (full-width digits and separators).
fn record(pan: &str, wide: bool) -> String {
    let digits: String = if wide {
        pan.chars().map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap()).collect()
    } else {
        pan.to_string()
    };
    let chars: Vec<char> = digits.chars().collect();
    let groups: Vec<String> = chars.chunks(4).map(|g| g.iter().collect()).collect();
    let sep = if wide { "－" } else { "-" };
    format!(
        "ご注文番号：１００４２\r\nお名前：山田 太郎\r\nカード番号：{}\r\n有効期限：{}\r\nセキュリティコード：{}\r\n",
        groups.join(sep),
        if wide { "１２／２９" } else { "12/29" },
        if wide { "１２３" } else { "123" },
    )
}

fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
    pansweep::canary::utf16(s, le, bom)
}

fn legacy(enc: &'static encoding_rs::Encoding, s: &str) -> Vec<u8> {
    let (b, _, errors) = enc.encode(s);
    assert!(!errors, "unencodable text for {}", enc.name());
    b.into_owned()
}

#[test]
fn japanese_order_record_in_every_encoding_is_critical() {
    let t = TestDir::new();
    let number = pan("453201", 16, 77);
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    for wide in [false, true] {
        let text = record(&number, wide);
        let w = if wide { "-wide" } else { "" };
        let name = |base: &str| -> &'static str { Box::leak(format!("{base}{w}.txt").into_boxed_str()) };
        cases.push((name("utf8"), text.as_bytes().to_vec(), "utf-8"));
        cases.push((name("utf16le-bom"), utf16(&text, true, true), "utf-16le"));
        cases.push((name("utf16le"), utf16(&text, true, false), "utf-16le"));
        cases.push((name("utf16be-bom"), utf16(&text, false, true), "utf-16be"));
        cases.push((name("utf16be"), utf16(&text, false, false), "utf-16be"));
        cases.push((name("sjis"), legacy(encoding_rs::SHIFT_JIS, &text), "shift_jis"));
        cases.push((name("eucjp"), legacy(encoding_rs::EUC_JP, &text), "euc-jp"));
        cases.push((name("iso2022jp"), legacy(encoding_rs::ISO_2022_JP, &text), "iso-2022-jp"));
    }
    for (name, bytes, _) in &cases {
        t.write(name, bytes);
    }
    let (r, recs) = scan_jsonl(t.path(), &["--context", "."]);
    assert_eq!(r.code, 1, "{}", r.show());
    let found = findings(&recs);
    assert!(!r.stdout().contains(&number), "full number in the output");
    for (name, bytes, encoding) in &cases {
        let f: Vec<_> = found.iter().filter(|f| s(f, "path") == format!("./{name}")).collect();
        assert_eq!(f.len(), 1, "{name}: {}", mask_digits(&r.stdout()));
        let f = f[0];
        assert_eq!(s(f, "class"), "pan", "{name}");
        assert_eq!(s(f, "confidence"), "critical", "{name}: {}", mask_digits(&f.to_string()));
        assert_eq!(s(f, "encoding"), *encoding, "{name}");
        assert_eq!(f["line"], 3, "{name}");
        let elements = strs(f, "elements");
        for e in ["pan", "expiry", "cvv"] {
            assert!(elements.iter().any(|x| x == e), "{name}: no {e} in {elements:?}");
        }
        assert!(strs(f, "signals").iter().any(|x| x == "keyword:カード番号"), "{name}: {}", f["signals"]);
        let wide = name.contains("wide");
        assert_eq!(strs(f, "decoders").iter().any(|d| d == "fullwidth"), wide, "{name}");
        // The offset points at the first digit as written in the file.
        let first = if wide { "４" } else { "4" };
        let expect = match *encoding {
            "utf-8" => first.as_bytes().to_vec(),
            "utf-16le" => utf16(first, true, false),
            "utf-16be" => utf16(first, false, false),
            "shift_jis" => legacy(encoding_rs::SHIFT_JIS, first),
            "euc-jp" => legacy(encoding_rs::EUC_JP, first),
            _ => legacy(encoding_rs::EUC_JP, first).iter().map(|b| b & 0x7F).collect(),
        };
        let at = usize::try_from(f["byte_offset"].as_u64().unwrap()).unwrap();
        assert_eq!(&bytes[at..at + expect.len()], &expect[..], "{name}: offset {at}");
    }
    assert_eq!(summary(&recs)["distinct_pans"], 1);
}

/// A SQL Server export in UTF-16LE without a byte-order mark, many rows: every planted
/// number is found once, on its own line.
#[test]
fn utf16_export_without_bom_finds_every_row() {
    let t = TestDir::new();
    let mut text = String::from("id,card_no,exp,name\r\n");
    let mut planted = 0;
    for i in 0..3000u64 {
        if i % 100 == 3 {
            planted += 1;
            let _ = write!(text, "{i},{},12/29,TARO YAMADA\r\n", pan("453201", 16, 900 + i));
        } else {
            let _ = write!(text, "{i},,,\r\n");
        }
    }
    t.write("export.csv", utf16(&text, true, false));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    let f = findings(&recs);
    assert_eq!(f.len(), planted, "{}", mask_digits(&r.stdout()));
    for (k, f) in f.iter().enumerate() {
        assert_eq!(s(f, "encoding"), "utf-16le");
        assert_eq!(f["line"].as_u64().unwrap(), 2 + 3 + 100 * k as u64);
        assert_eq!(s(f, "confidence"), "high", "{}", mask_digits(&f.to_string()));
    }
}

/// Japanese text with ー in words and digits near it: no false card numbers, and the
/// keyword カード still matches.
#[test]
fn prolonged_sound_mark_is_a_separator_only_between_digits() {
    let t = TestDir::new();
    let number = pan("453201", 16, 78);
    let wide: String = number.chars().map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap()).collect();
    let dashed: Vec<String> = wide.chars().collect::<Vec<_>>().chunks(4).map(|g| g.iter().collect()).collect();
    t.write("a.txt", format!("カード番号 {}\nデータ 2024ー10ー22 コード 123ー4567\n", dashed.join("ー")));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", r.show());
    assert!(strs(f[0], "signals").iter().any(|x| x == "keyword:カード番号"), "{}", f[0]["signals"]);
}

/// Binary files (legacy `.xls`/`.doc`, memory dumps, database pages) keep text as UTF-16LE
/// strings among other bytes: those strings are scanned too, next to the raw bytes.
#[test]
fn utf16_strings_inside_binary_data_are_found() {
    let t = TestDir::new();
    let wide = pan("453201", 16, 79);
    let narrow = pan("453201", 16, 80);
    let mut data: Vec<u8> = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    data.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    let at = data.len();
    data.extend(utf16(&format!("カード番号 {wide} 有効期限 12/29"), true, false));
    data.extend([0, 0, 7, 0, 0x99]);
    data.extend((0..3000u32).map(|i| (i.wrapping_mul(40_503) >> 3) as u8));
    data.extend(format!("\0card number {narrow}\0").as_bytes());
    t.write("book.xls", &data);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    let f = findings(&recs);
    assert_eq!(f.len(), 2, "{}", mask_digits(&r.stdout()));
    let from_strings: Vec<_> = f.iter().filter(|x| strs(x, "decoders") == ["utf-16le-strings"]).collect();
    assert_eq!(from_strings.len(), 1, "{}", mask_digits(&r.stdout()));
    let x = from_strings[0];
    assert_eq!(s(x, "encoding"), "binary");
    assert_eq!(s(x, "confidence"), "high", "{}", x["signals"]);
    assert!(strs(x, "signals").iter().any(|s| s == "keyword:カード番号"), "{}", x["signals"]);
    // "カード番号 " is 6 code units: the number starts 12 bytes into the string.
    assert_eq!(x["byte_offset"].as_u64().unwrap(), (at + 12) as u64);
    assert!(!r.stdout().contains(&wide) && !r.stdout().contains(&narrow));
}

/// A tampered payment module's capture file (base64 lines in a fake image), a URL-encoded
/// access log and a JSON body with `\u` escapes: each number is found through its decoder,
/// once, at an offset inside the encoded text.
#[test]
fn embedded_encodings_are_decoded() {
    let t = TestDir::new();
    let captured = pan("453201", 16, 81);
    let logged = pan("535011", 16, 82);
    let escaped = pan("453201", 16, 83);
    let capture =
        pansweep::canary::base64(format!("card_number={captured}&exp=12/29&cvv=123&name=TARO+YAMADA").as_bytes());
    let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    let at = gif.len();
    gif.extend_from_slice(capture.as_bytes());
    gif.push(b'\n');
    t.write("images/spacer.gif", &gif);
    let spaced: String =
        logged.as_bytes().chunks(4).map(|g| std::str::from_utf8(g).unwrap()).collect::<Vec<_>>().join("%20");
    t.write("logs/access.log", format!("10.0.0.1 - - \"GET /pay?card_number={spaced}&exp=12%2F29 HTTP/1.1\" 200\n"));
    let json_digits = escaped.chars().fold(String::new(), |mut out, c| {
        let _ = write!(out, "\\u{:04x}", u32::from(c));
        out
    });
    t.write("api/body.json", format!("{{\"card_number\":\"{json_digits}\",\"exp\":\"12/29\"}}\n"));
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    for n in [&captured, &logged, &escaped] {
        assert!(!r.stdout().contains(n.as_str()), "full number in output");
    }
    let f = findings(&recs);
    let one = |path: &str| {
        let v: Vec<_> = f.iter().filter(|x| s(x, "path") == path).collect();
        assert_eq!(v.len(), 1, "{path}: {}", mask_digits(&r.stdout()));
        v[0]
    };
    let g = one("./images/spacer.gif");
    assert_eq!(strs(g, "decoders"), ["base64"]);
    assert_eq!(s(g, "confidence"), "critical", "{}", g["signals"]);
    let off = usize::try_from(g["byte_offset"].as_u64().unwrap()).unwrap();
    assert!(off >= at && off < at + capture.len(), "offset {off} outside the base64 block");
    let l = one("./logs/access.log");
    assert_eq!(strs(l, "decoders"), ["url"]);
    let j = one("./api/body.json");
    assert_eq!(strs(j, "decoders"), ["json-escape"]);
}

/// A base64 blob in the middle of a JSON log line (between quotes, with fields after it):
/// the pre-test of each chunk must let it through to the decoder.
#[test]
fn base64_in_the_middle_of_a_json_log_line_is_found() {
    let t = TestDir::new();
    let number = pan("453201", 16, 84);
    let blob = pansweep::canary::base64(format!("card_number={number}&exp=12/29&cvv=123&name=TARO+YAMADA").as_bytes())
        .replace("\r\n", "");
    let mut log = String::new();
    for i in 0..200 {
        let _ = writeln!(
            log,
            r#"{{"ts": "2024-10-22T11:11:{:02}Z", "level": "info", "msg": "GET /api/v2/session/refresh", "ms": {i}}}"#,
            i % 60
        );
    }
    let at = log.len() + r#"{"ts": "2024-10-22T11:12:00Z", "level": "warn", "payload": ""#.len();
    let _ = writeln!(
        log,
        r#"{{"ts": "2024-10-22T11:12:00Z", "level": "warn", "payload": "{blob}", "status": "ok", "ms": 3}}"#
    );
    t.write("logs/app.json.log", &log);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(!r.stdout().contains(number.as_str()) && !r.stderr().contains(number.as_str()), "full number in output");
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./logs/app.json.log");
    assert_eq!(strs(f[0], "decoders"), ["base64"]);
    assert_eq!(s(f[0], "confidence"), "critical", "{}", f[0]["signals"]);
    let off = usize::try_from(f[0]["byte_offset"].as_u64().unwrap()).unwrap();
    assert!(off >= at && off < at + blob.len(), "offset {off} outside the blob at {at}");
}
