//! `--format csv`: one row per finding, for spreadsheets (SPEC §7). Only findings are
//! rows: skipped items, database tables and the summary are left to the exit code and
//! the other formats.
//!
//! Spreadsheet-safe: RFC 4180 quoting, CRLF row ends, a UTF-8 byte-order mark so Excel
//! reads Japanese paths as UTF-8, and a leading `'` on any field a spreadsheet could take
//! for a formula, because file names, table and column names and context are chosen by
//! whoever wrote the data. See: <https://owasp.org/www-community/attacks/CSV_Injection>
//!
//! Rows are built from [`FindingRecord`]s, which hold only a masked view and a
//! fingerprint: no full PAN, expiry or security code can reach a row.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

use super::{FindingRecord, ReportWriter, RunInfo, Summary, TableSummary};
use crate::source::Skip;

/// The header row, in column order.
pub const COLUMNS: [&str; 20] = [
    "confidence",
    "class",
    "path",
    "engine",
    "table",
    "column",
    "row_key",
    "line",
    "byte_offset",
    "brands",
    "first6",
    "last4",
    "length",
    "masked",
    "fingerprint",
    "elements",
    "signals",
    "decoders",
    "encoding",
    "context",
];

/// UTF-8 byte-order mark: without it Excel reads a CSV in the system code page (Shift JIS
/// on Japanese Windows) and garbles non-ASCII paths.
const BOM: &str = "\u{FEFF}";

/// The CSV writer.
pub struct Csv<W: Write> {
    out: BufWriter<W>,
    row: String,
    header_written: bool,
}

impl<W: Write> Csv<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Csv<W> {
        Csv { out: BufWriter::with_capacity(64 * 1024, out), row: String::with_capacity(1024), header_written: false }
    }

    /// The byte-order mark and the header row, once, before anything else.
    fn header(&mut self) -> io::Result<()> {
        if self.header_written {
            return Ok(());
        }
        self.header_written = true;
        self.row.clear();
        self.row.push_str(BOM);
        for (i, name) in COLUMNS.iter().enumerate() {
            if i > 0 {
                self.row.push(',');
            }
            self.row.push_str(name);
        }
        self.row.push_str("\r\n");
        self.out.write_all(self.row.as_bytes())
    }
}

/// Whether a spreadsheet may read a cell starting with `c` as a formula (OWASP's list,
/// plus the full-width forms, which Japanese Excel may also take as a formula start).
fn starts_formula(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}')
}

/// Appends one field to `row`: a leading `'` when it could start a formula, then quoted
/// (inner quotes doubled) when it holds a comma, quote, CR or LF (RFC 4180), or a
/// semicolon or tab, the separators spreadsheets use in other locales and import dialogs.
fn push_field(row: &mut String, value: &str) {
    let guard = value.chars().next().is_some_and(starts_formula);
    let quote = value.contains([',', '"', '\r', '\n', ';', '\t']);
    if quote {
        row.push('"');
    }
    if guard {
        row.push('\'');
    }
    if quote {
        for c in value.chars() {
            if c == '"' {
                row.push('"');
            }
            row.push(c);
        }
        row.push('"');
    } else {
        row.push_str(value);
    }
}

/// `a<sep>b<sep>c`.
fn joined<T: std::fmt::Display>(items: impl IntoIterator<Item = T>, sep: &str) -> String {
    let mut s = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        let _ = write!(s, "{item}");
    }
    s
}

impl<W: Write + Send> ReportWriter for Csv<W> {
    fn begin(&mut self, _run: &RunInfo) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }

    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()> {
        self.header()?;
        let f = &rec.finding;
        // A database row is placed by its key: line and offset mean nothing there (as in
        // the JSONL record, where they are absent).
        let (line, byte_offset) = if rec.engine.is_none() {
            (rec.line.to_string(), rec.byte_offset.to_string())
        } else {
            (String::new(), String::new())
        };
        let row_key =
            rec.row_key.as_ref().map(|k| joined(k.iter().map(|(c, v)| format!("{c}={v}")), "; ")).unwrap_or_default();
        let fields: [&str; COLUMNS.len()] = [
            f.confidence.as_str(),
            f.class.as_str(),
            &rec.path,
            rec.engine.as_deref().unwrap_or(""),
            rec.table.as_deref().unwrap_or(""),
            rec.column.as_deref().unwrap_or(""),
            &row_key,
            &line,
            &byte_offset,
            &joined(&f.brands, "/"),
            &f.view.first6,
            &f.view.last4,
            &f.view.len.to_string(),
            &f.view.masked(),
            &f.fingerprint.map(|fp| fp.to_string()).unwrap_or_default(),
            &joined(f.elements.iter().map(|e| e.as_str()), "+"),
            &joined(&f.signals, "; "),
            &joined(&rec.decoders, "/"),
            &rec.encoding,
            f.context.as_deref().unwrap_or(""),
        ];
        self.row.clear();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.row.push(',');
            }
            push_field(&mut self.row, field);
        }
        self.row.push_str("\r\n");
        // One write_all per row: BufWriter never splits a row across flushes, so a run
        // stopped at any point leaves whole rows.
        self.out.write_all(self.row.as_bytes())
    }

    fn skipped(&mut self, _skip: &Skip) -> io::Result<()> {
        Ok(())
    }

    fn table(&mut self, _table: &TableSummary) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::finding::{Class, Confidence, Element, Finding, Fingerprint, Pan, Signal};

    fn field(value: &str) -> String {
        let mut s = String::new();
        push_field(&mut s, value);
        s
    }

    /// An RFC 4180 reader for the tests: rows of fields, quotes undone.
    fn parse(csv: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut cur = String::new();
        let mut chars = csv.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                (true, '"') => quoted = false,
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut cur)),
                (false, '\r') if chars.peek() == Some(&'\n') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut cur));
                    rows.push(std::mem::take(&mut row));
                }
                (_, c) => cur.push(c),
            }
        }
        assert!(cur.is_empty() && row.is_empty(), "last row not ended by CRLF");
        rows
    }

    fn record(pan: &[u8]) -> FindingRecord {
        let pan = Pan::from_digits(pan).expect("a PAN");
        FindingRecord {
            finding: Finding {
                class: Class::TestPan,
                confidence: Confidence::Critical,
                view: pan.view(),
                fingerprint: Some(Fingerprint([0xab; 32])),
                brands: vec![Arc::from("jcb"), Arc::from("rupay")],
                signals: vec![Signal::Luhn, Signal::Keyword(Arc::from("カード番号")), Signal::Row(Element::Cvv)],
                elements: vec![Element::Pan, Element::Expiry, Element::Cvv],
                offset: 0,
                len: 16,
                context: None,
            },
            path: "orders.csv".to_string(),
            table: None,
            column: None,
            line: 3,
            byte_offset: 42,
            decoders: vec!["gzip".to_string(), "tar".to_string()],
            encoding: "utf-8".into(),
            engine: None,
            row_key: None,
        }
    }

    fn write(recs: &[FindingRecord]) -> String {
        let mut buf = Vec::new();
        {
            let mut w = Csv::new(&mut buf);
            for r in recs {
                w.finding(r).unwrap();
            }
            w.finish(&Summary::default()).unwrap();
        }
        String::from_utf8(buf).expect("UTF-8")
    }

    #[test]
    fn plain_fields_are_not_quoted() {
        assert_eq!(field("orders.csv"), "orders.csv");
        assert_eq!(field(""), "");
        assert_eq!(field("注文/カード.txt"), "注文/カード.txt");
        assert_eq!(field("411111******1111"), "411111******1111");
    }

    #[test]
    fn quoting_follows_rfc_4180() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(field("crlf\r\nhere"), "\"crlf\r\nhere\"");
        // Separators of other locales and of import dialogs are quoted too.
        assert_eq!(field("a;b"), "\"a;b\"");
        assert_eq!(field("a\tb"), "\"a\tb\"");
    }

    #[test]
    fn formula_starts_are_guarded() {
        for first in ['=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'] {
            let v = format!("{first}1+2");
            assert_eq!(field(&v), format!("'{v}"), "{first:?}");
        }
        // Tab and CR also need quoting: the guard goes inside the quotes.
        assert_eq!(field("\tcmd"), "\"'\tcmd\"");
        assert_eq!(field("\rcmd"), "\"'\rcmd\"");
        assert_eq!(field("=HYPERLINK(\"x\").txt"), "\"'=HYPERLINK(\"\"x\"\").txt\"");
        assert_eq!(field("-5"), "'-5");
        // Only the first character counts.
        assert_eq!(field("a=b"), "a=b");
        assert_eq!(field("./=x.txt"), "./=x.txt");
    }

    #[test]
    fn bom_and_header_even_without_findings() {
        let out = write(&[]);
        assert!(out.starts_with('\u{FEFF}'), "{out:?}");
        assert_eq!(out, format!("\u{FEFF}{}\r\n", COLUMNS.join(",")));
    }

    #[test]
    fn a_file_finding() {
        let out = write(&[record(b"3530111333300000")]);
        let rows = parse(out.strip_prefix('\u{FEFF}').expect("BOM"));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], COLUMNS);
        assert_eq!(
            rows[1],
            [
                "critical",
                "test_pan",
                "orders.csv",
                "",
                "",
                "",
                "",
                "3",
                "42",
                "jcb/rupay",
                "353011",
                "0000",
                "16",
                "353011******0000",
                &format!("hmac-sha256:{}", "ab".repeat(32)),
                "pan+expiry+cvv",
                "luhn; keyword:カード番号; row:cvv",
                "gzip/tar",
                "utf-8",
                "",
            ]
        );
        // Never more of the PAN than the masked view.
        assert!(!out.contains("3530111333300000"));
    }

    #[test]
    fn a_database_finding_with_row_key() {
        let mut rec = record(b"3530111333300000");
        rec.path = "postgres://app@db1/shop".to_string();
        rec.engine = Some("postgres".into());
        rec.table = Some("public.orders".to_string());
        rec.column = Some("=card,no".to_string());
        rec.row_key = Some(vec![(Arc::from("id"), "48213".to_string()), (Arc::from("region"), "-1".to_string())]);
        rec.finding.context = Some("-- card 353011******0000, cvv ***".to_string());
        let out = write(&[rec]);
        assert!(out.contains(",\"'=card,no\","), "{out}");
        let rows = parse(out.strip_prefix('\u{FEFF}').expect("BOM"));
        let row = &rows[1];
        assert_eq!(row.len(), COLUMNS.len());
        let col = |name: &str| row[COLUMNS.iter().position(|c| *c == name).unwrap()].as_str();
        assert_eq!(col("engine"), "postgres");
        assert_eq!(col("table"), "public.orders");
        assert_eq!(col("column"), "'=card,no");
        assert_eq!(col("row_key"), "id=48213; region=-1");
        // Placed by its key: no line or byte offset.
        assert_eq!((col("line"), col("byte_offset")), ("", ""));
        assert_eq!(col("context"), "'-- card 353011******0000, cvv ***");
    }

    #[test]
    fn a_masked_pan_has_no_fingerprint() {
        let mut rec = record(b"4111111111111111");
        rec.finding.class = Class::MaskedPan;
        rec.finding.fingerprint = None;
        rec.finding.brands.clear();
        let out = write(&[rec]);
        let rows = parse(out.strip_prefix('\u{FEFF}').expect("BOM"));
        assert_eq!(rows[1][14], "");
        assert_eq!(rows[1][9], "");
    }
}
