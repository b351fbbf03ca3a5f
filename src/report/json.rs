//! `--format json`: one JSON document
//! `{"run":…,"findings":[…],"skipped":[…],"tables":[…],"resolved":[…],"evidence":[…],"locations":[…],"coverage":…,"summary":…}`
//! (`tables` only for database scans, `resolved` only with `--baseline`, `evidence` only for `scan --forensic`). `locations` is the per-store summary, most urgent
//! first, in the shape of PCI DSS 12.5.2 (see [`super::stores`]); `coverage` says in one
//! place how much of the scope was read and whether a clean result is evidence of absence.
//! Findings are streamed into the array as they come; skipped items are kept until the
//! end (they are few) so the document keeps one array per kind.

use std::io::{self, BufWriter, Write};

use serde::Serialize;

use super::stores::{Action, Example, Protection, Store, StoreKind, Stores};
use super::{Counts, Evidence, FindingJson, FindingRecord, ReportWriter, RunInfo, SkipJson, Summary, TableSummary};
use crate::finding::{Confidence, Element};
use crate::source::{Skip, SkipKind};

/// One data store in the `locations` array.
#[derive(Debug, Serialize)]
pub struct LocationJson<'a> {
    /// How the store is named in a report: a path, or `schema.table.column @ URL`.
    pub store: String,
    /// File or container path, or the database URL (password removed).
    pub path: &'a str,
    /// Schema-qualified table of a database store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<&'a str>,
    /// Column of a database store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<&'a str>,
    /// Database engine of a database store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<&'a str>,
    /// `file`, `container` or `column`.
    pub kind: StoreKind,
    /// Elements found with card numbers (`pan`, `expiry`, `cvv`, `track1`, `track2`, `name`).
    pub elements: Vec<Element>,
    /// `cleartext`, `test` or `masked`.
    pub protection: Protection,
    /// Distinct cardholder-data cards by fingerprint; `null` when the report merges runs
    /// with different fingerprint keys.
    pub distinct_cards: Option<u64>,
    /// Findings per tier and class.
    pub findings: Counts,
    /// Strongest tier of a cardholder-data finding (`null`: test or masked numbers only).
    pub highest: Option<Confidence>,
    /// Archive, mailbox or document members with findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_with_findings: Option<u64>,
    /// Items inside the store that could not be read.
    pub skipped: u64,
    /// Up to three places inside the store, masked.
    pub examples: &'a [Example],
    /// Suggested action: `delete_securely`, `fix_process`, `move_into_cde`, `truncate`,
    /// `review` or `none`.
    pub action: Action,
}

impl<'a> LocationJson<'a> {
    /// The JSON shape of `store`; `comparable` is false when fingerprints of the runs
    /// behind the report cannot be compared.
    pub fn new(store: &'a Store, comparable: bool) -> LocationJson<'a> {
        LocationJson {
            store: store.key.display(),
            path: &store.key.path,
            table: store.key.table.as_deref(),
            column: store.key.column.as_deref(),
            engine: store.engine.as_deref(),
            kind: store.kind,
            elements: store.elements.iter().copied().collect(),
            protection: store.protection(),
            distinct_cards: comparable.then(|| store.distinct_cards()),
            findings: store.findings,
            highest: store.highest,
            members_with_findings: (store.kind == StoreKind::Container).then(|| store.members_with_findings()),
            skipped: store.skipped,
            examples: &store.examples,
            action: store.action(),
        }
    }
}

/// How much of the scope was read (the `coverage` object).
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The run (every merged run) finished.
    pub complete: bool,
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Database tables read.
    pub tables: u64,
    /// Database rows read.
    pub rows: u64,
    /// Database tables were only sampled.
    pub sampled: bool,
    /// Skipped items by kind: `error` and `limit` leave data unread; `vanished` and
    /// `link` do not.
    pub skipped: SkippedByKind,
    /// Everything in scope was read: the run finished, nothing was skipped for an error
    /// or a limit, nothing was sampled. Only then is "no card data found" evidence of
    /// absence.
    pub full: bool,
}

/// Skipped items per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SkippedByKind {
    /// Could not be read.
    pub error: u64,
    /// Stopped by a configured limit.
    pub limit: u64,
    /// Disappeared before it was read.
    pub vanished: u64,
    /// A symbolic link not followed.
    pub link: u64,
}

impl SkippedByKind {
    /// Counts one skipped item.
    pub fn add(&mut self, kind: SkipKind) {
        match kind {
            SkipKind::Error => self.error += 1,
            SkipKind::Limit => self.limit += 1,
            SkipKind::Vanished => self.vanished += 1,
            SkipKind::Link => self.link += 1,
        }
    }
}

impl Coverage {
    /// The coverage of a run from its skipped items and summary.
    pub fn of(skipped: &[Skip], summary: &Summary) -> Coverage {
        let mut by = SkippedByKind::default();
        for s in skipped {
            by.add(s.kind);
        }
        Coverage::from_counts(by, summary)
    }

    /// The coverage of a run from its skipped items counted by kind and its summary.
    pub fn from_counts(by: SkippedByKind, summary: &Summary) -> Coverage {
        let full = summary.complete && by.error == 0 && by.limit == 0 && !summary.sampled;
        Coverage {
            complete: summary.complete,
            files: summary.files,
            bytes: summary.bytes,
            tables: summary.tables,
            rows: summary.rows,
            sampled: summary.sampled,
            skipped: by,
            full,
        }
    }
}

/// The JSON document writer.
pub struct Json<W: Write> {
    out: BufWriter<W>,
    first: bool,
    skipped: Vec<Skip>,
    tables: Vec<TableSummary>,
    /// Evidence records (`scan --forensic`), one per file with findings.
    evidence: Vec<Evidence>,
    stores: Stores,
    /// Baseline findings not found again, serialized as they came.
    resolved: Vec<u8>,
}

impl<W: Write> Json<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Json<W> {
        Json {
            out: BufWriter::new(out),
            first: true,
            skipped: Vec::new(),
            tables: Vec::new(),
            stores: Stores::new(),
            resolved: Vec::new(),
            evidence: Vec::new(),
        }
    }
}

impl<W: Write + Send> ReportWriter for Json<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.out.write_all(b"{\"run\":")?;
        serde_json::to_writer(&mut self.out, run)?;
        self.out.write_all(b",\"findings\":[")
    }

    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.stores.add(rec);
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, &FindingJson::new(rec))?;
        Ok(())
    }

    fn resolved(&mut self, rec: &FindingRecord) -> io::Result<()> {
        if !self.resolved.is_empty() {
            self.resolved.push(b',');
        }
        self.resolved.push(b'\n');
        serde_json::to_writer(&mut self.resolved, &FindingJson::typed(rec, "resolved"))?;
        Ok(())
    }

    fn skipped(&mut self, skip: &Skip) -> io::Result<()> {
        self.stores.skipped(skip);
        self.skipped.push(skip.clone());
        Ok(())
    }

    fn table(&mut self, table: &TableSummary) -> io::Result<()> {
        self.tables.push(table.clone());
        Ok(())
    }

    fn evidence(&mut self, ev: &Evidence) -> io::Result<()> {
        self.evidence.push(ev.clone());
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.out.write_all(b"\n],\"skipped\":")?;
        let skipped: Vec<SkipJson<'_>> = self.skipped.iter().map(SkipJson::new).collect();
        serde_json::to_writer(&mut self.out, &skipped)?;
        if !self.tables.is_empty() {
            self.out.write_all(b",\"tables\":")?;
            serde_json::to_writer(&mut self.out, &self.tables)?;
        }
        if summary.baseline.is_some() {
            self.out.write_all(b",\"resolved\":[")?;
            self.out.write_all(&self.resolved)?;
            self.out.write_all(b"\n]")?;
        }
        if !self.evidence.is_empty() {
            self.out.write_all(b",\"evidence\":")?;
            serde_json::to_writer(&mut self.out, &self.evidence)?;
        }
        self.out.write_all(b",\"locations\":")?;
        let stores = std::mem::take(&mut self.stores).sorted();
        let comparable = summary.distinct_pans.is_some();
        let locations: Vec<LocationJson<'_>> = stores.iter().map(|s| LocationJson::new(s, comparable)).collect();
        serde_json::to_writer(&mut self.out, &locations)?;
        self.out.write_all(b",\"coverage\":")?;
        serde_json::to_writer(&mut self.out, &Coverage::of(&self.skipped, summary))?;
        self.out.write_all(b",\"summary\":")?;
        serde_json::to_writer(&mut self.out, summary)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_full_only_when_nothing_was_left_unread() {
        let done = Summary { complete: true, files: 3, ..Summary::default() };
        let skip = |kind| Skip { path: "x".into(), reason: "r".into(), kind };
        assert!(Coverage::of(&[], &done).full);
        assert!(Coverage::of(&[skip(SkipKind::Vanished), skip(SkipKind::Link)], &done).full);
        let c = Coverage::of(&[skip(SkipKind::Error), skip(SkipKind::Limit), skip(SkipKind::Limit)], &done);
        assert!(!c.full);
        assert_eq!((c.skipped.error, c.skipped.limit), (1, 2));
        assert!(!Coverage::of(&[], &Summary { complete: false, ..Summary::default() }).full);
        assert!(!Coverage::of(&[], &Summary { complete: true, sampled: true, ..Summary::default() }).full);
    }
}
