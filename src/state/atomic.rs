//! Atomic record writes: temp file in the same folder, fsync, rename,
//! fsync of the folder. A crash leaves either the old or the new record
//! (and the temp file, named after its writer: see `staging`).
//! Records are created mode 0600 (they may hold secrets: `-e`, credentials).
use super::{io_err, Result, StateError};
use serde::{de::DeserializeOwned, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub fn write(path: &Path, data: &[u8]) -> Result<()> {
    write_with(path, data, true)
}

/// Like `write`; with `durable` false the data is not fsynced: the rename
/// still makes the change atomic for every reader (used for the frequent
/// container state transitions, where a crash loses at most the newest
/// transition, which the next command recomputes from the process table).
pub fn write_with(path: &Path, data: &[u8], durable: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // the temp name says who writes it: a writer killed before the rename
    // leaves it, and the next repair removes it once the writer is gone
    let tmp = dir.join(super::staging::temp_record_name(&name));
    let res = (|| {
        // private from the start: no window in which the record is readable
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(super::PRIVATE_FILE_MODE)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(data).map_err(io_err(&tmp))?;
        if durable {
            f.sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
        if durable {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_json_with(path, value, true)
}

pub fn write_json_with<T: Serialize>(path: &Path, value: &T, durable: bool) -> Result<()> {
    let data = serde_json::to_vec_pretty(value)
        .map_err(|e| StateError::Invalid(format!("{}: {e}", path.display())))?;
    write_with(path, &data, durable)
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let data = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&data).map_err(|source| StateError::Corrupt { path: path.to_path_buf(), source })
}

/// A record that may be missing: None when it is, without a separate stat
/// before the read (`ps` reads two records per container).
pub fn read_json_if_exists<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    serde_json::from_slice(&data).map(Some).map_err(|source| StateError::Corrupt { path: path.to_path_buf(), source })
}
