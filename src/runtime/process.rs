//! Process plumbing shared by the monitor (`shim`), the exec helper and
//! the container's init: signal forwarding to the child, waiting for its
//! exit status, and taking a session (and a terminal) of its own.
use std::os::fd::RawFd;

/// Set when SIGWINCH arrived: the pump copies the window size.
pub use crate::sys::signal::WINCH;

/// Forwards `signals` to `pid` from now on (SIGWINCH only sets [`WINCH`]).
pub fn forward_signals(pid: i32, signals: &[libc::c_int]) {
    crate::sys::signal::forward_to(pid, signals)
}

/// Waits for `child` to end; its status as a shell gives it (128+N for
/// a signal), or None if it cannot be waited for.
pub fn wait_exit(child: nix::unistd::Pid) -> Option<i32> {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Some(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Some(128 + sig as i32),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
    }
}

/// Starts a session of its own (so no terminal of the caller's is the
/// controlling one) and, given a terminal, makes it the controlling one.
pub fn new_session(tty: Option<RawFd>) -> Result<(), String> {
    let _ = nix::unistd::setsid();
    if let Some(fd) = tty {
        crate::sys::term::set_controlling(fd).map_err(|e| format!("set controlling terminal: {e}"))?;
    }
    Ok(())
}

fn env_key(e: &str) -> &str {
    e.split('=').next().unwrap_or(e)
}

/// Merges environment lists: later entries replace earlier keys.
pub fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = base.to_vec();
    for e in extra {
        out.retain(|x| env_key(x) != env_key(e));
        out.push(e.clone());
    }
    out
}
