//! Images: references, the registry client, safe layer extraction and pull.
//!
//! Everything here is a plain blocking library; the Lua verbs sit on top.

pub mod archive;
pub mod auth;
pub mod config;
pub mod export;
pub mod extract;
pub mod history;
pub mod layer_tar;
pub mod login;
pub mod manifest;
pub mod paths;
pub mod platform;
pub mod pull;
pub mod push;
pub mod registry;

/// References and digests live below the store (`crate::reference`);
/// they keep their paths here.
pub use crate::reference::{self, digest};

pub use digest::Digest;
pub use platform::Platform;

pub use pull::{pull, Progress, PullError, PullOptions, PulledImage};
pub use reference::Reference;
