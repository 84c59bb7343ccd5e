//! The generation id of the host's nf_tables ruleset (`NFT_MSG_GETGEN`
//! over a netfilter netlink socket): the kernel bumps it on every change
//! of any table, chain or rule, by anyone. A bridge whose rules were
//! checked at generation G still has them while the generation is G, so
//! a container start can skip the `iptables-save` (see `bridge::Stamp`).

use netlink_sys::{constants::NETLINK_NETFILTER, Socket, SocketAddr};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWGEN: u16 = 15;
const NFT_MSG_GETGEN: u16 = 16;
const NFTA_GEN_ID: u16 = 1;
const NLM_F_REQUEST: u16 = 1;
const NLMSG_HDRLEN: usize = 16;
/// nfgenmsg: family, version, res_id
const NFGENMSG_LEN: usize = 4;

/// The request: an nlmsghdr and an nfgenmsg (family AF_UNSPEC, version 0).
fn request(seq: u32) -> [u8; NLMSG_HDRLEN + NFGENMSG_LEN] {
    let mut m = [0u8; NLMSG_HDRLEN + NFGENMSG_LEN];
    m[0..4].copy_from_slice(&((NLMSG_HDRLEN + NFGENMSG_LEN) as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN).to_ne_bytes());
    m[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    m
}

/// The generation id in a reply, if it is an NFT_MSG_NEWGEN for `seq`
/// carrying NFTA_GEN_ID (an error reply or anything else: None).
pub fn parse_reply(buf: &[u8], seq: u32) -> Option<u32> {
    let len = u32::from_ne_bytes(buf.get(0..4)?.try_into().ok()?) as usize;
    let kind = u16::from_ne_bytes(buf.get(4..6)?.try_into().ok()?);
    let rseq = u32::from_ne_bytes(buf.get(8..12)?.try_into().ok()?);
    if kind != (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN || rseq != seq || len > buf.len() {
        return None;
    }
    let mut attrs = buf.get(NLMSG_HDRLEN + NFGENMSG_LEN..len)?;
    while attrs.len() >= 4 {
        let alen = u16::from_ne_bytes(attrs[0..2].try_into().ok()?) as usize;
        let atype = u16::from_ne_bytes(attrs[2..4].try_into().ok()?) & 0x3fff;
        if alen < 4 || alen > attrs.len() {
            return None;
        }
        if atype == NFTA_GEN_ID && alen >= 8 {
            return Some(u32::from_be_bytes(attrs[4..8].try_into().ok()?));
        }
        attrs = attrs.get((alen + 3) & !3..).unwrap_or(&[]);
    }
    None
}

/// The current generation, or None when the kernel does not answer
/// (no nf_tables, no permission): callers then check the rules.
pub fn current() -> Option<u32> {
    let socket = Socket::new(NETLINK_NETFILTER).ok()?;
    let kernel = SocketAddr::new(0, 0);
    let seq = std::process::id();
    socket.send_to(&request(seq), &kernel, 0).ok()?;
    let mut buf = Vec::with_capacity(256);
    socket.recv(&mut buf, 0).ok()?;
    parse_reply(&buf, seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(seq: u32, gen: u32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&32u32.to_ne_bytes());
        m.extend_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN).to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&8u16.to_ne_bytes());
        m.extend_from_slice(&NFTA_GEN_ID.to_ne_bytes());
        m.extend_from_slice(&gen.to_be_bytes());
        m.extend_from_slice(&[0; 4]);
        m
    }

    #[test]
    fn reads_the_generation_of_its_own_reply_only() {
        assert_eq!(parse_reply(&reply(7, 4242), 7), Some(4242));
        assert_eq!(parse_reply(&reply(7, 4242), 8), None);
        let mut err = reply(7, 1);
        err[4..6].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(parse_reply(&err, 7), None);
        assert_eq!(parse_reply(&reply(7, 1)[..10], 7), None);
        let mut bad = reply(7, 1);
        bad[20..22].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(parse_reply(&bad, 7), None);
    }

    #[test]
    fn the_kernel_answers_and_counts_changes() {
        // root on a kernel with nf_tables (this project's test machines)
        let Some(a) = current() else { panic!("NFT_MSG_GETGEN got no answer") };
        let b = current().expect("a second answer");
        assert!(b >= a);
    }
}
