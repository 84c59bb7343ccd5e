//! Reading a container's log back: its files oldest first, from the last
//! N lines or a time on, one or both streams, and on as the monitor
//! writes (and rotates) while a caller follows.
//!
//! Memory stays bounded whatever the log holds: lines are read in pieces
//! of at most [`MAX_LINE`] bytes, the last N lines are found by reading
//! the files backwards, and files are opened once (a file rotated away
//! while it is read is read to its end through the open descriptor).
use super::files::{Format, LogFiles};
use super::{record, LogStream};
use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

/// The longest piece of a line handed out at once (longer ones come in
/// parts, as if the container had written them in several chunks).
pub const MAX_LINE: usize = 256 * 1024;
const BLOCK: usize = 64 * 1024;
/// The most of a record's line read to find its time and stream when
/// reading backwards (the header is 30 + 1 + 6 + 3 bytes).
const HEADER_MAX: usize = 64;

/// What to read.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// nanoseconds since the epoch: records before it are left out
    pub since: Option<i64>,
    /// records after it are left out (and following stops there)
    pub until: Option<i64>,
    /// only the last N lines (of the streams and times asked for)
    pub tail: Option<usize>,
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for Query {
    fn default() -> Query {
        Query { since: None, until: None, tail: None, stdout: true, stderr: true }
    }
}

impl Query {
    fn wants(&self, stream: LogStream) -> bool {
        match stream {
            LogStream::Stdout => self.stdout,
            LogStream::Stderr => self.stderr,
        }
    }
}

/// One record read: a line of a stream, or a part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub stream: LogStream,
    /// nanoseconds since the epoch
    pub time: i64,
    /// no newline after `content`: the next entry of this stream continues it
    pub partial: bool,
    pub content: Vec<u8>,
}

/// An open file of the log and how far it was read.
struct Source {
    file: File,
    format: Format,
    id: (u64, u64),
    /// the file offset of `buf[head]`
    pos: u64,
    /// read from the file; `buf[head..]` not yet handed out
    buf: Vec<u8>,
    head: usize,
    /// the time given to the lines of a raw log (its last change)
    raw_time: i64,
}

enum Piece {
    /// a line, without its newline
    Line(Vec<u8>),
    /// the first MAX_LINE bytes of a longer line
    Cut(Vec<u8>),
    /// nothing more in the file now (an unfinished line may be pending)
    AtEnd,
}

impl Source {
    fn open(path: &std::path::Path, format: Format) -> std::io::Result<Option<Source>> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let m = file.metadata()?;
        if !m.is_file() {
            return Ok(None);
        }
        let raw_time = m.mtime().saturating_mul(1_000_000_000).saturating_add(m.mtime_nsec());
        Ok(Some(Source { file, format, id: (m.dev(), m.ino()), pos: 0, buf: Vec::new(), head: 0, raw_time }))
    }

    fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Bytes read but not handed out (an unfinished line at the end).
    fn pending(&self) -> usize {
        self.buf.len() - self.head
    }

    /// Hands out `n` pending bytes (and the newline after them, `skip`).
    fn take(&mut self, n: usize, skip: usize) -> Vec<u8> {
        let out = self.buf[self.head..self.head + n].to_vec();
        self.head += n + skip;
        self.pos += (n + skip) as u64;
        out
    }

    fn next_piece(&mut self) -> std::io::Result<Piece> {
        let mut scanned = self.head;
        loop {
            if let Some(nl) = self.buf[scanned..].iter().position(|b| *b == b'\n') {
                let n = scanned + nl - self.head;
                return Ok(Piece::Line(self.take(n, 1)));
            }
            if self.pending() >= MAX_LINE {
                return Ok(Piece::Cut(self.take(MAX_LINE, 0)));
            }
            // what was handed out goes (once a block, not once a line)
            if self.head > 0 {
                self.buf.drain(..self.head);
                self.head = 0;
            }
            scanned = self.buf.len();
            let old = self.buf.len();
            self.buf.resize(old + BLOCK.min(MAX_LINE - old), 0);
            let r = loop {
                match self.file.read_at(&mut self.buf[old..], self.pos + old as u64) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            };
            let n = match r {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            };
            self.buf.truncate(old + n);
            if n == 0 {
                return Ok(Piece::AtEnd);
            }
        }
    }

    /// The unfinished line at the end, handed out as it is.
    fn take_rest(&mut self) -> Vec<u8> {
        let rest = self.take(self.pending(), 0);
        self.buf.clear();
        self.head = 0;
        rest
    }
}

pub struct LogReader {
    files: LogFiles,
    query: Query,
    /// oldest first; the front one is being read
    sources: VecDeque<Source>,
    /// the time of the last record, for a line that is not one
    last_time: i64,
    /// a record after `until` was met
    done: bool,
}

impl LogReader {
    /// Opens the log's files (none yet is fine: a follower waits for them)
    /// and finds where the query starts.
    pub fn open(files: LogFiles, query: Query) -> std::io::Result<LogReader> {
        // newest first: a rotation between two opens moves a file to an
        // older name, so one may be seen twice (kept once), none missed
        let mut newest_first: Vec<Source> = Vec::new();
        for (path, format) in files.newest_first() {
            if let Some(s) = Source::open(&path, format)? {
                if !newest_first.iter().any(|o| o.id == s.id) {
                    newest_first.push(s);
                }
            }
        }
        if let Some(n) = query.tail {
            let (index, offset) = tail_start(&newest_first, n, &query)?;
            newest_first.truncate(index + 1);
            if let Some(s) = newest_first.last_mut() {
                s.pos = offset;
            }
        }
        let sources: VecDeque<Source> = newest_first.into_iter().rev().collect();
        Ok(LogReader { files, query, sources, last_time: 0, done: false })
    }

    /// The next entry there is now; None when all written so far was read
    /// (or `until` was passed). `writer_gone`: the monitor no longer
    /// writes, so an unfinished record at the end is taken as it is.
    pub fn next_entry(&mut self, writer_gone: bool) -> std::io::Result<Option<Entry>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let last = self.sources.len() == 1;
            let Some(src) = self.sources.front_mut() else { return Ok(None) };
            let format = src.format;
            let raw_time = src.raw_time;
            let (bytes, complete) = match src.next_piece()? {
                Piece::Line(l) => (l, true),
                Piece::Cut(l) => (l, false),
                Piece::AtEnd if src.pending() == 0 => {
                    if last {
                        return Ok(None);
                    }
                    self.sources.pop_front();
                    continue;
                }
                // a raw log has no records to wait for the end of
                Piece::AtEnd if !last || writer_gone || format == Format::Raw => (src.take_rest(), false),
                Piece::AtEnd => return Ok(None),
            };
            let entry = match format {
                Format::Raw => Entry { stream: LogStream::Stdout, time: raw_time, partial: !complete, content: bytes },
                Format::Records => match record::parse(&bytes).map(|r| (r.stream, r.time, r.partial, bytes.len() - r.content.len())) {
                    Some((stream, time, partial, header)) => {
                        let mut content = bytes;
                        content.drain(..header);
                        Entry { stream, time, partial: partial || !complete, content }
                    }
                    // not a record (a torn write, a cut line's rest): its bytes as stdout
                    None => Entry { stream: LogStream::Stdout, time: self.last_time, partial: !complete, content: bytes },
                },
            };
            self.last_time = entry.time;
            if let Some(u) = self.query.until {
                if entry.time > u {
                    self.done = true;
                    return Ok(None);
                }
            }
            if !self.query.wants(entry.stream) || self.query.since.is_some_and(|s| entry.time < s) {
                continue;
            }
            return Ok(Some(entry));
        }
    }

    /// Whether the reader has passed `until` (nothing more will come).
    pub fn finished(&self) -> bool {
        self.done
    }

    /// Once all was read: when the monitor rotated the file being read (or
    /// the first file appeared), queues the files that came after it.
    /// True when there is more to read.
    pub fn follow_rotation(&mut self) -> std::io::Result<bool> {
        let current = match std::fs::metadata(self.files.current()) {
            Ok(m) => (m.dev(), m.ino()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let reading = self.sources.back().filter(|s| s.format == Format::Records).map(|s| s.id);
        if reading == Some(current) {
            return Ok(false);
        }
        // the files newer than the one read, oldest first; all of them
        // when it is gone (the reader fell behind, or one file starts over)
        let mut newer: Vec<Source> = Vec::new();
        for (path, format) in self.files.newest_first() {
            if format != Format::Records {
                continue;
            }
            let Some(s) = Source::open(&path, format)? else { continue };
            if Some(s.id) == reading {
                break;
            }
            if !newer.iter().any(|o| o.id == s.id) {
                newer.push(s);
            }
        }
        let added = !newer.is_empty();
        self.sources.extend(newer.into_iter().rev());
        Ok(added)
    }
}

/// Where the last `n` lines of the log start: (index in `newest_first`,
/// offset in that file). Reads the files backwards: lines of streams not
/// asked for and after `until` do not count, and a line before `since`
/// ends the search.
fn tail_start(newest_first: &[Source], n: usize, q: &Query) -> std::io::Result<(usize, u64)> {
    let mut counted = 0usize;
    // a stream's newest line counts even when unfinished
    let mut seen = [false; 2];
    let mut header = [0u8; HEADER_MAX];
    for (index, src) in newest_first.iter().enumerate() {
        let end = src.len()?;
        let mut found = None;
        scan_back(&src.file, end, &mut |start, line_end, terminated| {
            let after = if terminated { line_end + 1 } else { line_end };
            let (stream, time, partial) = match src.format {
                Format::Raw => (LogStream::Stdout, Some(src.raw_time), !terminated),
                Format::Records => {
                    let len = ((line_end - start) as usize).min(HEADER_MAX);
                    src.file.read_exact_at(&mut header[..len], start)?;
                    // the header alone parses: the content is cut off, not needed
                    match record::parse(&header[..len]) {
                        Some(r) => (r.stream, Some(r.time), r.partial),
                        None => (LogStream::Stdout, None, !terminated),
                    }
                }
            };
            if let (Some(s), Some(t)) = (q.since, time) {
                if t < s {
                    found = Some(after);
                    return Ok(false);
                }
            }
            if !q.wants(stream) || q.until.is_some_and(|u| time.is_some_and(|t| t > u)) {
                return Ok(true);
            }
            let ends_line = !partial || !seen[stream.index()];
            seen[stream.index()] = true;
            if ends_line {
                counted += 1;
                if counted > n {
                    found = Some(after);
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        if let Some(offset) = found {
            return Ok((index, offset));
        }
    }
    Ok((newest_first.len().saturating_sub(1), 0))
}

/// Calls `f(start, end, terminated)` for each line of the first `end`
/// bytes of `file`, last line first, until it returns false.
fn scan_back(file: &File, end: u64, f: &mut dyn FnMut(u64, u64, bool) -> std::io::Result<bool>) -> std::io::Result<()> {
    if end == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, end - 1)?;
    let mut terminated = last[0] == b'\n';
    let mut line_end = if terminated { end - 1 } else { end };
    let mut cursor = line_end;
    let mut block = vec![0u8; BLOCK];
    while cursor > 0 {
        let len = (cursor as usize).min(BLOCK);
        let from = cursor - len as u64;
        file.read_exact_at(&mut block[..len], from)?;
        for i in (0..len).rev() {
            if block[i] == b'\n' {
                let nl = from + i as u64;
                if !f(nl + 1, line_end, terminated)? {
                    return Ok(());
                }
                line_end = nl;
                terminated = true;
            }
        }
        cursor = from;
    }
    f(0, line_end, terminated)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{LogConfig, LogWriter};
    use super::*;
    use std::path::Path;

    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn dir(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("bocker-logreader-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn read_all(p: &Path, q: Query) -> Vec<String> {
        let mut r = LogReader::open(LogFiles::at(p), q).unwrap();
        let mut out = Vec::new();
        while let Some(e) = r.next_entry(true).unwrap() {
            out.push(format!("{}:{}{}", e.stream.as_str(), String::from_utf8_lossy(&e.content), if e.partial { "…" } else { "" }));
        }
        out
    }

    #[test]
    fn streams_tail_and_partials() {
        let d = dir("tail");
        let p = d.0.join("output.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(LogStream::Stdout, b"o1\no2\n").unwrap();
        w.write(LogStream::Stderr, b"e1\n").unwrap();
        w.write(LogStream::Stdout, b"o3 part").unwrap();
        w.write(LogStream::Stderr, b"e2\n").unwrap();
        w.write(LogStream::Stdout, b" end\n").unwrap();
        let all = Query::default();
        assert_eq!(read_all(&p, all), ["stdout:o1", "stdout:o2", "stderr:e1", "stdout:o3 part…", "stderr:e2", "stdout: end"]);
        let err = Query { stdout: false, ..all };
        assert_eq!(read_all(&p, err), ["stderr:e1", "stderr:e2"]);
        // the last line of stdout is two parts: both come
        assert_eq!(read_all(&p, Query { tail: Some(1), stderr: false, ..all }), ["stdout:o3 part…", "stdout: end"]);
        assert_eq!(read_all(&p, Query { tail: Some(2), ..all }), ["stdout:o3 part…", "stderr:e2", "stdout: end"]);
        assert_eq!(read_all(&p, Query { tail: Some(1), stdout: false, ..all }), ["stderr:e2"]);
        assert_eq!(read_all(&p, Query { tail: Some(0), ..all }), Vec::<String>::new());
        assert_eq!(read_all(&p, Query { tail: Some(100), ..all }).len(), 6);
        // an unfinished last line counts as a line
        w.write(LogStream::Stdout, b"prompt> ").unwrap();
        assert_eq!(read_all(&p, Query { tail: Some(1), ..all }), ["stdout:prompt> …"]);
    }

    #[test]
    fn since_and_until() {
        let d = dir("since");
        let p = d.0.join("output.log");
        let line = |t: i64, s: &str| format!("{} stdout F {s}\n", crate::rfc3339::format_nanos_fixed(t));
        std::fs::write(&p, [line(10, "a"), line(20, "b"), line(30, "c"), line(40, "d")].concat()).unwrap();
        let q = Query::default();
        assert_eq!(read_all(&p, Query { since: Some(20), ..q }), ["stdout:b", "stdout:c", "stdout:d"]);
        assert_eq!(read_all(&p, Query { until: Some(30), ..q }), ["stdout:a", "stdout:b", "stdout:c"]);
        assert_eq!(read_all(&p, Query { since: Some(15), until: Some(25), ..q }), ["stdout:b"]);
        // tail counts inside the window
        assert_eq!(read_all(&p, Query { tail: Some(1), until: Some(25), ..q }), ["stdout:b"]);
        assert_eq!(read_all(&p, Query { tail: Some(5), since: Some(25), ..q }), ["stdout:c", "stdout:d"]);
    }

    #[test]
    fn rotated_files_and_the_legacy_log_read_in_order() {
        let d = dir("rot");
        let p = d.0.join("output.log");
        let files = LogFiles::at(&p);
        std::fs::write(files.legacy(), b"old one\nold two\n").unwrap();
        let cfg = LogConfig { max_size: Some(100), max_file: Some(3), ..Default::default() };
        let mut w = LogWriter::open_with(&p, &cfg).unwrap();
        for c in [b"1\n", b"2\n", b"3\n", b"4\n", b"5\n"] {
            w.write(LogStream::Stdout, c).unwrap();
        }
        let q = Query::default();
        assert_eq!(read_all(&p, q), ["stdout:old one", "stdout:old two", "stdout:1", "stdout:2", "stdout:3", "stdout:4", "stdout:5"]);
        assert_eq!(read_all(&p, Query { tail: Some(6), ..q }), ["stdout:old two", "stdout:1", "stdout:2", "stdout:3", "stdout:4", "stdout:5"]);
        assert_eq!(read_all(&p, Query { tail: Some(2), ..q }), ["stdout:4", "stdout:5"]);
        // a follower reads on across a rotation, and after two of them
        let mut r = LogReader::open(files.clone(), q).unwrap();
        let mut got = Vec::new();
        let drain = |r: &mut LogReader, got: &mut Vec<String>| {
            while let Some(e) = r.next_entry(false).unwrap() {
                got.push(String::from_utf8_lossy(&e.content).into_owned());
            }
        };
        drain(&mut r, &mut got);
        w.write(LogStream::Stdout, b"6\n7\n8\n").unwrap();
        drain(&mut r, &mut got);
        assert!(r.follow_rotation().unwrap());
        drain(&mut r, &mut got);
        assert!(!r.follow_rotation().unwrap());
        assert_eq!(got, ["old one", "old two", "1", "2", "3", "4", "5", "6", "7", "8"]);
    }

    #[test]
    fn long_lines_come_in_parts_and_torn_records_wait() {
        let d = dir("long");
        let p = d.0.join("output.log");
        let files = LogFiles::at(&p);
        let big = vec![b'x'; MAX_LINE + 10];
        std::fs::write(files.legacy(), &big).unwrap();
        let mut r = LogReader::open(files.clone(), Query::default()).unwrap();
        let a = r.next_entry(false).unwrap().unwrap();
        let b = r.next_entry(false).unwrap().unwrap();
        assert_eq!((a.content.len(), a.partial, b.content.len(), b.partial), (MAX_LINE, true, 10, true));
        std::fs::remove_file(files.legacy()).unwrap();
        // half a record: a follower waits for the rest
        let rec = format!("{} stderr F done\n", crate::rfc3339::format_nanos_fixed(5));
        std::fs::write(&p, &rec.as_bytes()[..20]).unwrap();
        let mut r = LogReader::open(files, Query::default()).unwrap();
        assert_eq!(r.next_entry(false).unwrap(), None);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::io::Write::write_all(&mut f, &rec.as_bytes()[20..]).unwrap();
        let e = r.next_entry(false).unwrap().unwrap();
        assert_eq!((e.stream, e.content.as_slice(), e.time), (LogStream::Stderr, &b"done"[..], 5));
    }
}
