//! Image archive formats, export/import and history, with the real binary
//! and real podman (its own root, run root and configuration in the
//! test's folder, torn down by a guard): bocker's Docker archive runs
//! under podman with the same output, podman's Docker archive runs under
//! bocker (from a file and from stdin), an OCI round trip keeps the image
//! id and config digest, several images share one archive, and a corrupt
//! archive (bad digest, a path out of the archive, truncated) fails with
//! one line and leaves the store as it was.
mod clients;
mod common;

use clients::podman::Podman;
use clients::runtime::Runtime;
use common::{text, Env};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A two-layer image `fmt:1` (busybox and a commit) whose command prints
/// `formats`; returns its id.
fn two_layer_image(e: &Env) -> String {
    let bb = e.busybox();
    e.ok(&["run", "--name", "c", &bb, "sh", "-c", "echo formats > /msg; rm /etc/os-release"]);
    let out = e.ok(&["commit", "-c", "CMD [\"cat\", \"/msg\"]", "c", "fmt:1"]);
    e.ok(&["rm", "c"]);
    out.trim().strip_prefix("Created: ").expect("Created: line").to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 test path")
}

/// `bocker ARGS` with stdin read from `input`.
fn with_stdin(e: &Env, args: &[&str], input: &Path) -> std::process::Output {
    let mut c = e.cmd(args);
    c.stdin(std::fs::File::open(input).expect("input file"));
    c.output().expect("run bocker")
}

/// The names of a tar's members.
fn members(tar: &Path) -> Vec<String> {
    let mut a = tar::Archive::new(std::fs::File::open(tar).expect("tar"));
    a.entries().expect("entries").map(|e| text(&e.expect("entry").path_bytes())).collect()
}

/// What a failed load must leave unchanged: the image list, the layer
/// folders, and nothing staged under tmp/.
fn store_snapshot(e: &Env) -> (String, Vec<String>, Vec<String>) {
    let list = |d: PathBuf| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d).map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
        v.sort();
        v
    };
    (e.ok(&["images", "-a", "-q"]), list(e.root().join("layers")), list(e.root().join("tmp")))
}

/// Rewrites a tar, passing each member's data through `edit`.
fn rewrite(src: &Path, dst: &Path, edit: &dyn Fn(&str, Vec<u8>) -> Vec<u8>) {
    let mut a = tar::Archive::new(std::fs::File::open(src).expect("src tar"));
    let mut b = tar::Builder::new(std::fs::File::create(dst).expect("dst tar"));
    for e in a.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = text(&e.path_bytes());
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read member");
        let data = edit(&name, data);
        let mut h = e.header().clone();
        h.set_size(data.len() as u64);
        b.append_data(&mut h, &name, &data[..]).expect("append");
    }
    b.finish().expect("finish tar");
}

#[test]
fn docker_archive_runs_under_podman_and_podmans_runs_here() {
    let e = Env::new();
    two_layer_image(&e);
    assert_eq!(e.ok(&["run", "--rm", "fmt:1"]), "formats\n");
    let ours = e.dir.path().join("bocker-docker.tar");
    e.ok(&["save", "--format", "docker", "-o", path(&ours), "fmt:1"]);
    let names = members(&ours);
    for want in ["manifest.json", "repositories"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    assert_eq!(names.iter().filter(|n| n.ends_with("/layer.tar")).count(), 2, "{names:?}");

    let podman = Podman::new(e.dir.path(), Runtime::Runc);
    let loaded = podman.load(&ours);
    assert_eq!(loaded, "localhost/fmt:1");
    let o = podman.run(&["--rm", &loaded]);
    assert!(o.status.success(), "podman run: {}\n{}", text(&o.stderr), podman.calls());
    assert_eq!(text(&o.stdout), "formats\n", "podman runs what bocker runs");
    let o = podman.run(&["--rm", &loaded, "cat", "/etc/os-release"]);
    assert_eq!(o.status.code(), Some(1), "the whiteout reached podman");

    // podman's docker-archive into other stores: from a file and from stdin
    let theirs = e.dir.path().join("podman-docker.tar");
    podman.ok(&["save", "--format", "docker-archive", "-o", path(&theirs), &loaded]);
    let e2 = Env::new();
    assert_eq!(e2.ok(&["load", "-i", path(&theirs)]), "Loaded image: localhost/fmt:1\n");
    assert_eq!(e2.ok(&["run", "--rm", "localhost/fmt:1"]), "formats\n");
    // the history came through podman: the commit on top of the init
    let hist = e2.ok(&["history", "--no-trunc", "localhost/fmt:1"]);
    let rows: Vec<&str> = hist.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{hist}");
    assert!(rows[0].contains("bocker commit") && rows[1].contains("bocker init"), "{hist}");
    let e3 = Env::new();
    let o = with_stdin(&e3, &["load"], &theirs);
    assert!(o.status.success(), "load from stdin: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Loaded image: localhost/fmt:1\n");
    assert_eq!(e3.ok(&["run", "--rm", "localhost/fmt:1"]), "formats\n");
    podman.finish();
}

#[test]
fn oci_round_trip_keeps_id_and_digest_and_gzip_loads() {
    let e = Env::new();
    let id = two_layer_image(&e);
    let first = e.dir.path().join("first.tar");
    e.ok(&["save", "--format", "oci", "-o", path(&first), "fmt:1"]);
    assert!(members(&first).iter().any(|n| n == "oci-layout"));
    // back into the same store: the image is found, not copied
    let before = e.ok(&["images", "-a", "-q"]);
    let docker = e.dir.path().join("same-store.tar");
    e.ok(&["save", "-o", path(&docker), "fmt:1"]);
    for tar in [&first, &docker] {
        assert_eq!(e.ok(&["load", "-i", path(tar)]), "Loaded image: fmt:1\n");
        assert_eq!(e.ok(&["images", "-a", "-q"]), before, "a second copy of the image");
    }
    let e2 = Env::new();
    assert_eq!(e2.ok(&["load", "-i", path(&first)]), "Loaded image: fmt:1\n");
    assert_eq!(e2.ok(&["images", "-q"]).trim(), id, "the image id travels with the archive");
    assert_eq!(e2.ok(&["run", "--rm", "fmt:1"]), "formats\n");
    // saved again from the second store: the same bytes (same config
    // digest, same layer digests)
    let second = e.dir.path().join("second.tar");
    e2.ok(&["save", "--format", "oci", "-o", path(&second), "fmt:1"]);
    assert!(std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(), "the round trip changed the archive");
    // to stdout (not a terminal here), gzip-compressed, back in from stdin
    let o = e.cmd(&["save", "fmt:1"]).stdout(Stdio::piped()).output().expect("save to stdout");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let gz = e.dir.path().join("stdout.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&o.stdout).unwrap();
    enc.finish().unwrap();
    let e3 = Env::new();
    let o = with_stdin(&e3, &["load"], &gz);
    assert!(o.status.success(), "gzip from stdin: {}", text(&o.stderr));
    assert_eq!(e3.ok(&["run", "--rm", "fmt:1"]), "formats\n");
}

#[test]
fn several_images_and_tags_in_one_archive() {
    let e = Env::new();
    let a = two_layer_image(&e);
    e.ok(&["tag", "fmt:1", "fmt:latest"]);
    let b = e.busybox();
    e.ok(&["tag", &b, "plain:2"]);
    for format in ["docker", "oci"] {
        let tar = e.dir.path().join(format!("many-{format}.tar"));
        e.ok(&["save", "--format", format, "-o", path(&tar), "fmt:1", "plain:2", "fmt"]);
        let e2 = Env::new();
        let out = e2.ok(&["load", "-i", path(&tar)]);
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort();
        assert_eq!(lines, ["Loaded image: fmt:1", "Loaded image: fmt:latest", "Loaded image: plain:2"], "{format}");
        assert_eq!(e2.ok(&["images", "-q"]).lines().count(), 2, "{format}: two images");
        assert_eq!(e2.ok(&["run", "--rm", "fmt"]), "formats\n");
        assert_eq!(e2.ok(&["run", "--rm", "plain:2", "cat", "/etc/os-release"]), "busybox rootfs\n");
    }
    // an image saved by id has no name: docker's "Loaded image ID"
    let tar = e.dir.path().join("by-id.tar");
    e.ok(&["save", "-o", path(&tar), &a]);
    let e2 = Env::new();
    let out = e2.ok(&["load", "-i", path(&tar)]);
    assert!(out.starts_with("Loaded image ID: img_") && out.lines().count() == 1, "{out}");
}

#[test]
fn corrupt_archives_fail_with_one_line_and_change_nothing() {
    let e = Env::new();
    two_layer_image(&e);
    let docker = e.dir.path().join("good-docker.tar");
    let oci = e.dir.path().join("good-oci.tar");
    e.ok(&["save", "--format", "docker", "-o", path(&docker), "fmt:1"]);
    e.ok(&["save", "--format", "oci", "-o", path(&oci), "fmt:1"]);
    let d = e.dir.path();
    // a layer's content changed: its diff_id no longer matches the config
    let bad_layer = d.join("bad-layer.tar");
    rewrite(&docker, &bad_layer, &|name, mut data| {
        if name.ends_with("/layer.tar") && data.len() > 4096 {
            let i = data.len() / 2;
            data[i] ^= 0xff;
        }
        data
    });
    // an OCI blob that is not what its name says
    let bad_blob = d.join("bad-blob.tar");
    rewrite(&oci, &bad_blob, &|name, mut data| {
        if name.starts_with("blobs/sha256/") && data.len() > 4096 {
            let i = data.len() / 2;
            data[i] ^= 0xff;
        }
        data
    });
    // manifest.json naming a file outside the archive
    let escape = d.join("escape.tar");
    rewrite(&docker, &escape, &|name, data| {
        if name == "manifest.json" {
            let mut m: serde_json::Value = serde_json::from_slice(&data).unwrap();
            m[0]["Layers"][0] = "../../../../etc/passwd".into();
            return serde_json::to_vec(&m).unwrap();
        }
        data
    });
    let truncated = d.join("truncated.tar");
    let bytes = std::fs::read(&docker).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let not_tar = d.join("junk.tar");
    std::fs::write(&not_tar, b"not an archive at all").unwrap();

    let e2 = Env::new();
    let bb = e2.busybox();
    e2.ok(&["tag", &bb, "fmt:1"]);
    let before = store_snapshot(&e2);
    for (what, tar, says) in [
        ("a layer's diff_id", &bad_layer, "diff_id mismatch"),
        ("an OCI blob's digest", &bad_blob, "digest mismatch"),
        ("a path out of the archive", &escape, "outside the archive"),
        ("a truncated archive", &truncated, "not a readable archive"),
        ("not a tar", &not_tar, "not a readable archive"),
    ] {
        let o = e2.run(&["load", "-i", path(tar)]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert_eq!(store_snapshot(&e2), before, "{what} changed the store");
    }
    assert_eq!(e2.ok(&["run", "--rm", "fmt:1", "cat", "/etc/os-release"]), "busybox rootfs\n", "the tag stayed");
    // the good archives still load
    assert_eq!(e2.ok(&["load", "-i", path(&docker)]), "Loaded image: fmt:1\n");
    assert_eq!(e2.ok(&["run", "--rm", "fmt:1"]), "formats\n");
}

#[test]
fn save_refuses_a_terminal() {
    let e = Env::new();
    let bb = e.busybox();
    let script = e.dir.path().join("save.exp");
    std::fs::write(
        &script,
        format!(
            "set timeout 20\nspawn {bin} save {bb}\nexpect {{\n  \"cowardly refusing to save to a terminal\" {{ expect eof; exit 0 }}\n  eof {{ exit 3 }}\n  timeout {{ exit 4 }}\n}}\n",
            bin = common::bin()
        ),
    )
    .unwrap();
    let o = e.expect(&script);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
}

#[test]
fn export_then_import_keeps_the_containers_changes() {
    let e = Env::new();
    let bb = e.busybox();
    e.ok(&["run", "--name", "x", &bb, "sh", "-c", "echo exported > /changed.txt; rm /etc/os-release"]);
    let tar = e.dir.path().join("x.tar");
    e.ok(&["export", "-o", path(&tar), "x"]);
    let names = members(&tar);
    assert!(names.iter().any(|n| n == "changed.txt"), "{names:?}");
    assert!(names.iter().any(|n| n == "bin/busybox"), "the image's files are there too");
    assert!(!names.iter().any(|n| n.contains("os-release")), "the deleted file is gone: {names:?}");
    // to stdout, the same bytes
    let o = e.cmd(&["export", "x"]).stdout(Stdio::piped()).output().expect("export to stdout");
    assert!(o.status.success() && o.stdout == std::fs::read(&tar).unwrap(), "{}", text(&o.stderr));

    let out = e.ok(&["import", "-c", "CMD [\"cat\", \"/changed.txt\"]", "-m", "from x", path(&tar), "imported:1"]);
    assert!(out.starts_with("Created: img_"), "{out}");
    assert_eq!(e.ok(&["run", "--rm", "imported:1"]), "exported\n");
    assert_eq!(e.run(&["run", "--rm", "imported:1", "cat", "/etc/os-release"]).status.code(), Some(1));
    // from stdin, gzip-compressed
    let gz = e.dir.path().join("x.tar.gz");
    let st = Command::new("gzip").arg("-k").arg(&tar).status().expect("gzip");
    assert!(st.success());
    let o = with_stdin(&e, &["import", "-", "imported:2"], &gz);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(e.ok(&["run", "--rm", "imported:2", "cat", "/changed.txt"]), "exported\n");
    let hist = e.ok(&["history", "imported:1"]);
    assert!(hist.contains("from x"), "the -m message is the comment: {hist}");
}

#[test]
fn history_lists_each_step_of_a_build() {
    let e = Env::new();
    let bb = e.busybox();
    e.ok(&["tag", &bb, "base:1"]);
    let ctx = e.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM base:1\nRUN echo built > /built\nENV A=1\nCMD [\"cat\", \"/built\"]\n").unwrap();
    e.ok(&["build", "-q", "-t", "built:1", path(&ctx)]);
    let out = e.ok(&["history", "built:1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "a header and one row per entry: {out}");
    for (i, h) in ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"].iter().enumerate() {
        assert!(lines[0].contains(h), "header {i}: {out}");
    }
    assert!(lines[1].contains("CMD [\"cat\",\"/built\"]") && lines[1].contains("0B"), "{out}");
    assert!(lines[2].contains("ENV A=1"), "{out}");
    assert!(lines[3].contains("RUN echo built > /built") && !lines[3].contains(" 0B"), "the RUN layer has a size: {out}");
    assert!(lines[4].contains("bocker init") && lines[4].starts_with(&bb), "the base image's id: {out}");
    let ids = e.ok(&["history", "-q", "built:1"]);
    assert_eq!(ids.lines().count(), 4);
    assert!(ids.lines().all(|l| l.starts_with("img_")), "every step's image is in the store: {ids}");
    assert_eq!(ids.lines().last(), Some(bb.as_str()));
    let json: serde_json::Value = serde_json::from_str(&e.ok(&["history", "--format", "json", "built:1"])).unwrap();
    assert_eq!(json.as_array().map(|a| a.len()), Some(4));
    assert_eq!(json[2]["created_by"], "RUN echo built > /built");
    // a long CREATED BY is cut at 45 characters unless --no-trunc
    let long = e.ok(&["history", "--no-trunc", &bb]);
    assert!(long.contains(&format!("bocker init {}", common::rootfs().display())), "{long}");
}
