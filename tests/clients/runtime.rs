//! The runtime under test: runc today, bocker-runc (the bocker binary called
//! through a symlink of that name) once it lands. Clients get a wrapper
//! script that logs each argv before exec'ing the runtime, so a failure
//! shows exactly what conmon or the shim asked for.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// Debian's runc, the reference
    Runc,
    /// bocker's runc-compatible command line
    BockerRunc,
}

impl Runtime {
    /// The file name clients see (podman and the shim look at nothing else).
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::BockerRunc => "bocker-runc",
        }
    }

    /// The binary to exec, made in `dir` when it is bocker's symlink.
    fn binary(self, dir: &Path) -> PathBuf {
        match self {
            Runtime::Runc => PathBuf::from("/usr/sbin/runc"),
            Runtime::BockerRunc => {
                let bin = dir.join("bin");
                std::fs::create_dir_all(&bin).expect("runtime bin dir");
                let link = bin.join("bocker-runc");
                std::os::unix::fs::symlink(crate::common::bin(), &link).expect("bocker-runc symlink");
                link
            }
        }
    }
}

/// The wrapper clients are given as their runtime, and its argv log.
pub struct RuntimeBinary {
    pub runtime: Runtime,
    /// what clients are told to run (`--runtime`, `--runc-binary`)
    pub path: PathBuf,
    /// one line per call: the caller's command name, then the arguments
    pub log: PathBuf,
}

impl RuntimeBinary {
    /// Writes `dir/wrap/NAME`, a shell script that appends its argv to
    /// `dir/runtime-argv.log` (one write per call) and execs the runtime.
    pub fn install(runtime: Runtime, dir: &Path) -> RuntimeBinary {
        let target = runtime.binary(dir);
        let wrap = dir.join("wrap");
        std::fs::create_dir_all(&wrap).expect("wrapper dir");
        let path = wrap.join(runtime.name());
        let log = dir.join("runtime-argv.log");
        let script = format!(
            "#!/bin/sh\n\
             # logs the argv a client passes, then runs the runtime under test\n\
             line=\"$(cat /proc/$PPID/comm 2>/dev/null):\"\n\
             for a in \"$@\"; do line=\"$line $a\"; done\n\
             printf '%s\\n' \"$line\" >> '{}'\n\
             exec '{}' \"$@\"\n",
            log.display(),
            target.display()
        );
        std::fs::write(&path, script).expect("write runtime wrapper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod runtime wrapper");
        RuntimeBinary { runtime, path, log }
    }

    /// The calls logged so far (for failure messages).
    pub fn calls(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
