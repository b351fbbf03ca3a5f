//! Report writers: one per format behind [`ReportWriter`]. The JSONL record shapes here
//! are the stable contract (SPEC §4); every other format is derived from the same records.
//!
//! Writers see only [`FindingRecord`]s, which hold a masked view and a fingerprint: no
//! full PAN, expiry or security code can reach a report.

pub mod csv;
pub mod evidence;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod manifest;
pub mod merge;
pub mod read;
pub mod sarif;
pub mod stores;
pub mod text;

use std::borrow::Cow;
use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

use crate::finding::{Class, Confidence, Element, Finding, Fingerprint, Signal};
use crate::scan::luhn;
use crate::source::{RowKey, Skip, SkipKind};

pub use self::evidence::Evidence;

/// Output formats of `scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, grouped by file.
    Text,
    /// One JSON object per line, streamed.
    Jsonl,
    /// One JSON document.
    Json,
    /// One CSV row per finding, for spreadsheets.
    Csv,
    /// One SARIF 2.1.0 log, for code-scanning dashboards.
    Sarif,
    /// One self-contained HTML page with a verdict, charts and tables, for people.
    Html,
}

/// Human language of text output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Japanese.
    Ja,
}

/// The `run` record: what ran, where, with which ruleset and key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunInfo {
    /// Always `pansweep`.
    pub tool: String,
    /// Crate version.
    pub version: String,
    /// `sha256:` of the detector files.
    pub ruleset: String,
    /// RFC 3339 start time.
    pub started: String,
    /// Host name.
    pub host: String,
    /// Command line, secrets redacted.
    pub argv: Vec<String>,
    /// Which fingerprint key was used (never the key).
    pub fingerprint_key_id: String,
    /// The runs merged into this report by `pansweep report` (empty for a live run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRun>,
}

/// One run read back by `pansweep report`: where its records came from and how it ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceRun {
    /// The JSONL file it was read from (as given on the command line, digits masked).
    pub file: String,
    /// Host the run was on.
    pub host: String,
    /// Version of pansweep that wrote it.
    pub version: String,
    /// `sha256:` of its detector files.
    pub ruleset: String,
    /// Its fingerprint key id.
    pub fingerprint_key_id: String,
    /// Its command line (already redacted when written).
    pub argv: Vec<String>,
    /// RFC 3339 start time.
    pub started: String,
    /// RFC 3339 end time (start plus elapsed), when its summary was read.
    pub ended: Option<String>,
    /// It has a summary that says `complete: true`; false for an interrupted run or a file
    /// cut short (no summary record, or a last line that is not whole).
    pub complete: bool,
    /// Findings read from it (after de-duplication against earlier files).
    pub findings: Counts,
}

/// A finding with its location, ready to write.
#[derive(Clone, Debug)]
pub struct FindingRecord {
    /// The finding.
    pub finding: Finding,
    /// Path as walked (PAN-like digit runs masked).
    pub path: String,
    /// Schema-qualified table (`main.orders`) of a finding in a database.
    pub table: Option<String>,
    /// Column of a finding in a database.
    pub column: Option<String>,
    /// 1-based line (for a database table: the 1-based row).
    pub line: u64,
    /// Byte offset in the file.
    pub byte_offset: u64,
    /// Decoding stages applied (empty for plain bytes).
    pub decoders: Vec<String>,
    /// `utf-8`, `binary`, or the text encoding decoded (`utf-16le`, `shift_jis`, …).
    pub encoding: Cow<'static, str>,
    /// The database engine of a `pansweep db` finding (`postgres`, `mysql`, `sqlite`);
    /// such findings are placed by `row_key`, not by line and byte offset.
    pub engine: Option<Cow<'static, str>>,
    /// The row's key (primary-key columns and values, or the engine's row locator).
    pub row_key: Option<RowKey>,
}

impl FindingRecord {
    /// Line and byte offset as reported: none for a database row, which is placed by its
    /// key (line and offset mean nothing there).
    pub fn place(&self) -> (Option<u64>, Option<u64>) {
        if self.engine.is_none() { (Some(self.line), Some(self.byte_offset)) } else { (None, None) }
    }

    /// The finding's stable `id`: 16 lowercase hex digits of SHA-256 over its place (path,
    /// engine, table, column, row key, line, byte offset), class, and fingerprint (the
    /// masked form when it has none). The same finding in two runs with the same
    /// fingerprint key has the same id; it is computed from the reported fields only, so a
    /// report read back gives every finding the id it was written with.
    pub fn id(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let (line, offset) = self.place();
        self.hash_store(&mut h);
        let mut field = |v: Option<&[u8]>| hash_field(&mut h, v);
        field(line.map(u64::to_le_bytes).as_ref().map(|b| &b[..]));
        field(offset.map(u64::to_le_bytes).as_ref().map(|b| &b[..]));
        field(Some(self.finding.class.as_str().as_bytes()));
        let mark = self.finding.fingerprint.map_or_else(|| self.finding.view.masked(), |fp| fp.to_string());
        field(Some(mark.as_bytes()));
        crate::finding::hex(&h.finalize()[..8])
    }
}

/// A row key as a JSON object (`{"id":"48213"}`), columns in key order.
#[derive(Clone, Copy, Debug)]
pub struct KeyJson<'a>(pub &'a RowKey);

impl Serialize for KeyJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(&**k, v)?;
        }
        m.end()
    }
}

impl fmt::Display for KeyJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

/// What one column of a database table held (SPEC §6 summary).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ColumnSummary {
    /// The column (split columns: `card_no1+card_no2+…`).
    pub column: String,
    /// Findings per tier and class.
    pub findings: Counts,
    /// Distinct cardholder-data PANs, by fingerprint.
    pub distinct_pans: u64,
    /// Up to five keys of rows with findings.
    #[serde(serialize_with = "keys_json", deserialize_with = "keys_from_json", default)]
    pub example_row_keys: Vec<RowKey>,
}

fn keys_json<S: serde::Serializer>(keys: &[RowKey], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(keys.iter().map(KeyJson))
}

fn keys_from_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RowKey>, D::Error> {
    let keys: Vec<KeyIn> = Vec::deserialize(d)?;
    Ok(keys.into_iter().map(|k| k.0).collect())
}

/// A row key read back from JSON, columns kept in the order written (a JSON object read
/// into a map would sort them).
#[derive(Clone, Debug, Default)]
pub struct KeyIn(pub RowKey);

impl<'de> Deserialize<'de> for KeyIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a row key object of column names and values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<KeyIn, A::Error> {
                let mut key = RowKey::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    key.push((k.into(), v));
                }
                Ok(KeyIn(key))
            }
        }
        d.deserialize_map(V)
    }
}

/// The `table` record: one database table as read by `pansweep db`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableSummary {
    /// The database URL, password removed.
    pub path: String,
    /// `postgres`, `mysql` or `sqlite`.
    pub engine: Cow<'static, str>,
    /// Schema-qualified table.
    pub table: String,
    /// Rows read.
    pub rows: u64,
    /// Bytes of values read (as text).
    pub bytes: u64,
    /// Only the first `--sample` rows were read: this is not evidence of absence.
    pub sampled: bool,
    /// Every row was read (false when sampled, failed or interrupted).
    pub complete: bool,
    /// Columns read.
    pub columns_read: usize,
    /// Columns not read: types that cannot hold card data (booleans, small integers, …).
    pub columns_unread: usize,
    /// Findings per tier and class, all columns.
    pub findings: Counts,
    /// Distinct cardholder-data PANs in the table, by fingerprint.
    pub distinct_pans: u64,
    /// Columns with findings.
    pub columns: Vec<ColumnSummary>,
}

/// Counts per tier (cardholder data only) and for the informational classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Critical PAN/track findings.
    pub critical: u64,
    /// High.
    pub high: u64,
    /// Medium.
    pub medium: u64,
    /// Low.
    pub low: u64,
    /// Test PANs.
    pub test_pan: u64,
    /// Masked PANs.
    pub masked_pan: u64,
}

impl Counts {
    /// Adds one finding.
    pub fn add(&mut self, class: Class, confidence: Confidence) {
        match class {
            Class::TestPan => self.test_pan += 1,
            Class::MaskedPan => self.masked_pan += 1,
            Class::Pan | Class::Track1 | Class::Track2 => match confidence {
                Confidence::Critical => self.critical += 1,
                Confidence::High => self.high += 1,
                Confidence::Medium => self.medium += 1,
                Confidence::Low => self.low += 1,
            },
        }
    }

    /// Cardholder-data findings (all tiers).
    pub fn cardholder(&self) -> u64 {
        self.critical + self.high + self.medium + self.low
    }

    /// Every finding.
    pub fn total(&self) -> u64 {
        self.cardholder() + self.test_pan + self.masked_pan
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Counts) {
        self.critical += other.critical;
        self.high += other.high;
        self.medium += other.medium;
        self.low += other.low;
        self.test_pan += other.test_pan;
        self.masked_pan += other.masked_pan;
    }
}

/// The closing `summary` record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// False when the run was interrupted.
    pub complete: bool,
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Database tables scanned.
    pub tables: u64,
    /// Database rows scanned.
    pub rows: u64,
    /// Items skipped (all kinds).
    pub skipped: u64,
    /// Findings per tier and class.
    pub findings: Counts,
    /// Distinct cardholder-data PANs, by fingerprint. `None` (JSON `null`) in a report
    /// merged from runs with different fingerprint keys: their fingerprints cannot be
    /// compared, so no count of distinct cards across them would be true.
    pub distinct_pans: Option<u64>,
    /// Wall time.
    pub elapsed_s: f64,
    /// Database tables were only sampled (`--sample`): coverage is not complete.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sampled: bool,
    /// Files found unchanged since the last run (`--state`): counted in `files`, not
    /// read again, their findings taken from the state file.
    #[serde(skip_serializing_if = "is_zero")]
    pub unchanged: u64,
    /// Findings matched by the allowlist (`--allowlist`): not written, not in `findings`.
    #[serde(skip_serializing_if = "is_zero")]
    pub allowlisted: u64,
    /// How the findings compare with `--baseline` (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineCounts>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Findings of a run compared with a baseline report (`--baseline`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BaselineCounts {
    /// Findings not in the baseline: the only ones written and counted in `findings`.
    pub new: u64,
    /// Findings also in the baseline: not written.
    pub known: u64,
    /// Baseline findings not found again: written as `resolved` records.
    pub resolved: u64,
}

/// Skipped items kept to be listed one by one, at most `cap` of them: items that leave
/// data unread (errors, limits) take the place of links and vanished files once the list
/// is full; the rest are only counted. Bounded memory for a run with millions of them.
#[derive(Debug)]
pub(crate) struct SkipList {
    cap: usize,
    items: Vec<Skip>,
    /// Listed items that leave no data unread.
    minor: usize,
    /// Items seen in all.
    total: u64,
}

impl SkipList {
    pub(crate) fn new(cap: usize) -> SkipList {
        SkipList { cap, items: Vec::new(), minor: 0, total: 0 }
    }

    pub(crate) fn push(&mut self, skip: &Skip) {
        self.total += 1;
        if self.items.len() < self.cap {
            self.minor += usize::from(!skip.kind.incomplete());
            self.items.push(skip.clone());
        } else if skip.kind.incomplete()
            && self.minor > 0
            && let Some(i) = self.items.iter().rposition(|s| !s.kind.incomplete())
        {
            self.items[i] = skip.clone();
            self.minor -= 1;
        }
    }

    /// The listed items, in arrival order.
    pub(crate) fn items(&self) -> &[Skip] {
        &self.items
    }

    /// Every item seen.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Items seen but not listed.
    pub(crate) fn unlisted(&self) -> u64 {
        self.total - self.items.len() as u64
    }
}

/// A report format.
pub trait ReportWriter: Send {
    /// Start of the run.
    fn begin(&mut self, run: &RunInfo) -> io::Result<()>;
    /// One finding.
    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()>;
    /// One skipped item.
    fn skipped(&mut self, skip: &Skip) -> io::Result<()>;
    /// One database table read (after its findings).
    fn table(&mut self, table: &TableSummary) -> io::Result<()>;
    /// A finding of the baseline (`--baseline`) not found again, after every finding and
    /// before [`ReportWriter::finish`]. Formats without a place for it ignore it.
    fn resolved(&mut self, _rec: &FindingRecord) -> io::Result<()> {
        Ok(())
    }
    /// What a file with findings looked like when it was read (`scan --forensic`), after
    /// its findings. Formats without a place for it ignore it.
    fn evidence(&mut self, _ev: &Evidence) -> io::Result<()> {
        Ok(())
    }
    /// End of the run.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
    /// Pushes buffered output to the destination (called at least once a second).
    fn flush(&mut self) -> io::Result<()>;
}

/// The JSON shape of a finding record (SPEC §4).
#[derive(Serialize)]
pub(crate) struct FindingJson<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    id: String,
    class: Class,
    confidence: Confidence,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row_key: Option<KeyJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    byte_offset: Option<u64>,
    decoders: &'a [String],
    encoding: &'a str,
    brands: Vec<&'a str>,
    first6: &'a str,
    last4: &'a str,
    length: usize,
    masked: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<Fingerprint>,
    signals: &'a [Signal],
    elements: &'a [Element],
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a str>,
}

/// Adds one field to a record hash: length-prefixed, an absent one marked, so no two
/// records hash alike by shifting text from one field into the next.
pub(crate) fn hash_field(h: &mut sha2::Sha256, v: Option<&[u8]>) {
    use sha2::Digest;
    match v {
        Some(b) => {
            h.update([1]);
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        }
        None => h.update([0]),
    }
}

impl FindingRecord {
    /// Hashes where the finding is stored: path, engine, table, column and row key (for
    /// [`FindingRecord::id`] and baseline identities).
    pub(crate) fn hash_store(&self, h: &mut sha2::Sha256) {
        let key = self.row_key.as_ref().map(|k| serde_json::to_vec(&KeyJson(k)).unwrap_or_default());
        hash_field(h, Some(self.path.as_bytes()));
        hash_field(h, self.engine.as_deref().map(str::as_bytes));
        hash_field(h, self.table.as_deref().map(str::as_bytes));
        hash_field(h, self.column.as_deref().map(str::as_bytes));
        hash_field(h, key.as_deref());
    }
}

impl<'a> FindingJson<'a> {
    pub(crate) fn new(rec: &'a FindingRecord) -> FindingJson<'a> {
        FindingJson::typed(rec, "finding")
    }

    /// The same fields under another `type` (`resolved`).
    pub(crate) fn typed(rec: &'a FindingRecord, ty: &'static str) -> FindingJson<'a> {
        let f = &rec.finding;
        let (line, byte_offset) = rec.place();
        FindingJson {
            ty,
            id: rec.id(),
            class: f.class,
            confidence: f.confidence,
            path: &rec.path,
            engine: rec.engine.as_deref(),
            table: rec.table.as_deref(),
            column: rec.column.as_deref(),
            row_key: rec.row_key.as_ref().map(KeyJson),
            line,
            byte_offset,
            decoders: &rec.decoders,
            encoding: &rec.encoding,
            brands: f.brands.iter().map(|b| &**b).collect(),
            first6: &f.view.first6,
            last4: &f.view.last4,
            length: f.view.len,
            masked: f.view.masked(),
            fingerprint: f.fingerprint,
            signals: &f.signals,
            elements: &f.elements,
            context: f.context.as_deref(),
        }
    }
}

/// The JSON shape of a skipped record.
#[derive(Serialize)]
pub(crate) struct SkipJson<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    path: &'a str,
    reason: &'a str,
    kind: SkipKind,
}

impl<'a> SkipJson<'a> {
    pub(crate) fn new(s: &'a Skip) -> SkipJson<'a> {
        SkipJson { ty: "skipped", path: &s.path, reason: &s.reason, kind: s.kind }
    }
}

/// The value of an ASCII or full-width (U+FF10–U+FF19) digit.
fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{FF10}'..='\u{FF19}' => Some((u32::from(c) - 0xFF10) as u8),
        _ => None,
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '\u{3000}' | '\u{A0}' | '\u{FF0D}')
}

/// Digits in the longest chain of digit groups joined by single separators (what
/// [`redact_digits`] looks at).
fn longest_chain(s: &str) -> usize {
    let (mut chain, mut best, mut after_digit, mut after_sep) = (0, 0, false, false);
    for c in s.chars() {
        if digit_value(c).is_some() {
            if !after_digit && !after_sep {
                chain = 0;
            }
            chain += 1;
            best = best.max(chain);
            (after_digit, after_sep) = (true, false);
        } else if after_digit && is_separator(c) {
            (after_digit, after_sep) = (false, true);
        } else {
            (after_digit, after_sep) = (false, false);
        }
    }
    best
}

/// Masks every PAN-like number in `s` to its first 6 and last 4 digits, so a file named
/// after a card number cannot put one into a report or an error message. A number is
/// PAN-like when it has 12–19 digits and passes Luhn, or is a 16–19-digit UnionPay-range
/// number (`62…`, whose check digit is optional). Digits may be ASCII or full-width and
/// grouped by separators (`4111 1111 …`, `4111-1111-…`, even mixed: `2024-4111 1111 …`):
/// every run of consecutive digit groups is tried, so a number is found wherever its
/// groups start and whatever precedes them.
pub fn redact_digits(s: &str) -> Cow<'_, str> {
    // Nothing to mask without a chain of 12 digits (most paths: a date or a counter in a
    // name); checked in one pass without allocating, as this runs for every file walked.
    if longest_chain(s) < 12 {
        return Cow::Borrowed(s);
    }
    redact_chains(s)
}

/// [`redact_digits`] without the quick check.
fn redact_chains(s: &str) -> Cow<'_, str> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = chars.clone();
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        if digit_value(chars[i]).is_none() {
            i += 1;
            continue;
        }
        // A chain: digit groups with single separators between them.
        let mut positions = Vec::new();
        let mut j = i;
        while j < chars.len() {
            if digit_value(chars[j]).is_some() {
                positions.push(j);
                j += 1;
            } else if is_separator(chars[j]) && chars.get(j + 1).is_some_and(|&c| digit_value(c).is_some()) {
                j += 1;
            } else {
                break;
            }
        }
        let digits: Vec<u8> = positions.iter().map(|&p| b'0' + digit_value(chars[p]).unwrap_or(0)).collect();
        // Group boundaries (indexes into `positions`), then every run of whole groups.
        let mut starts = vec![0];
        for k in 1..positions.len() {
            if positions[k] != positions[k - 1] + 1 {
                starts.push(k);
            }
        }
        starts.push(positions.len());
        for a in 0..starts.len() - 1 {
            for b in a + 1..starts.len() {
                let (from, to) = (starts[a], starts[b]);
                let run = &digits[from..to];
                if run.len() > 19 {
                    break;
                }
                let unionpay = run.starts_with(b"62") && run.len() >= 16;
                if run.len() >= 12 && (unionpay || luhn::is_valid(run)) {
                    for &p in &positions[from + 6..to - 4] {
                        out[p] = '*';
                    }
                    changed = true;
                }
            }
        }
        i = j;
    }
    if changed { Cow::Owned(out.into_iter().collect()) } else { Cow::Borrowed(s) }
}

/// Removes the password from anything that looks like a URL with credentials: the
/// `user:password@` part and `password=` / `sslpassword=` query parameters.
pub fn redact_arg(arg: &str) -> String {
    let masked = redact_digits(arg);
    let mut out = masked.into_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = &out[scheme_end + 3..];
        // The password may itself hold `/`, `?` or `#`: the user part ends at the last `@`.
        if let Some(at) = rest.rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                out = format!("{}{}:****{}", &out[..scheme_end + 3], &userinfo[..colon], &rest[at..]);
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if matches!(k.to_ascii_lowercase().as_str(), "password" | "sslpassword") => {
                    format!("{k}=****")
                }
                _ => p.to_owned(),
            })
            .collect();
        out = format!("{head}{}", params.join("&"));
    }
    out
}

/// A file finding for unit tests: a Visa-shaped masked view, fingerprint `[fp; 32]`
/// (none for a masked PAN), line 3, byte offset 40.
#[cfg(test)]
pub(crate) fn test_record(path: &str, class: Class, tier: Confidence, elements: &[Element], fp: u8) -> FindingRecord {
    use crate::finding::MaskedView;
    FindingRecord {
        finding: Finding {
            class,
            confidence: tier,
            view: MaskedView { first6: "411111".into(), last4: "1111".into(), len: 16 },
            fingerprint: (class != Class::MaskedPan).then_some(Fingerprint([fp; 32])),
            brands: vec![std::sync::Arc::from("visa")],
            signals: vec![Signal::Luhn],
            elements: elements.to_vec(),
            offset: 0,
            len: 16,
            context: None,
        },
        path: path.into(),
        table: None,
        column: None,
        line: 3,
        byte_offset: 40,
        decoders: vec![],
        encoding: "utf-8".into(),
        engine: None,
        row_key: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The quick check never skips a string the full masking would change.
        #[test]
        fn quick_check_skips_only_what_needs_no_masking(
            s in "[0-9０-９ .\\-/a\u{3000}]{0,40}",
        ) {
            if longest_chain(&s) < 12 {
                proptest::prop_assert_eq!(redact_chains(&s), Cow::Borrowed(s.as_str()));
            }
        }
    }

    #[test]
    fn digits_in_paths_are_masked() {
        assert_eq!(redact_digits("/srv/4111111111111111.txt"), "/srv/411111******1111.txt");
        assert_eq!(redact_digits("/srv/4111111111111112.txt"), "/srv/4111111111111112.txt");
        assert_eq!(redact_digits("/var/log/2024-10-22.log"), "/var/log/2024-10-22.log");
        assert_eq!(redact_digits("card 4111 1111 1111 1111.txt"), "card 4111 11** **** 1111.txt");
        assert_eq!(redact_digits("x-4111-1111-1111-1111"), "x-4111-11**-****-1111");
        // A number after a different separator, and a UnionPay number that fails Luhn.
        let mixed = redact_digits("2024-4111 1111 1111 1111.txt");
        assert!(mixed.ends_with("11** **** 1111.txt"), "{mixed}");
        assert_eq!(redact_digits("id 6212345678901234"), "id 621234******1234");
        assert_eq!(redact_digits("2024-10-22 11-30"), "2024-10-22 11-30");
        assert_eq!(
            redact_digits(
                "\u{ff14}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}"
            ),
            "\u{ff14}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}******\u{ff11}\u{ff11}\u{ff11}\u{ff11}"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_arg("postgres://app:s3cret@db1/shop"), "postgres://app:****@db1/shop");
        assert_eq!(redact_arg("/srv/www"), "/srv/www");
        assert_eq!(
            redact_arg("postgres://app@db1/shop?password=hunter22&x=1"),
            "postgres://app@db1/shop?password=****&x=1"
        );
        assert_eq!(redact_arg("mysql://u:p@ss@h/d"), "mysql://u:****@h/d");
        assert_eq!(redact_arg("postgres://app:pa/ss@db1/shop"), "postgres://app:****@db1/shop");
        assert_eq!(redact_arg("postgres://app:p?x#y@db1/shop"), "postgres://app:****@db1/shop");
        assert_eq!(redact_arg("sqlite:///data/a@b.db"), "sqlite:///data/a@b.db");
    }

    #[test]
    fn counts() {
        let mut c = Counts::default();
        c.add(Class::Pan, Confidence::High);
        c.add(Class::Track2, Confidence::Critical);
        c.add(Class::TestPan, Confidence::High);
        c.add(Class::MaskedPan, Confidence::Low);
        assert_eq!((c.critical, c.high, c.test_pan, c.masked_pan, c.cardholder(), c.total()), (1, 1, 1, 1, 2, 4));
    }
}
