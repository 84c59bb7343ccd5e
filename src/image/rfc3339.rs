//! RFC 3339 times as image configs carry them, to and from seconds since
//! the epoch (UTC).

/// RFC 3339 UTC time of `secs` since the epoch.
pub fn format(secs: f64) -> String {
    let s = secs.max(0.0) as i64;
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    // civil from days (Howard Hinnant)
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
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
    // days from civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + hh * 3600 + mm * 60 + ss - offset) as f64 + frac)
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
}
