//! Terminal ioctls: window size, raw mode, a new pty, the controlling
//! terminal.

use super::check;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The window size of terminal `fd` (`TIOCGWINSZ`).
pub fn winsize(fd: RawFd) -> io::Result<libc::winsize> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize into `ws`.
    check(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) })?;
    Ok(ws)
}

/// Sets the window size of terminal `fd` (`TIOCSWINSZ`).
pub fn set_winsize(fd: RawFd, ws: &libc::winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one winsize from `ws`.
    check(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws) })
}

/// The terminal attributes of `fd` (`tcgetattr`).
pub fn attrs(fd: RawFd) -> io::Result<libc::termios> {
    // SAFETY: termios is plain old data; all-zero bytes are a valid value.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr writes one termios into `t`.
    check(unsafe { libc::tcgetattr(fd, &mut t) })?;
    Ok(t)
}

/// Sets the terminal attributes of `fd` now (`tcsetattr TCSANOW`).
pub fn set_attrs(fd: RawFd, t: &libc::termios) -> io::Result<()> {
    // SAFETY: tcsetattr reads one termios from `t`.
    check(unsafe { libc::tcsetattr(fd, libc::TCSANOW, t) })
}

/// `t` changed to raw mode (`cfmakeraw`).
pub fn make_raw(mut t: libc::termios) -> libc::termios {
    // SAFETY: cfmakeraw edits the termios it is given, nothing else.
    unsafe { libc::cfmakeraw(&mut t) };
    t
}

/// Which step of [`open_pty`] failed.
#[derive(Debug, Clone, Copy)]
pub enum PtyStep {
    OpenPtmx,
    Unlock,
    OpenPeer,
}

/// A new pty of the current mount namespace's /dev/ptmx: (master, slave),
/// both close-on-exec, the slave opened through the master (TIOCGPTPEER).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), (PtyStep, io::Error)> {
    // SAFETY: a constant C string; flags are plain ints.
    let master = unsafe { libc::open(c"/dev/ptmx".as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    let master = super::owned(master.into()).map_err(|e| (PtyStep::OpenPtmx, e))?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from `unlock`.
    check(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) }).map_err(|e| (PtyStep::Unlock, e))?;
    // SAFETY: TIOCGPTPEER takes open flags as an int and returns a new fd.
    let slave = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if slave < 0 {
        return Err((PtyStep::OpenPeer, io::Error::last_os_error()));
    }
    // SAFETY: a new descriptor from TIOCGPTPEER that nothing else owns.
    Ok((master, unsafe { OwnedFd::from_raw_fd(slave) }))
}

/// Makes terminal `fd` the controlling terminal of this session (`TIOCSCTTY`).
pub fn set_controlling(fd: RawFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument; touches no memory.
    check(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) })
}
