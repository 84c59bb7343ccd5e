//! Capability syscalls: capget/capset (version 3), the bounding and
//! ambient sets, keepcaps and no_new_privs.

use super::check;
use std::io;

/// _LINUX_CAPABILITY_VERSION_3: two data structs (caps 0-31, 32-63).
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's three sets as 64-bit masks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// `capget` of the calling thread.
pub fn get() -> io::Result<Sets> {
    let mut hdr = CapHeader { version: VERSION_3, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: a header and two writable data structs, as capget(2)
    // expects for version 3.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut CapHeader, data.as_mut_ptr()) };
    check(r as libc::c_int)?;
    let join = |f: fn(&CapData) -> u32| f(&data[0]) as u64 | (f(&data[1]) as u64) << 32;
    Ok(Sets { effective: join(|d| d.effective), permitted: join(|d| d.permitted), inheritable: join(|d| d.inheritable) })
}

/// `capset` of the calling thread.
pub fn set(s: Sets) -> io::Result<()> {
    let mut hdr = CapHeader { version: VERSION_3, pid: 0 };
    let data = [
        CapData { effective: s.effective as u32, permitted: s.permitted as u32, inheritable: s.inheritable as u32 },
        CapData { effective: (s.effective >> 32) as u32, permitted: (s.permitted >> 32) as u32, inheritable: (s.inheritable >> 32) as u32 },
    ];
    // SAFETY: a header and two data structs, as capset(2) expects for
    // version 3; the kernel only reads the data.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    check(r as libc::c_int)
}

/// Drops `cap` from the bounding set (`PR_CAPBSET_DROP`).
pub fn drop_bounding(cap: u32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) })
}

/// Raises `cap` in the ambient set (`PR_CAP_AMBIENT_RAISE`).
pub fn raise_ambient(cap: u32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap as libc::c_ulong, 0, 0) })
}

/// Sets no_new_privs (`PR_SET_NO_NEW_PRIVS`); it cannot be unset.
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
}

/// `PR_SET_KEEPCAPS`: keep permitted capabilities across a setuid.
pub fn set_keep_caps(on: bool) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong, 0, 0, 0) })
}
