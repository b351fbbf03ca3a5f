//! The detectors TOML loader: one built-in file (the first byte picks which) replaced by
//! arbitrary text. Loading either fails with an error or gives a set that validates
//! without panicking and drives the engine over a sample with cards, keywords, expiry
//! dates and track data.
#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use pansweep::detectors::{DetectorSet, Origin, builtin, check};
use pansweep::scan::{ScanInput, ScannerBuilder};

const SAMPLE: &[u8] = b"order 1 card 4111 1111 1111 1111 exp 12/29 cvv 123\n\
    %B4111111111111111^DOE/J^2912101000000000?;4111111111111111=29121010000000000?\n\
    \xe3\x82\xab\xe3\x83\xbc\xe3\x83\x89\xe7\x95\xaa\xe5\x8f\xb7 3530111333300000 \xe6\x9c\x89\xe5\x8a\xb9\xe6\x9c\x9f\xe9\x99\x90 2030/01\n";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut files: BTreeMap<String, (Origin, String)> =
        builtin::FILES.iter().map(|(rel, c)| ((*rel).to_owned(), (Origin::Builtin, (*c).to_owned()))).collect();
    let (rel, _) = builtin::FILES[usize::from(pick) % builtin::FILES.len()];
    files.insert(rel.to_owned(), (Origin::Builtin, text.to_owned()));
    if let Ok(set) = DetectorSet::from_files(files) {
        let _ = check::validate(&set);
        let scanner = ScannerBuilder::new(Arc::new(set)).snippets(true).build();
        let mut found = Vec::new();
        scanner.scan(&ScanInput::whole(SAMPLE), &mut found);
    }
});
