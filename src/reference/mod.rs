//! Docker-compatible image references.
//!
//! `busybox` is `docker.io/library/busybox:latest`; `NAME:TAG`,
//! `NAME@sha256:<hex>`, `HOST[:PORT]/PATH[:TAG]`. The first path component
//! is a registry host if it contains `.` or `:` or is `localhost`.

pub mod digest;

use digest::Digest;
use std::fmt;

pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";
const MAX_NAME: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference {input:?}: {reason}")]
pub struct RefError {
    pub input: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    pub fn parse(input: &str) -> Result<Reference, RefError> {
        let err = |reason| RefError {
            input: input.to_string(),
            reason,
        };
        if input.is_empty() {
            return Err(err("empty reference"));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("contains whitespace or control characters"));
        }
        // digest
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                let d = Digest::parse(d)
                    .map_err(|_| err("digest must be sha256:<64 lowercase hex>"))?;
                (r, Some(d))
            }
            None => (input, None),
        };
        // tag: a ':' after the last '/'
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let t = &rest[last_slash + i + 1..];
                if !valid_tag(t) {
                    return Err(err("tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
                }
                (&rest[..last_slash + i], Some(t.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(err("empty repository name"));
        }
        // registry
        let (registry, path) = match name.split_once('/') {
            Some((first, path)) if is_host(first) => {
                if !valid_host(first) {
                    return Err(err("invalid registry host"));
                }
                (first.to_string(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        if path.is_empty() {
            return Err(err("empty repository path"));
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(err("repository name must be lowercase"));
        }
        if !path.split('/').all(valid_component) {
            return Err(err(
                "repository path components must match [a-z0-9]+([._-][a-z0-9]+)*",
            ));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if registry.len() + 1 + repository.len() > MAX_NAME {
            return Err(err("repository name longer than 255 characters"));
        }
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The registry as named in references (`docker.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host[:port] to talk the registry API to.
    pub fn registry_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag; `latest` when neither tag nor digest was given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest if any, else the tag.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// The same reference pinned to a digest (tag kept).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// Short form as shown to users: `busybox:latest`,
    /// `127.0.0.1:5000/busybox:latest`, `user/app@sha256:...`.
    pub fn familiar(&self) -> String {
        let name = if self.registry == DOCKER_HUB {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        self.with_suffix(name)
    }

    fn with_suffix(&self, mut s: String) -> String {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.with_suffix(format!("{}/{}", self.registry, self.repository)))
    }
}

impl std::str::FromStr for Reference {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, RefError> {
        Reference::parse(s)
    }
}

fn is_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

fn valid_host(h: &str) -> bool {
    // [v6]:port or name[:port]
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, after)) => {
                if v6.is_empty() || !v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
                    return false;
                }
                match after {
                    "" => return true,
                    p => match p.strip_prefix(':') {
                        Some(p) => return valid_port(p),
                        None => return false,
                    },
                }
            }
            None => return false,
        }
    } else {
        match h.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (h, None),
        }
    };
    if let Some(p) = port {
        if !valid_port(p) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        })
}

fn valid_port(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u32>().is_ok_and(|n| n <= 65535)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // a separator run
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let w = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && w(b[0])
        && b[1..].iter().all(|&x| w(x) || x == b'.' || x == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_short_names() {
        let r = p("busybox");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.registry_host(), "registry-1.docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.familiar(), "busybox:latest");
        assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(r.manifest_ref(), "latest");

        let r = p("user/app:1.0");
        assert_eq!(r.repository(), "user/app");
        assert_eq!(r.familiar(), "user/app:1.0");
        assert_eq!(r.to_string(), "docker.io/user/app:1.0");

        assert_eq!(p("docker.io/busybox").repository(), "library/busybox");
        assert_eq!(
            p("index.docker.io/library/busybox:1").to_string(),
            "docker.io/library/busybox:1"
        );
        assert_eq!(
            p("docker.io/library/busybox:latest").familiar(),
            "busybox:latest"
        );
    }

    #[test]
    fn hosts_and_ports() {
        let r = p("127.0.0.1:5000/busybox:latest");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.registry_host(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "busybox");
        assert_eq!(r.familiar(), "127.0.0.1:5000/busybox:latest");
        assert_eq!(r.to_string(), "127.0.0.1:5000/busybox:latest");

        let r = p("localhost/a/b/c");
        assert_eq!(r.registry(), "localhost");
        assert_eq!(r.repository(), "a/b/c");
        assert_eq!(r.tag(), Some("latest"));

        let r = p("localhost:5000/x");
        assert_eq!(r.registry(), "localhost:5000");
        let r = p("quay.example.com/org/img:v1.2-rc_3");
        assert_eq!(r.registry(), "quay.example.com");
        assert_eq!(r.tag(), Some("v1.2-rc_3"));
        let r = p("[::1]:5000/img");
        assert_eq!(r.registry(), "[::1]:5000");
        // no dot/colon, not localhost: a path component
        let r = p("myhost/img");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "myhost/img");
    }

    #[test]
    fn digests() {
        let h = "0123456789abcdef".repeat(4);
        let r = p(&format!("busybox@sha256:{h}"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().hex(), h);
        assert_eq!(r.manifest_ref(), format!("sha256:{h}"));
        assert_eq!(r.familiar(), format!("busybox@sha256:{h}"));
        let r = p(&format!("127.0.0.1:5000/a/b:tag@sha256:{h}"));
        assert_eq!(r.tag(), Some("tag"));
        assert_eq!(r.manifest_ref(), format!("sha256:{h}"));
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b:tag@sha256:{h}"));
        let r2 = p("busybox:1").with_digest(Digest::from_hex(&h).unwrap());
        assert_eq!(r2.familiar(), format!("busybox:1@sha256:{h}"));
    }

    #[test]
    fn separators() {
        for ok in [
            "a.b",
            "a_b",
            "a__b",
            "a-b",
            "a---b",
            "a1/b2",
            "0/1",
            "x/a.b-c_d/e",
        ] {
            p(ok);
        }
    }

    #[test]
    fn bad_references() {
        let h = "0".repeat(64);
        for bad in [
            "",
            "Busybox",
            "user/App",
            "busybox:",
            ":tag",
            "busybox:-bad",
            "busybox:.bad",
            "busybox:a/b",
            "busybox@sha256:abc",
            "busybox@sha256:",
            "busybox@",
            "busybox@md5:0000",
            "a..b",
            "a___b",
            "-a",
            "a-",
            "a/",
            "/a",
            "a//b",
            "127.0.0.1:5000/",
            "127.0.0.1:99999/a",
            "127.0.0.1:port/a",
            "bad_host.com/a",
            "-x.com/a",
            "busy box",
            "busybox\n",
            "a/b:t@sha256:ZZ",
        ] {
            let e = Reference::parse(bad);
            assert!(e.is_err(), "{bad:?} parsed as {:?}", e);
            let msg = e.unwrap_err().to_string();
            assert!(!msg.contains('\n') || bad.contains('\n'), "{msg}");
        }
        let long_tag = format!("a:{}", "t".repeat(129));
        assert!(Reference::parse(&long_tag).is_err());
        assert!(Reference::parse(&format!("a:{}", "t".repeat(128))).is_ok());
        assert!(Reference::parse(&format!("a@sha256:{h}x")).is_err());
        let long_name = format!("x.io/{}", "a".repeat(260));
        assert!(Reference::parse(&long_name).is_err());
    }

    #[test]
    fn error_message_is_one_line() {
        let e = Reference::parse("Foo").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid reference \"Foo\": repository name must be lowercase"
        );
    }
}

impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Reference, D::Error> {
        let s = String::deserialize(d)?;
        Reference::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod serde_tests {
    use super::*;

    #[test]
    fn serde_as_canonical_string() {
        let r = Reference::parse("busybox").unwrap();
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(j, "\"docker.io/library/busybox:latest\"");
        assert_eq!(serde_json::from_str::<Reference>(&j).unwrap(), r);
        assert!(serde_json::from_str::<Reference>("\"Bad\"").is_err());
    }
}
