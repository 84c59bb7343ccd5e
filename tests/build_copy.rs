//! COPY and ADD as Docker does them, on the real binary: wildcards,
//! `.dockerignore` with exceptions, owners (root by default, `--chown` by
//! name from the image's /etc/passwd and /etc/group), `--chmod`, ADD of
//! tars (gzip, xz, zstd, bzip2, plain; told by content) and of URLs from a
//! loopback server (with `--checksum`), tars with `../` entries refused,
//! `COPY --from` an image (symlinks resolved inside it, whiteouts
//! respected), and the content-keyed cache (touching keeps it, a change
//! misses from that COPY on).
mod common;
use common::{text, Env, built_id};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn write(p: &Path, s: &str) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, s).unwrap();
}

/// `bocker build DIR` without proxies in the way of loopback.
fn build(e: &Env, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["build"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    let mut c = e.cmd(&args);
    for v in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        c.env_remove(v);
    }
    c.output().unwrap()
}

fn build_ok(e: &Env, dir: &Path, extra: &[&str]) -> String {
    let o = build(e, dir, extra);
    assert!(o.status.success(), "build failed: {}\n{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

fn build_err(e: &Env, dir: &Path) -> String {
    let o = build(e, dir, &[]);
    assert!(!o.status.success(), "build should fail: {}", text(&o.stdout));
    text(&o.stderr)
}

/// `uid:gid mode path` of each path in the image (missing ones left out).
fn stats(e: &Env, img: &str, paths: &[&str]) -> String {
    let script = format!("for f in {}; do [ -e \"$f\" ] || [ -L \"$f\" ] && stat -c '%u:%g %a %n' \"$f\"; done; true", paths.join(" "));
    e.ok(&["run", "--rm", img, "sh", "-c", &script])
}

fn sh(e: &Env, img: &str, script: &str) -> String {
    e.ok(&["run", "--rm", img, "sh", "-c", script])
}

const ADD_USER: &str = "RUN mkdir -p /etc && echo 'app:x:1234:1234::/home/app:/bin/sh' >> /etc/passwd && echo 'staff:x:50:' >> /etc/group";

#[test]
fn copy_wildcards_owners_modes_and_dockerignore() {
    let e = Env::new();
    let bb = e.busybox();
    let d = e.dir.path().join("ctx");
    write(&d.join("one.txt"), "one\n");
    write(&d.join("two.txt"), "two\n");
    write(&d.join("notes.md"), "notes\n");
    write(&d.join("sub/inner.txt"), "inner\n");
    write(&d.join("conf/a.conf"), "conf\n");
    write(&d.join("data/x"), "x\n");
    write(&d.join("data/y/z"), "z\n");
    write(&d.join("data/a.md"), "a\n");
    write(&d.join("data/b.md"), "b\n");
    write(&d.join("data/d.md"), "d\n");
    write(&d.join("data/secret1"), "s\n");
    write(&d.join("data/secret-ok"), "ok\n");
    write(&d.join("keep.log"), "log\n");
    write(&d.join("build/out.o"), "o\n");
    write(&d.join("build/keep.txt"), "keep\n");
    std::fs::set_permissions(d.join("one.txt"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::chown(d.join("one.txt"), Some(1000), Some(1000)).unwrap();
    write(&d.join(".dockerignore"), "# comments and Docker's patterns\n*.log\ndata/secret*\n!data/secret-ok\n/build\n!build/keep.txt\nDockerfile\n");
    write(
        &d.join("Dockerfile"),
        &format!(
            "FROM {bb}\n{ADD_USER}\nWORKDIR /w\nCOPY *.txt sub /out/\nCOPY --chown=app:staff --chmod=0640 conf/a.conf rel/\nCOPY --chown=app data /data\nCOPY d?ta/[a-c]*.md /md/\nCOPY build /b\nCOPY --chmod=700 [n]otes.md /notes\nCOPY notes.md .\n"
        ),
    );
    let out = build_ok(&e, &d, &["-t", "copy:1"]);
    let got = stats(
        &e,
        "copy:1",
        &["/out", "/out/one.txt", "/out/two.txt", "/out/inner.txt", "/out/notes.md", "/w/rel/a.conf", "/data", "/data/x", "/data/y", "/data/y/z", "/data/secret1", "/data/secret-ok", "/md/a.md", "/md/b.md", "/md/d.md", "/b/keep.txt", "/b/out.o", "/notes", "/w/notes.md"],
    );
    let want = "0:0 755 /out\n0:0 750 /out/one.txt\n0:0 644 /out/two.txt\n0:0 644 /out/inner.txt\n1234:50 640 /w/rel/a.conf\n1234:1234 755 /data\n1234:1234 644 /data/x\n1234:1234 755 /data/y\n1234:1234 644 /data/y/z\n1234:1234 644 /data/secret-ok\n0:0 644 /md/a.md\n0:0 644 /md/b.md\n0:0 644 /b/keep.txt\n0:0 700 /notes\n0:0 644 /w/notes.md\n";
    assert_eq!(got, want, "build output: {out}");
    // an excluded file is not in the context; the error names the step
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY keep.log /\n"));
    let err = build_err(&e, &d);
    assert!(err.contains("COPY keep.log: no such file in the build context"), "{err}");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY *.nothing /x/\n"));
    let err = build_err(&e, &d);
    assert!(err.contains("COPY *.nothing: no such file in the build context"), "{err}");
    // several matches need a dir destination; unknown names are errors
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY *.txt /x\n"));
    assert!(build_err(&e, &d).contains("destination must end with /"));
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY --chown=nobody-here one.txt /x\n"));
    let err = build_err(&e, &d);
    assert!(err.contains("--chown=nobody-here") && err.contains("/etc/passwd"), "{err}");
    // the Lua API: unknown options are errors
    let s = e.dir.path().join("opts.lua");
    write(&s, &format!("local b = bocker.build.from('{bb}', {{ context = '{}' }})\nb:copy('one.txt', '/x', {{ owner = 'x' }})\n", d.display()));
    let o = e.run(&["script", s.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o.stderr).contains("unknown option owner"), "{}", text(&o.stderr));
    // a sandboxed build.lua cannot point a step at another context
    let l = e.dir.path().join("lua");
    write(&l.join("build.lua"), &format!("local b = bocker.build.from('{bb}')\nb:copy('passwd', '/x', {{ context = '/etc' }})\n"));
    let o = build(&e, &l, &[]);
    assert!(!o.status.success() && text(&o.stderr).contains("the context option is not available in a build"), "{}", text(&o.stderr));
    // the same options from build.lua; --link is accepted
    write(&l.join("a.txt"), "a\n");
    write(&l.join("build.lua"), &format!("local b = bocker.build.from('{bb}')\nb:copy({{ 'a.txt' }}, '/l/', {{ link = true, chmod = '0604', chown = '3:4' }})\n"));
    let id = built_id(&build_ok(&e, &l, &[]));
    assert_eq!(stats(&e, &id, &["/l/a.txt"]), "3:4 604 /l/a.txt\n");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY --link --chmod=0604 --chown=3:4 one.txt /l/\n"));
    let out = build_ok(&e, &d, &[]);
    assert!(out.contains("COPY --chown=3:4 --chmod=0604 --link one.txt /l/"), "{out}");
}

fn tar_of(dir: &Path, out: &Path) {
    let st = Command::new("tar").arg("-C").arg(dir).arg("-cf").arg(out).arg(".").status().unwrap();
    assert!(st.success());
}

fn compress(tool: &str, input: &Path, out: &Path) {
    let o = Command::new(tool).arg("-c").arg(input).output().expect("xz, zstd, bzip2 and gzip are installed by scripts/test.sh");
    assert!(o.status.success(), "{tool}: {}", text(&o.stderr));
    std::fs::write(out, o.stdout).unwrap();
}

/// A tar with one regular entry whose name is written as is (`../x`).
fn raw_tar(name: &str, body: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, body).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn add_extracts_tars_by_content_and_refuses_escapes() {
    let e = Env::new();
    let bb = e.busybox();
    let d = e.dir.path().join("ctx");
    let payload = e.dir.path().join("payload");
    write(&payload.join("hello.txt"), "hello from a tar\n");
    write(&payload.join("d/inner.txt"), "inner\n");
    let host = e.dir.path().join("host-target");
    std::fs::create_dir_all(&host).unwrap();
    std::os::unix::fs::chown(payload.join("d/inner.txt"), Some(42), Some(43)).unwrap();
    std::fs::create_dir_all(&d).unwrap();
    tar_of(&payload, &d.join("p.tar"));
    compress("gzip", &d.join("p.tar"), &d.join("p.tar.gz"));
    compress("xz", &d.join("p.tar"), &d.join("xz-data.bin"));
    compress("zstd", &d.join("p.tar"), &d.join("p.tar.zst"));
    compress("bzip2", &d.join("p.tar"), &d.join("p.tar.bz2"));
    write(&d.join("plain.txt"), "not an archive\n");
    compress("gzip", &d.join("plain.txt"), &d.join("notatar.gz"));
    write(
        &d.join("Dockerfile"),
        &format!("FROM {bb}\nADD p.tar.gz /gz/\nADD xz-data.bin /xz\nADD p.tar.zst /zst/\nADD p.tar.bz2 /bz2/\nADD p.tar /plain/\nADD notatar.gz plain.txt /raw/\nADD --chown=7:8 p.tar.gz /owned/\n"),
    );
    build_ok(&e, &d, &["-t", "add:1"]);
    let got = sh(&e, "add:1", "for t in gz xz zst bz2 plain; do cat /$t/hello.txt /$t/d/inner.txt; done; ls /raw; stat -c '%u:%g %n' /gz/d/inner.txt /owned/d/inner.txt /owned/hello.txt");
    let want = "hello from a tar\ninner\n".repeat(5) + "notatar.gz\nplain.txt\n42:43 /gz/d/inner.txt\n7:8 /owned/d/inner.txt\n7:8 /owned/hello.txt\n";
    assert_eq!(got, want);

    // a tar entry that leaves the destination is refused, naming it
    std::fs::write(d.join("evil.tar"), raw_tar("../evil.txt", b"evil\n")).unwrap();
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nADD evil.tar /x/\n"));
    let before = e.ok(&["images", "-q"]);
    let err = build_err(&e, &d);
    assert!(err.contains("ADD evil.tar: tar entry ../evil.txt leaves the destination"), "{err}");
    assert_eq!(e.ok(&["images", "-q"]), before, "nothing left of the failed build");
    // and so is a whiteout
    std::fs::write(d.join("wh.tar"), raw_tar("a/.wh.b", b"")).unwrap();
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nADD wh.tar /x/\n"));
    assert!(build_err(&e, &d).contains("is a whiteout"));
    // a file through the tar's own symlink (to a host dir) is refused
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_path("link").unwrap();
    h.set_link_name(host.to_str().unwrap()).unwrap();
    h.set_mode(0o777);
    h.set_size(0);
    h.set_cksum();
    b.append(&h, &b""[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_path("link/through.txt").unwrap();
    h.set_size(8);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"through\n"[..]).unwrap();
    std::fs::write(d.join("sym.tar"), b.into_inner().unwrap()).unwrap();
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nADD sym.tar /t/\n"));
    let err = build_err(&e, &d);
    assert!(err.contains("ADD sym.tar: link: a dangling symlink is in the way"), "{err}");
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0, "nothing written on the host");
    // a symlink one source leaves is replaced, never written through, by
    // the dir of the next source (the context controls both)
    std::fs::create_dir_all(d.join("s1")).unwrap();
    std::os::unix::fs::symlink(&host, d.join("s1/d")).unwrap();
    write(&d.join("s2/d/evil.txt"), "evil\n");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY s1 s2 /x/\n"));
    build_ok(&e, &d, &["-t", "add:3"]);
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0, "nothing written on the host");
    assert_eq!(sh(&e, "add:3", "test -d /x/d && ! test -L /x/d && cat /x/d/evil.txt"), "evil\n");
    // COPY never extracts
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY p.tar.gz /c/\n"));
    build_ok(&e, &d, &["-t", "add:2"]);
    assert_eq!(sh(&e, "add:2", "ls /c"), "p.tar.gz\n");
}

/// A loopback HTTP server: `/files/NAME` serves `body`, anything else 404.
fn serve(body: &'static str) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut hdr = String::new();
                if r.read_line(&mut hdr).map(|n| n == 0).unwrap_or(true) || hdr == "\r\n" {
                    break;
                }
            }
            h.fetch_add(1, Ordering::SeqCst);
            let resp = if line.starts_with("GET /files/") {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
            };
            let _ = s.write_all(resp.as_bytes());
        }
    });
    (port, hits)
}

#[test]
fn add_url_with_and_without_checksum() {
    use sha2::Digest as _;
    let e = Env::new();
    let bb = e.busybox();
    let body = "served over loopback\n";
    let (port, hits) = serve(body);
    let good = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let url = format!("http://127.0.0.1:{port}/files/hello.txt");
    let d = e.dir.path().join("ctx");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nADD {url} /dl/\nADD --checksum=sha256:{good} {url} /dl/named.txt\n"));
    build_ok(&e, &d, &["-t", "url:1"]);
    assert_eq!(sh(&e, "url:1", "cat /dl/hello.txt /dl/named.txt; stat -c '%u:%g %a %n' /dl/hello.txt /dl/named.txt"), format!("{body}{body}0:0 600 /dl/hello.txt\n0:0 600 /dl/named.txt\n"));
    // with a checksum the cache needs no download
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nADD --checksum=sha256:{good} {url} /dl/named.txt\n"));
    build_ok(&e, &d, &[]);
    let n = hits.load(Ordering::SeqCst);
    let out = build_ok(&e, &d, &[]);
    assert!(out.contains("Using cache"), "{out}");
    assert_eq!(hits.load(Ordering::SeqCst), n, "a cached ADD with --checksum downloads nothing");
    // a wrong checksum and a missing file fail, naming the URL
    let bad = "0".repeat(64);
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nADD --checksum=sha256:{bad} {url} /x\n"));
    let err = build_err(&e, &d);
    assert!(err.contains(&format!("ADD {url}: checksum mismatch")), "{err}");
    let missing = format!("http://127.0.0.1:{port}/nope/x.txt");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nADD {missing} /x\n"));
    let err = build_err(&e, &d);
    assert!(err.contains(&format!("ADD {missing}: download failed: HTTP 404 Not Found")), "{err}");
    // COPY takes no URL
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY {url} /x\n"));
    assert!(build_err(&e, &d).contains("a URL needs ADD"));
}

#[test]
fn cache_is_keyed_by_content_not_mtime() {
    let e = Env::new();
    let bb = e.busybox();
    let d = e.dir.path().join("ctx");
    write(&d.join("a.txt"), "a\n");
    write(&d.join("b/b.txt"), "b\n");
    write(&d.join("Dockerfile"), &format!("FROM {bb}\nCOPY a.txt /a.txt\nRUN echo one > /one\nCOPY b /b\nRUN cat /b/b.txt > /c\n"));
    let first = built_id(&build_ok(&e, &d, &[]));
    // touched, same content: every step from the cache
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    for f in ["a.txt", "b/b.txt"] {
        std::fs::File::options().write(true).open(d.join(f)).unwrap().set_modified(later).unwrap();
    }
    let out = build_ok(&e, &d, &[]);
    assert_eq!(out.matches("Using cache").count(), 4, "{out}");
    assert_eq!(built_id(&out), first);
    // one file changed: its COPY and what follows are built again
    write(&d.join("b/b.txt"), "changed\n");
    let out = build_ok(&e, &d, &["-t", "cache:2"]);
    assert_eq!(out.matches("Using cache").count(), 2, "{out}");
    assert_ne!(built_id(&out), first);
    assert_eq!(sh(&e, "cache:2", "cat /c"), "changed\n");
    // a new file in a copied dir is a change too; an ignored one is not
    write(&d.join("b/new.txt"), "new\n");
    let out = build_ok(&e, &d, &[]);
    assert_eq!(out.matches("Using cache").count(), 2, "{out}");
    write(&d.join(".dockerignore"), "b/new.txt\n");
    let out = build_ok(&e, &d, &["-t", "cache:3"]);
    assert_eq!(out.matches("Using cache").count(), 4, "{out}");
    // the stat memo (kept once the files are 2 s old) still sees a change
    // that keeps the size and the mtime: the ctime moves
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let out = build_ok(&e, &d, &[]);
    assert_eq!(out.matches("Using cache").count(), 4, "{out}");
    let out = build_ok(&e, &d, &[]);
    assert_eq!(out.matches("Using cache").count(), 4, "{out}");
    let f = d.join("b/b.txt");
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    write(&f, "CHANGED\n");
    std::fs::File::options().write(true).open(&f).unwrap().set_modified(mtime).unwrap();
    let out = build_ok(&e, &d, &["-t", "cache:4"]);
    assert_eq!(out.matches("Using cache").count(), 2, "{out}");
    assert_eq!(sh(&e, "cache:4", "cat /c"), "CHANGED\n");
}

#[test]
fn copy_from_an_image_resolves_its_symlinks_inside_it() {
    let e = Env::new();
    let bb = e.busybox();
    let d = e.dir.path().join("src-img");
    write(
        &d.join("Dockerfile"),
        &format!(
            "FROM {bb}\nRUN mkdir -p /opt/app/sub && echo inside > /opt/app/real && chown 5:6 /opt/app/real && echo 'imageonly:x:7:7::/:/bin/sh' > /etc/passwd && ln -s /etc/passwd /opt/app/abs && ln -s ../../../../../../etc/passwd /opt/app/rel && echo gone > /gone && echo s > /opt/app/sub/s\nRUN rm /gone\n"
        ),
    );
    let src = built_id(&build_ok(&e, &d, &[]));
    let c = e.dir.path().join("ctx");
    write(&c.join("Dockerfile"), &format!("FROM {bb}\nCOPY --from={src} /opt/app/abs /p1\nCOPY --from={src} /opt/app/rel /p2\nCOPY --from={src} /opt/app/ /app2/\n"));
    build_ok(&e, &c, &["-t", "from:1"]);
    let got = sh(&e, "from:1", "cat /p1 /p2; stat -c '%u:%g %n' /app2/real; readlink /app2/abs; cat /app2/sub/s");
    assert_eq!(got, "imageonly:x:7:7::/:/bin/sh\nimageonly:x:7:7::/:/bin/sh\n5:6 /app2/real\n/etc/passwd\ns\n");
    // a file the image deleted (a whiteout) is not there
    write(&c.join("Dockerfile"), &format!("FROM {bb}\nCOPY --from={src} /gone /x\n"));
    let err = build_err(&e, &c);
    assert!(err.contains("COPY /gone: no such file in the image"), "{err}");
}
