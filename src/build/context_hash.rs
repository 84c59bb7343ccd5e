//! The build cache's content hash of COPY sources.
use super::copy::resolve_src;
use super::{io_err, BuildError, Result};
use sha2::{Digest as _, Sha256};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A content hash of build-context sources (paths, types, modes, owners,
/// file contents, symlink targets), for the build cache.
pub fn hash_sources(context: &str, srcs: &[String]) -> Result<String> {
    let context = Path::new(context)
        .canonicalize()
        .map_err(|e| BuildError::Invalid(format!("build context {context}: {e}")))?;
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
