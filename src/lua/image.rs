//! `bocker.image`: images as tables.
use super::convert::{result, store, table_result, to_lua};
use mlua::{Lua, MultiValue, Table, Value};

/// `auth = { username, password }`: credentials for this pull or push only
/// (the API's X-Registry-Auth), before the stored ones.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthOpts {
    username: String,
    password: String,
}

impl AuthOpts {
    pub fn credentials(&self) -> crate::image::auth::Credentials {
        crate::image::auth::Credentials::new(&self.username, &self.password)
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PullOpts {
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    auth: Option<AuthOpts>,
    #[serde(skip)]
    progress: Option<mlua::Function>,
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set(
        "init",
        lua.create_function(|lua, dir: String| {
            let s = store(lua)?;
            table_result(lua, crate::local_images::init_from_dir(&s, std::path::Path::new(&dir)))
        })?,
    )?;
    t.set(
        "list",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            let imgs = s.list_images().map_err(super::ext)?;
            to_lua(lua, &imgs)
        })?,
    )?;
    t.set(
        "get",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            table_result(lua, s.resolve_image(&reference))
        })?,
    )?;
    t.set(
        "layers",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            let img = match s.resolve_image(&reference) {
                Ok(i) => i,
                Err(e) => return result::<Value, _>(lua, Err(e)),
            };
            let out = lua.create_table()?;
            for (i, l) in img.layers.iter().enumerate() {
                let rec = s.read_layer(l).map_err(super::ext)?;
                let row = match to_lua(lua, &rec)? {
                    Value::Table(t) => t,
                    _ => lua.create_table()?,
                };
                row.set("id", l.as_str())?;
                out.set(i + 1, row)?;
            }
            Ok(MultiValue::from_iter([Value::Table(out)]))
        })?,
    )?;
    t.set(
        "tag",
        lua.create_function(|lua, (reference, name): (String, String)| {
            let s = store(lua)?;
            table_result(lua, crate::local_images::tag(&s, &reference, &name))
        })?,
    )?;
    t.set(
        "untag",
        lua.create_function(|lua, name: String| {
            let s = store(lua)?;
            table_result(lua, crate::local_images::untag(&s, &name))
        })?,
    )?;
    t.set(
        "remove",
        lua.create_function(|lua, (reference, opts): (String, Option<Value>)| {
            let opts: super::convert::ForceOpts = super::convert::options(lua, "bocker.image.remove options", opts)?;
            let s = store(lua)?;
            match crate::local_images::remove(&s, &reference, opts.force) {
                Ok(r) => {
                    let t = lua.create_table()?;
                    t.set("id", r.id)?;
                    t.set("layers", r.layers)?;
                    t.set("parents", r.parents)?;
                    Ok(MultiValue::from_iter([Value::Table(t)]))
                }
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    t.set(
        "pull",
        lua.create_function(|lua, (reference, o): (String, Option<Value>)| {
            let o: PullOpts = match o {
                Some(Value::Nil) | None => PullOpts::default(),
                Some(Value::Table(tbl)) => {
                    let progress: Option<mlua::Function> = tbl.get("progress")?;
                    tbl.set("progress", Value::Nil)?;
                    let mut o: PullOpts = super::convert::spec(lua, "bocker.image.pull options", Value::Table(tbl))?;
                    o.progress = progress;
                    o
                }
                Some(_) => return Err(mlua::Error::RuntimeError("bocker.image.pull: options must be a table".into())),
            };
            let s = store(lua)?;
            let mut cb_err = None;
            let mut on_event = |ev: crate::image::Progress| {
                if let Some(f) = &o.progress {
                    if cb_err.is_none() {
                        if let Err(e) = to_lua(lua, &ev).and_then(|v| f.call::<()>(v)) {
                            cb_err = Some(e);
                        }
                    }
                }
            };
            let r = crate::local_images::pull(&s, &reference, o.platform.as_deref(), o.auth.as_ref().map(|a| a.credentials()), &mut on_event);
            if let Some(e) = cb_err {
                return Err(e);
            }
            table_result(lua, r)
        })?,
    )?;
    bocker.set("image", t)?;
    let reg = lua.create_table()?;
    reg.set(
        "login",
        lua.create_function(|lua, (registry, user, pass): (String, String, String)| {
            let s = store(lua)?;
            result(lua, crate::image::login::login(s.root(), &registry, &user, &pass).map(|_| true))
        })?,
    )?;
    reg.set(
        "check",
        lua.create_function(|lua, (registry, user, pass): (String, String, String)| {
            result(lua, crate::image::login::check(&registry, &user, &pass).map(|_| true))
        })?,
    )?;
    reg.set(
        "logout",
        lua.create_function(|lua, registry: String| {
            let s = store(lua)?;
            result(lua, crate::image::auth::logout(s.root(), &registry))
        })?,
    )?;
    bocker.set("registry", reg)?;
    Ok(())
}
