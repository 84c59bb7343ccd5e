//! The run flags past the seed's limits, checked as Docker's daemon
//! checks them: `--ulimit`, `--sysctl`, `--cpus`, `--cpuset-cpus`,
//! `--memory-swap`, `--memory-reservation`, `--shm-size`, and the
//! `--ipc`/`--pid`/`--uts` namespace modes. Pure checks over the spec's
//! values (what a user or an API client gives); the record keeps what
//! passed, and `oci::spec` and the cgroup carry it out.
use crate::net::NetMode;
use crate::state::containers::{rlimit_name, rlimit_value, Limits, NsMode, Ulimit};

/// Known names, each once, 0 ≤ soft ≤ hard (-1: unlimited).
pub fn check_ulimits(list: &[Ulimit]) -> Result<(), String> {
    for (i, u) in list.iter().enumerate() {
        if rlimit_name(&u.name).is_none() {
            return Err(format!("invalid ulimit type: {}", u.name));
        }
        if list[..i].iter().any(|o| o.name == u.name) {
            return Err(format!("ulimit {} given twice", u.name));
        }
        if u.soft < -1 || u.hard < -1 {
            return Err(format!("invalid ulimit {}: {}:{} (a limit is 0 or more, or -1 for unlimited)", u.name, u.soft, u.hard));
        }
        if rlimit_value(u.soft) > rlimit_value(u.hard) {
            return Err(format!("ulimit soft limit must be less than or equal to hard limit: {} > {}", u.soft, u.hard));
        }
    }
    Ok(())
}

/// Docker's rule (opts.ValidateSysctl, then the daemon's host-namespace
/// checks): only sysctls of a namespace the container owns: `net.*`
/// (not with the host's network), the System V IPC ones and
/// `fs.mqueue.*` (only with an ipc namespace of its own).
pub fn check_sysctl(key: &str, value: &str, ipc: &NsMode, network: NetMode) -> Result<(), String> {
    const IPC: &[&str] = &["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];
    let well_formed = !key.is_empty() && key.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    if !well_formed {
        return Err(format!("invalid sysctl name {key:?}"));
    }
    if value.contains('\n') || value.contains('\0') {
        return Err(format!("invalid value for sysctl {key}"));
    }
    if key.starts_with("net.") {
        if network == NetMode::Host {
            return Err(format!("sysctl {key} is not allowed in host network mode"));
        }
        return Ok(());
    }
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        return match ipc {
            NsMode::Private | NsMode::Shareable => Ok(()),
            NsMode::Host => Err(format!("sysctl {key} is not allowed in host IPC namespace")),
            NsMode::Container(_) => Err(format!("sysctl {key} is not allowed with another container's IPC namespace")),
        };
    }
    Err(format!("sysctl '{key}' is not whitelisted (only net.*, fs.mqueue.* and the System V IPC ones are namespaced)"))
}

/// The CPUs this host has online (`/sys/devices/system/cpu/online`).
pub fn online_cpus() -> Vec<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    parse_cpu_list(text.trim()).unwrap_or_else(|_| (0..std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1)).collect())
}

/// "0-2,5" → [0, 1, 2, 5] (the kernel's list format).
pub fn parse_cpu_list(s: &str) -> Result<Vec<u32>, String> {
    let bad = || format!("Invalid value {s} for cpuset cpus");
    let mut out = Vec::new();
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().map_err(|_| bad())?, b.trim().parse::<u32>().map_err(|_| bad())?),
            None => {
                let n = part.trim().parse::<u32>().map_err(|_| bad())?;
                (n, n)
            }
        };
        if a > b || b - a > 4096 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

/// `--cpuset-cpus`: well formed, and every CPU online here.
pub fn check_cpuset(s: &str) -> Result<(), String> {
    let want = parse_cpu_list(s)?;
    let online = online_cpus();
    if want.iter().any(|c| !online.contains(c)) {
        let avail = online.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        return Err(format!("Requested CPUs are not available - requested {s}, available: {avail}"));
    }
    Ok(())
}

/// `--cpus` as NanoCpus: from 0.01 to the number of CPUs (0: no limit).
pub fn nano_cpus(cpus: f64) -> Result<i64, String> {
    let n = online_cpus().len().max(1);
    if !cpus.is_finite() || cpus < 0.0 || cpus > n as f64 {
        return Err(format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"));
    }
    let nano = (cpus * 1e9).round() as i64;
    if nano != 0 && nano < 10_000_000 {
        return Err(format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"));
    }
    Ok(nano)
}

/// Docker's checks between memory, memory+swap and the reservation
/// (`memory` ≤ 0: no memory limit).
pub fn check_memory(l: &Limits) -> Result<(), String> {
    if let Some(s) = l.memory_swap {
        if s < -1 {
            return Err(format!("invalid memory swap limit {s} (bytes, or -1 for unlimited)"));
        }
        if l.memory > 0 && s > 0 && s < l.memory {
            return Err("Minimum memoryswap limit should be larger than memory limit, see usage".into());
        }
        if l.memory <= 0 && s > 0 {
            return Err("You should always set the Memory limit when using Memoryswap limit, see usage".into());
        }
    }
    if let Some(r) = l.memory_reservation {
        if r < 0 {
            return Err(format!("invalid memory reservation {r}"));
        }
        if r > 0 && r < 6 * 1024 * 1024 {
            return Err("Minimum memory reservation allowed is 6MB".into());
        }
        if l.memory > 0 && r > l.memory {
            return Err("Minimum memory limit can not be less than memory reservation limit, see usage".into());
        }
    }
    if let Some(n) = l.nano_cpus {
        if n < 0 {
            return Err(format!("invalid NanoCpus {n}"));
        }
    }
    if let Some(c) = &l.cpuset_cpus {
        check_cpuset(c)?;
    }
    Ok(())
}

/// Which namespace a flag asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsKind {
    Ipc,
    Pid,
    Uts,
}

impl NsKind {
    pub fn flag(self) -> &'static str {
        match self {
            NsKind::Ipc => "ipc",
            NsKind::Pid => "pid",
            NsKind::Uts => "uts",
        }
    }
}

/// A mode as given (`host`, `private`, `shareable`, `container:X`),
/// checked against what this namespace allows (Docker's: ipc all four,
/// pid host or container:X, uts host). `container:X` keeps X as given;
/// the caller resolves it.
pub fn ns_mode(kind: NsKind, given: Option<&str>) -> Result<NsMode, String> {
    let Some(g) = given.filter(|g| !g.is_empty()) else { return Ok(NsMode::Private) };
    if kind == NsKind::Ipc && g == "none" {
        return Err("--ipc none is not supported by bocker (private, shareable, host or container:NAME)".into());
    }
    let m = NsMode::try_from(g.to_string()).map_err(|_| format!("--{} \"{g}\": invalid mode", kind.flag()))?;
    let ok = match (&m, kind) {
        (NsMode::Shareable, k) => k == NsKind::Ipc,
        (NsMode::Container(_), k) => k != NsKind::Uts,
        _ => true,
    };
    if !ok {
        return Err(format!("--{} \"{g}\": invalid mode", kind.flag()));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_as_docker_checks_them() {
        let u = |n: &str, s: i64, h: i64| Ulimit { name: n.into(), soft: s, hard: h };
        assert!(check_ulimits(&[u("nofile", 1024, 2048), u("core", -1, -1)]).is_ok());
        assert!(check_ulimits(&[u("nofile", 4096, 2048)]).unwrap_err().contains("soft limit"));
        assert!(check_ulimits(&[u("bogus", 1, 1)]).unwrap_err().contains("invalid ulimit type"));
        assert!(check_ulimits(&[u("nofile", 1, 1), u("nofile", 2, 2)]).is_err());
        assert!(check_ulimits(&[u("nproc", 5, -1)]).is_ok(), "-1 hard is unlimited");
        assert_eq!(rlimit_name("nofile"), Some("RLIMIT_NOFILE"));
        assert_eq!(rlimit_value(-1), u64::MAX);
    }

    #[test]
    fn sysctls_only_in_namespaces_of_its_own() {
        let p = NsMode::Private;
        assert!(check_sysctl("net.ipv4.ip_forward", "1", &p, NetMode::Bridge).is_ok());
        assert!(check_sysctl("net.ipv4.ip_forward", "1", &p, NetMode::Host).unwrap_err().contains("host network"));
        assert!(check_sysctl("kernel.shmmax", "1", &p, NetMode::Bridge).is_ok());
        assert!(check_sysctl("fs.mqueue.msg_max", "1", &NsMode::Host, NetMode::Bridge).unwrap_err().contains("host IPC"));
        assert!(check_sysctl("kernel.panic", "1", &p, NetMode::Bridge).unwrap_err().contains("not whitelisted"));
        assert!(check_sysctl("net.ipv4/../../x", "1", &p, NetMode::Bridge).is_err());
        assert!(check_sysctl("net..x", "1", &p, NetMode::Bridge).is_err());
        assert!(check_sysctl("net.x", "1\n2", &p, NetMode::Bridge).is_err());
    }

    #[test]
    fn cpus_and_cpusets() {
        assert_eq!(parse_cpu_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpu_list("2-1").is_err() && parse_cpu_list("x").is_err() && parse_cpu_list("").is_err());
        assert_eq!(nano_cpus(0.5).unwrap(), 500_000_000);
        assert_eq!(nano_cpus(0.0).unwrap(), 0);
        assert!(nano_cpus(0.001).is_err() && nano_cpus(-1.0).is_err() && nano_cpus(100000.0).is_err());
        assert!(check_cpuset("0").is_ok());
        assert!(check_cpuset("100000").unwrap_err().contains("not available"));
        let l = Limits { nano_cpus: Some(1_500_000_000), ..Default::default() };
        assert_eq!(l.cpu_quota(), Some(150_000));
    }

    #[test]
    fn memory_rules() {
        let m = |memory: i64, swap: Option<i64>, res: Option<i64>| Limits { memory, memory_swap: swap, memory_reservation: res, ..Default::default() };
        assert!(check_memory(&m(64 << 20, Some(128 << 20), Some(32 << 20))).is_ok());
        assert!(check_memory(&m(64 << 20, Some(-1), None)).is_ok());
        assert!(check_memory(&m(64 << 20, Some(32 << 20), None)).unwrap_err().contains("larger than memory"));
        assert!(check_memory(&m(-1, Some(32 << 20), None)).unwrap_err().contains("always set the Memory"));
        assert!(check_memory(&m(64 << 20, None, Some(128 << 20))).unwrap_err().contains("reservation"));
        assert!(check_memory(&m(64 << 20, None, Some(1024))).unwrap_err().contains("6MB"));
    }

    #[test]
    fn namespace_modes() {
        assert_eq!(ns_mode(NsKind::Ipc, None).unwrap(), NsMode::Private);
        assert_eq!(ns_mode(NsKind::Ipc, Some("shareable")).unwrap(), NsMode::Shareable);
        assert_eq!(ns_mode(NsKind::Pid, Some("container:web")).unwrap(), NsMode::Container("web".into()));
        assert_eq!(ns_mode(NsKind::Uts, Some("host")).unwrap(), NsMode::Host);
        assert!(ns_mode(NsKind::Uts, Some("container:web")).is_err());
        assert!(ns_mode(NsKind::Pid, Some("shareable")).is_err());
        assert!(ns_mode(NsKind::Pid, Some("bogus")).is_err());
        assert!(ns_mode(NsKind::Ipc, Some("none")).unwrap_err().contains("not supported"));
    }
}
