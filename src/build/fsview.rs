//! A read-only view of a filesystem tree made of directories: the build
//! context (one dir), or an image (its layer dirs, top first, read as
//! overlayfs would: a char 0/0 device hides what is below, a dir with
//! `trusted.overlay.opaque=y` hides the dirs below). Symlinks are resolved
//! inside the view's root, never the host's: the image (or context)
//! controls them. No mount is made, so nothing can stay mounted.
use std::ffi::OsString;
use std::fs::Metadata;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

/// Symlinks followed in one lookup (Linux's limit).
const MAX_SYMLINKS: u32 = 40;

pub(super) struct FsView {
    /// Top first.
    roots: Vec<PathBuf>,
    overlay: bool,
}

/// An entry of the view: its path from the root, the host path that
/// holds it and (for a dir) every layer dir that contributes to it.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub rel: PathBuf,
    pub host: PathBuf,
    pub meta: Metadata,
    dirs: Vec<PathBuf>,
}

fn is_whiteout(m: &Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

fn is_opaque(dir: &Path) -> bool {
    crate::fsutil::lgetxattr(dir.as_os_str().as_encoded_bytes(), b"trusted.overlay.opaque")
        .ok()
        .flatten()
        .is_some_and(|v| v == b"y")
}

fn lstat(p: &Path) -> io::Result<Option<Metadata>> {
    match std::fs::symlink_metadata(p) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

impl FsView {
    /// A plain directory (the build context): no whiteouts.
    pub fn dir(root: PathBuf) -> FsView {
        FsView { roots: vec![root], overlay: false }
    }

    /// Overlay lower dirs, top first.
    pub fn layers(top_first: Vec<PathBuf>) -> FsView {
        FsView { roots: top_first, overlay: true }
    }

    /// The root dir.
    pub fn root(&self) -> io::Result<Node> {
        let dirs: Vec<PathBuf> = self.roots.iter().filter(|r| r.is_dir()).cloned().collect();
        let host = dirs.first().cloned().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let meta = std::fs::symlink_metadata(&host)?;
        Ok(Node { rel: PathBuf::new(), host, meta, dirs })
    }

    /// The entry `name` of the dir `dir`, not followed.
    fn child(&self, dir: &Node, name: &std::ffi::OsStr) -> io::Result<Option<Node>> {
        for (i, d) in dir.dirs.iter().enumerate() {
            let p = d.join(name);
            let Some(m) = lstat(&p)? else { continue };
            if self.overlay && is_whiteout(&m) {
                return Ok(None);
            }
            let mut dirs = Vec::new();
            if m.is_dir() {
                dirs.push(p.clone());
                if self.overlay && !is_opaque(&p) {
                    for lower in &dir.dirs[i + 1..] {
                        let q = lower.join(name);
                        match lstat(&q)? {
                            Some(lm) if lm.is_dir() => {
                                let opaque = is_opaque(&q);
                                dirs.push(q);
                                if opaque {
                                    break;
                                }
                            }
                            Some(_) => break,
                            None => {}
                        }
                    }
                }
            }
            return Ok(Some(Node { rel: dir.rel.join(name), host: p, meta: m, dirs }));
        }
        Ok(None)
    }

    /// The entries of a dir, sorted by name (whiteouts and what they hide
    /// left out).
    pub fn list(&self, dir: &Node) -> io::Result<Vec<Node>> {
        let mut names: Vec<OsString> = Vec::new();
        for d in &dir.dirs {
            for e in std::fs::read_dir(d)? {
                names.push(e?.file_name());
            }
        }
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for n in names {
            if let Some(c) = self.child(dir, &n)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Looks `path` up (absolute or relative to the root; `..` never goes
    /// above the root), resolving symlinks inside the root; the last
    /// component's symlink only if `follow_last`. None if it is missing.
    pub fn lookup(&self, path: &Path, follow_last: bool) -> io::Result<Option<Node>> {
        Ok(match self.walk(path, follow_last)? {
            Walked::Found(n) => Some(n),
            Walked::Missing { .. } => None,
        })
    }

    /// The path `path` has once its existing part is resolved inside the
    /// root (symlinks followed, the last one too); the missing rest is
    /// appended as written. A destination: what COPY writes to.
    pub fn resolve_dest(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(match self.walk(path, true)? {
            Walked::Found(n) => n.rel,
            Walked::Missing { at, rest } => {
                let mut p = at;
                for c in rest {
                    if c == ".." {
                        p.pop();
                    } else {
                        p.push(c);
                    }
                }
                p
            }
        })
    }

    fn walk(&self, path: &Path, follow_last: bool) -> io::Result<Walked> {
        let mut todo: Vec<OsString> = Vec::new(); // reversed: next at the end
        push_components(&mut todo, path);
        let mut stack: Vec<Node> = vec![self.root()?];
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            if c == ".." {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            let cur = stack.last().expect("the root stays");
            if !cur.meta.is_dir() {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
            let Some(node) = self.child(cur, &c)? else {
                let mut rest = vec![c];
                rest.extend(todo.into_iter().rev());
                return Ok(Walked::Missing { at: cur.rel.clone(), rest });
            };
            if node.meta.file_type().is_symlink() && (!todo.is_empty() || follow_last) {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(&node.host)?;
                if target.is_absolute() {
                    stack.truncate(1);
                }
                push_components(&mut todo, &target);
                continue;
            }
            stack.push(node);
        }
        Ok(Walked::Found(stack.pop().expect("the root stays")))
    }
}

enum Walked {
    Found(Node),
    Missing { at: PathBuf, rest: Vec<OsString> },
}

/// Pushes `p`'s components onto `todo` (a reversed stack).
fn push_components(todo: &mut Vec<OsString>, p: &Path) {
    let comps: Vec<OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    todo.extend(comps.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), "inside\n").unwrap();
        symlink("/etc/passwd", root.join("abs")).unwrap();
        symlink("../../../../etc", root.join("up")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let v = FsView::dir(root.clone());
        let n = v.lookup(Path::new("abs"), true).unwrap().unwrap();
        assert_eq!(n.host, root.join("etc/passwd"));
        let n = v.lookup(Path::new("/up/passwd"), true).unwrap().unwrap();
        assert_eq!(n.host, root.join("etc/passwd"));
        let n = v.lookup(Path::new("abs"), false).unwrap().unwrap();
        assert!(n.meta.file_type().is_symlink());
        assert!(v.lookup(Path::new("loop"), true).is_err());
        assert!(v.lookup(Path::new("nope/x"), true).unwrap().is_none());
        assert_eq!(v.resolve_dest(Path::new("/up/new/x")).unwrap(), PathBuf::from("etc/new/x"));
    }

    #[test]
    fn layers_merge_with_whiteouts_and_opaque_dirs() {
        let t = tempfile::tempdir().unwrap();
        let (low, up) = (t.path().join("low"), t.path().join("up"));
        for d in ["a", "b", "c"] {
            std::fs::create_dir_all(low.join(d)).unwrap();
            std::fs::write(low.join(d).join("old"), "x").unwrap();
        }
        std::fs::create_dir_all(up.join("a")).unwrap();
        std::fs::write(up.join("a/new"), "y").unwrap();
        crate::sys::fs::mknod(&up.join("b"), libc::S_IFCHR | 0o600, 0).unwrap();
        std::fs::create_dir_all(up.join("c")).unwrap();
        let cp = crate::sys::fs::cstr(up.join("c").as_os_str().as_encoded_bytes()).unwrap();
        crate::sys::fs::lsetxattr(&cp, c"trusted.overlay.opaque", b"y").unwrap();
        let v = FsView::layers(vec![up, low]);
        let root = v.root().unwrap();
        let names: Vec<_> = v.list(&root).unwrap().into_iter().map(|n| n.rel).collect();
        assert_eq!(names, [PathBuf::from("a"), PathBuf::from("c")]);
        let a = v.lookup(Path::new("a"), true).unwrap().unwrap();
        let names: Vec<_> = v.list(&a).unwrap().into_iter().map(|n| n.rel).collect();
        assert_eq!(names, [PathBuf::from("a/new"), PathBuf::from("a/old")]);
        let c = v.lookup(Path::new("c"), true).unwrap().unwrap();
        assert!(v.list(&c).unwrap().is_empty(), "opaque hides the lower c");
        assert!(v.lookup(Path::new("b/old"), true).unwrap().is_none());
    }
}
