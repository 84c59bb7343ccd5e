//! Volumes: bind mounts, named and anonymous volumes, --volumes-from, and
//! destinations that must not escape the container's root.
mod common;
use common::{text, Env};

#[test]
fn named_volume_outlives_containers_and_is_prefilled() {
    let e = Env::new();
    let img = e.busybox();
    // a new named volume is filled with what the image has at that path
    let out = e.ok(&["run", "--name", "a", "-v", "cfg:/etc", &img, "sh", "-c", "cat /etc/os-release; echo mine > /etc/added"]);
    assert_eq!(out, "busybox rootfs\n");
    e.ok(&["rm", "a"]);
    assert!(e.ok(&["volume", "ls", "-q"]).lines().any(|l| l == "cfg"));
    // the data survives rm and the next container sees it
    assert_eq!(e.ok(&["run", "--rm", "-v", "cfg:/data", &img, "cat", "/data/added", "/data/os-release"]), "mine\nbusybox rootfs\n");
    // :ro refuses writes
    let o = e.run(&["run", "--rm", "-v", "cfg:/data:ro", &img, "sh", "-c", "echo x > /data/new"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o.stderr).contains("Read-only"), "{}", text(&o.stderr));
    // rm of a volume in use is refused
    e.ok(&["run", "--name", "holder", "-v", "cfg:/data", &img, "true"]);
    let o = e.run(&["volume", "rm", "cfg"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("in use"));
    e.ok(&["rm", "holder"]);
    e.ok(&["volume", "rm", "cfg"]);
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "");
    assert_eq!(common::mounts_under(&e.root()), 0);
}

#[test]
fn bind_mounts_and_volumes_from() {
    let e = Env::new();
    let img = e.busybox();
    let host = e.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in"), "from host\n").unwrap();
    let h = host.to_str().unwrap();
    assert_eq!(e.ok(&["run", "--rm", "-v", &format!("{h}:/srv"), &img, "sh", "-c", "cat /srv/in; echo back > /srv/out"]), "from host\n");
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "back\n");
    let o = e.run(&["run", "--rm", "--mount", &format!("type=bind,src={h},dst=/srv,readonly"), &img, "touch", "/srv/x"]);
    assert_ne!(o.status.code(), Some(0));
    // a missing host path: -v makes it (Docker's Binds), --mount is a
    // clear error before anything starts
    let missing = e.dir.path().join("no/such/path");
    let o = e.run(&["run", "--rm", "--mount", &format!("type=bind,src={},dst=/x", missing.display()), &img, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("does not exist"));
    e.ok(&["run", "--rm", "-v", &format!("{}:/x", missing.display()), &img, "true"]);
    assert!(missing.is_dir());
    // the data volume container pattern
    e.ok(&["run", "--name", "store", "-v", "shared-data:/data", "-v", &format!("{h}:/host"), &img, "sh", "-c", "echo kept > /data/f"]);
    assert_eq!(e.ok(&["run", "--rm", "--volumes-from", "store", &img, "cat", "/data/f", "/host/in"]), "kept\nfrom host\n");
    let o = e.run(&["run", "--rm", "--volumes-from", "store:ro", &img, "sh", "-c", "echo x > /data/g"]);
    assert_ne!(o.status.code(), Some(0));
    // tmpfs
    assert!(e.ok(&["run", "--rm", "--tmpfs", "/scratch:size=1m", &img, "sh", "-c", "mount | grep /scratch"]).contains("tmpfs"));
    // anonymous volumes go with rm -v
    e.ok(&["run", "--name", "anon", "-v", "/cache", &img, "true"]);
    let vols = e.ok(&["volume", "ls", "-q"]);
    let anon: Vec<&str> = vols.lines().filter(|l| l.len() == 64).collect();
    assert_eq!(anon.len(), 1, "{vols}");
    e.ok(&["rm", "-v", "anon"]);
    assert!(!e.ok(&["volume", "ls", "-q"]).contains(anon[0]));
}

#[test]
fn symlinked_destinations_stay_inside_the_root() {
    let e = Env::new();
    // an image whose /evil points at / and /up at ../../..
    let rootfs = e.dir.path().join("hostile");
    let st = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/mkrootfs.sh"))
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(st.success());
    std::os::unix::fs::symlink("/", rootfs.join("evil")).unwrap();
    std::os::unix::fs::symlink("../../..", rootfs.join("up")).unwrap();
    let img = e.ok(&["init", rootfs.to_str().unwrap()]).trim().trim_start_matches("Created: ").to_string();
    let src = e.dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("payload"), "p\n").unwrap();
    let s = src.to_str().unwrap();
    let marker = format!("bocker-escape-{}", std::process::id());
    for link in ["evil", "up"] {
        let target = format!("/{link}/{marker}");
        let out = e.ok(&["run", "--rm", "-v", &format!("{s}:{target}"), &img, "cat", &format!("/{marker}/payload")]);
        assert_eq!(out, "p\n", "mounted inside the container's root");
        assert!(!std::path::Path::new(&format!("/{marker}")).exists(), "escaped onto the host via /{link}");
        // a volume filled through the symlink reads the image, not the host
        let out = e.ok(&["run", "--rm", "-v", &format!("fill-{link}:/{link}"), &img, "sh", "-c", "ls /evil/ | grep -c . ; cat /etc/os-release"]);
        assert!(out.ends_with("busybox rootfs\n"), "{out}");
    }
    let vol = e.root().join("volumes/fill-evil/_data");
    assert!(vol.join("etc/os-release").exists(), "filled from the image root");
    // host-only folders (Debian has them, the busybox image does not)
    assert!(!vol.join("usr/share/doc").exists() && !vol.join("var/lib/dpkg").exists(), "host files copied");
    assert_eq!(std::fs::read_to_string(vol.join("etc/os-release")).unwrap(), "busybox rootfs\n");
    assert_eq!(common::mounts_under(&e.root()), 0);
}
