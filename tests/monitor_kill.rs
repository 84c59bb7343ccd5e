//! A kill -9 of a container's monitor (`__shim`): its port proxies die
//! with it at once, and the next `rm`, `start` or `prune` of that
//! container gives back what it held: DNAT rules, address leases, the host
//! veth and the cgroup.
mod common;
use common::{cgroups_of, text, Env};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

fn state(e: &Env, id: &str) -> serde_json::Value {
    let p = e.root().join("containers").join(id).join("state.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn nat() -> String {
    text(&Command::new("iptables").args(["-t", "nat", "-S"]).output().unwrap().stdout)
}

fn links() -> String {
    text(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout)
}

/// The leases on this test's bridge (host-wide: /run/bocker/net), as
/// (address, container id); only this test's state root uses the bridge.
fn leases(e: &Env) -> Vec<(String, String)> {
    let dir = std::path::Path::new("/run/bocker/net").join(e.bridge()).join("leases");
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![] };
    rd.flatten()
        .map(|f| {
            let content = std::fs::read_to_string(f.path()).unwrap_or_default();
            let id = content.split('\n').next().unwrap_or("").to_string();
            (f.file_name().to_string_lossy().into_owned(), id)
        })
        .collect()
}

/// A live process that is not a zombie.
fn running(pid: i64) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).map(|c| !c.is_empty()).unwrap_or(false)
}

fn wait_gone(pid: i64, within: Duration) -> Duration {
    let t = Instant::now();
    while running(pid) {
        assert!(t.elapsed() < within, "pid {pid} still there after {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    t.elapsed()
}

/// `GET /hostname` through the published port on 127.0.0.1 (the proxy).
fn fetch(port: u16) -> Option<String> {
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.write_all(b"GET /hostname HTTP/1.0\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.contains("200 OK") {
                return Some(out);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A web server with a published port; its monitor is then killed. Returns
/// (id, port, state before the kill).
fn start_and_kill_monitor(e: &Env, img: &str) -> (String, u16, serde_json::Value) {
    let port = free_port();
    let id = e.ok(&["run", "-d", "-p", &format!("{port}:80"), img, "httpd", "-f", "-p", "80", "-h", "/etc"]).trim().to_string();
    assert!(fetch(port).is_some(), "the published port does not answer");
    let st = state(e, &id);
    let proxies: Vec<i64> = st["net"]["proxy_pids"].as_array().unwrap().iter().map(|p| p.as_i64().unwrap()).collect();
    assert_eq!(proxies.len(), 1);
    assert!(running(proxies[0]));
    let monitor = st["monitor_pid"].as_i64().unwrap();
    unsafe { libc::kill(monitor as i32, libc::SIGKILL) };
    let t = Instant::now();
    let took = wait_gone(proxies[0], Duration::from_secs(1));
    eprintln!("proxy gone {took:?} after the kill of its monitor");
    // its sockets close as it exits, a moment after its memory goes
    while std::net::TcpListener::bind(("0.0.0.0", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(1), "host port still held");
        std::thread::sleep(Duration::from_millis(5));
    }
    (id, port, st)
}

/// Kills the container's own process too (as a crash of both would).
fn kill_container(st: &serde_json::Value) {
    let pid = st["pid"].as_i64().unwrap();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    // gone and reaped (by init: its monitor is dead)
    let t = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(t.elapsed() < Duration::from_secs(5), "container process {pid} not reaped");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn assert_nothing_left(e: &Env, id: &str, veth: &str) {
    let rules = nat();
    assert!(!rules.contains(&format!("bocker:{id}")), "rules of {id} left:\n{rules}");
    let dnat = format!("--to-destination 10.214.{}.", e.net);
    assert!(!rules.contains(&dnat), "DNAT into the test subnet left:\n{rules}");
    assert!(leases(e).iter().all(|(_, owner)| owner != id), "lease left: {:?}", leases(e));
    // the kernel deletes a veth of a dead netns asynchronously
    let t = Instant::now();
    while links().contains(veth) && t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!links().contains(veth), "host veth {veth} left");
    assert!(cgroups_of(id).is_empty(), "cgroup left: {:?}", cgroups_of(id));
}

#[test]
fn rm_after_a_killed_monitor_leaves_nothing() {
    let e = Env::new();
    let img = e.busybox();
    let (id, _port, st) = start_and_kill_monitor(&e, &img);
    let veth = st["net"]["host_veth"].as_str().unwrap().to_string();
    // the container outlives its monitor: rm -f kills it and cleans up
    let t = Instant::now();
    e.ok(&["rm", "-f", &id]);
    eprintln!("rm -f of an orphan: {:?}", t.elapsed());
    assert_nothing_left(&e, &id, &veth);
    // idempotent: the recorded state is gone with the container; a second rm is an error only
    assert!(!e.run(&["rm", "-f", &id]).status.success());
}

#[test]
fn start_after_a_killed_monitor_reclaims_the_old_run() {
    let e = Env::new();
    let img = e.busybox();
    let (id, port, st) = start_and_kill_monitor(&e, &img);
    let old_ip = st["net"]["ip"].as_str().unwrap().to_string();
    let veth = st["net"]["host_veth"].as_str().unwrap().to_string();
    kill_container(&st);
    // the old run's rules and lease are still there before the start
    assert!(nat().contains(&format!("bocker:{id}")));
    assert!(leases(&e).iter().any(|(ip, o)| *o == id && *ip == old_ip));
    e.ok(&["start", &id]);
    let st2 = state(&e, &id);
    let new_ip = st2["net"]["ip"].as_str().unwrap().to_string();
    // exactly the new run's lease and rules
    let mine: Vec<String> = leases(&e).into_iter().filter(|(_, o)| *o == id).map(|(ip, _)| ip).collect();
    assert_eq!(mine, vec![new_ip.clone()], "old lease {old_ip} kept");
    let rules = nat();
    let tagged: Vec<&str> = rules.lines().filter(|l| l.contains(&format!("bocker:{id}"))).collect();
    assert_eq!(tagged.len(), 2, "{rules}");
    assert!(tagged.iter().all(|l| l.contains(&format!("--to-destination {new_ip}:80"))), "{rules}");
    assert!(fetch(port).is_some(), "the restarted container does not answer");
    assert_eq!(st2["net"]["host_veth"].as_str(), Some(veth.as_str()));
    e.ok(&["rm", "-f", &id]);
    assert_nothing_left(&e, &id, &veth);
}

#[test]
fn prune_after_a_killed_monitor_leaves_nothing() {
    let e = Env::new();
    let img = e.busybox();
    let (id, _port, st) = start_and_kill_monitor(&e, &img);
    let veth = st["net"]["host_veth"].as_str().unwrap().to_string();
    kill_container(&st);
    // the container counts as exited now: prune takes it
    assert!(!e.ok(&["ps"]).lines().any(|l| l.contains(&id) && l.contains("Up ")));
    let out = e.ok(&["prune"]);
    assert!(out.contains(&format!("Removed: {id}")), "{out}");
    assert_nothing_left(&e, &id, &veth);
    assert!(!Path::new(&e.root().join("containers").join(&id)).exists());
}

#[test]
fn a_name_left_by_a_dead_creator_is_not_blocked_forever() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["ps"]);
    // what a create killed between naming and writing its record leaves
    let dead = "ps_00deadbeef";
    let dir = e.root().join("containers").join(dead);
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(dead, e.root().join("names").join("web")).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(120);
    std::fs::File::open(&dir).unwrap().set_modified(old).unwrap();
    let id = e.ok(&["create", "--name", "web", &img, "true"]).trim().to_string();
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "--bocker", "web"])).unwrap();
    assert_eq!(j[0]["id"].as_str(), Some(id.as_str()));
    assert!(!dir.exists());
    e.ok(&["rm", "web"]);
}
