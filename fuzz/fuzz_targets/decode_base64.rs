//! The base64 decoder (and the embedded decoders it chains into): the input as it is, as
//! one base64 line, wrapped at 76 columns as in mail, after `key: ` in a log line, and
//! base64 of base64 (two levels). Every region is checked by `check_embedded`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep_fuzz::{base64, check_embedded};

fuzz_target!(|data: &[u8]| {
    check_embedded(data);
    let once = base64(data);
    let mut buf = data.to_vec();
    buf.extend_from_slice(b"\npayload: ");
    buf.extend_from_slice(&once);
    buf.extend_from_slice(b"\n");
    for line in once.chunks(76) {
        buf.extend_from_slice(line);
        buf.extend_from_slice(b"\r\n");
    }
    buf.extend_from_slice(b"x=\"");
    buf.extend_from_slice(&base64(&once));
    buf.extend_from_slice(b"\" end\n");
    check_embedded(&buf);
});
