//! A small blocking client for the OCI distribution (registry v2) API.
//!
//! `/v2/` probe, `WWW-Authenticate` Bearer/Basic, manifests with the full
//! Accept list, blobs streamed while hashed. The push side (blob
//! upload, manifest PUT) is in `push.rs`.

use crate::image::auth::{parse_challenge, Credentials};
use crate::image::digest::{Digest, DigestError};
use crate::image::manifest::{ManifestError, ACCEPT_MANIFESTS};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

/// Largest manifest or config we accept into memory.
pub const MAX_SMALL_BLOB: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: unauthorized{detail}")]
    Unauthorized { url: String, detail: String },
    #[error("{what} not found ({url})")]
    NotFound { what: String, url: String },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{what}: larger than {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("bad authentication challenge: {0}")]
    Challenge(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Digest(#[from] DigestError),
}

type Result<T> = std::result::Result<T, RegistryError>;

/// The API host for a registry as named in references.
pub fn api_host(registry: &str) -> &str {
    if registry == crate::image::reference::DOCKER_HUB {
        "registry-1.docker.io"
    } else {
        registry
    }
}

fn host_only(host: &str) -> &str {
    if let Some(r) = host.strip_prefix('[') {
        return r.split(']').next().unwrap_or(r);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Loopback hosts are spoken to in plain HTTP, and never through a proxy.
pub fn is_loopback(host: &str) -> bool {
    let h = host_only(host);
    h == "localhost"
        || h == "::1"
        || (h.starts_with("127.") && h.parse::<std::net::Ipv4Addr>().is_ok())
}

/// `http` for loopback and `BOCKER_INSECURE_REGISTRIES` (comma-separated,
/// `host` or `host:port`), `https` otherwise.
pub fn scheme_for(host: &str) -> &'static str {
    if is_loopback(host) {
        return "http";
    }
    let list = std::env::var("BOCKER_INSECURE_REGISTRIES").unwrap_or_default();
    let insecure = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|e| e == host || e == host_only(host));
    if insecure {
        "http"
    } else {
        "https"
    }
}

/// A manifest as fetched: raw bytes (digests are over these), its
/// Content-Type and its digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: Option<String>,
    pub digest: Digest,
}

pub struct RegistryClient {
    http: Client,
    pub(crate) base: String,
    repository: String,
    creds: Option<Credentials>,
    actions: &'static str,
    /// The `Authorization` value earned from the last challenge.
    auth: Mutex<Option<HeaderValue>>,
}

impl RegistryClient {
    /// `host` is the API host (`registry-1.docker.io`, `127.0.0.1:5000`).
    pub fn new(host: &str, repository: &str, creds: Option<Credentials>) -> Result<RegistryClient> {
        let mut b = Client::builder()
            .user_agent(concat!("bocker/", env!("CARGO_PKG_VERSION")))
            .timeout(None::<Duration>)
            .connect_timeout(Duration::from_secs(30));
        if is_loopback(host) {
            b = b.no_proxy();
        }
        let http = b.build().map_err(|source| RegistryError::Http {
            url: host.into(),
            source,
        })?;
        Ok(RegistryClient {
            http,
            base: format!("{}://{}", scheme_for(host), host),
            repository: repository.into(),
            creds,
            actions: "pull",
            auth: Mutex::new(None),
        })
    }

    /// Ask for push rights too (token scope `pull,push`).
    pub fn for_push(mut self) -> Self {
        self.actions = "pull,push";
        self
    }

    pub(crate) fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{}", self.base, self.repository, tail)
    }

    /// Send a request, answering one authentication challenge if needed.
    pub(crate) fn send(
        &self,
        url: &str,
        build: &dyn Fn(&Client) -> RequestBuilder,
    ) -> Result<Response> {
        let attempt = || {
            let mut rb = build(&self.http);
            if let Some(h) = self.auth.lock().ok().and_then(|g| g.clone()) {
                rb = rb.header(AUTHORIZATION, h);
            }
            rb.send().map_err(|source| RegistryError::Http {
                url: url.into(),
                source,
            })
        };
        let resp = attempt()?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let Some(ch) = challenge else {
            return Err(RegistryError::Unauthorized {
                url: url.into(),
                detail: " (no challenge)".into(),
            });
        };
        self.authenticate(url, &ch)?;
        attempt()
    }

    fn authenticate(&self, url: &str, header: &str) -> Result<()> {
        let ch = parse_challenge(header).ok_or_else(|| RegistryError::Challenge(header.into()))?;
        let value = match ch.scheme.as_str() {
            "basic" => match &self.creds {
                Some(c) => format!("Basic {}", c.encoded()),
                None => {
                    return Err(RegistryError::Unauthorized {
                        url: url.into(),
                        detail: ": credentials required (bocker login)".into(),
                    })
                }
            },
            "bearer" => {
                let realm = ch
                    .params
                    .get("realm")
                    .ok_or_else(|| RegistryError::Challenge(header.into()))?;
                let mut q: Vec<(&str, String)> = Vec::new();
                if let Some(s) = ch.params.get("service") {
                    q.push(("service", s.clone()));
                }
                if !self.repository.is_empty() {
                    q.push((
                        "scope",
                        format!("repository:{}:{}", self.repository, self.actions),
                    ));
                }
                if let Some(c) = &self.creds {
                    q.push(("account", c.username.clone()));
                }
                let mut token_url = reqwest::Url::parse(realm)
                    .map_err(|_| RegistryError::Challenge(format!("bad realm {realm}")))?;
                if !matches!(token_url.scheme(), "http" | "https") {
                    return Err(RegistryError::Challenge(format!("bad realm {realm}")));
                }
                token_url
                    .query_pairs_mut()
                    .extend_pairs(q.iter().map(|(k, v)| (*k, v.as_str())));
                let mut rb = self.http.get(token_url);
                if let Some(c) = &self.creds {
                    rb = rb.basic_auth(&c.username, Some(&c.password));
                }
                let resp = rb.send().map_err(|source| RegistryError::Http {
                    url: realm.clone(),
                    source,
                })?;
                let status = resp.status();
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    return Err(RegistryError::Unauthorized {
                        url: realm.clone(),
                        detail: ": token refused (check credentials)".into(),
                    });
                }
                let body = read_limited(resp, 1 << 20, realm)?;
                if !status.is_success() {
                    return Err(status_error(realm, status, &body));
                }
                #[derive(serde::Deserialize)]
                struct Tok {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let t: Tok = serde_json::from_slice(&body).map_err(|_| {
                    RegistryError::Challenge(format!("bad token response from {realm}"))
                })?;
                let tok = t
                    .token
                    .or(t.access_token)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| RegistryError::Challenge(format!("no token from {realm}")))?;
                format!("Bearer {tok}")
            }
            other => {
                return Err(RegistryError::Challenge(format!(
                    "unsupported auth scheme {other}"
                )))
            }
        };
        let hv = HeaderValue::from_str(&value)
            .map_err(|_| RegistryError::Challenge("token is not a valid header value".into()))?;
        if let Ok(mut g) = self.auth.lock() {
            *g = Some(hv);
        }
        Ok(())
    }

    /// `GET /v2/`; with credentials, proves they work.
    pub fn ping(&self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        let resp = self.send(&url, &|c| c.get(&url))?;
        check_status(resp, &url, "registry").map(|_| ())
    }

    /// For `login`: a 401 answered with our credentials must turn into 200.
    pub fn login_check(&self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        let resp = self.send(&url, &|c| c.get(&url))?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            return Err(RegistryError::Unauthorized {
                url,
                detail: ": credentials rejected".into(),
            });
        }
        check_status(resp, &url, "registry").map(|_| ())
    }

    /// Fetch a manifest by tag or digest; a digest reference is verified.
    pub fn get_manifest(&self, reference: &str) -> Result<FetchedManifest> {
        let url = self.url(&format!("manifests/{reference}"));
        let resp = self.send(&url, &|c| c.get(&url).header(ACCEPT, ACCEPT_MANIFESTS))?;
        let resp = check_status(
            resp,
            &url,
            &format!("manifest {}:{reference}", self.repository),
        )?;
        let media_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = read_limited(resp, MAX_SMALL_BLOB, &url)?;
        let digest = Digest::of_bytes(&bytes);
        if reference.starts_with("sha256:") {
            let want = Digest::parse(reference)?;
            if want != digest {
                return Err(RegistryError::DigestMismatch {
                    what: format!("manifest {}", self.repository),
                    expected: want.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    fn get_blob(&self, digest: &Digest) -> Result<(String, Response)> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send(&url, &|c| c.get(&url))?;
        let resp = check_status(resp, &url, &format!("blob {digest}"))?;
        Ok((url, resp))
    }

    /// A small blob (config) into memory, verified.
    pub fn get_blob_bytes(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        let (url, resp) = self.get_blob(digest)?;
        let bytes = read_limited(resp, MAX_SMALL_BLOB, &url)?;
        verify(
            &format!("blob {digest}"),
            digest,
            size,
            &Digest::of_bytes(&bytes),
            bytes.len() as u64,
        )?;
        Ok(bytes)
    }

    /// Start downloading a blob: the bytes read from the returned stream
    /// are hashed and counted; `BlobStream::finish` checks them.
    pub fn open_blob(&self, digest: &Digest, size: Option<u64>) -> Result<BlobStream> {
        let (url, resp) = self.get_blob(digest)?;
        Ok(BlobStream {
            url,
            digest: digest.clone(),
            size,
            resp,
            hasher: Sha256::new(),
            count: 0,
            too_long: false,
        })
    }
}

/// A blob being downloaded (see `RegistryClient::open_blob`). Reading more
/// than the expected size is an error at once; the digest can only be
/// checked at the end, so a consumer must treat what it read as untrusted
/// until `finish` says otherwise.
pub struct BlobStream {
    url: String,
    digest: Digest,
    size: Option<u64>,
    resp: Response,
    hasher: Sha256,
    count: u64,
    too_long: bool,
}

impl BlobStream {
    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The size the descriptor gave.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Read what is left, then check size and digest; returns the size.
    pub fn finish(mut self) -> Result<u64> {
        let drained = std::io::copy(&mut self, &mut std::io::sink());
        let what = format!("blob {}", self.digest);
        if self.too_long {
            return Err(RegistryError::SizeMismatch {
                what,
                expected: self.size.unwrap_or(0),
                actual: self.count,
            });
        }
        drained.map_err(|source| RegistryError::Io {
            path: self.url.clone(),
            source,
        })?;
        let got = Digest::from_hasher(self.hasher);
        verify(&what, &self.digest, self.size, &got, self.count)?;
        Ok(self.count)
    }
}

impl Read for BlobStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.too_long {
            return Err(std::io::Error::other("blob larger than its descriptor says"));
        }
        let k = self.resp.read(buf)?;
        self.count += k as u64;
        if self.size.is_some_and(|s| self.count > s) {
            self.too_long = true;
            return Err(std::io::Error::other("blob larger than its descriptor says"));
        }
        self.hasher.update(&buf[..k]);
        Ok(k)
    }
}

fn verify(what: &str, want: &Digest, size: Option<u64>, got: &Digest, n: u64) -> Result<()> {
    if let Some(s) = size {
        if s != n {
            return Err(RegistryError::SizeMismatch {
                what: what.into(),
                expected: s,
                actual: n,
            });
        }
    }
    if want != got {
        return Err(RegistryError::DigestMismatch {
            what: what.into(),
            expected: want.to_string(),
            actual: got.to_string(),
        });
    }
    Ok(())
}

fn read_limited(resp: Response, limit: u64, url: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    resp.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|source| RegistryError::Io {
            path: url.into(),
            source,
        })?;
    if out.len() as u64 > limit {
        return Err(RegistryError::TooLarge {
            what: url.into(),
            limit,
        });
    }
    Ok(out)
}

pub(crate) fn status_error(url: &str, status: StatusCode, body: &[u8]) -> RegistryError {
    let mut b: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    if b.is_empty() {
        b = status.canonical_reason().unwrap_or("error").into();
    }
    RegistryError::Status {
        url: url.into(),
        status: status.as_u16(),
        body: b,
    }
}

pub(crate) fn check_status(resp: Response, url: &str, what: &str) -> Result<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    if status == StatusCode::NOT_FOUND {
        return Err(RegistryError::NotFound {
            what: what.into(),
            url: url.into(),
        });
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(RegistryError::Unauthorized {
            url: url.into(),
            detail: format!(" (HTTP {})", status.as_u16()),
        });
    }
    let body = read_limited(resp, 4096, url).unwrap_or_default();
    Err(status_error(url, status, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(scheme_for("127.0.0.1:5000"), "http");
        assert_eq!(scheme_for("127.1.2.3"), "http");
        assert_eq!(scheme_for("localhost:80"), "http");
        assert_eq!(scheme_for("[::1]:5000"), "http");
        assert_eq!(scheme_for("registry.example.com"), "https");
        assert_eq!(scheme_for("127.example.com"), "https");
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(host_only("h:5000"), "h");
        assert_eq!(host_only("[::1]:5000"), "::1");
    }
}
