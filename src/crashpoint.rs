//! Test-only crash points: `hit("create.named")` kills the calling process
//! with SIGKILL (a real kill -9: no destructor, no cleanup, no flush) when
//! the environment variable `BOCKER_CRASH_AT` names that point. The crash
//! tests (tests/crash.rs) use it to stop a command at each state
//! transition and check that the next command accepts and repairs what it
//! left.
//!
//! Compiled in always, not behind a cfg: the tests drive the real binary
//! that `cargo build` makes (a cfg would need a second build of it, and
//! the code under test would differ from what ships), and a point costs
//! one getenv. Nothing in the variable's absence changes behaviour.

/// The environment variable naming the point to die at.
pub const ENV: &str = "BOCKER_CRASH_AT";

/// Dies by SIGKILL if `BOCKER_CRASH_AT` is `point`.
pub fn hit(point: &str) {
    let Some(wanted) = std::env::var_os(ENV) else { return };
    if wanted.as_encoded_bytes() != point.as_bytes() {
        return;
    }
    // SIGKILL cannot be caught: this never returns
    let _ = crate::sys::process::kill(std::process::id() as libc::pid_t, libc::SIGKILL);
    // SIGKILL to ourselves is delivered before kill() returns; should the
    // kernel ever not, end without running any cleanup all the same.
    std::process::abort();
}
