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

/// Extra /etc files (path, content) bind-mounted into the container.
pub fn etc_files(_store: &Store, c: &ContainerRecord) -> Result<Vec<(String, String)>, RuntimeError> {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let resolv = if c.network == NetMode::Host { host } else { net::files::resolv_conf(&host) };
    Ok(vec![("/etc/resolv.conf".into(), resolv)])
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
    let hosts = net::files::hosts(st.ip, &c.hostname, &peers.neighbours(&cfg.bridge));
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
    let (Some(st), Ok(cfg)) = (net, config_of(c)) else { return };
    release_state(store, &cfg, st);
}

fn release_state(store: &Store, cfg: &NetConfig, st: &NetState) {
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
    if c.network != NetMode::Bridge {
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
