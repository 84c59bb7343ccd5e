//! Container events as the monitor records them in the store's event
//! log (`state::events`): Docker's actions and attributes.
use crate::state::containers::ContainerRecord;
use crate::state::events::{now_nano, Event};
use crate::state::Store;

/// Appends `action` for `c` (best effort: a full disk must not stop a
/// container). The attributes are Docker's: image, name, the labels, and
/// `extra` (exitCode, ...).
pub fn emit(store: &Store, c: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
    let mut attributes = c.labels.clone();
    attributes.insert("image".into(), c.image_ref.clone());
    attributes.insert("name".into(), c.name.clone().unwrap_or_default());
    for (k, v) in extra {
        attributes.insert(k.to_string(), v.clone());
    }
    let e = Event {
        time_nano: now_nano(),
        kind: "container".into(),
        action: action.into(),
        id: c.id.clone(),
        name: c.name.clone().unwrap_or_default(),
        attributes,
    };
    if let Err(err) = store.append_event(&e) {
        crate::trace::mark(&format!("event {action} not recorded: {err}"));
    }
}
