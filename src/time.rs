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

/// RFC 3339 UTC timestamp with nanoseconds of a file time (`st_mtime`, `st_mtime_nsec`),
/// e.g. `2026-11-23T10:00:00.123456789Z`; times before 1970 are written as such.
pub fn rfc3339_nanos(secs: i64, nanos: i64) -> String {
    let secs = secs + nanos.div_euclid(1_000_000_000);
    let nanos = nanos.rem_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Day count since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix time of an RFC 3339 UTC timestamp as [`rfc3339`] writes it
/// (`2026-11-23T10:00:00Z`); `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    u64::try_from(days * 86_400 + i64::from(h * 3600 + mi * 60 + se)).ok()
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
    fn nanosecond_times() {
        assert_eq!(rfc3339_nanos(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339_nanos(1_795_392_000 + 3_723, 123_456_789), "2026-11-23T01:02:03.123456789Z");
        assert_eq!(rfc3339_nanos(-1, 500_000_000), "1969-12-31T23:59:59.500000000Z");
        assert_eq!(rfc3339_nanos(10, 1_000_000_001), "1970-01-01T00:00:11.000000001Z");
    }

    #[test]
    fn parse_round_trips() {
        for t in [0, 951_782_400, 1_795_392_000 + 3_723, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(parse_rfc3339("2026-11-23 01:02:03Z"), None);
        assert_eq!(parse_rfc3339("2026-13-23T01:02:03Z"), None);
        assert_eq!(parse_rfc3339(""), None);
    }
}
