//! Container lifecycle on the store: create a record from a spec, inspect
//! with live status, stop, kill, wait, remove.
use crate::state::containers::Status;
use crate::cgroup::ContainerCgroup;
use crate::state::containers::{ContainerRecord, ContainerState, Limits, MountSpec, NsMode};
use crate::net::NetMode;
use crate::state::{StateError, Store};
use crate::state::images::Healthcheck;
use crate::state::supervision::RestartPolicy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod events;
pub mod connect;
pub mod netspec;
pub mod runflags;
pub mod security;
pub mod archive;
pub mod changes;
pub mod cp;
pub mod rename;
pub mod stats;
pub mod top;
pub mod shm;
pub mod update;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
}

pub type Result<T> = std::result::Result<T, ContainerError>;

/// What `bocker.container.create` accepts (unknown keys are an error).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateSpec {
    pub image: String,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub interactive: bool,
    /// close stdin when the first attached client's stdin ends (Docker's StdinOnce)
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default)]
    pub rm: bool,
    #[serde(default)]
    pub cpu_shares: Option<u64>,
    #[serde(default)]
    pub memory: Option<i64>,
    #[serde(default)]
    pub pids_limit: Option<i64>,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default)]
    pub ports: Vec<String>,
    #[serde(default)]
    pub publish_all: bool,
    /// bridge network: override BOCKER_BRIDGE / BOCKER_SUBNET for this
    /// container (a script can build its own topology of bridges)
    #[serde(default)]
    pub bridge: Option<String>,
    #[serde(default)]
    pub subnet: Option<String>,
    /// Docker's --privileged
    #[serde(default)]
    pub privileged: bool,
    /// capability names, with or without CAP_, or ALL
    #[serde(default)]
    pub cap_add: Vec<String>,
    #[serde(default)]
    pub cap_drop: Vec<String>,
    /// Docker's --security-opt: seccomp=unconfined|PROFILE.json,
    /// no-new-privileges[=true|false]
    #[serde(default)]
    pub security_opt: Vec<String>,
    /// read-only root filesystem
    #[serde(default)]
    pub read_only: bool,
    /// HOST[:CONTAINER][:rwm]
    #[serde(default)]
    pub devices: Vec<String>,
    /// user networks after (or instead of) `network`, with aliases and addresses
    #[serde(default)]
    pub networks: Vec<crate::state::containers::NetworkRequest>,
    /// `NAME:IP` lines for /etc/hosts (`host-gateway`: the network's gateway)
    #[serde(default)]
    pub add_hosts: Vec<String>,
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// merged over the image's LABELs
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// no|on-failure[:N]|always|unless-stopped
    #[serde(default)]
    pub restart: Option<String>,
    /// merged over the image's HEALTHCHECK, field by field
    #[serde(default)]
    pub healthcheck: Option<HealthcheckSpec>,
    /// no health check, not even the image's
    #[serde(default)]
    pub no_healthcheck: bool,
    /// a pid 1 that reaps orphans and forwards signals
    #[serde(default)]
    pub init: bool,
    /// what `stop` sends (a name or a number; default the image's, else SIGTERM)
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// seconds `stop` waits before SIGKILL (default 10)
    #[serde(default)]
    pub stop_timeout: Option<u64>,
    /// `--ulimit`: `{ {name = "nofile", soft = N, hard = N}, ... }`
    #[serde(default)]
    pub ulimits: Vec<crate::state::containers::Ulimit>,
    /// bytes of /dev/shm (0 or absent: 64 MiB)
    #[serde(default)]
    pub shm_size: Option<i64>,
    /// namespaced sysctls
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// CPUs of CFS quota (`--cpus 1.5`)
    #[serde(default)]
    pub cpus: Option<f64>,
    #[serde(default)]
    pub cpuset_cpus: Option<String>,
    /// memory + swap in bytes, -1 unlimited
    #[serde(default)]
    pub memory_swap: Option<i64>,
    #[serde(default)]
    pub memory_reservation: Option<i64>,
    /// supplementary groups: names in the image's /etc/group, or numbers
    #[serde(default)]
    pub group_add: Vec<String>,
    /// host, private, shareable or container:X
    #[serde(default)]
    pub ipc: Option<String>,
    /// host or container:X
    #[serde(default)]
    pub pid: Option<String>,
    /// host
    #[serde(default)]
    pub uts: Option<String>,
    /// `{ driver, max_size, max_file, labels, env, tag }` (json-file, unbounded)
    #[serde(default)]
    pub log: Option<crate::logs::LogConfig>,
}

/// A health check as a spec gives it: times in seconds.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckSpec {
    /// {"CMD", argv...}, {"CMD-SHELL", command} or {"NONE"}
    #[serde(default)]
    pub test: Option<Vec<String>>,
    #[serde(default)]
    pub interval: Option<f64>,
    #[serde(default)]
    pub timeout: Option<f64>,
    #[serde(default)]
    pub retries: Option<i64>,
    #[serde(default)]
    pub start_period: Option<f64>,
}

/// The health check a container runs: the image's, with each field the
/// spec gives over it (Docker's merge); `no_healthcheck`: `["NONE"]`.
pub fn healthcheck_of(image: Option<&Healthcheck>, spec: Option<&HealthcheckSpec>, none: bool) -> Result<Option<Healthcheck>> {
    if none {
        return Ok(Some(Healthcheck { test: vec!["NONE".into()], ..Default::default() }));
    }
    let Some(sp) = spec else { return Ok(image.cloned()) };
    let mut hc = image.cloned().unwrap_or_default();
    let nanos = |what: &str, s: Option<f64>| -> Result<Option<i64>> {
        match s {
            None => Ok(None),
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some((v * 1e9).round() as i64)),
            Some(v) => Err(ContainerError::Invalid(format!("healthcheck {what}: {v} is not a duration in seconds"))),
        }
    };
    if let Some(t) = &sp.test {
        hc.test = t.clone();
    }
    hc.interval = nanos("interval", sp.interval)?.or(hc.interval);
    hc.timeout = nanos("timeout", sp.timeout)?.or(hc.timeout);
    hc.start_period = nanos("start_period", sp.start_period)?.or(hc.start_period);
    if let Some(r) = sp.retries {
        if r < 0 {
            return Err(ContainerError::Invalid(format!("healthcheck retries: {r} is negative")));
        }
        hc.retries = Some(r);
    }
    match hc.test.first().map(String::as_str) {
        None => Err(ContainerError::Invalid("healthcheck: no test given (the image has none)".into())),
        Some("NONE") => Ok(Some(hc)),
        Some("CMD") | Some("CMD-SHELL") if hc.test.len() > 1 => Ok(Some(hc)),
        Some(t) => Err(ContainerError::Invalid(format!("healthcheck test: expected {{\"CMD\", ...}}, {{\"CMD-SHELL\", \"...\"}} or {{\"NONE\"}}, not {t:?}"))),
    }
}

/// The seed's defaults: BOCKER_CPU_SHARE (512) and BOCKER_MEM_LIMIT in MB
/// (512, i.e. 512000000 bytes).
pub fn default_limits() -> std::result::Result<Limits, String> {
    let cpu = match std::env::var("BOCKER_CPU_SHARE") {
        Ok(v) if !v.is_empty() => v.trim().parse().map_err(|_| format!("BOCKER_CPU_SHARE: not a number: {v}"))?,
        _ => 512,
    };
    let mem_mb: i64 = match std::env::var("BOCKER_MEM_LIMIT") {
        Ok(v) if !v.is_empty() => v.trim().parse().map_err(|_| format!("BOCKER_MEM_LIMIT: not a number of MB: {v}"))?,
        _ => 512,
    };
    Ok(Limits { cpu_shares: cpu, memory: mem_mb * 1_000_000, ..Default::default() })
}

pub use crate::runtime::process::merge_env;

/// The argv a container runs: Docker's Entrypoint/Cmd rules.
pub fn command_of(
    image_entrypoint: Option<&Vec<String>>,
    image_cmd: Option<&Vec<String>>,
    entrypoint: Option<&Vec<String>>,
    cmd: Option<&Vec<String>>,
) -> Vec<String> {
    let ep: Vec<String> = match entrypoint {
        Some(e) => e.clone(),
        None => image_entrypoint.cloned().unwrap_or_default(),
    };
    let c: Vec<String> = match (cmd, entrypoint) {
        (Some(c), _) if !c.is_empty() => c.clone(),
        // an explicit --entrypoint resets the image's Cmd
        (_, Some(_)) => Vec::new(),
        _ => image_cmd.cloned().unwrap_or_default(),
    };
    ep.into_iter().chain(c).collect()
}

pub fn create(store: &Store, spec: CreateSpec) -> Result<ContainerRecord> {
    crate::trace::mark("cli: create");
    let img = store.resolve_image(&spec.image)?;
    let args = command_of(
        img.config.entrypoint.as_ref(),
        img.config.cmd.as_ref(),
        spec.entrypoint.as_ref(),
        spec.cmd.as_ref(),
    );
    if args.is_empty() {
        return Err(ContainerError::Invalid("no command specified".into()));
    }
    let mut limits = default_limits().map_err(ContainerError::Invalid)?;
    if let Some(c) = spec.cpu_shares {
        limits.cpu_shares = c;
    }
    if let Some(m) = spec.memory {
        // 0 or -1: no memory limit (what build steps get by default)
        if m <= 0 {
            limits.memory = -1;
        } else if m < 6 * 1024 * 1024 {
            return Err(ContainerError::Invalid("minimum memory limit allowed is 6MB".into()));
        } else {
            limits.memory = m;
        }
    }
    limits.pids = spec.pids_limit;
    // Docker's 0: not set
    limits.memory_swap = spec.memory_swap.filter(|s| *s != 0);
    limits.memory_reservation = spec.memory_reservation.filter(|r| *r != 0);
    limits.nano_cpus = match spec.cpus {
        Some(c) => Some(runflags::nano_cpus(c).map_err(ContainerError::Invalid)?).filter(|n| *n > 0),
        None => None,
    };
    limits.cpuset_cpus = spec.cpuset_cpus.clone().filter(|c| !c.is_empty());
    runflags::check_memory(&limits).map_err(ContainerError::Invalid)?;
    let ns = namespaces_of(store, &spec)?;
    let bridge_cfg = || {
        let env = |k: &str| std::env::var(k).ok();
        let bridge = spec.bridge.clone().or_else(|| env("BOCKER_BRIDGE"));
        let subnet = spec.subnet.clone().or_else(|| env("BOCKER_SUBNET"));
        crate::net::NetConfig::parse(bridge.as_deref(), subnet.as_deref(), env("BOCKER_NET_EGRESS").as_deref())
            .map_err(|e| ContainerError::Invalid(e.to_string()))
    };
    let net = netspec::resolve(store, spec.network.as_deref(), &spec.networks, &spec.add_hosts, &spec.dns, &spec.dns_search, &bridge_cfg)?;
    let network = net.mode.unwrap_or(NetMode::Bridge);
    // the other container's namespace brings its own names (as Docker refuses)
    if network == NetMode::Container {
        let given = [("hostname", spec.hostname.is_some()), ("dns", !spec.dns.is_empty() || !spec.dns_search.is_empty()), ("add-host", !spec.add_hosts.is_empty())];
        if let Some((what, _)) = given.iter().find(|(_, g)| *g) {
            return Err(ContainerError::Invalid(format!("conflicting options: {what} and the network mode container:")));
        }
    }
    // published ports: checked now, so a typo fails before anything starts
    let mut ports = spec.ports.clone();
    if spec.publish_all {
        ports.extend(img.config.exposed_ports.iter().cloned());
    }
    for p in &ports {
        crate::net::ports::parse(p).map_err(|e| ContainerError::Invalid(e.to_string()))?;
    }
    if !ports.is_empty() && !matches!(network, NetMode::Bridge | NetMode::User) {
        let name = serde_json::to_value(network).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        return Err(ContainerError::Invalid(format!("published ports need --network bridge, not {name}")));
    }
    let log = spec.log.clone().unwrap_or_default();
    log.validate().map_err(ContainerError::Invalid)?;
    let net_config = net.net_config.clone();
    for (k, v) in &spec.sysctls {
        runflags::check_sysctl(k, v, &ns.ipc, network).map_err(ContainerError::Invalid)?;
    }
    runflags::check_ulimits(&spec.ulimits).map_err(ContainerError::Invalid)?;
    let shm_size = match spec.shm_size {
        Some(s) if s < 0 => return Err(ContainerError::Invalid("SHM size can not be less than 0".into())),
        Some(s) if s > 0 => Some(s as u64),
        _ => None,
    };
    for g in &spec.group_add {
        if g.is_empty() || g.contains(':') || g.contains('\n') {
            return Err(ContainerError::Invalid(format!("invalid --group-add {g:?}")));
        }
    }
    let mut mounts = spec.mounts.clone();
    for m in &mounts {
        create_bind_source(m)?;
        validate_mount(m)?;
    }
    // the image's VOLUMEs become anonymous volumes unless mounted over
    for v in &img.config.volumes {
        crate::runtime::mounts::check_destination(v)
            .map_err(|e| ContainerError::Invalid(format!("image {}: VOLUME {e}", spec.image)))?;
        if !mounts.iter().any(|m| m.target.trim_end_matches('/') == v.trim_end_matches('/')) {
            mounts.push(MountSpec { kind: "volume".into(), source: String::new(), target: v.clone(), readonly: false, options: None, create_source: false });
        }
    }
    for m in mounts.iter_mut().filter(|m| m.kind == "volume") {
        let name = if m.source.is_empty() { None } else { Some(m.source.as_str()) };
        m.source = crate::volumes::create(store, name)?.name;
    }
    let security = security::from_create_spec(&spec).map_err(ContainerError::Invalid)?;
    let restart: RestartPolicy = spec.restart.as_deref().unwrap_or("no").parse().map_err(ContainerError::Invalid)?;
    if spec.rm && !restart.is_no() {
        return Err(ContainerError::Invalid("Conflicting options: --restart and --rm".into()));
    }
    let healthcheck = healthcheck_of(img.config.healthcheck.as_ref(), spec.healthcheck.as_ref(), spec.no_healthcheck)?;
    let stop_signal = spec.stop_signal.clone().or(img.config.stop_signal.clone());
    if let Some(sig) = &stop_signal {
        signal_number(sig).ok_or_else(|| ContainerError::Invalid(format!("invalid stop signal: {sig}")))?;
    }
    let mut labels = img.config.labels.clone();
    labels.extend(spec.labels.clone());
    let reservation = store.reserve_container()?;
    let id = reservation.id.clone();
    crate::crashpoint::hit("create.reserved");
    let undo = |e: ContainerError| {
        let _ = std::fs::remove_dir_all(store.container_dir(&id));
        e
    };
    if let Some(n) = &spec.name {
        store.claim_name(n, &id).map_err(|e| undo(e.into()))?;
        crate::crashpoint::hit("create.named");
    }
    // the host's uts namespace: the host's name
    let hostname = match (&ns.uts, &spec.hostname) {
        (NsMode::Host, _) => nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| id.clone()),
        (_, Some(h)) => h.clone(),
        _ => id.clone(),
    };
    let mut env = merge_env(&[crate::local_images::DEFAULT_PATH.to_string()], &img.config.env);
    env = merge_env(&env, &[format!("HOSTNAME={hostname}")]);
    if spec.tty {
        env = merge_env(&env, &["TERM=xterm".to_string()]);
    }
    env = merge_env(&env, &spec.env);
    let rec = ContainerRecord {
        id: id.clone(),
        name: spec.name.clone(),
        image: img.id.clone(),
        image_ref: spec.image.clone(),
        layers: img.layers.clone(),
        args,
        env,
        workdir: spec.workdir.or(img.config.working_dir.clone()).unwrap_or_else(|| "/".into()),
        hostname,
        user: spec.user.or(img.config.user.clone()).unwrap_or_default(),
        tty: spec.tty,
        interactive: spec.interactive,
        stdin_once: spec.stdin_once,
        auto_remove: spec.rm,
        limits,
        mounts,
        network,
        ports,
        net_config,
        security,
        created: crate::state::now(),
        labels,
        restart,
        healthcheck,
        init: spec.init,
        stop_signal,
        stop_timeout: spec.stop_timeout,
        networks: net.networks,
        net_container: net.net_container,
        add_hosts: net.add_hosts,
        dns: net.dns,
        dns_search: net.dns_search,
        ulimits: spec.ulimits.clone(),
        shm_size,
        sysctls: spec.sysctls.clone(),
        group_add: spec.group_add.clone(),
        ipc: ns.ipc,
        pid: ns.pid,
        uts: ns.uts,
        log,
    };
    let saved = store.save_new_container(&rec).and_then(|_| {
        crate::crashpoint::hit("create.recorded");
        store.save_state(&id, &ContainerState { status: Status::Created, ..Default::default() })
    });
    if let Err(e) = saved {
        if let Some(n) = &spec.name {
            store.release_name(n, &id);
        }
        return Err(undo(e.into()));
    }
    drop(reservation);
    events::emit(store, &rec, "create", &[]);
    crate::trace::mark("cli: created");
    Ok(rec)
}

/// Held while a container's record is read, changed and written again
/// (`network connect`/`disconnect`, `update`), so no change is lost.
pub(crate) fn record_lock(store: &Store, id: &str) -> Result<crate::state::lock::Lock> {
    let p = store.lock_path(&format!("record-{id}"));
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    Ok(crate::state::lock::Lock::exclusive(&p)?)
}

/// The ipc, pid and uts modes of a spec, `container:X` resolved to X's id.
struct NsModes {
    ipc: NsMode,
    pid: NsMode,
    uts: NsMode,
}

fn namespaces_of(store: &Store, spec: &CreateSpec) -> Result<NsModes> {
    use runflags::NsKind;
    let one = |kind: NsKind, given: Option<&str>| -> Result<NsMode> {
        match runflags::ns_mode(kind, given).map_err(ContainerError::Invalid)? {
            NsMode::Container(other) => Ok(NsMode::Container(store.resolve_container(&other)?.id)),
            m => Ok(m),
        }
    };
    let ns = NsModes { ipc: one(NsKind::Ipc, spec.ipc.as_deref())?, pid: one(NsKind::Pid, spec.pid.as_deref())?, uts: one(NsKind::Uts, spec.uts.as_deref())? };
    if ns.uts == NsMode::Host && spec.hostname.is_some() {
        return Err(ContainerError::Invalid("conflicting options: hostname and the UTS mode".into()));
    }
    Ok(ns)
}

/// `-v /host/dir:/x` of a folder that does not exist makes it (0755), as
/// Docker does for Binds; `--mount` leaves `create_source` off and fails.
fn create_bind_source(m: &MountSpec) -> Result<()> {
    let src = std::path::Path::new(&m.source);
    if m.kind != "bind" || !m.create_source || !src.is_absolute() || src.symlink_metadata().is_ok() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(src)
        .map_err(|e| ContainerError::Invalid(format!("error while creating mount source path '{}': {e}", m.source)))
}

fn validate_mount(m: &MountSpec) -> Result<()> {
    if !m.target.starts_with('/') {
        return Err(ContainerError::Invalid(format!("mount destination {} is not an absolute path", m.target)));
    }
    crate::runtime::mounts::check_destination(&m.target).map_err(ContainerError::Invalid)?;
    match m.kind.as_str() {
        "bind" => {
            if !std::path::Path::new(&m.source).is_absolute() {
                return Err(ContainerError::Invalid(format!("bind source {} is not an absolute path", m.source)));
            }
            if !std::path::Path::new(&m.source).exists() {
                return Err(ContainerError::Invalid(format!(
                    "invalid mount config: bind source path does not exist: {}",
                    m.source
                )));
            }
            Ok(())
        }
        "tmpfs" => Ok(()),
        "volume" if m.source.is_empty() || crate::volumes::valid_name(&m.source) => Ok(()),
        "volume" => Err(ContainerError::Invalid(format!(
            "invalid volume name '{}': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            m.source
        ))),
        other => Err(ContainerError::Invalid(format!("unsupported mount type: {other}"))),
    }
}

/// A container's record with its live state.
#[derive(Serialize, Debug, Clone)]
pub struct Info {
    #[serde(flatten)]
    pub record: ContainerRecord,
    pub state: ContainerState,
    pub running: bool,
    /// running, with its cgroup frozen (`bocker pause`): derived from the
    /// cgroup, never recorded
    pub paused: bool,
    /// the user stopped or killed it (its restart policy does not bring
    /// it back; `start --restartable` skips it if `unless-stopped`)
    pub user_stopped: bool,
}

impl Info {
    /// The health status while it runs with a health check.
    pub fn health(&self) -> Option<crate::state::supervision::HealthStatus> {
        self.state.health.as_ref().filter(|_| self.running).map(|h| h.status)
    }
}

/// A running container whose cgroup is frozen (or freezing). A freeze
/// left by a commit that was killed is undone here: it is not a pause.
fn is_paused(store: &Store, id: &str, running: bool) -> bool {
    running && ContainerCgroup::load(id).is_frozen() && !thaw_if_commit_died(store, id)
}

/// What `commit` leaves in a container's folder while it holds the
/// container frozen: `.commit-freeze-…@PID.START`, naming the committer.
pub struct CommitFreeze(std::path::PathBuf);

const COMMIT_FREEZE: &str = ".commit-freeze";

impl CommitFreeze {
    /// Marks `id` as frozen by this process (before the freeze).
    pub fn mark(store: &Store, id: &str) -> std::result::Result<CommitFreeze, StateError> {
        let p = store.container_dir(id).join(crate::state::staging::tagged_name(COMMIT_FREEZE));
        std::fs::write(&p, b"").map_err(crate::state::io_err(&p))?;
        Ok(CommitFreeze(p))
    }
    /// After the thaw.
    pub fn clear(self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Thaws a container a killed commit left frozen and drops that commit's
/// marker; true if it did. A live commit's freeze and a `pause` (no
/// marker) are left alone.
pub fn thaw_if_commit_died(store: &Store, id: &str) -> bool {
    let Ok(rd) = std::fs::read_dir(store.container_dir(id)) else { return false };
    let mut dead = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(COMMIT_FREEZE) {
            continue;
        }
        match crate::state::staging::maker_alive(&name) {
            Some(false) => dead.push(e.path()),
            _ => return false, // a commit still holds it frozen
        }
    }
    if dead.is_empty() {
        return false;
    }
    let cg = ContainerCgroup::load(id);
    if cg.is_frozen() && cg.thaw().is_err() {
        return false;
    }
    for p in dead {
        let _ = std::fs::remove_file(p);
    }
    true
}

/// The state, corrected when the recorded process is gone (its monitor
/// was killed): such a container counts as exited.
pub fn live_state(store: &Store, id: &str) -> Result<ContainerState> {
    Ok(settle(store.load_state(id)?))
}

/// A saved state checked against the process table: a running container
/// whose process and monitor are gone, or a restarting one whose monitor
/// is gone, has exited. While the monitor still runs, a container whose
/// process just ended stays running: the monitor is about to record its
/// exit code (read as exited before, a `docker wait` right after a quick
/// container's start answered -1).
fn settle(mut st: ContainerState) -> ContainerState {
    let stale = match st.status {
        Status::Running => !st.alive() && !monitor_alive(&st),
        // waiting out a backoff: only its monitor is alive
        Status::Restarting => !monitor_alive(&st),
        _ => false,
    };
    if stale {
        st.status = Status::Exited;
        if st.exit_code.is_none() {
            st.exit_code = Some(-1);
        }
    }
    st
}

/// Whether the monitor recorded in `st` still runs.
pub fn monitor_alive(st: &ContainerState) -> bool {
    st.monitor_pid.is_some_and(|p| crate::state::containers::process_start_time(p).is_some())
}

/// Waits (up to `timeout`) until a restarting container's monitor, which
/// saw the user's stop, has recorded it as exited.
fn wait_restarting(store: &Store, id: &str, timeout: std::time::Duration) -> Result<()> {
    let start = std::time::Instant::now();
    while live_state(store, id)?.status == Status::Restarting && start.elapsed() < timeout {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

pub fn inspect(store: &Store, reference: &str) -> Result<Info> {
    let record = store.resolve_container(reference)?;
    let state = live_state(store, &record.id)?;
    let running = state.status == Status::Running;
    let paused = is_paused(store, &record.id, running);
    let user_stopped = store.user_stopped(&record.id);
    Ok(Info { record, state, running, paused, user_stopped })
}

pub fn list(store: &Store) -> Result<Vec<Info>> {
    let mut out = Vec::new();
    for s in store.scan_containers(true)? {
        let state = settle(s.state);
        let running = state.status == Status::Running;
        let paused = is_paused(store, &s.record.id, running);
        out.push(Info { record: s.record, state, running, paused, user_stopped: s.user_stopped })
    }
    Ok(out)
}

pub fn signal_number(name: &str) -> Option<i32> {
    let n = name.trim_start_matches("SIG").to_ascii_uppercase();
    if let Ok(v) = n.parse::<i32>() {
        return (1..=64).contains(&v).then_some(v);
    }
    Some(match n.as_str() {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        "WINCH" => libc::SIGWINCH,
        _ => return None,
    })
}

/// Whether `kill` with `sig` counts as the user stopping the container:
/// not for the signals Docker calls non-fatal (SIGHUP, SIGUSR1/2, ... a
/// reload or a report), unless it is the container's stop signal.
fn ends_the_container(c: &ContainerRecord, sig: i32) -> bool {
    const NON_FATAL: &[i32] = &[libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH, libc::SIGCONT, libc::SIGSTOP, libc::SIGCHLD, libc::SIGURG];
    sig == stop_signal_of(c) || !NON_FATAL.contains(&sig)
}

/// Sends a signal to the container's init. A paused container is thawed
/// after the signal is queued, so the signal is acted on (a v2 frozen
/// task dies of SIGKILL anyway; a v1 frozen one would not, and no other
/// signal is handled while frozen). So `stop`, `kill` and `rm -f` of a
/// paused container work and leave it unpaused if it survives.
pub fn kill(store: &Store, reference: &str, sig: i32) -> Result<String> {
    let info = inspect(store, reference)?;
    let id = info.record.id.clone();
    match (info.running, info.state.pid) {
        (true, Some(pid)) => {
            // before the signal: its monitor must not restart it (a
            // non-fatal signal leaves the policy in place, as Docker's)
            if ends_the_container(&info.record, sig) {
                store.mark_user_stopped(&id)?;
            }
            // recorded before the signal: the die it causes comes after
            events::emit(store, &info.record, "kill", &[("signal", sig.to_string())]);
            if let Err(e) = crate::sys::process::kill(pid, sig) {
                return Err(ContainerError::Conflict(format!("cannot kill container {id}: {e}")));
            }
            if info.paused {
                // a SIGKILL may already have ended it (v2 kills frozen
                // tasks) and its monitor removed the cgroup: nothing to thaw
                let cg = ContainerCgroup::load(&id);
                if let Err(e) = cg.thaw() {
                    if cg.exists() {
                        return Err(crate::runtime::RuntimeError::from(e).into());
                    }
                }
            }
            Ok(id)
        }
        _ => Err(ContainerError::Conflict(format!("Container {id} is not running"))),
    }
}

/// `bocker pause`: freezes every process of a running container (v1
/// freezer, v2 cgroup.freeze) and returns once all are stopped.
pub fn pause(store: &Store, reference: &str) -> Result<String> {
    let info = inspect(store, reference)?;
    let id = info.record.id.clone();
    if !info.running {
        return Err(ContainerError::Conflict(format!("Container {id} is not running")));
    }
    if info.paused {
        return Err(ContainerError::Conflict(format!("Container {id} is already paused")));
    }
    ContainerCgroup::load(&id).freeze().map_err(crate::runtime::RuntimeError::from)?;
    Ok(id)
}

/// `bocker unpause`: thaws a paused container.
pub fn unpause(store: &Store, reference: &str) -> Result<String> {
    let info = inspect(store, reference)?;
    let id = info.record.id.clone();
    if !info.paused {
        return Err(ContainerError::Conflict(format!("Container {id} is not paused")));
    }
    ContainerCgroup::load(&id).thaw().map_err(crate::runtime::RuntimeError::from)?;
    Ok(id)
}

/// Waits until the container has exited and its monitor recorded it.
/// Returns the exit code (-1 if the monitor died and none was recorded).
pub fn wait(store: &Store, id: &str, timeout: Option<std::time::Duration>) -> Result<Option<i32>> {
    let start = std::time::Instant::now();
    let mut delay = 1u64;
    loop {
        let st = store.load_state(id)?;
        let monitor_gone = st.monitor_pid.map(|p| crate::state::containers::process_start_time(p).is_none()).unwrap_or(true);
        if st.status != Status::Running {
            return Ok(Some(st.exit_code.unwrap_or(-1)));
        }
        if !st.alive() && monitor_gone {
            // the monitor may have saved the exit and gone between the two
            // looks (the API service reaps its monitors at once)
            let again = store.load_state(id)?;
            return Ok(Some(if again.status != Status::Running { again.exit_code.unwrap_or(-1) } else { -1 }));
        }
        if let Some(t) = timeout {
            if start.elapsed() >= t {
                return Ok(None);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(delay));
        // a waiter (`docker run`'s wait request, `bocker wait`) sees an exit
        // within 10 ms; a load of a small record each time
        delay = (delay * 2).min(10);
    }
}

/// The signal `stop` sends first: the record's (`--stop-signal` or the
/// image's STOPSIGNAL), else SIGTERM.
pub fn stop_signal_of(c: &ContainerRecord) -> i32 {
    c.stop_signal.as_deref().and_then(signal_number).unwrap_or(libc::SIGTERM)
}

/// The stop signal, then SIGKILL after `timeout` (None: the record's
/// `stop_timeout`, else 10 s), as `docker stop` does. A container waiting
/// to be restarted stays stopped.
pub fn stop(store: &Store, reference: &str, timeout: Option<std::time::Duration>) -> Result<String> {
    let info = inspect(store, reference)?;
    let id = info.record.id.clone();
    if info.state.status == Status::Restarting {
        store.mark_user_stopped(&id)?;
        wait_restarting(store, &id, std::time::Duration::from_secs(10))?;
        return Ok(id);
    }
    if !info.running {
        return Ok(id);
    }
    let timeout = timeout.unwrap_or(std::time::Duration::from_secs(info.record.stop_timeout.unwrap_or(10)));
    let _ = kill(store, &id, stop_signal_of(&info.record));
    if wait(store, &id, Some(timeout))?.is_none() {
        let _ = kill(store, &id, libc::SIGKILL);
        wait(store, &id, Some(std::time::Duration::from_secs(10)))?;
    }
    events::emit(store, &info.record, "stop", &[]);
    Ok(id)
}

/// What a container whose monitor died still holds: processes left in its
/// cgroup and the cgroup, its address, rules, proxies and host veth.
/// Idempotent.
fn release_leftovers(store: &Store, c: &ContainerRecord) -> Result<()> {
    let cg = ContainerCgroup::load(&c.id);
    if cg.exists() {
        for p in cg.processes() {
            let _ = crate::sys::process::kill(p as i32, libc::SIGKILL);
        }
        // frozen (paused, or by a commit that was killed): a v1 frozen
        // task acts on the SIGKILL only once thawed
        if cg.is_frozen() {
            cg.thaw().map_err(crate::runtime::RuntimeError::from)?;
        }
        for p in std::fs::read_dir(store.container_dir(&c.id)).into_iter().flatten().flatten() {
            if p.file_name().to_string_lossy().starts_with(COMMIT_FREEZE) {
                let _ = std::fs::remove_file(p.path());
            }
        }
        cg.delete().map_err(crate::runtime::RuntimeError::from)?;
    }
    let st = store.load_state(&c.id)?;
    crate::runtime::network::teardown(store, c, st.net.as_ref());
    shm::unmount(store, &c.id);
    Ok(())
}

/// Before a start (under the start lock): a container whose monitor was
/// killed (-9) and whose process is gone still holds its cgroup, address,
/// DNAT rules and veth; give them back, and record it as exited. A monitor
/// still finishing its own cleanup is waited for (up to 10 s), so it cannot
/// remove the new run's rules. No-op for a running container (the start is
/// refused next) and cheap for a cleanly exited one.
pub fn reclaim(store: &Store, id: &str) -> Result<()> {
    let st = store.load_state(id)?;
    // never started: a monitor makes the rootfs folder before anything it
    // could leave behind (cgroup, address, rules, mounts)
    if st.status == Status::Created && !store.container_dir(id).join("rootfs").exists() {
        return Ok(());
    }
    if st.status == Status::Running {
        if st.alive() {
            return Ok(());
        }
        wait(store, id, Some(std::time::Duration::from_secs(10)))?;
    }
    let st = store.load_state(id)?;
    let stale = (st.status == Status::Running && !st.alive()) || (st.status == Status::Restarting && !monitor_alive(&st));
    let c = store.load_container(id)?;
    if stale {
        release_leftovers(store, &c)?;
        let exited = ContainerState {
            status: Status::Exited,
            finished: Some(crate::state::now()),
            exit_code: Some(st.exit_code.unwrap_or(-1)),
            error: Some("the container monitor was killed".into()),
            ..st
        };
        store.save_state(id, &exited)?;
    } else {
        // a monitor killed before it recorded the run (after making the
        // cgroup, inside network setup) recorded nothing: the cgroup is
        // found by the id, leases and rules too (the veth went with the
        // netns); `release_leftovers` is idempotent and cheap when clean
        release_leftovers(store, &c)?;
    }
    Ok(())
}

/// Removes a container; a running one only with `force` (killed first).
/// Also reclaims what a container whose monitor died still held.
pub fn remove(store: &Store, reference: &str, force: bool, volumes: bool) -> Result<String> {
    let info = inspect(store, reference)?;
    let id = info.record.id.clone();
    if info.state.status == Status::Restarting {
        if !force {
            return Err(ContainerError::Conflict(format!(
                "You cannot remove a restarting container {id}. Stop the container before attempting removal or force remove"
            )));
        }
        store.mark_user_stopped(&id)?;
        wait_restarting(store, &id, std::time::Duration::from_secs(10))?;
    }
    if info.running {
        if !force {
            return Err(ContainerError::Conflict(format!(
                "You cannot remove a running container {id}. Stop the container before attempting removal or force remove"
            )));
        }
        let _ = kill(store, &id, libc::SIGKILL);
        wait(store, &id, Some(std::time::Duration::from_secs(10)))?;
        crate::crashpoint::hit("rm.killed");
    }
    // the monitor normally cleans up; after a kill -9 of it, we do
    release_leftovers(store, &info.record)?;
    crate::crashpoint::hit("rm.released");
    store.delete_container(&info.record)?;
    events::emit(store, &info.record, "destroy", &[]);
    if volumes {
        for m in info.record.mounts.iter().filter(|m| m.kind == "volume") {
            if crate::volumes::get(store, &m.source).map(|v| v.anonymous).unwrap_or(false) {
                let _ = crate::volumes::remove(store, &m.source, false);
            }
        }
    }
    Ok(id)
}

/// Repairs what killed commands left in the store (`prune` runs it; each
/// step is also done on the way by the command that meets it): containers
/// whose monitor is gone while their state says running (their cgroup,
/// address, rules and veth given back, recorded as exited), containers a
/// killed commit left frozen (thawed), folders and names of creates that
/// died before writing their record, temp files of record writes, staging
/// under `tmp/`, address leases of containers that no longer exist (with
/// their rules and veth), and layers no record names. Nothing a live
/// process is still working on is touched. Returns what it repaired.
pub fn repair(store: &Store) -> Result<Vec<String>> {
    let mut fixed = Vec::new();
    for c in store.list_containers()? {
        let st = store.load_state(&c.id)?;
        let monitor_gone = st.monitor_pid.map(|p| crate::state::containers::process_start_time(p).is_none()).unwrap_or(true);
        let dead_restart = st.status == Status::Restarting && monitor_gone;
        if (st.status == Status::Running && !st.alive() && monitor_gone) || dead_restart {
            reclaim(store, &c.id)?;
            fixed.push(format!("container {} (monitor gone)", c.id));
        } else if st.status == Status::Running && thaw_if_commit_died(store, &c.id) {
            fixed.push(format!("container {} (thawed after a killed commit)", c.id));
        }
    }
    fixed.extend(store.repair_containers()?);
    fixed.extend(release_orphan_leases(store)?);
    let staging = |dir: &std::path::Path, only_temps: bool| -> Result<Vec<String>> {
        let wanted: &dyn Fn(&str) -> bool = if only_temps { &crate::state::staging::is_temp_record } else { &|_| true };
        let removed = crate::state::staging::clean_dir(dir, crate::state::staging::UNTAGGED_MAX_AGE, wanted)
            .map_err(crate::state::io_err(dir))?;
        Ok(removed.iter().map(|p| format!("leftover {}", p.display())).collect())
    };
    fixed.extend(staging(&store.tmp_dir(), false)?);
    fixed.extend(staging(&store.images_dir(), true)?);
    fixed.extend(staging(&store.root().join(crate::state::images::TAG_HINTS), true)?);
    fixed.extend(crate::local_images::prune_orphan_layers(store)?.into_iter().map(|l| format!("layer {l}")));
    Ok(fixed)
}

/// Whether the holder of an address lease runs: a container of `store`,
/// or of another state root on the same bridge as that root's records say
/// (a root that is gone holds nothing).
pub fn lease_holder_alive(store: &Store, h: &crate::net::ipam::Holder) -> bool {
    let running = |s: &Store| live_state(s, &h.id).is_ok_and(|st| st.status == Status::Running);
    if h.root == store.root() {
        return running(store);
    }
    Store::open_existing(&h.root).is_some_and(|other| running(&other))
}

/// Running containers of other state roots that hold an address on
/// `cfg`'s bridge, as `ROOT:ID`: a bridge they use is not removed.
pub fn other_roots_on_bridge(store: &Store, cfg: &crate::net::NetConfig) -> Vec<String> {
    let base = crate::net::ipam::host_base();
    crate::net::ipam::leases(base, cfg)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, h)| h.root != store.root() && lease_holder_alive(store, h))
        .map(|(_, h)| format!("{}:{}", h.root.display(), h.id))
        .collect()
}

/// Leases of this store's containers (on any bridge of the host: leases
/// are host-wide, `net::ipam`) whose container has no record (removed, or
/// never created): released, with the DNAT rules tagged with that id and
/// a host veth named after it. Other roots' leases are theirs to repair.
fn release_orphan_leases(store: &Store) -> Result<Vec<String>> {
    let base = crate::net::ipam::host_base();
    let Ok(rd) = std::fs::read_dir(base) else { return Ok(Vec::new()) };
    let mut fixed = Vec::new();
    for e in rd.flatten() {
        let bridge = e.file_name().to_string_lossy().into_owned();
        let Ok(cfg) = crate::net::NetConfig::parse(Some(&bridge), None, Some("0")) else { continue };
        let Ok(leases) = crate::net::ipam::leases(base, &cfg) else { continue };
        for (ip, owner) in leases {
            if owner.root != store.root() || store.container_config_path(&owner.id).exists() {
                continue;
            }
            if let Err(e) = crate::net::reclaim(store.root(), &cfg, &owner.id, None, true) {
                eprintln!("bocker: releasing {ip} of {}: {e}", owner.id);
            }
            fixed.push(format!("lease {ip} of {}", owner.id));
        }
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }
    #[test]
    fn entrypoint_and_cmd_rules() {
        let ie = v(&["/ep"]);
        let ic = v(&["default"]);
        assert_eq!(command_of(Some(&ie), Some(&ic), None, None), v(&["/ep", "default"]));
        assert_eq!(command_of(Some(&ie), Some(&ic), None, Some(&v(&["x"]))), v(&["/ep", "x"]));
        assert_eq!(command_of(Some(&ie), Some(&ic), Some(&v(&["/o"])), None), v(&["/o"]));
        assert_eq!(command_of(None, Some(&ic), None, None), v(&["default"]));
        assert!(command_of(None, None, None, None).is_empty());
    }
    #[test]
    fn a_running_container_whose_monitor_runs_is_not_settled() {
        // a pid that no longer runs: a child, reaped
        let dead = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead.id() as i32;
        let mut dead = dead;
        dead.wait().unwrap();
        let me = std::process::id() as i32;
        let running = |monitor: i32| ContainerState { status: Status::Running, pid: Some(dead_pid), monitor_pid: Some(monitor), ..Default::default() };
        // the process ended, its monitor runs: it records the exit soon
        let st = settle(running(me));
        assert_eq!((st.status, st.exit_code), (Status::Running, None));
        // both gone (a killed monitor): exited, code unknown
        let st = settle(running(dead_pid));
        assert_eq!((st.status, st.exit_code), (Status::Exited, Some(-1)));
        let st = settle(ContainerState { monitor_pid: None, ..running(me) });
        assert_eq!(st.status, Status::Exited, "no monitor recorded");
    }
    #[test]
    fn env_merge_replaces_keys() {
        let m = merge_env(&v(&["PATH=/bin", "A=1"]), &v(&["A=2", "B=3"]));
        assert_eq!(m, v(&["PATH=/bin", "A=2", "B=3"]));
    }
    #[test]
    fn healthchecks_merge_over_the_images() {
        let image = Healthcheck { test: v(&["CMD", "true"]), interval: Some(5_000_000_000), retries: Some(4), ..Default::default() };
        assert_eq!(healthcheck_of(Some(&image), None, false).unwrap(), Some(image.clone()));
        let flags = HealthcheckSpec { interval: Some(0.5), ..Default::default() };
        let merged = healthcheck_of(Some(&image), Some(&flags), false).unwrap().unwrap();
        assert_eq!((merged.test, merged.interval, merged.retries), (v(&["CMD", "true"]), Some(500_000_000), Some(4)));
        let none = healthcheck_of(Some(&image), None, true).unwrap().unwrap();
        assert_eq!(none.test, v(&["NONE"]));
        assert!(healthcheck_of(None, Some(&flags), false).is_err(), "no test anywhere");
        let bad = HealthcheckSpec { test: Some(v(&["RUN", "x"])), ..Default::default() };
        assert!(healthcheck_of(None, Some(&bad), false).is_err());
        let neg = HealthcheckSpec { test: Some(v(&["CMD-SHELL", "x"])), timeout: Some(-1.0), ..Default::default() };
        assert!(healthcheck_of(None, Some(&neg), false).is_err());
    }
    #[test]
    fn signals() {
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("term"), Some(15));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("BOGUS"), None);
    }
}
