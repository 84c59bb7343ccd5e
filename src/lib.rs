//! bocker: a container engine whose verbs are written in Lua.
//!
//! The Rust core (this crate) provides container primitives; `lua` exposes
//! them to Lua as the `bocker` table; the verbs live in `lua/verbs/*.lua`.
pub mod build;

/// This build's id (a hash of the sources, made by build.rs): bocker and
/// the bocker-monitor beside it must carry the same.
pub const BUILD_ID: &str = env!("BOCKER_BUILD_ID");
/// The environment variable that carries bocker's build id to the monitor.
pub const BUILD_ID_ENV: &str = "BOCKER_BUILD_ID";
/// The name of the small binary beside bocker that runs the monitor and
/// the other hidden entry points (`src/bin/bocker-monitor.rs`).
pub const MONITOR_BINARY: &str = "bocker-monitor";
pub mod cgroup;
pub mod container;
pub mod crashpoint;
pub mod frontdoor;
pub mod gotmpl;
pub mod fsutil;
pub mod image;
pub mod local_images;
pub mod logs;
pub mod networks;
pub mod monitor;
pub mod mux;
pub mod lua;
pub mod net;
pub mod oci;
pub mod reference;
pub mod repl;
pub mod rfc3339;
pub mod runc;
pub mod runtime;
pub mod state;
pub mod storage;
pub mod sys;
pub mod trace;
pub mod volumes;
