//! `docker rename`: a container's name changes; the new name is claimed
//! before the old one is released (names stay unique throughout), and
//! the record is rewritten under the lock the record's other writers
//! (network connect/disconnect) take; a running container's names on its
//! user networks are published again.
use super::{ContainerError, Result};
use crate::state::Store;

/// Renames container `reference` to `new_name`; returns its id.
pub fn rename(store: &Store, reference: &str, new_name: &str) -> Result<String> {
    let new_name = new_name.strip_prefix('/').unwrap_or(new_name);
    if new_name.is_empty() {
        return Err(ContainerError::Invalid("Neither old nor new names may be empty".into()));
    }
    let id = store.resolve_container(reference)?.id;
    let _lock = super::record_lock(store, &id)?;
    let mut rec = store.load_container(&id)?;
    if rec.name.as_deref() == Some(new_name) {
        return Err(ContainerError::Conflict(format!("Renaming a container with the same name as its current name: {new_name}")));
    }
    store.claim_name(new_name, &id)?;
    let old = rec.name.replace(new_name.to_string());
    if let Err(e) = store.save_container(&rec) {
        store.release_name(new_name, &id);
        return Err(e.into());
    }
    if let Some(old) = old {
        store.release_name(&old, &id);
    }
    // a running container's user-network names follow at once (as
    // Docker's embedded DNS does)
    let st = super::live_state(store, &id)?;
    if let (crate::state::containers::Status::Running, Some(net)) = (st.status, st.net.as_ref()) {
        crate::runtime::usernet::publish(store, &rec, net);
    }
    Ok(id)
}
