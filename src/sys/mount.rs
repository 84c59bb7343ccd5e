//! The new mount API calls: a detached copy of a mount (open_tree) and
//! its attributes (mount_setattr).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: u64 = 0x1;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached bind mount of `path` (`open_tree(OPEN_TREE_CLONE)`),
/// close-on-exec.
pub fn open_tree_clone(path: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: a C string that outlives the call; returns a new fd or -1.
    super::owned(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint) })
}

/// Makes the (detached) mount `fd` read-only (`mount_setattr`).
pub fn set_readonly(fd: BorrowedFd<'_>) -> io::Result<()> {
    let attr = MountAttr { attr_set: MOUNT_ATTR_RDONLY, attr_clr: 0, propagation: 0, userns_fd: 0 };
    // SAFETY: an open mount fd, an empty C string (AT_EMPTY_PATH) and a
    // valid mount_attr whose size is passed.
    let r = unsafe { libc::syscall(libc::SYS_mount_setattr, fd.as_raw_fd(), c"".as_ptr(), libc::AT_EMPTY_PATH, &attr as *const MountAttr, std::mem::size_of::<MountAttr>()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
