//! Host directories a build step mounts or copies from, beside the layers:
//! cache mounts (`RUN --mount=type=cache`), which persist per id between
//! builds under `$ROOT/build-cache/mounts/`, and the private folders that
//! hold a step's inline files (`COPY <<EOF`) while it runs, in `tmp/`
//! under a maker-tagged name (a killed build's folder is a leftover that
//! `prune` removes).
use super::{io_err, BuildError, Result};
use crate::state::Store;
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const INLINE: &str = "build-inline";

/// The folder of cache mount `id` (made on first use, 0755 as Docker's):
/// named by the id's hash, so any id is a safe name.
pub fn cache_mount_dir(store: &Store, id: &str) -> Result<PathBuf> {
    if id.is_empty() {
        return Err(BuildError::Invalid("cache mount: an empty id".into()));
    }
    let parent = store.build_cache_dir().join("mounts");
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&parent).map_err(io_err(&parent))?;
    let dir = parent.join(&hex::encode(sha2::Sha256::digest(id.as_bytes()))[..32]);
    match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(dir),
        Err(e) => Err(io_err(&dir)(e)),
    }
}

/// A new private folder holding `files` (name -> content, `mode`: 0644 for
/// the context of a COPY of inline files, 0755 for a RUN heredoc script).
/// Names are single path components.
pub fn inline_dir(store: &Store, files: &BTreeMap<String, String>, mode: u32) -> Result<PathBuf> {
    if mode & !0o777 != 0 {
        return Err(BuildError::Invalid(format!("inline files: mode {mode:o} is not a permission mode")));
    }
    for name in files.keys() {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            return Err(BuildError::Invalid(format!("inline file name {name:?}: one path component expected")));
        }
    }
    let tmp = store.tmp_dir();
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&tmp).map_err(io_err(&tmp))?;
    let dir = tmp.join(crate::state::staging::tagged_name(INLINE));
    std::fs::DirBuilder::new().mode(0o755).create(&dir).map_err(io_err(&dir))?;
    let written = files.iter().try_for_each(|(name, data)| {
        let p = dir.join(name);
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&p).map_err(io_err(&p))?;
        std::io::Write::write_all(&mut f, data.as_bytes()).map_err(io_err(&p))
    });
    match written {
        Ok(()) => Ok(dir),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

/// Removes a folder `inline_dir` made (anything else is refused).
pub fn remove_inline_dir(store: &Store, dir: &Path) -> Result<()> {
    let ours = dir.parent() == Some(store.tmp_dir().as_path())
        && dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(INLINE));
    if !ours {
        return Err(BuildError::Invalid(format!("{}: not an inline-files folder of this store", dir.display())));
    }
    std::fs::remove_dir_all(dir).map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn cache_dirs_persist_and_inline_dirs_hold_files() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path()).unwrap();
        let a = cache_mount_dir(&s, "../../etc").unwrap();
        assert!(a.starts_with(s.build_cache_dir().join("mounts")));
        std::fs::write(a.join("kept"), "1").unwrap();
        assert_eq!(cache_mount_dir(&s, "../../etc").unwrap(), a);
        assert!(a.join("kept").exists());
        assert_ne!(cache_mount_dir(&s, "other").unwrap(), a);
        let files = BTreeMap::from([("EOF".to_string(), "hi\n".to_string())]);
        let d = inline_dir(&s, &files, 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("EOF")).unwrap(), "hi\n");
        assert_eq!(std::fs::metadata(d.join("EOF")).unwrap().permissions().mode() & 0o777, 0o644);
        assert!(remove_inline_dir(&s, t.path()).is_err());
        remove_inline_dir(&s, &d).unwrap();
        assert!(!d.exists());
        assert!(inline_dir(&s, &BTreeMap::from([("a/b".to_string(), String::new())]), 0o644).is_err());
        assert!(inline_dir(&s, &files, 0o4755).is_err());
    }
}
