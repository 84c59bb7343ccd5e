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

/// Sheds a long-lived process's memory (see the module's comment): the API
/// service when it idles. The monitor's pump does the same with raw system
/// calls right before it waits (`sys::mem::shed_then_poll`), so that even
/// libc's pages stay out while it waits. Best effort: a failure leaves the
/// pages where they were.
pub fn shed() {
    crate::sys::mem::drop_clean_file_pages();
    crate::sys::mem::trim_heap();
}

#[cfg(test)]
mod tests {
    use super::*;

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
