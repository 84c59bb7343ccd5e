//! `bocker.template`: Go templates (`--format`) over Lua values.
use super::convert::result;
use mlua::{Lua, LuaSerdeExt, Table, Value};

fn json_of(lua: &Lua, v: Value) -> mlua::Result<serde_json::Value> {
    let opts = mlua::serde::DeserializeOptions::new().deny_unsupported_types(false);
    lua.from_value_with(v, opts)
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    // render(src, value) -> text | nil, err
    t.set(
        "render",
        lua.create_function(|lua, (src, v): (String, Value)| {
            let data = json_of(lua, v)?;
            result(lua, crate::gotmpl::render(&src, &data))
        })?,
    )?;
    // check(src) -> true | nil, err: parse errors before any output
    t.set(
        "check",
        lua.create_function(|lua, src: String| result(lua, crate::gotmpl::parse(&src).map(|_| true)))?,
    )?;
    bocker.set("template", t)?;
    Ok(())
}
