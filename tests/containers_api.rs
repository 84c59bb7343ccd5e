//! The containers part of #16 through bocker's own CLI (inspect's Docker
//! shape and templates, ps --format/-n/-l/-s, cp, top, stats, port,
//! rename, diff, the `container X` forms) and through the API with curl
//! (status codes, create's mapping, wait conditions, the archive
//! endpoints with hostile archives).
mod common;

use common::service::Service;
use common::{text, Env};
use std::path::Path;
use std::process::Command;

/// A request with a body (a file's bytes) or none; (status, headers, body).
fn request(s: &Service, method: &str, path: &str, body: Option<&Path>) -> (u16, String, String) {
    let mut c = Command::new("curl");
    c.args(["-s", "-X", method, "--unix-socket", s.socket.to_str().unwrap(), "-D", "-", "-o", "-"]);
    if method == "HEAD" {
        c.arg("-I");
    }
    if let Some(b) = body {
        c.arg("-H").arg("Content-Type: application/json").arg("--data-binary").arg(format!("@{}", b.display()));
    }
    let o = c.arg(format!("http://bocker{path}")).output().expect("curl");
    let out = text(&o.stdout);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, head.to_string(), body.to_string())
}

fn post_json(e: &Env, s: &Service, path: &str, json: &str) -> (u16, String) {
    let f = e.dir.path().join("body.json");
    std::fs::write(&f, json).unwrap();
    let (code, _, body) = request(s, "POST", path, Some(&f));
    (code, body)
}

fn wait_for_file(e: &Env, c: &str, path: &str) {
    for _ in 0..100 {
        if e.run(&["cp", &format!("{c}:{path}"), "-"]).status.success() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{c} never made {path}");
}

#[test]
fn cli_inspect_ps_and_the_new_verbs() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "--name", "web", "-p", "18089:80", &img, "sh", "-c", "echo made > /made; sleep 300"]).trim().to_string();
    // inspect: Docker's shape by default, bocker's record with --bocker
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "web"])).unwrap();
    assert_eq!(j[0]["Id"], id.as_str());
    assert_eq!(j[0]["Bocker"]["id"], id.as_str(), "bocker's record under Bocker");
    let pid = e.ok(&["inspect", "-f", "{{.State.Pid}}", "web"]);
    assert!(Path::new(&format!("/proc/{}", pid.trim())).exists(), "{pid}");
    let b: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "--bocker", "web"])).unwrap();
    assert_eq!(b[0]["id"], id.as_str());
    assert_eq!(b[0]["running"], true);
    assert_eq!(e.ok(&["inspect", "-f", "{{json .Config.Cmd}}", "web"]).trim(), r#"["sh","-c","echo made > /made; sleep 300"]"#);
    // ps --format, -n, -l, -s
    let second = e.ok(&["create", "--name", "second", &img, "true"]).trim().to_string();
    let names = e.ok(&["ps", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(names, "web running\nsecond created\n", "{names}");
    assert_eq!(e.ok(&["ps", "-l", "--format", "{{.ID}}"]).trim(), second);
    assert_eq!(e.ok(&["ps", "-n", "2", "-q"]).lines().count(), 2);
    let t = e.ok(&["ps", "--format", "table {{.Names}}\t{{.Ports}}"]);
    assert!(t.starts_with("NAMES") && t.contains("0.0.0.0:18089->80/tcp"), "{t}");
    let js = e.ok(&["ps", "-l", "--format", "{{json .}}"]);
    let row: serde_json::Value = serde_json::from_str(js.trim()).expect("one JSON row");
    assert_eq!(row["Names"], "second");
    wait_for_file(&e, "web", "/made");
    let s = e.ok(&["ps", "-s", "--filter", "name=web"]);
    assert!(s.lines().next().unwrap().ends_with("SIZE") && s.contains("(virtual "), "{s}");
    // port, top, stats, diff, rename
    assert_eq!(e.ok(&["port", "web"]).trim(), "80/tcp -> 0.0.0.0:18089");
    assert_eq!(e.ok(&["port", "web", "80"]).trim(), "0.0.0.0:18089");
    assert!(!e.run(&["port", "web", "81"]).status.success());
    let top = e.ok(&["top", "web", "-o", "pid,comm"]);
    assert!(top.starts_with("PID") && top.contains("sleep") && top.lines().count() == 2, "the container's process only: {top}");
    let st = e.ok(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "web"]);
    assert!(st.starts_with("web 1 ") && st.contains(" / "), "{st}");
    let diff = e.ok(&["diff", "web"]);
    assert!(diff.lines().any(|l| l == "A /made"), "{diff}");
    e.ok(&["rename", "web", "web2"]);
    assert_eq!(e.ok(&["inspect", "-f", "{{.Name}}", &id]).trim(), "/web2");
    let o = e.run(&["rename", "web2", "second"]);
    assert!(!o.status.success() && text(&o.stderr).contains("already in use"), "{}", text(&o.stderr));
    // cp: both ways, a tar on stdout, and a tar on stdin
    let host = e.dir.path().join("h.txt");
    std::fs::write(&host, "host file").unwrap();
    e.ok(&["cp", host.to_str().unwrap(), "web2:/tmp/h.txt"]);
    let tar = e.run(&["cp", "web2:/tmp/h.txt", "-"]);
    assert!(tar.status.success());
    let mut a = tar::Archive::new(&tar.stdout[..]);
    let mut entries = a.entries().unwrap();
    let mut first = entries.next().expect("one entry").unwrap();
    assert_eq!(first.path().unwrap().to_str(), Some("h.txt"));
    let mut body = String::new();
    std::io::Read::read_to_string(&mut first, &mut body).unwrap();
    assert_eq!(body, "host file");
    let tarfile = e.dir.path().join("in.tar");
    std::fs::write(&tarfile, &tar.stdout).unwrap();
    let o = e.cmd(&["cp", "-", "web2:/"]).stdin(std::fs::File::open(&tarfile).unwrap()).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let back = e.dir.path().join("back.txt");
    e.ok(&["cp", "web2:/h.txt", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "host file");
    // container X forms
    assert_eq!(e.ok(&["container", "ls", "-q"]).lines().count(), 2);
    assert_eq!(e.ok(&["container", "inspect", "-f", "{{.State.Status}}", "second"]).trim(), "created");
    let p = e.ok(&["container", "prune", "-f"]);
    assert!(p.contains(&second) && p.contains("Total reclaimed space"), "{p}");
    e.ok(&["container", "rm", "-f", "web2"]);
    assert_eq!(e.ok(&["container", "ls", "-q"]).trim(), "");
}

#[test]
fn api_create_mapping_and_status_codes() {
    let e = Env::new();
    let img = e.busybox();
    let s = Service::start(&e, &[]);
    // unknown fields are ignored; zero values are absent
    let (code, body) = post_json(&e, &s, "/v1.41/containers/create?name=api1", &format!(
        r#"{{"Image":"{img}","Cmd":["sleep","300"],"Env":["A=1"],"Labels":{{"x":"y"}},"Bogus":true,
            "HostConfig":{{"Memory":0,"CpuShares":0,"Binds":null,"RestartPolicy":{{"Name":"on-failure","MaximumRetryCount":2}},"Whatever":1}}}}"#
    ));
    assert_eq!(code, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"].as_str().unwrap().to_string();
    let j = s.json(&format!("/containers/{id}/json"));
    assert_eq!(j["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(j["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);
    assert_eq!(j["Config"]["Labels"]["x"], "y");
    // what bocker cannot honour is a 400 that says why; a missing image a 404
    let (code, body) = post_json(&e, &s, "/containers/create", &format!(r#"{{"Image":"{img}","HostConfig":{{"CpuQuota":50000}}}}"#));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("CpuQuota"), "{body}");
    let (code, _) = post_json(&e, &s, "/containers/create", r#"{"Image":"img_nosuchimage"}"#);
    assert_eq!(code, 404);
    let (code, body) = post_json(&e, &s, "/containers/create?name=api1", &format!(r#"{{"Image":"{img}","Cmd":["true"]}}"#));
    assert_eq!(code, 409, "a taken name: {body}");
    // start, start again (304), stop, stop again (304), kill of a stopped one (409)
    assert_eq!(request(&s, "POST", &format!("/containers/{id}/start"), None).0, 204);
    assert_eq!(request(&s, "POST", &format!("/containers/{id}/start"), None).0, 304);
    let (code, _, top) = request(&s, "GET", &format!("/containers/{id}/top"), None);
    assert_eq!(code, 200);
    assert!(top.contains("\"Titles\"") && top.contains("sleep"), "{top}");
    let (code, _, st) = request(&s, "GET", &format!("/containers/{id}/stats?stream=false&one-shot=true"), None);
    assert_eq!(code, 200, "{st}");
    let st: serde_json::Value = serde_json::from_str(&st).unwrap();
    assert!(st["memory_stats"]["usage"].as_u64().unwrap() > 0 && st["pids_stats"]["current"] == 1, "{st}");
    assert_eq!(request(&s, "POST", &format!("/containers/{id}/stop?t=0"), None).0, 204);
    assert_eq!(request(&s, "POST", &format!("/containers/{id}/stop"), None).0, 304);
    assert_eq!(request(&s, "POST", &format!("/containers/{id}/kill"), None).0, 409);
    assert_eq!(request(&s, "GET", &format!("/containers/{id}/top"), None).0, 409);
    // wait: not-running answers at once with the exit code
    let (code, _, w) = request(&s, "POST", &format!("/containers/{id}/wait"), None);
    assert_eq!(code, 200);
    assert!(w.contains("\"StatusCode\":137"), "{w}");
    assert_eq!(request(&s, "POST", "/containers/nosuch/wait", None).0, 404);
    assert_eq!(request(&s, "POST", &format!("/containers/{id}/wait?condition=bogus"), None).0, 400);
    // list: all, filters, limit
    let l = s.json("/containers/json?all=1&filters=%7B%22label%22%3A%5B%22x%3Dy%22%5D%7D");
    assert_eq!(l.as_array().unwrap().len(), 1);
    assert_eq!(s.json("/containers/json").as_array().unwrap().len(), 0, "not running: listed only with all");
    assert_eq!(request(&s, "GET", "/containers/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D", None).0, 400);
    // rename, then remove; a second remove is a 404
    assert_eq!(request(&s, "POST", &format!("/containers/{id}/rename?name=api2"), None).0, 204);
    assert_eq!(s.json("/containers/api2/json")["Name"], "/api2");
    assert_eq!(request(&s, "DELETE", "/containers/api2", None).0, 204);
    assert_eq!(request(&s, "DELETE", "/containers/api2", None).0, 404);
}

/// A tar with the given (path, kind, body/link) entries, raw names kept.
fn hostile_tar(entries: &[(&str, char, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        // write the name bytes directly: tar::Builder refuses `..`
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_mode(0o644);
        match kind {
            'f' => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
            }
            'l' => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_link_name(data).unwrap();
                h.set_size(0);
            }
            _ => unreachable!(),
        }
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        if *kind == 'f' {
            out.extend_from_slice(data.as_bytes());
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn api_archive_is_hostile_safe() {
    let e = Env::new();
    let img = e.busybox();
    let s = Service::start(&e, &[]);
    let id = e.ok(&["run", "-d", &img, "sh", "-c", "mkdir /box && ln -s / /box/up && ln -s /etc /box/etc && sleep 300"]).trim().to_string();
    wait_for_file(&e, &id, "/box/etc");
    let mark = format!("bocker-archive-{}", std::process::id());
    let tar = hostile_tar(&[
        (&format!("../../../../{mark}-dotdot"), 'f', "x"),
        (&format!("up/{mark}-link"), 'f', "x"),
        ("esc", 'l', "/"),
        (&format!("esc/{mark}-late"), 'f', "x"),
        ("ok.txt", 'f', "fine"),
    ]);
    let f = e.dir.path().join("hostile.tar");
    std::fs::write(&f, &tar).unwrap();
    let (code, _, body) = request(&s, "PUT", &format!("/containers/{id}/archive?path=/box"), Some(&f));
    // what the archive may do is stay inside /box; an entry it refuses fails the request
    for p in ["/", "/etc", "/tmp"] {
        for suffix in ["-dotdot", "-link", "-late"] {
            let host = Path::new(p).join(format!("{mark}{suffix}"));
            assert!(!host.exists(), "PUT wrote {} on the host ({code} {body})", host.display());
        }
    }
    // a path that leaves the root through a link is still inside it
    let (code, head, _) = request(&s, "HEAD", &format!("/containers/{id}/archive?path=/box/etc/../../../etc/hostname"), None);
    assert_eq!(code, 200, "{head}");
    let stat = head.lines().find_map(|l| l.strip_prefix("X-Docker-Container-Path-Stat: ").or_else(|| l.strip_prefix("x-docker-container-path-stat: "))).expect("the stat header");
    use base64::Engine;
    let j: serde_json::Value = serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(stat.trim()).unwrap()).unwrap();
    assert_eq!(j["name"], "hostname");
    assert_eq!(request(&s, "HEAD", &format!("/containers/{id}/archive?path=/no/such"), None).0, 404);
    assert_eq!(request(&s, "GET", &format!("/containers/{id}/archive"), None).0, 400, "path is required");
    // GET of a link: the link itself, not the host's /
    let (code, _, body) = request(&s, "GET", &format!("/containers/{id}/archive?path=/box/up"), None);
    assert_eq!(code, 200);
    assert!(body.len() < 4096, "the link alone, not a tree: {} bytes", body.len());
    // changes of the container
    let (code, _, ch) = request(&s, "GET", &format!("/containers/{id}/changes"), None);
    assert_eq!(code, 200);
    assert!(ch.contains("\"/box/up\""), "{ch}");
}

#[test]
fn rename_moves_the_name_on_user_networks() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(1), "rn"]);
    e.ok(&["run", "-d", "--name", "old1", "--network", "rn", &img, "sleep", "60"]);
    e.ok(&["run", "-d", "--name", "peer", "--network", "rn", &img, "sleep", "60"]);
    e.ok(&["exec", "peer", "ping", "-c", "1", "-W", "2", "old1"]);
    e.ok(&["rename", "old1", "new1"]);
    let o = e.run(&["exec", "peer", "ping", "-c", "1", "-W", "2", "new1"]);
    assert!(o.status.success(), "the new name does not resolve: {}", text(&o.stderr));
    assert!(!e.run(&["exec", "peer", "ping", "-c", "1", "-W", "1", "old1"]).status.success(), "the old name still resolves");
}

#[test]
fn api_wait_conditions_and_streamed_stats() {
    let e = Env::new();
    let img = e.busybox();
    let s = Service::start(&e, &[]);
    let curl = |args: &[&str], path: &str| {
        let mut c = Command::new("curl");
        c.args(["-s", "--unix-socket", s.socket.to_str().unwrap()]).args(args).arg(format!("http://bocker{path}"));
        c
    };
    // next-exit on a created container: answered once it has run and exited
    let (code, body) = post_json(&e, &s, "/containers/create?name=nx", &format!(r#"{{"Image":"{img}","Cmd":["sh","-c","sleep 1; exit 5"]}}"#));
    assert_eq!(code, 201, "{body}");
    let waiter = curl(&["-X", "POST"], "/containers/nx/wait?condition=next-exit").stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(request(&s, "POST", "/containers/nx/start", None).0, 204);
    let out = waiter.wait_with_output().unwrap();
    assert!(text(&out.stdout).contains("\"StatusCode\":5"), "{}", text(&out.stdout));
    // removed: an auto-removed container is waited for until it is gone
    let (code, body) = post_json(&e, &s, "/containers/create?name=rmme", &format!(r#"{{"Image":"{img}","Cmd":["sleep","1"],"HostConfig":{{"AutoRemove":true}}}}"#));
    assert_eq!(code, 201, "{body}");
    let waiter = curl(&["-X", "POST"], "/containers/rmme/wait?condition=removed").stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(request(&s, "POST", "/containers/rmme/start", None).0, 204);
    let out = waiter.wait_with_output().unwrap();
    assert!(text(&out.stdout).contains("\"StatusCode\":0"), "{}", text(&out.stdout));
    assert!(!e.run(&["inspect", "rmme"]).status.success(), "removed");
    // stats streams a sample a second, each with the one before as precpu
    e.ok(&["run", "-d", "--name", "busy", &img, "sh", "-c", "while :; do :; done"]);
    let out = curl(&["-m", "3"], "/containers/busy/stats").output().unwrap();
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON sample a line")).collect();
    assert!(lines.len() >= 2, "{} samples", lines.len());
    let (a, b) = (&lines[0], &lines[1]);
    assert_eq!(b["precpu_stats"]["cpu_usage"]["total_usage"], a["cpu_stats"]["cpu_usage"]["total_usage"]);
    assert!(b["cpu_stats"]["cpu_usage"]["total_usage"].as_u64() > a["cpu_stats"]["cpu_usage"]["total_usage"].as_u64(), "the busy loop used CPU");
}

#[test]
fn api_create_on_a_user_network_with_aliases_as_compose_sends_it() {
    let e = Env::new();
    let img = e.busybox();
    let s = Service::start(&e, &[]);
    e.ok(&["network", "create", "--subnet", &e.extra_subnet(2), "proj_default"]);
    let (code, body) = post_json(&e, &s, "/v1.41/containers/create?name=proj_web_1", &format!(
        r#"{{"Image":"{img}","Cmd":["sleep","300"],"Labels":{{"com.docker.compose.project":"proj"}},
            "HostConfig":{{"NetworkMode":"proj_default","Links":[],"VolumesFrom":[],"LogConfig":{{"Type":"","Config":{{}}}}}},
            "NetworkingConfig":{{"EndpointsConfig":{{"proj_default":{{"Aliases":["web"],"IPAMConfig":{{}}}}}}}}}}"#
    ));
    assert_eq!(code, 201, "{body}");
    assert_eq!(request(&s, "POST", "/containers/proj_web_1/start", None).0, 204);
    e.ok(&["run", "-d", "--name", "peer", "--network", "proj_default", &img, "sleep", "60"]);
    let o = e.run(&["exec", "peer", "ping", "-c", "1", "-W", "2", "web"]);
    assert!(o.status.success(), "the alias does not resolve: {}", text(&o.stderr));
    let j = s.json("/containers/proj_web_1/json");
    assert_eq!(j["HostConfig"]["NetworkMode"], "proj_default");
    assert!(j["NetworkSettings"]["Networks"]["proj_default"]["IPAddress"].as_str().is_some_and(|ip| !ip.is_empty()), "{j}");
    let l = s.json("/containers/json?filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3Dproj%22%5D%7D");
    assert_eq!(l.as_array().unwrap().len(), 1);
}

#[test]
fn cp_contents_of_a_directory_with_dot() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["run", "-d", "--name", "dot", &img, "sh", "-c", "mkdir -p /src/sub && echo a > /src/a && echo b > /src/sub/b && sleep 300"]);
    wait_for_file(&e, "dot", "/src/sub/b");
    let out = e.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // SRC/. into an existing folder: the contents, not the folder
    e.ok(&["cp", "dot:/src/.", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(out.join("a")).unwrap(), "a\n");
    assert_eq!(std::fs::read_to_string(out.join("sub/b")).unwrap(), "b\n");
    assert!(!out.join("src").exists());
    // a folder to a new name; and back in with /. into an existing folder
    let copy = e.dir.path().join("copy");
    e.ok(&["cp", "dot:/src", copy.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(copy.join("sub/b")).unwrap(), "b\n");
    e.ok(&["exec", "dot", "mkdir", "/dst"]);
    e.ok(&["cp", &format!("{}/.", out.display()), "dot:/dst"]);
    let back = e.dir.path().join("back");
    e.ok(&["cp", "dot:/dst/sub/b", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "b\n");
}
