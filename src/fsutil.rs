//! Small fd-based filesystem helpers (thin wrappers over libc) used by
//! extraction and the layer store: nothing here follows a symlink unless it
//! says so.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::sys::fs::{
    chmod_at, cstr, fchmod, fchown, fsetxattr, futimes, lchown_at, link_at, lstat_at, lutimes_at, mkdir_at, mknod_at,
    open_dir_path, openat2_in_root, openat_nofollow, read_link_at, rename_noreplace, symlink_at, syncfs,
};

pub fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// setxattr on `name` inside `dir` without following it if it is a symlink
/// (through the /proc/self/fd path of the directory handle).
pub fn lsetxattr_at(dir: BorrowedFd<'_>, name: &[u8], key: &[u8], value: &[u8]) -> io::Result<()> {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    crate::sys::fs::lsetxattr(&cstr(&p)?, &cstr(key)?, value)
}

pub fn lgetxattr_at(dir: BorrowedFd<'_>, name: &[u8], key: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    lgetxattr(&p, key)
}

pub fn lgetxattr(path: &[u8], key: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let pc = cstr(path)?;
    let k = cstr(key)?;
    let mut buf = vec![0u8; 4096];
    match crate::sys::fs::lgetxattr_into(&pc, &k, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENODATA) | Some(libc::ENOTSUP)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Remove `name` in `dir`, recursively if it is a directory, never
/// following symlinks. Walks with a stack of open directories, not by
/// recursion: a tree a container made can be deeper than a thread's stack
/// (too deep for the fd limit is an error, not a crash).
pub fn remove_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    use std::os::fd::AsFd;
    let Some(st) = lstat_at(dir, name)? else {
        return Ok(());
    };
    if !is_dir(&st) {
        return crate::sys::fs::unlink_at(dir, name, false);
    }
    let open_dir = |at: BorrowedFd<'_>, n: &[u8]| openat_nofollow(at, n, libc::O_RDONLY | libc::O_DIRECTORY, 0);
    // (the directory if open, the names in it still to remove, its name in
    // the one below it on the stack); only the last REMOVE_OPEN_FDS levels
    // (and the first) hold a descriptor, so no depth runs out of them
    let top = open_dir(dir, name)?;
    let names = list_dir(top.try_clone()?)?;
    let mut stack: Vec<(Option<OwnedFd>, Vec<Vec<u8>>, Vec<u8>)> = vec![(Some(top), names, name.to_vec())];
    loop {
        let Some(last) = stack.len().checked_sub(1) else { return Ok(()) };
        if stack[last].0.is_none() {
            reopen_down_to(&mut stack, last, &open_dir)?;
        }
        let (d, names, _) = &mut stack[last];
        let d = d.as_ref().expect("the top is open");
        let Some(n) = names.pop() else {
            let (_, _, own) = stack.pop().expect("the stack is not empty");
            match stack.len().checked_sub(1) {
                Some(parent) => {
                    if stack[parent].0.is_none() {
                        reopen_down_to(&mut stack, parent, &open_dir)?;
                    }
                    let p = stack[parent].0.as_ref().expect("reopened");
                    crate::sys::fs::unlink_at(p.as_fd(), &own, true)?;
                }
                None => return crate::sys::fs::unlink_at(dir, name, true),
            }
            continue;
        };
        match lstat_at(d.as_fd(), &n)? {
            None => {}
            Some(st) if is_dir(&st) => {
                let sub = open_dir(d.as_fd(), &n)?;
                let names = list_dir(sub.try_clone()?)?;
                stack.push((Some(sub), names, n));
                let len = stack.len();
                if len > REMOVE_OPEN_FDS + 1 {
                    stack[len - REMOVE_OPEN_FDS - 1].0 = None;
                }
            }
            Some(_) => crate::sys::fs::unlink_at(d.as_fd(), &n, false)?,
        }
    }
}

/// Descriptors `remove_at` holds at most (besides its first directory's).
const REMOVE_OPEN_FDS: usize = 128;

/// Opens `stack[idx]` again by name from the nearest open level below it
/// (never through `..`), keeping at most `REMOVE_OPEN_FDS` of the levels
/// it passes open.
fn reopen_down_to(stack: &mut [(Option<OwnedFd>, Vec<Vec<u8>>, Vec<u8>)], idx: usize, open_dir: &dyn Fn(BorrowedFd<'_>, &[u8]) -> io::Result<OwnedFd>) -> io::Result<()> {
    use std::os::fd::AsFd;
    let from = (0..idx).rev().find(|&j| stack[j].0.is_some()).expect("the first level stays open");
    for k in from + 1..=idx {
        let fd = open_dir(stack[k - 1].0.as_ref().expect("opened on the way").as_fd(), &stack[k].2)?;
        stack[k].0 = Some(fd);
        if k - 1 > 0 && idx - (k - 1) >= REMOVE_OPEN_FDS {
            stack[k - 1].0 = None;
        }
    }
    Ok(())
}

/// Names in a directory (without `.` and `..`), sorted bytewise.
pub fn list_dir(fd: OwnedFd) -> io::Result<Vec<Vec<u8>>> {
    let mut d = nix::dir::Dir::from_fd(fd).map_err(io::Error::from)?;
    let mut out = Vec::new();
    for e in d.iter() {
        let e = e.map_err(io::Error::from)?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(n.to_vec());
        }
    }
    out.sort();
    Ok(out)
}

pub fn fsync_dir(p: &Path) -> io::Result<()> {
    File::open(p)?.sync_all()
}

/// A name unlikely to collide: pid, time and a counter.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}{}-{:x}-{}",
        std::process::id(),
        t,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Write `data` to `path` atomically: temp file in the same directory,
/// fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fname = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(unique_name(&format!(".{fname}.tmp-")));
    let res = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        fsync_dir(dir)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// The xattr names of `path` (not following a symlink).
pub fn llistxattr(path: &[u8]) -> io::Result<Vec<Vec<u8>>> {
    let pc = cstr(path)?;
    let n = match crate::sys::fs::llistxattr_into(&pc, &mut []) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut buf = vec![0u8; n + 256];
    let n = crate::sys::fs::llistxattr_into(&pc, &mut buf)?;
    buf.truncate(n);
    Ok(buf
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn remove_at_takes_a_deep_tree_and_follows_no_link() {
        let t = tempfile::tempdir().unwrap();
        let keep = t.path().join("keep");
        std::fs::create_dir(&keep).unwrap();
        std::fs::write(keep.join("f"), "stays").unwrap();
        let root = open_dir_path(t.path()).unwrap();
        mkdir_at(root.as_fd(), b"deep", 0o755).unwrap();
        // deeper than a path can name, and than a recursion would like
        let mut cur = openat_nofollow(root.as_fd(), b"deep", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap();
        for i in 0..3000 {
            if i % 500 == 0 {
                crate::sys::fs::symlink_at(keep.as_os_str().as_encoded_bytes(), cur.as_fd(), b"link").unwrap();
            }
            mkdir_at(cur.as_fd(), b"d", 0o755).unwrap();
            cur = openat_nofollow(cur.as_fd(), b"d", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap();
        }
        drop(cur);
        remove_at(root.as_fd(), b"deep").unwrap();
        assert!(!t.path().join("deep").exists());
        assert_eq!(std::fs::read_to_string(keep.join("f")).unwrap(), "stays");
    }
}
