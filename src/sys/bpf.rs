//! The two bpf(2) calls of the cgroup v2 device policy: load a
//! CGROUP_DEVICE program, attach it to a cgroup.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
/// bocker's own license (GPL-3.0-or-later); runc passes "Apache". The
/// program calls no helper, so the string only labels it.
const LICENSE: &[u8] = b"GPL\0";

/// The BPF_PROG_LOAD part of union bpf_attr.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// The BPF_PROG_ATTACH part of union bpf_attr.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// Loads a CGROUP_DEVICE program named "bocker_dev" from its encoded
/// instructions; with `log`, the verifier writes its log there.
pub fn load_cgroup_device(code: &[[u8; 8]], log: Option<&mut [u8]>) -> io::Result<OwnedFd> {
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: code.len() as u32,
        insns: code.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        ..Default::default()
    };
    attr.prog_name[..10].copy_from_slice(b"bocker_dev");
    if let Some(buf) = log {
        attr.log_level = 1;
        attr.log_size = buf.len() as u32;
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    // SAFETY: attr is a valid, fully initialized prefix of union bpf_attr
    // for BPF_PROG_LOAD and its size is passed; the instruction, license
    // and log buffers it points to outlive the call (log_size is the log
    // buffer's real length).
    super::owned(unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_LOAD, &attr as *const ProgLoadAttr, size_of::<ProgLoadAttr>()) })
}

/// Attaches a loaded CGROUP_DEVICE program to the cgroup directory
/// `cgroup`, with BPF_F_ALLOW_MULTI as runc does.
pub fn attach_cgroup_device(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is a valid BPF_PROG_ATTACH prefix of union bpf_attr
    // whose size is passed; both fds are open for the whole call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_ATTACH, &attr as *const ProgAttachAttr, size_of::<ProgAttachAttr>()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
