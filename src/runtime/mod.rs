//! Running containers: the CLI side (`launch`), the shim that monitors a
//! container (`shim`), the container's init (`init`, `rootfs`, `mounts`,
//! `caps`, `user`) and `exec` into a running container.
pub mod caps;
pub mod confine;
pub mod devices;
pub mod exec;
pub mod hooks;
pub mod init;
pub mod inroot;
pub mod launch;
pub mod message;
pub mod mounts;
pub mod mount_opts;
pub mod network;
pub mod oci;
pub mod plan;
pub mod process;
pub mod rootfs;
pub mod sealed_exe;
pub mod seccomp;
pub mod shim;
pub mod slim;
pub mod spawn;
pub mod term;
pub mod user;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
    #[error("{0}")]
    NotRunning(String),
}

/// Hidden subcommands run by re-executing the binary; they never start
/// Lua or tokio before the container's process exists.
pub fn hidden_entry(args: &[String]) -> Option<u8> {
    match args.get(1).map(String::as_str) {
        Some("__shim") => Some(shim::main(args)),
        Some("__exec") => Some(exec::main(args)),
        Some(other) if other.starts_with("__") => network::hidden_entry(args),
        _ => None,
    }
}

/// The running bocker binary, to re-execute (the monitor's helpers run
/// from the same sealed executable as the monitor itself).
pub fn self_exe() -> std::path::PathBuf {
    "/proc/self/exe".into()
}
