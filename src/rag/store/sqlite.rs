//! One RAG index on disk: a SQLite database (`rag/<name>/index.sqlite` in
//! the data directory) holding the indexed files and their content hashes,
//! the chunks with their source lines and headings, an FTS5 full-text index
//! for BM25, and each chunk's vector (int8 with a scale). Every indexing
//! run is one transaction: an interrupted run leaves the previous index as
//! it was.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use super::terms::{self, Field};
use super::{
    rag_dir, CandidateQuery, Candidates, IndexStats, IndexStore, IndexUpdate, NewChunk, StoreError,
    StoredChunk,
};

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

/// A local index, open.
pub struct LocalIndex {
    conn: Connection,
    path: PathBuf,
    name: String,
    /// The vectors last read, with the generation they belong to: the
    /// queries of one process (`rag eval`, a chat) and a query's two
    /// vector lookups read them once per generation.
    loaded: Option<(String, VectorSet)>,
}

/// How long a statement waits for another process's hold on the database.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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
    let dir = rag_dir(data_dir).join(name);
    if !dir.join("index.sqlite").exists() {
        return Err(StoreError::NotFound(name.to_string()));
    }
    std::fs::remove_dir_all(&dir).map_err(|source| StoreError::Io { path: dir, source })
}

impl LocalIndex {
    /// Opens index `name` (a checked name); creates it when `create` is true.
    pub fn open(data_dir: &Path, name: &str, create: bool) -> Result<LocalIndex, StoreError> {
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
        register_words(&conn).map_err(sql)?;
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
",
        )
        .map_err(sql)?;
        conn.execute_batch(FULL_TEXT_TABLE).map_err(sql)?;
        Ok(LocalIndex {
            conn,
            path,
            name: name.to_string(),
            loaded: None,
        })
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn meta_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        meta_in(&self.conn, key).map_err(|e| self.sql(e))
    }

    /// Every vector, for a scan: from the cache when it matches the
    /// database's generation, else from the database.
    fn vectors(&mut self) -> Result<&VectorSet, StoreError> {
        let generation = self.meta_value("generation")?.unwrap_or_default();
        let current = matches!(&self.loaded, Some((loaded, _)) if *loaded == generation);
        if !current {
            let set = match read_cache(&cache_path(&self.path), &generation) {
                Some(set) => set,
                None => vectors_from_database(&self.conn).map_err(|e| self.sql(e))?,
            };
            self.loaded = Some((generation, set));
        }
        Ok(&self.loaded.as_ref().expect("loaded above").1)
    }

    /// BM25 full-text search: chunk ids, best first, with FTS5's score
    /// negated (higher is better).
    fn bm25(&self, query: &str, limit: usize) -> Result<Vec<(i64, f64)>, StoreError> {
        let terms: Vec<String> = terms::query_terms(query)
            .into_iter()
            .map(|w| format!("\"{w}\""))
            .collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT rowid, -bm25(chunks_fts, {}, {}, {}) AS score FROM chunks_fts
             WHERE chunks_fts MATCH ?1 ORDER BY score DESC, rowid LIMIT ?2",
            Field::Text.weight(),
            Field::Heading.weight(),
            Field::Path.weight()
        );
        let mut statement = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map(params![terms.join(" OR "), limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    fn chunk(&self, id: i64) -> Result<Option<StoredChunk>, StoreError> {
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
}

/// The full-text index: FTS5 over the chunks' words as
/// `confab_words` gives them, split only at the spaces between them.
const FULL_TEXT_TABLE: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, heading, path, content='chunks', content_rowid='id', tokenize='ascii');";

/// `confab_words(text)`: the words the full-text index holds for a field
/// ([`terms::indexed_text`]), so that FTS5 (with its `ascii` tokenizer,
/// which splits only on the spaces between them) ranks on exactly the
/// words the team store does.
fn register_words(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "confab_words",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: String = ctx.get(0)?;
            Ok(terms::indexed_text(&text))
        },
    )
}

impl IndexStore for LocalIndex {
    fn name(&self) -> &str {
        &self.name
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.meta_value(key)
    }

    fn candidates(&mut self, query: &CandidateQuery<'_>) -> Result<Candidates, StoreError> {
        if query.vector.is_some() {
            self.vectors()?;
        }
        let this = &*self;
        let vectors = this.loaded.as_ref().map(|(_, set)| set);
        // The vector scan runs on other cores while SQLite answers BM25.
        let (by_vector, by_bm25) = std::thread::scope(|scope| {
            let scan = scope.spawn(|| match (vectors, query.vector) {
                (Some(set), Some(vector)) => vector_top_k(set, vector, query.depth),
                _ => Vec::new(),
            });
            let by_bm25 = match query.text {
                Some(text) => this.bm25(text, query.depth),
                None => Ok(Vec::new()),
            };
            (scan.join().unwrap_or_default(), by_bm25)
        });
        Ok(Candidates {
            by_bm25: by_bm25?,
            by_vector,
        })
    }

    fn similarities(&mut self, vector: &[f32], ids: &[i64]) -> Result<Vec<(i64, f32)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vector_scores(self.vectors()?, vector, ids))
    }

    fn chunks(&mut self, ids: &[i64]) -> Result<Vec<StoredChunk>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(chunk) = self.chunk(*id)? {
                out.push(chunk);
            }
        }
        Ok(out)
    }

    fn stats(&mut self) -> Result<IndexStats, StoreError> {
        let count = |sql: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(|e| self.sql(e))
        };
        Ok(IndexStats {
            name: self.name.clone(),
            location: "local".into(),
            files: count("SELECT COUNT(*) FROM files")?,
            chunks: count("SELECT COUNT(*) FROM chunks")?,
            tokens: count("SELECT COALESCE(SUM(tokens), 0) FROM chunks")?,
            embedder: self.meta_value("embedder")?.unwrap_or_default(),
            dim: self
                .meta_value("dim")?
                .and_then(|d| d.parse().ok())
                .unwrap_or(0),
            bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
        })
    }

    /// Takes the index's writer lock first, so that two `rag index` runs on
    /// one index take turns instead of failing on a locked database.
    fn update(&mut self, waiting: &dyn Fn()) -> Result<Box<dyn IndexUpdate + '_>, StoreError> {
        let lock_path = self.path.with_file_name("writer.lock");
        let lock = crate::private_files::FileLock::acquire(&lock_path, waiting, || false)
            .map_err(|source| StoreError::Io {
                path: lock_path.clone(),
                source,
            })?
            .ok_or_else(|| StoreError::Io {
                path: lock_path,
                source: std::io::Error::other("gave up waiting for the writer lock"),
            })?;
        let conn: &Connection = &self.conn;
        let tx = conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        Ok(Box::new(LocalUpdate {
            tx,
            conn,
            path: self.path.clone(),
            _lock: lock,
        }))
    }
}

/// A metadata value of the index `conn` holds.
fn meta_in(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// The vector cache beside the database: all vectors in one flat file,
/// so a query reads them in one go instead of row by row.
fn cache_path(database: &Path) -> PathBuf {
    database.with_file_name("vectors.bin")
}

fn vectors_from_database(conn: &Connection) -> rusqlite::Result<VectorSet> {
    let dim: usize = meta_in(conn, "dim")?
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let mut set = VectorSet {
        ids: Vec::new(),
        scales: Vec::new(),
        values: VectorValues::Owned(Vec::new()),
        dim,
    };
    let mut values = Vec::new();
    let mut statement = conn.prepare("SELECT id, vector FROM chunks")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let blob = row.get_ref(1)?;
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

/// Rewrites the vector cache of the database `conn` holds (temp file, then
/// rename) for its current generation.
fn write_vector_cache(conn: &Connection, database: &Path) -> Result<(), String> {
    let generation = meta_in(conn, "generation")
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let set = vectors_from_database(conn).map_err(|e| e.to_string())?;
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
    crate::private_files::write_atomic(&cache_path(database), &bytes).map_err(|e| e.to_string())
}

/// An indexing run on a local index (one transaction, under the writer lock).
struct LocalUpdate<'a> {
    tx: rusqlite::Transaction<'a>,
    conn: &'a Connection,
    path: PathBuf,
    _lock: crate::private_files::FileLock,
}

impl LocalUpdate<'_> {
    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

impl IndexUpdate for LocalUpdate<'_> {
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        meta_in(&self.tx, key).map_err(|e| self.sql(e))
    }

    fn file_hashes(&mut self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut statement = self
            .tx
            .prepare("SELECT path, hash FROM files")
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    fn paths(&mut self) -> Result<Vec<String>, StoreError> {
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

    /// The full-text index is kept in step with one statement per file, not
    /// per chunk: FTS5 flushes its pending terms at every statement, which
    /// per chunk costs more than the rest of indexing together.
    fn remove_file(&mut self, path: &str) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO chunks_fts(chunks_fts, rowid, text, heading, path)
                 SELECT 'delete', id, confab_words(text), confab_words(heading), confab_words(path)
                 FROM chunks WHERE path = ?1",
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

    /// Drops the full-text table rather than deleting its rows: an index
    /// of another format holds other words, which FTS5's delete would not
    /// find.
    fn clear(&mut self) -> Result<(), StoreError> {
        self.tx
            .execute_batch(&format!(
                "DROP TABLE IF EXISTS chunks_fts; DELETE FROM chunks; DELETE FROM files; {FULL_TEXT_TABLE}"
            ))
            .map_err(|e| self.sql(e))
    }

    fn put_file(
        &mut self,
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
        drop(insert);
        self.tx
            .execute(
                "INSERT INTO chunks_fts(rowid, text, heading, path)
                 SELECT id, confab_words(text), confab_words(heading), confab_words(path)
                 FROM chunks WHERE path = ?1",
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

    /// Commits with a new generation, which makes the old vector cache
    /// stale, then writes the new cache (a failure there costs a warning:
    /// queries read the database instead).
    fn commit(mut self: Box<Self>) -> Result<Option<String>, StoreError> {
        let generation = format!(
            "{}-{:08x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
            fastrand::u32(..)
        );
        self.set_meta("generation", &generation)?;
        let LocalUpdate {
            tx,
            conn,
            path,
            _lock,
        } = *self;
        tx.commit().map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
        Ok(write_vector_cache(conn, &path).err().map(|err| {
            format!("the vector cache was not written ({err}); queries read the database instead")
        }))
    }
}

/// The `k` nearest rows to `query` (unit length) by cosine similarity.
/// The query is quantized to int8 like the rows, so the scan is an integer
/// dot product the compiler vectorizes; the scales restore the cosine.
pub fn vector_top_k(set: &VectorSet, query: &[f32], k: usize) -> Vec<(i64, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let Some((quantized, query_scale)) = quantized_query(set, query) else {
        return Vec::new();
    };
    // Rows are scanned in parts on all cores; each part keeps its own top k.
    use rayon::prelude::*;
    const ROWS_PER_PART: usize = 16_384;
    let values = set.values();
    let parts: Vec<Vec<(f32, usize)>> = values
        .par_chunks(set.dim * ROWS_PER_PART)
        .enumerate()
        .map(|(part, rows)| {
            let first_row = part * ROWS_PER_PART;
            let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
            let mut floor = f32::NEG_INFINITY;
            for (offset, row_values) in rows.chunks_exact(set.dim).enumerate() {
                let row = first_row + offset;
                let dot = dot_i8_i16(row_values, &quantized);
                let score = dot as f32 * set.scales[row] * query_scale;
                if best.len() < k || score > floor {
                    let at = best.partition_point(|(s, _)| *s >= score);
                    best.insert(at, (score, row));
                    best.truncate(k);
                    floor = best.last().map_or(f32::NEG_INFINITY, |(s, _)| *s);
                }
            }
            best
        })
        .collect();
    let mut best: Vec<(f32, usize)> = parts.into_iter().flatten().collect();
    best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    best.truncate(k);
    best.into_iter().map(|(s, row)| (set.ids[row], s)).collect()
}

/// The query as int16 values on the rows' int8 scale, with its scale;
/// `None` for a zero vector or one of another size.
fn quantized_query(set: &VectorSet, query: &[f32]) -> Option<(Vec<i16>, f32)> {
    if set.dim == 0 || query.len() != set.dim {
        return None;
    }
    let max = query.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return None;
    }
    let query_scale = max / 127.0;
    let quantized = query
        .iter()
        .map(|v| (v / query_scale).round().clamp(-127.0, 127.0) as i16)
        .collect();
    Some((quantized, query_scale))
}

/// The cosine similarity of `query` to the rows with these ids, scored as
/// [`vector_top_k`] scores them.
fn vector_scores(set: &VectorSet, query: &[f32], ids: &[i64]) -> Vec<(i64, f32)> {
    let Some((quantized, query_scale)) = quantized_query(set, query) else {
        return Vec::new();
    };
    let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
    let values = set.values();
    set.ids
        .iter()
        .enumerate()
        .filter(|(_, id)| wanted.contains(id))
        .map(|(row, id)| {
            let row_values = &values[row * set.dim..(row + 1) * set.dim];
            let dot = dot_i8_i16(row_values, &quantized);
            (*id, dot as f32 * set.scales[row] * query_scale)
        })
        .collect()
}

/// The integer dot product of a stored row and the quantized query.
#[inline]
fn dot_i8_i16(row: &[i8], query: &[i16]) -> i32 {
    row.iter()
        .zip(query)
        .map(|(&v, &q)| i32::from(v) * i32::from(q))
        .sum()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_scan_finds_the_nearest() {
        let rows: Vec<Vec<f32>> = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.6, 0.8, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        let mut set = VectorSet {
            ids: vec![10, 11, 12, 13],
            scales: Vec::new(),
            values: VectorValues::Owned(Vec::new()),
            dim: 3,
        };
        let mut values = Vec::new();
        for row in &rows {
            let q = quantize(row);
            set.scales
                .push(f32::from_le_bytes([q[0], q[1], q[2], q[3]]));
            values.extend(q[4..].iter().map(|&b| b as i8));
        }
        set.values = VectorValues::Owned(values);
        let hits = vector_top_k(&set, &[0.8, 0.6, 0.0], 2);
        let ids: Vec<i64> = hits.iter().map(|h| h.0).collect();
        assert_eq!(ids, [12, 10]);
        assert!((hits[0].1 - 0.96).abs() < 0.02);
        // Scores of chosen rows are the scan's scores; unknown ids are left out.
        let mut chosen = vector_scores(&set, &[0.8, 0.6, 0.0], &[13, 10, 99]);
        chosen.sort_by_key(|(id, _)| *id);
        assert_eq!(chosen.len(), 2);
        assert_eq!(chosen[0], hits[1]);
        assert!(chosen[1].1.abs() < 0.02, "{chosen:?}");
        assert!(vector_scores(&set, &[1.0, 0.0], &[10]).is_empty());
    }
}
