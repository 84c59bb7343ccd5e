//! Shared test support: each test gets its own BOCKER_ROOT and HOME, and
//! everything it made is removed on drop (also when the test fails).
#![allow(dead_code)]
pub mod service;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The image id in `bocker build`'s output (`Successfully built ID`).
pub fn built_id(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Successfully built "))
        .unwrap_or_else(|| panic!("no 'Successfully built' in {out}"))
        .trim()
        .to_string()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bocker")
}

pub struct Env {
    pub dir: tempfile::TempDir,
    /// this test's own bridge network: index into 10.214.X.0/24
    pub net: u8,
}

/// Reserves a subnet number no other running test holds (O_EXCL files).
fn reserve_subnet() -> u8 {
    let dir = test_base().join("subnets");
    std::fs::create_dir_all(&dir).unwrap();
    let start = (std::process::id() as usize * 7 + std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as usize) % 250;
    for i in 0..250 {
        let n = ((start + i) % 250 + 1) as u8;
        let p = dir.join(n.to_string());
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(_) => return n,
            Err(_) => {
                // a stale reservation of a test process that is gone
                let owner = std::fs::read_to_string(&p).unwrap_or_default();
                if !owner.is_empty() && !Path::new(&format!("/proc/{owner}")).exists() {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
    }
    panic!("no free test subnet");
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new().prefix("bocker-test-").tempdir_in(test_base()).expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let net = reserve_subnet();
        let _ = std::fs::write(test_base().join("subnets").join(net.to_string()), std::process::id().to_string());
        Env { dir, net }
    }
    pub fn bridge(&self) -> String {
        format!("bkr{}", self.net)
    }
    pub fn subnet(&self) -> String {
        format!("10.214.{}.0/24", self.net)
    }
    /// More subnets of this test, for user networks: `k` in 0..=9 gives
    /// 10.(215+k).N.0/24, N being this test's reserved number.
    pub fn extra_subnet(&self, k: u8) -> String {
        assert!(k <= 9, "extra_subnet: k in 0..=9");
        format!("10.{}.{}.0/24", 215 + k, self.net)
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
            .env("BOCKER_BRIDGE", self.bridge())
            .env("BOCKER_SUBNET", self.subnet())
            .env("BOCKER_NET_EGRESS", "0")
            .env_remove("BOCKER_VERBS")
            .env_remove("BOCKER_API")
            .env_remove("BOCKER_CPU_SHARE")
            .env_remove("BOCKER_MEM_LIMIT")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .stdin(Stdio::null());
        c
    }
    /// `expect SCRIPT` with this test's environment (root, home, network).
    pub fn expect(&self, script: &Path) -> Output {
        let mut c = self.cmd(&[]);
        c.env_remove("XDG_STATE_HOME");
        let mut e = Command::new("expect");
        e.arg(script);
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => e.env(k, v),
                None => e.env_remove(k),
            };
        }
        e.output().expect("expect is installed by scripts/test.sh")
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
            let _ = self.run(&["network", "prune"]);
        }
        retire_subnet(self.net);
    }
}

/// Subnets of finished tests: kept reserved until this process exits, so a
/// later test of the same binary never gets the bridge name of an earlier
/// one (whose killed commands may have left a monitor still at work on it).
static RETIRED: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

extern "C" fn release_retired_subnets() {
    if let Ok(nets) = RETIRED.lock() {
        for n in nets.iter() {
            let _ = std::fs::remove_file(test_base().join("subnets").join(n.to_string()));
        }
    }
}

fn retire_subnet(net: u8) {
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a plain extern "C" function once.
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(release_retired_subnets);
    });
    if let Ok(mut nets) = RETIRED.lock() {
        nets.push(net);
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

static ROOTFS: OnceLock<PathBuf> = OnceLock::new();

/// Removes the test binary's rootfs when the process exits.
extern "C" fn remove_rootfs() {
    if let Some(d) = ROOTFS.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A busybox root filesystem, made once per test binary (removed at exit).
pub fn rootfs() -> &'static Path {
    ROOTFS.get_or_init(|| {
        // SAFETY: registers a plain extern "C" function once.
        unsafe { libc::atexit(remove_rootfs) };
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
