//! Spreadsheet cells that hold a card number *as a number*.
//!
//! A PAN typed into Excel is stored as a binary double and shown as `4.11111E+15`; Excel
//! keeps only 15 significant digits, so a 16-digit PAN comes back with its last digit
//! replaced by 0 (`4111111111111110`) and fails the Luhn check: the ordinary scan drops
//! it. The PAN is still there for anyone who reads the sheet, less one digit, and PCI DSS
//! counts it. This module finds numeric cell values in the XML of an xlsx worksheet
//! (`<c …><v>4111111111111110</v></c>`, also written in E notation) and of an ODF
//! spreadsheet (`office:value="4111111111111110"`) and expands them to digit strings; the
//! scanner then reports the ones that fit a brand (see `Scanner::scan_sheet_numbers`).
//!
//! Pure functions over bytes: no I/O.

use std::ops::Range;

use memchr::memmem;

/// What the start of a file says about spreadsheet XML in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SheetXml {
    /// An OOXML worksheet (`xl/worksheets/sheetN.xml`): values in `<v>` elements.
    Ooxml,
    /// ODF spreadsheet content (`content.xml` of an .ods): values in `office:value`.
    Odf,
}

impl SheetXml {
    /// Recognises spreadsheet XML from the first bytes of a file or member.
    pub fn sniff(head: &[u8]) -> Option<SheetXml> {
        let head = &head[..head.len().min(4096)];
        if !head.starts_with(b"<?xml") && !head.starts_with(b"\xEF\xBB\xBF<?xml") && !head.starts_with(b"<") {
            return None;
        }
        if memmem::find(head, b"<worksheet").is_some() || memmem::find(head, b":worksheet").is_some() {
            return Some(SheetXml::Ooxml);
        }
        if memmem::find(head, b"opendocument:spreadsheet").is_some()
            || memmem::find(head, b"office:spreadsheet").is_some()
        {
            return Some(SheetXml::Odf);
        }
        None
    }
}

/// A numeric cell value expanded to its integer digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Number {
    digits: [u8; 19],
    len: u8,
    /// The value was written as plain digits (the ordinary scan saw the same digits).
    pub plain: bool,
}

impl Number {
    /// The integer's decimal digits (no sign, no leading zero).
    pub fn digits(&self) -> &[u8] {
        &self.digits[..usize::from(self.len)]
    }

    /// Significant digits stored: the digits before the trailing zeros.
    pub fn significant(&self) -> usize {
        let d = self.digits();
        d.len() - d.iter().rev().take_while(|&&b| b == b'0').count()
    }
}

/// Parses a cell value: digits, an optional fraction, an optional exponent
/// (`4111111111111110`, `4.11111111111111E+15`, `4.1111111111111101E15`). Returns the
/// value's integer digits when it is a whole number of 12 to 19 digits.
pub fn parse(text: &[u8]) -> Option<Number> {
    let (mantissa, exp) = match text.iter().position(|&b| b == b'E' || b == b'e') {
        Some(i) => {
            let e = &text[i + 1..];
            let e = e.strip_prefix(b"+").unwrap_or(e);
            if e.is_empty() || e.len() > 3 || !e.iter().all(u8::is_ascii_digit) {
                return None;
            }
            (&text[..i], e.iter().fold(0usize, |a, &d| a * 10 + usize::from(d - b'0')))
        }
        None => (text, 0),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &[][..]),
    };
    if int.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    // The fraction digits beyond the exponent must be zeros (a whole number).
    let shifted = frac.len().min(exp);
    if frac[shifted..].iter().any(|&d| d != b'0') {
        return None;
    }
    let int = &int[int.iter().position(|&d| d != b'0').unwrap_or(int.len())..];
    let len = int.len() + exp;
    if int.is_empty() || !(12..=19).contains(&len) {
        return None;
    }
    let mut digits = [b'0'; 19];
    digits[..int.len()].copy_from_slice(int);
    digits[int.len()..int.len() + shifted].copy_from_slice(&frac[..shifted]);
    Some(Number { digits, len: len as u8, plain: exp == 0 && frac.is_empty() })
}

/// Calls `f(span, number)` for every numeric cell value of `kind` whose value starts in
/// `report` and is a whole number of 12 to 19 digits; `span` is the value's text.
pub fn numeric_cells(buf: &[u8], kind: SheetXml, report: Range<usize>, mut f: impl FnMut(Range<usize>, Number)) {
    let (open, close): (&[u8], u8) = match kind {
        SheetXml::Ooxml => (b"<v>", b'<'),
        SheetXml::Odf => (b"office:value=\"", b'"'),
    };
    let lo = report.start.saturating_sub(open.len());
    let hi = report.end.min(buf.len());
    if lo >= hi {
        return;
    }
    for at in memmem::find_iter(&buf[lo..hi], open) {
        let start = lo + at + open.len();
        if !report.contains(&start) {
            continue;
        }
        // A cell value is short: 32 bytes cover every E-notation form.
        let tail = &buf[start..(start + 32).min(buf.len())];
        let Some(end) = memchr::memchr(close, tail) else { continue };
        if let Some(n) = parse(&tail[..end]) {
            f(start..start + end, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Option<String> {
        parse(s.as_bytes()).map(|n| String::from_utf8(n.digits().to_vec()).unwrap())
    }

    #[test]
    fn parses_plain_and_e_notation_whole_numbers() {
        assert_eq!(digits("4111111111111110").as_deref(), Some("4111111111111110"));
        assert!(parse(b"4111111111111110").unwrap().plain);
        assert_eq!(digits("4.11111111111111E+15").as_deref(), Some("4111111111111110"));
        assert_eq!(digits("4.111111111111110E15").as_deref(), Some("4111111111111110"));
        assert_eq!(digits("4.1111111111111101E15"), None); // not a whole number
        assert!(!parse(b"4.11111111111111E+15").unwrap().plain);
        assert_eq!(digits("3.5301113333E+15").as_deref(), Some("3530111333300000"));
        assert_eq!(digits("0004111111111111110").as_deref(), Some("4111111111111110"));
    }

    #[test]
    fn rejects_fractions_short_long_and_junk() {
        assert_eq!(digits("4.111111111111115E+3"), None); // a fraction
        assert_eq!(digits("12345"), None);
        assert_eq!(digits("1E+25"), None);
        assert_eq!(digits("-4111111111111110"), None);
        assert_eq!(digits("4.1E"), None);
        assert_eq!(digits("E+15"), None);
        assert_eq!(digits("41111111111111.5"), None);
    }

    #[test]
    fn significant_digits_skip_trailing_zeros() {
        assert_eq!(parse(b"4111111111111110").unwrap().significant(), 15);
        assert_eq!(parse(b"3.5301113333E+15").unwrap().significant(), 11);
    }

    #[test]
    fn finds_values_in_both_xml_dialects() {
        let x = br#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>4.11111111111111E+15</v></c></row></sheetData>"#;
        let mut seen = Vec::new();
        numeric_cells(x, SheetXml::Ooxml, 0..x.len(), |r, n| seen.push((r, n.digits().to_vec())));
        assert_eq!(seen.len(), 1);
        assert_eq!(&x[seen[0].0.clone()], b"4.11111111111111E+15");
        let o = br#"<table:table-cell office:value-type="float" office:value="4111111111111110" calcext:value-type="float">"#;
        let mut n = 0;
        numeric_cells(o, SheetXml::Odf, 0..o.len(), |_, _| n += 1);
        assert_eq!(n, 1);
    }

    #[test]
    fn sniffs_sheets_not_other_xml() {
        let ws = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;
        assert_eq!(SheetXml::sniff(ws), Some(SheetXml::Ooxml));
        let ods = br#"<?xml version="1.0"?><office:document-content><office:body><office:spreadsheet>"#;
        assert_eq!(SheetXml::sniff(ods), Some(SheetXml::Odf));
        assert_eq!(SheetXml::sniff(br#"<?xml version="1.0"?><w:document>"#), None);
        assert_eq!(SheetXml::sniff(b"worksheet"), None);
    }
}
