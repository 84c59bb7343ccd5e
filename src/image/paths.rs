//! Where the image side keeps things under the bocker root. The layer store
//! uses exactly these; keep every path in this one place.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    root: PathBuf,
}

impl Paths {
    pub fn new(root: &Path) -> Paths {
        Paths {
            root: root.to_path_buf(),
        }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `$ROOT/layers`
    pub fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }
    /// `$ROOT/layers/<hex diff_id>`
    pub fn layer(&self, diff_hex: &str) -> PathBuf {
        self.layers().join(diff_hex)
    }
    /// `$ROOT/layers/<hex>/diff` — the extracted layer (overlay lower dir).
    pub fn layer_diff(&self, diff_hex: &str) -> PathBuf {
        self.layer(diff_hex).join("diff")
    }
    /// `$ROOT/layers/<hex>/layer.json`
    pub fn layer_json(&self, diff_hex: &str) -> PathBuf {
        self.layer(diff_hex).join(LAYER_JSON)
    }
    /// `$ROOT/tmp` — staging on the same filesystem.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

pub const LAYER_JSON: &str = "layer.json";
