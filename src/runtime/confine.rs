//! The last steps of every container process (the init and each exec'd
//! process), after its root, namespaces and stdio are in place: close
//! every other descriptor, load seccomp, drop capabilities, switch user,
//! enter the working directory and check that it is inside the root.
//! The order is runc's: without no_new_privs the filter is loaded while
//! CAP_SYS_ADMIN is still held; with it, last before exec.
use super::caps::{self, CapSet};
use super::seccomp::Filter;
use super::user;
use std::os::fd::RawFd;

pub struct ProcessPlan<'a> {
    pub caps: CapSet,
    pub no_new_privileges: bool,
    pub seccomp: Option<&'a Filter>,
    /// USER[:GROUP], resolved in the container's /etc/passwd and /etc/group
    pub user: &'a str,
    pub workdir: &'a str,
    /// create the working directory if missing (the init does; exec not)
    pub create_workdir: bool,
    /// a descriptor to keep open (the init's error pipe, close-on-exec)
    pub keep_fd: Option<RawFd>,
}

/// Closes every descriptor above 2 except `keep`.
pub fn close_fds_except(keep: Option<RawFd>) {
    let close = |from: u32, to: u32| {
        if from > to {
            return;
        }
        // SAFETY: close_range on a range of our own descriptors.
        let r = unsafe { libc::syscall(libc::SYS_close_range, from, to, 0u32) };
        if r != 0 {
            for fd in from..to.min(4096) {
                // SAFETY: closing descriptors we own; EBADF is harmless.
                unsafe { libc::close(fd as i32) };
            }
        }
    };
    match keep {
        Some(k) if k > 2 => {
            close(3, k as u32 - 1);
            close(k as u32 + 1, u32::MAX);
        }
        _ => close(3, u32::MAX),
    }
}

/// Runs the steps; returns the environment to exec with (HOME added from
/// the image's /etc/passwd when missing, as Docker does).
pub fn enter(p: &ProcessPlan, env: &[String]) -> Result<Vec<String>, String> {
    close_fds_except(p.keep_fd);
    let wd = if p.workdir.is_empty() { "/" } else { p.workdir };
    if p.create_workdir && std::fs::create_dir_all(wd).is_err() && !std::path::Path::new(wd).is_dir() {
        return Err(format!("workdir {wd}: cannot create"));
    }
    if !p.no_new_privileges {
        if let Some(f) = p.seccomp {
            f.load().map_err(|e| format!("load seccomp filter: {e}"))?;
        }
    }
    let ids = user::lookup_user(p.user)?;
    // bounding set first; the user switch still holds CAP_SETUID/SETGID;
    // then root keeps the container's set and any other user none (the
    // setuid cleared them; Docker gives non-root users no effective caps)
    caps::drop_bounding(p.caps)?;
    user::switch_to(&ids)?;
    caps::apply(if ids.uid == 0 { p.caps } else { CapSet(0) })?;
    std::env::set_current_dir(wd).map_err(|e| format!("chdir to workdir {wd}: {e}"))?;
    // a cwd outside the root (a leaked host fd, runc's CVE-2024-21626)
    // shows as "(unreachable)…" or fails
    match std::env::current_dir() {
        Ok(cwd) if cwd.is_absolute() => {}
        _ => return Err(format!("workdir {wd}: current working directory is outside of container root")),
    }
    if p.no_new_privileges {
        caps::set_no_new_privs()?;
        if let Some(f) = p.seccomp {
            f.load().map_err(|e| format!("load seccomp filter: {e}"))?;
        }
    }
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", ids.home.as_deref().unwrap_or("/")));
    }
    Ok(env)
}
