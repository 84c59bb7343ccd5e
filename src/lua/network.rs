//! `bocker.network`: the bridge network of this environment
//! (BOCKER_BRIDGE, BOCKER_SUBNET), its containers, and its removal.
use super::convert::{result, store, table_result, to_lua};
use mlua::{Lua, MultiValue, Table, Value};

fn containers_on(lua: &Lua, bridge: &str) -> mlua::Result<Vec<(String, String)>> {
    let s = store(lua)?;
    let mut out = Vec::new();
    for c in crate::container::list(&s).map_err(super::ext)? {
        if !c.running {
            continue;
        }
        if let Some(st) = &c.state.net {
            if st.bridge.as_deref() == Some(bridge) {
                out.push((c.record.id.clone(), st.ip.map(|i| i.to_string()).unwrap_or_default()));
            }
        }
    }
    Ok(out)
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set(
        "config",
        lua.create_function(|lua, ()| {
            let r = crate::net::NetConfig::from_env().map(|c| {
                serde_json::json!({
                    "bridge": c.bridge,
                    "subnet": c.subnet.to_string(),
                    "gateway": c.gateway.to_string(),
                    "egress": c.egress,
                })
            });
            table_result(lua, r)
        })?,
    )?;
    t.set(
        "containers",
        lua.create_function(|lua, ()| {
            let cfg = match crate::net::NetConfig::from_env() {
                Ok(c) => c,
                Err(e) => return result::<Value, _>(lua, Err(e)),
            };
            let rows = lua.create_table()?;
            for (i, (id, ip)) in containers_on(lua, &cfg.bridge)?.into_iter().enumerate() {
                let r = lua.create_table()?;
                r.set("id", id)?;
                r.set("ip", ip)?;
                rows.set(i + 1, r)?;
            }
            Ok(MultiValue::from_iter([Value::Table(rows)]))
        })?,
    )?;
    t.set(
        "remove",
        lua.create_function(|lua, ()| {
            let cfg = match crate::net::NetConfig::from_env() {
                Ok(c) => c,
                Err(e) => return result::<Value, _>(lua, Err(e)),
            };
            let users = containers_on(lua, &cfg.bridge)?;
            if !users.is_empty() {
                let ids: Vec<String> = users.into_iter().map(|(id, _)| id).collect();
                return result::<Value, _>(lua, Err(format!("network {} is in use by {}", cfg.bridge, ids.join(", "))));
            }
            let s = store(lua)?;
            let others = crate::container::other_roots_on_bridge(&s, &cfg);
            if !others.is_empty() {
                return result::<Value, _>(lua, Err(format!("network {} is in use by containers of other state roots: {}", cfg.bridge, others.join(", "))));
            }
            match crate::net::reset(s.root(), &cfg) {
                Ok(()) => Ok(MultiValue::from_iter([to_lua(lua, &cfg.bridge)?])),
                Err(e) => result::<Value, _>(lua, Err(e)),
            }
        })?,
    )?;
    bocker.set("network", t)?;
    Ok(())
}
