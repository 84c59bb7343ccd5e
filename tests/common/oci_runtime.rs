//! OCI runtimes driven through runc's command line, each with its own
//! `--root` state folder in the test's temp dir (never /run/runc), and the
//! judge that runs one check against every runtime and compares them.
#![allow(dead_code)]
use crate::bundle::Bundle;
use crate::common::{rootfs, test_base};
use anyhow::{bail, Context};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long one runtime command may take before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeKind {
    Runc,
    Crun,
    BockerRunc,
}

impl RuntimeKind {
    pub const ALL: [RuntimeKind; 3] = [RuntimeKind::Runc, RuntimeKind::Crun, RuntimeKind::BockerRunc];

    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Runc => "runc",
            RuntimeKind::Crun => "crun",
            RuntimeKind::BockerRunc => "bocker-runc",
        }
    }

    fn parse(s: &str) -> Option<RuntimeKind> {
        RuntimeKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// The runtimes under test: the comma-separated list in
/// BOCKER_CONFORMANCE_RUNTIMES (runc is always included: it is the
/// reference the others are judged against); else all three when
/// recording a table, runc and bocker-runc when asserting.
pub fn selected_runtimes() -> Vec<RuntimeKind> {
    match std::env::var("BOCKER_CONFORMANCE_RUNTIMES") {
        Ok(list) => {
            let mut kinds = vec![RuntimeKind::Runc];
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let k = RuntimeKind::parse(name).unwrap_or_else(|| panic!("BOCKER_CONFORMANCE_RUNTIMES: unknown runtime {name:?}"));
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            kinds
        }
        Err(_) if std::env::var_os("BOCKER_CONFORMANCE_RECORD").is_some() => RuntimeKind::ALL.to_vec(),
        Err(_) => vec![RuntimeKind::Runc, RuntimeKind::BockerRunc],
    }
}

/// A finished runtime command.
#[derive(Debug)]
pub struct Ran {
    /// None: killed by a signal or by the timeout
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    /// A one-line-ish account for failure messages.
    pub fn describe(&self) -> String {
        let t = if self.timed_out { " (timed out, killed)" } else { "" };
        format!("exit {:?}{t}; stdout: {:?}; stderr: {:?}", self.code, self.stdout.trim_end(), self.stderr.trim_end())
    }
}

/// Marks a check as not applicable to a runtime or host (the reason is
/// printed and recorded); any other error is a failure.
#[derive(Debug)]
pub struct NotApplicable(pub String);

impl std::fmt::Display for NotApplicable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n/a: {}", self.0)
    }
}

impl std::error::Error for NotApplicable {}

pub fn not_applicable(reason: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(NotApplicable(reason.into()))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    NotApplicable(String),
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::NotApplicable(_) => "n/a",
        }
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique short name: the test process, a counter, a tag.
pub fn unique(tag: &str) -> String {
    format!("{tag}{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

/// One check against one runtime: a temp dir holding the runtime's state
/// root, bundles and command output; the containers and network
/// namespaces it made are removed on drop (also after a failure).
pub struct Case {
    pub kind: RuntimeKind,
    bin: PathBuf,
    pub dir: tempfile::TempDir,
    containers: RefCell<Vec<String>>,
    netns: RefCell<Vec<String>>,
    notes: RefCell<Vec<String>>,
    seq: Cell<u32>,
}

impl Case {
    pub fn new(kind: RuntimeKind) -> anyhow::Result<Case> {
        let dir = tempfile::Builder::new().prefix("bocker-conformance-").tempdir_in(test_base()).context("tempdir")?;
        let bin = match kind {
            RuntimeKind::Runc | RuntimeKind::Crun => {
                let found = which(kind.name()).ok_or_else(|| not_applicable(format!("{} is not installed", kind.name())))?;
                found
            }
            RuntimeKind::BockerRunc => {
                // bocker answers runc's command line when called by this
                // name; BOCKER_CONFORMANCE_BOCKER judges another build
                let target = std::env::var_os("BOCKER_CONFORMANCE_BOCKER").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bocker")));
                let link = dir.path().join("bocker-runc");
                std::os::unix::fs::symlink(&target, &link).context("symlink bocker-runc")?;
                link
            }
        };
        std::fs::create_dir_all(dir.path().join("state"))?;
        std::fs::create_dir_all(dir.path().join("io"))?;
        Ok(Case { kind, bin, dir, containers: RefCell::default(), netns: RefCell::default(), notes: RefCell::default(), seq: Cell::new(0) })
    }

    fn next(&self) -> u32 {
        let n = self.seq.get();
        self.seq.set(n + 1);
        n
    }

    /// The runtime's state root (its `--root`).
    pub fn state_root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// A fresh bundle in this case's dir.
    pub fn bundle(&self) -> anyhow::Result<Bundle> {
        let d = self.dir.path().join(format!("bundle{}", self.next()));
        Bundle::new(&d, rootfs())
    }

    /// A folder on the host, made in this case's dir.
    pub fn host_dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let d = self.dir.path().join(name);
        std::fs::create_dir_all(&d).with_context(|| format!("mkdir {}", d.display()))?;
        Ok(d)
    }

    /// A container id unique on this host (cgroups are named after it).
    pub fn new_id(&self) -> String {
        let id = unique(&format!("conf-{}-", self.kind.name()));
        self.containers.borrow_mut().push(id.clone());
        id
    }

    /// Something worth recording about a passing check (e.g. the message
    /// a runtime refused an input with).
    pub fn note(&self, s: impl Into<String>) {
        self.notes.borrow_mut().push(s.into());
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.state_root()).args(args);
        c
    }

    /// Runs the runtime with ARGS, stdio on files (a container may keep
    /// them open after the runtime exits), killed after the timeout.
    pub fn exec(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Ran> {
        let n = self.next();
        let io = self.dir.path().join("io");
        let (out_p, err_p) = (io.join(format!("{n}.out")), io.join(format!("{n}.err")));
        let mut c = self.command(args);
        c.stdout(File::create(&out_p)?).stderr(File::create(&err_p)?);
        match stdin {
            Some(text) => {
                let in_p = io.join(format!("{n}.in"));
                std::fs::write(&in_p, text)?;
                c.stdin(File::open(&in_p)?);
            }
            None => {
                c.stdin(Stdio::null());
            }
        }
        let mut child = c.spawn().with_context(|| format!("spawn {} {args:?}", self.bin.display()))?;
        let started = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(st) = child.try_wait()? {
                break st;
            }
            if started.elapsed() > COMMAND_TIMEOUT {
                timed_out = true;
                let _ = child.kill();
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        Ok(Ran { code: status.code(), stdout: read(&out_p), stderr: read(&err_p), timed_out })
    }

    /// `run --bundle B ID` in the foreground; returns what it did.
    pub fn run(&self, b: &Bundle) -> anyhow::Result<Ran> {
        self.run_with_stdin(b, None)
    }

    pub fn run_with_stdin(&self, b: &Bundle, stdin: Option<&str>) -> anyhow::Result<Ran> {
        b.write()?;
        let id = self.new_id();
        self.exec(&["run", "--bundle", path_str(&b.dir)?, &id], stdin)
    }

    /// Runs the bundle and returns its stdout; a non-zero exit is an error.
    pub fn run_ok(&self, b: &Bundle) -> anyhow::Result<String> {
        let r = self.run(b)?;
        if !r.ok() {
            bail!("run failed: {}", r.describe());
        }
        Ok(r.stdout)
    }

    /// `create --bundle B ID`; returns the id, or the failed command.
    pub fn create(&self, b: &Bundle) -> anyhow::Result<Result<String, Ran>> {
        b.write()?;
        let id = self.new_id();
        let r = self.create_as(b, &id)?;
        Ok(if r.ok() { Ok(id) } else { Err(r) })
    }

    /// `create` that must succeed.
    pub fn create_ok(&self, b: &Bundle) -> anyhow::Result<String> {
        self.create(b)?.map_err(|r| anyhow::anyhow!("create failed: {}", r.describe()))
    }

    pub fn create_as(&self, b: &Bundle, id: &str) -> anyhow::Result<Ran> {
        self.exec(&["create", "--bundle", path_str(&b.dir)?, id], None)
    }

    /// `state ID` parsed; a failed command is an error.
    pub fn state(&self, id: &str) -> anyhow::Result<Value> {
        let r = self.exec(&["state", id], None)?;
        if !r.ok() {
            bail!("state {id} failed: {}", r.describe());
        }
        serde_json::from_str(&r.stdout).with_context(|| format!("state {id}: not JSON: {:?}", r.stdout))
    }

    pub fn status(&self, id: &str) -> anyhow::Result<String> {
        let s = self.state(id)?;
        s["status"].as_str().map(str::to_string).ok_or_else(|| anyhow::anyhow!("state has no status: {s}"))
    }

    /// Polls `state` until the status is WANT (10 s at most).
    pub fn wait_status(&self, id: &str, want: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let got = self.status(id)?;
            if got == want {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("{id}: status stayed {got:?}, expected {want:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A runtime command that must succeed.
    pub fn must(&self, args: &[&str]) -> anyhow::Result<Ran> {
        let r = self.exec(args, None)?;
        if !r.ok() {
            bail!("{args:?} failed: {}", r.describe());
        }
        Ok(r)
    }

    /// A named network namespace (`ip netns add`), deleted on drop.
    pub fn netns(&self) -> anyhow::Result<String> {
        let name = unique("conf-ns-");
        let st = Command::new("ip").args(["netns", "add", &name]).status().context("ip netns add")?;
        if !st.success() {
            return Err(not_applicable(format!("ip netns add {name} failed: {st}")));
        }
        self.netns.borrow_mut().push(name.clone());
        Ok(name)
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        for id in self.containers.borrow().iter() {
            let _ = self.command(&["delete", "--force", id]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        for ns in self.netns.borrow().iter() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str().ok_or_else(|| anyhow::anyhow!("path is not UTF-8: {}", p.display()))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Runs one check against a runtime.
fn outcome_of(kind: RuntimeKind, check: fn(&Case) -> anyhow::Result<()>) -> (Outcome, Vec<String>) {
    let case = match Case::new(kind) {
        Ok(c) => c,
        Err(e) => return (classify(e), Vec::new()),
    };
    let o = match check(&case) {
        Ok(()) => Outcome::Pass,
        Err(e) => classify(e),
    };
    let notes = case.notes.borrow().clone();
    (o, notes)
}

fn classify(e: anyhow::Error) -> Outcome {
    match e.downcast_ref::<NotApplicable>() {
        Some(na) => Outcome::NotApplicable(na.0.clone()),
        None => Outcome::Fail(format!("{e:#}")),
    }
}

/// One line (tabs and newlines flattened) for the record file.
fn flat(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// Runs CHECK against every selected runtime. Under
/// BOCKER_CONFORMANCE_RECORD=FILE the results are appended to FILE as
/// `check<TAB>runtime<TAB>pass|fail|n/a<TAB>title<TAB>detail` lines;
/// otherwise the one assertion of this suite: a check that passes under
/// runc must pass under bocker-runc.
pub fn judge(check_id: &str, title: &str, check: fn(&Case) -> anyhow::Result<()>) {
    let recording = std::env::var_os("BOCKER_CONFORMANCE_RECORD");
    // without the reference every check would pass vacuously
    assert!(recording.is_some() || which("runc").is_some(), "runc is not on PATH: the conformance checks judge against it (scripts/test.sh installs it)");
    let mut results = Vec::new();
    for kind in selected_runtimes() {
        let (o, notes) = outcome_of(kind, check);
        let detail = match &o {
            Outcome::Pass => notes.join("; "),
            Outcome::Fail(m) | Outcome::NotApplicable(m) => m.clone(),
        };
        eprintln!("[{check_id}] {:<12} {:<4} {detail}", kind.name(), o.word());
        results.push((kind, o, detail));
    }
    if let Some(file) = recording {
        let mut lines = String::new();
        for (kind, o, detail) in &results {
            lines.push_str(&format!("{check_id}\t{}\t{}\t{}\t{}\n", kind.name(), o.word(), flat(title), flat(detail)));
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&file).expect("open the record file");
        // one write per check: lines of parallel tests do not interleave
        f.write_all(lines.as_bytes()).expect("append to the record file");
        return;
    }
    let of = |k: RuntimeKind| results.iter().find(|(kind, _, _)| *kind == k).map(|(_, o, _)| o);
    // the one assertion: passes under runc ⇒ passes under bocker-runc
    match of(RuntimeKind::Runc).expect("runc is always selected") {
        Outcome::Pass => {
            if let Some(b) = of(RuntimeKind::BockerRunc) {
                assert_eq!(*b, Outcome::Pass, "[{check_id}] {title}: passes under runc, not under bocker-runc");
            }
        }
        Outcome::Fail(m) => eprintln!("[{check_id}] NOT JUDGED: the check fails under runc too ({m})"),
        Outcome::NotApplicable(m) => eprintln!("[{check_id}] NOT JUDGED: runc cannot run this check here ({m})"),
    }
}
