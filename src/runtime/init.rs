//! The container's first process, between clone and exec. It runs in a
//! child of the single-threaded shim (never in a process hosting Lua or
//! tokio). It waits for the shim's go, builds the root, drops privileges
//! and execs the command. Failures go back over a CLOEXEC pipe as
//! "CODE\nmessage": EOF on that pipe means exec succeeded.
use super::caps::CapSet;
use super::message::Message;
use super::confine::{self, ProcessPlan};
use super::rootfs::{self, BindPlan, DeviceNode, RootfsPlan};
use std::ffi::CString;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

pub struct InitPlan {
    pub layers_dir: PathBuf,
    pub mount_options: String,
    pub rootfs: PathBuf,
    pub binds: Vec<BindPlan>,
    pub etc_files: Vec<(String, PathBuf)>,
    pub readonly_rootfs: bool,
    pub privileged: bool,
    /// mount the (namespaced) cgroup2 filesystem at /sys/fs/cgroup
    pub cgroup2: bool,
    pub devices: Vec<DeviceNode>,
    pub caps: CapSet,
    pub no_new_privileges: bool,
    pub seccomp: Option<super::seccomp::Filter>,
    pub hostname: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: String,
    /// fds for the container's 0, 1, 2
    pub stdio: [RawFd; 3],
    pub tty: bool,
    /// with a tty: the socket to send the pty master over
    pub console: Option<RawFd>,
    /// bring `lo` up (the container has its own network namespace)
    pub loopback: bool,
}

pub struct InitPipes {
    pub go_read: std::fs::File,
    pub err_write: std::fs::File,
}

/// Runs in the cloned child; returns only to exit with the code.
pub fn run(plan: &InitPlan, pipes: &InitPipes) -> isize {
    // wait for the shim: cgroup joined, network ready (the shim writes Go
    // and closes its end)
    if Message::receive(&pipes.go_read) != Some(Message::Go) {
        return 125;
    }
    // a cgroup namespace rooted at the container's cgroup, which the shim
    // has just moved us into: the container sees its own cgroup as /
    // SAFETY: plain unshare of our own process.
    if unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } != 0 {
        return fail(pipes, 125, &format!("cgroup namespace: {}", std::io::Error::last_os_error()));
    }
    let env = match prepare(plan, pipes) {
        Ok(env) => env,
        Err(msg) => return fail(pipes, 125, &msg),
    };
    let (code, msg) = exec_args(&plan.args, &env);
    fail(pipes, code, &msg)
}

fn fail(pipes: &InitPipes, code: i32, msg: &str) -> isize {
    let _ = Message::failed(code, msg).send(&pipes.err_write);
    code as isize
}

fn prepare(plan: &InitPlan, pipes: &InitPipes) -> Result<Vec<String>, String> {
    rootfs::setup(&RootfsPlan {
        layers_dir: &plan.layers_dir,
        mount_options: &plan.mount_options,
        rootfs: &plan.rootfs,
        readonly_rootfs: plan.readonly_rootfs,
        binds: &plan.binds,
        etc_files: &plan.etc_files,
        privileged: plan.privileged,
        cgroup2: plan.cgroup2,
        devices: &plan.devices,
    })?;
    if plan.loopback {
        loopback_up()?;
    }
    nix::unistd::sethostname(&plan.hostname).map_err(|e| format!("sethostname: {e}"))?;
    // stdio
    let stdio = match plan.console {
        Some(sock) => {
            let slave = open_console(sock)?;
            [slave; 3]
        }
        None => plan.stdio,
    };
    for (i, fd) in stdio.iter().enumerate() {
        if unsafe { libc::dup2(*fd, i as i32) } < 0 {
            return Err(format!("dup2: {}", std::io::Error::last_os_error()));
        }
    }
    // a session of its own: the caller's terminal is never the
    // container's controlling terminal; its own pty is, with -t
    super::process::new_session(plan.tty.then_some(0))?;
    confine::enter(
        &ProcessPlan {
            caps: plan.caps,
            no_new_privileges: plan.no_new_privileges,
            seccomp: plan.seccomp.as_ref(),
            user: &plan.user,
            workdir: &plan.workdir,
            create_workdir: true,
            keep_fd: Some(pipes.err_write.as_raw_fd()),
        },
        &plan.env,
    )
}

/// Finds and execs the command the way execvp does, with Docker's exit
/// codes: 127 not found, 126 found but not executable.
pub fn exec_args(args: &[String], env: &[String]) -> (i32, String) {
    let Some(prog) = args.first() else {
        return (125, "no command given".into());
    };
    let cargs: Vec<CString> = match args.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(v) => v,
        Err(_) => return (125, "argument contains a NUL byte".into()),
    };
    let cenv: Vec<CString> = env.iter().filter_map(|e| CString::new(e.as_bytes()).ok()).collect();
    let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = cenv.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    let try_exec = |path: &str| -> i32 {
        let Ok(p) = CString::new(path) else { return libc::ENOENT };
        unsafe { libc::execve(p.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOENT)
    };
    if prog.contains('/') {
        let e = try_exec(prog);
        return classify(prog, e, false);
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut seen_eacces = None;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let e = try_exec(&format!("{dir}/{prog}"));
        match e {
            libc::ENOENT | libc::ENOTDIR => continue,
            libc::EACCES => seen_eacces = Some(e),
            other => return classify(prog, other, true),
        }
    }
    classify(prog, seen_eacces.unwrap_or(libc::ENOENT), true)
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
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let mut r = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            r = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req);
        }
        let e = std::io::Error::last_os_error();
        libc::close(sock);
        if r != 0 {
            return Err(format!("bring up loopback: {e}"));
        }
    }
    Ok(())
}

/// Opens a pty in the container's own devpts, sends the master to the
/// shim over `sock` and returns the slave (so `tty` names /dev/pts/0).
fn open_console(sock: RawFd) -> Result<RawFd, String> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    use std::os::fd::IntoRawFd;
    let (master, slave) = super::term::open_pty()?;
    let fds = [master.as_raw_fd()];
    let iov = [std::io::IoSlice::new(b"m")];
    sendmsg::<()>(sock, &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .map_err(|e| format!("send pty master: {e}"))?;
    drop(master);
    unsafe { libc::close(sock) };
    Ok(slave.into_raw_fd())
}
