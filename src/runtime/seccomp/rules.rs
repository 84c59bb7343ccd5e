//! A parsed profile, resolved for one container: the rules that apply to
//! this arch, kernel and capability set, by syscall number, with actions
//! and argument conditions checked. `bpf.rs` turns the result into code.
use std::collections::BTreeMap;

use super::arch::{Arch, SCMP_ARCHES};
use super::profile::{Conditions, Profile, Syscall};
use super::SeccompError;
use crate::runtime::caps::{self, CapSet};

/// What the filter does with a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    Errno(u16),
    KillThread,
    KillProcess,
    Trap,
    Log,
    Trace(u16),
}

impl Action {
    /// The filter's return value (`SECCOMP_RET_*` | data).
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0x0000_0000,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::Trace(m) => 0x7ff0_0000 | u32::from(m),
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }
}

/// Comparison of a 64-bit syscall argument (libseccomp's `SCMP_CMP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// (arg & value) == value_two
    MaskedEq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    /// argument 0..=5
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
}

/// The rules for one syscall: the conditional ones are tried in profile
/// order, then the unconditional one (or the default action).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallRules {
    pub conditional: Vec<(Vec<Cond>, Action)>,
    pub unconditional: Option<Action>,
}

/// Everything the BPF generator needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub arch: Arch,
    pub default: Action,
    /// `seccomp(2)` flags to load with
    pub flags: u32,
    pub syscalls: BTreeMap<u32, SyscallRules>,
}

/// Where a rule came from, for error messages.
fn at(i: usize) -> String {
    format!("syscalls[{i}]")
}

fn invalid(at: impl Into<String>, msg: impl Into<String>) -> SeccompError {
    SeccompError::Invalid { at: at.into(), msg: msg.into() }
}

/// Reads an action name and its errno/trace value.
pub fn action(name: &str, errno_ret: Option<u32>, default_errno: u32, at: &str) -> Result<Action, SeccompError> {
    let data = |v: Option<u32>| -> Result<u16, SeccompError> {
        let v = v.unwrap_or(default_errno);
        u16::try_from(v).map_err(|_| invalid(at, format!("errnoRet {v} is out of range (0..=65535)")))
    };
    let act = match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => return Ok(Action::Errno(data(errno_ret)?)),
        "SCMP_ACT_TRACE" => return Ok(Action::Trace(data(errno_ret)?)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => {
            return Err(SeccompError::Unsupported(format!("{at}: SCMP_ACT_NOTIFY (seccomp user notification)")))
        }
        "" => return Err(invalid(at, "action is missing")),
        other => return Err(invalid(at, format!("unknown action {other:?}"))),
    };
    if errno_ret.is_some() {
        return Err(invalid(at, format!("errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not {name}")));
    }
    Ok(act)
}

fn op(name: &str, at: &str) -> Result<Op, SeccompError> {
    Ok(match name {
        "SCMP_CMP_NE" => Op::Ne,
        "SCMP_CMP_LT" => Op::Lt,
        "SCMP_CMP_LE" => Op::Le,
        "SCMP_CMP_EQ" => Op::Eq,
        "SCMP_CMP_GE" => Op::Ge,
        "SCMP_CMP_GT" => Op::Gt,
        "SCMP_CMP_MASKED_EQ" => Op::MaskedEq,
        other => return Err(invalid(at, format!("unknown op {other:?}"))),
    })
}

/// `"4.8"` (also `"4.8.1"`, `"5.10-rc1"`) → (4, 8).
pub fn kernel_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((major, minor.parse().ok()?))
}

/// The running kernel's (major, minor), from uname.
pub fn running_kernel() -> Option<(u32, u32)> {
    static KERNEL: std::sync::OnceLock<Option<(u32, u32)>> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| {
        let u = nix::sys::utsname::uname().ok()?;
        kernel_version(u.release().to_str()?)
    })
}

/// What a rule's conditions are judged against.
pub struct Env {
    pub arch: Arch,
    pub caps: CapSet,
    pub kernel: Option<(u32, u32)>,
}

impl Env {
    fn has_cap(&self, name: &str) -> bool {
        caps::NAMES.iter().position(|n| *n == name).is_some_and(|c| self.caps.has(c as u32))
    }

    /// At or past `min_kernel`? An unknown running kernel counts as new.
    fn kernel_at_least(&self, min: &str, at: &str) -> Result<bool, SeccompError> {
        let want = kernel_version(min)
            .ok_or_else(|| invalid(at, format!("invalid minKernel {min:?} (want MAJOR.MINOR)")))?;
        Ok(self.kernel.is_none_or(|k| k >= want))
    }

    /// Docker's filtering of rules (moby `setupSeccomp`): excluded if any
    /// excluded arch/cap/kernel matches; included only if all includes do.
    pub(crate) fn applies(&self, inc: &Conditions, exc: &Conditions, at: &str) -> Result<bool, SeccompError> {
        // both minKernel strings are checked even when an earlier test decides
        let exc_kernel = !exc.min_kernel.is_empty() && self.kernel_at_least(&exc.min_kernel, at)?;
        let inc_kernel = inc.min_kernel.is_empty() || self.kernel_at_least(&inc.min_kernel, at)?;
        let arch = self.arch.go_name;
        let excluded = exc.arches.iter().any(|a| a == arch) || exc.caps.iter().any(|c| self.has_cap(c)) || exc_kernel;
        let included = (inc.arches.is_empty() || inc.arches.iter().any(|a| a == arch))
            && inc.caps.iter().all(|c| self.has_cap(c))
            && inc_kernel;
        Ok(!excluded && included)
    }
}

/// Validates the whole profile and resolves it for `env`. `Ok(None)` for a
/// profile with neither a default action nor rules (Docker: no seccomp).
pub fn plan(p: &Profile, env: &Env) -> Result<Option<Plan>, SeccompError> {
    if p.default_action.is_empty() && p.syscalls.is_empty() {
        return Ok(None);
    }
    if !p.architectures.is_empty() && !p.arch_map.is_empty() {
        return Err(invalid("profile", "both 'architectures' and 'archMap' are set; use one of them"));
    }
    let arches = p.architectures.iter().chain(p.arch_map.iter().flat_map(|m| {
        std::iter::once(&m.architecture).chain(m.sub_architectures.iter())
    }));
    for a in arches {
        if !SCMP_ARCHES.contains(&a.as_str()) {
            return Err(invalid("profile", format!("unknown architecture {a:?}")));
        }
    }
    if !p.listener_path.is_empty() || !p.listener_metadata.is_empty() {
        return Err(SeccompError::Unsupported("listenerPath (seccomp user notification)".into()));
    }
    let mut flags = 0;
    for f in &p.flags {
        flags |= match f.as_str() {
            "SECCOMP_FILTER_FLAG_LOG" => libc::SECCOMP_FILTER_FLAG_LOG as u32,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
            // the filter is loaded by a single-threaded child: nothing to sync
            "SECCOMP_FILTER_FLAG_TSYNC" => 0,
            other => return Err(SeccompError::Unsupported(format!("filter flag {other:?}"))),
        };
    }
    let default = action(&p.default_action, p.default_errno_ret, libc::EPERM as u32, "defaultAction")?;
    let mut plan = Plan { arch: env.arch, default, flags, syscalls: BTreeMap::new() };
    for (i, rule) in p.syscalls.iter().enumerate() {
        add_rule(&mut plan, rule, env, &at(i))?;
    }
    Ok(Some(plan))
}

fn add_rule(plan: &mut Plan, rule: &Syscall, env: &Env, at: &str) -> Result<(), SeccompError> {
    let names: &[String] = match (rule.name.is_empty(), rule.names.is_empty()) {
        (false, false) => return Err(invalid(at, "both 'name' and 'names' are set; use one of them")),
        (true, true) => return Err(invalid(at, "no syscall names")),
        (false, true) => std::slice::from_ref(&rule.name),
        (true, false) => &rule.names,
    };
    // errno rules without errnoRet return EPERM, whatever defaultErrnoRet says (as runc)
    let act = action(&rule.action, rule.errno_ret, libc::EPERM as u32, at)?;
    let mut conds = Vec::with_capacity(rule.args.len());
    for (j, a) in rule.args.iter().enumerate() {
        let at = format!("{at}.args[{j}]");
        let index = u8::try_from(a.index).ok().filter(|i| *i < 6);
        let index = index.ok_or_else(|| invalid(&at, format!("argument index {} is out of range (0..=5)", a.index)))?;
        conds.push(Cond { index, op: op(&a.op, &at)?, value: a.value, value_two: a.value_two });
    }
    if !env.applies(&rule.includes, &rule.excludes, at)? || act == plan.default {
        // runc drops rules whose action is the default one
        return Ok(());
    }
    // As runc: conditions on distinct arguments must all hold; several on
    // the same argument are alternatives (one rule each).
    let repeated = (0..6u8).any(|i| conds.iter().filter(|c| c.index == i).count() > 1);
    let alternatives: Vec<Vec<Cond>> = if repeated { conds.iter().map(|c| vec![*c]).collect() } else { vec![conds] };
    for name in names {
        // names this arch lacks are skipped, as libseccomp/runc do
        let Some(nr) = env.arch.syscall(name) else { continue };
        let entry = plan.syscalls.entry(nr).or_default();
        for conds in &alternatives {
            if conds.is_empty() {
                // a later rule for a syscall that already has one does not
                // change it: the first wins, as in libseccomp (podman's
                // profile allows setns, then denies it without
                // CAP_SYS_ADMIN)
                if entry.unconditional.is_none() {
                    entry.unconditional = Some(act);
                }
            } else {
                entry.conditional.push((conds.clone(), act));
            }
        }
        // conditional rules with the unconditional rule's action change nothing
        if let Some(u) = entry.unconditional {
            entry.conditional.retain(|(_, a)| *a != u);
        }
    }
    Ok(())
}
