//! Running one request's Lua route on its own thread, and the `res`
//! object the route answers through: a head (status, headers), then the
//! body whole (`json`, `send`) or in chunks (`write`) for streams.
use super::{ApiRequest, Body};
use bytes::Bytes;
use http_body_util::{Either, Full, StreamBody};
use hyper::body::Frame;
use mlua::{Lua, LuaSerdeExt, UserData, UserDataMethods, Value};
use tokio::sync::{mpsc, oneshot};

/// The head, and how the body follows it.
enum Head {
    Whole { status: u16, headers: Vec<(String, String)>, body: Bytes },
    Stream { status: u16, headers: Vec<(String, String)>, rx: mpsc::Receiver<Bytes> },
    /// `res:hijack()`: the connection, for a route's Rust primitives
    Hijack { headers: Vec<(String, String)>, reply: std::sync::mpsc::Sender<Result<super::conn::Hijacked, String>> },
}

/// `res` in Lua.
struct Res {
    head: Option<oneshot::Sender<Head>>,
    status: u16,
    headers: Vec<(String, String)>,
    stream: Option<mpsc::Sender<Bytes>>,
}

fn misuse(what: &str) -> mlua::Error {
    mlua::Error::RuntimeError(format!("res:{what}: the response was already sent"))
}

impl Res {
    fn send_whole(&mut self, status: u16, content_type: &str, body: Bytes) -> mlua::Result<()> {
        let tx = self.head.take().ok_or_else(|| misuse("send"))?;
        let mut headers = std::mem::take(&mut self.headers);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            headers.push(("Content-Type".into(), content_type.into()));
        }
        let _ = tx.send(Head::Whole { status, headers, body });
        Ok(())
    }
}

/// A Lua value as JSON: an empty table is an object unless marked with
/// `bocker.json.array` (Docker's clients refuse `[]` where a map is due).
fn to_json(lua: &Lua, v: Value) -> mlua::Result<Bytes> {
    let opts = mlua::serde::DeserializeOptions::new().encode_empty_tables_as_array(false);
    let j: serde_json::Value = lua.from_value_with(v, opts)?;
    let mut out = serde_json::to_vec(&j).map_err(crate::lua::ext)?;
    out.push(b'\n');
    Ok(Bytes::from(out))
}

impl UserData for Res {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("status", |_, this, code: u16| {
            if this.head.is_none() {
                return Err(misuse("status"));
            }
            this.status = code;
            Ok(())
        });
        m.add_method_mut("header", |_, this, (k, v): (String, String)| {
            if this.head.is_none() {
                return Err(misuse("header"));
            }
            this.headers.push((k, v));
            Ok(())
        });
        // json(value [, status])
        m.add_method_mut("json", |lua, this, (v, status): (Value, Option<u16>)| {
            let body = to_json(lua, v)?;
            let status = status.unwrap_or(this.status);
            this.send_whole(status, "application/json", body)
        });
        // send(text [, status [, content type]])
        m.add_method_mut("send", |_, this, (text, status, ctype): (mlua::LuaString, Option<u16>, Option<String>)| {
            let status = status.unwrap_or(this.status);
            this.send_whole(status, ctype.as_deref().unwrap_or("text/plain; charset=utf-8"), Bytes::copy_from_slice(&text.as_bytes()))
        });
        // error(status, message): Docker's {"message": ...}
        m.add_method_mut("error", |_, this, (status, msg): (u16, String)| {
            let body = serde_json::to_vec(&serde_json::json!({ "message": msg })).map_err(crate::lua::ext)?;
            this.send_whole(status, "application/json", Bytes::from(body))
        });
        // write(chunk): the first sends the head; false once the client is gone
        m.add_method_mut("write", |_, this, chunk: mlua::LuaString| {
            if let Some(tx) = this.head.take() {
                let (btx, rx) = mpsc::channel(16);
                let headers = std::mem::take(&mut this.headers);
                let _ = tx.send(Head::Stream { status: this.status, headers, rx });
                this.stream = Some(btx);
            }
            let Some(tx) = &this.stream else { return Err(misuse("write")) };
            Ok(tx.blocking_send(Bytes::copy_from_slice(&chunk.as_bytes())).is_ok())
        });
        // finish(): ends a streamed body (also when the route returns)
        m.add_method_mut("finish", |_, this, ()| {
            this.stream = None;
            Ok(())
        });
        m.add_method("sent", |_, this, ()| Ok(this.head.is_none()));
        // alive(): false once a streamed answer's client has gone away
        m.add_method("alive", |_, this, ()| Ok(this.stream.as_ref().is_some_and(|tx| !tx.is_closed())));
        // hijack({tty}): the connection itself (101 UPGRADED when the client
        // asked to upgrade, else a 200 stream that carries output only), as
        // a handle for bocker.container.attach / exec
        m.add_method_mut("hijack", |lua, this, o: Option<mlua::Table>| {
            let tty = match &o {
                Some(t) => t.get::<Option<bool>>("tty")?.unwrap_or(false),
                None => false,
            };
            let tx = this.head.take().ok_or_else(|| misuse("hijack"))?;
            let mut headers = std::mem::take(&mut this.headers);
            let ctype = if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" };
            headers.push(("Content-Type".into(), ctype.into()));
            let (reply, rx) = std::sync::mpsc::channel();
            let _ = tx.send(Head::Hijack { headers, reply });
            let got = rx.recv_timeout(std::time::Duration::from_secs(30)).map_err(|_| mlua::Error::runtime("res:hijack: the connection was not handed over"))?;
            let h = got.map_err(|e| mlua::Error::runtime(format!("res:hijack: {e}")))?;
            lua.create_userdata(super::conn::Conn::new(h, tty))
        });
    }
}

pub fn error_response(status: u16, msg: &str) -> hyper::Response<Body> {
    let body = serde_json::to_vec(&serde_json::json!({ "message": msg })).unwrap_or_default();
    build(status, vec![("Content-Type".into(), "application/json".into())], Either::Left(Full::new(Bytes::from(body))))
}

fn build(status: u16, headers: Vec<(String, String)>, body: Body) -> hyper::Response<Body> {
    let mut r = hyper::Response::new(body);
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (hyper::header::HeaderName::from_bytes(k.as_bytes()), hyper::header::HeaderValue::from_str(&v)) {
            r.headers_mut().append(k, v);
        }
    }
    r.headers_mut().insert("Api-Version", hyper::header::HeaderValue::from_static(super::API_VERSION));
    r.headers_mut().insert("Server", hyper::header::HeaderValue::from_static("bocker"));
    r
}

/// A request for a worker, and where its head goes.
struct Job {
    req: ApiRequest,
    tx: oneshot::Sender<Head>,
}

/// Workers waiting for a request, each with its Lua state warm (routes
/// loaded: a fresh state costs ~4 ms a request). A request takes one, or
/// starts a new worker when none waits (a streaming handler holds its
/// worker as long as it streams); a worker that finds `MAX_IDLE` others
/// waiting ends.
static IDLE: std::sync::Mutex<Vec<std::sync::mpsc::Sender<Job>>> = std::sync::Mutex::new(Vec::new());
const MAX_IDLE: usize = 2;

/// Runs the route on a worker thread; resolves once the head is ready.
pub async fn run_route(req: ApiRequest, upgrade: Option<hyper::upgrade::OnUpgrade>) -> hyper::Response<Body> {
    let (tx, rx) = oneshot::channel();
    let mut job = Job { req, tx };
    loop {
        let idle = IDLE.lock().ok().and_then(|mut v| v.pop());
        let Some(worker) = idle else {
            if let Err(e) = std::thread::Builder::new().name("api".into()).spawn(move || worker(job)) {
                return error_response(500, &format!("starting a handler thread: {e}"));
            }
            break;
        };
        match worker.send(job) {
            Ok(()) => break,
            Err(back) => job = back.0, // that worker is gone: the next
        }
    }
    match rx.await {
        Ok(Head::Whole { status, headers, body }) => build(status, headers, Either::Left(Full::new(body))),
        Ok(Head::Stream { status, headers, rx }) => {
            let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok(Frame::data(b)), rx)) });
            build(status, headers, Either::Right(StreamBody::new(Box::pin(stream))))
        }
        Ok(Head::Hijack { mut headers, reply }) => match upgrade {
            Some(on) => {
                headers.push(("Connection".into(), "Upgrade".into()));
                headers.push(("Upgrade".into(), "tcp".into()));
                tokio::task::spawn(async move {
                    let _ = reply.send(super::conn::take_upgraded(on).await);
                });
                build(101, headers, Either::Left(Full::new(Bytes::new())))
            }
            None => {
                // no upgrade asked: the output as a streamed body
                let (btx, rx) = mpsc::channel(16);
                let _ = reply.send(Ok(super::conn::Hijacked::Body(btx)));
                let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok(Frame::data(b)), rx)) });
                build(200, headers, Either::Right(StreamBody::new(Box::pin(stream))))
            }
        },
        Err(_) => error_response(500, "the handler ended without an answer"),
    }
}

/// One worker: its Lua state, then requests until enough others wait.
fn worker(first: Job) {
    let lua = match crate::lua::new() {
        Ok(l) => l,
        Err(e) => {
            let res = Res { head: Some(first.tx), status: 200, headers: Vec::new(), stream: None };
            return fail(res, &format!("lua: {e}"));
        }
    };
    let mut job = first;
    loop {
        route_thread(&lua, job.req, job.tx);
        // what the request left is garbage now, not the idle footprint
        let _ = lua.gc_collect();
        let (tx, rx) = std::sync::mpsc::channel();
        match IDLE.lock() {
            Ok(mut idle) if idle.len() < MAX_IDLE => idle.push(tx),
            _ => return,
        }
        // named so a look at the process tells busy workers from idle ones
        let _ = nix::sys::prctl::set_name(c"api-idle");
        match rx.recv() {
            Ok(j) => job = j,
            Err(_) => return,
        }
        let _ = nix::sys::prctl::set_name(c"api");
    }
}

fn route_thread(lua: &Lua, req: ApiRequest, tx: oneshot::Sender<Head>) {
    let res = Res { head: Some(tx), status: 200, headers: Vec::new(), stream: None };
    let run = || -> mlua::Result<()> {
        let api: mlua::Table = lua.load("return require 'bocker.api'").set_name("=api").eval()?;
        let handle: mlua::Function = api.get("handle")?;
        let t = lua.create_table()?;
        t.set("method", req.method.as_str())?;
        t.set("path", req.path.as_str())?;
        let q = lua.create_table()?;
        for (k, v) in &req.query {
            q.set(k.as_str(), v.as_str())?;
        }
        t.set("query", q)?;
        // every value of a repeated parameter (`names=a&names=b`), in order
        let ql = lua.create_table()?;
        for (k, v) in &req.query {
            let list = match ql.get::<Option<mlua::Table>>(k.as_str())? {
                Some(l) => l,
                None => {
                    let l = lua.create_table()?;
                    ql.set(k.as_str(), l.clone())?;
                    l
                }
            };
            list.push(v.as_str())?;
        }
        t.set("query_list", ql)?;
        let h = lua.create_table()?;
        for (k, v) in &req.headers {
            h.set(k.as_str(), v.as_str())?;
        }
        t.set("headers", h)?;
        t.set("body", lua.create_string(&req.body)?)?;
        let ud = lua.create_userdata(res)?;
        let r = handle.call::<()>((t, ud.clone()));
        // whatever the route did, the answer ends here
        let mut res = ud.take::<Res>()?;
        match r {
            Ok(()) if res.head.is_some() => {
                let status = if res.status == 200 { 204 } else { res.status };
                res.send_whole(status, "text/plain; charset=utf-8", Bytes::new())
            }
            Ok(()) => Ok(()),
            Err(e) => {
                let msg = crate::lua::error_message(&e);
                if res.head.is_some() {
                    eprintln!("bocker: api: {} {}: {msg}", req.method, req.path);
                    let _ = res.send_whole(500, "application/json", Bytes::from(serde_json::to_vec(&serde_json::json!({ "message": msg })).unwrap_or_default()));
                } else {
                    eprintln!("bocker: api: {} {} (streaming): {msg}", req.method, req.path);
                }
                Ok(())
            }
        }
    };
    if let Err(e) = run() {
        eprintln!("bocker: api: {} {}: {}", req.method, req.path, crate::lua::error_message(&e));
    }
}

fn fail(mut res: Res, msg: &str) {
    let body = serde_json::to_vec(&serde_json::json!({ "message": msg })).unwrap_or_default();
    let _ = res.send_whole(500, "application/json", Bytes::from(body));
}
