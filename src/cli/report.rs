//! `pansweep report`: re-renders one stored JSONL report in another format, or merges
//! several (one per host or database) into one. The library does the reading and the
//! de-duplication (`report::merge`); this module opens the files, refuses an output that
//! is one of the inputs, prints the merge's notes and decides the exit code.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, Write as _};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context as _, bail};
use pansweep::finding::Confidence;
use pansweep::report::merge::{self, Input, MergeOptions};
use pansweep::report::{self, redact_digits};

use super::ExitStatus;
use super::args::{Cli, ReportCmdArgs};
use super::scan::{Opened, open_writer};

/// Opens a stored report; a gzip-compressed one (`web1.jsonl.gz`, as fleets often ship
/// them) is decompressed as it is read.
pub(crate) fn open_report(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    reader(File::open(path)?)
}

fn reader(f: File) -> std::io::Result<Box<dyn BufRead>> {
    let mut r = BufReader::with_capacity(256 * 1024, f);
    if r.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(r);
        return Ok(Box::new(BufReader::with_capacity(256 * 1024, gz)));
    }
    Ok(Box::new(r))
}

/// Copies a report that can be read only once (stdin as `-`, a pipe) to an unnamed
/// temporary file.
fn spool(p: &Path) -> anyhow::Result<File> {
    let mut tmp = tempfile::tempfile()?;
    if p.as_os_str() == "-" {
        std::io::copy(&mut std::io::stdin().lock(), &mut tmp)?;
    } else {
        std::io::copy(&mut File::open(p)?, &mut tmp)?;
    }
    Ok(tmp)
}

pub(crate) fn run(cli: &Cli, a: &ReportCmdArgs) -> anyhow::Result<ExitStatus> {
    // Opening the output truncates it: it must not be one of the inputs.
    if let Some(out) = &a.out.output
        && let Ok(om) = std::fs::metadata(out)
    {
        for input in &a.inputs {
            if std::fs::metadata(input).is_ok_and(|im| (im.dev(), im.ino()) == (om.dev(), om.ino())) {
                bail!(
                    "the output file {} is also an input: choose another -o",
                    redact_digits(&out.display().to_string())
                );
            }
        }
    }
    let mut inputs: Vec<Input<'static>> = Vec::with_capacity(a.inputs.len());
    for p in &a.inputs {
        let name = p.display().to_string();
        // The merge reads every input twice: a pipe (`-`, /dev/stdin, <(…)) would be empty
        // the second time, so it is copied to an unnamed temporary file first.
        let regular = p.as_os_str() != "-" && std::fs::metadata(p).is_ok_and(|m| m.is_file());
        if regular {
            let path = p.clone();
            inputs.push(Input { name, open: Box::new(move || open_report(&path)) });
            continue;
        }
        // One that cannot be read is left to the merge, which reports it as a skipped item.
        if let Ok(f) = spool(p) {
            inputs.push(Input {
                name,
                open: Box::new(move || {
                    let mut f = f.try_clone()?;
                    f.rewind()?;
                    reader(f)
                }),
            });
        } else {
            let path = p.clone();
            inputs.push(Input { name, open: Box::new(move || open_report(&path)) });
        }
    }
    let Opened { mut writer, spool, .. } = open_writer(cli, &a.out)?;
    let opts = MergeOptions {
        min_confidence: a.out.min_confidence.into(),
        argv: std::env::args().map(|s| report::redact_arg(&s)).collect(),
    };
    let merged = merge::merge(&inputs, writer.as_mut(), &opts).map_err(|e| {
        super::scan::write_error(a.out.output.as_ref().map(|p| p.display().to_string()).as_deref(), &e.0)
    })?;
    if !cli.quiet {
        let mut stderr = std::io::stderr().lock();
        for note in &merged.notes {
            let _ = writeln!(stderr, "pansweep: note: {note}");
        }
    }
    let fail_on: Confidence = a.out.fail_on.into();
    let status = if merged.worst.is_some_and(|w| w >= fail_on) {
        ExitStatus::Found
    } else if merged.incomplete {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Clean
    };
    // --quiet: the merged report reaches stdout only when it is worth acting on.
    if let Some(spool) = spool
        && status != ExitStatus::Clean
    {
        writer.flush().context("cannot write the report")?;
        spool.release().context("cannot write the report to stdout")?;
    }
    Ok(status)
}
