//! Wall-clock helpers without a date crate: the civil date of a Unix time (Howard
//! Hinnant's `civil_from_days`), used for the report timestamp and the expiry-year window.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// (year, month, day) of a day count since 1970-01-01.
#[allow(clippy::cast_sign_loss)] // day and month are 1..=31 and 1..=12 by construction
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Day count since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`), the
/// inverse of [`civil_from_days`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Unix time of an RFC 3339 UTC timestamp as [`rfc3339`] writes it
/// (`2026-11-23T10:00:00Z`; fractional seconds are dropped). `None` for anything else,
/// including other offsets and times before 1970.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let rest = s.get(19..)?;
    let frac_end = rest.strip_prefix('.').map_or(Some(0), |r| {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then_some(n + 1)
    })?;
    if !matches!(&rest[frac_end..], "Z" | "z") {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) { t.parse().ok() } else { None }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    if civil_from_days(days) != (i64::from(year), month, day) {
        return None; // 31 April, 29 February of a common year, …
    }
    let secs = days * 86_400 + i64::from(hour * 3600 + min * 60 + sec);
    u64::try_from(secs).ok()
}

/// The current year.
pub fn current_year() -> u16 {
    let (y, _, _) = civil_from_days(i64::try_from(unix_now() / 86_400).unwrap_or(0));
    u16::try_from(y).unwrap_or(u16::MAX)
}

/// RFC 3339 UTC timestamp of a Unix time, e.g. `2026-11-23T10:00:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let s = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_392_000 + 3_723), "2026-11-23T01:02:03Z");
        assert!(current_year() >= 2026);
    }

    #[test]
    fn parses_what_it_writes() {
        for secs in [0, 951_782_400, 1_795_392_000 + 3_723, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        for days in [-1, 0, 59, 60, 365, 11_016, 20_000, 2_932_896] {
            assert_eq!(
                days_from_civil(civil_from_days(days).0, civil_from_days(days).1, civil_from_days(days).2),
                days
            );
        }
        assert_eq!(parse_rfc3339("2026-11-23T01:02:03.250Z"), Some(1_795_392_000 + 3_723));
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T01:02:03",
            "2026-11-23T01:02:03+09:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-11-23T01:02:03.Z",
            "+026-11-23T01:02:03Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
