//! Images leaving and entering the store as archives: `save` (`write`:
//! an OCI image layout in a tar, what `skopeo` reads as `oci-archive:`,
//! or a Docker archive, what `docker load` and `podman load` read),
//! `load` (`read`: either format, detected by content, into the layer
//! store), `push` (to a registry with the client `pull` uses).
//!
//! Layers leave as tars written from the layer dirs by `layer_tar`
//! (overlay whiteouts become `.wh.` entries; gzip in OCI archives and
//! pushes, plain in Docker archives), so a layer's diff_id is that of our
//! own tar, whatever the tar it was pulled as.
mod docker;
mod read;
mod write;

pub use read::{load, Input, Loaded};
pub use write::{save, write_output, Format, Output};

use crate::image::config::{self, canonical_json};
use crate::image::digest::{Digest, DigestError};
use crate::image::manifest::{Descriptor, ImageManifest};
use crate::image::platform::{self, Platform};
use crate::image::{layer_tar, Reference};
use crate::rfc3339;
use crate::state::images::{HistoryEntry, ImageRecord};
use crate::state::{StateError, Store};
use oci_spec::image::{History, ImageConfiguration, ImageManifestBuilder, MediaType};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation of an OCI archive's manifest descriptor that carries
/// bocker's image id, so a round trip keeps it (when it is free).
pub const IMAGE_ID: &str = "org.bocker.image.id";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error(transparent)]
    Layer(#[from] layer_tar::LayerTarError),
    #[error(transparent)]
    Extract(#[from] crate::image::extract::ExtractError),
    #[error(transparent)]
    Registry(#[from] crate::image::registry::RegistryError),
    #[error(transparent)]
    Reference(#[from] crate::image::reference::RefError),
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("{0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, ArchiveError>;

fn io_err(p: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io { path: p.display().to_string(), source }
}

/// A staging dir under `tmp/` (named for its maker: a killed command's
/// leftover is recognised), removed on drop.
pub(crate) struct Staging(PathBuf);
impl Staging {
    pub(crate) fn new(store: &Store, what: &str) -> Result<Staging> {
        let p = store.tmp_dir().join(crate::state::staging::tagged_name(what.trim_end_matches('-')));
        fs::create_dir(&p).map_err(io_err(&p))?;
        Ok(Staging(p))
    }
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for Staging {
    fn drop(&mut self) {
        let _ = crate::storage::remove_tree(&self.0);
    }
}

/// How layers are written into an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerForm {
    Gzip,
    Plain,
}

/// An image as blobs in a staging dir.
struct Exported {
    _stage: Staging,
    /// (descriptor, file, diff_id) for each layer, bottom first.
    layers: Vec<(Descriptor, PathBuf, Digest)>,
    config: Vec<u8>,
    config_desc: Descriptor,
    manifest: Vec<u8>,
    manifest_desc: Descriptor,
}

fn platform_of(img: &ImageRecord) -> Platform {
    img.platform.as_deref().and_then(|p| platform::parse(p).ok()).unwrap_or_else(platform::host)
}

fn descriptor(media_type: MediaType, digest: &Digest, size: u64) -> Result<Descriptor> {
    Ok(Descriptor::new(media_type, size, digest.to_oci()?))
}

fn json_err(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Invalid(e.to_string())
}

/// The history an exported config carries: the record's, when it has one
/// non-empty entry per layer (as a config must), else one entry per layer.
pub fn effective_history(img: &ImageRecord) -> Vec<HistoryEntry> {
    let non_empty = img.history.iter().filter(|h| !h.empty_layer).count();
    if non_empty == img.layers.len() {
        img.history.clone()
    } else {
        img.layers
            .iter()
            .map(|l| HistoryEntry { created: img.created, created_by: format!("layer {l}"), comment: None, empty_layer: false })
            .collect()
    }
}

/// The config blob of an exported image. Its keys are sorted, so the same
/// record always gives the same bytes (and the same digest, as before the
/// move to oci-spec's types).
fn config_blob(img: &ImageRecord, diff_ids: Vec<String>) -> Result<Vec<u8>> {
    let history: Vec<History> = effective_history(img)
        .iter()
        .map(|h| {
            let mut e = History::default();
            e.set_created(Some(rfc3339::format(h.created)));
            e.set_created_by(Some(h.created_by.clone()));
            e.set_comment(h.comment.clone());
            e.set_empty_layer(h.empty_layer.then_some(true));
            e
        })
        .collect();
    let p = platform_of(img);
    let mut cfg = ImageConfiguration::default();
    cfg.set_created(Some(rfc3339::format(img.created)));
    cfg.set_architecture(p.architecture().clone());
    cfg.set_os(p.os().clone());
    cfg.set_variant(p.variant().clone());
    cfg.set_config(Some(config::from_record(&img.config)));
    cfg.rootfs_mut().set_diff_ids(diff_ids);
    cfg.set_history(Some(history));
    canonical_json(&cfg).map_err(json_err)
}

/// Writes an image's layers (as `form`), config and OCI manifest into a
/// staging dir.
fn export(store: &Store, img: &ImageRecord, form: LayerForm) -> Result<Exported> {
    let stage = Staging::new(store, "export-")?;
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (i, l) in img.layers.iter().enumerate() {
        let diff = store.layer_dir(l).join("diff");
        let out = stage.0.join(format!("layer-{i}"));
        let f = File::create(&out).map_err(io_err(&out))?;
        let mut w = BufWriter::with_capacity(256 << 10, f);
        let (d, media_type) = match form {
            LayerForm::Gzip => (layer_tar::write_layer_tar_gz(&diff, &mut w)?, MediaType::ImageLayerGzip),
            LayerForm::Plain => (layer_tar::write_layer_tar(&diff, &mut w)?, MediaType::ImageLayer),
        };
        w.flush().map_err(io_err(&out))?;
        diff_ids.push(d.diff_id.to_string());
        layers.push((descriptor(media_type, &d.digest, d.compressed_size)?, out, d.diff_id));
    }
    let config = config_blob(img, diff_ids)?;
    let config_desc = descriptor(MediaType::ImageConfig, &Digest::of_bytes(&config), config.len() as u64)?;
    let m: ImageManifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config_desc.clone())
        .layers(layers.iter().map(|(d, _, _)| d.clone()).collect::<Vec<_>>())
        .build()
        .map_err(json_err)?;
    let manifest = serde_json::to_vec(&m).map_err(json_err)?;
    let mut manifest_desc = descriptor(MediaType::ImageManifest, &Digest::of_bytes(&manifest), manifest.len() as u64)?;
    manifest_desc.set_platform(Some(platform_of(img)));
    Ok(Exported { _stage: stage, layers, config, config_desc, manifest, manifest_desc })
}

fn append_bytes<W: Write>(b: &mut tar::Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data)
}

/// `blobs/<algorithm>/<encoded>`: where an OCI layout keeps a blob.
fn blob_path(d: &oci_spec::image::Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.digest())
}

/// `bocker push`: uploads the layers and config, then the manifest under
/// the tag. Returns the manifest digest.
/// `credentials` (the API's X-Registry-Auth) go before the stored ones.
pub fn push(store: &Store, reference: &str, dest: Option<&str>, credentials: Option<crate::image::auth::Credentials>) -> Result<String> {
    let img = store.resolve_image(reference)?;
    let target = Reference::parse(dest.unwrap_or(reference))?;
    let creds = credentials.or_else(|| crate::image::auth::lookup(Some(store.root()), target.registry()));
    let client = crate::image::registry::RegistryClient::new(target.registry_host(), target.repository(), creds)?.for_push();
    let ex = export(store, &img, LayerForm::Gzip)?;
    for (d, path, _) in &ex.layers {
        client.upload_blob(&Digest::from_oci(d.digest())?, path)?;
    }
    let cpath = ex._stage.0.join("config.json");
    fs::write(&cpath, &ex.config).map_err(io_err(&cpath))?;
    client.upload_blob(&Digest::from_oci(ex.config_desc.digest())?, &cpath)?;
    let tag = target.tag().unwrap_or("latest").to_string();
    let d = client.put_manifest(&tag, MediaType::ImageManifest.as_ref(), &ex.manifest)?;
    Ok(d.to_string())
}

fn manifest_limit() -> u64 {
    crate::image::registry::MAX_SMALL_BLOB
}

#[cfg(test)]
mod tests {
    use crate::state::images::{HistoryEntry, ImageConfig, ImageRecord};

    #[test]
    fn config_blob_is_stable() {
        // the bytes bocker wrote before the move to oci-spec's types: a
        // saved or pushed image keeps its config digest
        let img = ImageRecord {
            id: "img_x".into(),
            source: "t".into(),
            tags: vec![],
            created: 0.0,
            layers: vec!["l1".into()],
            config: ImageConfig {
                cmd: Some(vec!["sh".into()]),
                env: vec!["PATH=/bin".into()],
                exposed_ports: vec!["80/tcp".into(), "53/udp".into(), "443/tcp".into()],
                volumes: vec!["/b".into(), "/a".into()],
                labels: [("z".to_string(), "1".to_string()), ("a".into(), "2".into())].into(),
                ..Default::default()
            },
            size: 0,
            parent: None,
            history: vec![HistoryEntry { created: 0.0, created_by: "x".into(), comment: Some("c".into()), empty_layer: false }],
            manifest_digest: None,
            platform: Some("linux/arm/v7".into()),
        };
        let diff = format!("sha256:{}", "a".repeat(64));
        let got = String::from_utf8(super::config_blob(&img, vec![diff.clone()]).unwrap()).unwrap();
        let want = format!(
            r#"{{"architecture":"arm","config":{{"Cmd":["sh"],"Env":["PATH=/bin"],"ExposedPorts":{{"443/tcp":{{}},"53/udp":{{}},"80/tcp":{{}}}},"Labels":{{"a":"2","z":"1"}},"Volumes":{{"/a":{{}},"/b":{{}}}}}},"created":"1970-01-01T00:00:00Z","history":[{{"comment":"c","created":"1970-01-01T00:00:00Z","created_by":"x"}}],"os":"linux","rootfs":{{"diff_ids":["{diff}"],"type":"layers"}},"variant":"v7"}}"#
        );
        assert_eq!(got, want);
        for _ in 0..5 {
            assert_eq!(super::config_blob(&img, vec![diff.clone()]).unwrap(), want.as_bytes());
        }
    }
}
