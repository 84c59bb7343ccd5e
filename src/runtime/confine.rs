//! The last steps of every container process (the init and each exec'd
//! process), after its root, namespaces and stdio are in place: close
//! every other descriptor, load seccomp, drop capabilities, switch user,
//! enter the working directory and check that it is inside the root.
//! The order is runc's: without no_new_privs the filter is loaded while
//! CAP_SYS_ADMIN is still held; with it, last before exec.
use super::caps::{self, CapSet};
use super::plan::CapSets;
use super::seccomp::Filter;
use super::user::{self, Ids};
use std::os::fd::RawFd;

/// What a process is confined to.
pub struct Confinement<'a> {
    pub caps: CapSets,
    pub no_new_privileges: bool,
    pub seccomp: Option<&'a Filter>,
    pub ids: &'a Ids,
    pub cwd: &'a str,
    /// create the working directory if missing (the init does; exec not)
    pub create_cwd: bool,
    /// descriptors to keep open above 2 (the caller's preserved fds, the
    /// init's close-on-exec pipes)
    pub keep_fds: &'a [RawFd],
}

/// Closes every descriptor above 2 except those in `keep`.
pub fn close_fds_except(keep: &[RawFd]) {
    let close = |from: u32, to: u32| {
        if from > to {
            return;
        }
        if crate::sys::fd::close_range(from, to).is_err() {
            for fd in from..to.min(4096) {
                crate::sys::fd::close_raw(fd as i32); // EBADF is harmless
            }
        }
    };
    let mut keep: Vec<u32> = keep.iter().filter(|k| **k > 2).map(|k| *k as u32).collect();
    keep.sort_unstable();
    let mut from = 3u32;
    for k in keep {
        if k > from {
            close(from, k - 1);
        }
        from = from.max(k + 1);
    }
    close(from, u32::MAX);
}

/// Runs the steps for a process whose user is already resolved.
pub fn apply(c: &Confinement) -> Result<(), String> {
    close_fds_except(c.keep_fds);
    let wd = if c.cwd.is_empty() { "/" } else { c.cwd };
    if c.create_cwd && std::fs::create_dir_all(wd).is_err() && !std::path::Path::new(wd).is_dir() {
        return Err(format!("workdir {wd}: cannot create"));
    }
    if !c.no_new_privileges {
        if let Some(f) = c.seccomp {
            f.load().map_err(|e| format!("load seccomp filter: {e}"))?;
        }
    }
    // bounding set first; the user switch keeps the permitted set
    // (keepcaps), then the configuration's sets are applied exactly
    caps::drop_bounding(c.caps.bounding)?;
    caps::keep_caps(true)?;
    user::switch_to(c.ids)?;
    caps::keep_caps(false)?;
    caps::apply_sets(c.caps.effective, c.caps.permitted, c.caps.inheritable, c.caps.ambient)?;
    std::env::set_current_dir(wd).map_err(|e| format!("chdir to workdir {wd}: {e}"))?;
    // a cwd outside the root (a leaked host fd, runc's CVE-2024-21626)
    // shows as "(unreachable)…" or fails
    match std::env::current_dir() {
        Ok(cwd) if cwd.is_absolute() => {}
        _ => return Err(format!("workdir {wd}: current working directory is outside of container root")),
    }
    if c.no_new_privileges {
        caps::set_no_new_privs()?;
        if let Some(f) = c.seccomp {
            f.load().map_err(|e| format!("load seccomp filter: {e}"))?;
        }
    }
    Ok(())
}

/// Docker's capability rule for a process run as `ids`: root keeps the
/// container's set, any other user none (but the bounding set).
pub fn docker_caps(set: CapSet, ids: &Ids) -> CapSets {
    let own = if ids.uid == 0 { set } else { CapSet(0) };
    CapSets { bounding: set, effective: own, permitted: own, inheritable: CapSet(0), ambient: CapSet(0) }
}

/// The environment with HOME added from the container's /etc/passwd when
/// missing (as Docker and runc do).
pub fn with_home(env: &[String], ids: &Ids) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", ids.home.as_deref().unwrap_or("/")));
    }
    env
}

/// `bocker exec`'s process: USER[:GROUP] resolved in the container's
/// /etc/passwd and /etc/group, Docker's capability rule, then [`apply`].
/// Returns the environment to exec with.
pub fn enter_as(user_spec: &str, group_add: &[String], set: CapSet, no_new_privileges: bool, seccomp: Option<&Filter>, cwd: &str, env: &[String]) -> Result<Vec<String>, String> {
    let ids = user::lookup_user_with(user_spec, group_add)?;
    apply(&Confinement {
        caps: docker_caps(set, &ids),
        no_new_privileges,
        seccomp,
        ids: &ids,
        cwd,
        create_cwd: false,
        keep_fds: &[],
    })?;
    Ok(with_home(env, &ids))
}
