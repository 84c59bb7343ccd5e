//! What the monitor writes the container's output through: records
//! appended to `output.log`, rotated by size (`--log-opt max-size`,
//! `max-file`). The monitor is the only writer of a container's log, so
//! rotating needs no lock: readers hold their files open and find the
//! next one by name (see [`super::reader`]).
use super::config::Rotation;
use super::files::LogFiles;
use super::{record, LogConfig, LogStream};
use std::io::Write;
use std::path::Path;

pub struct LogWriter {
    /// None: the `none` driver, nothing kept
    sink: Option<Sink>,
    /// the records of one chunk, reused
    buf: Vec<u8>,
}

struct Sink {
    files: LogFiles,
    file: std::fs::File,
    /// bytes in `file`
    size: u64,
    rotation: Option<Rotation>,
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(path)
}

impl LogWriter {
    /// Opens (creates, 0600, appending) the log at `path`, growing without
    /// bound.
    pub fn open(path: &Path) -> std::io::Result<LogWriter> {
        LogWriter::open_with(path, &LogConfig::default())
    }

    /// Opens the log at `path` as the container's settings say.
    pub fn open_with(path: &Path, config: &LogConfig) -> std::io::Result<LogWriter> {
        if !config.keeps_log() {
            return Ok(LogWriter { sink: None, buf: Vec::new() });
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        let sink = Sink { files: LogFiles::at(path), file, size, rotation: config.rotation() };
        Ok(LogWriter { sink: Some(sink), buf: Vec::new() })
    }

    /// Appends a chunk of output of `stream`: a record for each line in
    /// it, and one for what follows its last newline.
    pub fn write(&mut self, stream: LogStream, data: &[u8]) -> std::io::Result<()> {
        let Some(sink) = self.sink.as_mut() else { return Ok(()) };
        let time = crate::rfc3339::format_nanos_fixed(super::now_nanos());
        self.buf.clear();
        // a failed rotation is reported, but the output is still written
        let mut failed = None;
        for (piece, partial) in record::pieces(data) {
            let start = self.buf.len();
            record::encode(&mut self.buf, &time, stream, partial, piece);
            if let Some(r) = sink.rotation {
                let pending = start as u64;
                let full = sink.size + self.buf.len() as u64;
                // rotate before the record that would overflow the file,
                // unless the file holds nothing yet (a record longer than
                // max-size still goes in, alone)
                if full > r.max_size && sink.size + pending > 0 {
                    let rec = self.buf.split_off(start);
                    sink.append(&self.buf)?;
                    if let Err(e) = sink.rotate(r.max_file) {
                        failed.get_or_insert(e);
                    }
                    self.buf = rec;
                }
            }
        }
        sink.append(&self.buf)?;
        failed.map_or(Ok(()), Err)
    }

    /// Makes what was written durable.
    pub fn sync(&self) -> std::io::Result<()> {
        match &self.sink {
            Some(s) => s.file.sync_data(),
            None => Ok(()),
        }
    }
}

impl Sink {
    fn append(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.file.write_all(data)?;
        self.size += data.len() as u64;
        Ok(())
    }

    /// `output.log.N-1` → `.N` … `output.log` → `.1`, the oldest beyond
    /// `max_file` replaced; with one file, the file starts over. A reader
    /// that holds the old file open reads it to its end first.
    fn rotate(&mut self, max_file: u32) -> std::io::Result<()> {
        let shifted = self.shift(max_file);
        // whatever the renames did, writing goes on at the current name
        // (a failed shift leaves the full file there: the next record
        // tries again)
        self.file = open_append(self.files.current())?;
        self.size = self.file.metadata()?.len();
        shifted
    }

    /// The renames of a rotation; a file already gone is no error.
    fn shift(&self, max_file: u32) -> std::io::Result<()> {
        let gone_ok = |r: std::io::Result<()>| match r {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        };
        let keep = max_file.saturating_sub(1).min(super::files::MAX_ROTATED);
        let current = self.files.current();
        if keep == 0 {
            return gone_ok(std::fs::remove_file(current));
        }
        for n in (1..keep).rev() {
            gone_ok(std::fs::rename(self.files.rotated(n), self.files.rotated(n + 1)))?;
        }
        gone_ok(std::fs::rename(current, self.files.rotated(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(p: &Path) -> Vec<String> {
        let data = std::fs::read(p).unwrap_or_default();
        data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| {
            let r = record::parse(l).unwrap();
            format!("{}:{}{}", r.stream.as_str(), String::from_utf8_lossy(r.content), if r.partial { "…" } else { "" })
        }).collect()
    }

    #[test]
    fn writes_records_and_rotates_by_size() {
        let dir = std::env::temp_dir().join(format!("bocker-logwriter-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("output.log");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(LogStream::Stdout, b"a\nb").unwrap();
        w.write(LogStream::Stderr, b"c\n").unwrap();
        assert_eq!(lines(&p), ["stdout:a", "stdout:b…", "stderr:c"]);
        std::fs::remove_file(&p).unwrap();

        // each record is 30 + 1 + 6 + 3 + len + 1 = 42 bytes for one byte
        let cfg = LogConfig { max_size: Some(100), max_file: Some(3), ..Default::default() };
        let mut w = LogWriter::open_with(&p, &cfg).unwrap();
        for c in [b"1\n", b"2\n", b"3\n", b"4\n", b"5\n", b"6\n", b"7\n"] {
            w.write(LogStream::Stdout, c).unwrap();
        }
        let files = LogFiles::at(&p);
        assert_eq!(lines(&files.rotated(2)), ["stdout:3", "stdout:4"]);
        assert_eq!(lines(&files.rotated(1)), ["stdout:5", "stdout:6"]);
        assert_eq!(lines(&p), ["stdout:7"]);
        assert!(!files.rotated(3).exists());
        // a chunk of many lines is split across files
        w.write(LogStream::Stdout, b"8\n9\n0\n").unwrap();
        assert_eq!(lines(&p), ["stdout:9", "stdout:0"]);
        assert_eq!(lines(&files.rotated(1)), ["stdout:7", "stdout:8"]);

        let none = LogConfig { driver: super::super::LogDriver::None, ..Default::default() };
        let q = dir.join("none.log");
        LogWriter::open_with(&q, &none).unwrap().write(LogStream::Stdout, b"x\n").unwrap();
        assert!(!q.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_file_starts_over() {
        let dir = std::env::temp_dir().join(format!("bocker-logwriter1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("output.log");
        let cfg = LogConfig { max_size: Some(90), ..Default::default() };
        let mut w = LogWriter::open_with(&p, &cfg).unwrap();
        for c in [b"1\n", b"2\n", b"3\n"] {
            w.write(LogStream::Stdout, c).unwrap();
        }
        assert_eq!(lines(&p), ["stdout:3"]);
        assert!(!LogFiles::at(&p).rotated(1).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
