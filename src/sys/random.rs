//! Random bytes from the kernel (`getrandom(2)`): one call, no file.

use super::check_len;
use std::io;

/// Fills `buf` from the kernel's random pool (blocking only until the
/// pool is first initialised, at boot).
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length name the unfilled, writable tail
        // of `buf`; flags 0.
        match check_len(unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) }) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => done += n,
        }
    }
    Ok(())
}
