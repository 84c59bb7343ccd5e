//! The runtime's OCI entry points (used by `bocker-runc`, src/runc):
//! create a container from a bundle's configuration and leave its init
//! waiting on the exec fifo, exec a process into a running container.
//! Everything a configuration asks for is done or refused here.
use super::RuntimeError;
use oci_spec::runtime::{Process, Spec};
use std::path::Path;

pub struct CreateRequest<'a> {
    pub id: &'a str,
    /// absolute path of the bundle (root.path is relative to it)
    pub bundle: &'a Path,
    pub spec: &'a Spec,
    /// runc's --console-socket: with process.terminal the pty master is
    /// sent there (SCM_RIGHTS)
    pub console_socket: Option<&'a Path>,
    /// runc's --preserve-fds: fds 3..3+N are passed on to the process
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// the fifo the init opens for writing when set up, blocking until
    /// `start` opens it for reading; None: exec at once (`run`)
    pub exec_fifo: Option<&'a Path>,
}

pub struct Created {
    /// the container's init (a child of the calling process)
    pub pid: i32,
    /// its start time in /proc/PID/stat (to tell a reused pid)
    pub pid_start: u64,
    /// the cgroup made for it, relative to the hierarchy's root
    pub cgroup_path: String,
}

/// Sets up the container (namespaces, cgroup, root, hooks up to
/// createContainer) and returns once its init waits on the exec fifo
/// (or has exec'd, without a fifo). On error nothing is left behind.
pub fn create(_req: &CreateRequest) -> Result<Created, RuntimeError> {
    Err(RuntimeError::Setup("create: not yet implemented".into()))
}

pub struct ExecRequest<'a> {
    /// the container's init
    pub pid: i32,
    /// the container's configuration (namespaces, seccomp, …)
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub cgroup_path: &'a str,
    pub console_socket: Option<&'a Path>,
    pub preserve_fds: u32,
}

/// Starts `process` in the container; returns its pid (a child of the
/// calling process, which waits for it or not).
pub fn exec(_req: &ExecRequest) -> Result<i32, RuntimeError> {
    Err(RuntimeError::Setup("exec: not yet implemented".into()))
}
