//! Capabilities: Docker's default set, everything else dropped from the
//! bounding set; no_new_privs. Raw prctl/capset: async-signal-safe.

/// Docker's default capabilities (moby/oci/caps/defaults.go).
pub const DEFAULT_CAPS: &[u32] = &[
    0,  // CAP_CHOWN
    1,  // CAP_DAC_OVERRIDE
    3,  // CAP_FOWNER
    4,  // CAP_FSETID
    5,  // CAP_KILL
    6,  // CAP_SETGID
    7,  // CAP_SETUID
    8,  // CAP_SETPCAP
    10, // CAP_NET_BIND_SERVICE
    13, // CAP_NET_RAW
    18, // CAP_SYS_CHROOT
    27, // CAP_MKNOD
    29, // CAP_AUDIT_WRITE
    31, // CAP_SETFCAP
];

const LAST_CAP: u32 = 63;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drops every capability outside DEFAULT_CAPS from the bounding set and
/// the effective/permitted/inheritable sets, then sets no_new_privs.
pub fn apply_default() -> Result<(), String> {
    for cap in 0..=LAST_CAP {
        if DEFAULT_CAPS.contains(&cap) {
            continue;
        }
        // SAFETY: plain prctl; EINVAL for caps this kernel lacks is fine.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return Err(format!("drop capability {cap}: {}", std::io::Error::last_os_error()));
        }
    }
    let mut lo = 0u32;
    let mut hi = 0u32;
    for &c in DEFAULT_CAPS {
        if c < 32 {
            lo |= 1 << c;
        } else {
            hi |= 1 << (c - 32);
        }
    }
    let mut hdr = CapHeader { version: 0x2008_0522, pid: 0 }; // _LINUX_CAPABILITY_VERSION_3
    let data = [
        CapData { effective: lo, permitted: lo, inheritable: lo },
        CapData { effective: hi, permitted: hi, inheritable: hi },
    ];
    // SAFETY: header and two data structs as capset(2) expects for v3.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(format!("capset: {}", std::io::Error::last_os_error()));
    }
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r != 0 {
        return Err(format!("no_new_privs: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}
