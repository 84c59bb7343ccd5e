//! ADD of a local tar (plain, gzip, bzip2, xz or zstd, told by magic
//! bytes): extracted at the destination. The build context controls the
//! tar, so it is hostile input: a first pass refuses entries (or hard-link
//! targets) whose path leaves the destination, whiteout names (`.wh.*`)
//! and char devices 0/0 (a whiteout in a layer); then the layer extractor
//! (`image::extract::extract_tar`: parents resolved in-root, no xattrs of
//! overlay's) unpacks it into an empty dir beside the layer, and that tree
//! is moved into the layer at the destination.
use super::entry::{clear, Attrs};
use crate::image::extract::{decompress, extract_tar};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn open(p: &Path) -> io::Result<Box<dyn Read>> {
    let f = super::entry::open_nofollow(p)?;
    Ok(decompress(io::BufReader::new(f))?.1)
}

/// A tar header block: "ustar" magic, or an old-style header whose
/// checksum adds up.
fn is_tar_header(b: &[u8; 512]) -> bool {
    if &b[257..262] == b"ustar" {
        return true;
    }
    let field = String::from_utf8_lossy(&b[148..156]);
    let Ok(want) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8) else { return false };
    let sum: u32 = b.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { 32 } else { c as u32 }).sum();
    sum == want && b[0] != 0
}

/// Whether the (possibly compressed) file is a tar archive.
pub(super) fn is_tar(p: &Path) -> io::Result<bool> {
    let mut r = open(p)?;
    let mut b = [0u8; 512];
    let mut n = 0;
    while n < b.len() {
        match r.read(&mut b[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            // compressed data that does not decompress: not a tar
            Err(_) => return Ok(false),
        }
    }
    Ok(n == b.len() && is_tar_header(&b))
}

/// Whether a tar path, cleaned lexically, stays inside its root.
fn stays_inside(p: &[u8]) -> bool {
    let mut depth: i64 = 0;
    for c in p.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    true
}

fn show(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// The first pass: what the extractor would otherwise quietly fold or
/// turn into whiteouts is refused, naming the entry.
fn check(p: &Path) -> Result<(), String> {
    let mut ar = tar::Archive::new(open(p).map_err(|e| e.to_string())?);
    for e in ar.entries().map_err(|e| e.to_string())? {
        let e = e.map_err(|e| format!("reading the tar: {e}"))?;
        let path = e.path_bytes().into_owned();
        if !stays_inside(&path) {
            return Err(format!("tar entry {} leaves the destination", show(&path)));
        }
        if let Some(link) = e.link_name_bytes() {
            if e.header().entry_type().is_hard_link() && !stays_inside(&link) {
                return Err(format!("tar entry {} links outside the destination", show(&path)));
            }
        }
        let name = path.rsplit(|&b| b == b'/').find(|c| !c.is_empty()).unwrap_or(&[]);
        if name.starts_with(b".wh.") {
            return Err(format!("tar entry {} is a whiteout", show(&path)));
        }
        let h = e.header();
        if h.entry_type().is_character_special() && h.device_major().ok().flatten() == Some(0) && h.device_minor().ok().flatten() == Some(0) {
            return Err(format!("tar entry {} is a char device 0/0 (a whiteout)", show(&path)));
        }
    }
    Ok(())
}

/// Sets the owner/mode overrides on every entry of `dir` (not `dir`).
fn override_attrs(dir: &Path, attrs: Attrs) -> Result<(), String> {
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let p = e.map_err(|e| e.to_string())?.path();
        let m = std::fs::symlink_metadata(&p).map_err(|e| e.to_string())?;
        attrs.apply(&p, &m).map_err(|e| e.to_string())?;
        if m.is_dir() {
            override_attrs(&p, attrs)?;
        }
    }
    Ok(())
}

/// Moves the entries of `from` into `to` (an existing dir), merging dirs.
fn move_into(from: &Path, to: &Path) -> Result<(), String> {
    for e in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        let (s, d) = (e.path(), to.join(e.file_name()));
        let sm = std::fs::symlink_metadata(&s).map_err(|e| e.to_string())?;
        match std::fs::symlink_metadata(&d) {
            Ok(dm) if dm.is_dir() && sm.is_dir() => {
                move_into(&s, &d)?;
                // the archive's dir entry decides its owner and mode
                let _ = crate::sys::fs::lchown(&d, sm.uid(), sm.gid());
                let _ = crate::sys::fs::chmod(&d, sm.mode() & 0o7777);
                continue;
            }
            _ => clear(&d, false).map_err(|e| e.to_string())?,
        }
        std::fs::rename(&s, &d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    Ok(())
}

/// Extracts the tar `src` into the layer `diff` at `dst_rel` (an existing
/// dir of the layer).
pub(super) fn extract(src: &Path, diff: &Path, dst_rel: &Path, attrs: Attrs) -> Result<(), String> {
    check(src)?;
    let stage = diff.parent().ok_or("no staging dir")?.join(format!("add-{}", crate::state::ids::random_hex(6)));
    std::fs::create_dir(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    let r = (|| {
        let stats = extract_tar(open(src).map_err(|e| e.to_string())?, &stage).map_err(|e| e.to_string())?;
        if stats.whiteouts > 0 || stats.opaques > 0 {
            return Err("the tar holds whiteouts".to_string());
        }
        if attrs.owner.is_some() || attrs.chmod.is_some() {
            override_attrs(&stage, attrs)?;
        }
        move_into(&stage, &diff.join(dst_rel))
    })();
    let _ = crate::storage::remove_tree(&stage);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_check() {
        assert!(stays_inside(b"a/b/../c") && stays_inside(b"./x") && stays_inside(b"/abs/x"));
        assert!(!stays_inside(b"../x") && !stays_inside(b"a/../../x") && !stays_inside(b".."));
    }

    #[test]
    fn tar_headers_are_told_from_other_files() {
        let t = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("hello.txt").unwrap();
        h.set_size(3);
        h.set_cksum();
        b.append(&h, &b"hi\n"[..]).unwrap();
        let tarball = b.into_inner().unwrap();
        std::fs::write(t.path().join("a.tar"), &tarball).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tarball).unwrap();
        std::fs::write(t.path().join("a.tgz"), gz.finish().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &[b'x'; 2000]).unwrap();
        std::fs::write(t.path().join("plain.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(t.path().join("text"), "just text\n".repeat(100)).unwrap();
        assert!(is_tar(&t.path().join("a.tar")).unwrap());
        assert!(is_tar(&t.path().join("a.tgz")).unwrap());
        assert!(!is_tar(&t.path().join("plain.gz")).unwrap());
        assert!(!is_tar(&t.path().join("text")).unwrap());
    }
}
