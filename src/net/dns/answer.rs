//! What to do with one packet: answer it from the table, forward it, or
//! drop it. Pure: the server does the sending.
use super::table::{Asker, Table};
use super::wire::{self, Header, Query, Rcode, Rdata, Reply};
use std::net::Ipv4Addr;

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// send these bytes back
    Reply(Vec<u8>),
    /// relay the query to the asker's upstreams (empty: the host's)
    Forward { upstreams: Vec<Ipv4Addr>, query: Query },
    /// say nothing (a stranger, or a packet that is not a query)
    Drop,
}

/// Decides for a packet that came to `gateway` from `src`; `limit` is the
/// largest answer the transport takes (UDP: the client's, TCP: 65535).
pub fn decide(table: &Table, gateway: Ipv4Addr, src: Ipv4Addr, pkt: &[u8], udp: bool) -> Decision {
    // strangers get nothing, not even an error: no reflection, no probing
    let Some(asker) = table.asker(gateway, src) else { return Decision::Drop };
    let query = match Query::parse(pkt) {
        Ok(q) => q,
        Err(wire::WireError::NotAQuery) => return Decision::Drop,
        Err(_) => {
            // a header we can answer: FORMERR; less than that: nothing
            return match Header::parse(pkt) {
                Ok(h) if !h.is_response() => Decision::Reply(wire::encode_error(&h, Rcode::FormErr)),
                _ => Decision::Drop,
            };
        }
    };
    let limit = if udp { query.udp_limit() } else { u16::MAX as usize };
    if query.header.opcode() != 0 {
        return Decision::Reply(wire::encode_error(&query.header, Rcode::NotImp));
    }
    match local(table, asker, &query) {
        Some(reply) => Decision::Reply(wire::encode_reply(&query, &reply, limit)),
        None => Decision::Forward { upstreams: asker.upstreams.clone(), query },
    }
}

/// The responder's own answer, or None when the query goes upstream.
fn local(table: &Table, asker: &Asker, q: &Query) -> Option<Reply> {
    let ours = |rcode, answers| Some(Reply { rcode, answers, authoritative: true });
    if q.question.qclass != wire::CLASS_IN && q.question.qclass != wire::CLASS_ANY {
        return Some(Reply { rcode: Rcode::Refused, answers: Vec::new(), authoritative: false });
    }
    let name = &q.question.name;
    if let Some(key) = name.key() {
        if let Some(ips) = table.lookup(asker, &key) {
            // a container's name: A answered, every other type empty (NOERROR,
            // so a resolver asking A and AAAA together uses the A)
            let answers = if q.question.qtype == wire::TYPE_A { ips.into_iter().map(Rdata::A).collect() } else { Vec::new() };
            return ours(Rcode::NoError, answers);
        }
        if q.question.qtype == wire::TYPE_PTR {
            if let Some(target) = name.reverse_v4().and_then(|ip| table.reverse(asker, ip)) {
                return ours(Rcode::NoError, wire::Name::from_dotted(target).map(Rdata::Ptr).into_iter().collect());
            }
        }
    }
    // one label and not a container's: no DNS name of the world has one
    // label, so the upstream would say NXDOMAIN too (after a round trip,
    // and after learning the container's search list walk)
    if name.labels.len() == 1 {
        return ours(Rcode::NxDomain, Vec::new());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dns::table::tests::rec;
    use crate::net::dns::wire::{question_of, Header, TYPE_A, TYPE_AAAA, TYPE_PTR};

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut out = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out
    }

    fn table() -> Table {
        Table::build(&[
            rec("a", &[("br1", [10, 1, 0, 1], [10, 1, 0, 2], &["web", "site"])], &[]),
            rec("b", &[("br1", [10, 1, 0, 1], [10, 1, 0, 3], &["client"])], &[[127, 0, 0, 9]]),
        ])
    }

    fn reply(d: Decision) -> Vec<u8> {
        match d {
            Decision::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    const GW: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);

    #[test]
    fn answers_names_of_the_network() {
        let t = table();
        for name in ["web", "WEB.", "site", "client"] {
            let r = reply(decide(&t, GW, CLIENT, &query(name, TYPE_A), true));
            let h = Header::parse(&r).unwrap();
            assert_eq!((h.flags & 0xf, h.ancount), (0, 1), "{name}");
        }
        let r = reply(decide(&t, GW, CLIENT, &query("web", TYPE_AAAA), true));
        let h = Header::parse(&r).unwrap();
        assert_eq!((h.flags & 0xf, h.ancount), (0, 0), "AAAA of a known name: NOERROR, empty");
        let r = reply(decide(&t, GW, CLIENT, &query("nosuch", TYPE_A), true));
        assert_eq!(Header::parse(&r).unwrap().flags & 0xf, Rcode::NxDomain as u16);
        let r = reply(decide(&t, GW, CLIENT, &query("2.0.1.10.in-addr.arpa", TYPE_PTR), true));
        assert_eq!(Header::parse(&r).unwrap().ancount, 1);
        assert!(r.windows(4).any(|w| w == b"\x03web"));
        assert_eq!(question_of(&r).unwrap().name.key().as_deref(), Some("2.0.1.10.in-addr.arpa"));
    }

    #[test]
    fn forwards_other_names_with_the_askers_upstreams() {
        let t = table();
        match decide(&t, GW, CLIENT, &query("example.org", TYPE_A), true) {
            Decision::Forward { upstreams, .. } => assert_eq!(upstreams, vec![Ipv4Addr::new(127, 0, 0, 9)]),
            other => panic!("{other:?}"),
        }
        match decide(&t, GW, [10, 1, 0, 2].into(), &query("9.9.1.10.in-addr.arpa", TYPE_PTR), true) {
            Decision::Forward { upstreams, .. } => assert!(upstreams.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strangers_and_responses_get_nothing() {
        let t = table();
        assert_eq!(decide(&t, GW, [10, 9, 0, 3].into(), &query("web", TYPE_A), true), Decision::Drop);
        assert_eq!(decide(&t, [10, 2, 0, 1].into(), CLIENT, &query("web", TYPE_A), true), Decision::Drop);
        let mut resp = query("web", TYPE_A);
        resp[2] |= 0x80;
        assert_eq!(decide(&t, GW, CLIENT, &resp, true), Decision::Drop);
        assert_eq!(decide(&t, GW, CLIENT, &[1, 2, 3], true), Decision::Drop);
        let r = reply(decide(&t, GW, CLIENT, &query("web", TYPE_A)[..14], true));
        assert_eq!(Header::parse(&r).unwrap().flags & 0xf, Rcode::FormErr as u16);
    }
}
