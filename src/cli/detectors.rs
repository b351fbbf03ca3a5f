//! `pansweep detectors list|check`.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

use pansweep::detectors::spec::CheckMode;
use pansweep::detectors::{DetectorSet, Origin, check};
use pansweep::scan::examples;

use super::ExitStatus;
use super::args::{Cli, DetectorsAction, DetectorsArgs};
use super::scan::load_detectors;

pub(crate) fn run(_cli: &Cli, a: &DetectorsArgs) -> anyhow::Result<ExitStatus> {
    match &a.action {
        DetectorsAction::List { detectors } => {
            let set = load_detectors(detectors.as_deref())?;
            let mut out = std::io::stdout().lock();
            out.write_all(list(&set).as_bytes())?;
            Ok(ExitStatus::Clean)
        }
        DetectorsAction::Check { dir } => {
            let set = match dir {
                Some(d) => DetectorSet::with_overlay(d)?,
                None => DetectorSet::builtin()?,
            };
            let set = Arc::new(set);
            let mut problems = check::validate(&set);
            problems.extend(examples::run(&set));
            let mut out = std::io::stdout().lock();
            for p in &problems {
                writeln!(out, "error: {p}")?;
            }
            let from_dir = set.files.values().filter(|(o, _)| matches!(o, Origin::Path(_))).count();
            writeln!(
                out,
                "{}: {} files ({} from {}), {} brands, {} test PANs, {} keyword patterns, {} column hints, {} examples; {} problem{}",
                if problems.is_empty() { "ok" } else { "failed" },
                set.files.len(),
                from_dir,
                dir.as_ref().map_or_else(|| "a directory".into(), |d| d.display().to_string()),
                set.brands.len(),
                set.test_pans.len(),
                set.keywords.patterns.len(),
                set.columns.len(),
                set.examples.len(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            )?;
            Ok(if problems.is_empty() { ExitStatus::Clean } else { ExitStatus::Found })
        }
    }
}

/// `12-15*,16-19`: runs of consecutive lengths, `*` where context is needed.
fn compact_lengths(lengths: &[u8], needs_context: impl Fn(u8) -> bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lengths.len() {
        let mut j = i;
        while j + 1 < lengths.len()
            && lengths[j + 1] == lengths[j] + 1
            && needs_context(lengths[j + 1]) == needs_context(lengths[i])
        {
            j += 1;
        }
        let star = if needs_context(lengths[i]) { "*" } else { "" };
        parts.push(if i == j {
            format!("{}{star}", lengths[i])
        } else {
            format!("{}-{}{star}", lengths[i], lengths[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// The brand table and a summary of the rest, as text.
fn list(set: &DetectorSet) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<12} {:<26} {:<18} {:<14} {:<10} ranges", "id", "name", "lengths", "check", "code");
    for b in &set.brands {
        let lengths = compact_lengths(&b.lengths, |l| b.needs_context_at(usize::from(l)));
        let check = match b.check {
            CheckMode::Luhn => "luhn",
            CheckMode::LuhnOptional => "luhn-optional",
            CheckMode::None => "none",
        };
        let code = b.security_code.as_ref().map_or_else(|| "-".into(), |c| format!("{}/{}", c.name, c.digits));
        let ranges: Vec<String> = b
            .ranges
            .iter()
            .map(|r| {
                let w = usize::from(r.prefix_len);
                if r.lo == r.hi { format!("{:0w$}", r.lo) } else { format!("{:0w$}-{:0w$}", r.lo, r.hi) }
            })
            .collect();
        let shown = if ranges.len() > 8 {
            format!("{} … (+{} more)", ranges[..8].join(" "), ranges.len() - 8)
        } else {
            ranges.join(" ")
        };
        let _ = writeln!(s, "{:<12} {:<26} {:<18} {:<14} {:<10} {shown}", b.id, b.name, lengths, check, code);
    }
    let _ = writeln!(s, "\n* = reported only with card context (as low)");
    let _ = writeln!(s, "test PANs: {} distinct", set.test_pans.len());
    let _ = writeln!(s, "keywords: {} patterns in {}", set.keywords.patterns.len(), set.languages.join(", "));
    let _ = writeln!(s, "column hints: {} patterns", set.columns.len());
    let _ = writeln!(s, "ruleset: {}", set.ruleset);
    s
}
