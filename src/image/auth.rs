//! Registry credentials: `~/.docker/config.json` and `$BOCKER_ROOT/auth.json`
//! (same format), `WWW-Authenticate` challenges, and `login`.

use crate::fsutil;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

pub const AUTH_FILE: &str = "auth.json";

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl Credentials {
    pub fn new(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
    /// base64 of `user:pass`, as in the `auth` field and Basic auth.
    pub fn encoded(&self) -> String {
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: malformed credentials file: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
}

/// The `config.json` / `auth.json` shape; unknown keys are kept on rewrite.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AuthFile {
    #[serde(default)]
    pub auths: BTreeMap<String, AuthEntry>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AuthEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl AuthEntry {
    pub fn credentials(&self) -> Option<Credentials> {
        if let Some(a) = self.auth.as_deref().filter(|a| !a.is_empty()) {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(a.trim())
                .ok()?;
            let s = String::from_utf8(raw).ok()?;
            let (u, p) = s.split_once(':')?;
            return Some(Credentials::new(u, p));
        }
        match (&self.username, &self.password) {
            (Some(u), Some(p)) if !u.is_empty() => Some(Credentials::new(u, p)),
            _ => None,
        }
    }
}

/// `https://index.docker.io/v1/` -> `docker.io`; `http://h:5000/x` -> `h:5000`.
pub fn normalize_registry(key: &str) -> String {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

fn read_auth_file(path: &Path) -> Result<Option<AuthFile>, AuthError> {
    match fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|source| AuthError::Json {
                path: path.display().to_string(),
                source,
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuthError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn find_in(file: &AuthFile, registry: &str) -> Option<Credentials> {
    let want = normalize_registry(registry);
    file.auths
        .iter()
        .find(|(k, _)| normalize_registry(k) == want)
        .and_then(|(_, e)| e.credentials())
}

/// Docker's config file: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// Credentials for `registry` (as named in references, e.g. `docker.io`,
/// `127.0.0.1:5000`): bocker's own file first, then Docker's. Unreadable or
/// malformed files are skipped.
pub fn lookup(root: Option<&Path>, registry: &str) -> Option<Credentials> {
    let mut files = Vec::new();
    if let Some(r) = root {
        files.push(r.join(AUTH_FILE));
    }
    if let Some(d) = docker_config_path() {
        files.push(d);
    }
    files.iter().find_map(|p| {
        read_auth_file(p)
            .ok()
            .flatten()
            .and_then(|f| find_in(&f, registry))
    })
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

/// Parse `Bearer realm="https://x/token",service="reg",scope="a:b:pull"`
/// (the first challenge only).
pub fn parse_challenge(h: &str) -> Option<Challenge> {
    let h = h.trim();
    let (scheme, mut rest) = match h.find(' ') {
        Some(i) => (&h[..i], h[i + 1..].trim_start()),
        None => (h, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = r.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => v.push(c),
                }
            }
            let end = end?;
            value = v;
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        params.insert(key, value);
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            break; // another challenge follows; keep the first
        }
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

/// Stores `creds` for `registry` (as named in references) in
/// `root/auth.json` (atomic write, mode 0600, under a lock), replacing
/// what was there for it. `image::login` checks them first.
pub fn store_credentials(root: &Path, registry: &str, creds: &Credentials) -> Result<(), AuthError> {
    update_auth_file(root, |f| {
        let key = normalize_registry(registry);
        f.auths.retain(|k, _| normalize_registry(k) != key);
        f.auths.insert(
            key,
            AuthEntry {
                auth: Some(creds.encoded()),
                ..Default::default()
            },
        );
    })
}

/// Remove stored credentials for `registry`; true if there were any.
pub fn logout(root: &Path, registry: &str) -> Result<bool, AuthError> {
    let mut found = false;
    update_auth_file(root, |f| {
        let key = normalize_registry(registry);
        let before = f.auths.len();
        f.auths.retain(|k, _| normalize_registry(k) != key);
        found = f.auths.len() != before;
    })?;
    Ok(found)
}

fn update_auth_file(root: &Path, change: impl FnOnce(&mut AuthFile)) -> Result<(), AuthError> {
    let path = root.join(AUTH_FILE);
    let io_err = |p: &Path| {
        let p = p.display().to_string();
        move |source| AuthError::Io { path: p, source }
    };
    fs::create_dir_all(root).map_err(io_err(root))?;
    let lock_path = root.join(".auth.lock");
    let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
    // released when `lock` is closed
    crate::sys::fs::flock(&lock, libc::LOCK_EX).map_err(io_err(&lock_path))?;
    let mut file = read_auth_file(&path)?.unwrap_or_default();
    change(&mut file);
    let data = serde_json::to_vec_pretty(&file).map_err(|source| AuthError::Json {
        path: path.display().to_string(),
        source,
    })?;
    fsutil::write_atomic(&path, &data, 0o600).map_err(io_err(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = parse_challenge(r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/busybox:pull""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["service"], "registry.example");
        assert_eq!(c.params["scope"], "repository:library/busybox:pull");
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(
            (c.scheme.as_str(), c.params["realm"].as_str()),
            ("basic", "Registry Realm")
        );
        let c = parse_challenge(
            r#"Bearer realm=http://x/t, scope="a:b:pull,push", error="insufficient_scope""#,
        )
        .unwrap();
        assert_eq!(c.params["realm"], "http://x/t");
        assert_eq!(c.params["scope"], "a:b:pull,push");
        assert_eq!(c.params["error"], "insufficient_scope");
        assert!(parse_challenge("").is_none());
        assert!(parse_challenge(r#"Bearer realm="unterminated"#).is_none());
    }

    #[test]
    fn entries_and_keys() {
        let f: AuthFile = serde_json::from_str(r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"127.0.0.1:5000":{"username":"a","password":"b:c"},"bad":{"auth":"!!"}},"credsStore":"x"}"#).unwrap();
        assert_eq!(find_in(&f, "docker.io"), Some(Credentials::new("u", "p")));
        assert_eq!(
            find_in(&f, "http://127.0.0.1:5000"),
            Some(Credentials::new("a", "b:c"))
        );
        assert_eq!(find_in(&f, "bad"), None);
        assert_eq!(find_in(&f, "other"), None);
        assert_eq!(
            normalize_registry("https://registry-1.docker.io/v2/"),
            "docker.io"
        );
        assert_eq!(Credentials::new("u", "p").encoded(), "dTpw");
        assert!(!format!("{:?}", Credentials::new("u", "secret")).contains("secret"));
    }

    #[test]
    fn store_and_lookup() {
        let t = tempfile::tempdir().unwrap();
        update_auth_file(t.path(), |f| {
            f.auths.insert(
                "127.0.0.1:1".into(),
                AuthEntry {
                    auth: Some(Credentials::new("x", "y").encoded()),
                    ..Default::default()
                },
            );
        })
        .unwrap();
        let p = t.path().join(AUTH_FILE);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            lookup(Some(t.path()), "127.0.0.1:1"),
            Some(Credentials::new("x", "y"))
        );
        assert!(logout(t.path(), "127.0.0.1:1").unwrap());
        assert_eq!(lookup(Some(t.path()), "127.0.0.1:1"), None);
    }
}
