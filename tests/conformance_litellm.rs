//! Conformance against a server nobody here wrote: LiteLLM's proxy (PyPI,
//! pinned in scripts/litellm-requirements.txt), configured the way its docs
//! say, with `mock_response` models on its OpenAI route
//! (`/v1/chat/completions`) and its Anthropic route (`/v1/messages`).
//! confab is pointed at it with only the variables the official SDKs
//! document: `OPENAI_BASE_URL` (with `/v1`) and `ANTHROPIC_BASE_URL` (the
//! host root).
//!
//! The proxy is started once, on 127.0.0.1, in a temporary home, and every
//! case runs against it in turn inside one test, so that the process is
//! always stopped at the end. `scripts/test.sh` installs it and sets
//! `CONFAB_LITELLM`; without it this test fails and says so.

mod support;

use std::time::Duration;

use support::real_server::{required_path, RealServer};
use support::{stderr_of, success_json, TempHome};

/// The proxy's master key: the only key it accepts.
const MASTER_KEY: &str = "sk-confab-conformance";
/// What the mock models answer.
const GPT_REPLY: &str = "Hello from LiteLLM's mock.";
const CLAUDE_REPLY: &str = "Hello from the Anthropic route.";
const RESPONSES_REPLY: &str = "Hello from the Responses route.";

/// The proxy's config, as LiteLLM's docs write one: models with
/// `litellm_params` (`mock_response` answers without calling anyone) and
/// `model_info` limits, a master key, no database.
fn proxy_config() -> String {
    format!(
        r#"model_list:
  - model_name: mock-gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-unused
      mock_response: "{GPT_REPLY}"
    model_info:
      max_input_tokens: 128000
      max_output_tokens: 16384
  - model_name: mock-claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: sk-unused
      mock_response: "{CLAUDE_REPLY}"
  - model_name: mock-o4
    litellm_params:
      model: openai/o4-mini
      api_key: sk-unused
      mock_response: "{RESPONSES_REPLY}"
  - model_name: mock-limited
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-unused
      mock_response: "litellm.RateLimitError"
general_settings:
  master_key: {MASTER_KEY}
litellm_settings:
  telemetry: false
  num_retries: 0
"#
    )
}

/// Starts the proxy with [`proxy_config`], as its docs say to run it.
fn start_proxy() -> RealServer {
    let litellm = required_path("CONFAB_LITELLM", "scripts/test.sh");
    let config = proxy_config();
    RealServer::start(
        "LiteLLM's proxy",
        &litellm,
        &[
            "--config",
            "{home}/litellm.yaml",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        &[("litellm.yaml", &config)],
        &[
            ("LITELLM_TELEMETRY", "False"),
            ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
            ("LITELLM_LOG", "ERROR"),
        ],
        "/health/liveliness",
        Duration::from_secs(180),
    )
}

/// confab with only the OpenAI SDK's variables set.
fn openai_confab(home: &TempHome, proxy: &RealServer) -> assert_cmd::Command {
    let mut cmd = home.confab();
    cmd.env("OPENAI_API_KEY", MASTER_KEY)
        .env("OPENAI_BASE_URL", format!("{}/v1", proxy.root()));
    cmd
}

/// confab with only the Anthropic SDK's variables set.
fn anthropic_confab(home: &TempHome, proxy: &RealServer) -> assert_cmd::Command {
    let mut cmd = home.confab();
    cmd.env("ANTHROPIC_API_KEY", MASTER_KEY)
        .env("ANTHROPIC_BASE_URL", proxy.root());
    cmd
}

#[test]
fn litellm_proxy_conformance() {
    let proxy = start_proxy();
    openai_route_streamed_and_not(&proxy);
    anthropic_route_streamed_and_not(&proxy);
    limits_come_from_the_proxy(&proxy);
    continuing_a_conversation(&proxy);
    attachments_and_cache_markers_are_accepted(&proxy);
    responses_and_thinking_requests_are_accepted(&proxy);
    error_responses_are_reported_and_retried_by_the_rules(&proxy);
}

fn openai_route_streamed_and_not(proxy: &RealServer) {
    for no_stream in [false, true] {
        let home = TempHome::new();
        let mut cmd = openai_confab(&home, proxy);
        cmd.args(["chat", "-m", "mock-gpt", "--json", "say hello"]);
        if no_stream {
            cmd.arg("--no-stream");
        }
        let report = success_json(&cmd.output().expect("confab runs"));
        assert_eq!(report["text"], GPT_REPLY, "no_stream={no_stream}");
        let usage = home.usage_records();
        assert_eq!(usage.len(), 1);
        let record = &usage[0];
        assert_eq!(record["outcome"], "ok");
        assert_eq!(record["status"], 200);
        assert_eq!(record["provider"], "openai");
        assert_eq!(record["model_requested"], "mock-gpt");
        assert_eq!(record["usage_source"], "api", "LiteLLM reports usage");
        assert!(record["input_tokens"].as_u64().is_some_and(|n| n > 0));
        assert!(record["output_tokens"].as_u64().is_some_and(|n| n > 0));
    }
}

fn anthropic_route_streamed_and_not(proxy: &RealServer) {
    for no_stream in [false, true] {
        let home = TempHome::new();
        let mut cmd = anthropic_confab(&home, proxy);
        cmd.args(["chat", "-m", "anthropic:mock-claude", "--json", "hi"]);
        if no_stream {
            cmd.arg("--no-stream");
        }
        let output = cmd.output().expect("confab runs");
        let report = success_json(&output);
        assert_eq!(report["text"], CLAUDE_REPLY, "no_stream={no_stream}");
        let record = &home.usage_records()[0];
        assert_eq!(record["outcome"], "ok");
        assert_eq!(record["provider"], "anthropic");
        assert_eq!(record["usage_source"], "api");
        assert!(record["input_tokens"].as_u64().is_some_and(|n| n > 0));
    }
}

/// The proxy's Responses route (`/v1/responses`) takes confab's stateless
/// reasoning request and its whole reply reads back; a stream its mock
/// cannot make (LiteLLM answers a plain `data: {"error": ...}` line) is a
/// provider error, not an empty reply. Its Anthropic route takes a
/// thinking budget.
fn responses_and_thinking_requests_are_accepted(proxy: &RealServer) {
    let home = TempHome::new();
    home.write(
        "config.toml",
        format!(
            "[providers.proxy]\nkind = \"openai-responses\"\nbase_url = \"{}/v1\"\napi_key_env = \"OPENAI_API_KEY\"\n",
            proxy.root()
        ),
    );
    let run = |stream: bool| {
        let mut cmd = openai_confab(&home, proxy);
        cmd.args([
            "chat",
            "-m",
            "proxy:mock-o4",
            "--reasoning-effort",
            "low",
            "--json",
            "hi",
        ]);
        if !stream {
            cmd.arg("--no-stream");
        }
        cmd.output().expect("confab runs")
    };
    let report = success_json(&run(false));
    assert_eq!(report["text"], RESPONSES_REPLY);
    let record = &home.usage_records()[0];
    assert_eq!(record["usage_source"], "api");
    assert!(record["input_tokens"].as_u64().is_some_and(|n| n > 0));
    let streamed = run(true);
    assert_eq!(streamed.status.code(), Some(4), "{}", stderr_of(&streamed));
    assert!(
        stderr_of(&streamed).contains("Error processing stream start"),
        "{}",
        stderr_of(&streamed)
    );

    let home = TempHome::new();
    let output = anthropic_confab(&home, proxy)
        .args([
            "chat",
            "-m",
            "anthropic:mock-claude",
            "--thinking-budget",
            "2048",
            "--max-tokens",
            "3000",
            "--no-stream",
            "--json",
            "hi",
        ])
        .output()
        .expect("confab runs");
    assert_eq!(success_json(&output)["text"], CLAUDE_REPLY);
}

fn limits_come_from_the_proxy(proxy: &RealServer) {
    let home = TempHome::new();
    let prompt = "word ".repeat(12_000);
    let output = openai_confab(&home, proxy)
        .args(["chat", "-m", "mock-gpt"])
        .write_stdin(prompt)
        .output()
        .expect("confab runs");
    support::assert_success(&output);
    assert!(
        !stderr_of(&output).contains("assuming"),
        "{}",
        stderr_of(&output)
    );
    let rows = success_json(
        &openai_confab(&home, proxy)
            .args(["models", "--json", "openai:mock-gpt"])
            .output()
            .expect("confab runs"),
    );
    assert_eq!(rows[0]["context_window"], 128_000);
    assert_eq!(rows[0]["max_output_tokens"], 16_384);
    assert!(rows[0]["window_source"]
        .as_str()
        .is_some_and(|s| s.contains("max_input_tokens")));

    // Through the Anthropic provider, the same proxy's list answers with
    // the limits LiteLLM knows for the model it maps to.
    let home = TempHome::new();
    let rows = success_json(
        &anthropic_confab(&home, proxy)
            .args(["models", "--json", "anthropic:mock-claude"])
            .output()
            .expect("confab runs"),
    );
    assert!(rows[0]["window_source"]
        .as_str()
        .is_some_and(|s| s.starts_with("server")));
    assert!(rows[0]["context_window"]
        .as_u64()
        .is_some_and(|n| n >= 100_000));
}

fn continuing_a_conversation(proxy: &RealServer) {
    let home = TempHome::new();
    openai_confab(&home, proxy)
        .args(["chat", "-m", "mock-gpt", "first"])
        .assert()
        .success();
    openai_confab(&home, proxy)
        .args(["chat", "-c", "second"])
        .assert()
        .success();
    let conversations = home.conversations();
    assert_eq!(conversations.len(), 1, "-c continued the same conversation");
    let roles: Vec<&str> = conversations[0]
        .iter()
        .filter_map(|r| r["role"].as_str())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    let usage = home.usage_records();
    assert_eq!(usage.len(), 2, "both turns recorded");
    assert_eq!(usage[0]["conversation_id"], usage[1]["conversation_id"]);
}

/// The proxy takes what `-a` and `--cache-prompt` add to a request: image
/// parts and text context on the OpenAI route; image and document blocks
/// and `cache_control` markers on the Anthropic route.
fn attachments_and_cache_markers_are_accepted(proxy: &RealServer) {
    let home = TempHome::new();
    home.write("shot.png", support::TINY_PNG);
    home.write("notes.txt", "some notes\n");
    home.write(
        "doc.pdf",
        "%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF\n",
    );
    let report = success_json(
        &openai_confab(&home, proxy)
            .args([
                "chat",
                "-m",
                "mock-gpt",
                "--json",
                "-a",
                "shot.png",
                "-a",
                "notes.txt",
                "what is this?",
            ])
            .output()
            .expect("confab runs"),
    );
    assert_eq!(report["text"], GPT_REPLY);
    let report = success_json(
        &anthropic_confab(&home, proxy)
            .args([
                "chat",
                "-m",
                "anthropic:mock-claude",
                "--json",
                "--cache-prompt",
                "-s",
                "be brief",
                "-a",
                "shot.png",
                "-a",
                "doc.pdf",
                "what is this?",
            ])
            .output()
            .expect("confab runs"),
    );
    assert_eq!(report["text"], CLAUDE_REPLY);
}

fn error_responses_are_reported_and_retried_by_the_rules(proxy: &RealServer) {
    // An unknown model: LiteLLM's 400, reported, never retried.
    let home = TempHome::new();
    let output = openai_confab(&home, proxy)
        .args(["chat", "-m", "no-such-model", "hi"])
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("Invalid model name"));
    let record = &home.usage_records()[0];
    assert_eq!(record["status"], 400);
    assert_eq!(record["retries"], 0);

    // A key the proxy does not know: refused, never retried.
    let home = TempHome::new();
    let output = home
        .confab()
        .env("OPENAI_API_KEY", "sk-wrong")
        .env("OPENAI_BASE_URL", format!("{}/v1", proxy.root()))
        .args(["chat", "-m", "mock-gpt", "hi"])
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4));
    let record = &home.usage_records()[0];
    assert_eq!(record["retries"], 0);
    assert!(record["status"]
        .as_u64()
        .is_some_and(|s| (400..500).contains(&s)));

    // A rate limit: 429, retried (once, as configured), then reported.
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\nmax_retries = 1\n",
    );
    let output = openai_confab(&home, proxy)
        .args(["chat", "-m", "mock-limited", "hi"])
        .output()
        .expect("confab runs");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    let record = &home.usage_records()[0];
    assert_eq!(record["status"], 429);
    assert_eq!(record["retries"], 1);
}
