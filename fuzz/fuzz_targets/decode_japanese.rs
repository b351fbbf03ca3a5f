//! The Japanese legacy decoders (Shift_JIS, EUC-JP, ISO-2022-JP) and the UTF-8 full-width
//! folding: on arbitrary bytes, from the start and mid-file with and without a
//! synchronisation point, the maps are well formed and the engine runs on the view; on
//! text encoded by encoding_rs, the view equals the UTF-8 view of the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep::scan::decode::{TextEncoding, View};
use pansweep_fuzz::{check_map, scan_bytes};

const ENCODINGS: [(TextEncoding, &encoding_rs::Encoding); 3] = [
    (TextEncoding::ShiftJis, encoding_rs::SHIFT_JIS),
    (TextEncoding::EucJp, encoding_rs::EUC_JP),
    (TextEncoding::Iso2022Jp, encoding_rs::ISO_2022_JP),
];

fuzz_target!(|data: &[u8]| {
    let mut view = View::new();
    let sync = data.first().map(|&b| usize::from(b) % (data.len() + 1));
    for enc in [TextEncoding::Utf8, TextEncoding::ShiftJis, TextEncoding::EucJp, TextEncoding::Iso2022Jp] {
        for (abs, sync) in [(0u64, None), (1 << 20, None), (1 << 20, sync)] {
            view.decode_from(enc, data, abs, sync);
            check_map(enc.name(), &view.map, view.buf.len(), data.len());
            assert!(view.folds.windows(2).all(|w| w[0] < w[1]));
            assert!(view.folds.iter().all(|&f| (f as usize) < view.buf.len()));
            let mid = data.len() / 2;
            if let Some(b) = view.boundary_from(mid) {
                assert!(b >= mid && b <= data.len(), "{}: boundary outside the chunk", enc.name());
            }
            scan_bytes(&view.buf);
        }
    }

    // Differential: text as encoding_rs writes it decodes to the UTF-8 view of the text
    // encoding_rs reads back (characters an encoding cannot hold are left out first).
    let text = String::from_utf8_lossy(data);
    for (enc, rs) in ENCODINGS {
        let mut ok = String::new();
        let mut one = [0u8; 4];
        for c in text.chars() {
            let (_, _, unmappable) = rs.encode(c.encode_utf8(&mut one));
            if !unmappable {
                ok.push(c);
            }
        }
        let (bytes, _, _) = rs.encode(&ok);
        let (back, _) = rs.decode_without_bom_handling(&bytes);
        let mut utf8 = View::new();
        utf8.decode(TextEncoding::Utf8, back.as_bytes(), 0);
        view.decode(enc, &bytes, 0);
        assert!(view.buf == utf8.buf, "{} view differs from the UTF-8 view of the same text", enc.name());
        assert_eq!(view.folds, utf8.folds, "{} folds differ from UTF-8", enc.name());
    }
});
