//! Published ports (`-p`): parsing, host-port reservation, DNAT rules and the
//! userspace proxy for loopback.
//!
//! For a mapping HOSTIP:HOSTPORT -> CONTAINER:CPORT:
//! - nat PREROUTING `-p P [-d HOSTIP] --dport HOSTPORT -m addrtype --dst-type LOCAL
//!   -j DNAT --to-destination CIP:CPORT` (traffic arriving from other hosts and
//!   from containers, which reach it via the gateway address);
//! - nat OUTPUT, same but `! -d 127.0.0.0/8` (host processes using a non-loopback
//!   host address);
//! - 127.0.0.1:HOSTPORT from the host: a userspace proxy process (like
//!   docker-proxy; TCP per connection, UDP per client address) that also keeps
//!   the host port bound (reserved) for the container's lifetime. The proxy listens on HOSTIP:HOSTPORT (0.0.0.0 when no
//!   IP was given).
//! - a HOSTIP in 127.0.0.0/8 gets the proxy only (no DNAT).
//!
//! Rules carry `-m comment --comment bocker:<container_id>` and are removed with
//! [`remove_rules_for`].

use super::error::{NetError, Result};
use super::iptables;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

/// Transport protocol of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A `-p` argument as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// `None`: all host addresses.
    pub host_ip: Option<Ipv4Addr>,
    /// `None`: pick a free port.
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub proto: Proto,
}

/// A resolved, active mapping (stored in `NetState`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// 0.0.0.0 = all host addresses.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}->{}/{}", self.host_ip, self.host_port, self.container_port, self.proto.as_str())
    }
}

fn port(spec: &str, s: &str, what: &str, zero_ok: bool) -> Result<u16> {
    let bad = |reason: String| NetError::PortSpec { spec: spec.into(), reason };
    let p: u16 = s.parse().map_err(|_| bad(format!("{what} {s:?} is not a number 1-65535")))?;
    if p == 0 && !zero_ok {
        return Err(bad(format!("{what} must not be 0")));
    }
    Ok(p)
}

/// Parses `[[IP:]HOSTPORT:]CPORT[/tcp|/udp]` (also `IP::CPORT`).
pub fn parse(spec: &str) -> Result<PortSpec> {
    let bad = |reason: &str| NetError::PortSpec { spec: spec.into(), reason: reason.into() };
    let (body, proto) = match spec.rsplit_once('/') {
        Some((b, "tcp")) => (b, Proto::Tcp),
        Some((b, "udp")) => (b, Proto::Udp),
        Some(_) => return Err(bad("protocol must be tcp or udp")),
        None => (spec, Proto::Tcp),
    };
    let parts: Vec<&str> = body.split(':').collect();
    let (ip, hp, cp) = match parts.as_slice() {
        [c] => (None, None, *c),
        [h, c] => (None, Some(*h), *c),
        [i, h, c] => (Some(*i), Some(*h), *c),
        _ => return Err(bad("expected [[IP:]HOSTPORT:]CONTAINERPORT[/PROTO]")),
    };
    let host_ip = match ip {
        None | Some("") => None,
        Some(i) => Some(i.parse::<Ipv4Addr>().map_err(|_| bad("host IP is not an IPv4 address"))?),
    };
    let host_port = match hp {
        None | Some("") => None,
        Some(h) => Some(port(spec, h, "host port", true)?).filter(|p| *p != 0),
    };
    let container_port = port(spec, cp, "container port", false)?;
    Ok(PortSpec { host_ip, host_port, container_port, proto })
}

impl FromStr for PortSpec {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self> {
        parse(s)
    }
}

/// The bound host socket that reserves a host port until it is handed to the
/// proxy (TCP) or dropped (UDP).
#[derive(Debug)]
pub enum Reserved {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// Binds the host port (the "is it free?" test). A random port is picked
/// when none was given.
pub fn reserve(spec: &PortSpec) -> Result<(PortMapping, Reserved)> {
    let ip = spec.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let addr = SocketAddr::V4(SocketAddrV4::new(ip, spec.host_port.unwrap_or(0)));
    let in_use = |source| NetError::PortInUse { addr, proto: spec.proto.as_str(), source };
    let (port, r) = match spec.proto {
        Proto::Tcp => {
            let l = TcpListener::bind(addr).map_err(in_use)?;
            let p = l.local_addr().map_err(|e| NetError::io("local_addr", e))?.port();
            (p, Reserved::Tcp(l))
        }
        Proto::Udp => {
            let s = UdpSocket::bind(addr).map_err(in_use)?;
            let p = s.local_addr().map_err(|e| NetError::io("local_addr", e))?.port();
            (p, Reserved::Udp(s))
        }
    };
    Ok((PortMapping { host_ip: ip, host_port: port, container_port: spec.container_port, proto: spec.proto }, r))
}

/// Comment tag of a container's rules.
pub fn container_tag(container_id: &str) -> String {
    format!("bocker:{container_id}")
}

/// The nat rules (chain, args) for one mapping; empty for a loopback host IP.
pub fn dnat_rules(container_id: &str, container_ip: Ipv4Addr, m: &PortMapping) -> Vec<(&'static str, Vec<String>)> {
    if m.host_ip.is_loopback() {
        return vec![];
    }
    let to = format!("{container_ip}:{}", m.container_port);
    let tag = container_tag(container_id);
    let mk = |dst: Vec<String>| -> Vec<String> {
        let mut a: Vec<String> = vec!["-p".into(), m.proto.as_str().into()];
        a.extend(dst);
        a.extend(
            ["--dport", &m.host_port.to_string(), "-m", "addrtype", "--dst-type", "LOCAL", "-m", "comment", "--comment", &tag, "-j", "DNAT", "--to-destination", &to]
                .map(String::from),
        );
        a
    };
    if m.host_ip.is_unspecified() {
        vec![
            ("PREROUTING", mk(vec![])),
            ("OUTPUT", mk(vec!["!".into(), "-d".into(), "127.0.0.0/8".into()])),
        ]
    } else {
        let d = vec!["-d".into(), m.host_ip.to_string()];
        vec![("PREROUTING", mk(d.clone())), ("OUTPUT", mk(d))]
    }
}

/// Installs the DNAT rules of one mapping.
pub fn add_rules(container_id: &str, container_ip: Ipv4Addr, m: &PortMapping) -> Result<()> {
    for (chain, args) in dnat_rules(container_id, container_ip, m) {
        let mut a: Vec<&str> = vec!["-t", "nat", "-A", chain];
        a.extend(args.iter().map(String::as_str));
        iptables::run(&a)?;
    }
    Ok(())
}

/// Removes every rule tagged `bocker:<container_id>` (all per-container
/// rules live in the nat table); returns how many.
pub fn remove_rules_for(container_id: &str) -> Result<usize> {
    iptables::delete_tagged("nat", &container_tag(container_id))
}

// ---------------------------------------------------------------- proxy

/// The argument that selects the proxy entry point: `EXE __proxy tcp fd:3 TARGET`.
pub const PROXY_ARG: &str = "__proxy";

/// How to start a proxy process: `program args... __proxy tcp fd:3 TARGET`.
#[derive(Clone, Debug)]
pub struct ProxyLauncher {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl Default for ProxyLauncher {
    /// Re-executes the current binary (`/proc/self/exe __proxy ...`).
    fn default() -> Self {
        ProxyLauncher { program: PathBuf::from("/proc/self/exe"), args: vec![] }
    }
}

/// Starts a proxy process that inherits `listener` as fd 3 and forwards each
/// connection to `target`. Returns its pid. The caller (shim) is its parent;
/// [`kill_proxy`] reaps it when it can.
pub fn spawn_proxy(launcher: &ProxyLauncher, listener: TcpListener, target: SocketAddr) -> Result<u32> {
    spawn_proxy_fd(launcher, "tcp", listener.into(), target)
}

/// Like [`spawn_proxy`] for a bound UDP socket.
pub fn spawn_udp_proxy(launcher: &ProxyLauncher, socket: UdpSocket, target: SocketAddr) -> Result<u32> {
    spawn_proxy_fd(launcher, "udp", socket.into(), target)
}

fn spawn_proxy_fd(launcher: &ProxyLauncher, proto: &str, sock: std::os::fd::OwnedFd, target: SocketAddr) -> Result<u32> {
    let fd = sock.as_raw_fd();
    let mut cmd = Command::new(&launcher.program);
    cmd.args(&launcher.args)
        .args([PROXY_ARG, proto, "fd:3", &target.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // The proxy dies with its monitor (a kill -9 of the shim must not leave
    // it holding the host port). PDEATHSIG fires when the *thread* that
    // forked dies: the shim spawns proxies from its main thread, which lives
    // as long as the shim. If the parent died before the prctl, getppid()
    // no longer names it: give up at once.
    let parent = std::process::id() as libc::pid_t;
    // SAFETY (allowed by src/sys's rule: pre_exec runs this closure
    // between fork and exec): only async-signal-safe calls (prctl,
    // getppid, dup2, fcntl, setsid), no allocation.
    unsafe {
        cmd.pre_exec(move || {
            crate::sys::process::set_parent_death_signal(libc::SIGKILL)?;
            if nix::unistd::getppid().as_raw() != parent {
                // the monitor is gone already (no allocation after fork)
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            if fd == 3 {
                crate::sys::fd::clear_cloexec(3)?;
            } else {
                crate::sys::fd::dup2(fd, 3)?;
            }
            let _ = nix::unistd::setsid();
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| NetError::io(format!("starting proxy {}", launcher.program.display()), e))?;
    drop(sock);
    Ok(child.id())
}

/// Entry point of the hidden subcommand; `args` are the words after
/// `__proxy`: `tcp fd:N TARGET` or `tcp LISTENADDR TARGET`.
pub fn proxy_main(args: &[String]) -> ! {
    let r = (|| -> Result<(TcpListener, SocketAddr)> {
        let bad = || NetError::Config(format!("usage: {PROXY_ARG} tcp fd:N|ADDR:PORT TARGET:PORT (got {args:?})"));
        let [proto, listen, target] = args else { return Err(bad()) };
        if proto != "tcp" && proto != "udp" {
            return Err(bad());
        }
        let target: SocketAddr = target.parse().map_err(|_| bad())?;
        if proto == "udp" {
            let n: i32 = listen.strip_prefix("fd:").and_then(|n| n.parse().ok()).ok_or_else(bad)?;
            // fd handed to us by spawn_udp_proxy, owned from now on
            let sock = crate::sys::fd::adopt(n).map_err(|e| NetError::io(format!("inherited socket {n}"), e))?;
            run_udp_proxy(UdpSocket::from(sock), target)
        }
        let l = if let Some(n) = listen.strip_prefix("fd:") {
            let n: i32 = n.parse().map_err(|_| bad())?;
            // fd handed to us by spawn_proxy, owned by this process from now on
            TcpListener::from(crate::sys::fd::adopt(n).map_err(|e| NetError::io(format!("inherited socket {n}"), e))?)
        } else {
            let a: SocketAddr = listen.parse().map_err(|_| bad())?;
            TcpListener::bind(a).map_err(|e| NetError::io(format!("binding {a}"), e))?
        };
        Ok((l, target))
    })();
    match r {
        Ok((l, t)) => run_proxy(l, t),
        Err(e) => {
            eprintln!("bocker proxy: {e}");
            std::process::exit(2)
        }
    }
}

/// Relays datagrams between host clients and `target`: one connected
/// socket (and reply thread) per client address, dropped after a minute
/// of silence, as docker-proxy does for UDP. Never returns.
pub fn run_udp_proxy(socket: UdpSocket, target: SocketAddr) -> ! {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let flows: Arc<Mutex<HashMap<SocketAddr, UdpSocket>>> = Arc::new(Mutex::new(HashMap::new()));
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, client)) = socket.recv_from(&mut buf) else { continue };
        let existing = flows.lock().ok().and_then(|m| m.get(&client).and_then(|s| s.try_clone().ok()));
        let upstream = match existing {
            Some(s) => s,
            None => {
                let Ok(up) = UdpSocket::bind(("0.0.0.0", 0)) else { continue };
                if up.connect(target).is_err() {
                    continue;
                }
                let _ = up.set_read_timeout(Some(Duration::from_secs(60)));
                let (Ok(reader), Ok(back)) = (up.try_clone(), socket.try_clone()) else { continue };
                if let Ok(mut m) = flows.lock() {
                    if let Ok(c) = up.try_clone() {
                        m.insert(client, c);
                    }
                }
                let flows = Arc::clone(&flows);
                let _ = std::thread::Builder::new().spawn(move || {
                    let mut b = vec![0u8; 65536];
                    while let Ok(n) = reader.recv(&mut b) {
                        let _ = back.send_to(&b[..n], client);
                    }
                    if let Ok(mut m) = flows.lock() {
                        m.remove(&client);
                    }
                });
                up
            }
        };
        let _ = upstream.send(&buf[..n]);
    }
}

/// Forwards every accepted connection to `target`, one thread per
/// connection (two copy directions, half-close propagated). Never returns.
pub fn run_proxy(listener: TcpListener, target: SocketAddr) -> ! {
    loop {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = std::thread::Builder::new().spawn(move || proxy_conn(client, target));
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(_) => {}
        }
    }
}

fn proxy_conn(client: TcpStream, target: SocketAddr) {
    let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(10)) else {
        return; // client sees the connection closed
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else { return };
    let up = std::thread::spawn(move || pipe(c2, s2));
    pipe(server, client);
    let _ = up.join();
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Kills a proxy started by [`spawn_proxy`] if `pid` still is one (checked via
/// /proc/PID/cmdline, so a recycled pid is left alone) and reaps it if it is
/// our child. Missing process is fine.
pub fn kill_proxy(pid: u32) -> Result<()> {
    kill_proxy_of(pid, None)
}

/// Like [`kill_proxy`]; with `target_ip`, only a proxy that forwards to
/// that address is killed (for a recorded pid of a monitor that died long
/// ago: it may name another container's proxy by now).
pub fn kill_proxy_of(pid: u32, target_ip: Option<Ipv4Addr>) -> Result<()> {
    let Ok(pid_i) = i32::try_from(pid) else { return Ok(()) };
    if pid_i <= 1 {
        return Ok(());
    }
    let cmdline = match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(c) => c,
        Err(_) => return Ok(()),
    };
    let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).filter(|w| !w.is_empty()).collect();
    let Some(at) = words.iter().position(|w| *w == PROXY_ARG.as_bytes()) else { return Ok(()) };
    if let Some(ip) = target_ip {
        let prefix = format!("{ip}:");
        if !words.get(at + 3).is_some_and(|t| t.starts_with(prefix.as_bytes())) {
            return Ok(());
        }
    }
    if let Err(e) = crate::sys::process::kill(pid_i, libc::SIGKILL) {
        if e.raw_os_error() != Some(libc::ESRCH) {
            return Err(NetError::io(format!("killing proxy {pid}"), e));
        }
    }
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid_i), None); // ECHILD when not our child: fine
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PortSpec {
        parse(s).unwrap()
    }

    #[test]
    fn parse_forms() {
        assert_eq!(p("8080:80"), PortSpec { host_ip: None, host_port: Some(8080), container_port: 80, proto: Proto::Tcp });
        assert_eq!(p("80"), PortSpec { host_ip: None, host_port: None, container_port: 80, proto: Proto::Tcp });
        assert_eq!(
            p("127.0.0.1:8080:80/udp"),
            PortSpec { host_ip: Some(Ipv4Addr::LOCALHOST), host_port: Some(8080), container_port: 80, proto: Proto::Udp }
        );
        assert_eq!(p("10.1.1.1::53/udp").host_port, None);
        assert_eq!(p("0:80").host_port, None);
        assert_eq!(p("53/tcp").proto, Proto::Tcp);
    }

    #[test]
    fn parse_errors() {
        for s in ["", "x", "80/sctp", "1:2:3:4", "70000:80", "8080:0", "a.b.c.d:1:2", "8080:", ":"] {
            let e = parse(s).unwrap_err().to_string();
            assert!(e.contains("invalid port spec"), "{s}: {e}");
        }
    }

    #[test]
    fn reserve_detects_busy_port() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let e = reserve(&p(&format!("127.0.0.1:{port}:80"))).unwrap_err();
        assert!(matches!(e, NetError::PortInUse { .. }), "{e}");
        assert!(e.to_string().contains("already in use"));
        let (m, _r) = reserve(&p("127.0.0.1::80")).unwrap();
        assert_ne!(m.host_port, 0);
    }

    #[test]
    fn dnat_shape() {
        let m = PortMapping { host_ip: Ipv4Addr::UNSPECIFIED, host_port: 8080, container_port: 80, proto: Proto::Tcp };
        let r = dnat_rules("abc", Ipv4Addr::new(10, 0, 0, 2), &m);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, "PREROUTING");
        let out = r[1].1.join(" ");
        assert!(out.contains("! -d 127.0.0.0/8"), "{out}");
        assert!(out.contains("--comment bocker:abc"));
        assert!(out.ends_with("--to-destination 10.0.0.2:80"));
        let lo = PortMapping { host_ip: Ipv4Addr::LOCALHOST, ..m };
        assert!(dnat_rules("abc", Ipv4Addr::new(10, 0, 0, 2), &lo).is_empty());
    }

    #[test]
    fn proxy_in_thread_forwards() {
        // echo server
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let ea = echo.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in echo.incoming().flatten() {
                let mut r = s.try_clone().unwrap();
                let mut w = s;
                std::thread::spawn(move || {
                    let _ = io::copy(&mut r, &mut w);
                });
            }
        });
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let la = l.local_addr().unwrap();
        std::thread::spawn(move || run_proxy(l, ea));
        let mut c = TcpStream::connect(la).unwrap();
        use std::io::{Read, Write};
        c.write_all(b"hello").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
    }
}
