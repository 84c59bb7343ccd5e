//! `--user` / image `User`: a name or uid, optionally `:group`, resolved
//! in the container's own /etc/passwd and /etc/group.

#[derive(Debug, Clone, PartialEq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub home: Option<String>,
    /// supplementary groups: the user's memberships in the image's
    /// /etc/group (never the host's)
    pub groups: Vec<u32>,
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
    let spec = if spec.is_empty() { "0" } else { spec };
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
    // the user's name, for its memberships (a bare uid that passwd does
    // not know has none)
    let name = match u.parse::<u32>() {
        Ok(id) => lookup_by_id(passwd, id).map(|f| f[0].clone()),
        Err(_) => Some(u.to_string()),
    };
    let mut groups = vec![gid];
    if let Some(name) = name {
        for f in group.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 4) {
            if f[3].split(',').any(|m| m.trim() == name) {
                if let Ok(g) = f[2].parse::<u32>() {
                    if !groups.contains(&g) {
                        groups.push(g);
                    }
                }
            }
        }
    }
    let home = home.or_else(|| Some(if uid == 0 { "/root".into() } else { "/".into() }));
    Ok(Ids { uid, gid, home, groups })
}

/// `--group-add` entries as gids: a number as it is, a name from the
/// image's group file (Docker: unknown names are an error).
pub fn extra_groups(names: &[String], group: &str) -> Result<Vec<u32>, String> {
    names
        .iter()
        .map(|n| match n.parse::<u32>() {
            Ok(id) => Ok(id),
            Err(_) => lookup(group, n)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| format!("Unable to find group {n}: no matching entries in group file")),
        })
        .collect()
}

/// Adds `--group-add` groups to `ids` (each once).
pub fn add_groups(ids: &mut Ids, names: &[String], group: &str) -> Result<(), String> {
    for g in extra_groups(names, group)? {
        if !ids.groups.contains(&g) {
            ids.groups.push(g);
        }
    }
    Ok(())
}

/// Resolves `spec` in the current root's /etc/passwd and /etc/group
/// (reads stop at 1 MiB: the image controls these files).
pub fn lookup_user(spec: &str) -> Result<Ids, String> {
    lookup_user_with(spec, &[])
}

/// `lookup_user` with the container's `--group-add` groups added.
pub fn lookup_user_with(spec: &str, group_add: &[String]) -> Result<Ids, String> {
    let read = |p: &str| {
        use std::io::Read;
        let mut s = String::new();
        if let Ok(f) = std::fs::File::open(p) {
            let _ = f.take(1 << 20).read_to_string(&mut s);
        }
        s
    };
    let group = read("/etc/group");
    let mut ids = resolve(spec, &read("/etc/passwd"), &group)?;
    add_groups(&mut ids, group_add, &group)?;
    Ok(ids)
}

/// Switches to the user: supplementary groups (always set, so the
/// host's never leak in), gid, then uid.
pub fn switch_to(ids: &Ids) -> Result<(), String> {
    crate::sys::process::set_ids(&ids.groups, ids.gid, ids.uid).map_err(|e| format!("set user {}:{}: {e}", ids.uid, ids.gid))
}

#[cfg(test)]
mod tests {
    use super::*;
    const PW: &str = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n";
    const GR: &str = "root:x:0:\nstaff:x:50:www,root\nwheel:x:10:root\n";
    #[test]
    fn names_and_numbers() {
        assert_eq!(
            resolve("www", PW, GR).unwrap(),
            Ids { uid: 33, gid: 34, home: Some("/var/www".into()), groups: vec![34, 50] }
        );
        assert_eq!(resolve("", PW, GR).unwrap().groups, vec![0, 50, 10]);
        assert_eq!(resolve("", PW, GR).unwrap().home.as_deref(), Some("/root"));
        assert_eq!(resolve("0", "", "").unwrap().groups, vec![0]);
        assert_eq!(resolve("1000:1000", PW, GR).unwrap().groups, vec![1000]);
        assert_eq!(resolve("1000", PW, GR).unwrap().home.as_deref(), Some("/"));
        assert_eq!(resolve("1000", PW, GR).unwrap().uid, 1000);
        assert_eq!(resolve("1000:50", PW, GR).unwrap().gid, 50);
        assert_eq!(resolve("www:staff", PW, GR).unwrap().gid, 50);
        assert!(resolve("nobody", PW, GR).is_err());
        assert!(resolve("www:nogroup", PW, GR).is_err());
    }
}
