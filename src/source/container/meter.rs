//! The metering reader that enforces [`Limits`](super::Limits) on a member stream, and the
//! counting reader that measures a decoder's compressed input.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::{Budget, Halt};

/// How many compressed bytes a stream came from, for the ratio check.
#[derive(Clone, Debug)]
pub(super) enum Compressed {
    /// Not compressed at this level (a tar member): no ratio check.
    None,
    /// Known from the archive (a zip member's compressed size).
    Known(u64),
    /// Counted as the decoder reads its input.
    Counted(Rc<Cell<u64>>),
}

/// A reader on top of one member stream that counts what passes and stops it at a limit.
pub(super) struct Meter<'b, R: Read + ?Sized> {
    budget: &'b Budget<'b>,
    read: u64,
    /// Largest number of bytes this stream may yield (set for leaves).
    pub(super) cap: Option<u64>,
    compressed: Compressed,
    /// Whether the bytes come out of a decoder (they count toward `max_total_bytes`).
    expands: bool,
    pub(super) inner: R,
}

impl<'b, R: Read> Meter<'b, R> {
    pub(super) fn new(budget: &'b Budget<'b>, compressed: Compressed, expands: bool, inner: R) -> Meter<'b, R> {
        Meter { budget, read: 0, cap: None, compressed, expands, inner }
    }
}

impl<R: Read + ?Sized> Read for Meter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.budget.halted() {
            return Err(io::Error::other("walk stopped"));
        }
        let limits = self.budget.limits;
        let mut want = buf.len();
        if let Some(cap) = self.cap {
            // One byte past the cap tells "exactly at the cap" from "larger".
            let room = cap.saturating_sub(self.read).saturating_add(1);
            want = want.min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if let Some(cap) = self.cap.filter(|cap| self.read > *cap) {
            return Err(self.budget.trip(format!("limit max-member-bytes: member larger than {cap} bytes")));
        }
        if self.expands {
            let total = self.budget.expanded.get() + n as u64;
            self.budget.expanded.set(total);
            if total > limits.max_total_bytes {
                self.budget.halt.set(Some(Halt::Total));
                return Err(io::Error::other("walk stopped"));
            }
        }
        let compressed = match &self.compressed {
            Compressed::None => None,
            Compressed::Known(n) => Some(*n),
            Compressed::Counted(c) => Some(c.get()),
        };
        if compressed.is_some_and(|c| self.read > limits.ratio_floor && self.read / c.max(1) > limits.max_ratio) {
            return Err(self.budget.trip(format!("limit max-ratio: expands more than {}x", limits.max_ratio)));
        }
        Ok(n)
    }
}

/// Counts the bytes a decoder reads from its input.
pub(super) struct Counting<'r> {
    pub(super) inner: &'r mut dyn Read,
    pub(super) count: Rc<Cell<u64>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}
