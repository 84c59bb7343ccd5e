//! Manifests and indexes as `oci_spec::image` types, read from OCI and
//! Docker schema 2 JSON. oci-spec knows the OCI media types; Docker's
//! schema 2 types are `MediaType::Other` strings, named here.

use oci_spec::image::MediaType;
pub use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::de::DeserializeOwned;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Every manifest type we understand, for the `Accept` header. The registry
/// serves OCI types only if asked, and converts an un-asked-for v2s2 to
/// schema 1, so all four must be listed.
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// The four manifest media types bocker reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    OciManifest,
    OciIndex,
    DockerManifest,
    DockerList,
}

impl ManifestKind {
    pub fn of(media_type: &str) -> Option<ManifestKind> {
        match MediaType::from(media_type) {
            MediaType::ImageManifest => Some(ManifestKind::OciManifest),
            MediaType::ImageIndex => Some(ManifestKind::OciIndex),
            MediaType::Other(t) if t == DOCKER_MANIFEST => Some(ManifestKind::DockerManifest),
            MediaType::Other(t) if t == DOCKER_LIST => Some(ManifestKind::DockerList),
            _ => None,
        }
    }

    pub fn is_index(self) -> bool {
        matches!(self, ManifestKind::OciIndex | ManifestKind::DockerList)
    }
}

/// A fetched manifest, classified.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("unsupported manifest media type {0:?} (schema 1 images are not supported)")]
    Unsupported(String),
    #[error("malformed {what}: {source}")]
    Malformed { what: &'static str, source: serde_path_to_error::Error<serde_json::Error> },
}

/// Reads `what` strictly from JSON bytes; the error names the field path.
pub fn from_json<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, ManifestError> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes)).map_err(|source| ManifestError::Malformed { what, source })
}

impl Manifest {
    /// Classify by the Content-Type header, falling back to the body's own
    /// `mediaType`, then to its shape.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Manifest, ManifestError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Shape {
            media_type: Option<String>,
            manifests: Option<serde::de::IgnoredAny>,
            layers: Option<serde::de::IgnoredAny>,
        }
        let shape: Shape = from_json("manifest", body)?;
        let ct = content_type.map(|c| c.split(';').next().unwrap_or("").trim());
        let kind = match (ct.and_then(ManifestKind::of), &shape.media_type) {
            (Some(k), _) => k,
            (None, Some(t)) => ManifestKind::of(t).ok_or_else(|| ManifestError::Unsupported(t.clone()))?,
            (None, None) if shape.manifests.is_some() => ManifestKind::OciIndex,
            (None, None) if shape.layers.is_some() => ManifestKind::OciManifest,
            (None, None) => return Err(ManifestError::Unsupported(ct.unwrap_or_default().to_string())),
        };
        if kind.is_index() {
            Ok(Manifest::Index(from_json("image index", body)?))
        } else {
            Ok(Manifest::Image(from_json("image manifest", body)?))
        }
    }
}

/// Whether an index entry names an image manifest (not a nested index or
/// an artifact).
pub fn is_image_manifest(d: &Descriptor) -> bool {
    ManifestKind::of(d.media_type().as_ref()).is_some_and(|k| !k.is_index())
}

/// Layer media types we can extract (compression is sniffed anyway).
pub fn is_layer_type(mt: &MediaType) -> bool {
    match mt {
        MediaType::ImageLayer
        | MediaType::ImageLayerGzip
        | MediaType::ImageLayerZstd
        | MediaType::ImageLayerNonDistributable
        | MediaType::ImageLayerNonDistributableGzip
        | MediaType::ImageLayerNonDistributableZstd => true,
        MediaType::Other(t) => t.is_empty() || t.starts_with("application/vnd.oci.image.layer.") || t.starts_with("application/vnd.docker.image.rootfs."),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn classify() {
        let m = format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":1}},"layers":[]}}"#);
        assert!(matches!(Manifest::parse(Some("application/vnd.oci.image.manifest.v1+json"), m.as_bytes()).unwrap(), Manifest::Image(_)));
        assert!(matches!(Manifest::parse(None, m.as_bytes()).unwrap(), Manifest::Image(_)));
        let i = format!(r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{{"mediaType":"{DOCKER_MANIFEST}","digest":"{D2}","size":2,"platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}}]}}"#);
        match Manifest::parse(Some("application/json"), i.as_bytes()).unwrap() {
            Manifest::Index(ix) => {
                let d = &ix.manifests()[0];
                assert!(is_image_manifest(d));
                assert_eq!(d.platform().as_ref().and_then(|p| p.variant().clone()).as_deref(), Some("v7"));
            }
            _ => panic!("not an index"),
        }
        let s1 = br#"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#;
        assert!(matches!(Manifest::parse(None, s1), Err(ManifestError::Unsupported(_))));
        assert!(Manifest::parse(None, b"not json").is_err());
    }

    #[test]
    fn strict_with_a_path() {
        // a digest that is not one, and a descriptor without its media type
        let bad = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:x","size":1},"layers":[]}"#;
        let e = Manifest::parse(None, bad).unwrap_err().to_string();
        assert!(e.contains("config.digest"), "{e}");
        let bad = format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":1}},"layers":[{{"digest":"{D2}","size":3}}]}}"#);
        let e = Manifest::parse(None, bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("layers[0]") && e.contains("mediaType"), "{e}");
    }

    #[test]
    fn layer_types() {
        assert!(is_layer_type(&MediaType::ImageLayerGzip));
        assert!(is_layer_type(&MediaType::from(DOCKER_LAYER_GZIP)));
        assert!(!is_layer_type(&MediaType::ImageConfig));
        assert!(!is_layer_type(&MediaType::from("application/vnd.example.thing")));
    }
}
