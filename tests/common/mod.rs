//! Shared test support: each test gets its own BOCKER_ROOT and HOME, and
//! everything it made is removed on drop (also when the test fails).
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bocker")
}

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new().prefix("bocker-test-").tempdir_in(test_base()).expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Env { dir }
    }
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .env("BOCKER_ROOT", self.root())
            .env("HOME", self.home())
            .env_remove("BOCKER_VERBS")
            .env_remove("BOCKER_CPU_SHARE")
            .env_remove("BOCKER_MEM_LIMIT")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .stdin(Stdio::null());
        c
    }
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run bocker")
    }
    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "bocker {args:?} failed: {}\n{}", o.status, text(&o.stderr));
        text(&o.stdout)
    }
    /// A busybox image made with `bocker init`.
    pub fn busybox(&self) -> String {
        let out = self.ok(&["init", rootfs().to_str().unwrap()]);
        out.trim().strip_prefix("Created: ").expect("Created: line").to_string()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.root().exists() {
            let ids = self.run(&["ps", "-q"]);
            for id in text(&ids.stdout).lines() {
                let _ = self.run(&["rm", "-f", id]);
            }
        }
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Where test state lives (not /tmp if that is tmpfs: overlay upper dirs
/// need a filesystem with xattrs; both work here).
pub fn test_base() -> PathBuf {
    let p = std::env::var_os("BOCKER_TEST_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A busybox root filesystem, made once per test binary.
pub fn rootfs() -> &'static Path {
    static R: OnceLock<PathBuf> = OnceLock::new();
    R.get_or_init(|| {
        let d = test_base().join(format!("bocker-rootfs-{}", std::process::id()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/mkrootfs.sh");
        let st = Command::new("bash").arg(script).arg(&d).status().expect("mkrootfs");
        assert!(st.success(), "mkrootfs.sh failed");
        d
    })
}

/// cgroups named like the container still present under v1 controllers.
pub fn cgroups_of(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for e in rd.flatten() {
            let p = e.path().join(id);
            if p.exists() {
                out.push(p);
            }
        }
    }
    out
}

pub fn mounts_under(dir: &Path) -> usize {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let d = dir.to_string_lossy();
    mi.lines().filter(|l| l.contains(d.as_ref())).count()
}
