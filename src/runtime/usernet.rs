//! A container on user networks (`--network NAME`, `network connect`):
//! one veth per network (eth0 the first: address, published ports; the
//! default route via the first network that is not internal), /etc/hosts,
//! and its name record for the DNS responder (`net::names`), published
//! whenever its links change and withdrawn when they go.
use super::RuntimeError;
use crate::net::names::{NameRecord, NamedAttachment};
use crate::net::{self, LinkState, NetConfig, NetState};
use crate::networks::NetworkRecord;
use crate::state::containers::{ContainerRecord, NetworkRequest};
use crate::state::Store;
use std::net::Ipv4Addr;

fn setup_err(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Setup(e.to_string())
}

/// The records of the container's networks, in its order.
fn resolve(store: &Store, c: &ContainerRecord) -> Result<Vec<(NetworkRequest, NetworkRecord, NetConfig)>, RuntimeError> {
    c.networks
        .iter()
        .map(|req| {
            let rec = crate::networks::get(store, &req.name).map_err(|e| setup_err(format!("network {}: {e}", req.name)))?;
            let cfg = rec.config().map_err(setup_err)?;
            Ok((req.clone(), rec, cfg))
        })
        .collect()
}

/// Sets the links up, writes /etc/hosts, publishes the names. Undone on error.
pub fn setup(store: &Store, c: &ContainerRecord, pid: i32, is_alive: &dyn Fn(&net::ipam::Holder) -> bool) -> Result<NetState, RuntimeError> {
    let nets = resolve(store, c)?;
    let Some(((first_req, first, cfg0), rest)) = nets.split_first() else {
        return Err(setup_err("no user network to attach to"));
    };
    let mut specs = Vec::new();
    for p in &c.ports {
        specs.push(net::ports::parse(p).map_err(setup_err)?);
    }
    // the default route: via the first network that is not internal
    let routed = nets.iter().position(|(_, r, _)| !r.internal);
    let stale = net::veth::host_veth_name(&c.id);
    if std::path::Path::new("/sys/class/net").join(&stale).exists() {
        let _ = net::veth::detach(&stale);
    }
    let route0 = (routed == Some(0)).then_some(cfg0.gateway);
    let mut st = net::setup_primary(store.root(), cfg0, &c.id, pid as u32, &specs, first_req.ip, route0, is_alive, &net::ProxyLauncher::default(), &first.name)
        .map_err(setup_err)?;
    let routes: Vec<bool> = (1..nets.len()).map(|k| routed == Some(k)).collect();
    if let Err(e) = attach_all(store, c, pid, &mut st, rest, &routes, is_alive) {
        let _ = net::teardown(store.root(), cfg0, &st);
        return Err(e);
    }
    let extra: Vec<(Ipv4Addr, String)> = c.add_hosts.iter().map(|(n, ip)| (*ip, n.clone())).collect();
    let hosts = net::files::hosts(st.ip, &c.hostname, &extra);
    let path = store.container_dir(&c.id).join("hosts");
    if let Err(e) = std::fs::write(&path, hosts) {
        let _ = net::teardown(store.root(), cfg0, &st);
        return Err(setup_err(format!("{}: {e}", path.display())));
    }
    publish(store, c, &st);
    Ok(st)
}

/// Links `nets` as eth1, eth2, ... (`routes[k]`: the default route goes
/// through that one), recorded in `st` as they come.
fn attach_all(
    store: &Store,
    c: &ContainerRecord,
    pid: i32,
    st: &mut NetState,
    nets: &[(NetworkRequest, NetworkRecord, NetConfig)],
    routes: &[bool],
    is_alive: &dyn Fn(&net::ipam::Holder) -> bool,
) -> Result<(), RuntimeError> {
    for (k, (req, rec, cfg)) in nets.iter().enumerate() {
        let route = routes.get(k).copied().unwrap_or(false).then_some(cfg.gateway);
        let l = net::attach_extra(store.root(), cfg, &rec.name, &c.id, pid as u32, &format!("eth{}", k + 1), req.ip, route, is_alive).map_err(setup_err)?;
        st.attachments.push(l);
    }
    Ok(())
}

/// A container on the default bridge that was connected to user networks
/// while created: those links, after its eth0 (no default route through
/// them), and its names. Undone by the caller's teardown on error.
pub fn attach_connected(store: &Store, c: &ContainerRecord, pid: i32, st: &mut NetState, is_alive: &dyn Fn(&net::ipam::Holder) -> bool) -> Result<(), RuntimeError> {
    if c.networks.is_empty() {
        return Ok(());
    }
    let nets = resolve(store, c)?;
    attach_all(store, c, pid, st, &nets, &[], is_alive)?;
    publish(store, c, st);
    Ok(())
}

/// The names a container answers to on `network`: its name, its id and
/// the id's hex part (`ps_1a2b…` → `1a2b…`, what `hostname` shows when
/// none was given), and its aliases there.
pub fn names_on(c: &ContainerRecord, network: &str) -> Vec<String> {
    let mut v: Vec<String> = c.name.iter().cloned().collect();
    v.push(c.id.clone());
    if let Some((_, hex)) = c.id.split_once('_') {
        v.push(hex.to_string());
    }
    if let Some(req) = c.networks.iter().find(|n| n.name == network) {
        v.extend(req.aliases.iter().cloned());
    }
    v.dedup();
    v
}

/// The container's name record as its links are now.
pub fn record_of(store: &Store, c: &ContainerRecord, st: &NetState) -> NameRecord {
    NameRecord {
        container: c.id.clone(),
        root: store.root().to_path_buf(),
        attachments: st
            .user_links()
            .into_iter()
            .map(|(network, bridge, gateway, ip)| NamedAttachment { names: names_on(c, &network), network, bridge, gateway, ip })
            .collect(),
        upstreams: c.dns.clone(),
    }
}

/// Publishes the record and makes sure the responder runs. A failure is
/// reported, not fatal: the container runs, unnamed.
pub fn publish(store: &Store, c: &ContainerRecord, st: &NetState) {
    let rec = record_of(store, c, st);
    if rec.attachments.is_empty() {
        return withdraw(store, c);
    }
    if let Err(e) = net::names::publish(&rec).and_then(|()| net::dns::ensure()) {
        eprintln!("bocker: names of {}: {e}", c.id);
    }
}

pub fn withdraw(store: &Store, c: &ContainerRecord) {
    if let Err(e) = net::names::withdraw(store.root(), &c.id) {
        eprintln!("bocker: names of {}: {e}", c.id);
    }
}

/// For a container whose monitor died: its name record, and leases on
/// any of its networks that no state recorded.
pub fn teardown_unrecorded(store: &Store, c: &ContainerRecord) {
    withdraw(store, c);
    let holder = net::ipam::Holder::new(store.root(), &c.id);
    for req in &c.networks {
        let Ok(cfg) = crate::networks::get(store, &req.name).and_then(|r| r.config()) else { continue };
        let _ = net::ipam::release_all_of(net::ipam::host_base(), &cfg, &holder);
        let host = net::veth::extra_veth_name(&c.id, &req.name);
        if std::path::Path::new("/sys/class/net").join(&host).exists() {
            let _ = net::veth::detach(&host);
        }
    }
}

/// `network connect` of a running container (mode user): one more link,
/// named eth(N). Returns the new state.
pub fn connect_running(store: &Store, c: &ContainerRecord, pid: i32, mut st: NetState, req: &NetworkRequest, is_alive: &dyn Fn(&net::ipam::Holder) -> bool) -> Result<NetState, RuntimeError> {
    let rec = crate::networks::get(store, &req.name).map_err(setup_err)?;
    let cfg = rec.config().map_err(setup_err)?;
    let used: Vec<String> = std::iter::once("eth0".to_string()).chain(st.attachments.iter().map(|l| l.ifname.clone())).collect();
    let ifname = (1..).map(|k| format!("eth{k}")).find(|n| !used.contains(n)).expect("a free name");
    let l: LinkState = net::attach_extra(store.root(), &cfg, &rec.name, &c.id, pid as u32, &ifname, req.ip, None, is_alive).map_err(setup_err)?;
    st.attachments.push(l);
    publish(store, c, &st);
    Ok(st)
}

/// `network disconnect` of a running container: the link goes (not the
/// first one: eth0 carries the address and ports of the container).
pub fn disconnect_running(store: &Store, c: &ContainerRecord, mut st: NetState, network: &str) -> Result<NetState, RuntimeError> {
    if st.network.as_deref() == Some(network) {
        return Err(setup_err(format!("cannot disconnect {} from its first network {network} while it runs", c.id)));
    }
    let Some(i) = st.attachments.iter().position(|l| l.network == network) else {
        return Err(setup_err(format!("container {} is not connected to network {network}", c.id)));
    };
    let l = st.attachments.remove(i);
    net::detach_extra(store.root(), &c.id, &l, true).map_err(setup_err)?;
    publish(store, c, &st);
    Ok(st)
}
