//! Card data hidden in embedded encodings inside otherwise normal text: base64 blocks
//! (standard and URL-safe alphabets, MIME/PEM line breaks, with or without padding),
//! URL-encoding (`%34`, `+`), JSON `\uXXXX` escapes, quoted-printable (`=34`, soft line
//! breaks), HTML/XML character references (`&#52;`, `&#x34;`, `&nbsp;`, …) and text split
//! by XML tags (digits in separate OOXML runs).
//!
//! Like [`super::decode`], the result is a *view*: decoded bytes plus a map from every
//! view byte back to an offset of the original buffer. Unlike a whole-buffer view, only
//! *regions* are decoded:
//!
//! 1. **Find.** Cheap prefilters (memchr for `%`, `\`, `=`, `&`, `<`/`>`; a table-driven
//!    pass for runs of base64 characters) find triggers; triggers of one kind closer than a
//!    small gap are clustered into a span, and the span gets a margin of plain context on
//!    both sides (up to [`MARGIN`] bytes, not past a line break) so that a keyword such as
//!    `card=` in front of the encoded number is in the view. A base64 block is a run of at
//!    least `min_base64` alphabet characters with both upper- and lower-case letters (hex
//!    strings and plain words are not blocks), continued across a line break only when the
//!    line before holds at least 20 characters.
//! 2. **Decode** the span into a reused buffer. Every view byte carries the original
//!    offset of the escape, entity, or base64 4-character group it came from, and two
//!    flags: *decoded* (not a verbatim copy) and *joined* (something was removed right
//!    before it: a tag, a soft line break).
//! 3. **Filter.** A region is handed on only if its view holds a run of at least 12 digits
//!    (single separators allowed) that contains a decoded byte or a join: a region whose
//!    digits were all plain text already is not handed on, because the plain scan finds
//!    them. Track data has a PAN inside, so the digit test covers it too. A decoded
//!    base64 image holds no such run and costs only its decoding.
//! 4. **Nest.** The decoded part of each region (not its margins) is examined once more,
//!    when it looks like text, so base64 of URL-encoded text is found; the decoder chain
//!    is then `["base64", "url"]`. The depth is bounded by [`EmbeddedLimits::depth`].
//!
//! Bounds: every pass is linear in its input; spans of one decoder at one level are
//! disjoint; a region decodes at most `max_region` bytes of input (a longer base64 block
//! is cut at a 4-character group boundary into several regions); the decoded bytes of one
//! call, all levels together, are at most `max_total_factor` × the input length + 64 KiB,
//! after which decoding stops and [`Outcome::truncated`] is set.
//!
//! A finding in a region may repeat what the plain scan of the same buffer finds (from the
//! margins, say): keep only those for which [`Region::is_new`] holds.

use std::ops::Range;

/// Bytes of plain context kept on each side of an encoded span (never past a line break).
pub const MARGIN: usize = 128;

/// Bit of [`Region`] flags: the byte was decoded (not copied verbatim).
const DECODED: u8 = 1;
/// Bit of [`Region`] flags: something was removed right before this byte.
const JOINED: u8 = 2;

/// Triggers of one text decoder at most this far apart form one span.
const GAP: usize = 32;
/// The same, for tags between digits (OOXML run markup is long).
const TAG_GAP: usize = 320;
/// Longest tag skipped by the XML decoder.
const MAX_TAG: usize = 512;
/// A base64 line shorter than this ends its block at the line break.
const MIN_B64_LINE: usize = 20;

/// Bounds of [`Embedded::for_each_region`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddedLimits {
    /// Longest base64 run worth decoding, in alphabet characters.
    pub min_base64: usize,
    /// Largest span of input decoded as one region.
    pub max_region: usize,
    /// Decoded bytes per call, all levels together: this times the input length, plus 64 KiB.
    pub max_total_factor: usize,
    /// Decoding levels: 1 decodes the buffer only; 2 also re-examines each decoded region.
    pub depth: usize,
}

impl Default for EmbeddedLimits {
    fn default() -> Self {
        EmbeddedLimits { min_base64: 20, max_region: 1 << 20, max_total_factor: 2, depth: 2 }
    }
}

/// What one call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Regions handed to the callback.
    pub regions: usize,
    /// Input bytes decoded, all levels together (including regions not handed on).
    pub decoded_bytes: usize,
    /// Whether the decoded-bytes bound stopped decoding early.
    pub truncated: bool,
}

/// One decoded region of a buffer.
#[derive(Debug)]
pub struct Region<'a> {
    /// The decoder chain, outermost first: `["base64"]`, `["base64", "url"]`.
    pub decoders: &'a [&'static str],
    /// The view: decoded bytes with plain context around them.
    pub buf: &'a [u8],
    /// For each byte of `buf`, its offset in the original buffer (for a decoded byte, the
    /// start of its escape or base64 group); one more entry holds the end of the region.
    /// Non-decreasing.
    pub map: &'a [u32],
    flags: &'a [u8],
}

impl Region<'_> {
    /// The offset in the original buffer of view byte `i` (`i == buf.len()` gives the end).
    pub fn original(&self, i: usize) -> usize {
        self.map[i.min(self.buf.len())] as usize
    }

    /// The original range covered by the view range `r` (from the start of its first byte
    /// to the start of the byte after it).
    pub fn original_range(&self, r: &Range<usize>) -> Range<usize> {
        self.original(r.start)..self.original(r.end).max(self.original(r.start))
    }

    /// Whether a match at view range `r` is not plain text of the original: it holds a
    /// decoded byte, or bytes that were separated in the original (a tag or a soft line
    /// break removed between them). Findings for which this is false are found by the
    /// plain scan already.
    pub fn is_new(&self, r: &Range<usize>) -> bool {
        let r = r.start.min(self.buf.len())..r.end.min(self.buf.len());
        let f = &self.flags[r];
        f.iter().any(|&x| x & DECODED != 0) || f.iter().skip(1).any(|&x| x & JOINED != 0)
    }

    /// The decoder chain joined by `+` (`base64+url`).
    pub fn chain(&self) -> String {
        self.decoders.join("+")
    }
}

/// A decoder of embedded text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Base64,
    Url,
    Json,
    Qp,
    Entity,
    Xml,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Base64 => "base64",
            Kind::Url => "url",
            Kind::Json => "json-escape",
            Kind::Qp => "quoted-printable",
            Kind::Entity => "html-entity",
            Kind::Xml => "xml-text",
        }
    }
}

/// A span to decode: the whole range (with margins) and the encoded core inside it.
#[derive(Clone, Debug)]
struct Span {
    kind: Kind,
    all: Range<usize>,
    core: Range<usize>,
}

/// Reused buffers of one decoding level.
#[derive(Debug, Default)]
struct Scratch {
    spans: Vec<Span>,
    buf: Vec<u8>,
    map: Vec<u32>,
    flags: Vec<u8>,
    /// View range of the span's core in `buf`.
    core: Range<usize>,
    /// Original offset (in the level's input) just past the last item pushed.
    last_end: usize,
}

impl Scratch {
    fn clear(&mut self, start: usize) {
        self.buf.clear();
        self.map.clear();
        self.flags.clear();
        self.core = 0..0;
        self.last_end = start;
    }

    /// A verbatim byte at `at`.
    fn copy(&mut self, b: u8, at: usize) {
        let flag = if at == self.last_end || self.buf.is_empty() { 0 } else { JOINED };
        self.buf.push(b);
        self.map.push(at as u32);
        self.flags.push(flag);
        self.last_end = at + 1;
    }

    fn copy_slice(&mut self, src: &[u8], range: Range<usize>) {
        for i in range {
            self.copy(src[i], i);
        }
    }

    /// A decoded byte standing for the escape `at..end`.
    fn decoded(&mut self, b: u8, at: usize, end: usize) {
        self.buf.push(b);
        self.map.push(at as u32);
        self.flags.push(DECODED);
        self.last_end = end;
    }

    fn decoded_char(&mut self, c: char, at: usize, end: usize) {
        let mut tmp = [0u8; 4];
        for &b in c.encode_utf8(&mut tmp).as_bytes() {
            self.decoded(b, at, end);
        }
    }
}

/// Finds and decodes embedded encodings; buffers are reused between calls.
#[derive(Debug)]
pub struct Embedded {
    limits: EmbeddedLimits,
    levels: Vec<Scratch>,
    chain: Vec<&'static str>,
}

/// Decoded bytes left for one call.
struct Budget {
    left: usize,
    outcome: Outcome,
}

impl Budget {
    /// Takes `n` bytes from the budget; false (and truncated) when not enough are left.
    fn take(&mut self, n: usize) -> bool {
        if n > self.left {
            self.outcome.truncated = true;
            self.left = 0;
            return false;
        }
        self.left -= n;
        self.outcome.decoded_bytes += n;
        true
    }
}

impl Embedded {
    /// A decoder with these bounds (`depth` is clamped to 1..=4).
    pub fn new(limits: EmbeddedLimits) -> Self {
        let depth = limits.depth.clamp(1, 4);
        let limits = EmbeddedLimits { depth, max_region: limits.max_region.max(64), ..limits };
        Embedded { limits, levels: (0..depth).map(|_| Scratch::default()).collect(), chain: Vec::new() }
    }

    /// The bounds in use.
    pub fn limits(&self) -> EmbeddedLimits {
        self.limits
    }

    /// A cheap test (three memchr passes and one classified pass, no decoding) of
    /// whether `src` may hold an embedded encoding that can make a finding the plain scan
    /// cannot, at the first decoding level or the second: an escape that can stand for a
    /// digit or separator or for something a second level decodes (`%3x`, `%20` before a
    /// digit, `%26`, `+` between digits, `\u`, `&#`, `&nbsp;`, `&amp;`, quoted-printable
    /// escapes in pairs or before a line end, a soft line break), text between tags (also
    /// escaped ones), or a run of base64 alphabet of at least `min_base64` (and at least
    /// 20) characters with both letter cases, wherever it stands in a line. Most text has none, and then no region of
    /// [`Embedded::for_each_region`] holds a new finding: callers skip it. The
    /// `decode_*` fuzz targets check exactly that promise.
    pub fn may_contain(&self, src: &[u8]) -> bool {
        let hex = |i: usize| src.get(i).is_some_and(u8::is_ascii_hexdigit);
        let digit = |i: Option<usize>| i.and_then(|i| src.get(i)).is_some_and(u8::is_ascii_digit);
        // Text between tags: the XML decoder's trigger (`digit<`, `>digit`), also through
        // escaped tags (`digit&lt;`, `&gt;digit`) that a second level sees as tags; the
        // XML decoder needs two.
        let mut tags = 0;
        // JSON escapes; numeric entities, `&nbsp;` (a separator between digit groups) and
        // `&amp;` (a second level may see an entity behind it); quoted-printable by the
        // decoder's own trigger (soft line breaks, escapes next to escapes or a line end).
        if memchr::memchr3_iter(b'\\', b'&', b'=', src).any(|i| match src[i] {
            b'\\' => src.get(i + 1) == Some(&b'u'),
            b'&' => {
                let rest = &src[i + 1..];
                if rest.starts_with(b"lt;") && digit(i.checked_sub(1)) || rest.starts_with(b"gt;") && digit(Some(i + 4))
                {
                    tags += 1;
                }
                tags >= 2 || rest.first() == Some(&b'#') || rest.starts_with(b"nbsp;") || rest.starts_with(b"amp;")
            }
            _ => trigger(Kind::Qp, src, i) > 0,
        }) {
            return true;
        }
        // URL escapes: one followed by a digit or another escape (a separator or a
        // multi-byte character between digits), one that decodes to a byte a second level
        // may build on (a digit or letter, a non-ASCII byte, `#&<>%=\+/;`), and `+`
        // between digits.
        let builds = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80 || b"#&<>%=\\+/;".contains(&b);
        if memchr::memchr3_iter(b'%', b'+', b'<', src).any(|i| match src[i] {
            b'%' => {
                hex(i + 1)
                    && hex(i + 2)
                    && (builds(hex_byte(src[i + 1], src[i + 2])) || matches!(src.get(i + 3), Some(b'%' | b'0'..=b'9')))
            }
            b'+' => trigger(Kind::Url, src, i) > 0,
            _ => {
                tags += trigger(Kind::Xml, src, i);
                tags >= 2
            }
        }) {
            return true;
        }
        if memchr::memchr_iter(b'>', src)
            .filter(|&i| trigger(Kind::Xml, src, i) > 0)
            .nth(1usize.saturating_sub(tags))
            .is_some()
        {
            return true;
        }
        // Base64, wherever it stands: whole lines, `key: <blob>`, or between spaces and
        // quotes in the middle of a line. The kernel marks alphabet bytes 64 at a time and
        // measures only runs of 20 or more (`has_long_base64_run` is its scalar twin).
        super::kernel::has_base64_run(src, self.limits.min_base64.max(MIN_B64_LINE))
    }

    /// Calls `f` for every decoded region of `src` worth scanning (offsets in its map are
    /// relative to `src`). Buffers larger than 4 GiB are not supported (chunks are 1 MiB).
    pub fn for_each_region(&mut self, src: &[u8], f: &mut dyn FnMut(&Region<'_>)) -> Outcome {
        debug_assert!(u32::try_from(src.len()).is_ok(), "buffer too large for a region map");
        let left = src.len().saturating_mul(self.limits.max_total_factor).saturating_add(64 << 10);
        let mut budget = Budget { left, outcome: Outcome::default() };
        self.chain.clear();
        walk(&mut self.levels, &self.limits, src, None, &mut self.chain, &mut budget, f);
        budget.outcome
    }
}

/// One level: find spans in `src`, decode each, hand on the worthy ones, recurse.
/// `parent` maps `src` offsets (len + 1 entries) to original offsets, with flags.
fn walk(
    levels: &mut [Scratch],
    limits: &EmbeddedLimits,
    src: &[u8],
    parent: Option<(&[u32], &[u8])>,
    chain: &mut Vec<&'static str>,
    budget: &mut Budget,
    f: &mut dyn FnMut(&Region<'_>),
) {
    let Some((cur, deeper)) = levels.split_first_mut() else { return };
    let mut spans = std::mem::take(&mut cur.spans);
    spans.clear();
    find_base64(src, limits, &mut spans);
    find_text(src, limits.max_region, &mut spans);
    for span in &spans {
        // A base64 block is decoded for real only when its bytes hold a digit run or text.
        if span.kind == Kind::Base64 && !base64_worth(src, span.core.clone(), !deeper.is_empty()) {
            budget.outcome.decoded_bytes += span.core.len();
            continue;
        }
        let variants: &[bool] = if span.kind == Kind::Xml { &[false, true] } else { &[false] };
        for &spaced in variants {
            if !budget.take(span.all.len() + 1) {
                cur.spans = spans;
                return;
            }
            let joins = decode(cur, src, span, spaced);
            if let Some((pmap, pflags)) = parent {
                for (m, fl) in cur.map.iter_mut().zip(cur.flags.iter_mut()) {
                    *fl |= pflags[*m as usize];
                    *m = pmap[*m as usize];
                }
                cur.map.push(pmap[span.all.end]);
            } else {
                cur.map.push(span.all.end as u32);
            }
            chain.push(span.kind.name());
            if worth(&cur.buf, &cur.flags) {
                budget.outcome.regions += 1;
                f(&Region { decoders: chain, buf: &cur.buf, map: &cur.map, flags: &cur.flags });
            }
            if !deeper.is_empty() && !spaced && looks_like_text(&cur.buf[cur.core.clone()]) {
                let core = cur.core.clone();
                let pmap = &cur.map[core.start..=core.end];
                let pflags = &cur.flags[core.clone()];
                walk(deeper, limits, &cur.buf[core], Some((pmap, pflags)), chain, budget, f);
            }
            chain.pop();
            // The spaced XML variant only matters where tags joined two digits.
            if !joins {
                break;
            }
        }
    }
    cur.spans = spans;
}

/// Decodes `span` of `src` into `out` (map entries are `src` offsets, without the end
/// entry). Returns whether tags were removed between two digits (XML only).
fn decode(out: &mut Scratch, src: &[u8], span: &Span, spaced: bool) -> bool {
    out.clear(span.all.start);
    match span.kind {
        Kind::Base64 => {
            out.copy_slice(src, span.all.start..span.core.start);
            let at = out.buf.len();
            base64(out, src, span.core.clone());
            out.core = at..out.buf.len();
            out.copy_slice(src, span.core.end..span.all.end);
            false
        }
        kind => {
            let mut joins = false;
            let (mut core_lo, mut core_hi) = (None, None);
            let end = span.all.end;
            let mut i = span.all.start;
            while i < end {
                if i >= span.core.start && core_lo.is_none() {
                    core_lo = Some(out.buf.len());
                }
                if i >= span.core.end && core_hi.is_none() {
                    core_hi = Some(out.buf.len());
                }
                let n = match kind {
                    Kind::Url => url(out, src, i, end),
                    Kind::Json => json(out, src, i, end),
                    Kind::Qp => qp(out, src, i, end),
                    Kind::Entity => entity(out, src, i, end),
                    Kind::Base64 | Kind::Xml => xml(out, src, i, end, spaced, &mut joins),
                };
                if n == 0 {
                    out.copy(src[i], i);
                    i += 1;
                } else {
                    i += n;
                }
            }
            let hi = core_hi.unwrap_or(out.buf.len());
            out.core = core_lo.unwrap_or(hi).min(hi)..hi;
            joins
        }
    }
}

/// Whether `buf` holds a run of ≥ 12 digits (single separators allowed: space, hyphen,
/// dot, or the bytes of a no-break or ideographic space) with a decoded or joined byte.
fn worth(buf: &[u8], flags: &[u8]) -> bool {
    let (mut digits, mut new, mut sep) = (0usize, false, 0usize);
    for (&b, &fl) in buf.iter().zip(flags) {
        if b.is_ascii_digit() {
            new |= fl & DECODED != 0 || (digits > 0 && fl != 0);
            digits += 1;
            sep = 0;
            if digits >= 12 && new {
                return true;
            }
        } else if digits > 0 && sep < 3 && matches!(b, b' ' | b'-' | b'.' | 0xC2 | 0xA0 | 0xE3 | 0x80) {
            new |= fl != 0;
            sep += 1;
        } else {
            digits = 0;
            new = false;
            sep = 0;
        }
    }
    false
}

/// Whether decoded bytes look like text (worth a second look): valid UTF-8, or mostly
/// printable ASCII.
fn looks_like_text(b: &[u8]) -> bool {
    if b.len() < 12 {
        return false;
    }
    let printable = b.iter().filter(|&&c| matches!(c, b'\t' | b'\n' | b'\r' | 0x20..=0x7E)).count();
    printable * 4 >= b.len() * 3 || std::str::from_utf8(b).is_ok()
}

// ---------------------------------------------------------------------------------------
// Base64

/// Base64 alphabet value of a byte (both alphabets: `+`/`-` are 62, `/`/`_` are 63), or
/// `NOT_B64`.
const NOT_B64: u8 = 0xFF;
const B64: [u8; 256] = {
    let mut t = [NOT_B64; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

/// Whether `s` holds a run of at least `min` base64 characters with both letter cases,
/// byte by byte: the reference for [`has_long_base64_run`] in tests.
#[cfg(test)]
fn has_base64_run(s: &[u8], min: usize) -> bool {
    let (mut run, mut upper, mut lower) = (0usize, false, false);
    for &b in s {
        if B64[usize::from(b)] == NOT_B64 {
            (run, upper, lower) = (0, false, false);
            continue;
        }
        run += 1;
        upper |= b.is_ascii_uppercase();
        lower |= b.is_ascii_lowercase();
        if run >= min && upper && lower {
            return true;
        }
    }
    false
}

/// Stride of the 8-byte groups [`has_long_base64_run`] tests: a run of at least
/// `8 + SAMPLE_STRIDE - 1` (20) characters holds a whole group starting at a multiple of it.
const SAMPLE_STRIDE: usize = 13;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` set where that byte is not in the base64 alphabets
/// (`A-Za-z0-9+/-_`), clear elsewhere: the [`B64`] test on eight bytes at once.
fn non_base64(x: u64) -> u64 {
    // Per 7-bit byte `y`, `y + (0x80 - lo)` has its high bit set iff `y >= lo`, and
    // `y + (0x7F - hi)` iff `y > hi`; no carry crosses a byte.
    let y = x & !HIGH;
    let folded = y | (0x20 * ONES);
    let letters = folded.wrapping_add((0x80 - 0x61) * ONES) & !folded.wrapping_add((0x7F - 0x7A) * ONES);
    // `+` to `9` (0x2B..=0x39), less `,` and `.`.
    let signs = y.wrapping_add((0x80 - 0x2B) * ONES) & !y.wrapping_add((0x7F - 0x39) * ONES);
    let not_comma_dot = ((y | (0x02 * ONES)) ^ (0x2E * ONES)).wrapping_add(0x7F * ONES);
    let not_underscore = (y ^ (0x5F * ONES)).wrapping_add(0x7F * ONES);
    let alphabet = (letters | (signs & not_comma_dot) | !not_underscore) & !x;
    !alphabet & HIGH
}

/// Eight bytes of `s` at `i` (little-endian: byte `i` is the lowest).
fn word_at(s: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Start of the run of base64 alphabet that ends at `i` (exclusive), eight bytes at a time.
fn run_start(s: &[u8], mut i: usize) -> usize {
    while i >= 8 {
        let k = (non_base64(word_at(s, i - 8)).leading_zeros() / 8) as usize;
        i -= k;
        if k < 8 {
            return i;
        }
    }
    i - s[..i].iter().rev().take_while(|&&b| B64[usize::from(b)] != NOT_B64).count()
}

/// End of the run of base64 alphabet that starts at `i`, eight bytes at a time.
fn run_end(s: &[u8], mut i: usize) -> usize {
    while i + 8 <= s.len() {
        let k = (non_base64(word_at(s, i)).trailing_zeros() / 8) as usize;
        i += k;
        if k < 8 {
            return i;
        }
    }
    i + s[i..].iter().take_while(|&&b| B64[usize::from(b)] != NOT_B64).count()
}

/// Whether `s[start..end]` (base64 alphabet) holds both letter cases; no early exit, so
/// that the loop vectorises.
fn both_cases(s: &[u8]) -> bool {
    let (upper, lower) =
        s.iter().fold((false, false), |(u, l), b| (u | b.is_ascii_uppercase(), l | b.is_ascii_lowercase()));
    upper && lower
}

/// Whether `s` holds a run of at least `min` (≥ 20) base64 characters with both letter
/// cases, anywhere (the same answer as a byte-by-byte test), testing only the 8-byte groups
/// at multiples of [`SAMPLE_STRIDE`] (a run of 20 holds a whole one). A group that is all
/// alphabet has its run measured (eight bytes at a time); the search goes on after the
/// run, so each byte is read at most a few times: linear.
#[cfg_attr(not(test), allow(dead_code))] // the scalar twin of `kernel::has_base64_run`
fn has_long_base64_run(s: &[u8], min: usize) -> bool {
    debug_assert!(min >= 8 + SAMPLE_STRIDE - 1);
    let mut i = 0;
    while i + 8 <= s.len() {
        if non_base64(word_at(s, i)) != 0 {
            i += SAMPLE_STRIDE;
            continue;
        }
        let (start, end) = (run_start(s, i), run_end(s, i + 8));
        if end - start >= min && both_cases(&s[start..end]) {
            return true;
        }
        i = (end + 1).next_multiple_of(SAMPLE_STRIDE);
    }
    false
}

/// Length of a line break at `i` (`\n` or `\r\n`), or 0.
fn line_break(src: &[u8], i: usize) -> usize {
    match src.get(i..) {
        Some([b'\n', ..]) => 1,
        Some([b'\r', b'\n', ..]) => 2,
        _ => 0,
    }
}

/// Finds base64 blocks: spans whose core is the block, cut into pieces of at most
/// `max_region` bytes at 4-character group boundaries.
fn find_base64(src: &[u8], limits: &EmbeddedLimits, spans: &mut Vec<Span>) {
    let n = src.len();
    let mut i = 0;
    while i < n {
        // Fast skip of bytes outside the alphabet.
        while i < n && B64[usize::from(src[i])] == NOT_B64 {
            i += 1;
        }
        if i >= n {
            break;
        }
        let start = i;
        let mut piece = start;
        let (mut chars, mut line) = (0usize, 0usize);
        let mut pads = 0;
        // Both letter cases in the first characters: not hex, not a lower-case word.
        let head = &src[start..(start + 256).min(n)];
        let head = &head[..head.iter().position(|&b| B64[usize::from(b)] == NOT_B64).unwrap_or(head.len())];
        let (upper, lower) = (head.iter().any(u8::is_ascii_uppercase), head.iter().any(u8::is_ascii_lowercase));
        if !(upper && lower) || head.len() < limits.min_base64.min(MIN_B64_LINE) {
            // Not a block: skip the whole run of alphabet characters.
            i = start + src[start..].iter().position(|&b| B64[usize::from(b)] == NOT_B64).unwrap_or(n - start);
            i = i.max(start + 1);
            continue;
        }
        while let Some(&b) = src.get(i) {
            if B64[usize::from(b)] != NOT_B64 {
                // The rest of the run in one tight loop, up to where a long block is cut
                // (then one character at a time to a 4-character group boundary).
                let stop = (piece + limits.max_region).min(n).max(i + 1);
                let from = i;
                i += 1;
                while i < stop && B64[usize::from(src[i])] != NOT_B64 {
                    i += 1;
                }
                chars += i - from;
                line += i - from;
                if i - piece >= limits.max_region && chars % 4 == 0 {
                    if chars >= limits.min_base64 {
                        spans.push(block_span(src, piece, i, piece == start, false));
                    }
                    piece = i;
                }
                continue;
            }
            if b == b'=' {
                while pads < 2 && src.get(i) == Some(&b'=') {
                    pads += 1;
                    i += 1;
                }
                break;
            }
            let lb = line_break(src, i);
            if lb > 0 && line >= MIN_B64_LINE && src.get(i + lb).is_some_and(|&c| B64[usize::from(c)] != NOT_B64) {
                i += lb;
                line = 0;
                continue;
            }
            break;
        }
        if chars >= limits.min_base64 && i > piece {
            let mut s = block_span(src, piece, i, piece == start, true);
            // Padding fixes where the groups end: align the start to it.
            if pads > 0 && piece == start {
                let skip = (chars + pads) % 4;
                if skip <= line.min(chars) && (start..start + skip).all(|k| B64[usize::from(src[k])] != NOT_B64) {
                    s.core.start += skip;
                }
            }
            spans.push(s);
        }
        // Never stall: a block of one `=` or a rejected run moves on.
        i = i.max(start + 1);
    }
}

/// Decoded bytes of a base64 block after which whether it looks like text is decided.
const TEXT_SAMPLE: usize = 4096;

/// Byte classes of the digit-run test: [`DIGIT`], [`SEPARATOR`] (space, hyphen, dot, and
/// the bytes of a no-break or ideographic space), [`CONTROL`] (not text), or 0.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = CONTROL;
        b += 1;
    }
    t[b'\t' as usize] = 0;
    t[b'\n' as usize] = 0;
    t[b'\r' as usize] = 0;
    t[0x7F] = CONTROL;
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = DIGIT;
        d += 1;
    }
    t[b' ' as usize] = SEPARATOR;
    t[b'-' as usize] = SEPARATOR;
    t[b'.' as usize] = SEPARATOR;
    t[0xC2] = SEPARATOR;
    t[0xA0] = SEPARATOR;
    t[0xE3] = SEPARATOR;
    t[0x80] = SEPARATOR;
    t
};
const DIGIT: u8 = 1;
const SEPARATOR: u8 = 2;
const CONTROL: u8 = 4;

/// First pass over a base64 block, without writing anything: whether its bytes hold a run
/// of ≥ 12 digits with single separators (the same test as [`worth`]), or, when `text`
/// is asked for, look like text (at most 1 % control bytes in the first
/// [`TEXT_SAMPLE`] bytes) and so are worth a nested look.
fn base64_worth(src: &[u8], range: Range<usize>, text: bool) -> bool {
    let (mut acc, mut k) = (0u32, 0usize);
    let (mut digits, mut sep) = (0usize, 0usize);
    let mut feed = |b: u8| {
        let class = CLASS[usize::from(b)];
        if class == DIGIT {
            digits += 1;
            sep = 0;
        } else if class == SEPARATOR && digits > 0 && sep < 3 {
            sep += 1;
        } else {
            digits = 0;
            sep = 0;
        }
        digits >= 12
    };
    // The text test looks at the first bytes only: a block that starts binary (an image,
    // a capture of raw records) is not decoded for text further on.
    let (mut text, mut total, mut controls) = (text, 0usize, 0usize);
    for &c in &src[range] {
        let v = B64[usize::from(c)];
        if v == NOT_B64 {
            continue;
        }
        acc = (acc << 6) | u32::from(v);
        k += 1;
        if k == 4 {
            let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
            if text {
                total += 3;
                controls += bytes.iter().filter(|&&b| CLASS[usize::from(b)] == CONTROL).count();
                if total >= TEXT_SAMPLE {
                    if controls * 100 <= total {
                        return true;
                    }
                    text = false;
                }
            }
            if feed(bytes[0]) | feed(bytes[1]) | feed(bytes[2]) {
                return true;
            }
            acc = 0;
            k = 0;
        }
    }
    let tail: &[u8] = match k {
        2 => &[(acc >> 4) as u8],
        3 => &[(acc >> 10) as u8, (acc >> 2) as u8],
        _ => &[],
    };
    if tail.iter().fold(false, |found, &b| feed(b) | found) {
        return true;
    }
    total += tail.len();
    controls += tail.iter().filter(|&&b| CLASS[usize::from(b)] == CONTROL).count();
    text && total >= 12 && controls * 100 <= total
}

/// A base64 span with plain margins (only at the block's start and end, not between
/// the pieces of a long block).
fn block_span(src: &[u8], start: usize, end: usize, first: bool, last: bool) -> Span {
    let lo = if first { margin_before(src, start) } else { start };
    let hi = if last { margin_after(src, end) } else { end };
    Span { kind: Kind::Base64, all: lo..hi, core: start..end }
}

/// Decodes base64 characters of `src[range]`, skipping line breaks; each byte maps to its
/// 4-character group. A final partial group of 2 or 3 characters gives 1 or 2 bytes.
fn base64(out: &mut Scratch, src: &[u8], range: Range<usize>) {
    let (mut acc, mut k, mut group_at) = (0u32, 0usize, range.start);
    let (mut last, range_end) = (range.start, range.end);
    for i in range {
        let v = B64[usize::from(src[i])];
        if v == NOT_B64 {
            continue;
        }
        if k == 0 {
            group_at = i;
        }
        acc = (acc << 6) | u32::from(v);
        k += 1;
        last = i + 1;
        if k == 4 {
            for s in [16, 8, 0] {
                out.decoded((acc >> s) as u8, group_at, last);
            }
            acc = 0;
            k = 0;
        }
    }
    match k {
        2 => out.decoded((acc >> 4) as u8, group_at, last),
        3 => {
            out.decoded((acc >> 10) as u8, group_at, last);
            out.decoded((acc >> 2) as u8, group_at, last);
        }
        _ => {}
    }
    out.last_end = range_end;
}

// ---------------------------------------------------------------------------------------
// Text decoders

/// The byte of the two hex digits `a`, `b` (both checked to be hex digits).
fn hex_byte(a: u8, b: u8) -> u8 {
    hex(a).unwrap_or(0) << 4 | hex(b).unwrap_or(0)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte of two hex digits at `src[i..i + 2]` (before `end`).
fn hex2(src: &[u8], i: usize, end: usize) -> Option<u8> {
    if i + 2 > end {
        return None;
    }
    Some(hex(src[i])? << 4 | hex(src[i + 1])?)
}

/// The value of four hex digits at `src[i..i + 4]` (before `end`).
fn hex4(src: &[u8], i: usize, end: usize) -> Option<u32> {
    if i + 4 > end {
        return None;
    }
    src[i..i + 4].iter().try_fold(0u32, |acc, &b| Some(acc << 4 | u32::from(hex(b)?)))
}

/// Start of the margin before `at`: at most [`MARGIN`] bytes, not before a line start.
fn margin_before(src: &[u8], at: usize) -> usize {
    let lo = at.saturating_sub(MARGIN);
    memchr::memrchr(b'\n', &src[lo..at]).map_or(lo, |p| lo + p + 1)
}

/// End of the margin after `at`: at most [`MARGIN`] bytes, not past a line end.
fn margin_after(src: &[u8], at: usize) -> usize {
    let hi = (at + MARGIN).min(src.len());
    memchr::memchr(b'\n', &src[at..hi]).map_or(hi, |p| at + p)
}

/// Length of the trigger of `kind` at `i`, or 0.
fn trigger(kind: Kind, src: &[u8], i: usize) -> usize {
    let n = src.len();
    match kind {
        Kind::Url => {
            let digit = |j: Option<usize>| j.and_then(|j| src.get(j)).is_some_and(u8::is_ascii_digit);
            if src[i] == b'%' && hex2(src, i + 1, n).is_some() {
                3
            } else {
                // `+` for a space between digits (query strings).
                usize::from(src[i] == b'+' && digit(i.checked_sub(1)) && digit(Some(i + 1)))
            }
        }
        Kind::Json => {
            if src.get(i + 1) == Some(&b'u') && hex4(src, i + 2, n).is_some() {
                6
            } else {
                0
            }
        }
        Kind::Qp => {
            let lb = line_break(src, i + 1);
            if lb > 0 {
                return 1 + lb;
            }
            // An escape next to another escape (`=34=31`, not `id=12`) or before a soft line
            // break (`=34=` + line end), or an escaped digit right before a line end (a
            // card number's last digit). Any other escape before a line end (`=20`, a
            // trailing space) decodes to nothing a card number can end with, and log lines
            // end in `uid=13` all the time: each such chunk used to get the full decoder walk.
            let esc = |j: usize| src.get(j) == Some(&b'=') && hex2(src, j + 1, n).is_some();
            let soft = |j: usize| src.get(j) == Some(&b'=') && line_break(src, j + 1) > 0;
            let digit_at_end = || line_break(src, i + 3) > 0 && hex2(src, i + 1, n).is_some_and(|b| b.is_ascii_digit());
            if esc(i) && (esc(i + 3) || soft(i + 3) || (i >= 3 && esc(i - 3)) || digit_at_end()) { 3 } else { 0 }
        }
        Kind::Entity => entity_len(src, i, n).map_or(0, |(_, len)| len),
        Kind::Base64 | Kind::Xml => {
            // `digit<` or `>digit`: text next to a tag.
            let digit = |j: Option<usize>| j.and_then(|j| src.get(j)).is_some_and(u8::is_ascii_digit);
            usize::from((src[i] == b'<' && digit(i.checked_sub(1))) || (src[i] == b'>' && digit(Some(i + 1))))
        }
    }
}

/// Finds spans of the text decoders: clusters of triggers with margins.
fn find_text(src: &[u8], max_region: usize, spans: &mut Vec<Span>) {
    cluster(src, Kind::Url, memchr::memchr2_iter(b'%', b'+', src), max_region, spans);
    for (kind, first) in [(Kind::Json, b'\\'), (Kind::Qp, b'='), (Kind::Entity, b'&')] {
        cluster(src, kind, memchr::memchr_iter(first, src), max_region, spans);
    }
    cluster(src, Kind::Xml, memchr::memchr2_iter(b'<', b'>', src), max_region, spans);
}

fn cluster(src: &[u8], kind: Kind, candidates: impl Iterator<Item = usize>, max_region: usize, spans: &mut Vec<Span>) {
    let (gap, min_count) = if kind == Kind::Xml { (TAG_GAP, 2) } else { (GAP, 1) };
    let mut cur: Option<(Range<usize>, usize)> = None;
    let mut prev_end = 0;
    let emit = |core: Range<usize>, count: usize, spans: &mut Vec<Span>, prev_end: &mut usize| {
        if count >= min_count {
            let lo = margin_before(src, core.start).max(*prev_end);
            let hi = margin_after(src, core.end);
            *prev_end = hi;
            spans.push(Span { kind, all: lo..hi, core });
        }
    };
    for i in candidates {
        let len = trigger(kind, src, i);
        if len == 0 {
            continue;
        }
        match &mut cur {
            Some((r, count)) if i <= r.end + gap && i + len - r.start <= max_region => {
                r.end = r.end.max(i + len);
                *count += 1;
            }
            _ => {
                if let Some((r, count)) = cur.take() {
                    emit(r, count, spans, &mut prev_end);
                }
                cur = Some((i..i + len, 1));
            }
        }
    }
    if let Some((r, count)) = cur {
        emit(r, count, spans, &mut prev_end);
    }
}

/// `%XX` → byte, `+` → space.
fn url(out: &mut Scratch, src: &[u8], i: usize, end: usize) -> usize {
    match src[i] {
        b'%' => hex2(src, i + 1, end).map_or(0, |b| {
            out.decoded(b, i, i + 3);
            3
        }),
        b'+' => {
            out.decoded(b' ', i, i + 1);
            1
        }
        _ => 0,
    }
}

/// `\uXXXX` (with surrogate pairs) → UTF-8.
fn json(out: &mut Scratch, src: &[u8], i: usize, end: usize) -> usize {
    if src[i] != b'\\' || src.get(i + 1) != Some(&b'u') {
        return 0;
    }
    let Some(u) = hex4(src, i + 2, end) else { return 0 };
    if (0xD800..0xDC00).contains(&u)
        && src.get(i + 6..i + 8) == Some(&b"\\u"[..])
        && let Some(lo) = hex4(src, i + 8, end)
        && (0xDC00..0xE000).contains(&lo)
    {
        let c = char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or(char::REPLACEMENT_CHARACTER);
        out.decoded_char(c, i, i + 12);
        return 12;
    }
    out.decoded_char(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER), i, i + 6);
    6
}

/// `=XX` → byte; soft line breaks `=\r\n`, `=\n` removed.
fn qp(out: &mut Scratch, src: &[u8], i: usize, end: usize) -> usize {
    if src[i] != b'=' {
        return 0;
    }
    let lb = line_break(&src[..end], i + 1);
    if lb > 0 {
        // Removed: the next byte is marked joined (`last_end` stays before the `=`).
        return 1 + lb;
    }
    hex2(src, i + 1, end).map_or(0, |b| {
        out.decoded(b, i, i + 3);
        3
    })
}

/// The character and length of a character reference at `i` (`&#52;`, `&#x34;`,
/// `&nbsp;`, `&amp;`, …).
fn entity_len(src: &[u8], i: usize, end: usize) -> Option<(char, usize)> {
    if src.get(i) != Some(&b'&') {
        return None;
    }
    let semi = i + 1 + memchr::memchr(b';', &src[i + 1..(i + 10).min(end)])?;
    let body = &src[i + 1..semi];
    let c = match body {
        [b'#', b'x' | b'X', h @ ..] if !h.is_empty() && h.len() <= 6 => {
            char::from_u32(h.iter().try_fold(0u32, |a, &b| Some(a << 4 | u32::from(hex(b)?)))?)?
        }
        [b'#', d @ ..] if !d.is_empty() && d.len() <= 7 && d.iter().all(u8::is_ascii_digit) => {
            char::from_u32(d.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0')))?
        }
        b"nbsp" => ' ',
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        _ => return None,
    };
    Some((c, semi + 1 - i))
}

fn entity(out: &mut Scratch, src: &[u8], i: usize, end: usize) -> usize {
    let Some((c, len)) = entity_len(src, i, end) else { return 0 };
    // A no-break space between digit groups is a separator: fold it to a space.
    let c = if c == '\u{A0}' { ' ' } else { c };
    out.decoded_char(c, i, i + len);
    len
}

/// Removes a sequence of tags at `i` (each up to [`MAX_TAG`] bytes, with whitespace
/// between them). With `spaced`, a space stands for tags between two digits.
fn xml(out: &mut Scratch, src: &[u8], i: usize, end: usize, spaced: bool, joins: &mut bool) -> usize {
    let tag_end = |at: usize| {
        (src.get(at) == Some(&b'<'))
            .then(|| memchr::memchr(b'>', &src[at..(at + MAX_TAG).min(end)]).map(|p| at + p + 1))
            .flatten()
    };
    let Some(mut after) = tag_end(i) else { return 0 };
    loop {
        let ws = src[after..end].iter().take_while(|b| b.is_ascii_whitespace()).count();
        match tag_end(after + ws) {
            Some(e) => after = e,
            None => break,
        }
    }
    if out.buf.last().is_some_and(u8::is_ascii_digit) && src.get(after).is_some_and(u8::is_ascii_digit) {
        *joins = true;
        if spaced {
            out.decoded(b' ', i, after);
        }
    }
    // Otherwise `last_end` stays where the text stopped: the next byte is marked joined.
    after - i
}

// ---------------------------------------------------------------------------------------
// Lines the plain scan can skip

/// Longest line [`base64_lines`] skips: with a candidate of at least 12 digits, at most 64
/// characters remain on either side, so the engine's base64-token test (64 characters
/// each way) sees the whole line.
const SKIP_LINE_MAX: usize = 76;
/// Shortest such line (the engine's base64-token test needs 24 characters).
const SKIP_LINE_MIN: usize = 24;

/// Ranges of `src` made of whole consecutive lines in which the plain scan cannot report
/// anything, so that it need not read them: lines of 24 to 76 characters of the standard
/// base64 alphabet (`=` padding allowed at the end) holding both letter cases, and no
/// digit next to a pair of `x`/`X` (which could be a masked PAN's mask) and no `D`/`d`
/// between two digits (EMV tag-57 track data: `<PAN>D2512201…`, read whatever surrounds
/// it). In such a line there are no separators, so every digit run is glued to a letter
/// (failing the boundary rules) or bounded by `+`, `/` or the line's ends and then inside
/// a base64 token that the engine rejects, since its 64-character look-around covers the
/// whole line. Other track data needs `^`, `;` or `=` followed by digits, which these
/// lines cannot hold.
///
/// This is what keeps a file of base64 (a skimmer's capture, a MIME dump) from costing
/// the plain scan's per-digit-run work on top of the decoding. Ranges start at a line's
/// first byte and end after the last line's newline; a last line without a newline is
/// never included (it may continue in the next chunk).
pub fn base64_lines(src: &[u8], out: &mut Vec<Range<usize>>) {
    out.clear();
    let mut start = 0;
    let mut run: Option<usize> = None;
    for nl in memchr::memchr_iter(b'\n', src) {
        let skippable = skippable_line(&src[start..nl]);
        match (skippable, run) {
            (true, None) => run = Some(start),
            (false, Some(r)) => {
                out.push(r..start);
                run = None;
            }
            _ => {}
        }
        start = nl + 1;
    }
    if let Some(r) = run {
        out.push(r..start);
    }
}

/// Per byte, for [`skippable_line`]: the base64 class in the low two bits (1 upper,
/// 2 lower, 3 digit or `+`/`/`, 0 not in the standard alphabet) and, above them, the
/// flags [`F_DIGIT`], [`F_MASK`] (`x`, `X`) and [`F_TAG`] (`D`, `d`).
const LINE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = 1;
        t[b'a' as usize + i] = 2;
        i += 1;
    }
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = 3 | (F_DIGIT << 2);
        d += 1;
    }
    t[b'+' as usize] = 3;
    t[b'/' as usize] = 3;
    t[b'x' as usize] |= F_MASK << 2;
    t[b'X' as usize] |= F_MASK << 2;
    t[b'D' as usize] |= F_TAG << 2;
    t[b'd' as usize] |= F_TAG << 2;
    t
};
const F_DIGIT: u8 = 1;
const F_MASK: u8 = 2;
const F_TAG: u8 = 4;

/// For the flags of three consecutive bytes (`first << 6 | second << 3 | third`): whether
/// they are a digit next to a mask pair (`1xx`, `xx1`: a masked PAN) or a `D` between two
/// digits (EMV tag-57 track data), which the engine reads whatever surrounds them.
const BAD_TRIPLE: [bool; 512] = {
    let mut t = [false; 512];
    let mut i = 0;
    while i < 512 {
        let (a, b, c) = ((i >> 6) as u8, ((i >> 3) & 7) as u8, (i & 7) as u8);
        let digit_masks = a & F_DIGIT != 0 && b & F_MASK != 0 && c & F_MASK != 0;
        let masks_digit = a & F_MASK != 0 && b & F_MASK != 0 && c & F_DIGIT != 0;
        let tag57 = a & F_DIGIT != 0 && b & F_TAG != 0 && c & F_DIGIT != 0;
        t[i] = digit_masks || masks_digit || tag57;
        i += 1;
    }
    t
};

/// One pass, two table look-ups per byte (base64 files are made of such lines).
fn skippable_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"=").unwrap_or(line);
    let line = line.strip_suffix(b"=").unwrap_or(line);
    if !(SKIP_LINE_MIN..=SKIP_LINE_MAX).contains(&line.len()) {
        return false;
    }
    let (mut seen, mut window, mut bad) = (0u8, 0usize, false);
    for &b in line {
        let c = LINE_CLASS[usize::from(b)];
        let class = c & 3;
        if class == 0 {
            return false;
        }
        seen |= 1 << class;
        window = ((window << 3) | usize::from(c >> 2)) & 0x1FF;
        bad |= BAD_TRIPLE[window];
    }
    seen & 0b110 == 0b110 && !bad
}

#[cfg(test)]
mod tests;
