//! `bocker import`: a filesystem tar (plain or compressed, from a file or
//! stdin) becomes a one-layer image, with optional config changes.
use super::changes::ConfigChanges;
use super::layer::{child_of, record_child};
use super::{io_err, Result};
use crate::image::archive::Input;
use crate::local_images::DEFAULT_PATH;
use crate::state::images::{HistoryEntry, ImageConfig, ImageRecord, LayerRecord};
use crate::state::{atomic, Store};
use serde::Deserialize;
use std::io::BufReader;

/// What `bocker.image.import` accepts.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ImportSpec {
    #[serde(default)]
    pub changes: ConfigChanges,
    /// The history comment (`-m`).
    #[serde(default)]
    pub message: Option<String>,
    /// NAME[:TAG] for the new image.
    #[serde(default)]
    pub tag: Option<String>,
}

/// Extracts `input` (the safe extractor: the tar is hostile input) into a
/// layer keyed by its diff_id (an existing one is reused) and records an
/// image of it. Nothing is left behind on failure.
pub fn import(store: &Store, input: Input<'_>, spec: &ImportSpec) -> Result<ImageRecord> {
    let mut config = ImageConfig { env: vec![DEFAULT_PATH.to_string()], ..Default::default() };
    spec.changes.apply(&mut config)?;
    let label = match input {
        Input::File(p) => p.display().to_string(),
        Input::Stdin => "-".to_string(),
    };
    let _producing = store.layer_producer_lock()?;
    let stage = store.tmp_dir().join(crate::state::staging::tagged_name("import"));
    let placed = (|| -> Result<(String, bool)> {
        let diff = stage.join("diff");
        std::fs::create_dir_all(&diff).map_err(io_err(&diff))?;
        let x = match input {
            Input::File(p) => {
                let f = std::fs::File::open(p).map_err(io_err(p))?;
                crate::image::extract::extract_layer(BufReader::with_capacity(256 << 10, f), &diff)
            }
            Input::Stdin => crate::image::extract::extract_layer(BufReader::with_capacity(256 << 10, std::io::stdin().lock()), &diff),
        }
        .map_err(|e| super::BuildError::Invalid(format!("{label}: {e}")))?;
        let id = x.diff_id.hex().to_string();
        let rec = LayerRecord { diff_id: Some(x.diff_id.to_string()), digest: Some(x.diff_id.to_string()), size: x.tar_size, media_type: None };
        atomic::write_json(&stage.join("layer.json"), &rec)?;
        // the layer is complete on disk before its name says so
        crate::fsutil::syncfs(&stage).map_err(io_err(&stage))?;
        let target = store.layer_dir(&id);
        // false: the same layer is there already (its content is the same)
        let new = crate::fsutil::rename_noreplace(&stage, &target).map_err(io_err(&target))?;
        Ok((id, new))
    })();
    let _ = crate::storage::remove_tree(&stage);
    let (layer, new) = placed?;
    let history = HistoryEntry {
        created: crate::state::now(),
        created_by: format!("bocker import {label}"),
        comment: spec.message.clone().filter(|m| !m.is_empty()),
        empty_layer: false,
    };
    let mut child = child_of(store, None, vec![layer.clone()], config, history);
    child.source = label;
    Ok(record_child(store, child, spec.tag.as_deref(), None, new.then_some(layer.as_str()))?.image)
}
