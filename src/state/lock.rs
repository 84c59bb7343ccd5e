//! Advisory file locks (flock) on files under $ROOT/locks.
use super::{io_err, Result};
use std::fs::File;
use std::path::Path;

/// Held until dropped.
pub struct Lock {
    _file: File,
}

impl Lock {
    pub fn exclusive(path: &Path) -> Result<Lock> {
        Self::take(path, libc::LOCK_EX).map(|l| l.expect("a blocking flock returns with the lock"))
    }

    /// Shared with other shared holders; excludes an exclusive one.
    pub fn shared(path: &Path) -> Result<Lock> {
        Self::take(path, libc::LOCK_SH).map(|l| l.expect("a blocking flock returns with the lock"))
    }

    /// Exclusive if nobody holds the lock right now, else None.
    pub fn try_exclusive(path: &Path) -> Result<Option<Lock>> {
        Self::take(path, libc::LOCK_EX | libc::LOCK_NB)
    }

    fn take(path: &Path, how: libc::c_int) -> Result<Option<Lock>> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        loop {
            let Err(e) = crate::sys::fs::flock(&file, how) else {
                return Ok(Some(Lock { _file: file }));
            };
            if e.kind() == std::io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(io_err(path)(e));
            }
        }
    }

    /// Whether the lock file at `path` is free right now (nobody holds it):
    /// None if there is no such file. Takes and drops the lock; never
    /// creates the file. How a record-less reservation tells a creator
    /// that still runs from one that died (flocks go with their process).
    pub fn is_free(path: &Path) -> Option<bool> {
        let file = std::fs::OpenOptions::new().write(true).open(path).ok()?;
        // released when `file` closes
        Some(crate::sys::fs::flock(&file, libc::LOCK_EX | libc::LOCK_NB).is_ok())
    }
}
