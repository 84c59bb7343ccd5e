//! Manifest, index and image-config JSON (OCI and Docker schema 2).

use crate::image::platform::Platform;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Every manifest type we understand, for the `Accept` header. The registry
/// serves OCI types only if asked, and converts an un-asked-for v2s2 to
/// schema 1, so all four must be listed.
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
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
    #[error("malformed manifest: {0}")]
    Json(#[from] serde_json::Error),
}

impl Manifest {
    /// Classify by the Content-Type header, falling back to the body's own
    /// `mediaType`, then to its shape.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Manifest, ManifestError> {
        let v: serde_json::Value = serde_json::from_slice(body)?;
        let body_type = v
            .get("mediaType")
            .and_then(|m| m.as_str())
            .map(str::to_string);
        let ct = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_string());
        let kind = match ct.as_deref() {
            Some(t) if [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].contains(&t) => {
                t.to_string()
            }
            _ => match body_type {
                Some(t) => t,
                None if v.get("manifests").is_some() => OCI_INDEX.to_string(),
                None if v.get("layers").is_some() => OCI_MANIFEST.to_string(),
                None => ct.unwrap_or_default(),
            },
        };
        match kind.as_str() {
            OCI_MANIFEST | DOCKER_MANIFEST => Ok(Manifest::Image(serde_json::from_value(v)?)),
            OCI_INDEX | DOCKER_LIST => Ok(Manifest::Index(serde_json::from_value(v)?)),
            other => Err(ManifestError::Unsupported(other.to_string())),
        }
    }
}

/// Layer media types we can extract (compression is sniffed anyway).
pub fn is_layer_type(mt: &str) -> bool {
    mt.is_empty()
        || mt.starts_with("application/vnd.oci.image.layer.")
        || mt.starts_with("application/vnd.docker.image.rootfs.")
}

/// The image configuration blob (only what bocker uses; the rest is kept
/// verbatim in `PulledImage::config_json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<ImageConfig>,
    pub rootfs: RootFs,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// The parts of an image config that `run` honours. Field names on the wire
/// are Docker's (`Entrypoint`, `Cmd`, ...). Port and volume sets are lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "key_set")]
    pub exposed_ports: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "key_set")]
    pub volumes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `{"80/tcp": {}}` <-> `["80/tcp"]`.
mod key_set {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(keys) => {
                let m: BTreeMap<&str, serde_json::Map<String, serde_json::Value>> = keys
                    .iter()
                    .map(|k| (k.as_str(), serde_json::Map::new()))
                    .collect();
                m.serialize(s)
            }
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        let m: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
        Ok(m.map(|m| m.into_keys().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify() {
        let m = br#"{"schemaVersion":2,"config":{"digest":"sha256:x","size":1},"layers":[]}"#;
        assert!(matches!(
            Manifest::parse(Some(OCI_MANIFEST), m).unwrap(),
            Manifest::Image(_)
        ));
        assert!(matches!(
            Manifest::parse(None, m).unwrap(),
            Manifest::Image(_)
        ));
        let i = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"x","digest":"sha256:y","size":2,"platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}"#;
        match Manifest::parse(Some("application/json"), i).unwrap() {
            Manifest::Index(ix) => assert_eq!(
                ix.manifests[0]
                    .platform
                    .as_ref()
                    .unwrap()
                    .variant
                    .as_deref(),
                Some("v7")
            ),
            _ => panic!(),
        }
        let s1 = br#"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#;
        assert!(Manifest::parse(None, s1).is_err());
        assert!(Manifest::parse(None, b"not json").is_err());
    }

    #[test]
    fn image_config_roundtrip() {
        let j = r#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/sh"],"Cmd":["-c","x"],"Env":["A=1"],"WorkingDir":"/w","User":"1:1","ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},"Labels":{"a":"b"},"Hostname":"ignored"},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;
        let c: ConfigFile = serde_json::from_str(j).unwrap();
        let ic = c.config.clone().unwrap();
        assert_eq!(ic.exposed_ports, Some(vec!["80/tcp".to_string()]));
        assert_eq!(ic.volumes, Some(vec!["/data".to_string()]));
        assert_eq!(ic.working_dir.as_deref(), Some("/w"));
        let back = serde_json::to_string(&ic).unwrap();
        assert!(back.contains(r#""ExposedPorts":{"80/tcp":{}}"#), "{back}");
        let again: ImageConfig = serde_json::from_str(&back).unwrap();
        assert_eq!(again, ic);
        let empty: ConfigFile =
            serde_json::from_str(r#"{"rootfs":{"type":"layers","diff_ids":[]},"config":null}"#)
                .unwrap();
        assert!(empty.config.is_none());
    }
}
