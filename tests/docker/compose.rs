//! docker-compose 1.29 against bocker's API: a two-service project on a
//! user network, the second waiting for the first's health check
//! (depends_on: service_healthy); logs of both; down leaves nothing.
use super::Docker;
use crate::common::text;
use std::time::{Duration, Instant};

#[test]
fn compose_up_logs_down() {
    let d = Docker::new();
    let img = d.env.busybox();
    d.docker_ok(&["tag", &img, "bb:compose"]);
    let dir = d.env.dir.path().join("proj");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        r#"version: "2.4"
services:
  db:
    image: bb:compose
    command: ["sh", "-c", "echo db-ready; touch /tmp/ok; exec sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      timeout: 2s
      retries: 20
    networks: [back]
  web:
    image: bb:compose
    command: ["sh", "-c", "echo web-up; ping -c1 -W2 db >/dev/null && echo reached-db; exec sleep 300"]
    depends_on:
      db:
        condition: service_healthy
    networks: [back]
networks:
  back: {}
"#,
    )
    .unwrap();
    let compose = |args: &[&str]| {
        let o = d.compose_cmd(&dir, &[&["-p", "cproj"], args].concat()).output().expect("docker-compose");
        assert!(o.status.success(), "docker-compose {args:?}: {}\n{}", text(&o.stdout), text(&o.stderr));
        text(&o.stdout) + &text(&o.stderr)
    };
    compose(&["up", "-d"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = compose(&["logs", "--no-color"]);
        if logs.contains("db-ready") && logs.contains("reached-db") {
            break;
        }
        assert!(Instant::now() < deadline, "logs of both services: {logs}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let ps = compose(&["ps"]);
    assert!(ps.contains("cproj_db_1") && ps.contains("cproj_web_1"), "{ps}");
    assert!(ps.contains("(healthy)"), "{ps}");
    let nets = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(nets.lines().any(|l| l == "cproj_back"), "{nets}");

    compose(&["down", "-t", "1"]);
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty(), "containers left");
    let nets = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains("cproj"), "{nets}");
}
