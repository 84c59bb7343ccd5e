//! The interactive Lua REPL (rustyline), in the manner of lua.c.
pub fn run() -> u8 {
    0
}
