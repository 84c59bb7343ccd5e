//! `bocker.container.attach`, `.resize` and the exec instances
//! (`exec_create`, `exec_get`, `exec_start`, `exec_resize`; `exec` with
//! `spec.conn`): a client attached through a connection handle
//! (`res:hijack()`) or bocker's own terminal. Failures are `nil, err,
//! status` with the HTTP status the API answers (404, 409, 400, 500).
use super::api_server::conn::{Conn, ConnSink};
use super::convert::{options, spec, store, to_lua};
use crate::monitor::attach::AttachRequest;
use crate::monitor::attach_client;
use crate::monitor::detach_keys::{self, Matcher};
use crate::monitor::exec_session::{self, ExecClient, ExecError};
use crate::monitor::relay::{relay, Outcome, RelayOpts, Sink, StdioSink, Upstream, WaitCheck};
use crate::state::containers::Status;
use crate::state::execs::ExecRecord;
use crate::state::Store;
use mlua::{AnyUserData, IntoLuaMulti, Lua, MultiValue, Table, Value};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachOpts {
    #[serde(default)]
    stdin: bool,
    #[serde(default = "yes")]
    stdout: bool,
    #[serde(default = "yes")]
    stderr: bool,
    #[serde(default)]
    detach_keys: Option<String>,
    /// start the container (detached) once attached: `run -a`, `start -a`
    #[serde(default)]
    start: bool,
    /// wait for a created container to start (else refused)
    #[serde(default = "yes")]
    wait: bool,
    /// bocker's terminal only: forward signals to the container (no tty)
    #[serde(default = "yes")]
    sig_proxy: bool,
}

impl Default for AttachOpts {
    fn default() -> Self {
        AttachOpts { stdin: false, stdout: true, stderr: true, detach_keys: None, start: false, wait: true, sig_proxy: true }
    }
}

fn yes() -> bool {
    true
}

/// `nil, message, status`.
fn fail(lua: &Lua, status: u16, msg: impl std::fmt::Display) -> mlua::Result<MultiValue> {
    (Value::Nil, msg.to_string(), status).into_lua_multi(lua)
}

fn keys(spec: Option<&str>) -> Result<Option<Matcher>, String> {
    match spec {
        // an empty string turns them off
        Some("") => Ok(None),
        Some(s) => detach_keys::parse(s).map(|k| Some(Matcher::new(k))),
        None => Ok(Some(Matcher::new(detach_keys::parse(detach_keys::DEFAULT)?))),
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ended(_) => "ended",
        Outcome::Detached => "detached",
        Outcome::ClientGone => "gone",
        Outcome::Removed => "removed",
    }
}

/// How the wait for a created container's start goes on.
fn wait_check(s: &Store, id: &str) -> WaitCheck {
    match crate::container::live_state(s, id) {
        Ok(st) if st.status == Status::Running => WaitCheck::Running,
        Ok(_) => WaitCheck::NotRunning,
        Err(_) => WaitCheck::Removed,
    }
}

/// The connection handle of an argument (used up: a connection serves one attach).
fn take_conn(ud: &AnyUserData) -> mlua::Result<ConnSink> {
    let mut c = ud.borrow_mut::<Conn>()?;
    c.take().ok_or_else(|| mlua::Error::runtime("the connection was already used"))
}

fn attach(lua: &Lua, (reference, conn, o): (String, Option<AnyUserData>, Option<Value>)) -> mlua::Result<MultiValue> {
    let o: AttachOpts = options(lua, "bocker.container.attach options", o)?;
    let s = store(lua)?;
    let rec = match s.resolve_container(&reference) {
        Ok(r) => r,
        Err(e) => return fail(lua, 404, e),
    };
    let matcher = match keys(o.detach_keys.as_deref()) {
        Ok(m) => m,
        Err(e) => return fail(lua, 400, e),
    };
    let mut conn = match &conn {
        Some(ud) => Some(take_conn(ud)?),
        None => None,
    };
    let request = AttachRequest::Attach { stdin: o.stdin, stdout: o.stdout, stderr: o.stderr };
    let dir = s.container_dir(&rec.id);
    let pending = match attach_client::open(&dir, request, o.wait || o.start) {
        Ok(Some(p)) => p,
        Ok(None) => return fail(lua, 409, "You cannot attach to a stopped container, start it first"),
        Err(e) => return fail(lua, 500, format!("attach {}: {e}", rec.id)),
    };
    if o.start {
        match crate::monitor::launch::start(&s, &rec.id, true, None) {
            Ok(st) if st.error.is_none() => {}
            Ok(st) => return (Value::Nil, st.error.unwrap_or_default(), st.status).into_lua_multi(lua),
            Err(e) => return fail(lua, 500, e),
        }
    }
    let waiting = || wait_check(&s, &rec.id);
    if let Some(c) = conn.as_mut() {
        let input = c.input_fd().filter(|_| o.stdin);
        let client = c.input_fd();
        let preread = c.take_preread();
        let opts = RelayOpts { input, client, preread, detach: matcher, waiting: &waiting, tick: None };
        let out = relay(Upstream::Monitor(pending), c as &mut dyn Sink, opts);
        if let Some(c) = conn.take() {
            c.close();
        }
        let code = match out {
            Outcome::Ended(code) => code,
            _ => None,
        };
        return (outcome_name(out), code).into_lua_multi(lua);
    }
    // bocker's own terminal
    let tty = rec.tty && o.stdin && crate::sys::fd::isatty(0);
    let raw = if tty { crate::runtime::term::RawMode::enter(0) } else { None };
    let proxy = o.sig_proxy && !rec.tty;
    // SIGWINCH only sets a flag (no target yet: nothing is forwarded)
    crate::sys::signal::forward_to(0, &[libc::SIGWINCH]);
    crate::sys::signal::WINCH.store(rec.tty && crate::sys::fd::isatty(0), std::sync::atomic::Ordering::SeqCst);
    let mut proxied = false;
    let id = rec.id.clone();
    let mut tick = || {
        if crate::sys::signal::WINCH.swap(false, std::sync::atomic::Ordering::SeqCst) {
            if let Ok(ws) = crate::sys::term::winsize(0) {
                let _ = crate::monitor::attach::send_resize(&dir, ws.ws_row, ws.ws_col);
            }
        }
        if proxy && !proxied {
            if let Ok(st) = crate::container::live_state(&s, &id) {
                if let (Status::Running, Some(pid)) = (st.status, st.pid) {
                    crate::sys::signal::forward_to(pid, &[libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2]);
                    proxied = true;
                }
            }
        }
    };
    let opts = RelayOpts { input: o.stdin.then_some(0), client: None, preread: Vec::new(), detach: matcher, waiting: &waiting, tick: Some(&mut tick) };
    let out = relay(Upstream::Monitor(pending), &mut StdioSink, opts);
    drop(raw);
    match out {
        Outcome::Ended(Some(code)) => code.into_lua_multi(lua),
        Outcome::Ended(None) => match crate::container::wait(&s, &rec.id, Some(std::time::Duration::from_secs(10))) {
            Ok(Some(code)) => code.into_lua_multi(lua),
            _ => 0.into_lua_multi(lua),
        },
        Outcome::Detached => 0.into_lua_multi(lua),
        Outcome::ClientGone => 0.into_lua_multi(lua),
        Outcome::Removed => fail(lua, 404, format!("No such container: {}", rec.id)),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExecCreate {
    args: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    tty: bool,
    #[serde(default)]
    attach_stdin: bool,
    #[serde(default)]
    attach_stdout: bool,
    #[serde(default)]
    attach_stderr: bool,
    #[serde(default)]
    detach_keys: Option<String>,
}

fn exec_record_to_lua(lua: &Lua, r: &ExecRecord) -> mlua::Result<Value> {
    let v = to_lua(lua, r)?;
    if let Value::Table(t) = &v {
        t.raw_set("running", r.alive())?;
    }
    Ok(v)
}

fn exec_create(lua: &Lua, reference: &str, c: ExecCreate) -> mlua::Result<MultiValue> {
    let s = store(lua)?;
    let info = match crate::container::inspect(&s, reference) {
        Ok(i) => i,
        Err(e) => return fail(lua, 404, e),
    };
    if !info.running {
        return fail(lua, 409, format!("Container {} is not running", info.record.id));
    }
    if info.paused {
        return fail(lua, 409, format!("Container {} is paused, unpause the container before exec", info.record.id));
    }
    if c.args.is_empty() {
        return fail(lua, 400, "No exec command specified");
    }
    if let Err(e) = keys(c.detach_keys.as_deref()) {
        return fail(lua, 400, e);
    }
    let rec = ExecRecord {
        container: info.record.id.clone(),
        args: c.args,
        env: c.env,
        workdir: c.workdir,
        user: c.user,
        tty: c.tty,
        attach_stdin: c.attach_stdin,
        attach_stdout: c.attach_stdout,
        attach_stderr: c.attach_stderr,
        detach_keys: c.detach_keys,
        ..Default::default()
    };
    match s.create_exec(rec) {
        Ok(r) => Ok(MultiValue::from_iter([exec_record_to_lua(lua, &r)?])),
        Err(e) => fail(lua, 500, e),
    }
}

fn exec_start(lua: &Lua, id: &str, conn: Option<AnyUserData>, detach_keys: Option<String>) -> mlua::Result<MultiValue> {
    let s = store(lua)?;
    let rec = match s.load_exec(id) {
        Ok(r) => r,
        Err(e) => return fail(lua, 404, e),
    };
    let matcher = match keys(detach_keys.as_deref().or(rec.detach_keys.as_deref())) {
        Ok(m) => m,
        Err(e) => return fail(lua, 400, e),
    };
    let mut conn = match &conn {
        Some(ud) => Some(take_conn(ud)?),
        None => None,
    };
    let r = match conn.as_mut() {
        Some(c) => {
            let input = c.input_fd();
            let preread = c.take_preread();
            exec_session::start(&s, id, Some(ExecClient { sink: c as &mut dyn Sink, input, preread, detach_keys: matcher }))
        }
        None => exec_session::start(&s, id, None),
    };
    if let Some(c) = conn.take() {
        c.close();
    }
    match r {
        Ok((out, code)) => (outcome_name(out), code).into_lua_multi(lua),
        Err(ExecError::NotFound(m)) => fail(lua, 404, m),
        Err(ExecError::Conflict(m)) => fail(lua, 409, m),
        Err(ExecError::Failed(m)) => fail(lua, 500, m),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExecStartOpts {
    #[serde(default)]
    detach_keys: Option<String>,
}

/// `bocker.container.exec(ref, spec)` with `spec.conn`: an exec instance
/// made and started for that connection; its exit code.
fn exec_on_conn(lua: &Lua, reference: &str, t: Table) -> mlua::Result<MultiValue> {
    let (conn, copy) = without_conn(lua, &t)?;
    let Some(conn) = conn else { return Err(mlua::Error::runtime("bocker.container.exec: conn is not a connection handle")) };
    let sp: crate::runtime::exec::ExecSpec = spec(lua, "bocker.container.exec", Value::Table(copy))?;
    let c = ExecCreate {
        args: sp.args,
        env: sp.env,
        workdir: sp.workdir,
        user: sp.user,
        tty: sp.tty,
        attach_stdin: sp.interactive,
        attach_stdout: true,
        attach_stderr: true,
        detach_keys: None,
    };
    let made = exec_create(lua, reference, c)?;
    let Some(Value::Table(rec)) = made.iter().next().cloned() else { return Ok(made) };
    let id: String = rec.get("id")?;
    let started = exec_start(lua, &id, Some(conn), None)?;
    // "ended", code -> code
    let mut it = started.into_iter();
    match (it.next(), it.next()) {
        (Some(Value::String(_)), Some(code)) => Ok(MultiValue::from_iter([code])),
        (first, second) => Ok(MultiValue::from_iter([first.unwrap_or(Value::Nil), second.unwrap_or(Value::Nil)].into_iter().chain(it))),
    }
}

/// A spec's `conn` (a connection handle), and a copy of the spec without it.
fn without_conn(lua: &Lua, t: &Table) -> mlua::Result<(Option<AnyUserData>, Table)> {
    let conn: Option<AnyUserData> = t.get("conn")?;
    let copy = lua.create_table()?;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        if matches!(&k, Value::String(ks) if &*ks.as_bytes() == b"conn") {
            continue;
        }
        copy.set(k, v)?;
    }
    Ok((conn, copy))
}

/// Adds the functions to `bocker.container`; `exec` gains `spec.conn`
/// (the one before it runs every other spec).
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    let plain: mlua::Function = t.get("exec")?;
    t.set(
        "exec",
        lua.create_function(move |lua, (reference, v): (String, Value)| {
            if let Value::Table(spec) = &v {
                if spec.contains_key("conn")? {
                    return exec_on_conn(lua, &reference, spec.clone());
                }
            }
            plain.call::<MultiValue>((reference, v))
        })?,
    )?;
    t.set("attach", lua.create_function(attach)?)?;
    t.set(
        "resize",
        lua.create_function(|lua, (reference, rows, cols): (String, u16, u16)| {
            let s = store(lua)?;
            let rec = match s.resolve_container(&reference) {
                Ok(r) => r,
                Err(e) => return fail(lua, 404, e),
            };
            match crate::monitor::attach::send_resize(&s.container_dir(&rec.id), rows, cols) {
                Ok(()) => true.into_lua_multi(lua),
                Err(_) => fail(lua, 409, format!("cannot resize container {}: it is not running", rec.id)),
            }
        })?,
    )?;
    t.set(
        "exec_create",
        lua.create_function(|lua, (reference, v): (String, Value)| {
            let c: ExecCreate = spec(lua, "bocker.container.exec_create", v)?;
            exec_create(lua, &reference, c)
        })?,
    )?;
    t.set(
        "exec_get",
        lua.create_function(|lua, id: String| {
            let s = store(lua)?;
            match s.load_exec(&id) {
                Ok(r) => Ok(MultiValue::from_iter([exec_record_to_lua(lua, &r)?])),
                Err(e) => fail(lua, 404, e),
            }
        })?,
    )?;
    t.set(
        "exec_list",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            match s.resolve_container(&reference) {
                Ok(r) => s.container_execs(&r.id).into_lua_multi(lua),
                Err(e) => fail(lua, 404, e),
            }
        })?,
    )?;
    t.set(
        "exec_start",
        lua.create_function(|lua, (id, o): (String, Option<Table>)| {
            let (conn, rest) = match o {
                Some(t) => {
                    let (conn, copy) = without_conn(lua, &t)?;
                    (conn, Some(Value::Table(copy)))
                }
                None => (None, None),
            };
            let so: ExecStartOpts = options(lua, "bocker.container.exec_start options", rest)?;
            exec_start(lua, &id, conn, so.detach_keys)
        })?,
    )?;
    t.set(
        "exec_resize",
        lua.create_function(|lua, (id, rows, cols): (String, u16, u16)| match exec_session::resize(&id, rows, cols) {
            Ok(()) => true.into_lua_multi(lua),
            Err(ExecError::NotFound(m)) => fail(lua, 404, m),
            Err(e) => fail(lua, 500, e),
        })?,
    )?;
    Ok(())
}
