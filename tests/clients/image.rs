//! The image the clients run: the busybox rootfs of tests/common, made an
//! image by `bocker init` and written as an OCI archive by `bocker save
//! --format oci` (containerd's `ctr image import` is given the OCI form)
//! (no registry, no network).
use crate::common::Env;
use std::path::PathBuf;

/// The reference the archive's index names (podman adds `localhost/`).
pub const NAME: &str = "clients-busybox:1";

/// Writes `ENV_DIR/busybox-oci.tar` and returns its path.
pub fn busybox_archive(env: &Env) -> PathBuf {
    let id = env.busybox();
    env.ok(&["tag", &id, NAME]);
    let path = env.dir.path().join("busybox-oci.tar");
    env.ok(&["save", "--format", "oci", "-o", path.to_str().expect("utf-8 test dir"), NAME]);
    path
}
