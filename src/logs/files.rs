//! Where a container's log lives: the file written now (`output.log`),
//! the rotated ones (`output.log.1` the newest of them), and the raw log
//! of a container from before records (`container.log`). All are in the
//! container's folder, which only bocker writes.
use std::path::{Path, PathBuf};

/// The most rotated files a reader looks for (Docker has no bound; a
/// bound keeps a reader's work finite whatever is in the folder).
pub const MAX_ROTATED: u32 = 1000;

#[derive(Debug, Clone)]
pub struct LogFiles {
    current: PathBuf,
}

/// The name of the log before records, the raw output.
const LEGACY_NAME: &str = "container.log";

impl LogFiles {
    /// The log whose file written now is `current`.
    pub fn at(current: &Path) -> LogFiles {
        LogFiles { current: current.to_path_buf() }
    }

    pub fn current(&self) -> &Path {
        &self.current
    }

    /// The `n`th rotated file (1: the newest).
    pub fn rotated(&self, n: u32) -> PathBuf {
        let mut s = self.current.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    pub fn legacy(&self) -> PathBuf {
        self.current.with_file_name(LEGACY_NAME)
    }

    /// Every file there is, newest first: the current one, the rotated
    /// ones in order (up to the first missing), the legacy one. A file
    /// named may be gone by the time it is opened (rotation goes on).
    pub fn newest_first(&self) -> Vec<(PathBuf, Format)> {
        let mut out = vec![(self.current.clone(), Format::Records)];
        for n in 1..=MAX_ROTATED {
            let p = self.rotated(n);
            if !p.exists() {
                break;
            }
            out.push((p, Format::Records));
        }
        out.push((self.legacy(), Format::Raw));
        out
    }
}

/// How a file's lines are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// one record a line ([`super::record`])
    Records,
    /// the raw output of a log from before records: stdout
    Raw,
}
