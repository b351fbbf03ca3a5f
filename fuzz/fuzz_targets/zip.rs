//! The zip reader: walked directly (as a file and as a stream) with member paths and skip
//! reasons checked, then scanned by the whole pipeline as `input.zip`, every report format
//! checked for the candidate card numbers of the input and of every member.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep::source::container::Format;
use pansweep_fuzz::{container_target, walk_container};

fuzz_target!(|data: &[u8]| {
    container_target("input.zip", data, |d, c| walk_container(Format::Zip, d, c));
});
