//! `--user` / image `User`: a name or uid, optionally `:group`, resolved
//! in the container's own /etc/passwd and /etc/group.

#[derive(Debug, Clone, PartialEq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub home: Option<String>,
}

fn lookup(file: &str, name: &str) -> Option<Vec<String>> {
    file.lines()
        .map(|l| l.split(':').map(String::from).collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[0] == name)
}

fn lookup_by_id(file: &str, id: u32) -> Option<Vec<String>> {
    file.lines()
        .map(|l| l.split(':').map(String::from).collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[2].parse::<u32>().ok() == Some(id))
}

/// Resolves `spec` against passwd/group file contents.
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<Ids, String> {
    if spec.is_empty() {
        return Ok(Ids { uid: 0, gid: 0, home: Some("/root".into()) });
    }
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let (uid, mut gid, home) = match u.parse::<u32>() {
        Ok(uid) => match lookup_by_id(passwd, uid) {
            Some(f) => (uid, f.get(3).and_then(|s| s.parse().ok()).unwrap_or(0), f.get(5).cloned()),
            None => (uid, 0, None),
        },
        Err(_) => {
            let f = lookup(passwd, u).ok_or_else(|| format!("unable to find user {u}: no matching entries in passwd file"))?;
            let uid = f[2].parse().map_err(|_| format!("bad uid for user {u} in passwd file"))?;
            (uid, f.get(3).and_then(|s| s.parse().ok()).unwrap_or(0), f.get(5).cloned())
        }
    };
    if let Some(g) = g {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup(group, g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| format!("unable to find group {g}: no matching entries in group file"))?,
        };
    }
    Ok(Ids { uid, gid, home })
}

/// Resolves `spec` in the current root's /etc/passwd and /etc/group and
/// switches to that user (groups, gid, then uid). Root stays root.
pub fn become_user(spec: &str) -> Result<Ids, String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let ids = resolve(spec, &passwd, &group)?;
    if ids.uid != 0 || ids.gid != 0 {
        let groups = [ids.gid];
        // SAFETY: plain syscalls on values we own.
        let failed = unsafe {
            libc::setgroups(1, groups.as_ptr()) != 0 || libc::setgid(ids.gid) != 0 || libc::setuid(ids.uid) != 0
        };
        if failed {
            return Err(format!("set user {spec}: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    const PW: &str = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n";
    const GR: &str = "root:x:0:\nstaff:x:50:\n";
    #[test]
    fn names_and_numbers() {
        assert_eq!(resolve("www", PW, GR).unwrap(), Ids { uid: 33, gid: 34, home: Some("/var/www".into()) });
        assert_eq!(resolve("1000", PW, GR).unwrap().uid, 1000);
        assert_eq!(resolve("1000:50", PW, GR).unwrap().gid, 50);
        assert_eq!(resolve("www:staff", PW, GR).unwrap().gid, 50);
        assert!(resolve("nobody", PW, GR).is_err());
        assert!(resolve("www:nogroup", PW, GR).is_err());
    }
}
