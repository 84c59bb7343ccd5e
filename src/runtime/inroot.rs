//! Paths inside a container's root, resolved as the container would see
//! them. The image and every earlier run of the container control what is
//! there (a symlinked /etc, a /dev/null that points at a host file), so
//! nothing here follows a path on the host side: every lookup is
//! openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from the root's fd,
//! every create is an *at call on a directory fd found that way, and
//! mounts go onto `/proc/self/fd/N` of the target's fd (as runc does).
use crate::fsutil;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// procfs and sysfs superblock magics (linux/magic.h).
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const SYSFS_MAGIC: i64 = 0x6265_6572;

/// A container root opened once; every path below is resolved inside it.
pub struct Root {
    fd: OwnedFd,
}

fn ctx<'a>(what: &str, path: &'a str) -> impl FnOnce(io::Error) -> String + 'a {
    let what = what.to_string();
    move |e| format!("{what} {path}: {e}")
}

/// The `/proc/self/fd/N` name of an fd, for mount(2) and friends.
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// The filesystem type (statfs f_type) an fd lives on.
pub fn fs_magic(fd: BorrowedFd<'_>) -> io::Result<i64> {
    let s = nix::sys::statfs::fstatfs(fd)?;
    Ok(s.filesystem_type().0 as i64)
}

/// The kind of an fd's inode (S_IFMT bits) and its device number.
pub fn fd_kind(fd: BorrowedFd<'_>) -> io::Result<(libc::mode_t, libc::dev_t)> {
    let st = nix::sys::stat::fstat(fd)?;
    Ok((st.st_mode & libc::S_IFMT, st.st_rdev))
}

/// Splits "/a/b/c" into its components; refuses "..".
fn components(path: &str) -> Result<Vec<&str>, String> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if comps.contains(&"..") {
        return Err(format!("{path}: must not contain '..'"));
    }
    Ok(comps)
}

/// Components of a path with "." dropped and ".." applied (never above
/// the root).
fn lexical(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c.to_string()),
        }
    }
    out
}

impl Root {
    /// Opens the root folder (a bocker-owned host path).
    pub fn open(path: &Path) -> Result<Root, String> {
        let fd = fsutil::open_dir_path(path).map_err(|e| format!("open rootfs {}: {e}", path.display()))?;
        Ok(Root { fd })
    }

    /// A root already opened (`/proc/PID/root`, a detached mount).
    pub fn from_fd(fd: OwnedFd) -> Root {
        Root { fd }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens `path` as if the root were `/`; the last component is
    /// followed (inside the root) unless `flags` has O_NOFOLLOW.
    pub fn open_at(&self, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
        fsutil::openat2_in_root(self.fd(), path.trim_start_matches('/').as_bytes(), flags)
    }

    /// `mkdir -p` inside the root; the directory's O_PATH fd. A dangling
    /// symlink on the way gets its target made, inside the root.
    pub fn mkdir_all(&self, path: &str) -> Result<OwnedFd, String> {
        self.mkdir_all_depth(path, 0)
    }

    fn mkdir_all_depth(&self, path: &str, depth: u32) -> Result<OwnedFd, String> {
        if depth > 40 {
            return Err(format!("mkdir {path}: too many levels of symbolic links"));
        }
        let comps = lexical(path);
        let mut cur = String::new();
        for comp in comps {
            let parent = self.open_at(&cur, libc::O_PATH | libc::O_DIRECTORY).map_err(ctx("open", path))?;
            match fsutil::lstat_at(parent.as_fd(), comp.as_bytes()).map_err(ctx("stat", path))? {
                Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                    let next = format!("{cur}/{comp}");
                    match self.open_at(&next, libc::O_PATH) {
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                            // dangling: make its target, as seen from inside
                            let target = fsutil::read_link_at(parent.as_fd(), comp.as_bytes()).map_err(ctx("readlink", path))?;
                            let target = String::from_utf8_lossy(&target).into_owned();
                            let resolved = if target.starts_with('/') { target } else { format!("{cur}/{target}") };
                            self.mkdir_all_depth(&resolved, depth + 1)?;
                        }
                        _ => {}
                    }
                }
                Some(_) => {}
                None => match fsutil::mkdir_at(parent.as_fd(), comp.as_bytes(), 0o755) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(e) => return Err(format!("mkdir {path}: {e}")),
                },
            }
            cur.push('/');
            cur.push_str(&comp);
        }
        self.open_at(&cur, libc::O_PATH | libc::O_DIRECTORY).map_err(ctx("open", path))
    }

    /// The parent directory of `path` (created inside the root) and the
    /// last component's name.
    fn parent_of<'p>(&self, path: &'p str) -> Result<(OwnedFd, &'p str), String> {
        let comps = components(path)?;
        let Some((name, dirs)) = comps.split_last() else {
            return Err(format!("{path}: not a file path"));
        };
        Ok((self.mkdir_all(&dirs.join("/"))?, name))
    }

    /// A directory at `path` that is really a directory: whatever else is
    /// there (a symlink the image planted, a file) is removed first and
    /// never followed. For the runtime's own mount points (/proc, /sys,
    /// /dev, /dev/pts).
    pub fn fresh_dir(&self, path: &str) -> Result<OwnedFd, String> {
        let (parent, name) = self.parent_of(path)?;
        match fsutil::lstat_at(parent.as_fd(), name.as_bytes()).map_err(ctx("stat", path))? {
            Some(st) if fsutil::is_dir(&st) => {}
            Some(_) => {
                fsutil::remove_at(parent.as_fd(), name.as_bytes()).map_err(ctx("replace", path))?;
                fsutil::mkdir_at(parent.as_fd(), name.as_bytes(), 0o755).map_err(ctx("mkdir", path))?;
            }
            None => fsutil::mkdir_at(parent.as_fd(), name.as_bytes(), 0o755).map_err(ctx("mkdir", path))?,
        }
        fsutil::openat_nofollow(parent.as_fd(), name.as_bytes(), libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(ctx("open", path))
    }

    /// A regular file at `path` to bind a file over (/etc/hostname,
    /// /etc/hosts, /etc/resolv.conf): parents resolved inside the root, a
    /// symlink at the end replaced by an empty file, a directory refused.
    pub fn file_target(&self, path: &str) -> Result<OwnedFd, String> {
        let (parent, name) = self.parent_of(path)?;
        match fsutil::lstat_at(parent.as_fd(), name.as_bytes()).map_err(ctx("stat", path))? {
            Some(st) if fsutil::is_dir(&st) => return Err(format!("{path}: is a directory in the image")),
            Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => {}
            Some(_) => {
                fsutil::remove_at(parent.as_fd(), name.as_bytes()).map_err(ctx("replace", path))?;
                create_empty(&parent, name, path)?;
            }
            None => create_empty(&parent, name, path)?,
        }
        fsutil::openat_nofollow(parent.as_fd(), name.as_bytes(), libc::O_PATH, 0).map_err(ctx("open", path))
    }

    /// A mount target for a volume or bind: a directory (or an empty file
    /// when `file`), created inside the root where missing.
    pub fn mount_target(&self, path: &str, file: bool) -> Result<OwnedFd, String> {
        if !file {
            return self.mkdir_all(path);
        }
        let (parent, name) = self.parent_of(path)?;
        if fsutil::lstat_at(parent.as_fd(), name.as_bytes()).map_err(ctx("stat", path))?.is_none() {
            create_empty(&parent, name, path)?;
        }
        self.open_at(path, libc::O_PATH).map_err(ctx("open", path))
    }
}

fn create_empty(parent: &OwnedFd, name: &str, path: &str) -> Result<(), String> {
    match fsutil::openat_nofollow(parent.as_fd(), name.as_bytes(), libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(format!("create {path}: {e}")),
    }
}
