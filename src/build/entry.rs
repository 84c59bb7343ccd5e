//! One entry written into a new layer, and what COPY/ADD share for it:
//! opening a source without following its last symlink, the owner/mode
//! overrides, clearing what is in the way.
use super::fsview::Node;
use super::{io_err, BuildError, Result};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Opens a regular file without following a symlink at its last component.
pub(super) fn open_nofollow(p: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(p)
}

/// Owner and mode of what a step writes: `owner` None keeps the source's.
#[derive(Clone, Copy)]
pub(super) struct Attrs {
    pub owner: Option<(u32, u32)>,
    pub chmod: Option<u32>,
}

impl Attrs {
    pub(super) fn apply(&self, target: &Path, src: &std::fs::Metadata) -> Result<()> {
        let (uid, gid) = self.owner.unwrap_or((src.uid(), src.gid()));
        crate::sys::fs::lchown(target, uid, gid).map_err(io_err(target))?;
        if !src.file_type().is_symlink() {
            let mode = self.chmod.unwrap_or(src.mode() & 0o7777);
            crate::sys::fs::chmod(target, mode).map_err(io_err(target))?;
        }
        Ok(())
    }
}

/// Removes whatever is at `p` (not following a symlink) unless `keep_dir`
/// and it is a dir.
pub(super) fn clear(p: &Path, keep_dir: bool) -> Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() && keep_dir => Ok(()),
        Ok(m) if m.is_dir() => crate::storage::remove_tree(p).map_err(io_err(p)),
        Ok(_) => std::fs::remove_file(p).map_err(io_err(p)),
        Err(_) => Ok(()),
    }
}

/// Writes one entry (not its children) at `target` in the new layer.
pub(super) fn put(node: &Node, target: &Path, attrs: Attrs) -> Result<()> {
    let m = &node.meta;
    let ft = m.file_type();
    // parents are put (or made) before their entries, as real dirs: never
    // write through a symlink an earlier source left in the layer
    if let Some(parent) = target.parent() {
        if !std::fs::symlink_metadata(parent).is_ok_and(|p| p.is_dir()) {
            return Err(BuildError::Invalid(format!("{}: its parent in the layer is not a directory", node.rel.display())));
        }
    }
    clear(target, ft.is_dir())?;
    if ft.is_dir() {
        if std::fs::symlink_metadata(target).is_err() {
            std::fs::create_dir(target).map_err(io_err(target))?;
        }
    } else if ft.is_file() {
        let mut from = open_nofollow(&node.host).map_err(io_err(&node.host))?;
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(target)
            .map_err(io_err(target))?;
        io::copy(&mut from, &mut to).map_err(io_err(target))?;
    } else if ft.is_symlink() {
        let t = std::fs::read_link(&node.host).map_err(io_err(&node.host))?;
        std::os::unix::fs::symlink(t, target).map_err(io_err(target))?;
    } else if ft.is_char_device() && m.rdev() == 0 {
        // in a layer this would be a whiteout
        return Err(BuildError::Invalid(format!("{}: a char device 0/0 cannot be copied", node.rel.display())));
    } else {
        crate::sys::fs::mknod(target, m.mode(), m.rdev()).map_err(io_err(target))?;
    }
    attrs.apply(target, m)
}

