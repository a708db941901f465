//! Model limits learned from the server that serves the model (#11):
//! LiteLLM/LM Studio/vLLM model lists, llama.cpp's `/props`, Ollama's
//! `/api/show`; config overrides winning; answers cached per TTL; a server
//! that does not answer costing one short request and never a failed chat.

mod support;

use std::time::Duration;

use predicates::prelude::*;
use serde_json::json;
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome};

/// A JSON reply for a side route.
fn json_reply(body: serde_json::Value) -> Reply {
    Reply::raw(
        200,
        &[("content-type", "application/json")],
        &[&body.to_string()],
    )
}

/// A prompt of about `tokens` o200k/cl100k tokens.
fn prompt_of(tokens: usize) -> String {
    "word ".repeat(tokens)
}

#[test]
fn a_litellm_model_list_lets_a_prompt_through_that_the_default_would_refuse() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "mock-llm",
        &["ok"],
        Some((12_000, 1)),
    )]);
    fake.route(
        "GET",
        "/v1/models",
        Reply::openai_model_list(&[(
            "mock-llm",
            json!({"mode": "chat", "max_input_tokens": 128_000, "max_output_tokens": 16_384}),
        )]),
    );
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-m", "mock-llm"])
        .write_stdin(prompt_of(12_000))
        .output()
        .expect("confab runs");
    support::assert_success(&output);
    assert!(
        !stderr_of(&output).contains("assuming"),
        "no assumption when the server said: {}",
        stderr_of(&output)
    );
    assert_eq!(fake.requests().len(), 1);
    let probes = fake.side_requests();
    assert_eq!(probes.len(), 1, "the list answered: nothing more asked");
    assert_eq!(probes[0].path, "/v1/models");
    assert_eq!(
        probes[0].header("authorization"),
        Some("Bearer test-openai-key"),
        "the list is asked with the provider's key"
    );

    // The same prompt with discovery off is refused on the assumed window.
    let off = TempHome::new();
    off.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\ndiscover_limits = false\n",
    );
    off.confab_openai(&fake.base_url())
        .args(["chat", "-m", "mock-llm"])
        .write_stdin(prompt_of(12_000))
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "assuming a 8192-token context window",
        ));
    assert_eq!(fake.requests().len(), 1, "nothing sent");
}

#[test]
fn llama_cpp_props_context_stops_a_prompt_the_server_would_reject() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream("gemma.gguf", &["fine"], None)]);
    fake.route(
        "GET",
        "/v1/models",
        Reply::openai_model_list(&[(
            "gemma.gguf",
            json!({"owned_by": "llamacpp", "meta": {"n_ctx_train": 32_768, "n_vocab": 262_144}}),
        )]),
    );
    fake.route(
        "GET",
        "/props",
        json_reply(json!({"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1})),
    );
    home.confab_openai(&fake.base_url())
        .args(["chat", "-m", "gemma.gguf", "--max-tokens", "256"])
        .write_stdin(prompt_of(5_000))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("4096"));
    assert!(fake.requests().is_empty(), "nothing sent past n_ctx");

    // A prompt that fits the slot goes through, and the props were cached.
    home.confab_openai(&fake.base_url())
        .args(["chat", "-m", "gemma.gguf", "--max-tokens", "256"])
        .write_stdin(prompt_of(2_000))
        .assert()
        .success()
        .stdout("fine\n");
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(
        fake.side_requests().len(),
        2,
        "the list and /props, asked once for both runs"
    );

    let shown = home
        .confab_openai(&fake.base_url())
        .args(["models", "--json"])
        .output()
        .expect("confab runs");
    let rows: serde_json::Value = support::success_json(&shown);
    let row = &rows[0];
    assert_eq!(row["model"], "gemma.gguf");
    assert_eq!(row["context_window"], 4096);
    assert!(row["window_source"]
        .as_str()
        .is_some_and(|s| s.contains("/props")));
}

#[test]
fn ollama_show_num_ctx_is_the_window() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![]);
    fake.route(
        "GET",
        "/v1/models",
        Reply::openai_model_list(&[("llama3.2:latest", json!({"owned_by": "library"}))]),
    );
    fake.route(
        "POST",
        "/api/show",
        json_reply(json!({
            "parameters": "stop \"<|eot_id|>\"\nnum_ctx 2048",
            "model_info": {"general.architecture": "llama", "llama.context_length": 131_072},
        })),
    );
    home.confab_openai(&fake.base_url())
        .args(["chat", "-m", "llama3.2", "--max-tokens", "100"])
        .write_stdin(prompt_of(3_000))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("2048"));
    let show = fake
        .side_requests()
        .into_iter()
        .find(|r| r.path == "/api/show")
        .expect("/api/show asked");
    assert_eq!(show.json()["model"], "llama3.2");
}

#[test]
fn config_overrides_win_and_nothing_is_asked() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![]);
    fake.route(
        "GET",
        "/v1/models",
        Reply::openai_model_list(&[("mock-llm", json!({"max_input_tokens": 128_000}))]),
    );
    home.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\n\
         [models.\"mock-llm\"]\ncontext_window = 1000\nmax_output_tokens = 100\n",
    );
    home.confab_openai(&fake.base_url())
        .args(["chat", "-m", "mock-llm"])
        .write_stdin(prompt_of(2_000))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("1000"));
    assert!(fake.side_requests().is_empty());
}

#[test]
fn a_server_that_does_not_answer_costs_one_short_request_and_never_the_chat() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("slow-list", &["one"], None),
        Reply::openai_stream("slow-list", &["two"], None),
    ]);
    fake.route(
        "GET",
        "/v1/models",
        Reply::openai_model_list(&[("slow-list", json!({"max_model_len": 64}))])
            .with_delay_before_first_byte(Duration::from_secs(20)),
    );
    for expected in ["one\n", "two\n"] {
        home.confab_openai(&fake.base_url())
            .args(["chat", "-m", "slow-list", "hi"])
            .assert()
            .success()
            .stdout(expected.to_string())
            .stderr(predicate::str::contains("assuming"));
    }
    assert_eq!(
        fake.side_requests().len(),
        1,
        "one probe, then the cached 'no answer' until its TTL"
    );
}
