//! ADD of an http(s) URL: the file is downloaded into the store's `tmp/`
//! (a staging name, so a killed build's download is cleaned up later),
//! its sha256 computed on the way. The cache key of a step without
//! `--checksum` needs that hash, so the download made for the key is kept
//! for the step that follows in the same process (`take`).
use crate::state::Store;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

pub(super) struct Fetched {
    pub path: PathBuf,
    /// hex
    pub sha256: String,
    /// The file name the URL's path ends with.
    pub name: String,
}

/// Downloads made for a cache key, by URL, not yet used by a step.
static KEPT: Mutex<Option<HashMap<String, Fetched>>> = Mutex::new(None);

/// The last segment of the URL's path (Docker's file name for `ADD URL DIR/`).
/// Percent-escapes decoded; the name is refused if one hid a `/` or NUL.
pub(super) fn url_name(url: &reqwest::Url) -> Result<String, String> {
    let raw = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("");
    let name = percent_decode(raw);
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err("the URL's path names no file: give a destination file name".into());
    }
    Ok(name)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_urls() {
        let n = |u: &str| url_name(&reqwest::Url::parse(u).unwrap());
        assert_eq!(n("http://h/a/b/tool.tar.gz?x=1").unwrap(), "tool.tar.gz");
        assert_eq!(n("http://h/a/my%20file.txt").unwrap(), "my file.txt");
        assert!(n("http://h/").is_err() && n("http://h/dir/").is_err());
        assert!(n("http://h/a%2F..").is_err() && n("http://h/x/%2e%2e").is_err());
        assert!(check_checksum("sha256:" ).is_err() && check_checksum(&format!("sha256:{}", "a".repeat(64))).is_ok());
    }
}

fn parse_checksum(c: &str) -> Result<String, String> {
    let hex = c.strip_prefix("sha256:").ok_or_else(|| format!("--checksum={c}: sha256:HEX expected"))?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("--checksum={c}: 64 hex digits expected"));
    }
    Ok(hex.to_ascii_lowercase())
}

/// Checks a `--checksum` value's form.
pub(super) fn check_checksum(c: &str) -> Result<(), String> {
    parse_checksum(c).map(|_| ())
}

fn download(store: &Store, raw: &str) -> Result<Fetched, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("bad URL: {e}"))?;
    let name = url_name(&url)?;
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("bocker/", env!("CARGO_PKG_VERSION")))
        .timeout(None::<Duration>)
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let mut resp = client.get(url).send().map_err(|e| format!("download failed: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("download failed: HTTP {status}"));
    }
    let path = store.tmp_dir().join(crate::state::staging::tagged_name("fetch"));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 128 << 10];
        loop {
            let n = resp.read(&mut buf).map_err(|e| format!("download failed: {e}"))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            f.write_all(&buf[..n]).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(hex::encode(h.finalize()))
    })();
    match r {
        Ok(sha256) => Ok(Fetched { path, sha256, name }),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// The sha256 of what `url` serves (downloaded now, kept for `take`).
pub(super) fn content_hash(store: &Store, url: &str) -> Result<String, String> {
    let f = download(store, url)?;
    let sha = f.sha256.clone();
    let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(old) = kept.get_or_insert_with(HashMap::new).insert(url.to_string(), f) {
        let _ = std::fs::remove_file(old.path);
    }
    Ok(sha)
}

/// The download of `url` (the kept one, or a new one), its checksum
/// verified. The caller removes the file.
pub(super) fn take(store: &Store, url: &str, checksum: Option<&str>) -> Result<Fetched, String> {
    let kept = KEPT.lock().unwrap_or_else(|p| p.into_inner()).as_mut().and_then(|m| m.remove(url));
    let f = match kept {
        Some(f) => f,
        None => download(store, url)?,
    };
    if let Some(c) = checksum {
        let want = parse_checksum(c);
        if want.as_deref() != Ok(f.sha256.as_str()) {
            let _ = std::fs::remove_file(&f.path);
            return Err(match want {
                Ok(w) => format!("checksum mismatch: want sha256:{w}, got sha256:{}", f.sha256),
                Err(e) => e,
            });
        }
    }
    Ok(f)
}
