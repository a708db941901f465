//! `confab rag` speed, whole process: indexing MB/s of Markdown with the
//! built-in embedder, and hybrid query latency (k=5) on the index it built.
//! The corpus is generated into `bench-data/rag-md/` from
//! `bench-data/corpus.txt` (`scripts/make-corpus.sh`), cut into Markdown
//! files with headings; set CONFAB_BENCH_RAG_MB to choose its size
//! (default 24).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn corpus_dir() -> (PathBuf, u64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-data");
    let megabytes: usize = std::env::var("CONFAB_BENCH_RAG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let dir = root.join(format!("rag-md-{megabytes}"));
    if !dir.exists() {
        let source = std::fs::read(root.join("corpus.txt"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|_| include_str!("../README.md").repeat(2000));
        std::fs::create_dir_all(&dir).expect("corpus dir");
        let mut written = 0;
        let mut file = 0;
        let lines: Vec<&str> = source.lines().collect();
        let mut at = 0;
        while written < megabytes << 20 && at < lines.len() {
            let mut doc = format!("# Document {file}\n\n");
            let mut section = 0;
            while doc.len() < 16 << 10 && at < lines.len() {
                if at % 40 == 0 {
                    section += 1;
                    doc.push_str(&format!("\n## Section {section}\n\n"));
                }
                doc.push_str(lines[at]);
                doc.push('\n');
                at += 1;
            }
            written += doc.len();
            std::fs::write(dir.join(format!("doc{file:05}.md")), doc).expect("writing a doc");
            file += 1;
        }
    }
    let bytes = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    (dir, bytes)
}

fn rag(c: &mut Criterion) {
    let binary = env!("CARGO_BIN_EXE_confab");
    let (dir, bytes) = corpus_dir();
    let mut group = c.benchmark_group("rag");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("index markdown (builtin embedder)", |b| {
        b.iter(|| {
            let home = tempfile::tempdir().expect("temp home");
            let status = Command::new(binary)
                .args(["rag", "index"])
                .arg(&dir)
                .env("CONFAB_HOME", home.path())
                .output()
                .expect("running confab");
            assert!(status.status.success());
        })
    });
    group.finish();

    let home = tempfile::tempdir().expect("temp home");
    let output = Command::new(binary)
        .args(["rag", "index"])
        .arg(&dir)
        .env("CONFAB_HOME", home.path())
        .output()
        .expect("running confab");
    assert!(output.status.success());
    let stats = Command::new(binary)
        .args(["rag", "stats"])
        .env("CONFAB_HOME", home.path())
        .output()
        .expect("running confab");
    eprintln!("{}", String::from_utf8_lossy(&stats.stdout));
    let mut group = c.benchmark_group("rag_query");
    group.sample_size(30);
    for mode in ["hybrid", "vector", "bm25"] {
        group.bench_function(format!("{mode} k=5, whole process"), |b| {
            b.iter(|| {
                let output = Command::new(binary)
                    .args([
                        "rag",
                        "query",
                        "how to configure the thread pool size",
                        "-k",
                        "5",
                        "--mode",
                        mode,
                    ])
                    .env("CONFAB_HOME", home.path())
                    .output()
                    .expect("running confab");
                assert!(output.status.success());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, rag);
criterion_main!(benches);
