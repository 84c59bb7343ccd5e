//! On-disk state under one root (`BOCKER_ROOT`, default /var/bocker).
//! Records are JSON files written atomically under a lock.
pub mod atomic;
pub mod buildcache;
pub mod containers;
pub mod events;
pub mod execs;
pub mod ids;
pub mod images;
pub mod lock;
pub mod pid;
pub mod staging;
pub mod supervision;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: corrupt record: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StateError>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

/// The store: every path bocker keeps, derived from one root.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

pub const DEFAULT_ROOT: &str = "/var/bocker";

/// Mode of the store root: nothing in the store is for other users.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of every record, log and credential file in the store.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

impl Store {
    /// The store at `BOCKER_ROOT` (or /var/bocker), created if missing.
    pub fn open_default() -> Result<Store> {
        let root = std::env::var_os("BOCKER_ROOT")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        Store::open(root)
    }

    /// The store at `root` if one is there (its containers folder), never
    /// creating anything: for reading another root's records.
    pub fn open_existing(root: &std::path::Path) -> Option<Store> {
        (root.is_absolute() && root.join("containers").is_dir()).then(|| Store { root: root.to_path_buf() })
    }

    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let root: PathBuf = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir().map_err(io_err(&root))?.join(root)
        };
        let s = Store { root };
        s.ensure_private_root()?;
        for d in ["images", "layers", "containers", "tmp", "locks", "names"] {
            let p = s.root.join(d);
            if !p.is_dir() {
                std::fs::create_dir_all(&p).map_err(io_err(&p))?;
            }
        }
        Ok(s)
    }

    /// The root is private to root (0700): records hold `-e` secrets and
    /// layers hold setuid files. Made so when missing; an existing root with
    /// looser modes is tightened. One stat when all is well (`ps` speed).
    fn ensure_private_root(&self) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        match std::fs::metadata(&self.root) {
            Ok(m) if m.permissions().mode() & 0o077 == 0 => Ok(()),
            Ok(_) => std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))
                .map_err(io_err(&self.root)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = self.root.parent() {
                    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
                }
                match std::fs::DirBuilder::new().mode(PRIVATE_DIR_MODE).create(&self.root) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_err(&self.root)(e)),
                }
                // the umask may have taken bits away, never added: set exactly
                std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))
                    .map_err(io_err(&self.root))
            }
            Err(e) => Err(io_err(&self.root)(e)),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn images_dir(&self) -> PathBuf {
        self.root.join("images")
    }
    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }
    pub fn layer_dir(&self, id: &str) -> PathBuf {
        self.root.join("layers").join(id)
    }
    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
    pub fn lock_path(&self, name: &str) -> PathBuf {
        self.root.join("locks").join(name)
    }
    pub fn names_dir(&self) -> PathBuf {
        self.root.join("names")
    }
}

/// Seconds since the epoch, as a float (what records store).
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
