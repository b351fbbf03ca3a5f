//! `pansweep report`: re-renders one stored JSONL run, or merges several (one per host or
//! database) into one report, through the same [`ReportWriter`]s a live run uses.
//!
//! Two passes over the inputs, so memory stays bounded by the number of distinct
//! findings (a 16-byte hash each), never by the size of the reports:
//! 1. read every input whole: its run and summary records, whether it was cut short,
//!    which findings are new (de-duplicated by location) and what they add up to;
//! 2. write the merged `run` record (with one [`SourceRun`] per input), then read the
//!    inputs again and hand every first-seen record to the writer, then the summary.
//!
//! When the runs come from more than one host, a file's `path` (and a skipped item's) is
//! written as `host:path`, the notation of scp and rsync, so every format says which
//! machine to clean without a new field; a database finding is named by its URL, which
//! already names the server.
//!
//! De-duplication is by location: a file finding by (host, path, line, byte offset,
//! decoders, class, masked view), a database finding by (URL, table, column, row key,
//! class, masked view) whatever host ran the scan. The fingerprint is left out: the same
//! card at the same place has different fingerprints under different keys. Distinct cards
//! are counted by fingerprint only when every run used the same fingerprint key: HMACs
//! under different keys cannot be compared, so the count is then left unknown and a note
//! says why.

use std::collections::{BTreeSet, HashSet};
use std::io::{self, BufRead};

use sha2::{Digest, Sha256};

use super::read::Record;
use super::{Counts, FindingRecord, ReportWriter, RunInfo, SourceRun, Summary, TableSummary};
use crate::finding::{Confidence, Fingerprint};
use crate::source::{Skip, SkipKind};

/// Longest line read from a report; a longer one is counted as not a record.
const MAX_LINE: usize = 64 << 20;

/// What `pansweep report` was asked for.
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// Findings below this tier are left out.
    pub min_confidence: Confidence,
    /// The `report` command line (redacted), for a merged run record.
    pub argv: Vec<String>,
}

/// One input: a name to show and a way to open it (called once per pass).
pub struct Input<'a> {
    /// As given on the command line (digits are masked before it is shown).
    pub name: String,
    /// Opens the report for reading.
    pub open: Box<dyn Fn() -> io::Result<Box<dyn BufRead + 'a>> + 'a>,
}

/// What the merge wrote.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// The summary as written.
    pub summary: Summary,
    /// Strongest tier among the cardholder-data findings written.
    pub worst: Option<Confidence>,
    /// Coverage is incomplete: an input was cut short, unreadable or interrupted, or an
    /// item in it was skipped for an error or a limit.
    pub incomplete: bool,
    /// Things the person running the merge should know (different fingerprint keys, …).
    pub notes: Vec<String>,
}

/// Writing the merged report failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report: {0}")]
pub struct MergeError(#[source] pub io::Error);

/// What pass 1 learnt about one input.
#[derive(Default)]
struct InputState {
    run: Option<RunInfo>,
    summary: Option<Summary>,
    /// The last line is not a whole record (an interrupted write).
    cut_short: bool,
    /// Lines (other than a cut-short last one) that are not records.
    bad_lines: u64,
    first_bad_line: u64,
    /// Lines read in pass 1: pass 2 reads no more than these.
    lines: u64,
    /// It could not be opened or read.
    error: Option<String>,
    counts: Counts,
    /// Line of a second `run` record (runs appended to one file): reading stopped there.
    second_run: Option<u64>,
    /// Set by a pass-1 callback to stop reading before the current line.
    stop: bool,
}

impl InputState {
    fn complete(&self) -> bool {
        self.error.is_none()
            && self.second_run.is_none()
            && !self.cut_short
            && self.bad_lines == 0
            && self.summary.as_ref().is_some_and(|s| s.complete)
    }
}

/// The de-duplication decisions: made the same way in both passes.
#[derive(Default)]
struct Seen {
    findings: HashSet<[u8; 16]>,
    skips: HashSet<[u8; 16]>,
    tables: HashSet<[u8; 16]>,
}

fn digest(parts: &[&str]) -> [u8; 16] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.len().to_le_bytes());
        h.update(p.as_bytes());
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

/// A database URL that names no server of its own: a SQLite file, or a server on the
/// scanning host (`localhost`, a loopback address, a Unix socket). Such a URL means a
/// different database on every host.
pub fn is_local_db(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else { return false };
    if scheme.eq_ignore_ascii_case("sqlite") {
        return true;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let socket = rest.contains("host=/") || rest.contains("socket=");
    socket || host.is_empty() || host.eq_ignore_ascii_case("localhost") || host.starts_with("127.") || host == "::1"
}

fn finding_key(host: &str, rec: &FindingRecord) -> [u8; 16] {
    let f = &rec.finding;
    let masked = f.view.masked();
    let decoders = rec.decoders.join("\u{0}");
    if rec.engine.is_some() {
        // A database is named by its URL: the same row is the same row from any host,
        // unless the URL names the scanning host's own database.
        let key = rec.row_key.as_ref().map(|k| super::KeyJson(k).to_string()).unwrap_or_default();
        digest(&[
            "db",
            if is_local_db(&rec.path) { host } else { "" },
            &rec.path,
            rec.table.as_deref().unwrap_or(""),
            rec.column.as_deref().unwrap_or(""),
            &key,
            &decoders,
            f.class.as_str(),
            &masked,
        ])
    } else {
        let (line, off) = (rec.line.to_string(), rec.byte_offset.to_string());
        digest(&["file", host, &rec.path, &line, &off, &decoders, f.class.as_str(), &masked])
    }
}

fn skip_key(host: &str, s: &Skip) -> [u8; 16] {
    digest(&[host, &s.path, &s.reason])
}

fn table_key(host: &str, t: &TableSummary) -> [u8; 16] {
    digest(&[if is_local_db(&t.path) { host } else { "" }, &t.path, &t.table])
}

/// Reads one line into `buf` (without its newline). `Ok(None)` at the end; `Ok(Some(false))`
/// for a last line with no newline; a line longer than [`MAX_LINE`] is read to its end and
/// returned empty (counted as not a record).
fn next_line(r: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if any { Some(false) } else { None });
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > MAX_LINE {
                too_long = true;
                buf.clear();
                buf.extend_from_slice(b"\xff");
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        r.consume(take + usize::from(done));
        if done {
            return Ok(Some(true));
        }
    }
}

/// Reads an input once, handing each record (with its 1-based line) to `each`. Fills in
/// the cut-short and bad-line facts and the line count; stops after `max_lines`.
fn read_input(
    input: &Input<'_>,
    st: &mut InputState,
    max_lines: Option<u64>,
    each: &mut dyn FnMut(Record, &mut InputState) -> Result<(), MergeError>,
) -> Result<(), MergeError> {
    let mut r = match (input.open)() {
        Ok(r) => r,
        Err(e) => {
            st.error = Some(format!("cannot open report: {e}"));
            return Ok(());
        }
    };
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0u64;
    loop {
        if max_lines.is_some_and(|m| n >= m) {
            break;
        }
        let whole = match next_line(&mut *r, &mut buf) {
            Ok(None) => break,
            Ok(Some(w)) => w,
            Err(e) => {
                st.error = Some(format!("cannot read report: {e}"));
                break;
            }
        };
        n += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match Record::parse(&buf) {
            Ok(rec) => {
                each(rec, st)?;
                if st.stop {
                    st.second_run = Some(n);
                    n -= 1;
                    break;
                }
            }
            Err(_) if !whole => st.cut_short = true,
            Err(_) => {
                if st.bad_lines == 0 {
                    st.first_bad_line = n;
                }
                st.bad_lines += 1;
            }
        }
    }
    if max_lines.is_none() {
        st.lines = n;
    }
    Ok(())
}

/// Re-renders or merges `inputs` into `writer`.
pub fn merge(inputs: &[Input<'_>], writer: &mut dyn ReportWriter, opts: &MergeOptions) -> Result<Merged, MergeError> {
    // Pass 1: what each input holds, and what the merged report will add up to.
    let mut states: Vec<InputState> = Vec::with_capacity(inputs.len());
    let mut seen = Seen::default();
    let mut fingerprints: HashSet<Fingerprint> = HashSet::new();
    let mut total = Counts::default();
    let mut worst = None;
    for input in inputs {
        let mut st = InputState::default();
        read_input(input, &mut st, None, &mut |rec, st| {
            match rec {
                Record::Run(run) if st.run.is_none() => st.run = Some(run),
                // Another run appended to the same file: its host, key and summary would be
                // taken for the first one's. Only the first run is read.
                Record::Run(_) => st.stop = true,
                Record::Summary(s) => st.summary = Some(s),
                Record::Finding(f) if st.run.is_some() => {
                    let host = st.run.as_ref().map_or("", |r| r.host.as_str());
                    let f = &*f;
                    if f.finding.confidence >= opts.min_confidence && seen.findings.insert(finding_key(host, f)) {
                        st.counts.add(f.finding.class, f.finding.confidence);
                        total.add(f.finding.class, f.finding.confidence);
                        if f.finding.class.is_cardholder_data() {
                            worst = worst.max(Some(f.finding.confidence));
                            if let Some(fp) = f.finding.fingerprint {
                                fingerprints.insert(fp);
                            }
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        states.push(st);
    }

    // The merged run record.
    let sources: Vec<SourceRun> = inputs
        .iter()
        .zip(&states)
        .filter_map(|(input, st)| {
            let run = st.run.as_ref()?;
            let ended = st.summary.as_ref().and_then(|s| end_of(&run.started, s.elapsed_s));
            Some(SourceRun {
                file: super::redact_digits(&input.name).into_owned(),
                host: run.host.clone(),
                version: run.version.clone(),
                ruleset: run.ruleset.clone(),
                fingerprint_key_id: run.fingerprint_key_id.clone(),
                argv: run.argv.clone(),
                started: run.started.clone(),
                ended,
                complete: st.complete(),
                findings: st.counts,
            })
        })
        .collect();
    let mut notes = Vec::new();
    let keys: BTreeSet<&str> = sources.iter().map(|s| s.fingerprint_key_id.as_str()).collect();
    let rulesets: BTreeSet<&str> = sources.iter().map(|s| s.ruleset.as_str()).collect();
    if keys.len() > 1 {
        let list: Vec<String> = sources.iter().map(|s| format!("{}: {}", s.file, s.fingerprint_key_id)).collect();
        notes.push(format!(
            "distinct cards are not counted across these runs: they used different fingerprint keys ({}); \
             scan every host with the same --fingerprint-key FILE to compare them",
            list.join(", ")
        ));
    }
    if rulesets.len() > 1 {
        notes.push(format!(
            "the runs used {} different detector rulesets: what each found may differ for that reason",
            rulesets.len()
        ));
    }
    let run = merged_run(&sources, &states, opts, &keys, &rulesets);
    let hosts: BTreeSet<&str> = sources.iter().map(|s| s.host.as_str()).collect();
    let prefix_host = hosts.len() > 1;
    writer.begin(&run).map_err(MergeError)?;

    // Pass 2: the same decisions, this time writing.
    let mut seen = Seen::default();
    // The same file's evidence from an input given twice is written once.
    let mut seen_evidence = HashSet::new();
    let mut skipped = 0u64;
    let mut incomplete = false;
    // Findings each run's baseline had and the run did not find again: kept for the end,
    // where a live run writes them too.
    let mut resolved: Vec<super::FindingRecord> = Vec::new();
    for (input, st) in inputs.iter().zip(&mut states) {
        let name = super::redact_digits(&input.name).into_owned();
        // An input that failed part-way is still read up to where pass 1 got.
        if st.run.is_some() {
            let mut pass2 = InputState { run: st.run.clone(), ..InputState::default() };
            let host = pass2.run.as_ref().map_or_else(String::new, |r| r.host.clone());
            let mut started = false;
            read_input(input, &mut pass2, Some(st.lines), &mut |rec, _| {
                // Records before the run record belong to no run: pass 1 ignored them too.
                match rec {
                    Record::Run(_) => started = true,
                    Record::Finding(f)
                        if started
                            && f.finding.confidence >= opts.min_confidence
                            && seen.findings.insert(finding_key(&host, &f)) =>
                    {
                        let mut f = f;
                        if prefix_host && (f.engine.is_none() || is_local_db(&f.path)) {
                            f.path = format!("{host}:{}", f.path);
                        }
                        writer.finding(&f).map_err(MergeError)?;
                    }
                    Record::Skipped(s) if started && seen.skips.insert(skip_key(&host, &s)) => {
                        incomplete |= s.kind.incomplete();
                        skipped += 1;
                        let mut s = s;
                        if prefix_host && (!s.path.contains("://") || is_local_db(&s.path)) {
                            s.path = format!("{host}:{}", s.path);
                        }
                        writer.skipped(&s).map_err(MergeError)?;
                    }
                    Record::Evidence(ev)
                        if started
                            && seen_evidence.insert((host.clone(), ev.path.clone(), ev.inode, ev.sha256.clone())) =>
                    {
                        let mut ev = ev;
                        if prefix_host {
                            ev.path = format!("{host}:{}", ev.path);
                        }
                        writer.evidence(&ev).map_err(MergeError)?;
                    }
                    Record::Table(t) if started && seen.tables.insert(table_key(&host, &t)) => {
                        let mut t = t;
                        if prefix_host && is_local_db(&t.path) {
                            t.path = format!("{host}:{}", t.path);
                        }
                        writer.table(&t).map_err(MergeError)?;
                    }
                    Record::Resolved(f) if started => {
                        let mut f = *f;
                        if prefix_host && (f.engine.is_none() || is_local_db(&f.path)) {
                            f.path = format!("{host}:{}", f.path);
                        }
                        resolved.push(f);
                    }
                    _ => {}
                }
                Ok(())
            })?;
            if pass2.error.is_some() && st.error.is_none() {
                st.error = pass2.error;
            }
        }
        // Problems with the input itself, as skipped items of the merged report.
        let problem = if let Some(e) = &st.error {
            Some(e.clone())
        } else if st.run.is_none() {
            Some("not a pansweep JSONL report: it has no run record".to_owned())
        } else if let Some(line) = st.second_run {
            Some(format!(
                "holds more than one run (another starts at line {line}; reports appended to one file?): only the \
                 first was read; split the file into one per run"
            ))
        } else if st.bad_lines > 0 {
            Some(format!(
                "{} line{} of the report {} not pansweep records (first at line {}): what they held is missing",
                st.bad_lines,
                if st.bad_lines == 1 { "" } else { "s" },
                if st.bad_lines == 1 { "is" } else { "are" },
                st.first_bad_line
            ))
        } else {
            None
        };
        if let Some(reason) = problem {
            skipped += 1;
            writer.skipped(&Skip { path: name.clone(), reason, kind: SkipKind::Error }).map_err(MergeError)?;
        }
        if st.run.is_some() && !st.complete() && st.error.is_none() && st.second_run.is_none() {
            notes.push(if st.cut_short || st.summary.is_none() {
                format!("{name}: the run did not finish (the report ends without a summary): shown as incomplete")
            } else {
                format!("{name}: the run was interrupted or incomplete: shown as incomplete")
            });
        }
        incomplete |= !st.complete();
    }

    let summaries: Vec<&Summary> = states.iter().filter_map(|s| s.summary.as_ref()).collect();
    let summary = Summary {
        complete: !states.is_empty() && states.iter().all(InputState::complete),
        files: summaries.iter().map(|s| s.files).sum(),
        bytes: summaries.iter().map(|s| s.bytes).sum(),
        tables: summaries.iter().map(|s| s.tables).sum(),
        rows: summaries.iter().map(|s| s.rows).sum(),
        skipped,
        findings: total,
        distinct_pans: (keys.len() <= 1).then_some(fingerprints.len() as u64),
        elapsed_s: wall_time(&sources, &summaries),
        sampled: summaries.iter().any(|s| s.sampled),
        unchanged: summaries.iter().map(|s| s.unchanged).sum(),
        // What each run left out on purpose, added up: a merged report must not read as
        // if nothing had been found.
        allowlisted: summaries.iter().map(|s| s.allowlisted).sum(),
        baseline: summaries.iter().filter_map(|s| s.baseline).reduce(|a, b| super::BaselineCounts {
            new: a.new + b.new,
            known: a.known + b.known,
            resolved: a.resolved + b.resolved,
        }),
    };
    for f in &resolved {
        writer.resolved(f).map_err(MergeError)?;
    }
    writer.finish(&summary).map_err(MergeError)?;
    Ok(Merged { summary, worst, incomplete: incomplete || states.is_empty(), notes })
}

/// `started` plus `elapsed` seconds, as RFC 3339.
pub(crate) fn end_of(started: &str, elapsed: f64) -> Option<String> {
    let t = crate::time::parse_rfc3339(started)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // elapsed is small and not negative
    let secs = elapsed.max(0.0).ceil() as u64;
    Some(crate::time::rfc3339(t + secs))
}

/// Wall time of the merged runs: from the first start to the last end when the times can
/// be read, else the sum of their elapsed times.
fn wall_time(sources: &[SourceRun], summaries: &[&Summary]) -> f64 {
    let starts = sources.iter().filter_map(|s| crate::time::parse_rfc3339(&s.started)).min();
    let ends = sources.iter().filter_map(|s| s.ended.as_deref().and_then(crate::time::parse_rfc3339)).max();
    match (starts, ends) {
        (Some(a), Some(b)) if sources.len() > 1 && b >= a => (b - a) as f64,
        _ => summaries.iter().map(|s| s.elapsed_s).sum(),
    }
}

fn merged_run(
    sources: &[SourceRun],
    states: &[InputState],
    opts: &MergeOptions,
    keys: &BTreeSet<&str>,
    rulesets: &BTreeSet<&str>,
) -> RunInfo {
    let single = (sources.len() == 1).then(|| states.iter().find_map(|s| s.run.as_ref())).flatten();
    if let Some(run) = single {
        // One run re-rendered: it is still that run.
        return RunInfo { sources: sources.to_vec(), ..run.clone() };
    }
    let one_or_mixed = |set: &BTreeSet<&str>| match set.len() {
        1 => set.iter().next().map_or_else(String::new, |s| (*s).to_owned()),
        0 => String::new(),
        _ => "mixed".to_owned(),
    };
    let hosts: BTreeSet<&str> = sources.iter().map(|s| s.host.as_str()).collect();
    RunInfo {
        tool: "pansweep".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ruleset: one_or_mixed(rulesets),
        started: sources.iter().map(|s| s.started.clone()).min().unwrap_or_default(),
        host: hosts.into_iter().collect::<Vec<_>>().join(", "),
        argv: opts.argv.clone(),
        fingerprint_key_id: one_or_mixed(keys),
        sources: sources.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Class, Element};
    use crate::report::jsonl::Jsonl;

    fn run(host: &str, key: &str) -> RunInfo {
        RunInfo {
            tool: "pansweep".into(),
            version: "0.0.0".into(),
            ruleset: "sha256:r".into(),
            started: "2026-12-01T00:00:00Z".into(),
            host: host.into(),
            argv: vec!["pansweep".into(), "scan".into()],
            fingerprint_key_id: key.into(),
            sources: Vec::new(),
        }
    }

    fn finding(path: &str, line: u64, fp: u8, confidence: Confidence) -> FindingRecord {
        let mut r = crate::report::test_record(path, Class::Pan, confidence, &[Element::Pan], fp);
        r.line = line;
        r.byte_offset = line * 10;
        r
    }

    /// A JSONL report as a live run writes it.
    fn report(run: &RunInfo, findings: &[FindingRecord], skips: &[Skip], complete: bool) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = Jsonl::new(&mut out);
            w.begin(run).unwrap();
            let mut c = Counts::default();
            for f in findings {
                c.add(f.finding.class, f.finding.confidence);
                w.finding(f).unwrap();
            }
            for s in skips {
                w.skipped(s).unwrap();
            }
            w.finish(&Summary {
                complete,
                files: 10,
                bytes: 1000,
                skipped: skips.len() as u64,
                findings: c,
                distinct_pans: Some(1),
                elapsed_s: 2.0,
                ..Summary::default()
            })
            .unwrap();
        }
        out
    }

    fn inputs(files: &[(&str, Vec<u8>)]) -> Vec<Input<'static>> {
        files
            .iter()
            .map(|(name, bytes)| {
                let bytes = bytes.clone();
                Input {
                    name: (*name).to_owned(),
                    open: Box::new(move || Ok(Box::new(io::Cursor::new(bytes.clone())) as Box<dyn BufRead>)),
                }
            })
            .collect()
    }

    fn merge_to_lines(files: &[(&str, Vec<u8>)], min: Confidence) -> (Merged, Vec<serde_json::Value>) {
        let mut out = Vec::new();
        let merged = {
            let mut w = Jsonl::new(&mut out);
            merge(&inputs(files), &mut w, &MergeOptions { min_confidence: min, argv: vec!["pansweep".into()] }).unwrap()
        };
        let lines = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap());
        (merged, lines.collect())
    }

    fn of_type<'a>(lines: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
        lines.iter().filter(|v| v["type"] == ty).collect()
    }

    #[test]
    fn one_run_re_renders_as_itself() {
        let r = run("web1", "sha256:k");
        let a = report(&r, &[finding("a.log", 1, 1, Confidence::High)], &[], true);
        let (m, lines) = merge_to_lines(&[("a.jsonl", a)], Confidence::Low);
        assert!(m.summary.complete && !m.incomplete);
        assert_eq!(m.worst, Some(Confidence::High));
        let run = of_type(&lines, "run")[0];
        assert_eq!(run["host"], "web1");
        assert_eq!(run["sources"][0]["file"], "a.jsonl");
        assert_eq!(run["sources"][0]["ended"], "2026-12-01T00:00:02Z");
        assert_eq!(of_type(&lines, "finding").len(), 1);
        assert_eq!(of_type(&lines, "summary")[0]["distinct_pans"], 1);
    }

    #[test]
    fn the_same_location_twice_is_one_finding_but_other_hosts_are_not() {
        let k = "sha256:k";
        let f = finding("/var/log/app.log", 3, 1, Confidence::High);
        let a = report(&run("web1", k), &[f.clone(), finding("/x", 1, 2, Confidence::Medium)], &[], true);
        let b = report(&run("web1", k), std::slice::from_ref(&f), &[], true);
        let c = report(&run("web2", k), &[f], &[], true);
        let (m, lines) = merge_to_lines(&[("a", a), ("b", b), ("c", c)], Confidence::Low);
        assert_eq!(of_type(&lines, "finding").len(), 3);
        assert_eq!(m.summary.findings.cardholder(), 3);
        // Same key: the same card on two hosts is one distinct card.
        assert_eq!(m.summary.distinct_pans, Some(2));
        assert_eq!(m.summary.files, 30);
        let run = of_type(&lines, "run")[0];
        assert_eq!(run["host"], "web1, web2");
        assert_eq!(run["fingerprint_key_id"], k);
        assert_eq!(run["sources"].as_array().unwrap().len(), 3);
        assert_eq!(run["sources"][1]["findings"]["high"], 0, "b only repeated a");
        assert!(m.notes.is_empty(), "{:?}", m.notes);
        // Two hosts: every file path says which.
        let paths: Vec<&str> = of_type(&lines, "finding").iter().map(|f| f["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["web1:/var/log/app.log", "web1:/x", "web2:/var/log/app.log"]);
    }

    #[test]
    fn different_keys_leave_distinct_cards_unknown_and_say_so() {
        let a = report(&run("web1", "random:aa"), &[finding("/a", 1, 1, Confidence::High)], &[], true);
        let b = report(&run("web2", "random:bb"), &[finding("/a", 1, 1, Confidence::High)], &[], true);
        // The same host scanned twice with per-run keys: one finding, whatever its fingerprint.
        let again = report(&run("web1", "random:cc"), &[finding("/a", 1, 9, Confidence::High)], &[], true);
        let (m, lines) = merge_to_lines(&[("a", a), ("b", b), ("again", again)], Confidence::Low);
        assert_eq!(of_type(&lines, "finding").len(), 2);
        assert_eq!(m.summary.distinct_pans, None);
        assert!(of_type(&lines, "summary")[0]["distinct_pans"].is_null());
        assert_eq!(of_type(&lines, "run")[0]["fingerprint_key_id"], "mixed");
        assert!(m.notes.iter().any(|n| n.contains("different fingerprint keys")), "{:?}", m.notes);
    }

    #[test]
    fn local_databases_are_told_apart_by_host() {
        for url in [
            "sqlite:///srv/shop.sqlite",
            "postgres://app@localhost/shop",
            "mysql://root@127.0.0.1:3306/test",
            "postgres://app@[::1]/shop",
            "postgres:///shop?host=/var/run/postgresql",
        ] {
            assert!(is_local_db(url), "{url}");
        }
        for url in ["postgres://app@db1.example/shop", "mysql://u:p@10.0.0.5/shop", "/srv/x.txt"] {
            assert!(!is_local_db(url), "{url}");
        }
    }

    #[test]
    fn runs_appended_to_one_file_are_not_taken_for_one() {
        let (r1, r2) = (run("web1", "sha256:k"), run("web2", "sha256:other"));
        let mut both = report(&r1, &[finding("/a", 1, 1, Confidence::High)], &[], true);
        both.extend(report(&r2, &[finding("/b", 2, 2, Confidence::Critical)], &[], true));
        let (m, lines) = merge_to_lines(&[("both", both)], Confidence::Low);
        assert_eq!(of_type(&lines, "finding").len(), 1, "only the first run is read");
        assert_eq!(m.worst, Some(Confidence::High));
        assert!(m.incomplete && !m.summary.complete);
        let skipped = of_type(&lines, "skipped");
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0]["reason"].as_str().unwrap().contains("more than one run"), "{}", skipped[0]);
        assert_eq!(of_type(&lines, "run")[0]["host"], "web1");
    }

    #[test]
    fn a_cut_short_report_is_read_and_shown_incomplete() {
        let r = run("web1", "sha256:k");
        let mut a =
            report(&r, &[finding("/a", 1, 1, Confidence::High), finding("/b", 2, 2, Confidence::High)], &[], true);
        // Cut inside the second finding: no summary, a partial last line.
        let second = a.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0;
        a.truncate(second + 20);
        let (m, lines) = merge_to_lines(&[("a", a)], Confidence::Low);
        assert!(!m.summary.complete && m.incomplete);
        assert_eq!(of_type(&lines, "finding").len(), 1);
        assert_eq!(of_type(&lines, "run")[0]["sources"][0]["complete"], false);
        assert!(m.notes.iter().any(|n| n.contains("did not finish")));
    }

    #[test]
    fn bad_inputs_become_skipped_items() {
        let good = report(&run("web1", "sha256:k"), &[], &[], true);
        let mut garbled = good.clone();
        garbled.splice(0..0, b"not json\n".iter().copied());
        let files = [("good", good), ("empty", Vec::new()), ("garbled", garbled), ("text", b"hello\n".to_vec())];
        let (m, lines) = merge_to_lines(&files, Confidence::Low);
        let skips = of_type(&lines, "skipped");
        assert_eq!(skips.len(), 3, "{skips:?}");
        assert!(skips.iter().any(|s| s["path"] == "empty" && s["reason"].as_str().unwrap().contains("no run record")));
        assert!(skips.iter().any(|s| s["path"] == "garbled" && s["reason"].as_str().unwrap().contains("line 1")));
        assert!(m.incomplete && !m.summary.complete);
        assert_eq!(m.summary.skipped, 3);
    }

    #[test]
    fn min_confidence_filters_and_skips_are_kept() {
        let s = Skip { path: "/root/x".into(), reason: "cannot open: permission denied".into(), kind: SkipKind::Error };
        let a = report(
            &run("web1", "sha256:k"),
            &[finding("/a", 1, 1, Confidence::Low), finding("/b", 1, 2, Confidence::Critical)],
            std::slice::from_ref(&s),
            true,
        );
        let (m, lines) = merge_to_lines(&[("a", a.clone()), ("a-again", a)], Confidence::High);
        assert_eq!(of_type(&lines, "finding").len(), 1);
        assert_eq!(of_type(&lines, "skipped").len(), 1, "the same skip from the same host once");
        assert_eq!(m.worst, Some(Confidence::Critical));
        assert!(m.incomplete, "an error skip means coverage is incomplete");
        assert!(m.summary.complete, "both runs finished");
    }

    #[test]
    fn an_input_that_fails_part_way_keeps_what_was_read() {
        struct Failing(io::Cursor<Vec<u8>>);
        impl io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.read(buf)? {
                    0 => Err(io::Error::other("device error")),
                    n => Ok(n),
                }
            }
        }
        let mut a = report(&run("web1", "sha256:k"), &[finding("/a", 1, 1, Confidence::High)], &[], true);
        // The run record and the finding are whole; the summary line is lost.
        let keep = a.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0 + 1;
        a.truncate(keep);
        let input = Input {
            name: "a".into(),
            open: Box::new(move || {
                Ok(Box::new(io::BufReader::new(Failing(io::Cursor::new(a.clone())))) as Box<dyn BufRead>)
            }),
        };
        let mut out = Vec::new();
        let m =
            merge(&[input], &mut Jsonl::new(&mut out), &MergeOptions { min_confidence: Confidence::Low, argv: vec![] })
                .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("\"type\":\"finding\"").count(), 1, "{text}");
        assert!(text.contains("cannot read report: device error"), "{text}");
        assert!(m.incomplete && !m.summary.complete);
    }

    #[test]
    fn nothing_to_merge_is_incomplete() {
        let (m, _) = merge_to_lines(&[], Confidence::Low);
        assert!(m.incomplete && !m.summary.complete);
    }

    #[test]
    fn long_and_unterminated_lines() {
        let mut r = io::Cursor::new(b"ab\ncd".to_vec());
        let mut buf = Vec::new();
        assert_eq!(next_line(&mut r, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"ab");
        assert_eq!(next_line(&mut r, &mut buf).unwrap(), Some(false));
        assert_eq!(buf, b"cd");
        assert_eq!(next_line(&mut r, &mut buf).unwrap(), None);
    }
}
