//! Canaries: one small file per supported format, each holding the public test card
//! number 4111 1111 1111 1111 with an expiry date, so that a user (or an assessor, as
//! evidence for PCI DSS A3.2.5.1) can prove that pansweep finds card data in every
//! format it claims to read — on their own host, with their own build.
//!
//! [`canaries`] makes the files in memory; `pansweep canary DIR` writes them, scans the
//! directory and checks that each expected finding came out. Only the public test number
//! is ever used (class `test_pan`).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::finding::Class;

/// The public test number every canary holds (Visa's documented test PAN).
pub const TEST_PAN: &str = "4111111111111111";

/// One canary file.
#[derive(Clone, Debug)]
pub struct Canary {
    /// The format it stands for, as shown in the table (`utf-16le`, `tar.gz`, …).
    pub format: &'static str,
    /// File name to write.
    pub file: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The path, relative to the directory, at which the finding must be reported
    /// (`orders.tar.gz!orders.csv`).
    pub expect: &'static str,
}

/// The expected class of every canary finding.
pub const EXPECT_CLASS: Class = Class::TestPan;

/// A line of card data in plain text.
fn line(pan: &str) -> String {
    format!("order 1001 card number {pan} exp 12/29\n")
}

fn grouped(sep: &str) -> String {
    [&TEST_PAN[..4], &TEST_PAN[4..8], &TEST_PAN[8..12], &TEST_PAN[12..]].join(sep)
}

/// `pan` with every digit written by `f` (an escape: `%3x`, `\u003x`, `&#5x;`, `=3x`).
fn escaped(pan: &str, f: impl Fn(u32) -> String) -> String {
    pan.chars().filter_map(|c| c.to_digit(10)).map(f).collect()
}

fn full_width(s: &str) -> String {
    s.chars().map(|c| c.to_digit(10).and_then(|d| char::from_u32(0xFF10 + d)).unwrap_or(c)).collect()
}

fn ja_record() -> String {
    format!("カード番号：{}\n有効期限：１２／２９\n", full_width(&grouped("－")))
}

/// `s` in UTF-16, little- or big-endian, with or without a byte-order mark.
pub fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend(if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
    }
    out.extend(s.encode_utf16().flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() }));
    out
}

fn legacy(enc: &'static encoding_rs::Encoding, s: &str) -> Vec<u8> {
    enc.encode(s).0.into_owned()
}

/// `data` gzip-compressed.
///
/// # Errors
/// Only if the in-memory encoder fails.
pub fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data)?;
    e.finish()
}

/// A tar archive of `(name, bytes)` members.
///
/// # Errors
/// Only if the in-memory builder fails (e.g. a name too long for the format).
pub fn tar_of(members: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, *data)?;
    }
    b.into_inner()
}

/// A zip archive of `(name, bytes)` members, deflated.
///
/// # Errors
/// Only if the in-memory writer fails.
pub fn zip_of(members: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (name, data) in members {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).map_err(io::Error::other)?;
        w.write_all(data)?;
    }
    Ok(w.finish().map_err(io::Error::other)?.into_inner())
}

/// A 7z archive (LZMA2, one block per file) of `members`, built in memory.
///
/// # Errors
/// Only if the in-memory writer fails.
pub fn sevenz_of(members: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut w = sevenz_rust2::ArchiveWriter::new(io::Cursor::new(Vec::new())).map_err(io::Error::other)?;
    for (name, data) in members {
        w.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*data)).map_err(io::Error::other)?;
    }
    Ok(w.finish()?.into_inner())
}

/// `data` bzip2-compressed.
///
/// # Errors
/// Only if the in-memory encoder fails.
pub fn bzip2(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data)?;
    e.finish()
}

/// `data` xz-compressed.
///
/// # Errors
/// Only if the in-memory encoder fails.
pub fn xz(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data)?;
    e.finish()
}

/// `data` zstd-compressed.
///
/// # Errors
/// Only if the in-memory encoder fails.
pub fn zstd(data: &[u8]) -> io::Result<Vec<u8>> {
    zstd::encode_all(data, 3)
}

/// Base64 with MIME-style line breaks (CRLF every 76 characters).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = |k: usize| u32::from(c.get(k).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        for k in 0..4 {
            out.push(if k <= c.len() { char::from(A[(n >> (18 - 6 * k)) as usize & 63]) } else { '=' });
        }
    }
    out
}

/// A PDF of `objects` (object `i + 1` is `objects[i]`, the bytes between `obj` and
/// `endobj`; object 1 is the catalog) with a correct xref table.
pub fn pdf_of(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    let n = objects.len() + 1;
    out.extend_from_slice(format!("trailer\n<< /Size {n} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

/// A PDF stream object: `dict` entries (without `<<` `>>`) and `data`, Flate-compressed
/// when `compress`.
///
/// # Errors
/// Only if the in-memory encoder fails.
pub fn pdf_stream(dict: &str, data: &[u8], compress: bool) -> io::Result<Vec<u8>> {
    let (data, filter) = if compress {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data)?;
        (e.finish()?, " /Filter /FlateDecode")
    } else {
        (data.to_vec(), "")
    };
    let mut out = format!("<< {dict}{filter} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\nendstream");
    Ok(out)
}

/// A PDF with one page per content stream (Flate-compressed, padded with white space so
/// that deflate really compresses: a short stream may be stored as it is), font `/F1` =
/// Helvetica.
///
/// # Errors
/// Only if the in-memory encoder fails.
pub fn pdf_pages(contents: &[&[u8]]) -> io::Result<Vec<u8>> {
    let kids: Vec<String> = (0..contents.len()).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), contents.len()).into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    for (i, c) in contents.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        objects.push(pdf_stream("", &[c, &[b' '; 512][..]].concat(), true)?);
    }
    Ok(pdf_of(&objects))
}

fn docx(text: &str) -> io::Result<Vec<u8>> {
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    );
    let types = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
                 <Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
    zip_of(&[("[Content_Types].xml", types.as_bytes()), ("word/document.xml", doc.as_bytes())])
}

/// An OLE compound file (the container of legacy `.doc`/`.xls` and Outlook `.msg`) of
/// `(stream path, bytes)` streams; storages on the way are created.
///
/// # Errors
/// Only if the in-memory writer fails.
pub fn ole_of(streams: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut cf = cfb::CompoundFile::create(io::Cursor::new(Vec::new()))?;
    for (path, data) in streams {
        if let Some((dir, _)) = path.rsplit_once('/').filter(|(d, _)| !d.is_empty()) {
            cf.create_storage_all(dir)?;
        }
        cf.create_stream(path)?.write_all(data)?;
    }
    cf.flush()?;
    Ok(cf.into_inner().into_inner())
}

/// A legacy Word document in miniature: a `WordDocument` stream holding `text` as
/// UTF-16LE after a binary header, as Word 97-2003 stores unicode text.
///
/// # Errors
/// Only if the in-memory writer fails.
pub fn doc(text: &str) -> io::Result<Vec<u8>> {
    let mut word = vec![0xEC, 0xA5, 0xC1, 0x00];
    word.resize(1536, 0);
    word.extend(utf16(text, true, false));
    word.resize(word.len() + 512, 0);
    ole_of(&[("/WordDocument", &word), ("/1Table", &[0u8; 256]), ("/\u{5}SummaryInformation", &[0u8; 64])])
}

/// An Outlook `.msg` in miniature: subject and a UTF-16 body.
///
/// # Errors
/// Only if the in-memory writer fails.
pub fn msg(body: &str) -> io::Result<Vec<u8>> {
    ole_of(&[
        ("/__substg1.0_0037001F", &utf16("order", true, false)),
        ("/__substg1.0_1000001F", &utf16(body, true, false)),
        ("/__properties_version1.0", &[0u8; 32]),
    ])
}

/// An xlsx workbook with one row: `cells` are `(reference, value)`; a value made of
/// digits (and `.`, `E`, `+`) is written as a number (`<v>`), anything else goes to the
/// shared-string table.
///
/// # Errors
/// Only if the in-memory writer fails.
pub fn xlsx(cells: &[(&str, &str)]) -> io::Result<Vec<u8>> {
    const NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let mut strings = String::new();
    let mut row = String::new();
    let mut n = 0;
    for (r, v) in cells {
        let numeric = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b"+.E".contains(&b));
        if numeric {
            let _ = write!(row, r#"<c r="{r}"><v>{v}</v></c>"#);
        } else {
            let _ = write!(strings, "<si><t>{v}</t></si>");
            let _ = write!(row, r#"<c r="{r}" t="s"><v>{n}</v></c>"#);
            n += 1;
        }
    }
    let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
    let sheet = format!(r#"{xml}<worksheet xmlns="{NS}"><sheetData><row r="1">{row}</row></sheetData></worksheet>"#);
    let sst = format!(r#"{xml}<sst xmlns="{NS}" count="{n}" uniqueCount="{n}">{strings}</sst>"#);
    let book = format!(r#"{xml}<workbook xmlns="{NS}"><sheets><sheet name="orders" sheetId="1"/></sheets></workbook>"#);
    zip_of(&[
        ("xl/workbook.xml", book.as_bytes()),
        ("xl/sharedStrings.xml", sst.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ])
}

fn eml(body_charset: &str, body: &[u8], attachment: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(
        b"From: shop@example.com\r\nTo: ops@example.com\r\nSubject: pansweep canary\r\nMIME-Version: 1.0\r\n\
          Content-Type: multipart/mixed; boundary=\"canary\"\r\n\r\n--canary\r\n",
    );
    m.extend_from_slice(
        format!("Content-Type: text/plain; charset={body_charset}\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
            .as_bytes(),
    );
    m.extend_from_slice(body);
    if let Some((name, data)) = attachment {
        m.extend_from_slice(
            format!(
                "\r\n--canary\r\nContent-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                base64(data)
            )
            .as_bytes(),
        );
    }
    m.extend_from_slice(b"\r\n--canary--\r\n");
    m
}

/// Every canary, in the order of the table.
///
/// # Errors
/// Only if an in-memory encoder fails, which would be a bug in a dependency.
pub fn canaries() -> io::Result<Vec<Canary>> {
    let text = line(TEST_PAN);
    let csv = format!("order_id,card_number,exp\n1001,{TEST_PAN},12/29\n");
    let ja = ja_record();
    let c = |format, file, bytes, expect| Canary { format, file, bytes, expect };
    Ok(vec![
        c("text", "plain.txt", text.clone().into_bytes(), "plain.txt"),
        c("csv", "orders.csv", csv.clone().into_bytes(), "orders.csv"),
        c(
            "json",
            "order.json",
            format!("{{\"card_number\":\"{TEST_PAN}\",\"exp\":\"12/29\"}}\n").into_bytes(),
            "order.json",
        ),
        c("grouped", "grouped.txt", line(&grouped("-")).into_bytes(), "grouped.txt"),
        c("binary", "data.bin", [&[0u8, 1, 2, 0][..], text.as_bytes(), &[0xFF, 0]].concat(), "data.bin"),
        c("full-width utf-8", "fullwidth.txt", ja.clone().into_bytes(), "fullwidth.txt"),
        c("utf-16le (bom)", "utf16le-bom.txt", utf16(&ja, true, true), "utf16le-bom.txt"),
        c("utf-16le", "utf16le.txt", utf16(&text, true, false), "utf16le.txt"),
        c("utf-16be (bom)", "utf16be-bom.txt", utf16(&ja, false, true), "utf16be-bom.txt"),
        c("shift_jis", "sjis.txt", legacy(encoding_rs::SHIFT_JIS, &ja), "sjis.txt"),
        c("euc-jp", "eucjp.txt", legacy(encoding_rs::EUC_JP, &ja), "eucjp.txt"),
        c("iso-2022-jp", "iso2022jp.txt", legacy(encoding_rs::ISO_2022_JP, &ja), "iso2022jp.txt"),
        c("gzip", "orders.csv.gz", gzip(csv.as_bytes())?, "orders.csv.gz!orders.csv"),
        c("bzip2", "orders.csv.bz2", bzip2(csv.as_bytes())?, "orders.csv.bz2!orders.csv"),
        c("xz", "orders.csv.xz", xz(csv.as_bytes())?, "orders.csv.xz!orders.csv"),
        c("zstd", "orders.csv.zst", zstd(csv.as_bytes())?, "orders.csv.zst!orders.csv"),
        c("tar", "backup.tar", tar_of(&[("db/orders.csv", csv.as_bytes())])?, "backup.tar!db/orders.csv"),
        c(
            "tar.gz",
            "backup.tar.gz",
            gzip(&tar_of(&[("db/orders.csv", csv.as_bytes())])?)?,
            "backup.tar.gz!db/orders.csv",
        ),
        c("zip", "export.zip", zip_of(&[("orders.csv", csv.as_bytes())])?, "export.zip!orders.csv"),
        c(
            "zip in tar.gz",
            "nested.tar.gz",
            gzip(&tar_of(&[("x/export.zip", &zip_of(&[("orders.csv", csv.as_bytes())])?)])?)?,
            "nested.tar.gz!x/export.zip!orders.csv",
        ),
        c("7z", "backup.7z", sevenz_of(&[("orders.csv", csv.as_bytes())])?, "backup.7z!orders.csv"),
        c("docx", "order.docx", docx(&text)?, "order.docx!word/document.xml"),
        c("base64", "capture.log", format!("{}\n", base64(text.as_bytes())).into_bytes(), "capture.log"),
        c(
            "url-encoded",
            "access.log",
            format!("GET /pay?card={}&exp=12%2F29 HTTP/1.1\n", grouped("%20")).into_bytes(),
            "access.log",
        ),
        c(
            "json \\u escapes",
            "escaped.json",
            format!("{{\"card_number\":\"{}\",\"exp\":\"12/29\"}}\n", escaped(TEST_PAN, |d| format!("\\u003{d}")))
                .into_bytes(),
            "escaped.json",
        ),
        c(
            "quoted-printable",
            "order.qp.txt",
            format!("card number {} exp 12/29\n", escaped(TEST_PAN, |d| format!("=3{d}"))).into_bytes(),
            "order.qp.txt",
        ),
        c(
            "html entities",
            "order.html",
            format!("<p>card number {} exp 12/29</p>\n", escaped(TEST_PAN, |d| format!("&#{};", 48 + d))).into_bytes(),
            "order.html",
        ),
        c(
            "docx split runs",
            "runs.docx",
            docx(&format!("card number {}</w:t></w:r><w:r><w:t>{} exp 12/29", &TEST_PAN[..8], &TEST_PAN[8..]))?,
            "runs.docx!word/document.xml",
        ),
        c(
            "xlsx",
            "orders.xlsx",
            xlsx(&[("A1", "card number"), ("B1", TEST_PAN), ("C1", "12/29")])?,
            "orders.xlsx!xl/worksheets/sheet1.xml",
        ),
        c("doc (ole)", "order.doc", doc(&text)?, "order.doc!WordDocument"),
        c("msg (outlook)", "order.msg", msg(&text)?, "order.msg!body"),
        c("eml", "order.eml", eml("us-ascii", text.as_bytes(), None), "order.eml!part-2"),
        c(
            "eml iso-2022-jp",
            "order-ja.eml",
            eml("iso-2022-jp", &legacy(encoding_rs::ISO_2022_JP, &ja), None),
            "order-ja.eml!part-2",
        ),
        c(
            "eml attachment",
            "attachment.eml",
            eml("us-ascii", b"see attachment\r\n", Some(("orders.zip", &zip_of(&[("orders.csv", csv.as_bytes())])?))),
            "attachment.eml!orders.zip!orders.csv",
        ),
        c(
            "sqlite",
            "orders.sqlite",
            crate::source::sqlite::build(&format!(
                "CREATE TABLE orders(id INTEGER PRIMARY KEY, card_no TEXT, exp TEXT);\
                 INSERT INTO orders VALUES (1001, '{TEST_PAN}', '12/29');"
            ))
            .map_err(io::Error::other)?,
            "orders.sqlite!main.orders.card_no",
        ),
        c(
            "mbox",
            "Inbox",
            [b"From shop@example.com Mon Jan  1 00:00:00 2024\r\n".as_slice(), &eml("us-ascii", text.as_bytes(), None)]
                .concat(),
            "Inbox!msg-1!part-2",
        ),
        c(
            "pdf",
            "order.pdf",
            pdf_pages(&[format!(
                "BT /F1 12 Tf 72 720 Td (Card number: {}) Tj 0 -14 Td (Exp: 12/29) Tj ET",
                grouped(" ")
            )
            .as_bytes()])?,
            "order.pdf!page-1",
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_expectations_start_with_the_file() {
        let all = canaries().unwrap();
        let mut files: Vec<&str> = all.iter().map(|c| c.file).collect();
        files.sort_unstable();
        files.dedup();
        assert_eq!(files.len(), all.len());
        for c in &all {
            assert!(c.expect == c.file || c.expect.starts_with(&format!("{}!", c.file)), "{}", c.format);
            assert!(!c.bytes.is_empty());
        }
    }
}
