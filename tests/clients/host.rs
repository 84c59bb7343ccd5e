//! What the tests read from and tidy up on the host: commands with a time
//! limit, mounts under a folder, cgroups under a parent, processes.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a teardown found that the clients had not removed themselves.
#[derive(Debug, Default)]
pub struct Leftovers {
    pub mounts: Vec<PathBuf>,
    pub cgroups: Vec<PathBuf>,
    pub processes: Vec<(i32, String)>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.mounts.is_empty() && self.cgroups.is_empty() && self.processes.is_empty()
    }
}

/// Runs `cmd` (stdin from /dev/null) and returns its output; a command that
/// outlives `limit` is killed and the test fails (a hung runtime must not
/// hang the suite).
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
    let out = reader(child.stdout.take().expect("piped stdout"));
    let err = reader(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(st) => break st,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let got = out.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
                let got_err = err.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
                panic!("{shown} took more than {limit:?}\nstdout: {}\nstderr: {}", crate::common::text(&got), crate::common::text(&got_err));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    // a daemon the command started may hold its pipes: give up on them then
    let rest = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(2));
    let stdout = out.recv_timeout(rest).unwrap_or_default();
    let stderr = err.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    Output { status, stdout, stderr }
}

fn reader(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Runs `cmd` on a terminal of its own (`script -qec LINE /dev/null`: a pty
/// for its stdio, the command's exit code returned); stdout holds what the
/// terminal showed (lines end in \r\n).
pub fn output_in_pty(cmd: &Command, limit: Duration) -> Output {
    output_within(Command::new("script").args(["-qec", &shell_line(cmd), "/dev/null"]), limit)
}

/// `cmd` as one sh command line: its environment settings, then the program
/// and arguments, each quoted.
pub fn shell_line(cmd: &Command) -> String {
    let mut line: Vec<String> = cmd.get_envs().filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, sh_quote(v?.to_str()?)))).collect();
    line.push(sh_quote(&cmd.get_program().to_string_lossy()));
    line.extend(cmd.get_args().map(|a| sh_quote(&a.to_string_lossy())));
    line.join(" ")
}

/// `arg` quoted for sh.
pub fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', "'\\''"))
}

/// Mount points at or below `dir`, deepest (latest) first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    found.reverse();
    found
}

/// Detaches every mount at or below `dir`; returns those it found.
pub fn unmount_under(dir: &Path) -> Vec<PathBuf> {
    let found = mounts_under(dir);
    for m in &found {
        let Ok(c) = std::ffi::CString::new(m.as_os_str().as_encoded_bytes()) else { continue };
        // SAFETY: c is a valid NUL-terminated path; umount2 only reads it.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    found
}

/// The cgroup hierarchies: /sys/fs/cgroup itself on a pure v2 host, else
/// each v1 controller (and the unified/named ones) mounted below it.
fn hierarchies() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return vec![base.to_path_buf()];
    }
    let Ok(rd) = std::fs::read_dir(base) else { return Vec::new() };
    rd.flatten().map(|e| e.path()).filter(|p| p.is_dir() && !p.is_symlink()).collect()
}

/// The cgroup folders named `rel` (e.g. "/parent") in any hierarchy.
pub fn cgroups_named(rel: &str) -> Vec<PathBuf> {
    hierarchies().into_iter().map(|h| h.join(rel.trim_start_matches('/'))).filter(|p| p.is_dir()).collect()
}

/// The cgroup folders below `rel` (not `rel` itself), deepest first.
pub fn cgroup_children(rel: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for top in cgroups_named(rel) {
        collect_dirs(&top, &mut out);
    }
    out
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_dirs(&p, out);
            out.push(p);
        }
    }
}

/// Removes the cgroup `rel` and everything below it in every hierarchy;
/// returns the folders that would not go (a process still inside).
pub fn remove_cgroup_tree(rel: &str) -> Vec<PathBuf> {
    let mut dirs = cgroup_children(rel);
    dirs.extend(cgroups_named(rel));
    // processes still inside are the test's own (the name is unique to it)
    for d in &dirs {
        for pid in std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default().lines() {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                kill_pid(pid);
            }
        }
    }
    for d in &dirs {
        // a cgroup that was just emptied can refuse briefly (EBUSY)
        for _ in 0..20 {
            if std::fs::remove_dir(d).is_ok() || !d.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    dirs.into_iter().filter(|d| d.exists()).collect()
}

/// The memory limit the host's cgroup files hold for process `pid`
/// (v1 memory.limit_in_bytes, v2 memory.max), as text.
pub fn memory_limit_of(pid: u32) -> Option<String> {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if ctrls.split(',').any(|c| c == "memory") {
            return std::fs::read_to_string(Path::new("/sys/fs/cgroup/memory").join(path).join("memory.limit_in_bytes")).ok();
        }
        if ctrls.is_empty() && Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            return std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(path).join("memory.max")).ok();
        }
    }
    None
}

/// Processes whose command line contains `needle` (as pid, command line).
pub fn processes_with(needle: &str) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else { return out };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else { continue };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(needle) && pid != std::process::id() as i32 {
            out.push((pid, line.trim_end().to_string()));
        }
    }
    out
}

/// Sends SIGKILL to `pid` (a process this test started, directly or not).
pub fn kill_pid(pid: i32) {
    // SAFETY: kill(2) with a plain pid and signal number; no memory involved.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
