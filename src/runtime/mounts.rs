//! Volumes, binds and tmpfs mounts inside the container root, without
//! following symlinks out of it: destinations are resolved inside the
//! root ([`Root`]), created if missing, and mounted through
//! /proc/self/fd/N (as runc does).
use super::inroot::{fd_path, Root};
use crate::state::containers::ContainerRecord;
use crate::state::Store;
use nix::mount::{mount, MsFlags};
use std::path::{Path, PathBuf};

/// A mount inside the container (volumes, binds, tmpfs).
#[derive(Debug, Clone)]
pub struct BindPlan {
    /// host path (for bind) or "" for tmpfs
    pub source: PathBuf,
    /// path inside the container, absolute
    pub target: String,
    pub readonly: bool,
    pub tmpfs_options: Option<String>,
    /// a new volume: fill `source` from the image's `target` first, then
    /// remove this marker file
    pub fill_marker: Option<PathBuf>,
}

/// Mount destinations the runtime owns: a volume or bind there could hide
/// or redirect the kernel's files (Docker refuses the same).
const RESERVED: &[&str] = &["/proc", "/sys", "/dev/pts"];

/// The container's volumes, binds and tmpfs mounts, with their host paths.
pub fn plans_for(store: &Store, c: &ContainerRecord) -> Vec<BindPlan> {
    c.mounts
        .iter()
        .map(|m| {
            let (source, fill_marker) = if m.kind == "volume" {
                let marker = store.volume_dir(&m.source).join(".fill");
                (store.volume_data(&m.source), marker.exists().then_some(marker))
            } else {
                (m.source.clone().into(), None)
            };
            BindPlan {
                source,
                target: m.target.clone(),
                readonly: m.readonly,
                tmpfs_options: if m.kind == "tmpfs" { Some(m.options.clone().unwrap_or_default()) } else { None },
                fill_marker,
            }
        })
        .collect()
}

/// Refuses a destination at or under /proc, /sys or /dev/pts.
pub fn check_destination(target: &str) -> Result<(), String> {
    let norm: Vec<&str> = target.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if norm.contains(&"..") {
        return Err(format!("invalid mount destination {target}: must not contain '..'"));
    }
    let norm = format!("/{}", norm.join("/"));
    for r in RESERVED {
        if norm == *r || norm.starts_with(&format!("{r}/")) {
            return Err(format!("invalid mount destination {target}: {r} is reserved for the kernel's files"));
        }
    }
    Ok(())
}

/// Mounts one bind/tmpfs into the container root.
pub fn mount_into(root: &Root, b: &BindPlan) -> Result<(), String> {
    check_destination(&b.target)?;
    let none: Option<&str> = None;
    let is_file = b.tmpfs_options.is_none() && std::fs::metadata(&b.source).map(|m| !m.is_dir()).unwrap_or(false);
    let target = root.mount_target(&b.target, is_file).map_err(|e| format!("mount destination {e}"))?;
    let fdpath = fd_path(&target);
    if let Some(opts) = &b.tmpfs_options {
        let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
        if b.readonly {
            flags |= MsFlags::MS_RDONLY;
        }
        let opts = if opts.is_empty() { "mode=1777".to_string() } else { opts.clone() };
        mount(Some("tmpfs"), fdpath.as_str(), Some("tmpfs"), flags, Some(opts.as_str()))
            .map_err(|e| format!("tmpfs on {}: {e}", b.target))?;
        return Ok(());
    }
    mount(Some(&b.source), fdpath.as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
        .map_err(|e| format!("bind {} on {}: {e}", b.source.display(), b.target))?;
    if b.readonly {
        // the fd still names the pre-mount inode: reopen the new mount
        let t = root.open_at(&b.target, libc::O_PATH).map_err(|e| format!("{}: {e}", b.target))?;
        remount_readonly(&fd_path(&t), true).map_err(|e| format!("read-only {}: {e}", b.target))?;
    }
    Ok(())
}

/// Makes the mount at `path` (a /proc/self/fd name) read-only.
pub fn remount_readonly(path: &str, recursive: bool) -> nix::Result<()> {
    let none: Option<&str> = None;
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(none, path, none, flags, none)
}

/// Fills the new volumes among `binds` from the image, right after the
/// overlay root is mounted (before /proc, /sys and /dev are).
pub fn fill_volumes(root: &Root, binds: &[BindPlan]) -> Result<(), String> {
    for b in binds {
        if let Some(marker) = &b.fill_marker {
            fill_volume(root, b)?;
            let _ = std::fs::remove_file(marker);
        }
    }
    Ok(())
}

/// Fills an empty new volume with what the image has at the target, the
/// image path resolved inside the root (a symlinked target stays inside).
fn fill_volume(root: &Root, b: &BindPlan) -> Result<(), String> {
    let empty = std::fs::read_dir(&b.source).map(|mut d| d.next().is_none()).unwrap_or(false);
    if !empty {
        return Ok(());
    }
    let src = match root.open_at(&b.target, libc::O_PATH | libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(_) => return Ok(()), // nothing (or not a folder) there in the image
    };
    crate::storage::copy_contents(Path::new(&fd_path(&src)), &b.source)
        .map_err(|e| format!("fill volume for {} from the image: {e}", b.target))
}

#[cfg(test)]
mod tests {
    use super::check_destination;
    #[test]
    fn reserved_destinations() {
        for bad in ["/proc", "/proc/", "/proc/sys", "//sys/kernel", "/dev/pts", "/dev/pts/0", "/./proc", "/a/../proc"] {
            assert!(check_destination(bad).is_err(), "{bad}");
        }
        for ok in ["/data", "/dev", "/dev/shm", "/procs", "/system", "/dev/ptsx"] {
            assert!(check_destination(ok).is_ok(), "{ok}");
        }
    }
}
