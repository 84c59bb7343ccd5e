//! bocker's CLI in Docker's shapes for images, networks, volumes and the
//! system: `images REPOSITORY[:TAG]` and `-f`, `image X`, `inspect` of an
//! image/network/volume, `--format` on network and volume ls/inspect,
//! `system df`, `system prune -f`, `volume prune -f`.
mod common;
use common::{text, Env};

#[test]
fn images_filters_and_the_image_forms() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["tag", &img, "busybox:1"]);
    e.ok(&["tag", &img, "reg.example:5000/team/app:2"]);
    let fmt = ["--format", "{{.Repository}}:{{.Tag}}"];
    assert_eq!(e.ok(&[&["images"][..], &fmt, &["busybox"]].concat()), "busybox:1\n");
    assert_eq!(e.ok(&[&["images"][..], &fmt, &["reg.example:5000/team/*"]].concat()), "reg.example:5000/team/app:2\n");
    assert_eq!(e.ok(&[&["images"][..], &fmt, &["-f", "reference=busy*:1"]].concat()), "busybox:1\n");
    assert_eq!(e.ok(&[&["images"][..], &fmt, &["nothing"]].concat()), "");
    assert_eq!(e.ok(&["images", "-q", "-f", "dangling=true"]), "");
    let o = e.run(&["images", "-f", "bogus=1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("invalid filter 'bogus'"), "{}", text(&o.stderr));
    let o = e.run(&["images", "-f", "noequals"]);
    assert_eq!(o.status.code(), Some(125));

    // image X: the verb it names
    assert_eq!(e.ok(&[&["image", "ls"][..], &fmt, &["busybox"]].concat()), "busybox:1\n");
    e.ok(&["image", "tag", "busybox:1", "other:3"]);
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["image", "inspect", "other:3"])).unwrap();
    assert_eq!(v[0]["Id"], img.as_str());
    assert_eq!(v[0]["RepoTags"].as_array().map(|a| a.len()), Some(3));
    assert_eq!(v[0]["Os"], "linux");
    assert!(v[0]["Created"].as_str().is_some_and(|c| c.ends_with('Z')), "Created as RFC 3339: {v}");
    assert!(v[0]["Config"]["Labels"].is_object(), "empty maps are objects: {v}");
    assert_eq!(v[0]["RootFS"]["Layers"].as_array().map(|a| a.len()), Some(1));
    assert_eq!(v[0]["Bocker"]["source"].as_str().map(|s| s.is_empty()), Some(false), "bocker's own record: {v}");
    // Docker's clients name it by the hex after img_ (sha256:HEX too), 4 digits at least
    let hex = &img[4..];
    for r in [hex.to_string(), format!("sha256:{hex}"), hex[..4].to_string()] {
        let v: serde_json::Value = serde_json::from_str(&e.ok(&["image", "inspect", &r])).unwrap();
        assert_eq!(v[0]["Id"], img.as_str(), "{r}");
    }
    assert_eq!(e.run(&["image", "inspect", &hex[..3]]).status.code(), Some(1));
    let o = e.run(&["image", "frobnicate"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("unknown command 'frobnicate'"));

    // system df counts it; image prune -a -f removes what nothing uses
    let df = e.ok(&["system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}"]);
    assert!(df.contains("Images=1/0") && df.contains("Containers=0/0"), "{df}");
    let table = e.ok(&["system", "df"]);
    assert!(table.starts_with("TYPE") && table.contains("RECLAIMABLE"), "{table}");
    let out = e.ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains(&img), "{out}");
    assert_eq!(e.ok(&["images", "-q"]), "");
}

#[test]
fn networks_and_volumes_in_docker_shapes() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["tag", &img, "bb:keep"]);
    let subnet = e.extra_subnet(1);
    e.ok(&["network", "create", "--subnet", &subnet, "--label", "t=x", "blue"]);
    let ls = e.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}}"]);
    assert!(ls.lines().any(|l| l == "blue bridge local t=x"), "{ls}");
    let table = e.ok(&["network", "ls", "--format", "table {{.Name}}"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(e.ok(&["network", "inspect", "-f", "{{.Name}} {{(index .IPAM.Config 0).Subnet}}", "blue"]), format!("blue {subnet}\n"));
    // plain inspect finds networks and volumes too
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "blue"])).unwrap();
    assert_eq!(v[0]["Driver"], "bridge");
    assert!(v[0]["Created"].as_str().is_some_and(|c| c.ends_with('Z')), "{v}");
    e.ok(&["network", "rm", "blue"]);

    e.ok(&["volume", "create", "--label", "k=v", "keep"]);
    e.ok(&["volume", "create", "gone"]);
    assert_eq!(e.ok(&["volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.k}}", "keep"]), "keep local v\n");
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["volume", "inspect", "keep"])).unwrap();
    assert_eq!(j[0]["Mountpoint"], e.root().join("volumes/keep/_data").to_str().unwrap());
    assert_eq!(j[0]["Scope"], "local");
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "keep"])).unwrap();
    assert_eq!(v[0]["Labels"]["k"], "v");
    let ls = e.ok(&["volume", "ls", "--format", "{{.Name}}={{.Labels}}"]);
    assert_eq!(ls, "gone=\nkeep=k=v\n");
    let o = e.run(&["volume", "inspect", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    // prune -f: no prompt; named volumes only with -a
    e.ok(&["run", "--rm", "-v", "/anon", &img, "true"]);
    e.ok(&["volume", "prune", "-f", "-a"]);
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "");

    // system prune -f: stopped containers, dangling images, unused networks
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(2), "spare"]);
    e.ok(&["run", "--name", "done", &img, "true"]);
    let out = e.ok(&["system", "prune", "-f"]);
    assert!(out.contains("Removed: ps_") && out.contains("Deleted Network: spare"), "{out}");
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    assert_eq!(e.ok(&["images", "-q"]).trim(), img, "a tagged or used image stays; this one is not dangling");
}
