//! The Docker Engine API on a unix socket (`bocker system service`).
//!
//! hyper (HTTP/1.1) on a current-thread tokio runtime accepts and parses;
//! each request then runs its route on a thread of its own with a Lua
//! state of its own (`lua/lib/api.lua` finds the route among the files of
//! `lua/api/`, one per area, and the user's), so a slow or streaming
//! handler (logs -f, wait, events) never holds up another. The handler
//! answers through `res` (status, headers, then a body whole or in chunks):
//! the head goes back on a oneshot channel, the body as a stream.
//!
//! The socket is made mode 0600 (root only); there is no TCP listener.
pub mod conn;
pub mod frame;
mod registry_auth;
mod respond;

use crate::lua::convert::result;
use mlua::{Lua, Table};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use std::convert::Infallible;
use std::path::{Path, PathBuf};

/// The API version served (Docker 20.10's; newer clients negotiate down).
pub const API_VERSION: &str = "1.41";

/// The default socket.
pub const DEFAULT_SOCKET: &str = "/run/bocker/docker.sock";

/// Largest request body read into memory (a build context comes later as
/// a stream; today's endpoints take small JSON bodies).
const MAX_BODY: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{path}: {source}")]
    Socket { path: PathBuf, source: std::io::Error },
    #[error("{path} is in use by another server")]
    InUse { path: PathBuf },
    #[error("tokio runtime: {0}")]
    Runtime(std::io::Error),
}

/// A request as the Lua route sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiRequest {
    pub method: String,
    /// the path with the `/v1.41` prefix kept (the router strips it)
    pub path: String,
    pub query: Vec<(String, String)>,
    /// lower-case names
    pub headers: Vec<(String, String)>,
    #[serde(skip)]
    pub body: Bytes,
}

type Body = http_body_util::Either<Full<Bytes>, StreamBody<futures::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>>;

/// Binds the socket (a stale one of a dead server is replaced; a live one
/// is an error) and serves until the process is killed.
pub fn serve(socket: &Path) -> Result<(), ApiError> {
    crate::monitor::launch::reap_detached_monitors();
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().map_err(ApiError::Runtime)?;
    rt.block_on(async {
        let listener = bind(socket)?;
        tokio::task::spawn(shed_when_idle());
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("bocker: api: accept: {e}");
                    continue;
                }
            };
            tokio::task::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let svc = hyper::service::service_fn(handle);
                // with_upgrades: attach and exec hand the connection over (101)
                if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).with_upgrades().await {
                    if !e.is_incomplete_message() {
                        eprintln!("bocker: api: connection: {e}");
                    }
                }
            });
        }
    })
}

fn bind(socket: &Path) -> Result<tokio::net::UnixListener, ApiError> {
    let err = |source| ApiError::Socket { path: socket.to_path_buf(), source };
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match std::fs::symlink_metadata(socket) {
        Ok(m) => {
            use std::os::unix::fs::FileTypeExt;
            if !m.file_type().is_socket() {
                return Err(err(std::io::Error::other("exists and is not a socket")));
            }
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Err(ApiError::InUse { path: socket.to_path_buf() });
            }
            std::fs::remove_file(socket).map_err(err)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    // bound with no access for group and others, then chmod'ed to be sure
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let l = std::os::unix::net::UnixListener::bind(socket);
    nix::sys::stat::umask(old);
    let l = l.map_err(err)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    l.set_nonblocking(true).map_err(err)?;
    tokio::net::UnixListener::from_std(l).map_err(err)
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// `%XX` and `+` of a query string.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a request came since `shed_when_idle` last looked.
static REQUEST_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Once no request came for two seconds, gives back what serving touched,
/// as a detached monitor does (`monitor::slim::shed`): the service idles
/// small between bursts of requests.
async fn shed_when_idle() {
    let mut idle_secs = 0u32;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if REQUEST_SEEN.swap(false, std::sync::atomic::Ordering::Relaxed) {
            idle_secs = 0;
            continue;
        }
        idle_secs = idle_secs.saturating_add(1);
        if idle_secs == 2 {
            crate::monitor::slim::shed();
        }
    }
}

async fn handle(mut req: hyper::Request<hyper::body::Incoming>) -> Result<hyper::Response<Body>, Infallible> {
    REQUEST_SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
    // a client that asks to upgrade (Docker's attach and exec start) may
    // get the connection hijacked by its route
    let upgrade = req.headers().contains_key(hyper::header::UPGRADE).then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(respond::error_response(400, &format!("reading the request body: {e}"))),
    };
    let request = ApiRequest {
        method: parts.method.as_str().to_string(),
        path: percent_decode(parts.uri.path()),
        query: query_pairs(parts.uri.query()),
        headers: parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect(),
        body,
    };
    Ok(respond::run_route(request, upgrade).await)
}

/// `bocker.serve_api(socket)` and what the router (lua/lib/api.lua) needs
/// to find the route files.
pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    // serves until killed; nil, err when the socket cannot be had
    bocker.set("serve_api", lua.create_function(|lua, socket: Option<String>| {
        let path = std::path::PathBuf::from(socket.unwrap_or_else(|| self::DEFAULT_SOCKET.into()));
        result(lua, self::serve(&path).map(|()| true))
    })?)?;
    // frame(stream, data): Docker's multiplexed framing (1 stdout, 2 stderr)
    bocker.set("api_frame", lua.create_function(|lua, (code, data): (u8, mlua::LuaString)| {
        let stream = self::frame::FrameStream::from_code(code).filter(|s| *s != self::frame::FrameStream::System).ok_or_else(|| mlua::Error::RuntimeError(format!("api_frame: stream {code} is not 0, 1 or 2")))?;
        lua.create_string(self::frame::frame(stream, &data.as_bytes()))
    })?)?;
    // X-Registry-Auth -> { username, password }, or nil (none); nil, err if malformed
    bocker.set("api_registry_auth", lua.create_function(|lua, header: Option<String>| {
        match self::registry_auth::decode(header.as_deref().unwrap_or("")) {
            Ok(Some((username, password))) => {
                let t = lua.create_table()?;
                t.set("username", username)?;
                t.set("password", password)?;
                Ok(mlua::MultiValue::from_iter([mlua::Value::Table(t)]))
            }
            Ok(None) => Ok(mlua::MultiValue::new()),
            Err(e) => result::<bool, _>(lua, Err(e)),
        }
    })?)?;
    // the built-in areas, then the user's files (BOCKER_API, ~/.config/bocker/api)
    bocker.set("api_files", lua.create_function(|lua, ()| {
        let t = lua.create_table()?;
        t.set("builtin", crate::lua::builtin_api_areas())?;
        let mut user = Vec::new();
        for d in crate::lua::verbs::user_dirs_of("BOCKER_API", "api") {
            let Ok(rd) = std::fs::read_dir(&d) else { continue };
            let mut files: Vec<String> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "lua"))
                .map(|p| p.display().to_string())
                .collect();
            files.sort();
            user.extend(files);
        }
        t.set("user", user)?;
        Ok(t)
    })?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn queries_are_decoded() {
        assert_eq!(super::query_pairs(Some("all=1&filters=%7B%22a%22%3A1%7D&x=a+b&bad=%zz&&t")), vec![
            ("all".to_string(), "1".to_string()),
            ("filters".into(), "{\"a\":1}".into()),
            ("x".into(), "a b".into()),
            ("bad".into(), "%zz".into()),
            ("t".into(), "".into()),
        ]);
        assert_eq!(super::percent_decode("%"), "%");
        assert_eq!(super::percent_decode("a%4"), "a%4");
    }
}
