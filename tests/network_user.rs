//! User networks: `network create/ls/inspect/rm/prune/connect/disconnect`,
//! `run --network NAME` (repeatable), `--network-alias`, `--ip`,
//! `--network container:X`, `--add-host`, `--dns-search`, `-h`, and the
//! name records published for the DNS responder.
mod common;
use common::{text, Env};
use std::path::Path;

/// Removes every container and user network the test made, also when it
/// fails (the Env's own drop then prunes the default bridge).
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let e = self.0;
        for id in text(&e.run(&["ps", "-aq"]).stdout).lines() {
            let _ = e.run(&["rm", "-f", id]);
        }
        let _ = e.run(&["network", "prune", "-f"]);
    }
}

fn links() -> String {
    text(&std::process::Command::new("ip").args(["-o", "link"]).output().unwrap().stdout)
}

fn rules() -> String {
    text(&std::process::Command::new("iptables-save").output().unwrap().stdout)
}

fn inspect_net(e: &Env, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["network", "inspect", name])).unwrap();
    v[0].clone()
}

fn bridge_of(e: &Env, name: &str) -> String {
    inspect_net(e, name)["Options"]["bocker.bridge"].as_str().unwrap().to_string()
}

/// The name record of a container of `e`'s root, if published.
fn record_of(e: &Env, id: &str) -> Option<serde_json::Value> {
    let dir = Path::new("/run/bocker/dns/records");
    for ent in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(b) = std::fs::read(ent.path()) else { continue };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) else { continue };
        if v["container"] == id && v["root"] == e.root().to_str().unwrap() {
            return Some(v);
        }
    }
    None
}

fn ip_on(e: &Env, c: &str, ifname: &str) -> String {
    let out = e.ok(&["exec", c, "ip", "-4", "-o", "addr", "show", ifname]);
    out.split_whitespace().skip_while(|w| *w != "inet").nth(1).unwrap_or_default().split('/').next().unwrap().to_string()
}

#[test]
fn containers_on_a_user_network() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    let subnet = e.extra_subnet(0);
    let prefix = subnet.trim_end_matches("0/24").to_string(); // "10.215.N."
    let id = e.ok(&["network", "create", "--subnet", &subnet, "--label", "app=t", "front"]).trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    assert!(e.run(&["network", "create", "--subnet", &e.extra_subnet(1), "front"]).status.code() == Some(1), "a name twice");
    assert_eq!(e.run(&["network", "create", "bridge"]).status.code(), Some(1), "a reserved name");
    assert_eq!(e.run(&["network", "create", "--subnet", &subnet, "other"]).status.code(), Some(1), "an overlapping subnet");
    let ls = e.ok(&["network", "ls", "--filter", "label=app=t"]);
    let named = |ls: &str, n: &str| ls.lines().any(|l| l.split_whitespace().nth(1) == Some(n));
    assert!(ls.contains(&id[..12]) && named(&ls, "front") && !named(&ls, "bridge"), "{ls}");
    assert!(named(&e.ok(&["network", "ls"]), "bridge"));
    let bridge = bridge_of(&e, "front");
    assert!(bridge.starts_with("bk-") && bridge.len() == 15, "{bridge}");

    // --ip, --network-alias; a second one by address
    let a = e.ok(&["run", "-d", "--name", "srv", "--network", "front", "--network-alias", "web", "--ip", &format!("{prefix}50"), &img, "sleep", "60"]).trim().to_string();
    assert_eq!(ip_on(&e, "srv", "eth0"), format!("{prefix}50"));
    let o = e.run(&["run", "--rm", "--network", "front", "--ip", &format!("{prefix}50"), &img, "true"]);
    assert!(!o.status.success() && text(&o.stderr).contains("already in use"), "{}", text(&o.stderr));
    let out = e.ok(&["run", "--rm", "--network", "front", "-h", "box", "--add-host", "db.local:10.1.2.3", "--dns-search", "x.test", &img,
        "sh", "-c", &format!("ping -c 1 -W 2 {prefix}50 >/dev/null && echo reached; hostname; cat /etc/hosts /etc/resolv.conf; ip route")]);
    assert!(out.starts_with("reached\nbox\n"), "{out}");
    assert!(out.contains("\tbox\n") && out.contains("10.1.2.3\tdb.local\n"), "{out}");
    assert!(out.contains(&format!("nameserver {prefix}1\n")) && out.contains("search x.test\n"), "{out}");
    assert!(out.contains(&format!("default via {prefix}1")), "{out}");

    // on the default bridge: --dns replaces the nameservers, --add-host and -h as above
    let out = e.ok(&["run", "--rm", "-h", "plain", "--dns", "10.7.7.7", "--dns-search", "d.test", "--add-host", "h1:10.1.1.1", &img, "cat", "/etc/hosts", "/etc/resolv.conf"]);
    assert!(out.contains("\tplain\n") && out.contains("10.1.1.1\th1\n"), "{out}");
    assert!(out.contains("nameserver 10.7.7.7\n") && out.matches("nameserver").count() == 1 && out.contains("search d.test\n"), "{out}");
    // the name record: name, id, its hex part, alias; the address
    let rec = record_of(&e, &a).expect("a record for srv");
    let att = &rec["attachments"][0];
    assert_eq!(att["network"], "front");
    assert_eq!(att["bridge"], bridge.as_str());
    assert_eq!(att["ip"], format!("{prefix}50"));
    assert_eq!(att["gateway"], format!("{prefix}1"));
    let names: Vec<&str> = att["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(names.contains(&"srv") && names.contains(&"web") && names.contains(&a.as_str()), "{names:?}");
    // inspect lists it
    let net = inspect_net(&e, "front");
    assert_eq!(net["Containers"][&a]["IPv4Address"], format!("{prefix}50/24"));
    assert_eq!(net["IPAM"]["Config"][0]["Subnet"], subnet.as_str());
    assert_eq!(net["Labels"]["app"], "t");

    // in use: refused; the default bridge survives `rm` of another name
    let o = e.run(&["network", "rm", "front"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("in use by srv"), "{}", text(&o.stderr));
    e.ok(&["run", "--rm", &img, "true"]); // the default bridge exists now
    assert_eq!(e.run(&["network", "rm", "nothing-here"]).status.code(), Some(1));
    assert!(links().contains(&format!(" {}:", e.bridge())), "the default bridge went with another name's rm");
    // a stopped container still uses it
    e.ok(&["stop", "-t", "1", "srv"]);
    assert!(record_of(&e, &a).is_none(), "record left after the container stopped");
    assert_eq!(e.run(&["network", "rm", "front"]).status.code(), Some(1));
    e.ok(&["rm", "srv"]);
    assert_eq!(e.ok(&["network", "rm", "front"]), "front\n");
    // nothing left: bridge, rules, leases, stamp, claim, record
    assert!(!links().contains(&format!(" {bridge}:")), "bridge left");
    assert!(!rules().contains(&format!("bocker-br:{bridge}")), "rules left");
    for p in [format!("/run/bocker/net/{bridge}"), format!("/run/bocker/bridges/{bridge}"), format!("/run/bocker/usernets/{bridge}")] {
        assert!(!Path::new(&p).exists(), "{p} left");
    }
    assert!(!e.root().join("networks/front.json").exists());
    assert!(links().contains(&format!(" {}:", e.bridge())), "the default bridge went with rm front");
}

#[test]
fn networks_are_isolated_and_prune_removes_unused() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(2), "n1"]);
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(3), "--internal", "n2"]);
    let (b1, b2) = (bridge_of(&e, "n1"), bridge_of(&e, "n2"));
    // an unused network's maps are maps, as Docker's clients decode them
    let n2 = inspect_net(&e, "n2");
    assert!(n2["Containers"].is_object() && n2["Labels"].is_object() && n2["IPAM"]["Config"].is_array(), "{n2}");
    e.ok(&["run", "-d", "--name", "a", "--network", "n1", &img, "sleep", "60"]);
    e.ok(&["run", "-d", "--name", "b", "--network", "n2", &img, "sleep", "60"]);
    let ip_a = ip_on(&e, "a", "eth0");
    // an internal network's container has no default route
    assert!(!e.ok(&["exec", "b", "ip", "route"]).contains("default"));
    // no forwarding between two user networks
    assert_ne!(e.run(&["exec", "b", "ping", "-c", "1", "-W", "1", &ip_a]).status.code(), Some(0), "n2 reached n1");
    e.ok(&["rm", "-f", "b"]);
    // prune: n2 is unused, n1 is not
    let out = e.ok(&["network", "prune", "-f"]);
    assert!(out.contains("n2\n") && !out.contains("n1\n"), "{out}");
    assert!(!links().contains(&format!(" {b2}:")) && links().contains(&format!(" {b1}:")));
    assert!(!rules().contains(&format!("bocker-br:{b2}")));
    e.ok(&["rm", "-f", "a"]);
    e.ok(&["network", "prune", "-f"]);
    assert!(!links().contains(&format!(" {b1}:")));
    assert!(!rules().contains(&format!("bocker-br:{b1}")));
    assert!(!Path::new(&format!("/run/bocker/net/{b1}")).exists(), "leases left");
    assert!(e.ok(&["network", "ls", "-q"]).lines().count() == 1, "only the default network is listed");
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(4), "one"]);
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(5), "two"]);
    let id = e.ok(&["run", "-d", "--name", "c", "--network", "one", &img, "sleep", "60"]).trim().to_string();
    assert!(!e.ok(&["exec", "c", "ip", "-o", "link"]).contains("eth1"));
    let want = format!("{}9", e.extra_subnet(5).trim_end_matches("0/24"));
    e.ok(&["network", "connect", "--alias", "extra", "--ip", &want, "two", "c"]);
    assert_eq!(ip_on(&e, "c", "eth1"), want);
    let rec = record_of(&e, &id).expect("record");
    let atts = rec["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2, "{rec}");
    assert_eq!(atts[1]["network"], "two");
    assert_eq!(atts[1]["ip"], want.as_str());
    assert!(atts[1]["names"].as_array().unwrap().iter().any(|n| n == "extra"), "{rec}");
    // a peer on `two` reaches it there
    let out = e.ok(&["run", "--rm", "--network", "two", &img, "sh", "-c", &format!("ping -c 1 -W 2 {want} >/dev/null && echo reached")]);
    assert_eq!(out, "reached\n");
    assert_eq!(e.run(&["network", "connect", "two", "c"]).status.code(), Some(1), "twice");
    e.ok(&["network", "disconnect", "two", "c"]);
    assert!(!e.ok(&["exec", "c", "ip", "-o", "link"]).contains("eth1"));
    assert_eq!(record_of(&e, &id).expect("record")["attachments"].as_array().unwrap().len(), 1);
    assert!(!Path::new(&format!("/run/bocker/net/{}/leases/{want}", bridge_of(&e, "two"))).exists(), "lease kept");
    // `two` is free again; `one` is not
    assert_eq!(e.ok(&["network", "rm", "two"]), "two\n");
    assert_eq!(e.run(&["network", "rm", "one"]).status.code(), Some(1));
    // a created container: connect only changes the record
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(6), "three"]);
    e.ok(&["create", "--name", "later", "--network", "one", &img, "sh", "-c", "ip -o link"]);
    e.ok(&["network", "connect", "three", "later"]);
    e.ok(&["start", "later"]);
    e.ok(&["wait", "later"]);
    assert!(e.ok(&["logs", "later"]).contains("eth1"), "{}", e.ok(&["logs", "later"]));
}

#[test]
fn network_container_shares_localhost() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    // the listener's stdin stays open: busybox nc ends at its stdin's EOF,
    // and with /dev/null (a detached container's stdin) that EOF could come
    // before the client's line, which was then lost (seen under load)
    e.ok(&["run", "-d", "--name", "x", "--network", "none", &img, "sh", "-c", "sleep 100 | nc -l -p 7000 > /tmp/got; sleep 60"]);
    // the listener may not be up yet on a loaded machine: the client
    // tries again until X has the line
    let mut got = String::new();
    for _ in 0..50 {
        let _ = e.run(&["run", "--rm", "--network", "container:x", &img, "sh", "-c", "echo hello | nc 127.0.0.1 7000"]);
        got = e.ok(&["exec", "x", "cat", "/tmp/got"]);
        if !got.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(got, "hello\n");
    // ports with it are refused; a stopped X cannot be joined
    assert!(!e.run(&["run", "--rm", "--network", "container:x", "-p", "8080:80", &img, "true"]).status.success());
    // so are its own names: X's namespace brings X's
    for flags in [&["-h", "other"][..], &["--dns", "10.9.9.9"], &["--add-host", "a:10.9.9.9"]] {
        let mut args = vec!["run", "--rm", "--network", "container:x"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&img, "true"]);
        let o = e.run(&args);
        assert_eq!(o.status.code(), Some(125), "{flags:?}");
        assert!(text(&o.stderr).contains("conflicting options"), "{flags:?}: {}", text(&o.stderr));
    }
    e.ok(&["rm", "-f", "x"]);
    e.ok(&["create", "--name", "y", "--network", "none", &img, "true"]);
    let o = e.run(&["run", "--rm", "--network", "container:y", &img, "true"]);
    assert!(!o.status.success() && text(&o.stderr).contains("non running"), "{}", text(&o.stderr));
}

#[test]
fn two_roots_two_networks() {
    let e = Env::new();
    let other = Env::new();
    let _c = Cleanup(&e);
    let _d = Cleanup(&other);
    let img = e.busybox();
    let img2 = other.busybox();
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(7), "app"]);
    // the same name in another root is another network; its subnet may not overlap
    let o = other.run(&["network", "create", "--subnet", &e.extra_subnet(7), "app"]);
    assert_eq!(o.status.code(), Some(1), "overlap across roots");
    assert!(text(&o.stderr).contains("overlaps"), "{}", text(&o.stderr));
    other.ok(&["network", "create", "--subnet", &other.extra_subnet(7), "app"]);
    let (b1, b2) = (bridge_of(&e, "app"), bridge_of(&other, "app"));
    assert_ne!(b1, b2);
    let a = e.ok(&["run", "-d", "--network", "app", &img, "sleep", "60"]).trim().to_string();
    let b = other.ok(&["run", "-d", "--network", "app", &img2, "sleep", "60"]).trim().to_string();
    assert!(ip_on(&e, &a, "eth0").starts_with(e.extra_subnet(7).trim_end_matches("0/24")));
    assert!(ip_on(&other, &b, "eth0").starts_with(other.extra_subnet(7).trim_end_matches("0/24")));
    // removing one root's network leaves the other's
    e.ok(&["rm", "-f", &a]);
    e.ok(&["network", "rm", "app"]);
    assert!(!links().contains(&format!(" {b1}:")) && links().contains(&format!(" {b2}:")));
    assert_eq!(ip_on(&other, &b, "eth0").is_empty(), false);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn published_port_and_a_killed_monitor_on_user_networks() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(8), "pub"]);
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(9), "back"]);
    let port = free_port();
    let id = e
        .ok(&["run", "-d", "--network", "pub", "--network", "back", "-p", &format!("{port}:8080"), &img,
            "sh", "-c", "mkdir -p /www && echo served > /www/index.html && httpd -f -p 8080 -h /www"])
        .trim()
        .to_string();
    assert!(!ip_on(&e, &id, "eth1").is_empty(), "no link to the second network");
    let mut out = String::new();
    for _ in 0..50 {
        let o = std::process::Command::new("timeout").args(["5", "/bin/busybox", "wget", "-q", "-O", "-", &format!("http://127.0.0.1:{port}/")]).output().unwrap();
        if o.status.success() {
            out = text(&o.stdout);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(out, "served\n", "the published port on a user network");
    let rec = record_of(&e, &id).expect("record");
    assert_eq!(rec["attachments"].as_array().unwrap().len(), 2, "{rec}");
    // the monitor is killed: rm gives back both links, leases and the record
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(e.root().join("containers").join(&id).join("state.json")).unwrap()).unwrap();
    let veths: Vec<String> = [st["net"]["host_veth"].as_str(), st["net"]["attachments"][0]["host_veth"].as_str()].into_iter().map(|v| v.unwrap().to_string()).collect();
    // SAFETY: a plain kill of a pid read from the record
    unsafe { libc::kill(st["monitor_pid"].as_i64().unwrap() as i32, libc::SIGKILL) };
    e.ok(&["rm", "-f", &id]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    for v in &veths {
        assert!(!links().contains(&format!(" {v}@")), "{v} left");
    }
    assert!(record_of(&e, &id).is_none(), "record left");
    for n in ["pub", "back"] {
        let leases = Path::new("/run/bocker/net").join(bridge_of(&e, n)).join("leases");
        assert_eq!(std::fs::read_dir(&leases).map(|d| d.count()).unwrap_or(0), 0, "lease left on {n}");
    }
    assert!(std::net::TcpListener::bind(("0.0.0.0", port)).is_ok(), "proxy still holds the port");
    e.ok(&["network", "rm", "pub", "back"]);
}

#[test]
fn the_lua_network_api() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    let verbs = e.dir.path().join("verbs");
    std::fs::create_dir_all(&verbs).unwrap();
    let prefix = e.extra_subnet(0).trim_end_matches("0/24").to_string();
    std::fs::write(
        verbs.join("nettest.lua"),
        format!(
            r#"return {{ run = function(args)
  local n = assert(bocker.network.create{{ name = "lua-net", subnet = "{sub}", labels = {{ tier = "db" }} }})
  assert(n.driver == "bridge" and n.subnet == "{sub}" and n.gateway == "{p}1" and n.labels.tier == "db" and n.bridge:sub(1, 3) == "bk-", n.bridge)
  assert(bocker.network.get("lua-net").id == n.id)
  local none, err = bocker.network.get("nope")
  assert(none == nil and err == "No such network: nope", err)
  local names = {{}}
  for _, x in ipairs(bocker.network.list()) do names[#names + 1] = x.name end
  assert(names[1] == "bridge" and names[2] == "lua-net", table.concat(names, ","))
  local c = assert(bocker.container.create{{ image = "{img}", cmd = {{ "sleep", "30" }}, name = "lc",
    networks = {{ {{ name = "lua-net", aliases = {{ "db" }}, ip = "{p}77" }} }}, add_hosts = {{ "h:10.9.8.7" }}, dns_search = {{ "s.test" }} }})
  local ok, rerr = bocker.network.remove("lua-net")
  assert(ok == nil and rerr:find("network lua%-net is in use by lc"), rerr)
  assert(bocker.network.disconnect("lua-net", "lc"))
  assert(bocker.network.connect("lua-net", "lc", {{ aliases = {{ "again" }} }}))
  local bad, cerr = bocker.container.create{{ image = "{img}", cmd = {{ "true" }}, network = "no-such-net" }}
  assert(bad == nil and cerr:find("not found"), cerr)
  print("lua ok")
  return 0
end }}"#,
            sub = e.extra_subnet(0),
            p = prefix,
            img = img
        ),
    )
    .unwrap();
    let o = e.cmd(&["nettest"]).env("BOCKER_VERBS", &verbs).output().unwrap();
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(text(&o.stdout), "lua ok\n");
    // the container made by Lua runs on it, with its alias published
    e.ok(&["start", "lc"]);
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "--bocker", "lc"])).unwrap();
    let rec = record_of(&e, j[0]["id"].as_str().unwrap()).expect("record");
    assert!(rec["attachments"][0]["names"].as_array().unwrap().iter().any(|n| n == "again"), "{rec}");
    let out = e.ok(&["exec", "lc", "cat", "/etc/hosts", "/etc/resolv.conf"]);
    assert!(out.contains("10.9.8.7\th\n") && out.contains(&format!("nameserver {prefix}1\n")) && out.contains("search s.test\n"), "{out}");
}

/// Bridges this root has claimed host-wide (`/run/bocker/usernets`).
fn claims_of(e: &Env) -> Vec<String> {
    let root = e.root().to_str().unwrap().to_string();
    std::fs::read_dir("/run/bocker/usernets")
        .map(|rd| {
            rd.flatten()
                .filter(|f| std::fs::read_to_string(f.path()).is_ok_and(|t| t.lines().nth(1) == Some(root.as_str())))
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_killed_create_or_rm_is_cleaned_by_prune() {
    let e = Env::new();
    let _c = Cleanup(&e);
    for (k, point) in ["network.claimed", "network.bridged", "network.unrecorded"].into_iter().enumerate() {
        let name = format!("half{k}");
        let subnet = e.extra_subnet(k as u8);
        let create = |crash: Option<&str>| {
            let mut c = e.cmd(&["network", "create", "--subnet", &subnet, &name]);
            if let Some(p) = crash {
                c.env("BOCKER_CRASH_AT", p);
            }
            c.output().unwrap()
        };
        if point == "network.unrecorded" {
            assert!(create(None).status.success());
            let o = e.cmd(&["network", "rm", &name]).env("BOCKER_CRASH_AT", point).output().unwrap();
            assert!(!o.status.success(), "{point}: rm was not killed");
        } else {
            assert!(!create(Some(point)).status.success(), "{point}: create was not killed");
        }
        assert!(!e.ok(&["network", "ls"]).contains(&name), "{point}: a half network is listed");
        let bridges = claims_of(&e);
        assert_eq!(bridges.len(), 1, "{point}: {bridges:?}");
        e.ok(&["network", "prune", "-f"]);
        assert!(claims_of(&e).is_empty(), "{point}: claim left");
        for b in &bridges {
            assert!(!links().contains(&format!(" {b}:")), "{point}: bridge {b} left");
            assert!(!rules().contains(&format!("bocker-br:{b}")), "{point}: rules of {b} left");
        }
        // the subnet is free again
        assert!(create(None).status.success(), "{point}: subnet still taken");
        e.ok(&["network", "rm", &name]);
    }
}

#[test]
fn a_default_bridge_container_joins_a_user_network() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(1), "side"]);
    let prefix = e.extra_subnet(1).trim_end_matches("0/24").to_string();
    // running: eth1 appears, the default route stays on the bridge
    let id = e.ok(&["run", "-d", "--name", "r", &img, "sleep", "60"]).trim().to_string();
    e.ok(&["network", "connect", "--alias", "side-r", "side", "r"]);
    assert!(ip_on(&e, "r", "eth1").starts_with(&prefix));
    assert!(e.ok(&["exec", "r", "ip", "route"]).contains(&format!("default via 10.214.{}.1", e.net)));
    let rec = record_of(&e, &id).expect("record");
    assert_eq!(rec["attachments"].as_array().unwrap().len(), 1, "{rec}");
    assert!(rec["attachments"][0]["names"].as_array().unwrap().iter().any(|n| n == "side-r"), "{rec}");
    assert_eq!(e.run(&["network", "rm", "side"]).status.code(), Some(1));
    e.ok(&["network", "disconnect", "side", "r"]);
    assert!(!e.ok(&["exec", "r", "ip", "-o", "link"]).contains("eth1"));
    assert!(record_of(&e, &id).is_none(), "record left");
    // created: linked at its start, released at its exit
    e.ok(&["create", "--name", "c", &img, "sh", "-c", "ip -4 -o addr show eth1"]);
    e.ok(&["network", "connect", "side", "c"]);
    e.ok(&["start", "c"]);
    e.ok(&["wait", "c"]);
    assert!(e.ok(&["logs", "c"]).contains(&prefix), "{}", e.ok(&["logs", "c"]));
    let bridge = bridge_of(&e, "side");
    assert_eq!(std::fs::read_dir(format!("/run/bocker/net/{bridge}/leases")).map(|d| d.count()).unwrap_or(0), 0, "lease left after the exit");
    e.ok(&["rm", "-f", "r", "c"]);
    e.ok(&["network", "rm", "side"]);
}

/// Two user networks that forward beyond the host (created with egress on:
/// the containers only ping each other) are still isolated from each other
/// by their own rules, not only by the egress DROPs.
#[test]
fn two_routed_networks_are_isolated_by_their_rules() {
    let e = Env::new();
    let _c = Cleanup(&e);
    let img = e.busybox();
    for (k, n) in [(2u8, "r1"), (3, "r2")] {
        let o = e.cmd(&["network", "create", "--subnet", &e.extra_subnet(k), n]).env("BOCKER_NET_EGRESS", "1").output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let (b1, b2) = (bridge_of(&e, "r1"), bridge_of(&e, "r2"));
    let save = rules();
    assert!(save.contains(&format!("-A FORWARD -i {b1} ! -o {b1} -m comment --comment \"bocker-br:{b1}\" -j ACCEPT")), "egress is on");
    assert!(save.contains(&format!("-A FORWARD -i bk-+ -o {b2} -m comment --comment \"bocker-br:{b2}\" -j DROP")), "{save}");
    e.ok(&["run", "-d", "--name", "one", "--network", "r1", &img, "sleep", "60"]);
    e.ok(&["run", "-d", "--name", "two", "--network", "r2", &img, "sleep", "60"]);
    let ip1 = ip_on(&e, "one", "eth0");
    let gw2 = format!("{}1", e.extra_subnet(3).trim_end_matches("0/24"));
    assert_eq!(e.run(&["exec", "two", "ping", "-c", "1", "-W", "2", &gw2]).status.code(), Some(0), "its own gateway");
    assert_ne!(e.run(&["exec", "two", "ping", "-c", "1", "-W", "1", &ip1]).status.code(), Some(0), "r2 reached r1");
    assert_ne!(e.run(&["exec", "one", "ping", "-c", "1", "-W", "1", &ip_on(&e, "two", "eth0")]).status.code(), Some(0), "r1 reached r2");
    e.ok(&["rm", "-f", "one", "two"]);
    e.ok(&["network", "rm", "r1", "r2"]);
    let save = rules();
    assert!(!save.contains(&b1) && !save.contains(&b2), "rules left");
}
