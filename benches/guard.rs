//! `guard::injection::screen` over 1 MB of ordinary developer text (the
//! benign corpus repeated), over 1 MB with an attack every few KB, over
//! 1 MB of random printable text and over 1 MB of disguises the screen
//! decodes (HTML references, percent-encoding, split and styled words),
//! and `guard::secrets::find_secrets` over the benign megabyte (the
//! target: well under 100 ms per MB in release, linear in the input).

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

/// `bytes` of random printable ASCII, spaces and newlines (seeded).
fn random_text(bytes: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(13);
    (0..bytes)
        .map(|_| match rng.u8(0..100) {
            0..=14 => ' ',
            15 => '\n',
            _ => rng.u8(0x21..0x7f) as char,
        })
        .collect()
}

/// `bytes` of the disguises the screen undoes, over and over.
fn disguised_text(bytes: usize) -> String {
    let pieces = [
        "&#105;&#103;&#110; %69%67%6E ",
        "i.g.n.o.r.e a-b-c-d-e ",
        "Ｉｇｎｏｒｅ Іgnоrе ",
        "ig\u{ad}no\u{200b}re ",
        "![x][r] [r]: https://e.example/?q=1 ",
    ];
    let mut out = String::with_capacity(bytes + 64);
    while out.len() < bytes {
        for piece in pieces {
            out.push_str(piece);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let benign = corpus_text("benign.jsonl", 1 << 20);
    let mut mixed = benign.clone();
    let attacks = corpus_text("attacks.jsonl", 1 << 16);
    mixed.push_str(&attacks);
    let random = random_text(1 << 20);
    let disguised = disguised_text(1 << 20);
    let mut group = c.benchmark_group("guard");
    group.sample_size(20);
    for (name, text) in [
        ("screen 1 MB benign", &benign),
        ("screen 1 MB with attacks", &mixed),
        ("screen 1 MB random", &random),
        ("screen 1 MB disguised", &disguised),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| confab::guard::injection::screen(text)));
    }
    group.throughput(Throughput::Bytes(benign.len() as u64));
    group.bench_function("secrets 1 MB benign", |b| {
        b.iter(|| confab::guard::secrets::find_secrets(&benign))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
