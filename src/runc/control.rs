//! `kill`, `delete`, `pause`, `resume`, and `destroy` (what delete and
//! a foreground run's end share: every process killed, the cgroup
//! removed, poststop hooks, the record gone).
use super::args::{self, flag};
use super::state::{cgroup_of, init_alive, NotExist, Record};
use super::{one_id, signal, Ctx};
use crate::runtime::oci_state::OciStatus;
use anyhow::{bail, Result};
use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// How long delete waits for the container's processes to go.
const GONE_TIMEOUT: Duration = Duration::from_secs(10);

fn status_name(s: OciStatus) -> &'static str {
    match s {
        OciStatus::Creating => "creating",
        OciStatus::Created => "created",
        OciStatus::Running => "running",
        OciStatus::Stopped => "stopped",
        OciStatus::Paused => "paused",
    }
}

/// Sends `sig`, a process that is already gone is no error.
fn signal_pid(pid: i32, sig: Signal) -> Result<()> {
    match send(Pid::from_raw(pid), sig) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => bail!("kill {pid}: {e}"),
    }
}

pub fn kill(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let mut p = args::parse(rest, &[flag(&["all", "a"])])?;
    let sig = match p.positional.len() {
        1 => Signal::SIGTERM,
        2 => signal::parse(&p.positional.pop().unwrap_or_default())?,
        _ => bail!("\"kill\" requires a minimum of 1 and a maximum of 2 argument(s)"),
    };
    let id = one_id(&p, "kill")?;
    let rec = ctx.root.load(&id)?;
    if ctx.root.status(&rec) == OciStatus::Stopped {
        bail!("container not running");
    }
    if !p.has("all") {
        signal_pid(rec.init_pid, sig)?;
        return Ok(0);
    }
    // --all: every process of the cgroup, frozen meanwhile so none forks
    // away (as runc); a paused container stays paused unless killed
    let cg = cgroup_of(&rec)?;
    let was_frozen = cg.is_frozen();
    if !was_frozen {
        cg.freeze()?;
    }
    let res = cg.processes().into_iter().try_for_each(|pid| signal_pid(pid as i32, sig));
    if !was_frozen || sig == Signal::SIGKILL {
        cg.thaw()?;
    }
    res.map(|()| 0)
}

pub fn delete(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[flag(&["force", "f"])])?;
    let id = one_id(&p, "delete")?;
    let force = p.has("force");
    match ctx.root.load(&id) {
        Err(e) if force && e.downcast_ref::<NotExist>().is_some() => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let _lock = ctx.root.lock(&id)?;
    let rec = match ctx.root.load(&id) {
        Err(e) if force && e.downcast_ref::<NotExist>().is_some() => return Ok(0),
        other => other?,
    };
    let status = ctx.root.status(&rec);
    if matches!(status, OciStatus::Running | OciStatus::Paused) && !force {
        bail!("cannot delete container {id} that is not stopped: {}", status_name(status));
    }
    destroy(ctx, &rec)?;
    Ok(0)
}

/// Kills every process of the container (thawing a frozen cgroup so
/// SIGKILL lands), waits until they are gone, removes the cgroup, runs
/// the poststop hooks (failures are warnings) and removes the record.
/// The caller holds the container's lock.
pub fn destroy(ctx: &mut Ctx, rec: &Record) -> Result<()> {
    let cg = cgroup_of(rec)?;
    if init_alive(rec) {
        signal_pid(rec.init_pid, Signal::SIGKILL)?;
    }
    let start = Instant::now();
    loop {
        let pids = if cg.exists() { cg.processes() } else { Vec::new() };
        for pid in &pids {
            signal_pid(*pid as i32, Signal::SIGKILL)?;
        }
        if cg.exists() && cg.is_frozen() {
            cg.thaw()?;
        }
        // the init may be our child (run): reap it so it leaves no zombie
        let _ = nix::sys::wait::waitpid(Pid::from_raw(rec.init_pid), Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        if pids.is_empty() && !init_alive(rec) {
            break;
        }
        if start.elapsed() > GONE_TIMEOUT {
            bail!("container {}: processes still running after {} s", rec.id, GONE_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cg.delete()?;
    let hooks = rec.config.hooks().as_ref().and_then(|h| h.poststop().clone()).unwrap_or_default();
    if !hooks.is_empty() {
        let state = ctx.root.oci_state(rec, OciStatus::Stopped);
        if let Err(e) = crate::runtime::hooks::run_all(&hooks, &state) {
            ctx.log.warn(&format!("poststop hook: {e}"));
        }
    }
    ctx.root.remove(&rec.id)
}

pub fn pause(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[])?;
    let id = one_id(&p, "pause")?;
    ctx.root.load(&id)?;
    let _lock = ctx.root.lock(&id)?;
    let rec = ctx.root.load(&id)?;
    match ctx.root.status(&rec) {
        OciStatus::Running => cgroup_of(&rec)?.freeze()?,
        OciStatus::Paused => bail!("container already paused"),
        _ => bail!("container not running"),
    }
    Ok(0)
}

pub fn resume(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[])?;
    let id = one_id(&p, "resume")?;
    ctx.root.load(&id)?;
    let _lock = ctx.root.lock(&id)?;
    let rec = ctx.root.load(&id)?;
    match ctx.root.status(&rec) {
        OciStatus::Paused => cgroup_of(&rec)?.thaw()?,
        _ => bail!("container not paused"),
    }
    Ok(0)
}
