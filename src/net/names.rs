//! The names of containers on user networks, as the DNS responder reads
//! them: one JSON file per container under `/run/bocker/dns/records/`
//! (host-wide, like the leases: bridges are host-wide, whatever the state
//! root). Written whole and renamed into place (`publish`) when a
//! container's network is set up or changed (connect/disconnect), removed
//! (`withdraw`) when it is released. The responder watches the directory;
//! a file is the only thing it trusts, and only root writes there.
//!
//! This is the contract between network setup (who publishes) and
//! `net::dns` (who answers).
use super::error::{NetError, Result};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Where the name records live on this host.
pub fn records_dir() -> PathBuf {
    Path::new("/run/bocker/dns/records").to_path_buf()
}

/// One container's presence on one user network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedAttachment {
    /// the network's name (as `network ls` shows it)
    pub network: String,
    /// the Linux bridge of that network
    pub bridge: String,
    /// the bridge's own address: where the responder answers this network
    pub gateway: Ipv4Addr,
    /// the container's address on that network
    pub ip: Ipv4Addr,
    /// names that resolve to `ip` for the other containers of the network:
    /// the container's name, its short id, its aliases (service name, ...)
    pub names: Vec<String>,
}

/// Everything the responder knows about one container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRecord {
    /// the container's id
    pub container: String,
    /// the state root the container belongs to
    pub root: PathBuf,
    /// its user networks (a container on none of them has no record)
    pub attachments: Vec<NamedAttachment>,
    /// `--dns`: where the responder forwards this container's other
    /// queries (empty: the host's resolv.conf nameservers)
    #[serde(default)]
    pub upstreams: Vec<Ipv4Addr>,
}

/// File name of a container's record: the root is hashed in, as two
/// state roots may hold one id.
fn file_name(root: &Path, container: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    root.hash(&mut h);
    format!("{container}.{:016x}.json", h.finish())
}

/// Writes (or replaces) a container's record atomically.
pub fn publish(rec: &NameRecord) -> Result<()> {
    let dir = records_dir();
    std::fs::create_dir_all(&dir).map_err(|source| NetError::Io { context: dir.display().to_string(), source })?;
    let path = dir.join(file_name(&rec.root, &rec.container));
    let data = serde_json::to_vec(rec).map_err(|e| NetError::Io { context: path.display().to_string(), source: std::io::Error::other(e) })?;
    crate::fsutil::write_atomic(&path, &data, 0o600).map_err(|source| NetError::Io { context: path.display().to_string(), source })
}

/// Removes a container's record; nothing to do when there is none.
pub fn withdraw(root: &Path, container: &str) -> Result<()> {
    let path = records_dir().join(file_name(root, container));
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NetError::Io { context: path.display().to_string(), source }),
    }
}

/// Every record on this host (files being written or of another format
/// are skipped).
pub fn read_all() -> Vec<NameRecord> {
    read_all_in(&records_dir())
}

pub fn read_all_in(dir: &Path) -> Vec<NameRecord> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    rd.flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".json")))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect()
}
