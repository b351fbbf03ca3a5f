//! Context around a candidate: keywords (every language in `detectors/context/`), an
//! expiry date, a keyword-anchored security code and a cardholder name within the window
//! (default ±300 bytes, as Microsoft Purview's 300-character proximity).
//!
//! This runs only on candidates that already passed length, brand and check digit, so
//! its cost is per candidate, never per byte of input.

use std::ops::Range;
use std::sync::Arc;

use crate::detectors::DetectorSet;
use crate::detectors::spec::HintElement;

use super::expiry;

/// What the window around one candidate says.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Keywords found, one per (element, term), in order of appearance (at most 4 kept).
    pub keywords: Vec<(HintElement, Arc<str>)>,
    /// An expiry date is in the window.
    pub expiry: bool,
    /// A security code follows a security-code keyword.
    pub cvv: bool,
    /// A cardholder name (keyword or `SURNAME/GIVEN`) is in the window.
    pub name: bool,
}

impl Context {
    /// Any corroboration at all (keyword, expiry, security code, name).
    pub fn corroborates(&self) -> bool {
        !self.keywords.is_empty() || self.expiry || self.cvv || self.name
    }

    /// A keyword naming the card itself (not only an expiry or name).
    pub fn has_card_keyword(&self) -> bool {
        self.keywords.iter().any(|(e, _)| matches!(e, HintElement::Pan | HintElement::Cvv | HintElement::Track))
    }
}

const MAX_KEYWORD_SIGNALS: usize = 4;

fn is_upper(b: u8) -> bool {
    b.is_ascii_uppercase()
}

fn is_lower(b: u8) -> bool {
    b.is_ascii_lowercase()
}

/// ASCII keywords must not be glued to letters, except at a camelCase boundary.
fn keyword_bounded(buf: &[u8], m: &Range<usize>) -> bool {
    let left_ok = m.start == 0 || {
        let (p, c) = (buf[m.start - 1], buf[m.start]);
        !p.is_ascii_alphabetic() || (is_lower(p) && is_upper(c))
    };
    let right_ok = m.end >= buf.len() || {
        let (c, n) = (buf[m.end - 1], buf[m.end]);
        !n.is_ascii_alphabetic() || (is_lower(c) && is_upper(n))
    };
    left_ok && right_ok
}

/// Skips what may stand between a key and its value: spaces, quotes, `_`, `-`, `:`, `=`,
/// `>` (XML), and the full-width `：` and `＝`.
pub fn skip_value_separators(buf: &[u8], mut i: usize, end: usize) -> usize {
    let limit = (i + 16).min(end);
    while i < limit {
        match buf[i] {
            b' ' | b'\t' | b'"' | b'\'' | b'_' | b'-' | b':' | b'=' | b'>' => i += 1,
            0xEF if buf[i..end].starts_with("：".as_bytes()) || buf[i..end].starts_with("＝".as_bytes()) => i += 3,
            _ => break,
        }
    }
    i
}

/// A 3–4 digit security code right after a security-code keyword ending at `i`.
fn cvv_at(buf: &[u8], i: usize, end: usize, exclude: &Range<usize>) -> bool {
    let s = skip_value_separators(buf, i, end);
    let n = buf[s..end].iter().take_while(|b| b.is_ascii_digit()).count();
    (3..=4).contains(&n)
        && !(exclude.start < s + n && s < exclude.end)
        && !buf.get(s + n).is_some_and(u8::is_ascii_alphanumeric)
}

/// `DOE/JOHN`: track-1 style cardholder name (two capitalised words joined by `/`).
fn surname_given(buf: &[u8], window: &Range<usize>) -> bool {
    let w = &buf[window.clone()];
    memchr::memchr_iter(b'/', w).any(|p| {
        let before = w[..p].iter().rev().take_while(|&&b| is_upper(b)).count();
        let after = w[p + 1..].iter().take_while(|&&b| is_upper(b)).count();
        before >= 2 && after >= 2
    })
}

/// Gathers the context of a candidate at `exclude` within `window`.
pub fn gather(
    det: &DetectorSet,
    buf: &[u8],
    window: Range<usize>,
    exclude: &Range<usize>,
    current_year: u16,
) -> Context {
    let mut ctx = Context::default();
    let hay = &buf[window.clone()];
    for m in det.keywords.automaton.find_overlapping_iter(hay) {
        let abs = window.start + m.start()..window.start + m.end();
        let kw = &det.keywords.patterns[m.pattern().as_usize()];
        if kw.ascii && !keyword_bounded(buf, &abs) {
            continue;
        }
        match kw.element {
            HintElement::Cvv if !ctx.cvv => ctx.cvv = cvv_at(buf, abs.end, window.end, exclude),
            HintElement::Expiry | HintElement::ExpiryMonth | HintElement::ExpiryYear if !ctx.expiry => {
                ctx.expiry = expiry::anchored_at(buf, abs.end, window.end, current_year);
            }
            HintElement::Name => ctx.name = true,
            _ => {}
        }
        if ctx.keywords.len() < MAX_KEYWORD_SIGNALS
            && !ctx.keywords.iter().any(|(e, t)| *e == kw.element && *t == kw.term)
        {
            ctx.keywords.push((kw.element, kw.term.clone()));
        }
    }
    if !ctx.expiry {
        ctx.expiry = expiry::find_in(buf, window.clone(), exclude, current_year);
    }
    if !ctx.name {
        ctx.name = surname_given(buf, &window);
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(s: &str) -> Context {
        let det = DetectorSet::builtin().unwrap();
        let b = s.as_bytes();
        let pan = s.find("@@@").map_or(0..0, |p| p..p + 3);
        gather(&det, b, 0..b.len(), &pan, 2026)
    }

    #[test]
    fn camel_case_boundaries() {
        let b = b"cardNumber expression";
        assert!(keyword_bounded(b, &(4..10)));
        assert!(!keyword_bounded(b, &(11..14)));
    }

    #[test]
    fn cvv_needs_digits_after_keyword() {
        assert!(ctx("@@@ CVV: 123").cvv);
        assert!(ctx("@@@ \"cvc\":\"321\"").cvv);
        assert!(ctx("@@@ <SecurityCode>123</SecurityCode>").cvv);
        assert!(ctx("@@@ セキュリティコード：1234").cvv);
        assert!(!ctx("@@@ cvv: ***").cvv);
        assert!(!ctx("@@@ cvv: 12345").cvv);
        assert!(!ctx("@@@ cvv field").cvv);
    }

    #[test]
    fn expiry_after_keyword_accepts_bare_digits() {
        assert!(ctx("@@@ expire=2512").expiry);
        assert!(ctx("@@@ 有効期限 2025年12月").expiry);
        assert!(!ctx("@@@ order 2512").expiry);
    }

    #[test]
    fn names() {
        assert!(ctx("@@@ DOE/JOHN").name);
        assert!(ctx("@@@ cardholder: Taro").name);
        assert!(!ctx("@@@ and/or").name);
    }

    #[test]
    fn keywords_are_bounded() {
        assert!(!ctx("@@@ company expression").corroborates());
        assert!(ctx("@@@ card number").has_card_keyword());
    }
}
