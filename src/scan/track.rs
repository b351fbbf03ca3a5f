//! Magnetic-stripe track data (ISO/IEC 7813) and EMV tag 57, recognised around a PAN
//! candidate (detection.md §4.3). Track data is sensitive authentication data: PCI DSS
//! 3.3.1 forbids storing it after authorisation, so a PAN inside it is `critical`.
//!
//! - Track 1: `%B<PAN>^<NAME>^<YYMM|^><service code|^>…?` (sentinel `%` optional).
//! - Track 2: `;<PAN>=<YYMM><service code>…?` (sentinel `;` optional).
//! - EMV tag 57 (track 2 equivalent): `<PAN>D<YYMM><service code>…F`, also with the
//!   `57` tag and length bytes glued in front (`5713<PAN>D…`).

use std::ops::Range;

use crate::finding::Element;

/// Track data around a PAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// `Track1` or `Track2`.
    pub element: Element,
    /// Bytes of the whole track structure.
    pub span: Range<usize>,
    /// An expiry field is present.
    pub expiry: bool,
    /// A name field is present (track 1).
    pub name: bool,
    /// EMV tag 57 rather than a magnetic track.
    pub emv: bool,
}

fn digits_at(buf: &[u8], i: usize, n: usize) -> bool {
    buf.get(i..i + n).is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

fn month_ok(buf: &[u8], i: usize) -> bool {
    let m = u32::from(buf[i] - b'0') * 10 + u32::from(buf[i + 1] - b'0');
    (1..=12).contains(&m)
}

/// ISO 7813 service code: first digit 1, 2, 5, 6, 7 or 9; second 0, 2 or 4; third 0–7.
fn service_code_ok(s: &[u8]) -> bool {
    matches!(s[0], b'1' | b'2' | b'5' | b'6' | b'7' | b'9')
        && matches!(s[1], b'0' | b'2' | b'4')
        && (b'0'..=b'7').contains(&s[2])
}

fn not_alnum_before(buf: &[u8], i: usize) -> bool {
    i == 0 || !buf[i - 1].is_ascii_alphanumeric()
}

/// Discretionary data up to the end sentinel, bounded by the track's maximum length.
fn discretionary_end(buf: &[u8], mut i: usize, max: usize, digits_only: bool) -> usize {
    let limit = (i + max).min(buf.len());
    while i < limit {
        let b = buf[i];
        if b == b'?' {
            return i + 1;
        }
        let ok = if digits_only { b.is_ascii_digit() } else { (0x20..0x7f).contains(&b) && b != b'^' };
        if !ok {
            break;
        }
        i += 1;
    }
    i
}

/// The track structure a PAN at `pan` (byte range, spaces allowed for track 1) sits in.
pub fn around(buf: &[u8], pan: &Range<usize>) -> Option<Track> {
    match buf.get(pan.end)? {
        b'^' => track1(buf, pan),
        b'=' => track2(buf, pan, pan.start),
        b'D' | b'd' => tag57(buf, pan, pan.start),
        _ => None,
    }
}

fn track1(buf: &[u8], pan: &Range<usize>) -> Option<Track> {
    if pan.start == 0 || buf[pan.start - 1] != b'B' {
        return None;
    }
    let mut start = pan.start - 1;
    if start > 0 && buf[start - 1] == b'%' {
        start -= 1;
    }
    if !not_alnum_before(buf, start) {
        return None;
    }
    let name_start = pan.end + 1;
    let name_len = buf[name_start..].iter().take(27).take_while(|&&b| b != b'^' && (0x20..0x7f).contains(&b)).count();
    if !(2..=26).contains(&name_len) || buf.get(name_start + name_len) != Some(&b'^') {
        return None;
    }
    let mut i = name_start + name_len + 1;
    let expiry = if digits_at(buf, i, 4) && month_ok(buf, i + 2) {
        i += 4;
        true
    } else if buf.get(i) == Some(&b'^') {
        i += 1;
        false
    } else {
        return None;
    };
    if digits_at(buf, i, 3) {
        i += 3;
    } else if buf.get(i) == Some(&b'^') {
        i += 1;
    }
    let end = discretionary_end(buf, i, 79, false);
    Some(Track { element: Element::Track1, span: start..end, expiry, name: true, emv: false })
}

fn track2(buf: &[u8], pan: &Range<usize>, pan_start: usize) -> Option<Track> {
    let mut start = pan_start;
    if start > 0 && buf[start - 1] == b';' {
        start -= 1;
    }
    if !not_alnum_before(buf, start) {
        return None;
    }
    let i = pan.end + 1;
    if !(digits_at(buf, i, 7) && month_ok(buf, i + 2) && service_code_ok(&buf[i + 4..i + 7])) {
        return None;
    }
    let end = discretionary_end(buf, i + 7, 30, true);
    Some(Track { element: Element::Track2, span: start..end, expiry: true, name: false, emv: false })
}

/// Tag 57: `pan_start` is where the tag (or the PAN itself) begins.
pub fn tag57(buf: &[u8], pan: &Range<usize>, tag_start: usize) -> Option<Track> {
    if !not_alnum_before(buf, tag_start) {
        return None;
    }
    let i = pan.end + 1;
    if !(digits_at(buf, i, 7) && month_ok(buf, i + 2) && service_code_ok(&buf[i + 4..i + 7])) {
        return None;
    }
    let mut end = discretionary_end(buf, i + 7, 19, true);
    if matches!(buf.get(end), Some(b'F' | b'f')) {
        end += 1;
    }
    if buf.get(end).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some(Track { element: Element::Track2, span: tag_start..end, expiry: true, name: false, emv: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str, pan: &str) -> Option<Track> {
        let p = s.find(pan).unwrap();
        around(s.as_bytes(), &(p..p + pan.len()))
    }

    // Public test PAN 4111111111111111 (detection.md §2); the track layouts from §4.3.
    #[test]
    fn track1() {
        let t = find("%B4111111111111111^DOE/JOHN^2512101000000000000000000000000?", "4111111111111111").unwrap();
        assert_eq!(t.element, Element::Track1);
        assert!(t.expiry && t.name);
        assert_eq!(t.span.start, 0);
        assert!(find("B4111111111111111^DOE/JOHN^^^", "4111111111111111").is_some());
        assert!(find("AB4111111111111111^DOE/JOHN^2512", "4111111111111111").is_none());
        assert!(find("%B4111111111111111^^2512", "4111111111111111").is_none());
    }

    #[test]
    fn track2() {
        let t = find(";4111111111111111=25121010000000000000?", "4111111111111111").unwrap();
        assert_eq!((t.element, t.emv), (Element::Track2, false));
        assert!(find("4111111111111111=2512101", "4111111111111111").is_some());
        assert!(find("id=4111111111111111=99", "4111111111111111").is_none());
        assert!(find("4111111111111111=2513101", "4111111111111111").is_none());
        assert!(find("4111111111111111=2512801", "4111111111111111").is_none());
    }

    #[test]
    fn emv_tag57() {
        let t = find("4111111111111111D22122011143804400F", "4111111111111111").unwrap();
        assert!(t.emv);
        assert!(find("4111111111111111Dx", "4111111111111111").is_none());
        assert!(find("4111111111111111D2212201114380440099999999999999999999", "4111111111111111").is_none());
    }
}
