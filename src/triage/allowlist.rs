//! The allowlist file (`--allowlist`): findings someone has looked at and accepted, named
//! without any card number.
//!
//! ```toml
//! [[allow]]
//! fingerprint = "hmac-sha256:9f1c…"   # this card (under the key `key_id`)…
//! key_id = "sha256:0f3a5c7e9b1d2f4a"
//! path = "/srv/app/tests/**"          # …and/or this place (a glob)
//! reason = "test fixture, ticket OPS-12"
//! expires = "2026-12-31"              # holds through that day (UTC)
//! added = "2026-06-01"
//! by = "alice"
//! ```
//!
//! Every criterion an entry gives must match. Loading is strict: unknown keys are errors
//! with line and column, and a file with anything that looks like a card number in it (a
//! Luhn-valid run of 13–19 digits, in a value or a comment) is refused, naming the line
//! but never the number.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use toml::Spanned;

use crate::finding::Fingerprint;
use crate::report::{FindingRecord, redact_digits};
use crate::scan::luhn;

/// Why an allowlist cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AllowlistError {
    /// The file cannot be read.
    #[error("cannot read allowlist {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, a missing reason, a bad glob, date or fingerprint.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong (never the text of the line).
        message: String,
    },
    /// A value or comment looks like a card number.
    #[error(
        "{path}:{line}: this line holds what looks like a card number; an allowlist must never hold one \
         (name the card by its fingerprint: `pansweep allowlist add --from FINDINGS.jsonl --id ID`)"
    )]
    Pan {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
    },
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[serde(default)]
    allow: Vec<Spanned<EntryIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryIn {
    fingerprint: Option<Spanned<String>>,
    key_id: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    table: Option<Spanned<String>>,
    column: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<toml::Value>>,
    added: Option<Spanned<toml::Value>>,
    by: Option<Spanned<String>>,
}

/// A glob and the text it was made from.
#[derive(Clone, Debug)]
struct Pattern {
    text: String,
    matcher: GlobMatcher,
}

/// One `[[allow]]` entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// 1-based line of its `[[allow]]` header (for messages).
    pub line: usize,
    /// Why it is accepted.
    pub reason: String,
    /// Last day it holds, as days since 1970-01-01 (UTC).
    pub expires: Option<i64>,
    /// The card, as reports print its fingerprint.
    pub fingerprint: Option<Fingerprint>,
    /// The fingerprint key the fingerprint was made with.
    pub key_id: Option<String>,
    path: Option<Pattern>,
    table: Option<Pattern>,
    column: Option<Pattern>,
}

impl Entry {
    /// Whether every criterion of the entry matches `rec` (expiry and key id are the
    /// caller's business: see [`super::Triage`]).
    pub fn matches(&self, rec: &FindingRecord) -> bool {
        if let Some(fp) = &self.fingerprint
            && rec.finding.fingerprint.as_ref() != Some(fp)
        {
            return false;
        }
        if let Some(p) = &self.path
            && !path_matches(&p.matcher, &rec.path)
        {
            return false;
        }
        let cell = |pat: &Option<Pattern>, value: &Option<String>| match (pat, value) {
            (None, _) => true,
            (Some(p), Some(v)) => p.matcher.is_match(v),
            (Some(_), None) => false,
        };
        cell(&self.table, &rec.table) && cell(&self.column, &rec.column)
    }

    /// The expiry as written (`YYYY-MM-DD`).
    pub fn expires_text(&self) -> Option<String> {
        self.expires.map(|d| {
            let (y, m, d) = crate::time::civil_from_days(d);
            format!("{y:04}-{m:02}-{d:02}")
        })
    }
}

/// A path glob matches the whole path, or the file or archive a member is in: `a.zip`
/// covers `a.zip!b.csv` and `a.zip!b.tar!c.txt`.
fn path_matches(m: &GlobMatcher, path: &str) -> bool {
    m.is_match(path) || path.match_indices('!').any(|(i, _)| m.is_match(&path[..i]))
}

/// A loaded allowlist.
#[derive(Clone, Debug)]
pub struct Allowlist {
    /// The file, as named in messages.
    pub path: String,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

/// 1-based line and column of byte `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text.as_bytes()[..at];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// Whether `s` holds a Luhn-valid run of 13–19 digits: contiguous, or in groups split by
/// single spaces, dashes or dots (`4111 1111 …`). A run inside a longer digit run is not
/// one, as in the scanner.
pub fn holds_pan(s: &str) -> bool {
    // What a report would mask (full-width digits, other separators, 12-digit numbers)
    // is refused too.
    if crate::report::redact_digits(s) != s {
        return true;
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A chain of digit groups with single separators between them.
        let mut groups: Vec<&[u8]> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            groups.push(&b[start..j]);
            if j + 1 < b.len() && matches!(b[j], b' ' | b'-' | b'.') && b[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
        }
        for a in 0..groups.len() {
            let mut digits = Vec::new();
            for g in &groups[a..] {
                digits.extend_from_slice(g);
                if digits.len() > 19 {
                    break;
                }
                if digits.len() >= 13 && luhn::is_valid(&digits) {
                    return true;
                }
            }
        }
        i = j.max(i + 1);
    }
    false
}

/// A line of the file with what may legitimately hold long digit runs blanked out, for
/// the card-number check: a fingerprint (`hmac-sha256:` and exactly 64 hex digits) and a
/// key id (`sha256:` or `random:` and exactly 16 hex digits, one of them a letter: a key
/// id of 16 decimal digits is checked like any other text, so a card number cannot pass
/// for one).
fn without_hashes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let next = [("hmac-sha256:", 64), ("sha256:", 16), ("random:", 16)]
            .iter()
            .filter_map(|&(p, n)| rest.find(p).map(|i| (i, p.len(), n)))
            .min_by_key(|&(i, plen, _)| (i, std::cmp::Reverse(plen)));
        let Some((at, plen, want)) = next else { break };
        let tail = &rest[at + plen..];
        let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        let letter = tail.bytes().take(hex).any(|b| b.is_ascii_alphabetic());
        if hex == want && (want == 64 || letter) {
            out.push_str(&rest[..at]);
            out.push(' ');
            rest = &tail[hex..];
        } else {
            out.push_str(&rest[..at + plen]);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// A `YYYY-MM-DD` date (a TOML string or a TOML local date) as days since 1970-01-01.
fn date(v: &toml::Value) -> Option<i64> {
    let s = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
        _ => return None,
    };
    parse_date(&s)
}

/// `YYYY-MM-DD` as days since 1970-01-01; `None` for anything else or a day that does
/// not exist.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) { t.parse().ok() } else { None }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let days = crate::time::days_from_civil(i64::from(y), m, d);
    (crate::time::civil_from_days(days) == (i64::from(y), m, d)).then_some(days)
}

/// Builds a glob: `/` is literal for paths (`*` stays in one directory, `**` crosses).
fn glob(text: &str, literal_separator: bool) -> Result<GlobMatcher, String> {
    GlobBuilder::new(text)
        .literal_separator(literal_separator)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob: {}", e.kind()))
}

/// A path (or table or column name) as a glob that matches exactly it.
pub fn escape_glob(s: &str) -> String {
    globset::escape(&s.replace('\\', "\\\\"))
}

impl Allowlist {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Allowlist, AllowlistError> {
        let shown = redact_digits(&path.display().to_string()).into_owned();
        let text = std::fs::read(path).map_err(|source| AllowlistError::Read { path: shown.clone(), source })?;
        let text = String::from_utf8(text).map_err(|e| {
            let (line, column) = line_col(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
            AllowlistError::Invalid { path: shown.clone(), line, column, message: "not UTF-8 text".into() }
        })?;
        Allowlist::parse(&text, &shown)
    }

    /// Checks and reads `text`; `path` names the file in messages.
    pub fn parse(text: &str, path: &str) -> Result<Allowlist, AllowlistError> {
        // Before anything else, and before a parse error could quote a line: no card
        // numbers, not even in comments.
        for (i, line) in text.lines().enumerate() {
            if holds_pan(&without_hashes(line)) {
                return Err(AllowlistError::Pan { path: path.to_owned(), line: i + 1 });
            }
        }
        let invalid = |at: usize, message: String| {
            let (line, column) = line_col(text, at);
            AllowlistError::Invalid { path: path.to_owned(), line, column, message }
        };
        let file: FileIn = toml::from_str(text).map_err(|e| {
            // The message only, never toml's rendering of the line.
            invalid(e.span().map_or(0, |s| s.start), e.message().trim_end().to_owned())
        })?;
        let mut entries = Vec::with_capacity(file.allow.len());
        for spanned in file.allow {
            let at = spanned.span().start;
            let e = spanned.into_inner();
            // Strings decoded from escapes (`\u0034…`) are checked again.
            for v in [&e.fingerprint, &e.key_id, &e.path, &e.table, &e.column, &e.reason, &e.by].into_iter().flatten() {
                if holds_pan(&without_hashes(v.get_ref())) {
                    return Err(AllowlistError::Pan { path: path.to_owned(), line: line_col(text, v.span().start).0 });
                }
            }
            let Some(reason) = e.reason else {
                return Err(invalid(at, "an [[allow]] entry needs a reason".into()));
            };
            if reason.get_ref().trim().is_empty() {
                return Err(invalid(reason.span().start, "reason is empty".into()));
            }
            if e.fingerprint.is_none() && e.path.is_none() && e.table.is_none() && e.column.is_none() {
                return Err(invalid(
                    at,
                    "an [[allow]] entry needs at least one of fingerprint, path, table, column".into(),
                ));
            }
            let fingerprint = match &e.fingerprint {
                Some(f) => Some(f.get_ref().parse::<Fingerprint>().map_err(|m| invalid(f.span().start, m))?),
                None => None,
            };
            if let Some(k) = &e.key_id {
                let ok = ["sha256:", "random:"].iter().any(|p| {
                    k.get_ref()
                        .strip_prefix(p)
                        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                });
                if !ok {
                    return Err(invalid(
                        k.span().start,
                        "not a fingerprint key id (expected sha256: and 16 hex digits, as in the report's run record)"
                            .into(),
                    ));
                }
            }
            let pattern = |v: &Option<Spanned<String>>, sep: bool| -> Result<Option<Pattern>, AllowlistError> {
                match v {
                    Some(s) => {
                        let matcher = glob(s.get_ref(), sep).map_err(|m| invalid(s.span().start, m))?;
                        Ok(Some(Pattern { text: s.get_ref().clone(), matcher }))
                    }
                    None => Ok(None),
                }
            };
            let expires =
                match &e.expires {
                    Some(v) => Some(date(v.get_ref()).ok_or_else(|| {
                        invalid(v.span().start, "expires: not a date (expected \"YYYY-MM-DD\")".into())
                    })?),
                    None => None,
                };
            if let Some(v) = &e.added
                && date(v.get_ref()).is_none()
            {
                return Err(invalid(v.span().start, "added: not a date (expected \"YYYY-MM-DD\")".into()));
            }
            entries.push(Entry {
                line: line_col(text, at).0,
                reason: reason.into_inner(),
                expires,
                fingerprint,
                key_id: e.key_id.map(Spanned::into_inner),
                path: pattern(&e.path, true)?,
                table: pattern(&e.table, false)?,
                column: pattern(&e.column, false)?,
            });
        }
        Ok(Allowlist { path: path.to_owned(), entries })
    }
}

impl Entry {
    /// The path glob as written.
    pub fn path_glob(&self) -> Option<&str> {
        self.path.as_ref().map(|p| p.text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Class, Confidence};
    use crate::report::test_record;

    fn parse(text: &str) -> Result<Allowlist, AllowlistError> {
        Allowlist::parse(text, "allow.toml")
    }

    #[test]
    fn entries_match_on_every_criterion_given() {
        let fp = Fingerprint([7; 32]).to_string();
        let a = parse(&format!(
            "# accepted\n[[allow]]\nfingerprint = \"{fp}\"\nreason = \"fixture\"\n\n\
             [[allow]]\npath = \"/srv/tests/**\"\nreason = \"tests\"\n\n\
             [[allow]]\npath = \"/srv/b.log\"\nfingerprint = \"{fp}\"\nreason = \"both\"\n\n\
             [[allow]]\ntable = \"*.orders\"\ncolumn = \"card_no\"\nreason = \"the CDE\"\nexpires = 2026-12-31\n"
        ))
        .unwrap();
        assert_eq!(a.entries.len(), 4);
        assert_eq!(a.entries[0].line, 2);
        assert_eq!(a.entries[3].expires_text().as_deref(), Some("2026-12-31"));
        let rec = |path: &str, fp: u8| test_record(path, Class::Pan, Confidence::High, &[], fp);
        assert!(a.entries[0].matches(&rec("/anywhere", 7)));
        assert!(!a.entries[0].matches(&rec("/anywhere", 8)));
        assert!(a.entries[1].matches(&rec("/srv/tests/a/b.txt", 1)));
        assert!(a.entries[1].matches(&rec("/srv/tests/x.zip!in.csv", 1)));
        assert!(!a.entries[1].matches(&rec("/srv/other/b.txt", 1)));
        assert!(a.entries[2].matches(&rec("/srv/b.log", 7)));
        assert!(!a.entries[2].matches(&rec("/srv/b.log", 8)));
        assert!(!a.entries[2].matches(&rec("/srv/c.log", 7)));
        let mut cell = rec("postgres://app@db/shop", 1);
        cell.table = Some("public.orders".into());
        cell.column = Some("card_no".into());
        assert!(a.entries[3].matches(&cell));
        cell.column = Some("note".into());
        assert!(!a.entries[3].matches(&cell));
        assert!(!a.entries[3].matches(&rec("/srv/orders", 1)), "a file has no table");
    }

    #[test]
    fn a_member_is_covered_by_its_archive_and_escaped_paths_are_literal() {
        let a = parse("[[allow]]\npath = \"/srv/site.tar.gz\"\nreason = \"r\"\n").unwrap();
        let rec = |path: &str| test_record(path, Class::Pan, Confidence::High, &[], 1);
        assert!(a.entries[0].matches(&rec("/srv/site.tar.gz!db/x.zip!o.csv")));
        assert!(!a.entries[0].matches(&rec("/srv/site.tar.gz.bak")));
        let odd = "/srv/[a]*{b}?\\c.txt";
        let text = format!("[[allow]]\npath = {}\nreason = \"r\"\n", toml::Value::String(escape_glob(odd)));
        let a = parse(&text).unwrap();
        assert!(a.entries[0].matches(&rec(odd)));
        assert!(!a.entries[0].matches(&rec("/srv/a-x{b}?\\c.txt")));
    }

    #[test]
    fn the_documented_example_loads() {
        let doc = include_str!("../../docs/triage.md");
        let start = doc.find("```toml\n").expect("a TOML example in docs/triage.md") + 8;
        let end = start + doc[start..].find("```").expect("end of the example");
        let a = parse(&doc[start..end]).unwrap();
        assert_eq!(a.entries.len(), 3);
        assert!(a.entries[0].fingerprint.is_some() && a.entries[0].expires.is_some());
        let mut cell = test_record("postgres://scan@db1:5432/shop", Class::Pan, Confidence::High, &[], 1);
        cell.table = Some("public.payment_tokens".into());
        cell.column = Some("card_no".into());
        cell.engine = Some("postgres".into());
        assert!(a.entries[2].matches(&cell));
    }

    #[test]
    fn errors_have_line_and_column() {
        let err = parse("[[allow]]\nreason = \"r\"\npath = \"a\"\ncolour = \"red\"\n").unwrap_err().to_string();
        assert!(err.starts_with("allow.toml:4:1: "), "{err}");
        assert!(err.contains("colour"), "{err}");
        let err = parse("[[allow]]\npath = \"a\"\n").unwrap_err().to_string();
        assert!(err.starts_with("allow.toml:1:") && err.contains("reason"), "{err}");
        let err = parse("[[allow]]\nreason = \"r\"\n").unwrap_err().to_string();
        assert!(err.contains("at least one of"), "{err}");
        let err = parse("[[allow]]\nreason = \"r\"\npath = \"a\"\nexpires = \"2026-02-30\"\n").unwrap_err().to_string();
        assert!(err.starts_with("allow.toml:4:11: expires"), "{err}");
        let err = parse("[[allow]]\nreason = \"r\"\nfingerprint = \"md5:00\"\n").unwrap_err().to_string();
        assert!(err.starts_with("allow.toml:3:") && err.contains("fingerprint"), "{err}");
        let err = parse("[[allow]]\nreason = \"r\"\npath = \"a[\"\n").unwrap_err().to_string();
        assert!(err.starts_with("allow.toml:3:8: invalid glob"), "{err}");
        let err = parse("[[allow]\n").unwrap_err().to_string();
        assert!(err.starts_with("allow.toml:1:"), "{err}");
    }

    #[test]
    fn a_card_number_anywhere_is_refused_without_echoing_it() {
        // Made at test time (Luhn completed), never printed.
        let body = "453201511283036";
        let check = (0..10).map(|d| format!("{body}{d}")).find(|c| luhn::is_valid(c.as_bytes())).unwrap();
        for text in [
            format!("[[allow]]\npath = \"/srv/a\"\nreason = \"card {check}\"\n"),
            format!("# was {check}\n[[allow]]\npath = \"/srv/a\"\nreason = \"r\"\n"),
            format!(
                "[[allow]]\npath = \"/srv/{}\"\nreason = \"r\"\n",
                check.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
            ),
            // Escaped digits still decode to a number.
            format!("[[allow]]\npath = \"/srv/a\"\nreason = \"\\u0034{}\"\n", &check[1..]),
        ] {
            let err = parse(&text).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, AllowlistError::Pan { .. }), "{}", redact_digits(&msg));
            assert!(!msg.contains(&check[6..12]), "the message quotes the number");
        }
        // Fingerprints, key ids, dates and short numbers are fine.
        let fp = Fingerprint([0x12; 32]).to_string();
        let ok = format!(
            "[[allow]]\nfingerprint = \"{fp}\"\nkey_id = \"sha256:1234567890123456\"\nreason = \"ticket 1234567\"\nexpires = \"2030-01-01\"\n"
        );
        parse(&ok).unwrap();
        assert!(!holds_pan(&format!("{check}0000")), "a run inside a longer run is not a number");
        // Full-width digits and an ideographic space: what a report would mask.
        let wide: String = "4111\u{3000}1111\u{3000}1111\u{3000}1111"
            .chars()
            .map(|c| if c.is_ascii_digit() { char::from_u32(0xFF10 + (c as u32 - 0x30)).unwrap() } else { c })
            .collect();
        assert!(holds_pan(&format!("reason {wide}")));
        // A number dressed as a key id is still a number.
        let dressed = format!("[[allow]]\nfingerprint = \"{fp}\"\nkey_id = \"sha256:{check}\"\nreason = \"r\"\n");
        assert!(matches!(parse(&dressed), Err(AllowlistError::Pan { line: 3, .. })));
    }
}
