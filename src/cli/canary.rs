//! `pansweep canary DIR`: writes one canary file per supported format into DIR, scans DIR
//! with the built-in detectors, and prints a pass/fail table (exit 0 when every format
//! passes, 1 otherwise). The files stay in DIR as evidence; running it again rewrites them.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail};
use pansweep::canary::{self, EXPECT_CLASS};
use pansweep::pipeline::{self, Counters, ScanJob};
use pansweep::report::{FindingRecord, ReportWriter, RunInfo, Summary, TableSummary};
use pansweep::scan::ScannerBuilder;
use pansweep::source::Skip;

use super::ExitStatus;
use super::args::{CanaryArgs, Cli};
use super::scan::load_detectors;

/// Keeps what the scan reported, for checking.
#[derive(Default)]
struct Collect {
    findings: Vec<(String, String)>,
    skipped: Vec<String>,
}

impl ReportWriter for Collect {
    fn begin(&mut self, _: &RunInfo) -> std::io::Result<()> {
        Ok(())
    }
    fn finding(&mut self, rec: &FindingRecord) -> std::io::Result<()> {
        self.findings.push((rec.path.clone(), rec.finding.class.as_str().to_owned()));
        Ok(())
    }
    fn skipped(&mut self, skip: &Skip) -> std::io::Result<()> {
        self.skipped.push(skip.to_string());
        Ok(())
    }
    fn table(&mut self, _: &TableSummary) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Summary) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn run(cli: &Cli, a: &CanaryArgs) -> anyhow::Result<ExitStatus> {
    let dir = &a.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let all = canary::canaries().context("cannot generate the canaries")?;
    let mut roots = Vec::new();
    for c in &all {
        let p = dir.join(c.file);
        // Never write through a link (a shared /tmp), never over anything but a file.
        if let Ok(m) = std::fs::symlink_metadata(&p)
            && !m.is_file()
        {
            bail!("{} exists and is not a regular file; choose an empty directory", p.display());
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&p)
            .with_context(|| format!("cannot write {}", p.display()))?;
        f.write_all(&c.bytes).with_context(|| format!("cannot write {}", p.display()))?;
        roots.push(p);
    }
    let detectors = std::sync::Arc::new(load_detectors(None)?);
    let scanner = ScannerBuilder::new(detectors.clone()).build();
    // Only the canaries: whatever else DIR holds is none of this command's business.
    let job = ScanJob::new(roots);
    let mut out = Collect::default();
    let run = RunInfo {
        tool: "pansweep".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ruleset: detectors.ruleset.clone(),
        started: pansweep::time::rfc3339(pansweep::time::unix_now()),
        host: String::new(),
        argv: Vec::new(),
        fingerprint_key_id: String::new(),
        sources: Vec::new(),
    };
    pipeline::run_scan(
        &job,
        &scanner,
        &mut out,
        &run,
        &AtomicBool::new(false),
        &Counters::default(),
        &mut |_| {},
        None,
    )
    .context("canary scan failed")?;

    let expected_class = EXPECT_CLASS.as_str();
    let prefix = |p: &str| Path::new(dir).join(p).display().to_string();
    let mut stdout = std::io::stdout().lock();
    let width = all.iter().map(|c| c.format.len()).max().unwrap_or(0);
    let mut failed = 0;
    for c in &all {
        let want = prefix(c.expect);
        let hit = out.findings.iter().any(|(p, class)| *p == want && *class == expected_class);
        let skip = out.skipped.iter().find(|s| s.starts_with(&prefix(c.file)));
        let (status, why) = match (hit, skip) {
            (true, _) => ("pass", String::new()),
            (false, Some(s)) => ("FAIL", format!("  skipped: {s}")),
            (false, None) => ("FAIL", format!("  no {expected_class} finding at {}", c.expect)),
        };
        failed += usize::from(!hit);
        writeln!(stdout, "{status}  {:<width$}  {}{why}", c.format, c.file)?;
    }
    if !cli.quiet {
        writeln!(stdout, "{} of {} formats pass ({})", all.len() - failed, all.len(), dir.display())?;
    }
    Ok(if failed == 0 { ExitStatus::Clean } else { ExitStatus::Found })
}
