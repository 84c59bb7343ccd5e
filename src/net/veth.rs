//! A container's link to the bridge: a veth pair, host end on the bridge,
//! peer inside the container's netns as `eth0`.
//!
//! The pair is created in a single RTM_NEWLINK: host end named
//! [`host_veth_name`], enslaved to the bridge and up; the peer is created
//! directly inside the container netns (IFLA_NET_NS_FD) already named `eth0`,
//! with its MAC — no move, no rename. The rest (address, `lo` up,
//! default route) is done over a netlink socket opened on a thread that
//! joined the container's netns.

use super::config::NetConfig;
use super::error::{NetError, Result};
use super::nl;
use rtnetlink::packet_route::link::{InfoData, InfoVeth};
use rtnetlink::{LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

/// Name of the interface inside the container.
pub const CONTAINER_IFNAME: &str = "eth0";

/// Host-side veth name: `vb` + 12 hex digits of the FNV-1a 64-bit hash of the
/// full container id (14 chars, under the kernel's 15). 48 bits of hash make a
/// collision between live containers vanishingly unlikely (~1e-7 with 10k
/// containers), and a collision fails loudly (EEXIST) instead of mixing up
/// containers. Hashing (rather than taking a suffix) also copes with ids
/// that share a suffix or contain characters not allowed in interface names.
pub fn host_veth_name(container_id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in container_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("vb{:012x}", h >> 16)
}

/// Locally administered unicast MAC derived from the address, like Docker:
/// `02:42:` + the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// `aa:bb:cc:dd:ee:ff` text form.
pub fn mac_string(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// What `attach` created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub host_veth: String,
    pub ip: Ipv4Addr,
    pub mac: String,
}

/// Connects the netns of `pid` to `cfg`'s bridge with address `ip`, as
/// `eth0` with the default route via the gateway.
pub fn attach(cfg: &NetConfig, container_id: &str, pid: u32, ip: Ipv4Addr) -> Result<Attachment> {
    attach_link(cfg, &host_veth_name(container_id), CONTAINER_IFNAME, pid, ip, Some(cfg.gateway))
}

/// Host-side veth name of a container's link to a user network other than
/// its first one (`host_veth_name` of `ID@NETWORK`).
pub fn extra_veth_name(container_id: &str, network: &str) -> String {
    host_veth_name(&format!("{container_id}@{network}"))
}

/// Connects the netns of `pid` to `cfg`'s bridge: host end `host`, peer
/// `ifname` inside with address `ip`, and a default route via `route` if
/// given. On failure the host end is deleted again (which removes the
/// peer too).
pub fn attach_link(cfg: &NetConfig, host: &str, ifname: &str, pid: u32, ip: Ipv4Addr, route: Option<Ipv4Addr>) -> Result<Attachment> {
    if !cfg.subnet.contains(ip) || ip == cfg.gateway {
        return Err(NetError::Config(format!("{ip} is not a host address of {}", cfg.subnet)));
    }
    let host = host.to_string();
    let ifname = ifname.to_string();
    let mac = mac_for(ip);
    let ns = nl::open_netns(pid)?;
    let (bridge, host2, peer_name) = (cfg.bridge.clone(), host.clone(), ifname.clone());
    let nsfd = ns.as_raw_fd();
    nl::run(move |h| async move {
        let br = nl::link_by_name(&h, &bridge)
            .await?
            .ok_or_else(|| NetError::Config(format!("bridge {bridge} does not exist")))?;
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer_name.clone())
            .address(mac.to_vec())
            .setns_by_fd(nsfd)
            .build(); // no .up() here: the kernel answers ENOTCONN; set up inside

        let msg = LinkVeth::new(&host2, &peer_name)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .controller(br.header.index)
            .up()
            .build();
        h.link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| NetError::nl(format!("creating veth {host2} (peer {peer_name} in pid {pid}'s netns)"), e))
    })?;
    let prefix = cfg.subnet.prefix;
    let inside = nl::run_in_netns(&ns, move |h| async move {
        let eth = nl::link_by_name(&h, &ifname)
            .await?
            .ok_or_else(|| NetError::Config(format!("{ifname} missing in container netns")))?;
        h.address()
            .add(eth.header.index, IpAddr::V4(ip), prefix)
            .execute()
            .await
            .map_err(|e| NetError::nl(format!("adding {ip}/{prefix} to {ifname}"), e))?;
        if !nl::is_up(&eth) {
            nl::set_up(&h, eth.header.index, &ifname).await?;
        }
        lo_up(&h).await?;
        match route {
            Some(gw) => h
                .route()
                .add(RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).build())
                .execute()
                .await
                .map_err(|e| NetError::nl(format!("adding default route via {gw}"), e)),
            None => Ok(()),
        }
    });
    if let Err(e) = inside {
        let _ = detach(&host);
        return Err(e);
    }
    Ok(Attachment { host_veth: host, ip, mac: mac_string(&mac) })
}

async fn lo_up(h: &rtnetlink::Handle) -> Result<()> {
    let lo = nl::link_by_name(h, "lo")
        .await?
        .ok_or_else(|| NetError::Config("lo missing in container netns".into()))?;
    if !nl::is_up(&lo) {
        nl::set_up(h, lo.header.index, "lo").await?;
    }
    Ok(())
}

/// Deletes the host end (the peer goes with it). Missing is fine.
pub fn detach(host_veth: &str) -> Result<()> {
    let name = host_veth.to_string();
    nl::run(|h| async move { nl::delete_link(&h, &name).await.map(|_| ()) })
}

/// Only brings `lo` up inside the netns of `pid` (`--network none`).
pub fn loopback_up(pid: u32) -> Result<()> {
    let ns = nl::open_netns(pid)?;
    nl::run_in_netns(&ns, |h| async move { lo_up(&h).await })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names_and_macs() {
        let n = host_veth_name("4f1c2d3e4b5a69788796a5b4c3d2e1f0");
        assert_eq!(n.len(), 14);
        assert!(n.starts_with("vb"));
        assert_ne!(host_veth_name("a"), host_veth_name("b"));
        assert_eq!(host_veth_name("x/y z"), host_veth_name("x/y z"));
        crate::net::config::validate_ifname(&host_veth_name("x/y z")).unwrap();
        let m = mac_for(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(mac_string(&m), "02:42:0a:00:00:02");
        assert_eq!(m[0] & 1, 0, "unicast");
        assert_eq!(m[0] & 2, 2, "locally administered");
    }
}
