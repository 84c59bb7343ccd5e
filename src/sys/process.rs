//! Process syscalls: signals to a pid, ids, limits, prctl, exit and exec.

use super::check;
use std::ffi::{CStr, CString};
use std::io;

/// `kill(pid, sig)`.
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill touches no memory of ours (async-signal-safe).
    check(unsafe { libc::kill(pid, sig) })
}

/// Ends the process at once (`_exit`): no destructors, no atexit, no
/// stdio flush (for forked children).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// Whether this process has one thread (its `Threads:` in /proc/self/status).
pub fn single_threaded() -> bool {
    // `Threads:` is in the first kilobyte; the whole record is ~1.5 kB
    let mut buf = [0u8; 4096];
    super::fs::read_once(c"/proc/self/status", &mut buf)
        .ok()
        .and_then(|s| s.split(|&b| b == b'\n').find_map(|l| l.strip_prefix(b"Threads:").map(|n| n.trim_ascii() == b"1")))
        .unwrap_or(false)
}

/// `prctl(PR_SET_DUMPABLE, on)`: off keeps other processes (the
/// container's) from opening this one through /proc.
pub fn set_dumpable(on: bool) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) })
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: `sig` arrives when the parent thread dies.
pub fn set_parent_death_signal(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) })
}

/// `setresgid(0,0,0)` then `setresuid(0,0,0)`: root of the current user
/// namespace.
pub fn become_root() -> io::Result<()> {
    // SAFETY: id syscalls with integer arguments only.
    check(unsafe { libc::setresgid(0, 0, 0) })?;
    // SAFETY: as above.
    check(unsafe { libc::setresuid(0, 0, 0) })
}

/// `setgroups(groups)`, then `setgid(gid)`, then `setuid(uid)`; stops at
/// the first failure.
pub fn set_ids(groups: &[libc::gid_t], gid: libc::gid_t, uid: libc::uid_t) -> io::Result<()> {
    // SAFETY: `groups` is a valid array of its length; the rest are integers.
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })?;
    // SAFETY: integer argument only.
    check(unsafe { libc::setgid(gid) })?;
    // SAFETY: integer argument only.
    check(unsafe { libc::setuid(uid) })
}

/// `setrlimit(resource, {soft, hard})`.
pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: a valid rlimit that outlives the call.
    check(unsafe { libc::setrlimit(resource as _, &lim) })
}

/// `umask(mask)` (never fails).
pub fn umask(mask: libc::mode_t) {
    // SAFETY: umask touches no memory.
    unsafe { libc::umask(mask) };
}

/// `execve(program, argv, envp)`; returns only on failure, with the errno.
/// (Allocates the two pointer arrays.)
pub fn execve(program: &CStr, args: &[CString], env: &[CString]) -> io::Error {
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of NUL-terminated strings, all
    // outliving the call (which replaces the process on success).
    unsafe { libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}
