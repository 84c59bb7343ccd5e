//! Real-kernel tests of bocker::net (run as root). Each test has its own
//! bridge (`bkt` + 6 random hex chars), its own subnet (10.213.X.0/24 or
//! 172.31.X.0/24), its own temp root, egress off (the bridge is isolated from
//! eth0), and a Drop guard that removes everything even on failure.
//! Traffic only flows between the host's loopback/bridge and the namespaces
//! created here.

use bocker::net::{self, bridge, ipam, ports, NetConfig, NetMode, NetState, ProxyLauncher};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entry point used by the proxy processes of these tests: the test binary
/// re-executes itself as `TESTBIN proxy_child_entry --exact --nocapture -- __proxy ...`.
#[test]
fn proxy_child_entry() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == ports::PROXY_ARG) {
        ports::proxy_main(&args[i + 1..]);
    }
}

fn launcher() -> ProxyLauncher {
    ProxyLauncher {
        program: std::env::current_exe().unwrap(),
        args: ["proxy_child_entry", "--exact", "--nocapture", "--"].map(String::from).to_vec(),
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    b
}

struct Env {
    cfg: NetConfig,
    root: tempfile::TempDir,
    children: Mutex<Vec<Child>>,
    states: Mutex<Vec<NetState>>,
}

impl Env {
    fn new() -> Env {
        let r = rand_bytes::<4>();
        let bridge = format!("bkt{:02x}{:02x}{:02x}", r[0], r[1], r[2]);
        let x = r[3] % 250 + 1;
        let subnet = if r[0] & 1 == 0 { format!("10.213.{x}.0/24") } else { format!("172.31.{x}.0/24") };
        let cfg = NetConfig::parse(Some(&bridge), Some(&subnet), Some("0")).unwrap();
        Env { cfg, root: tempfile::tempdir().unwrap(), children: Mutex::new(vec![]), states: Mutex::new(vec![]) }
    }

    fn root(&self) -> &Path {
        self.root.path()
    }

    /// A process in a fresh netns; returns its pid once it is really there.
    fn fake_container(&self) -> u32 {
        let child = Command::new("unshare").args(["--net", "sleep", "60"]).stdin(Stdio::null()).spawn().unwrap();
        let pid = child.id();
        self.children.lock().unwrap().push(child);
        let me = std::fs::read_link("/proc/self/ns/net").unwrap();
        let t = Instant::now();
        while std::fs::read_link(format!("/proc/{pid}/ns/net")).map(|l| l == me).unwrap_or(true) {
            assert!(t.elapsed() < Duration::from_secs(5), "unshare did not enter a new netns");
            std::thread::sleep(Duration::from_millis(1));
        }
        pid
    }

    fn spawn(&self, cmd: &mut Command) {
        let c = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        self.children.lock().unwrap().push(c);
    }

    fn setup(&self, id: &str, pid: u32, mode: NetMode, p: &[&str]) -> net::Result<NetState> {
        let specs: Vec<_> = p.iter().map(|s| ports::parse(s).unwrap()).collect();
        let st = net::setup_with(self.root(), &self.cfg, id, pid, mode, &specs, &|_: &bocker::net::ipam::Holder| true, &launcher())?;
        self.states.lock().unwrap().push(st.clone());
        Ok(st)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for st in self.states.lock().unwrap().iter() {
            let _ = net::teardown(self.root(), &self.cfg, st);
        }
        for c in self.children.lock().unwrap().iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = bridge::remove_bridge(&self.cfg);
    }
}

fn in_ns(pid: u32, args: &[&str]) -> std::process::Output {
    Command::new("nsenter").arg("-t").arg(pid.to_string()).arg("-n").args(args).output().unwrap()
}

/// A reply within three tries: a veth just made gets its carrier from the
/// kernel's link watch, which may defer it (up to a second on a busy
/// host), and a packet sent before that is dropped.
fn ping(pid: u32, ip: Ipv4Addr) -> bool {
    (0..3).any(|_| in_ns(pid, &["/bin/busybox", "ping", "-c1", "-W1", &ip.to_string()]).status.success())
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn tagged(table: &str, tag: &str) -> usize {
    bocker::net::iptables::tagged_rules(table, tag).unwrap().len()
}

fn id(n: usize) -> String {
    let r = rand_bytes::<8>();
    format!("{n:02}{}", r.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[test]
fn bridge_two_containers_ping_and_teardown() {
    let env = Env::new();
    let (a, b) = (env.fake_container(), env.fake_container());
    let (ida, idb) = (id(1), id(2));
    let sa = env.setup(&ida, a, NetMode::Bridge, &[]).unwrap();
    let sb = env.setup(&idb, b, NetMode::Bridge, &[]).unwrap();
    let (ipa, ipb) = (sa.ip.unwrap(), sb.ip.unwrap());
    assert_ne!(ipa, ipb);
    assert!(env.cfg.subnet.contains(ipa) && ipa != env.cfg.gateway);
    // eth0 inside carries the address and the derived MAC, default route via gateway
    let addr = String::from_utf8_lossy(&in_ns(a, &["ip", "-o", "addr", "show", "eth0"]).stdout).to_string();
    assert!(addr.contains(&format!("{ipa}/24")), "{addr}");
    let link = String::from_utf8_lossy(&in_ns(a, &["ip", "-o", "link", "show", "eth0"]).stdout).to_string();
    assert!(link.contains(sa.mac.as_deref().unwrap()), "{link}");
    let route = String::from_utf8_lossy(&in_ns(a, &["ip", "route"]).stdout).to_string();
    assert!(route.contains(&format!("default via {}", env.cfg.gateway)), "{route}");
    assert!(ping(a, env.cfg.gateway), "a -> gateway");
    assert!(ping(b, env.cfg.gateway), "b -> gateway");
    assert!(ping(a, ipb), "a -> b");
    assert!(ping(b, ipa), "b -> a");
    assert!(ping(a, Ipv4Addr::LOCALHOST), "lo is up");
    // bridge rules are there; teardown removes the per-container pieces
    assert!(tagged("filter", &bridge::bridge_tag(&env.cfg)) >= 4);
    let veth = sa.host_veth.clone().unwrap();
    assert!(link_exists(&veth));
    net::teardown(env.root(), &env.cfg, &sa).unwrap();
    net::teardown(env.root(), &env.cfg, &sa).unwrap(); // idempotent
    assert!(!link_exists(&veth));
    assert_eq!(ipam::owner(ipam::host_base(), &env.cfg, ipa).unwrap(), None);
    assert!(!ping(b, ipa));
    net::teardown(env.root(), &env.cfg, &sb).unwrap();
    assert!(ipam::leases(ipam::host_base(), &env.cfg).unwrap().is_empty());
    bridge::remove_bridge(&env.cfg).unwrap();
    assert!(!link_exists(&env.cfg.bridge));
    assert_eq!(tagged("filter", &bridge::bridge_tag(&env.cfg)) + tagged("nat", &bridge::bridge_tag(&env.cfg)), 0);
}

#[test]
fn none_mode_has_only_lo() {
    let env = Env::new();
    let pid = env.fake_container();
    let st = env.setup(&id(3), pid, NetMode::None, &[]).unwrap();
    assert_eq!(st.ip, None);
    let out = String::from_utf8_lossy(&in_ns(pid, &["ip", "-o", "link"]).stdout).to_string();
    let names: Vec<&str> = out.lines().filter_map(|l| l.split(':').nth(1)).map(str::trim).collect();
    assert_eq!(names, ["lo"], "{out}");
    assert!(out.contains("UP"), "{out}");
    assert!(ping(pid, Ipv4Addr::LOCALHOST));
    assert!(!link_exists(&env.cfg.bridge), "none mode must not create the bridge");
    net::teardown(env.root(), &env.cfg, &st).unwrap();
}

#[test]
fn thirty_parallel_setups_get_unique_addresses() {
    let env = Env::new();
    let pids: Vec<u32> = (0..30).map(|_| env.fake_container()).collect();
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = pids
            .iter()
            .enumerate()
            .map(|(i, pid)| {
                let env = &env;
                s.spawn(move || env.setup(&id(i), *pid, NetMode::Bridge, &[]))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ips: std::collections::HashSet<_> = results.iter().map(|r| r.as_ref().unwrap().ip.unwrap()).collect();
    assert_eq!(ips.len(), 30);
    assert!(!ips.contains(&env.cfg.gateway));
    assert_eq!(ipam::leases(ipam::host_base(), &env.cfg).unwrap().len(), 30);
    // exactly one copy of each bridge rule despite the race
    let n = bridge::bridge_rules(&env.cfg).len();
    let tag = bridge::bridge_tag(&env.cfg);
    assert_eq!(tagged("filter", &tag) + tagged("nat", &tag), n);
    assert!(ping(pids[0], results[29].as_ref().unwrap().ip.unwrap()));
    for r in &results {
        net::teardown(env.root(), &env.cfg, r.as_ref().unwrap()).unwrap();
    }
    assert!(ipam::leases(ipam::host_base(), &env.cfg).unwrap().is_empty());
}

fn http_get(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn published_port_via_proxy_dnat_and_hairpin() {
    let env = Env::new();
    let web = env.fake_container();
    let client = env.fake_container();
    let dir = env.root().join("www");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "hello-from-bocker\n").unwrap();
    let idw = id(4);
    let sw = env.setup(&idw, web, NetMode::Bridge, &["8080"]).unwrap();
    let sc = env.setup(&id(5), client, NetMode::Bridge, &[]).unwrap();
    let m = sw.ports[0].clone();
    assert_ne!(m.host_port, 0);
    assert_eq!(sw.proxy_pids.len(), 1);
    env.spawn(Command::new("nsenter").arg("-t").arg(web.to_string()).arg("-n").args([
        "/bin/busybox", "httpd", "-f", "-p", "8080", "-h", dir.to_str().unwrap(),
    ]));
    // wait until httpd answers on the container address (host -> bridge route)
    let direct = SocketAddr::from((sw.ip.unwrap(), 8080));
    let t = Instant::now();
    while http_get(direct).map(|s| !s.contains("hello-from-bocker")).unwrap_or(true) {
        assert!(t.elapsed() < Duration::from_secs(5), "httpd did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    // 1. host loopback -> userspace proxy
    let r = http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, m.host_port))).unwrap_or_default();
    assert!(r.contains("hello-from-bocker"), "proxy: {r:?}");
    // 2. host -> gateway address (local, non-loopback) -> OUTPUT DNAT
    let r = http_get(SocketAddr::from((env.cfg.gateway, m.host_port))).unwrap_or_default();
    assert!(r.contains("hello-from-bocker"), "OUTPUT DNAT: {r:?}");
    // 3. another netns on the bridge -> gateway:HOSTPORT -> PREROUTING DNAT + hairpin MASQUERADE
    let url = format!("http://{}:{}/index.html", env.cfg.gateway, m.host_port);
    let o = in_ns(client, &["timeout", "5", "/bin/busybox", "wget", "-q", "-O", "-", &url]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("hello-from-bocker"), "PREROUTING DNAT: {o:?}");
    // the host port is taken: a second container asking for it fails cleanly
    let other = env.fake_container();
    let busy = format!("{}:80", m.host_port);
    let e = env.setup(&id(6), other, NetMode::Bridge, &[&busy]).unwrap_err();
    assert!(e.to_string().contains("already in use"), "{e}");
    assert_eq!(ipam::leases(ipam::host_base(), &env.cfg).unwrap().len(), 2);
    // teardown: rules, proxy, veth, lease gone; port free again
    let proxy = sw.proxy_pids[0];
    assert_eq!(tagged("nat", &ports::container_tag(&idw)), 2);
    net::teardown(env.root(), &env.cfg, &sw).unwrap();
    assert_eq!(tagged("nat", &ports::container_tag(&idw)), 0);
    assert!(!Path::new(&format!("/proc/{proxy}")).exists(), "proxy still alive");
    assert!(!link_exists(sw.host_veth.as_deref().unwrap()));
    std::net::TcpListener::bind(("0.0.0.0", m.host_port)).expect("host port free after teardown");
    net::teardown(env.root(), &env.cfg, &sc).unwrap();
    assert!(ipam::leases(ipam::host_base(), &env.cfg).unwrap().is_empty());
}

#[test]
fn setup_timing() {
    let env = Env::new();
    // warm: first setup creates the bridge and the rules
    let p0 = env.fake_container();
    let t = Instant::now();
    let s0 = env.setup(&id(0), p0, NetMode::Bridge, &[]).unwrap();
    let first = t.elapsed();
    let mut times = vec![];
    let mut down = vec![];
    for i in 1..=15 {
        let pid = env.fake_container();
        let t = Instant::now();
        let st = env.setup(&id(i), pid, NetMode::Bridge, &[]).unwrap();
        times.push(t.elapsed());
        let t = Instant::now();
        net::teardown(env.root(), &env.cfg, &st).unwrap();
        down.push(t.elapsed());
    }
    times.sort();
    down.sort();
    eprintln!(
        "TIMING first setup (creates bridge+rules) {:?}; warm setup median {:?} (min {:?}, max {:?}); teardown median {:?}",
        first, times[times.len() / 2], times[0], times[times.len() - 1], down[down.len() / 2]
    );
    net::teardown(env.root(), &env.cfg, &s0).unwrap();
    net::reset(env.root(), &env.cfg).unwrap();
    assert!(!link_exists(&env.cfg.bridge));
    assert!(!env.root().join("net").join(&env.cfg.bridge).exists());
}

#[test]
fn existing_non_bridge_interface_is_refused() {
    let env = Env::new();
    let name = env.cfg.bridge.clone();
    let peer = format!("{name}p");
    bocker::net::nl::run(|h| async move {
        h.link()
            .add(rtnetlink::LinkVeth::new(&name, &peer).build())
            .execute()
            .await
            .map_err(|e| bocker::net::NetError::Netlink { context: "veth".into(), source: e })
    })
    .unwrap();
    let e = bridge::ensure_bridge(&env.cfg).unwrap_err();
    assert!(e.to_string().contains("not a bridge"), "{e}");
    bridge::remove_bridge(&env.cfg).unwrap();
    assert!(!link_exists(&env.cfg.bridge));
}


/// The bridge's stamp lets a start skip the rules check, but never past a
/// change of the host's ruleset: a bridge rule deleted by hand is back at
/// the next setup. The stamp goes with the bridge.
#[test]
fn a_deleted_bridge_rule_comes_back_despite_the_stamp() {
    let env = Env::new();
    let tag = bridge::bridge_tag(&env.cfg);
    let want = bridge::bridge_rules(&env.cfg).iter().filter(|r| r.table == "filter").count();
    let a = env.fake_container();
    env.setup(&id(1), a, NetMode::Bridge, &[]).unwrap();
    let b = env.fake_container();
    env.setup(&id(2), b, NetMode::Bridge, &[]).unwrap();
    let stamp = Path::new("/run/bocker/bridges").join(&env.cfg.bridge);
    assert!(stamp.is_file(), "no stamp after two setups on one bridge");
    assert_eq!(tagged("filter", &tag), want);
    // delete one rule of the bridge, as an admin's flush would
    let first = bocker::net::iptables::tagged_rules("filter", &tag).unwrap().remove(0);
    let mut del = vec!["-t".to_string(), "filter".to_string(), "-D".to_string()];
    del.extend(first.iter().skip(1).cloned());
    let st = Command::new("iptables").args(&del).status().unwrap();
    assert!(st.success(), "iptables {del:?}");
    assert_eq!(tagged("filter", &tag), want - 1);
    let c = env.fake_container();
    env.setup(&id(3), c, NetMode::Bridge, &[]).unwrap();
    assert_eq!(tagged("filter", &tag), want, "the deleted rule was not restored");
    bridge::remove_bridge(&env.cfg).unwrap();
    assert!(!stamp.exists(), "the stamp outlived its bridge");
}
