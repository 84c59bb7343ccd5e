//! Containers on the real kernel: namespaces, overlay, cgroups, exit codes,
//! detach/logs/exec/stop/rm, parallel starts, nothing left behind.
mod common;
use common::{cgroups_of, text, Env};

#[test]
fn init_errors_and_images() {
    let e = Env::new();
    let o = e.run(&["init", "/nonexistent-dir"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr).lines().count(), 1, "{}", text(&o.stderr));
    let f = e.dir.path().join("file");
    std::fs::write(&f, "x").unwrap();
    assert_eq!(e.run(&["init", f.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(e.ok(&["images", "-q"]), "", "nothing created by failed init");
    let img = e.busybox();
    assert!(img.starts_with("img_"));
    let out = e.ok(&["images"]);
    assert!(out.starts_with("IMAGE_ID") && out.contains("SOURCE") && out.contains(&img), "{out}");
    assert_eq!(e.ok(&["images", "-q"]).trim(), img);
    // tag, then resolve by name and by unique prefix
    e.ok(&["tag", &img, "bb:1"]);
    assert_eq!(e.ok(&["run", "--rm", "bb:1", "echo", "byname"]), "byname\n");
    assert_eq!(e.ok(&["run", "--rm", &img[..8], "echo", "byprefix"]), "byprefix\n");
    assert!(e.ok(&["images"]).contains("bb:1"));
}

/// The seed's flow: `bocker commit ps_X img_Y` on the image the container
/// came from replaces that image in place: it keeps its id, stays listed,
/// has the container's change, and is not its own parent.
#[test]
fn seed_commit_replaces_the_image_in_place() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["run", &img, "sh", "-c", "echo committed > /seed-file"]);
    let ps = e.ok(&["ps", "-q"]).trim().to_string();
    let out = e.ok(&["commit", &ps, &img]);
    assert_eq!(out, format!("Removed: {img}\nCreated: {img}\n"));
    assert_eq!(e.ok(&["images", "-q"]).trim(), img, "the replaced image is still listed");
    let rec = e.ok(&["inspect", &img]);
    let v: serde_json::Value = serde_json::from_str(&rec).unwrap();
    let v = if v.is_array() { v[0].clone() } else { v };
    assert_ne!(v["parent"].as_str(), Some(img.as_str()), "the image names itself as its parent: {rec}");
    assert_eq!(e.ok(&["run", "--rm", &img, "cat", "/seed-file"]), "committed\n");
    // and again: a second commit onto the same image
    e.ok(&["run", &img, "sh", "-c", "echo twice >> /seed-file"]);
    let ps2 = e.ok(&["ps", "-q"]).lines().last().unwrap().to_string();
    e.ok(&["commit", &ps2, &img]);
    assert_eq!(e.ok(&["images", "-q"]).trim(), img);
    assert_eq!(e.ok(&["run", "--rm", &img, "cat", "/seed-file"]), "committed\ntwice\n");
}

#[test]
fn run_output_exit_codes_and_isolation() {
    let e = Env::new();
    let img = e.busybox();
    // arguments arrive exactly as given
    assert_eq!(e.ok(&["run", &img, "echo", "a  b", "$HOME", "*"]), "a  b $HOME *\n");
    assert_eq!(e.run(&["run", &img, "sh", "-c", "exit 3"]).status.code(), Some(3));
    let o = e.run(&["run", &img, "no-such-cmd"]);
    assert_eq!(o.status.code(), Some(127));
    assert!(text(&o.stderr).contains("executable file not found"), "{}", text(&o.stderr));
    assert_eq!(e.run(&["run", &img, "/etc/passwd"]).status.code(), Some(126));
    // (no name that could send a pull off this machine)
    assert_eq!(e.run(&["run", "--pull", "never", "no-such-image", "true"]).status.code(), Some(125));
    assert_eq!(e.run(&["run", "img_0000000000", "true"]).status.code(), Some(125));
    // pid namespace: the command is PID 1 and alone
    let ps = e.ok(&["run", &img, "ps", "-o", "pid,args"]);
    let lines: Vec<&str> = ps.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "{ps}");
    assert!(lines[0].trim().starts_with("1 ps"), "{ps}");
    // hostname is the container id
    let host = e.ok(&["run", "--name", "hn", &img, "hostname"]);
    let id = e.ok(&["ps", "-q"]).lines().last().unwrap().to_string();
    assert_eq!(host.trim(), id);
    // --network none: loopback only
    let links = e.ok(&["run", "--network", "none", &img, "ls", "/sys/class/net"]);
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), vec!["lo"]);
    // /sys read-only, /proc/sys read-only, /dev populated
    assert_ne!(e.run(&["run", &img, "touch", "/sys/x"]).status.code(), Some(0));
    assert_ne!(e.run(&["run", &img, "sh", "-c", "echo 1 > /proc/sys/kernel/domainname"]).status.code(), Some(0));
    let dev = e.ok(&["run", &img, "ls", "/dev"]);
    for d in ["null", "zero", "random", "urandom", "tty", "pts", "shm", "full"] {
        assert!(dev.split_whitespace().any(|x| x == d), "/dev lacks {d}: {dev}");
    }
    // capabilities are Docker's default set, nothing inheritable,
    // no_new_privs off (Docker's default: sudo in an image works)
    let status = e.ok(&["run", &img, "cat", "/proc/self/status"]);
    assert!(status.contains("CapBnd:\t00000000a80425fb"), "{status}");
    assert!(status.contains("CapEff:\t00000000a80425fb"), "{status}");
    assert!(status.contains("CapInh:\t0000000000000000"), "{status}");
    assert!(status.contains("NoNewPrivs:\t0"), "{status}");
    // no fd of bocker's leaks: only 0, 1, 2 (and ls's own dir fd)
    let fds = e.ok(&["run", &img, "ls", "/proc/self/fd"]);
    assert_eq!(fds.split_whitespace().collect::<Vec<_>>(), vec!["0", "1", "2", "3"], "{fds}");
    // env, workdir, user, entrypoint
    assert_eq!(e.ok(&["run", "-e", "A=1", "-w", "/tmp", &img, "sh", "-c", "echo $A $PWD"]), "1 /tmp\n");
    assert_eq!(e.ok(&["run", "-u", "www", &img, "id", "-u"]), "33\n");
    assert_eq!(e.ok(&["run", "--entrypoint", "echo", &img, "via", "ep"]), "via ep\n");
    let envf = e.dir.path().join("env");
    std::fs::write(&envf, "# comment\nFROMFILE=yes\n").unwrap();
    assert_eq!(e.ok(&["run", "--env-file", envf.to_str().unwrap(), &img, "sh", "-c", "echo $FROMFILE"]), "yes\n");
    assert_eq!(e.ok(&["run", "--hostname", "box", &img, "hostname"]), "box\n");
}

#[test]
fn writes_land_in_the_upper_dir_not_the_image() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["run", "--name", "w", &img, "sh", "-c", "echo data > /newfile; rm /etc/os-release"]);
    let id = e.ok(&["ps", "-q"]).trim().to_string();
    let upper = e.root().join("containers").join(&id).join("upper");
    assert_eq!(std::fs::read_to_string(upper.join("newfile")).unwrap(), "data\n");
    // the image is untouched
    assert_eq!(e.ok(&["run", "--rm", &img, "cat", "/etc/os-release"]), "busybox rootfs\n");
    assert_eq!(e.run(&["run", "--rm", &img, "cat", "/newfile"]).status.code(), Some(1));
    // and no mount of the container is visible on the host
    assert_eq!(common::mounts_under(&e.root()), 0);
}

#[test]
fn cgroup_limits_seed_defaults_and_overrides() {
    let e = Env::new();
    let img = e.busybox();
    let v2 = nix::sys::statfs::statfs("/sys/fs/cgroup").is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    // a cgroup namespace: the container sees its own cgroup as its root
    // (v1: every hierarchy at /; v2: the one line 0::/)
    let own_root = |cg: &str| if v2 { cg.trim() == "0::/" } else { cg.lines().any(|l| l.ends_with(":memory:/")) && cg.lines().any(|l| l.ends_with(":cpu:/")) };
    let cg = e.ok(&["run", &img, "cat", "/proc/1/cgroup"]);
    let id = e.ok(&["ps", "-q"]).trim().to_string();
    assert!(own_root(&cg) && !cg.contains(&id), "{cg}");
    let ns = e.ok(&["run", "--rm", &img, "readlink", "/proc/self/ns/cgroup"]);
    assert_ne!(ns.trim(), std::fs::read_link("/proc/self/ns/cgroup").unwrap().to_string_lossy(), "shares the host's cgroup namespace");
    // a limit file of a running container: (v1 controller, v1 file, v2 file)
    let limit = |c: &str, ctl: &str, f1: &str, f2: &str| {
        let p = if v2 { format!("/sys/fs/cgroup/bocker/{c}/{f2}") } else { format!("/sys/fs/cgroup/{ctl}/{c}/{f1}") };
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")).trim().to_string()
    };
    let cpu = |c: &str| limit(c, "cpu", "cpu.shares", "cpu.weight");
    let mem = |c: &str| limit(c, "memory", "memory.limit_in_bytes", "memory.max");
    // defaults (cpu.shares 512 is cpu.weight 20 on v2), read while it runs
    let c = e.ok(&["run", "-d", &img, "sleep", "30"]).trim().to_string();
    assert_eq!(cpu(&c), if v2 { "20" } else { "512" });
    assert_eq!(mem(&c), "512000000");
    // exec joins the container's cgroup and its cgroup namespace
    let ecg = e.ok(&["exec", &c, "cat", "/proc/self/cgroup"]);
    assert!(own_root(&ecg) && !ecg.contains(&c), "{ecg}");
    e.ok(&["rm", "-f", &c]);
    assert!(cgroups_of(&c).is_empty() && !std::path::Path::new(&format!("/sys/fs/cgroup/bocker/{c}")).exists(), "cgroup left");
    // the seed's environment overrides (1024 shares: weight 39)
    let out = e.cmd(&["run", "-d", &img, "sleep", "30"]).env("BOCKER_CPU_SHARE", "1024").env("BOCKER_MEM_LIMIT", "1024").output().unwrap();
    let c = text(&out.stdout).trim().to_string();
    assert_eq!(cpu(&c), if v2 { "39" } else { "1024" });
    assert_eq!(mem(&c), "1024000000");
    e.ok(&["rm", "-f", &c]);
    // flags win (256 shares: weight 10)
    let c = e.ok(&["run", "-d", "--cpu-shares", "256", "-m", "64m", "--pids-limit", "20", &img, "sleep", "30"]).trim().to_string();
    assert_eq!(cpu(&c), if v2 { "10" } else { "256" });
    assert_eq!(mem(&c), "67108864");
    assert_eq!(limit(&c, "pids", "pids.max", "pids.max"), "20");
    e.ok(&["rm", "-f", &c]);
    assert_eq!(e.run(&["run", "-m", "lots", &img, "true"]).status.code(), Some(125));
}

#[test]
fn oom_kill_gives_137() {
    let e = Env::new();
    let img = e.busybox();
    // touch 200 MB under a 32 MB limit
    let o = e.run(&["run", "-m", "32m", &img, "sh", "-c", "head -c 200000000 /dev/zero | tr '\\0' x > /dev/shm/f; dd if=/dev/zero bs=1M count=200 | cat > /dev/null; x=$(head -c 100000000 /dev/zero | tr '\\0' y); echo survived"]);
    assert_eq!(o.status.code(), Some(137), "stdout {} stderr {}", text(&o.stdout), text(&o.stderr));
    // bocker itself is fine and recorded it
    let ps = e.ok(&["ps"]);
    assert!(ps.contains("Exited (137)"), "{ps}");
}

#[test]
fn detach_logs_exec_stop_rm() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "--name", "web", &img, "sh", "-c", "echo start; i=0; while [ $i -lt 3 ]; do echo tick $i; i=$((i+1)); sleep 0.2; done; echo done; sleep 30; true"]).trim().to_string();
    assert!(id.starts_with("ps_"));
    let ps = e.ok(&["ps"]);
    assert!(ps.contains("Up ") && ps.contains("web"), "{ps}");
    // exec joins the namespaces; env from -e
    let out = e.ok(&["exec", "-e", "X=42", "web", "sh", "-c", "echo $X $(hostname); ps -o pid,args"]);
    assert!(out.starts_with(&format!("42 {id}\n")), "{out}");
    assert!(out.contains("1 sh -c"), "{out}");
    // logs --tail and -f (follows until the container stops); a slow
    // machine (the emulated guest) may take a while to get to "done"
    let t0 = std::time::Instant::now();
    while e.ok(&["logs", "--tail", "1", &id]) != "done\n" && t0.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(e.ok(&["logs", "--tail", "1", &id]), "done\n");
    let follower = e.cmd(&["logs", "-f", "web"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    e.ok(&["stop", "-t", "1", "web"]);
    let out = follower.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "start\ntick 0\ntick 1\ntick 2\ndone\n");
    let ps = e.ok(&["ps"]);
    assert!(ps.contains("Exited (137)"), "{ps}");
    // exec into a stopped container
    let o = e.run(&["exec", "web", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains(&format!("Container '{id}' exists but is not running")));
    assert_eq!(e.ok(&["rm", "web"]), format!("Removed: {id}\n"));
    assert_eq!(e.ok(&["ps", "-q"]), "");
}

#[test]
fn rm_refuses_running_unless_forced_and_kill_signals() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", &img, "sleep", "60"]).trim().to_string();
    let o = e.run(&["rm", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("cannot remove a running container"));
    e.ok(&["kill", "-s", "TERM", &id]); // PID 1 ignores TERM without a handler
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(e.ok(&["ps"]).contains("Up "));
    e.ok(&["kill", &id]);
    assert_eq!(e.ok(&["wait", &id]).trim(), "137");
    let id2 = e.ok(&["run", "-d", &img, "sleep", "60"]).trim().to_string();
    assert_eq!(e.ok(&["rm", "-f", &id2]), format!("Removed: {id2}\n"));
    assert!(cgroups_of(&id2).is_empty());
    // a name is unique
    e.ok(&["run", "--name", "one", &img, "true"]);
    let o = e.run(&["run", "--name", "one", &img, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("already in use"));
}

#[test]
fn json_ps_and_rm_flag() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["run", "--name", "j", &img, "true"]);
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["ps", "--format", "json"])).unwrap();
    assert_eq!(j[0]["name"], "j");
    assert_eq!(j[0]["exit_code"], 0);
    e.ok(&["run", "--rm", &img, "true"]);
    assert_eq!(e.ok(&["ps", "-q"]).lines().count(), 1, "--rm container is gone");
}

#[test]
fn twenty_parallel_containers_get_distinct_ids() {
    let e = Env::new();
    let img = e.busybox();
    let children: Vec<_> = (0..20)
        .map(|i| e.cmd(&["run", &img, "echo", &format!("n{i}")]).stdout(std::process::Stdio::piped()).spawn().unwrap())
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "container {i} failed: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), format!("n{i}\n"));
    }
    let ids = e.ok(&["ps", "-q"]);
    let mut v: Vec<&str> = ids.lines().collect();
    assert_eq!(v.len(), 20);
    v.sort();
    v.dedup();
    assert_eq!(v.len(), 20, "ids collide");
}

#[test]
fn run_rm_cycles_leave_nothing_behind() {
    let e = Env::new();
    let img = e.busybox();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(e.ok(&["run", "-d", &img, "sleep", "30"]).trim().to_string());
    }
    e.ok(&["run", &img, "true"]);
    ids.push(e.ok(&["ps", "-q"]).lines().last().unwrap().to_string());
    // a monitor started ahead of its container names it once told (its
    // command line, as `ps` and pgrep see it)
    for id in &ids[..5] {
        let procs = std::process::Command::new("pgrep").args(["-f", &format!("__shim .* {id} detach")]).output().unwrap();
        assert_eq!(text(&procs.stdout).lines().count(), 1, "the monitor of {id} by its command line");
    }
    for id in &ids {
        e.ok(&["rm", "-f", id]);
    }
    for id in &ids {
        assert!(cgroups_of(id).is_empty(), "cgroup of {id} left");
        let procs = std::process::Command::new("pgrep").args(["-f", &format!("__shim .* {id}")]).output().unwrap();
        assert!(procs.stdout.is_empty(), "monitor of {id} left");
    }
    assert_eq!(common::mounts_under(&e.root()), 0);
    assert!(std::fs::read_dir(e.root().join("containers")).unwrap().next().is_none());
}

#[test]
fn a_monitor_started_ahead_ends_with_a_failed_create() {
    // `run` starts the monitor as soon as its flags parse; a create that
    // fails after that (no such image, a bad flag value) leaves no monitor
    let e = Env::new();
    let img = e.busybox();
    let mine = || {
        let o = std::process::Command::new("pgrep").args(["-f", &format!("__shim {} ", e.root().display())]).output().unwrap();
        text(&o.stdout).lines().count()
    };
    for args in [vec!["run", "--rm", "img_0000000000", "true"], vec!["run", "-d", "--memory", "lots", &img, "true"], vec!["run", "--ulimit", "nofile=x", &img, "true"]] {
        let o = e.run(&args);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", text(&o.stderr));
        let t = std::time::Instant::now();
        while mine() > 0 {
            assert!(t.elapsed() < std::time::Duration::from_secs(5), "a monitor of {args:?} was left");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    // and one that is told its container runs it, foreground and detached
    assert_eq!(e.run(&["run", "--rm", "--network", "none", &img, "sh", "-c", "exit 7"]).status.code(), Some(7));
    let id = e.ok(&["run", "-d", "--network", "none", &img, "sleep", "30"]).trim().to_string();
    assert!(e.ok(&["ps", "-q"]).contains(&id));
    e.ok(&["rm", "-f", &id]);
    assert_eq!(mine(), 0, "monitors left");
}

#[test]
fn foreground_rm_returns_once_settled_and_its_files_follow() {
    // the monitor reports the exit once the record is settled (name free,
    // out of `ps -a`) and deletes the folder after: each run here reuses
    // the name at once, and the output arrives whole through a pipe
    let e = Env::new();
    let img = e.busybox();
    for i in 0..3 {
        let o = e.run(&["run", "--rm", "--name", "again", "--network", "none", &img, "sh", "-c", &format!("echo out{i}; echo err{i} >&2; exit {}", 3 + i)]);
        assert_eq!(o.status.code(), Some(3 + i), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), format!("out{i}\n"));
        assert_eq!(text(&o.stderr), format!("err{i}\n"));
        assert_eq!(e.ok(&["ps", "-a", "-q"]), "");
    }
    let tmp = e.root().join("tmp");
    let t = std::time::Instant::now();
    while std::fs::read_dir(&tmp).unwrap().next().is_some() {
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "trash left: {:?}", std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.file_name()).collect::<Vec<_>>());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(std::fs::read_dir(e.root().join("containers")).unwrap().next().is_none());
    assert_eq!(common::mounts_under(&e.root()), 0);

    // a hostile container plants links to host paths in its upper dir: the
    // deletion after the report removes the links, never what they name
    let victim_dir = e.dir.path().join("victim");
    std::fs::create_dir_all(victim_dir.join("sub")).unwrap();
    std::fs::write(victim_dir.join("sub/keep"), "host data").unwrap();
    let script = format!("ln -s {v} /dirlink; ln -s {v}/sub/keep /filelink; mkdir -p /deep; ln -s {v}/sub /deep/sub", v = victim_dir.display());
    let o = e.run(&["run", "--rm", "--network", "none", &img, "sh", "-c", &script]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = std::time::Instant::now();
    while std::fs::read_dir(&tmp).unwrap().next().is_some() {
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "trash left");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(std::fs::read_to_string(victim_dir.join("sub/keep")).unwrap(), "host data");
}

#[test]
fn interactive_stdin_and_a_terminal() {
    let e = Env::new();
    let img = e.busybox();
    // -i: stdin reaches the container
    let mut c = e.cmd(&["run", "-i", "--rm", &img, "sh", "-c", "cat; echo end"]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped in\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(text(&o.stdout), "piped in\nend\n");
    // -it: a pty of the container's own devpts, typed into through expect
    let exp = e.dir.path().join("tty.exp");
    std::fs::write(
        &exp,
        format!(
            r##"set timeout 10
spawn {bin} run -it --rm {img} sh
expect_after {{ timeout {{ puts TIMEOUT; exit 99 }} eof {{ puts EOF; exit 98 }} }}
expect "# "
send "tty; echo \$((6*7))\r"
expect "/dev/pts/0"
expect "42"
expect "# "
send "exit 5\r"
expect_after
expect eof
catch wait result
exit [lindex $result 3]
"##,
            bin = common::bin()
        ),
    )
    .unwrap();
    let o = e.expect(&exp);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stdout));
    // -d -t: the terminal's output goes to the log
    let id = e.ok(&["run", "-d", "-t", &img, "sh", "-c", "tty"]).trim().to_string();
    assert_eq!(e.ok(&["wait", &id]).trim(), "0");
    assert_eq!(e.ok(&["logs", &id]).replace('\r', ""), "/dev/pts/0\n");
    // exec -it gets a pty of its own in the container
    let id = e.ok(&["run", "-d", &img, "sleep", "60"]).trim().to_string();
    std::fs::write(
        &exp,
        format!(
            r##"set timeout 10
spawn {bin} exec -it {id} sh
expect_after {{ timeout {{ puts TIMEOUT; exit 99 }} eof {{ puts EOF; exit 98 }} }}
expect "# "
send "tty\r"
expect "/dev/pts/"
expect "# "
send "exit 4\r"
expect_after
expect eof
catch wait result
exit [lindex $result 3]
"##,
            bin = common::bin()
        ),
    )
    .unwrap();
    let o = e.expect(&exp);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stdout));
}

#[test]
fn a_killed_monitor_is_reclaimed_by_rm() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", &img, "sleep", "60"]).trim().to_string();
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(e.root().join("containers").join(&id).join("state.json")).unwrap()).unwrap();
    let monitor = st["monitor_pid"].as_i64().unwrap() as i32;
    let pid = st["pid"].as_i64().unwrap() as i32;
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    std::thread::sleep(std::time::Duration::from_millis(100));
    // the container outlives its monitor; ps still tells the truth
    assert!(e.ok(&["ps"]).contains("Up "));
    e.ok(&["rm", "-f", &id]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "container process left");
    assert!(cgroups_of(&id).is_empty(), "cgroup left");
    assert_eq!(e.ok(&["ps", "-q"]), "");
}

#[test]
fn lua_scripts_drive_containers_through_handles() {
    let e = Env::new();
    let img = e.busybox();
    let script = e.dir.path().join("h.lua");
    std::fs::write(
        &script,
        r#"
local img = assert(bocker.image.open(arg[1]))
local c, status = img:run{ cmd = {"sh", "-c", "echo from-lua; exit 7"}, name = "hdl" }
assert(status == 7, "status " .. tostring(status))
assert(bocker.container.open("hdl") == c)
local d = img:run{ cmd = {"sleep", "30"}, detach = true }
assert(d:info().running)
assert(d:exec{ args = {"true"} } == 0)
d:stop(0.2)
assert(d:wait() == 137)
d:remove(); c:remove()
local none, err = bocker.container.open("hdl")
assert(none == nil and err:find("No such container"), err)
print("ok")
"#,
    )
    .unwrap();
    let out = e.ok(&["script", script.to_str().unwrap(), &img]);
    assert_eq!(out, "from-lua\nok\n");
}

#[test]
fn create_start_and_restart_keep_the_container() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["create", "--name", "keeper", &img, "sh", "-c", "echo run >> /count; wc -l < /count"]).trim().to_string();
    assert!(e.ok(&["ps"]).contains("Created"));
    // -a: attached, the container's status
    assert_eq!(e.ok(&["start", "-a", "keeper"]), "1\n");
    // the same root filesystem the second time
    assert_eq!(e.ok(&["start", "-a", &id]), "2\n");
    e.ok(&["start", "keeper"]);
    assert_eq!(e.ok(&["wait", "keeper"]).trim(), "0");
    assert_eq!(e.ok(&["logs", "--tail", "1", "keeper"]), "3\n");
    // restart of a running one; start of a running one is a no-op
    let s = e.ok(&["run", "-d", "--name", "sleeper", &img, "sleep", "60"]).trim().to_string();
    let pid_before = e.ok(&["inspect", "--bocker", "sleeper"]);
    e.ok(&["start", "sleeper"]);
    assert_eq!(e.ok(&["inspect", "--bocker", "sleeper"]), pid_before, "start of a running container changed it");
    e.ok(&["restart", "-t", "0", "sleeper"]);
    assert!(e.ok(&["ps"]).lines().any(|l| l.contains(&s) && l.contains("Up ")));
    e.ok(&["rm", "-f", "sleeper", "keeper"]);
}

#[test]
fn prune_removes_exited_containers_and_dangling_images() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["tag", &img, "keep:1"]);
    let other = e.busybox(); // untagged and unused: dangling
    e.ok(&["run", "-v", "/anon", &img, "true"]);
    let running = e.ok(&["run", "-d", &img, "sleep", "30"]).trim().to_string();
    let out = e.ok(&["prune"]);
    assert!(out.contains(&other), "{out}");
    assert_eq!(e.ok(&["ps", "-q"]).trim(), running, "only the running container stays");
    let imgs = e.ok(&["images", "-q"]);
    assert!(imgs.contains(&img) && !imgs.contains(&other), "{imgs}");
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "", "anonymous volume pruned");
    e.ok(&["rm", "-f", &running]);
    e.ok(&["prune", "-a"]);
    assert_eq!(e.ok(&["images", "-q"]), "");
}

/// A detached container keeps the small monitor binary (bocker-monitor
/// beside bocker), which refuses a caller of another build; bocker copied
/// alone runs its monitor from itself.
#[test]
fn the_monitor_binary_is_used_checked_and_optional() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "--network", "none", &img, "sleep", "60"]).trim().to_string();
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(e.root().join("containers").join(&id).join("state.json")).unwrap()).unwrap();
    let mon = state["monitor_pid"].as_u64().expect("monitor_pid in state.json");
    let comm = std::fs::read_to_string(format!("/proc/{mon}/comm")).unwrap();
    e.ok(&["rm", "-f", &id]);
    assert_eq!(comm.trim(), "bocker-monitor");
    // a caller of another build
    let monitor = std::path::Path::new(common::bin()).with_file_name("bocker-monitor");
    let o = std::process::Command::new(&monitor).args(["__shim", "/nonexistent", "ps_x", "fg"]).env("BOCKER_BUILD_ID", "0.0.0-stale").output().unwrap();
    assert_eq!(o.status.code(), Some(125));
    let err = text(&o.stderr);
    assert!(err.contains("another build") || err.contains("install both from one build"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // bocker alone (no monitor beside it) still runs containers
    let alone = e.dir.path().join("alone");
    std::fs::create_dir(&alone).unwrap();
    // copied by cp, not by this process: a write descriptor of ours could be
    // inherited by another test thread's fork and make the exec ETXTBSY
    assert!(std::process::Command::new("cp").arg(common::bin()).arg(alone.join("bocker")).status().unwrap().success());
    let o = {
        let mut cmd = e.cmd(&["run", "--rm", "--network", "none", &img, "echo", "alone"]);
        let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
        let envs: Vec<_> = cmd.get_envs().map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned()))).collect();
        cmd = std::process::Command::new(alone.join("bocker"));
        cmd.args(args).stdin(std::process::Stdio::null());
        for (k, v) in envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.output().unwrap()
    };
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "alone\n");
}
