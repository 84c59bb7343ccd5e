//! Container records: `$ROOT/containers/<id>/config.json` (what to run,
//! written once) and `state.json` (what happened, rewritten atomically).
use super::{atomic, io_err, Result, StateError, Store};
use crate::net::{NetConfig, NetMode, NetState};
pub use super::supervision::{Health, RestartPolicy};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// cpu.shares (v1) / converted to cpu.weight (v2).
    pub cpu_shares: u64,
    /// bytes
    pub memory: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
    /// memory + swap in bytes (`--memory-swap`; -1 unlimited); None:
    /// Docker's default (as much swap again as memory)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    /// bytes (`--memory-reservation`: v1 memory.soft_limit_in_bytes, v2 memory.low)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// `--cpus` in billionths of a CPU (Docker's NanoCpus): a CFS quota
    /// of nano_cpus·period/10⁹ µs per 100 ms period
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    /// `--cpuset-cpus`: the CPUs it may run on ("0-1", "0,2")
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
}

/// The CFS period bocker uses with `--cpus` (Docker's: 100 ms).
pub const CPU_PERIOD_US: u64 = 100_000;

impl Limits {
    /// The CFS quota in µs per `CPU_PERIOD_US` that `nano_cpus` means.
    pub fn cpu_quota(&self) -> Option<i64> {
        self.nano_cpus.filter(|n| *n > 0).map(|n| (n as i128 * CPU_PERIOD_US as i128 / 1_000_000_000) as i64)
    }
}

/// A resource limit of the container's processes (`--ulimit
/// nofile=1024:2048`); -1 is unlimited.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ulimit {
    /// Docker's short name: nofile, nproc, core, memlock, stack, …
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// Docker's `--ulimit` names and the OCI rlimit each one is.
const ULIMITS: &[(&str, &str)] = &[
    ("core", "RLIMIT_CORE"),
    ("cpu", "RLIMIT_CPU"),
    ("data", "RLIMIT_DATA"),
    ("fsize", "RLIMIT_FSIZE"),
    ("locks", "RLIMIT_LOCKS"),
    ("memlock", "RLIMIT_MEMLOCK"),
    ("msgqueue", "RLIMIT_MSGQUEUE"),
    ("nice", "RLIMIT_NICE"),
    ("nofile", "RLIMIT_NOFILE"),
    ("nproc", "RLIMIT_NPROC"),
    ("rss", "RLIMIT_RSS"),
    ("rtprio", "RLIMIT_RTPRIO"),
    ("rttime", "RLIMIT_RTTIME"),
    ("sigpending", "RLIMIT_SIGPENDING"),
    ("stack", "RLIMIT_STACK"),
];

/// `nofile` → `RLIMIT_NOFILE`.
pub fn rlimit_name(ulimit: &str) -> Option<&'static str> {
    ULIMITS.iter().find(|(n, _)| *n == ulimit).map(|(_, r)| *r)
}

/// A ulimit value as the kernel takes it: -1 is unlimited.
pub fn rlimit_value(v: i64) -> u64 {
    if v < 0 {
        u64::MAX
    } else {
        v as u64
    }
}

/// Whose ipc, pid or uts namespace a container lives in.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub enum NsMode {
    /// a new one of its own (Docker's "private"; "" in Docker's records)
    #[default]
    Private,
    /// its own, which other containers may join (ipc only)
    Shareable,
    /// the host's
    Host,
    /// another container's (its id)
    Container(String),
}

impl NsMode {
    pub fn is_private(&self) -> bool {
        matches!(self, NsMode::Private | NsMode::Shareable)
    }
}

impl TryFrom<String> for NsMode {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<NsMode, String> {
        Ok(match s.as_str() {
            "" | "private" => NsMode::Private,
            "shareable" => NsMode::Shareable,
            "host" => NsMode::Host,
            _ => match s.strip_prefix("container:") {
                Some(c) if !c.is_empty() => NsMode::Container(c.to_string()),
                _ => return Err(format!("invalid namespace mode {s:?} (host, private, shareable or container:NAME)")),
            },
        })
    }
}

impl From<NsMode> for String {
    fn from(m: NsMode) -> String {
        match m {
            NsMode::Private => "private".into(),
            NsMode::Shareable => "shareable".into(),
            NsMode::Host => "host".into(),
            NsMode::Container(c) => format!("container:{c}"),
        }
    }
}

fn is_private_default(m: &NsMode) -> bool {
    *m == NsMode::Private
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    /// "bind", "volume" or "tmpfs"
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub readonly: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
    /// a bind whose missing host folder is made at create (`-v`, as
    /// Docker's Binds; never `--mount`)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_source: bool,
}

/// Which seccomp filter a container runs under.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
pub enum Seccomp {
    /// Docker's default profile
    #[default]
    Default,
    /// no filter (`--security-opt seccomp=unconfined`, `--privileged`)
    Unconfined,
    /// a profile in Docker's JSON format, read at create
    Profile { json: String },
}

/// A host device made available in the container (`--device`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// the host's device node (absolute path)
    pub host: String,
    /// where it appears in the container (absolute path)
    pub container: String,
    /// cgroup permissions: a subset of "rwm"
    pub permissions: String,
}

/// How a container is confined. The default value is Docker's default
/// confinement: records written before this existed get it too.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// all capabilities, no masked paths, every device, /sys read-write,
    /// no seccomp
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// capability names (CAP_…) or ALL, added to Docker's default set
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// capability names (CAP_…) or ALL, dropped (applied before cap_add)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(default)]
    pub seccomp: Seccomp,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_new_privileges: bool,
    /// the root filesystem is mounted read-only
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ContainerRecord {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Image id, and what the user called it.
    pub image: String,
    pub image_ref: String,
    /// Layer ids of the image, bottom first.
    pub layers: Vec<String>,
    /// The full argv to execute.
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub hostname: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub interactive: bool,
    /// the container's stdin closes when the first attached client's ends
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stdin_once: bool,
    #[serde(default)]
    pub auto_remove: bool,
    pub limits: Limits,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    #[serde(default = "default_network")]
    pub network: NetMode,
    #[serde(default)]
    pub ports: Vec<String>,
    /// The bridge network chosen at create (bridge, subnet, egress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_config: Option<NetConfig>,
    /// confinement (capabilities, seccomp, devices, read-only root)
    #[serde(default)]
    pub security: Security,
    pub created: f64,
    /// the image's LABELs with the user's over them
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--restart`: what the monitor does when the process exits
    #[serde(default)]
    pub restart: RestartPolicy,
    /// the health check the monitor runs (the image's merged with the
    /// user's; `["NONE"]` turns the image's off)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<super::images::Healthcheck>,
    /// `--init`: the container's pid 1 reaps orphans and forwards signals
    /// to the command, which runs as its child
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    /// what `stop` sends first (`--stop-signal`, else the image's
    /// STOPSIGNAL; SIGTERM when neither)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// seconds `stop` waits before SIGKILL (`--stop-timeout`; 10)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u64>,
    /// user networks (`--network NAME`, `network connect`), the first one
    /// the primary (eth0, published ports, default route)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<NetworkRequest>,
    /// `--network container:X`: X's id
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_container: Option<String>,
    /// `--add-host NAME:IP` lines for /etc/hosts (IP already resolved)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_hosts: Vec<(String, std::net::Ipv4Addr)>,
    /// `--dns`: on a user network the responder forwards to these
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<std::net::Ipv4Addr>,
    /// `--dns-search`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    /// `--ulimit`: rlimits of its processes (exec'd ones too)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    /// `--shm-size`: bytes of its /dev/shm (None: 64 MiB)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    /// `--sysctl`: namespaced kernel parameters set in its namespaces
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sysctls: std::collections::BTreeMap<String, String>,
    /// `--group-add`: more supplementary groups (names from the image's
    /// /etc/group, or numbers)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    /// `--ipc`
    #[serde(default, skip_serializing_if = "is_private_default")]
    pub ipc: NsMode,
    /// `--pid`
    #[serde(default, skip_serializing_if = "is_private_default")]
    pub pid: NsMode,
    /// `--uts`
    #[serde(default, skip_serializing_if = "is_private_default")]
    pub uts: NsMode,
    /// `--log-driver`/`--log-opt`: what the monitor keeps of the output
    #[serde(default, skip_serializing_if = "crate::logs::LogConfig::is_default")]
    pub log: crate::logs::LogConfig,
}

/// A container's place on one user network.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NetworkRequest {
    pub name: String,
    /// `--network-alias` / `connect --alias`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `--ip` / `connect --ip`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::Ipv4Addr>,
}

fn default_network() -> NetMode {
    NetMode::None
}

/// Where a container is in its life. `Created` → `Running` (a monitor
/// started it) → `Exited` (the monitor recorded the end, or a reader found
/// the recorded process gone) → `Running` again (`start`, `restart`).
/// `Restarting`: the process exited and its monitor waits out the
/// restart policy's backoff before running it again.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Exited,
    Restarting,
}

impl Status {
    /// Whether a record may move from `self` to `next`.
    pub fn can_become(self, next: Status) -> bool {
        matches!(
            (self, next),
            (Status::Created, Status::Running)
                | (Status::Created, Status::Exited) // failed to start
                | (Status::Running, Status::Exited)
                | (Status::Exited, Status::Running)
                | (Status::Exited, Status::Exited)
                | (Status::Running, Status::Restarting)
                | (Status::Restarting, Status::Running)
                | (Status::Restarting, Status::Exited)
        )
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct ContainerState {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// start time of pid (field 22 of /proc/PID/stat), against pid reuse
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_pid: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<NetState>,
    /// the OOM killer killed a process of the container (Docker's
    /// State.OOMKilled), read from its cgroup when it exited
    #[serde(default)]
    pub oom_killed: bool,
    /// how many times the monitor ran the process again (Docker's
    /// RestartCount; a `start` by the user sets it back to 0)
    #[serde(default)]
    pub restart_count: u32,
    /// the health check's status and last results, while one runs
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

pub use super::pid::process_start_time;

/// What [`Store::scan_containers`] read of one container: its record and,
/// when asked for, its saved state (not yet checked against the process
/// table) and whether the user stopped it.
pub struct ScannedContainer {
    pub record: ContainerRecord,
    pub state: ContainerState,
    pub user_stopped: bool,
}

impl ContainerState {
    /// True if the recorded process still exists (and is the same one).
    pub fn alive(&self) -> bool {
        match (self.pid, self.pid_start) {
            (Some(pid), Some(start)) => process_start_time(pid) == Some(start),
            (Some(pid), None) => process_start_time(pid).is_some(),
            _ => false,
        }
    }
}

/// How long a reserved container folder without a create lock (made by an
/// older bocker) may lack its config.json before its name claim counts as
/// left by a creator that died (a create writes it within milliseconds of
/// naming). Folders with a create lock are judged by the lock at once.
pub const STALE_CLAIM_AGE: std::time::Duration = std::time::Duration::from_secs(10);

/// The lock a create holds in its reserved folder until it has written
/// the record: free while the folder has no config.json = its creator died.
pub const CREATE_LOCK: &str = ".create.lock";

/// The marker of a container that is removed when it exits (`--rm`). Its
/// first record is written without fsync (docs/DURABILITY.md): made before
/// that record, the marker says that a record found empty or short (what
/// a power loss can leave of an unsynced write) is a leftover, not a
/// container.
pub const DISPOSABLE: &str = ".disposable";

/// A reserved container id; its create lock is held until this is dropped
/// (after the record is written, or the create gave up).
pub struct Reservation {
    pub id: String,
    _lock: super::lock::Lock,
}

impl Store {
    pub fn container_config_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("config.json")
    }
    pub fn container_state_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("state.json")
    }
    /// The log file the monitor writes now (crate::logs knows the rest).
    pub fn container_log_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("output.log")
    }
    /// The marker of a stop or kill asked for by the user.
    pub fn user_stopped_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(super::supervision::USER_STOPPED)
    }
    pub fn user_stopped(&self, id: &str) -> bool {
        self.user_stopped_path(id).exists()
    }
    /// Records that the user asked the container to stop (before the
    /// signal is sent, so its monitor does not restart it).
    pub fn mark_user_stopped(&self, id: &str) -> Result<()> {
        let p = self.user_stopped_path(id);
        std::fs::write(&p, b"").map_err(io_err(&p))
    }
    pub fn clear_user_stopped(&self, id: &str) {
        let _ = std::fs::remove_file(self.user_stopped_path(id));
    }

    /// Reserves a fresh container id: mkdir is atomic, so two processes
    /// never get the same one.
    pub fn reserve_container_id(&self) -> Result<String> {
        for _ in 0..64 {
            let id = super::ids::new_id("ps_");
            let dir = self.container_dir(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(id),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&dir)(e)),
            }
        }
        Err(StateError::Conflict("could not allocate a container id".into()))
    }

    /// Reserves a fresh container id and holds its create lock: until the
    /// record is written, others tell by the lock whether this create still
    /// runs (a kill -9 frees it).
    pub fn reserve_container(&self) -> Result<Reservation> {
        let id = self.reserve_container_id()?;
        let path = self.container_dir(&id).join(CREATE_LOCK);
        match super::lock::Lock::exclusive(&path) {
            Ok(lock) => Ok(Reservation { id, _lock: lock }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(self.container_dir(&id));
                Err(e)
            }
        }
    }

    /// Claims `name` for container `id` (O_EXCL: names are unique). A claim
    /// whose container is gone, or never got its record (its creator died
    /// between naming it and writing config.json), is taken over.
    pub fn claim_name(&self, name: &str, id: &str) -> Result<()> {
        if !super::ids::valid_name(name) {
            return Err(StateError::Invalid(format!(
                "invalid container name '{name}': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let p = self.names_dir().join(name);
        for _ in 0..8 {
            match std::os::unix::fs::symlink(id, &p) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_link(&p).map(|t| t.display().to_string()).unwrap_or_default();
                    if owner.is_empty() || !self.claim_is_stale(&owner) {
                        return Err(StateError::Conflict(format!(
                            "the container name \"{name}\" is already in use by container \"{owner}\""
                        )));
                    }
                    self.drop_stale_claim(&p, &owner);
                }
                Err(e) => return Err(io_err(&p)(e)),
            }
        }
        Err(StateError::Conflict(format!("the container name \"{name}\" is contended; try again")))
    }

    /// A name's owner that will never be a container: its folder is gone,
    /// or has had no config.json for longer than a create takes.
    fn claim_is_stale(&self, owner: &str) -> bool {
        if owner.contains('/') || owner.starts_with('.') {
            return false;
        }
        let dir = self.container_dir(owner);
        let Ok(meta) = std::fs::symlink_metadata(&dir) else { return true };
        if self.has_record(owner) {
            return false;
        }
        if let Some(free) = super::lock::Lock::is_free(&dir.join(CREATE_LOCK)) {
            // the lock is taken before the name is claimed: free means the
            // creator died, unless it wrote the record meanwhile
            return free && !self.has_record(owner);
        }
        let age = meta.modified().ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
        age >= STALE_CLAIM_AGE
    }

    /// Removes a stale claim without racing another claimer: the link is
    /// renamed to a private name first (one racer wins), checked to still
    /// name `owner` (else put back), then unlinked; the record-less folder
    /// of the dead creator goes too.
    fn drop_stale_claim(&self, link: &std::path::Path, owner: &str) {
        let tmp = self.tmp_dir().join(super::staging::tagged_name("name"));
        if std::fs::rename(link, &tmp).is_err() {
            return; // someone else took it: look again
        }
        let now = std::fs::read_link(&tmp).map(|t| t.display().to_string()).unwrap_or_default();
        if now != owner {
            // re-claimed meanwhile: give it back (fails if taken again, then
            // the newer claim stands)
            let _ = std::fs::hard_link(&tmp, link);
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        let _ = std::fs::remove_file(&tmp);
        let dir = self.container_dir(owner);
        if dir.exists() && !self.container_config_path(owner).exists() {
            let trash = self.tmp_dir().join(super::staging::tagged_name(&format!("rm-{owner}")));
            if std::fs::rename(&dir, &trash).is_ok() {
                let _ = crate::storage::remove_tree(&trash);
            }
        }
    }

    /// Repairs what killed creates and removals left among container
    /// folders and names: folders without a record whose creator is gone
    /// (removed), names whose container is gone or never got a record
    /// (released), temp files of record writes whose writer is gone.
    /// Returns what it removed, for a report. Safe beside running
    /// commands: nothing a live process is still writing is touched.
    pub fn repair_containers(&self) -> Result<Vec<String>> {
        let mut fixed = Vec::new();
        let names = self.names_dir();
        for e in std::fs::read_dir(&names).map_err(io_err(&names))?.flatten() {
            let link = e.path();
            let Ok(owner) = std::fs::read_link(&link) else { continue };
            let owner = owner.display().to_string();
            if !owner.is_empty() && self.claim_is_stale(&owner) {
                self.drop_stale_claim(&link, &owner);
                if std::fs::symlink_metadata(&link).is_err() {
                    fixed.push(format!("name {}", e.file_name().to_string_lossy()));
                }
            }
        }
        let dir = self.containers_dir();
        for e in std::fs::read_dir(&dir).map_err(io_err(&dir))?.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if !id.starts_with("ps_") {
                continue;
            }
            let cdir = e.path();
            // (a folder whose record reads is never a stale claim)
            if self.claim_is_stale(&id) {
                let trash = self.tmp_dir().join(super::staging::tagged_name(&format!("rm-{id}")));
                if std::fs::rename(&cdir, &trash).is_ok() {
                    let _ = crate::storage::remove_tree(&trash);
                    fixed.push(format!("reservation {id}"));
                }
                continue;
            }
            let temps = super::staging::clean_dir(&cdir, super::staging::UNTAGGED_MAX_AGE, &super::staging::is_temp_record)
                .map_err(io_err(&cdir))?;
            fixed.extend(temps.iter().map(|p| format!("temp record {}", p.display())));
        }
        Ok(fixed)
    }

    pub fn release_name(&self, name: &str, id: &str) {
        let p = self.names_dir().join(name);
        if std::fs::read_link(&p).map(|t| t.as_os_str() == id).unwrap_or(false) {
            let _ = std::fs::remove_file(&p);
        }
    }

    pub fn save_container(&self, c: &ContainerRecord) -> Result<()> {
        atomic::write_json(&self.container_config_path(&c.id), c)
    }

    /// Writes a new container's first record. One that is removed when it
    /// exits (`--rm`) does not outlive a power loss in any useful way, so
    /// its record is not fsynced (two fsyncs off every `run --rm`); its
    /// folder is marked `DISPOSABLE` first, which `has_record` reads.
    pub fn save_new_container(&self, c: &ContainerRecord) -> Result<()> {
        if !c.auto_remove {
            return self.save_container(c);
        }
        let marker = self.container_dir(&c.id).join(DISPOSABLE);
        std::fs::File::create(&marker).map_err(io_err(&marker))?;
        atomic::write_json_with(&self.container_config_path(&c.id), c, false)
    }

    /// Whether `id`'s folder holds a container record: a config.json, which
    /// in a `DISPOSABLE` folder must also parse (a power loss may have left
    /// it empty or short).
    pub fn has_record(&self, id: &str) -> bool {
        let config = self.container_config_path(id);
        if !self.container_dir(id).join(DISPOSABLE).exists() {
            return config.exists();
        }
        atomic::read_json::<ContainerRecord>(&config).is_ok()
    }

    pub fn load_container(&self, id: &str) -> Result<ContainerRecord> {
        atomic::read_json_if_exists(&self.container_config_path(id))?
            .ok_or_else(|| StateError::NotFound(format!("No such container: {id}")))
    }

    pub fn save_state(&self, id: &str, s: &ContainerState) -> Result<()> {
        atomic::write_json_with(&self.container_state_path(id), s, false)
    }

    pub fn load_state(&self, id: &str) -> Result<ContainerState> {
        Ok(atomic::read_json_if_exists(&self.container_state_path(id))?
            .unwrap_or_else(|| ContainerState { status: Status::Created, ..Default::default() }))
    }

    /// All containers with a config record, sorted by creation.
    pub fn list_containers(&self) -> Result<Vec<ContainerRecord>> {
        Ok(self.scan_containers(false)?.into_iter().map(|s| s.record).collect())
    }

    /// All containers with a config record, sorted by creation; with
    /// `with_state`, each one's saved state and stop marker too. One pass
    /// by descriptor: every file is opened relative to the containers
    /// folder (one component walked, not the store's whole path) and read
    /// in one call into a buffer reused across records (`ps` of 1,000
    /// containers made 11 calls each, 7 now).
    pub fn scan_containers(&self, with_state: bool) -> Result<Vec<ScannedContainer>> {
        use std::os::fd::AsFd;
        let dir = self.containers_dir();
        let rd = std::fs::read_dir(&dir).map_err(io_err(&dir))?;
        let dfd = std::fs::File::open(&dir).map_err(io_err(&dir))?;
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name();
            let id = name.as_encoded_bytes();
            if !id.starts_with(b"ps_") || id.contains(&b'/') {
                continue;
            }
            let read = |file: &str, buf: &mut Vec<u8>| -> bool {
                let mut p = id.to_vec();
                p.push(b'/');
                p.extend_from_slice(file.as_bytes());
                crate::sys::fs::read_small_at(dfd.as_fd(), &p, buf).unwrap_or(false)
            };
            // a folder without a readable record (a create under way, or
            // one that died) is not a container yet
            if !read("config.json", &mut buf) {
                continue;
            }
            let Ok(record) = serde_json::from_slice::<ContainerRecord>(&buf) else { continue };
            let (state, user_stopped) = if with_state {
                let state = if read("state.json", &mut buf) {
                    let p = self.container_state_path(&record.id);
                    serde_json::from_slice(&buf).map_err(|source| StateError::Corrupt { path: p, source })?
                } else {
                    ContainerState { status: Status::Created, ..Default::default() }
                };
                let mut marker = id.to_vec();
                marker.push(b'/');
                marker.extend_from_slice(super::supervision::USER_STOPPED.as_bytes());
                let stopped = matches!(crate::sys::fs::lstat_at(dfd.as_fd(), &marker), Ok(Some(_)));
                (state, stopped)
            } else {
                (ContainerState::default(), false)
            };
            out.push(ScannedContainer { record, state, user_stopped });
        }
        out.sort_by(|a, b| a.record.created.total_cmp(&b.record.created).then(a.record.id.cmp(&b.record.id)));
        Ok(out)
    }

    /// Finds a container by id, name or unique id prefix.
    pub fn resolve_container(&self, reference: &str) -> Result<ContainerRecord> {
        let valid = !reference.is_empty() && !reference.contains('/') && !reference.starts_with('.');
        if valid {
            if self.container_config_path(reference).is_file() {
                return self.load_container(reference);
            }
            if let Ok(target) = std::fs::read_link(self.names_dir().join(reference)) {
                if let Ok(c) = self.load_container(&target.to_string_lossy()) {
                    return Ok(c);
                }
            }
            let all = self.list_containers()?;
            let hits: Vec<&ContainerRecord> = all.iter().filter(|c| c.id.starts_with(reference)).collect();
            match hits.len() {
                1 => return Ok(hits[0].clone()),
                0 => {}
                n => {
                    return Err(StateError::Conflict(format!(
                        "container reference '{reference}' is ambiguous: it matches {n} containers"
                    )))
                }
            }
        }
        Err(StateError::NotFound(format!("No such container: {reference}")))
    }

    /// Deletes a container's records and folders (nothing may run in it).
    pub fn delete_container(&self, c: &ContainerRecord) -> Result<()> {
        match self.trash_container(c)? {
            Some(trash) => crate::storage::remove_tree(&trash).map_err(io_err(&trash)),
            None => Ok(()),
        }
    }

    /// The first half of [`Store::delete_container`]: the name released and
    /// the folder moved into `tmp/` under this process's tag (one rename:
    /// the container is gone from the store), which the caller removes
    /// (or the next repair, once this process is gone). None when there
    /// was no folder.
    pub fn trash_container(&self, c: &ContainerRecord) -> Result<Option<std::path::PathBuf>> {
        if let Some(n) = &c.name {
            self.release_name(n, &c.id);
            crate::crashpoint::hit("rm.unnamed");
        }
        let dir = self.container_dir(&c.id);
        if !dir.exists() {
            return Ok(None);
        }
        let trash = self.tmp_dir().join(super::staging::tagged_name(&format!("rm-{}", c.id)));
        std::fs::rename(&dir, &trash).map_err(io_err(&dir))?;
        crate::crashpoint::hit("rm.trashed");
        Ok(Some(trash))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_transitions() {
        use super::Status::*;
        assert!(Created.can_become(Running) && Running.can_become(Exited) && Exited.can_become(Running));
        assert!(!Running.can_become(Created) && !Exited.can_become(Created) && !Running.can_become(Running));
        assert_eq!(serde_json::to_string(&Exited).unwrap(), "\"exited\"");
    }

    use super::*;

    fn age(p: &std::path::Path, secs: u64) {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
        let f = std::fs::File::open(p).unwrap();
        f.set_modified(t).unwrap();
    }

    fn record(id: &str, created: f64) -> ContainerRecord {
        serde_json::from_value(serde_json::json!({
            "id": id, "image": "img_1", "image_ref": "img_1", "layers": [], "args": ["true"], "env": [],
            "workdir": "/", "hostname": id, "user": "", "tty": false, "interactive": false,
            "auto_remove": false, "limits": { "cpu_shares": 512, "memory": 0 }, "mounts": [], "network": "none", "ports": [],
            "created": created,
        }))
        .unwrap()
    }

    #[test]
    fn the_scan_reads_records_states_and_stop_markers() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path().join("root")).unwrap();
        for (id, created) in [("ps_b", 2.0), ("ps_a", 1.0), ("ps_c", 3.0)] {
            std::fs::create_dir(s.container_dir(id)).unwrap();
            s.save_container(&record(id, created)).unwrap();
        }
        // a state bigger than the first read, to take the growing path
        let mut running = ContainerState { status: Status::Running, pid: Some(1), ..Default::default() };
        running.error = Some("x".repeat(10_000));
        s.save_state("ps_b", &running).unwrap();
        s.mark_user_stopped("ps_c").unwrap();
        // a folder without its record yet (a create under way), other files
        std::fs::create_dir(s.container_dir("ps_d")).unwrap();
        std::fs::write(s.containers_dir().join("stray"), b"").unwrap();
        let all = s.scan_containers(true).unwrap();
        let ids: Vec<&str> = all.iter().map(|c| c.record.id.as_str()).collect();
        assert_eq!(ids, ["ps_a", "ps_b", "ps_c"], "sorted by creation");
        assert_eq!(all[0].state.status, Status::Created, "no state.json reads as created");
        assert_eq!(all[1].state.status, Status::Running);
        assert_eq!(all[1].state.error.as_deref().map(str::len), Some(10_000));
        assert_eq!(all.iter().map(|c| c.user_stopped).collect::<Vec<_>>(), [false, false, true]);
        // a garbled state is an error, as load_state's
        std::fs::write(s.container_state_path("ps_a"), b"{").unwrap();
        assert!(matches!(s.scan_containers(true), Err(StateError::Corrupt { .. })));
        assert_eq!(s.list_containers().unwrap().len(), 3, "records alone need no state");
    }

    #[test]
    fn a_disposable_record_cut_short_is_a_leftover() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path().join("root")).unwrap();
        // two creates, as container::create makes them: reserved, named, recorded
        let mut made = Vec::new();
        for (name, auto_remove) in [("n-rm", true), ("n-keep", false)] {
            let r = s.reserve_container().unwrap();
            let mut c = record(&r.id, 1.0);
            c.auto_remove = auto_remove;
            s.claim_name(name, &c.id).unwrap();
            s.save_new_container(&c).unwrap();
            made.push(c.id.clone());
        }
        let (rm, keep) = (made[0].as_str(), made[1].as_str());
        assert!(s.container_dir(rm).join(DISPOSABLE).exists());
        assert!(!s.container_dir(keep).join(DISPOSABLE).exists());
        assert!(s.has_record(rm) && s.has_record(keep));
        assert_eq!(s.scan_containers(true).unwrap().len(), 2);
        assert!(s.repair_containers().unwrap().is_empty(), "whole records stay");
        // what a power loss can leave of unsynced data: an empty record
        std::fs::write(s.container_config_path(rm), b"").unwrap();
        std::fs::write(s.container_config_path(keep), b"").unwrap();
        assert!(!s.has_record(rm));
        assert!(s.has_record(keep), "a synced record is never judged by its content");
        assert!(s.scan_containers(true).unwrap().is_empty(), "neither lists");
        // its name is free again, and the repair removes its folder
        let other = s.reserve_container().unwrap();
        s.claim_name("n-rm", &other.id).unwrap();
        assert!(matches!(s.claim_name("n-keep", &other.id), Err(StateError::Conflict(_))));
        std::fs::write(s.container_config_path(rm), b"{\"id\": ").unwrap();
        let fixed = s.repair_containers().unwrap();
        assert!(fixed.iter().any(|f| f.contains(rm)), "{fixed:?}");
        assert!(!s.container_dir(rm).exists(), "a short record goes too");
        assert!(s.container_dir(keep).exists());
    }

    #[test]
    fn a_dead_creators_claim_is_taken_over_at_once() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path().join("root")).unwrap();
        let live = s.reserve_container().unwrap();
        s.claim_name("db", &live.id).unwrap();
        let other = s.reserve_container().unwrap();
        // its creator holds the create lock: the claim stands
        assert!(matches!(s.claim_name("db", &other.id), Err(StateError::Conflict(_))));
        assert!(s.repair_containers().unwrap().is_empty());
        assert!(s.container_dir(&live.id).exists());
        // the creator dies (its lock goes with it): taken over, no waiting
        let dead = live.id.clone();
        drop(live);
        s.claim_name("db", &other.id).unwrap();
        assert!(!s.container_dir(&dead).exists());
        // a reservation without a name is repaired away too
        let lone = s.reserve_container().unwrap();
        let lone_id = lone.id.clone();
        drop(lone);
        let fixed = s.repair_containers().unwrap();
        assert!(fixed.iter().any(|f| f.contains(&lone_id)), "{fixed:?}");
        assert!(!s.container_dir(&lone_id).exists());
        assert!(s.container_dir(&other.id).exists(), "a live reservation stays");
    }

    #[test]
    fn a_claim_without_a_record_is_taken_over_once_old() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path().join("root")).unwrap();
        // a creator that died after naming: folder, name, no config.json
        let dead = s.reserve_container_id().unwrap();
        s.claim_name("web", &dead).unwrap();
        let other = s.reserve_container_id().unwrap();
        // young: the creator may still be writing its record
        assert!(matches!(s.claim_name("web", &other), Err(StateError::Conflict(_))));
        age(&s.container_dir(&dead), 60);
        s.claim_name("web", &other).unwrap();
        assert_eq!(std::fs::read_link(s.names_dir().join("web")).unwrap().to_str(), Some(other.as_str()));
        assert!(!s.container_dir(&dead).exists(), "the dead creator's folder goes");
        // a container with a record keeps its name however old
        std::fs::write(s.container_config_path(&other), "{}").unwrap();
        age(&s.container_dir(&other), 60);
        let third = s.reserve_container_id().unwrap();
        assert!(matches!(s.claim_name("web", &third), Err(StateError::Conflict(_))));
        // an owner whose folder is gone
        std::fs::remove_dir_all(s.container_dir(&other)).unwrap();
        s.claim_name("web", &third).unwrap();
    }
}
