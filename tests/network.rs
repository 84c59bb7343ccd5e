//! Container networking from the CLI: each test has its own bridge and
//! subnet (tests/common), egress off; traffic stays between the host and
//! namespaces made here.
mod common;
use common::{text, Env};
use std::process::Command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn ip_of(e: &Env, id: &str) -> String {
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "--bocker", id])).unwrap();
    j[0]["state"]["net"]["ip"].as_str().expect("an address").to_string()
}

fn links() -> String {
    text(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout)
}

#[test]
fn containers_reach_the_gateway_and_each_other() {
    let e = Env::new();
    let img = e.busybox();
    let gw = format!("10.214.{}.1", e.net);
    let a = e.ok(&["run", "-d", "--name", "alpha", &img, "sleep", "60"]).trim().to_string();
    let a_ip = ip_of(&e, &a);
    assert!(a_ip.starts_with(&format!("10.214.{}.", e.net)) && a_ip != gw, "{a_ip}");
    // eth0 with the address, default route via the gateway
    let out = e.ok(&["exec", "alpha", "sh", "-c", "ip -4 addr show eth0; ip route"]);
    assert!(out.contains(&a_ip) && out.contains(&format!("default via {gw}")), "{out}");
    assert_eq!(e.run(&["exec", "alpha", "ping", "-c", "1", "-W", "2", &gw]).status.code(), Some(0));
    // a second container reaches the first by address and by name
    let out = e.ok(&["run", "--rm", &img, "sh", "-c", &format!("ping -c 1 -W 2 {a_ip} >/dev/null && ping -c 1 -W 2 alpha >/dev/null && echo reached")]);
    assert_eq!(out, "reached\n");
    // resolv.conf has no loopback resolver, hosts has our name
    let hosts = e.ok(&["run", "--rm", "--hostname", "box", &img, "cat", "/etc/hosts", "/etc/resolv.conf"]);
    assert!(hosts.contains("\tbox\n") && !hosts.contains("nameserver 127."), "{hosts}");
    // ps shows the address
    assert!(e.ok(&["ps"]).contains(&a_ip));
    // `network rm` of another name removes nothing; of this one, refused while in use
    let o = e.run(&["network", "rm", "no-such-net"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "bocker network rm: No such network: no-such-net\n");
    assert!(links().contains(&format!(" {}:", e.bridge())), "the bridge went with another name's rm");
    assert_eq!(e.run(&["network", "rm", &e.bridge()]).status.code(), Some(1), "removed while alpha uses it");
    e.ok(&["rm", "-f", "alpha"]);
    assert_eq!(e.ok(&["network", "rm", &e.bridge()]), format!("{}\n", e.bridge()));
    assert!(!links().contains(&format!(" {}:", e.bridge())));
}

#[test]
fn the_network_is_complete_before_the_command_runs() {
    // the command's first instruction finds the address, the route and
    // the published port's rules in place
    let e = Env::new();
    let img = e.busybox();
    let gw = format!("10.214.{}.1", e.net);
    for _ in 0..8 {
        let out = e.ok(&["run", "--rm", "-p", "127.0.0.1::80", &img, "sh", "-c", "ip -4 -o addr show eth0; ip route"]);
        assert!(out.contains(&format!("inet 10.214.{}.", e.net)) && out.contains(&format!("default via {gw}")), "{out}");
    }
    // an init that fails while mounting (a tmpfs over a file), with a
    // network set up: its own reason is reported, and nothing of the
    // network stays behind
    let o = e.run(&["run", "--rm", "-p", "127.0.0.1::80", "--tmpfs", "/etc/passwd", &img, "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "bocker: open /etc/passwd: Not a directory (os error 20)\n");
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    // the host end goes with the container's network namespace, which the
    // kernel tears down in the background (runtime::network::release):
    // gone within moments, not at the CLI's exit
    let on_bridge = format!("master {}", e.bridge());
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        !links().contains(&on_bridge)
    });
    assert!(gone, "a veth stayed on the bridge for 5 s: {}", links());
}

#[test]
fn none_has_only_loopback_and_host_shares_the_stack() {
    let e = Env::new();
    let img = e.busybox();
    let out = e.ok(&["run", "--rm", "--network", "none", &img, "ip", "-o", "link"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("lo:") && out.contains("UP"), "{out}");
    let out = e.ok(&["run", "--rm", "--network", "host", &img, "ip", "-o", "link"]);
    assert!(out.contains("eth0"), "{out}");
    let o = e.run(&["run", "--rm", "--network", "none", "-p", "8080:80", &img, "true"]);
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn thirty_parallel_containers_get_distinct_addresses() {
    let e = Env::new();
    let img = e.busybox();
    let kids: Vec<_> = (0..30)
        .map(|_| e.cmd(&["run", "-d", &img, "sleep", "30"]).stdout(std::process::Stdio::piped()).spawn().unwrap())
        .collect();
    let mut ids = Vec::new();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        ids.push(text(&o.stdout).trim().to_string());
    }
    let mut ips: Vec<String> = ids.iter().map(|id| ip_of(&e, id)).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 30);
    assert!(!ips.contains(&format!("10.214.{}.1", e.net)), "the gateway was handed out");
    for id in &ids {
        e.ok(&["rm", "-f", id]);
    }
    let leases = e.root().join("net").join(e.bridge()).join("leases");
    let left = std::fs::read_dir(&leases).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "leases left");
    // this test's veths (other tests may have theirs on their own bridges)
    let mine = format!("master {} ", e.bridge());
    assert!(!links().lines().any(|l| l.contains("vb") && l.contains(&mine)), "veths left:\n{}", links());
}

/// A network namespace of the test's own, on the test's bridge.
struct TestNs {
    name: String,
    host_end: String,
}
impl TestNs {
    fn new(e: &Env) -> TestNs {
        let name = format!("bkns{}", e.net);
        let host_end = format!("bkv{}", e.net);
        let sh = |args: &[&str]| {
            let st = Command::new("ip").args(args).status().unwrap();
            assert!(st.success(), "ip {args:?}");
        };
        sh(&["netns", "add", &name]);
        sh(&["link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &name]);
        sh(&["link", "set", &host_end, "master", &e.bridge(), "up"]);
        sh(&["-n", &name, "addr", "add", &format!("10.214.{}.250/24", e.net), "dev", "eth0"]);
        sh(&["-n", &name, "link", "set", "eth0", "up"]);
        sh(&["-n", &name, "link", "set", "lo", "up"]);
        TestNs { name, host_end }
    }
}
impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.host_end]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

#[test]
fn published_port_serves_loopback_and_other_namespaces() {
    let e = Env::new();
    let img = e.busybox();
    let port = free_port();
    let id = e
        .ok(&["run", "-d", "-p", &format!("{port}:8080"), &img, "sh", "-c", "mkdir -p /www && echo served > /www/index.html && httpd -f -p 8080 -h /www"])
        .trim()
        .to_string();
    // a port in use is a clear error before the container starts
    let o = e.run(&["run", "-d", "-p", &format!("{port}:8080"), &img, "sleep", "5"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("in use"), "{}", text(&o.stderr));
    let fetch = |cmd: &mut Command| -> String {
        for _ in 0..50 {
            let o = cmd.output().unwrap();
            if o.status.success() {
                return text(&o.stdout);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("no answer from the published port");
    };
    // from the host through 127.0.0.1 (the proxy)
    let out = fetch(Command::new("timeout").args(["5", "/bin/busybox", "wget", "-q", "-O", "-", &format!("http://127.0.0.1:{port}/")]));
    assert_eq!(out, "served\n");
    // from a namespace of the test's own, to the gateway address (DNAT)
    let ns = TestNs::new(&e);
    let out = fetch(Command::new("ip").args(["netns", "exec", &ns.name, "timeout", "5", "/bin/busybox", "wget", "-q", "-O", "-"]).arg(format!("http://10.214.{}.1:{port}/", e.net)));
    assert_eq!(out, "served\n");
    drop(ns);
    e.ok(&["stop", "-t", "1", &id]);
    e.ok(&["rm", &id]);
    // rules, proxy and port are gone
    let nat = text(&Command::new("iptables").args(["-t", "nat", "-S"]).output().unwrap().stdout);
    assert!(!nat.contains(&format!("bocker:{id}")), "{nat}");
    assert!(std::net::TcpListener::bind(("0.0.0.0", port)).is_ok(), "host port still held");
}

#[test]
fn a_killed_monitor_releases_the_network_on_rm() {
    let e = Env::new();
    let img = e.busybox();
    let port = free_port();
    let id = e.ok(&["run", "-d", "-p", &format!("{port}:80"), &img, "sleep", "60"]).trim().to_string();
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(e.root().join("containers").join(&id).join("state.json")).unwrap()).unwrap();
    let veth = st["net"]["host_veth"].as_str().unwrap().to_string();
    assert!(links().contains(&veth));
    unsafe { libc::kill(st["monitor_pid"].as_i64().unwrap() as i32, libc::SIGKILL) };
    e.ok(&["rm", "-f", &id]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!links().contains(&veth), "veth left");
    let nat = text(&Command::new("iptables").args(["-t", "nat", "-S"]).output().unwrap().stdout);
    assert!(!nat.contains(&format!("bocker:{id}")), "rules left");
    assert!(std::net::TcpListener::bind(("0.0.0.0", port)).is_ok(), "proxy still holds the port");
    let leases = e.root().join("net").join(e.bridge()).join("leases");
    assert_eq!(std::fs::read_dir(&leases).map(|d| d.count()).unwrap_or(0), 0);
}

/// A static UDP echo server, built here (busybox has none), mounted in.
fn udp_echo_binary(e: &Env) -> std::path::PathBuf {
    let src = e.dir.path().join("udpecho.c");
    std::fs::write(
        &src,
        r#"#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
    for (;;) {
        char buf[2048];
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (n > 0) sendto(s, buf, n, 0, (struct sockaddr *)&from, len);
    }
}
"#,
    )
    .unwrap();
    let bin = e.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let st = Command::new("gcc").args(["-static", "-O2", "-o"]).arg(bin.join("udpecho")).arg(&src).status().expect("gcc is installed by scripts/test.sh");
    assert!(st.success(), "gcc -static failed");
    bin
}

#[test]
fn published_udp_port_reaches_the_container_from_loopback() {
    let e = Env::new();
    let img = e.busybox();
    let bin = udp_echo_binary(&e);
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let id = e
        .ok(&["run", "-d", "-p", &format!("{port}:9000/udp"), "-v", &format!("{}:/opt/bin:ro", bin.display()), &img, "/opt/bin/udpecho", "9000"])
        .trim()
        .to_string();
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(std::time::Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 64];
    let mut answer = None;
    for _ in 0..30 {
        client.send_to(b"ping-udp", ("127.0.0.1", port)).unwrap();
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            answer = Some(buf[..n].to_vec());
            break;
        }
    }
    assert_eq!(answer.as_deref(), Some(&b"ping-udp"[..]), "no echo through the UDP proxy");
    e.ok(&["rm", "-f", &id]);
    assert!(std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok(), "host UDP port still held");
}

/// Two state roots on one bridge share its leases: their containers get
/// distinct addresses, and the bridge is not removed from one root while
/// the other's container uses it.
#[test]
fn two_state_roots_on_one_bridge_get_distinct_addresses() {
    let e = Env::new();
    let other = Env::new();
    let img = e.busybox();
    let img2 = other.busybox();
    let a = e.ok(&["run", "-d", &img, "sleep", "60"]).trim().to_string();
    let out = other.cmd(&["run", "-d", &img2, "sleep", "60"]).env("BOCKER_BRIDGE", e.bridge()).env("BOCKER_SUBNET", e.subnet()).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let b = text(&out.stdout).trim().to_string();
    let ip_a = ip_of(&e, &a);
    let ip_b = {
        let o = other.cmd(&["inspect", "--bocker", &b]).env("BOCKER_BRIDGE", e.bridge()).env("BOCKER_SUBNET", e.subnet()).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v[0]["state"]["net"]["ip"].as_str().unwrap_or_default().to_string()
    };
    assert!(!ip_a.is_empty() && !ip_b.is_empty(), "{ip_a:?} {ip_b:?}");
    assert_ne!(ip_a, ip_b, "two roots handed out one address");
    // the other root's container keeps the bridge
    e.ok(&["rm", "-f", &a]);
    let o = e.run(&["network", "rm", &e.bridge()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("other state roots"), "{}", text(&o.stderr));
    let o = other.cmd(&["rm", "-f", &b]).env("BOCKER_BRIDGE", e.bridge()).env("BOCKER_SUBNET", e.subnet()).output().unwrap();
    assert!(o.status.success());
    e.ok(&["network", "rm", &e.bridge()]);
}
