//! Mounting into the container root without following symlinks out of
//! it: destinations are resolved with openat2(RESOLVE_IN_ROOT), created if
//! missing, and mounted through /proc/self/fd/N (as runc does).
use super::rootfs::BindPlan;
use nix::mount::{mount, MsFlags};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// Opens `path` inside `root` as if `root` were `/`.
fn open_in_root(root: &OwnedFd, path: &str, flags: i32) -> std::io::Result<OwnedFd> {
    let c = CString::new(path.trim_start_matches('/'))
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))?;
    let c = if c.as_bytes().is_empty() { CString::new(".").unwrap_or_default() } else { c };
    let how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: 0, resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    // SAFETY: openat2 with a valid dirfd, path and open_how struct.
    let fd = unsafe {
        libc::syscall(libc::SYS_openat2, root.as_raw_fd(), c.as_ptr(), &how as *const OpenHow, std::mem::size_of::<OpenHow>())
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Creates `target` (a dir, or an empty file if `file`) inside root,
/// every component resolved inside root.
fn ensure_target(root: &OwnedFd, target: &str, file: bool) -> Result<OwnedFd, String> {
    let comps: Vec<&str> = target.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if comps.contains(&"..") {
        return Err(format!("mount destination {target} must not contain '..'"));
    }
    let mut cur = String::new();
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let parent = open_in_root(root, &cur, libc::O_PATH | libc::O_DIRECTORY)
            .map_err(|e| format!("mount destination {target}: {e}"))?;
        let name = CString::new(*comp).map_err(|_| "NUL in path".to_string())?;
        let exists = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            libc::fstatat(parent.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) == 0
        };
        if !exists {
            let r = unsafe {
                if last && file {
                    let fd = libc::openat(parent.as_raw_fd(), name.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW, 0o644);
                    if fd >= 0 {
                        libc::close(fd);
                        0
                    } else {
                        -1
                    }
                } else {
                    libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755)
                }
            };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(format!("create mount destination {target}: {e}"));
                }
            }
        }
        cur.push('/');
        cur.push_str(comp);
    }
    open_in_root(root, &cur, libc::O_PATH).map_err(|e| format!("mount destination {target}: {e}"))
}

/// Mounts one bind/tmpfs into the container root `root` (host path).
pub fn mount_into(root: &Path, b: &BindPlan) -> Result<(), String> {
    let rootfd = open_dir(root)?;
    let none: Option<&str> = None;
    let is_file = b.tmpfs_options.is_none() && std::fs::metadata(&b.source).map(|m| !m.is_dir()).unwrap_or(false);
    let target = ensure_target(&rootfd, &b.target, is_file)?;
    let fdpath = format!("/proc/self/fd/{}", target.as_raw_fd());
    if let Some(opts) = &b.tmpfs_options {
        let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
        if b.readonly {
            flags |= MsFlags::MS_RDONLY;
        }
        let opts = if opts.is_empty() { "mode=1777".to_string() } else { opts.clone() };
        mount(Some("tmpfs"), fdpath.as_str(), Some("tmpfs"), flags, Some(opts.as_str()))
            .map_err(|e| format!("tmpfs on {}: {e}", b.target))?;
        return Ok(());
    }
    mount(Some(&b.source), fdpath.as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
        .map_err(|e| format!("bind {} on {}: {e}", b.source.display(), b.target))?;
    if b.readonly {
        // the fd still names the pre-mount inode: reopen the new mount
        let t = open_in_root(&rootfd, &b.target, libc::O_PATH).map_err(|e| format!("{}: {e}", b.target))?;
        let p = format!("/proc/self/fd/{}", t.as_raw_fd());
        mount(none, p.as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC, none)
            .map_err(|e| format!("read-only {}: {e}", b.target))?;
    }
    Ok(())
}

/// Fills the new volumes among `binds` from the image, right after the
/// overlay root is mounted (before /proc, /sys and /dev are).
pub fn fill_volumes(root: &Path, binds: &[BindPlan]) -> Result<(), String> {
    if binds.iter().all(|b| b.fill_marker.is_none()) {
        return Ok(());
    }
    let rootfd = open_dir(root)?;
    for b in binds {
        if let Some(marker) = &b.fill_marker {
            fill_volume(&rootfd, b)?;
            let _ = std::fs::remove_file(marker);
        }
    }
    Ok(())
}

fn open_dir(root: &Path) -> Result<OwnedFd, String> {
    let c = CString::new(root.as_os_str().as_bytes()).map_err(|_| "NUL in path".to_string())?;
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("open rootfs: {}", std::io::Error::last_os_error()));
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Fills an empty new volume with what the image has at the target, the
/// image path resolved inside the root (a symlinked target stays inside).
fn fill_volume(rootfd: &OwnedFd, b: &BindPlan) -> Result<(), String> {
    let empty = std::fs::read_dir(&b.source).map(|mut d| d.next().is_none()).unwrap_or(false);
    if !empty {
        return Ok(());
    }
    let src = match open_in_root(rootfd, &b.target, libc::O_PATH | libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(_) => return Ok(()), // nothing (or not a folder) there in the image
    };
    let p = format!("/proc/self/fd/{}", src.as_raw_fd());
    crate::storage::copy_contents(Path::new(&p), &b.source)
        .map_err(|e| format!("fill volume for {} from the image: {e}", b.target))
}
