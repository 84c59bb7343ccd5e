//! Named and anonymous volumes: `$ROOT/volumes/<name>/_data` with a
//! `volume.json` record. A new volume is filled from the image the first
//! time a container mounts it (the `.fill` marker), as Docker does.
use crate::state::{atomic, io_err, StateError, Store};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, StateError>;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct VolumeRecord {
    pub name: String,
    pub created: f64,
    #[serde(default)]
    pub anonymous: bool,
    /// Where the data lives on the host (for `inspect`).
    #[serde(default)]
    pub mountpoint: String,
    /// labels given at create (a stack's volumes carry its project)
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Docker's rule for volume names.
pub fn valid_name(name: &str) -> bool {
    crate::state::ids::valid_name(name) && name.len() >= 2
}

impl Store {
    pub fn volumes_dir(&self) -> PathBuf {
        self.root().join("volumes")
    }
    pub fn volume_dir(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name)
    }
    pub fn volume_data(&self, name: &str) -> PathBuf {
        self.volume_dir(name).join("_data")
    }
}

/// Creates a volume; an existing one with that name is returned as is.
/// `name` None makes an anonymous volume with a random 64-hex name.
pub fn create(store: &Store, name: Option<&str>) -> Result<VolumeRecord> {
    create_labelled(store, name, Default::default())
}

/// `create` with labels on a new volume (an existing one keeps its own).
pub fn create_labelled(store: &Store, name: Option<&str>, labels: std::collections::BTreeMap<String, String>) -> Result<VolumeRecord> {
    let (name, anonymous) = match name {
        Some(n) if !valid_name(n) => {
            return Err(StateError::Invalid(format!(
                "invalid volume name '{n}': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )))
        }
        Some(n) => (n.to_string(), false),
        None => (crate::state::ids::random_hex(32), true),
    };
    let dir = store.volume_dir(&name);
    if let Ok(v) = get(store, &name) {
        return Ok(v);
    }
    std::fs::create_dir_all(store.volumes_dir()).map_err(io_err(&dir))?;
    // stage then rename: a volume is either complete or absent
    let stage = store.tmp_dir().join(crate::state::staging::tagged_name("vol"));
    let made = (|| {
        std::fs::create_dir_all(stage.join("_data")).map_err(io_err(&stage))?;
        std::fs::write(stage.join(".fill"), b"").map_err(io_err(&stage))?;
        let rec = VolumeRecord {
            name: name.clone(),
            created: crate::state::now(),
            anonymous,
            mountpoint: store.volume_data(&name).display().to_string(),
            labels,
        };
        atomic::write_json(&stage.join("volume.json"), &rec)?;
        Ok(rec)
    })();
    let rec = match made {
        Ok(r) => r,
        Err(e) => {
            let _ = crate::storage::remove_tree(&stage);
            return Err(e);
        }
    };
    crate::crashpoint::hit("volume.staged");
    if let Err(e) = std::fs::rename(&stage, &dir) {
        let _ = crate::storage::remove_tree(&stage);
        // another process created it meanwhile
        return get(store, &name).map_err(|_| io_err(&dir)(e));
    }
    crate::crashpoint::hit("volume.created");
    Ok(rec)
}

pub fn get(store: &Store, name: &str) -> Result<VolumeRecord> {
    if !valid_name(name) {
        return Err(StateError::NotFound(format!("no such volume: {name}")));
    }
    let p = store.volume_dir(name).join("volume.json");
    if !p.is_file() {
        return Err(StateError::NotFound(format!("no such volume: {name}")));
    }
    atomic::read_json(&p)
}

pub fn list(store: &Store) -> Result<Vec<VolumeRecord>> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(store.volumes_dir()) else { return Ok(out) };
    for e in rd.flatten() {
        if let Ok(v) = get(store, &e.file_name().to_string_lossy()) {
            out.push(v);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Containers (ids) whose mounts use volume `name`.
pub fn users(store: &Store, name: &str) -> Result<Vec<String>> {
    Ok(store
        .list_containers()?
        .into_iter()
        .filter(|c| c.mounts.iter().any(|m| m.kind == "volume" && m.source == name))
        .map(|c| c.id)
        .collect())
}

/// Removes a volume; refused while a container (running or not) uses it.
pub fn remove(store: &Store, name: &str, force: bool) -> Result<String> {
    get(store, name)?;
    let used = users(store, name)?;
    if !used.is_empty() && !force {
        return Err(StateError::Conflict(format!(
            "remove {name}: volume is in use - [{}]",
            used.join(", ")
        )));
    }
    let dir = store.volume_dir(name);
    let trash = store.tmp_dir().join(crate::state::staging::tagged_name(&format!("rmvol-{name}")));
    std::fs::rename(&dir, &trash).map_err(io_err(&dir))?;
    crate::storage::remove_tree(&trash).map_err(io_err(&trash))?;
    Ok(name.to_string())
}

/// Removes unused volumes (only anonymous ones unless `all`).
pub fn prune(store: &Store, all: bool) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for v in list(store)? {
        if (all || v.anonymous) && users(store, &v.name)?.is_empty() && remove(store, &v.name, false).is_ok() {
            removed.push(v.name);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn create_get_remove() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path()).unwrap();
        let v = create(&s, Some("data")).unwrap();
        assert!(!v.anonymous);
        assert!(s.volume_data("data").is_dir());
        assert_eq!(create(&s, Some("data")).unwrap().created, v.created, "create is idempotent");
        let a = create(&s, None).unwrap();
        assert!(a.anonymous && a.name.len() == 64);
        assert!(create(&s, Some("../x")).is_err());
        assert_eq!(list(&s).unwrap().len(), 2);
        assert_eq!(prune(&s, false).unwrap(), vec![a.name.clone()]);
        remove(&s, "data", false).unwrap();
        assert!(get(&s, "data").is_err());
    }
}
