//! The runtime's OCI entry points (used by `bocker-runc`, src/runc):
//! create a container from a bundle's configuration and leave its init
//! waiting on the exec fifo, exec a process into a running container.
//! Everything a configuration asks for is done or refused here.
use super::confine::{self, Confinement};
use super::init::InitSpec;
use super::message::Message;
use super::plan::ProcessPlan;
use super::rootfs::RootSource;
use super::RuntimeError;
use crate::cgroup::resources::{oci_path_here, Resources};
use crate::cgroup::ContainerCgroup;
use crate::runtime::oci_state::{OciState, OciStatus};
use crate::state::containers::process_start_time;
use oci_spec::runtime::{Process, Spec};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub struct CreateRequest<'a> {
    pub id: &'a str,
    /// absolute path of the bundle (root.path is relative to it)
    pub bundle: &'a Path,
    pub spec: &'a Spec,
    /// runc's --console-socket: with process.terminal the pty master is
    /// sent there (SCM_RIGHTS)
    pub console_socket: Option<&'a Path>,
    /// runc's --preserve-fds: fds 3..3+N are passed on to the process
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// the fifo the init opens for writing when set up, blocking until
    /// `start` opens it for reading; None: exec at once (`run`)
    pub exec_fifo: Option<&'a Path>,
}

pub struct Created {
    /// the container's init (a child of the calling process)
    pub pid: i32,
    /// its start time in /proc/PID/stat (to tell a reused pid)
    pub pid_start: u64,
    /// the cgroup made for it, relative to the hierarchy's root
    pub cgroup_path: String,
}

/// Sets up the container (namespaces, cgroup, root, hooks up to
/// createContainer) and returns once its init waits on the exec fifo
/// (or has exec'd, without a fifo). On error nothing is left behind.
pub fn create(req: &CreateRequest) -> Result<Created, RuntimeError> {
    let setup = RuntimeError::Setup;
    let plan = super::plan::from_spec(req.spec, req.bundle).map_err(|e| setup(e.to_string()))?;
    let mut resources = match &plan.resources {
        Some(r) => Resources::from_oci(r)?,
        None => Resources::default(),
    };
    // the devices every container's /dev has come after the
    // configuration's rules (as runc adds them)
    if let Some(crate::cgroup::DevicePolicy::Rules(rules)) = &mut resources.devices {
        rules.extend(crate::cgroup::devices::runc_allowed_rules());
    }
    let console = match (plan.process.terminal, req.console_socket) {
        (true, Some(path)) => Some(
            std::os::unix::net::UnixStream::connect(path)
                .map(OwnedFd::from)
                .map_err(|e| setup(format!("connect to the console socket {}: {e}", path.display())))?,
        ),
        (true, None) => return Err(setup("process.terminal needs --console-socket".into())),
        (false, _) => None,
    };
    let fifo = match req.exec_fifo {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
                .open(path)
                .map(OwnedFd::from)
                .map_err(|e| setup(format!("open {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let cgroup_path = oci_path_here(plan.cgroups_path.as_deref(), req.id);
    let cgroup = ContainerCgroup::create_at(&cgroup_path, &resources)?;
    let hooks = &plan.hooks;
    let has_hooks = [hooks.prestart(), hooks.create_runtime(), hooks.create_container(), hooks.start_container()]
        .iter()
        .any(|h| h.as_ref().is_some_and(|v| !v.is_empty()));
    let init = InitSpec {
        plan: &plan,
        source: RootSource::Folder,
        stdio: None,
        console: console.as_ref().map(|c| c.as_raw_fd()),
        exec_fifo: fifo.as_ref().map(|f| f.as_raw_fd()),
        preserve_fds: req.preserve_fds,
        no_pivot: req.no_pivot,
        hooks: has_hooks,
        reaper: false,
    };
    let born_in = cgroup.v2_dir_fd();
    let mut spawned = match super::spawn::clone_init(&init, born_in.as_ref().map(std::os::fd::AsFd::as_fd)) {
        Ok(s) => s,
        Err(m) => {
            let _ = cgroup.delete();
            return Err(setup(m));
        }
    };
    drop(console);
    drop(fifo);
    let pid = spawned.pid.as_raw();
    let state = |status| OciState {
        oci_version: req.spec.version().to_string(),
        id: req.id.to_string(),
        status,
        pid: Some(pid),
        bundle: req.bundle.to_path_buf(),
        annotations: plan.annotations.clone(),
    };
    let joined = if spawned.in_cgroup { Ok(()) } else { cgroup.add_process(pid) };
    let ready = joined
        .map_err(|e| (125, e.to_string()))
        .and_then(|()| spawned.go().map_err(|m| (125, m)))
        .and_then(|()| {
            spawned.wait_ready(&mut || {
                let s = state(OciStatus::Creating);
                super::hooks::run_all(hooks.prestart().as_deref().unwrap_or_default(), &s).map_err(|m| format!("prestart hook: {m}"))?;
                super::hooks::run_all(hooks.create_runtime().as_deref().unwrap_or_default(), &s)
                    .map_err(|m| format!("createRuntime hook: {m}"))?;
                Ok(Some(s))
            })
        });
    if let Err((_, msg)) = ready {
        spawned.kill();
        let _ = cgroup.delete();
        return Err(setup(msg));
    }
    if req.exec_fifo.is_none() {
        if let Some((_, msg)) = spawned.wait_exec() {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            let _ = cgroup.delete();
            return Err(setup(msg));
        }
    }
    Ok(Created { pid, pid_start: process_start_time(pid).unwrap_or(0), cgroup_path })
}

pub struct ExecRequest<'a> {
    /// the container's init
    pub pid: i32,
    /// the container's configuration (namespaces, seccomp, …)
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub cgroup_path: &'a str,
    pub console_socket: Option<&'a Path>,
    pub preserve_fds: u32,
}

/// Starts `process` in the container; returns its pid (a child of the
/// calling process, which waits for it or not). Fails (and leaves
/// nothing) when the process cannot be started or exec'd.
pub fn exec(req: &ExecRequest) -> Result<i32, RuntimeError> {
    let setup = RuntimeError::Setup;
    let process = super::plan::process_from_oci(req.process).map_err(|e| setup(e.to_string()))?;
    let seccomp = super::plan::seccomp_of(req.spec, process.caps.bounding).map_err(|e| setup(e.to_string()))?;
    let console = match (process.terminal, req.console_socket) {
        (true, Some(path)) => Some(
            std::os::unix::net::UnixStream::connect(path)
                .map(OwnedFd::from)
                .map_err(|e| setup(format!("connect to the console socket {}: {e}", path.display())))?,
        ),
        (true, None) => return Err(setup("a terminal needs --console-socket".into())),
        (false, _) => None,
    };
    // open every namespace of the init first; this process joins its
    // cgroup and pid namespace (for the child), the child the others
    // (so paths given to this process, a pid file, stay the host's)
    let mut fds = Vec::new();
    for (kind, flag) in [("cgroup", libc::CLONE_NEWCGROUP), ("ipc", libc::CLONE_NEWIPC), ("uts", libc::CLONE_NEWUTS), ("net", libc::CLONE_NEWNET), ("pid", libc::CLONE_NEWPID), ("mnt", libc::CLONE_NEWNS)] {
        let p = format!("/proc/{}/ns/{kind}", req.pid);
        let f = std::fs::File::open(&p).map_err(|e| setup(format!("{p}: {e}")))?;
        fds.push((kind, flag, f));
    }
    // on v2 the child is born in the container's cgroup (no move, whose
    // lock waits for an RCU grace period when none happened lately)
    let born_in = ContainerCgroup::load_at(req.cgroup_path).birthplace_or_join()?;
    let join = |which: &dyn Fn(i32) -> bool| -> Result<(), String> {
        for (kind, flag, f) in &fds {
            if which(*flag) {
                crate::sys::ns::setns(f, *flag).map_err(|e| format!("join the container's {kind} namespace: {e}"))?;
            }
        }
        Ok(())
    };
    join(&|f| f == libc::CLONE_NEWPID).map_err(setup)?;
    let (err_read, err_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| setup(format!("pipe: {e}")))?;
    // SAFETY (allowed by src/sys's rule: the child's code is here): this
    // process is single-threaded; the child only confines itself and
    // execs (or exits).
    let forked = unsafe { crate::sys::process::fork_in(born_in.as_ref().map(std::os::fd::AsFd::as_fd)) };
    match forked {
        Err(e) => Err(setup(format!("fork: {e}"))),
        Ok(crate::sys::process::Forked::Child) => {
            drop(err_read);
            let to_parent = std::fs::File::from(err_write);
            let joined = join(&|f| f != libc::CLONE_NEWPID).map_err(|m| (125, m));
            let (code, msg) = match joined.and_then(|()| exec_child(&process, seccomp.as_ref(), console, req.preserve_fds, to_parent.as_raw_fd())) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let _ = Message::failed(code, msg).send(&to_parent);
            crate::sys::process::exit_now(code) // no destructors in the forked child
        }
        Ok(crate::sys::process::Forked::Parent(child)) => {
            drop(born_in);
            let child = nix::unistd::Pid::from_raw(child);
            drop(err_write);
            match Message::receive(std::fs::File::from(err_read)) {
                None => Ok(child.as_raw()),
                Some(Message::Failed { message, .. }) => {
                    let _ = nix::sys::wait::waitpid(child, None);
                    Err(setup(message))
                }
                Some(other) => Err(setup(format!("unexpected message from the exec'd process: {other:?}"))),
            }
        }
    }
}

/// In the forked child, inside the container: stdio, session, rlimits,
/// confinement, exec. Returns only on failure.
fn exec_child(p: &ProcessPlan, seccomp: Option<&super::seccomp::Filter>, console: Option<OwnedFd>, preserve_fds: u32, report: RawFd) -> Result<std::convert::Infallible, (i32, String)> {
    let e125 = |m: String| (125, m);
    crate::sys::signal::set_default(libc::SIGPIPE);
    let tty = match console {
        Some(sock) => {
            let (slave, _) = super::init::send_pty(sock.as_raw_fd(), p.console_size).map_err(e125)?;
            for i in 0..3 {
                let _ = crate::sys::fd::dup2(slave.as_raw_fd(), i);
            }
            true
        }
        None => false,
    };
    super::process::new_session(tty.then_some(0)).map_err(e125)?;
    super::init::apply_limits(p).map_err(e125)?;
    let ids = super::init::ids_of(p);
    let mut keep: Vec<RawFd> = (3..3 + preserve_fds as RawFd).collect();
    keep.push(report);
    confine::apply(&Confinement {
        caps: p.caps,
        no_new_privileges: p.no_new_privileges,
        seccomp,
        ids: &ids,
        cwd: &p.cwd,
        create_cwd: false,
        keep_fds: &keep,
    })
    .map_err(e125)?;
    let env = confine::with_home(&p.env, &ids);
    Err(super::init::exec_args(&p.args, &env))
}
