//! Mail: `.eml` files, `mbox` mailboxes and Outlook `.msg` files, taken apart into the
//! pieces a card scanner must read.
//!
//! This module does not look for card numbers. [`walk`] hands every decoded piece of a
//! mailbox to a callback as a [`Part`]: the header block of each message (RFC 2047
//! encoded-words decoded, folded lines joined), every MIME leaf part with its
//! content-transfer-encoding (base64, quoted-printable) removed, attachments, and the
//! parts of nested `message/rfc822` messages. The caller scans each part, transcodes it
//! by its declared charset, and sends attachments that are archives on to the container
//! stage.
//!
//! - **mbox** is split into messages while streaming, line by line (`From ` separator
//!   lines after a blank line or at the start; `>From ` unquoted, mboxrd style), so a
//!   mailbox of any size never sits in memory; only one message does, bounded by
//!   [`MailLimits::max_message_bytes`].
//! - **eml** is one message (an mbox-style `From ` envelope line at the top is dropped).
//! - **Outlook `.msg`** (an OLE compound file) is read with `cfb`: every string or binary
//!   property stream (`__substg1.0_*`) is a part, attachment data included.
//! - **PST/OST** is recognised but not read: [`walk`] reports one skip
//!   `unsupported format: pst`.
//!
//! MIME is parsed by `mail-parser`. Text bodies are handed as the bytes of the message
//! with only the transfer-encoding removed, and the declared charset is reported, so the
//! caller decides how to transcode (ISO-2022-JP, `Shift_JIS`, …). Only when those bytes
//! cannot be recovered is the crate's UTF-8 conversion handed instead, with
//! `charset: Some("utf-8")` and `charset:<declared>` in `decoders`.
//!
//! Problems never panic and never stop the walk: a message that cannot be parsed is
//! handed as raw bytes (label `…raw`), a limit becomes a [`Skip`] with a reason. The
//! `path` of a skip holds only the label (empty for the input itself); the caller
//! prefixes it with `<path>!`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use mail_parser::parsers::MessageStream;
use mail_parser::{Encoding, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::{Skip, SkipKind};

/// The kinds of mail input this module knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailFormat {
    /// One RFC 5322 message (`.eml`).
    Eml,
    /// A Unix mailbox: messages separated by `From ` lines.
    Mbox,
    /// An Outlook message (`.msg`, OLE compound file).
    OutlookMsg,
    /// An Outlook data file (`.pst`/`.ost`): recognised, not read.
    Pst,
}

/// Bounds on what one mail input may cost. Hitting one is a [`Skip`] of kind
/// [`SkipKind::Limit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailLimits {
    /// Largest single message (an eml, one message of an mbox, a `.msg` file) held in
    /// memory. Parsing needs about two to three times this much while it runs.
    pub max_message_bytes: u64,
    /// Most parts (header blocks included) handed per top-level message.
    pub max_parts: usize,
    /// Deepest nesting of `message/rfc822` parts (the top-level message is depth 0).
    pub max_depth: usize,
}

impl Default for MailLimits {
    fn default() -> Self {
        MailLimits { max_message_bytes: 256 << 20, max_parts: 10_000, max_depth: 8 }
    }
}

/// Counts of what [`walk`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailStats {
    /// Messages seen (the mbox preamble, when there is one, is not a message).
    pub messages: u64,
    /// Parts handed to the callback.
    pub parts: u64,
    /// Bytes handed to the callback (sum of part bodies).
    pub bytes: u64,
    /// Skips reported.
    pub skipped: u64,
}

/// A failure that stops the walk of one mail input (the caller makes it a skip of the
/// whole input, or stops).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Reading the input failed.
    #[error("cannot read mail: {0}")]
    Read(#[source] io::Error),
    /// The part callback returned an error.
    #[error("part handler failed: {0}")]
    Part(#[source] io::Error),
    /// The cancel flag was set.
    #[error("cancelled")]
    Cancelled,
}

/// One decoded piece of a mail input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    /// Label to append to the input's path after `!`: `headers`, `part-2`,
    /// `invoice.zip`; in an mbox prefixed by the 1-based message number (`msg-3!part-2`);
    /// a nested message adds its own label (`msg-3!part-2!headers`).
    pub label: String,
    /// Decoding applied, for the report's `decoders` field: e.g. `["mbox", "mime",
    /// "base64"]`, `["mime", "quoted-printable"]`, `["mime", "rfc822", "mime"]`.
    pub decoders: Vec<&'static str>,
    /// The charset as declared (lowercase, e.g. `iso-2022-jp`), if any; the body is not
    /// converted.
    pub charset: Option<String>,
    /// The declared content type (lowercase `type/subtype`), if any.
    pub content_type: Option<String>,
    /// The declared file name, if any.
    pub filename: Option<String>,
    /// The decoded body: transfer-encoding removed, charset not converted.
    pub body: &'a [u8],
}

/// Guesses the mail format from the first bytes of an input (a few KiB are plenty) and,
/// as a tie-breaker only, its file name.
pub fn sniff(head: &[u8], name: &str) -> Option<MailFormat> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // OLE is also .doc, .xls, .msi…: only the name says it is a message.
        return (ext == "msg").then_some(MailFormat::OutlookMsg);
    }
    if head.starts_with(b"!BDN") {
        return Some(MailFormat::Pst);
    }
    if head.starts_with(b"From ") {
        let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
        // Some tools write an envelope line at the top of an .eml; the name decides.
        if ext == "eml" && looks_like_headers(rest_after_line(head), true) {
            return Some(MailFormat::Eml);
        }
        // A postmark line: "From sender date", no colon right after "From".
        if first.len() > 6 && !first.starts_with(b"From: ") {
            return Some(MailFormat::Mbox);
        }
    }
    let named = matches!(ext, "eml" | "mht" | "mhtml" | "mbx");
    looks_like_headers(head, named).then_some(MailFormat::Eml)
}

fn rest_after_line(b: &[u8]) -> &[u8] {
    memchr::memchr(b'\n', b).map_or(&[][..], |i| &b[i + 1..])
}

/// Header fields that say "this is a mail message" when they open a file.
const MAIL_HEADERS: &[&str] = &[
    "Received",
    "Return-Path",
    "Delivered-To",
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Message-Id",
    "MIME-Version",
    "Mime-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Reply-To",
    "Sender",
    "In-Reply-To",
    "References",
    "DKIM-Signature",
    "ARC-Seal",
    "Authentication-Results",
    "X-Mailer",
];

/// Whether `head` opens with a block of RFC 5322 header lines: every complete line up
/// to the first blank line (or the end of `head`) is `Name: value` or a continuation,
/// and at least two names (one when the file name says mail) are well-known mail
/// headers. Known names must match in their usual spelling unless `named`.
fn looks_like_headers(head: &[u8], named: bool) -> bool {
    let mut known = 0;
    let mut lines = head.split(|&b| b == b'\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        if lines.peek().is_none() {
            break; // the last piece may be cut short: do not judge it
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if first {
                return false;
            }
            continue;
        }
        first = false;
        let Some(colon) = memchr::memchr(b':', line) else { return false };
        let field = &line[..colon];
        if field.is_empty() || !field.iter().all(|&b| b.is_ascii_graphic()) {
            return false;
        }
        let is_known = MAIL_HEADERS
            .iter()
            .any(|h| if named { h.as_bytes().eq_ignore_ascii_case(field) } else { h.as_bytes() == field });
        if is_known {
            known += 1;
        }
    }
    known >= if named { 1 } else { 2 }
}

/// Reads `input` as `format` and hands every part to `part`; limits and unreadable
/// pieces go to `skip` (whose `path` is the label only). Stops with an error when the
/// input cannot be read, when `part` fails, or when `cancel` is set.
pub fn walk(
    format: MailFormat,
    input: &mut dyn Read,
    limits: &MailLimits,
    cancel: &AtomicBool,
    part: &mut dyn FnMut(&Part<'_>) -> io::Result<()>,
    skip: &mut dyn FnMut(Skip),
) -> Result<MailStats, MailError> {
    let mut w = Walker {
        limits,
        cancel,
        part,
        skip,
        stats: MailStats::default(),
        handed: 0,
        over: false,
        message_label: String::new(),
    };
    match format {
        MailFormat::Eml => w.eml(input)?,
        MailFormat::Mbox => w.mbox(input)?,
        MailFormat::OutlookMsg => w.outlook_msg(input)?,
        MailFormat::Pst => w.skip(String::new(), unsupported(MailFormat::Pst).unwrap_or_default(), SkipKind::Error),
    }
    Ok(w.stats)
}

/// The skip reason for a format this module recognises but does not read, if any.
pub fn unsupported(format: MailFormat) -> Option<&'static str> {
    match format {
        MailFormat::Pst => Some("unsupported format: pst"),
        MailFormat::Eml | MailFormat::Mbox | MailFormat::OutlookMsg => None,
    }
}

struct Walker<'w> {
    limits: &'w MailLimits,
    cancel: &'w AtomicBool,
    part: &'w mut dyn FnMut(&Part<'_>) -> io::Result<()>,
    skip: &'w mut dyn FnMut(Skip),
    stats: MailStats,
    /// Parts handed for the current top-level message.
    handed: usize,
    /// The current top-level message hit `max_parts`.
    over: bool,
    /// Label of the current top-level message (empty for an eml).
    message_label: String,
}

/// Joins a label prefix and a name with `!`.
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}!{name}") }
}

impl Walker<'_> {
    fn max_message(&self) -> usize {
        usize::try_from(self.limits.max_message_bytes).unwrap_or(usize::MAX)
    }

    fn check_cancel(&self) -> Result<(), MailError> {
        if self.cancel.load(Ordering::Relaxed) { Err(MailError::Cancelled) } else { Ok(()) }
    }

    fn skip(&mut self, label: String, reason: &str, kind: SkipKind) {
        self.stats.skipped += 1;
        (self.skip)(Skip { path: label, reason: reason.to_owned(), kind });
    }

    /// Hands one part, unless the message is over its part limit. `Ok(false)` means
    /// stop handing parts of this message.
    fn hand(&mut self, p: &Part<'_>) -> Result<bool, MailError> {
        if self.over {
            return Ok(false);
        }
        if self.handed >= self.limits.max_parts {
            self.over = true;
            self.skip(self.message_label.clone(), "limit max-parts", SkipKind::Limit);
            return Ok(false);
        }
        self.check_cancel()?;
        self.handed += 1;
        self.stats.parts += 1;
        self.stats.bytes += p.body.len() as u64;
        (self.part)(p).map_err(MailError::Part)?;
        Ok(true)
    }

    /// Reads at most `max_message_bytes` of `input`; `None` when there is more.
    fn read_bounded(&self, input: &mut dyn Read) -> Result<Option<Vec<u8>>, MailError> {
        let max = self.limits.max_message_bytes;
        let mut buf = Vec::new();
        input.take(max.saturating_add(1)).read_to_end(&mut buf).map_err(MailError::Read)?;
        Ok((buf.len() as u64 <= max).then_some(buf))
    }

    fn eml(&mut self, input: &mut dyn Read) -> Result<(), MailError> {
        let Some(buf) = self.read_bounded(input)? else {
            self.skip(String::new(), "limit max-message-bytes", SkipKind::Limit);
            return Ok(());
        };
        let raw = if buf.starts_with(b"From ") { rest_after_line(&buf) } else { &buf[..] };
        self.message(raw, "", &["mime"])
    }

    fn mbox(&mut self, input: &mut dyn Read) -> Result<(), MailError> {
        let mut reader = BufReader::with_capacity(64 << 10, input);
        let max = self.max_message();
        let mut msg: Vec<u8> = Vec::new();
        let mut line: Vec<u8> = Vec::new();
        let mut number = 0u64; // 0: the preamble before the first separator
        let mut oversize = false;
        let mut prev_blank = true;
        loop {
            line.clear();
            let room = max.saturating_sub(msg.len()).saturating_add(1).max(16);
            let len = read_line_capped(&mut reader, &mut line, room).map_err(MailError::Read)?;
            if len == 0 {
                break;
            }
            let is_sep = prev_blank && line.starts_with(b"From ");
            prev_blank = line == b"\n" || line == b"\r\n";
            if is_sep {
                self.finish_mbox_message(&mut msg, number, oversize, true)?;
                number += 1;
                oversize = false;
                continue;
            }
            if oversize {
                continue;
            }
            let text: &[u8] = if is_quoted_from(&line) { &line[1..] } else { &line };
            if len > line.len() as u64 || msg.len() + text.len() > max {
                oversize = true;
                msg = Vec::new(); // give the memory back now
                continue;
            }
            msg.extend_from_slice(text);
        }
        self.finish_mbox_message(&mut msg, number, oversize, false)
    }

    /// Hands (or skips) the message collected in `msg`; `before_separator` when a
    /// `From ` line follows, whose preceding blank line belongs to the mbox.
    fn finish_mbox_message(
        &mut self,
        msg: &mut Vec<u8>,
        number: u64,
        oversize: bool,
        before_separator: bool,
    ) -> Result<(), MailError> {
        self.check_cancel()?;
        let label = format!("msg-{number}");
        if oversize {
            self.stats.messages += 1;
            self.skip(label, "limit max-message-bytes", SkipKind::Limit);
        } else if number == 0 {
            // Bytes before the first "From " line: not a message, but not to be missed.
            if msg.iter().any(|b| !b.is_ascii_whitespace()) {
                self.start_message("preamble");
                let p = Part {
                    label: "preamble".to_owned(),
                    decoders: vec!["mbox"],
                    charset: None,
                    content_type: None,
                    filename: None,
                    body: msg,
                };
                self.hand(&p)?;
            }
        } else {
            let end = if !before_separator {
                msg.len()
            } else if msg.ends_with(b"\r\n") {
                msg.len() - 2
            } else if msg.ends_with(b"\n") {
                msg.len() - 1
            } else {
                msg.len()
            };
            self.message(&msg[..end], &label, &["mbox", "mime"])?;
        }
        msg.clear();
        Ok(())
    }

    fn start_message(&mut self, label: &str) {
        label.clone_into(&mut self.message_label);
        self.handed = 0;
        self.over = false;
    }

    /// One top-level message: parse it and hand its parts.
    fn message(&mut self, raw: &[u8], label: &str, decoders: &[&'static str]) -> Result<(), MailError> {
        self.check_cancel()?;
        self.start_message(label);
        self.stats.messages += 1;
        if let Some(msg) = MessageParser::new().with_mime_headers().parse(raw) {
            return self.visit(&msg, label, decoders, 0);
        }
        // No header found: hand the bytes as they are.
        let p = Part {
            label: join(label, "raw"),
            decoders: decoders.iter().copied().filter(|&d| d != "mime").collect(),
            charset: None,
            content_type: None,
            filename: None,
            body: raw,
        };
        self.hand(&p).map(drop)
    }

    /// Hands the header block and the leaf parts of `msg`, recursing into nested
    /// messages up to `max_depth`.
    fn visit(
        &mut self,
        msg: &Message<'_>,
        label: &str,
        decoders: &[&'static str],
        depth: usize,
    ) -> Result<(), MailError> {
        // The whole buffer the part offsets point into (`raw_message()` would cut it to
        // the root part, and panics on a message without parts).
        let raw: &[u8] = &msg.raw_message;
        if let Some(root) = msg.parts.first() {
            let block = raw.get(root.offset_header as usize..root.offset_body as usize).unwrap_or_default();
            let (body, decoded) = decode_header_block(block);
            let mut decs = decoders.to_vec();
            if decoded {
                decs.push("rfc2047");
            }
            let p = Part {
                label: join(label, "headers"),
                decoders: decs,
                charset: decoded.then(|| "utf-8".to_owned()),
                content_type: None,
                filename: None,
                body: &body,
            };
            if !self.hand(&p)? {
                return Ok(());
            }
        }
        let mut used: HashSet<String> = HashSet::new();
        for (i, part) in msg.parts.iter().enumerate() {
            if matches!(part.body, PartType::Multipart(_)) {
                continue;
            }
            let filename = part.attachment_name().map(str::to_owned);
            let name = filename
                .as_deref()
                .map(sanitize_name)
                .filter(|n| !n.is_empty() && n != "headers" && n != "raw" && !used.contains(n))
                .unwrap_or_else(|| format!("part-{}", i + 1));
            used.insert(name.clone());
            let part_label = join(label, &name);
            let content_type = part.content_type().map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            });
            let charset = part.content_type().and_then(|ct| ct.attribute("charset")).map(str::to_ascii_lowercase);
            let mut decs = decoders.to_vec();
            if let Some(enc) = encoding_name(part.encoding) {
                decs.push(enc);
            }
            match &part.body {
                PartType::Multipart(_) => {}
                PartType::Message(nested) => {
                    if depth + 1 > self.limits.max_depth {
                        self.skip(part_label, "limit max-depth", SkipKind::Limit);
                        continue;
                    }
                    decs.push("rfc822");
                    decs.push("mime");
                    self.visit(nested, &part_label, &decs, depth + 1)?;
                    if self.over {
                        return Ok(());
                    }
                }
                PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                    let p = Part { label: part_label, decoders: decs, charset, content_type, filename, body: bytes };
                    if !self.hand(&p)? {
                        return Ok(());
                    }
                }
                PartType::Text(text) | PartType::Html(text) => {
                    let (body, charset) = if let Some(bytes) = raw_text_body(raw, part) {
                        (bytes, charset)
                    } else {
                        // The crate's UTF-8 conversion is all there is.
                        if let Some(cs) = &charset {
                            decs.push(charset_decoder_label(cs));
                        }
                        (Cow::Borrowed(text.as_bytes()), Some("utf-8".to_owned()))
                    };
                    let p = Part { label: part_label, decoders: decs, charset, content_type, filename, body: &body };
                    if !self.hand(&p)? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    fn outlook_msg(&mut self, input: &mut dyn Read) -> Result<(), MailError> {
        let Some(buf) = self.read_bounded(input)? else {
            self.skip(String::new(), "limit max-message-bytes", SkipKind::Limit);
            return Ok(());
        };
        self.start_message("");
        self.stats.messages += 1;
        let mut file = match cfb::CompoundFile::open(Cursor::new(buf)) {
            Ok(f) => f,
            Err(e) => {
                let reason = format!("malformed outlook msg: {}", lowercase(&e.to_string()));
                self.skip(String::new(), &reason, SkipKind::Error);
                return Ok(());
            }
        };
        // Property streams, with the storage they sit in.
        let streams: Vec<std::path::PathBuf> = file
            .walk()
            .filter(|e| e.is_stream() && e.name().starts_with("__substg1.0_"))
            .map(|e| e.path().to_path_buf())
            .collect();
        for path in streams {
            let Some(prop) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.get(12..20)) else { continue };
            let (id, kind) = prop.split_at(4);
            let (kind, charset) = match kind.to_ascii_uppercase().as_str() {
                "001F" => ("string", Some("utf-16le".to_owned())),
                "001E" => ("string", None),
                "0102" => ("binary", None),
                _ => continue,
            };
            let mut data = Vec::new();
            let read = file.open_stream(&path).and_then(|mut s| s.read_to_end(&mut data));
            let label = msg_label(&path, id, &mut file);
            if let Err(e) = read {
                let reason = format!("cannot read outlook property: {}", lowercase(&e.to_string()));
                self.skip(label, &reason, SkipKind::Error);
                continue;
            }
            let filename = if kind == "binary" && id.eq_ignore_ascii_case("3701") {
                attachment_filename(&path, &mut file)
            } else {
                None
            };
            let p = Part { label, decoders: vec!["outlook-msg"], charset, content_type: None, filename, body: &data };
            if !self.hand(&p)? {
                break;
            }
        }
        Ok(())
    }
}

/// Label of one property stream of a `.msg`: storages become `attach-N`, `recip-N`,
/// `message` (an embedded message); the property becomes a name for the common ones,
/// the attachment's file name for attachment data, else `prop-XXXX`.
fn msg_label(path: &std::path::Path, id: &str, file: &mut cfb::CompoundFile<Cursor<Vec<u8>>>) -> String {
    let mut label = String::new();
    let parent = path.parent();
    for comp in parent.iter().flat_map(|p| p.components()) {
        let name = comp.as_os_str().to_string_lossy();
        let piece = if let Some(n) = name.strip_prefix("__attach_version1.0_#") {
            format!("attach-{}", u32::from_str_radix(n, 16).map_or(0, |n| n + 1))
        } else if let Some(n) = name.strip_prefix("__recip_version1.0_#") {
            format!("recip-{}", u32::from_str_radix(n, 16).map_or(0, |n| n + 1))
        } else if name.starts_with("__substg1.0_3701") {
            "message".to_owned()
        } else {
            continue; // the root
        };
        if !label.is_empty() {
            label.push('!');
        }
        label.push_str(&piece);
    }
    let prop = match id.to_ascii_uppercase().as_str() {
        "0037" => "subject".to_owned(),
        "1000" => "body".to_owned(),
        "1013" => "body-html".to_owned(),
        "1009" => "body-rtf-compressed".to_owned(),
        "007D" => "headers".to_owned(),
        "0E1D" => "normalized-subject".to_owned(),
        "3701" => attachment_filename(path, file).map_or_else(|| "data".to_owned(), |n| sanitize_name(&n)),
        other => {
            let mut s = String::from("prop-");
            let _ = write!(s, "{}", other.to_ascii_lowercase());
            s
        }
    };
    join(&label, &prop)
}

/// The long (else short) file name stored beside an attachment's data stream.
fn attachment_filename(data: &std::path::Path, file: &mut cfb::CompoundFile<Cursor<Vec<u8>>>) -> Option<String> {
    let dir = data.parent()?;
    for id in ["3707", "3704"] {
        for (kind, wide) in [("001F", true), ("001E", false)] {
            let p = dir.join(format!("__substg1.0_{id}{kind}"));
            if !file.is_stream(&p) {
                continue;
            }
            let mut bytes = Vec::new();
            if file.open_stream(&p).and_then(|mut s| s.read_to_end(&mut bytes)).is_err() {
                continue;
            }
            let name = if wide {
                let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            };
            let name = name.trim_end_matches('\0').to_owned();
            if !name.is_empty() {
                return Some(name);
            }
        }
    }
    None
}

/// A file name made safe for a label: no `!` (the member separator), no control
/// characters, at most 200 characters.
fn sanitize_name(name: &str) -> String {
    name.chars().take(200).map(|c| if c == '!' || c.is_control() { '_' } else { c }).collect()
}

fn lowercase(s: &str) -> String {
    super::lowercase_first(s)
}

fn encoding_name(e: Encoding) -> Option<&'static str> {
    match e {
        Encoding::Base64 => Some("base64"),
        Encoding::QuotedPrintable => Some("quoted-printable"),
        Encoding::None => None,
    }
}

/// `charset:<declared>` for the few charsets worth naming; others share one label (the
/// decoders list holds `&'static str`).
fn charset_decoder_label(cs: &str) -> &'static str {
    match cs {
        "iso-2022-jp" => "charset:iso-2022-jp",
        "shift_jis" | "shift-jis" | "sjis" => "charset:shift_jis",
        "cp932" | "windows-31j" => "charset:windows-31j",
        "euc-jp" => "charset:euc-jp",
        "utf-8" | "utf8" => "charset:utf-8",
        "us-ascii" => "charset:us-ascii",
        "iso-8859-1" | "latin1" => "charset:iso-8859-1",
        "windows-1252" => "charset:windows-1252",
        _ => "charset:other",
    }
}

/// The body of a text part as it stands in the message, with only the
/// transfer-encoding removed; `None` when the offsets or the decoding do not hold.
fn raw_text_body<'a>(raw: &'a [u8], part: &MessagePart<'_>) -> Option<Cow<'a, [u8]>> {
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    if part.is_encoding_problem {
        return Some(Cow::Borrowed(body));
    }
    let mut stream = MessageStream::new(body);
    let (end, bytes) = match part.encoding {
        Encoding::None => return Some(Cow::Borrowed(body)),
        Encoding::Base64 => stream.decode_base64_mime(b""),
        Encoding::QuotedPrintable => stream.decode_quoted_printable_mime(b""),
    };
    (end != usize::MAX).then(|| Cow::Owned(bytes.into_owned()))
}

/// A header block made readable: folded lines joined (the line break removed, the
/// indentation kept) and RFC 2047 encoded-words decoded to UTF-8 (whitespace between
/// two adjacent encoded-words dropped). The flag says whether any word was decoded.
fn decode_header_block(block: &[u8]) -> (Vec<u8>, bool) {
    let mut unfolded = Vec::with_capacity(block.len());
    let mut i = 0;
    while i < block.len() {
        let b = block[i];
        let brk = match (b, block.get(i + 1)) {
            (b'\r', Some(b'\n')) => 2,
            (b'\n', _) => 1,
            _ => 0,
        };
        if brk > 0 && matches!(block.get(i + brk), Some(b' ' | b'\t')) {
            i += brk;
            continue;
        }
        unfolded.push(b);
        i += 1;
    }
    if memchr::memmem::find(&unfolded, b"=?").is_none() {
        return (unfolded, false);
    }
    let mut out = Vec::with_capacity(unfolded.len());
    let mut decoded_any = false;
    let mut after_word = false; // the previous token was an encoded-word
    let mut pending_ws = 0usize; // whitespace pushed since that word
    let mut i = 0;
    while i < unfolded.len() {
        if unfolded[i] == b'=' && unfolded.get(i + 1) == Some(&b'?') {
            let mut stream = MessageStream::new(&unfolded[i + 1..]);
            if let Some(text) = stream.decode_rfc2047() {
                if after_word && pending_ws > 0 {
                    out.truncate(out.len() - pending_ws);
                }
                out.extend_from_slice(text.as_bytes());
                i += 1 + stream.offset();
                decoded_any = true;
                after_word = true;
                pending_ws = 0;
                continue;
            }
        }
        let b = unfolded[i];
        if after_word && (b == b' ' || b == b'\t') {
            pending_ws += 1;
        } else {
            after_word = false;
            pending_ws = 0;
        }
        out.push(b);
        i += 1;
    }
    (out, decoded_any)
}

/// An mboxrd-quoted `From ` line: one or more `>` then `From `.
fn is_quoted_from(line: &[u8]) -> bool {
    let gt = line.iter().take_while(|&&b| b == b'>').count();
    gt > 0 && line[gt..].starts_with(b"From ")
}

/// Reads one line (up to and including `\n`, or to the end of input) and stores at most
/// `cap` bytes of it in `out`. Returns the length of the whole line; 0 at the end.
fn read_line_capped(reader: &mut dyn BufRead, out: &mut Vec<u8>, cap: usize) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let (done, used) = {
            let buf = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(total);
            }
            let (done, used) = match memchr::memchr(b'\n', buf) {
                Some(i) => (true, i + 1),
                None => (false, buf.len()),
            };
            let room = cap.saturating_sub(out.len());
            out.extend_from_slice(&buf[..used.min(room)]);
            (done, used)
        };
        reader.consume(used);
        total += used as u64;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One part as seen: label, decoders, charset, content type, file name, body.
    type Row = (String, Vec<&'static str>, Option<String>, Option<String>, Option<String>, Vec<u8>);

    /// What the callbacks saw, owned.
    #[derive(Debug, Default)]
    struct Seen {
        parts: Vec<Row>,
        skips: Vec<Skip>,
    }

    impl Seen {
        fn labels(&self) -> Vec<&str> {
            self.parts.iter().map(|p| p.0.as_str()).collect()
        }
        fn get(&self, label: &str) -> &Row {
            self.parts.iter().find(|p| p.0 == label).unwrap_or_else(|| panic!("no part {label}: {:?}", self.labels()))
        }
        fn text(&self, label: &str) -> String {
            String::from_utf8_lossy(&self.get(label).5).into_owned()
        }
    }

    fn run_with(format: MailFormat, input: &[u8], limits: &MailLimits) -> (Result<MailStats, MailError>, Seen) {
        let mut seen = Seen::default();
        let cancel = AtomicBool::new(false);
        let mut parts = Vec::new();
        let mut skips = Vec::new();
        let r = walk(
            format,
            &mut &input[..],
            limits,
            &cancel,
            &mut |p: &Part<'_>| {
                parts.push((
                    p.label.clone(),
                    p.decoders.clone(),
                    p.charset.clone(),
                    p.content_type.clone(),
                    p.filename.clone(),
                    p.body.to_vec(),
                ));
                Ok(())
            },
            &mut |s| skips.push(s),
        );
        seen.parts = parts;
        seen.skips = skips;
        (r, seen)
    }

    fn run(format: MailFormat, input: &[u8]) -> Seen {
        let (r, seen) = run_with(format, input, &MailLimits::default());
        r.expect("walk");
        seen
    }

    /// Standard base64 with line breaks every 76 characters, as mail writes it.
    fn b64(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\r\n")
    }

    const CARD: &[u8] = b"card 4111 1111 1111 1111 exp 12/29 cvv 123";

    fn plain() -> String {
        "Received: from mx.example.com by mail.example.com\r\nFrom: a@example.com\r\nTo: b@example.com\r\n\
         Subject: order 4111 1111\r\n 1111 1111\r\nDate: Mon, 1 Dec 2025 10:00:00 +0900\r\n\r\n\
         Hello,\r\ncard 4111-1111-1111-1111 exp 12/29\r\n"
            .to_owned()
    }

    fn multipart() -> String {
        format!(
            "From: a@example.com\r\nTo: b@example.com\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\n\
             Content-Type: multipart/alternative; boundary=\"YY\"\r\n\r\n--YY\r\n\
             Content-Type: text/plain; charset=us-ascii\r\n\r\nsee attachment\r\n--YY\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n<p>see attachment</p>\r\n--YY--\r\n\
             --XX\r\nContent-Type: text/plain; name=\"card.txt\"\r\n\
             Content-Disposition: attachment; filename=\"card.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             {}\r\n--XX--\r\n",
            b64(CARD)
        )
    }

    #[test]
    fn plain_eml_headers_and_body() {
        let seen = run(MailFormat::Eml, plain().as_bytes());
        assert_eq!(seen.labels(), ["headers", "part-1"]);
        let headers = seen.text("headers");
        assert!(headers.contains("Subject: order 4111 1111 1111 1111\r\n"), "unfolded: {headers:?}");
        assert_eq!(seen.get("headers").1, ["mime"]);
        assert_eq!(seen.text("part-1"), "Hello,\r\ncard 4111-1111-1111-1111 exp 12/29\r\n");
        assert_eq!(seen.get("part-1").1, ["mime"]);
        assert!(seen.skips.is_empty());
    }

    #[test]
    fn multipart_with_base64_attachment() {
        let seen = run(MailFormat::Eml, multipart().as_bytes());
        assert_eq!(seen.labels(), ["headers", "part-3", "part-4", "card.txt"]);
        let att = seen.get("card.txt");
        assert_eq!(att.5, CARD);
        assert_eq!(att.1, ["mime", "base64"]);
        assert_eq!(att.4.as_deref(), Some("card.txt"));
        assert_eq!(att.3.as_deref(), Some("text/plain"));
        assert_eq!(seen.get("part-4").3.as_deref(), Some("text/html"));
        assert_eq!(seen.get("part-3").2.as_deref(), Some("us-ascii"));
        assert_eq!(seen.text("part-3"), "see attachment");
    }

    #[test]
    fn binary_attachment_and_duplicate_names() {
        let zip = b"PK\x03\x04\x00\xff\x80binary";
        let mail = format!(
            "From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n\
             --B\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=\"a!b.zip\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{0}\r\n--B\r\nContent-Type: application/zip\r\n\
             Content-Disposition: attachment; filename=\"a!b.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{0}\r\n--B--\r\n",
            b64(zip)
        );
        let seen = run(MailFormat::Eml, mail.as_bytes());
        assert_eq!(seen.labels(), ["headers", "a_b.zip", "part-3"]);
        assert_eq!(seen.get("a_b.zip").5, zip);
        assert_eq!(seen.get("part-3").4.as_deref(), Some("a!b.zip"));
    }

    #[test]
    fn quoted_printable_soft_break_joins_the_number() {
        let mail = "From: a@example.com\r\nSubject: qp\r\nContent-Type: text/plain; charset=utf-8\r\n\
                    Content-Transfer-Encoding: quoted-printable\r\n\r\ncard 4111 1111=\r\n 1111 1111 caf=C3=A9\r\n";
        let seen = run(MailFormat::Eml, mail.as_bytes());
        let body = seen.get("part-1");
        assert_eq!(body.1, ["mime", "quoted-printable"]);
        assert_eq!(body.2.as_deref(), Some("utf-8"));
        assert!(seen.text("part-1").contains("card 4111 1111 1111 1111 café"), "{:?}", seen.text("part-1"));
    }

    #[test]
    fn iso_2022_jp_raw_bytes_and_charset() {
        let jis: &[u8] = b"\x1b$B%+!<%IHV9f\x1b(B 4111 1111 1111 1111"; // カード番号 in ISO-2022-JP
        let mut mail = format!(
            "From: a@example.com\r\nSubject: =?ISO-2022-JP?B?{}?=\r\n =?ISO-2022-JP?B?{}?=\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=\"ISO-2022-JP\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
            b64(b"\x1b$B%+!<%I\x1b(B"),
            b64(b"\x1b$BHV9f\x1b(B")
        )
        .into_bytes();
        mail.extend_from_slice(jis);
        mail.extend_from_slice(b"\r\n");
        let seen = run(MailFormat::Eml, &mail);
        let body = seen.get("part-1");
        assert_eq!(body.5, [jis, b"\r\n"].concat(), "raw bytes preserved");
        assert_eq!(body.2.as_deref(), Some("iso-2022-jp"));
        assert_eq!(body.1, ["mime"]);
        let headers = seen.get("headers");
        assert!(seen.text("headers").contains("Subject: カード番号\r\n"), "{:?}", seen.text("headers"));
        assert_eq!(headers.1, ["mime", "rfc2047"]);
        assert_eq!(headers.2.as_deref(), Some("utf-8"));

        // Base64-encoded ISO-2022-JP: still the raw (transfer-decoded) bytes.
        let mail = format!(
            "From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(jis)
        );
        let seen = run(MailFormat::Eml, mail.as_bytes());
        assert_eq!(seen.get("part-1").5, jis);
        assert_eq!(seen.get("part-1").1, ["mime", "base64"]);
    }

    fn mbox() -> String {
        "From alice@example.com Mon Dec  1 10:00:00 2025\n\
         From: alice@example.com\nSubject: one\n\nfirst body\n\n\
         From bob@example.com Mon Dec  1 10:01:00 2025\n\
         From: bob@example.com\nSubject: two\n\n>From the shop: card 4111 1111 1111 1111\n>>From here\nFrom inside, not a separator\n\n\
         From carol@example.com Mon Dec  1 10:02:00 2025\n\
         From: carol@example.com\nSubject: three\n\nthird body\n"
            .to_owned()
    }

    #[test]
    fn mbox_three_messages_and_from_quoting() {
        let (r, seen) = run_with(MailFormat::Mbox, mbox().as_bytes(), &MailLimits::default());
        let stats = r.expect("walk");
        assert_eq!(stats.messages, 3);
        assert_eq!(
            seen.labels(),
            ["msg-1!headers", "msg-1!part-1", "msg-2!headers", "msg-2!part-1", "msg-3!headers", "msg-3!part-1"]
        );
        assert_eq!(seen.text("msg-1!part-1"), "first body\n");
        assert_eq!(
            seen.text("msg-2!part-1"),
            "From the shop: card 4111 1111 1111 1111\n>From here\nFrom inside, not a separator\n"
        );
        assert_eq!(seen.text("msg-3!part-1"), "third body\n");
        assert_eq!(seen.get("msg-2!part-1").1, ["mbox", "mime"]);
        assert!(seen.text("msg-3!headers").contains("Subject: three"));
        assert_eq!(stats.parts, 6);
    }

    #[test]
    fn mbox_preamble_is_not_lost() {
        let input = format!("stray text 4111\n\n{}", mbox());
        let seen = run(MailFormat::Mbox, input.as_bytes());
        assert_eq!(seen.labels()[0], "preamble");
        assert_eq!(seen.text("preamble"), "stray text 4111\n\n");
    }

    fn nested() -> String {
        format!(
            "From: a@example.com\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n\
             --OUT\r\nContent-Type: text/plain\r\n\r\nsee forwarded\r\n--OUT\r\nContent-Type: message/rfc822\r\n\r\n\
             From: c@example.com\r\nSubject: inner 4111 1111 1111 1111\r\nContent-Type: multipart/mixed; boundary=IN\r\n\r\n\
             --IN\r\nContent-Type: text/plain\r\n\r\ninner body\r\n--IN\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=card.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--IN--\r\n\
             \r\n--OUT--\r\n",
            b64(CARD)
        )
    }

    #[test]
    fn nested_message_rfc822() {
        let seen = run(MailFormat::Eml, nested().as_bytes());
        assert_eq!(seen.labels(), ["headers", "part-2", "part-3!headers", "part-3!part-2", "part-3!card.bin"]);
        assert!(seen.text("part-3!headers").contains("Subject: inner 4111 1111 1111 1111"), "{:?}", seen.parts);
        assert_eq!(seen.text("part-3!part-2"), "inner body");
        let att = seen.get("part-3!card.bin");
        assert_eq!(att.5, CARD);
        assert_eq!(att.1, ["mime", "rfc822", "mime", "base64"]);

        // Base64-encoded message/rfc822, itself the whole body of an eml.
        let inner = "From: c@example.com\r\nSubject: inner\r\n\r\ncard 4111 1111 1111 1111\r\n";
        let mail = format!(
            "From: a@example.com\r\nSubject: x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(inner.as_bytes())
        );
        let seen = run(MailFormat::Eml, mail.as_bytes());
        let body = seen.parts.iter().find(|p| p.0.ends_with("!part-1")).expect("inner body");
        assert_eq!(body.5, b"card 4111 1111 1111 1111\r\n");
        assert_eq!(body.1, ["mime", "base64", "rfc822", "mime"]);
    }

    #[test]
    fn nesting_depth_limit() {
        let limits = MailLimits { max_depth: 0, ..MailLimits::default() };
        let (r, seen) = run_with(MailFormat::Eml, nested().as_bytes(), &limits);
        r.expect("walk");
        assert_eq!(seen.labels(), ["headers", "part-2"]);
        assert_eq!(seen.skips.len(), 1);
        assert_eq!(seen.skips[0].path, "part-3");
        assert_eq!(seen.skips[0].reason, "limit max-depth");
        assert_eq!(seen.skips[0].kind, SkipKind::Limit);
    }

    #[test]
    fn part_limit() {
        let limits = MailLimits { max_parts: 2, ..MailLimits::default() };
        let (r, seen) = run_with(MailFormat::Mbox, format!("{}{}", mbox(), nested_as_mbox()).as_bytes(), &limits);
        r.expect("walk");
        // Messages 1–3 have two parts each; message 4 has five.
        assert_eq!(seen.labels().len(), 8);
        assert_eq!(seen.skips.len(), 1);
        assert_eq!(seen.skips[0].path, "msg-4");
        assert_eq!(seen.skips[0].reason, "limit max-parts");
    }

    fn nested_as_mbox() -> String {
        format!("\nFrom x@example.com Mon Dec  1 10:03:00 2025\n{}", nested().replace("\r\n", "\n"))
    }

    #[test]
    fn message_size_limit() {
        // mbox: the big message is skipped, its neighbours are read.
        let big = format!(
            "From a@example.com Mon Dec  1 10:00:00 2025\nSubject: small\n\nok\n\n\
             From b@example.com Mon Dec  1 10:00:00 2025\nSubject: big\n\n{}\n\n\
             From c@example.com Mon Dec  1 10:00:00 2025\nSubject: small\n\nok\n",
            "x".repeat(5000)
        );
        let limits = MailLimits { max_message_bytes: 1000, ..MailLimits::default() };
        let (r, seen) = run_with(MailFormat::Mbox, big.as_bytes(), &limits);
        assert_eq!(r.expect("walk").messages, 3);
        assert_eq!(seen.labels(), ["msg-1!headers", "msg-1!part-1", "msg-3!headers", "msg-3!part-1"]);
        assert_eq!(seen.skips.len(), 1);
        assert_eq!(seen.skips[0].path, "msg-2");
        assert_eq!(seen.skips[0].reason, "limit max-message-bytes");
        assert_eq!(seen.skips[0].kind, SkipKind::Limit);

        // A line longer than the limit, without any newline.
        let long = format!("From a@example.com Mon Dec  1 10:00:00 2025\nSubject: x\n\n{}", "y".repeat(10_000));
        let (r, seen) = run_with(MailFormat::Mbox, long.as_bytes(), &limits);
        r.expect("walk");
        assert!(seen.parts.is_empty());
        assert_eq!(seen.skips[0].path, "msg-1");

        // eml: the input itself.
        let (r, seen) = run_with(MailFormat::Eml, plain().repeat(20).as_bytes(), &limits);
        r.expect("walk");
        assert!(seen.parts.is_empty());
        assert_eq!(seen.skips[0].path, "");
        assert_eq!(seen.skips[0].reason, "limit max-message-bytes");
    }

    #[test]
    fn garbage_and_truncation_never_panic() {
        // Not a message at all: handed raw, nothing lost.
        let garbage: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let seen = run(MailFormat::Eml, &garbage);
        assert!(seen.parts.iter().map(|p| p.5.len()).sum::<usize>() > 0);
        let _ = run(MailFormat::Mbox, &garbage);
        let _ = run(MailFormat::OutlookMsg, &garbage);

        // Every truncation of a multipart and of a nested message.
        for mail in [multipart(), nested()] {
            let bytes = mail.as_bytes();
            for end in 0..bytes.len() {
                let (r, _) = run_with(MailFormat::Eml, &bytes[..end], &MailLimits::default());
                r.expect("walk");
                let (r, _) = run_with(MailFormat::Mbox, &bytes[..end], &MailLimits::default());
                r.expect("walk");
            }
        }

        // A truncated base64 attachment still yields what was there.
        let m = multipart();
        let cut = &m[..m.find("--XX--").expect("end") - 20];
        let seen = run(MailFormat::Eml, cut.as_bytes());
        assert!(seen.parts.iter().any(|p| p.0 == "card.txt" || p.5.windows(4).any(|w| w == b"Y2Fy" || w == b"card")));

        // Broken quoted-printable falls back to the bytes as written.
        let mail =
            "Subject: x\r\nFrom: a@example.com\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbad =ZZ 4111\r\n";
        let seen = run(MailFormat::Eml, mail.as_bytes());
        assert!(seen.text("part-1").contains("4111"), "{:?}", seen.parts);
    }

    #[test]
    fn cancel_and_callback_errors_stop_the_walk() {
        let cancel = AtomicBool::new(true);
        let r = walk(
            MailFormat::Mbox,
            &mut mbox().as_bytes(),
            &MailLimits::default(),
            &cancel,
            &mut |_| Ok(()),
            &mut |_| {},
        );
        assert!(matches!(r, Err(MailError::Cancelled)));
        let cancel = AtomicBool::new(false);
        let r = walk(
            MailFormat::Eml,
            &mut plain().as_bytes(),
            &MailLimits::default(),
            &cancel,
            &mut |_| Err(io::Error::other("full")),
            &mut |_| {},
        );
        let err = r.expect_err("callback error");
        assert_eq!(err.to_string(), "part handler failed: full");
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(mbox().as_bytes(), "inbox"), Some(MailFormat::Mbox));
        assert_eq!(sniff(plain().as_bytes(), "x"), Some(MailFormat::Eml));
        assert_eq!(sniff(multipart().as_bytes(), ""), Some(MailFormat::Eml));
        let enveloped = format!("From a@example.com Mon Dec  1 10:00:00 2025\r\n{}", plain());
        assert_eq!(sniff(enveloped.as_bytes(), "saved.EML"), Some(MailFormat::Eml));
        assert_eq!(sniff(enveloped.as_bytes(), "saved"), Some(MailFormat::Mbox));
        let ole = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0];
        assert_eq!(sniff(&ole, "Mail.MSG"), Some(MailFormat::OutlookMsg));
        assert_eq!(sniff(&ole, "report.doc"), None);
        assert_eq!(sniff(b"!BDN\x00\x00", "archive.pst"), Some(MailFormat::Pst));
        assert_eq!(sniff(b"id,card,exp\n1,4111111111111111,12/29\n", "x.csv"), None);
        assert_eq!(sniff(b"from: here\ndate: 2025\nname: x\n", "config.yaml"), None);
        assert_eq!(sniff(b"Subject: only one\n\nbody\n", "x.txt"), None);
        assert_eq!(sniff(b"Subject: only one\n\nbody\n", "x.eml"), Some(MailFormat::Eml));
        assert_eq!(sniff(b"", ""), None);
        assert_eq!(sniff(b"From: a@example.com\nTo: b@example.com\n\nhi\n", ""), Some(MailFormat::Eml));
    }

    #[test]
    fn pst_is_reported_unsupported() {
        let (r, seen) = run_with(MailFormat::Pst, b"!BDN", &MailLimits::default());
        assert_eq!(r.expect("walk").skipped, 1);
        assert_eq!(seen.skips[0].reason, "unsupported format: pst");
        assert_eq!(seen.skips[0].kind, SkipKind::Error);
        assert_eq!(unsupported(MailFormat::Eml), None);
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn outlook_msg_streams() {
        use std::io::Write as _;
        let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("create");
        let put = |cf: &mut cfb::CompoundFile<Cursor<Vec<u8>>>, path: &str, data: &[u8]| {
            cf.create_stream(path).expect("stream").write_all(data).expect("write");
        };
        put(&mut cf, "/__substg1.0_0037001F", &utf16("order"));
        put(&mut cf, "/__substg1.0_1000001F", &utf16("card 4111 1111 1111 1111 exp 12/29"));
        put(&mut cf, "/__substg1.0_0FF90102", b"\x01\x02");
        put(&mut cf, "/__properties_version1.0", b"\0\0\0\0");
        cf.create_storage("/__attach_version1.0_#00000000").expect("storage");
        put(&mut cf, "/__attach_version1.0_#00000000/__substg1.0_37010102", CARD);
        put(&mut cf, "/__attach_version1.0_#00000000/__substg1.0_3707001F", &utf16("card.txt"));
        let bytes = cf.into_inner().into_inner();
        assert_eq!(sniff(&bytes, "mail.msg"), Some(MailFormat::OutlookMsg));
        let seen = run(MailFormat::OutlookMsg, &bytes);
        let mut labels = seen.labels();
        labels.sort_unstable();
        assert_eq!(labels, ["attach-1!card.txt", "attach-1!prop-3707", "body", "prop-0ff9", "subject"]);
        let body = seen.get("body");
        assert_eq!(body.5, utf16("card 4111 1111 1111 1111 exp 12/29"));
        assert_eq!(body.2.as_deref(), Some("utf-16le"));
        assert_eq!(body.1, ["outlook-msg"]);
        let att = seen.get("attach-1!card.txt");
        assert_eq!(att.5, CARD);
        assert_eq!(att.4.as_deref(), Some("card.txt"));

        let mut truncated = bytes.clone();
        truncated.truncate(700);
        let (r, seen) = run_with(MailFormat::OutlookMsg, &truncated, &MailLimits::default());
        r.expect("walk");
        assert!(
            seen.skips
                .iter()
                .all(|s| s.reason.starts_with("malformed outlook msg") || s.reason.starts_with("cannot read"))
        );
    }
}
