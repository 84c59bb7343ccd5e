//! `bocker save`: images into one archive, an OCI image layout or a Docker
//! archive, written to a file (atomically: a temp file renamed into place)
//! or to stdout.
use super::docker::{split_tag, v1_id, LegacyLayer, ManifestItem, Repositories};
use super::{append_bytes, blob_path, export, io_err, json_err, ArchiveError, Exported, LayerForm, Result, IMAGE_ID, REF_NAME};
use crate::image::Reference;
use crate::state::images::{normalize_tag, ImageRecord};
use crate::state::Store;
use oci_spec::image::{ImageIndex, ImageIndexBuilder, MediaType};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The archive format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An OCI image layout in a tar (`oci-archive:`), layers gzip.
    Oci,
    /// `docker save`'s format (`docker-archive:`), layers plain tars.
    Docker,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "oci" | "oci-archive" => Ok(Format::Oci),
            "docker" | "docker-archive" => Ok(Format::Docker),
            _ => Err(ArchiveError::Invalid(format!("unknown format {s:?}: expected oci or docker"))),
        }
    }
}

/// Where an archive goes.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// A file, replaced only once the archive is complete.
    File(&'a Path),
    Stdout,
}

/// Runs `write` on `out`: for a file, on a temp file beside it that is
/// synced and renamed over it only if `write` succeeds (removed otherwise).
pub fn write_output(out: Output<'_>, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    match out {
        Output::Stdout => {
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(256 << 10, stdout.lock());
            write(&mut w).and_then(|_| w.flush()).map_err(|source| ArchiveError::Io { path: "stdout".into(), source })
        }
        Output::File(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let tmp = path.with_file_name(format!(".{name}.{}", crate::state::ids::random_hex(4)));
            let r = (|| -> io::Result<()> {
                let f = File::options().write(true).create_new(true).open(&tmp)?;
                let mut w = BufWriter::with_capacity(256 << 10, f);
                write(&mut w)?;
                let f = w.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()?;
                fs::rename(&tmp, path)
            })();
            if r.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            r.map_err(io_err(path))
        }
    }
}

/// An image to save and the names it is saved under.
struct Chosen {
    img: ImageRecord,
    tags: Vec<String>,
}

/// The tag of `img` that `reference` names, if it names one (not an id).
fn named_tag(img: &ImageRecord, reference: &str) -> Option<String> {
    let mut names = vec![normalize_tag(reference)];
    if let Ok(r) = Reference::parse(reference) {
        names.push(normalize_tag(&r.familiar()));
    }
    names.into_iter().find(|n| img.tags.contains(n))
}

/// `bocker save`: `references` (several tags of one image become one image
/// with several names) as one archive of `format`. Returns the images.
pub fn save(store: &Store, references: &[String], format: Format, out: Output<'_>) -> Result<Vec<ImageRecord>> {
    if references.is_empty() {
        return Err(ArchiveError::Invalid("no image to save".into()));
    }
    let mut chosen: Vec<Chosen> = Vec::new();
    for r in references {
        let img = store.resolve_image(r)?;
        let tag = named_tag(&img, r);
        match chosen.iter_mut().find(|c| c.img.id == img.id) {
            Some(c) => c.tags.extend(tag.filter(|t| !c.tags.contains(t))),
            None => chosen.push(Chosen { img, tags: tag.into_iter().collect() }),
        }
    }
    let form = match format {
        Format::Oci => LayerForm::Gzip,
        Format::Docker => LayerForm::Plain,
    };
    let exports = chosen.iter().map(|c| export(store, &c.img, form)).collect::<Result<Vec<_>>>()?;
    remember_config_digests(store, &chosen, &exports)?;
    match format {
        Format::Oci => {
            let index = oci_index(&chosen, &exports)?;
            write_output(out, |w| write_oci(w, &index, &exports))?
        }
        Format::Docker => write_output(out, |w| write_docker(w, &chosen, &exports))?,
    }
    Ok(chosen.into_iter().map(|c| c.img).collect())
}

/// Records the config digest of images made here (init, commit, build:
/// they have none until they leave the store), as pulled and loaded images
/// have theirs: loading the archive back into this store then finds the
/// image instead of making a copy. An image's content never changes under
/// its id (commit's replace form writes a record without a digest).
fn remember_config_digests(store: &Store, chosen: &[Chosen], exports: &[Exported]) -> Result<()> {
    if chosen.iter().all(|c| c.img.manifest_digest.is_some()) {
        return Ok(());
    }
    let _lock = store.images_lock()?;
    for (c, ex) in chosen.iter().zip(exports) {
        if c.img.manifest_digest.is_some() {
            continue;
        }
        let mut img = store.resolve_image(&c.img.id)?;
        if img.id == c.img.id && img.manifest_digest.is_none() && img.layers == c.img.layers {
            img.manifest_digest = Some(ex.config_desc.digest().to_string());
            store.save_image(&img)?;
        }
    }
    Ok(())
}

/// `index.json`: one manifest descriptor per name (the image id when it
/// has none), each carrying bocker's image id.
fn oci_index(chosen: &[Chosen], exports: &[Exported]) -> Result<Vec<u8>> {
    let mut manifests = Vec::new();
    for (c, ex) in chosen.iter().zip(exports) {
        let names = if c.tags.is_empty() { vec![c.img.id.clone()] } else { c.tags.clone() };
        for name in names {
            let mut desc = ex.manifest_desc.clone();
            desc.set_annotations(Some(HashMap::from([(REF_NAME.to_string(), name), (IMAGE_ID.to_string(), c.img.id.clone())])));
            manifests.push(desc);
        }
    }
    let index: ImageIndex = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .build()
        .map_err(json_err)?;
    super::canonical_json(&index).map_err(json_err)
}

fn dir_header() -> tar::Header {
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(0);
    dir
}

fn append_file<W: Write>(b: &mut tar::Builder<W>, path: &str, file: &Path, size: u64) -> io::Result<()> {
    let mut f = File::open(file)?;
    let mut h = tar::Header::new_ustar();
    h.set_mode(0o644);
    h.set_size(size);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, &mut f)
}

fn write_oci(w: &mut dyn Write, index: &[u8], exports: &[Exported]) -> io::Result<()> {
    let mut b = tar::Builder::new(w);
    append_bytes(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    append_bytes(&mut b, "index.json", index)?;
    b.append_data(&mut dir_header(), "blobs/", io::empty())?;
    b.append_data(&mut dir_header(), "blobs/sha256/", io::empty())?;
    let mut seen = HashSet::new();
    for ex in exports {
        for (d, path, _) in &ex.layers {
            if seen.insert(d.digest().clone()) {
                append_file(&mut b, &blob_path(d.digest()), path, d.size())?;
            }
        }
        if seen.insert(ex.config_desc.digest().clone()) {
            append_bytes(&mut b, &blob_path(ex.config_desc.digest()), &ex.config)?;
        }
        if seen.insert(ex.manifest_desc.digest().clone()) {
            append_bytes(&mut b, &blob_path(ex.manifest_desc.digest()), &ex.manifest)?;
        }
    }
    b.into_inner()?.flush()
}

/// The Docker layout: `<v1 id>/{VERSION,json,layer.tar}` per layer,
/// `<config hex>.json`, `manifest.json`, `repositories`.
fn write_docker(w: &mut dyn Write, chosen: &[Chosen], exports: &[Exported]) -> io::Result<()> {
    let mut b = tar::Builder::new(w);
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    let mut repos = Repositories::new();
    let epoch = crate::rfc3339::format(0.0);
    for (c, ex) in chosen.iter().zip(exports) {
        let mut parent: Option<String> = None;
        let mut layers = Vec::new();
        for (d, path, diff_id) in &ex.layers {
            let id = v1_id(parent.as_deref(), &diff_id.to_string());
            if seen.insert(id.clone()) {
                b.append_data(&mut dir_header(), format!("{id}/"), io::empty())?;
                append_bytes(&mut b, &format!("{id}/VERSION"), b"1.0")?;
                let json = serde_json::to_vec(&LegacyLayer { id: &id, parent: parent.as_deref(), created: &epoch })?;
                append_bytes(&mut b, &format!("{id}/json"), &json)?;
                append_file(&mut b, &format!("{id}/layer.tar"), path, d.size())?;
            }
            layers.push(format!("{id}/layer.tar"));
            parent = Some(id);
        }
        let config = format!("{}.json", ex.config_desc.digest().digest());
        if seen.insert(config.clone()) {
            append_bytes(&mut b, &config, &ex.config)?;
        }
        for t in &c.tags {
            let (name, tag) = split_tag(t);
            if let Some(top) = &parent {
                repos.entry(name.to_string()).or_default().insert(tag.to_string(), top.clone());
            }
        }
        items.push(ManifestItem { config, repo_tags: (!c.tags.is_empty()).then(|| c.tags.clone()), layers });
    }
    append_bytes(&mut b, "manifest.json", &serde_json::to_vec(&items)?)?;
    if !repos.is_empty() {
        append_bytes(&mut b, "repositories", &serde_json::to_vec(&repos)?)?;
    }
    b.into_inner()?.flush()
}
