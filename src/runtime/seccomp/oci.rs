//! A container's seccomp profile in the OCI runtime spec's form (the
//! `linux.seccomp` of a config.json): Docker's format minus what only
//! Docker reads (includes/excludes are decided here, for this
//! container's capabilities, this architecture and kernel).
use super::arch::Arch;
use super::profile::Profile;
use super::rules::{running_kernel, Env};
use super::SeccompError;
use crate::runtime::caps::CapSet;
use crate::state::containers::Seccomp;
use serde_json::{json, Value};

/// None when the container runs without a filter.
pub fn to_oci(choice: &Seccomp, caps: CapSet) -> Result<Option<Value>, SeccompError> {
    let parsed;
    let p: &Profile = match choice {
        Seccomp::Unconfined => return Ok(None),
        Seccomp::Default => super::default_profile()?,
        Seccomp::Profile { json } => {
            parsed = super::profile::parse(json)?;
            &parsed
        }
    };
    if p.default_action.is_empty() && p.syscalls.is_empty() {
        return Ok(None);
    }
    let arch = Arch::native().ok_or(SeccompError::UnsupportedArch(std::env::consts::ARCH))?;
    let env = Env { arch, caps, kernel: running_kernel() };
    let mut syscalls = Vec::new();
    for (i, rule) in p.syscalls.iter().enumerate() {
        if !env.applies(&rule.includes, &rule.excludes, &format!("syscalls[{i}]"))? {
            continue;
        }
        let names: Vec<&String> = if rule.names.is_empty() { vec![&rule.name] } else { rule.names.iter().collect() };
        let mut s = json!({ "names": names, "action": rule.action });
        if let Some(e) = rule.errno_ret {
            s["errnoRet"] = json!(e);
        }
        if !rule.args.is_empty() {
            let args: Vec<Value> = rule
                .args
                .iter()
                .map(|a| json!({ "index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op }))
                .collect();
            s["args"] = json!(args);
        }
        syscalls.push(s);
    }
    let arches: Vec<&String> = if p.arch_map.is_empty() {
        p.architectures.iter().collect()
    } else {
        p.arch_map
            .iter()
            .filter(|m| Some(m.architecture.as_str()) == scmp_name(&arch))
            .flat_map(|m| std::iter::once(&m.architecture).chain(m.sub_architectures.iter()))
            .collect()
    };
    let mut out = json!({ "defaultAction": p.default_action, "architectures": arches, "syscalls": syscalls });
    if let Some(e) = p.default_errno_ret {
        out["defaultErrnoRet"] = json!(e);
    }
    if !p.flags.is_empty() {
        out["flags"] = json!(p.flags);
    }
    Ok(Some(out))
}

/// libseccomp's name of an architecture, as archMap keys use it.
fn scmp_name(arch: &Arch) -> Option<&'static str> {
    match arch.go_name {
        "amd64" => Some("SCMP_ARCH_X86_64"),
        "arm64" => Some("SCMP_ARCH_AARCH64"),
        _ => None,
    }
}
