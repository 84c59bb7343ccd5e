//! `pull`: resolve a reference to one platform's manifest, fetch the config,
//! and download + extract the missing layers in parallel into the layer
//! store. A pull killed at any moment leaves nothing partial under
//! `layers/` (staging happens under `tmp/`, then one rename).

use crate::image::auth::{self, Credentials};
use crate::image::digest::{Digest, DigestError};
use crate::image::extract::{extract_layer, ExtractError};
use crate::fsutil;
use crate::image::manifest::{self, Descriptor, Manifest, ManifestError};
use crate::image::paths::Paths;
use crate::image::platform::{self, Platform};
use crate::image::reference::Reference;
use crate::image::registry::{RegistryClient, RegistryError};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Untagged staging leftovers older than this are removed at the start of
/// a pull (tagged ones as soon as their maker is gone).
pub const TMP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Platform to pick from an index; default: this machine's.
    pub platform: Option<Platform>,
    /// Layers downloaded and extracted at once.
    pub jobs: usize,
    /// Explicit credentials; default: `$ROOT/auth.json`, then Docker's config.
    pub credentials: Option<Credentials>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            jobs: 3,
            credentials: None,
        }
    }
}

/// Events for a progress display. `index` is the layer's position in the
/// manifest (bottom first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    Resolved {
        manifest_digest: String,
        layers: usize,
    },
    LayerCached {
        index: usize,
        diff_id: String,
    },
    LayerStarted {
        index: usize,
        digest: String,
        size: u64,
    },
    LayerBytes {
        index: usize,
        downloaded: u64,
        total: u64,
    },
    LayerExtracting {
        index: usize,
    },
    LayerDone {
        index: usize,
        diff_id: String,
        files: u64,
        bytes: u64,
    },
}

/// What the lead's image store records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PulledImage {
    pub reference: Reference,
    /// Digest of the manifest that was pulled (after platform selection).
    pub manifest_digest: String,
    /// Digest of what the reference pointed at (an index for multi-arch).
    pub top_digest: String,
    pub manifest_json: String,
    pub config_digest: String,
    pub config_json: String,
    /// The config's `config` object, as the store records it.
    pub config: crate::state::images::ImageConfig,
    /// Hex diff_ids, bottom layer first (may repeat).
    pub layers: Vec<String>,
    pub platform: Platform,
}

/// `$ROOT/layers/<hex>/layer.json`: the store's one layer record.
pub use crate::state::images::LayerRecord;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("no manifest for platform {wanted} (available: {available})")]
    NoPlatform { wanted: String, available: String },
    #[error("nested image index is not supported")]
    NestedIndex,
    #[error("bad image config: {0}")]
    Config(String),
    #[error("layer {digest}: unsupported media type {media_type}")]
    UnsupportedLayer { digest: String, media_type: String },
    #[error("layer {digest}: diff_id mismatch: config says {expected}, content is {actual}")]
    DiffIdMismatch {
        digest: String,
        expected: String,
        actual: String,
    },
    #[error("layer {digest}: {source}")]
    Extract {
        digest: String,
        source: ExtractError,
    },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

fn io_err(p: &Path) -> impl FnOnce(io::Error) -> PullError {
    let path = p.display().to_string();
    move |source| PullError::Io { path, source }
}

/// Pull `reference` into the layer store under `root`.
pub fn pull(
    root: &Path,
    reference: &Reference,
    opts: &PullOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<PulledImage, PullError> {
    let paths = Paths::new(root);
    for d in [paths.layers(), paths.tmp()] {
        fs::create_dir_all(&d).map_err(io_err(&d))?;
    }
    let _ = clean_tmp(&paths.tmp(), TMP_MAX_AGE);

    let creds = opts
        .credentials
        .clone()
        .or_else(|| auth::lookup(Some(root), reference.registry()));
    let client = RegistryClient::new(reference.registry_host(), reference.repository(), creds)?;

    let top = client.get_manifest(&reference.manifest_ref())?;
    let wanted = opts.platform.clone().unwrap_or_else(platform::host);
    let (fetched, image, index_platform) =
        match Manifest::parse(top.media_type.as_deref(), &top.bytes)? {
            Manifest::Image(m) => (top.clone(), m, None),
            Manifest::Index(ix) => {
                let cands: Vec<(&Platform, &Descriptor)> = ix
                    .manifests()
                    .iter()
                    .filter(|d| manifest::is_image_manifest(d))
                    .filter_map(|d| d.platform().as_ref().map(|p| (p, d)))
                    .collect();
                let Some(desc) = platform::choose(&wanted, cands.iter().map(|(p, d)| (*p, *d))) else {
                    let available = cands
                        .iter()
                        .map(|(p, _)| platform::name(p))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(PullError::NoPlatform {
                        wanted: platform::name(&wanted),
                        available,
                    });
                };
                let d = Digest::from_oci(desc.digest())?;
                let child = client.get_manifest(&d.to_string())?;
                match Manifest::parse(child.media_type.as_deref(), &child.bytes)? {
                    Manifest::Image(m) => (child, m, desc.platform().clone()),
                    Manifest::Index(_) => return Err(PullError::NestedIndex),
                }
            }
        };

    let config_digest = Digest::from_oci(image.config().digest())?;
    let config_bytes = client.get_blob_bytes(&config_digest, Some(image.config().size()))?;
    let config_file = crate::image::config::parse(&config_bytes).map_err(|e| PullError::Config(e.to_string()))?;
    let config_json = String::from_utf8(config_bytes)
        .map_err(|_| PullError::Config("config is not UTF-8".into()))?;
    let config_diff_ids = config_file.rootfs().diff_ids();
    if config_diff_ids.len() != image.layers().len() {
        return Err(PullError::Config(format!(
            "{} layers in the manifest but {} diff_ids in the config",
            image.layers().len(),
            config_diff_ids.len()
        )));
    }
    let diff_ids = config_diff_ids
        .iter()
        .map(|d| Digest::parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    progress(Progress::Resolved {
        manifest_digest: fetched.digest.to_string(),
        layers: image.layers().len(),
    });

    // Which layers need work (once per diff_id).
    let mut todo: Vec<(usize, &Descriptor, &Digest)> = Vec::new();
    for (i, (desc, diff)) in image.layers().iter().zip(&diff_ids).enumerate() {
        if paths.layer_json(diff.hex()).exists() {
            progress(Progress::LayerCached {
                index: i,
                diff_id: diff.to_string(),
            });
        } else if !todo.iter().any(|(_, _, d)| *d == diff) {
            todo.push((i, desc, diff));
        }
    }

    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<PullError>> = Mutex::new(None);
    let workers = opts.jobs.max(1).min(todo.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                    return;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(i, desc, diff)) = todo.get(k) else {
                    return;
                };
                if let Err(e) = fetch_layer(&client, &paths, i, desc, diff, progress) {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                    return;
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }

    let platform = crate::image::config::platform_of(&config_file)
        .or(index_platform)
        .unwrap_or(wanted);
    Ok(PulledImage {
        reference: reference.clone(),
        manifest_digest: fetched.digest.to_string(),
        top_digest: top.digest.to_string(),
        manifest_json: String::from_utf8_lossy(&fetched.bytes).into_owned(),
        config_digest: config_digest.to_string(),
        config_json,
        config: crate::image::config::to_record(config_file.config().as_ref()),
        layers: diff_ids.iter().map(|d| d.hex().to_string()).collect(),
        platform,
    })
}

/// Removes its paths when dropped (the staging area of one layer).
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            if p.is_dir() {
                let _ = fs::remove_dir_all(p);
            } else {
                let _ = fs::remove_file(p);
            }
        }
    }
}

fn fetch_layer(
    client: &RegistryClient,
    paths: &Paths,
    index: usize,
    desc: &Descriptor,
    diff: &Digest,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(), PullError> {
    if !manifest::is_layer_type(desc.media_type()) {
        return Err(PullError::UnsupportedLayer {
            digest: desc.digest().to_string(),
            media_type: desc.media_type().to_string(),
        });
    }
    let digest = Digest::from_oci(desc.digest())?;
    let name = crate::state::staging::tagged_name("layer");
    let stage = paths.tmp().join(&name);
    let blob = paths.tmp().join(format!("{name}.blob"));
    let _cleanup = Cleanup(vec![blob.clone(), stage.clone()]);

    progress(Progress::LayerStarted {
        index,
        digest: digest.to_string(),
        size: desc.size(),
    });
    let total = desc.size();
    client.fetch_blob(&digest, Some(desc.size()), &blob, &|n| {
        if n > 0 && n < total {
            crate::crashpoint::hit("pull.blob");
        }
        progress(Progress::LayerBytes {
            index,
            downloaded: n,
            total,
        })
    })?;

    progress(Progress::LayerExtracting { index });
    let diff_dir = stage.join("diff");
    fs::create_dir(&stage).map_err(io_err(&stage))?;
    fs::create_dir(&diff_dir).map_err(io_err(&diff_dir))?;
    let f = fs::File::open(&blob).map_err(io_err(&blob))?;
    let out =
        extract_layer(BufReader::with_capacity(256 << 10, f), &diff_dir).map_err(|source| {
            PullError::Extract {
                digest: digest.to_string(),
                source,
            }
        })?;
    let _ = fs::remove_file(&blob);
    if &out.diff_id != diff {
        return Err(PullError::DiffIdMismatch {
            digest: digest.to_string(),
            expected: diff.to_string(),
            actual: out.diff_id.to_string(),
        });
    }
    let rec = LayerRecord {
        diff_id: Some(diff.to_string()),
        digest: Some(digest.to_string()),
        size: out.tar_size,
        media_type: Some(desc.media_type().to_string()),
    };
    let json = serde_json::to_vec_pretty(&rec).map_err(|e| PullError::Config(e.to_string()))?;
    let rec_path = stage.join(crate::image::paths::LAYER_JSON);
    fsutil::write_atomic(&rec_path, &json, 0o644).map_err(io_err(&rec_path))?;
    fsutil::syncfs(&stage).map_err(io_err(&stage))?;

    crate::crashpoint::hit("pull.staged");
    let dest = paths.layer(diff.hex());
    if fsutil::rename_noreplace(&stage, &dest).map_err(io_err(&dest))? {
        fsutil::fsync_dir(&paths.layers()).map_err(io_err(&paths.layers()))?;
    } else if !paths.layer_json(diff.hex()).exists() {
        return Err(PullError::Io {
            path: dest.display().to_string(),
            source: io::Error::other("exists but has no layer.json"),
        });
    }
    // else another pull won the race; ours is removed by the cleanup guard
    crate::crashpoint::hit("pull.layer");
    progress(Progress::LayerDone {
        index,
        diff_id: diff.to_string(),
        files: out.stats.files,
        bytes: out.stats.bytes,
    });
    Ok(())
}

/// Removes what killed processes left under `tmp` (staging dirs and
/// blobs named after a maker that is gone; entries without a maker tag
/// once older than `max_age`). Returns how many. Entries of a pull, commit
/// or removal still running are never touched.
pub fn clean_tmp(tmp: &Path, max_age: Duration) -> io::Result<usize> {
    crate::state::staging::clean_dir(tmp, max_age, &|_| true).map(|r| r.len())
}

/// The record of an extracted layer, if it is in the store.
pub fn read_layer_record(root: &Path, diff_hex: &str) -> Option<LayerRecord> {
    let p = Paths::new(root).layer_json(diff_hex);
    serde_json::from_slice(&fs::read(p).ok()?).ok()
}
