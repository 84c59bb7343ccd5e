//! Platforms (`os/architecture[/variant]`) as `oci_spec::image::Platform`,
//! and the matching used to pick a manifest out of an OCI index / Docker
//! manifest list. Architectures are compared by their Go names (`amd64`,
//! `arm64`), with the aliases people type (`x86_64`, `aarch64`) folded in.

pub use oci_spec::image::Platform;
use oci_spec::image::{Arch, Os};

#[derive(Debug, thiserror::Error)]
#[error("invalid platform {0:?}: expected OS/ARCH[/VARIANT], e.g. linux/arm/v7")]
pub struct PlatformError(pub String);

/// A platform from its parts.
pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Platform {
    let mut p = Platform::default();
    p.set_os(Os::from(os));
    p.set_architecture(Arch::from(arch));
    p.set_variant(variant.map(Into::into));
    p
}

/// `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`; a bare `arm64`
/// means `linux/arm64`.
pub fn parse(s: &str) -> Result<Platform, PlatformError> {
    let parts: Vec<&str> = s.split('/').collect();
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !parts.iter().all(|p| ok(p)) {
        return Err(PlatformError(s.into()));
    }
    let (os, arch, variant) = match parts.as_slice() {
        [a] => ("linux", *a, None),
        [o, a] => (*o, *a, None),
        [o, a, v] => (*o, *a, Some(*v)),
        _ => return Err(PlatformError(s.into())),
    };
    let arch = normalize_arch(&arch.to_ascii_lowercase());
    Ok(new(&os.to_ascii_lowercase(), &arch, variant.map(|v| v.to_ascii_lowercase()).as_deref()))
}

/// The platform of this machine.
pub fn host() -> Platform {
    match std::env::consts::ARCH {
        "x86_64" => new("linux", "amd64", None),
        "aarch64" => new("linux", "arm64", Some("v8")),
        "arm" => new("linux", "arm", Some("v7")),
        "x86" => new("linux", "386", None),
        "powerpc64" => new("linux", "ppc64le", None),
        "s390x" => new("linux", "s390x", None),
        "riscv64" => new("linux", "riscv64", None),
        other => new("linux", other, None),
    }
}

/// `os/arch[/variant]`, the form `parse` reads and image records keep.
pub fn name(p: &Platform) -> String {
    match p.variant() {
        Some(v) => format!("{}/{}/{v}", p.os(), p.architecture()),
        None => format!("{}/{}", p.os(), p.architecture()),
    }
}

/// Whether an index entry with platform `cand` can run on `want`.
pub fn matches(want: &Platform, cand: &Platform) -> bool {
    let (want_arch, cand_arch) = (normalize_arch(&want.architecture().to_string()), normalize_arch(&cand.architecture().to_string()));
    if want.os() != cand.os() || want_arch != cand_arch {
        return false;
    }
    match (default_variant(&want_arch, want.variant().as_deref()), default_variant(&cand_arch, cand.variant().as_deref())) {
        (None, _) => true,
        (Some(w), Some(h)) => w == h,
        (Some(_), None) => false,
    }
}

/// Pick the best candidate for `want`: an exact variant match first, then
/// any match.
pub fn choose<'a, T>(want: &Platform, cands: impl IntoIterator<Item = (&'a Platform, T)>) -> Option<T> {
    let mut fallback = None;
    for (p, t) in cands {
        if !matches(want, p) {
            continue;
        }
        if p.variant() == want.variant() {
            return Some(t);
        }
        if fallback.is_none() {
            fallback = Some(t);
        }
    }
    fallback
}

fn normalize_arch(a: &str) -> String {
    match a {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        "armhf" => "arm".into(),
        other => other.into(),
    }
}

fn default_variant(arch: &str, v: Option<&str>) -> Option<String> {
    match (arch, v) {
        ("arm64", None) => Some("v8".into()),
        ("arm", None) => Some("v7".into()),
        (_, v) => v.map(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(
            parse("linux/arm/v7").unwrap(),
            new("linux", "arm", Some("v7"))
        );
        assert_eq!(
            parse("linux/amd64").unwrap(),
            new("linux", "amd64", None)
        );
        assert_eq!(
            parse("arm64").unwrap(),
            new("linux", "arm64", None)
        );
        assert_eq!(
            parse("linux/x86_64").unwrap().architecture().to_string(),
            "amd64"
        );
        for bad in ["", "linux/", "a/b/c/d", "linux//v7", "linux/amd 64"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(name(&parse("linux/arm/v7").unwrap()), "linux/arm/v7");
        assert_eq!(name(&parse("LINUX/Aarch64").unwrap()), "linux/arm64");
    }

    #[test]
    fn matching() {
        let amd = parse("linux/amd64").unwrap();
        let arm7 = parse("linux/arm/v7").unwrap();
        let arm6 = parse("linux/arm/v6").unwrap();
        let arm64 = parse("linux/arm64/v8").unwrap();
        let arm64_plain = parse("linux/arm64").unwrap();
        assert!(matches(&amd, &amd));
        assert!(!matches(&amd, &arm64));
        assert!(matches(&arm7, &new("linux", "arm", None)));
        assert!(!matches(&arm7, &arm6));
        assert!(matches(&arm64, &arm64_plain));
        assert!(matches(&arm64_plain, &arm64));
        assert!(!matches(&amd, &new("windows", "amd64", None)));
        let cands = [arm6.clone(), arm7.clone(), amd.clone()];
        let pick = choose(&arm7, cands.iter().enumerate().map(|(i, p)| (p, i)));
        assert_eq!(pick, Some(1));
        let pick = choose(&parse("linux/s390x").unwrap(), cands.iter().map(|p| (p, ())));
        assert_eq!(pick, None);
    }

    #[test]
    fn aliases_match() {
        // an index written with the kernel's name still matches
        assert!(matches(&parse("linux/amd64").unwrap(), &new("linux", "x86_64", None)));
    }

    #[test]
    fn host_is_sane() {
        let h = host();
        assert_eq!(h.os().to_string(), "linux");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(name(&h), "linux/amd64");
        }
    }
}
