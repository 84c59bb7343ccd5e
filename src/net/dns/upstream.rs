//! Where queries the responder does not answer go: the asker's `--dns`
//! servers, else the host's resolv.conf nameservers (loopback ones too:
//! the responder lives in the host's network namespace, so 127.0.0.53 is
//! systemd-resolved). The file is re-read when its stat changes.
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a forwarded query may take in all before SERVFAIL.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The host's nameservers, cached by the file's stat.
pub struct HostResolvers {
    path: PathBuf,
    stamp: Option<(u64, u64, i64, i64, u64)>,
    servers: Vec<IpAddr>,
}

impl HostResolvers {
    pub fn new(path: PathBuf) -> HostResolvers {
        HostResolvers { path, stamp: None, servers: Vec::new() }
    }

    /// The nameservers, re-read if the file changed since the last call
    /// (one stat when it did not).
    pub fn servers(&mut self) -> &[IpAddr] {
        let stamp = std::fs::metadata(&self.path).ok().map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.len()));
        if stamp != self.stamp || stamp.is_none() {
            self.stamp = stamp;
            self.servers = std::fs::read_to_string(&self.path).map(|t| parse(&t)).unwrap_or_default();
        }
        &self.servers
    }
}

/// `nameserver` lines of a resolv.conf (an address with a zone id, which
/// would need an interface, is left out).
pub fn parse(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver")).then(|| w.next()).flatten()
        })
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// The servers a query of an asker goes to: its own, else the host's.
pub fn targets(own: &[Ipv4Addr], host: &[IpAddr]) -> Vec<SocketAddr> {
    if own.is_empty() {
        host.iter().map(|ip| SocketAddr::new(*ip, 53)).collect()
    } else {
        own.iter().map(|ip| SocketAddr::new(IpAddr::V4(*ip), 53)).collect()
    }
}

/// One query over TCP to the servers in turn, within `DEADLINE`; the
/// answer's bytes (without the length prefix) or None.
pub fn exchange_tcp(servers: &[SocketAddr], query: &[u8]) -> Option<Vec<u8>> {
    let deadline = Instant::now() + DEADLINE;
    let len = u16::try_from(query.len()).ok()?;
    for (i, server) in servers.iter().enumerate() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // an equal share of what is left to each server still to try
        let share = (deadline - now) / (servers.len() - i) as u32;
        let attempt = || -> std::io::Result<Vec<u8>> {
            let mut s = TcpStream::connect_timeout(server, share)?;
            s.set_read_timeout(Some(share))?;
            s.set_write_timeout(Some(share))?;
            let mut msg = len.to_be_bytes().to_vec();
            msg.extend_from_slice(query);
            s.write_all(&msg)?;
            let mut n = [0u8; 2];
            s.read_exact(&mut n)?;
            let mut reply = vec![0u8; u16::from_be_bytes(n) as usize];
            s.read_exact(&mut reply)?;
            Ok(reply)
        };
        if let Ok(r) = attempt() {
            return Some(r);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameservers_with_loopback_and_v6() {
        let t = "# x\nnameserver 127.0.0.53\nnameserver  10.0.0.1\nnameserver fe80::1%eth0\nnameserver ::1\nsearch x\nnameserver bogus\n";
        assert_eq!(parse(t), vec!["127.0.0.53".parse::<IpAddr>().unwrap(), "10.0.0.1".parse().unwrap(), "::1".parse().unwrap()]);
    }

    #[test]
    fn own_servers_before_the_hosts() {
        let host = ["10.0.0.1".parse().unwrap()];
        assert_eq!(targets(&[], &host), vec!["10.0.0.1:53".parse::<SocketAddr>().unwrap()]);
        assert_eq!(targets(&[Ipv4Addr::new(127, 0, 0, 9)], &host), vec!["127.0.0.9:53".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn rereads_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("resolv.conf");
        std::fs::write(&p, "nameserver 10.0.0.1\n").unwrap();
        let mut h = HostResolvers::new(p.clone());
        assert_eq!(h.servers().len(), 1);
        std::fs::write(&p, "nameserver 10.0.0.1\nnameserver 10.0.0.2\n").unwrap();
        assert_eq!(h.servers().len(), 2);
    }
}
