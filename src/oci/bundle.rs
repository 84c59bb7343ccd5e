//! `bocker bundle`: a container as an OCI bundle folder (`config.json`
//! and a plain `rootfs/`) that any OCI runtime (runc, crun, bocker's own)
//! runs.
use super::OciError;
use crate::runtime::user;
use crate::state::containers::ContainerRecord;
use crate::state::Store;
use std::path::{Path, PathBuf};

/// The user the container runs as, resolved in `rootfs` (whose
/// /etc/passwd and /etc/group are read inside it, never followed out).
pub fn user_in(rootfs: &Path, c: &ContainerRecord) -> Result<user::Ids, OciError> {
    let read = |p: &str| {
        crate::storage::inroot::read_in_root(rootfs, p).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    };
    let group = read("/etc/group");
    let mut ids = user::resolve(&c.user, &read("/etc/passwd"), &group).map_err(OciError::Spec)?;
    user::add_groups(&mut ids, &c.group_add, &group).map_err(OciError::Spec)?;
    Ok(ids)
}

/// The user a container runs as, resolved in its layers without mounting
/// them: each of /etc/passwd and /etc/group is read from the top-most
/// layer (the container's changes first) that has it.
pub fn user_of(store: &Store, c: &ContainerRecord) -> Result<user::Ids, OciError> {
    let mut dirs = vec![store.container_dir(&c.id).join("upper")];
    dirs.extend(c.layers.iter().rev().map(|l| store.layer_dir(l).join("diff")));
    let read = |p: &str| {
        dirs.iter()
            .find_map(|d| crate::storage::inroot::read_in_root(d, p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let group = read("/etc/group");
    let mut ids = user::resolve(&c.user, &read("/etc/passwd"), &group).map_err(OciError::Spec)?;
    user::add_groups(&mut ids, &c.group_add, &group).map_err(OciError::Spec)?;
    Ok(ids)
}

/// The OCI configuration of a container, as `bocker inspect --spec`
/// shows it.
pub fn spec_of(store: &Store, c: &ContainerRecord) -> Result<oci_spec::runtime::Spec, OciError> {
    super::spec::spec_for(store, c, &user_of(store, c)?)
}

/// The same configuration as JSON, without `linux.seccomp`, and the
/// seccomp filter compiled apart (`spec::config_and_filter`): what the
/// monitor runs.
pub fn config_and_filter_of(store: &Store, c: &ContainerRecord) -> Result<(serde_json::Value, Option<crate::runtime::seccomp::Filter>), OciError> {
    super::spec::config_and_filter(store, c, &user_of(store, c)?)
}

/// Writes `dir/rootfs` (the image's layers and the container's changes,
/// flattened) and `dir/config.json`. `dir` must be missing or empty; on
/// failure nothing is left in it.
pub fn export(store: &Store, c: &ContainerRecord, dir: &Path) -> Result<PathBuf, OciError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OciError::Io { path, source }
    };
    // the container writes its upper dir: while it runs it could swap a
    // file for a symlink between our look and our copy (commit freezes it;
    // a bundle is taken of a stopped container only)
    let st = crate::container::live_state(store, &c.id).map_err(|e| OciError::Spec(e.to_string()))?;
    if st.status == crate::state::containers::Status::Running {
        return Err(OciError::Spec(format!("container {} is running: stop it before bundling it", c.id)));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(OciError::Spec(format!("{}: not empty", dir.display())));
    }
    let result = (|| {
        let rootfs = dir.join("rootfs");
        std::fs::create_dir(&rootfs).map_err(io(&rootfs))?;
        let mut layers: Vec<PathBuf> = c.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
        let upper = store.container_dir(&c.id).join("upper");
        if upper.is_dir() {
            layers.push(upper);
        }
        let refs: Vec<&Path> = layers.iter().map(PathBuf::as_path).collect();
        crate::storage::flatten::flatten(&refs, &rootfs).map_err(io(&rootfs))?;
        let ids = user_in(&rootfs, c)?;
        let spec = super::spec::spec_for(store, c, &ids)?;
        let json = serde_json::to_vec_pretty(&spec).map_err(|e| OciError::Spec(e.to_string()))?;
        let config = dir.join("config.json");
        std::fs::write(&config, json).map_err(io(&config))?;
        Ok(config)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dir.join("rootfs"));
        let _ = std::fs::remove_file(dir.join("config.json"));
    }
    result
}
