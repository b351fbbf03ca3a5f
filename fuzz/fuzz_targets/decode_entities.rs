//! The HTML/XML entity decoder (and the XML text and URL decoders beside it): the input
//! as it is, and the input's characters written as decimal, hex and named entities,
//! percent escapes and between tags, in a mix chosen by the input itself. Every region is
//! checked by `check_embedded`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep_fuzz::{Pick, check_embedded};

fuzz_target!(|data: &[u8]| {
    check_embedded(data);
    let mut pick = Pick::new(data);
    let mut buf = b"<td>".to_vec();
    for c in String::from_utf8_lossy(data).chars() {
        let s = match (c, pick.below(6)) {
            ('&', _) => "&amp;".to_owned(),
            ('<', _) => "&lt;".to_owned(),
            (' ', 0) => "&nbsp;".to_owned(),
            (_, 0) => format!("&#{};", u32::from(c)),
            (_, 1) => format!("&#x{:x};", u32::from(c)),
            (_, 2) if c.is_ascii() => format!("%{:02X}", u32::from(c)),
            (_, 3) => format!("</w:t></w:r><w:r><w:t>{c}"),
            _ => c.to_string(),
        };
        buf.extend_from_slice(s.as_bytes());
    }
    buf.extend_from_slice(b"</td>\n");
    check_embedded(&buf);
});
