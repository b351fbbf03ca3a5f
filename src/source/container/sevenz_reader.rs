//! 7z archives, read with the pure-Rust `sevenz-rust2` crate. A 7z keeps its directory
//! (the "header") at the end and its data in *blocks*: one block per file, or, in a solid
//! archive, one block holding many files compressed as one stream. So a 7z needs random
//! access, like a zip: on disk it is read through `Read + Seek`, inside a stream it is
//! buffered within [`Limits::max_buffer_bytes`](super::Limits::max_buffer_bytes).
//!
//! - **Members** are the file entries of every block, in order; each is handed on through
//!   the metering reader with `7z` in the decoder chain. Directories and empty files count
//!   as members but have nothing to scan.
//! - **Ratio**: the crate decodes a block as one stream and does not say how much of the
//!   packed input a given entry took (its decoders read ahead), so a member's compressed
//!   size is its share of the block's packed size, in proportion to its declared size. The
//!   ratio checked is thus the block's own ratio; entry sizes come from the header but the
//!   crate never yields more than an entry declares.
//! - **Solid blocks** decode in order, so a member cannot be skipped without decoding it.
//!   What a member's reader leaves unread (a leaf stopped at `max-member-bytes`, a nested
//!   tar that ends early) is drained through the same meter, so total bytes, ratio and time
//!   still apply, and the next member starts where it should. When a member breaks the
//!   stream (damage, or a limit hit while draining) the rest of its block is reported as
//!   skipped with that reason; the other blocks are still read.
//! - **Decoder memory**: the crate reads the LZMA/LZMA2 dictionary size and the `PPMd` model
//!   size from the header and refuses a block that needs more than
//!   [`Limits::max_decoder_memory`](super::Limits::max_decoder_memory) before allocating.
//! - **Encryption** is recognised from the AES coder of a block (`encrypted member`) or by
//!   an encrypted header (`encrypted archive`); nothing is decrypted.
//! - **Never a crash**: crate calls run under `catch_unwind`; a panic there becomes a
//!   `corrupt archive` skip. A panic in our own leaf code is passed on unchanged.

use std::any::Any;
use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};

use sevenz_rust2::{Archive, ArchiveEntry, BlockDecoder, EncoderMethod, Error, Password};

use super::meter::{Compressed, Meter};
use super::{ReadSeek, SkipKind, Walker, lowercase_first};
use crate::source::quiet::{loud, quietly};

/// What happened while one block was read.
#[derive(Default)]
struct BlockState {
    /// Entries of the block handed out by the crate so far.
    handled: usize,
    /// The whole walk must stop (halted, or too many members).
    stop: bool,
    /// Why the entries not handed out were not read.
    rest: Option<(SkipKind, String)>,
    /// A panic of our own code in a member, to be passed on.
    panic: Option<Box<dyn Any + Send>>,
}

impl Walker<'_, '_> {
    pub(super) fn sevenz(&mut self, path: &str, chain: &mut Vec<&'static str>, r: &mut dyn ReadSeek) {
        let limit_kb = usize::try_from(self.limits().max_decoder_memory / 1024).unwrap_or(usize::MAX).max(1);
        let password = Password::empty();
        let mut src = r;
        let len = match src.seek(io::SeekFrom::End(0)) {
            Ok(n) => n,
            Err(e) => return self.fail_io(path, &e),
        };
        let archive = match quietly(|| Archive::read_with_memory_limit(&mut src, &password, limit_kb)) {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                let (kind, reason) = self.describe(&e, "encrypted archive");
                return self.skip(path, kind, reason);
            }
            Err(_) => return self.skip(path, SkipKind::Error, "corrupt archive: unreadable header".to_owned()),
        };
        let mut seen = 0u64;
        for b in 0..archive.blocks.len() {
            if self.budget.halted() {
                return;
            }
            let dec = BlockDecoder::new_with_memory_limit(1, limit_kb, b, &archive, &password, &mut src);
            let Ok(entries) = quietly(|| dec.entries().to_vec()) else {
                return self.skip(path, SkipKind::Error, "corrupt archive: unreadable header".to_owned());
            };
            let block = &archive.blocks[b];
            let mut state = BlockState::default();
            if block.coders.iter().any(|c| c.encoder_method_id() == EncoderMethod::ID_AES256_SHA256) {
                state.rest = Some((SkipKind::Error, "encrypted member".to_owned()));
            } else {
                let expands = block.coders.iter().any(|c| c.encoder_method_id() != EncoderMethod::ID_COPY);
                let share = Share {
                    packed: block_packed(&archive, b).unwrap_or(len).min(len),
                    unpacked: block.get_unpack_size(),
                };
                let res = quietly(|| {
                    dec.for_each_entries(&mut |entry, reader| {
                        let r = panic::catch_unwind(AssertUnwindSafe(|| {
                            loud(|| {
                                self.sevenz_member(path, chain, entry, reader, &mut seen, expands, share, &mut state)
                            })
                        }));
                        Ok(r.unwrap_or_else(|payload| {
                            state.panic = Some(payload);
                            false
                        }))
                    })
                });
                if let Some(payload) = state.panic.take() {
                    panic::resume_unwind(payload);
                }
                match res {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) if state.handled == 0 => state.rest = Some(self.describe(&e, "encrypted member")),
                    Ok(Err(e)) => {
                        let (kind, reason) = self.describe(&e, "encrypted member");
                        self.skip(path, kind, reason);
                        state.rest.get_or_insert_with(rest_after_damage);
                    }
                    Err(_) => {
                        self.skip(path, SkipKind::Error, "corrupt archive: decoder failure".to_owned());
                        state.rest.get_or_insert_with(rest_after_damage);
                    }
                }
            }
            if state.stop {
                return;
            }
            // Entries the crate did not hand out: counted, and reported when they hold data.
            for entry in entries.iter().skip(state.handled) {
                if self.budget.halted() || !self.count_member(path, seen) {
                    return;
                }
                seen += 1;
                if let (true, Some((kind, reason))) = (entry.has_stream, &state.rest) {
                    self.skip(&format!("{path}!{}", entry.name()), *kind, reason.clone());
                }
            }
        }
        // Entries without data (directories, empty files) outside every block.
        for (i, _) in archive.stream_map.file_block_index.iter().enumerate().filter(|(_, b)| b.is_none()) {
            if i >= archive.files.len() || self.budget.halted() || !self.count_member(path, seen) {
                return;
            }
            seen += 1;
        }
    }

    /// Handles one entry the crate hands out; returns whether the rest of its block can be
    /// read.
    #[allow(clippy::too_many_arguments)]
    fn sevenz_member(
        &mut self,
        path: &str,
        chain: &mut Vec<&'static str>,
        entry: &ArchiveEntry,
        reader: &mut dyn Read,
        seen: &mut u64,
        expands: bool,
        share: Share,
        state: &mut BlockState,
    ) -> bool {
        state.handled += 1;
        if self.budget.halted() || !self.count_member(path, *seen) {
            state.stop = true;
            return false;
        }
        *seen += 1;
        if !entry.has_stream || entry.is_directory {
            return true;
        }
        let member = format!("{path}!{}", entry.name());
        let compressed = if expands { Compressed::Known(share.of(entry.size)) } else { Compressed::None };
        let mut watched = Watched { inner: reader, failed: false };
        let mut meter = Meter::new(self.budget, compressed, expands, &mut watched);
        self.member(&member, chain, &mut meter);
        // Drain what the member's reader left, through the meter: the next entry of a
        // solid block starts after it, and the limits still apply to decoding it.
        meter.cap = None;
        let Err(e) = io::copy(&mut meter, &mut io::sink()) else {
            return true;
        };
        if self.budget.halted() {
            state.stop = true;
            return false;
        }
        // A limit hit while draining concerns bytes no reader wanted: it is given as the
        // reason for the rest of the block only. Damage is reported for the member unless
        // its own reader already met (and reported) it.
        let tripped = self.budget.tripped.borrow_mut().take();
        let rest = if let Some(reason) = tripped {
            (SkipKind::Limit, format!("{reason} (in an earlier member of its solid block)"))
        } else {
            if !meter.inner.failed {
                self.fail_io(&member, &e);
            }
            rest_after_damage()
        };
        state.rest = Some(rest);
        false
    }

    /// A crate error as a skip: limits, encryption (`encrypted` names what is encrypted),
    /// unsupported methods, damage. Reasons never quote archive contents.
    fn describe(&self, err: &Error, encrypted: &str) -> (SkipKind, String) {
        let corrupt = |what: &str| (SkipKind::Error, format!("corrupt archive: {what}"));
        match err {
            Error::MaxMemLimited { .. } => {
                let max = self.limits().max_decoder_memory;
                (SkipKind::Limit, format!("limit max-decoder-memory: needs more than {max} bytes to decode"))
            }
            Error::PasswordRequired | Error::MaybeBadPassword(_) => (SkipKind::Error, encrypted.to_owned()),
            // Built without the crate's `aes256` feature, the AES coder is an unknown method.
            Error::UnsupportedCompressionMethod(m) if is_aes(m) => (SkipKind::Error, encrypted.to_owned()),
            Error::UnsupportedCompressionMethod(m) => {
                (SkipKind::Error, format!("unsupported 7z compression method: {m}"))
            }
            Error::Unsupported(s) => (SkipKind::Error, format!("unsupported 7z feature: {}", lowercase_first(s))),
            Error::UnsupportedVersion { major, minor } => {
                (SkipKind::Error, format!("unsupported 7z version {major}.{minor}"))
            }
            Error::ChecksumVerificationFailed | Error::NextHeaderCrcMismatch => corrupt("checksum mismatch"),
            Error::BadSignature(_) => corrupt("bad signature"),
            Error::Io(e, _) | Error::FileOpen(e, _) => corrupt(&io_reason(e)),
            Error::Other(s) => corrupt(&lowercase_first(s)),
            _ => corrupt("malformed header"),
        }
    }
}

/// Whether an unsupported method named by the crate is its AES coder (`AES256_SHA256`), as
/// the crate reports it when built without `aes256` (release builds; tests enable it).
fn is_aes(method: &str) -> bool {
    method.to_ascii_uppercase().contains("AES")
}

/// The reason given for the entries of a solid block after a damaged one.
fn rest_after_damage() -> (SkipKind, String) {
    (SkipKind::Error, "corrupt archive: an earlier member of its solid block is damaged".to_owned())
}

/// A block's packed and unpacked sizes, to give each entry its share of the packed bytes.
#[derive(Clone, Copy)]
struct Share {
    packed: u64,
    unpacked: u64,
}

impl Share {
    /// The packed bytes of an entry of `size` bytes, in proportion (at least 1).
    fn of(self, size: u64) -> u64 {
        let part = u128::from(self.packed) * u128::from(size) / u128::from(self.unpacked.max(1));
        u64::try_from(part).unwrap_or(u64::MAX).max(1)
    }
}

/// The packed size of block `b`: its pack streams run up to the first one of the next block.
fn block_packed(archive: &Archive, b: usize) -> Option<u64> {
    let firsts = archive.stream_map.block_first_pack_stream_index();
    let first = *firsts.get(b)?;
    let next = firsts.get(b + 1).copied().unwrap_or(archive.pack_sizes().len());
    let sizes = archive.pack_sizes().get(first..next)?;
    Some(sizes.iter().fold(0u64, |a, s| a.saturating_add(*s)))
}

/// An I/O error of the crate as a reason (its texts are `Debug` names).
fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    if text.to_ascii_lowercase().contains("checksum") {
        "checksum mismatch".to_owned()
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        "truncated".to_owned()
    } else {
        lowercase_first(&text)
    }
}

/// A reader that remembers whether it returned an error, and words the crate's errors.
struct Watched<'r> {
    inner: &'r mut dyn Read,
    failed: bool,
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            self.failed = true;
            io::Error::new(e.kind(), io_reason(&e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aes_coder_is_named_as_such_without_the_aes256_feature() {
        assert!(is_aes(EncoderMethod::AES256_SHA256.name()));
        assert!(!is_aes(EncoderMethod::LZMA2.name()));
    }

    #[test]
    fn shares_are_proportional_and_never_zero() {
        let s = Share { packed: 1000, unpacked: 100_000 };
        assert_eq!(s.of(50_000), 500);
        assert_eq!(s.of(0), 1);
        assert_eq!(Share { packed: u64::MAX, unpacked: 0 }.of(u64::MAX), u64::MAX);
    }
}
