//! A container record as an OCI runtime-spec `config.json` (the
//! `oci-spec` crate's types; built as JSON in the spec's own words, then
//! checked by deserializing into `oci_spec::runtime::Spec`).
use super::OciError;
use crate::cgroup::devices::DeviceKind;
use crate::cgroup::DevicePolicy;
use crate::net::NetMode;
use crate::runtime::caps::{self, CapSet};
use crate::runtime::rootfs::{MASKED, READONLY};
use crate::runtime::user::Ids;
use crate::state::containers::ContainerRecord;
use crate::state::Store;
use serde_json::{json, Value};

/// The OCI runtime-spec version the configuration follows.
pub const OCI_VERSION: &str = "1.0.2";

fn err(e: impl std::fmt::Display) -> OciError {
    OciError::Spec(e.to_string())
}

/// The runtime's own mounts, as moby's default spec has them.
fn default_mounts(privileged: bool) -> Vec<Value> {
    let ro = if privileged { "rw" } else { "ro" };
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", ro]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", ro]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
    ]
}

/// Volumes, binds and tmpfs mounts, then /etc/hostname, hosts and
/// resolv.conf where the container has them (after its first start).
fn user_mounts(store: &Store, c: &ContainerRecord) -> Vec<Value> {
    let mut out = Vec::new();
    for b in crate::runtime::mounts::plans_for(store, c) {
        let mut opts = Vec::new();
        let m = match &b.tmpfs_options {
            Some(o) => {
                opts.extend(["nosuid", "nodev"].map(String::from));
                opts.extend(o.split(',').filter(|s| !s.is_empty()).map(String::from));
                if b.readonly {
                    opts.push("ro".into());
                }
                json!({"destination": b.target, "type": "tmpfs", "source": "tmpfs", "options": opts})
            }
            None => {
                opts.extend(["rbind", "rprivate"].map(String::from));
                if b.readonly {
                    opts.push("ro".into());
                }
                json!({"destination": b.target, "type": "bind", "source": b.source, "options": opts})
            }
        };
        out.push(m);
    }
    let dir = store.container_dir(&c.id);
    for name in ["hostname", "hosts", "resolv.conf"] {
        let host = dir.join(name);
        if host.is_file() {
            out.push(json!({"destination": format!("/etc/{name}"), "type": "bind", "source": host, "options": ["rbind", "rprivate"]}));
        }
    }
    out
}

/// The network namespace of a running container (`--network container:X`).
fn netns_of(store: &Store, id: &str) -> Result<String, String> {
    let st = store.load_state(id).map_err(|e| e.to_string())?;
    match (st.status, st.alive(), st.pid) {
        (crate::state::containers::Status::Running, true, Some(pid)) => Ok(format!("/proc/{pid}/ns/net")),
        _ => Err(format!("cannot join network namespace of a non running container {id}")),
    }
}

fn device_rules(policy: &DevicePolicy) -> Vec<Value> {
    let rules = match policy {
        DevicePolicy::AllowAll => return vec![json!({"allow": true, "access": "rwm"})],
        DevicePolicy::Rules(r) => r,
    };
    let mut out = vec![json!({"allow": false, "access": "rwm"})];
    for r in rules {
        let mut v = json!({"allow": r.allow, "access": r.access.to_string()});
        if r.kind != DeviceKind::All {
            v["type"] = json!(r.kind.letter().to_string());
        }
        if let Some(m) = r.major {
            v["major"] = json!(m);
        }
        if let Some(m) = r.minor {
            v["minor"] = json!(m);
        }
        out.push(v);
    }
    out
}

/// The configuration for container `c`, whose user resolved to `ids` in
/// its image.
pub fn spec_for(store: &Store, c: &ContainerRecord, ids: &Ids) -> Result<oci_spec::runtime::Spec, OciError> {
    let sec = &c.security;
    let set = caps::resolve(sec);
    // a non-root user has no effective capabilities (as bocker runs them)
    let effective = if ids.uid == 0 { set } else { CapSet(0) };
    let mut env = c.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", ids.home.as_deref().unwrap_or("/")));
    }
    let mut process = json!({
        "terminal": c.tty,
        "user": {"uid": ids.uid, "gid": ids.gid, "additionalGids": ids.groups},
        "args": c.args,
        "env": env,
        "cwd": if c.workdir.is_empty() { "/" } else { c.workdir.as_str() },
        "capabilities": {
            "bounding": set.names(),
            "effective": effective.names(),
            "permitted": effective.names(),
            "inheritable": [],
            "ambient": [],
        },
        "noNewPrivileges": sec.no_new_privileges,
    });
    if c.tty {
        process["consoleSize"] = json!({"height": 24, "width": 80});
    }
    let mut namespaces = vec![json!({"type": "pid"}), json!({"type": "ipc"}), json!({"type": "uts"}), json!({"type": "mount"}), json!({"type": "cgroup"})];
    match (c.network, &c.net_container) {
        (NetMode::Host, _) => {}
        (NetMode::Container, Some(other)) => namespaces.push(json!({"type": "network", "path": netns_of(store, other).map_err(err)?})),
        _ => namespaces.push(json!({"type": "network"})),
    }
    let policy = crate::runtime::devices::cgroup_policy(sec).map_err(err)?;
    let mut resources = json!({
        "devices": device_rules(&policy),
        "memory": {"limit": c.limits.memory},
        "cpu": {"shares": c.limits.cpu_shares},
    });
    if let Some(p) = c.limits.pids {
        resources["pids"] = json!({"limit": p});
    }
    let devices: Vec<Value> = crate::runtime::devices::nodes_for(sec)
        .map_err(err)?
        .into_iter()
        .map(|n| {
            json!({
                "path": n.path, "type": if n.kind == libc::S_IFBLK { "b" } else { "c" },
                "major": n.major, "minor": n.minor, "fileMode": n.mode, "uid": n.uid, "gid": n.gid,
            })
        })
        .collect();
    let mut linux = json!({
        "namespaces": namespaces,
        "resources": resources,
        "devices": devices,
        "cgroupsPath": crate::cgroup::path_for(&c.id),
        "rootfsPropagation": "rslave",
    });
    if !sec.privileged {
        linux["maskedPaths"] = json!(MASKED);
        linux["readonlyPaths"] = json!(READONLY);
    }
    if let Some(s) = crate::runtime::seccomp::oci::to_oci(&sec.seccomp, set).map_err(err)? {
        linux["seccomp"] = s;
    }
    let mut mounts = default_mounts(sec.privileged);
    mounts.extend(user_mounts(store, c));
    let spec = json!({
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": "rootfs", "readonly": sec.read_only},
        "hostname": c.hostname,
        "mounts": mounts,
        "linux": linux,
        "annotations": {"org.opencontainers.image.ref.name": c.image_ref, "io.bocker.container.id": c.id},
    });
    serde_json::from_value(spec).map_err(|e| OciError::Spec(format!("OCI configuration of {}: {e}", c.id)))
}
