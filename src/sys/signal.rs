//! Signal dispositions: ignore and restore, default, and the forwarding
//! handler of the monitor and exec helper.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// A signal's disposition before [`ignore`] changed it.
#[must_use = "restore() puts the old disposition back"]
pub struct Saved {
    sig: libc::c_int,
    old: libc::sighandler_t,
}

/// Ignores `sig` (SIG_IGN); the old disposition comes back with
/// [`Saved::restore`].
pub fn ignore(sig: libc::c_int) -> Saved {
    // SAFETY: SIG_IGN installs no code of ours.
    let old = unsafe { libc::signal(sig, libc::SIG_IGN) };
    Saved { sig, old }
}

impl Saved {
    /// Puts the disposition [`ignore`] replaced back.
    pub fn restore(self) {
        // SAFETY: `old` is what signal() returned for this signal: a
        // disposition that was installed before, so still valid.
        unsafe { libc::signal(self.sig, self.old) };
    }
}

/// Sets `sig` to its default action (SIG_DFL).
pub fn set_default(sig: libc::c_int) {
    // SAFETY: SIG_DFL installs no code of ours.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// The process forwarded signals go to (0: none yet).
static TARGET: AtomicI32 = AtomicI32::new(0);
/// Set when SIGWINCH arrived: the terminal relay copies the window size.
pub static WINCH: AtomicBool = AtomicBool::new(false);

extern "C" fn forward(sig: libc::c_int) {
    if sig == libc::SIGWINCH {
        WINCH.store(true, Ordering::SeqCst);
        return;
    }
    FORWARDED.store(true, Ordering::SeqCst);
    let pid = TARGET.load(Ordering::SeqCst);
    if pid > 0 {
        let _ = super::process::kill(pid, sig);
    }
}

/// Set once [`forward_to`]'s handler passed on a signal (SIGWINCH aside).
static FORWARDED: AtomicBool = AtomicBool::new(false);

/// Whether a signal was forwarded (a foreground monitor: the user's
/// Ctrl-C or kill, which its restart policy does not undo).
pub fn forwarded_any() -> bool {
    FORWARDED.load(Ordering::SeqCst)
}

/// Forwards `signals` to `pid` from now on (SIGWINCH only sets [`WINCH`]).
pub fn forward_to(pid: i32, signals: &[libc::c_int]) {
    TARGET.store(pid, Ordering::SeqCst);
    for &sig in signals {
        // SAFETY: sigaction is plain old data (all-zero is valid); the
        // handler only does async-signal-safe work (atomics and kill).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The last of the [`trap`]ped signals that arrived (0: none).
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn note(sig: libc::c_int) {
    CAUGHT.store(sig, Ordering::SeqCst);
}

/// From now on each of `signals` only records its arrival ([`caught`])
/// instead of its default action: a loop that polls can then undo what
/// it started before it exits.
pub fn trap(signals: &[libc::c_int]) {
    for &sig in signals {
        // SAFETY: sigaction is plain old data (all-zero is valid); the
        // handler only stores to an atomic (async-signal-safe).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = note as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The last trapped signal that arrived, if any.
pub fn caught() -> Option<libc::c_int> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}
