//! The usage log the cost-report and store benchmarks read: 1,000,000
//! realistic records (several models and providers, tags, conversations,
//! a year of timestamps), generated once into `bench-data/usage-1m.jsonl`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use confab::usage::{CallOutcome, UsageRecord, UsageSource, RECORD_VERSION};

/// Records in the log.
pub const RECORDS: usize = 1_000_000;

/// Writes `RECORDS` usage records to `path` (deterministic).
fn generate(path: &Path) {
    let models = [
        ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("openai", "gpt-4o", "gpt-4o-2024-08-06"),
        ("openai", "gpt-4.1", "gpt-4.1-2025-04-14"),
        (
            "anthropic",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929",
        ),
        ("ollama", "llama3.2", "llama3.2"),
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let file = std::fs::File::create(path).expect("creating the usage log");
    let mut out = BufWriter::new(file);
    for i in 0..RECORDS {
        let (provider, requested, reported) = models[rng.usize(..models.len())];
        let record = UsageRecord {
            v: RECORD_VERSION,
            ts: format!(
                "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                rng.u32(1..=11),
                rng.u32(1..=28),
                rng.u32(0..24),
                rng.u32(0..60),
                rng.u32(0..60),
                rng.u32(0..1_000_000)
            ),
            call_id: format!("{:016x}", rng.u64(..)),
            conversation_id: Some(format!("20261127-101500-{:04x}", i % 5000)),
            command: if rng.u8(..10) == 0 {
                "rag query"
            } else {
                "chat"
            }
            .into(),
            provider: provider.into(),
            host: "api.example.com".into(),
            model_requested: requested.into(),
            model_reported: Some(reported.into()),
            input_tokens: rng.u64(10..100_000),
            cached_input_tokens: rng.u64(0..5_000),
            cache_write_tokens: 0,
            cache_write_hour_tokens: 0,
            output_tokens: rng.u64(1..4_000),
            reasoning_tokens: 0,
            usage_source: if rng.u8(..20) == 0 {
                UsageSource::Local
            } else {
                UsageSource::Api
            },
            latency_ms: rng.u64(100..20_000),
            ttft_ms: Some(rng.u64(50..3_000)),
            retries: u32::from(rng.u8(..20) == 0),
            status: Some(200),
            response_id: None,
            finish_reason: None,
            operation: None,
            preset: None,
            tier: None,
            batch_id: None,
            error_kind: None,
            outcome: if rng.u8(..50) == 0 {
                CallOutcome::Error
            } else {
                CallOutcome::Ok
            },
            tags: if rng.u8(..3) == 0 {
                vec!["ci".into()]
            } else {
                Vec::new()
            },
            prompt: None,
            cache_match: None,
        };
        serde_json::to_writer(&mut out, &record).expect("writing a record");
        out.write_all(b"\n").expect("writing a record");
    }
    out.flush().expect("flushing the usage log");
}

/// The log's path, generated on first use.
pub fn usage_log() -> PathBuf {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench-data/usage-1m.jsonl"
    ));
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("bench-data");
        eprintln!("generating {} ({RECORDS} records)...", path.display());
        generate(&path);
    }
    path
}
