//! Reading a container's log: all of it, the last N lines, and following
//! it until the container exits.
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Which of the container's outputs a piece of the log came from (a
/// container with a terminal has only `Stdout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// What the monitor writes the container's output through: the one place
/// that knows the log's format on disk.
pub struct LogWriter {
    file: std::fs::File,
}

impl LogWriter {
    /// Opens (creates, 0600, appending) the log at `path`.
    pub fn open(path: &Path) -> std::io::Result<LogWriter> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        Ok(LogWriter { file })
    }

    /// Appends a chunk of output of `stream`.
    pub fn write(&mut self, _stream: LogStream, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data)
    }

    /// Makes what was written durable.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// Byte offset where the last `n` lines of `data` start.
pub fn tail_offset(data: &[u8], n: usize) -> usize {
    if n == 0 {
        return data.len();
    }
    let mut end = data.len();
    if end > 0 && data[end - 1] == b'\n' {
        end -= 1;
    }
    let mut seen = 0;
    for i in (0..end).rev() {
        if data[i] == b'\n' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    0
}

/// Writes the log to `out`; with `follow`, keeps going while `running()`.
pub fn copy(path: &Path, tail: Option<usize>, follow: bool, running: &dyn Fn() -> bool, out: &mut dyn Write) -> std::io::Result<()> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut data = Vec::new();
    f.read_to_end(&mut data)?;
    let start = tail.map(|n| tail_offset(&data, n)).unwrap_or(0);
    out.write_all(&data[start..])?;
    out.flush()?;
    if !follow {
        return Ok(());
    }
    let mut pos = data.len() as u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let alive = running();
        f.seek(SeekFrom::Start(pos))?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            pos += n as u64;
        }
        out.flush()?;
        if !alive {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Reads a log line by line as it grows: what `bocker.container.log_lines`
/// iterates. `poll` returns the complete lines written since the last call
/// (the last, unterminated one only once `flush_partial` says the writer is
/// gone).
pub struct LineReader {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
    pos: u64,
    partial: Vec<u8>,
    lines: std::collections::VecDeque<String>,
}

impl LineReader {
    /// Starts at the last `tail` lines (all of them when None).
    pub fn open(path: &Path, tail: Option<usize>) -> std::io::Result<LineReader> {
        let mut r = LineReader { path: path.to_path_buf(), file: None, pos: 0, partial: Vec::new(), lines: Default::default() };
        if let Some(n) = tail {
            match std::fs::read(path) {
                Ok(data) => r.pos = tail_offset(&data, n) as u64,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(r)
    }

    /// The next line already read or readable now (without its newline).
    pub fn next_line(&mut self, flush_partial: bool) -> std::io::Result<Option<String>> {
        if self.lines.is_empty() {
            self.fill()?;
        }
        if let Some(l) = self.lines.pop_front() {
            return Ok(Some(l));
        }
        if flush_partial && !self.partial.is_empty() {
            let l = String::from_utf8_lossy(&self.partial).into_owned();
            self.partial.clear();
            return Ok(Some(l));
        }
        Ok(None)
    }

    fn fill(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            match std::fs::File::open(&self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        let Some(f) = self.file.as_mut() else { return Ok(()) };
        f.seek(SeekFrom::Start(self.pos))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        self.pos += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        while let Some(nl) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            self.lines.push_back(text.trim_end_matches('\r').to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tail_lines() {
        let d = b"a\nb\nc\n";
        assert_eq!(&d[tail_offset(d, 1)..], b"c\n");
        assert_eq!(&d[tail_offset(d, 2)..], b"b\nc\n");
        assert_eq!(&d[tail_offset(d, 5)..], b"a\nb\nc\n");
        assert_eq!(&d[tail_offset(d, 0)..], b"");
        let e = b"a\nb";
        assert_eq!(&e[tail_offset(e, 1)..], b"b");
    }

    #[test]
    fn line_reader_follows_a_growing_file() {
        let dir = std::env::temp_dir().join(format!("bocker-logs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("log");
        std::fs::write(&p, b"one\ntw").unwrap();
        let mut r = LineReader::open(&p, None).unwrap();
        assert_eq!(r.next_line(false).unwrap().as_deref(), Some("one"));
        assert_eq!(r.next_line(false).unwrap(), None);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"o\nthree").unwrap();
        assert_eq!(r.next_line(false).unwrap().as_deref(), Some("two"));
        assert_eq!(r.next_line(false).unwrap(), None);
        assert_eq!(r.next_line(true).unwrap().as_deref(), Some("three"));
        let mut t = LineReader::open(&p, Some(1)).unwrap();
        assert_eq!(t.next_line(true).unwrap().as_deref(), Some("three"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
