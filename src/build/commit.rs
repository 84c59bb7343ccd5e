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
