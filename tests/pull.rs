//! Pulls from a real local registry (docker-registry on 127.0.0.1, a free
//! port per test). Needs docker-registry, skopeo, apache2-utils, curl and
//! busybox-static installed.

#[path = "regsupport/mod.rs"]
mod common;

use bocker::image::auth;
use bocker::image::extract::OVERLAY_OPAQUE_XATTR;
use bocker::fsutil::lgetxattr;
use bocker::image::pull::{read_layer_record, PullError};
use bocker::image::registry::RegistryError;
use bocker::image::platform;
use bocker::image::{Progress, PullOptions, Reference};
use common::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

fn layer_diff(root: &Path, hex: &str) -> std::path::PathBuf {
    root.join("layers").join(hex).join("diff")
}

fn assert_clean_tmp(root: &Path) {
    assert_eq!(
        dir_names(&root.join("tmp")),
        Vec::<String>::new(),
        "staging left behind"
    );
}

#[test]
fn pull_oci_manifest() {
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "bb", "busybox:latest", &[], None);
    let root = tempfile::tempdir().unwrap();
    let r = reg.reference("busybox");
    let (res, ev) = pull_rec(root.path(), &r, &PullOptions::default());
    let img = res.unwrap();
    assert_eq!(img.manifest_digest, imgs.digests["bb"]);
    assert_eq!(img.top_digest, imgs.digests["bb"]);
    assert_eq!(
        img.reference.familiar(),
        format!("{}/busybox:latest", reg.host())
    );
    assert!(img
        .manifest_json
        .contains("application/vnd.oci.image.manifest.v1+json"));
    assert_eq!(img.layers.len(), 1);
    assert_eq!(img.platform, platform::parse("linux/amd64").unwrap());
    assert_eq!(
        img.config.cmd.as_deref(),
        Some(&["/bin/sh".to_string()][..])
    );
    assert!(img.config_json.contains("diff_ids"));
    let diff = layer_diff(root.path(), &img.layers[0]);
    assert!(fs::metadata(diff.join("bin/busybox")).unwrap().len() > 100_000);
    assert_eq!(
        fs::read_link(diff.join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    assert_eq!(
        fs::metadata(diff.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
    let rec = read_layer_record(root.path(), &img.layers[0]).unwrap();
    assert_eq!(rec.diff_id.as_deref(), Some(format!("sha256:{}", img.layers[0]).as_str()));
    let digest = rec.digest.clone().unwrap();
    assert!(digest.starts_with("sha256:") && Some(&digest) != rec.diff_id.as_ref());
    assert!(rec.size > 1_000_000);
    assert_eq!(
        rec.media_type.as_deref().unwrap_or_default(),
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert!(ev.iter().any(|e| matches!(e, Progress::LayerBytes { .. })));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Progress::LayerDone { index: 0, .. })));
    assert_clean_tmp(root.path());
}

#[test]
fn pull_docker_v2s2_with_whiteouts() {
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "wh", "wh:v2s2", &["--v2s2"], None);
    let root = tempfile::tempdir().unwrap();
    let (res, _) = pull_rec(
        root.path(),
        &reg.reference("wh:v2s2"),
        &PullOptions::default(),
    );
    let img = res.unwrap();
    assert!(img
        .manifest_json
        .contains("application/vnd.docker.distribution.manifest.v2+json"));
    assert_eq!(img.layers.len(), 2);
    let top = layer_diff(root.path(), &img.layers[1]);
    let vi = fs::symlink_metadata(top.join("bin/vi")).unwrap();
    assert!(
        vi.file_type().is_char_device() && vi.rdev() == 0,
        "bin/vi must be an overlay whiteout"
    );
    let etc = top.join("etc");
    assert_eq!(
        lgetxattr(etc.as_os_str().as_encoded_bytes(), OVERLAY_OPAQUE_XATTR).unwrap(),
        Some(b"y".to_vec())
    );
    assert_eq!(
        fs::read_to_string(top.join("etc/motd")).unwrap(),
        "from layer 2\n"
    );
    assert!(!top.join("etc/.wh..wh..opq").exists() && !top.join("bin/.wh.vi").exists());
    let rec = read_layer_record(root.path(), &img.layers[1]).unwrap();
    assert_eq!(
        rec.media_type.as_deref().unwrap_or_default(),
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    assert_clean_tmp(root.path());
}

#[test]
fn pull_multi_arch_index_picks_platform() {
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "multi", "multi:latest", &["--all"], None);
    let r = reg.reference("multi");

    let root = tempfile::tempdir().unwrap();
    let (res, _) = pull_rec(
        root.path(),
        &r,
        &PullOptions {
            platform: Some(platform::parse("linux/amd64").unwrap()),
            ..Default::default()
        },
    );
    let img = res.unwrap();
    assert_eq!(img.top_digest, imgs.digests["multi"]);
    assert_eq!(img.manifest_digest, imgs.digests["bb"]);
    assert_eq!(platform::name(&img.platform), "linux/amd64");
    assert_eq!(
        img.config.labels["test.platform"],
        "linux/amd64"
    );

    if cfg!(target_arch = "x86_64") {
        let root2 = tempfile::tempdir().unwrap();
        let (res, _) = pull_rec(root2.path(), &r, &PullOptions::default());
        assert_eq!(
            res.unwrap().manifest_digest,
            imgs.digests["bb"],
            "default platform on x86_64 is amd64"
        );
    }

    let (res, _) = pull_rec(
        root.path(),
        &r,
        &PullOptions {
            platform: Some(platform::parse("linux/arm64/v8").unwrap()),
            ..Default::default()
        },
    );
    let arm = res.unwrap();
    assert_eq!(arm.manifest_digest, imgs.digests["bb-arm64"]);
    assert_eq!(platform::name(&arm.platform), "linux/arm64/v8");
    assert_eq!(arm.layers[0], img.layers[0], "shared base layer");
    assert_eq!(
        fs::read_to_string(layer_diff(root.path(), &arm.layers[1]).join("arch")).unwrap(),
        "arm64\n"
    );

    let (res, _) = pull_rec(
        root.path(),
        &r,
        &PullOptions {
            platform: Some(platform::parse("linux/arm/v7").unwrap()),
            ..Default::default()
        },
    );
    match res {
        Err(PullError::NoPlatform { available, .. }) => {
            assert!(available.contains("linux/amd64"), "{available}")
        }
        other => panic!("expected NoPlatform, got {other:?}"),
    }
}

#[test]
fn pull_by_digest() {
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "bb", "busybox:latest", &[], None);
    let root = tempfile::tempdir().unwrap();
    let d = &imgs.digests["bb"];
    let r = reg.reference(&format!("busybox@{d}"));
    let (res, _) = pull_rec(root.path(), &r, &PullOptions::default());
    let img = res.unwrap();
    assert_eq!(&img.manifest_digest, d);
    assert_eq!(
        img.reference.familiar(),
        format!("{}/busybox@{d}", reg.host())
    );

    let missing = reg.reference(&format!("busybox@sha256:{}", "0".repeat(64)));
    let (res, _) = pull_rec(root.path(), &missing, &PullOptions::default());
    assert!(
        matches!(
            res,
            Err(PullError::Registry(RegistryError::NotFound { .. }))
        ),
        "{res:?}"
    );
}

#[test]
fn pull_with_htpasswd_auth_and_login() {
    let imgs = Images::build();
    let reg = Registry::start(Some("alice:s3cret"));
    imgs.push(&reg, "bb", "private/bb:1", &[], Some("alice:s3cret"));
    let r = reg.reference("private/bb:1");
    let root = tempfile::tempdir().unwrap();

    let (res, _) = pull_rec(root.path(), &r, &PullOptions::default());
    assert!(
        matches!(
            res,
            Err(PullError::Registry(RegistryError::Unauthorized { .. }))
        ),
        "{res:?}"
    );

    let bad = bocker::image::login::login(root.path(), &reg.host(), "alice", "wrong");
    assert!(bad.is_err());
    assert!(!root.path().join("auth.json").exists());

    bocker::image::login::login(root.path(), &reg.host(), "alice", "s3cret").unwrap();
    let (res, _) = pull_rec(root.path(), &r, &PullOptions::default());
    assert_eq!(res.unwrap().layers.len(), 1);

    // explicit credentials in the options also work
    let root2 = tempfile::tempdir().unwrap();
    let creds = auth::Credentials::new("alice", "s3cret");
    let (res, _) = pull_rec(
        root2.path(),
        &r,
        &PullOptions {
            credentials: Some(creds),
            ..Default::default()
        },
    );
    res.unwrap();
}

#[test]
fn second_pull_fetches_nothing() {
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "wh", "wh:1", &[], None);
    let root = tempfile::tempdir().unwrap();
    let r = reg.reference("wh:1");
    let (first, ev1) = pull_rec(root.path(), &r, &PullOptions::default());
    let first = first.unwrap();
    assert_eq!(
        ev1.iter()
            .filter(|e| matches!(e, Progress::LayerStarted { .. }))
            .count(),
        2
    );
    let (second, ev2) = pull_rec(root.path(), &r, &PullOptions::default());
    let second = second.unwrap();
    assert_eq!(first.layers, second.layers);
    assert!(
        !ev2.iter().any(|e| matches!(
            e,
            Progress::LayerStarted { .. } | Progress::LayerBytes { .. }
        )),
        "{ev2:?}"
    );
    assert_eq!(
        ev2.iter()
            .filter(|e| matches!(e, Progress::LayerCached { .. }))
            .count(),
        2
    );
}

#[test]
fn corrupted_blob_fails_and_leaves_no_layer() {
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "bb", "busybox:latest", &[], None);
    let r = reg.reference("busybox");
    // find the layer blob through the manifest stored in the layout
    let lay = imgs.dir.path().join("layout/blobs/sha256");
    let man =
        fs::read_to_string(lay.join(imgs.digests["bb"].trim_start_matches("sha256:"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&man).unwrap();
    let layer_hex = v["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = reg.blob_path(&layer_hex);
    let mut data = fs::read(&blob).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    fs::write(&blob, &data).unwrap();

    let root = tempfile::tempdir().unwrap();
    let (res, _) = pull_rec(root.path(), &r, &PullOptions::default());
    assert!(
        matches!(
            res,
            Err(PullError::Registry(RegistryError::DigestMismatch { .. }))
        ),
        "{res:?}"
    );
    assert_eq!(dir_names(&root.path().join("layers")), Vec::<String>::new());
    assert_clean_tmp(root.path());
}

#[test]
fn bad_references_and_unknown_repos() {
    let reg = Registry::start(None);
    let root = tempfile::tempdir().unwrap();
    let (res, _) = pull_rec(
        root.path(),
        &reg.reference("nope:latest"),
        &PullOptions::default(),
    );
    assert!(
        matches!(
            res,
            Err(PullError::Registry(RegistryError::NotFound { .. }))
        ),
        "{res:?}"
    );
    assert!(Reference::parse(&format!("{}/Upper", reg.host())).is_err());
}

#[test]
fn push_blobs_and_manifest_then_pull_back() {
    use bocker::image::digest::Digest;
    use bocker::image::layer_tar::write_layer_tar_gz;
    use bocker::image::registry::RegistryClient;
    let reg = Registry::start(None);
    let work = tempfile::tempdir().unwrap();
    let upper = work.path().join("upper");
    fs::create_dir_all(upper.join("app")).unwrap();
    fs::write(upper.join("app/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    let blob = work.path().join("layer.tar.gz");
    let d = write_layer_tar_gz(&upper, fs::File::create(&blob).unwrap()).unwrap();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Entrypoint":["/app/run.sh"]}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        d.diff_id
    );
    let cpath = work.path().join("config.json");
    fs::write(&cpath, &config).unwrap();
    let cd = Digest::of_bytes(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        config.len(),
        d.digest,
        d.compressed_size
    );
    let client = RegistryClient::new(&reg.host(), "pushed/app", None)
        .unwrap()
        .for_push();
    assert!(client.upload_blob(&d.digest, &blob).unwrap());
    assert!(client.upload_blob(&cd, &cpath).unwrap());
    assert!(
        !client.upload_blob(&d.digest, &blob).unwrap(),
        "existing blob is skipped"
    );
    let md = client
        .put_manifest(
            "v1",
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        )
        .unwrap();

    let root = tempfile::tempdir().unwrap();
    let (res, _) = pull_rec(
        root.path(),
        &reg.reference("pushed/app:v1"),
        &PullOptions::default(),
    );
    let img = res.unwrap();
    assert_eq!(img.manifest_digest, md.to_string());
    assert_eq!(img.config.entrypoint, Some(vec!["/app/run.sh".to_string()]));
    assert_eq!(img.layers, vec![d.diff_id.hex().to_string()]);
    let run = layer_diff(root.path(), &img.layers[0]).join("app/run.sh");
    assert_eq!(fs::read_to_string(run).unwrap(), "#!/bin/sh\necho hi\n");
}

/// Child side of `killed_pull_leaves_no_partial_layer`.
fn child_pull() -> bool {
    let (Ok(root), Ok(r)) = (
        std::env::var("BOCKER_TEST_CHILD_ROOT"),
        std::env::var("BOCKER_TEST_CHILD_REF"),
    ) else {
        return false;
    };
    let r = Reference::parse(&r).unwrap();
    let opts = PullOptions {
        jobs: 1,
        ..Default::default()
    };
    let _ = bocker::image::pull(Path::new(&root), &r, &opts, &|_| {});
    true
}

#[test]
fn killed_pull_leaves_no_partial_layer() {
    if child_pull() {
        return;
    }
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "wh", "wh:1", &[], None);
    let root = tempfile::tempdir().unwrap();
    let r = reg.reference("wh:1");
    let exe = std::env::current_exe().unwrap();
    for delay_ms in [5u64, 30, 80, 150, 250, 400] {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "killed_pull_leaves_no_partial_layer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BOCKER_TEST_CHILD_ROOT", root.path())
            .env("BOCKER_TEST_CHILD_REF", r.to_string())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        eprintln!(
            "kill at {delay_ms}ms: layers={:?} tmp={:?}",
            dir_names(&root.path().join("layers")).len(),
            dir_names(&root.path().join("tmp"))
        );
        for hex in dir_names(&root.path().join("layers")) {
            let rec = read_layer_record(root.path(), &hex);
            assert!(
                rec.is_some(),
                "layers/{hex} without layer.json after kill at {delay_ms} ms"
            );
            assert!(layer_diff(root.path(), &hex).is_dir());
        }
    }
    // whatever was left, a full pull completes the store
    let (res, _) = pull_rec(root.path(), &r, &PullOptions::default());
    let img = res.unwrap();
    for hex in &img.layers {
        assert!(read_layer_record(root.path(), hex).is_some());
    }
}

/// Unmounts on drop.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn pulled_layers_stack_as_overlay_lower_dirs() {
    let imgs = Images::build();
    let reg = Registry::start(None);
    imgs.push(&reg, "wh", "wh:1", &[], None);
    let root = tempfile::tempdir().unwrap();
    let (res, _) = pull_rec(root.path(), &reg.reference("wh:1"), &PullOptions::default());
    let img = res.unwrap();
    let lower = img
        .layers
        .iter()
        .rev()
        .map(|h| layer_diff(root.path(), h).display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let mnt = root.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    nix::mount::mount(
        Some("overlay"),
        &mnt,
        Some("overlay"),
        nix::mount::MsFlags::MS_RDONLY,
        Some(format!("lowerdir={lower}").as_str()),
    )
    .unwrap();
    let _m = Mounted(mnt.clone());
    assert!(mnt.join("bin/busybox").exists());
    assert!(fs::symlink_metadata(mnt.join("bin/sh")).is_ok());
    assert!(
        fs::symlink_metadata(mnt.join("bin/vi")).is_err(),
        "whiteout hides bin/vi"
    );
    assert_eq!(
        dir_names(&mnt.join("etc")),
        vec!["motd"],
        "opaque etc hides the lower etc"
    );
    assert_eq!(
        fs::read_to_string(mnt.join("data/hello.txt")).unwrap(),
        "hello\n"
    );
}
