//! The push side of the registry client: blob existence, monolithic blob
//! upload (POST then PUT ?digest=), manifest PUT.

use crate::image::digest::Digest;
use crate::image::registry::{check_status, status_error, RegistryClient, RegistryError};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use std::fs::{self, File};
use std::path::Path;

type Result<T> = std::result::Result<T, RegistryError>;

impl RegistryClient {
    /// HEAD a blob: does the registry have it already?
    pub fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send(&url, &|c| c.head(&url))?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(status_error(&url, s, b"")),
        }
    }

    /// Upload a blob from a file (monolithic: POST then PUT ?digest=),
    /// skipping it if the registry already has it. Returns true if sent.
    pub fn upload_blob(&self, digest: &Digest, path: &Path) -> Result<bool> {
        if self.blob_exists(digest)? {
            return Ok(false);
        }
        let start = self.url("blobs/uploads/");
        let resp = self.send(&start, &|c| c.post(&start).header(CONTENT_LENGTH, "0"))?;
        let resp = check_status(resp, &start, "upload session")?;
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Status {
                url: start.clone(),
                status: resp.status().as_u16(),
                body: "no Location header".into(),
            })?
            .to_string();
        let loc = if loc.starts_with('/') {
            format!("{}{}", self.base, loc)
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let put = format!("{loc}{sep}digest={digest}");
        let io_err = |source| RegistryError::Io {
            path: path.display().to_string(),
            source,
        };
        let len = fs::metadata(path).map_err(io_err)?.len();
        let resp = self.send(&put, &|c| {
            let body = match File::open(path) {
                Ok(f) => reqwest::blocking::Body::sized(f, len),
                Err(_) => reqwest::blocking::Body::from(Vec::new()),
            };
            c.request(Method::PUT, &put)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body)
        })?;
        check_status(resp, &put, &format!("blob {digest}"))?;
        Ok(true)
    }

    /// PUT a manifest under a tag (or its digest); returns its digest.
    pub fn put_manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Result<Digest> {
        let url = self.url(&format!("manifests/{reference}"));
        let resp = self.send(&url, &|c| {
            c.put(&url)
                .header(CONTENT_TYPE, media_type)
                .body(bytes.to_vec())
        })?;
        check_status(resp, &url, "manifest")?;
        Ok(Digest::of_bytes(bytes))
    }
}
