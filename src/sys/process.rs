//! Process syscalls: signals to a pid, ids, limits, prctl, exit and exec.

use super::check;
use std::ffi::{CStr, CString};
use std::io;

/// `kill(pid, sig)`.
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill touches no memory of ours (async-signal-safe).
    check(unsafe { libc::kill(pid, sig) })
}

/// Ends the process at once (`_exit`): no destructors, no atexit, no
/// stdio flush (for forked children).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// `struct clone_args` of clone3(2), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3's flag (linux/sched.h); libc declares it as a 32-bit int.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Which side of [`fork_into_cgroup`] this is.
pub enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// `clone3` used as fork (no CLONE_VM, no stack of its own: the child goes
/// on from here in a copy of this process), with the namespace flags
/// `ns_flags` (CLONE_NEW*), the child born in the cgroup v2 folder `cgroup`
/// (CLONE_INTO_CGROUP). In the child, `cgroup` is closed on return. Being born there takes none of the locks that
/// writing its pid to cgroup.procs takes: that write waits for an RCU
/// grace period when no other move happened lately (14.5 ms against 0.2 ms
/// here: docs/BENCHMARKS.md). Errors: ENOSYS before Linux 5.3, E2BIG or
/// EINVAL before 5.7 (no CLONE_INTO_CGROUP).
///
/// # Safety
/// The caller must be single-threaded (as for fork: no other thread can
/// hold a lock the child would need), and the child must end with
/// [`exit_now`], never returning into the caller's frames.
pub unsafe fn fork_into_cgroup(ns_flags: u64, cgroup: std::os::fd::BorrowedFd<'_>) -> io::Result<Forked> {
    use std::os::fd::AsRawFd;
    let args = CloneArgs {
        flags: ns_flags | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed, alive for
    // the call; without CLONE_VM and without a stack the child runs on its
    // own copy of this address space, returning from this very call as a
    // fork's child does; the caller is single-threaded (our contract).
    let rc = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
    match rc {
        r if r < 0 => Err(io::Error::last_os_error()),
        0 => {
            // the child has no use for the host's cgroup folder: closed
            // before anything can read a path an image chose (a host
            // folder left open was runc's CVE-2024-21626)
            super::fd::close_raw(cgroup.as_raw_fd());
            Ok(Forked::Child)
        }
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// A fork: born in the cgroup v2 folder `cgroup` when given
/// ([`fork_into_cgroup`] without namespace flags), else plain `fork(2)`.
///
/// # Safety
/// As for [`fork_into_cgroup`]: a single-threaded caller, and a child that
/// ends with [`exit_now`] or an exec.
pub unsafe fn fork_in(cgroup: Option<std::os::fd::BorrowedFd<'_>>) -> io::Result<Forked> {
    if let Some(fd) = cgroup {
        // SAFETY: our caller's contract is fork_into_cgroup's.
        return unsafe { fork_into_cgroup(0, fd) };
    }
    // SAFETY: fork in a single-threaded process (our caller's contract).
    match unsafe { libc::fork() } {
        r if r < 0 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Whether a child can be born in `cgroup` (clone3 with CLONE_INTO_CGROUP
/// works here: Linux 5.7, and no seccomp filter of an outer container
/// refusing clone3): a child is made there and exits at once.
pub fn can_fork_into_cgroup(cgroup: std::os::fd::BorrowedFd<'_>) -> bool {
    // SAFETY: the child only calls _exit (async-signal-safe, so any number
    // of threads in this process is fine).
    match unsafe { fork_into_cgroup(0, cgroup) } {
        Ok(Forked::Child) => exit_now(0),
        Ok(Forked::Parent(pid)) => {
            let mut status = 0;
            // SAFETY: our own child's pid and a writable int.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            true
        }
        Err(_) => false,
    }
}

/// Whether this process has one thread (its `Threads:` in /proc/self/status).
pub fn single_threaded() -> bool {
    // `Threads:` is in the first kilobyte; the whole record is ~1.5 kB
    let mut buf = [0u8; 4096];
    super::fs::read_once(c"/proc/self/status", &mut buf)
        .ok()
        .and_then(|s| s.split(|&b| b == b'\n').find_map(|l| l.strip_prefix(b"Threads:").map(|n| n.trim_ascii() == b"1")))
        .unwrap_or(false)
}

/// The fields of /proc/PID/stat from field 3 on, after the process name
/// (which may hold spaces and parentheses: field 3 follows the last `)`);
/// `pid` is a pid or `self`. None if the process is gone.
pub fn stat_after_name(pid: &str) -> Option<String> {
    let path = std::ffi::CString::new(format!("/proc/{pid}/stat")).ok()?;
    // the line is a few hundred bytes (comm is at most 16): one read
    let mut buf = [0u8; 1024];
    let stat = super::fs::read_once(&path, &mut buf).ok()?;
    let rest = stat.get(stat.iter().rposition(|&b| b == b')')? + 2..)?;
    Some(String::from_utf8_lossy(rest).trim_end().to_string())
}

/// Fields `ns` (numbered from 1, as in proc_pid_stat(5); numbers after the
/// process name, so each >= 3) of /proc/PID/stat, read once.
pub fn stat_fields<const N: usize>(pid: &str, ns: [usize; N]) -> Option<[u64; N]> {
    let rest = stat_after_name(pid)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    let mut out = [0u64; N];
    for (o, n) in out.iter_mut().zip(ns) {
        *o = fields.get(n.checked_sub(3)?)?.parse().ok()?;
    }
    Some(out)
}

/// Field `n` of /proc/PID/stat ([`stat_fields`]).
pub fn stat_field(pid: &str, n: usize) -> Option<u64> {
    stat_fields(pid, [n]).map(|[v]| v)
}

/// Writes `new` over the arguments from `from` to the last of this
/// process's command line, in place (what /proc/PID/cmdline and `ps`
/// show), padded with NULs; false, leaving them, unless those arguments
/// are still as the process got them (`args`) and `new` takes no more room.
pub fn rewrite_args(args: &[String], from: usize, new: &[&str]) -> bool {
    // arg_start and arg_end
    let Some([start, end]) = stat_fields("self", [48, 49]) else { return false };
    let Some(old) = args.get(from..).filter(|a| !a.is_empty()) else { return false };
    let old = old.join("\0");
    let new = new.join("\0");
    if new.len() > old.len() {
        return false;
    }
    let offset: usize = args[..from].iter().map(|a| a.len() + 1).sum();
    let Some(at) = (start as usize).checked_add(offset) else { return false };
    if at.checked_add(old.len()).is_none_or(|e| e > end as usize) {
        return false;
    }
    let area = at as *mut u8;
    // SAFETY: [arg_start, arg_end) is this process's own argument area
    // (the kernel's bounds, from /proc/self/stat), mapped and writable (the
    // top of the main stack); the bytes at `at` are checked to be the
    // arguments `old` before any is written, and no more than its length
    // is written. No Rust reference points into that area: std copies the
    // arguments out.
    unsafe {
        if std::slice::from_raw_parts(area, old.len()) != old.as_bytes() {
            return false;
        }
        std::ptr::copy_nonoverlapping(new.as_ptr(), area, new.len());
        std::ptr::write_bytes(area.add(new.len()), 0, old.len() - new.len());
    }
    true
}

/// `prctl(PR_SET_DUMPABLE, on)`: off keeps other processes (the
/// container's) from opening this one through /proc.
pub fn set_dumpable(on: bool) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) })
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: `sig` arrives when the parent thread dies.
pub fn set_parent_death_signal(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) })
}

/// `setresgid(0,0,0)` then `setresuid(0,0,0)`: root of the current user
/// namespace.
pub fn become_root() -> io::Result<()> {
    // SAFETY: id syscalls with integer arguments only.
    check(unsafe { libc::setresgid(0, 0, 0) })?;
    // SAFETY: as above.
    check(unsafe { libc::setresuid(0, 0, 0) })
}

/// `setgroups(groups)`, then `setgid(gid)`, then `setuid(uid)`; stops at
/// the first failure.
pub fn set_ids(groups: &[libc::gid_t], gid: libc::gid_t, uid: libc::uid_t) -> io::Result<()> {
    // SAFETY: `groups` is a valid array of its length; the rest are integers.
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })?;
    // SAFETY: integer argument only.
    check(unsafe { libc::setgid(gid) })?;
    // SAFETY: integer argument only.
    check(unsafe { libc::setuid(uid) })
}

/// `setrlimit(resource, {soft, hard})`.
pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: a valid rlimit that outlives the call.
    check(unsafe { libc::setrlimit(resource as _, &lim) })
}

/// `umask(mask)` (never fails).
pub fn umask(mask: libc::mode_t) {
    // SAFETY: umask touches no memory.
    unsafe { libc::umask(mask) };
}

/// `execve(program, argv, envp)`; returns only on failure, with the errno.
/// (Allocates the two pointer arrays.)
pub fn execve(program: &CStr, args: &[CString], env: &[CString]) -> io::Error {
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of NUL-terminated strings, all
    // outliving the call (which replaces the process on success).
    unsafe { libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// A cgroup v2 folder of its own: under the host's cgroup2 mount when
    /// there is one, else under a private mount of the (controller-less)
    /// v2 hierarchy of a v1 host. Removed, and unmounted, on drop.
    struct TestGroup {
        dir: std::path::PathBuf,
        mounted: Option<tempfile::TempDir>,
    }

    impl TestGroup {
        fn new() -> TestGroup {
            let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
            let v2 = mounts.lines().map(|l| l.split(' ').collect::<Vec<_>>()).find(|f| f.len() > 2 && f[2] == "cgroup2").map(|f| f[1].to_string());
            let name = format!("bocker-test-clone3-{}", std::process::id());
            match v2 {
                Some(root) => {
                    // a cgroup2 mount (v2, or a hybrid host's unified
                    // hierarchy): a folder under its root
                    let dir = std::path::Path::new(&root).join(name);
                    std::fs::create_dir(&dir).unwrap();
                    TestGroup { dir, mounted: None }
                }
                None => {
                    let t = tempfile::tempdir().unwrap();
                    let ok = std::process::Command::new("mount").args(["-t", "cgroup2", "none"]).arg(t.path()).status().unwrap().success();
                    assert!(ok, "mount cgroup2");
                    let dir = t.path().join(name);
                    std::fs::create_dir(&dir).unwrap();
                    TestGroup { dir, mounted: Some(t) }
                }
            }
        }
    }

    impl Drop for TestGroup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.dir);
            if let Some(t) = &self.mounted {
                let _ = std::process::Command::new("umount").arg(t.path()).status();
            }
        }
    }

    #[test]
    fn stat_fields_after_the_name() {
        // field 4 is the parent's pid; 1 and 2 (pid, name) are not numbers after it
        assert_eq!(stat_field("self", 4), Some(nix::unistd::getppid().as_raw() as u64));
        assert_eq!(stat_field("self", 2), None);
        assert!(stat_field("self", 48).unwrap() < stat_field("self", 49).unwrap(), "arg_start < arg_end");
        assert_eq!(stat_field(&i32::MAX.to_string(), 4), None);
    }

    #[test]
    fn a_process_name_that_looks_like_fields_is_skipped() {
        // the name is the program's to choose (a container's process
        // reads as this one): parentheses and numbers in it change nothing
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("x) 7 8 (y");
        std::os::unix::fs::symlink("/bin/sleep", &exe).unwrap();
        let mut child = std::process::Command::new(&exe).arg("5").spawn().unwrap();
        let pid = child.id().to_string();
        let t = std::time::Instant::now();
        // the name is set at exec: wait for it
        while !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap().contains("(x) 7 8 (y)") {
            assert!(t.elapsed() < std::time::Duration::from_secs(5));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(stat_field(&pid, 4), Some(std::process::id() as u64));
        assert!(stat_after_name(&pid).unwrap().starts_with(['R', 'S', 'D']));
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn arguments_are_rewritten_only_over_themselves_and_never_longer() {
        let args: Vec<String> = std::env::args().collect();
        let cmdline = || std::fs::read("/proc/self/cmdline").unwrap();
        let before = cmdline();
        let same: Vec<&str> = args.iter().map(String::as_str).collect();
        // the same bytes over them all: done, and nothing changed
        assert!(rewrite_args(&args, 0, &same));
        assert_eq!(cmdline(), before);
        // other arguments than the process's, longer, or none: refused
        let mut other = args.clone();
        other[0].push_str("-not");
        assert!(!rewrite_args(&other, 0, &["x"]));
        let longer = format!("{}-longer", same.join(" "));
        assert!(!rewrite_args(&args, 0, &[&longer]));
        assert!(!rewrite_args(&args, args.len(), &[]));
        assert_eq!(cmdline(), before);
    }

    #[test]
    fn a_child_is_born_in_the_cgroup() {
        let g = TestGroup::new();
        let dir = std::fs::File::open(&g.dir).unwrap();
        let name = g.dir.file_name().unwrap().to_string_lossy().into_owned();
        // the test harness has threads, but the child only reads a file
        // and _exits (no lock of another thread is needed)
        // SAFETY: see above; the child ends in exit_now.
        match unsafe { fork_into_cgroup(0, dir.as_fd()) }.expect("clone3 (Linux >= 5.7)") {
            Forked::Child => {
                let mine = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
                let born_there = mine.lines().any(|l| l.starts_with("0::") && l.ends_with(&format!("/{name}")));
                exit_now(if born_there { 0 } else { 3 })
            }
            Forked::Parent(pid) => {
                let mut status = 0;
                // SAFETY: a pid we created and a writable int.
                assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child was not in {name}: {status:#x}");
            }
        }
    }
}
