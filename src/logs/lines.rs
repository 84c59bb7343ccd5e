//! Entries back into lines: the parts of a line (a container that wrote
//! it in several chunks) joined per stream, and entries as `logs` prints
//! them (each line behind its time with `--timestamps`, its attributes
//! with `--details`).
use super::{Entry, LogStream};

/// The most of one line kept while its parts come in; a longer line is
/// handed out in pieces of this size.
pub const MAX_JOINED: usize = 1024 * 1024;

/// A whole line of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub stream: LogStream,
    /// when its first part was written (nanoseconds since the epoch)
    pub time: i64,
    /// without the newline
    pub text: Vec<u8>,
}

/// Joins the parts of lines, per stream.
#[derive(Default)]
pub struct Joiner {
    open: [Option<Line>; 2],
}

impl Joiner {
    /// The line `e` finishes, if it does (or fills to [`MAX_JOINED`]).
    pub fn push(&mut self, e: Entry) -> Option<Line> {
        let slot = &mut self.open[e.stream.index()];
        let line = slot.get_or_insert_with(|| Line { stream: e.stream, time: e.time, text: Vec::new() });
        line.text.extend_from_slice(&e.content);
        if !e.partial || line.text.len() >= MAX_JOINED {
            return slot.take();
        }
        None
    }

    /// A line left unfinished (the writer is gone), stdout's first.
    pub fn flush(&mut self) -> Option<Line> {
        self.open.iter_mut().find_map(|s| s.take())
    }
}

/// Entries as `logs` writes them.
pub struct Renderer {
    timestamps: bool,
    /// `--details`: the attributes and a space before each line
    details: Option<Vec<u8>>,
    /// per stream: the next entry starts a line
    at_start: [bool; 2],
}

impl Renderer {
    /// `details`: the attributes (`k=v,…`; empty: none), or None without
    /// `--details`.
    pub fn new(timestamps: bool, details: Option<String>) -> Renderer {
        Renderer { timestamps, details: details.map(|d| d.into_bytes()), at_start: [true; 2] }
    }

    /// `e` as bytes for its stream's output: the prefixes when it starts a
    /// line, its content, the newline when it ends one.
    pub fn render(&mut self, e: &Entry, out: &mut Vec<u8>) {
        let start = &mut self.at_start[e.stream.index()];
        if *start {
            if self.timestamps {
                out.extend_from_slice(crate::rfc3339::format_nanos_fixed(e.time).as_bytes());
                out.push(b' ');
            }
            if let Some(d) = &self.details {
                out.extend_from_slice(d);
                out.push(b' ');
            }
        }
        out.extend_from_slice(&e.content);
        if !e.partial {
            out.push(b'\n');
        }
        *start = !e.partial;
    }
}

/// `--details` attributes as Docker writes them: `k=v` pairs sorted by
/// key, joined by commas, each part query-escaped.
pub fn details_attrs(attrs: &std::collections::BTreeMap<String, String>) -> String {
    attrs.iter().map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v))).collect::<Vec<_>>().join(",")
}

/// Go's url.QueryEscape.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(stream: LogStream, time: i64, partial: bool, c: &str) -> Entry {
        Entry { stream, time, partial, content: c.as_bytes().to_vec() }
    }

    #[test]
    fn parts_join_per_stream() {
        let mut j = Joiner::default();
        assert_eq!(j.push(e(LogStream::Stdout, 1, true, "ab")), None);
        let err = j.push(e(LogStream::Stderr, 2, false, "x")).unwrap();
        assert_eq!((err.stream, err.text.as_slice()), (LogStream::Stderr, &b"x"[..]));
        let out = j.push(e(LogStream::Stdout, 3, false, "cd")).unwrap();
        assert_eq!((out.time, out.text.as_slice()), (1, &b"abcd"[..]));
        assert_eq!(j.push(e(LogStream::Stdout, 4, true, "tail")), None);
        assert_eq!(j.flush().unwrap().text, b"tail");
        assert_eq!(j.flush(), None);
    }

    #[test]
    fn prefixes_only_where_a_line_starts() {
        let mut r = Renderer::new(true, Some("a=b".into()));
        let mut out = Vec::new();
        r.render(&e(LogStream::Stdout, 0, true, "ab"), &mut out);
        r.render(&e(LogStream::Stdout, 5, false, "cd"), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "1970-01-01T00:00:00.000000000Z a=b abcd\n");
        let mut plain = Renderer::new(false, Some(String::new()));
        let mut out = Vec::new();
        plain.render(&e(LogStream::Stderr, 0, false, "x"), &mut out);
        assert_eq!(out, b" x\n");
    }

    #[test]
    fn attrs_escaped_and_sorted() {
        let m: std::collections::BTreeMap<String, String> = [("b".to_string(), "x y".to_string()), ("a".to_string(), "1,2".to_string())].into();
        assert_eq!(details_attrs(&m), "a=1%2C2,b=x+y");
    }
}
