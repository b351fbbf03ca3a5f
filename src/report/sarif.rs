//! `--format sarif`: one SARIF 2.1.0 log (OASIS Static Analysis Results Interchange
//! Format) for code-scanning dashboards — GitHub code scanning, Azure DevOps, the VS Code
//! SARIF viewer. See docs/report-format.md for the field mapping.
//!
//! One run: `tool.driver` with one rule per finding class, one `result` per finding,
//! streamed into the `results` array as found (memory does not grow with the number of
//! findings), then `invocations[0]` — start and end time, `executionSuccessful`, and a
//! `toolExecutionNotifications` entry per skipped item, kept until the end (at most
//! [`MAX_NOTIFICATIONS`], those that leave data unread first, then one entry counting the
//! rest, so a run with millions of unreadable files stays bounded) — and `run.properties` with the summary and the database tables. The document is
//! valid JSON only once [`ReportWriter::finish`] has run (a SARIF log cannot be read
//! record by record like JSONL; an interrupted run still finishes it, with
//! `executionSuccessful: false`).
//!
//! Locations: a file path becomes a relative URI (relative paths, percent-encoded) or a
//! `file:///` URI (absolute paths) with `region.startLine` and `region.byteOffset`. A
//! member of an archive, mail or PDF (`outer!member`) has the outer file as its artifact
//! and the member chain as a logical location of kind `member`; its line and offset are
//! those of the member, so they go into the result's properties, not into a region of
//! the outer file. A database cell has the database URL (password already removed) as
//! its artifact and `table.column` as a logical location of kind `column`.
//!
//! `partialFingerprints` (`pansweep/pan/v1`, the keyed HMAC of the PAN) are written only
//! when the run used a key file (`--fingerprint-key`, key id `sha256:…`): a per-run random
//! key gives every PAN a new fingerprint each run, which would make a dashboard see every
//! result as new and never close a fixed one.
//!
//! Results are built from [`FindingRecord`]s, which hold only a masked view and a
//! fingerprint: no full PAN, expiry or security code can reach the log. Everything is
//! written through `serde_json`, so paths, table names and context cannot break out of
//! their strings.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

use serde::Serialize;
use serde_json::json;

use super::{FindingJson, FindingRecord, ReportWriter, RunInfo, SkipList, Summary, TableSummary};
use crate::finding::{Class, Confidence, Element, Fingerprint};
use crate::source::{Skip, SkipKind};

/// The `$schema` of the log: the OASIS SARIF 2.1.0 schema (errata 01), the one the tests
/// validate against (`testdata/sarif/sarif-schema-2.1.0.json`).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of the PAN fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "pansweep/pan/v1";

/// One rule (SARIF `reportingDescriptor`) per finding class.
struct Rule {
    class: Class,
    name: &'static str,
    short: &'static str,
    full: &'static str,
    help: &'static str,
    level: &'static str,
}

/// Help for both track-data rules: sensitive authentication data is never kept.
const SAD_HELP: &str = "Sensitive authentication data (full track data, card security codes, PINs) must never be \
                        stored after authorisation, not even encrypted (PCI DSS requirement 3.3, 3.3.1.1). Delete \
                        it, including from backups and logs, and find the code that wrote it: a debug log or a \
                        tampered payment module often does.";

/// The rules, in `ruleIndex` order.
const RULES: [Rule; 5] = [
    Rule {
        class: Class::Pan,
        name: "StoredCardNumber",
        short: "A full payment card number (PAN) is stored.",
        full: "A complete primary account number (PAN) of a payment card is stored readable. The result's \
               level follows pansweep's confidence tier: critical (stored together with a security code or \
               track data) and high (corroborated by a keyword, an expiry date, a card-like column or key, or a \
               cardholder name) are errors, medium (a brand- and check-digit-valid number without context) is a \
               warning, low (weak evidence: unknown brand, failed optional check digit, suspicious pattern) is a \
               note.",
        help: "Delete the card number if it is not needed. If it must be kept, render it unreadable wherever it \
               is stored (truncation, a keyed one-way hash of the whole PAN, tokenisation or strong \
               cryptography), as PCI DSS requirement 3.5 (3.5.1) asks, and keep what is stored to what the \
               business needs (3.2.1). Look for copies in backups, exports and logs. When the result lists an \
               expiry date or security code with the PAN: a security code must never be stored after \
               authorisation (PCI DSS 3.3.1.2), so delete it in any case.",
        level: "error",
    },
    Rule {
        class: Class::Track1,
        name: "StoredTrack1Data",
        short: "Magnetic-stripe track 1 data is stored.",
        full: "Track 1 data (PAN, cardholder name, expiry date, service code and discretionary data, as read \
               from the magnetic stripe or chip) is sensitive authentication data.",
        help: SAD_HELP,
        level: "error",
    },
    Rule {
        class: Class::Track2,
        name: "StoredTrack2Data",
        short: "Magnetic-stripe track 2 data (or EMV tag 57) is stored.",
        full: "Track 2 data or its chip equivalent, EMV tag 57 (PAN, expiry date, service code and \
               discretionary data), is sensitive authentication data.",
        help: SAD_HELP,
        level: "error",
    },
    Rule {
        class: Class::TestPan,
        name: "TestCardNumber",
        short: "A public test card number is stored.",
        full: "A card number from the public test-card lists of card networks and payment gateways (such as \
               4111 11** **** 1111, shown masked like every number in this report). It is not a real account; \
               it is reported so that nothing is dropped silently.",
        help: "Usually test data or sample configuration: confirm that it is, and that the file is not a copy of \
               production data in which test cards sit next to real ones. A test number itself needs no PCI DSS \
               action.",
        level: "note",
    },
    Rule {
        class: Class::MaskedPan,
        name: "MaskedCardNumber",
        short: "A masked or truncated card number is stored.",
        full: "A card number with its middle digits replaced, such as 411111******1111 or xxxx-xxxx-xxxx-1234.",
        help: "Informational. Masking or truncation that keeps at most the first six and the last four digits \
               is acceptable (PCI DSS 3.4.1, 3.5.1). Check that no more digits are shown, and that the full \
               number is not stored elsewhere in the same system.",
        level: "note",
    },
];

/// The index of a class's rule in `tool.driver.rules`.
fn rule_index(class: Class) -> usize {
    RULES.iter().position(|r| r.class == class).unwrap_or(0)
}

/// The SARIF level of a result: cardholder data by tier (critical and high are errors,
/// medium a warning, low a note); test and masked PANs are notes.
pub fn level(class: Class, confidence: Confidence) -> &'static str {
    if !class.is_cardholder_data() {
        return "note";
    }
    match confidence {
        Confidence::Critical | Confidence::High => "error",
        Confidence::Medium => "warning",
        Confidence::Low => "note",
    }
}

/// The SARIF level of a skipped item's notification: a warning when coverage is
/// incomplete (`error`, `limit`), a note otherwise (`vanished`, `link`).
fn skip_level(kind: SkipKind) -> &'static str {
    if kind.incomplete() { "warning" } else { "note" }
}

/// Appends `s` percent-encoded for a URI path: unreserved characters, sub-delimiters, `@`
/// and `/` stay; everything else, `:` `%` `?` `#` `[` `]`, spaces, controls and every
/// non-ASCII byte (as UTF-8), becomes `%XX`. `:` is encoded so that a relative path such
/// as `a:b` is never read as a URI scheme.
fn push_encoded(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// A file path as a URI reference: an absolute path becomes `file:///…`; a relative one
/// stays relative (`./` dropped), resolved against wherever the log is read from.
pub fn path_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        out.push_str("file://");
        push_encoded(&mut out, path);
        return out;
    }
    let mut rel = path;
    while let Some(r) = rel.strip_prefix("./") {
        rel = r.trim_start_matches('/');
    }
    push_encoded(&mut out, rel);
    out
}

/// A URL (a database URL, already without its password) as a valid URI: characters that
/// may never appear in a URI (spaces, controls, non-ASCII, ``"<>\^`{|}``, a `%` that does
/// not start an escape) are percent-encoded; the rest is kept as written.
pub fn url_uri(url: &str) -> String {
    let b = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    for (i, &c) in b.iter().enumerate() {
        let escape_start = c == b'%' && b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
        if c.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&c) && (c != b'%' || escape_start) {
            out.push(char::from(c));
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
    out
}

/// Whether `s` starts with a URL scheme and `://` (a database URL, not a file path).
fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// A command line as one string a POSIX shell would split back into `argv`.
fn shell_join(argv: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)) {
            out.push_str(a);
        } else {
            out.push('\'');
            out.push_str(&a.replace('\'', "'\\''"));
            out.push('\'');
        }
    }
    out
}

/// An element in words, for messages.
fn element_words(e: Element) -> &'static str {
    match e {
        Element::Pan => "card number",
        Element::Expiry => "expiry date",
        Element::Cvv => "security code",
        Element::Track1 => "track 1 data",
        Element::Track2 => "track 2 data",
        Element::Name => "cardholder name",
    }
}

/// `message.text`: what, the masked PAN, brands, what else is stored with it, the tier.
/// Never more of the PAN than the masked view.
fn message(rec: &FindingRecord) -> String {
    let f = &rec.finding;
    let what = match f.class {
        Class::Pan => "Card number",
        Class::Track1 => "Track 1 data with card number",
        Class::Track2 => "Track 2 data with card number",
        Class::TestPan => "Public test card number",
        Class::MaskedPan => "Masked card number",
    };
    let mut s = format!("{what} {}", f.view.masked());
    if !f.brands.is_empty() {
        s.push_str(" (");
        for (i, b) in f.brands.iter().enumerate() {
            if i > 0 {
                s.push('/');
            }
            s.push_str(b);
        }
        s.push(')');
    } else if f.class.is_cardholder_data() {
        s.push_str(" (unknown brand)");
    }
    let own = |e: Element| match f.class {
        Class::Track1 => matches!(e, Element::Pan | Element::Track1),
        Class::Track2 => matches!(e, Element::Pan | Element::Track2),
        _ => e == Element::Pan,
    };
    let with: Vec<&str> = f.elements.iter().copied().filter(|&e| !own(e)).map(element_words).collect();
    if let Some((last, rest)) = with.split_last() {
        s.push_str(" stored with ");
        if !rest.is_empty() {
            s.push_str(&rest.join(", "));
            s.push_str(" and ");
        }
        s.push_str(last);
    }
    let _ = write!(s, "; confidence {}.", f.confidence.as_str());
    s
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultJson<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [LocationJson<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    partial_fingerprints: Option<PartialFingerprints>,
    properties: FindingJson<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationJson<'a> {
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u64,
    byte_offset: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct PartialFingerprints {
    #[serde(rename = "pansweep/pan/v1")]
    pan: Fingerprint,
}

/// Where a finding is: its artifact URI, region and logical location.
fn location(rec: &FindingRecord) -> LocationJson<'_> {
    if rec.engine.is_some() {
        // A database cell: the URL is the artifact, `table.column` the logical location.
        let logical = match (rec.table.as_deref(), rec.column.as_deref()) {
            (Some(t), Some(c)) => {
                vec![LogicalLocation { name: c, fully_qualified_name: format!("{t}.{c}"), kind: "column" }]
            }
            (Some(t), None) => vec![LogicalLocation { name: t, fully_qualified_name: t.to_owned(), kind: "table" }],
            _ => Vec::new(),
        };
        return LocationJson {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri: url_uri(&rec.path) },
                region: None,
            },
            logical_locations: logical,
        };
    }
    // Every `!` in a path is put there by a decoding stage (archive, mail, PDF, SQLite), so
    // a record with no decoders is a plain file, even if its name holds a `!`.
    let member = if rec.decoders.is_empty() && rec.table.is_none() { None } else { rec.path.split_once('!') };
    match member {
        None => LocationJson {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri: path_uri(&rec.path) },
                region: Some(Region { start_line: rec.line.max(1), byte_offset: rec.byte_offset }),
            },
            logical_locations: Vec::new(),
        },
        Some((outer, inner)) => {
            let (name, kind) = match rec.column.as_deref() {
                Some(c) if rec.table.is_some() => (c, "column"),
                _ => (inner.rsplit('!').next().unwrap_or(inner), "member"),
            };
            LocationJson {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation { uri: path_uri(outer) },
                    region: None,
                },
                logical_locations: vec![LogicalLocation { name, fully_qualified_name: inner.to_owned(), kind }],
            }
        }
    }
}

/// The location of a skipped item: the part before the first `!` as the artifact (a file,
/// or a database URL), the rest as a logical location (a member, or a database table).
fn skip_location(path: &str) -> serde_json::Value {
    let (outer, inner) = match path.split_once('!') {
        Some((o, i)) => (o, Some(i)),
        None => (path, None),
    };
    let url = is_url(outer);
    let uri = if url { url_uri(outer) } else { path_uri(outer) };
    let mut loc = json!({ "physicalLocation": { "artifactLocation": { "uri": uri } } });
    if let Some(inner) = inner {
        let (name, kind) = if url { (inner, "table") } else { (inner.rsplit('!').next().unwrap_or(inner), "member") };
        loc["logicalLocations"] = json!([{ "name": name, "fullyQualifiedName": inner, "kind": kind }]);
    }
    loc
}

/// The SARIF writer.
pub struct Sarif<W: Write> {
    out: BufWriter<W>,
    /// The run record, kept for the invocation written at the end.
    run: Option<RunInfo>,
    /// No result written yet (no comma before the next).
    first: bool,
    /// The run used a key file: fingerprints are comparable across runs.
    stable_key: bool,
    skipped: SkipList,
    tables: Vec<TableSummary>,
}

/// Most skipped items listed one by one as notifications.
pub const MAX_NOTIFICATIONS: usize = 10_000;

impl<W: Write> Sarif<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Sarif<W> {
        Sarif {
            out: BufWriter::with_capacity(64 * 1024, out),
            run: None,
            first: true,
            stable_key: false,
            skipped: SkipList::new(MAX_NOTIFICATIONS),
            tables: Vec::new(),
        }
    }
}

/// `tool.driver`: name, version and the rules.
fn driver(run: &RunInfo) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.class.as_str(),
                "name": r.name,
                "shortDescription": { "text": r.short },
                "fullDescription": { "text": r.full },
                "help": { "text": r.help },
                "defaultConfiguration": { "level": r.level },
                "properties": { "tags": ["security", "pci-dss", "card-data"] },
            })
        })
        .collect();
    json!({
        "name": &run.tool,
        "version": &run.version,
        "semanticVersion": &run.version,
        "rules": rules,
    })
}

impl<W: Write + Send> ReportWriter for Sarif<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.stable_key = run.fingerprint_key_id.starts_with("sha256:");
        self.run = Some(run.clone());
        self.out.write_all(b"{\"$schema\":")?;
        serde_json::to_writer(&mut self.out, SCHEMA_URI)?;
        self.out.write_all(b",\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":")?;
        serde_json::to_writer(&mut self.out, &driver(run))?;
        self.out.write_all(b"},\"results\":[")?;
        self.out.flush()
    }

    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()> {
        let f = &rec.finding;
        let result = ResultJson {
            rule_id: f.class.as_str(),
            rule_index: rule_index(f.class),
            level: level(f.class, f.confidence),
            message: Text { text: message(rec) },
            locations: [location(rec)],
            partial_fingerprints: f.fingerprint.filter(|_| self.stable_key).map(|pan| PartialFingerprints { pan }),
            // The JSONL finding record itself (SPEC §4), under its JSONL names.
            properties: FindingJson::new(rec),
        };
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, &result)?;
        Ok(())
    }

    fn skipped(&mut self, skip: &Skip) -> io::Result<()> {
        self.skipped.push(skip);
        Ok(())
    }

    fn table(&mut self, table: &TableSummary) -> io::Result<()> {
        self.tables.push(table.clone());
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let mut notifications: Vec<serde_json::Value> = self
            .skipped
            .items()
            .iter()
            .map(|s| {
                json!({
                    "level": skip_level(s.kind),
                    "message": { "text": &s.reason },
                    "locations": [skip_location(&s.path)],
                    "properties": { "kind": s.kind, "path": &s.path },
                })
            })
            .collect();
        if self.skipped.unlisted() > 0 {
            notifications.push(json!({
                "level": "warning",
                "message": { "text": format!(
                    "{} more skipped items are not listed here; every one is in the JSONL report",
                    self.skipped.unlisted()
                ) },
                "properties": { "unlisted": self.skipped.unlisted() },
            }));
        }
        let mut invocation = json!({
            "executionSuccessful": summary.complete,
            "toolExecutionNotifications": notifications,
        });
        let mut properties = json!({
            "complete": summary.complete,
            "coverage": {
                "files": summary.files,
                "bytes": summary.bytes,
                "tables": summary.tables,
                "rows": summary.rows,
                "skipped": summary.skipped,
                "sampled": summary.sampled,
            },
            "findings": summary.findings,
            "distinct_pans": summary.distinct_pans,
            "elapsed_s": summary.elapsed_s,
        });
        if let Some(run) = &self.run {
            invocation["commandLine"] = json!(shell_join(&run.argv));
            invocation["arguments"] = json!(run.argv.get(1..).unwrap_or_default());
            if let Some(start) = crate::time::parse_rfc3339(&run.started) {
                invocation["startTimeUtc"] = json!(crate::time::rfc3339(start));
                // Whole seconds, as the start time is; never before the start.
                #[allow(clippy::cast_sign_loss)] // positive and finite, checked
                let elapsed = if summary.elapsed_s.is_finite() && summary.elapsed_s > 0.0 {
                    summary.elapsed_s.round() as u64
                } else {
                    0
                };
                invocation["endTimeUtc"] = json!(crate::time::rfc3339(start.saturating_add(elapsed)));
            }
            invocation["machine"] = json!(&run.host);
            properties["ruleset"] = json!(&run.ruleset);
            properties["fingerprint_key_id"] = json!(&run.fingerprint_key_id);
            // `pansweep report`: the runs merged into this one (empty for a live run).
            if !run.sources.is_empty() {
                properties["sources"] = serde_json::to_value(&run.sources)?;
            }
        }
        if !self.tables.is_empty() {
            properties["tables"] = serde_json::to_value(&self.tables)?;
        }
        self.out.write_all(b"\n],\"invocations\":[")?;
        serde_json::to_writer(&mut self.out, &invocation)?;
        self.out.write_all(b"],\"properties\":")?;
        serde_json::to_writer(&mut self.out, &properties)?;
        self.out.write_all(b"}]}\n")?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;

    use super::*;
    use crate::finding::{Finding, Pan, Signal};

    include!("../../tests/common/sarif_schema.rs");

    fn run_info(key_id: &str) -> RunInfo {
        RunInfo {
            tool: "pansweep".into(),
            version: "0.1.0".into(),
            ruleset: "sha256:00".into(),
            started: "2026-11-23T10:00:00Z".into(),
            host: "web01".into(),
            argv: vec!["pansweep".into(), "scan".into(), "/srv/it's here".into()],
            fingerprint_key_id: key_id.into(),
            sources: Vec::new(),
        }
    }

    fn record(pan: &[u8], class: Class, confidence: Confidence, path: &str) -> FindingRecord {
        let pan = Pan::from_digits(pan).expect("a PAN");
        FindingRecord {
            finding: Finding {
                class,
                confidence,
                view: pan.view(),
                fingerprint: Some(Fingerprint([0xab; 32])),
                brands: vec![Arc::from("visa")],
                signals: vec![Signal::Luhn, Signal::Keyword(Arc::from("カード番号")), Signal::Row(Element::Cvv)],
                elements: vec![Element::Pan, Element::Expiry, Element::Cvv],
                offset: 0,
                len: 16,
                context: Some("card 411111******1111 \"</script>".into()),
            },
            path: path.into(),
            table: None,
            column: None,
            line: 3,
            byte_offset: 42,
            decoders: Vec::new(),
            encoding: "utf-8".into(),
            engine: None,
            row_key: None,
        }
    }

    fn write(key_id: &str, recs: &[FindingRecord], skips: &[Skip], summary: &Summary) -> (String, Value) {
        let mut buf = Vec::new();
        {
            let mut w = Sarif::new(&mut buf);
            w.begin(&run_info(key_id)).unwrap();
            for r in recs {
                w.finding(r).unwrap();
            }
            for s in skips {
                w.skipped(s).unwrap();
            }
            w.finish(summary).unwrap();
        }
        let text = String::from_utf8(buf).expect("UTF-8");
        let doc: Value = serde_json::from_str(&text).expect("one JSON document");
        (text, doc)
    }

    #[test]
    fn levels_follow_tier_and_class() {
        assert_eq!(level(Class::Pan, Confidence::Critical), "error");
        assert_eq!(level(Class::Track2, Confidence::High), "error");
        assert_eq!(level(Class::Pan, Confidence::Medium), "warning");
        assert_eq!(level(Class::Pan, Confidence::Low), "note");
        assert_eq!(level(Class::TestPan, Confidence::Critical), "note");
        assert_eq!(level(Class::MaskedPan, Confidence::Low), "note");
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(rule_index(r.class), i);
        }
    }

    #[test]
    fn uris() {
        assert_eq!(path_uri("./orders.csv"), "orders.csv");
        assert_eq!(path_uri(".//a/./b c.txt"), "a/./b%20c.txt");
        assert_eq!(path_uri("../x#1?.txt"), "../x%231%3F.txt");
        assert_eq!(path_uri("a:b/100%.txt"), "a%3Ab/100%25.txt");
        assert_eq!(path_uri("/srv/注文/カード.csv"), "file:///srv/%E6%B3%A8%E6%96%87/%E3%82%AB%E3%83%BC%E3%83%89.csv");
        assert_eq!(path_uri("/srv/411111******1111.txt"), "file:///srv/411111******1111.txt");
        assert_eq!(
            url_uri("postgres://app@db1:5432/shop?sslmode=verify-full"),
            "postgres://app@db1:5432/shop?sslmode=verify-full"
        );
        assert_eq!(url_uri("sqlite:///var/my db/100%.db"), "sqlite:///var/my%20db/100%25.db");
        assert_eq!(url_uri("sqlite:///a%20b"), "sqlite:///a%20b");
        assert!(is_url("mysql://h/d") && is_url("sqlite:///x") && !is_url("./a://b") && !is_url("/srv/x"));
        assert_eq!(shell_join(&["a".into(), "b c".into(), "it's".into(), String::new()]), "a 'b c' 'it'\\''s' ''");
    }

    #[test]
    fn a_file_finding_and_its_run() {
        let rec = record(b"4111111111111111", Class::Pan, Confidence::Critical, "./orders.csv");
        let summary = Summary { complete: true, files: 1, bytes: 100, elapsed_s: 2.6, ..Summary::default() };
        let (text, doc) = write("random:0011", &[rec], &[], &summary);
        assert_eq!(schema_errors(&doc), Vec::<String>::new());
        assert!(!text.contains("4111111111111111"));
        assert!(!text.contains("</script>") || text.contains("\\\"</script>"), "context stays in its string");
        let run = &doc["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 5);
        let r = &run["results"][0];
        assert_eq!(
            (r["ruleId"].as_str(), r["ruleIndex"].as_u64(), r["level"].as_str()),
            (Some("pan"), Some(0), Some("error"))
        );
        assert_eq!(
            r["message"]["text"],
            "Card number 411111******1111 (visa) stored with expiry date and security code; confidence critical."
        );
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "orders.csv");
        assert_eq!((loc["region"]["startLine"].as_u64(), loc["region"]["byteOffset"].as_u64()), (Some(3), Some(42)));
        // A random per-run key: no partialFingerprints, the fingerprint only as a property.
        assert!(r.get("partialFingerprints").is_none());
        assert_eq!(r["properties"]["fingerprint"], format!("hmac-sha256:{}", "ab".repeat(32)));
        assert_eq!(r["properties"]["signals"][1], "keyword:カード番号");
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], true);
        assert_eq!(inv["startTimeUtc"], "2026-11-23T10:00:00Z");
        assert_eq!(inv["endTimeUtc"], "2026-11-23T10:00:03Z");
        assert_eq!(inv["commandLine"], "pansweep scan '/srv/it'\\''s here'");
        assert_eq!(inv["arguments"], serde_json::json!(["scan", "/srv/it's here"]));
        assert_eq!(inv["machine"], "web01");
        assert_eq!(run["properties"]["coverage"]["files"], 1);
        assert_eq!(run["properties"]["fingerprint_key_id"], "random:0011");
    }

    #[test]
    fn partial_fingerprints_only_with_a_key_file() {
        let rec = record(b"4111111111111111", Class::TestPan, Confidence::High, "/srv/a.txt");
        let mut masked = record(b"4111111111111111", Class::MaskedPan, Confidence::Low, "/srv/b.txt");
        masked.finding.fingerprint = None;
        let (_, doc) = write("sha256:0011", &[rec, masked], &[], &Summary::default());
        assert_eq!(schema_errors(&doc), Vec::<String>::new());
        let results = &doc["runs"][0]["results"];
        assert_eq!(results[0]["partialFingerprints"][FINGERPRINT_KEY], format!("hmac-sha256:{}", "ab".repeat(32)));
        assert_eq!(results[0]["level"], "note");
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "file:///srv/a.txt");
        // A masked PAN has no fingerprint to offer.
        assert!(results[1].get("partialFingerprints").is_none());
    }

    #[test]
    fn members_databases_and_skips() {
        let mut member = record(b"4111111111111111", Class::Pan, Confidence::High, "site.tar.gz!db/x.zip!orders.csv");
        member.decoders = vec!["gzip".into(), "tar".into(), "zip".into()];
        let mut cell = record(b"4111111111111111", Class::Pan, Confidence::Medium, "shop.sqlite!main.orders.card_no");
        cell.decoders = vec!["sqlite".into()];
        cell.table = Some("main.orders".into());
        cell.column = Some("card_no".into());
        let mut db = record(b"4111111111111111", Class::Pan, Confidence::Critical, "postgres://app@db1/shop");
        db.engine = Some("postgres".into());
        db.table = Some("public.orders".into());
        db.column = Some("card_no".into());
        db.row_key = Some(vec![(Arc::from("id"), "48213".into())]);
        // A plain file whose name holds a `!` is not an archive member.
        let bang = record(b"4111111111111111", Class::Pan, Confidence::Low, "wow!.txt");
        let skips = [
            Skip { path: "./secret.zip!a.csv".into(), reason: "encrypted member".into(), kind: SkipKind::Error },
            Skip {
                path: "./gone.txt".into(),
                reason: "cannot open: vanished during the scan".into(),
                kind: SkipKind::Vanished,
            },
            Skip {
                path: "postgres://app@db1/shop!public.big".into(),
                reason: "table not completely read".into(),
                kind: SkipKind::Error,
            },
        ];
        let table = TableSummary {
            path: "postgres://app@db1/shop".into(),
            engine: "postgres".into(),
            table: "public.orders".into(),
            rows: 3,
            bytes: 99,
            sampled: false,
            complete: true,
            columns_read: 2,
            columns_unread: 0,
            findings: crate::report::Counts::default(),
            distinct_pans: 1,
            columns: Vec::new(),
        };
        let mut buf = Vec::new();
        {
            let mut w = Sarif::new(&mut buf);
            w.begin(&run_info("sha256:1")).unwrap();
            for r in [&member, &cell, &db, &bang] {
                w.finding(r).unwrap();
            }
            for s in &skips {
                w.skipped(s).unwrap();
            }
            w.table(&table).unwrap();
            w.finish(&Summary { complete: false, skipped: 3, ..Summary::default() }).unwrap();
        }
        let doc: Value = serde_json::from_slice(&buf).expect("JSON");
        assert_eq!(schema_errors(&doc), Vec::<String>::new());
        let run = &doc["runs"][0];
        let loc = |i: usize| run["results"][i]["locations"][0].clone();
        let m = loc(0);
        assert_eq!(m["physicalLocation"]["artifactLocation"]["uri"], "site.tar.gz");
        assert!(m["physicalLocation"].get("region").is_none(), "line and offset are the member's");
        assert_eq!(
            m["logicalLocations"][0],
            serde_json::json!({"name": "orders.csv", "fullyQualifiedName": "db/x.zip!orders.csv", "kind": "member"})
        );
        assert_eq!(run["results"][0]["properties"]["line"], 3);
        let c = loc(1);
        assert_eq!(c["physicalLocation"]["artifactLocation"]["uri"], "shop.sqlite");
        assert_eq!(c["logicalLocations"][0]["kind"], "column");
        assert_eq!(c["logicalLocations"][0]["fullyQualifiedName"], "main.orders.card_no");
        let d = loc(2);
        assert_eq!(d["physicalLocation"]["artifactLocation"]["uri"], "postgres://app@db1/shop");
        assert_eq!(
            d["logicalLocations"][0],
            serde_json::json!({"name": "card_no", "fullyQualifiedName": "public.orders.card_no", "kind": "column"})
        );
        let props = &run["results"][2]["properties"];
        assert_eq!(props["row_key"], serde_json::json!({"id": "48213"}));
        assert!(props.get("line").is_none() && props.get("byte_offset").is_none());
        assert_eq!(
            run["results"][2]["partialFingerprints"][FINGERPRINT_KEY],
            format!("hmac-sha256:{}", "ab".repeat(32))
        );
        let b = loc(3);
        assert_eq!(b["physicalLocation"]["artifactLocation"]["uri"], "wow!.txt");
        assert_eq!(b["physicalLocation"]["region"]["startLine"], 3);
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false);
        let n = &inv["toolExecutionNotifications"];
        assert_eq!((n[0]["level"].as_str(), n[1]["level"].as_str()), (Some("warning"), Some("note")));
        assert_eq!(n[0]["message"]["text"], "encrypted member");
        assert_eq!(n[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "secret.zip");
        assert_eq!(n[0]["properties"], serde_json::json!({"kind": "error", "path": "./secret.zip!a.csv"}));
        assert_eq!(n[2]["locations"][0]["logicalLocations"][0]["kind"], "table");
        assert_eq!(run["properties"]["tables"][0]["table"], "public.orders");
    }

    #[test]
    fn an_empty_run() {
        let (text, doc) = write("random:1", &[], &[], &Summary { complete: true, ..Summary::default() });
        assert_eq!(schema_errors(&doc), Vec::<String>::new());
        assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
        assert_eq!(doc["version"], "2.1.0");
        assert_eq!(doc["$schema"], SCHEMA_URI);
        assert!(text.ends_with("}]}\n"));
    }

    #[test]
    fn the_schema_rejects_a_broken_log() {
        // The validation in these tests is not vacuous.
        let (_, mut doc) = write("random:1", &[], &[], &Summary::default());
        doc["runs"][0]["results"] = serde_json::json!([{ "message": { "text": "x" }, "level": "fatal" }]);
        assert!(!schema_errors(&doc).is_empty());
        let (_, mut doc) = write("random:1", &[], &[], &Summary::default());
        doc["runs"][0]["invocations"][0]["startTimeUtc"] = serde_json::json!("yesterday");
        assert!(!schema_errors(&doc).is_empty());
        let (_, mut doc) = write("random:1", &[], &[], &Summary::default());
        doc["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = serde_json::json!("not a uri");
        assert!(!schema_errors(&doc).is_empty());
    }

    #[test]
    fn skipped_items_beyond_the_cap_are_counted_errors_first() {
        let mut w = Sarif::new(Vec::new());
        w.begin(&run_info("sha256:1")).unwrap();
        let skip = |i: usize, kind| Skip { path: format!("/srv/f{i}"), reason: "r".into(), kind };
        for i in 0..MAX_NOTIFICATIONS {
            w.skipped(&skip(i, SkipKind::Link)).unwrap();
        }
        for i in 0..5 {
            w.skipped(&skip(i, SkipKind::Error)).unwrap();
        }
        w.finish(&Summary { complete: true, ..Summary::default() }).unwrap();
        let doc: Value =
            serde_json::from_slice(&w.out.into_inner().map_err(io::IntoInnerError::into_error).unwrap()).unwrap();
        let n = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
        assert_eq!(n.len(), MAX_NOTIFICATIONS + 1);
        assert_eq!(n.iter().filter(|x| x["properties"]["kind"] == "error").count(), 5, "errors are listed");
        assert_eq!(n[MAX_NOTIFICATIONS]["properties"]["unlisted"], 5);
    }
}
