//! The store is private: BOCKER_ROOT 0700, records, logs and credentials
//! 0600, a loose root tightened by the next command, and another user
//! cannot read a container's `-e` secrets.
mod common;
use common::{text, Env};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o7777
}

/// A registry that accepts anyone: `GET /v2/` answers 200 (enough for login).
fn open_registry() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                line.clear();
            }
            let mut s = s;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}");
        }
    });
    port
}

#[test]
fn records_logs_and_credentials_are_private() {
    let e = Env::new();
    let bb = e.busybox();
    let root = e.root();
    assert_eq!(mode(&root), 0o700, "a new root is private");
    let id = e.ok(&["run", "-d", "-e", "SECRET=hunter2", &bb, "sh", "-c", "echo logged; sleep 30"]).trim().to_string();
    let cdir = root.join("containers").join(&id);
    // the log is written by the monitor: wait for the line
    for _ in 0..100 {
        if std::fs::read_to_string(cdir.join("output.log")).unwrap_or_default().contains("logged") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for f in ["config.json", "state.json", "output.log"] {
        assert_eq!(mode(&cdir.join(f)), 0o600, "{f}");
    }
    assert!(std::fs::read_to_string(cdir.join("config.json")).unwrap().contains("SECRET=hunter2"));
    for img in std::fs::read_dir(root.join("images")).unwrap().flatten() {
        assert_eq!(mode(&img.path()) & 0o077, 0, "{}", img.path().display());
    }

    // another user is refused, also with the file's own mode loosened
    let nobody = |p: &Path| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
            .arg(p)
            .output()
            .expect("setpriv (util-linux)")
    };
    let o = nobody(&cdir.join("config.json"));
    assert!(!o.status.success(), "nobody read the record: {}", text(&o.stdout));
    assert!(!text(&o.stdout).contains("hunter2"));
    assert!(text(&o.stderr).contains("Permission denied"), "{}", text(&o.stderr));
    std::fs::set_permissions(cdir.join("config.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = nobody(&cdir.join("config.json"));
    assert!(!o.status.success() && !text(&o.stdout).contains("hunter2"), "the root alone keeps others out");
    std::fs::set_permissions(cdir.join("config.json"), std::fs::Permissions::from_mode(0o600)).unwrap();

    // credentials of `bocker login`
    let port = open_registry();
    let reg = format!("127.0.0.1:{port}");
    let out = e.ok(&["login", "-u", "alice", "-p", "s3cret", &reg]);
    assert!(out.contains("Login Succeeded"), "{out}");
    assert_eq!(mode(&root.join("auth.json")), 0o600);
    let o = nobody(&root.join("auth.json"));
    assert!(!o.status.success());

    // a root made world-readable is tightened by the next command
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    e.ok(&["ps"]);
    assert_eq!(mode(&root), 0o700, "ps tightens a loose root");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    e.ok(&["logs", &id]);
    assert_eq!(mode(&root), 0o700);
    e.ok(&["rm", "-f", &id]);
}
