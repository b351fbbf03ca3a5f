//! The whole `scan` pipeline on arbitrary bytes: no panic, and no byte of any report
//! format, in English or Japanese, holds a candidate card number of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep_fuzz::{Candidates, assert_no_leak, scan_pipeline};

fuzz_target!(|data: &[u8]| {
    let outputs = scan_pipeline("input", data);
    let mut cands = Candidates::default();
    cands.add_any_encoding(data);
    assert_no_leak(&cands, &outputs);
});
