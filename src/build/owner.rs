//! `--chown=USER[:GROUP]` and `--chmod=MODE` of COPY/ADD. Names are looked
//! up in the image's own /etc/passwd and /etc/group, which the image
//! controls: read through the image's view (symlinks resolved inside it),
//! regular files only, size-capped, malformed lines skipped.
use super::fsview::FsView;
use std::io::Read;
use std::path::Path;

/// The most of /etc/passwd or /etc/group read.
const MAX_ID_FILE: u64 = 4 << 20;

/// Parses `--chmod`: octal, at most 07777.
pub fn parse_chmod(s: &str) -> Result<u32, String> {
    let m = u32::from_str_radix(s, 8).map_err(|_| format!("--chmod={s}: an octal mode expected (like 0755)"))?;
    if s.is_empty() || m > 0o7777 {
        return Err(format!("--chmod={s}: an octal mode up to 07777 expected"));
    }
    Ok(m)
}

/// The numeric id of `name` in a passwd/group-format text (name is field
/// 1, the id field 3).
fn id_in(text: &str, name: &str) -> Option<u32> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let mut f = l.split(':');
            let n = f.next()?;
            let _pw = f.next()?;
            let id = f.next()?.trim().parse::<u32>().ok()?;
            (n == name).then_some(id)
        })
}

fn read_id_file(image: &FsView, path: &str) -> Result<String, String> {
    let node = image
        .lookup(Path::new(path), true)
        .map_err(|e| format!("{path}: {e}"))?
        .ok_or_else(|| format!("the image has no {path}"))?;
    if !node.meta.is_file() {
        return Err(format!("{path} in the image is not a regular file"));
    }
    let f = super::entry::open_nofollow(&node.host).map_err(|e| format!("{path}: {e}"))?;
    let mut buf = Vec::new();
    f.take(MAX_ID_FILE).read_to_end(&mut buf).map_err(|e| format!("{path}: {e}"))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `USER[:GROUP]` as uid and gid. A user without a group gets the gid of
/// the user's number (Docker's documented rule).
pub fn resolve_chown(spec: &str, image: &FsView) -> Result<(u32, u32), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() || group == Some("") {
        return Err(format!("--chown={spec}: USER[:GROUP] expected"));
    }
    let lookup = |name: &str, file: &str, what: &str| -> Result<u32, String> {
        if let Ok(n) = name.parse::<u32>() {
            return Ok(n);
        }
        let text = read_id_file(image, file).map_err(|e| format!("--chown={spec}: {e}"))?;
        id_in(&text, name).ok_or_else(|| format!("--chown={spec}: no {what} {name} in the image's {file}"))
    };
    let uid = lookup(user, "/etc/passwd", "user")?;
    let gid = match group {
        Some(g) => lookup(g, "/etc/group", "group")?,
        None => uid,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chmod_is_octal() {
        assert_eq!(parse_chmod("0755"), Ok(0o755));
        assert_eq!(parse_chmod("4711"), Ok(0o4711));
        assert!(parse_chmod("rwx").is_err() && parse_chmod("0899").is_err() && parse_chmod("17777").is_err() && parse_chmod("").is_err());
    }

    #[test]
    fn names_from_the_image_files_defensively() {
        let t = tempfile::tempdir().unwrap();
        let etc = t.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("passwd"), "root:x:0:0::/root:/bin/sh\ngarbage\nbad:x:notanumber:1\napp:x:1234:999::/home/app:/bin/sh\n").unwrap();
        std::fs::write(etc.join("group"), "root:x:0:\nstaff:x:50:app\n").unwrap();
        let v = FsView::dir(t.path().to_path_buf());
        assert_eq!(resolve_chown("app", &v), Ok((1234, 1234)));
        assert_eq!(resolve_chown("app:staff", &v), Ok((1234, 50)));
        assert_eq!(resolve_chown("7:8", &v), Ok((7, 8)));
        assert_eq!(resolve_chown("app:9", &v), Ok((1234, 9)));
        assert!(resolve_chown("bad", &v).unwrap_err().contains("no user bad"));
        assert!(resolve_chown("app:nogroup", &v).is_err());
        assert!(resolve_chown(":x", &v).is_err() && resolve_chown("a:", &v).is_err());
        // an image without the file: only numbers work
        let empty = tempfile::tempdir().unwrap();
        let v = FsView::dir(empty.path().to_path_buf());
        assert!(resolve_chown("app", &v).unwrap_err().contains("no /etc/passwd"));
        assert_eq!(resolve_chown("1", &v), Ok((1, 1)));
    }
}
