//! A container's log settings: the `log` key of a create spec (Docker's
//! `--log-driver`/`--log-opt`), kept in its record.
use serde::{Deserialize, Serialize};

/// Docker's log drivers that bocker takes. The three that keep a file all
/// keep bocker's own format (see [`super::record`]); they differ in their
/// defaults only (`local` rotates at 20 MB, 5 files, as Docker's does).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogDriver {
    #[default]
    #[serde(rename = "json-file")]
    JsonFile,
    #[serde(rename = "local")]
    Local,
    #[serde(rename = "k8s-file")]
    K8sFile,
    /// no log kept: `logs` has nothing to read
    #[serde(rename = "none")]
    None,
}

impl LogDriver {
    pub fn as_str(self) -> &'static str {
        match self {
            LogDriver::JsonFile => "json-file",
            LogDriver::Local => "local",
            LogDriver::K8sFile => "k8s-file",
            LogDriver::None => "none",
        }
    }
}

/// `{ driver, max_size, max_file, labels, env, tag }`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub driver: LogDriver,
    /// rotate the file once it would grow past this many bytes
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// files kept, the one written included (1: the file starts over)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file: Option<u32>,
    /// labels of the container shown by `logs --details`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// environment variables of the container shown by `logs --details`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// `--log-opt tag=…`, shown by `logs --details`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// Docker's `local` driver: 20 MB a file, 5 files.
const LOCAL_MAX_SIZE: u64 = 20 * 1024 * 1024;
const LOCAL_MAX_FILE: u32 = 5;

/// When the file is rotated, and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_size: u64,
    pub max_file: u32,
}

impl LogConfig {
    pub fn is_default(&self) -> bool {
        *self == LogConfig::default()
    }

    /// Refuses what Docker refuses: options for `none`, `max_file` below 1,
    /// several files with no size to rotate at.
    pub fn validate(&self) -> Result<(), String> {
        let d = self.driver.as_str();
        if self.driver == LogDriver::None {
            if self.max_size.is_some() || self.max_file.is_some() || !self.labels.is_empty() || !self.env.is_empty() || self.tag.is_some() {
                return Err(format!("the {d} log driver takes no options"));
            }
            return Ok(());
        }
        if self.max_size == Some(0) {
            return Err("log max-size must be more than 0".into());
        }
        match self.max_file {
            Some(0) => return Err("log max-file cannot be less than 1".into()),
            Some(n) if n > 1 && self.max_size.is_none() && self.driver != LogDriver::Local => {
                return Err("log max-file cannot be set when max-size is not set".into())
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether anything is written at all.
    pub fn keeps_log(&self) -> bool {
        self.driver != LogDriver::None
    }

    /// The rotation in force (the driver's defaults under the options);
    /// None: the file grows without bound.
    pub fn rotation(&self) -> Option<Rotation> {
        let (size, files) = match self.driver {
            LogDriver::None => return None,
            LogDriver::Local => (Some(self.max_size.unwrap_or(LOCAL_MAX_SIZE)), self.max_file.unwrap_or(LOCAL_MAX_FILE)),
            LogDriver::JsonFile | LogDriver::K8sFile => (self.max_size, self.max_file.unwrap_or(1)),
        };
        size.map(|max_size| Rotation { max_size, max_file: files.max(1) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_and_defaults() {
        assert_eq!(LogConfig::default().rotation(), None);
        let local = LogConfig { driver: LogDriver::Local, ..Default::default() };
        assert_eq!(local.rotation(), Some(Rotation { max_size: LOCAL_MAX_SIZE, max_file: 5 }));
        let json = LogConfig { max_size: Some(100), max_file: Some(3), ..Default::default() };
        assert_eq!(json.rotation(), Some(Rotation { max_size: 100, max_file: 3 }));
        assert!(json.validate().is_ok());
        assert!(LogConfig { max_file: Some(3), ..Default::default() }.validate().is_err());
        assert!(LogConfig { max_size: Some(10), max_file: Some(0), ..Default::default() }.validate().is_err());
        assert!(LogConfig { driver: LogDriver::None, max_size: Some(10), ..Default::default() }.validate().is_err());
        assert!(LogConfig { driver: LogDriver::None, ..Default::default() }.validate().is_ok());
    }
}
