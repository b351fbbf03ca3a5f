//! Reading files for the scanner: read-only, `O_NOATIME` where permitted, into a reused
//! buffer, in chunks that overlap by [`Scanner::overlap`] bytes on each side so that a PAN
//! and its whole context window are seen even across a chunk edge.
//!
//! A large file is split into [`Piece`]s that different threads scan; each piece reads its
//! own overlap, reports only matches that start inside it and counts its newlines, so the
//! writer can turn piece-relative line numbers into file line numbers. Binary files are
//! scanned as bytes: a NUL never makes a file "skippable".

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::throttle::Throttle;

use crate::finding::Finding;
use crate::scan::decode::{self, TextEncoding, View};
use crate::scan::embedded::{self, Embedded, EmbeddedLimits};
use crate::scan::record::Header;
use crate::scan::sheet::SheetXml;
use crate::scan::{ScanInput, Scanner};

/// Bytes read per chunk.
pub const CHUNK: usize = 1 << 20;
/// Largest first line read to look for a CSV header.
const HEADER_PROBE: usize = 4096;

/// Opens a file read-only without updating its access time where the kernel lets us
/// (`O_NOATIME` needs ownership or `CAP_FOWNER`), and without blocking should the path
/// have been swapped for a FIFO since it was listed.
pub fn open(path: &Path) -> io::Result<File> {
    open_noting_atime(path).map(|(f, _)| f)
}

/// [`open`], also saying whether the file was opened with `O_NOATIME` (false: reading it
/// may update its access time, which forensic mode then sets back).
pub fn open_noting_atime(path: &Path) -> io::Result<(File, bool)> {
    let flags = libc::O_NOATIME | libc::O_NONBLOCK | libc::O_CLOEXEC;
    match OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map(|f| (f, false)),
        other => other.map(|f| (f, true)),
    }
}

/// The least a file may grow while it is read and still be read to its end (see
/// [`Piece::growth_cap`]).
pub const GROWTH_ALLOWANCE: u64 = 8 << 20;

/// A byte range of a file to scan: `end: None` means "to the end, however long it is now".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// First byte owned.
    pub start: u64,
    /// One past the last byte owned, or `None` for end of file.
    pub end: Option<u64>,
    /// For a piece to the end of the file: no byte at or past this is owned, however long
    /// the file grows while read ([`Piece::growth_cap`]). Unlike `end`, the piece still
    /// ends at the end of the file, and rows of records still end rounds.
    pub cap: Option<u64>,
}

impl Piece {
    /// The whole file.
    pub const WHOLE: Piece = Piece { start: 0, end: None, cap: None };

    /// The whole of a file that was `size` bytes long when opened: to its end, but no
    /// further than [`Piece::growth_cap`].
    pub fn whole(size: u64) -> Piece {
        Piece { cap: Some(Piece::growth_cap(size)), ..Piece::WHOLE }
    }

    /// How far a file `size` bytes long when opened is read if it grows while read: by
    /// its own size or [`GROWTH_ALLOWANCE`], whichever is more. A file written faster
    /// than it is read (a busy log under `--max-rate`) would otherwise never be done.
    pub fn growth_cap(size: u64) -> u64 {
        size.saturating_add(size.max(GROWTH_ALLOWANCE))
    }

    /// Splits a file of `size` bytes into pieces of `piece` bytes; the last one runs to
    /// the end of the file, so a growing file is read to its end (callers bound it with
    /// [`Piece::growth_cap`]).
    pub fn split(size: u64, piece: u64) -> Vec<Piece> {
        let n = size.div_ceil(piece.max(1)).max(1);
        (0..n).map(|i| Piece { start: i * piece, end: (i + 1 < n).then(|| (i + 1) * piece), cap: None }).collect()
    }
}

/// A finding located in a file.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The finding (its `offset` is relative to the buffer it was found in).
    pub finding: Finding,
    /// Byte offset in the file (of the first byte of the match in the original encoding).
    pub byte_offset: u64,
    /// Newlines between the piece start and the finding (0-based line within the piece).
    pub line_in_piece: u64,
    /// The match was written with full-width or other non-ASCII digits or separators that
    /// the decoded view folded to ASCII.
    pub folded: bool,
    /// Decoders that found it inside the file's text (`utf-16le-strings`, `base64`,
    /// `url`, …), outermost first; empty for the plain scan.
    pub decoders: Vec<&'static str>,
    /// The database row the finding is in (set by database sources).
    pub row_key: Option<super::RowKey>,
}

/// What scanning a piece read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PieceStats {
    /// Bytes owned by the piece and scanned.
    pub bytes: u64,
    /// Newlines in the owned bytes.
    pub newlines: u64,
    /// The file held a NUL byte in the first chunk read (and is not UTF-16 text).
    pub binary: bool,
    /// The text encoding the file was decoded from, when not UTF-8/ASCII.
    pub encoding: Option<TextEncoding>,
    /// Stopped early because the run was cancelled.
    pub interrupted: bool,
    /// Embedded encodings (base64, …) were decoded only partly: their budget ran out.
    pub embedded_truncated: bool,
    /// Stopped at the piece's growth cap with more of the file after it (it grew while
    /// read by more than the cap allows).
    pub capped: bool,
}

impl PieceStats {
    /// The `encoding` field of findings from this piece.
    pub fn encoding_name(&self) -> &'static str {
        match self.encoding {
            Some(e) => e.name(),
            None if self.binary => "binary",
            None => "utf-8",
        }
    }
}

/// What the start of a file says about all of it: its text encoding and, for delimited
/// text, its header row. Computed once and shared by every piece of a split file.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// Text encoding needing a decoded view (`None`: bytes as they are).
    pub encoding: Option<TextEncoding>,
    /// The CSV header, if the first line is one.
    pub header: Option<Header>,
    /// The file starts with a NUL byte within its first 8 KiB and is not UTF-16.
    pub binary: bool,
    /// The file is spreadsheet XML (an xlsx worksheet, ODF content): its numeric cells
    /// are examined too.
    pub sheet: Option<SheetXml>,
}

impl Probe {
    /// Probes the first bytes of a file (at least [`decode::SNIFF_BYTES`] when the file
    /// is that long).
    pub fn of(head: &[u8], scanner: &Scanner) -> Probe {
        let head = &head[..head.len().min(decode::SNIFF_BYTES)];
        match decode::sniff(head) {
            Some(enc) => Probe::declared(head, enc, scanner),
            None => Probe {
                encoding: None,
                header: header_of(&head[..head.len().min(HEADER_PROBE)], scanner),
                binary: memchr::memchr(0, head).is_some(),
                sheet: SheetXml::sniff(head),
            },
        }
    }

    /// The probe of text declared to be in `enc` (its header row read through a view).
    pub fn declared(head: &[u8], enc: TextEncoding, scanner: &Scanner) -> Probe {
        let head = &head[..head.len().min(decode::SNIFF_BYTES)];
        let mut v = View::new();
        v.decode(enc, head, 0);
        Probe {
            encoding: Some(enc),
            header: header_of(&v.buf[..v.buf.len().min(HEADER_PROBE)], scanner),
            binary: false,
            sheet: None,
        }
    }
}

/// A per-thread reader: owns the reused buffers.
#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    view: View,
    runs: View,
    embedded: Embedded,
    /// Line ranges of the current chunk the plain scan skips (whole lines of base64).
    skip: Vec<std::ops::Range<usize>>,
    /// What the last scan that failed had read before its error.
    partial: PieceStats,
    /// `--max-rate`: charged for every byte [`Reader::scan_piece`] reads from disk (not for
    /// the holes of a sparse file, which are not read).
    throttle: Option<Arc<Throttle>>,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader {
            buf: Vec::new(),
            view: View::new(),
            runs: View::new(),
            embedded: Embedded::new(EmbeddedLimits::default()),
            skip: Vec::new(),
            partial: PieceStats::default(),
            throttle: None,
        }
    }
}

fn read_full_at(file: &File, buf: &mut [u8], mut offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadAfter::wrap(e, done)),
        }
    }
    Ok(done)
}

/// [`read_full_at`] for a sparse file: the holes (found with `SEEK_DATA`/`SEEK_HOLE`) are
/// written as zeros here instead of read, and each read stops at the next hole. Reading a
/// hole costs the kernel a zeroed page-cache page and a copy per 4 KiB: 80 % of the time
/// of a scan of a mostly empty 2 GiB file. Any error from the seeks falls back to plain
/// reads. Returns the bytes filled and, in `read`, how many of them came from the disk
/// (what `--max-rate` charges).
///
/// A hole that runs to the end of the file is filled only up to the size taken *before*
/// the seek: bytes appended after it are read, never taken for zeros. (File systems whose
/// `SEEK_DATA` has reported holes over data still being written, such as `OpenZFS` before
/// 2.2.2, are not told apart.)
fn read_sparse_at(file: &File, buf: &mut [u8], mut offset: u64, read: &mut u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let want = (buf.len() - done) as u64;
        let size = file.metadata().map_err(|e| ReadAfter::wrap(e, done))?.len();
        // Where the data to read ends (`None`: read what is there).
        let read_to = if offset >= size {
            None
        } else {
            match crate::os::seek_data(file, offset) {
                // A hole up to `data`; or, without data after `offset`, to the end as it
                // was before the seek.
                Ok(hole_to) if hole_to.is_none_or(|d| d > offset) => {
                    let n = (hole_to.unwrap_or(size).min(size) - offset).min(want) as usize;
                    buf[done..done + n].fill(0);
                    done += n;
                    offset += n as u64;
                    continue;
                }
                // In data: read it up to the next hole.
                Ok(_) => crate::os::seek_hole(file, offset).ok().filter(|&h| h > offset),
                Err(_) => None,
            }
        };
        let n = read_to.map_or(want, |h| (h - offset).min(want)) as usize;
        let got = read_full_at(file, &mut buf[done..done + n], offset).map_err(|e| {
            let (got, e) = ReadAfter::split(e);
            *read += got as u64;
            ReadAfter::wrap(e, done + got)
        })?;
        *read += got as u64;
        done += got;
        offset += got as u64;
        if got < n {
            // The end of the file (it may have shrunk).
            break;
        }
    }
    Ok(done)
}

/// Whether `b` is all zero bytes: 64 at a time (vectorised), stopping at the first block
/// with anything in it.
fn all_zero(b: &[u8]) -> bool {
    let (blocks, rest) = b.as_chunks::<64>();
    blocks.iter().all(|c| c.iter().fold(0, |a, &x| a | x) == 0) && rest.iter().all(|&x| x == 0)
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match r.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadAfter::wrap(e, done)),
        }
    }
    Ok(done)
}

/// A read error after `done` bytes of a fill had been read (EIO at a bad sector part way
/// through a chunk): those bytes are scanned before the error is reported.
#[derive(Debug)]
struct ReadAfter {
    done: usize,
    source: io::Error,
}

impl ReadAfter {
    fn wrap(source: io::Error, done: usize) -> io::Error {
        if done == 0 { source } else { io::Error::new(source.kind(), ReadAfter { done, source }) }
    }

    /// The bytes read before the error (0 if none) and the original error.
    fn split(e: io::Error) -> (usize, io::Error) {
        if e.get_ref().is_some_and(<dyn std::error::Error + Send + Sync>::is::<ReadAfter>) {
            let inner = e.into_inner().expect("checked above").downcast::<ReadAfter>().expect("checked above");
            (inner.done, inner.source)
        } else {
            (0, e)
        }
    }
}

impl std::fmt::Display for ReadAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl std::error::Error for ReadAfter {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Reads up to `n` bytes from the start of a file.
pub fn read_head(file: &File, n: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; n];
    let got = read_full_at(file, &mut head, 0).map_err(|e| ReadAfter::split(e).1)?;
    head.truncate(got);
    Ok(head)
}

fn header_of(data: &[u8], scanner: &Scanner) -> Option<Header> {
    let line_end = memchr::memchr(b'\n', data)?;
    Header::detect(scanner.detectors(), &data[..line_end])
}

impl Reader {
    /// A reader with empty buffers (they grow to one chunk plus overlap).
    pub fn new() -> Reader {
        Reader::default()
    }

    /// A reader whose file reads ([`Reader::scan_piece`]) are charged to `throttle`.
    /// Streams ([`Reader::scan_stream`]) are not: their bytes come from memory or from a
    /// decompressor, and the caller throttles the file under them.
    pub fn with_throttle(throttle: Option<Arc<Throttle>>) -> Reader {
        Reader { throttle, ..Reader::default() }
    }

    /// What the last scan that returned an error had scanned before it (bytes, lines,
    /// encoding), so that a caller can still count it.
    pub fn partial_stats(&self) -> PieceStats {
        self.partial
    }

    /// Scans one piece of `file`, calling `emit` for each hit in file order. `probe` is
    /// the file's [`Probe`]; when `None`, the piece must start at 0 and the first chunk
    /// is probed.
    pub fn scan_piece(
        &mut self,
        file: &File,
        piece: Piece,
        probe: Option<&Probe>,
        scanner: &Scanner,
        cancel: &AtomicBool,
        emit: &mut dyn FnMut(Hit),
    ) -> io::Result<PieceStats> {
        let throttle = self.throttle.clone();
        // Fewer allocated blocks than the size needs: a sparse file (or a compressed one,
        // whose data the seeks report as one region).
        let sparse = file.metadata().is_ok_and(|m| m.blocks().saturating_mul(512) < m.len());
        let mut fill = |buf: &mut [u8], at| {
            // Holes are not read from disk: `--max-rate` is charged for the rest only.
            let mut read = 0;
            let n = if sparse {
                read_sparse_at(file, buf, at, &mut read)?
            } else {
                let n = read_full_at(file, buf, at)?;
                read = n as u64;
                n
            };
            if let Some(t) = &throttle {
                t.take(read, cancel);
            }
            Ok(n)
        };
        self.scan_with(&mut fill, piece, probe, scanner, cancel, emit)
    }

    /// Scans a stream from its start to its end (an archive member, a mail part). `hint` is
    /// a declared text encoding (a MIME charset); without one the start is probed.
    pub fn scan_stream(
        &mut self,
        input: &mut dyn Read,
        hint: Option<TextEncoding>,
        scanner: &Scanner,
        cancel: &AtomicBool,
        emit: &mut dyn FnMut(Hit),
    ) -> io::Result<PieceStats> {
        let probe = match hint {
            // A declared charset of UTF-8 or ASCII is no reason to skip sniffing: UTF-16
            // attachments are often mislabelled.
            Some(enc) if enc != TextEncoding::Utf8 => {
                let mut head = Vec::with_capacity(decode::SNIFF_BYTES);
                input.take(decode::SNIFF_BYTES as u64).read_to_end(&mut head)?;
                let probe = match enc {
                    // "UTF-16" labels say nothing reliable about byte order, and are often
                    // wrong: believe the content (BOM, zero bytes) over the label.
                    TextEncoding::Utf16Le | TextEncoding::Utf16Be => match decode::sniff(&head) {
                        Some(e @ (TextEncoding::Utf16Le | TextEncoding::Utf16Be)) => Probe::declared(&head, e, scanner),
                        _ => Probe::of(&head, scanner),
                    },
                    _ => Probe::declared(&head, enc, scanner),
                };
                let mut chained = io::Cursor::new(head).chain(input);
                return self.scan_with(
                    &mut |buf, _| read_full(&mut chained, buf),
                    Piece::WHOLE,
                    Some(&probe),
                    scanner,
                    cancel,
                    emit,
                );
            }
            _ => None,
        };
        self.scan_with(&mut |buf, _| read_full(input, buf), Piece::WHOLE, probe, scanner, cancel, emit)
    }

    /// Scans a database table rendered as tab-separated text (a header line, then one
    /// line per row) whose columns are `header`: UTF-8, one record per line.
    pub fn scan_table(
        &mut self,
        input: &mut dyn Read,
        header: Header,
        scanner: &Scanner,
        cancel: &AtomicBool,
        emit: &mut dyn FnMut(Hit),
    ) -> io::Result<PieceStats> {
        let probe = Probe { header: Some(header), ..Probe::default() };
        self.scan_with(&mut |buf, _| read_full(input, buf), Piece::WHOLE, Some(&probe), scanner, cancel, emit)
    }

    /// The chunk loop. `fill(buf, at)` reads as much of `buf` as it can from absolute
    /// offset `at`; offsets only ever move forward, contiguously, so a stream can ignore
    /// `at`.
    fn scan_with(
        &mut self,
        fill: &mut dyn FnMut(&mut [u8], u64) -> io::Result<usize>,
        piece: Piece,
        probe: Option<&Probe>,
        scanner: &Scanner,
        cancel: &AtomicBool,
        emit: &mut dyn FnMut(Hit),
    ) -> io::Result<PieceStats> {
        // The scanner's window is counted in view bytes; a view can be 4x smaller than
        // the raw bytes (UTF-16 ASCII 2:1, UTF-8 full-width 3:1, escapes and ISO-2022-JP
        // shifts more), so the raw overlap is 4x the window. Cheap against 1 MiB chunks.
        let ov = scanner.overlap() * 4;
        let mut stats = PieceStats::default();
        let want = CHUNK + 2 * ov;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        // `buf[..len]` holds file bytes starting at `buf_abs`; bytes before `owned_from`
        // are context already reported by the previous round (or the previous piece).
        let mut buf_abs = piece.start.saturating_sub(ov as u64);
        let mut len = 0usize;
        let mut owned_from = piece.start;
        let mut eof = false;
        let mut local: Option<Probe> = None;
        let mut hits: Vec<Finding> = Vec::new();
        let mut embedded_chains: Vec<Vec<&'static str>> = Vec::new();
        let mut sync: Option<usize> = None;
        loop {
            if cancel.load(Ordering::Relaxed) {
                stats.interrupted = true;
                return Ok(stats);
            }
            // Read no further than the right context of the piece end (or cap).
            let stop = piece.end.or(piece.cap);
            let limit = stop.map_or(want, |e| usize::try_from(e + ov as u64 - buf_abs).unwrap_or(want).min(want));
            let (n, failed) = match fill(&mut self.buf[len..limit], buf_abs + len as u64) {
                Ok(n) => (n, None),
                Err(e) => match ReadAfter::split(e) {
                    // Bytes were read before the error: scan them, then report it.
                    (done, e) if done > 0 => (done, Some(e)),
                    (_, e) => {
                        // What was scanned before the error still counts.
                        self.partial = stats;
                        return Err(e);
                    }
                },
            };
            eof = eof || failed.is_some() || len + n < limit;
            len += n;
            let probe = match probe {
                Some(p) => p,
                None => local.get_or_insert_with(|| Probe::of(&self.buf[..len], scanner)),
            };
            stats.binary = probe.binary;
            stats.encoding = probe.encoding;
            let buf_end = buf_abs + len as u64;
            let mut owned_to = if eof { buf_end } else { buf_end - ov as u64 };
            if let Some(end) = stop {
                owned_to = owned_to.min(end);
            }
            // Records: a round ends at a row's end, so every row it reports on is whole in
            // the buffer (a row longer than the round is read as it comes).
            if !eof
                && piece.end.is_none()
                && probe.encoding.is_none()
                && probe.header.is_some()
                && owned_to > owned_from
            {
                let (from, to) = ((owned_from - buf_abs) as usize, (owned_to - buf_abs) as usize);
                if let Some(nl) = memchr::memrchr(b'\n', &self.buf[from..to]) {
                    owned_to = owned_from + nl as u64 + 1;
                }
            }
            let owned_to = owned_to.max(owned_from);
            let rel = |abs: u64| (abs - buf_abs) as usize;
            // A round of nothing but zero bytes (a hole of a sparse file, a preallocated or
            // padded region) holds no digit, letter or mark: nothing can be found in it,
            // and it has no line end.
            let carry_enc = if all_zero(&self.buf[..len]) {
                None
            } else {
                let raw = &self.buf[..len];
                // A decoded view when the file's encoding needs one, or when this chunk of a
                // UTF-8 file holds full-width digits or separators.
                let utf16 = matches!(probe.encoding, Some(TextEncoding::Utf16Le | TextEncoding::Utf16Be));
                let enc = match probe.encoding {
                    // UTF-16 text always has zero bytes: a chunk without any (ASCII appended
                    // to a UTF-16 log) is read as it is.
                    Some(_) if utf16 && memchr::memchr(0, raw).is_none() => None,
                    Some(e) => Some(e),
                    None => decode::needs_utf8_view(raw).then_some(TextEncoding::Utf8),
                };
                let (scan_buf, report) = if let Some(enc) = enc {
                    self.view.decode_from(enc, raw, buf_abs, sync.take());
                    let r = self.view.to_view(&(rel(owned_from)..rel(owned_to)));
                    (&self.view.buf[..], r)
                } else {
                    // A piece past a file that shrank owns nothing: an empty range at the end.
                    (raw, rel(owned_from).min(len)..rel(owned_to).min(len))
                };
                let view = enc.map(|_| &self.view);
                let to_raw = |i: usize| view.map_or(i, |v| v.original(i));
                let input = ScanInput {
                    buf: scan_buf,
                    report: report.clone(),
                    at_start: buf_abs == 0,
                    header: probe.header.as_ref(),
                };
                hits.clear();
                // Embedded encodings are looked for in UTF-8/ASCII text and binary data; whole
                // lines of base64 found then need no plain scan (see `base64_lines`).
                let embedded = probe.encoding.is_none() && self.embedded.may_contain(raw);
                self.skip.clear();
                if embedded && enc.is_none() {
                    embedded::base64_lines(raw, &mut self.skip);
                }
                scanner.scan_outside(&input, &self.skip, &mut hits);
                hits.sort_by_key(|f| f.offset);
                let lines_before_round = stats.newlines;
                let mut round: Vec<Hit> = Vec::with_capacity(hits.len());
                let mut line_pos = report.start;
                for f in hits.drain(..) {
                    let at = f.offset.max(line_pos);
                    stats.newlines += memchr::memchr_iter(b'\n', &scan_buf[line_pos..at]).count() as u64;
                    line_pos = at;
                    let raw_start = to_raw(f.offset);
                    let folded = view.is_some_and(|v| v.folded(&(f.offset..f.offset + f.len)));
                    let byte_offset = buf_abs + raw_start as u64;
                    round.push(Hit {
                        finding: f,
                        byte_offset,
                        line_in_piece: stats.newlines,
                        folded,
                        decoders: Vec::new(),
                        row_key: None,
                    });
                }
                stats.newlines +=
                    memchr::memchr_iter(b'\n', &scan_buf[line_pos..report.end.max(line_pos)]).count() as u64;
                // Spreadsheet XML: card numbers stored as numbers (E notation, 15 digits kept).
                if let Some(kind) = probe.sheet.filter(|_| enc.is_none()) {
                    scanner.scan_sheet_numbers(&input, kind, &mut hits);
                    for f in hits.drain(..) {
                        let from = report.start.min(f.offset);
                        let line = lines_before_round + memchr::memchr_iter(b'\n', &raw[from..f.offset]).count() as u64;
                        let byte_offset = buf_abs + f.offset as u64;
                        round.push(Hit {
                            finding: f,
                            byte_offset,
                            line_in_piece: line,
                            folded: false,
                            decoders: Vec::new(),
                            row_key: None,
                        });
                    }
                }
                // Binary data (legacy .doc/.xls, memory dumps, databases) often holds text as
                // UTF-16LE strings: scan those runs too.
                if probe.binary && self.runs.utf16_strings(raw) {
                    let owned = rel(owned_from).min(len)..rel(owned_to).min(len);
                    let input = ScanInput {
                        buf: &self.runs.buf,
                        report: self.runs.to_view(&owned),
                        at_start: false,
                        header: None,
                    };
                    scanner.scan(&input, &mut hits);
                    for f in hits.drain(..) {
                        let raw_start = self.runs.original(f.offset);
                        let from = owned.start.min(raw_start);
                        let line =
                            lines_before_round + memchr::memchr_iter(b'\n', &raw[from..raw_start]).count() as u64;
                        let folded = self.runs.folded(&(f.offset..f.offset + f.len));
                        let byte_offset = buf_abs + raw_start as u64;
                        round.push(Hit {
                            finding: f,
                            byte_offset,
                            line_in_piece: line,
                            folded,
                            decoders: vec!["utf-16le-strings"],
                            row_key: None,
                        });
                    }
                }
                // Embedded encodings (base64, URL, JSON escapes, quoted-printable, entities,
                // XML runs) in text that is UTF-8/ASCII or binary.
                if embedded {
                    let owned = rel(owned_from).min(len)..rel(owned_to).min(len);
                    let found = &mut hits;
                    let chains = &mut embedded_chains;
                    let outcome = self.embedded.for_each_region(raw, &mut |region| {
                        let input =
                            ScanInput { buf: region.buf, report: 0..region.buf.len(), at_start: false, header: None };
                        let before = found.len();
                        scanner.scan(&input, found);
                        let mut k = before;
                        while k < found.len() {
                            let f = &found[k];
                            let keep = region.is_new(&(f.offset..f.offset + f.len))
                                && owned.contains(&region.original(f.offset));
                            if keep {
                                k += 1;
                            } else {
                                found.swap_remove(k);
                            }
                        }
                        // Findings now carry original offsets, and their region's decoders.
                        for f in &mut found[before..] {
                            f.offset = region.original(f.offset);
                            chains.push(region.decoders.to_vec());
                        }
                    });
                    stats.embedded_truncated |= outcome.truncated;
                    for (f, chain) in hits.drain(..).zip(embedded_chains.drain(..)) {
                        let raw_start = f.offset;
                        let from = owned.start.min(raw_start);
                        let line =
                            lines_before_round + memchr::memchr_iter(b'\n', &raw[from..raw_start]).count() as u64;
                        let byte_offset = buf_abs + raw_start as u64;
                        round.push(Hit {
                            finding: f,
                            byte_offset,
                            line_in_piece: line,
                            folded: false,
                            decoders: chain,
                            row_key: None,
                        });
                    }
                }
                if round.len() > 1 {
                    round.sort_by_key(|h| h.byte_offset);
                    // The same number seen through two views (rare: OOXML joins) is one finding.
                    round.dedup_by(|b, a| a.byte_offset == b.byte_offset && a.finding.class == b.finding.class);
                }
                for h in round {
                    emit(h);
                }
                enc
            };
            stats.bytes += owned_to - owned_from;
            if let Some(e) = failed {
                self.partial = stats;
                return Err(e);
            }
            // Not at end of file, `owned_to` only reaches the piece end once the right
            // context of the piece end has been read too.
            if eof || piece.end.is_some_and(|e| owned_to >= e) {
                return Ok(stats);
            }
            if piece.cap.is_some_and(|c| owned_to >= c) {
                // More of the file is there (`eof` is false): it grew past the cap.
                stats.capped = true;
                return Ok(stats);
            }
            // Keep the overlap before `owned_to` as left context and everything after it.
            let keep_from = rel(owned_to).saturating_sub(ov);
            // Where the next chunk's first character starts, for multi-byte encodings.
            sync = carry_enc.and_then(|_| self.view.boundary_from(keep_from)).map(|b| b - keep_from);
            self.buf.copy_within(keep_from..len, 0);
            buf_abs += keep_from as u64;
            len -= keep_from;
            owned_from = owned_to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The open flags of `f`, as the kernel reports them (`/proc/self/fdinfo`, octal).
    fn open_flags(f: &File) -> u32 {
        use std::os::fd::AsRawFd;
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", f.as_raw_fd())).unwrap();
        let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap().trim();
        u32::from_str_radix(flags, 8).unwrap()
    }

    /// Every file is opened read-only with `O_NOATIME` when the kernel allows it (our own
    /// file), so reading it leaves its access time alone, on any filesystem.
    #[test]
    fn files_are_opened_read_only_with_o_noatime() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let (f, noatime) = open_noting_atime(&p).unwrap();
        assert!(noatime);
        let flags = open_flags(&f);
        assert_ne!(flags & libc::O_NOATIME as u32, 0, "flags {flags:o}");
        assert_eq!(flags & libc::O_ACCMODE as u32, libc::O_RDONLY as u32, "flags {flags:o}");
    }
    use crate::detectors::DetectorSet;
    use crate::scan::ScannerBuilder;
    use crate::scan::luhn;
    use std::fmt::Write as _;
    use std::io::Write;
    use std::sync::Arc;

    fn scanner() -> Scanner {
        ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).current_year(2026).build()
    }

    fn make_pan(prefix: &str) -> String {
        let mut d: Vec<u8> = prefix.bytes().collect();
        while d.len() < 15 {
            d.push(b'0' + (d.len() as u8 * 7) % 10);
        }
        d.push(luhn::check_digit_for(&d));
        String::from_utf8(d).unwrap()
    }

    /// A full-width PAN in `Shift_JIS` or EUC-JP right after a chunk edge, inside a stretch
    /// of double-byte text longer than the overlap with no ASCII byte to resynchronise on:
    /// the character alignment is carried over from the previous chunk. An odd prefix
    /// makes every character start at an odd offset.
    #[test]
    fn double_byte_alignment_is_carried_across_chunks() {
        let s = scanner();
        let pan = make_pan("453201");
        let fw: String = pan.chars().map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap()).collect();
        let ov = s.overlap() * 4;
        for enc in [encoding_rs::SHIFT_JIS, encoding_rs::EUC_JP] {
            // Enough kanji (2 bytes each) that the number starts 100 bytes into chunk 2's
            // owned range, i.e. far past chunk 2's left overlap.
            let head = format!("a\nカード番号\n{}", "漢".repeat(64));
            let at = CHUNK + ov + 100;
            let filler = "漢".repeat((at - enc.encode(&head).0.len()) / 2);
            // More text after, so that the number is not in the first (and last) read.
            let text = format!("{head}{filler}{fw}\n{}", "漢".repeat(2 * ov));
            let bytes = enc.encode(&text).0.into_owned();
            let want = enc.encode(&format!("{head}{filler}")).0.len() as u64;
            let mut hits = Vec::new();
            let stats = Reader::new()
                .scan_stream(&mut &bytes[..], None, &s, &AtomicBool::new(false), &mut |h| hits.push(h))
                .unwrap();
            assert!(stats.encoding.is_some(), "{}: sniffed as a legacy encoding", enc.name());
            let offsets: Vec<u64> = hits.iter().map(|h| h.byte_offset).collect();
            assert_eq!(offsets, vec![want], "{}", enc.name());
        }
    }

    /// A stream that fails after some chunks: the error is returned, and what was scanned
    /// before it is still counted.
    #[test]
    fn partial_stats_survive_a_read_error() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("damaged"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(b'a');
                self.0 -= n;
                Ok(n)
            }
        }
        let s = scanner();
        let mut r = Reader::new();
        let res = r.scan_stream(&mut Failing(3 * CHUNK), None, &s, &AtomicBool::new(false), &mut |_| {});
        assert!(res.is_err());
        let p = r.partial_stats();
        assert!(p.bytes >= 2 * CHUNK as u64 && p.bytes <= 3 * CHUNK as u64, "{p:?}");
    }

    /// A read that fails part way through a chunk (EIO at a bad sector): the bytes read
    /// before the error are scanned, so a card there is found, and the error is returned
    /// with the original error kind and message.
    #[test]
    fn bytes_read_before_an_error_in_the_same_chunk_are_scanned() {
        struct BadSector(Vec<u8>, usize);
        impl Read for BadSector {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 >= self.0.len() {
                    return Err(io::Error::from_raw_os_error(5));
                }
                let n = buf.len().min(self.0.len() - self.1).min(4096);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut text = b"x ".repeat(1000);
        text.extend_from_slice(b"card number 4111 1111 1111 1111\n");
        text.extend_from_slice(&b"y ".repeat(5000));
        let s = scanner();
        let mut r = Reader::new();
        let mut hits = Vec::new();
        let res = r.scan_stream(&mut BadSector(text.clone(), 0), None, &s, &AtomicBool::new(false), &mut |h| {
            hits.push(h.byte_offset);
        });
        let e = res.expect_err("the read error is reported");
        assert_eq!(e.raw_os_error(), Some(5), "{e}");
        assert_eq!(hits, vec![2012], "the card before the bad sector");
        assert_eq!(r.partial_stats().bytes, text.len() as u64);
    }

    fn scan_file(path: &Path, pieces: &[Piece]) -> Vec<(u64, u64)> {
        let s = scanner();
        let f = open(path).unwrap();
        let probe = Probe::of(&read_head(&f, decode::SNIFF_BYTES).unwrap(), &s);
        let mut out = Vec::new();
        let mut lines_before = 0;
        let mut r = Reader::new();
        for p in pieces {
            let mut hits = Vec::new();
            let st = r.scan_piece(&f, *p, Some(&probe), &s, &AtomicBool::new(false), &mut |h| hits.push(h)).unwrap();
            out.extend(hits.iter().map(|h| (h.byte_offset, lines_before + h.line_in_piece + 1)));
            lines_before += st.newlines;
        }
        out
    }

    /// A sparse file: data at the start, across the first chunk edge, mid-file and right
    /// before a trailing hole. Whether the file system made holes is checked, not assumed.
    fn sparse_file(dir: &Path, pan: &str) -> (std::path::PathBuf, Vec<u64>) {
        use std::os::unix::fs::FileExt;
        let path = dir.join("disk.img");
        let f = File::create(&path).unwrap();
        let len = 9u64 << 20;
        f.set_len(len).unwrap();
        let mut at = Vec::new();
        for o in [0, CHUNK as u64 - 8, (5 << 20) + 4093, (8 << 20) + 4000] {
            let text = format!("card {pan}\n");
            f.write_all_at(text.as_bytes(), o).unwrap();
            at.push(o + 5);
        }
        (path, at)
    }

    #[test]
    fn sparse_reads_match_plain_reads_at_every_edge() {
        let d = tempfile::tempdir().unwrap();
        let (path, _) = sparse_file(d.path(), &make_pan("45"));
        let f = open(&path).unwrap();
        let m = f.metadata().unwrap();
        assert!(m.blocks() * 512 < m.len(), "the file system made no holes");
        let len = m.len();
        for offset in [0, 4095, 4096, 5000, CHUNK as u64 - 5, 5 << 20, (8 << 20) + 4000, len - 1, len, len + 7] {
            for n in [0, 1, 4096, 10_000, CHUNK, 3 * CHUNK] {
                let (mut plain, mut sparse) = (vec![0xAAu8; n], vec![0x55u8; n]);
                let a = read_full_at(&f, &mut plain, offset).unwrap();
                let mut read = 0;
                let b = read_sparse_at(&f, &mut sparse, offset, &mut read).unwrap();
                assert_eq!(a, b, "length at {offset}+{n}");
                assert!(plain[..a] == sparse[..b], "bytes at {offset}+{n}");
                assert!(read <= b as u64, "read {read} of {b} at {offset}+{n}");
            }
        }
        // Holes are not read, so not charged to `--max-rate`; data is.
        for (offset, n, disk) in [(2 << 20, 10_000, false), (0, 4096, true), ((8 << 20) + 4000, 100, true)] {
            let mut read = 0;
            let got = read_sparse_at(&f, &mut vec![0u8; n], offset, &mut read).unwrap();
            assert_eq!(got, n);
            assert_eq!(read > 0, disk, "{offset}+{n}: {read} bytes read");
        }
    }

    /// The bytes the pieces of a scan of `path` report as scanned.
    fn scanned_bytes(path: &Path, pieces: &[Piece]) -> u64 {
        let s = scanner();
        let f = open(path).unwrap();
        let probe = Probe::of(&read_head(&f, decode::SNIFF_BYTES).unwrap(), &s);
        let mut r = Reader::new();
        let cancel = AtomicBool::new(false);
        pieces.iter().map(|p| r.scan_piece(&f, *p, Some(&probe), &s, &cancel, &mut |_| {}).unwrap().bytes).sum()
    }

    #[test]
    fn zero_rounds_and_holes_count_as_scanned_bytes() {
        let d = tempfile::tempdir().unwrap();
        let (path, _) = sparse_file(d.path(), &make_pan("45"));
        for pieces in [vec![Piece::WHOLE], Piece::split(9 << 20, 300_000)] {
            assert_eq!(scanned_bytes(&path, &pieces), 9 << 20);
        }
        let zeros = d.path().join("zeros.bin");
        std::fs::write(&zeros, vec![0u8; (3 << 20) + 5]).unwrap();
        for pieces in [vec![Piece::WHOLE], Piece::split((3 << 20) + 5, 300_000)] {
            assert_eq!(scanned_bytes(&zeros, &pieces), (3 << 20) + 5);
        }
    }

    #[test]
    fn pans_around_the_holes_of_a_sparse_file_are_found_once() {
        let d = tempfile::tempdir().unwrap();
        let (path, expect) = sparse_file(d.path(), &make_pan("45"));
        let whole = scan_file(&path, &[Piece::WHOLE]);
        assert_eq!(whole.iter().map(|h| h.0).collect::<Vec<_>>(), expect);
        assert_eq!(whole.iter().map(|h| h.1).collect::<Vec<_>>(), [1, 2, 3, 4]);
        for size in [CHUNK as u64 - 4, 4096, 300_000] {
            let pieces = Piece::split(9 << 20, size);
            assert_eq!(scan_file(&path, &pieces), whole, "piece size {size}");
        }
    }

    #[test]
    fn pan_across_chunk_edge_and_piece_edge_is_found_once() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("big.log");
        let pan = make_pan("45");
        let mut f = File::create(&path).unwrap();
        let line = "2024-10-22 11:11:30 GET /index.html 200\n";
        let mut text = String::new();
        while text.len() < CHUNK - 8 {
            text.push_str(line);
        }
        text.truncate(CHUNK - 8);
        let _ = writeln!(text, " card {pan} end");
        for _ in 0..5000 {
            text.push_str(line);
        }
        let _ = writeln!(text, "last {pan}");
        f.write_all(text.as_bytes()).unwrap();
        drop(f);
        let expect: Vec<u64> = text.match_indices(&pan).map(|(i, _)| i as u64).collect();
        let lines: Vec<u64> = expect.iter().map(|&o| text[..o as usize].matches('\n').count() as u64 + 1).collect();
        let whole = scan_file(&path, &[Piece::WHOLE]);
        assert_eq!(whole.iter().map(|h| h.0).collect::<Vec<_>>(), expect);
        assert_eq!(whole.iter().map(|h| h.1).collect::<Vec<_>>(), lines);
        for size in [CHUNK as u64 - 4, 4096, 300_000] {
            let pieces = Piece::split(text.len() as u64, size);
            let split = scan_file(&path, &pieces);
            assert_eq!(split, whole, "piece size {size}");
        }
    }

    #[test]
    fn shrinking_file_is_read_to_its_real_end() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("f.txt");
        std::fs::write(&path, format!("a {} b", make_pan("45"))).unwrap();
        // Pieces computed for a larger size than the file now has.
        let pieces = Piece::split(10 * CHUNK as u64, CHUNK as u64);
        assert_eq!(scan_file(&path, &pieces).len(), 1);
    }

    #[test]
    fn nul_bytes_do_not_stop_the_scan() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("f.bin");
        let mut data = vec![0u8; 100];
        data.extend(format!(" {} ", make_pan("45")).bytes());
        data.extend([0u8, 1, 2, 255]);
        std::fs::write(&path, &data).unwrap();
        let f = open(&path).unwrap();
        let mut hits = 0;
        let st = Reader::new()
            .scan_piece(&f, Piece::WHOLE, None, &scanner(), &AtomicBool::new(false), &mut |_| hits += 1)
            .unwrap();
        assert!(st.binary);
        assert_eq!(hits, 1);
    }

    /// The same Japanese order log in every supported encoding, long enough that card
    /// numbers sit across chunk and piece edges: each is found once, at the byte offset of
    /// its first (full-width) digit in the original encoding, on the right line, with the
    /// same results whole or split into odd-sized pieces.
    /// Rounds of nothing but zeros are not scanned: text in every encoding before and after
    /// 3 MiB of zero bytes (written, not a hole) gives the findings and line numbers a
    /// full scan would, whole and in pieces.
    #[test]
    fn text_around_a_zero_filled_region_is_found_in_every_encoding() {
        use crate::scan::decode::TextEncoding;
        let pan = make_pan("4532");
        let wide: String = pan.chars().map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap()).collect();
        let mut text = String::new();
        // Longer than the sniffed head, so the encoding is told from text alone.
        for line in 1..=400 {
            if line % 130 == 0 {
                let _ = writeln!(text, "注文 {line}　カード番号：{wide}　有効期限：１２／２９");
            } else {
                let _ = writeln!(text, "注文 {line} 商品コード 12345 数量 2");
            }
        }
        let encoded = |enc: TextEncoding| -> Vec<u8> {
            match enc {
                TextEncoding::Utf8 => text.as_bytes().to_vec(),
                TextEncoding::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
                TextEncoding::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
                TextEncoding::ShiftJis => encoding_rs::SHIFT_JIS.encode(&text).0.into_owned(),
                TextEncoding::EucJp => encoding_rs::EUC_JP.encode(&text).0.into_owned(),
                TextEncoding::Iso2022Jp => encoding_rs::ISO_2022_JP.encode(&text).0.into_owned(),
            }
        };
        let d = tempfile::tempdir().unwrap();
        for enc in TextEncoding::ALL {
            let part = encoded(enc);
            let mut bytes = part.clone();
            bytes.resize(bytes.len() + (3 << 20) + 2, 0);
            let second = bytes.len() as u64;
            bytes.extend_from_slice(&part);
            let path = d.path().join(enc.name());
            std::fs::write(&path, &bytes).unwrap();
            let whole = scan_file(&path, &[Piece::WHOLE]);
            let lines: Vec<u64> = whole.iter().map(|h| h.1).collect();
            assert_eq!(lines, [130, 260, 390, 530, 660, 790], "{enc:?}");
            assert!(whole[..3].iter().all(|h| h.0 < second) && whole[3..].iter().all(|h| h.0 > second), "{enc:?}");
            for size in [CHUNK as u64 - 4, 300_000] {
                let pieces = Piece::split(bytes.len() as u64, size);
                assert_eq!(scan_file(&path, &pieces), whole, "{enc:?}, pieces of {size}");
            }
        }
    }

    #[test]
    fn encoded_text_is_found_across_chunk_and_piece_edges() {
        use crate::scan::decode::TextEncoding;
        let pan = make_pan("4532");
        let wide: String = pan.chars().map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap()).collect();
        let grouped = format!("{}－{}－{}－{}", &wide[..12], &wide[12..24], &wide[24..36], &wide[36..]);
        let mut text = String::new();
        let mut expect_lines = Vec::new();
        let mut line = 1u64;
        while text.len() < CHUNK + CHUNK / 4 {
            if line % 3001 == 7 {
                let _ = writeln!(text, "注文 {line}　カード番号：{grouped}　有効期限：１２／２９");
                expect_lines.push(line);
            } else {
                let _ = writeln!(text, "注文 {line} 商品コード 12345 数量 2 お届け予定日 2024年10月22日");
            }
            line += 1;
        }
        let utf16 = |le: bool| -> Vec<u8> {
            text.encode_utf16().flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() }).collect()
        };
        let legacy = |e: &'static encoding_rs::Encoding| e.encode(&text).0.into_owned();
        let cases = [
            (TextEncoding::Utf8, text.as_bytes().to_vec()),
            (TextEncoding::Utf16Le, utf16(true)),
            (TextEncoding::Utf16Be, utf16(false)),
            (TextEncoding::ShiftJis, legacy(encoding_rs::SHIFT_JIS)),
            (TextEncoding::EucJp, legacy(encoding_rs::EUC_JP)),
            (TextEncoding::Iso2022Jp, legacy(encoding_rs::ISO_2022_JP)),
        ];
        let d = tempfile::tempdir().unwrap();
        for (enc, bytes) in cases {
            let path = d.path().join(enc.name());
            std::fs::write(&path, &bytes).unwrap();
            let whole = scan_file(&path, &[Piece::WHOLE]);
            assert_eq!(whole.iter().map(|h| h.1).collect::<Vec<_>>(), expect_lines, "{enc:?}");
            for (off, _) in &whole {
                // The original bytes at the offset are the encoding's full-width 4.
                let four: Vec<u8> = match enc {
                    TextEncoding::Utf8 => "４".as_bytes().to_vec(),
                    TextEncoding::Utf16Le => vec![0x14, 0xFF],
                    TextEncoding::Utf16Be => vec![0xFF, 0x14],
                    TextEncoding::ShiftJis => vec![0x82, 0x53],
                    TextEncoding::EucJp => vec![0xA3, 0xB4],
                    TextEncoding::Iso2022Jp => vec![0x23, 0x34],
                };
                let at = usize::try_from(*off).unwrap();
                assert_eq!(&bytes[at..at + four.len()], &four[..], "{enc:?} at {off}");
            }
            // Piece edges 1, 5 and 17 bytes into the last card number, and one chunk in.
            let last = whole.last().unwrap().0;
            for size in [last + 1, last + 5, last + 17, CHUNK as u64 - 3] {
                let split = scan_file(&path, &Piece::split(bytes.len() as u64, size));
                assert_eq!(split, whole, "{enc:?}, pieces of {size}");
            }
        }
    }

    #[test]
    fn split_covers_the_file() {
        assert_eq!(Piece::split(0, 10), vec![Piece::WHOLE]);
        let p = Piece::split(25, 10);
        assert_eq!(p.len(), 3);
        assert_eq!(p[2], Piece { start: 20, end: None, cap: None });
        assert_eq!(p[1], Piece { start: 10, end: Some(20), cap: None });
    }
}
