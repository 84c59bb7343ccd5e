//! Filesystem syscalls: fd-relative `*at` calls that never follow a
//! symlink unless they say so, openat2 in a root, xattrs, flock, syncfs.
//! (Allocating: the path arguments become C strings.)

use super::{check, check_len, owned};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// `b` as a C string; a NUL byte inside is refused.
pub fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn path_cstr(p: &Path) -> io::Result<CString> {
    cstr(p.as_os_str().as_encoded_bytes())
}

/// Open a directory as an O_PATH handle (follows symlinks: for trusted paths).
pub fn open_dir_path(p: &Path) -> io::Result<OwnedFd> {
    let c = path_cstr(p)?;
    // SAFETY: a valid C string that outlives the call; flags are plain ints.
    owned(unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) }.into())
}

/// `openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`:
/// every symlink and `..` is resolved as if `root` were `/`.
pub fn openat2_in_root(root: BorrowedFd<'_>, path: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
    let p = if path.is_empty() { cstr(b".")? } else { cstr(path)? };
    // SAFETY: open_how is plain old data; all-zero bytes are a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    for _ in 0..64 {
        // SAFETY: `how` and `p` outlive the call; the size passed is the
        // struct's size; `root` is an open descriptor.
        let rc = unsafe { libc::syscall(libc::SYS_openat2, root.as_raw_fd(), p.as_ptr(), &how as *const libc::open_how, std::mem::size_of::<libc::open_how>()) };
        match owned(rc) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) || e.raw_os_error() == Some(libc::EINTR) => continue,
            r => return r,
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// `openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC)`.
pub fn openat_nofollow(dir: BorrowedFd<'_>, name: &[u8], flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: an open descriptor and a C string that outlives the call.
    owned(unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_NOFOLLOW | libc::O_CLOEXEC, mode as libc::c_uint) }.into())
}

/// Reads the whole of `dir`/`name` (no symlink followed at its last
/// component) into `buf`, replacing what it held; false if there is no
/// such file. Made for small files that are replaced by rename, never
/// written in place: a read that fills less than the room left is taken
/// as the end (a regular file returns short only there), which spares
/// the fstat and the final empty read of `std::fs::read`.
pub fn read_small_at(dir: BorrowedFd<'_>, name: &[u8], buf: &mut Vec<u8>) -> io::Result<bool> {
    let f = match openat_nofollow(dir, name, libc::O_RDONLY, 0) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    buf.clear();
    if buf.capacity() < 4096 {
        buf.reserve(4096);
    }
    loop {
        let room = buf.capacity() - buf.len();
        // SAFETY: the pointer is `room` writable bytes past the vector's
        // initialised part, inside its allocation; `f` is open.
        let n = check_len(unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().add(buf.len()).cast(), room) });
        let n = match n {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            r => r?,
        };
        // SAFETY: the kernel initialised these `n` bytes.
        unsafe { buf.set_len(buf.len() + n) };
        if n < room {
            return Ok(true);
        }
        buf.reserve(buf.capacity());
    }
}

/// One `read` of `path` into `buf` (open, read, close: no stat, no
/// read to EOF): for /proc records such as `stat` or `status`, which the
/// kernel hands over whole in one read when `buf` is large enough.
/// Returns the bytes read.
pub fn read_once<'a>(path: &CStr, buf: &'a mut [u8]) -> io::Result<&'a [u8]> {
    // SAFETY: a C string that outlives the call; plain flags.
    let f = owned(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }.into())?;
    loop {
        // SAFETY: `buf` is writable for its whole length; `f` is open.
        match check_len(unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) }) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => return Ok(&buf[..n]),
        }
    }
}

/// lstat relative to a directory; `None` if it does not exist.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Option<libc::stat>> {
    let c = cstr(name)?;
    // SAFETY: stat is plain old data; all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: an open descriptor, a C string and a writable stat, all
    // outliving the call.
    match check(unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) }) {
        Ok(()) => Ok(Some(st)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `mkdirat(dir, name, mode)`.
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &[u8], mode: libc::mode_t) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: an open descriptor and a C string that outlives the call.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) })
}

/// `mknodat(dir, name, mode, makedev(major, minor))`.
pub fn mknod_at(dir: BorrowedFd<'_>, name: &[u8], mode: libc::mode_t, major: u32, minor: u32) -> io::Result<()> {
    let c = cstr(name)?;
    let dev = libc::makedev(major, minor);
    // SAFETY: an open descriptor and a C string that outlives the call.
    check(unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), mode, dev) })
}

/// `symlinkat(target, dir, name)`.
pub fn symlink_at(target: &[u8], dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let t = cstr(target)?;
    let c = cstr(name)?;
    // SAFETY: an open descriptor and C strings that outlive the call.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) })
}

/// The target of the symlink `name` in `dir`.
pub fn read_link_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Vec<u8>> {
    let c = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: an open descriptor, a C string and a buffer of the length given.
    let n = check_len(unsafe { libc::readlinkat(dir.as_raw_fd(), c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) })?;
    buf.truncate(n);
    Ok(buf)
}

/// Hard link without following a symlink at the source.
pub fn link_at(odir: BorrowedFd<'_>, oname: &[u8], ndir: BorrowedFd<'_>, nname: &[u8]) -> io::Result<()> {
    let o = cstr(oname)?;
    let n = cstr(nname)?;
    // SAFETY: open descriptors and C strings that outlive the call.
    check(unsafe { libc::linkat(odir.as_raw_fd(), o.as_ptr(), ndir.as_raw_fd(), n.as_ptr(), 0) })
}

/// chown of `name` in `dir`, not following a symlink.
pub fn lchown_at(dir: BorrowedFd<'_>, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: an open descriptor and a C string that outlives the call.
    check(unsafe { libc::fchownat(dir.as_raw_fd(), c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
}

/// chown of a path, not following a symlink (`lchown`).
pub fn lchown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let c = path_cstr(path)?;
    // SAFETY: a C string that outlives the call.
    check(unsafe { libc::lchown(c.as_ptr(), uid, gid) })
}

/// chmod of a path (follows a symlink: for paths just created).
pub fn chmod(path: &Path, mode: libc::mode_t) -> io::Result<()> {
    let c = path_cstr(path)?;
    // SAFETY: a C string that outlives the call.
    check(unsafe { libc::chmod(c.as_ptr(), mode) })
}

/// chmod of a name that is known not to be a symlink (the kernel has no
/// no-follow chmod for non-symlinks on older libcs).
pub fn chmod_at(dir: BorrowedFd<'_>, name: &[u8], mode: libc::mode_t) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: an open descriptor and a C string that outlives the call.
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), c.as_ptr(), mode, 0) })
}

fn mtime_only(mtime: i64) -> [libc::timespec; 2] {
    [libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT }, libc::timespec { tv_sec: mtime as libc::time_t, tv_nsec: 0 }]
}

/// Sets the mtime of `name` in `dir` (atime untouched), not following a symlink.
pub fn lutimes_at(dir: BorrowedFd<'_>, name: &[u8], mtime: i64) -> io::Result<()> {
    let c = cstr(name)?;
    let ts = mtime_only(mtime);
    // SAFETY: an open descriptor, a C string and a 2-element timespec array.
    check(unsafe { libc::utimensat(dir.as_raw_fd(), c.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) })
}

/// Sets both times of a path (atime, mtime), not following a symlink.
pub fn lutimens(path: &Path, times: [libc::timespec; 2]) -> io::Result<()> {
    let c = path_cstr(path)?;
    // SAFETY: a C string and a 2-element timespec array outliving the call.
    check(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) })
}

/// Sets the mtime of an open file (atime untouched).
pub fn futimes(fd: BorrowedFd<'_>, mtime: i64) -> io::Result<()> {
    let ts = mtime_only(mtime);
    // SAFETY: an open descriptor and a 2-element timespec array.
    check(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) })
}

/// `fchown(fd, uid, gid)`.
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: an open descriptor; no pointers.
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })
}

/// `fchmod(fd, mode)`.
pub fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: an open descriptor; no pointers.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
}

/// `mknod(path, mode, dev)` (mode holds the file type bits).
pub fn mknod(path: &Path, mode: libc::mode_t, dev: libc::dev_t) -> io::Result<()> {
    let c = path_cstr(path)?;
    // SAFETY: a C string that outlives the call.
    check(unsafe { libc::mknod(c.as_ptr(), mode, dev) })
}

/// Sets the xattr `name` of an open file.
pub fn fsetxattr(fd: BorrowedFd<'_>, name: &[u8], value: &[u8]) -> io::Result<()> {
    let n = cstr(name)?;
    // SAFETY: an open descriptor, a C string, and a buffer with its length.
    check(unsafe { libc::fsetxattr(fd.as_raw_fd(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
}

/// Sets the xattr `key` of a path, not following a symlink.
pub fn lsetxattr(path: &CStr, key: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: C strings and a buffer with its length, all outliving the call.
    check(unsafe { libc::lsetxattr(path.as_ptr(), key.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
}

/// Reads the xattr `key` of a path (not following a symlink) into `buf`;
/// its length.
pub fn lgetxattr_into(path: &CStr, key: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: C strings and a writable buffer of the length given.
    check_len(unsafe { libc::lgetxattr(path.as_ptr(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) })
}

/// The NUL-separated xattr names of a path (not following a symlink)
/// into `buf` (an empty `buf` asks for the needed size); their length.
pub fn llistxattr_into(path: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    let ptr = if buf.is_empty() { std::ptr::null_mut() } else { buf.as_mut_ptr().cast() };
    // SAFETY: a C string, and a writable buffer of the length given (or
    // null with size 0, which asks for the size).
    check_len(unsafe { libc::llistxattr(path.as_ptr(), ptr, buf.len()) })
}

/// `unlinkat(dir, name)`; with `is_dir`, AT_REMOVEDIR (an empty directory).
pub fn unlink_at(dir: BorrowedFd<'_>, name: &[u8], is_dir: bool) -> io::Result<()> {
    let c = cstr(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: an open descriptor and a C string that outlives the call.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) })
}

/// rename(2) that fails with `Ok(false)` instead of replacing an existing
/// destination.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<bool> {
    let f = path_cstr(from)?;
    let t = path_cstr(to)?;
    // SAFETY: C strings that outlive the call.
    match check(unsafe { libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), libc::RENAME_NOREPLACE) }) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EEXIST) | Some(libc::ENOTEMPTY)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Flush the filesystem holding `p` (so a renamed-in layer is complete on disk).
pub fn syncfs(p: &Path) -> io::Result<()> {
    let fd = File::open(p)?;
    // SAFETY: an open descriptor; no pointers.
    check(unsafe { libc::syncfs(fd.as_raw_fd()) })
}

/// `flock(fd, how)` (LOCK_EX, LOCK_SH, LOCK_NB...); released when the
/// file closes.
pub fn flock(fd: impl AsFd, how: libc::c_int) -> io::Result<()> {
    // SAFETY: an open descriptor; no pointers.
    check(unsafe { libc::flock(fd.as_fd().as_raw_fd(), how) })
}
