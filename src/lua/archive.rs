//! Images and filesystems as archives: `bocker.image.save`, `.load`,
//! `.import`, `.history` and `bocker.container.export`. Registered into
//! the tables `image` and `container` made before.
use super::convert::{options, result, store, table_result};
use crate::image::archive::{self, Format, Input, Output};
use mlua::{Lua, MultiValue, Table, Value};
use std::path::Path;

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SaveOpts {
    /// A file (written atomically); stdout when absent.
    #[serde(default)]
    output: Option<String>,
    /// `docker` (default) or `oci`.
    #[serde(default)]
    format: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExportOpts {
    #[serde(default)]
    output: Option<String>,
}

fn output(o: &Option<String>) -> Output<'_> {
    match o {
        Some(p) => Output::File(Path::new(p)),
        None => Output::Stdout,
    }
}

/// A file name, or stdin for nil and `-`.
fn input(file: &Option<String>) -> Input<'_> {
    match file.as_deref() {
        None | Some("-") => Input::Stdin,
        Some(p) => Input::File(Path::new(p)),
    }
}

/// One reference or a list of them.
fn references(v: Value) -> mlua::Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.to_str()?.to_string()]),
        Value::Table(t) => t.sequence_values::<String>().collect(),
        _ => Err(mlua::Error::RuntimeError("bocker.image.save: expected an image reference or a list of them".into())),
    }
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let image: Table = bocker.get("image")?;
    image.set(
        "save",
        lua.create_function(|lua, (refs, o): (Value, Option<Value>)| {
            let refs = references(refs)?;
            let o: SaveOpts = options(lua, "bocker.image.save options", o)?;
            let s = store(lua)?;
            let r = Format::parse(o.format.as_deref().unwrap_or("docker")).and_then(|f| archive::save(&s, &refs, f, output(&o.output)));
            table_result(lua, r)
        })?,
    )?;
    image.set(
        "load",
        lua.create_function(|lua, file: Option<String>| {
            let s = store(lua)?;
            table_result(lua, archive::load(&s, input(&file)))
        })?,
    )?;
    image.set(
        "import",
        lua.create_function(|lua, (file, o): (String, Option<Value>)| {
            let o: crate::build::ImportSpec = options(lua, "bocker.image.import options", o)?;
            let s = store(lua)?;
            table_result(lua, crate::build::import(&s, input(&Some(file)), &o))
        })?,
    )?;
    image.set(
        "history",
        lua.create_function(|lua, reference: String| {
            let s = store(lua)?;
            table_result(lua, crate::image::history::history(&s, &reference))
        })?,
    )?;
    let container: Table = bocker.get("container")?;
    container.set(
        "export",
        lua.create_function(|lua, (reference, o): (String, Option<Value>)| {
            let o: ExportOpts = options(lua, "bocker.container.export options", o)?;
            let s = store(lua)?;
            match crate::image::export::export_container(&s, &reference, output(&o.output)) {
                Ok(id) => Ok(MultiValue::from_iter([Value::String(lua.create_string(id)?)])),
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    Ok(())
}
