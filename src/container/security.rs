//! Confinement flags as Docker spells them (`--privileged`, `--cap-add`,
//! `--cap-drop`, `--security-opt`, `--read-only`, `--device`) turned into
//! the container record's [`Security`], checked at create so a typo fails
//! before anything starts.
use super::CreateSpec;
use crate::runtime::caps;
use crate::state::containers::{DeviceSpec, Seccomp, Security};

/// Builds the record's confinement from a create spec.
pub fn from_create_spec(spec: &CreateSpec) -> Result<Security, String> {
    let mut sec = Security {
        privileged: spec.privileged,
        read_only: spec.read_only,
        ..Default::default()
    };
    for (list, out) in [(&spec.cap_add, &mut sec.cap_add), (&spec.cap_drop, &mut sec.cap_drop)] {
        for name in list {
            out.push(caps::normalize_name(name)?);
        }
    }
    if spec.privileged {
        sec.seccomp = Seccomp::Unconfined;
    }
    for opt in &spec.security_opt {
        apply_security_opt(&mut sec, opt)?;
    }
    for d in &spec.devices {
        let dev = parse_device(d)?;
        crate::cgroup::devices::host_device(std::path::Path::new(&dev.host)).map_err(|e| e.to_string())?;
        sec.devices.push(dev);
    }
    Ok(sec)
}

/// One `--security-opt` value.
fn apply_security_opt(sec: &mut Security, opt: &str) -> Result<(), String> {
    // Docker accepts both KEY=VALUE and the older KEY:VALUE
    let (key, value) = match opt.split_once('=').or_else(|| opt.split_once(':')) {
        Some((k, v)) => (k, Some(v)),
        None => (opt, None),
    };
    match (key, value) {
        ("no-new-privileges", None) => sec.no_new_privileges = true,
        ("no-new-privileges", Some(v)) => {
            sec.no_new_privileges = match v {
                "true" => true,
                "false" => false,
                _ => return Err(format!("invalid --security-opt {opt}: no-new-privileges takes true or false")),
            }
        }
        ("seccomp", Some("unconfined")) => sec.seccomp = Seccomp::Unconfined,
        ("seccomp", Some("")) | ("seccomp", None) => {
            return Err(format!("invalid --security-opt {opt}: seccomp needs unconfined or a profile file"))
        }
        ("seccomp", Some(path)) => {
            let json = std::fs::read_to_string(path)
                .map_err(|e| format!("opening seccomp profile ({path}) failed: {e}"))?;
            crate::runtime::seccomp::check_profile(&json)
                .map_err(|e| format!("seccomp profile {path}: {e}"))?;
            sec.seccomp = Seccomp::Profile { json };
        }
        ("apparmor" | "label" | "systempaths" | "mask" | "unmask", _) => {
            return Err(format!("invalid --security-opt {opt}: {key} is not supported by bocker"))
        }
        _ => return Err(format!("invalid --security-opt: {opt}")),
    }
    Ok(())
}

/// `HOST[:CONTAINER][:PERMISSIONS]`, as `docker run --device` takes it.
pub fn parse_device(s: &str) -> Result<DeviceSpec, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let is_perms = |p: &str| p.parse::<crate::cgroup::devices::Access>().is_ok();
    let (host, container, permissions) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if is_perms(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => return Err(format!("invalid device specification: {s}")),
    };
    if !host.starts_with('/') || !container.starts_with('/') {
        return Err(format!("invalid device specification: {s}: paths must be absolute"));
    }
    if !is_perms(permissions) {
        return Err(format!("invalid device mode: {permissions}"));
    }
    if container.split('/').any(|c| c == "..") {
        return Err(format!("invalid device specification: {s}: '..' in the container path"));
    }
    Ok(DeviceSpec { host: host.into(), container: container.into(), permissions: permissions.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_forms() {
        let d = parse_device("/dev/fuse").unwrap();
        assert_eq!((d.host.as_str(), d.container.as_str(), d.permissions.as_str()), ("/dev/fuse", "/dev/fuse", "rwm"));
        let d = parse_device("/dev/sda:/dev/xvda").unwrap();
        assert_eq!((d.container.as_str(), d.permissions.as_str()), ("/dev/xvda", "rwm"));
        let d = parse_device("/dev/sda:r").unwrap();
        assert_eq!((d.container.as_str(), d.permissions.as_str()), ("/dev/sda", "r"));
        let d = parse_device("/dev/sda:/dev/xvda:rw").unwrap();
        assert_eq!(d.permissions, "rw");
        assert!(parse_device("dev/sda").is_err());
        assert!(parse_device("/dev/sda:/dev/x:rwx").is_err());
        assert!(parse_device("/dev/sda:/dev/../etc/x").is_err());
        assert!(parse_device("/a:/b:r:w").is_err());
    }

    #[test]
    fn security_opts() {
        let mut s = Security::default();
        apply_security_opt(&mut s, "no-new-privileges").unwrap();
        assert!(s.no_new_privileges);
        apply_security_opt(&mut s, "no-new-privileges=false").unwrap();
        assert!(!s.no_new_privileges);
        apply_security_opt(&mut s, "no-new-privileges:true").unwrap();
        assert!(s.no_new_privileges);
        apply_security_opt(&mut s, "seccomp=unconfined").unwrap();
        assert_eq!(s.seccomp, Seccomp::Unconfined);
        assert!(apply_security_opt(&mut s, "seccomp=/nonexistent.json").unwrap_err().contains("/nonexistent.json"));
        assert!(apply_security_opt(&mut s, "apparmor=x").unwrap_err().contains("not supported"));
        assert!(apply_security_opt(&mut s, "bogus").is_err());
        assert!(apply_security_opt(&mut s, "no-new-privileges=maybe").is_err());
    }
}
