//! Exec instances (the Docker API's `POST /containers/{id}/exec`, then
//! `/exec/{id}/start` and `/exec/{id}/json`): one record per exec in its
//! container's folder, `containers/CID/execs/EID.json`, so they go with
//! the container; `execs/EID` (a symlink whose text is the container id)
//! finds an exec's container. An index link whose container is gone
//! counts as no exec (and is removed when met).
use super::{io_err, Result, StateError, Store};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One exec: what it runs, and how its run went.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExecRecord {
    pub id: String,
    pub container: String,
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default)]
    pub detach_keys: Option<String>,
    /// started once (an exec runs once)
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub running: bool,
    /// the exec'd process, as the host sees it, and its start time
    #[serde(default)]
    pub pid: Option<i32>,
    #[serde(default)]
    pub pid_start: Option<u64>,
    #[serde(default)]
    pub exit_code: Option<i32>,
}

impl ExecRecord {
    /// Running: recorded so, and its process still the one recorded (an
    /// API server killed mid-exec left `running`).
    pub fn alive(&self) -> bool {
        self.running
            && match (self.pid, self.pid_start) {
                (Some(p), Some(t)) => super::pid::process_start_time(p) == Some(t),
                // started, its pid not known yet
                (None, _) => true,
                _ => false,
            }
    }
}

/// 64 hex digits, as Docker's exec ids.
pub fn valid_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Store {
    fn exec_index(&self, id: &str) -> PathBuf {
        self.root().join("execs").join(id)
    }

    fn exec_path(&self, container: &str, id: &str) -> PathBuf {
        self.container_dir(container).join("execs").join(format!("{id}.json"))
    }

    /// Records a new exec of `rec.container` under a new id (set in `rec`).
    pub fn create_exec(&self, mut rec: ExecRecord) -> Result<ExecRecord> {
        rec.id = super::ids::random_hex(32);
        let dir = self.container_dir(&rec.container).join("execs");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        self.save_exec(&rec)?;
        let index = self.root().join("execs");
        std::fs::create_dir_all(&index).map_err(io_err(&index))?;
        let link = self.exec_index(&rec.id);
        std::os::unix::fs::symlink(&rec.container, &link).map_err(io_err(&link))?;
        Ok(rec)
    }

    pub fn save_exec(&self, rec: &ExecRecord) -> Result<()> {
        let p = self.exec_path(&rec.container, &rec.id);
        let data = serde_json::to_vec_pretty(rec).map_err(|e| StateError::Invalid(e.to_string()))?;
        super::atomic::write_with(&p, &data, false)
    }

    /// The exec of that id; NotFound when there is none (or its container went).
    pub fn load_exec(&self, id: &str) -> Result<ExecRecord> {
        let missing = || StateError::NotFound(format!("No such exec instance: {id}"));
        if !valid_id(id) {
            return Err(missing());
        }
        let link = self.exec_index(id);
        let container = match std::fs::read_link(&link) {
            Ok(t) => t.to_string_lossy().into_owned(),
            Err(_) => return Err(missing()),
        };
        if container.contains('/') || container.starts_with('.') {
            return Err(missing());
        }
        let p = self.exec_path(&container, id);
        match std::fs::read(&p) {
            Ok(data) => serde_json::from_slice(&data).map_err(|source| StateError::Corrupt { path: p, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_file(&link);
                Err(missing())
            }
            Err(e) => Err(io_err(&p)(e)),
        }
    }

    /// The execs of a container (Docker's `ExecIDs`).
    pub fn container_execs(&self, container: &str) -> Vec<String> {
        let dir = self.container_dir(container).join("execs");
        let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut ids: Vec<String> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
            .filter(|n| valid_id(n))
            .collect();
        ids.sort();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execs_are_found_by_id_and_go_with_their_container() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("root")).unwrap();
        std::fs::create_dir_all(store.container_dir("ps_0123456789")).unwrap();
        let rec = store.create_exec(ExecRecord { container: "ps_0123456789".into(), args: vec!["true".into()], ..Default::default() }).unwrap();
        assert!(valid_id(&rec.id));
        assert_eq!(store.load_exec(&rec.id).unwrap(), rec);
        assert_eq!(store.container_execs("ps_0123456789"), vec![rec.id.clone()]);
        assert!(store.load_exec("../../x").is_err());
        std::fs::remove_dir_all(store.container_dir("ps_0123456789")).unwrap();
        assert!(matches!(store.load_exec(&rec.id), Err(StateError::NotFound(_))));
        assert!(!store.root().join("execs").join(&rec.id).exists());
    }
}
