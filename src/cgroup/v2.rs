//! cgroup v2 by direct file writes, every function taking the hierarchy's
//! root as a `Path` (so the logic runs against a fake tree in a tempdir,
//! and against the hybrid `/sys/fs/cgroup/unified` mount of a v1 host).
//!
//! Why not cgroups-rs here: its v2 support hard-codes `/sys/fs/cgroup` as
//! the root, builds its controller list from the *root's*
//! `cgroup.controllers` (so it writes files that do not exist in a
//! cgroup whose parent did not delegate a controller), and
//! `create` writes `+ctrl` to every ancestor's `cgroup.subtree_control`
//! ignoring every error (no read-first, no no-internal-processes check, no
//! name of the cgroup that broke the rule). The v2 files themselves are
//! one value each; plain reads and writes are shorter than adapting it.
//!
//! Layout: a container's cgroup is the leaf `ROOT/PARENT/<id>`; every
//! ancestor from ROOT down to PARENT gets the wanted controllers in its
//! `cgroup.subtree_control` (`delegate`). The parent is shared by all
//! containers and never removed.
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Controllers a container cgroup uses, when the kernel offers them.
pub const WANTED: [&str; 4] = ["cpu", "memory", "pids", "io"];
/// Controllers an OCI container's cgroup uses (cpuset too: OCI cpu.cpus/mems).
pub const WANTED_OCI: [&str; 5] = ["cpu", "cpuset", "memory", "pids", "io"];

#[derive(Debug, thiserror::Error)]
pub enum V2Error {
    #[error("{path}: {what}: {source}")]
    Io { path: PathBuf, what: &'static str, source: std::io::Error },
    #[error(
        "{0} holds processes, so its subtree cannot get controllers (cgroup v2's no-internal-processes rule); \
         move them to a leaf cgroup or choose another BOCKER_CGROUP_PARENT"
    )]
    InternalProcesses(PathBuf),
    #[error("{path}: not frozen after {secs} s (cgroup.events never said frozen 1)")]
    FreezeTimeout { path: PathBuf, secs: u64 },
}

type Result<T> = std::result::Result<T, V2Error>;

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> V2Error + 'a {
    move |source| V2Error::Io { path: path.to_path_buf(), what, source }
}

fn read(path: &Path, what: &'static str) -> Result<String> {
    std::fs::read_to_string(path).map_err(io(path, what))
}

/// Writes one value with a single write(2), as the kernel wants
/// (O_TRUNC as runc opens them; kernfs ignores it, a fake file honours it).
fn write(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
}

fn write_ctx(path: &Path, value: &str, what: &'static str) -> Result<()> {
    write(path, value).map_err(io(path, what))
}

/// The controllers `cgroup.subtree_control` must gain: those wanted that
/// the cgroup offers (`cgroup.controllers`) and are not enabled yet.
/// Pure: the contents of the two files in, `+`-less names out, in
/// `wanted` order. Never anything to remove.
pub fn controllers_to_enable(wanted: &[&str], controllers: &str, subtree_control: &str) -> Vec<String> {
    let offered: Vec<&str> = controllers.split_whitespace().collect();
    let enabled: Vec<&str> = subtree_control.split_whitespace().collect();
    wanted
        .iter()
        .filter(|w| offered.contains(w) && !enabled.contains(w))
        .map(|w| w.to_string())
        .collect()
}

/// The directories from `root` down to `root/parent`, root first.
pub fn ancestors(root: &Path, parent: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut p = root.to_path_buf();
    for c in parent.components() {
        if let std::path::Component::Normal(n) = c {
            p.push(n);
            out.push(p.clone());
        }
    }
    out
}

fn has_processes(dir: &Path) -> Result<bool> {
    Ok(!read(&dir.join("cgroup.procs"), "read cgroup.procs")?.trim().is_empty())
}

fn mkdir(dir: &Path) -> Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        // another bocker made it first (or a run before us)
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(V2Error::Io { path: dir.to_path_buf(), what: "create cgroup", source: e }),
    }
}

/// Enables one controller in `dir`'s subtree_control. Racing bockers
/// enabling the same one both succeed (the kernel serializes the writes
/// and `+x` of an enabled x is a no-op); EBUSY (a process still being
/// moved out, or a racing disable elsewhere) is retried, and counts as
/// done if the controller is enabled when we look again.
fn enable(dir: &Path, ctrl: &str) -> Result<()> {
    let file = dir.join("cgroup.subtree_control");
    let mut last = None;
    for i in 0..50 {
        match write(&file, &format!("+{ctrl}")) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => last = Some(e),
            Err(e) => return Err(V2Error::Io { path: file, what: "enable controller", source: e }),
        }
        if read(&file, "read cgroup.subtree_control")?.split_whitespace().any(|c| c == ctrl) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(if i < 10 { 1 } else { 10 }));
    }
    match last {
        Some(e) => Err(V2Error::Io { path: file, what: "enable controller (busy)", source: e }),
        None => Ok(()),
    }
}

/// Makes `root/parent` (and the folders above it) and delegates the
/// wanted controllers down to it: in every ancestor, root first, reads
/// `cgroup.controllers` and `cgroup.subtree_control` and adds only what
/// is missing. A non-root ancestor holding processes is an error naming
/// it (the root is exempt from the no-internal-processes rule). Returns
/// what the parent's children get (its subtree_control afterwards).
pub fn delegate(root: &Path, parent: &Path, wanted: &[&str]) -> Result<Vec<String>> {
    let chain = ancestors(root, parent);
    let mut granted = Vec::new();
    for (i, dir) in chain.iter().enumerate() {
        if i > 0 {
            mkdir(dir)?;
            if has_processes(dir)? {
                return Err(V2Error::InternalProcesses(dir.clone()));
            }
        }
        let offered = read(&dir.join("cgroup.controllers"), "read cgroup.controllers")?;
        let enabled = read(&dir.join("cgroup.subtree_control"), "read cgroup.subtree_control")?;
        let missing = controllers_to_enable(wanted, &offered, &enabled);
        for c in &missing {
            enable(dir, c)?;
        }
        granted = enabled.split_whitespace().map(str::to_string).chain(missing).collect();
    }
    Ok(granted)
}

/// Docker's swap rule as v2 wants it. Docker's `--memory M` without
/// `--memory-swap` means memory+swap = 2M; v2 limits swap alone, so
/// `memory.swap.max` = (memory+swap) − memory. `memory_swap` -1 is
/// unlimited (`max`); no memory limit leaves swap alone (None).
pub fn swap_max(memory: i64, memory_swap: Option<i64>) -> Option<String> {
    if memory <= 0 {
        return None;
    }
    match memory_swap {
        Some(-1) => Some("max".into()),
        Some(total) if total > 0 => Some(total.saturating_sub(memory).max(0).to_string()),
        _ => Some(memory.saturating_mul(2).saturating_sub(memory).to_string()),
    }
}

/// One container's leaf cgroup.
#[derive(Debug, Clone)]
pub struct Group {
    pub dir: PathBuf,
}

/// Limits in v2 terms, written to the leaf's files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub cpu_weight: Option<u64>,
    /// memory.max: bytes, or None for max
    pub memory_max: Option<i64>,
    pub swap_max: Option<String>,
    /// pids.max: None is not written, negative is max
    pub pids_max: Option<i64>,
    /// memory.low (OCI memory.reservation)
    pub memory_low: Option<i64>,
    /// cpu.max as written: "QUOTA PERIOD", "max PERIOD"
    pub cpu_max: Option<String>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
}

/// A byte or count limit as v2 writes it: negative is `max`.
fn limit_value(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

impl Group {
    pub fn new(root: &Path, rel: &str) -> Group {
        Group { dir: root.join(rel.trim_start_matches('/')) }
    }

    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    /// Makes the leaf (an existing one, left by a killed run, is reused).
    pub fn create(&self) -> Result<()> {
        mkdir(&self.dir)
    }

    /// Writes the limits. A controller the parent did not delegate has no
    /// file here: that limit is an error, as runc makes it, unless it is
    /// the "no limit" value. memory.swap.max is missing without swap
    /// accounting (a kernel built or booted without it): skipped.
    pub fn apply(&self, s: &Settings) -> Result<()> {
        let f = |name: &str| self.dir.join(name);
        if let Some(w) = s.cpu_weight {
            write_ctx(&f("cpu.weight"), &w.to_string(), "set cpu.weight")?;
        }
        if let Some(m) = s.memory_max {
            write_ctx(&f("memory.max"), &limit_value(m), "set memory.max")?;
        }
        if let Some(sw) = &s.swap_max {
            if f("memory.swap.max").exists() {
                write_ctx(&f("memory.swap.max"), sw, "set memory.swap.max")?;
            }
        }
        if let Some(l) = s.memory_low {
            write_ctx(&f("memory.low"), &limit_value(l), "set memory.low")?;
        }
        if let Some(c) = &s.cpu_max {
            write_ctx(&f("cpu.max"), c, "set cpu.max")?;
        }
        // cpus before mems, as runc writes them
        if let Some(c) = &s.cpuset_cpus {
            write_ctx(&f("cpuset.cpus"), c, "set cpuset.cpus")?;
        }
        if let Some(m) = &s.cpuset_mems {
            write_ctx(&f("cpuset.mems"), m, "set cpuset.mems")?;
        }
        if let Some(p) = s.pids_max {
            write_ctx(&f("pids.max"), &limit_value(p), "set pids.max")?;
        }
        Ok(())
    }

    /// The quota part of cpu.max (`max` or µs), to keep it when only the
    /// period changes.
    pub fn cpu_quota(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join("cpu.max")).ok()?;
        text.split_whitespace().next().map(str::to_string)
    }

    pub fn add_process(&self, pid: i32) -> Result<()> {
        let p = self.dir.join("cgroup.procs");
        write_ctx(&p, &pid.to_string(), "join (cgroup.procs)")
    }

    pub fn processes(&self) -> Vec<u64> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// `key value` lines of a flat-keyed file (cgroup.events, memory.events).
    fn key(&self, file: &str, key: &str) -> Option<u64> {
        let text = std::fs::read_to_string(self.dir.join(file)).ok()?;
        flat_key(&text, key)
    }

    /// Writes cgroup.freeze and waits until cgroup.events says `frozen 1`
    /// (every task stopped), up to `timeout`; on timeout it thaws again.
    pub fn freeze(&self, timeout: Duration) -> Result<()> {
        write_ctx(&self.dir.join("cgroup.freeze"), "1", "freeze (cgroup.freeze)")?;
        let start = Instant::now();
        let mut delay = 1;
        while self.key("cgroup.events", "frozen") != Some(1) {
            if start.elapsed() >= timeout {
                let _ = self.thaw();
                return Err(V2Error::FreezeTimeout { path: self.dir.clone(), secs: timeout.as_secs() });
            }
            std::thread::sleep(Duration::from_millis(delay));
            delay = (delay * 2).min(20);
        }
        Ok(())
    }

    pub fn thaw(&self) -> Result<()> {
        write_ctx(&self.dir.join("cgroup.freeze"), "0", "thaw (cgroup.freeze)")
    }

    /// Frozen, as asked (cgroup.freeze 1): a container being paused counts.
    pub fn is_frozen(&self) -> bool {
        std::fs::read_to_string(self.dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
    }

    /// The OOM killer's kills in this cgroup (memory.events `oom_kill`).
    pub fn oom_kills(&self) -> u64 {
        self.key("memory.events", "oom_kill").unwrap_or(0)
    }

    /// Removes the leaf, retrying while its processes exit (EBUSY).
    pub fn delete(&self, tries: usize) -> std::result::Result<(), (bool, std::io::Error)> {
        let mut last = None;
        for i in 0..tries {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(if i < 20 { 1 } else { 10 }));
        }
        let e = last.unwrap_or_else(|| std::io::Error::from(ErrorKind::Other));
        Err((e.raw_os_error() == Some(libc::EBUSY), e))
    }
}

/// The value of `key` in a flat-keyed cgroup file (`key value` lines).
pub fn flat_key(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some(key)).then(|| w.next()?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_controllers_to_enable() {
        let w = &WANTED[..];
        assert_eq!(controllers_to_enable(w, "cpuset cpu io memory hugetlb pids rdma misc\n", ""), ["cpu", "memory", "pids", "io"]);
        assert_eq!(controllers_to_enable(w, "cpuset cpu io memory pids\n", "cpu memory\n"), ["pids", "io"]);
        assert_eq!(controllers_to_enable(w, "cpu memory pids\n", "memory pids cpu\n"), Vec::<String>::new());
        // no io offered: not asked for; nothing offered: nothing
        assert_eq!(controllers_to_enable(w, "memory pids", "pids"), ["memory"]);
        assert_eq!(controllers_to_enable(w, "", ""), Vec::<String>::new());
        assert_eq!(controllers_to_enable(w, "hugetlb", "hugetlb"), Vec::<String>::new());
    }

    #[test]
    fn docker_swap_rule() {
        // --memory 64M alone: memory+swap 128M, so 64M of swap
        assert_eq!(swap_max(64_000_000, None).as_deref(), Some("64000000"));
        // --memory-swap 100M with --memory 64M: 36M of swap
        assert_eq!(swap_max(64_000_000, Some(100_000_000)).as_deref(), Some("36000000"));
        // --memory-swap equal to --memory: no swap
        assert_eq!(swap_max(64_000_000, Some(64_000_000)).as_deref(), Some("0"));
        assert_eq!(swap_max(64_000_000, Some(-1)).as_deref(), Some("max"));
        assert_eq!(swap_max(-1, None), None);
        assert_eq!(swap_max(0, Some(5)), None);
    }

    #[test]
    fn flat_keyed_files() {
        let ev = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(flat_key(ev, "oom_kill"), Some(2));
        assert_eq!(flat_key(ev, "oom"), Some(3));
        assert_eq!(flat_key("populated 1\nfrozen 0\n", "frozen"), Some(0));
        assert_eq!(flat_key("", "frozen"), None);
    }

    #[test]
    fn ancestor_chain() {
        let r = Path::new("/sys/fs/cgroup");
        assert_eq!(ancestors(r, Path::new("bocker")), [r.to_path_buf(), r.join("bocker")]);
        assert_eq!(ancestors(r, Path::new("/a/b/")), [r.to_path_buf(), r.join("a"), r.join("a/b")]);
    }

    /// A fake cgroup directory: the three files delegate reads.
    fn fake(dir: &Path, controllers: &str, subtree: &str, procs: &str) {
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(dir.join("cgroup.controllers"), controllers).expect("write");
        std::fs::write(dir.join("cgroup.subtree_control"), subtree).expect("write");
        std::fs::write(dir.join("cgroup.procs"), procs).expect("write");
    }

    #[test]
    fn delegation_on_a_fake_tree() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path();
        // the root (exempt) holds processes and has cpu enabled already
        fake(root, "cpuset cpu io memory pids\n", "cpu\n", "1\n42\n");
        fake(&root.join("a"), "cpu\n", "", "");
        fake(&root.join("a/bocker"), "cpu\n", "", "");
        // a plain file cannot take several writes as the kernel does, so
        // this checks the *last* thing written to each file
        delegate(root, Path::new("a/bocker"), &WANTED).expect("delegate");
        let sc = |d: &Path| std::fs::read_to_string(d.join("cgroup.subtree_control")).expect("read");
        assert_eq!(sc(root), "+io", "root: memory, pids, io added one by one, cpu untouched");
        assert_eq!(sc(&root.join("a")), "+cpu", "a offers only cpu");
        // a tree that has everything already: nothing written
        fake(root, "cpu memory pids\n", "cpu memory pids\n", "1\n");
        fake(&root.join("a"), "cpu memory pids\n", "memory cpu pids\n", "");
        fake(&root.join("a/bocker"), "cpu memory pids\n", "pids memory cpu\n", "");
        let got = delegate(root, Path::new("a/bocker"), &WANTED).expect("delegate");
        assert_eq!(sc(root), "cpu memory pids\n");
        assert_eq!(sc(&root.join("a")), "memory cpu pids\n");
        assert_eq!(got, ["pids", "memory", "cpu"]);
        // a missing parent is made (here as a plain folder, so reading its
        // files fails with the path named)
        let e = delegate(root, Path::new("a/new"), &WANTED).expect_err("no files in a plain dir");
        assert!(root.join("a/new").is_dir());
        assert!(e.to_string().contains("a/new/cgroup.procs"), "{e}");
    }

    #[test]
    fn an_intermediate_parent_with_processes_is_named() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path();
        fake(root, "cpu memory\n", "cpu memory\n", "1\n");
        fake(&root.join("user.slice"), "cpu memory\n", "", "4242\n");
        fake(&root.join("user.slice/bocker"), "", "", "");
        let e = delegate(root, Path::new("user.slice/bocker"), &WANTED).expect_err("internal processes");
        assert!(matches!(&e, V2Error::InternalProcesses(p) if p == &root.join("user.slice")), "{e}");
        assert!(e.to_string().contains("user.slice holds processes"), "{e}");
        // nothing was written below the root
        assert_eq!(std::fs::read_to_string(root.join("user.slice/cgroup.subtree_control")).expect("read"), "");
        // the bocker parent itself holding processes is refused too
        fake(&root.join("user.slice"), "cpu memory\n", "", "");
        fake(&root.join("user.slice/bocker"), "", "", "7\n");
        let e = delegate(root, Path::new("user.slice/bocker"), &WANTED).expect_err("internal processes");
        assert!(matches!(&e, V2Error::InternalProcesses(p) if p.ends_with("user.slice/bocker")), "{e}");
    }

    /// Where cgroup2 is mounted here (hybrid: /sys/fs/cgroup/unified).
    fn cgroup2_root() -> Option<&'static Path> {
        ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].into_iter().map(Path::new).find(|p| {
            nix::sys::statfs::statfs(*p).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        })
    }

    /// On a real cgroup2 mount (the hybrid one here offers no controllers,
    /// a v2 host all of them): delegation twice and from racing threads,
    /// a leaf with a process, freeze that really stops it, thaw, delete
    /// of the leaf while the parent stays.
    #[test]
    fn real_cgroup2_leaf_freeze_and_delete() {
        let Some(root) = cgroup2_root().filter(|_| nix::unistd::geteuid().is_root()) else {
            eprintln!("real_cgroup2_leaf_freeze_and_delete: needs root and a cgroup2 mount, skipped");
            return;
        };
        let parent = format!("bocker-v2test-{}", std::process::id());
        let pdir = root.join(&parent);
        struct Rm(PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                for d in ["leaf", ""] {
                    let _ = std::fs::remove_dir(self.0.join(d));
                }
            }
        }
        let _rm = Rm(pdir.clone());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (r, p) = (root.to_path_buf(), parent.clone());
                std::thread::spawn(move || delegate(&r, Path::new(&p), &WANTED).map_err(|e| e.to_string()))
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
        for r in &results {
            let granted = r.as_ref().expect("racing delegations all succeed");
            let offered = std::fs::read_to_string(root.join("cgroup.controllers")).expect("controllers");
            for w in WANTED.iter().filter(|w| offered.split_whitespace().any(|o| o == **w)) {
                assert!(granted.iter().any(|g| g == w), "{w} delegated: {granted:?}");
            }
        }
        let g = Group::new(root, &format!("{parent}/leaf"));
        g.create().expect("leaf");
        g.create().expect("leaf again");
        let mut child = std::process::Command::new("sh")
            .args(["-c", "i=0; while :; do i=$((i+1)); echo $i > /dev/null; done"])
            .spawn()
            .expect("spawn");
        let pid = child.id() as i32;
        g.add_process(pid).expect("join");
        assert_eq!(g.processes(), [pid as u64]);
        let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
        assert!(cg.lines().any(|l| l.starts_with("0::/") && l.ends_with(&format!("{parent}/leaf"))), "{cg}");
        g.freeze(Duration::from_secs(5)).expect("freeze");
        assert!(g.is_frozen());
        let ticks = |pid: i32| {
            let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
            let after = st.rsplit_once(')').expect("comm").1;
            let f: Vec<&str> = after.split_whitespace().collect();
            f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
        };
        let t0 = ticks(pid);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(ticks(pid), t0, "a frozen process uses no CPU");
        g.thaw().expect("thaw");
        assert!(!g.is_frozen());
        std::thread::sleep(Duration::from_millis(300));
        assert!(ticks(pid) > t0, "a thawed process runs again");
        // busy while the process lives, gone after it exits
        assert!(matches!(g.delete(3), Err((true, _))), "EBUSY while populated");
        // SIGKILL reaches a frozen v2 task
        g.freeze(Duration::from_secs(5)).expect("freeze");
        child.kill().expect("kill");
        child.wait().expect("wait");
        g.delete(200).expect("delete");
        assert!(!g.exists());
        assert!(pdir.is_dir(), "the parent stays");
        assert_eq!(g.oom_kills(), 0);
    }
}
