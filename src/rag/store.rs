//! One RAG index on disk: a SQLite database (`rag/<name>/index.sqlite` in
//! the data directory) holding the indexed files and their content hashes,
//! the chunks with their source lines and headings, an FTS5 full-text index
//! for BM25, and each chunk's vector (int8 with a scale). Every indexing
//! run is one transaction: an interrupted run leaves the previous index as
//! it was.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

/// The index format version, in `meta`.
pub const FORMAT_VERSION: &str = "1";

/// Errors of the index store.
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
    /// No index has this name.
    #[error("no index named `{0}`")]
    NotFound(String),
    /// The name cannot be a directory name.
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

/// All vectors of an index, flat, for a tight scan.
pub struct VectorSet {
    /// Chunk ids, one per row.
    pub ids: Vec<i64>,
    /// Per-row scales.
    pub scales: Vec<f32>,
    /// Rows of `dim` int8 values, concatenated.
    pub values: VectorValues,
    /// Dimensions.
    pub dim: usize,
}

/// The int8 values of a vector set: read from the database, or mapped
/// straight from the cache file (no copy).
pub enum VectorValues {
    /// Values in memory.
    Owned(Vec<i8>),
    /// Values in a mapped cache file, from `start`, `len` bytes.
    Mapped {
        /// The mapped file.
        map: memmap2::Mmap,
        /// Where the values start.
        start: usize,
        /// How many bytes.
        len: usize,
    },
}

impl VectorSet {
    /// The values, row after row.
    pub fn values(&self) -> &[i8] {
        match &self.values {
            VectorValues::Owned(values) => values,
            VectorValues::Mapped { map, start, len } => {
                bytemuck::cast_slice(&map[*start..*start + *len])
            }
        }
    }
}

/// Sizes for `rag stats`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IndexStats {
    /// Index name.
    pub name: String,
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
    /// Database size in bytes.
    pub bytes: u64,
}

/// An open index.
pub struct Index {
    conn: Connection,
    path: PathBuf,
}

/// How long a statement waits for another process's hold on the database.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl StoreError {
    /// Whether another process holds the database (not damage).
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

/// The directory holding all indexes.
pub fn rag_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("rag")
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
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

/// The names of every index, sorted.
pub fn list(data_dir: &Path) -> Result<Vec<String>, StoreError> {
    let dir = rag_dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::Io { path: dir, source }),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("index.sqlite").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Deletes index `name`.
pub fn remove(data_dir: &Path, name: &str) -> Result<(), StoreError> {
    check_name(name)?;
    let dir = rag_dir(data_dir).join(name);
    if !dir.join("index.sqlite").exists() {
        return Err(StoreError::NotFound(name.to_string()));
    }
    std::fs::remove_dir_all(&dir).map_err(|source| StoreError::Io { path: dir, source })
}

impl Index {
    /// Opens index `name`; creates it when `create` is true.
    pub fn open(data_dir: &Path, name: &str, create: bool) -> Result<Index, StoreError> {
        check_name(name)?;
        let dir = rag_dir(data_dir).join(name);
        let path = dir.join("index.sqlite");
        if !path.exists() {
            if !create {
                return Err(StoreError::NotFound(name.to_string()));
            }
            crate::private_files::ensure_dir(&dir).map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        crate::private_files::prepare_database(&path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sql)?;
        // Another process may hold the database a moment (a query while an
        // index run writes): wait for it rather than fail.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS files (
                 path TEXT PRIMARY KEY, hash TEXT NOT NULL, bytes INTEGER NOT NULL, chunks INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS chunks (
                 id INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL,
                 end_line INTEGER NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL,
                 tokens INTEGER NOT NULL, vector BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks(path);
             CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
                 text, heading, path, content='chunks', content_rowid='id',
                 tokenize='unicode61 remove_diacritics 2');
",
        )
        .map_err(sql)?;
        Ok(Index { conn, path })
    }

    /// Takes the index's writer lock, so that two `rag index` runs on one
    /// index take turns instead of failing on a locked database: calls
    /// `waiting` once if another process holds it; `Ok(None)` when
    /// `give_up` says to stop waiting.
    pub fn writer_lock(
        &self,
        waiting: impl FnOnce(),
        give_up: impl Fn() -> bool,
    ) -> Result<Option<crate::private_files::FileLock>, StoreError> {
        let path = self.path.with_file_name("writer.lock");
        crate::private_files::FileLock::acquire(&path, waiting, give_up)
            .map_err(|source| StoreError::Io { path, source })
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// A value from the index's metadata.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Starts an indexing run: everything until [`Update::commit`] is one transaction.
    pub fn update(&mut self) -> Result<Update<'_>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
        Ok(Update { tx, path })
    }

    /// The vector cache beside the database: all vectors in one flat file,
    /// so a query reads them in one go instead of row by row.
    fn cache_path(&self) -> PathBuf {
        self.path.with_file_name("vectors.bin")
    }

    /// Every vector, for a scan: from the cache when it matches the
    /// database's generation, else from the database.
    pub fn vectors(&self) -> Result<VectorSet, StoreError> {
        let generation = self.meta("generation")?.unwrap_or_default();
        if let Some(set) = read_cache(&self.cache_path(), &generation) {
            return Ok(set);
        }
        self.vectors_from_database()
    }

    /// Rewrites the vector cache (temp file, then rename) for the current generation.
    pub fn write_vector_cache(&self) -> Result<(), StoreError> {
        let generation = self.meta("generation")?.unwrap_or_default();
        let set = self.vectors_from_database()?;
        let mut bytes = Vec::with_capacity(32 + set.ids.len() * (12 + set.dim));
        bytes.extend_from_slice(CACHE_MAGIC);
        bytes.extend_from_slice(&(generation.len() as u32).to_le_bytes());
        bytes.extend_from_slice(generation.as_bytes());
        bytes.extend_from_slice(&(set.dim as u32).to_le_bytes());
        bytes.extend_from_slice(&(set.ids.len() as u64).to_le_bytes());
        for id in &set.ids {
            bytes.extend_from_slice(&id.to_le_bytes());
        }
        for scale in &set.scales {
            bytes.extend_from_slice(&scale.to_le_bytes());
        }
        bytes.extend(set.values().iter().map(|&v| v as u8));
        let path = self.cache_path();
        crate::private_files::write_atomic(&path, &bytes).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })
    }

    fn vectors_from_database(&self) -> Result<VectorSet, StoreError> {
        let dim: usize = self.meta("dim")?.and_then(|d| d.parse().ok()).unwrap_or(0);
        let mut set = VectorSet {
            ids: Vec::new(),
            scales: Vec::new(),
            values: VectorValues::Owned(Vec::new()),
            dim,
        };
        let mut values = Vec::new();
        let mut statement = self
            .conn
            .prepare("SELECT id, vector FROM chunks")
            .map_err(|e| self.sql(e))?;
        let mut rows = statement.query([]).map_err(|e| self.sql(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sql(e))? {
            let id: i64 = row.get(0).map_err(|e| self.sql(e))?;
            let blob = row.get_ref(1).map_err(|e| self.sql(e))?;
            let bytes = blob.as_blob().unwrap_or(&[]);
            if bytes.len() != 4 + dim {
                continue;
            }
            set.ids.push(id);
            set.scales
                .push(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
            values.extend(bytes[4..].iter().map(|&b| b as i8));
        }
        set.values = VectorValues::Owned(values);
        Ok(set)
    }

    /// BM25 full-text search: chunk ids, best first, with FTS5's score
    /// (lower is better).
    pub fn bm25(&self, query: &str, limit: usize) -> Result<Vec<(i64, f64)>, StoreError> {
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        // Stop words match nearly every chunk and add little to BM25, but
        // make FTS5 score them all; they are dropped unless nothing else is left.
        let content: Vec<&String> = words.iter().filter(|w| !is_stop_word(w)).collect();
        let chosen: Vec<&String> = if content.is_empty() {
            words.iter().collect()
        } else {
            content
        };
        let terms: Vec<String> = chosen.iter().map(|w| format!("\"{w}\"")).collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut statement = self
            .conn
            .prepare(
                "SELECT rowid, bm25(chunks_fts, 1.0, 0.5, 0.2) AS score FROM chunks_fts
                 WHERE chunks_fts MATCH ?1 ORDER BY score LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map(params![terms.join(" OR "), limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// One chunk by id.
    pub fn chunk(&self, id: i64) -> Result<Option<StoredChunk>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, path, start_line, end_line, heading, text FROM chunks WHERE id = ?1",
                [id],
                |r| {
                    Ok(StoredChunk {
                        id: r.get(0)?,
                        path: r.get(1)?,
                        start_line: r.get(2)?,
                        end_line: r.get(3)?,
                        heading: r.get(4)?,
                        text: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Sizes and settings.
    pub fn stats(&self, name: &str) -> Result<IndexStats, StoreError> {
        let count = |sql: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(|e| self.sql(e))
        };
        Ok(IndexStats {
            name: name.to_string(),
            files: count("SELECT COUNT(*) FROM files")?,
            chunks: count("SELECT COUNT(*) FROM chunks")?,
            tokens: count("SELECT COALESCE(SUM(tokens), 0) FROM chunks")?,
            embedder: self.meta("embedder")?.unwrap_or_default(),
            dim: self.meta("dim")?.and_then(|d| d.parse().ok()).unwrap_or(0),
            bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
        })
    }
}

/// An indexing run in progress (one transaction).
pub struct Update<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl Update<'_> {
    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Sets a metadata value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// Every indexed path with its content hash, as the transaction sees it.
    pub fn file_hashes(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut statement = self
            .tx
            .prepare("SELECT path, hash FROM files")
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Every indexed path, as the transaction sees it.
    pub fn paths(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .tx
            .prepare("SELECT path FROM files ORDER BY path")
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map([], |r| r.get(0))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.sql(e))
    }

    /// Removes a file and its chunks. The full-text index is kept in step
    /// with one statement per file, not per chunk: FTS5 flushes its pending
    /// terms at every statement, which per chunk costs more than the rest of
    /// indexing together.
    pub fn remove_file(&self, path: &str) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO chunks_fts(chunks_fts, rowid, text, heading, path)
                 SELECT 'delete', id, text, heading, path FROM chunks WHERE path = ?1",
                [path],
            )
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute("DELETE FROM chunks WHERE path = ?1", [path])
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute("DELETE FROM files WHERE path = ?1", [path])
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// Replaces a file's chunks.
    pub fn put_file(
        &self,
        path: &str,
        hash: &str,
        bytes: usize,
        chunks: &[NewChunk<'_>],
    ) -> Result<(), StoreError> {
        self.remove_file(path)?;
        let mut insert = self
            .tx
            .prepare_cached(
                "INSERT INTO chunks (path, start_line, end_line, heading, text, tokens, vector)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(|e| self.sql(e))?;
        for new in chunks {
            insert
                .execute(params![
                    new.path,
                    new.chunk.start_line as i64,
                    new.chunk.end_line as i64,
                    new.chunk.heading,
                    new.chunk.text,
                    new.chunk.tokens as i64,
                    quantize(new.vector),
                ])
                .map_err(|e| self.sql(e))?;
        }
        self.tx
            .execute(
                "INSERT INTO chunks_fts(rowid, text, heading, path)
                 SELECT id, text, heading, path FROM chunks WHERE path = ?1",
                [path],
            )
            .map_err(|e| self.sql(e))?;
        self.tx
            .execute(
                "INSERT INTO files (path, hash, bytes, chunks) VALUES (?1, ?2, ?3, ?4)",
                params![path, hash, bytes as i64, chunks.len() as i64],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// Makes the run's changes visible, all at once (with a new generation,
    /// which makes the old vector cache stale).
    pub fn commit(self) -> Result<(), StoreError> {
        let generation = format!(
            "{}-{:08x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
            fastrand::u32(..)
        );
        self.set_meta("generation", &generation)?;
        let path = self.path.clone();
        self.tx
            .commit()
            .map_err(|source| StoreError::Sqlite { path, source })
    }
}

/// Common English words left out of BM25 queries.
fn is_stop_word(word: &str) -> bool {
    const STOP_WORDS: &[&str] = &[
        "a", "about", "after", "all", "an", "and", "any", "are", "as", "at", "be", "by", "can",
        "could", "do", "does", "for", "from", "get", "has", "have", "how", "i", "if", "in", "into",
        "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so", "that", "the",
        "their", "then", "there", "these", "this", "to", "was", "we", "what", "when", "where",
        "which", "who", "why", "will", "with", "would", "you", "your",
    ];
    STOP_WORDS.binary_search(&word).is_ok()
}

/// The first bytes of a vector cache file.
const CACHE_MAGIC: &[u8; 8] = b"CFVEC01\0";

/// Reads a vector cache if it is whole and of `generation`. The values
/// stay in the mapped file.
fn read_cache(path: &Path, generation: &str) -> Option<VectorSet> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the cache is only ever replaced by renaming a new file over
    // it, never written in place, so the mapped bytes do not change while
    // mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let mut at: usize = 0;
    let bytes: &[u8] = &map;
    let mut take = |n: usize| -> Option<&[u8]> {
        let slice = bytes.get(at..at.checked_add(n)?)?;
        at += n;
        Some(slice)
    };
    if take(8)? != CACHE_MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    if take(len)? != generation.as_bytes() {
        return None;
    }
    let dim = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let count = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
    let ids = take(count.checked_mul(8)?)?
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect();
    let scales = take(count.checked_mul(4)?)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect();
    let values_len = count.checked_mul(dim)?;
    take(values_len)?;
    let start = at - values_len;
    Some(VectorSet {
        ids,
        scales,
        values: VectorValues::Mapped {
            map,
            start,
            len: values_len,
        },
        dim,
    })
}

/// A vector as stored: a little-endian f32 scale, then int8 values.
pub fn quantize(vector: &[f32]) -> Vec<u8> {
    let max = vector.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let mut out = Vec::with_capacity(4 + vector.len());
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend(
        vector
            .iter()
            .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8),
    );
    out
}
