//! `--since`/`--until` values as Docker reads them: a Go duration before
//! now (`10m`, `1h30m`), an RFC 3339 time (a zone-less one is UTC here),
//! a date (`2026-11-30`), or Unix seconds (`1700000000.5`, what the API's
//! `since`/`until` parameters carry).

const NANOS: i64 = 1_000_000_000;

/// The time `value` names, in nanoseconds since the epoch; `now` is what a
/// duration counts back from.
pub fn parse(value: &str, now: i64) -> Result<i64, String> {
    let value = value.trim();
    if value != "0" {
        if let Some(d) = go_duration(value) {
            return Ok(now.saturating_sub(d));
        }
    }
    if value.contains('-') {
        return datetime(value).ok_or_else(|| format!("invalid time {value:?}: use a duration (10m), an RFC 3339 time or Unix seconds"));
    }
    unix(value).ok_or_else(|| format!("failed to parse value as time or duration: {value:?}"))
}

/// `1h30m`, `-5s`, `1.5s`, `300ms` → nanoseconds (Go's time.ParseDuration).
fn go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.bytes().take_while(|c| c.is_ascii_digit() || *c == b'.').count();
        let num: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.char_indices().find(|(_, c)| c.is_ascii_digit() || *c == '.').map(|(i, _)| i).unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += num * mult;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    Some(if neg { -(total as i64) } else { total as i64 })
}

/// `2026-11-30`, `2026-11-30T10`, `…T10:04`, `…T10:04:05[.frac][Z|±hh:mm]`.
fn datetime(s: &str) -> Option<i64> {
    let (date, time) = match s.find(['T', 't']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, "00:00:00Z"),
    };
    // the zone, if any, after the clock
    let clock_len = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(clock_len);
    let (hms, frac) = match clock.find('.') {
        Some(i) => (&clock[..i], &clock[i..]),
        None => (clock, ""),
    };
    let hms = match hms.matches(':').count() {
        0 => format!("{hms}:00:00"),
        1 => format!("{hms}:00"),
        _ => hms.to_string(),
    };
    let zone = if zone.is_empty() { "Z" } else { zone };
    crate::rfc3339::parse_nanos(&format!("{date}T{hms}{frac}{zone}"))
}

/// `1700000000` or `1700000000.123456789`.
fn unix(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|c| c.is_ascii_digit()) || frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { frac.parse::<i64>().ok()? * 10i64.pow(9 - frac.len() as u32) };
    secs.checked_mul(NANOS)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::parse;
    const NOW: i64 = 1_700_000_000 * super::NANOS;

    #[test]
    fn the_forms_docker_takes() {
        assert_eq!(parse("10m", NOW), Ok(NOW - 600 * super::NANOS));
        assert_eq!(parse("1h30m", NOW), Ok(NOW - 5400 * super::NANOS));
        assert_eq!(parse("1.5s", NOW), Ok(NOW - 1_500_000_000));
        assert_eq!(parse("0", NOW), Ok(0));
        assert_eq!(parse("1700000000", NOW), Ok(NOW));
        assert_eq!(parse("1700000000.000000001", NOW), Ok(NOW + 1));
        assert_eq!(parse("1699999999.5", NOW), Ok(NOW - 500_000_000));
        assert_eq!(parse("2023-11-14T22:13:20Z", NOW), Ok(NOW));
        assert_eq!(parse("2023-11-14T22:13:20", NOW), Ok(NOW));
        assert_eq!(parse("2023-11-14T22:13:20.25Z", NOW), Ok(NOW + 250_000_000));
        assert_eq!(parse("2023-11-15T00:13:20+02:00", NOW), Ok(NOW));
        assert_eq!(parse("2023-11-14T22:13", NOW), Ok(NOW - 20 * super::NANOS));
        assert_eq!(parse("2023-11-14", NOW), Ok(NOW - (22 * 3600 + 13 * 60 + 20) * super::NANOS));
        for bad in ["", "yesterday", "10x", "2023-13-14", "17e8", "1.2.3", "-"] {
            assert!(parse(bad, NOW).is_err(), "{bad}");
        }
    }
}
