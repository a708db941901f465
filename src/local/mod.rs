//! The built-in local model: GGUF models run in this process on the CPU
//! (with candle, behind the default-on `local-model` cargo feature), so
//! that `confab chat` works with no API key and no server.
//!
//! - [`catalog`]: the models confab knows, each pinned by the sha256 of
//!   its file and where to download it.
//! - [`install`]: the installed models in the cache dir (`models/`), each
//!   a GGUF file and a manifest; installing verifies and, once, converts a
//!   slow quantisation to Q8_0.
//! - [`download`]: fetching a pinned file over HTTP, resumable.
//! - [`chatml`]: the chat template (ChatML) that turns a request into a
//!   prompt.
//! - [`utf8`]: holding back a partial UTF-8 character while streaming.
//! - `runtime` (feature `local-model`): loading the model and generating.

pub mod catalog;
pub mod chatml;
pub mod download;
pub mod install;
pub mod utf8;

#[cfg(feature = "local-model")]
pub mod chat;
#[cfg(feature = "local-model")]
mod convert;
#[cfg(feature = "local-model")]
mod gguf;
#[cfg(feature = "local-model")]
pub mod runtime;

use std::path::{Path, PathBuf};

/// `client` with the installed local model `model` answering in process.
#[cfg(feature = "local-model")]
pub fn attach(
    client: crate::llm::client::Client,
    cache_dir: &Path,
    model: &str,
) -> Result<crate::llm::client::Client, LocalError> {
    let chat = chat::LocalChat::open(cache_dir, model)?;
    Ok(client.with_in_process(Box::new(chat)))
}

/// Without the `local-model` feature there is no local model.
#[cfg(not(feature = "local-model"))]
pub fn attach(
    _client: crate::llm::client::Client,
    _cache_dir: &Path,
    _model: &str,
) -> Result<crate::llm::client::Client, LocalError> {
    Err(LocalError::NotBuilt)
}

/// What the engine knows of a local model's limits before loading it.
pub fn limits(model: &str) -> Option<crate::llm::discovery::ServerLimits> {
    let model = catalog::find(Some(model))?;
    Some(crate::llm::discovery::ServerLimits {
        context_window: Some(model.context_window),
        max_output_tokens: Some(model.max_output_tokens),
        source: "the local model's catalog entry".into(),
    })
}

/// The provider name the local model is known by (`-m local`).
pub const PROVIDER: &str = "local";

/// What can go wrong with the local model.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The model is not installed.
    #[error("the local model {name} is not installed")]
    NotInstalled {
        /// The catalog name.
        name: String,
    },
    /// The name is not in the catalog.
    #[error("there is no local model named `{0}` (known: {known})", known = catalog::names())]
    UnknownModel(String),
    /// The installed file is missing, truncated or not a usable GGUF.
    #[error("the local model file {} is damaged: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file to install is not the pinned one.
    #[error("{} is not the pinned {name} file (sha256 {actual}, expected {expected})", path.display())]
    Checksum {
        /// The file given.
        path: PathBuf,
        /// The catalog name.
        name: String,
        /// The pinned sha256.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
    /// The model is of a kind confab cannot run.
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// A download failed.
    #[error("download failed: {0}")]
    Download(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// This binary was built without the `local-model` feature.
    #[error("this confab was built without the local model (cargo feature `local-model`)")]
    NotBuilt,
}

impl LocalError {
    /// Wraps an I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LocalError {
        let path = path.into();
        move |source| LocalError::Io { path, source }
    }

    /// Whether the error means the model must be (re)installed.
    pub fn needs_pull(&self) -> bool {
        matches!(
            self,
            LocalError::NotInstalled { .. } | LocalError::Corrupt { .. }
        )
    }
}
