//! Write an overlay upper dir as an OCI layer tar (for commit, save, push):
//! overlay whiteouts (char 0/0) become `.wh.NAME`, an opaque directory
//! (`trusted.overlay.opaque=y`) gets a `.wh..wh..opq` entry. Entries are
//! written depth-first, siblings in bytewise name order, so the same tree
//! gives the same digest.

use crate::image::digest::Digest;
use crate::image::extract::{OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX};
use crate::fsutil;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use tar::{EntryType, Header};

#[derive(Debug, thiserror::Error)]
pub enum LayerTarError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

/// Digests of a written layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigests {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    pub size: u64,
    /// sha256 and size of the compressed blob (equal to the above when the
    /// layer is not compressed).
    pub digest: Digest,
    pub compressed_size: u64,
}

/// A writer that hashes and counts what passes through.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn err(p: &Path) -> impl FnOnce(io::Error) -> LayerTarError {
    let path = p.display().to_string();
    move |source| LayerTarError::Io { path, source }
}

/// Write `upper` as an uncompressed layer tar into `out`.
pub fn write_layer_tar<W: Write>(upper: &Path, out: W) -> Result<LayerDigests, LayerTarError> {
    let hw = HashingWriter::new(out);
    let mut b = tar::Builder::new(hw);
    walk(&mut b, upper, upper, &mut HashMap::new())?;
    let hw = b.into_inner().map_err(err(upper))?;
    let (_, diff_id, size) = hw.finish();
    Ok(LayerDigests {
        digest: diff_id.clone(),
        compressed_size: size,
        diff_id,
        size,
    })
}

/// Write `upper` as a gzip layer into `out`; returns both digests.
pub fn write_layer_tar_gz<W: Write>(upper: &Path, out: W) -> Result<LayerDigests, LayerTarError> {
    let outer = HashingWriter::new(out);
    let gz = flate2::write::GzEncoder::new(outer, flate2::Compression::default());
    let inner = HashingWriter::new(gz);
    let mut b = tar::Builder::new(inner);
    walk(&mut b, upper, upper, &mut HashMap::new())?;
    let inner = b.into_inner().map_err(err(upper))?;
    let (gz, diff_id, size) = inner.finish();
    let outer = gz.finish().map_err(err(upper))?;
    let (_, digest, compressed_size) = outer.finish();
    Ok(LayerDigests {
        diff_id,
        size,
        digest,
        compressed_size,
    })
}

fn base_header(kind: EntryType, m: &fs::Metadata) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(m.mode() & 0o7777);
    h.set_uid(m.uid() as u64);
    h.set_gid(m.gid() as u64);
    h.set_mtime(m.mtime().max(0) as u64);
    h.set_size(0);
    h
}

fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = 1 + key.len() + 1 + value.len() + 1;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} ").into_bytes();
    r.extend_from_slice(key);
    r.push(b'=');
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// A PAX header with the entry's xattrs (SCHILY.xattr.*), if it has any
/// worth keeping (overlay's own are not).
fn append_xattrs<W: Write>(b: &mut tar::Builder<W>, full: &Path) -> io::Result<()> {
    let pb = full.as_os_str().as_bytes();
    let mut data = Vec::new();
    let mut names = fsutil::llistxattr(pb)?;
    names.sort();
    for n in names {
        if n.starts_with(b"trusted.overlay.") {
            continue;
        }
        if let Some(v) = fsutil::lgetxattr(pb, &n)? {
            let mut key = b"SCHILY.xattr.".to_vec();
            key.extend_from_slice(&n);
            data.extend(pax_record(&key, &v));
        }
    }
    if data.is_empty() {
        return Ok(());
    }
    let mut h = Header::new_ustar();
    h.set_path("PaxHeaders/xattrs")?;
    h.set_entry_type(EntryType::XHeader);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, &data[..])
}

fn walk<W: Write>(
    b: &mut tar::Builder<W>,
    base: &Path,
    dir: &Path,
    links: &mut HashMap<(u64, u64), Vec<u8>>,
) -> Result<(), LayerTarError> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(err(dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(err(dir))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let rel_dir = dir
        .strip_prefix(base)
        .unwrap_or(Path::new(""))
        .as_os_str()
        .as_bytes()
        .to_vec();
    let rel = |name: &[u8]| -> Vec<u8> {
        let mut r = rel_dir.clone();
        if !r.is_empty() {
            r.push(b'/');
        }
        r.extend_from_slice(name);
        r
    };
    for name in names {
        let full = dir.join(&name);
        let m = fs::symlink_metadata(&full).map_err(err(&full))?;
        let ft = m.file_type();
        let path = rel(name.as_bytes());
        let p = Path::new(std::ffi::OsStr::from_bytes(&path));
        let e = err(&full);
        let r: io::Result<()> = (|| {
            if ft.is_char_device() && m.rdev() == 0 {
                // overlay whiteout
                let mut wh = WHITEOUT_PREFIX.to_vec();
                wh.extend_from_slice(name.as_bytes());
                let mut h = base_header(EntryType::Regular, &m);
                h.set_mode(0o644);
                // the device node's own time is when it was extracted or
                // made: left out, so a layer loaded elsewhere and saved
                // again keeps its diff_id
                h.set_mtime(0);
                return b.append_data(
                    &mut h,
                    Path::new(std::ffi::OsStr::from_bytes(&rel(&wh))),
                    io::empty(),
                );
            }
            if ft.is_dir() {
                append_xattrs(b, &full)?;
                let mut h = base_header(EntryType::Directory, &m);
                b.append_data(&mut h, p, io::empty())?;
                let opaque = fsutil::lgetxattr(full.as_os_str().as_bytes(), OVERLAY_OPAQUE_XATTR)?;
                if opaque.as_deref() == Some(b"y") {
                    let mut marker = path.clone();
                    marker.push(b'/');
                    marker.extend_from_slice(OPAQUE_MARKER);
                    let mut h = base_header(EntryType::Regular, &m);
                    h.set_mode(0o644);
                    b.append_data(
                        &mut h,
                        Path::new(std::ffi::OsStr::from_bytes(&marker)),
                        io::empty(),
                    )?;
                }
                return Ok(());
            }
            if ft.is_socket() {
                return Ok(()); // not representable in a layer
            }
            append_xattrs(b, &full)?;
            if ft.is_file() && m.nlink() > 1 {
                if let Some(first) = links.get(&(m.dev(), m.ino())) {
                    let mut h = base_header(EntryType::Link, &m);
                    return b.append_link(&mut h, p, Path::new(std::ffi::OsStr::from_bytes(first)));
                }
                links.insert((m.dev(), m.ino()), path.clone());
            }
            if ft.is_file() {
                let mut h = base_header(EntryType::Regular, &m);
                h.set_size(m.len());
                let f = fs::File::open(&full)?;
                return b.append_data(&mut h, p, f);
            }
            if ft.is_symlink() {
                let target = fs::read_link(&full)?;
                let mut h = base_header(EntryType::Symlink, &m);
                return b.append_link(&mut h, p, target);
            }
            let kind = if ft.is_char_device() {
                EntryType::Char
            } else if ft.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            };
            let mut h = base_header(kind, &m);
            if kind != EntryType::Fifo {
                let rdev = m.rdev();
                h.set_device_major(libc::major(rdev))?;
                h.set_device_minor(libc::minor(rdev))?;
            }
            b.append_data(&mut h, p, io::empty())
        })();
        r.map_err(e)?;
        if ft.is_dir() {
            walk(b, base, &full, links)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::extract::extract_layer;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn upper() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let u = t.path();
        fs::create_dir_all(u.join("etc")).unwrap();
        fs::create_dir_all(u.join("opq/sub")).unwrap();
        fs::write(u.join("etc/motd"), b"hi").unwrap();
        fs::set_permissions(u.join("etc/motd"), fs::Permissions::from_mode(0o4750)).unwrap();
        fs::hard_link(u.join("etc/motd"), u.join("etc/motd2")).unwrap();
        symlink("/nowhere", u.join("link")).unwrap();
        fsutil::mknod_at(
            fsutil::open_dir_path(u).unwrap().as_fd_ref(),
            b"gone",
            libc::S_IFCHR,
            0,
            0,
        )
        .unwrap();
        let o = u.join("opq");
        fsutil::lsetxattr_at(
            fsutil::open_dir_path(u).unwrap().as_fd_ref(),
            b"opq",
            OVERLAY_OPAQUE_XATTR,
            b"y",
        )
        .unwrap();
        fsutil::lsetxattr_at(
            fsutil::open_dir_path(&o).unwrap().as_fd_ref(),
            b"sub",
            b"user.k",
            b"v",
        )
        .unwrap();
        let long = "x".repeat(150);
        fs::write(u.join(&long), b"long").unwrap();
        t
    }

    trait FdRef {
        fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_>;
    }
    impl FdRef for std::os::fd::OwnedFd {
        fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_> {
            std::os::fd::AsFd::as_fd(self)
        }
    }

    #[test]
    fn roundtrip_through_extract() {
        let u = upper();
        let mut buf = Vec::new();
        let d = write_layer_tar(u.path(), &mut buf).unwrap();
        assert_eq!(d.diff_id, Digest::of_bytes(&buf));
        assert_eq!(d.size, buf.len() as u64);

        // the tar has .wh. entries, not devices
        let mut a = tar::Archive::new(&buf[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
            .collect();
        assert!(names.contains(&".wh.gone".to_string()), "{names:?}");
        assert!(names.contains(&"opq/.wh..wh..opq".to_string()), "{names:?}");
        assert_eq!(names.first().map(|n| n.trim_end_matches('/')), Some("etc"));

        let t = tempfile::tempdir().unwrap();
        let out = extract_layer(&buf[..], t.path()).unwrap();
        assert_eq!(out.diff_id, d.diff_id);
        let x = t.path();
        let gone = fs::symlink_metadata(x.join("gone")).unwrap();
        assert!(gone.file_type().is_char_device() && gone.rdev() == 0);
        assert_eq!(
            fsutil::lgetxattr(x.join("opq").as_os_str().as_bytes(), OVERLAY_OPAQUE_XATTR).unwrap(),
            Some(b"y".to_vec())
        );
        assert_eq!(
            fsutil::lgetxattr(x.join("opq/sub").as_os_str().as_bytes(), b"user.k").unwrap(),
            Some(b"v".to_vec())
        );
        let motd = fs::metadata(x.join("etc/motd")).unwrap();
        assert_eq!((motd.nlink(), motd.mode() & 0o7777), (2, 0o4750));
        assert_eq!(
            fs::read_link(x.join("link")).unwrap(),
            Path::new("/nowhere")
        );
        assert_eq!(fs::read(x.join("x".repeat(150))).unwrap(), b"long");
    }

    #[test]
    fn deterministic_and_gzip_digests() {
        let u = upper();
        let mut a = Vec::new();
        let mut b = Vec::new();
        let da = write_layer_tar(u.path(), &mut a).unwrap();
        let db = write_layer_tar(u.path(), &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(da, db);
        let mut gz = Vec::new();
        let dg = write_layer_tar_gz(u.path(), &mut gz).unwrap();
        assert_eq!(dg.diff_id, da.diff_id);
        assert_eq!(dg.digest, Digest::of_bytes(&gz));
        assert_eq!(dg.compressed_size, gz.len() as u64);
        let t = tempfile::tempdir().unwrap();
        assert_eq!(
            extract_layer(&gz[..], t.path()).unwrap().diff_id,
            da.diff_id
        );
    }
}
