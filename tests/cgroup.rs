//! Containers' cgroups on the real kernel, v1 (this host) or v2 (a
//! cgroup2-only host, e.g. scripts/vm.sh's guest): the version is found
//! from the filesystem type of /sys/fs/cgroup and each test asserts the
//! files of that version. What a container sees of its own cgroup changes
//! with a cgroup namespace, so membership is checked from the host side
//! (`/proc/<init pid>/cgroup`).
mod common;
use common::{text, Env};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// cgroup2fs at /sys/fs/cgroup: a v2-only host.
fn v2() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup").is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The container's cgroup folder for a v1 controller, or its v2 leaf.
fn cg_dir(controller: &str, id: &str) -> PathBuf {
    if v2() {
        PathBuf::from(format!("/sys/fs/cgroup/bocker/{id}"))
    } else {
        PathBuf::from(format!("/sys/fs/cgroup/{controller}/{id}"))
    }
}

/// Every cgroup folder named after the container that still exists.
fn leftovers(id: &str) -> Vec<PathBuf> {
    if v2() {
        let p = cg_dir("", id);
        return if p.exists() { vec![p] } else { vec![] };
    }
    common::cgroups_of(id)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().to_string()
}

fn json(e: &Env, id: &str) -> serde_json::Value {
    let out = e.ok(&["inspect", id]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("inspect json");
    v[0].clone()
}

fn init_pid(e: &Env, id: &str) -> i64 {
    json(e, id)["state"]["pid"].as_i64().expect("a running container's pid")
}

/// Runs detached with extra environment; returns the id.
fn run_d(e: &Env, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut all = vec!["run", "-d", "--network", "none"];
    all.extend_from_slice(args);
    let mut c = e.cmd(&all);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run");
    assert!(o.status.success(), "run {args:?}: {}", text(&o.stderr));
    text(&o.stdout).trim().to_string()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn container_and_exec_are_in_the_cgroup_with_its_limits() {
    let e = Env::new();
    let img = e.busybox();
    let c = run_d(&e, &[("BOCKER_CPU_SHARE", "1024"), ("BOCKER_MEM_LIMIT", "64")], &[&img, "sleep", "30"]);
    let pid = init_pid(&e, &c);
    let member = read(Path::new(&format!("/proc/{pid}/cgroup")));
    if v2() {
        assert!(member.lines().any(|l| l == format!("0::/bocker/{c}")), "{member}");
        let leaf = cg_dir("", &c);
        assert_eq!(read(&leaf.join("cpu.weight")), "39", "runc's map of 1024 shares");
        assert_eq!(read(&leaf.join("memory.max")), "64000000");
        if leaf.join("memory.swap.max").exists() {
            assert_eq!(read(&leaf.join("memory.swap.max")), "64000000", "Docker: as much swap again");
        }
        // the parent delegates what the root offers, and holds no process
        let offered = read(Path::new("/sys/fs/cgroup/cgroup.controllers"));
        let delegated = read(Path::new("/sys/fs/cgroup/bocker/cgroup.subtree_control"));
        for ctl in ["cpu", "memory", "pids", "io"].iter().filter(|c| offered.split(' ').any(|o| o == **c)) {
            assert!(delegated.split(' ').any(|d| d == *ctl), "{ctl} not in {delegated}");
        }
        assert_eq!(read(Path::new("/sys/fs/cgroup/bocker/cgroup.procs")), "");
    } else {
        // cpu and cpuacct are one hierarchy or two, depending on the host
        for ctl in ["memory", "cpu", "cpuacct", "pids", "freezer", "devices"] {
            let ok = member.lines().any(|l| {
                let mut f = l.splitn(3, ':').skip(1);
                let (ctls, path) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
                ctls.split(',').any(|x| x == ctl) && path == format!("/{c}")
            });
            assert!(ok, "{ctl}: {member}");
        }
        assert_eq!(read(&cg_dir("cpu", &c).join("cpu.shares")), "1024");
        assert_eq!(read(&cg_dir("memory", &c).join("memory.limit_in_bytes")), "64000000");
    }
    // exec joins the same cgroup: its process shows up in cgroup.procs
    let procs = cg_dir("memory", &c).join("cgroup.procs");
    assert_eq!(read(&procs).lines().count(), 1, "only init");
    let mut ex = e.cmd(&["exec", &c, "sleep", "3"]).spawn().expect("exec");
    wait_for("the exec'd process in cgroup.procs", Duration::from_secs(3), || read(&procs).lines().count() >= 2);
    let _ = ex.wait();
    e.ok(&["rm", "-f", &c]);
    assert!(leftovers(&c).is_empty(), "left: {:?}", leftovers(&c));
    // the default 512 shares
    let c = run_d(&e, &[], &[&img, "sleep", "30"]);
    if v2() {
        assert_eq!(read(&cg_dir("", &c).join("cpu.weight")), "20");
        assert_eq!(read(&cg_dir("", &c).join("memory.max")), "512000000");
    } else {
        assert_eq!(read(&cg_dir("cpu", &c).join("cpu.shares")), "512");
    }
    e.ok(&["rm", "-f", &c]);
}

#[test]
fn an_oom_kill_exits_137_and_is_recorded() {
    let e = Env::new();
    let img = e.busybox();
    let o = e.run(&["run", "--name", "oom", "--network", "none", "-m", "32m", &img, "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' y); echo survived"]);
    assert_eq!(o.status.code(), Some(137), "stdout {} stderr {}", text(&o.stdout), text(&o.stderr));
    let st = &json(&e, "oom")["state"];
    assert_eq!(st["oom_killed"], serde_json::Value::Bool(true), "{st}");
    // a plain exit is no OOM kill
    e.ok(&["run", "--name", "fine", "--network", "none", &img, "true"]);
    assert_eq!(json(&e, "fine")["state"]["oom_killed"], serde_json::Value::Bool(false));
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let e = Env::new();
    let img = e.busybox();
    let c = run_d(&e, &[], &["--pids-limit", "10", &img, "sleep", "30"]);
    assert_eq!(read(&cg_dir("pids", &c).join("pids.max")), "10");
    e.ok(&["rm", "-f", &c]);
    let o = e.run(&["run", "--rm", "--network", "none", "--pids-limit", "10", &img, "sh", "-c", "for i in $(seq 50); do sleep 5 & done; wait; echo all-forked"]);
    let out = text(&o.stdout);
    assert!(!out.contains("all-forked"), "50 children under pids.max 10: {out}");
    assert!(text(&o.stderr).contains("fork"), "status {:?} stderr {}", o.status, text(&o.stderr));
}

/// `--device` rules reach the kernel. On v1 they are read back from
/// devices.list. On v2 a BPF program must be attached (bpftool, where
/// installed) and decides: a block node made in the container cannot be
/// opened, one passed with --device can. NOTE: this host (v1) refuses to
/// open any mknod'ed node by a policy outside bocker (FACTS.md), so the
/// "cannot open" half proves nothing here and the "can open" half would
/// fail: the open checks run on v2 only.
#[test]
fn device_rules_reach_the_kernel() {
    let e = Env::new();
    let img = e.busybox();
    let loop0 = Path::new("/dev/loop0");
    let c = if loop0.exists() {
        run_d(&e, &[], &["--device", "/dev/loop0:/dev/xloop", &img, "sleep", "30"])
    } else {
        run_d(&e, &[], &[&img, "sleep", "30"])
    };
    if v2() {
        if let Ok(o) = std::process::Command::new("bpftool").args(["cgroup", "show"]).arg(cg_dir("", &c)).output() {
            let s = text(&o.stdout);
            assert!(s.contains("cgroup_device") || s.contains("device"), "no device program attached: {s}");
        }
        let sh = |args: &[&str]| e.run(&[&["exec", &c, "sh", "-c"], args].concat());
        let o = sh(&["mknod /tmp/b b 7:0 && head -c1 /tmp/b >/dev/null"]);
        assert!(!o.status.success(), "a block node made in the container opened");
        if loop0.exists() {
            let o = sh(&["head -c1 /dev/xloop >/dev/null"]);
            assert!(o.status.success(), "the --device node: {}", text(&o.stderr));
        }
    } else {
        let list = read(&cg_dir("devices", &c).join("devices.list"));
        assert!(!list.lines().any(|l| l == "a *:* rwm"), "not confined: {list}");
        assert!(list.lines().any(|l| l == "c 1:3 rwm"), "/dev/null allowed: {list}");
        if loop0.exists() {
            assert!(list.lines().any(|l| l == "b 7:0 rwm"), "--device rule: {list}");
        }
        assert!(!list.lines().any(|l| l.starts_with("b 8:")), "no disk: {list}");
    }
    e.ok(&["rm", "-f", &c]);
}

/// The counter a container writes to /n, read from its upper dir.
fn counter(e: &Env, id: &str) -> u64 {
    let p = e.root().join("containers").join(id).join("upper/n");
    std::fs::read_to_string(&p).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn frozen_in_kernel(id: &str) -> bool {
    if v2() {
        let d = cg_dir("", id);
        read(&d.join("cgroup.freeze")) == "1" && read(&d.join("cgroup.events")).lines().any(|l| l == "frozen 1")
    } else {
        read(&cg_dir("freezer", id).join("freezer.state")) == "FROZEN"
    }
}

const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i > /n.tmp; mv /n.tmp /n; sleep 0.02; done";

#[test]
fn pause_unpause_and_signals_to_a_paused_container() {
    let e = Env::new();
    let img = e.busybox();
    let c = run_d(&e, &[], &[&img, "sh", "-c", COUNTER]);
    wait_for("the counter", Duration::from_secs(5), || counter(&e, &c) > 2);
    e.ok(&["pause", &c]);
    assert!(frozen_in_kernel(&c));
    let ps = e.ok(&["ps"]);
    assert!(ps.lines().any(|l| l.starts_with(&c) && l.contains("(Paused)")), "{ps}");
    assert_eq!(json(&e, &c)["paused"], serde_json::Value::Bool(true));
    let n = counter(&e, &c);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(counter(&e, &c), n, "a paused container does not advance");
    // Docker's refusals
    let o = e.run(&["pause", &c]);
    assert!(!o.status.success() && text(&o.stderr).contains("already paused"), "{}", text(&o.stderr));
    let o = e.run(&["exec", &c, "true"]);
    assert!(!o.status.success() && text(&o.stderr).contains("paused"), "{}", text(&o.stderr));
    e.ok(&["unpause", &c]);
    assert!(!frozen_in_kernel(&c));
    wait_for("the counter to advance again", Duration::from_secs(5), || counter(&e, &c) > n);
    let o = e.run(&["unpause", &c]);
    assert!(!o.status.success() && text(&o.stderr).contains("not paused"), "{}", text(&o.stderr));
    assert!(!e.ok(&["ps"]).contains("(Paused)"));
    // stop (SIGTERM, then SIGKILL), kill and rm -f of paused containers
    e.ok(&["pause", &c]);
    let t = Instant::now();
    e.ok(&["stop", "-t", "1", &c]);
    assert!(t.elapsed() < Duration::from_secs(5), "stop of a paused container took {:?}", t.elapsed());
    assert!(e.ok(&["ps"]).lines().any(|l| l.starts_with(&c) && l.contains("Exited")));
    let k = run_d(&e, &[], &[&img, "sleep", "60"]);
    e.ok(&["pause", &k]);
    e.ok(&["kill", &k]);
    wait_for("the killed container to exit", Duration::from_secs(5), || e.ok(&["ps"]).lines().any(|l| l.starts_with(&k) && l.contains("Exited (137)")));
    let r = run_d(&e, &[], &[&img, "sleep", "60"]);
    e.ok(&["pause", &r]);
    e.ok(&["rm", "-f", &r]);
    for id in [&c, &k, &r] {
        assert!(leftovers(id).is_empty(), "left: {:?}", leftovers(id));
    }
}

#[test]
fn commit_freezes_and_thaws_a_running_container() {
    let e = Env::new();
    let img = e.busybox();
    let c = run_d(&e, &[], &[&img, "sh", "-c", COUNTER]);
    wait_for("the counter", Duration::from_secs(5), || counter(&e, &c) > 2);
    // watch the freezer from the side while commit runs
    let id = c.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = false;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let p = if v2() { cg_dir("", &id).join("cgroup.freeze") } else { cg_dir("freezer", &id).join("freezer.state") };
                let s = std::fs::read_to_string(p).unwrap_or_default();
                seen |= s.trim() == "1" || s.trim() == "FROZEN" || s.trim() == "FREEZING";
            }
            seen
        })
    };
    let out = e.ok(&["commit", &c, "snap:1"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let saw_frozen = seen.join().expect("watcher");
    assert!(out.contains("Created: img_"), "{out}");
    assert!(!frozen_in_kernel(&c), "thawed after commit");
    let n = counter(&e, &c);
    wait_for("the counter after commit", Duration::from_secs(5), || counter(&e, &c) > n);
    // best effort: a copy of a tiny upper dir can be faster than our polling
    if !saw_frozen {
        eprintln!("commit_freezes_and_thaws_a_running_container: the freeze was too short to observe");
    }
    // a paused container stays paused through a commit
    e.ok(&["pause", &c]);
    e.ok(&["commit", &c, "snap:2"]);
    assert!(frozen_in_kernel(&c), "still paused after commit");
    e.ok(&["unpause", &c]);
    e.ok(&["rm", "-f", &c]);
}

#[test]
fn fifty_run_rm_cycles_leave_no_cgroup() {
    let e = Env::new();
    let img = e.busybox();
    let mut ids = Vec::new();
    for _ in 0..50 {
        // the hostname defaults to the id, which --rm takes away
        let out = e.ok(&["run", "--rm", "--network", "none", &img, "hostname"]);
        ids.push(out.trim().to_string());
    }
    for id in &ids {
        assert!(id.starts_with("ps_"), "{id}");
        assert!(leftovers(id).is_empty(), "cgroup of {id} left: {:?}", leftovers(id));
    }
    if v2() {
        assert!(Path::new("/sys/fs/cgroup/bocker").is_dir(), "the shared parent stays");
    }
}

/// Runs a Lua script with `bocker script`; asserts success.
fn script(e: &Env, name: &str, lua: &str) {
    let f = e.home().join(name);
    std::fs::write(&f, lua).unwrap();
    let o = e.run(&["script", f.to_str().unwrap()]);
    assert!(o.status.success(), "{lua}: {}", text(&o.stderr));
}

#[test]
fn cpus_cpuset_swap_and_reservation_reach_the_cgroup_and_update_changes_them() {
    let e = Env::new();
    let img = e.busybox();
    // a v2 host whose root does not offer cpuset cannot honour --cpuset-cpus
    let cpuset = !v2() || read(Path::new("/sys/fs/cgroup/cgroup.controllers")).split(' ').any(|c| c == "cpuset");
    let mut args = vec!["-m", "64m", "--memory-swap", "128m", "--memory-reservation", "32m", "--cpus", "0.5"];
    if cpuset {
        args.extend(["--cpuset-cpus", "0"]);
    } else {
        eprintln!("note: this cgroup2 root offers no cpuset: --cpuset-cpus not checked here");
    }
    args.extend([img.as_str(), "sleep", "30"]);
    let c = run_d(&e, &[], &args);
    if v2() {
        let leaf = cg_dir("", &c);
        assert_eq!(read(&leaf.join("cpu.max")), "50000 100000");
        if cpuset {
            assert_eq!(read(&leaf.join("cpuset.cpus")), "0");
        }
        assert_eq!(read(&leaf.join("memory.low")), "33554432");
        if leaf.join("memory.swap.max").exists() {
            assert_eq!(read(&leaf.join("memory.swap.max")), "67108864", "v2 counts swap alone: 128m - 64m");
        }
    } else {
        assert_eq!(read(&cg_dir("cpu", &c).join("cpu.cfs_quota_us")), "50000");
        assert_eq!(read(&cg_dir("cpu", &c).join("cpu.cfs_period_us")), "100000");
        assert_eq!(read(&cg_dir("cpuset", &c).join("cpuset.cpus")), "0");
        assert_eq!(read(&cg_dir("memory", &c).join("memory.soft_limit_in_bytes")), "33554432");
        let memsw = cg_dir("memory", &c).join("memory.memsw.limit_in_bytes");
        if memsw.exists() {
            assert_eq!(read(&memsw), "134217728");
        }
    }
    // the process runs on the CPUs asked for
    let pid = init_pid(&e, &c);
    let status = read(Path::new(&format!("/proc/{pid}/status")));
    let allowed = status.lines().find(|l| l.starts_with("Cpus_allowed_list:")).unwrap_or_default().to_string();
    assert!(!cpuset || allowed.ends_with("\t0") || allowed.ends_with(" 0"), "{allowed}");
    // a live update, then the quota removed
    script(&e, "u1.lua", &format!(r#"assert(bocker.container.update("{c}", {{ cpus = 1, memory = 96 * 1024 * 1024, memory_swap = -1 }}))"#));
    if v2() {
        let leaf = cg_dir("", &c);
        assert_eq!(read(&leaf.join("cpu.max")), "100000 100000");
        assert_eq!(read(&leaf.join("memory.max")), "100663296");
        if leaf.join("memory.swap.max").exists() {
            assert_eq!(read(&leaf.join("memory.swap.max")), "max");
        }
    } else {
        assert_eq!(read(&cg_dir("cpu", &c).join("cpu.cfs_quota_us")), "100000");
        assert_eq!(read(&cg_dir("memory", &c).join("memory.limit_in_bytes")), "100663296");
    }
    script(&e, "u2.lua", &format!(r#"assert(bocker.container.update("{c}", {{ cpus = 0 }}))"#));
    if v2() {
        assert_eq!(read(&cg_dir("", &c).join("cpu.max")), "max 100000");
    } else {
        assert_eq!(read(&cg_dir("cpu", &c).join("cpu.cfs_quota_us")), "-1");
    }
    e.ok(&["rm", "-f", &c]);
    assert!(leftovers(&c).is_empty(), "left: {:?}", leftovers(&c));
    // Docker's refusals, before anything is made
    for (args, msg) in [
        (vec!["-m", "64m", "--memory-swap", "32m"], "larger than memory"),
        (vec!["-m", "64m", "--memory-reservation", "128m"], "reservation"),
        (vec!["--cpus", "100000"], "Range of CPUs"),
        (vec!["--cpuset-cpus", "100000"], "not available"),
    ] {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&[&img, "true"]);
        let o = e.run(&all);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(msg), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn without_a_pid_namespace_of_its_own_what_it_leaves_is_killed() {
    let e = Env::new();
    let img = e.busybox();
    // the shell exits at once, leaving a sleep in the host's pid namespace
    let mark = format!("{}", 4000 + std::process::id() % 1000);
    let o = e.run(&["run", "--name", "leaver", "--network", "none", "--pid", "host", &img, "sh", "-c", &format!("sleep {mark} & exit 0")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let id = json(&e, "leaver")["id"].as_str().unwrap().to_string();
    assert!(leftovers(&id).is_empty(), "cgroup left: {:?}", leftovers(&id));
    let left = std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
        std::fs::read_to_string(p.path().join("cmdline")).is_ok_and(|c| c.replace('\0', " ").trim() == format!("sleep {mark}"))
    });
    assert!(!left, "the sleep it left still runs");
    e.ok(&["rm", "leaver"]);
}
