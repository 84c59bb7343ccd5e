//! `bocker export`: a container's filesystem — its image's layers and its
//! own changes, flattened as its overlay shows them (whiteouts applied,
//! opaque directories hiding what is below) — as one plain tar.
use crate::image::archive::{write_output, ArchiveError, Output, Staging};
use crate::image::layer_tar;
use crate::state::Store;
use std::io;
use std::path::PathBuf;

/// Writes the filesystem of container `reference` to `out`; returns the
/// container's id. The layers are flattened into a staging dir first
/// (`storage::flatten`, which never follows the image's symlinks).
pub fn export_container(store: &Store, reference: &str, out: Output<'_>) -> Result<String, ArchiveError> {
    let rec = store.resolve_container(reference)?;
    let stage = Staging::new(store, "export-")?;
    let root = stage.path().join("rootfs");
    std::fs::create_dir(&root).map_err(|source| ArchiveError::Io { path: root.display().to_string(), source })?;
    let mut dirs: Vec<PathBuf> = rec.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
    let upper = store.container_dir(&rec.id).join("upper");
    if upper.is_dir() {
        dirs.push(upper);
    }
    let refs: Vec<&std::path::Path> = dirs.iter().map(|d| d.as_path()).collect();
    crate::storage::flatten::flatten(&refs, &root).map_err(|source| ArchiveError::Io { path: root.display().to_string(), source })?;
    write_output(out, |w| layer_tar::write_layer_tar(&root, w).map(|_| ()).map_err(|e| io::Error::other(e.to_string())))?;
    Ok(rec.id)
}
