//! The semantic response cache (`confab::cache::SemanticCache`) on its
//! SQLite file in a temp dir, in process (no confab binary, no network):
//!
//! - `lookup` of an exact repeat (an index lookup plus the hit's
//!   bookkeeping write), of a paraphrase hit (a stored question in other
//!   words, found by its content words' index), and of a paraphrase miss (a stored question's
//!   wording for another language: the semantic scan reads, decodes and
//!   compares the embedding of every live entry of the context, and the
//!   safety check rejects the few above the threshold), with 1,000 and
//!   10,000 entries all under ONE context: the worst case, where every
//!   entry is a candidate;
//! - `store` of a new entry into a full cache of 10,000 entries with
//!   `max_entries = 10_000`, so every store also evicts the least recently
//!   used entry.
//!
//! The entries are varied developer questions built from templates, verbs,
//! nouns and languages (deterministic), with replies of a few hundred
//! bytes to about 1.5 KB. Run with `cargo bench --bench cache`.

use std::collections::HashSet;
use std::time::Duration;

use confab::cache::{CacheKey, CacheSettings, CachedReply, HitKind, KeyInput, SemanticCache};
use confab::embed::static_embedder::{cosine, StaticEmbedder};
use confab::llm::Usage;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};

const TEMPLATES: &[&str] = &[
    "How do I {verb} a {noun} in {lang}?",
    "What's the fastest way to {verb} a {noun} in {lang}?",
    "In {lang}, how can I {verb} a {noun} without extra allocations?",
    "What is the idiomatic way to {verb} a {noun} in {lang}?",
    "Can you show me how to {verb} a {noun} with the {lang} standard library?",
    "Why is it so slow to {verb} a large {noun} in {lang}?",
    "Is there a built-in function to {verb} a {noun} in {lang}?",
    "Write a {lang} function that will {verb} a {noun} safely.",
];

const VERBS: &[&str] = &[
    "sort",
    "reverse",
    "deduplicate",
    "serialize",
    "parse",
    "validate",
    "iterate over",
    "flatten",
    "merge",
    "deep copy",
    "compare",
    "hash",
    "filter",
    "group",
    "paginate",
    "cache",
    "mock",
    "profile",
    "encrypt",
    "compress",
    "stream",
    "split",
    "transpose",
    "shuffle",
];

const NOUNS: &[&str] = &[
    "list of strings",
    "nested dictionary",
    "JSON document",
    "CSV file",
    "linked list",
    "binary tree",
    "hash map",
    "date string",
    "HTTP response body",
    "database query result",
    "config file",
    "log file",
    "byte buffer",
    "matrix of floats",
    "set of user ids",
    "queue of jobs",
    "directory tree",
    "YAML manifest",
    "unicode string",
    "priority queue",
    "graph of dependencies",
    "stream of events",
    "sorted array",
    "tuple of records",
    "environment variable list",
    "command line argument list",
    "XML payload",
    "protobuf message",
    "time series",
    "large text file",
];

const LANGS: &[&str] = &[
    "Python",
    "Rust",
    "Golang",
    "TypeScript",
    "Java",
    "Kotlin",
    "Ruby",
    "C#",
    "Swift",
    "Elixir",
    "Haskell",
    "Scala",
    "PHP",
    "Lua",
];

/// Question number `i` of the template space: `i` = template + verb,
/// noun and language digits, in that order from the least significant.
fn question(i: usize) -> String {
    let template = TEMPLATES[i % TEMPLATES.len()];
    let i = i / TEMPLATES.len();
    let verb = VERBS[i % VERBS.len()];
    let i = i / VERBS.len();
    let noun = NOUNS[i % NOUNS.len()];
    let lang = LANGS[i / NOUNS.len()];
    template
        .replace("{verb}", verb)
        .replace("{noun}", noun)
        .replace("{lang}", lang)
}

/// Every question index, in a fixed pseudo-random order.
fn shuffled_questions() -> Vec<usize> {
    let total = TEMPLATES.len() * VERBS.len() * NOUNS.len() * LANGS.len();
    let mut order: Vec<usize> = (0..total).collect();
    fastrand::Rng::with_seed(6).shuffle(&mut order);
    order
}

/// The key of `prompt`: the same context (provider, model, system prompt,
/// settings, no history) for every entry.
fn key(prompt: &str) -> CacheKey {
    CacheKey::new(&KeyInput {
        provider: "openai",
        model: "gpt-4o-mini",
        system: Some("You are a concise senior engineer. Answer with code when it helps."),
        temperature: Some(0.0),
        max_output_tokens: 1024,
        response_format: None,
        history: &[],
        prompt,
    })
}

fn reply(prompt: &str, i: usize) -> CachedReply {
    let paragraph = format!(
        "To answer \"{prompt}\": start from the standard library, keep the data \
         in one owned buffer, and measure before reaching for a crate. "
    );
    CachedReply {
        text: paragraph.repeat(2 + i % 6),
        model_reported: Some("gpt-4o-mini-2024-07-18".into()),
        finish_reason: Some("stop".into()),
        usage: Usage {
            input_tokens: 40 + (i % 200) as u64,
            output_tokens: 120 + (i % 400) as u64,
            ..Usage::default()
        },
    }
}

/// A cache in a fresh temp dir holding the questions `order[..entries]`.
fn filled(order: &[usize], entries: usize) -> (tempfile::TempDir, SemanticCache) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = CacheSettings {
        enabled: true,
        max_entries: 10_000,
        ..CacheSettings::default()
    };
    let (cache, warnings) = SemanticCache::open(dir.path(), &settings).expect("opening the cache");
    assert!(warnings.is_empty(), "{warnings:?}");
    for (n, &i) in order[..entries].iter().enumerate() {
        let prompt = question(i);
        cache
            .store(&key(&prompt), &reply(&prompt, n))
            .expect("storing");
    }
    assert_eq!(cache.stats().expect("stats").live_entries, entries as u64);
    (dir, cache)
}

/// A stored question of the first template ("How do I {verb} a {noun}
/// in {lang}?") in other words: "In {lang}, what's the way to {verb} a
/// {noun}?".
fn reworded(stored: &[usize]) -> String {
    let i = *stored
        .iter()
        .find(|&&i| i % TEMPLATES.len() == 0)
        .expect("a question of the first template");
    let i = i / TEMPLATES.len();
    let verb = VERBS[i % VERBS.len()];
    let i = i / VERBS.len();
    let noun = NOUNS[i % NOUNS.len()];
    let lang = LANGS[i / NOUNS.len()];
    format!("In {lang}, what's the way to {verb} a {noun}?")
}

/// A paraphrase miss for the cache holding the questions `stored`: a
/// stored question reworded for another language (a combination not
/// stored), close by embedding to at least 3 stored entries, so the
/// lookup scans every entry and runs the safety check on the near ones,
/// which rejects them all. Returns the key and the number of near entries.
fn paraphrase_miss(cache: &SemanticCache, stored: &[usize]) -> (CacheKey, usize) {
    let embedder = StaticEmbedder::builtin();
    let threshold = CacheSettings::default().threshold;
    let vectors: Vec<Vec<f32>> = stored
        .iter()
        .map(|&i| embedder.embed(key(&question(i)).prompt()))
        .collect();
    let is_stored: HashSet<usize> = stored.iter().copied().collect();
    let per_lang = TEMPLATES.len() * VERBS.len() * NOUNS.len();
    for &i in stored {
        for lang in 0..LANGS.len() {
            let other = i % per_lang + lang * per_lang;
            if is_stored.contains(&other) {
                continue;
            }
            let miss = key(&question(other));
            let query = embedder.embed(miss.prompt());
            let near = vectors
                .iter()
                .filter(|v| cosine(&query, v) >= threshold)
                .count();
            if near >= 3 && cache.lookup(&miss).expect("lookup").is_none() {
                return (miss, near);
            }
        }
    }
    panic!("no paraphrase miss with near entries");
}

fn bench(c: &mut Criterion) {
    let order = shuffled_questions();
    let mut group = c.benchmark_group("cache");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));

    for entries in [1_000, 10_000] {
        let (_dir, cache) = filled(&order, entries);

        let repeat = key(&question(order[entries / 2]));
        let hit = cache
            .lookup(&repeat)
            .expect("lookup")
            .expect("an exact hit");
        assert_eq!(hit.kind, HitKind::Exact);
        group.bench_with_input(
            BenchmarkId::new("lookup exact repeat", entries),
            &repeat,
            |b, k| b.iter(|| cache.lookup(k).expect("lookup")),
        );

        let reworded = key(&reworded(&order[..entries]));
        let hit = cache
            .lookup(&reworded)
            .expect("lookup")
            .expect("a paraphrase hit");
        assert_eq!(hit.kind, HitKind::SameQuestion, "{:?}", reworded.prompt());
        group.bench_with_input(
            BenchmarkId::new("lookup paraphrase hit", entries),
            &reworded,
            |b, k| b.iter(|| cache.lookup(k).expect("lookup")),
        );

        let (miss, near) = paraphrase_miss(&cache, &order[..entries]);
        eprintln!(
            "{entries} entries: the miss {:?} is near {near} of them",
            miss.prompt()
        );
        group.bench_with_input(
            BenchmarkId::new("lookup paraphrase miss", entries),
            &miss,
            |b, k| b.iter(|| cache.lookup(k).expect("lookup")),
        );
    }

    let entries = 10_000;
    let (_dir, cache) = filled(&order, entries);
    let mut next = entries;
    group.bench_function(BenchmarkId::new("store new (evicts LRU)", entries), |b| {
        b.iter_batched(
            || {
                // Questions not yet stored; past the end of the template
                // space, numbered variants of them.
                let n = next;
                next += 1;
                let mut prompt = question(order[n % order.len()]);
                if n >= order.len() {
                    prompt.push_str(&format!(" (case {n})"));
                }
                (key(&prompt), reply(&prompt, n))
            },
            |(k, r)| cache.store(&k, &r).expect("storing"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    assert_eq!(cache.stats().expect("stats").entries, entries as u64);
}

criterion_group!(benches, bench);
criterion_main!(benches);
