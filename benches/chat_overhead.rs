//! What a chat call costs over the network's own time: the whole
//! `confab chat` process against a local server, next to `curl` making
//! the same streamed request to the same server (#12 asks for at most
//! 5 ms more, median). The server is the test suite's fake provider,
//! answering every request with the same short stream.

#[path = "../tests/support/fake_batches.rs"]
mod fake_batches;
#[path = "../tests/support/fake_provider.rs"]
mod fake_provider;

use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use fake_provider::{FakeProvider, Reply};

fn chat_call(c: &mut Criterion) {
    let server = FakeProvider::start_with_responder(|_| {
        Reply::openai_stream("gpt-4o-mini", &["Hello", " there", "."], Some((9, 3)))
    });
    let home = tempfile::tempdir().expect("a temporary CONFAB_HOME");
    let base_url = format!("{}/v1", server.base_url());
    let body = serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 4096,
        "stream": true,
        "stream_options": {"include_usage": true},
    })
    .to_string();
    let mut group = c.benchmark_group("chat_call_streamed");
    group.sample_size(40);
    group.bench_function("confab chat", |b| {
        b.iter(|| {
            let output = Command::new(env!("CARGO_BIN_EXE_confab"))
                .args(["chat", "-m", "gpt-4o-mini", "hi"])
                .env_clear()
                .env("CONFAB_HOME", home.path())
                .env("OPENAI_API_KEY", "k")
                .env("OPENAI_BASE_URL", &base_url)
                .output()
                .expect("running confab");
            assert!(output.status.success(), "{output:?}");
        })
    });
    group.bench_function("curl (the same request)", |b| {
        b.iter(|| {
            let output = Command::new("curl")
                .args(["-sSN", "--fail", "-o", "/dev/null"])
                .args(["-H", "authorization: Bearer k"])
                .args(["-H", "content-type: application/json"])
                .args(["-H", "accept: text/event-stream"])
                .args(["--data-binary", &body])
                .arg(format!("{base_url}/chat/completions"))
                .output()
                .expect("running curl");
            assert!(output.status.success(), "{output:?}");
        })
    });
    group.finish();
}

criterion_group!(benches, chat_call);
criterion_main!(benches);
