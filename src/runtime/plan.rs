//! An OCI configuration (`config.json`, the `oci-spec` crate's `Spec`) as
//! what the runtime will do: every field bocker implements becomes a typed
//! step here, every field it does not is refused by name (the
//! configuration is read through structs that deny unknown fields, so a
//! field added to the spec is refused until it is implemented).
use super::caps::{CapSet, NAMES};
use super::mount_opts::{self, MountOptions};
use super::seccomp::Filter;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A device node made in the container's /dev.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceNode {
    /// path inside the container, absolute
    pub path: String,
    /// libc::S_IFCHR or libc::S_IFBLK
    pub kind: libc::mode_t,
    pub major: u32,
    pub minor: u32,
    /// permission bits
    pub mode: libc::mode_t,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("config.json: {0}")]
    Unsupported(String),
    #[error("config.json: {0}")]
    Invalid(String),
}

// ---- the configuration as bocker reads it -------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SpecIn {
    oci_version: String,
    #[serde(default)]
    root: Option<RootIn>,
    #[serde(default)]
    mounts: Option<Vec<MountIn>>,
    #[serde(default)]
    process: Option<ProcessIn>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    domainname: Option<String>,
    #[serde(default)]
    hooks: Option<oci_spec::runtime::Hooks>,
    #[serde(default)]
    annotations: Option<HashMap<String, String>>,
    #[serde(default)]
    linux: Option<LinuxIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RootIn {
    path: PathBuf,
    #[serde(default)]
    readonly: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MountIn {
    destination: String,
    #[serde(default, rename = "type")]
    typ: Option<String>,
    #[serde(default)]
    source: Option<PathBuf>,
    #[serde(default)]
    options: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProcessIn {
    #[serde(default)]
    terminal: Option<bool>,
    #[serde(default)]
    console_size: Option<ConsoleSizeIn>,
    user: UserIn,
    #[serde(default)]
    args: Option<Vec<String>>,
    #[serde(default)]
    env: Option<Vec<String>>,
    cwd: String,
    #[serde(default)]
    capabilities: Option<CapsIn>,
    #[serde(default)]
    rlimits: Option<Vec<RlimitIn>>,
    #[serde(default)]
    no_new_privileges: Option<bool>,
    #[serde(default)]
    apparmor_profile: Option<String>,
    #[serde(default)]
    oom_score_adj: Option<i32>,
    #[serde(default)]
    selinux_label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleSizeIn {
    height: u64,
    width: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserIn {
    #[serde(default)]
    uid: u32,
    #[serde(default)]
    gid: u32,
    #[serde(default)]
    umask: Option<u32>,
    #[serde(default)]
    additional_gids: Option<Vec<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapsIn {
    #[serde(default)]
    bounding: Option<Vec<String>>,
    #[serde(default)]
    effective: Option<Vec<String>>,
    #[serde(default)]
    inheritable: Option<Vec<String>>,
    #[serde(default)]
    permitted: Option<Vec<String>>,
    #[serde(default)]
    ambient: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RlimitIn {
    #[serde(rename = "type")]
    typ: String,
    hard: u64,
    soft: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LinuxIn {
    #[serde(default)]
    uid_mappings: Option<Vec<IdMapIn>>,
    #[serde(default)]
    gid_mappings: Option<Vec<IdMapIn>>,
    #[serde(default)]
    sysctl: Option<HashMap<String, String>>,
    #[serde(default)]
    resources: Option<oci_spec::runtime::LinuxResources>,
    #[serde(default)]
    cgroups_path: Option<String>,
    #[serde(default)]
    namespaces: Option<Vec<NamespaceIn>>,
    #[serde(default)]
    devices: Option<Vec<DeviceIn>>,
    #[serde(default)]
    seccomp: Option<serde_json::Value>,
    #[serde(default)]
    rootfs_propagation: Option<String>,
    #[serde(default)]
    masked_paths: Option<Vec<String>>,
    #[serde(default)]
    readonly_paths: Option<Vec<String>>,
    #[serde(default)]
    mount_label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IdMapIn {
    #[serde(rename = "containerID")]
    container_id: u32,
    #[serde(rename = "hostID")]
    host_id: u32,
    size: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceIn {
    #[serde(rename = "type")]
    typ: String,
    #[serde(default)]
    path: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeviceIn {
    path: String,
    #[serde(rename = "type")]
    typ: String,
    #[serde(default)]
    major: i64,
    #[serde(default)]
    minor: i64,
    #[serde(default)]
    file_mode: Option<u32>,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    gid: Option<u32>,
}

// ---- what the runtime does ----------------------------------------------

/// One entry of `mounts`, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct MountPlan {
    /// absolute, inside the container
    pub destination: String,
    pub kind: MountKind,
    pub options: MountOptions,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MountKind {
    /// a host path (file or folder) bound in
    Bind { source: PathBuf },
    /// the container's cgroups (v1 hierarchies or cgroup2, namespaced)
    Cgroup,
    /// a filesystem the kernel makes (proc, sysfs, tmpfs, devpts, …)
    Filesystem { fstype: String, source: String },
}

/// Namespaces: made new at clone, or joined by path.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespaces {
    /// CLONE_NEW* for clone (the cgroup namespace is not among them: the
    /// init unshares it once it is in its cgroup)
    pub clone_flags: CloneFlags,
    pub new_cgroup: bool,
    /// (CLONE_NEW*, path) to setns into; the pid namespace is joined by
    /// the creating process before clone, the others by the init
    pub join: Vec<(CloneFlags, PathBuf)>,
    /// a new user namespace with these mappings (written by the parent
    /// before it lets the init go)
    pub id_maps: Option<IdMaps>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdMaps {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
}

impl IdMaps {
    /// The text of /proc/PID/uid_map or gid_map.
    pub fn text(maps: &[IdMap]) -> String {
        maps.iter().map(|m| format!("{} {} {}\n", m.container, m.host, m.size)).collect()
    }
}

impl Namespaces {
    pub fn is_new(&self, ns: CloneFlags) -> bool {
        self.clone_flags.contains(ns)
    }
    pub fn joins(&self, ns: CloneFlags) -> Option<&Path> {
        self.join.iter().find(|(f, _)| *f == ns).map(|(_, p)| p.as_path())
    }
}

/// The five capability sets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CapSets {
    pub bounding: CapSet,
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
    pub ambient: CapSet,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rlimit {
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// `process`: what runs and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub caps: CapSets,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
    pub oom_score_adj: Option<i32>,
}

#[derive(Debug, PartialEq)]
pub struct ContainerPlan {
    /// the root folder, absolute
    pub root: PathBuf,
    pub root_readonly: bool,
    /// propagation of `/` in the container's mount namespace
    pub root_propagation: MsFlags,
    pub mounts: Vec<MountPlan>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub namespaces: Namespaces,
    pub process: ProcessPlan,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// device nodes to make in /dev (the configuration's; the defaults are
    /// added by the root's setup when it makes /dev)
    pub devices: Vec<DeviceNode>,
    pub sysctl: Vec<(String, String)>,
    pub seccomp: Option<Filter>,
    pub hooks: oci_spec::runtime::Hooks,
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    pub cgroups_path: Option<String>,
    pub annotations: HashMap<String, String>,
}

fn unsupported(what: impl Into<String>) -> PlanError {
    PlanError::Unsupported(what.into())
}
fn invalid(what: impl Into<String>) -> PlanError {
    PlanError::Invalid(what.into())
}

/// An exec'd process (`bocker-runc exec`): its `process` object.
pub fn process_from_oci(p: &oci_spec::runtime::Process) -> Result<ProcessPlan, PlanError> {
    let value = serde_json::to_value(p).map_err(|e| invalid(e.to_string()))?;
    let input: ProcessIn = serde_path_to_error::deserialize(value).map_err(|e| invalid(format!("process.{e}")))?;
    process(input)
}

/// The container's seccomp filter (which its exec'd processes get too).
pub fn seccomp_of(spec: &oci_spec::runtime::Spec, caps: CapSet) -> Result<Option<Filter>, PlanError> {
    let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else { return Ok(None) };
    let json = serde_json::to_value(s).map_err(|e| invalid(e.to_string()))?;
    super::seccomp::compile_value(json, caps).map_err(|e| invalid(format!("linux.seccomp: {e}")))
}

/// Reads `spec` (whose relative root path is relative to `bundle`).
pub fn from_spec(spec: &oci_spec::runtime::Spec, bundle: &Path) -> Result<ContainerPlan, PlanError> {
    let value = serde_json::to_value(spec).map_err(|e| invalid(e.to_string()))?;
    from_value(value, bundle)
}

/// Reads a configuration given as JSON.
pub fn from_value(value: serde_json::Value, bundle: &Path) -> Result<ContainerPlan, PlanError> {
    let input: SpecIn = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if inner.starts_with("unknown field") {
            unsupported(format!("{path}: {inner}: not supported by bocker"))
        } else {
            invalid(format!("{path}: {inner}"))
        }
    })?;
    convert(input, bundle)
}

fn convert(s: SpecIn, bundle: &Path) -> Result<ContainerPlan, PlanError> {
    let major = s.oci_version.split('.').next().unwrap_or("");
    if major != "1" {
        return Err(unsupported(format!("ociVersion {}: only 1.x is supported", s.oci_version)));
    }
    let root_in = s.root.ok_or_else(|| invalid("root: missing"))?;
    let root = if root_in.path.is_absolute() { root_in.path.clone() } else { bundle.join(&root_in.path) };
    if !root.is_dir() {
        return Err(invalid(format!("root.path {}: not a directory", root.display())));
    }
    let linux = s.linux.unwrap_or(LinuxIn {
        uid_mappings: None, gid_mappings: None, sysctl: None, resources: None, cgroups_path: None,
        namespaces: None, devices: None, seccomp: None, rootfs_propagation: None, masked_paths: None,
        readonly_paths: None, mount_label: None,
    });
    let mut namespaces_in = linux.namespaces.unwrap_or_default();
    let user_ns = namespaces_in.iter().position(|n| n.typ == "user");
    let id_maps = match user_ns {
        Some(i) => {
            if namespaces_in[i].path.as_ref().is_some_and(|p| !p.as_os_str().is_empty()) {
                return Err(unsupported("linux.namespaces: joining a user namespace is not supported"));
            }
            namespaces_in.remove(i);
            let maps = |v: Option<Vec<IdMapIn>>, what: &str| -> Result<Vec<IdMap>, PlanError> {
                let v = v.unwrap_or_default();
                if v.is_empty() {
                    return Err(invalid(format!("linux.{what}: a user namespace needs mappings")));
                }
                Ok(v.into_iter().map(|m| IdMap { container: m.container_id, host: m.host_id, size: m.size }).collect())
            };
            Some(IdMaps { uid: maps(linux.uid_mappings, "uidMappings")?, gid: maps(linux.gid_mappings, "gidMappings")? })
        }
        None if linux.uid_mappings.as_ref().is_some_and(|m| !m.is_empty()) || linux.gid_mappings.as_ref().is_some_and(|m| !m.is_empty()) => {
            return Err(invalid("linux.uidMappings/gidMappings: given without a user namespace"));
        }
        None => None,
    };
    if linux.mount_label.as_ref().is_some_and(|l| !l.is_empty()) && selinux_enabled() {
        return Err(unsupported("linux.mountLabel: SELinux labels are not supported by bocker"));
    }
    let mut namespaces = namespaces(namespaces_in)?;
    namespaces.id_maps = id_maps;
    let process_in = s.process.ok_or_else(|| invalid("process: missing"))?;
    let process = process(process_in)?;
    if s.hostname.as_ref().is_some_and(|h| !h.is_empty()) && !namespaces.is_new(CloneFlags::CLONE_NEWUTS) {
        return Err(invalid("hostname: needs a new uts namespace"));
    }
    if s.domainname.as_ref().is_some_and(|h| !h.is_empty()) && !namespaces.is_new(CloneFlags::CLONE_NEWUTS) {
        return Err(invalid("domainname: needs a new uts namespace"));
    }
    let mut mounts = Vec::new();
    for (i, m) in s.mounts.unwrap_or_default().into_iter().enumerate() {
        mounts.push(mount(m).map_err(|e| match e {
            PlanError::Unsupported(m) => unsupported(format!("mounts[{i}]: {m}")),
            PlanError::Invalid(m) => invalid(format!("mounts[{i}]: {m}")),
        })?);
    }
    let mut sysctl: Vec<(String, String)> = linux.sysctl.unwrap_or_default().into_iter().collect();
    sysctl.sort();
    for (k, _) in &sysctl {
        check_sysctl(k, &namespaces)?;
    }
    let seccomp = match linux.seccomp {
        None => None,
        Some(v) => super::seccomp::compile_value(v, process.caps.bounding).map_err(|e| invalid(format!("linux.seccomp: {e}")))?,
    };
    let root_propagation = match linux.rootfs_propagation.as_deref().unwrap_or("") {
        "" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        p => match mount_opts::parse(&[p.to_string()]) {
            Ok(o) if o.propagation.len() == 1 => o.propagation[0],
            _ => return Err(invalid(format!("linux.rootfsPropagation {p}: not a propagation"))),
        },
    };
    let mut devices = Vec::new();
    for d in linux.devices.unwrap_or_default() {
        devices.push(device(d)?);
    }
    let clean = |v: Option<Vec<String>>, what: &str| -> Result<Vec<String>, PlanError> {
        let v = v.unwrap_or_default();
        for p in &v {
            if !p.starts_with('/') {
                return Err(invalid(format!("linux.{what}: {p}: not an absolute path")));
            }
        }
        Ok(v)
    };
    Ok(ContainerPlan {
        root,
        root_readonly: root_in.readonly.unwrap_or(false),
        root_propagation,
        mounts,
        hostname: s.hostname.filter(|h| !h.is_empty()),
        domainname: s.domainname.filter(|h| !h.is_empty()),
        namespaces,
        process,
        masked_paths: clean(linux.masked_paths, "maskedPaths")?,
        readonly_paths: clean(linux.readonly_paths, "readonlyPaths")?,
        devices,
        sysctl,
        seccomp,
        hooks: s.hooks.unwrap_or_default(),
        resources: linux.resources,
        cgroups_path: linux.cgroups_path.filter(|p| !p.is_empty()),
        annotations: s.annotations.unwrap_or_default(),
    })
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").map(|s| s.trim() == "Y").unwrap_or(false)
}

fn namespaces(list: Vec<NamespaceIn>) -> Result<Namespaces, PlanError> {
    let mut ns = Namespaces { clone_flags: CloneFlags::empty(), new_cgroup: false, join: Vec::new(), id_maps: None };
    let mut seen = Vec::new();
    for n in list {
        let flag = match n.typ.as_str() {
            "pid" => CloneFlags::CLONE_NEWPID,
            "network" => CloneFlags::CLONE_NEWNET,
            "mount" => CloneFlags::CLONE_NEWNS,
            "ipc" => CloneFlags::CLONE_NEWIPC,
            "uts" => CloneFlags::CLONE_NEWUTS,
            "cgroup" => CloneFlags::CLONE_NEWCGROUP,
            "time" => return Err(unsupported("linux.namespaces: time namespaces are not supported by bocker")),
            other => return Err(invalid(format!("linux.namespaces: unknown namespace type \"{other}\""))),
        };
        if seen.contains(&n.typ) {
            return Err(invalid(format!("linux.namespaces: {} listed twice", n.typ)));
        }
        seen.push(n.typ.clone());
        match n.path.filter(|p| !p.as_os_str().is_empty()) {
            Some(p) if flag == CloneFlags::CLONE_NEWNS => {
                return Err(unsupported(format!("linux.namespaces: joining a mount namespace ({}) is not supported", p.display())))
            }
            Some(p) => {
                if !p.exists() {
                    return Err(invalid(format!("linux.namespaces: {} namespace path {}: no such file", n.typ, p.display())));
                }
                ns.join.push((flag, p));
            }
            None if flag == CloneFlags::CLONE_NEWCGROUP => ns.new_cgroup = true,
            None => ns.clone_flags |= flag,
        }
    }
    if !ns.is_new(CloneFlags::CLONE_NEWNS) {
        return Err(unsupported("linux.namespaces: a container without its own mount namespace is not supported"));
    }
    Ok(ns)
}

fn cap_set(names: Option<Vec<String>>, which: &str) -> Result<CapSet, PlanError> {
    let mut set = 0u64;
    for n in names.unwrap_or_default() {
        let up = n.to_ascii_uppercase();
        let full = if up.starts_with("CAP_") { up } else { format!("CAP_{up}") };
        match NAMES.iter().position(|k| *k == full) {
            Some(i) => set |= 1 << i,
            None => return Err(invalid(format!("process.capabilities.{which}: unknown capability {n}"))),
        }
    }
    Ok(CapSet(set))
}

fn process(p: ProcessIn) -> Result<ProcessPlan, PlanError> {
    let args = p.args.unwrap_or_default();
    if args.is_empty() {
        return Err(invalid("process.args: empty"));
    }
    if !p.cwd.starts_with('/') {
        return Err(invalid(format!("process.cwd {}: not an absolute path", p.cwd)));
    }
    if p.apparmor_profile.as_ref().is_some_and(|a| !a.is_empty()) && apparmor_enabled() {
        return Err(unsupported("process.apparmorProfile: AppArmor is not supported by bocker"));
    }
    if p.selinux_label.as_ref().is_some_and(|l| !l.is_empty()) && selinux_enabled() {
        return Err(unsupported("process.selinuxLabel: SELinux labels are not supported by bocker"));
    }
    let caps = match p.capabilities {
        None => CapSets::default(),
        Some(c) => CapSets {
            bounding: cap_set(c.bounding, "bounding")?,
            effective: cap_set(c.effective, "effective")?,
            permitted: cap_set(c.permitted, "permitted")?,
            inheritable: cap_set(c.inheritable, "inheritable")?,
            ambient: cap_set(c.ambient, "ambient")?,
        },
    };
    let mut rlimits = Vec::new();
    for r in p.rlimits.unwrap_or_default() {
        let resource = rlimit_resource(&r.typ).ok_or_else(|| invalid(format!("process.rlimits: unknown type {}", r.typ)))?;
        if rlimits.iter().any(|x: &Rlimit| x.resource == resource) {
            return Err(invalid(format!("process.rlimits: {} listed twice", r.typ)));
        }
        rlimits.push(Rlimit { resource, soft: r.soft, hard: r.hard });
    }
    let console_size = p.console_size.map(|c| (c.height.min(u16::MAX as u64) as u16, c.width.min(u16::MAX as u64) as u16));
    Ok(ProcessPlan {
        args,
        env: p.env.unwrap_or_default(),
        cwd: p.cwd,
        uid: p.user.uid,
        gid: p.user.gid,
        additional_gids: p.user.additional_gids.unwrap_or_default(),
        umask: p.user.umask,
        caps,
        rlimits,
        no_new_privileges: p.no_new_privileges.unwrap_or(false),
        terminal: p.terminal.unwrap_or(false),
        console_size,
        oom_score_adj: p.oom_score_adj,
    })
}

/// `RLIMIT_NOFILE` → its resource number.
pub fn rlimit_resource(name: &str) -> Option<u32> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    } as u32)
}

/// Mount types bocker makes with mount(2) itself.
const FILESYSTEMS: &[&str] = &["proc", "sysfs", "tmpfs", "devpts", "mqueue", "ramfs", "overlay", "securityfs", "debugfs", "fusectl", "hugetlbfs", "binfmt_misc", "configfs", "tracefs", "bpf"];

/// /proc files a bind may cover (lxcfs and the like), as runc allows.
const PROC_BIND_ALLOWED: &[&str] = &["/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"];

fn normalize(dest: &str) -> Result<String, PlanError> {
    if !dest.starts_with('/') {
        return Err(invalid(format!("destination {dest}: not an absolute path")));
    }
    let mut out: Vec<&str> = Vec::new();
    for c in dest.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(invalid(format!("destination {dest}: must not contain '..'"))),
            c => out.push(c),
        }
    }
    Ok(format!("/{}", out.join("/")))
}

fn mount(m: MountIn) -> Result<MountPlan, PlanError> {
    let destination = normalize(&m.destination)?;
    let options = mount_opts::parse(&m.options.unwrap_or_default()).map_err(unsupported)?;
    let typ = m.typ.unwrap_or_default();
    let kind = if options.bind || typ == "bind" {
        let source = m.source.ok_or_else(|| invalid(format!("bind to {destination}: no source")))?;
        if !source.is_absolute() {
            return Err(invalid(format!("bind to {destination}: source {} is not absolute", source.display())));
        }
        MountKind::Bind { source }
    } else if typ == "cgroup" || typ == "cgroup2" {
        MountKind::Cgroup
    } else if FILESYSTEMS.contains(&typ.as_str()) {
        let source = m.source.map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| typ.clone());
        MountKind::Filesystem { fstype: typ, source }
    } else if typ.is_empty() {
        return Err(invalid(format!("mount on {destination}: no type (and not a bind)")));
    } else {
        return Err(unsupported(format!("mount type \"{typ}\" on {destination}")));
    };
    // the kernel's files stay the kernel's: only procfs at /proc, and
    // binds over the few files lxcfs-like tools replace (runc's rule)
    if destination == "/proc" || destination.starts_with("/proc/") {
        let ok = match &kind {
            MountKind::Filesystem { fstype, .. } => fstype == "proc" && destination == "/proc",
            MountKind::Bind { .. } => PROC_BIND_ALLOWED.contains(&destination.as_str()),
            MountKind::Cgroup => false,
        };
        if !ok {
            return Err(invalid(format!("{destination}: mounts under /proc are refused (the kernel's files)")));
        }
    }
    Ok(MountPlan { destination, kind, options })
}

/// runc's rule: a sysctl is set only in a namespace the container owns.
fn check_sysctl(key: &str, ns: &Namespaces) -> Result<(), PlanError> {
    const IPC: &[&str] = &["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];
    if key.contains("..") || key.contains('/') && key.contains('.') && key.split('/').any(|c| c == "..") {
        return Err(invalid(format!("linux.sysctl {key}: not a sysctl name")));
    }
    let own = |f: CloneFlags| ns.is_new(f);
    let ok = if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        own(CloneFlags::CLONE_NEWIPC)
    } else if key.starts_with("net.") {
        own(CloneFlags::CLONE_NEWNET) || ns.joins(CloneFlags::CLONE_NEWNET).is_some()
    } else if key == "kernel.domainname" || key == "kernel.hostname" {
        return Err(invalid(format!("linux.sysctl {key}: set hostname/domainname instead")));
    } else {
        false
    };
    if !ok {
        return Err(invalid(format!("linux.sysctl {key}: not in a namespace of the container's own")));
    }
    Ok(())
}

fn device(d: DeviceIn) -> Result<DeviceNode, PlanError> {
    let path = normalize(&d.path).map_err(|_| invalid(format!("linux.devices: {}: not an absolute path", d.path)))?;
    if !path.starts_with("/dev/") {
        return Err(invalid(format!("linux.devices: {path}: not under /dev")));
    }
    let kind = match d.typ.as_str() {
        "c" | "u" => libc::S_IFCHR,
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        t => return Err(invalid(format!("linux.devices: {path}: unknown type {t}"))),
    };
    let num = |n: i64, what: &str| u32::try_from(n).map_err(|_| invalid(format!("linux.devices: {path}: bad {what} {n}")));
    let (major, minor) = (num(d.major, "major")?, num(d.minor, "minor")?);
    Ok(DeviceNode {
        path,
        kind,
        major,
        minor,
        mode: d.file_mode.unwrap_or(0o666) & 0o7777,
        uid: d.uid.unwrap_or(0),
        gid: d.gid.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "ociVersion": "1.0.2",
            "root": {"path": "/"},
            "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "cgroup"}]},
        })
    }
    fn plan(v: serde_json::Value) -> Result<ContainerPlan, PlanError> {
        from_value(v, Path::new("/"))
    }

    #[test]
    fn a_minimal_configuration() {
        let p = plan(base()).unwrap();
        assert!(p.namespaces.is_new(CloneFlags::CLONE_NEWPID) && p.namespaces.new_cgroup);
        assert!(!p.namespaces.is_new(CloneFlags::CLONE_NEWNET));
        assert_eq!(p.root_propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert_eq!(p.process.args, vec!["sh"]);
    }

    #[test]
    fn unknown_and_unsupported_fields_are_refused_by_name() {
        let mut v = base();
        v["linux"]["intelRdt"] = json!({"closID": "x"});
        let e = plan(v).err().unwrap().to_string();
        assert!(e.contains("linux") && e.contains("intelRdt"), "{e}");
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "user"}]);
        assert!(plan(v).err().unwrap().to_string().contains("needs mappings"));
        let mut v = base();
        v["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE"});
        assert!(plan(v).is_err());
        let mut v = base();
        v["mounts"] = json!([{"destination": "/x", "type": "nfs", "source": "h:/x"}]);
        assert!(plan(v).err().unwrap().to_string().contains("mounts[0]"));
    }

    #[test]
    fn mounts_devices_sysctl_and_rlimits() {
        let mut v = base();
        v["mounts"] = json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"]},
            {"destination": "/t", "type": "tmpfs", "options": ["size=1m"]},
        ]);
        v["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]);
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 100, "soft": 50}]);
        let p = plan(v).unwrap();
        assert_eq!(p.mounts.len(), 3);
        assert_eq!(p.mounts[1].kind, MountKind::Bind { source: "/tmp".into() });
        assert!(p.mounts[1].options.recursive);
        assert_eq!(p.devices[0].mode, 0o666);
        assert_eq!(p.process.rlimits[0], Rlimit { resource: libc::RLIMIT_NOFILE as u32, soft: 50, hard: 100 });
        // /proc is the kernel's
        let mut v = base();
        v["mounts"] = json!([{"destination": "/proc/sys", "type": "bind", "source": "/tmp", "options": ["bind"]}]);
        assert!(plan(v).is_err());
        // sysctls only in namespaces of the container's own
        let mut v = base();
        v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        assert!(plan(v).is_err());
        let mut v = base();
        v["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "network"}));
        v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        assert!(plan(v).is_ok());
        let mut v = base();
        v["linux"]["sysctl"] = json!({"kernel.panic": "1"});
        assert!(plan(v).is_err());
    }
}
