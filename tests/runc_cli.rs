//! `bocker-runc`: runc's command line on bocker's runtime. The binary is
//! reached through a `bocker-runc` symlink made in each test's own temp
//! dir; each test has its own state root. The first group needs no
//! container (flags, outputs, errors, exit codes); the lifecycle group
//! runs busybox containers on `runtime::oci::create`/`exec`; the last
//! group drives a container recorded by hand (no core) in a real cgroup.
mod common;
use common::{test_base, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temp dir with a `bocker-runc` symlink and a state root; containers
/// it created are force-deleted on drop (also when the test fails).
struct Runc {
    dir: tempfile::TempDir,
    ids: std::cell::RefCell<Vec<String>>,
}

impl Runc {
    fn new() -> Runc {
        let dir = tempfile::Builder::new().prefix("bocker-runc-test-").tempdir_in(test_base()).expect("tempdir");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_bocker"), dir.path().join("bocker-runc")).expect("symlink");
        Runc { dir, ids: Default::default() }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn bin(&self) -> PathBuf {
        self.dir.path().join("bocker-runc")
    }
    /// `bocker-runc --root ROOT ARGS...`
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.bin());
        c.arg("--root").arg(self.root()).args(args).stdin(Stdio::null());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run bocker-runc")
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "bocker-runc {args:?}: {}\n{}{}", o.status, text(&o.stdout), text(&o.stderr));
        text(&o.stdout)
    }
    /// Runs, expects exit 1 and `msg` in stderr.
    fn fails(&self, args: &[&str], msg: &str) {
        let o = self.run(args);
        assert_eq!(o.status.code(), Some(1), "bocker-runc {args:?}: {}{}", text(&o.stdout), text(&o.stderr));
        assert!(text(&o.stderr).contains(msg), "bocker-runc {args:?}: stderr {:?} lacks {msg:?}", text(&o.stderr));
    }
    fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state JSON")
    }
    /// A unique container id, deleted with the test.
    fn id(&self, name: &str) -> String {
        let id = format!("{name}-{}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.run(&["delete", "--force", id]);
        }
        // the lifecycle tests' cgroup parent (the last test of this process to end removes it)
        for c in ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices", "unified", ""] {
            let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join(cgroup_parent()));
        }
    }
}

#[test]
fn version_and_help() {
    let r = Runc::new();
    let v = r.ok(&["--version"]);
    assert!(v.starts_with("bocker-runc version "), "{v}");
    assert!(v.contains("\nspec: 1.0.2\n"), "{v}");
    assert_eq!(r.ok(&["-v"]), v);
    let help = r.ok(&["--help"]);
    for cmd in ["create", "start", "state", "kill", "delete", "exec", "ps", "pause", "resume", "list", "update", "features", "spec"] {
        assert!(help.contains(&format!("   {cmd}")), "--help lacks {cmd}: {help}");
    }
    assert!(r.ok(&["create", "--help"]).contains("--console-socket"));
}

#[test]
fn unknown_flags_and_commands_are_errors() {
    let r = Runc::new();
    r.fails(&["--bogus", "list"], "flag provided but not defined: -bogus");
    r.fails(&["list", "--bogus"], "flag provided but not defined: -bogus");
    r.fails(&["frobnicate"], "unknown command");
    r.fails(&["--log-format", "xml", "list"], "invalid log-format");
    r.fails(&["create", "--bundle"], "flag needs an argument: -bundle");
}

#[test]
fn refused_global_flags() {
    let r = Runc::new();
    r.fails(&["--systemd-cgroup", "list"], "no systemd cgroup driver");
    r.fails(&["--rootless", "true", "list"], "--rootless=true is not supported");
    r.fails(&["--rootless=maybe", "list"], "invalid value");
    // accepted and ignored
    r.ok(&["--rootless", "false", "--criu", "/nonexistent", "--debug", "list"]);
    r.ok(&["--rootless=auto", "list"]);
    for cmd in ["events", "checkpoint", "restore"] {
        r.fails(&[cmd, "x"], "not supported by bocker-runc");
    }
}

#[test]
fn unknown_containers() {
    let r = Runc::new();
    for args in [&["state", "nope"][..], &["kill", "nope"], &["kill", "nope", "KILL"], &["delete", "nope"], &["start", "nope"], &["pause", "nope"], &["resume", "nope"], &["ps", "nope"], &["exec", "nope", "true"], &["update", "--memory", "1m", "nope"]] {
        r.fails(args, "container does not exist");
    }
    // runc's delete --force of an unknown id succeeds
    r.ok(&["delete", "--force", "nope"]);
    r.ok(&["delete", "-f", "nope"]);
    r.fails(&["state"], "requires exactly 1 argument(s)");
    r.fails(&["state", "a", "b"], "requires exactly 1 argument(s)");
}

#[test]
fn ids_are_validated_as_runc_does() {
    let r = Runc::new();
    for bad in ["a/b", "..", ".", "a b", "x:y"] {
        r.fails(&["state", bad], "invalid container id format");
        r.fails(&["delete", "-f", bad], "invalid container id format");
    }
    let bundle = r.dir.path().join("b");
    std::fs::create_dir(&bundle).expect("bundle dir");
    r.fails(&["create", "--bundle", bundle.to_str().expect("utf8"), "../escape"], "invalid container id format");
    assert!(!r.dir.path().join("escape").exists());
}

#[test]
fn list_of_an_empty_root() {
    let r = Runc::new();
    assert_eq!(r.ok(&["list"]), "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
    assert_eq!(r.ok(&["list", "--format", "json"]), "null\n");
    assert_eq!(r.ok(&["list", "-q"]), "");
    r.fails(&["list", "-f", "yaml"], "invalid format");
}

#[test]
fn errors_go_to_the_log_file_in_json() {
    let r = Runc::new();
    let log = r.dir.path().join("log.json");
    let o = r.run(&["--log", log.to_str().expect("utf8"), "--log-format", "json", "state", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "container does not exist\n", "the plain message on stderr");
    let last = std::fs::read_to_string(&log).expect("log written").lines().last().expect("a line").to_string();
    let v: Value = serde_json::from_str(&last).expect("a JSON line");
    assert_eq!(v["level"], "error");
    assert_eq!(v["msg"], "container does not exist");
    let t = v["time"].as_str().expect("time");
    assert!(t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T', "RFC 3339: {t}");
    // appended, not truncated; text format as logrus writes it
    let o = r.run(&["--log", log.to_str().expect("utf8"), "delete", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    let all = std::fs::read_to_string(&log).expect("log");
    assert_eq!(all.lines().count(), 2, "{all}");
    assert!(all.lines().last().expect("line").ends_with("level=error msg=\"container does not exist\""), "{all}");
    // without --log: the entry on stderr
    let o = r.run(&["--log-format=json", "state", "nope"]);
    let v: Value = serde_json::from_str(text(&o.stderr).trim()).expect("JSON on stderr");
    assert_eq!(v["msg"], "container does not exist");
}

#[test]
fn spec_writes_runcs_default_once() {
    let r = Runc::new();
    let b = r.dir.path().join("bundle");
    std::fs::create_dir(&b).expect("mkdir");
    r.ok(&["spec", "--bundle", b.to_str().expect("utf8")]);
    let raw = std::fs::read_to_string(b.join("config.json")).expect("config.json");
    assert!(raw.starts_with("{\n\t\""), "tab-indented as runc's: {raw}");
    let spec: oci_spec::runtime::Spec = serde_json::from_str(&raw).expect("a valid spec");
    let p = spec.process().as_ref().expect("process");
    assert_eq!(p.args().as_deref(), Some(&["sh".to_string()][..]));
    assert_eq!(p.terminal(), Some(true));
    let root = spec.root().as_ref().expect("root");
    assert_eq!((root.path().to_str(), root.readonly()), (Some("rootfs"), Some(true)));
    r.fails(&["spec", "-b", b.to_str().expect("utf8")], "exists. Remove it first");
    assert_eq!(std::fs::read_to_string(b.join("config.json")).expect("kept"), raw, "left as it was");
    // in the current directory by default
    let cwd = r.dir.path().join("cwd");
    std::fs::create_dir(&cwd).expect("mkdir");
    let o = r.cmd(&["spec"]).current_dir(&cwd).output().expect("spec");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(cwd.join("config.json").is_file());
}

#[test]
fn features_say_what_bocker_supports() {
    let r = Runc::new();
    let out = r.ok(&["features"]);
    assert!(out.starts_with("{\n    \""), "four-space indent as runc's: {out}");
    let f: Value = serde_json::from_str(&out).expect("features JSON");
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert_eq!(f["linux"]["cgroup"]["systemd"], false);
    assert_eq!(f["linux"]["cgroup"]["v1"], true);
    assert_eq!(f["linux"]["apparmor"]["enabled"], false);
    assert_eq!(f["linux"]["selinux"]["enabled"], false);
    let list = |v: &Value| v.as_array().expect("array").iter().map(|x| x.as_str().expect("str").to_string()).collect::<Vec<_>>();
    assert!(list(&f["linux"]["capabilities"]).contains(&"CAP_NET_ADMIN".to_string()));
    assert!(!list(&f["linux"]["namespaces"]).contains(&"user".to_string()), "no user namespaces in bocker");
    let actions = list(&f["linux"]["seccomp"]["actions"]);
    assert!(actions.contains(&"SCMP_ACT_ERRNO".to_string()) && !actions.contains(&"SCMP_ACT_NOTIFY".to_string()));
    assert!(list(&f["linux"]["seccomp"]["archs"]).contains(&"SCMP_ARCH_X86_64".to_string()));
    assert!(list(&f["hooks"]).contains(&"poststop".to_string()));
}

#[test]
fn create_errors_leave_nothing_behind() {
    let r = Runc::new();
    let b = r.dir.path().join("nobundle");
    std::fs::create_dir(&b).expect("mkdir");
    let bs = b.to_str().expect("utf8");
    r.fails(&["create", "--bundle", bs, "c1"], &format!("JSON specification file {bs}/config.json not found"));
    std::fs::write(b.join("config.json"), "{ not json").expect("write");
    r.fails(&["create", "-b", bs, "c1"], "config.json: invalid configuration");
    r.fails(&["run", "-b", bs, "c1"], "invalid configuration");
    assert!(!r.root().join("c1").exists(), "no state left");
    assert_eq!(r.ok(&["list", "-q"]), "");
    r.fails(&["create", "-b", bs, "--preserve-fds", "x", "c1"], "invalid value");
    // runc's terminal rules: `spec` makes a terminal process
    std::fs::remove_file(b.join("config.json")).expect("rm");
    r.ok(&["spec", "-b", bs]);
    r.fails(&["create", "-b", bs, "c1"], "cannot allocate tty without setting console socket");
    r.fails(&["run", "-d", "-b", bs, "c1"], "cannot allocate tty without setting console socket");
    let cfg = b.join("config.json");
    let no_tty = std::fs::read_to_string(&cfg).expect("read").replace("\"terminal\": true", "\"terminal\": false");
    std::fs::write(&cfg, no_tty).expect("write");
    r.fails(&["create", "-b", bs, "--console-socket", "/nonexistent.sock", "c1"], "cannot use console socket");
    assert!(!r.root().join("c1").exists(), "no state left");
}

// ---- lifecycle on runtime::oci::create and exec ----

/// A bundle running `args` on the shared busybox rootfs (root.path
/// absolute, read-only), no terminal, a cgroup of its own.
fn bundle(r: &Runc, id: &str, args: &[&str], hooks: Option<Value>) -> PathBuf {
    let b = r.dir.path().join(format!("bundle-{id}"));
    std::fs::create_dir_all(&b).expect("bundle dir");
    r.ok(&["spec", "--bundle", b.to_str().expect("utf8")]);
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(b.join("config.json")).expect("read")).expect("json");
    spec["process"]["terminal"] = Value::Bool(false);
    spec["process"]["args"] = serde_json::json!(args);
    spec["root"]["path"] = Value::String(common::rootfs().to_str().expect("utf8").into());
    spec["linux"]["cgroupsPath"] = Value::String(format!("/{}/{id}", cgroup_parent()));
    if let Some(h) = hooks {
        spec["hooks"] = h;
    }
    std::fs::write(b.join("config.json"), serde_json::to_vec_pretty(&spec).expect("encode")).expect("write");
    b
}

/// `create` with the container's stdio on files (the init keeps them).
fn create(r: &Runc, id: &str, bundle: &Path, extra: &[&str]) {
    let out = std::fs::File::create(r.dir.path().join(format!("{id}.out"))).expect("out");
    let err = std::fs::File::create(r.dir.path().join(format!("{id}.err"))).expect("err");
    let mut args = vec!["create", "--bundle", bundle.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    args.push(id);
    let st = r.cmd(&args).stdout(out).stderr(err).status().expect("create");
    let errs = std::fs::read_to_string(r.dir.path().join(format!("{id}.err"))).unwrap_or_default();
    assert!(st.success(), "create {id}: {st}: {errs}");
}

fn wait_status(r: &Runc, id: &str, want: &str) {
    for _ in 0..200 {
        if r.state(id)["status"] == want {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("{id} never became {want}: {}", r.state(id));
}

/// The parent of the lifecycle tests' cgroups: this test process's own.
fn cgroup_parent() -> String {
    format!("bocker-runc-test-{}", std::process::id())
}

fn v1_cgroup(ctl: &str, id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(ctl).join(cgroup_parent()).join(id)
}

fn v2_cgroup(id: &str) -> Option<PathBuf> {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists().then(|| Path::new("/sys/fs/cgroup").join(cgroup_parent()).join(id))
}

#[test]
fn create_start_state_pause_update_kill_delete() {
    let r = Runc::new();
    let id = r.id("life");
    let b = bundle(&r, &id, &["sleep", "300"], None);
    let pid_file = r.dir.path().join("pid");
    create(&r, &id, &b, &["--pid-file", pid_file.to_str().expect("utf8")]);
    let st = r.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["bundle"], b.to_str().expect("utf8"));
    let pid = st["pid"].as_i64().expect("pid");
    assert_eq!(std::fs::read_to_string(&pid_file).expect("pid file"), pid.to_string(), "no newline, as runc");
    assert!(r.root().join(&id).join("exec.fifo").exists());
    r.fails(&["create", "--bundle", b.to_str().expect("utf8"), &id], "already exists");
    let list: Value = serde_json::from_str(&r.ok(&["list", "--format", "json"])).expect("list json");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "created");
    assert!(r.ok(&["list"]).contains(&format!("{id}   ")));

    r.ok(&["start", &id]);
    assert_eq!(r.state(&id)["status"], "running");
    assert!(!r.root().join(&id).join("exec.fifo").exists());
    r.fails(&["start", &id], "cannot start an already running container");
    let pids: Vec<i64> = serde_json::from_str(&r.ok(&["ps", "--format", "json", &id])).expect("ps json");
    assert!(pids.contains(&pid), "{pids:?}");
    let table = r.ok(&["ps", &id]);
    assert!(table.lines().next().expect("header").contains("PID") && table.contains("sleep 300"), "{table}");

    r.fails(&["delete", &id], &format!("cannot delete container {id} that is not stopped: running"));
    r.ok(&["pause", &id]);
    assert_eq!(r.state(&id)["status"], "paused");
    r.fails(&["pause", &id], "container already paused");
    r.fails(&["exec", &id, "true"], "paused");
    r.ok(&["resume", &id]);
    assert_eq!(r.state(&id)["status"], "running");
    r.fails(&["resume", &id], "container not paused");

    r.ok(&["update", "--memory", "64m", "--pids-limit", "20", &id]);
    let (mem, pids) = match v2_cgroup(&id) {
        Some(dir) => (dir.join("memory.max"), dir.join("pids.max")),
        None => (v1_cgroup("memory", &id).join("memory.limit_in_bytes"), v1_cgroup("pids", &id).join("pids.max")),
    };
    assert_eq!(std::fs::read_to_string(&mem).expect("memory limit").trim(), (64u64 << 20).to_string());
    assert_eq!(std::fs::read_to_string(&pids).expect("pids limit").trim(), "20");
    let res = r.dir.path().join("res.json");
    std::fs::write(&res, r#"{"hugepageLimits":[{"pageSize":"2MB","limit":1}]}"#).expect("write");
    r.fails(&["update", "--resources", res.to_str().expect("utf8"), &id], "hugepageLimits is not supported");

    r.ok(&["kill", &id, "KILL"]);
    wait_status(&r, &id, "stopped");
    assert!(r.state(&id).get("pid").is_none(), "no pid once stopped");
    r.fails(&["kill", &id], "container not running");
    r.fails(&["start", &id], "cannot start a container that has stopped");
    r.ok(&["delete", &id]);
    r.fails(&["state", &id], "container does not exist");
    assert!(!r.root().join(&id).exists());
    assert!(!v1_cgroup("memory", &id).exists() && !v1_cgroup("pids", &id).exists(), "cgroup removed");
    assert!(!v2_cgroup(&id).is_some_and(|d| d.exists()), "cgroup removed");
}

#[test]
fn exec_into_a_running_container() {
    let r = Runc::new();
    let id = r.id("exec");
    let b = bundle(&r, &id, &["sleep", "300"], None);
    create(&r, &id, &b, &[]);
    r.fails(&["exec", &id, "true"], "not started");
    r.ok(&["start", &id]);
    let out = r.ok(&["exec", "--env", "X=from-exec", "--cwd", "/etc", &id, "sh", "-c", "echo $X; pwd; id -u"]);
    assert_eq!(out, "from-exec\n/etc\n0\n");
    let o = r.run(&["exec", &id, "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "the process's exit code");
    assert_eq!(r.ok(&["exec", "--user", "33:33", &id, "id", "-u"]), "33\n");
    // --process FILE (as containerd and conmon), detached with a pid file
    let proc_file = r.dir.path().join("process.json");
    std::fs::write(&proc_file, r#"{"terminal":false,"user":{"uid":0,"gid":0},"args":["sleep","200"],"cwd":"/","env":["PATH=/bin"]}"#).expect("write");
    let pid_file = r.dir.path().join("exec.pid");
    // the detached process keeps the stdio it is given: not our pipes
    let st = r
        .cmd(&["exec", "--process", proc_file.to_str().expect("utf8"), "--detach", "--pid-file", pid_file.to_str().expect("utf8"), &id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("exec -d");
    assert!(st.success(), "exec --detach: {st}");
    let pid: u64 = std::fs::read_to_string(&pid_file).expect("pid file").parse().expect("a pid");
    let pids: Vec<u64> = serde_json::from_str(&r.ok(&["ps", "-f", "json", &id])).expect("ps json");
    assert!(pids.contains(&pid), "{pids:?} lacks {pid}");
    r.ok(&["kill", "--all", &id, "9"]);
    wait_status(&r, &id, "stopped");
    r.fails(&["exec", &id, "true"], "stopped");
    r.ok(&["delete", &id]);
}

#[test]
fn run_in_the_foreground_and_detached() {
    let r = Runc::new();
    let id = r.id("runfg");
    let b = bundle(&r, &id, &["sh", "-c", "echo hello; exit 7"], None);
    let o = r.run(&["run", "--bundle", b.to_str().expect("utf8"), &id]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hello\n");
    r.fails(&["state", &id], "container does not exist");
    assert!(!v1_cgroup("memory", &id).exists());

    let id2 = r.id("rundet");
    let b2 = bundle(&r, &id2, &["sleep", "300"], None);
    let st = r.cmd(&["run", "-d", "--bundle", b2.to_str().expect("utf8"), &id2]).stdout(Stdio::null()).stderr(Stdio::null()).status().expect("run -d");
    assert!(st.success());
    assert_eq!(r.state(&id2)["status"], "running");
    r.fails(&["delete", &id2], "that is not stopped: running");
    r.ok(&["pause", &id2]);
    r.ok(&["delete", "--force", &id2]);
    r.fails(&["state", &id2], "container does not exist");
}

#[test]
fn poststart_and_poststop_hooks_see_the_state() {
    let r = Runc::new();
    let id = r.id("hooks");
    let dir = r.dir.path().to_str().expect("utf8").to_string();
    let hook = |name: &str| serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {dir}/{name}.json")]});
    let hooks = serde_json::json!({"poststart": [hook("poststart")], "poststop": [hook("poststop")]});
    let b = bundle(&r, &id, &["sleep", "300"], Some(hooks));
    create(&r, &id, &b, &[]);
    r.ok(&["start", &id]);
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(r.dir.path().join("poststart.json")).expect("poststart ran")).expect("state");
    assert_eq!(seen["id"], id.as_str());
    assert_eq!(seen["status"], "running");
    r.ok(&["delete", "-f", &id]);
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(r.dir.path().join("poststop.json")).expect("poststop ran")).expect("state");
    assert_eq!(seen["status"], "stopped");
}

// ---- the commands on a container recorded by hand (no core needed) ----

/// A container as `create` records it, made without the core: a shell
/// in a cgroup of its own (`create_at`) that writes the exec fifo and
/// then sleeps, and its state.json. Its cgroup parent goes on drop.
struct Fake {
    id: String,
    child: std::process::Child,
    parent: String,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let cg = bocker::cgroup::ContainerCgroup::load_at(&format!("{}/{}", self.parent, self.id));
        let _ = cg.delete();
        for c in ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices"] {
            let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join(&self.parent));
        }
    }
}

fn fake(r: &Runc, name: &str) -> Fake {
    use bocker::runc::state::{proc_stat, Record, Root};
    let id = r.id(name);
    let parent = format!("bocker-runc-test-fake-{}", std::process::id());
    let cgroup_path = format!("{parent}/{id}");
    let cg = bocker::cgroup::ContainerCgroup::create_at(&cgroup_path, &bocker::cgroup::Resources::default()).expect("cgroup");
    let root = Root::new(&r.root());
    let dir = root.make_container_dir(&id).expect("state dir");
    let fifo = dir.join("exec.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622)).expect("mkfifo");
    let child = Command::new("sh")
        .args(["-c", &format!("printf 0 > {}; exec sleep 300", fifo.display())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let f = Fake { id: id.clone(), child, parent };
    cg.add_process(pid).expect("into the cgroup");
    let rec = Record {
        id: id.clone(),
        init_pid: pid,
        init_start: proc_stat(pid).expect("stat").1,
        bundle: r.dir.path().to_path_buf(),
        rootfs: r.dir.path().join("rootfs"),
        created: "2026-01-01T00:00:00.5Z".into(),
        config: oci_spec::runtime::Spec::default(),
        cgroup_path,
        owner: "root".into(),
        annotations: Default::default(),
    };
    root.save(&rec).expect("state.json");
    f
}

fn v1_fake_cgroup(f: &Fake, ctl: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(ctl).join(&f.parent).join(&f.id)
}

fn have_v1_root() -> bool {
    let ok = nix::unistd::geteuid().is_root() && !bocker::cgroup::is_v2() && Path::new("/sys/fs/cgroup/freezer").is_dir();
    if !ok {
        eprintln!("needs root and the v1 freezer hierarchy (this test runs on the v1 host only), skipped");
    }
    ok
}

#[test]
fn start_pause_update_kill_delete_of_a_recorded_container() {
    if !have_v1_root() {
        return;
    }
    let r = Runc::new();
    let f = fake(&r, "fake");
    let id = f.id.as_str();
    let pid = f.child.id() as i64;
    assert_eq!(r.state(id)["status"], "created");
    assert_eq!(r.state(id)["pid"], pid);
    let list: Value = serde_json::from_str(&r.ok(&["list", "-f", "json"])).expect("list");
    assert_eq!((list[0]["id"].as_str(), list[0]["status"].as_str(), list[0]["pid"].as_i64()), (Some(id), Some("created"), Some(pid)));
    assert_eq!(r.ok(&["list", "-q"]), format!("{id}\n"));
    r.ok(&["start", id]);
    assert_eq!(r.state(id)["status"], "running");
    assert!(!r.root().join(id).join("exec.fifo").exists(), "the fifo goes at start");
    r.fails(&["start", id], "cannot start an already running container");
    let pids: Vec<i64> = serde_json::from_str(&r.ok(&["ps", "--format", "json", id])).expect("ps");
    assert_eq!(pids, [pid]);
    let table = r.ok(&["ps", id]);
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.contains("sleep 300"), "{table}");

    r.ok(&["pause", id]);
    assert_eq!(r.state(id)["status"], "paused");
    assert_eq!(std::fs::read_to_string(v1_fake_cgroup(&f, "freezer").join("freezer.state")).expect("freezer").trim(), "FROZEN");
    r.fails(&["pause", id], "container already paused");
    r.fails(&["exec", id, "true"], "cannot exec in a paused container");
    r.ok(&["resume", id]);
    assert_eq!(r.state(id)["status"], "running");
    r.fails(&["resume", id], "container not paused");

    r.ok(&["update", "--pids-limit", "20", "--memory", "64m", "--cpu-shares", "256", id]);
    assert_eq!(std::fs::read_to_string(v1_fake_cgroup(&f, "pids").join("pids.max")).expect("pids").trim(), "20");
    assert_eq!(std::fs::read_to_string(v1_fake_cgroup(&f, "memory").join("memory.limit_in_bytes")).expect("mem").trim(), (64u64 << 20).to_string());
    assert_eq!(std::fs::read_to_string(v1_fake_cgroup(&f, "cpu").join("cpu.shares")).expect("cpu").trim(), "256");
    let o = r.cmd(&["update", "--resources", "-", id]).stdin(Stdio::piped()).spawn().and_then(|mut c| {
        use std::io::Write;
        c.stdin.take().expect("stdin").write_all(br#"{"pids":{"limit":30}}"#)?;
        c.wait_with_output()
    });
    assert!(o.expect("update -r -").status.success());
    assert_eq!(std::fs::read_to_string(v1_fake_cgroup(&f, "pids").join("pids.max")).expect("pids").trim(), "30");
    let res = r.dir.path().join("bad.json");
    std::fs::write(&res, r#"{"blockIO":{"weight":100}}"#).expect("write");
    r.fails(&["update", "-r", res.to_str().expect("utf8"), id], "blockIO (weights) is not supported");

    r.fails(&["delete", id], &format!("cannot delete container {id} that is not stopped: running"));
    r.fails(&["kill", id, "NOPE"], "unknown signal");
    r.ok(&["kill", id, "KILL"]);
    // our child: a zombie until we reap it, which counts as stopped
    wait_status(&r, id, "stopped");
    assert!(r.state(id).get("pid").is_none());
    r.fails(&["kill", id], "container not running");
    r.fails(&["start", id], "cannot start a container that has stopped");
    r.ok(&["delete", id]);
    r.fails(&["state", id], "container does not exist");
    assert!(!v1_fake_cgroup(&f, "memory").exists() && !v1_fake_cgroup(&f, "freezer").exists(), "cgroup removed");
}

#[test]
fn force_delete_of_a_paused_container_kills_everything() {
    if !have_v1_root() {
        return;
    }
    let r = Runc::new();
    let f = fake(&r, "fakeforce");
    let id = f.id.as_str();
    r.ok(&["start", id]);
    // a second process in the container's cgroup
    let mut other = Command::new("sleep").arg("300").spawn().expect("spawn");
    bocker::cgroup::ContainerCgroup::load_at(&format!("{}/{id}", f.parent)).add_process(other.id() as i32).expect("add");
    r.ok(&["pause", id]);
    r.fails(&["delete", id], "that is not stopped: paused");
    r.ok(&["kill", "--all", id, "TERM"]);
    assert_eq!(r.state(id)["status"], "paused", "kill --all keeps a paused container paused");
    r.ok(&["delete", "--force", id]);
    let st = other.wait().expect("wait");
    assert!(st.code().is_none(), "killed by a signal: {st}");
    r.fails(&["state", id], "container does not exist");
    assert!(!v1_fake_cgroup(&f, "freezer").exists());
}
