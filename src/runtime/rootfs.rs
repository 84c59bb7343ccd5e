//! The container's root as a [`ContainerPlan`] says: the root (an OCI
//! bundle's folder, or the overlay of bocker's layers), each mount in
//! order, /dev's nodes, sysctls, masked and read-only paths, then
//! pivot_root. Runs
//! in the container's new mount namespace (the child of the shim), so
//! every mount here goes away with the namespace: nothing can leak onto
//! the host. Every path inside the root is resolved inside it
//! ([`Root`]): the image controls those paths, never the host's.
use super::inroot::{fd_kind, fd_path, fs_magic, Root, PROC_SUPER_MAGIC, SYSFS_MAGIC};
use super::mounts::BindPlan;
use super::plan::{ContainerPlan, DeviceNode, MountKind, MountPlan};
use crate::fsutil;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, pivot_root};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where the root's files come from.
pub enum RootSource<'a> {
    /// `plan.root` is a folder (an OCI bundle's rootfs): bound onto
    /// itself, so that it is a mount point for pivot_root
    Folder,
    /// bocker's own container: the overlay of its layers, mounted at
    /// `plan.root`, and new volumes filled from the image
    Overlay { layers_dir: &'a Path, options: &'a str, fills: &'a [BindPlan] },
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

/// Builds the container's root in the current (new) mount namespace as
/// `plan` says, up to and including pivot_root: the root itself, each
/// mount in order, /dev's nodes, sysctls, masked and read-only paths.
/// `before_pivot` runs once the mounts are in place (the hooks of that
/// moment). [`finish`] completes it after the console is set up.
pub fn setup(plan: &ContainerPlan, source: &RootSource, no_pivot: bool, before_pivot: &mut dyn FnMut() -> Result<(), String>) -> Result<(), String> {
    let none: Option<&str> = None;
    let null = open_host_null()?;
    // Every mount of this namespace becomes a slave (or private) before
    // anything is mounted or detached: a mount of the host left shared
    // here would carry the detach of the old root back to the host and
    // unmount its leaf mounts (rootfsPropagation "slave" without rec
    // did: /run/netns/NAME vanished). What the configuration asks for is
    // set on the new root by `finish`, after pivot_root (which refuses a
    // shared parent).
    let first = if plan.root_propagation == MsFlags::MS_PRIVATE | MsFlags::MS_REC { plan.root_propagation } else { DEFAULT_PROPAGATION };
    mount(none, "/", none, first, none).map_err(err("set propagation of /"))?;
    match source {
        RootSource::Folder => {
            mount(Some(&plan.root), &plan.root, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
                .map_err(err(format!("bind root {}", plan.root.display())))?;
        }
        RootSource::Overlay { layers_dir, options, .. } => {
            chdir(*layers_dir).map_err(err(format!("chdir {}", layers_dir.display())))?;
            mount(Some("overlay"), &plan.root, Some("overlay"), MsFlags::empty(), Some(*options))
                .map_err(err("mount overlay root"))?;
        }
    }
    let root = Root::open(&plan.root)?;
    if let RootSource::Overlay { fills, .. } = source {
        super::mounts::fill_volumes(&root, fills)?;
    }
    for m in &plan.mounts {
        mount_one(&root, m, plan.namespaces.new_cgroup)?;
    }
    // /dev from the host (a bind) already has its nodes
    let dev_is_bind = plan.mounts.iter().any(|m| m.destination == "/dev" && matches!(m.kind, MountKind::Bind { .. }));
    if !dev_is_bind {
        setup_dev(&root, &plan.devices)?;
    }
    for (key, value) in &plan.sysctl {
        write_sysctl(&root, key, value)?;
    }
    mask_paths(&root, &null, &plan.masked_paths)?;
    readonly_paths(&root, &plan.readonly_paths)?;
    drop(null);
    before_pivot()?;
    chdir(&plan.root).map_err(err("chdir rootfs"))?;
    drop(root);
    if no_pivot {
        mount(Some("."), "/", none, MsFlags::MS_MOVE, none).map_err(err("move root"))?;
        nix::unistd::chroot(".").map_err(err("chroot"))?;
    } else {
        pivot_root(".", ".").map_err(err("pivot_root"))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(err("detach old root"))?;
    }
    chdir("/").map_err(err("chdir /"))?;
    Ok(())
}

/// After pivot_root and the console: the read-only root, and the root
/// propagation the configuration asks for when it is not the one set
/// first.
pub fn finish(plan: &ContainerPlan) -> Result<(), String> {
    let none: Option<&str> = None;
    if plan.root_readonly {
        mount(none, "/", none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, none)
            .map_err(err("read-only root"))?;
    }
    if plan.root_propagation != DEFAULT_PROPAGATION && plan.root_propagation != MsFlags::MS_PRIVATE | MsFlags::MS_REC {
        mount(none, "/", none, plan.root_propagation, none).map_err(err("set propagation of /"))?;
    }
    Ok(())
}

/// /dev/console in the container: the terminal's slave bound over it.
pub fn bind_console(slave_path: &str) -> Result<(), String> {
    let none: Option<&str> = None;
    let root = Root::open(Path::new("/"))?;
    let target = root.file_target("/dev/console")?;
    mount(Some(slave_path), fd_path(&target).as_str(), none, MsFlags::MS_BIND, none).map_err(err("bind /dev/console"))
}

/// The propagation of every mount of a new mount namespace before the
/// root is built: events come in from the host, none go out.
const DEFAULT_PROPAGATION: MsFlags = MsFlags::MS_SLAVE.union(MsFlags::MS_REC);

const PROPAGATION_FLAGS: MsFlags = MsFlags::MS_SHARED.union(MsFlags::MS_PRIVATE).union(MsFlags::MS_SLAVE).union(MsFlags::MS_UNBINDABLE);

/// The runtime's own mount points: whatever the image has there (a
/// symlink it planted, a file) is replaced by a real folder.
fn is_kernel_mount_point(dest: &str) -> bool {
    matches!(dest, "/proc" | "/sys" | "/dev" | "/dev/pts")
}

/// One entry of the configuration's `mounts`, its destination resolved
/// inside the root and mounted through /proc/self/fd.
fn mount_one(root: &Root, m: &MountPlan, own_cgroup_ns: bool) -> Result<(), String> {
    let none: Option<&str> = None;
    let dest = m.destination.as_str();
    let o = &m.options;
    let data = o.data.join(",");
    let data = (!data.is_empty()).then_some(data.as_str());
    match &m.kind {
        MountKind::Bind { source } => {
            let meta = std::fs::metadata(source).map_err(err(format!("bind source {}", source.display())))?;
            let target = if meta.is_dir() { root.mkdir_all(dest)? } else { root.file_target(dest)? };
            let mut flags = MsFlags::MS_BIND;
            if o.recursive {
                flags |= MsFlags::MS_REC;
            }
            mount(Some(source.as_path()), fd_path(&target).as_str(), none, flags, none)
                .map_err(err(format!("bind {} on {dest}", source.display())))?;
            let extra = o.flags & !PROPAGATION_FLAGS;
            if !extra.is_empty() {
                // the fd names the inode under the new mount: reopen it
                let t = root.open_at(dest, libc::O_PATH).map_err(err(dest))?;
                mount(none, fd_path(&t).as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra, data)
                    .map_err(err(format!("remount {dest}")))?;
            }
        }
        MountKind::Cgroup => mount_cgroup(root, dest, o.flags, own_cgroup_ns)?,
        MountKind::Filesystem { fstype, source } => {
            let target = if is_kernel_mount_point(dest) { root.fresh_dir(dest)? } else { root.mkdir_all(dest)? };
            // tmpcopyup: the folder under the new tmpfs, to copy from
            let under = (o.copy_up && fstype == "tmpfs").then(|| root.open_at(dest, libc::O_PATH | libc::O_DIRECTORY)).transpose().map_err(err(dest))?;
            match mount(Some(source.as_str()), fd_path(&target).as_str(), Some(fstype.as_str()), o.flags, data) {
                Ok(()) => {}
                // a host whose IPC namespace the container shares may not
                // allow a new mqueue mount: /dev/mqueue stays a folder
                Err(_) if fstype == "mqueue" => {}
                Err(e) => return Err(format!("mount {fstype} on {dest}: {e}")),
            }
            if let Some(under) = under {
                let new = root.open_at(dest, libc::O_PATH | libc::O_DIRECTORY).map_err(err(dest))?;
                crate::storage::copy_contents(Path::new(&fd_path(&under)), Path::new(&fd_path(&new)))
                    .map_err(err(format!("tmpcopyup {dest}")))?;
            }
        }
    }
    for p in &o.propagation {
        let t = root.open_at(dest, libc::O_PATH).map_err(err(dest))?;
        mount(none, fd_path(&t).as_str(), none, *p, none).map_err(err(format!("propagation of {dest}")))?;
    }
    Ok(())
}

/// The container's cgroups at `dest`, read-only unless the options say
/// rw: with a cgroup namespace of its own, cgroup2 (v2) or each v1
/// hierarchy mounted anew (namespaced: its cgroup is their root);
/// without one, its own cgroup folders bound from the host (as runc
/// does), so it never sees its parents'.
fn mount_cgroup(root: &Root, dest: &str, flags: MsFlags, own_ns: bool) -> Result<(), String> {
    let none: Option<&str> = None;
    let target = root.mkdir_all(dest)?;
    let flags = flags | MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    let table = std::fs::read_to_string("/proc/self/cgroup").map_err(err("/proc/self/cgroup"))?;
    let bind_host = |host: &Path, at: &str| -> Result<(), String> {
        let t = root.mkdir_all(at)?;
        mount(Some(host), fd_path(&t).as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
            .map_err(err(format!("bind {} on {at}", host.display())))?;
        let t = root.open_at(at, libc::O_PATH | libc::O_DIRECTORY).map_err(err(at))?;
        mount(none, fd_path(&t).as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags, none)
            .map_err(err(format!("remount {at}")))
    };
    if crate::cgroup::is_v2() {
        if own_ns {
            return mount(Some("cgroup2"), fd_path(&target).as_str(), Some("cgroup2"), flags, none)
                .map_err(err(format!("mount cgroup2 on {dest}")));
        }
        let path = table.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("/");
        return bind_host(&Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/')), dest);
    }
    mount(Some("tmpfs"), fd_path(&target).as_str(), Some("tmpfs"), flags & !MsFlags::MS_RDONLY, Some("mode=755"))
        .map_err(err(format!("mount tmpfs on {dest}")))?;
    let dir = root.open_at(dest, libc::O_PATH | libc::O_DIRECTORY).map_err(err(dest))?;
    let mounts = if own_ns { String::new() } else { std::fs::read_to_string("/proc/self/mountinfo").map_err(err("/proc/self/mountinfo"))? };
    for line in table.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (f.next(), f.next(), f.next()) else { continue };
        if controllers.is_empty() {
            continue; // the v2 part of a hybrid host
        }
        let (name, options) = match controllers.strip_prefix("name=") {
            Some(n) => (n.to_string(), format!("none,{controllers}")),
            None => (controllers.to_string(), controllers.to_string()),
        };
        fsutil::mkdir_at(dir.as_fd(), name.as_bytes(), 0o755).map_err(err(format!("mkdir {dest}/{name}")))?;
        if own_ns {
            let sub = fsutil::openat_nofollow(dir.as_fd(), name.as_bytes(), libc::O_PATH | libc::O_DIRECTORY, 0).map_err(err(format!("{dest}/{name}")))?;
            mount(Some("cgroup"), fd_path(&sub).as_str(), Some("cgroup"), flags, Some(options.as_str()))
                .map_err(err(format!("mount cgroup {controllers} on {dest}/{name}")))?;
        } else if let Some(host) = v1_host_dir(&mounts, controllers, path) {
            bind_host(&host, &format!("{dest}/{name}"))?;
        }
        if name.contains(',') {
            for part in name.split(',') {
                let _ = fsutil::symlink_at(name.as_bytes(), dir.as_fd(), part.as_bytes());
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        mount(none, fd_path(&dir).as_str(), none, MsFlags::MS_REMOUNT | MsFlags::MS_BIND | flags, none)
            .map_err(err(format!("read-only {dest}")))?;
    }
    Ok(())
}

/// Where the host mounts the v1 hierarchy of `controllers`, joined with
/// the cgroup `path` (mountinfo: … ROOT MOUNTPOINT … - cgroup SRC OPTS).
fn v1_host_dir(mountinfo: &str, controllers: &str, path: &str) -> Option<PathBuf> {
    let wanted: Vec<&str> = controllers.split(',').collect();
    for line in mountinfo.lines() {
        let (pre, post) = line.split_once(" - ")?;
        let mut post = post.split(' ');
        if post.next() != Some("cgroup") {
            continue;
        }
        let opts: Vec<&str> = post.nth(1).unwrap_or("").split(',').collect();
        if !wanted.iter().all(|w| opts.contains(w)) {
            continue;
        }
        let f: Vec<&str> = pre.split(' ').collect();
        let (mroot, mpoint) = (*f.get(3)?, *f.get(4)?);
        let rel = path.strip_prefix(mroot).unwrap_or(path);
        return Some(Path::new(mpoint).join(rel.trim_start_matches('/')));
    }
    None
}

/// A sysctl written in the container's own /proc/sys (which must be procfs).
fn write_sysctl(root: &Root, key: &str, value: &str) -> Result<(), String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let fd = root.open_at(&path, libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC).map_err(err(format!("sysctl {key}")))?;
    if !matches!(fs_magic(fd.as_fd()), Ok(PROC_SUPER_MAGIC)) {
        return Err(format!("sysctl {key}: {path} is not on procfs"));
    }
    let mut f = std::fs::File::from(fd);
    use std::io::Write;
    f.write_all(value.as_bytes()).map_err(err(format!("sysctl {key}={value}")))
}

/// Opens a path to mask or protect; None when it does not exist. Under
/// /proc and /sys it must be the kernel's (procfs, sysfs): a mask must
/// never land on a file the image put there.
fn open_protected_path(root: &Root, p: &str) -> Result<Option<OwnedFd>, String> {
    let fd = match root.open_at(p, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(format!("open {p}: {e}")),
    };
    let kernel = p.starts_with("/proc/") || p.starts_with("/sys/") || p == "/proc" || p == "/sys";
    if !kernel {
        return Ok(Some(fd));
    }
    match fs_magic(fd.as_fd()) {
        Ok(PROC_SUPER_MAGIC) | Ok(SYSFS_MAGIC) => Ok(Some(fd)),
        Ok(_) => Err(format!("{p} is not on procfs or sysfs: refusing to mask it")),
        Err(e) => Err(format!("statfs {p}: {e}")),
    }
}

/// Masked paths: an empty read-only tmpfs over folders, the host's
/// checked /dev/null over files.
fn mask_paths(root: &Root, null: &OwnedFd, paths: &[String]) -> Result<(), String> {
    let none: Option<&str> = None;
    for p in paths {
        let Some(t) = open_protected_path(root, p)? else { continue };
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

/// Read-only paths: bound onto themselves, then made read-only.
fn readonly_paths(root: &Root, paths: &[String]) -> Result<(), String> {
    let none: Option<&str> = None;
    let nosx = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    for p in paths {
        let Some(t) = open_protected_path(root, p)? else { continue };
        let tp = fd_path(&t);
        mount(Some(tp.as_str()), tp.as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
            .map_err(err(format!("bind {p}")))?;
        // the fd names the inode under the new mount: reopen it
        let Some(t) = open_protected_path(root, p)? else { continue };
        mount(none, fd_path(&t).as_str(), none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | nosx, none)
            .map_err(err(format!("read-only {p}")))?;
    }
    Ok(())
}

/// /dev's nodes (the defaults, then the configuration's) and links.
fn setup_dev(root: &Root, extra: &[DeviceNode]) -> Result<(), String> {
    let dev = root.mkdir_all("/dev")?;
    let d = dev.as_fd();
    for (name, major, minor) in DEFAULT_NODES {
        if fsutil::lstat_at(d, name.as_bytes()).ok().flatten().is_some() {
            continue;
        }
        if make_node(d, name, libc::S_IFCHR, *major, *minor, 0o666).is_err() {
            bind_host_node(d, name)?;
        }
    }
    for (link, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore")] {
        if fsutil::lstat_at(d, link.as_bytes()).ok().flatten().is_none() {
            fsutil::symlink_at(target.as_bytes(), d, link.as_bytes()).map_err(err(format!("/dev/{link}")))?;
        }
    }
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

/// Where mknod is not allowed: the host's node bound over an empty file
/// (as runc does).
fn bind_host_node(dev: std::os::fd::BorrowedFd<'_>, name: &str) -> Result<(), String> {
    let none: Option<&str> = None;
    let f = fsutil::openat_nofollow(dev, name.as_bytes(), libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC, 0o644)
        .map_err(err(format!("create /dev/{name}")))?;
    drop(f);
    let t = fsutil::openat_nofollow(dev, name.as_bytes(), libc::O_PATH, 0).map_err(err(format!("/dev/{name}")))?;
    mount(Some(format!("/dev/{name}").as_str()), fd_path(&t).as_str(), none, MsFlags::MS_BIND, none)
        .map_err(err(format!("bind the host's /dev/{name}")))
}

/// mknod with the mode set exactly (mknod honours the umask).
fn make_node(dir: std::os::fd::BorrowedFd<'_>, name: &str, kind: libc::mode_t, major: u32, minor: u32, mode: libc::mode_t) -> Result<(), String> {
    fsutil::mknod_at(dir, name.as_bytes(), kind | mode, major, minor).map_err(err(format!("mknod {name}")))?;
    fsutil::chmod_at(dir, name.as_bytes(), mode).map_err(err(format!("chmod {name}")))
}
