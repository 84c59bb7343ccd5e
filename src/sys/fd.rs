//! Descriptor syscalls on raw descriptor numbers: close, close_range,
//! dup2, flags, seals, read/write/poll for the terminal relay.

use super::{check, check_len, owned};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// Closes a descriptor this process holds only as a number (handed over
/// in a spec or inherited), never one an `OwnedFd` owns. Errors (EBADF)
/// are ignored, as `close` leaves nothing to retry.
pub fn close_raw(fd: RawFd) {
    // SAFETY: close touches no memory; the callers own `fd` as a number
    // only, so no Rust object is left holding a closed descriptor.
    unsafe { libc::close(fd) };
}

/// `close_range(from, to, 0)`: closes every descriptor in [from, to].
pub fn close_range(from: u32, to: u32) -> io::Result<()> {
    // SAFETY: close_range touches no memory; the callers (a child about to
    // exec) hold no Rust object for the descriptors it closes.
    check(unsafe { libc::syscall(libc::SYS_close_range, from, to, 0u32) } as libc::c_int)
}

/// `dup2(old, new)`: `new` (a stdio number) becomes a copy of `old`.
pub fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    // SAFETY: dup2 touches no memory; it replaces the descriptor number
    // `new`, which the callers use only as stdio (0..=2, or 3 for a child).
    check(unsafe { libc::dup2(old, new) })
}

/// Sets the file status flags to exactly O_NONBLOCK (`F_SETFL`).
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl F_SETFL with an int argument on an open descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) })
}

/// Clears FD_CLOEXEC on a descriptor number (`F_SETFD 0`), so it is
/// inherited across exec.
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl F_SETFD with an int argument; touches no memory.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) })
}

/// Takes ownership of descriptor number `fd` that this process was
/// handed (inherited at exec and named on its command line, or just
/// received with SCM_RIGHTS) and nothing in it owns yet; fails if it is
/// not open. Call once per number.
pub fn adopt(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD touches no memory; it only checks `fd` is open.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: an open descriptor this process was handed; by this
    // function's contract nothing else in the process owns it yet.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// `dup(fd)`: a new descriptor (not close-on-exec) for the same file.
pub fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: dup touches no memory; a new descriptor, owned by `owned`.
    owned(unsafe { libc::dup(fd) }.into())
}

/// `memfd_create(name, flags)`.
pub fn memfd_create(name: &std::ffi::CStr, flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: a C string that outlives the call.
    owned(unsafe { libc::memfd_create(name.as_ptr(), flags) }.into())
}

/// Adds file seals (`F_ADD_SEALS`) to a memfd.
pub fn add_seals(fd: BorrowedFd<'_>, seals: libc::c_int) -> io::Result<()> {
    // SAFETY: fcntl F_ADD_SEALS with an int argument on an open descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) })
}

/// Whether descriptor number `fd` is a terminal.
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor; any number is fine.
    unsafe { libc::isatty(fd) == 1 }
}

/// One `write(2)` of `buf` to descriptor number `fd`; the count written.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: reads at most `buf.len()` bytes of `buf`.
    check_len(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// One `read(2)` from descriptor number `fd` into `buf`; the count read.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: writes at most `buf.len()` bytes into `buf`.
    check_len(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// `poll(fds, timeout_ms)`; the number of descriptors with events.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, writable array of pollfd of the length given.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    check_len(n as isize)
}
