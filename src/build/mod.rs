//! The build engine: images made from images. `commit` (a container's
//! upper dir becomes a layer), `copy` (`add_layer`: COPY/ADD, files from a build
//! context or another image become a layer; with `pattern` (Go
//! wildcards), `ignore` (.dockerignore), `fsview` (a context or an
//! image's layers read with symlinks resolved inside them), `owner`
//! (--chown/--chmod), `entry` (one entry written into the layer),
//! `add_tar` (ADD of a local tar), `fetch` (ADD URL)), `import` (a
//! filesystem tar becomes a one-layer image), `changes` (`derive`: a config change, no new
//! layer; `scratch`), `context_hash` (the build cache's content key of
//! a COPY/ADD step). `layer` holds what they share: staging a new layer and
//! recording the child image; `step_dirs` the host folders a step mounts
//! (cache mounts) or copies from (inline files). The build steps in `lua/lib/build.lua`
//! (and the Dockerfile parser on top of it) are made of these.
//!
//! A container's upper dir is already in overlay-lower format (whiteouts
//! are char 0/0 devices, opaque dirs carry `trusted.overlay.opaque=y`), so
//! a commit is a copy of it (owners, modes, xattrs and devices kept) into
//! `tmp/`, renamed into `layers/<id>`. The tar form (with `.wh.` entries)
//! is only made when an image leaves the store (save, push).
mod add_tar;
mod changes;
mod commit;
mod context_hash;
mod copy;
mod entry;
mod fetch;
mod fsview;
mod ignore;
mod import;
mod layer;
mod owner;
mod pattern;
mod step_dirs;

pub use changes::{clean_abs, derive, scratch, ConfigChanges, DeriveSpec};
pub use commit::{commit, CommitSpec};
pub use context_hash::{copy_key, hash_sources};
pub use copy::{add_layer, AddLayerSpec};
pub use import::{import, ImportSpec};
pub use layer::Committed;
pub use step_dirs::{cache_mount_dir, inline_dir, remove_inline_dir};

use crate::state::StateError;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("freezing {id}: {source}")]
    Freeze { id: String, source: Box<crate::cgroup::CgroupError> },
}

pub type Result<T> = std::result::Result<T, BuildError>;

fn io_err(p: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io { path: p.display().to_string(), source }
}
