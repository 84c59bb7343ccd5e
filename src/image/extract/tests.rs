//! Hostile-layer tests: archives are crafted in memory with raw header
//! names, extracted into `tmp/root`, and a canary directory beside the root
//! must come out untouched.

use super::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::PathBuf;
use tar::{EntryType, Header};

struct Tb {
    b: tar::Builder<Vec<u8>>,
}

fn raw_header(name: &[u8], kind: EntryType, size: u64, mode: u32) -> Header {
    let mut h = Header::new_old();
    assert!(name.len() < 100);
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_000_000);
    h
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = 1 + key.len() + 1 + value.len() + 1; // ' ' key '=' value '\n'
    let mut len = body_len + 1;
    while len != body_len + len.to_string().len() {
        len = body_len + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

impl Tb {
    fn new() -> Tb {
        Tb {
            b: tar::Builder::new(Vec::new()),
        }
    }
    fn push(&mut self, mut h: Header, data: &[u8]) -> &mut Self {
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }
    fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.push(
            raw_header(
                name.as_bytes(),
                EntryType::Regular,
                data.len() as u64,
                0o644,
            ),
            data,
        )
    }
    fn file_with(
        &mut self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
    ) -> &mut Self {
        let mut h = raw_header(name.as_bytes(), EntryType::Regular, data.len() as u64, mode);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        self.push(h, data)
    }
    fn dir(&mut self, name: &str) -> &mut Self {
        self.push(
            raw_header(name.as_bytes(), EntryType::Directory, 0, 0o755),
            b"",
        )
    }
    fn dir_with(&mut self, name: &str, mode: u32, mtime: u64) -> &mut Self {
        let mut h = raw_header(name.as_bytes(), EntryType::Directory, 0, mode);
        h.set_mtime(mtime);
        self.push(h, b"")
    }
    fn link(&mut self, kind: EntryType, name: &str, target: &str) -> &mut Self {
        let mut h = raw_header(name.as_bytes(), kind, 0, 0o777);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        self.push(h, b"")
    }
    fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(EntryType::Symlink, name, target)
    }
    fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(EntryType::Link, name, target)
    }
    fn dev(&mut self, name: &str, kind: EntryType, major: u32, minor: u32) -> &mut Self {
        let mut h = Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(0o666);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(h, b"")
    }
    fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
        let mut h = Header::new_ustar();
        h.set_path("PaxHeaders/x").unwrap();
        h.set_entry_type(EntryType::XHeader);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        self.push(h, &data)
    }
    fn bytes(&mut self) -> Vec<u8> {
        self.b.finish().unwrap();
        self.b.get_ref().clone()
    }
}

struct Env {
    _t: tempfile::TempDir,
    root: PathBuf,
    canary: PathBuf,
    before: Vec<(PathBuf, u64, i64, Vec<u8>)>,
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let m = fs::symlink_metadata(&p).unwrap();
            let data = if m.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.push((p, m.nlink(), m.mtime(), data));
        }
    }
    out
}

impl Env {
    fn new() -> Env {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let canary = t.path().join("canary");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&canary).unwrap();
        fs::write(canary.join("secret"), b"canary").unwrap();
        fs::create_dir(canary.join("sub")).unwrap();
        let before = snapshot(t.path().parent().map(|_| &canary).unwrap());
        Env {
            root,
            canary,
            before,
            _t: t,
        }
    }
    fn extract(&self, tar: &[u8]) -> Result<ExtractOutcome, ExtractError> {
        extract_layer(tar, &self.root)
    }
    fn assert_canary(&self) {
        assert_eq!(snapshot(&self.canary), self.before, "canary changed");
        let parent = self.root.parent().unwrap();
        let mut names: Vec<_> = fs::read_dir(parent)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec!["canary", "root"],
            "something written beside the root"
        );
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

fn is_whiteout(p: &Path) -> bool {
    match fs::symlink_metadata(p) {
        Ok(m) => m.file_type().is_char_device() && m.rdev() == 0,
        Err(_) => false,
    }
}

fn is_opaque(p: &Path) -> bool {
    fsu::lgetxattr(p.as_os_str().as_encoded_bytes(), OVERLAY_OPAQUE_XATTR).unwrap()
        == Some(b"y".to_vec())
}

#[test]
fn plain_layer_metadata_is_preserved() {
    let e = Env::new();
    let mut t = Tb::new();
    t.dir_with("./", 0o755, 5)
        .dir_with("bin/", 0o711, 12345)
        .file_with("bin/su", b"#!/bin/sh\n", 0o4755, 0, 0, 777)
        .file_with("home/u/f", b"hello", 0o640, 1000, 1001, 888)
        .symlink("bin/sh", "/bin/busybox")
        .hardlink("bin/su2", "bin/su")
        .pax(&[
            ("SCHILY.xattr.user.test", b"v1"),
            ("SCHILY.xattr.trusted.overlay.redirect", b"/x"),
        ])
        .file("withx", b"x")
        .dev("dev/null", EntryType::Char, 1, 3)
        .dev("dev/fifo", EntryType::Fifo, 0, 0);
    let tar = t.bytes();
    let out = e.extract(&tar).unwrap();
    assert_eq!(out.diff_id, Digest::of_bytes(&tar));
    assert_eq!(out.tar_size, tar.len() as u64);
    assert_eq!(out.stats.files, 3);
    assert_eq!(out.stats.bytes, 10 + 5 + 1);
    assert_eq!(out.stats.hardlinks, 1);
    assert_eq!(out.stats.symlinks, 1);
    assert_eq!(out.stats.devices, 2);

    let su = fs::metadata(e.p("bin/su")).unwrap();
    assert_eq!(su.permissions().mode() & 0o7777, 0o4755);
    assert_eq!(su.mtime(), 777);
    assert_eq!(su.nlink(), 2);
    let f = fs::metadata(e.p("home/u/f")).unwrap();
    assert_eq!((f.uid(), f.gid(), f.mode() & 0o7777), (1000, 1001, 0o640));
    let bin = fs::metadata(e.p("bin")).unwrap();
    assert_eq!((bin.mode() & 0o7777, bin.mtime()), (0o711, 12345));
    assert_eq!(
        fs::read_link(e.p("bin/sh")).unwrap(),
        PathBuf::from("/bin/busybox")
    );
    let null = fs::metadata(e.p("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    assert!(fs::metadata(e.p("dev/fifo")).unwrap().file_type().is_fifo());
    let wx = e.p("withx");
    let b = wx.as_os_str().as_encoded_bytes();
    assert_eq!(
        fsu::lgetxattr(b, b"user.test").unwrap(),
        Some(b"v1".to_vec())
    );
    assert_eq!(
        fsu::lgetxattr(b, b"trusted.overlay.redirect").unwrap(),
        None
    );
    assert_eq!(fs::metadata(&e.root).unwrap().mtime(), 5);
    e.assert_canary();
}

#[test]
fn compressed_layers_give_the_same_diff_id() {
    let mut t = Tb::new();
    t.file("a", b"aaaa").dir("d/").file("d/b", b"bb");
    let tar = t.bytes();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    for data in [&tar, &gz, &zst] {
        let e = Env::new();
        let out = e.extract(data).unwrap();
        assert_eq!(out.diff_id, Digest::of_bytes(&tar));
        assert_eq!(fs::read(e.p("d/b")).unwrap(), b"bb");
    }
    assert_eq!(decompress(&gz[..]).unwrap().0, Compression::Gzip);
    assert_eq!(decompress(&zst[..]).unwrap().0, Compression::Zstd);
    assert_eq!(decompress(&tar[..]).unwrap().0, Compression::None);
}

#[test]
fn dest_must_be_empty() {
    let e = Env::new();
    fs::write(e.p("x"), b"").unwrap();
    let tar = Tb::new().file("a", b"").bytes();
    assert!(matches!(
        e.extract(&tar),
        Err(ExtractError::DestNotEmpty(_))
    ));
}

#[test]
fn dotdot_and_absolute_paths_stay_inside() {
    let e = Env::new();
    let tar = Tb::new()
        .file("../evil", b"1")
        .file("a/../../../evil2", b"2")
        .file("/abs/file", b"3")
        .file("../canary/secret", b"pwned")
        .dir("../../")
        .bytes();
    e.extract(&tar).unwrap();
    assert_eq!(fs::read(e.p("evil")).unwrap(), b"1");
    assert_eq!(fs::read(e.p("evil2")).unwrap(), b"2");
    assert_eq!(fs::read(e.p("abs/file")).unwrap(), b"3");
    assert_eq!(fs::read(e.p("canary/secret")).unwrap(), b"pwned");
    e.assert_canary();
}

#[test]
fn symlink_to_root_then_write_through_it_stays_inside() {
    let e = Env::new();
    let tar = Tb::new().symlink("a", "/").file("a/etc/x", b"x").bytes();
    e.extract(&tar).unwrap();
    assert_eq!(fs::read(e.p("etc/x")).unwrap(), b"x");
    assert!(fs::symlink_metadata(e.p("a"))
        .unwrap()
        .file_type()
        .is_symlink());
    e.assert_canary();
}

#[test]
fn symlink_escaping_parent_is_refused() {
    for target in ["../canary", "../../canary/sub"] {
        let e = Env::new();
        let abs = e.canary.display().to_string();
        for t in [target, abs.as_str()] {
            let tar = Tb::new()
                .symlink("a", t)
                .file("a/x", b"x")
                .file("a/secret", b"pwned")
                .bytes();
            let r = e.extract(&tar);
            assert!(r.is_err(), "{t}: {r:?}");
            e.assert_canary();
            fs::remove_dir_all(&e.root).unwrap();
            fs::create_dir(&e.root).unwrap();
        }
    }
}

#[test]
fn symlink_dir_swap_is_refused() {
    let e = Env::new();
    let abs = e.canary.display().to_string();
    let tar = Tb::new()
        .dir("d/")
        .file("d/f", b"f")
        .symlink("d", &abs)
        .file("d/g", b"pwned")
        .bytes();
    assert!(e.extract(&tar).is_err());
    e.assert_canary();
}

#[test]
fn hardlinks_must_resolve_inside() {
    let e = Env::new();
    let abs = format!("{}/secret", e.canary.display());
    for (name, target) in [
        ("h1", "../../etc/passwd"),
        ("h2", "../canary/secret"),
        ("h3", abs.as_str()),
    ] {
        let tar = Tb::new().hardlink(name, target).bytes();
        assert!(e.extract(&tar).is_err(), "{target}");
        e.assert_canary();
        fs::remove_dir_all(&e.root).unwrap();
        fs::create_dir(&e.root).unwrap();
    }
    // through a symlinked parent pointing outside
    let canary = e.canary.display().to_string();
    let tar = Tb::new()
        .symlink("l", &canary)
        .hardlink("h", "l/secret")
        .bytes();
    assert!(e.extract(&tar).is_err());
    e.assert_canary();
    fs::remove_dir_all(&e.root).unwrap();
    fs::create_dir(&e.root).unwrap();
    // inside the layer, even via `..`, is fine
    let tar = Tb::new()
        .file("etc/passwd", b"root")
        .hardlink("x/y", "../../etc/passwd")
        .bytes();
    e.extract(&tar).unwrap();
    assert_eq!(fs::metadata(e.p("x/y")).unwrap().nlink(), 2);
    e.assert_canary();
}

#[test]
fn hardlink_to_a_symlink_links_the_symlink() {
    let e = Env::new();
    let abs = format!("{}/secret", e.canary.display());
    let tar = Tb::new().symlink("s", &abs).hardlink("h", "s").bytes();
    e.extract(&tar).unwrap();
    assert!(fs::symlink_metadata(e.p("h"))
        .unwrap()
        .file_type()
        .is_symlink());
    e.assert_canary();
}

#[test]
fn final_symlink_is_replaced_not_followed() {
    let e = Env::new();
    let abs = format!("{}/secret", e.canary.display());
    let dir = format!("{}/sub", e.canary.display());
    let tar = Tb::new()
        .symlink("f", &abs)
        .file("f", b"pwned")
        .symlink("d", &dir)
        .dir("d/")
        .file("d/x", b"x")
        .symlink("n", &dir)
        .dev("n", EntryType::Fifo, 0, 0)
        .bytes();
    e.extract(&tar).unwrap();
    assert_eq!(fs::read(e.p("f")).unwrap(), b"pwned");
    assert!(fs::symlink_metadata(e.p("d")).unwrap().is_dir());
    assert!(fs::symlink_metadata(e.p("n"))
        .unwrap()
        .file_type()
        .is_fifo());
    e.assert_canary();
}

#[test]
fn later_entries_replace_earlier_ones() {
    let e = Env::new();
    let tar = Tb::new()
        .file("x", b"file")
        .dir("x/")
        .dir("y/")
        .file("y/child", b"c")
        .file("y", b"now a file")
        .dir("z/")
        .file("z/keep", b"k")
        .dir_with("z/", 0o700, 42)
        .file("w", b"1")
        .file("w", b"2")
        .bytes();
    e.extract(&tar).unwrap();
    assert!(fs::metadata(e.p("x")).unwrap().is_dir());
    assert_eq!(fs::read(e.p("y")).unwrap(), b"now a file");
    assert_eq!(fs::read(e.p("z/keep")).unwrap(), b"k");
    let z = fs::metadata(e.p("z")).unwrap();
    assert_eq!((z.mode() & 0o7777, z.mtime()), (0o700, 42));
    assert_eq!(fs::read(e.p("w")).unwrap(), b"2");
    e.assert_canary();
}

#[test]
fn whiteouts_become_overlay_markers() {
    let e = Env::new();
    let tar = Tb::new()
        .file(".wh.gone", b"")
        .dir("etc/")
        .file("etc/.wh.passwd", b"")
        .file("opq/.wh..wh..opq", b"")
        .file("opq/new", b"n")
        .file("deep/er/.wh.x", b"")
        .file(".wh..wh.plnk", b"")
        .bytes();
    let out = e.extract(&tar).unwrap();
    assert!(is_whiteout(&e.p("gone")));
    assert!(is_whiteout(&e.p("etc/passwd")));
    assert!(is_whiteout(&e.p("deep/er/x")));
    assert!(is_opaque(&e.p("opq")));
    assert_eq!(fs::read(e.p("opq/new")).unwrap(), b"n");
    assert!(!e.p(".wh.gone").exists() && !e.p(".wh..wh.plnk").exists());
    assert_eq!((out.stats.whiteouts, out.stats.opaques), (3, 1));
    e.assert_canary();
}

#[test]
fn whiteout_never_removes_what_the_layer_created() {
    let e = Env::new();
    let tar = Tb::new()
        .dir("p/")
        .file("p/child", b"c")
        .file(".wh.p", b"")
        .file("keep", b"k")
        .file(".wh.keep", b"")
        .bytes();
    e.extract(&tar).unwrap();
    assert_eq!(fs::read(e.p("p/child")).unwrap(), b"c");
    assert!(
        is_opaque(&e.p("p")),
        "a whited-out dir the layer created becomes opaque"
    );
    assert_eq!(fs::read(e.p("keep")).unwrap(), b"k");
    e.assert_canary();
}

#[test]
fn whiteout_then_recreate() {
    let e = Env::new();
    let tar = Tb::new()
        .file(".wh.d", b"")
        .dir("d/")
        .file("d/new", b"n")
        .file(".wh.f", b"")
        .file("f", b"f")
        .bytes();
    e.extract(&tar).unwrap();
    assert!(fs::metadata(e.p("d")).unwrap().is_dir());
    assert!(
        is_opaque(&e.p("d")),
        "a dir replacing a whiteout must hide the lower dir"
    );
    assert_eq!(fs::read(e.p("f")).unwrap(), b"f");
    e.assert_canary();
}

#[test]
fn whiteout_through_escaping_symlink_is_refused() {
    let e = Env::new();
    let abs = e.canary.display().to_string();
    for name in ["l/.wh.secret", "l/.wh..wh..opq"] {
        let tar = Tb::new().symlink("l", &abs).file(name, b"").bytes();
        assert!(e.extract(&tar).is_err());
        e.assert_canary();
        assert!(fsu::lgetxattr(
            e.canary.as_os_str().as_encoded_bytes(),
            OVERLAY_OPAQUE_XATTR
        )
        .unwrap()
        .is_none());
        fs::remove_dir_all(&e.root).unwrap();
        fs::create_dir(&e.root).unwrap();
    }
    for bad in [".wh.", ".wh..", "x/.wh.."] {
        let tar = Tb::new().file(bad, b"").bytes();
        let _ = e.extract(&tar);
        e.assert_canary();
        fs::remove_dir_all(&e.root).unwrap();
        fs::create_dir(&e.root).unwrap();
    }
}

#[test]
fn parent_that_is_a_file_is_refused() {
    let e = Env::new();
    let tar = Tb::new().file("f", b"").file("f/x", b"").bytes();
    assert!(matches!(
        e.extract(&tar),
        Err(ExtractError::Rejected { .. })
    ));
    e.assert_canary();
}

#[test]
fn weird_entry_types_are_refused() {
    let e = Env::new();
    let tar = Tb::new()
        .push(raw_header(b"sparse", EntryType::GNUSparse, 0, 0o644), b"")
        .bytes();
    assert!(e.extract(&tar).is_err());
    e.assert_canary();
}

#[test]
fn clean_components_cases() {
    let c = |s: &str| {
        clean_components(s.as_bytes())
            .iter()
            .map(|c| String::from_utf8(c.clone()).unwrap())
            .collect::<Vec<_>>()
            .join("/")
    };
    assert_eq!(c("/a//b/./c/"), "a/b/c");
    assert_eq!(c("../../x"), "x");
    assert_eq!(c("a/b/../../.."), "");
    assert_eq!(c("./"), "");
}

#[test]
fn replaced_parent_is_resolved_again() {
    // `d` is opened as a parent, then replaced by a symlink to `t`: the
    // next entry under `d` must land in `t`, not in the removed directory.
    let e = Env::new();
    let tar = Tb::new()
        .dir("t/")
        .dir("d/")
        .file("d/f", b"f")
        .symlink("d", "t")
        .file("d/g", b"g")
        .bytes();
    e.extract(&tar).unwrap();
    assert_eq!(fs::read(e.p("t/g")).unwrap(), b"g");
    assert!(fs::symlink_metadata(e.p("d")).unwrap().file_type().is_symlink());
    e.assert_canary();
}

#[test]
fn modes_owners_and_setid_bits_survive_the_shortcuts() {
    let e = Env::new();
    let tar = Tb::new()
        .file_with("suid", b"x", 0o4755, 0, 0, 5)
        .file_with("other", b"x", 0o640, 1000, 1001, 5)
        .file_with("odd", b"x", 0o602, 0, 0, 5)
        .bytes();
    e.extract(&tar).unwrap();
    let m = |n: &str| fs::metadata(e.p(n)).unwrap();
    assert_eq!(m("suid").mode() & 0o7777, 0o4755);
    assert_eq!((m("other").mode() & 0o7777, m("other").uid(), m("other").gid()), (0o640, 1000, 1001));
    assert_eq!(m("odd").mode() & 0o7777, 0o602);
    e.assert_canary();
}

#[test]
fn copy_onto_the_host_makes_no_device_and_no_set_id_program() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("kept"), "old").unwrap();
    let mut tb = Tb::new();
    tb.push(raw_header(b"sda", EntryType::Block, 0, 0o666), b"");
    tb.push(raw_header(b"suid", EntryType::Regular, 2, 0o4755), b"#!");
    tb.file(".wh.kept", b"plain");
    let bytes = tb.bytes();
    let dest = crate::fsutil::open_dir_path(t.path()).unwrap();
    let rd = crate::fsutil::openat_nofollow(std::os::fd::AsFd::as_fd(&dest), b".", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap();
    extract_into(&bytes[..], rd, None, true).unwrap();
    assert!(!t.path().join("sda").exists(), "a device node was made on the host");
    assert_eq!(fs::metadata(t.path().join("suid")).unwrap().permissions().mode() & 0o7777, 0o755);
    // a copy has no whiteouts: .wh. is a name, and what was there stays
    assert_eq!(fs::read_to_string(t.path().join(".wh.kept")).unwrap(), "plain");
    assert_eq!(fs::read_to_string(t.path().join("kept")).unwrap(), "old");
}
