//! Masked and truncated PANs (detection.md §4.6): `411111******1111`,
//! `4111 11** **** 1111`, `1234-56xx-xxxx-7890`, `xxxx-xxxx-xxxx-1234`,
//! `************0005`. Informational (class `masked_pan`): PCI DSS 3.4.1 allows showing
//! the BIN and last four, but 3.5.1 warns that truncated and hashed copies of one PAN
//! together can rebuild it, so an assessor wants to know where they are.

use std::ops::Range;

/// A masked PAN as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masked {
    /// Bytes of the whole masked number.
    pub span: Range<usize>,
    /// Visible leading digits (0, or 4–8).
    pub lead: Vec<u8>,
    /// The visible last four digits.
    pub last4: [u8; 4],
    /// Total digit positions (visible and masked).
    pub len: usize,
}

/// Width of a mask character at `i`: `*`, `x`, `X`, `#`, `•`, `●`, `＊`.
pub fn mask_width(buf: &[u8], i: usize) -> usize {
    match buf.get(i) {
        Some(b'*' | b'x' | b'X' | b'#') => 1,
        Some(0xE2) if buf[i..].starts_with("•".as_bytes()) || buf[i..].starts_with("●".as_bytes()) => 3,
        Some(0xEF) if buf[i..].starts_with("＊".as_bytes()) => 3,
        _ => 0,
    }
}

fn is_sep(b: Option<&u8>) -> bool {
    matches!(b, Some(b' ' | b'-'))
}

/// Parses a masked PAN starting exactly at `start` (a digit or a mask character).
pub fn parse_at(buf: &[u8], start: usize) -> Option<Masked> {
    if start > 0 && (buf[start - 1].is_ascii_alphanumeric() || mask_width(buf, start - 1) > 0) {
        return None;
    }
    let mut i = start;
    let mut lead = Vec::new();
    // Visible leading digits, optionally grouped by single separators.
    loop {
        while buf.get(i).is_some_and(u8::is_ascii_digit) {
            lead.push(buf[i]);
            i += 1;
        }
        if is_sep(buf.get(i)) && buf.get(i + 1).is_some_and(u8::is_ascii_digit) && !lead.is_empty() {
            i += 1;
            continue;
        }
        break;
    }
    if !lead.is_empty() && is_sep(buf.get(i)) && mask_width(buf, i + 1) > 0 {
        i += 1;
    }
    let mut masks = 0;
    loop {
        let w = mask_width(buf, i);
        if w > 0 {
            masks += 1;
            i += w;
            continue;
        }
        if masks > 0
            && is_sep(buf.get(i))
            && (mask_width(buf, i + 1) > 0 || buf.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i += 1;
            continue;
        }
        break;
    }
    let tail = buf.get(i..i + 4)?;
    if !tail.iter().all(u8::is_ascii_digit) || buf.get(i + 4).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let ok_shape = if lead.is_empty() {
        (8..=15).contains(&masks)
    } else {
        (4..=8).contains(&lead.len()) && (2..=9).contains(&masks)
    };
    let len = lead.len() + masks + 4;
    if !ok_shape || !(12..=19).contains(&len) {
        return None;
    }
    let mut last4 = [0u8; 4];
    last4.copy_from_slice(tail);
    Some(Masked { span: start..i + 4, lead, last4, len })
}

/// Where a masked PAN that ends in the 4-digit group at `group_start` would begin:
/// walks back over mask characters and single separators.
pub fn start_before(buf: &[u8], group_start: usize) -> Option<usize> {
    let mut i = group_start;
    let mut saw_mask = false;
    loop {
        if i > 0 && matches!(buf[i - 1], b' ' | b'-') {
            i -= 1;
        }
        let w = [1usize, 3].into_iter().find(|&w| i >= w && mask_width(buf, i - w) == w);
        match w {
            Some(w) => {
                i -= w;
                saw_mask = true;
            }
            None => break,
        }
    }
    if !saw_mask {
        return None;
    }
    if i < buf.len() && !buf[i].is_ascii_digit() && mask_width(buf, i) == 0 {
        i += 1;
    }
    // Include visible leading digits before the mask run.
    while i > 0
        && (buf[i - 1].is_ascii_digit() || (matches!(buf[i - 1], b' ' | b'-') && i >= 2 && buf[i - 2].is_ascii_digit()))
    {
        i -= 1;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<(String, String, usize)> {
        let b = s.as_bytes();
        let start = b.iter().position(|&c| c.is_ascii_digit() || mask_width(b, 0) > 0).unwrap_or(0);
        parse_at(b, start)
            .map(|m| (String::from_utf8(m.lead).unwrap(), String::from_utf8(m.last4.to_vec()).unwrap(), m.len))
    }

    #[test]
    fn masked_forms() {
        assert_eq!(parse("411111******1111"), Some(("411111".into(), "1111".into(), 16)));
        assert_eq!(parse("4111 11** **** 1111"), Some(("411111".into(), "1111".into(), 16)));
        assert_eq!(parse("1234-56xx-xxxx-7890"), Some(("123456".into(), "7890".into(), 16)));
        assert_eq!(parse("xxxx-xxxx-xxxx-1234"), Some((String::new(), "1234".into(), 16)));
        assert_eq!(parse("************0005"), Some((String::new(), "0005".into(), 16)));
        assert_eq!(parse("510510XXXXXX5100"), Some(("510510".into(), "5100".into(), 16)));
    }

    #[test]
    fn not_masked() {
        assert_eq!(parse("box 1234"), None);
        assert_eq!(parse("**1234"), None);
        assert_eq!(parse("411111******11112"), None);
    }

    #[test]
    fn walk_back_from_last_group() {
        let s = b"card: xxxx-xxxx-xxxx-1234";
        assert_eq!(start_before(s, 21), Some(6));
        let s = b"4111 11** **** 1111";
        assert_eq!(start_before(s, 15), Some(0));
        assert_eq!(start_before(b"order 1234", 6), None);
    }
}
