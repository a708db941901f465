//! Reasoning models and prompt-cache lifetimes (issue #17, parts 1-3),
//! through the binary:
//!
//! - OpenAI reasoning models speak the Responses API: effort, summaries
//!   dimmed on stderr and never in the reply, reasoning tokens in usage,
//!   tool rounds that pass the encrypted reasoning back, `--schema`;
//! - Claude's extended thinking: `--thinking-budget` checked before any
//!   call, thinking shown like a summary, its signed blocks passed back in
//!   tool rounds (the fake refuses a round without them, as the API does);
//! - `--cache-prompt=1h` marks with the hour TTL, and its writes are
//!   priced at twice the input price.

mod support;

use serde_json::Value;
use support::fake_provider::{FakeProvider, Reply};
use support::{TempHome, SAY_HI_TOOL};

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn cost_of_all(home: &TempHome) -> f64 {
    let report = home
        .confab()
        .args(["cost-report", "--group-by", "model", "--json"])
        .output()
        .expect("running confab");
    let report = support::success_json(&report);
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["cost_usd"].as_f64().expect("a priced row"))
        .sum()
}

#[test]
fn a_reasoning_model_speaks_responses_with_its_effort_and_shows_its_summary_apart() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::responses_stream(
        "o4-mini-2025-04-16",
        &["Weighing the greeting.", "Choosing words."],
        &["Hel", "lo"],
        (100, 20, 300, 200),
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-m", "o4-mini", "--reasoning-effort", "low", "hi"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        stdout_of(&output),
        "Hello\n",
        "the summary stays out of stdout"
    );
    let stderr = support::stderr_of(&output);
    assert!(
        stderr.contains("reasoning: Weighing the greeting.\n\nChoosing words."),
        "{stderr}"
    );

    let request = &fake.requests()[0];
    assert_eq!(request.path, "/v1/responses");
    let body = request.json();
    assert_eq!(body["model"], "o4-mini");
    assert_eq!(body["reasoning"]["effort"], "low");
    assert_eq!(body["reasoning"]["summary"], "auto");
    assert_eq!(body["store"], false);
    assert_eq!(body["include"][0], "reasoning.encrypted_content");
    assert!(body["max_output_tokens"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(body["input"][0]["content"], "hi");

    let conversation = &home.conversations()[0];
    let reply = conversation.last().expect("a reply record");
    assert_eq!(
        reply["content"], "Hello",
        "the summary is not part of the reply"
    );
    let usage = &home.usage_records()[0];
    assert_eq!(usage["reasoning_tokens"], 200);
    assert_eq!(usage["cached_input_tokens"], 20);
    assert_eq!(usage["model_reported"], "o4-mini-2025-04-16");
    // o4-mini, $ per million: input 1.10, cached 0.275, output 4.40:
    // 80 * 1.10 + 20 * 0.275 + 300 * 4.40 = 1413.5 micro-dollars.
    let cost = cost_of_all(&home);
    assert!((cost - 1413.5e-6).abs() < 1e-9, "{cost}");
}

#[test]
fn a_responses_tool_round_passes_the_encrypted_reasoning_and_outputs_back() {
    let home = TempHome::new();
    home.write("config.toml", SAY_HI_TOOL);
    let fake = FakeProvider::start(vec![
        Reply::responses_tool_call_stream("o3", &["I should say hi."], &[("say_hi", "{}")]),
        Reply::responses_stream("o3", &["Done."], &["It said hi."], (40, 0, 20, 5)),
        Reply::responses_stream("o3", &[], &["Again."], (60, 0, 20, 5)),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-m", "o3", "greet"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(stdout_of(&output), "It said hi.\n");
    let second = fake.requests()[1].json();
    let input = second["input"].as_array().expect("input");
    let types: Vec<&str> = input.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "message",
            "reasoning",
            "function_call",
            "function_call_output"
        ],
        "{second}"
    );
    assert_eq!(input[3]["call_id"], input[2]["call_id"]);
    assert_eq!(input[3]["output"].as_str().map(str::trim), Some("hi"));
    assert_eq!(second["tools"][0]["name"], "say_hi");
    assert!(second["tools"][0].get("function").is_none(), "flat tools");

    // The round is in the conversation file with its reasoning, and a
    // continued conversation resends it as the API wants it.
    let records = &home.conversations()[0];
    let calls = records
        .iter()
        .find(|r| r["type"] == "tool_calls")
        .expect("a tool-calls record");
    assert_eq!(calls["reasoning"][0]["type"], "openai_reasoning");
    let again = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-c", "once more"])
        .output()
        .expect("running confab");
    support::assert_success(&again);
    let third = fake.requests()[2].json();
    let types: Vec<&str> = third["input"]
        .as_array()
        .expect("input")
        .iter()
        .filter_map(|i| i["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "message",
            "reasoning",
            "function_call",
            "function_call_output",
            "message",
            "message"
        ]
    );
}

#[test]
fn schemas_go_flat_in_text_format_and_a_responses_provider_can_be_configured() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::responses_stream(
        "gpt-4.1",
        &[],
        &["{\"answer\": 4}"],
        (10, 0, 5, 0),
    )]);
    home.write(
        "config.toml",
        format!(
            "[providers.resp]\nkind = \"openai-responses\"\nbase_url = \"{}/v1\"\napi_key_env = \"OPENAI_API_KEY\"\n",
            fake.base_url()
        ),
    );
    let schema = home.write(
        "answer.json",
        r#"{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"],"additionalProperties":false}"#,
    );
    let output = home
        .confab()
        .env("OPENAI_API_KEY", "test-openai-key")
        .args(["chat", "-m", "resp:gpt-4.1", "--schema"])
        .arg(&schema)
        .arg("2+2?")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let reply: Value = serde_json::from_slice(&output.stdout).expect("validated JSON");
    assert_eq!(reply["answer"], 4);
    let body = fake.requests()[0].json();
    assert_eq!(fake.requests()[0].path, "/v1/responses");
    assert_eq!(body["text"]["format"]["type"], "json_schema");
    assert_eq!(body["text"]["format"]["strict"], true);
    assert_eq!(body["text"]["format"]["schema"]["required"][0], "answer");
    assert!(
        body.get("reasoning").is_none(),
        "gpt-4.1 is no reasoning model"
    );
}

#[test]
fn compatible_servers_keep_chat_completions_and_their_reasoning_is_shown_apart() {
    let home = TempHome::new();
    // llama.cpp and vLLM stream reasoning as `reasoning_content`.
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen3\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let parts = [
        chunk(
            r#"{"role":"assistant","reasoning_content":"Let me think."}"#,
            "null",
        ),
        chunk(r#"{"content":"Four."}"#, "null"),
        chunk("{}", "\"stop\""),
        "data: [DONE]\n\n".to_string(),
    ];
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let fake = FakeProvider::start(vec![Reply::raw(
        200,
        &[("content-type", "text/event-stream")],
        &parts,
    )]);
    home.write(
        "config.toml",
        format!(
            "[providers.local]\nkind = \"openai\"\nbase_url = \"{}/v1\"\n",
            fake.base_url()
        ),
    );
    fake.allow_keyless();
    let output = home
        .confab()
        .args([
            "chat",
            "-m",
            "local:o3",
            "--reasoning-effort",
            "high",
            "2+2?",
        ])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(stdout_of(&output), "Four.\n");
    assert!(support::stderr_of(&output).contains("reasoning: Let me think."));
    let request = &fake.requests()[0];
    assert_eq!(
        request.path, "/v1/chat/completions",
        "a local server keeps its API"
    );
    assert_eq!(request.json()["reasoning_effort"], "high");
}

#[test]
fn extended_thinking_is_sent_shown_apart_and_passed_back_signed_in_tool_rounds() {
    let home = TempHome::new();
    home.write("config.toml", SAY_HI_TOOL);
    let fake = FakeProvider::start(vec![
        Reply::anthropic_thinking_tool_use_stream(
            "claude-sonnet-4-5",
            &["The user wants ", "a greeting."],
            "toolu_1",
            "say_hi",
            "{}",
        ),
        Reply::anthropic_thinking_stream("claude-sonnet-4-5", &["It worked."], "Said hi.", (30, 9)),
    ]);
    let output = home
        .confab_anthropic(&fake.base_url())
        .args([
            "chat",
            "-m",
            "claude-sonnet-4-5",
            "--thinking-budget",
            "2048",
            "--max-tokens",
            "6000",
            "--temperature",
            "0.3",
            "greet",
        ])
        .output()
        .expect("running confab");
    // The fake refuses, as the API does, a tool round whose thinking is
    // missing, reordered or altered, and a temperature with thinking.
    support::assert_success(&output);
    assert_eq!(stdout_of(&output), "Said hi.\n");
    let stderr = support::stderr_of(&output);
    assert!(
        stderr.contains("reasoning: The user wants a greeting."),
        "{stderr}"
    );
    assert!(stderr.contains("It worked."), "{stderr}");
    let first = fake.requests()[0].json();
    assert_eq!(
        first["thinking"],
        serde_json::json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(first["max_tokens"], 6000);
    let second = fake.requests()[1].json();
    let assistant = &second["messages"][1]["content"];
    assert_eq!(assistant[0]["type"], "thinking", "{second}");
    assert_eq!(assistant[0]["thinking"], "The user wants a greeting.");
    assert_eq!(assistant[1]["type"], "tool_use");
}

#[test]
fn thinking_and_effort_flags_are_checked_before_any_call() {
    let home = TempHome::new();
    let fake = FakeProvider::start(Vec::new());
    let cases: [(&[&str], &str); 5] = [
        (
            &["-m", "claude-sonnet-4-5", "--thinking-budget", "512"],
            "minimum of 1024",
        ),
        (
            &["-m", "claude-sonnet-4-5", "--thinking-budget", "5000"],
            "below the output cap (4096 tokens)",
        ),
        (
            &["-m", "claude-sonnet-4-5", "--reasoning-effort", "low"],
            "--thinking-budget N",
        ),
        (
            &["-m", "o3", "--thinking-budget", "2048"],
            "--reasoning-effort",
        ),
        (
            &["-m", "o3", "--reasoning-effort", "extreme"],
            "minimal, low, medium or high",
        ),
    ];
    for (args, expected) in cases {
        let output = home
            .confab_anthropic(&fake.base_url())
            .env("OPENAI_API_KEY", "k")
            .env("OPENAI_BASE_URL", format!("{}/v1", fake.base_url()))
            .arg("chat")
            .args(args)
            .arg("hi")
            .output()
            .expect("running confab");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = support::stderr_of(&output);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(fake.requests().is_empty(), "nothing was sent");
}

#[test]
fn an_hour_long_cache_is_marked_so_and_its_writes_cost_twice_the_input() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::anthropic_hour_cached_stream(
        "claude-sonnet-4-5",
        &["ok"],
        (10, 2),
        2000,
    )]);
    let output = home
        .confab_anthropic(&fake.base_url())
        .args([
            "chat",
            "--cache-prompt=1h",
            "-m",
            "claude-sonnet-4-5",
            "-s",
            "a long system prompt",
            "hi",
        ])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let body = fake.requests()[0].json();
    let hour = serde_json::json!({"type": "ephemeral", "ttl": "1h"});
    assert_eq!(body["system"][0]["cache_control"], hour);
    assert_eq!(body["messages"][0]["content"][0]["cache_control"], hour);
    let usage = &home.usage_records()[0];
    assert_eq!(usage["cache_write_tokens"], 2000);
    assert_eq!(usage["cache_write_hour_tokens"], 2000);
    // claude-sonnet-4-5, $ per million: input 3, 1-hour write 2 x 3 = 6,
    // output 15: 10 * 3 + 2000 * 6 + 2 * 15 = 12060 micro-dollars.
    let cost = cost_of_all(&home);
    assert!((cost - 12060e-6).abs() < 1e-9, "{cost}");

    // A bad lifetime is a usage error.
    let bad = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "--cache-prompt=2h", "-m", "claude-sonnet-4-5", "hi"])
        .output()
        .expect("running confab");
    assert_eq!(bad.status.code(), Some(2));
    assert!(support::stderr_of(&bad).contains("use 5m or 1h"));
}

#[test]
fn a_preset_can_set_the_effort_and_a_flag_overrides_it() {
    let home = TempHome::new();
    home.write(
        "presets/think.toml",
        "model = \"o4-mini\"\nreasoning_effort = \"high\"\n",
    );
    let fake = FakeProvider::start(vec![
        Reply::responses_stream("o4-mini", &["Deep."], &["A"], (5, 0, 5, 3)),
        Reply::responses_stream("o4-mini", &["Quick."], &["B"], (5, 0, 5, 1)),
    ]);
    for args in [
        ["chat", "-p", "think", "one"].as_slice(),
        [
            "chat",
            "-p",
            "think",
            "--reasoning-effort",
            "minimal",
            "two",
        ]
        .as_slice(),
    ] {
        let output = home
            .confab_openai(&fake.base_url())
            .args(args)
            .output()
            .expect("running confab");
        support::assert_success(&output);
    }
    let efforts: Vec<Value> = fake
        .requests()
        .iter()
        .map(|r| r.json()["reasoning"]["effort"].clone())
        .collect();
    assert_eq!(
        efforts,
        [serde_json::json!("high"), serde_json::json!("minimal")]
    );
}
