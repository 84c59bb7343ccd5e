//! Every raw syscall of bocker, each behind a small safe function.
//!
//! The rule (issue #12): a `libc::` call that needs `unsafe` lives here, in
//! the file of its family, wrapped in a function with a doc line and a
//! `// SAFETY:` comment that says why the call is sound; it returns
//! `io::Result` with the kernel's errno kept. Where nix has a safe
//! function, callers use nix directly. The rest of `src/` holds no
//! `unsafe` except the few cases listed in [`tests::ALLOWED`] (a `clone`
//! with a closure, a `fork`, a `pre_exec`: code that runs in a child
//! before exec and cannot be wrapped as a safe function), and the test
//! below keeps it so.
//!
//! Everything here is async-signal-safe unless its doc says otherwise
//! (no allocation, no lock: only the syscall and errno), so the init and
//! forked children may call it between clone/fork and exec.

pub mod bpf;
pub mod caps;
pub mod fd;
pub mod fs;
pub mod mem;
pub mod mount;
pub mod net;
pub mod ns;
pub mod process;
pub mod random;
pub mod seccomp;
pub mod signal;
pub mod term;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// `Ok(())` for a syscall's non-negative return, else the errno.
fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A syscall's non-negative `long` return (a count), else the errno.
fn check_len(rc: isize) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// A descriptor just returned by a syscall, owned from now on; else the errno.
fn owned(rc: libc::c_long) -> io::Result<OwnedFd> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: a non-negative return of an fd-creating syscall is a new
        // descriptor that nothing else in this process owns.
        Ok(unsafe { OwnedFd::from_raw_fd(rc as libc::c_int) })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Files outside src/sys/ that may hold `unsafe`, with how many times
    /// the word appears in each, and why it cannot move here.
    pub const ALLOWED: &[(&str, usize, &str)] = &[
        // nix::sched::clone runs a closure in the child: the closure's
        // captures (spec, pipes) live in spawn.rs
        ("src/runtime/spawn.rs", 2, "clone of the init with a closure, or clone3 into its cgroup"),
        // fork() of a multi-purpose process: the child's code is the caller's
        ("src/runtime/exec.rs", 1, "fork of bocker exec's child"),
        ("src/runtime/oci.rs", 1, "fork of bocker-runc exec's child"),
        ("src/runtime/reaper.rs", 1, "fork of --init's command (the init stays as the reaper)"),
        // Command::pre_exec runs its closure between fork and exec
        ("src/net/ports.rs", 1, "pre_exec of the port proxy (death signal, fd 3, session)"),
        // not a syscall: mlua's constructor that allows the debug library
        ("src/lua/mod.rs", 1, "Lua::unsafe_new_with (the debug library)"),
        // tests that fork a child doing raw async-signal-safe work
        ("src/runtime/seccomp/tests.rs", 3, "test: a forked child loads a filter"),
        ("src/cgroup/devices_bpf.rs", 2, "test: a forked child inside a device-policed cgroup"),
    ];

    fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rs_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// How often the keyword `unsafe` appears in code (comments and
    /// string literals on a line are not counted).
    fn unsafe_count(text: &str) -> usize {
        text.lines()
            .map(|l| {
                let code = l.split("//").next().unwrap_or("");
                let code: String = code.split('"').step_by(2).collect();
                code.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| *w == "unsafe").count()
            })
            .sum()
    }

    #[test]
    fn unsafe_lives_in_src_sys_only() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rs_files(&root.join("src"), &mut files);
        assert!(files.len() > 20, "found only {} source files", files.len());
        let mut wrong = Vec::new();
        for f in files {
            let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel.starts_with("src/sys/") {
                continue;
            }
            let n = unsafe_count(&std::fs::read_to_string(&f).unwrap());
            let allowed = ALLOWED.iter().find(|(p, _, _)| *p == rel).map_or(0, |(_, n, _)| *n);
            if n != allowed {
                wrong.push(format!("{rel}: {n} unsafe (allowed {allowed})"));
            }
        }
        assert!(wrong.is_empty(), "raw syscalls belong in src/sys/ (see its mod.rs); fix or update ALLOWED:\n{}", wrong.join("\n"));
    }

    #[test]
    fn the_counter_sees_code_not_comments() {
        assert_eq!(unsafe_count("let x = unsafe { f() }; // unsafe\nlet s = \"unsafe\";\nunsafe_new(); unsafe fn g() {}"), 2);
    }
}
