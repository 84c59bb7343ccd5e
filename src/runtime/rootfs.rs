//! The container's root: overlay of the image layers, /proc, /sys, /dev,
//! volumes, /etc files, masked and read-only paths, then pivot_root. Runs
//! in the container's new mount namespace (the child of the shim), so
//! every mount here goes away with the namespace: nothing can leak onto
//! the host. Every path inside the root is resolved inside it
//! ([`Root`]): the image controls those paths, never the host's.
use super::inroot::{fd_kind, fd_path, fs_magic, Root, PROC_SUPER_MAGIC, SYSFS_MAGIC};
use crate::fsutil;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, pivot_root};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct RootfsPlan<'a> {
    pub layers_dir: &'a Path,
    pub mount_options: &'a str,
    pub rootfs: &'a Path,
    pub readonly_rootfs: bool,
    pub binds: &'a [BindPlan],
    pub etc_files: &'a [(String, PathBuf)],
    /// no masks, /sys read-write, the host's devices
    pub privileged: bool,
    /// mount the cgroup2 filesystem (namespaced: the container's own
    /// cgroup is its root) at /sys/fs/cgroup, read-only unless privileged
    pub cgroup2: bool,
    /// extra device nodes (`--device`, or the host's with `--privileged`)
    pub devices: &'a [DeviceNode],
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

/// A device node made in the container's /dev.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceNode {
    /// path inside the container, absolute
    pub path: String,
    /// libc::S_IFCHR or libc::S_IFBLK
    pub kind: libc::mode_t,
    pub major: u32,
    pub minor: u32,
    /// permission bits
    pub mode: libc::mode_t,
    pub uid: u32,
    pub gid: u32,
}

fn err<E: std::fmt::Display>(what: impl std::fmt::Display) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
}

/// Docker's masked paths.
pub const MASKED: &[&str] = &[
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
];
/// Docker's read-only paths.
pub const READONLY: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// The device nodes every container gets (Docker's defaults).
const DEFAULT_NODES: &[(&str, u32, u32)] =
    &[("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

/// Opens the host's /dev/null and checks that it is the char device 1:3
/// before it is used as the source of masks (runc's CVE-2025-31133).
pub fn open_host_null() -> Result<OwnedFd, String> {
    let fd = fsutil::open_dir_path(Path::new("/"))
        .and_then(|root| fsutil::openat_nofollow(root.as_fd(), b"dev/null", libc::O_PATH, 0))
        .map_err(err("open the host's /dev/null"))?;
    match fd_kind(fd.as_fd()) {
        Ok((libc::S_IFCHR, rdev)) if libc::major(rdev) == 1 && libc::minor(rdev) == 3 => Ok(fd),
        _ => Err("the host's /dev/null is not the char device 1:3".into()),
    }
}

pub fn setup(plan: &RootfsPlan) -> Result<(), String> {
    let none: Option<&str> = None;
    let null = open_host_null()?;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_SLAVE, none).map_err(err("make / rslave"))?;
    chdir(plan.layers_dir).map_err(err(format!("chdir {}", plan.layers_dir.display())))?;
    mount(Some("overlay"), plan.rootfs, Some("overlay"), MsFlags::empty(), Some(plan.mount_options))
        .map_err(err("mount overlay root"))?;
    let root = Root::open(plan.rootfs)?;
    super::mounts::fill_volumes(&root, plan.binds)?;
    let nosx = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    let proc_dir = root.fresh_dir("/proc")?;
    mount(Some("proc"), fd_path(&proc_dir).as_str(), Some("proc"), nosx, none).map_err(err("mount /proc"))?;
    let sys_dir = root.fresh_dir("/sys")?;
    let sys_ro = if plan.privileged { MsFlags::empty() } else { MsFlags::MS_RDONLY };
    mount(Some("sysfs"), fd_path(&sys_dir).as_str(), Some("sysfs"), nosx | sys_ro, none).map_err(err("mount /sys"))?;
    if plan.cgroup2 {
        // sysfs is the kernel's: /sys/fs/cgroup is its own empty folder
        let cg = root.open_at("/sys/fs/cgroup", libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .map_err(err("open /sys/fs/cgroup"))?;
        mount(Some("cgroup2"), fd_path(&cg).as_str(), Some("cgroup2"), nosx | sys_ro, none)
            .map_err(err("mount /sys/fs/cgroup"))?;
    }
    setup_dev(&root, plan.devices)?;
    // volumes first, then /etc/hostname and /etc/hosts (Docker's order)
    for b in plan.binds {
        super::mounts::mount_into(&root, b)?;
    }
    for (name, host) in plan.etc_files {
        let target = root.file_target(name)?;
        mount(Some(host.as_path()), fd_path(&target).as_str(), none, MsFlags::MS_BIND, none)
            .map_err(err(format!("bind {name}")))?;
    }
    if !plan.privileged {
        mask_paths(&root, &null)?;
        readonly_paths(&root)?;
    }
    drop(null);
    chdir(plan.rootfs).map_err(err("chdir rootfs"))?;
    drop(root);
    pivot_root(".", ".").map_err(err("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detach old root"))?;
    chdir("/").map_err(err("chdir /"))?;
    if plan.readonly_rootfs {
        mount(none, "/", none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, none)
            .map_err(err("read-only root"))?;
    }
    Ok(())
}

/// Opens a kernel file (under /proc or /sys) to mask or protect; None
/// when this kernel does not have it. Refuses anything that is not on
/// procfs or sysfs: a mask must never land on a file the image controls.
fn open_kernel_path(root: &Root, p: &str) -> Result<Option<OwnedFd>, String> {
    let fd = match root.open_at(p, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(format!("open {p}: {e}")),
    };
    match fs_magic(fd.as_fd()) {
        Ok(PROC_SUPER_MAGIC) | Ok(SYSFS_MAGIC) => Ok(Some(fd)),
        Ok(_) => Err(format!("{p} is not on procfs or sysfs: refusing to mask it")),
        Err(e) => Err(format!("statfs {p}: {e}")),
    }
}

/// Docker's masked paths: an empty read-only tmpfs over folders, the
/// host's checked /dev/null over files.
fn mask_paths(root: &Root, null: &OwnedFd) -> Result<(), String> {
    let none: Option<&str> = None;
    for p in MASKED {
        let Some(t) = open_kernel_path(root, p)? else { continue };
        let target = fd_path(&t);
        let is_dir = matches!(fd_kind(t.as_fd()), Ok((libc::S_IFDIR, _)));
        if is_dir {
            mount(Some("tmpfs"), target.as_str(), Some("tmpfs"), MsFlags::MS_RDONLY, none)
        } else {
            mount(Some(fd_path(null).as_str()), target.as_str(), none, MsFlags::MS_BIND, none)
        }
        .map_err(err(format!("mask {p}")))?;
    }
    Ok(())
}

/// Docker's read-only paths: bound onto themselves, then made read-only.
fn readonly_paths(root: &Root) -> Result<(), String> {
    let none: Option<&str> = None;
    let nosx = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    for p in READONLY {
        let Some(t) = open_kernel_path(root, p)? else { continue };
        let tp = fd_path(&t);
        mount(Some(tp.as_str()), tp.as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
            .map_err(err(format!("bind {p}")))?;
        // the fd names the inode under the new mount: reopen it
        let Some(t) = open_kernel_path(root, p)? else { continue };
        mount(none, fd_path(&t).as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | nosx, none)
            .map_err(err(format!("read-only {p}")))?;
    }
    Ok(())
}

fn setup_dev(root: &Root, extra: &[DeviceNode]) -> Result<(), String> {
    let none: Option<&str> = None;
    let dev_dir = root.fresh_dir("/dev")?;
    mount(Some("tmpfs"), fd_path(&dev_dir).as_str(), Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k")).map_err(err("mount /dev"))?;
    // the new tmpfs, not the folder under it
    let dev = root.open_at("/dev", libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW).map_err(err("open /dev"))?;
    let d = dev.as_fd();
    for (name, major, minor) in DEFAULT_NODES {
        make_node(d, name, libc::S_IFCHR, *major, *minor, 0o666)?;
    }
    for (link, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore")] {
        fsutil::symlink_at(target.as_bytes(), d, link.as_bytes()).map_err(err(format!("/dev/{link}")))?;
    }
    for (name, mode) in [("pts", 0o755), ("shm", 0o1777), ("mqueue", 0o755)] {
        fsutil::mkdir_at(d, name.as_bytes(), mode).map_err(err(format!("mkdir /dev/{name}")))?;
    }
    let sub = |name: &str| {
        fsutil::openat_nofollow(d, name.as_bytes(), libc::O_PATH | libc::O_DIRECTORY, 0).map_err(err(format!("/dev/{name}")))
    };
    mount(Some("devpts"), fd_path(&sub("pts")?).as_str(), Some("devpts"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5")).map_err(err("mount /dev/pts"))?;
    let nosx = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    mount(Some("shm"), fd_path(&sub("shm")?).as_str(), Some("tmpfs"), nosx, Some("mode=1777,size=65536k"))
        .map_err(err("mount /dev/shm"))?;
    let _ = mount(Some("mqueue"), fd_path(&sub("mqueue")?).as_str(), Some("mqueue"), nosx, none);
    for n in extra {
        let (parent, name) = match n.path.rsplit_once('/') {
            Some((p, name)) if !name.is_empty() => (p, name),
            _ => return Err(format!("device path {}: not a file path", n.path)),
        };
        let pfd = root.mkdir_all(parent).map_err(err("device"))?;
        match make_node(pfd.as_fd(), name, n.kind, n.major, n.minor, n.mode) {
            Ok(()) => {}
            Err(_) if fsutil::lstat_at(pfd.as_fd(), name.as_bytes()).ok().flatten().is_some() => {
                // the default nodes, or an image file at that path: replaced
                fsutil::remove_at(pfd.as_fd(), name.as_bytes()).map_err(err(format!("replace {}", n.path)))?;
                make_node(pfd.as_fd(), name, n.kind, n.major, n.minor, n.mode)?;
            }
            Err(e) => return Err(e),
        }
        fsutil::lchown_at(pfd.as_fd(), name.as_bytes(), n.uid, n.gid).map_err(err(format!("chown {}", n.path)))?;
    }
    Ok(())
}

/// mknod with the mode set exactly (mknod honours the umask).
fn make_node(dir: std::os::fd::BorrowedFd<'_>, name: &str, kind: libc::mode_t, major: u32, minor: u32, mode: libc::mode_t) -> Result<(), String> {
    fsutil::mknod_at(dir, name.as_bytes(), kind | mode, major, minor).map_err(err(format!("mknod {name}")))?;
    fsutil::chmod_at(dir, name.as_bytes(), mode).map_err(err(format!("chmod {name}")))
}
