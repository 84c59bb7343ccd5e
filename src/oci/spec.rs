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
use crate::state::containers::{ContainerRecord, NsMode, CPU_PERIOD_US};
use crate::state::Store;
use serde_json::{json, Value};

/// The OCI runtime-spec version the configuration follows.
pub const OCI_VERSION: &str = "1.0.2";

fn err(e: impl std::fmt::Display) -> OciError {
    OciError::Spec(e.to_string())
}

/// /dev/shm: a tmpfs of its own (`--shm-size`, else 64 MiB), or the
/// host's with `--ipc host` (as moby binds it). With `--ipc container:X`
/// it shares X's System V IPC and message queues, but its /dev/shm is
/// its own tmpfs (X's is inside X's mount namespace).
fn shm_mount(c: &ContainerRecord) -> Value {
    if c.ipc == NsMode::Host {
        return json!({"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "nosuid", "noexec", "nodev"]});
    }
    let size = c.shm_size.map(|b| format!("size={b}")).unwrap_or_else(|| "size=65536k".into());
    json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", size]})
}

/// The runtime's own mounts, as moby's default spec has them.
fn default_mounts(c: &ContainerRecord) -> Vec<Value> {
    let privileged = c.security.privileged;
    let ro = if privileged { "rw" } else { "ro" };
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", ro]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", ro]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        shm_mount(c),
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

/// A namespace of a running container (`--network container:X`,
/// `--ipc container:X`, `--pid container:X`): `kind` is its /proc name.
fn ns_of(store: &Store, id: &str, kind: &str, what: &str) -> Result<String, String> {
    let st = store.load_state(id).map_err(|e| e.to_string())?;
    match (st.status, st.alive(), st.pid) {
        (crate::state::containers::Status::Running, true, Some(pid)) => Ok(format!("/proc/{pid}/ns/{kind}")),
        _ => Err(format!("cannot join {what} of a non running container: {id}")),
    }
}

/// The ipc, pid and uts entries of `linux.namespaces` (the host's: none).
fn shared_namespaces(store: &Store, c: &ContainerRecord) -> Result<Vec<Value>, OciError> {
    let mut out = Vec::new();
    for (typ, mode, what) in [("ipc", &c.ipc, "IPC"), ("pid", &c.pid, "PID"), ("uts", &c.uts, "UTS")] {
        match mode {
            NsMode::Private | NsMode::Shareable => out.push(json!({"type": typ})),
            NsMode::Host => {}
            NsMode::Container(other) => {
                if typ == "ipc" {
                    let donor = store.load_container(other).map_err(err)?;
                    if !matches!(donor.ipc, NsMode::Shareable | NsMode::Host) {
                        return Err(err(format!("joining the IPC namespace of {other}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)")));
                    }
                }
                out.push(json!({"type": typ, "path": ns_of(store, other, typ, what).map_err(err)?}));
            }
        }
    }
    Ok(out)
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

/// `--ulimit`s as OCI rlimits (-1: unlimited).
fn rlimits_of(c: &ContainerRecord) -> Result<Vec<Value>, OciError> {
    use crate::state::containers::{rlimit_name, rlimit_value};
    c.ulimits
        .iter()
        .map(|u| {
            let typ = rlimit_name(&u.name).ok_or_else(|| err(format!("invalid ulimit type: {}", u.name)))?;
            Ok(json!({"type": typ, "soft": rlimit_value(u.soft), "hard": rlimit_value(u.hard)}))
        })
        .collect()
}

/// The configuration for container `c`, whose user resolved to `ids` in
/// its image, checked as `oci_spec`'s types (what `inspect --spec` and
/// `bundle` write).
pub fn spec_for(store: &Store, c: &ContainerRecord, ids: &Ids) -> Result<oci_spec::runtime::Spec, OciError> {
    serde_json::from_value(config_for(store, c, ids)?).map_err(|e| OciError::Spec(format!("OCI configuration of {}: {e}", c.id)))
}

/// The same configuration as JSON, what the monitor hands to
/// `runtime::plan::from_value` (which checks it field by field) without
/// the round trip through `oci_spec`'s types: about 0.1 ms less per start.
pub fn config_for(store: &Store, c: &ContainerRecord, ids: &Ids) -> Result<Value, OciError> {
    config_with(store, c, ids, SeccompIn::Config).map(|(config, _)| config)
}

/// Where the container's seccomp filter comes: in the configuration's
/// `linux.seccomp` (what an OCI runtime reads), or compiled apart.
enum SeccompIn {
    Config,
    Apart,
}

/// The configuration without `linux.seccomp`, and the filter that the
/// plan of the full one would carry, compiled from the profile itself:
/// what the monitor runs. Writing Docker's profile out in its OCI form and
/// reading it back cost ~0.2 ms of each start (docs/BENCHMARKS.md); the
/// unit test `the_filter_apart_plans_as_the_one_in_the_configuration`
/// holds the two ways equal.
pub fn config_and_filter(store: &Store, c: &ContainerRecord, ids: &Ids) -> Result<(Value, Option<crate::runtime::seccomp::Filter>), OciError> {
    config_with(store, c, ids, SeccompIn::Apart)
}

fn config_with(store: &Store, c: &ContainerRecord, ids: &Ids, seccomp: SeccompIn) -> Result<(Value, Option<crate::runtime::seccomp::Filter>), OciError> {
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
        "rlimits": rlimits_of(c)?,
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
    let mut namespaces = shared_namespaces(store, c)?;
    namespaces.extend([json!({"type": "mount"}), json!({"type": "cgroup"})]);
    match (c.network, &c.net_container) {
        (NetMode::Host, _) => {}
        (NetMode::Container, Some(other)) => namespaces.push(json!({"type": "network", "path": ns_of(store, other, "net", "network namespace").map_err(err)?})),
        _ => namespaces.push(json!({"type": "network"})),
    }
    let policy = crate::runtime::devices::cgroup_policy(sec).map_err(err)?;
    let l = &c.limits;
    let mut resources = json!({
        "devices": device_rules(&policy),
        "memory": {"limit": l.memory},
        "cpu": {"shares": l.cpu_shares},
    });
    if let Some(s) = l.memory_swap {
        resources["memory"]["swap"] = json!(s);
    }
    if let Some(r) = l.memory_reservation {
        resources["memory"]["reservation"] = json!(r);
    }
    if let Some(q) = l.cpu_quota() {
        resources["cpu"]["quota"] = json!(q);
        resources["cpu"]["period"] = json!(CPU_PERIOD_US);
    }
    if let Some(cpus) = &l.cpuset_cpus {
        resources["cpu"]["cpus"] = json!(cpus);
    }
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
    if !c.sysctls.is_empty() {
        linux["sysctl"] = json!(c.sysctls);
    }
    if !sec.privileged {
        linux["maskedPaths"] = json!(MASKED);
        linux["readonlyPaths"] = json!(READONLY);
    }
    let mut filter = None;
    match seccomp {
        SeccompIn::Config => {
            if let Some(s) = crate::runtime::seccomp::oci::to_oci(&sec.seccomp, set).map_err(err)? {
                linux["seccomp"] = s;
            }
        }
        // the plan compiles linux.seccomp for the bounding set, which is `set`
        SeccompIn::Apart => filter = crate::runtime::seccomp::compile(&sec.seccomp, set).map_err(err)?,
    }
    let mut mounts = default_mounts(c);
    mounts.extend(user_mounts(store, c));
    let spec = json!({
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": "rootfs", "readonly": sec.read_only},
        // the host's uts namespace keeps the host's name
        "hostname": if c.uts == NsMode::Host { "" } else { c.hostname.as_str() },
        "mounts": mounts,
        "linux": linux,
        "annotations": {"org.opencontainers.image.ref.name": c.image_ref, "io.bocker.container.id": c.id},
    });
    Ok((spec, filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(extra: Value) -> ContainerRecord {
        let mut r = json!({
            "id": "ps_0123456789", "image": "img_1", "image_ref": "img_1", "layers": [], "args": ["sh", "-c", "true"],
            "env": ["A=b"], "workdir": "/w", "hostname": "h", "user": "", "tty": false, "interactive": false,
            "auto_remove": true, "limits": { "cpu_shares": 512, "memory": 64000000, "pids": 20, "memory_swap": 128000000 },
            "mounts": [{"type": "tmpfs", "target": "/scratch", "options": "size=1m"}], "network": "none", "ports": [],
            "created": 1.0, "sysctls": {"net.ipv4.ip_forward": "1"},
        });
        for (k, v) in extra.as_object().expect("object") {
            r[k] = v.clone();
        }
        serde_json::from_value(r).expect("record")
    }

    /// The monitor plans from the JSON (`config_for`); `inspect --spec`
    /// and `bundle` write it through `oci_spec`'s types: both read as one
    /// plan, for the default confinement, a privileged container, a
    /// terminal, added capabilities and an unconfined seccomp.
    #[test]
    fn the_json_configuration_plans_as_the_typed_one() {
        let t = tempfile::tempdir().expect("tempdir");
        let store = Store::open(t.path().join("root")).expect("store");
        std::fs::create_dir(t.path().join("rootfs")).expect("rootfs");
        let ids = Ids { uid: 0, gid: 0, home: Some("/root".into()), groups: vec![10] };
        for extra in [
            json!({}),
            json!({"tty": true, "security": {"cap_add": ["CAP_SYS_ADMIN"], "no_new_privileges": true, "read_only": true}}),
            json!({"security": {"privileged": true}}),
            json!({"security": {"seccomp": {"mode": "unconfined"}}}),
        ] {
            let c = record(extra.clone());
            let config = config_for(&store, &c, &ids).expect("config");
            let typed = spec_for(&store, &c, &ids).expect("spec");
            let from_json = crate::runtime::plan::from_value(config, t.path()).expect("plan from JSON");
            let from_typed = crate::runtime::plan::from_spec(&typed, t.path()).expect("plan from the typed spec");
            assert_eq!(from_json, from_typed, "{extra}");
        }
    }

    /// The monitor's way (`config_and_filter`: the filter compiled from the
    /// profile, the configuration without it) plans the same container as
    /// the configuration with `linux.seccomp`: Docker's profile for three
    /// capability sets, a profile of the user's, an empty one, none.
    #[test]
    fn the_filter_apart_plans_as_the_one_in_the_configuration() {
        let t = tempfile::tempdir().expect("tempdir");
        let store = Store::open(t.path().join("root")).expect("store");
        std::fs::create_dir(t.path().join("rootfs")).expect("rootfs");
        let ids = Ids { uid: 0, gid: 0, home: Some("/root".into()), groups: vec![] };
        let user_profile = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#;
        for extra in [
            json!({}),
            json!({"security": {"cap_add": ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]}}),
            json!({"security": {"cap_drop": ["ALL"]}}),
            json!({"security": {"seccomp": {"mode": "profile", "json": user_profile}}}),
            json!({"security": {"seccomp": {"mode": "profile", "json": "{}"}}}),
            json!({"security": {"seccomp": {"mode": "unconfined"}}}),
        ] {
            let c = record(extra.clone());
            let whole = crate::runtime::plan::from_value(config_for(&store, &c, &ids).expect("config"), t.path()).expect("plan");
            let (config, filter) = config_and_filter(&store, &c, &ids).expect("config and filter");
            assert!(config["linux"].get("seccomp").is_none(), "{extra}");
            let mut apart = crate::runtime::plan::from_value(config, t.path()).expect("plan");
            assert!(apart.seccomp.is_none());
            apart.seccomp = filter;
            assert_eq!(apart, whole, "{extra}");
        }
    }
}
