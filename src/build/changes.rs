//! Config changes (Dockerfile's CMD, ENV, WORKDIR, EXPOSE, ...) and the
//! images made by them alone: `derive` (no new layer) and `scratch`.
use super::layer::{child_of, record_child};
use super::{BuildError, Result};
use crate::local_images::DEFAULT_PATH;
use crate::state::images::{Healthcheck, HistoryEntry, ImageConfig, ImageRecord};
use crate::state::Store;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Config changes, as Dockerfile instructions set them (structured: the
/// Dockerfile syntax is parsed in Lua, `lua/lib/dockerfile.lua`).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigChanges {
    /// An empty list clears it.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// `K=V`, merged over the image's.
    #[serde(default)]
    pub env: Vec<String>,
    /// Relative to the current one if not absolute.
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    /// `80`, `80/tcp`, `53/udp`.
    #[serde(default)]
    pub expose: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub volumes: Vec<String>,
    /// STOPSIGNAL; empty clears it.
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// HEALTHCHECK (`test = {"NONE"}` disables the base image's).
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    /// The whole ONBUILD list (an ONBUILD step sends the image's list plus
    /// its own; a build FROM an image with triggers clears them).
    #[serde(default)]
    pub onbuild: Option<Vec<String>>,
    /// SHELL; an empty list clears it.
    #[serde(default)]
    pub shell: Option<Vec<String>>,
}

impl ConfigChanges {
    pub fn is_empty(&self) -> bool {
        self.cmd.is_none()
            && self.entrypoint.is_none()
            && self.env.is_empty()
            && self.workdir.is_none()
            && self.user.is_none()
            && self.expose.is_empty()
            && self.labels.is_empty()
            && self.volumes.is_empty()
            && self.stop_signal.is_none()
            && self.healthcheck.is_none()
            && self.onbuild.is_none()
            && self.shell.is_none()
    }

    pub fn apply(&self, c: &mut ImageConfig) -> Result<()> {
        if let Some(cmd) = &self.cmd {
            c.cmd = if cmd.is_empty() { None } else { Some(cmd.clone()) };
        }
        if let Some(ep) = &self.entrypoint {
            c.entrypoint = if ep.is_empty() { None } else { Some(ep.clone()) };
        }
        for e in &self.env {
            let Some((k, _)) = e.split_once('=') else {
                return Err(BuildError::Invalid(format!("ENV {e}: expected KEY=VALUE")));
            };
            if k.is_empty() {
                return Err(BuildError::Invalid(format!("ENV {e}: empty name")));
            }
        }
        c.env = crate::container::merge_env(&c.env, &self.env);
        if let Some(w) = &self.workdir {
            let base = c.working_dir.clone().unwrap_or_else(|| "/".into());
            c.working_dir = Some(clean_abs(&base, w));
        }
        if let Some(u) = &self.user {
            c.user = if u.is_empty() { None } else { Some(u.clone()) };
        }
        for p in &self.expose {
            let p = if p.contains('/') { p.to_ascii_lowercase() } else { format!("{p}/tcp") };
            let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
            if num.parse::<u16>().is_err() || !["tcp", "udp", "sctp"].contains(&proto) {
                return Err(BuildError::Invalid(format!("EXPOSE: invalid port {p}")));
            }
            if !c.exposed_ports.contains(&p) {
                c.exposed_ports.push(p);
            }
        }
        for (k, v) in &self.labels {
            c.labels.insert(k.clone(), v.clone());
        }
        for v in &self.volumes {
            if !c.volumes.contains(v) {
                c.volumes.push(v.clone());
            }
        }
        if let Some(s) = &self.stop_signal {
            c.stop_signal = (!s.is_empty()).then(|| s.clone());
        }
        if let Some(h) = &self.healthcheck {
            if h.test.is_empty() {
                return Err(BuildError::Invalid("HEALTHCHECK: an empty test".into()));
            }
            c.healthcheck = Some(h.clone());
        }
        if let Some(o) = &self.onbuild {
            c.onbuild = o.clone();
        }
        if let Some(sh) = &self.shell {
            c.shell = (!sh.is_empty()).then(|| sh.clone());
        }
        Ok(())
    }
}

/// `base` joined with `p` (if relative), cleaned lexically: always
/// absolute, never above `/`.
pub fn clean_abs(base: &str, p: &str) -> String {
    let joined = if p.starts_with('/') { PathBuf::from(p) } else { Path::new(base).join(p) };
    let mut out: Vec<String> = Vec::new();
    for c in joined.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    format!("/{}", out.join("/"))
}

/// What `bocker.image.derive` accepts.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct DeriveSpec {
    #[serde(default)]
    pub changes: ConfigChanges,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

/// A new image record sharing `reference`'s layers, with a changed config.
pub fn derive(store: &Store, reference: &str, spec: &DeriveSpec) -> Result<ImageRecord> {
    let parent = store.resolve_image(reference)?;
    let mut config = parent.config.clone();
    spec.changes.apply(&mut config)?;
    let history = HistoryEntry {
        created: crate::state::now(),
        created_by: spec.created_by.clone().unwrap_or_else(|| "bocker derive".into()),
        comment: spec.comment.clone(),
        empty_layer: true,
    };
    let child = child_of(store, Some(&parent), parent.layers.clone(), config, history);
    Ok(record_child(store, child, spec.tag.as_deref(), None, None)?.image)
}

/// An empty image (no layers), for builds `FROM scratch`.
pub fn scratch(store: &Store) -> Result<ImageRecord> {
    let history = HistoryEntry { created: crate::state::now(), created_by: "scratch".into(), comment: None, empty_layer: true };
    let config = ImageConfig { env: vec![DEFAULT_PATH.to_string()], ..Default::default() };
    let child = child_of(store, None, Vec::new(), config, history);
    Ok(record_child(store, child, None, None, None)?.image)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn clean_paths() {
        assert_eq!(clean_abs("/", "a/../../b"), "/b");
        assert_eq!(clean_abs("/app", "src"), "/app/src");
        assert_eq!(clean_abs("/app", "/etc/"), "/etc");
        assert_eq!(clean_abs("/", "."), "/");
    }
    #[test]
    fn changes_apply() {
        let mut c = ImageConfig { env: vec!["PATH=/bin".into()], cmd: Some(vec!["sh".into()]), ..Default::default() };
        let ch = ConfigChanges {
            env: vec!["A=1".into(), "PATH=/x".into()],
            workdir: Some("app".into()),
            expose: vec!["80".into(), "53/UDP".into()],
            cmd: Some(vec![]),
            ..Default::default()
        };
        ch.apply(&mut c).unwrap();
        assert_eq!(c.env, vec!["A=1".to_string(), "PATH=/x".into()]);
        assert_eq!(c.working_dir.as_deref(), Some("/app"));
        assert_eq!(c.exposed_ports, vec!["80/tcp".to_string(), "53/udp".into()]);
        assert!(c.cmd.is_none());
        let bad = ConfigChanges { expose: vec!["x".into()], ..Default::default() };
        assert!(bad.apply(&mut c).is_err());
        let docker = ConfigChanges {
            stop_signal: Some("SIGQUIT".into()),
            healthcheck: Some(Healthcheck { test: vec!["CMD-SHELL".into(), "true".into()], retries: Some(3), ..Default::default() }),
            onbuild: Some(vec!["RUN echo hi".into()]),
            shell: Some(vec!["/bin/bash".into(), "-c".into()]),
            ..Default::default()
        };
        docker.apply(&mut c).unwrap();
        assert_eq!((c.stop_signal.as_deref(), c.onbuild.len(), c.healthcheck.as_ref().map(|h| h.retries)), (Some("SIGQUIT"), 1, Some(Some(3))));
        let clear = ConfigChanges { onbuild: Some(vec![]), shell: Some(vec![]), stop_signal: Some(String::new()), ..Default::default() };
        clear.apply(&mut c).unwrap();
        assert!(c.onbuild.is_empty() && c.shell.is_none() && c.stop_signal.is_none());
    }
}
