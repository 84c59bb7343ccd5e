//! `--init`: the container's pid 1 forks once it is confined; the child
//! execs the command, the parent stays as a minimal init (as tini or
//! docker-init): it forwards the usual signals to the command, reaps
//! every orphan the pid namespace hands it, and exits with the command's
//! status (128+N when a signal ended it). Forking here, not exec'ing a
//! helper binary, works on images without a libc (busybox) and puts no
//! file into the container.
use std::os::fd::RawFd;

/// The signals pid 1 passes on to the command (as tini).
pub const FORWARDED: &[libc::c_int] =
    &[libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGQUIT, libc::SIGWINCH];

/// Runs in the init after confinement, in place of its exec; never
/// returns but to report a failure before the fork. `exec` execs the
/// command (returning only on failure); `to_parent` is the pipe to the
/// monitor, which the child reports an exec failure on; `monitor_pipes`
/// are closed by the reaper once the child exec'd (EOF: success).
pub fn fork_and_reap(exec: &dyn Fn() -> (i32, String), to_parent: &std::fs::File, monitor_pipes: [RawFd; 2]) -> (i32, String) {
    // EOF on this pipe: the child exec'd (close-on-exec) or died
    let (exec_r, exec_w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => return (125, format!("init: pipe: {e}")),
    };
    // held back from the fork until the reaper forwards them (none is
    // lost in between); the child unblocks them before it execs
    let mut set = nix::sys::signal::SigSet::empty();
    for &sig in FORWARDED {
        if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
            set.add(s);
        }
    }
    let unblock = || {
        let _ = nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_UNBLOCK, Some(&set), None);
    };
    let _ = nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_BLOCK, Some(&set), None);
    // SAFETY (allowed by src/sys's rule: the child's code is here): the
    // container's init is single-threaded (a clone of the monitor's one
    // thread); the child only execs, or reports its failure and _exits.
    match unsafe { nix::unistd::fork() } {
        Err(e) => {
            unblock();
            (125, format!("init: fork: {e}"))
        }
        Ok(nix::unistd::ForkResult::Child) => {
            unblock();
            drop(exec_r);
            let (code, msg) = exec();
            let _ = super::message::Message::failed(code, &msg).send(to_parent);
            drop(exec_w);
            crate::sys::process::exit_now(code)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(exec_w);
            crate::sys::signal::forward_to(child.as_raw(), FORWARDED);
            unblock();
            // what `ps` in the container shows as pid 1
            let _ = nix::sys::prctl::set_name(c"bocker-init");
            // nothing in the container may open the host's binary through
            // this process's /proc entry
            let _ = crate::sys::process::set_dumpable(false);
            let mut buf = [0u8; 1];
            while matches!(nix::unistd::read(&exec_r, &mut buf), Err(nix::errno::Errno::EINTR)) {}
            drop(exec_r);
            // the monitor sees EOF (or the child's failure) on its pipes
            for fd in monitor_pipes {
                crate::sys::fd::close_raw(fd);
            }
            crate::sys::process::exit_now(reap_until(child))
        }
    }
}

/// Reaps every child until `main` ends; its status as a shell gives it.
fn reap_until(main: nix::unistd::Pid) -> i32 {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(p, code)) if p == main => return code,
            Ok(WaitStatus::Signaled(p, sig, _)) if p == main => return 128 + sig as i32,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 125,
        }
    }
}
