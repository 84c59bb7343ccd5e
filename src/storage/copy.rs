//! Copies a root filesystem folder into a layer, keeping what a root
//! filesystem needs: owners, modes (setuid too), times, xattrs, symlinks,
//! hardlinks, device nodes and fifos.
use crate::sys::fs::{cstr, lchown, lgetxattr_into, llistxattr_into, lsetxattr, lutimens, mknod};
use std::collections::HashMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

pub(super) fn copy_xattrs(src: &Path, dst: &Path) -> io::Result<()> {
    let s = cstr(src.as_os_str().as_bytes())?;
    let d = cstr(dst.as_os_str().as_bytes())?;
    let mut names = vec![0u8; 4096];
    let n = match llistxattr_into(&s, &mut names) {
        Ok(n) if n > 0 => n,
        _ => return Ok(()),
    };
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let cname = cstr(name).map_err(|_| io::Error::other("bad xattr name"))?;
        let mut val = vec![0u8; 65536];
        let Ok(len) = lgetxattr_into(&s, &cname, &mut val) else { continue };
        let _ = lsetxattr(&d, &cname, &val[..len]);
    }
    Ok(())
}

pub(super) fn set_meta(dst: &Path, md: &std::fs::Metadata) -> io::Result<()> {
    lchown(dst, md.uid(), md.gid())?;
    if !md.file_type().is_symlink() {
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
    }
    set_times(dst, md)
}

fn set_times(dst: &Path, md: &std::fs::Metadata) -> io::Result<()> {
    let ts = [
        libc::timespec { tv_sec: md.atime(), tv_nsec: md.atime_nsec() },
        libc::timespec { tv_sec: md.mtime(), tv_nsec: md.mtime_nsec() },
    ];
    lutimens(dst, ts)
}

/// Copies `src` (a folder) into `dst` (created; must not exist).
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let mut links: HashMap<(u64, u64), std::path::PathBuf> = HashMap::new();
    let md = std::fs::symlink_metadata(src)?;
    std::fs::create_dir(dst)?;
    copy_dir(src, dst, &mut links)?;
    copy_xattrs(src, dst)?;
    set_meta(dst, &md)
}

/// Copies the contents of folder `src` into the existing folder `dst`
/// (a volume being filled from the image), keeping `dst`'s own metadata
/// but taking `src`'s owner and mode, as Docker does.
pub fn copy_contents(src: &Path, dst: &Path) -> io::Result<()> {
    let mut links: HashMap<(u64, u64), std::path::PathBuf> = HashMap::new();
    let md = std::fs::metadata(src)?;
    copy_dir(src, dst, &mut links)?;
    set_meta(dst, &md)
}

/// Copies one non-directory entry (file, symlink, device, fifo) with its
/// owner, mode, times and xattrs; `dst` must not exist.
pub fn copy_entry(src: &Path, dst: &Path) -> io::Result<()> {
    let md = std::fs::symlink_metadata(src)?;
    let ft = md.file_type();
    if ft.is_dir() {
        return copy_tree(src, dst);
    } else if ft.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dst)?;
    } else if ft.is_file() {
        std::fs::copy(src, dst)?;
    } else {
        mknod(dst, md.mode(), md.rdev())?;
    }
    copy_xattrs(src, dst)?;
    set_meta(dst, &md)
}

fn copy_dir(src: &Path, dst: &Path, links: &mut HashMap<(u64, u64), std::path::PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let s = entry.path();
        let d = dst.join(entry.file_name());
        let md = std::fs::symlink_metadata(&s)?;
        let ft = md.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&d)?;
            copy_dir(&s, &d, links)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&s)?, &d)?;
        } else if ft.is_file() {
            if md.nlink() > 1 {
                if let Some(first) = links.get(&(md.dev(), md.ino())) {
                    std::fs::hard_link(first, &d)?;
                    continue;
                }
                links.insert((md.dev(), md.ino()), d.clone());
            }
            std::fs::copy(&s, &d)?;
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() || ft.is_socket() {
            mknod(&d, md.mode(), md.rdev())?;
        }
        copy_xattrs(&s, &d)?;
        set_meta(&d, &md)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn copies_dotfiles_links_and_modes() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("bin")).unwrap();
        std::fs::write(src.join(".hidden"), "x").unwrap();
        std::fs::write(src.join("bin/tool"), "y").unwrap();
        std::fs::set_permissions(src.join("bin/tool"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::fs::hard_link(src.join("bin/tool"), src.join("bin/alias")).unwrap();
        std::os::unix::fs::symlink("/bin/tool", src.join("link")).unwrap();
        let dst = t.path().join("dst");
        copy_tree(&src, &dst).unwrap();
        assert_eq!(std::fs::read_to_string(dst.join(".hidden")).unwrap(), "x");
        let m = std::fs::metadata(dst.join("bin/tool")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o4755);
        assert_eq!(m.ino(), std::fs::metadata(dst.join("bin/alias")).unwrap().ino());
        assert_eq!(std::fs::read_link(dst.join("link")).unwrap(), Path::new("/bin/tool"));
    }
}
