//! What Markdown rendering adds while a reply streams (#16): the cost of
//! one chunk (a realistic 2 KB reply with a 40-line Rust code block, fed
//! in 4 to 16 byte chunks, as providers send them), prose without code,
//! and the one-time load of syntect's syntaxes and theme, which happens
//! only when a reply's first code block appears (the grammar of a language
//! loads on its first line).

use std::time::{Duration, Instant};

use confab::term::markdown::{CodeHighlighter, ColourDepth, MarkdownRenderer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A reply like a model's: headings, a list, a table, a 40-line code block.
fn reply() -> String {
    let mut text = String::from(
        "## Reading a config file\n\n\
         Here is how to **load** a file with `serde` and report *every* error, \
         as the [serde docs](https://serde.rs) suggest:\n\n\
         - parse with `toml::from_str`\n\
         - add context with `anyhow`\n\
         - keep defaults in one place\n\n\
         | crate | purpose | since |\n\
         |:------|:--------|------:|\n\
         | serde | derive  | 1.0 |\n\
         | toml  | parser  | 0.8 |\n\
         | anyhow | errors | 1.0 |\n\n\
         ```rust\n",
    );
    for i in 0..40 {
        text.push_str(&format!(
            "    let value_{i}: Option<u32> = map.get(\"key_{i}\").map(|v| v.len() as u32); // {i}\n"
        ));
    }
    text.push_str(
        "```\n\n> Note: the *order* of layers matters.\n\n\
         That is all; ask if you want the tests too.\n",
    );
    text
}

/// `text` cut into chunks of 4 to 16 bytes (at character boundaries).
fn chunks(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut size = 4;
    while start < text.len() {
        let mut end = (start + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&text[start..end]);
        start = end;
        size = 4 + (size * 7 + 3) % 13;
    }
    pieces
}

fn render(code: &CodeHighlighter, pieces: &[&str]) -> usize {
    let mut renderer = MarkdownRenderer::new(ColourDepth::TrueColour, code.clone());
    let mut shown = 0;
    for piece in pieces {
        shown += renderer.push(piece).len();
    }
    shown + renderer.finish().len()
}

/// The slowest single chunk of one pass, for the "no visible lag" claim.
fn slowest_chunk(code: &CodeHighlighter, pieces: &[&str]) -> Duration {
    let mut renderer = MarkdownRenderer::new(ColourDepth::TrueColour, code.clone());
    pieces
        .iter()
        .map(|piece| {
            let started = Instant::now();
            std::hint::black_box(renderer.push(piece));
            started.elapsed()
        })
        .max()
        .unwrap_or_default()
}

fn markdown(c: &mut Criterion) {
    let text = reply();
    let pieces = chunks(&text);
    let prose: String = text.lines().take(14).map(|l| format!("{l}\n")).collect();
    let prose_pieces = chunks(&prose);
    let code = CodeHighlighter::new();
    code.preload();
    eprintln!(
        "reply: {} bytes in {} chunks; slowest chunk of a pass: {:?}",
        text.len(),
        pieces.len(),
        (0..20)
            .map(|_| slowest_chunk(&code, &pieces))
            .min()
            .unwrap_or_default()
    );

    let mut group = c.benchmark_group("markdown");
    group.throughput(Throughput::Elements(pieces.len() as u64));
    group.bench_function("reply_with_code_per_chunk", |b| {
        b.iter(|| render(&code, &pieces))
    });
    group.throughput(Throughput::Elements(prose_pieces.len() as u64));
    group.bench_function("prose_per_chunk", |b| {
        b.iter(|| render(&code, &prose_pieces))
    });
    group.finish();

    let mut load = c.benchmark_group("markdown_load");
    load.sample_size(10);
    load.bench_function("syntect_syntaxes_and_theme", |b| {
        b.iter(|| CodeHighlighter::new().preload())
    });
    // The set loads each syntax when it is first used: the first Rust
    // line of a session pays for the Rust grammar.
    load.bench_function("first_rust_code_line", |b| {
        b.iter(|| render(&CodeHighlighter::new(), &["```rust\nfn main() {}\n```\n"]))
    });
    load.finish();
}

criterion_group!(benches, markdown);
criterion_main!(benches);
