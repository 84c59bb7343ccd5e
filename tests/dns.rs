//! The DNS responder of user networks. Most tests drive it directly: each
//! gives it its own folder (records, lock, pid, control socket) and its
//! own loopback addresses as "gateways" and "containers" (127.0.N.x, N per
//! test), so nothing touches the host's /run/bocker/dns or leaves the
//! machine; fake upstream servers run in the test on loopback too. The
//! last one runs busybox containers on user networks (`network create`,
//! `run --network`), with the host's responder, and `--dns` pointing at a
//! fake upstream on loopback.
mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A responder of one test: its folder, removed (and the responder
/// killed) on drop, also when the test fails.
struct Responder {
    dir: tempfile::TempDir,
    net: u8,
}

impl Responder {
    fn new(net: u8) -> Responder {
        let base = common::test_base();
        std::fs::create_dir_all(&base).unwrap();
        let dir = tempfile::Builder::new().prefix("dns-").tempdir_in(base).unwrap();
        std::fs::create_dir_all(dir.path().join("records")).unwrap();
        std::fs::write(dir.path().join("resolv.conf"), format!("nameserver 127.0.{net}.10\n")).unwrap();
        Responder { dir, net }
    }
    fn run_dir(&self) -> &Path {
        self.dir.path()
    }
    fn addr(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, self.net, host)
    }
    /// `bocker __dns ensure` for this folder; the status line (pid, gateways).
    fn ensure(&self) -> String {
        let out = Command::new(common::bin())
            .args(["__dns", "ensure", "--run-dir", self.run_dir().to_str().unwrap(), "--port", "53", "--resolv-conf", self.run_dir().join("resolv.conf").to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "ensure: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.run_dir().join("responder.pid")).ok()?.trim().parse().ok()
    }
    /// A record as the network setup writes it (atomically: write, rename).
    fn publish(&self, id: &str, atts: &[(&str, u8, u8, &[&str])], upstreams: &[Ipv4Addr]) {
        let atts: Vec<serde_json::Value> = atts
            .iter()
            .map(|(br, gw, ip, names)| serde_json::json!({"network": format!("n-{br}"), "bridge": br, "gateway": self.addr(*gw).to_string(), "ip": self.addr(*ip).to_string(), "names": names}))
            .collect();
        let rec = serde_json::json!({"container": id, "root": self.run_dir(), "attachments": atts, "upstreams": upstreams.iter().map(|u| u.to_string()).collect::<Vec<_>>()});
        let path = self.record_path(id);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(&rec).unwrap()).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    fn withdraw(&self, id: &str) {
        std::fs::remove_file(self.record_path(id)).unwrap();
    }
    fn record_path(&self, id: &str) -> PathBuf {
        self.run_dir().join("records").join(format!("{id}.json"))
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            if is_responder(pid) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
    }
}

fn is_responder(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains("__dns\0serve"))
}

fn query_bytes(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut p = Vec::new();
    for v in [id, 0x0100, 1, 0, 0, 0] {
        p.extend_from_slice(&v.to_be_bytes());
    }
    for l in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        p.push(l.len() as u8);
        p.extend_from_slice(l.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p
}

/// rcode and the A addresses of an answer (records after the question,
/// each named by a pointer).
fn parse_answer(r: &[u8]) -> (u16, Vec<Ipv4Addr>) {
    let rcode = u16::from_be_bytes([r[2], r[3]]) & 0xf;
    let an = u16::from_be_bytes([r[6], r[7]]);
    let mut at = 12;
    while r[at] != 0 {
        at += 1 + r[at] as usize;
    }
    at += 5;
    let mut ips = Vec::new();
    for _ in 0..an {
        let rtype = u16::from_be_bytes([r[at + 2], r[at + 3]]);
        let len = u16::from_be_bytes([r[at + 10], r[at + 11]]) as usize;
        if rtype == 1 {
            ips.push(Ipv4Addr::new(r[at + 12], r[at + 13], r[at + 14], r[at + 15]));
        }
        at += 12 + len;
    }
    (rcode, ips)
}

/// A query from `src` to `gw`:53 over UDP; None when nothing comes back.
fn ask(src: Ipv4Addr, gw: Ipv4Addr, name: &str, qtype: u16, wait: Duration) -> Option<(u16, Vec<Ipv4Addr>)> {
    let s = UdpSocket::bind((src, 0)).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.send_to(&query_bytes(0x5151, name, qtype), (gw, 53)).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).ok()?;
    assert_eq!(&buf[..2], &[0x51, 0x51], "id echoed");
    Some(parse_answer(&buf[..n]))
}

fn a(src: Ipv4Addr, gw: Ipv4Addr, name: &str) -> (u16, Vec<Ipv4Addr>) {
    ask(src, gw, name, 1, Duration::from_secs(3)).unwrap_or_else(|| panic!("no answer for {name}"))
}

/// A fake upstream on `addr`:53: answers A queries for names under
/// example.org with 192.0.2.7, other types empty, other names NXDOMAIN
/// (or nothing at all, `silent`); sends every name it saw.
fn fake_upstream(addr: Ipv4Addr, silent: bool) -> std::sync::mpsc::Receiver<String> {
    let s = UdpSocket::bind((addr, 53)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let q = &buf[..n];
            let mut name = Vec::new();
            let mut at = 12;
            while at < n && q[at] != 0 {
                let l = q[at] as usize;
                let Some(label) = q.get(at + 1..at + 1 + l) else { break };
                name.push(String::from_utf8_lossy(label).into_owned());
                at += 1 + l;
            }
            let name = name.join(".");
            let known = name.ends_with("example.org") && q.get(at + 1..at + 3) == Some(&[0, 1]);
            let nx = !name.ends_with("example.org");
            let _ = tx.send(name);
            if silent || at + 5 > n {
                continue;
            }
            let mut r = q[..at + 5].to_vec();
            r[2] |= 0x80;
            r[3] = if nx { 0x83 } else { 0x80 };
            r[6..8].copy_from_slice(&(known as u16).to_be_bytes());
            r[10..12].copy_from_slice(&0u16.to_be_bytes());
            if known {
                r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
            }
            let _ = s.send_to(&r, from);
        }
    });
    rx
}

#[test]
fn answers_names_of_shared_networks_and_follows_records() {
    let r = Responder::new(61);
    r.publish("web", &[("dnsbr61a", 1, 2, &["web", "site"])], &[]);
    r.publish("client", &[("dnsbr61a", 1, 3, &["client"])], &[]);
    r.publish("db", &[("dnsbr61b", 101, 102, &["db"])], &[]);
    let status = r.ensure();
    assert!(status.contains("127.0.61.1") && status.contains("127.0.61.101"), "{status}");
    let (gw, client, web) = (r.addr(1), r.addr(3), r.addr(2));
    assert_eq!(a(client, gw, "web"), (0, vec![web]));
    assert_eq!(a(client, gw, "SITE."), (0, vec![web]), "alias, any case, trailing dot");
    assert_eq!(a(web, gw, "web"), (0, vec![web]), "its own name");
    assert_eq!(a(client, gw, "db").0, 3, "another network's name: NXDOMAIN");
    assert_eq!(ask(client, gw, "web", 28, Duration::from_secs(3)), Some((0, vec![])), "AAAA: NOERROR, empty");
    // a stranger, or a container asking another network's gateway: silence
    assert_eq!(ask(r.addr(9), gw, "web", 1, Duration::from_millis(300)), None);
    assert_eq!(ask(client, r.addr(101), "db", 1, Duration::from_millis(300)), None);
    // restarted with a new address: the next answer has it
    r.publish("web", &[("dnsbr61a", 1, 4, &["web", "site"])], &[]);
    assert_eq!(a(client, gw, "web"), (0, vec![r.addr(4)]));
    // a container started later is found, and finds the others
    r.publish("late", &[("dnsbr61a", 1, 5, &["late"])], &[]);
    assert_eq!(a(client, gw, "late"), (0, vec![r.addr(5)]));
    assert_eq!(a(r.addr(5), gw, "client"), (0, vec![client]));
    // gone: NXDOMAIN
    r.withdraw("late");
    assert_eq!(a(client, gw, "late").0, 3);
}

#[test]
fn tcp_answers_too() {
    use std::io::{Read, Write};
    let r = Responder::new(62);
    r.publish("web", &[("dnsbr62", 1, 2, &["web"])], &[]);
    r.publish("client", &[("dnsbr62", 1, 3, &["client"])], &[]);
    r.ensure();
    // connect from the client's address: bind first
    let s = nix::sys::socket::socket(nix::sys::socket::AddressFamily::Inet, nix::sys::socket::SockType::Stream, nix::sys::socket::SockFlag::empty(), None).unwrap();
    nix::sys::socket::bind(std::os::fd::AsRawFd::as_raw_fd(&s), &nix::sys::socket::SockaddrIn::from(std::net::SocketAddrV4::new(r.addr(3), 0))).unwrap();
    nix::sys::socket::connect(std::os::fd::AsRawFd::as_raw_fd(&s), &nix::sys::socket::SockaddrIn::from(std::net::SocketAddrV4::new(r.addr(1), 53))).unwrap();
    let mut t = std::net::TcpStream::from(s);
    t.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    for _ in 0..2 {
        let q = query_bytes(0x5151, "web", 1);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        t.write_all(&framed).unwrap();
        let mut n = [0u8; 2];
        t.read_exact(&mut n).unwrap();
        let mut reply = vec![0u8; u16::from_be_bytes(n) as usize];
        t.read_exact(&mut reply).unwrap();
        assert_eq!(parse_answer(&reply), (0, vec![r.addr(2)]));
    }
}

#[test]
fn other_names_go_to_the_askers_upstreams_else_the_hosts() {
    let r = Responder::new(63);
    let own = fake_upstream(r.addr(9), false);
    let host = fake_upstream(r.addr(10), false);
    r.publish("a", &[("dnsbr63", 1, 2, &["a"])], &[r.addr(9)]);
    r.publish("b", &[("dnsbr63", 1, 3, &["b"])], &[]);
    r.ensure();
    assert_eq!(a(r.addr(2), r.addr(1), "www.example.org"), (0, vec![Ipv4Addr::new(192, 0, 2, 7)]));
    assert_eq!(own.recv_timeout(Duration::from_secs(1)).unwrap(), "www.example.org");
    assert_eq!(a(r.addr(3), r.addr(1), "mail.example.org"), (0, vec![Ipv4Addr::new(192, 0, 2, 7)]));
    assert_eq!(host.recv_timeout(Duration::from_secs(1)).unwrap(), "mail.example.org", "no --dns: the host's resolv.conf");
    // a name of one label is never asked upstream
    assert_eq!(a(r.addr(3), r.addr(1), "nosuchhost").0, 3);
    assert!(host.recv_timeout(Duration::from_millis(200)).is_err() && own.try_recv().is_err());
    // the host's resolv.conf changes: the next query follows it
    let newhost = fake_upstream(r.addr(11), false);
    std::fs::write(r.run_dir().join("resolv.conf"), format!("nameserver {}\n", r.addr(11))).unwrap();
    assert_eq!(a(r.addr(3), r.addr(1), "new.example.org").0, 0);
    assert_eq!(newhost.recv_timeout(Duration::from_secs(1)).unwrap(), "new.example.org");
}

#[test]
fn servfail_when_no_upstream_answers_in_time() {
    let r = Responder::new(64);
    let silent = fake_upstream(r.addr(9), true);
    r.publish("a", &[("dnsbr64", 1, 2, &["a"])], &[r.addr(9)]);
    r.ensure();
    let t = Instant::now();
    let (rcode, _) = ask(r.addr(2), r.addr(1), "slow.example.org", 1, Duration::from_secs(5)).expect("an answer");
    let took = t.elapsed();
    assert_eq!(rcode, 2, "SERVFAIL");
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(4), "{took:?}");
    assert_eq!(silent.recv().unwrap(), "slow.example.org");
    // no server at all there (ICMP unreachable): SERVFAIL at once
    r.publish("b", &[("dnsbr64", 1, 3, &["b"])], &[r.addr(12)]);
    let t = Instant::now();
    assert_eq!(a(r.addr(3), r.addr(1), "x.example.org").0, 2);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}

#[test]
fn one_responder_and_gone_with_the_last_record() {
    let r = Responder::new(65);
    r.publish("a", &[("dnsbr65", 1, 2, &["a"])], &[]);
    let statuses: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4).map(|_| s.spawn(|| r.ensure())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let pid = r.pid().expect("pid file");
    for st in &statuses {
        assert!(st.starts_with(&format!("{pid} ")), "one responder for all: {statuses:?}");
    }
    assert!(is_responder(pid));
    // a second network's gateway: ensure returns once it listens there
    r.publish("b", &[("dnsbr65b", 101, 102, &["b"])], &[]);
    assert!(r.ensure().contains("127.0.65.101"));
    assert_eq!(a(r.addr(102), r.addr(101), "b").1, vec![r.addr(102)]);
    r.withdraw("a");
    r.withdraw("b");
    let t = Instant::now();
    while is_responder(pid) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!is_responder(pid), "still running after the last record went");
    assert!(!r.run_dir().join("control.sock").exists() && !r.run_dir().join("responder.pid").exists());
    // and a new record starts a new one
    r.publish("c", &[("dnsbr65", 1, 3, &["c"])], &[]);
    let st = r.ensure();
    assert!(!st.starts_with(&format!("{pid} ")), "{st}");
    assert_eq!(a(r.addr(3), r.addr(1), "c").1, vec![r.addr(3)]);
}

#[test]
fn hostile_packets_change_nothing() {
    let r = Responder::new(66);
    r.publish("a", &[("dnsbr66", 1, 2, &["a"])], &[]);
    r.ensure();
    let pid = r.pid().unwrap();
    let s = UdpSocket::bind((r.addr(2), 0)).unwrap();
    let mut seed = 0x2545f4914f6cdd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = query_bytes(1, "a.example", 1);
    for i in 0..5000 {
        let pkt: Vec<u8> = if i % 2 == 0 {
            (0..(next() % 600) as usize).map(|_| next() as u8).collect()
        } else {
            let mut p = valid.clone();
            let at = next() as usize % p.len();
            p[at] = next() as u8;
            p
        };
        let _ = s.send_to(&pkt, SocketAddr::from((r.addr(1), 53)));
    }
    assert!(is_responder(pid));
    // the socket's queue may still be full of them: ask as a stub
    // resolver does, again after a second
    let answer = (0..5).find_map(|_| ask(r.addr(2), r.addr(1), "a", 1, Duration::from_secs(1)));
    assert_eq!(answer, Some((0, vec![r.addr(2)])));
}

/// Removes every container and user network the test made, also when it
/// fails (the Env's own drop then prunes the default bridge).
struct Cleanup<'a>(&'a common::Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in common::text(&self.0.run(&["ps", "-aq"]).stdout).lines() {
            let _ = self.0.run(&["rm", "-f", id]);
        }
        let _ = self.0.run(&["network", "prune", "-f"]);
    }
}

/// The host's responder (`/run/bocker/dns`), if one runs.
fn host_responder() -> Option<i32> {
    let pid: i32 = std::fs::read_to_string("/run/bocker/dns/responder.pid").ok()?.trim().parse().ok()?;
    is_responder(pid).then_some(pid)
}

/// Records of other roots than `root` in the host's records folder (other
/// tests or users keep the responder alive).
fn foreign_records(root: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir("/run/bocker/dns/records") else { return 0 };
    rd.flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(|v| v["root"].as_str() != root.to_str())
        .count()
}

fn ip_of(e: &common::Env, c: &str) -> String {
    let out = e.ok(&["exec", c, "ip", "-4", "-o", "addr", "show", "eth0"]);
    out.split_whitespace().skip_while(|w| *w != "inet").nth(1).unwrap_or_default().split('/').next().unwrap_or_default().to_string()
}

#[test]
fn containers_resolve_each_other_on_a_user_network() {
    let e = common::Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    // the upstream of the containers: a fake on loopback (nothing leaves the machine)
    let up = Ipv4Addr::new(127, 0, 67, 9);
    let seen = fake_upstream(up, false);
    let dns = up.to_string();
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(0), "front"]);
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(1), "other"]);
    e.ok(&["run", "-d", "--name", "web", "--network", "front", "--network-alias", "site", "--dns", &dns, &img, "httpd", "-f", "-p", "80", "-h", "/etc"]);
    let hostname = e.ok(&["exec", "web", "cat", "/etc/hostname"]);
    let fetch = |host: &str| e.run(&["run", "--rm", "--network", "front", "--dns", &dns, &img, "wget", "-qO-", &format!("http://{host}/hostname")]);
    for host in ["web", "site", "WEB"] {
        let o = fetch(host);
        assert!(o.status.success() && common::text(&o.stdout) == hostname, "wget {host}: {}", common::text(&o.stderr));
    }
    // restarted with another address: reached by name all the same
    let before = ip_of(&e, "web");
    e.ok(&["stop", "-t", "1", "web"]);
    e.ok(&["run", "-d", "--name", "filler", "--network", "front", "--ip", &before, &img, "sleep", "60"]);
    e.ok(&["start", "web"]);
    let after = ip_of(&e, "web");
    assert_ne!(before, after, "web should have a new address");
    let o = fetch("web");
    assert!(o.status.success() && common::text(&o.stdout) == hostname, "after restart: {}", common::text(&o.stderr));
    // started later: resolves the earlier one and is resolved by it
    e.ok(&["run", "-d", "--name", "late", "--network", "front", "--dns", &dns, &img, "sleep", "60"]);
    let late_ip = ip_of(&e, "late");
    let o = e.ok(&["exec", "web", "nslookup", "late"]);
    assert!(o.contains(&late_ip), "{o}");
    let o = e.ok(&["exec", "late", "nslookup", "web"]);
    assert!(o.contains(&after), "{o}");
    // another network does not see them
    let o = e.run(&["run", "--rm", "--network", "other", "--dns", &dns, &img, "nslookup", "web"]);
    assert!(!common::text(&o.stdout).contains(&after), "{}", common::text(&o.stdout));
    // a name of the world goes to --dns
    let o = e.ok(&["exec", "late", "nslookup", "www.example.org"]);
    assert!(o.contains("192.0.2.7"), "{o}");
    assert!(seen.try_iter().any(|n| n == "www.example.org"), "the fake upstream saw the query");
    // all gone: no record of this root; the responder gone too unless
    // another root's containers still have records
    let pid = host_responder().expect("a responder runs");
    for c in ["web", "filler", "late"] {
        e.ok(&["rm", "-f", c]);
    }
    e.ok(&["network", "rm", "front", "other"]);
    assert_eq!(foreign_records(Path::new("/nonexistent")) - foreign_records(&e.root()), 0, "records of this root left");
    if foreign_records(&e.root()) == 0 {
        let t = Instant::now();
        while is_responder(pid) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!is_responder(pid), "the responder outlived the last record");
    } else {
        eprintln!("note: other roots' records keep the host's responder; checked only that this root's records are gone");
    }
}
