//! `bocker load`: an OCI archive or a Docker archive (detected by content:
//! `manifest.json`, else `oci-layout` + `index.json`), plain or
//! compressed, from a file or stdin, into the store.
//!
//! The archive is hostile input. Its members are copied into a staging
//! dir under numbered names (never their own), each hashed on the way;
//! the paths `manifest.json` names are cleaned lexically and must stay
//! inside the archive (symlinks between members are followed the same
//! way); OCI blobs must match their names and sizes, a Docker config its
//! `<hex>.json` name, every layer the config's diff_id (layers are
//! extracted with the safe extractor). Everything is checked and every
//! new layer extracted before the first one enters the store: a bad
//! archive leaves nothing behind.
use super::docker::ManifestItem;
use super::{io_err, json_err, manifest_limit, ArchiveError, Result, Staging, IMAGE_ID, REF_NAME};
use crate::fsutil;
use crate::image::config;
use crate::image::digest::{Digest, HashingReader};
use crate::image::manifest::{self, ImageIndex, Manifest};
use crate::image::platform;
use crate::image::Reference;
use crate::state::images::{normalize_tag, ImageRecord, LayerRecord};
use crate::state::Store;
use oci_spec::image::ImageConfiguration;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Where an archive comes from.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    File(&'a Path),
    Stdin,
}

impl Input<'_> {
    fn label(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "stdin".into(),
        }
    }
}

/// A loaded image and the names the archive gave it.
#[derive(Debug, serde::Serialize)]
pub struct Loaded {
    pub image: ImageRecord,
    pub names: Vec<String>,
}

/// The annotation containerd and Docker give an index entry for its full name.
const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// Symlinks followed when resolving one member path.
const MAX_LINKS: usize = 16;
/// The media type Docker archives' plain layers have.
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// Cleans an archive path lexically: `.` and empty parts dropped, `..`
/// pops; None when it would leave the archive's root.
fn clean(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            p => out.push(p),
        }
    }
    Some(out.join("/"))
}

enum Member {
    File { file: PathBuf, digest: Digest, size: u64 },
    /// A symlink or hard link: the cleaned path it points at (None: outside).
    Link(Option<String>),
}

/// The archive's members, staged.
struct Members {
    map: HashMap<String, Member>,
}

impl Members {
    /// Reads the whole archive into `dir`.
    fn read<R: Read>(input: R, dir: &Path, label: &str) -> Result<Members> {
        let bad = |e: io::Error| ArchiveError::Invalid(format!("{label}: not a readable archive: {e}"));
        let (_, plain) = crate::image::extract::decompress(input).map_err(bad)?;
        let mut a = tar::Archive::new(plain);
        let mut map = HashMap::new();
        for (n, e) in a.entries().map_err(bad)?.enumerate() {
            let mut e = e.map_err(bad)?;
            let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let Some(name) = clean(&raw) else { continue };
            let kind = e.header().entry_type();
            let member = match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let file = dir.join(format!("m{n}"));
                    let mut w = BufWriter::with_capacity(256 << 10, File::create(&file).map_err(io_err(&file))?);
                    let mut hr = HashingReader::new(&mut e);
                    io::copy(&mut hr, &mut w).map_err(bad)?;
                    w.flush().map_err(io_err(&file))?;
                    let (digest, size) = hr.finish().map_err(bad)?;
                    Member::File { file, digest, size }
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = e.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                    let joined = if kind == tar::EntryType::Link || target.starts_with('/') {
                        target
                    } else {
                        let parent = name.rsplit_once('/').map_or("", |(p, _)| p);
                        format!("{parent}/{target}")
                    };
                    Member::Link(clean(&joined))
                }
                _ => continue,
            };
            map.insert(name, member);
        }
        Ok(Members { map })
    }

    fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The staged file a path names (links followed inside the archive).
    fn resolve(&self, path: &str) -> Result<(&Path, &Digest, u64)> {
        let mut name = clean(path).ok_or_else(|| ArchiveError::Invalid(format!("{path}: outside the archive")))?;
        for _ in 0..MAX_LINKS {
            match self.map.get(&name) {
                Some(Member::File { file, digest, size }) => return Ok((file, digest, *size)),
                Some(Member::Link(Some(t))) => name = t.clone(),
                Some(Member::Link(None)) => return Err(ArchiveError::Invalid(format!("{path}: a link outside the archive"))),
                None => return Err(ArchiveError::Invalid(format!("{path}: missing from the archive"))),
            }
        }
        Err(ArchiveError::Invalid(format!("{path}: too many links")))
    }

    /// A small member's content (a manifest, a config).
    fn small(&self, path: &str) -> Result<(Vec<u8>, Digest)> {
        let (file, digest, size) = self.resolve(path)?;
        if size > manifest_limit() {
            return Err(ArchiveError::Invalid(format!("{path}: too large ({size} bytes)")));
        }
        Ok((fs::read(file).map_err(io_err(file))?, digest.clone()))
    }

    /// An OCI blob, checked against its digest and size.
    fn blob(&self, d: &oci_spec::image::Descriptor) -> Result<(&Path, &Digest)> {
        let want = Digest::from_oci(d.digest())?;
        let path = format!("blobs/sha256/{}", want.hex());
        let (file, digest, size) = self.resolve(&path)?;
        if *digest != want {
            return Err(ArchiveError::Invalid(format!("blob {want}: digest mismatch (content is {digest})")));
        }
        if size != d.size() {
            return Err(ArchiveError::Invalid(format!("blob {want}: {size} bytes, its descriptor says {}", d.size())));
        }
        Ok((file, digest))
    }
}

/// A layer of a planned image: its staged blob and what it must unpack to.
struct PlannedLayer {
    file: PathBuf,
    digest: Digest,
    media_type: String,
    diff_id: Digest,
}

/// An image found in the archive, checked, not yet in the store.
struct Planned {
    config: ImageConfiguration,
    config_digest: Digest,
    layers: Vec<PlannedLayer>,
    names: Vec<String>,
    /// bocker's image id, if the archive carries one (OCI annotation).
    id_hint: Option<String>,
}

/// A name an archive gives, as the store records it (None if invalid).
fn store_name(n: &str) -> Option<String> {
    if n.starts_with("img_") {
        return None;
    }
    Reference::parse(n).ok().map(|r| normalize_tag(&r.familiar()))
}

fn diff_ids(cfg: &ImageConfiguration, layers: usize, what: &str) -> Result<Vec<Digest>> {
    let ids = cfg.rootfs().diff_ids();
    if ids.len() != layers {
        return Err(ArchiveError::Invalid(format!("{what}: {} layers, but its config has {} diff_ids", layers, ids.len())));
    }
    Ok(ids.iter().map(|d| Digest::parse(d)).collect::<std::result::Result<Vec<_>, _>>()?)
}

fn add(plans: &mut Vec<Planned>, p: Planned) {
    match plans.iter_mut().find(|q| q.config_digest == p.config_digest) {
        Some(q) => {
            for n in p.names {
                if !q.names.contains(&n) {
                    q.names.push(n);
                }
            }
        }
        None => plans.push(p),
    }
}

fn plan_oci(m: &Members) -> Result<Vec<Planned>> {
    let (index, _) = m.small("index.json")?;
    let index: ImageIndex = manifest::from_json("index.json", &index).map_err(json_err)?;
    let mut plans = Vec::new();
    for desc in index.manifests() {
        let ann = desc.annotations().as_ref();
        // containerd's (and Docker's) full name first, else the ref name
        let name = ann.and_then(|a| a.get(CONTAINERD_NAME).or_else(|| a.get(REF_NAME))).and_then(|n| store_name(n));
        let id_hint = ann.and_then(|a| a.get(IMAGE_ID)).cloned();
        let read = |d: &oci_spec::image::Descriptor| -> Result<Vec<u8>> {
            let (file, _) = m.blob(d)?;
            if d.size() > manifest_limit() {
                return Err(ArchiveError::Invalid(format!("blob {}: too large", d.digest())));
            }
            fs::read(file).map_err(io_err(file))
        };
        let mut mf = Manifest::parse(Some(desc.media_type().as_ref()), &read(desc)?).map_err(json_err)?;
        if let Manifest::Index(ix) = &mf {
            let pick = platform::choose(&platform::host(), ix.manifests().iter().filter_map(|d| d.platform().as_ref().map(|p| (p, d))))
                .or(ix.manifests().first())
                .ok_or_else(|| ArchiveError::Invalid("empty image index".into()))?
                .clone();
            mf = Manifest::parse(Some(pick.media_type().as_ref()), &read(&pick)?).map_err(json_err)?;
        }
        let Manifest::Image(im) = mf else {
            return Err(ArchiveError::Invalid("nested image index is not supported".into()));
        };
        let cfg_bytes = read(im.config())?;
        let config = config::parse(&cfg_bytes).map_err(json_err)?;
        let want = diff_ids(&config, im.layers().len(), &format!("manifest {}", desc.digest()))?;
        let mut layers = Vec::new();
        for (l, diff_id) in im.layers().iter().zip(want) {
            let (file, digest) = m.blob(l)?;
            layers.push(PlannedLayer { file: file.to_path_buf(), digest: digest.clone(), media_type: l.media_type().to_string(), diff_id });
        }
        add(&mut plans, Planned { config, config_digest: Digest::of_bytes(&cfg_bytes), layers, names: name.into_iter().collect(), id_hint });
    }
    Ok(plans)
}

fn plan_docker(m: &Members) -> Result<Vec<Planned>> {
    let (bytes, _) = m.small("manifest.json")?;
    let items: Vec<ManifestItem> = serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Invalid(format!("manifest.json: {e}")))?;
    let mut plans = Vec::new();
    for item in items {
        let (cfg_bytes, config_digest) = m.small(&item.config)?;
        // `<hex>.json` (Docker, podman) names its digest
        let stem = item.config.rsplit('/').next().unwrap_or("").trim_end_matches(".json");
        if crate::image::digest::is_hex64(stem) && stem != config_digest.hex() {
            return Err(ArchiveError::Invalid(format!("config {}: digest mismatch (content is {config_digest})", item.config)));
        }
        let config = config::parse(&cfg_bytes).map_err(json_err)?;
        let want = diff_ids(&config, item.layers.len(), &item.config)?;
        let mut layers = Vec::new();
        for (path, diff_id) in item.layers.iter().zip(want) {
            let (file, digest, _) = m.resolve(path)?;
            layers.push(PlannedLayer { file: file.to_path_buf(), digest: digest.clone(), media_type: DOCKER_LAYER.into(), diff_id });
        }
        let mut names = Vec::new();
        for t in item.repo_tags.iter().flatten() {
            let n = store_name(t).ok_or_else(|| ArchiveError::Invalid(format!("manifest.json: invalid name {t:?}")))?;
            if !names.contains(&n) {
                names.push(n);
            }
        }
        add(&mut plans, Planned { config, config_digest, layers, names, id_hint: None });
    }
    Ok(plans)
}

/// bocker's own id form: `img_` and 10 lowercase hex digits.
fn is_image_id(s: &str) -> bool {
    s.strip_prefix("img_").is_some_and(|h| h.len() == 10 && h.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)))
}

/// A record for a planned image new to the store: created time and history
/// from its config (so saving it again gives the same config digest).
fn new_record(store: &Store, p: &Planned, source: &str) -> ImageRecord {
    let free = |id: &str| !store.images_dir().join(format!("{id}.json")).exists();
    let id = p.id_hint.clone().filter(|h| is_image_id(h) && free(h)).unwrap_or_else(|| store.new_image_id());
    let created = config::created_of(&p.config).unwrap_or_else(crate::state::now);
    let history = config::history_of(&p.config, created);
    ImageRecord {
        id,
        source: p.names.first().cloned().unwrap_or_else(|| source.to_string()),
        tags: Vec::new(),
        created,
        layers: p.layers.iter().map(|l| l.diff_id.hex().to_string()).collect(),
        config: config::to_record(p.config.config().as_ref()),
        size: 0,
        parent: None,
        history,
        manifest_digest: Some(p.config_digest.to_string()),
        platform: config::platform_of(&p.config).map(|pl| platform::name(&pl)),
    }
}

/// `bocker load`: every image of the archive into the store. Images the
/// store has (same config digest) get the archive's names only.
pub fn load(store: &Store, input: Input<'_>) -> Result<Vec<Loaded>> {
    let label = input.label();
    let stage = Staging::new(store, "load-")?;
    let members = stage.path().join("members");
    fs::create_dir(&members).map_err(io_err(&members))?;
    let m = match input {
        Input::File(p) => Members::read(BufReader::with_capacity(256 << 10, File::open(p).map_err(io_err(p))?), &members, &label)?,
        Input::Stdin => Members::read(BufReader::with_capacity(256 << 10, io::stdin().lock()), &members, &label)?,
    };
    // Docker 25 writes both: its manifest.json has the full names (its
    // index.json's ref names are bare tags)
    let plans = if m.has("manifest.json") {
        plan_docker(&m)?
    } else if m.has("oci-layout") && m.has("index.json") {
        plan_oci(&m)?
    } else {
        return Err(ArchiveError::Invalid(format!("{label}: not an image archive (no index.json or manifest.json)")));
    };
    if plans.is_empty() {
        return Err(ArchiveError::Invalid("the archive holds no image".into()));
    }
    let _producing = store.layer_producer_lock()?;
    let known = store.list_images()?;
    let is_known = |p: &Planned| known.iter().any(|i| i.manifest_digest.as_deref() == Some(p.config_digest.to_string().as_str()));
    // every new layer extracted and checked before any enters the store
    let mut staged: Vec<(String, PathBuf)> = Vec::new();
    let mut seen = HashSet::new();
    for p in plans.iter().filter(|p| !is_known(p)) {
        for l in &p.layers {
            let hex = l.diff_id.hex().to_string();
            if !seen.insert(hex.clone()) || store.layer_dir(&hex).join("layer.json").is_file() {
                continue;
            }
            let ls = stage.path().join(format!("layer-{hex}"));
            let diff = ls.join("diff");
            fs::create_dir_all(&diff).map_err(io_err(&diff))?;
            let f = File::open(&l.file).map_err(io_err(&l.file))?;
            let x = crate::image::extract::extract_layer(BufReader::with_capacity(256 << 10, f), &diff)?;
            if x.diff_id != l.diff_id {
                return Err(ArchiveError::Invalid(format!("layer {}: diff_id mismatch: config says {}, content is {}", l.digest, l.diff_id, x.diff_id)));
            }
            let rec = LayerRecord { diff_id: Some(l.diff_id.to_string()), digest: Some(l.digest.to_string()), size: x.tar_size, media_type: Some(l.media_type.clone()) };
            crate::state::atomic::write_json(&ls.join("layer.json"), &rec)?;
            staged.push((hex, ls));
        }
    }
    if !staged.is_empty() {
        // the layers are complete on disk before their names say so
        fsutil::syncfs(stage.path()).map_err(io_err(stage.path()))?;
    }
    crate::crashpoint::hit("load.staged");
    let _lock = store.images_lock()?;
    let mut placed = Vec::new();
    let r = (|| -> Result<Vec<Loaded>> {
        for (hex, ls) in &staged {
            let dest = store.layer_dir(hex);
            // false: another load or pull placed the same layer meanwhile
            if fsutil::rename_noreplace(ls, &dest).map_err(io_err(&dest))? {
                placed.push(hex.clone());
            }
        }
        crate::crashpoint::hit("load.layer");
        let mut out = Vec::new();
        let images = store.list_images()?;
        for p in &plans {
            let existing = images.iter().find(|i| i.manifest_digest.as_deref() == Some(p.config_digest.to_string().as_str()));
            let mut img = match existing {
                Some(i) => i.clone(),
                None => new_record(store, p, &label),
            };
            // a layer found in the store before the images lock was taken
            // may have gone with an image removed meanwhile
            if let Some(l) = img.layers.iter().find(|l| !store.layer_dir(l).join("layer.json").is_file()) {
                return Err(ArchiveError::Invalid(format!("layer {l} was removed while loading: load again")));
            }
            img.size = img.layers.iter().map(|l| store.read_layer(l).map(|r| r.size).unwrap_or(0)).sum();
            for n in &p.names {
                if !img.tags.contains(n) {
                    img.tags.push(n.clone());
                }
            }
            store.save_image(&img)?;
            crate::crashpoint::hit("load.recorded");
            out.push(Loaded { image: img, names: p.names.clone() });
        }
        Ok(out)
    })();
    if r.is_err() {
        let used: HashSet<String> = store.list_images().map(|v| v.into_iter().flat_map(|i| i.layers).collect()).unwrap_or_default();
        for hex in placed.iter().filter(|h| !used.contains(*h)) {
            let _ = store.remove_layer(hex);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert_eq!(clean("./a/b/../c").as_deref(), Some("a/c"));
        assert_eq!(clean("/abs/x").as_deref(), Some("abs/x"));
        assert_eq!(clean("../x"), None);
        assert_eq!(clean("a/../../x"), None);
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }

    #[test]
    fn members_resolve_inside_the_archive_only() {
        let t = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "a/real", &b"x"[..]).unwrap();
        link(&mut b, tar::EntryType::Symlink, "b/in", "../a/real");
        link(&mut b, tar::EntryType::Symlink, "b/abs", "/a/real");
        link(&mut b, tar::EntryType::Link, "hard", "a/real");
        link(&mut b, tar::EntryType::Symlink, "b/out", "../../etc/passwd");
        link(&mut b, tar::EntryType::Symlink, "loop", "loop");
        let data = b.into_inner().unwrap();
        let m = Members::read(&data[..], t.path(), "t").unwrap();
        let x = Digest::of_bytes(b"x");
        for p in ["a/real", "./a/real", "b/in", "b/abs", "hard", "b/../a/real"] {
            let (file, d, size) = m.resolve(p).unwrap();
            assert_eq!((d, size), (&x, 1), "{p}");
            assert!(file.starts_with(t.path()), "{p}: staged under its own name");
        }
        let err = |p: &str| m.resolve(p).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err("b/out").contains("outside the archive"), "{}", err("b/out"));
        assert!(err("../a/real").contains("outside the archive"));
        assert!(err("loop").contains("too many links"));
        assert!(err("nothing").contains("missing"));
        // nothing was written anywhere but the staging dir
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn image_ids() {
        assert!(is_image_id("img_0123456789"));
        assert!(!is_image_id("img_../../x"));
        assert!(!is_image_id("img_012345678"));
        assert!(!is_image_id("img_ABCDEF0123"));
    }
}
