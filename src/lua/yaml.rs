//! `bocker.yaml.decode(text)`: a YAML document (a compose.yaml) as Lua
//! tables. yaml-rust2 reads it: pure safe Rust, YAML 1.2 (so `80:80` and
//! `yes` stay strings, as the Compose Specification wants), maintained,
//! two small dependencies; serde_yaml is archived and its forks
//! (serde_yaml_ng, serde_norway) carry a C-translated unsafe parser.
use mlua::{Lua, LuaSerdeExt, Table, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// How deep nested mappings may go (a hostile file cannot blow the stack).
const MAX_DEPTH: usize = 64;

/// A scalar used as a mapping key, as text (compose's keys are names).
fn key_text(k: &Yaml) -> Option<String> {
    match k {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        Yaml::Null => Some("null".into()),
        _ => None,
    }
}

fn to_lua(lua: &Lua, y: &Yaml, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime("yaml: nested deeper than 64 levels"));
    }
    Ok(match y {
        Yaml::String(s) => Value::String(lua.create_string(s)?),
        Yaml::Integer(i) => Value::Integer(*i),
        Yaml::Real(s) => match s.parse::<f64>() {
            Ok(f) => Value::Number(f),
            Err(_) => Value::String(lua.create_string(s)?),
        },
        Yaml::Boolean(b) => Value::Boolean(*b),
        // a key with no value (`FOO:` in environment) must stay visible
        Yaml::Null => lua.null(),
        Yaml::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item, depth + 1)?)?;
            }
            t.set_metatable(Some(lua.array_metatable()))?;
            Value::Table(t)
        }
        Yaml::Hash(h) => {
            let t = lua.create_table_with_capacity(0, h.len())?;
            let mut merges = Vec::new();
            for (k, v) in h {
                let Some(key) = key_text(k) else {
                    return Err(mlua::Error::runtime("yaml: a mapping key must be a scalar"));
                };
                if key == "<<" {
                    // YAML's merge key (`<<: *defaults`), common in compose files
                    match v {
                        Yaml::Array(list) => merges.extend(list.iter()),
                        other => merges.push(other),
                    }
                    continue;
                }
                t.raw_set(key, to_lua(lua, v, depth + 1)?)?;
            }
            for m in merges {
                let Yaml::Hash(mh) = m else {
                    return Err(mlua::Error::runtime("yaml: `<<` merges a mapping or a list of mappings"));
                };
                for (k, v) in mh {
                    if let Some(key) = key_text(k) {
                        if t.raw_get::<Value>(key.as_str())?.is_nil() {
                            t.raw_set(key, to_lua(lua, v, depth + 1)?)?;
                        }
                    }
                }
            }
            Value::Table(t)
        }
        Yaml::Alias(_) | Yaml::BadValue => return Err(mlua::Error::runtime("yaml: unresolved alias")),
    })
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set("null", lua.null())?;
    t.set(
        "decode",
        lua.create_function(|lua, text: mlua::LuaString| {
            let text = text.to_str()?;
            let docs = match YamlLoader::load_from_str(&text) {
                Ok(d) => d,
                Err(e) => {
                    let m = e.marker();
                    return Ok((Value::Nil, Some(format!("line {}, column {}: {}", m.line(), m.col() + 1, e.info()))));
                }
            };
            match docs.first() {
                Some(d) => Ok((to_lua(lua, d, 0)?, None)),
                None => Ok((Value::Nil, Some("empty document".to_string()))),
            }
        })?,
    )?;
    bocker.set("yaml", t)?;
    Ok(())
}
