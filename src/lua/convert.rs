//! Crossing the boundary: Rust values to Lua tables (serde), Lua spec
//! tables to Rust (unknown keys rejected), and the `nil, err` convention.
use mlua::{IntoLuaMulti, Lua, LuaSerdeExt, MultiValue, Value};
use serde::{de::DeserializeOwned, Serialize};

pub fn to_lua<T: Serialize>(lua: &Lua, v: &T) -> mlua::Result<Value> {
    let opts = mlua::serde::SerializeOptions::new().serialize_none_to_null(false).serialize_unit_to_null(false);
    lua.to_value_with(v, opts)
}

/// Reads a spec table; a misspelt or unknown key raises an error that
/// names it (misuse raises, as in the rest of the API).
pub fn spec<T: DeserializeOwned>(lua: &Lua, what: &str, v: Value) -> mlua::Result<T> {
    let opts = mlua::serde::DeserializeOptions::new().deny_unsupported_types(false);
    lua.from_value_with(v, opts)
        .map_err(|e| mlua::Error::RuntimeError(format!("{what}: {}", super::error_message(&e))))
}

/// An optional options table (nil or absent = defaults), unknown keys rejected.
pub fn options<T: DeserializeOwned + Default>(lua: &Lua, what: &str, v: Option<Value>) -> mlua::Result<T> {
    match v {
        Some(Value::Nil) | None => Ok(T::default()),
        Some(v) => spec(lua, what, v),
    }
}

/// `{ force = bool }`, the options of the remove primitives.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ForceOpts {
    #[serde(default)]
    pub force: bool,
}

/// `Ok(v)` -> v; `Err(e)` -> nil, "message".
pub fn result<T: IntoLuaMulti, E: std::fmt::Display>(lua: &Lua, r: Result<T, E>) -> mlua::Result<MultiValue> {
    match r {
        Ok(v) => v.into_lua_multi(lua),
        Err(e) => (Value::Nil, format!("{e}")).into_lua_multi(lua),
    }
}

/// The store this Lua state works on, opened on first use.
pub fn store(lua: &Lua) -> mlua::Result<crate::state::Store> {
    if let Some(s) = lua.app_data_ref::<crate::state::Store>() {
        return Ok(s.clone());
    }
    let s = crate::state::Store::open_default().map_err(super::ext)?;
    lua.set_app_data(s.clone());
    Ok(s)
}

/// `Ok(v)` -> v as a table; `Err(e)` -> nil, "message".
pub fn table_result<T: Serialize, E: std::fmt::Display>(lua: &Lua, r: Result<T, E>) -> mlua::Result<MultiValue> {
    match r {
        Ok(v) => Ok(MultiValue::from_iter([to_lua(lua, &v)?])),
        Err(e) => (Value::Nil, format!("{e}")).into_lua_multi(lua),
    }
}
