//! The attacher's side of the monitor's attach socket (`super::attach`):
//! connect to a running container's monitor, or wait for a created one to
//! start, registered so that its monitor connects before the container's
//! process runs.
use super::attach::{open_dir, path_in, wait_name, AttachRequest, SOCKET, WAIT_DIR};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// An attachment being made.
pub enum Pending {
    /// connected to the monitor, the request sent
    Connected(UnixStream),
    /// waiting for the monitor of a start to connect
    Waiting(Waiter),
}

/// A registered waiter: `attach.wait/HEX.sock` in the container's folder,
/// removed when dropped.
pub struct Waiter {
    dir: OwnedFd,
    name: String,
    listener: UnixListener,
    request: AttachRequest,
}

/// Connects to the monitor of the container whose folder is `dir`, sends
/// the request; None when no monitor listens.
pub fn connect(container_dir: &Path, request: AttachRequest) -> std::io::Result<Option<UnixStream>> {
    let dir = open_dir(container_dir)?;
    connect_in(&dir, request)
}

fn connect_in(dir: &OwnedFd, request: AttachRequest) -> std::io::Result<Option<UnixStream>> {
    match UnixStream::connect(path_in(dir, SOCKET)) {
        Ok(mut s) => {
            s.write_all(&request.line())?;
            Ok(Some(s))
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ECONNREFUSED)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Attaches to a running container, or (`wait`) registers to be attached
/// by the next start of a container that is not running.
pub fn open(container_dir: &Path, request: AttachRequest, wait: bool) -> std::io::Result<Option<Pending>> {
    let dir = open_dir(container_dir)?;
    if let Some(s) = connect_in(&dir, request)? {
        return Ok(Some(Pending::Connected(s)));
    }
    if !wait {
        return Ok(None);
    }
    let wdir = path_in(&dir, WAIT_DIR);
    match std::fs::create_dir(&wdir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let AttachRequest::Attach { stdin, stdout, stderr } = request else {
        return Err(std::io::Error::other("only an attach waits for a start"));
    };
    let name = wait_name(&crate::state::ids::random_hex(16), stdin, stdout, stderr);
    let listener = UnixListener::bind(format!("{wdir}/{name}"))?;
    listener.set_nonblocking(true)?;
    let w = Waiter { dir, name, listener, request };
    // a monitor that started meanwhile may have listed the folder before
    // this socket was there: then attach to it directly
    w.settle()
}

impl Waiter {
    /// The listener's fd, to poll for the monitor's connection.
    pub fn fd(&self) -> i32 {
        self.listener.as_raw_fd()
    }

    /// The monitor's connection, if it came (what it sends is what the
    /// socket's name asked for).
    pub fn accept(&self) -> std::io::Result<Option<UnixStream>> {
        match self.listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                Ok(Some(s))
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks whether a monitor runs that did not connect: then the
    /// registration is withdrawn (no monitor can find it any more), a
    /// connection that came meanwhile is taken, else the monitor's socket
    /// is connected to.
    pub fn settle(self) -> std::io::Result<Option<Pending>> {
        let running = UnixStream::connect(path_in(&self.dir, SOCKET)).is_ok();
        if !running {
            return Ok(Some(Pending::Waiting(self)));
        }
        let _ = std::fs::remove_file(self.path());
        if let Some(s) = self.accept()? {
            return Ok(Some(Pending::Connected(s)));
        }
        Ok(connect_in(&self.dir, self.request)?.map(Pending::Connected))
    }

    fn path(&self) -> String {
        format!("{}/{}", path_in(&self.dir, WAIT_DIR), self.name)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
    }
}
