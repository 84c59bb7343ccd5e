//! OCI bundles for runtime tests: a busybox rootfs copied into the bundle
//! and a config.json built from a base close to `runc spec` (terminal off,
//! root writable), edited per test as serde_json values.
#![allow(dead_code)]
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The base configuration: `runc spec` 1.1.5 with `terminal: false`, a
/// writable root, no hostname, and process.args set by each test.
pub fn base_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["true"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// A bundle folder: `rootfs/` (a copy of the busybox rootfs) and the
/// configuration, written by `write`.
pub struct Bundle {
    pub dir: PathBuf,
    pub config: Value,
}

impl Bundle {
    /// Makes DIR with a fresh copy of `rootfs_src` as its rootfs.
    pub fn new(dir: &Path, rootfs_src: &Path) -> anyhow::Result<Bundle> {
        std::fs::create_dir_all(dir).with_context(|| format!("mkdir {}", dir.display()))?;
        let st = Command::new("cp").arg("-a").arg(rootfs_src).arg(dir.join("rootfs")).status().context("cp -a rootfs")?;
        if !st.success() {
            bail!("cp -a {} failed: {st}", rootfs_src.display());
        }
        Ok(Bundle { dir: dir.to_path_buf(), config: base_config() })
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The container's command.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("/process/args", json!(args))
    }

    /// `sh -c SCRIPT` as the container's command.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Sets the value at a JSON pointer, making the objects on the way.
    pub fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        *slot(&mut self.config, pointer) = value;
        self
    }

    /// Appends to the array at a JSON pointer (made if missing).
    pub fn push(&mut self, pointer: &str, value: Value) -> &mut Self {
        let s = slot(&mut self.config, pointer);
        if !s.is_array() {
            *s = json!([]);
        }
        if let Value::Array(a) = s {
            a.push(value);
        }
        self
    }

    /// Removes the value at a JSON pointer (a missing one is fine).
    pub fn remove(&mut self, pointer: &str) -> &mut Self {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(Value::Object(m)) = self.config.pointer_mut(parent) {
            m.remove(key);
        }
        self
    }

    /// A mount appended to the configuration's list.
    pub fn mount(&mut self, destination: &str, typ: &str, source: &str, options: &[&str]) -> &mut Self {
        self.push("/mounts", json!({"destination": destination, "type": typ, "source": source, "options": options}))
    }

    /// Removes the namespace of this type from linux.namespaces.
    pub fn drop_namespace(&mut self, typ: &str) -> &mut Self {
        if let Some(Value::Array(a)) = self.config.pointer_mut("/linux/namespaces") {
            a.retain(|n| n["type"] != typ);
        }
        self
    }

    pub fn write(&self) -> anyhow::Result<()> {
        let text = serde_json::to_vec_pretty(&self.config)?;
        let p = self.dir.join("config.json");
        std::fs::write(&p, text).with_context(|| format!("write {}", p.display()))
    }
}

/// The value at a JSON pointer, objects made on the way (an existing
/// non-object on the way is replaced by one).
fn slot<'a>(mut v: &'a mut Value, pointer: &str) -> &'a mut Value {
    for key in pointer.split('/').skip(1) {
        if !v.is_object() {
            *v = json!({});
        }
        v = match v {
            Value::Object(m) => m.entry(key.to_string()).or_insert(Value::Null),
            _ => unreachable!("made an object just above"),
        };
    }
    v
}
