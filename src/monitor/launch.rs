//! The CLI side of starting a container: re-execute bocker as the shim
//! (never fork the process that hosts Lua), then wait for it (foreground)
//! or for its "started" report (detached). `run` starts the monitor ahead
//! ([`prepare`]): its exec and start run on the other CPU while the CLI
//! still creates the container, and [`start`] then only tells it which.
use crate::runtime::message::Message;
use crate::state::containers::Status;
use crate::runtime::RuntimeError;
use crate::state::Store;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;

/// Outcome of a start: the exit status, and a message when bocker or the
/// exec failed (already printed by the shim in the foreground case).
pub struct Started {
    pub status: i32,
    pub error: Option<String>,
}

struct IgnoreSignals([Option<crate::sys::signal::Saved>; 2]);
impl IgnoreSignals {
    fn new() -> Self {
        IgnoreSignals([Some(crate::sys::signal::ignore(libc::SIGINT)), Some(crate::sys::signal::ignore(libc::SIGQUIT))])
    }
}
impl Drop for IgnoreSignals {
    fn drop(&mut self) {
        for saved in self.0.iter_mut().filter_map(Option::take) {
            saved.restore();
        }
    }
}

/// Whether this process outlives the monitors it starts detached (see
/// [`reap_detached_monitors`]).
static REAP_DETACHED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called by a process that lives on after starting containers (the API
/// service): each detached monitor it starts is waited for by a small
/// thread, so none is left a zombie. A CLI run exits instead, and its
/// monitors are reaped by init.
pub fn reap_detached_monitors() {
    REAP_DETACHED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A monitor started before its container exists (`__shim ROOT ID_SLOT
/// pending CONTROL REPORT`, `super::pending`): it waits on the control
/// pipe for the line `ID fg` or `ID detach`, then runs as one spawned for
/// that container would. Dropped unused (the create failed), its control
/// pipe closes and it exits.
pub struct Pending {
    child: std::process::Child,
    control: std::fs::File,
    report: OwnedFd,
    root: std::path::PathBuf,
}

/// Starts a monitor ahead of its container, for the store `store`. None
/// where a later start could not use it: in a process that may have other
/// threads (a pipe end meant for the monitor could leak into their
/// children) or that lives on (the API service).
pub fn prepare(store: &Store) -> Option<Pending> {
    if REAP_DETACHED.load(std::sync::atomic::Ordering::Relaxed) || !crate::sys::process::single_threaded() {
        return None;
    }
    let (control_r, control_w) = inherited_pipe(Inherit::ReadEnd)?;
    let (report_r, report_w) = inherited_pipe(Inherit::WriteEnd)?;
    let (mut cmd, _sealed) = crate::runtime::sealed_exe::monitor_command();
    cmd.arg("__shim").arg(store.root()).arg(super::pending::ID_SLOT).arg("pending");
    cmd.arg(control_r.as_raw_fd().to_string()).arg(report_w.as_raw_fd().to_string());
    let child = cmd.spawn().ok()?;
    crate::trace::mark("cli: monitor started ahead");
    // the child's ends are the child's alone now
    drop((control_r, report_w));
    Some(Pending { child, control: std::fs::File::from(control_w), report: report_r, root: store.root().to_path_buf() })
}

impl Pending {
    /// Tells the monitor its container: the monitor and its report pipe,
    /// or None if it is gone (then it is reaped, and the start spawns one).
    fn hand_over(self, id: &str, detach: bool) -> Option<(std::process::Child, std::fs::File)> {
        use std::io::Write;
        let Pending { mut child, control, report, .. } = self;
        let line = format!("{id} {}\n", if detach { "detach" } else { "fg" });
        // one write of a short line: the pipe keeps it whole
        if (&control).write_all(line.as_bytes()).is_err() {
            let _ = child.wait();
            return None;
        }
        Some((child, std::fs::File::from(report)))
    }

    /// Ends an unused monitor: its control pipe closes, it exits, and it
    /// is reaped (a long-lived Lua state does not collect zombies).
    pub fn discard(self) {
        let Pending { mut child, control, .. } = self;
        drop(control);
        let _ = child.wait();
    }
}

enum Inherit {
    ReadEnd,
    WriteEnd,
}

/// A pipe, close-on-exec but for the end a child inherits.
fn inherited_pipe(end: Inherit) -> Option<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    let child_end = match end {
        Inherit::ReadEnd => &r,
        Inherit::WriteEnd => &w,
    };
    crate::sys::fd::clear_cloexec(child_end.as_raw_fd()).ok()?;
    Some((r, w))
}

pub fn start(store: &Store, id: &str, detach: bool, pending: Option<Pending>) -> Result<Started, RuntimeError> {
    // one monitor per container: a running one is not started twice (the
    // lock makes the check and the start one step for concurrent starts)
    let _lock = crate::state::lock::Lock::exclusive(&store.container_dir(id).join(".start.lock"))?;
    crate::container::reclaim(store, id).map_err(|e| RuntimeError::Setup(e.to_string()))?;
    let now = crate::container::live_state(store, id).map(|s| s.status).unwrap_or_default();
    if now == Status::Restarting {
        return Err(RuntimeError::Setup(format!("container {id} is restarting: its monitor runs it again after a backoff (stop it first)")));
    }
    if !now.can_become(Status::Running) {
        return Err(RuntimeError::Setup(format!("container {id} is already running")));
    }
    // a start by the user: its restart policy applies again
    store.clear_user_stopped(id);
    crate::trace::mark("cli: record checked, start monitor");
    let handed = match pending {
        Some(p) if p.root == store.root() => p.hand_over(id, detach),
        // started for another store: of no use here
        Some(p) => {
            p.discard();
            None
        }
        None => None,
    };
    if detach {
        let (child, report) = match handed {
            Some(h) => h,
            None => {
                let (mut cmd, _sealed) = crate::runtime::sealed_exe::monitor_command();
                cmd.arg("__shim").arg(store.root()).arg(id).arg("detach");
                cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
                let mut child = cmd.spawn().map_err(|e| RuntimeError::Setup(format!("start shim: {e}")))?;
                let Some(out) = child.stdout.take() else { return Err(RuntimeError::Setup("start shim: no stdout".into())) };
                (child, std::fs::File::from(OwnedFd::from(out)))
            }
        };
        crate::crashpoint::hit("start.spawned");
        return Ok(detached_report(child, report));
    }
    let _ignore = IgnoreSignals::new();
    reap_finished_monitors();
    let (child, report) = match handed {
        Some((child, report)) => (child, Some(report)),
        None => {
            let (mut cmd, _sealed) = crate::runtime::sealed_exe::monitor_command();
            cmd.arg("__shim").arg(store.root()).arg(id).arg("fg");
            // the monitor tells the exit on a pipe before its last deletes and its
            // exit: handed over as an inherited descriptor, so only while this is
            // the one thread (no other spawn can inherit it meanwhile)
            let report = if crate::sys::process::single_threaded() { inherited_pipe(Inherit::WriteEnd) } else { None };
            if let Some((_, w)) = &report {
                cmd.arg(w.as_raw_fd().to_string());
            }
            let child = cmd.spawn().map_err(|e| RuntimeError::Setup(format!("start shim: {e}")))?;
            (child, report.map(|(r, _w)| std::fs::File::from(r)))
        }
    };
    wait_foreground(child, report)
}

/// A detached monitor's report: started, or why not. The monitor keeps
/// running; it is reaped here if it already exited. A process that lives
/// on (the API service) reaps it when it ends, or its monitors would stay
/// behind as zombies, one per start.
fn detached_report(mut child: std::process::Child, report: std::fs::File) -> Started {
    let report = Message::receive(report);
    if let Ok(None) = child.try_wait() {
        if REAP_DETACHED.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = std::thread::Builder::new().name("reap-monitor".into()).stack_size(64 * 1024).spawn(move || {
                let _ = child.wait();
            });
        }
    }
    match report {
        Some(Message::Started) => Started { status: 0, error: None },
        Some(Message::Failed { code, message }) => Started { status: code, error: Some(message) },
        Some(_) | None => Started { status: 125, error: Some("the container monitor exited unexpectedly".into()) },
    }
}

/// A foreground monitor's end: its report of the container's exit (the
/// monitor still deletes the container's files, and is reaped later), or
/// without one its own exit status.
fn wait_foreground(mut child: std::process::Child, report: Option<std::fs::File>) -> Result<Started, RuntimeError> {
    if let Some(Message::Exited { code }) = report.and_then(Message::receive) {
        crate::trace::mark("cli: exit reported");
        FINISHING.lock().unwrap_or_else(|e| e.into_inner()).push(child);
        return Ok(Started { status: code, error: None });
    }
    let status = child.wait().map_err(|e| RuntimeError::Setup(format!("wait for shim: {e}")))?;
    crate::trace::mark("cli: monitor exited");
    use std::os::unix::process::ExitStatusExt;
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(Started { status: code, error: None })
}

/// Foreground monitors that reported their container's exit and still
/// delete its files: reaped by the next start of this process (a CLI's
/// exit leaves them to init).
static FINISHING: std::sync::Mutex<Vec<std::process::Child>> = std::sync::Mutex::new(Vec::new());

fn reap_finished_monitors() {
    FINISHING.lock().unwrap_or_else(|e| e.into_inner()).retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}
