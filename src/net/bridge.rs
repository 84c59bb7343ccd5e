//! The host bridge of a network and the host-wide settings it needs.
//!
//! `ensure_bridge(cfg)` is idempotent and safe to race (EEXIST is success):
//!
//! 1. the bridge `cfg.bridge` exists, carries `cfg.gateway/prefix`, and is up
//!    (rtnetlink, host netns);
//! 2. `net.ipv4.ip_forward=1` (needed even for an isolated bridge: a container
//!    reaching a published port through the gateway is routed bridge->bridge).
//!    If bocker flips it from 0, the old value is kept in
//!    `/run/bocker/ip_forward.orig` and restored by the `remove_bridge` that
//!    removes the last bocker bridge;
//! 3. iptables rules, each tagged `-m comment --comment bocker-br:<bridge>`:
//!    - nat POSTROUTING `-s SUBNET -o BR -m conntrack --ctstate DNAT -j MASQUERADE`
//!      (hairpin: a container reaching another one's published port via
//!      the gateway gets answers back through the host);
//!    - filter FORWARD (inserted at the top) `-o BR --ctstate RELATED,ESTABLISHED
//!      -j ACCEPT`, `-i BR -o BR -j ACCEPT`;
//!    - egress on (default): nat POSTROUTING `-s SUBNET ! -o BR -j MASQUERADE`,
//!      FORWARD `-i BR ! -o BR -j ACCEPT` and `-o BR --ctstate DNAT -j ACCEPT`
//!      (published ports reachable from outside);
//!    - egress off (`BOCKER_NET_EGRESS=0`, all tests): instead, on top of
//!      FORWARD, `-i BR ! -o BR -j DROP` and `! -i BR -o BR -j DROP`: nothing
//!      is forwarded between the bridge and any other interface (eth0
//!      included), in either direction. Host <-> container traffic (INPUT /
//!      OUTPUT) and container <-> container traffic still work.
//!
//! Checking the rules costs an `iptables-save` (~7 ms here); a container
//! start skips it when the bridge's stamp (`/run/bocker/bridges/BRIDGE`:
//! boot id, bridge ifindex, subnet, egress, and the nf_tables ruleset
//! generation at which the rules were last found complete) still matches:
//! any change to the host's ruleset, by anyone, bumps the generation, so a
//! flushed or edited ruleset is always checked again.
//!
//! `remove_bridge(cfg)` deletes the bridge, every rule tagged for it and
//! its stamp.

use super::config::NetConfig;
use super::error::{NetError, Result};
use super::iptables::{self, Pos};
use super::nl;
use futures::TryStreamExt;
use rtnetlink::LinkBridge;
use std::fs;
use std::io::ErrorKind;
use std::net::IpAddr;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
const IP_FORWARD_ORIG: &str = "/run/bocker/ip_forward.orig";
const STAMP_DIR: &str = "/run/bocker/bridges";
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The comment tag of the bridge-wide rules.
pub fn bridge_tag(cfg: &NetConfig) -> String {
    format!("bocker-br:{}", cfg.bridge)
}

/// One iptables rule: table, chain, where to add it, and its match/target args.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub table: &'static str,
    pub chain: &'static str,
    pub pos: Pos,
    pub args: Vec<String>,
}

fn rule(table: &'static str, chain: &'static str, pos: Pos, args: &str, tag: &str, target: &str) -> Rule {
    let mut a: Vec<String> = args.split_whitespace().map(String::from).collect();
    a.extend(["-m", "comment", "--comment", tag, "-j"].map(String::from));
    a.extend(target.split_whitespace().map(String::from));
    Rule { table, chain, pos, args: a }
}

/// The rules `ensure_bridge` installs, in installation order (inserted rules
/// later in the list end up above earlier ones).
pub fn bridge_rules(cfg: &NetConfig) -> Vec<Rule> {
    let (br, net, tag) = (&cfg.bridge, cfg.subnet.to_string(), bridge_tag(cfg));
    let mut v = vec![
        rule("nat", "POSTROUTING", Pos::Append, &format!("-s {net} -o {br} -m conntrack --ctstate DNAT"), &tag, "MASQUERADE"),
        rule("filter", "FORWARD", Pos::Insert, &format!("-o {br} -m conntrack --ctstate RELATED,ESTABLISHED"), &tag, "ACCEPT"),
    ];
    let within = rule("filter", "FORWARD", Pos::Insert, &format!("-i {br} -o {br}"), &tag, "ACCEPT");
    if !cfg.isolated {
        v.push(within.clone());
    }
    if cfg.egress {
        v.push(rule("nat", "POSTROUTING", Pos::Append, &format!("-s {net} ! -o {br}"), &tag, "MASQUERADE"));
        v.push(rule("filter", "FORWARD", Pos::Insert, &format!("-i {br} ! -o {br}"), &tag, "ACCEPT"));
        v.push(rule("filter", "FORWARD", Pos::Insert, &format!("-o {br} -m conntrack --ctstate DNAT"), &tag, "ACCEPT"));
    } else {
        v.push(rule("filter", "FORWARD", Pos::Insert, &format!("-i {br} ! -o {br}"), &tag, "DROP"));
        v.push(rule("filter", "FORWARD", Pos::Insert, &format!("! -i {br} -o {br}"), &tag, "DROP"));
    }
    if cfg.isolated {
        // user networks: nothing crosses between two of their bridges (the
        // DROPs sit below the bridge's own ACCEPT, inserted last); the
        // gateway's port 53 (the DNS responder) is open to the network
        let others = format!("{USER_BRIDGE_PREFIX}+");
        v.push(rule("filter", "FORWARD", Pos::Insert, &format!("-i {others} -o {br}"), &tag, "DROP"));
        v.push(rule("filter", "FORWARD", Pos::Insert, &format!("-i {br} -o {others}"), &tag, "DROP"));
        v.push(within);
        for proto in ["udp", "tcp"] {
            v.push(rule("filter", "INPUT", Pos::Insert, &format!("-i {br} -d {} -p {proto} --dport 53", cfg.gateway), &tag, "ACCEPT"));
        }
    }
    v
}

/// Names of user network bridges start so (`bk-` + 12 hex digits of the
/// network id): the isolation rules match them all with `bk-+`.
pub const USER_BRIDGE_PREFIX: &str = "bk-";

/// Makes sure the bridge, ip_forward and the bridge rules are in place.
pub fn ensure_bridge(cfg: &NetConfig) -> Result<()> {
    let index = ensure_link(cfg)?;
    ensure_ip_forward()?;
    ensure_rules(cfg, index)
}

/// What a bridge's rules were last found complete at: if every field is
/// the same now, they still are.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    boot_id: String,
    index: u32,
    subnet: String,
    egress: bool,
    generation: u32,
}

impl Stamp {
    /// Now, or None when the ruleset generation cannot be read.
    fn now(cfg: &NetConfig, index: u32) -> Option<Stamp> {
        let boot_id = fs::read_to_string(BOOT_ID).ok()?.trim().to_string();
        let generation = super::ruleset_gen::current()?;
        Some(Stamp { boot_id, index, subnet: cfg.subnet.to_string(), egress: cfg.egress, generation })
    }

    fn line(&self) -> String {
        format!("{} {} {} {} {}\n", self.boot_id, self.index, self.subnet, self.egress, self.generation)
    }

    fn path(cfg: &NetConfig) -> std::path::PathBuf {
        std::path::Path::new(STAMP_DIR).join(&cfg.bridge)
    }

    fn is_recorded(&self, cfg: &NetConfig) -> bool {
        fs::read_to_string(Self::path(cfg)).is_ok_and(|s| s == self.line())
    }

    /// Best effort: without a stamp the next start checks the rules.
    fn record(&self, cfg: &NetConfig) {
        let path = Self::path(cfg);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let ok = fs::create_dir_all(STAMP_DIR).is_ok() && fs::write(&tmp, self.line()).is_ok() && fs::rename(&tmp, &path).is_ok();
        if !ok {
            let _ = fs::remove_file(&tmp);
        }
    }

    fn forget(cfg: &NetConfig) {
        let _ = fs::remove_file(Self::path(cfg));
    }
}

/// The bridge exists with its address and is up; returns its ifindex.
fn ensure_link(cfg: &NetConfig) -> Result<u32> {
    let cfg = cfg.clone();
    nl::run(|h| async move {
        let link = match nl::link_by_name(&h, &cfg.bridge).await? {
            Some(l) => l,
            None => {
                match h.link().add(LinkBridge::new(&cfg.bridge).build()).execute().await {
                    Ok(()) => {}
                    Err(e) if nl::is_errno(&e, libc::EEXIST) => {}
                    Err(e) => return Err(NetError::nl(format!("creating bridge {}", cfg.bridge), e)),
                }
                nl::link_by_name(&h, &cfg.bridge).await?.ok_or_else(|| {
                    NetError::Config(format!("bridge {} vanished right after creation", cfg.bridge))
                })?
            }
        };
        if !nl::is_bridge(&link) {
            return Err(NetError::Config(format!("interface {} exists but is not a bridge", cfg.bridge)));
        }
        let index = link.header.index;
        let gw = IpAddr::V4(cfg.gateway);
        let mut addrs = h
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(gw)
            .execute();
        let has = addrs
            .try_next()
            .await
            .map_err(|e| NetError::nl(format!("listing addresses of {}", cfg.bridge), e))?
            .is_some();
        drop(addrs);
        if !has {
            match h.address().add(index, gw, cfg.subnet.prefix).execute().await {
                Ok(()) => {}
                Err(e) if nl::is_errno(&e, libc::EEXIST) => {}
                Err(e) => {
                    return Err(NetError::nl(format!("adding {}/{} to {}", cfg.gateway, cfg.subnet.prefix, cfg.bridge), e))
                }
            }
        }
        if !nl::is_up(&link) {
            nl::set_up(&h, index, &cfg.bridge).await?;
        }
        Ok(index)
    })
}

fn ensure_ip_forward() -> Result<()> {
    let cur = fs::read_to_string(IP_FORWARD).map_err(|e| NetError::io(format!("reading {IP_FORWARD}"), e))?;
    if cur.trim() == "1" {
        return Ok(());
    }
    let _ = fs::create_dir_all("/run/bocker");
    // Remember the original value once (first flipper wins).
    if let Ok(mut f) = fs::OpenOptions::new().write(true).create_new(true).open(IP_FORWARD_ORIG) {
        use std::io::Write;
        let _ = f.write_all(cur.trim().as_bytes());
    }
    fs::write(IP_FORWARD, "1").map_err(|e| NetError::io(format!("writing 1 to {IP_FORWARD}"), e))
}

fn ensure_rules(cfg: &NetConfig, index: u32) -> Result<()> {
    // the generation is read before the rules are counted: a change made
    // after the count bumps it past the stamp
    let stamp = if iptables::is_nft_backend() { Stamp::now(cfg, index) } else { None };
    if stamp.as_ref().is_some_and(|s| s.is_recorded(cfg)) {
        return Ok(());
    }
    let rules = bridge_rules(cfg);
    let tag = bridge_tag(cfg);
    // Fast path: a single iptables-save instead of one `-C` per rule.
    if iptables::count_tagged_all(&tag)? == rules.len() {
        if let Some(s) = stamp {
            s.record(cfg);
        }
        return Ok(());
    }
    let _lock = iptables::lock()?;
    // remove_bridge deletes the link before it takes this lock to delete
    // the rules: a bridge still there now gets its rules deleted after
    // ours are in; one already gone would be left with rules nobody deletes
    if !link_is(cfg, index) {
        return Err(NetError::BridgeGone(cfg.bridge.clone()));
    }
    for r in &rules {
        let a: Vec<&str> = r.args.iter().map(String::as_str).collect();
        iptables::ensure(r.table, r.chain, r.pos, &a)?;
    }
    Ok(())
}

/// Whether the bridge is the link with this index (not gone, not made anew).
fn link_is(cfg: &NetConfig, index: u32) -> bool {
    fs::read_to_string(format!("/sys/class/net/{}/ifindex", cfg.bridge)).ok().and_then(|s| s.trim().parse::<u32>().ok()) == Some(index)
}

/// Removes the bridge and every rule tagged for it. Missing pieces are fine.
pub fn remove_bridge(cfg: &NetConfig) -> Result<()> {
    Stamp::forget(cfg);
    // leases of a bridge that is gone mean nothing
    let _ = super::ipam::remove_all(super::ipam::host_base(), cfg);
    let name = cfg.bridge.clone();
    let mut errs = vec![];
    if let Err(e) = nl::run(|h| async move { nl::delete_link(&h, &name).await.map(|_| ()) }) {
        errs.push(e.to_string());
    }
    let tag = bridge_tag(cfg);
    {
        let _lock = iptables::lock();
        // Read back in the same form and delete again: with other
        // processes changing the ruleset at the same time, iptables-nft
        // was seen to report a deleted rule gone (also to iptables-save)
        // that a listing a moment later still showed.
        // An error of one pass (another process changed the table under
        // it) is only reported when rules are still left after the last.
        for attempt in 0..5u64 {
            let mut pass_errs = vec![];
            // the rules this bridge gets, by spec, then whatever the
            // listing shows with its tag (rules of an older config)
            for r in bridge_rules(cfg) {
                let a: Vec<&str> = r.args.iter().map(String::as_str).collect();
                if let Err(e) = iptables::delete_spec(r.table, r.chain, &a) {
                    pass_errs.push(e.to_string());
                }
            }
            for t in ["nat", "filter"] {
                if let Err(e) = iptables::delete_tagged(t, &tag) {
                    pass_errs.push(e.to_string());
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10 * attempt));
            let mut left = 0;
            for t in ["nat", "filter"] {
                match iptables::tagged_rules(t, &tag) {
                    Ok(r) => left += r.len(),
                    Err(e) => pass_errs.push(e.to_string()),
                }
            }
            if left == 0 && pass_errs.is_empty() {
                break;
            }
            if attempt == 4 {
                errs.extend(pass_errs);
                if left > 0 {
                    errs.push(format!("{left} rule(s) tagged {tag} still listed after 5 passes"));
                }
            }
        }
    }
    if let Err(e) = maybe_restore_ip_forward() {
        errs.push(e.to_string());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NetError::Teardown(errs))
    }
}

/// Restores ip_forward to the value saved by `ensure_bridge` when no bocker
/// bridge rules are left on the host.
fn maybe_restore_ip_forward() -> Result<()> {
    let orig = match fs::read_to_string(IP_FORWARD_ORIG) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(NetError::io(format!("reading {IP_FORWARD_ORIG}"), e)),
    };
    let _lock = iptables::lock()?;
    let all = iptables::run(&["-t", "filter", "-S", "FORWARD"])?;
    if all.contains("\"bocker-br:") {
        return Ok(()); // another bocker bridge still needs forwarding
    }
    if orig.trim() == "0" {
        fs::write(IP_FORWARD, "0").map_err(|e| NetError::io(format!("writing 0 to {IP_FORWARD}"), e))?;
    }
    let _ = fs::remove_file(IP_FORWARD_ORIG);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rules_shape() {
        let c = NetConfig::parse(Some("bk1"), Some("10.213.7.0/24"), Some("0")).unwrap();
        let r = bridge_rules(&c);
        assert!(r.iter().all(|r| r.args.windows(2).any(|w| w[0] == "--comment" && w[1] == "bocker-br:bk1")));
        // isolated: no MASQUERADE out, the last inserted FORWARD rules are DROPs
        assert!(!r.iter().any(|r| r.args.join(" ").contains("! -o bk1 -m comment --comment bocker-br:bk1 -j MASQUERADE")));
        assert_eq!(r.last().unwrap().args.last().unwrap(), "DROP");
        let c = NetConfig::parse(Some("bk1"), Some("10.213.7.0/24"), Some("1")).unwrap();
        let r = bridge_rules(&c);
        assert!(r.iter().any(|r| r.table == "nat" && r.args.join(" ").starts_with("-s 10.213.7.0/24 ! -o bk1")));
        assert!(!r.iter().any(|r| r.args.last().unwrap() == "DROP"));
        // a user network: isolated from the other bk- bridges, DNS open, its
        // own ACCEPT inserted after (above) the isolation DROPs
        let mut c = NetConfig::parse(Some("bk-0123456789ab"), Some("10.89.3.0/24"), Some("1")).unwrap();
        c.isolated = true;
        let r: Vec<String> = bridge_rules(&c).iter().map(|r| format!("{} {}", r.chain, r.args.join(" "))).collect();
        let at = |needle: &str| r.iter().position(|x| x.contains(needle)).unwrap_or_else(|| panic!("{needle} in {r:?}"));
        assert!(at("-i bk-0123456789ab -o bk-+") < at("-i bk-0123456789ab -o bk-0123456789ab"));
        assert!(at("-i bk-+ -o bk-0123456789ab") < at("-i bk-0123456789ab -o bk-0123456789ab"));
        assert!(r.iter().any(|x| x.starts_with("INPUT -i bk-0123456789ab -d 10.89.3.1 -p udp --dport 53")));
        assert_eq!(r.iter().filter(|x| x.contains("-i bk-0123456789ab -o bk-0123456789ab")).count(), 1);
    }
}
