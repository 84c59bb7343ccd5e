//! The CLI side of starting a container: re-execute bocker as the shim
//! (never fork the process that hosts Lua), then wait for it (foreground)
//! or for its "started" report (detached).
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

pub fn start(store: &Store, id: &str, detach: bool) -> Result<Started, RuntimeError> {
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
    let (mut cmd, _sealed) = crate::runtime::sealed_exe::monitor_command();
    cmd.arg("__shim").arg(store.root()).arg(id).arg(if detach { "detach" } else { "fg" });
    if detach {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| RuntimeError::Setup(format!("start shim: {e}")))?;
        crate::crashpoint::hit("start.spawned");
        let report = child.stdout.take().and_then(Message::receive);
        // The shim keeps running; reap it if it already exited. A process
        // that lives on (the API service) reaps it when it ends, or its
        // monitors would stay behind as zombies, one per start.
        if let Ok(None) = child.try_wait() {
            if REAP_DETACHED.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::thread::Builder::new().name("reap-monitor".into()).stack_size(64 * 1024).spawn(move || {
                    let _ = child.wait();
                });
            }
        }
        return Ok(match report {
            Some(Message::Started) => Started { status: 0, error: None },
            Some(Message::Failed { code, message }) => Started { status: code, error: Some(message) },
            Some(_) | None => {
                Started { status: 125, error: Some("the container monitor exited unexpectedly".into()) }
            }
        });
    }
    let _ignore = IgnoreSignals::new();
    reap_finished_monitors();
    // the monitor tells the exit on a pipe before its last deletes and its
    // exit: handed over as an inherited descriptor, so only while this is
    // the one thread (no other spawn can inherit it meanwhile)
    let report = if crate::sys::process::single_threaded() { exit_report_pipe() } else { None };
    if let Some((_, w)) = &report {
        cmd.arg(w.as_raw_fd().to_string());
    }
    let mut child = cmd.spawn().map_err(|e| RuntimeError::Setup(format!("start shim: {e}")))?;
    if let Some((r, w)) = report {
        drop(w);
        if let Some(Message::Exited { code }) = Message::receive(std::fs::File::from(r)) {
            crate::trace::mark("cli: exit reported");
            FINISHING.lock().unwrap_or_else(|e| e.into_inner()).push(child);
            return Ok(Started { status: code, error: None });
        }
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

/// A pipe whose write end (not close-on-exec) the monitor inherits.
fn exit_report_pipe() -> Option<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    crate::sys::fd::clear_cloexec(w.as_raw_fd()).ok()?;
    Some((r, w))
}
