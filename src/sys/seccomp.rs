//! The seccomp(2) call that loads a filter.

use std::io;

/// Installs `prog` on the calling thread (SECCOMP_SET_MODE_FILTER with
/// `flags`). Allocates nothing. The caller caps `prog` at 4096 instructions.
pub fn set_mode_filter(prog: &[libc::sock_filter], flags: u32) -> io::Result<()> {
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut libc::sock_filter };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the
    // kernel copies the program and does not write through the pointer.
    let rc = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, libc::c_ulong::from(flags), &fprog as *const libc::sock_fprog) };
    if rc == 0 {
        Ok(())
    } else {
        // reads errno; builds no message, allocates nothing
        Err(io::Error::last_os_error())
    }
}
