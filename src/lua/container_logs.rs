//! `bocker.container.logs` (a container's log to bocker's stdout and
//! stderr, or to a function) and `bocker.container.log_lines` (the log
//! line by line, as an iterator).
use super::convert::{options as opts, result, store};
use crate::container as ops;
use crate::logs::{self, follow::EntrySink, Entry, LogReader, LogStream, Query};
use crate::state::containers::ContainerRecord;
use mlua::{Function, Lua, MultiValue, Table, Value};

/// A time as `--since`/`--until` take it, or Unix seconds.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum TimeArg {
    Secs(f64),
    Text(String),
}

/// The options both functions share (besides `write`).
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LogOpts {
    #[serde(default)]
    follow: bool,
    #[serde(default)]
    tail: Option<usize>,
    #[serde(default)]
    since: Option<TimeArg>,
    #[serde(default)]
    until: Option<TimeArg>,
    #[serde(default)]
    stdout: Option<bool>,
    #[serde(default)]
    stderr: Option<bool>,
    #[serde(default)]
    timestamps: bool,
    #[serde(default)]
    details: bool,
}

/// What `logs` says of a container whose driver keeps no log (Docker's words).
const NOT_READABLE: &str = "configured logging driver does not support reading";

/// Nanoseconds since the epoch; 0 (the API's "not given") is None.
fn time_of(a: &Option<TimeArg>, now: i64) -> Result<Option<i64>, String> {
    let t = match a {
        None => return Ok(None),
        Some(TimeArg::Secs(s)) if s.is_finite() => (s * 1e9) as i64,
        Some(TimeArg::Secs(s)) => return Err(format!("invalid time: {s}")),
        Some(TimeArg::Text(t)) => logs::timearg::parse(t, now)?,
    };
    Ok((t != 0).then_some(t))
}

fn query_of(o: &LogOpts) -> Result<Query, String> {
    let now = logs::now_nanos();
    let q = Query { since: time_of(&o.since, now)?, until: time_of(&o.until, now)?, tail: o.tail, stdout: o.stdout.unwrap_or(true), stderr: o.stderr.unwrap_or(true) };
    if !q.stdout && !q.stderr {
        return Err("you must choose at least one stream".into());
    }
    Ok(q)
}

/// The container's log, opened for `q`.
/// The container, the query of the options and its log opened for them.
fn open_for(s: &crate::state::Store, reference: &str, o: &LogOpts) -> Result<(ContainerRecord, Query, LogReader), String> {
    let q = query_of(o)?;
    let rec = s.resolve_container(reference).map_err(|e| e.to_string())?;
    let reader = open(s, &rec, q)?;
    Ok((rec, q, reader))
}

fn open(s: &crate::state::Store, rec: &ContainerRecord, q: Query) -> Result<LogReader, String> {
    if !rec.log.keeps_log() {
        return Err(NOT_READABLE.into());
    }
    LogReader::open(logs::LogFiles::at(&s.container_log_path(&rec.id)), q).map_err(|e| format!("{}: log: {e}", rec.id))
}

/// `--details`: the labels and environment variables the log options name.
fn details_of(rec: &ContainerRecord) -> String {
    let mut attrs = std::collections::BTreeMap::new();
    for k in &rec.log.labels {
        if let Some(v) = rec.labels.get(k) {
            attrs.insert(k.clone(), v.clone());
        }
    }
    for k in &rec.log.env {
        if let Some(v) = rec.env.iter().rev().find_map(|e| e.strip_prefix(k.as_str()).and_then(|r| r.strip_prefix('='))) {
            attrs.insert(k.clone(), v.to_string());
        }
    }
    logs::lines::details_attrs(&attrs)
}

/// Entries to bocker's stdout (stdout's) and stderr (stderr's), each
/// stream buffered, the other flushed first when they take turns.
struct StdSink {
    render: logs::lines::Renderer,
    bufs: [Vec<u8>; 2],
    last: Option<LogStream>,
}

impl StdSink {
    fn flush(&mut self, stream: LogStream) -> std::io::Result<()> {
        use std::io::Write;
        let buf = &mut self.bufs[stream.index()];
        if buf.is_empty() {
            return Ok(());
        }
        let r = match stream {
            LogStream::Stdout => std::io::stdout().lock().write_all(buf).and_then(|_| std::io::stdout().flush()),
            LogStream::Stderr => std::io::stderr().lock().write_all(buf),
        };
        buf.clear();
        r
    }
}

impl EntrySink for StdSink {
    fn entry(&mut self, e: Entry) -> std::io::Result<bool> {
        if let Some(other) = self.last.filter(|l| *l != e.stream) {
            self.flush(other)?;
        }
        self.last = Some(e.stream);
        self.render.render(&e, &mut self.bufs[e.stream.index()]);
        if self.bufs[e.stream.index()].len() >= 64 * 1024 {
            self.flush(e.stream)?;
        }
        Ok(true)
    }
    fn idle(&mut self) -> std::io::Result<bool> {
        self.flush(LogStream::Stdout)?;
        self.flush(LogStream::Stderr)?;
        Ok(true)
    }
}

/// Entries to a Lua function `write(stream, chunk)`; a false from it stops.
struct FnSink<'a> {
    lua: &'a Lua,
    render: logs::lines::Renderer,
    write: &'a Function,
    buf: Vec<u8>,
    failed: Option<mlua::Error>,
    /// when the function last heard from us (probed only when following)
    last_call: std::time::Instant,
    follow: bool,
}

/// How long a follower of a quiet container waits before asking `write`
/// (with an empty chunk) whether its reader is still there.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl FnSink<'_> {
    fn call(&mut self, stream: LogStream, chunk: &[u8]) -> bool {
        self.last_call = std::time::Instant::now();
        let chunk = match self.lua.create_string(chunk) {
            Ok(s) => s,
            Err(err) => {
                self.failed = Some(err);
                return false;
            }
        };
        match self.write.call::<Value>((stream.as_str(), chunk)) {
            Ok(Value::Boolean(false)) => false,
            Ok(_) => true,
            Err(err) => {
                self.failed = Some(err);
                false
            }
        }
    }
}

impl EntrySink for FnSink<'_> {
    fn entry(&mut self, e: Entry) -> std::io::Result<bool> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        self.render.render(&e, &mut buf);
        let more = self.call(e.stream, &buf);
        self.buf = buf;
        Ok(more)
    }
    fn idle(&mut self) -> std::io::Result<bool> {
        if !self.follow || self.last_call.elapsed() < PROBE_EVERY {
            return Ok(true);
        }
        Ok(self.call(LogStream::Stdout, b""))
    }
}

/// The options table without `write`, and `write`.
fn split_write(lua: &Lua, o: Option<Value>) -> mlua::Result<(Option<Value>, Option<Function>)> {
    let Some(Value::Table(t)) = o else { return Ok((o, None)) };
    let write = match t.raw_get::<Value>("write")? {
        Value::Nil => None,
        Value::Function(f) => Some(f),
        _ => return Err(mlua::Error::runtime("bocker.container.logs options: write must be a function")),
    };
    let rest = lua.create_table()?;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        if !matches!(&k, Value::String(s) if s.as_bytes().as_ref() == b"write") {
            rest.raw_set(k, v)?;
        }
    }
    Ok((Some(Value::Table(rest)), write))
}

fn logs_fn(lua: &Lua, reference: String, o: Option<Value>) -> mlua::Result<MultiValue> {
    let (o, write) = split_write(lua, o)?;
    let o: LogOpts = opts(lua, "bocker.container.logs options", o)?;
    let s = store(lua)?;
    let (rec, q, mut reader) = match open_for(&s, &reference, &o) {
        Ok(x) => x,
        Err(e) => return result::<Value, _>(lua, Err(e)),
    };
    let render = logs::lines::Renderer::new(o.timestamps, o.details.then(|| details_of(&rec)));
    let running = || ops::live_state(&s, &rec.id).map(|st| st.status == crate::state::containers::Status::Running).unwrap_or(false);
    let r = match &write {
        Some(f) => {
            let mut sink = FnSink { lua, render, write: f, buf: Vec::new(), failed: None, last_call: std::time::Instant::now(), follow: o.follow };
            let r = logs::follow::drive(&mut reader, o.follow, q.until, &running, &mut sink);
            if let Some(e) = sink.failed {
                return Err(e);
            }
            r
        }
        None => {
            let mut sink = StdSink { render, bufs: [Vec::new(), Vec::new()], last: None };
            logs::follow::drive(&mut reader, o.follow, q.until, &running, &mut sink)
        }
    };
    match r {
        Ok(()) => result::<bool, String>(lua, Ok(true)),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => result::<bool, String>(lua, Ok(true)),
        Err(e) => result::<Value, _>(lua, Err(format!("{}: log: {e}", rec.id))),
    }
}

/// How often a following iterator looks for new lines, and how often it
/// asks whether the container still runs.
const LOG_POLL: std::time::Duration = std::time::Duration::from_millis(25);
const LIVE_CHECK: std::time::Duration = std::time::Duration::from_millis(200);

/// The iterator's state between calls.
struct Lines {
    reader: LogReader,
    joiner: logs::lines::Joiner,
    last_check: std::time::Instant,
    alive: bool,
    done: bool,
}

fn line_table(lua: &Lua, l: logs::lines::Line) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 3)?;
    t.raw_set("stream", l.stream.as_str())?;
    let text = String::from_utf8_lossy(&l.text);
    t.raw_set("line", text.trim_end_matches('\r'))?;
    t.raw_set("time", crate::rfc3339::format_nanos_fixed(l.time))?;
    Ok(Value::Table(t))
}

/// `bocker.container.log_lines(ref, opts)`: an iterator `it([timeout])`
/// over `{stream, line, time}`; nil at the end (all read, and with
/// `follow` the container no longer runs); with `follow` and a timeout in
/// seconds (0 = just look), false when no line came in that time, so one
/// loop can poll several containers.
fn log_lines(lua: &Lua, reference: String, o: Option<Value>) -> mlua::Result<MultiValue> {
    let o: LogOpts = opts(lua, "bocker.container.log_lines options", o)?;
    if o.timestamps || o.details {
        return Err(mlua::Error::runtime("bocker.container.log_lines options: timestamps and details are logs' (each line has its time)"));
    }
    let s = store(lua)?;
    let (rec, q, reader) = match open_for(&s, &reference, &o) {
        Ok(x) => x,
        Err(e) => return result::<Value, _>(lua, Err(e)),
    };
    let state = std::cell::RefCell::new(Lines { reader, joiner: Default::default(), last_check: std::time::Instant::now() - LIVE_CHECK, alive: true, done: false });
    let follow = o.follow;
    let until = q.until;
    let id = rec.id;
    let it = lua.create_function(move |lua, timeout: Option<f64>| {
        let start = std::time::Instant::now();
        let deadline = timeout.map(|t| start + std::time::Duration::from_secs_f64(t.max(0.0)));
        let mut st = state.borrow_mut();
        let st = &mut *st;
        let io = |e: std::io::Error| mlua::Error::runtime(format!("{id}: log: {e}"));
        loop {
            if st.done {
                return Ok(Value::Nil);
            }
            if follow && st.alive && st.last_check.elapsed() >= LIVE_CHECK {
                st.alive = ops::live_state(&s, &id).map(|x| x.status == crate::state::containers::Status::Running).unwrap_or(false)
                    && !until.is_some_and(|u| logs::now_nanos() > u);
                st.last_check = std::time::Instant::now();
            }
            let ended = !follow || !st.alive;
            loop {
                while let Some(e) = st.reader.next_entry(ended).map_err(io)? {
                    if let Some(l) = st.joiner.push(e) {
                        return line_table(lua, l);
                    }
                }
                if st.reader.finished() || !follow || !st.reader.follow_rotation().map_err(io)? {
                    break;
                }
            }
            if ended || st.reader.finished() {
                if let Some(l) = st.joiner.flush() {
                    return line_table(lua, l);
                }
                st.done = true;
                return Ok(Value::Nil);
            }
            let now = std::time::Instant::now();
            let mut nap = LOG_POLL;
            if let Some(d) = deadline {
                if now >= d {
                    return Ok(Value::Boolean(false));
                }
                nap = nap.min(d - now);
            }
            std::thread::sleep(nap);
        }
    })?;
    Ok(MultiValue::from_iter([Value::Function(it)]))
}

/// Sets `logs` and `log_lines` in `bocker.container`.
pub fn register(lua: &Lua, container: &Table) -> mlua::Result<()> {
    container.set("logs", lua.create_function(|lua, (reference, o): (String, Option<Value>)| logs_fn(lua, reference, o))?)?;
    container.set("log_lines", lua.create_function(|lua, (reference, o): (String, Option<Value>)| log_lines(lua, reference, o))?)?;
    Ok(())
}
