//! Making images from images: `commit` (a container's upper dir becomes a
//! layer), `add_layer` (host files from a build context become a layer),
//! `derive` (a config change, no new layer). The build steps in
//! `lua/lib/build.lua` are made of these three.
//!
//! A container's upper dir is already in overlay-lower format (whiteouts
//! are char 0/0 devices, opaque dirs carry `trusted.overlay.opaque=y`), so
//! a commit is a copy of it (owners, modes, xattrs and devices kept) into
//! `tmp/`, renamed into `layers/<id>`. The tar form (with `.wh.` entries)
//! is only made when an image leaves the store (save, push).
use crate::local_images::DEFAULT_PATH;
use crate::state::images::{normalize_tag, HistoryEntry, ImageConfig, ImageRecord, LayerRecord};
use crate::state::{atomic, StateError, Store};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("freezing {id}: {source}")]
    Freeze { id: String, source: Box<crate::cgroup::CgroupError> },
}

pub type Result<T> = std::result::Result<T, CommitError>;

fn io_err(p: &Path) -> impl FnOnce(std::io::Error) -> CommitError + '_ {
    move |source| CommitError::Io { path: p.display().to_string(), source }
}

/// Config changes, as Dockerfile instructions set them (structured: the
/// Dockerfile syntax is parsed in Lua, `lua/lib/dockerfile.lua`).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigChanges {
    /// An empty list clears it.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// `K=V`, merged over the image's.
    #[serde(default)]
    pub env: Vec<String>,
    /// Relative to the current one if not absolute.
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    /// `80`, `80/tcp`, `53/udp`.
    #[serde(default)]
    pub expose: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub volumes: Vec<String>,
}

impl ConfigChanges {
    pub fn is_empty(&self) -> bool {
        self.cmd.is_none()
            && self.entrypoint.is_none()
            && self.env.is_empty()
            && self.workdir.is_none()
            && self.user.is_none()
            && self.expose.is_empty()
            && self.labels.is_empty()
            && self.volumes.is_empty()
    }

    pub fn apply(&self, c: &mut ImageConfig) -> Result<()> {
        if let Some(cmd) = &self.cmd {
            c.cmd = if cmd.is_empty() { None } else { Some(cmd.clone()) };
        }
        if let Some(ep) = &self.entrypoint {
            c.entrypoint = if ep.is_empty() { None } else { Some(ep.clone()) };
        }
        for e in &self.env {
            let Some((k, _)) = e.split_once('=') else {
                return Err(CommitError::Invalid(format!("ENV {e}: expected KEY=VALUE")));
            };
            if k.is_empty() {
                return Err(CommitError::Invalid(format!("ENV {e}: empty name")));
            }
        }
        c.env = crate::container::merge_env(&c.env, &self.env);
        if let Some(w) = &self.workdir {
            let base = c.working_dir.clone().unwrap_or_else(|| "/".into());
            c.working_dir = Some(clean_abs(&base, w));
        }
        if let Some(u) = &self.user {
            c.user = if u.is_empty() { None } else { Some(u.clone()) };
        }
        for p in &self.expose {
            let p = if p.contains('/') { p.to_ascii_lowercase() } else { format!("{p}/tcp") };
            let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
            if num.parse::<u16>().is_err() || !["tcp", "udp", "sctp"].contains(&proto) {
                return Err(CommitError::Invalid(format!("EXPOSE: invalid port {p}")));
            }
            if !c.exposed_ports.contains(&p) {
                c.exposed_ports.push(p);
            }
        }
        for (k, v) in &self.labels {
            c.labels.insert(k.clone(), v.clone());
        }
        for v in &self.volumes {
            if !c.volumes.contains(v) {
                c.volumes.push(v.clone());
            }
        }
        Ok(())
    }
}

/// `base` joined with `p` (if relative), cleaned lexically: always
/// absolute, never above `/`.
pub fn clean_abs(base: &str, p: &str) -> String {
    let joined = if p.starts_with('/') { PathBuf::from(p) } else { Path::new(base).join(p) };
    let mut out: Vec<String> = Vec::new();
    for c in joined.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    format!("/{}", out.join("/"))
}

/// What `bocker.container.commit` accepts.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CommitSpec {
    /// The history comment (`-m`).
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub changes: ConfigChanges,
    /// NAME[:TAG] for the new image.
    #[serde(default)]
    pub tag: Option<String>,
    /// An existing image to replace: the new image takes its id (the
    /// seed's `bocker commit ps_… img_…`).
    #[serde(default)]
    pub replace: Option<String>,
    /// The history's created_by (default `bocker commit CONTAINER`).
    #[serde(default)]
    pub created_by: Option<String>,
}

/// What `bocker.image.add_layer` accepts.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct AddLayerSpec {
    pub copy: Vec<CopySpec>,
    /// The build context: every source must be inside it.
    pub context: String,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CopySpec {
    pub src: String,
    pub dst: String,
}

/// What `bocker.image.derive` accepts.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct DeriveSpec {
    #[serde(default)]
    pub changes: ConfigChanges,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

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
fn stage_layer(store: &Store, fill: impl FnOnce(&Path) -> Result<()>) -> Result<(String, u64)> {
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
fn record_child(
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
            child.id = old.id.clone();
            child.tags = old.tags.clone();
            replaced = Some(old);
        }
        if let Some(t) = tag {
            let t = normalize_tag(t);
            crate::image::Reference::parse(&t).map_err(|e| CommitError::Invalid(e.to_string()))?;
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

fn child_of(store: &Store, parent: Option<&ImageRecord>, layers: Vec<String>, config: ImageConfig, history: HistoryEntry) -> ImageRecord {
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

/// Freezes a running container's cgroup for as long as it lives, with a
/// marker naming this process in the container's folder: a commit killed
/// meanwhile leaves the marker, and the next `ps`, `inspect`, `rm` or
/// `prune` thaws the container (see `container::thaw_if_commit_died`).
struct Frozen(Option<(crate::cgroup::ContainerCgroup, crate::container::CommitFreeze)>);
impl Frozen {
    fn new(store: &Store, id: &str) -> Result<Frozen> {
        let marker = crate::container::CommitFreeze::mark(store, id)?;
        let cg = crate::cgroup::ContainerCgroup::load(id);
        let frozen = Frozen(Some((crate::cgroup::ContainerCgroup::load(id), marker)));
        cg.freeze().map_err(|e| CommitError::Freeze { id: id.to_string(), source: Box::new(e) })?;
        crate::crashpoint::hit("commit.frozen");
        Ok(frozen)
    }
}
impl Drop for Frozen {
    fn drop(&mut self) {
        if let Some((cg, marker)) = self.0.take() {
            let _ = cg.thaw();
            marker.clear();
        }
    }
}

/// What the runtime itself puts into an upper dir when the image lacks
/// it: empty mount points (`/proc`, `/sys`, `/dev`) and the empty files
/// `/etc/hostname` and `/etc/hosts` are bind-mounted on. They are not the
/// container's changes, so they stay out of the layer (as in Docker).
fn prune_runtime_artifacts(diff: &Path, lowers: &[PathBuf]) {
    let in_lowers = |rel: &str| lowers.iter().any(|l| std::fs::symlink_metadata(l.join(rel)).is_ok());
    for f in ["etc/hostname", "etc/hosts"] {
        let p = diff.join(f);
        if let Ok(m) = std::fs::symlink_metadata(&p) {
            if m.is_file() && m.len() == 0 && !in_lowers(f) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    for d in ["proc", "sys", "dev", "etc"] {
        let p = diff.join(d);
        let empty = std::fs::read_dir(&p).map(|mut r| r.next().is_none()).unwrap_or(false);
        let opaque = crate::fsutil::lgetxattr(p.as_os_str().as_encoded_bytes(), crate::image::extract::OVERLAY_OPAQUE_XATTR)
            .ok()
            .flatten()
            .is_some();
        // an empty dir the image lacks (a mount point), or one it has (no change)
        if empty && !opaque && (d != "etc" || in_lowers(d)) {
            let _ = std::fs::remove_dir(&p);
        }
    }
}

/// `bocker commit`: the container's upper dir becomes a new layer on top
/// of its image's layers. A running container is frozen meanwhile.
pub fn commit(store: &Store, container: &str, spec: &CommitSpec) -> Result<Committed> {
    let info = crate::container::inspect(store, container)?;
    let rec = &info.record;
    let parent = store.resolve_image(&rec.image).ok();
    let mut config = parent
        .as_ref()
        .map(|p| p.config.clone())
        .unwrap_or_else(|| ImageConfig { env: vec![DEFAULT_PATH.to_string()], ..Default::default() });
    spec.changes.apply(&mut config)?;
    let upper = store.container_dir(&rec.id).join("upper");
    let _producing = store.layer_producer_lock()?;
    let (layer, _) = {
        // a paused container stays paused: neither frozen again nor thawed
        let _frozen = if info.running && !info.paused {
            Frozen::new(store, &rec.id)?
        } else {
            Frozen(None)
        };
        stage_layer(store, |diff| {
            if upper.is_dir() {
                crate::storage::copy_tree(&upper, diff).map_err(io_err(&upper))?;
                let lowers: Vec<PathBuf> = rec.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
                prune_runtime_artifacts(diff, &lowers);
                Ok(())
            } else {
                std::fs::create_dir(diff).map_err(io_err(diff))
            }
        })?
    };
    let mut layers = rec.layers.clone();
    layers.push(layer.clone());
    let history = HistoryEntry {
        created: crate::state::now(),
        created_by: spec.created_by.clone().unwrap_or_else(|| format!("bocker commit {}", rec.id)),
        comment: spec.message.clone().filter(|m| !m.is_empty()),
        empty_layer: false,
    };
    let child = child_of(store, parent.as_ref(), layers, config, history);
    record_child(store, child, spec.tag.as_deref(), spec.replace.as_deref(), Some(&layer))
}

/// A new image record sharing `reference`'s layers, with a changed config.
pub fn derive(store: &Store, reference: &str, spec: &DeriveSpec) -> Result<ImageRecord> {
    let parent = store.resolve_image(reference)?;
    let mut config = parent.config.clone();
    spec.changes.apply(&mut config)?;
    let history = HistoryEntry {
        created: crate::state::now(),
        created_by: spec.created_by.clone().unwrap_or_else(|| "bocker derive".into()),
        comment: spec.comment.clone(),
        empty_layer: true,
    };
    let child = child_of(store, Some(&parent), parent.layers.clone(), config, history);
    Ok(record_child(store, child, spec.tag.as_deref(), None, None)?.image)
}

/// An empty image (no layers), for builds `FROM scratch`.
pub fn scratch(store: &Store) -> Result<ImageRecord> {
    let history = HistoryEntry { created: crate::state::now(), created_by: "scratch".into(), comment: None, empty_layer: true };
    let config = ImageConfig { env: vec![DEFAULT_PATH.to_string()], ..Default::default() };
    let child = child_of(store, None, Vec::new(), config, history);
    Ok(record_child(store, child, None, None, None)?.image)
}

/// A source inside the context: relative, no escape (also not through a
/// symlink: the canonical path must stay inside the canonical context).
fn resolve_src(context: &Path, src: &str) -> Result<PathBuf> {
    let rel = clean_abs("/", src);
    let p = context.join(rel.trim_start_matches('/'));
    let canon = p.canonicalize().map_err(|e| CommitError::Invalid(format!("COPY {src}: {e}")))?;
    if !canon.starts_with(context) {
        return Err(CommitError::Invalid(format!("COPY {src}: outside the build context")));
    }
    Ok(canon)
}

/// Makes `dir` (relative to the layer root) and its parents inside the
/// layer, each with the owner and mode it has in the image below (so the
/// new layer does not change them), or root 0755.
fn make_parents(diff: &Path, lowers: &[PathBuf], rel: &Path) -> Result<()> {
    let mut cur = PathBuf::new();
    for c in rel.components() {
        let Component::Normal(name) = c else { continue };
        cur.push(name);
        let target = diff.join(&cur);
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => std::fs::remove_file(&target).map_err(io_err(&target))?,
            Err(_) => {}
        }
        let below = lowers.iter().rev().map(|l| l.join(&cur)).find(|p| std::fs::symlink_metadata(p).is_ok());
        // never followed: a symlink in the image may point anywhere on the host
        match below.and_then(|p| std::fs::symlink_metadata(&p).ok().filter(|m| m.is_dir())) {
            Some(m) => {
                std::fs::create_dir(&target).map_err(io_err(&target))?;
                let _ = crate::sys::fs::lchown(&target, m.uid(), m.gid());
                let _ = crate::sys::fs::chmod(&target, m.mode() & 0o7777);
            }
            None => std::fs::create_dir(&target).map_err(io_err(&target))?,
        }
    }
    Ok(())
}

/// Copies `src` to `dst` (merging into an existing dir).
fn copy_merge(src: &Path, dst: &Path) -> Result<()> {
    let m = std::fs::symlink_metadata(src).map_err(io_err(src))?;
    match std::fs::symlink_metadata(dst) {
        Ok(d) if d.is_dir() && m.is_dir() => {
            for e in std::fs::read_dir(src).map_err(io_err(src))? {
                let e = e.map_err(io_err(src))?;
                copy_merge(&e.path(), &dst.join(e.file_name()))?;
            }
            return Ok(());
        }
        Ok(d) if d.is_dir() => crate::storage::remove_tree(dst).map_err(io_err(dst))?,
        Ok(_) => std::fs::remove_file(dst).map_err(io_err(dst))?,
        Err(_) => {}
    }
    crate::storage::copy::copy_entry(src, dst).map_err(io_err(src))
}

/// `COPY`: host files from the build context into a new layer on top of
/// `reference`. Docker's rules: a directory's contents are copied into
/// `dst`; a file goes to `dst`, or into it when `dst` ends with `/` or is
/// a directory in the image. Owners and modes are kept.
pub fn add_layer(store: &Store, reference: &str, spec: &AddLayerSpec) -> Result<ImageRecord> {
    let parent = store.resolve_image(reference)?;
    let context = Path::new(&spec.context)
        .canonicalize()
        .map_err(|e| CommitError::Invalid(format!("build context {}: {e}", spec.context)))?;
    if spec.copy.is_empty() {
        return Err(CommitError::Invalid("add_layer: nothing to copy".into()));
    }
    let lowers: Vec<PathBuf> = parent.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
    let _producing = store.layer_producer_lock()?;
    let workdir = parent.config.working_dir.clone().unwrap_or_else(|| "/".into());
    let (layer, _) = stage_layer(store, |diff| {
        std::fs::create_dir(diff).map_err(io_err(diff))?;
        if let Some(top) = lowers.iter().rev().find(|l| l.is_dir()) {
            // the layer root keeps the image's root owner and mode
            if let Ok(m) = std::fs::metadata(top) {
                let _ = crate::sys::fs::chmod(diff, m.mode() & 0o7777);
            }
        }
        for c in &spec.copy {
            let src = resolve_src(&context, &c.src)?;
            let dst_abs = clean_abs(&workdir, &c.dst);
            let dst_rel = PathBuf::from(dst_abs.trim_start_matches('/'));
            let into_dir = c.dst.ends_with('/')
                || lowers.iter().any(|l| std::fs::symlink_metadata(l.join(&dst_rel)).map(|m| m.is_dir()).unwrap_or(false))
                || std::fs::symlink_metadata(diff.join(&dst_rel)).map(|m| m.is_dir()).unwrap_or(false);
            let sm = std::fs::metadata(&src).map_err(io_err(&src))?;
            if sm.is_dir() {
                make_parents(diff, &lowers, &dst_rel)?;
                for e in std::fs::read_dir(&src).map_err(io_err(&src))? {
                    let e = e.map_err(io_err(&src))?;
                    copy_merge(&e.path(), &diff.join(&dst_rel).join(e.file_name()))?;
                }
            } else {
                let target = if into_dir {
                    make_parents(diff, &lowers, &dst_rel)?;
                    dst_rel.join(src.file_name().unwrap_or_default())
                } else {
                    if let Some(p) = dst_rel.parent() {
                        make_parents(diff, &lowers, p)?;
                    }
                    dst_rel.clone()
                };
                if target.as_os_str().is_empty() {
                    return Err(CommitError::Invalid(format!("COPY {}: bad destination {}", c.src, c.dst)));
                }
                copy_merge(&src, &diff.join(&target))?;
            }
        }
        Ok(())
    })?;
    let mut layers = parent.layers.clone();
    layers.push(layer.clone());
    let history = HistoryEntry {
        created: crate::state::now(),
        created_by: spec.created_by.clone().unwrap_or_else(|| {
            let parts: Vec<String> = spec.copy.iter().map(|c| format!("{} {}", c.src, c.dst)).collect();
            format!("COPY {}", parts.join(" "))
        }),
        comment: None,
        empty_layer: false,
    };
    let child = child_of(store, Some(&parent), layers, parent.config.clone(), history);
    Ok(record_child(store, child, spec.tag.as_deref(), None, Some(&layer))?.image)
}

/// A content hash of build-context sources (paths, types, modes, owners,
/// file contents, symlink targets), for the build cache.
pub fn hash_sources(context: &str, srcs: &[String]) -> Result<String> {
    let context = Path::new(context)
        .canonicalize()
        .map_err(|e| CommitError::Invalid(format!("build context {context}: {e}")))?;
    let mut h = Sha256::new();
    for s in srcs {
        let p = resolve_src(&context, s)?;
        h.update(s.as_bytes());
        h.update([0]);
        hash_tree(&mut h, &p, Path::new(""))?;
    }
    Ok(hex::encode(h.finalize()))
}

fn hash_tree(h: &mut Sha256, p: &Path, rel: &Path) -> Result<()> {
    let m = std::fs::symlink_metadata(p).map_err(io_err(p))?;
    h.update(rel.as_os_str().as_encoded_bytes());
    h.update(format!("\0{:o} {} {}\0", m.mode(), m.uid(), m.gid()).as_bytes());
    if m.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(p)
            .map_err(io_err(p))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        for n in names {
            hash_tree(h, &p.join(&n), &rel.join(&n))?;
        }
    } else if m.file_type().is_symlink() {
        h.update(std::fs::read_link(p).map_err(io_err(p))?.as_os_str().as_encoded_bytes());
    } else if m.is_file() {
        let mut f = std::fs::File::open(p).map_err(io_err(p))?;
        std::io::copy(&mut f, h).map_err(io_err(p))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn clean_paths() {
        assert_eq!(clean_abs("/", "a/../../b"), "/b");
        assert_eq!(clean_abs("/app", "src"), "/app/src");
        assert_eq!(clean_abs("/app", "/etc/"), "/etc");
        assert_eq!(clean_abs("/", "."), "/");
    }
    #[test]
    fn changes_apply() {
        let mut c = ImageConfig { env: vec!["PATH=/bin".into()], cmd: Some(vec!["sh".into()]), ..Default::default() };
        let ch = ConfigChanges {
            env: vec!["A=1".into(), "PATH=/x".into()],
            workdir: Some("app".into()),
            expose: vec!["80".into(), "53/UDP".into()],
            cmd: Some(vec![]),
            ..Default::default()
        };
        ch.apply(&mut c).unwrap();
        assert_eq!(c.env, vec!["A=1".to_string(), "PATH=/x".into()]);
        assert_eq!(c.working_dir.as_deref(), Some("/app"));
        assert_eq!(c.exposed_ports, vec!["80/tcp".to_string(), "53/udp".into()]);
        assert!(c.cmd.is_none());
        let bad = ConfigChanges { expose: vec!["x".into()], ..Default::default() };
        assert!(bad.apply(&mut c).is_err());
    }
}
