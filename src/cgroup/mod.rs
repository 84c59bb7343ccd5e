//! Per-container cgroups, v1 (and hybrid) and v2, behind one type:
//! `ContainerCgroup`.
//!
//! - v1 goes through cgroups-rs: it finds each controller's mount in
//!   mountinfo and creates/deletes the group in every hierarchy we use.
//!   The cgroup is `/<id>` at the root of each hierarchy (as the seed
//!   does), or `$BOCKER_CGROUP_PARENT/<id>`.
//! - v2 is direct file writes (`v2.rs`, which says why): the leaf is
//!   `/sys/fs/cgroup/bocker/<id>` (or `$BOCKER_CGROUP_PARENT/<id>`); the
//!   controllers cpu, memory, pids and io (those offered) are delegated
//!   from the root down to the parent first. The parent is shared and
//!   never removed.
//!
//! Limits on v2 (Docker/runc semantics):
//! - cpu.weight = `shares_to_weight(cpu shares)`: runc's and crun's linear
//!   map of v1's 2..262144 onto v2's 1..10000, 1 + (shares−2)·9999/262142.
//!   So 1024 (v1's default) → 39 and 512 (bocker's default) → 20, not v2's
//!   default 100: the map keeps the *ratios between containers* that
//!   v1 shares gave (only ratios matter to the scheduler), and makes a
//!   bocker container on a v2 host weigh what it does under runc/Docker.
//! - memory.max = the memory limit; memory.swap.max = `v2::swap_max`:
//!   Docker turns `--memory M` without `--memory-swap` into memory+swap
//!   = 2M, and v2 limits swap alone, so swap.max = M.
//! - pids.max = `--pids-limit` (0 or less: unlimited).
//!   v1 is unchanged: cpu.shares, memory.limit_in_bytes, pids.max.
//!
//! The device policy goes to the v1 devices controller, or on v2 into a
//! BPF program attached to the leaf (devices, devices_bpf); it stays
//! attached (the kernel holds the program) until the leaf is removed.
pub mod devices;
pub mod devices_bpf;
pub mod resources;
pub mod v2;

pub use devices::{docker_default_rules, DevicePolicy, DeviceRule};
pub use resources::Resources;

use crate::state::containers::{Limits, CPU_PERIOD_US};
use cgroups_rs::fs::{cpu::CpuController, cpuset::CpuSetController, devices::DevicesController, freezer::FreezerController, hierarchies,
    memory::MemController, pid::PidController, Cgroup, Controller, MaxValue};
use cgroups_rs::{CgroupPid, FreezerState};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {path}: {what}: {source}")]
    Op { path: String, what: &'static str, source: cgroups_rs::fs::error::Error },
    #[error("cgroup {0}: still has processes")]
    Busy(String),
    #[error("cgroup {path}: writing {line:?}: {source}")]
    Devices { path: String, line: String, source: std::io::Error },
    #[error("cgroup {0}: no devices controller (cgroup v1 without the devices hierarchy); refusing to run unconfined")]
    NoDevicesController(String),
    #[error("cgroup {path}: device policy: {source}")]
    DeviceFilter { path: String, source: devices_bpf::BpfError },
    #[error("cgroup {path}: {what}: {source}")]
    Io { path: String, what: &'static str, source: std::io::Error },
    #[error("cgroup {0}: not frozen after {1} s")]
    FreezeTimeout(String, u64),
    #[error("cgroup v2: {0}")]
    V2(#[from] v2::V2Error),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, CgroupError>;

/// The v1 hierarchies of a container's cgroup, a store container's or
/// an OCI one's (`create_at`, `load_at`): cpuset for `--cpuset-cpus` (also
/// set later by `update`) and OCI's cpu.cpus and cpu.mems.
const V1_CONTROLLERS: [&str; 7] = ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices"];

/// Where the unified hierarchy is mounted on a v2 host.
pub const V2_ROOT: &str = "/sys/fs/cgroup";
/// The parent of containers' cgroups on v2 when BOCKER_CGROUP_PARENT is unset.
pub const V2_DEFAULT_PARENT: &str = "bocker";
/// How long freeze waits for every task to stop.
pub const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the host runs cgroup v2 only (one statfs per process: the
/// start path asks several times).
pub fn is_v2() -> bool {
    static V2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V2.get_or_init(hierarchies::is_cgroup2_unified_mode)
}

/// The cgroup path for a container (relative to the hierarchy's root).
pub fn path_for(id: &str) -> String {
    path_in(id, std::env::var("BOCKER_CGROUP_PARENT").ok().as_deref(), is_v2())
}

/// `parent/id`; without a parent, `id` at the root on v1 (the seed's
/// layout) and `bocker/id` on v2.
pub fn path_in(id: &str, parent: Option<&str>, v2: bool) -> String {
    match parent.map(|p| p.trim_matches('/')) {
        Some(p) if !p.is_empty() => format!("{p}/{id}"),
        _ if v2 => format!("{V2_DEFAULT_PARENT}/{id}"),
        _ => id.to_string(),
    }
}

enum Backend {
    V1(Cgroup),
    V2(v2::Group),
}

/// A container's cgroup: the only way bocker touches cgroups.
pub struct ContainerCgroup {
    backend: Backend,
    path: String,
}

fn v1_handle(path: &str) -> Cgroup {
    v1_handle_with(path, &V1_CONTROLLERS)
}

fn v1_handle_with(path: &str, controllers: &[&str]) -> Cgroup {
    let ctl = controllers.iter().map(|s| s.to_string()).collect();
    Cgroup::load_with_specified_controllers(hierarchies::auto(), path, ctl)
}

/// CPU shares (v1 scale 2..262144) to cpu.weight (v2 scale 1..10000),
/// runc's formula (see the module doc): 1024 → 39, 512 → 20.
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262144);
    1 + ((s - 2) * 9999) / 262142
}

/// The v2 files a container's limits become, given which controllers
/// its parent delegates (a limit of a missing controller is skipped, as
/// on v1 where a missing hierarchy is).
pub fn v2_settings(limits: &Limits, granted: &[String]) -> v2::Settings {
    let has = |c: &str| granted.iter().any(|g| g == c);
    v2::Settings {
        cpu_weight: has("cpu").then(|| shares_to_weight(limits.cpu_shares)),
        memory_max: (has("memory") && limits.memory > 0).then_some(limits.memory),
        pids_max: limits.pids.filter(|p| *p > 0 && has("pids")),
        swap_max: if has("memory") { v2::swap_max(limits.memory, limits.memory_swap) } else { None },
        memory_low: limits.memory_reservation.filter(|_| has("memory")),
        cpu_max: limits.cpu_quota().filter(|_| has("cpu")).map(|q| format!("{q} {CPU_PERIOD_US}")),
        // asked for: written even if not delegated, so it fails by name
        cpuset_cpus: limits.cpuset_cpus.clone(),
        ..Default::default()
    }
}

/// The limits past the seed's three (memory+swap, reservation, CPU
/// quota, cpuset) as OCI resources for v1; None when none is set.
fn v1_extras(limits: &Limits) -> Option<Resources> {
    let r = Resources {
        memory_swap: limits.memory_swap,
        memory_reservation: limits.memory_reservation,
        cpu_quota: limits.cpu_quota(),
        cpu_period: limits.cpu_quota().map(|_| CPU_PERIOD_US),
        cpuset_cpus: limits.cpuset_cpus.clone(),
        ..Default::default()
    };
    (r != Resources::default()).then_some(r)
}

/// All of a store container's limits as OCI resources, for a live
/// change (`update`): what is not set is reset (no quota: `-1`).
pub fn limits_resources(limits: &Limits) -> Resources {
    Resources {
        memory_limit: Some(if limits.memory > 0 { limits.memory } else { -1 }),
        memory_swap: limits.memory_swap,
        // none: the soft limit removed (-1, the kernel's "no limit")
        memory_reservation: Some(limits.memory_reservation.unwrap_or(-1)),
        cpu_shares: Some(limits.cpu_shares),
        cpu_quota: Some(limits.cpu_quota().unwrap_or(-1)),
        cpu_period: Some(CPU_PERIOD_US),
        cpuset_cpus: limits.cpuset_cpus.clone(),
        pids_limit: Some(limits.pids.filter(|p| *p > 0).unwrap_or(-1)),
        ..Default::default()
    }
}

/// OCI resources as v2 files (runc's conversions: cpu.weight from
/// shares, cpu.max "QUOTA PERIOD" keeping the current quota when only the
/// period changes, memory.swap.max = swap − limit). A limit whose
/// controller is not delegated fails when written, naming the file.
pub fn resources_v2_settings(res: &Resources, current_quota: Option<&str>) -> Result<v2::Settings> {
    let cpu_max = match (res.cpu_quota, res.cpu_period) {
        (None, None) => None,
        (q, p) => {
            let quota = match q {
                Some(q) if q > 0 => q.to_string(),
                Some(_) => "max".to_string(),
                None => current_quota.unwrap_or("max").to_string(),
            };
            Some(match p {
                Some(p) => format!("{quota} {p}"),
                None => quota,
            })
        }
    };
    let swap_max = match (res.memory_swap, res.memory_limit) {
        (None, _) => None,
        (Some(-1), _) => Some("max".to_string()),
        (Some(s), Some(l)) if l > 0 => v2::swap_max(l, Some(s)),
        (Some(_), _) => {
            return Err(CgroupError::Invalid("memory swap limit needs a memory limit on cgroup v2 (swap.max = swap − limit)".into()))
        }
    };
    Ok(v2::Settings {
        cpu_weight: res.cpu_shares.map(shares_to_weight),
        memory_max: res.memory_limit,
        swap_max,
        pids_max: res.pids_limit.map(|p| if p <= 0 { -1 } else { p }),
        memory_low: res.memory_reservation,
        cpu_max,
        cpuset_cpus: res.cpuset_cpus.clone(),
        cpuset_mems: res.cpuset_mems.clone(),
    })
}

/// The controllers a v2 container needs delegated for `limits`.
fn v2_wanted(limits: &Limits) -> &'static [&'static str] {
    if limits.cpuset_cpus.is_some() {
        &v2::WANTED_OCI
    } else {
        &v2::WANTED
    }
}

impl ContainerCgroup {
    /// Creates the container's cgroup and applies its limits and device policy.
    pub fn create(id: &str, limits: &Limits, devices: &DevicePolicy) -> Result<ContainerCgroup> {
        let path = path_for(id);
        let me = if is_v2() {
            Self::create_v2(Path::new(V2_ROOT), &path, limits)?
        } else {
            Self::create_v1(&path, limits)?
        };
        if let Err(e) = me.apply_devices(devices) {
            let _ = me.delete();
            return Err(e);
        }
        Ok(me)
    }

    fn create_v1(path: &str, limits: &Limits) -> Result<ContainerCgroup> {
        let cg = v1_handle(path);
        let op = |what, source| CgroupError::Op { path: path.to_string(), what, source };
        cg.create().map_err(|e| op("create", e))?;
        let me = ContainerCgroup { backend: Backend::V1(cg), path: path.to_string() };
        let Backend::V1(cg) = &me.backend else { unreachable!("made as v1") };
        let applied = (|| {
            if let Some(cpu) = cg.controller_of::<CpuController>() {
                cpu.set_shares(limits.cpu_shares).map_err(|e| op("cpu shares", e))?;
            }
            if let Some(mem) = cg.controller_of::<MemController>() {
                mem.set_limit(limits.memory).map_err(|e| op("memory limit", e))?;
            }
            if let (Some(p), Some(max)) = (cg.controller_of::<PidController>(), limits.pids) {
                let v = if max <= 0 { MaxValue::Max } else { MaxValue::Value(max) };
                p.set_pid_max(v).map_err(|e| op("pids limit", e))?;
            }
            Ok(())
        })()
        .and_then(|()| match v1_extras(limits) {
            Some(extra) => me.update_v1(cg, &extra),
            None => Ok(()),
        });
        if let Err(e) = applied {
            let _ = me.delete();
            return Err(e);
        }
        Ok(me)
    }

    /// v2: delegate the controllers down to the parent, make the leaf,
    /// write the limits. `root` is the unified mount.
    pub fn create_v2(root: &Path, path: &str, limits: &Limits) -> Result<ContainerCgroup> {
        let parent = Path::new(path).parent().unwrap_or(Path::new(""));
        let granted = v2::delegate(root, parent, v2_wanted(limits))?;
        let g = v2::Group::new(root, path);
        g.create()?;
        let me = ContainerCgroup { backend: Backend::V2(g), path: path.to_string() };
        let Backend::V2(g) = &me.backend else { unreachable!("made as v2") };
        if let Err(e) = g.apply(&v2_settings(limits, &granted)) {
            let _ = me.delete();
            return Err(e.into());
        }
        Ok(me)
    }

    /// Writes the device policy: v1 devices.deny/devices.allow, or a BPF
    /// program attached to the v2 cgroup directory.
    fn apply_devices(&self, policy: &DevicePolicy) -> Result<()> {
        match &self.backend {
            Backend::V2(g) => devices_bpf::apply_v2(&g.dir, policy)
                .map_err(|source| CgroupError::DeviceFilter { path: self.path.clone(), source }),
            Backend::V1(cg) => match cg.controller_of::<DevicesController>() {
                Some(dc) => devices::apply_v1(dc.path(), policy),
                None if *policy == DevicePolicy::AllowAll => Ok(()),
                None => Err(CgroupError::NoDevicesController(self.path.clone())),
            },
        }
    }

    /// Creates an OCI container's cgroup at `path` (below each
    /// hierarchy's root; see `resources::oci_path`) with `res` applied,
    /// device rules included. On error nothing is left behind (an
    /// existing cgroup at `path` is reused, as runc does).
    pub fn create_at(path: &str, res: &Resources) -> Result<ContainerCgroup> {
        let path = resources::clean_rooted(path);
        let me = if is_v2() {
            let root = Path::new(V2_ROOT);
            let parent = Path::new(&path).parent().unwrap_or(Path::new(""));
            v2::delegate(root, parent, &v2::WANTED_OCI)?;
            let g = v2::Group::new(root, &path);
            g.create()?;
            ContainerCgroup { backend: Backend::V2(g), path }
        } else {
            let cg = v1_handle_with(&path, &V1_CONTROLLERS);
            cg.create().map_err(|source| CgroupError::Op { path: path.clone(), what: "create", source })?;
            ContainerCgroup { backend: Backend::V1(cg), path }
        };
        if let Err(e) = me.update(res) {
            let _ = me.delete();
            return Err(e);
        }
        Ok(me)
    }

    /// Applies a store container's limits to its existing cgroup (a live
    /// `update`): all of them, so one no longer set is reset.
    pub fn apply_limits(&self, limits: &Limits) -> Result<()> {
        match &self.backend {
            Backend::V2(g) => {
                let root = Path::new(V2_ROOT);
                let parent = Path::new(&self.path).parent().unwrap_or(Path::new(""));
                let granted = v2::delegate(root, parent, v2_wanted(limits))?;
                let mut s = v2_settings(limits, &granted);
                let has = |c: &str| granted.iter().any(|g| g == c);
                if has("memory") && limits.memory <= 0 {
                    s.memory_max = Some(-1);
                    s.swap_max = Some("max".into());
                }
                if has("pids") && s.pids_max.is_none() {
                    s.pids_max = Some(-1);
                }
                if has("memory") && s.memory_low.is_none() {
                    s.memory_low = Some(0);
                }
                if has("cpu") && s.cpu_max.is_none() {
                    s.cpu_max = Some(format!("max {CPU_PERIOD_US}"));
                }
                Ok(g.apply(&s)?)
            }
            Backend::V1(cg) => self.update_v1(cg, &limits_resources(limits)),
        }
    }

    /// A handle on an OCI container's cgroup at `path` (as `create_at`).
    pub fn load_at(path: &str) -> ContainerCgroup {
        let path = resources::clean_rooted(path);
        let backend = if is_v2() {
            Backend::V2(v2::Group::new(Path::new(V2_ROOT), &path))
        } else {
            Backend::V1(v1_handle_with(&path, &V1_CONTROLLERS))
        };
        ContainerCgroup { backend, path }
    }

    /// Applies the limits `res` asks for (devices only if it has rules);
    /// what it leaves `None` stays as it is.
    pub fn update(&self, res: &Resources) -> Result<()> {
        match &self.backend {
            Backend::V2(g) => {
                let current_quota = g.cpu_quota();
                g.apply(&resources_v2_settings(res, current_quota.as_deref())?)?;
            }
            Backend::V1(cg) => self.update_v1(cg, res)?,
        }
        if let Some(policy) = &res.devices {
            self.apply_devices(policy)?;
        }
        Ok(())
    }

    fn update_v1(&self, cg: &Cgroup, res: &Resources) -> Result<()> {
        let op = |what, source| CgroupError::Op { path: self.path.clone(), what, source };
        let missing = |what: &str| CgroupError::Unsupported(format!("cgroup {}: no {what} controller (v1 hierarchy missing)", self.path));
        if res.memory_limit.is_some() || res.memory_swap.is_some() || res.memory_reservation.is_some() {
            let mem = cg.controller_of::<MemController>().ok_or_else(|| missing("memory"))?;
            // memory.limit must stay <= memsw.limit at every step: when
            // one order fails, the other one is right (runc does the same)
            let limit_then_swap = || -> std::result::Result<(), cgroups_rs::fs::error::Error> {
                if let Some(l) = res.memory_limit {
                    mem.set_limit(l)?;
                }
                if let Some(s) = res.memory_swap {
                    mem.set_memswap_limit(s)?;
                }
                Ok(())
            };
            if limit_then_swap().is_err() {
                if let Some(s) = res.memory_swap {
                    mem.set_memswap_limit(s).map_err(|e| op("memory+swap limit", e))?;
                }
                if let Some(l) = res.memory_limit {
                    mem.set_limit(l).map_err(|e| op("memory limit", e))?;
                }
            }
            if let Some(r) = res.memory_reservation {
                mem.set_soft_limit(r).map_err(|e| op("memory reservation", e))?;
            }
        }
        if res.cpu_shares.is_some() || res.cpu_quota.is_some() || res.cpu_period.is_some() {
            let cpu = cg.controller_of::<CpuController>().ok_or_else(|| missing("cpu"))?;
            if let Some(s) = res.cpu_shares {
                cpu.set_shares(s).map_err(|e| op("cpu shares", e))?;
            }
            let quota = res.cpu_quota.map(|q| if q <= 0 { -1 } else { q });
            cpu.set_cfs_quota_and_period(quota, res.cpu_period).map_err(|e| op("cpu quota/period", e))?;
        }
        if res.cpuset_cpus.is_some() || res.cpuset_mems.is_some() {
            let cs = cg.controller_of::<CpuSetController>().ok_or_else(|| missing("cpuset"))?;
            if let Some(c) = &res.cpuset_cpus {
                cs.set_cpus(c).map_err(|e| op("cpuset.cpus", e))?;
            }
            if let Some(m) = &res.cpuset_mems {
                cs.set_mems(m).map_err(|e| op("cpuset.mems", e))?;
            }
        }
        if let Some(max) = res.pids_limit {
            let p = cg.controller_of::<PidController>().ok_or_else(|| missing("pids"))?;
            let v = if max <= 0 { MaxValue::Max } else { MaxValue::Value(max) };
            p.set_pid_max(v).map_err(|e| op("pids limit", e))?;
        }
        Ok(())
    }

    /// A handle on an existing container cgroup.
    pub fn load(id: &str) -> ContainerCgroup {
        let path = path_for(id);
        let backend = if is_v2() { Backend::V2(v2::Group::new(Path::new(V2_ROOT), &path)) } else { Backend::V1(v1_handle(&path)) };
        ContainerCgroup { backend, path }
    }

    /// The folder whose files a controller's numbers are read from (the
    /// v2 leaf for any controller; on v1 that controller's hierarchy, e.g.
    /// "memory", "cpuacct", "pids", "blkio"), for `stats`.
    pub fn dir_of(&self, controller: &str) -> Option<PathBuf> {
        match &self.backend {
            Backend::V2(g) => Some(g.dir.clone()),
            Backend::V1(cg) => cg
                .subsystems()
                .iter()
                .find(|s| s.controller_name().split(',').any(|c| c == controller))
                .map(|s| s.to_controller().path().to_path_buf()),
        }
    }

    /// The v2 leaf, opened as a directory, for a process to be born in
    /// (clone3's CLONE_INTO_CGROUP); None on v1 (a process joins each
    /// hierarchy by [`ContainerCgroup::add_process`]) or if it cannot be
    /// opened (the caller then moves the process in).
    pub fn v2_dir_fd(&self) -> Option<std::os::fd::OwnedFd> {
        match &self.backend {
            Backend::V2(g) => std::fs::File::open(&g.dir).ok().map(Into::into),
            Backend::V1(_) => None,
        }
    }

    /// For a process that is about to fork the container's next process
    /// (`exec`): the v2 folder to be born in when clone3 into it works
    /// here (a probe child shows it: an outer seccomp filter may refuse
    /// clone3), else this process is moved in now, before it joins the
    /// cgroup namespace rooted there.
    pub fn birthplace_or_join(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        let born_in = self.v2_dir_fd().filter(|d| crate::sys::process::can_fork_into_cgroup(std::os::fd::AsFd::as_fd(d)));
        if born_in.is_none() {
            self.add_process(std::process::id() as i32)?;
        }
        Ok(born_in)
    }

    /// The path below the hierarchy's root (`ps_…`, `bocker/ps_…`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn exists(&self) -> bool {
        match &self.backend {
            Backend::V1(cg) => cg.exists(),
            Backend::V2(g) => g.exists(),
        }
    }

    /// Moves a process (all its threads) into the cgroup: cgroup.procs of
    /// every v1 hierarchy, or of the v2 leaf.
    pub fn add_process(&self, pid: i32) -> Result<()> {
        match &self.backend {
            Backend::V1(cg) => cg
                .add_task_by_tgid(CgroupPid::from(pid as u64))
                .map_err(|source| CgroupError::Op { path: self.path.clone(), what: "add process", source }),
            Backend::V2(g) => Ok(g.add_process(pid)?),
        }
    }

    /// Stops every process of the container and waits until the kernel
    /// says all are stopped (v1 freezer.state FROZEN, v2 cgroup.events
    /// `frozen 1`), up to FREEZE_TIMEOUT; on timeout it thaws again.
    pub fn freeze(&self) -> Result<()> {
        match &self.backend {
            Backend::V2(g) => Ok(g.freeze(FREEZE_TIMEOUT)?),
            Backend::V1(cg) => {
                let Some(f) = cg.controller_of::<FreezerController>() else { return Ok(()) };
                let op = |what, source| CgroupError::Op { path: self.path.clone(), what, source };
                f.freeze().map_err(|e| op("freeze", e))?;
                let start = Instant::now();
                let mut delay = 1;
                while !matches!(f.state(), Ok(FreezerState::Frozen)) {
                    if start.elapsed() >= FREEZE_TIMEOUT {
                        let _ = f.thaw();
                        return Err(CgroupError::FreezeTimeout(self.path.clone(), FREEZE_TIMEOUT.as_secs()));
                    }
                    std::thread::sleep(Duration::from_millis(delay));
                    delay = (delay * 2).min(20);
                }
                Ok(())
            }
        }
    }

    pub fn thaw(&self) -> Result<()> {
        match &self.backend {
            Backend::V2(g) => Ok(g.thaw()?),
            Backend::V1(cg) => match cg.controller_of::<FreezerController>() {
                Some(f) => f.thaw().map_err(|source| CgroupError::Op { path: self.path.clone(), what: "thaw", source }),
                None => Ok(()),
            },
        }
    }

    /// Frozen or being frozen: the container is paused.
    pub fn is_frozen(&self) -> bool {
        match &self.backend {
            Backend::V2(g) => g.is_frozen(),
            Backend::V1(cg) => cg
                .controller_of::<FreezerController>()
                .is_some_and(|f| matches!(f.state(), Ok(FreezerState::Frozen | FreezerState::Freezing))),
        }
    }

    /// Whether the OOM killer killed a process of this cgroup: v2
    /// memory.events `oom_kill`, v1 memory.oom_control `oom_kill`. Read
    /// it before `delete`.
    pub fn oom_killed(&self) -> bool {
        match &self.backend {
            Backend::V2(g) => g.oom_kills() > 0,
            Backend::V1(cg) => cg.controller_of::<MemController>().is_some_and(|m| {
                std::fs::read_to_string(m.path().join("memory.oom_control"))
                    .ok()
                    .and_then(|t| v2::flat_key(&t, "oom_kill"))
                    .is_some_and(|n| n > 0)
            }),
        }
    }

    pub fn processes(&self) -> Vec<u64> {
        match &self.backend {
            Backend::V1(cg) => cg.procs().into_iter().map(|p| p.pid).collect(),
            Backend::V2(g) => g.processes(),
        }
    }

    /// Removes the cgroup (every v1 hierarchy's folder, or the v2 leaf;
    /// never the v2 parent), waiting briefly for exiting processes to go.
    pub fn delete(&self) -> Result<()> {
        match &self.backend {
            Backend::V2(g) => match g.delete(200) {
                Ok(()) => Ok(()),
                Err((true, _)) => Err(CgroupError::Busy(self.path.clone())),
                Err((false, source)) => Err(CgroupError::Io { path: self.path.clone(), what: "delete", source }),
            },
            Backend::V1(cg) => {
                if !cg.exists() {
                    return Ok(());
                }
                let mut last = None;
                for i in 0..200 {
                    match cg.delete() {
                        Ok(()) if !cg.exists() => return Ok(()),
                        Ok(()) => {}
                        Err(e) => last = Some(e),
                    }
                    std::thread::sleep(Duration::from_millis(if i < 20 { 1 } else { 10 }));
                }
                match last {
                    Some(source) => Err(CgroupError::Op { path: self.path.clone(), what: "delete", source }),
                    None => Err(CgroupError::Busy(self.path.clone())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn weight_conversion_matches_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262144), 10000);
        // out of range clamps
        assert_eq!(shares_to_weight(0), 1);
        assert_eq!(shares_to_weight(1 << 40), 10000);
    }

    #[test]
    fn paths_per_version() {
        assert_eq!(path_in("ps_1", None, false), "ps_1");
        assert_eq!(path_in("ps_1", None, true), "bocker/ps_1");
        assert_eq!(path_in("ps_1", Some("/my/parent/"), true), "my/parent/ps_1");
        assert_eq!(path_in("ps_1", Some("/"), false), "ps_1");
        assert_eq!(path_in("ps_1", Some(""), true), "bocker/ps_1");
    }

    #[test]
    fn limits_as_v2_files() {
        let all: Vec<String> = ["cpu", "memory", "pids", "io"].iter().map(|s| s.to_string()).collect();
        let l = Limits { cpu_shares: 1024, memory: 64_000_000, pids: Some(10), ..Default::default() };
        assert_eq!(
            v2_settings(&l, &all),
            v2::Settings { cpu_weight: Some(39), memory_max: Some(64_000_000), swap_max: Some("64000000".into()), pids_max: Some(10), ..Default::default() }
        );
        // no limits: nothing written; a controller not delegated: skipped
        let none = Limits { cpu_shares: 512, memory: -1, pids: Some(0), ..Default::default() };
        assert_eq!(v2_settings(&none, &all), v2::Settings { cpu_weight: Some(20), ..Default::default() });
        assert_eq!(v2_settings(&l, &all[1..2]), v2::Settings { memory_max: Some(64_000_000), swap_max: Some("64000000".into()), ..Default::default() });
        // the run flags past the seed's three
        let more = Limits {
            cpu_shares: 1024,
            memory: 64 << 20,
            memory_swap: Some(128 << 20),
            memory_reservation: Some(32 << 20),
            nano_cpus: Some(1_500_000_000),
            cpuset_cpus: Some("0-1".into()),
            ..Default::default()
        };
        let s = v2_settings(&more, &all);
        assert_eq!(s.swap_max.as_deref(), Some("67108864"), "swap alone: 128m - 64m");
        assert_eq!((s.memory_low, s.cpu_max.as_deref(), s.cpuset_cpus.as_deref()), (Some(32 << 20), Some("150000 100000"), Some("0-1")));
        assert_eq!(v2_wanted(&more), &v2::WANTED_OCI[..], "cpuset delegated when asked for");
        assert_eq!(v2_wanted(&l), &v2::WANTED[..]);
        // v1: only what is set goes through the update writes at create;
        // a live update resets what is unset
        assert!(v1_extras(&l).is_none());
        let x = v1_extras(&more).unwrap();
        assert_eq!((x.cpu_quota, x.cpu_period, x.memory_swap), (Some(150_000), Some(100_000), Some(128 << 20)));
        let r = limits_resources(&l);
        assert_eq!((r.cpu_quota, r.memory_reservation, r.pids_limit), (Some(-1), Some(-1), Some(10)));
    }

    #[test]
    fn oci_resources_as_v2_files() {
        let r = Resources {
            memory_limit: Some(64 << 20),
            memory_swap: Some(96 << 20),
            memory_reservation: Some(1 << 20),
            cpu_shares: Some(1024),
            cpu_quota: Some(50000),
            cpu_period: Some(100000),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(-1),
            ..Default::default()
        };
        let s = resources_v2_settings(&r, None).expect("settings");
        assert_eq!(s.cpu_weight, Some(39));
        assert_eq!(s.cpu_max.as_deref(), Some("50000 100000"));
        assert_eq!(s.swap_max.as_deref(), Some("33554432"));
        assert_eq!((s.memory_max, s.memory_low, s.pids_max), (Some(64 << 20), Some(1 << 20), Some(-1)));
        assert_eq!(s.cpuset_cpus.as_deref(), Some("0"));
        // only the period: the current quota stays
        let p = Resources { cpu_period: Some(20000), ..Default::default() };
        assert_eq!(resources_v2_settings(&p, Some("7000")).expect("period").cpu_max.as_deref(), Some("7000 20000"));
        let q = Resources { cpu_quota: Some(-1), ..Default::default() };
        assert_eq!(resources_v2_settings(&q, Some("7000")).expect("quota").cpu_max.as_deref(), Some("max"));
        // swap without a limit cannot be expressed on v2
        assert!(resources_v2_settings(&Resources { memory_swap: Some(1 << 20), ..Default::default() }, None).is_err());
        assert_eq!(resources_v2_settings(&Resources::default(), None).expect("empty"), v2::Settings::default());
    }

    /// As root on v1: an OCI cgroup at a nested absolute path gets its
    /// limits in every hierarchy, an update changes them, delete removes it.
    #[test]
    fn v1_create_at_update_and_delete() {
        let mem_root = std::path::Path::new("/sys/fs/cgroup/memory");
        if !nix::unistd::geteuid().is_root() || is_v2() || !mem_root.join("memory.limit_in_bytes").exists() {
            eprintln!("v1_create_at_update_and_delete: needs root and v1 memory, skipped");
            return;
        }
        let path = format!("bocker-runc-cgtest-{}/ctr", std::process::id());
        struct RmParent(String);
        impl Drop for RmParent {
            fn drop(&mut self) {
                for c in V1_CONTROLLERS {
                    let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join(&self.0));
                }
            }
        }
        let _parent = RmParent(path.split('/').next().expect("parent").to_string());
        let res = Resources {
            memory_limit: Some(64 << 20),
            cpu_shares: Some(256),
            cpu_quota: Some(20000),
            cpu_period: Some(100000),
            pids_limit: Some(7),
            cpuset_cpus: Some("0".into()),
            devices: Some(DevicePolicy::Rules(docker_default_rules())),
            ..Default::default()
        };
        let cg = Gone(ContainerCgroup::create_at(&format!("/{path}"), &res).expect("create_at"));
        let read = |ctl: &str, file: &str| {
            std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(ctl).join(&path).join(file)).expect(file).trim().to_string()
        };
        assert_eq!(read("memory", "memory.limit_in_bytes"), (64u64 << 20).to_string());
        assert_eq!(read("cpu", "cpu.shares"), "256");
        assert_eq!(read("cpu", "cpu.cfs_quota_us"), "20000");
        assert_eq!(read("pids", "pids.max"), "7");
        assert_eq!(read("cpuset", "cpuset.cpus"), "0");
        assert!(!read("devices", "devices.list").contains("a *:* rwm"), "device rules applied");
        let loaded = ContainerCgroup::load_at(&path);
        assert!(loaded.exists());
        loaded
            .update(&Resources { memory_limit: Some(32 << 20), pids_limit: Some(0), cpu_quota: Some(-1), ..Default::default() })
            .expect("update");
        assert_eq!(read("memory", "memory.limit_in_bytes"), (32u64 << 20).to_string());
        assert_eq!(read("pids", "pids.max"), "max");
        assert_eq!(read("cpu", "cpu.cfs_quota_us"), "-1");
        assert_eq!(read("cpu", "cpu.shares"), "256", "left alone");
        drop(cg);
        assert!(!Path::new("/sys/fs/cgroup/memory").join(&path).exists());
        // a refused limit leaves nothing behind
        let bad = Resources { cpuset_cpus: Some("9999".into()), ..Default::default() };
        assert!(ContainerCgroup::create_at(&path, &bad).is_err());
        assert!(!Path::new("/sys/fs/cgroup/cpuset").join(&path).exists());
    }

    /// Deletes the test cgroup however the test ends.
    struct Gone(ContainerCgroup);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = self.0.delete();
        }
    }

    /// The v2 backend end to end on a real cgroup2 mount (the hybrid
    /// /sys/fs/cgroup/unified here: no controllers offered, so no limit
    /// files; a v2 host: all of them): create under a parent, the device
    /// program attached and deciding, a process added, freeze/thaw and
    /// paused, no OOM kill, delete of the leaf only.
    #[test]
    fn v2_backend_on_a_real_cgroup2_mount() {
        let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].into_iter().map(Path::new).find(|p| {
            nix::sys::statfs::statfs(*p).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        });
        let Some(root) = root.filter(|_| nix::unistd::geteuid().is_root()) else {
            eprintln!("v2_backend_on_a_real_cgroup2_mount: needs root and a cgroup2 mount, skipped");
            return;
        };
        let parent = format!("bocker-cgtest-{}", std::process::id());
        let path = format!("{parent}/ps_test");
        struct Rm(std::path::PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir(self.0.join("ps_test"));
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let _rm = Rm(root.join(&parent));
        let limits = Limits { cpu_shares: 1024, memory: 64_000_000, pids: Some(10), ..Default::default() };
        let cg = ContainerCgroup::create_v2(root, &path, &limits).expect("create");
        let leaf = root.join(&path);
        let offered = std::fs::read_to_string(root.join(&parent).join("cgroup.controllers")).expect("controllers");
        if offered.split_whitespace().any(|c| c == "cpu") {
            assert_eq!(std::fs::read_to_string(leaf.join("cpu.weight")).expect("weight").trim(), "39");
        }
        if offered.split_whitespace().any(|c| c == "pids") {
            assert_eq!(std::fs::read_to_string(leaf.join("pids.max")).expect("pids").trim(), "10");
        }
        // Docker's list without /dev/full (1:7): a child here cannot open it
        let policy = DevicePolicy::Rules(
            docker_default_rules().into_iter().filter(|r| (r.major, r.minor) != (Some(1), Some(7))).collect(),
        );
        cg.apply_devices(&policy).expect("device program");
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read x; if head -c1 /dev/full >/dev/null 2>&1; then echo full; else echo denied; fi; exec sleep 30"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        cg.add_process(child.id() as i32).expect("add");
        assert_eq!(cg.processes(), [child.id() as u64]);
        {
            use std::io::{BufRead, Write};
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(b"go\n").expect("go");
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("read");
            assert_eq!(line.trim(), "denied", "the device program stays attached after create returned");
        }
        assert!(!cg.is_frozen());
        cg.freeze().expect("freeze");
        assert!(cg.is_frozen());
        cg.thaw().expect("thaw");
        assert!(!cg.is_frozen());
        assert!(!cg.oom_killed());
        assert!(matches!(cg.delete(), Err(CgroupError::Busy(_))), "populated");
        child.kill().expect("kill");
        child.wait().expect("wait");
        cg.delete().expect("delete");
        assert!(!cg.exists() && !leaf.exists());
        assert!(root.join(&parent).is_dir(), "the parent stays");
    }

    /// As root on v1: the kernel's devices.list after create equals the
    /// list the policy is meant to produce.
    #[test]
    fn v1_devices_list_is_the_policy() {
        let root = std::path::Path::new("/sys/fs/cgroup/devices");
        if !nix::unistd::geteuid().is_root() || is_v2() || !root.join("devices.list").exists() {
            eprintln!("v1_devices_list_is_the_policy: needs root and a v1 devices hierarchy, skipped");
            return;
        }
        let id = format!("bocker-devtest-{}", std::process::id());
        let limits = Limits { cpu_shares: 1024, memory: -1, pids: None, ..Default::default() };
        let mut with_device = docker_default_rules();
        with_device.push("c 10:229 rw".parse().expect("rule"));
        with_device.push(DeviceRule::parse("c 1:9 w", false).expect("rule"));
        for policy in [DevicePolicy::Rules(docker_default_rules()), DevicePolicy::Rules(with_device), DevicePolicy::AllowAll] {
            let cg = Gone(ContainerCgroup::create(&id, &limits, &policy).expect("create"));
            let list = std::fs::read_to_string(root.join(path_for(&id)).join("devices.list")).expect("devices.list");
            drop(cg);
            let got: Vec<&str> = list.lines().collect();
            assert_eq!(got, policy.device_list().render(), "{policy:?}");
            assert!(!root.join(path_for(&id)).exists(), "deleted");
        }
    }
}
