//! Memory of this process: dropping pages that files hold, trimming the heap.

use super::check;
use std::io;

/// A mapping from /proc/self/smaps that can be dropped and faulted back.
#[derive(Debug, PartialEq)]
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

/// Drops from this process's page tables every page of its private,
/// read-only, file-backed mappings that hold no anonymous (copied-on-write)
/// page, as /proc/self/smaps lists them: code and read-only data of the
/// binary and its libraries. They stay in the page cache and fault back in
/// from the file, unchanged, when next touched. Returns the bytes of the
/// mappings dropped. Not async-signal-safe (reads and parses a file); meant
/// for a single-threaded process (no other thread changes a mapping
/// between the read and the drop).
pub fn drop_clean_file_pages() -> io::Result<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut dropped = 0;
    for m in clean_file_mappings(&smaps) {
        // SAFETY: the range is, as smaps just said, a private mapping
        // without write permission and without anonymous pages, so
        // MADV_DONTNEED only unmaps pages whose contents the file still
        // holds: the next access faults them back in unchanged. A running
        // executable cannot be written in place (ETXTBSY), and libraries
        // are replaced, not rewritten, by packages (a rewrite in place
        // would break every process mapping them).
        check(unsafe { libc::madvise(m.start as *mut libc::c_void, m.len, libc::MADV_DONTNEED) })?;
        dropped += m.len;
    }
    Ok(dropped)
}

/// `malloc_trim(0)`: gives the heap's free memory back to the kernel. Not
/// async-signal-safe (takes malloc's lock).
pub fn trim_heap() {
    // SAFETY: malloc_trim releases only memory that malloc holds free.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

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
