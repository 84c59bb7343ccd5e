//! bocker's containers as OCI runtime bundles: the one place that turns a
//! container record (the Lua create spec + the image config, checked at
//! create) and bocker's defaults (moby's: capabilities, masked and
//! read-only paths, devices, seccomp) into an OCI runtime-spec
//! configuration (`spec`), and writes bundles any OCI runtime runs
//! (`bundle`).
pub mod bundle;
pub mod spec;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("{0}")]
    Spec(String),
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}
