//! Memory of this process: dropping pages that files hold, trimming the heap.

use std::io;

/// A mapping from /proc/self/smaps that can be dropped and faulted back.
#[derive(Debug, PartialEq, Clone, Copy, Default)]
struct CleanMapping {
    start: usize,
    len: usize,
}

/// File-backed mappings without write permission and without anonymous
/// (copied-on-write) pages, from the text of /proc/self/smaps.
fn clean_file_mappings(smaps: &str) -> Vec<CleanMapping> {
    let mut out = Vec::new();
    // the mapping being read: Some while it qualifies so far
    let mut current: Option<CleanMapping> = None;
    for line in smaps.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-') {
            // a mapping's header: range perms offset dev inode [path]
            let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
                current = None;
                continue;
            };
            let perms = fields.next().unwrap_or("");
            let inode = fields.nth(2).unwrap_or("0");
            let path = fields.next().unwrap_or("");
            let file_backed = inode != "0" && path.starts_with('/');
            let never_written = perms.starts_with('r') && perms.as_bytes().get(1) == Some(&b'-') && perms.ends_with('p');
            current = (file_backed && never_written && end > start).then_some(CleanMapping { start, len: end - start });
        } else if first == "Anonymous:" {
            if let Some(m) = current.take() {
                if fields.next() == Some("0") {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// The clean file mappings of this process, read from /proc/self/smaps
/// into a fixed array (at most [`MAX_SHED`]), so that dropping them needs
/// no allocation and no free afterwards; how many there are.
fn clean_mappings_now() -> ([CleanMapping; MAX_SHED], usize) {
    let mut list = [CleanMapping::default(); MAX_SHED];
    let mut n = 0;
    if let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") {
        for m in clean_file_mappings(&smaps).into_iter().take(MAX_SHED) {
            list[n] = m;
            n += 1;
        }
    }
    (list, n)
}

/// MADV_DONTNEED on each mapping, as raw system calls (no libc page is
/// touched between the drops). Returns the bytes dropped.
fn drop_mappings(list: &[CleanMapping]) -> usize {
    let mut dropped = 0;
    for m in list {
        // SAFETY: the range is, as smaps said, a private mapping without
        // write permission and without anonymous pages, so MADV_DONTNEED
        // only unmaps pages whose contents the file still holds: the next
        // access faults them back in unchanged. A running executable cannot
        // be written in place (ETXTBSY), and libraries are replaced, not
        // rewritten, by packages (a rewrite in place would break every
        // process mapping them). The callers are single-threaded, so no
        // mapping changed since smaps was read.
        if unsafe { raw::syscall5(libc::SYS_madvise, [m.start, m.len, libc::MADV_DONTNEED as usize, 0, 0]) } == 0 {
            dropped += m.len;
        }
    }
    dropped
}

/// Drops from this process's page tables every page of its private,
/// read-only, file-backed mappings that hold no anonymous (copied-on-write)
/// page, as /proc/self/smaps lists them: code and read-only data of the
/// binary and its libraries. They stay in the page cache and fault back in
/// from the file, unchanged, when next touched. Returns the bytes of the
/// mappings dropped. Not async-signal-safe (reads and parses a file); meant
/// for a single-threaded process (no other thread changes a mapping
/// between the read and the drop).
pub fn drop_clean_file_pages() -> usize {
    let (list, n) = clean_mappings_now();
    drop_mappings(&list[..n])
}

/// `malloc_trim(0)`: gives the heap's free memory back to the kernel. Not
/// async-signal-safe (takes malloc's lock).
pub fn trim_heap() {
    // SAFETY: malloc_trim releases only memory that malloc holds free.
    unsafe { libc::malloc_trim(0) };
}

/// How many mappings [`shed_then_poll`] drops at most (a monitor has ~30).
const MAX_SHED: usize = 128;

/// For a process that is about to wait for a long time (a detached
/// container's monitor with nothing to copy): trims the heap, discards the
/// pages of `scratch` (a buffer whose contents are not needed again), drops
/// the pages of the clean file mappings (as [`drop_clean_file_pages`]), then
/// waits in `ppoll(fds)` without a timeout and returns its result. The
/// drops and the wait are raw system calls, so that no page of libc is
/// touched again after its drop: while the process waits, what it holds is
/// its anonymous memory and the one window of code that runs this. Only
/// when this is the process's one thread (none can start meanwhile: only a
/// thread could start one); otherwise it only waits.
pub fn shed_then_poll(fds: &mut [libc::pollfd], scratch: &mut [u8]) -> io::Result<usize> {
    if super::process::single_threaded() {
        let (list, n) = clean_mappings_now();
        // the parse's memory is free now: back to the kernel with the rest
        trim_heap();
        // SAFETY: sysconf with an integer name; touches no memory.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(1);
        let start = (scratch.as_mut_ptr() as usize).div_ceil(page) * page;
        let end = (scratch.as_mut_ptr() as usize + scratch.len()) / page * page;
        if end > start {
            // SAFETY: whole pages inside `scratch`, which the caller lends
            // for that: anonymous private memory reads back as zeros, a
            // valid value of u8.
            let _ = unsafe { raw::syscall5(libc::SYS_madvise, [start, end - start, libc::MADV_DONTNEED as usize, 0, 0]) };
        }
        drop_mappings(&list[..n]);
    }
    // SAFETY: `fds` is a valid, writable array of pollfd of the length
    // given; no timeout and no signal mask (null pointers).
    let rc = unsafe { raw::syscall5(libc::SYS_ppoll, [fds.as_mut_ptr() as usize, fds.len(), 0, 0, 0]) };
    if rc < 0 {
        return Err(io::Error::from_raw_os_error((-rc) as i32));
    }
    Ok(rc as usize)
}

/// System calls made without libc's wrappers (see [`shed_then_poll`]).
mod raw {
    /// The raw `syscall` instruction: returns the kernel's result (a
    /// negative errno on failure).
    ///
    /// # Safety
    /// As the system call `nr` with these arguments.
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn syscall5(nr: libc::c_long, a: [usize; 5]) -> isize {
        let ret: isize;
        // SAFETY: the x86_64 Linux system call convention: number in rax,
        // arguments in rdi, rsi, rdx, r10, r8; rcx and r11 are clobbered.
        unsafe {
            core::arch::asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret
    }

    #[cfg(target_arch = "aarch64")]
    pub unsafe fn syscall5(nr: libc::c_long, a: [usize; 5]) -> isize {
        let ret: isize;
        // SAFETY: the aarch64 Linux convention: number in x8, arguments in
        // x0-x4, the result in x0.
        unsafe {
            core::arch::asm!("svc 0", in("x8") nr, inlateout("x0") a[0] as isize => ret, in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], options(nostack));
        }
        ret
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub unsafe fn syscall5(nr: libc::c_long, a: [usize; 5]) -> isize {
        // SAFETY: as the caller's; libc's wrapper (its page stays mapped)
        let rc = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4]) };
        if rc < 0 {
            -(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO) as isize)
        } else {
            rc as isize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shedding_then_polling_keeps_the_process_working() {
        let (r, w) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&w, b"x").unwrap();
        use std::os::fd::AsRawFd;
        let mut fds = [libc::pollfd { fd: r.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        let mut scratch = vec![7u8; 3 * 4096];
        assert_eq!(shed_then_poll(&mut fds, &mut scratch).unwrap(), 1);
        assert_eq!(fds[0].revents, libc::POLLIN);
        // the buffer's whole pages read back as zeros, the rest is kept
        assert!(scratch.iter().all(|b| *b == 0 || *b == 7));
        let text = format!("{:?}", (0..=255u32).map(|b| b * 3).sum::<u32>());
        assert_eq!(text, "97920");
    }

    #[test]
    fn only_unwritten_file_mappings_are_dropped() {
        let smaps = "\
55d0a0000000-55d0a0400000 r-xp 0033e000 fe:00 2163280                    /usr/bin/bocker
Rss:                5752 kB
Anonymous:             0 kB
55d0a0400000-55d0a047d000 r--p 00e2e000 fe:00 2163280                    /usr/bin/bocker
Rss:                 500 kB
Anonymous:           500 kB
55d0a047d000-55d0a047f000 rw-p 00eaa000 fe:00 2163280                    /usr/bin/bocker
Anonymous:             8 kB
55d0b0000000-55d0b0061000 rw-p 00000000 00:00 0                          [heap]
Anonymous:           324 kB
7f40f785e000-7f40f7884000 r--p 00000000 fe:00 326279                     /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f40f7b51000-7f40f7b53000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
7f40f7b60000-7f40f7b61000 rw-s 00000000 00:05 1234                       /memfd:x (deleted)
Anonymous:             0 kB
";
        let got = clean_file_mappings(smaps);
        assert_eq!(
            got,
            vec![
                CleanMapping { start: 0x55d0a0000000, len: 0x400000 },
                CleanMapping { start: 0x7f40f785e000, len: 0x7f40f7884000 - 0x7f40f785e000 },
            ]
        );
    }

}
