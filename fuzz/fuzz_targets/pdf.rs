//! The PDF reader: taken apart directly, then scanned by the whole pipeline as
//! `input.pdf`, every report format checked for the candidate card numbers of the input
//! and of every page's text, the metadata, form values and embedded files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep_fuzz::{container_target, walk_pdf};

fuzz_target!(|data: &[u8]| {
    container_target("input.pdf", data, walk_pdf);
});
