//! The quoted-printable decoder: the input as it is, and the input quoted-printable
//! encoded with a mix chosen by the input itself (escaped bytes, escaped digits `=3X`,
//! soft line breaks with LF and CRLF). Every region is checked by `check_embedded`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep_fuzz::{Pick, check_embedded};

fuzz_target!(|data: &[u8]| {
    check_embedded(data);
    let mut pick = Pick::new(data);
    let mut buf = b"Content-Transfer-Encoding: quoted-printable\n\n".to_vec();
    let mut col = 0;
    for &b in data {
        let escape = !(b.is_ascii_graphic() || b == b' ') || b == b'=' || pick.below(4) == 0;
        if escape {
            buf.extend_from_slice(format!("={b:02X}").as_bytes());
            col += 3;
        } else {
            buf.push(b);
            col += 1;
        }
        if col >= 72 || pick.below(16) == 0 {
            buf.extend_from_slice(if pick.below(2) == 0 { b"=\n" } else { b"=\r\n" });
            col = 0;
        }
    }
    buf.push(b'\n');
    check_embedded(&buf);
});
