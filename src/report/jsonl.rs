//! `--format jsonl`: one JSON object per line (SPEC §4), streamed as found. Each record
//! is written whole, so a run stopped at any point leaves a file that is valid up to its
//! last complete line; the pipeline flushes at least once a second.

use std::io::{self, BufWriter, Write};

use super::{Evidence, FindingJson, FindingRecord, ReportWriter, RunInfo, SkipJson, Summary, TableSummary};
use crate::source::Skip;

/// The JSONL writer.
pub struct Jsonl<W: Write> {
    out: BufWriter<W>,
    line: Vec<u8>,
}

impl<W: Write> Jsonl<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Jsonl<W> {
        Jsonl { out: BufWriter::with_capacity(64 * 1024, out), line: Vec::with_capacity(1024) }
    }

    fn record(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)?;
        self.line.push(b'\n');
        // One write_all per record: BufWriter never splits a record across flushes.
        self.out.write_all(&self.line)
    }
}

#[derive(serde::Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(flatten)]
    inner: &'a T,
}

impl<W: Write + Send> ReportWriter for Jsonl<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.record(&Tagged { ty: "run", inner: run })?;
        self.out.flush()
    }

    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()> {
        self.record(&FindingJson::new(rec))
    }

    fn resolved(&mut self, rec: &FindingRecord) -> io::Result<()> {
        self.record(&FindingJson::typed(rec, "resolved"))
    }

    fn skipped(&mut self, skip: &Skip) -> io::Result<()> {
        self.record(&SkipJson::new(skip))
    }

    fn table(&mut self, table: &TableSummary) -> io::Result<()> {
        self.record(&Tagged { ty: "table", inner: table })
    }

    fn evidence(&mut self, ev: &Evidence) -> io::Result<()> {
        self.record(&Tagged { ty: "evidence", inner: ev })
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.record(&Tagged { ty: "summary", inner: summary })?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
