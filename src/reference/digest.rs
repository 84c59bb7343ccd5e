//! `sha256:<64 lowercase hex>` content digests, validated before they are
//! used in a URL or a path.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read};

#[derive(Debug, thiserror::Error)]
#[error("invalid digest {0:?}: expected sha256:<64 lowercase hex>")]
pub struct DigestError(pub String);

/// A validated sha256 digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| DigestError(s.to_string()))?;
        Digest::from_hex(hex).map_err(|_| DigestError(s.to_string()))
    }

    pub fn from_hex(hex: &str) -> Result<Digest, DigestError> {
        if is_hex64(hex) {
            Ok(Digest {
                hex: hex.to_string(),
            })
        } else {
            Err(DigestError(hex.to_string()))
        }
    }

    pub fn of_bytes(data: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(data)),
        }
    }

    pub fn from_hasher(h: Sha256) -> Digest {
        Digest {
            hex: hex::encode(h.finalize()),
        }
    }

    /// The 64 hex characters, without the `sha256:` prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// A descriptor's digest, if it is a sha256 one (the only kind bocker
    /// verifies content against).
    pub fn from_oci(d: &oci_spec::image::Digest) -> Result<Digest, DigestError> {
        Digest::parse(d.as_ref())
    }

    /// The same digest as oci-spec's type, for a descriptor.
    pub fn to_oci(&self) -> Result<oci_spec::image::Digest, DigestError> {
        oci_spec::image::Digest::try_from(self.to_string()).map_err(|_| DigestError(self.to_string()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

pub fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A reader that hashes (sha256) and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    pub fn count(&self) -> u64 {
        self.count
    }
    /// Reads the rest of the stream (so the digest covers all of it) and
    /// returns the digest and total byte count.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest::from_hasher(self.hasher), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let h = "a".repeat(64);
        let d = Digest::parse(&format!("sha256:{h}")).unwrap();
        assert_eq!(d.hex(), h);
        assert_eq!(d.to_string(), format!("sha256:{h}"));
        assert!(Digest::parse(&h).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse("sha256:../../etc").is_err());
        assert!(Digest::parse(&format!("sha512:{h}")).is_err());
    }

    #[test]
    fn hashing_reader() {
        let r = HashingReader::new(&b"hello"[..]);
        let (d, n) = r.finish().unwrap();
        assert_eq!(n, 5);
        assert_eq!(d, Digest::of_bytes(b"hello"));
    }
}
