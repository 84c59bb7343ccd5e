//! Running an exec instance (`state::execs`) for a client: the exec
//! helper (`runtime::exec`, the same confinement as `bocker exec`) on
//! stdio of ours — pipes, or with a terminal a host pty whose slave is the
//! helper's stdio (the helper relays it to the terminal it makes in the
//! container, and copies its size on SIGWINCH, which is how a resize
//! reaches it) — relayed to the client by `super::relay`. The record
//! follows: started, running with the process's host pid, the exit code.
use super::detach_keys::Matcher;
use super::relay::{relay, Outcome, RelayOpts, Sink, Upstream, WaitCheck};
use crate::mux::FrameStream;
use crate::runtime::exec::ExecSpec;
use crate::state::execs::ExecRecord;
use crate::state::Store;
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::{Child, Stdio};
use std::sync::Mutex;

/// The terminals of the execs this process runs: exec id → (our pty
/// master, the helper's pid), for `resize`.
static TERMINALS: Mutex<BTreeMap<String, (OwnedFd, i32)>> = Mutex::new(BTreeMap::new());

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Failed(String),
}

/// The client an exec runs for: where its output goes, its input.
pub struct ExecClient<'a> {
    pub sink: &'a mut dyn Sink,
    pub input: Option<RawFd>,
    pub preread: Vec<u8>,
    pub detach_keys: Option<Matcher>,
}

/// Starts the exec `exec_id`; with a client, relays until the process ends
/// or the client detaches or leaves (the process then runs on, recorded
/// by a thread of this process). Returns how the relay ended and the exit
/// code when known.
pub fn start(store: &Store, exec_id: &str, client: Option<ExecClient>) -> Result<(Outcome, Option<i32>), ExecError> {
    let mut rec = store.load_exec(exec_id).map_err(|e| ExecError::NotFound(e.to_string()))?;
    if rec.started {
        return Err(ExecError::Conflict(format!("Exec command {exec_id} has already run")));
    }
    let info = crate::container::inspect(store, &rec.container).map_err(|e| ExecError::NotFound(e.to_string()))?;
    if !info.running {
        return Err(ExecError::Conflict(format!("Container {} is not running", rec.container)));
    }
    if info.paused {
        return Err(ExecError::Conflict(format!("Container {} is paused, unpause the container before exec", rec.container)));
    }
    let with_input = client.as_ref().is_some_and(|c| c.input.is_some()) && rec.attach_stdin;
    let spec = ExecSpec {
        args: rec.args.clone(),
        env: rec.env.clone(),
        workdir: rec.workdir.clone(),
        user: rec.user.clone(),
        tty: rec.tty,
        interactive: with_input,
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| ExecError::Failed(format!("exec: {what}: {e}"));
    let (mut cmd, sealed) = crate::runtime::exec::helper_command(store, &rec.container, &spec).map_err(|e| fail("helper", &e))?;
    let attached = client.is_some();
    // our ends: the process's outputs and where its input goes
    let mut outputs: Vec<(OwnedFd, FrameStream)> = Vec::new();
    let mut stdin: Option<OwnedFd> = None;
    let mut master_copy = None;
    if !attached {
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    } else if rec.tty {
        let (master, slave) = crate::runtime::term::open_pty().map_err(|e| fail("pty", &e))?;
        let dup = |f: &OwnedFd| f.try_clone().map_err(|e| fail("pty", &e));
        cmd.stdin(Stdio::from(dup(&slave)?)).stdout(Stdio::from(dup(&slave)?)).stderr(Stdio::from(slave));
        master_copy = Some(dup(&master)?);
        stdin = Some(dup(&master)?);
        outputs.push((master, FrameStream::Stdout));
    } else {
        let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| fail("pipe", &e));
        if with_input {
            let (r, w) = pipe()?;
            cmd.stdin(Stdio::from(r));
            stdin = Some(w);
        } else {
            cmd.stdin(Stdio::null());
        }
        for (wanted, stream) in [(rec.attach_stdout, FrameStream::Stdout), (rec.attach_stderr, FrameStream::Stderr)] {
            let slot = if wanted {
                let (r, w) = pipe()?;
                outputs.push((r, stream));
                Stdio::from(w)
            } else {
                Stdio::null()
            };
            if stream == FrameStream::Stdout {
                cmd.stdout(slot);
            } else {
                cmd.stderr(slot);
            }
        }
    }
    let spawned = cmd.spawn();
    // the child's ends live in `cmd`: only the helper may hold them now
    drop(cmd);
    drop(sealed);
    let mut child = spawned.map_err(|e| fail("start exec helper", &e))?;
    let helper = child.id() as i32;
    if let Some(m) = master_copy {
        if let Ok(mut t) = TERMINALS.lock() {
            t.insert(rec.id.clone(), (m, helper));
        }
    }
    rec.started = true;
    rec.running = true;
    rec.pid = find_child(helper, std::time::Duration::from_millis(300));
    rec.pid_start = rec.pid.and_then(crate::state::containers::process_start_time);
    let _ = store.save_exec(&rec);
    let Some(c) = client else {
        wait_in_background(store.clone(), rec, child);
        return Ok((Outcome::Detached, None));
    };
    let outcome = if outputs.is_empty() && stdin.is_none() {
        Outcome::Ended(None)
    } else {
        let never = || WaitCheck::Running;
        let input = if with_input { c.input } else { None };
        let opts = RelayOpts { input, client: c.input, preread: if with_input { c.preread } else { Vec::new() }, detach: c.detach_keys, waiting: &never, tick: None };
        relay(Upstream::Process { outputs, stdin, close_stdin: !rec.tty }, c.sink, opts)
    };
    match outcome {
        Outcome::Ended(_) => {
            let code = wait_helper(&mut child);
            finish(store, &mut rec, code);
            Ok((Outcome::Ended(Some(code)), Some(code)))
        }
        other => {
            wait_in_background(store.clone(), rec, child);
            Ok((other, None))
        }
    }
}

fn wait_helper(child: &mut Child) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match child.wait() {
        Ok(st) => st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)),
        Err(_) => 125,
    }
}

fn finish(store: &Store, rec: &mut ExecRecord, code: i32) {
    if let Ok(mut t) = TERMINALS.lock() {
        t.remove(&rec.id);
    }
    rec.running = false;
    rec.exit_code = Some(code);
    let _ = store.save_exec(rec);
}

/// A detached (or left) exec: a thread of this process waits for it and
/// records its exit.
fn wait_in_background(store: Store, mut rec: ExecRecord, mut child: Child) {
    let _ = std::thread::Builder::new().name("exec-wait".into()).spawn(move || {
        let code = wait_helper(&mut child);
        finish(&store, &mut rec, code);
    });
}

/// The child the helper forked into the container (its process, as the
/// host sees it), found by its parent pid.
fn find_child(parent: i32, within: std::time::Duration) -> Option<i32> {
    let end = std::time::Instant::now() + within;
    loop {
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
                // field 4: the parent's pid
                if crate::sys::process::stat_field(&pid.to_string(), 4) == Some(parent as u64) {
                    return Some(pid);
                }
            }
        }
        if std::time::Instant::now() >= end {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Sets the terminal size of an exec this process runs.
pub fn resize(exec_id: &str, rows: u16, cols: u16) -> Result<(), ExecError> {
    let t = TERMINALS.lock().map_err(|_| ExecError::Failed("exec terminals: poisoned".into()))?;
    let Some((master, helper)) = t.get(exec_id) else {
        return Err(ExecError::NotFound(format!("No such exec instance with a terminal running here: {exec_id}")));
    };
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    crate::sys::term::set_winsize(master.as_raw_fd(), &ws).map_err(|e| ExecError::Failed(format!("resize: {e}")))?;
    // the helper copies the new size to the container's terminal
    let _ = crate::sys::process::kill(*helper, libc::SIGWINCH);
    Ok(())
}
