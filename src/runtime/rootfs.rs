//! The container's root: overlay of the image layers, /proc, /sys, /dev,
//! masked and read-only paths, then pivot_root. Runs in the container's
//! new mount namespace (the child of the shim), so every mount here goes
//! away with the namespace: nothing can leak onto the host.
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{chdir, pivot_root};
use std::path::{Path, PathBuf};

pub struct RootfsPlan<'a> {
    pub layers_dir: &'a Path,
    pub mount_options: &'a str,
    pub rootfs: &'a Path,
    pub readonly_rootfs: bool,
    pub binds: &'a [BindPlan],
    pub etc_files: &'a [(String, PathBuf)],
}

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

fn err<E: std::fmt::Display>(what: impl std::fmt::Display) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
}

/// Docker's masked paths.
const MASKED: &[&str] = &[
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
];
/// Docker's read-only paths.
const READONLY: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

fn inside(root: &Path, p: &str) -> PathBuf {
    root.join(p.trim_start_matches('/'))
}

pub fn setup(plan: &RootfsPlan) -> Result<(), String> {
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_SLAVE, none).map_err(err("make / rslave"))?;
    chdir(plan.layers_dir).map_err(err(format!("chdir {}", plan.layers_dir.display())))?;
    mount(Some("overlay"), plan.rootfs, Some("overlay"), MsFlags::empty(), Some(plan.mount_options))
        .map_err(err("mount overlay root"))?;
    let root = plan.rootfs;
    super::mounts::fill_volumes(root, plan.binds)?;
    let nosx = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    mkdir_p(&inside(root, "/proc"))?;
    mount(Some("proc"), &inside(root, "/proc"), Some("proc"), nosx, none).map_err(err("mount /proc"))?;
    mkdir_p(&inside(root, "/sys"))?;
    mount(Some("sysfs"), &inside(root, "/sys"), Some("sysfs"), nosx | MsFlags::MS_RDONLY, none)
        .map_err(err("mount /sys"))?;
    setup_dev(root)?;
    // volumes first, then /etc/hostname and /etc/hosts (Docker's order)
    for b in plan.binds {
        super::mounts::mount_into(root, b)?;
    }
    for (name, host) in plan.etc_files {
        let target = inside(root, name);
        if let Some(parent) = target.parent() {
            mkdir_p(parent)?;
        }
        if std::fs::symlink_metadata(&target).map(|m| m.file_type().is_symlink()).unwrap_or(false) {
            let _ = std::fs::remove_file(&target);
        }
        if !target.exists() {
            std::fs::write(&target, b"").map_err(err(format!("create {name}")))?;
        }
        mount(Some(host.as_path()), &target, none, MsFlags::MS_BIND, none).map_err(err(format!("bind {name}")))?;
    }
    for p in MASKED {
        let t = inside(root, p);
        match std::fs::symlink_metadata(&t) {
            Ok(m) if m.is_dir() => {
                mount(Some("tmpfs"), &t, Some("tmpfs"), MsFlags::MS_RDONLY, none).map_err(err(format!("mask {p}")))?
            }
            Ok(_) => mount(Some(&inside(root, "/dev/null")), &t, none, MsFlags::MS_BIND, none)
                .map_err(err(format!("mask {p}")))?,
            Err(_) => {}
        }
    }
    for p in READONLY {
        let t = inside(root, p);
        if t.exists() {
            mount(Some(&t), &t, none, MsFlags::MS_BIND | MsFlags::MS_REC, none).map_err(err(format!("bind {p}")))?;
            mount(none, &t, none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | nosx, none)
                .map_err(err(format!("read-only {p}")))?;
        }
    }
    chdir(root).map_err(err("chdir rootfs"))?;
    pivot_root(".", ".").map_err(err("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detach old root"))?;
    chdir("/").map_err(err("chdir /"))?;
    if plan.readonly_rootfs {
        mount(none, "/", none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, none)
            .map_err(err("read-only root"))?;
    }
    Ok(())
}

fn mkdir_p(p: &Path) -> Result<(), String> {
    std::fs::create_dir_all(p).map_err(err(format!("mkdir {}", p.display())))
}

fn setup_dev(root: &Path) -> Result<(), String> {
    let none: Option<&str> = None;
    let dev = inside(root, "/dev");
    mkdir_p(&dev)?;
    mount(Some("tmpfs"), &dev, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME, Some("mode=755,size=65536k"))
        .map_err(err("mount /dev"))?;
    let rw = Mode::from_bits_truncate(0o666);
    for (name, major, minor) in [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)] {
        let p = dev.join(name);
        mknod(&p, SFlag::S_IFCHR, rw, makedev(major, minor)).map_err(err(format!("mknod /dev/{name}")))?;
        // mknod honours the umask: set the mode exactly.
        nix::sys::stat::fchmodat(nix::fcntl::AT_FDCWD, &p, rw, nix::sys::stat::FchmodatFlags::FollowSymlink)
            .map_err(err(format!("chmod /dev/{name}")))?;
    }
    for (link, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore")] {
        std::os::unix::fs::symlink(target, dev.join(link)).map_err(err(format!("/dev/{link}")))?;
    }
    let pts = dev.join("pts");
    mkdir_p(&pts)?;
    mount(Some("devpts"), &pts, Some("devpts"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5")).map_err(err("mount /dev/pts"))?;
    let shm = dev.join("shm");
    mkdir_p(&shm)?;
    mount(Some("shm"), &shm, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV,
        Some("mode=1777,size=65536k")).map_err(err("mount /dev/shm"))?;
    let mq = dev.join("mqueue");
    mkdir_p(&mq)?;
    let _ = mount(Some("mqueue"), &mq, Some("mqueue"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV, none);
    Ok(())
}
