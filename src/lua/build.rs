//! The primitives image builds are made of: `bocker.container.commit`,
//! `bocker.image.add_layer`, `.derive`, `.scratch`, `.push`,
//! `bocker.build.hash_sources`, `.copy_key`, `bocker.sha256`. Registered into
//! the tables `image` and `container` made before (save and load: `archive.rs`).
use super::convert::{result, spec, store, to_lua};
use mlua::{Lua, MultiValue, Table, Value};

fn opts<T: serde::de::DeserializeOwned + Default>(lua: &Lua, what: &str, v: Option<Value>) -> mlua::Result<T> {
    match v {
        Some(Value::Nil) | None => Ok(T::default()),
        Some(v) => spec(lua, what, v),
    }
}

fn image_or_err<E: std::fmt::Display>(
    lua: &Lua,
    r: std::result::Result<crate::state::images::ImageRecord, E>,
) -> mlua::Result<MultiValue> {
    match r {
        Ok(img) => Ok(MultiValue::from_iter([to_lua(lua, &img)?])),
        Err(e) => result::<Value, _>(lua, Err(e)),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PushOpts {
    #[serde(default)]
    dest: Option<String>,
    #[serde(default)]
    auth: Option<super::image::AuthOpts>,
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let container: Table = bocker.get("container")?;
    container.set(
        "commit",
        lua.create_function(|lua, (reference, o): (String, Option<Value>)| {
            let o: crate::build::CommitSpec = opts(lua, "bocker.container.commit options", o)?;
            let s = store(lua)?;
            match crate::build::commit(&s, &reference, &o) {
                Ok(c) => {
                    let v = to_lua(lua, &c.image)?;
                    if let (Value::Table(t), Some(r)) = (&v, c.replaced) {
                        t.set("replaced", r)?;
                    }
                    Ok(MultiValue::from_iter([v]))
                }
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    let image: Table = bocker.get("image")?;
    image.set(
        "add_layer",
        lua.create_function(|lua, (reference, v): (String, Value)| {
            let o: crate::build::AddLayerSpec = spec(lua, "bocker.image.add_layer", v)?;
            let s = store(lua)?;
            image_or_err(lua, crate::build::add_layer(&s, &reference, &o))
        })?,
    )?;
    image.set(
        "derive",
        lua.create_function(|lua, (reference, o): (String, Option<Value>)| {
            let o: crate::build::DeriveSpec = opts(lua, "bocker.image.derive options", o)?;
            let s = store(lua)?;
            image_or_err(lua, crate::build::derive(&s, &reference, &o))
        })?,
    )?;
    image.set(
        "scratch",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            image_or_err(lua, crate::build::scratch(&s))
        })?,
    )?;
    image.set(
        "push",
        lua.create_function(|lua, (reference, o): (String, Option<Value>)| {
            let o: PushOpts = opts(lua, "bocker.image.push options", o)?;
            let s = store(lua)?;
            result(lua, crate::image::archive::push(&s, &reference, o.dest.as_deref(), o.auth.map(|a| a.credentials())))
        })?,
    )?;
    bocker.set(
        "sha256",
        lua.create_function(|_, data: mlua::LuaString| {
            use sha2::Digest as _;
            Ok(hex::encode(sha2::Sha256::digest(&data.as_bytes()[..])))
        })?,
    )?;
    let b: Table = match bocker.get::<Value>("build")? {
        Value::Table(t) => t,
        _ => lua.create_table()?,
    };
    b.set(
        "hash_sources",
        lua.create_function(|lua, (context, srcs): (String, Vec<String>)| {
            let s = store(lua)?;
            result(lua, crate::build::hash_sources(&s, &context, &srcs))
        })?,
    )?;
    b.set(
        "copy_key",
        lua.create_function(|lua, v: Value| {
            let o: crate::build::AddLayerSpec = spec(lua, "bocker.build.copy_key", v)?;
            let s = store(lua)?;
            result(lua, crate::build::copy_key(&s, &o))
        })?,
    )?;
    // a restricted build's file access: inside the context only
    b.set(
        "context_root",
        lua.create_function(|lua, dir: String| {
            result(lua, std::fs::canonicalize(&dir).map(|p| p.display().to_string()).map_err(|e| format!("build context {dir}: {e}")))
        })?,
    )?;
    b.set(
        "read_context",
        lua.create_function(|lua, (context, path): (String, String)| {
            let root = std::path::Path::new(&context);
            let Some(rel) = crate::storage::inroot::relative_to(root, &path) else {
                return result::<bool, _>(lua, Err(format!("{path}: outside the build context")));
            };
            match crate::storage::inroot::read_in_root(root, &rel) {
                Ok(data) => Ok(MultiValue::from_iter([Value::String(lua.create_string(&data)?)])),
                Err(e) => result::<bool, _>(lua, Err(format!("{path}: {e}"))),
            }
        })?,
    )?;
    b.set(
        "cache_get",
        lua.create_function(|lua, key: String| Ok(store(lua)?.build_cache_get(&key)))?,
    )?;
    b.set(
        "cache_put",
        lua.create_function(|lua, (key, id): (String, String)| result(lua, store(lua)?.build_cache_put(&key, &id).map(|_| true)))?,
    )?;
    bocker.set("build", b)?;
    Ok(())
}
