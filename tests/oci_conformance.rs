//! The OCI runtime-spec checklist (runtime.md lifecycle and state,
//! config.md and config-linux.md fields) as checks run against runc, crun
//! and bocker-runc through runc's command line. Each check sets one field
//! in a bundle, runs the container and observes the effect from inside
//! (the container's stdout) or outside (state, /proc, cgroup files).
//!
//! The one assertion (in `judge`): a check that passes under runc must
//! pass under bocker-runc. With BOCKER_CONFORMANCE_RECORD=FILE results
//! are appended to FILE instead (scripts/conformance.sh renders them as
//! docs/CONFORMANCE.md). BOCKER_CONFORMANCE_RUNTIMES=runc,bocker-runc
//! chooses the runtimes (runc is always run: it is the reference); the
//! default is runc and bocker-runc, all three when recording.
//! BOCKER_CONFORMANCE_BOCKER=PATH judges that bocker binary instead of
//! this build's.
mod common;
#[path = "common/bundle.rs"]
mod bundle;
#[path = "common/oci_runtime.rs"]
mod oci_runtime;

use anyhow::{bail, ensure, Context};
use oci_runtime::{judge, not_applicable, Case};
use serde_json::{json, Value};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// The value of a `Name:\tvalue` line of /proc/self/status-like text.
fn field<'a>(text: &'a str, name: &str) -> anyhow::Result<&'a str> {
    let prefix = format!("{name}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::trim)
        .ok_or_else(|| anyhow::anyhow!("no {name}: line in {text:?}"))
}

/// The /proc/mounts line of the mount at DEST (the last one: it is on top).
fn mount_line<'a>(mounts: &'a str, dest: &str) -> anyhow::Result<&'a str> {
    mounts
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(dest))
        .last()
        .ok_or_else(|| anyhow::anyhow!("no mount at {dest} in:\n{mounts}"))
}

fn mount_options(line: &str) -> Vec<&str> {
    line.split_whitespace().nth(3).unwrap_or("").split(',').collect()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > timeout {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A process that is gone or a zombie (killed, not yet reaped by whoever
/// inherited it).
fn process_gone(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')).unwrap_or(false),
    }
}

/// A host folder bind-mounted read-write at /out in the container, where
/// its process leaves side effects the test sees from outside.
fn with_out_dir(c: &Case, b: &mut bundle::Bundle) -> anyhow::Result<std::path::PathBuf> {
    let out = c.host_dir("out")?;
    b.mount("/out", "bind", oci_runtime::path_str(&out)?, &["rbind", "rw"]);
    Ok(out)
}

fn pid_of(state: &Value) -> anyhow::Result<i64> {
    state["pid"].as_i64().filter(|p| *p > 0).ok_or_else(|| anyhow::anyhow!("state has no pid > 0: {state}"))
}

/// A v1 cgroup file of a process: /sys/fs/cgroup/CONTROLLER/<its path>/FILE.
fn cgroup_v1_file(pid: i64, controller: &str, file: &str) -> anyhow::Result<String> {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).with_context(|| format!("/proc/{pid}/cgroup"))?;
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if ctrls.split(',').any(|c| c == controller) {
            let p = Path::new("/sys/fs/cgroup").join(ctrls).join(path.trim_start_matches('/')).join(file);
            return std::fs::read_to_string(&p).map(|s| s.trim().to_string()).with_context(|| format!("read {}", p.display()));
        }
    }
    Err(not_applicable(format!("no v1 {controller} controller for pid {pid} (cgroup v2 only?): {cg}")))
}

/// Creates the bundle, reads a cgroup file of its init from outside.
fn created_cgroup_value(c: &Case, b: &bundle::Bundle, controller: &str, file: &str) -> anyhow::Result<String> {
    let id = c.create_ok(b)?;
    let pid = pid_of(&c.state(&id)?)?;
    cgroup_v1_file(pid, controller, file)
}

fn host_ns(kind: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_link(format!("/proc/self/ns/{kind}"))?.to_string_lossy().into_owned())
}

/// `create` must fail with a message and leave no container; the
/// message is recorded.
fn refused(c: &Case, b: &bundle::Bundle, what: &str) -> anyhow::Result<()> {
    // control: the runtime creates the same bundle without the bad field
    let good = c.bundle()?;
    let ok_id = c.create_ok(&good).context("control: a valid bundle")?;
    c.must(&["delete", "--force", &ok_id])?;
    b.write()?;
    let id = c.new_id();
    let r = c.create_as(b, &id)?;
    ensure!(!r.ok(), "create with {what} succeeded");
    ensure!(!r.stderr.trim().is_empty(), "refused without a message: {}", r.describe());
    c.note(format!("exit {:?}: {}", r.code, r.stderr.trim().lines().last().unwrap_or("")));
    ensure!(!c.exec(&["state", &id], None)?.ok(), "the refused container {id} has a state");
    Ok(())
}

fn cap_mask(bits: &[u32]) -> String {
    format!("{:016x}", bits.iter().fold(0u64, |m, b| m | 1 << b))
}

// ---------------------------------------------------------------- lifecycle and state (runtime.md)

#[test]
fn lifecycle_create() {
    judge("lifecycle.create", "create → state \"created\" with id, pid, bundle; the process has not run yet", |c| {
        let mut b = c.bundle()?;
        let out = with_out_dir(c, &mut b)?;
        b.sh("echo ran > /out/ran");
        let id = c.create_ok(&b)?;
        let s = c.state(&id)?;
        ensure!(s["status"] == "created", "status after create: {s}");
        ensure!(s["id"] == id.as_str(), "state id: {s}");
        ensure!(s["ociVersion"].is_string(), "state has no ociVersion: {s}");
        ensure!(s["bundle"] == b.dir.to_string_lossy().as_ref(), "state bundle is not {}: {s}", b.dir.display());
        let pid = pid_of(&s)?;
        ensure!(Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} of a created container is not alive");
        std::thread::sleep(Duration::from_millis(300));
        ensure!(!out.join("ran").exists(), "the process ran before start");
        Ok(())
    })
}

#[test]
fn lifecycle_start() {
    judge("lifecycle.start", "start → the process runs; it exits → state \"stopped\"; start again fails", |c| {
        let mut b = c.bundle()?;
        let out = with_out_dir(c, &mut b)?;
        b.sh("echo ran > /out/ran");
        let id = c.create_ok(&b)?;
        c.must(&["start", &id])?;
        wait_for("the process's side effect", Duration::from_secs(10), || out.join("ran").exists())?;
        c.wait_status(&id, "stopped")?;
        let again = c.exec(&["start", &id], None)?;
        ensure!(!again.ok(), "start of a stopped container succeeded: {}", again.describe());
        c.must(&["delete", &id])?;
        Ok(())
    })
}

#[test]
fn lifecycle_running() {
    judge("lifecycle.running", "started long-running process → state \"running\" with its pid; kill KILL → \"stopped\"; delete → gone", |c| {
        let mut b = c.bundle()?;
        b.args(&["sleep", "60"]);
        let id = c.create_ok(&b)?;
        c.must(&["start", &id])?;
        let s = c.state(&id)?;
        ensure!(s["status"] == "running", "status after start: {s}");
        let pid = pid_of(&s)?;
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        ensure!(cmdline.starts_with("sleep\0"), "pid {pid} runs {cmdline:?}, not sleep");
        c.must(&["kill", &id, "KILL"])?;
        c.wait_status(&id, "stopped")?;
        c.must(&["delete", &id])?;
        let gone = c.exec(&["state", &id], None)?;
        ensure!(!gone.ok(), "state of a deleted container succeeded: {}", gone.describe());
        Ok(())
    })
}

#[test]
fn lifecycle_kill_before_start() {
    judge("lifecycle.kill-created", "kill KILL of a created container → \"stopped\", the process never ran; delete works", |c| {
        let mut b = c.bundle()?;
        let out = with_out_dir(c, &mut b)?;
        b.sh("echo ran > /out/ran");
        let id = c.create_ok(&b)?;
        c.must(&["kill", &id, "KILL"])?;
        c.wait_status(&id, "stopped")?;
        c.must(&["delete", &id])?;
        ensure!(!c.exec(&["state", &id], None)?.ok(), "state after delete succeeded");
        ensure!(!out.join("ran").exists(), "the killed process ran");
        Ok(())
    })
}

#[test]
fn lifecycle_delete_running() {
    judge("lifecycle.delete-running", "delete of a running container refused; delete --force kills and removes it", |c| {
        let mut b = c.bundle()?;
        b.args(&["sleep", "60"]);
        let id = c.create_ok(&b)?;
        c.must(&["start", &id])?;
        let pid = pid_of(&c.state(&id)?)?;
        let refused = c.exec(&["delete", &id], None)?;
        ensure!(!refused.ok(), "delete of a running container succeeded: {}", refused.describe());
        ensure!(c.status(&id)? == "running", "the refused delete changed the container");
        c.must(&["delete", "--force", &id])?;
        ensure!(!c.exec(&["state", &id], None)?.ok(), "state after delete --force succeeded");
        wait_for("the process to end", Duration::from_secs(5), || process_gone(pid))?;
        Ok(())
    })
}

#[test]
fn lifecycle_state_unknown() {
    judge("lifecycle.state-unknown", "state of an unknown id fails", |c| {
        // control: state answers for a container that exists
        let b = c.bundle()?;
        let id = c.create_ok(&b)?;
        ensure!(c.status(&id)? == "created", "control: state of a created container");
        let r = c.exec(&["state", "conf-no-such-container"], None)?;
        ensure!(!r.ok(), "state of an unknown id succeeded: {}", r.describe());
        ensure!(!r.stderr.trim().is_empty(), "no message: {}", r.describe());
        Ok(())
    })
}

#[test]
fn lifecycle_id_in_use() {
    judge("lifecycle.id-in-use", "create with an id in use fails and leaves the first container as it was", |c| {
        let mut b = c.bundle()?;
        b.args(&["sleep", "60"]);
        let id = c.create_ok(&b)?;
        let b2 = c.bundle()?;
        b2.write()?;
        let r = c.create_as(&b2, &id)?;
        ensure!(!r.ok(), "a second create with id {id} succeeded: {}", r.describe());
        let s = c.state(&id)?;
        ensure!(s["status"] == "created" && s["bundle"] == b.dir.to_string_lossy().as_ref(), "the first container changed: {s}");
        Ok(())
    })
}

#[test]
fn lifecycle_kill_signal() {
    judge("lifecycle.kill-signal", "kill ID TERM delivers SIGTERM to the process (its trap runs)", |c| {
        let mut b = c.bundle()?;
        let out = with_out_dir(c, &mut b)?;
        b.sh("trap 'echo got-term > /out/term; exit 0' TERM; echo ready > /out/ready; while :; do sleep 0.1; done");
        let id = c.create_ok(&b)?;
        c.must(&["start", &id])?;
        wait_for("the trap to be set", Duration::from_secs(10), || out.join("ready").exists())?;
        c.must(&["kill", &id, "TERM"])?;
        wait_for("the trap's file", Duration::from_secs(10), || out.join("term").exists())?;
        c.wait_status(&id, "stopped")?;
        Ok(())
    })
}

#[test]
fn lifecycle_delete_created() {
    judge("lifecycle.delete-created", "delete (no --force) of a created, not stopped container is refused (runtime.md: delete of a container that is not stopped MUST error)", |c| {
        let b = c.bundle()?;
        let id = c.create_ok(&b)?;
        let r = c.exec(&["delete", &id], None)?;
        ensure!(!r.ok(), "delete of a created container succeeded");
        ensure!(c.status(&id)? == "created", "the refused delete changed the container");
        Ok(())
    })
}

#[test]
fn lifecycle_state_annotations() {
    judge("lifecycle.state-annotations", "state carries the configuration's annotations", |c| {
        let mut b = c.bundle()?;
        b.set("/annotations", json!({"org.bocker.conformance": "yes"}));
        let id = c.create_ok(&b)?;
        let s = c.state(&id)?;
        ensure!(s["annotations"]["org.bocker.conformance"] == "yes", "{s}");
        Ok(())
    })
}

#[test]
fn lifecycle_run_exit_code() {
    judge("lifecycle.run-exit-code", "exit code of run is the process's (7)", |c| {
        let mut b = c.bundle()?;
        b.sh("exit 7");
        let r = c.run(&b)?;
        ensure!(r.code == Some(7), "run: {}", r.describe());
        Ok(())
    })
}

// ---------------------------------------------------------------- process (config.md)

#[test]
fn process_args() {
    judge("process.args", "args passed as given (spaces kept)", |c| {
        let mut b = c.bundle()?;
        b.args(&["sh", "-c", "printf '[%s]' \"$0\" \"$@\"", "zero", "one two", "three"]);
        let out = c.run_ok(&b)?;
        ensure!(out == "[zero][one two][three]", "{out:?}");
        Ok(())
    })
}

#[test]
fn process_env() {
    judge("process.env", "env is the process's environment", |c| {
        let mut b = c.bundle()?;
        b.push("/process/env", json!("CONF_VAR=a b=c")).push("/process/env", json!("CONF_EMPTY="));
        b.args(&["env"]);
        let out = c.run_ok(&b)?;
        ensure!(out.lines().any(|l| l == "CONF_VAR=a b=c") && out.lines().any(|l| l == "CONF_EMPTY="), "{out:?}");
        ensure!(out.lines().any(|l| l.starts_with("PATH=/usr/local/sbin")), "{out:?}");
        Ok(())
    })
}

#[test]
fn process_cwd() {
    judge("process.cwd", "cwd is the working directory", |c| {
        let mut b = c.bundle()?;
        b.set("/process/cwd", json!("/usr/bin")).args(&["pwd"]);
        let out = c.run_ok(&b)?;
        ensure!(out == "/usr/bin\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn process_user() {
    judge("process.user", "user uid, gid and additionalGids (/proc/self/status)", |c| {
        let mut b = c.bundle()?;
        b.set("/process/user", json!({"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}));
        b.args(&["cat", "/proc/self/status"]);
        let out = c.run_ok(&b)?;
        ensure!(field(&out, "Uid")?.split_whitespace().all(|u| u == "1000"), "Uid: {}", field(&out, "Uid")?);
        ensure!(field(&out, "Gid")?.split_whitespace().all(|g| g == "1001"), "Gid: {}", field(&out, "Gid")?);
        ensure!(field(&out, "Groups")? == "10 20", "Groups: {:?}", field(&out, "Groups")?);
        Ok(())
    })
}

#[test]
fn process_capabilities_non_root() {
    judge("process.capabilities", "capabilities of a non-root process: bounding, effective, permitted, inheritable, ambient", |c| {
        let mut b = c.bundle()?;
        b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
        b.set(
            "/process/capabilities",
            json!({
                "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
                "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]
            }),
        );
        b.args(&["cat", "/proc/self/status"]);
        let out = c.run_ok(&b)?;
        let want = [("CapBnd", cap_mask(&[0, 5, 10])), ("CapEff", cap_mask(&[5])), ("CapPrm", cap_mask(&[5])), ("CapInh", cap_mask(&[5])), ("CapAmb", cap_mask(&[5]))];
        for (name, mask) in want {
            ensure!(field(&out, name)? == mask, "{name}: {} expected {mask}", field(&out, name)?);
        }
        Ok(())
    })
}

#[test]
fn process_capabilities_root() {
    judge("process.capabilities-root", "capabilities of root: only the listed ones; inheritable and ambient empty", |c| {
        let mut b = c.bundle()?;
        let two = json!(["CAP_CHOWN", "CAP_KILL"]);
        b.set("/process/capabilities", json!({"bounding": two, "effective": two, "permitted": two}));
        b.args(&["cat", "/proc/self/status"]);
        let out = c.run_ok(&b)?;
        let want = [("CapBnd", cap_mask(&[0, 5])), ("CapEff", cap_mask(&[0, 5])), ("CapPrm", cap_mask(&[0, 5])), ("CapInh", cap_mask(&[])), ("CapAmb", cap_mask(&[]))];
        for (name, mask) in want {
            ensure!(field(&out, name)? == mask, "{name}: {} expected {mask}", field(&out, name)?);
        }
        Ok(())
    })
}

#[test]
fn process_rlimits() {
    judge("process.rlimits", "rlimits: RLIMIT_NOFILE 1000/2000 and RLIMIT_CORE 0/0 (/proc/self/limits)", |c| {
        let mut b = c.bundle()?;
        b.set("/process/rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]));
        b.args(&["cat", "/proc/self/limits"]);
        let out = c.run_ok(&b)?;
        let row = |name: &str| -> anyhow::Result<Vec<String>> {
            let l = out.lines().find(|l| l.starts_with(name)).ok_or_else(|| anyhow::anyhow!("no {name} in {out}"))?;
            Ok(l[name.len()..].split_whitespace().take(2).map(str::to_string).collect())
        };
        ensure!(row("Max open files")? == ["1000", "2000"], "Max open files: {:?}", row("Max open files")?);
        ensure!(row("Max core file size")? == ["0", "0"], "Max core file size: {:?}", row("Max core file size")?);
        Ok(())
    })
}

#[test]
fn process_no_new_privileges() {
    judge("process.noNewPrivileges", "noNewPrivileges true → NoNewPrivs 1; false → 0", |c| {
        let host = std::fs::read_to_string("/proc/self/status")?;
        if field(&host, "NoNewPrivs")? != "0" {
            return Err(not_applicable("the test process already has no_new_privs"));
        }
        for (flag, want) in [(true, "1"), (false, "0")] {
            let mut b = c.bundle()?;
            b.set("/process/noNewPrivileges", json!(flag)).args(&["cat", "/proc/self/status"]);
            let out = c.run_ok(&b)?;
            ensure!(field(&out, "NoNewPrivs")? == want, "noNewPrivileges {flag}: NoNewPrivs {}", field(&out, "NoNewPrivs")?);
        }
        Ok(())
    })
}

#[test]
fn process_oom_score_adj() {
    judge("process.oomScoreAdj", "oomScoreAdj 123 → /proc/self/oom_score_adj", |c| {
        let mut b = c.bundle()?;
        b.set("/process/oomScoreAdj", json!(123)).args(&["cat", "/proc/self/oom_score_adj"]);
        let out = c.run_ok(&b)?;
        ensure!(out.trim() == "123", "{out:?}");
        Ok(())
    })
}

#[test]
fn process_umask() {
    judge("process.user.umask", "user.umask 0077 → the process's umask", |c| {
        let mut b = c.bundle()?;
        b.set("/process/user/umask", json!(0o077)).args(&["sh", "-c", "umask"]);
        let out = c.run_ok(&b)?;
        ensure!(out.trim() == "0077", "umask {out:?}");
        Ok(())
    })
}

#[test]
fn process_terminal() {
    judge("process.terminal", "terminal true with --console-socket: the pty master arrives over the socket (SCM_RIGHTS), the process's stdio is the pty", |c| {
        use std::io::Read;
        use std::os::fd::{FromRawFd, OwnedFd};
        let sock_path = c.dir.path().join("console.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock_path).context("bind the console socket")?;
        // the runtime connects during create and sends the master
        let receiver = std::thread::spawn(move || -> anyhow::Result<OwnedFd> {
            use std::os::fd::AsRawFd;
            // polled: a runtime that never connects must not hang the test
            listener.set_nonblocking(true)?;
            let started = Instant::now();
            let conn = loop {
                match listener.accept() {
                    Ok((conn, _)) => break conn,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && started.elapsed() < Duration::from_secs(40) => std::thread::sleep(Duration::from_millis(10)),
                    Err(e) => return Err(anyhow::Error::new(e).context("no connection on the console socket")),
                }
            };
            conn.set_nonblocking(false)?;
            let mut buf = [0u8; 4096];
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = nix::sys::socket::recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut cmsg), nix::sys::socket::MsgFlags::empty())?;
            for m in msg.cmsgs()? {
                if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = m {
                    if let Some(fd) = fds.first() {
                        // SAFETY: the kernel just installed this fd in our table for us; nothing else owns it
                        return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
                    }
                }
            }
            bail!("no fd in the console socket's message")
        });
        let mut b = c.bundle()?;
        b.set("/process/terminal", json!(true)).sh("tty; echo via-pty");
        b.write()?;
        let id = c.new_id();
        let r = c.exec(&["create", "--bundle", oci_runtime::path_str(&b.dir)?, "--console-socket", oci_runtime::path_str(&sock_path)?, &id], None)?;
        if !r.ok() {
            // end the accept loop at once
            let _ = std::os::unix::net::UnixStream::connect(&sock_path);
            let _ = receiver.join();
            bail!("create: {}", r.describe());
        }
        let master = receiver.join().map_err(|_| anyhow::anyhow!("the console socket thread panicked"))??;
        c.must(&["start", &id])?;
        let mut f = std::fs::File::from(master);
        let mut got = Vec::new();
        let mut chunk = [0u8; 1024];
        // read until the slave side closes (EIO) or both lines are in
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            match f.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
            if String::from_utf8_lossy(&got).contains("via-pty") {
                break;
            }
        }
        let text = String::from_utf8_lossy(&got).replace('\r', "");
        ensure!(text.starts_with("/dev/pts/") && text.contains("\nvia-pty\n"), "read from the master: {text:?}");
        Ok(())
    })
}

#[test]
fn process_stdio() {
    judge("process.terminal-false", "terminal false: stdin, stdout and stderr are the runtime's", |c| {
        let mut b = c.bundle()?;
        b.sh("cat; echo to-stderr >&2");
        b.write()?;
        let r = c.run_with_stdin(&b, Some("from-stdin\n"))?;
        ensure!(r.ok() && r.stdout == "from-stdin\n" && r.stderr.contains("to-stderr"), "{}", r.describe());
        Ok(())
    })
}

// ---------------------------------------------------------------- root, hostname, mounts (config.md)

#[test]
fn root_readonly() {
    judge("root.readonly", "root.readonly → the root is mounted ro, writes fail", |c| {
        let mut b = c.bundle()?;
        b.set("/root/readonly", json!(true)).sh("touch /conf-x 2>&1; grep ' / ' /proc/mounts");
        let out = c.run_ok(&b)?;
        ensure!(out.contains("Read-only file system"), "{out:?}");
        let line = mount_line(&out, "/")?;
        ensure!(mount_options(line).contains(&"ro"), "{line}");
        ensure!(!b.rootfs().join("conf-x").exists(), "the file was written");
        Ok(())
    })
}

#[test]
fn root_path_absolute() {
    judge("root.path-absolute", "root.path as an absolute path", |c| {
        let mut b = c.bundle()?;
        let abs = b.rootfs();
        b.set("/root/path", json!(oci_runtime::path_str(&abs)?)).args(&["cat", "/etc/os-release"]);
        let out = c.run_ok(&b)?;
        ensure!(out == "busybox rootfs\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn hostname() {
    judge("hostname", "hostname set in the new uts namespace", |c| {
        let mut b = c.bundle()?;
        b.set("/hostname", json!("conf-host")).args(&["hostname"]);
        let out = c.run_ok(&b)?;
        ensure!(out == "conf-host\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn domainname() {
    judge("domainname", "domainname set in the new uts namespace", |c| {
        let mut b = c.bundle()?;
        b.set("/domainname", json!("conf.example")).args(&["cat", "/proc/sys/kernel/domainname"]);
        let out = c.run_ok(&b)?;
        ensure!(out != "(none)\n", "domainname ignored: the uts namespace's domainname is (none)");
        ensure!(out == "conf.example\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn mounts_tmpfs() {
    judge("mounts.tmpfs", "tmpfs mount with size, mode and nosuid", |c| {
        let mut b = c.bundle()?;
        b.mount("/mnt/t", "tmpfs", "tmpfs", &["nosuid", "size=1m", "mode=700"]);
        b.sh("stat -c %a /mnt/t; grep ' /mnt/t ' /proc/mounts");
        let out = c.run_ok(&b)?;
        ensure!(out.starts_with("700\n"), "{out:?}");
        let opts = mount_options(mount_line(&out, "/mnt/t")?);
        for o in ["nosuid", "size=1024k", "mode=700"] {
            ensure!(opts.contains(&o), "{o} missing in {opts:?}");
        }
        Ok(())
    })
}

#[test]
fn mounts_bind_ro() {
    judge("mounts.bind-ro", "bind mount with ro: readable, not writable", |c| {
        let src = c.host_dir("src")?;
        std::fs::write(src.join("f"), "host data\n")?;
        let mut b = c.bundle()?;
        b.mount("/data", "bind", oci_runtime::path_str(&src)?, &["rbind", "ro"]);
        b.sh("cat /data/f; touch /data/new 2>&1; grep ' /data ' /proc/mounts");
        let out = c.run_ok(&b)?;
        ensure!(out.starts_with("host data\n") && out.contains("Read-only file system"), "{out:?}");
        ensure!(mount_options(mount_line(&out, "/data")?).contains(&"ro"), "{out:?}");
        ensure!(!src.join("new").exists(), "the write reached the host");
        Ok(())
    })
}

#[test]
fn mounts_bind_nosuid_noexec() {
    judge("mounts.bind-nosuid-noexec", "bind mount with nosuid,noexec: flags set, a script there does not run (a plain bind beside it does)", |c| {
        let src = c.host_dir("src")?;
        let script = src.join("x.sh");
        std::fs::write(&script, "#!/bin/sh\necho executed\n")?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        let src = oci_runtime::path_str(&src)?;
        let mut b = c.bundle()?;
        b.mount("/noexec", "bind", src, &["rbind", "nosuid", "noexec"]).mount("/plain", "bind", src, &["rbind"]);
        b.sh("/noexec/x.sh 2>&1; /plain/x.sh; grep ' /noexec ' /proc/mounts");
        let out = c.run_ok(&b)?;
        ensure!(out.contains("Permission denied") && out.matches("executed").count() == 1, "{out:?}");
        let opts = mount_options(mount_line(&out, "/noexec")?);
        ensure!(opts.contains(&"nosuid") && opts.contains(&"noexec"), "{opts:?}");
        Ok(())
    })
}

#[test]
fn mounts_in_order() {
    judge("mounts.order", "mounts in order: a second mount over the first wins; a mount inside an earlier one", |c| {
        let a = c.host_dir("a")?;
        std::fs::write(a.join("from-a"), "")?;
        let n = c.host_dir("n")?;
        std::fs::write(n.join("from-n"), "")?;
        let mut b = c.bundle()?;
        b.mount("/over", "tmpfs", "tmpfs", &["size=1m"]).mount("/over", "bind", oci_runtime::path_str(&a)?, &["rbind"]);
        b.mount("/nest", "tmpfs", "tmpfs", &["size=1m"]).mount("/nest/inner", "bind", oci_runtime::path_str(&n)?, &["rbind"]);
        b.sh("ls /over; ls /nest; ls /nest/inner");
        let out = c.run_ok(&b)?;
        ensure!(out == "from-a\ninner\nfrom-n\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn mounts_propagation() {
    judge("mounts.propagation", "propagation options (rslave, rprivate) and rootfsPropagation accepted", |c| {
        let src = c.host_dir("src")?;
        std::fs::write(src.join("f"), "prop\n")?;
        let src = oci_runtime::path_str(&src)?;
        let mut b = c.bundle()?;
        b.mount("/slave", "bind", src, &["rbind", "rslave"]).mount("/private", "bind", src, &["rbind", "rprivate"]);
        b.set("/linux/rootfsPropagation", json!("slave"));
        b.sh("cat /slave/f /private/f");
        let out = c.run_ok(&b)?;
        ensure!(out == "prop\nprop\n", "{out:?}");
        Ok(())
    })
}

/// A shared mount of the host with a leaf mount under it, both
/// detached on drop.
struct SharedHostMount {
    dir: std::path::PathBuf,
}

impl SharedHostMount {
    fn new(dir: std::path::PathBuf) -> anyhow::Result<SharedHostMount> {
        let sh = |args: &[&str]| -> anyhow::Result<()> {
            let st = std::process::Command::new("mount").args(args).status()?;
            ensure!(st.success(), "mount {args:?}: {st}");
            Ok(())
        };
        let d = oci_runtime::path_str(&dir)?.to_string();
        let guard = SharedHostMount { dir };
        sh(&["-t", "tmpfs", "conf-shared", &d])?;
        sh(&["--make-shared", &d])?;
        std::fs::create_dir(format!("{d}/leaf"))?;
        sh(&["-t", "tmpfs", "conf-leaf", &format!("{d}/leaf")])?;
        Ok(guard)
    }

    fn leaf_mounted(&self) -> anyhow::Result<bool> {
        let leaf = self.dir.join("leaf");
        let leaf = oci_runtime::path_str(&leaf)?;
        let info = std::fs::read_to_string("/proc/self/mountinfo")?;
        Ok(info.lines().any(|l| l.split(' ').nth(4) == Some(leaf)))
    }
}

impl Drop for SharedHostMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-R").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn rootfs_propagation_leaves_host_mounts() {
    judge("linux.rootfsPropagation", "rootfsPropagation slave, private, shared, rprivate: a shared host mount's submount stays mounted on the host", |c| {
        let host = SharedHostMount::new(c.host_dir("shared")?)?;
        ensure!(host.leaf_mounted()?, "the leaf mount was not made");
        for prop in ["slave", "private", "shared", "rprivate"] {
            let mut b = c.bundle()?;
            b.set("/linux/rootfsPropagation", json!(prop));
            b.args(&["/bin/true"]);
            c.run_ok(&b).with_context(|| format!("rootfsPropagation {prop}"))?;
            ensure!(host.leaf_mounted()?, "rootfsPropagation {prop}: the container's setup unmounted a host mount");
        }
        Ok(())
    })
}

// ---------------------------------------------------------------- linux (config-linux.md)

#[test]
fn masked_paths() {
    judge("linux.maskedPaths", "maskedPaths: a file reads empty, a directory lists empty", |c| {
        let mut b = c.bundle()?;
        std::fs::write(b.rootfs().join("etc/conf-secret"), "secret\n")?;
        std::fs::create_dir_all(b.rootfs().join("opt/secretdir"))?;
        std::fs::write(b.rootfs().join("opt/secretdir/f"), "secret\n")?;
        b.push("/linux/maskedPaths", json!("/etc/conf-secret")).push("/linux/maskedPaths", json!("/opt/secretdir"));
        b.sh("echo \"[$(cat /etc/conf-secret)]\"; echo \"[$(ls /opt/secretdir)]\"");
        let out = c.run_ok(&b)?;
        ensure!(out == "[]\n[]\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn readonly_paths() {
    judge("linux.readonlyPaths", "readonlyPaths: writes fail there, not beside", |c| {
        let mut b = c.bundle()?;
        std::fs::create_dir_all(b.rootfs().join("opt/rodir"))?;
        std::fs::create_dir_all(b.rootfs().join("opt/rwdir"))?;
        b.push("/linux/readonlyPaths", json!("/opt/rodir"));
        b.sh("touch /opt/rodir/x 2>&1; touch /opt/rwdir/x && echo rw-ok");
        let out = c.run_ok(&b)?;
        ensure!(out.contains("Read-only file system") && out.contains("rw-ok"), "{out:?}");
        Ok(())
    })
}

#[test]
fn devices_node() {
    judge("linux.devices", "a char device in linux.devices: /dev node with its major:minor and mode", |c| {
        let mut b = c.bundle()?;
        b.push("/linux/devices", json!({"path": "/dev/conf0", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 0, "gid": 0}));
        b.args(&["stat", "-c", "%F %t:%T %a", "/dev/conf0"]);
        let out = c.run_ok(&b)?;
        ensure!(out == "character special file 1:3 640\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn default_devices() {
    judge("linux.default-devices", "default devices null, zero, full, random, urandom, tty; /dev/ptmx, /dev/fd, stdio links", |c| {
        let mut b = c.bundle()?;
        b.sh(concat!(
            "for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done; ",
            "echo x > /dev/null && head -c 3 /dev/zero | wc -c; ",
            "for l in ptmx fd stdin stdout stderr; do echo \"$l=$(readlink /dev/$l)\"; done"
        ));
        let out = c.run_ok(&b)?;
        let want = "null\nzero\nfull\nrandom\nurandom\ntty\n3\nptmx=pts/ptmx\nfd=/proc/self/fd\nstdin=/proc/self/fd/0\nstdout=/proc/self/fd/1\nstderr=/proc/self/fd/2\n";
        ensure!(out == want, "{out:?}");
        Ok(())
    })
}

#[test]
fn sysctl() {
    judge("linux.sysctl", "sysctl net.ipv4.ip_forward (new netns) and kernel.shm_rmid_forced (new ipc ns); the host's unchanged", |c| {
        let host_before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")?;
        let want = if host_before.trim() == "1" { "0" } else { "1" };
        let mut b = c.bundle()?;
        b.set("/linux/sysctl", json!({"net.ipv4.ip_forward": want, "kernel.shm_rmid_forced": "1"}));
        b.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced");
        let out = c.run_ok(&b)?;
        ensure!(out == format!("{want}\n1\n"), "{out:?}");
        ensure!(std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")? == host_before, "the host's ip_forward changed");
        Ok(())
    })
}

#[test]
fn namespace_network() {
    judge("linux.namespaces.network", "a new network namespace: another net ns, only lo", |c| {
        let mut b = c.bundle()?;
        b.sh("readlink /proc/self/ns/net; ls /sys/class/net");
        let out = c.run_ok(&b)?;
        let mut lines = out.lines();
        let ns = lines.next().unwrap_or("");
        ensure!(ns.starts_with("net:[") && ns != host_ns("net")?, "net ns {ns:?}");
        ensure!(lines.collect::<Vec<_>>() == ["lo"], "{out:?}");
        Ok(())
    })
}

#[test]
fn namespace_uts() {
    judge("linux.namespaces.uts", "a new uts namespace: another uts ns; the host's hostname unchanged", |c| {
        let before = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
        let mut b = c.bundle()?;
        b.set("/hostname", json!("conf-uts")).args(&["readlink", "/proc/self/ns/uts"]);
        let out = c.run_ok(&b)?;
        ensure!(out.starts_with("uts:[") && out.trim() != host_ns("uts")?, "uts ns {out:?}");
        ensure!(std::fs::read_to_string("/proc/sys/kernel/hostname")? == before, "the host's hostname changed");
        Ok(())
    })
}

#[test]
fn namespace_join_network_by_path() {
    judge("linux.namespaces.path", "joining an existing network namespace by path (ip netns add)", |c| {
        let ns = c.netns()?;
        let st = std::process::Command::new("ip").args(["-n", &ns, "link", "add", "confv0", "type", "veth", "peer", "name", "confv1"]).status()?;
        ensure!(st.success(), "ip link add veth in {ns}: {st}");
        let path = format!("/run/netns/{ns}");
        let ino = std::fs::metadata(&path)?.ino();
        let mut b = c.bundle()?;
        b.drop_namespace("network").push("/linux/namespaces", json!({"type": "network", "path": path}));
        b.sh("readlink /proc/self/ns/net; ls /sys/class/net");
        let out = c.run_ok(&b)?;
        ensure!(out.starts_with(&format!("net:[{ino}]\n")), "expected net:[{ino}]: {out:?}");
        ensure!(out.lines().any(|l| l == "confv0"), "{out:?}");
        Ok(())
    })
}

#[test]
fn namespaces_pid_ipc_mount_cgroup() {
    judge("linux.namespaces.others", "new pid (the process is pid 1), ipc, mount and cgroup namespaces (its cgroup is /)", |c| {
        let mut b = c.bundle()?;
        b.push("/linux/namespaces", json!({"type": "cgroup"}));
        b.sh("echo $$; for n in ipc mnt cgroup; do readlink /proc/self/ns/$n; done; grep memory /proc/self/cgroup");
        let out = c.run_ok(&b)?;
        let lines: Vec<&str> = out.lines().collect();
        ensure!(lines.len() == 5 && lines[0] == "1", "{out:?}");
        for (line, kind) in lines[1..4].iter().zip(["ipc", "mnt", "cgroup"]) {
            ensure!(*line != host_ns(kind)?, "{kind} namespace is the host's: {line}");
        }
        ensure!(lines[4].ends_with(":memory:/"), "cgroup path inside the cgroup namespace: {}", lines[4]);
        Ok(())
    })
}

#[test]
fn namespace_user() {
    judge("linux.namespaces.user", "a user namespace with uidMappings/gidMappings: uid_map, gid_map; root inside is 100000 outside", |c| {
        let mut b = c.bundle()?;
        b.push("/linux/namespaces", json!({"type": "user"}));
        b.set("/linux/uidMappings", json!([{"containerID": 0, "hostID": 100000, "size": 65536}]));
        b.set("/linux/gidMappings", json!([{"containerID": 0, "hostID": 100000, "size": 65536}]));
        // the rootfs belongs to the mapped root, as a tool would chown it
        let st = std::process::Command::new("chown").args(["-R", "-h", "100000:100000"]).arg(b.rootfs()).status()?;
        ensure!(st.success(), "chown the rootfs: {st}");
        b.remove("/linux/resources/devices");
        b.sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; echo ok > /tmp/f; stat -c %u /tmp/f");
        let out = c.run_ok(&b)?;
        let words: Vec<&str> = out.split_whitespace().collect();
        ensure!(words == ["0", "100000", "65536", "0", "100000", "65536", "0", "0"], "{out:?}");
        let host_uid = std::fs::metadata(b.rootfs().join("tmp/f"))?.uid();
        ensure!(host_uid == 100000, "the file root made inside is uid {host_uid} on the host");
        Ok(())
    })
}

#[test]
fn cgroup_memory_limit() {
    judge("linux.resources.memory", "memory.limit 64 MiB → memory.limit_in_bytes of the container's cgroup", |c| {
        let mut b = c.bundle()?;
        b.set("/linux/resources/memory", json!({"limit": 67108864})).args(&["sleep", "60"]);
        let v = created_cgroup_value(c, &b, "memory", "memory.limit_in_bytes")?;
        ensure!(v == "67108864", "memory.limit_in_bytes {v}");
        Ok(())
    })
}

#[test]
fn cgroup_memory_limit_inside() {
    judge("linux.resources.memory-inside", "the cgroup mount at /sys/fs/cgroup shows the container's own memory limit inside", |c| {
        let mut b = c.bundle()?;
        b.set("/linux/resources/memory", json!({"limit": 67108864}));
        b.sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max");
        let out = c.run_ok(&b)?;
        ensure!(out == "67108864\n", "{out:?}");
        Ok(())
    })
}

#[test]
fn cgroup_pids_limit() {
    judge("linux.resources.pids", "pids.limit 42 → pids.max of the container's cgroup", |c| {
        let mut b = c.bundle()?;
        b.set("/linux/resources/pids", json!({"limit": 42})).args(&["sleep", "60"]);
        let v = created_cgroup_value(c, &b, "pids", "pids.max")?;
        ensure!(v == "42", "pids.max {v}");
        Ok(())
    })
}

#[test]
fn cgroup_cpu_shares() {
    judge("linux.resources.cpu", "cpu.shares 512 → cpu.shares of the container's cgroup", |c| {
        let mut b = c.bundle()?;
        b.set("/linux/resources/cpu", json!({"shares": 512})).args(&["sleep", "60"]);
        let v = created_cgroup_value(c, &b, "cpu", "cpu.shares")?;
        ensure!(v == "512", "cpu.shares {v}");
        Ok(())
    })
}

#[test]
fn cgroup_cpu_quota() {
    judge("linux.resources.cpu-quota", "cpu.quota 50000 / period 100000 → cpu.cfs_quota_us, cpu.cfs_period_us", |c| {
        let mut b = c.bundle()?;
        b.set("/linux/resources/cpu", json!({"quota": 50000, "period": 100000})).args(&["sleep", "60"]);
        let id = c.create_ok(&b)?;
        let pid = pid_of(&c.state(&id)?)?;
        let (q, p) = (cgroup_v1_file(pid, "cpu", "cpu.cfs_quota_us")?, cgroup_v1_file(pid, "cpu", "cpu.cfs_period_us")?);
        ensure!(q == "50000" && p == "100000", "quota {q}, period {p}");
        Ok(())
    })
}

#[test]
fn cgroup_device_rules() {
    judge("linux.resources.devices", "device cgroup rules: deny all, then allow c 10:200 rwm → the devices cgroup's list (v1): 10:200 there, no block device readable/writable", |c| {
        let mut b = c.bundle()?;
        b.push("/linux/resources/devices", json!({"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}));
        b.args(&["sleep", "60"]);
        let id = c.create_ok(&b)?;
        let pid = pid_of(&c.state(&id)?)?;
        let list = cgroup_v1_file(pid, "devices", "devices.list")?;
        ensure!(list.lines().any(|l| l == "c 10:200 rwm"), "c 10:200 rwm not allowed: {list:?}");
        ensure!(!list.lines().any(|l| l == "a *:* rwm"), "everything allowed: {list:?}");
        // runc's defaults allow mknod of any node (`b *:* m`): only read/write counts
        ensure!(!list.lines().any(|l| l.starts_with("b ") && l.rsplit(' ').next().is_some_and(|a| a.contains('r') || a.contains('w'))), "a block device readable or writable: {list:?}");
        Ok(())
    })
}

#[test]
fn seccomp_errno() {
    judge("linux.seccomp", "seccomp profile denying mkdir/mkdirat with errno EACCES", |c| {
        let mut b = c.bundle()?;
        b.set(
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}),
        );
        b.sh("mkdir /tmp/conf-d 2>&1; grep Seccomp: /proc/self/status; touch /tmp/conf-f && echo touch-ok");
        let out = c.run_ok(&b)?;
        ensure!(out.contains("Permission denied") && out.contains("Seccomp:\t2") && out.contains("touch-ok"), "{out:?}");
        ensure!(!b.rootfs().join("tmp/conf-d").exists(), "the directory was made");
        Ok(())
    })
}

// ---------------------------------------------------------------- hooks (config.md#posix-platform-hooks)

const HOOKS: [&str; 6] = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

/// Runs a process under all six hooks, each a shell script appending a
/// line `NAME STATE-JSON` (the state it got on stdin) to a log; the
/// process appends `process`. Returns (container id, the log's entries in order).
fn run_with_hooks(c: &Case) -> anyhow::Result<(String, Vec<(String, Option<Value>)>)> {
    // the hooks' folder is bind-mounted at the same path in the
    // container: startContainer runs there, the others on the host
    let dir = c.host_dir("hooks")?;
    let log = dir.join("log");
    let dir_s = oci_runtime::path_str(&dir)?.to_string();
    let mut b = c.bundle()?;
    for name in HOOKS {
        let script = dir.join(format!("{name}.sh"));
        // one printf: one write(2) with O_APPEND, so hooks the runtime
        // runs at the same time do not interleave their lines
        std::fs::write(&script, format!("#!/bin/sh\nprintf '%s %s\\n' {name} \"$(cat)\" >> {}\n", log.display()))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        b.push(&format!("/hooks/{name}"), json!({"path": script, "args": [format!("{name}.sh")]}));
    }
    b.mount(&dir_s, "bind", &dir_s, &["rbind", "rw"]);
    b.sh(&format!("echo process >> {}", log.display()));
    b.write()?;
    let id = c.new_id();
    let r = c.exec(&["run", "--bundle", oci_runtime::path_str(&b.dir)?, &id], None)?;
    ensure!(r.ok(), "run: {}", r.describe());
    let text = std::fs::read_to_string(&log).context("no hook ran")?;
    let mut entries: Vec<(String, Option<Value>)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (name, state) = line.split_once(' ').unwrap_or((line, ""));
        let state = match state.trim() {
            "" => None,
            json => Some(serde_json::from_str(json).with_context(|| format!("state of {name}: {json}"))?),
        };
        entries.push((name.to_string(), state));
    }
    Ok((id, entries))
}

#[test]
fn hooks_order() {
    judge("hooks.order", "hooks each run once: prestart, createRuntime, createContainer, then startContainer before the process; poststart; poststop last", |c| {
        let (_, entries) = run_with_hooks(c)?;
        let order: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        c.note(format!("order {}", order.join(",")));
        let at = |name: &str| -> anyhow::Result<usize> {
            ensure!(order.iter().filter(|n| **n == name).count() == 1, "{name} ran not exactly once: {order:?}");
            Ok(order.iter().position(|n| *n == name).unwrap_or(usize::MAX))
        };
        let (pre, cr, cc, sc, ps, pst, pr) =
            (at("prestart")?, at("createRuntime")?, at("createContainer")?, at("startContainer")?, at("poststart")?, at("poststop")?, at("process")?);
        ensure!(pre < cr && cr < cc && cc < sc && cc < ps, "create-time hooks out of order: {order:?}");
        ensure!(sc < pr, "startContainer ran after the process: {order:?}");
        ensure!(pst == order.len() - 1, "poststop is not last: {order:?}");
        Ok(())
    })
}

/// "NAME=STATUS,…" of the hooks' states, checked to carry the id.
fn hook_statuses(id: &str, entries: &[(String, Option<Value>)]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (name, state) in entries.iter().filter(|(n, _)| n != "process") {
        let s = state.as_ref().ok_or_else(|| anyhow::anyhow!("{name} got no state on stdin"))?;
        ensure!(s["id"] == id, "{name}: state of another id: {s}");
        ensure!(s["ociVersion"].is_string() && s["bundle"].is_string(), "{name}: state without ociVersion or bundle: {s}");
        out.push((name.clone(), s["status"].as_str().unwrap_or("?").to_string()));
    }
    Ok(out)
}

fn show(statuses: &[(String, String)]) -> String {
    statuses.iter().map(|(n, s)| format!("{n}={s}")).collect::<Vec<_>>().join(",")
}

#[test]
fn hooks_state() {
    judge("hooks.state", "each hook gets the state on stdin: the container's id, ociVersion, bundle, a pid when created/running; poststop's status \"stopped\"", |c| {
        let (id, entries) = run_with_hooks(c)?;
        let statuses = hook_statuses(&id, &entries)?;
        c.note(format!("statuses {}", show(&statuses)));
        // runtime.md: pid is REQUIRED when the status is created or running
        for (name, state) in entries.iter().filter(|(n, _)| n != "process") {
            let s = state.as_ref().ok_or_else(|| anyhow::anyhow!("{name} got no state"))?;
            let status = s["status"].as_str().unwrap_or("?");
            if status == "created" || status == "running" {
                ensure!(s["pid"].as_i64().is_some_and(|p| p > 0), "{name}: status {status} without a pid: {s}");
            }
        }
        ensure!(statuses.len() == HOOKS.len(), "{} states for {} hooks", statuses.len(), HOOKS.len());
        ensure!(statuses.iter().any(|(n, s)| n == "poststop" && s == "stopped"), "{}", show(&statuses));
        Ok(())
    })
}

#[test]
fn hooks_status_values() {
    judge("hooks.status", "the hooks' status follows the lifecycle: creating or created (create-time hooks), created (startContainer), running or stopped (poststart)", |c| {
        let (id, entries) = run_with_hooks(c)?;
        let statuses = hook_statuses(&id, &entries)?;
        c.note(format!("statuses {}", show(&statuses)));
        for (name, status) in &statuses {
            let allowed: &[&str] = match name.as_str() {
                // steps 3-5 of the lifecycle: after step 2 ("creating"),
                // before the create operation returns ("created")
                "prestart" | "createRuntime" | "createContainer" => &["creating", "created"],
                "startContainer" => &["created"],
                "poststart" => &["running", "stopped"],
                "poststop" => &["stopped"],
                other => bail!("unexpected hook {other}"),
            };
            ensure!(allowed.contains(&status.as_str()), "{name}: status {status:?}, expected {allowed:?} ({})", show(&statuses));
        }
        Ok(())
    })
}

#[test]
fn hooks_prestart_fails() {
    judge("hooks.prestart-fails", "a failing prestart hook: create fails, the process never runs, no container left", |c| {
        let mut b = c.bundle()?;
        let out = with_out_dir(c, &mut b)?;
        b.push("/hooks/prestart", json!({"path": "/bin/false"}));
        b.sh("echo ran > /out/ran");
        refused(c, &b, "a prestart hook that fails")?;
        ensure!(!out.join("ran").exists(), "the process ran");
        Ok(())
    })
}

#[test]
fn hooks_poststart_fails() {
    judge("hooks.poststart-fails", "a failing poststart hook: a warning; the process and the remaining hooks go on (config.md 1.0)", |c| {
        let mut b = c.bundle()?;
        let out = with_out_dir(c, &mut b)?;
        b.push("/hooks/poststart", json!({"path": "/bin/false"}));
        b.sh("sleep 0.5; echo ran > /out/ran");
        let r = c.run(&b)?;
        c.note(format!("run: {}", r.describe()));
        ensure!(out.join("ran").exists(), "the process did not run to its end; run: {}", r.describe());
        ensure!(r.ok(), "run failed: {}", r.describe());
        Ok(())
    })
}

// ---------------------------------------------------------------- unsupported input refused

#[test]
fn refuses_unknown_mount_type() {
    judge("refuse.mount-type", "an unknown mount type: create fails with a message, no container left", |c| {
        let mut b = c.bundle()?;
        b.mount("/conf", "conf-nosuchfs", "none", &[]);
        refused(c, &b, "mount type conf-nosuchfs")
    })
}

#[test]
fn refuses_unknown_namespace_type() {
    judge("refuse.namespace-type", "a namespace type that does not exist: create fails with a message", |c| {
        let mut b = c.bundle()?;
        b.push("/linux/namespaces", json!({"type": "conf-nosuchns"}));
        refused(c, &b, "namespace type conf-nosuchns")
    })
}

// ---------------------------------------------------------------- runc's command line beyond the spec

#[test]
fn cli_exec() {
    judge("cli.exec", "exec ID CMD: runs in the container's namespaces and cwd, its exit code returned", |c| {
        let mut b = c.bundle()?;
        b.set("/hostname", json!("conf-exec")).args(&["sleep", "60"]);
        let id = c.create_ok(&b)?;
        c.must(&["start", &id])?;
        let pid = pid_of(&c.state(&id)?)?;
        let init_ns = |k: &str| std::fs::read_link(format!("/proc/{pid}/ns/{k}")).map(|p| p.to_string_lossy().into_owned());
        let r = c.exec(&["exec", &id, "sh", "-c", "hostname; exit 3"], None)?;
        ensure!(r.code == Some(3) && r.stdout == "conf-exec\n", "exec: {}", r.describe());
        let want = format!("{}\n{}\n{}\n", init_ns("pid")?, init_ns("mnt")?, init_ns("net")?);
        let r2 = c.exec(&["exec", &id, "sh", "-c", "for n in pid mnt net; do readlink /proc/self/ns/$n; done"], None)?;
        ensure!(r2.stdout == want, "exec's namespaces {:?}, init's {want:?}", r2.stdout);
        Ok(())
    })
}

#[test]
fn cli_pause_resume() {
    judge("cli.pause-resume", "pause → state \"paused\" (the freezer frozen); resume → \"running\"", |c| {
        let mut b = c.bundle()?;
        b.args(&["sleep", "60"]);
        let id = c.create_ok(&b)?;
        c.must(&["start", &id])?;
        c.must(&["pause", &id])?;
        ensure!(c.status(&id)? == "paused", "status after pause: {}", c.status(&id)?);
        let pid = pid_of(&c.state(&id)?)?;
        let frozen = cgroup_v1_file(pid, "freezer", "freezer.state")?;
        ensure!(frozen == "FROZEN", "freezer.state {frozen}");
        c.must(&["resume", &id])?;
        ensure!(c.status(&id)? == "running", "status after resume: {}", c.status(&id)?);
        Ok(())
    })
}

#[test]
fn cli_list() {
    judge("cli.list", "list --format json: the containers of this --root with their status", |c| {
        let b = c.bundle()?;
        let id = c.create_ok(&b)?;
        let r = c.must(&["list", "--format", "json"])?;
        let v: Value = serde_json::from_str(&r.stdout).with_context(|| format!("list: not JSON: {:?}", r.stdout))?;
        let all = v.as_array().ok_or_else(|| anyhow::anyhow!("list: not an array: {v}"))?;
        ensure!(all.len() == 1 && all[0]["id"] == id.as_str() && all[0]["status"] == "created", "{v}");
        Ok(())
    })
}
