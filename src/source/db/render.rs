//! A database table as text for the engine: a header line of column names, then one line
//! per row with fields separated by a tab. The engine's record linkage (`scan::record`)
//! then reads a PAN's row field by field, so an expiry, security code or name in another
//! column corroborates it (SPEC §6 row linkage), whatever the engine.
//!
//! - Text values are written as they are, with tab, CR and LF turned into spaces (they
//!   would split the row). Binary values (bytea, BLOB) leave their field empty and are
//!   scanned as streams of their own through the full decoder stack.
//! - Split card columns (`card_no1` .. `card_no4`: forms that take a PAN in four inputs)
//!   get one more field at the end of the row holding their values joined, named after
//!   their stem in the header line (so it is a card-number column) and reported as
//!   `card_no1+card_no2+card_no3+card_no4`.
//! - Each hit is mapped back to its row, column and row key through a sliding index of
//!   the rows recently rendered: enough of them to map any hit the scanner can still
//!   report (its chunk plus overlaps), no more, so memory stays constant however large
//!   the table.
//!
//! Where rows come from is a [`RowSource`]: one per engine.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::detectors::DetectorSet;
use crate::detectors::spec::HintElement;
use crate::scan::Scanner;
use crate::scan::record::Header;
use crate::source::RowKey;
use crate::source::file::{CHUNK, Hit, PieceStats, Reader};

/// The fields of a rendered table and the names they are reported under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Reported column name of each field: the source's columns, then one per split group.
    pub columns: Vec<String>,
    /// Name of each field in the header line (split groups: their stem).
    header: Vec<String>,
    /// Names of the row-key values each row carries (primary key, rowid, …).
    pub key_names: Vec<Arc<str>>,
    /// Split groups: the fields of the parts, in order.
    splits: Vec<Vec<usize>>,
    /// Fields the source writes (the rest are split groups).
    source_fields: usize,
}

impl Layout {
    /// A layout for the source's `columns`, with split card columns found by their names.
    pub fn new(det: &DetectorSet, columns: Vec<String>, key_names: Vec<Arc<str>>) -> Layout {
        let source_fields = columns.len();
        let mut header = columns.clone();
        let mut columns = columns;
        let mut splits = Vec::new();
        for (stem, parts) in split_groups(det, &header) {
            let name = parts.iter().map(|&i| header[i].as_str()).collect::<Vec<_>>().join("+");
            columns.push(name);
            header.push(stem);
            splits.push(parts);
        }
        Layout { columns, header, key_names, splits, source_fields }
    }

    /// Fields the source writes per row.
    pub fn source_fields(&self) -> usize {
        self.source_fields
    }
}

/// Columns named like a card number with a part number 1–4 (`card_no1`, `カード番号２`),
/// grouped by the rest of the name: `(stem, fields in part order)`, for groups of 2–4
/// consecutive parts from 1.
pub fn split_groups(det: &DetectorSet, names: &[String]) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<(u32, usize)>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if det.column_element(name) != Some(HintElement::Pan) {
            continue;
        }
        let Some(last) = name.chars().last() else { continue };
        let part = match last {
            '1'..='4' => u32::from(last) - u32::from('0'),
            '１'..='４' => u32::from(last) - u32::from('０'),
            _ => continue,
        };
        let stem = name[..name.len() - last.len_utf8()].trim_end_matches(['_', '-']).to_owned();
        match groups.iter_mut().find(|g| g.0 == stem) {
            Some(g) => g.1.push((part, i)),
            None => groups.push((stem, vec![(part, i)])),
        }
    }
    groups
        .into_iter()
        .filter_map(|(stem, mut parts)| {
            parts.sort_unstable();
            let consecutive = parts.iter().enumerate().all(|(k, (p, _))| *p as usize == k + 1);
            (parts.len() >= 2 && consecutive && !stem.is_empty())
                .then(|| (stem, parts.into_iter().map(|p| p.1).collect()))
        })
        .collect()
}

/// Why a source stopped before the end of its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The database reported an error (a fixed text: never a value).
    Failed(String),
    /// The time limit passed.
    Time,
    /// The run was cancelled.
    Cancelled,
}

/// Rows of one table (or one key range of it), fetched as the scanner asks for bytes.
pub trait RowSource {
    /// Writes the next row into `out`: every source field in layout order, then its key
    /// values. `Ok(false)` at the end of the rows.
    fn next_row(&mut self, out: &mut RowOut<'_>) -> Result<bool, Stop>;
}

/// Where a source writes one row.
pub struct RowOut<'a> {
    text: &'a mut Vec<u8>,
    base: u64,
    index: &'a mut RowIndex,
    fields: usize,
    blobs: &'a mut Vec<(usize, Vec<u8>)>,
    key: &'a mut Vec<u8>,
}

impl RowOut<'_> {
    fn next_field(&mut self) {
        if self.fields > 0 {
            self.text.push(b'\t');
        }
        self.index.start_field(self.base + self.text.len() as u64);
        self.fields += 1;
    }

    /// A text value (or a number written as digits).
    pub fn text(&mut self, bytes: &[u8]) {
        self.next_field();
        push_clean(self.text, bytes);
    }

    /// A NULL.
    pub fn null(&mut self) {
        self.next_field();
    }

    /// A binary value: its field stays empty, the bytes are scanned on their own.
    pub fn blob(&mut self, bytes: &[u8]) {
        self.next_field();
        self.blobs.push((self.fields - 1, bytes.to_vec()));
    }

    /// The next row-key value (text; NULL as empty).
    pub fn key(&mut self, value: &[u8]) {
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        self.key.extend_from_slice(&len.to_le_bytes());
        self.key.extend_from_slice(&value[..len as usize]);
    }

    /// Whether the source has written any field of this row yet.
    pub fn fields_written(&self) -> usize {
        self.fields
    }
}

/// Findings of one column of a table (or, with `column: None`, the closing record of a
/// table: its bytes and rows).
#[derive(Debug)]
pub struct CellHits {
    /// The column; `None` for the closing record.
    pub column: Option<String>,
    /// Found in a binary value (scanned as a stream of its own).
    pub blob: bool,
    /// Findings: `line_in_piece` is the row (0-based), `byte_offset` the offset in the
    /// rendered table text or in the binary value, `row_key` the row's key.
    pub hits: Vec<Hit>,
    /// What was read.
    pub stats: PieceStats,
}

/// What rendering a table needs from the caller.
pub struct Render<'a> {
    /// The reader for the table text.
    pub reader: &'a mut Reader,
    /// A second reader for binary values.
    pub blob_reader: &'a mut Reader,
    /// The engine.
    pub scanner: &'a Scanner,
    /// Set on Ctrl-C.
    pub cancel: &'a AtomicBool,
    /// When the table must be done (`None`: no limit).
    pub deadline: Option<Instant>,
    /// Receives findings, column by column, in batches of at most `batch` findings.
    pub emit: &'a mut dyn FnMut(CellHits),
    /// Findings held before they are handed on.
    pub batch: usize,
}

/// How a table scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Rows read.
    pub rows: u64,
    /// Bytes of table text (the header line and binary values not included).
    pub bytes: u64,
    /// Why it stopped early, if it did.
    pub stop: Option<Stop>,
}

/// Scans the rows of `source`: renders them for `r.reader`, scans binary values on their
/// own, hands findings to `r.emit` (the closing record last).
pub fn scan_rows(layout: &Layout, source: &mut dyn RowSource, r: &mut Render<'_>) -> Rendered {
    let keep = 4 * (CHUNK as u64 + 8 * r.scanner.overlap() as u64);
    let shared = RefCell::new(Shared {
        index: RowIndex::new(keep),
        layout,
        text_hits: Vec::new(),
        emit: &mut *r.emit,
        batch: r.batch,
    });
    let mut text = TableText {
        source,
        layout,
        pending: Vec::new(),
        pos: 0,
        rendered: 0,
        row: 0,
        started: false,
        done: false,
        stop: None,
        blobs: Vec::new(),
        key: Vec::new(),
        shared: &shared,
        blob_reader: &mut *r.blob_reader,
        scanner: r.scanner,
        cancel: r.cancel,
        deadline: r.deadline,
    };
    let header = Header::of_columns(r.scanner.detectors(), &layout.header);
    let result = r.reader.scan_table(&mut text, header, r.scanner, r.cancel, &mut |mut hit| {
        let mut sh = shared.borrow_mut();
        let Some((row, col, key)) = sh.index.locate(hit.byte_offset) else { return };
        hit.line_in_piece = row.saturating_sub(1);
        hit.row_key = sh.key_of(&key);
        sh.text_hits.push((col, hit));
        if sh.text_hits.len() >= sh.batch {
            sh.flush(PieceStats::default());
        }
    });
    let (rows, mut stop) = (text.row, text.stop.take());
    drop(text);
    let mut sh = shared.into_inner();
    let stats = result.as_ref().copied().unwrap_or_default();
    let mut text_stats = stats;
    text_stats.bytes = 0;
    sh.flush(text_stats);
    (sh.emit)(CellHits { column: None, blob: false, hits: Vec::new(), stats });
    if stop.is_none() {
        if let Err(e) = &result {
            stop = Some(Stop::Failed(e.kind().to_string()));
        } else if r.cancel.load(Ordering::Relaxed) {
            stop = Some(Stop::Cancelled);
        }
    }
    // The header line is ours, not the table's: counting it would make `bytes` depend on
    // how many parts the table was read in.
    let header_len: usize = layout.header.iter().map(|h| h.len() + 1).sum();
    Rendered { rows, bytes: stats.bytes.saturating_sub(header_len as u64), stop }
}

/// State shared by the table text (which renders rows and scans binary values) and the
/// scanner's callback (which maps hits back to cells).
struct Shared<'l, 'e> {
    index: RowIndex,
    layout: &'l Layout,
    text_hits: Vec<(usize, Hit)>,
    emit: &'e mut dyn FnMut(CellHits),
    batch: usize,
}

impl Shared<'_, '_> {
    /// Hands on the held text findings, one batch per column.
    fn flush(&mut self, stats: PieceStats) {
        if self.text_hits.is_empty() {
            return;
        }
        let mut hits = std::mem::take(&mut self.text_hits);
        hits.sort_by_key(|(col, h)| (*col, h.byte_offset));
        let mut rest = hits.into_iter().peekable();
        while let Some((col, first)) = rest.next() {
            let mut batch = vec![first];
            while let Some((_, h)) = rest.next_if(|(c, _)| *c == col) {
                batch.push(h);
            }
            let column = self.layout.columns.get(col).cloned().unwrap_or_default();
            (self.emit)(CellHits { column: Some(column), blob: false, hits: batch, stats });
        }
    }

    fn key_of(&self, key: &[u8]) -> Option<RowKey> {
        decode_key(&self.layout.key_names, key)
    }
}

/// The row key from its encoded values (`None` for a layout without key columns).
fn decode_key(names: &[Arc<str>], mut key: &[u8]) -> Option<RowKey> {
    if names.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let (len, rest) = key.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let value = rest.get(..len)?;
        out.push((name.clone(), String::from_utf8_lossy(value).into_owned()));
        key = &rest[len..];
    }
    Some(out)
}

/// Where the rows and fields recently rendered start in the table text, with each row's
/// encoded key.
#[derive(Debug)]
pub(crate) struct RowIndex {
    /// `(row start offset, row number, index of its first field, start of its key)`; row 0
    /// is the header line.
    rows: VecDeque<(u64, u64, u64, u64)>,
    /// Field start offsets.
    fields: VecDeque<u64>,
    /// Fields dropped from the front of `fields`.
    fields_base: u64,
    /// Encoded keys of the rows kept.
    keys: VecDeque<u8>,
    /// Key bytes dropped from the front of `keys`.
    keys_base: u64,
    /// How far behind the rendering position rows are kept.
    keep: u64,
}

impl RowIndex {
    pub(crate) fn new(keep: u64) -> RowIndex {
        RowIndex {
            rows: VecDeque::new(),
            fields: VecDeque::new(),
            fields_base: 0,
            keys: VecDeque::new(),
            keys_base: 0,
            keep,
        }
    }

    pub(crate) fn start_row(&mut self, at: u64, row: u64, key: &[u8]) {
        let first = self.fields_base + self.fields.len() as u64;
        let key_start = self.keys_base + self.keys.len() as u64;
        self.keys.extend(key);
        self.rows.push_back((at, row, first, key_start));
        // Drop rows that end (where the next begins) long before this one.
        while self.rows.len() > 2 && self.rows[1].0 + self.keep < at {
            self.rows.pop_front();
            let (_, _, first_kept, key_kept) = self.rows[0];
            let drop_fields = usize::try_from(first_kept - self.fields_base).unwrap_or(usize::MAX);
            self.fields.drain(..drop_fields.min(self.fields.len()));
            self.fields_base = first_kept;
            let drop_keys = usize::try_from(key_kept - self.keys_base).unwrap_or(usize::MAX);
            self.keys.drain(..drop_keys.min(self.keys.len()));
            self.keys_base = key_kept;
        }
    }

    pub(crate) fn start_field(&mut self, at: u64) {
        self.fields.push_back(at);
    }

    /// `(row, column, encoded key)` of the byte at `offset`.
    pub(crate) fn locate(&self, offset: u64) -> Option<(u64, usize, Vec<u8>)> {
        let i = self.rows.partition_point(|r| r.0 <= offset).checked_sub(1)?;
        let (_, row, first, key_start) = self.rows[i];
        let next = self.rows.get(i + 1);
        let end = next.map_or(self.fields_base + self.fields.len() as u64, |r| r.2);
        let lo = usize::try_from(first.checked_sub(self.fields_base)?).ok()?;
        let hi = usize::try_from(end - self.fields_base).ok()?;
        let fields = self.fields.range(lo..hi);
        let col = fields.take_while(|f| **f <= offset).count().checked_sub(1)?;
        let key_end = next.map_or(self.keys_base + self.keys.len() as u64, |r| r.3);
        let klo = usize::try_from(key_start.checked_sub(self.keys_base)?).ok()?;
        let khi = usize::try_from(key_end - self.keys_base).ok()?;
        let key = self.keys.range(klo..khi).copied().collect();
        Some((row, col, key))
    }
}

/// A table as a `Read`: rows are fetched and rendered as the scanner asks for bytes.
struct TableText<'a, 'l, 'e> {
    source: &'a mut dyn RowSource,
    layout: &'l Layout,
    pending: Vec<u8>,
    pos: usize,
    /// Offset in the table text of `pending[0]`.
    rendered: u64,
    /// Rows rendered.
    row: u64,
    started: bool,
    done: bool,
    stop: Option<Stop>,
    blobs: Vec<(usize, Vec<u8>)>,
    key: Vec<u8>,
    shared: &'a RefCell<Shared<'l, 'e>>,
    blob_reader: &'a mut Reader,
    scanner: &'a Scanner,
    cancel: &'a AtomicBool,
    deadline: Option<Instant>,
}

impl TableText<'_, '_, '_> {
    /// Renders the header line (first call) or fetches and renders the next row. Returns
    /// false at the end of the rows, on an error or when halted.
    fn next_row(&mut self) -> bool {
        self.rendered += self.pending.len() as u64;
        self.pending.clear();
        self.pos = 0;
        if !self.started {
            self.started = true;
            let mut sh = self.shared.borrow_mut();
            sh.index.start_row(self.rendered, 0, &[]);
            for (i, name) in self.layout.header.iter().enumerate() {
                if i > 0 {
                    self.pending.push(b'\t');
                }
                sh.index.start_field(self.rendered + self.pending.len() as u64);
                push_clean(&mut self.pending, name.as_bytes());
            }
            self.pending.push(b'\n');
            return true;
        }
        if self.cancel.load(Ordering::Relaxed) {
            self.stop = Some(Stop::Cancelled);
            return false;
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            self.stop = Some(Stop::Time);
            return false;
        }
        self.blobs.clear();
        self.key.clear();
        // The row's start goes into the index once its key is known: fields are
        // recorded relative to the index's field count, so remember it now.
        let row_start = self.rendered;
        let fields_before;
        let more = {
            let mut sh = self.shared.borrow_mut();
            // Placeholder row entry; its key is filled in below.
            sh.index.start_row(row_start, self.row + 1, &[]);
            fields_before = sh.index.fields_base + sh.index.fields.len() as u64;
            let mut out = RowOut {
                text: &mut self.pending,
                base: row_start,
                index: &mut sh.index,
                fields: 0,
                blobs: &mut self.blobs,
                key: &mut self.key,
            };
            let r = self.source.next_row(&mut out);
            if let Ok(true) = r {
                while out.fields < self.layout.source_fields {
                    out.null();
                }
            }
            r
        };
        match more {
            Ok(true) => {}
            Ok(false) => {
                self.drop_placeholder();
                return false;
            }
            Err(stop) => {
                self.drop_placeholder();
                self.stop = Some(stop);
                return false;
            }
        }
        self.row += 1;
        {
            let mut sh = self.shared.borrow_mut();
            sh.index.set_last_key(&self.key);
            // Split card columns: their values joined, as one more field each.
            for parts in &self.layout.splits {
                let mut joined = Vec::new();
                let mut filled = 0;
                for &p in parts {
                    let field = field_bytes(&self.pending, &sh.index, fields_before, p, row_start);
                    filled += usize::from(!field.trim_ascii().is_empty());
                    joined.extend(field.iter().copied().filter(|b| !b.is_ascii_whitespace() && *b != b'-'));
                }
                // A number held whole in one part is found there: joining it again would
                // report the same PAN twice.
                if filled < 2 {
                    joined.clear();
                }
                self.pending.push(b'\t');
                sh.index.start_field(row_start + self.pending.len() as u64);
                push_clean(&mut self.pending, &joined);
            }
        }
        self.pending.push(b'\n');
        let blobs = std::mem::take(&mut self.blobs);
        for (col, blob) in &blobs {
            self.scan_blob(self.row, *col, blob);
        }
        self.blobs = blobs;
        true
    }

    /// Removes the row entry made for a row that did not come.
    fn drop_placeholder(&mut self) {
        let mut sh = self.shared.borrow_mut();
        sh.index.rows.pop_back();
    }

    fn scan_blob(&mut self, row: u64, col: usize, blob: &[u8]) {
        let mut hits = Vec::new();
        let mut input = blob;
        let key = decode_key(&self.layout.key_names, &self.key);
        let stats = self
            .blob_reader
            .scan_stream(&mut input, None, self.scanner, self.cancel, &mut |mut h| {
                h.line_in_piece = row - 1;
                h.row_key.clone_from(&key);
                hits.push(h);
            })
            .unwrap_or_default();
        let mut sh = self.shared.borrow_mut();
        let column = sh.layout.columns.get(col).cloned();
        (sh.emit)(CellHits { column, blob: true, hits, stats });
    }
}

impl RowIndex {
    /// Gives the last row its key (written after its fields).
    fn set_last_key(&mut self, key: &[u8]) {
        if let Some(last) = self.rows.back() {
            let start = last.3;
            let have = self.keys_base + self.keys.len() as u64;
            if have == start {
                self.keys.extend(key);
            }
        }
    }
}

/// The bytes of source field `n` of the row being rendered (`first` = index of the row's
/// first field in the index, `row_start` = offset of `text[0]`).
fn field_bytes<'t>(text: &'t [u8], index: &RowIndex, first: u64, n: usize, row_start: u64) -> &'t [u8] {
    let at = |k: u64| -> Option<usize> {
        let i = usize::try_from(k.checked_sub(index.fields_base)?).ok()?;
        let abs = *index.fields.get(i)?;
        usize::try_from(abs - row_start).ok()
    };
    let Some(start) = at(first + n as u64) else { return &[] };
    let end = at(first + n as u64 + 1).map_or(text.len(), |e| e.saturating_sub(1));
    text.get(start..end.max(start)).unwrap_or(&[])
}

impl Read for TableText<'_, '_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.pending.len() {
            if self.done || !self.next_row() {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Appends `bytes` with tabs, CR and LF turned into spaces (they would split the row).
pub fn push_clean(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(bytes.iter().map(|&b| if matches!(b, b'\t' | b'\n' | b'\r') { b' ' } else { b }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_index_locates_cells_and_forgets_old_rows() {
        let mut ix = RowIndex::new(100);
        ix.start_row(0, 0, &[]);
        ix.start_field(0);
        ix.start_field(5);
        ix.start_row(10, 1, b"k1");
        ix.start_field(10);
        ix.start_field(14);
        assert_eq!(ix.locate(3), Some((0, 0, Vec::new())));
        assert_eq!(ix.locate(12), Some((1, 0, b"k1".to_vec())));
        assert_eq!(ix.locate(14), Some((1, 1, b"k1".to_vec())));
        assert_eq!(ix.locate(99), Some((1, 1, b"k1".to_vec())));
        ix.start_row(500, 2, b"k2");
        ix.start_field(500);
        ix.start_row(1000, 3, b"k3");
        ix.start_field(1000);
        assert_eq!(ix.locate(3), None, "old rows are dropped");
        assert_eq!(ix.locate(600), Some((2, 0, b"k2".to_vec())));
        assert_eq!(ix.locate(1001), Some((3, 0, b"k3".to_vec())));
    }

    #[test]
    fn clean_values() {
        let mut out = Vec::new();
        push_clean(&mut out, b"a\tb\r\nc");
        assert_eq!(out, b"a b  c");
    }

    #[test]
    fn split_card_columns_are_grouped() {
        let det = DetectorSet::builtin().unwrap();
        let names: Vec<String> =
            ["id", "card_no1", "card_no2", "card_no3", "card_no4", "exp"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(split_groups(&det, &names), vec![("card_no".to_owned(), vec![1, 2, 3, 4])]);
        let jp: Vec<String> =
            ["カード番号１", "カード番号２", "カード番号３"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(split_groups(&det, &jp), vec![("カード番号".to_owned(), vec![0, 1, 2])]);
        // One part alone, or parts that do not start at 1, are not a split number.
        let lone: Vec<String> = ["card_no1", "card_no3"].iter().map(|s| (*s).to_owned()).collect();
        assert!(split_groups(&det, &lone).is_empty());
        let layout = Layout::new(&det, names, vec![Arc::from("id")]);
        assert_eq!(layout.columns.last().map(String::as_str), Some("card_no1+card_no2+card_no3+card_no4"));
        assert_eq!(layout.header.last().map(String::as_str), Some("card_no"));
        assert_eq!(layout.source_fields(), 6);
    }

    #[test]
    fn keys_round_trip() {
        let names = vec![Arc::from("a"), Arc::from("b")];
        let mut enc = Vec::new();
        for v in [&b"1"[..], b"x y"] {
            enc.extend_from_slice(&u32::try_from(v.len()).unwrap().to_le_bytes());
            enc.extend_from_slice(v);
        }
        let k = decode_key(&names, &enc).unwrap();
        assert_eq!(k, vec![(Arc::from("a"), "1".to_owned()), (Arc::from("b"), "x y".to_owned())]);
        assert_eq!(decode_key(&[], &enc), None);
        assert_eq!(decode_key(&names, &enc[..3]), None);
    }
}
