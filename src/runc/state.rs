//! bocker-runc's record of a container: `ROOT/ID/state.json`, written
//! atomically (temp file, fsync, rename), plus the exec fifo beside it
//! while the container is `created`, and a lock file for the commands
//! that change a container. The status is never stored: it is derived
//! from the init process, the fifo and the cgroup freezer.
use crate::cgroup::ContainerCgroup;
use crate::runtime::oci_state::{OciState, OciStatus};
use anyhow::{bail, Context, Result};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const DEFAULT_ROOT: &str = "/run/bocker-runc";
const STATE_FILE: &str = "state.json";
const FIFO: &str = "exec.fifo";
const LOCK: &str = ".lock";
/// The OCI runtime-spec version bocker-runc reports.
pub const OCI_VERSION: &str = "1.0.2";

/// runc's "container does not exist" (kept typed: `delete --force` of
/// an unknown container succeeds).
#[derive(Debug, thiserror::Error)]
#[error("container does not exist")]
pub struct NotExist;

/// What `create` records; everything later commands need.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Record {
    pub id: String,
    pub init_pid: i32,
    /// start time of the init in /proc/PID/stat: a reused pid differs
    pub init_start: u64,
    /// absolute
    pub bundle: PathBuf,
    /// root.path, absolute
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds
    pub created: String,
    /// the bundle's config.json as read at create
    pub config: Spec,
    /// below each hierarchy's root
    pub cgroup_path: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
}

/// runc's rule: `^[\w+-\.]+$` (letters, digits, `_`, `+`, `-`, `.`),
/// not empty, not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
    if id.is_empty() || id == "." || id == ".." || !id.chars().all(ok_char) {
        bail!("invalid container id format: {id}");
    }
    Ok(())
}

/// The state root and one container's place in it.
pub struct Root {
    pub dir: PathBuf,
}

impl Root {
    pub fn new(dir: &Path) -> Root {
        Root { dir: dir.to_path_buf() }
    }
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }
    pub fn fifo(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(FIFO)
    }

    /// Makes the root (0700, as runc) and the container's folder (0711);
    /// an existing folder is runc's "already exists" error.
    pub fn make_container_dir(&self, id: &str) -> Result<PathBuf> {
        use std::os::unix::fs::DirBuilderExt;
        if !self.dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .with_context(|| format!("create root {}", self.dir.display()))?;
        }
        let d = self.container_dir(id);
        match std::fs::DirBuilder::new().mode(0o711).create(&d) {
            Ok(()) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!("container with given ID already exists"),
            Err(e) => Err(e).with_context(|| format!("create {}", d.display())),
        }
    }

    /// Locks a container for a command that changes it (held until dropped).
    pub fn lock(&self, id: &str) -> Result<crate::state::lock::Lock> {
        let p = self.container_dir(id).join(LOCK);
        crate::state::lock::Lock::exclusive(&p).map_err(|e| anyhow::anyhow!("lock {id}: {e}"))
    }

    pub fn save(&self, rec: &Record) -> Result<()> {
        let p = self.container_dir(&rec.id).join(STATE_FILE);
        let data = serde_json::to_vec(rec).context("encode state")?;
        crate::fsutil::write_atomic(&p, &data, 0o600).with_context(|| format!("write {}", p.display()))
    }

    /// The record of `id`; runc's "container does not exist" when there is none.
    pub fn load(&self, id: &str) -> Result<Record> {
        validate_id(id)?;
        let p = self.container_dir(id).join(STATE_FILE);
        let data = match std::fs::read(&p) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(NotExist.into()),
            Err(e) => return Err(e).with_context(|| format!("read {}", p.display())),
        };
        serde_json::from_slice(&data).with_context(|| format!("{}: not a bocker-runc state record", p.display()))
    }

    /// Every container with a record (folders without one are skipped:
    /// a create in progress, or left by a crash).
    pub fn list(&self) -> Result<Vec<Record>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("read {}", self.dir.display())),
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if validate_id(&name).is_ok() && e.path().join(STATE_FILE).is_file() {
                if let Ok(r) = self.load(&name) {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Removes the container's folder (record, fifo, lock).
    pub fn remove(&self, id: &str) -> Result<()> {
        let d = self.container_dir(id);
        match std::fs::remove_dir_all(&d) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(|| format!("remove {}", d.display())),
            _ => Ok(()),
        }
    }

    /// The container's status, derived: init gone (or its pid reused, or
    /// a zombie) → stopped; exec fifo present → created; cgroup frozen →
    /// paused; else running.
    pub fn status(&self, rec: &Record) -> OciStatus {
        if !init_alive(rec) {
            OciStatus::Stopped
        } else if self.fifo(&rec.id).exists() {
            OciStatus::Created
        } else if cgroup_of(rec).is_ok_and(|cg| cg.is_frozen()) {
            OciStatus::Paused
        } else {
            OciStatus::Running
        }
    }

    /// The spec's state of the container (what `state` prints and hooks read).
    pub fn oci_state(&self, rec: &Record, status: OciStatus) -> OciState {
        OciState {
            oci_version: OCI_VERSION.into(),
            id: rec.id.clone(),
            status,
            pid: (status != OciStatus::Stopped).then_some(rec.init_pid),
            bundle: rec.bundle.clone(),
            annotations: rec.annotations.clone(),
        }
    }
}

/// The container's cgroup. Never the hierarchy's root: kill --all,
/// delete and ps act on every process of it.
pub fn cgroup_of(rec: &Record) -> Result<ContainerCgroup> {
    if crate::cgroup::resources::clean_rooted(&rec.cgroup_path).is_empty() {
        bail!("container {}: its recorded cgroup is the hierarchy's root; refusing to act on every process of the host", rec.id);
    }
    Ok(ContainerCgroup::load_at(&rec.cgroup_path))
}

/// State letter and start time of a process (fields 3 and 22 of /proc/PID/stat).
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let rest = crate::sys::process::stat_after_name(&pid.to_string())?;
    let mut f = rest.split(' ');
    let state = f.next()?.chars().next()?;
    let start = f.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// The recorded init still runs (same start time, not a zombie).
pub fn init_alive(rec: &Record) -> bool {
    matches!(proc_stat(rec.init_pid), Some((s, start)) if start == rec.init_start && s != 'Z' && s != 'X')
}

/// The name of the calling user (runc's `owner`), or the uid.
pub fn owner_name() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.name).unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_runc_accepts_them() {
        for ok in ["a", "abc-1.2_3+x", "A", "..a", "a..b"] {
            validate_id(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["", ".", "..", "a/b", "a b", "../x", "é", "a:b"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn our_own_stat() {
        let (state, start) = proc_stat(std::process::id() as i32).expect("own stat");
        assert!(state == 'R' || state == 'S', "{state}");
        assert_eq!(Some(start), crate::state::containers::process_start_time(std::process::id() as i32));
    }
}
