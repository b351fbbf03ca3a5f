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
//! Two ways in:
//! - [`for_each_chain`], the scalar reference: every chain, found by skipping non-digit
//!   bytes eight at a time (SWAR) and walking digit groups byte by byte;
//! - [`for_each_candidate_chain`], the fast path: every chain that [`needs_look`] accepts
//!   (12 or more digits, or mask characters at its edge: all the engine acts on), and
//!   possibly some others. It classifies 64 bytes at a time with SIMD (AVX2 or SSE2 on
//!   `x86_64`, NEON on aarch64, picked at run time; [`simd`]) into bit masks, finds where
//!   such a chain can be with shift-and run tests, and hands only those places to the
//!   same scalar chain walker, started at a point where the reference walk would be in
//!   the same state. Log text, where most digit runs are short, is skipped at memory
//!   speed; digit-dense text costs what the walker costs.
//!
//! Property tests check that both ways give the same chains that [`needs_look`] accepts,
//! on arbitrary bytes and ranges, for every kernel the machine can run.

#![allow(unsafe_code)]
// SIMD intrinsics, in `simd` only; every block has a SAFETY comment.
// `inline(always)`: the driver and classifiers must inline into the function compiled for
// the target feature, or the intrinsics stay out of line.
#![allow(clippy::inline_always)]

use std::ops::Range;

pub mod simd;

/// Fewest digits in a chain the engine looks at whatever is around it (the shortest
/// candidate PAN has 12).
pub const MIN_DIGITS: usize = 12;

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

/// Whether `b` can be part of a chain: a digit, a one-byte separator, or a byte of a
/// multi-byte separator (NBSP `C2 A0`, U+3000 `E3 80 80`).
#[inline]
fn is_member(b: u8) -> bool {
    is_digit(b) || matches!(b, b' ' | b'-' | b'.' | 0xC2 | 0xA0 | 0xE3 | 0x80)
}

/// Whether `b` can be (the first byte of) a mask character: `*`, `#`, `x`, `X`, and the
/// lead bytes of `•`/`●` (`E2`) and `＊` (`EF`).
#[inline]
fn is_mask_byte(b: u8) -> bool {
    matches!(b, b'*' | b'#' | b'x' | b'X' | 0xE2 | 0xEF)
}

/// An ASCII letter that is not a mask letter (`x`, `X`): a mask byte next to one is part
/// of a word (`Linux x86`), never of a masked PAN.
#[inline]
fn is_other_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() && (b | 0x20) != b'x'
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

fn empty_chain() -> Chain {
    Chain { span: 0..0, sep: Sep::None, groups: std::array::from_fn(|_| 0..0), ngroups: 0 }
}

/// Builds into `chain` the chain starting at the digit `hay[start]`; returns its end.
#[inline]
fn chain_at(hay: &[u8], start: usize, chain: &mut Chain) -> usize {
    let end = hay.len();
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
    j
}

/// Calls `f` for every chain in `buf[range]`, in order. Chains are maximal within `range`.
/// The scalar reference; the engine uses [`for_each_candidate_chain`].
pub fn for_each_chain(buf: &[u8], range: Range<usize>, mut f: impl FnMut(&Chain)) {
    let end = range.end.min(buf.len());
    let hay = &buf[..end];
    // One chain, reused: digit runs are frequent in dense text, and initialising eight
    // ranges per run was a tenth of the scan's time. Groups past `ngroups` are never read.
    let mut chain = empty_chain();
    let mut i = range.start.min(end);
    while let Some(start) = next_digit(hay, i) {
        i = chain_at(hay, start, &mut chain);
        f(&chain);
    }
}

/// Whether the engine may act on `chain` (found in `buf[range]`): a group of at least
/// [`MIN_DIGITS`] digits (a plain PAN, tag-57 data); a grouped PAN's shape, a first
/// group of exactly 4 digits and at least 3 groups with [`MIN_DIGITS`] digits in all (every
/// accepted grouping starts with 4); or a mask-character byte within 4 bytes before it or
/// 3 after it with another one within 4 bytes of that (a masked PAN has at least two mask
/// characters); a mask byte next to a letter other than `x`/`X` does not count (it is in
/// a word). Only bytes inside `range` count. [`for_each_candidate_chain`] reports
/// every chain this accepts.
pub fn needs_look(buf: &[u8], range: &Range<usize>, chain: &Chain) -> bool {
    let groups = chain.groups();
    if groups.iter().any(|g| g.len() >= MIN_DIGITS)
        || (groups[0].len() == 4 && groups.len() >= 3 && chain.digit_count() >= MIN_DIGITS)
    {
        return true;
    }
    let hi = range.end.min(buf.len());
    let inside = |i: usize| i >= range.start && i < hi;
    let is_mk = |i: usize| {
        inside(i)
            && is_mask_byte(buf[i])
            && !(i > 0 && inside(i - 1) && is_other_letter(buf[i - 1]))
            && !(inside(i + 1) && is_other_letter(buf[i + 1]))
    };
    let paired = |p: usize| (p.saturating_sub(4)..=p + 4).any(|q| q != p && is_mk(q));
    let span = &chain.span;
    (span.start.saturating_sub(4)..span.start).chain(span.end..span.end + 3).any(|p| is_mk(p) && paired(p))
}

/// Which kernel classifies bytes for [`for_each_candidate_chain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// The scalar reference walk over every chain ([`for_each_chain`]).
    Scalar,
    /// SSE2 (every `x86_64` CPU).
    Sse2,
    /// AVX2 (`x86_64`, detected at run time).
    Avx2,
    /// AVX-512BW (`x86_64`, detected at run time).
    Avx512,
    /// NEON (every aarch64 CPU).
    Neon,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512bw") {
                Kernel::Avx512
            } else if std::is_x86_feature_detected!("avx2") {
                Kernel::Avx2
            } else {
                Kernel::Sse2
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("neon") { Kernel::Neon } else { Kernel::Scalar }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Kernel::Scalar
        }
    }

    /// Every kernel this CPU runs, the scalar reference first.
    pub fn available() -> Vec<Kernel> {
        let mut v = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            v.push(Kernel::Sse2);
            if std::is_x86_feature_detected!("avx2") {
                v.push(Kernel::Avx2);
            }
            if std::is_x86_feature_detected!("avx512bw") {
                v.push(Kernel::Avx512);
            }
        }
        #[cfg(target_arch = "aarch64")]
        if std::arch::is_aarch64_feature_detected!("neon") {
            v.push(Kernel::Neon);
        }
        v
    }

    /// Lower-case name (`avx2`, …).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Sse2 => "sse2",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Neon => "neon",
        }
    }
}

/// Calls `f`, in order, for every chain in `buf[range]` that [`needs_look`] accepts, and
/// possibly for other chains; each call gets the same chain [`for_each_chain`] would
/// give. Uses the fastest kernel of this CPU ([`Kernel::detect`], looked up once).
pub fn for_each_candidate_chain(buf: &[u8], range: Range<usize>, f: impl FnMut(&Chain)) {
    static DETECTED: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
    for_each_candidate_chain_with(*DETECTED.get_or_init(Kernel::detect), buf, range, f);
}

/// [`for_each_candidate_chain`] with a chosen kernel. A kernel this CPU cannot run
/// ([`Kernel::available`]) falls back to the scalar walk.
pub fn for_each_candidate_chain_with(kernel: Kernel, buf: &[u8], range: Range<usize>, mut f: impl FnMut(&Chain)) {
    let end = range.end.min(buf.len());
    let hay = &buf[..end];
    let start = range.start.min(end);
    if end - start >= simd::MIN_LEN && simd::run(kernel, hay, start, &mut f) {
        return;
    }
    for_each_chain(buf, range, f);
}

/// Masks of one 64-byte block, bit `i` for byte `i`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Masks {
    /// ASCII digits.
    pub d: u64,
    /// Spaces.
    pub sp: u64,
    /// `-`.
    pub da: u64,
    /// `.`.
    pub dt: u64,
    /// Mask-character bytes ([`is_mask_byte`]).
    pub mk: u64,
    /// ASCII letters other than `x`/`X` ([`is_other_letter`]).
    pub ol: u64,
    /// Bytes of multi-byte separators: `C2`, `A0`, `E3`, `80`.
    pub multi: u64,
}

/// What the driver classifies every block into: the per-kind separator masks are taken
/// only where a long run needs them ([`simd::Classify::kinds`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Basic {
    /// ASCII digits.
    pub d: u64,
    /// One-byte separators of every kind (` `, `-`, `.`).
    pub sep: u64,
    /// Mask-character bytes.
    pub mk: u64,
    /// Letters other than `x`/`X`; only when `mk` is not 0 (else 0).
    pub ol: u64,
    /// Bytes of multi-byte separators.
    pub multi: u64,
}

impl Basic {
    /// The part of `m` a classifier's `basic` gives.
    pub fn of(m: &Masks) -> Basic {
        Basic { d: m.d, sep: m.sp | m.da | m.dt, mk: m.mk, ol: if m.mk == 0 { 0 } else { m.ol }, multi: m.multi }
    }
}

impl Masks {
    /// The scalar classifier: the definition the SIMD classifiers are tested against.
    pub fn scalar(block: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        for (i, &b) in block.iter().enumerate() {
            let bit = 1u64 << i;
            if is_digit(b) {
                m.d |= bit;
            }
            match b {
                b' ' => m.sp |= bit,
                b'-' => m.da |= bit,
                b'.' => m.dt |= bit,
                0xC2 | 0xA0 | 0xE3 | 0x80 => m.multi |= bit,
                _ => {}
            }
            if is_mask_byte(b) {
                m.mk |= bit;
            }
            if is_other_letter(b) {
                m.ol |= bit;
            }
        }
        m
    }
}

/// What the block before the current one left behind.
#[derive(Clone, Copy, Default)]
struct Carry {
    d: u64,
    mk: u64,
    /// Chain-member masks (digits plus linking separators): any kind, and per kind.
    any: u64,
    r_sp: u64,
    r_da: u64,
    r_dt: u64,
}

impl Carry {
    /// A carry from a block's masks alone (the block before it unknown): separators
    /// count as linking whatever their neighbours, so runs can only look longer.
    fn loose(m: &Basic) -> Carry {
        let any = m.d | m.sep | m.multi;
        Carry { d: m.d, mk: m.mk & !((m.ol << 1) | (m.ol >> 1)), any, r_sp: any, r_da: any, r_dt: any }
    }
}

/// Bit `i` set when bits `i-11..=i` of the 128-bit `prev:cur` are all set: a run of 12
/// ending at byte `i` of the current block.
#[inline(always)]
fn run12(cur: u64, prev: u64) -> u64 {
    let x = (u128::from(cur) << 64) | u128::from(prev);
    let t2 = x & (x << 1);
    let t4 = t2 & (t2 << 2);
    let t8 = t4 & (t4 << 4);
    let t12 = t8 & (t4 << 8);
    (t12 >> 64) as u64
}

/// Bits within 4 places of a set bit of `cur`, across the neighbouring blocks. (Written
/// with constant shifts of 128-bit pairs: a loop over the shift amounts was vectorised
/// byte by byte.)
#[inline(always)]
fn near4(cur: u64, prev: u64, next: u64) -> u64 {
    let left = (u128::from(cur) << 64) | u128::from(prev);
    let right = (u128::from(next) << 64) | u128::from(cur);
    let l = (left << 1) | (left << 2) | (left << 3) | (left << 4);
    let r = (right >> 1) | (right >> 2) | (right >> 3) | (right >> 4);
    ((l >> 64) as u64) | (r as u64)
}

/// Bit `i` set when a run of 4 digits ends at one of bytes `i-8..=i` (in `prev:cur`).
#[inline(always)]
fn four_digits_behind(cur: u64, prev: u64) -> u64 {
    let x = (u128::from(cur) << 64) | u128::from(prev);
    let d4 = x & (x << 1) & (x << 2) & (x << 3);
    let mut w = d4 | (d4 << 1);
    w |= w << 2;
    w |= w << 4;
    w |= d4 << 8;
    (w >> 64) as u64
}

/// Bytes of the current block where a chain [`needs_look`] accepts can be: the 12th
/// byte of a run of chain members of one separator kind with a 4-digit run ending in its
/// last 9 bytes (a 12-digit group, or a grouped PAN's 4-digit first group), or a paired
/// mask byte near a digit. Updates `carry` for the next block.
#[inline(always)]
fn fire_bits(cur: &Basic, next: &Basic, carry: &mut Carry, kinds: impl FnOnce() -> [u64; 3]) -> u64 {
    let both = ((cur.d << 1) | (carry.d >> 63)) & ((cur.d >> 1) | (next.d << 63));
    let any = cur.d | (cur.sep & both) | cur.multi;
    let mut fire = 0;
    let long = run12(any, carry.any);
    let (mut r_sp, mut r_da, mut r_dt) = (any, any, any);
    if long != 0 {
        let w = four_digits_behind(cur.d, carry.d);
        if long & w != 0 {
            // Rare: a long run of members; split it by separator kind.
            let [sp, da, dt] = kinds();
            r_sp = cur.d | (sp & both) | cur.multi;
            r_da = cur.d | (da & both);
            r_dt = cur.d | (dt & both);
            fire = (run12(r_sp, carry.r_sp) | run12(r_da, carry.r_da) | run12(r_dt, carry.r_dt)) & w;
        }
    }
    // Mask bytes not inside a word (neighbours across the block edge are not looked at:
    // the byte is kept, which can only fire more).
    let mk = cur.mk & !((cur.ol << 1) | (cur.ol >> 1));
    if mk != 0 {
        // Cheap first: is any mask byte paired inside the block (or near an edge, where
        // its pair may be in the neighbour)? A lone `x` in `x86_64` is not.
        const EDGES: u64 = 0xF000_0000_0000_000F;
        let local = (mk << 1) | (mk << 2) | (mk << 3) | (mk << 4) | (mk >> 1) | (mk >> 2) | (mk >> 3) | (mk >> 4);
        if mk & (local | EDGES) != 0 {
            fire |= mk & near4(mk, carry.mk, next.mk) & near4(cur.d, carry.d, next.d);
        }
    }
    // Where the kinds were not split, each kind's run is carried as the any-kind run: a
    // superset, which can only fire more.
    *carry = Carry { d: cur.d, mk, any, r_sp, r_da, r_dt };
    fire
}

/// The 64 bytes at `p` (all inside `hay`).
#[inline(always)]
fn block(hay: &[u8], p: usize) -> &[u8; 64] {
    hay[p..].first_chunk::<64>().expect("a whole block")
}

/// The 64 bytes before `p`, with bytes before `start` (outside the range) as zeros.
fn block_before(hay: &[u8], start: usize, p: usize) -> [u8; 64] {
    let mut out = [0u8; 64];
    let from = p.saturating_sub(64).max(start);
    out[64 - (p - from)..].copy_from_slice(&hay[from..p]);
    out
}

/// Walks chains from the sync point `from` (where the reference walk would be looking
/// for its next digit): every chain starting before `until`, and on through chain
/// members, so that it stops only where a chain ends on a non-member byte. Returns the
/// next sync point.
#[inline]
fn walk(hay: &[u8], from: usize, mut until: usize, chain: &mut Chain, f: &mut impl FnMut(&Chain)) -> usize {
    let mut i = from;
    loop {
        let Some(start) = next_digit(hay, i) else { return hay.len() };
        if start >= until {
            // No digit in [i, until): `until` is a sync point too.
            return i.max(until);
        }
        i = chain_at(hay, start, chain);
        f(chain);
        if i < hay.len() && is_member(hay[i]) {
            until = until.max(i + 1);
        }
    }
}

/// The start of the run of chain members `at` is in, going back no further than the sync
/// point `floor` (`at` itself when the byte before it is not a member). A non-member byte
/// is a sync point: no chain crosses it.
fn member_run_start(hay: &[u8], at: usize, floor: usize) -> usize {
    let mut from = at.max(floor);
    while from > floor && is_member(hay[from - 1]) {
        from -= 1;
    }
    from
}

/// Handles the first fire bit at `fpos`, with the reference walk in sync at `sync`;
/// returns the new sync point.
#[inline(never)]
fn handle(hay: &[u8], sync: usize, fpos: usize, chain: &mut Chain, f: &mut impl FnMut(&Chain)) -> usize {
    // Back to the start of the run of chain members around the fire (or to `sync`):
    // a non-member byte is a sync point, no chain crosses it.
    let from = member_run_start(hay, fpos.saturating_sub(4), sync);
    if is_member(hay[fpos]) {
        // A run of 12 members: skip it unless it holds 12 digits or a mask may follow.
        let mut end = from;
        let mut digits = 0;
        while end < hay.len() && is_member(hay[end]) {
            digits += usize::from(is_digit(hay[end]));
            end += 1;
        }
        if digits < MIN_DIGITS && !hay[end..hay.len().min(end + 3)].iter().copied().any(is_mask_byte) {
            return end;
        }
    }
    walk(hay, from, fpos + 5, chain, f)
}

/// The SIMD driver: classifies blocks with `C` and walks only where [`fire_bits`] says.
/// `hay.len() - start >= simd::MIN_LEN`.
///
/// # Safety
/// Must run inside a function compiled for `C`'s target feature, on a CPU that has it.
#[inline(always)]
unsafe fn drive<C: simd::Classify>(hay: &[u8], start: usize, f: &mut impl FnMut(&Chain)) {
    let end = hay.len();
    let mut chain = empty_chain();
    let mut sync = start;
    let mut p = start;
    let mut carry = Carry::default();
    // SAFETY: the caller runs `drive` only with `C`'s feature (below too).
    let mut cur = unsafe { C::basic(block(hay, p)) };
    while p + 128 <= end {
        // `black_box` makes the masks plain integers here: otherwise LLVM carries the
        // compare results (32 booleans per half) into the next iteration and rebuilds
        // the masks from the stack one byte at a time, which cost three quarters of the
        // kernel's time.
        // SAFETY: as above.
        let next = std::hint::black_box(unsafe { C::basic(block(hay, p + 64)) });
        // SAFETY: as above.
        let mut fire = fire_bits(&cur, &next, &mut carry, || unsafe { C::kinds(block(hay, p)) });
        loop {
            if sync > p {
                // Fires before the sync point are done with, except mask bytes in the
                // 4 bytes before it: a chain right after one may start at `sync`.
                fire &= (!0u64).checked_shl((sync.saturating_sub(4).max(p) - p) as u32).unwrap_or(0);
            }
            if fire == 0 {
                break;
            }
            let q = p + fire.trailing_zeros() as usize;
            fire &= fire - 1;
            if q >= sync {
                sync = handle(hay, sync, q, &mut chain, f);
            } else if !is_member(hay[q]) {
                sync = walk(hay, sync, q + 5, &mut chain, f);
            }
        }
        if sync >= p + 128 {
            // The walk went past the next block: start again just before the sync point
            // (mask bytes there still count).
            p = sync.saturating_sub(4).max(start);
            if p + 128 > end {
                break;
            }
            // SAFETY: as above.
            carry = Carry::loose(&unsafe { C::basic(&block_before(hay, start, p)) });
            // SAFETY: as above.
            cur = unsafe { C::basic(block(hay, p)) };
            continue;
        }
        p += 64;
        cur = next;
    }
    // The last block or two: the reference walk, from the start of the run of chain
    // members 3 bytes before the first unclassified byte (a sync point; a chain that ends
    // there may need a look for a mask after it).
    let from = member_run_start(hay, p.saturating_sub(3), sync);
    walk(hay, from, end, &mut chain, f);
}

// ---------------------------------------------------------------------------------------
// Base64 runs (the embedded-encoding pre-test, `scan::embedded`)

/// Whether `b` is in the base64 alphabets (`A-Z a-z 0-9 + / - _`).
#[inline]
pub fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Whether `s` holds a run of at least `min` (≥ 20) base64-alphabet bytes with both letter
/// cases. The SIMD classifiers mark alphabet bytes 64 at a time and a shift-and test finds
/// runs of 20; only those are measured byte by byte. Same answer as the scalar
/// `embedded::has_long_base64_run` (property-tested there).
pub fn has_base64_run(s: &[u8], min: usize) -> bool {
    static DETECTED: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
    has_base64_run_with(*DETECTED.get_or_init(Kernel::detect), s, min)
}

/// [`has_base64_run`] with a chosen kernel (`Scalar`: measure every run byte by byte).
pub fn has_base64_run_with(kernel: Kernel, s: &[u8], min: usize) -> bool {
    assert!(min >= 20, "runs shorter than 20 are not searched for");
    simd::base64_run(kernel, s, min).unwrap_or_else(|| base64_run_from(s, 0, min).0)
}

/// Whether the run of alphabet bytes around `i` (an alphabet byte) is long enough with
/// both cases; returns that and the run's end.
fn base64_run_at(s: &[u8], i: usize, min: usize) -> (bool, usize) {
    let mut start = i;
    while start > 0 && is_base64_byte(s[start - 1]) {
        start -= 1;
    }
    let mut end = i;
    while end < s.len() && is_base64_byte(s[end]) {
        end += 1;
    }
    let run = &s[start..end];
    (run.len() >= min && run.iter().any(u8::is_ascii_uppercase) && run.iter().any(u8::is_ascii_lowercase), end)
}

/// The scalar search from `i`: (found, where it stopped).
fn base64_run_from(s: &[u8], mut i: usize, min: usize) -> (bool, usize) {
    while i < s.len() {
        if is_base64_byte(s[i]) {
            let (ok, end) = base64_run_at(s, i, min);
            if ok {
                return (true, end);
            }
            i = end;
        }
        i += 1;
    }
    (false, s.len())
}

/// Bit `i` set when bits `i-19..=i` of `prev:cur` are all set.
#[inline(always)]
fn run20(cur: u64, prev: u64) -> u64 {
    let x = (u128::from(cur) << 64) | u128::from(prev);
    let t2 = x & (x << 1);
    let t4 = t2 & (t2 << 2);
    let t8 = t4 & (t4 << 4);
    let t16 = t8 & (t8 << 8);
    let t20 = t16 & (t4 << 16);
    (t20 >> 64) as u64
}

/// The SIMD driver of [`has_base64_run`].
///
/// # Safety
/// As for [`drive`].
#[inline(always)]
unsafe fn drive_base64<C: simd::Classify>(s: &[u8], min: usize) -> bool {
    let mut p = 0;
    let mut prev = 0u64;
    while p + 64 <= s.len() {
        // SAFETY: the caller runs this only with `C`'s feature.
        let a = unsafe { C::base64(block(s, p)) };
        let long = run20(a, prev);
        if long != 0 {
            let (ok, end) = base64_run_at(s, p + long.trailing_zeros() as usize, min);
            if ok {
                return true;
            }
            // Go on after the run (its end is a non-alphabet byte or the end of `s`).
            p = end + 1;
            prev = 0;
            continue;
        }
        prev = a;
        p += 64;
    }
    // The tail, from the start of the run it begins in.
    let mut from = p.min(s.len());
    while from > 0 && is_base64_byte(s[from - 1]) {
        from -= 1;
    }
    base64_run_from(s, from, min).0
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

    /// (span, sep, group count) of every chain a walk gives.
    type Seen = Vec<(Range<usize>, Sep, usize)>;

    fn reference(buf: &[u8], range: Range<usize>) -> (Seen, Seen) {
        let (mut all, mut looked) = (Vec::new(), Vec::new());
        for_each_chain(buf, range.clone(), |c| {
            all.push((c.span.clone(), c.sep, c.ngroups));
            if needs_look(buf, &range, c) {
                looked.push((c.span.clone(), c.sep, c.ngroups));
            }
        });
        (all, looked)
    }

    /// Checks `kernel` against the scalar walk on `buf[range]`: every chain it gives is
    /// one the reference gives, in order, and it gives every chain `needs_look` accepts.
    fn check_kernel(kernel: Kernel, buf: &[u8], range: Range<usize>) -> Result<(), TestCaseError> {
        let (all, looked) = reference(buf, range.clone());
        let (mut got, mut got_looked) = (Vec::new(), Vec::new());
        for_each_candidate_chain_with(kernel, buf, range.clone(), |c| {
            got.push((c.span.clone(), c.sep, c.ngroups));
            if needs_look(buf, &range, c) {
                got_looked.push((c.span.clone(), c.sep, c.ngroups));
            }
        });
        let mut it = all.iter();
        for g in &got {
            prop_assert!(
                it.any(|a| a == g),
                "{}: chain {:?} is not the reference's (or out of order)",
                kernel.name(),
                g
            );
        }
        prop_assert_eq!(got_looked, looked, "{}: chains needing a look differ", kernel.name());
        Ok(())
    }

    /// Bytes that matter to the kernel, weighted so that chains, separators of every
    /// kind, masks and multi-byte sequences meet often.
    fn kernel_byte() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => (b'0'..=b'9').prop_map(|b| vec![b]),
            2 => Just(vec![b' ']),
            1 => Just(vec![b'-']),
            1 => Just(vec![b'.']),
            1 => prop_oneof![Just(b'*'), Just(b'x'), Just(b'X'), Just(b'#')].prop_map(|b| vec![b]),
            1 => prop_oneof![
                Just("\u{a0}"), Just("\u{3000}"), Just("•"), Just("●"), Just("＊"), Just("あ"), Just("、")
            ].prop_map(|s| s.as_bytes().to_vec()),
            2 => prop_oneof![Just(b'a'), Just(b','), Just(b'\n'), Just(b'/'), Just(b':')].prop_map(|b| vec![b]),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ]
    }

    fn kernel_text(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(kernel_byte(), 0..max).prop_map(|v| v.concat())
    }

    /// What every classifier must give for `block`.
    fn expected(block: &[u8; 64]) -> (Basic, [u64; 3]) {
        let m = Masks::scalar(block);
        (Basic::of(&m), [m.sp, m.da, m.dt])
    }

    #[test]
    fn every_kernel_classifies_like_the_scalar_one() {
        let mut block = [0u8; 64];
        for b in 0..=255u8 {
            block.fill(b);
            for k in Kernel::available() {
                assert_eq!(simd::classify_with(k, &block), Some(expected(&block)), "{} on byte {b:#x}", k.name());
            }
        }
    }

    #[test]
    fn simd_finds_long_chains_and_masks_at_block_edges() {
        // A 16-digit run, grouped runs and masked numbers at every offset around the
        // block and range edges, in text with short numbers all around.
        let shapes: [&[u8]; 10] = [
            b"4111111111111111",
            b"/4111 111 111 111/",
            b"4111 111 111 111",
            b"4111.111111.11111",
            b"1 4111-111-111-111",
            b"4111 1111 1111 1111",
            b"4111-1111-1111-1111",
            b"411111******1111",
            b"xxxx-xxxx-xxxx-1234",
            "4111\u{3000}1111\u{3000}1111\u{3000}1111".as_bytes(),
        ];
        for shape in shapes {
            for at in 0..200 {
                let mut buf = b"12 ab 2024-10-22 1.2.3.4 ".repeat(12);
                buf.splice(at..at, shape.iter().copied());
                for k in Kernel::available() {
                    for range in [0..buf.len(), at.saturating_sub(3)..buf.len(), 0..(at + shape.len()).min(buf.len())] {
                        check_kernel(k, &buf, range).unwrap();
                    }
                }
            }
        }
    }

    #[test]
    fn simd_skips_text_without_candidates() {
        let buf = b"12 ab 2024-10-22 1.2.3.4 192.168.100.200 x64 0x1F (X11; Linux x86_64) ".repeat(100);
        for k in Kernel::available().into_iter().filter(|&k| k != Kernel::Scalar) {
            let mut n = 0;
            for_each_candidate_chain_with(k, &buf, 0..buf.len(), |_| n += 1);
            // Only the last block or two are walked whole.
            let mut all = 0;
            for_each_chain(&buf, 0..buf.len(), |_| all += 1);
            assert!(n * 20 < all, "{}: {n} of {all} chains handed on from text with no candidate", k.name());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn simd_kernels_give_the_reference_chains(buf in kernel_text(700), a in 0usize..800, b in 0usize..800) {
            let (lo, hi) = (a.min(b).min(buf.len()), a.max(b).min(buf.len()));
            for k in Kernel::available() {
                check_kernel(k, &buf, 0..buf.len())?;
                check_kernel(k, &buf, lo..hi)?;
            }
        }

        #[test]
        fn simd_kernels_on_arbitrary_bytes(buf in prop::collection::vec(any::<u8>(), 0..600), a in 0usize..600) {
            for k in Kernel::available() {
                check_kernel(k, &buf, a.min(buf.len())..buf.len())?;
            }
        }

        #[test]
        fn classifiers_agree_on_arbitrary_blocks(v in prop::collection::vec(kernel_byte(), 64)) {
            let bytes = v.concat();
            let block: &[u8; 64] = bytes.first_chunk().unwrap();
            for k in Kernel::available() {
                prop_assert_eq!(simd::classify_with(k, block), Some(expected(block)), "{}", k.name());
            }
        }
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
