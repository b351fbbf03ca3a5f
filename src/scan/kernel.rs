//! The candidate kernel: finds chains of ASCII digit groups joined by one kind of
//! separator. Everything else in the engine runs only on what this finds.
//!
//! A *chain* is a maximal sequence of digit groups where consecutive groups are joined by
//! exactly one separator, and every separator in the chain is of the same kind (space,
//! `-`, `.`, NBSP or the ideographic space U+3000). `2024-10-22 4111…` is two chains:
//! the space is a different separator from `-`. A chain is cut after [`MAX_GROUPS`]
//! groups so that its record stays fixed-size; callers re-check the neighbours of what
//! they accept, so the cut never creates a false boundary.
//!
//! This is the scalar kernel. It skips non-digit bytes eight at a time with a SWAR test;
//! issue 8 adds SIMD twins that must produce identical chains (property-tested).

use std::ops::Range;

/// Most groups recorded per chain; longer chains are cut.
pub const MAX_GROUPS: usize = 8;

/// The separator joining the groups of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sep {
    /// A single group: no separator.
    None,
    /// ASCII space.
    Space,
    /// `-`.
    Dash,
    /// `.`.
    Dot,
    /// U+00A0 no-break space (`C2 A0`).
    Nbsp,
    /// U+3000 ideographic space (`E3 80 80`).
    Ideographic,
}

impl Sep {
    /// Byte length of the separator.
    pub fn width(self) -> usize {
        match self {
            Sep::None => 0,
            Sep::Space | Sep::Dash | Sep::Dot => 1,
            Sep::Nbsp => 2,
            Sep::Ideographic => 3,
        }
    }

    /// The separator starting at `buf[i]`, if any.
    #[inline]
    pub fn at(buf: &[u8], i: usize) -> Sep {
        match buf.get(i) {
            Some(b' ') => Sep::Space,
            Some(b'-') => Sep::Dash,
            Some(b'.') => Sep::Dot,
            Some(0xC2) if buf.get(i + 1) == Some(&0xA0) => Sep::Nbsp,
            Some(0xE3) if buf.get(i + 1) == Some(&0x80) && buf.get(i + 2) == Some(&0x80) => Sep::Ideographic,
            _ => Sep::None,
        }
    }
}

/// A chain of digit groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Byte range of the whole chain.
    pub span: Range<usize>,
    /// The separator kind (`Sep::None` for a single group).
    pub sep: Sep,
    /// Byte ranges of the groups (the first `ngroups`).
    pub groups: [Range<usize>; MAX_GROUPS],
    /// Number of groups.
    pub ngroups: usize,
}

impl Chain {
    /// The groups as a slice.
    pub fn groups(&self) -> &[Range<usize>] {
        &self.groups[..self.ngroups]
    }

    /// Total digits in the chain.
    pub fn digit_count(&self) -> usize {
        self.groups().iter().map(ExactSizeIterator::len).sum()
    }
}

#[inline]
fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// Index of the first ASCII digit at or after `i`.
#[inline]
pub fn next_digit(buf: &[u8], mut i: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= buf.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&buf[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ (LO * 0x30);
        // A byte of `x` below 10 marks a digit (the classic "has less than n" test;
        // bytes >= 0x80 in the input have the high bit set in `x` and are excluded by `!x`).
        if (x.wrapping_sub(LO * 10) & !x & HI) != 0 {
            break;
        }
        i += 8;
    }
    buf[i..].iter().position(|&b| is_digit(b)).map(|p| i + p)
}

/// Calls `f` for every chain in `buf[range]`, in order. Chains are maximal within `range`.
pub fn for_each_chain(buf: &[u8], range: Range<usize>, mut f: impl FnMut(&Chain)) {
    let end = range.end.min(buf.len());
    let hay = &buf[..end];
    let mut i = range.start.min(end);
    // One chain, reused: digit runs are frequent in dense text, and initialising eight
    // ranges per run was a tenth of the scan's time. Groups past `ngroups` are never read.
    let mut chain = Chain { span: 0..0, sep: Sep::None, groups: std::array::from_fn(|_| 0..0), ngroups: 0 };
    while let Some(start) = next_digit(hay, i) {
        chain.sep = Sep::None;
        chain.ngroups = 0;
        let mut j = start;
        loop {
            let g_start = j;
            while j < end && is_digit(hay[j]) {
                j += 1;
            }
            chain.groups[chain.ngroups] = g_start..j;
            chain.ngroups += 1;
            if chain.ngroups == MAX_GROUPS {
                break;
            }
            let sep = Sep::at(hay, j);
            if sep == Sep::None
                || (chain.sep != Sep::None && chain.sep != sep)
                || !hay.get(j + sep.width()).copied().is_some_and(is_digit)
            {
                break;
            }
            chain.sep = sep;
            j += sep.width();
        }
        chain.span = start..j;
        f(&chain);
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chains(s: &[u8]) -> Vec<(String, Sep, Vec<usize>)> {
        let mut out = Vec::new();
        for_each_chain(s, 0..s.len(), |c| {
            out.push((
                String::from_utf8_lossy(&s[c.span.clone()]).into_owned(),
                c.sep,
                c.groups().iter().map(ExactSizeIterator::len).collect(),
            ));
        });
        out
    }

    #[test]
    fn splits_on_separator_kind() {
        let c = chains(b"at 2024-10-22 4111 1111 1111 1111.");
        assert_eq!(c[0], ("2024-10-22".into(), Sep::Dash, vec![4, 2, 2]));
        assert_eq!(c[1], ("4111 1111 1111 1111".into(), Sep::Space, vec![4, 4, 4, 4]));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn double_separator_breaks_chain() {
        let c = chains(b"1234  5678");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn multibyte_separators() {
        let s = "4111\u{3000}1111\u{3000}1111\u{3000}1111 x 4111\u{a0}1111";
        let c = chains(s.as_bytes());
        assert_eq!(c[0].1, Sep::Ideographic);
        assert_eq!(c[0].2, vec![4, 4, 4, 4]);
        assert_eq!(c[1].1, Sep::Nbsp);
    }

    #[test]
    fn long_chains_are_cut() {
        let c = chains(b"1 2 3 4 5 6 7 8 9 10");
        assert_eq!(c[0].2.len(), MAX_GROUPS);
        assert_eq!(c[1].0, "9 10");
    }

    fn scalar_next_digit(buf: &[u8], i: usize) -> Option<usize> {
        buf[i..].iter().position(u8::is_ascii_digit).map(|p| p + i)
    }

    proptest! {
        #[test]
        fn swar_skip_matches_scalar(buf in proptest::collection::vec(any::<u8>(), 0..200), start in 0usize..200) {
            let start = start.min(buf.len());
            prop_assert_eq!(next_digit(&buf, start), scalar_next_digit(&buf, start));
        }

        #[test]
        fn swar_skip_on_sparse_text(buf in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'5'), Just(0xFFu8), Just(b'/'), Just(b':')], 0..100)) {
            prop_assert_eq!(next_digit(&buf, 0), scalar_next_digit(&buf, 0));
        }
    }
}
