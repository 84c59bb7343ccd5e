//! The build cache's key of a COPY/ADD step, as BuildKit keys it: the
//! step's options and the content of its sources (relative paths, types,
//! permission bits, file contents, symlink targets; not mtimes or
//! owners, which COPY replaces), `.dockerignore` applied. An image's files
//! (`from`) are keyed by the image id (images never change); an ADD URL by
//! URL and `--checksum`, or else by the sha256 of a download. A stat memo
//! spares reading an untouched context again.
use super::copy::{expand, url_source, walk, AddLayerSpec, Matched, Origin};
use super::fetch;
use super::fsview::Node;
use super::{io_err, Result};
use crate::state::Store;
use sha2::{Digest as _, Sha256};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A memo entry is only written when every source's ctime is older than
/// this: a file changed again within the same timestamp tick as its stat
/// must not be taken for unchanged (git's "racily clean" rule).
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The content key of a COPY/ADD step (hex); the caller adds the parent
/// image. Context sources are remembered by their stat (path, inode,
/// size, mtime, ctime) in the build cache, so an untouched context is not
/// read again; a touched one is hashed (and keeps its key if unchanged).
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
    // every context source with the entries under it
    let mut listed: Vec<(&String, Vec<(Matched, Vec<(PathBuf, Node)>)>)> = Vec::new();
    let mut any_url = false;
    for s in &spec.srcs {
        if url_source(spec, s)? {
            any_url = true;
            continue;
        }
        if from_id.is_some() {
            continue;
        }
        let mut per = Vec::new();
        for m in expand(&origin, spec, s)? {
            let below = if m.node.meta.is_dir() { walk(&origin, &m.node).map_err(|e| spec.err(s, e))? } else { Vec::new() };
            per.push((m, below));
        }
        listed.push((s, per));
    }
    let memo = (!any_url && from_id.is_none()).then(|| stat_memo_key(&head, &listed));
    if let Some((mk, _)) = &memo {
        if let Some(k) = store.build_cache_get(mk) {
            return Ok(k);
        }
    }
    let mut listed = listed.into_iter();
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
        let (_, per) = listed.next().expect("listed in the same order");
        for (m, below) in per {
            h.update(m.name.as_encoded_bytes());
            hash_node(&mut h, Path::new(""), &m.node)?;
            for (b, node) in below {
                hash_node(&mut h, &b, &node)?;
            }
        }
    }
    let key = hex::encode(h.finalize());
    if let Some((mk, newest_ctime)) = memo {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        if newest_ctime < now - RACY_WINDOW.as_secs() as i64 {
            let _ = store.build_cache_put(&mk, &key);
        }
    }
    Ok(key)
}

/// The memo key of listed context sources (from their stat, no content
/// read) and the newest ctime (seconds) among them.
fn stat_memo_key(head: &serde_json::Value, listed: &[(&String, Vec<(Matched, Vec<(PathBuf, Node)>)>)]) -> (String, i64) {
    let mut h = Sha256::new();
    h.update(b"copy-stat-memo\0");
    h.update(head.to_string().as_bytes());
    let mut newest = 0;
    let mut stat = |h: &mut Sha256, below: &Path, n: &Node| {
        let m = &n.meta;
        newest = newest.max(m.ctime());
        h.update(n.host.as_os_str().as_encoded_bytes());
        h.update(below.as_os_str().as_encoded_bytes());
        h.update(format!("\0{} {} {:o} {} {}.{} {}.{}\0", m.dev(), m.ino(), m.mode(), m.len(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()).as_bytes());
    };
    for (s, per) in listed {
        h.update(s.as_bytes());
        h.update([0]);
        for (m, below) in per {
            h.update(m.name.as_encoded_bytes());
            stat(&mut h, Path::new(""), &m.node);
            for (b, node) in below {
                stat(&mut h, b, node);
            }
        }
    }
    (hex::encode(h.finalize()), newest)
}

fn hash_node(h: &mut Sha256, below: &Path, n: &Node) -> Result<()> {
    let m = &n.meta;
    h.update(below.as_os_str().as_encoded_bytes());
    // type and permission bits (S_IFMT included), size for files
    h.update(format!("\0{:o} {}\0", m.mode(), if m.is_file() { m.len() } else { 0 }).as_bytes());
    if m.file_type().is_symlink() {
        h.update(std::fs::read_link(&n.host).map_err(io_err(&n.host))?.as_os_str().as_encoded_bytes());
    } else if m.is_file() {
        let mut f = super::entry::open_nofollow(&n.host).map_err(io_err(&n.host))?;
        std::io::copy(&mut f, h).map_err(io_err(&n.host))?;
    }
    Ok(())
}

/// The content hash of context sources (`bocker.build.hash_sources`).
pub fn hash_sources(store: &Store, context: &str, srcs: &[String]) -> Result<String> {
    let spec = AddLayerSpec { srcs: srcs.to_vec(), dst: "/".into(), context: Some(context.into()), ..Default::default() };
    copy_key(store, &spec)
}
