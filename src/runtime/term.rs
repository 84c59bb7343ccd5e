//! Terminal plumbing shared by the shim and exec: raw mode, window size,
//! a pty opened in the current mount namespace's devpts, and a relay.
use crate::sys;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

pub fn copy_winsize(from: RawFd, to: RawFd) {
    if let Ok(ws) = sys::term::winsize(from) {
        let _ = sys::term::set_winsize(to, &ws);
    }
}

pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}
impl RawMode {
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        let saved = sys::term::attrs(fd).ok()?;
        let _ = sys::term::set_attrs(fd, &sys::term::make_raw(saved));
        Some(RawMode { fd, saved })
    }
}
impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = sys::term::set_attrs(self.fd, &self.saved);
    }
}

pub fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        match sys::fd::write(fd, buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}

/// Opens a new pty in this mount namespace's /dev/ptmx; (master, slave).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), String> {
    sys::term::open_pty().map_err(|(step, e)| {
        let what = match step {
            sys::term::PtyStep::OpenPtmx => "open /dev/ptmx",
            sys::term::PtyStep::Unlock => "unlock pty",
            sys::term::PtyStep::OpenPeer => "open pty slave",
        };
        format!("{what}: {e}")
    })
}

/// Makes `slave` the calling process's controlling terminal and stdio.
pub fn take_terminal(slave: RawFd) -> Result<(), String> {
    for fd in 0..3 {
        sys::fd::dup2(slave, fd).map_err(|e| format!("dup2: {e}"))?;
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
    pub log: Option<&'a mut crate::logs::LogWriter>,
    /// copy to our terminal too (not when detached)
    pub to_terminal: bool,
}

/// Copies until every output is closed; stdin goes to the pty or the
/// stdin pipe without ever blocking the output copy (the pipe is
/// non-blocking; at most one read of stdin waits to go in).
pub fn pump(p: Pump, winch: &std::sync::atomic::AtomicBool) {
    use std::sync::atomic::Ordering;
    let Pump { mut outputs, master, mut stdin_pipe, forward_stdin, mut log, to_terminal } = p;
    if let Some(w) = &stdin_pipe {
        let _ = sys::fd::set_nonblocking(w.as_fd());
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
        if sys::fd::poll(&mut pfds, -1).is_err() {
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
                    let r = match sys::fd::read(0, &mut buf) {
                        Ok(n) if n > 0 => n,
                        _ => {
                            stdin_sink = None;
                            drop(stdin_pipe.take()); // EOF reaches the container
                            continue;
                        }
                    };
                    pending.extend_from_slice(&buf[..r]);
                }
                if sink_is_pipe {
                    match sys::fd::write(sink, &pending) {
                        Ok(w) => drop(pending.drain(..w)),
                        Err(e) if e.raw_os_error() != Some(libc::EAGAIN) => {
                            pending.clear(); // the container closed its stdin
                            stdin_sink = None;
                            drop(stdin_pipe.take());
                        }
                        Err(_) => {}
                    }
                } else {
                    write_all(sink, &pending);
                    pending.clear();
                }
                continue;
            }
            let (fd, term) = outputs[i];
            let r = match sys::fd::read(fd, &mut buf) {
                Ok(n) if n > 0 => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => {
                    closed.push(fd);
                    continue;
                }
            };
            let data = &buf[..r];
            if let Some(l) = log.as_deref_mut() {
                let stream = if term == 2 { crate::logs::LogStream::Stderr } else { crate::logs::LogStream::Stdout };
                let _ = l.write(stream, data);
            }
            if term_ok && !write_all(term, data) {
                term_ok = false; // the terminal went away: keep logging
            }
        }
        outputs.retain(|(fd, _)| !closed.contains(fd));
    }
}
