//! Reading a JSONL report back into records, for `pansweep report` (re-render, merge).
//!
//! The input is treated as untrusted: a report file may have been edited, cut short or
//! written by another version. Every record is checked on the way in so that nothing read
//! can put a full card number into a new report: the masked view must be at most 6 and
//! 4 digits of a 12–19-digit number, and every free-text field (paths, table, column and
//! key values, context, reasons, argv) goes through [`redact_digits`] again.

use std::borrow::Cow;

use serde::Deserialize;

use super::{Evidence, FindingRecord, KeyIn, RunInfo, Summary, TableSummary, redact_digits};
use crate::finding::{Class, Confidence, Element, Finding, Fingerprint, MAX_PAN_LEN, MaskedView, Signal};
use crate::source::{Skip, SkipKind};

/// One record of a JSONL report.
#[derive(Debug)]
pub enum Record {
    /// The opening `run` record.
    Run(RunInfo),
    /// A finding.
    Finding(Box<FindingRecord>),
    /// A finding of the run's baseline that was not found again (same fields).
    Resolved(Box<FindingRecord>),
    /// A skipped item.
    Skipped(Skip),
    /// A database table.
    Table(TableSummary),
    /// The closing summary.
    Summary(Summary),
    /// What a file with findings looked like when read (`scan --forensic`).
    Evidence(Box<Evidence>),
    /// A record type this version does not know (written by a newer version): ignored.
    Unknown,
}

/// Why a line is not a record.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or not the shape of its `type` (the text is not echoed: it may hold data).
    #[error("not a pansweep JSONL record ({0})")]
    Shape(String),
    /// A masked view that shows more than the first 6 and last 4 digits.
    #[error("a finding shows more digits than a masked PAN may (first 6 and last 4)")]
    Unmasked,
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
}

/// The JSON shape of a finding (`FindingJson`), owned. Its `id` is not taken as written:
/// it is a function of the other fields ([`FindingRecord::id`]), computed again, so an
/// older report without ids gets them and an edited one gets ids that fit its fields.
#[derive(Deserialize)]
struct FindingIn {
    class: Class,
    confidence: Confidence,
    path: String,
    #[serde(default)]
    engine: Option<String>,
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    row_key: Option<KeyIn>,
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    byte_offset: Option<u64>,
    #[serde(default)]
    decoders: Vec<String>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    brands: Vec<String>,
    first6: String,
    last4: String,
    length: usize,
    #[serde(default)]
    fingerprint: Option<Fingerprint>,
    #[serde(default)]
    signals: Vec<Signal>,
    #[serde(default)]
    elements: Vec<Element>,
    #[serde(default)]
    context: Option<String>,
}

#[derive(Deserialize)]
struct SkipIn {
    path: String,
    reason: String,
    kind: SkipKind,
}

fn shape(e: &serde_json::Error) -> ReadError {
    // serde_json's messages name the field and the expected type, never the value for
    // strings; the column is enough to find the line.
    ReadError::Shape(format!("{} at column {}", e.classify_name(), e.column()))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected fields or values",
            serde_json::error::Category::Eof => "line cut short",
        }
    }
}

fn clean(s: &str) -> String {
    redact_digits(s).into_owned()
}

/// A field with a fixed shape (version, key id, engine, encoding…): kept when it is short
/// and made of the characters such values use, else `invalid`; PAN-like numbers masked
/// either way.
fn fixed(s: &str) -> String {
    let ok = s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || "._:+-/ ".contains(c));
    if ok { clean(s) } else { "invalid".to_owned() }
}

/// A start time is RFC 3339 or `invalid`.
fn time(s: &str) -> String {
    if crate::time::parse_rfc3339(s).is_some() && s.len() <= 40 { s.to_owned() } else { "invalid".to_owned() }
}

/// Context as the scanner writes it keeps only the visible digits of masked numbers
/// (`411111******1111`); every other digit was masked. Read back, any digit outside such a
/// masked number is masked again, so an edited report cannot pass on an expiry date or a
/// security code.
fn clean_context(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut keep = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        // A masked number: up to 6 digits, 2 or more `*`, up to 4 digits.
        let (mut j, start) = (i, i);
        while j < chars.len() && chars[j].is_ascii_digit() && j - start < 6 {
            j += 1;
        }
        let stars = j;
        while j < chars.len() && chars[j] == '*' {
            j += 1;
        }
        if j - stars >= 2 && j > stars {
            let tail = j;
            while j < chars.len() && chars[j].is_ascii_digit() && j - tail < 4 {
                j += 1;
            }
            let bounded = |k: usize| k >= chars.len() || !chars[k].is_ascii_digit();
            if (start == 0 || !chars[start - 1].is_ascii_digit()) && bounded(j) {
                keep[start..j].iter_mut().for_each(|k| *k = true);
                i = j;
                continue;
            }
        }
        i += 1;
    }
    chars
        .iter()
        .zip(keep)
        .map(|(&c, k)| if !k && (c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)) { '*' } else { c })
        .collect()
}

/// A masked view is at most 6 leading and 4 trailing digits of a PAN-length number.
fn masked_view(first6: String, last4: String, len: usize) -> Result<MaskedView, ReadError> {
    let digits = |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&first6, 6) || !digits(&last4, 4) || len > MAX_PAN_LEN || first6.len() + last4.len() > len {
        return Err(ReadError::Unmasked);
    }
    Ok(MaskedView { first6, last4, len })
}

impl Record {
    /// Parses one line (without its newline).
    pub fn parse(line: &[u8]) -> Result<Record, ReadError> {
        let tag: Tag<'_> = serde_json::from_slice(line).map_err(|e| shape(&e))?;
        Ok(match &*tag.ty {
            "run" => {
                let mut run: RunInfo = serde_json::from_slice(line).map_err(|e| shape(&e))?;
                run.argv = run.argv.iter().map(|a| super::redact_arg(a)).collect();
                run.host = clean(&run.host);
                run.tool = fixed(&run.tool);
                run.version = fixed(&run.version);
                run.ruleset = fixed(&run.ruleset);
                run.fingerprint_key_id = fixed(&run.fingerprint_key_id);
                run.started = time(&run.started);
                for s in &mut run.sources {
                    s.file = clean(&s.file);
                    s.host = clean(&s.host);
                    s.argv = s.argv.iter().map(|a| super::redact_arg(a)).collect();
                    s.version = fixed(&s.version);
                    s.ruleset = fixed(&s.ruleset);
                    s.fingerprint_key_id = fixed(&s.fingerprint_key_id);
                    s.started = time(&s.started);
                    s.ended = s.ended.as_deref().map(time);
                }
                Record::Run(run)
            }
            "finding" => {
                let f: FindingIn = serde_json::from_slice(line).map_err(|e| shape(&e))?;
                Record::Finding(Box::new(finding(f)?))
            }
            "resolved" => {
                let f: FindingIn = serde_json::from_slice(line).map_err(|e| shape(&e))?;
                Record::Resolved(Box::new(finding(f)?))
            }
            "skipped" => {
                let s: SkipIn = serde_json::from_slice(line).map_err(|e| shape(&e))?;
                Record::Skipped(Skip { path: clean(&s.path), reason: clean(&s.reason), kind: s.kind })
            }
            "table" => {
                let mut t: TableSummary = serde_json::from_slice(line).map_err(|e| shape(&e))?;
                t.path = clean(&t.path);
                t.table = clean(&t.table);
                t.engine = Cow::Owned(fixed(&t.engine));
                for c in &mut t.columns {
                    c.column = clean(&c.column);
                    for key in &mut c.example_row_keys {
                        clean_key(key);
                    }
                }
                Record::Table(t)
            }
            "summary" => Record::Summary(serde_json::from_slice(line).map_err(|e| shape(&e))?),
            "evidence" => {
                let mut ev: Evidence = serde_json::from_slice(line).map_err(|e| shape(&e))?;
                // A hash is 64 hex digits; anything else is not kept (it could hold a number).
                if ev.sha256.as_ref().is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit())) {
                    ev.sha256 = None;
                }
                Record::Evidence(Box::new(ev.cleaned()))
            }
            _ => Record::Unknown,
        })
    }
}

fn clean_key(key: &mut crate::source::RowKey) {
    for (k, v) in key.iter_mut() {
        if let Cow::Owned(c) = redact_digits(k) {
            *k = c.into();
        }
        *v = clean(v);
    }
}

fn finding(f: FindingIn) -> Result<FindingRecord, ReadError> {
    let view = masked_view(f.first6, f.last4, f.length)?;
    let mut row_key = f.row_key.map(|k| k.0);
    if let Some(k) = &mut row_key {
        clean_key(k);
    }
    Ok(FindingRecord {
        finding: Finding {
            class: f.class,
            confidence: f.confidence,
            view,
            fingerprint: f.fingerprint,
            brands: f.brands.iter().map(|b| fixed(b).into()).collect(),
            signals: f
                .signals
                .into_iter()
                .map(|s| match s {
                    Signal::Other(t) => Signal::Other(clean(&t)),
                    Signal::Keyword(k) => Signal::Keyword(clean(&k).into()),
                    Signal::Column(c) => Signal::Column(clean(&c).into()),
                    Signal::Brand(b) => Signal::Brand(fixed(&b).into()),
                    Signal::Grouped(g) => Signal::Grouped(fixed(&g)),
                    other => other,
                })
                .collect(),
            elements: f.elements,
            offset: 0,
            len: 0,
            context: f.context.as_deref().map(clean_context),
        },
        path: clean(&f.path),
        table: f.table.as_deref().map(clean),
        column: f.column.as_deref().map(clean),
        line: f.line.unwrap_or(0),
        byte_offset: f.byte_offset.unwrap_or(0),
        decoders: f.decoders.iter().map(|d| clean(d)).collect(),
        encoding: Cow::Owned(f.encoding.map_or_else(|| "utf-8".to_owned(), |e| fixed(&e))),
        engine: f.engine.map(|e| Cow::Owned(fixed(&e))),
        row_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FindingJson, SkipJson};

    fn record() -> FindingRecord {
        FindingRecord {
            finding: Finding {
                class: Class::Pan,
                confidence: Confidence::High,
                view: MaskedView { first6: "411111".into(), last4: "1111".into(), len: 16 },
                fingerprint: Some(Fingerprint([7; 32])),
                brands: vec!["visa".into()],
                signals: vec![
                    Signal::Luhn,
                    Signal::Brand("visa".into()),
                    Signal::Keyword("カード番号".into()),
                    Signal::Row(Element::Expiry),
                    Signal::Track(Element::Track2),
                    Signal::NeedsContext("13-digit"),
                    Signal::Grouped("4-4-4-4".into()),
                ],
                elements: vec![Element::Pan, Element::Expiry],
                offset: 0,
                len: 0,
                context: Some("card 411111******1111 exp".into()),
            },
            path: "shop.tar.gz!orders.csv".into(),
            table: Some("public.orders".into()),
            column: Some("card_no".into()),
            line: 0,
            byte_offset: 0,
            decoders: vec!["gzip".into()],
            encoding: "shift_jis".into(),
            engine: Some("postgres".into()),
            row_key: Some(vec![("z_id".into(), "2".into()), ("a_id".into(), "1".into())]),
        }
    }

    /// An evidence record written by the JSONL writer is read back whole; digit runs in
    /// its text fields are masked again, and a "hash" that is not 64 hex digits is dropped.
    #[test]
    fn an_evidence_record_round_trips_and_is_cleaned() {
        use crate::report::ReportWriter as _;
        let ev = Evidence {
            path: "/srv/backup.zip".into(),
            size: 10,
            mtime: "2026-12-06T00:00:00.000000001Z".into(),
            ctime: "2026-12-06T00:00:00.000000002Z".into(),
            atime: "2001-01-01T00:00:00.123456789Z".into(),
            uid: 0,
            gid: 0,
            user: Some("root".into()),
            group: None,
            mode: "0644".into(),
            inode: 12,
            device: 40,
            sha256: Some("ab".repeat(32)),
            changed_during_scan: false,
            atime_restored: true,
            atime_preserved: true,
        };
        let mut out = Vec::new();
        crate::report::jsonl::Jsonl::new(&mut out).evidence(&ev).unwrap();
        assert!(out.starts_with(b"{\"type\":\"evidence\",\"path\""), "{}", String::from_utf8_lossy(&out));
        let Record::Evidence(back) = Record::parse(out.trim_ascii_end()).unwrap() else { panic!("not evidence") };
        assert_eq!(*back, ev);
        let pan = ["4111", "1111", "1111", "1111"].concat();
        let edited = format!(
            "{{\"type\":\"evidence\",\"path\":\"/srv/{pan}.txt\",\"size\":1,\"mtime\":\"\",\"ctime\":\"\",\"atime\":\"\",\
             \"uid\":0,\"gid\":0,\"user\":\"{pan}\",\"group\":null,\"mode\":\"0644\",\"inode\":1,\"device\":1,\
             \"sha256\":\"{pan}\",\"changed_during_scan\":false,\"atime_restored\":false,\"atime_preserved\":true}}"
        );
        let Record::Evidence(back) = Record::parse(edited.as_bytes()).unwrap() else { panic!("not evidence") };
        assert_eq!(back.path, "/srv/411111******1111.txt");
        assert_eq!(back.user.as_deref(), Some("411111******1111"));
        assert_eq!(back.sha256, None);
    }

    #[test]
    fn a_finding_round_trips() {
        let rec = record();
        let line = serde_json::to_vec(&FindingJson::new(&rec)).unwrap();
        let Record::Finding(back) = Record::parse(&line).unwrap() else { panic!("not a finding") };
        let again = serde_json::to_vec(&FindingJson::new(&back)).unwrap();
        assert_eq!(String::from_utf8(line).unwrap(), String::from_utf8(again).unwrap());
        // Key columns stay in the order written, not sorted.
        assert_eq!(&*back.row_key.unwrap()[0].0, "z_id");
    }

    #[test]
    fn ids_are_stable_and_computed_for_old_reports() {
        let rec = record();
        let id = rec.id();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{id}");
        let line = serde_json::to_string(&FindingJson::new(&rec)).unwrap();
        let field = format!("\"id\":\"{id}\",");
        assert!(line.contains(&field), "{line}");
        // A report written before ids (the line as written, so the key order stays): the
        // id is computed on reading.
        let Record::Finding(back) = Record::parse(line.replace(&field, "").as_bytes()).unwrap() else { panic!() };
        assert_eq!(back.id(), id);
        // Another place, class or card: another id.
        let mut other = record();
        other.row_key = Some(vec![("z_id".into(), "3".into()), ("a_id".into(), "1".into())]);
        assert_ne!(other.id(), id);
        let mut other = record();
        other.finding.fingerprint = Some(Fingerprint([8; 32]));
        assert_ne!(other.id(), id);
        let mut other = record();
        other.engine = None;
        other.line = 4;
        let mut moved = other.clone();
        moved.line = 5;
        assert_ne!(other.id(), moved.id());
        // A resolved record reads back as one, with the same id.
        let line = serde_json::to_vec(&FindingJson::typed(&rec, "resolved")).unwrap();
        let Record::Resolved(back) = Record::parse(&line).unwrap() else { panic!("not resolved") };
        assert_eq!(back.id(), id);
    }

    #[test]
    fn a_skip_round_trips() {
        let s = Skip { path: "a/b".into(), reason: "cannot open: permission denied".into(), kind: SkipKind::Error };
        let line = serde_json::to_vec(&SkipJson::new(&s)).unwrap();
        let Record::Skipped(back) = Record::parse(&line).unwrap() else { panic!("not a skip") };
        assert_eq!(back, s);
    }

    #[test]
    fn more_digits_than_a_masked_pan_are_refused() {
        let rec = record();
        let mut v: serde_json::Value = serde_json::to_value(FindingJson::new(&rec)).unwrap();
        v["first6"] = "41111111".into();
        assert!(matches!(Record::parse(v.to_string().as_bytes()), Err(ReadError::Unmasked)));
        let mut v: serde_json::Value = serde_json::to_value(FindingJson::new(&rec)).unwrap();
        v["length"] = 40.into();
        assert!(matches!(Record::parse(v.to_string().as_bytes()), Err(ReadError::Unmasked)));
    }

    #[test]
    fn digits_in_free_text_are_masked_again() {
        let rec = record();
        let mut v: serde_json::Value = serde_json::to_value(FindingJson::new(&rec)).unwrap();
        let pan = format!("4111{}", "111111111111");
        v["path"] = format!("/srv/{pan}.txt").into();
        v["context"] = format!("card {pan}").into();
        v["row_key"] = serde_json::json!({ "card": pan });
        let Record::Finding(back) = Record::parse(v.to_string().as_bytes()).unwrap() else { panic!() };
        let again = serde_json::to_string(&FindingJson::new(&back)).unwrap();
        assert!(!again.contains(&pan), "a full number came back out");
        assert!(again.contains("411111******1111"));
    }

    #[test]
    fn context_keeps_only_masked_numbers() {
        assert_eq!(clean_context("card 411111******1111 exp **/** cvv ***"), "card 411111******1111 exp **/** cvv ***");
        assert_eq!(clean_context("card 411111******1111 exp 12/29 cvv 123"), "card 411111******1111 exp **/** cvv ***");
        assert_eq!(
            clean_context("4111111******1111"),
            "*************1111",
            "seven leading digits are not a masked number"
        );
        assert_eq!(clean_context("x12 ****5678"), "x** ****5678");
    }

    #[test]
    fn fixed_shape_fields_are_checked() {
        let pan = format!("4532{}", "015112830366");
        let line = format!(
            "{{\"type\":\"run\",\"tool\":\"pansweep\",\"version\":\"{pan}\",\"ruleset\":\"sha256:{pan}\",\
             \"started\":\"{pan}\",\"host\":\"h\",\"argv\":[],\"fingerprint_key_id\":\"<b>{pan}\"}}"
        );
        let Record::Run(run) = Record::parse(line.as_bytes()).unwrap() else { panic!("not a run") };
        let text = serde_json::to_string(&run).unwrap();
        assert!(!text.contains(&pan), "a full number came back out");
        assert_eq!((run.started.as_str(), run.fingerprint_key_id.as_str()), ("invalid", "invalid"));
        assert_eq!(run.version, "453201******0366");
    }

    #[test]
    fn errors_do_not_echo_the_line() {
        let pan = format!("5555{}", "555555554444");
        let line = format!("{{\"type\":\"finding\",\"class\":\"pan\",\"path\":{pan}}}");
        let err = Record::parse(line.as_bytes()).unwrap_err().to_string();
        assert!(!err.contains(&pan), "{err}");
        assert!(Record::parse(b"{\"type\":\"finding\"").is_err());
        assert!(matches!(Record::parse(b"{\"type\":\"later\",\"x\":1}"), Ok(Record::Unknown)));
    }
}
