//! `pansweep scan`: turns `ScanArgs` into a `ScanJob` and a `Scanner`, runs the pipeline,
//! and decides the exit code.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};
use pansweep::detectors::DetectorSet;
use pansweep::finding::{Confidence, hex};
use pansweep::pipeline::{self, Counters, ScanJob};
use pansweep::report::{self, Format, Lang, ReportWriter, RunInfo};
use pansweep::scan::ScannerBuilder;
use sha2::{Digest, Sha256};

use super::ExitStatus;
use super::args::{Cli, FormatArg, LangArg, OutputArgs, ReportArgs, ScanArgs, When};
use super::progress::Progress;

/// Loads the built-in detector set, or lays `dir` over it.
pub(crate) fn load_detectors(dir: Option<&Path>) -> anyhow::Result<DetectorSet> {
    match dir {
        Some(d) => {
            let set = DetectorSet::with_overlay(d)?;
            let problems = pansweep::detectors::check::validate(&set);
            if let Some(p) = problems.first() {
                bail!(
                    "detector directory {} is invalid: {p} (run `pansweep detectors check {}`)",
                    d.display(),
                    d.display()
                );
            }
            Ok(set)
        }
        None => Ok(DetectorSet::builtin()?),
    }
}

/// The fingerprint key and its id: from a file, or 32 random bytes for this run only.
fn fingerprint_key(path: Option<&Path>) -> anyhow::Result<(Vec<u8>, String)> {
    if let Some(p) = path {
        let key = std::fs::read(p).with_context(|| format!("cannot read fingerprint key {}", p.display()))?;
        if key.len() < 16 {
            bail!(
                "fingerprint key {} is too short: use at least 16 bytes (e.g. head -c 32 /dev/urandom > key)",
                p.display()
            );
        }
        let id = hex(&Sha256::digest(&key)[..8]);
        return Ok((key, format!("sha256:{id}")));
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("cannot get random bytes for the fingerprint key: {e}"))?;
    let id = hex(&Sha256::digest(&key)[..8]);
    Ok((key, format!("random:{id}")))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map_or_else(|_| "unknown".into(), |h| h.trim().to_string())
}

/// Creates (or truncates) the report file with mode 0600.
///
/// An existing regular file keeps its old mode on open, so it is tightened to 0600. Anything
/// else (`/dev/null`, a FIFO, a terminal) is written to as it is: changing the mode of a
/// shared device would break every other program on the host.
pub(crate) fn create_output(path: &Path) -> anyhow::Result<std::fs::File> {
    let f =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).with_context(|| {
            format!("cannot create output file {}", report::redact_digits(&path.display().to_string()))
        })?;
    let meta = f.metadata().with_context(|| format!("cannot stat output file {}", path.display()))?;
    if meta.is_file() && meta.permissions().mode() & 0o777 != 0o600 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set mode 0600 on {}", path.display()))?;
    }
    Ok(f)
}

/// (device, inode) of a file.
pub(crate) type FileId = (u64, u64);

/// Opens the report destination (a 0600 file, or stdout) and the writer for `format`.
/// Returns the (device, inode) of a report file, so a scan can leave it out.
pub(crate) fn open_writer(cli: &Cli, o: &OutputArgs) -> anyhow::Result<(Box<dyn ReportWriter>, Option<FileId>)> {
    let stdout_tty = std::io::stdout().is_terminal();
    let mut output_id = None;
    let (out, tty): (Box<dyn Write + Send>, bool) = match o.output.as_deref() {
        Some(path) => {
            let f = create_output(path)?;
            let m = f.metadata()?;
            output_id = Some((m.dev(), m.ino()));
            (Box::new(f), false)
        }
        None => (Box::new(std::io::stdout()), stdout_tty),
    };
    let format = match o.format {
        Some(FormatArg::Text) => Format::Text,
        None if tty => Format::Text,
        Some(FormatArg::Json) => Format::Json,
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Sarif) => Format::Sarif,
        Some(FormatArg::Html) => Format::Html,
        // Default: text for a person at a terminal, JSONL for a pipe or a file.
        Some(FormatArg::Jsonl) | None => Format::Jsonl,
    };
    let color = match o.color {
        When::Always => true,
        When::Never => false,
        When::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let lang = match cli.lang {
        LangArg::En => Lang::En,
        LangArg::Ja => Lang::Ja,
    };
    let writer: Box<dyn ReportWriter> = match format {
        Format::Text => Box::new(report::text::Text::new(out, color, lang)),
        Format::Jsonl => Box::new(report::jsonl::Jsonl::new(out)),
        Format::Json => Box::new(report::json::Json::new(out)),
        Format::Csv => Box::new(report::csv::Csv::new(out)),
        Format::Sarif => Box::new(report::sarif::Sarif::new(out)),
        Format::Html => Box::new(report::html::Html::new(out, lang).with_min_confidence(o.min_confidence.into())),
    };
    Ok((writer, output_id))
}

/// What `scan` and `db` share: the engine, the report writer, the run record, the
/// cancel flag (Ctrl-C / SIGTERM), and how to turn an outcome into an exit status.
pub(crate) struct Session {
    pub(crate) scanner: pansweep::scan::Scanner,
    pub(crate) writer: Box<dyn ReportWriter>,
    pub(crate) run: RunInfo,
    pub(crate) cancel: Arc<AtomicBool>,
    interrupted: Arc<AtomicBool>,
    /// (device, inode) of the report file.
    pub(crate) output_id: Option<FileId>,
    pub(crate) min_confidence: Confidence,
    fail_on: Confidence,
}

impl Session {
    /// Loads detectors and the key, opens the report, installs the signal handler.
    pub(crate) fn new(cli: &Cli, r: &ReportArgs) -> anyhow::Result<Session> {
        let detectors = Arc::new(load_detectors(r.detectors.as_deref())?);
        let (key, key_id) = fingerprint_key(r.fingerprint_key.as_deref())?;
        let scanner = ScannerBuilder::new(detectors.clone()).fingerprint_key(&key).snippets(r.context).build();
        let (writer, output_id) = open_writer(cli, &r.out)?;
        let run = RunInfo {
            tool: "pansweep".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            ruleset: detectors.ruleset.clone(),
            started: pansweep::time::rfc3339(pansweep::time::unix_now()),
            host: hostname(),
            argv: std::env::args().map(|a| report::redact_arg(&a)).collect(),
            fingerprint_key_id: key_id,
            sources: Vec::new(),
        };
        // Ctrl-C / SIGTERM: stop, write what we have, exit 130. A second one exits at once.
        let cancel = Arc::new(AtomicBool::new(false));
        let interrupted = Arc::new(AtomicBool::new(false));
        {
            let (cancel, interrupted) = (cancel.clone(), interrupted.clone());
            let _ = ctrlc::set_handler(move || {
                if interrupted.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
                cancel.store(true, Ordering::SeqCst);
            });
        }
        Ok(Session {
            scanner,
            writer,
            run,
            cancel,
            interrupted,
            output_id,
            min_confidence: r.out.min_confidence.into(),
            fail_on: r.out.fail_on.into(),
        })
    }

    /// The exit status of a finished run.
    pub(crate) fn status(&self, outcome: &pipeline::Outcome) -> ExitStatus {
        if self.interrupted.load(Ordering::SeqCst) {
            return ExitStatus::Interrupted;
        }
        if pipeline::fails(outcome, self.fail_on) {
            ExitStatus::Found
        } else if outcome.incomplete && !outcome.broken_pipe {
            ExitStatus::Incomplete
        } else {
            ExitStatus::Clean
        }
    }
}

pub(crate) fn run(cli: &Cli, a: &ScanArgs) -> anyhow::Result<ExitStatus> {
    let mut job = ScanJob::new(a.paths.clone());
    if let Some(t) = a.threads {
        if t == 0 {
            bail!("--threads must be at least 1");
        }
        job.threads = t;
        job.walk.threads = t;
    }
    job.walk.follow = a.follow;
    job.walk.one_file_system = a.one_file_system;
    job.walk.respect_ignore = a.respect_ignore;
    job.walk.excludes.clone_from(&a.exclude);
    job.max_filesize = a.max_filesize;
    job.items.container.max_depth = a.max_depth;
    job.items.container.max_member_bytes = a.max_member_size;
    job.items.container.max_total_bytes = a.max_expanded_size;
    job.items.container.max_ratio = a.max_ratio;
    job.items.container.max_members = a.max_members;
    job.items.container.max_time = std::time::Duration::from_secs(a.item_timeout);
    job.items.mail.max_depth = usize::try_from(a.max_depth).unwrap_or(usize::MAX);
    job.items.mail.max_parts = usize::try_from(a.max_members).unwrap_or(usize::MAX);

    for p in &a.paths {
        if std::fs::symlink_metadata(p).is_err() {
            bail!("no such file or directory: {}", report::redact_digits(&p.display().to_string()));
        }
    }
    if a.forensic {
        // Before anything is created: no output may land inside a scanned root.
        super::forensic::check(a)?;
        job.forensic = true;
        if super::forensic::euid() != Some(0) && !cli.quiet {
            super::forensic::eprintln_note(
                "--forensic: not running as root: files owned by others cannot be opened with O_NOATIME \
                 nor have their access times set back",
            );
        }
    }
    let mut session = Session::new(cli, &a.report)?;
    job.min_confidence = session.min_confidence;
    job.output_file = session.output_id;

    let counters = Counters::default();
    let mut progress = Progress::new(cli.progress, cli.quiet);
    let outcome = pipeline::run_scan(
        &job,
        &session.scanner,
        session.writer.as_mut(),
        &session.run,
        &session.cancel,
        &counters,
        &mut |c| progress.tick(c),
    );
    progress.finish();
    let outcome = outcome?;
    let status = session.status(&outcome);
    if a.forensic {
        // The report is finished; close it before it is hashed for the manifest.
        let Session { writer, run, .. } = session;
        drop(writer);
        if outcome.atime_lost > 0 && !cli.quiet {
            super::forensic::eprintln_note(&format!(
                "--forensic: the access time of {} files or directories changed and could not be set back \
                 (not their owner, not root)",
                outcome.atime_lost
            ));
        }
        super::forensic::write_manifest(a, &run, &outcome, status, cli.quiet)?;
    }
    Ok(status)
}
