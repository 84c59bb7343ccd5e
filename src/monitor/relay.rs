//! The attacher's relay: between a client (an API connection hijacked by
//! `bocker system service`, or bocker's own terminal) and what it is
//! attached to (a container's monitor through its attach socket, or an
//! exec'd process's pipes or terminal). Output goes to the client's
//! [`Sink`]; the client's input goes upstream, watched for the detach keys.
//! Nothing blocks on a slow container: input waits in a bounded buffer and
//! is read again only once it went in.
use super::attach_client::Pending;
use super::detach_keys::Matcher;
use crate::mux::{Decoder, FrameStream};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Input read ahead while waiting for a start, at most.
const MAX_PENDING: usize = 1 << 20;

/// Where the output goes.
pub trait Sink {
    /// Delivers a chunk; false when the client is gone.
    fn output(&mut self, stream: FrameStream, data: &[u8]) -> bool;
}

/// What the relay is attached to.
pub enum Upstream {
    Monitor(Pending),
    /// an exec'd process: its outputs (pipes, or a terminal's master as
    /// stdout) and where its input goes
    Process { outputs: Vec<(OwnedFd, FrameStream)>, stdin: Option<OwnedFd>, close_stdin: bool },
}

/// How a wait for a container's start goes on.
pub enum WaitCheck {
    NotRunning,
    Running,
    Removed,
}

pub struct RelayOpts<'a> {
    /// the client's input (a connection, our stdin); None: no input
    pub input: Option<RawFd>,
    /// the client itself, watched for hangups (a connection)
    pub client: Option<RawFd>,
    /// input the client sent before (with its request): it goes first
    pub preread: Vec<u8>,
    pub detach: Option<Matcher>,
    /// asked every 200 ms while waiting for a start
    pub waiting: &'a dyn Fn() -> WaitCheck,
    /// called every 200 ms and after each poll (a terminal's size)
    pub tick: Option<&'a mut dyn FnMut()>,
}

/// How a relay ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Outcome {
    /// the container or process ended (its output closed), with its exit
    /// status when the monitor told it
    Ended(Option<i32>),
    /// the client typed the detach keys
    Detached,
    /// the client went away
    ClientGone,
    /// the container was removed before it started
    Removed,
}

enum Up {
    Waiting(super::attach_client::Waiter),
    Monitor { sock: UnixStream, decoder: Decoder, input_closed: bool },
    Process { outputs: Vec<(OwnedFd, FrameStream)>, stdin: Option<OwnedFd>, close_stdin: bool },
}

impl Up {
    /// Where input goes now (None while waiting or once closed).
    fn input_fd(&self) -> Option<RawFd> {
        match self {
            Up::Waiting(_) => None,
            Up::Monitor { sock, input_closed, .. } => (!input_closed).then(|| sock.as_raw_fd()),
            Up::Process { stdin, .. } => stdin.as_ref().map(|f| f.as_raw_fd()),
        }
    }

    fn close_input(&mut self) {
        match self {
            Up::Waiting(_) => {}
            Up::Monitor { sock, input_closed, .. } => {
                *input_closed = true;
                let _ = sock.shutdown(std::net::Shutdown::Write);
            }
            Up::Process { stdin, close_stdin, .. } => {
                if *close_stdin {
                    drop(stdin.take());
                }
            }
        }
    }
}

impl Up {
    /// Input is written without blocking (a container that reads no
    /// stdin must not hold up its output).
    fn input_nonblocking(&self) {
        let _ = match self {
            Up::Monitor { sock, .. } => sock.set_nonblocking(true),
            Up::Process { stdin: Some(f), .. } => crate::sys::fd::set_nonblocking(std::os::fd::AsFd::as_fd(f)),
            _ => Ok(()),
        };
    }
}

/// Relays until the container (or process) ends, the client detaches or
/// goes away.
pub fn relay(up: Upstream, sink: &mut dyn Sink, mut o: RelayOpts) -> Outcome {
    let mut up = match up {
        Upstream::Monitor(Pending::Connected(sock)) => Up::Monitor { sock, decoder: Decoder::default(), input_closed: false },
        Upstream::Monitor(Pending::Waiting(w)) => Up::Waiting(w),
        Upstream::Process { outputs, stdin, close_stdin } => Up::Process { outputs, stdin, close_stdin },
    };
    up.input_nonblocking();
    let mut pending: Vec<u8> = Vec::new();
    if !o.preread.is_empty() {
        let pre = std::mem::take(&mut o.preread);
        let (data, detached) = match &mut o.detach {
            Some(m) => m.feed(&pre),
            None => (pre, false),
        };
        if detached {
            return Outcome::Detached;
        }
        pending = data;
    }
    let mut input_open = o.input.is_some();
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_check = std::time::Instant::now();
    loop {
        // input ended and all of it went in: the container's stdin ends
        if !input_open && pending.is_empty() && up.input_fd().is_some() {
            up.close_input();
        }
        let mut pfds: Vec<libc::pollfd> = Vec::new();
        let waiting = matches!(up, Up::Waiting(_));
        // 0: upstream reads (the waiter's listener, the monitor, or the
        // process's outputs); then the input sink; then the client's input
        match &up {
            Up::Waiting(w) => pfds.push(pollin(w.fd())),
            Up::Monitor { sock, .. } => pfds.push(pollin(sock.as_raw_fd())),
            Up::Process { outputs, .. } => pfds.extend(outputs.iter().map(|(f, _)| pollin(f.as_raw_fd()))),
        }
        let n_up = pfds.len();
        match up.input_fd() {
            Some(fd) if !pending.is_empty() => pfds.push(libc::pollfd { fd, events: libc::POLLOUT, revents: 0 }),
            _ => pfds.push(libc::pollfd { fd: -1, events: 0, revents: 0 }),
        }
        let in_slot = pfds.len();
        let room = if waiting { pending.len() < MAX_PENDING } else { pending.is_empty() };
        match o.input {
            Some(fd) if input_open && room => pfds.push(pollin(fd)),
            _ => pfds.push(libc::pollfd { fd: -1, events: 0, revents: 0 }),
        }
        let client_slot = pfds.len();
        match o.client {
            Some(fd) if Some(fd) != o.input || !input_open => pfds.push(libc::pollfd { fd, events: 0, revents: 0 }),
            _ => pfds.push(libc::pollfd { fd: -1, events: 0, revents: 0 }),
        }
        let timeout = if waiting || o.tick.is_some() { 200 } else { -1 };
        if crate::sys::fd::poll(&mut pfds, timeout).is_err() {
            if let Some(t) = o.tick.as_deref_mut() {
                t();
            }
            continue;
        }
        if let Some(t) = o.tick.as_deref_mut() {
            t();
        }
        if pfds[client_slot].revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            return Outcome::ClientGone;
        }
        // the client's input
        if pfds[in_slot].revents != 0 {
            if let Some(fd) = o.input {
                let r = crate::sys::fd::read(fd, &mut buf);
                match r {
                    Ok(0) => input_open = false,
                    Ok(n) => {
                        let (data, detached) = match &mut o.detach {
                            Some(m) => m.feed(&buf[..n]),
                            None => (buf[..n].to_vec(), false),
                        };
                        pending.extend_from_slice(&data);
                        if detached {
                            // what came before the keys still goes in
                            if let Some(fd) = up.input_fd() {
                                let _ = crate::runtime::term::write_all(fd, &pending);
                            }
                            return Outcome::Detached;
                        }
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock) => {}
                    Err(_) => input_open = false,
                }
            }
        }
        // input into the container
        if !pending.is_empty() {
            if let Some(fd) = up.input_fd() {
                match crate::sys::fd::write(fd, &pending) {
                    Ok(n) => drop(pending.drain(..n)),
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {}
                    Err(_) => {
                        // the container's stdin is closed: input goes nowhere
                        pending.clear();
                        input_open = false;
                        up.close_input();
                    }
                }
            }
        }
        // upstream
        match &mut up {
            Up::Waiting(w) => {
                if pfds[0].revents != 0 {
                    if let Ok(Some(sock)) = w.accept() {
                        up = Up::Monitor { sock, decoder: Decoder::default(), input_closed: false };
                        up.input_nonblocking();
                        continue;
                    }
                }
                if last_check.elapsed() >= std::time::Duration::from_millis(200) {
                    last_check = std::time::Instant::now();
                    match (o.waiting)() {
                        WaitCheck::NotRunning => {}
                        WaitCheck::Removed => return Outcome::Removed,
                        WaitCheck::Running => {
                            let Up::Waiting(w) = std::mem::replace(&mut up, Up::Process { outputs: Vec::new(), stdin: None, close_stdin: false }) else { unreachable!() };
                            up = match w.settle() {
                                Ok(Some(Pending::Connected(sock))) => Up::Monitor { sock, decoder: Decoder::default(), input_closed: false },
                                Ok(Some(Pending::Waiting(w))) => Up::Waiting(w),
                                // running, yet no monitor to attach to: it ended already
                                Ok(None) | Err(_) => return Outcome::Ended(None),
                            };
                            up.input_nonblocking();
                        }
                    }
                }
            }
            Up::Monitor { sock, decoder, .. } => {
                if pfds[0].revents == 0 {
                    continue;
                }
                let n = match (&*sock).read(&mut buf) {
                    Ok(0) => return Outcome::Ended(None),
                    Ok(n) => n,
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock) => continue,
                    Err(_) => return Outcome::Ended(None),
                };
                decoder.push(&buf[..n]);
                loop {
                    match decoder.next_frame() {
                        Ok(Some((FrameStream::System, data))) => {
                            return Outcome::Ended(std::str::from_utf8(&data).ok().and_then(|t| t.parse().ok()));
                        }
                        Ok(Some((stream, data))) => {
                            if !sink.output(stream, &data) {
                                return Outcome::ClientGone;
                            }
                        }
                        Ok(None) => break,
                        // not bocker's monitor speaking: give up on it
                        Err(_) => return Outcome::Ended(None),
                    }
                }
            }
            Up::Process { outputs, .. } => {
                let mut closed = Vec::new();
                for (i, p) in pfds[..n_up].iter().enumerate() {
                    if p.revents == 0 {
                        continue;
                    }
                    let (fd, stream) = (&outputs[i].0, outputs[i].1);
                    match crate::sys::fd::read(fd.as_raw_fd(), &mut buf) {
                        Ok(n) if n > 0 => {
                            if !sink.output(stream, &buf[..n]) {
                                return Outcome::ClientGone;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        _ => closed.push(i),
                    }
                }
                for i in closed.into_iter().rev() {
                    outputs.remove(i);
                }
                if outputs.is_empty() {
                    return Outcome::Ended(None);
                }
            }
        }
    }
}

fn pollin(fd: RawFd) -> libc::pollfd {
    libc::pollfd { fd, events: libc::POLLIN, revents: 0 }
}

/// A sink writing to our own stdout and stderr (a terminal, or pipes).
pub struct StdioSink;

impl Sink for StdioSink {
    fn output(&mut self, stream: FrameStream, data: &[u8]) -> bool {
        let r = match stream {
            FrameStream::Stderr => std::io::stderr().lock().write_all(data),
            _ => {
                let mut out = std::io::stdout().lock();
                out.write_all(data).and_then(|()| out.flush())
            }
        };
        r.is_ok()
    }
}
