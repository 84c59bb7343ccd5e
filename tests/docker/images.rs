//! The docker CLI's image, network, volume, events and system verbs
//! against bocker's API: pull and push against a local registry (also one
//! that wants a login), a multi-stage build, tag/rmi, save/load, networks,
//! volumes, events while a container runs and exits, system df.
use super::Docker;
use crate::common::text;
use crate::regsupport::Registry;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `docker ARGS` that must fail; (exit code, stderr)
fn docker_fails(d: &Docker, args: &[&str]) -> (i32, String) {
    let o = d.docker(args);
    assert!(!o.status.success(), "docker {args:?} succeeded: {}", text(&o.stdout));
    (o.status.code().unwrap_or(-1), text(&o.stderr))
}

fn lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    v.sort();
    v
}

#[test]
fn tag_push_rmi_pull_against_a_local_registry() {
    let d = Docker::new();
    let img = d.env.busybox();
    let reg = Registry::start(None);
    let name = format!("{}/team/bb:1", reg.host());

    d.docker_ok(&["tag", &img, "bb:1"]);
    d.docker_ok(&["tag", "bb:1", &name]);
    let listed = d.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(lines(&listed), lines(&format!("bb:1\n{name}\n")), "{listed}");
    // the REPOSITORY[:TAG] argument filters
    assert_eq!(d.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}", "bb"]).trim(), "bb:1");

    let out = d.docker_ok(&["push", &name]);
    assert!(out.contains(&format!("The push refers to repository [{}/team/bb]", reg.host())), "{out}");
    assert!(out.contains("1: digest: sha256:"), "{out}");

    // a name among others is only untagged; the last one takes the image
    let out = d.docker_ok(&["rmi", &name]);
    assert_eq!(out.trim(), format!("Untagged: {name}"));
    assert_eq!(d.docker_ok(&["images", "-q"]).trim().len(), 12, "the image is still there");
    // the base of another image: its last name goes, the image stays; by id: 409
    d.docker_ok(&["tag", "bb:1", "base:x"]);
    let ctx = d.env.dir.path().join("child");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM base:x\nLABEL child=1\n").unwrap();
    d.docker_ok(&["build", "-t", "child:1", ctx.to_str().unwrap()]);
    assert_eq!(d.docker_ok(&["rmi", "base:x"]).trim(), "Untagged: base:x");
    let (code, err) = docker_fails(&d, &["rmi", &img[4..]]);
    assert_eq!(code, 1);
    assert!(err.contains("image has dependent child images"), "{err}");
    d.docker_ok(&["rmi", "child:1"]);
    let (code, err) = docker_fails(&d, &["rmi", "nosuch:9"]);
    assert_eq!(code, 1);
    assert!(err.contains("No such image: nosuch:9"), "{err}");

    let out = d.docker_ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains(&format!("Status: Downloaded newer image for {name}")), "{out}");
    let digest = d.docker_ok(&["image", "inspect", "-f", "{{index .RepoDigests 0}}", &name]);
    assert!(digest.trim().starts_with(&format!("{}/team/bb@sha256:", reg.host())), "{digest}");
    let again = d.docker_ok(&["pull", &name]);
    assert!(again.contains("Image is up to date"), "{again}");
    // the pulled image runs (through bocker's CLI: run is the containers part's)
    assert_eq!(d.bocker_ok(&["run", "--rm", &name, "echo", "pulled"]), "pulled\n");
    let hist = d.docker_ok(&["history", "--format", "{{.CreatedBy}}", &name]);
    assert!(!hist.trim().is_empty(), "{hist}");

    let (code, err) = docker_fails(&d, &["pull", &format!("{}/team/missing:1", reg.host())]);
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn push_and_pull_with_a_login_the_client_keeps() {
    let d = Docker::new();
    let img = d.env.busybox();
    let reg = Registry::start(Some("alice:s3cret"));
    let name = format!("{}/private/bb:1", reg.host());
    d.docker_ok(&["tag", &img, &name]);

    let (_, err) = docker_fails(&d, &["push", &name]);
    assert!(err.to_lowercase().contains("unauthorized") || err.contains("401"), "{err}");
    let mut login = d.docker_cmd(&["login", "-u", "alice", "--password-stdin", &reg.host()]);
    login.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = login.spawn().expect("docker login");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(b"wrong\n").expect("write");
    }
    let o = child.wait_with_output().expect("docker login");
    assert!(!o.status.success(), "a wrong password logs in: {}", text(&o.stdout));

    let mut login = d.docker_cmd(&["login", "-u", "alice", "--password-stdin", &reg.host()]);
    login.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = login.spawn().expect("docker login");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(b"s3cret\n").expect("write");
    }
    let o = child.wait_with_output().expect("docker login");
    assert!(o.status.success(), "docker login: {}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("Login Succeeded"));
    // the engine keeps no credentials: they come with each request
    assert!(!d.env.root().join("auth.json").exists(), "the engine stored the login");

    let out = d.docker_ok(&["push", &name]);
    assert!(out.contains("digest: sha256:"), "{out}");
    d.docker_ok(&["rmi", &name]);
    let out = d.docker_ok(&["pull", &name]);
    assert!(out.contains("Downloaded newer image"), "{out}");
}

#[test]
fn build_of_a_multi_stage_dockerfile() {
    let d = Docker::new();
    let img = d.env.busybox();
    d.docker_ok(&["tag", &img, "base:1"]);
    let ctx = d.env.dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("src")).unwrap();
    std::fs::write(ctx.join("src/msg.txt"), "from the context\n").unwrap();
    std::fs::write(ctx.join("secret.key"), "not for the image\n").unwrap();
    std::fs::write(ctx.join(".dockerignore"), "secret.key\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM base:1 AS builder\nARG WHO=nobody\nCOPY src/msg.txt /msg.txt\nRUN echo \"built for $WHO\" > /out.txt && cat /msg.txt >> /out.txt && echo step-ran\n\
         FROM base:1\nCOPY --from=builder /out.txt /final.txt\nLABEL stage=final\nCMD [\"cat\", \"/final.txt\"]\n",
    )
    .unwrap();
    let out = d.docker_ok(&["build", "-t", "multi:1", "-t", "multi:latest", "--build-arg", "WHO=docker", ctx.to_str().unwrap()]);
    assert!(out.contains("Step 1/") && out.contains(": FROM base:1\n"), "{out}");
    assert!(out.contains("step-ran"), "a RUN step's output is streamed: {out}");
    let built = out.lines().find_map(|l| l.strip_prefix("Successfully built ")).unwrap_or_else(|| panic!("{out}"));
    assert!(built.bytes().all(|b| b.is_ascii_hexdigit()), "the id as Docker's clients parse it: {out}");
    // that hex names the image (as sha256:HEX too)
    let id = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", &format!("sha256:{built}")]);
    assert_eq!(id.trim(), format!("img_{built}"));
    assert!(out.contains("Successfully tagged multi:1") && out.contains("Successfully tagged multi:latest"), "{out}");
    assert_eq!(d.bocker_ok(&["run", "--rm", "multi:1"]), "built for docker\nfrom the context\n");
    assert_eq!(d.docker_ok(&["image", "inspect", "-f", "{{.Config.Labels.stage}} {{index .Config.Cmd 0}}", "multi:latest"]).trim(), "final cat");
    let ls = d.bocker_ok(&["run", "--rm", "multi:1", "ls", "/"]);
    assert!(!ls.contains("secret.key"), "{ls}");

    // -q prints the id only; a failing step fails the build with its message
    let id = d.docker_ok(&["build", "-q", ctx.to_str().unwrap()]);
    assert!(id.trim().starts_with("img_") && id.trim().lines().count() == 1, "{id}");
    std::fs::write(ctx.join("Dockerfile.bad"), "FROM base:1\nRUN echo before; exit 3\n").unwrap();
    let (code, err) = docker_fails(&d, &["build", "-f", ctx.join("Dockerfile.bad").to_str().unwrap(), ctx.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("returned a non-zero code: 3"), "{err}");
}

/// A context tar whose Dockerfile is a symlink out of the context: refused,
/// the host file never read.
#[test]
fn build_context_symlinks_stay_inside() {
    let d = Docker::new();
    let dir = d.env.dir.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let secret = d.env.dir.path().join("host-secret");
    std::fs::write(&secret, "HOST-SECRET\n").unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("Dockerfile")).unwrap();
    let tar = d.env.dir.path().join("ctx.tar");
    let st = std::process::Command::new("tar").arg("-C").arg(&dir).arg("-cf").arg(&tar).arg("Dockerfile").status().unwrap();
    assert!(st.success());
    let o = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", "--unix-socket", d.service.socket.to_str().unwrap(), "-H", "Content-Type: application/x-tar", "--data-binary"])
        .arg(format!("@{}", tar.display()))
        .args(["-w", "\n%{http_code}", "http://bocker/v1.41/build?t=evil:1"])
        .output()
        .unwrap();
    let out = text(&o.stdout);
    assert!(out.ends_with("\n400"), "{out}");
    assert!(out.contains("Cannot locate specified Dockerfile"), "{out}");
    assert!(!out.contains("HOST-SECRET"), "{out}");
    let left: Vec<_> = std::fs::read_dir(d.env.root().join("tmp")).map(|r| r.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "the context was not removed: {left:?}");
}

#[test]
fn save_and_load() {
    let d = Docker::new();
    let img = d.env.busybox();
    d.docker_ok(&["tag", &img, "keep:1"]);
    let tar = d.env.dir.path().join("keep.tar");
    d.docker_ok(&["save", "-o", tar.to_str().unwrap(), "keep:1"]);
    assert!(std::fs::metadata(&tar).unwrap().len() > 100_000);
    let out = d.docker_ok(&["rmi", "keep:1"]);
    assert!(out.contains("Deleted: img_"), "{out}");
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());
    let out = d.docker_ok(&["load", "-i", tar.to_str().unwrap()]);
    assert_eq!(out.trim(), "Loaded image: keep:1");
    assert_eq!(d.bocker_ok(&["run", "--rm", "keep:1", "echo", "loaded"]), "loaded\n");
}

#[test]
fn networks_and_volumes() {
    let d = Docker::new();
    let img = d.env.busybox();
    let subnet = d.env.extra_subnet(0);
    let id = d.docker_ok(&["network", "create", "--subnet", &subnet, "--label", "team=a", "front"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let ls = d.docker_ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(ls.lines().any(|l| l == "front bridge") && ls.lines().any(|l| l == "bridge bridge"), "{ls}");
    assert_eq!(d.docker_ok(&["network", "ls", "-q", "--filter", "label=team=a"]).trim(), &id.trim()[..12]);
    let sub = d.docker_ok(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.team}}", "front"]);
    assert_eq!(sub.trim(), format!("{subnet} a"));
    let (code, err) = docker_fails(&d, &["network", "create", "front"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");

    d.bocker_ok(&["run", "-d", "--name", "c1", &img, "sleep", "60"]);
    d.docker_ok(&["network", "connect", "--alias", "web", "front", "c1"]);
    let members = d.docker_ok(&["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}", "front"]);
    let prefix = subnet.rsplit_once('.').unwrap().0;
    assert!(members.starts_with(&format!("c1 {prefix}.")), "{members}");
    let (_, err) = docker_fails(&d, &["network", "rm", "front"]);
    assert!(err.contains("in use") || err.contains("active endpoints"), "{err}");
    d.docker_ok(&["network", "disconnect", "front", "c1"]);
    d.bocker_ok(&["rm", "-f", "c1"]);
    assert_eq!(d.docker_ok(&["network", "rm", "front"]).trim(), "front");
    let (_, err) = docker_fails(&d, &["network", "inspect", "front"]);
    assert!(err.contains("No such network"), "{err}");

    assert_eq!(d.docker_ok(&["volume", "create", "--label", "k=v", "data"]).trim(), "data");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]).trim(), "data");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q", "--filter", "label=k=v"]).trim(), "data");
    assert!(d.docker_ok(&["volume", "ls", "-q", "--filter", "label=k=other"]).trim().is_empty());
    let mp = d.docker_ok(&["volume", "inspect", "-f", "{{.Mountpoint}} {{.Labels.k}} {{.Driver}}", "data"]);
    assert_eq!(mp.trim(), format!("{} v local", d.env.root().join("volumes/data/_data").display()));
    d.bocker_ok(&["run", "-d", "--name", "user", "-v", "data:/data", &img, "sleep", "60"]);
    let (_, err) = docker_fails(&d, &["volume", "rm", "data"]);
    assert!(err.contains("in use"), "{err}");
    let df = d.docker_ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"]);
    assert!(df.contains("Images 1 1") && df.contains("Containers 1 1") && df.contains("Local Volumes 1 1"), "{df}");
    d.bocker_ok(&["rm", "-f", "user"]);
    assert_eq!(d.docker_ok(&["volume", "rm", "data"]).trim(), "data");
    d.docker_ok(&["volume", "create", "loose"]);
    let out = d.docker_ok(&["volume", "prune", "-f"]);
    assert!(out.contains("loose"), "{out}");
    assert!(d.docker_ok(&["volume", "ls", "-q"]).trim().is_empty());
}

#[test]
fn events_while_a_container_runs_and_exits() {
    let d = Docker::new();
    let img = d.env.busybox();
    let t0 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // a follower started before the container
    let mut follow = d
        .docker_cmd(&["events", "--filter", "container=ev", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker events");
    std::thread::sleep(Duration::from_millis(500));
    d.bocker_ok(&["run", "-d", "--name", "ev", &img, "sh", "-c", "sleep 1; exit 4"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.bocker_ok(&["ps", "-a"]).contains("Exited") {
        assert!(Instant::now() < deadline, "ev did not exit");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = follow.kill();
    let mut seen = String::new();
    follow.stdout.take().expect("stdout").read_to_string(&mut seen).unwrap();
    let _ = follow.wait();
    let start = seen.find("container start ev").unwrap_or_else(|| panic!("no start: {seen}"));
    let die = seen.find("container die ev").unwrap_or_else(|| panic!("no die: {seen}"));
    assert!(start < die, "{seen}");

    // the follower's handler ends once its client is gone (within a second
    // of idling): no worker is busy ("api"; an idle one is "api-idle")
    let tasks = format!("/proc/{}/task", d.service.child.id());
    let busy = || std::fs::read_dir(&tasks).unwrap().flatten().filter(|t| std::fs::read_to_string(t.path().join("comm")).unwrap_or_default().trim() == "api").count();
    let deadline = Instant::now() + Duration::from_secs(10);
    while busy() > 0 {
        assert!(Instant::now() < deadline, "the events handler outlived its client");
        std::thread::sleep(Duration::from_millis(200));
    }

    // since/until: a bounded read of the past, filtered
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1;
    let out = d.docker_ok(&["events", "--since", &(t0 - 1).to_string(), "--until", &now.to_string(), "--filter", "event=die", "--format", "{{.Action}} {{.Actor.Attributes.exitCode}}"]);
    assert_eq!(out.trim(), "die 4");
}
