//! Container networking: bridge, veth pairs, address allocation, NAT and
//! published ports. Pure library; the caller (the shim that holds the paused
//! container child) calls [`setup`] with the child's pid and stores the
//! returned [`NetState`] in the container record; [`teardown`] undoes it
//! (idempotent; any piece may already be gone).
//!
//! Files: `config` (env, CIDR), `ipam` (leases), `bridge` (bridge + host
//! rules), `veth` (per-container link), `ports` (-p, DNAT, proxy),
//! `files` (resolv.conf/hosts/hostname), `iptables`, `nl` (netlink plumbing).

pub mod bridge;
pub mod config;
pub mod dns;
pub mod error;
pub mod files;
pub mod ipam;
pub mod iptables;
pub mod names;
pub mod usernet;
pub mod nl;
pub mod ports;
pub mod ruleset_gen;
pub mod veth;

pub use config::{Ipv4Net, NetConfig};
pub use error::{NetError, Result};
pub use ports::{PortMapping, PortSpec, Proto, ProxyLauncher};

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::str::FromStr;

/// `--network` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    /// veth on the bridge, address from the pool, NAT, published ports.
    Bridge,
    /// own netns with `lo` only.
    None,
    /// the host's netns (the caller does not unshare CLONE_NEWNET).
    Host,
    /// user networks (`bocker network create`): one veth per network, the
    /// first one like the bridge's (address, published ports, default route)
    User,
    /// another container's netns (`--network container:X`)
    Container,
}

impl FromStr for NetMode {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bridge" | "default" => Ok(NetMode::Bridge),
            "none" => Ok(NetMode::None),
            "host" => Ok(NetMode::Host),
            _ => Err(NetError::Config(format!("unknown network mode {s:?} (bridge, none, host)"))),
        }
    }
}

/// Everything [`teardown`] needs; serde so it can live in the container record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetState {
    pub container_id: String,
    pub mode: NetMode,
    #[serde(default)]
    pub bridge: Option<String>,
    #[serde(default)]
    pub ip: Option<Ipv4Addr>,
    #[serde(default)]
    pub prefix: Option<u8>,
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub host_veth: Option<String>,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    #[serde(default)]
    pub proxy_pids: Vec<u32>,
    /// user networks: the first network's name (the fields above are its link)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// user networks after the first (eth1, ...), also those connected later
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<LinkState>,
}

/// A container's link to a user network other than its first one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkState {
    pub network: String,
    pub bridge: String,
    /// the interface inside (eth1, ...)
    pub ifname: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub host_veth: String,
    pub mac: String,
}

impl NetState {
    /// Every user network the container is on: (network, bridge, gateway, address).
    pub fn user_links(&self) -> Vec<(String, String, Ipv4Addr, Ipv4Addr)> {
        let mut v = Vec::new();
        if let (Some(n), Some(b), Some(g), Some(ip)) = (&self.network, &self.bridge, self.gateway, self.ip) {
            v.push((n.clone(), b.clone(), g, ip));
        }
        v.extend(self.attachments.iter().map(|l| (l.network.clone(), l.bridge.clone(), l.gateway, l.ip)));
        v
    }

    fn empty(container_id: &str, mode: NetMode) -> Self {
        NetState {
            container_id: container_id.to_string(),
            mode,
            bridge: None,
            ip: None,
            prefix: None,
            gateway: None,
            mac: None,
            host_veth: None,
            ports: vec![],
            proxy_pids: vec![],
            network: None,
            attachments: vec![],
        }
    }
}


/// [`setup_with`] using the default proxy launcher (`/proc/self/exe __proxy`).
pub fn setup(
    root: &Path,
    cfg: &NetConfig,
    container_id: &str,
    pid: u32,
    mode: NetMode,
    ports: &[PortSpec],
    is_alive: &dyn Fn(&ipam::Holder) -> bool,
) -> Result<NetState> {
    setup_with(root, cfg, container_id, pid, mode, ports, is_alive, &ProxyLauncher::default())
}

/// Sets up networking for the container whose (paused) init is `pid`.
/// On error everything done so far is undone.
#[allow(clippy::too_many_arguments)]
pub fn setup_with(
    root: &Path,
    cfg: &NetConfig,
    container_id: &str,
    pid: u32,
    mode: NetMode,
    ports: &[PortSpec],
    is_alive: &dyn Fn(&ipam::Holder) -> bool,
    launcher: &ProxyLauncher,
) -> Result<NetState> {
    let mut st = NetState::empty(container_id, mode);
    match mode {
        NetMode::Host | NetMode::None if !ports.is_empty() => {
            Err(NetError::Config(format!("published ports need --network bridge, not {mode:?}").to_lowercase()))
        }
        NetMode::Host | NetMode::Container => Ok(st),
        NetMode::User => setup_primary(root, cfg, container_id, pid, ports, None, Some(cfg.gateway), is_alive, launcher, ""),
        NetMode::None => {
            veth::loopback_up(pid)?;
            Ok(st)
        }
        NetMode::Bridge => {
            // Host ports first: fail before touching anything.
            let reserved = ports.iter().map(ports::reserve).collect::<Result<Vec<_>>>()?;
            bridge::ensure_bridge(cfg)?;
            st.bridge = Some(cfg.bridge.clone());
            match bridge_rest(root, cfg, pid, &mut st, reserved, None, Some(cfg.gateway), is_alive, launcher) {
                Ok(()) => Ok(st),
                Err(e) => {
                    let _ = teardown(root, cfg, &st);
                    Err(e)
                }
            }
        }
    }
}

/// The first user network of a container (mode `User`): as the bridge's
/// setup, with a chosen address (`--ip`) and the default route via
/// `route` (None: an internal network's, no default route).
#[allow(clippy::too_many_arguments)]
pub fn setup_primary(
    root: &Path,
    cfg: &NetConfig,
    container_id: &str,
    pid: u32,
    ports: &[PortSpec],
    want: Option<Ipv4Addr>,
    route: Option<Ipv4Addr>,
    is_alive: &dyn Fn(&ipam::Holder) -> bool,
    launcher: &ProxyLauncher,
    network: &str,
) -> Result<NetState> {
    let mut st = NetState::empty(container_id, NetMode::User);
    st.network = Some(network.to_string());
    let reserved = ports.iter().map(ports::reserve).collect::<Result<Vec<_>>>()?;
    bridge::ensure_bridge(cfg)?;
    st.bridge = Some(cfg.bridge.clone());
    match bridge_rest(root, cfg, pid, &mut st, reserved, want, route, is_alive, launcher) {
        Ok(()) => Ok(st),
        Err(e) => {
            let _ = teardown(root, cfg, &st);
            Err(e)
        }
    }
}

/// Links the netns of `pid` to one more user network (`cfg`) as `ifname`:
/// an address (`want` or a free one), a veth, a default route via `route`
/// if given. Undone on error.
#[allow(clippy::too_many_arguments)]
pub fn attach_extra(
    root: &Path,
    cfg: &NetConfig,
    network: &str,
    container_id: &str,
    pid: u32,
    ifname: &str,
    want: Option<Ipv4Addr>,
    route: Option<Ipv4Addr>,
    is_alive: &dyn Fn(&ipam::Holder) -> bool,
) -> Result<LinkState> {
    bridge::ensure_bridge(cfg)?;
    let holder = ipam::Holder::new(root, container_id);
    let ip = match want {
        Some(ip) => ipam::take(ipam::host_base(), cfg, ip, &holder, is_alive).map(|()| ip)?,
        None => ipam::allocate(ipam::host_base(), cfg, &holder, is_alive)?,
    };
    let host = veth::extra_veth_name(container_id, network);
    if Path::new("/sys/class/net").join(&host).exists() {
        let _ = veth::detach(&host); // a stale one of an earlier run
    }
    match veth::attach_link(cfg, &host, ifname, pid, ip, route) {
        Ok(a) => Ok(LinkState {
            network: network.to_string(),
            bridge: cfg.bridge.clone(),
            ifname: ifname.to_string(),
            ip,
            prefix: cfg.subnet.prefix,
            gateway: cfg.gateway,
            host_veth: a.host_veth,
            mac: a.mac,
        }),
        Err(e) => {
            let _ = ipam::release(ipam::host_base(), cfg, ip, &holder);
            Err(e)
        }
    }
}

/// Undoes [`attach_extra`]: the veth (if `delete_veth`: it went with the
/// netns when the container exited) and the lease. Idempotent.
pub fn detach_extra(root: &Path, container_id: &str, link: &LinkState, delete_veth: bool) -> Result<()> {
    let mut errs = vec![];
    if delete_veth && Path::new("/sys/class/net").join(&link.host_veth).exists() {
        if let Err(e) = veth::detach(&link.host_veth) {
            errs.push(e.to_string());
        }
    }
    let cfg = NetConfig::parse(Some(&link.bridge), None, Some("0"))?;
    if let Err(e) = ipam::release(ipam::host_base(), &cfg, link.ip, &ipam::Holder::new(root, container_id)) {
        errs.push(e.to_string());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NetError::Teardown(errs))
    }
}

#[allow(clippy::too_many_arguments)]
fn bridge_rest(
    root: &Path,
    cfg: &NetConfig,
    pid: u32,
    st: &mut NetState,
    reserved: Vec<(PortMapping, ports::Reserved)>,
    want: Option<Ipv4Addr>,
    route: Option<Ipv4Addr>,
    is_alive: &dyn Fn(&ipam::Holder) -> bool,
    launcher: &ProxyLauncher,
) -> Result<()> {
    let holder = ipam::Holder::new(root, &st.container_id);
    let ip = match want {
        Some(ip) => ipam::take(ipam::host_base(), cfg, ip, &holder, is_alive).map(|()| ip)?,
        None => ipam::allocate(ipam::host_base(), cfg, &holder, is_alive)?,
    };
    st.ip = Some(ip);
    st.prefix = Some(cfg.subnet.prefix);
    st.gateway = Some(cfg.gateway);
    let host = veth::host_veth_name(&st.container_id);
    st.host_veth = Some(host.clone());
    let a = veth::attach_link(cfg, &host, veth::CONTAINER_IFNAME, pid, ip, route)?;
    st.mac = Some(a.mac);
    for (m, sock) in reserved {
        st.ports.push(m.clone());
        ports::add_rules(&st.container_id, ip, &m)?;
        let target = SocketAddr::V4(SocketAddrV4::new(ip, m.container_port));
        let pid = match sock {
            ports::Reserved::Tcp(l) => ports::spawn_proxy(launcher, l, target)?,
            ports::Reserved::Udp(u) => ports::spawn_udp_proxy(launcher, u, target)?,
        };
        st.proxy_pids.push(pid);
    }
    Ok(())
}

/// Undoes [`setup`]: kills proxies, removes the container's rules, deletes the
/// veth, releases the lease. Idempotent; keeps going past failures and
/// reports them all. The bridge itself stays (see [`bridge::remove_bridge`]).
pub fn teardown(root: &Path, cfg: &NetConfig, st: &NetState) -> Result<()> {
    if !matches!(st.mode, NetMode::Bridge | NetMode::User) {
        return Ok(());
    }
    let mut errs = vec![];
    for l in &st.attachments {
        if let Err(e) = detach_extra(root, &st.container_id, l, true) {
            errs.push(e.to_string());
        }
    }
    for pid in &st.proxy_pids {
        if let Err(e) = ports::kill_proxy(*pid) {
            errs.push(e.to_string());
        }
    }
    if let Err(e) = ports::remove_rules_for(&st.container_id) {
        errs.push(e.to_string());
    }
    let host_veth = st.host_veth.clone().unwrap_or_else(|| veth::host_veth_name(&st.container_id));
    if let Err(e) = veth::detach(&host_veth) {
        errs.push(e.to_string());
    }
    if let Some(ip) = st.ip {
        let mut c = cfg.clone();
        if let Some(b) = &st.bridge {
            c.bridge = b.clone();
        }
        if let Err(e) = ipam::release(ipam::host_base(), &c, ip, &ipam::Holder::new(root, &st.container_id)) {
            errs.push(e.to_string());
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NetError::Teardown(errs))
    }
}

/// What a container may still hold after its monitor was killed (-9): the
/// recorded `st` (proxies, rules, veth, lease) and, found by the container
/// id, what was taken but never recorded (the monitor died inside
/// [`setup`]): rules tagged with the id (looked up only when `ports`: one
/// `iptables -S`), the host veth by its name, every lease the id holds.
/// Idempotent, keeps going past failures and reports them all; cheap when
/// nothing is left (a stat and a read_dir).
pub fn reclaim(root: &Path, cfg: &NetConfig, container_id: &str, st: Option<&NetState>, ports: bool) -> Result<()> {
    if st.is_some_and(|s| !matches!(s.mode, NetMode::Bridge | NetMode::User)) {
        return Ok(());
    }
    let mut errs = vec![];
    for l in st.map(|s| s.attachments.as_slice()).unwrap_or_default() {
        if let Err(e) = detach_extra(root, container_id, l, true) {
            errs.push(e.to_string());
        }
    }
    if let Some(st) = st {
        for pid in &st.proxy_pids {
            // a recorded pid may be another container's proxy by now
            if let Err(e) = ports::kill_proxy_of(*pid, st.ip) {
                errs.push(e.to_string());
            }
        }
    }
    if ports || st.is_some_and(|s| !s.ports.is_empty()) {
        if let Err(e) = ports::remove_rules_for(container_id) {
            errs.push(e.to_string());
        }
    }
    let recorded = st.and_then(|s| s.host_veth.clone());
    for name in recorded.into_iter().chain([veth::host_veth_name(container_id)]) {
        if Path::new("/sys/class/net").join(&name).exists() {
            if let Err(e) = veth::detach(&name) {
                errs.push(e.to_string());
            }
        }
    }
    let mut c = cfg.clone();
    if let Some(b) = st.and_then(|s| s.bridge.clone()) {
        c.bridge = b;
    }
    if let Err(e) = ipam::release_all_of(ipam::host_base(), &c, &ipam::Holder::new(root, container_id)) {
        errs.push(e.to_string());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NetError::Teardown(errs))
    }
}

/// `bocker network prune`-style reset of one bridge network: removes the
/// bridge and its rules (see [`bridge::remove_bridge`]) and all leases.
/// Per-container DNAT rules and proxies belong to [`teardown`]; call it for
/// every container first.
pub fn reset(root: &Path, cfg: &NetConfig) -> Result<()> {
    bridge::remove_bridge(cfg)?;
    ipam::remove_all(ipam::host_base(), cfg)?;
    // where a bocker before host-wide leases kept them
    let old = root.join("net").join(&cfg.bridge);
    match std::fs::remove_dir_all(&old) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetError::io(format!("removing {}", old.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn state_roundtrip_and_modes() {
        let mut st = NetState::empty("abc", NetMode::Bridge);
        st.ip = Some(Ipv4Addr::new(10, 0, 0, 2));
        st.ports.push(PortMapping { host_ip: Ipv4Addr::UNSPECIFIED, host_port: 8080, container_port: 80, proto: Proto::Tcp });
        let j = serde_json::to_string(&st).unwrap();
        assert!(j.contains("\"mode\":\"bridge\"") && j.contains("\"proto\":\"tcp\""), "{j}");
        assert_eq!(serde_json::from_str::<NetState>(&j).unwrap(), st);
        assert!(serde_json::from_str::<NetState>(r#"{"container_id":"a","mode":"none","bogus":1}"#).is_err());
        assert_eq!("none".parse::<NetMode>().unwrap(), NetMode::None);
        assert!("weird".parse::<NetMode>().is_err());
        let t = tempfile::tempdir().unwrap();
        let cfg = NetConfig::parse(Some("bt9"), None, Some("0")).unwrap();
        // host mode + ports is refused; teardown of non-bridge is a no-op
        let e = setup(t.path(), &cfg, "x", 1, NetMode::Host, &[ports::parse("80").unwrap()], &|_: &ipam::Holder| true);
        assert!(e.is_err());
        teardown(t.path(), &cfg, &NetState::empty("x", NetMode::None)).unwrap();
    }
}
