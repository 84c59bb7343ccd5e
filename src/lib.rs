//! bocker: a container engine whose verbs are written in Lua.
pub mod net;
