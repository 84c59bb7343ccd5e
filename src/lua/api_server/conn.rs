//! A hijacked connection (`res:hijack()`): after a 101 UPGRADED the
//! client's socket itself, both ways (Docker's attach and exec start); a
//! client that did not ask to upgrade gets a 200 whose streamed body
//! carries the output only. Lua holds it as a handle, which only
//! `write`s, `close`s and is handed to `bocker.container.attach` and
//! `bocker.container.exec` (`spec.conn`); no fd or path crosses.
use crate::monitor::relay::Sink;
use crate::mux::{frame, FrameStream};
use bytes::Bytes;
use mlua::{UserData, UserDataMethods};
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use tokio::sync::mpsc;

/// What the server side hands the route's thread.
pub enum Hijacked {
    /// the client's socket, and what the server had read past the request
    Socket { stream: UnixStream, preread: Vec<u8> },
    /// a streamed body (no input)
    Body(mpsc::Sender<Bytes>),
}

/// Waits for hyper to hand the upgraded connection over, and takes the
/// socket out of it (a blocking std socket from here on).
pub async fn take_upgraded(on: hyper::upgrade::OnUpgrade) -> Result<Hijacked, String> {
    let up = on.await.map_err(|e| format!("upgrade: {e}"))?;
    let parts = up
        .downcast::<hyper_util::rt::TokioIo<tokio::net::UnixStream>>()
        .map_err(|_| "upgrade: not a unix socket connection".to_string())?;
    let stream = parts.io.into_inner().into_std().map_err(|e| format!("upgrade: {e}"))?;
    stream.set_nonblocking(false).map_err(|e| format!("upgrade: {e}"))?;
    Ok(Hijacked::Socket { stream, preread: parts.read_buf.to_vec() })
}

/// The Lua handle.
pub struct Conn {
    inner: Option<Hijacked>,
    /// raw output (a terminal) instead of the multiplexed frames
    tty: bool,
}

impl Conn {
    pub fn new(h: Hijacked, tty: bool) -> Conn {
        Conn { inner: Some(h), tty }
    }

    /// Takes the connection out of the handle (a primitive uses it up).
    pub fn take(&mut self) -> Option<ConnSink> {
        let tty = self.tty;
        self.inner.take().map(|h| ConnSink { h, tty })
    }
}

/// The connection as a relay's client: output framed (or raw with a
/// terminal), input from the socket.
pub struct ConnSink {
    h: Hijacked,
    tty: bool,
}

impl ConnSink {
    /// The socket to read input from and watch for hangups (None: a body stream).
    pub fn input_fd(&self) -> Option<RawFd> {
        match &self.h {
            Hijacked::Socket { stream, .. } => Some(stream.as_raw_fd()),
            Hijacked::Body(_) => None,
        }
    }

    /// What the client sent along with its request.
    pub fn take_preread(&mut self) -> Vec<u8> {
        match &mut self.h {
            Hijacked::Socket { preread, .. } => std::mem::take(preread),
            Hijacked::Body(_) => Vec::new(),
        }
    }

    pub fn tty(&self) -> bool {
        self.tty
    }

    /// Ends the connection (the client sees EOF).
    pub fn close(self) {
        if let Hijacked::Socket { stream, .. } = &self.h {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Sink for ConnSink {
    fn output(&mut self, stream: FrameStream, data: &[u8]) -> bool {
        send(&mut self.h, self.tty, stream, data)
    }
}

impl UserData for Conn {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        // write(data [, "stdout"|"stderr"]): framed unless a terminal's; false once gone
        m.add_method_mut("write", |_, this, (data, stream): (mlua::LuaString, Option<String>)| {
            let s = match stream.as_deref() {
                None | Some("stdout") => FrameStream::Stdout,
                Some("stderr") => FrameStream::Stderr,
                Some(o) => return Err(mlua::Error::runtime(format!("conn:write: stream {o:?} is not stdout or stderr"))),
            };
            let tty = this.tty;
            let Some(h) = this.inner.as_mut() else { return Ok(false) };
            Ok(send(h, tty, s, &data.as_bytes()))
        });
        m.add_method_mut("close", |_, this, ()| {
            if let Some(s) = this.take() {
                s.close();
            }
            Ok(())
        });
        m.add_method("open", |_, this, ()| Ok(this.inner.is_some()));
    }
}

/// Output on the connection: framed unless a terminal's; false once the
/// client is gone.
fn send(h: &mut Hijacked, tty: bool, stream: FrameStream, data: &[u8]) -> bool {
    let bytes = if tty { data.to_vec() } else { frame(stream, data) };
    match h {
        Hijacked::Socket { stream, .. } => stream.write_all(&bytes).is_ok(),
        Hijacked::Body(tx) => tx.blocking_send(Bytes::from(bytes)).is_ok(),
    }
}
