//! Per-container cgroups through cgroups-rs, on v1 (and hybrid) and v2.
//! The cgroup is named after the container (`/ps_…`) at the root of each
//! hierarchy, as the seed does, unless BOCKER_CGROUP_PARENT names a parent.
//! The device policy goes to the v1 devices controller, or on v2 into a
//! BPF program attached to the cgroup (devices, devices_bpf).
pub mod devices;
pub mod devices_bpf;

pub use devices::{docker_default_rules, DevicePolicy, DeviceRule};

use crate::state::containers::Limits;
use cgroups_rs::fs::{cpu::CpuController, devices::DevicesController, freezer::FreezerController, hierarchies,
    memory::MemController, pid::PidController, Cgroup, Controller, MaxValue};
use cgroups_rs::CgroupPid;

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
}

type Result<T> = std::result::Result<T, CgroupError>;

const V1_CONTROLLERS: [&str; 6] = ["cpu", "cpuacct", "memory", "pids", "freezer", "devices"];

pub fn is_v2() -> bool {
    hierarchies::is_cgroup2_unified_mode()
}

/// The cgroup path for a container.
pub fn path_for(id: &str) -> String {
    match std::env::var("BOCKER_CGROUP_PARENT") {
        Ok(p) if !p.trim_matches('/').is_empty() => format!("{}/{id}", p.trim_matches('/')),
        _ => id.to_string(),
    }
}

pub struct ContainerCgroup {
    cg: Cgroup,
    path: String,
}

fn handle(path: &str) -> Cgroup {
    let hier = hierarchies::auto();
    if hier.v2() {
        Cgroup::load(hier, path)
    } else {
        let ctl = V1_CONTROLLERS.iter().map(|s| s.to_string()).collect();
        Cgroup::load_with_specified_controllers(hier, path, ctl)
    }
}

/// CPU shares (v1 scale 2..262144) to cpu.weight (v2 scale 1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262144);
    1 + ((s - 2) * 9999) / 262142
}

impl ContainerCgroup {
    /// Creates the container's cgroup and applies its limits and device policy.
    pub fn create(id: &str, limits: &Limits, devices: &DevicePolicy) -> Result<ContainerCgroup> {
        let path = path_for(id);
        let cg = handle(&path);
        let op = |what, source| CgroupError::Op { path: path.clone(), what, source };
        cg.create().map_err(|e| op("create", e))?;
        let me = ContainerCgroup { cg, path: path.clone() };
        let applied = (|| {
            if let Some(cpu) = me.cg.controller_of::<CpuController>() {
                let v = if me.cg.v2() { shares_to_weight(limits.cpu_shares) } else { limits.cpu_shares };
                cpu.set_shares(v).map_err(|e| op("cpu shares", e))?;
            }
            if let Some(mem) = me.cg.controller_of::<MemController>() {
                mem.set_limit(limits.memory).map_err(|e| op("memory limit", e))?;
            }
            if let (Some(p), Some(max)) = (me.cg.controller_of::<PidController>(), limits.pids) {
                let v = if max <= 0 { MaxValue::Max } else { MaxValue::Value(max) };
                p.set_pid_max(v).map_err(|e| op("pids limit", e))?;
            }
            me.apply_devices(devices)
        })();
        if let Err(e) = applied {
            let _ = me.delete();
            return Err(e);
        }
        Ok(me)
    }

    /// Writes the device policy: v1 devices.deny/devices.allow, or a BPF
    /// program attached to the v2 cgroup directory.
    fn apply_devices(&self, policy: &DevicePolicy) -> Result<()> {
        if self.cg.v2() {
            let dir = hierarchies::auto().root().join(&self.path);
            return devices_bpf::apply_v2(&dir, policy)
                .map_err(|source| CgroupError::DeviceFilter { path: self.path.clone(), source });
        }
        match self.cg.controller_of::<DevicesController>() {
            Some(dc) => devices::apply_v1(dc.path(), policy),
            None if *policy == DevicePolicy::AllowAll => Ok(()),
            None => Err(CgroupError::NoDevicesController(self.path.clone())),
        }
    }

    /// A handle on an existing container cgroup.
    pub fn load(id: &str) -> ContainerCgroup {
        let path = path_for(id);
        ContainerCgroup { cg: handle(&path), path }
    }

    pub fn exists(&self) -> bool {
        self.cg.exists()
    }

    pub fn add_process(&self, pid: i32) -> Result<()> {
        self.cg
            .add_task_by_tgid(CgroupPid::from(pid as u64))
            .map_err(|source| CgroupError::Op { path: self.path.clone(), what: "add process", source })
    }

    pub fn freeze(&self) -> Result<()> {
        if let Some(f) = self.cg.controller_of::<FreezerController>() {
            f.freeze().map_err(|source| CgroupError::Op { path: self.path.clone(), what: "freeze", source })?;
        }
        Ok(())
    }

    pub fn thaw(&self) -> Result<()> {
        if let Some(f) = self.cg.controller_of::<FreezerController>() {
            f.thaw().map_err(|source| CgroupError::Op { path: self.path.clone(), what: "thaw", source })?;
        }
        Ok(())
    }

    pub fn processes(&self) -> Vec<u64> {
        self.cg.procs().into_iter().map(|p| p.pid).collect()
    }

    /// Removes the cgroup, waiting briefly for exiting processes to go.
    pub fn delete(&self) -> Result<()> {
        if !self.cg.exists() {
            return Ok(());
        }
        let mut last = None;
        for i in 0..200 {
            match self.cg.delete() {
                Ok(()) if !self.cg.exists() => return Ok(()),
                Ok(()) => {}
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(if i < 20 { 1 } else { 10 }));
        }
        match last {
            Some(source) => Err(CgroupError::Op { path: self.path.clone(), what: "delete", source }),
            None => Err(CgroupError::Busy(self.path.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn weight_conversion_matches_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262144), 10000);
    }

    /// Deletes the test cgroup however the test ends.
    struct Gone(ContainerCgroup);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = self.0.delete();
        }
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
        let limits = Limits { cpu_shares: 1024, memory: -1, pids: None };
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
