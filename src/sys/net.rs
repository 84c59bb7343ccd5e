//! Network interface ioctls.

use super::check;
use std::io;
use std::os::fd::AsRawFd;

/// Sets IFF_UP on the interface `name` (at most 15 bytes) of the current
/// network namespace.
pub fn set_up(name: &[u8]) -> io::Result<()> {
    if name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: socket touches no memory; a new descriptor, owned below.
    let sock = super::owned(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) }.into())?;
    // SAFETY: ifreq is plain old data; all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in name.iter().enumerate() {
        req.ifr_name[i] = *b as libc::c_char; // NUL-terminated: the rest is zero
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags of `req`.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and flags of `req`.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) })
}
