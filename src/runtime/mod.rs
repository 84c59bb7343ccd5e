//! Running containers from an OCI spec: the container's init (`init`,
//! `rootfs`, `mounts`, `caps`, `user`), `spawn`, `oci` (bocker-runc's
//! create/exec) and `exec` into a running container. The store-aware side
//! (`bocker run`'s launch and the monitor) is `crate::monitor`, above.
pub mod caps;
pub mod confine;
pub mod devices;
pub mod exec;
pub mod hooks;
pub mod init;
pub mod inroot;
pub mod message;
pub mod mounts;
pub mod mount_opts;
pub mod network;
pub mod oci;
pub mod oci_state;
pub mod plan;
pub mod process;
pub mod reaper;
pub mod rootfs;
pub mod sealed_exe;
pub mod seccomp;
pub mod spawn;
pub mod term;
pub mod user;
pub mod usernet;

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
/// Lua or tokio before the container's process exists (`__shim` is
/// `monitor::hidden_entry`'s).
pub fn hidden_entry(args: &[String]) -> Option<u8> {
    match args.get(1).map(String::as_str) {
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
