//! Layer storage on the host: copying a folder into a layer, removing
//! trees, the overlay mount options a container's root is made of, and
//! reading files inside an untrusted folder (`inroot`).
pub mod copy;
pub mod flatten;
pub mod inroot;
pub mod overlay;

pub use copy::{copy_contents, copy_tree};

/// Removes a tree (overlay work dirs included); a missing tree is fine.
pub fn remove_tree(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Bytes used by a tree (apparent sizes of regular files, hardlinks once).
pub fn tree_size(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else { continue };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else if md.is_file() && (md.nlink() == 1 || seen.insert((md.dev(), md.ino()))) {
                total += md.len();
            }
        }
    }
    total
}
