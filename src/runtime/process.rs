//! Process plumbing shared by the monitor (`shim`), the exec helper and
//! the container's init: signal forwarding to the child, waiting for its
//! exit status, and taking a session (and a terminal) of its own.
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The process forwarded signals go to (0: none yet).
static TARGET: AtomicI32 = AtomicI32::new(0);
/// Set when SIGWINCH arrived: the pump copies the window size.
pub static WINCH: AtomicBool = AtomicBool::new(false);

extern "C" fn forward(sig: libc::c_int) {
    if sig == libc::SIGWINCH {
        WINCH.store(true, Ordering::SeqCst);
        return;
    }
    let pid = TARGET.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Forwards `signals` to `pid` from now on (SIGWINCH only sets [`WINCH`]).
pub fn forward_signals(pid: i32, signals: &[libc::c_int]) {
    TARGET.store(pid, Ordering::SeqCst);
    for &sig in signals {
        // SAFETY: installs a handler that only does async-signal-safe work.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
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
    // SAFETY: setsid and ioctl on our own fds.
    unsafe {
        libc::setsid();
        if let Some(fd) = tty {
            if libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0 {
                return Err(format!("set controlling terminal: {}", std::io::Error::last_os_error()));
            }
        }
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
