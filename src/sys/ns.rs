//! Namespace syscalls: setns, unshare, the UTS domain name.

use super::check;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// `setns(fd, nstype)` (0: any kind).
pub fn setns(fd: impl AsFd, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: an open descriptor and an int; touches no memory.
    check(unsafe { libc::setns(fd.as_fd().as_raw_fd(), nstype) })
}

/// `unshare(flags)`.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: an int argument; touches no memory.
    check(unsafe { libc::unshare(flags) })
}

/// `setdomainname(name)` in the current UTS namespace.
pub fn set_domainname(name: &[u8]) -> io::Result<()> {
    // SAFETY: a buffer with its length.
    check(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) })
}
