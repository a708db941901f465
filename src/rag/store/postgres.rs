//! RAG indexes in the team store, so every machine of a team queries the
//! same index: chunks with their metadata, each chunk's vector (pgvector,
//! searched through an HNSW index of its own per RAG index) and its words
//! as a tsvector (a GIN index finds the chunks holding a query's words).
//!
//! BM25 is computed in SQL exactly as SQLite's FTS5 computes it for local
//! indexes: the same words ([`terms`]), the same field weights, k1 and b,
//! and the same idf, from document frequencies kept per index in
//! `confab_rag_term` as files are added and removed. So a query ranks the
//! same in either place.
//!
//! An indexing run is one transaction holding the index's row lock: a
//! second run on the same index waits for the first, queries see the index
//! as it was until the run commits, and a run that dies changes nothing.

use std::collections::HashMap;

use postgres::{Client, Transaction};

use super::terms::{self, Field};
use super::{
    CandidateQuery, Candidates, IndexStats, IndexStore, IndexUpdate, NewChunk, StoreError,
    StoredChunk,
};
use crate::store::migrate::Track;
use crate::store::StoreSettings;

/// The RAG tables' migrations.
pub const SCHEMA: Track = Track {
    lock: 0x636f_6e66_6162_0002,
    table: "confab_rag_schema",
    migrations: &[(
        1,
        "CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE confab_rag_index (
            id bigserial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            chunks bigint NOT NULL DEFAULT 0,
            words bigint NOT NULL DEFAULT 0,
            tokens bigint NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE confab_rag_meta (
            index_id bigint NOT NULL REFERENCES confab_rag_index (id) ON DELETE CASCADE,
            key text NOT NULL,
            value text NOT NULL,
            PRIMARY KEY (index_id, key)
        );
        CREATE TABLE confab_rag_file (
            index_id bigint NOT NULL REFERENCES confab_rag_index (id) ON DELETE CASCADE,
            path text NOT NULL,
            hash text NOT NULL,
            bytes bigint NOT NULL,
            chunks integer NOT NULL,
            PRIMARY KEY (index_id, path)
        );
        CREATE TABLE confab_rag_chunk (
            id bigserial PRIMARY KEY,
            index_id bigint NOT NULL REFERENCES confab_rag_index (id) ON DELETE CASCADE,
            path text NOT NULL,
            start_line integer NOT NULL,
            end_line integer NOT NULL,
            heading text NOT NULL,
            text text NOT NULL,
            tokens integer NOT NULL,
            words integer NOT NULL,
            terms tsvector NOT NULL,
            embedding vector NOT NULL
        );
        CREATE INDEX confab_rag_chunk_file ON confab_rag_chunk (index_id, path);
        CREATE INDEX confab_rag_chunk_terms ON confab_rag_chunk USING gin (terms);
        CREATE TABLE confab_rag_term (
            index_id bigint NOT NULL REFERENCES confab_rag_index (id) ON DELETE CASCADE,
            term text NOT NULL,
            chunks bigint NOT NULL,
            PRIMARY KEY (index_id, term)
        );",
    )],
};

/// HNSW's candidate list (pgvector's default is 40, which would also cap
/// a query at 40 results): at least this long, and at least as long as
/// the query is deep. 100 measured 0.7 recall@10 at 40-50 on the bench's
/// duplicate-heavy 200k chunks; the longer list costs well under a
/// millisecond.
const MIN_EF_SEARCH: usize = 100;
/// HNSW's candidate list cannot be longer than this (pgvector's limit).
const MAX_EF_SEARCH: usize = 1000;

/// A RAG index in the team store, open.
pub struct SharedIndex {
    client: Client,
    id: i64,
    name: String,
    target: String,
    /// The vectors' dimensions, once known.
    dim: Option<usize>,
    /// The `hnsw.ef_search` this session has set.
    ef_search: usize,
}

/// Connects for the RAG tables: pgvector must be there (or installable by
/// this user), which the error says how to fix when it is not.
fn connect(settings: &StoreSettings) -> Result<Client, StoreError> {
    settings.connect_for(&SCHEMA).map_err(|err| match err {
        crate::store::StoreError::Query(message) if message.contains("vector") => {
            StoreError::Shared(crate::store::StoreError::Setting(format!(
                "the store cannot hold RAG indexes: {message}. They need the pgvector \
                 extension: have the database's owner run `CREATE EXTENSION vector` \
                 (packages: postgresql-16-pgvector and the like), or index with --local"
            )))
        }
        other => StoreError::Shared(other),
    })
}

/// The names of every index in the store, sorted.
pub fn list(settings: &StoreSettings) -> Result<Vec<String>, StoreError> {
    let mut client = connect(settings)?;
    let rows = client
        .query("SELECT name FROM confab_rag_index ORDER BY name", &[])
        .map_err(query_error)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Deletes index `name` from the store, with its search index.
pub fn remove(settings: &StoreSettings, name: &str) -> Result<(), StoreError> {
    let mut client = connect(settings)?;
    let mut tx = client.transaction().map_err(query_error)?;
    let id: i64 = tx
        .query_opt(
            "SELECT id FROM confab_rag_index WHERE name = $1 FOR UPDATE",
            &[&name],
        )
        .map_err(query_error)?
        .ok_or_else(|| StoreError::NotFound(name.to_string()))?
        .get(0);
    tx.batch_execute(&format!(
        "DROP INDEX IF EXISTS {hnsw};
         DELETE FROM confab_rag_chunk WHERE index_id = {id};
         DELETE FROM confab_rag_index WHERE id = {id};",
        hnsw = hnsw_name(id)
    ))
    .map_err(query_error)?;
    tx.commit().map_err(query_error)
}

/// The name of index `id`'s HNSW index.
fn hnsw_name(id: i64) -> String {
    format!("confab_rag_hnsw_{id}")
}

fn query_error(err: postgres::Error) -> StoreError {
    StoreError::Shared(err.into())
}

impl SharedIndex {
    /// Opens index `name` (a checked name) in the store; creates it when
    /// `create` is true.
    pub fn open(
        settings: &StoreSettings,
        name: &str,
        create: bool,
    ) -> Result<SharedIndex, StoreError> {
        let mut client = connect(settings)?;
        let find = |client: &mut Client| -> Result<Option<i64>, StoreError> {
            Ok(client
                .query_opt("SELECT id FROM confab_rag_index WHERE name = $1", &[&name])
                .map_err(query_error)?
                .map(|r| r.get(0)))
        };
        let id = match find(&mut client)? {
            Some(id) => id,
            None if create => {
                client
                    .execute(
                        "INSERT INTO confab_rag_index (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                        &[&name],
                    )
                    .map_err(query_error)?;
                find(&mut client)?.ok_or_else(|| StoreError::NotFound(name.to_string()))?
            }
            None => return Err(StoreError::NotFound(name.to_string())),
        };
        let mut index = SharedIndex {
            client,
            id,
            name: name.to_string(),
            target: settings.target().to_string(),
            dim: None,
            ef_search: MIN_EF_SEARCH,
        };
        index.dim = index.meta("dim")?.and_then(|d| d.parse().ok());
        Ok(index)
    }

    /// The nearest chunks to `vector` by cosine similarity, through the
    /// index's HNSW index.
    fn nearest(&mut self, vector: &[f32], depth: usize) -> Result<Vec<(i64, f32)>, StoreError> {
        let Some(dim) = self.dim.filter(|d| *d == vector.len() && *d > 0) else {
            return Ok(Vec::new());
        };
        let depth = depth.min(MAX_EF_SEARCH);
        let wanted = depth.max(MIN_EF_SEARCH);
        if wanted != self.ef_search {
            self.client
                .batch_execute(&format!("SET hnsw.ef_search = {wanted}"))
                .map_err(query_error)?;
            self.ef_search = wanted;
        }
        let query = pgvector::Vector::from(vector.to_vec());
        let sql = format!(
            "SELECT id, (1 - (embedding::vector({dim}) <=> $1::vector({dim})))::real
             FROM confab_rag_chunk WHERE index_id = {id}
             ORDER BY embedding::vector({dim}) <=> $1::vector({dim}) LIMIT {depth}",
            id = self.id
        );
        let rows = self.client.query(&sql, &[&query]).map_err(query_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// BM25 over the index's chunks, as FTS5 computes it (higher is better).
    fn bm25(&mut self, text: &str, depth: usize) -> Result<Vec<(i64, f64)>, StoreError> {
        let words = terms::query_terms(text);
        if words.is_empty() || depth == 0 {
            return Ok(Vec::new());
        }
        let rows = self
            .client
            .query(&bm25_sql(self.id, depth), &[&words, &terms::any_of(&words)])
            .map_err(query_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// The BM25 query for index `id`: $1 the query's words, $2 a tsquery
/// matching any of them. FTS5's formula: idf = ln((N - n + 0.5) / (n +
/// 0.5)), at least 1e-6; a word's frequency in a chunk is the sum of the
/// weights of the fields it occurs in, once per occurrence.
fn bm25_sql(id: i64, depth: usize) -> String {
    let weight = |field: Field| format!("WHEN '{}' THEN {:?}", field.label(), field.weight());
    format!(
        "WITH stats AS (
            SELECT greatest(chunks, 1)::float8 AS n,
                   greatest(words, 1)::float8 / greatest(chunks, 1) AS avgdl
            FROM confab_rag_index WHERE id = {id}),
         q AS (
            SELECT t.term, greatest(ln((s.n - t.chunks + 0.5) / (t.chunks + 0.5)), 1e-6) AS idf
            FROM confab_rag_term t, stats s
            WHERE t.index_id = {id} AND t.term = ANY($1::text[])),
         hit AS (
            SELECT c.id, c.words, c.terms FROM confab_rag_chunk c
            WHERE c.index_id = {id} AND c.terms @@ $2::text::tsquery),
         tf AS (
            SELECT h.id, h.words, q.idf,
                   (SELECT sum(CASE w {text} {heading} {path} ELSE 0 END)
                    FROM unnest(u.weights) AS w) AS f
            FROM hit h CROSS JOIN LATERAL unnest(h.terms) AS u
            JOIN q ON q.term = u.lexeme)
         SELECT tf.id, sum(tf.idf * tf.f * {k1_plus_1:?}
                   / (tf.f + {k1:?} * (1 - {b:?} + {b:?} * tf.words / s.avgdl)))::float8 AS score
         FROM tf, stats s
         GROUP BY tf.id ORDER BY score DESC, tf.id LIMIT {depth}",
        text = weight(Field::Text),
        heading = weight(Field::Heading),
        path = weight(Field::Path),
        k1 = terms::K1,
        k1_plus_1 = terms::K1 + 1.0,
        b = terms::B,
    )
}

/// A metadata value of index `id`.
fn meta_of(
    client: &mut impl postgres::GenericClient,
    id: i64,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT value FROM confab_rag_meta WHERE index_id = $1 AND key = $2",
            &[&id, &key],
        )
        .map_err(query_error)?
        .map(|r| r.get(0)))
}

impl IndexStore for SharedIndex {
    fn name(&self) -> &str {
        &self.name
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        meta_of(&mut self.client, self.id, key)
    }

    fn candidates(&mut self, query: &CandidateQuery<'_>) -> Result<Candidates, StoreError> {
        let by_vector = match query.vector {
            Some(vector) => self.nearest(vector, query.depth)?,
            None => Vec::new(),
        };
        let by_bm25 = match query.text {
            Some(text) => self.bm25(text, query.depth)?,
            None => Vec::new(),
        };
        Ok(Candidates { by_bm25, by_vector })
    }

    fn similarities(&mut self, vector: &[f32], ids: &[i64]) -> Result<Vec<(i64, f32)>, StoreError> {
        let Some(dim) = self.dim.filter(|d| *d == vector.len() && *d > 0) else {
            return Ok(Vec::new());
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = pgvector::Vector::from(vector.to_vec());
        let sql = format!(
            "SELECT id, (1 - (embedding::vector({dim}) <=> $1::vector({dim})))::real
             FROM confab_rag_chunk WHERE index_id = {id} AND id = ANY($2)",
            id = self.id
        );
        let rows = self
            .client
            .query(&sql, &[&query, &ids])
            .map_err(query_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn chunks(&mut self, ids: &[i64]) -> Result<Vec<StoredChunk>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT id, path, start_line, end_line, heading, text FROM confab_rag_chunk
                 WHERE index_id = $1 AND id = ANY($2)",
                &[&self.id, &ids],
            )
            .map_err(query_error)?;
        let mut by_id: HashMap<i64, StoredChunk> = rows
            .iter()
            .map(|r| {
                let chunk = StoredChunk {
                    id: r.get(0),
                    path: r.get(1),
                    start_line: i64::from(r.get::<_, i32>(2)),
                    end_line: i64::from(r.get::<_, i32>(3)),
                    heading: r.get(4),
                    text: r.get(5),
                };
                (chunk.id, chunk)
            })
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    fn stats(&mut self) -> Result<IndexStats, StoreError> {
        let row = self
            .client
            .query_one(
                &format!(
                    "SELECT (SELECT count(*) FROM confab_rag_file WHERE index_id = {id}),
                            i.chunks, i.tokens,
                            (SELECT coalesce(sum(pg_column_size(c.*)), 0)::bigint
                             FROM confab_rag_chunk c WHERE c.index_id = {id})
                            + coalesce(pg_relation_size(to_regclass('{hnsw}')), 0)
                     FROM confab_rag_index i WHERE i.id = {id}",
                    id = self.id,
                    hnsw = hnsw_name(self.id)
                ),
                &[],
            )
            .map_err(query_error)?;
        Ok(IndexStats {
            name: self.name.clone(),
            location: self.target.clone(),
            files: row.get(0),
            chunks: row.get(1),
            tokens: row.get(2),
            embedder: self.meta("embedder")?.unwrap_or_default(),
            dim: self.dim.unwrap_or(0) as i64,
            bytes: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
        })
    }

    fn update(&mut self, waiting: &dyn Fn()) -> Result<Box<dyn IndexUpdate + '_>, StoreError> {
        let id = self.id;
        let name = self.name.clone();
        let mut tx = self.client.transaction().map_err(query_error)?;
        let lock = "SELECT id FROM confab_rag_index WHERE id = $1 FOR UPDATE";
        let free = tx
            .query_opt(&format!("{lock} SKIP LOCKED"), &[&id])
            .map_err(query_error)?;
        if free.is_none() {
            waiting();
            // Waits for the other run; none left means the index was removed.
            tx.query_opt(lock, &[&id])
                .map_err(query_error)?
                .ok_or(StoreError::NotFound(name))?;
        }
        Ok(Box::new(SharedUpdate { tx, id }))
    }
}

/// An indexing run on an index in the store (one transaction).
struct SharedUpdate<'a> {
    tx: Transaction<'a>,
    id: i64,
}

impl IndexUpdate for SharedUpdate<'_> {
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO confab_rag_meta (index_id, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (index_id, key) DO UPDATE SET value = excluded.value",
                &[&self.id, &key, &value],
            )
            .map(drop)
            .map_err(query_error)
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        meta_of(&mut self.tx, self.id, key)
    }

    fn file_hashes(&mut self) -> Result<HashMap<String, String>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT path, hash FROM confab_rag_file WHERE index_id = $1",
                &[&self.id],
            )
            .map_err(query_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn paths(&mut self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT path FROM confab_rag_file WHERE index_id = $1 ORDER BY path",
                &[&self.id],
            )
            .map_err(query_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Deletes the file's chunks and takes their words out of the
    /// document frequencies and the totals, in one statement.
    fn remove_file(&mut self, path: &str) -> Result<(), StoreError> {
        let sql = format!(
            "WITH gone AS (
                DELETE FROM confab_rag_chunk WHERE index_id = {id} AND path = $1
                RETURNING terms, words, tokens),
             lexemes AS (
                SELECT u.lexeme, count(*) AS n FROM gone CROSS JOIN LATERAL unnest(gone.terms) AS u
                GROUP BY u.lexeme),
             counted AS (
                UPDATE confab_rag_term t SET chunks = t.chunks - l.n FROM lexemes l
                WHERE t.index_id = {id} AND t.term = l.lexeme RETURNING 1),
             totals AS (
                UPDATE confab_rag_index SET
                    chunks = chunks - (SELECT count(*) FROM gone),
                    words = words - (SELECT coalesce(sum(words), 0) FROM gone),
                    tokens = tokens - (SELECT coalesce(sum(tokens), 0) FROM gone),
                    updated_at = now()
                WHERE id = {id} RETURNING 1)
             DELETE FROM confab_rag_file WHERE index_id = {id} AND path = $1",
            id = self.id
        );
        self.tx
            .execute(&sql, &[&path])
            .map(drop)
            .map_err(query_error)
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        self.tx
            .batch_execute(&format!(
                "DELETE FROM confab_rag_chunk WHERE index_id = {id};
                 DELETE FROM confab_rag_term WHERE index_id = {id};
                 DELETE FROM confab_rag_file WHERE index_id = {id};
                 UPDATE confab_rag_index SET chunks = 0, words = 0, tokens = 0, updated_at = now()
                 WHERE id = {id};",
                id = self.id
            ))
            .map_err(query_error)
    }

    /// Writes the file's chunks in one statement (arrays unnested into
    /// rows) and adds their words to the document frequencies.
    fn put_file(
        &mut self,
        path: &str,
        hash: &str,
        bytes: usize,
        chunks: &[NewChunk<'_>],
    ) -> Result<(), StoreError> {
        self.remove_file(path)?;
        let rows = ChunkColumns::of(chunks);
        let sql = format!(
            "WITH new AS (
                INSERT INTO confab_rag_chunk
                    (index_id, path, start_line, end_line, heading, text, tokens, words, terms, embedding)
                SELECT {id}, $1, r.start_line, r.end_line, r.heading, r.text, r.tokens, r.words,
                       r.terms::tsvector, r.embedding
                FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::int[], $7::int[],
                            $8::text[], $9::vector[])
                     AS r(start_line, end_line, heading, text, tokens, words, terms, embedding)
                RETURNING terms, words, tokens),
             lexemes AS (
                SELECT u.lexeme, count(*) AS n FROM new CROSS JOIN LATERAL unnest(new.terms) AS u
                GROUP BY u.lexeme),
             counted AS (
                INSERT INTO confab_rag_term (index_id, term, chunks)
                SELECT {id}, lexeme, n FROM lexemes
                ON CONFLICT (index_id, term) DO UPDATE SET chunks = confab_rag_term.chunks + excluded.chunks
                RETURNING 1),
             totals AS (
                UPDATE confab_rag_index SET
                    chunks = chunks + (SELECT count(*) FROM new),
                    words = words + (SELECT coalesce(sum(words), 0) FROM new),
                    tokens = tokens + (SELECT coalesce(sum(tokens), 0) FROM new),
                    updated_at = now()
                WHERE id = {id} RETURNING 1)
             INSERT INTO confab_rag_file (index_id, path, hash, bytes, chunks)
             VALUES ({id}, $1, $10, $11, $12)",
            id = self.id
        );
        let file_bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        let count = i32::try_from(chunks.len()).unwrap_or(i32::MAX);
        self.tx
            .execute(
                &sql,
                &[
                    &path,
                    &rows.start_lines,
                    &rows.end_lines,
                    &rows.headings,
                    &rows.texts,
                    &rows.tokens,
                    &rows.words,
                    &rows.terms,
                    &rows.embeddings,
                    &hash,
                    &file_bytes,
                    &count,
                ],
            )
            .map(drop)
            .map_err(query_error)
    }

    /// Drops words no chunk holds any more, builds the HNSW index the first
    /// time the dimensions are known (after the rows are in, which is
    /// faster than growing it row by row), and commits.
    fn commit(mut self: Box<Self>) -> Result<Option<String>, StoreError> {
        let id = self.id;
        let dim: Option<usize> = self.meta("dim")?.and_then(|d| d.parse().ok());
        let mut sql = format!("DELETE FROM confab_rag_term WHERE index_id = {id} AND chunks <= 0;");
        if let Some(dim) = dim.filter(|d| (1..=16_000).contains(d)) {
            sql.push_str(&format!(
                "CREATE INDEX IF NOT EXISTS {hnsw} ON confab_rag_chunk
                 USING hnsw ((embedding::vector({dim})) vector_cosine_ops) WHERE index_id = {id};",
                hnsw = hnsw_name(id)
            ));
        }
        self.tx.batch_execute(&sql).map_err(query_error)?;
        self.tx.commit().map_err(query_error)?;
        Ok(None)
    }
}

/// A file's chunks as columns, for one multi-row insert.
struct ChunkColumns {
    start_lines: Vec<i32>,
    end_lines: Vec<i32>,
    headings: Vec<String>,
    texts: Vec<String>,
    tokens: Vec<i32>,
    words: Vec<i32>,
    terms: Vec<String>,
    embeddings: Vec<pgvector::Vector>,
}

impl ChunkColumns {
    fn of(chunks: &[NewChunk<'_>]) -> ChunkColumns {
        let int = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let mut columns = ChunkColumns {
            start_lines: Vec::with_capacity(chunks.len()),
            end_lines: Vec::with_capacity(chunks.len()),
            headings: Vec::with_capacity(chunks.len()),
            texts: Vec::with_capacity(chunks.len()),
            tokens: Vec::with_capacity(chunks.len()),
            words: Vec::with_capacity(chunks.len()),
            terms: Vec::with_capacity(chunks.len()),
            embeddings: Vec::with_capacity(chunks.len()),
        };
        for new in chunks {
            let chunk = new.chunk;
            let (literal, length) = terms::tsvector(&[
                (Field::Text, &chunk.text),
                (Field::Heading, &chunk.heading),
                (Field::Path, new.path),
            ]);
            columns.start_lines.push(int(chunk.start_line));
            columns.end_lines.push(int(chunk.end_line));
            // Postgres text cannot hold NUL.
            columns.headings.push(chunk.heading.replace('\0', ""));
            columns.texts.push(chunk.text.replace('\0', ""));
            columns.tokens.push(int(chunk.tokens));
            columns.words.push(int(length));
            columns.terms.push(literal);
            columns
                .embeddings
                .push(pgvector::Vector::from(new.vector.to_vec()));
        }
        columns
    }
}
