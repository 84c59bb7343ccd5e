//! Crash consistency: a kill -9 at each state transition of create, start,
//! run, commit, rm, pull and volume create (the test-only crash points,
//! `BOCKER_CRASH_AT=POINT`: see src/crashpoint.rs) leaves a store that the
//! next `ps -a`, `run --rm`, `rm -f` and `prune` accept and repair, the
//! name can be used again, and nothing leaks: no mount under the test root,
//! no cgroup, veth, bridge, iptables rule or process of the test, no lease,
//! no staging leftover, no orphan layer.
mod common;
#[path = "regsupport/mod.rs"]
mod reg;
use common::{text, Env};
use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const NAME: &str = "web";

/// The image every test runs, tagged so that `prune` (dangling images
/// only) keeps it.
fn image(e: &Env) -> String {
    let id = e.busybox();
    e.ok(&["tag", &id, "bb:crash"]);
    "bb:crash".to_string()
}

/// How a crashed command ended: the CLI itself killed (a point in the CLI
/// process), or the CLI reporting its monitor killed by SIGKILL (128 + 9).
fn assert_killed(point: &str, o: &Output) {
    let by_sigkill = o.status.signal() == Some(libc::SIGKILL) || o.status.code() == Some(137);
    assert!(by_sigkill, "{point}: expected a death by SIGKILL, got {} ({})", o.status, text(&o.stderr));
}

/// Runs `args` with the crash point armed; asserts it died by SIGKILL.
/// Its output goes to files, not pipes: a process the kill orphaned (a
/// container's init whose monitor died before saying go) may hold them
/// until the next `rm` or `prune` kills it.
fn crash(e: &Env, point: &str, args: &[&str]) {
    let out = tempfile::tempfile().unwrap();
    let mut err = tempfile::tempfile().unwrap();
    let status = e
        .cmd(args)
        .env("BOCKER_CRASH_AT", point)
        .stdout(out)
        .stderr(err.try_clone().unwrap())
        .status()
        .expect("run bocker");
    let mut stderr = Vec::new();
    use std::io::{Read, Seek};
    err.seek(std::io::SeekFrom::Start(0)).unwrap();
    err.read_to_end(&mut stderr).unwrap();
    assert_killed(point, &Output { status, stdout: Vec::new(), stderr });
}

fn ids_in(e: &Env) -> BTreeSet<String> {
    let Ok(rd) = std::fs::read_dir(e.root().join("containers")) else { return BTreeSet::new() };
    rd.flatten().map(|d| d.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("ps_")).collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

fn cgroup_dirs(id: &str) -> Vec<String> {
    let mut out: Vec<String> = common::cgroups_of(id).into_iter().map(|p| p.display().to_string()).collect();
    let v2 = Path::new("/sys/fs/cgroup/bocker").join(id);
    if v2.exists() {
        out.push(v2.display().to_string());
    }
    out
}

fn cmd_out(prog: &str, args: &[&str]) -> String {
    text(&Command::new(prog).args(args).output().map(|o| o.stdout).unwrap_or_default())
}

/// Processes that belong to this test's store: a monitor or proxy (root
/// in its command line or environment) or a container process (its cgroup
/// names one of `ids`).
fn processes_of(e: &Env, ids: &BTreeSet<String>) -> Vec<String> {
    let root = e.root().display().to_string();
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let read = |f: &str| String::from_utf8_lossy(&std::fs::read(p.path().join(f)).unwrap_or_default()).into_owned();
        let cmdline = read("cmdline");
        if cmdline.is_empty() {
            continue; // a zombie or a kernel thread
        }
        let cgroup = read("cgroup");
        if cmdline.contains(&root) || read("environ").contains(&root) || ids.iter().any(|id| cgroup.contains(id.as_str())) {
            out.push(format!("{pid}: {}", cmdline.replace('\0', " ")));
        }
    }
    out
}

fn entries(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    rd.flatten().map(|d| d.file_name().to_string_lossy().into_owned()).collect()
}

/// Temp files of record writes left anywhere in the store's record folders.
fn temp_records(e: &Env) -> Vec<String> {
    let mut dirs = vec![e.root().join("images")];
    dirs.extend(ids_in(e).into_iter().map(|id| e.root().join("containers").join(id)));
    dirs.iter()
        .flat_map(|d| entries(d).into_iter().filter(|n| n.starts_with('.') && n.ends_with(".tmp")).map(move |n| d.join(n).display().to_string()))
        .collect()
}

/// Layers no image record names.
fn orphan_layers(e: &Env) -> Vec<String> {
    let mut used = BTreeSet::new();
    for f in entries(&e.root().join("images")) {
        let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(e.root().join("images").join(f)).unwrap()).unwrap();
        for l in j["layers"].as_array().unwrap() {
            used.insert(l.as_str().unwrap().to_string());
        }
    }
    entries(&e.root().join("layers")).into_iter().filter(|l| !used.contains(l)).collect()
}

/// The next commands accept the store and repair it; then nothing leaks.
/// `seen`: every container id the crashed command may have made.
fn recover_and_check(e: &Env, point: &str, img: &str, seen: &BTreeSet<String>) {
    let mut ids = seen.clone();
    ids.extend(ids_in(e));
    // ps -a accepts it; whatever it lists, rm -f removes
    let listed = e.ok(&["ps", "-a", "-q"]);
    let json = e.ok(&["ps", "-a", "--format", "json"]);
    assert!(!json.contains("Paused") && !json.contains("\"paused\":true"), "{point}: a container is left frozen: {json}");
    // a new container runs meanwhile
    assert_eq!(e.ok(&["run", "--rm", img, "echo", "ok"]), "ok\n", "{point}");
    for id in listed.lines() {
        ids.insert(id.to_string());
        e.ok(&["rm", "-f", id]);
    }
    // the name is free again
    let o = e.run(&["run", "--rm", "--name", NAME, img, "true"]);
    assert!(o.status.success(), "{point}: the name is still blocked: {}", text(&o.stderr));
    e.ok(&["prune"]);
    e.ok(&["network", "prune"]);
    assert!(e.ok(&["ps", "-a", "-q"]).trim().is_empty(), "{point}: containers left");
    assert!(e.ok(&["images", "-q"]).lines().count() == 1, "{point}: images: {}", e.ok(&["images"]));

    // nothing leaked
    assert_eq!(common::mounts_under(&e.root()), 0, "{point}: mounts left under the root");
    for id in &ids {
        assert!(cgroup_dirs(id).is_empty(), "{point}: cgroup of {id} left: {:?}", cgroup_dirs(id));
    }
    let t = Instant::now();
    loop {
        let procs = processes_of(e, &ids);
        if procs.is_empty() {
            break;
        }
        // a killed container's init may take a moment to be reaped
        assert!(t.elapsed() < Duration::from_secs(3), "{point}: processes left: {procs:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let links = cmd_out("ip", &["-o", "link"]);
    assert!(!links.contains(&format!(": {}:", e.bridge())), "{point}: bridge left:\n{links}");
    // whole names: "master bkr23" is also the start of another test's "master bkr233"
    assert!(!links.contains(&format!("master {} ", e.bridge())), "{point}: veth left:\n{links}");
    let subnet_prefix = format!("10.214.{}.", e.net);
    for table in ["nat", "filter"] {
        let rules = cmd_out("iptables", &["-t", table, "-S"]);
        for l in rules.lines() {
            // the bridge as a whole word (`-o bkr9`, the tag `bocker-br:bkr9`),
            // never a prefix of another test's (bkr96)
            let names_bridge = l.split_whitespace().map(|t| t.trim_matches('"')).any(|t| t == e.bridge() || t.rsplit(':').next() == Some(e.bridge().as_str()));
            let ours = names_bridge || l.contains(&subnet_prefix) || ids.iter().any(|id| l.contains(id.as_str()));
            assert!(!ours, "{point}: iptables rule left in {table}: {l}");
        }
    }
    // leases are host-wide (net::ipam), per bridge; only this test uses its bridge
    let leases = std::path::Path::new("/run/bocker/net").join(e.bridge()).join("leases");
    assert!(entries(&leases).is_empty(), "{point}: leases left: {:?}", entries(&leases));
    assert!(entries(&e.root().join("tmp")).is_empty(), "{point}: staging left: {:?}", entries(&e.root().join("tmp")));
    assert!(entries(&e.root().join("containers")).is_empty(), "{point}: container folders left: {:?}", entries(&e.root().join("containers")));
    assert!(entries(&e.root().join("names")).is_empty(), "{point}: names left: {:?}", entries(&e.root().join("names")));
    assert!(temp_records(e).is_empty(), "{point}: temp records left: {:?}", temp_records(e));
    assert!(orphan_layers(e).is_empty(), "{point}: orphan layers left: {:?}", orphan_layers(e));
    let vols = entries(&e.root().join("volumes"));
    assert!(vols.is_empty(), "{point}: volumes left: {vols:?}");
}

#[test]
fn create_killed_at_each_step() {
    let e = Env::new();
    let img = image(&e);
    for point in ["create.reserved", "create.named", "create.recorded", "volume.staged", "volume.created"] {
        let before = ids_in(&e);
        crash(&e, point, &["create", "--name", NAME, "-v", "/data", &img, "sleep", "1000"]);
        let seen: BTreeSet<String> = ids_in(&e).difference(&before).cloned().collect();
        recover_and_check(&e, point, &img, &seen);
    }
}

#[test]
fn run_killed_at_each_start_step() {
    let e = Env::new();
    let img = image(&e);
    for point in ["start.monitor", "start.cgroup", "start.network", "start.running", "start.spawned", "start.exited"] {
        let port = free_port().to_string();
        let publish = format!("{port}:80");
        let mut args = vec!["run", "--name", NAME, "-p", &publish];
        if point == "start.spawned" {
            args.push("-d"); // the CLI dies once its monitor is spawned
        }
        args.push(&img);
        if point == "start.exited" {
            args.push("true");
        } else {
            args.extend(["sleep", "1000"]);
        }
        crash(&e, point, &args);
        recover_and_check(&e, point, &img, &ids_in(&e));
    }
}

#[test]
fn run_rm_killed_after_the_exit_is_removed_by_prune() {
    let e = Env::new();
    let img = image(&e);
    crash(&e, "start.exited", &["run", "--rm", "--name", NAME, &img, "true"]);
    let seen = ids_in(&e);
    assert_eq!(seen.len(), 1, "the --rm container outlives its killed monitor");
    recover_and_check(&e, "start.exited --rm", &img, &seen);
}

#[test]
fn commit_killed_at_each_step() {
    let e = Env::new();
    let img = image(&e);
    for point in ["commit.frozen", "commit.staged", "commit.layer", "commit.recorded"] {
        let id = e.ok(&["run", "-d", "--name", NAME, &img, "sleep", "1000"]).trim().to_string();
        e.ok(&["exec", &id, "touch", "/changed"]);
        crash(&e, point, &["commit", NAME]);
        // the container runs on, not frozen: ps (or inspect) thaws what a
        // killed commit froze, and exec works again
        let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "--bocker", &id])).unwrap();
        assert_eq!(j[0]["paused"], false, "{point}: left frozen");
        assert_eq!(j[0]["running"], true, "{point}");
        assert_eq!(e.ok(&["exec", &id, "echo", "alive"]), "alive\n", "{point}");
        let seen = BTreeSet::from([id]);
        recover_and_check(&e, point, &img, &seen);
    }
}

#[test]
fn rm_killed_at_each_step() {
    let e = Env::new();
    let img = image(&e);
    for point in ["rm.killed", "rm.released", "rm.unnamed", "rm.trashed"] {
        let port = free_port().to_string();
        let id = e.ok(&["run", "-d", "--name", NAME, "-p", &format!("{port}:80"), &img, "sleep", "1000"]).trim().to_string();
        crash(&e, point, &["rm", "-f", NAME]);
        recover_and_check(&e, point, &img, &BTreeSet::from([id]));
    }
}

#[test]
fn rm_f_of_a_paused_container_thaws_and_removes_it() {
    let e = Env::new();
    let img = image(&e);
    let id = e.ok(&["run", "-d", "--name", NAME, "-p", &format!("{}:80", free_port()), &img, "sleep", "1000"]).trim().to_string();
    e.ok(&["pause", &id]);
    assert!(e.ok(&["ps"]).contains("(Paused)"));
    e.ok(&["rm", "-f", &id]);
    recover_and_check(&e, "rm -f paused", &img, &BTreeSet::from([id]));
}

#[test]
fn rm_f_of_a_paused_container_whose_monitor_was_killed() {
    let e = Env::new();
    let img = image(&e);
    let id = e.ok(&["run", "-d", "--name", NAME, "-p", &format!("{}:80", free_port()), &img, "sleep", "1000"]).trim().to_string();
    e.ok(&["pause", &id]);
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(e.root().join("containers").join(&id).join("state.json")).unwrap()).unwrap();
    let monitor = st["monitor_pid"].as_i64().unwrap() as i32;
    // SAFETY: a signal to the monitor this test started
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    e.ok(&["rm", "-f", &id]);
    recover_and_check(&e, "rm -f paused, monitor killed", &img, &BTreeSet::from([id]));
}

#[test]
fn pull_killed_at_each_step() {
    let registry = reg::Registry::start(None);
    let d = tempfile::tempdir().unwrap();
    let mk = reg::script("mkimage.sh");
    reg::run(Command::new(&mk).arg("rootfs").arg(d.path().join("rootfs")));
    let lay = d.path().join("layout");
    reg::run(Command::new(&mk).arg("layout").arg(&lay).arg("bb").arg("linux/amd64").arg(d.path().join("rootfs")));
    let remote = format!("{}/crash/busybox:latest", registry.host());
    reg::run(Command::new(&mk).arg("push").arg(&lay).arg("bb").arg(&remote));

    let e = Env::new();
    let img = image(&e);
    for point in ["pull.blob", "pull.staged", "pull.layer", "pull.recorded"] {
        crash(&e, point, &["pull", &remote]);
        // the next pull accepts what was left and completes
        let out = e.ok(&["pull", &remote]);
        assert!(out.contains("img_"), "{point}: {out}");
        assert_eq!(e.ok(&["run", "--rm", &remote, "echo", "pulled"]), "pulled\n", "{point}");
        e.ok(&["rmi", &remote]);
        // killed again, then left to prune
        crash(&e, point, &["pull", &remote]);
        if point == "pull.recorded" {
            // the image is complete: an image like any other
            e.ok(&["rmi", &remote]);
        }
        recover_and_check(&e, point, &img, &BTreeSet::new());
    }
}

#[test]
fn load_killed_at_each_step() {
    let e = Env::new();
    let img = image(&e);
    // an archive of a two-layer image from another store
    let src = Env::new();
    let bb = src.busybox();
    src.ok(&["run", "--name", "c", &bb, "sh", "-c", "echo loaded > /loaded"]);
    src.ok(&["commit", "c", "loaded:1"]);
    let tar = src.dir.path().join("loaded.tar");
    src.ok(&["save", "-o", tar.to_str().unwrap(), "loaded:1"]);
    for point in ["load.staged", "load.layer", "load.recorded"] {
        crash(&e, point, &["load", "-i", tar.to_str().unwrap()]);
        // a complete record (load.recorded) is an image like any other
        if point == "load.recorded" {
            assert_eq!(e.ok(&["run", "--rm", "loaded:1", "cat", "/loaded"]), "loaded\n", "{point}");
            e.ok(&["rmi", "loaded:1"]);
        }
        recover_and_check(&e, point, &img, &BTreeSet::new());
    }
    // and a load after all that works
    assert_eq!(e.ok(&["load", "-i", tar.to_str().unwrap()]), "Loaded image: loaded:1\n");
    assert_eq!(e.ok(&["run", "--rm", "loaded:1", "cat", "/loaded"]), "loaded\n");
}
