//! Contents of the container's /etc/resolv.conf, /etc/hosts and /etc/hostname.
//! Pure functions: the caller writes them into the rootfs.

use std::net::Ipv4Addr;

/// resolv.conf for a bridge/none container from the host's file: drops
/// loopback nameservers (`127.*`, `::1`), which would point into the
/// container itself. If no nameserver is left, none is added (this engine
/// does not invent public DNS servers). For `--network host`, use the
/// host's file unchanged.
pub fn resolv_conf(host: &str) -> String {
    let mut out = String::new();
    for line in host.lines() {
        let mut w = line.split_whitespace();
        if w.next() == Some("nameserver") {
            if let Some(addr) = w.next() {
                if is_loopback_ns(addr) {
                    continue;
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// resolv.conf with its nameservers replaced by `nameservers` and its
/// search list by `search` (each when given); options stay.
pub fn resolv_with(base: &str, nameservers: Option<&[String]>, search: Option<&[String]>) -> String {
    let mut out = String::new();
    for l in nameservers.unwrap_or_default() {
        out.push_str(&format!("nameserver {l}\n"));
    }
    if let Some(s) = search {
        out.push_str(&format!("search {}\n", s.join(" ")));
    }
    for line in base.lines() {
        let first = line.split_whitespace().next();
        let replaced = (first == Some("nameserver") && nameservers.is_some()) || (matches!(first, Some("search" | "domain")) && search.is_some());
        if !replaced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn is_loopback_ns(addr: &str) -> bool {
    // strip an IPv6 zone id ("fe80::1%eth0")
    let a = addr.split('%').next().unwrap_or(addr);
    match a.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => a.starts_with("127."),
    }
}

/// Nameservers remaining in a resolv.conf text.
pub fn nameservers(resolv: &str) -> Vec<String> {
    resolv
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver")).then(|| w.next().map(String::from)).flatten()
        })
        .collect()
}

/// /etc/hosts: localhost lines, then `IP HOSTNAME` (when the container has
/// an address), then `extra` entries (other containers by name).
pub fn hosts(ip: Option<Ipv4Addr>, hostname: &str, extra: &[(Ipv4Addr, String)]) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    match ip {
        Some(ip) if !hostname.is_empty() => s.push_str(&format!("{ip}\t{hostname}\n")),
        None if !hostname.is_empty() => s.push_str(&format!("127.0.1.1\t{hostname}\n")),
        _ => {}
    }
    for (ip, name) in extra {
        if valid_hostname(name) {
            s.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    s
}

/// /etc/hostname.
pub fn hostname_file(hostname: &str) -> String {
    format!("{hostname}\n")
}

/// RFC 1123-ish: 1..=253 chars of labels `[A-Za-z0-9-_]`, no whitespace.
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_replaced() {
        let host = "nameserver 10.1.1.1\nsearch a.org\noptions ndots:2\n";
        let r = resolv_with(host, Some(&["10.89.0.1".to_string()]), None);
        assert_eq!(nameservers(&r), ["10.89.0.1"]);
        assert!(r.contains("search a.org\n") && r.contains("options ndots:2\n"), "{r}");
        let r = resolv_with(host, None, Some(&["x.test".to_string(), "y.test".to_string()]));
        assert_eq!(nameservers(&r), ["10.1.1.1"]);
        assert!(r.contains("search x.test y.test\n") && !r.contains("a.org"), "{r}");
    }

    #[test]
    fn resolv_drops_loopback() {
        let host = "# comment\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nnameserver ::1\noptions edns0\nsearch example.org\n";
        let r = resolv_conf(host);
        assert_eq!(nameservers(&r), ["10.1.1.1"]);
        assert!(r.contains("options edns0\n") && r.contains("search example.org\n"));
        let r = resolv_conf("nameserver 127.0.0.1\nnameserver 127.1.2.3\n");
        assert!(nameservers(&r).is_empty());
        assert!(!r.contains("8.8.8.8"));
        assert_eq!(nameservers(&resolv_conf("nameserver fe80::1%eth0\n")), ["fe80::1%eth0"]);
    }

    #[test]
    fn hosts_file() {
        let h = hosts(
            Some(Ipv4Addr::new(10, 0, 0, 2)),
            "web",
            &[(Ipv4Addr::new(10, 0, 0, 3), "db".into()), (Ipv4Addr::new(10, 0, 0, 4), "bad name".into())],
        );
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.0.0.2\tweb\n"));
        assert!(h.contains("10.0.0.3\tdb\n"));
        assert!(!h.contains("bad name"));
        let h = hosts(None, "solo", &[]);
        assert!(h.contains("127.0.1.1\tsolo\n"));
        assert_eq!(hostname_file("web"), "web\n");
    }
}
