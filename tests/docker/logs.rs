//! `docker logs` against bocker: stdout and stderr kept apart, `-f` while
//! the container writes, `--timestamps`, `--since`, `--tail`; a container
//! with a terminal streams raw; the frames themselves; docker-py's logs.
use super::Docker;
use crate::common::text;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_exit(d: &Docker, id: &str) {
    let o = d.env.run(&["wait", id]);
    assert!(o.status.success(), "wait: {}", text(&o.stderr));
}

/// The status and raw body of a GET on the service.
fn raw_get(d: &Docker, path: &str) -> (u16, Vec<u8>) {
    let (code, _, body) = raw_get_head(d, path);
    (code, body)
}

/// The status, head and raw body of a GET on the service.
fn raw_get_head(d: &Docker, path: &str) -> (u16, String, Vec<u8>) {
    let o = Command::new("curl")
        .args(["-s", "--unix-socket", d.service.socket.to_str().unwrap(), "-D", "/dev/stderr"])
        .arg(format!("http://bocker{path}"))
        .output()
        .expect("curl");
    let head = text(&o.stderr);
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, head.to_lowercase(), o.stdout)
}

#[test]
fn docker_logs_keeps_streams_apart_with_tail_timestamps_and_since() {
    let d = Docker::new();
    let img = d.env.busybox();
    let id = d.bocker_ok(&["run", "-d", &img, "sh", "-c", "echo out1; sleep 0.2; echo err1 >&2; sleep 1.2; echo out2"]).trim().to_string();
    wait_exit(&d, &id);
    let o = d.docker(&["logs", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "out1\nout2\n");
    assert_eq!(text(&o.stderr), "err1\n");

    let o = d.docker(&["logs", "--tail", "1", &id]);
    assert_eq!((text(&o.stdout), text(&o.stderr)), ("out2\n".to_string(), String::new()));

    let o = d.docker(&["logs", "-t", &id]);
    let out = text(&o.stdout);
    let stamped: Vec<(&str, &str)> = out.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert_eq!(stamped.iter().map(|(_, l)| *l).collect::<Vec<_>>(), ["out1", "out2"]);
    assert!(stamped.iter().all(|(t, _)| t.len() == 30 && t.ends_with('Z')), "{out}");
    // --since the time of the last line (the CLI sends it as Unix seconds)
    let o = d.docker(&["logs", "--since", stamped[1].0, &id]);
    assert_eq!((text(&o.stdout), text(&o.stderr)), ("out2\n".to_string(), String::new()));
    assert_eq!(d.docker_ok(&["logs", "--since", "1h", &id]), "out1\nout2\n");
    assert_eq!(d.docker_ok(&["logs", "--until", "1h", &id]), "");

    let o = d.docker(&["logs", "nosuch"]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("No such container"), "{}", text(&o.stderr));
}

#[test]
fn docker_logs_follows_while_the_container_writes() {
    let d = Docker::new();
    let img = d.env.busybox();
    let id = d.bocker_ok(&["run", "-d", &img, "sh", "-c", "echo first; sleep 2; echo second >&2; sleep 0.5; echo third"]).trim().to_string();
    let t0 = Instant::now();
    let mut child = d.docker_cmd(&["logs", "-f", &id]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    assert!(t0.elapsed() < Duration::from_millis(1800), "the first line came while the container ran: {:?}", t0.elapsed());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(rest, "third\n");
    assert_eq!(text(&o.stderr), "second\n");
    assert!(t0.elapsed() >= Duration::from_secs(2), "followed to the end");
}

#[test]
fn frames_raw_streams_and_errors() {
    let d = Docker::new();
    let img = d.env.busybox();
    let id = d.bocker_ok(&["run", "-d", &img, "sh", "-c", "echo hi; sleep 0.2; echo oops >&2"]).trim().to_string();
    wait_exit(&d, &id);
    let (code, head, body) = raw_get_head(&d, &format!("/v1.41/containers/{id}/logs?stdout=1&stderr=1"));
    assert_eq!(code, 200);
    // the type names the framing from API 1.42 on, as Docker's does
    assert!(head.contains("content-type: application/vnd.docker.raw-stream"), "{head}");
    let (_, head, same) = raw_get_head(&d, &format!("/v1.42/containers/{id}/logs?stdout=1&stderr=1"));
    assert!(head.contains("content-type: application/vnd.docker.multiplexed-stream"), "{head}");
    assert_eq!(same, body);
    let mut want = vec![1u8, 0, 0, 0, 0, 0, 0, 3];
    want.extend_from_slice(b"hi\n");
    want.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 5]);
    want.extend_from_slice(b"oops\n");
    assert_eq!(body, want);
    let (_, only_err) = raw_get(&d, &format!("/containers/{id}/logs?stderr=1"));
    assert_eq!(only_err, want[11..].to_vec());
    let (code, body) = raw_get(&d, &format!("/containers/{id}/logs"));
    assert_eq!(code, 400, "{}", text(&body));
    let (code, _) = raw_get(&d, "/containers/nosuch/logs?stdout=1");
    assert_eq!(code, 404);
    let (code, _) = raw_get(&d, &format!("/containers/{id}/logs?stdout=1&since=yesterday"));
    assert_eq!(code, 400);

    // with a terminal: one raw stream, as the container's tty wrote it
    let tty = d.bocker_ok(&["run", "-d", "-t", &img, "sh", "-c", "echo on a tty"]).trim().to_string();
    wait_exit(&d, &tty);
    let (code, body) = raw_get(&d, &format!("/containers/{tty}/logs?stdout=1&stderr=1"));
    assert_eq!((code, text(&body)), (200, "on a tty\r\n".to_string()));
    assert_eq!(d.docker_ok(&["logs", &tty]), "on a tty\r\n");
}

#[test]
fn docker_py_reads_logs() {
    let d = Docker::new();
    let img = d.env.busybox();
    let id = d.bocker_ok(&["run", "-d", &img, "sh", "-c", "echo py-out; sleep 0.2; echo py-err >&2"]).trim().to_string();
    wait_exit(&d, &id);
    let script = format!(
        r#"
import docker
c = docker.from_env().containers.get("{id}")
print(repr(c.logs(stdout=True, stderr=False)))
print(repr(c.logs(stdout=False, stderr=True)))
print(repr(b"".join(c.logs(stream=True, timestamps=False))))
print(repr(c.logs(tail=1)))
"#
    );
    let o = d.python_cmd(&script).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "b'py-out\\n'\nb'py-err\\n'\nb'py-out\\npy-err\\n'\nb'py-err\\n'\n");
}

#[test]
fn docker_inspect_shows_the_log_config() {
    let d = Docker::new();
    let img = d.env.busybox();
    let id = d.bocker_ok(&["create", "--log-driver", "local", "--log-opt", "max-size=5m", "--log-opt", "max-file=2", &img, "true"]).trim().to_string();
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}} {{index .HostConfig.LogConfig.Config \"max-file\"}}", &id]).trim(), "local 5m 2");
    let plain = d.bocker_ok(&["create", &img, "true"]).trim().to_string();
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.HostConfig.LogConfig.Type}}", &plain]).trim(), "json-file");
}
