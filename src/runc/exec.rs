//! `exec`: a process in a running container, from `--process FILE` (the
//! runtime-spec's process JSON, as containerd and conmon pass it) or from
//! the container's own process with the command line's changes.
use super::args::{self, flag, opt, Flag, Parsed};
use super::pidfile::PidFile;
use super::state::{validate_id, Record};
use super::Ctx;
use crate::runtime::oci_state::OciStatus;
use crate::runtime::oci::{self as core, ExecRequest};
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{Capability, Process};
use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;

const EXEC_FLAGS: &[Flag] = &[
    opt(&["process", "p"]),
    flag(&["tty", "t"]),
    opt(&["console-socket"]),
    opt(&["pid-file"]),
    flag(&["detach", "d"]),
    opt(&["env", "e"]),
    opt(&["cwd"]),
    opt(&["user", "u"]),
    opt(&["additional-gids", "g"]),
    opt(&["cap", "c"]),
    flag(&["no-new-privs"]),
    opt(&["preserve-fds"]),
    opt(&["process-label"]),
    opt(&["apparmor"]),
    flag(&["ignore-paused"]),
    opt(&["cgroup"]),
];

/// Signals a foreground exec passes on to its process.
const FORWARDED: &[libc::c_int] =
    &[libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH];

pub fn exec(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, EXEC_FLAGS)?;
    let Some((id, cmd)) = p.positional.split_first() else {
        bail!("\"exec\" requires a minimum of 1 argument(s)");
    };
    validate_id(id)?;
    for refused in ["process-label", "apparmor", "cgroup"] {
        if p.value(refused).is_some_and(|v| !v.is_empty()) {
            bail!("exec --{refused} is not supported by bocker-runc");
        }
    }
    let rec = ctx.root.load(id)?;
    match ctx.root.status(&rec) {
        OciStatus::Running => {}
        OciStatus::Paused => bail!("cannot exec in a paused container"),
        OciStatus::Stopped => bail!("cannot exec in a stopped container"),
        OciStatus::Created | OciStatus::Creating => bail!("cannot exec in a container that has not started"),
    }
    let process = build_process(&p, &rec, cmd)?;
    let pid_file = p.value("pid-file").map(|f| PidFile::prepare(std::path::Path::new(f))).transpose()?;
    let console_socket = p.value("console-socket").map(PathBuf::from);
    match (process.terminal().unwrap_or(false), console_socket.is_some()) {
        (true, false) => bail!("cannot allocate tty without setting console socket"),
        (false, true) => bail!("cannot use console socket if the process will not allocate a tty"),
        _ => {}
    }
    let req = ExecRequest {
        pid: rec.init_pid,
        spec: &rec.config,
        process: &process,
        cgroup_path: &rec.cgroup_path,
        console_socket: console_socket.as_deref(),
        preserve_fds: p.number::<u32>("preserve-fds")?.unwrap_or(0),
    };
    let pid = core::exec(&req).map_err(|e| anyhow!("{e}"))?;
    if let Some(pf) = &pid_file {
        pf.write(pid)?;
    }
    if p.has("detach") {
        return Ok(0);
    }
    crate::runtime::process::forward_signals(pid, FORWARDED);
    let code = crate::runtime::process::wait_exit(nix::unistd::Pid::from_raw(pid)).unwrap_or(255);
    Ok(u8::try_from(code).unwrap_or(255))
}

/// The process to run: the file's, or the container's with the flags' changes.
pub fn build_process(p: &Parsed, rec: &Record, cmd: &[String]) -> Result<Process> {
    if let Some(file) = p.value("process") {
        let text = std::fs::read_to_string(file).with_context(|| format!("read process file {file}"))?;
        return serde_json::from_str(&text).with_context(|| format!("{file}: invalid process"));
    }
    if cmd.is_empty() {
        bail!("exec args cannot be empty");
    }
    let mut proc = rec.config.process().clone().unwrap_or_default();
    proc.set_args(Some(cmd.to_vec()));
    let mut env = proc.env().clone().unwrap_or_default();
    env.extend(p.values("env").iter().cloned());
    proc.set_env(Some(env));
    if let Some(cwd) = p.value("cwd") {
        proc.set_cwd(cwd.into());
    }
    proc.set_terminal(Some(p.has("tty")));
    if p.has("no-new-privs") {
        proc.set_no_new_privileges(Some(true));
    }
    let mut user = proc.user().clone();
    if let Some(u) = p.value("user") {
        let (uid, gid) = parse_user(u)?;
        user.set_uid(uid);
        if let Some(g) = gid {
            user.set_gid(g);
        }
    }
    let gids = p
        .values("additional-gids")
        .iter()
        .map(|g| g.parse::<u32>().map_err(|_| anyhow!("invalid additional-gids value {g:?}")))
        .collect::<Result<Vec<u32>>>()?;
    if !gids.is_empty() {
        user.set_additional_gids(Some(gids));
    }
    proc.set_user(user);
    let caps = p.values("cap");
    if !caps.is_empty() {
        add_caps(&mut proc, caps)?;
    }
    Ok(proc)
}

/// `UID[:GID]`, numbers only (as runc's exec).
pub fn parse_user(s: &str) -> Result<(u32, Option<u32>)> {
    let num = |v: &str| v.parse::<u32>().map_err(|_| anyhow!("invalid --user {s:?}: UID[:GID] must be numbers"));
    match s.split_once(':') {
        Some((u, g)) => Ok((num(u)?, Some(num(g)?))),
        None => Ok((num(s)?, None)),
    }
}

/// runc's `--cap`: added to the bounding, effective and permitted sets.
fn add_caps(proc: &mut Process, caps: &[String]) -> Result<()> {
    let parsed = caps
        .iter()
        .map(|c| {
            let name = crate::runtime::caps::normalize_name(c).map_err(|e| anyhow!(e))?;
            Capability::from_str(&name).map_err(|_| anyhow!("invalid capability: {c}"))
        })
        .collect::<Result<Vec<Capability>>>()?;
    let mut set = proc.capabilities().clone().unwrap_or_default();
    let add = |s: &Option<HashSet<Capability>>| -> Option<HashSet<Capability>> {
        let mut s = s.clone().unwrap_or_default();
        s.extend(parsed.iter().copied());
        Some(s)
    };
    set.set_bounding(add(set.bounding()));
    set.set_effective(add(set.effective()));
    set.set_permitted(add(set.permitted()));
    proc.set_capabilities(Some(set));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        assert_eq!(parse_user("33").expect("uid"), (33, None));
        assert_eq!(parse_user("33:44").expect("uid:gid"), (33, Some(44)));
        assert!(parse_user("www").is_err());
        assert!(parse_user("1:").is_err());
    }
}
