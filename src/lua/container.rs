//! `bocker.container`: create, start, inspect, list, stop, kill, pause,
//! unpause, wait, exec, logs and remove containers; repair what killed
//! commands left. Containers cross as tables.
use super::convert::{result, spec, store, table_result, to_lua};
use crate::container as ops;
use mlua::{IntoLuaMulti, Lua, LuaSerdeExt, MultiValue, Table, Value};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartOpts {
    #[serde(default)]
    detach: bool,
}

/// `bocker.container.monitor()`: a monitor started ahead of the container
/// it will run (`launch::prepare`), handed to `start` as `monitor`. Its
/// exec overlaps what the caller does meanwhile (the create). Used once;
/// collected unused, it ends.
struct PendingMonitor(Option<crate::monitor::launch::Pending>);

impl mlua::UserData for PendingMonitor {}

impl Drop for PendingMonitor {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.discard();
        }
    }
}

/// Start options: the `monitor` handle taken out, the rest as StartOpts.
fn start_opts(lua: &Lua, o: Option<Value>) -> mlua::Result<(StartOpts, Option<crate::monitor::launch::Pending>)> {
    let Some(Value::Table(t)) = o else {
        return Ok((opts(lua, "bocker.container.start options", o)?, None));
    };
    let rest = lua.create_table()?;
    let mut pending = None;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        if !matches!(&k, Value::String(name) if name.as_bytes() == b"monitor".as_slice()) {
            rest.raw_set(k, v)?;
            continue;
        }
        let not_one = || mlua::Error::runtime("bocker.container.start options: monitor must come from bocker.container.monitor()");
        let Value::UserData(ud) = v else { return Err(not_one()) };
        let mut m = ud.borrow_mut::<PendingMonitor>().map_err(|_| not_one())?;
        pending = Some(m.0.take().ok_or_else(|| mlua::Error::runtime("bocker.container.start options: this monitor was already used"))?);
    }
    Ok((opts(lua, "bocker.container.start options", Some(Value::Table(rest)))?, pending))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RemoveOpts {
    #[serde(default)]
    force: bool,
    #[serde(default)]
    volumes: bool,
}

use super::convert::options as opts;

/// A container as a table: the record's fields with `state`, `running`
/// and `paused` beside them, as `Info` serializes, but without serde's
/// flatten (a map whose every key crosses as a Lua value of its own):
/// `ps` with 1,000 containers took 42 ms of CPU with flatten, 36 without.
fn info_to_lua(lua: &Lua, info: &ops::Info) -> mlua::Result<Value> {
    let v = to_lua(lua, &info.record)?;
    if let Value::Table(t) = &v {
        t.raw_set("state", to_lua(lua, &info.state)?)?;
        t.raw_set("running", info.running)?;
        t.raw_set("paused", info.paused)?;
        // supervision, at the top for scripts (the record's `labels` and
        // `restart` are there already)
        t.raw_set("health", info.health().map(|s| s.as_str()))?;
        t.raw_set("restart_count", info.state.restart_count)?;
        t.raw_set("user_stopped", info.user_stopped)?;
    }
    Ok(v)
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set(
        "create",
        lua.create_function(|lua, v: Value| {
            let sp: ops::CreateSpec = spec(lua, "bocker.container.create", v)?;
            let s = store(lua)?;
            table_result(lua, ops::create(&s, sp))
        })?,
    )?;
    t.set(
        "start",
        lua.create_function(|lua, (id, o): (String, Option<Value>)| {
            let (o, pending) = start_opts(lua, o)?;
            let s = store(lua)?;
            match crate::monitor::launch::start(&s, &id, o.detach, pending) {
                Ok(st) => (st.status, st.error).into_lua_multi(lua),
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    t.set(
        "monitor",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            match crate::monitor::launch::prepare(&s) {
                Some(p) => Ok(Value::UserData(lua.create_userdata(PendingMonitor(Some(p)))?)),
                None => Ok(Value::Nil),
            }
        })?,
    )?;
    t.set(
        "spec",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            let r = s.resolve_container(&reference).map_err(crate::oci::OciError::from).and_then(|c| crate::oci::bundle::spec_of(&s, &c));
            table_result(lua, r)
        })?,
    )?;
    t.set(
        "bundle",
        lua.create_function(|lua, (reference, dir): (String, String)| {
            let s = store(lua)?;
            let r = s
                .resolve_container(&reference)
                .map_err(crate::oci::OciError::from)
                .and_then(|c| crate::oci::bundle::export(&s, &c, std::path::Path::new(&dir)))
                .map(|p| p.display().to_string());
            result(lua, r)
        })?,
    )?;
    t.set(
        "get",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            match ops::inspect(&s, &reference) {
                Ok(info) => Ok(MultiValue::from_iter([info_to_lua(lua, &info)?])),
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    t.set(
        "list",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            let l = ops::list(&s).map_err(super::ext)?;
            let out = lua.create_table_with_capacity(l.len(), 0)?;
            for (i, info) in l.iter().enumerate() {
                out.raw_set(i + 1, info_to_lua(lua, info)?)?;
            }
            // an empty list still encodes as [] (what to_lua gave)
            out.set_metatable(Some(lua.array_metatable()))?;
            Ok(out)
        })?,
    )?;
    t.set(
        "repair",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            table_result(lua, ops::repair(&s))
        })?,
    )?;
    t.set(
        "remove",
        lua.create_function(|lua, (reference, o): (String, Option<Value>)| {
            let o: RemoveOpts = opts(lua, "bocker.container.remove options", o)?;
            let s = store(lua)?;
            result(lua, ops::remove(&s, &reference, o.force, o.volumes))
        })?,
    )?;
    t.set(
        "kill",
        lua.create_function(|lua, (reference, sig): (String, Option<String>)| {
            let sig = sig.unwrap_or_else(|| "KILL".into());
            let Some(n) = ops::signal_number(&sig) else {
                return result::<Value, _>(lua, Err(format!("invalid signal: {sig}")));
            };
            let s = store(lua)?;
            result(lua, ops::kill(&s, &reference, n))
        })?,
    )?;
    t.set(
        "pause",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            result(lua, ops::pause(&s, &reference))
        })?,
    )?;
    t.set(
        "unpause",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            result(lua, ops::unpause(&s, &reference))
        })?,
    )?;
    t.set(
        "stop",
        lua.create_function(|lua, (reference, timeout): (String, Option<f64>)| {
            let s = store(lua)?;
            // nil: the container's --stop-timeout, else 10 s
            let d = timeout.map(|t| std::time::Duration::from_secs_f64(t.max(0.0)));
            result(lua, ops::stop(&s, &reference, d))
        })?,
    )?;
    t.set(
        "wait",
        lua.create_function(|lua, (reference, timeout): (String, Option<f64>)| {
            let s = store(lua)?;
            let rec = match s.resolve_container(&reference) {
                Ok(r) => r,
                Err(e) => return result::<Value, _>(lua, Err(e)),
            };
            let d = timeout.map(std::time::Duration::from_secs_f64);
            match ops::wait(&s, &rec.id, d) {
                Ok(Some(code)) => result::<i32, String>(lua, Ok(code)),
                Ok(None) => result::<Value, _>(lua, Err("timeout")),
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    t.set(
        "exec",
        lua.create_function(|lua, (reference, v): (String, Value)| {
            let sp: crate::runtime::exec::ExecSpec = spec(lua, "bocker.container.exec", v)?;
            let s = store(lua)?;
            let info = match ops::inspect(&s, &reference) {
                Ok(i) => i,
                Err(e) => return result::<Value, _>(lua, Err(e)),
            };
            if !info.running {
                return result::<Value, _>(
                    lua,
                    Err(format!("Container '{}' exists but is not running", info.record.id)),
                );
            }
            if info.paused {
                return result::<Value, _>(
                    lua,
                    Err(format!("Container {} is paused, unpause the container before exec", info.record.id)),
                );
            }
            result(lua, crate::runtime::exec::run(&s, &info.record.id, &sp))
        })?,
    )?;
    t.set(
        "default_limits",
        lua.create_function(|lua, ()| table_result(lua, ops::default_limits()))?,
    )?;
    bocker.set("container", t)?;
    Ok(())
}
