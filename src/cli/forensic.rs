//! `scan --forensic` on the command line: outputs are refused inside a scanned root before
//! anything is created, and the run manifest is written once the report is finished.

use std::io::{IsTerminal, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use pansweep::finding::hex;
use pansweep::pipeline::Outcome;
use pansweep::report::manifest::{self, Manifest, ManifestReport, ManifestUser};
use pansweep::report::{RunInfo, redact_digits};
use pansweep::source::forensic::Owners;
use sha2::{Digest, Sha256};

use super::ExitStatus;
use super::args::{FormatArg, ScanArgs};

fn shown(p: &Path) -> String {
    redact_digits(&p.display().to_string()).into_owned()
}

/// Where `path` would be written, links resolved: the path itself when it exists, else
/// its nearest existing ancestor resolved with the rest appended.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")).join(path)
    };
    if let Ok(c) = std::fs::canonicalize(&abs) {
        return c;
    }
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        match (std::fs::canonicalize(at), at.parent()) {
            (Ok(c), _) => {
                let mut out = c;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return out;
            }
            (Err(_), Some(parent)) => {
                if let Some(Component::Normal(name)) = at.components().next_back() {
                    rest.push(name.to_owned());
                }
                at = parent;
            }
            (Err(_), None) => return abs,
        }
    }
}

/// The scanned roots, canonical (a root that cannot be resolved is kept as given).
pub(crate) fn canonical_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths.iter().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())).collect()
}

/// The manifest path: `--manifest`, or `REPORT.manifest.json` next to `-o REPORT`;
/// `None` when the report goes to stdout and no `--manifest` was given.
pub(crate) fn manifest_path(a: &ScanArgs) -> Option<PathBuf> {
    if let Some(m) = &a.manifest {
        return Some(m.clone());
    }
    let out = a.report.out.output.as_ref()?;
    let mut name = out.file_name()?.to_owned();
    name.push(".manifest.json");
    Some(out.with_file_name(name))
}

/// Refuses, before anything is created, every output of the run that would land inside
/// a scanned root: the report, the manifest, `--state`, `--resume`, `--lock`, and stdout
/// when it is a file. Also refuses options forensic mode cannot honour.
pub(crate) fn check(a: &ScanArgs) -> anyhow::Result<()> {
    if a.respect_ignore {
        bail!(
            "--forensic cannot be combined with --respect-ignore: the walker reads ignore files itself, \
             which changes their access times"
        );
    }
    let roots = canonical_roots(&a.paths);
    let mut outputs: Vec<(&str, PathBuf)> = Vec::new();
    if let Some(o) = &a.report.out.output {
        outputs.push(("report file", o.clone()));
    }
    if let Some(m) = manifest_path(a) {
        outputs.push(("manifest", m));
    }
    if let Some(s) = &a.state {
        outputs.push(("--state file", s.clone()));
    }
    if let Some(r) = &a.resume {
        outputs.push(("--resume file", r.clone()));
    }
    if let Some(l) = &a.report.sched.lock {
        outputs.push(("--lock file", l.clone()));
    }
    if a.report.out.output.is_none()
        && let Some(p) = stdout_file()
    {
        outputs.push(("standard output (redirected to)", p));
    }
    for (what, path) in &outputs {
        let at = resolve(path);
        if let Some(root) = roots.iter().find(|r| at.starts_with(r)) {
            bail!(
                "--forensic: the {what} {} is inside the scanned root {}: nothing may be written there; \
                 write it elsewhere",
                shown(path),
                shown(root)
            );
        }
    }
    if let (Some(o), Some(m)) = (&a.report.out.output, manifest_path(a))
        && resolve(o) == resolve(&m)
    {
        bail!("--forensic: the manifest {} would overwrite the report", shown(&m));
    }
    Ok(())
}

/// The file stdout is redirected to, if it is a regular file.
fn stdout_file() -> Option<PathBuf> {
    let p = std::fs::canonicalize("/proc/self/fd/1").ok()?;
    std::fs::metadata(&p).ok()?.is_file().then_some(p)
}

/// The effective user id (from `/proc/self`, which the process owns).
pub(crate) fn euid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Size and SHA-256 of a regular file, read whole.
fn size_and_hash(path: &Path) -> anyhow::Result<Option<(u64, String)>> {
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot read the report {}", shown(path)))?;
    if !f.metadata()?.is_file() {
        return Ok(None);
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).with_context(|| format!("cannot read the report {}", shown(path)))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Some((size, hex(&h.finalize()))))
}

/// Writes the manifest of a finished run (the report is complete and flushed), or says on
/// stderr why there is none.
pub(crate) fn write_manifest(
    a: &ScanArgs,
    run: &RunInfo,
    outcome: &Outcome,
    status: ExitStatus,
    quiet: bool,
) -> anyhow::Result<()> {
    let Some(path) = manifest_path(a) else {
        if !quiet {
            eprintln_note(
                "--forensic: the report went to standard output and no --manifest was given: no manifest written",
            );
        }
        return Ok(());
    };
    let (report_path, hashed) = match &a.report.out.output {
        Some(o) => (Some(resolve(o)), size_and_hash(o)?),
        None => match stdout_file() {
            Some(p) => {
                let h = size_and_hash(&p)?;
                (Some(p), h)
            }
            None => (None, None),
        },
    };
    let format = match a.report.out.format {
        Some(FormatArg::Text) => "text",
        Some(FormatArg::Json) => "json",
        Some(FormatArg::Csv) => "csv",
        Some(FormatArg::Sarif) => "sarif",
        Some(FormatArg::Html) => "html",
        None if a.report.out.output.is_none() && std::io::stdout().is_terminal() => "text",
        Some(FormatArg::Jsonl) | None => "jsonl",
    };
    let uid = euid().unwrap_or(u32::MAX);
    let m = Manifest {
        tool: run.tool.clone(),
        version: run.version.clone(),
        argv: run.argv.clone(),
        host: run.host.clone(),
        user: ManifestUser { uid, name: Owners::load().user(uid).map(str::to_owned) },
        started: run.started.clone(),
        finished: pansweep::time::rfc3339(pansweep::time::unix_now()),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
        roots: canonical_roots(&a.paths).iter().map(|r| shown(r)).collect(),
        report: ManifestReport {
            path: report_path.map_or_else(|| "(standard output)".to_owned(), |p| shown(&p)),
            format: format.to_owned(),
            size: hashed.as_ref().map(|h| h.0),
            sha256: hashed.map(|h| h.1),
        },
        summary: outcome.summary.clone(),
        exit_code: status.code(),
        ruleset: run.ruleset.clone(),
        fingerprint_key_id: run.fingerprint_key_id.clone(),
        atime_not_preserved: outcome.atime_lost,
    };
    let f = super::scan::create_output(&path, false).with_context(|| "cannot write the manifest")?;
    manifest::write(&m, f).with_context(|| format!("cannot write the manifest {}", shown(&path)))?;
    Ok(())
}

/// One line on stderr, prefixed like every other message.
#[allow(clippy::print_stderr)] // the CLI's notes go to stderr
pub(crate) fn eprintln_note(msg: &str) {
    eprintln!("pansweep: {msg}");
}
