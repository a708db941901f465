//! The semantic response cache (issue #6): replies to earlier requests,
//! served again when the same or a paraphrased question arrives with the
//! same provider, model, system prompt, sampling settings and conversation.
//!
//! # How a lookup works
//!
//! A [`CacheKey`] has two parts. The *context digest* is a SHA-256 over
//! everything except the last user message: provider, model, system
//! prompt, temperature, output cap, response format and every earlier
//! message. The *prompt* is the last user message, normalised (see
//! [`normalize_prompt`]). Entries only ever match within one context.
//!
//! 1. **Exact hit**: the same context digest and the same normalised
//!    prompt. Always served, whatever the threshold.
//! 2. **Semantic hit**: among the live entries of the same context, the
//!    prompt whose built-in embedding ([`StaticEmbedder`]) is most similar
//!    by cosine, if that similarity is at least
//!    [`CacheSettings::threshold`] *and* the two prompts pass
//!    [`guard::compatible`]: equal numbers, quoted and backticked strings,
//!    code-like and ALL-CAPS tokens, named technologies and capitalised
//!    names; the same negation; no antonym swap ("enable" / "disable"); no
//!    swapped direction ("Celsius to Fahrenheit" / "Fahrenheit to
//!    Celsius"); and a content word replaced by another only if the two
//!    are near-synonyms ("list" / "stop" containers is rejected). Short
//!    (under 3 words), long (over 600 bytes) and code-block prompts are
//!    matched exactly only. Embeddings alone cannot tell such pairs apart:
//!    on `tests/data/cache/paraphrases.jsonl` the embedding alone has
//!    precision 0.29 at the default threshold, with the check 1.00 (the
//!    check was tuned on that set, so expect less on other prompts);
//!    `tests/cache_precision.rs` prints the table.
//!
//! Only deterministic requests should be cached: see [`cacheable`].
//!
//! # On disk
//!
//! One SQLite database, `responses.sqlite3` in the cache directory, in WAL
//! mode, created with mode 0600 (it holds prompts and replies). Every write
//! (a store with its pruning, a hit's bookkeeping, a clear) is one
//! transaction, so a process killed mid-write leaves the previous state;
//! SQLite's busy timeout lets two confab processes share the file. A file
//! that is not a database, is corrupt, or has another schema version is
//! moved aside (`responses.sqlite3.corrupt-<unix seconds>`) and a fresh
//! cache started, with a warning: the cache is disposable, a broken one
//! must never stop a chat.
//!
//! [`StaticEmbedder`]: crate::embed::static_embedder::StaticEmbedder

pub mod eval;
pub mod guard;
mod key;
pub mod question;
mod store;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use key::{normalize_prompt, CacheKey, KeyInput};
pub use store::{SemanticCache, DB_FILE, SCHEMA_VERSION};

/// Settings of the cache, the `[cache]` table of `config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Whether chat consults and fills the cache at all. Off by default.
    pub enabled: bool,
    /// The lowest cosine similarity (0..=1) at which a paraphrased prompt
    /// is served from the cache. Exact matches ignore it.
    pub threshold: f32,
    /// How long an entry lives after it was stored, in seconds.
    pub ttl_secs: u64,
    /// How many entries to keep; the least recently used go first.
    pub max_entries: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: false,
            threshold: 0.92,
            ttl_secs: 7 * 24 * 60 * 60,
            max_entries: 10_000,
        }
    }
}

impl CacheSettings {
    /// Checks the values a config file could get wrong: the threshold must
    /// be a number in `0..=1`.
    pub fn validate(&self) -> Result<(), CacheError> {
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(CacheError::InvalidSettings(format!(
                "cache.threshold must be between 0 and 1, not {}",
                self.threshold
            )));
        }
        Ok(())
    }
}

/// Errors of the cache. The caller should warn and go on without the
/// cache: no cache failure is a reason to fail a chat.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// SQLite failed.
    #[error("cache {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The cache directory or file cannot be created or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("{0}")]
    InvalidSettings(String),
}

/// A reply as the cache keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedReply {
    /// The reply text.
    pub text: String,
    /// The model the API reported it used, if it said.
    pub model_reported: Option<String>,
    /// Why the reply ended (`stop`, `length`, ...), if known.
    pub finish_reason: Option<String>,
    /// What the original call cost in tokens (a hit costs nothing).
    pub usage: crate::llm::Usage,
}

/// A reply found in the cache.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheHit {
    /// The stored reply.
    pub reply: CachedReply,
    /// How the stored prompt matched the new one.
    pub kind: HitKind,
    /// When the reply was stored, RFC 3339.
    pub stored_at: String,
    /// The prompt the reply was stored for (normalised).
    pub cached_prompt: String,
}

/// How a cached prompt matched the prompt looked up.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "match", content = "similarity", rename_all = "kebab-case")]
pub enum HitKind {
    /// The normalised prompts are identical.
    Exact,
    /// The same question in other words: the same kind of question about
    /// the same content words ([`question::Question::same_as`]), agreeing
    /// on every detail [`guard::agree_on_details`] checks.
    SameQuestion,
    /// Embeddings at this cosine similarity (at least the threshold), and
    /// [`guard::compatible`] agreed.
    Similar(f32),
}

impl HitKind {
    /// How the usage log's `cache_match` field records it: `exact`,
    /// `same-question` or the similarity to three decimals.
    pub fn label(self) -> String {
        match self {
            HitKind::Exact => "exact".to_string(),
            HitKind::SameQuestion => "same-question".to_string(),
            HitKind::Similar(similarity) => format!("{similarity:.3}"),
        }
    }
}

/// What is in the cache, for `confab cache stats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheStats {
    /// The database file.
    pub path: PathBuf,
    /// Entries in the file, expired ones included.
    pub entries: u64,
    /// Entries that have not expired.
    pub live_entries: u64,
    /// Size of the database file and its WAL, in bytes.
    pub file_bytes: u64,
    /// Hits served since the cache was created or last cleared.
    pub hits_served: u64,
    /// When the oldest entry was stored, RFC 3339.
    pub oldest_stored_at: Option<String>,
    /// When the newest entry was stored, RFC 3339.
    pub newest_stored_at: Option<String>,
}

/// Whether a request may be served from and stored in the cache: only when
/// its temperature is exactly 0, or when the user explicitly opted in
/// (e.g. `--cache`). No temperature means the provider's default, about 1:
/// sampled replies are meant to vary, so they are not cached by default.
pub fn cacheable(temperature: Option<f32>, explicitly_cacheable: bool) -> bool {
    explicitly_cacheable || temperature == Some(0.0)
}

#[cfg(test)]
mod tests;
