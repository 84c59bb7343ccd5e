//! Safe extraction of one layer tar into an empty directory, producing an
//! overlayfs lower dir.
//!
//! Layers are hostile input. Rules (after umoci's tar_extract.go):
//! - paths are cleaned lexically with the root as floor (`/abs` and `../x`
//!   land inside the root);
//! - parent directories are resolved with `openat2(RESOLVE_IN_ROOT)`, so a
//!   symlink in a parent component can never lead outside the root; a
//!   missing parent is created, a dangling symlink in the way is an error;
//! - the final component is never followed: whatever exists there is
//!   removed first (a directory over a directory is kept);
//! - hard-link targets are resolved inside the root and must already exist;
//! - symlinks are stored verbatim;
//! - `.wh.NAME` becomes an overlay whiteout (char 0/0), `.wh..wh..opq` the
//!   xattr `trusted.overlay.opaque=y`; a whiteout never removes what the same
//!   layer created (a directory it created becomes opaque instead);
//! - `trusted.overlay.*` xattrs from the archive are dropped.

use crate::image::digest::{Digest, HashingReader};
use crate::fsutil as fsu;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

/// Parent directories kept open while extracting (tar order visits a
/// directory's entries together, so a few cover nearly every entry).
const DIR_CACHE_MAX: usize = 64;
/// Bytes moved per read/write of a file's content.
const COPY_BUF: usize = 128 << 10;

pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
pub const OVERLAY_OPAQUE_XATTR: &[u8] = b"trusted.overlay.opaque";

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("destination {0} is not an empty directory")]
    DestNotEmpty(String),
    #[error("reading layer: {0}")]
    Read(#[source] io::Error),
    #[error("{path}: {op}: {source}")]
    Fs {
        path: String,
        op: &'static str,
        source: io::Error,
    },
    #[error("{path}: unsupported tar entry type {kind}")]
    Unsupported { path: String, kind: String },
    #[error("{path}: {reason}")]
    Rejected { path: String, reason: &'static str },
}

/// Counts of what a layer contained.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractStats {
    pub entries: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    pub devices: u64,
    pub whiteouts: u64,
    pub opaques: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct ExtractOutcome {
    pub stats: ExtractStats,
    /// sha256 of the uncompressed tar stream (the layer's diff_id).
    pub diff_id: Digest,
    /// Size of the uncompressed tar stream.
    pub tar_size: u64,
}

/// Compression detected from magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// Wrap `input` in the decompressor its first bytes call for.
pub fn decompress<'a, R: Read + 'a>(mut input: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let mut head = [0u8; 6];
    let mut n = 0;
    while n < head.len() {
        let k = input.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let chained = io::Cursor::new(head[..n].to_vec()).chain(input);
    if n >= 2 && head[..2] == [0x1f, 0x8b] {
        Ok((
            Compression::Gzip,
            Box::new(flate2::read::MultiGzDecoder::new(chained)),
        ))
    } else if n >= 4 && head[..4] == [0x28, 0xb5, 0x2f, 0xfd] {
        Ok((
            Compression::Zstd,
            Box::new(zstd::stream::read::Decoder::new(chained)?),
        ))
    } else if n >= 4 && head[..3] == *b"BZh" && (b'1'..=b'9').contains(&head[3]) {
        Ok((Compression::Bzip2, Box::new(bzip2::read::MultiBzDecoder::new(chained))))
    } else if n == 6 && head == [0xfd, b'7', b'z', b'X', b'Z', 0] {
        Ok((Compression::Xz, Box::new(lzma_rust2::XzReader::new(chained, true))))
    } else {
        Ok((Compression::None, Box::new(chained)))
    }
}

/// Extract a (possibly compressed) layer into `dest`, which must be an
/// existing empty directory. Computes the diff_id in the same pass.
pub fn extract_layer<R: Read>(input: R, dest: &Path) -> Result<ExtractOutcome, ExtractError> {
    let (_, plain) = decompress(input).map_err(ExtractError::Read)?;
    let mut hashing = HashingReader::new(plain);
    let stats = extract_tar(&mut hashing, dest)?;
    let (diff_id, tar_size) = hashing.finish().map_err(ExtractError::Read)?;
    Ok(ExtractOutcome {
        stats,
        diff_id,
        tar_size,
    })
}

/// Extract an uncompressed layer tar into `dest`, which must be an existing
/// empty directory. Reads `tar` up to the archive's end marker only: a
/// caller that hashes the stream reads the rest itself.
pub fn extract_tar<R: Read>(tar: R, dest: &Path) -> Result<ExtractStats, ExtractError> {
    let fs_err = |op, source| ExtractError::Fs {
        path: dest.display().to_string(),
        op,
        source,
    };
    let mut rd = std::fs::read_dir(dest).map_err(|e| fs_err("read_dir", e))?;
    if rd.next().is_some() {
        return Err(ExtractError::DestNotEmpty(dest.display().to_string()));
    }
    let root = fsu::open_dir_path(dest).map_err(|e| fs_err("open", e))?;
    run(tar, root, Creation::probe(dest), Mode::Layer)
}

/// Extract a plain tar into an existing directory that may hold files
/// already (`docker cp` into a container, or out of one onto the host):
/// the same rules as a layer, except that `.wh.` names are ordinary names
/// (no whiteouts), an entry for the root itself changes nothing, and
/// `owner` (when given) replaces every entry's uid and gid. `dest` is a
/// directory fd the caller resolved; nothing is followed out of it. With
/// `onto_host` the archive came out of a container: device nodes are not
/// made and set-user/group-ID bits are dropped, so a container cannot
/// plant a raw disk or a setuid-root program on the host.
pub fn extract_into<R: Read>(tar: R, dest: OwnedFd, owner: Option<(u32, u32)>, onto_host: bool) -> Result<ExtractStats, ExtractError> {
    use std::os::fd::AsRawFd;
    let creation = Creation::probe(Path::new(&format!("/proc/self/fd/{}", dest.as_raw_fd())));
    run(tar, dest, creation, Mode::Copy { owner, onto_host })
}

/// What the entries of a tar are.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// an image layer (whiteouts, opaque directories)
    Layer,
    /// files copied into a tree (optionally owned by one uid:gid; onto
    /// the host: no devices, no set-ID bits)
    Copy { owner: Option<(u32, u32)>, onto_host: bool },
}

fn run<R: Read>(tar: R, root: OwnedFd, creation: Creation, mode: Mode) -> Result<ExtractStats, ExtractError> {
    let mut archive = tar::Archive::new(tar);
    let mut x = Extractor {
        root,
        mode,
        whiteouts: HashSet::new(),
        dir_meta: HashMap::new(),
        dir_order: Vec::new(),
        dirs: HashMap::new(),
        creation,
        buf: vec![0; COPY_BUF],
        stats: ExtractStats::default(),
    };
    for entry in archive.entries().map_err(ExtractError::Read)? {
        let entry = entry.map_err(ExtractError::Read)?;
        x.entry(entry)?;
    }
    x.finish_dirs()?;
    Ok(x.stats)
}

/// What a node created under the destination gets without being told:
/// lets extraction skip the chown and chmod calls that would change
/// nothing (most files of most layers are root's, 0644 or 0755).
#[derive(Debug, Clone, Copy)]
struct Creation {
    uid: u32,
    gid: u32,
    /// Bits the process umask removes from a creation mode.
    umask: u32,
    /// Owner and group are ours (the destination is not set-group-ID).
    owner_is_ours: bool,
    /// The creation mode minus the umask is what a node gets (no default
    /// ACL on the destination decides instead).
    mode_is_exact: bool,
}

impl Creation {
    fn probe(dest: &Path) -> Creation {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dest).ok();
        let setgid = meta.as_ref().map_or(true, |m| m.mode() & libc::S_ISGID != 0);
        let acl = fsu::lgetxattr(dest.as_os_str().as_encoded_bytes(), b"system.posix_acl_default");
        let umask = process_umask();
        Creation {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            umask: umask.unwrap_or(0o777),
            owner_is_ours: !setgid,
            mode_is_exact: umask.is_some() && matches!(acl, Ok(None)),
        }
    }

    fn owner_matches(&self, m: &Meta) -> bool {
        self.owner_is_ours && m.uid == self.uid && m.gid == self.gid
    }

    /// A creation mode that already is `m.mode`, if there is one.
    fn exact_mode(&self, m: &Meta) -> Option<u32> {
        (self.mode_is_exact && m.mode & !0o777 == 0 && m.mode & self.umask == 0).then_some(m.mode)
    }
}

/// The umask, read from /proc/self/status (umask(2) can only set it).
fn process_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

#[derive(Debug, Clone)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

struct Extractor {
    root: OwnedFd,
    mode: Mode,
    /// Paths (cleaned, `/`-joined) where this layer put a whiteout.
    whiteouts: HashSet<Vec<u8>>,
    /// Directory metadata, applied at the end (creating children changes
    /// a directory's mtime).
    dir_meta: HashMap<Vec<u8>, Meta>,
    dir_order: Vec<Vec<u8>>,
    /// Open parent directories by cleaned path. Emptied whenever anything
    /// is removed, so a cached handle is always what the path resolves to.
    dirs: HashMap<Vec<u8>, Rc<OwnedFd>>,
    creation: Creation,
    buf: Vec<u8>,
    stats: ExtractStats,
}

/// Lexically clean a tar path: drop empty and `.` components, `..` pops
/// but never above the root.
pub fn clean_components(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c.to_vec()),
        }
    }
    out
}

fn join(c: &[Vec<u8>]) -> Vec<u8> {
    c.join(&b'/')
}

fn show(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

fn ignore_unsupported(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP)) => Ok(()),
        other => other,
    }
}

impl Extractor {
    fn fs(&self, path: &[u8], op: &'static str) -> impl FnOnce(io::Error) -> ExtractError {
        let path = show(path);
        move |source| ExtractError::Fs { path, op, source }
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), ExtractError> {
        use tar::EntryType as T;
        let kind = entry.header().entry_type();
        if matches!(kind, T::XGlobalHeader) {
            return Ok(());
        }
        self.stats.entries += 1;
        let raw = entry.path_bytes().into_owned();
        let comps = clean_components(&raw);
        let path = join(&comps);
        let meta = self.meta(&mut entry, &path)?;
        let Some((name, parent_comps)) = comps.split_last() else {
            // The root itself: only a directory entry means anything (and
            // nothing when copying into a tree that is not ours)
            if kind.is_dir() && matches!(self.mode, Mode::Layer) {
                self.record_dir(path, meta);
            }
            return Ok(());
        };
        if name.starts_with(WHITEOUT_PREFIX) && matches!(self.mode, Mode::Layer) {
            return self.whiteout(parent_comps, name);
        }
        let parent = self.resolve_parent(parent_comps, true)?;
        let pfd = parent.as_fd();
        match kind {
            T::Directory => {
                match fsu::mkdir_at(pfd, name, 0o700) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        // a directory over a directory is kept
                        let st = fsu::lstat_at(pfd, name).map_err(self.fs(&path, "lstat"))?;
                        if !st.as_ref().is_some_and(fsu::is_dir) {
                            self.remove(pfd, name, &path)?;
                            fsu::mkdir_at(pfd, name, 0o700).map_err(self.fs(&path, "mkdir"))?;
                        }
                    }
                    Err(e) => return Err(self.fs(&path, "mkdir")(e)),
                }
                if self.whiteouts.contains(&path) {
                    // lower content was whited out by this layer; keep it hidden
                    fsu::lsetxattr_at(pfd, name, OVERLAY_OPAQUE_XATTR, b"y")
                        .map_err(self.fs(&path, "set opaque"))?;
                }
                self.stats.dirs += 1;
                self.record_dir(path, meta);
            }
            T::Regular | T::Continuous => {
                let exact = self.creation.exact_mode(&meta);
                let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
                let mode = exact.unwrap_or(0o600);
                let fd = match fsu::openat_nofollow(pfd, name, flags, mode) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        self.remove(pfd, name, &path)?;
                        fsu::openat_nofollow(pfd, name, flags, mode)
                    }
                    r => r,
                }
                .map_err(self.fs(&path, "create"))?;
                let mut f = File::from(fd);
                let n = self.copy_content(&mut entry, &mut f, &path)?;
                self.stats.bytes += n;
                self.stats.files += 1;
                let fd = f.as_fd();
                if !self.creation.owner_matches(&meta) {
                    fsu::fchown(fd, meta.uid, meta.gid).map_err(self.fs(&path, "chown"))?;
                }
                if exact.is_none() {
                    // after the chown, which clears set-user/group-ID bits
                    fsu::fchmod(fd, meta.mode).map_err(self.fs(&path, "chmod"))?;
                }
                for (k, v) in &meta.xattrs {
                    ignore_unsupported(fsu::fsetxattr(fd, k, v))
                        .map_err(self.fs(&path, "setxattr"))?;
                }
                fsu::futimes(fd, meta.mtime).map_err(self.fs(&path, "utimes"))?;
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                if target.is_empty() {
                    return Err(ExtractError::Rejected {
                        path: show(&path),
                        reason: "symlink with an empty target",
                    });
                }
                match fsu::symlink_at(&target, pfd, name) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        self.remove(pfd, name, &path)?;
                        fsu::symlink_at(&target, pfd, name)
                    }
                    r => r,
                }
                .map_err(self.fs(&path, "symlink"))?;
                self.stats.symlinks += 1;
                self.finish_node(pfd, name, &path, &meta, false)?;
            }
            T::Link => {
                let raw_target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let tcomps = clean_components(&raw_target);
                let Some((tname, tparent)) = tcomps.split_last() else {
                    return Err(ExtractError::Rejected {
                        path: show(&path),
                        reason: "hard link to the root",
                    });
                };
                let tpath = join(&tcomps);
                if tpath == path {
                    return Err(ExtractError::Rejected {
                        path: show(&path),
                        reason: "hard link to itself",
                    });
                }
                let tdir = self.resolve_parent(tparent, false)?;
                match fsu::lstat_at(tdir.as_fd(), tname).map_err(self.fs(&tpath, "lstat"))? {
                    None => {
                        return Err(ExtractError::Rejected {
                            path: show(&path),
                            reason: "hard link target does not exist in the layer",
                        })
                    }
                    Some(st) if fsu::is_dir(&st) => {
                        return Err(ExtractError::Rejected {
                            path: show(&path),
                            reason: "hard link to a directory",
                        })
                    }
                    Some(_) => {}
                }
                if fsu::lstat_at(pfd, name).map_err(self.fs(&path, "lstat"))?.is_some() {
                    self.remove(pfd, name, &path)?;
                }
                fsu::link_at(tdir.as_fd(), tname, pfd, name).map_err(self.fs(&path, "link"))?;
                self.stats.hardlinks += 1;
            }
            T::Char | T::Block if matches!(self.mode, Mode::Copy { onto_host: true, .. }) => {}
            T::Char | T::Block | T::Fifo => {
                let (ty, major, minor) = match kind {
                    T::Fifo => (libc::S_IFIFO, 0, 0),
                    _ => {
                        let h = entry.header();
                        let major = h.device_major().ok().flatten().unwrap_or(0);
                        let minor = h.device_minor().ok().flatten().unwrap_or(0);
                        (
                            if kind == T::Char {
                                libc::S_IFCHR
                            } else {
                                libc::S_IFBLK
                            },
                            major,
                            minor,
                        )
                    }
                };
                match fsu::mknod_at(pfd, name, ty | 0o600, major, minor) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        self.remove(pfd, name, &path)?;
                        fsu::mknod_at(pfd, name, ty | 0o600, major, minor)
                    }
                    r => r,
                }
                .map_err(self.fs(&path, "mknod"))?;
                self.stats.devices += 1;
                self.finish_node(pfd, name, &path, &meta, true)?;
            }
            other => {
                return Err(ExtractError::Unsupported {
                    path: show(&path),
                    kind: format!("{other:?}"),
                });
            }
        }
        Ok(())
    }

    /// Owner, mode (not for symlinks), xattrs and mtime of a non-regular,
    /// non-directory node, never following it.
    fn finish_node(
        &self,
        pfd: BorrowedFd<'_>,
        name: &[u8],
        path: &[u8],
        meta: &Meta,
        chmod: bool,
    ) -> Result<(), ExtractError> {
        if !self.creation.owner_matches(meta) {
            fsu::lchown_at(pfd, name, meta.uid, meta.gid).map_err(self.fs(path, "lchown"))?;
        }
        if chmod {
            fsu::chmod_at(pfd, name, meta.mode).map_err(self.fs(path, "chmod"))?;
        }
        for (k, v) in &meta.xattrs {
            // symlinks only take trusted./security. xattrs
            match fsu::lsetxattr_at(pfd, name, k, v) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM)) => {}
                r => r.map_err(self.fs(path, "setxattr"))?,
            }
        }
        fsu::lutimes_at(pfd, name, meta.mtime).map_err(self.fs(path, "utimes"))
    }

    fn meta<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        path: &[u8],
    ) -> Result<Meta, ExtractError> {
        let bad = |reason| ExtractError::Rejected {
            path: show(path),
            reason,
        };
        let h = entry.header();
        let mode = h.mode().map_err(|_| bad("bad mode field"))? & 0o7777;
        // empty numeric fields read as 0, like Go's archive/tar
        let mut uid = u32::try_from(h.uid().unwrap_or(0)).map_err(|_| bad("uid out of range"))?;
        let mut gid = u32::try_from(h.gid().unwrap_or(0)).map_err(|_| bad("gid out of range"))?;
        if let Mode::Copy { owner: Some((u, g)), .. } = self.mode {
            (uid, gid) = (u, g);
        }
        let mode = if matches!(self.mode, Mode::Copy { onto_host: true, .. }) { mode & !0o6000 } else { mode };
        let mtime = i64::try_from(h.mtime().unwrap_or(0)).unwrap_or(i64::MAX);
        let mut xattrs = Vec::new();
        if let Some(exts) = entry.pax_extensions().map_err(ExtractError::Read)? {
            for ext in exts {
                let ext = ext.map_err(ExtractError::Read)?;
                if let Some(k) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    if k.starts_with(b"trusted.overlay.") || k.is_empty() {
                        continue;
                    }
                    // onto the host only user.* (no file capabilities, no
                    // security labels a container chose)
                    if matches!(self.mode, Mode::Copy { onto_host: true, .. }) && !k.starts_with(b"user.") {
                        continue;
                    }
                    xattrs.push((k.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }
        Ok(Meta {
            mode,
            uid,
            gid,
            mtime,
            xattrs,
        })
    }

    fn record_dir(&mut self, path: Vec<u8>, meta: Meta) {
        if self.dir_meta.insert(path.clone(), meta).is_none() {
            self.dir_order.push(path);
        }
    }

    /// Remove what is at `name` in `pfd` (recursively), forgetting every
    /// cached directory: one of them may have been it or under it.
    fn remove(&mut self, pfd: BorrowedFd<'_>, name: &[u8], path: &[u8]) -> Result<(), ExtractError> {
        self.dirs.clear();
        fsu::remove_at(pfd, name).map_err(self.fs(path, "remove"))
    }

    /// Copy a regular file's content with one large buffer.
    fn copy_content<R: Read>(&mut self, from: &mut R, to: &mut File, path: &[u8]) -> Result<u64, ExtractError> {
        let mut n = 0u64;
        loop {
            let k = match from.read(&mut self.buf) {
                Ok(0) => return Ok(n),
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ExtractError::Read(e)),
            };
            to.write_all(&self.buf[..k]).map_err(self.fs(path, "write"))?;
            n += k as u64;
        }
    }

    /// The directory `comps` inside the root, from the cache or opened by
    /// `open_parent` (and then cached).
    fn resolve_parent(&mut self, comps: &[Vec<u8>], create: bool) -> Result<Rc<OwnedFd>, ExtractError> {
        let path = join(comps);
        if let Some(fd) = self.dirs.get(&path) {
            return Ok(fd.clone());
        }
        let fd = Rc::new(self.open_parent(comps, create)?);
        if self.dirs.len() >= DIR_CACHE_MAX {
            self.dirs.clear();
        }
        self.dirs.insert(path, fd.clone());
        Ok(fd)
    }

    /// Open the directory `comps` inside the root (symlinks resolved as if
    /// the root were `/`), creating missing components when `create`.
    fn open_parent(&self, comps: &[Vec<u8>], create: bool) -> Result<OwnedFd, ExtractError> {
        let root = self.root.as_fd();
        let path = join(comps);
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        match fsu::openat2_in_root(root, &path, flags) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(ExtractError::Rejected {
                    path: show(&path),
                    reason: "a parent is not a directory",
                })
            }
            Err(e) => return Err(self.fs(&path, "open parent")(e)),
        }
        let mut cur = self.root.try_clone().map_err(self.fs(&path, "dup"))?;
        for i in 0..comps.len() {
            let prefix = join(&comps[..=i]);
            match fsu::openat2_in_root(root, &prefix, flags) {
                Ok(fd) => cur = fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    match fsu::mkdir_at(cur.as_fd(), &comps[i], 0o755) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                            return Err(ExtractError::Rejected {
                                path: show(&prefix),
                                reason: "a dangling symlink is in the way of a parent directory",
                            })
                        }
                        Err(e) => return Err(self.fs(&prefix, "mkdir")(e)),
                    }
                    cur = fsu::openat_nofollow(cur.as_fd(), &comps[i], flags, 0)
                        .map_err(self.fs(&prefix, "open"))?;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                    return Err(ExtractError::Rejected {
                        path: show(&prefix),
                        reason: "a parent is not a directory",
                    })
                }
                Err(e) => return Err(self.fs(&prefix, "open parent")(e)),
            }
        }
        Ok(cur)
    }

    fn whiteout(&mut self, parent_comps: &[Vec<u8>], name: &[u8]) -> Result<(), ExtractError> {
        let parent = self.resolve_parent(parent_comps, true)?;
        let pfd = parent.as_fd();
        let ppath = join(parent_comps);
        if name == OPAQUE_MARKER {
            fsu::lsetxattr_at(pfd, b".", OVERLAY_OPAQUE_XATTR, b"y")
                .map_err(self.fs(&ppath, "set opaque"))?;
            self.stats.opaques += 1;
            return Ok(());
        }
        if name.starts_with(b".wh..wh.") {
            // aufs bookkeeping (.wh..wh.plnk etc.): meaningless here
            return Ok(());
        }
        let target = &name[WHITEOUT_PREFIX.len()..];
        if target.is_empty() || target == b"." || target == b".." {
            return Err(ExtractError::Rejected {
                path: show(name),
                reason: "bad whiteout name",
            });
        }
        let mut tcomps = parent_comps.to_vec();
        tcomps.push(target.to_vec());
        let tpath = join(&tcomps);
        self.stats.whiteouts += 1;
        match fsu::lstat_at(pfd, target).map_err(self.fs(&tpath, "lstat"))? {
            // Created by this very layer: never remove it. A directory hides
            // the lower one by becoming opaque; anything else already does.
            Some(st) if fsu::is_dir(&st) => {
                fsu::lsetxattr_at(pfd, target, OVERLAY_OPAQUE_XATTR, b"y")
                    .map_err(self.fs(&tpath, "set opaque"))?;
            }
            Some(_) => {}
            None => {
                fsu::mknod_at(pfd, target, libc::S_IFCHR, 0, 0)
                    .map_err(self.fs(&tpath, "mknod whiteout"))?;
            }
        }
        self.whiteouts.insert(tpath);
        Ok(())
    }

    /// Apply directory metadata, last, so children do not disturb mtimes.
    fn finish_dirs(&mut self) -> Result<(), ExtractError> {
        let root = self.root.as_fd();
        for path in self.dir_order.iter().rev() {
            let Some(meta) = self.dir_meta.get(path) else {
                continue;
            };
            let fd = match fsu::openat2_in_root(
                root,
                path,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            ) {
                Ok(fd) => fd,
                // replaced by a non-directory or removed later on
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(self.fs(path, "open dir")(e)),
            };
            let f = fd.as_fd();
            if !self.creation.owner_matches(meta) {
                fsu::fchown(f, meta.uid, meta.gid).map_err(self.fs(path, "chown"))?;
            }
            fsu::fchmod(f, meta.mode).map_err(self.fs(path, "chmod"))?;
            for (k, v) in &meta.xattrs {
                ignore_unsupported(fsu::fsetxattr(f, k, v)).map_err(self.fs(path, "setxattr"))?;
            }
            fsu::futimes(f, meta.mtime).map_err(self.fs(path, "utimes"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
