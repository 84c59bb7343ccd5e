//! `bocker.network`: user networks (create, get, list, remove, prune,
//! connect, disconnect) and the default bridge network of this
//! environment (BOCKER_BRIDGE, BOCKER_SUBNET: `config`, `containers`,
//! `remove()`), listed as `bridge`.
use super::convert::{options, result, spec, store, table_result, to_lua};
use crate::networks::NetworkRecord;
use mlua::{Lua, MultiValue, Table, Value};

/// The default network as a network table.
fn default_network() -> Result<NetworkRecord, crate::net::NetError> {
    let c = crate::net::NetConfig::from_env()?;
    let id = format!("{:0<64}", crate::net::veth::host_veth_name(&c.bridge).trim_start_matches("vb"));
    Ok(NetworkRecord {
        name: crate::networks::DEFAULT.into(),
        id,
        driver: "bridge".into(),
        bridge: c.bridge.clone(),
        subnet: c.subnet.to_string(),
        gateway: c.gateway,
        internal: false,
        egress: c.egress,
        labels: Default::default(),
        created: 0.0,
    })
}

/// Containers of this root on user network `name`: (id, name, address).
fn user_containers(lua: &Lua, name: &str) -> mlua::Result<Vec<(String, String, String)>> {
    let s = store(lua)?;
    let mut out = Vec::new();
    for c in crate::container::list(&s).map_err(super::ext)? {
        if !c.record.networks.iter().any(|n| n.name == name) {
            continue;
        }
        let ip = c
            .state
            .net
            .as_ref()
            .filter(|_| c.running)
            .and_then(|st| st.user_links().into_iter().find(|l| l.0 == name).map(|l| l.3.to_string()))
            .unwrap_or_default();
        out.push((c.record.id.clone(), c.record.name.clone().unwrap_or_default(), ip));
    }
    Ok(out)
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConnectOpts {
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    ip: Option<String>,
}

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
        lua.create_function(|lua, name: Option<String>| {
            let rows = lua.create_table()?;
            match name.as_deref() {
                Some(n) if n != crate::networks::DEFAULT => {
                    let s = store(lua)?;
                    let rec = match crate::networks::get(&s, n) {
                        Ok(r) => r,
                        Err(e) => return result::<Value, _>(lua, Err(e)),
                    };
                    for (i, (id, cname, ip)) in user_containers(lua, &rec.name)?.into_iter().enumerate() {
                        let r = lua.create_table()?;
                        r.set("id", id)?;
                        r.set("name", cname)?;
                        r.set("ip", ip)?;
                        rows.set(i + 1, r)?;
                    }
                }
                _ => {
                    let cfg = match crate::net::NetConfig::from_env() {
                        Ok(c) => c,
                        Err(e) => return result::<Value, _>(lua, Err(e)),
                    };
                    for (i, (id, ip)) in containers_on(lua, &cfg.bridge)?.into_iter().enumerate() {
                        let r = lua.create_table()?;
                        r.set("id", id)?;
                        r.set("ip", ip)?;
                        rows.set(i + 1, r)?;
                    }
                }
            }
            Ok(MultiValue::from_iter([Value::Table(rows)]))
        })?,
    )?;
    t.set(
        "create",
        lua.create_function(|lua, v: Value| {
            let o: crate::networks::CreateOptions = spec(lua, "bocker.network.create", v)?;
            let s = store(lua)?;
            table_result(lua, crate::networks::create(&s, &o))
        })?,
    )?;
    t.set(
        "get",
        lua.create_function(|lua, name: String| {
            if name == crate::networks::DEFAULT {
                return table_result(lua, default_network());
            }
            let s = store(lua)?;
            table_result(lua, crate::networks::get(&s, &name))
        })?,
    )?;
    t.set(
        "list",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            let r = crate::networks::list(&s).map(|mut v| {
                if let Ok(d) = default_network() {
                    v.insert(0, d);
                }
                v
            });
            table_result(lua, r)
        })?,
    )?;
    t.set(
        "remove",
        lua.create_function(|lua, name: Option<String>| {
            let cfg = match crate::net::NetConfig::from_env() {
                Ok(c) => c,
                Err(e) => return result::<Value, _>(lua, Err(e)),
            };
            let s = store(lua)?;
            // a user network by that name (or id)
            if let Some(n) = name.as_deref().filter(|n| *n != cfg.bridge) {
                return result(lua, crate::networks::remove(&s, n).map(|r| r.name));
            }
            // the default bridge of this environment, by its Linux name
            let users = containers_on(lua, &cfg.bridge)?;
            if !users.is_empty() {
                let ids: Vec<String> = users.into_iter().map(|(id, _)| id).collect();
                return result::<Value, _>(lua, Err(format!("network {} is in use by {}", cfg.bridge, ids.join(", "))));
            }
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
    t.set(
        "prune",
        lua.create_function(|lua, ()| {
            let s = store(lua)?;
            table_result(lua, crate::networks::prune(&s))
        })?,
    )?;
    t.set(
        "connect",
        lua.create_function(|lua, (name, container, o): (String, String, Option<Value>)| {
            let o: ConnectOpts = options(lua, "bocker.network.connect", o)?;
            let ip = match o.ip.as_deref().map(str::parse::<std::net::Ipv4Addr>).transpose() {
                Ok(ip) => ip,
                Err(_) => return result::<Value, _>(lua, Err(format!("invalid IP address {}", o.ip.unwrap_or_default()))),
            };
            let s = store(lua)?;
            let req = crate::state::containers::NetworkRequest { name, aliases: o.aliases, ip };
            result(lua, crate::container::connect::connect(&s, &container, req))
        })?,
    )?;
    t.set(
        "disconnect",
        lua.create_function(|lua, (name, container): (String, String)| {
            let s = store(lua)?;
            result(lua, crate::container::connect::disconnect(&s, &container, &name))
        })?,
    )?;
    bocker.set("network", t)?;
    Ok(())
}
