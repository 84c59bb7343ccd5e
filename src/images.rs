//! Image operations on the store: make an image from a folder (`init`),
//! tag, remove.
use crate::state::images::{normalize_tag, HistoryEntry, ImageConfig, ImageRecord, LayerRecord};
use crate::state::{atomic, StateError, Store};
use std::path::Path;

pub type Result<T> = std::result::Result<T, StateError>;

/// Default environment of images made from a folder.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Makes a one-layer image from a root filesystem folder (all of it,
/// dotfiles included). Nothing is left behind on failure.
pub fn init_from_dir(store: &Store, dir: &Path) -> Result<ImageRecord> {
    let md = std::fs::metadata(dir).map_err(|_| StateError::Invalid(format!("No such directory: {}", dir.display())))?;
    if !md.is_dir() {
        return Err(StateError::Invalid(format!("Not a directory: {}", dir.display())));
    }
    let dir = dir.canonicalize().map_err(crate::state::io_err(dir))?;
    let layer_id = format!("l{}", crate::state::ids::random_hex(16));
    let stage = store.tmp_dir().join(format!("init-{layer_id}"));
    let result = (|| {
        std::fs::create_dir(&stage).map_err(crate::state::io_err(&stage))?;
        let diff = stage.join("diff");
        crate::storage::copy_tree(&dir, &diff).map_err(|e| StateError::Io { path: dir.clone(), source: e })?;
        let size = crate::storage::tree_size(&diff);
        atomic::write_json(&stage.join("layer.json"), &LayerRecord { size, ..Default::default() })?;
        let target = store.layer_dir(&layer_id);
        std::fs::rename(&stage, &target).map_err(crate::state::io_err(&target))?;
        let _lock = store.images_lock()?;
        let now = crate::state::now();
        let img = ImageRecord {
            id: store.new_image_id(),
            source: dir.display().to_string(),
            tags: Vec::new(),
            created: now,
            layers: vec![layer_id.clone()],
            config: ImageConfig { env: vec![DEFAULT_PATH.to_string()], ..Default::default() },
            size,
            parent: None,
            history: vec![HistoryEntry { created: now, created_by: format!("bocker init {}", dir.display()), ..Default::default() }],
            manifest_digest: None,
            platform: None,
        };
        store.save_image(&img)?;
        Ok(img)
    })();
    if result.is_err() {
        let _ = crate::storage::remove_tree(&stage);
        let _ = store.remove_layer(&layer_id);
    }
    result
}

/// Points `name` (NAME[:TAG]) at an image.
pub fn tag(store: &Store, reference: &str, name: &str) -> Result<ImageRecord> {
    let _lock = store.images_lock()?;
    let mut img = store.resolve_image(reference)?;
    let t = normalize_tag(name);
    if !img.tags.contains(&t) {
        img.tags.push(t);
    }
    store.save_image(&img)?;
    Ok(img)
}

pub struct Removed {
    pub id: String,
    pub layers: Vec<String>,
}

/// Removes an image and the layers no other image uses. Refuses an image
/// a container uses unless `force`.
pub fn remove(store: &Store, reference: &str, force: bool) -> Result<Removed> {
    let _lock = store.images_lock()?;
    let img = store.resolve_image(reference)?;
    if !force {
        if let Some(c) = store.list_containers()?.into_iter().find(|c| c.image == img.id) {
            return Err(StateError::Conflict(format!(
                "unable to remove image {} (must force): image is being used by container {}",
                img.id, c.id
            )));
        }
    }
    // layers under a container's root stay until that container goes
    let keep = store.list_containers()?.into_iter().flat_map(|c| c.layers).collect();
    let layers = store.delete_image(&img.id, &keep)?;
    Ok(Removed { id: img.id, layers })
}
