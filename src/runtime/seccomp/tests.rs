//! Tests: profile parsing, and the decisions of compiled filters, run in a
//! small classic-BPF interpreter over `struct seccomp_data` inputs.
use super::*;
use crate::runtime::caps::CapSet;

const AUDIT_X86_64: u32 = 0xc000_003e;
const AUDIT_I386: u32 = 0x4000_0003;
const AUDIT_AARCH64: u32 = 0xc000_00b7;

const ALLOW: u32 = 0x7fff_0000;
const KILL_PROCESS: u32 = 0x8000_0000;
const fn errno(e: i32) -> u32 {
    0x0005_0000 | e as u32
}
const EPERM: u32 = errno(libc::EPERM);
const ENOSYS: u32 = errno(libc::ENOSYS);

const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_PTRACE: u32 = 19;

/// Runs a seccomp program over (arch, nr, args) and returns its verdict.
/// Covers what the generator emits (LD W ABS, ALU AND K, JA/JEQ/JGT/JGE K,
/// RET K) and panics on anything else, on jumps out of the program and on
/// running off its end.
fn run(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    data[8..16].copy_from_slice(&0x4000_1000u64.to_le_bytes()); // instruction_pointer
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    loop {
        let f = prog.get(pc).unwrap_or_else(|| panic!("ran off the program at {pc}"));
        pc += 1;
        match f.code {
            0x20 => {
                let k = f.k as usize;
                assert!(k.is_multiple_of(4) && k + 4 <= 64, "bad load offset {k}");
                acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
            }
            0x54 => acc &= f.k,
            0x06 => return f.k,
            0x05 => pc += f.k as usize,
            0x15 | 0x25 | 0x35 => {
                let taken = match f.code {
                    0x15 => acc == f.k,
                    0x25 => acc > f.k,
                    _ => acc >= f.k,
                };
                pc += usize::from(if taken { f.jt } else { f.jf });
            }
            other => panic!("unexpected BPF opcode {other:#x} at {}", pc - 1),
        }
        assert!(pc < prog.len(), "jump out of the program");
    }
}

fn nr(name: &str) -> u32 {
    arch::X86_64.syscall(name).unwrap_or_else(|| panic!("no syscall {name}"))
}

fn default_filter(caps: CapSet) -> Filter {
    compile(&Seccomp::Default, caps).expect("default profile compiles").expect("a filter")
}

fn with(caps: &[u32]) -> CapSet {
    CapSet(caps.iter().fold(CapSet::docker_default().0, |m, c| m | 1 << c))
}

fn decide(f: &Filter, name: &str, args: [u64; 6]) -> u32 {
    run(f.instructions(), AUDIT_X86_64, nr(name), args)
}

const NO_ARGS: [u64; 6] = [0; 6];
const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
const CLONE_NEWNS: u64 = libc::CLONE_NEWNS as u64;
const SIGCHLD: u64 = libc::SIGCHLD as u64;

#[test]
fn syscall_table_is_sorted_and_unique() {
    let t = arch::X86_64.table();
    assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "table must be sorted by name without duplicates");
    assert_eq!(nr("read"), 0);
    assert_eq!(nr("clone3"), 435);
    assert_eq!(nr("set_mempolicy_home_node"), 450);
    assert_eq!(arch::X86_64.syscall("chown32"), None);
}

#[test]
fn default_profile_parses_as_moby_wrote_it() {
    let p = profile::parse(DEFAULT_PROFILE).unwrap();
    assert_eq!(p.default_action, "SCMP_ACT_ERRNO");
    assert_eq!(p.default_errno_ret, Some(1));
    assert_eq!(p.arch_map.len(), 8);
    assert_eq!(p.syscalls.len(), 31);
    assert_eq!(p.syscalls[0].names.len(), 349);
    let clone3 = p.syscalls.iter().find(|s| s.names == ["clone3"]).unwrap();
    assert_eq!((clone3.action.as_str(), clone3.errno_ret), ("SCMP_ACT_ERRNO", Some(38)));
    assert_eq!(clone3.excludes.caps, ["CAP_SYS_ADMIN"]);
}

#[test]
fn default_filter_decisions() {
    let f = default_filter(CapSet::docker_default());
    let cases: &[(&str, [u64; 6], u32)] = &[
        ("read", NO_ARGS, ALLOW),
        ("write", NO_ARGS, ALLOW),
        ("getpid", NO_ARGS, ALLOW),
        ("arch_prctl", NO_ARGS, ALLOW),
        ("modify_ldt", NO_ARGS, ALLOW),
        ("mount", NO_ARGS, EPERM),
        ("umount2", NO_ARGS, EPERM),
        ("unshare", [CLONE_NEWUSER, 0, 0, 0, 0, 0], EPERM),
        ("setns", NO_ARGS, EPERM),
        ("clone", [SIGCHLD, 0, 0, 0, 0, 0], ALLOW),
        ("clone", [CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0, 0], EPERM),
        ("clone", [CLONE_NEWNS, 0, 0, 0, 0, 0], EPERM),
        // threads: CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|...
        ("clone", [0x3d0f00, 0, 0, 0, 0, 0], ALLOW),
        // the mask has no high bits: they are not checked
        ("clone", [1 << 40, 0, 0, 0, 0, 0], ALLOW),
        ("clone3", NO_ARGS, ENOSYS),
        ("personality", [0, 0, 0, 0, 0, 0], ALLOW),
        ("personality", [8, 0, 0, 0, 0, 0], ALLOW),
        ("personality", [0x20000, 0, 0, 0, 0, 0], ALLOW),
        ("personality", [0x20008, 0, 0, 0, 0, 0], ALLOW),
        ("personality", [0xffff_ffff, 0, 0, 0, 0, 0], ALLOW),
        ("personality", [0x0040000, 0, 0, 0, 0, 0], EPERM), // ADDR_NO_RANDOMIZE
        ("personality", [1, 0, 0, 0, 0, 0], EPERM),
        ("personality", [0x1_0000_0008, 0, 0, 0, 0, 0], EPERM),
        ("socket", [libc::AF_INET as u64, 1, 0, 0, 0, 0], ALLOW),
        ("socket", [libc::AF_VSOCK as u64, 1, 0, 0, 0, 0], EPERM),
        ("socket", [libc::AF_VSOCK as u64 | 1 << 32, 1, 0, 0, 0, 0], ALLOW),
        ("kexec_load", NO_ARGS, EPERM),
        ("add_key", NO_ARGS, EPERM),
        ("keyctl", NO_ARGS, EPERM),
        ("request_key", NO_ARGS, EPERM),
        ("open_by_handle_at", NO_ARGS, EPERM),
        ("ptrace", NO_ARGS, ALLOW), // minKernel 4.8
        ("kcmp", NO_ARGS, EPERM),
        ("reboot", NO_ARGS, EPERM),
        ("chroot", NO_ARGS, ALLOW), // CAP_SYS_CHROOT is a default capability
        ("bpf", NO_ARGS, EPERM),
        ("fchmodat2", NO_ARGS, EPERM), // newer than this profile
    ];
    for (name, args, want) in cases {
        assert_eq!(decide(&f, name, *args), *want, "{name}({args:x?})");
    }
    // numbers past the table, and a syscall number no arch has
    assert_eq!(run(f.instructions(), AUDIT_X86_64, 1000, NO_ARGS), EPERM);
    assert_eq!(run(f.instructions(), AUDIT_X86_64, u32::MAX, NO_ARGS), EPERM);
}

#[test]
fn default_filter_rejects_other_abis() {
    let f = default_filter(CapSet::docker_default());
    for arch in [AUDIT_I386, AUDIT_AARCH64, 0] {
        assert_eq!(run(f.instructions(), arch, 0, NO_ARGS), KILL_PROCESS, "arch {arch:#x}");
    }
    // x32: read with __X32_SYSCALL_BIT
    assert_eq!(run(f.instructions(), AUDIT_X86_64, 0x4000_0000, NO_ARGS), KILL_PROCESS);
    assert_eq!(run(f.instructions(), AUDIT_X86_64, 0x4000_0000 + 39, NO_ARGS), KILL_PROCESS);
}

#[test]
fn capabilities_open_up_rules() {
    let admin = default_filter(with(&[CAP_SYS_ADMIN]));
    assert_eq!(decide(&admin, "mount", NO_ARGS), ALLOW);
    assert_eq!(decide(&admin, "unshare", [CLONE_NEWUSER, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&admin, "clone", [CLONE_NEWUSER, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&admin, "clone3", NO_ARGS), ALLOW);
    assert_eq!(decide(&admin, "bpf", NO_ARGS), ALLOW);
    assert_eq!(decide(&admin, "kexec_load", NO_ARGS), EPERM);

    let ptrace = default_filter(with(&[CAP_SYS_PTRACE]));
    assert_eq!(decide(&ptrace, "kcmp", NO_ARGS), ALLOW);
    assert_eq!(decide(&ptrace, "mount", NO_ARGS), EPERM);

    let dac = default_filter(with(&[CAP_DAC_READ_SEARCH]));
    assert_eq!(decide(&dac, "open_by_handle_at", NO_ARGS), ALLOW);

    // without CAP_SYS_CHROOT (docker run --cap-drop sys_chroot)
    let none = default_filter(CapSet(0));
    assert_eq!(decide(&none, "chroot", NO_ARGS), EPERM);
    assert_eq!(decide(&none, "read", NO_ARGS), ALLOW);
}

#[test]
fn unconfined_is_no_filter() {
    assert!(compile(&Seccomp::Unconfined, CapSet::docker_default()).unwrap().is_none());
    let empty = Seccomp::Profile { json: "{}".into() };
    assert!(compile(&empty, CapSet::docker_default()).unwrap().is_none());
}

/// The configuration carries the default profile in the OCI form
/// (`oci::to_oci`), which the plan compiles from the parsed JSON: the
/// same filter as the profile compiled directly, for any capabilities.
#[test]
fn the_oci_form_compiles_to_the_same_filter() {
    for caps in [CapSet::docker_default(), CapSet::all(), CapSet(0), with(&[CAP_SYS_ADMIN])] {
        let oci = oci::to_oci(&Seccomp::Default, caps).unwrap().expect("a filter");
        assert_eq!(compile_value(oci, caps).unwrap(), compile(&Seccomp::Default, caps).unwrap());
    }
    assert!(matches!(compile_value(serde_json::json!([]), CapSet::all()), Err(SeccompError::Invalid { .. })));
}

#[test]
fn default_filter_is_compact() {
    let f = default_filter(CapSet::docker_default());
    assert!(f.instructions().len() < 400, "{} instructions", f.instructions().len());
}

fn profile_filter(json: &str) -> Filter {
    compile(&Seccomp::Profile { json: json.into() }, CapSet::docker_default()).unwrap().unwrap()
}

#[test]
fn user_profile_actions_and_ops() {
    let f = profile_filter(
        r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [
            {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "comment": "no"},
            {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["tkill"], "action": "SCMP_ACT_KILL"},
            {"names": ["getppid"], "action": "SCMP_ACT_TRAP"},
            {"names": ["getuid"], "action": "SCMP_ACT_LOG"},
            {"names": ["getgid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 2, "value": 1, "op": "SCMP_CMP_GT"}]},
            {"names": ["dup"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_LE"}]},
            {"names": ["dup2"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_LT"}]},
            {"names": ["dup3"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_GE"},
                      {"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fcntl"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["chown32", "no_such_call"], "action": "SCMP_ACT_ERRNO"}
        ]}"#,
    );
    let d = |name: &str, args: [u64; 6]| decide(&f, name, args);
    assert_eq!(d("read", NO_ARGS), ALLOW);
    assert_eq!(d("mkdir", NO_ARGS), errno(13));
    assert_eq!(d("kill", NO_ARGS), KILL_PROCESS);
    assert_eq!(d("tkill", NO_ARGS), 0);
    assert_eq!(d("getppid", NO_ARGS), 0x0003_0000);
    assert_eq!(d("getuid", NO_ARGS), 0x7ffc_0000);
    assert_eq!(d("getgid", NO_ARGS), 0x7ff0_0007);
    // GT over 64 bits
    assert_eq!(d("lseek", [0, 0, 1, 0, 0, 0]), ALLOW);
    assert_eq!(d("lseek", [0, 0, 2, 0, 0, 0]), EPERM);
    assert_eq!(d("lseek", [0, 0, 1 << 32, 0, 0, 0]), EPERM);
    // LE
    assert_eq!(d("dup", [10, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(d("dup", [11, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(d("dup", [1 << 33, 0, 0, 0, 0, 0]), ALLOW);
    // LT
    assert_eq!(d("dup2", [0, 9, 0, 0, 0, 0]), EPERM);
    assert_eq!(d("dup2", [0, 10, 0, 0, 0, 0]), ALLOW);
    assert_eq!(d("dup2", [0, u64::MAX, 0, 0, 0, 0]), ALLOW);
    // GE and EQ on different arguments: both must hold
    assert_eq!(d("dup3", [0, 10, 0, 0, 0, 0]), EPERM);
    assert_eq!(d("dup3", [0, 10, 1, 0, 0, 0]), ALLOW);
    assert_eq!(d("dup3", [0, 9, 0, 0, 0, 0]), ALLOW);
    // two conditions on the same argument: either one
    assert_eq!(d("fcntl", [0, 1, 0, 0, 0, 0]), EPERM);
    assert_eq!(d("fcntl", [0, 2, 0, 0, 0, 0]), EPERM);
    assert_eq!(d("fcntl", [0, 3, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn default_errno_ret_and_masked_eq_value_two() {
    let f = profile_filter(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["open"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 1, "value": 3, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["write"], "action": "SCMP_ACT_ERRNO"}
        ]}"#,
    );
    assert_eq!(decide(&f, "read", NO_ARGS), ALLOW);
    assert_eq!(decide(&f, "getpid", NO_ARGS), ENOSYS);
    assert_eq!(decide(&f, "write", NO_ARGS), EPERM);
    assert_eq!(decide(&f, "open", [0, 2, 0, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&f, "open", [0, 6, 0, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&f, "open", [0, 1, 0, 0, 0, 0]), ENOSYS);
}

#[test]
fn conditional_then_unconditional() {
    // ioctl(TIOCSTI) denied, every other ioctl allowed, whatever the order
    let f = profile_filter(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ioctl"], "action": "SCMP_ACT_KILL_PROCESS",
             "args": [{"index": 1, "value": 21522, "op": "SCMP_CMP_EQ"}]}
        ]}"#,
    );
    assert_eq!(decide(&f, "ioctl", [0, 21522, 0, 0, 0, 0]), KILL_PROCESS);
    assert_eq!(decide(&f, "ioctl", [0, 21523, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn big_profile_uses_long_jumps() {
    // every other syscall allowed, so the search tree has hundreds of ranges
    let names: Vec<String> = arch::X86_64.table().iter().filter(|(_, n)| n % 2 == 0).map(|(s, _)| format!("{s:?}")).collect();
    let json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": [{}], "action": "SCMP_ACT_ALLOW"}},
        {{"names": ["read"], "action": "SCMP_ACT_LOG", "args": [{{"index": 0, "value": 5, "op": "SCMP_CMP_EQ"}}]}}]}}"#,
        names.join(",")
    );
    let f = profile_filter(&json);
    for (name, n) in arch::X86_64.table() {
        let want = if n % 2 == 0 { ALLOW } else { EPERM };
        assert_eq!(decide(&f, name, [1, 0, 0, 0, 0, 0]), want, "{name}");
    }
    assert_eq!(decide(&f, "read", [5, 0, 0, 0, 0, 0]), 0x7ffc_0000);
}

fn err(json: &str) -> String {
    check_profile(json).unwrap_err().to_string()
}

#[test]
fn profile_errors() {
    assert!(err("{").contains("invalid JSON"), "{}", err("{"));
    assert_eq!(err("[]"), "seccomp profile: profile: not a JSON object");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "bogus": 1}"#);
    assert!(e.contains("unknown field `bogus`"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "argz": []}]}"#);
    assert!(e.contains("unknown field `argz`"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_FOO"}"#);
    assert!(e.contains("defaultAction") && e.contains("SCMP_ACT_FOO"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "ALLOW"}]}"#);
    assert_eq!(e, r#"seccomp profile: syscalls[0]: unknown action "ALLOW""#);
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}"#);
    assert!(e.contains("SCMP_ACT_NOTIFY") && e.contains("not supported"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#);
    assert!(e.contains("syscalls[0].args[0]") && e.contains("index 6"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]}"#);
    assert!(e.contains("unknown op"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}"#);
    assert!(e.contains("'name' and 'names'"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}"#);
    assert!(e.contains("no syscall names"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}"#);
    assert!(e.contains("errnoRet is only valid"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}]}"#);
    assert!(e.contains("'architectures' and 'archMap'"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}"#);
    assert!(e.contains("unknown architecture"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "four"}}]}"#);
    assert!(e.contains("minKernel"), "{e}");
    let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}"#);
    assert!(e.contains("not supported"), "{e}");
    // the first rule for a syscall wins (libseccomp keeps the existing action)
    let p = super::profile::parse(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_KILL"}]}"#).unwrap();
    assert!(super::compile_profile(&p, CapSet::all()).is_ok());
    let e = err(r#"{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#);
    assert!(e.contains("defaultAction") && e.contains("missing"), "{e}");
}

#[test]
fn docker_keys_are_accepted() {
    check_profile(DEFAULT_PROFILE).unwrap();
    check_profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "listenerPath": "", "architectures": null, "archMap": null,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": "c",
              "args": null, "includes": {}, "excludes": {"arches": ["s390x"], "caps": ["CAP_SYS_ADMIN"], "minKernel": "9.0"}}]}"#,
    )
    .unwrap();
}

#[test]
fn kernel_versions() {
    assert_eq!(rules::kernel_version("4.8"), Some((4, 8)));
    assert_eq!(rules::kernel_version("6.18.44-fc-v657"), Some((6, 18)));
    assert_eq!(rules::kernel_version("5.10-rc1"), Some((5, 10)));
    assert_eq!(rules::kernel_version("4"), None);
    assert_eq!(rules::kernel_version("x.y"), None);
    assert!(rules::running_kernel().is_some());
}

#[test]
fn min_kernel_rules() {
    let json = |v: &str| {
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {{"minKernel": "{v}"}}}},
            {{"names": ["kcmp"], "action": "SCMP_ACT_ALLOW", "excludes": {{"minKernel": "{v}"}}}}]}}"#
        )
    };
    let old = profile_filter(&json("3.0"));
    assert_eq!((decide(&old, "ptrace", NO_ARGS), decide(&old, "kcmp", NO_ARGS)), (ALLOW, EPERM));
    let future = profile_filter(&json("999.0"));
    assert_eq!((decide(&future, "ptrace", NO_ARGS), decide(&future, "kcmp", NO_ARGS)), (EPERM, ALLOW));
}

/// Loads the default filter in a forked child (with no_new_privs) and
/// makes real syscalls there. The child makes raw syscalls only.
#[test]
fn loaded_default_filter_blocks_user_namespaces() {
    let f = default_filter(CapSet::docker_default());
    // SAFETY: the child only makes raw syscalls (prctl, seccomp, unshare,
    // getpid) and _exits; it touches no lock or allocator.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: raw syscalls in the forked child; see above.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                libc::_exit(10);
            }
            if f.load().is_err() {
                libc::_exit(11);
            }
            if libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER) != -1 {
                libc::_exit(12);
            }
            if *libc::__errno_location() != libc::EPERM {
                libc::_exit(13);
            }
            if libc::syscall(libc::SYS_clone3, 0usize, 0usize) != -1 || *libc::__errno_location() != libc::ENOSYS {
                libc::_exit(14);
            }
            if libc::syscall(libc::SYS_getpid) <= 0 {
                libc::_exit(15);
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child; `status` is a valid out-pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child exit code (10 prctl, 11 load, 12/13 unshare, 14 clone3, 15 getpid)");
}

#[test]
fn filter_is_send_sync_and_cheap_to_clone() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Filter>();
}
