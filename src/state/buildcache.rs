//! The build cache: `$ROOT/build-cache/<key>` holds the image id a build
//! step made (key: sha256 hex of parent image, step and content hash).
//! Entries are private records (0600), written atomically.
use super::{atomic, io_err, Result, StateError, Store};
use std::path::PathBuf;

fn valid_key(key: &str) -> bool {
    (16..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Store {
    pub fn build_cache_dir(&self) -> PathBuf {
        self.root().join("build-cache")
    }

    /// The image id cached under `key`, if any (not checked to exist).
    pub fn build_cache_get(&self, key: &str) -> Option<String> {
        if !valid_key(key) {
            return None;
        }
        let s = std::fs::read_to_string(self.build_cache_dir().join(key)).ok()?;
        let id = s.lines().next()?.trim();
        (!id.is_empty()).then(|| id.to_string())
    }

    /// Records `id` under `key`.
    pub fn build_cache_put(&self, key: &str, id: &str) -> Result<()> {
        if !valid_key(key) {
            return Err(StateError::Invalid(format!("build cache key {key:?} is not a hex digest")));
        }
        if id.is_empty() || id.contains(['/', '\n', '\0']) {
            return Err(StateError::Invalid(format!("build cache: bad image id {id:?}")));
        }
        let dir = self.build_cache_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        atomic::write_with(&dir.join(key), format!("{id}\n").as_bytes(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn put_get_private() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path().join("root")).unwrap();
        let key = "ab".repeat(32);
        assert_eq!(s.build_cache_get(&key), None);
        s.build_cache_put(&key, "img_0123456789").unwrap();
        assert_eq!(s.build_cache_get(&key).as_deref(), Some("img_0123456789"));
        let mode = std::fs::metadata(s.build_cache_dir().join(&key)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(s.build_cache_put("../x", "img_1").is_err());
        assert_eq!(s.build_cache_get("../../etc/passwd"), None);
        let root_mode = std::fs::metadata(s.root()).unwrap().permissions().mode();
        assert_eq!(root_mode & 0o777, 0o700);
    }
    #[test]
    fn loose_root_is_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        Store::open(&root).unwrap();
        assert_eq!(std::fs::metadata(&root).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
