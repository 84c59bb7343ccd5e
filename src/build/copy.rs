//! `COPY`: host files from a build context into a new layer
//! (`bocker.image.add_layer`).
use super::changes::clean_abs;
use super::layer::{child_of, record_child, stage_layer};
use super::{io_err, BuildError, Result};
use crate::state::images::{HistoryEntry, ImageRecord};
use crate::state::Store;
use serde::Deserialize;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

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

/// A source inside the context: relative, no escape (also not through a
/// symlink: the canonical path must stay inside the canonical context).
pub(super) fn resolve_src(context: &Path, src: &str) -> Result<PathBuf> {
    let rel = clean_abs("/", src);
    let p = context.join(rel.trim_start_matches('/'));
    let canon = p.canonicalize().map_err(|e| BuildError::Invalid(format!("COPY {src}: {e}")))?;
    if !canon.starts_with(context) {
        return Err(BuildError::Invalid(format!("COPY {src}: outside the build context")));
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
        .map_err(|e| BuildError::Invalid(format!("build context {}: {e}", spec.context)))?;
    if spec.copy.is_empty() {
        return Err(BuildError::Invalid("add_layer: nothing to copy".into()));
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
                    return Err(BuildError::Invalid(format!("COPY {}: bad destination {}", c.src, c.dst)));
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
