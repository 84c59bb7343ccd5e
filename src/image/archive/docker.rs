//! The Docker archive's own files (what `docker save` and `podman save
//! --format docker-archive` write): `manifest.json`, one entry per image,
//! and the legacy `repositories` and `<v1 id>/json` beside the layers.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One image of `manifest.json`. Paths are relative to the archive root.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ManifestItem {
    #[serde(rename = "Config")]
    pub config: String,
    /// `null` for an image saved by id (Docker writes it so).
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    pub layers: Vec<String>,
}

/// `repositories`: repository → tag → the v1 id of the image's top layer.
pub type Repositories = BTreeMap<String, BTreeMap<String, String>>;

/// A layer's legacy `json` (read by nothing that has `manifest.json`, but
/// written as Docker does for older readers).
#[derive(Serialize, Debug)]
pub struct LegacyLayer<'a> {
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<&'a str>,
    pub created: &'a str,
}

/// The v1 id of a layer: a digest of the ids below it and its diff_id, so
/// the same layer stack gives the same folders in every archive.
pub fn v1_id(parent: Option<&str>, diff_id: &str) -> String {
    let chain = match parent {
        Some(p) => format!("{p} {diff_id}"),
        None => diff_id.to_string(),
    };
    crate::image::digest::Digest::of_bytes(chain.as_bytes()).hex().to_string()
}

/// `name:tag` → (`name`, `tag`); the tag is after the last `:` that follows
/// the last `/` (a registry's port is not a tag).
pub fn split_tag(name: &str) -> (&str, &str) {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], &name[slash + i + 1..]),
        None => (name, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_after_the_port() {
        assert_eq!(split_tag("busybox:1"), ("busybox", "1"));
        assert_eq!(split_tag("127.0.0.1:5000/a/b:x"), ("127.0.0.1:5000/a/b", "x"));
        assert_eq!(split_tag("127.0.0.1:5000/a"), ("127.0.0.1:5000/a", "latest"));
    }

    #[test]
    fn manifest_reads_docker_and_podman_shapes() {
        let j = r#"[{"Config":"c.json","RepoTags":null,"Layers":["a/layer.tar"],"Parent":"x","LayerSources":{}}]"#;
        let m: Vec<ManifestItem> = serde_json::from_str(j).unwrap();
        assert_eq!((m[0].config.as_str(), m[0].repo_tags.is_none(), m[0].layers.len()), ("c.json", true, 1));
        let out = serde_json::to_string(&m[0]).unwrap();
        assert_eq!(out, r#"{"Config":"c.json","RepoTags":null,"Layers":["a/layer.tar"]}"#);
    }
}
