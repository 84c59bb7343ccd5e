//! `docker stats`: one sample of a container's resource use, read from
//! its cgroup (v1 or v2) and, for the network, from its process's view of
//! /proc/net/dev — in the field names of Docker's stats JSON (the caller
//! adds `read`, `preread` and `precpu_stats` between samples).
use super::{ContainerError, Result};
use crate::cgroup::ContainerCgroup;
use crate::state::Store;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct CpuUsage {
    pub total_usage: u64,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    /// the host's CPU time in ns (all CPUs), the denominator of CPU %
    pub system_cpu_usage: u64,
    pub online_cpus: u64,
    pub throttling_data: Throttling,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct MemoryStats {
    pub usage: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    pub limit: u64,
    pub stats: BTreeMap<String, u64>,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct PidsStats {
    pub current: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

#[derive(serde::Serialize, Debug, Clone)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct NetStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

#[derive(serde::Serialize, Debug, Clone, Default)]
pub struct Sample {
    pub id: String,
    pub name: String,
    pub cpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    pub networks: BTreeMap<String, NetStats>,
    pub num_procs: u32,
}

/// The tick of /proc/stat and cpuacct.stat: USER_HZ, which the kernel
/// fixes at 100 for user space on every architecture bocker runs on.
const USER_HZ: u64 = 100;

/// Files read here are small; a larger one is not a cgroup file.
const MAX_FILE: u64 = 1 << 20;

fn read(p: &Path) -> Option<String> {
    use std::io::Read;
    let mut s = String::new();
    std::fs::File::open(p).ok()?.take(MAX_FILE).read_to_string(&mut s).ok()?;
    Some(s)
}

fn read_u64(p: &Path) -> Option<u64> {
    read(p)?.trim().parse().ok()
}

/// "key value" lines (memory.stat, cpu.stat) as a map.
pub fn flat_keys(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// The host's CPU time (ns, all CPUs) and the number of CPUs, from
/// /proc/stat (Docker's system_cpu_usage).
pub fn host_cpu() -> (u64, u64) {
    let text = read(Path::new("/proc/stat")).unwrap_or_default();
    let hz = USER_HZ;
    let mut total = 0;
    let mut cpus = 0;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("cpu ") {
            let ticks: u64 = rest.split_whitespace().take(8).filter_map(|v| v.parse::<u64>().ok()).sum();
            total = ticks * (1_000_000_000 / hz);
        } else if l.starts_with("cpu") {
            cpus += 1;
        }
    }
    (total, cpus.max(1))
}

/// Interfaces of /proc/PID/net/dev (the container's network namespace),
/// without lo.
pub fn net_dev(text: &str) -> BTreeMap<String, NetStats> {
    let mut out = BTreeMap::new();
    for l in text.lines().skip(2) {
        let Some((name, rest)) = l.split_once(':') else { continue };
        let name = name.trim();
        if name == "lo" {
            continue;
        }
        let v: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if v.len() < 12 {
            continue;
        }
        out.insert(name.to_string(), NetStats {
            rx_bytes: v[0], rx_packets: v[1], rx_errors: v[2], rx_dropped: v[3],
            tx_bytes: v[8], tx_packets: v[9], tx_errors: v[10], tx_dropped: v[11],
        });
    }
    out
}

/// io.stat lines ("8:0 rbytes=1 wbytes=2 ...") as Docker's Read/Write rows.
pub fn io_stat_v2(text: &str) -> Vec<BlkioEntry> {
    let mut out = Vec::new();
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let Some((major, minor)) = it.next().and_then(|d| d.split_once(':')) else { continue };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else { continue };
        for kv in it {
            let (op, key) = match kv.split_once('=') {
                Some(("rbytes", v)) => ("read", v),
                Some(("wbytes", v)) => ("write", v),
                _ => continue,
            };
            if let Ok(value) = key.parse() {
                out.push(BlkioEntry { major, minor, op: op.into(), value });
            }
        }
    }
    out
}

/// One sample of container `reference`'s use (it need not run: a stopped
/// container's sample is zeros, as Docker shows it).
pub fn sample(store: &Store, reference: &str) -> Result<Sample> {
    let info = super::inspect(store, reference)?;
    let id = info.record.id.clone();
    let mut s = Sample { id: id.clone(), name: format!("/{}", info.record.name.clone().unwrap_or_else(|| id.clone())), ..Default::default() };
    let (system, cpus) = host_cpu();
    s.cpu_stats.system_cpu_usage = system;
    s.cpu_stats.online_cpus = cpus;
    if !info.running {
        return Ok(s);
    }
    let cg = ContainerCgroup::load(&id);
    if !cg.exists() {
        return Err(ContainerError::Invalid(format!("container {id}: its cgroup is gone")));
    }
    if crate::cgroup::is_v2() {
        read_v2(&cg, &mut s);
    } else {
        read_v1(&cg, &mut s);
    }
    if let Some(pid) = info.state.pid {
        if let Some(text) = read(Path::new(&format!("/proc/{pid}/net/dev"))) {
            s.networks = net_dev(&text);
        }
    }
    Ok(s)
}

fn read_v2(cg: &ContainerCgroup, s: &mut Sample) {
    let Some(dir) = cg.dir_of("memory") else { return };
    let cpu = flat_keys(&read(&dir.join("cpu.stat")).unwrap_or_default());
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0);
    s.cpu_stats.cpu_usage = CpuUsage { total_usage: us("usage_usec") * 1000, usage_in_kernelmode: us("system_usec") * 1000, usage_in_usermode: us("user_usec") * 1000 };
    s.cpu_stats.throttling_data = Throttling { periods: us("nr_periods"), throttled_periods: us("nr_throttled"), throttled_time: us("throttled_usec") * 1000 };
    s.memory_stats.usage = read_u64(&dir.join("memory.current")).unwrap_or(0);
    s.memory_stats.max_usage = read_u64(&dir.join("memory.peak"));
    s.memory_stats.limit = read_u64(&dir.join("memory.max")).unwrap_or_else(host_memory);
    s.memory_stats.stats = flat_keys(&read(&dir.join("memory.stat")).unwrap_or_default());
    s.pids_stats = PidsStats { current: read_u64(&dir.join("pids.current")).unwrap_or(0), limit: read_u64(&dir.join("pids.max")) };
    s.blkio_stats.io_service_bytes_recursive = io_stat_v2(&read(&dir.join("io.stat")).unwrap_or_default());
}

fn read_v1(cg: &ContainerCgroup, s: &mut Sample) {
    if let Some(dir) = cg.dir_of("cpuacct") {
        // cpuacct.stat counts in USER_HZ ticks
        let hz = USER_HZ;
        let st = flat_keys(&read(&dir.join("cpuacct.stat")).unwrap_or_default());
        let tick = |k: &str| st.get(k).copied().unwrap_or(0) * (1_000_000_000 / hz);
        s.cpu_stats.cpu_usage = CpuUsage { total_usage: read_u64(&dir.join("cpuacct.usage")).unwrap_or(0), usage_in_kernelmode: tick("system"), usage_in_usermode: tick("user") };
    }
    if let Some(dir) = cg.dir_of("cpu") {
        let st = flat_keys(&read(&dir.join("cpu.stat")).unwrap_or_default());
        let v = |k: &str| st.get(k).copied().unwrap_or(0);
        s.cpu_stats.throttling_data = Throttling { periods: v("nr_periods"), throttled_periods: v("nr_throttled"), throttled_time: v("throttled_time") };
    }
    if let Some(dir) = cg.dir_of("memory") {
        s.memory_stats.usage = read_u64(&dir.join("memory.usage_in_bytes")).unwrap_or(0);
        s.memory_stats.max_usage = read_u64(&dir.join("memory.max_usage_in_bytes"));
        // an unlimited v1 cgroup says a huge number: show the host's memory
        s.memory_stats.limit = read_u64(&dir.join("memory.limit_in_bytes")).map(|l| l.min(host_memory())).unwrap_or_else(host_memory);
        s.memory_stats.stats = flat_keys(&read(&dir.join("memory.stat")).unwrap_or_default());
    }
    if let Some(dir) = cg.dir_of("pids") {
        s.pids_stats = PidsStats { current: read_u64(&dir.join("pids.current")).unwrap_or(0), limit: read_u64(&dir.join("pids.max")) };
    }
}

fn host_memory() -> u64 {
    let text = read(Path::new("/proc/meminfo")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_the_kernel_files() {
        let nd = "Inter-|   Receive   |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n  eth0: 100 2 0 0 0 0 0 0 200 3 0 0 0 0 0 0\n";
        let n = net_dev(nd);
        assert_eq!(n.len(), 1);
        assert_eq!((n["eth0"].rx_bytes, n["eth0"].tx_packets), (100, 3));
        let io = io_stat_v2("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(io.len(), 2);
        assert_eq!((io[1].op.as_str(), io[1].value), ("write", 20));
        assert_eq!(flat_keys("cache 5\nrss 7\n")["rss"], 7);
        let (total, cpus) = host_cpu();
        assert!(total > 0 && cpus >= 1);
    }
}
