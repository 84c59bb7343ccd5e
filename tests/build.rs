//! Image builds on the real kernel: build.lua and Dockerfile builds, the
//! build cache, failing steps, commit (added, changed, deleted files; the
//! seed's replace form; a running container), save/load as OCI archives
//! read by skopeo and umoci, and push to a local registry read back by
//! skopeo and run by podman.
mod common;
#[path = "regsupport/mod.rs"]
mod reg;
use common::{text, Env, built_id};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(p: &Path, s: &str) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, s).unwrap();
}

/// A build context: files to COPY (one with an owner and mode to keep).
fn context(e: &Env, name: &str) -> PathBuf {
    let d = e.dir.path().join(name);
    write(&d.join("msg.txt"), "hello from the context\n");
    write(&d.join("src/app.sh"), "#!/bin/sh\necho app $GREETING\n");
    std::fs::set_permissions(d.join("src/app.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::chown(d.join("src/app.sh"), Some(1000), Some(1000)).unwrap();
    d
}

/// `ls -l` lines without their month, day and time columns.
fn without_ls_times(s: &str) -> String {
    s.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() >= 9 && matches!(l.as_bytes().first(), Some(b'-' | b'd' | b'l')) {
                [&f[..5], &f[8..]].concat().join(" ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const PROBE: &str = "ls -ln /app /app/src | grep -v total; cat /app/msg.txt /app/greet; echo $GREETING $MODE; pwd; id -u; test -e /etc/os-release || echo no-os-release";

#[test]
fn build_lua_and_dockerfile_make_the_same_image_and_the_cache_hits() {
    let e = Env::new();
    let bb = e.busybox();
    e.ok(&["tag", &bb, "busybox:latest"]);

    let df = context(&e, "df");
    write(
        &df.join("Dockerfile"),
        r#"# the same image as build.lua
FROM busybox:latest
ENV GREETING=hi \
    MODE="prod x"
ARG WHO=world
RUN mkdir -p /app && echo "hello $WHO" > /app/greet \
 && rm /etc/os-release
COPY msg.txt /app/
COPY src /app/src
WORKDIR /app
USER 1000
EXPOSE 8080
LABEL org.example.k=v
CMD ["/app/src/app.sh"]
"#,
    );
    let lua = context(&e, "lua");
    write(
        &lua.join("build.lua"),
        r#"local build = require "bocker.build"
local b = build.from("busybox:latest")
b:env({ GREETING = "hi", MODE = "prod x" })
b:run('mkdir -p /app && echo "hello $WHO" > /app/greet && rm /etc/os-release', { env = { "WHO=world" } })
b:copy("msg.txt", "/app/")
b:copy("src", "/app/src")
b:workdir("/app")
b:user("1000")
b:expose(8080)
b:label("org.example.k", "v")
b:cmd({ "/app/src/app.sh" })
"#,
    );
    // both with --no-cache: two builds of the same steps
    let out = e.ok(&["build", "--no-cache", "-t", "fromlua:1", lua.to_str().unwrap()]);
    let lua_id = built_id(&out);
    let out = e.ok(&["build", "--no-cache", "-t", "fromdf:1", df.to_str().unwrap()]);
    assert!(out.contains("Step 1/10 : FROM busybox:latest"), "{out}");
    assert!(out.contains("Step 3/10 : RUN mkdir -p /app && echo \"hello $WHO\" > /app/greet && rm /etc/os-release"), "{out}");
    assert!(!out.contains("Using cache"), "{out}");
    let df_id = built_id(&out);
    assert_ne!(df_id, lua_id);

    let a = e.ok(&["run", "--rm", "fromdf:1", "sh", "-c", PROBE]);
    let b = e.ok(&["run", "--rm", "fromlua:1", "sh", "-c", PROBE]);
    // the same but for the times of what RUN made (two builds may straddle a minute)
    assert_eq!(without_ls_times(&a), without_ls_times(&b));
    assert!(a.contains("-rwxr-x---    1 0        0 "), "context files become root's, modes kept: {a}");
    assert!(a.contains("hello from the context\nhello world\nhi prod x\n/app\n1000\nno-os-release"), "{a}");
    assert_eq!(e.ok(&["run", "--rm", "fromdf:1"]), "app hi\n");
    let cfg = |r: &str| {
        let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", r])).unwrap();
        j[0]["Bocker"]["config"].clone()
    };
    assert_eq!(cfg("fromdf:1"), cfg("fromlua:1"));
    assert_eq!(cfg("fromdf:1")["exposed_ports"][0], "8080/tcp");
    assert_eq!(cfg("fromdf:1")["labels"]["org.example.k"], "v");

    // the second build comes from the cache: same image id
    let out = e.ok(&["build", "-t", "fromdf:1", df.to_str().unwrap()]);
    assert_eq!(out.matches("Using cache").count(), 9, "{out}");
    assert_eq!(built_id(&out), df_id);
    // build.lua and the Dockerfile are the same steps: one cache
    let out = e.ok(&["script", lua.join("build.lua").to_str().unwrap()]);
    assert_eq!(out.matches("Using cache").count(), 9, "{out}");
    assert!(out.trim_end().ends_with(&format!(" ---> {df_id}")), "{out}");
    // a changed file invalidates its COPY and what follows, not before
    write(&df.join("msg.txt"), "changed\n");
    let out = e.ok(&["build", df.to_str().unwrap()]);
    assert_eq!(out.matches("Using cache").count(), 2, "{out}");
    assert_ne!(built_id(&out), df_id);
    // --no-cache builds it all again
    let out = e.ok(&["build", "--no-cache", df.to_str().unwrap()]);
    assert!(!out.contains("Using cache"), "{out}");
    // a missing cached image is rebuilt, not trusted
    e.ok(&["rmi", "-f", &df_id]);
    e.ok(&["build", df.to_str().unwrap()]);
    assert!(e.ok(&["ps", "-q"]).is_empty(), "build containers are removed");
}

#[test]
fn failing_steps_and_bad_dockerfiles() {
    let e = Env::new();
    let bb = e.busybox();
    let before = e.ok(&["images", "-q"]);
    let d = e.dir.path().join("fail");
    write(
        &d.join("Dockerfile"),
        &format!("FROM {bb}\nRUN echo ok > /x\nENV A=1\nRUN echo out; echo err >&2; exit 3\nCMD [\"true\"]\n"),
    );
    let o = e.run(&["build", "-t", "bad:1", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("out\n"), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("returned a non-zero code: 3"), "{}", text(&o.stderr));
    assert_eq!(e.ok(&["images", "-q"]), before, "a failed build leaves no image");
    assert_eq!(e.ok(&["ps", "-q"]), "", "no container left");
    assert!(e.run(&["inspect", "bad:1"]).status.code() != Some(0));
    // the same from a script: the step's status is the script's
    let s = e.dir.path().join("fail.lua");
    write(&s, &format!("local b = bocker.build.from('{bb}')\nb:run('exit 4')\nprint('not reached')\n"));
    let o = e.run(&["script", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    assert!(!text(&o.stdout).contains("not reached"));
    assert_eq!(e.ok(&["images", "-q"]), before);
    // unsupported instructions name their line; exit 1
    write(&d.join("Dockerfile"), &format!("FROM {bb}\n# comment\nRUN true \\\n  && true\nFROBNICATE someone\n"));
    let o = e.run(&["build", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("Dockerfile:5:") && err.contains("FROBNICATE"), "{err}");
    assert_eq!(e.ok(&["images", "-q"]), before);
    // COPY from outside the context is refused
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY ../../etc/passwd /x\n"));
    let o = e.run(&["build", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let o = e.run(&["build", e.dir.path().join("nowhere").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(e.run(&["build", "--bogus", "x"]).status.code(), Some(125));
}

#[test]
fn commit_added_changed_and_deleted_files() {
    let e = Env::new();
    let bb = e.busybox();
    e.ok(&[
        "run", "--name", "c1", &bb, "sh", "-c",
        "echo new > /newfile; echo changed >> /etc/passwd; rm /etc/os-release; rm -rf /usr; mkdir -p /var/d && echo x > /var/d/f",
    ]);
    let out = e.ok(&["commit", "-m", "snapshot", "-c", "CMD cat /newfile", "-c", "ENV X=1 Y=2", "c1", "snap:1"]);
    let id = out.trim().strip_prefix("Created: ").expect(&out).to_string();
    assert!(id.starts_with("img_"));
    assert_eq!(e.ok(&["run", "--rm", "snap:1"]), "new\n");
    let probe = "tail -1 /etc/passwd; ls /etc/os-release /usr 2>&1; cat /var/d/f; echo $X$Y";
    let o = e.ok(&["run", "--rm", "snap:1", "sh", "-c", probe]);
    assert!(o.starts_with("changed\n"), "{o}");
    assert!(o.contains("/etc/os-release: No such file") && o.contains("/usr: No such file"), "deletions are gone: {o}");
    assert!(o.ends_with("x\n12\n"), "{o}");
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "snap:1"])).unwrap();
    assert_eq!(j[0]["Bocker"]["parent"], bb.as_str());
    let h = j[0]["Bocker"]["history"].as_array().unwrap();
    assert_eq!(h.last().unwrap()["comment"], "snapshot");
    assert_eq!(j[0]["Bocker"]["layers"].as_array().unwrap().len(), 2);
    // the runtime's own mount points and bind targets are not changes
    let top = j[0]["Bocker"]["layers"][1].as_str().unwrap();
    let diff = e.root().join("layers").join(top).join("diff");
    assert!(!diff.join("etc/hostname").exists() && !diff.join("etc/hosts").exists());
    // the seed's form: replace an image, keeping its id
    e.ok(&["run", "--name", "c2", "snap:1", "sh", "-c", "echo second > /second"]);
    let out = e.ok(&["commit", "c2", &id]);
    assert_eq!(out, format!("Removed: {id}\nCreated: {id}\n"));
    assert_eq!(e.ok(&["run", "--rm", &id, "cat", "/second", "/newfile"]), "second\nnew\n");
    // a running container is frozen while its layer is taken, then thawed
    let c = e.ok(&["run", "-d", &bb, "sh", "-c", "echo up > /state; while :; do sleep 0.05; done"]).trim().to_string();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = e.ok(&["commit", &c, "live:1"]);
    assert!(out.starts_with("Created: img_"));
    assert_eq!(e.ok(&["run", "--rm", "live:1", "cat", "/state"]), "up\n");
    let st = std::fs::read_to_string(format!("/sys/fs/cgroup/freezer/{c}/freezer.state")).unwrap_or_default();
    assert!(st.is_empty() || st.trim() == "THAWED", "{st}");
    assert!(e.ok(&["ps"]).contains("Up"), "still running");
    // errors
    assert_eq!(e.run(&["commit", "nope"]).status.code(), Some(1));
    assert_eq!(e.run(&["commit", "-c", "RUN true", "c1"]).status.code(), Some(125));
    assert_eq!(e.run(&["commit"]).status.code(), Some(125));
}

fn has(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).output().map(|o| o.status.success()).unwrap_or(false)
}

#[test]
fn save_is_read_by_skopeo_and_umoci_and_loads_back() {
    let e = Env::new();
    let bb = e.busybox();
    e.ok(&["run", "--name", "c", &bb, "sh", "-c", "echo saved > /saved; rm /etc/os-release"]);
    e.ok(&["commit", "-c", "CMD [\"cat\", \"/saved\"]", "-c", "LABEL a=b", "c", "saveme:1"]);
    let tar = e.dir.path().join("img.tar");
    e.ok(&["save", "--format", "oci", "saveme:1", "-o", tar.to_str().unwrap()]);
    let out = reg::run(Command::new("skopeo").arg("inspect").arg(format!("oci-archive:{}", tar.display())));
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["Layers"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(j["Labels"]["a"], "b");
    let cfg = reg::run(Command::new("skopeo").arg("inspect").arg("--config").arg(format!("oci-archive:{}", tar.display())));
    assert!(cfg.contains("\"/saved\""), "{cfg}");
    // umoci applies our whiteouts
    let lay = e.dir.path().join("oci");
    reg::run(Command::new("skopeo").arg("copy").arg("-q").arg(format!("oci-archive:{}", tar.display())).arg(format!("oci:{}:x", lay.display())));
    let bundle = e.dir.path().join("bundle");
    reg::run(Command::new("umoci").arg("unpack").arg("--image").arg(format!("{}:x", lay.display())).arg(&bundle));
    assert_eq!(std::fs::read_to_string(bundle.join("rootfs/saved")).unwrap(), "saved\n");
    assert!(!bundle.join("rootfs/etc/os-release").exists());
    assert!(bundle.join("rootfs/bin/busybox").exists());
    // load round trip into another store
    let e2 = Env::new();
    let out = e2.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert_eq!(out, "Loaded image: saveme:1\n");
    assert_eq!(e2.ok(&["run", "--rm", "saveme:1"]), "saved\n");
    assert_eq!(e2.run(&["run", "--rm", "saveme:1", "cat", "/etc/os-release"]).status.code(), Some(1));
    // a corrupt archive is refused, nothing recorded
    let bad = e.dir.path().join("bad.tar");
    std::fs::write(&bad, b"not a tar at all").unwrap();
    assert_eq!(e2.run(&["load", "-i", bad.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(e2.ok(&["images", "-q"]).lines().count(), 1);
    assert_eq!(e.run(&["save", "--format", "tar", "saveme:1"]).status.code(), Some(125));
}

#[test]
fn push_then_skopeo_pulls_and_podman_runs_it() {
    let registry = reg::Registry::start(None);
    let e = Env::new();
    let bb = e.busybox();
    let d = e.dir.path().join("ctx");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nRUN echo pushed > /pushed && rm /etc/os-release\nCMD [\"cat\", \"/pushed\"]\n"));
    let name = format!("{}/pushed:1", registry.host());
    e.ok(&["build", "-t", &name, d.to_str().unwrap()]);
    let out = e.ok(&["push", &name]);
    assert!(out.contains("digest: sha256:"), "{out}");
    // skopeo reads it back; umoci unpacks it with the whiteout applied
    let lay = e.dir.path().join("oci");
    reg::run(Command::new("skopeo").args(["copy", "-q", "--src-tls-verify=false"]).arg(format!("docker://{name}")).arg(format!("oci:{}:p", lay.display())));
    let bundle = e.dir.path().join("bundle");
    reg::run(Command::new("umoci").arg("unpack").arg("--image").arg(format!("{}:p", lay.display())).arg(&bundle));
    assert_eq!(std::fs::read_to_string(bundle.join("rootfs/pushed")).unwrap(), "pushed\n");
    assert!(!bundle.join("rootfs/etc/os-release").exists());
    // bocker pulls it into a fresh store
    let e2 = Env::new();
    assert_eq!(e2.ok(&["run", "--rm", &name]), "pushed\n");
    // podman runs it (it works on this machine with these ulimits)
    assert!(has("podman"), "podman is installed by scripts/test.sh");
    let o = Command::new("podman")
        .args(["--runtime", "runc", "run", "--rm", "--network", "none", "--tls-verify=false"])
        .args(["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=20000:20000"])
        .arg(&name)
        .output()
        .unwrap();
    let _ = Command::new("podman").args(["rmi", "-f", &name]).output();
    assert!(o.status.success(), "podman: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "pushed\n");
    // a second push sends only the manifest (blobs exist); bad refs fail
    e.ok(&["push", &name]);
    assert_eq!(e.run(&["push", "no-such-image:1"]).status.code(), Some(1));
}

#[test]
fn intermediate_images_are_hidden_and_go_with_the_final_one() {
    let e = Env::new();
    let bb = e.busybox();
    let d = e.dir.path().join("steps");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nRUN echo 1 > /one\nRUN echo 2 > /two\nENV X=3\n"));
    let out = e.ok(&["build", "-t", "steps:1", d.to_str().unwrap()]);
    let id = built_id(&out);
    let shown = e.ok(&["images", "-q"]);
    assert_eq!(shown.lines().count(), 2, "base and final only:\n{shown}");
    assert!(shown.contains(&id) && shown.contains(&bb));
    let all = e.ok(&["images", "-a", "-q"]);
    assert!(all.lines().count() > 2, "{all}");
    let out = e.ok(&["rmi", "steps:1"]);
    assert!(out.lines().count() > 1, "parents removed too:\n{out}");
    // the image `init` made stays, and only it
    assert_eq!(e.ok(&["images", "-a", "-q"]).trim(), bb);
}

/// `bocker build DIR` of an untrusted context: its build.lua runs in a
/// restricted Lua (no host commands, no host files outside the context).
fn build_in(e: &Env, dir: &Path) -> std::process::Output {
    e.cmd(&["build", dir.to_str().unwrap()]).current_dir(dir).output().unwrap()
}

#[test]
fn build_lua_cannot_run_host_commands() {
    let e = Env::new();
    for (name, call) in [
        ("execute", r#"os.execute("touch CANARY")"#),
        ("popen", r#"io.popen("touch CANARY"):close()"#),
        ("remove", r#"os.remove("msg.txt")"#),
        ("write", r#"io.open("CANARY", "w"):write("x")"#),
        ("loadlib", r#"package.loadlib("/lib/x86_64-linux-gnu/libc.so.6", "system")("touch CANARY")"#),
        ("debug", r#"debug.getregistry()"#),
        ("container", r#"bocker.container.create{ image = "x", cmd = { "true" } }"#),
    ] {
        let d = context(&e, &format!("evil-{name}"));
        write(&d.join("build.lua"), &format!("local build = require \"bocker.build\"\n{call}\nprint(\"not reached\")\n"));
        let o = build_in(&e, &d);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains("is not available in a build (builds run in a restricted Lua; use 'bocker script' for your own automation)"), "{name}: {err}");
        assert!(err.starts_with("bocker build: build.lua:2: "), "{name}: {err}");
        assert!(!text(&o.stdout).contains("not reached"));
        assert!(!d.join("CANARY").exists(), "{name} ran");
        assert!(d.join("msg.txt").exists(), "{name} removed a file");
    }
    let d = e.dir.path().join("evil-execute");
    let err = text(&build_in(&e, &d).stderr);
    assert!(err.contains("build.lua:2: os.execute is not available in a build"), "{err}");
    // `bocker script` is full Lua: the same script runs the command there
    let o = e.cmd(&["script", d.join("build.lua").to_str().unwrap()]).current_dir(&d).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(d.join("CANARY").exists());
}

#[test]
fn build_lua_reads_only_inside_its_context() {
    let e = Env::new();
    let bb = e.busybox();
    let d = context(&e, "reader");
    std::os::unix::fs::symlink("/etc/passwd", d.join("passwd-link")).unwrap();
    std::os::unix::fs::symlink("../../../../../../etc/passwd", d.join("passwd-rel")).unwrap();
    write(&d.join("lib/helper.lua"), "return { greeting = function() return 'from helper' end }\n");
    write(
        &d.join("build.lua"),
        &format!(
            r#"local build = require "bocker.build"
local helper = require "lib.helper"
local msg = assert(io.open("msg.txt")):read("l")
local same = assert(io.open(context .. "/msg.txt")):read("a")
assert(same == msg .. "\n")
for _, p in ipairs({{ "/etc/passwd", "passwd-link", "passwd-rel", "../../../../etc/passwd" }}) do
  local f, err = io.open(p)
  if f then print("LEAK " .. p .. ": " .. tostring(f:read("a"))) else print("refused " .. p .. ": " .. err) end
end
local b = build.from("{bb}")
b:label("msg", msg)
b:label("helper", helper.greeting())
b:label("lines", tostring(#(function() local n = {{}} for l in io.lines("src/app.sh") do n[#n + 1] = l end return n end)()))
"#
        ),
    );
    let o = build_in(&e, &d);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}\n{out}", text(&o.stderr));
    assert!(!out.contains("LEAK") && !out.contains("root:x:0:0"), "{out}");
    assert_eq!(out.matches("refused ").count(), 4, "{out}");
    assert!(out.contains("refused /etc/passwd: /etc/passwd: outside the build context"), "{out}");
    let id = built_id(&out);
    let j: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", &id])).unwrap();
    let labels = &j[0]["Bocker"]["config"]["labels"];
    assert_eq!(labels["msg"], "hello from the context");
    assert_eq!(labels["helper"], "from helper");
    assert_eq!(labels["lines"], "2");

    // an assert on a refused read fails the build; so does a symlinked build.lua
    write(&d.join("build.lua"), "assert(io.open('/etc/passwd'))\n");
    let o = build_in(&e, &d);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("outside the build context"), "{}", text(&o.stderr));
    std::fs::remove_file(d.join("build.lua")).unwrap();
    let outside = e.dir.path().join("outside.lua");
    write(&outside, "print('outside script ran')\n");
    std::os::unix::fs::symlink(&outside, d.join("build.lua")).unwrap();
    let o = build_in(&e, &d);
    assert!(!o.status.success());
    assert!(!text(&o.stdout).contains("outside script ran"));
}
