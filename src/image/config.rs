//! The image configuration blob as `oci_spec::image::ImageConfiguration`,
//! and its crossing to and from the store's record of what `run` honours
//! (`state::images::ImageConfig`, whose on-disk form stays bocker's own).

use crate::image::manifest::{from_json, ManifestError};
use crate::image::platform::{self, Platform};
use crate::state::images::{HistoryEntry, ImageConfig};
use oci_spec::image::{Config, ImageConfiguration};
use serde::Serialize;

/// Reads a config blob strictly (`architecture`, `os` and `rootfs` are
/// required); the error names the field path.
pub fn parse(bytes: &[u8]) -> Result<ImageConfiguration, ManifestError> {
    from_json("image config", bytes)
}

/// The platform a config declares, if it names both os and architecture.
pub fn platform_of(cfg: &ImageConfiguration) -> Option<Platform> {
    let (os, arch) = (cfg.os().to_string(), cfg.architecture().to_string());
    (!os.is_empty() && !arch.is_empty()).then(|| platform::new(&os, &arch, cfg.variant().as_deref()))
}

/// The store's record of a config's `config` object. Sets come out sorted
/// (the wire form is a JSON object, which oci-spec reads into a HashMap),
/// so the same image always gives the same record.
pub fn to_record(c: Option<&Config>) -> ImageConfig {
    let Some(c) = c else { return ImageConfig::default() };
    let sorted = |v: &Option<Vec<String>>| {
        let mut v = v.clone().unwrap_or_default();
        v.sort();
        v
    };
    ImageConfig {
        entrypoint: c.entrypoint().clone(),
        cmd: c.cmd().clone(),
        env: c.env().clone().unwrap_or_default(),
        working_dir: c.working_dir().clone().filter(|w| !w.is_empty()),
        user: c.user().clone().filter(|u| !u.is_empty()),
        exposed_ports: sorted(c.exposed_ports()),
        volumes: sorted(c.volumes()),
        labels: c.labels().clone().unwrap_or_default().into_iter().collect(),
        stop_signal: c.stop_signal().clone().filter(|s| !s.is_empty()),
        ..Default::default()
    }
}

/// The wire form of a record's config: empty lists and maps are left out.
pub fn from_record(c: &ImageConfig) -> Config {
    let mut out = Config::default();
    out.set_entrypoint(c.entrypoint.clone());
    out.set_cmd(c.cmd.clone());
    out.set_env((!c.env.is_empty()).then(|| c.env.clone()));
    out.set_working_dir(c.working_dir.clone());
    out.set_user(c.user.clone());
    out.set_exposed_ports((!c.exposed_ports.is_empty()).then(|| c.exposed_ports.clone()));
    out.set_volumes((!c.volumes.is_empty()).then(|| c.volumes.clone()));
    out.set_labels((!c.labels.is_empty()).then(|| c.labels.clone().into_iter().collect()));
    out.set_stop_signal(c.stop_signal.clone());
    out
}

/// A config's `created` time (seconds since the epoch), if it has a valid one.
pub fn created_of(cfg: &ImageConfiguration) -> Option<f64> {
    cfg.created().as_deref().and_then(crate::rfc3339::parse)
}

/// A config's history as the store records it (an entry without a time
/// gets `fallback`), so `bocker history` shows it and a save gives it back.
pub fn history_of(cfg: &ImageConfiguration, fallback: f64) -> Vec<HistoryEntry> {
    cfg.history()
        .iter()
        .flatten()
        .map(|h| HistoryEntry {
            created: h.created().as_deref().and_then(crate::rfc3339::parse).unwrap_or(fallback),
            created_by: h.created_by().clone().unwrap_or_default(),
            comment: h.comment().clone().filter(|c| !c.is_empty()),
            empty_layer: h.empty_layer().unwrap_or(false),
        })
        .collect()
}

/// JSON with every object's keys sorted. oci-spec keeps maps (labels,
/// annotations, exposed ports, volumes) in HashMaps, whose order changes
/// from run to run; a blob whose digest names it must not.
pub fn canonical_json<T: Serialize>(v: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&serde_json::to_value(v)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_to_record_and_back() {
        let j = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/sh"],"Cmd":["-c","x"],"Env":["A=1"],"WorkingDir":"/w","User":"1:1","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},"Labels":{"b":"2","a":"1"},"Hostname":"ignored","OnBuild":null},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;
        let cfg = parse(j).unwrap();
        let rec = to_record(cfg.config().as_ref());
        assert_eq!(rec.exposed_ports, vec!["53/udp".to_string(), "80/tcp".into()]);
        assert_eq!(rec.volumes, vec!["/data".to_string()]);
        assert_eq!(rec.working_dir.as_deref(), Some("/w"));
        assert_eq!(rec.labels.keys().cloned().collect::<Vec<_>>(), vec!["a".to_string(), "b".into()]);
        assert_eq!(platform::name(&platform_of(&cfg).unwrap()), "linux/amd64");
        let back = String::from_utf8(canonical_json(&from_record(&rec)).unwrap()).unwrap();
        assert_eq!(
            back,
            r#"{"Cmd":["-c","x"],"Entrypoint":["/bin/sh"],"Env":["A=1"],"ExposedPorts":{"53/udp":{},"80/tcp":{}},"Labels":{"a":"1","b":"2"},"User":"1:1","Volumes":{"/data":{}},"WorkingDir":"/w"}"#
        );
        assert_eq!(to_record(parse(format!(r#"{{"architecture":"amd64","os":"linux","config":{back},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#).as_bytes()).unwrap().config().as_ref()), rec);
    }

    #[test]
    fn strict() {
        assert!(to_record(parse(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":null}"#).unwrap().config().as_ref()) == ImageConfig::default());
        let e = parse(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[1]}}"#).unwrap_err().to_string();
        assert!(e.contains("rootfs.diff_ids[0]"), "{e}");
        assert!(parse(br#"{"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#).is_err());
    }
}
