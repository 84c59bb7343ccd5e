//! One record of the log: a line of one stream, with its time.
//!
//! `2026-11-30T07:04:01.123456789Z stdout F the line\n` — the time (UTC,
//! nine digits), the stream, `F` for a full line or `P` for a part of one
//! (the output stopped without a newline; the next part of that stream
//! continues it), then the bytes as the container wrote them, without the
//! newline (the CRI log format that Kubernetes and podman's k8s-file
//! keep). Nothing is escaped: a line holds any bytes but a newline, and
//! the newline ends the record, so what a container writes cannot forge
//! a record's time or stream.

use super::LogStream;

/// A record read back, borrowing the line it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// nanoseconds since the epoch
    pub time: i64,
    pub stream: LogStream,
    /// a part of a line: no newline after `content`
    pub partial: bool,
    pub content: &'a [u8],
}

/// The pieces of a chunk of output: each line (without its newline, full),
/// then what follows the last newline (a part, when not empty).
pub fn pieces(data: &[u8]) -> impl Iterator<Item = (&[u8], bool)> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.iter().position(|b| *b == b'\n') {
            Some(nl) => {
                let line = &rest[..nl];
                rest = &rest[nl + 1..];
                Some((line, false))
            }
            None => {
                let part = rest;
                rest = &[];
                Some((part, true))
            }
        }
    })
}

/// Appends one record to `out`; `time` as [`crate::rfc3339::format_nanos_fixed`]
/// writes it.
pub fn encode(out: &mut Vec<u8>, time: &str, stream: LogStream, partial: bool, content: &[u8]) {
    out.reserve(time.len() + content.len() + 11);
    out.extend_from_slice(time.as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(if partial { b" P " } else { b" F " });
    out.extend_from_slice(content);
    out.push(b'\n');
}

/// Parses a record's line (without its newline); None when it is not one.
pub fn parse(line: &[u8]) -> Option<Record<'_>> {
    let sp = line.iter().position(|b| *b == b' ')?;
    let raw = &line[..sp];
    // the writer's fixed width first; any RFC 3339 time is taken too
    let time = crate::rfc3339::parse_fixed_nanos(raw).or_else(|| std::str::from_utf8(raw).ok().and_then(crate::rfc3339::parse_nanos))?;
    let rest = &line[sp + 1..];
    let sp = rest.iter().position(|b| *b == b' ')?;
    let stream = LogStream::parse(&rest[..sp])?;
    let rest = &rest[sp + 1..];
    let partial = match rest.get(..2)? {
        b"F " => false,
        b"P " => true,
        _ => return None,
    };
    Some(Record { time, stream, partial, content: &rest[2..] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let t = crate::rfc3339::format_nanos_fixed(1_700_000_000_000_000_001);
        let mut out = Vec::new();
        for (piece, partial) in pieces(b"one\n\nthree F \x00\xff\nfour") {
            encode(&mut out, &t, LogStream::Stderr, partial, piece);
        }
        let lines: Vec<&[u8]> = out.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 4);
        let recs: Vec<Record> = lines.iter().map(|l| parse(l).unwrap()).collect();
        assert_eq!(recs[0], Record { time: 1_700_000_000_000_000_001, stream: LogStream::Stderr, partial: false, content: b"one" });
        assert_eq!(recs[1].content, b"");
        assert_eq!(recs[2].content, b"three F \x00\xff");
        assert_eq!((recs[3].content, recs[3].partial), (&b"four"[..], true));
    }

    #[test]
    fn not_records() {
        for bad in [&b""[..], b"hello world", b"2023-11-14T22:13:20.000000042Z stdin F x", b"2023-11-14T22:13:20.000000042Z stdout X x", b"2023-11-14T22:13:20.000000042Z stdout F"] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
