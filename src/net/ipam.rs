//! Address allocation on a bridge subnet.
//!
//! State: `$ROOT/net/<bridge>/leases/<ip>` — one file per leased address,
//! created with `O_CREAT|O_EXCL` (atomic across processes), containing the
//! container id. `$ROOT/net/<bridge>/next` is a non-authoritative hint where
//! the next scan starts (so a just-released address is not reused at once).
//!
//! Never handed out: network, gateway, broadcast.
//!
//! Reclaim: when the pool is exhausted, leases whose container is no longer
//! alive (`is_alive(id) == false`) are reclaimed. A reclaim first *renames* the
//! lease to a private name (only one racer can win the rename), checks the
//! content is still the dead id, and then unlinks it.

use super::config::NetConfig;
use super::error::{NetError, Result};
use std::fs;
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Directory of the lease files of `cfg`'s bridge.
pub fn lease_dir(root: &Path, cfg: &NetConfig) -> PathBuf {
    root.join("net").join(&cfg.bridge).join("leases")
}

/// Candidate addresses in scan order, starting at `start` and wrapping
/// around; excludes network, gateway and broadcast.
pub fn candidates(cfg: &NetConfig, start: Option<Ipv4Addr>) -> impl Iterator<Item = Ipv4Addr> {
    let (first, last) = cfg.subnet.hosts().map(|(a, b)| (u32::from(a), u32::from(b))).unwrap_or((1, 0));
    let gw = u32::from(cfg.gateway);
    let start = start
        .map(u32::from)
        .filter(|s| (first..=last).contains(s))
        .unwrap_or(first);
    let n = if last >= first { last - first + 1 } else { 0 };
    (0..n)
        .map(move |i| first + (start - first + i) % n)
        .filter(move |a| *a != gw)
        .map(Ipv4Addr::from)
}

/// The address after `ip` inside the host range (wrapping), as the next hint.
pub fn next_after(cfg: &NetConfig, ip: Ipv4Addr) -> Ipv4Addr {
    match cfg.subnet.hosts() {
        Some((first, last)) if ip < last && ip >= first => Ipv4Addr::from(u32::from(ip) + 1),
        Some((first, _)) => first,
        None => ip,
    }
}

fn read_hint(root: &Path, cfg: &NetConfig) -> Option<Ipv4Addr> {
    let p = root.join("net").join(&cfg.bridge).join("next");
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn write_hint(root: &Path, cfg: &NetConfig, ip: Ipv4Addr) {
    // Best effort: the hint only spreads allocations, correctness comes from O_EXCL.
    let dir = root.join("net").join(&cfg.bridge);
    let tmp = dir.join(format!(".next.{}", std::process::id()));
    if fs::write(&tmp, ip.to_string()).is_ok() {
        let _ = fs::rename(&tmp, dir.join("next"));
    }
}

/// Try to take `ip` for `container_id`. Ok(false) if it is already leased.
fn try_take(dir: &Path, ip: Ipv4Addr, container_id: &str) -> Result<bool> {
    let path = dir.join(ip.to_string());
    match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut f) => {
            f.write_all(container_id.as_bytes())
                .map_err(|e| NetError::io(format!("writing lease {}", path.display()), e))?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(NetError::io(format!("creating lease {}", path.display()), e)),
    }
}

/// Allocates a free address for `container_id`.
pub fn allocate(
    root: &Path,
    cfg: &NetConfig,
    container_id: &str,
    is_alive: &dyn Fn(&str) -> bool,
) -> Result<Ipv4Addr> {
    if container_id.is_empty() {
        return Err(NetError::Config("empty container id".into()));
    }
    let dir = lease_dir(root, cfg);
    fs::create_dir_all(&dir).map_err(|e| NetError::io(format!("creating {}", dir.display()), e))?;
    let hint = read_hint(root, cfg);
    for pass in 0..2 {
        for ip in candidates(cfg, hint) {
            if try_take(&dir, ip, container_id)? {
                write_hint(root, cfg, next_after(cfg, ip));
                return Ok(ip);
            }
        }
        if pass == 0 && reclaim_dead(root, cfg, is_alive)? == 0 {
            break;
        }
    }
    Err(NetError::PoolExhausted { subnet: cfg.subnet.to_string(), bridge: cfg.bridge.clone() })
}

/// Removes the leases of containers that are not alive. Returns how many.
/// Empty leases (being written right now) are left alone unless older than
/// a minute (their writer crashed between create and write).
pub fn reclaim_dead(root: &Path, cfg: &NetConfig, is_alive: &dyn Fn(&str) -> bool) -> Result<usize> {
    let dir = lease_dir(root, cfg);
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(NetError::io(format!("reading {}", dir.display()), e)),
    };
    let mut n = 0;
    for ent in rd.flatten() {
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.parse::<Ipv4Addr>().is_err() {
            continue;
        }
        let path = ent.path();
        let Ok(owner) = fs::read_to_string(&path) else { continue };
        if owner.is_empty() {
            let stale = ent
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .map(|age| age.as_secs() > 60)
                .unwrap_or(false);
            if !stale {
                continue;
            }
        } else if is_alive(&owner) {
            continue;
        }
        let tmp = dir.join(format!(".reclaim.{}.{}", std::process::id(), name));
        if fs::rename(&path, &tmp).is_err() {
            continue; // someone else won
        }
        match fs::read_to_string(&tmp) {
            Ok(now) if now == owner => {
                let _ = fs::remove_file(&tmp);
                n += 1;
            }
            _ => {
                // Re-leased between our read and rename: give it back
                // (hard_link fails if the name was taken meanwhile; then the
                // address is owned twice on disk only in theory — keep the newer).
                let _ = fs::hard_link(&tmp, &path);
                let _ = fs::remove_file(&tmp);
            }
        }
    }
    Ok(n)
}

/// Owner (container id) of the lease of `ip`, if any.
pub fn owner(root: &Path, cfg: &NetConfig, ip: Ipv4Addr) -> Result<Option<String>> {
    let path = lease_dir(root, cfg).join(ip.to_string());
    match fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NetError::io(format!("reading lease {}", path.display()), e)),
    }
}

/// Releases `ip` if it is leased to `container_id` (idempotent: a missing
/// lease or one that now belongs to another container is left alone).
pub fn release(root: &Path, cfg: &NetConfig, ip: Ipv4Addr, container_id: &str) -> Result<()> {
    let path = lease_dir(root, cfg).join(ip.to_string());
    match owner(root, cfg, ip)? {
        Some(o) if o == container_id => match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(NetError::io(format!("removing lease {}", path.display()), e)),
        },
        _ => Ok(()),
    }
}

/// Releases every lease held by `container_id` (a container whose monitor
/// died may hold one it never recorded); returns how many. One read_dir and
/// one small read per lease.
pub fn release_all_of(root: &Path, cfg: &NetConfig, container_id: &str) -> Result<usize> {
    let mut n = 0;
    for (ip, owner) in leases(root, cfg)? {
        if owner == container_id {
            release(root, cfg, ip, container_id)?;
            n += 1;
        }
    }
    Ok(n)
}

/// All current leases `(ip, container id)`, sorted by address.
pub fn leases(root: &Path, cfg: &NetConfig) -> Result<Vec<(Ipv4Addr, String)>> {
    let dir = lease_dir(root, cfg);
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(NetError::io(format!("reading {}", dir.display()), e)),
    };
    let mut v = vec![];
    for ent in rd.flatten() {
        let Some(ip) = ent.file_name().to_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) else { continue };
        if let Ok(owner) = fs::read_to_string(ent.path()) {
            v.push((ip, owner));
        }
    }
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::config::NetConfig;
    use std::collections::HashSet;

    fn cfg(subnet: &str) -> NetConfig {
        NetConfig::parse(Some("bt0"), Some(subnet), Some("0")).unwrap()
    }

    #[test]
    fn candidates_skip_reserved() {
        let c = cfg("10.1.2.0/29");
        let v: Vec<_> = candidates(&c, None).map(|a| a.to_string()).collect();
        assert_eq!(v, ["10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"]);
        let v: Vec<_> = candidates(&c, Some("10.1.2.5".parse().unwrap())).map(|a| a.to_string()).collect();
        assert_eq!(v, ["10.1.2.5", "10.1.2.6", "10.1.2.2", "10.1.2.3", "10.1.2.4"]);
        // out of range hint falls back to the start
        assert_eq!(candidates(&c, Some("9.9.9.9".parse().unwrap())).next().unwrap().to_string(), "10.1.2.2");
        assert_eq!(next_after(&c, "10.1.2.6".parse().unwrap()).to_string(), "10.1.2.1");
        assert_eq!(candidates(&cfg("10.1.2.0/30"), None).count(), 1);
    }

    #[test]
    fn allocate_release_reclaim() {
        let t = tempfile::tempdir().unwrap();
        let c = cfg("10.1.2.0/29"); // 5 usable
        let alive = |_: &str| true;
        let ips: Vec<_> = (0..5).map(|i| allocate(t.path(), &c, &format!("c{i}"), &alive).unwrap()).collect();
        assert_eq!(ips.iter().collect::<HashSet<_>>().len(), 5);
        let e = allocate(t.path(), &c, "c5", &alive).unwrap_err();
        assert!(matches!(e, NetError::PoolExhausted { .. }), "{e}");
        // release by a non-owner is a no-op
        release(t.path(), &c, ips[0], "other").unwrap();
        assert_eq!(owner(t.path(), &c, ips[0]).unwrap().as_deref(), Some("c0"));
        release(t.path(), &c, ips[0], "c0").unwrap();
        release(t.path(), &c, ips[0], "c0").unwrap();
        assert_eq!(allocate(t.path(), &c, "c6", &alive).unwrap(), ips[0]);
        // c2 is dead -> reclaimed when exhausted
        let ip = allocate(t.path(), &c, "c7", &|id: &str| id != "c2").unwrap();
        assert_eq!(ip, ips[2]);
        assert_eq!(leases(t.path(), &c).unwrap().len(), 5);
        // all of one container's leases go, idempotently, others stay
        assert_eq!(release_all_of(t.path(), &c, "c7").unwrap(), 1);
        assert_eq!(release_all_of(t.path(), &c, "c7").unwrap(), 0);
        assert_eq!(leases(t.path(), &c).unwrap().len(), 4);
    }

    #[test]
    fn concurrent_allocation_is_unique() {
        let t = tempfile::tempdir().unwrap();
        let c = cfg("10.1.0.0/24");
        let root = t.path().to_path_buf();
        let hs: Vec<_> = (0..64)
            .map(|i| {
                let (root, c) = (root.clone(), c.clone());
                std::thread::spawn(move || allocate(&root, &c, &format!("id{i}"), &|_: &str| true).unwrap())
            })
            .collect();
        let ips: HashSet<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(ips.len(), 64);
        assert!(!ips.contains(&c.gateway));
        assert_eq!(leases(&root, &c).unwrap().len(), 64);
    }
}
