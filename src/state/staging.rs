//! Names of things a process makes under the store on its way to a
//! record (staging dirs in `tmp/`, trash being deleted, the temp file of
//! an atomic write) carry their maker: `KIND-RANDOM@PID.START`, where
//! START is the process's start time (field 22 of /proc/PID/stat), so a
//! reused pid is not taken for the maker. A kill -9 leaves such a name
//! behind; whoever finds it later removes it once its maker is gone
//! (`clean_dir`), and never touches one whose maker still runs.
use super::pid::process_start_time;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// How long an entry without a maker tag (written by an older bocker) is
/// left alone: long enough for any pull, commit or removal to finish.
pub const UNTAGGED_MAX_AGE: Duration = Duration::from_secs(3600);

/// `PID.START` of this process.
pub fn owner_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let pid = std::process::id() as i32;
        format!("{pid}.{}", process_start_time(pid).unwrap_or(0))
    })
}

/// A fresh name for `kind` made by this process: `KIND-RANDOM@PID.START`.
pub fn tagged_name(kind: &str) -> String {
    format!("{kind}-{}@{}", super::ids::random_hex(6), owner_tag())
}

/// Whether the maker named in `name` still runs: None for a name without
/// a tag.
pub fn maker_alive(name: &str) -> Option<bool> {
    let (_, tag) = name.rsplit_once('@')?;
    let mut parts = tag.split('.');
    let pid: i32 = parts.next()?.parse().ok()?;
    let start: u64 = parts.next()?.parse().ok()?;
    if pid <= 0 {
        return None;
    }
    Some(process_start_time(pid).is_some_and(|s| start == 0 || s == start))
}

/// True if `path` is a leftover: its maker is gone, or it has no tag and
/// is older than `untagged_max_age`.
pub fn is_leftover(path: &Path, untagged_max_age: Duration) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    match maker_alive(name) {
        Some(alive) => !alive,
        None => std::fs::symlink_metadata(path)
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > untagged_max_age),
    }
}

/// Removes the leftovers directly under `dir` (see `is_leftover`) whose
/// names pass `wanted`; returns what it removed. A missing `dir` is empty.
pub fn clean_dir(dir: &Path, untagged_max_age: Duration, wanted: &dyn Fn(&str) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = e.path();
        if !wanted(name) || !is_leftover(&path, untagged_max_age) {
            continue;
        }
        let gone = match e.file_type() {
            Ok(t) if t.is_dir() => crate::storage::remove_tree(&path),
            _ => std::fs::remove_file(&path),
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    Ok(removed)
}

/// The temp file of an atomic write of `name` by this process.
pub fn temp_record_name(name: &str) -> String {
    format!(".{name}.{}@{}.tmp", super::ids::random_hex(6), owner_tag())
}

/// Whether `name` is the temp file of an atomic write.
pub fn is_temp_record(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tags_name_their_maker() {
        let n = tagged_name("layer");
        assert!(n.starts_with("layer-") && n.contains('@'), "{n}");
        assert_eq!(maker_alive(&n), Some(true));
        assert_eq!(maker_alive(&temp_record_name("state.json")), Some(true));
        assert!(is_temp_record(&temp_record_name("state.json")));
        // a pid that cannot exist, and a live pid with another start time
        assert_eq!(maker_alive("layer-00@2147483646.5"), Some(false));
        let me = std::process::id();
        assert_eq!(maker_alive(&format!("x-1@{me}.1")), Some(false));
        assert_eq!(maker_alive("rm-ps_0011223344"), None);
    }
    #[test]
    fn clean_dir_keeps_live_and_young_entries() {
        let t = tempfile::tempdir().unwrap();
        let live = t.path().join(tagged_name("layer"));
        let dead = t.path().join("layer-00@2147483646.5");
        let untagged = t.path().join("init-abc");
        std::fs::create_dir_all(dead.join("diff")).unwrap();
        std::fs::create_dir(&live).unwrap();
        std::fs::write(&untagged, b"").unwrap();
        let removed = clean_dir(t.path(), UNTAGGED_MAX_AGE, &|_| true).unwrap();
        assert_eq!(removed, vec![dead.clone()]);
        assert!(live.exists() && untagged.exists() && !dead.exists());
        let removed = clean_dir(t.path(), Duration::ZERO, &|_| true).unwrap();
        assert_eq!(removed, vec![untagged]);
    }
}
