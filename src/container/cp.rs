//! `bocker cp`: files between the host and a container, with Docker's
//! rules for where they land (an existing directory receives the source
//! under its own name; `SRC/.` copies a directory's contents; anything
//! else is written under the destination's name). The container side is
//! [`super::archive`]; the tar between the two sides goes through a pipe,
//! never whole into memory.
use super::archive::ContainerRoot;
use super::{ContainerError, Result};
use crate::state::Store;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

fn io_ctx(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> ContainerError {
    move |e| ContainerError::Invalid(format!("{what}: {e}"))
}

/// The last component of a path as given ("." for `dir/.`).
fn base_name(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return ".";
    }
    t.rsplit('/').next().unwrap_or(t)
}

/// A tar written by `produce` on another thread, read by `consume` here.
fn piped<P, C>(produce: P, consume: C) -> Result<()>
where
    P: FnOnce(std::io::PipeWriter) -> Result<()> + Send,
    C: FnOnce(std::io::PipeReader) -> Result<()>,
{
    let (r, w) = std::io::pipe().map_err(io_ctx("pipe"))?;
    std::thread::scope(|s| {
        let t = s.spawn(move || produce(w));
        let consumed = consume(r);
        let produced = t.join().unwrap_or_else(|_| Err(ContainerError::Invalid("the archive writer panicked".into())));
        // the reader's error first: the writer then only saw a closed pipe
        consumed.and(produced)
    })
}

/// Copies `src` (a path in container `reference`) to `dest` on the host
/// (`-`: a tar stream to `out`). The files become the caller's (as the
/// docker CLI leaves them); device nodes are not made and set-ID bits and
/// file capabilities are dropped: the container chose them.
pub fn copy_out<W: Write + Send>(store: &Store, reference: &str, src: &str, dest: &str, out: W) -> Result<()> {
    let (root, _) = ContainerRoot::open(store, reference)?;
    let st = root.stat(src)?;
    if dest == "-" {
        root.tar_to(src, None, out)?;
        return Ok(());
    }
    let contents_only = src.ends_with("/.") || src == ".";
    let d = Path::new(dest);
    let (target, name_as) = if d.is_dir() {
        (d.to_path_buf(), if contents_only { Some(".".to_string()) } else { None })
    } else {
        if st.is_dir() && d.exists() {
            return Err(ContainerError::Invalid(format!("cannot copy a directory to the file {dest}")));
        }
        let parent = d.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(ContainerError::Invalid(format!("{}: no such directory", parent.display())));
        }
        (parent.to_path_buf(), Some(base_name(dest).to_string()))
    };
    let dir = crate::fsutil::open_dir_path(&target).map_err(io_ctx(target.display()))?;
    let rd = crate::fsutil::openat_nofollow(dir.as_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(io_ctx(target.display()))?;
    piped(
        |w| root.tar_to(src, name_as.as_deref(), w).map(|_| ()),
        |r| crate::image::extract::extract_into(r, rd, Some((nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())), true).map(|_| ()).map_err(|e| ContainerError::Invalid(format!("writing {dest}: {e}"))),
    )
}

/// Copies `src` on the host (`-`: a tar stream read from `input`) to
/// `dest` in container `reference`; the files are root's in there, as
/// Docker makes them, unless `archive` (`cp -a`) keeps their owners.
pub fn copy_in<R: Read>(store: &Store, reference: &str, src: &str, dest: &str, archive: bool, input: R) -> Result<()> {
    let (root, _) = ContainerRoot::open(store, reference)?;
    let owner = if archive { None } else { Some((0, 0)) };
    if src == "-" {
        if !root.is_dir(dest) {
            return Err(ContainerError::Invalid(format!("{dest}: the destination of a tar stream must be a directory")));
        }
        return root.extract(dest, input, owner, false);
    }
    let s = Path::new(src);
    let meta = std::fs::symlink_metadata(s).map_err(io_ctx(src))?;
    let contents_only = src.ends_with("/.");
    let (target, name) = if root.is_dir(dest) {
        (dest.to_string(), if contents_only { ".".to_string() } else { base_name(src).to_string() })
    } else {
        if meta.is_dir() && root.stat(dest).is_ok() {
            return Err(ContainerError::Invalid(format!("cannot copy a directory to the file {dest}")));
        }
        let t = dest.trim_end_matches('/');
        let parent = match t.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((p, _)) => p.to_string(),
        };
        (parent, base_name(dest).to_string())
    };
    piped(
        |w| {
            let mut b = tar::Builder::new(w);
            b.follow_symlinks(false);
            let r = if meta.is_dir() { b.append_dir_all(&name, s) } else { b.append_path_with_name(s, &name) };
            r.and_then(|()| b.finish()).map_err(io_ctx(src))
        },
        |r| root.extract(&target, r, owner, false),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn base_names() {
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("/a/b/."), ".");
        assert_eq!(base_name("/"), ".");
        assert_eq!(base_name("x"), "x");
    }
}
