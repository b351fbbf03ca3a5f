//! `--format json`: one JSON document `{"run":…,"findings":[…],"skipped":[…],"tables":[…],"summary":…}`
//! (`tables` only for database scans).
//! Findings are streamed into the array as they come; skipped items are kept until the
//! end (they are few) so the document keeps one array per kind.

use std::io::{self, BufWriter, Write};

use super::{FindingJson, FindingRecord, ReportWriter, RunInfo, SkipJson, Summary, TableSummary};
use crate::source::Skip;

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
        self.out.write_all(b",\"summary\":")?;
        serde_json::to_writer(&mut self.out, summary)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
