//! `create`, `start` and `run`: a container made from a bundle, its init
//! left waiting on `ROOT/ID/exec.fifo` until `start` reads it (`run`:
//! no fifo, the init execs at once).
use super::args::{self, flag, opt, Flag, Parsed};
use super::state::{init_alive, owner_name, Record};
use super::pidfile::PidFile;
use super::{control, log, one_id, Ctx};
use crate::runtime::oci_state::OciStatus;
use crate::runtime::oci::{self as core, CreateRequest};
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::Spec;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

const CREATE_FLAGS: &[Flag] = &[
    opt(&["bundle", "b"]),
    opt(&["pid-file"]),
    opt(&["console-socket"]),
    opt(&["preserve-fds"]),
    flag(&["no-pivot"]),
    flag(&["no-new-keyring"]),
];

const RUN_FLAGS: &[Flag] = &[
    opt(&["bundle", "b"]),
    opt(&["pid-file"]),
    opt(&["console-socket"]),
    opt(&["preserve-fds"]),
    flag(&["no-pivot"]),
    flag(&["no-new-keyring"]),
    flag(&["detach", "d"]),
    flag(&["keep"]),
    flag(&["no-subreaper"]),
];

/// Signals a foreground `run` passes on to the container's init.
const FORWARDED: &[libc::c_int] =
    &[libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH];

pub fn create(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, CREATE_FLAGS)?;
    let id = one_id(&p, "create")?;
    make(ctx, &p, &id, true)?;
    Ok(0)
}

pub fn run(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, RUN_FLAGS)?;
    let id = one_id(&p, "run")?;
    let rec = make(ctx, &p, &id, false)?;
    poststart(ctx, &rec);
    if p.has("detach") {
        return Ok(0);
    }
    crate::runtime::process::forward_signals(rec.init_pid, FORWARDED);
    let code = crate::runtime::process::wait_exit(nix::unistd::Pid::from_raw(rec.init_pid)).unwrap_or(255);
    if !p.has("keep") {
        let _lock = ctx.root.lock(&id)?;
        control::destroy(ctx, &rec)?;
    }
    Ok(u8::try_from(code).unwrap_or(255))
}

pub fn start(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[])?;
    let id = one_id(&p, "start")?;
    ctx.root.load(&id)?;
    let _lock = ctx.root.lock(&id)?;
    let rec = ctx.root.load(&id)?;
    match ctx.root.status(&rec) {
        OciStatus::Created => {}
        OciStatus::Stopped => bail!("cannot start a container that has stopped"),
        OciStatus::Running | OciStatus::Paused => bail!("cannot start an already running container"),
        OciStatus::Creating => bail!("cannot start a container in the creating state"),
    }
    let fifo = ctx.root.fifo(&id);
    release(&fifo, &rec)?;
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    poststart(ctx, &rec);
    Ok(0)
}

/// The bundle's config.json, with runc's error when it is missing.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
    let p = bundle.join("config.json");
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("JSON specification file {} not found", p.display()),
        Err(e) => return Err(e).with_context(|| format!("read {}", p.display())),
    };
    serde_json::from_str(&text).with_context(|| format!("{}: invalid configuration", p.display()))
}

/// Removes what a failed create made: the state folder (record, fifo)
/// and, once the core made it, the init and its cgroup.
struct Undo<'a> {
    ctx_root: &'a super::state::Root,
    id: String,
    init: Option<(i32, String)>,
    armed: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some((pid, cgroup_path)) = &self.init {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(*pid), None);
            // never the hierarchy's root (an empty path)
            if !crate::cgroup::resources::clean_rooted(cgroup_path).is_empty() {
                let _ = crate::cgroup::ContainerCgroup::load_at(cgroup_path).delete();
            }
        }
        let _ = self.ctx_root.remove(&self.id);
    }
}

/// create (with the exec fifo) or run's first half (without).
fn make(ctx: &mut Ctx, p: &Parsed, id: &str, with_fifo: bool) -> Result<Record> {
    let preserve_fds = p.number::<u32>("preserve-fds")?.unwrap_or(0);
    let bundle = std::path::absolute(p.value("bundle").unwrap_or(".")).context("bundle path")?;
    let spec = load_spec(&bundle)?;
    let console_socket = p.value("console-socket").map(PathBuf::from);
    check_terminal(&spec, console_socket.is_some())?;
    let pid_file = p.value("pid-file").map(|f| PidFile::prepare(Path::new(f))).transpose()?;
    let dir = ctx.root.make_container_dir(id)?;
    let mut undo = Undo { ctx_root: &ctx.root, id: id.to_string(), init: None, armed: true };
    let _lock = ctx.root.lock(id)?;
    let fifo = dir.join("exec.fifo");
    if with_fifo {
        make_fifo(&fifo)?;
    }
    let req = CreateRequest {
        id,
        bundle: &bundle,
        spec: &spec,
        console_socket: console_socket.as_deref(),
        preserve_fds,
        no_pivot: p.has("no-pivot"),
        exec_fifo: with_fifo.then_some(fifo.as_path()),
    };
    let created = core::create(&req).map_err(|e| anyhow!("{e}"))?;
    undo.init = Some((created.pid, created.cgroup_path.clone()));
    let root_path = spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_else(|| "rootfs".into());
    let rec = Record {
        id: id.to_string(),
        init_pid: created.pid,
        init_start: created.pid_start,
        rootfs: if root_path.is_absolute() { root_path } else { bundle.join(root_path) },
        bundle,
        created: log::rfc3339(std::time::SystemTime::now(), true),
        annotations: spec.annotations().clone().unwrap_or_default(),
        config: spec,
        cgroup_path: created.cgroup_path,
        owner: owner_name(),
    };
    if let Some(pf) = &pid_file {
        pf.write(created.pid)?;
    }
    ctx.root.save(&rec)?;
    undo.armed = false;
    Ok(rec)
}

/// runc's rules: a terminal needs a console socket to hand its master
/// to (bocker-runc never keeps a pty itself, also not for a foreground
/// `run`), and a console socket needs a terminal.
pub fn check_terminal(spec: &Spec, console_socket: bool) -> Result<()> {
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    match (terminal, console_socket) {
        (true, false) => bail!("cannot allocate tty without setting console socket (process.terminal is true)"),
        (false, true) => bail!("cannot use console socket if the container will not allocate a tty (process.terminal is false)"),
        _ => Ok(()),
    }
}

/// The exec fifo, 0622 as runc makes it (whatever the umask).
fn make_fifo(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o622)).with_context(|| format!("mkfifo {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o622)).with_context(|| format!("chmod {}", path.display()))
}

/// Lets the init go: reads its one byte from the exec fifo. The open
/// and the wait never block past the init's death (non-blocking open,
/// poll with a timeout, the init checked between polls).
fn release(fifo: &Path, rec: &Record) -> Result<()> {
    use nix::fcntl::{open, OFlag};
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let fd = open(fifo, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .with_context(|| format!("open exec fifo {}", fifo.display()))?;
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        let n = poll(&mut fds, PollTimeout::from(100u16)).or_else(|e| if e == nix::errno::Errno::EINTR { Ok(0) } else { Err(e) })?;
        if n == 0 {
            // nothing yet: the init may be gone. (Checked only now: a
            // short-lived process can write its byte, exec and exit
            // before we look, and its byte still says it started.)
            if !init_alive(rec) {
                bail!("cannot start a container whose init has exited");
            }
            continue;
        }
        let mut b = [0u8; 1];
        match nix::unistd::read(&fd, &mut b) {
            Ok(1) => return Ok(()),
            Ok(_) => bail!("the container's init closed the exec fifo without starting"),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("read exec fifo"),
        }
    }
}

/// poststart hooks: failures are warnings (the container runs on).
pub fn poststart(ctx: &mut Ctx, rec: &Record) {
    let hooks = rec.config.hooks().as_ref().and_then(|h| h.poststart().clone()).unwrap_or_default();
    if hooks.is_empty() {
        return;
    }
    let state = ctx.root.oci_state(rec, OciStatus::Running);
    if let Err(e) = crate::runtime::hooks::run_all(&hooks, &state) {
        ctx.log.warn(&format!("poststart hook: {e}"));
    }
}
