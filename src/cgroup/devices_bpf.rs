//! The cgroup v2 device policy: a `BPF_PROG_TYPE_CGROUP_DEVICE` program
//! generated from the v1 device list the policy produces (so both versions
//! decide alike), loaded and attached to the container's cgroup directory.
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
//! u32 minor; }` where access_type is `(access << 16) | type`, and returns 1
//! to allow, 0 to deny.
use super::devices::{Access, DeviceKind, DeviceList, DevicePolicy};
use std::os::fd::OwnedFd;
use std::path::Path;

/// One eBPF instruction (struct bpf_insn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst register in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub fn dst(&self) -> u8 {
        self.regs & 0x0f
    }
    pub fn src(&self) -> u8 {
        self.regs >> 4
    }
    fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = self.regs;
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

/// The opcodes this generator emits.
pub mod op {
    /// r_dst = *(u32 *)(r_src + off)
    pub const LDX_W: u8 = 0x61;
    /// w_dst &= imm
    pub const AND32_K: u8 = 0x54;
    /// w_dst >>= imm
    pub const RSH32_K: u8 = 0x74;
    /// w_dst = w_src
    pub const MOV32_X: u8 = 0xbc;
    /// w_dst = imm
    pub const MOV32_K: u8 = 0xb4;
    /// if w_dst != imm goto +off
    pub const JNE32_K: u8 = 0x56;
    /// if w_dst == imm goto +off
    pub const JEQ32_K: u8 = 0x16;
    pub const EXIT: u8 = 0x95;
}

// Registers of the program.
const R0: u8 = 0;
const CTX: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

// include/uapi/linux/bpf.h
const BPF_DEVCG_ACC_MKNOD: i32 = 1;
const BPF_DEVCG_ACC_READ: i32 = 2;
const BPF_DEVCG_ACC_WRITE: i32 = 4;
const BPF_DEVCG_DEV_BLOCK: i32 = 1;
const BPF_DEVCG_DEV_CHAR: i32 = 2;

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: (src << 4) | (dst & 0x0f), off, imm }
}

fn bpf_access(a: Access) -> i32 {
    [(Access::READ, BPF_DEVCG_ACC_READ), (Access::WRITE, BPF_DEVCG_ACC_WRITE), (Access::MKNOD, BPF_DEVCG_ACC_MKNOD)]
        .iter()
        .filter(|(bit, _)| a.contains(*bit))
        .fold(0, |acc, (_, b)| acc | b)
}

const ALL_ACCESS: i32 = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

/// The program for a policy: the policy's v1 device list, compiled.
pub fn program(policy: &DevicePolicy) -> Vec<Insn> {
    compile(&policy.device_list())
}

/// Default verdict after one block per exception. In default-deny mode an
/// exception allows when it covers the device and the whole access asked;
/// in default-allow mode it denies when it covers the device and any of it.
pub fn compile(list: &DeviceList) -> Vec<Insn> {
    let default = i32::from(list.default_allow);
    if list.exceptions.is_empty() {
        return vec![ins(op::MOV32_K, R0, 0, 0, default), ins(op::EXIT, 0, 0, 0, 0)];
    }
    let mut p = vec![
        ins(op::LDX_W, TYPE, CTX, 0, 0),
        ins(op::AND32_K, TYPE, 0, 0, 0xffff),
        ins(op::LDX_W, ACCESS, CTX, 0, 0),
        ins(op::RSH32_K, ACCESS, 0, 0, 16),
        ins(op::LDX_W, MAJOR, CTX, 4, 0),
        ins(op::LDX_W, MINOR, CTX, 8, 0),
    ];
    for ex in &list.exceptions {
        let dev_type = match ex.kind {
            DeviceKind::Char => BPF_DEVCG_DEV_CHAR,
            DeviceKind::Block => BPF_DEVCG_DEV_BLOCK,
            DeviceKind::All => continue, // never an exception (DeviceList::apply)
        };
        let acc = bpf_access(ex.access);
        // Jumps are written with off = 0 and pointed at the next block below.
        let mut block = vec![ins(op::JNE32_K, TYPE, 0, 0, dev_type)];
        if list.default_allow {
            block.push(ins(op::MOV32_X, R0, ACCESS, 0, 0));
            block.push(ins(op::AND32_K, R0, 0, 0, acc));
            block.push(ins(op::JEQ32_K, R0, 0, 0, 0));
        } else if acc != ALL_ACCESS {
            block.push(ins(op::MOV32_X, R0, ACCESS, 0, 0));
            block.push(ins(op::AND32_K, R0, 0, 0, !acc & ALL_ACCESS));
            block.push(ins(op::JNE32_K, R0, 0, 0, 0));
        }
        // JMP32 compares the low 32 bits: a u32 number as i32 bits is exact.
        if let Some(m) = ex.major {
            block.push(ins(op::JNE32_K, MAJOR, 0, 0, m as i32));
        }
        if let Some(m) = ex.minor {
            block.push(ins(op::JNE32_K, MINOR, 0, 0, m as i32));
        }
        block.push(ins(op::MOV32_K, R0, 0, 0, 1 - default));
        block.push(ins(op::EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if insn.code == op::JNE32_K || insn.code == op::JEQ32_K {
                // at most 8 instructions ahead: fits i16
                insn.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(ins(op::MOV32_K, R0, 0, 0, default));
    p.push(ins(op::EXIT, 0, 0, 0, 0));
    p
}

#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error("open cgroup directory: {0}")]
    OpenDir(#[source] std::io::Error),
    #[error("load device program (BPF_PROG_LOAD): {source}{}", verifier_note(log))]
    Load { source: std::io::Error, log: String },
    #[error("attach device program (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE): {0}")]
    Attach(#[source] std::io::Error),
}

fn verifier_note(log: &str) -> String {
    match log.trim() {
        "" => String::new(),
        l => format!("; verifier: {l}"),
    }
}

/// Loads the policy's program and attaches it to the cgroup directory
/// `dir` (multi-attach: programs of parent cgroups still apply).
pub fn apply_v2(dir: &Path, policy: &DevicePolicy) -> Result<(), BpfError> {
    let prog = sys::load(&program(policy))?;
    let cg = std::fs::File::open(dir).map_err(BpfError::OpenDir)?;
    sys::attach(&cg, &prog)
    // the program fd closes here; the attachment keeps the program alive
}

/// The two bpf(2) calls (in `crate::sys::bpf`) with this module's errors.
pub mod sys {
    use super::{BpfError, Insn};
    use std::os::fd::{AsFd, OwnedFd};

    /// Loads a CGROUP_DEVICE program; on failure, loads it again with a
    /// verifier log to say why.
    pub fn load(insns: &[Insn]) -> Result<OwnedFd, BpfError> {
        let code: Vec<[u8; 8]> = insns.iter().map(|i| i.to_bytes()).collect();
        crate::sys::bpf::load_cgroup_device(&code, None).map_err(|source| {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = crate::sys::bpf::load_cgroup_device(&code, Some(&mut buf));
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let text = String::from_utf8_lossy(&buf[..end]);
            let last: Vec<&str> = text.lines().rev().take(4).collect();
            let log = last.into_iter().rev().collect::<Vec<_>>().join(" | ");
            BpfError::Load { source, log }
        })
    }

    /// Attaches a loaded program to a cgroup directory, with
    /// BPF_F_ALLOW_MULTI as runc does.
    pub fn attach(cgroup_dir: &std::fs::File, prog: &OwnedFd) -> Result<(), BpfError> {
        crate::sys::bpf::attach_cgroup_device(cgroup_dir.as_fd(), prog.as_fd()).map_err(BpfError::Attach)
    }
}

/// Loads the program for a policy without attaching it (proves the
/// verifier takes it).
pub fn load(policy: &DevicePolicy) -> Result<OwnedFd, BpfError> {
    sys::load(&program(policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::devices::{docker_default_rules, DeviceRule};
    use DeviceKind::{Block, Char};

    /// A tiny eBPF interpreter for the opcodes `compile` emits; r1 is the
    /// context pointer and only ever read through.
    fn run(prog: &[Insn], ctx: [u32; 3]) -> u64 {
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = prog[pc];
            pc += 1;
            let (d, s) = (i.dst() as usize, i.src() as usize);
            let jump = |taken: bool, pc: &mut usize| {
                if taken {
                    *pc = (*pc as isize + i.off as isize) as usize;
                }
            };
            match i.code {
                op::LDX_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    assert!(i.off >= 0 && i.off % 4 == 0 && i.off < 12, "ctx offset {}", i.off);
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                op::AND32_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
                op::RSH32_K => r[d] = u64::from((r[d] as u32) >> (i.imm as u32)),
                op::MOV32_X => r[d] = u64::from(r[s] as u32),
                op::MOV32_K => r[d] = u64::from(i.imm as u32),
                op::JNE32_K => jump(r[d] as u32 != i.imm as u32, &mut pc),
                op::JEQ32_K => jump(r[d] as u32 == i.imm as u32, &mut pc),
                op::EXIT => return r[0],
                c => panic!("opcode {c:#x} not expected"),
            }
            assert!(pc < prog.len(), "ran off the program");
        }
        panic!("program did not exit");
    }

    fn ask(prog: &[Insn], kind: DeviceKind, major: u32, minor: u32, access: &str) -> bool {
        let t = match kind {
            Char => BPF_DEVCG_DEV_CHAR,
            Block => BPF_DEVCG_DEV_BLOCK,
            DeviceKind::All => unreachable!(),
        } as u32;
        let a = bpf_access(access.parse().expect("access")) as u32;
        match run(prog, [(a << 16) | t, major, minor]) {
            0 => false,
            1 => true,
            v => panic!("verdict {v}"),
        }
    }

    fn with_device(extra: &str) -> DevicePolicy {
        let mut rules = docker_default_rules();
        rules.push(extra.parse().expect("rule"));
        DevicePolicy::Rules(rules)
    }

    /// program, device type, major, minor, access asked, allowed
    type Row<'a> = (&'a [Insn], DeviceKind, u32, u32, &'a str, bool);

    #[test]
    fn decision_table() {
        let (docker, fuse_rw, all) = (
            program(&DevicePolicy::Rules(docker_default_rules())),
            program(&with_device("c 10:229 rw")),
            program(&DevicePolicy::AllowAll),
        );
        let (docker, fuse_rw, all): (&[Insn], &[Insn], &[Insn]) = (&docker, &fuse_rw, &all);
        #[rustfmt::skip]
        let table: &[Row] = &[
            (docker, Char, 1, 3, "rw", true),    // null
            (docker, Char, 1, 5, "rw", true),    // zero
            (docker, Char, 1, 7, "rw", true),    // full
            (docker, Char, 1, 8, "r", true),     // random
            (docker, Char, 1, 9, "rw", true),    // urandom
            (docker, Char, 5, 0, "rw", true),    // tty
            (docker, Char, 5, 1, "rw", true),    // console
            (docker, Char, 5, 2, "rw", true),    // ptmx
            (docker, Char, 136, 0, "rw", true),  // pts
            (docker, Char, 136, 77, "rw", true),
            (docker, Char, 10, 200, "rw", true), // tun
            (docker, Char, 1, 1, "m", true),     // mknod of anything
            (docker, Block, 8, 0, "m", true),
            (docker, Block, 8, 0, "r", false),
            (docker, Block, 8, 0, "rw", false),
            (docker, Block, 8, 0, "rm", false),
            (docker, Char, 1, 1, "r", false),    // mem
            (docker, Char, 1, 1, "rw", false),
            (docker, Char, 10, 229, "rw", false),// fuse
            (docker, Char, 4, 1, "w", false),
            (docker, Block, 1, 3, "rw", false),  // block 1:3 is not null
            (fuse_rw, Char, 10, 229, "rw", true),
            (fuse_rw, Char, 10, 229, "r", true),
            (fuse_rw, Char, 10, 229, "m", true), // by the c *:* m rule
            (fuse_rw, Char, 10, 229, "rwm", false),
            (fuse_rw, Char, 10, 230, "rw", false),
            (all, Char, 1, 1, "rwm", true),
            (all, Block, 8, 0, "rw", true),
            (all, Char, 10, 229, "r", true),
        ];
        for (n, &(prog, kind, maj, min, acc, want)) in table.iter().enumerate() {
            assert_eq!(ask(prog, kind, maj, min, acc), want, "row {n}: {kind:?} {maj}:{min} {acc}");
        }
        // a --device rule without m does not grant mknod when nothing else does
        let no_m = program(&DevicePolicy::Rules(vec!["c 10:229 rw".parse().expect("rule")]));
        assert!(ask(&no_m, Char, 10, 229, "rw"));
        assert!(!ask(&no_m, Char, 10, 229, "m"));
        assert_eq!(all.len(), 2, "allow-all is `return 1`");
    }

    /// The program decides as the v1 list does, over many rule sets.
    #[test]
    fn program_equals_v1_list() {
        let deny = |s: &str| DeviceRule::parse(s, false).expect("rule");
        let allow = |s: &str| DeviceRule::parse(s, true).expect("rule");
        let policies = [
            DevicePolicy::Rules(docker_default_rules()),
            with_device("b 8:0 r"),
            with_device("c *:* rw"),
            DevicePolicy::AllowAll,
            DevicePolicy::Rules(vec![]),
            DevicePolicy::Rules(vec![allow("a"), deny("c 1:3 w"), deny("b *:* m"), deny("c 136:* rwm")]),
            DevicePolicy::Rules(vec![allow("c 1:* rw"), deny("c 1:* w"), allow("b 8:* m"), allow("c 4294967295:1 r")]),
            DevicePolicy::Rules(vec![allow("c 1:3 r"), allow("c 1:3 w"), deny("c 1:3 r"), deny("a"), allow("b 7:0 rwm")]),
        ];
        let accesses = ["r", "w", "m", "rw", "rm", "wm", "rwm"];
        let devices = [(1, 3), (1, 1), (1, 7), (8, 0), (7, 0), (136, 3), (10, 229), (4294967295, 1), (0, 0)];
        for policy in &policies {
            let list = policy.device_list();
            let prog = compile(&list);
            for kind in [Char, Block] {
                for &(maj, min) in &devices {
                    for acc in accesses {
                        let want = list.permits(kind, maj, min, acc.parse().expect("access"));
                        assert_eq!(ask(&prog, kind, maj, min, acc), want, "{policy:?}: {kind:?} {maj}:{min} {acc}");
                    }
                }
            }
        }
    }

    /// Where cgroup2 is mounted here, if it is.
    fn cgroup2_root() -> Option<&'static Path> {
        ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].into_iter().map(Path::new).find(|p| {
            nix::sys::statfs::statfs(*p).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        })
    }

    /// A test cgroup2 directory, removed on drop.
    struct TestDir(std::path::PathBuf);
    impl Drop for TestDir {
        fn drop(&mut self) {
            for _ in 0..100 {
                match std::fs::remove_dir(&self.0) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    _ => return,
                }
            }
        }
    }

    /// Forks a child that joins `dir` and opens /dev/null and /dev/full
    /// read-write; returns (null opened, full opened).
    fn probe(dir: &Path) -> (bool, bool) {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let procs = CString::new(dir.join("cgroup.procs").as_os_str().as_bytes()).expect("path");
        let null = c"/dev/null";
        let full = c"/dev/full";
        // SAFETY: the child only calls async-signal-safe functions (open,
        // write, close, _exit) on data prepared before the fork.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: plain syscalls on valid NUL-terminated strings; the
            // child never returns into the test harness.
            unsafe {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    libc::_exit(64);
                }
                libc::close(fd);
                let mut code = 0;
                for (bit, path) in [(1, null), (2, full)] {
                    let fd = libc::open(path.as_ptr(), libc::O_RDWR);
                    if fd >= 0 {
                        code |= bit;
                        libc::close(fd);
                    }
                }
                libc::_exit(code);
            }
        }
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).expect("waitpid");
        match status {
            nix::sys::wait::WaitStatus::Exited(_, 64) => panic!("child could not join {}", dir.display()),
            nix::sys::wait::WaitStatus::Exited(_, c) => (c & 1 != 0, c & 2 != 0),
            s => panic!("child: {s:?}"),
        }
    }

    /// Loads and attaches for real where the kernel lets us (root and a
    /// cgroup2 mount, hybrid or unified); skips with a note otherwise.
    #[test]
    fn real_cgroup2_attach() {
        // The verifier must take every program we make.
        let without_full = DevicePolicy::Rules(
            docker_default_rules().into_iter().filter(|r| (r.major, r.minor) != (Some(1), Some(7))).collect(),
        );
        let policies = [DevicePolicy::Rules(docker_default_rules()), without_full.clone(), DevicePolicy::AllowAll];
        if !nix::unistd::geteuid().is_root() {
            eprintln!("real_cgroup2_attach: not root, skipped");
            return;
        }
        for p in &policies {
            load(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        }
        // A rejected program is reported with the verifier's last words.
        let e = sys::load(&[ins(op::EXIT, 0, 0, 0, 0)]).expect_err("exit without r0");
        assert!(e.to_string().contains("verifier: ") && e.to_string().contains("R0"), "{e}");
        let Some(root) = cgroup2_root() else {
            eprintln!("real_cgroup2_attach: no cgroup2 mount, load tested only");
            return;
        };
        let make = |tag: &str| {
            let d = root.join(format!("bocker-devtest-{}-{tag}", std::process::id()));
            std::fs::create_dir(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
            TestDir(d)
        };
        let plain = make("plain");
        assert_eq!(probe(&plain.0), (true, true), "without a program both open");
        let omit = make("omit");
        apply_v2(&omit.0, &without_full).expect("attach");
        assert_eq!(probe(&omit.0), (true, false), "/dev/full denied when its rule is left out");
        let docker = make("docker");
        apply_v2(&docker.0, &DevicePolicy::Rules(docker_default_rules())).expect("attach");
        assert_eq!(probe(&docker.0), (true, true), "/dev/full allowed by the default list");
    }
}
