//! OCI `linux.resources` as the limits bocker applies, and the OCI rules
//! for where a container's cgroup lives (`linux.cgroupsPath`).
//!
//! Supported: memory (limit, reservation, swap), cpu (shares, quota,
//! period, cpus, mems), pids.limit and device rules. Every other field
//! that asks for something (hugepageLimits, blockIO, network, rdma,
//! unified, memory.kernel/kernelTCP/swappiness/disableOOMKiller, cpu
//! realtime/idle/burst) is refused: a limit silently dropped is a
//! container running with less confinement than its configuration says.
//!
//! Paths follow runc's cgroupfs driver (libcontainer/cgroups/fs
//! `subsysPath`, fs2 `defaultDirPath`): no cgroupsPath → `/<id>` at the
//! root of each hierarchy; an absolute one → that path below each root;
//! a relative one → below the caller's own cgroup. `..` never climbs
//! above the root (runc's `CleanPath`).
use super::devices::{Access, DeviceKind, DevicePolicy, DeviceRule};
use super::CgroupError;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

/// The limits of a container cgroup, as OCI states them. `None`: not
/// asked for (left as the kernel or an earlier update set it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// bytes; -1 unlimited
    pub memory_limit: Option<i64>,
    /// bytes (v1 memory.soft_limit_in_bytes, v2 memory.low)
    pub memory_reservation: Option<i64>,
    /// memory + swap in bytes (v1's memsw meaning, OCI's too); -1 unlimited
    pub memory_swap: Option<i64>,
    pub cpu_shares: Option<u64>,
    /// µs per period; -1 or 0: unlimited
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// 0 or less: unlimited
    pub pids_limit: Option<i64>,
    /// None: no device rules in the configuration (none written)
    pub devices: Option<DevicePolicy>,
}

fn empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(|v| v.is_empty())
}

fn refuse(field: &str) -> CgroupError {
    CgroupError::Unsupported(format!("linux.resources.{field} is not supported by bocker"))
}

impl Resources {
    /// Converts and checks OCI resources: an unsupported field that asks
    /// for something is an error naming it; empty or absent ones are fine.
    pub fn from_oci(r: &LinuxResources) -> Result<Resources, CgroupError> {
        if r.hugepage_limits().as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(refuse("hugepageLimits"));
        }
        if let Some(b) = r.block_io() {
            if b.weight().is_some() || b.leaf_weight().is_some() || !empty(b.weight_device()) {
                return Err(refuse("blockIO (weights)"));
            }
            if !empty(b.throttle_read_bps_device())
                || !empty(b.throttle_write_bps_device())
                || !empty(b.throttle_read_iops_device())
                || !empty(b.throttle_write_iops_device())
            {
                return Err(refuse("blockIO (throttles)"));
            }
        }
        if let Some(n) = r.network() {
            if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|v| !v.is_empty()) {
                return Err(refuse("network"));
            }
        }
        if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(refuse("rdma"));
        }
        if r.unified().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(refuse("unified"));
        }
        let mut out = Resources::default();
        if let Some(m) = r.memory() {
            #[allow(deprecated)]
            if m.kernel().is_some() {
                return Err(refuse("memory.kernel"));
            }
            if m.kernel_tcp().is_some() {
                return Err(refuse("memory.kernelTCP"));
            }
            if m.swappiness().is_some() {
                return Err(refuse("memory.swappiness"));
            }
            if m.disable_oom_killer() == Some(true) {
                return Err(refuse("memory.disableOOMKiller"));
            }
            out.memory_limit = m.limit();
            out.memory_reservation = m.reservation();
            out.memory_swap = m.swap();
            if let (Some(l), Some(s)) = (m.limit(), m.swap()) {
                if l > 0 && s > 0 && s < l {
                    return Err(CgroupError::Invalid(format!(
                        "linux.resources.memory.swap ({s}) must not be below memory.limit ({l}): swap counts memory plus swap"
                    )));
                }
            }
        }
        if let Some(c) = r.cpu() {
            if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
                return Err(refuse("cpu.realtimeRuntime/realtimePeriod"));
            }
            if c.idle().is_some() {
                return Err(refuse("cpu.idle"));
            }
            if c.burst().is_some() {
                return Err(refuse("cpu.burst"));
            }
            out.cpu_shares = c.shares();
            out.cpu_quota = c.quota();
            out.cpu_period = c.period();
            out.cpuset_cpus = c.cpus().clone().filter(|s| !s.is_empty());
            out.cpuset_mems = c.mems().clone().filter(|s| !s.is_empty());
        }
        if let Some(p) = r.pids() {
            out.pids_limit = Some(p.limit());
        }
        if let Some(list) = r.devices() {
            if !list.is_empty() {
                let rules = list.iter().map(device_rule).collect::<Result<Vec<_>, _>>()?;
                out.devices = Some(DevicePolicy::Rules(rules));
            }
        }
        Ok(out)
    }
}

/// One OCI device cgroup entry as a v1 rule (type absent or "a" is all
/// devices; a negative or absent number is the wildcard; absent access is rwm).
fn device_rule(d: &LinuxDeviceCgroup) -> Result<DeviceRule, CgroupError> {
    let kind = match d.typ() {
        None | Some(LinuxDeviceType::A) => DeviceKind::All,
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => DeviceKind::Char,
        Some(LinuxDeviceType::B) => DeviceKind::Block,
        Some(LinuxDeviceType::P) => {
            return Err(CgroupError::Invalid("linux.resources.devices: type \"p\" (fifo) has no cgroup rule".into()))
        }
    };
    let number = |n: Option<i64>, what: &str| -> Result<Option<u32>, CgroupError> {
        match n {
            None => Ok(None),
            Some(v) if v < 0 => Ok(None),
            Some(v) => u32::try_from(v)
                .map(Some)
                .map_err(|_| CgroupError::Invalid(format!("linux.resources.devices: {what} {v} out of range"))),
        }
    };
    let access = match d.access().as_deref() {
        None | Some("") => Access::RWM,
        Some(a) => a
            .parse::<Access>()
            .map_err(|e| CgroupError::Invalid(format!("linux.resources.devices: {e}")))?,
    };
    Ok(DeviceRule::new(d.allow(), kind, number(d.major(), "major")?, number(d.minor(), "minor")?, access))
}

/// `path` cleaned as runc's CleanPath does, rooted: `.` and empty parts
/// dropped, `..` removes the part before it and never climbs above the
/// root. Returned without a leading `/`.
pub fn clean_rooted(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// The cgroup path (below each hierarchy's root, no leading `/`) of
/// container `id` given its `linux.cgroupsPath` and the caller's own
/// cgroup (`own`, as /proc/self/cgroup says it).
pub fn oci_path(cgroups_path: Option<&str>, id: &str, own: &str) -> String {
    match cgroups_path.filter(|p| !p.is_empty()) {
        None => clean_rooted(id),
        Some(p) if p.starts_with('/') => clean_rooted(p),
        Some(p) => clean_rooted(&format!("{own}/{}", clean_rooted(p))),
    }
}

/// The caller's own cgroup: v2's `0::PATH` line, or on v1 the memory
/// hierarchy's line (the one bocker's v1 cgroups are created in first).
pub fn own_cgroup(proc_self_cgroup: &str, v2: bool) -> String {
    proc_self_cgroup
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (id, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            let hit = if v2 { id == "0" && ctrls.is_empty() } else { ctrls.split(',').any(|c| c == "memory") };
            hit.then(|| path.to_string())
        })
        .unwrap_or_else(|| "/".into())
}

/// `oci_path` for this process on this host.
pub fn oci_path_here(cgroups_path: Option<&str>, id: &str) -> String {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    oci_path(cgroups_path, id, &own_cgroup(&own, super::is_v2()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> Result<Resources, CgroupError> {
        Resources::from_oci(&serde_json::from_str(json).expect("valid LinuxResources"))
    }

    #[test]
    fn supported_fields_convert() {
        let r = res(r#"{"memory":{"limit":67108864,"reservation":1048576,"swap":134217728},
            "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0","mems":"0"},
            "pids":{"limit":42},
            "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
                       {"allow":true,"type":"c","major":136,"access":"rwm"}]}"#)
        .expect("supported");
        assert_eq!(r.memory_limit, Some(67108864));
        assert_eq!(r.memory_reservation, Some(1048576));
        assert_eq!(r.memory_swap, Some(134217728));
        assert_eq!((r.cpu_shares, r.cpu_quota, r.cpu_period), (Some(512), Some(50000), Some(100000)));
        assert_eq!((r.cpuset_cpus.as_deref(), r.cpuset_mems.as_deref()), (Some("0"), Some("0")));
        assert_eq!(r.pids_limit, Some(42));
        let Some(DevicePolicy::Rules(rules)) = r.devices else { panic!("rules expected") };
        assert_eq!(
            rules,
            vec![
                DeviceRule::new(false, DeviceKind::All, None, None, Access::RWM),
                DeviceRule::new(true, DeviceKind::Char, Some(1), Some(3), Access::RW),
                DeviceRule::new(true, DeviceKind::Char, Some(136), None, Access::RWM),
            ]
        );
    }

    #[test]
    fn empty_and_absent_fields_are_fine() {
        assert_eq!(res("{}").expect("empty"), Resources::default());
        let r = res(r#"{"hugepageLimits":[],"blockIO":{},"rdma":{},"unified":{},"network":{},"devices":[],
            "memory":{"disableOOMKiller":false}}"#)
        .expect("empty parts");
        assert_eq!(r, Resources::default());
    }

    #[test]
    fn unsupported_fields_are_refused_by_name() {
        for (json, name) in [
            (r#"{"hugepageLimits":[{"pageSize":"2MB","limit":1}]}"#, "hugepageLimits"),
            (r#"{"blockIO":{"weight":10}}"#, "blockIO"),
            (r#"{"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1}]}}"#, "blockIO"),
            (r#"{"network":{"classID":1}}"#, "network"),
            (r#"{"rdma":{"mlx":{"hcaHandles":1}}}"#, "rdma"),
            (r#"{"unified":{"memory.high":"1"}}"#, "unified"),
            (r#"{"memory":{"kernel":1}}"#, "memory.kernel"),
            (r#"{"memory":{"swappiness":10}}"#, "memory.swappiness"),
            (r#"{"memory":{"disableOOMKiller":true}}"#, "memory.disableOOMKiller"),
            (r#"{"cpu":{"realtimeRuntime":1}}"#, "cpu.realtime"),
        ] {
            let e = res(json).expect_err(json).to_string();
            assert!(e.contains(name) && e.contains("not supported"), "{json}: {e}");
        }
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(res(r#"{"memory":{"limit":100,"swap":50}}"#).is_err());
        assert!(res(r#"{"devices":[{"allow":true,"type":"c","major":1,"access":"rwx"}]}"#).is_err());
        assert!(res(r#"{"devices":[{"allow":true,"type":"p"}]}"#).is_err());
    }

    #[test]
    fn paths_as_runc_makes_them() {
        assert_eq!(oci_path(None, "ctr", "/user.slice"), "ctr");
        assert_eq!(oci_path(Some(""), "ctr", "/"), "ctr");
        assert_eq!(oci_path(Some("/a/b/ctr"), "x", "/own"), "a/b/ctr");
        assert_eq!(oci_path(Some("/../../etc//x/./y"), "x", "/own"), "etc/x/y");
        assert_eq!(oci_path(Some("rel/ctr"), "x", "/own/grp"), "own/grp/rel/ctr");
        assert_eq!(oci_path(Some("../../../up"), "x", "/own/grp"), "own/grp/up");
        assert_eq!(oci_path(Some("rel"), "x", "/"), "rel");
    }

    #[test]
    fn own_cgroup_from_proc_self_cgroup() {
        let v1 = "12:pids:/p\n5:memory:/mine/here\n1:name=systemd:/s\n0::/unified\n";
        assert_eq!(own_cgroup(v1, false), "/mine/here");
        assert_eq!(own_cgroup(v1, true), "/unified");
        assert_eq!(own_cgroup("", true), "/");
        assert_eq!(own_cgroup("4:cpu,memory:/x\n", false), "/x");
    }
}
