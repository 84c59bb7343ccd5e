//! The monitor binary: only the hidden entry points of bocker (`__shim`,
//! `__exec`, `__proxy`, …), without Lua, the registry client or the REPL,
//! so that the process that stays behind for each container is small.
//! bocker starts it from beside itself (`runtime::sealed_exe`).
use std::process::ExitCode;

fn main() -> ExitCode {
    bocker::trace::mark("process start");
    let args: Vec<String> = std::env::args().collect();
    ExitCode::from(bocker::monitor::monitor_binary_entry(&args))
}
