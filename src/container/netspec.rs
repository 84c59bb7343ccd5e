//! A create spec's networking, checked and resolved at create: the mode
//! (`bridge|none|host|container:X|NAME`), the user networks with their
//! aliases and addresses, `--add-host`, `--dns`, `--dns-search`.
use super::{ContainerError, Result};
use crate::net::{NetConfig, NetMode};
use crate::state::containers::NetworkRequest;
use crate::state::Store;
use std::net::Ipv4Addr;

/// What the record gets.
#[derive(Debug, Default)]
pub struct Resolved {
    pub mode: Option<NetMode>,
    pub networks: Vec<NetworkRequest>,
    pub net_container: Option<String>,
    pub net_config: Option<NetConfig>,
    pub add_hosts: Vec<(String, Ipv4Addr)>,
    pub dns: Vec<Ipv4Addr>,
    pub dns_search: Vec<String>,
}

fn invalid(s: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(s.into())
}

/// What `--network` names.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Builtin(NetMode),
    Container(&'a str),
    User(&'a str),
}

/// Parses a `--network` value.
pub fn target(s: &str) -> Result<Target<'_>> {
    if let Some(other) = s.strip_prefix("container:") {
        if other.is_empty() {
            return Err(invalid("--network container: needs a container name or id"));
        }
        return Ok(Target::Container(other));
    }
    match s.parse::<NetMode>() {
        Ok(m) => Ok(Target::Builtin(m)),
        Err(_) if crate::net::usernet::valid_name(s) => Ok(Target::User(s)),
        Err(_) => Err(invalid(format!("network {s} not found"))),
    }
}

/// `NAME:IP` of `--add-host`; `host-gateway` is `gateway`.
pub fn add_host(s: &str, gateway: Option<Ipv4Addr>) -> Result<(String, Ipv4Addr)> {
    let bad = || invalid(format!("invalid argument \"{s}\" for \"--add-host\" flag: expected NAME:IP"));
    let (name, ip) = s.split_once(':').or_else(|| s.split_once('=')).ok_or_else(bad)?;
    if !crate::net::files::valid_hostname(name) {
        return Err(bad());
    }
    let ip = match ip {
        "host-gateway" => gateway.ok_or_else(|| invalid("--add-host host-gateway needs a network with a gateway"))?,
        ip => ip.parse().map_err(|_| bad())?,
    };
    Ok((name.to_string(), ip))
}

/// Resolves the spec's network fields. `bridge_cfg` makes the default
/// bridge's config when it is the mode.
pub fn resolve(
    store: &Store,
    network: Option<&str>,
    networks: &[NetworkRequest],
    add_hosts: &[String],
    dns: &[String],
    dns_search: &[String],
    bridge_cfg: &dyn Fn() -> Result<NetConfig>,
) -> Result<Resolved> {
    let mut r = Resolved::default();
    let mut requested: Vec<NetworkRequest> = Vec::new();
    match network.map(target).transpose()? {
        None if networks.is_empty() => r.mode = Some(NetMode::Bridge),
        None => r.mode = Some(NetMode::User),
        Some(Target::Builtin(m)) => {
            if !networks.is_empty() {
                return Err(invalid(format!("conflicting options: cannot attach both user-defined and non-user-defined network-modes ({})", network.unwrap_or_default())));
            }
            r.mode = Some(m);
        }
        Some(Target::Container(other)) => {
            if !networks.is_empty() {
                return Err(invalid("conflicting options: container type network can't be used with other networks"));
            }
            let rec = store.resolve_container(other)?;
            r.mode = Some(NetMode::Container);
            r.net_container = Some(rec.id);
        }
        Some(Target::User(name)) => {
            r.mode = Some(NetMode::User);
            if !networks.iter().any(|n| n.name == name) {
                requested.push(NetworkRequest { name: name.to_string(), aliases: Vec::new(), ip: None });
            }
        }
    }
    requested.extend(networks.iter().cloned());
    for (i, req) in requested.iter().enumerate() {
        if requested[..i].iter().any(|o| o.name == req.name) {
            return Err(invalid(format!("network {} given twice", req.name)));
        }
        if crate::net::usernet::RESERVED.contains(&req.name.as_str()) {
            return Err(invalid(format!("network {} cannot be combined with user networks", req.name)));
        }
        let rec = crate::networks::get(store, &req.name).map_err(|_| invalid(format!("network {} not found", req.name)))?;
        let cfg = rec.config()?;
        if let Some(ip) = req.ip {
            if !cfg.subnet.contains(ip) || ip == cfg.gateway || ip == cfg.subnet.network() || ip == cfg.subnet.broadcast() {
                return Err(invalid(format!("invalid IP {ip}: not a host address of network {} ({})", rec.name, cfg.subnet)));
            }
        }
        if let Some(a) = req.aliases.iter().find(|a| !crate::net::files::valid_hostname(a)) {
            return Err(invalid(format!("invalid network alias {a:?}")));
        }
        if i == 0 {
            r.net_config = Some(cfg);
        }
    }
    r.networks = requested;
    if r.mode == Some(NetMode::Bridge) {
        r.net_config = Some(bridge_cfg()?);
    }
    let gateway = r.net_config.as_ref().map(|c| c.gateway);
    r.add_hosts = add_hosts.iter().map(|h| add_host(h, gateway)).collect::<Result<_>>()?;
    r.dns = dns.iter().map(|d| d.parse().map_err(|_| invalid(format!("{d} is not an IPv4 address (--dns)")))).collect::<Result<_>>()?;
    for d in dns_search {
        if d != "." && !crate::net::files::valid_hostname(d) {
            return Err(invalid(format!("invalid --dns-search domain {d:?}")));
        }
    }
    r.dns_search = dns_search.iter().filter(|d| *d != ".").cloned().collect();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn targets() {
        assert_eq!(target("bridge").unwrap(), Target::Builtin(NetMode::Bridge));
        assert_eq!(target("host").unwrap(), Target::Builtin(NetMode::Host));
        assert_eq!(target("container:web").unwrap(), Target::Container("web"));
        assert_eq!(target("my-net").unwrap(), Target::User("my-net"));
        assert!(target("container:").is_err());
        assert!(target("bad name").is_err());
    }
    #[test]
    fn add_hosts() {
        assert_eq!(add_host("db:10.1.2.3", None).unwrap(), ("db".to_string(), "10.1.2.3".parse().unwrap()));
        assert_eq!(add_host("gw:host-gateway", Some("10.89.0.1".parse().unwrap())).unwrap().1, "10.89.0.1".parse::<Ipv4Addr>().unwrap());
        assert!(add_host("gw:host-gateway", None).is_err());
        assert!(add_host("nocolon", None).is_err());
        assert!(add_host("a b:1.2.3.4", None).is_err());
        assert!(add_host("x:999.1.1.1", None).is_err());
    }
}
