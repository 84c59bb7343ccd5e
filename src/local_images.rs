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
    let stage = store.tmp_dir().join(crate::state::staging::tagged_name(&format!("init-{layer_id}")));
    let _producing = store.layer_producer_lock()?;
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

/// Takes the name NAME[:TAG] off its image (the image stays, with its
/// other names). Returns the image as it is now.
pub fn untag(store: &Store, name: &str) -> Result<ImageRecord> {
    let _lock = store.images_lock()?;
    let t = normalize_tag(name);
    let mut img = store
        .list_images()?
        .into_iter()
        .find(|i| i.tags.contains(&t))
        .ok_or_else(|| StateError::NotFound(format!("No such image: {name}")))?;
    img.tags.retain(|x| x != &t);
    store.save_image(&img)?;
    Ok(img)
}

pub struct Removed {
    pub id: String,
    pub layers: Vec<String>,
    /// untagged parents (build steps) removed with it, as Docker does
    pub parents: Vec<String>,
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
    let containers = store.list_containers()?;
    let keep: std::collections::HashSet<String> = containers.iter().flat_map(|c| c.layers.clone()).collect();
    let mut layers = store.delete_image(&img.id, &keep)?;
    // then the untagged parents nothing else needs (intermediate build images)
    let mut parents = Vec::new();
    let mut next = img.parent.clone();
    while let Some(pid) = next.take() {
        let images = store.list_images()?;
        let Some(p) = images.iter().find(|i| i.id == pid) else { break };
        // only images made from images (build steps, commits): never what
        // `init` or `pull` made
        let derived = p.source.starts_with("img_") || p.source == "scratch";
        let needed = !derived
            || !p.tags.is_empty()
            || images.iter().any(|i| i.parent.as_deref() == Some(pid.as_str()))
            || containers.iter().any(|c| c.image == pid);
        if needed {
            break;
        }
        next = p.parent.clone();
        layers.extend(store.delete_image(&pid, &keep)?);
        parents.push(pid);
    }
    Ok(Removed { id: img.id, layers, parents })
}

/// Pulls `reference` from its registry into the layer store and records
/// the image (tagged with its familiar name). Progress events are handed
/// to `on_event` on the calling thread, so a Lua callback can draw them.
pub fn pull(
    store: &Store,
    reference: &str,
    platform: Option<&str>,
    credentials: Option<crate::image::auth::Credentials>,
    on_event: &mut dyn FnMut(crate::image::Progress),
) -> std::result::Result<ImageRecord, String> {
    use crate::image::{platform, PullOptions, Reference};
    let r = Reference::parse(reference).map_err(|e| e.to_string())?;
    let platform = match platform {
        Some(p) => Some(platform::parse(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = PullOptions { platform, credentials, ..PullOptions::default() };
    let (tx, rx) = std::sync::mpsc::channel();
    let root = store.root().to_path_buf();
    // a pull killed between its layers and its record leaves orphan layers
    // that the next prune collects; not while this pull runs
    let _producing = store.layer_producer_lock().map_err(|e| e.to_string())?;
    let pulled = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let tx = std::sync::Mutex::new(tx);
            let send = move |p: crate::image::Progress| {
                if let Ok(t) = tx.lock() {
                    let _ = t.send(p);
                }
            };
            crate::image::pull(&root, &r, &opts, &send)
        });
        for ev in rx {
            on_event(ev);
        }
        worker.join()
    })
    .map_err(|_| "pull: worker panicked".to_string())?
    .map_err(|e| format!("{e:#}"))?;
    record_pulled(store, &pulled).map_err(|e| e.to_string())
}

fn record_pulled(store: &Store, p: &crate::image::PulledImage) -> Result<ImageRecord> {
    let _lock = store.images_lock()?;
    let name = p.reference.familiar();
    let existing = store
        .list_images()?
        .into_iter()
        .find(|i| i.manifest_digest.as_deref() == Some(p.config_digest.as_str()));
    let size = p.layers.iter().map(|l| store.read_layer(l).map(|r| r.size).unwrap_or(0)).sum();
    let is_new = existing.is_none();
    let mut img = match existing {
        Some(i) => i,
        None => ImageRecord {
            id: store.new_image_id(),
            source: name.clone(),
            tags: Vec::new(),
            created: crate::state::now(),
            layers: Vec::new(),
            config: ImageConfig::default(),
            size: 0,
            parent: None,
            history: vec![HistoryEntry {
                created: crate::state::now(),
                created_by: format!("bocker pull {}", p.reference),
                ..Default::default()
            }],
            // the config digest identifies the image (as Docker's image id)
            manifest_digest: Some(p.config_digest.clone()),
            platform: None,
        },
    };
    if is_new {
        // the config's own history and time, as `bocker history` shows them
        if let Ok(cfg) = crate::image::config::parse(p.config_json.as_bytes()) {
            img.created = crate::image::config::created_of(&cfg).unwrap_or(img.created);
            let history = crate::image::config::history_of(&cfg, img.created);
            if !history.is_empty() {
                img.history = history;
            }
        }
    }
    img.layers = p.layers.clone();
    img.config = p.config.clone();
    img.size = size;
    img.platform = Some(crate::image::platform::name(&p.platform));
    if !img.tags.contains(&name) {
        img.tags.push(name);
    }
    store.save_image(&img)?;
    crate::crashpoint::hit("pull.recorded");
    Ok(img)
}

/// Removes layers that no image and no container names, left by a pull,
/// init, commit or load killed between placing a layer and recording its
/// image. Skipped (returns nothing) while such an operation runs. Returns
/// the removed layer ids.
pub fn prune_orphan_layers(store: &Store) -> Result<Vec<String>> {
    let Some(_gc) = store.layer_gc_lock()? else { return Ok(Vec::new()) };
    let _lock = store.images_lock()?;
    let mut used: std::collections::HashSet<String> = store.list_images()?.into_iter().flat_map(|i| i.layers).collect();
    used.extend(store.list_containers()?.into_iter().flat_map(|c| c.layers));
    let dir = store.layers_dir();
    let mut removed = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(crate::state::io_err(&dir))?.flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        if id.starts_with('.') || used.contains(&id) {
            continue;
        }
        store.remove_layer(&id)?;
        removed.push(id);
    }
    Ok(removed)
}
