//! The cache's SQLite file: opening (and replacing a broken one), lookup,
//! store with expiry and LRU eviction, stats and clear.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{
    params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior,
};

use super::question::Question;
use super::{
    guard, CacheError, CacheHit, CacheKey, CacheSettings, CacheStats, CachedReply, HitKind,
};
use crate::embed::static_embedder::{cosine, StaticEmbedder};
use crate::llm::Usage;

/// The database file's name in the cache directory.
pub const DB_FILE: &str = "responses.sqlite3";

/// The schema version, in the `meta` table. A file with another version is
/// moved aside and replaced, which loses nothing that matters: it is a
/// cache. Version 2 moved the prompt and reply text out of `entries` into
/// `bodies`, so that a semantic lookup scans only small rows; version 3
/// added each prompt's content words (`concepts`), indexed, so that
/// the same question in other words is found without a scan.
pub const SCHEMA_VERSION: &str = "3";

/// How long a write waits for another confab process to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    context TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    embedder TEXT NOT NULL,
    embedding BLOB NOT NULL,
    concepts TEXT NOT NULL,
    model_reported TEXT,
    finish_reason TEXT,
    input_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    stored_ms INTEGER NOT NULL,
    last_used_ms INTEGER NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    UNIQUE (context, prompt_hash)
);
CREATE INDEX IF NOT EXISTS entries_by_last_used ON entries(last_used_ms);
CREATE INDEX IF NOT EXISTS entries_by_stored ON entries(stored_ms);
CREATE INDEX IF NOT EXISTS entries_by_context ON entries(context, stored_ms);
CREATE INDEX IF NOT EXISTS entries_by_question ON entries(context, concepts);
CREATE TABLE IF NOT EXISTS bodies (
    id INTEGER PRIMARY KEY,
    prompt TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_delete_body AFTER DELETE ON entries BEGIN
    DELETE FROM bodies WHERE id = OLD.id;
END;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '3'), ('hits_served', '0');
";

/// The tables of a cache file of this schema version.
const TABLES: [&str; 3] = ["meta", "entries", "bodies"];

const ENTRY_COLUMNS: &str = "b.prompt, b.text, e.model_reported, e.finish_reason, \
     e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens, \
     e.reasoning_tokens, e.stored_at";

/// The response cache, open on its SQLite file. See the [module
/// docs](super) for how lookups work and what is on disk.
pub struct SemanticCache {
    conn: Connection,
    path: PathBuf,
    settings: CacheSettings,
    clock: Box<dyn Fn() -> Timestamp + Send + Sync>,
}

impl std::fmt::Debug for SemanticCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemanticCache")
            .field("path", &self.path)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why opening an existing file failed.
enum OpenFailure {
    /// The file is not a usable cache; replace it.
    Unusable(String),
    /// Something else (permissions, a lock held too long): report it.
    Error(CacheError),
}

impl SemanticCache {
    /// Opens (or creates) the cache in `cache_dir`, creating the directory
    /// if needed. A file that is corrupt, not a database, or of another
    /// schema version is moved aside and a new cache created; the returned
    /// warnings say so. Errors mean the cache cannot be used at all (the
    /// directory cannot be created, the file cannot be opened or moved):
    /// warn and go on without it.
    pub fn open(
        cache_dir: &Path,
        settings: &CacheSettings,
    ) -> Result<(SemanticCache, Vec<String>), CacheError> {
        crate::private_files::ensure_dir(cache_dir).map_err(|source| CacheError::Io {
            path: cache_dir.to_path_buf(),
            source,
        })?;
        let path = cache_dir.join(DB_FILE);
        let mut warnings = Vec::new();
        let conn = match connect(&path) {
            Ok(conn) => conn,
            Err(OpenFailure::Error(e)) => return Err(e),
            Err(OpenFailure::Unusable(reason)) => {
                let aside = move_aside(&path)?;
                warnings.push(format!(
                    "cache {}: {reason}; moved it to {} and started an empty cache",
                    path.display(),
                    aside.display()
                ));
                match connect(&path) {
                    Ok(conn) => conn,
                    Err(OpenFailure::Error(e)) => return Err(e),
                    Err(OpenFailure::Unusable(reason)) => {
                        return Err(CacheError::Io {
                            path,
                            source: std::io::Error::other(reason),
                        })
                    }
                }
            }
        };
        let cache = SemanticCache {
            conn,
            path,
            settings: settings.clone(),
            clock: Box::new(Timestamp::now),
        };
        Ok((cache, warnings))
    }

    /// A cache in memory, gone when dropped: for `confab cache eval`,
    /// which measures the lookup without touching the user's cache.
    pub fn in_memory(settings: &CacheSettings) -> Result<SemanticCache, CacheError> {
        let path = PathBuf::from(":memory:");
        let sql = |source| CacheError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open_in_memory().map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        Ok(SemanticCache {
            conn,
            path,
            settings: settings.clone(),
            clock: Box::new(Timestamp::now),
        })
    }

    /// Replaces the clock (by default the system's) that decides expiry,
    /// recency and `stored_at`; tests use it to move time without sleeping.
    pub fn set_clock(&mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) {
        self.clock = Box::new(clock);
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> CacheError {
        CacheError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The `stored_ms` below which (inclusive) an entry has expired.
    fn cutoff_ms(&self, now_ms: i64) -> i64 {
        let ttl_ms = i64::try_from(self.settings.ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        now_ms.saturating_sub(ttl_ms)
    }

    /// Looks `key` up: an exact hit if a live entry of the same context has
    /// the same normalised prompt; else the newest live prompt of the same
    /// context that asks the same [`Question`] and passes
    /// [`guard::agree_on_details`]; else the most similar live prompt of
    /// the same context at or above the threshold that passes
    /// [`guard::compatible`]. A hit updates the entry's last use and hit
    /// count (best effort: if that write fails, the hit is still served).
    pub fn lookup(&self, key: &CacheKey) -> Result<Option<CacheHit>, CacheError> {
        let now_ms = (self.clock)().as_millisecond();
        let cutoff = self.cutoff_ms(now_ms);
        let exact: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM entries WHERE context = ?1 AND prompt_hash = ?2 AND stored_ms > ?3",
                params![key.context_digest(), key.prompt_digest(), cutoff],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let found = match exact {
            Some(id) => Some((id, HitKind::Exact)),
            None => match self.same_question(key, cutoff)? {
                Some(id) => Some((id, HitKind::SameQuestion)),
                None => self
                    .best_semantic(key, cutoff)?
                    .map(|(id, similarity)| (id, HitKind::Similar(similarity))),
            },
        };
        let Some((id, kind)) = found else {
            return Ok(None);
        };
        let hit = self.read_hit(id, kind)?;
        // Bookkeeping is best effort: a reply found must not be lost
        // because another process holds the write lock for too long or
        // the file is read-only. The hit then just does not count.
        let _ = self.record_hit(id, now_ms);
        Ok(hit)
    }

    /// The id of the newest live entry whose prompt asks the same question
    /// as `key`'s and agrees with it on every detail.
    fn same_question(&self, key: &CacheKey, cutoff: i64) -> Result<Option<i64>, CacheError> {
        if !guard::eligible(key.prompt()) {
            return Ok(None);
        }
        let question = Question::parse(key.prompt());
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.id, b.prompt FROM entries e JOIN bodies b ON b.id = e.id
                 WHERE e.context = ?1 AND e.concepts = ?2 AND e.stored_ms > ?3
                 ORDER BY e.stored_ms DESC LIMIT 50",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(
                params![key.context_digest(), question.concepts_key(), cutoff],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let (id, prompt) = row.map_err(|e| self.sql(e))?;
            if question.same_as(&Question::parse(&prompt))
                && guard::agree_on_details(key.prompt(), &prompt).is_ok()
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The id and similarity of the best compatible semantic match.
    fn best_semantic(&self, key: &CacheKey, cutoff: i64) -> Result<Option<(i64, f32)>, CacheError> {
        if !guard::eligible(key.prompt()) {
            return Ok(None);
        }
        let embedder = StaticEmbedder::builtin();
        let query = embedder.embed(key.prompt());
        // The scan reads only the narrow `entries` rows (the embedding and
        // a few numbers); prompts are read from `bodies` for the few
        // entries above the threshold.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, embedding FROM entries
                 WHERE context = ?1 AND stored_ms > ?3 AND embedder = ?2",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows = stmt
            .query(params![key.context_digest(), embedder.name(), cutoff])
            .map_err(|e| self.sql(e))?;
        let mut candidates = Vec::new();
        let mut vector = Vec::with_capacity(embedder.dim());
        while let Some(row) = rows.next().map_err(|e| self.sql(e))? {
            let id: i64 = row.get(0).map_err(|e| self.sql(e))?;
            let blob = row
                .get_ref(1)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .map_err(|e| self.sql(e))?;
            if !decode_vector_into(blob, embedder.dim(), &mut vector) {
                continue;
            }
            let similarity = cosine(&query, &vector);
            if similarity >= self.settings.threshold {
                candidates.push((id, similarity));
            }
        }
        drop(rows);
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut prompt_of = self
            .conn
            .prepare_cached("SELECT prompt FROM bodies WHERE id = ?1")
            .map_err(|e| self.sql(e))?;
        for (id, similarity) in candidates {
            let prompt: Option<String> = prompt_of
                .query_row([id], |r| r.get(0))
                .optional()
                .map_err(|e| self.sql(e))?;
            if let Some(prompt) = prompt {
                if guard::compatible(key.prompt(), &prompt).is_ok() {
                    return Ok(Some((id, similarity)));
                }
            }
        }
        Ok(None)
    }

    fn read_hit(&self, id: i64, kind: HitKind) -> Result<Option<CacheHit>, CacheError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries e JOIN bodies b ON b.id = e.id
                     WHERE e.id = ?1"
                ),
                [id],
                |r| {
                    let tokens = |i| r.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
                    Ok(CacheHit {
                        cached_prompt: r.get(0)?,
                        reply: CachedReply {
                            text: r.get(1)?,
                            model_reported: r.get(2)?,
                            finish_reason: r.get(3)?,
                            usage: Usage {
                                input_tokens: tokens(4)?,
                                cached_input_tokens: tokens(5)?,
                                cache_write_tokens: tokens(6)?,
                                cache_write_hour_tokens: 0,
                                output_tokens: tokens(7)?,
                                reasoning_tokens: tokens(8)?,
                            },
                        },
                        stored_at: r.get(9)?,
                        kind,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Notes a hit: the entry's last use and hit count, and the total.
    fn record_hit(&self, id: i64, now_ms: i64) -> Result<(), CacheError> {
        let tx = self.write()?;
        tx.execute(
            "UPDATE entries SET last_used_ms = ?1, hits = hits + 1 WHERE id = ?2",
            params![now_ms, id],
        )
        .map_err(|e| self.sql(e))?;
        tx.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'hits_served'",
            [],
        )
        .map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// A write transaction that takes the write lock at once (waiting up
    /// to the busy timeout for another process), so it cannot fail later
    /// on a lock upgrade.
    fn write(&self) -> Result<Transaction<'_>, CacheError> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))
    }

    /// Stores `reply` under `key` (replacing an entry with the same exact
    /// key), then deletes expired entries and evicts the least recently
    /// used beyond [`CacheSettings::max_entries`], all in one transaction.
    pub fn store(&self, key: &CacheKey, reply: &CachedReply) -> Result<(), CacheError> {
        let now = (self.clock)();
        let now_ms = now.as_millisecond();
        let embedder = StaticEmbedder::builtin();
        let vector = embedder.embed(key.prompt());
        let concepts = Question::parse(key.prompt()).concepts_key();
        let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let usage = reply.usage;
        let tx = self.write()?;
        let id: i64 = tx
            .query_row(
                "INSERT INTO entries (context, prompt_hash, embedder, embedding,
                 model_reported, finish_reason, input_tokens, cached_input_tokens,
                 cache_write_tokens, output_tokens, reasoning_tokens, stored_at, stored_ms,
                 last_used_ms, hits, concepts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, 0, ?14)
             ON CONFLICT (context, prompt_hash) DO UPDATE SET
                 embedder = excluded.embedder, embedding = excluded.embedding,
                 concepts = excluded.concepts,
                 model_reported = excluded.model_reported, finish_reason = excluded.finish_reason,
                 input_tokens = excluded.input_tokens,
                 cached_input_tokens = excluded.cached_input_tokens,
                 cache_write_tokens = excluded.cache_write_tokens,
                 output_tokens = excluded.output_tokens,
                 reasoning_tokens = excluded.reasoning_tokens, stored_at = excluded.stored_at,
                 stored_ms = excluded.stored_ms, last_used_ms = excluded.last_used_ms, hits = 0
             RETURNING id",
                params![
                    key.context_digest(),
                    key.prompt_digest(),
                    embedder.name(),
                    blob,
                    reply.model_reported,
                    reply.finish_reason,
                    tokens(usage.input_tokens),
                    tokens(usage.cached_input_tokens),
                    tokens(usage.cache_write_tokens),
                    tokens(usage.output_tokens),
                    tokens(usage.reasoning_tokens),
                    now.to_string(),
                    now_ms,
                    concepts,
                ],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        tx.execute(
            "INSERT INTO bodies (id, prompt, text) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET prompt = excluded.prompt, text = excluded.text",
            params![id, key.prompt(), reply.text],
        )
        .map_err(|e| self.sql(e))?;
        // Deleting entries deletes their bodies (trigger `entries_delete_body`).
        tx.execute(
            "DELETE FROM entries WHERE stored_ms <= ?1",
            [self.cutoff_ms(now_ms)],
        )
        .map_err(|e| self.sql(e))?;
        let keep = i64::try_from(self.settings.max_entries).unwrap_or(i64::MAX);
        tx.execute(
            "DELETE FROM entries WHERE id IN (
                 SELECT id FROM entries ORDER BY last_used_ms DESC, id DESC LIMIT -1 OFFSET ?1)",
            [keep],
        )
        .map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// What is in the cache.
    pub fn stats(&self) -> Result<CacheStats, CacheError> {
        let cutoff = self.cutoff_ms((self.clock)().as_millisecond());
        let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<u64, CacheError> {
            self.conn
                .query_row(sql, p, |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(|e| self.sql(e))
        };
        let entries = count("SELECT COUNT(*) FROM entries", &[])?;
        let live_entries = count(
            "SELECT COUNT(*) FROM entries WHERE stored_ms > ?1",
            &[&cutoff],
        )?;
        let hits_served = count(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'hits_served'",
            &[],
        )?;
        let stored_at = |order: &str| -> Result<Option<String>, CacheError> {
            self.conn
                .query_row(
                    &format!("SELECT stored_at FROM entries ORDER BY stored_ms {order}, id {order} LIMIT 1"),
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.sql(e))
        };
        let file_bytes = [DB_FILE.to_string(), format!("{DB_FILE}-wal")]
            .iter()
            .filter_map(|name| std::fs::metadata(self.path.with_file_name(name)).ok())
            .map(|m| m.len())
            .sum();
        Ok(CacheStats {
            path: self.path.clone(),
            entries,
            live_entries,
            file_bytes,
            hits_served,
            oldest_stored_at: stored_at("ASC")?,
            newest_stored_at: stored_at("DESC")?,
        })
    }

    /// Deletes every entry and resets the hit count; returns how many
    /// entries there were. Deleted content is overwritten (`secure_delete`)
    /// and the WAL truncated, so cleared prompts do not linger on disk.
    pub fn clear(&self) -> Result<usize, CacheError> {
        let tx = self.write()?;
        let n = tx
            .execute("DELETE FROM entries", [])
            .map_err(|e| self.sql(e))?;
        tx.execute("UPDATE meta SET value = '0' WHERE key = 'hits_served'", [])
            .map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))?;
        // Best effort: another process reading at this moment keeps the
        // WAL alive until it finishes; its next checkpoint truncates it.
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(n)
    }
}

/// Opens `path`, creating it (mode 0600) and its schema if needed, and
/// checks that it is a cache of this schema version.
fn connect(path: &Path) -> Result<Connection, OpenFailure> {
    let io = |source| {
        OpenFailure::Error(CacheError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let sql = |source: rusqlite::Error| match &source {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(e.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) =>
        {
            OpenFailure::Unusable(source.to_string())
        }
        _ => OpenFailure::Error(CacheError::Sqlite {
            path: path.to_path_buf(),
            source,
        }),
    };
    crate::private_files::prepare_database(path).map_err(io)?;
    let conn = Connection::open(path).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .map_err(sql)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;")
        .map_err(sql)?;
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql)?;
    let ours = |name: &str| names.iter().any(|n| n == name);
    let known = TABLES.iter().filter(|t| ours(t)).count();
    let others = names.iter().any(|n| !TABLES.contains(&n.as_str()));
    // A file of an older version (meta and entries, no bodies) is caught
    // by the version check, so that the warning names its version.
    if others || (known > 0 && !ours("meta")) {
        return Err(OpenFailure::Unusable("not a confab cache".into()));
    }
    if known > 0 {
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        if version.as_deref() != Some(SCHEMA_VERSION) {
            return Err(OpenFailure::Unusable(format!(
                "schema version {}, expected {SCHEMA_VERSION}",
                version.as_deref().unwrap_or("missing")
            )));
        }
        if known != TABLES.len() {
            return Err(OpenFailure::Unusable("not a confab cache".into()));
        }
    }
    // Idempotent, and safe when two processes create the file at once.
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
        .map_err(sql)?;
    Ok(conn)
}

/// Renames the database and its WAL and shared-memory files to
/// `<name>.corrupt-<unix seconds>`; returns the database's new path.
fn move_aside(path: &Path) -> Result<PathBuf, CacheError> {
    let ts = Timestamp::now().as_second();
    let mut moved = path.to_path_buf();
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let from = PathBuf::from(from);
        if !from.exists() {
            continue;
        }
        let mut to = from.as_os_str().to_owned();
        to.push(format!(".corrupt-{ts}"));
        let to = PathBuf::from(to);
        std::fs::rename(&from, &to).map_err(|source| CacheError::Io {
            path: from.clone(),
            source,
        })?;
        if suffix.is_empty() {
            moved = to;
        }
    }
    Ok(moved)
}

/// Decodes a stored embedding into `out`; false (and `out` unspecified) if
/// it does not have the expected dimension.
fn decode_vector_into(blob: &[u8], dim: usize, out: &mut Vec<f32>) -> bool {
    if blob.len() != dim * 4 {
        return false;
    }
    out.clear();
    out.extend(
        blob.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
    true
}
