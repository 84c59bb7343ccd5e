//! Reading a file inside a folder that is not trusted (a build context):
//! the path is resolved with `openat2(RESOLVE_IN_ROOT)`, so neither `..`
//! nor a symlink (`x -> /etc/passwd`) can reach outside it; only regular
//! files are read (no FIFO that blocks, no device).
use crate::fsutil;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;

/// Files larger than this are refused (a build script reads small files).
pub const MAX_READ: u64 = 64 << 20;

/// The contents of `rel` (a path inside `root`; a leading `/` means `root`).
pub fn read_in_root(root: &Path, rel: &str) -> io::Result<Vec<u8>> {
    let dir = fsutil::open_dir_path(root)?;
    let fd = fsutil::openat2_in_root(dir.as_fd(), rel.trim_start_matches('/').as_bytes(), libc::O_RDONLY | libc::O_NONBLOCK)?;
    let mut f = std::fs::File::from(fd);
    let meta = f.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory"));
    }
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > MAX_READ {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("larger than {MAX_READ} bytes")));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    f.by_ref().take(MAX_READ + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_READ {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("larger than {MAX_READ} bytes")));
    }
    Ok(out)
}

/// `path` as a path inside `root` (canonical): a relative path is taken
/// relative to `root`, an absolute one must lie under it. None: outside.
pub fn relative_to(root: &Path, path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(path.to_string());
    }
    let rest = Path::new(path).strip_prefix(root).ok()?;
    Some(rest.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn stays_inside() {
        let t = tempfile::tempdir().unwrap();
        let ctx = t.path().join("ctx");
        std::fs::create_dir_all(ctx.join("sub")).unwrap();
        std::fs::write(ctx.join("sub/a.txt"), "inside").unwrap();
        std::fs::write(t.path().join("secret"), "outside").unwrap();
        std::os::unix::fs::symlink(t.path().join("secret"), ctx.join("abs")).unwrap();
        std::os::unix::fs::symlink("../secret", ctx.join("rel")).unwrap();
        std::os::unix::fs::symlink("sub/a.txt", ctx.join("ok")).unwrap();
        assert_eq!(read_in_root(&ctx, "sub/a.txt").unwrap(), b"inside");
        assert_eq!(read_in_root(&ctx, "ok").unwrap(), b"inside");
        assert_eq!(read_in_root(&ctx, "/sub/../sub/a.txt").unwrap(), b"inside");
        for bad in ["abs", "rel", "../secret", "../../../../secret"] {
            assert!(read_in_root(&ctx, bad).is_err(), "{bad}");
        }
        assert!(read_in_root(&ctx, "sub").is_err());
        nix::unistd::mkfifo(&ctx.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(read_in_root(&ctx, "fifo").is_err(), "a FIFO is refused, not waited on");
        assert_eq!(relative_to(&ctx, "x/y").as_deref(), Some("x/y"));
        assert_eq!(relative_to(&ctx, &format!("{}/x", ctx.display())).as_deref(), Some("x"));
        assert_eq!(relative_to(&ctx, "/etc/passwd"), None);
    }
}
