//! The host-wide side of user networks (`bocker network create`): their
//! names, bridge names, and the choice of a subnet no other network of the
//! host uses. The records themselves live in the state root
//! (`crate::networks`); this module knows what every root has claimed:
//! `/run/bocker/usernets/BRIDGE` (`SUBNET\nROOT\nNAME`), written under
//! `/run/bocker/usernets.lock` before the bridge is made.
use super::bridge::USER_BRIDGE_PREFIX;
use super::config::Ipv4Net;
use super::error::{NetError, Result};
use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Names that are not user networks: `bridge` (the default network),
/// `none`, `host`.
pub const RESERVED: [&str; 3] = ["bridge", "none", "host"];

/// Where subnets are picked from when `--subnet` is not given: its /24s.
pub const POOL: &str = "10.89.0.0/16";

/// Docker's rule for network names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) && name.len() <= 128 && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// The Linux bridge of the network with this id: `bk-` + its first 12 hex
/// digits (15 bytes). Ids are random over the host, so two roots' networks
/// never share a bridge (a clash would be found by `claim`).
pub fn bridge_name(id: &str) -> String {
    format!("{USER_BRIDGE_PREFIX}{}", &id[..12.min(id.len())])
}

/// Whether two networks share an address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    let p = a.prefix.min(b.prefix);
    let m = Ipv4Net::new(a.addr, p).map(|n| n.addr);
    m.is_ok() && m.ok() == Ipv4Net::new(b.addr, p).ok().map(|n| n.addr)
}

/// The first /24 of `pool` that overlaps none of `used`.
pub fn pick_subnet(pool: &Ipv4Net, used: &[Ipv4Net]) -> Option<Ipv4Net> {
    if pool.prefix > 24 {
        return None;
    }
    let count = 1u32 << (24 - pool.prefix);
    (0..count)
        .filter_map(|i| Ipv4Net::new(Ipv4Addr::from(u32::from(pool.addr) + (i << 8)), 24).ok())
        .find(|n| !used.iter().any(|u| overlaps(n, u)))
}

/// One network as the host registry knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub root: PathBuf,
    pub name: String,
}

fn registry() -> PathBuf {
    PathBuf::from("/run/bocker/usernets")
}

/// Every claim on this host (of any state root).
pub fn claims() -> Vec<Claim> {
    let Ok(rd) = fs::read_dir(registry()) else { return Vec::new() };
    rd.flatten()
        .filter_map(|e| {
            let bridge = e.file_name().to_str()?.to_string();
            let text = fs::read_to_string(e.path()).ok()?;
            let mut l = text.lines();
            let subnet = l.next()?.parse().ok()?;
            let root = PathBuf::from(l.next()?);
            let name = l.next()?.to_string();
            Some(Claim { bridge, subnet, root, name })
        })
        .collect()
}

/// Subnets routed on this host (`/proc/net/route`: every interface's
/// connected networks and routes, bocker's bridges included).
pub fn host_routes() -> Vec<Ipv4Net> {
    let text = fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // the file holds them in host (little-endian) byte order
            let (dest, mask) = (u32::from_be(dest.to_le()), u32::from_be(mask.to_le()));
            (mask != 0).then(|| Ipv4Net::new(Ipv4Addr::from(dest), mask.count_ones() as u8).ok()).flatten()
        })
        .collect()
}

/// Host-wide lock around choosing and claiming a subnet.
pub struct RegistryLock(#[allow(dead_code)] fs::File);

pub fn lock() -> Result<RegistryLock> {
    let dir = registry();
    fs::create_dir_all(&dir).map_err(|e| NetError::io(format!("creating {}", dir.display()), e))?;
    let p = dir.with_extension("lock");
    let f = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&p).map_err(|e| NetError::io(format!("opening {}", p.display()), e))?;
    crate::sys::fs::flock(&f, libc::LOCK_EX).map_err(|e| NetError::io(format!("locking {}", p.display()), e))?;
    Ok(RegistryLock(f))
}

/// Under [`lock`]: the subnet for a new network on `bridge`: `want` if
/// it overlaps nothing in use, else the first free /24 of [`POOL`]. In
/// use: every claim of a root that still exists, the host's routes, and
/// `also` (the default bridge's subnet of the caller).
pub fn choose(want: Option<Ipv4Net>, also: &[Ipv4Net]) -> Result<Ipv4Net> {
    let mut used: Vec<Ipv4Net> = claims().into_iter().filter(|c| c.root.exists()).map(|c| c.subnet).collect();
    used.extend(host_routes());
    used.extend_from_slice(also);
    match want {
        Some(w) => match used.iter().find(|u| overlaps(&w, u)) {
            Some(u) => Err(NetError::Config(format!("Pool overlaps with other one on this address space ({w} and {u})"))),
            None => Ok(w),
        },
        None => {
            let pool: Ipv4Net = POOL.parse()?;
            pick_subnet(&pool, &used).ok_or_else(|| NetError::Config(format!("no free /24 left in {POOL}")))
        }
    }
}

/// Under [`lock`]: records that `root`'s network `name` uses `subnet` on `bridge`.
pub fn claim(c: &Claim) -> Result<()> {
    let p = registry().join(&c.bridge);
    let text = format!("{}\n{}\n{}\n", c.subnet, c.root.display(), c.name);
    match fs::OpenOptions::new().write(true).create_new(true).open(&p) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(text.as_bytes()).map_err(|e| NetError::io(format!("writing {}", p.display()), e))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(NetError::Config(format!("bridge {} is claimed already", c.bridge))),
        Err(e) => Err(NetError::io(format!("creating {}", p.display()), e)),
    }
}

/// Drops the claim of `bridge` (missing is fine).
pub fn unclaim(bridge: &str) -> Result<()> {
    let p = registry().join(bridge);
    match fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetError::io(format!("removing {}", p.display()), e)),
    }
}

/// The claims made by `root` (for `prune`: a network whose create died
/// before its record was written).
pub fn claims_of(root: &Path) -> Vec<Claim> {
    claims().into_iter().filter(|c| c.root == root).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    fn n(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }
    #[test]
    fn names() {
        for ok in ["a", "web_1", "My.net-2", "0x"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", ".a", "_a", "a b", "a/b", "a:b"] {
            assert!(!valid_name(bad), "{bad}");
        }
        let b = bridge_name("0123456789abcdef0123");
        assert_eq!(b, "bk-0123456789ab");
        crate::net::config::validate_ifname(&b).unwrap();
    }
    #[test]
    fn overlap_and_choice() {
        assert!(overlaps(&n("10.89.0.0/16"), &n("10.89.3.0/24")));
        assert!(overlaps(&n("10.89.3.0/24"), &n("10.89.0.0/16")));
        assert!(!overlaps(&n("10.89.3.0/24"), &n("10.89.4.0/24")));
        assert!(overlaps(&n("0.0.0.0/0"), &n("10.1.0.0/24")));
        let pool = n("10.89.0.0/16");
        assert_eq!(pick_subnet(&pool, &[]), Some(n("10.89.0.0/24")));
        assert_eq!(pick_subnet(&pool, &[n("10.89.0.0/23"), n("10.89.2.128/25")]), Some(n("10.89.3.0/24")));
        assert_eq!(pick_subnet(&n("10.89.0.0/23"), &[n("10.89.0.0/16")]), None);
        assert_eq!(pick_subnet(&n("10.89.0.0/25"), &[]), None);
    }
    #[test]
    fn routes_parse() {
        // whatever the host has: every route is a valid network, no default
        for r in host_routes() {
            assert!(r.prefix > 0, "{r}");
        }
    }
}
