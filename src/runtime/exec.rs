//! `bocker exec`: a fresh single-threaded process (`bocker __exec ROOT ID`,
//! the request as JSON in BOCKER_EXEC_SPEC) joins the container's cgroup
//! and namespaces, forks into its pid namespace and execs the command.
use super::RuntimeError;
use crate::cgroup::ContainerCgroup;
use crate::state::Store;
use serde::{Deserialize, Serialize};
use std::os::fd::AsRawFd;
use std::process::Command;

#[derive(Serialize, Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub interactive: bool,
}

/// CLI side: runs the exec helper and returns its exit status.
pub fn run(store: &Store, id: &str, spec: &ExecSpec) -> Result<i32, RuntimeError> {
    let json = serde_json::to_string(spec).map_err(|e| RuntimeError::Setup(e.to_string()))?;
    let mut cmd = Command::new(super::self_exe());
    cmd.arg("__exec").arg(store.root()).arg(id).env("BOCKER_EXEC_SPEC", json);
    if !spec.interactive {
        cmd.stdin(std::process::Stdio::null());
    }
    let old = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = cmd.status();
    unsafe { libc::signal(libc::SIGINT, old) };
    let status = status.map_err(|e| RuntimeError::Setup(format!("start exec helper: {e}")))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

static EXEC_CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
extern "C" fn forward(sig: libc::c_int) {
    let pid = EXEC_CHILD.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        unsafe { libc::kill(pid, sig) };
    }
}

/// The hidden `__exec` entry point.
pub fn main(args: &[String]) -> u8 {
    match inner(args) {
        Ok(code) => code.clamp(0, 255) as u8,
        Err((code, msg)) => {
            eprintln!("bocker exec: {msg}");
            code as u8
        }
    }
}

fn inner(args: &[String]) -> Result<i32, (i32, String)> {
    let e125 = |m: String| (125, m);
    let (Some(root), Some(id)) = (args.get(2), args.get(3)) else {
        return Err((125, "usage: __exec ROOT ID".into()));
    };
    let spec: ExecSpec = serde_json::from_str(&std::env::var("BOCKER_EXEC_SPEC").unwrap_or_default())
        .map_err(|e| (125, format!("bad exec spec: {e}")))?;
    let store = Store::open(root).map_err(|e| e125(e.to_string()))?;
    let c = store.load_container(id).map_err(|e| e125(e.to_string()))?;
    let st = store.load_state(id).map_err(|e| e125(e.to_string()))?;
    let pid = match (st.status.as_str(), st.alive(), st.pid) {
        ("running", true, Some(pid)) => pid,
        _ => return Err((1, format!("Container '{id}' exists but is not running"))),
    };
    // open every namespace first, then join (mnt last)
    let kinds = ["ipc", "uts", "net", "pid", "mnt"];
    let mut fds = Vec::new();
    for k in kinds {
        if k == "net" && c.network == "host" {
            continue;
        }
        let p = format!("/proc/{pid}/ns/{k}");
        let f = std::fs::File::open(&p).map_err(|e| e125(format!("{p}: {e}")))?;
        fds.push((k, f));
    }
    ContainerCgroup::load(id).add_process(std::process::id() as i32).map_err(|e| e125(e.to_string()))?;
    for (k, f) in &fds {
        if unsafe { libc::setns(f.as_raw_fd(), 0) } != 0 {
            return Err(e125(format!("join {k} namespace: {}", std::io::Error::last_os_error())));
        }
    }
    drop(fds);
    let mut env = c.env.clone();
    for e in &spec.env {
        let key = e.split('=').next().unwrap_or("");
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    let workdir = spec.workdir.clone().unwrap_or_else(|| c.workdir.clone());
    let user = spec.user.clone().unwrap_or_else(|| c.user.clone());
    // with -t: a pty of the container's devpts (we are in its mount ns)
    let pty = if spec.tty { Some(super::term::open_pty().map_err(e125)?) } else { None };
    match unsafe { nix::unistd::fork() } {
        Err(e) => Err(e125(format!("fork: {e}"))),
        Ok(nix::unistd::ForkResult::Child) => {
            if let Some((_, slave)) = &pty {
                if let Err(m) = super::term::take_terminal(slave.as_raw_fd()) {
                    eprintln!("bocker exec: {m}");
                    unsafe { libc::_exit(125) }
                }
            }
            let code = child(&spec.args, &env, &workdir, &user);
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            if let Some((master, slave)) = pty {
                drop(slave);
                let _raw = if unsafe { libc::isatty(0) } == 1 {
                    super::term::copy_winsize(0, master.as_raw_fd());
                    super::term::RawMode::enter(0)
                } else {
                    None
                };
                super::term::relay(master.as_raw_fd(), spec.interactive);
            }
            EXEC_CHILD.store(child.as_raw(), std::sync::atomic::Ordering::SeqCst);
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
                unsafe { libc::signal(sig, forward as *const () as libc::sighandler_t) };
            }
            use nix::sys::wait::{waitpid, WaitStatus};
            loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                    Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(e125(format!("wait: {e}"))),
                }
            }
        }
    }
}

/// In the forked child, inside the container: set up and exec.
fn child(args: &[String], env: &[String], workdir: &str, user: &str) -> i32 {
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let wd = if workdir.is_empty() { "/" } else { workdir };
    if let Err(e) = std::env::set_current_dir(wd) {
        eprintln!("bocker exec: chdir to {wd}: {e}");
        return 125;
    }
    if let Err(m) = super::caps::apply(super::caps::CapSet::docker_default()).and_then(|_| super::caps::set_no_new_privs()) {
        eprintln!("bocker exec: {m}");
        return 125;
    }
    if let Err(m) = super::user::become_user(user) {
        eprintln!("bocker exec: {m}");
        return 125;
    }
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
    }
    let (code, msg) = super::init::exec_args(args, env);
    eprintln!("bocker exec: {msg}");
    code
}
