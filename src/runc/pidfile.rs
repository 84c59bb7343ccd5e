//! `--pid-file`: the pid without a newline, written atomically (temp
//! file, fsync, rename) as runc's createPidFile does. The folder is
//! opened before the container work starts and the file is written
//! through that descriptor: `runtime::oci::exec` joins the container's
//! mount namespace in the calling process, where the host path of the
//! pid file no longer resolves.
use anyhow::{Context, Result};
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::Mode;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub struct PidFile {
    dir: OwnedFd,
    name: OsString,
    shown: PathBuf,
}

impl PidFile {
    /// Opens the pid file's folder (a missing folder is an error now,
    /// before any container work).
    pub fn prepare(path: &Path) -> Result<PidFile> {
        let shown = std::path::absolute(path).context("pid file path")?;
        let name = shown.file_name().with_context(|| format!("pid file {}: no file name", shown.display()))?.to_os_string();
        let parent = shown.parent().unwrap_or(Path::new("/"));
        let dir = nix::fcntl::open(parent, OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .with_context(|| format!("pid file folder {}", parent.display()))?;
        Ok(PidFile { dir, name, shown })
    }

    pub fn write(&self, pid: i32) -> Result<()> {
        let ctx = || format!("write pid file {}", self.shown.display());
        let mut tmp = OsString::from(".");
        tmp.push(&self.name);
        tmp.push(format!(".tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let fd = openat(&self.dir, tmp.as_path(), OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC, Mode::from_bits_truncate(0o644))
            .with_context(ctx)?;
        let mut f = std::fs::File::from(fd);
        let res = (|| -> Result<()> {
            use std::io::Write;
            f.write_all(pid.to_string().as_bytes())?;
            f.sync_all()?;
            renameat(&self.dir, tmp.as_path(), &self.dir, Path::new(std::ffi::OsStr::from_bytes(self.name.as_bytes())))?;
            nix::unistd::fsync(&self.dir)?;
            Ok(())
        })();
        if res.is_err() {
            let _ = nix::unistd::unlinkat(&self.dir, tmp.as_path(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        res.with_context(ctx)
    }
}
