//! Device nodes for a container's /dev: the host devices named by
//! `--device`, or every host device with `--privileged` (as Docker does).
//! The cgroup side (who may open what) is in `crate::cgroup::devices`.
use super::plan::DeviceNode;
use crate::state::containers::Security;
use crate::cgroup::devices::{host_device, rule_for, DeviceKind, HostDevice};
use crate::cgroup::{docker_default_rules, DevicePolicy};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// The node a host device path gives (symlinks followed, as docker does).
pub fn host_node(host: &Path, container_path: &str) -> Result<DeviceNode, String> {
    let d = host_device(host).map_err(|e| e.to_string())?;
    Ok(node_of(&d, container_path))
}

fn node_of(d: &HostDevice, container_path: &str) -> DeviceNode {
    DeviceNode {
        path: container_path.to_string(),
        kind: if d.kind == DeviceKind::Block { libc::S_IFBLK } else { libc::S_IFCHR },
        major: d.major,
        minor: d.minor,
        mode: d.mode,
        uid: d.uid,
        gid: d.gid,
    }
}

/// Who may open which device: Docker's allow list plus each `--device`,
/// or everything with `--privileged`.
pub fn cgroup_policy(sec: &Security) -> Result<DevicePolicy, String> {
    if sec.privileged {
        return Ok(DevicePolicy::AllowAll);
    }
    let mut rules = docker_default_rules();
    for d in &sec.devices {
        let dev = host_device(Path::new(&d.host)).map_err(|e| e.to_string())?;
        rules.push(rule_for(&dev, &d.permissions));
    }
    Ok(DevicePolicy::Rules(rules))
}

/// Every char and block device under the host's /dev (two levels deep),
/// but the ones a container makes for itself (pts, shm, mqueue, console).
pub fn host_devices() -> Vec<DeviceNode> {
    let mut out = Vec::new();
    walk(Path::new("/dev"), "/dev", 0, &mut out);
    out
}

fn walk(dir: &Path, inside: &str, depth: u32, out: &mut Vec<DeviceNode>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if depth == 0 && ["pts", "shm", "mqueue", "console", "ptmx", "fd", "core"].contains(&name.as_str()) {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        let path = format!("{inside}/{name}");
        if ft.is_dir() && depth < 1 {
            walk(&e.path(), &path, depth + 1, out);
        } else if ft.is_char_device() || ft.is_block_device() {
            if let Ok(n) = host_node(&e.path(), &path) {
                out.push(n);
            }
        }
    }
}

/// The extra nodes a container's /dev gets.
pub fn nodes_for(sec: &Security) -> Result<Vec<DeviceNode>, String> {
    let mut out = if sec.privileged { host_devices() } else { Vec::new() };
    for d in &sec.devices {
        out.push(host_node(Path::new(&d.host), &d.container)?);
    }
    Ok(out)
}
