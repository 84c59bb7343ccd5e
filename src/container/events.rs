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

/// A filter on events (`bocker events --filter`, `bocker.events.read`'s
/// `filter`): values of one key OR, keys AND, `label` values AND, as
/// Docker's.
#[derive(Debug, Default, Clone)]
pub struct EventFilter(std::collections::BTreeMap<String, Vec<String>>);

impl EventFilter {
    pub const KEYS: &'static [&'static str] = &["container", "event", "image", "label", "type"];

    pub fn new(map: std::collections::BTreeMap<String, Vec<String>>) -> Result<EventFilter, String> {
        if let Some(k) = map.keys().find(|k| !Self::KEYS.contains(&k.as_str())) {
            return Err(format!("invalid filter '{k}'"));
        }
        Ok(EventFilter(map))
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.0.iter().all(|(k, values)| {
            let one = |v: &String| match k.as_str() {
                "container" => e.id.starts_with(v.as_str()) || e.name == *v,
                // "health_status" matches "health_status: healthy"
                "event" => e.action == *v || e.action.split(':').next() == Some(v.as_str()),
                "image" => e.attributes.get("image") == Some(v),
                "type" => e.kind == *v,
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => e.attributes.get(lk).map(String::as_str) == Some(lv),
                    None => e.attributes.contains_key(v.as_str()),
                },
                _ => false,
            };
            if k == "label" { values.iter().all(one) } else { values.iter().any(one) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_filters_match_as_dockers() {
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("image".to_string(), "busybox".to_string());
        attributes.insert("tier".to_string(), "web".to_string());
        let e = Event { time_nano: 1, kind: "container".into(), action: "health_status: healthy".into(), id: "ps_abc".into(), name: "web1".into(), attributes };
        let f = |pairs: &[(&str, &[&str])]| {
            EventFilter::new(pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()).unwrap()
        };
        assert!(f(&[]).matches(&e));
        assert!(f(&[("event", &["die", "health_status"])]).matches(&e));
        assert!(!f(&[("event", &["die"])]).matches(&e));
        assert!(f(&[("container", &["web1"]), ("label", &["tier=web", "tier"])]).matches(&e));
        assert!(!f(&[("container", &["ps_abc"]), ("label", &["tier=db"])]).matches(&e));
        assert!(EventFilter::new([("bogus".to_string(), vec![])].into_iter().collect()).is_err());
    }
}
