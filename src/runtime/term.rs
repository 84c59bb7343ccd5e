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

/// What the clients attached to a container (the monitor's attach socket,
/// `crate::monitor::attach`) hand the pump, besides their output.
#[derive(Debug, PartialEq)]
pub enum AttachEvent {
    /// bytes for the container's stdin
    Input(Vec<u8>),
    /// the container's stdin is to be closed (`stdin_once`: the first
    /// attached client's stdin ended)
    InputEnd,
    /// a new window size for the terminal
    Resize { rows: u16, cols: u16 },
}

/// Attached clients as the pump sees them: more fds to poll, a copy of
/// every output chunk, and their events.
pub trait Attached {
    /// Appends the fds to poll; `take_input`: the pump can take stdin now.
    fn poll_fds(&self, take_input: bool, out: &mut Vec<libc::pollfd>);
    /// Handles what poll found on the fds [`Attached::poll_fds`] appended
    /// (`pfds` is that part, in that order).
    fn ready(&mut self, pfds: &[libc::pollfd], take_input: bool, events: &mut Vec<AttachEvent>);
    /// A chunk of the container's output, for the clients that want it.
    fn output(&mut self, stream: crate::logs::LogStream, data: &[u8]);
    /// Whether a client is too far behind: the pump stops reading the
    /// container's output until it catches up (Docker's back-pressure).
    fn backlogged(&self) -> bool;
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
    /// read our own stdin (fd 0) into the container's
    pub forward_stdin: bool,
    pub log: Option<&'a mut crate::logs::LogWriter>,
    /// copy to our terminal too (not when detached)
    pub to_terminal: bool,
    /// the clients attached through the monitor's socket
    pub attach: Option<&'a mut dyn Attached>,
    /// after [`IDLE_AFTER_MS`] with nothing to copy, give back memory
    /// before waiting on (`sys::mem::shed_then_poll`): a detached
    /// container's monitor, which may wait for days
    pub shed_when_idle: bool,
}

/// How long the pump waits with nothing to do before shedding.
pub const IDLE_AFTER_MS: libc::c_int = 1000;

/// Copies until every output is closed; stdin (ours and the attached
/// clients') goes to the pty or the stdin pipe without ever blocking the
/// output copy (the pipe is non-blocking; at most one read of input waits
/// to go in).
pub fn pump(p: Pump, winch: &std::sync::atomic::AtomicBool) {
    use std::sync::atomic::Ordering;
    let Pump { mut outputs, master, mut stdin_pipe, forward_stdin, mut log, to_terminal, mut attach, shed_when_idle } = p;
    if let Some(w) = &stdin_pipe {
        let _ = sys::fd::set_nonblocking(w.as_fd());
    }
    // where input goes (the pty, else the stdin pipe), and whether our fd 0 feeds it
    let mut stdin_sink = master.or(stdin_pipe.as_ref().map(|w| w.as_raw_fd()));
    let mut read_fd0 = forward_stdin && stdin_sink.is_some();
    let sink_is_pipe = master.is_none();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut term_ok = to_terminal;
    let mut events = Vec::new();
    while !outputs.is_empty() {
        if winch.swap(false, Ordering::SeqCst) {
            if let Some(m) = master {
                copy_winsize(0, m);
            }
        }
        let hold_output = attach.as_ref().is_some_and(|a| a.backlogged());
        let mut pfds: Vec<libc::pollfd> = outputs
            .iter()
            .map(|(fd, _)| libc::pollfd { fd: *fd, events: if hold_output { 0 } else { libc::POLLIN }, revents: 0 })
            .collect();
        let stdin_slot = pfds.len();
        match stdin_sink {
            // our stdin, when nothing is waiting to go in
            Some(_) if pending.is_empty() && read_fd0 => pfds.push(libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 }),
            Some(sink) if !pending.is_empty() => pfds.push(libc::pollfd { fd: sink, events: libc::POLLOUT, revents: 0 }),
            _ => pfds.push(libc::pollfd { fd: -1, events: 0, revents: 0 }),
        }
        let attach_from = pfds.len();
        let take_input = pending.is_empty();
        if let Some(a) = attach.as_deref() {
            a.poll_fds(take_input, &mut pfds);
        }
        let polled = match sys::fd::poll(&mut pfds, if shed_when_idle { IDLE_AFTER_MS } else { -1 }) {
            Ok(0) if shed_when_idle => sys::mem::shed_then_poll(&mut pfds, &mut buf),
            r => r,
        };
        if polled.is_err() {
            continue; // EINTR from a forwarded signal
        }
        if let Some(a) = attach.as_deref_mut() {
            a.ready(&pfds[attach_from..], take_input, &mut events);
            for ev in events.drain(..) {
                match ev {
                    AttachEvent::Input(data) if stdin_sink.is_some() => pending.extend_from_slice(&data),
                    AttachEvent::Input(_) => {}
                    AttachEvent::InputEnd if sink_is_pipe => {
                        stdin_sink = None;
                        pending.clear();
                        drop(stdin_pipe.take()); // EOF reaches the container
                    }
                    AttachEvent::InputEnd => {}
                    AttachEvent::Resize { rows, cols } => {
                        if let Some(m) = master {
                            let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
                            let _ = sys::term::set_winsize(m, &ws);
                        }
                    }
                }
            }
        }
        let mut closed = Vec::new();
        for (i, pfd) in pfds[..attach_from].iter().enumerate() {
            if pfd.revents == 0 {
                continue;
            }
            if i == stdin_slot {
                let Some(_) = stdin_sink else { continue };
                if pfd.fd == 0 {
                    match sys::fd::read(0, &mut buf) {
                        Ok(n) if n > 0 => pending.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        _ => {
                            // our stdin ended: so does the container's (a
                            // pipe; a terminal's is left to the attached)
                            read_fd0 = false;
                            if sink_is_pipe {
                                stdin_sink = None;
                                drop(stdin_pipe.take());
                            }
                        }
                    }
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
            let stream = if term == 2 { crate::logs::LogStream::Stderr } else { crate::logs::LogStream::Stdout };
            if let Some(l) = log.as_deref_mut() {
                let _ = l.write(stream, data);
            }
            if let Some(a) = attach.as_deref_mut() {
                a.output(stream, data);
            }
            if term_ok && !write_all(term, data) {
                term_ok = false; // the terminal went away: keep logging
            }
        }
        // whatever is waiting goes in as far as the sink takes it
        if let (Some(sink), false) = (stdin_sink, pending.is_empty()) {
            if sink_is_pipe {
                match sys::fd::write(sink, &pending) {
                    Ok(w) => drop(pending.drain(..w)),
                    Err(e) if e.raw_os_error() != Some(libc::EAGAIN) && e.kind() != std::io::ErrorKind::Interrupted => {
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
        }
        outputs.retain(|(fd, _)| !closed.contains(fd));
    }
}
