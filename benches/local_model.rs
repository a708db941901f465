//! The built-in local model's speed (#22 asks for at least 40 tokens/s
//! generated for SmolLM2-135M on the 2-core CI machine, portable build):
//! prompt processing and generation measured apart, in tokens per
//! second, with the model installed from `CONFAB_LOCAL_GGUF` (set by
//! `scripts/install-test-servers.sh`) and converted to Q8_0 as
//! `confab models pull` does. Prints the rates once, then lets criterion
//! time a short greedy reply.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use confab::local::runtime::{GenerateOptions, LocalModel};
use confab::local::{catalog, chatml, install};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn local_model(c: &mut Criterion) {
    let Some(gguf) = std::env::var_os("CONFAB_LOCAL_GGUF") else {
        eprintln!("skipping: CONFAB_LOCAL_GGUF is unset (scripts/install-test-servers.sh sets it)");
        return;
    };
    let cache = tempfile::tempdir().expect("a temporary cache dir");
    let installed = install::install_from(
        cache.path(),
        catalog::DEFAULT,
        std::path::Path::new(&gguf),
        &mut |_, _| {},
    )
    .expect("installing the model");
    let started = std::time::Instant::now();
    let mut model = LocalModel::load(&installed).expect("loading the model");
    eprintln!(
        "load: {:.2} s, threads: {}",
        started.elapsed().as_secs_f64(),
        LocalModel::threads()
    );
    let request = confab::llm::ChatRequest {
        messages: vec![confab::llm::Message::new(
            confab::llm::Role::User,
            "Write a short story about a lighthouse keeper who finds a message in a bottle. \
             Describe the sea, the weather and what the message says.",
        )],
        ..Default::default()
    };
    let prompt = model.encode(&chatml::render(&request)).expect("encoding");
    let options = GenerateOptions {
        max_tokens: 128,
        temperature: Some(0.0),
        seed: 1,
    };
    let cancel = AtomicBool::new(false);
    let run = model
        .generate(&prompt, options, &cancel, &mut |_| {})
        .expect("generating");
    eprintln!(
        "prompt: {} tokens, {:.1} tokens/s; generated: {} tokens, {:.1} tokens/s",
        run.prompt_tokens,
        run.prompt_tokens as f64 / run.prompt_time.as_secs_f64(),
        run.output_tokens,
        run.output_tokens as f64 / run.generation_time.as_secs_f64(),
    );
    let short = GenerateOptions {
        max_tokens: 32,
        ..options
    };
    let mut group = c.benchmark_group("local_model");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(32));
    group.bench_function("smollm2-135m prompt + 32 tokens", |b| {
        b.iter(|| {
            model
                .generate(&prompt, short, &cancel, &mut |_| {})
                .expect("generating")
        })
    });
    group.finish();
}

criterion_group!(benches, local_model);
criterion_main!(benches);
