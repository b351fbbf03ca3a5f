//! `pansweep scan`: turns `ScanArgs` into a `ScanJob` and a `Scanner`, runs the pipeline,
//! and decides the exit code.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Seek as _, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};
use pansweep::detectors::DetectorSet;
use pansweep::finding::{Confidence, hex};
use pansweep::lock::{LockError, RunLock};
use pansweep::pipeline::{self, Counters, ScanJob};
use pansweep::report::{self, Format, Lang, ReportWriter, RunInfo};
use pansweep::scan::ScannerBuilder;
use pansweep::source::throttle::Throttle;
use pansweep::state::incremental::Loaded;
use pansweep::state::{Journal, Keyer, NextState, Previous, Resumed, Validity, resume};
use pansweep::syslog;
use pansweep::triage::{Allowlist, Baseline, Triage};
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
pub(crate) fn fingerprint_key(path: Option<&Path>) -> anyhow::Result<(Vec<u8>, String)> {
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

/// Creates (or truncates) the report file with mode 0600; with `append`, opens it to add
/// to its end (`--resume`).
///
/// An existing regular file keeps its old mode on open, so it is tightened to 0600. Anything
/// else (`/dev/null`, a FIFO, a terminal) is written to as it is: changing the mode of a
/// shared device would break every other program on the host.
pub(crate) fn create_output(path: &Path, append: bool) -> anyhow::Result<std::fs::File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(!append)
        .append(append)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create output file {}", report::redact_digits(&path.display().to_string())))?;
    let meta = f.metadata().with_context(|| format!("cannot stat output file {}", path.display()))?;
    if meta.is_file() && meta.permissions().mode() & 0o777 != 0o600 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set mode 0600 on {}", path.display()))?;
    }
    Ok(f)
}

/// (device, inode) of a file.
pub(crate) type FileId = (u64, u64);

/// A report for stdout held back under `--quiet`, in an unnamed temporary file (memory
/// stays bounded whatever the report's size), until the run's outcome says whether it is
/// worth printing.
pub(crate) struct Spool(std::fs::File);

impl Spool {
    /// Copies the report to stdout.
    pub(crate) fn release(mut self) -> std::io::Result<()> {
        self.0.rewind()?;
        let mut out = std::io::stdout().lock();
        std::io::copy(&mut self.0, &mut out)?;
        out.flush()
    }
}

/// An opened report: its writer, the (device, inode) of a report file, so a scan can
/// leave it out, and, under `--quiet` with no `-o`, the spool that stands in for stdout.
pub(crate) struct Opened {
    pub(crate) writer: Box<dyn ReportWriter>,
    pub(crate) output_id: Option<FileId>,
    pub(crate) spool: Option<Spool>,
}

/// Opens the report destination (a 0600 file, or stdout) and the writer for `format`.
/// Returns the (device, inode) of a report file, so a scan can leave it out.
pub(crate) fn open_writer(cli: &Cli, o: &OutputArgs) -> anyhow::Result<Opened> {
    open_writer_at(cli, o, false)
}

/// [`open_writer`], appending to an existing report file when `append`.
fn open_writer_at(cli: &Cli, o: &OutputArgs, append: bool) -> anyhow::Result<Opened> {
    let stdout_tty = std::io::stdout().is_terminal();
    let mut output_id = None;
    let mut spool = None;
    let (out, tty): (Box<dyn Write + Send>, bool) = match o.output.as_deref() {
        Some(path) => {
            let f = create_output(path, append)?;
            let m = f.metadata()?;
            output_id = Some((m.dev(), m.ino()));
            (Box::new(f), false)
        }
        None if cli.quiet => {
            let f = tempfile::tempfile().context("cannot create a temporary file to hold the report (--quiet)")?;
            spool = Some(Spool(f.try_clone().context("cannot duplicate the report's temporary file")?));
            // Formatted for where it will go in the end.
            (Box::new(std::io::BufWriter::new(f)), stdout_tty)
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
    Ok(Opened { writer, output_id, spool })
}

/// The error for a report that could not be written (a full disk, a vanished mount):
/// `cannot write the report PATH: no space left on device (os error 28)`, or `… to stdout`.
/// The I/O error stays in the chain with its kind, so a closed pipe is still recognised.
pub(crate) fn write_error(report: Option<&str>, e: &std::io::Error) -> anyhow::Error {
    let what = match report {
        Some(p) => format!("cannot write the report {}", report::redact_digits(p)),
        None => "cannot write the report to stdout".to_owned(),
    };
    let text = e.to_string();
    let mut c = text.chars();
    let lower = c.next().map_or_else(String::new, |f| f.to_lowercase().chain(c).collect());
    anyhow::Error::new(std::io::Error::new(e.kind(), lower)).context(what)
}

/// How long the syslog line may wait for room in the socket's queue.
const SYSLOG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends one line to the local syslog socket (`/dev/log`, or `$PANSWEEP_SYSLOG_SOCKET`);
/// a missing socket is a warning (none under `--quiet`). A logger that does not read
/// (its queue full: 10 datagrams by default) is one too, after [`SYSLOG_TIMEOUT`]: a
/// datagram send to a full queue would otherwise block the run's end for ever.
fn send_syslog(quiet: bool, line: &str) {
    let socket = std::env::var_os("PANSWEEP_SYSLOG_SOCKET").map_or_else(|| "/dev/log".into(), PathBuf::from);
    let sent = UnixDatagram::unbound().and_then(|s| {
        s.set_write_timeout(Some(SYSLOG_TIMEOUT))?;
        s.send_to(line.as_bytes(), &socket)
    });
    if let Err(e) = sent
        && !quiet
    {
        let _ = writeln!(
            std::io::stderr().lock(),
            "pansweep: warning: cannot send the summary to syslog ({}): {e}",
            socket.display()
        );
    }
}

/// What `scan` and `db` share: the engine, the report writer, the run record, the
/// cancel flag (Ctrl-C / SIGTERM), the scheduled-run options (priority, lock, quiet
/// spool, syslog line), and how to turn an outcome into an exit status.
pub(crate) struct Session {
    pub(crate) scanner: pansweep::scan::Scanner,
    /// Names files in `--state` and `--resume` files (only with a key file).
    pub(crate) keyer: Option<pansweep::state::Keyer>,
    pub(crate) writer: Box<dyn ReportWriter>,
    pub(crate) run: RunInfo,
    pub(crate) cancel: Arc<AtomicBool>,
    interrupted: Arc<AtomicBool>,
    /// (device, inode) of the report file.
    pub(crate) output_id: Option<FileId>,
    pub(crate) min_confidence: Confidence,
    fail_on: Confidence,
    /// `--lock`: held until the session is dropped (the process ends).
    _lock: Option<RunLock>,
    /// `--quiet` with the report on stdout: printed only when the run is not clean.
    spool: Option<Spool>,
    /// `--syslog`.
    syslog: bool,
    /// `-o FILE`, as named in the syslog line.
    report_path: Option<String>,
    /// Allowlist and baseline (`--allowlist`, `--baseline`), when either is given.
    pub(crate) triage: Option<Triage>,
}

/// Loads `--allowlist` and `--baseline` for a run with fingerprint key `key_id`, and says
/// on stderr (unless `--quiet`) what will not work as the files expect.
fn load_triage(cli: &Cli, r: &ReportArgs, key_id: &str) -> anyhow::Result<Option<Triage>> {
    let sched = &r.sched;
    if sched.allowlist.is_none() && sched.baseline.is_none() {
        return Ok(None);
    }
    let allowlist = sched.allowlist.as_deref().map(Allowlist::load).transpose()?;
    let baseline = match sched.baseline.as_deref() {
        Some(p) => {
            let shown = report::redact_digits(&p.display().to_string()).into_owned();
            let input = super::report::open_report(p).with_context(|| format!("cannot read baseline {shown}"))?;
            Some(Baseline::read(input, &shown)?)
        }
        None => None,
    };
    let today = i64::try_from(pansweep::time::unix_now() / 86_400).unwrap_or(0);
    let triage = Triage::new(allowlist, baseline, key_id, today);
    if !cli.quiet {
        let mut stderr = std::io::stderr().lock();
        for w in triage.warnings() {
            let _ = writeln!(stderr, "pansweep: warning: {w}");
        }
    }
    Ok(Some(triage))
}

impl Session {
    /// Lowers the priority (`--nice`), takes the lock (`--lock`), loads detectors and the
    /// key, opens the report, installs the signal handler — in that order: the priority
    /// before any thread is started (threads inherit it), the lock before the report is
    /// opened (a run that finds the lock held must not truncate the holder's report).
    pub(crate) fn new(cli: &Cli, r: &ReportArgs) -> anyhow::Result<Session> {
        Session::open(cli, r, &mut |_| Ok(false))
    }

    /// [`Session::new`], calling `before_report` once the ruleset and key are known and
    /// before the report is opened: it returns whether to append to the report file
    /// instead of creating it (`--resume` continuing a run).
    pub(crate) fn open(
        cli: &Cli,
        r: &ReportArgs,
        before_report: &mut dyn FnMut(&RunInfo) -> anyhow::Result<bool>,
    ) -> anyhow::Result<Session> {
        if r.sched.nice {
            for e in pansweep::os::lower_priority() {
                if !cli.quiet {
                    let _ = writeln!(std::io::stderr().lock(), "pansweep: warning: {e}");
                }
            }
        }
        let started = pansweep::time::rfc3339(pansweep::time::unix_now());
        let lock = match r.sched.lock.as_deref() {
            Some(path) => {
                let argv0 = std::env::args().next().map(|a| report::redact_arg(&a)).unwrap_or_default();
                let argv0 = argv0.split_ascii_whitespace().collect::<Vec<_>>().join("_");
                match RunLock::acquire(path, &started, &argv0) {
                    Ok(lock) => Some(lock),
                    Err(e) => {
                        // The monitoring system should see a night that was skipped.
                        if r.sched.syslog && matches!(e, LockError::Held { .. }) {
                            let report = r.out.output.as_ref().map(|p| p.display().to_string());
                            let not_started = syslog::Outcome::NotStarted { reason: "lock-held" };
                            let line = syslog::line(
                                syslog::Severity::Err,
                                std::process::id(),
                                not_started,
                                ExitStatus::Error.code(),
                                report.as_deref(),
                            );
                            send_syslog(cli.quiet, &line);
                        }
                        return Err(e.into());
                    }
                }
            }
            None => None,
        };
        let detectors = Arc::new(load_detectors(r.detectors.as_deref())?);
        let (key, key_id) = fingerprint_key(r.fingerprint_key.as_deref())?;
        let scanner = ScannerBuilder::new(detectors.clone()).fingerprint_key(&key).snippets(r.context).build();
        // Only a key from a file is the same next run: only it can name files in a state.
        let keyer = r.fingerprint_key.is_some().then(|| pansweep::state::Keyer::new(&key));
        let triage = load_triage(cli, r, &key_id)?;
        let run = RunInfo {
            tool: "pansweep".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            ruleset: detectors.ruleset.clone(),
            started,
            host: hostname(),
            argv: std::env::args().map(|a| report::redact_arg(&a)).collect(),
            fingerprint_key_id: key_id,
            sources: Vec::new(),
        };
        let append = before_report(&run)?;
        let Opened { writer, output_id, spool } = open_writer_at(cli, &r.out, append)?;
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
            keyer,
            writer,
            run,
            cancel,
            interrupted,
            output_id,
            min_confidence: r.out.min_confidence.into(),
            fail_on: r.out.fail_on.into(),
            triage,
            _lock: lock,
            spool,
            syslog: r.sched.syslog,
            report_path: r.out.output.as_ref().map(|p| p.display().to_string()),
        })
    }

    /// Ends a run: its exit status; under `--quiet`, the held-back report printed when the
    /// status is not clean; with `--syslog`, the summary line sent (also for a run that
    /// stopped with an error: then the error is returned after the line is sent).
    pub(crate) fn end(
        &mut self,
        quiet: bool,
        outcome: Result<pipeline::Outcome, pipeline::PipelineError>,
        counters: &Counters,
    ) -> anyhow::Result<ExitStatus> {
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                // Named, so that a full disk says which file it could not write.
                let e = match e {
                    pipeline::PipelineError::Write(io) => write_error(self.report_path.as_deref(), &io),
                    other => other.into(),
                };
                if self.syslog {
                    let failed = syslog::Outcome::Failed {
                        files: counters.files.load(Ordering::Relaxed),
                        bytes: counters.bytes.load(Ordering::Relaxed),
                        findings: counters.findings.load(Ordering::Relaxed),
                        skipped: counters.skipped.load(Ordering::Relaxed),
                    };
                    self.send_syslog(quiet, failed, ExitStatus::Error);
                }
                // What the report holds so far is evidence too.
                if let Some(spool) = self.spool.take() {
                    let _ = self.writer.flush();
                    let _ = spool.release();
                }
                return Err(e);
            }
        };
        for w in &outcome.warnings {
            super::warn(w);
        }
        let status = self.status(&outcome);
        if self.syslog {
            self.send_syslog(quiet, syslog::Outcome::Summary(&outcome.summary), status);
        }
        if let Some(spool) = self.spool.take()
            && status != ExitStatus::Clean
        {
            self.writer.flush().context("cannot write the report")?;
            spool.release().context("cannot write the report to stdout")?;
        }
        Ok(status)
    }

    /// Sends the syslog line of a run that ended with `status`.
    fn send_syslog(&self, quiet: bool, outcome: syslog::Outcome<'_>, status: ExitStatus) {
        let severity = match status {
            ExitStatus::Clean => syslog::Severity::Notice,
            ExitStatus::Found => syslog::Severity::Warning,
            _ => syslog::Severity::Err,
        };
        let line = syslog::line(severity, std::process::id(), outcome, status.code(), self.report_path.as_deref());
        send_syslog(quiet, &line);
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
    if let Some(rate) = a.max_rate {
        if rate == 0 {
            bail!("--max-rate must be at least 1 byte per second");
        }
        job.throttle = Some(Arc::new(Throttle::new(rate)));
    }

    for p in &a.paths {
        if std::fs::symlink_metadata(p).is_err() {
            bail!("no such file or directory: {}", report::redact_digits(&p.display().to_string()));
        }
    }
    if a.forensic {
        if a.state.is_some() {
            // An unchanged file is not read, so it could have no evidence record.
            bail!("--forensic reads every file: it cannot be combined with --state");
        }
        if cli.quiet && a.report.out.output.is_none() {
            // The held-back report would be a temporary file, perhaps inside a scanned root.
            bail!("--forensic --quiet needs -o FILE (outside the scanned roots)");
        }
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
    if (a.state.is_some() || a.resume.is_some()) && a.report.fingerprint_key.is_none() {
        bail!(
            "--state and --resume need --fingerprint-key FILE: files are named in them by a keyed hash, so the key \
             must be the same every run (make one with: head -c 32 /dev/urandom > KEY; chmod 600 KEY)"
        );
    }
    if a.resume.is_some() {
        if a.report.out.output.is_none() {
            bail!("--resume needs -o FILE: the report it checkpoints and continues");
        }
        if a.report.out.format.is_some_and(|f| f != FormatArg::Jsonl) {
            bail!("--resume needs --format jsonl: only a JSONL report can be continued");
        }
        if a.report.sched.baseline.is_some() {
            // What is resolved since the baseline is known only to one uninterrupted session.
            bail!(
                "--resume cannot be combined with --baseline: compare the finished report with `pansweep report` instead"
            );
        }
    }
    job.min_confidence = a.report.out.min_confidence.into();
    let options = result_options(&job, a.report.context);
    let mut resumed = None;
    let mut session = Session::open(cli, &a.report, &mut |run| {
        let Some(path) = &a.resume else { return Ok(false) };
        let validity = Validity::new(&run.ruleset, &run.fingerprint_key_id, &run_options(a, &options));
        let (journal, r) = Journal::open(path, &validity)?;
        let append = matches!(r, Resumed::Continue { .. });
        let so_far = match &r {
            Resumed::Continue { last, .. } => {
                let report = a.report.out.output.as_deref().expect("checked above");
                Some(resume::cut_report(report, last.offset)?)
            }
            Resumed::Fresh => None,
        };
        resumed = Some((journal, r, so_far));
        Ok(append)
    })?;
    job.min_confidence = session.min_confidence;
    job.output_file = session.output_id;
    if let Some(keyer) = session.keyer.clone()
        && (a.state.is_some() || a.resume.is_some())
    {
        let validity = Validity::new(&session.run.ruleset, &session.run.fingerprint_key_id, &options);
        job.memo = Some(Arc::new(memo(cli, a, keyer, &validity, resumed.take())?));
        // The state, its temporary and the journal are this run's own: never scanned.
        let mut own: Vec<std::path::PathBuf> = a.resume.iter().cloned().collect();
        if let Some(s) = &a.state {
            let mut tmp = s.clone().into_os_string();
            tmp.push(".tmp");
            own.extend([s.clone(), tmp.into()]);
        }
        job.own_files = own.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| (m.dev(), m.ino())).collect();
    }

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
        session.triage.as_mut(),
    );
    progress.finish();
    // Forensic mode needs the outcome after the run has ended (for the manifest).
    let kept = if a.forensic { outcome.as_ref().ok().cloned() } else { None };
    let status = session.end(cli.quiet, outcome, &counters)?;
    if let Some(outcome) = kept {
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

/// The options that decide what a file yields (with the ruleset and key: a state made
/// under other values is not used).
fn result_options(job: &ScanJob, context: bool) -> String {
    format!("min={:?};context={context};max_filesize={:?};items={:?}", job.min_confidence, job.max_filesize, job.items)
}

/// What makes a run the same run (`--resume` continues only that): the paths, the walk,
/// the report file, and the options that decide findings.
fn run_options(a: &ScanArgs, result: &str) -> String {
    // The report's directory, resolved (the report itself may not exist yet), and its name.
    let report = a.report.out.output.as_deref().map(|p| {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        (std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned()), p.file_name().map(std::ffi::OsStr::to_owned))
    });
    format!(
        "{result};roots={:?};exclude={:?};follow={};one_file_system={};respect_ignore={};report={:?};state={:?}",
        a.paths, a.exclude, a.follow, a.one_file_system, a.respect_ignore, report, a.state
    )
}

/// The `--state` and `--resume` parts of a scan.
fn memo(
    cli: &Cli,
    a: &ScanArgs,
    keyer: Keyer,
    validity: &Validity,
    resumed: Option<(Journal, Resumed, Option<resume::SoFar>)>,
) -> anyhow::Result<pipeline::Memo> {
    let (mut previous, mut next) = (None, None);
    if let Some(path) = &a.state {
        let shown = path.display();
        if !a.full {
            match Previous::load(path, validity) {
                Ok(Loaded::Ready(p)) => previous = Some(p),
                Ok(Loaded::Missing) => {}
                Ok(Loaded::Stale) => super::note(
                    cli,
                    &format!(
                        "{shown} was made with another ruleset, key, version or options: every file is read again"
                    ),
                ),
                // One bad input never stops a run: read everything and write a new state.
                Err(e) => super::warn(&format!("{e}; every file is read again")),
            }
        }
        next = Some(NextState::create(path, validity)?);
    }
    let resume = resumed.map(|(journal, r, so_far)| {
        let (completed, last) = match r {
            Resumed::Continue { completed, last } => (completed, Some(last)),
            Resumed::Fresh => (pansweep::state::KeySet::default(), None),
        };
        if let Some(last) = &last {
            super::note(
                cli,
                &format!(
                    "continuing an interrupted run: {} files done, report kept up to byte {}",
                    last.files, last.offset
                ),
            );
        }
        pipeline::Resume {
            journal: Mutex::new(Some(journal)),
            report: a.report.out.output.clone().expect("--resume needs -o"),
            completed,
            last,
            so_far: Mutex::new(so_far),
        }
    });
    Ok(pipeline::Memo { keyer, previous, next: Mutex::new(next), resume })
}
