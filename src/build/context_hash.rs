//! The build cache's key of a COPY/ADD step, as BuildKit keys it: the
//! step's options and the content of its sources (relative paths, types,
//! permission bits, file contents, symlink targets; not mtimes or
//! owners, which COPY replaces), `.dockerignore` applied. An image's files
//! (`from`) are keyed by the image id (images never change); an ADD URL by
//! URL and `--checksum`, or else by the sha256 of a download.
use super::copy::{expand, url_source, walk, AddLayerSpec, Origin};
use super::fetch;
use super::fsview::Node;
use super::{io_err, Result};
use crate::state::Store;
use sha2::{Digest as _, Sha256};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The content key of a COPY/ADD step (hex); the caller adds the parent
/// image.
pub fn copy_key(store: &Store, spec: &AddLayerSpec) -> Result<String> {
    let origin = Origin::open(store, spec)?;
    let mut h = Sha256::new();
    let from_id = match &origin {
        Origin::Image { id, .. } => Some(id.as_str()),
        Origin::Context { .. } => None,
    };
    let head = serde_json::json!([spec.instr(), spec.dst, spec.chown, spec.chmod, spec.link, spec.checksum, from_id]);
    h.update(head.to_string().as_bytes());
    if let Some(c) = &spec.checksum {
        fetch::check_checksum(c).map_err(|e| spec.err(&spec.srcs.join(" "), e))?;
    }
    for s in &spec.srcs {
        h.update([0]);
        h.update(s.as_bytes());
        h.update([0]);
        if url_source(spec, s)? {
            match &spec.checksum {
                Some(c) => h.update(c.as_bytes()),
                None => h.update(fetch::content_hash(store, s).map_err(|e| spec.err(s, e))?.as_bytes()),
            }
            continue;
        }
        if from_id.is_some() {
            continue;
        }
        for m in expand(&origin, spec, s)? {
            h.update(m.name.as_encoded_bytes());
            hash_node(&mut h, Path::new(""), &m.node)?;
            if m.node.meta.is_dir() {
                for (below, node) in walk(&origin, &m.node).map_err(|e| spec.err(s, e))? {
                    hash_node(&mut h, &below, &node)?;
                }
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn hash_node(h: &mut Sha256, below: &Path, n: &Node) -> Result<()> {
    let m = &n.meta;
    h.update(below.as_os_str().as_encoded_bytes());
    // type and permission bits (S_IFMT included), size for files
    h.update(format!("\0{:o} {}\0", m.mode(), if m.is_file() { m.len() } else { 0 }).as_bytes());
    if m.file_type().is_symlink() {
        h.update(std::fs::read_link(&n.host).map_err(io_err(&n.host))?.as_os_str().as_encoded_bytes());
    } else if m.is_file() {
        let mut f = super::copy::open_nofollow(&n.host).map_err(io_err(&n.host))?;
        std::io::copy(&mut f, h).map_err(io_err(&n.host))?;
    }
    Ok(())
}

/// The content hash of context sources (`bocker.build.hash_sources`).
pub fn hash_sources(store: &Store, context: &str, srcs: &[String]) -> Result<String> {
    let spec = AddLayerSpec { srcs: srcs.to_vec(), dst: "/".into(), context: Some(context.into()), ..Default::default() };
    copy_key(store, &spec)
}
