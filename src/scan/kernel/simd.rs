//! SIMD classifiers: 64 bytes in, the [`Masks`] of [`Masks::scalar`] out. AVX-512BW, AVX2
//! and SSE2 on `x86_64`, NEON on aarch64; [`run`] picks one and runs the driver inside a function
//! compiled for its target feature, so the classifier and the driver inline into one
//! loop.
//!
//! Every `unsafe` block here is an intrinsic call or an unaligned load from a
//! `&[u8; 64]`; each says why it is sound. The property tests in `kernel` check each
//! classifier against [`Masks::scalar`] and each driver against the scalar walk.

// Unaligned loads (`loadu`, `vld1q`) take a pointer to the vector type but need no
// alignment.
#![allow(clippy::cast_ptr_alignment)]

use super::{Basic, Chain, Kernel, Masks};

/// Shortest range worth the SIMD driver (it needs two whole blocks ahead).
pub const MIN_LEN: usize = 128;

/// A block classifier.
pub trait Classify {
    /// The masks the driver needs for every block.
    ///
    /// # Safety
    /// The CPU must support the classifier's target feature.
    unsafe fn basic(block: &[u8; 64]) -> Basic;

    /// The separator masks by kind: space, `-`, `.`.
    ///
    /// # Safety
    /// As for [`Classify::basic`].
    unsafe fn kinds(block: &[u8; 64]) -> [u64; 3];

    /// Base64-alphabet bytes ([`super::is_base64_byte`]).
    ///
    /// # Safety
    /// As for [`Classify::basic`].
    unsafe fn base64(block: &[u8; 64]) -> u64;
}

/// [`super::has_base64_run`] with `kernel`, if this CPU runs it.
pub(super) fn base64_run(kernel: Kernel, s: &[u8], min: usize) -> Option<bool> {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512BW was detected on this CPU in the guard.
        Kernel::Avx512 if std::is_x86_feature_detected!("avx512bw") => Some(unsafe { x86::base64_avx512(s, min) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 was detected on this CPU in the guard.
        Kernel::Avx2 if std::is_x86_feature_detected!("avx2") => Some(unsafe { x86::base64_avx2(s, min) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of the `x86_64` baseline.
        Kernel::Sse2 => Some(unsafe { x86::base64_sse2(s, min) }),
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON was detected on this CPU in the guard.
        Kernel::Neon if std::arch::is_aarch64_feature_detected!("neon") => Some(unsafe { arm::base64_neon(s, min) }),
        _ => None,
    }
}

/// Runs the driver with `kernel` over `hay[start..]` if this CPU can; returns false (and
/// does nothing) otherwise.
pub(super) fn run(kernel: Kernel, hay: &[u8], start: usize, f: &mut impl FnMut(&Chain)) -> bool {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if std::is_x86_feature_detected!("avx512bw") => {
            // SAFETY: AVX-512BW (and so AVX-512F) was detected on this CPU just above.
            unsafe { x86::drive_avx512(hay, start, f) };
            true
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 if std::is_x86_feature_detected!("avx2") => {
            // SAFETY: AVX2 was detected on this CPU just above.
            unsafe { x86::drive_avx2(hay, start, f) };
            true
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => {
            // SAFETY: SSE2 is part of the x86_64 baseline; every x86_64 CPU has it.
            unsafe { x86::drive_sse2(hay, start, f) };
            true
        }
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon if std::arch::is_aarch64_feature_detected!("neon") => {
            // SAFETY: NEON was detected on this CPU just above.
            unsafe { arm::drive_neon(hay, start, f) };
            true
        }
        _ => false,
    }
}

/// What the classifier of `kernel` gives for one block (for tests); `None` if the CPU
/// lacks it.
pub fn classify_with(kernel: Kernel, block: &[u8; 64]) -> Option<(Basic, [u64; 3])> {
    match kernel {
        Kernel::Scalar => {
            let m = Masks::scalar(block);
            Some((Basic::of(&m), [m.sp, m.da, m.dt]))
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512BW was detected on this CPU in the guard.
        Kernel::Avx512 if std::is_x86_feature_detected!("avx512bw") => Some(unsafe { x86::classify_avx512(block) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 was detected on this CPU in the guard.
        Kernel::Avx2 if std::is_x86_feature_detected!("avx2") => Some(unsafe { x86::classify_avx2(block) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of the x86_64 baseline.
        Kernel::Sse2 => Some(unsafe { x86::classify_sse2(block) }),
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON was detected on this CPU in the guard.
        Kernel::Neon if std::arch::is_aarch64_feature_detected!("neon") => Some(unsafe { arm::classify_neon(block) }),
        _ => None,
    }
}

/// The entry points of one classifier, compiled for its target feature: the chain driver,
/// the base64-run search and one block (for tests). (`target_feature` cannot be generic,
/// so a macro writes the three per classifier.)
macro_rules! entry_points {
    ($classifier:ident, $feature:literal, $drive:ident, $base64:ident, $classify:ident) => {
        /// The chain driver compiled with the classifier's target feature.
        ///
        /// # Safety
        /// The CPU must support the feature.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $drive(hay: &[u8], start: usize, f: &mut impl FnMut(&Chain)) {
            // SAFETY: this function is compiled with the feature, which its caller guarantees.
            unsafe { drive::<$classifier>(hay, start, f) };
        }

        /// The base64-run search compiled with the classifier's target feature.
        ///
        /// # Safety
        /// The CPU must support the feature.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $base64(s: &[u8], min: usize) -> bool {
            // SAFETY: this function is compiled with the feature, which its caller guarantees.
            unsafe { drive_base64::<$classifier>(s, min) }
        }

        /// One block through the classifier (for tests).
        ///
        /// # Safety
        /// The CPU must support the feature.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $classify(block: &[u8; 64]) -> (Basic, [u64; 3]) {
            // SAFETY: this function is compiled with the feature, which its caller guarantees.
            unsafe { ($classifier::basic(block), $classifier::kinds(block)) }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m128i, __m256i, __m512i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_sub_epi8, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8, _mm256_sub_epi8, _mm512_cmpeq_epi8_mask, _mm512_cmple_epu8_mask,
        _mm512_loadu_si512, _mm512_movepi8_mask, _mm512_or_si512, _mm512_set1_epi8, _mm512_sub_epi8,
    };

    use super::super::{Basic, Chain, drive, drive_base64};
    use super::Classify;

    /// AVX-512BW: the whole block in one register; compares give the bit masks directly.
    pub(super) struct Avx512;
    /// AVX2: two 32-byte halves.
    pub(super) struct Avx2;
    /// SSE2: four 16-byte quarters.
    pub(super) struct Sse2;

    #[allow(clippy::cast_possible_wrap)]
    const fn c(b: u8) -> i8 {
        b as i8
    }

    impl Classify for Avx512 {
        #[inline(always)]
        unsafe fn basic(block: &[u8; 64]) -> Basic {
            // SAFETY: the caller guarantees AVX-512BW. `block` is 64 readable bytes, the one
            // load reads exactly them, and `loadu` needs no alignment.
            unsafe {
                let v = _mm512_loadu_si512(block.as_ptr().cast::<__m512i>());
                // A macro, not a closure: a closure is not compiled with the target feature.
                macro_rules! eq {
                    ($b:expr) => {
                        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c($b)))
                    };
                }
                let lower = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
                let d = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(c(b'0'))), _mm512_set1_epi8(9));
                let sep = eq!(b' ') | eq!(b'-') | eq!(b'.');
                let x = _mm512_cmpeq_epi8_mask(lower, _mm512_set1_epi8(c(b'x')));
                let mut mk = eq!(b'*') | eq!(b'#') | x;
                let high = _mm512_movepi8_mask(v);
                let mut multi = 0;
                if high != 0 {
                    multi = eq!(0xC2) | eq!(0xA0) | eq!(0xE3) | eq!(0x80);
                    mk |= eq!(0xE2) | eq!(0xEF);
                }
                let ol =
                    _mm512_cmple_epu8_mask(_mm512_sub_epi8(lower, _mm512_set1_epi8(c(b'a'))), _mm512_set1_epi8(25))
                        & !x;
                Basic { d, sep, mk, ol: if mk == 0 { 0 } else { ol }, multi }
            }
        }

        #[inline(always)]
        unsafe fn kinds(block: &[u8; 64]) -> [u64; 3] {
            // SAFETY: as in `basic`.
            unsafe {
                let v = _mm512_loadu_si512(block.as_ptr().cast::<__m512i>());
                [
                    _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c(b' '))),
                    _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c(b'-'))),
                    _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c(b'.'))),
                ]
            }
        }

        #[inline(always)]
        unsafe fn base64(block: &[u8; 64]) -> u64 {
            // SAFETY: as in `basic`.
            unsafe {
                let v = _mm512_loadu_si512(block.as_ptr().cast::<__m512i>());
                // A macro, not a closure: a closure is not compiled with the target feature.
                macro_rules! eq {
                    ($b:expr) => {
                        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c($b)))
                    };
                }
                let lower = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
                let letters =
                    _mm512_cmple_epu8_mask(_mm512_sub_epi8(lower, _mm512_set1_epi8(c(b'a'))), _mm512_set1_epi8(25));
                let digits = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(c(b'0'))), _mm512_set1_epi8(9));
                letters | digits | eq!(b'+') | eq!(b'/') | eq!(b'-') | eq!(b'_')
            }
        }
    }

    impl Classify for Avx2 {
        #[inline(always)]
        unsafe fn basic(block: &[u8; 64]) -> Basic {
            // SAFETY: the caller guarantees AVX2. `block` is 64 readable bytes, the two
            // loads read bytes 0..32 and 32..64, and `loadu` needs no alignment.
            unsafe {
                let halves = [
                    _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
                    _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
                ];
                // The expression `$e` over each half `$v`, compared bytes to bits.
                macro_rules! mask {
                    ($v:ident => $e:expr) => {{
                        let lo = {
                            let $v = halves[0];
                            _mm256_movemask_epi8($e)
                        };
                        let hi = {
                            let $v = halves[1];
                            _mm256_movemask_epi8($e)
                        };
                        u64::from(lo.cast_unsigned()) | (u64::from(hi.cast_unsigned()) << 32)
                    }};
                }
                macro_rules! eq {
                    ($v:expr, $b:expr) => {
                        _mm256_cmpeq_epi8($v, _mm256_set1_epi8(c($b)))
                    };
                }
                // `v - lo <= n` (unsigned), as a compare mask.
                macro_rules! within {
                    ($v:expr, $lo:expr, $n:expr) => {{
                        let x = _mm256_sub_epi8($v, _mm256_set1_epi8(c($lo)));
                        _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8($n)), x)
                    }};
                }
                let d = mask!(v => within!(v, b'0', 9));
                let sep = mask!(v => _mm256_or_si256(_mm256_or_si256(eq!(v, b' '), eq!(v, b'-')), eq!(v, b'.')));
                let mut mk = mask!(v => _mm256_or_si256(
                    _mm256_or_si256(eq!(v, b'*'), eq!(v, b'#')),
                    eq!(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), b'x'),
                ));
                // Bytes >= 0x80: only then look for the multi-byte separators and masks.
                let high = mask!(v => v);
                let mut multi = 0;
                if high != 0 {
                    multi = std::hint::black_box(mask!(v => _mm256_or_si256(
                        _mm256_or_si256(eq!(v, 0xC2), eq!(v, 0xA0)),
                        _mm256_or_si256(eq!(v, 0xE3), eq!(v, 0x80)),
                    )));
                    mk |= std::hint::black_box(mask!(v => _mm256_or_si256(eq!(v, 0xE2), eq!(v, 0xEF))));
                }
                let mut ol = 0;
                if mk != 0 {
                    let x = mask!(v => eq!(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), b'x'));
                    ol =
                        std::hint::black_box(mask!(v => within!(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), b'a', 25)))
                            & !x;
                }
                Basic { d, sep, mk, ol, multi }
            }
        }

        #[inline(always)]
        unsafe fn kinds(block: &[u8; 64]) -> [u64; 3] {
            // SAFETY: as in `basic`.
            unsafe {
                let halves = [
                    _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
                    _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
                ];
                // A macro, not a closure: a closure is not compiled with AVX2 and could
                // keep the intrinsics out of line.
                macro_rules! eq_mask {
                    ($b:expr) => {{
                        let lo = _mm256_movemask_epi8(_mm256_cmpeq_epi8(halves[0], _mm256_set1_epi8(c($b))));
                        let hi = _mm256_movemask_epi8(_mm256_cmpeq_epi8(halves[1], _mm256_set1_epi8(c($b))));
                        u64::from(lo.cast_unsigned()) | (u64::from(hi.cast_unsigned()) << 32)
                    }};
                }
                [eq_mask!(b' '), eq_mask!(b'-'), eq_mask!(b'.')]
            }
        }

        #[inline(always)]
        unsafe fn base64(block: &[u8; 64]) -> u64 {
            // SAFETY: as in `basic`.
            unsafe {
                let halves = [
                    _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
                    _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
                ];
                macro_rules! alphabet {
                    ($v:expr) => {{
                        let v = $v;
                        macro_rules! eq {
                            ($b:expr) => {
                                _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c($b)))
                            };
                        }
                        let l = _mm256_sub_epi8(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), _mm256_set1_epi8(c(b'a')));
                        let d = _mm256_sub_epi8(v, _mm256_set1_epi8(c(b'0')));
                        let letters = _mm256_cmpeq_epi8(_mm256_min_epu8(l, _mm256_set1_epi8(25)), l);
                        let digits = _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(9)), d);
                        let signs = _mm256_or_si256(
                            _mm256_or_si256(eq!(b'+'), eq!(b'/')),
                            _mm256_or_si256(eq!(b'-'), eq!(b'_')),
                        );
                        _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(letters, digits), signs))
                    }};
                }
                u64::from(alphabet!(halves[0]).cast_unsigned())
                    | (u64::from(alphabet!(halves[1]).cast_unsigned()) << 32)
            }
        }
    }

    impl Classify for Sse2 {
        #[inline(always)]
        unsafe fn basic(block: &[u8; 64]) -> Basic {
            // SAFETY: SSE2 is part of the x86_64 baseline. `block` is 64 readable bytes,
            // the four loads read bytes 0..16, 16..32, 32..48 and 48..64, and `loadu`
            // needs no alignment.
            unsafe {
                let q = [
                    _mm_loadu_si128(block.as_ptr().cast::<__m128i>()),
                    _mm_loadu_si128(block.as_ptr().add(16).cast::<__m128i>()),
                    _mm_loadu_si128(block.as_ptr().add(32).cast::<__m128i>()),
                    _mm_loadu_si128(block.as_ptr().add(48).cast::<__m128i>()),
                ];
                macro_rules! mask {
                    ($v:ident => $e:expr) => {{
                        let mut m = 0u64;
                        for (k, &$v) in q.iter().enumerate() {
                            m |= u64::from(_mm_movemask_epi8($e).cast_unsigned()) << (16 * k);
                        }
                        m
                    }};
                }
                macro_rules! eq {
                    ($v:expr, $b:expr) => {
                        _mm_cmpeq_epi8($v, _mm_set1_epi8(c($b)))
                    };
                }
                macro_rules! within {
                    ($v:expr, $lo:expr, $n:expr) => {{
                        let x = _mm_sub_epi8($v, _mm_set1_epi8(c($lo)));
                        _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8($n)), x)
                    }};
                }
                let d = mask!(v => within!(v, b'0', 9));
                let sep = mask!(v => _mm_or_si128(_mm_or_si128(eq!(v, b' '), eq!(v, b'-')), eq!(v, b'.')));
                let mut mk = mask!(v => _mm_or_si128(
                    _mm_or_si128(eq!(v, b'*'), eq!(v, b'#')),
                    eq!(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'x'),
                ));
                let high = mask!(v => v);
                let mut multi = 0;
                if high != 0 {
                    multi = std::hint::black_box(mask!(v => _mm_or_si128(
                        _mm_or_si128(eq!(v, 0xC2), eq!(v, 0xA0)),
                        _mm_or_si128(eq!(v, 0xE3), eq!(v, 0x80)),
                    )));
                    mk |= std::hint::black_box(mask!(v => _mm_or_si128(eq!(v, 0xE2), eq!(v, 0xEF))));
                }
                let mut ol = 0;
                if mk != 0 {
                    let x = mask!(v => eq!(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'x'));
                    ol = std::hint::black_box(mask!(v => within!(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 25))) & !x;
                }
                Basic { d, sep, mk, ol, multi }
            }
        }

        #[inline(always)]
        unsafe fn kinds(block: &[u8; 64]) -> [u64; 3] {
            // SAFETY: as in `basic`.
            unsafe {
                [b' ', b'-', b'.'].map(|b| {
                    let mut m = 0u64;
                    for k in 0..4 {
                        let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
                        m |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c(b)))).cast_unsigned())
                            << (16 * k);
                    }
                    m
                })
            }
        }

        #[inline(always)]
        unsafe fn base64(block: &[u8; 64]) -> u64 {
            // SAFETY: as in `basic`.
            unsafe {
                let mut m = 0u64;
                for k in 0..4 {
                    let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
                    let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c(b)));
                    let l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8(c(b'a')));
                    let d = _mm_sub_epi8(v, _mm_set1_epi8(c(b'0')));
                    let letters = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l);
                    let digits = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
                    let signs = _mm_or_si128(_mm_or_si128(eq(b'+'), eq(b'/')), _mm_or_si128(eq(b'-'), eq(b'_')));
                    let a = _mm_or_si128(_mm_or_si128(letters, digits), signs);
                    m |= u64::from(_mm_movemask_epi8(a).cast_unsigned()) << (16 * k);
                }
                m
            }
        }
    }

    entry_points!(Avx512, "avx512bw", drive_avx512, base64_avx512, classify_avx512);
    entry_points!(Avx2, "avx2", drive_avx2, base64_avx2, classify_avx2);
    entry_points!(Sse2, "sse2", drive_sse2, base64_sse2, classify_sse2);
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use std::arch::aarch64::{
        uint8x16_t, vandq_u8, vceqq_u8, vcleq_u8, vdupq_n_u8, vgetq_lane_u64, vld1q_u8, vorrq_u8, vpaddq_u8,
        vreinterpretq_u64_u8, vsubq_u8,
    };

    use super::super::{Basic, Chain, drive, drive_base64};
    use super::Classify;

    /// NEON: four 16-byte quarters.
    pub(super) struct Neon;

    /// Bit `i` of the result is the top bit of byte `i` of the four compare results
    /// (each byte 0x00 or 0xFF): AND with the bit's weight, then three pairwise adds.
    ///
    /// # Safety
    /// The CPU must support NEON.
    #[inline(always)]
    unsafe fn movemask(v: [uint8x16_t; 4]) -> u64 {
        const WEIGHTS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
        // SAFETY: NEON is guaranteed by the caller; `WEIGHTS` is 16 readable bytes.
        unsafe {
            let w = vld1q_u8(WEIGHTS.as_ptr());
            let s0 = vpaddq_u8(vandq_u8(v[0], w), vandq_u8(v[1], w));
            let s1 = vpaddq_u8(vandq_u8(v[2], w), vandq_u8(v[3], w));
            let s = vpaddq_u8(s0, s1);
            let s = vpaddq_u8(s, s);
            vgetq_lane_u64::<0>(vreinterpretq_u64_u8(s))
        }
    }

    impl Classify for Neon {
        #[inline(always)]
        unsafe fn basic(block: &[u8; 64]) -> Basic {
            // SAFETY: the caller guarantees NEON. `block` is 64 readable bytes and the
            // four loads read bytes 0..16, 16..32, 32..48 and 48..64 (no alignment needed).
            unsafe {
                let q = [
                    vld1q_u8(block.as_ptr()),
                    vld1q_u8(block.as_ptr().add(16)),
                    vld1q_u8(block.as_ptr().add(32)),
                    vld1q_u8(block.as_ptr().add(48)),
                ];
                macro_rules! mask {
                    ($v:ident => $e:expr) => {{
                        let r = [
                            {
                                let $v = q[0];
                                $e
                            },
                            {
                                let $v = q[1];
                                $e
                            },
                            {
                                let $v = q[2];
                                $e
                            },
                            {
                                let $v = q[3];
                                $e
                            },
                        ];
                        movemask(r)
                    }};
                }
                macro_rules! eq {
                    ($v:expr, $b:expr) => {
                        vceqq_u8($v, vdupq_n_u8($b))
                    };
                }
                let lower = |v: uint8x16_t| vorrq_u8(v, vdupq_n_u8(0x20));
                let d = mask!(v => vcleq_u8(vsubq_u8(v, vdupq_n_u8(b'0')), vdupq_n_u8(9)));
                let sep = mask!(v => vorrq_u8(vorrq_u8(eq!(v, b' '), eq!(v, b'-')), eq!(v, b'.')));
                let mut mk = mask!(v => vorrq_u8(vorrq_u8(eq!(v, b'*'), eq!(v, b'#')), eq!(lower(v), b'x')));
                let high = mask!(v => vcleq_u8(vdupq_n_u8(0x80), v));
                let mut multi = 0;
                if high != 0 {
                    multi = std::hint::black_box(mask!(v => vorrq_u8(
                        vorrq_u8(eq!(v, 0xC2), eq!(v, 0xA0)),
                        vorrq_u8(eq!(v, 0xE3), eq!(v, 0x80)),
                    )));
                    mk |= std::hint::black_box(mask!(v => vorrq_u8(eq!(v, 0xE2), eq!(v, 0xEF))));
                }
                let mut ol = 0;
                if mk != 0 {
                    let x = mask!(v => eq!(lower(v), b'x'));
                    ol = std::hint::black_box(
                        mask!(v => vcleq_u8(vsubq_u8(lower(v), vdupq_n_u8(b'a')), vdupq_n_u8(25))),
                    ) & !x;
                }
                Basic { d, sep, mk, ol, multi }
            }
        }

        #[inline(always)]
        unsafe fn kinds(block: &[u8; 64]) -> [u64; 3] {
            // SAFETY: as in `basic`.
            unsafe {
                let q = [
                    vld1q_u8(block.as_ptr()),
                    vld1q_u8(block.as_ptr().add(16)),
                    vld1q_u8(block.as_ptr().add(32)),
                    vld1q_u8(block.as_ptr().add(48)),
                ];
                [b' ', b'-', b'.'].map(|b| movemask(q.map(|v| vceqq_u8(v, vdupq_n_u8(b)))))
            }
        }

        #[inline(always)]
        unsafe fn base64(block: &[u8; 64]) -> u64 {
            // SAFETY: as in `basic`.
            unsafe {
                let q = [
                    vld1q_u8(block.as_ptr()),
                    vld1q_u8(block.as_ptr().add(16)),
                    vld1q_u8(block.as_ptr().add(32)),
                    vld1q_u8(block.as_ptr().add(48)),
                ];
                movemask(q.map(|v| {
                    let eq = |b: u8| vceqq_u8(v, vdupq_n_u8(b));
                    let letters = vcleq_u8(vsubq_u8(vorrq_u8(v, vdupq_n_u8(0x20)), vdupq_n_u8(b'a')), vdupq_n_u8(25));
                    let digits = vcleq_u8(vsubq_u8(v, vdupq_n_u8(b'0')), vdupq_n_u8(9));
                    vorrq_u8(
                        vorrq_u8(letters, digits),
                        vorrq_u8(vorrq_u8(eq(b'+'), eq(b'/')), vorrq_u8(eq(b'-'), eq(b'_'))),
                    )
                }))
            }
        }
    }

    entry_points!(Neon, "neon", drive_neon, base64_neon, classify_neon);
}
