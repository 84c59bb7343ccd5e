//! Platforms (`os/architecture[/variant]`) and the matching used to pick a
//! manifest out of an OCI index / Docker manifest list.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error)]
#[error("invalid platform {0:?}: expected OS/ARCH[/VARIANT], e.g. linux/arm/v7")]
pub struct PlatformError(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        }
    }

    /// `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`; a bare `arm64`
    /// means `linux/arm64`.
    pub fn parse(s: &str) -> Result<Platform, PlatformError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        };
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
        Ok(Platform::new(
            &os.to_ascii_lowercase(),
            &arch,
            variant.map(|v| v.to_ascii_lowercase()).as_deref(),
        ))
    }

    /// The platform of this machine.
    pub fn host() -> Platform {
        match std::env::consts::ARCH {
            "x86_64" => Platform::new("linux", "amd64", None),
            "aarch64" => Platform::new("linux", "arm64", Some("v8")),
            "arm" => Platform::new("linux", "arm", Some("v7")),
            "x86" => Platform::new("linux", "386", None),
            "powerpc64" => Platform::new("linux", "ppc64le", None),
            "s390x" => Platform::new("linux", "s390x", None),
            "riscv64" => Platform::new("linux", "riscv64", None),
            other => Platform::new("linux", other, None),
        }
    }

    /// Whether an index entry with platform `cand` can run on `self`.
    pub fn matches(&self, cand: &Platform) -> bool {
        if self.os != cand.os
            || normalize_arch(&self.architecture) != normalize_arch(&cand.architecture)
        {
            return false;
        }
        let want = default_variant(&self.architecture, self.variant.as_deref());
        let have = default_variant(&cand.architecture, cand.variant.as_deref());
        match (want, have) {
            (None, _) => true,
            (Some(w), Some(h)) => w == h,
            (Some(_), None) => false,
        }
    }

    /// Pick the best candidate: an exact variant match first, then any match.
    pub fn choose<'a, T>(&self, cands: impl IntoIterator<Item = (&'a Platform, T)>) -> Option<T> {
        let mut fallback = None;
        for (p, t) in cands {
            if !self.matches(p) {
                continue;
            }
            if p.variant == self.variant {
                return Some(t);
            }
            if fallback.is_none() {
                fallback = Some(t);
            }
        }
        fallback
    }
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
    match (normalize_arch(arch).as_str(), v) {
        ("arm64", None) => Some("v8".into()),
        ("arm", None) => Some("v7".into()),
        (_, v) => v.map(Into::into),
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap(),
            Platform::new("linux", "arm", Some("v7"))
        );
        assert_eq!(
            Platform::parse("linux/amd64").unwrap(),
            Platform::new("linux", "amd64", None)
        );
        assert_eq!(
            Platform::parse("arm64").unwrap(),
            Platform::new("linux", "arm64", None)
        );
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().architecture,
            "amd64"
        );
        for bad in ["", "linux/", "a/b/c/d", "linux//v7", "linux/amd 64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().to_string(),
            "linux/arm/v7"
        );
    }

    #[test]
    fn matching() {
        let amd = Platform::parse("linux/amd64").unwrap();
        let arm7 = Platform::parse("linux/arm/v7").unwrap();
        let arm6 = Platform::parse("linux/arm/v6").unwrap();
        let arm64 = Platform::parse("linux/arm64/v8").unwrap();
        let arm64_plain = Platform::parse("linux/arm64").unwrap();
        assert!(amd.matches(&amd));
        assert!(!amd.matches(&arm64));
        assert!(arm7.matches(&Platform::new("linux", "arm", None)));
        assert!(!arm7.matches(&arm6));
        assert!(arm64.matches(&arm64_plain));
        assert!(arm64_plain.matches(&arm64));
        assert!(!amd.matches(&Platform::new("windows", "amd64", None)));
        let cands = [arm6.clone(), arm7.clone(), amd.clone()];
        let pick = arm7.choose(cands.iter().enumerate().map(|(i, p)| (p, i)));
        assert_eq!(pick, Some(1));
        let pick = Platform::parse("linux/s390x")
            .unwrap()
            .choose(cands.iter().map(|p| (p, ())));
        assert_eq!(pick, None);
    }

    #[test]
    fn host_is_sane() {
        let h = Platform::host();
        assert_eq!(h.os, "linux");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(h.to_string(), "linux/amd64");
        }
    }
}
