//! tar, read as a stream with the `tar` crate (ustar, pax and GNU long names, GNU sparse
//! files). Regular and contiguous files are members; directories, links, devices and FIFOs
//! are counted but hold no data. A damaged header ends the walk of that tar: a tar stream
//! cannot be resynchronised safely.

use std::io::Read;

use super::Walker;
use super::meter::{Compressed, Meter};

impl Walker<'_, '_> {
    pub(super) fn tar(&mut self, path: &str, chain: &mut Vec<&'static str>, input: &mut dyn Read) {
        let mut archive = tar::Archive::new(input);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return self.fail_io(path, &e),
        };
        for (seen, entry) in (0u64..).zip(entries) {
            if self.budget.halted() {
                return;
            }
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => return self.fail_io(path, &e),
            };
            if !self.count_member(path, seen) {
                return;
            }
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let member = format!("{path}!{name}");
            let mut meter = Meter::new(self.budget, Compressed::None, false, &mut entry);
            self.member(&member, chain, &mut meter);
        }
    }
}
