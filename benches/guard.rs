//! `guard::injection::screen` over 1 MB of ordinary developer text (the
//! benign corpus repeated) and over 1 MB with an attack every few KB (the
//! target: well under 100 ms per MB in release).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The `text` fields of a corpus, repeated until `bytes` long.
fn corpus_text(name: &str, bytes: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/guard")
        .join(name);
    let lines = std::fs::read_to_string(&path).expect("reading the guard corpus");
    let texts: Vec<String> = lines
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(String::from))
        .collect();
    let mut out = String::with_capacity(bytes + 4096);
    while out.len() < bytes {
        for text in &texts {
            out.push_str(text);
            out.push_str("\n\n");
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let benign = corpus_text("benign.jsonl", 1 << 20);
    let mut mixed = benign.clone();
    let attacks = corpus_text("attacks.jsonl", 1 << 16);
    mixed.push_str(&attacks);
    let mut group = c.benchmark_group("guard");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(benign.len() as u64));
    group.bench_function("screen 1 MB benign", |b| {
        b.iter(|| confab::guard::injection::screen(&benign))
    });
    group.throughput(Throughput::Bytes(mixed.len() as u64));
    group.bench_function("screen 1 MB with attacks", |b| {
        b.iter(|| confab::guard::injection::screen(&mixed))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
