//! Seccomp: Docker's default profile and profiles in Docker's JSON format,
//! compiled to a BPF filter in the monitor and loaded last before exec.

/// Checks that `json` is a profile bocker can load (stub until the
/// compiler lands).
pub fn check_profile(json: &str) -> Result<(), String> {
    serde_json::from_str::<serde_json::Value>(json).map(|_| ()).map_err(|e| e.to_string())
}
