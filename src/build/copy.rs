//! `COPY`/`ADD`: files from the build context (or another image's
//! filesystem) into a new layer (`bocker.image.add_layer`). Docker's
//! rules: sources relative to the context, Go wildcards, a directory's
//! contents copied, `.dockerignore` applied; the destination relative to
//! WORKDIR, a directory when it ends with `/` (or is one in the image);
//! context files owned by root unless `--chown`, files of an image keep
//! their owner; `--chmod` sets the mode. ADD extracts local tars
//! (`add_tar`) and downloads http(s) URLs (`fetch`).
use super::add_tar;
use super::entry::{clear, put, Attrs};
use super::changes::clean_abs;
use super::fetch;
use super::fsview::{FsView, Node};
use super::ignore::DockerIgnore;
use super::layer::{child_of, record_child, stage_layer};
use super::owner::{parse_chmod, resolve_chown};
use super::pattern::{has_meta, matches};
use super::{io_err, BuildError, Result};
use crate::state::images::{HistoryEntry, ImageRecord};
use crate::state::Store;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// What `bocker.image.add_layer` (and `bocker.build.copy_key`) accept:
/// one COPY or ADD step.
#[derive(Deserialize, Serialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AddLayerSpec {
    pub srcs: Vec<String>,
    pub dst: String,
    /// The build context: every context source must be inside it.
    #[serde(default)]
    pub context: Option<String>,
    /// An image (id or reference) whose filesystem the sources are in.
    #[serde(default)]
    pub from: Option<String>,
    /// ADD: local tars are extracted, http(s) URLs downloaded.
    #[serde(default)]
    pub add: bool,
    #[serde(default)]
    pub chown: Option<String>,
    #[serde(default)]
    pub chmod: Option<String>,
    /// `--link`: accepted (every COPY is already its own layer).
    #[serde(default)]
    pub link: bool,
    /// `--checksum=sha256:HEX` of an ADD URL.
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

impl AddLayerSpec {
    pub(super) fn instr(&self) -> &'static str {
        if self.add {
            "ADD"
        } else {
            "COPY"
        }
    }

    /// A one-line error naming the instruction and the source.
    pub(super) fn err(&self, src: &str, msg: impl std::fmt::Display) -> BuildError {
        BuildError::Invalid(format!("{} {src}: {msg}", self.instr()))
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Whether the source `s` is a URL to download (only ADD's, and not
/// `--from` an image).
pub(super) fn url_source(spec: &AddLayerSpec, s: &str) -> Result<bool> {
    if is_url(s) {
        if !spec.add {
            return Err(spec.err(s, "a URL needs ADD"));
        }
        if spec.from.is_some() {
            return Err(spec.err(s, "a URL cannot be copied --from an image"));
        }
        return Ok(true);
    }
    if s.contains("://") {
        return Err(spec.err(s, "only http(s) URLs are supported"));
    }
    Ok(false)
}

/// Where a step's sources are: the context (with its .dockerignore) or
/// an image's filesystem.
pub(super) enum Origin {
    Context { view: FsView, ignore: DockerIgnore },
    Image { view: FsView, id: String },
}

impl Origin {
    pub(super) fn open(store: &Store, spec: &AddLayerSpec) -> Result<Origin> {
        if let Some(from) = &spec.from {
            let img = store.resolve_image(from)?;
            return Ok(Origin::Image { view: image_view(store, &img), id: img.id });
        }
        let ctx = spec.context.as_deref().ok_or_else(|| BuildError::Invalid(format!("{}: no build context", spec.instr())))?;
        let root = Path::new(ctx).canonicalize().map_err(|e| BuildError::Invalid(format!("build context {ctx}: {e}")))?;
        let ignore = DockerIgnore::load(&root).map_err(BuildError::Invalid)?;
        Ok(Origin::Context { view: FsView::dir(root), ignore })
    }

    pub(super) fn view(&self) -> &FsView {
        match self {
            Origin::Context { view, .. } | Origin::Image { view, .. } => view,
        }
    }

    fn excluded(&self, rel: &Path) -> bool {
        match self {
            Origin::Context { ignore, .. } => !ignore.is_empty() && ignore.excluded(&rel.to_string_lossy()),
            Origin::Image { .. } => false,
        }
    }

    fn has_exceptions(&self) -> bool {
        matches!(self, Origin::Context { ignore, .. } if ignore.has_exceptions())
    }

    fn where_(&self) -> &'static str {
        match self {
            Origin::Context { .. } => "the build context",
            Origin::Image { .. } => "the image",
        }
    }
}

/// An image's filesystem, its layers top first.
pub(super) fn image_view(store: &Store, img: &ImageRecord) -> FsView {
    FsView::layers(img.layers.iter().rev().map(|l| store.layer_dir(l).join("diff")).collect())
}

/// One matched source: the name it is copied as, and what it is (a
/// symlink named as a source is followed).
pub(super) struct Matched {
    pub name: OsString,
    pub node: Node,
}

/// The sources `src` names: a path, or a Go wildcard matched segment by
/// segment. Excluded paths match nothing; none at all is an error.
pub(super) fn expand(origin: &Origin, spec: &AddLayerSpec, src: &str) -> Result<Vec<Matched>> {
    let view = origin.view();
    let io = |e: io::Error| spec.err(src, e);
    let cleaned = super::ignore::clean_rel(&format!("/{src}"));
    let mut out = Vec::new();
    if !has_meta(&cleaned) {
        if let Some(node) = view.lookup(Path::new(&cleaned), true).map_err(io)? {
            let name = Path::new(&cleaned).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| ".".into());
            if !origin.excluded(&node.rel) || (node.meta.is_dir() && origin.has_exceptions()) {
                out.push(Matched { name, node });
            }
        }
    } else {
        let mut frontier = vec![view.root().map_err(io)?];
        let segs: Vec<&str> = cleaned.split('/').filter(|s| !s.is_empty()).collect();
        for (i, seg) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            let mut next = Vec::new();
            for dir in &frontier {
                if !dir.meta.is_dir() {
                    continue;
                }
                if !has_meta(seg) {
                    let p = dir.rel.join(seg);
                    if let Some(n) = view.lookup(&p, true).map_err(io)? {
                        next.push((OsString::from(seg), n));
                    }
                    continue;
                }
                for child in view.list(dir).map_err(io)? {
                    let name = child.rel.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                    let hit = matches(seg, &name.to_string_lossy()).map_err(|e| spec.err(src, e))?;
                    if !hit {
                        continue;
                    }
                    let node = if child.meta.file_type().is_symlink() {
                        match view.lookup(&child.rel, true).map_err(io)? {
                            Some(n) => n,
                            None => continue,
                        }
                    } else {
                        child
                    };
                    next.push((name, node));
                }
            }
            frontier = next.iter().map(|(_, n)| n.clone()).collect();
            if last {
                for (name, node) in next {
                    if !origin.excluded(&node.rel) || (node.meta.is_dir() && origin.has_exceptions()) {
                        out.push(Matched { name, node });
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err(spec.err(src, format!("no such file in {}", origin.where_())));
    }
    Ok(out)
}

/// The entries under the dir `top` (parents first), paths relative to
/// `top`, `.dockerignore` applied (an excluded dir is walked only for the
/// exceptions inside it, and kept only if one matched).
pub(super) fn walk(origin: &Origin, top: &Node) -> io::Result<Vec<(PathBuf, Node)>> {
    let mut out = Vec::new();
    walk_into(origin, top, Path::new(""), &mut out)?;
    Ok(out)
}

fn walk_into(origin: &Origin, dir: &Node, below: &Path, out: &mut Vec<(PathBuf, Node)>) -> io::Result<()> {
    for child in origin.view().list(dir)? {
        let below_c = below.join(child.rel.file_name().unwrap_or_default());
        let excluded = origin.excluded(&child.rel);
        if child.meta.is_dir() {
            if excluded && !origin.has_exceptions() {
                continue;
            }
            let mark = out.len();
            out.push((below_c.clone(), child.clone()));
            walk_into(origin, &child, &below_c, out)?;
            if excluded && out.len() == mark + 1 {
                out.pop();
            }
        } else if !excluded {
            out.push((below_c, child));
        }
    }
    Ok(())
}

/// Makes `rel` and its parents as dirs in the layer `diff`: a dir the
/// image has keeps its owner and mode; a new one is 0755, owned by
/// `owner` (the `--chown` user) or root.
pub(super) fn make_dirs(diff: &Path, image: &FsView, rel: &Path, owner: Option<(u32, u32)>) -> Result<()> {
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
        std::fs::create_dir(&target).map_err(io_err(&target))?;
        let below = image.lookup(&cur, false).ok().flatten().filter(|n| n.meta.is_dir());
        let (uid, gid, mode) = match below {
            Some(n) => (n.meta.uid(), n.meta.gid(), n.meta.mode() & 0o7777),
            None => {
                let (u, g) = owner.unwrap_or((0, 0));
                (u, g, 0o755)
            }
        };
        crate::sys::fs::lchown(&target, uid, gid).map_err(io_err(&target))?;
        crate::sys::fs::chmod(&target, mode).map_err(io_err(&target))?;
    }
    Ok(())
}

/// COPY/ADD: a new layer on top of `reference`.
pub fn add_layer(store: &Store, reference: &str, spec: &AddLayerSpec) -> Result<ImageRecord> {
    let parent = store.resolve_image(reference)?;
    let what = spec.srcs.join(" ");
    if spec.srcs.is_empty() {
        return Err(spec.err(&what, "nothing to copy"));
    }
    if spec.srcs.len() > 1 && !spec.dst.ends_with('/') {
        return Err(spec.err(&what, format!("with several sources the destination must end with / (got {})", spec.dst)));
    }
    let chmod = spec.chmod.as_deref().map(parse_chmod).transpose().map_err(|e| spec.err(&what, e))?;
    let lowers: Vec<PathBuf> = parent.layers.iter().rev().map(|l| store.layer_dir(l).join("diff")).collect();
    let image = FsView::layers(lowers.clone());
    let chown = spec.chown.as_deref().map(|c| resolve_chown(c, &image)).transpose().map_err(|e| spec.err(&what, e))?;
    let origin = Origin::open(store, spec)?;
    // context files become root's; an image's keep their owner
    let attrs = Attrs { owner: chown.or(matches!(origin, Origin::Context { .. }).then_some((0, 0))), chmod };

    enum Src {
        Url(String),
        Local(Matched),
    }
    let mut sources: Vec<(String, Src)> = Vec::new();
    for s in &spec.srcs {
        if url_source(spec, s)? {
            sources.push((s.clone(), Src::Url(s.clone())));
        } else {
            for m in expand(&origin, spec, s)? {
                sources.push((s.clone(), Src::Local(m)));
            }
        }
    }
    if sources.len() > 1 && !spec.dst.ends_with('/') {
        return Err(spec.err(&what, format!("matches several files: the destination must end with / (got {})", spec.dst)));
    }
    if spec.checksum.is_some() && !sources.iter().all(|(_, s)| matches!(s, Src::Url(_))) {
        return Err(spec.err(&what, "--checksum is only for URLs"));
    }

    let _producing = store.layer_producer_lock()?;
    let workdir = parent.config.working_dir.clone().unwrap_or_else(|| "/".into());
    let dst_abs = clean_abs(&workdir, &spec.dst);
    let (layer, _) = stage_layer(store, |diff| {
        std::fs::create_dir(diff).map_err(io_err(diff))?;
        if let Ok(root) = image.root() {
            // the layer root keeps the image's root mode
            let _ = crate::sys::fs::chmod(diff, root.meta.mode() & 0o7777);
        }
        let mut tops = vec![diff.to_path_buf()];
        tops.extend(lowers.iter().cloned());
        let merged = FsView::layers(tops);
        let dst_rel = merged.resolve_dest(Path::new(&dst_abs)).map_err(|e| spec.err(&what, format!("destination {}: {e}", spec.dst)))?;
        let dst_is_dir = spec.dst.ends_with('/')
            || [".", ".."].contains(&spec.dst.as_str())
            || spec.dst.ends_with("/.")
            || spec.dst.ends_with("/..")
            || dst_rel.as_os_str().is_empty()
            || merged.lookup(&dst_rel, true).ok().flatten().is_some_and(|n| n.meta.is_dir());
        for (src, s) in &sources {
            match s {
                Src::Url(url) => {
                    let got = fetch::take(store, url, spec.checksum.as_deref()).map_err(|e| spec.err(url, e))?;
                    let target = if dst_is_dir { dst_rel.join(&got.name) } else { dst_rel.clone() };
                    let r = (|| {
                        make_dirs(diff, &image, target.parent().unwrap_or(Path::new("")), chown)?;
                        let t = diff.join(&target);
                        clear(&t, false)?;
                        std::fs::copy(&got.path, &t).map_err(io_err(&t))?;
                        crate::sys::fs::lchown(&t, chown.map_or(0, |c| c.0), chown.map_or(0, |c| c.1)).map_err(io_err(&t))?;
                        crate::sys::fs::chmod(&t, chmod.unwrap_or(0o600)).map_err(io_err(&t))
                    })();
                    let _ = std::fs::remove_file(&got.path);
                    r?;
                }
                Src::Local(m) if m.node.meta.is_dir() => {
                    make_dirs(diff, &image, &dst_rel, chown)?;
                    for (below, node) in walk(&origin, &m.node).map_err(|e| spec.err(src, e))? {
                        put(&node, &diff.join(&dst_rel).join(&below), attrs)?;
                    }
                }
                Src::Local(m) if spec.add && m.node.meta.is_file() && add_tar::is_tar(&m.node.host).map_err(|e| spec.err(src, e))? => {
                    make_dirs(diff, &image, &dst_rel, chown)?;
                    add_tar::extract(&m.node.host, diff, &dst_rel, attrs_for_tar(chown, chmod)).map_err(|e| spec.err(src, e))?;
                }
                Src::Local(m) => {
                    let target = if dst_is_dir { dst_rel.join(&m.name) } else { dst_rel.clone() };
                    if target.as_os_str().is_empty() {
                        return Err(spec.err(src, format!("bad destination {}", spec.dst)));
                    }
                    make_dirs(diff, &image, target.parent().unwrap_or(Path::new("")), chown)?;
                    put(&m.node, &diff.join(&target), attrs)?;
                }
            }
        }
        Ok(())
    })?;
    let mut layers = parent.layers.clone();
    layers.push(layer.clone());
    let history = HistoryEntry {
        created: crate::state::now(),
        created_by: spec.created_by.clone().unwrap_or_else(|| format!("{} {} {}", spec.instr(), what, spec.dst)),
        comment: None,
        empty_layer: false,
    };
    let child = child_of(store, Some(&parent), layers, parent.config.clone(), history);
    Ok(record_child(store, child, spec.tag.as_deref(), None, Some(&layer))?.image)
}

/// A tar's entries keep the owner the archive gives them unless --chown.
fn attrs_for_tar(chown: Option<(u32, u32)>, chmod: Option<u32>) -> Attrs {
    Attrs { owner: chown, chmod }
}
