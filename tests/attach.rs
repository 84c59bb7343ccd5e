//! Attaching: the monitor's attach socket (bocker attach, run -a, start
//! -a -i, detach keys), and the API's hijacked connections (attach,
//! exec) spoken to with a raw HTTP client, as Docker's clients do.
mod common;
use common::service::Service;
use common::{text, Env};
use std::io::{BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child killed (and reaped) when the test ends, failed or not.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(mut c: Command) -> Kill {
    Kill(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn"))
}

/// Reads lines from `r` until one contains `want` (or the time is up).
fn read_until(r: &mut dyn BufRead, want: &str, within: Duration) -> String {
    let end = Instant::now() + within;
    let mut seen = String::new();
    while Instant::now() < end {
        let mut l = String::new();
        match r.read_line(&mut l) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                seen.push_str(&l);
                if l.contains(want) {
                    return seen;
                }
            }
        }
    }
    panic!("{want:?} did not come; got {seen:?}");
}

fn wait_exit(c: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Ok(Some(st)) = c.try_wait() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn attach_follows_a_detached_container_on_both_streams_and_two_clients_at_once() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", &img, "sh", "-c", "i=0; while true; do i=$((i+1)); echo out $i; echo err $i >&2; sleep 0.1; done"]);
    let id = id.trim();
    let mut a = spawn(e.cmd(&["attach", "--sig-proxy=false", id]));
    let mut b = spawn(e.cmd(&["attach", "--sig-proxy=false", id]));
    for k in [&mut a, &mut b] {
        let mut out = std::io::BufReader::new(k.0.stdout.take().unwrap());
        let mut err = std::io::BufReader::new(k.0.stderr.take().unwrap());
        let o = read_until(&mut out, "out 3", Duration::from_secs(10));
        assert!(!o.contains("err"), "stderr lines on stdout: {o}");
        let r = read_until(&mut err, "err", Duration::from_secs(10));
        assert!(!r.contains("out"), "stdout lines on stderr: {r}");
    }
    // still logged
    let logs = e.ok(&["logs", id]);
    assert!(logs.contains("out 3"), "{logs}");
    drop((a, b));
    assert!(e.ok(&["ps", "-q"]).contains(id), "the container still runs after its clients left");
    e.ok(&["rm", "-f", id]);
}

#[test]
fn attach_ends_with_the_container_and_gives_its_status() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", &img, "sh", "-c", "sleep 1; echo bye; exit 7"]);
    let o = e.run(&["attach", id.trim()]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "bye\n");
    // a stopped container: refused as Docker's CLI does
    let o = e.run(&["attach", id.trim()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("You cannot attach to a stopped container"), "{}", text(&o.stderr));
}

#[test]
fn run_attach_picks_streams_feeds_stdin_and_passes_the_status_on() {
    let e = Env::new();
    let img = e.busybox();
    let o = e.run(&["run", "--rm", "-a", "stdout", &img, "sh", "-c", "echo to-out; echo to-err >&2; exit 4"]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(text(&o.stdout), "to-out\n");
    assert!(!text(&o.stderr).contains("to-err"), "{}", text(&o.stderr));
    // the first bytes of a process that ends at once are not lost
    for i in 0..5 {
        let o = e.run(&["run", "--rm", "-a", "stdout", "-a", "stderr", &img, "echo", &format!("hi{i}")]);
        assert_eq!(text(&o.stdout), format!("hi{i}\n"));
    }
    let mut c = e.cmd(&["run", "--rm", "-i", "-a", "stdin", "-a", "stdout", &img, "sh", "-c", "cat; echo end"]);
    let mut ch = c.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    ch.stdin.take().unwrap().write_all(b"piped in\n").unwrap();
    let o = ch.wait_with_output().unwrap();
    assert_eq!(text(&o.stdout), "piped in\nend\n", "stdin ends the container's (stdin_once)");
    let o = e.run(&["run", "--rm", "-a", "stdout", &img, "nosuchcommand"]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o.stderr));
    let o = e.run(&["run", "-d", "-a", "stdout", &img, "true"]);
    assert_eq!(o.status.code(), Some(125));
    let o = e.run(&["run", "--rm", "-a", "stdfoo", &img, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("valid streams"), "{}", text(&o.stderr));
}

#[test]
fn stdin_of_a_detached_interactive_container_and_the_detach_keys() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "-i", &img, "sh", "-c", "while read x; do echo got $x; done"]);
    let id = id.trim();
    let mut c = e.cmd(&["attach", "--detach-keys", "ctrl-x,x", id]);
    let mut ch = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = ch.stdin.take().unwrap();
    input.write_all(b"one\n").unwrap();
    let mut out = std::io::BufReader::new(ch.stdout.take().unwrap());
    read_until(&mut out, "got one", Duration::from_secs(10));
    // a held ctrl-x that is not followed by x goes on
    input.write_all(b"t\x18wo\n\x18x").unwrap();
    let st = wait_exit(&mut ch, Duration::from_secs(10)).expect("the detach keys end attach");
    assert_eq!(st.code(), Some(0));
    let logs = e.ok(&["logs", id]);
    assert!(logs.contains("got t\u{18}wo"), "{logs:?}");
    assert!(e.ok(&["ps", "-q"]).contains(id), "detached, still running");
    // the stdin of a container run with -d -i stays open for the next client
    let mut c = e.cmd(&["attach", "--detach-keys", "ctrl-x,x", id]);
    let mut ch = Kill(c.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap());
    ch.0.stdin.as_mut().unwrap().write_all(b"three\n").unwrap();
    let mut out = std::io::BufReader::new(ch.0.stdout.take().unwrap());
    read_until(&mut out, "got three", Duration::from_secs(10));
    e.ok(&["rm", "-f", id]);
}

#[test]
fn start_attached_with_stdin() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["create", "-i", &img, "sh", "-c", "read x; echo got $x; exit 3"]);
    let mut c = e.cmd(&["start", "-a", "-i", id.trim()]);
    let mut ch = c.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    ch.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let o = ch.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(text(&o.stdout), "got hello\n");
}

/// A raw HTTP/1.1 request on the service's socket; the response head
/// (status line and headers), and the stream for what follows.
fn request(svc: &Service, method: &str, path: &str, headers: &[&str], body: &str) -> (String, UnixStream) {
    let mut s = UnixStream::connect(&svc.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: bocker\r\nContent-Length: {}\r\n", body.len());
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "the head ended early: {}", String::from_utf8_lossy(&head));
        head.push(b[0]);
    }
    (String::from_utf8_lossy(&head).into_owned(), s)
}

/// Docker's multiplexed frames until EOF: (stream, data).
fn frames(s: &mut UnixStream) -> Vec<(u8, String)> {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= all.len() {
        let n = u32::from_be_bytes([all[i + 4], all[i + 5], all[i + 6], all[i + 7]]) as usize;
        out.push((all[i], String::from_utf8_lossy(&all[i + 8..i + 8 + n]).into_owned()));
        i += 8 + n;
    }
    assert_eq!(i, all.len(), "a torn frame: {all:?}");
    out
}

fn joined(f: &[(u8, String)], stream: u8) -> String {
    f.iter().filter(|(s, _)| *s == stream).map(|(_, d)| d.as_str()).collect()
}

const UPGRADE: &[&str] = &["Connection: Upgrade", "Upgrade: tcp", "Content-Type: text/plain"];

#[test]
fn api_attach_hijacks_waits_for_the_start_and_frames_the_streams() {
    let e = Env::new();
    let img = e.busybox();
    let svc = Service::start(&e, &[]);
    let id = e.ok(&["create", &img, "sh", "-c", "echo early; echo warn >&2; exit 2"]);
    let id = id.trim();
    let (head, mut s) = request(&svc, "POST", &format!("/v1.41/containers/{id}/attach?stream=1&stdout=1&stderr=1"), UPGRADE, "");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("upgrade: tcp"), "{head}");
    assert!(head.contains("application/vnd.docker.multiplexed-stream"), "{head}");
    // attached before the start: not a byte is missed
    e.ok(&["start", id]);
    let f = frames(&mut s);
    assert_eq!(joined(&f, 1), "early\n", "{f:?}");
    assert_eq!(joined(&f, 2), "warn\n", "{f:?}");
    assert!(f.iter().all(|(s, _)| *s == 1 || *s == 2), "only stdout and stderr frames reach the client: {f:?}");
    // logs=1 on a stopped container: the log, then the end
    let (head, mut s) = request(&svc, "POST", &format!("/containers/{id}/attach?logs=1&stdout=1&stderr=1"), UPGRADE, "");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let f = frames(&mut s);
    assert!(f.iter().map(|(_, d)| d.as_str()).collect::<String>().contains("early"), "{f:?}");
    // no stream or logs: a bad request; an unknown container: 404
    let (code, body) = svc.curl("POST", &format!("/containers/{id}/attach?stdout=1"));
    assert_eq!(code, 400, "{body}");
    let (code, _) = svc.curl("POST", "/containers/nosuch/attach?stream=1");
    assert_eq!(code, 404);
}

#[test]
fn api_attach_without_upgrade_streams_and_with_a_tty_is_raw() {
    let e = Env::new();
    let img = e.busybox();
    let svc = Service::start(&e, &[]);
    let id = e.ok(&["run", "-d", "-t", &img, "sh", "-c", "sleep 1; echo from-tty; sleep 1"]);
    let id = id.trim();
    // a client that does not ask to upgrade gets the output as a streamed body
    let out = Command::new("curl")
        .args(["-s", "-N", "-X", "POST", "--unix-socket", svc.socket.to_str().unwrap(), "-D", "-"])
        .arg(format!("http://bocker/containers/{id}/attach?stream=1&stdout=1"))
        .output()
        .unwrap();
    let out = text(&out.stdout);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("application/vnd.docker.raw-stream"), "{out}");
    // a terminal's output is raw: no frame headers
    assert!(out.contains("from-tty\r\n"), "{out:?}");
    e.ok(&["rm", "-f", id]);
}

#[test]
fn api_exec_runs_on_the_connection_and_records_its_exit() {
    let e = Env::new();
    let img = e.busybox();
    let svc = Service::start(&e, &[]);
    let id = e.ok(&["run", "-d", &img, "sleep", "60"]);
    let id = id.trim();
    let body = r#"{"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Cmd":["sh","-c","read x; echo got $x; echo bad >&2; exit 5"],"Env":["A=1"]}"#;
    let (head, mut s) = request(&svc, "POST", &format!("/v1.41/containers/{id}/exec"), &["Content-Type: application/json"], body);
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let mut resp = String::new();
    // the body of a whole answer: read what its Content-Length says
    let len: usize = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())).unwrap();
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).unwrap();
    resp.push_str(&String::from_utf8_lossy(&buf));
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    let exec = v["Id"].as_str().unwrap().to_string();
    assert_eq!(exec.len(), 64);
    let before = svc.json(&format!("/exec/{exec}/json"));
    assert_eq!(before["Running"], false);
    assert_eq!(before["ContainerID"], id);
    let (head, mut s) = request(&svc, "POST", &format!("/exec/{exec}/start"), &["Connection: Upgrade", "Upgrade: tcp", "Content-Type: application/json"], r#"{"Detach":false,"Tty":false}"#);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s.write_all(b"hello\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let f = frames(&mut s);
    assert_eq!(joined(&f, 1), "got hello\n", "{f:?}");
    assert_eq!(joined(&f, 2), "bad\n", "{f:?}");
    let after = svc.json(&format!("/exec/{exec}/json"));
    assert_eq!(after["Running"], false, "{after}");
    assert_eq!(after["ExitCode"], 5, "{after}");
    assert!(after["Pid"].as_i64().unwrap() > 0, "{after}");
    // an exec runs once; an unknown one is 404; a resize of no terminal is 404
    let (code, _) = svc.curl("POST", &format!("/exec/{exec}/start"));
    assert_eq!(code, 409);
    let (code, _) = svc.curl("GET", &format!("/exec/{}/json", "0".repeat(64)));
    assert_eq!(code, 404);
    let (code, _) = svc.curl("GET", "/exec/..%2F..%2Fetc/json");
    assert_eq!(code, 404);
    // a detached exec: recorded when it ends
    let (code, body) = svc_post_json(&svc, &format!("/containers/{id}/exec"), r#"{"Cmd":["sh","-c","exit 9"]}"#);
    assert_eq!(code, 201, "{body}");
    let exec: serde_json::Value = serde_json::from_str(&body).unwrap();
    let exec = exec["Id"].as_str().unwrap();
    let (code, body) = svc_post_json(&svc, &format!("/exec/{exec}/start"), r#"{"Detach":true}"#);
    assert_eq!(code, 200, "{body}");
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let j = svc.json(&format!("/exec/{exec}/json"));
        if j["ExitCode"] == 9 {
            assert_eq!(j["Running"], false);
            break;
        }
        assert!(Instant::now() < end, "{j}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // privileged execs are not something bocker does
    let (code, body) = svc_post_json(&svc, &format!("/containers/{id}/exec"), r#"{"Cmd":["true"],"Privileged":true}"#);
    assert_eq!(code, 400, "{body}");
    // the records go with the container
    e.ok(&["rm", "-f", id]);
    let (code, _) = svc.curl("GET", &format!("/exec/{exec}/json"));
    assert_eq!(code, 404);
}

fn svc_post_json(svc: &Service, path: &str, body: &str) -> (u16, String) {
    let o = Command::new("curl")
        .args(["-s", "-X", "POST", "--unix-socket", svc.socket.to_str().unwrap(), "-H", "Content-Type: application/json", "-d", body, "-w", "\n%{http_code}"])
        .arg(format!("http://bocker{path}"))
        .output()
        .unwrap();
    let out = text(&o.stdout);
    let (b, code) = out.rsplit_once('\n').unwrap_or(("", &out));
    (code.trim().parse().unwrap_or(0), b.to_string())
}

#[test]
fn the_attach_socket_refuses_what_a_client_should_not_send() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", &img, "sh", "-c", "while true; do echo tick; sleep 0.2; done"]);
    let id = id.trim();
    let sock = e.root().join("containers").join(id).join("attach.sock");
    // a request line that never ends, and garbage: the monitor drops them
    let mut long = UnixStream::connect(&sock).expect("the monitor listens");
    let _ = long.write_all(&vec![b'x'; 64 * 1024]);
    let mut junk = UnixStream::connect(&sock).unwrap();
    junk.write_all(b"{\"req\":\"attach\",\"stdin\":true,\"stdout\":true,\"stderr\":true,\"extra\":1}\n").unwrap();
    junk.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 16];
    assert_eq!(junk.read(&mut b).unwrap_or(0), 0, "an unknown key in the request is refused");
    // names in the wait folder that are not the attachers' are left alone
    let wait = e.root().join("containers").join(id).join("attach.wait");
    std::fs::create_dir_all(&wait).unwrap();
    std::fs::write(wait.join("..evil.ioe.sock"), "").unwrap();
    // the container goes on, and a good client still gets its output
    let mut c = spawn(e.cmd(&["attach", "--sig-proxy=false", id]));
    let mut out = std::io::BufReader::new(c.0.stdout.take().unwrap());
    read_until(&mut out, "tick", Duration::from_secs(10));
    drop(c);
    e.ok(&["rm", "-f", id]);
    assert!(!sock.exists());
}

#[test]
fn exec_d_runs_in_the_background() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", &img, "sleep", "60"]);
    let id = id.trim();
    let t = Instant::now();
    e.ok(&["exec", "-d", id, "sh", "-c", "sleep 1; echo done > /tmp/bg"]);
    assert!(t.elapsed() < Duration::from_secs(1), "exec -d returns at once");
    let end = Instant::now() + Duration::from_secs(10);
    while e.run(&["exec", id, "cat", "/tmp/bg"]).stdout != b"done\n" {
        assert!(Instant::now() < end, "the background command did not run");
        std::thread::sleep(Duration::from_millis(100));
    }
    e.ok(&["rm", "-f", id]);
}

#[test]
fn attach_in_a_terminal_follows_its_size_and_detaches_with_ctrl_p_ctrl_q() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "-i", "-t", &img, "sh"]);
    let id = id.trim();
    // `script` gives attach a pty of its own, as a user's terminal
    let probe = e.cmd(&[]);
    let mut c = Command::new("script");
    c.args(["-qfec", &format!("stty cols 90 rows 20; {} attach {id}", common::bin()), "/dev/null"]);
    for (k, v) in probe.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let mut ch = Kill(c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("script (util-linux)"));
    let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (o2, mut r) = (out.clone(), ch.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        while let Ok(n) = r.read(&mut b) {
            if n == 0 {
                break;
            }
            o2.lock().unwrap().push_str(&String::from_utf8_lossy(&b[..n]));
        }
    });
    let wait_for = |want: &str| {
        let end = Instant::now() + Duration::from_secs(10);
        while !out.lock().unwrap().contains(want) {
            assert!(Instant::now() < end, "{want:?} did not come: {:?}", out.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    let input = ch.0.stdin.as_mut().unwrap();
    input.write_all(b"echo in-$((3*4)); stty size\n").unwrap();
    wait_for("in-12");
    wait_for("20 90");
    input.write_all(b"\x10\x11").unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = ch.0.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < end, "ctrl-p ctrl-q did not detach: {:?}", out.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.code(), Some(0));
    assert!(e.ok(&["ps", "-q"]).contains(id), "still running after the detach");
    e.ok(&["rm", "-f", id]);
}

/// CPU ticks (user + system) a process has used.
fn cpu_ticks(pid: i64) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn clients_that_leave_a_quiet_container_cost_its_monitor_nothing() {
    let e = Env::new();
    let img = e.busybox();
    let id = e.ok(&["run", "-d", "-i", &img, "sleep", "60"]);
    let id = id.trim();
    let sock = e.root().join("containers").join(id).join("attach.sock");
    // one attached for output only, one for stdin too; both hang up
    for req in [&b"{\"req\":\"attach\",\"stdin\":false,\"stdout\":true,\"stderr\":true}\n"[..], &b"{\"req\":\"attach\",\"stdin\":true,\"stdout\":true,\"stderr\":true}\nabc"[..]] {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.write_all(req).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", id])).unwrap();
    let st = if v.is_array() { &v[0] } else { &v };
    let monitor = st["state"]["monitor_pid"].as_i64().or_else(|| st["Bocker"]["state"]["monitor_pid"].as_i64()).expect("the monitor's pid in inspect");
    let before = cpu_ticks(monitor);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(monitor) - before;
    assert!(used <= 5, "the monitor spun for {used} ticks in a second");
    e.ok(&["rm", "-f", id]);
}
