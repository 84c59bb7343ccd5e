//! The monitor's attach socket: `containers/ID/attach.sock`, bound by the
//! monitor for as long as it runs (across restarts), so a detached
//! container can be attached to (`bocker attach`, the API's attach). The
//! container's output is fanned out to every attached client (and still
//! logged); the input of clients that asked for stdin goes to the
//! container's stdin when it has one (`interactive`, Docker's OpenStdin).
//!
//! The protocol: the client's first line is an [`AttachRequest`] (JSON);
//! for `attach`, the monitor then sends the output as Docker's multiplexed
//! frames (`crate::mux`: stream 1 stdout, 2 stderr; with a terminal
//! everything is stdout), and the client's bytes after the line are its
//! stdin (its half-close ends it); when the container has ended for good,
//! a last frame of stream 3 carries its exit status. `resize` sets the
//! terminal's size and is closed.
//!
//! Attaching to a container that is created but not running (Docker's
//! clients attach before they start): the attacher listens on
//! `containers/ID/attach.wait/HEX.FLAGS.sock` (FLAGS: the streams it
//! wants, so no request line is needed) and the monitor connects to each
//! such socket before the container's process runs, so not a byte of
//! output is missed (`crate::monitor::attach_client`).
//!
//! Everything a client sends is untrusted: the request line is bounded
//! (4 KiB), stdin is read in chunks only while the container can take
//! them, writes never block the monitor (a client more than
//! [`BACKLOG`] bytes behind holds the output, as Docker's does).
use crate::logs::LogStream;
use crate::mux::{frame_into, FrameStream};
use crate::runtime::term::{AttachEvent, Attached};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// The socket's name in the container's folder.
pub const SOCKET: &str = "attach.sock";
/// The folder of attachers waiting for the container to start.
pub const WAIT_DIR: &str = "attach.wait";
/// Output queued for one client before the pump holds the container's output.
pub const BACKLOG: usize = 1 << 20;
/// The longest request line.
const MAX_REQUEST: usize = 4096;
/// Clients at once; more are turned away.
const MAX_CLIENTS: usize = 64;

/// What an attacher asks for, as its first line.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(tag = "req", rename_all = "snake_case", deny_unknown_fields)]
pub enum AttachRequest {
    Attach { stdin: bool, stdout: bool, stderr: bool },
    Resize { rows: u16, cols: u16 },
}

impl AttachRequest {
    pub fn line(&self) -> Vec<u8> {
        let mut l = serde_json::to_vec(self).unwrap_or_default();
        l.push(b'\n');
        l
    }
}

/// `/proc/self/fd/N/NAME`: a path to NAME in the folder open as `dir`,
/// short whatever the state root's length (a unix socket's path holds at
/// most 107 bytes).
pub fn path_in(dir: &OwnedFd, name: &str) -> String {
    format!("/proc/self/fd/{}/{name}", dir.as_raw_fd())
}

/// The container's folder, opened to reach its sockets.
pub fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    Ok(std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC).open(dir)?.into())
}

/// A waiting attacher's socket name: `HEX.FLAGS.sock`, FLAGS three of
/// `i`/`-`, `o`/`-`, `e`/`-` (stdin, stdout, stderr wanted).
pub fn wait_name(hex: &str, stdin: bool, stdout: bool, stderr: bool) -> String {
    let f = |on: bool, c: char| if on { c } else { '-' };
    format!("{hex}.{}{}{}.sock", f(stdin, 'i'), f(stdout, 'o'), f(stderr, 'e'))
}

/// What a waiting attacher's socket name says it wants; None for any
/// other name.
pub fn parse_wait_name(name: &str) -> Option<(bool, bool, bool)> {
    let (hex, flags) = name.strip_suffix(".sock")?.split_once('.')?;
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let f = flags.as_bytes();
    let flag = |i: usize, c: u8| match f.get(i) {
        Some(&b) if b == c => Some(true),
        Some(b'-') => Some(false),
        _ => None,
    };
    if f.len() != 3 {
        return None;
    }
    Some((flag(0, b'i')?, flag(1, b'o')?, flag(2, b'e')?))
}

struct Client {
    sock: UnixStream,
    /// the request line as it comes in (None once read)
    line: Option<Vec<u8>>,
    want: Option<(bool, bool, bool)>,
    /// still reading its stdin
    reading: bool,
    out: Vec<u8>,
    gone: bool,
}

impl Client {
    fn new(sock: UnixStream) -> Client {
        Client { sock, line: Some(Vec::new()), want: None, reading: true, out: Vec::new(), gone: false }
    }

    fn flush(&mut self) {
        while !self.out.is_empty() {
            match nix::sys::socket::send(self.sock.as_raw_fd(), &self.out, nix::sys::socket::MsgFlags::MSG_NOSIGNAL) {
                Ok(n) => drop(self.out.drain(..n)),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => return,
                Err(_) => {
                    self.gone = true;
                    self.out.clear();
                    return;
                }
            }
        }
    }
}

/// The monitor's side: the listener and the attached clients.
pub struct Attachments {
    dir: OwnedFd,
    listener: UnixListener,
    clients: Vec<Client>,
    /// a terminal: all output is stdout
    tty: bool,
    /// close the container's stdin when the first client's stdin ends
    stdin_once: bool,
    stdin_closed: bool,
}

impl Attachments {
    /// Binds `attach.sock` in the container's folder (a stale one of a
    /// dead monitor is replaced).
    pub fn bind(container_dir: &Path, tty: bool, stdin_once: bool) -> std::io::Result<Attachments> {
        let dir = open_dir(container_dir)?;
        let path = path_in(&dir, SOCKET);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        Ok(Attachments { dir, listener, clients: Vec::new(), tty, stdin_once, stdin_closed: false })
    }

    /// Before a run's process starts: connects to every waiting attacher
    /// (a stale socket, whose attacher is gone, is removed); what each
    /// wants is in its socket's name, so no answer is waited for: the
    /// output queues in the socket until the attacher accepts. A new run
    /// of a restart starts with a fresh stdin.
    pub fn adopt_waiting(&mut self) {
        self.stdin_closed = false;
        let wait = path_in(&self.dir, WAIT_DIR);
        let Ok(rd) = std::fs::read_dir(&wait) else { return };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((stdin, stdout, stderr)) = parse_wait_name(&name) else { continue };
            let p = format!("{wait}/{name}");
            let sock = match UnixStream::connect(&p) {
                Ok(s) => s,
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                    let _ = std::fs::remove_file(&p);
                    continue;
                }
                Err(_) => continue,
            };
            if sock.set_nonblocking(true).is_err() {
                continue;
            }
            let mut c = Client::new(sock);
            c.line = None;
            c.want = Some((stdin, stdout, stderr));
            c.reading = stdin;
            self.clients.push(c);
        }
    }

    /// Sends the exit status, flushes what the clients are owed (for up
    /// to `within`) and closes them: the container ended.
    pub fn finish(&mut self, within: std::time::Duration, status: Option<i32>) {
        let end = std::time::Instant::now() + within;
        for c in &mut self.clients {
            if let (Some(code), Some(_)) = (status, c.want) {
                frame_into(FrameStream::System, code.to_string().as_bytes(), &mut c.out);
            }
            while !c.out.is_empty() && !c.gone && std::time::Instant::now() < end {
                c.flush();
                if !c.out.is_empty() {
                    let mut p = [libc::pollfd { fd: c.sock.as_raw_fd(), events: libc::POLLOUT, revents: 0 }];
                    let _ = crate::sys::fd::poll(&mut p, 50);
                }
            }
            let _ = c.sock.shutdown(std::net::Shutdown::Both);
        }
        self.clients.clear();
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    // dropped (closed) when there are too many
                    if self.clients.len() < MAX_CLIENTS && s.set_nonblocking(true).is_ok() {
                        self.clients.push(Client::new(s));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Reads a client's request line (byte by byte up to the newline:
    /// what follows is its stdin).
    fn read_request(&mut self, i: usize, events: &mut Vec<AttachEvent>) {
        let c = &mut self.clients[i];
        let Some(line) = &mut c.line else { return };
        let mut b = [0u8; 1];
        loop {
            match (&c.sock).read(&mut b) {
                Ok(1) if b[0] == b'\n' => break,
                Ok(1) if line.len() < MAX_REQUEST => line.push(b[0]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => {
                    c.gone = true;
                    return;
                }
            }
        }
        let line = std::mem::take(line);
        if let Ok(AttachRequest::Resize { rows, cols }) = serde_json::from_slice::<AttachRequest>(&line) {
            events.push(AttachEvent::Resize { rows, cols });
            c.gone = true;
            return;
        }
        if !take_request(c, &line) {
            c.gone = true;
        }
    }
}

/// Applies an attach request; false if the client is done with (a bad
/// request, or a resize, which the caller applies).
fn take_request(c: &mut Client, line: &[u8]) -> bool {
    c.line = None;
    match serde_json::from_slice::<AttachRequest>(line) {
        Ok(AttachRequest::Attach { stdin, stdout, stderr }) => {
            c.want = Some((stdin, stdout, stderr));
            c.reading = stdin;
            true
        }
        Ok(AttachRequest::Resize { .. }) | Err(_) => false,
    }
}

impl Drop for Attachments {
    fn drop(&mut self) {
        self.finish(std::time::Duration::from_millis(0), None);
        let _ = std::fs::remove_file(path_in(&self.dir, SOCKET));
    }
}

impl Attached for Attachments {
    fn poll_fds(&self, take_input: bool, out: &mut Vec<libc::pollfd>) {
        out.push(libc::pollfd { fd: self.listener.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        for c in &self.clients {
            let mut events = 0;
            if c.line.is_some() || (c.reading && take_input) {
                events |= libc::POLLIN;
            }
            if !c.out.is_empty() {
                events |= libc::POLLOUT;
            }
            out.push(libc::pollfd { fd: c.sock.as_fd().as_raw_fd(), events, revents: 0 });
        }
    }

    fn ready(&mut self, pfds: &[libc::pollfd], take_input: bool, events: &mut Vec<AttachEvent>) {
        let listener_ready = pfds.first().is_some_and(|p| p.revents != 0);
        for (i, p) in pfds.iter().skip(1).enumerate() {
            if i >= self.clients.len() || p.revents == 0 {
                continue;
            }
            if p.revents & libc::POLLOUT != 0 {
                self.clients[i].flush();
            }
            if p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                self.input(i, take_input, events);
            }
        }
        let mut stdin_ended = false;
        self.clients.retain(|c| {
            if c.gone && c.want.is_some_and(|w| w.0) && c.reading {
                stdin_ended = true;
            }
            !c.gone
        });
        if stdin_ended {
            self.stdin_ended(events);
        }
        if listener_ready {
            self.accept();
        }
    }

    fn output(&mut self, stream: LogStream, data: &[u8]) {
        let stream = match stream {
            LogStream::Stderr if !self.tty => FrameStream::Stderr,
            _ => FrameStream::Stdout,
        };
        for c in &mut self.clients {
            let Some((_, out, err)) = c.want else { continue };
            let wanted = match stream {
                FrameStream::Stderr => err,
                _ => out || (self.tty && err),
            };
            if wanted && !c.gone {
                frame_into(stream, data, &mut c.out);
                c.flush();
            }
        }
    }

    fn backlogged(&self) -> bool {
        self.clients.iter().any(|c| c.out.len() > BACKLOG)
    }
}

impl Attachments {
    /// A client's readable socket: its request line, or its stdin.
    fn input(&mut self, i: usize, take_input: bool, events: &mut Vec<AttachEvent>) {
        if self.clients[i].line.is_some() {
            self.read_request(i, events);
            return;
        }
        let c = &mut self.clients[i];
        if !c.reading || !take_input {
            // nothing to read now: a hangup (EOF with nothing left unread,
            // or an error) means it is gone; else poll would report it again
            // and again
            let mut probe = [0u8; 1];
            let flags = nix::sys::socket::MsgFlags::MSG_PEEK | nix::sys::socket::MsgFlags::MSG_DONTWAIT;
            match nix::sys::socket::recv(c.sock.as_raw_fd(), &mut probe, flags) {
                Ok(0) => c.gone = true,
                Err(e) if e != nix::errno::Errno::EAGAIN && e != nix::errno::Errno::EINTR => c.gone = true,
                _ => {}
            }
            return;
        }
        let mut buf = vec![0u8; 64 * 1024];
        match (&c.sock).read(&mut buf) {
            Ok(0) => {
                // its stdin ended (a half-close): it still gets the output
                c.reading = false;
                self.stdin_ended(events);
            }
            Ok(n) => {
                buf.truncate(n);
                events.push(AttachEvent::Input(buf));
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {}
            Err(_) => c.gone = true,
        }
    }

    fn stdin_ended(&mut self, events: &mut Vec<AttachEvent>) {
        if self.stdin_once && !self.stdin_closed {
            self.stdin_closed = true;
            events.push(AttachEvent::InputEnd);
        }
    }
}

/// Sends a resize to a running container's monitor.
pub fn send_resize(container_dir: &Path, rows: u16, cols: u16) -> std::io::Result<()> {
    let dir = open_dir(container_dir)?;
    let mut s = UnixStream::connect(path_in(&dir, SOCKET))?;
    s.write_all(&AttachRequest::Resize { rows, cols }.line())?;
    // the monitor closes it once read
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let mut b = [0u8; 1];
    let _ = s.read(&mut b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_unknown_keys_are_refused() {
        let r = AttachRequest::Attach { stdin: true, stdout: true, stderr: false };
        let l = r.line();
        assert_eq!(serde_json::from_slice::<AttachRequest>(&l[..l.len() - 1]).unwrap(), r);
        assert!(serde_json::from_str::<AttachRequest>(r#"{"req":"attach","stdin":true,"stdout":true,"stderr":true,"x":1}"#).is_err());
        assert_eq!(parse_wait_name(&wait_name("0af3", true, false, true)), Some((true, false, true)));
        assert_eq!(parse_wait_name("0af3.-o-.sock"), Some((false, true, false)));
        for bad in ["../x.ioe.sock", ".ioe.sock", "ab", "0af3.sock", "0af3.ioex.sock", "0af3.oie.sock", "0a/3.ioe.sock"] {
            assert_eq!(parse_wait_name(bad), None, "{bad}");
        }
    }
}
