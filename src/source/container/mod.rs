//! Containers: card data inside archives and compressed files, found without extracting
//! anything to disk.
//!
//! [`walk`] opens one container (zip, 7z, gzip, bzip2, xz, zstd, tar or OLE), visits its members in
//! order and recurses into members that are containers themselves (detected by [`sniff`]
//! from their first bytes, never from a name alone). Every other member is a *leaf*: it is
//! handed to the caller's `leaf` callback as a `&mut dyn Read`, labelled with its member
//! path (`site.tar.gz!site.tar!db/orders.zip!orders.csv`) and the decoder chain
//! (`["gzip", "tar", "zip"]`, the SPEC's `decoders`). This module scans nothing itself.
//!
//! Design:
//! - **Streaming** wherever the format allows: gzip, bzip2, xz, zstd and tar are read as
//!   streams, member after member, so a 10 GiB `.tar.gz` is never held in memory. Zip needs
//!   its central directory (7z and OLE their header, likewise): a zip on disk is read through
//!   `Read + Seek` ([`Input::Seekable`]); a zip met inside a stream (a zip in a tar.gz) is
//!   buffered in memory when it fits in [`Limits::max_buffer_bytes`] (shared by the archives
//!   held at once, so nesting cannot multiply it) and skipped with a limit reason otherwise. A zip whose
//!   central directory is missing or damaged is reported and then read again from its local
//!   headers, so the members before the damage are still visited.
//! - **Limits** ([`Limits`]) are enforced by a metering reader placed on top of every member
//!   stream: bytes per leaf, expanded bytes per top-level item, expansion ratio, members per
//!   archive, nesting depth, decoder memory and wall-clock time (checked before every read).
//!   A hit becomes a [`Skip`] of kind [`SkipKind::Limit`] whose reason names the limit
//!   (`limit max-ratio: expands more than 1000x`); time, total bytes and cancellation stop
//!   the whole walk, the others only the member concerned.
//! - **One bad member never stops the walk**: encrypted members (`encrypted member`),
//!   unsupported compression methods and corrupt or truncated data become skips of kind
//!   [`SkipKind::Error`], and the walk goes on where the format allows it (zip always, 7z
//!   from the next block; a stream format cannot resynchronise after damage, but what was
//!   read before is kept).
//! - **Names are labels only**: member names may hold `../`, absolute paths or bytes that are
//!   not UTF-8 (shown lossily); nothing is ever written to or looked up on the filesystem.
//! - No threads, no printing, no channels: the caller drives it from its own worker.

mod meter;
mod ole_reader;
mod sevenz_reader;
mod stream;
mod tar_reader;
#[cfg(test)]
mod tests;
mod zip_reader;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{self, Read, Seek};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Skip, SkipKind, lowercase_first};
use meter::Meter;

/// How many leading bytes [`sniff`] wants to see (tar's `ustar` magic sits at offset 257).
pub const SNIFF_LEN: usize = 512;

/// A container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Zip, including OOXML/ODF documents and jar files.
    Zip,
    /// gzip (concatenated members are read as one stream).
    Gzip,
    /// bzip2 (concatenated streams are read as one stream).
    Bzip2,
    /// xz (concatenated streams are read as one stream).
    Xz,
    /// Zstandard (all frames).
    Zstd,
    /// tar (ustar, pax, GNU and v7).
    Tar,
    /// 7z (each file entry is a member; solid blocks are decoded in order).
    SevenZ,
    /// OLE compound file (legacy `.doc`, `.xls`, `.ppt`, `.msi`, embedded objects): each
    /// stream is a member. An Outlook `.msg` is one too, but is taken apart by the mail stage.
    Ole,
}

impl Format {
    /// The name used in member-path decoder chains (`decoders` in the findings JSONL).
    pub fn decoder(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Tar => "tar",
            Format::SevenZ => "7z",
            Format::Ole => "ole",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.decoder())
    }
}

/// The signature of an OLE compound file.
pub const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Detects a container from its first bytes (give [`SNIFF_LEN`] of them when the item is
/// that long). `name` is only a tie-breaker: it lets a v7 tar without the `ustar` magic be
/// recognised when its header checksum is also valid; an extension alone never decides.
pub fn sniff(head: &[u8], name: &str) -> Option<Format> {
    const BZ_BLOCK: &[u8] = &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const BZ_END: &[u8] = &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") || head.starts_with(b"PK\x07\x08PK\x03\x04") {
        return Some(Format::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Some(Format::Gzip);
    }
    if head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (&head[4..10] == BZ_BLOCK || &head[4..10] == BZ_END)
    {
        return Some(Format::Bzip2);
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Some(Format::Xz);
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some(Format::Zstd);
    }
    if head.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        return Some(Format::SevenZ);
    }
    if is_ole_header(head) && !base_name(name).to_ascii_lowercase().ends_with(".msg") {
        return Some(Format::Ole);
    }
    if head.len() >= 512 && tar_checksum_ok(&head[..512]) {
        let ustar = &head[257..262] == b"ustar";
        let tar_name = name.rsplit(['/', '!']).next().is_some_and(|n| n.to_ascii_lowercase().ends_with(".tar"));
        if ustar || tar_name {
            return Some(Format::Tar);
        }
    }
    None
}

/// Whether `head` starts with an OLE compound-file header: the signature, the byte-order
/// mark `FE FF` and a sector size of 512 or 4096 bytes with 64-byte mini sectors (random
/// bytes after the signature are binary data, not a damaged OLE file).
fn is_ole_header(head: &[u8]) -> bool {
    head.len() >= 34
        && head.starts_with(&OLE_MAGIC)
        && head[28..30] == [0xFE, 0xFF]
        && matches!(head[30..32], [9 | 12, 0])
        && head[32..34] == [6, 0]
}

/// Whether a 512-byte block is a tar header with a valid checksum (field read as octal,
/// compared with the unsigned byte sum where the field itself counts as spaces).
fn tar_checksum_ok(block: &[u8]) -> bool {
    let field = &block[148..156];
    let digits: Vec<u8> = field.iter().copied().skip_while(|b| *b == b' ').take_while(u8::is_ascii_digit).collect();
    if digits.is_empty() || digits.iter().any(|d| *d > b'7') {
        return false;
    }
    let Some(stored) = digits.iter().try_fold(0u64, |acc, d| acc.checked_mul(8).map(|v| v + u64::from(d - b'0')))
    else {
        return false;
    };
    let sum: u64 =
        block.iter().enumerate().map(|(i, b)| if (148..156).contains(&i) { 32 } else { u64::from(*b) }).sum();
    // An all-zero block sums to 256 (the spaces) and is an end marker, not a header.
    stored == sum && block.iter().any(|b| *b != 0)
}

/// Limits on what one top-level item may cost. All are configurable; [`Limits::default`]
/// gives values that let ordinary backups through and stop bombs early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Containers nested inside each other, the outermost counting 1 (default 8).
    pub max_depth: u32,
    /// Bytes read from one leaf member (default 1 GiB); the part before the limit is still
    /// handed to the scanner.
    pub max_member_bytes: u64,
    /// Decompressed bytes produced, summed over every decoder in one top-level item
    /// (default 16 GiB). Stored (uncompressed) zip members and tar members do not count;
    /// a gzip inside a zip counts both the inflated zip member and the gzip output.
    pub max_total_bytes: u64,
    /// Largest expansion ratio, decompressed over compressed bytes (default 1000), checked
    /// once a decoder has produced more than [`Limits::ratio_floor`] bytes.
    pub max_ratio: u64,
    /// Output below which the ratio is not checked (default 1 MiB): small files of zeros
    /// legitimately compress far better than 1000:1.
    pub ratio_floor: u64,
    /// Members per archive, directories included (default 100 000).
    pub max_members: u64,
    /// Wall-clock time per top-level item (default 5 minutes), checked before every read.
    pub max_time: Duration,
    /// Memory for zips (and 7z and OLE files) read into memory because they were found
    /// inside a stream (a zip in a tar.gz) and need random access (default 64 MiB): the sum
    /// over the archives held at once (a zip in a zip in a tar holds two).
    pub max_buffer_bytes: u64,
    /// Memory a decoder may allocate for its window (xz memlimit, zstd window, 7z LZMA
    /// dictionary or `PPMd` model, checked from the header before decoding), default
    /// 128 MiB; a stream asking for more is skipped.
    pub max_decoder_memory: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 8,
            max_member_bytes: 1 << 30,
            max_total_bytes: 16 << 30,
            max_ratio: 1000,
            ratio_floor: 1 << 20,
            max_members: 100_000,
            max_time: Duration::from_mins(5),
            max_buffer_bytes: 64 << 20,
            max_decoder_memory: 128 << 20,
        }
    }
}

/// What a walk did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Members met in all archives, directories included.
    pub members: u64,
    /// Leaves handed to the `leaf` callback.
    pub leaves: u64,
    /// Decompressed bytes produced (what [`Limits::max_total_bytes`] counts).
    pub expanded_bytes: u64,
    /// The walk stopped because `cancel` was set.
    pub interrupted: bool,
}

/// `Read + Seek`, as a trait object.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

/// Where a top-level container is read from.
pub enum Input<'a> {
    /// A stream read once from start to end (a zip given this way is buffered, within
    /// [`Limits::max_buffer_bytes`]).
    Stream(&'a mut dyn Read),
    /// Random access, e.g. a `File`: lets a zip be read through its central directory
    /// without buffering. Other formats read it as a stream from its current position.
    Seekable(&'a mut dyn ReadSeek),
}

impl fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Input::Stream(_) => "Input::Stream",
            Input::Seekable(_) => "Input::Seekable",
        })
    }
}

/// The leaf callback: `(member path, decoder chain, member bytes, as_is)`. `as_is` marks
/// the bytes of a container that could not be taken apart (a corrupt OLE file), handed on
/// so that what is visible in them is still scanned: they must not be sniffed again. An
/// error the callback returns (typically a read error of the member, corrupt data or a
/// limit) becomes a skip for that member; the walk goes on.
pub type LeafFn<'a> = dyn FnMut(&str, &[&'static str], &mut dyn Read, bool) -> io::Result<()> + 'a;

/// Walks the container `format` read from `input`. `path` labels it (`backup/site.tar.gz`);
/// members are labelled `path!member`, nested ones `path!member!inner`. Calls `leaf` for
/// every member that is not itself a container and `skip` for every problem (limits,
/// encrypted, unsupported, corrupt), then returns what it did. Never fails as a whole:
/// everything that goes wrong is a skip, and the members read before it are kept.
///
/// The caller should sniff the item first with [`sniff`]; a top-level zip on disk should be
/// passed as [`Input::Seekable`].
pub fn walk(
    format: Format,
    path: &str,
    input: Input<'_>,
    limits: &Limits,
    cancel: &AtomicBool,
    leaf: &mut LeafFn<'_>,
    skip: &mut dyn FnMut(Skip),
) -> WalkStats {
    let budget = Budget::new(limits, cancel);
    let mut walker = Walker { budget: &budget, leaf, skip, stats: WalkStats::default() };
    let mut chain = Vec::new();
    walker.container(format, path, &mut chain, input);
    let reason = match budget.halt.get() {
        Some(Halt::Time) => Some(format!("limit max-time: took longer than {}s", limits.max_time.as_secs_f64())),
        Some(Halt::Total) => {
            Some(format!("limit max-total-bytes: expands to more than {} bytes", limits.max_total_bytes))
        }
        Some(Halt::Cancelled) => {
            walker.stats.interrupted = true;
            None
        }
        None => None,
    };
    if let Some(reason) = reason {
        (walker.skip)(Skip { path: path.to_owned(), reason, kind: SkipKind::Limit });
    }
    walker.stats.expanded_bytes = budget.expanded.get();
    walker.stats
}

/// Why the whole walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Halt {
    Cancelled,
    Time,
    Total,
}

/// State shared by the walker and every metering reader of one top-level walk.
struct Budget<'a> {
    limits: &'a Limits,
    cancel: &'a AtomicBool,
    start: Instant,
    expanded: Cell<u64>,
    /// Bytes of zips held in memory right now.
    buffered: Cell<u64>,
    halt: Cell<Option<Halt>>,
    /// The reason of the last member limit hit and not yet reported.
    tripped: RefCell<Option<String>>,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a Limits, cancel: &'a AtomicBool) -> Budget<'a> {
        Budget {
            limits,
            cancel,
            start: Instant::now(),
            expanded: Cell::new(0),
            buffered: Cell::new(0),
            halt: Cell::new(None),
            tripped: RefCell::new(None),
        }
    }

    /// Whether the walk must stop (cancelled, out of time or out of total bytes).
    fn halted(&self) -> bool {
        if self.halt.get().is_none() {
            if self.cancel.load(Ordering::Relaxed) {
                self.halt.set(Some(Halt::Cancelled));
            } else if self.start.elapsed() > self.limits.max_time {
                self.halt.set(Some(Halt::Time));
            }
        }
        self.halt.get().is_some()
    }

    /// Records a member limit hit and returns the error a reader hands up.
    fn trip(&self, reason: String) -> io::Error {
        let err = io::Error::other(reason.clone());
        let mut t = self.tripped.borrow_mut();
        if t.is_none() {
            *t = Some(reason);
        }
        err
    }
}

struct Walker<'w, 'b> {
    budget: &'b Budget<'b>,
    leaf: &'w mut LeafFn<'w>,
    skip: &'w mut dyn FnMut(Skip),
    stats: WalkStats,
}

impl Walker<'_, '_> {
    fn limits(&self) -> &Limits {
        self.budget.limits
    }

    fn skip(&mut self, path: &str, kind: SkipKind, reason: String) {
        (self.skip)(Skip { path: path.to_owned(), reason, kind });
    }

    /// Reports a problem at `path`: a pending limit hit if there is one, else `err` as
    /// a corrupt archive; nothing once the walk is halted (the halt is reported once).
    fn fail(&mut self, path: &str, err: &dyn fmt::Display) {
        let tripped = self.budget.tripped.borrow_mut().take();
        if self.budget.halt.get().is_some() {
            return;
        }
        match tripped {
            Some(reason) => self.skip(path, SkipKind::Limit, reason),
            None => self.skip(path, SkipKind::Error, format!("corrupt archive: {}", lowercase_first(&err.to_string()))),
        }
    }

    /// Reports a pending limit hit that a reader swallowed, if any.
    fn flush_trip(&mut self, path: &str) {
        if self.budget.tripped.borrow().is_some() {
            self.fail(path, &"");
        }
    }

    /// Counts one more member of an archive that has `seen` so far; reports and returns
    /// `false` when the archive has too many.
    fn count_member(&mut self, path: &str, seen: u64) -> bool {
        if seen >= self.limits().max_members {
            let max = self.limits().max_members;
            self.skip(path, SkipKind::Limit, format!("limit max-members: more than {max} members"));
            return false;
        }
        self.stats.members += 1;
        true
    }

    fn container(&mut self, format: Format, path: &str, chain: &mut Vec<&'static str>, input: Input<'_>) {
        chain.push(format.decoder());
        match (format, input) {
            (Format::Zip, Input::Seekable(r)) => self.zip(path, chain, r),
            (Format::Ole, Input::Seekable(r)) => self.ole(path, chain, r),
            (f @ (Format::Zip | Format::Ole | Format::SevenZ), Input::Stream(r)) => {
                self.buffered(f, path, chain, Vec::new(), r);
            }
            (Format::SevenZ, Input::Seekable(r)) => self.sevenz(path, chain, r),
            (Format::Tar, Input::Stream(r)) => self.tar(path, chain, r),
            (Format::Tar, Input::Seekable(r)) => self.tar(path, chain, r),
            (f, Input::Stream(r)) => self.stream(f, path, chain, r),
            (f, Input::Seekable(r)) => self.stream(f, path, chain, r),
        }
        chain.pop();
    }

    /// Reads a whole zip, 7z or OLE file into memory (`head` already read) and walks it. The
    /// buffers of archives nested in each other are alive at the same time, so
    /// [`Limits::max_buffer_bytes`] bounds their sum.
    fn buffered<R: Read + ?Sized>(
        &mut self,
        format: Format,
        path: &str,
        chain: &mut Vec<&'static str>,
        mut head: Vec<u8>,
        r: &mut R,
    ) {
        let max = self.limits().max_buffer_bytes;
        let held = self.budget.buffered.get();
        let room = max.saturating_sub(held);
        match (&mut *r).take(room.saturating_add(1).saturating_sub(head.len() as u64)).read_to_end(&mut head) {
            Ok(_) if head.len() as u64 > room => {
                self.budget.tripped.borrow_mut().take();
                if !self.budget.halted() {
                    let reason = format!(
                        "limit max-buffer-bytes: needs random access and would take the memory held for it past {max} bytes"
                    );
                    self.skip(path, SkipKind::Limit, reason);
                }
            }
            Ok(_) => {
                let len = head.len() as u64;
                self.budget.buffered.set(held + len);
                let mut cursor = io::Cursor::new(head);
                match format {
                    Format::Ole => self.ole(path, chain, &mut cursor),
                    Format::SevenZ => self.sevenz(path, chain, &mut cursor),
                    _ => self.zip(path, chain, &mut cursor),
                }
                self.budget.buffered.set(self.budget.buffered.get() - len);
            }
            Err(e) => self.fail_io(path, &e),
        }
    }

    /// Handles one member whose stream is `meter`: recurses into it when it is a
    /// container, else hands it to the leaf callback.
    fn member(&mut self, path: &str, chain: &mut Vec<&'static str>, meter: &mut Meter<'_, dyn Read + '_>) {
        self.member_in(path, None, chain, meter);
    }

    /// [`Walker::member`] for the one member of a compressed stream (`stream` is the
    /// stream's own path): a tar inside it is labelled with the stream's path, as users
    /// name it (`site.tar.gz!db/dump.sql`, not `site.tar.gz!site.tar!db/dump.sql`).
    fn member_in(
        &mut self,
        path: &str,
        stream: Option<&str>,
        chain: &mut Vec<&'static str>,
        meter: &mut Meter<'_, dyn Read + '_>,
    ) {
        let head = match read_head(meter) {
            Ok(h) => h,
            Err(e) => return self.fail_io(path, &e),
        };
        self.member_with_head(path, stream, chain, head, meter);
    }

    fn member_with_head(
        &mut self,
        path: &str,
        stream: Option<&str>,
        chain: &mut Vec<&'static str>,
        head: Vec<u8>,
        meter: &mut Meter<'_, dyn Read + '_>,
    ) {
        if let Some(format) = sniff(&head, path) {
            let path = match stream {
                Some(outer) if format == Format::Tar => outer,
                _ => path,
            };
            let max = self.limits().max_depth;
            if chain.len() as u64 >= u64::from(max) {
                let reason = format!("limit max-depth: {format} nested more than {max} containers deep");
                return self.skip(path, SkipKind::Limit, reason);
            }
            if matches!(format, Format::Zip | Format::Ole | Format::SevenZ) {
                chain.push(format.decoder());
                self.buffered(format, path, chain, head, meter);
                chain.pop();
            } else {
                let mut r = io::Cursor::new(head).chain(meter);
                self.container(format, path, chain, Input::Stream(&mut r));
            }
            return;
        }
        meter.cap = Some(self.limits().max_member_bytes);
        self.stats.leaves += 1;
        let mut r = io::Cursor::new(head).chain(meter);
        let res = (self.leaf)(path, chain, &mut r, false);
        match res {
            Err(e) => self.fail_io(path, &e),
            Ok(()) => self.flush_trip(path),
        }
    }

    /// Reports an I/O error, telling decoder memory limits apart from corruption.
    fn fail_io(&mut self, path: &str, err: &io::Error) {
        if self.budget.tripped.borrow().is_none() && stream::is_memlimit(err) {
            let max = self.limits().max_decoder_memory;
            let reason = format!("limit max-decoder-memory: needs more than {max} bytes to decode");
            *self.budget.tripped.borrow_mut() = Some(reason);
        }
        // An error from the operating system (EIO from a bad sector, a network mount gone)
        // is not damage in the archive: it is reported as what it is, like a plain file's.
        if err.raw_os_error().is_some() && self.budget.tripped.borrow().is_none() && self.budget.halt.get().is_none() {
            return self.skip(path, SkipKind::Error, format!("cannot read: {}", lowercase_first(&err.to_string())));
        }
        self.fail(path, err);
    }
}

/// Reads up to [`SNIFF_LEN`] bytes (fewer only at the end of the stream).
fn read_head<R: Read + ?Sized>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut *r).take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// The last component of a member path (`a/b.tar.gz!x/y.gz` → `y.gz`).
fn base_name(path: &str) -> &str {
    path.rsplit(['/', '!']).next().unwrap_or(path)
}
