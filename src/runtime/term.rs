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
    // SAFETY: dup2 of our own fd onto stdio.
    unsafe {
        for fd in 0..3 {
            if libc::dup2(slave, fd) < 0 {
                return Err(format!("dup2: {}", std::io::Error::last_os_error()));
            }
        }
    }
    super::process::new_session(Some(0))
}

/// What [`pump`] copies: container outputs to our terminal (and a log),
/// and our stdin to the container.
pub struct Pump<'a> {
    /// (container output fd, our fd to copy it to)
    pub outputs: Vec<(RawFd, RawFd)>,
    /// the pty master, with -t: stdin goes there, window sizes follow
    pub master: Option<RawFd>,
    /// the container's stdin pipe, without -t
    pub stdin_pipe: Option<OwnedFd>,
    pub forward_stdin: bool,
    pub log: Option<&'a std::fs::File>,
    /// copy to our terminal too (not when detached)
    pub to_terminal: bool,
}

/// Copies until every output is closed; stdin goes to the pty or the
/// stdin pipe without ever blocking the output copy (the pipe is
/// non-blocking; at most one read of stdin waits to go in).
pub fn pump(p: Pump, winch: &std::sync::atomic::AtomicBool) {
    use std::sync::atomic::Ordering;
    let Pump { mut outputs, master, mut stdin_pipe, forward_stdin, log, to_terminal } = p;
    if let Some(w) = &stdin_pipe {
        // SAFETY: fcntl on our own fd.
        unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    }
    let mut stdin_sink = master.or(stdin_pipe.as_ref().map(|w| w.as_raw_fd())).filter(|_| forward_stdin);
    let sink_is_pipe = master.is_none();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut term_ok = to_terminal;
    while !outputs.is_empty() {
        if winch.swap(false, Ordering::SeqCst) {
            if let Some(m) = master {
                copy_winsize(0, m);
            }
        }
        let mut pfds: Vec<libc::pollfd> =
            outputs.iter().map(|(fd, _)| libc::pollfd { fd: *fd, events: libc::POLLIN, revents: 0 }).collect();
        let stdin_slot = pfds.len();
        match stdin_sink {
            // our stdin, when nothing is waiting to go in
            Some(_) if pending.is_empty() => pfds.push(libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 }),
            Some(sink) => pfds.push(libc::pollfd { fd: sink, events: libc::POLLOUT, revents: 0 }),
            None => {}
        }
        // SAFETY: pfds is a valid array of pollfd.
        if unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) } < 0 {
            continue; // EINTR from a forwarded signal
        }
        let mut closed = Vec::new();
        for (i, pfd) in pfds.iter().enumerate() {
            if pfd.revents == 0 {
                continue;
            }
            if i == stdin_slot {
                let Some(sink) = stdin_sink else { continue };
                if pending.is_empty() {
                    let r = read(0, &mut buf);
                    if r <= 0 {
                        stdin_sink = None;
                        drop(stdin_pipe.take()); // EOF reaches the container
                        continue;
                    }
                    pending.extend_from_slice(&buf[..r as usize]);
                }
                if sink_is_pipe {
                    // SAFETY: write from our buffer to our fd.
                    let w = unsafe { libc::write(sink, pending.as_ptr() as *const libc::c_void, pending.len()) };
                    if w > 0 {
                        pending.drain(..w as usize);
                    } else if w < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN) {
                        pending.clear(); // the container closed its stdin
                        stdin_sink = None;
                        drop(stdin_pipe.take());
                    }
                } else {
                    write_all(sink, &pending);
                    pending.clear();
                }
                continue;
            }
            let (fd, term) = outputs[i];
            let r = read(fd, &mut buf);
            if r <= 0 {
                if r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                closed.push(fd);
                continue;
            }
            let data = &buf[..r as usize];
            if let Some(l) = log {
                write_all(l.as_raw_fd(), data);
            }
            if term_ok && !write_all(term, data) {
                term_ok = false; // the terminal went away: keep logging
            }
        }
        outputs.retain(|(fd, _)| !closed.contains(fd));
    }
}

fn read(fd: RawFd, buf: &mut [u8]) -> isize {
    // SAFETY: read into our own buffer.
    unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) }
}
