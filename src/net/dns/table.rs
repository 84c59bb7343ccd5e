//! The name records (`net::names`) turned into what answering needs: who
//! may ask (a container, by the gateway it asks on and its address), which
//! networks it sees, and the names and addresses on each network. Built
//! whole from the records after every change; never edited in place.
use crate::net::names::NameRecord;
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// A container allowed to ask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asker {
    /// the bridges of its user networks (a network is known by its bridge:
    /// unique on the host, unlike a name two state roots could both use)
    pub networks: BTreeSet<String>,
    /// its `--dns` servers (empty: the host's)
    pub upstreams: Vec<Ipv4Addr>,
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    /// (gateway the query came to, source address) → who asks
    askers: HashMap<(Ipv4Addr, Ipv4Addr), Asker>,
    /// (bridge, lowercase name) → addresses, in record order
    names: HashMap<(String, String), Vec<Ipv4Addr>>,
    /// (bridge, address) → the container's first name
    reverse: HashMap<(String, Ipv4Addr), String>,
    /// every gateway some record names: where to listen
    gateways: BTreeSet<Ipv4Addr>,
    records: usize,
}

impl Table {
    pub fn build(records: &[NameRecord]) -> Table {
        let mut t = Table { records: records.len(), ..Table::default() };
        for rec in records {
            let networks: BTreeSet<String> = rec.attachments.iter().map(|a| a.bridge.clone()).collect();
            for a in &rec.attachments {
                t.gateways.insert(a.gateway);
                let asker = t.askers.entry((a.gateway, a.ip)).or_default();
                asker.networks.extend(networks.iter().cloned());
                for u in &rec.upstreams {
                    if !asker.upstreams.contains(u) {
                        asker.upstreams.push(*u);
                    }
                }
                for n in &a.names {
                    let key = n.trim_end_matches('.').to_ascii_lowercase();
                    if key.is_empty() {
                        continue;
                    }
                    let ips = t.names.entry((a.bridge.clone(), key)).or_default();
                    if !ips.contains(&a.ip) {
                        ips.push(a.ip);
                    }
                }
                if let Some(first) = a.names.first() {
                    t.reverse.entry((a.bridge.clone(), a.ip)).or_insert_with(|| first.trim_end_matches('.').to_string());
                }
            }
        }
        t
    }

    /// Who asks from `src` on `gateway`; None for anyone else (no answer).
    pub fn asker(&self, gateway: Ipv4Addr, src: Ipv4Addr) -> Option<&Asker> {
        self.askers.get(&(gateway, src))
    }

    /// The addresses a name has on the asker's networks; None when no
    /// container of them has the name.
    pub fn lookup(&self, asker: &Asker, key: &str) -> Option<Vec<Ipv4Addr>> {
        let mut out: Vec<Ipv4Addr> = Vec::new();
        let mut found = false;
        for net in &asker.networks {
            if let Some(ips) = self.names.get(&(net.clone(), key.to_string())) {
                found = true;
                out.extend(ips.iter().filter(|ip| !out.contains(ip)).copied().collect::<Vec<_>>());
            }
        }
        found.then_some(out)
    }

    /// The name of the container at `ip` on one of the asker's networks.
    pub fn reverse(&self, asker: &Asker, ip: Ipv4Addr) -> Option<&str> {
        asker.networks.iter().find_map(|net| self.reverse.get(&(net.clone(), ip)).map(String::as_str))
    }

    pub fn gateways(&self) -> &BTreeSet<Ipv4Addr> {
        &self.gateways
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::net::names::NamedAttachment;

    pub fn rec(id: &str, atts: &[(&str, [u8; 4], [u8; 4], &[&str])], upstreams: &[[u8; 4]]) -> NameRecord {
        NameRecord {
            container: id.into(),
            root: "/var/bocker".into(),
            attachments: atts
                .iter()
                .map(|(br, gw, ip, names)| NamedAttachment { network: format!("net-{br}"), bridge: br.to_string(), gateway: (*gw).into(), ip: (*ip).into(), names: names.iter().map(|s| s.to_string()).collect() })
                .collect(),
            upstreams: upstreams.iter().map(|u| (*u).into()).collect(),
        }
    }

    #[test]
    fn names_resolve_only_on_shared_networks() {
        let t = Table::build(&[
            rec("a", &[("br1", [10, 1, 0, 1], [10, 1, 0, 2], &["web", "Alias"])], &[]),
            rec("b", &[("br1", [10, 1, 0, 1], [10, 1, 0, 3], &["client"]), ("br2", [10, 2, 0, 1], [10, 2, 0, 3], &["client"])], &[[127, 0, 0, 9]]),
            rec("c", &[("br2", [10, 2, 0, 1], [10, 2, 0, 4], &["db"])], &[]),
        ]);
        let a = t.asker([10, 1, 0, 1].into(), [10, 1, 0, 2].into()).unwrap().clone();
        assert_eq!(t.lookup(&a, "alias"), Some(vec![[10, 1, 0, 2].into()]));
        assert_eq!(t.lookup(&a, "web"), Some(vec![[10, 1, 0, 2].into()]), "its own name");
        assert_eq!(t.lookup(&a, "db"), None, "not on its network");
        let b = t.asker([10, 2, 0, 1].into(), [10, 2, 0, 3].into()).unwrap().clone();
        assert_eq!(b.upstreams, vec![Ipv4Addr::new(127, 0, 0, 9)]);
        assert_eq!(t.lookup(&b, "db"), Some(vec![[10, 2, 0, 4].into()]));
        assert_eq!(t.lookup(&b, "web"), Some(vec![[10, 1, 0, 2].into()]), "both of its networks");
        assert_eq!(t.reverse(&b, [10, 2, 0, 4].into()), Some("db"));
        assert_eq!(t.reverse(&a, [10, 2, 0, 4].into()), None);
        assert!(t.asker([10, 1, 0, 1].into(), [10, 2, 0, 3].into()).is_none(), "asks on a gateway not its own");
        assert!(t.asker([10, 1, 0, 1].into(), [192, 168, 1, 1].into()).is_none());
        assert_eq!(t.gateways().len(), 2);
    }
}
