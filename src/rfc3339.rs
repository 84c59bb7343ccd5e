//! RFC 3339 times (UTC): as image configs carry them, to and from seconds
//! since the epoch, and as runc's logs and state print them.
use std::time::{SystemTime, UNIX_EPOCH};

/// RFC 3339 UTC time of `secs` since the epoch (whole seconds).
pub fn format(secs: f64) -> String {
    let secs = secs.max(0.0) as u64;
    format_time(UNIX_EPOCH + std::time::Duration::from_secs(secs), false)
}

/// `t` in RFC 3339, UTC: seconds (logrus) or with nanoseconds and the
/// trailing zeros trimmed (Go's RFC3339Nano, as runc's `created`).
pub fn format_time(t: SystemTime, nanos: bool) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, day) = civil_from_days(days);
    let base = format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    let frac = d.subsec_nanos();
    if nanos && frac != 0 {
        let f = format!("{frac:09}");
        format!("{base}.{}Z", f.trim_end_matches('0'))
    } else {
        format!("{base}Z")
    }
}

/// `nanos` since the epoch in RFC 3339, UTC, with all nine digits of the
/// fraction (Docker's RFC3339NanoFixed: what `logs --timestamps` prints,
/// and a fixed width a log record can be parsed by).
pub fn format_nanos_fixed(nanos: i64) -> String {
    let (secs, frac) = (nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000));
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, day) = civil_from_days(days);
    format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{frac:09}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Nanoseconds since the epoch of an RFC 3339 time, exact to the
/// nanosecond (`parse` gives seconds as a float, which is not).
pub fn parse_nanos(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[19] != b'.' {
        return parse(t).map(|s| s as i64 * 1_000_000_000);
    }
    let digits = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let whole = format!("{}{}", t.get(..19)?, t.get(20 + digits..)?);
    let secs = parse(&whole)? as i64;
    let frac: i64 = t.get(20..20 + digits)?.parse().ok()?;
    Some(secs * 1_000_000_000 + frac * 10i64.pow((9 - digits) as u32))
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Seconds since the epoch of an RFC 3339 time (`2024-05-01T10:00:00Z`,
/// fractions and `+HH:MM` offsets too), as image configs carry them.
pub fn parse(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        frac = format!("0.{}", t.get(start..i)?).parse().ok()?;
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        b'+' | b'-' if i + 6 == b.len() && b[i + 3] == b':' => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if b[i] == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(y, m, d);
    Some((days * 86400 + hh * 3600 + mm * 60 + ss - offset) as f64 + frac)
}

/// (year, month, day) → days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The nanoseconds of a time exactly as [`format_nanos_fixed`] writes it
/// (`2026-11-30T07:04:01.123456789Z`, 30 bytes), without allocating: what
/// a log reader parses once a record.
pub fn parse_fixed_nanos(b: &[u8]) -> Option<i64> {
    if b.len() != 30 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[29] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
    Some(secs * 1_000_000_000 + num(20..29)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times() {
        assert_eq!(super::format(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(super::format(1_700_000_000.5), "2023-11-14T22:13:20Z");
        assert_eq!(super::parse("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(super::parse("2023-11-14T22:13:20Z"), Some(1_700_000_000.0));
        assert_eq!(super::parse("2023-11-14T22:13:20.5Z"), Some(1_700_000_000.5));
        assert_eq!(super::parse("2023-11-15T00:13:20+02:00"), Some(1_700_000_000.0));
        assert_eq!(super::parse("2024-02-29T00:00:00Z").map(super::format).as_deref(), Some("2024-02-29T00:00:00Z"));
        for bad in ["", "2023-11-14", "2023-13-14T22:13:20Z", "2023-11-14T22:13:20", "2023-11-14T22:13:20Zjunk"] {
            assert_eq!(super::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn nanos() {
        let t = 1_700_000_000_000_000_042;
        assert_eq!(super::format_nanos_fixed(t), "2023-11-14T22:13:20.000000042Z");
        assert_eq!(super::format_nanos_fixed(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(super::parse_nanos("2023-11-14T22:13:20.000000042Z"), Some(t));
        assert_eq!(super::parse_fixed_nanos(b"2023-11-14T22:13:20.000000042Z"), Some(t));
        assert_eq!(super::parse_fixed_nanos(super::format_nanos_fixed(-1).as_bytes()), Some(-1));
        assert_eq!(super::parse_fixed_nanos(b"2023-11-14T22:13:20.00000004xZ"), None);
        assert_eq!(super::parse_fixed_nanos(b"2023-11-14T22:13:20.5Z"), None);
        assert_eq!(super::parse_nanos("2023-11-14T22:13:20.5Z"), Some(1_700_000_000_500_000_000));
        assert_eq!(super::parse_nanos("2023-11-15T00:13:20.25+02:00"), Some(1_700_000_000_250_000_000));
        assert_eq!(super::parse_nanos("2023-11-14T22:13:20Z"), Some(1_700_000_000_000_000_000));
        for bad in ["2023-11-14T22:13:20.Z", "2023-11-14T22:13:20.0000000001Z", "2023-11-14T22:13:20.5"] {
            assert_eq!(super::parse_nanos(bad), None, "{bad}");
        }
    }
}
