//! A container's files as `docker cp` and the archive endpoints see them:
//! stat a path, read it as a tar, extract a tar into a directory. Works on
//! running containers (through `/proc/PID/root`, volumes included) and on
//! created or stopped ones (a private, detached overlay of the container's
//! layers and its upper dir, held only by an fd).
//!
//! The container controls every path in there (a symlinked /etc, a file
//! swapped for a symlink while we look), so nothing is resolved on the
//! host side: every lookup is `openat2(RESOLVE_IN_ROOT)` from the root's
//! fd ([`Root`]), every directory is walked by fd, the last component of
//! what is read is never followed, and a tar is extracted with the layer
//! extractor's rules (parents resolved inside the destination, the final
//! component never followed).
use super::{live_state, ContainerError, Result};
use crate::fsutil;
use crate::runtime::inroot::{fs_magic, Root, PROC_SUPER_MAGIC, SYSFS_MAGIC};
use crate::state::containers::{ContainerRecord, Status};
use crate::state::lock::Lock;
use crate::state::Store;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Go's os.FileMode type bits (what Docker's clients decode in the
/// X-Docker-Container-Path-Stat header).
const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_PIPE: u32 = 1 << 25;
const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHARDEV: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;

/// What a stat of a path in a container says (Docker's ContainerPathStat).
#[derive(serde::Serialize, Debug, Clone, PartialEq)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's FileMode: permission bits and type bits
    pub mode: u32,
    pub mtime: String,
    /// where a symlink points (as written), else ""
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & GO_DIR != 0
    }
}

/// The container's root, opened; what keeps it valid while it is used.
pub struct ContainerRoot {
    root: Root,
    /// a stopped container's start lock: no start mounts its upper dir
    /// while our view of it is in use
    _start_lock: Option<Lock>,
}

fn io_ctx(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> ContainerError {
    move |e| ContainerError::Invalid(format!("{what}: {e}"))
}

/// Not found (the API's 404), as Docker words it.
fn not_found(path: &str) -> ContainerError {
    ContainerError::State(crate::state::StateError::NotFound(format!("Could not find the file {path} in container")))
}

impl ContainerRoot {
    /// Opens the root of container `reference` as the container sees it.
    pub fn open(store: &Store, reference: &str) -> Result<(ContainerRoot, ContainerRecord)> {
        let rec = store.resolve_container(reference)?;
        if let Some(r) = running_root(store, &rec)? {
            return Ok((ContainerRoot { root: r, _start_lock: None }, rec));
        }
        let lock = Lock::exclusive(&store.container_dir(&rec.id).join(".start.lock"))?;
        // a start that finished before we took the lock
        if let Some(r) = running_root(store, &rec)? {
            return Ok((ContainerRoot { root: r, _start_lock: None }, rec));
        }
        // its monitor mounts the upper dir again after the backoff, without
        // the start lock: not a time to mount it ourselves
        if live_state(store, &rec.id)?.status == Status::Restarting {
            return Err(ContainerError::Conflict(format!("Container {} is restarting, wait until it is running", rec.id)));
        }
        let fd = overlay_view(store, &rec)?;
        Ok((ContainerRoot { root: Root::from_fd(fd), _start_lock: Some(lock) }, rec))
    }

    /// The directory at `path` (symlinks resolved inside the root); the
    /// destination of an extract.
    fn dir(&self, path: &str) -> Result<OwnedFd> {
        match self.root.open_at(path, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Err(not_found(path)),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Err(ContainerError::Invalid(format!("{path}: not a directory"))),
            Err(e) => Err(io_ctx(path)(e)),
        }
    }

    /// The parent directory of `path` (resolved inside the root) and the
    /// last component ("." for the root itself).
    fn parent_and_name(&self, path: &str) -> Result<(OwnedFd, Vec<u8>)> {
        let trimmed = path.trim_end_matches('/');
        match trimmed.rsplit_once('/') {
            _ if trimmed.is_empty() || trimmed == "." => Ok((self.dir("/")?, b".".to_vec())),
            Some((parent, name)) if name != "." && name != ".." => Ok((self.dir(if parent.is_empty() { "/" } else { parent })?, name.as_bytes().to_vec())),
            None if trimmed != ".." => Ok((self.dir("/")?, trimmed.as_bytes().to_vec())),
            // "x/.." and "x/.": resolve the whole path as a directory
            _ => Ok((self.dir(trimmed)?, b".".to_vec())),
        }
    }

    /// Whether `path` is a directory (symlinks followed inside the root).
    pub fn is_dir(&self, path: &str) -> bool {
        self.dir(path).is_ok()
    }

    /// lstat of `path` (its last component not followed).
    pub fn stat(&self, path: &str) -> Result<PathStat> {
        let (parent, name) = self.parent_and_name(path)?;
        let st = fsutil::lstat_at(parent.as_fd(), &name).map_err(io_ctx(path))?.ok_or_else(|| not_found(path))?;
        let link_target = if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            let raw = String::from_utf8_lossy(&fsutil::read_link_at(parent.as_fd(), &name).map_err(io_ctx(path))?).into_owned();
            // Docker's linkTarget: the absolute path inside the container
            if raw.starts_with('/') {
                raw
            } else {
                let dir = path.trim_end_matches('/').rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                format!("{dir}/{raw}")
            }
        } else {
            String::new()
        };
        let shown = if name == b"." { "/".to_string() } else { String::from_utf8_lossy(&name).into_owned() };
        Ok(PathStat {
            name: shown,
            size: st.st_size,
            mode: go_mode(st.st_mode),
            mtime: crate::rfc3339::format(st.st_mtime as f64 + st.st_mtime_nsec as f64 / 1e9),
            link_target,
        })
    }

    /// Writes `path` as a tar to `out`: one entry named after the path's
    /// last component (`name_as`, when given, instead), and for a
    /// directory everything below it. Symlinks are stored, never followed.
    pub fn tar_to<W: Write>(&self, path: &str, name_as: Option<&str>, out: W) -> Result<PathStat> {
        let stat = self.stat(path)?;
        let (parent, name) = self.parent_and_name(path)?;
        let top = match name_as {
            Some(n) => n.to_string(),
            None if name == b"." => ".".to_string(),
            None => String::from_utf8_lossy(&name).into_owned(),
        };
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        let mut w = TarWalk { b: &mut b };
        w.entry(parent.as_fd(), &name, &top, 0).map_err(io_ctx(path))?;
        b.finish().map_err(io_ctx(path))?;
        Ok(stat)
    }

    /// Extracts `tar` (plain or compressed) into the directory `path`,
    /// which must exist. `owner`: every entry's uid:gid (Docker's default
    /// is root's, 0:0, unless copyUIDGID). `no_dir_over_non_dir`: refuse
    /// an entry that would replace a directory by a non-directory or the
    /// reverse (Docker's noOverwriteDirNonDir).
    pub fn extract<R: Read>(&self, path: &str, tar: R, owner: Option<(u32, u32)>, no_dir_over_non_dir: bool) -> Result<()> {
        let dir = self.dir(path)?;
        match fs_magic(dir.as_fd()) {
            Ok(PROC_SUPER_MAGIC) | Ok(SYSFS_MAGIC) => return Err(ContainerError::Invalid(format!("{path}: cannot copy into procfs or sysfs"))),
            Ok(_) => {}
            Err(e) => return Err(io_ctx(path)(e)),
        }
        let (_, plain) = crate::image::extract::decompress(tar).map_err(io_ctx("reading the archive"))?;
        let mut plain = plain;
        if no_dir_over_non_dir {
            // read whole (the API caps a body's size) to check it first
            let mut bytes = Vec::new();
            plain.read_to_end(&mut bytes).map_err(io_ctx("reading the archive"))?;
            self.check_no_dir_over_non_dir(&dir, &bytes)?;
            plain = Box::new(io::Cursor::new(bytes));
        }
        // an O_PATH fd cannot be listed: reopen the directory for reading
        let rd = fsutil::openat_nofollow(dir.as_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(io_ctx(path))?;
        crate::image::extract::extract_into(plain, rd, owner, false).map_err(|e| ContainerError::Invalid(format!("extracting into {path}: {e}")))?;
        Ok(())
    }

    fn check_no_dir_over_non_dir(&self, dir: &OwnedFd, bytes: &[u8]) -> Result<()> {
        let mut a = tar::Archive::new(bytes);
        for e in a.entries().map_err(io_ctx("reading the archive"))? {
            let e = e.map_err(io_ctx("reading the archive"))?;
            let comps = crate::image::extract::clean_components(&e.path_bytes());
            if comps.is_empty() {
                continue;
            }
            let rel = comps.join(&b'/');
            let Ok(fd) = fsutil::openat2_in_root(dir.as_fd(), &rel, libc::O_PATH | libc::O_NOFOLLOW) else { continue };
            let is_dir = nix::sys::stat::fstat(fd.as_fd()).map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR).unwrap_or(false);
            if is_dir != e.header().entry_type().is_dir() {
                let what = if is_dir { "directory" } else { "non-directory" };
                return Err(ContainerError::Invalid(format!("cannot overwrite {what} {} with {}", String::from_utf8_lossy(&rel), if is_dir { "non-directory" } else { "directory" })));
            }
        }
        Ok(())
    }
}

/// `/proc/PID/root` of a running container, checked after the open to
/// still be that container's process (not a reused pid).
fn running_root(store: &Store, rec: &ContainerRecord) -> Result<Option<Root>> {
    let st = live_state(store, &rec.id)?;
    let (Status::Running, Some(pid)) = (st.status, st.pid) else { return Ok(None) };
    let fd = fsutil::open_dir_path(Path::new(&format!("/proc/{pid}/root"))).map_err(io_ctx(format!("open the root of {}", rec.id)))?;
    let again = live_state(store, &rec.id)?;
    if again.status != Status::Running || again.pid != Some(pid) || !again.alive() {
        return Ok(None);
    }
    Ok(Some(Root::from_fd(fd)))
}

/// A read-write overlay of a stopped container's layers and upper dir,
/// mounted on a private folder, opened, and detached at once: only the
/// returned fd holds it, so nothing is left mounted if we die. Lower
/// dirs are named by fd (`/proc/self/fd/N`), never by a path we chdir to.
fn overlay_view(store: &Store, rec: &ContainerRecord) -> Result<OwnedFd> {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    if rec.layers.is_empty() {
        return Err(ContainerError::Invalid(format!("container {} has no layers", rec.id)));
    }
    let cdir = store.container_dir(&rec.id);
    let (upper, work) = (cdir.join("upper"), cdir.join("work"));
    for d in [&upper, &work] {
        std::fs::create_dir_all(d).map_err(io_ctx(d.display()))?;
    }
    let open = |p: &Path| fsutil::open_dir_path(p).map_err(io_ctx(p.display()));
    let mut held = Vec::new();
    let mut lowers = Vec::new();
    // overlay wants the top-most lower first
    for l in rec.layers.iter().rev() {
        let fd = open(&store.layer_dir(l).join("diff"))?;
        lowers.push(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        held.push(fd);
    }
    let (ufd, wfd) = (open(&upper)?, open(&work)?);
    let opts = format!("lowerdir={},upperdir=/proc/self/fd/{},workdir=/proc/self/fd/{}", lowers.join(":"), ufd.as_raw_fd(), wfd.as_raw_fd());
    if opts.len() >= 4096 {
        return Err(ContainerError::Invalid(format!("too many layers for one overlay mount ({})", rec.layers.len())));
    }
    let mnt = store.tmp_dir().join(crate::state::staging::tagged_name("cp"));
    std::fs::create_dir(&mnt).map_err(io_ctx(mnt.display()))?;
    let mounted = mount(Some("overlay"), &mnt, Some("overlay"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(opts.as_str()));
    let fd = mounted.map_err(|e| ContainerError::Invalid(format!("mount the filesystem of {}: {e}", rec.id))).and_then(|()| {
        let fd = open(&mnt);
        let _ = umount2(&mnt, MntFlags::MNT_DETACH);
        fd
    });
    let _ = std::fs::remove_dir(&mnt);
    fd
}

fn go_mode(st_mode: libc::mode_t) -> u32 {
    let mut m = st_mode & 0o777;
    m |= match st_mode & libc::S_IFMT {
        libc::S_IFDIR => GO_DIR,
        libc::S_IFLNK => GO_SYMLINK,
        libc::S_IFIFO => GO_PIPE,
        libc::S_IFSOCK => GO_SOCKET,
        libc::S_IFCHR => GO_DEVICE | GO_CHARDEV,
        libc::S_IFBLK => GO_DEVICE,
        _ => 0,
    };
    if st_mode & libc::S_ISUID != 0 {
        m |= GO_SETUID;
    }
    if st_mode & libc::S_ISGID != 0 {
        m |= GO_SETGID;
    }
    if st_mode & libc::S_ISVTX != 0 {
        m |= GO_STICKY;
    }
    m
}

/// How deep a walk goes into a tree the container made.
pub const MAX_DEPTH: usize = 256;

/// Walks a tree by fd into a tar builder.
struct TarWalk<'a, W: Write> {
    b: &'a mut tar::Builder<W>,
}

impl<W: Write> TarWalk<'_, W> {
    /// `name` in `dir`, stored as `as_path` (and what is below it, down to
    /// MAX_DEPTH: the container chose the tree, and a walk by recursion
    /// must not run out of stack).
    fn entry(&mut self, dir: BorrowedFd<'_>, name: &[u8], as_path: &str, depth: usize) -> io::Result<()> {
        if depth > MAX_DEPTH {
            return Err(io::Error::other(format!("{as_path}: more than {MAX_DEPTH} directories deep")));
        }
        let Some(st) = fsutil::lstat_at(dir, name)? else { return Ok(()) };
        let mut h = tar::Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(st.st_uid as u64);
        h.set_gid(st.st_gid as u64);
        h.set_mtime(st.st_mtime.max(0) as u64);
        h.set_size(0);
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                h.set_entry_type(tar::EntryType::Directory);
                self.b.append_data(&mut h, format!("{as_path}/"), io::empty())?;
                let sub = fsutil::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                // a running container's /proc and /sys are the kernel's,
                // not its files (and endless): the folder alone, as empty
                if matches!(fs_magic(sub.as_fd()), Ok(PROC_SUPER_MAGIC) | Ok(SYSFS_MAGIC)) {
                    return Ok(());
                }
                for child in fsutil::list_dir(sub.try_clone()?)? {
                    let child_path = format!("{as_path}/{}", String::from_utf8_lossy(&child));
                    self.entry(sub.as_fd(), &child, &child_path, depth + 1)?;
                }
            }
            libc::S_IFREG => {
                // O_NONBLOCK: never hang on what was swapped for a FIFO
                let fd = fsutil::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
                let f = std::fs::File::from(fd);
                let meta = f.metadata()?;
                if !meta.is_file() {
                    return Ok(());
                }
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(meta.len());
                // exactly the size the header says, even if the file grows
                // or shrinks meanwhile
                let body = Padded { inner: f.take(meta.len()), left: meta.len() };
                self.b.append_data(&mut h, as_path, body)?;
            }
            libc::S_IFLNK => {
                let target = fsutil::read_link_at(dir, name)?;
                h.set_entry_type(tar::EntryType::Symlink);
                self.b.append_link(&mut h, as_path, Path::new(&String::from_utf8_lossy(&target).into_owned()))?;
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
                h.set_entry_type(match st.st_mode & libc::S_IFMT {
                    libc::S_IFCHR => tar::EntryType::Char,
                    libc::S_IFBLK => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                h.set_device_major(libc::major(st.st_rdev))?;
                h.set_device_minor(libc::minor(st.st_rdev))?;
                self.b.append_data(&mut h, as_path, io::empty())?;
            }
            // sockets are not archived (as Go's archive/tar)
            _ => {}
        }
        Ok(())
    }
}

/// A reader that gives exactly `left` bytes: the file's, then zeros if
/// it shrank while being read.
struct Padded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Padded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left as usize);
        let n = match self.inner.read(&mut buf[..want])? {
            0 => {
                buf[..want].fill(0);
                want
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn go_modes() {
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), GO_DIR | 0o755);
        assert_eq!(go_mode(libc::S_IFREG | 0o4755), GO_SETUID | 0o755);
        assert_eq!(go_mode(libc::S_IFLNK | 0o777), GO_SYMLINK | 0o777);
    }
    #[test]
    fn padded_gives_the_promised_size() {
        let mut p = Padded { inner: io::Cursor::new(b"ab".to_vec()), left: 4 };
        let mut out = Vec::new();
        p.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ab\0\0");
    }
    #[test]
    fn tar_and_stat_stay_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("d/sub")).unwrap();
        std::fs::write(root.join("d/sub/f"), "inside").unwrap();
        std::fs::write(t.path().join("secret"), "outside").unwrap();
        std::os::unix::fs::symlink(t.path().join("secret"), root.join("d/abs")).unwrap();
        std::os::unix::fs::symlink("../../secret", root.join("d/rel")).unwrap();
        let r = ContainerRoot { root: Root::open(&root).unwrap(), _start_lock: None };
        let st = r.stat("/d").unwrap();
        assert!(st.is_dir());
        assert_eq!(st.name, "d");
        // a symlink is stat'ed, not followed; reading through it stays in
        let st = r.stat("/d/abs").unwrap();
        assert_eq!(st.mode & GO_SYMLINK, GO_SYMLINK);
        assert!(r.stat("/d/abs/x").is_err());
        assert!(r.stat("../../secret").is_err(), "resolved inside the root: /secret does not exist there");
        let mut out = Vec::new();
        r.tar_to("/d", None, &mut out).unwrap();
        let mut a = tar::Archive::new(&out[..]);
        let mut names = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().display().to_string();
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            assert!(!body.contains("outside"), "{p} carried a host file");
            names.push(p);
        }
        assert!(names.contains(&"d/sub/f".to_string()), "{names:?}");
        assert!(names.contains(&"d/abs".to_string()));
        // extracting a hostile tar stays inside the destination
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "rel/pwned", &b"bad"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let _ = r.extract("/d", &bytes[..], Some((0, 0)), false);
        assert_eq!(std::fs::read_to_string(t.path().join("secret")).unwrap(), "outside");
        assert!(!t.path().join("pwned").exists());
    }
    #[test]
    fn a_tree_too_deep_is_refused_not_a_stack_overflow() {
        let t = tempfile::tempdir().unwrap();
        let mut p = t.path().to_path_buf();
        for _ in 0..(MAX_DEPTH + 5) {
            p.push("d");
        }
        std::fs::create_dir_all(&p).unwrap();
        let r = ContainerRoot { root: Root::open(t.path()).unwrap(), _start_lock: None };
        let e = r.tar_to("/d", None, std::io::sink()).unwrap_err();
        assert!(e.to_string().contains("directories deep"), "{e}");
    }
}
