//! One item end to end: find out what a file (or an archive member, or a mail part) is,
//! take containers and mail apart — recursively and across each other, so a zip attached
//! to a mail inside a tar.gz is reached — and scan every leaf with the engine.
//!
//! What a thing is comes from its first bytes ([`Kind::of`]), never from its name alone.
//! Leaves are read as streams by [`Reader::scan_stream`]; their findings come out as
//! [`Leaf`]s with the member path (`outer.tar.gz!inner.zip!orders.csv`) and the decoder
//! chain (`["gzip", "tar", "zip"]`), problems as [`Skip`]s. Nothing here spawns a thread
//! or writes a report: the caller (the pipeline) decides where results go.

use std::io::{self, Cursor, Read, SeekFrom};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::container::{self, Format, Input, ReadSeek};
use super::file::{Hit, PieceStats, Reader};
use super::mail::{self, MailError, MailFormat};
use super::pdf;
use super::{Skip, SkipKind};
use crate::scan::Scanner;
use crate::scan::decode::TextEncoding;

/// Findings of one leaf handed on at a time (line numbers are cumulative, so batches of
/// one member can simply follow each other).
pub const LEAF_BATCH: usize = 4096;

/// Bytes looked at to decide what an item is: as many as the text-encoding probe reads, so
/// one read serves both.
pub const HEAD_BYTES: usize = crate::scan::decode::SNIFF_BYTES;

/// Limits on taking items apart (SPEC §5), all configurable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemLimits {
    /// Archive limits; `max_depth` also bounds archives and mail nested in each other.
    pub container: container::Limits,
    /// Mail limits.
    pub mail: mail::MailLimits,
}

/// What an item is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An archive or compressed stream.
    Container(Format),
    /// A mail message, mailbox or Outlook file.
    Mail(MailFormat),
    /// A SQLite 3 database file: scanned table by table ([`super::sqlite`]).
    Sqlite,
    /// A PDF document (`%PDF-` within its first 1024 bytes).
    Pdf,
    /// Anything else: scanned as (possibly encoded) text or bytes.
    Plain,
}

impl Kind {
    /// Decides from the first bytes (up to [`HEAD_BYTES`]); `name` only breaks ties.
    pub fn of(head: &[u8], name: &str) -> Kind {
        if let Some(f) = container::sniff(head, name) {
            return Kind::Container(f);
        }
        if super::sqlite::sniff(head) {
            return Kind::Sqlite;
        }
        if pdf::sniff(head) {
            return Kind::Pdf;
        }
        if let Some(m) = mail::sniff(head, name) {
            return Kind::Mail(m);
        }
        Kind::Plain
    }
}

/// The findings of one leaf.
#[derive(Debug)]
pub struct Leaf {
    /// `outer!member!…` path (a database cell: `file.sqlite!main.orders.card_no`).
    pub path: String,
    /// Schema-qualified table of findings in a database (`main.orders`).
    pub table: Option<String>,
    /// Column of findings in a database; `None` with a table for the record that closes
    /// a table (no findings, its bytes and rows).
    pub column: Option<String>,
    /// Decoders applied, outermost first.
    pub decoders: Vec<&'static str>,
    /// Findings, in order.
    pub hits: Vec<Hit>,
    /// What was read.
    pub stats: PieceStats,
}

/// Takes items apart and scans their leaves.
pub struct ItemScanner<'a> {
    /// The worker's reader (its buffers are reused for every leaf).
    pub reader: &'a mut Reader,
    /// The engine.
    pub scanner: &'a Scanner,
    /// Set on Ctrl-C.
    pub cancel: &'a AtomicBool,
    /// Limits.
    pub limits: &'a ItemLimits,
    /// Receives each leaf's findings (also leaves without findings: they carry the bytes
    /// read).
    pub leaf: &'a mut dyn FnMut(Leaf),
    /// Receives each problem.
    pub skip: &'a mut dyn FnMut(Skip),
}

impl ItemScanner<'_> {
    /// A file on disk already found to be `kind` (a container, mail or database; plain
    /// files are scanned by the caller, which can split them across threads). `path` is
    /// the path as shown, `fs_path` the one to open (a database is opened by name).
    pub fn file(&mut self, path: &str, fs_path: &Path, file: &mut dyn ReadSeek, kind: Kind) {
        if let Err(e) = file.seek(SeekFrom::Start(0)) {
            (self.skip)(Skip::io(path, "cannot read", &e));
            return;
        }
        match kind {
            Kind::Container(format) => self.container(path, &[], format, Input::Seekable(file), 0),
            Kind::Mail(format) => self.mail(path, &[], format, file, 0),
            Kind::Sqlite => self.sqlite_file(path, fs_path, file),
            Kind::Pdf => self.pdf(path, &[], file, 0),
            Kind::Plain => {
                let r = self.plain(path, &[], file, None);
                if let Err(e) = r {
                    (self.skip)(Skip::io(path, "cannot read", &e));
                }
            }
        }
    }

    /// A stream: sniffed, then taken apart or scanned. Read errors are returned so that
    /// a container reports them against the member. A mail part is never sniffed as mail
    /// again (its header block looks like one; nested messages are the mail stage's job).
    fn stream(
        &mut self,
        path: &str,
        decoders: &[&'static str],
        input: &mut dyn Read,
        hint: Option<TextEncoding>,
        depth: u32,
        in_mail: bool,
    ) -> io::Result<()> {
        let mut head = Vec::with_capacity(HEAD_BYTES);
        input.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
        let name = path.rsplit('!').next().unwrap_or(path);
        let kind = match Kind::of(&head, name) {
            Kind::Mail(_) if in_mail => Kind::Plain,
            k => k,
        };
        let mut chained = Cursor::new(head).chain(input);
        match kind {
            Kind::Container(format) => self.container(path, decoders, format, Input::Stream(&mut chained), depth),
            Kind::Mail(format) => self.mail(path, decoders, format, &mut chained, depth),
            Kind::Sqlite => return self.sqlite_stream(path, decoders, &mut chained),
            Kind::Pdf => self.pdf(path, decoders, &mut chained, depth),
            Kind::Plain => return self.plain(path, decoders, &mut chained, hint),
        }
        Ok(())
    }

    fn too_deep(&mut self, path: &str, depth: u32) -> bool {
        let max = self.limits.container.max_depth;
        if depth >= max {
            (self.skip)(Skip {
                path: path.to_owned(),
                reason: format!("limit max-depth: archives and mail nested more than {max} deep"),
                kind: SkipKind::Limit,
            });
            return true;
        }
        false
    }

    fn container(&mut self, path: &str, decoders: &[&'static str], format: Format, input: Input<'_>, depth: u32) {
        if self.too_deep(path, depth) {
            return;
        }
        let mut limits = self.limits.container.clone();
        limits.max_depth = limits.max_depth.saturating_sub(depth);
        let mut skips = Vec::new();
        let cancel = self.cancel;
        container::walk(
            format,
            path,
            input,
            &limits,
            cancel,
            &mut |member, chain, r, as_is| {
                let mut all = decoders.to_vec();
                all.extend_from_slice(chain);
                if as_is {
                    return self.plain(member, &all, r, None);
                }
                self.stream(member, &all, r, None, depth + chain_depth(chain), false)
            },
            &mut |s| skips.push(s),
        );
        for s in skips {
            (self.skip)(s);
        }
    }

    fn mail(&mut self, path: &str, decoders: &[&'static str], format: MailFormat, input: &mut dyn Read, depth: u32) {
        if self.too_deep(path, depth) {
            return;
        }
        let mut skips = Vec::new();
        let limits = &self.limits.mail;
        let cancel = self.cancel;
        let result = mail::walk(
            format,
            input,
            limits,
            cancel,
            &mut |part| {
                let member = if part.label.is_empty() { path.to_owned() } else { format!("{path}!{}", part.label) };
                let mut all = decoders.to_vec();
                all.extend_from_slice(&part.decoders);
                let hint = part.charset.as_deref().and_then(TextEncoding::from_label);
                let mut body = part.body;
                // Header blocks and bodies look like mail but are not; an attachment (a
                // named part, e.g. a forwarded .eml or .msg sent as octet-stream) may be.
                let not_mail = part.filename.is_none();
                if let Err(e) = self.stream(&member, &all, &mut body, hint, depth + 1, not_mail) {
                    (self.skip)(Skip::io(member, "cannot read", &e));
                }
                Ok(())
            },
            &mut |mut s| {
                s.path = if s.path.is_empty() { path.to_owned() } else { format!("{path}!{}", s.path) };
                skips.push(s);
            },
        );
        for s in skips {
            (self.skip)(s);
        }
        match result {
            Ok(_) | Err(MailError::Cancelled) => {}
            Err(MailError::Read(e) | MailError::Part(e)) => (self.skip)(Skip::io(path, "cannot read", &e)),
        }
    }

    /// A PDF: read into memory (up to `max_buffer_bytes`), each page's text scanned as a
    /// leaf `path!page-N`, embedded files taken apart as items. A document that cannot be
    /// read (encrypted, damaged, over a limit) is skipped with the reason and its raw
    /// bytes are scanned as a plain file, so whatever they show is still found.
    fn pdf(&mut self, path: &str, decoders: &[&'static str], input: &mut dyn Read, depth: u32) {
        let max = self.limits.container.max_buffer_bytes;
        let mut data = Vec::new();
        if let Err(e) = input.take(max.saturating_add(1)).read_to_end(&mut data) {
            (self.skip)(Skip::io(path, "cannot read", &e));
            return;
        }
        let mut parts = 0;
        let failure = if data.len() as u64 > max {
            Some((format!("limit max-buffer-bytes: pdf larger than {max} bytes"), SkipKind::Limit))
        } else if self.too_deep(path, depth) {
            // Reported; the raw bytes are still scanned below.
            Some((String::new(), SkipKind::Limit))
        } else {
            self.pdf_parts(path, decoders, &data, depth, &mut parts).map(|e| (e.to_string(), e.skip_kind()))
        };
        if let Some((reason, kind)) = failure {
            if !reason.is_empty() {
                (self.skip)(Skip { path: path.to_owned(), reason, kind });
            }
            // A document read in part (say, truncated after its pages) is not scanned raw
            // as well: its text would be reported twice, at `x.pdf!page-1` and at `x.pdf`.
            if parts > 0 {
                return;
            }
            let mut rest = Cursor::new(data).chain(input);
            if let Err(e) = self.plain(path, decoders, &mut rest, None) {
                (self.skip)(Skip::io(path, "cannot read", &e));
            }
        }
    }

    /// Scans the parts of the PDF `data`; returns why the document as a whole could not
    /// be read, if it could not (not when cancelled).
    fn pdf_parts(
        &mut self,
        path: &str,
        decoders: &[&'static str],
        data: &[u8],
        depth: u32,
        parts: &mut usize,
    ) -> Option<pdf::PdfError> {
        let mut chain = decoders.to_vec();
        chain.push("pdf");
        let limits: &ItemLimits = self.limits;
        let cancel = self.cancel;
        let mut read_errors = Vec::new();
        let mut skips = Vec::new();
        let result = pdf::walk(
            data,
            &limits.container,
            cancel,
            &mut |part| {
                *parts += 1;
                let member = format!("{path}!{}", part.label);
                let mut body = part.body.as_slice();
                let r = if part.embedded {
                    self.stream(&member, &chain, &mut body, None, depth + 1, false)
                } else {
                    self.plain(&member, &chain, &mut body, Some(TextEncoding::Utf8))
                };
                if let Err(e) = r {
                    read_errors.push(Skip::io(member, "cannot read", &e));
                }
            },
            &mut |label, reason, kind| skips.push(Skip { path: format!("{path}!{label}"), reason, kind }),
        );
        for s in read_errors.into_iter().chain(skips) {
            (self.skip)(s);
        }
        match result {
            Ok(()) | Err(pdf::PdfError::Cancelled) => None,
            Err(e) => Some(e),
        }
    }

    pub(super) fn plain(
        &mut self,
        path: &str,
        decoders: &[&'static str],
        input: &mut dyn Read,
        hint: Option<TextEncoding>,
    ) -> io::Result<()> {
        let mut hits = Vec::new();
        let leaf = &mut *self.leaf;
        let result = self.reader.scan_stream(input, hint, self.scanner, self.cancel, &mut |h| {
            hits.push(h);
            // A huge member full of card data is handed on in batches, not held whole.
            if hits.len() >= LEAF_BATCH {
                let batch = std::mem::take(&mut hits);
                leaf(Leaf {
                    path: path.to_owned(),
                    table: None,
                    column: None,
                    decoders: decoders.to_vec(),
                    hits: batch,
                    stats: PieceStats::default(),
                });
            }
        });
        // Findings read before an error (a limit, corrupt data) are kept.
        let stats = result.as_ref().copied().unwrap_or_else(|_| self.reader.partial_stats());
        (self.leaf)(Leaf {
            path: path.to_owned(),
            table: None,
            column: None,
            decoders: decoders.to_vec(),
            hits,
            stats,
        });
        result.map(|_| ())
    }
}

/// How many levels of nesting a container's decoder chain adds (`gzip`+`tar` of a
/// `.tar.gz` are two).
fn chain_depth(chain: &[&'static str]) -> u32 {
    u32::try_from(chain.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod fault_tests;
