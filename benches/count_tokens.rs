//! Token-counting speed: MB/s on a mixed corpus of code and prose with 1
//! and 2 threads, next to tiktoken-rs (the reference) in the same run; the
//! cost of creating an encoder; the whole-process time of counting a
//! 10-byte string with the release binary; and text with no spaces (one
//! pre-tokenizer piece) from 16 KiB to 4 MiB, where linear counting keeps
//! the same MB/s at every size (tiktoken-rs, quadratic there, at 16 KiB).
//!
//! Make the corpus first with `scripts/make-corpus.sh` (>= 50 MB from
//! files on the machine); without it a generated 8 MB stand-in is used.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use confab::tokens::Encoding;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn corpus() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/bench-data/corpus.txt");
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => {
            eprintln!("{path} is missing (run scripts/make-corpus.sh); using a generated stand-in");
            let code = include_str!("../src/tokens/pretokenize.rs");
            let prose = include_str!("../README.md");
            let mut text = String::new();
            while text.len() < 8 << 20 {
                text.push_str(code);
                text.push_str(prose);
            }
            text
        }
    }
}

fn throughput(c: &mut Criterion) {
    let text = corpus();
    let mut group = c.benchmark_group("o200k_mixed_corpus");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        group.bench_with_input(BenchmarkId::new("confab", threads), &text, |b, text| {
            b.iter(|| pool.install(|| Encoding::O200kBase.count_parallel(black_box(text))))
        });
    }
    let reference = tiktoken_rs::o200k_base().expect("reference");
    group.bench_with_input(BenchmarkId::new("tiktoken-rs", 1), &text, |b, text| {
        b.iter(|| reference.encode_ordinary(black_box(text)).len())
    });
    group.finish();
}

fn encoder_creation(c: &mut Criterion) {
    let mut group = c.benchmark_group("create_o200k_encoder_and_count_10_bytes");
    group.sample_size(10);
    group.bench_function("confab", |b| {
        b.iter(|| Encoding::O200kBase.count(black_box("0123456789")))
    });
    group.bench_function("tiktoken-rs", |b| {
        b.iter(|| {
            tiktoken_rs::o200k_base()
                .expect("reference")
                .encode_ordinary(black_box("0123456789"))
                .len()
        })
    });
    group.finish();
}

fn whole_process(c: &mut Criterion) {
    let binary = env!("CARGO_BIN_EXE_confab");
    let mut group = c.benchmark_group("process_count_10_bytes");
    group.sample_size(50);
    group.bench_function("confab count-tokens --text", |b| {
        b.iter(|| {
            let output = Command::new(binary)
                .args(["count-tokens", "--text", "0123456789"])
                .output()
                .expect("running confab");
            assert!(output.status.success());
        })
    });
    group.bench_function("true (a trivial process)", |b| {
        b.iter(|| Command::new("true").output().expect("running true"))
    });
    group.finish();
}

/// Random lowercase letters: minified code and Base64 blobs look like this
/// to the pre-tokenizer, one piece as long as the text.
fn unbroken_letters(len: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(1);
    (0..len).map(|_| rng.lowercase()).collect()
}

fn unbroken_piece(c: &mut Criterion) {
    let mut group = c.benchmark_group("unbroken_piece");
    group.sample_size(10);
    for len in [16 << 10, 1 << 20, 4 << 20] {
        let text = unbroken_letters(len);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("confab", len), &text, |b, text| {
            b.iter(|| Encoding::O200kBase.count(black_box(text)))
        });
    }
    let text = unbroken_letters(16 << 10);
    let reference = tiktoken_rs::o200k_base().expect("reference");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("tiktoken-rs", text.len()),
        &text,
        |b, text| b.iter(|| reference.encode_ordinary(black_box(text)).len()),
    );
    group.finish();
}

criterion_group!(
    benches,
    throughput,
    encoder_creation,
    whole_process,
    unbroken_piece
);
criterion_main!(benches);
