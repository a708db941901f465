//! Where RAG indexes live: on this machine (a SQLite file per index,
//! [`sqlite`]) or in the team store (Postgres with pgvector, shared by
//! every machine, [`postgres`]). Both sit behind [`IndexStore`] and
//! [`IndexUpdate`], so indexing, querying and evaluating work the same
//! against either: the same incremental, transactional runs, the same
//! candidates (BM25 with the same weights, nearest vectors by cosine) and
//! the same fusion on top.

pub mod postgres;
pub mod sqlite;
pub mod terms;

use std::path::{Path, PathBuf};

use sqlite::LocalIndex;

/// The index format version, in the index's metadata. Version 2 indexes
/// the words of [`terms`] (stemmed, diacritics folded) where version 1
/// indexed them as written; an index of another version is rebuilt by the
/// next `rag index` run and refused by queries until then.
pub const FORMAT_VERSION: &str = "2";

/// Errors of an index store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("index {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The team store failed (or could not be reached).
    #[error(transparent)]
    Shared(#[from] crate::store::StoreError),
    /// No index has this name.
    #[error("no index named `{0}`")]
    NotFound(String),
    /// The index was built in another format version.
    #[error("index `{name}` was built by another version of confab (index format {found}, this confab uses {FORMAT_VERSION})")]
    OtherFormat {
        /// The index.
        name: String,
        /// Its format version.
        found: String,
    },
    /// The name cannot be an index name.
    #[error("`{0}` is not a valid index name (use letters, digits, `-`, `_`, `.`)")]
    BadName(String),
    /// The index directory cannot be created or removed.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether another process holds the local database (not damage).
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

/// A chunk as stored, for results.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StoredChunk {
    /// Row id.
    pub id: i64,
    /// Source path, as indexed.
    pub path: String,
    /// First line.
    pub start_line: i64,
    /// Last line.
    pub end_line: i64,
    /// Heading path.
    pub heading: String,
    /// The text.
    pub text: String,
}

/// A chunk to store, with its vector.
pub struct NewChunk<'a> {
    /// Source path.
    pub path: &'a str,
    /// The chunk.
    pub chunk: &'a crate::rag::chunk::Chunk,
    /// Its embedding (unit length).
    pub vector: &'a [f32],
}

/// Sizes for `rag stats`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IndexStats {
    /// Index name.
    pub name: String,
    /// `local` or the team store's `host:port/db`.
    pub location: String,
    /// Files indexed.
    pub files: i64,
    /// Chunks.
    pub chunks: i64,
    /// Total tokens of the chunks.
    pub tokens: i64,
    /// The embedder that built it.
    pub embedder: String,
    /// Vector dimensions.
    pub dim: i64,
    /// Size on disk in bytes (the database file, or the index's rows and
    /// search indexes in the store).
    pub bytes: u64,
}

/// What a search asks an index for: the BM25 ranking of `text`, the
/// nearest chunks to `vector`, or both, each `depth` deep.
#[derive(Clone, Copy, Debug)]
pub struct CandidateQuery<'a> {
    /// The question, for BM25 (`None`: no BM25 ranking).
    pub text: Option<&'a str>,
    /// The question's embedding (`None`: no vector ranking).
    pub vector: Option<&'a [f32]>,
    /// How many of each.
    pub depth: usize,
}

/// The two rankings a search fuses, best first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidates {
    /// Chunk ids with their BM25 score (higher is better).
    pub by_bm25: Vec<(i64, f64)>,
    /// Chunk ids with their cosine similarity.
    pub by_vector: Vec<(i64, f32)>,
}

/// An index, wherever it lives.
pub trait IndexStore {
    /// The index's name.
    fn name(&self) -> &str;
    /// A value from the index's metadata (`embedder`, `dim`...).
    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    /// The rankings `query` asks for.
    fn candidates(&mut self, query: &CandidateQuery<'_>) -> Result<Candidates, StoreError>;
    /// The cosine similarity of `vector` to each of these chunks (unknown
    /// ids, or a vector of another size, left out), for chunks one ranking
    /// found and the other did not.
    fn similarities(&mut self, vector: &[f32], ids: &[i64]) -> Result<Vec<(i64, f32)>, StoreError>;
    /// The chunks with these ids, in the order asked (unknown ids left out).
    fn chunks(&mut self, ids: &[i64]) -> Result<Vec<StoredChunk>, StoreError>;
    /// Sizes and settings.
    fn stats(&mut self) -> Result<IndexStats, StoreError>;
    /// Starts an indexing run: one transaction, and the index's writer
    /// lock (`waiting` is called once if another run holds it).
    fn update(&mut self, waiting: &dyn Fn()) -> Result<Box<dyn IndexUpdate + '_>, StoreError>;
}

/// An indexing run in progress: nothing is visible to queries until
/// [`IndexUpdate::commit`], and a run that ends without it changes nothing.
pub trait IndexUpdate {
    /// Sets a metadata value.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// A metadata value, as the run sees it.
    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    /// Every indexed path with its content hash.
    fn file_hashes(&mut self) -> Result<std::collections::HashMap<String, String>, StoreError>;
    /// Every indexed path, sorted.
    fn paths(&mut self) -> Result<Vec<String>, StoreError>;
    /// Removes a file and its chunks.
    fn remove_file(&mut self, path: &str) -> Result<(), StoreError>;
    /// Removes every file and chunk (for a rebuild in this format).
    fn clear(&mut self) -> Result<(), StoreError>;
    /// Replaces a file's chunks.
    fn put_file(
        &mut self,
        path: &str,
        hash: &str,
        bytes: usize,
        chunks: &[NewChunk<'_>],
    ) -> Result<(), StoreError>;
    /// Makes the run's changes visible, all at once; a warning to show
    /// when something beside the index (a cache) could not be written.
    fn commit(self: Box<Self>) -> Result<Option<String>, StoreError>;
}

/// Where a command's indexes live.
#[derive(Clone, Debug)]
pub enum Location {
    /// In the data directory of this machine.
    Local {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// In the team store.
    Shared(Box<crate::store::StoreSettings>),
}

/// Where a command was asked to keep its indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationChoice<'a> {
    /// The team store when one is set (`CONFAB_DATABASE_URL`, `[store]`),
    /// else this machine.
    Configured,
    /// This machine, store or not (`--local`).
    Local,
    /// The store at this URL (`--store URL`).
    Store(&'a str),
}

impl Location {
    /// The location `choice` names, from the store settings.
    pub fn resolve(
        data_dir: &Path,
        config: &crate::store::StoreConfig,
        env: &dyn crate::env::Environment,
        choice: LocationChoice<'_>,
    ) -> Result<Location, crate::store::StoreError> {
        use crate::store::StoreSettings;
        let local = || Location::Local {
            data_dir: data_dir.to_path_buf(),
        };
        Ok(match choice {
            LocationChoice::Local => local(),
            LocationChoice::Store(url) => {
                Location::Shared(Box::new(StoreSettings::for_url(url, config, env)?))
            }
            LocationChoice::Configured => match StoreSettings::resolve(config, env)? {
                Some(settings) => Location::Shared(Box::new(settings)),
                None => local(),
            },
        })
    }

    /// How messages name it: `local` or the store's `host:port/db`.
    pub fn label(&self) -> String {
        match self {
            Location::Local { .. } => "local".into(),
            Location::Shared(settings) => settings.target().to_string(),
        }
    }

    /// Opens index `name`; creates it when `create` is true.
    pub fn open(&self, name: &str, create: bool) -> Result<Box<dyn IndexStore>, StoreError> {
        check_name(name)?;
        Ok(match self {
            Location::Local { data_dir } => Box::new(LocalIndex::open(data_dir, name, create)?),
            Location::Shared(settings) => {
                Box::new(postgres::SharedIndex::open(settings, name, create)?)
            }
        })
    }

    /// The names of every index here, sorted.
    pub fn list(&self) -> Result<Vec<String>, StoreError> {
        match self {
            Location::Local { data_dir } => sqlite::list(data_dir),
            Location::Shared(settings) => postgres::list(settings),
        }
    }

    /// Deletes index `name`.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        check_name(name)?;
        match self {
            Location::Local { data_dir } => sqlite::remove(data_dir, name),
            Location::Shared(settings) => postgres::remove(settings, name),
        }
    }
}

/// Refuses names that could not be a directory name or would escape one.
fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName(name.to_string()))
    }
}

/// The directory holding all local indexes.
pub fn rag_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("rag")
}
