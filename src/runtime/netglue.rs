//! Where the runtime meets networking. Until a network is configured a
//! container gets its own namespace with loopback only.
use super::RuntimeError;
use crate::state::containers::ContainerRecord;
use crate::state::Store;

/// Extra /etc files (name, content) the network provides.
pub fn etc_files(_store: &Store, _c: &ContainerRecord) -> Result<Vec<(String, String)>, RuntimeError> {
    Ok(Vec::new())
}

/// Called by the shim with the paused child's pid.
pub fn setup(_store: &Store, _c: &ContainerRecord, _pid: i32) -> Result<Option<serde_json::Value>, RuntimeError> {
    Ok(None)
}

/// Releases what `setup` took; idempotent.
pub fn teardown(_store: &Store, _c: &ContainerRecord, _net: Option<&serde_json::Value>) {}

pub fn hidden_entry(_args: &[String]) -> Option<u8> {
    None
}
