//! The state of a container as the OCI runtime spec defines it
//! (runtime.md "State"): what `bocker-runc state` prints and what hooks
//! read on their stdin.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;

/// runtime.md's statuses.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OciStatus {
    Creating,
    Created,
    Running,
    Stopped,
    /// not in the spec's list, but runc reports it for a frozen container
    Paused,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    pub oci_version: String,
    pub id: String,
    pub status: OciStatus,
    /// the container's init, while it exists (created, running, paused)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: PathBuf,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}
