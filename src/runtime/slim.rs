//! What the monitor of a detached container sheds once the container runs:
//! it then only pumps output into the log, waits and cleans up, for as
//! long as the container lives, one per container. The setup before
//! (records, the OCI spec, the cgroup, the clone) touched megabytes of
//! bocker's code and heap that the rest never needs again:
//! - the heap's free memory goes back to the kernel (`malloc_trim`);
//! - pages of mappings that were never written (code and read-only data
//!   of bocker and its libraries) leave this process's page tables
//!   (`MADV_DONTNEED`: they stay in the page cache, and a page that is
//!   needed again is faulted back in from the file, unchanged; the
//!   kernel maps the cached pages around it too, up to 64 KiB, so the
//!   code the monitor runs afterwards costs it a few such windows).
//!
//! Mappings with anonymous pages (relocated data, `.data`, `.bss`, the
//! heap, the stack) are never dropped: their contents differ from the
//! file's.

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

/// Sheds the monitor's memory (see the module's comment). Best effort:
/// a failure leaves the pages where they were.
pub fn shed() {
    let mappings = match std::fs::read_to_string("/proc/self/smaps") {
        Ok(text) => clean_file_mappings(&text),
        Err(_) => Vec::new(),
    };
    for m in &mappings {
        // SAFETY: each range is a private, read-only, file-backed mapping
        // of this process with no anonymous page: MADV_DONTNEED only
        // unmaps pages that are read back from the file on the next
        // access; a running executable cannot be written in place
        // (ETXTBSY), and libraries are replaced, not rewritten, by packages
        // (a rewrite in place would break every process mapping them).
        unsafe { libc::madvise(m.start as *mut libc::c_void, m.len, libc::MADV_DONTNEED) };
    }
    drop(mappings);
    // SAFETY: malloc_trim releases only memory malloc holds free.
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

    #[test]
    fn shedding_keeps_the_process_working() {
        // the code and read-only data of this test process are dropped and
        // must fault back in unchanged
        let before: Vec<u8> = (0..=255u8).collect();
        shed();
        let text = format!("{:?}", before.iter().map(|b| u32::from(*b) * 3).sum::<u32>());
        assert_eq!(text, "97920");
    }
}
