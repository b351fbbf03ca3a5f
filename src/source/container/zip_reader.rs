//! Zip, read through its central directory (random access), which also covers OOXML and
//! ODF documents and jar files. When the central directory cannot be read (a truncated
//! download, a damaged end record) the archive is reported as corrupt and then read again
//! from the start through its local headers, so the members before the damage are still
//! visited; that fallback stops at the first member whose sizes are only in a trailing data
//! descriptor, or at the first damaged one.

use std::io;

use zip::CompressionMethod;
use zip::result::ZipError;

use super::meter::{Compressed, Meter};
use super::{ReadSeek, SkipKind, Walker, lowercase_first};

impl Walker<'_, '_> {
    pub(super) fn zip(&mut self, path: &str, chain: &mut Vec<&'static str>, r: &mut dyn ReadSeek) {
        let mut archive = match zip::ZipArchive::new(&mut *r) {
            Ok(a) => a,
            Err(e) => {
                self.zip_fail(path, e);
                if !self.budget.halted() && r.seek(io::SeekFrom::Start(0)).is_ok() {
                    self.zip_local_headers(path, chain, r);
                }
                return;
            }
        };
        for i in 0..archive.len() {
            if self.budget.halted() || !self.count_member(path, i as u64) {
                return;
            }
            let (name, encrypted, data, compressed, method) = match archive.by_index_raw(i) {
                Ok(f) => (f.name().to_owned(), f.encrypted(), f.is_file(), f.compressed_size(), f.compression()),
                Err(e) => {
                    self.zip_fail(&format!("{path}!#{i}"), e);
                    continue;
                }
            };
            if !data {
                continue;
            }
            let member = format!("{path}!{name}");
            if encrypted {
                self.skip(&member, SkipKind::Error, "encrypted member".to_owned());
                continue;
            }
            match archive.by_index(i) {
                Ok(mut file) => {
                    let expands = method != CompressionMethod::Stored;
                    let mut meter = Meter::new(self.budget, Compressed::Known(compressed), expands, &mut file);
                    self.member(&member, chain, &mut meter);
                }
                Err(e) => self.zip_fail(&member, e),
            }
        }
    }

    /// Reads members one after the other from their local headers.
    fn zip_local_headers(&mut self, path: &str, chain: &mut Vec<&'static str>, r: &mut dyn ReadSeek) {
        let mut reader = io::BufReader::new(r);
        let mut seen = 0;
        loop {
            if self.budget.halted() {
                return;
            }
            // `Ok(None)` is the end of the local headers; an error is damage already
            // reported for the archive.
            let Ok(Some(mut file)) = zip::read::read_zipfile_from_stream(&mut reader) else {
                return;
            };
            if !self.count_member(path, seen) {
                return;
            }
            seen += 1;
            if !file.is_file() {
                continue;
            }
            let member = format!("{path}!{}", file.name());
            let compressed = file.compressed_size();
            let expands = file.compression() != CompressionMethod::Stored;
            let mut meter = Meter::new(self.budget, Compressed::Known(compressed), expands, &mut file);
            self.member(&member, chain, &mut meter);
            // Whatever the member's reader left unread is skipped when `file` drops.
        }
    }

    fn zip_fail(&mut self, path: &str, err: ZipError) {
        match err {
            ZipError::Io(e) => self.fail_io(path, &e),
            ZipError::UnsupportedArchive(msg) if msg.to_ascii_lowercase().contains("encrypt") => {
                self.skip(path, SkipKind::Error, "encrypted member".to_owned());
            }
            ZipError::UnsupportedArchive(msg) => {
                self.skip(path, SkipKind::Error, format!("unsupported zip feature: {}", lowercase_first(msg)));
            }
            e => self.fail(path, &e),
        }
    }
}
