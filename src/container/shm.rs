//! Shared /dev/shm (`--ipc shareable`, `--ipc container:X`), as Docker
//! makes it: a shareable container's /dev/shm is a tmpfs its monitor
//! mounts in the host's mount namespace at `$ROOT/containers/ID/shm`
//! (root-only: the store is 0700), bound into the container, and bound
//! into each container that joins its IPC namespace. Joiners find it by
//! a path of the store, never through the donor's root, whose names the
//! donor controls. The mount lives while the donor runs: its monitor
//! unmounts it when the process exits; after a killed monitor,
//! `release_leftovers` (rm, start, prune) does.
use crate::state::containers::{ContainerRecord, NsMode};
use crate::state::Store;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::PathBuf;

/// Where a shareable container's /dev/shm is mounted on the host.
pub fn host_dir(store: &Store, id: &str) -> PathBuf {
    store.container_dir(id).join("shm")
}

/// Mounts a fresh tmpfs for shareable container `c` (any stale one left
/// by a killed monitor is detached first); returns its path.
pub fn mount_shareable(store: &Store, c: &ContainerRecord) -> Result<PathBuf, String> {
    let dir = host_dir(store, &c.id);
    unmount(store, &c.id);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let size = c.shm_size.unwrap_or(64 * 1024 * 1024);
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("shm"), &dir, Some("tmpfs"), flags, Some(format!("mode=1777,size={size}").as_str()))
        .map_err(|e| format!("mount the shareable /dev/shm at {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Detaches a shareable container's /dev/shm (nothing if none is mounted).
pub fn unmount(store: &Store, id: &str) {
    let dir = host_dir(store, id);
    if dir.exists() {
        let _ = umount2(&dir, MntFlags::MNT_DETACH);
    }
}

/// The host folder a container joining `donor`'s IPC namespace binds
/// on its /dev/shm: the donor's shareable tmpfs, or the host's /dev/shm
/// for a donor in the host's IPC namespace.
pub fn donor_source(store: &Store, donor: &str) -> Result<PathBuf, String> {
    let d = store.load_container(donor).map_err(|e| e.to_string())?;
    match d.ipc {
        NsMode::Host => Ok(PathBuf::from("/dev/shm")),
        NsMode::Shareable => {
            let dir = host_dir(store, donor);
            let here = std::fs::metadata(&dir).map_err(|e| format!("/dev/shm of {donor}: {e}"))?;
            let parent = std::fs::metadata(store.container_dir(donor)).map_err(|e| format!("/dev/shm of {donor}: {e}"))?;
            use std::os::unix::fs::MetadataExt;
            // a mount point: the donor's monitor mounted it (it runs)
            if here.dev() == parent.dev() {
                return Err(format!("cannot join IPC of a non running container: {donor}"));
            }
            Ok(dir)
        }
        _ => Err(format!("joining the IPC namespace of {donor}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)")),
    }
}

/// The configuration's /dev/shm (the JSON of `oci::spec::config_for`)
/// becomes a bind of `source`.
pub fn bind_in_config(config: &mut serde_json::Value, source: &std::path::Path) -> Result<(), String> {
    let shm = config["mounts"]
        .as_array_mut()
        .and_then(|ms| ms.iter_mut().find(|m| m["destination"] == "/dev/shm"))
        .ok_or("no /dev/shm in the configuration")?;
    let source = source.to_str().ok_or_else(|| format!("{}: not UTF-8", source.display()))?;
    *shm = serde_json::json!({
        "destination": "/dev/shm", "type": "bind", "source": source,
        "options": ["rbind", "nosuid", "noexec", "nodev"],
    });
    Ok(())
}
