//! `bocker-runc`: runc's command line on bocker's runtime, so podman
//! (through conmon, `--runtime`) and containerd (the runc v2 shim,
//! `--runc-binary`) can drive bocker. The binary is chosen by argv[0]
//! (a `bocker-runc` symlink to `bocker`); this process runs no Lua and
//! no tokio. The container work is `runtime::oci` (create, exec); here
//! are the flags, the state records, the status rules and the outputs.
pub mod args;
mod control;
mod exec;
mod info;
mod lifecycle;
pub mod log;
mod pidfile;
mod spec;
pub mod signal;
pub mod state;
mod update;

use anyhow::{bail, Context, Result};
use args::{flag, opt, Flag};
use std::path::Path;

/// What every command gets: the state root and the logger.
pub struct Ctx {
    pub root: state::Root,
    pub log: log::Logger,
}

const GLOBAL_FLAGS: &[Flag] = &[
    flag(&["debug"]),
    opt(&["log"]),
    opt(&["log-format"]),
    opt(&["root"]),
    opt(&["criu"]),
    flag(&["systemd-cgroup"]),
    opt(&["rootless"]),
    flag(&["help", "h"]),
    flag(&["version", "v"]),
];

/// The commands and their one-line usage (`--help`).
const COMMANDS: &[(&str, &str)] = &[
    ("create", "create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-pivot] [--no-new-keyring] ID"),
    ("start", "start ID"),
    ("run", "run [--bundle DIR] [--pid-file F] [--console-socket S] [--detach] [--preserve-fds N] [--no-pivot] [--keep] ID"),
    ("state", "state ID"),
    ("kill", "kill [--all] ID [SIGNAL]"),
    ("delete", "delete [--force] ID"),
    ("exec", "exec [--process F] [--tty] [--console-socket S] [--pid-file F] [--detach] [--env K=V]... [--cwd DIR] [--user UID[:GID]] [--additional-gids N]... [--cap CAP]... [--no-new-privs] [--preserve-fds N] ID [ARGS...]"),
    ("ps", "ps [--format table|json] ID [PS OPTIONS]"),
    ("pause", "pause ID"),
    ("resume", "resume ID"),
    ("list", "list [--format table|json] [--quiet]"),
    ("update", "update [--resources FILE|-] [--memory N] [--memory-reservation N] [--memory-swap N] [--cpu-shares N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus S] [--cpuset-mems S] [--pids-limit N] ID"),
    ("features", "features"),
    ("spec", "spec [--bundle DIR]"),
    ("events", "events (not supported by bocker-runc)"),
    ("checkpoint", "checkpoint (not supported by bocker-runc)"),
    ("restore", "restore (not supported by bocker-runc)"),
];

fn usage() -> String {
    let mut s = String::from(
        "bocker-runc: runc's command line on bocker's runtime\n\n\
         USAGE:\n   bocker-runc [global options] command [command options] [arguments...]\n\nCOMMANDS:\n",
    );
    for (_, u) in COMMANDS {
        s.push_str(&format!("   {u}\n"));
    }
    s.push_str(
        "\nGLOBAL OPTIONS:\n   --root DIR            state root (default: /run/bocker-runc)\n   \
         --log FILE            log file (default: stderr)\n   --log-format text|json\n   --debug\n   \
         --systemd-cgroup      refused: bocker has no systemd cgroup driver\n   --rootless false|auto\n   \
         --criu PATH           ignored\n   --help, -h\n   --version, -v\n",
    );
    s
}

fn version() -> String {
    format!(
        "bocker-runc version {v}\ncommit: bocker-{v}\nspec: {spec}\n",
        v = env!("CARGO_PKG_VERSION"),
        spec = state::OCI_VERSION
    )
}

/// Entry point for argv[0] == `bocker-runc`; returns the exit code
/// (1 for every error, as runc).
pub fn main(args: &[String]) -> u8 {
    let mut logger = log::Logger::default();
    match run(args.get(1..).unwrap_or(&[]), &mut logger) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&format!("{e:#}"));
            1
        }
    }
}

fn open_log(path: &str) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .with_context(|| format!("open log file {path}"))
}

fn run(args: &[String], logger: &mut log::Logger) -> Result<u8> {
    let g = args::parse(args, GLOBAL_FLAGS)?;
    logger.format = match g.value("log-format").unwrap_or("text") {
        "text" => log::Format::Text,
        "json" => log::Format::Json,
        other => bail!("invalid log-format: {other}"),
    };
    logger.debug = g.has("debug");
    if let Some(p) = g.value("log").filter(|p| !p.is_empty() && *p != "/dev/stderr") {
        logger.file = Some(open_log(p)?);
    }
    if g.has("version") {
        print!("{}", version());
        return Ok(0);
    }
    if g.has("systemd-cgroup") {
        bail!("--systemd-cgroup is not supported: bocker has no systemd cgroup driver (use cgroupfs paths)");
    }
    match g.value("rootless").unwrap_or("auto") {
        "false" | "auto" => {}
        "true" => bail!("--rootless=true is not supported: bocker-runc runs as root"),
        other => bail!("invalid value {other:?} for --rootless (true, false or auto)"),
    }
    let Some((cmd, rest)) = g.positional.split_first() else {
        print!("{}", usage());
        return Ok(if g.has("help") { 0 } else { 1 });
    };
    if g.has("help") || cmd == "help" || cmd == "h" {
        print!("{}", usage());
        return Ok(0);
    }
    let Some((_, cmd_usage)) = COMMANDS.iter().find(|(n, _)| n == cmd) else {
        bail!("unknown command {cmd:?} (see bocker-runc --help)");
    };
    if wants_help(rest) {
        println!("usage: bocker-runc {cmd_usage}");
        return Ok(0);
    }
    let root = Path::new(g.value("root").unwrap_or(state::DEFAULT_ROOT));
    let mut ctx = Ctx { root: state::Root::new(root), log: std::mem::take(logger) };
    ctx.log.debug(&format!("bocker-runc {cmd} {rest:?}"));
    let res = dispatch(&mut ctx, cmd, rest);
    *logger = ctx.log;
    res
}

/// `--help`/`-h` before the first positional argument.
fn wants_help(rest: &[String]) -> bool {
    rest.iter().take_while(|a| a.starts_with('-') && *a != "--").any(|a| matches!(a.as_str(), "--help" | "-h" | "-help"))
}

fn dispatch(ctx: &mut Ctx, cmd: &str, rest: &[String]) -> Result<u8> {
    match cmd {
        "create" => lifecycle::create(ctx, rest),
        "start" => lifecycle::start(ctx, rest),
        "run" => lifecycle::run(ctx, rest),
        "state" => info::state(ctx, rest),
        "list" => info::list(ctx, rest),
        "ps" => info::ps(ctx, rest),
        "kill" => control::kill(ctx, rest),
        "delete" => control::delete(ctx, rest),
        "pause" => control::pause(ctx, rest),
        "resume" => control::resume(ctx, rest),
        "exec" => exec::exec(ctx, rest),
        "update" => update::update(ctx, rest),
        "features" => spec::features(rest),
        "spec" => spec::spec(rest),
        other => bail!("{other} is not supported by bocker-runc"),
    }
}

/// The one container id a command takes (runc: exactly one argument).
pub(crate) fn one_id(p: &args::Parsed, cmd: &str) -> Result<String> {
    match p.positional.as_slice() {
        [id] => {
            state::validate_id(id)?;
            Ok(id.clone())
        }
        _ => bail!("{cmd:?} requires exactly 1 argument(s)"),
    }
}
