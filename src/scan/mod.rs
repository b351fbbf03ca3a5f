//! The engine: pure functions over byte slices. No I/O, no threads, no printing.
//!
//! Pipeline for every buffer (SPEC §3): [`kernel`] finds chains of digit groups →
//! candidates (12–19 digits, brand-plausible grouping, strict boundaries) → test-PAN list
//! → brand table → check digit → [`track`] structure → [`context`] (keywords, expiry,
//! security code, name) and [`record`] (CSV row) → confidence tier. Masked PANs are
//! recognised by [`masked`]. Findings are pushed into a [`FindingSink`].
//!
//! A [`Scanner`] is built once per run by [`ScannerBuilder`] and is cheap to clone; each
//! worker thread scans with its own clone.

pub mod context;
pub mod decode;
pub mod embedded;
pub mod examples;
pub mod expiry;
pub mod kernel;
pub mod luhn;
pub mod masked;
pub mod record;
pub mod sheet;
pub mod track;

use std::ops::Range;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::detectors::DetectorSet;
use crate::detectors::spec::CheckMode;
use crate::finding::{Class, Confidence, Element, Finding, Fingerprint, MaskedView, Pan, Signal};

use self::kernel::{Chain, Sep};
use self::record::Header;
use self::track::Track;

/// Receives findings as the scanner makes them (the "push" model of ripgrep's `Sink`).
pub trait FindingSink {
    /// One finding.
    fn finding(&mut self, finding: Finding);
}

impl FindingSink for Vec<Finding> {
    fn finding(&mut self, finding: Finding) {
        self.push(finding);
    }
}

/// One buffer to scan.
#[derive(Clone, Debug)]
pub struct ScanInput<'a> {
    /// The bytes, including overlap with neighbouring chunks on both sides.
    pub buf: &'a [u8],
    /// Only matches starting in this range are reported (the rest is context).
    pub report: Range<usize>,
    /// Whether `buf[0]` is the true start of the data (not a chunk's overlap).
    pub at_start: bool,
    /// The header of a delimited file, for row context.
    pub header: Option<&'a Header>,
}

impl<'a> ScanInput<'a> {
    /// A whole buffer: report everything.
    pub fn whole(buf: &'a [u8]) -> ScanInput<'a> {
        ScanInput { buf, report: 0..buf.len(), at_start: true, header: None }
    }
}

/// Default context window, in bytes on each side of a candidate.
pub const DEFAULT_WINDOW: usize = 300;
/// Bytes of surrounding text shown by `--context` on each side.
pub const SNIPPET_RADIUS: usize = 40;
/// Longest span a single match can cover (track 1 data is the longest).
pub const MAX_MATCH_SPAN: usize = 160;

/// Builds a [`Scanner`]: the frozen configuration of one run.
#[derive(Clone, Debug)]
#[must_use]
pub struct ScannerBuilder {
    detectors: Arc<DetectorSet>,
    window: usize,
    key: Vec<u8>,
    snippets: bool,
    current_year: u16,
    kernel: kernel::Kernel,
}

impl ScannerBuilder {
    /// Starts from a detector set, a ±300-byte window, no snippets and an all-zero
    /// fingerprint key (set a real one with [`ScannerBuilder::fingerprint_key`]).
    pub fn new(detectors: Arc<DetectorSet>) -> ScannerBuilder {
        ScannerBuilder {
            detectors,
            window: DEFAULT_WINDOW,
            key: vec![0; 32],
            snippets: false,
            current_year: crate::time::current_year(),
            kernel: kernel::Kernel::detect(),
        }
    }

    /// The candidate kernel (default: the fastest this CPU runs). Benchmarks and tests
    /// compare kernels with it; findings never depend on it.
    pub fn kernel(mut self, kernel: kernel::Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// Context window in bytes on each side.
    pub fn window(mut self, bytes: usize) -> Self {
        self.window = bytes;
        self
    }

    /// HMAC key for fingerprints.
    pub fn fingerprint_key(mut self, key: &[u8]) -> Self {
        self.key = key.to_vec();
        self
    }

    /// Whether findings carry a masked snippet of surrounding text.
    pub fn snippets(mut self, yes: bool) -> Self {
        self.snippets = yes;
        self
    }

    /// The year expiry dates are judged against (default: this year).
    pub fn current_year(mut self, year: u16) -> Self {
        self.current_year = year;
        self
    }

    /// Freezes the configuration.
    pub fn build(self) -> Scanner {
        let mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        Scanner {
            inner: Arc::new(Inner {
                detectors: self.detectors,
                window: self.window,
                mac,
                snippets: self.snippets,
                current_year: self.current_year,
                kernel: self.kernel,
            }),
        }
    }
}

#[derive(Debug)]
struct Inner {
    detectors: Arc<DetectorSet>,
    window: usize,
    mac: Hmac<Sha256>,
    snippets: bool,
    current_year: u16,
    kernel: kernel::Kernel,
}

/// The configured engine. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Scanner {
    inner: Arc<Inner>,
}

/// A candidate PAN: where it is and how it was written.
struct Candidate<'c> {
    span: Range<usize>,
    digits: &'c [u8],
    grouping: Option<String>,
    track: Option<Track>,
}

/// Groupings accepted for separated PANs besides "4s with a shorter last group".
const GROUPINGS: [&[usize]; 4] = [&[4, 6, 5], &[4, 6, 4], &[4, 4, 5], &[4, 3, 3, 3]];

fn grouping_ok(lens: &[usize]) -> bool {
    let total: usize = lens.iter().sum();
    if !(12..=19).contains(&total) || lens.len() < 3 {
        return false;
    }
    let (last, rest) = lens.split_last().expect("3+ groups");
    (rest.iter().all(|&l| l == 4) && (1..=4).contains(last)) || GROUPINGS.contains(&lens)
}

fn layout(lens: &[usize]) -> String {
    lens.iter().map(ToString::to_string).collect::<Vec<_>>().join("-")
}

impl Scanner {
    /// The detector set in use.
    pub fn detectors(&self) -> &DetectorSet {
        &self.inner.detectors
    }

    /// Bytes of overlap a chunked reader must keep on each side of a chunk so that every
    /// match and its whole context window are seen.
    pub fn overlap(&self) -> usize {
        self.inner.window + MAX_MATCH_SPAN + SNIPPET_RADIUS
    }

    /// Keyed fingerprint of a PAN.
    fn fingerprint(&self, pan: &Pan) -> Fingerprint {
        let mut mac = self.inner.mac.clone();
        mac.update(pan.digits());
        Fingerprint(mac.finalize().into_bytes().into())
    }

    /// Scans one buffer, pushing findings that start in `input.report` into `sink`.
    pub fn scan(&self, input: &ScanInput<'_>, sink: &mut impl FindingSink) {
        let buf = input.buf;
        let lo = input.report.start.saturating_sub(MAX_MATCH_SPAN);
        let hi = (input.report.end + MAX_MATCH_SPAN).min(buf.len());
        kernel::for_each_candidate_chain_with(self.inner.kernel, buf, lo..hi, |chain| self.chain(input, chain, sink));
    }

    fn chain(&self, input: &ScanInput<'_>, chain: &Chain, sink: &mut impl FindingSink) {
        let buf = input.buf;
        let mut lens_buf = [0usize; kernel::MAX_GROUPS];
        let mut longest = 0;
        for (l, g) in lens_buf.iter_mut().zip(chain.groups()) {
            *l = g.len();
            longest = longest.max(*l);
        }
        let lens = &lens_buf[..chain.ngroups];
        let total: usize = lens.iter().sum();
        // Most chains are short numbers (dates, times, counters): nothing to do unless
        // the chain could be a PAN, a tag-57 run, or part of a masked PAN.
        let mask_after = |i: usize| {
            masked::mask_width(buf, i) > 0
                || (matches!(buf.get(i), Some(b' ' | b'-')) && masked::mask_width(buf, i + 1) > 0)
        };
        let mask_before = |i: usize| {
            (i >= 1 && masked::mask_width(buf, i - 1) == 1)
                || (i >= 3 && masked::mask_width(buf, i - 3) == 3)
                || (i >= 2 && matches!(buf[i - 1], b' ' | b'-') && masked::mask_width(buf, i - 2) == 1)
                || (i >= 4 && matches!(buf[i - 1], b' ' | b'-') && masked::mask_width(buf, i - 4) == 3)
        };
        let maybe_masked = mask_after(chain.span.end) || (lens[0] == 4 && mask_before(chain.span.start));
        if total < 12 && !maybe_masked {
            return;
        }
        let mut digits = [0u8; 19];
        let mut grouped_found = false;
        if chain.ngroups >= 3 && chain.ngroups < kernel::MAX_GROUPS && grouping_ok(lens) {
            let mut n = 0;
            for g in chain.groups() {
                digits[n..n + g.len()].copy_from_slice(&buf[g.clone()]);
                n += g.len();
            }
            let cand =
                Candidate { span: chain.span.clone(), digits: &digits[..n], grouping: Some(layout(lens)), track: None };
            grouped_found = self.candidate(input, cand, Some(chain.sep), sink);
        }
        if !grouped_found && longest >= 12 {
            for g in chain.groups() {
                let len = g.len();
                if (12..=19).contains(&len) {
                    let cand = Candidate { span: g.clone(), digits: &buf[g.clone()], grouping: None, track: None };
                    self.candidate(input, cand, None, sink);
                } else if len > 19 && len <= 23 && buf[g.start..].starts_with(b"57") {
                    // EMV tag 57 with its tag and length glued in front: `5713<PAN>D…`.
                    let pan = g.start + 4..g.end;
                    if let Some(t) = track::tag57(buf, &pan, g.start) {
                        let cand = Candidate { span: pan.clone(), digits: &buf[pan], grouping: None, track: Some(t) };
                        self.candidate(input, cand, None, sink);
                    }
                }
            }
        }
        if maybe_masked {
            self.masked(input, chain, sink);
        }
    }

    /// Boundary rules of SPEC §3. Returns false when the candidate is part of something
    /// longer: a digit run, a decimal, a letter-digit token, a base64 token.
    fn boundaries_ok(buf: &[u8], span: &Range<usize>, sep: Option<Sep>) -> bool {
        let before = span.start.checked_sub(1).map(|i| buf[i]);
        let after = buf.get(span.end).copied();
        if before.is_some_and(|b| b.is_ascii_alphanumeric()) || after.is_some_and(|b| b.is_ascii_alphanumeric()) {
            return false;
        }
        let digit_at = |i: Option<usize>| i.and_then(|i| buf.get(i)).is_some_and(u8::is_ascii_digit);
        // `.digit` on either side: a decimal number, a version, an IP-like run.
        if before == Some(b'.') && digit_at(span.start.checked_sub(2)) {
            return false;
        }
        if after == Some(b'.') && digit_at(Some(span.end + 1)) {
            return false;
        }
        // A grouped candidate whose chain continues with the same separator (a chain cut
        // by the kernel's group limit) is part of something longer.
        if let Some(sep) = sep {
            let w = sep.width();
            if span.start >= w && Sep::at(buf, span.start - w) == sep && digit_at(span.start.checked_sub(w + 1)) {
                return false;
            }
            if Sep::at(buf, span.end) == sep && digit_at(Some(span.end + w)) {
                return false;
            }
        } else if in_base64_token(buf, span) {
            return false;
        }
        true
    }

    /// Evaluates one candidate; returns whether it was accepted as a PAN (reported or not).
    fn candidate(
        &self,
        input: &ScanInput<'_>,
        mut cand: Candidate<'_>,
        sep: Option<Sep>,
        sink: &mut impl FindingSink,
    ) -> bool {
        let buf = input.buf;
        if cand.track.is_none() {
            cand.track = track::around(buf, &cand.span);
        }
        if cand.track.is_none() && !Self::boundaries_ok(buf, &cand.span, sep) {
            return false;
        }
        // At a chunk's leading edge the bytes before are unknown: the previous chunk owns it.
        let owner_start = cand.track.as_ref().map_or(cand.span.start, |t| t.span.start.min(cand.span.start));
        if !input.report.contains(&owner_start) || (!input.at_start && owner_start == 0) {
            return false;
        }
        let det = &*self.inner.detectors;
        let digits = cand.digits;
        let Some(pan) = Pan::from_digits(digits) else { return false };
        let luhn = luhn::is_valid(digits);
        let test = det.is_test_pan(digits);
        let mut brands = Vec::new();
        let mut brand_needs_context = true;
        let mut single_length_15 = false;
        for b in det.brands_matching(digits) {
            let valid = luhn || b.check != CheckMode::Luhn;
            if !valid {
                continue;
            }
            let needs = b.needs_context_at(digits.len()) || (b.check == CheckMode::LuhnOptional && !luhn);
            brand_needs_context &= needs;
            single_length_15 |= b.lengths == [15];
            brands.push(b.id.clone());
        }
        if !test {
            if brands.is_empty() && !luhn {
                return false;
            }
            if matches!(digits[0], b'0' | b'7') {
                return false;
            }
        }

        let mut window =
            cand.span.start.saturating_sub(self.inner.window)..(cand.span.end + self.inner.window).min(buf.len());
        if input.header.is_some() {
            // Records (a CSV with a header, a database table): evidence counts only in the
            // PAN's own row, never in a neighbour's.
            let row_start = memchr::memrchr(b'\n', &buf[window.start..cand.span.start])
                .map_or(window.start, |p| window.start + p + 1);
            let row_end =
                memchr::memchr(b'\n', &buf[cand.span.end..window.end]).map_or(window.end, |p| cand.span.end + p);
            window = row_start..row_end;
        }
        let ctx = context::gather(det, buf, window, &cand.span, self.inner.current_year);
        let row = input.header.map(|h| h.row_context(buf, &cand.span, self.inner.current_year)).unwrap_or_default();

        let mut signals = Vec::new();
        signals.push(if luhn { Signal::Luhn } else { Signal::LuhnFailed });
        signals.extend(brands.iter().cloned().map(Signal::Brand));
        let mut needs_context = None;
        if brands.is_empty() {
            signals.push(Signal::UnknownBrand);
            needs_context = Some("unknown-brand");
        } else if brand_needs_context {
            needs_context = Some(if digits.len() == 13 { "13-digit" } else { "brand" });
        }
        if digits.len() == 15 && !single_length_15 {
            needs_context = Some("imei-like");
        }
        let jan = digits.len() == 13
            && (digits.starts_with(b"45") || digits.starts_with(b"49"))
            && luhn::is_gs1_valid(digits);
        if test {
            signals.push(Signal::TestPan);
        }
        if let Some(g) = cand.grouping.take() {
            signals.push(Signal::Grouped(g));
        }
        signals.extend(ctx.keywords.iter().map(|(_, term)| Signal::Keyword(term.clone())));
        if let Some(col) = &row.pan_column {
            signals.push(Signal::Column(col.clone()));
        }
        let mut elements = vec![Element::Pan];
        let expiry = ctx.expiry || row.expiry || cand.track.as_ref().is_some_and(|t| t.expiry);
        let cvv = ctx.cvv || row.cvv;
        let name = ctx.name || row.name || cand.track.as_ref().is_some_and(|t| t.name);
        if ctx.expiry {
            signals.push(Signal::Expiry);
        }
        if row.expiry {
            signals.push(Signal::Row(Element::Expiry));
        }
        if ctx.cvv {
            signals.push(Signal::Cvv);
        }
        if row.cvv {
            signals.push(Signal::Row(Element::Cvv));
        }
        if ctx.name {
            signals.push(Signal::Name);
        }
        if row.name {
            signals.push(Signal::Row(Element::Name));
        }
        if expiry {
            elements.push(Element::Expiry);
        }
        if cvv {
            elements.push(Element::Cvv);
        }
        if name {
            elements.push(Element::Name);
        }
        if let Some(t) = &cand.track {
            signals.push(Signal::Track(t.element));
            elements.push(t.element);
        }

        let corroborated = ctx.corroborates() || row.corroborates();
        let sad = cvv || cand.track.is_some();
        if jan {
            signals.push(Signal::JanCode);
        }
        if let Some(why) = needs_context {
            signals.push(Signal::NeedsContext(why));
        }
        let context_enough = if jan {
            // A barcode needs a card word on its own line: in a dense log the ±300-byte
            // window easily reaches another line's "card_number=".
            let line = line_of(buf, &cand.span);
            let line_ctx = context::gather(det, buf, line, &cand.span, self.inner.current_year);
            line_ctx.has_card_keyword() || row.pan_column.is_some() || cand.track.is_some()
        } else {
            corroborated || sad
        };
        if !test && (needs_context.is_some() || jan) && !context_enough {
            return true;
        }
        let mut tier = if cand.track.is_some() && needs_context.is_none() {
            Confidence::Critical
        } else if needs_context.is_some() || jan {
            Confidence::Low
        } else if sad {
            Confidence::Critical
        } else if corroborated {
            Confidence::High
        } else {
            Confidence::Medium
        };
        if !test && let Some(why) = suspicious(digits) {
            signals.push(Signal::Suspicious(why));
            tier = tier.min(Confidence::Low);
        }
        let class = if test {
            Class::TestPan
        } else {
            match cand.track.as_ref().map(|t| t.element) {
                Some(Element::Track1) => Class::Track1,
                Some(_) => Class::Track2,
                None => Class::Pan,
            }
        };
        let span = cand
            .track
            .as_ref()
            .map_or(cand.span.clone(), |t| t.span.start.min(cand.span.start)..t.span.end.max(cand.span.end));
        let context = self.inner.snippets.then(|| snippet(buf, &span, &cand.span));
        sink.finding(Finding {
            class,
            confidence: tier,
            view: pan.view(),
            fingerprint: Some(self.fingerprint(&pan)),
            brands,
            signals,
            elements,
            offset: span.start,
            len: span.len(),
            context,
        });
        true
    }

    /// [`Scanner::scan`] of `input.report` except the ranges in `skip` (ascending,
    /// disjoint; e.g. the whole base64 lines of [`embedded::base64_lines`], where no
    /// finding can start). Candidates near a skipped range still see its bytes as context.
    pub fn scan_outside(&self, input: &ScanInput<'_>, skip: &[Range<usize>], sink: &mut impl FindingSink) {
        let report = input.report.clone();
        let mut from = report.start;
        for r in skip {
            if from >= report.end {
                return;
            }
            if r.start > from {
                self.scan(&ScanInput { report: from..r.start.min(report.end), ..input.clone() }, sink);
            }
            from = from.max(r.end);
        }
        if from < report.end {
            self.scan(&ScanInput { report: from..report.end, ..input.clone() }, sink);
        }
    }

    /// Scans the numeric cell values of spreadsheet XML (see [`sheet`]) in `input.report`:
    /// a number written in E notation is evaluated like any candidate, and a 16-19-digit
    /// number that kept only 15 significant digits (a PAN typed into Excel) is reported
    /// `low` with the signal `spreadsheet-precision-lost` when it fits a brand. Numbers
    /// written as plain Luhn-valid digits are left to [`Scanner::scan`], which sees them.
    pub fn scan_sheet_numbers(&self, input: &ScanInput<'_>, kind: sheet::SheetXml, sink: &mut impl FindingSink) {
        sheet::numeric_cells(input.buf, kind, input.report.clone(), |span, num| {
            let digits = num.digits();
            if luhn::is_valid(digits) {
                if !num.plain {
                    let cand = Candidate { span, digits, grouping: None, track: None };
                    self.candidate(input, cand, None, sink);
                }
                return;
            }
            // Excel keeps 15 significant digits; fewer than 12 (`4.5E+15`) or a
            // low-entropy body is a round number, not a card.
            if digits.len() < 16 || !(12..=15).contains(&num.significant()) || suspicious(digits).is_some() {
                return;
            }
            let det = &*self.inner.detectors;
            let brands: Vec<Arc<str>> = det.brands_matching(digits).map(|b| b.id.clone()).collect();
            let Some(pan) = Pan::from_digits(digits) else { return };
            if brands.is_empty() || (!input.at_start && span.start == 0) {
                return;
            }
            let mut signals = vec![Signal::LuhnFailed, Signal::PrecisionLost];
            signals.extend(brands.iter().cloned().map(Signal::Brand));
            let context = self.inner.snippets.then(|| snippet(input.buf, &span, &span));
            sink.finding(Finding {
                class: Class::Pan,
                confidence: Confidence::Low,
                view: pan.view(),
                // Not the card's number (its last digit is lost): no fingerprint.
                fingerprint: None,
                brands,
                signals,
                elements: vec![Element::Pan],
                offset: span.start,
                len: span.len(),
                context,
            });
        });
    }

    fn masked(&self, input: &ScanInput<'_>, chain: &Chain, sink: &mut impl FindingSink) {
        let buf = input.buf;
        let next_is_mask = |i: usize| {
            masked::mask_width(buf, i) > 0
                || (matches!(buf.get(i), Some(b' ' | b'-')) && masked::mask_width(buf, i + 1) > 0)
        };
        let start = if next_is_mask(chain.span.end) {
            Some(chain.span.start)
        } else if chain.groups()[0].len() == 4 && chain.span.start > 0 {
            // Only a mask run with no visible digits before it: a visible BIN is handled
            // when its own chain is met (it is followed by a mask character).
            masked::start_before(buf, chain.span.start).filter(|&s| !buf[s].is_ascii_digit())
        } else {
            None
        };
        let Some(start) = start else { return };
        if !input.report.contains(&start) || (!input.at_start && start == 0) {
            return;
        }
        let Some(m) = masked::parse_at(buf, start) else { return };
        let det = &*self.inner.detectors;
        let brands: Vec<Arc<str>> = det
            .brands
            .iter()
            .filter(|b| {
                b.lengths.contains(&(m.len as u8))
                    && b.ranges.iter().any(|r| usize::from(r.prefix_len) <= m.lead.len() && r.contains(&m.lead))
            })
            .map(|b| b.id.clone())
            .collect();
        if !m.lead.is_empty() && brands.is_empty() {
            return;
        }
        let shown = m.lead.len().min(6);
        let view = MaskedView {
            first6: m.lead[..shown].iter().map(|&b| char::from(b)).collect(),
            last4: m.last4.iter().map(|&b| char::from(b)).collect(),
            len: m.len,
        };
        let mut signals = vec![Signal::Masked];
        signals.extend(brands.iter().cloned().map(Signal::Brand));
        let context = self.inner.snippets.then(|| snippet(buf, &m.span, &(m.span.start..m.span.start)));
        sink.finding(Finding {
            class: Class::MaskedPan,
            confidence: Confidence::Low,
            view,
            fingerprint: None,
            brands,
            signals,
            elements: vec![Element::Pan],
            offset: m.span.start,
            len: m.span.len(),
            context,
        });
    }
}

/// The line around `span`, bounded by the context window.
fn line_of(buf: &[u8], span: &Range<usize>) -> Range<usize> {
    let lo = span.start.saturating_sub(DEFAULT_WINDOW);
    let hi = (span.end + DEFAULT_WINDOW).min(buf.len());
    let start = memchr::memrchr(b'\n', &buf[lo..span.start]).map_or(lo, |p| lo + p + 1);
    let end = memchr::memchr(b'\n', &buf[span.end..hi]).map_or(hi, |p| span.end + p);
    start..end
}

/// A run inside a base64-looking token: 24+ characters of `[A-Za-z0-9+/]` mixing upper-
/// and lower-case letters (or holding `+`), like an encoded blob or an API key.
fn in_base64_token(buf: &[u8], span: &Range<usize>) -> bool {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    let left = buf[span.start.saturating_sub(64)..span.start].iter().rev().take_while(|b| is_b64(b)).count();
    let right = buf[span.end..(span.end + 64).min(buf.len())].iter().take_while(|b| is_b64(b)).count();
    if left + span.len() + right < 24 || (left == 0 && right == 0) {
        return false;
    }
    let token = &buf[span.start - left..span.end + right];
    let upper = token.iter().any(u8::is_ascii_uppercase);
    let lower = token.iter().any(u8::is_ascii_lowercase);
    (upper && lower) || token.contains(&b'+')
}

/// Low-entropy numbers (after the test-PAN list, which is full of them): one digit
/// filling most places, a long run of one digit, an arithmetic sequence, or a short
/// repeating pattern. Real PANs rarely look like this; keyboard-filled forms do.
fn suspicious(digits: &[u8]) -> Option<&'static str> {
    let body = &digits[..digits.len() - 1];
    let mut counts = [0usize; 10];
    for &d in body {
        counts[usize::from(d - b'0')] += 1;
    }
    if counts.iter().any(|&c| c * 4 >= body.len() * 3) {
        return Some("repeated-digit");
    }
    let mut run = 1;
    for w in body.windows(2) {
        run = if w[0] == w[1] { run + 1 } else { 1 };
        if run >= 8 {
            return Some("digit-run");
        }
    }
    let step = (10 + body[1] - body[0]) % 10;
    if body.windows(2).all(|w| (10 + w[1] - w[0]) % 10 == step) {
        return Some("arithmetic");
    }
    for period in 2..=4 {
        if body.len() > period * 2 && body.iter().enumerate().skip(period).all(|(i, &d)| d == body[i - period]) {
            return Some("repeating-pattern");
        }
    }
    None
}

/// Surrounding text with every digit masked except the PAN's first 6 and last 4.
fn snippet(buf: &[u8], span: &Range<usize>, pan: &Range<usize>) -> String {
    let mut start = span.start.saturating_sub(SNIPPET_RADIUS);
    let mut end = (span.end + SNIPPET_RADIUS).min(buf.len());
    while start < span.start && buf[start] & 0xC0 == 0x80 {
        start += 1;
    }
    while end > span.end && end < buf.len() && buf[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    let pan_digits: Vec<usize> = (pan.clone()).filter(|&i| buf[i].is_ascii_digit()).collect();
    let visible = |i: usize| {
        let n = pan_digits.len();
        n >= 10 && pan_digits.iter().position(|&p| p == i).is_some_and(|k| k < 6 || k >= n - 4)
    };
    let mut masked = Vec::with_capacity(end - start);
    let mut i = start;
    while i < end {
        let b = buf[i];
        // Full-width digits ０-９ (EF BC 90..99) are digits too: never shown.
        if b == 0xEF && i + 2 < end && buf[i + 1] == 0xBC && (0x90..=0x99).contains(&buf[i + 2]) {
            masked.push(b'*');
            i += 3;
            continue;
        }
        masked.push(if b.is_ascii_digit() && !visible(i) {
            b'*'
        } else if b.is_ascii_control() {
            b' '
        } else {
            b
        });
        i += 1;
    }
    String::from_utf8_lossy(&masked).into_owned()
}

#[cfg(test)]
mod tests;
