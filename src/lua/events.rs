//! `bocker.events.read{since=, until=, follow=, filter=}`: the store's
//! container events (start, die, restart, health_status: ...) as an
//! iterator of tables `{time, time_nano, type, action, id, name,
//! attributes}`, oldest first; with `follow` it waits for new ones.
use super::convert::{options, store, to_lua};
use crate::container::events::EventFilter;
use crate::state::events::Event;
use mlua::{IntoLuaMulti, Lua, Table, Value};
use std::collections::{BTreeMap, VecDeque};

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReadOpts {
    /// seconds since the epoch
    #[serde(default)]
    since: Option<f64>,
    #[serde(default)]
    until: Option<f64>,
    #[serde(default)]
    follow: bool,
    #[serde(default)]
    filter: BTreeMap<String, OneOrMany>,
    /// seconds without an event after which a following iterator yields
    /// `false` once (and goes on): its caller can check its client is still there
    #[serde(default)]
    idle: Option<f64>,
}

/// Where a following reader is in the current log file.
struct Reader {
    pending: VecDeque<Event>,
    offset: u64,
    inode: u64,
    follow: bool,
    until: Option<i64>,
    filter: EventFilter,
    idle: Option<std::time::Duration>,
    last: std::time::Instant,
}

fn inode_of(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| std::os::unix::fs::MetadataExt::ino(&m))
}

fn event_to_lua(lua: &Lua, e: &Event) -> mlua::Result<Value> {
    let v = to_lua(lua, e)?;
    if let Value::Table(t) = &v {
        t.raw_set("time", e.time_nano as f64 / 1e9)?;
    }
    Ok(v)
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set(
        "read",
        lua.create_function(|lua, o: Option<Value>| {
            let o: ReadOpts = options(lua, "bocker.events.read options", o)?;
            let s = store(lua)?;
            let map = o.filter.into_iter().map(|(k, v)| (k, match v { OneOrMany::One(s) => vec![s], OneOrMany::Many(l) => l })).collect();
            let filter = match EventFilter::new(map) {
                Ok(f) => f,
                Err(e) => return (Value::Nil, e).into_lua_multi(lua),
            };
            let since = o.since.map(|s| (s * 1e9) as i64).unwrap_or(0);
            let path = s.events_path();
            // the rotated file, then the current one up to a complete line
            let (older, _) = s.read_events_from(&path.with_extension("log.1"), 0).map_err(super::ext)?;
            let inode = inode_of(&path);
            let (current, offset) = s.read_events_from(&path, 0).map_err(super::ext)?;
            let pending = older.into_iter().chain(current).filter(|e| e.time_nano >= since).collect();
            let idle = o.idle.filter(|s| s.is_finite() && *s > 0.0).map(std::time::Duration::from_secs_f64);
            let mut r = Reader { pending, offset, inode, follow: o.follow, until: o.until.map(|u| (u * 1e9) as i64), filter, idle, last: std::time::Instant::now() };
            let next = lua.create_function_mut(move |lua, ()| loop {
                while let Some(e) = r.pending.pop_front() {
                    if r.until.is_some_and(|u| e.time_nano > u) {
                        r.pending.clear();
                        r.follow = false;
                        break;
                    }
                    if r.filter.matches(&e) {
                        r.last = std::time::Instant::now();
                        return event_to_lua(lua, &e);
                    }
                }
                if !r.follow || r.until.is_some_and(|u| crate::state::events::now_nano() > u) {
                    return Ok(Value::Nil);
                }
                if r.idle.is_some_and(|d| r.last.elapsed() >= d) {
                    r.last = std::time::Instant::now();
                    return Ok(Value::Boolean(false));
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
                let now_inode = inode_of(&path);
                if now_inode != r.inode {
                    // rotated: the rest of the old file, then the new one
                    let (rest, _) = s.read_events_from(&path.with_extension("log.1"), r.offset).map_err(super::ext)?;
                    r.pending.extend(rest);
                    r.inode = now_inode;
                    r.offset = 0;
                }
                let (new, offset) = s.read_events_from(&path, r.offset).map_err(super::ext)?;
                r.pending.extend(new);
                r.offset = offset;
            })?;
            next.into_lua_multi(lua)
        })?,
    )?;
    bocker.set("events", t)?;
    Ok(())
}
