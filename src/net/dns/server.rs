//! The responder process (`bocker-monitor __dns serve`): one poll loop
//! over the UDP sockets of every gateway, the TCP listeners, the inotify
//! watch of the records folder, the control socket and the sockets of
//! queries forwarded upstream. TCP connections (rare: answers over 512
//! bytes) each get a short-lived thread, at most `MAX_TCP` at once.
use super::answer::{decide, Decision};
use super::table::Table;
use super::upstream::{self, HostResolvers};
use super::wire::{self, Query, Rcode, Reply};
use super::Config;
use crate::net::names::NameRecord;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::socket::{self as sock, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::io::{self, BufRead, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Forwarded UDP queries waiting at once (a socket each, within the
/// default 1024 descriptors); more get SERVFAIL at once.
const MAX_PENDING: usize = 512;
/// Of those, what one container (one source address) may hold: a container
/// that floods forwarded queries gets SERVFAIL, the others keep theirs.
const MAX_PENDING_PER_CLIENT: usize = 64;
/// TCP connections served at once; more are closed at accept.
const MAX_TCP: usize = 16;
/// How long a TCP connection may sit idle.
const TCP_IDLE: Duration = Duration::from_secs(5);
/// Until the responder tries again to exit when it could not take the start lock.
const EXIT_RETRY: Duration = Duration::from_millis(100);

/// The sockets of one gateway.
struct Gateway {
    udp: UdpSocket,
    tcp: TcpListener,
}

/// A UDP query relayed upstream.
struct Pending {
    gateway: Ipv4Addr,
    client: SocketAddrV4,
    query: Query,
    /// the query as sent (the id replaced by ours)
    packet: Vec<u8>,
    our_id: u16,
    /// connected to the server asked last
    sock: Option<UdpSocket>,
    servers: Vec<SocketAddr>,
    next: usize,
    attempt_until: Instant,
    deadline: Instant,
}

/// Whether `client` already has its share of the forwarding slots.
fn share_taken<'a>(pending_clients: impl Iterator<Item = &'a Ipv4Addr>, client: &Ipv4Addr) -> bool {
    pending_clients.filter(|c| *c == client).nth(MAX_PENDING_PER_CLIENT - 1).is_some()
}

enum Token {
    Inotify,
    Control,
    Udp(Ipv4Addr),
    Tcp(Ipv4Addr),
    Upstream(u64),
}

pub struct Server {
    cfg: Config,
    /// the records by file name, as last read
    records: BTreeMap<std::ffi::OsString, NameRecord>,
    table: Arc<Table>,
    gateways: BTreeMap<Ipv4Addr, Gateway>,
    inotify: Inotify,
    control: UnixListener,
    pending: HashMap<u64, Pending>,
    next_key: u64,
    host: HostResolvers,
    tcp_active: Arc<AtomicUsize>,
    ids: std::collections::hash_map::RandomState,
    exit_at: Option<Instant>,
    /// the start lock, held from the decision to exit until the process ends
    _exiting: Option<nix::fcntl::Flock<std::fs::File>>,
}

/// A UDP socket on `addr`, bound even before the address exists on a
/// bridge (IP_FREEBIND): a bridge still coming up is no problem.
fn bind_udp(addr: SocketAddrV4) -> io::Result<UdpSocket> {
    let fd = sock::socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK, None)?;
    sock::setsockopt(&fd, sockopt::IpFreebind, &true)?;
    sock::bind(fd.as_raw_fd(), &SockaddrIn::from(addr))?;
    Ok(UdpSocket::from(fd))
}

fn bind_tcp(addr: SocketAddrV4) -> io::Result<TcpListener> {
    let fd = sock::socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK, None)?;
    sock::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    sock::setsockopt(&fd, sockopt::IpFreebind, &true)?;
    sock::bind(fd.as_raw_fd(), &SockaddrIn::from(addr))?;
    sock::listen(&fd, Backlog::new(64).unwrap_or(Backlog::MAXCONN))?;
    Ok(TcpListener::from(fd))
}

fn watch_flags() -> AddWatchFlags {
    AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_MOVED_FROM | AddWatchFlags::IN_DELETE | AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_DELETE_SELF | AddWatchFlags::IN_ONLYDIR
}

impl Server {
    /// Opens everything; the caller says "ready" once this returns.
    pub fn new(cfg: Config) -> io::Result<Server> {
        let records = cfg.records_dir();
        std::fs::create_dir_all(&records)?;
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        inotify.add_watch(&records, watch_flags())?;
        let _ = std::fs::remove_file(cfg.control_path());
        let control = UnixListener::bind(cfg.control_path())?;
        std::fs::set_permissions(cfg.control_path(), std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        control.set_nonblocking(true)?;
        let host = HostResolvers::new(cfg.resolv_conf.clone());
        let mut s = Server {
            cfg,
            records: BTreeMap::new(),
            table: Arc::new(Table::default()),
            gateways: BTreeMap::new(),
            inotify,
            control,
            pending: HashMap::new(),
            next_key: 0,
            host,
            tcp_active: Arc::new(AtomicUsize::new(0)),
            ids: std::collections::hash_map::RandomState::new(),
            exit_at: None,
            _exiting: None,
        };
        s.reload();
        Ok(s)
    }

    /// Re-reads every record (at start, after lost events).
    fn reload(&mut self) {
        self.records.clear();
        if let Ok(rd) = std::fs::read_dir(self.cfg.records_dir()) {
            for e in rd.flatten() {
                self.reread(&e.file_name());
            }
        }
        self.rebuild();
    }

    /// Re-reads one record file: a changed one replaces what it held, a
    /// removed (or unreadable, or not a record) one is forgotten.
    fn reread(&mut self, name: &std::ffi::OsStr) {
        if !name.to_str().is_some_and(|n| n.ends_with(".json")) {
            return;
        }
        let rec = std::fs::read(self.cfg.records_dir().join(name)).ok().and_then(|b| serde_json::from_slice::<NameRecord>(&b).ok());
        match rec {
            Some(r) => {
                self.records.insert(name.to_os_string(), r);
            }
            None => {
                self.records.remove(name);
            }
        }
    }

    /// The table from the records held, sockets opened on new gateways and
    /// closed on gateways no record names any more.
    fn rebuild(&mut self) {
        let records: Vec<NameRecord> = self.records.values().cloned().collect();
        let table = Table::build(&records);
        let wanted = table.gateways().clone();
        self.gateways.retain(|gw, _| wanted.contains(gw));
        for gw in wanted {
            if self.gateways.contains_key(&gw) {
                continue;
            }
            let addr = SocketAddrV4::new(gw, self.cfg.port);
            match bind_udp(addr).and_then(|udp| Ok(Gateway { udp, tcp: bind_tcp(addr)? })) {
                Ok(g) => {
                    self.gateways.insert(gw, g);
                }
                Err(e) => eprintln!("bocker dns: cannot listen on {addr}: {e} (tried again at the next change)"),
            }
        }
        self.exit_at = table.is_empty().then(Instant::now);
        self.table = Arc::new(table);
    }

    /// When no record is left: exit, under the start lock so that no
    /// `ensure` is between publishing and finding this responder.
    fn try_exit(&mut self) -> bool {
        let Ok(f) = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(self.cfg.lock_path()) else { return false };
        let Ok(lock) = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock) else {
            self.exit_at = Some(Instant::now() + EXIT_RETRY);
            return false;
        };
        self.reload();
        if !self.table.is_empty() {
            return false;
        }
        let _ = std::fs::remove_file(self.cfg.control_path());
        let _ = std::fs::remove_file(self.cfg.pid_path());
        self._exiting = Some(lock);
        true
    }

    /// Serves until no record is left.
    pub fn run(mut self) -> io::Result<()> {
        loop {
            if self.exit_at.is_some_and(|t| t <= Instant::now()) && self.try_exit() {
                return Ok(());
            }
            let timeout = self.next_timeout();
            let mut tokens = vec![Token::Inotify, Token::Control];
            let mut fds = vec![PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN), PollFd::new(self.control.as_fd(), PollFlags::POLLIN)];
            for (gw, g) in &self.gateways {
                tokens.push(Token::Udp(*gw));
                fds.push(PollFd::new(g.udp.as_fd(), PollFlags::POLLIN));
                tokens.push(Token::Tcp(*gw));
                fds.push(PollFd::new(g.tcp.as_fd(), PollFlags::POLLIN));
            }
            for (k, p) in &self.pending {
                if let Some(s) = &p.sock {
                    tokens.push(Token::Upstream(*k));
                    fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
                }
            }
            match nix::poll::poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let ready: Vec<usize> = fds.iter().enumerate().filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty())).map(|(i, _)| i).collect();
            drop(fds);
            for i in ready {
                match tokens[i] {
                    Token::Inotify => self.on_inotify(),
                    Token::Control => self.on_control(),
                    Token::Udp(gw) => self.on_udp(gw),
                    Token::Tcp(gw) => self.on_tcp(gw),
                    Token::Upstream(k) => self.on_upstream(k),
                }
            }
            self.expire();
        }
    }

    fn next_timeout(&self) -> PollTimeout {
        let now = Instant::now();
        let soonest = self.pending.values().map(|p| p.attempt_until.min(p.deadline)).chain(self.exit_at).min();
        match soonest {
            None => PollTimeout::NONE,
            Some(t) => {
                let ms = t.saturating_duration_since(now).as_millis().saturating_add(1);
                PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::MAX)
            }
        }
    }

    /// Changed records re-read one by one (a restart costs one file read,
    /// whatever the number of containers); lost events: all of them.
    fn on_inotify(&mut self) {
        let mut changed = Vec::new();
        let mut all = false;
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for e in events {
                if e.mask.intersects(AddWatchFlags::IN_Q_OVERFLOW | AddWatchFlags::IN_DELETE_SELF | AddWatchFlags::IN_IGNORED) {
                    // the folder went (or events were lost): watch it anew
                    let _ = std::fs::create_dir_all(self.cfg.records_dir());
                    let _ = self.inotify.add_watch(&self.cfg.records_dir(), watch_flags());
                    all = true;
                }
                if let Some(name) = e.name.filter(|n| n.to_str().is_some_and(|n| n.ends_with(".json"))) {
                    if !changed.contains(&name) {
                        changed.push(name);
                    }
                }
            }
        }
        if all {
            self.reload();
        } else if !changed.is_empty() {
            for name in changed {
                self.reread(&name);
            }
            self.rebuild();
        }
    }

    /// `sync`: take in the record changes made so far and say so (what
    /// `ensure` waits for, so a container started after it is answered on
    /// its gateway).
    fn on_control(&mut self) {
        while let Ok((conn, _)) = self.control.accept() {
            let _ = conn.set_nonblocking(false);
            let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = conn.set_write_timeout(Some(Duration::from_secs(1)));
            let mut line = String::new();
            let mut r = io::BufReader::new(conn.take(64));
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let mut conn = r.into_inner().into_inner();
            let reply = match line.trim() {
                "sync" => {
                    // the caller published before asking: its event is queued
                    self.on_inotify();
                    let gws: Vec<String> = self.gateways.keys().map(|g| g.to_string()).collect();
                    format!("ok {} {}\n", std::process::id(), gws.join(","))
                }
                _ => "error unknown command\n".to_string(),
            };
            let _ = conn.write_all(reply.as_bytes());
        }
    }

    fn on_udp(&mut self, gw: Ipv4Addr) {
        let mut buf = [0u8; 4096];
        // a bounded batch: other sockets get their turn
        for _ in 0..64 {
            let Some(g) = self.gateways.get(&gw) else { return };
            let (n, from) = match g.udp.recv_from(&mut buf) {
                Ok(x) => x,
                Err(_) => return,
            };
            let SocketAddr::V4(from) = from else { continue };
            // a record changed before the query was sent has its event
            // queued by now: take it in first (one read, EAGAIN mostly), so
            // an answer never predates a restart the asker already saw
            self.on_inotify();
            match decide(&self.table, gw, *from.ip(), &buf[..n], true) {
                Decision::Reply(r) => {
                    self.reply_udp(gw, from, &r);
                }
                Decision::Drop => {}
                Decision::Forward { upstreams, query } => self.forward(gw, from, query, &buf[..n], &upstreams),
            }
        }
    }

    fn forward(&mut self, gw: Ipv4Addr, client: SocketAddrV4, query: Query, pkt: &[u8], own: &[Ipv4Addr]) {
        let servers = upstream::targets(own, self.host.servers());
        if servers.is_empty() || self.pending.len() >= MAX_PENDING || share_taken(self.pending.values().map(|p| p.client.ip()), client.ip()) {
            self.reply_udp(gw, client, &servfail(&query, query.udp_limit()));
            return;
        }
        self.next_key += 1;
        let key = self.next_key;
        let our_id = self.ids.hash_one(key) as u16;
        let mut packet = pkt.to_vec();
        wire::set_id(&mut packet, our_id);
        let now = Instant::now();
        let mut p = Pending { gateway: gw, client, query, packet, our_id, sock: None, servers, next: 0, attempt_until: now, deadline: now + upstream::DEADLINE };
        if send_next(&mut p) {
            self.pending.insert(key, p);
        } else {
            self.reply_udp(gw, client, &servfail(&p.query, p.query.udp_limit()));
        }
    }

    fn reply_udp(&self, gw: Ipv4Addr, client: SocketAddrV4, pkt: &[u8]) {
        if let Some(g) = self.gateways.get(&gw) {
            let _ = g.udp.send_to(pkt, client);
        }
    }

    fn on_upstream(&mut self, key: u64) {
        let Some(p) = self.pending.get_mut(&key) else { return };
        let mut buf = vec![0u8; 65535];
        loop {
            let Some(sock) = &p.sock else { return };
            match sock.recv(&mut buf) {
                Ok(n) => {
                    let reply = &mut buf[..n];
                    if !answers(reply, p) {
                        continue; // not ours: wait on
                    }
                    wire::set_id(reply, p.query.header.id);
                    let out = wire::truncate_relayed(reply, p.query.udp_limit());
                    let (gw, client) = (p.gateway, p.client);
                    self.pending.remove(&key);
                    if let Some(out) = out {
                        self.reply_udp(gw, client, &out);
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    // ICMP unreachable on the connected socket: next server
                    if !send_next(p) {
                        let p = self.pending.remove(&key);
                        if let Some(p) = p {
                            self.reply_udp(p.gateway, p.client, &servfail(&p.query, p.query.udp_limit()));
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Next server for queries whose attempt timed out; SERVFAIL for those
    /// past the deadline or out of servers.
    fn expire(&mut self) {
        let now = Instant::now();
        let mut failed = Vec::new();
        for (k, p) in self.pending.iter_mut() {
            if p.deadline <= now || (p.attempt_until <= now && !send_next(p)) {
                failed.push(*k);
            }
        }
        for k in failed {
            if let Some(p) = self.pending.remove(&k) {
                self.reply_udp(p.gateway, p.client, &servfail(&p.query, p.query.udp_limit()));
            }
        }
    }

    fn on_tcp(&mut self, gw: Ipv4Addr) {
        let Some(g) = self.gateways.get(&gw) else { return };
        while let Ok((conn, peer)) = g.tcp.accept() {
            let SocketAddr::V4(peer) = peer else { continue };
            if self.table.asker(gw, *peer.ip()).is_none() || self.tcp_active.load(Ordering::Relaxed) >= MAX_TCP {
                continue; // closed on drop
            }
            let table = self.table.clone();
            let host: Vec<IpAddr> = self.host.servers().to_vec();
            let active = self.tcp_active.clone();
            active.fetch_add(1, Ordering::Relaxed);
            let spawned = std::thread::Builder::new().name("dns-tcp".into()).stack_size(64 * 1024).spawn(move || {
                serve_tcp(conn, &table, gw, *peer.ip(), &host);
                active.fetch_sub(1, Ordering::Relaxed);
            });
            if spawned.is_err() {
                self.tcp_active.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

/// Sends the query to its next server; false when none is left.
fn send_next(p: &mut Pending) -> bool {
    let now = Instant::now();
    while p.next < p.servers.len() && now < p.deadline {
        let server = p.servers[p.next];
        let left = (p.servers.len() - p.next) as u32;
        p.next += 1;
        p.attempt_until = now + (p.deadline - now) / left;
        // a fresh socket per server: connect() filters what may answer
        if let Ok(s) = UdpSocket::bind(if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }) {
            if s.set_nonblocking(true).is_ok() && s.connect(server).is_ok() && s.send(&p.packet).is_ok() {
                p.sock = Some(s);
                return true;
            }
        }
    }
    false
}

/// Whether an upstream datagram is the answer to `p`: a response with our
/// id and the same question.
fn answers(reply: &[u8], p: &Pending) -> bool {
    let Ok(h) = wire::Header::parse(reply) else { return false };
    if !h.is_response() || h.id != p.our_id {
        return false;
    }
    match wire::question_of(reply) {
        Ok(q) => q.qtype == p.query.question.qtype && q.qclass == p.query.question.qclass && q.name.key() == p.query.question.name.key(),
        // an error answer may carry no question
        Err(_) => h.qdcount == 0,
    }
}

fn servfail(q: &Query, limit: usize) -> Vec<u8> {
    wire::encode_reply(q, &Reply { rcode: Rcode::ServFail, answers: Vec::new(), authoritative: false }, limit)
}

/// One TCP client: length-prefixed queries until it closes or idles.
fn serve_tcp(mut conn: TcpStream, table: &Table, gw: Ipv4Addr, peer: Ipv4Addr, host: &[IpAddr]) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(TCP_IDLE));
    let _ = conn.set_write_timeout(Some(TCP_IDLE));
    loop {
        let mut n = [0u8; 2];
        if conn.read_exact(&mut n).is_err() {
            return;
        }
        let mut msg = vec![0u8; u16::from_be_bytes(n) as usize];
        if conn.read_exact(&mut msg).is_err() {
            return;
        }
        let out = match decide(table, gw, peer, &msg, false) {
            Decision::Reply(r) => r,
            Decision::Drop => return,
            Decision::Forward { upstreams, query } => {
                let servers = upstream::targets(&upstreams, host);
                match upstream::exchange_tcp(&servers, &msg) {
                    Some(r) if wire::Header::parse(&r).is_ok_and(|h| h.is_response() && h.id == query.header.id) => r,
                    _ => servfail(&query, u16::MAX as usize),
                }
            }
        };
        let Ok(len) = u16::try_from(out.len()) else { return };
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&out);
        if conn.write_all(&framed).is_err() {
            return;
        }
    }
}

/// Asks a running responder to reload and waits for its answer: the pid
/// and the gateways it listens on.
pub fn sync(cfg: &Config) -> io::Result<String> {
    let mut c = UnixStream::connect(cfg.control_path())?;
    c.set_read_timeout(Some(Duration::from_secs(2)))?;
    c.set_write_timeout(Some(Duration::from_secs(2)))?;
    c.write_all(b"sync\n")?;
    let mut line = String::new();
    io::BufReader::new(c.take(4096)).read_line(&mut line)?;
    match line.strip_prefix("ok ") {
        Some(rest) => Ok(rest.trim_end().to_string()),
        None => Err(io::Error::other(format!("dns responder: {}", line.trim_end()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_cannot_take_every_forwarding_slot() {
        let a = Ipv4Addr::new(10, 89, 0, 2);
        let b = Ipv4Addr::new(10, 89, 0, 3);
        let mut pending = vec![b; MAX_PENDING_PER_CLIENT];
        pending.extend(std::iter::repeat(a).take(MAX_PENDING_PER_CLIENT - 1));
        assert!(!share_taken(pending.iter(), &a), "a has one slot left");
        assert!(share_taken(pending.iter(), &b), "b holds its share");
        pending.push(a);
        assert!(share_taken(pending.iter(), &a));
        assert!(!share_taken(std::iter::empty(), &a));
    }
}
