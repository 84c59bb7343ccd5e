//! `spec` (a starting config.json, as `runc spec` writes it) and
//! `features` (runtime-spec features.md: only what bocker supports).
use super::args::{self, opt};
use super::state::OCI_VERSION;
use anyhow::{bail, Context, Result};
use oci_spec::runtime::{Root, Spec};
use serde::Serialize;
use serde_json::json;

/// oci-spec's defaults with runc's choices: `sh` on a terminal, root
/// `rootfs` read-only, runc's hostname replaced by bocker's.
pub fn default_spec() -> Spec {
    let mut s = Spec::default();
    s.set_version(OCI_VERSION.into());
    s.set_hostname(Some("bocker".into()));
    if let Some(p) = s.process_mut() {
        p.set_terminal(Some(true));
        p.set_args(Some(vec!["sh".into()]));
    }
    let mut root = Root::default();
    root.set_path("rootfs".into());
    root.set_readonly(Some(true));
    s.set_root(Some(root));
    s.set_annotations(None);
    s
}

/// JSON indented with tabs, as `runc spec` writes it.
fn tab_indented<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    v.serialize(&mut serde_json::Serializer::with_formatter(&mut out, fmt))?;
    Ok(out)
}

pub fn spec(rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[opt(&["bundle", "b"]), opt(&["rootless"])])?;
    if !p.positional.is_empty() {
        bail!("\"spec\" requires exactly 0 argument(s)");
    }
    if p.value("rootless").is_some_and(|v| v != "false") {
        bail!("spec --rootless is not supported by bocker-runc");
    }
    let dir = std::path::Path::new(p.value("bundle").unwrap_or("."));
    let path = dir.join("config.json");
    if path.symlink_metadata().is_ok() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let data = tab_indented(&default_spec())?;
    // O_EXCL: a config.json made meanwhile is not overwritten
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(&data).with_context(|| format!("write {}", path.display()))?;
    Ok(0)
}

/// The seccomp architectures a profile may name (runtime/seccomp/arch.rs
/// SCMP_ARCHES, which is private to the runtime, minus SCMP_ARCH_NATIVE).
const SECCOMP_ARCHS: &[&str] = &[
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", "SCMP_ARCH_X32",
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
];

/// The features document (runtime-spec features.md).
pub fn features_json() -> serde_json::Value {
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": [
            "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime",
            "loud", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "norelatime",
            "nostrictatime", "nosuid", "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared",
            "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "sync", "unbindable"
        ],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "uts"],
            "capabilities": crate::runtime::caps::NAMES,
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false },
            "seccomp": {
                "enabled": true,
                "actions": [
                    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"
                ],
                "operators": [
                    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
                ],
                "archs": SECCOMP_ARCHS
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false }
        },
        "annotations": { "org.bocker.version": env!("CARGO_PKG_VERSION") }
    })
}

pub fn features(rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[])?;
    if !p.positional.is_empty() {
        bail!("\"features\" requires exactly 0 argument(s)");
    }
    // runc indents features with four spaces
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    features_json().serialize(&mut serde_json::Serializer::with_formatter(&mut out, fmt))?;
    println!("{}", String::from_utf8_lossy(&out));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_spec_is_runcs_shape() {
        let v = serde_json::to_value(default_spec()).expect("json");
        assert_eq!(v["process"]["args"], json!(["sh"]));
        assert_eq!(v["process"]["terminal"], true);
        assert_eq!(v["root"], json!({"path": "rootfs", "readonly": true}));
        assert!(v["mounts"].as_array().expect("mounts").iter().any(|m| m["destination"] == "/proc"));
        assert!(v["linux"]["namespaces"].as_array().expect("namespaces").iter().any(|n| n["type"] == "pid"));
        let text = String::from_utf8(tab_indented(&default_spec()).expect("encode")).expect("utf8");
        assert!(text.starts_with("{\n\t\"ociVersion\""), "{text}");
    }
}
