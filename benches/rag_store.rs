//! RAG in the team store at scale, against a real Postgres 16 with
//! pgvector (the pgserver wheel's, as the tests start it; skipped when
//! `CONFAB_PG_BIN` is not set, see scripts/test.sh): `confab rag query` on
//! an index of 1,000,000 chunks (set CONFAB_BENCH_RAG_CHUNKS for another
//! size), whole process, by vector (HNSW) and hybrid, and the HNSW
//! search's recall@10 against the exact scan, printed.
//!
//! The chunks are windows of 60 words over the repository's own Markdown
//! and Rust sources, embedded with the built-in embedder, and loaded with
//! COPY (loading a million chunks through `rag index` would measure
//! indexing, not querying). The words' document frequencies, the index's
//! totals and the HNSW index are then built by the same SQL `rag index`
//! uses. Issue #18's target: p50 <= 50 ms with HNSW.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use confab::rag::embed::{BuiltinEmbedder, Embedder};
use confab::rag::store::terms::{self, Field};
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../tests/support/mod.rs"]
mod support;

/// Words of the repository's Markdown and Rust files, in order.
fn source_words() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut words = Vec::new();
    for dir in ["src", "tests", "."] {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md" || e == "rs"))
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            words.extend(text.split_whitespace().map(str::to_string));
        }
    }
    words
}

/// Chunk `n`: 60 words from a pseudo-random place in `words`.
fn chunk_text(words: &[String], n: usize) -> String {
    let start = (n.wrapping_mul(2_654_435_761) >> 3) % (words.len() - 60);
    words[start..start + 60].join(" ")
}

/// A pgvector text literal.
fn vector_literal(vector: &[f32]) -> String {
    let values: Vec<String> = vector.iter().map(|v| format!("{v:.5}")).collect();
    format!("[{}]", values.join(","))
}

/// Loads `count` chunks into index `id` with COPY, then the bookkeeping
/// and the HNSW index.
fn load(client: &mut postgres::Client, id: i64, dim: usize, count: usize) {
    let words = source_words();
    client
        .batch_execute(&format!(
            "DELETE FROM confab_rag_chunk WHERE index_id = {id};
             DELETE FROM confab_rag_file WHERE index_id = {id};
             DELETE FROM confab_rag_term WHERE index_id = {id};"
        ))
        .expect("emptying the seed index");
    let started = Instant::now();
    let mut writer = client
        .copy_in(
            "COPY confab_rag_chunk (index_id, path, start_line, end_line, heading, text, tokens, words, terms, embedding) FROM STDIN",
        )
        .expect("COPY starts");
    let mut embedder = BuiltinEmbedder;
    for first in (0..count).step_by(10_000) {
        let texts: Vec<String> = (first..(first + 10_000).min(count))
            .map(|n| chunk_text(&words, n))
            .collect();
        let vectors = embedder.embed(&texts).expect("embedding");
        let mut buffer = String::new();
        for (offset, (text, vector)) in texts.iter().zip(&vectors).enumerate() {
            let n = first + offset;
            let path = format!("docs/{}/{}.md", n / 1000, n % 1000);
            let (literal, length) = terms::tsvector(&[(Field::Text, text), (Field::Path, &path)]);
            let escaped = text.replace('\\', "\\\\").replace('\t', " ");
            buffer.push_str(&format!(
                "{id}\t{path}\t1\t10\t\t{escaped}\t80\t{length}\t{}\t{}\n",
                literal.replace('\\', "\\\\"),
                vector_literal(vector)
            ));
        }
        writer.write_all(buffer.as_bytes()).expect("COPY data");
    }
    writer.finish().expect("COPY ends");
    eprintln!("loaded {count} chunks in {:.0?}", started.elapsed());
    let started = Instant::now();
    client
        .batch_execute(&format!(
            "INSERT INTO confab_rag_file (index_id, path, hash, bytes, chunks)
                 SELECT {id}, path, 'bench', 1000, count(*) FROM confab_rag_chunk
                 WHERE index_id = {id} GROUP BY path;
             INSERT INTO confab_rag_term (index_id, term, chunks)
                 SELECT {id}, u.lexeme, count(*) FROM confab_rag_chunk c
                 CROSS JOIN LATERAL unnest(c.terms) AS u WHERE c.index_id = {id} GROUP BY u.lexeme;
             UPDATE confab_rag_index SET chunks = t.n, words = t.w, tokens = t.t
                 FROM (SELECT count(*) AS n, sum(words) AS w, sum(tokens) AS t
                       FROM confab_rag_chunk WHERE index_id = {id}) t WHERE id = {id};
             SET maintenance_work_mem = '2GB';
             DROP INDEX IF EXISTS confab_rag_hnsw_{id};
             CREATE INDEX confab_rag_hnsw_{id} ON confab_rag_chunk
                 USING hnsw ((embedding::vector({dim})) vector_cosine_ops) WHERE index_id = {id};
             ANALYZE confab_rag_chunk;"
        ))
        .expect("bookkeeping and HNSW");
    eprintln!(
        "built the term counts and HNSW in {:.0?}",
        started.elapsed()
    );
}

/// HNSW's recall@10 against the exact scan, over `questions`: the share
/// of the approximate top 10 at least as near as the exact 10th. The
/// chunks are overlapping windows, so many are exact duplicates, and which
/// of a set of equal vectors the exact scan lists is arbitrary: a recall
/// by id would count an equally near duplicate as a miss.
/// `hnsw.ef_search` is 100, the least `rag query` uses.
fn recall_at_10(client: &mut postgres::Client, id: i64, dim: usize, questions: &[String]) -> f64 {
    let vectors = BuiltinEmbedder.embed(questions).expect("embedding");
    let top = |client: &mut postgres::Client, exact: bool, vector: &[f32]| -> Vec<f64> {
        let setting = if exact { "off" } else { "on" };
        client
            .batch_execute(&format!(
                "SET enable_indexscan = {setting}; SET hnsw.ef_search = 100"
            ))
            .expect("settings");
        let query = pgvector::Vector::from(vector.to_vec());
        client
            .query(
                &format!(
                    "SELECT (embedding::vector({dim}) <=> $1::vector({dim}))::float8 AS d
                     FROM confab_rag_chunk WHERE index_id = {id}
                     ORDER BY embedding::vector({dim}) <=> $1::vector({dim}) LIMIT 10"
                ),
                &[&query],
            )
            .expect("a search")
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let mut found = 0;
    for vector in &vectors {
        let exact = top(client, true, vector);
        let tenth = exact.last().copied().unwrap_or(f64::INFINITY);
        let approximate = top(client, false, vector);
        found += approximate.iter().filter(|d| **d <= tenth + 1e-6).count();
    }
    found as f64 / (10 * vectors.len()) as f64
}

fn rag_store(c: &mut Criterion) {
    if std::env::var_os("CONFAB_PG_BIN").is_none() {
        eprintln!("rag_store bench skipped: CONFAB_PG_BIN is not set (eval \"$(scripts/install-test-servers.sh)\")");
        return;
    }
    let count: usize = std::env::var("CONFAB_BENCH_RAG_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let server = support::postgres::PgServer::start();
    let home = tempfile::tempdir().expect("temp home");
    let confab = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(args)
            .current_dir(home.path())
            .env("CONFAB_HOME", home.path())
            .envs(server.store_env())
            .output()
            .expect("running confab");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    };
    // A real run creates the schema, the index and its embedder metadata.
    std::fs::write(home.path().join("seed.md"), "# Seed\n\nThe first chunk.\n").expect("seed");
    confab(&["rag", "index", "seed.md", "--name", "bench"]);
    let mut client = postgres::Config::new()
        .host("127.0.0.1")
        .port(server.port())
        .user(support::postgres::USER)
        .password(server.password())
        .dbname(support::postgres::USER)
        .connect(postgres::NoTls)
        .expect("connecting");
    let id: i64 = client
        .query_one("SELECT id FROM confab_rag_index WHERE name = 'bench'", &[])
        .expect("the index")
        .get(0);
    let dim = BuiltinEmbedder.dim().expect("a dimension");
    load(&mut client, id, dim, count);

    let questions: Vec<String> = [
        "how does the retry backoff handle a Retry-After header",
        "where are usage records written",
        "count tokens before sending a request",
        "the prompt injection screening of retrieved text",
        "pricing of cached input tokens",
        "what happens when the disk is full",
        "stream the reply to the terminal",
        "migrations under an advisory lock",
        "summarize the conversation before the context window fills",
        "approve a tool call with high impact",
    ]
    .map(String::from)
    .to_vec();
    let recall = recall_at_10(&mut client, id, dim, &questions);
    eprintln!("HNSW recall@10 against the exact scan at {count} chunks: {recall:.3}");

    let mut group = c.benchmark_group(format!("rag_store_{count}_chunks"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(20));
    for mode in ["vector", "hybrid"] {
        let mut at = 0;
        group.bench_function(format!("rag query --mode {mode} -k 5"), |b| {
            b.iter(|| {
                at = (at + 1) % questions.len();
                confab(&[
                    "rag",
                    "query",
                    &questions[at],
                    "--name",
                    "bench",
                    "--mode",
                    mode,
                    "-k",
                    "5",
                    "--json",
                ])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, rag_store);
criterion_main!(benches);
