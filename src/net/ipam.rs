//! Address allocation on a bridge subnet.
//!
//! Leases are host-wide, as the bridges are: every state root that puts
//! containers on a bridge takes addresses from the same folder, so two
//! roots never hand out one address twice. In production the base is
//! [`host_base`] (`/run/bocker/net`); tests pass their own.
//!
//! State: `BASE/<bridge>/leases/<ip>` — one file per leased address,
//! created with `O_CREAT|O_EXCL` (atomic across processes), naming its
//! [`Holder`] (the container id and its state root). `BASE/<bridge>/next`
//! is a non-authoritative hint where the next scan starts (so a
//! just-released address is not reused at once).
//!
//! Never handed out: network, gateway, broadcast.
//!
//! Reclaim: when the pool is exhausted, leases whose holder is no longer
//! alive (`is_alive(holder) == false`, the caller asks the holder's store)
//! are reclaimed. A reclaim first *renames* the lease to a private name
//! (only one racer can win the rename), checks the content is still the
//! dead holder, and then unlinks it.

use super::config::NetConfig;
use super::error::{NetError, Result};
use std::fs;
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where the leases of every bridge live on this host.
pub fn host_base() -> &'static Path {
    Path::new("/run/bocker/net")
}

/// Who holds a lease: a container of a state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub root: PathBuf,
}

impl Holder {
    pub fn new(root: &Path, id: &str) -> Holder {
        Holder { id: id.to_string(), root: root.to_path_buf() }
    }

    /// `ID\nROOT` (an id has no newline; the root is the rest).
    fn encode(&self) -> Vec<u8> {
        let mut v = self.id.as_bytes().to_vec();
        v.push(b'\n');
        v.extend_from_slice(self.root.as_os_str().as_bytes());
        v
    }

    /// None for an empty lease (being written) or one of another format.
    fn decode(bytes: &[u8]) -> Option<Holder> {
        let nl = bytes.iter().position(|b| *b == b'\n')?;
        let id = std::str::from_utf8(&bytes[..nl]).ok()?;
        let root = std::ffi::OsStr::from_bytes(&bytes[nl + 1..]);
        (!id.is_empty() && !root.is_empty()).then(|| Holder { id: id.to_string(), root: PathBuf::from(root) })
    }
}

fn bridge_dir(base: &Path, cfg: &NetConfig) -> PathBuf {
    base.join(&cfg.bridge)
}

/// Directory of the lease files of `cfg`'s bridge.
pub fn lease_dir(base: &Path, cfg: &NetConfig) -> PathBuf {
    bridge_dir(base, cfg).join("leases")
}

/// Removes every lease of the bridge and its folder (the bridge is gone).
pub fn remove_all(base: &Path, cfg: &NetConfig) -> Result<()> {
    let dir = bridge_dir(base, cfg);
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetError::io(format!("removing {}", dir.display()), e)),
    }
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

fn read_hint(base: &Path, cfg: &NetConfig) -> Option<Ipv4Addr> {
    let p = bridge_dir(base, cfg).join("next");
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn write_hint(base: &Path, cfg: &NetConfig, ip: Ipv4Addr) {
    // Best effort: the hint only spreads allocations, correctness comes from O_EXCL.
    let dir = bridge_dir(base, cfg);
    let tmp = dir.join(format!(".next.{}", std::process::id()));
    if fs::write(&tmp, ip.to_string()).is_ok() {
        let _ = fs::rename(&tmp, dir.join("next"));
    }
}

/// Try to take `ip` for `holder`. Ok(false) if it is already leased.
fn try_take(dir: &Path, ip: Ipv4Addr, holder: &Holder) -> Result<bool> {
    let path = dir.join(ip.to_string());
    match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut f) => {
            f.write_all(&holder.encode())
                .map_err(|e| NetError::io(format!("writing lease {}", path.display()), e))?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(NetError::io(format!("creating lease {}", path.display()), e)),
    }
}

/// Allocates a free address for `holder`.
pub fn allocate(base: &Path, cfg: &NetConfig, holder: &Holder, is_alive: &dyn Fn(&Holder) -> bool) -> Result<Ipv4Addr> {
    if holder.id.is_empty() || holder.id.contains('\n') {
        return Err(NetError::Config(format!("container id {:?}", holder.id)));
    }
    let dir = lease_dir(base, cfg);
    fs::create_dir_all(&dir).map_err(|e| NetError::io(format!("creating {}", dir.display()), e))?;
    let hint = read_hint(base, cfg);
    for pass in 0..2 {
        for ip in candidates(cfg, hint) {
            if try_take(&dir, ip, holder)? {
                write_hint(base, cfg, next_after(cfg, ip));
                return Ok(ip);
            }
        }
        if pass == 0 && reclaim_dead(base, cfg, is_alive)? == 0 {
            break;
        }
    }
    Err(NetError::PoolExhausted { subnet: cfg.subnet.to_string(), bridge: cfg.bridge.clone() })
}

/// Takes the address `ip` (`--ip`) for `holder`: refused when it is not a
/// host address of the subnet, is the gateway, or is leased to a container
/// that runs (a dead holder's lease is reclaimed first).
pub fn take(base: &Path, cfg: &NetConfig, ip: Ipv4Addr, holder: &Holder, is_alive: &dyn Fn(&Holder) -> bool) -> Result<()> {
    if !candidates(cfg, None).any(|a| a == ip) {
        return Err(NetError::Config(format!("address {ip} is not a free host address of {} (gateway {})", cfg.subnet, cfg.gateway)));
    }
    let dir = lease_dir(base, cfg);
    fs::create_dir_all(&dir).map_err(|e| NetError::io(format!("creating {}", dir.display()), e))?;
    for pass in 0..2 {
        if try_take(&dir, ip, holder)? {
            return Ok(());
        }
        match owner(base, cfg, ip)? {
            Some(o) if o == *holder => return Ok(()),
            _ if pass == 0 => {
                reclaim_dead(base, cfg, is_alive)?;
            }
            _ => {}
        }
    }
    Err(NetError::Config(format!("Address already in use: {ip} on {}", cfg.subnet)))
}

/// Removes the leases of containers that are not alive. Returns how many.
/// Empty leases (being written right now) are left alone unless older than
/// a minute (their writer crashed between create and write); so are
/// leases that name no holder (another format).
pub fn reclaim_dead(base: &Path, cfg: &NetConfig, is_alive: &dyn Fn(&Holder) -> bool) -> Result<usize> {
    let dir = lease_dir(base, cfg);
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
        let Ok(owner) = fs::read(&path) else { continue };
        if owner.is_empty() || Holder::decode(&owner).is_none() {
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
        } else if Holder::decode(&owner).is_some_and(|h| is_alive(&h)) {
            continue;
        }
        let tmp = dir.join(format!(".reclaim.{}.{}", std::process::id(), name));
        if fs::rename(&path, &tmp).is_err() {
            continue; // someone else won
        }
        match fs::read(&tmp) {
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

/// Holder of the lease of `ip`, if any (and readable as one).
pub fn owner(base: &Path, cfg: &NetConfig, ip: Ipv4Addr) -> Result<Option<Holder>> {
    let path = lease_dir(base, cfg).join(ip.to_string());
    match fs::read(&path) {
        Ok(s) => Ok(Holder::decode(&s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NetError::io(format!("reading lease {}", path.display()), e)),
    }
}

/// Releases `ip` if it is leased to `holder` (idempotent: a missing
/// lease or one that now belongs to another container is left alone).
pub fn release(base: &Path, cfg: &NetConfig, ip: Ipv4Addr, holder: &Holder) -> Result<()> {
    let path = lease_dir(base, cfg).join(ip.to_string());
    match owner(base, cfg, ip)? {
        Some(o) if o == *holder => match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(NetError::io(format!("removing lease {}", path.display()), e)),
        },
        _ => Ok(()),
    }
}

/// Releases every lease held by `holder` (a container whose monitor
/// died may hold one it never recorded); returns how many. One read_dir and
/// one small read per lease.
pub fn release_all_of(base: &Path, cfg: &NetConfig, holder: &Holder) -> Result<usize> {
    let mut n = 0;
    for (ip, owner) in leases(base, cfg)? {
        if owner == *holder {
            release(base, cfg, ip, holder)?;
            n += 1;
        }
    }
    Ok(n)
}

/// All current leases `(ip, holder)`, sorted by address (those being
/// written, or of another format, left out).
pub fn leases(base: &Path, cfg: &NetConfig) -> Result<Vec<(Ipv4Addr, Holder)>> {
    let dir = lease_dir(base, cfg);
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(NetError::io(format!("reading {}", dir.display()), e)),
    };
    let mut v = vec![];
    for ent in rd.flatten() {
        let Some(ip) = ent.file_name().to_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) else { continue };
        if let Some(owner) = fs::read(ent.path()).ok().and_then(|b| Holder::decode(&b)) {
            v.push((ip, owner));
        }
    }
    v.sort_by_key(|(ip, _)| *ip);
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

    fn h(id: &str) -> Holder {
        Holder::new(Path::new("/var/lib/store-a"), id)
    }

    #[test]
    fn allocate_release_reclaim() {
        let t = tempfile::tempdir().unwrap();
        let c = cfg("10.1.2.0/29"); // 5 usable
        let alive = |_: &Holder| true;
        let ips: Vec<_> = (0..5).map(|i| allocate(t.path(), &c, &h(&format!("c{i}")), &alive).unwrap()).collect();
        assert_eq!(ips.iter().collect::<HashSet<_>>().len(), 5);
        let e = allocate(t.path(), &c, &h("c5"), &alive).unwrap_err();
        assert!(matches!(e, NetError::PoolExhausted { .. }), "{e}");
        // release by a non-owner is a no-op, also by the same id of another root
        release(t.path(), &c, ips[0], &h("other")).unwrap();
        release(t.path(), &c, ips[0], &Holder::new(Path::new("/other/root"), "c0")).unwrap();
        assert_eq!(owner(t.path(), &c, ips[0]).unwrap(), Some(h("c0")));
        release(t.path(), &c, ips[0], &h("c0")).unwrap();
        release(t.path(), &c, ips[0], &h("c0")).unwrap();
        assert_eq!(allocate(t.path(), &c, &h("c6"), &alive).unwrap(), ips[0]);
        // c2 is dead -> reclaimed when exhausted
        let ip = allocate(t.path(), &c, &h("c7"), &|x: &Holder| x.id != "c2").unwrap();
        assert_eq!(ip, ips[2]);
        assert_eq!(leases(t.path(), &c).unwrap().len(), 5);
        // all of one container's leases go, idempotently, others stay
        assert_eq!(release_all_of(t.path(), &c, &h("c7")).unwrap(), 1);
        assert_eq!(release_all_of(t.path(), &c, &h("c7")).unwrap(), 0);
        assert_eq!(leases(t.path(), &c).unwrap().len(), 4);
        remove_all(t.path(), &c).unwrap();
        assert!(leases(t.path(), &c).unwrap().is_empty());
        // --ip: a chosen address, refused while its holder lives
        let ip: Ipv4Addr = "10.1.2.4".parse().unwrap();
        take(t.path(), &c, ip, &h("a"), &alive).unwrap();
        take(t.path(), &c, ip, &h("a"), &alive).unwrap();
        assert!(take(t.path(), &c, ip, &h("b"), &alive).unwrap_err().to_string().contains("already in use"));
        take(t.path(), &c, ip, &h("b"), &|x: &Holder| x.id != "a").unwrap();
        assert_eq!(owner(t.path(), &c, ip).unwrap(), Some(h("b")));
        assert!(take(t.path(), &c, c.gateway, &h("c"), &alive).is_err());
        assert!(take(t.path(), &c, "10.9.9.9".parse().unwrap(), &h("c"), &alive).is_err());
    }

    #[test]
    fn holders_round_trip_and_odd_leases_are_nobodys() {
        let x = Holder::new(Path::new("/var/lib/a b"), "ps_1");
        assert_eq!(Holder::decode(&x.encode()), Some(x));
        assert_eq!(Holder::decode(b""), None);
        assert_eq!(Holder::decode(b"ps_1"), None, "an old lease (id only)");
        assert_eq!(Holder::decode(b"ps_1\n"), None);
    }

    #[test]
    fn concurrent_allocation_is_unique() {
        let t = tempfile::tempdir().unwrap();
        let c = cfg("10.1.0.0/24");
        let root = t.path().to_path_buf();
        let hs: Vec<_> = (0..64)
            .map(|i| {
                let (root, c) = (root.clone(), c.clone());
                std::thread::spawn(move || allocate(&root, &c, &h(&format!("id{i}")), &|_: &Holder| true).unwrap())
            })
            .collect();
        let ips: HashSet<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(ips.len(), 64);
        assert!(!ips.contains(&c.gateway));
        assert_eq!(leases(&root, &c).unwrap().len(), 64);
    }
}
