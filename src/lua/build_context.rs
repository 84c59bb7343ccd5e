//! `bocker.build.context_from_tar(tar, dockerfile)`: a build context sent
//! as a tar (the API's `POST /build`) unpacked into a fresh folder of the
//! store's tmp dir by the layer extractor (entries never land outside it),
//! and its Dockerfile read inside that folder (a symlink in the context is
//! resolved in it, never on the host) and copied beside it. The handle
//! removes both when closed or collected.
use super::convert::{result, store};
use mlua::{Lua, Table, UserData, UserDataMethods};
use std::path::PathBuf;

/// The largest Dockerfile read (Docker's clients send small ones).
const MAX_DOCKERFILE: usize = 1 << 20;

/// The most a context may hold unpacked: a compressed body of 64 MiB
/// could otherwise fill the disk (a decompression bomb).
const MAX_UNPACKED: u64 = 1 << 30;

pub struct BuildContext {
    /// `<root>/tmp/<name>/context` (the unpacked tar) and `<root>/tmp/<name>/Dockerfile`
    base: Option<PathBuf>,
    _close: super::MustClose,
}

impl BuildContext {
    fn dir(&self) -> Option<PathBuf> {
        self.base.as_ref().map(|b| b.join("context"))
    }
    fn dockerfile(&self) -> Option<PathBuf> {
        self.base.as_ref().map(|b| b.join("Dockerfile"))
    }
    fn remove(&mut self) {
        if let Some(b) = self.base.take() {
            let _ = std::fs::remove_dir_all(&b);
        }
    }
}

impl Drop for BuildContext {
    fn drop(&mut self) {
        self.remove();
    }
}

impl UserData for BuildContext {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("dir", |_, this, ()| Ok(this.dir().map(|p| p.display().to_string())));
        m.add_method("dockerfile", |_, this, ()| Ok(this.dockerfile().map(|p| p.display().to_string())));
        m.add_method_mut("close", |_, this, ()| {
            this.remove();
            Ok(())
        });
    }
}

/// A Dockerfile name as the client gave it: relative, inside the context.
fn check_name(name: &str) -> Result<&str, String> {
    if name.is_empty() || name.starts_with('/') || name.split('/').any(|c| c == "..") || name.contains('\0') {
        return Err(format!("dockerfile {name:?}: a path inside the build context is expected"));
    }
    Ok(name)
}

fn unpack(root: &std::path::Path, tar: &[u8], dockerfile: &str) -> Result<BuildContext, String> {
    unpack_at_most(root, tar, dockerfile, MAX_UNPACKED)
}

fn unpack_at_most(root: &std::path::Path, tar: &[u8], dockerfile: &str, max: u64) -> Result<BuildContext, String> {
    let name = check_name(dockerfile)?;
    let tmp = root.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let base = tmp.join(crate::fsutil::unique_name("build-context-"));
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    let ctx = BuildContext { base: Some(base.clone()), _close: super::MustClose::new() };
    let dir = base.join("context");
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (_, plain) = crate::image::extract::decompress(std::io::Cursor::new(tar)).map_err(|e| format!("the build context: {e}"))?;
    use std::io::Read;
    let mut bounded = plain.take(max);
    let extracted = crate::image::extract::extract_tar(&mut bounded, &dir);
    if bounded.limit() == 0 {
        return Err(format!("the build context is larger than {max} bytes unpacked"));
    }
    extracted.map_err(|e| format!("the build context: {e}"))?;
    let text = crate::storage::inroot::read_in_root(&dir, name).map_err(|e| format!("Cannot locate specified Dockerfile: {name} ({e})"))?;
    if text.len() > MAX_DOCKERFILE {
        return Err(format!("{name}: larger than {MAX_DOCKERFILE} bytes"));
    }
    std::fs::write(base.join("Dockerfile"), &text).map_err(|e| format!("{}: {e}", base.display()))?;
    Ok(ctx)
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    let b: Table = bocker.get("build")?;
    b.set(
        "context_from_tar",
        lua.create_function(|lua, (tar, dockerfile): (mlua::LuaString, Option<String>)| {
            let s = store(lua)?;
            let r = unpack(s.root(), &tar.as_bytes(), dockerfile.as_deref().unwrap_or("Dockerfile"));
            match r {
                Ok(ctx) => Ok(mlua::MultiValue::from_iter([mlua::Value::UserData(lua.create_userdata(ctx)?)])),
                Err(e) => result::<bool, _>(lua, Err(e)),
            }
        })?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])], links: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, p, *data).unwrap();
        }
        for (p, target) in links {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o777);
            b.append_link(&mut h, p, target).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn the_dockerfile_stays_inside_the_context() {
        let t = tempfile::tempdir().unwrap();
        let secret = t.path().join("secret");
        std::fs::write(&secret, "outside").unwrap();
        let tar = tar_of(&[("Dockerfile", b"FROM scratch\n"), ("sub/D2", b"FROM x\n")], &[("abs", secret.to_str().unwrap()), ("rel", "../../../../secret")]);
        let mut c = unpack(t.path(), &tar, "Dockerfile").unwrap();
        assert_eq!(std::fs::read_to_string(c.dockerfile().unwrap()).unwrap(), "FROM scratch\n");
        let dir = c.dir().unwrap();
        assert!(dir.join("sub/D2").exists());
        c.remove();
        assert!(!dir.exists(), "removed on close");
        assert_eq!(unpack(t.path(), &tar, "sub/D2").map(|c| std::fs::read_to_string(c.dockerfile().unwrap()).unwrap()).unwrap(), "FROM x\n");
        for bad in ["abs", "rel", "../secret", "/etc/passwd", "missing"] {
            assert!(unpack(t.path(), &tar, bad).is_err(), "{bad} was followed");
        }
        // a context larger than allowed once unpacked (a gzip bomb) is refused
        let big = tar_of(&[("Dockerfile", b"FROM scratch\n"), ("zeros", &vec![0u8; 64 << 10])], &[]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &big).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len() < 8 << 10);
        let err = unpack_at_most(t.path(), &gz, "Dockerfile", 32 << 10).err().expect("refused");
        assert!(err.contains("larger than"), "{err}");
        assert!(unpack_at_most(t.path(), &gz, "Dockerfile", 1 << 20).is_ok());
        // nothing left in tmp by the failures
        let left: Vec<_> = std::fs::read_dir(t.path().join("tmp")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
