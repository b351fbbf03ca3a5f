//! `pansweep report`: re-renders one stored JSONL report in another format, or merges
//! several (one per host or database) into one. The library does the reading and the
//! de-duplication (`report::merge`); this module opens the files, refuses an output that
//! is one of the inputs, prints the merge's notes and decides the exit code.

use std::fs::File;
use std::io::{BufRead, BufReader, Write as _};
use std::os::unix::fs::MetadataExt;

use anyhow::bail;
use pansweep::finding::Confidence;
use pansweep::report::merge::{self, Input, MergeOptions};
use pansweep::report::{self, redact_digits};

use super::ExitStatus;
use super::args::{Cli, ReportCmdArgs};
use super::scan::open_writer;

pub(crate) fn run(cli: &Cli, a: &ReportCmdArgs) -> anyhow::Result<ExitStatus> {
    // Opening the output truncates it: it must not be one of the inputs.
    if let Some(out) = &a.output
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
    let inputs: Vec<Input<'static>> = a
        .inputs
        .iter()
        .map(|p| {
            let path = p.clone();
            Input {
                name: p.display().to_string(),
                open: Box::new(move || {
                    let f = File::open(&path)?;
                    Ok(Box::new(BufReader::with_capacity(256 * 1024, f)) as Box<dyn BufRead>)
                }),
            }
        })
        .collect();
    let (mut writer, _) = open_writer(cli, a.output.as_deref(), a.format, a.color)?;
    let opts = MergeOptions {
        min_confidence: a.min_confidence.into(),
        argv: std::env::args().map(|s| report::redact_arg(&s)).collect(),
    };
    let merged = merge::merge(&inputs, writer.as_mut(), &opts)?;
    if !cli.quiet {
        let mut stderr = std::io::stderr().lock();
        for note in &merged.notes {
            let _ = writeln!(stderr, "pansweep: note: {note}");
        }
    }
    let fail_on: Confidence = a.fail_on.into();
    Ok(if merged.worst.is_some_and(|w| w >= fail_on) {
        ExitStatus::Found
    } else if merged.incomplete {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Clean
    })
}
