//! OLE compound files (the "structured storage" of legacy Office: `.doc`, `.xls`, `.ppt`,
//! and of `.msi`, Outlook `.msg`, embedded objects). The file is a little FAT file system
//! whose streams are stored in 512- or 4096-byte sectors that need not be contiguous, so a
//! string in a `.doc` can be cut in two by the layout. Each stream is read in its logical
//! order with the `cfb` crate and handed on as a member (`book.xls!Workbook`,
//! `report.doc!ObjectPool/_1234/Ole10Native`); the leaf scan then finds text stored as
//! 8-bit characters (compressed BIFF strings, Word's "compressed" text) and, since such
//! streams are binary, UTF-16LE strings (Word text, BIFF8 wide strings).
//!
//! Numbers stored as binary doubles (an `.xls` cell holding a PAN typed as a number) are
//! not text and are not found: see docs/formats.md.

use std::io::{self, Read, SeekFrom};
use std::path::{Path, PathBuf};

use super::meter::{Compressed, Meter};
use super::{ReadSeek, SkipKind, Walker, lowercase_first};

impl Walker<'_, '_> {
    pub(super) fn ole(&mut self, path: &str, chain: &mut Vec<&'static str>, r: &mut dyn ReadSeek) {
        let mut file = match cfb::CompoundFile::open(&mut *r) {
            Ok(f) => f,
            Err(e) => {
                let reason = format!(
                    "corrupt ole file: {}; its bytes were scanned as they are",
                    lowercase_first(&e.to_string())
                );
                self.skip(path, SkipKind::Error, reason);
                return self.as_is(path, chain, r);
            }
        };
        let streams: Vec<(PathBuf, u64)> =
            file.walk().filter(cfb::Entry::is_stream).map(|e| (e.path().to_path_buf(), e.len())).collect();
        for (i, (stream, len)) in streams.iter().enumerate() {
            if self.budget.halted() || !self.count_member(path, i as u64) {
                return;
            }
            let member = format!("{path}!{}", label(stream));
            match file.open_stream(stream) {
                Ok(s) => {
                    // A stream is stored, not compressed: no ratio to check. Its declared
                    // length bounds what is read even when the sector chain says more.
                    let mut s = s.take(*len);
                    let mut meter = Meter::new(self.budget, Compressed::None, false, &mut s);
                    self.member(&member, chain, &mut meter);
                }
                Err(e) => self.fail_io(&member, &io::Error::new(e.kind(), format!("corrupt ole stream: {e}"))),
            }
        }
    }
}

impl Walker<'_, '_> {
    /// Hands the bytes of a container that could not be taken apart to the leaf callback
    /// as they are, without its own decoder in the chain.
    fn as_is(&mut self, path: &str, chain: &mut Vec<&'static str>, r: &mut dyn ReadSeek) {
        if let Err(e) = r.seek(SeekFrom::Start(0)) {
            return self.fail_io(path, &e);
        }
        let own = chain.pop();
        let mut meter = Meter::new(self.budget, Compressed::None, false, &mut *r);
        meter.cap = Some(self.limits().max_member_bytes);
        self.stats.leaves += 1;
        match (self.leaf)(path, chain, &mut meter, true) {
            Err(e) => self.fail_io(path, &e),
            Ok(()) => self.flush_trip(path),
        }
        chain.extend(own);
    }
}

/// A stream's path inside the compound file as a member label: components joined by `/`,
/// control characters (stream names such as `\x05SummaryInformation` start with one)
/// dropped.
fn label(stream: &Path) -> String {
    let mut out = String::new();
    for comp in stream.components() {
        let name = comp.as_os_str().to_string_lossy();
        if name == "/" {
            continue;
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.extend(name.chars().filter(|c| !c.is_control()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_the_root_and_control_characters() {
        assert_eq!(label(Path::new("/Workbook")), "Workbook");
        assert_eq!(label(Path::new("/\u{5}SummaryInformation")), "SummaryInformation");
        assert_eq!(label(Path::new("/ObjectPool/_1234/Ole10Native")), "ObjectPool/_1234/Ole10Native");
    }
}
