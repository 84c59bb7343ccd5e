//! A container's log: what the monitor writes (one record per line of
//! output, with its stream and time, rotated by size), and reading it back
//! (the last N lines, a time window, one or both streams, following it
//! while the container runs).
//!
//! The format on disk is known here only: [`record`] encodes and parses a
//! record, [`LogWriter`] appends and rotates, [`LogReader`] reads the files
//! in order. A log written before records existed (`container.log`, the
//! raw output) still reads, as stdout.
pub mod config;
pub mod files;
pub mod follow;
pub mod lines;
pub mod reader;
pub mod record;
pub mod timearg;
pub mod writer;

pub use config::{LogConfig, LogDriver};
pub use files::LogFiles;
pub use reader::{Entry, LogReader, Query};
pub use writer::LogWriter;

/// Which of the container's outputs a piece of the log came from (a
/// container with a terminal has only `Stdout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }

    pub fn parse(s: &[u8]) -> Option<LogStream> {
        match s {
            b"stdout" => Some(LogStream::Stdout),
            b"stderr" => Some(LogStream::Stderr),
            _ => None,
        }
    }

    /// 0 for stdout, 1 for stderr: an index into per-stream state.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Nanoseconds since the epoch, now.
pub fn now_nanos() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
