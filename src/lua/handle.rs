//! Handles: `bocker.container.open(ref)` and `bocker.image.open(ref)` give
//! objects that hold an id and call the same primitives as methods:
//!
//! ```lua
//! local c = assert(bocker.container.open("web"))
//! c:exec{ args = {"ls"} }; c:stop(1); c:remove()
//! ```
use mlua::{Function, Lua, MultiValue, Table, UserData, UserDataFields, UserDataMethods, Value};

/// A container, by id.
pub struct ContainerHandle {
    pub id: String,
}

/// An image, by id.
pub struct ImageHandle {
    pub id: String,
}

/// Calls `bocker.<area>.<name>(id, ...)`.
fn call(lua: &Lua, area: &str, name: &str, id: &str, args: MultiValue) -> mlua::Result<MultiValue> {
    let bocker: Table = lua.named_registry_value("bocker")?;
    let f: Function = bocker.get::<Table>(area)?.get(name)?;
    let mut all = vec![Value::String(lua.create_string(id)?)];
    all.extend(args);
    f.call(MultiValue::from_iter(all))
}

impl UserData for ContainerHandle {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("id", |_, this| Ok(this.id.clone()));
    }
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        for (method, prim) in [
            ("info", "get"),
            ("start", "start"),
            ("wait", "wait"),
            ("exec", "exec"),
            ("logs", "logs"),
            ("kill", "kill"),
            ("stop", "stop"),
            ("pause", "pause"),
            ("unpause", "unpause"),
            ("remove", "remove"),
        ] {
            methods.add_method(method, move |lua, this, args: MultiValue| call(lua, "container", prim, &this.id, args));
        }
        methods.add_meta_method("__tostring", |_, this, ()| Ok(format!("container {}", this.id)));
        methods.add_meta_method("__eq", |_, this, other: mlua::AnyUserData| {
            Ok(other.borrow::<ContainerHandle>().map(|o| o.id == this.id).unwrap_or(false))
        });
    }
}

impl UserData for ImageHandle {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("id", |_, this| Ok(this.id.clone()));
    }
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        for (method, prim) in [("info", "get"), ("layers", "layers"), ("tag", "tag"), ("remove", "remove")] {
            methods.add_method(method, move |lua, this, args: MultiValue| call(lua, "image", prim, &this.id, args));
        }
        methods.add_method("run", |lua, this, spec: Option<Table>| {
            // create + start in one call: spec as bocker.container.create's, minus image
            let spec = match spec {
                Some(t) => t,
                None => lua.create_table()?,
            };
            spec.set("image", this.id.as_str())?;
            let detach: bool = spec.get::<Option<bool>>("detach")?.unwrap_or(false);
            spec.set("detach", Value::Nil)?;
            let bocker: Table = lua.named_registry_value("bocker")?;
            let ct: Table = bocker.get("container")?;
            let created: MultiValue = ct.get::<Function>("create")?.call(spec)?;
            let rec = match created.front() {
                Some(Value::Table(t)) => t.clone(),
                _ => return Ok(created),
            };
            let id: String = rec.get("id")?;
            let opts = lua.create_table()?;
            opts.set("detach", detach)?;
            let started: MultiValue = ct.get::<Function>("start")?.call((id.clone(), opts))?;
            let mut out = vec![Value::UserData(lua.create_userdata(ContainerHandle { id })?)];
            out.extend(started);
            Ok(MultiValue::from_iter(out))
        });
        methods.add_meta_method("__tostring", |_, this, ()| Ok(format!("image {}", this.id)));
    }
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let ct: Table = bocker.get("container")?;
    ct.set(
        "open",
        lua.create_function(|lua, reference: String| {
            let s = super::convert::store(lua)?;
            match s.resolve_container(&reference) {
                Ok(c) => Ok((Value::UserData(lua.create_userdata(ContainerHandle { id: c.id })?), Value::Nil)),
                Err(e) => Ok((Value::Nil, Value::String(lua.create_string(e.to_string())?))),
            }
        })?,
    )?;
    let it: Table = bocker.get("image")?;
    it.set(
        "open",
        lua.create_function(|lua, reference: String| {
            let s = super::convert::store(lua)?;
            match s.resolve_image(&reference) {
                Ok(i) => Ok((Value::UserData(lua.create_userdata(ImageHandle { id: i.id })?), Value::Nil)),
                Err(e) => Ok((Value::Nil, Value::String(lua.create_string(e.to_string())?))),
            }
        })?,
    )?;
    Ok(())
}
