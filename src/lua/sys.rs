//! Small system helpers for verbs and scripts: the store root, clocks,
//! terminals, JSON, sleeping.
use mlua::{Lua, LuaSerdeExt, Table, Value};

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    bocker.set(
        "root",
        lua.create_function(|lua, ()| Ok(super::convert::store(lua)?.root().display().to_string()))?,
    )?;
    bocker.set("now", lua.create_function(|_, ()| Ok(crate::state::now()))?)?;
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
    let json = lua.create_table()?;
    json.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            // an empty table is most often an empty list (`ps` with nothing)
            let opts = mlua::serde::DeserializeOptions::new().encode_empty_tables_as_array(true);
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
    bocker.set("json", json)?;
    Ok(())
}
