//! More of `bocker.container` (registered into the table `container.rs`
//! made): rename, top, stats, changes, and the archive primitives behind
//! `cp` and the API's /containers/{id}/archive. Paths inside a container
//! are resolved inside its root by `container::archive`; a route gets
//! tables and chunks, never a host path into the container.
use super::convert::{options, result, store, table_result};
use crate::container as ops;
use mlua::{Function, Lua, LuaSerdeExt, MultiValue, Table, Value};
use std::io::Write;

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PutOpts {
    /// keep the archive's uid/gid (Docker's copyUIDGID); else root's
    #[serde(default)]
    copy_uid_gid: bool,
    /// Docker's noOverwriteDirNonDir
    #[serde(default)]
    no_overwrite_dir_non_dir: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CopyInOpts {
    /// keep the files' uid/gid (`cp -a`); else root's
    #[serde(default)]
    archive: bool,
}

/// Chunks of a tar handed to a Lua function `write(chunk)`; a `false`
/// from it (the client went away) ends the archive.
struct LuaWriter<'a> {
    f: &'a Function,
    lua: &'a Lua,
}

impl Write for LuaWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = self.lua.create_string(buf).map_err(std::io::Error::other)?;
        match self.f.call::<Value>(s).map_err(|e| std::io::Error::other(super::error_message(&e)))? {
            Value::Boolean(false) => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the reader went away")),
            _ => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes handed to a Lua writer at once.
const CHUNK: usize = 64 << 10;

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t: Table = bocker.get("container")?;
    t.set(
        "rename",
        lua.create_function(|lua, (reference, name): (String, String)| {
            let s = store(lua)?;
            result(lua, ops::rename::rename(&s, &reference, &name))
        })?,
    )?;
    t.set(
        "top",
        lua.create_function(|lua, (reference, args): (String, Option<Vec<String>>)| {
            let s = store(lua)?;
            table_result(lua, ops::top::top(&s, &reference, &args.unwrap_or_default()))
        })?,
    )?;
    t.set(
        "stats",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            table_result(lua, ops::stats::sample(&s, &reference))
        })?,
    )?;
    t.set(
        "changes",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            let r = ops::changes::changes(&s, &reference).map(|l| {
                l.into_iter().map(|c| serde_json::json!({ "Path": c.path, "Kind": c.kind as u8 })).collect::<Vec<_>>()
            });
            let out = table_result(lua, r)?;
            if let Some(Value::Table(tb)) = out.front() {
                tb.set_metatable(Some(lua.array_metatable()))?;
            }
            Ok(out)
        })?,
    )?;
    t.set(
        "size",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            let r = s.resolve_container(&reference).map(|rec| {
                let rw = crate::storage::tree_size(&s.container_dir(&rec.id).join("upper"));
                let image = s.resolve_image(&rec.image).map(|i| i.size).unwrap_or(0);
                serde_json::json!({ "rw": rw, "root_fs": rw + image })
            });
            table_result(lua, r)
        })?,
    )?;
    t.set(
        "archive_stat",
        lua.create_function(|lua, (reference, path): (String, String)| {
            let s = store(lua)?;
            let r = ops::archive::ContainerRoot::open(&s, &reference).and_then(|(root, _)| root.stat(&path));
            stat_result(lua, r)
        })?,
    )?;
    t.set(
        "archive_get",
        lua.create_function(|lua, (reference, path, write): (String, String, Function)| {
            let s = store(lua)?;
            let r = ops::archive::ContainerRoot::open(&s, &reference).and_then(|(root, _)| {
                let w = std::io::BufWriter::with_capacity(CHUNK, LuaWriter { f: &write, lua });
                root.tar_to(&path, None, w)
            });
            stat_result(lua, r)
        })?,
    )?;
    t.set(
        "archive_put",
        lua.create_function(|lua, (reference, path, body, o): (String, String, mlua::LuaString, Option<Value>)| {
            let o: PutOpts = options(lua, "bocker.container.archive_put options", o)?;
            let s = store(lua)?;
            let bytes = body.as_bytes();
            let owner = if o.copy_uid_gid { None } else { Some((0, 0)) };
            let r = ops::archive::ContainerRoot::open(&s, &reference)
                .and_then(|(root, _)| root.extract(&path, &bytes[..], owner, o.no_overwrite_dir_non_dir));
            result(lua, r.map(|()| true))
        })?,
    )?;
    t.set(
        "copy_out",
        lua.create_function(|lua, (reference, src, dest): (String, String, String)| {
            let s = store(lua)?;
            let out = std::io::BufWriter::with_capacity(CHUNK, std::io::stdout());
            result(lua, ops::cp::copy_out(&s, &reference, &src, &dest, out).map(|()| true))
        })?,
    )?;
    t.set(
        "copy_in",
        lua.create_function(|lua, (reference, src, dest, o): (String, String, String, Option<Value>)| {
            let o: CopyInOpts = options(lua, "bocker.container.copy_in options", o)?;
            let s = store(lua)?;
            result(lua, ops::cp::copy_in(&s, &reference, &src, &dest, o.archive, std::io::stdin().lock()).map(|()| true))
        })?,
    )?;
    Ok(())
}

/// A path's stat as a table, with `header`: the value of Docker's
/// X-Docker-Container-Path-Stat (base64 of its JSON).
fn stat_result(lua: &Lua, r: ops::Result<ops::archive::PathStat>) -> mlua::Result<MultiValue> {
    use base64::Engine;
    match r {
        Ok(st) => {
            let json = serde_json::to_vec(&st).map_err(super::ext)?;
            let t = super::convert::to_lua(lua, &st)?;
            if let Value::Table(tb) = &t {
                tb.set("header", base64::engine::general_purpose::STANDARD.encode(json))?;
                tb.set("is_dir", st.is_dir())?;
            }
            Ok(MultiValue::from_iter([t]))
        }
        Err(e) => result::<Value, _>(lua, Err(e)),
    }
}
