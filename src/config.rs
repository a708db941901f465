//! Where confab keeps its files: the config, data and cache directories.
//!
//! They follow the platform's conventions (XDG on Linux) through the
//! `directories` crate; `CONFAB_HOME` puts all of them under one directory,
//! which is what tests and CI use.

use std::path::PathBuf;

/// The environment variable that overrides every confab directory.
pub const HOME_ENV: &str = "CONFAB_HOME";

/// The directories confab reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Holds `config.toml`.
    pub config_dir: PathBuf,
    /// Holds conversations, the usage log, the audit log and RAG indexes.
    pub data_dir: PathBuf,
    /// Holds the semantic cache.
    pub cache_dir: PathBuf,
}

/// The error when no directory can be found for confab's files.
#[derive(Debug, thiserror::Error)]
#[error("cannot find a home directory for confab's files")]
pub struct NoHomeDirectory;

impl Paths {
    /// Resolves the directories from `CONFAB_HOME`, else the platform's
    /// defaults. Creates nothing.
    pub fn resolve() -> Result<Paths, NoHomeDirectory> {
        match std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            Some(home) => Ok(Paths::under(PathBuf::from(home))),
            None => {
                let dirs =
                    directories::ProjectDirs::from("", "", "confab").ok_or(NoHomeDirectory)?;
                Ok(Paths {
                    config_dir: dirs.config_dir().to_path_buf(),
                    data_dir: dirs.data_dir().to_path_buf(),
                    cache_dir: dirs.cache_dir().to_path_buf(),
                })
            }
        }
    }

    /// All directories under one root: config in the root itself, data in
    /// `data/`, cache in `cache/`.
    pub fn under(root: PathBuf) -> Paths {
        Paths {
            data_dir: root.join("data"),
            cache_dir: root.join("cache"),
            config_dir: root,
        }
    }

    /// The config file.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
}
