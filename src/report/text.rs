//! `--format text`: for people. Findings grouped under their file like ripgrep, coloured
//! only when asked (the CLI asks on a terminal without `NO_COLOR`), then skipped items
//! and a summary. English or Japanese (`--lang ja`).

use std::io::{self, BufWriter, Write};

use super::{Evidence, FindingRecord, KeyJson, Lang, ReportWriter, RunInfo, Summary, TableSummary};
use crate::finding::Confidence;
use crate::source::Skip;

/// Most skipped items listed one by one; the rest are counted.
const MAX_LISTED_SKIPS: usize = 200;
/// Most database tables listed one by one (those with findings first).
const MAX_LISTED_TABLES: usize = 200;

/// The text writer.
pub struct Text<W: Write> {
    out: BufWriter<W>,
    color: bool,
    lang: Lang,
    last_path: Option<String>,
    skipped: Vec<Skip>,
    skipped_total: u64,
    tables: Vec<TableSummary>,
    tables_total: u64,
    /// Baseline findings not found again, as listed lines (at most `MAX_LISTED_SKIPS`).
    resolved: Vec<String>,
    resolved_total: u64,
}

impl<W: Write> Text<W> {
    /// Writes to `out`.
    pub fn new(out: W, color: bool, lang: Lang) -> Text<W> {
        Text {
            out: BufWriter::new(out),
            color,
            lang,
            last_path: None,
            skipped: Vec::new(),
            skipped_total: 0,
            tables: Vec::new(),
            tables_total: 0,
            resolved: Vec::new(),
            resolved_total: 0,
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }

    fn ja(&self) -> bool {
        self.lang == Lang::Ja
    }
}

fn tier_color(c: Confidence) -> &'static str {
    match c {
        Confidence::Critical => "1;31",
        Confidence::High => "31",
        Confidence::Medium => "33",
        Confidence::Low => "2",
    }
}

/// Replaces control characters so a hostile file name cannot drive the terminal.
fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Findings were left out on purpose (known from the baseline, or allowlisted): a run
/// without findings is then no evidence of absence.
fn unreported(s: &Summary) -> bool {
    s.allowlisted > 0 || s.baseline.is_some_and(|b| b.known > 0)
}

/// Where a finding is: `line:offset`, or its table, row and column.
fn place(rec: &FindingRecord) -> String {
    match (&rec.table, &rec.column, &rec.row_key) {
        (Some(t), Some(c), Some(k)) if rec.engine.is_some() => {
            format!("{}: {}, column {}", sanitize(t), sanitize(&KeyJson(k).to_string()), sanitize(c))
        }
        (Some(t), Some(c), _) => format!("{}: row {}, column {}", sanitize(t), rec.line, sanitize(c)),
        _ => format!("{}:{}", rec.line, rec.byte_offset),
    }
}

impl<W: Write + Send> ReportWriter for Text<W> {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        // A report merged by `pansweep report` first says what it was made from.
        if run.sources.len() < 2 {
            return Ok(());
        }
        let head = if self.ja() {
            format!("{} 件の実行を統合したレポート:", run.sources.len())
        } else {
            format!("report merged from {} runs:", run.sources.len())
        };
        writeln!(self.out, "{}", self.paint("1", &head))?;
        for src in &run.sources {
            let state = match (src.complete, self.ja()) {
                (true, false) => "complete",
                (false, false) => "INCOMPLETE",
                (true, true) => "完了",
                (false, true) => "未完了",
            };
            writeln!(
                self.out,
                "  {}  {}  {} … {}  {state}",
                sanitize(&src.file),
                sanitize(&src.host),
                src.started,
                src.ended.as_deref().unwrap_or("?")
            )?;
        }
        writeln!(self.out)
    }

    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()> {
        if self.last_path.as_deref() != Some(rec.path.as_str()) {
            if self.last_path.is_some() {
                writeln!(self.out)?;
            }
            let p = self.paint("35", &sanitize(&rec.path));
            writeln!(self.out, "{p}")?;
            self.last_path = Some(rec.path.clone());
        }
        let f = &rec.finding;
        let tier = self.paint(tier_color(f.confidence), &format!("{:<8}", f.confidence.as_str()));
        let brands = if f.brands.is_empty() {
            "-".to_string()
        } else {
            f.brands.iter().map(|b| &**b).collect::<Vec<_>>().join("/")
        };
        let signals: Vec<String> = f.signals.iter().map(ToString::to_string).collect();
        // A database cell: its row and column rather than line and byte offset.
        let at = place(rec);
        writeln!(
            self.out,
            "{at}: {tier} {:<10} {:<19} {:<12} {}",
            f.class.as_str(),
            f.view.masked(),
            brands,
            signals.join(", ")
        )?;
        if let Some(ctx) = &f.context {
            writeln!(self.out, "    | {}", sanitize(ctx))?;
        }
        Ok(())
    }

    fn resolved(&mut self, rec: &FindingRecord) -> io::Result<()> {
        self.resolved_total += 1;
        if self.resolved.len() < MAX_LISTED_SKIPS {
            let f = &rec.finding;
            self.resolved.push(format!(
                "  {} {}: {} {} {}",
                sanitize(&rec.path),
                place(rec),
                f.confidence.as_str(),
                f.class.as_str(),
                f.view.masked()
            ));
        }
        Ok(())
    }

    fn evidence(&mut self, ev: &Evidence) -> io::Result<()> {
        // Under the file's findings; an archive's findings are listed under its members,
        // so the archive on disk is named.
        let label = if self.ja() { "証拠" } else { "evidence" };
        if self.last_path.as_deref() == Some(ev.path.as_str()) {
            writeln!(self.out, "  {label}:")?;
        } else {
            writeln!(self.out, "  {label} ({}):", self.paint("35", &sanitize(&ev.path)))?;
        }
        let owner = format!(
            "{}:{} ({}:{})",
            sanitize(ev.user.as_deref().unwrap_or("?")),
            sanitize(ev.group.as_deref().unwrap_or("?")),
            ev.uid,
            ev.gid
        );
        writeln!(
            self.out,
            "    sha256 {}  {} bytes  mode {}  owner {owner}  inode {} dev {}",
            ev.sha256.as_deref().unwrap_or("(not read)"),
            ev.size,
            sanitize(&ev.mode),
            ev.inode,
            ev.device
        )?;
        writeln!(
            self.out,
            "    mtime {}  ctime {}  atime {}",
            sanitize(&ev.mtime),
            sanitize(&ev.ctime),
            sanitize(&ev.atime)
        )?;
        let mut notes = Vec::new();
        if ev.changed_during_scan {
            notes.push(self.paint("1;31", "CHANGED DURING SCAN"));
        }
        if ev.atime_restored {
            notes.push("atime set back (ctime changed)".to_owned());
        }
        if !ev.atime_preserved {
            notes.push(self.paint("33", "atime changed and not set back"));
        }
        if !notes.is_empty() {
            writeln!(self.out, "    {}", notes.join(", "))?;
        }
        Ok(())
    }

    fn skipped(&mut self, skip: &Skip) -> io::Result<()> {
        self.skipped_total += 1;
        if self.skipped.len() < MAX_LISTED_SKIPS {
            self.skipped.push(skip.clone());
        }
        Ok(())
    }

    fn table(&mut self, t: &TableSummary) -> io::Result<()> {
        self.tables_total += 1;
        // Tables with findings are kept first; clean ones only while there is room.
        if t.findings.total() > 0 || self.tables.len() < MAX_LISTED_TABLES {
            self.tables.push(t.clone());
            if self.tables.len() > MAX_LISTED_TABLES
                && let Some(i) = self.tables.iter().rposition(|t| t.findings.total() == 0)
            {
                self.tables.remove(i);
            }
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        if self.last_path.is_some() {
            writeln!(self.out)?;
        }
        if self.tables_total > 0 {
            self.write_tables()?;
        }
        if self.resolved_total > 0 {
            let head = if self.ja() { "ベースライン以降に解消" } else { "resolved since baseline" };
            writeln!(self.out, "{}", self.paint("1", &format!("{head} ({}):", self.resolved_total)))?;
            for line in &self.resolved {
                writeln!(self.out, "{line}")?;
            }
            if self.resolved_total > self.resolved.len() as u64 {
                writeln!(self.out, "  … {} more", self.resolved_total - self.resolved.len() as u64)?;
            }
            writeln!(self.out)?;
        }
        if self.skipped_total > 0 {
            let head = if self.ja() { "スキップ" } else { "skipped" };
            writeln!(self.out, "{}", self.paint("1", &format!("{head} ({}):", self.skipped_total)))?;
            for sk in &self.skipped {
                writeln!(self.out, "  {}: {}", sanitize(&sk.path), sk.reason)?;
            }
            if self.skipped_total > self.skipped.len() as u64 {
                writeln!(self.out, "  … {} more", self.skipped_total - self.skipped.len() as u64)?;
            }
            writeln!(self.out)?;
        }
        let c = &s.findings;
        let mb = s.bytes as f64 / 1e6;
        let rate = if s.elapsed_s > 0.0 { mb / s.elapsed_s } else { 0.0 };
        if self.ja() {
            writeln!(
                self.out,
                "カード情報: {} 件 (critical {}, high {}, medium {}, low {}) / 異なるカード番号 {} / テスト用番号 {} 件 / マスク済み {} 件",
                c.cardholder(),
                c.critical,
                c.high,
                c.medium,
                c.low,
                s.distinct_pans
                    .map_or_else(|| "比較不可 (指紋の鍵が異なる実行を統合)".to_owned(), |n| format!("{n} 件")),
                c.test_pan,
                c.masked_pan
            )?;
            if s.tables > 0 {
                writeln!(
                    self.out,
                    "走査: {} テーブル, {} 行, {mb:.1} MB, {:.2} 秒, スキップ {} 件{}",
                    s.tables,
                    s.rows,
                    s.elapsed_s,
                    s.skipped,
                    if s.sampled { " (サンプリングのみ: 全件ではありません)" } else { "" }
                )?;
            } else {
                writeln!(
                    self.out,
                    "走査: {} ファイル, {mb:.1} MB, {:.2} 秒 ({rate:.0} MB/s), スキップ {} 件",
                    s.files, s.elapsed_s, s.skipped
                )?;
            }
            if let Some(b) = &s.baseline {
                writeln!(self.out, "ベースライン比較: 新規 {} 件, 既知 {} 件, 解消 {} 件", b.new, b.known, b.resolved)?;
            }
            if s.allowlisted > 0 {
                writeln!(self.out, "許可リストに一致 (報告せず): {} 件", s.allowlisted)?;
            }
            if !s.complete {
                writeln!(self.out, "{}", self.paint("1;31", "中断されました: 走査は完了していません"))?;
            } else if c.cardholder() == 0 && unreported(s) {
                writeln!(
                    self.out,
                    "新たなカード情報は見つかりませんでした (既知・許可リストの検出は報告していません)"
                )?;
            } else if c.cardholder() == 0 && s.skipped == 0 && !s.sampled {
                writeln!(self.out, "走査した範囲にカード情報は見つかりませんでした")?;
            }
        } else {
            writeln!(
                self.out,
                "card data: {} finding{} (critical {}, high {}, medium {}, low {}), {}; test PANs {}, masked PANs {}",
                c.cardholder(),
                if c.cardholder() == 1 { "" } else { "s" },
                c.critical,
                c.high,
                c.medium,
                c.low,
                match s.distinct_pans {
                    Some(1) => "1 distinct PAN".to_owned(),
                    Some(n) => format!("{n} distinct PANs"),
                    None => "distinct PANs not comparable (runs with different fingerprint keys)".to_owned(),
                },
                c.test_pan,
                c.masked_pan
            )?;
            if s.tables > 0 {
                writeln!(
                    self.out,
                    "scanned {} tables, {} rows, {mb:.1} MB in {:.2}s, {} skipped{}",
                    s.tables,
                    s.rows,
                    s.elapsed_s,
                    s.skipped,
                    if s.sampled { " (sampled only: not every row was read)" } else { "" }
                )?;
            } else {
                writeln!(
                    self.out,
                    "scanned {} files, {mb:.1} MB in {:.2}s ({rate:.0} MB/s), {} skipped",
                    s.files, s.elapsed_s, s.skipped
                )?;
            }
            if let Some(b) = &s.baseline {
                writeln!(self.out, "against the baseline: {} new, {} known, {} resolved", b.new, b.known, b.resolved)?;
            }
            if s.allowlisted > 0 {
                writeln!(self.out, "allowlisted (not reported): {}", s.allowlisted)?;
            }
            if !s.complete {
                writeln!(self.out, "{}", self.paint("1;31", "interrupted: the scan is not complete"))?;
            } else if c.cardholder() == 0 && unreported(s) {
                writeln!(self.out, "no new card data found (known and allowlisted findings were not reported)")?;
            } else if c.cardholder() == 0 && s.skipped == 0 && !s.sampled {
                writeln!(self.out, "no card data found in the scanned scope")?;
            }
        }
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> Text<W> {
    /// The per-table summary: rows read, findings by tier, distinct PANs, example rows.
    fn write_tables(&mut self) -> io::Result<()> {
        let head = if self.ja() { "テーブル" } else { "tables" };
        writeln!(self.out, "{}", self.paint("1", &format!("{head} ({}):", self.tables_total)))?;
        let tables = std::mem::take(&mut self.tables);
        for t in &tables {
            let c = &t.findings;
            let state = match (t.complete, t.sampled) {
                (_, true) if self.ja() => " (サンプル)",
                (_, true) => " (sampled)",
                (false, _) if self.ja() => " (未完了)",
                (false, _) => " (incomplete)",
                _ => "",
            };
            let counts = format!(
                "critical {}, high {}, medium {}, low {}, test {}, masked {}",
                c.critical, c.high, c.medium, c.low, c.test_pan, c.masked_pan
            );
            if self.ja() {
                writeln!(
                    self.out,
                    "  {} {}: {} 行{state}; {counts}; 異なるカード番号 {} 件",
                    sanitize(&t.path),
                    sanitize(&t.table),
                    t.rows,
                    t.distinct_pans
                )?;
            } else {
                writeln!(
                    self.out,
                    "  {} {}: {} rows{state}; {counts}; {} distinct PANs",
                    sanitize(&t.path),
                    sanitize(&t.table),
                    t.rows,
                    t.distinct_pans
                )?;
            }
            for col in &t.columns {
                let keys: Vec<String> = col.example_row_keys.iter().map(|k| format!("[{}]", KeyJson(k))).collect();
                writeln!(
                    self.out,
                    "    {}: {} finding(s), {} distinct; rows {}",
                    sanitize(&col.column),
                    col.findings.total(),
                    col.distinct_pans,
                    sanitize(&keys.join(" "))
                )?;
            }
        }
        if self.tables_total > tables.len() as u64 {
            writeln!(self.out, "  … {} more", self.tables_total - tables.len() as u64)?;
        }
        writeln!(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Class, Element};
    use crate::report::test_record;

    fn evidence(path: &str) -> Evidence {
        Evidence {
            path: path.into(),
            size: 43,
            mtime: "2026-12-06T00:08:14.215110187Z".into(),
            ctime: "2026-12-06T00:08:14.219110188Z".into(),
            atime: "2001-01-01T00:00:00.000000000Z".into(),
            uid: 33,
            gid: 33,
            user: Some("www-data".into()),
            group: None,
            mode: "0640".into(),
            inode: 4,
            device: 40,
            sha256: Some("ab".repeat(32)),
            changed_during_scan: true,
            atime_restored: true,
            atime_preserved: true,
        }
    }

    /// The evidence block sits under the file's findings; an archive's names the file on
    /// disk, since its findings are listed under member paths.
    #[test]
    fn evidence_block_follows_the_findings() {
        let mut out = Vec::new();
        {
            let mut w = Text::new(&mut out, false, Lang::En);
            w.finding(&test_record("/srv/a.txt", Class::Pan, Confidence::High, &[Element::Pan], 1)).unwrap();
            w.evidence(&evidence("/srv/a.txt")).unwrap();
            w.finding(&test_record("/srv/b.zip!x.csv", Class::Pan, Confidence::High, &[Element::Pan], 2)).unwrap();
            w.evidence(&evidence("/srv/b.zip")).unwrap();
            w.flush().unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "/srv/a.txt");
        assert_eq!(lines[2], "  evidence:");
        assert_eq!(
            lines[3],
            format!("    sha256 {}  43 bytes  mode 0640  owner www-data:? (33:33)  inode 4 dev 40", "ab".repeat(32))
        );
        assert!(lines[4].starts_with("    mtime 2026-12-06T00:08:14.215110187Z  ctime "), "{text}");
        assert_eq!(lines[5], "    CHANGED DURING SCAN, atime set back (ctime changed)");
        assert!(text.contains("  evidence (/srv/b.zip):\n"), "{text}");
    }
}
