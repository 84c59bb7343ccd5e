//! Flattens overlay lower dirs (bottom first) into one plain root
//! filesystem, as an overlay mount would show them: a char 0/0 whiteout
//! deletes what lower layers had, a dir marked `trusted.overlay.opaque=y`
//! hides their contents, anything else replaces what was there. For
//! bundles other OCI runtimes run (they take a plain rootfs folder).
//!
//! The layers are the image's (hostile input): the destination is
//! written so that no symlink a lower layer left is ever followed — a
//! directory replaces a non-directory before anything goes into it, and
//! every other entry is removed and made anew.
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Merges `layers` (bottom first) into `dest` (an empty folder).
pub fn flatten(layers: &[&Path], dest: &Path) -> io::Result<()> {
    for layer in layers {
        merge_dir(layer, dest)?;
    }
    Ok(())
}

fn is_whiteout(md: &std::fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

fn is_opaque(dir: &Path) -> bool {
    crate::fsutil::lgetxattr(dir.as_os_str().as_encoded_bytes(), b"trusted.overlay.opaque")
        .ok()
        .flatten()
        .is_some_and(|v| v == b"y")
}

/// Removes whatever is at `p` (a tree too), never following a symlink.
fn remove_any(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(md) if md.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn merge_dir(src: &Path, dst: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let s = entry.path();
        let d = dst.join(entry.file_name());
        let md = std::fs::symlink_metadata(&s)?;
        if is_whiteout(&md) {
            remove_any(&d)?;
            continue;
        }
        if md.is_dir() {
            let keep = matches!(std::fs::symlink_metadata(&d), Ok(m) if m.is_dir()) && !is_opaque(&s);
            if !keep {
                remove_any(&d)?;
                std::fs::create_dir(&d)?;
            }
            merge_dir(&s, &d)?;
            super::copy::set_meta(&d, &md)?;
        } else {
            remove_any(&d)?;
            super::copy::copy_entry(&s, &d)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn whiteouts_opaque_dirs_and_symlinks_never_followed() {
        if !nix::unistd::geteuid().is_root() {
            return; // whiteouts are device nodes: root only
        }
        let t = tempfile::tempdir().unwrap();
        let (l1, l2, out, outside) = (t.path().join("l1"), t.path().join("l2"), t.path().join("out"), t.path().join("outside"));
        for d in [&l1, &l2, &out, &outside] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::create_dir_all(l1.join("etc")).unwrap();
        std::fs::write(l1.join("etc/a"), "1").unwrap();
        std::fs::write(l1.join("etc/gone"), "x").unwrap();
        std::fs::create_dir_all(l1.join("opq")).unwrap();
        std::fs::write(l1.join("opq/old"), "x").unwrap();
        // a lower symlink to a host folder, replaced by a dir above
        symlink(&outside, l1.join("trap")).unwrap();
        // the upper layer
        std::fs::create_dir_all(l2.join("etc")).unwrap();
        std::fs::write(l2.join("etc/a"), "2").unwrap();
        crate::sys::fs::mknod(&l2.join("etc/gone"), libc::S_IFCHR, 0).unwrap();
        std::fs::create_dir_all(l2.join("opq")).unwrap();
        crate::fsutil::lsetxattr_at(
            crate::fsutil::open_dir_path(&l2).unwrap().as_fd(), b"opq", b"trusted.overlay.opaque", b"y",
        )
        .unwrap();
        std::fs::write(l2.join("opq/new"), "n").unwrap();
        std::fs::create_dir_all(l2.join("trap")).unwrap();
        std::fs::write(l2.join("trap/file"), "t").unwrap();
        flatten(&[&l1, &l2], &out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("etc/a")).unwrap(), "2");
        assert!(!out.join("etc/gone").exists());
        assert!(!out.join("opq/old").exists() && out.join("opq/new").exists());
        assert!(std::fs::symlink_metadata(out.join("trap")).unwrap().is_dir());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "wrote through a lower layer's symlink");
    }
    use std::os::fd::AsFd;
}
