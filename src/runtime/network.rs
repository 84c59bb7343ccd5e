//! Where the runtime meets networking (`crate::net`). The shim
//! (`monitor::shim`) calls `etc_files` before the clone, `setup` with the
//! paused child's pid and the live neighbours it found, and
//! `release` after the container exited; `rm`, `prune` and `start` call
//! `teardown` for a container whose monitor died (`container::reclaim`). The NetState lives in state.json (`net`).
use super::RuntimeError;
use crate::net::{self, NetConfig, NetMode, NetState};
use crate::state::containers::ContainerRecord;
use crate::state::Store;

fn config_of(c: &ContainerRecord) -> Result<NetConfig, RuntimeError> {
    match &c.net_config {
        Some(cfg) => Ok(cfg.clone()),
        None => NetConfig::from_env().map_err(|e| RuntimeError::Setup(e.to_string())),
    }
}

/// Extra /etc files (path, content) bind-mounted into the container:
/// resolv.conf (on a user network: its gateway, where the DNS responder
/// answers; `--dns`/`--dns-search` on the others), /etc/hosts when
/// `--add-host` gives lines and no network setup writes it; with
/// `--network container:X`, X's files.
pub fn etc_files(store: &Store, c: &ContainerRecord) -> Result<Vec<(String, String)>, RuntimeError> {
    if c.network == NetMode::Container {
        let Some(other) = &c.net_container else { return Ok(Vec::new()) };
        let dir = store.container_dir(other);
        let mut v = Vec::new();
        for f in ["resolv.conf", "hosts"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(f)) {
                v.push((format!("/etc/{f}"), text));
            }
        }
        return Ok(v);
    }
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let search = (!c.dns_search.is_empty()).then_some(c.dns_search.as_slice());
    let resolv = match c.network {
        NetMode::Host if c.dns.is_empty() && c.dns_search.is_empty() => host,
        NetMode::User => {
            let gw = config_of(c)?.gateway;
            net::files::resolv_with(&host, Some(&[gw.to_string()]), search)
        }
        _ => {
            let dns: Vec<String> = c.dns.iter().map(|d| d.to_string()).collect();
            net::files::resolv_with(&net::files::resolv_conf(&host), (!dns.is_empty()).then_some(dns.as_slice()), search)
        }
    };
    let mut v = vec![("/etc/resolv.conf".into(), resolv)];
    if !c.add_hosts.is_empty() && !matches!(c.network, NetMode::Bridge | NetMode::User) {
        v.push(("/etc/hosts".into(), net::files::hosts(None, &c.hostname, &add_host_lines(c))));
    }
    Ok(v)
}

/// `--add-host` entries as /etc/hosts wants them.
fn add_host_lines(c: &ContainerRecord) -> Vec<(std::net::Ipv4Addr, String)> {
    c.add_hosts.iter().map(|(n, ip)| (*ip, n.clone())).collect()
}

/// What networking needs to know about the other containers on the
/// store (the caller reads their live state: `monitor::network_peers`).
pub trait Peers {
    /// Whether the holder of a lease (a container of this store or of
    /// another state root on the same bridge) runs: its leases and rules
    /// are in use.
    fn is_alive(&self, holder: &net::ipam::Holder) -> bool;
    /// Other running containers on `bridge`: (address, name) pairs, for
    /// /etc/hosts.
    fn neighbours(&self, bridge: &str) -> Vec<(std::net::Ipv4Addr, String)>;
}

/// Sets up the container's network; for `bridge`: a veth, an address,
/// published ports, and /etc/hosts with the address and its neighbours.
pub fn setup(store: &Store, c: &ContainerRecord, pid: i32, peers: &dyn Peers) -> Result<Option<NetState>, RuntimeError> {
    if c.network == NetMode::User {
        return super::usernet::setup(store, c, pid, &|h: &net::ipam::Holder| peers.is_alive(h)).map(Some);
    }
    if c.network != NetMode::Bridge {
        return Ok(None); // host: the host's stack; none: init brings lo up
    }
    let cfg = config_of(c)?;
    let mut specs = Vec::new();
    for p in &c.ports {
        specs.push(net::ports::parse(p).map_err(|e| RuntimeError::Setup(e.to_string()))?);
    }
    let is_alive = |h: &net::ipam::Holder| peers.is_alive(h);
    // a container started again soon after it exited: the kernel may not
    // have removed the old host veth with the old namespace yet
    let stale = net::veth::host_veth_name(&c.id);
    if std::path::Path::new("/sys/class/net").join(&stale).exists() {
        let _ = net::veth::detach(&stale);
    }
    let st = net::setup(store.root(), &cfg, &c.id, pid as u32, NetMode::Bridge, &specs, &is_alive)
        .map_err(|e| RuntimeError::Setup(e.to_string()))?;
    let mut st = st;
    if let Err(e) = super::usernet::attach_connected(store, c, pid, &mut st, &is_alive) {
        let _ = net::teardown(store.root(), &cfg, &st);
        return Err(e);
    }
    let mut known = peers.neighbours(&cfg.bridge);
    known.extend(add_host_lines(c));
    let hosts = net::files::hosts(st.ip, &c.hostname, &known);
    let path = store.container_dir(&c.id).join("hosts");
    if let Err(e) = std::fs::write(&path, hosts) {
        release_state(store, &cfg, &st);
        return Err(RuntimeError::Setup(format!("{}: {e}", path.display())));
    }
    Ok(Some(st))
}

/// After the container exited: proxies, rules and the address go. The
/// veth went with the container's network namespace, so it is not
/// deleted by hand (that costs the kernel 10-25 ms).
pub fn release(store: &Store, c: &ContainerRecord, net: Option<&NetState>) {
    if c.network == NetMode::User || !c.networks.is_empty() {
        super::usernet::withdraw(store, c);
    }
    let (Some(st), Ok(cfg)) = (net, config_of(c)) else { return };
    release_state(store, &cfg, st);
}

fn release_state(store: &Store, cfg: &NetConfig, st: &NetState) {
    for l in &st.attachments {
        let _ = net::detach_extra(store.root(), &st.container_id, l, false);
    }
    for pid in &st.proxy_pids {
        let _ = net::ports::kill_proxy(*pid);
    }
    if !st.ports.is_empty() {
        let _ = net::ports::remove_rules_for(&st.container_id);
    }
    if let Some(ip) = st.ip {
        let mut cfg = cfg.clone();
        if let Some(b) = &st.bridge {
            cfg.bridge = b.clone();
        }
        let _ = net::ipam::release(net::ipam::host_base(), &cfg, ip, &net::ipam::Holder::new(store.root(), &st.container_id));
    }
}

/// Everything `setup` took, also the veth and what it took but never
/// recorded: for a container whose monitor died (`rm`, `prune`, and
/// `start` again). Idempotent; cheap when nothing is left.
pub fn teardown(store: &Store, c: &ContainerRecord, net: Option<&NetState>) {
    if c.network == NetMode::User || !c.networks.is_empty() {
        super::usernet::teardown_unrecorded(store, c);
    }
    if !matches!(c.network, NetMode::Bridge | NetMode::User) {
        return;
    }
    let Ok(cfg) = config_of(c) else { return };
    if let Err(e) = net::reclaim(store.root(), &cfg, &c.id, net, !c.ports.is_empty()) {
        eprintln!("bocker: network teardown of {}: {e}", c.id);
    }
}

pub fn hidden_entry(args: &[String]) -> Option<u8> {
    if args.get(1).map(String::as_str) == Some(net::dns::ENTRY_ARG) {
        return Some(net::dns::main(&args[2..]));
    }
    if args.get(1).map(String::as_str) == Some(net::ports::PROXY_ARG) {
        net::ports::proxy_main(&args[2..]);
    }
    None
}
