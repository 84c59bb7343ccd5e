//! The Dockerfile language on the real kernel (#14): RUN on the build's
//! network (and `--network none`), a multi-stage build compiling C with
//! gcc from a Debian stage (debootstrap, cached in the test dir) into a
//! busybox stage, `--target`, heredocs, cache mounts, secrets, ONBUILD,
//! several ARG pairs, the escape directive, SHELL, HEALTHCHECK and
//! STOPSIGNAL in the image config, errors naming their line, and the
//! examples/multistage twins making the same image.
mod common;
use common::{text, Env, built_id};
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(p: &Path, s: &str) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, s).unwrap();
}

/// A build context holding `files` (path, content).
fn context(e: &Env, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = e.dir.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    for (p, s) in files {
        write(&d.join(p), s);
    }
    d
}

/// `bocker build ARGS DIR`, asserting success; (image id, stdout).
fn build(e: &Env, args: &[&str], dir: &Path) -> (String, String) {
    let mut a: Vec<&str> = vec!["build"];
    a.extend_from_slice(args);
    a.push(dir.to_str().unwrap());
    let out = e.ok(&a);
    (built_id(&out), out)
}

/// `bocker run --rm IMG sh -c SCRIPT` -> stdout.
fn sh(e: &Env, img: &str, script: &str) -> String {
    e.ok(&["run", "--rm", "--network", "none", img, "sh", "-c", script])
}

fn busybox(e: &Env) -> String {
    let bb = e.busybox();
    e.ok(&["tag", &bb, "busybox:latest"]);
    bb
}

fn config(e: &Env, img: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", img])).expect("inspect json");
    v[0]["Bocker"]["config"].clone()
}

// ---- the Debian base image with gcc (debootstrap, made once) ----

/// The Debian mirror the host's apt uses (read at run time).
fn mirror() -> String {
    let mut texts = vec![std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default()];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            texts.push(std::fs::read_to_string(p).unwrap_or_default());
        }
    }
    for t in &texts {
        for l in t.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            let url = if let Some(rest) = l.strip_prefix("URIs:") {
                rest.split_whitespace().next()
            } else if l.starts_with("deb ") {
                l.split_whitespace().find(|w| w.starts_with("http"))
            } else {
                None
            };
            if let Some(u) = url.filter(|u| u.starts_with("http") && u.trim_end_matches('/').ends_with("/debian")) {
                return u.to_string();
            }
        }
    }
    panic!("no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources (needed for debootstrap)");
}

/// A Debian bookworm minbase root with gcc and libc6-dev, made once in the
/// test dir's cache (under a lock: parallel tests wait for one maker).
fn deb_gcc_rootfs() -> PathBuf {
    let cache = common::test_base().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let dir = cache.join("deb-gcc");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(cache.join("deb-gcc.lock")).unwrap();
    // SAFETY: flock on a descriptor this function owns; released when `lock` drops.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0, "flock");
    if !dir.join("usr/bin/gcc").exists() {
        let tmp = cache.join(format!("deb-gcc.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let out = Command::new("debootstrap")
            .args(["--variant=minbase", "--include=gcc,libc6-dev", "bookworm"])
            .arg(&tmp)
            .arg(mirror())
            .output()
            .expect("debootstrap is installed by scripts/test.sh");
        assert!(out.status.success(), "debootstrap failed: {}\n{}", text(&out.stdout), text(&out.stderr));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).unwrap();
    }
    drop(lock);
    dir
}

/// The Debian+gcc image in this test's store, tagged debian-gcc:test.
fn deb_gcc(e: &Env) -> String {
    let out = e.ok(&["init", deb_gcc_rootfs().to_str().unwrap()]);
    let id = out.trim().strip_prefix("Created: ").expect("Created: line").to_string();
    e.ok(&["tag", &id, "debian-gcc:test"]);
    id
}

// ---- an HTTP server on the test bridge's gateway ----

struct Server {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Serves `body` on ADDR:0 (a thread per test; it ends with the process).
fn serve(addr: &str, body: &'static str) -> Server {
    let l = std::net::TcpListener::bind((addr, 0)).expect("bind on the gateway address");
    let port = l.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = write!(s, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        }
    });
    Server { port, hits }
}

#[test]
fn run_uses_the_bridge_network_and_network_none_cuts_it() {
    let e = Env::new();
    let bb = busybox(&e);
    // the bridge exists once a container used it
    e.ok(&["run", "--rm", &bb, "true"]);
    let gw = format!("10.214.{}.1", e.net);
    let srv = serve(&gw, "from-the-host\n");
    let url = format!("http://{gw}:{}/", srv.port);
    let ctx = context(&e, "net", &[("Dockerfile", &format!("FROM busybox:latest\nRUN wget -q -O /got {url} && cat /etc/resolv.conf > /resolv\n"))]);
    let (img, out) = build(&e, &[], &ctx);
    assert!(out.contains("Running in"), "{out}");
    assert_eq!(sh(&e, &img, "cat /got"), "from-the-host\n");
    assert!(srv.hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // DNS as a container of `run` gets it (the host's resolv.conf, loopback dropped)
    let run_resolv = e.ok(&["run", "--rm", &bb, "cat", "/etc/resolv.conf"]);
    assert_eq!(sh(&e, &img, "cat /resolv"), run_resolv);

    // --network none: the same step cannot connect (and fails the build)
    let o = e.run(&["build", "--no-cache", "--network", "none", ctx.to_str().unwrap()]);
    assert!(!o.status.success(), "built without a network: {}", text(&o.stdout));
    assert!(text(&o.stdout).contains("wget") || text(&o.stderr).contains("wget"), "{}{}", text(&o.stdout), text(&o.stderr));
    // RUN --network=none in the Dockerfile does the same
    let ctx2 = context(&e, "net2", &[("Dockerfile", &format!("FROM busybox:latest\nRUN --network=none wget -q -O /got {url}\n"))]);
    let o = e.run(&["build", ctx2.to_str().unwrap()]);
    assert!(!o.status.success(), "RUN --network=none reached the host");
    // --network host: the host's stack (loopback has the host's addresses)
    let ctx3 = context(&e, "net3", &[("Dockerfile", "FROM busybox:latest\nRUN ip -o link > /links\n")]);
    let (img3, _) = build(&e, &["--network", "host"], &ctx3);
    assert!(sh(&e, &img3, "cat /links").contains(&e.bridge()), "host network: the test bridge is visible");
    // a bad mode is refused
    assert!(!e.run(&["build", "--network", "bogus", ctx3.to_str().unwrap()]).status.success());
}

#[test]
fn run_steps_have_no_memory_limit_unless_asked() {
    let e = Env::new();
    busybox(&e);
    let probe = "FROM busybox:latest\nRUN (cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) > /limit\n";
    let ctx = context(&e, "mem", &[("Dockerfile", probe)]);
    let (img, _) = build(&e, &[], &ctx);
    let limit = sh(&e, &img, "cat /limit");
    let unlimited = limit.trim() == "max" || limit.trim().parse::<u64>().map(|n| n > 1 << 40).unwrap_or(false);
    assert!(unlimited, "build step memory limit: {limit}");
    let (img2, _) = build(&e, &["--no-cache", "-m", "64m"], &ctx);
    let limit2 = sh(&e, &img2, "cat /limit");
    assert_eq!(limit2.trim().parse::<u64>().ok(), Some(64 << 20), "{limit2}");
}

const HELLO_C: &str = "#include <stdio.h>\nint main(void) { puts(\"hello from gcc\"); return 0; }\n";

#[test]
fn multi_stage_compiles_in_debian_and_ships_only_the_binary() {
    let e = Env::new();
    busybox(&e);
    deb_gcc(&e);
    let df = "\
FROM debian-gcc:test AS build
COPY hello.c /src/
RUN gcc -static -O2 -o /hello /src/hello.c
FROM busybox:latest AS unused
RUN echo the unused stage ran; exit 3
FROM busybox:latest AS final
COPY --from=build /hello /usr/local/bin/hello
RUN --mount=type=bind,from=build,source=/src,target=/mnt/src ls /mnt/src > /mounted
CMD [\"/usr/local/bin/hello\"]
FROM final AS extra
RUN echo extra > /extra
";
    let ctx = context(&e, "ms", &[("Dockerfile", df), ("hello.c", HELLO_C)]);
    let (img, out) = build(&e, &["--target", "final", "-t", "hello:ms"], &ctx);
    assert!(!out.contains("unused stage ran") && !out.contains("exit 3"), "an unneeded stage was built:\n{out}");
    assert!(!out.contains("echo extra"), "a stage after the target was built:\n{out}");
    assert_eq!(e.ok(&["run", "--rm", "--network", "none", &img]), "hello from gcc\n");
    // a bind mount from the build stage saw its files, and left none behind
    assert_eq!(sh(&e, &img, "cat /mounted; ls /mnt/src 2>/dev/null | wc -l"), "hello.c\n0\n");
    // only the binary came over: no compiler, no Debian files
    assert_eq!(sh(&e, &img, "test -e /usr/bin/gcc || test -e /etc/debian_version || test -e /src || echo clean"), "clean\n");
    // without --target the last stage builds, on top of `final`
    let (all, out) = build(&e, &[], &ctx);
    assert!(!out.contains("unused stage ran"), "{out}");
    assert_eq!(sh(&e, &all, "cat /extra; /usr/local/bin/hello"), "extra\nhello from gcc\n");
    // an unknown target is an error
    let o = e.run(&["build", "--target", "nope", ctx.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o.stderr).contains("nope"), "{}", text(&o.stderr));
}

#[test]
fn heredocs_in_run_and_copy() {
    let e = Env::new();
    busybox(&e);
    let df = "\
FROM busybox:latest
ARG WHO=world
RUN <<EOF
echo one > /one
echo \"two $WHO\" >> /one
EOF
RUN <<-EOT sh
\techo tabs stripped > /tabs
\tEOT
RUN cat <<A > /a && cat <<'B' > /b
hello $WHO
A
literal $WHO
B
RUN <<EOF
#!/bin/sh -e
echo \"script $0\" > /script
EOF
COPY <<CONF /etc/app.conf
who=${WHO}
CONF
COPY <<X <<\"Y\" /inline/
x=$WHO
X
y=$WHO
Y
";
    let ctx = context(&e, "hd", &[("Dockerfile", df)]);
    let (img, _) = build(&e, &[], &ctx);
    assert_eq!(
        sh(&e, &img, "cat /one /tabs /a /b /etc/app.conf /inline/X /inline/Y"),
        "one\ntwo world\ntabs stripped\nhello world\nliteral $WHO\nwho=world\nx=world\ny=$WHO\n"
    );
    // a heredoc with #! runs as a script file, which stays out of the image
    assert_eq!(sh(&e, &img, "cat /script; test -e /dev/pipes/EOF || echo gone"), "script /dev/pipes/EOF\ngone\n");
}

#[test]
fn a_cache_mount_keeps_its_files_between_builds_and_out_of_the_image() {
    let e = Env::new();
    busybox(&e);
    let df = "FROM busybox:latest\nRUN --mount=type=cache,target=/var/cache/app,id=app-cache echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /count\n";
    let ctx = context(&e, "cm", &[("Dockerfile", df)]);
    let (one, _) = build(&e, &[], &ctx);
    assert_eq!(sh(&e, &one, "cat /count").trim(), "1");
    let (two, _) = build(&e, &["--no-cache"], &ctx);
    assert_eq!(sh(&e, &two, "cat /count").trim(), "2", "the cache mount's file did not persist");
    assert_eq!(sh(&e, &two, "ls -A /var/cache/app | wc -l").trim(), "0", "cache mount content in the image");
    // without --no-cache the step is a cache hit (the mount's content is not in the key)
    let (three, out) = build(&e, &[], &ctx);
    assert!(out.contains("Using cache"), "{out}");
    assert_eq!(three, two);
}

#[test]
fn a_secret_is_readable_in_run_and_in_no_layer() {
    let e = Env::new();
    busybox(&e);
    let token = format!("tok-{}-{}", std::process::id(), e.net);
    let secret = e.dir.path().join("secret.txt");
    std::fs::write(&secret, &token).unwrap();
    let df = "\
FROM busybox:latest
RUN --mount=type=secret,id=api sha256sum /run/secrets/api | cut -c1-64 > /sum
RUN --mount=type=secret,id=api,target=/etc/tok test -s /etc/tok && echo seen > /seen
";
    let ctx = context(&e, "sec", &[("Dockerfile", df)]);
    let arg = format!("id=api,src={}", secret.display());
    let (img, _) = build(&e, &["--secret", &arg], &ctx);
    use sha2::Digest as _;
    let want = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    assert_eq!(sh(&e, &img, "cat /sum /seen"), format!("{want}\nseen\n"));
    // nor its mount points: the image has no /run/secrets and no /etc/tok
    assert_eq!(sh(&e, &img, "ls -a /run/secrets /etc/tok 2>&1 | grep -c 'No such file'"), "2\n");
    // the token is nowhere in the store: layers, records, cache. A `--rm`
    // container's folder is deleted from the trash after its exit is
    // reported, so a folder may vanish under the walk: that one is skipped.
    let mut stack = vec![e.root()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(it) => it,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => panic!("{}: {err}", d.display()),
        };
        for ent in entries.flatten() {
            let Ok(ft) = ent.file_type() else { continue };
            if ft.is_dir() {
                stack.push(ent.path());
            } else if ft.is_file() {
                files += 1;
                let data = std::fs::read(ent.path()).unwrap_or_default();
                assert!(!data.windows(token.len()).any(|w| w == token.as_bytes()), "the secret is in {}", ent.path().display());
            }
        }
    }
    assert!(files > 10, "walked {files} files");
    // nor in what `save` writes
    let tar = e.dir.path().join("img.tar");
    e.ok(&["save", "-o", tar.to_str().unwrap(), &img]);
    let data = std::fs::read(&tar).unwrap();
    assert!(!data.windows(token.len()).any(|w| w == token.as_bytes()), "the secret is in the saved archive");
    // a required secret that was not given fails the build, naming it
    let ctx2 = context(&e, "sec2", &[("Dockerfile", "FROM busybox:latest\nRUN --mount=type=secret,id=missing,required=true true\n")]);
    let o = e.run(&["build", ctx2.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o.stderr).contains("missing"), "{}", text(&o.stderr));
}

#[test]
fn onbuild_triggers_run_in_a_child_build() {
    let e = Env::new();
    busybox(&e);
    let parent = context(&e, "parent", &[("Dockerfile", "FROM busybox:latest\nONBUILD RUN echo from-trigger > /triggered\nONBUILD COPY note.txt /note.txt\n")]);
    let (p, _) = build(&e, &["-t", "parent:1"], &parent);
    assert_eq!(sh(&e, &p, "test -e /triggered || echo absent"), "absent\n");
    assert_eq!(config(&e, &p)["onbuild"].as_array().map(|a| a.len()), Some(2));
    let child = context(&e, "child", &[("Dockerfile", "FROM parent:1\nRUN cat /triggered /note.txt\n"), ("note.txt", "child context\n")]);
    let (c, out) = build(&e, &[], &child);
    assert!(out.contains("Executing 2 build triggers"), "{out}");
    assert_eq!(sh(&e, &c, "cat /triggered /note.txt"), "from-trigger\nchild context\n");
    // the child does not pass the triggers on
    assert!(config(&e, &c).get("onbuild").is_none(), "{}", config(&e, &c));
}

#[test]
fn args_escape_directive_shell_and_docker_config() {
    let e = Env::new();
    busybox(&e);
    let df = "\
# syntax=docker/dockerfile:1
# escape=`
ARG TAG=latest
FROM busybox:${TAG}
ARG A=1 B=2 C
ARG TARGETARCH
RUN echo \"$A-$B-${C:-unset}-$TARGETARCH\" > /args
RUN echo one `
    two > /escaped
ENV X=set
ENV Y=${X:+alt} Z=${NOPE:-dflt} W=${NOPE-dash} V=${X:-no} P=`$X
SHELL [\"/bin/sh\", \"-c\", \"echo $0 > /shell-ran\"]
RUN shell-form-word
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --retries=4 CMD wget -q -O /dev/null http://localhost/ || exit 1
";
    let ctx = context(&e, "args", &[("Dockerfile", df)]);
    let (img, _) = build(&e, &["--build-arg", "B=9"], &ctx);
    let arch = sh(&e, &img, "cat /args");
    assert!(arch.starts_with("1-9-unset-") && arch.trim().len() > "1-9-unset-".len(), "{arch}");
    assert_eq!(sh(&e, &img, "cat /escaped /shell-ran"), "one two\nshell-form-word\n");
    let cfg = config(&e, &img);
    let env: Vec<String> = serde_json::from_value(cfg["env"].clone()).unwrap();
    for want in ["Y=alt", "Z=dflt", "W=dash", "V=set", "P=$X"] {
        assert!(env.iter().any(|v| v == want), "{want} not in {env:?}");
    }
    assert_eq!(cfg["stop_signal"], "SIGQUIT");
    assert_eq!(cfg["shell"], serde_json::json!(["/bin/sh", "-c", "echo $0 > /shell-ran"]));
    let hc = &cfg["healthcheck"];
    assert_eq!(hc["test"][0], "CMD-SHELL");
    assert_eq!(hc["test"][1], "wget -q -O /dev/null http://localhost/ || exit 1");
    assert_eq!((hc["interval"].as_i64(), hc["timeout"].as_i64(), hc["retries"].as_i64()), (Some(30_000_000_000), Some(5_000_000_000), Some(4)));
    // HEALTHCHECK NONE in a child turns it off
    let child = context(&e, "hcnone", &[("Dockerfile", &format!("FROM {img}\nHEALTHCHECK NONE\n"))]);
    let (c, _) = build(&e, &[], &child);
    assert_eq!(config(&e, &c)["healthcheck"]["test"], serde_json::json!(["NONE"]));
}

#[test]
fn unsupported_instructions_and_flags_name_their_line() {
    let e = Env::new();
    busybox(&e);
    let cases = [
        ("FROM busybox:latest\nRUN true\nRUN --security=insecure true\n", "Dockerfile:3:", "--security"),
        ("FROM busybox:latest\n\nFROBNICATE someone\n", "Dockerfile:3:", "FROBNICATE"),
        ("FROM busybox:latest\nCOPY --parents a /b\n", "Dockerfile:2:", "--parents"),
        ("FROM busybox:latest\nRUN --mount=type=ssh true\n", "Dockerfile:2:", "ssh"),
        ("FROM busybox:latest\nRUN <<EOF\ntrue\n", "Dockerfile:2:", "heredoc"),
    ];
    for (i, (df, line, what)) in cases.iter().enumerate() {
        let ctx = context(&e, &format!("bad{i}"), &[("Dockerfile", df)]);
        let o = e.run(&["build", ctx.to_str().unwrap()]);
        let err = text(&o.stderr);
        assert!(!o.status.success(), "case {i} built");
        assert!(err.contains(line) && err.contains(what), "case {i}: {err}");
        // checked before anything ran
        assert!(!text(&o.stdout).contains("Running in"), "case {i} ran a step: {}", text(&o.stdout));
    }
    // MAINTAINER (deprecated, still common) is taken, as the maintainer label
    let ctx = context(&e, "maint", &[("Dockerfile", "FROM busybox:latest\nMAINTAINER Jane Doe <jane@example.org>\n")]);
    let (img, _) = build(&e, &[], &ctx);
    assert_eq!(config(&e, &img)["labels"]["maintainer"], "Jane Doe <jane@example.org>");
}

#[test]
fn the_multistage_example_and_its_dockerfile_make_the_same_image() {
    let e = Env::new();
    busybox(&e);
    deb_gcc(&e);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/multistage");
    let args = ["--build-arg", "GCC_IMAGE=debian-gcc:test", "--build-arg", "BASE_IMAGE=busybox:latest"];
    let dockerfile = example.join("Dockerfile");
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["-f", dockerfile.to_str().unwrap()]);
    let (from_df, _) = build(&e, &a, &example);
    let (from_lua, _) = build(&e, &args, &example);
    let probe = "/usr/local/bin/hello; stat -c '%n %a %u %g %s' /usr/local/bin/hello /etc/hello/motd; cat /etc/hello/motd";
    let x = sh(&e, &from_df, probe);
    assert!(x.starts_with("hello from the multistage example"), "{x}");
    assert_eq!(x, sh(&e, &from_lua, probe));
    assert_eq!(config(&e, &from_df)["cmd"], config(&e, &from_lua)["cmd"]);
}

#[test]
fn independent_stages_build_side_by_side() {
    let e = Env::new();
    busybox(&e);
    // each stage's RUN waits for the other's mark in a shared cache mount:
    // both pass only if their containers run at the same time
    let wait_for = |me: &str, other: &str| {
        format!("RUN --mount=type=cache,id=rendezvous,target=/s touch /s/{me}; i=0; while [ ! -e /s/{other} ]; do i=$((i+1)); [ $i -gt 150 ] && exit 9; sleep 0.2; done; echo {me} > /{me}")
    };
    let df = format!(
        "FROM busybox:latest AS a\n{}\nFROM busybox:latest AS b\n{}\nFROM a\nCOPY --from=b /b /b\nRUN cat /a /b\n",
        wait_for("a", "b"),
        wait_for("b", "a")
    );
    let ctx = context(&e, "par", &[("Dockerfile", &df)]);
    let (img, out) = build(&e, &[], &ctx);
    assert!(out.contains("[a] ") && out.contains("[b] "), "stage lines are not named:\n{out}");
    assert_eq!(sh(&e, &img, "cat /a /b"), "a\nb\n");
    // a failing stage stops the build: its status, no image, no container left
    let before = e.ok(&["images", "-q"]);
    let bad = context(&e, "parfail", &[("Dockerfile", "FROM busybox:latest AS a\nRUN sleep 1; echo a > /a\nFROM busybox:latest AS b\nRUN exit 5\nFROM a\nCOPY --from=b /b /b\n")]);
    let o = e.run(&["build", "--no-cache", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stderr));
    assert_eq!(e.ok(&["images", "-q"]), before, "the failed build left images");
    assert_eq!(e.ok(&["ps", "-a", "-q"]), "", "a container was left");
    // Ctrl-C while both stages run: exit 130, their containers and images gone
    let long = context(&e, "parint", &[("Dockerfile", "FROM busybox:latest AS a\nRUN echo a > /a; sleep 60\nFROM busybox:latest AS b\nRUN echo b > /b; sleep 60\nFROM a\nCOPY --from=b /b /b\n")]);
    let mut child = e.cmd(&["build", "--no-cache", long.to_str().unwrap()]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let t = std::time::Instant::now();
    while e.ok(&["ps", "-q"]).lines().count() < 2 {
        assert!(t.elapsed() < std::time::Duration::from_secs(30), "the two RUN containers did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: a signal to the child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the build did not end after SIGINT");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(e.ok(&["ps", "-a", "-q"]), "", "an interrupted build left a container");
    assert_eq!(e.ok(&["images", "-q"]), before, "an interrupted build left images");
}
