//! Finding and loading verbs: user folders first (BOCKER_VERBS, then
//! ~/.config/bocker/verbs), then the built-ins embedded in the binary.
use mlua::{Lua, Table, Value};
use std::path::PathBuf;

/// Folders searched for user verbs, highest precedence first.
pub fn user_dirs() -> Vec<PathBuf> {
    user_dirs_of("BOCKER_VERBS", "verbs")
}

/// Folders of the user's Lua files of one kind: those the variable `env`
/// lists, then ~/.config/bocker/SUB.
pub fn user_dirs_of(env: &str, sub: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = std::env::var_os(env) {
        for d in std::env::split_paths(&p) {
            if !d.as_os_str().is_empty() {
                dirs.push(d);
            }
        }
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        dirs.push(c.join("bocker").join(sub));
    }
    dirs
}

/// Where a verb comes from: a user file or the binary.
pub enum Source {
    User(PathBuf),
    /// bytecode (`super::embedded_chunk`)
    Builtin(&'static [u8]),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Finds the verb `name` without loading it.
pub fn find(name: &str) -> Option<Source> {
    if !valid_name(name) {
        return None;
    }
    for d in user_dirs() {
        let p = d.join(format!("{name}.lua"));
        if p.is_file() {
            return Some(Source::User(p));
        }
    }
    super::builtin_verbs()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, src)| Source::Builtin(src))
}

/// Every verb name, user and built-in, with its source label, sorted.
pub fn all() -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeMap::new();
    for d in user_dirs().iter().rev() {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().and_then(|s| s.to_str()) == Some("lua") {
                    if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                        if valid_name(stem) {
                            seen.insert(stem.to_string(), p.display().to_string());
                        }
                    }
                }
            }
        }
    }
    for (n, _) in super::builtin_verbs() {
        seen.entry(n.to_string()).or_insert_with(|| "builtin".to_string());
    }
    seen.into_iter().collect()
}

/// Loads verb `name` and checks it follows the verb contract.
pub fn load(lua: &Lua, name: &str) -> mlua::Result<Option<Table>> {
    let (chunk_name, v): (String, Value) = match find(name) {
        None => return Ok(None),
        Some(Source::Builtin(bytecode)) => (format!("@lua/verbs/{name}.lua"), super::embedded_chunk(lua, bytecode).call(name)?),
        Some(Source::User(p)) => {
            let src = std::fs::read(&p)
                .map_err(|e| mlua::Error::RuntimeError(format!("{}: {e}", p.display())))?;
            let chunk_name = format!("@{}", p.display());
            let v = lua.load(src).set_name(chunk_name.clone()).call(name)?;
            (chunk_name, v)
        }
    };
    match v {
        Value::Table(t) => {
            if !matches!(t.get::<Value>("run")?, Value::Function(_)) {
                return Err(mlua::Error::RuntimeError(format!(
                    "{}: a verb must return a table with a run function",
                    &chunk_name[1..]
                )));
            }
            Ok(Some(t))
        }
        _ => Err(mlua::Error::RuntimeError(format!(
            "{}: a verb must return a table {{ summary, usage, run }}",
            &chunk_name[1..]
        ))),
    }
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set(
        "list",
        lua.create_function(|lua, ()| {
            let out = lua.create_table()?;
            for (i, (name, source)) in all().into_iter().enumerate() {
                let row = lua.create_table()?;
                if source == "builtin" {
                    row.set("summary", super::builtin_summary(&name))?;
                }
                row.set("name", name)?;
                row.set("source", source)?;
                out.set(i + 1, row)?;
            }
            Ok(out)
        })?,
    )?;
    t.set(
        "load",
        lua.create_function(|lua, name: String| match load(lua, &name) {
            Ok(Some(t)) => Ok((Value::Table(t), Value::Nil)),
            Ok(None) => Ok((Value::Nil, Value::String(lua.create_string(format!("unknown verb '{name}'"))?))),
            Err(e) => Ok((Value::Nil, Value::String(lua.create_string(super::error_message(&e))?))),
        })?,
    )?;
    bocker.set("verbs", t)?;
    Ok(())
}
