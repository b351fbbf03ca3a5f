//! Page text: content streams interpreted for their text operators (`Tj`, `TJ`, `'`,
//! `"`), strings decoded through each font's encoding (a `ToUnicode` `CMap` where there
//! is one; UCS-2, `Shift_JIS` and EUC-JP predefined `CMap`s; `WinAnsi` and `/Differences` for
//! simple fonts), and laid out as lines: a vertical move starts a new line, a horizontal
//! gap or a large `TJ` adjustment becomes a space, small kerning joins.
//!
//! Glyph widths are not read: where a string ends on the line is estimated at half an em
//! per glyph, enough to tell a gap between words from the next piece of one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use super::lex::{Dict, Lexer, Obj, get};
use super::{Budget, Document, MAX_FORM_DEPTH, OPS_PER_CHECK, Page, PdfError};

/// A `TJ` adjustment (thousandths of an em, negative = gap) wider than this is a space.
const TJ_SPACE: f64 = 200.0;
/// `q` nesting kept (deeper saves are dropped, restores then pop what is there).
const MAX_SAVES: usize = 256;
/// Operands kept before an operator (no operator takes more than six).
const MAX_OPERANDS: usize = 64;

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

/// The text of one page.
pub(super) fn page_text(doc: &Document<'_>, page: &Page, budget: &Budget<'_>) -> Result<String, PdfError> {
    let mut content = Vec::new();
    let mut failure = None;
    for c in &page.contents {
        let Some(id) = doc.target(c) else { continue };
        match doc.stream_data(id, budget) {
            Ok(data) => {
                content.extend_from_slice(&data);
                content.push(b'\n');
            }
            Err(e @ PdfError::Malformed(_)) => failure = Some(e),
            Err(e) => return Err(e),
        }
    }
    let resources = page.resources.as_ref().and_then(|r| doc.dict(r));
    let mut t = Interp::new(doc, budget);
    t.run(&content, resources, 0, &mut HashSet::new())?;
    match failure {
        Some(e) if t.out.is_empty() => Err(e),
        _ => Ok(t.out),
    }
}

/// Where the last string shown sits, in device space.
#[derive(Clone, Copy)]
struct Last {
    y: f64,
    end_x: f64,
}

struct Interp<'d, 'a, 'b> {
    doc: &'d Document<'a>,
    budget: &'d Budget<'b>,
    out: String,
    fonts: HashMap<u32, Rc<Font>>,
    font: Option<Rc<Font>>,
    size: f64,
    leading: f64,
    tm: Matrix,
    tlm: Matrix,
    ctm: Matrix,
    saved: Vec<Matrix>,
    moved: bool,
    last: Option<Last>,
    ops: u32,
}

impl<'d, 'a, 'b> Interp<'d, 'a, 'b> {
    fn new(doc: &'d Document<'a>, budget: &'d Budget<'b>) -> Self {
        Interp {
            doc,
            budget,
            out: String::new(),
            fonts: HashMap::new(),
            font: None,
            size: 0.0,
            leading: 0.0,
            tm: IDENTITY,
            tlm: IDENTITY,
            ctm: IDENTITY,
            saved: Vec::new(),
            moved: false,
            last: None,
            ops: 0,
        }
    }

    fn run(
        &mut self,
        content: &[u8],
        resources: Option<&Dict>,
        depth: u32,
        forms: &mut HashSet<u32>,
    ) -> Result<(), PdfError> {
        let mut lx = Lexer::new(content, 0);
        let mut operands: Vec<Obj> = Vec::new();
        while let Some(o) = lx.next_obj() {
            let Obj::Keyword(op) = o else {
                if operands.len() < MAX_OPERANDS {
                    operands.push(o);
                }
                continue;
            };
            self.ops += 1;
            if self.ops.is_multiple_of(OPS_PER_CHECK) {
                self.budget.check()?;
            }
            self.op(&op, &operands, resources, depth, forms, &mut lx)?;
            operands.clear();
        }
        Ok(())
    }

    fn op(
        &mut self,
        op: &[u8],
        args: &[Obj],
        resources: Option<&Dict>,
        depth: u32,
        forms: &mut HashSet<u32>,
        lx: &mut Lexer<'_>,
    ) -> Result<(), PdfError> {
        let num = |i: usize| args.get(i).and_then(Obj::as_num).unwrap_or(0.0);
        match op {
            b"BT" => {
                self.tm = IDENTITY;
                self.tlm = IDENTITY;
                self.moved = true;
            }
            b"Tf" => {
                if let Some(name) = args.first().and_then(Obj::as_name) {
                    self.font = self.font(resources, name);
                }
                self.size = num(1);
            }
            b"Td" => self.td(num(0), num(1)),
            b"TD" => {
                self.leading = -num(1);
                self.td(num(0), num(1));
            }
            b"TL" => self.leading = num(0),
            b"T*" => self.td(0.0, -self.leading),
            b"Tm" => {
                self.tlm = [num(0), num(1), num(2), num(3), num(4), num(5)];
                self.tm = self.tlm;
                self.moved = true;
            }
            b"cm" => self.ctm = mul(&[num(0), num(1), num(2), num(3), num(4), num(5)], &self.ctm),
            b"q" if self.saved.len() < MAX_SAVES => self.saved.push(self.ctm),
            b"Q" => self.ctm = self.saved.pop().unwrap_or(IDENTITY),
            b"Tj" => {
                if let Some(s) = args.last().and_then(Obj::as_str) {
                    self.show(s);
                }
            }
            b"'" | b"\"" => {
                self.td(0.0, -self.leading);
                if let Some(s) = args.last().and_then(Obj::as_str) {
                    self.show(s);
                }
            }
            b"TJ" => {
                if let Some(Obj::Array(items)) = args.last() {
                    for item in items {
                        match item {
                            Obj::Str(s) => self.show(s),
                            Obj::Num(n) if *n < -TJ_SPACE => self.space(),
                            _ => {}
                        }
                    }
                }
            }
            b"Do" => {
                if let Some(name) = args.first().and_then(Obj::as_name) {
                    self.form(resources, name, depth, forms)?;
                }
            }
            b"ID" => skip_inline_image(lx),
            _ => {}
        }
        Ok(())
    }

    fn td(&mut self, tx: f64, ty: f64) {
        self.tlm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], &self.tlm);
        self.tm = self.tlm;
        self.moved = true;
    }

    fn space(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with(char::is_whitespace) {
            self.out.push(' ');
        }
    }

    fn show(&mut self, s: &[u8]) {
        let trm = mul(&self.tm, &self.ctm);
        let em = (self.size * trm[0].hypot(trm[1])).abs();
        let em = if em > 0.0 && em.is_finite() { em } else { 1.0 };
        let (x, y) = (trm[4], trm[5]);
        let start = match self.last {
            Some(last) if (y - last.y).abs() > em * 0.5 => {
                if !self.out.is_empty() && !self.out.ends_with('\n') {
                    self.out.push('\n');
                }
                x
            }
            Some(last) if self.moved => {
                if x > last.end_x + em * 0.2 || x < last.end_x - em * 4.0 {
                    self.space();
                }
                x
            }
            Some(last) => last.end_x,
            None => x,
        };
        let glyphs = if let Some(f) = &self.font {
            f.decode(s, &mut self.out)
        } else {
            self.out.extend(s.iter().filter(|b| **b >= 0x20).map(|b| char::from(*b)));
            s.len()
        };
        self.last = Some(Last { y, end_x: start + glyphs as f64 * em * 0.5 });
        self.moved = false;
    }

    fn font(&mut self, resources: Option<&Dict>, name: &[u8]) -> Option<Rc<Font>> {
        let fonts = self.doc.dict(get(resources?, b"Font")?)?;
        let r = get(fonts, name)?;
        let id = self.doc.target(r);
        if let Some(f) = id.and_then(|id| self.fonts.get(&id)) {
            return Some(f.clone());
        }
        let font = Rc::new(Font::load(self.doc, self.doc.dict(r)?, self.budget));
        if let Some(id) = id {
            self.fonts.insert(id, font.clone());
        }
        Some(font)
    }

    /// `Do` of a form `XObject`: its content, with its own resources when it has them.
    fn form(
        &mut self,
        resources: Option<&Dict>,
        name: &[u8],
        depth: u32,
        forms: &mut HashSet<u32>,
    ) -> Result<(), PdfError> {
        let Some(xobjects) = resources.and_then(|r| get(r, b"XObject")).and_then(|x| self.doc.dict(x)) else {
            return Ok(());
        };
        let Some(id) = get(xobjects, name).and_then(|r| self.doc.target(r)) else { return Ok(()) };
        let Some(dict) = self.doc.stream_dict(id) else { return Ok(()) };
        if get(dict, b"Subtype").and_then(Obj::as_name) != Some(b"Form") || depth >= MAX_FORM_DEPTH {
            return Ok(());
        }
        if !forms.insert(id) {
            return Ok(());
        }
        let own = self.doc.get(dict, b"Resources").and_then(Obj::as_dict);
        let data = match self.doc.stream_data(id, self.budget) {
            Ok(d) => d,
            Err(PdfError::Malformed(_)) => {
                forms.remove(&id);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let saved = self.ctm;
        let r = self.run(&data, own.or(resources), depth + 1, forms);
        self.ctm = saved;
        forms.remove(&id);
        r
    }
}

/// After `ID`: skips the inline image's data up to `EI` between white space.
fn skip_inline_image(lx: &mut Lexer<'_>) {
    let data = lx.data;
    let mut i = lx.pos + 1;
    while i + 1 < data.len() {
        if &data[i..i + 2] == b"EI"
            && super::lex::is_white(data[i - 1])
            && data.get(i + 2).is_none_or(|b| super::lex::is_white(*b) || super::lex::is_delim(*b))
        {
            lx.pos = i + 2;
            return;
        }
        i += 1;
    }
    lx.pos = data.len();
}

/// How a font's string bytes become text.
#[derive(Debug, Default)]
pub(super) struct Font {
    /// Codes are two bytes (composite fonts) unless a `CMap`'s code space says otherwise.
    two_byte: bool,
    to_unicode: Option<CMap>,
    /// Predefined `CMap`s whose codes are text in a known encoding.
    predefined: Option<&'static encoding_rs::Encoding>,
    /// Simple fonts: the character of each byte.
    table: Option<Box<[Option<char>; 256]>>,
}

impl Font {
    pub(super) fn load(doc: &Document<'_>, d: &Dict, budget: &Budget<'_>) -> Font {
        let mut font = Font::default();
        let composite = get(d, b"Subtype").and_then(Obj::as_name) == Some(b"Type0");
        if composite {
            font.two_byte = true;
            if let Some(enc) = doc.get(d, b"Encoding").and_then(Obj::as_name) {
                let enc = String::from_utf8_lossy(enc);
                if enc.contains("UCS2") || enc.contains("UTF16") {
                    font.predefined = Some(encoding_rs::UTF_16BE);
                } else if enc.contains("RKSJ") {
                    font.predefined = Some(encoding_rs::SHIFT_JIS);
                } else if enc.starts_with("EUC") {
                    font.predefined = Some(encoding_rs::EUC_JP);
                }
            }
        } else {
            font.table = Some(simple_table(doc, doc.get(d, b"Encoding")));
        }
        if let Some(id) = get(d, b"ToUnicode").and_then(|t| doc.target(t))
            && let Ok(data) = doc.stream_data(id, budget)
        {
            let cmap = CMap::parse(&data);
            if !cmap.is_empty() {
                font.to_unicode = Some(cmap);
            }
        }
        font
    }

    /// Appends the text of `s` to `out`; returns the number of codes (glyphs).
    pub(super) fn decode(&self, s: &[u8], out: &mut String) -> usize {
        if self.to_unicode.is_none()
            && let Some(enc) = self.predefined
        {
            let (text, _) = enc.decode_without_bom_handling(s);
            let before = out.chars().count();
            out.push_str(&text);
            return out.chars().count() - before;
        }
        let default_len = if self.two_byte { 2 } else { 1 };
        let mut i = 0;
        let mut glyphs = 0;
        while i < s.len() {
            let len = self.to_unicode.as_ref().map_or(default_len, |c| c.code_len(&s[i..], default_len));
            let len = len.min(s.len() - i).max(1);
            let code = s[i..i + len].iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b));
            i += len;
            glyphs += 1;
            if let Some(m) = self.to_unicode.as_ref().and_then(|c| c.lookup(len, code)) {
                out.push_str(&m);
            } else if let Some(t) = &self.table {
                if let Some(c) = t[(code & 0xff) as usize] {
                    out.push(c);
                }
            } else if (0x20..0x7f).contains(&code) {
                // A composite font without a usable map: identity-coded ASCII is common.
                out.push(char::from(code as u8));
            }
        }
        glyphs
    }
}

/// The character of each byte of a simple font: windows-1252 (which agrees with
/// `WinAnsi`, Standard and `MacRoman` on letters and digits) amended by `/Differences`.
fn simple_table(doc: &Document<'_>, encoding: Option<&Obj>) -> Box<[Option<char>; 256]> {
    let mut t: Box<[Option<char>; 256]> = Box::new([None; 256]);
    for b in 0x20..=0xffu8 {
        let byte = [b];
        let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
        t[b as usize] = s.chars().next().filter(|c| !c.is_control());
    }
    if let Some(Obj::Array(diffs)) = encoding.and_then(Obj::as_dict).and_then(|d| doc.get(d, b"Differences")) {
        let mut code = 0usize;
        for item in diffs {
            match item {
                Obj::Num(n) => code = super::lex::uint(*n).unwrap_or(usize::MAX),
                Obj::Name(name) => {
                    if code < 256
                        && let Some(c) = glyph_char(name)
                    {
                        t[code] = Some(c);
                    }
                    code += 1;
                }
                _ => {}
            }
        }
    }
    t
}

/// The character of a glyph name, for the names that matter here (digits, letters,
/// common punctuation, `uniXXXX`, `uXXXX`); suffixes like `.tnum` are ignored.
fn glyph_char(name: &[u8]) -> Option<char> {
    const DIGITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    let name = std::str::from_utf8(name).ok()?;
    let name = name.split('.').next().unwrap_or(name);
    if let Some(d) = DIGITS.iter().position(|d| *d == name) {
        return char::from_digit(d as u32, 10);
    }
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && c.is_ascii_alphabetic()
    {
        return Some(c);
    }
    let hex = name.strip_prefix("uni").or_else(|| name.strip_prefix('u')).filter(|h| (4..=6).contains(&h.len()));
    if let Some(h) = hex
        && let Some(c) = u32::from_str_radix(h, 16).ok().and_then(char::from_u32)
    {
        return Some(c);
    }
    Some(match name {
        "space" | "nbspace" => ' ',
        "hyphen" | "minus" | "endash" => '-',
        "period" => '.',
        "comma" => ',',
        "colon" => ':',
        "slash" => '/',
        "numbersign" => '#',
        "parenleft" => '(',
        "parenright" => ')',
        _ => return None,
    })
}

/// How a bfrange maps: consecutive values from a start, or one value per code.
#[derive(Debug)]
enum Dst {
    Start(Vec<u16>),
    List(Vec<String>),
}

/// A `ToUnicode` `CMap` (§9.10.3): code space ranges, `bfchar` and `bfrange` entries.
#[derive(Debug, Default)]
pub(super) struct CMap {
    /// `(lo, hi)` byte strings of equal length.
    space: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keyed by `(code length, code)`.
    chars: HashMap<(usize, u32), String>,
    /// Keyed by `(code length, lo)`: `(hi, destination)`.
    ranges: BTreeMap<(usize, u32), (u32, Dst)>,
}

impl CMap {
    pub(super) fn parse(data: &[u8]) -> CMap {
        let mut cmap = CMap::default();
        let mut lx = Lexer::new(data, 0);
        let mut section: Option<Vec<u8>> = None;
        let mut items: Vec<Obj> = Vec::new();
        while let Some(o) = lx.next_obj() {
            match o {
                Obj::Keyword(k) if k.starts_with(b"begin") => {
                    section = Some(k[5..].to_vec());
                    items.clear();
                }
                Obj::Keyword(k) if k.starts_with(b"end") => {
                    match section.as_deref() {
                        Some(b"codespacerange") => {
                            for p in items.chunks_exact(2) {
                                if let (Some(lo), Some(hi)) = (p[0].as_str(), p[1].as_str())
                                    && lo.len() == hi.len()
                                    && (1..=4).contains(&lo.len())
                                {
                                    cmap.space.push((lo.to_vec(), hi.to_vec()));
                                }
                            }
                        }
                        Some(b"bfchar") => {
                            for p in items.chunks_exact(2) {
                                if let Some(src) = p[0].as_str().filter(|s| (1..=4).contains(&s.len()))
                                    && let Some(dst) = dst_text(&p[1])
                                {
                                    cmap.chars.insert((src.len(), be(src)), dst);
                                }
                            }
                        }
                        Some(b"bfrange") => {
                            for p in items.chunks_exact(3) {
                                let (Some(lo), Some(hi)) = (p[0].as_str(), p[1].as_str()) else { continue };
                                if lo.len() != hi.len() || !(1..=4).contains(&lo.len()) || be(hi) < be(lo) {
                                    continue;
                                }
                                let dst = match &p[2] {
                                    Obj::Str(s) => Dst::Start(utf16_units(s)),
                                    Obj::Array(a) => {
                                        Dst::List(a.iter().map(|d| dst_text(d).unwrap_or_default()).collect())
                                    }
                                    _ => continue,
                                };
                                cmap.ranges.insert((lo.len(), be(lo)), (be(hi), dst));
                            }
                        }
                        _ => {}
                    }
                    section = None;
                    items.clear();
                }
                other if section.is_some() => items.push(other),
                _ => {}
            }
        }
        cmap
    }

    fn is_empty(&self) -> bool {
        self.chars.is_empty() && self.ranges.is_empty()
    }

    /// The length of the code starting `s`, by the code space ranges.
    fn code_len(&self, s: &[u8], default: usize) -> usize {
        if self.space.is_empty() {
            return default;
        }
        for len in 1..=4.min(s.len()) {
            let code = &s[..len];
            if self
                .space
                .iter()
                .any(|(lo, hi)| lo.len() == len && code.iter().zip(lo).zip(hi).all(|((c, l), h)| l <= c && c <= h))
            {
                return len;
            }
        }
        self.space.iter().map(|(lo, _)| lo.len()).min().unwrap_or(default)
    }

    fn lookup(&self, len: usize, code: u32) -> Option<String> {
        if let Some(s) = self.chars.get(&(len, code)) {
            return Some(s.clone());
        }
        let ((l, lo), (hi, dst)) = self.ranges.range(..=(len, code)).next_back()?;
        if *l != len || code > *hi {
            return None;
        }
        let off = code - lo;
        match dst {
            Dst::Start(units) => {
                let mut u = units.clone();
                let last = u.last_mut()?;
                *last = last.wrapping_add(off as u16);
                Some(String::from_utf16_lossy(&u))
            }
            Dst::List(l) => l.get(off as usize).cloned(),
        }
    }
}

fn be(s: &[u8]) -> u32 {
    s.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b))
}

fn utf16_units(s: &[u8]) -> Vec<u16> {
    s.chunks(2).map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])).collect()
}

fn dst_text(o: &Obj) -> Option<String> {
    match o {
        Obj::Str(s) => Some(String::from_utf16_lossy(&utf16_units(s))),
        Obj::Name(n) => glyph_char(n).map(String::from),
        _ => None,
    }
}
