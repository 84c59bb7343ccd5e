//! The parent's side of starting a container's init: clone it into its
//! namespaces (joining a pid namespace first when the plan names one),
//! then go, hooks and ready over the typed [`Message`] pipes. Used by the
//! monitor (`bocker run`) and by `bocker-runc create`.
use super::init::{self, InitPipes, InitSpec};
use super::message::Message;
use super::plan::IdMaps;
use crate::runtime::oci_state::OciState;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};

/// A cloned init, waiting for [`Spawned::go`].
pub struct Spawned {
    pub pid: Pid,
    /// born in the cgroup given to [`clone_init`]: the caller need not
    /// move it there
    pub in_cgroup: bool,
    to_init: Option<std::fs::File>,
    from_init: std::fs::File,
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))
}

/// Clones the init. It runs `init::run` with `spec` and waits for go.
/// With `cgroup` (a cgroup v2 folder), the init is born in it when the
/// kernel can (clone3's CLONE_INTO_CGROUP, Linux 5.7): see
/// [`Spawned::in_cgroup`]; otherwise the caller moves it there.
pub fn clone_init(spec: &InitSpec, cgroup: Option<std::os::fd::BorrowedFd<'_>>) -> Result<Spawned, String> {
    // our own pid namespace, to come back to once the init is cloned
    // (until then no thread can be made: CLONE_THREAD needs the children's
    // pid namespace to be ours, and the monitor makes threads later)
    let mut own_pid_ns = None;
    if let Some(path) = spec.plan.namespaces.joins(CloneFlags::CLONE_NEWPID) {
        own_pid_ns = Some(std::fs::File::open("/proc/self/ns/pid").map_err(|e| format!("open /proc/self/ns/pid: {e}"))?);
        // children of this process are born in that pid namespace
        let f = std::fs::File::open(path).map_err(|e| format!("open namespace {}: {e}", path.display()))?;
        crate::sys::ns::setns(&f, libc::CLONE_NEWPID).map_err(|e| format!("join pid namespace {}: {e}", path.display()))?;
    }
    let (go_read, go_write) = pipe()?;
    let (msg_read, msg_write) = pipe()?;
    let mut joins = Vec::new();
    for (flag, path) in &spec.plan.namespaces.join {
        if *flag != CloneFlags::CLONE_NEWPID {
            let f = std::fs::File::open(path).map_err(|e| format!("open namespace {}: {e}", path.display()))?;
            joins.push((*flag, f));
        }
    }
    let pipes = InitPipes { from_parent: go_read.into(), to_parent: msg_write.into(), joins };
    let ns = &spec.plan.namespaces;
    let mut flags = ns.clone_flags;
    if ns.id_maps.is_some() {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    let parent_ends = [go_write.as_raw_fd(), msg_read.as_raw_fd()];
    // closed in the child: the parent's ends (a parent that dies before
    // go is then seen as EOF, not waited for forever)
    let child = || {
        for fd in parent_ends {
            crate::sys::fd::close_raw(fd);
        }
        init::run(spec, &pipes)
    };
    // SAFETY: this process is single-threaded (above); the child ends in
    // exit_now, never returning from this function.
    let born = cgroup.map(|fd| unsafe { crate::sys::process::fork_into_cgroup(flags.bits() as u64, fd) });
    let in_cgroup = matches!(born, Some(Ok(_)));
    let pid = match born {
        Some(Ok(crate::sys::process::Forked::Child)) => crate::sys::process::exit_now(child() as i32),
        Some(Ok(crate::sys::process::Forked::Parent(pid))) => Ok(Pid::from_raw(pid)),
        // a kernel without clone3 or CLONE_INTO_CGROUP (or no cgroup
        // given): cloned on a stack of its own, moved in by the caller;
        // the child closes its copy of the cgroup folder at once, as
        // fork_into_cgroup does (a host folder left open was runc's
        // CVE-2024-21626)
        Some(Err(_)) | None => {
            let cgroup_fd = cgroup.map(|fd| fd.as_raw_fd());
            let child = move || {
                if let Some(fd) = cgroup_fd {
                    crate::sys::fd::close_raw(fd);
                }
                child()
            };
            let mut stack = vec![0u8; 1 << 20];
            // SAFETY (allowed by src/sys's rule: clone runs a closure in
            // the child): the child runs init::run on its own copy of the
            // address space (no CLONE_VM) and only exits through the
            // returned code; this process is single-threaded.
            unsafe { nix::sched::clone(Box::new(child), &mut stack, flags, Some(libc::SIGCHLD)) }.map_err(|e| format!("clone: {e}"))
        }
    };
    if let Some(own) = own_pid_ns {
        if let Err(e) = crate::sys::ns::setns(&own, libc::CLONE_NEWPID) {
            if let Ok(pid) = &pid {
                let _ = crate::sys::process::kill(pid.as_raw(), libc::SIGKILL);
                let _ = nix::sys::wait::waitpid(*pid, None);
            }
            return Err(format!("return to our own pid namespace: {e}"));
        }
    }
    let pid = pid?;
    drop(pipes);
    if let Some(maps) = &ns.id_maps {
        // the init waits for go: its ids are mapped before it does anything
        let write = |file: &str, text: String| std::fs::write(format!("/proc/{pid}/{file}"), text).map_err(|e| format!("write {file}: {e}"));
        let mapped = write("uid_map", IdMaps::text(&maps.uid)).and_then(|()| write("gid_map", IdMaps::text(&maps.gid)));
        if let Err(e) = mapped {
            let _ = crate::sys::process::kill(pid.as_raw(), libc::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            return Err(e);
        }
    }
    Ok(Spawned { pid, in_cgroup, to_init: Some(go_write.into()), from_init: msg_read.into() })
}

impl Spawned {
    /// Lets the init build the root.
    pub fn go(&mut self) -> Result<(), String> {
        let to = self.to_init.as_ref().ok_or("the init was already let go")?;
        Message::Go.send(to).map_err(|e| match Message::receive(&self.from_init) {
            // it failed before go (joining a namespace): its reason
            Some(Message::Failed { message, .. }) => message,
            _ => format!("start the container's init: {e} ({})", describe_exit(self.pid)),
        })
    }

    /// Waits until the init is set up. On `Hooks`, runs `hooks` (the
    /// prestart and createRuntime hooks; it returns the state the
    /// container's own hooks get) and resumes it. A failure is the init's
    /// (code, message), or 125 when it died without one.
    pub fn wait_ready(&mut self, hooks: &mut dyn FnMut() -> Result<Option<OciState>, String>) -> Result<(), (i32, String)> {
        loop {
            match Message::receive(&self.from_init) {
                Some(Message::Ready) => return Ok(()),
                Some(Message::Hooks) => {
                    let state = hooks().map_err(|m| (125, m))?;
                    let to = self.to_init.as_ref().ok_or((125, "the init's pipe is closed".to_string()))?;
                    Message::Resume { state }.send(to).map_err(|e| (125, format!("resume the container's init: {e}")))?;
                }
                Some(Message::Failed { code, message }) => return Err((code, message)),
                Some(other) => return Err((125, format!("unexpected message from the container's init: {other:?}"))),
                None => return Err((125, "the container's init exited during setup".into())),
            }
        }
    }

    /// After ready (no exec fifo): None once the init exec'd, or its
    /// failure to exec (code, message).
    pub fn wait_exec(self) -> Option<(i32, String)> {
        drop(self.to_init);
        match Message::receive(&self.from_init) {
            None => None,
            Some(Message::Failed { code, message }) => Some((code, message)),
            Some(other) => Some((125, format!("unexpected message from the container's init: {other:?}"))),
        }
    }

    /// Kills and reaps the init (setup failed on our side).
    pub fn kill(self) {
        let _ = crate::sys::process::kill(self.pid.as_raw(), libc::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

/// How an init that stopped listening ended (left unreaped: the caller
/// kills and reaps it).
fn describe_exit(pid: Pid) -> String {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
        Ok(WaitStatus::Exited(_, code)) => format!("it exited with {code}"),
        Ok(WaitStatus::Signaled(_, sig, _)) => format!("it was killed by {sig}"),
        Ok(other) => format!("it ended: {other:?}"),
        Err(e) => format!("its status: {e}"),
    }
}
