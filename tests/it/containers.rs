//! Archives and mail end to end (SPEC §5, issue 4 points 3, 4 and 7): card data planted
//! in generated archives and messages is found at its member path, with its decoder chain
//! and tier, and nothing of the number leaks; bombs and damage become `skipped` records.

use pansweep::canary::{self, base64};

use crate::util::{TestDir, findings, mask_digits, of_type, pan, s, scan_jsonl, strs};

/// An order row: PAN, expiry and security code side by side.
fn order(number: &str) -> String {
    format!("order_id,card_number,exp,cvv\n1001,{number},12/29,123\n")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    canary::gzip(data).unwrap()
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    canary::tar_of(members).unwrap()
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    canary::zip_of(members).unwrap()
}

#[test]
fn card_data_in_nested_archives_is_critical_at_its_member_path() {
    let t = TestDir::new();
    let number = pan("453201", 16, 301);
    let csv = order(&number);
    let inner = zip_of(&[("export/orders.csv", csv.as_bytes()), ("readme.txt", b"nothing here\n")]);
    t.write("backup/site.tar.gz", gzip(&tar_of(&[("db/inner.zip", &inner), ("db/dump.csv", csv.as_bytes())])));
    t.write("logs/app.log.gz", gzip(format!("2024-10-22 charge ok card={number} exp=12/29\n").as_bytes()));
    let (r, recs) = scan_jsonl(t.path(), &["--context", "."]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(!r.stdout().contains(&number) && !r.stderr().contains(&number), "full number in output");
    let f = findings(&recs);
    let at = |path: &str| {
        let v: Vec<_> = f.iter().filter(|x| s(x, "path") == path).collect();
        assert_eq!(v.len(), 1, "{path}: {}", mask_digits(&r.stdout()));
        v[0]
    };
    let zipped = at("./backup/site.tar.gz!db/inner.zip!export/orders.csv");
    assert_eq!(strs(zipped, "decoders"), ["gzip", "tar", "zip"]);
    assert_eq!(s(zipped, "confidence"), "critical");
    assert_eq!(zipped["line"], 2);
    let plain = at("./backup/site.tar.gz!db/dump.csv");
    assert_eq!(strs(plain, "decoders"), ["gzip", "tar"]);
    assert_eq!(s(plain, "confidence"), "critical");
    let log = at("./logs/app.log.gz!app.log");
    assert_eq!(strs(log, "decoders"), ["gzip"]);
    assert_eq!(f.len(), 3, "{}", mask_digits(&r.stdout()));
    assert_eq!(crate::util::summary(&recs)["files"], 2);
    assert_eq!(crate::util::summary(&recs)["distinct_pans"], 1);
}

#[test]
fn mail_with_a_zip_attachment_and_a_japanese_body() {
    let t = TestDir::new();
    let number = pan("353011", 16, 302);
    let zip = zip_of(&[("cards.csv", order(&number).as_bytes())]);
    let text = format!("カード番号 {number}\n有効期限 12/29\n");
    let (body, _, _) = encoding_rs::ISO_2022_JP.encode(&text);
    let mut eml = Vec::new();
    eml.extend_from_slice(
        b"From: shop@example.com\r\nTo: ops@example.com\r\nSubject: orders\r\nMIME-Version: 1.0\r\n\
          Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
          Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
    );
    eml.extend_from_slice(&body);
    eml.extend_from_slice(
        format!(
            "\r\n--b1\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=\"orders.zip\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            base64(&zip)
        )
        .as_bytes(),
    );
    // The same message twice in a mailbox, and once as a file of its own.
    let mut mbox = Vec::new();
    for _ in 0..2 {
        mbox.extend_from_slice(b"From shop@example.com Tue Oct 22 11:11:11 2024\r\n");
        mbox.extend_from_slice(&eml);
        mbox.extend_from_slice(b"\r\n");
    }
    t.write("mail/order.eml", &eml);
    t.write("mail/Inbox", &mbox);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(!r.stdout().contains(&number), "full number in output");
    let f = findings(&recs);
    let paths: Vec<&str> = f.iter().map(|x| s(x, "path")).collect();
    for p in [
        "./mail/order.eml!orders.zip!cards.csv",
        "./mail/Inbox!msg-1!orders.zip!cards.csv",
        "./mail/Inbox!msg-2!orders.zip!cards.csv",
    ] {
        let x = f.iter().find(|x| s(x, "path") == p).unwrap_or_else(|| panic!("{p} not in {paths:?}"));
        assert_eq!(s(x, "confidence"), "critical", "{p}");
        assert!(strs(x, "decoders").ends_with(&["base64".to_string(), "zip".to_string()]), "{p}: {:?}", x["decoders"]);
    }
    let body: Vec<_> = f.iter().filter(|x| s(x, "encoding") == "iso-2022-jp").collect();
    assert_eq!(body.len(), 3, "{paths:?}");
    assert!(body.iter().all(|x| strs(x, "signals").iter().any(|s| s == "keyword:カード番号")));
    assert!(of_type(&recs, "skipped").is_empty(), "{}", r.show());
}

#[test]
fn gzip_bomb_is_skipped_by_its_ratio_and_the_run_is_incomplete() {
    let t = TestDir::new();
    t.write("bomb.gz", gzip(&vec![0u8; 64 << 20]));
    t.write("ok.txt", "nothing\n");
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 3, "{}", r.show());
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert!(s(sk[0], "path").starts_with("./bomb.gz"), "{}", r.show());
    assert!(s(sk[0], "reason").starts_with("limit max-ratio"), "{}", r.show());
    assert_eq!(s(sk[0], "kind"), "limit");
}

#[test]
fn nesting_beyond_max_depth_is_skipped_and_shallower_data_is_found() {
    let t = TestDir::new();
    let number = pan("453201", 16, 303);
    let mut data = order(&number).into_bytes();
    let mut top = zip_of(&[("level0.csv", &data)]);
    for level in 1..6 {
        data = zip_of(&[(&format!("level{level}.zip"), &top), ("shallow.csv", order(&number).as_bytes())]);
        top = data.clone();
    }
    t.write("nested.zip", &top);
    let (r, recs) = scan_jsonl(t.path(), &["--max-depth", "3", "."]);
    // Findings decide the exit code whatever the coverage (SPEC §2).
    assert_eq!(r.code, 1, "{}", r.show());
    assert_eq!(crate::util::summary(&recs)["skipped"], 1, "{}", r.show());
    let sk = of_type(&recs, "skipped");
    assert!(!sk.is_empty() && sk.iter().all(|x| s(x, "reason").starts_with("limit max-depth")), "{}", r.show());
    let depths: Vec<usize> = findings(&recs).iter().map(|x| s(x, "path").matches('!').count()).collect();
    assert!(!depths.is_empty() && depths.iter().all(|&d| d <= 3), "{depths:?}");
}

#[test]
fn truncated_archive_keeps_what_was_read_and_reports_the_damage() {
    let t = TestDir::new();
    let number = pan("453201", 16, 304);
    let filler: Vec<u8> = (0..200_000u32).map(|i| b"abcdefghij\n"[(i % 11) as usize]).collect();
    let tgz = gzip(&tar_of(&[("a/orders.csv", order(&number).as_bytes()), ("b/filler.txt", &filler)]));
    t.write("cut.tar.gz", &tgz[..tgz.len() * 2 / 3]);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert_eq!(r.code, 1, "{}", r.show());
    assert_eq!(findings(&recs).len(), 1, "{}", r.show());
    assert_eq!(s(findings(&recs)[0], "path"), "./cut.tar.gz!a/orders.csv");
    let sk = of_type(&recs, "skipped");
    assert!(!sk.is_empty() && sk.iter().all(|x| s(x, "reason").starts_with("corrupt archive")), "{}", r.show());
}

/// A corrupt tar member named after a card number: the library's error quotes the name,
/// and neither the skip's path nor its reason may show the number.
#[test]
fn corrupt_member_named_after_a_card_number_does_not_leak_it() {
    let t = TestDir::new();
    let number = pan("453201", 16, 305);
    let mut tar = tar_of(&[(&format!("{number}.csv"), b"x\n")]);
    // Garble the size field and fix the checksum, so only the size is wrong.
    tar[124..136].copy_from_slice(b"zzzzzzzzzzz\0");
    tar[148..156].copy_from_slice(b"        ");
    let sum: u32 = tar[..512].iter().map(|&b| u32::from(b)).sum();
    tar[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    t.write("bad.tar", &tar);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(!r.stdout().contains(&number) && !r.stderr().contains(&number), "{}", r.show());
    assert_eq!(r.code, 3, "{}", r.show());
    assert!(!of_type(&recs, "skipped").is_empty(), "{}", r.show());
}

/// An encrypted zip member is skipped as `encrypted member`; the other members are read.
/// (The flag is set on a stored member: what matters is that the reader honours it.)
#[test]
fn encrypted_zip_member_is_skipped_and_the_rest_is_scanned() {
    let t = TestDir::new();
    let secret = pan("453201", 16, 306);
    let open = pan("535310", 16, 307);
    let mut zip = zip_of(&[("secret.csv", order(&secret).as_bytes()), ("open.csv", order(&open).as_bytes())]);
    // Set bit 0 (encrypted) of the general-purpose flags of the first member, in its local
    // header (offset 6) and its central-directory entry (offset 8 after `PK\x01\x02`).
    zip[6] |= 1;
    let cd = zip.windows(4).position(|w| w == b"PK\x01\x02").expect("central directory");
    zip[cd + 8] |= 1;
    t.write("export.zip", &zip);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(!r.stdout().contains(&secret) && !r.stdout().contains(&open), "full number in output");
    assert_eq!(r.code, 1, "{}", r.show());
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), "./export.zip!secret.csv");
    assert!(s(sk[0], "reason").contains("encrypted"), "{}", r.show());
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./export.zip!open.csv");
    assert_eq!(s(f[0], "confidence"), "critical");
}

/// A tar with 100,001 members (empty files after one with card data) trips the default
/// member limit: a `limit max-members` skip, and the member before it is still found.
#[test]
fn tar_with_more_members_than_the_limit_is_skipped_after_what_was_read() {
    let t = TestDir::new();
    let number = pan("453201", 16, 308);
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    };
    add("orders.csv", order(&number).as_bytes());
    for i in 0..100_000 {
        add(&format!("m/{i}"), b"");
    }
    let tgz = b.into_inner().unwrap().finish().unwrap();
    t.write("many.tar.gz", &tgz);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(!r.stdout().contains(&number), "full number in output");
    let sk = of_type(&recs, "skipped");
    assert_eq!(sk.len(), 1, "{}", r.show());
    assert_eq!(s(sk[0], "path"), "./many.tar.gz");
    assert!(s(sk[0], "reason").starts_with("limit max-members"), "{}", r.show());
    assert_eq!(s(sk[0], "kind"), "limit");
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./many.tar.gz!orders.csv");
    // Findings decide the exit code whatever the coverage (SPEC §2).
    assert_eq!(r.code, 1, "{}", r.show());
}

/// Every compressed-stream format: the member is named after the stream, the decoder is
/// in the chain, and the order row is critical.
#[test]
fn card_data_in_every_compressed_stream_format() {
    let t = TestDir::new();
    let number = pan("356600", 16, 309);
    let csv = order(&number);
    t.write("exports/orders.csv.bz2", canary::bzip2(csv.as_bytes()).unwrap());
    t.write("exports/orders.csv.xz", canary::xz(csv.as_bytes()).unwrap());
    t.write("exports/orders.csv.zst", canary::zstd(csv.as_bytes()).unwrap());
    t.write("exports/orders.tar.xz", canary::xz(&tar_of(&[("db/orders.csv", csv.as_bytes())])).unwrap());
    let (r, recs) = scan_jsonl(t.path(), &["exports"]);
    assert!(!r.stdout().contains(&number) && !r.stderr().contains(&number), "full number in output");
    assert_eq!(r.code, 1, "{}", r.show());
    let f = findings(&recs);
    let mut got: Vec<(String, Vec<String>, String)> =
        f.iter().map(|x| (s(x, "path").to_owned(), strs(x, "decoders"), s(x, "confidence").to_owned())).collect();
    got.sort();
    let want = |p: &str, d: &[&str]| (p.to_owned(), d.iter().map(|x| (*x).to_owned()).collect(), "critical".to_owned());
    assert_eq!(
        got,
        vec![
            want("exports/orders.csv.bz2!orders.csv", &["bzip2"]),
            want("exports/orders.csv.xz!orders.csv", &["xz"]),
            want("exports/orders.csv.zst!orders.csv", &["zstd"]),
            want("exports/orders.tar.xz!db/orders.csv", &["xz", "tar"]),
        ],
        "{}",
        mask_digits(&r.stdout())
    );
    assert!(f.iter().all(|x| s(x, "first6") == &number[..6] && strs(x, "elements") == ["pan", "expiry", "cvv"]));
}

/// An Outlook `.msg`: the UTF-16 body property is decoded and the order in it is critical.
#[test]
fn card_data_in_an_outlook_msg_body() {
    let t = TestDir::new();
    let number = pan("453201", 16, 310);
    let msg =
        canary::msg(&format!("Thank you for your order.\r\nCard number: {number}\r\nExp: 12/29 CVV: 123\r\n")).unwrap();
    t.write("mail/order.msg", &msg);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(!r.stdout().contains(&number) && !r.stderr().contains(&number), "full number in output");
    assert_eq!(r.code, 1, "{}", r.show());
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./mail/order.msg!body");
    assert_eq!(strs(f[0], "decoders"), ["outlook-msg"]);
    assert_eq!(s(f[0], "encoding"), "utf-16le");
    assert_eq!(s(f[0], "confidence"), "critical");
}

/// A 7z backup (issue 4): the order CSV inside is found at its member path with `7z` as
/// its decoder, critical, and the number never reaches stdout or stderr.
#[test]
fn card_data_in_a_7z_backup_is_critical_at_its_member_path() {
    let t = TestDir::new();
    let number = pan("453201", 16, 308);
    let seven =
        canary::sevenz_of(&[("db/orders.csv", order(&number).as_bytes()), ("readme.txt", b"nothing\n")]).unwrap();
    t.write("backup.7z", &seven);
    let (r, recs) = scan_jsonl(t.path(), &["."]);
    assert!(!r.stdout().contains(&number) && !r.stderr().contains(&number), "full number in output");
    assert_eq!(r.code, 1, "{}", mask_digits(&r.stdout()));
    assert!(of_type(&recs, "skipped").is_empty(), "{}", mask_digits(&r.stdout()));
    let f = findings(&recs);
    assert_eq!(f.len(), 1, "{}", mask_digits(&r.stdout()));
    assert_eq!(s(f[0], "path"), "./backup.7z!db/orders.csv");
    assert_eq!(strs(f[0], "decoders"), ["7z"]);
    assert_eq!(s(f[0], "confidence"), "critical");
}
