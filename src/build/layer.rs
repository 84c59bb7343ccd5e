//! What every image-making step shares: a new layer staged under `tmp/`
//! and renamed into `layers/`, and the child image recorded under the
//! images lock (optionally replacing an image).
use super::{io_err, BuildError, Result};
use crate::state::images::{normalize_tag, HistoryEntry, ImageConfig, ImageRecord, LayerRecord};
use crate::state::{atomic, Store};
use std::collections::HashSet;
use std::path::Path;

/// A new image, and the id it replaced (commit's replace form).
pub struct Committed {
    pub image: ImageRecord,
    pub replaced: Option<String>,
}

fn new_layer_id() -> String {
    format!("l{}", crate::state::ids::random_hex(16))
}

/// Stages a layer dir (`tmp/<name>/diff`, filled by `fill`), records its
/// size and renames it into `layers/<id>`. Nothing is left on failure.
pub(super) fn stage_layer(store: &Store, fill: impl FnOnce(&Path) -> Result<()>) -> Result<(String, u64)> {
    let id = new_layer_id();
    let stage = store.tmp_dir().join(crate::state::staging::tagged_name(&format!("layer-{id}")));
    let r = (|| {
        std::fs::create_dir(&stage).map_err(io_err(&stage))?;
        let diff = stage.join("diff");
        fill(&diff)?;
        let size = crate::storage::tree_size(&diff);
        atomic::write_json(&stage.join("layer.json"), &LayerRecord { size, ..Default::default() })?;
        crate::crashpoint::hit("commit.staged");
        let target = store.layer_dir(&id);
        std::fs::rename(&stage, &target).map_err(io_err(&target))?;
        crate::crashpoint::hit("commit.layer");
        Ok(size)
    })();
    match r {
        Ok(size) => Ok((id, size)),
        Err(e) => {
            let _ = crate::storage::remove_tree(&stage);
            Err(e)
        }
    }
}

fn image_size(store: &Store, layers: &[String]) -> u64 {
    layers.iter().map(|l| store.read_layer(l).map(|r| r.size).unwrap_or(0)).sum()
}

/// Records `child` (made from `parent`, plus `new_layer` if any) under the
/// images lock, optionally replacing an image (its id is reused and the
/// layers only it used are removed). The new layer is removed on failure.
pub(super) fn record_child(
    store: &Store,
    mut child: ImageRecord,
    tag: Option<&str>,
    replace: Option<&str>,
    new_layer: Option<&str>,
) -> Result<Committed> {
    let r = (|| {
        let _lock = store.images_lock()?;
        let mut replaced = None;
        if let Some(r) = replace {
            let old = store.resolve_image(r)?;
            // made from the image it replaces (the seed's flow): it takes
            // over that image's place, parent and source included
            if child.parent.as_deref() == Some(old.id.as_str()) {
                child.parent = old.parent.clone();
                child.source = old.source.clone();
            }
            child.id = old.id.clone();
            child.tags = old.tags.clone();
            replaced = Some(old);
        }
        if let Some(t) = tag {
            let t = normalize_tag(t);
            crate::image::Reference::parse(&t).map_err(|e| BuildError::Invalid(e.to_string()))?;
            if !child.tags.contains(&t) {
                child.tags.push(t);
            }
        }
        store.save_image(&child)?;
        crate::crashpoint::hit("commit.recorded");
        if let Some(old) = &replaced {
            let mut in_use: HashSet<String> = store.list_containers()?.into_iter().flat_map(|c| c.layers).collect();
            for i in store.list_images()? {
                in_use.extend(i.layers);
            }
            for l in &old.layers {
                if !in_use.contains(l) {
                    let _ = store.remove_layer(l);
                }
            }
        }
        Ok(Committed { image: child.clone(), replaced: replaced.map(|o| o.id) })
    })();
    if r.is_err() {
        if let Some(l) = new_layer {
            let _ = store.remove_layer(l);
        }
    }
    r
}

pub(super) fn child_of(store: &Store, parent: Option<&ImageRecord>, layers: Vec<String>, config: ImageConfig, history: HistoryEntry) -> ImageRecord {
    let mut h = parent.map(|p| p.history.clone()).unwrap_or_default();
    h.push(history);
    ImageRecord {
        id: store.new_image_id(),
        source: parent.map(|p| p.id.clone()).unwrap_or_else(|| "scratch".into()),
        tags: Vec::new(),
        created: crate::state::now(),
        size: image_size(store, &layers),
        layers,
        config,
        parent: parent.map(|p| p.id.clone()),
        history: h,
        manifest_digest: None,
        platform: parent.and_then(|p| p.platform.clone()),
    }
}
