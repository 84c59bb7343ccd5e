//! The DNS responder of user networks (see `net::names` for the records
//! it answers from). One process for the host (`bocker-monitor __dns
//! serve`), started by `ensure` when none runs and gone when no record is
//! left; it answers on the gateway address of every bridge that has
//! records (UDP and TCP port 53), only to containers of those records.
//!
//! Contract (for callers in network setup): after publishing a record,
//! call `ensure()`; it returns once the responder has read the records as
//! they are now (so it answers on the new gateway). Records withdrawn
//! later need no call: the responder watches the folder.
//!
//! Files: `wire` (the DNS codec), `table` (records → who may ask, names per
//! network), `answer` (one packet → reply, forward or drop), `upstream`
//! (resolv.conf, TCP forwarding), `server` (the poll loop).
pub mod answer;
pub mod server;
pub mod table;
pub mod upstream;
pub mod wire;

use super::error::{NetError, Result};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The hidden entry of the responder's process: `__dns serve|start|ensure ARGS`.
pub const ENTRY_ARG: &str = "__dns";

/// Where the responder keeps its files, where it listens and what it
/// forwards to: the host's values, or a test's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `records/` (the name records), `start.lock`, `responder.pid`,
    /// `control.sock`, `responder.log`
    pub run_dir: PathBuf,
    /// the port answered on every gateway (53)
    pub port: u16,
    /// the host's resolver configuration, for names of the world
    pub resolv_conf: PathBuf,
}

impl Config {
    /// The host's responder: /run/bocker/dns, port 53, /etc/resolv.conf.
    pub fn host() -> Config {
        let records = super::names::records_dir();
        let run_dir = records.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/run/bocker/dns"));
        Config { run_dir, port: 53, resolv_conf: PathBuf::from("/etc/resolv.conf") }
    }
    pub fn records_dir(&self) -> PathBuf {
        self.run_dir.join("records")
    }
    /// Held by `ensure` while it checks and starts, and by an exiting
    /// responder: never two responders, never one exiting under a caller.
    pub fn lock_path(&self) -> PathBuf {
        self.run_dir.join("start.lock")
    }
    /// The running responder's pid, flocked by it.
    pub fn pid_path(&self) -> PathBuf {
        self.run_dir.join("responder.pid")
    }
    pub fn control_path(&self) -> PathBuf {
        self.run_dir.join("control.sock")
    }
    pub fn log_path(&self) -> PathBuf {
        self.run_dir.join("responder.log")
    }

    fn to_args(&self) -> Vec<String> {
        vec!["--run-dir".into(), self.run_dir.display().to_string(), "--port".into(), self.port.to_string(), "--resolv-conf".into(), self.resolv_conf.display().to_string()]
    }

    fn from_args(args: &[String]) -> std::result::Result<Config, String> {
        let mut cfg = Config::host();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--run-dir" => cfg.run_dir = PathBuf::from(value),
                "--port" => cfg.port = value.parse().map_err(|_| format!("bad port {value:?}"))?,
                "--resolv-conf" => cfg.resolv_conf = PathBuf::from(value),
                other => return Err(format!("unknown flag {other:?}")),
            }
        }
        Ok(cfg)
    }
}

/// Starts the host's responder unless it runs; returns once it answers.
pub fn ensure() -> Result<()> {
    ensure_with(&Config::host()).map(|_| ())
}

/// `ensure` for any configuration; returns the responder's status line
/// (its pid and the gateways it listens on).
pub fn ensure_with(cfg: &Config) -> Result<String> {
    std::fs::create_dir_all(&cfg.run_dir).map_err(|e| NetError::io(format!("creating {}", cfg.run_dir.display()), e))?;
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(cfg.lock_path()).map_err(|e| NetError::io(format!("opening {}", cfg.lock_path().display()), e))?;
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| NetError::io(format!("locking {}", cfg.lock_path().display()), e.into()))?;
    if let Ok(status) = server::sync(cfg) {
        return Ok(status);
    }
    // none answers: start one (through a launcher process, so that the
    // responder is nobody's child but init's once the launcher exits)
    let mut cmd = responder_command();
    let out = cmd.arg(ENTRY_ARG).arg("start").args(cfg.to_args()).stdin(Stdio::null()).output().map_err(|e| NetError::io("starting the dns responder", e))?;
    if !out.status.success() {
        return Err(NetError::Dns(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    server::sync(cfg).map_err(|e| NetError::Dns(format!("started, but does not answer: {e}")))
}

/// The monitor binary beside the running one (the responder is small
/// there), else the running binary itself.
fn responder_command() -> Command {
    let beside = std::fs::read_link("/proc/self/exe").ok().and_then(|exe| Some(exe.parent()?.join(crate::MONITOR_BINARY))).filter(|p| p.is_file());
    match beside {
        Some(p) => {
            let mut c = Command::new(p);
            c.env(crate::BUILD_ID_ENV, crate::BUILD_ID);
            c
        }
        None => Command::new("/proc/self/exe"),
    }
}

/// The hidden entry; `args` are the words after `__dns`.
pub fn main(args: &[String]) -> u8 {
    let Some((verb, rest)) = args.split_first() else {
        eprintln!("usage: {ENTRY_ARG} serve|start|ensure [--run-dir DIR] [--port N] [--resolv-conf FILE]");
        return 2;
    };
    let cfg = match Config::from_args(rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bocker dns: {e}");
            return 2;
        }
    };
    match verb.as_str() {
        "serve" => serve(cfg),
        "start" => start(&cfg),
        "ensure" => match ensure_with(&cfg) {
            Ok(status) => {
                println!("{status}");
                0
            }
            Err(e) => {
                eprintln!("bocker dns: {e}");
                1
            }
        },
        other => {
            eprintln!("bocker dns: unknown command {other:?}");
            2
        }
    }
}

/// The launcher: starts the responder, waits for its "ready", exits.
fn start(cfg: &Config) -> u8 {
    let _ = crate::sys::fd::close_range(3, u32::MAX);
    let log = match std::fs::OpenOptions::new().create(true).write(true).truncate(true).open(cfg.log_path()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("bocker dns: {}: {e}", cfg.log_path().display());
            return 1;
        }
    };
    let spawned = Command::new("/proc/self/exe").arg(ENTRY_ARG).arg("serve").args(cfg.to_args()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log).spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bocker dns: starting the responder: {e}");
            return 1;
        }
    };
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    if line.trim() == "ready" {
        return 0;
    }
    let _ = child.wait();
    let why = std::fs::read_to_string(cfg.log_path()).unwrap_or_default();
    eprintln!("the dns responder did not start: {}", why.trim());
    1
}

/// The responder: its own session, the pid file locked, everything
/// opened, "ready" on stdout, then the loop.
fn serve(cfg: Config) -> u8 {
    // nothing of the caller's (a monitor's pipes) may stay open in a
    // process that outlives it
    let _ = crate::sys::fd::close_range(3, u32::MAX);
    let _ = nix::unistd::setsid();
    let _ = std::env::set_current_dir("/");
    let pid_file = match std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(cfg.pid_path()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("bocker dns: {}: {e}", cfg.pid_path().display());
            return 1;
        }
    };
    let pid_lock = match nix::fcntl::Flock::lock(pid_file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(l) => l,
        Err(_) => {
            eprintln!("bocker dns: a responder runs already ({})", cfg.pid_path().display());
            return 1;
        }
    };
    let _ = pid_lock.set_len(0);
    let _ = (&*pid_lock).write_all(format!("{}\n", std::process::id()).as_bytes());
    let server = match server::Server::new(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bocker dns: {e}");
            return 1;
        }
    };
    println!("ready");
    let _ = std::io::stdout().flush();
    // the launcher is gone after "ready": stdout to /dev/null
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = crate::sys::fd::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1);
    }
    let code = match server.run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bocker dns: {e}");
            1
        }
    };
    drop(pid_lock);
    code
}
