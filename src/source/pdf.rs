//! PDF: the text a reader sees, taken out of (usually Flate-compressed) content streams so
//! that the engine can scan it. A raw byte scan of a PDF finds nothing in compressed
//! streams; this stage hands the caller one UTF-8 text per page (`page-N`), the document
//! information and XMP metadata (`info`), form field values (`form`), and embedded files
//! (by their names) to be taken apart or scanned like any other item.
//!
//! Hand-written on purpose, on top of `flate2` (see `docs/formats.md` for why no PDF
//! crate): the parser is built for hostile input rather than for rendering.
//! - **Objects are found by scanning** for `n g obj` headers (object streams included);
//!   the xref table is not trusted, so truncated files and garbage xrefs are read as far as
//!   they go. Stream data is bounded by `endstream`, whatever `/Length` claims.
//! - **Everything is bounded**: nesting of arrays and dictionaries (the parser's
//!   recursion), reference chains, the page tree (a visited set: recursive references end),
//!   form `XObject`s within form `XObject`s, bytes inflated per stream and per document, the
//!   expansion ratio, the object count and wall-clock time, checked between objects, pages
//!   and every few thousand content operators. A hit stops the document with a reason
//!   that names the limit ([`container::Limits`] supplies the numbers).
//! - **Never a crash**: every step runs under `catch_unwind`; a panic becomes
//!   [`PdfError::Malformed`] with digits masked, and a panic hook keeps the message off
//!   stderr while this module runs (the default hook would print it).
//! - Encrypted documents are not decrypted: [`PdfError::Encrypted`].
//!
//! No threads, no printing, no I/O: the caller reads the bytes and scans the parts.

mod lex;
#[cfg(test)]
mod tests;
mod text;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use memchr::memmem;

use super::container::Limits;
use super::{SkipKind, quiet};
use lex::{Dict, Lexer, Obj, get};

/// How far into an item the `%PDF-` header is looked for (ISO 32000-2 §7.5.2 lets junk
/// precede it; readers accept it within the first 1024 bytes).
pub const HEADER_WINDOW: usize = 1024;

/// Reference chains followed before giving up (`1 0 R` → `2 0 R` → …).
const MAX_REF_HOPS: u32 = 16;
/// Form `XObject`s drawn inside each other.
const MAX_FORM_DEPTH: u32 = 8;
/// Decoded streams kept for reuse: each at most this big…
const CACHE_ONE: usize = 1 << 20;
/// … and all together.
const CACHE_ALL: usize = 32 << 20;
/// Content operators between two time checks.
const OPS_PER_CHECK: u32 = 4096;

/// Whether `head` (an item's first bytes) is a PDF: `%PDF-` at the start, or on a line of
/// its own within the first [`HEADER_WINDOW`] bytes followed by a version number.
pub fn sniff(head: &[u8]) -> bool {
    if head.starts_with(b"%PDF-") {
        return true;
    }
    let window = &head[..head.len().min(HEADER_WINDOW)];
    memmem::find_iter(window, b"%PDF-").any(|at| {
        let line_start = at > 0 && matches!(window[at - 1], b'\n' | b'\r');
        let v = &head[at + 5..head.len().min(at + 8)];
        line_start && v.len() == 3 && v[0].is_ascii_digit() && v[1] == b'.' && v[2].is_ascii_digit()
    })
}

/// Why a document could not be read (a skip reason; the caller then scans its raw bytes).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PdfError {
    /// The document is encrypted.
    #[error("encrypted pdf")]
    Encrypted,
    /// Damaged beyond reading, or the parser failed.
    #[error("malformed pdf: {0}")]
    Malformed(String),
    /// A limit was hit; the reason starts with the limit's name.
    #[error("{0}")]
    Limit(String),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl PdfError {
    /// The kind of skip record this becomes.
    pub fn skip_kind(&self) -> SkipKind {
        match self {
            PdfError::Limit(_) => SkipKind::Limit,
            _ => SkipKind::Error,
        }
    }
}

/// One thing taken out of a document.
#[derive(Debug)]
pub struct Part {
    /// `page-N` (1-based), `info`, `form`, or an embedded file's name.
    pub label: String,
    /// UTF-8 text, or an embedded file's bytes.
    pub body: Vec<u8>,
    /// An embedded file (to be sniffed and taken apart like any item), not text.
    pub embedded: bool,
}

/// Takes the document `data` apart, handing each page's text, the metadata, form values
/// and embedded files to `part` in that order, and problems confined to one part (a page
/// whose content cannot be decoded) to `skip` as `(label, reason, kind)`. An error means
/// the document as a whole could not be read (or stopped at a limit, or was truncated);
/// parts handed before it were complete.
pub fn walk(
    data: &[u8],
    limits: &Limits,
    cancel: &AtomicBool,
    part: &mut dyn FnMut(Part),
    skip: &mut dyn FnMut(String, String, SkipKind),
) -> Result<(), PdfError> {
    let budget = Budget::new(limits, cancel);
    let doc = guarded(|| Document::load(data, &budget))??;
    if doc.encrypted() {
        return Err(PdfError::Encrypted);
    }
    let pages = guarded(|| doc.pages(&budget))??;
    if pages.is_empty() {
        return Err(PdfError::Malformed("no pages found".into()));
    }
    for (i, page) in pages.iter().enumerate() {
        budget.check()?;
        let label = format!("page-{}", i + 1);
        match guarded(|| text::page_text(&doc, page, &budget))? {
            Ok(t) => part(Part { label, body: t.into_bytes(), embedded: false }),
            Err(PdfError::Malformed(reason)) => skip(label, format!("malformed pdf: {reason}"), SkipKind::Error),
            Err(e) => return Err(e),
        }
    }
    let info = guarded(|| doc.info_text(&budget))??;
    if !info.is_empty() {
        part(Part { label: "info".into(), body: info, embedded: false });
    }
    let form = guarded(|| doc.form_text(&budget))??;
    if !form.is_empty() {
        part(Part { label: "form".into(), body: form.into_bytes(), embedded: false });
    }
    let files = guarded(|| doc.embedded_files())?;
    let mut used = HashSet::new();
    for (n, (id, name)) in files.into_iter().enumerate() {
        budget.check()?;
        let body = match guarded(|| doc.stream_data(id, &budget))? {
            Ok(b) => b,
            Err(PdfError::Malformed(reason)) => {
                skip(format!("embedded-{}", n + 1), format!("malformed pdf: {reason}"), SkipKind::Error);
                continue;
            }
            Err(e) => return Err(e),
        };
        let label = match name.map(|s| label_of(&s)) {
            Some(l) if !l.is_empty() && used.insert(l.clone()) => l,
            _ => format!("embedded-{}", n + 1),
        };
        let body = std::rc::Rc::try_unwrap(body).unwrap_or_else(|shared| (*shared).clone());
        part(Part { label, body, embedded: true });
    }
    // Read as far as it goes, but what followed the cut is missing: say so.
    if memmem::rfind(&data[data.len().saturating_sub(HEADER_WINDOW)..], b"%%EOF").is_none() {
        return Err(PdfError::Malformed("truncated (no %%EOF marker at the end)".into()));
    }
    Ok(())
}

/// A file name as a member label: `!` and control characters become `_` (as for mail).
fn label_of(name: &str) -> String {
    name.chars().map(|c| if c == '!' || c.is_control() { '_' } else { c }).collect()
}

/// Runs `f`, turning a panic into [`PdfError::Malformed`] (the message, which could
/// hold bytes of the document, is not printed; digits are masked in the reason).
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, PdfError> {
    quiet::quietly(f).map_err(|payload| {
        PdfError::Malformed(format!("parser failure ({})", mask(&quiet::panic_message(&*payload), 120)))
    })
}

/// At most `max` characters of `s` with every digit replaced by `*`: text that may come
/// from a document goes into reasons only this way.
fn mask(s: &str, max: usize) -> String {
    s.chars().take(max).map(|c| if c.is_numeric() { '*' } else { c }).collect()
}

/// What one document may still cost.
struct Budget<'a> {
    limits: &'a Limits,
    cancel: &'a AtomicBool,
    start: Instant,
    inflated: Cell<u64>,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a Limits, cancel: &'a AtomicBool) -> Budget<'a> {
        Budget { limits, cancel, start: Instant::now(), inflated: Cell::new(0) }
    }

    /// Time and cancellation.
    fn check(&self) -> Result<(), PdfError> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(PdfError::Cancelled);
        }
        if self.start.elapsed() > self.limits.max_time {
            return Err(PdfError::Limit(format!(
                "limit max-time: took longer than {}s",
                self.limits.max_time.as_secs_f64()
            )));
        }
        Ok(())
    }

    /// Accounts for `n` more bytes inflated from a stream of `compressed` bytes that has
    /// produced `so_far` (including `n`).
    fn inflate(&self, n: u64, so_far: u64, compressed: u64) -> Result<(), PdfError> {
        let l = self.limits;
        let total = self.inflated.get() + n;
        self.inflated.set(total);
        if total > l.max_total_bytes {
            return Err(PdfError::Limit(format!(
                "limit max-total-bytes: pdf streams expand to more than {} bytes",
                l.max_total_bytes
            )));
        }
        if so_far > l.max_buffer_bytes {
            return Err(PdfError::Limit(format!(
                "limit max-buffer-bytes: a pdf stream expands to more than {} bytes",
                l.max_buffer_bytes
            )));
        }
        if so_far > l.ratio_floor && so_far / compressed.max(1) > l.max_ratio {
            return Err(PdfError::Limit(format!("limit max-ratio: a pdf stream expands more than {}x", l.max_ratio)));
        }
        Ok(())
    }
}

/// Decoded stream data, shared by the cache and its users.
type Shared = std::rc::Rc<Vec<u8>>;

/// An indirect object: its value and, for a stream, where its data lies in the file.
struct Entry {
    obj: Obj,
    stream: Option<Range<usize>>,
}

/// A document indexed by object number.
struct Document<'a> {
    data: &'a [u8],
    objects: HashMap<u32, Entry>,
    /// The trailer keys, later trailers (incremental updates) overriding earlier ones.
    trailer: Dict,
    /// Small decoded streams, by object number (fonts and forms are used by many pages),
    /// and the bytes they hold.
    cache: RefCell<(HashMap<u32, Shared>, usize)>,
}

/// A page: its content streams and (inherited) resources.
struct Page {
    contents: Vec<Obj>,
    resources: Option<Obj>,
}

impl<'a> Document<'a> {
    /// Indexes every object found by scanning for `n g obj`, then those in object streams.
    fn load(data: &'a [u8], budget: &Budget<'_>) -> Result<Document<'a>, PdfError> {
        let max_objects = budget.limits.max_members;
        let mut doc =
            Document { data, objects: HashMap::new(), trailer: Vec::new(), cache: RefCell::new((HashMap::new(), 0)) };
        let mut pos = 0;
        let finder = memmem::Finder::new(b"obj");
        let mut seen = 0u64;
        while let Some(at) = finder.find(&data[pos..]).map(|i| pos + i) {
            pos = at + 3;
            let Some(num) = object_header(data, at) else { continue };
            if data.get(at + 3).is_some_and(|b| !lex::is_white(*b) && !lex::is_delim(*b)) {
                continue;
            }
            seen += 1;
            if seen.is_multiple_of(1024) {
                budget.check()?;
            }
            if seen > max_objects {
                return Err(PdfError::Limit(format!("limit max-members: pdf has more than {max_objects} objects")));
            }
            let mut lx = Lexer::new(data, at + 3);
            let obj = lx.next_obj().unwrap_or(Obj::Null);
            pos = pos.max(lx.pos);
            let mut stream = None;
            lx.skip_white();
            if data[lx.pos..].starts_with(b"stream") {
                let range = stream_range(data, lx.pos + 6, obj.as_dict());
                pos = range.end;
                stream = Some(range);
            }
            if obj.as_dict().and_then(|d| get(d, b"Type")).and_then(Obj::as_name) == Some(b"XRef") {
                doc.merge_trailer(obj.as_dict());
            }
            doc.objects.insert(num, Entry { obj, stream });
        }
        // Each trailer is parsed once, from where the previous parse ended: a keyword
        // inside an earlier (say, unterminated) trailer is not parsed again, which would
        // make `trailer<<(` repeated quadratic.
        let finder = memmem::Finder::new(b"trailer");
        let mut next = 0;
        for (k, at) in finder.find_iter(data).enumerate() {
            if at < next {
                continue;
            }
            if k.is_multiple_of(64) {
                budget.check()?;
            }
            let mut lx = Lexer::new(data, at + 7);
            if let Some(Obj::Dict(d)) = lx.next_obj() {
                doc.merge_trailer(Some(&d));
            }
            next = lx.pos.max(at + 7);
        }
        doc.load_object_streams(budget)?;
        if doc.objects.is_empty() {
            return Err(PdfError::Malformed("no objects found".into()));
        }
        Ok(doc)
    }

    fn merge_trailer(&mut self, d: Option<&Dict>) {
        for (k, v) in d.into_iter().flatten() {
            if matches!(k.as_slice(), b"Root" | b"Info" | b"Encrypt") {
                self.trailer.retain(|(old, _)| old != k);
                self.trailer.push((k.clone(), v.clone()));
            }
        }
    }

    /// Objects packed in `/Type /ObjStm` streams; a directly written object of the same
    /// number wins.
    fn load_object_streams(&mut self, budget: &Budget<'_>) -> Result<(), PdfError> {
        let mut ids: Vec<u32> = self
            .objects
            .iter()
            .filter(|(_, e)| {
                e.stream.is_some()
                    && e.obj.as_dict().and_then(|d| get(d, b"Type")).and_then(Obj::as_name) == Some(b"ObjStm")
            })
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        let max_objects = budget.limits.max_members as usize;
        for id in ids {
            budget.check()?;
            let Ok(data) = self.stream_data(id, budget) else { continue };
            let dict = self.objects[&id].obj.as_dict().cloned().unwrap_or_default();
            let n = get(&dict, b"N").and_then(Obj::as_num).and_then(lex::uint).unwrap_or(0);
            let first = get(&dict, b"First").and_then(Obj::as_num).and_then(lex::uint).unwrap_or(0);
            let mut header = Lexer::new(&data, 0);
            let mut found: Vec<(u32, usize)> = Vec::new();
            for _ in 0..n.min(data.len() / 2 + 1) {
                match (header.next_obj(), header.next_obj()) {
                    (Some(Obj::Num(num)), Some(Obj::Num(off))) => {
                        let (Some(num), Some(off)) =
                            (lex::uint(num).and_then(|n| u32::try_from(n).ok()), lex::uint(off))
                        else {
                            break;
                        };
                        let at = first.saturating_add(off);
                        // Offsets must increase: entries pointing at the same bytes would
                        // parse (and hold) them many times over.
                        if found.last().is_some_and(|&(_, prev)| at <= prev) {
                            break;
                        }
                        found.push((num, at));
                    }
                    _ => break,
                }
            }
            for (k, &(num, at)) in found.iter().enumerate() {
                if self.objects.len() > max_objects {
                    return Err(PdfError::Limit(format!("limit max-members: pdf has more than {max_objects} objects")));
                }
                if k.is_multiple_of(1024) {
                    budget.check()?;
                }
                if at >= data.len() || self.objects.contains_key(&num) {
                    continue;
                }
                // Each object ends where the next one starts.
                let end = found.get(k + 1).map_or(data.len(), |&(_, next)| next.min(data.len()));
                let obj = Lexer::new(&data[..end], at).next_obj().unwrap_or(Obj::Null);
                self.objects.insert(num, Entry { obj, stream: None });
            }
        }
        Ok(())
    }

    fn encrypted(&self) -> bool {
        get(&self.trailer, b"Encrypt").is_some_and(|e| !matches!(e, Obj::Null))
    }

    /// Follows references (a bounded number of hops); a missing object is `null`.
    fn resolve<'o>(&'o self, mut o: &'o Obj) -> &'o Obj {
        for _ in 0..MAX_REF_HOPS {
            match o {
                Obj::Ref(id) => match self.objects.get(id) {
                    Some(e) => o = &e.obj,
                    None => return &Obj::Null,
                },
                _ => return o,
            }
        }
        &Obj::Null
    }

    /// The dictionary of stream object `id` (`None` if it is not a stream).
    fn stream_dict(&self, id: u32) -> Option<&Dict> {
        let e = self.objects.get(&id)?;
        e.stream.as_ref()?;
        e.obj.as_dict()
    }

    fn dict<'o>(&'o self, o: &'o Obj) -> Option<&'o Dict> {
        self.resolve(o).as_dict()
    }

    /// `dict[key]`, resolved.
    fn get<'o>(&'o self, dict: &'o Dict, key: &[u8]) -> Option<&'o Obj> {
        get(dict, key).map(|o| self.resolve(o))
    }

    /// The object number a reference (through a chain of references) ends at.
    fn target(&self, o: &Obj) -> Option<u32> {
        let mut id = None;
        let mut o = o;
        for _ in 0..MAX_REF_HOPS {
            let Obj::Ref(r) = o else { break };
            id = Some(*r);
            match self.objects.get(r) {
                Some(e) => o = &e.obj,
                None => break,
            }
        }
        id
    }

    fn catalog(&self) -> Option<&Dict> {
        if let Some(root) = get(&self.trailer, b"Root").and_then(|r| self.dict(r)) {
            return Some(root);
        }
        let mut ids: Vec<&u32> = self.objects.keys().collect();
        ids.sort_unstable();
        ids.into_iter().rev().find_map(|id| {
            let d = self.objects[id].obj.as_dict()?;
            (get(d, b"Type").and_then(Obj::as_name) == Some(b"Catalog")).then_some(d)
        })
    }

    /// Pages in order: the page tree from the catalog (a node met twice is not walked
    /// again), or, when that finds none, every `/Type /Page` object by number.
    fn pages(&self, budget: &Budget<'_>) -> Result<Vec<Page>, PdfError> {
        let mut pages = Vec::new();
        if let Some(root) = self.catalog().and_then(|c| get(c, b"Pages")) {
            let mut visited = HashSet::new();
            let mut stack: Vec<(&Obj, Option<Obj>)> = vec![(root, None)];
            let mut steps = 0u32;
            while let Some((node, inherited)) = stack.pop() {
                steps += 1;
                if steps.is_multiple_of(1024) {
                    budget.check()?;
                }
                if let Some(id) = self.target(node)
                    && !visited.insert(id)
                {
                    continue;
                }
                let Some(d) = self.dict(node) else { continue };
                let resources = get(d, b"Resources").cloned().or(inherited);
                match self.get(d, b"Kids") {
                    Some(Obj::Array(kids)) if get(d, b"Type").and_then(Obj::as_name) != Some(b"Page") => {
                        for kid in kids.iter().rev() {
                            stack.push((kid, resources.clone()));
                        }
                    }
                    _ => pages.push(self.page(d, resources)),
                }
            }
        }
        if pages.is_empty() {
            let mut ids: Vec<&u32> = self.objects.keys().collect();
            ids.sort_unstable();
            for id in ids {
                if let Some(d) = self.objects[id].obj.as_dict()
                    && get(d, b"Type").and_then(Obj::as_name) == Some(b"Page")
                {
                    pages.push(self.page(d, get(d, b"Resources").cloned()));
                }
            }
        }
        Ok(pages)
    }

    fn page(&self, d: &Dict, resources: Option<Obj>) -> Page {
        let contents = match get(d, b"Contents") {
            Some(r @ Obj::Ref(_)) => match self.resolve(r) {
                Obj::Array(a) => a.clone(),
                _ => vec![r.clone()],
            },
            Some(Obj::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        Page { contents, resources }
    }

    /// The decoded data of stream object `id` (small ones are cached).
    fn stream_data(&self, id: u32, budget: &Budget<'_>) -> Result<std::rc::Rc<Vec<u8>>, PdfError> {
        if let Some(d) = self.cache.borrow().0.get(&id) {
            return Ok(d.clone());
        }
        let entry = self.objects.get(&id).ok_or_else(|| PdfError::Malformed("missing stream object".into()))?;
        let range = entry.stream.clone().ok_or_else(|| PdfError::Malformed("object is not a stream".into()))?;
        let dict = entry.obj.as_dict().cloned().unwrap_or_default();
        let out = std::rc::Rc::new(self.decode(&self.data[range], &dict, budget)?);
        let mut cache = self.cache.borrow_mut();
        if out.len() <= CACHE_ONE && cache.1 + out.len() <= CACHE_ALL {
            cache.1 += out.len();
            cache.0.insert(id, out.clone());
        }
        Ok(out)
    }

    /// Applies the stream's filters.
    fn decode(&self, raw: &[u8], dict: &Dict, budget: &Budget<'_>) -> Result<Vec<u8>, PdfError> {
        let filters: Vec<Vec<u8>> = match self.get(dict, b"Filter") {
            Some(Obj::Name(n)) => vec![n.clone()],
            Some(Obj::Array(a)) => a.iter().filter_map(|f| self.resolve(f).as_name().map(<[u8]>::to_vec)).collect(),
            _ => Vec::new(),
        };
        let mut data = raw.to_vec();
        for f in &filters {
            data = match f.as_slice() {
                b"FlateDecode" | b"Fl" => inflate(&data, budget)?,
                b"ASCIIHexDecode" | b"AHx" => {
                    let v = [b"<".as_slice(), &data].concat();
                    Lexer::new(&v, 0).next_obj().and_then(|o| o.as_str().map(<[u8]>::to_vec)).unwrap_or_default()
                }
                b"ASCII85Decode" | b"A85" => ascii85(&data),
                other => {
                    return Err(PdfError::Malformed(format!(
                        "unsupported stream filter {}",
                        mask(&String::from_utf8_lossy(other), 40)
                    )));
                }
            };
        }
        Ok(data)
    }

    /// The document information dictionary and the XMP metadata stream, as text.
    fn info_text(&self, budget: &Budget<'_>) -> Result<Vec<u8>, PdfError> {
        let mut out = Vec::new();
        if let Some(info) = get(&self.trailer, b"Info").and_then(|i| self.dict(i)) {
            for (k, v) in info {
                if let Some(s) = self.resolve(v).as_str() {
                    out.extend_from_slice(&k[..]);
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(text_string(s).as_bytes());
                    out.push(b'\n');
                }
            }
        }
        if let Some(id) = self.catalog().and_then(|c| get(c, b"Metadata")).and_then(|m| self.target(m)) {
            match self.stream_data(id, budget) {
                Ok(xmp) => {
                    out.extend_from_slice(&xmp);
                    out.push(b'\n');
                }
                Err(PdfError::Malformed(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `AcroForm` field values, one `name: value` line each.
    fn form_text(&self, budget: &Budget<'_>) -> Result<String, PdfError> {
        let mut out = String::new();
        let Some(fields) = self
            .catalog()
            .and_then(|c| self.get(c, b"AcroForm"))
            .and_then(|f| self.dict(f))
            .and_then(|f| self.get(f, b"Fields"))
        else {
            return Ok(out);
        };
        let Obj::Array(fields) = fields else { return Ok(out) };
        let mut stack: Vec<&Obj> = fields.iter().rev().collect();
        let mut visited = HashSet::new();
        while let Some(f) = stack.pop() {
            if visited.len() % 1024 == 1023 {
                budget.check()?;
            }
            if let Some(id) = self.target(f)
                && !visited.insert(id)
            {
                continue;
            }
            let Some(d) = self.dict(f) else { continue };
            let value = match self.get(d, b"V") {
                Some(Obj::Str(s)) => Some(text_string(s)),
                Some(Obj::Name(n)) => Some(String::from_utf8_lossy(n).into_owned()),
                Some(Obj::Array(a)) => Some(
                    a.iter().filter_map(|v| self.resolve(v).as_str().map(text_string)).collect::<Vec<_>>().join(" "),
                ),
                _ => None,
            };
            if let Some(v) = value {
                let name = self.get(d, b"T").and_then(Obj::as_str).map(text_string).unwrap_or_default();
                out.push_str(&name);
                out.push_str(": ");
                out.push_str(&v);
                out.push('\n');
            }
            if let Some(Obj::Array(kids)) = self.get(d, b"Kids") {
                stack.extend(kids.iter().rev());
            }
        }
        Ok(out)
    }

    /// Embedded files: every file specification with an `/EF` stream (name trees and file
    /// attachment annotations alike), then any `/Type /EmbeddedFile` stream not named by
    /// one. Object-number order.
    fn embedded_files(&self) -> Vec<(u32, Option<String>)> {
        let mut ids: Vec<&u32> = self.objects.keys().collect();
        ids.sort_unstable();
        let mut out: Vec<(u32, Option<String>)> = Vec::new();
        let mut named = HashSet::new();
        let mut visit = |d: &Dict, out: &mut Vec<(u32, Option<String>)>| {
            let Some(ef) = self.get(d, b"EF").and_then(Obj::as_dict) else { return };
            let Some(id) = get(ef, b"UF").or_else(|| get(ef, b"F")).and_then(|r| self.target(r)) else { return };
            if named.insert(id) {
                let name = self.get(d, b"UF").or_else(|| self.get(d, b"F")).and_then(Obj::as_str).map(text_string);
                out.push((id, name));
            }
        };
        for id in &ids {
            match &self.objects[id].obj {
                Obj::Dict(d) => {
                    visit(d, &mut out);
                    // A file specification written inline in an annotation or name tree.
                    for (_, v) in d {
                        if let Obj::Dict(inner) = v {
                            visit(inner, &mut out);
                        }
                    }
                }
                Obj::Array(a) => {
                    for v in a {
                        if let Obj::Dict(inner) = v {
                            visit(inner, &mut out);
                        }
                    }
                }
                _ => {}
            }
        }
        for id in ids {
            let e = &self.objects[id];
            if e.stream.is_some()
                && !named.contains(id)
                && e.obj.as_dict().and_then(|d| get(d, b"Type")).and_then(Obj::as_name) == Some(b"EmbeddedFile")
            {
                out.push((*id, None));
            }
        }
        out
    }
}

/// The object number of an `n g obj` header whose `obj` keyword starts at `at`.
fn object_header(data: &[u8], at: usize) -> Option<u32> {
    let mut i = at;
    let white = |i: &mut usize| {
        let s = *i;
        while *i > 0 && lex::is_white(data[*i - 1]) {
            *i -= 1;
        }
        *i < s
    };
    let digits = |i: &mut usize| {
        let end = *i;
        while *i > 0 && data[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        (*i < end).then(|| std::str::from_utf8(&data[*i..end]).ok()?.parse::<u64>().ok()).flatten()
    };
    if !white(&mut i) {
        return None;
    }
    digits(&mut i)?;
    if !white(&mut i) {
        return None;
    }
    let num = digits(&mut i)?;
    if i > 0 && !lex::is_white(data[i - 1]) && !lex::is_delim(data[i - 1]) {
        return None;
    }
    u32::try_from(num).ok()
}

/// Where a stream's data lies: `/Length` when it is direct, fits, and is followed by
/// `endstream`; otherwise up to the next `endstream` (or the end of a truncated file).
fn stream_range(data: &[u8], after_keyword: usize, dict: Option<&Dict>) -> Range<usize> {
    let mut start = after_keyword.min(data.len());
    if data[start..].starts_with(b"\r\n") {
        start += 2;
    } else if data[start..].starts_with(b"\n") || data[start..].starts_with(b"\r") {
        start += 1;
    }
    if let Some(len) = dict.and_then(|d| get(d, b"Length")).and_then(Obj::as_num)
        && let Some(end) = lex::uint(len).and_then(|l| start.checked_add(l)).filter(|e| *e <= data.len())
    {
        let mut k = end;
        while k < data.len() && lex::is_white(data[k]) {
            k += 1;
        }
        if data[k..].starts_with(b"endstream") {
            return start..end;
        }
    }
    match memmem::find(&data[start..], b"endstream") {
        Some(i) => {
            let mut end = start + i;
            if end > start && data[end - 1] == b'\n' {
                end -= 1;
            }
            if end > start && data[end - 1] == b'\r' {
                end -= 1;
            }
            start..end
        }
        None => start..data.len(),
    }
}

/// Inflates zlib (or, failing that, raw deflate) data within the budget. Data that ends
/// early or turns corrupt yields what was inflated before the damage.
fn inflate(input: &[u8], budget: &Budget<'_>) -> Result<Vec<u8>, PdfError> {
    let zlib = input.len() >= 2 && input[0] & 0x0f == 8 && (u16::from(input[0]) << 8 | u16::from(input[1])) % 31 == 0;
    let mut d = flate2::Decompress::new(zlib);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let before_in = d.total_in();
        let before_out = d.total_out();
        let at = usize::try_from(before_in).unwrap_or(usize::MAX).min(input.len());
        let status = d.decompress(&input[at..], &mut chunk, flate2::FlushDecompress::None);
        let produced = (d.total_out() - before_out) as usize;
        out.extend_from_slice(&chunk[..produced]);
        budget.inflate(produced as u64, out.len() as u64, input.len() as u64)?;
        match status {
            Ok(flate2::Status::StreamEnd) | Err(_) => break,
            Ok(_) if produced == 0 && d.total_in() == before_in => break,
            Ok(_) => {}
        }
        if out.len() % (1 << 20) < produced {
            budget.check()?;
        }
    }
    Ok(out)
}

/// ASCII85 (`<~ … ~>` optional); invalid characters are skipped.
fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut group = [0u32; 5];
    let mut n = 0;
    let body = data.strip_prefix(b"<~").unwrap_or(data);
    for &b in body {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0, 0, 0, 0]),
            b'!'..=b'u' => {
                group[n] = u32::from(b - b'!');
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u32, |acc, d| acc.wrapping_mul(85).wrapping_add(*d));
                    out.extend_from_slice(&v.to_be_bytes());
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        for g in group.iter_mut().skip(n) {
            *g = 84;
        }
        let v = group.iter().fold(0u32, |acc, d| acc.wrapping_mul(85).wrapping_add(*d));
        out.extend_from_slice(&v.to_be_bytes()[..n - 1]);
    }
    out
}

/// A PDF text string (§7.9.2.2): UTF-16BE with a byte-order mark, UTF-8 with one, else
/// `PDFDocEncoding` (taken as windows-1252, which agrees on every printable ASCII byte).
fn text_string(s: &[u8]) -> String {
    if let Some(rest) = s.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = s.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    encoding_rs::WINDOWS_1252.decode_without_bom_handling(s).0.into_owned()
}
