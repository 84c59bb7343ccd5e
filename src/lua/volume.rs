//! `bocker.volume`: named and anonymous volumes as tables.
use super::convert::{result, store, table_result, to_lua};
use mlua::{Lua, MultiValue, Table, Value};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PruneOpts {
    #[serde(default)]
    all: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateOpts {
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}


pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set(
        "create",
        lua.create_function(|lua, (name, o): (Option<String>, Option<Value>)| {
            let o: CreateOpts = super::convert::options(lua, "bocker.volume.create options", o)?;
            let s = store(lua)?;
            table_result(lua, crate::volumes::create_labelled(&s, name.as_deref(), o.labels))
        })?,
    )?;
    t.set(
        "get",
        lua.create_function(|lua, name: String| {
            let s = store(lua)?;
            let r = crate::volumes::get(&s, &name).and_then(|v| {
                let users = crate::volumes::users(&s, &name)?;
                Ok((v, users))
            });
            match r {
                Ok((v, users)) => {
                    let t = match to_lua(lua, &v)? {
                        Value::Table(t) => t,
                        _ => lua.create_table()?,
                    };
                    t.set("containers", users)?;
                    Ok(MultiValue::from_iter([Value::Table(t)]))
                }
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    t.set(
        "list",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            to_lua(lua, &crate::volumes::list(&s).map_err(super::ext)?)
        })?,
    )?;
    t.set(
        "remove",
        lua.create_function(|lua, (name, o): (String, Option<Value>)| {
            let o: super::convert::ForceOpts = super::convert::options(lua, "bocker.volume.remove options", o)?;
            let s = store(lua)?;
            table_result(lua, crate::volumes::remove(&s, &name, o.force))
        })?,
    )?;
    t.set(
        "prune",
        lua.create_function(|lua, o: Option<Value>| {
            let o: PruneOpts = super::convert::options(lua, "bocker.volume.prune options", o)?;
            let s = store(lua)?;
            table_result(lua, crate::volumes::prune(&s, o.all))
        })?,
    )?;
    bocker.set("volume", t)?;
    Ok(())
}
