//! `docker diff`: what a container changed in its filesystem, read from
//! its overlay upper dir. A whiteout (char 0/0) is a deleted path; a
//! path that none of the image's layers has is added; anything else in
//! the upper dir is changed (a directory that holds changes is changed
//! too, as Docker reports it). The container writes the upper dir, so it
//! is walked by fd and nothing in it is followed.
use super::{ContainerError, Result};
use crate::fsutil;
use crate::state::Store;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Docker's kinds: 0 modified, 1 added, 2 deleted.
#[derive(serde::Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Modified = 0,
    Added = 1,
    Deleted = 2,
}

#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: Kind,
}

/// More entries than this in one upper dir are not listed (a container
/// can make millions of files; the answer is held in memory).
const MAX_CHANGES: usize = 200_000;

/// The changes of container `reference`, sorted by path.
pub fn changes(store: &Store, reference: &str) -> Result<Vec<Change>> {
    let rec = store.resolve_container(reference)?;
    let upper = store.container_dir(&rec.id).join("upper");
    let Ok(top) = fsutil::open_dir_path(&upper) else { return Ok(Vec::new()) };
    let mut lowers = Vec::new();
    for l in rec.layers.iter().rev() {
        let p = store.layer_dir(l).join("diff");
        lowers.push(fsutil::open_dir_path(&p).map_err(|e| ContainerError::Invalid(format!("{}: {e}", p.display())))?);
    }
    let mut out = Vec::new();
    let rd = fsutil::openat_nofollow(top.as_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(|e| ContainerError::Invalid(format!("{}: {e}", upper.display())))?;
    walk(rd, "", &lowers, &mut out).map_err(|e| ContainerError::Invalid(format!("reading the changes of {}: {e}", rec.id)))?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn in_lower(lowers: &[OwnedFd], path: &str) -> bool {
    let rel = path.trim_start_matches('/').as_bytes();
    // the first layer (from the top) that has the path or whites it out decides
    for l in lowers {
        match fsutil::openat2_in_root(l.as_fd(), rel, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => {
                let whiteout = nix::sys::stat::fstat(fd.as_fd()).map(|st| is_whiteout(&st)).unwrap_or(false);
                return !whiteout;
            }
            Err(_) => continue,
        }
    }
    false
}

fn is_whiteout(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0
}

fn too_deep(prefix: &str) -> io::Result<()> {
    if prefix.matches('/').count() > super::archive::MAX_DEPTH {
        return Err(io::Error::other(format!("{prefix}: more than {} directories deep", super::archive::MAX_DEPTH)));
    }
    Ok(())
}

fn walk(dir: OwnedFd, prefix: &str, lowers: &[OwnedFd], out: &mut Vec<Change>) -> io::Result<()> {
    too_deep(prefix)?;
    let names = fsutil::list_dir(dir.try_clone()?)?;
    for name in names {
        if out.len() >= MAX_CHANGES {
            return Err(io::Error::other(format!("more than {MAX_CHANGES} changes")));
        }
        let path = format!("{prefix}/{}", String::from_utf8_lossy(&name));
        let Some(st) = fsutil::lstat_at(dir.as_fd(), &name)? else { continue };
        if is_whiteout(&st) {
            out.push(Change { path, kind: Kind::Deleted });
            continue;
        }
        let existed = in_lower(lowers, &path);
        out.push(Change { path: path.clone(), kind: if existed { Kind::Modified } else { Kind::Added } });
        if fsutil::is_dir(&st) {
            let sub = fsutil::openat_nofollow(dir.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
            if existed && opaque(sub.as_fd()) {
                // an opaque directory replaced the lower one whole: what
                // it held below is gone, what it holds now is new
                walk_added(sub, &path, out)?;
            } else {
                walk(sub, &path, lowers, out)?;
            }
        }
    }
    Ok(())
}

fn opaque(dir: BorrowedFd<'_>) -> bool {
    matches!(fsutil::lgetxattr_at(dir, b".", crate::image::extract::OVERLAY_OPAQUE_XATTR), Ok(Some(v)) if v == b"y")
}

/// Everything under a directory that is new as a whole.
fn walk_added(dir: OwnedFd, prefix: &str, out: &mut Vec<Change>) -> io::Result<()> {
    too_deep(prefix)?;
    for name in fsutil::list_dir(dir.try_clone()?)? {
        if out.len() >= MAX_CHANGES {
            return Err(io::Error::other(format!("more than {MAX_CHANGES} changes")));
        }
        let path = format!("{prefix}/{}", String::from_utf8_lossy(&name));
        let Some(st) = fsutil::lstat_at(dir.as_fd(), &name)? else { continue };
        if is_whiteout(&st) {
            continue;
        }
        out.push(Change { path: path.clone(), kind: Kind::Added });
        if fsutil::is_dir(&st) {
            let sub = fsutil::openat_nofollow(dir.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
            walk_added(sub, &path, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn kinds_from_upper_and_lower() {
        let t = tempfile::tempdir().unwrap();
        let (lower, upper) = (t.path().join("lower"), t.path().join("upper"));
        std::fs::create_dir_all(lower.join("etc")).unwrap();
        std::fs::write(lower.join("etc/passwd"), "x").unwrap();
        std::fs::write(lower.join("gone"), "x").unwrap();
        std::fs::create_dir_all(upper.join("etc")).unwrap();
        std::fs::write(upper.join("etc/passwd"), "y").unwrap();
        std::fs::write(upper.join("new"), "n").unwrap();
        nix::sys::stat::mknod(&upper.join("gone"), nix::sys::stat::SFlag::S_IFCHR, nix::sys::stat::Mode::from_bits_truncate(0o600), 0).unwrap();
        let lowers = vec![fsutil::open_dir_path(&lower).unwrap()];
        let top = fsutil::open_dir_path(&upper).unwrap();
        let rd = fsutil::openat_nofollow(top.as_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap();
        let mut out = Vec::new();
        walk(rd, "", &lowers, &mut out).unwrap();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        let got: Vec<(&str, Kind)> = out.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        assert_eq!(got, vec![("/etc", Kind::Modified), ("/etc/passwd", Kind::Modified), ("/gone", Kind::Deleted), ("/new", Kind::Added)]);
    }
}
