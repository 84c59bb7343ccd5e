//! Terminal plumbing shared by the shim and exec: raw mode, window size,
//! a pty opened in the current mount namespace's devpts, and a relay.
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub fn copy_winsize(from: RawFd, to: RawFd) {
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}
impl RawMode {
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            Some(RawMode { fd, saved })
        }
    }
}
impl Drop for RawMode {
    fn drop(&mut self) {
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

pub fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        let n = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

/// Opens a new pty in this mount namespace's /dev/ptmx; (master, slave).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), String> {
    let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    unsafe {
        let master = libc::open(c"/dev/ptmx".as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if master < 0 {
            return Err(os("open /dev/ptmx"));
        }
        let master = OwnedFd::from_raw_fd(master);
        let unlock: libc::c_int = 0;
        if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) < 0 {
            return Err(os("unlock pty"));
        }
        let slave = libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if slave < 0 {
            return Err(os("open pty slave"));
        }
        Ok((master, OwnedFd::from_raw_fd(slave)))
    }
}

/// Makes `slave` the calling process's controlling terminal and stdio.
pub fn take_terminal(slave: RawFd) -> Result<(), String> {
    unsafe {
        libc::setsid();
        for fd in 0..3 {
            if libc::dup2(slave, fd) < 0 {
                return Err(format!("dup2: {}", std::io::Error::last_os_error()));
            }
        }
        if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
            return Err(format!("set controlling terminal: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Relays stdin to `master` (if `forward_stdin`) and `master` to stdout
/// until the terminal's other side is gone.
pub fn relay(master: RawFd, forward_stdin: bool) {
    let mut stdin_open = forward_stdin;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut pfds = vec![libc::pollfd { fd: master, events: libc::POLLIN, revents: 0 }];
        if stdin_open {
            pfds.push(libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 });
        }
        if unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        if pfds.len() > 1 && pfds[1].revents != 0 {
            let r = unsafe { libc::read(0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if r <= 0 {
                stdin_open = false;
            } else {
                write_all(master, &buf[..r as usize]);
            }
        }
        if pfds[0].revents != 0 {
            let r = unsafe { libc::read(master, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if r <= 0 {
                if r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            write_all(1, &buf[..r as usize]);
        }
    }
}
