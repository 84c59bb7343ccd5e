//! What the build library's steps need beside images and layers:
//! `bocker.build.cache_mount(id)`, `.inline_files({NAME = TEXT} [, mode])`,
//! `.remove_inline(dir)` (src/build/step_dirs.rs) and `.platform()` (the
//! host's, for the automatic platform ARGs).
use super::convert::{result, store};
use mlua::{Lua, Table, Value};
use std::collections::BTreeMap;

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let b: Table = match bocker.get::<Value>("build")? {
        Value::Table(t) => t,
        _ => {
            let t = lua.create_table()?;
            bocker.set("build", t.clone())?;
            t
        }
    };
    b.set(
        "cache_mount",
        lua.create_function(|lua, id: String| {
            let s = store(lua)?;
            result(lua, crate::build::cache_mount_dir(&s, &id).map(|p| p.display().to_string()))
        })?,
    )?;
    b.set(
        "inline_files",
        lua.create_function(|lua, (files, mode): (BTreeMap<String, String>, Option<u32>)| {
            let s = store(lua)?;
            result(lua, crate::build::inline_dir(&s, &files, mode.unwrap_or(0o644)).map(|p| p.display().to_string()))
        })?,
    )?;
    b.set(
        "remove_inline",
        lua.create_function(|lua, dir: String| {
            let s = store(lua)?;
            result(lua, crate::build::remove_inline_dir(&s, std::path::Path::new(&dir)).map(|_| true))
        })?,
    )?;
    b.set(
        "platform",
        lua.create_function(|lua, ()| {
            let p = crate::image::platform::host();
            let t = lua.create_table()?;
            t.set("os", p.os().to_string())?;
            t.set("arch", p.architecture().to_string())?;
            t.set("variant", p.variant().clone())?;
            t.set("name", crate::image::platform::name(&p))?;
            Ok(t)
        })?,
    )?;
    Ok(())
}
