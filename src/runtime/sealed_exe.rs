//! The binary the runtime re-executes as the monitor (`__shim`) and the
//! exec helper (`__exec`), sealed so that nothing in a container can write
//! to bocker's host binary through /proc/PID/exe (runc's CVE-2019-5736).
//! First choice: a detached read-only bind mount of our own executable
//! (open_tree + mount_setattr: no copy, a few microseconds); where the
//! new mount API is missing, a sealed memfd copy (as runc did).
use std::fs::File;
use std::io;
use crate::sys;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// A close-on-exec fd of bocker's executable that cannot be written
/// through; exec it as `/proc/self/fd/N`.
pub fn sealed_self() -> io::Result<OwnedFd> {
    readonly_mount().or_else(|_| memfd_copy())
}

fn readonly_mount() -> io::Result<OwnedFd> {
    readonly_mount_of(c"/proc/self/exe")
}

/// A detached read-only bind mount of one file.
fn readonly_mount_of(path: &std::ffi::CStr) -> io::Result<OwnedFd> {
    let fd = sys::mount::open_tree_clone(path)?;
    sys::mount::set_readonly(fd.as_fd())?;
    Ok(fd)
}

fn memfd_copy() -> io::Result<OwnedFd> {
    let mut mem = File::from(sys::fd::memfd_create(c"bocker", libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)?);
    io::copy(&mut File::open("/proc/self/exe")?, &mut mem)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    sys::fd::add_seals(mem.as_fd(), seals)?;
    Ok(mem.into())
}

/// A Command that runs sealed bocker (falls back to the plain binary only
/// if neither way works, which the kernels we support never hit).
pub fn command() -> (std::process::Command, Option<OwnedFd>) {
    match sealed_self() {
        Ok(fd) => {
            let mut cmd = std::process::Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()));
            cmd.arg0("bocker");
            (cmd, Some(fd))
        }
        Err(_) => (std::process::Command::new(super::self_exe()), None),
    }
}

pub use crate::{BUILD_ID_ENV, MONITOR_BINARY};

/// `bocker-monitor` beside the running binary, sealed as [`command`]
/// seals bocker, with this build's id in its environment; bocker itself
/// when there is none (a binary copied alone).
pub fn monitor_command() -> (std::process::Command, Option<OwnedFd>) {
    let beside = std::fs::read_link("/proc/self/exe").ok().and_then(|exe| Some(exe.parent()?.join(MONITOR_BINARY)));
    let sealed = beside
        .filter(|p| p.is_file())
        .and_then(|p| std::ffi::CString::new(p.into_os_string().into_encoded_bytes()).ok())
        .and_then(|c| readonly_mount_of(&c).ok());
    match sealed {
        Some(fd) => {
            let mut cmd = std::process::Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()));
            cmd.arg0(MONITOR_BINARY).env(BUILD_ID_ENV, crate::BUILD_ID);
            (cmd, Some(fd))
        }
        None => command(),
    }
}

use std::os::unix::process::CommandExt;

#[cfg(test)]
mod tests {
    #[test]
    fn sealed_binary_refuses_writes() {
        // a file that is not running (writes to a running one fail with
        // ETXTBSY before the mount's read-only flag is even checked)
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("exe");
        std::fs::write(&f, b"#!/bin/sh\n").unwrap();
        let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
        assert!(super::readonly_mount().is_ok() || !nix::unistd::geteuid().is_root());
        for fd in [super::readonly_mount_of(&c), super::memfd_copy()] {
            let Ok(fd) = fd else { continue }; // not root: nothing to check
            let p = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
            // refused at open (read-only mount) or at write (sealed memfd)
            let e = match std::fs::OpenOptions::new().write(true).open(&p) {
                Err(e) => e,
                Ok(mut f) => std::io::Write::write(&mut f, b"x").unwrap_err(),
            };
            assert!(matches!(e.raw_os_error(), Some(libc::EROFS) | Some(libc::EPERM)), "{e}");
        }
    }
}
