//! Reading files for the scanner: read-only, `O_NOATIME` where permitted, into a reused
//! buffer, in chunks that overlap by [`Scanner::overlap`] bytes on each side so that a PAN
//! and its whole context window are seen even across a chunk edge.
//!
//! A large file is split into [`Piece`]s that different threads scan; each piece reads its
//! own overlap, reports only matches that start inside it and counts its newlines, so the
//! writer can turn piece-relative line numbers into file line numbers. Binary files are
//! scanned as bytes: a NUL never makes a file "skippable".

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::finding::Finding;
use crate::scan::record::Header;
use crate::scan::{ScanInput, Scanner};

/// Bytes read per chunk.
pub const CHUNK: usize = 1 << 20;
/// Largest first line read to look for a CSV header.
const HEADER_PROBE: usize = 4096;

/// Opens a file read-only without updating its access time where the kernel lets us
/// (`O_NOATIME` needs ownership or `CAP_FOWNER`), and without blocking should the path
/// have been swapped for a FIFO since it was listed.
pub fn open(path: &Path) -> io::Result<File> {
    let flags = libc::O_NOATIME | libc::O_NONBLOCK | libc::O_CLOEXEC;
    match OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path)
        }
        other => other,
    }
}

/// A byte range of a file to scan: `end: None` means "to the end, however long it is now".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// First byte owned.
    pub start: u64,
    /// One past the last byte owned, or `None` for end of file.
    pub end: Option<u64>,
}

impl Piece {
    /// The whole file.
    pub const WHOLE: Piece = Piece { start: 0, end: None };

    /// Splits a file of `size` bytes into pieces of `piece` bytes; the last one runs to
    /// the end of the file, so a growing file is read to its end.
    pub fn split(size: u64, piece: u64) -> Vec<Piece> {
        let n = size.div_ceil(piece.max(1)).max(1);
        (0..n).map(|i| Piece { start: i * piece, end: (i + 1 < n).then(|| (i + 1) * piece) }).collect()
    }
}

/// A finding located in a file.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The finding (its `offset` is relative to the buffer it was found in).
    pub finding: Finding,
    /// Byte offset in the file.
    pub byte_offset: u64,
    /// Newlines between the piece start and the finding (0-based line within the piece).
    pub line_in_piece: u64,
}

/// What scanning a piece read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PieceStats {
    /// Bytes owned by the piece and scanned.
    pub bytes: u64,
    /// Newlines in the owned bytes.
    pub newlines: u64,
    /// The file held a NUL byte in the first chunk read.
    pub binary: bool,
    /// Stopped early because the run was cancelled.
    pub interrupted: bool,
}

/// A per-thread reader: owns the reused buffer.
#[derive(Debug, Default)]
pub struct Reader {
    buf: Vec<u8>,
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
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Reads the CSV header of a file, if its first line is one.
pub fn probe_header(file: &File, scanner: &Scanner) -> io::Result<Option<Header>> {
    let mut first = vec![0u8; HEADER_PROBE];
    let n = read_full_at(file, &mut first, 0)?;
    Ok(header_of(&first[..n], scanner))
}

fn header_of(data: &[u8], scanner: &Scanner) -> Option<Header> {
    let line_end = memchr::memchr(b'\n', data)?;
    Header::detect(scanner.detectors(), &data[..line_end])
}

impl Reader {
    /// A reader with an empty buffer (it grows to one chunk plus overlap).
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Scans one piece of `file`, calling `emit` for each hit in file order.
    pub fn scan_piece(
        &mut self,
        file: &File,
        piece: Piece,
        header: Option<&Header>,
        scanner: &Scanner,
        cancel: &AtomicBool,
        emit: &mut dyn FnMut(Hit),
    ) -> io::Result<PieceStats> {
        let ov = scanner.overlap();
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
        let mut header_local: Option<Header> = None;
        let mut first = true;
        let mut hits: Vec<Finding> = Vec::new();
        loop {
            if cancel.load(Ordering::Relaxed) {
                stats.interrupted = true;
                return Ok(stats);
            }
            let n = read_full_at(file, &mut self.buf[len..want], buf_abs + len as u64)?;
            eof = eof || len + n < want;
            len += n;
            if first {
                stats.binary = memchr::memchr(0, &self.buf[..len.min(8192)]).is_some();
                if piece.start == 0 && header.is_none() {
                    header_local = header_of(&self.buf[..len.min(HEADER_PROBE)], scanner);
                }
                first = false;
            }
            let buf_end = buf_abs + len as u64;
            let mut owned_to = if eof { buf_end } else { buf_end - ov as u64 };
            if let Some(end) = piece.end {
                owned_to = owned_to.min(end);
            }
            let owned_to = owned_to.max(owned_from);
            let rel = |abs: u64| (abs - buf_abs) as usize;
            let input = ScanInput {
                buf: &self.buf[..len],
                report: rel(owned_from)..rel(owned_to),
                at_start: buf_abs == 0,
                header: header.or(header_local.as_ref()),
            };
            hits.clear();
            scanner.scan(&input, &mut hits);
            hits.sort_by_key(|f| f.offset);
            let mut line_pos = rel(owned_from);
            for f in hits.drain(..) {
                stats.newlines +=
                    memchr::memchr_iter(b'\n', &self.buf[line_pos..f.offset.max(line_pos)]).count() as u64;
                line_pos = f.offset.max(line_pos);
                let byte_offset = buf_abs + f.offset as u64;
                emit(Hit { finding: f, byte_offset, line_in_piece: stats.newlines });
            }
            stats.newlines += memchr::memchr_iter(b'\n', &self.buf[line_pos..rel(owned_to)]).count() as u64;
            stats.bytes += owned_to - owned_from;
            // Not at end of file, `owned_to` only reaches the piece end once the right
            // context of the piece end has been read too.
            if eof || piece.end.is_some_and(|e| owned_to >= e) {
                return Ok(stats);
            }
            // Keep the overlap before `owned_to` as left context and everything after it.
            let keep_from = rel(owned_to).saturating_sub(ov);
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

    fn scan_file(path: &Path, pieces: &[Piece]) -> Vec<(u64, u64)> {
        let s = scanner();
        let f = open(path).unwrap();
        let header = probe_header(&f, &s).unwrap();
        let mut out = Vec::new();
        let mut lines_before = 0;
        for p in pieces {
            let mut r = Reader::new();
            let mut hits = Vec::new();
            let st = r.scan_piece(&f, *p, header.as_ref(), &s, &AtomicBool::new(false), &mut |h| hits.push(h)).unwrap();
            out.extend(hits.iter().map(|h| (h.byte_offset, lines_before + h.line_in_piece + 1)));
            lines_before += st.newlines;
        }
        out
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

    #[test]
    fn split_covers_the_file() {
        assert_eq!(Piece::split(0, 10), vec![Piece::WHOLE]);
        let p = Piece::split(25, 10);
        assert_eq!(p.len(), 3);
        assert_eq!(p[2], Piece { start: 20, end: None });
        assert_eq!(p[1], Piece { start: 10, end: Some(20) });
    }
}
