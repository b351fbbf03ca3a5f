//! `pansweep allowlist add`: appends allowlist entries built from findings of a JSONL
//! report, picked by their `id`. The entries name the card by its fingerprint and the
//! place by an escaped path glob or table and column, never by a number; the file keeps
//! what it held (comments too) and is created 0600.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{BufRead, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context as _, bail};
use pansweep::report::read::Record;
use pansweep::report::{FindingRecord, redact_digits};
use pansweep::triage::Allowlist;
use pansweep::triage::allowlist::{escape_glob, holds_pan, parse_date};

use super::ExitStatus;
use super::args::{AllowMatch, AllowlistAction, AllowlistArgs, Cli};

pub(crate) fn run(cli: &Cli, a: &AllowlistArgs) -> anyhow::Result<ExitStatus> {
    match &a.action {
        AllowlistAction::Add { from, ids, reason, expires, by, allowlist } => {
            let Some(file) = allowlist else {
                bail!(
                    "no allowlist file: give --allowlist FILE (it is created when missing), or set allowlist under \
                     [schedule] in the config file"
                );
            };
            add(cli, from, ids, reason, expires.as_deref(), *by, file)
        }
    }
}

/// A TOML string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The report's fingerprint key id and the findings with the wanted ids.
fn read_report(from: &Path, wanted: &[String]) -> anyhow::Result<(String, HashMap<String, FindingRecord>)> {
    let shown = redact_digits(&from.display().to_string()).into_owned();
    let mut r = super::report::open_report(from).with_context(|| format!("cannot read report {shown}"))?;
    let mut key_id = None;
    let mut found = HashMap::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf).with_context(|| format!("cannot read report {shown}"))? == 0 {
            break;
        }
        match Record::parse(buf.trim_ascii_end()) {
            Ok(Record::Run(run)) if key_id.is_none() => key_id = Some(run.fingerprint_key_id),
            // Another run appended to the same file: its findings have another key.
            Ok(Record::Run(_)) => break,
            Ok(Record::Finding(f)) => {
                let id = f.id();
                if wanted.contains(&id) {
                    found.entry(id).or_insert(*f);
                }
            }
            // Other records, and lines that are not records, hold no finding to take.
            _ => {}
        }
    }
    let Some(key_id) = key_id else {
        bail!("{shown} is not a pansweep JSONL report (no run record; write one with --format jsonl)");
    };
    Ok((key_id, found))
}

fn add(
    cli: &Cli,
    from: &Path,
    ids: &[String],
    reason: &str,
    expires: Option<&str>,
    by: AllowMatch,
    file: &Path,
) -> anyhow::Result<ExitStatus> {
    let file_shown = redact_digits(&file.display().to_string()).into_owned();
    let from_shown = redact_digits(&from.display().to_string()).into_owned();
    if reason.trim().is_empty() {
        bail!("--reason is empty: say why the findings are accepted");
    }
    if holds_pan(reason) {
        bail!("--reason looks like it holds a card number; an allowlist must never hold one");
    }
    if let Some(e) = expires
        && parse_date(e).is_none()
    {
        bail!("--expires {}: not a date (expected YYYY-MM-DD)", redact_digits(e));
    }
    let ids: Vec<String> = ids.iter().map(|i| i.trim().to_ascii_lowercase()).collect();
    let (key_id, found) = read_report(from, &ids)?;
    let missing: Vec<String> =
        ids.iter().filter(|i| !found.contains_key(*i)).map(|i| redact_digits(i).into_owned()).collect();
    if !missing.is_empty() {
        bail!("no finding with id {} in {from_shown}", missing.join(", "));
    }
    let wants_fp = matches!(by, AllowMatch::Fingerprint | AllowMatch::Both);
    if wants_fp && key_id.starts_with("random:") {
        bail!(
            "{from_shown} was written with a random per-run fingerprint key ({key_id}): its fingerprints match \
             nothing in another run. Scan with --fingerprint-key FILE and take the ids from that report, \
             or use --match location"
        );
    }
    let now = pansweep::time::rfc3339(pansweep::time::unix_now());
    let today = &now[..10];
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty() && u.len() <= 64 && !holds_pan(u) && !u.chars().any(char::is_control));
    let mut text = String::new();
    let mut seen = Vec::new();
    for id in &ids {
        if seen.contains(id) {
            continue;
        }
        seen.push(id.clone());
        let f = &found[id];
        let _ = writeln!(text, "\n# from finding {id} of {}", from_shown.replace(['\n', '\r'], "?"));
        text.push_str("[[allow]]\n");
        if wants_fp {
            let Some(fp) = f.finding.fingerprint else {
                bail!("finding {id} has no fingerprint (a masked number): use --match location");
            };
            let _ = writeln!(text, "fingerprint = {}", quoted(&fp.to_string()));
            let _ = writeln!(text, "key_id = {}", quoted(&key_id));
        }
        if matches!(by, AllowMatch::Location | AllowMatch::Both) {
            match (&f.engine, &f.table, &f.column) {
                (Some(_), Some(t), Some(c)) => {
                    let _ = writeln!(text, "table = {}", quoted(&escape_glob(t)));
                    let _ = writeln!(text, "column = {}", quoted(&escape_glob(c)));
                }
                _ => {
                    let _ = writeln!(text, "path = {}", quoted(&escape_glob(&f.path)));
                }
            }
        }
        let _ = writeln!(text, "reason = {}", quoted(reason));
        if let Some(e) = expires {
            let _ = writeln!(text, "expires = {}", quoted(e));
        }
        let _ = writeln!(text, "added = {}", quoted(today));
        if let Some(u) = &user {
            let _ = writeln!(text, "by = {}", quoted(u));
        }
    }
    // The file as it is must load, and so must the file with the entries added: nothing
    // is written to a file that would then be refused.
    let existing = match std::fs::read(file) {
        Ok(b) => Some(String::from_utf8(b).map_err(|_| anyhow::anyhow!("{file_shown} is not UTF-8 text"))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read allowlist {file_shown}")),
    };
    let mut whole = existing.clone().unwrap_or_default();
    if let Some(old) = &existing {
        Allowlist::parse(old, &file_shown).context("the allowlist is not valid as it is; fix it first")?;
        if !old.is_empty() && !old.ends_with('\n') {
            text.insert(0, '\n');
        }
    }
    if whole.is_empty() {
        // A new file starts with its first entry, not a blank line.
        text.remove(0);
    }
    whole.push_str(&text);
    Allowlist::parse(&whole, &file_shown).context("the new entries do not load (a bug; please report it)")?;
    let mut out = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("cannot open allowlist {file_shown}"))?;
    out.write_all(text.as_bytes()).with_context(|| format!("cannot write allowlist {file_shown}"))?;
    if !cli.quiet {
        let n = seen.len();
        let _ = writeln!(
            std::io::stderr().lock(),
            "pansweep: added {n} entr{} to {file_shown}",
            if n == 1 { "y" } else { "ies" }
        );
    }
    Ok(ExitStatus::Clean)
}
