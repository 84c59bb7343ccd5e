//! The container's first process, between clone and exec, doing what a
//! [`ContainerPlan`] says. It runs in a child of a single-threaded
//! process (the monitor, or `bocker-runc create`; never a process hosting
//! Lua or tokio). It joins the namespaces given by path, waits for the
//! parent's go, builds the root (with the parent running the hooks of that
//! moment), sets up the console, confines itself, reports ready, waits on
//! the exec fifo when there is one, and execs the process. Every message
//! to the parent is a [`Message`]; EOF on that pipe means it exec'd.
use super::confine::{self, Confinement};
use super::message::Message;
use super::plan::{ContainerPlan, ProcessPlan};
use super::rootfs::{self, RootSource};
use super::user::Ids;
use crate::runtime::oci_state::OciState;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};

/// What the init does besides the plan.
pub struct InitSpec<'a> {
    pub plan: &'a ContainerPlan,
    pub source: RootSource<'a>,
    /// the process's 0, 1, 2; None: the ones inherited from the parent
    pub stdio: Option<[RawFd; 3]>,
    /// with a terminal: the socket to send the pty master over
    pub console: Option<RawFd>,
    /// an O_PATH descriptor of the exec fifo (wait for `start`)
    pub exec_fifo: Option<RawFd>,
    /// descriptors 3..3+N stay open for the process
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// the parent runs hooks when the mounts are in place (prestart,
    /// createRuntime), and sends the state for the container's own
    pub hooks: bool,
    /// `--init`: fork after confinement; this process stays as pid 1
    /// reaping orphans and forwarding signals (`reaper.rs`)
    pub reaper: bool,
}

pub struct InitPipes {
    pub from_parent: std::fs::File,
    pub to_parent: std::fs::File,
    /// the namespaces to join (but pid), opened by the parent in its own
    /// mount namespace: a path under /run/netns is a mount there, which the
    /// init's fresh mount namespace need not show the same way
    pub joins: Vec<(nix::sched::CloneFlags, std::fs::File)>,
}

/// Runs in the cloned child; returns only to exit with the code.
pub fn run(spec: &InitSpec, pipes: &InitPipes) -> isize {
    // a failed write to a parent that is gone must not kill us silently;
    // restored to the default right before exec
    let _ = crate::sys::signal::ignore(libc::SIGPIPE);
    let plan = spec.plan;
    if let Err(msg) = join_namespaces(&pipes.joins) {
        return fail(pipes, 125, &msg);
    }
    // wait for the parent: cgroup joined, network ready
    if Message::receive(&pipes.from_parent) != Some(Message::Go) {
        return 125;
    }
    crate::trace::mark("init: go");
    if plan.namespaces.id_maps.is_some() {
        // our credentials are still the host root's, which the new user
        // namespace does not map: become its root (the mapped ids)
        if let Err(e) = crate::sys::process::become_root() {
            return fail(pipes, 125, &format!("become root in the user namespace: {e}"));
        }
    }
    if plan.namespaces.new_cgroup {
        // a cgroup namespace rooted at the cgroup the parent has just
        // moved us into: the container sees its own cgroup as /
        if let Err(e) = crate::sys::ns::unshare(libc::CLONE_NEWCGROUP) {
            return fail(pipes, 125, &format!("cgroup namespace: {e}"));
        }
    }
    let (program, env, state) = match prepare(spec, pipes) {
        Ok(p) => p,
        Err((code, msg)) => return fail(pipes, code, &msg),
    };
    crate::trace::mark("init: ready");
    let _ = Message::Ready.send(&pipes.to_parent);
    if let Some(fifo) = spec.exec_fifo {
        if let Err(msg) = wait_for_start(fifo) {
            return fail(pipes, 125, &msg);
        }
    }
    if let Some(mut state) = state.clone() {
        state.status = crate::runtime::oci_state::OciStatus::Created;
        if let Err(msg) = super::hooks::run_all(plan.hooks.start_container().as_deref().unwrap_or_default(), &state) {
            return fail(pipes, 125, &format!("startContainer hook: {msg}"));
        }
    }
    let (code, msg) = if spec.reaper {
        let exec_command = || exec(&program, &plan.process.args, &env);
        super::reaper::fork_and_reap(&exec_command, &pipes.to_parent, [pipes.to_parent.as_raw_fd(), pipes.from_parent.as_raw_fd()])
    } else {
        exec(&program, &plan.process.args, &env)
    };
    fail(pipes, code, &msg)
}

/// Reports a failure to the parent (or, when it no longer listens, on
/// the process's stderr) and returns the exit code.
fn fail(pipes: &InitPipes, code: i32, msg: &str) -> isize {
    if Message::failed(code, msg).send(&pipes.to_parent).is_err() {
        let _ = writeln!(std::io::stderr(), "bocker: {msg}");
    }
    code as isize
}

/// setns into every namespace the parent opened.
fn join_namespaces(joins: &[(nix::sched::CloneFlags, std::fs::File)]) -> Result<(), String> {
    for (flag, f) in joins {
        crate::sys::ns::setns(f, flag.bits()).map_err(|e| format!("join {flag:?} namespace: {e}"))?;
    }
    Ok(())
}

type Prepared = (CString, Vec<String>, Option<OciState>);

fn prepare(spec: &InitSpec, pipes: &InitPipes) -> Result<Prepared, (i32, String)> {
    let plan = spec.plan;
    let e125 = |m: String| (125, m);
    let mut state = None;
    let mut before_pivot = || -> Result<(), String> {
        if !spec.hooks {
            return Ok(());
        }
        Message::Hooks.send(&pipes.to_parent).map_err(|e| format!("report to the runtime: {e}"))?;
        match Message::receive(&pipes.from_parent) {
            Some(Message::Resume { state: s }) => state = s,
            _ => return Err("the runtime did not resume the container".into()),
        }
        if let Some(s) = &state {
            super::hooks::run_all(plan.hooks.create_container().as_deref().unwrap_or_default(), s)
                .map_err(|m| format!("createContainer hook: {m}"))?;
        }
        Ok(())
    };
    rootfs::setup(plan, &spec.source, spec.no_pivot, &mut before_pivot).map_err(e125)?;
    crate::trace::mark("init: root mounted and pivoted");
    if plan.namespaces.is_new(nix::sched::CloneFlags::CLONE_NEWNET) {
        loopback_up().map_err(e125)?;
    }
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).map_err(|e| e125(format!("sethostname: {e}")))?;
    }
    if let Some(d) = &plan.domainname {
        crate::sys::ns::set_domainname(d.as_bytes()).map_err(|e| e125(format!("setdomainname: {e}")))?;
    }
    // stdio: the terminal made in the container's devpts, or the fds given
    let console_slave = match spec.console {
        Some(sock) if plan.process.terminal => Some(open_console(sock, plan.process.console_size).map_err(e125)?),
        _ => None,
    };
    let stdio = match (&console_slave, spec.stdio) {
        (Some((fd, _)), _) => Some([*fd; 3]),
        (None, s) => s,
    };
    if let Some(fds) = stdio {
        for (i, fd) in fds.iter().enumerate() {
            crate::sys::fd::dup2(*fd, i as i32).map_err(|e| e125(format!("dup2: {e}")))?;
        }
    }
    if let Some((_, path)) = &console_slave {
        rootfs::bind_console(path).map_err(e125)?;
    }
    rootfs::finish(plan).map_err(e125)?;
    // a session of its own: the caller's terminal is never the
    // container's controlling terminal; its own pty is, with one
    super::process::new_session(console_slave.as_ref().map(|_| 0)).map_err(e125)?;
    let p = &plan.process;
    apply_limits(p).map_err(e125)?;
    if let Some(adj) = p.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).map_err(|e| e125(format!("oom_score_adj: {e}")))?;
    }
    crate::trace::mark("init: stdio, limits");
    let ids = ids_of(p);
    let mut keep: Vec<RawFd> = (3..3 + spec.preserve_fds as RawFd).collect();
    keep.push(pipes.to_parent.as_raw_fd());
    keep.push(pipes.from_parent.as_raw_fd());
    keep.extend(spec.exec_fifo);
    confine::apply(&Confinement {
        caps: p.caps,
        no_new_privileges: p.no_new_privileges,
        seccomp: plan.seccomp.as_ref(),
        ids: &ids,
        cwd: &p.cwd,
        create_cwd: true,
        keep_fds: &keep,
    })
    .map_err(e125)?;
    crate::trace::mark("init: confined");
    let env = confine::with_home(&p.env, &ids);
    let program = find_program(&p.args, &env)?;
    Ok((program, env, state))
}

/// rlimits and umask of a container process (the init or an exec'd one).
pub fn apply_limits(p: &ProcessPlan) -> Result<(), String> {
    for r in &p.rlimits {
        crate::sys::process::setrlimit(r.resource, r.soft, r.hard).map_err(|e| format!("setrlimit {}: {e}", r.resource))?;
    }
    if let Some(mask) = p.umask {
        crate::sys::process::umask(mask as libc::mode_t);
    }
    Ok(())
}

/// The process's ids, HOME from the container's /etc/passwd (read after
/// pivot_root or setns into its mount namespace: inside its root).
pub fn ids_of(p: &ProcessPlan) -> Ids {
    let home = super::user::lookup_user(&p.uid.to_string()).ok().and_then(|i| i.home);
    Ids { uid: p.uid, gid: p.gid, home, groups: p.additional_gids.clone() }
}

/// Blocks until `start` opens the fifo for reading, then tells it we go.
fn wait_for_start(fifo: RawFd) -> Result<(), String> {
    let path = format!("/proc/self/fd/{fifo}");
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| format!("open exec fifo: {e}"))?;
    f.write_all(b"0").map_err(|e| format!("write exec fifo: {e}"))?;
    crate::sys::fd::close_raw(fifo); // the O_PATH descriptor we were given
    Ok(())
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The program to exec, found as execvp would, with Docker's exit codes:
/// 127 not found, 126 found but not executable.
pub fn find_program(args: &[String], env: &[String]) -> Result<CString, (i32, String)> {
    let Some(prog) = args.first() else {
        return Err((125, "no command given".into()));
    };
    let usable = |p: &str| -> Result<(), i32> {
        let c = CString::new(p).map_err(|_| libc::ENOENT)?;
        let st = nix::sys::stat::stat(c.as_c_str()).map_err(|e| e as i32)?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            return Err(libc::EACCES);
        }
        if nix::unistd::access(c.as_c_str(), nix::unistd::AccessFlags::X_OK).is_err() {
            return Err(libc::EACCES);
        }
        Ok(())
    };
    let path_of = |p: &str| CString::new(p).map_err(|_| (125, "argument contains a NUL byte".to_string()));
    if prog.contains('/') {
        return match usable(prog) {
            Ok(()) => path_of(prog),
            Err(e) => Err(classify(prog, e, false)),
        };
    }
    let search = env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or(DEFAULT_PATH);
    let mut denied = false;
    for dir in search.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = format!("{dir}/{prog}");
        match usable(&cand) {
            Ok(()) => return path_of(&cand),
            Err(libc::EACCES) => denied = true,
            Err(_) => continue,
        }
    }
    Err(classify(prog, if denied { libc::EACCES } else { libc::ENOENT }, true))
}

/// execve of a found program; returns only on failure (code, message).
fn exec(program: &CString, args: &[String], env: &[String]) -> (i32, String) {
    let cargs: Vec<CString> = match args.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(v) => v,
        Err(_) => return (125, "argument contains a NUL byte".into()),
    };
    let cenv: Vec<CString> = env.iter().filter_map(|e| CString::new(e.as_bytes()).ok()).collect();
    crate::sys::signal::set_default(libc::SIGPIPE); // the program's default
    let e = crate::sys::process::execve(program, &cargs, &cenv).raw_os_error().unwrap_or(libc::ENOENT);
    classify(&args[0], e, false)
}

/// Finds and execs the command the way execvp does (bocker exec's
/// process, already confined).
pub fn exec_args(args: &[String], env: &[String]) -> (i32, String) {
    match find_program(args, env) {
        Ok(p) => exec(&p, args, env),
        Err(e) => e,
    }
}

fn classify(prog: &str, errno: i32, searched: bool) -> (i32, String) {
    let e = std::io::Error::from_raw_os_error(errno);
    match errno {
        libc::ENOENT | libc::ENOTDIR if searched => {
            (127, format!("exec: \"{prog}\": executable file not found in $PATH"))
        }
        libc::ENOENT | libc::ENOTDIR => (127, format!("exec: \"{prog}\": stat {prog}: no such file or directory")),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_lowercase();
            (126, format!("exec: \"{prog}\": {text}"))
        }
    }
}

/// Sets IFF_UP on `lo` in the current network namespace.
fn loopback_up() -> Result<(), String> {
    crate::sys::net::set_up(b"lo").map_err(|e| format!("bring up loopback: {e}"))
}

/// Opens a pty in the container's own devpts, sends the master over
/// `sock` (as runc does: a name byte and the fd) and returns the slave
/// and its path (so `tty` names /dev/pts/0).
fn open_console(sock: RawFd, size: Option<(u16, u16)>) -> Result<(RawFd, String), String> {
    use std::os::fd::IntoRawFd;
    let (slave, path) = send_pty(sock, size)?;
    crate::sys::fd::close_raw(sock); // the socket we were given, once
    Ok((slave.into_raw_fd(), path))
}

/// A pty of the current devpts sized `size`, its master sent over `sock`
/// with its name (as runc does); the slave and its path stay here.
pub fn send_pty(sock: RawFd, size: Option<(u16, u16)>) -> Result<(std::os::fd::OwnedFd, String), String> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let (master, slave) = super::term::open_pty()?;
    if let Some((rows, cols)) = size {
        let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        let _ = crate::sys::term::set_winsize(master.as_raw_fd(), &ws);
    }
    let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd()))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/dev/pts/0".into());
    let fds = [master.as_raw_fd()];
    let iov = [std::io::IoSlice::new(path.as_bytes())];
    sendmsg::<()>(sock, &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .map_err(|e| format!("send pty master: {e}"))?;
    Ok((slave, path))
}
