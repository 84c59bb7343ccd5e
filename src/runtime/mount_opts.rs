//! An OCI mount's `options` as mount(2) sees them: flags to set, flags to
//! clear, propagation changes, recursive bind or not, and the rest as the
//! filesystem's data string (as mount(8) reads its -o list).
use nix::mount::MsFlags;

#[derive(Debug, Clone, PartialEq)]
pub struct MountOptions {
    /// flags set by the options (ro, nosuid, …)
    pub flags: MsFlags,
    /// flags the options clear (rw, suid, …), for a remount
    pub cleared: MsFlags,
    /// MS_PRIVATE, MS_SLAVE, … (with MS_REC for the r- forms), in order
    pub propagation: Vec<MsFlags>,
    /// a bind mount (`bind` or `rbind`)
    pub bind: bool,
    /// `rbind`
    pub recursive: bool,
    /// `tmpcopyup` (crun's, podman's): a new tmpfs gets a copy of what the
    /// image has at the destination
    pub copy_up: bool,
    /// everything else, for the filesystem (`mode=755`, `size=64k`, …)
    pub data: Vec<String>,
}

/// Options that change the mount's flags: (name, set?, flag).
const FLAGS: &[(&str, bool, MsFlags)] = &[
    ("ro", true, MsFlags::MS_RDONLY),
    ("rw", false, MsFlags::MS_RDONLY),
    ("nosuid", true, MsFlags::MS_NOSUID),
    ("suid", false, MsFlags::MS_NOSUID),
    ("nodev", true, MsFlags::MS_NODEV),
    ("dev", false, MsFlags::MS_NODEV),
    ("noexec", true, MsFlags::MS_NOEXEC),
    ("exec", false, MsFlags::MS_NOEXEC),
    ("sync", true, MsFlags::MS_SYNCHRONOUS),
    ("async", false, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", true, MsFlags::MS_DIRSYNC),
    ("mand", true, MsFlags::MS_MANDLOCK),
    ("nomand", false, MsFlags::MS_MANDLOCK),
    ("noatime", true, MsFlags::MS_NOATIME),
    ("atime", false, MsFlags::MS_NOATIME),
    ("nodiratime", true, MsFlags::MS_NODIRATIME),
    ("diratime", false, MsFlags::MS_NODIRATIME),
    ("relatime", true, MsFlags::MS_RELATIME),
    ("norelatime", false, MsFlags::MS_RELATIME),
    ("strictatime", true, MsFlags::MS_STRICTATIME),
    ("nostrictatime", false, MsFlags::MS_STRICTATIME),
    ("silent", true, MsFlags::MS_SILENT),
    ("loud", false, MsFlags::MS_SILENT),
];

const PROPAGATION: &[(&str, MsFlags)] = &[
    ("private", MsFlags::MS_PRIVATE),
    ("shared", MsFlags::MS_SHARED),
    ("slave", MsFlags::MS_SLAVE),
    ("unbindable", MsFlags::MS_UNBINDABLE),
];

/// Options no kernel mount call knows and bocker does not implement:
/// refused, so a configuration never silently means less than it says.
const REFUSED: &[&str] = &["idmap", "ridmap", "copyup", "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnoatime", "ratime", "rrelatime", "rnorelatime", "rnodiratime", "rdiratime", "rstrictatime", "rnostrictatime", "nosymfollow", "rnosymfollow"];

/// Every option name this parser takes as a flag (for `features`).
pub fn known_options() -> Vec<&'static str> {
    let mut v: Vec<&str> = FLAGS.iter().map(|f| f.0).collect();
    for (p, _) in PROPAGATION {
        v.push(p);
    }
    v.extend(["rprivate", "rshared", "rslave", "runbindable", "bind", "rbind", "defaults", "tmpcopyup"]);
    v
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions { flags: MsFlags::empty(), cleared: MsFlags::empty(), propagation: Vec::new(), bind: false, recursive: false, copy_up: false, data: Vec::new() }
    }
}

pub fn parse(options: &[String]) -> Result<MountOptions, String> {
    let mut o = MountOptions::default();
    for opt in options {
        let opt = opt.as_str();
        if let Some((_, set, flag)) = FLAGS.iter().find(|f| f.0 == opt) {
            if *set {
                o.flags |= *flag;
                o.cleared &= !*flag;
            } else {
                o.flags &= !*flag;
                o.cleared |= *flag;
            }
            continue;
        }
        if let Some((_, p)) = PROPAGATION.iter().find(|p| p.0 == opt) {
            o.propagation.push(*p);
            continue;
        }
        if let Some((_, p)) = opt.strip_prefix('r').and_then(|rest| PROPAGATION.iter().find(|p| p.0 == rest)) {
            o.propagation.push(*p | MsFlags::MS_REC);
            continue;
        }
        match opt {
            "bind" => o.bind = true,
            "rbind" => {
                o.bind = true;
                o.recursive = true;
            }
            "tmpcopyup" => o.copy_up = true,
            "defaults" | "" => {}
            "remount" => return Err("mount option \"remount\" is not supported".into()),
            _ if REFUSED.contains(&opt) => return Err(format!("mount option \"{opt}\" is not supported")),
            _ => o.data.push(opt.to_string()),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }
    #[test]
    fn flags_data_and_propagation() {
        let o = p(&["nosuid", "noexec", "nodev", "mode=755", "size=65536k", "ro"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV | MsFlags::MS_RDONLY);
        assert_eq!(o.data, vec!["mode=755", "size=65536k"]);
        assert!(!o.bind);
        let o = p(&["rbind", "rprivate", "ro", "rw"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.flags, MsFlags::empty());
        assert_eq!(o.cleared, MsFlags::MS_RDONLY);
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        let o = p(&["bind", "slave", "runbindable"]);
        assert!(o.bind && !o.recursive);
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE, MsFlags::MS_UNBINDABLE | MsFlags::MS_REC]);
        assert!(parse(&["idmap".to_string()]).is_err());
        assert!(p(&["tmpcopyup"]).copy_up);
    }
}
