//! Record context for delimited text (CSV, TSV, `;`/`|`-separated dumps): when the first
//! line of a file is a header whose column names match `detectors/context/columns.toml`,
//! a PAN's row is read field by field, so an expiry or security code in its own column
//! corroborates the PAN however far away it is. This is the file-side twin of database
//! row linkage (SPEC §6): order-table dumps are how the seed breaches leaked.

use std::ops::Range;
use std::sync::Arc;

use crate::detectors::DetectorSet;
use crate::detectors::spec::HintElement;

use super::expiry;

/// A header line: its delimiter and each column's name and role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Field delimiter.
    pub delim: u8,
    /// Column names, as written (quotes removed).
    pub names: Vec<Arc<str>>,
    /// The element each column holds, by its name.
    pub roles: Vec<Option<HintElement>>,
    /// Fields may be double-quoted (CSV); database rows are written without quoting.
    pub quoted: bool,
}

/// What a PAN's row says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowContext {
    /// The PAN's own column name, when that column is named like a card number.
    pub pan_column: Option<Arc<str>>,
    /// Another field holds an expiry (or month + year fields).
    pub expiry: bool,
    /// Another field holds a 3–4 digit security code in a security-code column.
    pub cvv: bool,
    /// Another field holds a cardholder name in a name column.
    pub name: bool,
}

impl RowContext {
    /// Any corroboration.
    pub fn corroborates(&self) -> bool {
        self.pan_column.is_some() || self.expiry || self.cvv || self.name
    }
}

const DELIMS: [u8; 4] = [b',', b'\t', b';', b'|'];

impl Header {
    /// Reads a header from the first line of a file: it must split into 2+ fields on one
    /// delimiter, hold no long digit runs, and name at least one card-data column.
    pub fn detect(det: &DetectorSet, first_line: &[u8]) -> Option<Header> {
        let line = first_line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first_line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > 4096 || line.windows(6).any(|w| w.iter().all(u8::is_ascii_digit)) {
            return None;
        }
        let delim = DELIMS.into_iter().max_by_key(|d| memchr::memchr_iter(*d, line).count())?;
        memchr::memchr(delim, line)?;
        let names: Vec<Arc<str>> = split_fields(line, delim, true)
            .map(|r| Arc::from(String::from_utf8_lossy(unquote(&line[r])).trim()))
            .collect();
        let roles: Vec<Option<HintElement>> = names.iter().map(|n| det.column_element(n)).collect();
        roles.iter().any(Option::is_some).then_some(Header { delim, names, roles, quoted: true })
    }

    /// The header of a table whose columns are known (a database table rendered as
    /// tab-separated text): always a record layout, whether or not a column is named like
    /// card data, so evidence never crosses rows.
    pub fn of_columns(det: &DetectorSet, names: &[String]) -> Header {
        let names: Vec<Arc<str>> = names.iter().map(|n| Arc::from(n.as_str())).collect();
        let roles = names.iter().map(|n| det.column_element(n)).collect();
        Header { delim: b'\t', names, roles, quoted: false }
    }

    /// Reads the row around `span` (the PAN's bytes) in `buf`.
    pub fn row_context(&self, buf: &[u8], span: &Range<usize>, current_year: u16) -> RowContext {
        let start = memchr::memrchr(b'\n', &buf[..span.start]).map_or(0, |p| p + 1);
        let end = memchr::memchr(b'\n', &buf[span.end..]).map_or(buf.len(), |p| span.end + p);
        let line = &buf[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut ctx = RowContext::default();
        let (mut month, mut year) = (false, false);
        for (idx, field) in split_fields(line, self.delim, self.quoted).enumerate() {
            let abs = start + field.start..start + field.end;
            let value = if self.quoted { unquote(&line[field]) } else { line[field].trim_ascii() };
            let role = self.roles.get(idx).copied().flatten();
            if abs.start <= span.start && span.end <= abs.end {
                if role == Some(HintElement::Pan) {
                    ctx.pan_column = self.names.get(idx).cloned();
                }
                continue;
            }
            match role {
                Some(HintElement::Expiry) => ctx.expiry |= expiry::is_value(value, current_year),
                Some(HintElement::ExpiryMonth) => month |= expiry::is_month_value(value),
                Some(HintElement::ExpiryYear) => year |= expiry::is_year_value(value, current_year),
                Some(HintElement::Cvv) => {
                    let v = value.trim_ascii();
                    ctx.cvv |= (3..=4).contains(&v.len()) && v.iter().all(u8::is_ascii_digit);
                }
                Some(HintElement::Name) => ctx.name |= value.iter().any(|b| b.is_ascii_alphabetic() || *b >= 0x80),
                _ => {}
            }
        }
        ctx.expiry |= month && year;
        ctx
    }
}

fn unquote(v: &[u8]) -> &[u8] {
    let t = v.trim_ascii();
    if t.len() >= 2 && t[0] == b'"' && t[t.len() - 1] == b'"' { &t[1..t.len() - 1] } else { t }
}

/// Field ranges of a delimited line; a double-quoted field may contain the delimiter.
fn split_fields(line: &[u8], delim: u8, quoted: bool) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = 0;
    let mut done = false;
    let quotes = quoted;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let start = pos;
        let mut quoted = false;
        while pos < line.len() {
            match line[pos] {
                b'"' if quotes => quoted = !quoted,
                b if b == delim && !quoted => break,
                _ => {}
            }
            pos += 1;
        }
        let field = start..pos;
        if pos >= line.len() {
            done = true;
        } else {
            pos += 1;
        }
        Some(field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_respect_quotes() {
        let line = br#"a,"b,c",d"#;
        let f: Vec<_> = split_fields(line, b',', true).map(|r| &line[r]).collect();
        assert_eq!(f, vec![&b"a"[..], &b"\"b,c\""[..], &b"d"[..]]);
        let f: Vec<_> = split_fields(b"a,", b',', true).collect();
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn header_and_row() {
        let det = DetectorSet::builtin().unwrap();
        let h = Header::detect(&det, b"id,card_no,expire,security_code,holder_name").unwrap();
        assert_eq!(h.delim, b',');
        let row = b"7,PANPANPANPANPANP,12/27,123,TARO YAMADA";
        let span = 2..18;
        let ctx = h.row_context(row, &span, 2026);
        assert_eq!(ctx.pan_column.as_deref(), Some("card_no"));
        assert!(ctx.expiry && ctx.cvv && ctx.name);
        assert!(Header::detect(&det, b"id,amount,comment").is_none());
        assert!(Header::detect(&det, b"4111111111111111,12/25").is_none());
    }

    #[test]
    fn month_and_year_columns() {
        let det = DetectorSet::builtin().unwrap();
        let h = Header::detect(&det, b"card_number\texp_month\texp_year").unwrap();
        let row = b"PANPANPANPANPANPA\t7\t2029";
        assert!(h.row_context(row, &(0..17), 2026).expiry);
        let row = b"PANPANPANPANPANPA\t13\t2029";
        assert!(!h.row_context(row, &(0..17), 2026).expiry);
    }
}
