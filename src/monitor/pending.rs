//! A monitor started ahead of its container (`__shim ROOT ID_SLOT pending
//! CONTROL REPORT`, started by `launch::prepare`): it waits until the CLI
//! names the container on the control pipe (`ID fg` or `ID detach`, then
//! the pipe's end), then
//! takes the standard streams and arguments a monitor spawned for that
//! container would have had, and runs as one. Its command line then names
//! the container as a spawned monitor's does (`ps`, `pgrep -f ID`): `ID
//! MODE` is written in place over `ID_SLOT pending CONTROL REPORT`.
use crate::sys::fd;
use crate::sys::signal;
use std::io::Read;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

/// The pending monitor's third argument (`__shim ROOT ID_SLOT pending
/// ...`): room for the container's id, written there once it is known.
pub const ID_SLOT: &str = "--------------------------------";

/// How the CLI runs the container it names.
#[derive(Debug, PartialEq)]
enum Mode {
    Foreground,
    Detached,
}

/// The control line: `ID MODE`. None for anything else (an id is one
/// word; `load_container` checks the rest).
fn parse_control(line: &str) -> Option<(&str, Mode)> {
    let (id, mode) = line.trim_end_matches('\n').split_once(' ')?;
    if id.is_empty() || id.contains(char::is_whitespace) || id.contains('/') {
        return None;
    }
    let mode = match mode {
        "fg" => Mode::Foreground,
        "detach" => Mode::Detached,
        _ => return None,
    };
    Some((id, mode))
}

/// Reads the control line (at most 256 bytes; one write by the CLI).
fn read_control(control: OwnedFd) -> Option<String> {
    let mut line = Vec::new();
    std::fs::File::from(control).take(256).read_to_end(&mut line).ok()?;
    String::from_utf8(line).ok()
}

fn inherited(args: &[String], at: usize) -> Option<OwnedFd> {
    let raw: RawFd = args.get(at)?.parse().ok().filter(|fd| *fd > 2)?;
    fd::adopt(raw).ok()
}

/// What the CLI told a pending monitor.
pub enum Told {
    /// The arguments of a monitor spawned for the container it named.
    Run(Vec<String>),
    /// Nothing: it closed the control pipe (its create failed, or it
    /// ended), so this monitor has nothing to do.
    Nothing,
    /// Something this monitor cannot act on (a bocker bug): the CLI must
    /// not take its end for the container's exit.
    Broken(String),
}

/// Waits for the container to be named.
pub fn wait_for_container(args: &[String]) -> Told {
    // A foreground CLI ignores the terminal's SIGINT and SIGQUIT while its
    // monitor runs, and the monitor inherits that. A Ctrl-C before the
    // container is named ends the CLI, whose exit closes the control pipe.
    let int = signal::ignore(libc::SIGINT);
    let quit = signal::ignore(libc::SIGQUIT);
    let (Some(control), Some(report)) = (inherited(args, 5), inherited(args, 6)) else {
        return Told::Broken("a pending monitor needs its control and report pipes".into());
    };
    let Some(line) = read_control(control) else { return Told::Broken("unreadable control pipe".into()) };
    if line.is_empty() {
        return Told::Nothing;
    }
    let Some((id, mode)) = parse_control(&line) else { return Told::Broken(format!("bad control line {line:?}")) };
    crate::trace::mark("monitor: container named");
    let word = match mode {
        Mode::Foreground => "fg",
        Mode::Detached => "detach",
    };
    crate::sys::process::rewrite_args(args, 3, &[id, word]);
    let root = args.get(2).cloned().unwrap_or_default();
    let argv0 = args.first().cloned().unwrap_or_default();
    match mode {
        Mode::Foreground => {
            // the exit report pipe, as `__shim`'s 6th argument
            let report = report.into_raw_fd();
            Told::Run(vec![argv0, "__shim".into(), root, id.into(), word.into(), report.to_string()])
        }
        Mode::Detached => {
            int.restore();
            quit.restore();
            // a detached monitor's stdin and stderr are /dev/null, its
            // stdout the pipe its report goes on
            let moved = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").and_then(|null| {
                fd::dup2(null.as_raw_fd(), 0)?;
                fd::dup2(report.as_raw_fd(), 1)?;
                fd::dup2(null.as_raw_fd(), 2)
            });
            match moved {
                Ok(()) => Told::Run(vec![argv0, "__shim".into(), root, id.into(), word.into()]),
                Err(e) => Told::Broken(format!("standard streams: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_control, Mode};

    #[test]
    fn the_control_line_names_one_container_and_a_mode() {
        assert_eq!(parse_control("ps_0123456789 fg\n"), Some(("ps_0123456789", Mode::Foreground)));
        assert_eq!(parse_control("ps_0123456789 detach\n"), Some(("ps_0123456789", Mode::Detached)));
        for bad in ["", "\n", "ps_1\n", "ps_1 bg\n", " fg\n", "ps_1  fg\n", "../x fg\n", "ps_1 fg extra\n"] {
            assert_eq!(parse_control(bad), None, "{bad:?}");
        }
    }
}
