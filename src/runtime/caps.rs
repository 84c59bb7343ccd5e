//! Capabilities: Docker's default set adjusted by `--cap-add`/`--cap-drop`
//! (or all of them with `--privileged`); everything else leaves the
//! bounding set; the inheritable set is empty. Raw prctl/capset only:
//! async-signal-safe, fit for the container's init and exec children.
use crate::state::containers::Security;
use crate::sys::caps as sys;

/// Capability names by number (linux/capability.h, up to CAP_CHECKPOINT_RESTORE).
pub const NAMES: &[&str] = &[
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capabilities (moby's oci/caps/defaults.go).
pub const DEFAULT_CAPS: &[u32] = &[0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31];

const LAST_CAP: u32 = 63;

/// A set of capability numbers (bit N = capability N).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    pub fn docker_default() -> CapSet {
        CapSet(DEFAULT_CAPS.iter().fold(0, |m, &c| m | 1 << c))
    }
    pub fn all() -> CapSet {
        CapSet((1u64 << NAMES.len()) - 1)
    }
    pub fn has(&self, cap: u32) -> bool {
        cap <= LAST_CAP && self.0 & (1 << cap) != 0
    }
    pub fn names(&self) -> Vec<&'static str> {
        (0..NAMES.len() as u32).filter(|c| self.has(*c)).map(|c| NAMES[c as usize]).collect()
    }
}

/// `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL`.
pub fn normalize_name(name: &str) -> Result<String, String> {
    let up = name.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let full = if up.starts_with("CAP_") { up } else { format!("CAP_{up}") };
    if NAMES.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(format!("invalid capability: {name}"))
    }
}

fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|p| p as u32)
}

/// The capabilities a container's processes get: Docker's rule is that
/// drops apply to the default set first, then adds (so `--cap-drop ALL
/// --cap-add NET_ADMIN` leaves exactly NET_ADMIN).
pub fn resolve(sec: &Security) -> CapSet {
    if sec.privileged {
        return CapSet::all();
    }
    let mut set = CapSet::docker_default();
    for d in &sec.cap_drop {
        match d.as_str() {
            "ALL" => set = CapSet(0),
            n => {
                if let Some(c) = number(n) {
                    set.0 &= !(1 << c);
                }
            }
        }
    }
    for a in &sec.cap_add {
        match a.as_str() {
            "ALL" => set = CapSet::all(),
            n => {
                if let Some(c) = number(n) {
                    set.0 |= 1 << c;
                }
            }
        }
    }
    set
}

/// Drops every capability outside `set` from the bounding set.
pub fn drop_bounding(set: CapSet) -> Result<(), String> {
    for cap in 0..=LAST_CAP {
        if set.has(cap) {
            continue;
        }
        // EINVAL: this kernel has no such cap, nor any above it (they are
        // numbered without gaps), so the rest need no call
        match sys::drop_bounding(cap) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => return Err(format!("drop capability {cap}: {e}")),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// The calling thread's permitted set.
fn permitted() -> Result<CapSet, String> {
    let sets = sys::get().map_err(|e| format!("capget: {e}"))?;
    Ok(CapSet(sets.permitted))
}

/// Sets the effective and permitted sets to `set` (as far as this process
/// holds them: a sandboxed host may lack some) and clears the
/// inheritable set (and so the ambient one).
pub fn apply(set: CapSet) -> Result<(), String> {
    let set = CapSet(set.0 & permitted()?.0);
    sys::set(sys::Sets { effective: set.0, permitted: set.0, inheritable: 0 }).map_err(|e| format!("capset: {e}"))
}

/// Sets the effective, permitted and inheritable sets (each as far as
/// this process holds it: a sandboxed host may lack some capabilities),
/// then raises the ambient ones (which must be permitted and inheritable).
pub fn apply_sets(effective: CapSet, permit: CapSet, inheritable: CapSet, ambient: CapSet) -> Result<(), String> {
    let held = permitted()?.0;
    let perm = permit.0 & held;
    let eff = effective.0 & perm;
    let inh = inheritable.0 & held;
    sys::set(sys::Sets { effective: eff, permitted: perm, inheritable: inh }).map_err(|e| format!("capset: {e}"))?;
    for cap in 0..=LAST_CAP {
        if ambient.has(cap) && perm & (1 << cap) != 0 && inh & (1 << cap) != 0 {
            sys::raise_ambient(cap).map_err(|e| format!("raise ambient capability {cap}: {e}"))?;
        }
    }
    Ok(())
}

/// Sets no_new_privs: setuid binaries and file capabilities stop working.
pub fn set_no_new_privs() -> Result<(), String> {
    sys::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))
}

/// Keeps permitted capabilities across the setuid to a non-root user, so
/// the set can be applied after switching users (as runc does).
pub fn keep_caps(on: bool) -> Result<(), String> {
    sys::set_keep_caps(on).map_err(|e| format!("keepcaps: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(add: &[&str], drop: &[&str]) -> Security {
        Security {
            cap_add: add.iter().map(|s| normalize_name(s).unwrap()).collect(),
            cap_drop: drop.iter().map(|s| normalize_name(s).unwrap()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn names() {
        assert_eq!(normalize_name("net_admin").unwrap(), "CAP_NET_ADMIN");
        assert_eq!(normalize_name("CAP_SYS_ADMIN").unwrap(), "CAP_SYS_ADMIN");
        assert_eq!(normalize_name("all").unwrap(), "ALL");
        assert!(normalize_name("NET_ADMN").is_err());
        assert_eq!(NAMES[21], "CAP_SYS_ADMIN");
        assert_eq!(NAMES[40], "CAP_CHECKPOINT_RESTORE");
    }

    #[test]
    fn docker_rules() {
        assert_eq!(resolve(&Security::default()), CapSet::docker_default());
        assert_eq!(resolve(&Security::default()).0, 0xa80425fb); // Docker's CapEff
        assert_eq!(resolve(&sec(&[], &["ALL"])), CapSet(0));
        assert_eq!(resolve(&sec(&["NET_ADMIN"], &["ALL"])), CapSet(1 << 12));
        let s = resolve(&sec(&["net_admin"], &["chown"]));
        assert!(s.has(12) && !s.has(0) && s.has(1));
        assert_eq!(resolve(&sec(&["ALL"], &[])), CapSet::all());
        let p = Security { privileged: true, ..Default::default() };
        assert_eq!(resolve(&p).0, 0x1ff_ffff_ffff);
    }
}
