//! Single-stream compressors: gzip, bzip2, xz, zstd. Each has one member, the
//! decompressed stream, named after the gzip header's file name when there is one, else
//! after the outer name without its extension (`x.csv.gz` → `x.csv`, `y.tgz` → `y.tar`).

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::meter::{Compressed, Counting, Meter};
use super::{Format, Walker, base_name, read_head};

/// `(suffix, replacement)` per format, matched case-insensitively on the outer name.
const SUFFIXES: &[(Format, &str, &str)] = &[
    (Format::Gzip, ".tgz", ".tar"),
    (Format::Gzip, ".taz", ".tar"),
    (Format::Gzip, ".gz", ""),
    (Format::Gzip, ".gzip", ""),
    (Format::Gzip, ".z", ""),
    (Format::Bzip2, ".tbz2", ".tar"),
    (Format::Bzip2, ".tbz", ".tar"),
    (Format::Bzip2, ".bz2", ""),
    (Format::Bzip2, ".bz", ""),
    (Format::Xz, ".txz", ".tar"),
    (Format::Xz, ".xz", ""),
    (Format::Zstd, ".tzst", ".tar"),
    (Format::Zstd, ".zst", ""),
    (Format::Zstd, ".zstd", ""),
];

/// The member name of a compressed stream found at `outer` (a path or member path).
pub(super) fn inner_name(outer: &str, format: Format) -> String {
    let base = base_name(outer);
    let lower = base.to_ascii_lowercase();
    for (f, suffix, with) in SUFFIXES {
        if *f == format && lower.len() > suffix.len() && lower.ends_with(suffix) {
            // ASCII-lowercasing keeps byte offsets, so the cut is on a char boundary.
            return format!("{}{with}", &base[..base.len() - suffix.len()]);
        }
    }
    base.to_owned()
}

/// Whether an I/O error is a decoder refusing to use more memory than allowed.
pub(super) fn is_memlimit(err: &io::Error) -> bool {
    if let Some(e) = err.get_ref().and_then(|i| i.downcast_ref::<liblzma::stream::Error>()) {
        return matches!(e, liblzma::stream::Error::MemLimit);
    }
    // liblzma's reader may hand its error up as text; zstd reports a window larger than
    // `window_log_max` with this message.
    let text = err.to_string();
    text.contains("memory limit reached") || text.contains("requires too much memory")
}

impl Walker<'_, '_> {
    /// Walks a gzip, bzip2, xz or zstd stream.
    pub(super) fn stream(&mut self, format: Format, path: &str, chain: &mut Vec<&'static str>, input: &mut dyn Read) {
        if !self.count_member(path, 0) {
            return;
        }
        let count = Rc::new(Cell::new(0));
        let counting = Counting { inner: input, count: Rc::clone(&count) };
        let budget = self.budget;
        let compressed = Compressed::Counted(count);
        let name = inner_name(path, format);
        match format {
            Format::Gzip => {
                let mut meter = Meter::new(budget, compressed, true, flate2::read::MultiGzDecoder::new(counting));
                let head = match read_head(&mut meter) {
                    Ok(h) => h,
                    Err(e) => return self.fail_io(path, &e),
                };
                let name = meter
                    .inner
                    .header()
                    .and_then(|h| h.filename())
                    .filter(|n| !n.is_empty())
                    .map_or(name, |n| String::from_utf8_lossy(n).into_owned());
                self.member_with_head(&format!("{path}!{name}"), Some(path), chain, head, &mut meter);
            }
            Format::Bzip2 => {
                let mut meter = Meter::new(budget, compressed, true, bzip2::read::MultiBzDecoder::new(counting));
                self.member_in(&format!("{path}!{name}"), Some(path), chain, &mut meter);
            }
            Format::Xz => {
                let memlimit = self.limits().max_decoder_memory;
                let stream = match liblzma::stream::Stream::new_stream_decoder(memlimit, liblzma::stream::CONCATENATED)
                {
                    Ok(s) => s,
                    Err(e) => return self.fail(path, &e),
                };
                let dec = liblzma::read::XzDecoder::new_stream(counting, stream);
                let mut meter = Meter::new(budget, compressed, true, dec);
                self.member_in(&format!("{path}!{name}"), Some(path), chain, &mut meter);
            }
            Format::Zstd => {
                let mut dec = match zstd::stream::read::Decoder::new(counting) {
                    Ok(d) => d,
                    Err(e) => return self.fail_io(path, &e),
                };
                // Window of at most max_decoder_memory (zstd accepts logs 10..=31).
                let log = self.limits().max_decoder_memory.max(1 << 10).ilog2();
                if let Err(e) = dec.window_log_max(log.min(31)) {
                    return self.fail_io(path, &e);
                }
                let mut meter = Meter::new(budget, compressed, true, dec);
                self.member_in(&format!("{path}!{name}"), Some(path), chain, &mut meter);
            }
            Format::Zip | Format::Tar | Format::SevenZ | Format::Ole => {
                debug_assert!(false, "not a stream format: {format}");
            }
        }
    }
}
