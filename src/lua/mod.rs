//! The Rust <-> Lua boundary. One core table `bocker` (also
//! `require "bocker"`), registered in pieces: one `register` per area.
//! Data crosses as tables; specs coming from Lua are checked for unknown
//! keys; expected failures return `nil, err`, misuse raises.
pub mod api_server;
pub mod archive;
pub mod attach;
pub mod build;
pub mod build_context;
pub mod build_steps;
pub mod container;
pub mod container_ops;
pub mod container_update;
pub mod container_logs;
pub mod convert;
pub mod events;
pub mod handle;
pub mod image;
pub mod network;
pub mod self_proc;
pub mod sys;
pub mod template;
pub mod verbs;
pub mod volume;
pub mod yaml;

#[cfg(test)]
mod tests;

use mlua::{Lua, Table};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_lua.rs"));
}

/// Built-in verbs compiled into the binary: (name, bytecode).
pub fn builtin_verbs() -> &'static [(&'static str, &'static [u8])] {
    embedded::VERBS
}

/// A chunk of an embedded file: bytecode that build.rs compiled with this
/// binary's own Lua (its chunk name, `@lua/...`, is inside it).
pub fn embedded_chunk<'a>(lua: &'a Lua, bytecode: &'static [u8]) -> mlua::chunk::Chunk<'a> {
    lua.load(bytecode).set_mode(mlua::chunk::ChunkMode::Binary)
}

/// Names of the built-in API route files (lua/api/NAME.lua).
pub fn builtin_api_areas() -> Vec<&'static str> {
    embedded::API.iter().map(|(n, _)| *n).collect()
}

/// The summary of a built-in verb, read from its source at build time
/// (None if it is not a plain `summary = "..."` line: load the verb).
pub fn builtin_summary(name: &str) -> Option<&'static str> {
    embedded::VERB_SUMMARIES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Creates a Lua state with the `bocker` core table registered.
pub fn new() -> mlua::Result<Lua> {
    // The debug library is wanted (tracebacks, the REPL), so the state is
    // made with it explicitly; scripts are the user's own code anyway.
    // SAFETY: no C modules are loaded from Lua; `debug` is the only addition.
    let lua = unsafe { Lua::unsafe_new_with(mlua::StdLib::ALL_SAFE | mlua::StdLib::DEBUG, mlua::LuaOptions::new()) };
    let bocker = lua.create_table()?;
    bocker.set("version", env!("CARGO_PKG_VERSION"))?;
    sys::register(&lua, &bocker)?;
    verbs::register(&lua, &bocker)?;
    image::register(&lua, &bocker)?;
    container::register(&lua, &bocker)?;
    container_ops::register(&lua, &bocker)?;
    container_update::register(&lua, &bocker.get::<Table>("container")?)?;
    container_logs::register(&lua, &bocker.get("container")?)?;
    attach::register(&lua, &bocker.get("container")?)?;
    volume::register(&lua, &bocker)?;
    events::register(&lua, &bocker)?;
    network::register(&lua, &bocker)?;
    yaml::register(&lua, &bocker)?;
    template::register(&lua, &bocker)?;
    api_server::register(&lua, &bocker)?;
    handle::register(&lua, &bocker)?;
    lua.set_named_registry_value("bocker", bocker.clone())?;
    build::register(&lua, &bocker)?;
    archive::register(&lua, &bocker)?;
    build_steps::register(&lua, &bocker)?;
    build_context::register(&lua, &bocker)?;
    self_proc::register(&lua, &bocker)?;
    lua.globals().set("bocker", bocker.clone())?;
    let package: Table = lua.globals().get("package")?;
    let loaded: Table = package.get("loaded")?;
    loaded.set("bocker", bocker)?;
    // Shared helpers (`require "bocker.flags"` etc.) and the Docker API's
    // route files (`require "bocker.api.containers"`), served from the
    // binary and loaded on first require (most verbs need two or three).
    let preload: Table = package.get("preload")?;
    for (prefix, files) in [("bocker.", embedded::LIBS), ("bocker.api.", embedded::API)] {
        for (name, bytecode) in files {
            let loader = lua.create_function(move |lua, args: mlua::MultiValue| {
                embedded_chunk(lua, bytecode).call::<mlua::MultiValue>(args)
            })?;
            preload.set(format!("{prefix}{name}"), loader)?;
        }
    }
    // `bocker.build.from(...)` is `require("bocker.build").from(...)`
    lua.load(
        r#"setmetatable(bocker.build, { __index = function(_, k) return require("bocker.build")[k] end })"#,
    )
    .set_name("=bocker.build")
    .exec()?;
    Ok(lua)
}

/// Userdata whose Drop does more than free memory (removes a folder,
/// ends a child) holds a `MustClose`. While one is alive, `finish` closes
/// the Lua state, which runs every finalizer; otherwise it leaves the state
/// to the process's exit, which frees it at once (closing it freed each
/// object one by one: 0.16 ms of a `bocker run`, docs/BENCHMARKS.md).
pub(crate) struct MustClose(());

static MUST_CLOSE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl MustClose {
    pub(crate) fn new() -> MustClose {
        MUST_CLOSE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        MustClose(())
    }
}

impl Drop for MustClose {
    fn drop(&mut self) {
        MUST_CLOSE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Ends a front door's Lua state just before the process exits: closed if
/// a finalizer must run (`MustClose`), else left to the exit. C stdio (Lua's
/// `io`) is flushed by the exit either way, Rust's stdout by `main`'s return.
pub fn finish(lua: Lua) {
    if MUST_CLOSE.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        std::mem::forget(lua);
    }
}

/// The innermost, human-readable message of an mlua error.
pub fn error_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        mlua::Error::WithContext { context, cause } => {
            format!("{context}: {}", error_message(cause))
        }
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::ExternalError(ext) => format!("{ext:#}"),
        other => other.to_string(),
    }
}

/// Converts a core error into a Lua error that keeps its context chain.
pub fn ext<E: std::fmt::Display>(e: E) -> mlua::Error {
    mlua::Error::RuntimeError(e.to_string())
}
