//! `bocker commit`: a container's upper dir copied into a new layer (a
//! running container frozen meanwhile).
use super::changes::ConfigChanges;
use super::layer::{child_of, record_child, stage_layer, Committed};
use super::{io_err, BuildError, Result};
use crate::local_images::DEFAULT_PATH;
use crate::state::images::{HistoryEntry, ImageConfig};
use crate::state::Store;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What `bocker.container.commit` accepts.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CommitSpec {
    /// The history comment (`-m`).
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub changes: ConfigChanges,
    /// NAME[:TAG] for the new image.
    #[serde(default)]
    pub tag: Option<String>,
    /// An existing image to replace: the new image takes its id (the
    /// seed's `bocker commit ps_… img_…`).
    #[serde(default)]
    pub replace: Option<String>,
    /// The history's created_by (default `bocker commit CONTAINER`).
    #[serde(default)]
    pub created_by: Option<String>,
    /// Leave out the empty files and folders the runtime made in the
    /// container's root for its mounts (a build's RUN --mount targets:
    /// `/run/secrets/ID` must not stay in the image), as BuildKit does.
    #[serde(default)]
    pub drop_mount_points: bool,
}

/// Freezes a running container's cgroup for as long as it lives, with a
/// marker naming this process in the container's folder: a commit killed
/// meanwhile leaves the marker, and the next `ps`, `inspect`, `rm` or
/// `prune` thaws the container (see `container::thaw_if_commit_died`).
struct Frozen(Option<(crate::cgroup::ContainerCgroup, crate::container::CommitFreeze)>);
impl Frozen {
    fn new(store: &Store, id: &str) -> Result<Frozen> {
        let marker = crate::container::CommitFreeze::mark(store, id)?;
        let cg = crate::cgroup::ContainerCgroup::load(id);
        let frozen = Frozen(Some((crate::cgroup::ContainerCgroup::load(id), marker)));
        cg.freeze().map_err(|e| BuildError::Freeze { id: id.to_string(), source: Box::new(e) })?;
        crate::crashpoint::hit("commit.frozen");
        Ok(frozen)
    }
}
impl Drop for Frozen {
    fn drop(&mut self) {
        if let Some((cg, marker)) = self.0.take() {
            let _ = cg.thaw();
            marker.clear();
        }
    }
}

/// What the runtime itself puts into an upper dir when the image lacks
/// it: empty mount points (`/proc`, `/sys`, `/dev`) and the empty files
/// `/etc/hostname` and `/etc/hosts` are bind-mounted on. They are not the
/// container's changes, so they stay out of the layer (as in Docker).
fn prune_runtime_artifacts(diff: &Path, lowers: &[PathBuf]) {
    let in_lowers = |rel: &str| lowers.iter().any(|l| std::fs::symlink_metadata(l.join(rel)).is_ok());
    for f in ["etc/hostname", "etc/hosts"] {
        let p = diff.join(f);
        if let Ok(m) = std::fs::symlink_metadata(&p) {
            if m.is_file() && m.len() == 0 && !in_lowers(f) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    for d in ["proc", "sys", "dev", "etc"] {
        let p = diff.join(d);
        let empty = std::fs::read_dir(&p).map(|mut r| r.next().is_none()).unwrap_or(false);
        let opaque = crate::fsutil::lgetxattr(p.as_os_str().as_encoded_bytes(), crate::image::extract::OVERLAY_OPAQUE_XATTR)
            .ok()
            .flatten()
            .is_some();
        // an empty dir the image lacks (a mount point), or one it has (no change)
        if empty && !opaque && (d != "etc" || in_lowers(d)) {
            let _ = std::fs::remove_dir(&p);
        }
    }
}

/// `rel` under `base`, walked without following a symlink: the entry's
/// metadata if every folder on the way is a real folder. The staged diff
/// holds what the container made (symlinks to host paths included), so
/// nothing here may resolve through it.
fn entry_no_follow(base: &Path, rel: &str) -> Option<std::fs::Metadata> {
    let mut p = base.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if parts.iter().any(|c| *c == "..") {
        return None;
    }
    for (i, c) in parts.iter().enumerate() {
        p.push(c);
        let m = std::fs::symlink_metadata(&p).ok()?;
        if i + 1 == parts.len() {
            return Some(m);
        }
        if !m.file_type().is_dir() {
            return None;
        }
    }
    None
}

/// The mount points of `targets` the runtime made in the diff (an empty
/// file or folder the image's layers lack), and the empty folders made to
/// hold them, are removed.
fn prune_mount_points(diff: &Path, lowers: &[PathBuf], targets: &[&str]) {
    let in_lowers = |rel: &str| lowers.iter().any(|l| entry_no_follow(l, rel).is_some());
    for t in targets {
        let mut rel: String = t.trim_matches('/').to_string();
        while !rel.is_empty() && !in_lowers(&rel) {
            let Some(m) = entry_no_follow(diff, &rel) else { break };
            let p = diff.join(&rel);
            let removed = if m.file_type().is_file() && m.len() == 0 {
                std::fs::remove_file(&p).is_ok()
            } else if m.file_type().is_dir() {
                std::fs::remove_dir(&p).is_ok() // only when empty
            } else {
                false
            };
            if !removed {
                break;
            }
            rel = match rel.rsplit_once('/') {
                Some((parent, _)) => parent.to_string(),
                None => String::new(),
            };
        }
    }
}

/// `bocker commit`: the container's upper dir becomes a new layer on top
/// of its image's layers. A running container is frozen meanwhile.
pub fn commit(store: &Store, container: &str, spec: &CommitSpec) -> Result<Committed> {
    let info = crate::container::inspect(store, container)?;
    let rec = &info.record;
    let parent = store.resolve_image(&rec.image).ok();
    let mut config = parent
        .as_ref()
        .map(|p| p.config.clone())
        .unwrap_or_else(|| ImageConfig { env: vec![DEFAULT_PATH.to_string()], ..Default::default() });
    spec.changes.apply(&mut config)?;
    let upper = store.container_dir(&rec.id).join("upper");
    let _producing = store.layer_producer_lock()?;
    let (layer, _) = {
        // a paused container stays paused: neither frozen again nor thawed
        let _frozen = if info.running && !info.paused {
            Frozen::new(store, &rec.id)?
        } else {
            Frozen(None)
        };
        stage_layer(store, |diff| {
            if upper.is_dir() {
                crate::storage::copy_tree(&upper, diff).map_err(io_err(&upper))?;
                let lowers: Vec<PathBuf> = rec.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
                prune_runtime_artifacts(diff, &lowers);
                if spec.drop_mount_points {
                    let targets: Vec<&str> = rec.mounts.iter().map(|m| m.target.as_str()).collect();
                    prune_mount_points(diff, &lowers, &targets);
                }
                Ok(())
            } else {
                std::fs::create_dir(diff).map_err(io_err(diff))
            }
        })?
    };
    let mut layers = rec.layers.clone();
    layers.push(layer.clone());
    let history = HistoryEntry {
        created: crate::state::now(),
        created_by: spec.created_by.clone().unwrap_or_else(|| format!("bocker commit {}", rec.id)),
        comment: spec.message.clone().filter(|m| !m.is_empty()),
        empty_layer: false,
    };
    let child = child_of(store, parent.as_ref(), layers, config, history);
    record_child(store, child, spec.tag.as_deref(), spec.replace.as_deref(), Some(&layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_go_with_their_empty_parents_and_nothing_is_followed() {
        let t = tempfile::tempdir().unwrap();
        let (diff, lower, outside) = (t.path().join("diff"), t.path().join("lower"), t.path().join("outside"));
        for d in [&diff.join("run/secrets"), &lower.join("etc"), &outside, &diff.join("etc"), &diff.join("cache/keep")] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(diff.join("run/secrets/api"), "").unwrap();
        std::fs::write(diff.join("etc/tok"), "").unwrap();
        std::fs::write(diff.join("cache/keep/f"), "data").unwrap();
        // a symlink the container made, pointing at a host folder
        std::fs::write(outside.join("victim"), "").unwrap();
        std::os::unix::fs::symlink(&outside, diff.join("link")).unwrap();
        prune_mount_points(&diff, &[lower.clone()], &["/run/secrets/api", "/etc/tok", "/cache/keep", "/link/victim"]);
        assert!(!diff.join("run").exists(), "the mount point and the folders made for it go");
        assert!(!diff.join("etc/tok").exists());
        assert!(diff.join("etc").is_dir(), "a folder the image has stays");
        assert!(diff.join("cache/keep/f").exists(), "a folder with content stays");
        assert!(outside.join("victim").exists(), "a symlink in the diff was followed");
    }
}
