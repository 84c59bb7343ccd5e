//! Network configuration: bridge name and IPv4 subnet, from the environment.

use super::error::{NetError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Default bridge name (`BOCKER_BRIDGE`).
pub const DEFAULT_BRIDGE: &str = "bridge0";
/// Default subnet (`BOCKER_SUBNET`).
pub const DEFAULT_SUBNET: &str = "10.0.0.0/24";

/// An IPv4 network: address + prefix length. The address is normalised to the
/// network address by [`Ipv4Net::new`] / parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    /// Builds a network; host bits of `addr` are cleared. Prefix must be <= 32.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(NetError::Config(format!("prefix /{prefix} is larger than 32")));
        }
        let net = u32::from(addr) & mask(prefix);
        Ok(Ipv4Net { addr: Ipv4Addr::from(net), prefix })
    }
    /// Netmask as u32.
    pub fn mask(&self) -> u32 {
        mask(self.prefix)
    }
    /// Network address.
    pub fn network(&self) -> Ipv4Addr {
        self.addr
    }
    /// Broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
    /// Whether `ip` lies inside the network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr)
    }
    /// First and last usable host address (network and broadcast excluded),
    /// `None` for /31 and /32 which have no room for a gateway plus a host.
    pub fn hosts(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        if self.prefix > 30 {
            return None;
        }
        let first = u32::from(self.addr) + 1;
        let last = u32::from(self.broadcast()) - 1;
        Some((Ipv4Addr::from(first), Ipv4Addr::from(last)))
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

impl FromStr for Ipv4Net {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| NetError::Config(format!("bad CIDR {s:?}: {why} (expected like 10.0.0.0/24)"));
        let (a, p) = s.trim().split_once('/').ok_or_else(|| bad("missing /PREFIX"))?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = p.parse().map_err(|_| bad("prefix is not a number 0-32"))?;
        if prefix > 32 {
            return Err(bad("prefix is larger than 32"));
        }
        Ipv4Net::new(addr, prefix)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// What a bridge network looks like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Linux bridge interface name (<= 15 bytes).
    pub bridge: String,
    /// Subnet of the containers; at most /30.
    pub subnet: Ipv4Net,
    /// The bridge's own address: first host address of the subnet.
    pub gateway: Ipv4Addr,
    /// Whether containers may reach networks beyond the host (forward out of
    /// the bridge to other interfaces + MASQUERADE). When false, the bridge is
    /// isolated: FORWARD DROP rules are inserted for traffic from the bridge to
    /// any other interface and from any other interface to the bridge. Env
    /// `BOCKER_NET_EGRESS=0` turns it off. Tests always use `false`.
    pub egress: bool,
    /// A user network (`bocker network create`): no forwarding to or from
    /// any other user network's bridge (`bk-*`), and its containers may
    /// reach the gateway's port 53 (the DNS responder).
    #[serde(default)]
    pub isolated: bool,
}

impl NetConfig {
    /// Validates the bridge name and derives the gateway (`.1`).
    pub fn new(bridge: &str, subnet: Ipv4Net, egress: bool) -> Result<Self> {
        validate_ifname(bridge)?;
        let (first, _) = subnet.hosts().ok_or_else(|| {
            NetError::Config(format!("subnet {subnet} is too small: need at least a /30"))
        })?;
        Ok(NetConfig { bridge: bridge.to_string(), subnet, gateway: first, egress, isolated: false })
    }

    /// Parses the three settings as strings (`None` = default).
    pub fn parse(bridge: Option<&str>, subnet: Option<&str>, egress: Option<&str>) -> Result<Self> {
        let bridge = bridge.filter(|s| !s.is_empty()).unwrap_or(DEFAULT_BRIDGE);
        let subnet: Ipv4Net = subnet.filter(|s| !s.is_empty()).unwrap_or(DEFAULT_SUBNET).parse()?;
        let egress = match egress.map(str::trim) {
            None | Some("") | Some("1") | Some("true") | Some("yes") => true,
            Some("0") | Some("false") | Some("no") => false,
            Some(other) => {
                return Err(NetError::Config(format!("BOCKER_NET_EGRESS={other:?}: expected 0 or 1")))
            }
        };
        NetConfig::new(bridge, subnet, egress)
    }

    /// From `BOCKER_BRIDGE`, `BOCKER_SUBNET`, `BOCKER_NET_EGRESS`.
    pub fn from_env() -> Result<Self> {
        let b = std::env::var("BOCKER_BRIDGE").ok();
        let s = std::env::var("BOCKER_SUBNET").ok();
        let e = std::env::var("BOCKER_NET_EGRESS").ok();
        NetConfig::parse(b.as_deref(), s.as_deref(), e.as_deref())
    }
}

/// Checks a Linux interface name: 1..=15 bytes, no '/', ':', whitespace.
pub fn validate_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if ok {
        Ok(())
    } else {
        Err(NetError::Config(format!(
            "bad interface name {name:?}: 1-15 printable characters without '/' or ':'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_cidr() {
        let n: Ipv4Net = "10.0.0.0/24".parse().unwrap();
        assert_eq!(n.addr, Ipv4Addr::new(10, 0, 0, 0));
        assert_eq!(n.prefix, 24);
        assert_eq!(n.broadcast(), Ipv4Addr::new(10, 0, 0, 255));
        assert_eq!(n.hosts(), Some((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 254))));
        assert_eq!(n.to_string(), "10.0.0.0/24");
        // host bits are cleared
        let n: Ipv4Net = "172.31.5.77/16".parse().unwrap();
        assert_eq!(n.to_string(), "172.31.0.0/16");
        assert!(n.contains(Ipv4Addr::new(172, 31, 200, 1)));
        assert!(!n.contains(Ipv4Addr::new(172, 32, 0, 1)));
    }

    #[test]
    fn bad_cidr_is_clear() {
        for bad in ["10.0.0.0", "10.0.0/24", "10.0.0.0/33", "10.0.0.0/x", "", "/24"] {
            let e = bad.parse::<Ipv4Net>().unwrap_err().to_string();
            assert!(e.contains("bad CIDR"), "{bad}: {e}");
        }
    }

    #[test]
    fn config_defaults_and_gateway() {
        let c = NetConfig::parse(None, None, None).unwrap();
        assert_eq!(c.bridge, "bridge0");
        assert_eq!(c.gateway, Ipv4Addr::new(10, 0, 0, 1));
        assert!(c.egress);
        let c = NetConfig::parse(Some("br9"), Some("172.31.9.0/30"), Some("0")).unwrap();
        assert_eq!(c.gateway, Ipv4Addr::new(172, 31, 9, 1));
        assert!(!c.egress);
    }

    #[test]
    fn config_rejects() {
        assert!(NetConfig::parse(None, Some("10.0.0.0/31"), None).is_err());
        assert!(NetConfig::parse(Some("a-very-long-bridge-name"), None, None).is_err());
        assert!(NetConfig::parse(Some("a/b"), None, None).is_err());
        assert!(NetConfig::parse(None, None, Some("maybe")).is_err());
    }

    #[test]
    fn mask_edges() {
        assert_eq!(Ipv4Net::new(Ipv4Addr::new(1, 2, 3, 4), 0).unwrap().mask(), 0);
        assert_eq!(Ipv4Net::new(Ipv4Addr::new(1, 2, 3, 4), 32).unwrap().mask(), u32::MAX);
        assert!(Ipv4Net::new(Ipv4Addr::new(1, 2, 3, 4), 33).is_err());
    }
}
