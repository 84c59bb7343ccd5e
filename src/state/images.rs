//! Image records: `$ROOT/images/<id>.json`, and layers `$ROOT/layers/<id>/`.
use super::{atomic, io_err, lock::Lock, Result, StateError, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The parts of an OCI image config that `run` honours.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Dockerfile's STOPSIGNAL (`SIGTERM`, `9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Dockerfile's HEALTHCHECK (stored; `run` does not probe yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// Dockerfile's ONBUILD: instructions a build FROM this image runs first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub onbuild: Vec<String>,
    /// Dockerfile's SHELL: the argv prefix of shell-form RUN, CMD, ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// Docker's `Healthcheck` config: `test` is `["NONE"]`, `["CMD", argv...]`
/// or `["CMD-SHELL", command]`; durations in nanoseconds, absent (0) for
/// the default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct HistoryEntry {
    pub created: f64,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ImageRecord {
    pub id: String,
    /// Where it came from: `centos:7`, or the folder `init` was given.
    pub source: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub created: f64,
    /// Layer ids, bottom first.
    pub layers: Vec<String>,
    #[serde(default)]
    pub config: ImageConfig,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct LayerRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// `busybox` -> `busybox:latest`; names with a tag or digest stay.
pub fn normalize_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

impl Store {
    fn image_path(&self, id: &str) -> std::path::PathBuf {
        self.images_dir().join(format!("{id}.json"))
    }

    pub fn images_lock(&self) -> Result<Lock> {
        Lock::exclusive(&self.lock_path("images"))
    }

    /// Held (shared) by whoever puts a layer into `layers/` from before
    /// the rename until its image record is written (pull, init, commit,
    /// add_layer, load): a layer no record names yet is not an orphan
    /// while any such holder runs. Take it before the images lock.
    pub fn layer_producer_lock(&self) -> Result<Lock> {
        Lock::shared(&self.lock_path("layers"))
    }

    /// The layer collector's side of `layer_producer_lock`: None while a
    /// producer runs (the collection is skipped then, not waited for).
    pub fn layer_gc_lock(&self) -> Result<Option<Lock>> {
        Lock::try_exclusive(&self.lock_path("layers"))
    }

    /// All image records, oldest first.
    pub fn list_images(&self) -> Result<Vec<ImageRecord>> {
        let dir = self.images_dir();
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io_err(&dir))?.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            match atomic::read_json::<ImageRecord>(&e.path()) {
                Ok(r) => out.push(r),
                Err(StateError::Io { .. }) => continue, // removed meanwhile
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Finds an image by id, `NAME[:TAG]`, or a unique id prefix.
    pub fn resolve_image(&self, reference: &str) -> Result<ImageRecord> {
        if reference.is_empty() {
            return Err(StateError::NotFound("No such image: ''".into()));
        }
        let p = self.image_path(reference);
        if !reference.contains('/') && p.is_file() {
            return atomic::read_json(&p);
        }
        let images = self.list_images()?;
        let tag = normalize_tag(reference);
        let familiar = crate::reference::Reference::parse(reference).map(|r| r.familiar()).unwrap_or_else(|_| tag.clone());
        if let Some(img) = images
            .iter()
            .find(|i| i.tags.iter().any(|t| *t == tag || *t == reference || *t == familiar))
        {
            return Ok(img.clone());
        }
        // an id prefix as bocker writes it (`img_3f2a`) or as Docker's
        // clients do (`3f2a…`, `sha256:3f2a…`: the hex after `img_`; at
        // least 4 digits, so a short hex-looking name is not taken for an id)
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        let docker_form = (hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("img_{hex}"));
        let hits: Vec<&ImageRecord> = images
            .iter()
            .filter(|i| i.id.starts_with(reference) || docker_form.as_ref().is_some_and(|d| i.id.starts_with(d.as_str())))
            .collect();
        match hits.len() {
            1 => Ok(hits[0].clone()),
            0 => Err(StateError::NotFound(format!("No such image: {reference}"))),
            _ => Err(StateError::Conflict(format!(
                "image reference '{reference}' is ambiguous: it matches {} images",
                hits.len()
            ))),
        }
    }

    /// Writes an image record; its tags move to it from any other image.
    /// Call with the images lock held.
    pub fn save_image(&self, img: &ImageRecord) -> Result<()> {
        if !img.tags.is_empty() {
            for mut other in self.list_images()? {
                if other.id != img.id && other.tags.iter().any(|t| img.tags.contains(t)) {
                    other.tags.retain(|t| !img.tags.contains(t));
                    atomic::write_json(&self.image_path(&other.id), &other)?;
                }
            }
        }
        atomic::write_json(&self.image_path(&img.id), img)
    }

    /// Deletes an image record and the layers no other image uses.
    /// Call with the images lock held. Returns the removed layer ids.
    pub fn delete_image(&self, id: &str, keep: &std::collections::HashSet<String>) -> Result<Vec<String>> {
        let img: ImageRecord = atomic::read_json(&self.image_path(id))?;
        let p = self.image_path(id);
        std::fs::remove_file(&p).map_err(io_err(&p))?;
        let mut in_use = keep.clone();
        for other in self.list_images()? {
            in_use.extend(other.layers);
        }
        let mut removed = Vec::new();
        for l in img.layers {
            if !in_use.contains(&l) && self.remove_layer(&l).is_ok() {
                removed.push(l);
            }
        }
        Ok(removed)
    }

    /// Removes a layer directory: renamed away first so a crash never
    /// leaves a half-deleted layer under its real name.
    pub fn remove_layer(&self, id: &str) -> Result<()> {
        let dir = self.layer_dir(id);
        if !dir.exists() {
            return Ok(());
        }
        let trash = self.tmp_dir().join(super::staging::tagged_name(&format!("rm-{id}")));
        std::fs::rename(&dir, &trash).map_err(io_err(&dir))?;
        crate::storage::remove_tree(&trash).map_err(io_err(&trash))
    }

    pub fn read_layer(&self, id: &str) -> Result<LayerRecord> {
        let p = self.layer_dir(id).join("layer.json");
        if p.is_file() {
            atomic::read_json(&p)
        } else {
            Ok(LayerRecord::default())
        }
    }

    pub fn new_image_id(&self) -> String {
        loop {
            let id = super::ids::new_id("img_");
            if !self.image_path(&id).exists() {
                return id;
            }
        }
    }
}
