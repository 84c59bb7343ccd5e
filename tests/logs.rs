//! Container logs: stdout and stderr kept apart, a time per line
//! (`--timestamps`, `--since`, `--until`), `--tail`, `-f`, rotation by
//! `--log-opt max-size/max-file`, `--log-driver none`, `--details`, a log
//! from before records, and the Lua side (`log_lines`, `logs` with `write`).
mod common;
use common::{text, Env};
use std::time::{Duration, Instant};

/// Waits until the container no longer runs.
fn wait_exit(e: &Env, id: &str) {
    let o = e.run(&["wait", id]);
    assert!(o.status.success(), "wait: {}", text(&o.stderr));
}

/// The RFC 3339 time at the start of a `--timestamps` line, and the rest.
fn split_time(line: &str) -> (&str, &str) {
    let (t, rest) = line.split_once(' ').unwrap_or_else(|| panic!("no time in {line:?}"));
    assert_eq!(t.len(), 30, "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T' && t.as_bytes()[19] == b'.', "{t}");
    (t, rest)
}

#[test]
fn stdout_and_stderr_kept_apart_with_times_tail_and_partial_lines() {
    let e = Env::new();
    let bb = e.busybox();
    let id = e.ok(&["run", "-d", &bb, "sh", "-c", "echo out1; echo err1 >&2; sleep 0.2; echo out2; printf 'no newline'; sleep 0.2; echo err2 >&2"]).trim().to_string();
    wait_exit(&e, &id);
    let o = e.run(&["logs", &id]);
    assert!(o.status.success());
    assert_eq!(text(&o.stdout), "out1\nout2\nno newline");
    assert_eq!(text(&o.stderr), "err1\nerr2\n");

    // --tail counts lines of both streams (the sleeps order them); the
    // unfinished line is one
    let o = e.run(&["logs", "--tail", "2", &id]);
    assert_eq!((text(&o.stdout), text(&o.stderr)), ("no newline".to_string(), "err2\n".to_string()));
    let o = e.run(&["logs", "-n", "0", &id]);
    assert_eq!((text(&o.stdout), text(&o.stderr)), (String::new(), String::new()));
    assert_eq!(text(&e.run(&["logs", "--tail", "all", &id]).stdout), "out1\nout2\nno newline");

    // --timestamps: each line behind its time, in order
    let o = e.run(&["logs", "-t", &id]);
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let (t1, l1) = split_time(lines[0]);
    let (t3, l3) = split_time(lines[2]);
    assert_eq!((l1, l3), ("out1", "no newline"));
    assert!(t1 <= t3);
    let err = text(&o.stderr);
    assert!(err.lines().all(|l| split_time(l).1.starts_with("err")), "{err}");

    // a bad time fails as docker's client does (1), a bad count as a bad flag
    let o = e.run(&["logs", "--since", "yesterday", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("yesterday"), "{}", text(&o.stderr));
    assert_eq!(e.run(&["logs", "--tail", "x", &id]).status.code(), Some(125));
    let o = e.run(&["logs", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("nosuch"), "{}", text(&o.stderr));
}

#[test]
fn since_and_until_pick_lines_by_time() {
    let e = Env::new();
    let bb = e.busybox();
    let id = e.ok(&["run", "-d", &bb, "sh", "-c", "echo early; sleep 1.5; echo late"]).trim().to_string();
    wait_exit(&e, &id);
    let out = e.ok(&["logs", "-t", &id]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let (t_early, _) = split_time(lines[0]);
    let (t_late, _) = split_time(lines[1]);
    assert_eq!(e.ok(&["logs", "--since", t_late, &id]), "late\n");
    assert_eq!(e.ok(&["logs", "--until", t_early, &id]), "early\n");
    assert_eq!(e.ok(&["logs", "--since", t_early, "--until", t_early, &id]), "early\n");
    // durations count back from now; Unix seconds work too
    assert_eq!(e.ok(&["logs", "--since", "1h", &id]), "early\nlate\n");
    assert_eq!(e.ok(&["logs", "--until", "1h", &id]), "");
    assert_eq!(e.ok(&["logs", "--since", "4000000000", &id]), "");
    assert_eq!(e.ok(&["logs", "--since", "2000-01-01", "--tail", "1", &id]), "late\n");
}

#[test]
fn follow_reads_on_until_the_container_exits() {
    let e = Env::new();
    let bb = e.busybox();
    let id = e.ok(&["run", "-d", &bb, "sh", "-c", "echo one; sleep 1; echo two >&2; sleep 1; echo three"]).trim().to_string();
    let t0 = Instant::now();
    let o = e.run(&["logs", "-f", "-t", &id]);
    assert!(o.status.success());
    assert!(t0.elapsed() >= Duration::from_millis(1500), "followed until the end: {:?}", t0.elapsed());
    let out = text(&o.stdout);
    let got: Vec<&str> = out.lines().map(|l| split_time(l).1).collect();
    assert_eq!(got, ["one", "three"]);
    assert_eq!(split_time(text(&o.stderr).trim_end()).1, "two");
}

#[test]
fn log_opts_rotate_by_size_and_keep_max_files() {
    let e = Env::new();
    let bb = e.busybox();
    // 300 lines of ~50 bytes a record: far more than 2 files of 1k
    let id = e
        .ok(&["run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=2", &bb, "sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); done"])
        .trim()
        .to_string();
    wait_exit(&e, &id);
    let dir = e.root().join("containers").join(&id);
    let cur = std::fs::metadata(dir.join("output.log")).expect("output.log").len();
    let old = std::fs::metadata(dir.join("output.log.1")).expect("output.log.1").len();
    assert!(cur <= 1024 && old <= 1024, "sizes {cur} {old}");
    assert!(!dir.join("output.log.2").exists(), "max-file=2 keeps two files");
    // what is left is the end of the output, in order, without a gap
    let out = e.ok(&["logs", &id]);
    let nums: Vec<u32> = out.lines().map(|l| l.strip_prefix("line").unwrap().parse().unwrap()).collect();
    assert!(nums.len() >= 20 && nums.len() < 300, "{} lines", nums.len());
    assert_eq!(*nums.last().unwrap(), 299);
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
    assert_eq!(e.ok(&["logs", "--tail", "3", &id]), "line297\nline298\nline299\n");

    // what Docker refuses, bocker refuses (125: its own failure)
    for bad in [
        &["--log-opt", "max-file=3"][..],
        &["--log-driver", "syslog"],
        &["--log-opt", "max-size=x"],
        &["--log-opt", "nosuch=1"],
        &["--log-driver", "none", "--log-opt", "max-size=1m"],
        &["--log-opt", "compress=true"],
        &["--log-opt", "mode=non-blocking"],
    ] {
        let mut args = vec!["create"];
        args.extend_from_slice(bad);
        args.extend_from_slice(&[&bb, "true"]);
        let o = e.run(&args);
        assert_eq!(o.status.code(), Some(125), "{bad:?}: {}", text(&o.stderr));
    }
    e.ok(&["create", "--log-opt", "mode=blocking", "--log-opt", "compress=false", "--log-driver", "local", &bb, "true"]);
}

#[test]
fn follow_keeps_up_with_rotation() {
    let e = Env::new();
    let bb = e.busybox();
    let id = e
        // three files of 4k hold the ~10k it writes: a follower slowed by a
        // loaded machine still finds every line, but only by switching
        // files (it starts before the first rotation)
        .ok(&["run", "-d", "--log-driver", "local", "--log-opt", "max-size=4k", "--log-opt", "max-file=3", &bb, "sh", "-c", "sleep 1; i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.2; done"])
        .trim()
        .to_string();
    let o = e.run(&["logs", "-f", &id]);
    let out = text(&o.stdout);
    let nums: Vec<u32> = out.lines().map(|l| l.strip_prefix("line").unwrap().parse().unwrap()).collect();
    assert_eq!(nums, (0..200).collect::<Vec<u32>>(), "a follower misses nothing across rotations");
    assert!(e.root().join("containers").join(&id).join("output.log.2").exists());
}

#[test]
fn driver_none_keeps_nothing_and_details_show_attributes() {
    let e = Env::new();
    let bb = e.busybox();
    let id = e.ok(&["run", "-d", "--log-driver", "none", &bb, "echo", "hidden"]).trim().to_string();
    wait_exit(&e, &id);
    let o = e.run(&["logs", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("does not support reading"), "{}", text(&o.stderr));
    let dir = e.root().join("containers").join(&id);
    assert!(!dir.join("output.log").exists() && !dir.join("container.log").exists());

    let id = e
        .ok(&["run", "-d", "--label", "team=blue", "-e", "STAGE=test", "--log-opt", "labels=team", "--log-opt", "env=STAGE", &bb, "echo", "hi"])
        .trim()
        .to_string();
    wait_exit(&e, &id);
    assert_eq!(e.ok(&["logs", "--details", &id]), "STAGE=test,team=blue hi\n");
    assert_eq!(e.ok(&["logs", &id]), "hi\n");
}

#[test]
fn a_log_from_before_records_reads_as_stdout() {
    let e = Env::new();
    let bb = e.busybox();
    let id = e.ok(&["create", &bb, "true"]).trim().to_string();
    let dir = e.root().join("containers").join(&id);
    std::fs::write(dir.join("container.log"), b"old line\nerr was here too\n").unwrap();
    let o = e.run(&["logs", &id]);
    assert_eq!(text(&o.stdout), "old line\nerr was here too\n");
    assert_eq!(text(&o.stderr), "");
    assert_eq!(e.ok(&["logs", "--tail", "1", &id]), "err was here too\n");
    // started now: the new records follow the old log
    e.ok(&["start", &id]);
    wait_exit(&e, &id);
    e.ok(&["logs", &id]);
    let id2 = e.ok(&["create", &bb, "sh", "-c", "echo new; echo bad >&2"]).trim().to_string();
    let dir2 = e.root().join("containers").join(&id2);
    std::fs::write(dir2.join("container.log"), b"old\n").unwrap();
    e.ok(&["start", &id2]);
    wait_exit(&e, &id2);
    let o = e.run(&["logs", &id2]);
    assert_eq!((text(&o.stdout), text(&o.stderr)), ("old\nnew\n".to_string(), "bad\n".to_string()));
}

#[test]
fn lua_sees_streams_and_times() {
    let e = Env::new();
    let bb = e.busybox();
    let id = e.ok(&["run", "-d", &bb, "sh", "-c", "echo a; printf 'b1'; sleep 0.3; echo b2 >&2; sleep 0.3; echo c"]).trim().to_string();
    wait_exit(&e, &id);
    let script = e.dir.path().join("lines.lua");
    std::fs::write(
        &script,
        format!(
            r#"
local out = {{}}
for l in bocker.container.log_lines("{id}") do
  assert(l.time:match("^%d%d%d%d%-%d%d%-%d%dT.*Z$"), l.time)
  out[#out + 1] = l.stream .. ":" .. l.line
end
print(table.concat(out, "|"))
local chunks = {{}}
assert(bocker.container.logs("{id}", {{ stdout = false, write = function(stream, chunk) chunks[#chunks + 1] = stream .. "=" .. chunk end }}))
io.write(table.concat(chunks))
local n = 0
assert(bocker.container.logs("{id}", {{ write = function() n = n + 1; return false end }}))
print(n)
local ok, err = pcall(bocker.container.logs, "{id}", {{ nosuch = true }})
print(ok, err ~= nil)
"#
        ),
    )
    .unwrap();
    let out = e.ok(&["script", script.to_str().unwrap()]);
    assert_eq!(out, "stdout:a|stderr:b2|stdout:b1c\nstderr=b2\n1\nfalse\ttrue\n");
}

#[test]
fn compose_logging_options_reach_the_container() {
    let e = Env::new();
    let bb = e.busybox();
    e.ok(&["tag", &bb, "busybox:latest"]);
    let p = format!("lg{}", e.net);
    struct Down<'a>(&'a Env, String);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["down", "-v", "-t", "1", "-p", &self.1]);
        }
    }
    let _down = Down(&e, p.clone());
    let dir = e.dir.path().join("stack");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    let yaml = format!(
        "services:\n  talker:\n    image: busybox:latest\n    command: sh -c 'i=0; while [ $$i -lt 200 ]; do echo said$$i; i=$$((i+1)); done'\n    logging:\n      driver: json-file\n      options:\n        max-size: 1k\n        max-file: 2\nnetworks:\n  default:\n    ipam:\n      config:\n        - subnet: {}\n",
        e.extra_subnet(0)
    );
    std::fs::write(&file, yaml).unwrap();
    e.ok(&["up", "-d", "-p", &p, "-f", file.to_str().unwrap()]);
    let name = format!("{p}-talker-1");
    wait_exit(&e, &name);
    let id = e.ok(&["ps", "-aq", "--no-trunc", "--filter", &format!("name={name}")]).trim().to_string();
    let dir = e.root().join("containers").join(&id);
    let listing: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|d| d.file_name()).collect();
    assert_eq!(e.ok(&["logs", "--tail", "1", &name]), "said199\n", "{listing:?} {}", e.ok(&["ps", "-a"]));
    assert!(dir.join("output.log.1").exists() && !dir.join("output.log.2").exists(), "rotated at 1k, two files kept");
    let logs = e.ok(&["stack", "logs", "-p", &p]);
    assert!(logs.lines().last().unwrap_or_default().ends_with("| said199"), "{logs}");

    // a driver compose may name but bocker cannot honour is refused
    std::fs::write(&file, "services:\n  t:\n    image: busybox:latest\n    logging:\n      driver: syslog\n").unwrap();
    let o = e.run(&["up", "-d", "-p", &format!("{p}x"), "-f", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("syslog"), "{}", text(&o.stderr));
}
