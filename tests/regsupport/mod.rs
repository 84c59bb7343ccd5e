//! Shared helpers for the registry tests: a local registry on a free port
//! (127.0.0.1 only), stopped on drop, and test images built with
//! scripts/mkimage.sh.
#![allow(dead_code)]

use bocker::image::{pull, Progress, PullError, PullOptions, PulledImage, Reference};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

pub struct Registry {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Registry {
    pub fn start(htpasswd: Option<&str>) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut c = Command::new(script("registry.sh"));
        c.arg("start").arg(dir.path()).arg(port.to_string());
        if let Some(h) = htpasswd {
            c.arg("--htpasswd").arg(h);
        }
        run(&mut c);
        Registry { dir, port }
    }
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    pub fn reference(&self, name: &str) -> Reference {
        Reference::parse(&format!("{}/{name}", self.host())).expect("reference")
    }
    /// Path of a blob in the registry's filesystem storage.
    pub fn blob_path(&self, hex: &str) -> PathBuf {
        self.dir.path().join(format!(
            "data/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new(script("registry.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// An OCI layout with tags: `bb` (busybox, 1 layer, amd64), `wh` (busybox +
/// a whiteout layer), `bb-arm64` (2 layers, linux/arm64/v8), `multi` (index
/// of bb + bb-arm64).
pub struct Images {
    pub dir: tempfile::TempDir,
    pub digests: std::collections::HashMap<String, String>,
}

impl Images {
    pub fn build() -> Images {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let mk = script("mkimage.sh");
        run(Command::new(&mk).arg("rootfs").arg(d.join("rootfs")));
        run(Command::new(&mk).arg("whiteouts").arg(d.join("l2")));
        std::fs::create_dir_all(d.join("arm")).expect("mkdir");
        std::fs::write(d.join("arm/arch"), "arm64\n").expect("write");
        let lay = d.join("layout");
        let mut digests = std::collections::HashMap::new();
        let mut layout = |tag: &str, plat: &str, dirs: &[&str]| {
            let mut c = Command::new(&mk);
            c.arg("layout").arg(&lay).arg(tag).arg(plat);
            for x in dirs {
                c.arg(d.join(x));
            }
            digests.insert(tag.to_string(), run(&mut c));
        };
        layout("bb", "linux/amd64", &["rootfs"]);
        layout("wh", "linux/amd64", &["rootfs", "l2"]);
        layout("bb-arm64", "linux/arm64/v8", &["rootfs", "arm"]);
        digests.insert(
            "multi".into(),
            run(Command::new(&mk)
                .arg("index")
                .arg(&lay)
                .arg("multi")
                .arg("bb")
                .arg("bb-arm64")),
        );
        Images { dir, digests }
    }

    pub fn push(&self, reg: &Registry, tag: &str, dest: &str, opts: &[&str], creds: Option<&str>) {
        let mut c = Command::new(script("mkimage.sh"));
        c.arg("push")
            .arg(self.dir.path().join("layout"))
            .arg(tag)
            .arg(format!("{}/{dest}", reg.host()));
        c.args(opts);
        if let Some(cr) = creds {
            c.env("SKOPEO_CREDS", cr);
        }
        run(&mut c);
    }
}

/// Pull with a recording progress callback.
pub fn pull_rec(
    root: &Path,
    r: &Reference,
    opts: &PullOptions,
) -> (Result<PulledImage, PullError>, Vec<Progress>) {
    let events = Mutex::new(Vec::new());
    let res = pull(root, r, opts, &|p| {
        if let Ok(mut e) = events.lock() {
            e.push(p);
        }
    });
    (res, events.into_inner().unwrap_or_default())
}

pub fn dir_names(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(p) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}
