//! The store's event log: `$ROOT/events.log`, one JSON line per event
//! (container start, die, restart, health_status, ...), appended by the
//! monitors under a lock; rotated to `events.log.1` past a size, so it
//! stays bounded (two files at most).
use super::{io_err, lock::Lock, Result, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Past this size the log is rotated (the older half is dropped).
pub const ROTATE_AT: u64 = 1 << 20;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Event {
    /// nanoseconds since the epoch (Docker's `timeNano`)
    pub time_nano: i64,
    /// "container"
    #[serde(rename = "type")]
    pub kind: String,
    /// "start", "die", "restart", "health_status: healthy", ...
    pub action: String,
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// image, name, labels, exitCode, ...
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

pub fn now_nano() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

impl Store {
    pub fn events_path(&self) -> PathBuf {
        self.root().join("events.log")
    }

    /// Appends one event (rotating the log when it grew past ROTATE_AT).
    pub fn append_event(&self, e: &Event) -> Result<()> {
        let path = self.events_path();
        let _lock = Lock::exclusive(&self.root().join(".events.lock"))?;
        if std::fs::metadata(&path).map(|m| m.len() >= ROTATE_AT).unwrap_or(false) {
            let old = path.with_extension("log.1");
            std::fs::rename(&path, &old).map_err(io_err(&path))?;
        }
        let mut line = serde_json::to_vec(e).map_err(|e| super::StateError::Invalid(e.to_string()))?;
        line.push(b'\n');
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(super::PRIVATE_FILE_MODE)
            .open(&path)
            .map_err(io_err(&path))?;
        f.write_all(&line).map_err(io_err(&path))
    }

    /// Complete lines of the log `path` from byte `offset`: the events
    /// and the offset after the last complete line (a line being written
    /// is left for the next read).
    pub fn read_events_from(&self, path: &std::path::Path, offset: u64) -> Result<(Vec<Event>, u64)> {
        use std::io::{Read, Seek};
        let Ok(mut f) = std::fs::File::open(path) else { return Ok((Vec::new(), offset)) };
        f.seek(std::io::SeekFrom::Start(offset)).map_err(io_err(path))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(io_err(path))?;
        let complete = buf.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
        let events = buf[..complete]
            .split(|b| *b == b'\n')
            .filter_map(|l| serde_json::from_slice::<Event>(l).ok())
            .collect();
        Ok((events, offset + complete as u64))
    }

    /// Events at or after `since_nano`, oldest first (the rotated file,
    /// then the current one); lines that do not parse are skipped.
    pub fn read_events(&self, since_nano: i64) -> Result<Vec<Event>> {
        let path = self.events_path();
        let mut out = Vec::new();
        for p in [path.with_extension("log.1"), path] {
            let Ok(f) = std::fs::File::open(&p) else { continue };
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(io_err(&p))?;
                if let Ok(e) = serde_json::from_str::<Event>(&line) {
                    if e.time_nano >= since_nano {
                        out.push(e);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_append_read_and_rotate() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path().join("root")).unwrap();
        let ev = |n: i64| Event { time_nano: n, kind: "container".into(), action: "start".into(), id: "ps_1".into(), name: "a".into(), attributes: BTreeMap::new() };
        s.append_event(&ev(1)).unwrap();
        s.append_event(&ev(2)).unwrap();
        assert_eq!(s.read_events(2).unwrap(), vec![ev(2)]);
        std::fs::write(s.events_path(), vec![b'\n'; ROTATE_AT as usize]).unwrap();
        s.append_event(&ev(3)).unwrap();
        assert!(std::fs::metadata(s.events_path()).unwrap().len() < 1000, "rotated");
        assert_eq!(s.read_events(0).unwrap(), vec![ev(3)]);
    }
}
