//! Attaching with Docker's own CLI: `docker attach`, `docker exec` (with
//! and without a terminal), `docker run` attached (output, exit code,
//! `-it` through a pty) and `docker start -a`.
use super::Docker;
use crate::common::text;
use std::io::{BufRead, Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A child killed (and reaped) when the test ends, failed or not.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads `r` on a thread; the text so far is in the returned buffer.
fn collect(mut r: impl Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<String>> {
    let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let b = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buf
}

fn wait_for(buf: &std::sync::Mutex<String>, want: &str, within: Duration) {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if buf.lock().unwrap().contains(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{want:?} did not come; got {:?}", buf.lock().unwrap());
}

/// `script` gives the command a pty of its own (as a user's terminal):
/// the session's output, and its stdin to type into.
fn in_a_pty(d: &Docker, shell: &str) -> (Kill, std::sync::Arc<std::sync::Mutex<String>>) {
    let docker = super::clients_dir().join("docker/bin/docker");
    let line = shell.replace("DOCKER", &docker.display().to_string());
    let mut c = std::process::Command::new("script");
    c.args(["-qfec", &line, "/dev/null"]);
    let probe = d.docker_cmd(&[]);
    for (k, v) in probe.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let mut ch = Kill(c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("script (util-linux)"));
    let out = collect(ch.0.stdout.take().unwrap());
    (ch, out)
}

fn wait_exit(c: &mut Child, within: Duration) -> Option<i32> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Ok(Some(st)) = c.try_wait() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn docker_attach_follows_a_running_container() {
    let d = Docker::new();
    let img = d.env.busybox();
    d.bocker_ok(&["run", "-d", "--name", "ticker", &img, "sh", "-c", "i=0; while true; do i=$((i+1)); echo out $i; echo err $i >&2; sleep 0.1; done"]);
    let mut c = d.docker_cmd(&["attach", "--sig-proxy=false", "ticker"]);
    let mut ch = Kill(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    let out = collect(ch.0.stdout.take().unwrap());
    let err = collect(ch.0.stderr.take().unwrap());
    wait_for(&out, "out 3", Duration::from_secs(15));
    wait_for(&err, "err 3", Duration::from_secs(15));
    assert!(!out.lock().unwrap().contains("err"), "streams kept apart: {:?}", out.lock().unwrap());
    drop(ch);
    d.bocker_ok(&["rm", "-f", "ticker"]);
}

#[test]
fn docker_exec_keeps_streams_apart_feeds_stdin_and_passes_the_status() {
    let d = Docker::new();
    let img = d.env.busybox();
    d.bocker_ok(&["run", "-d", "--name", "box", &img, "sleep", "60"]);
    let o = d.docker(&["exec", "-e", "X=fromexec", "box", "sh", "-c", "echo $X; echo oops >&2; exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "fromexec\n");
    assert_eq!(text(&o.stderr), "oops\n");
    let mut c = d.docker_cmd(&["exec", "-i", "box", "sh", "-c", "cat; echo done"]);
    let mut ch = c.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    ch.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let o = ch.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(text(&o.stdout), "piped\ndone\n");
    let o = d.docker(&["exec", "-d", "box", "sh", "-c", "echo bg > /tmp/bg"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let end = Instant::now() + Duration::from_secs(10);
    while d.docker(&["exec", "box", "cat", "/tmp/bg"]).stdout != b"bg\n" {
        assert!(Instant::now() < end, "exec -d did not run");
        std::thread::sleep(Duration::from_millis(100));
    }
    d.bocker_ok(&["rm", "-f", "box"]);
}

#[test]
fn docker_exec_it_through_a_pty_follows_its_size() {
    let d = Docker::new();
    let img = d.env.busybox();
    d.bocker_ok(&["run", "-d", "--name", "tty", &img, "sleep", "60"]);
    let (mut ch, out) = in_a_pty(&d, "stty cols 100 rows 30; DOCKER exec -it tty sh");
    wait_for(&out, "# ", Duration::from_secs(15));
    let input = ch.0.stdin.as_mut().unwrap();
    input.write_all(b"echo inside-$((6*7)); stty size\n").unwrap();
    wait_for(&out, "inside-42", Duration::from_secs(10));
    wait_for(&out, "30 100", Duration::from_secs(10));
    input.write_all(b"exit 5\n").unwrap();
    assert_eq!(wait_exit(&mut ch.0, Duration::from_secs(15)), Some(5), "{:?}", out.lock().unwrap());
    d.bocker_ok(&["rm", "-f", "tty"]);
}

#[test]
fn docker_run_attached_shows_output_and_passes_the_exit_code() {
    let d = Docker::new();
    // a NAME:TAG, as Docker users give (the CLI adds :latest to a bare name)
    let id = d.env.busybox();
    d.bocker_ok(&["tag", &id, "attachbox:latest"]);
    let img = "attachbox:latest";
    let out = d.docker_ok(&["run", "--rm", img, "echo", "hi"]);
    assert_eq!(out, "hi\n");
    let o = d.docker(&["run", img, "sh", "-c", "echo err >&2; exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "err\n");
    let mut c = d.docker_cmd(&["run", "--rm", "-i", img, "sh", "-c", "cat; echo end"]);
    let mut ch = c.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    ch.stdin.take().unwrap().write_all(b"in\n").unwrap();
    let o = ch.wait_with_output().unwrap();
    assert_eq!(text(&o.stdout), "in\nend\n");
}

#[test]
fn docker_run_it_through_a_pty_and_its_detach_keys() {
    let d = Docker::new();
    // a NAME:TAG, as Docker users give (the CLI adds :latest to a bare name)
    let id = d.env.busybox();
    d.bocker_ok(&["tag", &id, "attachbox:latest"]);
    let img = "attachbox:latest";
    let (mut ch, out) = in_a_pty(&d, &format!("DOCKER run -it --name itc {img} sh"));
    wait_for(&out, "# ", Duration::from_secs(15));
    ch.0.stdin.as_mut().unwrap().write_all(b"echo typed-$((2+3))\n").unwrap();
    wait_for(&out, "typed-5", Duration::from_secs(10));
    // ctrl-p ctrl-q: the client leaves, the container runs on
    ch.0.stdin.as_mut().unwrap().write_all(b"\x10\x11").unwrap();
    assert_eq!(wait_exit(&mut ch.0, Duration::from_secs(15)), Some(0), "{:?}", out.lock().unwrap());
    let running = d.docker_ok(&["ps", "--format", "{{.Names}}"]);
    assert!(running.contains("itc"), "{running}");
    d.bocker_ok(&["rm", "-f", "itc"]);
}

#[test]
fn docker_start_a_attaches_to_a_created_container() {
    let d = Docker::new();
    // a NAME:TAG, as Docker users give (the CLI adds :latest to a bare name)
    let id = d.env.busybox();
    d.bocker_ok(&["tag", &id, "attachbox:latest"]);
    let img = "attachbox:latest";
    let c = d.docker_ok(&["create", img, "sh", "-c", "echo started; exit 6"]);
    let o = d.docker(&["start", "-a", c.trim()]);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "started\n");
    let mut lines = std::io::BufReader::new(&o.stdout[..]).lines();
    assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("started"));
}

#[test]
fn docker_py_exec_run_demuxes_and_gives_the_exit_code() {
    let d = Docker::new();
    let img = d.env.busybox();
    d.bocker_ok(&["run", "-d", "--name", "pybox", &img, "sleep", "60"]);
    let script = r#"
import docker
c = docker.from_env().containers.get("pybox")
r = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 4"])
print(r.exit_code, repr(r.output))
r = c.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
print(r.exit_code, repr(r.output))
s = c.attach(stdout=True, stderr=True, stream=False, logs=True)
print(repr(s))
"#;
    let o = d.python_cmd(script).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "4 b'out\\nerr\\n'", "{out}");
    assert_eq!(lines[1], "0 (b'out\\n', b'err\\n')", "{out}");
    assert_eq!(lines[2], "b''", "logs of a silent container: {out}");
    d.bocker_ok(&["rm", "-f", "pybox"]);
}
