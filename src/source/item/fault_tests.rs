//! EIO in the middle of an item (issue 9, fault injection): a reader with a bad sector —
//! a byte range whose reads fail with `EIO`, as a damaged disk does — under a plain file,
//! a gzip stream, a tar, a zip and a mailbox. Whatever the format, the item ends (no
//! panic, no hang), the failure is a `skipped` record of kind `error` saying
//! `input/output error`, and what was read before the bad sector is still reported.
//! Only the public test PANs appear here.

use std::fmt::Write as _;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{HEAD_BYTES, ItemLimits, ItemScanner, Kind, Leaf};
use crate::detectors::DetectorSet;
use crate::scan::{Scanner, ScannerBuilder};
use crate::source::file::Reader;
use crate::source::{Skip, SkipKind};

const VISA: &str = "4111 1111 1111 1111";
const MASTERCARD: &str = "5555 5555 5555 4444";

/// Bytes whose `bad` range cannot be read: a read that starts in it fails with EIO, one
/// that would run into it stops short at its start.
struct BadSector {
    inner: Cursor<Vec<u8>>,
    bad: Range<u64>,
}

impl Read for BadSector {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.inner.position();
        if self.bad.contains(&pos) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let room = if pos < self.bad.start { (self.bad.start - pos) as usize } else { buf.len() };
        let n = buf.len().min(room);
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for BadSector {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

fn scanner() -> Scanner {
    ScannerBuilder::new(Arc::new(DetectorSet::builtin().unwrap())).current_year(2026).build()
}

/// What an item yielded: (leaf path, findings) for leaves with findings, and the skips.
struct Out {
    found: Vec<(String, usize)>,
    skips: Vec<Skip>,
}

impl Out {
    fn found_in(&self, path: &str) -> bool {
        self.found.iter().any(|(p, n)| p == path && *n > 0)
    }

    /// The EIO skips: each of kind `error`, saying `cannot read: input/output error` (not
    /// `corrupt archive`: the archive is not damaged, the disk is); panics, listing the
    /// skips, when there is none or there are others.
    fn eio(&self) -> Vec<&str> {
        assert!(!self.skips.is_empty(), "no skip");
        for s in &self.skips {
            assert!(s.reason.starts_with("cannot read: input/output error"), "{:?}", self.skips);
            assert_eq!(s.kind, SkipKind::Error, "{s:?}");
        }
        self.skips.iter().map(|s| s.path.as_str()).collect()
    }
}

/// Scans `data`, named `name`, as a file on disk whose bytes in `bad` cannot be read.
fn scan(name: &str, data: Vec<u8>, bad: Range<u64>) -> Out {
    assert!(bad.end <= data.len() as u64, "the bad sector lies inside the item");
    let scanner = scanner();
    let mut reader = Reader::new();
    let cancel = AtomicBool::new(false);
    let limits = ItemLimits::default();
    let kind = Kind::of(&data[..data.len().min(HEAD_BYTES)], name);
    let mut found = Vec::new();
    let mut skips = Vec::new();
    {
        let mut leaf = |l: Leaf| found.push((l.path, l.hits.len()));
        let mut skip = |s: Skip| skips.push(s);
        let mut items = ItemScanner {
            reader: &mut reader,
            scanner: &scanner,
            cancel: &cancel,
            limits: &limits,
            leaf: &mut leaf,
            skip: &mut skip,
        };
        let mut input = BadSector { inner: Cursor::new(data), bad };
        items.file(name, Path::new(name), &mut input, kind);
    }
    Out { found, skips }
}

/// `n` lines that do not compress well (so a compressed stream is long enough to hold a
/// bad sector in its middle).
fn noise(n: usize, seed: u64) -> String {
    let mut x = seed | 1;
    let mut s = String::with_capacity(n * 40);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let _ = writeln!(s, "{x:016x} {:016x} noise", x.rotate_left(23));
    }
    s
}

fn card_then_noise(card: &str, lines: usize) -> String {
    format!("card number {card}\n{}", noise(lines, 7))
}

#[test]
fn plain_file_keeps_what_was_read_before_the_bad_sector() {
    let data = card_then_noise(VISA, 80_000).into_bytes();
    let mid = data.len() as u64 / 2;
    let out = scan("big.log", data, mid..mid + 4096);
    assert!(out.found_in("big.log"), "{:?}", out.found);
    assert_eq!(out.eio(), ["big.log"]);
}

#[test]
fn gzip_stream_keeps_what_was_decompressed_before_the_bad_sector() {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    w.write_all(card_then_noise(VISA, 80_000).as_bytes()).unwrap();
    let data = w.finish().unwrap();
    let mid = data.len() as u64 / 2;
    let out = scan("big.log.gz", data, mid..mid + 4096);
    assert!(out.found.iter().any(|(_, n)| *n > 0), "{:?} {:?}", out.found, out.skips);
    assert_eq!(out.eio(), ["big.log.gz!big.log"]);
}

/// A bad sector inside the second of three tar members: the first is reported; a tar is
/// read in order, so what follows the bad sector is lost with it: the member and the rest
/// of the archive are both reported.
#[test]
fn tar_member_before_the_bad_sector_is_reported() {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in [
        ("a.txt", format!("card number {VISA}\n")),
        ("b.log", noise(40_000, 3)),
        ("c.txt", format!("card number {MASTERCARD}\n")),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    let data = b.into_inner().unwrap();
    let at = 512 * 3 + 800_000; // well inside b.log's data
    let out = scan("x.tar", data, at..at + 4096);
    assert!(out.found_in("x.tar!a.txt"), "{:?}", out.found);
    assert_eq!(out.eio(), ["x.tar!b.log", "x.tar"]);
}

/// A zip is read through its central directory, so the member after a damaged one is
/// still read: both cards are reported, the damaged member is the skip.
#[test]
fn zip_members_around_the_bad_sector_are_reported() {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("a.txt", stored).unwrap();
    z.write_all(format!("card number {VISA}\n").as_bytes()).unwrap();
    z.start_file("b.log", stored).unwrap();
    z.write_all(noise(40_000, 5).as_bytes()).unwrap();
    z.start_file("c.txt", stored).unwrap();
    z.write_all(format!("card number {MASTERCARD}\n").as_bytes()).unwrap();
    let data = z.finish().unwrap().into_inner();
    let at = 800_000;
    let out = scan("x.zip", data, at..at + 4096);
    assert!(out.found_in("x.zip!a.txt"), "{:?}", out.found);
    assert!(out.found_in("x.zip!c.txt"), "{:?} {:?}", out.found, out.skips);
    assert_eq!(out.eio(), ["x.zip!b.log"]);
}

#[test]
fn mailbox_message_before_the_bad_sector_is_reported() {
    let mut mbox = String::new();
    mbox.push_str("From a@example.com Mon Oct 21 10:00:00 2024\nSubject: order\n\n");
    let _ = write!(mbox, "card number {VISA}\n\n");
    mbox.push_str("From b@example.com Mon Oct 21 11:00:00 2024\nSubject: logs\n\n");
    mbox.push_str(&noise(40_000, 9));
    mbox.push_str("\nFrom c@example.com Mon Oct 21 12:00:00 2024\nSubject: again\n\n");
    let _ = writeln!(mbox, "card number {MASTERCARD}");
    let data = mbox.into_bytes();
    let at = 800_000;
    let out = scan("inbox.mbox", data, at..at + 4096);
    assert!(out.found.iter().any(|(_, n)| *n > 0), "{:?} {:?}", out.found, out.skips);
    assert_eq!(out.eio(), ["inbox.mbox"]);
}
