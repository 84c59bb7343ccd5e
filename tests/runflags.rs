//! The run/create flags of #16 on bocker's CLI, in real containers:
//! --ulimit, --shm-size, --sysctl, --group-add, --ipc/--pid/--uts,
//! -v with a relative or missing host folder and :z/:Z, --tmpfs options
//! as Docker parses them, and bocker.container.update. (The cgroup
//! limits --cpus, --cpuset-cpus, --memory-swap, --memory-reservation are
//! in tests/cgroup.rs, which also runs on the v2 guest.)
mod common;
use common::{text, Env};

/// Runs `bocker run --rm --network none ARGS...`; returns stdout, stderr, status.
fn run(e: &Env, args: &[&str]) -> (String, String, i32) {
    let mut all = vec!["run", "--rm", "--network", "none"];
    all.extend_from_slice(args);
    let o = e.run(&all);
    (text(&o.stdout), text(&o.stderr), o.status.code().unwrap_or(-1))
}

fn run_ok(e: &Env, args: &[&str]) -> String {
    let (out, err, code) = run(e, args);
    assert_eq!(code, 0, "run {args:?}: {err}");
    out
}

/// Asserts `run ARGS` fails as bocker's own failure (125) with `msg`.
fn refused(e: &Env, args: &[&str], msg: &str) {
    let (_, err, code) = run(e, args);
    assert_eq!(code, 125, "run {args:?} should fail with 125: {err}");
    assert!(err.contains(msg), "run {args:?}: {msg:?} not in {err}");
}

fn pid_of(e: &Env, id: &str) -> i64 {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", id])).expect("inspect json");
    v[0]["state"]["pid"].as_i64().expect("a running container's pid")
}

fn ns_link(pid: &str, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns link").to_string_lossy().into_owned()
}

#[test]
fn ulimits_apply_to_the_container_and_its_execs() {
    let e = Env::new();
    let img = e.busybox();
    let out = run_ok(&e, &["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=77", &img, "sh", "-c", "ulimit -n; ulimit -Hn; grep 'Max processes' /proc/self/limits"]);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words[..6], ["1024", "2048", "Max", "processes", "77", "77"], "{out}");
    let id = e.ok(&["run", "-d", "--network", "none", "--ulimit", "nofile=555:666", &img, "sleep", "30"]).trim().to_string();
    let ex = e.ok(&["exec", &id, "sh", "-c", "ulimit -n; ulimit -Hn"]);
    assert_eq!(ex.split_whitespace().collect::<Vec<_>>(), ["555", "666"], "exec inherits: {ex}");
    e.ok(&["rm", "-f", &id]);
    refused(&e, &["--ulimit", "nofile=4096:1024", &img, "true"], "soft limit must be less than or equal to hard limit");
    refused(&e, &["--ulimit", "bogus=1", &img, "true"], "invalid ulimit type");
    refused(&e, &["--ulimit", "nofile", &img, "true"], "invalid ulimit argument");
}

#[test]
fn shm_size_and_tmpfs_options_as_docker_parses_them() {
    let e = Env::new();
    let img = e.busybox();
    let mounts = run_ok(&e, &["--shm-size", "16m", "--tmpfs", "/t1", "--tmpfs", "/t2:rw,exec,size=1m,mode=1770", &img, "cat", "/proc/mounts"]);
    let line = |dest: &str| mounts.lines().find(|l| l.split(' ').nth(1) == Some(dest)).unwrap_or_else(|| panic!("{dest} not mounted: {mounts}")).to_string();
    let shm = line("/dev/shm");
    assert!(shm.contains("size=16384k"), "{shm}");
    // docker's defaults for --tmpfs: noexec, nosuid, nodev
    let t1 = line("/t1");
    assert!(t1.contains("nosuid") && t1.contains("nodev") && t1.contains("noexec"), "{t1}");
    // exec given: the default noexec is gone; size and mode are the tmpfs's
    let t2 = line("/t2");
    assert!(!t2.contains("noexec") && t2.contains("nosuid"), "{t2}");
    assert!(t2.contains("size=1024k") && t2.contains("mode=1770"), "{t2}");
    let def = run_ok(&e, &[&img, "cat", "/proc/mounts"]);
    assert!(def.lines().any(|l| l.starts_with("shm /dev/shm ") && l.contains("size=65536k")), "{def}");
    refused(&e, &["--tmpfs", "/t:bogus", &img, "true"], "invalid tmpfs option");
    refused(&e, &["--tmpfs", "/t:size=lots", &img, "true"], "invalid tmpfs option");
    refused(&e, &["--shm-size", "lots", &img, "true"], "--shm-size");
}

#[test]
fn sysctls_only_of_namespaces_the_container_owns() {
    let e = Env::new();
    let img = e.busybox();
    let out = run_ok(&e, &["--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=123456789", &img, "sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax"]);
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["1", "123456789"], "{out}");
    refused(&e, &["--sysctl", "kernel.panic=1", &img, "true"], "not whitelisted");
    refused(&e, &["--sysctl", "net.ipv4/../../kernel/panic=1", &img, "true"], "invalid sysctl name");
    refused(&e, &["--ipc", "host", "--sysctl", "kernel.shmmax=1", &img, "true"], "not allowed in host IPC namespace");
    let o = e.run(&["run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=0", &img, "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("host network"), "{}", text(&o.stderr));
}

#[test]
fn group_add_by_name_and_number() {
    let e = Env::new();
    let img = e.busybox();
    let out = run_ok(&e, &["--user", "www", "--group-add", "nogroup", "--group-add", "1234", &img, "id", "-G"]);
    let groups: Vec<&str> = out.split_whitespace().collect();
    for g in ["33", "65534", "1234"] {
        assert!(groups.contains(&g), "{g} not in {out}");
    }
    // exec'd processes get them too (Docker's exec does)
    let id = e.ok(&["run", "-d", "--network", "none", "--group-add", "1234", &img, "sleep", "30"]).trim().to_string();
    let ex = e.ok(&["exec", &id, "id", "-G"]);
    assert!(ex.split_whitespace().any(|g| g == "1234"), "{ex}");
    e.ok(&["rm", "-f", &id]);
    // a name the image does not know fails the start, as Docker's
    let (_, err, code) = run(&e, &["--group-add", "nosuchgroup", &img, "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("nosuchgroup"), "{err}");
}

#[test]
fn ipc_pid_and_uts_of_the_host() {
    let e = Env::new();
    let img = e.busybox();
    let me = "self";
    let out = run_ok(&e, &["--ipc", "host", "--pid", "host", "--uts", "host", &img, "sh", "-c", "for n in ipc pid uts; do readlink /proc/self/ns/$n; done; hostname"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], ns_link(me, "ipc"));
    assert_eq!(lines[1], ns_link(me, "pid"));
    assert_eq!(lines[2], ns_link(me, "uts"));
    assert_eq!(lines[3], nix::unistd::gethostname().unwrap().to_string_lossy());
    // the host's /dev/shm with --ipc host
    let probe = format!("bocker-runflags-{}", std::process::id());
    std::fs::write(format!("/dev/shm/{probe}"), "x").unwrap();
    let seen = run(&e, &["--ipc", "host", &img, "ls", "/dev/shm"]);
    let _ = std::fs::remove_file(format!("/dev/shm/{probe}"));
    assert!(seen.0.contains(&probe), "{seen:?}");
    // by default: namespaces of its own
    let out = run_ok(&e, &[&img, "sh", "-c", "for n in ipc pid uts; do readlink /proc/self/ns/$n; done"]);
    for (l, ns) in out.lines().zip(["ipc", "pid", "uts"]) {
        assert_ne!(l, ns_link(me, ns), "{ns}");
    }
    refused(&e, &["--uts", "host", "--hostname", "x", &img, "true"], "conflicting options: hostname and the UTS mode");
    refused(&e, &["--pid", "shareable", &img, "true"], "invalid mode");
    refused(&e, &["--uts", "container:x", &img, "true"], "invalid mode");
}

#[test]
fn ipc_and_pid_of_another_container() {
    let e = Env::new();
    let img = e.busybox();
    let donor = e.ok(&["run", "-d", "--network", "none", "--ipc", "shareable", "--name", "donor", &img, "sleep", "60"]).trim().to_string();
    let dpid = pid_of(&e, &donor).to_string();
    e.ok(&["exec", &donor, "sh", "-c", "echo shared > /dev/shm/from-donor"]);
    let out = run_ok(&e, &["--ipc", "container:donor", "--pid", "container:donor", &img, "sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid; ps -o comm"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], ns_link(&dpid, "ipc"), "{out}");
    assert_eq!(lines[1], ns_link(&dpid, "pid"), "{out}");
    assert!(lines.iter().any(|l| l.trim() == "sleep"), "the donor's process is seen: {out}");
    // and its /dev/shm, both ways
    let shm = run_ok(&e, &["--ipc", "container:donor", &img, "sh", "-c", "cat /dev/shm/from-donor; echo back > /dev/shm/from-joiner"]);
    assert_eq!(shm.trim(), "shared");
    assert_eq!(e.ok(&["exec", &donor, "cat", "/dev/shm/from-joiner"]).trim(), "back");
    // the shareable /dev/shm is a tmpfs the donor's monitor mounted in
    // the store; it goes with the donor's run
    let shm_dir = e.root().join("containers").join(&donor).join("shm");
    let mounted = || std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().any(|l| l.split(' ').nth(4) == Some(shm_dir.to_str().unwrap()));
    assert!(mounted(), "no tmpfs at {}", shm_dir.display());
    // a private (not shareable) donor is refused, as Docker's
    let private = e.ok(&["run", "-d", "--network", "none", &img, "sleep", "60"]).trim().to_string();
    let (_, err, code) = run(&e, &["--ipc", &format!("container:{private}"), &img, "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("non-shareable IPC"), "{err}");
    refused(&e, &["--pid", "container:nosuchcontainer", &img, "true"], "nosuchcontainer");
    // a stopped donor cannot be joined, and its /dev/shm is unmounted
    e.ok(&["stop", "-t", "0", &donor]);
    assert!(!mounted(), "the shareable /dev/shm outlived the donor's run");
    let (_, err, code) = run(&e, &["--ipc", "container:donor", &img, "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("non running container"), "{err}");
    let (_, err, code) = run(&e, &["--pid", "container:donor", &img, "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("non running container"), "{err}");
    e.ok(&["rm", "-f", &donor, &private]);
}

#[test]
fn binds_relative_missing_and_relabel_modes() {
    let e = Env::new();
    let img = e.busybox();
    let work = e.home().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // ./data relative to the cwd, made because it is missing
    let o = e.cmd(&["run", "--rm", "--network", "none", "-v", "./data:/data:z", &img, "sh", "-c", "echo hi > /data/f"]).current_dir(&work).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(work.join("data/f")).unwrap(), "hi\n");
    // an absolute missing one is made too, and :ro,Z is read-only
    let missing = e.home().join("made/by/v");
    let (_, err, code) = run(&e, &["-v", &format!("{}:/m:ro,Z", missing.display()), &img, "touch", "/m/x"]);
    assert!(missing.is_dir(), "-v made the missing folder");
    assert_ne!(code, 0, "read-only: {err}");
    // --mount does not make it (Docker's rule)
    let absent = e.home().join("absent");
    refused(&e, &["--mount", &format!("type=bind,src={},dst=/a", absent.display()), &img, "true"], "does not exist");
    assert!(!absent.exists());
    refused(&e, &["-v", "/tmp:/x:rshared", &img, "true"], "propagation");
    refused(&e, &["-v", "/tmp:/x:bogus", &img, "true"], "invalid mode");
}

/// Runs a Lua script with `bocker script`; returns stdout.
fn script(e: &Env, lua: &str) -> std::process::Output {
    let f = e.home().join(format!("s{}.lua", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()));
    std::fs::write(&f, lua).unwrap();
    e.run(&["script", f.to_str().unwrap()])
}

#[test]
fn update_changes_a_running_containers_cgroup_and_record() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "--network", "none", "-m", "64m", &img, "sleep", "60"]).trim().to_string();
    let o = script(&e, &format!(
        r#"local id, err = bocker.container.update("{id}", {{ memory = 96 * 1024 * 1024, cpus = 0.5, pids_limit = 40, cpu_shares = 300, restart = "on-failure:2" }})
        assert(id, err)
        local c = bocker.container.get(id)
        print(c.limits.memory, c.limits.nano_cpus, c.limits.pids, c.limits.cpu_shares, c.restart)"#
    ));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("100663296\t500000000\t40\t300\t"), "{out}");
    assert!(out.contains("on-failure"), "{out}");
    let v2 = nix::sys::statfs::statfs("/sys/fs/cgroup").is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    let read = |p: String| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")).trim().to_string();
    if v2 {
        let leaf = format!("/sys/fs/cgroup/bocker/{id}");
        assert_eq!(read(format!("{leaf}/memory.max")), "100663296");
        assert_eq!(read(format!("{leaf}/cpu.max")), "50000 100000");
        assert_eq!(read(format!("{leaf}/pids.max")), "40");
    } else {
        assert_eq!(read(format!("/sys/fs/cgroup/memory/{id}/memory.limit_in_bytes")), "100663296");
        assert_eq!(read(format!("/sys/fs/cgroup/cpu/{id}/cpu.cfs_quota_us")), "50000");
        assert_eq!(read(format!("/sys/fs/cgroup/cpu/{id}/cpu.shares")), "300");
        assert_eq!(read(format!("/sys/fs/cgroup/pids/{id}/pids.max")), "40");
    }
    // bad values and keys change nothing
    let o = script(&e, &format!(r#"print(bocker.container.update("{id}", {{ memory = 1024 }}))"#));
    assert!(text(&o.stdout).contains("minimum memory"), "{}", text(&o.stdout));
    let o = script(&e, &format!(r#"print(bocker.container.update("{id}", {{ memroy = 1 }}))"#));
    assert!(!o.status.success() && text(&o.stderr).contains("memroy"), "unknown key: {}", text(&o.stderr));
    let o = script(&e, r#"print(bocker.container.update("nosuch", { memory = 8000000 }))"#);
    assert!(text(&o.stdout).starts_with("nil"), "{}", text(&o.stdout));
    // a restart keeps the new limits
    e.ok(&["stop", "-t", "0", &id]);
    e.ok(&["start", &id]);
    if v2 {
        assert_eq!(read(format!("/sys/fs/cgroup/bocker/{id}/memory.max")), "100663296");
    } else {
        assert_eq!(read(format!("/sys/fs/cgroup/memory/{id}/memory.limit_in_bytes")), "100663296");
        assert_eq!(read(format!("/sys/fs/cgroup/cpu/{id}/cpu.cfs_quota_us")), "50000");
    }
    // --rm containers keep restart "no"
    let rm = e.ok(&["create", "--rm", "--network", "none", &img, "true"]).trim().to_string();
    let o = script(&e, &format!(r#"print(bocker.container.update("{rm}", {{ restart = "always" }}))"#));
    assert!(text(&o.stdout).contains("AutoRemove"), "{}", text(&o.stdout));
    e.ok(&["rm", "-f", &id, &rm]);
}

#[test]
fn a_killed_monitors_shareable_shm_is_unmounted_by_rm() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "--network", "none", "--ipc", "shareable", &img, "sleep", "60"]).trim().to_string();
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", &id])).expect("inspect json");
    let (pid, monitor) = (v[0]["state"]["pid"].as_i64().unwrap() as i32, v[0]["state"]["monitor_pid"].as_i64().unwrap() as i32);
    let dir = e.root().join("containers").join(&id).join("shm");
    let mounted = || std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().any(|l| l.split(' ').nth(4) == Some(dir.to_str().unwrap()));
    assert!(mounted());
    for p in [monitor, pid] {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::SIGKILL).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(mounted(), "nothing unmounted it yet");
    e.ok(&["rm", "-f", &id]);
    assert!(!mounted(), "rm left the shareable /dev/shm mounted");
}
