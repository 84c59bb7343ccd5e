//! `network connect` / `disconnect` of a container on user networks or
//! the default bridge (its eth0 stays; user networks come as eth1, ...):
//! the record's network list changes; for a running container also its
//! links (a veth appears or goes), its recorded state and its names.
use super::{inspect, record_lock as lock, ContainerError, Result};
use crate::net::NetMode;
use crate::state::containers::NetworkRequest;
use crate::state::Store;

/// Connects the container to user network `req.name`; returns its id.
pub fn connect(store: &Store, reference: &str, req: NetworkRequest) -> Result<String> {
    let info = inspect(store, reference)?;
    let id = info.record.id.clone();
    let _l = lock(store, &id)?;
    let mut c = store.load_container(&id)?;
    if crate::net::usernet::RESERVED.contains(&req.name.as_str()) {
        return Err(ContainerError::Invalid(format!("container {id}: connecting to network {} is not supported (user networks only)", req.name)));
    }
    let net = crate::networks::get(store, &req.name)?;
    let req = NetworkRequest { name: net.name.clone(), ..req };
    let bridged = c.network == NetMode::Bridge;
    if c.network != NetMode::User && !bridged && !(c.network == NetMode::None && c.networks.is_empty() && !info.running) {
        let mode = serde_json::to_value(c.network).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        return Err(ContainerError::Invalid(format!("container {id} is on network mode {mode}: only containers on the default bridge or user networks can be connected")));
    }
    if c.networks.iter().any(|n| n.name == req.name) {
        return Err(ContainerError::Conflict(format!("endpoint with name {} already exists in network {}", c.name.as_deref().unwrap_or(&id), req.name)));
    }
    let cfg = net.config()?;
    if let Some(ip) = req.ip {
        if !cfg.subnet.contains(ip) || ip == cfg.gateway {
            return Err(ContainerError::Invalid(format!("invalid IP {ip}: not a host address of network {} ({})", net.name, cfg.subnet)));
        }
    }
    if let Some(a) = req.aliases.iter().find(|a| !crate::net::files::valid_hostname(a)) {
        return Err(ContainerError::Invalid(format!("invalid network alias {a:?}")));
    }
    if c.networks.is_empty() && !bridged {
        c.network = NetMode::User;
        c.net_config = Some(cfg);
    }
    c.networks.push(req.clone());
    let st = store.load_state(&id)?;
    if info.running {
        let (Some(pid), Some(links)) = (st.pid, st.net.clone()) else {
            return Err(ContainerError::Conflict(format!("container {id} runs without a recorded network")));
        };
        let links = crate::runtime::usernet::connect_running(store, &c, pid, links, &req, &|h: &crate::net::ipam::Holder| super::lease_holder_alive(store, h))?;
        store.save_container(&c)?;
        let mut now = store.load_state(&id)?;
        now.net = Some(links);
        store.save_state(&id, &now)?;
    } else {
        store.save_container(&c)?;
    }
    Ok(id)
}

/// Disconnects the container from `network`; returns its id.
pub fn disconnect(store: &Store, reference: &str, network: &str) -> Result<String> {
    let info = inspect(store, reference)?;
    let id = info.record.id.clone();
    let _l = lock(store, &id)?;
    let mut c = store.load_container(&id)?;
    let name = crate::networks::get(store, network).map(|n| n.name).unwrap_or_else(|_| network.to_string());
    let Some(i) = c.networks.iter().position(|n| n.name == name) else {
        return Err(ContainerError::Conflict(format!("container {id} is not connected to network {network}")));
    };
    if info.running {
        let st = store.load_state(&id)?;
        let Some(links) = st.net.clone() else {
            return Err(ContainerError::Conflict(format!("container {id} runs without a recorded network")));
        };
        let links = crate::runtime::usernet::disconnect_running(store, &c, links, &name)?;
        c.networks.remove(i);
        store.save_container(&c)?;
        let mut now = store.load_state(&id)?;
        now.net = Some(links);
        store.save_state(&id, &now)?;
        // names follow the record (aliases of the network gone)
        if let Some(n) = &now.net {
            crate::runtime::usernet::publish(store, &c, n);
        }
    } else {
        c.networks.remove(i);
        match c.networks.first() {
            _ if c.network != NetMode::User => {}
            Some(first) => c.net_config = Some(crate::networks::get(store, &first.name)?.config()?),
            None => {
                c.network = NetMode::None;
                c.net_config = None;
            }
        }
        store.save_container(&c)?;
    }
    Ok(id)
}
