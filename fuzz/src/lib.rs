//! What the fuzz targets share: the whole scan pipeline run over one input with every
//! report writer attached, the no-leak oracle, and invariant checks for the decoders'
//! offset maps.
//!
//! The oracle is written here, independently of `report::redact_digits` and the scanner:
//! a *candidate* is any run of whole digit groups (ASCII or full-width digits, groups
//! joined by one separator of any kind the engine folds: space, `-`, `.`, NBSP, U+3000,
//! full-width and typographic hyphens, a prolonged sound mark after a digit) with 12–19
//! digits that passes Luhn, or starts with `62` and has 16–19 digits. No byte a run
//! writes may hold a candidate of its input, whether written as it was or as bare digits.
//! Failures name a candidate by its first 6 and last 4 digits only.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use pansweep::detectors::DetectorSet;
use pansweep::pipeline::{Counters, ScanJob, run_scan};
use pansweep::report::{
    Evidence, FindingRecord, Lang, ReportWriter, RunInfo, Summary, TableSummary, csv::Csv, html::Html, json::Json,
    jsonl::Jsonl, sarif::Sarif, text::Text,
};
use pansweep::scan::{ScanInput, Scanner, ScannerBuilder};
use pansweep::source::Skip;

/// The engine every target uses: built-in detectors, snippets on (`--context`), a fixed
/// year and key so that runs are repeatable.
pub fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(|| {
        let set = DetectorSet::builtin().expect("built-in detectors load");
        ScannerBuilder::new(Arc::new(set)).snippets(true).current_year(2026).fingerprint_key(b"fuzz").build()
    })
}

/// Scans `buf` whole and drops the findings (a no-panic check of the engine on a view).
pub fn scan_bytes(buf: &[u8]) -> usize {
    let mut found = Vec::new();
    scanner().scan(&ScanInput::whole(buf), &mut found);
    found.len()
}

// ---------------------------------------------------------------------------------------
// The pipeline with every writer.

/// An output buffer several writers can hold.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hands every record to several writers.
struct Tee(Vec<Box<dyn ReportWriter>>);

impl ReportWriter for Tee {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.begin(run))
    }
    fn finding(&mut self, rec: &FindingRecord) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.finding(rec))
    }
    fn skipped(&mut self, skip: &Skip) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.skipped(skip))
    }
    fn table(&mut self, table: &TableSummary) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.table(table))
    }
    fn resolved(&mut self, rec: &FindingRecord) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.resolved(rec))
    }
    fn evidence(&mut self, ev: &Evidence) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.evidence(ev))
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.finish(summary))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.flush())
    }
}

/// A directory of this process's own on a tmpfs where possible (inputs are written,
/// scanned and overwritten thousands of times a second).
fn work_dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let base =
            if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let d = base.join(format!("pansweep-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("fuzz work directory");
        d
    })
}

/// What one run wrote, per format: `(name, bytes)`.
pub type Outputs = Vec<(&'static str, Vec<u8>)>;

/// Writes `data` to a file called `name` and runs the whole `scan` pipeline on it with two
/// threads (files over 4 KiB are split into 2 KiB pieces, so piece edges are exercised),
/// every report format in English and Japanese attached. Returns what each format wrote.
pub fn scan_pipeline(name: &str, data: &[u8]) -> Outputs {
    let path = work_dir().join(name);
    std::fs::write(&path, data).expect("write fuzz input");
    let formats: [(&'static str, fn(Shared) -> Box<dyn ReportWriter>); 8] = [
        ("text", |o| Box::new(Text::new(o, false, Lang::En))),
        ("text-ja", |o| Box::new(Text::new(o, false, Lang::Ja))),
        ("jsonl", |o| Box::new(Jsonl::new(o))),
        ("json", |o| Box::new(Json::new(o))),
        ("csv", |o| Box::new(Csv::new(o))),
        ("sarif", |o| Box::new(Sarif::new(o))),
        ("html", |o| Box::new(Html::new(o, Lang::En))),
        ("html-ja", |o| Box::new(Html::new(o, Lang::Ja))),
    ];
    let bufs: Vec<Shared> = formats.iter().map(|_| Shared::default()).collect();
    let mut tee = Tee(formats.iter().zip(&bufs).map(|((_, make), b)| make(b.clone())).collect());
    let mut job = ScanJob::new(vec![path.clone()]);
    // The limits the container targets walk with: what they collect is what is scanned.
    job.items.container = small_limits();
    job.items.mail = mail_limits();
    job.threads = if data.len() > 4096 { 2 } else { 1 };
    job.walk.threads = 1;
    job.split_threshold = 4096;
    job.piece_size = 2048;
    let run = RunInfo {
        tool: "pansweep".into(),
        version: "fuzz".into(),
        started: "2026-01-01T00:00:00Z".into(),
        host: "fuzz".into(),
        ..RunInfo::default()
    };
    let cancel = AtomicBool::new(false);
    run_scan(&job, scanner(), &mut tee, &run, &cancel, &Counters::default(), &mut |_| {}, None)
        .expect("a scan of one readable file completes");
    drop(tee);
    let _ = std::fs::remove_file(&path);
    formats.iter().zip(bufs).map(|((n, _), b)| (*n, std::mem::take(&mut *b.0.lock().expect("buffer")))).collect()
}

// ---------------------------------------------------------------------------------------
// The no-leak oracle.

/// Candidate card numbers, as ASCII digit strings.
#[derive(Debug, Default)]
pub struct Candidates(HashSet<Vec<u8>>);

impl Candidates {
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the candidates of `bytes` read as UTF-8 (invalid sequences break chains), and
    /// of `bytes` decoded as UTF-16 (both byte orders and both alignments) and as the
    /// Japanese legacy encodings, where their digits may hide.
    pub fn add_any_encoding(&mut self, bytes: &[u8]) {
        self.add_text(&String::from_utf8_lossy(bytes));
        for enc in [encoding_rs::UTF_16LE, encoding_rs::UTF_16BE] {
            for skip in 0..2 {
                if bytes.len() > skip {
                    self.add_text(&enc.decode_without_bom_handling(&bytes[skip..]).0);
                }
            }
        }
        for enc in [encoding_rs::SHIFT_JIS, encoding_rs::EUC_JP, encoding_rs::ISO_2022_JP] {
            if bytes.iter().any(|&b| b >= 0x80 || b == 0x1B) {
                self.add_text(&enc.decode_without_bom_handling(bytes).0);
            }
        }
        self.add_product_views(bytes);
    }

    /// Adds the candidates of every view the product itself makes of `bytes`: each text
    /// encoding's decoded view and every embedded-encoding region (base64, URL, entities,
    /// …, two levels deep). More candidates never weaken the no-leak check; these cover
    /// what only the product's decoders see (snippets are cut from these views).
    fn add_product_views(&mut self, bytes: &[u8]) {
        use pansweep::scan::decode::{TextEncoding, View};
        use pansweep::scan::embedded::{Embedded, EmbeddedLimits};
        let mut view = View::new();
        for enc in TextEncoding::ALL {
            view.decode(enc, bytes, 0);
            self.add_text(&String::from_utf8_lossy(&view.buf));
        }
        if view.utf16_strings(bytes) {
            self.add_text(&String::from_utf8_lossy(&view.buf));
        }
        let mut regions = Vec::new();
        Embedded::new(EmbeddedLimits::default())
            .for_each_region(bytes, &mut |r| regions.push(String::from_utf8_lossy(r.buf).into_owned()));
        for r in regions {
            self.add_text(&r);
        }
    }

    /// Adds the candidates of a text.
    pub fn add_text(&mut self, text: &str) {
        for chain in chains(text) {
            for run in group_runs(&chain) {
                if is_candidate(&run) {
                    self.0.insert(run);
                }
            }
        }
    }
}

fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{FF10}'..='\u{FF19}' => Some((u32::from(c) - 0xFF10) as u8),
        _ => None,
    }
}

fn is_separator(c: char, after_digit: bool) -> bool {
    matches!(c, ' ' | '-' | '.' | '\u{A0}' | '\u{3000}' | '\u{FF0D}' | '\u{2212}' | '\u{2010}'..='\u{2013}')
        || (c == '\u{30FC}' && after_digit)
}

/// Chains of digit groups joined by single separators: each chain as its groups' digits.
/// Chains of fewer than 12 digits are left out (no candidate fits in them).
fn chains(text: &str) -> Vec<Vec<Vec<u8>>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Only ASCII digits and full-width ones (EF BC 90..99) start a chain.
        if !(b[i].is_ascii_digit() || b[i] == 0xEF) {
            i += 1;
            continue;
        }
        let mut chars = text[i..].char_indices().peekable();
        let mut groups: Vec<Vec<u8>> = vec![Vec::new()];
        let mut used = 0;
        while let Some((at, c)) = chars.next() {
            if let Some(d) = digit_value(c) {
                groups.last_mut().expect("a group").push(b'0' + d);
                used = at + c.len_utf8();
            } else if is_separator(c, true)
                && !groups.last().expect("a group").is_empty()
                && chars.peek().is_some_and(|&(_, n)| digit_value(n).is_some())
            {
                groups.push(Vec::new());
            } else {
                break;
            }
        }
        if groups[0].is_empty() {
            i += 1;
            continue;
        }
        if groups.iter().map(Vec::len).sum::<usize>() >= 12 {
            out.push(groups);
        }
        i += used.max(1);
    }
    out
}

/// Every run of whole consecutive groups with 12–19 digits, as bare digits.
fn group_runs(groups: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for a in 0..groups.len() {
        let mut run = Vec::new();
        for g in &groups[a..] {
            run.extend_from_slice(g);
            if run.len() > 19 {
                break;
            }
            if run.len() >= 12 {
                out.push(run.clone());
            }
        }
    }
    out
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let v = u32::from(c - b'0');
            if i % 2 == 1 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v }
        })
        .sum();
    sum % 10 == 0
}

fn is_candidate(d: &[u8]) -> bool {
    (12..=19).contains(&d.len()) && (luhn(d) || (d.starts_with(b"62") && d.len() >= 16))
}

/// A candidate as it may be named in a failure: first 6 and last 4 digits.
fn masked(d: &[u8]) -> String {
    format!("{}…{} ({} digits)", String::from_utf8_lossy(&d[..6]), String::from_utf8_lossy(&d[d.len() - 4..]), d.len())
}

/// Lowercase hex runs of exactly 16 or 64 characters with a letter in them (finding ids,
/// fingerprints, hashes): blanked, so that decimal stretches of a hash are not taken for
/// an echo of the input.
fn blank_hashes(out: &[u8]) -> Vec<u8> {
    let mut v = out.to_vec();
    let mut i = 0;
    while i < v.len() {
        if !(v[i].is_ascii_digit() || (b'a'..=b'f').contains(&v[i])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < v.len() && (v[i].is_ascii_digit() || (b'a'..=b'f').contains(&v[i])) {
            i += 1;
        }
        let bounded = |j: Option<&u8>| j.is_none_or(|b| !b.is_ascii_alphanumeric());
        let len = i - start;
        if (len == 16 || len == 64)
            && v[start..i].iter().any(u8::is_ascii_alphabetic)
            && bounded(start.checked_sub(1).and_then(|s| out.get(s)))
            && bounded(out.get(i))
        {
            v[start..i].fill(b'x');
        }
    }
    v
}

/// Panics (naming only the masked candidate and the format) when any output holds a
/// candidate: as a digit string anywhere, or as a run of digit groups with separators.
pub fn assert_no_leak(cands: &Candidates, outputs: &Outputs) {
    if cands.is_empty() {
        return;
    }
    for (format, bytes) in outputs {
        let bytes = blank_hashes(bytes);
        for c in &cands.0 {
            if memchr::memmem::find(&bytes, c).is_some() {
                panic!("leak: {format} output holds candidate {}", masked(c));
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        for chain in chains(&text) {
            for run in group_runs(&chain) {
                if cands.0.contains(&run) {
                    panic!("leak: {format} output holds candidate {} as digit groups", masked(&run));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Offset maps.

/// Checks a decoded view's offset map: one entry per byte plus the end, non-decreasing,
/// never past the source.
pub fn check_map(what: &str, map: &[u32], buf_len: usize, src_len: usize) {
    assert_eq!(map.len(), buf_len + 1, "{what}: map has one entry per byte plus the end");
    assert!(map.windows(2).all(|w| w[0] <= w[1]), "{what}: map goes backwards");
    assert!(map.iter().all(|&o| o as usize <= src_len), "{what}: map points past the source");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_and_leaks() {
        let mut c = Candidates::default();
        c.add_text("card 4111 1111 1111 1111 and ４１１１－１１１１－１１１１－１１１１ and 12345");
        assert_eq!(c.len(), 1);
        let outputs: Outputs = vec![("t", b"411111******1111 ok".to_vec())];
        assert_no_leak(&c, &outputs);
        for leak in [&b"x4111111111111111y"[..], b"4111-1111-1111-1111", b"4111 1111 1111 1111"] {
            let r = std::panic::catch_unwind(|| assert_no_leak(&c, &vec![("t", leak.to_vec())]));
            assert!(r.is_err());
        }
        let mut u = Candidates::default();
        let utf16: Vec<u8> = "x 4111111111111111".encode_utf16().flat_map(u16::to_le_bytes).collect();
        u.add_any_encoding(&utf16);
        assert_eq!(u.len(), 1);
    }

    #[test]
    fn hashes_are_blanked_but_numbers_are_not() {
        assert_eq!(blank_hashes(b"\"id\":\"0123456789abcdef\""), b"\"id\":\"xxxxxxxxxxxxxxxx\"");
        assert_eq!(blank_hashes(b"4111111111111111"), b"4111111111111111");
    }
}

// ---------------------------------------------------------------------------------------
// Embedded encodings (base64, quoted-printable, entities, URL, JSON, XML).

/// Runs the embedded decoders over `buf` and checks every region: maps well formed and
/// inside `buf`, `is_new` and `original_range` total, the engine runs on the view, the
/// decoded-bytes budget holds; and the cheap pre-test is sound (in a buffer it rules out,
/// no region holds a finding that the plain scan could not make). Returns the regions'
/// decoded views.
pub fn check_embedded(buf: &[u8]) -> Vec<Vec<u8>> {
    use pansweep::scan::embedded::{Embedded, EmbeddedLimits};
    let mut emb = Embedded::new(EmbeddedLimits::default());
    let may = emb.may_contain(buf);
    let mut views = Vec::new();
    let outcome = emb.for_each_region(buf, &mut |r| {
        check_map(&r.chain(), r.map, r.buf.len(), buf.len());
        assert!(!r.decoders.is_empty(), "a region names its decoders");
        for a in [0, r.buf.len() / 2, r.buf.len()] {
            for b in [a, r.buf.len()] {
                let o = r.original_range(&(a..b));
                assert!(o.start <= o.end && o.end <= buf.len());
                let _ = r.is_new(&(a..b));
            }
        }
        let mut found = Vec::new();
        scanner().scan(&ScanInput::whole(r.buf), &mut found);
        let new = found.iter().filter(|f| r.is_new(&(f.offset..f.offset + f.len))).count();
        // What the pre-test promises: where it says no, decoding finds nothing new.
        assert!(may || new == 0, "the pre-test ruled out a buffer in which {} finds {new} new findings", r.chain());
        views.push(r.buf.to_vec());
    });
    assert_eq!(outcome.regions, views.len());
    views
}

/// A small deterministic generator seeded by the input, for choosing encodings.
pub struct Pick(u64);

impl Pick {
    /// Seeded by `data`.
    pub fn new(data: &[u8]) -> Pick {
        Pick(data.iter().fold(0x9E37_79B9_7F4A_7C15, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)) | 1)
    }

    /// The next value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> Vec<u8> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            out.push(if k <= c.len() { A[(n >> (18 - 6 * k)) as usize & 63] } else { b'=' });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Containers: walked directly, so that the candidates of every member (after
// decompression) are known to the oracle of the pipeline run that follows.

/// Limits for walking a fuzz input: small enough that a bomb costs milliseconds.
pub fn small_limits() -> pansweep::source::container::Limits {
    pansweep::source::container::Limits {
        max_member_bytes: 4 << 20,
        max_total_bytes: 32 << 20,
        max_time: std::time::Duration::from_secs(20),
        max_buffer_bytes: 8 << 20,
        max_decoder_memory: 64 << 20,
        ..Default::default()
    }
}

/// Walks `data` as the container `format` (as a seekable file and as a stream), checking
/// that member paths start with the container's own and that no skip reason is empty,
/// and adds the candidates of every member's name and bytes to `cands`.
pub fn walk_container(format: pansweep::source::container::Format, data: &[u8], cands: &mut Candidates) {
    use pansweep::source::container::{Input, walk};
    let limits = small_limits();
    let cancel = AtomicBool::new(false);
    for seekable in [true, false] {
        let mut cursor = io::Cursor::new(data);
        let input = if seekable { Input::Seekable(&mut cursor) } else { Input::Stream(&mut cursor) };
        let mut leaf = |path: &str, _dec: &[&'static str], r: &mut dyn io::Read, _as_is: bool| -> io::Result<()> {
            assert!(path.starts_with("input!") || path == "input", "member path {path:?} outside its container");
            cands.add_text(path);
            // What was read before an error (a truncated or corrupt member) is scanned by
            // the pipeline too: its candidates count.
            let mut bytes = Vec::new();
            let read = r.take(8 << 20).read_to_end(&mut bytes);
            cands.add_any_encoding(&bytes);
            read.map(|_| ())
        };
        let mut skip = |s: Skip| assert!(!s.reason.is_empty(), "a skip without a reason");
        let stats = walk(format, "input", input, &limits, &cancel, &mut leaf, &mut skip);
        assert!(stats.leaves <= stats.members.max(1), "more leaves than members");
    }
}

/// Mail limits of the fuzz targets.
pub fn mail_limits() -> pansweep::source::mail::MailLimits {
    pansweep::source::mail::MailLimits { max_message_bytes: 8 << 20, ..Default::default() }
}

/// Walks `data` as mail of `format` and adds the candidates of every part (body and
/// declared file name) to `cands`.
pub fn walk_mail(format: pansweep::source::mail::MailFormat, data: &[u8], cands: &mut Candidates) {
    use pansweep::source::mail::walk;
    let limits = mail_limits();
    let cancel = AtomicBool::new(false);
    let mut part = |p: &pansweep::source::mail::Part<'_>| -> io::Result<()> {
        cands.add_any_encoding(p.body);
        cands.add_text(&p.label);
        if let Some(f) = &p.filename {
            cands.add_text(f);
        }
        Ok(())
    };
    let _ = walk(format, &mut io::Cursor::new(data), &limits, &cancel, &mut part, &mut |_| {});
}

/// Takes `data` apart as a PDF and adds the candidates of every part to `cands`.
pub fn walk_pdf(data: &[u8], cands: &mut Candidates) {
    let cancel = AtomicBool::new(false);
    let mut part = |p: pansweep::source::pdf::Part| {
        cands.add_any_encoding(&p.body);
        cands.add_text(&p.label);
    };
    let _ = pansweep::source::pdf::walk(data, &small_limits(), &cancel, &mut part, &mut |_, _, _| {});
}

/// A container target: the input's own candidates and those of its members (from
/// `collect`), then the whole pipeline on it as `name`, checked for leaks.
pub fn container_target(name: &str, data: &[u8], collect: impl FnOnce(&[u8], &mut Candidates)) {
    let mut cands = Candidates::default();
    cands.add_any_encoding(data);
    collect(data, &mut cands);
    let outputs = scan_pipeline(name, data);
    assert_no_leak(&cands, &outputs);
}
