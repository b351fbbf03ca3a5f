//! Text decoding for the engine: a *view* of a buffer in which a card number written in
//! another encoding — UTF-16, `Shift_JIS`/CP932, EUC-JP, ISO-2022-JP, or full-width digits
//! ０-９ in any of them — looks like ASCII digits, plus a map from every view byte back to
//! the original byte offset.
//!
//! The view is UTF-8: ASCII stays ASCII (one byte each, so the kernel and the keyword
//! automaton work unchanged, and Japanese keywords such as カード番号 match as UTF-8), other
//! characters are their UTF-8 form, and the characters that matter for card numbers are
//! folded to ASCII: full-width digits → `0`-`9`, full-width hyphen, minus signs, dashes
//! and the prolonged sound mark ー after a digit (what a Japanese IME types for `-`) →
//! `-`, full-width solidus → `/` (expiry dates), ideographic space → ` `. Conversion of
//! the legacy Japanese encodings goes through `encoding_rs` one character at a time (so
//! every output byte knows its source offset), and what it makes of each one- or two-byte
//! sequence is remembered in a process-wide table (`CharCache`): a decoder per character
//! cost more than half of a `Shift_JIS` scan. The folding of digits and separators is done
//! here, on the hot path, without tables.
//!
//! Buffers are chunks of a larger file, so decoding can start in the middle of a
//! character. Each encoding re-synchronises where it safely can: UTF-16 on the code-unit
//! parity of the absolute offset, `Shift_JIS` on a byte below 0x40 (never a trail byte),
//! EUC-JP on any ASCII byte, ISO-2022-JP on a line start (RFC 1468 returns from JIS X
//! 0208 before each line end; JIS X 0201 Roman may last across lines, which only changes
//! how 0x5C and 0x7E read). Bytes before the synchronisation point are copied as they are.

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

use encoding_rs::{EUC_JP, Encoding, SHIFT_JIS};

/// What `encoding_rs` makes of each one- or two-byte sequence of one encoding, filled in
/// as sequences are met (a pure function of the bytes, so concurrent fills agree). Slot
/// `b` is the one-byte sequence `[b]`, slot `a << 8 | b` the pair `[a, b]` (a lead byte
/// is never 0). A slot holds 0 before its sequence was decoded, the character plus one
/// when it decodes to exactly one character, or [`CharCache::MANY`] when it does not (a
/// bad trail byte: U+FFFD and the byte), which takes the slow path every time. The slots
/// are zero-initialised statics (`.bss`: 256 KiB per encoding, not in the binary), of
/// which a scan touches only the pages its sequences fall in.
#[derive(Clone, Copy)]
struct CharCache {
    enc: &'static Encoding,
    slots: &'static [AtomicU32; 1 << 16],
}

static SHIFT_JIS_SLOTS: [AtomicU32; 1 << 16] = [const { AtomicU32::new(0) }; 1 << 16];
static EUC_JP_SLOTS: [AtomicU32; 1 << 16] = [const { AtomicU32::new(0) }; 1 << 16];

impl CharCache {
    const MANY: u32 = u32::MAX;

    fn shift_jis() -> CharCache {
        CharCache { enc: SHIFT_JIS, slots: &SHIFT_JIS_SLOTS }
    }

    fn euc_jp() -> CharCache {
        CharCache { enc: EUC_JP, slots: &EUC_JP_SLOTS }
    }

    /// The slot of `bytes`, when it is one or two bytes long.
    fn slot(self, bytes: &[u8]) -> Option<&'static AtomicU32> {
        match *bytes {
            [a] => Some(&self.slots[usize::from(a)]),
            [a, b] => {
                debug_assert_ne!(a, 0, "a lead byte is never 0");
                Some(&self.slots[usize::from(a) << 8 | usize::from(b)])
            }
            _ => None,
        }
    }
}

/// A text encoding that needs a decoded view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    /// UTF-8 (or ASCII) with full-width digits or separators in it.
    Utf8,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// `Shift_JIS` / Windows-31J (CP932).
    ShiftJis,
    /// EUC-JP.
    EucJp,
    /// ISO-2022-JP (7-bit, escape sequences; Japanese mail).
    Iso2022Jp,
}

impl TextEncoding {
    /// Every encoding, in declaration order (tests and fuzz targets go through them all).
    pub const ALL: [TextEncoding; 6] = [
        TextEncoding::Utf8,
        TextEncoding::Utf16Le,
        TextEncoding::Utf16Be,
        TextEncoding::ShiftJis,
        TextEncoding::EucJp,
        TextEncoding::Iso2022Jp,
    ];

    /// The name used in reports (`encoding` field).
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
            TextEncoding::ShiftJis => "shift_jis",
            TextEncoding::EucJp => "euc-jp",
            TextEncoding::Iso2022Jp => "iso-2022-jp",
        }
    }

    /// The encoding for a MIME or HTML charset label (`shift_jis`, `x-sjis`, `cp932`,
    /// `euc-jp`, `iso-2022-jp`, `utf-16le`, `utf-8`, …), if it is one we decode.
    pub fn from_label(label: &str) -> Option<TextEncoding> {
        let label = label.trim();
        // Common in mail and Windows exports, but not a WHATWG label.
        if label.eq_ignore_ascii_case("cp932") {
            return Some(TextEncoding::ShiftJis);
        }
        let enc = Encoding::for_label(label.as_bytes())?;
        Some(match enc.name() {
            "UTF-8" => TextEncoding::Utf8,
            "UTF-16LE" => TextEncoding::Utf16Le,
            "UTF-16BE" => TextEncoding::Utf16Be,
            "Shift_JIS" => TextEncoding::ShiftJis,
            "EUC-JP" => TextEncoding::EucJp,
            "ISO-2022-JP" => TextEncoding::Iso2022Jp,
            _ => return None,
        })
    }
}

/// How many bytes of a file's start [`sniff`] looks at.
pub const SNIFF_BYTES: usize = 8192;

/// Shortest UTF-16 string in binary data worth scanning, in code units.
pub const MIN_STRING_UNITS: usize = 12;

/// A UTF-16 code unit that text is made of (ASCII printable and whitespace, Japanese
/// kana and kanji, full-width forms); a surrogate or control unit ends a string.
fn is_text_unit(u: u16) -> bool {
    matches!(u, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x3000..=0x30FF | 0x4E00..=0x9FFF | 0xFF00..=0xFFEF)
}

/// Guesses the encoding of a file from its first bytes (byte-order mark first, then
/// content): `None` means plain bytes — ASCII, UTF-8 without full-width characters, or
/// binary — for which no view is needed. UTF-8 itself is not returned here: whether a
/// UTF-8 chunk needs a view depends on the chunk ([`needs_utf8_view`]).
pub fn sniff(head: &[u8]) -> Option<TextEncoding> {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if head.starts_with(b"\xEF\xBB\xBF") {
        return None;
    }
    // A byte-order mark is believed only if text follows: binary data can start with
    // FF FE too, and reading it as UTF-16 would hide ASCII card numbers in it.
    for (bom, enc) in [(b"\xFF\xFE", TextEncoding::Utf16Le), (b"\xFE\xFF", TextEncoding::Utf16Be)] {
        if head.starts_with(bom) {
            let (_, text, units) = utf16_text_units(&head[2..], enc);
            if text * 10 >= units * 8 {
                return Some(enc);
            }
        }
    }
    if let Some(e) = sniff_utf16(head) {
        return Some(e);
    }
    if head.contains(&0) {
        return None;
    }
    if head.is_ascii() {
        let iso = memchr::memmem::find(head, b"\x1B$B").is_some() || memchr::memmem::find(head, b"\x1B$@").is_some();
        return iso.then_some(TextEncoding::Iso2022Jp);
    }
    // Valid UTF-8 (a cut character at the very end is allowed).
    match std::str::from_utf8(head) {
        Ok(_) => return None,
        Err(e) if e.error_len().is_none() => return None,
        Err(_) => {}
    }
    let (sjis_bad, sjis_multi) = shift_jis_errors(head);
    let (euc_bad, euc_multi) = euc_jp_errors(head);
    // Text in either encoding has (almost) no structural errors; binary data has many.
    let best = if euc_bad < sjis_bad || (euc_bad == sjis_bad && euc_multi >= sjis_multi) {
        (TextEncoding::EucJp, euc_bad, euc_multi)
    } else {
        (TextEncoding::ShiftJis, sjis_bad, sjis_multi)
    };
    (best.2 > 0 && best.1 * 50 <= best.2).then_some(best.0)
}

/// UTF-16 without a byte-order mark, as in SQL Server exports and Windows logs: most
/// characters are ASCII, so one byte of each pair is zero on one side only.
fn sniff_utf16(head: &[u8]) -> Option<TextEncoding> {
    // UTF-16 text without a zero byte would have no line feed and no ASCII at all: the
    // common case (ASCII or UTF-8 text) leaves here after one memchr.
    if head.len() < 16 || memchr::memchr(0, head).is_none() {
        return None;
    }
    let pairs = head.len() / 2;
    let (mut even0, mut odd0) = (0usize, 0usize);
    for p in head.chunks_exact(2) {
        even0 += usize::from(p[0] == 0);
        odd0 += usize::from(p[1] == 0);
    }
    // Each side: zeros on at least a quarter of the pairs, and on the other side almost none.
    if odd0 * 4 >= pairs && even0 * 50 <= pairs {
        return Some(TextEncoding::Utf16Le);
    }
    if even0 * 4 >= pairs && odd0 * 50 <= pairs {
        return Some(TextEncoding::Utf16Be);
    }
    // Mostly Japanese text has few zero bytes: look for line breaks as whole code units
    // and nearly every unit in the ranges Japanese text is made of.
    [TextEncoding::Utf16Le, TextEncoding::Utf16Be].into_iter().find(|&enc| {
        let (newlines, text, units) = utf16_text_units(head, enc);
        newlines > 0 && text * 100 >= units * 95
    })
}

/// Read as UTF-16 in `enc`: (line feeds, code units in ranges text is made of, units).
fn utf16_text_units(b: &[u8], enc: TextEncoding) -> (usize, usize, usize) {
    let (mut newlines, mut text) = (0, 0);
    for p in b.chunks_exact(2) {
        let u = if enc == TextEncoding::Utf16Le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        };
        newlines += usize::from(u == 0x0A);
        text += usize::from(matches!(
            u,
            0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0xA0..=0x24F | 0x370..=0x4FF | 0x2000..=0x206F | 0x3000..=0x30FF
                | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xFF00..=0xFFEF
        ));
    }
    (newlines, text, b.len() / 2)
}

/// Structural errors and Japanese multi-byte characters when read as `Shift_JIS`. Only
/// the rows of punctuation, full-width alphanumerics and kana (lead bytes 0x81-0x84)
/// count as evidence — Japanese text is full of them — because Latin-1 text
/// (`München`, `Gültig`, `Gebäude`) also fits the `Shift_JIS` structure with kanji-range
/// lead bytes and must not be taken for it.
fn shift_jis_errors(b: &[u8]) -> (usize, usize) {
    let (mut bad, mut multi, mut i) = (0, 0, 0);
    while i < b.len() {
        match b[i] {
            lead @ (0x81..=0x9F | 0xE0..=0xFC) => {
                match b.get(i + 1) {
                    Some(0x40..=0x7E | 0x80..=0xFC) if matches!(lead, 0x81..=0x84) => {
                        multi += 1;
                    }
                    Some(0x40..=0x7E | 0x80..=0xFC) | None => {}
                    Some(_) => bad += 1,
                }
                i += 2;
            }
            0x80 | 0xA0 | 0xFD..=0xFF => {
                bad += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (bad, multi)
}

/// Structural errors and multi-byte characters when read as EUC-JP.
fn euc_jp_errors(b: &[u8]) -> (usize, usize) {
    let (mut bad, mut multi, mut i) = (0, 0, 0);
    while i < b.len() {
        match b[i] {
            0x8E => {
                match b.get(i + 1) {
                    Some(0xA1..=0xDF) => multi += 1,
                    Some(_) => bad += 1,
                    None => {}
                }
                i += 2;
            }
            0x8F => {
                match (b.get(i + 1), b.get(i + 2)) {
                    (Some(0xA1..=0xFE), Some(0xA1..=0xFE)) => multi += 1,
                    (Some(_), Some(_)) => bad += 1,
                    _ => {}
                }
                i += 3;
            }
            lead @ 0xA1..=0xFE => {
                match b.get(i + 1) {
                    // Punctuation, full-width alphanumerics and kana rows, as for Shift_JIS.
                    Some(0xA1..=0xFE) if lead <= 0xA5 => multi += 1,
                    Some(0xA1..=0xFE) | None => {}
                    Some(_) => bad += 1,
                }
                i += 2;
            }
            0x80..=0xFF => {
                bad += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (bad, multi)
}

/// Whether a UTF-8 buffer holds a full-width digit, or a full-width or ideographic
/// separator right after a digit: only then is a folded view worth making.
pub fn needs_utf8_view(buf: &[u8]) -> bool {
    let mut at = 0;
    while let Some(i) = memchr::memchr3(0xEF, 0xE3, 0xE2, &buf[at..]) {
        let i = at + i;
        if let Some((fold, len)) = fold_utf8(&buf[i..]) {
            if fold.is_ascii_digit() || (i > 0 && buf[i - 1].is_ascii_digit()) {
                return true;
            }
            at = i + len;
        } else {
            at = i + 1;
        }
    }
    false
}

/// The ASCII folding of the UTF-8 character at the start of `s`, with its length.
fn fold_utf8(s: &[u8]) -> Option<(u8, usize)> {
    match s {
        [0xEF, 0xBC, d @ 0x90..=0x99, ..] => Some((b'0' + (d - 0x90), 3)),
        [0xEF, 0xBC, 0x8D, ..] | [0xE2, 0x88, 0x92, ..] | [0xE3, 0x83, 0xBC, ..] | [0xE2, 0x80, 0x90..=0x93, ..] => {
            Some((b'-', 3))
        }
        [0xE3, 0x80, 0x80, ..] => Some((b' ', 3)),
        [0xEF, 0xBC, 0x8F, ..] => Some((b'/', 3)),
        _ => None,
    }
}

/// The character a non-ASCII UTF-16 code unit `u` starts, with `next` the unit after it
/// (when the buffer has one), and how many bytes it takes: a surrogate pair is one
/// character of 4 bytes; an unpaired surrogate is U+FFFD of 2.
fn utf16_char(u: u16, next: Option<u16>) -> (char, usize) {
    if (0xD800..0xDC00).contains(&u)
        && let Some(Ok(c)) = next.and_then(|lo| char::decode_utf16([u, lo]).next())
    {
        return (c, 4);
    }
    (char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER), 2)
}

/// What a fresh `enc` decoder makes of `bytes` as a whole input (malformed sequences
/// become U+FFFD), written into `out`.
fn decode_sequence<'a>(enc: &'static Encoding, bytes: &[u8], out: &'a mut [u8; 16]) -> &'a str {
    let mut dec = enc.new_decoder_without_bom_handling();
    let (_, _, written, _) = dec.decode_to_utf8(bytes, out, true);
    std::str::from_utf8(&out[..written]).unwrap_or("\u{FFFD}")
}

/// The ASCII folding of a character. The prolonged sound mark ー (U+30FC) is folded only
/// after a digit (see [`View::push_char`]): in words such as カード it is a letter.
fn fold_char(c: char) -> Option<u8> {
    match c {
        '\u{FF10}'..='\u{FF19}' => Some(b'0' + (u32::from(c) - 0xFF10) as u8),
        '\u{FF0D}' | '\u{2212}' | '\u{2010}'..='\u{2013}' => Some(b'-'),
        '\u{3000}' => Some(b' '),
        '\u{FF0F}' => Some(b'/'),
        _ => None,
    }
}

/// A decoded view and its map back to the original buffer.
#[derive(Debug, Default)]
pub struct View {
    /// The decoded bytes (UTF-8 with card-relevant characters folded to ASCII).
    pub buf: Vec<u8>,
    /// For each byte of `buf`, the offset in the original buffer of the character it
    /// came from; one more entry at the end holds the original length.
    pub map: Vec<u32>,
    /// View offsets (ascending) of the ASCII bytes that stand for a folded character: a
    /// full-width digit, a full-width or ideographic separator.
    pub folds: Vec<u32>,
    /// Original offset from which the legacy multi-byte decoders were in step with the
    /// characters (bytes before it were copied as they are).
    synced: usize,
}

impl View {
    /// An empty view (buffers are reused between chunks).
    pub fn new() -> View {
        View::default()
    }

    /// The original offset of view byte `i` (`i == buf.len()` gives the end).
    pub fn original(&self, i: usize) -> usize {
        self.map[i] as usize
    }

    /// The view range covering the original range `r` (characters that start in it).
    pub fn to_view(&self, r: &Range<usize>) -> Range<usize> {
        let lo = self.map.partition_point(|&o| (o as usize) < r.start);
        let hi = self.map.partition_point(|&o| (o as usize) < r.end);
        lo.min(self.buf.len())..hi.min(self.buf.len())
    }

    /// Decodes `src` (whose first byte is at absolute offset `abs` of its file, for
    /// alignment) as `enc`. Buffers larger than 4 GiB are not supported (chunks are 1 MiB).
    pub fn decode(&mut self, enc: TextEncoding, src: &[u8], abs: u64) {
        self.decode_from(enc, src, abs, None);
    }

    /// [`View::decode`], knowing that a character of `src` starts at `sync` (from the
    /// previous chunk's [`View::boundary_from`]). Without it, a `Shift_JIS` or EUC-JP
    /// chunk that does not start the file is decoded from the first byte that cannot be
    /// inside a character — which, in a long stretch of double-byte text without any ASCII,
    /// may come too late.
    pub fn decode_from(&mut self, enc: TextEncoding, src: &[u8], abs: u64, sync: Option<usize>) {
        debug_assert!(u32::try_from(src.len()).is_ok(), "chunk too large for a view");
        self.synced = 0;
        self.buf.clear();
        self.map.clear();
        self.folds.clear();
        self.buf.reserve(src.len() + src.len() / 2);
        self.map.reserve(src.len() + src.len() / 2);
        match enc {
            TextEncoding::Utf8 => self.utf8(src),
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => self.utf16(src, abs, enc == TextEncoding::Utf16Le),
            TextEncoding::ShiftJis => self.shift_jis(src, if abs == 0 { Some(0) } else { sync }),
            TextEncoding::EucJp => self.euc_jp(src, if abs == 0 { Some(0) } else { sync }),
            TextEncoding::Iso2022Jp => self.iso_2022_jp(src, abs == 0),
        }
        self.map.push(src.len() as u32);
    }

    /// A view of only the UTF-16LE text runs inside binary data `src` (legacy Office
    /// files, memory dumps, database pages): runs of at least [`MIN_STRING_UNITS`] text
    /// code units holding at least 12 digits, each followed by a line feed so that runs
    /// never join. Runs are found at either byte parity. Returns whether there is any.
    pub fn utf16_strings(&mut self, src: &[u8]) -> bool {
        self.buf.clear();
        self.map.clear();
        self.folds.clear();
        let unit = |i: usize| u16::from_le_bytes([src[i], src[i + 1]]);
        let mut i = 0;
        while i + 1 < src.len() {
            // Zero-filled stretches (sparse files, padding) a word at a time.
            while let Some(w) = src.get(i..i + 8)
                && w == [0u8; 8]
            {
                i += 8;
            }
            if i + 1 >= src.len() {
                break;
            }
            // Fast skip: a run starts with an ASCII byte followed by a zero byte.
            let Some(z) = memchr::memchr(0, &src[i + 1..]) else { break };
            let mut start = i + 1 + z - 1;
            if !is_text_unit(unit(start)) {
                i = start + 2;
                continue;
            }
            // Text before the first ASCII character (カード番号 has no zero byte), but
            // never back over what was already looked at: linear time.
            while start >= i + 2 && is_text_unit(unit(start - 2)) {
                start -= 2;
            }
            let mut end = start;
            let mut digits = 0;
            while end + 1 < src.len() && is_text_unit(unit(end)) {
                let u = unit(end);
                digits += usize::from((0x30..=0x39).contains(&u) || (0xFF10..=0xFF19).contains(&u));
                end += 2;
            }
            if (end - start) / 2 >= MIN_STRING_UNITS && digits >= 12 {
                let mut j = start;
                while j < end {
                    let u = unit(j);
                    if u < 0x80 {
                        self.push(u as u8, j);
                    } else {
                        self.push_char(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER), j);
                    }
                    j += 2;
                }
                self.push(b'\n', end.min(src.len()));
            }
            // A shorter run inside this one has fewer digits, and a run at the other
            // parity would start with a zero byte: nothing to find before `end`.
            i = end.max(start + 1);
        }
        self.map.push(src.len() as u32);
        !self.buf.is_empty()
    }

    fn push(&mut self, b: u8, at: usize) {
        self.buf.push(b);
        self.map.push(at as u32);
    }

    fn push_folded(&mut self, b: u8, at: usize) {
        self.folds.push(self.buf.len() as u32);
        self.push(b, at);
    }

    /// Whether any byte of the view range `r` stands for a folded character.
    pub fn folded(&self, r: &Range<usize>) -> bool {
        let i = self.folds.partition_point(|&f| (f as usize) < r.start);
        self.folds.get(i).is_some_and(|&f| (f as usize) < r.end)
    }

    fn after_digit(&self) -> bool {
        self.buf.last().is_some_and(u8::is_ascii_digit)
    }

    fn push_char(&mut self, c: char, at: usize) {
        if c == '\u{30FC}' && self.after_digit() {
            self.push_folded(b'-', at);
            return;
        }
        if let Some(b) = fold_char(c) {
            self.push_folded(b, at);
            return;
        }
        // Fixed-size appends: a slice of run-time length is a `memmove` call per character
        // (a third of a Japanese-text scan).
        let mut tmp = [0u8; 4];
        let at = at as u32;
        match *c.encode_utf8(&mut tmp).as_bytes() {
            [a, b] => {
                self.buf.extend_from_slice(&[a, b]);
                self.map.extend_from_slice(&[at; 2]);
            }
            [a, b, c] => {
                self.buf.extend_from_slice(&[a, b, c]);
                self.map.extend_from_slice(&[at; 3]);
            }
            [a, b, c, d] => {
                self.buf.extend_from_slice(&[a, b, c, d]);
                self.map.extend_from_slice(&[at; 4]);
            }
            [a] => {
                self.buf.push(a);
                self.map.push(at);
            }
            _ => unreachable!("a char is 1 to 4 bytes of UTF-8"),
        }
    }

    fn copy(&mut self, src: &[u8], at: usize) {
        self.buf.extend_from_slice(src);
        self.map.extend((at..at + src.len()).map(|o| o as u32));
    }

    /// Copies the run of ASCII bytes at `src[i..]` (single-byte characters in both
    /// `Shift_JIS` and EUC-JP); returns where it ends.
    fn copy_ascii(&mut self, src: &[u8], i: usize) -> usize {
        let end = src[i..].iter().position(|&b| b >= 0x80).map_or(src.len(), |p| i + p);
        self.copy(&src[i..end], i);
        end
    }

    fn utf8(&mut self, src: &[u8]) {
        let mut at = 0;
        while at < src.len() {
            let Some(i) = memchr::memchr3(0xEF, 0xE3, 0xE2, &src[at..]) else {
                self.copy(&src[at..], at);
                return;
            };
            let i = at + i;
            self.copy(&src[at..i], at);
            let long_mark = src[i..].starts_with("\u{30FC}".as_bytes());
            if let Some((b, len)) = fold_utf8(&src[i..])
                && (!long_mark || self.after_digit())
            {
                self.push_folded(b, i);
                at = i + len;
            } else {
                self.push(src[i], i);
                at = i + 1;
            }
        }
    }

    fn utf16(&mut self, src: &[u8], abs: u64, le: bool) {
        // Code units start at even absolute offsets.
        let start = usize::from(abs % 2 == 1).min(src.len());
        self.copy(&src[..start], 0);
        let unit = |i: usize| {
            let (a, b) = (src[i], src[i + 1]);
            if le { u16::from_le_bytes([a, b]) } else { u16::from_be_bytes([a, b]) }
        };
        // Four ASCII code units at a time: the high byte of each zero, the low one < 0x80.
        let (ascii, shift) = if le { (0xFF80_FF80_FF80_FF80_u64, 0) } else { (0x80FF_80FF_80FF_80FF_u64, 8) };
        let mut i = start;
        while i + 1 < src.len() {
            if let Some(w) = src.get(i..i + 8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
                && w & ascii == 0
            {
                let w = w >> shift;
                self.buf.extend_from_slice(&[w as u8, (w >> 16) as u8, (w >> 32) as u8, (w >> 48) as u8]);
                let o = i as u32;
                self.map.extend_from_slice(&[o, o + 2, o + 4, o + 6]);
                i += 8;
                continue;
            }
            let u = unit(i);
            if u < 0x80 {
                self.push(u as u8, i);
                i += 2;
                continue;
            }
            let (c, len) = utf16_char(u, (i + 3 < src.len()).then(|| unit(i + 2)));
            self.push_char(c, i);
            i += len;
        }
        if i < src.len() {
            self.push(src[i], i);
        }
    }

    /// One multi-byte character of `cache`'s encoding at `src[i..i + len]` (or what is
    /// left of it), through the cache when the sequence is one or two bytes long.
    fn legacy_char(&mut self, cache: CharCache, bytes: &[u8], at: usize) {
        let slot = cache.slot(bytes);
        if let Some(c) = slot.and_then(|s| char::from_u32(s.load(Ordering::Relaxed).wrapping_sub(1))) {
            self.push_char(c, at);
            return;
        }
        let mut out = [0u8; 16];
        let text = decode_sequence(cache.enc, bytes, &mut out);
        if let Some(slot) = slot {
            let mut chars = text.chars();
            let v = match (chars.next(), chars.next()) {
                (Some(c), None) => u32::from(c) + 1,
                _ => CharCache::MANY,
            };
            slot.store(v, Ordering::Relaxed);
        }
        for c in text.chars() {
            self.push_char(c, at);
        }
    }

    /// The first character start at or after original offset `pos`, when the legacy
    /// decoder was in step there (for [`View::decode_from`] on the next chunk).
    pub fn boundary_from(&self, pos: usize) -> Option<usize> {
        if pos < self.synced {
            return None;
        }
        let i = self.map.partition_point(|&o| (o as usize) < pos);
        self.map.get(i).map(|&o| o as usize)
    }

    fn shift_jis(&mut self, src: &[u8], sync: Option<usize>) {
        // Re-synchronise on the first byte that cannot be a trail byte.
        let start = sync.unwrap_or_else(|| src.iter().position(|&b| b < 0x40).unwrap_or(src.len())).min(src.len());
        self.synced = start;
        self.copy(&src[..start], 0);
        let mut i = start;
        while i < src.len() {
            let b = src[i];
            match b {
                0x00..=0x7F => i = self.copy_ascii(src, i),
                0x81..=0x9F | 0xE0..=0xFC => {
                    let end = (i + 2).min(src.len());
                    // Full-width digits 0x824F-0x8258: the hot path.
                    if b == 0x82 && matches!(src.get(i + 1), Some(0x4F..=0x58)) {
                        self.push_folded(b'0' + (src[i + 1] - 0x4F), i);
                    } else {
                        self.legacy_char(CharCache::shift_jis(), &src[i..end], i);
                    }
                    i = end;
                }
                _ => {
                    self.legacy_char(CharCache::shift_jis(), &src[i..=i], i);
                    i += 1;
                }
            }
        }
    }

    fn euc_jp(&mut self, src: &[u8], sync: Option<usize>) {
        let start = sync.unwrap_or_else(|| src.iter().position(|&b| b < 0x80).unwrap_or(src.len())).min(src.len());
        self.synced = start;
        self.copy(&src[..start], 0);
        let mut i = start;
        while i < src.len() {
            let b = src[i];
            let len = match b {
                0x00..=0x7F => {
                    i = self.copy_ascii(src, i);
                    continue;
                }
                0x8F => 3,
                0x8E | 0xA1..=0xFE => 2,
                _ => 1,
            };
            let end = (i + len).min(src.len());
            if b == 0xA3 && matches!(src.get(i + 1), Some(0xB0..=0xB9)) {
                self.push_folded(b'0' + (src[i + 1] - 0xB0), i);
            } else {
                self.legacy_char(CharCache::euc_jp(), &src[i..end], i);
            }
            i = end;
        }
    }

    fn iso_2022_jp(&mut self, src: &[u8], at_start: bool) {
        // Unknown mode until the first line start (or escape sequence).
        let start = if at_start || src.first() == Some(&0x1B) {
            0
        } else {
            memchr::memchr(b'\n', src).map_or(src.len(), |p| p + 1)
        };
        self.copy(&src[..start], 0);
        let mut two_byte = false;
        // JIS X 0201 Roman (`ESC ( J`): ASCII but for 0x5C (¥) and 0x7E (‾).
        let mut roman = false;
        let mut i = start;
        while i < src.len() {
            let b = src[i];
            if b == 0x1B {
                match src.get(i + 1..i + 3) {
                    Some(b"$B" | b"$@") => {
                        two_byte = true;
                        i += 3;
                        continue;
                    }
                    Some(b"(B" | b"(J") => {
                        two_byte = false;
                        roman = src[i + 2] == b'J';
                        i += 3;
                        continue;
                    }
                    _ => {}
                }
            }
            // A line ends in ASCII or Roman (RFC 1468; encoders switch back from JIS X
            // 0208 before it, and Roman stays, as in the WHATWG decoder).
            if b == b'\n' || b == b'\r' {
                two_byte = false;
            }
            if roman && !two_byte && (b == 0x5C || b == 0x7E) {
                self.push_char(if b == 0x5C { '\u{A5}' } else { '\u{203E}' }, i);
                i += 1;
                continue;
            }
            if two_byte && (0x21..=0x7E).contains(&b) && matches!(src.get(i + 1), Some(0x21..=0x7E)) {
                let t = src[i + 1];
                // JIS X 0208 row 3 (0x23): full-width digits 0x2330-0x2339.
                if b == 0x23 && (0x30..=0x39).contains(&t) {
                    self.push_folded(b'0' + (t - 0x30), i);
                } else {
                    // JIS X 0208 is EUC-JP without the high bits.
                    self.legacy_char(CharCache::euc_jp(), &[b | 0x80, t | 0x80], i);
                }
                i += 2;
            } else {
                self.push(b, i);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(enc: TextEncoding, src: &[u8]) -> View {
        let mut v = View::new();
        v.decode(enc, src, 0);
        v
    }

    fn encode(enc: &'static Encoding, s: &str) -> Vec<u8> {
        let (b, _, errors) = enc.encode(s);
        assert!(!errors, "{s} in {}", enc.name());
        b.into_owned()
    }

    fn utf16(s: &str, le: bool) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() }).collect()
    }

    const JA: &str = "カード番号：４１１１－１１１１－１１１１－１１１１　有効期限 12/29\n";
    const FOLDED: &str = "カード番号：4111-1111-1111-1111 有効期限 12/29\n";

    #[test]
    fn iso_2022_jp_roman_mode_has_yen_and_overline() {
        // Found by the decode_japanese fuzz target: `ESC ( J` 0x5C is ¥, not a backslash.
        // Roman mode lasts past a line end (a second find of the fuzz target).
        let text = "¥1,200 ‾\n¥5 \\ 4111\n";
        let src = encode(encoding_rs::ISO_2022_JP, text);
        assert_eq!(src.windows(3).filter(|w| w == b"\x1b(J").count(), 1, "one Roman run over both lines");
        let v = view(TextEncoding::Iso2022Jp, &src);
        assert_eq!(std::str::from_utf8(&v.buf).unwrap(), text);
        assert!(v.map.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn every_encoding_folds_to_the_same_view() {
        let cases: Vec<(TextEncoding, Vec<u8>)> = vec![
            (TextEncoding::Utf8, JA.as_bytes().to_vec()),
            (TextEncoding::Utf16Le, utf16(JA, true)),
            (TextEncoding::Utf16Be, utf16(JA, false)),
            (TextEncoding::ShiftJis, encode(SHIFT_JIS, JA)),
            (TextEncoding::EucJp, encode(EUC_JP, JA)),
            (TextEncoding::Iso2022Jp, encode(encoding_rs::ISO_2022_JP, JA)),
        ];
        for (enc, bytes) in cases {
            // Leading newline: every encoding is synchronised from the start.
            let mut src = b"\n".to_vec();
            if matches!(enc, TextEncoding::Utf16Le) {
                src = vec![b'\n', 0];
            } else if matches!(enc, TextEncoding::Utf16Be) {
                src = vec![0, b'\n'];
            }
            src.extend(&bytes);
            let v = view(enc, &src);
            assert_eq!(std::str::from_utf8(&v.buf).unwrap(), format!("\n{FOLDED}"), "{enc:?}");
            assert_eq!(v.map.len(), v.buf.len() + 1);
            assert!(v.map.windows(2).all(|w| w[0] <= w[1]), "map is monotonic for {enc:?}");
            // The first digit maps to the first byte of the full-width ４ in the source.
            let d = v.buf.iter().position(u8::is_ascii_digit).unwrap();
            let o = v.original(d);
            let four = match enc {
                TextEncoding::Utf8 => "４".as_bytes().to_vec(),
                TextEncoding::Utf16Le => utf16("４", true),
                TextEncoding::Utf16Be => utf16("４", false),
                TextEncoding::ShiftJis => encode(SHIFT_JIS, "４"),
                TextEncoding::EucJp | TextEncoding::Iso2022Jp => encode(EUC_JP, "４")
                    .iter()
                    .map(|b| if enc == TextEncoding::EucJp { *b } else { b & 0x7F })
                    .collect(),
            };
            assert_eq!(&src[o..o + four.len()], &four[..], "{enc:?}");
        }
    }

    /// Every one- and two-byte sequence of both legacy encodings, decoded twice (the first
    /// fills the cache, the second reads it), gives what a fresh decoder makes of it.
    #[test]
    fn char_cache_agrees_with_a_fresh_decoder_on_every_short_sequence() {
        for cache in [CharCache::shift_jis(), CharCache::euc_jp()] {
            let seqs =
                (0..=255u8).map(|a| vec![a]).chain((1..=255u8).flat_map(|a| (0..=255u8).map(move |b| vec![a, b])));
            for bytes in seqs {
                let mut out = [0u8; 16];
                let want = decode_sequence(cache.enc, &bytes, &mut out).to_string();
                let mut reference = View::new();
                want.chars().for_each(|c| reference.push_char(c, 7));
                for round in ["filling", "cached"] {
                    let mut v = View::new();
                    v.legacy_char(cache, &bytes, 7);
                    assert_eq!(
                        (&v.buf, &v.map),
                        (&reference.buf, &reference.map),
                        "{} {bytes:02x?} {round}",
                        cache.enc.name()
                    );
                    let slot = cache.slot(&bytes).expect("a short sequence has a slot").load(Ordering::Relaxed);
                    assert_ne!(slot, 0, "{} {bytes:02x?}: the slot was filled", cache.enc.name());
                }
            }
        }
    }

    /// The per-unit UTF-16 walk the four-units-at-a-time ASCII path must agree with.
    fn utf16_reference(src: &[u8], abs: u64, le: bool) -> View {
        let mut v = View::new();
        let start = usize::from(abs % 2 == 1).min(src.len());
        v.copy(&src[..start], 0);
        let unit = |i: usize| {
            if le { u16::from_le_bytes([src[i], src[i + 1]]) } else { u16::from_be_bytes([src[i], src[i + 1]]) }
        };
        let mut i = start;
        while i + 1 < src.len() {
            let u = unit(i);
            if u < 0x80 {
                v.push(u as u8, i);
                i += 2;
                continue;
            }
            let (c, len) = utf16_char(u, (i + 3 < src.len()).then(|| unit(i + 2)));
            v.push_char(c, i);
            i += len;
        }
        if i < src.len() {
            v.push(src[i], i);
        }
        v.map.push(src.len() as u32);
        v
    }

    proptest::proptest! {
        /// Mostly-ASCII UTF-16 (so the fast path runs, and stops at every kind of unit)
        /// in both byte orders and at both chunk parities.
        #[test]
        fn utf16_fast_path_matches_the_per_unit_walk(
            units in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => 0x20u16..0x7F,
                    1 => 0u16..0x100,
                    1 => proptest::sample::select(vec![0xFF11u16, 0x30FC, 0x3000, 0xD83D, 0xDE00, 0xDC00, 0x8000, 0x0080]),
                ],
                0..80,
            ),
            le in proptest::bool::ANY,
            abs in 0u64..2,
            tail in proptest::bool::ANY,
        ) {
            let mut src: Vec<u8> = units.iter().flat_map(|&u| if le { u.to_le_bytes() } else { u.to_be_bytes() }).collect();
            if tail {
                src.push(0x41);
            }
            // At an odd chunk start the units begin at byte 1: keep them aligned there.
            if abs == 1 {
                src.insert(0, 0x00);
            }
            let enc = if le { TextEncoding::Utf16Le } else { TextEncoding::Utf16Be };
            let mut v = View::new();
            v.decode(enc, &src, abs);
            let want = utf16_reference(&src, abs, le);
            proptest::prop_assert_eq!((&v.buf, &v.map, &v.folds), (&want.buf, &want.map, &want.folds));
        }
    }

    #[test]
    fn sniff_by_content() {
        assert_eq!(sniff(&utf16(&"order 4111 1111 1111 1111\r\n".repeat(10), true)), Some(TextEncoding::Utf16Le));
        assert_eq!(sniff(&utf16(&"order 4111 1111 1111 1111\r\n".repeat(10), false)), Some(TextEncoding::Utf16Be));
        // Mostly Japanese, no byte-order mark: few zero bytes.
        assert_eq!(sniff(&utf16(&JA.repeat(4), true)), Some(TextEncoding::Utf16Le));
        assert_eq!(sniff(&utf16(&JA.repeat(4), false)), Some(TextEncoding::Utf16Be));
        let mut bom = vec![0xFF, 0xFE];
        bom.extend(utf16(JA, true));
        assert_eq!(sniff(&bom), Some(TextEncoding::Utf16Le));
        assert_eq!(sniff(&encode(SHIFT_JIS, &JA.repeat(5))), Some(TextEncoding::ShiftJis));
        assert_eq!(sniff(&encode(EUC_JP, &JA.repeat(5))), Some(TextEncoding::EucJp));
        assert_eq!(sniff(&encode(encoding_rs::ISO_2022_JP, JA)), Some(TextEncoding::Iso2022Jp));
        assert_eq!(sniff(JA.as_bytes()), None, "UTF-8 needs no sniffed encoding");
        let latin1 = encoding_rs::WINDOWS_1252.encode("Kunde,Straße,Gültig bis,München,Gebäude,Résumé\n").0.repeat(20);
        assert_eq!(sniff(&latin1), None, "Latin-1 is not Shift_JIS");
        assert_eq!(sniff(b"plain ascii 4111 1111 1111 1111"), None);
        // Binary: many structural errors in both legacy encodings, NULs on both sides.
        let bin: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(sniff(&bin), None);
    }

    #[test]
    fn utf8_view_only_when_it_matters() {
        assert!(needs_utf8_view("４１１１".as_bytes()));
        assert!(needs_utf8_view("4111　1111".as_bytes()));
        assert!(!needs_utf8_view("カード番号 4111 1111".as_bytes()));
        assert!(!needs_utf8_view(b"ascii only"));
    }

    #[test]
    fn utf16_at_an_odd_chunk_start_realigns() {
        let src = utf16("ab４１", true);
        let mut v = View::new();
        v.decode(TextEncoding::Utf16Le, &src[1..], 1);
        // The first byte (a high byte) is copied; then units from the even offset.
        assert_eq!(&v.buf[1..], b"b41");
        assert_eq!(v.original(1), 1);
    }

    #[test]
    fn shift_jis_in_mid_character_resynchronises() {
        let src = encode(SHIFT_JIS, "番号 ４１");
        // Start on the trail byte of 番.
        let mut v = View::new();
        v.decode(TextEncoding::ShiftJis, &src[1..], 1);
        assert!(v.buf.ends_with(b" 41"), "{:?}", String::from_utf8_lossy(&v.buf));
    }

    #[test]
    fn to_view_maps_ranges() {
        let v = view(TextEncoding::Utf8, "a４b".as_bytes());
        assert_eq!(v.buf, b"a4b");
        assert_eq!(v.to_view(&(0..5)), 0..3);
        assert_eq!(v.to_view(&(1..4)), 1..2);
        assert_eq!(v.to_view(&(2..5)), 2..3, "a character is where it starts");
        assert!(v.folded(&(1..2)));
        assert!(!v.folded(&(0..1)) && !v.folded(&(2..3)));
    }

    #[test]
    fn utf16_strings_in_binary_data() {
        let mut data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8 | 0x80).collect();
        let at = data.len() + 1;
        data.push(0);
        data.extend(utf16("card 4111 1111 1111 1111 exp 12/29", true));
        data.extend([0, 0, 0xFF, 0x13]);
        data.extend(utf16("short 1234", true));
        data.extend(utf16(&"no digits here ".repeat(50), true));
        let mut v = View::new();
        assert!(v.utf16_strings(&data));
        assert_eq!(std::str::from_utf8(&v.buf).unwrap(), "card 4111 1111 1111 1111 exp 12/29\n");
        assert_eq!(v.original(0), at);
        assert_eq!(v.original(5), at + 10);
        assert!(!v.utf16_strings(b"plain ascii 4111 1111 1111 1111"));
        assert!(!v.utf16_strings(&[0u8; 1000]));
    }

    #[test]
    fn labels() {
        assert_eq!(TextEncoding::from_label("ISO-2022-JP"), Some(TextEncoding::Iso2022Jp));
        assert_eq!(TextEncoding::from_label("x-sjis"), Some(TextEncoding::ShiftJis));
        assert_eq!(TextEncoding::from_label("cp932"), Some(TextEncoding::ShiftJis));
        assert_eq!(TextEncoding::from_label("euc-jp"), Some(TextEncoding::EucJp));
        assert_eq!(TextEncoding::from_label("latin1"), None);
    }
}
