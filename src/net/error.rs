//! Error type of the network module: every variant carries enough context to
//! tell the user what was being done when it failed.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors of `bocker::net`.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A configuration value (env var, CIDR, bridge name) is invalid.
    #[error("invalid network config: {0}")]
    Config(String),

    /// A `-p` port specification could not be parsed.
    #[error("invalid port spec {spec:?}: {reason}")]
    PortSpec { spec: String, reason: String },

    /// A host port is already taken by another process.
    #[error("host port {addr} ({proto}) is already in use: {source}")]
    PortInUse {
        addr: SocketAddr,
        proto: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// Filesystem / OS call failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A netlink request failed.
    #[error("netlink: {context}: {source}")]
    Netlink {
        context: String,
        #[source]
        source: rtnetlink::Error,
    },

    /// An `iptables` invocation failed.
    #[error("iptables {args}: {stderr}")]
    Iptables { args: String, stderr: String },

    /// Every address of the subnet is leased to a live container.
    #[error("no free address left in {subnet} (bridge {bridge})")]
    PoolExhausted { subnet: String, bridge: String },

    /// Lease file holds something unexpected.
    #[error("lease file {path}: {reason}")]
    Lease { path: PathBuf, reason: String },

    /// The DNS responder of user networks could not be started or asked.
    #[error("dns responder: {0}")]
    Dns(String),

    /// Several cleanup steps failed (teardown keeps going and reports all).
    /// The bridge went away (`network rm`/`prune` of another process)
    /// while this one was setting it up.
    #[error("bridge {0} was removed while a container was being connected to it")]
    BridgeGone(String),

    #[error("teardown incomplete: {}", .0.join("; "))]
    Teardown(Vec<String>),
}

impl NetError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io { context: context.into(), source }
    }
    pub(crate) fn nl(context: impl Into<String>, source: rtnetlink::Error) -> Self {
        NetError::Netlink { context: context.into(), source }
    }
}

/// Result alias of this module.
pub type Result<T, E = NetError> = std::result::Result<T, E>;
