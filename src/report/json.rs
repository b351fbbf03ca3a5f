//! `--format json`: one JSON document
//! `{"run":…,"findings":[…],"skipped":[…],"tables":[…],"coverage":…,"summary":…}`
//! (`tables` only for database scans). `coverage` says in one place how much of the scope
//! was read and whether a clean result is evidence of absence.
//! Findings are streamed into the array as they come; skipped items are kept until the
//! end (they are few) so the document keeps one array per kind.

use std::io::{self, BufWriter, Write};

use serde::Serialize;

use super::{FindingJson, FindingRecord, ReportWriter, RunInfo, SkipJson, Summary, TableSummary};
use crate::source::{Skip, SkipKind};

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
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
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

impl Coverage {
    /// The coverage of a run from its skipped items and summary.
    pub fn of(skipped: &[Skip], summary: &Summary) -> Coverage {
        let mut by = SkippedByKind::default();
        for s in skipped {
            match s.kind {
                SkipKind::Error => by.error += 1,
                SkipKind::Limit => by.limit += 1,
                SkipKind::Vanished => by.vanished += 1,
                SkipKind::Link => by.link += 1,
            }
        }
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
}

impl<W: Write> Json<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Json<W> {
        Json { out: BufWriter::new(out), first: true, skipped: Vec::new(), tables: Vec::new() }
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
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, &FindingJson::new(rec))?;
        Ok(())
    }

    fn skipped(&mut self, skip: &Skip) -> io::Result<()> {
        self.skipped.push(skip.clone());
        Ok(())
    }

    fn table(&mut self, table: &TableSummary) -> io::Result<()> {
        self.tables.push(table.clone());
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
