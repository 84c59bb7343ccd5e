//! Images leaving and entering the store: `save` (an OCI image layout in a
//! tar, what `skopeo`/`podman load` read as `oci-archive:`), `load` (such
//! an archive into the layer store, extracted safely), `push` (to a
//! registry with the client `pull` uses).
//!
//! Layers leave as gzip tars written from the layer dirs by `layer_tar`
//! (overlay whiteouts become `.wh.` entries), so a layer's diff_id is that
//! of our own tar, whatever the tar it was pulled as.
use crate::fsutil;
use crate::image::config::{self, canonical_json};
use crate::image::digest::{Digest, DigestError, HashingReader};
use crate::image::manifest::{self, Descriptor, ImageIndex, ImageManifest, Manifest};
use crate::image::platform::{self, Platform};
use crate::image::{layer_tar, Reference};
use crate::state::images::{normalize_tag, HistoryEntry, ImageRecord, LayerRecord};
use crate::state::{StateError, Store};
use oci_spec::image::{History, ImageConfiguration, ImageIndexBuilder, ImageManifestBuilder, MediaType};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

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

/// A staging dir under `tmp/`, removed on drop.
struct Staging(PathBuf);
impl Staging {
    fn new(store: &Store, what: &str) -> Result<Staging> {
        let p = store.tmp_dir().join(crate::state::staging::tagged_name(what.trim_end_matches('-')));
        fs::create_dir(&p).map_err(io_err(&p))?;
        Ok(Staging(p))
    }
}
impl Drop for Staging {
    fn drop(&mut self) {
        let _ = crate::storage::remove_tree(&self.0);
    }
}

/// An image as OCI blobs in a staging dir.
struct Exported {
    _stage: Staging,
    /// (descriptor, file) for each layer, bottom first.
    layers: Vec<(Descriptor, PathBuf)>,
    config: Vec<u8>,
    config_desc: Descriptor,
    manifest: Vec<u8>,
    manifest_desc: Descriptor,
}

/// RFC 3339 UTC time of `secs` since the epoch.
pub fn rfc3339(secs: f64) -> String {
    let s = secs.max(0.0) as i64;
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    // civil from days (Howard Hinnant)
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
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

/// The config blob of an exported image. Its keys are sorted, so the same
/// record always gives the same bytes (and the same digest, as before the
/// move to oci-spec's types).
fn config_blob(img: &ImageRecord, diff_ids: Vec<String>) -> Result<Vec<u8>> {
    // history must have one non-empty entry per layer
    let non_empty = img.history.iter().filter(|h| !h.empty_layer).count();
    let history: Vec<HistoryEntry> = if non_empty == img.layers.len() {
        img.history.clone()
    } else {
        img.layers
            .iter()
            .map(|l| HistoryEntry { created: img.created, created_by: format!("layer {l}"), comment: None, empty_layer: false })
            .collect()
    };
    let history: Vec<History> = history
        .iter()
        .map(|h| {
            let mut e = History::default();
            e.set_created(Some(rfc3339(h.created)));
            e.set_created_by(Some(h.created_by.clone()));
            e.set_comment(h.comment.clone());
            e.set_empty_layer(h.empty_layer.then_some(true));
            e
        })
        .collect();
    let p = platform_of(img);
    let mut cfg = ImageConfiguration::default();
    cfg.set_created(Some(rfc3339(img.created)));
    cfg.set_architecture(p.architecture().clone());
    cfg.set_os(p.os().clone());
    cfg.set_variant(p.variant().clone());
    cfg.set_config(Some(config::from_record(&img.config)));
    cfg.rootfs_mut().set_diff_ids(diff_ids);
    cfg.set_history(Some(history));
    canonical_json(&cfg).map_err(json_err)
}

fn export(store: &Store, img: &ImageRecord) -> Result<Exported> {
    let stage = Staging::new(store, "export-")?;
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (i, l) in img.layers.iter().enumerate() {
        let diff = store.layer_dir(l).join("diff");
        let out = stage.0.join(format!("layer-{i}"));
        let f = File::create(&out).map_err(io_err(&out))?;
        let mut w = BufWriter::with_capacity(256 << 10, f);
        let d = layer_tar::write_layer_tar_gz(&diff, &mut w)?;
        w.flush().map_err(io_err(&out))?;
        diff_ids.push(d.diff_id.to_string());
        layers.push((descriptor(MediaType::ImageLayerGzip, &d.digest, d.compressed_size)?, out));
    }
    let config = config_blob(img, diff_ids)?;
    let config_desc = descriptor(MediaType::ImageConfig, &Digest::of_bytes(&config), config.len() as u64)?;
    let m: ImageManifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config_desc.clone())
        .layers(layers.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>())
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

/// `bocker save`: writes `reference` to `out` as a tar of an OCI image
/// layout; the image's first tag (or its id) is the ref name.
pub fn save(store: &Store, reference: &str, out: &Path) -> Result<ImageRecord> {
    let img = store.resolve_image(reference)?;
    let ex = export(store, &img)?;
    let name = if reference.contains(':') && !reference.starts_with("img_") {
        normalize_tag(reference)
    } else {
        img.tags.first().cloned().unwrap_or_else(|| img.id.clone())
    };
    let mut desc = ex.manifest_desc.clone();
    desc.set_annotations(Some(HashMap::from([(REF_NAME.to_string(), name)])));
    let index: ImageIndex = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![desc])
        .build()
        .map_err(json_err)?;
    let index = serde_json::to_vec(&index).map_err(json_err)?;
    let tmp = out.with_file_name(format!(
        ".{}.{}",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        crate::state::ids::random_hex(4)
    ));
    let r = (|| -> io::Result<()> {
        let f = File::create(&tmp)?;
        let mut b = tar::Builder::new(BufWriter::with_capacity(256 << 10, f));
        append_bytes(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        append_bytes(&mut b, "index.json", &index)?;
        let mut dir = tar::Header::new_ustar();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_size(0);
        dir.set_mtime(0);
        b.append_data(&mut dir.clone(), "blobs/", io::empty())?;
        b.append_data(&mut dir, "blobs/sha256/", io::empty())?;
        let mut seen = std::collections::HashSet::new();
        for (d, path) in &ex.layers {
            if seen.insert(d.digest().clone()) {
                let mut f = File::open(path)?;
                let mut h = tar::Header::new_ustar();
                h.set_mode(0o644);
                h.set_size(d.size());
                h.set_mtime(0);
                b.append_data(&mut h, blob_path(d.digest()), &mut f)?;
            }
        }
        append_bytes(&mut b, &blob_path(ex.config_desc.digest()), &ex.config)?;
        append_bytes(&mut b, &blob_path(ex.manifest_desc.digest()), &ex.manifest)?;
        let mut w = b.into_inner()?;
        w.flush()?;
        w.get_ref().sync_all()?;
        fs::rename(&tmp, out)
    })();
    if let Err(e) = r {
        let _ = fs::remove_file(&tmp);
        return Err(ArchiveError::Io { path: out.display().to_string(), source: e });
    }
    Ok(img)
}

/// `bocker push`: uploads the layers and config, then the manifest under
/// the tag. Returns the manifest digest.
pub fn push(store: &Store, reference: &str, dest: Option<&str>) -> Result<String> {
    let img = store.resolve_image(reference)?;
    let target = Reference::parse(dest.unwrap_or(reference))?;
    let creds = crate::image::auth::lookup(Some(store.root()), target.registry());
    let client = crate::image::registry::RegistryClient::new(target.registry_host(), target.repository(), creds)?.for_push();
    let ex = export(store, &img)?;
    for (d, path) in &ex.layers {
        client.upload_blob(&Digest::from_oci(d.digest())?, path)?;
    }
    let cpath = ex._stage.0.join("config.json");
    fs::write(&cpath, &ex.config).map_err(io_err(&cpath))?;
    client.upload_blob(&Digest::from_oci(ex.config_desc.digest())?, &cpath)?;
    let tag = target.tag().unwrap_or("latest").to_string();
    let d = client.put_manifest(&tag, MediaType::ImageManifest.as_ref(), &ex.manifest)?;
    Ok(d.to_string())
}

/// `bocker load`: an OCI archive (tar of an OCI image layout) into the
/// store. Only `oci-layout`, `index.json` and `blobs/sha256/<hex>` are
/// read from it; blobs are checked against their digests, layers against
/// the config's diff_ids, and extracted with the safe extractor.
pub fn load(store: &Store, file: &Path) -> Result<Vec<ImageRecord>> {
    let stage = Staging::new(store, "load-")?;
    let _producing = store.layer_producer_lock()?;
    let blobs = stage.0.join("blobs");
    fs::create_dir(&blobs).map_err(io_err(&blobs))?;
    let f = File::open(file).map_err(io_err(file))?;
    let (_, plain) = crate::image::extract::decompress(BufReader::new(f)).map_err(io_err(file))?;
    let mut a = tar::Archive::new(plain);
    let mut index = None;
    for e in a.entries().map_err(io_err(file))? {
        let mut e = e.map_err(io_err(file))?;
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let path = path.trim_start_matches("./");
        if path == "index.json" {
            let mut v = Vec::new();
            e.by_ref().take(manifest_limit()).read_to_end(&mut v).map_err(io_err(file))?;
            index = Some(v);
        } else if let Some(hex) = path.strip_prefix("blobs/sha256/") {
            if !crate::image::digest::is_hex64(hex) {
                continue;
            }
            let out = blobs.join(hex);
            let mut w = BufWriter::new(File::create(&out).map_err(io_err(&out))?);
            let mut hr = HashingReader::new(&mut e);
            io::copy(&mut hr, &mut w).map_err(io_err(&out))?;
            w.flush().map_err(io_err(&out))?;
            let (got, _) = hr.finish().map_err(io_err(&out))?;
            if got.hex() != hex {
                return Err(ArchiveError::Invalid(format!("blob {hex}: digest mismatch (content is {got})")));
            }
        }
    }
    let index = index.ok_or_else(|| ArchiveError::Invalid(format!("{}: not an OCI archive (no index.json)", file.display())))?;
    let index: ImageIndex = manifest::from_json("index.json", &index).map_err(json_err)?;
    // only sha256 blobs were kept, each checked against its name
    let blob_file = |d: &oci_spec::image::Digest| -> Result<PathBuf> {
        let p = blobs.join(Digest::from_oci(d)?.hex());
        if !p.is_file() {
            return Err(ArchiveError::Invalid(format!("blob {d} missing from the archive")));
        }
        Ok(p)
    };
    let blob = |d: &oci_spec::image::Digest| -> Result<Vec<u8>> {
        let p = blob_file(d)?;
        fs::read(&p).map_err(io_err(&p))
    };
    let mut out = Vec::new();
    for desc in index.manifests() {
        let name = desc.annotations().as_ref().and_then(|a| a.get(REF_NAME)).cloned();
        let mut m = Manifest::parse(Some(desc.media_type().as_ref()), &blob(desc.digest())?).map_err(json_err)?;
        if let Manifest::Index(ix) = &m {
            let pick = platform::choose(&platform::host(), ix.manifests().iter().filter_map(|d| d.platform().as_ref().map(|p| (p, d))))
                .or(ix.manifests().first())
                .ok_or_else(|| ArchiveError::Invalid("empty image index".into()))?
                .clone();
            m = Manifest::parse(Some(pick.media_type().as_ref()), &blob(pick.digest())?).map_err(json_err)?;
        }
        let Manifest::Image(im) = m else {
            return Err(ArchiveError::Invalid("nested image index is not supported".into()));
        };
        let cfg_bytes = blob(im.config().digest())?;
        let cfg = config::parse(&cfg_bytes).map_err(json_err)?;
        let diff_ids = cfg.rootfs().diff_ids();
        if diff_ids.len() != im.layers().len() {
            return Err(ArchiveError::Invalid("image config: diff_ids do not match the layers".into()));
        }
        let mut layer_ids = Vec::new();
        for (l, want) in im.layers().iter().zip(diff_ids) {
            let want = Digest::parse(want)?;
            layer_ids.push(want.hex().to_string());
            if store.layer_dir(want.hex()).join("layer.json").is_file() {
                continue;
            }
            let src = blob_file(l.digest()).map_err(|_| ArchiveError::Invalid(format!("layer {} missing from the archive", l.digest())))?;
            let ls = stage.0.join(format!("layer-{}", want.hex()));
            let diff = ls.join("diff");
            fs::create_dir_all(&diff).map_err(io_err(&diff))?;
            let f = File::open(&src).map_err(io_err(&src))?;
            let x = crate::image::extract::extract_layer(BufReader::with_capacity(256 << 10, f), &diff)?;
            if x.diff_id != want {
                return Err(ArchiveError::Invalid(format!(
                    "layer {}: diff_id mismatch: config says {want}, content is {}",
                    l.digest(), x.diff_id
                )));
            }
            let rec = LayerRecord {
                diff_id: Some(want.to_string()),
                digest: Some(l.digest().to_string()),
                size: x.tar_size,
                media_type: Some(l.media_type().to_string()),
            };
            crate::state::atomic::write_json(&ls.join("layer.json"), &rec)?;
            let dest = store.layer_dir(want.hex());
            fsutil::rename_noreplace(&ls, &dest).map_err(io_err(&dest))?;
        }
        let config = config::to_record(cfg.config().as_ref());
        let config_digest = Digest::of_bytes(&cfg_bytes).to_string();
        let _lock = store.images_lock()?;
        let existing = store.list_images()?.into_iter().find(|i| i.manifest_digest.as_deref() == Some(config_digest.as_str()));
        let size = layer_ids.iter().map(|l| store.read_layer(l).map(|r| r.size).unwrap_or(0)).sum();
        let mut img = existing.unwrap_or_else(|| ImageRecord {
            id: store.new_image_id(),
            source: file.display().to_string(),
            tags: Vec::new(),
            created: crate::state::now(),
            layers: Vec::new(),
            config: Default::default(),
            size: 0,
            parent: None,
            history: vec![HistoryEntry {
                created: crate::state::now(),
                created_by: format!("bocker load -i {}", file.display()),
                ..Default::default()
            }],
            manifest_digest: Some(config_digest.clone()),
            platform: None,
        });
        img.layers = layer_ids;
        img.config = config;
        img.size = size;
        img.platform = config::platform_of(&cfg).map(|p| platform::name(&p));
        if let Some(n) = name.filter(|n| !n.starts_with("img_") && Reference::parse(n).is_ok()) {
            let t = normalize_tag(&n);
            if !img.tags.contains(&t) {
                img.tags.push(t);
            }
        }
        store.save_image(&img)?;
        out.push(img);
    }
    if out.is_empty() {
        return Err(ArchiveError::Invalid("the archive holds no image".into()));
    }
    Ok(out)
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

    #[test]
    fn times() {
        assert_eq!(super::rfc3339(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000.5), "2023-11-14T22:13:20Z");
    }
}
