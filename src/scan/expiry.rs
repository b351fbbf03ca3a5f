//! Expiry dates (detection.md §4.1): `MM/YY`, `MM-YYYY`, `YYYY/MM`, month names,
//! Japanese `2025年12月` and `12月/25年`, and — only right after an expiry keyword or in
//! an expiry column — the bare 4- and 6-digit forms `MMYY`, `YYMM`, `YYYYMM`, `MMYYYY`.
//!
//! A date is only an expiry when its year is plausible: within `year-15 ..= year+20` of
//! the scanner's current year (cards last at most ~10 years; old data is still data).

use std::ops::Range;

/// Which forms to accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Anywhere in a context window: only unambiguous forms.
    Free,
    /// Right after an expiry keyword, or as a whole expiry-column value: bare digits too.
    Anchored,
}

const NEN: &[u8] = "年".as_bytes();
const GATSU: &[u8] = "月".as_bytes();
const NICHI: &[u8] = "日".as_bytes();
const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTHS_LONG: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn digit(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_digit)
}

fn num(s: &[u8]) -> u32 {
    s.iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0'))
}

fn month_ok(m: u32) -> bool {
    (1..=12).contains(&m)
}

fn year_ok(y: u32, current: u16) -> bool {
    let y = if y < 100 { 2000 + y } else { y };
    let c = u32::from(current);
    y + 15 >= c && y <= c + 20
}

fn run_len(buf: &[u8], i: usize) -> usize {
    buf[i.min(buf.len())..].iter().take_while(|b| b.is_ascii_digit()).count()
}

fn skip_spaces(buf: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && buf[i] == b' ' {
        i += 1;
    }
    i
}

/// Whether `buf[window]` holds an expiry date outside `exclude`.
pub fn find_in(buf: &[u8], window: Range<usize>, exclude: &Range<usize>, current_year: u16) -> bool {
    let end = window.end.min(buf.len());
    let mut i = window.start;
    while i < end {
        let b = buf[i];
        let starts_token = i == 0 || !buf[i - 1].is_ascii_alphanumeric();
        if b.is_ascii_digit() && (i == 0 || !buf[i - 1].is_ascii_digit()) {
            let len = run_len(buf, i);
            if !(exclude.start < i + len && i < exclude.end) && at(buf, i, end, Anchor::Free, current_year).is_some() {
                return true;
            }
            i += len.max(1);
            continue;
        }
        if b.is_ascii_alphabetic()
            && starts_token
            && !(exclude.start <= i && i < exclude.end)
            && month_name_at(buf, i, end, current_year).is_some()
        {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether an expiry starts right at `i` (after optional separators), for the anchored
/// use after a keyword.
pub fn anchored_at(buf: &[u8], i: usize, end: usize, current_year: u16) -> bool {
    let end = end.min(buf.len());
    let i = super::context::skip_value_separators(buf, i, end);
    i < end
        && (at(buf, i, end, Anchor::Anchored, current_year).is_some()
            || month_name_at(buf, i, end, current_year).is_some())
}

/// Whether a whole field value (CSV cell, database value) is an expiry.
pub fn is_value(value: &[u8], current_year: u16) -> bool {
    let v = trim(value);
    !v.is_empty()
        && (at(v, 0, v.len(), Anchor::Anchored, current_year) == Some(v.len())
            || month_name_at(v, 0, v.len(), current_year) == Some(v.len()))
}

/// Whether a whole field value is a month (1–12) or a plausible year.
pub fn is_month_value(value: &[u8]) -> bool {
    let v = trim(value);
    (1..=2).contains(&v.len()) && v.iter().all(u8::is_ascii_digit) && month_ok(num(v))
}

/// Whether a whole field value is a plausible expiry year (`25` or `2025`).
pub fn is_year_value(value: &[u8], current_year: u16) -> bool {
    let v = trim(value);
    (v.len() == 2 || v.len() == 4) && v.iter().all(u8::is_ascii_digit) && year_ok(num(v), current_year)
}

fn trim(v: &[u8]) -> &[u8] {
    let v = v.trim_ascii();
    let v = v.strip_prefix(b"\"").unwrap_or(v);
    let v = v.strip_suffix(b"\"").unwrap_or(v);
    v.trim_ascii()
}

/// Tries every numeric form at `i` (a digit run start); returns the end of the match.
fn at(buf: &[u8], i: usize, end: usize, anchor: Anchor, cy: u16) -> Option<usize> {
    let n = run_len(&buf[..end], i);
    let left_ok = i == 0 || {
        let p = buf[i - 1];
        !(matches!(p, b'/' | b'-' | b'.') && i >= 2 && buf[i - 2].is_ascii_digit())
    };
    if !left_ok {
        return None;
    }
    // The end of a date must not continue as a longer date or number.
    let right_ok = |e: usize| {
        !(digit(buf.get(e))
            || buf.get(e).is_some_and(u8::is_ascii_alphabetic)
            || (matches!(buf.get(e), Some(b'/' | b'-' | b'.')) && digit(buf.get(e + 1))))
    };
    // MM/YY, MM-YY, MM/YYYY, MM-YYYY (and MM.YY when anchored), spaces allowed around.
    if n == 2 || (n == 1 && anchor == Anchor::Anchored) {
        let m = num(&buf[i..i + n]);
        let s = skip_spaces(buf, i + n, end);
        if s < end && month_ok(m) {
            let sep = buf[s];
            let sep_ok = matches!(sep, b'/' | b'-') || (sep == b'.' && anchor == Anchor::Anchored);
            let y = skip_spaces(buf, s + 1, end);
            let yl = run_len(&buf[..end], y);
            if sep_ok && (yl == 2 || yl == 4) && year_ok(num(&buf[y..y + yl]), cy) && right_ok(y + yl) {
                return Some(y + yl);
            }
            // MM月/YY年
            if let Some(e) = japanese_month_year(buf, i, n, end, cy) {
                return Some(e);
            }
        } else if let Some(e) = japanese_month_year(buf, i, n, end, cy) {
            return Some(e);
        }
    }
    if n == 4 || n == 2 {
        // YYYY/MM, YYYY-MM
        let y = num(&buf[i..i + n]);
        if n == 4 && year_ok(y, cy) && matches!(buf.get(i + 4), Some(b'/' | b'-')) {
            let m = i + 5;
            let ml = run_len(&buf[..end], m);
            if (ml == 2 || ml == 1 && anchor == Anchor::Anchored) && month_ok(num(&buf[m..m + ml])) && right_ok(m + ml)
            {
                return Some(m + ml);
            }
        }
        // YYYY年MM月, YY年MM月
        let s = skip_spaces(buf, i + n, end);
        if year_ok(y, cy) && buf[s..end].starts_with(NEN) {
            let m = skip_spaces(buf, s + NEN.len(), end);
            let ml = run_len(&buf[..end], m);
            if (1..=2).contains(&ml) && month_ok(num(&buf[m..m + ml])) {
                let g = skip_spaces(buf, m + ml, end);
                if buf[g..end].starts_with(GATSU) {
                    let after = g + GATSU.len();
                    // 2025年12月3日 is a calendar date, not an expiry.
                    let d = run_len(&buf[..end], after);
                    if !(d > 0 && buf[after + d..end].starts_with(NICHI)) {
                        return Some(after);
                    }
                }
            }
        }
    }
    if anchor == Anchor::Anchored && right_ok(i + n) {
        let d = &buf[i..i + n];
        match n {
            // MMYY or YYMM
            4 => {
                let (a, b) = (num(&d[..2]), num(&d[2..]));
                if (month_ok(a) && year_ok(b, cy)) || (year_ok(a, cy) && month_ok(b)) {
                    return Some(i + 4);
                }
            }
            // YYYYMM or MMYYYY
            6 => {
                let (y, m) = (num(&d[..4]), num(&d[4..]));
                let (m2, y2) = (num(&d[..2]), num(&d[2..]));
                if (y >= 2000 && year_ok(y, cy) && month_ok(m)) || (month_ok(m2) && y2 >= 2000 && year_ok(y2, cy)) {
                    return Some(i + 6);
                }
            }
            _ => {}
        }
    }
    None
}

fn japanese_month_year(buf: &[u8], i: usize, n: usize, end: usize, cy: u16) -> Option<usize> {
    let m = num(&buf[i..i + n]);
    if !month_ok(m) {
        return None;
    }
    let g = skip_spaces(buf, i + n, end);
    if !buf[g..end].starts_with(GATSU) {
        return None;
    }
    let mut y = skip_spaces(buf, g + GATSU.len(), end);
    if buf.get(y) == Some(&b'/') {
        y = skip_spaces(buf, y + 1, end);
    }
    let yl = run_len(&buf[..end], y);
    if (yl == 2 || yl == 4) && year_ok(num(&buf[y..y + yl]), cy) {
        let s = skip_spaces(buf, y + yl, end);
        if buf[s..end].starts_with(NEN) {
            return Some(s + NEN.len());
        }
    }
    None
}

/// `Dec 2027`, `december/27`, `Jan-30`, `jan2030`: a month name then a year.
fn month_name_at(buf: &[u8], i: usize, end: usize, cy: u16) -> Option<usize> {
    let word_len = buf[i..end].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let word = &buf[i..i + word_len];
    let is_month = (3..=9).contains(&word_len)
        && MONTHS.iter().zip(MONTHS_LONG).any(|(short, long)| {
            word.eq_ignore_ascii_case(short.as_bytes())
                || word.eq_ignore_ascii_case(long.as_bytes())
                || (*short == "sep" && word.eq_ignore_ascii_case(b"sept"))
        });
    if !is_month {
        return None;
    }
    let mut y = i + word_len;
    if matches!(buf.get(y), Some(b' ' | b'-' | b'/')) {
        y += 1;
    }
    let yl = run_len(&buf[..end], y);
    if (yl == 2 || yl == 4)
        && year_ok(num(&buf[y..y + yl]), cy)
        && !buf.get(y + yl).is_some_and(u8::is_ascii_alphanumeric)
    {
        return Some(y + yl);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CY: u16 = 2026;

    fn free(s: &str) -> bool {
        find_in(s.as_bytes(), 0..s.len(), &(0..0), CY)
    }

    #[test]
    fn free_forms() {
        for s in [
            "exp 12/25",
            "valid 01/2030 ok",
            "12-27",
            "有効期限：2025年12月",
            "有効期限 12月/25年",
            "有効期限 12月25年",
            "Expires Dec 2027",
            "jan-30",
            "2027/05",
        ] {
            assert!(free(s), "{s}");
        }
    }

    #[test]
    fn not_expiries() {
        for s in [
            "2024-10-22 11:11:30",
            "13/25",
            "12/25/2024",
            "1.12/25",
            "12/99",
            "注文日 2025年12月3日",
            "page 3 of 40",
            "decimal 10.25",
            "december",
            "v1.2/30",
        ] {
            assert!(!free(s), "{s}");
        }
    }

    #[test]
    fn anchored_bare_digits() {
        assert!(anchored_at(b": 2512", 0, 6, CY));
        assert!(anchored_at(b"=\"1225\"", 0, 7, CY));
        assert!(anchored_at(b" 202512", 0, 7, CY));
        assert!(!anchored_at(b" 9999", 0, 5, CY));
        assert!(!anchored_at(b" 25123", 0, 6, CY));
    }

    #[test]
    fn whole_values() {
        assert!(is_value(b"12/25", CY));
        assert!(is_value(b"2512", CY));
        assert!(is_value(b"201103", CY)); // 2011: the oldest year still in the window
        assert!(!is_value(b"201003", CY));
        assert!(is_value(b"203012", CY));
        assert!(!is_value(b"12/25 extra", CY));
        assert!(is_month_value(b"7"));
        assert!(!is_month_value(b"13"));
        assert!(is_year_value(b"2029", CY));
        assert!(!is_year_value(b"1999", CY));
    }

    #[test]
    fn excluded_region_is_ignored() {
        let s = b"x 12/25 y";
        assert!(!find_in(s, 0..s.len(), &(2..7), CY));
    }
}
