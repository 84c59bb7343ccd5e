//! Supervision by the monitor on the real kernel: restart policies (the
//! count, backoff, a user's stop, `start --restartable`), health checks,
//! `--init`, stop signals, labels and `ps --filter`, events.
mod common;
use common::{text, Env};
use std::time::{Duration, Instant};

fn inspect(e: &Env, name: &str) -> serde_json::Value {
    let out = e.ok(&["inspect", "--bocker", name]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|err| panic!("inspect {name}: {err}: {out}"));
    v[0].clone()
}

/// Polls `cond` every 50 ms for up to `secs`; true once it held.
fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

fn status_of(e: &Env, name: &str) -> String {
    inspect(e, name)["state"]["status"].as_str().unwrap_or_default().to_string()
}

/// The `ps` line of container `name`.
fn ps_line(e: &Env, name: &str, extra: &[&str]) -> String {
    let mut args = vec!["ps"];
    args.extend_from_slice(extra);
    e.ok(&args).lines().find(|l| l.ends_with(name)).unwrap_or_default().to_string()
}

#[test]
fn on_failure_3_runs_a_failing_command_4_times() {
    let e = Env::new();
    let img = e.busybox();
    let vol = e.dir.path().join("count");
    std::fs::create_dir_all(&vol).unwrap();
    let bind = format!("{}:/v", vol.display());
    // on the test's bridge: each run sets up and releases its network
    e.ok(&["run", "-d", "--name", "of3", "--restart", "on-failure:3", "-v", &bind, &img, "sh", "-c", "ip -4 addr show eth0 | grep -q inet && echo run >> /v/runs; exit 3"]);
    // backoff 100 + 200 + 400 ms: exited for good within seconds
    assert!(wait_until(15, || status_of(&e, "of3") == "exited" && inspect(&e, "of3")["restart_count"] == 3), "{}", e.ok(&["inspect", "of3"]));
    std::thread::sleep(Duration::from_millis(800));
    let runs = std::fs::read_to_string(vol.join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 4, "runs: {runs:?}");
    let c = inspect(&e, "of3");
    assert_eq!((c["state"]["exit_code"].as_i64(), c["restart"].as_str()), (Some(3), Some("on-failure:3")));
    assert!(ps_line(&e, "of3", &[]).contains("Exited (3)"));
    let leases = std::path::Path::new("/run/bocker/net").join(e.bridge()).join("leases");
    let left: Vec<_> = std::fs::read_dir(&leases).map(|d| d.flatten().map(|f| f.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "addresses left leased: {left:?}");
    // --rm and a restart policy do not go together (as docker)
    let o = e.run(&["run", "--rm", "--restart", "always", &img, "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("Conflicting options"), "{}", text(&o.stderr));
    assert_eq!(e.run(&["run", "--restart", "sometimes", &img, "true"]).status.code(), Some(125));
}

#[test]
fn always_comes_back_stop_ends_it_and_boot_restarts_it() {
    let e = Env::new();
    let img = e.busybox();
    let looping = "trap 'exit 0' TERM; trap 'exit 1' HUP; while :; do sleep 0.1; done";
    e.ok(&["run", "-d", "--name", "al", "--network", "none", "--restart", "always", &img, "sh", "-c", looping]);
    let pid = inspect(&e, "al")["state"]["pid"].as_i64().unwrap() as i32;
    // killed from outside: the monitor runs it again
    // SAFETY: a plain kill of the container's process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    assert!(
        wait_until(10, || {
            let c = inspect(&e, "al");
            c["running"] == true && c["state"]["pid"].as_i64() != Some(pid as i64) && c["restart_count"] == 1
        }),
        "{}",
        e.ok(&["inspect", "al"])
    );
    assert!(ps_line(&e, "al", &[]).contains("Up "), "{}", e.ok(&["ps"]));
    // a non-fatal signal sent by `kill -s` keeps the policy (as docker):
    // sh (pid 1: only trapped signals reach it) exits on SIGHUP and comes back
    e.ok(&["kill", "-s", "HUP", "al"]);
    assert!(wait_until(10, || inspect(&e, "al")["restart_count"] == 2 && inspect(&e, "al")["running"] == true), "{}", e.ok(&["inspect", "al"]));
    // a stop by the user ends it for good
    e.ok(&["stop", "al"]);
    assert_eq!(status_of(&e, "al"), "exited");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(status_of(&e, "al"), "exited", "restarted after a user's stop");

    // unless-stopped: one stopped by the user, one whose monitor and
    // process died (as at a reboot)
    e.ok(&["run", "-d", "--name", "us-stopped", "--network", "none", "--restart", "unless-stopped", &img, "sh", "-c", looping]);
    e.ok(&["stop", "us-stopped"]);
    e.ok(&["run", "-d", "--name", "us-crashed", "--network", "none", "--restart", "unless-stopped", &img, "sh", "-c", looping]);
    e.ok(&["run", "-d", "--name", "plain", "--network", "none", &img, "sh", "-c", looping]);
    let st = &inspect(&e, "us-crashed")["state"];
    let (mon, pid) = (st["monitor_pid"].as_i64().unwrap() as i32, st["pid"].as_i64().unwrap() as i32);
    // SAFETY: plain kills of the monitor, then of the container's process.
    unsafe {
        libc::kill(mon, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
    assert!(wait_until(5, || status_of(&e, "us-crashed") == "exited"));
    e.ok(&["stop", "plain"]);
    let out = e.ok(&["start", "--restartable"]);
    let mut started: Vec<&str> = out.lines().collect();
    started.sort();
    assert_eq!(started, vec!["al", "us-crashed"], "{out}");
    assert!(inspect(&e, "al")["running"] == true && inspect(&e, "us-crashed")["running"] == true);
    assert_eq!(status_of(&e, "us-stopped"), "exited");
    assert_eq!(status_of(&e, "plain"), "exited");
    for n in ["al", "us-crashed"] {
        e.ok(&["rm", "-f", n]);
    }
}

#[test]
fn healthcheck_goes_starting_healthy_unhealthy() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&[
        "run", "-d", "--name", "hc", "--network", "none",
        "--health-cmd", "test -f /tmp/ok && echo fine",
        "--health-interval", "300ms", "--health-retries", "2", "--health-timeout", "5s", "--health-start-period", "30s",
        &img, "sh", "-c", "sleep 1.5; touch /tmp/ok; exec sleep 60",
    ]);
    // failures in the start period do not count: starting until the first success
    assert!(ps_line(&e, "hc", &[]).contains("(health: starting)"), "{}", e.ok(&["ps"]));
    assert!(wait_until(10, || ps_line(&e, "hc", &[]).contains("(healthy)")), "{}", e.ok(&["ps"]));
    let c = inspect(&e, "hc");
    assert_eq!(c["health"], "healthy");
    let log = c["state"]["health"]["log"].as_array().unwrap();
    assert_eq!(log.last().unwrap()["output"], "fine\n");
    assert_eq!(c["state"]["health"]["failing_streak"], 0);
    e.ok(&["exec", "hc", "rm", "/tmp/ok"]);
    assert!(wait_until(10, || ps_line(&e, "hc", &[]).contains("(unhealthy)")), "{}", e.ok(&["ps"]));
    let h = &inspect(&e, "hc")["state"]["health"];
    assert_eq!(h["status"], "unhealthy");
    assert!(h["failing_streak"].as_u64() >= Some(2), "{h}");
    let log = h["log"].as_array().unwrap();
    assert!(log.len() <= 5 && log.last().unwrap()["exit_code"] == 1, "{h}");
    assert_eq!(e.ok(&["ps", "-q", "--filter", "health=unhealthy"]).trim(), inspect(&e, "hc")["id"].as_str().unwrap());
    // Docker's shapes (the API's inspect): State.Health, Config.Healthcheck
    let script = e.dir.path().join("shape.lua");
    std::fs::write(&script, "local d = require('bocker.docker').container_inspect(bocker.container.get('hc'))\nprint(d.State.Health.Status, #d.State.Health.Log > 0, d.Config.Healthcheck.Test[1], d.Config.Healthcheck.Interval, d.HostConfig.RestartPolicy.Name)\n").unwrap();
    assert_eq!(e.ok(&["script", script.to_str().unwrap()]), "unhealthy\ttrue\tCMD-SHELL\t300000000\tno\n");
    let ev = e.ok(&["events", "--since", "0", "--until", "0s", "--filter", "event=health_status"]);
    let actions: Vec<&str> = ev.lines().filter_map(|l| l.split(" container ").nth(1)).map(|l| l.split(" ps_").next().unwrap()).collect();
    assert_eq!(actions, vec!["health_status: healthy", "health_status: unhealthy"], "{ev}");
    // --no-healthcheck: no health at all
    e.ok(&["run", "-d", "--name", "nohc", "--network", "none", "--no-healthcheck", &img, "sleep", "60"]);
    assert!(inspect(&e, "nohc")["health"].is_null());
}

#[test]
fn init_reaps_zombies_and_forwards_signals() {
    let e = Env::new();
    let img = e.busybox();
    // an orphan exits while pid 1 is a plain `sleep`: nobody reaps it
    // without --init
    let orphan = "sh -c 'sleep 0.1 &'; exec sleep 30";
    let zombies = |name: &str| e.ok(&["exec", name, "sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null | grep -c ') Z ' || true"]).trim().to_string();
    e.ok(&["run", "-d", "--name", "bare", "--network", "none", &img, "sh", "-c", orphan]);
    e.ok(&["run", "-d", "--name", "withinit", "--network", "none", "--init", &img, "sh", "-c", orphan]);
    assert!(wait_until(5, || zombies("bare") == "1"), "the control case has its zombie");
    // the same orphan under --init exits too (it started a moment later:
    // waited for as well, on a loaded machine), and is reaped
    let sleeps = || e.ok(&["exec", "withinit", "sh", "-c", "ps -o comm | grep -c '^sleep' || true"]).trim().to_string();
    assert!(wait_until(5, || sleeps() == "1"), "only the command's sleep is left: {} sleeps", sleeps());
    assert_eq!(zombies("withinit"), "0");
    let comm = e.ok(&["exec", "withinit", "cat", "/proc/1/comm"]);
    assert_eq!(comm.trim(), "bocker-init");
    // the stop signal reaches the command through the init, and its
    // status is the container's
    e.ok(&["run", "-d", "--name", "trap", "--network", "none", "--init", &img, "sh", "-c", "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done"]);
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    e.ok(&["stop", "trap"]);
    assert!(t.elapsed() < Duration::from_secs(8), "SIGTERM did not reach the command: {:?}", t.elapsed());
    assert_eq!(inspect(&e, "trap")["state"]["exit_code"], 7);
    assert_eq!(e.ok(&["logs", "trap"]), "got-term\n");
    e.ok(&["rm", "-f", "bare", "withinit"]);
}

#[test]
fn stop_signal_stop_timeout_and_image_stopsignal() {
    let e = Env::new();
    let img = e.busybox();
    let ctx = e.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), format!("FROM {img}\nSTOPSIGNAL SIGUSR2\nLABEL tier=img app=from-image\n")).unwrap();
    e.ok(&["build", "-t", "sig:1", ctx.to_str().unwrap()]);
    let trap = |sig: &str| format!("trap 'echo got-{sig}; exit 5' {sig}; while :; do sleep 0.1; done");
    e.ok(&["run", "-d", "--name", "flag", "--network", "none", "--stop-signal", "SIGUSR1", &img, "sh", "-c", &trap("USR1")]);
    e.ok(&["run", "-d", "--name", "image", "--network", "none", "sig:1", "sh", "-c", &trap("USR2")]);
    // pid 1 `sleep` ignores SIGTERM: killed after --stop-timeout, not 10 s
    e.ok(&["run", "-d", "--name", "deaf", "--network", "none", "--stop-timeout", "1", &img, "sleep", "60"]);
    std::thread::sleep(Duration::from_millis(300));
    for (name, sig) in [("flag", "USR1"), ("image", "USR2")] {
        e.ok(&["stop", name]);
        assert_eq!(e.ok(&["logs", name]), format!("got-{sig}\n"));
        assert_eq!(inspect(&e, name)["state"]["exit_code"], 5);
    }
    let t = Instant::now();
    e.ok(&["stop", "deaf"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(inspect(&e, "deaf")["state"]["exit_code"], 137);
    let o = e.run(&["run", "--stop-signal", "SIGBOGUS", &img, "true"]);
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn labels_and_ps_filters() {
    let e = Env::new();
    let img = e.busybox();
    let ctx = e.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), format!("FROM {img}\nLABEL tier=img app=from-image\n")).unwrap();
    e.ok(&["build", "-t", "lab:1", ctx.to_str().unwrap()]);
    let file = e.dir.path().join("labels");
    std::fs::write(&file, "# comment\nteam=core\n\nowner=ops\n").unwrap();
    e.ok(&["run", "-d", "--name", "web", "--network", "none", "-l", "app=web", "--label-file", file.to_str().unwrap(), "lab:1", "sleep", "60"]);
    e.ok(&["run", "--name", "job", "--network", "none", "--label", "app=job", &img, "true"]);
    let labels = &inspect(&e, "web")["labels"];
    assert_eq!(labels, &serde_json::json!({"app": "web", "tier": "img", "team": "core", "owner": "ops"}));
    let names = |f: &[&str]| {
        let mut args = vec!["ps", "--format", "json"];
        for x in f {
            args.extend(["--filter", x]);
        }
        let v: serde_json::Value = serde_json::from_str(&e.ok(&args)).unwrap();
        let mut n: Vec<String> = v.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&["label=app"]), vec!["job", "web"]);
    assert_eq!(names(&["label=app=web"]), vec!["web"]);
    assert_eq!(names(&["label=app=web", "label=tier=img"]), vec!["web"], "labels AND");
    assert!(names(&["label=app=job", "label=tier=img"]).is_empty());
    assert_eq!(names(&["status=exited"]), vec!["job"]);
    assert_eq!(names(&["status=running", "status=exited"]), vec!["job", "web"], "one key ORs");
    assert_eq!(names(&["status=running", "name=jo"]), Vec::<String>::new(), "keys AND");
    assert_eq!(names(&["name=we"]), vec!["web"]);
    let id = inspect(&e, "job")["id"].as_str().unwrap().to_string();
    let by_id = format!("id={}", &id[..6]);
    assert_eq!(names(&[by_id.as_str()]), vec!["job"]);
    let o = e.run(&["ps", "--filter", "colour=red"]);
    assert_eq!((o.status.code(), text(&o.stderr).trim()), (Some(1), "bocker ps: invalid filter 'colour'"));
    assert_eq!(e.run(&["ps", "--filter", "status=sleepy"]).status.code(), Some(1));
    assert_eq!(e.run(&["ps", "--filter", "nokey"]).status.code(), Some(125));
    // what a Lua verb sees
    let script = e.dir.path().join("rows.lua");
    std::fs::write(&script, "local c = bocker.container.get('web')\nprint(c.labels.team, c.restart, c.restart_count, c.health)\n").unwrap();
    assert_eq!(e.ok(&["script", script.to_str().unwrap()]), "core\tno\t0\tnil\n");
}

#[test]
fn events_show_start_and_die() {
    let e = Env::new();
    let img = e.busybox();
    let since = format!("{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 1);
    assert_eq!(e.run(&["run", "--name", "ev", "--network", "none", "-l", "k=v", &img, "sh", "-c", "exit 4"]).status.code(), Some(4));
    let id = inspect(&e, "ev")["id"].as_str().unwrap().to_string();
    let out = e.ok(&["events", "--since", &since, "--until", "0s"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].ends_with(&format!(" container create {id} (image={img}, k=v, name=ev)")), "{out}");
    assert!(lines[1].ends_with(&format!(" container start {id} (image={img}, k=v, name=ev)")), "{out}");
    assert!(lines[2].ends_with(&format!(" container die {id} (exitCode=4, image={img}, k=v, name=ev)")), "{out}");
    // RFC 3339 with nanoseconds, UTC
    let t = lines[0].split(' ').next().unwrap();
    assert!(t.len() == 30 && t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    // filters, and the Lua iterator
    assert_eq!(e.ok(&["events", "--since", &since, "--until", "0s", "--filter", "event=die"]).lines().count(), 1);
    assert_eq!(e.ok(&["events", "--since", &since, "--until", "0s", "--filter", "container=nope"]), "");
    let o = e.run(&["events", "--until", "0s", "--filter", "colour=red"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let script = e.dir.path().join("ev.lua");
    std::fs::write(&script, "for ev in bocker.events.read{ since = 0, filter = { container = 'ev', event = { 'start', 'die' } } } do print(ev.action, ev.attributes.exitCode, ev.time > 0) end\n").unwrap();
    assert_eq!(e.ok(&["script", script.to_str().unwrap()]), "start\tnil\ttrue\ndie\t4\ttrue\n");
    // the user's side: stop (kill with the stop signal, die, stop), rm
    e.ok(&["run", "-d", "--name", "ev2", "--network", "none", &img, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
    e.ok(&["stop", "ev2"]);
    e.ok(&["rm", "ev2"]);
    let out = e.ok(&["events", "--since", &since, "--until", "0s", "--filter", "container=ev2", "--format", "json"]);
    let actions: Vec<String> = out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, vec!["create", "start", "kill", "die", "stop", "destroy"], "{out}");
}

#[test]
fn a_monitor_killed_during_a_backoff_leaves_nothing_half_done() {
    let e = Env::new();
    let img = e.busybox();
    // exits at once: the backoff doubles (100, 200, 400, 800 ms ...)
    e.ok(&["run", "-d", "--name", "flap", "--restart", "always", &img, "true"]);
    assert!(
        wait_until(15, || {
            let c = inspect(&e, "flap");
            c["state"]["status"] == "restarting" && c["restart_count"].as_u64() >= Some(3)
        }),
        "{}",
        e.ok(&["inspect", "flap"])
    );
    assert!(ps_line(&e, "flap", &[]).contains("Restarting (0)"), "{}", e.ok(&["ps"]));
    assert_eq!(e.ok(&["ps", "-q", "--filter", "status=restarting"]).trim(), inspect(&e, "flap")["id"].as_str().unwrap());
    // a start meanwhile is refused: one monitor per container
    assert_eq!(e.run(&["start", "flap"]).status.code(), Some(1));
    let mon = inspect(&e, "flap")["state"]["monitor_pid"].as_i64().unwrap() as i32;
    // SAFETY: a plain kill of the monitor.
    unsafe { libc::kill(mon, libc::SIGKILL) };
    assert!(wait_until(5, || status_of(&e, "flap") == "exited"), "a dead monitor's container counts as exited");
    // the next start reclaims and runs it (and its monitor restarts it again)
    e.ok(&["start", "flap"]);
    let id = inspect(&e, "flap")["id"].as_str().unwrap().to_string();
    e.ok(&["rm", "-f", "flap"]);
    assert!(common::cgroups_of(&id).is_empty(), "{:?}", common::cgroups_of(&id));
    let id_gone = e.ok(&["ps", "-q"]);
    assert!(id_gone.trim().is_empty(), "{id_gone}");
    let leases = std::path::Path::new("/run/bocker/net").join(e.bridge()).join("leases");
    let left: Vec<_> = std::fs::read_dir(&leases).map(|d| d.flatten().map(|f| f.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "addresses left leased: {left:?}");
}
