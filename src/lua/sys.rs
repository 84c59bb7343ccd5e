//! Small system helpers for verbs and scripts: the store root, clocks,
//! terminals, JSON, sleeping.
use mlua::{Lua, LuaSerdeExt, Table, Value};

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    bocker.set(
        "root",
        lua.create_function(|lua, ()| Ok(super::convert::store(lua)?.root().display().to_string()))?,
    )?;
    bocker.set(
        "cwd",
        lua.create_function(|lua, ()| super::convert::result(lua, std::env::current_dir().map(|d| d.display().to_string())))?,
    )?;
    bocker.set("now", lua.create_function(|_, ()| Ok(crate::state::now()))?)?;
    bocker.set("host", lua.create_function(|lua, ()| super::convert::to_lua(lua, &host_facts()))?)?;
    // seconds since the epoch -> "2026-11-30T04:00:00Z"
    bocker.set("rfc3339", lua.create_function(|_, secs: f64| Ok(crate::rfc3339::format(secs)))?)?;
    bocker.set(
        "isatty",
        lua.create_function(|_, fd: Option<i32>| Ok(crate::sys::fd::isatty(fd.unwrap_or(1))))?,
    )?;
    bocker.set(
        "sleep",
        lua.create_function(|_, secs: f64| {
            if secs > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            }
            Ok(())
        })?,
    )?;
    // bocker.signals.trap{"INT", "TERM", "HUP"}: those signals only set a
    // flag from now on; bocker.signals.caught() -> "INT" | nil
    const TRAPPABLE: [(&str, libc::c_int); 3] = [("INT", libc::SIGINT), ("TERM", libc::SIGTERM), ("HUP", libc::SIGHUP)];
    let signals = lua.create_table()?;
    signals.set(
        "trap",
        lua.create_function(|_, names: Vec<String>| {
            let mut sigs = Vec::new();
            for n in &names {
                match TRAPPABLE.iter().find(|(name, _)| name == n) {
                    Some((_, sig)) => sigs.push(*sig),
                    None => return Err(mlua::Error::runtime(format!("bocker.signals.trap: {n}: not one of INT, TERM, HUP"))),
                }
            }
            crate::sys::signal::trap(&sigs);
            Ok(())
        })?,
    )?;
    signals.set(
        "caught",
        lua.create_function(|_, ()| {
            Ok(crate::sys::signal::caught().and_then(|sig| TRAPPABLE.iter().find(|(_, s)| *s == sig).map(|(n, _)| *n)))
        })?,
    )?;
    bocker.set("signals", signals)?;
    let json = lua.create_table()?;
    json.set(
        "encode",
        lua.create_function(|lua, (v, o): (Value, Option<Table>)| {
            // an empty table is most often an empty list (`ps` with nothing);
            // `{ empty = "object" }` makes it `{}` (Docker's shapes, where
            // lists are marked with bocker.json.array)
            let as_object = match o {
                Some(o) => o.get::<Option<String>>("empty")?.as_deref() == Some("object"),
                None => false,
            };
            let opts = mlua::serde::DeserializeOptions::new().encode_empty_tables_as_array(!as_object);
            let j: serde_json::Value = lua.from_value_with(v, opts)?;
            serde_json::to_string(&j).map_err(super::ext)
        })?,
    )?;
    json.set(
        "decode",
        lua.create_function(|lua, s: String| {
            let j: serde_json::Value = serde_json::from_str(&s).map_err(super::ext)?;
            super::convert::to_lua(lua, &j)
        })?,
    )?;
    // marks a table as a list, so an empty one encodes as [] where the
    // API's JSON (empty tables are objects there) needs a list
    json.set(
        "array",
        lua.create_function(|lua, t: Option<Table>| {
            let t = match t {
                Some(t) => t,
                None => lua.create_table()?,
            };
            t.set_metatable(Some(lua.array_metatable()))?;
            Ok(t)
        })?,
    )?;
    bocker.set("json", json)?;
    Ok(())
}

/// What `version` and `info` show about this bocker and its host.
fn host_facts() -> serde_json::Value {
    let uname = nix::sys::utsname::uname().ok();
    let kernel = uname.as_ref().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| "Linux".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("MemTotal:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())))
        .map(|kb| kb * 1024)
        .unwrap_or(0);
    serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": uname.as_ref().map(|u| u.nodename().to_string_lossy().into_owned()).unwrap_or_default(),
        "build": crate::BUILD_ID,
        "kernel": kernel,
        "os": os,
        "platform": crate::image::platform::name(&crate::image::platform::host()),
        "cgroup_version": if crate::cgroup::is_v2() { 2 } else { 1 },
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "memory": memory,
    })
}
