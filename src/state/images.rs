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

/// The folder of tag hints in the store (see `Store::tag_hint_path`).
pub(crate) const TAG_HINTS: &str = "tags";

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

    /// Where the hint for `tag` lives: `tags/<sha256 of the tag>`,
    /// a symlink to the id of the image that last had the tag written
    /// (`save_image`). A hint is only a place to look first: the record it
    /// names must still hold the tag (`tagged_by_hint`).
    fn tag_hint_path(&self, tag: &str) -> std::path::PathBuf {
        use sha2::Digest;
        self.root().join(TAG_HINTS).join(hex::encode(sha2::Sha256::digest(tag.as_bytes())))
    }

    /// Points the hints of `img`'s tags at it (a symlink renamed over the
    /// old one). Best effort: a missing or stale hint only costs a scan.
    fn write_tag_hints(&self, img: &ImageRecord) {
        let dir = self.root().join(TAG_HINTS);
        if !img.tags.is_empty() && std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        for t in &img.tags {
            // a temp record's name: the repair removes one its maker left
            let tmp = dir.join(format!(".{}.tmp", super::staging::tagged_name("hint")));
            if std::os::unix::fs::symlink(&img.id, &tmp).is_ok() && std::fs::rename(&tmp, self.tag_hint_path(t)).is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
        }
    }

    /// The image the hints name for any of `tags`, if its record still
    /// holds one of them and no two of them name different images (the
    /// scan decides then, as without hints).
    fn tagged_by_hint(&self, tags: &[&str]) -> Option<ImageRecord> {
        let mut found: Option<ImageRecord> = None;
        for t in tags {
            let Ok(id) = std::fs::read_link(self.tag_hint_path(t)) else { continue };
            let id = id.to_string_lossy().into_owned();
            if id.contains('/') || id.starts_with('.') {
                return None;
            }
            match &found {
                Some(f) if f.id == id => continue,
                Some(_) => return None,
                None => {}
            }
            let Ok(img) = atomic::read_json::<ImageRecord>(&self.image_path(&id)) else { continue };
            if img.tags.iter().any(|x| tags.contains(&x.as_str())) {
                found = Some(img);
            }
        }
        found
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
        let tag = normalize_tag(reference);
        let familiar = crate::reference::Reference::parse(reference).map(|r| r.familiar()).unwrap_or_else(|_| tag.clone());
        // by tag without reading every record (a `run` by name would read
        // them all, twice)
        if let Some(img) = self.tagged_by_hint(&[tag.as_str(), reference, familiar.as_str()]) {
            return Ok(img);
        }
        let images = self.list_images()?;
        if let Some(img) = images
            .iter()
            .find(|i| i.tags.iter().any(|t| *t == tag || *t == reference || *t == familiar))
        {
            // a store from before the hints: the next lookup is quick
            self.write_tag_hints(img);
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
        atomic::write_json(&self.image_path(&img.id), img)?;
        self.write_tag_hints(img);
        Ok(())
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

#[cfg(test)]
mod tag_hint_tests {
    use super::*;

    fn image(s: &Store, tags: &[&str]) -> ImageRecord {
        let img: ImageRecord = serde_json::from_value(serde_json::json!({
            "id": s.new_image_id(), "source": "test", "tags": tags, "created": 1.0, "layers": [],
        }))
        .unwrap();
        s.save_image(&img).unwrap();
        img
    }

    #[test]
    fn tags_resolve_through_hints_that_are_checked() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path().join("root")).unwrap();
        let a = image(&s, &["busybox:latest"]);
        assert_eq!(s.resolve_image("busybox").unwrap().id, a.id);
        // the tag moves: the hint follows it
        let b = image(&s, &["busybox:latest", "x:1"]);
        assert_eq!(s.resolve_image("busybox:latest").unwrap().id, b.id);
        assert_eq!(s.resolve_image("x:1").unwrap().id, b.id);
        // a stale hint (the image is gone, or lost the tag) is not trusted
        std::fs::remove_file(s.image_path(&b.id)).unwrap();
        assert!(matches!(s.resolve_image("busybox"), Err(StateError::NotFound(_))));
        let c = image(&s, &["other:1"]);
        std::os::unix::fs::symlink(&c.id, s.tag_hint_path("y:1")).unwrap();
        assert!(s.resolve_image("y:1").is_err(), "c does not hold y:1");
        // a store without hints still resolves, and gets them
        std::fs::remove_dir_all(s.root().join(TAG_HINTS)).unwrap();
        assert_eq!(s.resolve_image("other:1").unwrap().id, c.id);
        assert_eq!(std::fs::read_link(s.tag_hint_path("other:1")).unwrap().to_string_lossy(), c.id);
    }
}
