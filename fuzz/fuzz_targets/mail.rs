//! The mail reader (one message, an mbox, an Outlook `.msg`; the first byte picks which):
//! walked directly, then scanned by the whole pipeline, every report format checked for
//! the candidate card numbers of the input and of every decoded part.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pansweep::source::mail::MailFormat;
use pansweep_fuzz::{container_target, walk_mail};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else { return };
    let (format, name) = match pick % 3 {
        0 => (MailFormat::Eml, "input.eml"),
        1 => (MailFormat::Mbox, "input.mbox"),
        _ => (MailFormat::OutlookMsg, "input.msg"),
    };
    container_target(name, data, |d, c| walk_mail(format, d, c));
});
