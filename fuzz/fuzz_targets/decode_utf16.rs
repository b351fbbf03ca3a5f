//! The UTF-16 decoders: on arbitrary bytes at either alignment (maps well formed, the
//! engine runs on the view), the string finder for binary data, and the sniffer; and on
//! valid text, the UTF-16LE and UTF-16BE views equal the view of the same text as UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep::scan::decode::{self, TextEncoding, View};
use pansweep_fuzz::{check_map, scan_bytes};

fuzz_target!(|data: &[u8]| {
    let mut view = View::new();
    for enc in [TextEncoding::Utf16Le, TextEncoding::Utf16Be] {
        for abs in [0u64, 1, 4097] {
            view.decode(enc, data, abs);
            check_map(enc.name(), &view.map, view.buf.len(), data.len());
            assert!(view.folds.windows(2).all(|w| w[0] < w[1]));
            assert!(view.folds.iter().all(|&f| (f as usize) < view.buf.len()));
            let r = view.to_view(&(data.len() / 3..data.len()));
            assert!(r.start <= r.end && r.end <= view.buf.len());
            scan_bytes(&view.buf);
        }
    }
    let mut strings = View::new();
    strings.utf16_strings(data);
    check_map("utf16-strings", &strings.map, strings.buf.len(), data.len());
    scan_bytes(&strings.buf);
    let _ = decode::sniff(data);

    // Differential: the same text through UTF-8 and both UTF-16 byte orders.
    let text = String::from_utf8_lossy(data);
    let mut utf8 = View::new();
    utf8.decode(TextEncoding::Utf8, text.as_bytes(), 0);
    for (enc, bytes) in [
        (TextEncoding::Utf16Le, text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>()),
        (TextEncoding::Utf16Be, text.encode_utf16().flat_map(u16::to_be_bytes).collect()),
    ] {
        view.decode(enc, &bytes, 0);
        assert!(view.buf == utf8.buf, "{} view differs from the UTF-8 view of the same text", enc.name());
        assert_eq!(view.folds, utf8.folds, "{} folds differ from UTF-8", enc.name());
    }
});
