//! `bocker exec`: a fresh single-threaded process (`bocker __exec ROOT ID`,
//! the request as JSON in BOCKER_EXEC_SPEC) joins the container's cgroup
//! and namespaces, forks into its pid namespace and execs the command.
use super::RuntimeError;
use crate::cgroup::ContainerCgroup;
use crate::state::Store;
use serde::{Deserialize, Serialize};
use super::term::{pump, Pump};
use std::os::fd::{AsRawFd, OwnedFd};

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

/// The exec helper's command (`__exec ROOT ID`, the spec in its
/// environment), and the sealed binary it runs from (kept until spawned).
pub fn helper_command(store: &Store, id: &str, spec: &ExecSpec) -> Result<(std::process::Command, impl Sized), RuntimeError> {
    let json = serde_json::to_string(spec).map_err(|e| RuntimeError::Setup(e.to_string()))?;
    let (mut cmd, sealed) = super::sealed_exe::monitor_command();
    cmd.arg("__exec").arg(store.root()).arg(id).env("BOCKER_EXEC_SPEC", json);
    Ok((cmd, sealed))
}

/// CLI side: runs the exec helper and returns its exit status.
pub fn run(store: &Store, id: &str, spec: &ExecSpec) -> Result<i32, RuntimeError> {
    let (mut cmd, _sealed) = helper_command(store, id, spec)?;
    if !spec.interactive {
        cmd.stdin(std::process::Stdio::null());
    }
    let old = crate::sys::signal::ignore(libc::SIGINT);
    let status = cmd.status();
    old.restore();
    let status = status.map_err(|e| RuntimeError::Setup(format!("start exec helper: {e}")))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
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
    // nothing in the container may open this process's executable (the
    // host's bocker) through /proc until it execs (CVE-2019-5736)
    let _ = crate::sys::process::set_dumpable(false);
    let (Some(root), Some(id)) = (args.get(2), args.get(3)) else {
        return Err((125, "usage: __exec ROOT ID".into()));
    };
    let spec: ExecSpec = serde_json::from_str(&std::env::var("BOCKER_EXEC_SPEC").unwrap_or_default())
        .map_err(|e| (125, format!("bad exec spec: {e}")))?;
    let store = Store::open(root).map_err(|e| e125(e.to_string()))?;
    let c = store.load_container(id).map_err(|e| e125(e.to_string()))?;
    let st = store.load_state(id).map_err(|e| e125(e.to_string()))?;
    let pid = match (st.status, st.alive(), st.pid) {
        (crate::state::containers::Status::Running, true, Some(pid)) => pid,
        _ => return Err((1, format!("Container '{id}' exists but is not running"))),
    };
    let caps = super::caps::resolve(&c.security);
    let seccomp = super::seccomp::compile(&c.security.seccomp, caps).map_err(|e| e125(e.to_string()))?;
    // open every namespace first, then join (the cgroup one after the
    // cgroup itself, mnt last)
    let kinds = ["cgroup", "ipc", "uts", "net", "pid", "mnt"];
    let mut fds = Vec::new();
    for k in kinds {
        if k == "net" && c.network == crate::net::NetMode::Host {
            continue;
        }
        let p = format!("/proc/{pid}/ns/{k}");
        let f = std::fs::File::open(&p).map_err(|e| e125(format!("{p}: {e}")))?;
        fds.push((k, f));
    }
    // on v2 the exec'd process is born in the container's cgroup (opened
    // here, in the host's mount namespace); elsewhere this process moves
    // in, before joining the cgroup namespace rooted there. Moving waits
    // for an RCU grace period when no move happened lately (~15 ms here)
    let born_in = ContainerCgroup::load(id).birthplace_or_join().map_err(|e| e125(e.to_string()))?;
    for (k, f) in &fds {
        crate::sys::ns::setns(f, 0).map_err(|e| e125(format!("join {k} namespace: {e}")))?;
    }
    drop(fds);
    // the container's --ulimit values, inherited by the exec'd process
    for u in &c.ulimits {
        use crate::state::containers::{rlimit_name, rlimit_value};
        let Some(resource) = rlimit_name(&u.name).and_then(super::plan::rlimit_resource) else { continue };
        crate::sys::process::setrlimit(resource, rlimit_value(u.soft), rlimit_value(u.hard)).map_err(|e| e125(format!("setrlimit {}: {e}", u.name)))?;
    }
    let env = super::process::merge_env(&c.env, &spec.env);
    let workdir = spec.workdir.clone().unwrap_or_else(|| c.workdir.clone());
    let user = spec.user.clone().unwrap_or_else(|| c.user.clone());
    // with -t: a pty of the container's devpts (we are in its mount ns);
    // without: pipes, so our terminal never reaches the container
    let io = if spec.tty {
        let (master, slave) = super::term::open_pty().map_err(e125)?;
        ExecIo::Pty { master, slave }
    } else {
        let p = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e125(format!("pipe: {e}")));
        let (out_r, out_w) = p()?;
        let (err_r, err_w) = p()?;
        let (in_r, in_w) = if spec.interactive {
            let (r, w) = p()?;
            (r, Some(w))
        } else {
            (std::fs::File::open("/dev/null").map_err(|e| e125(format!("/dev/null: {e}")))?.into(), None)
        };
        ExecIo::Pipes { child: [in_r, out_w, err_w], out_r, err_r, in_w }
    };
    let plan = Plan { args: &spec.args, env: &env, workdir: &workdir, user: &user, group_add: &c.group_add, caps, nnp: c.security.no_new_privileges, seccomp: seccomp.as_ref() };
    // SAFETY (allowed by src/sys's rule: the child's code is here): this
    // process is single-threaded; the child only takes its stdio,
    // confines itself and execs (or _exits).
    let forked = unsafe { crate::sys::process::fork_in(born_in.as_ref().map(std::os::fd::AsFd::as_fd)) };
    match forked {
        Err(e) => Err(e125(format!("fork: {e}"))),
        Ok(crate::sys::process::Forked::Child) => {
            let stdio = match &io {
                ExecIo::Pty { slave, .. } => super::term::take_terminal(slave.as_raw_fd()),
                ExecIo::Pipes { child, .. } => take_pipes(child),
            };
            if let Err(m) = stdio {
                eprintln!("bocker exec: {m}");
                crate::sys::process::exit_now(125)
            }
            let code = child(&plan);
            crate::sys::process::exit_now(code)
        }
        Ok(crate::sys::process::Forked::Parent(child)) => {
            drop(born_in);
            let child = nix::unistd::Pid::from_raw(child);
            // SIGWINCH: our terminal's size changed (or the API's resize
            // set it on the terminal we were given): the pump copies it
            super::process::forward_signals(child.as_raw(), &[libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGWINCH]);
            let winch = &super::process::WINCH;
            match io {
                ExecIo::Pty { master, slave } => {
                    drop(slave);
                    let _raw = if crate::sys::fd::isatty(0) {
                        super::term::copy_winsize(0, master.as_raw_fd());
                        super::term::RawMode::enter(0)
                    } else {
                        None
                    };
                    let m = master.as_raw_fd();
                    pump(Pump { outputs: vec![(m, 1)], master: Some(m), stdin_pipe: None, forward_stdin: spec.interactive, log: None, to_terminal: true, attach: None, shed_when_idle: false }, winch);
                }
                ExecIo::Pipes { child: ends, out_r, err_r, in_w } => {
                    drop(ends);
                    let outputs = vec![(out_r.as_raw_fd(), 1), (err_r.as_raw_fd(), 2)];
                    pump(Pump { outputs, master: None, stdin_pipe: in_w, forward_stdin: spec.interactive, log: None, to_terminal: true, attach: None, shed_when_idle: false }, winch);
                }
            }
            super::process::wait_exit(child).ok_or_else(|| e125("wait for the exec'd process failed".into()))
        }
    }
}

enum ExecIo {
    Pty { master: OwnedFd, slave: OwnedFd },
    Pipes { child: [OwnedFd; 3], out_r: OwnedFd, err_r: OwnedFd, in_w: Option<OwnedFd> },
}

/// The exec'd process's stdio: our pipe ends, in a session of its own.
fn take_pipes(child: &[OwnedFd; 3]) -> Result<(), String> {
    super::process::new_session(None)?;
    for (i, fd) in child.iter().enumerate() {
        crate::sys::fd::dup2(fd.as_raw_fd(), i as i32).map_err(|e| format!("dup2: {e}"))?;
    }
    Ok(())
}

struct Plan<'a> {
    args: &'a [String],
    env: &'a [String],
    workdir: &'a str,
    user: &'a str,
    /// the container's `--group-add`, which Docker gives exec'd processes too
    group_add: &'a [String],
    caps: super::caps::CapSet,
    nnp: bool,
    seccomp: Option<&'a super::seccomp::Filter>,
}

/// In the forked child, inside the container: confine and exec.
fn child(p: &Plan) -> i32 {
    crate::sys::signal::set_default(libc::SIGPIPE);
    let confined = super::confine::enter_as(p.user, p.group_add, p.caps, p.nnp, p.seccomp, p.workdir, p.env);
    let env = match confined {
        Ok(env) => env,
        Err(m) => {
            eprintln!("bocker exec: {m}");
            return 125;
        }
    };
    let (code, msg) = super::init::exec_args(p.args, &env);
    eprintln!("bocker exec: {msg}");
    code
}

/// A health check's probe: the command run by the same helper as `bocker
/// exec` (same confinement), its stdout and stderr captured together
/// (the first `keep` bytes). Past `timeout` the helper gets SIGTERM,
/// which it forwards to the probe, then SIGKILL: the result is then
/// None. Returns the exit status (128+N for a signal) and the output.
pub fn probe(store: &Store, id: &str, args: &[String], timeout: std::time::Duration, keep: usize) -> Result<Option<(i32, String)>, RuntimeError> {
    use std::io::Read;
    let setup = |what: &str, e: &dyn std::fmt::Display| RuntimeError::Setup(format!("health check: {what}: {e}"));
    let spec = ExecSpec { args: args.to_vec(), ..Default::default() };
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| setup("pipe", &e))?;
    let err_w = out_w.try_clone().map_err(|e| setup("pipe", &e))?;
    let (mut cmd, sealed) = helper_command(store, id, &spec)?;
    cmd.stdin(std::process::Stdio::null()).stdout(out_w).stderr(err_w);
    let spawned = cmd.spawn();
    // the write ends live in `cmd`: only the helper may hold them now
    drop(cmd);
    drop(sealed);
    let mut child = spawned.map_err(|e| setup("start exec helper", &e))?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut f = std::fs::File::from(out_r);
        let mut buf = [0u8; 4096];
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = keep.saturating_sub(out.len());
            out.extend_from_slice(&buf[..n.min(room)]);
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    let deadline = std::time::Instant::now() + timeout;
    use std::os::unix::process::ExitStatusExt;
    loop {
        if let Some(st) = child.try_wait().map_err(|e| setup("wait", &e))? {
            let code = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            let output = reader.join().unwrap_or_default();
            return Ok(Some((code, output)));
        }
        if std::time::Instant::now() >= deadline {
            let helper = child.id() as i32;
            let _ = crate::sys::process::kill(helper, libc::SIGTERM);
            let grace = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < grace {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            // the reader may wait on a probe that outlives its helper: not joined
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
