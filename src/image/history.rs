//! `bocker history`: an image's history entries, newest first, each with
//! the size of the layer it made and the id of the local image it ends
//! (a build step's intermediate image), if there is one.
use crate::state::{StateError, Store};
use serde::Serialize;

#[derive(Serialize, Debug, Clone)]
pub struct HistoryRow {
    /// The image this entry is the top of, if the store has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub created: f64,
    pub created_by: String,
    /// Bytes of the layer the entry made (0 for a config-only step).
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub empty_layer: bool,
}

/// The rows of `reference`'s history, newest first. The entries are those
/// an exported config carries (`archive::effective_history`).
pub fn history(store: &Store, reference: &str) -> Result<Vec<HistoryRow>, StateError> {
    let img = store.resolve_image(reference)?;
    let entries = crate::image::archive::effective_history(&img);
    let mut layers = img.layers.iter();
    let mut rows: Vec<HistoryRow> = entries
        .iter()
        .map(|h| HistoryRow {
            id: None,
            created: h.created,
            created_by: h.created_by.clone(),
            size: if h.empty_layer { 0 } else { layers.next().map(|l| store.read_layer(l).map(|r| r.size).unwrap_or(0)).unwrap_or(0) },
            comment: h.comment.clone(),
            empty_layer: h.empty_layer,
        })
        .collect();
    if let Some(top) = rows.last_mut() {
        top.id = Some(img.id.clone());
    }
    // the parents (a build's intermediate images) end the earlier entries
    let mut next = img.parent.clone();
    let mut hops = 0;
    while let Some(pid) = next.take() {
        let Ok(p) = store.resolve_image(&pid) else { break };
        let n = p.history.len();
        if n > 0 && n <= rows.len() && rows[n - 1].id.is_none() {
            rows[n - 1].id = Some(p.id.clone());
        }
        hops += 1;
        if hops > rows.len() {
            break;
        }
        next = p.parent.clone();
    }
    rows.reverse();
    Ok(rows)
}
