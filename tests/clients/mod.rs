//! Real OCI clients (podman with conmon, containerd with its runc v2 shim)
//! driving a runtime binary: each client gets its own state in the test's
//! folder, is started by the test and torn down by a guard.
pub mod containerd;
pub mod host;
pub mod image;
pub mod podman;
pub mod runtime;
