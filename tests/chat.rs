//! `confab chat` through the real binary against the fake provider: what
//! the user sees, what was sent, and the files written (conversations,
//! usage records), for normal replies and every failure mode.

mod support;

use std::time::Duration;

use predicates::prelude::*;
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome};

#[test]
fn one_shot_streams_the_reply_and_records_everything() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini-2024-07-18",
        &["Hel", "lo", " world"],
        Some((12, 3)),
    )]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "hi there"])
        .assert()
        .success()
        .stdout("Hello world\n");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.header("authorization"),
        Some("Bearer test-openai-key")
    );
    let body = request.json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(
        body["max_completion_tokens"], 4096,
        "an explicit output cap"
    );
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["messages"][0]["content"], "hi there");

    let conversations = home.conversations();
    assert_eq!(conversations.len(), 1);
    let records = &conversations[0];
    assert_eq!(records[0]["type"], "header");
    assert_eq!(records[1]["role"], "user");
    assert_eq!(records[2]["role"], "assistant");
    assert_eq!(records[2]["content"], "Hello world");
    assert_eq!(records[2]["interrupted"], false);

    let usage = home.usage_records();
    assert_eq!(usage.len(), 1);
    let record = &usage[0];
    assert_eq!(record["command"], "chat");
    assert_eq!(record["provider"], "openai");
    assert_eq!(
        record["host"],
        fake.base_url().trim_start_matches("http://")
    );
    assert_eq!(record["model_requested"], "gpt-4o-mini");
    assert_eq!(record["model_reported"], "gpt-4o-mini-2024-07-18");
    assert_eq!(record["input_tokens"], 12);
    assert_eq!(record["output_tokens"], 3);
    assert_eq!(record["usage_source"], "api");
    assert_eq!(record["outcome"], "ok");
    assert_eq!(record["retries"], 0);
    assert_eq!(record["status"], 200);
    assert_eq!(record["conversation_id"], records[0]["id"]);
    assert!(record["ttft_ms"].is_u64());
    assert!(
        record.get("prompt").is_none(),
        "no prompt text unless opted in"
    );
}

#[test]
fn piped_stdin_is_added_as_context_and_json_reports_the_call() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["Looks good."],
        Some((40, 4)),
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "--json", "--tag", "ci", "review this"])
        .write_stdin("--- a/x\n+++ b/x\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["text"], "Looks good.");
    assert_eq!(report["input_tokens"], 40);
    assert_eq!(report["output_tokens"], 4);
    assert_eq!(report["interrupted"], false);
    assert!(report["conversation_id"].is_string());
    let body = fake.requests()[0].json();
    assert_eq!(
        body["messages"][0]["content"],
        "review this\n\n--- a/x\n+++ b/x\n"
    );
    assert_eq!(home.usage_records()[0]["tags"][0], "ci");
}

#[test]
fn anthropic_messages_stream_with_system_prompt() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::anthropic_stream(
        "claude-sonnet-4-5-20250929",
        &["Bonjour", " !"],
        (25, 6),
    )]);
    home.confab_anthropic(&fake.base_url())
        .args([
            "chat",
            "-m",
            "claude-sonnet-4-5",
            "-s",
            "answer in French",
            "hello",
        ])
        .assert()
        .success()
        .stdout("Bonjour !\n");
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(request.header("x-api-key"), Some("test-anthropic-key"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    let body = request.json();
    assert_eq!(body["system"], "answer in French");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["messages"][0]["content"], "hello");
    let record = &home.usage_records()[0];
    assert_eq!(record["provider"], "anthropic");
    assert_eq!(record["input_tokens"], 25);
    assert_eq!(record["output_tokens"], 6);
    assert_eq!(record["model_reported"], "claude-sonnet-4-5-20250929");
}

#[test]
fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_error(429, "requests", "Rate limit reached")
            .with_header("retry-after-ms", "1300"),
        Reply::openai_error(500, "server_error", "boom").with_header("retry-after", "2"),
        Reply::openai_stream("gpt-4o-mini", &["ok"], Some((5, 1))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ok\n");
    let stderr = stderr_of(&output);
    // The waits are the servers' (1.3 s, then 2 s), not the backoff's
    // (about 0.5 s, then 1 s, times a random jitter below 1).
    assert!(
        stderr.contains("Rate limit reached") && stderr.contains("retry 1 in 1.3s"),
        "{stderr}"
    );
    assert!(stderr.contains("retry 2 in 2.0s"), "{stderr}");
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(home.usage_records()[0]["retries"], 2);
}

#[test]
fn overloaded_529_is_retried_for_anthropic() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::anthropic_error(529, "overloaded_error", "Overloaded")
            .with_header("retry-after", "0.01"),
        Reply::anthropic_stream("claude-sonnet-4-5", &["fine"], (3, 1)),
    ]);
    home.confab_anthropic(&fake.base_url())
        .args(["chat", "-m", "claude-sonnet-4-5", "hi"])
        .assert()
        .success()
        .stdout("fine\n");
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn auth_and_bad_requests_are_never_retried() {
    for (status, kind) in [
        (401, "auth"),
        (400, "bad_request"),
        (403, "auth"),
        (404, "bad_request"),
    ] {
        let home = TempHome::new();
        let fake = FakeProvider::start(vec![
            Reply::openai_error(status, "invalid_request_error", "nope"),
            Reply::openai_stream("gpt-4o-mini", &["should not be reached"], None),
        ]);
        let output = home
            .confab_openai(&fake.base_url())
            .args(["chat", "hi"])
            .output()
            .expect("running confab");
        assert_eq!(output.status.code(), Some(4), "HTTP {status}");
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("nope") && stderr.contains("hint:"),
            "{stderr}"
        );
        assert_eq!(fake.requests().len(), 1, "HTTP {status} is not retried");
        let record = &home.usage_records()[0];
        assert_eq!(record["outcome"], "error");
        assert_eq!(record["error_kind"], kind);
        assert_eq!(record["status"], status);
    }
}

#[test]
fn a_stream_broken_after_text_keeps_the_partial_reply_marked_interrupted() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["Part", "ial", " and more"], Some((9, 9)))
            .drop_after_parts(3),
        Reply::openai_stream("gpt-4o-mini", &["retried"], None),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "tell me"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "Partial\n");
    let stderr = stderr_of(&output);
    assert!(stderr.contains("partial reply was kept"), "{stderr}");
    assert_eq!(fake.requests().len(), 1, "not silently retried");
    let records = &home.conversations()[0];
    let last = records.last().expect("records");
    assert_eq!(last["content"], "Partial");
    assert_eq!(last["interrupted"], true);
    let usage = &home.usage_records()[0];
    assert_eq!(usage["outcome"], "interrupted");
    assert_eq!(usage["usage_source"], "local");
}

#[test]
fn connection_failures_before_any_text_are_retried() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::hang_up(),
        Reply::openai_stream("gpt-4o-mini", &["x"], None).drop_after_parts(0),
        Reply::openai_stream("gpt-4o-mini", &["back"], Some((2, 1))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "back\n");
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn a_stalled_response_times_out_and_is_retried() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\nread_timeout_secs = 1\n",
    );
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["late"], None)
            .with_delay_before_first_byte(Duration::from_secs(4)),
        Reply::openai_stream("gpt-4o-mini", &["on time"], Some((2, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "on time\n");
    assert_eq!(home.usage_records()[0]["retries"], 1);
}

#[test]
fn servers_that_send_no_usage_get_local_counts() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "llama3.2",
        &["Hello", " there"],
        None,
    )]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "-m", "gpt-4o", "say hello"])
        .assert()
        .success();
    let record = &home.usage_records()[0];
    assert_eq!(record["usage_source"], "local");
    assert_eq!(
        record["output_tokens"], 2,
        "\"Hello there\" is 2 o200k tokens"
    );
    // 3 (message) + 1 ("user") + 2 ("say hello") + 3 (reply priming)
    assert_eq!(record["input_tokens"], 9);
}

#[test]
fn errors_inside_a_200_stream_and_malformed_events_fail_clearly() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_error_in_stream("gpt-4o-mini", &[], "context length exceeded"),
        Reply::malformed_stream(),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(4));
    assert!(stderr_of(&output).contains("context length exceeded"));
    assert_eq!(
        fake.requests().len(),
        1,
        "an error the server stated is not retried"
    );

    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stderr_of(&output).contains("malformed"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn a_prompt_over_the_context_window_is_stopped_before_sending() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![]);
    let long = "word ".repeat(9000);
    home.confab_openai(&fake.base_url())
        .args(["chat", "-m", "gpt-4", &long])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("context window of 8192"));
    assert!(fake.requests().is_empty());
    assert!(
        home.conversations().is_empty(),
        "nothing recorded for a turn never sent"
    );
}

#[test]
fn continue_resends_the_history() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["Paris."], Some((10, 2))),
        Reply::openai_stream("gpt-4o-mini", &["About 2 million."], Some((20, 4))),
    ]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "-s", "be brief", "capital of France?"])
        .assert()
        .success();
    home.confab_openai(&fake.base_url())
        .args(["chat", "-c", "population?"])
        .assert()
        .success()
        .stdout("About 2 million.\n");
    let body = fake.requests()[1].json();
    let messages = body["messages"].as_array().expect("messages");
    let contents: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        ["be brief", "capital of France?", "Paris.", "population?"]
    );
    assert_eq!(home.conversations().len(), 1);
    assert_eq!(home.conversations()[0].len(), 5);
}

#[test]
fn history_lists_shows_and_deletes() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream("gpt-4o-mini", &["hi!"], None)]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "greet me"])
        .assert()
        .success();
    let list = home
        .confab()
        .args(["history", "list", "--json"])
        .output()
        .expect("running confab");
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    let id = list[0]["id"].as_str().expect("id").to_string();
    assert_eq!(list[0]["title"], "greet me");
    assert_eq!(list[0]["messages"], 2);
    home.confab()
        .args(["history", "show", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("greet me").and(predicate::str::contains("hi!")));
    home.confab()
        .args(["history", "delete", &id])
        .assert()
        .success();
    home.confab()
        .args(["history", "show", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no conversation"));
}

#[test]
fn without_a_provider_the_error_shows_an_ollama_example() {
    let home = TempHome::new();
    home.confab().args(["chat", "hi"]).assert().code(2).stderr(
        predicate::str::contains("no model provider is configured")
            .and(predicate::str::contains("localhost:11434")),
    );
    home.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\n",
    );
    home.confab().args(["chat", "hi"]).assert().code(4).stderr(
        predicate::str::contains("OPENAI_API_KEY is not set")
            .and(predicate::str::contains("api_key_cmd")),
    );
}

#[test]
fn config_shows_effective_settings_with_secrets_masked() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[providers.local]\nkind = \"openai\"\nbase_url = \"http://localhost:8080/v1\"\napi_key = \"sk-secret-value\"\n",
    );
    home.confab().arg("config").assert().success().stdout(
        predicate::str::contains("localhost:8080")
            .and(predicate::str::contains("sk-secret-value").not())
            .and(predicate::str::contains("********")),
    );
}

#[test]
fn interactive_session_reads_commands_and_turns_from_stdin() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["first answer"], Some((8, 2))),
        Reply::openai_stream("gpt-4o-mini", &["second answer"], Some((16, 2))),
        Reply::openai_stream("gpt-4o-mini", &["third answer"], Some((4, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-i"])
        .write_stdin("/help\nhello\n/tokens\nline one \\\nline two\n/new\nfresh start\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("/tokens"), "help was shown: {stdout}");
    assert!(
        stdout.contains("first answer") && stdout.contains("second answer"),
        "{stdout}"
    );
    assert!(stdout.contains("(2 sent verbatim)"), "{stdout}");
    let second = fake.requests()[1].json();
    let messages = second["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "history resent");
    assert_eq!(messages[2]["content"], "line one \nline two");
    // After /new, the next turn starts a conversation of its own.
    let third = fake.requests()[2].json();
    let messages = third["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "no history after /new: {messages:?}");
    assert_eq!(messages[0]["content"], "fresh start");
    assert_eq!(home.conversations().len(), 2, "/new began a second file");
}

#[test]
fn no_stream_waits_for_the_whole_reply() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_json(
        "gpt-4o-mini-2024-07-18",
        "All at once.",
        Some((7, 3)),
    )]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "--no-stream", "hi"])
        .assert()
        .success()
        .stdout("All at once.\n");
    let body = fake.requests()[0].json();
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none());
    assert_eq!(home.usage_records()[0]["output_tokens"], 3);
}

/// Runs a streamed chat, sends `signals` (shell `kill` arguments, as
/// `-INT`) once the first words are on stdout, and returns how it ended.
fn signalled_during_a_reply(home: &TempHome, signals: &[&str]) -> std::process::Output {
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["first words", " and the rest much later"],
        Some((5, 5)),
    )
    .with_delay_before_part(2, Duration::from_secs(30))]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("confab"))
        .args(["chat", "tell me a long story"])
        .env_clear()
        .env("CONFAB_HOME", home.path())
        .env("OPENAI_API_KEY", "k")
        .env("OPENAI_BASE_URL", format!("{}/v1", fake.base_url()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning confab");
    // Wait until the first words are on stdout, then signal.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut buffer = [0u8; 64];
    while !String::from_utf8_lossy(&seen).contains("first words") {
        use std::io::Read;
        let read = stdout.read(&mut buffer).expect("reading stdout");
        assert!(read > 0, "confab ended before streaming");
        seen.extend_from_slice(&buffer[..read]);
    }
    let pid = child.id();
    let kills: Vec<String> = signals.iter().map(|s| format!("kill {s} {pid}")).collect();
    let status = std::process::Command::new("sh")
        .args(["-c", &kills.join("; ")])
        .status()
        .expect("sending the signals");
    assert!(status.success());
    child.wait_with_output().expect("waiting for confab")
}

/// The partial reply is in the conversation, marked interrupted, and the
/// call is in the usage log.
fn assert_partial_reply_kept(home: &TempHome, output: &std::process::Output) {
    assert!(
        stderr_of(output).contains("interrupted"),
        "{}",
        stderr_of(output)
    );
    let records = &home.conversations()[0];
    let last = records.last().expect("records");
    assert_eq!(last["content"], "first words");
    assert_eq!(last["interrupted"], true);
    assert_eq!(home.usage_records()[0]["outcome"], "interrupted");
}

#[test]
fn ctrl_c_during_a_reply_keeps_what_arrived() {
    let home = TempHome::new();
    let output = signalled_during_a_reply(&home, &["-INT"]);
    assert_eq!(output.status.code(), Some(130));
    assert_partial_reply_kept(&home, &output);
}

#[test]
fn a_second_ctrl_c_does_not_cut_the_bookkeeping_short() {
    let home = TempHome::new();
    let output = signalled_during_a_reply(&home, &["-INT", "-INT", "-INT"]);
    assert_eq!(output.status.code(), Some(130));
    assert_partial_reply_kept(&home, &output);
}

#[test]
fn sigterm_and_sighup_stop_a_reply_the_same_way_with_their_own_exit_codes() {
    for (signal, code) in [("-TERM", 143), ("-HUP", 129)] {
        let home = TempHome::new();
        let output = signalled_during_a_reply(&home, &[signal]);
        assert_eq!(output.status.code(), Some(code), "{signal}");
        assert_partial_reply_kept(&home, &output);
    }
}

#[test]
fn the_readme_config_example_is_valid() {
    // Every TOML block of the README is a config.toml confab accepts.
    let readme = include_str!("../README.md");
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().expect("end of the block"))
        .collect();
    assert!(blocks.len() >= 2, "the provider and tool examples");
    for block in &blocks {
        let home = TempHome::new();
        // A block headed `# presets/NAME.toml` is a preset, checked as one.
        let preset = block
            .strip_prefix("# presets/")
            .and_then(|rest| rest.split_once(".toml"))
            .map(|(name, _)| name);
        let output = match preset {
            Some(name) => {
                home.write(&format!("presets/{name}.toml"), block);
                home.confab().args(["presets", "show", name]).output()
            }
            None => {
                home.write("config.toml", block);
                home.confab().arg("config").output()
            }
        }
        .expect("confab runs");
        assert!(output.status.success(), "{block}\n{}", stderr_of(&output));
    }
    let configs: Vec<&str> = blocks
        .iter()
        .copied()
        .filter(|block| !block.starts_with("# presets/"))
        .collect();
    let home = TempHome::new();
    home.write("config.toml", configs[0]);
    home.confab()
        .arg("config")
        .assert()
        .success()
        .stdout(predicate::str::contains("localhost:11434"));
    let home = TempHome::new();
    home.write("config.toml", configs[1]);
    home.confab()
        .arg("config")
        .assert()
        .success()
        .stdout(predicate::str::contains("read_doc"));
}

#[test]
fn tool_call_deltas_are_joined_and_never_run() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_tool_call_stream(
        "gpt-4o-mini",
        "get_weather",
        &["{\"ci", "ty\": \"Os", "lo\"}"],
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "weather in Oslo?"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("`get_weather` with {\"city\": \"Oslo\"}")
            && stderr.contains("nothing was run"),
        "{stderr}"
    );
}

#[test]
fn a_stream_that_stalls_after_text_is_kept_as_interrupted() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\nread_timeout_secs = 1\n",
    );
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["started", " never finished"],
        None,
    )
    .with_delay_before_part(2, Duration::from_secs(5))]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hi"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "started\n");
    assert_eq!(fake.requests().len(), 1);
    let last = home.conversations()[0].last().cloned().expect("records");
    assert_eq!(last["interrupted"], true);
}

#[test]
fn api_key_cmd_supplies_the_key_sent() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream("gpt-4o-mini", &["ok"], None)]);
    fake.expect_api_key("key-from-the-command");
    home.write(
        "config.toml",
        format!(
            "[providers.vault]\nkind = \"openai\"\nbase_url = \"{}/v1\"\n\
             api_key_cmd = [\"/bin/sh\", \"-c\", \"echo key-from-the-command\"]\n",
            fake.base_url()
        ),
    );
    home.confab()
        .args(["chat", "-m", "vault:gpt-4o-mini", "hi"])
        .assert()
        .success()
        .stdout("ok\n");
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some("Bearer key-from-the-command")
    );
    // A failing command is a clear error, and nothing is sent.
    home.write(
        "config.toml",
        format!(
            "[providers.vault]\nkind = \"openai\"\nbase_url = \"{}/v1\"\n\
             api_key_cmd = [\"/bin/sh\", \"-c\", \"exit 3\"]\n",
            fake.base_url()
        ),
    );
    home.confab()
        .args(["chat", "-m", "vault:gpt-4o-mini", "hi"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("api_key_cmd"));
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn client_side_token_limits_hold_back_the_next_request() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\n\
         tokens_per_minute = 6000\n",
    );
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o-mini", &["one"], Some((5, 1))),
        Reply::openai_stream("gpt-4o-mini", &["two"], Some((5, 1))),
    ]);
    // Each turn reserves its output cap (3000) and a little: the first fits
    // the full bucket, the second must wait for it to refill.
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-i", "--max-tokens", "3000"])
        .write_stdin("first\nsecond\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let stderr = stderr_of(&output);
    assert_eq!(
        stderr.matches("for the client-side rate limit").count(),
        1,
        "{stderr}"
    );
    assert_eq!(fake.requests().len(), 2);
}

/// A reply with every kind of Markdown confab renders, and controls.
const MARKDOWN_REPLY: [&str; 5] = [
    "# Title\n\nSome **bold**, *em*, `code` and [a link](https://example.com).\n\n",
    "- one\n1. two\n> quote\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n",
    "```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n",
    "\x1b[31mnot red\x1b[0m\ttab\r\n",
    "no newline at the end",
];

fn markdown_run(home: &TempHome, args: &[&str], no_color: &str) -> Vec<u8> {
    let reply = if args.contains(&"--no-stream") {
        Reply::openai_json("gpt-4o-mini", &MARKDOWN_REPLY.concat(), Some((5, 40)))
    } else {
        Reply::openai_stream("gpt-4o-mini", &MARKDOWN_REPLY, Some((5, 40)))
    };
    let fake = FakeProvider::start(vec![reply]);
    let output = home
        .confab_openai(&fake.base_url())
        .env("NO_COLOR", no_color)
        .args(["chat", "hi"])
        .args(args)
        .output()
        .expect("confab runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    output.stdout
}

#[test]
fn a_pipe_gets_the_reply_s_exact_bytes_markdown_and_all() {
    let home = TempHome::new();
    let exact = format!("{}\n", MARKDOWN_REPLY.concat()).into_bytes();
    for (args, no_color) in [
        (&[][..], ""),
        (&[][..], "1"),
        (&["--raw"][..], ""),
        (&["--no-stream"][..], ""),
        (&["--render"][..], "1"),
    ] {
        assert_eq!(
            String::from_utf8_lossy(&markdown_run(&home, args, no_color)),
            String::from_utf8_lossy(&exact),
            "{args:?} NO_COLOR={no_color:?}"
        );
    }
}

#[test]
fn render_forces_markdown_rendering_into_a_pipe_but_never_into_the_record() {
    let home = TempHome::new();
    let stdout = String::from_utf8(markdown_run(&home, &["--render"], "")).expect("utf-8");
    assert!(stdout.contains("\x1b[0;1;4;35mTitle\x1b[0m"), "{stdout:?}");
    assert!(stdout.contains("\x1b[0;1mbold\x1b[0m"), "{stdout:?}");
    assert!(
        !stdout.contains("\x1b[31m"),
        "the model's escape is shown, not obeyed: {stdout:?}"
    );
    assert!(stdout.contains("\\u{1b}[31mnot red"), "{stdout:?}");
    assert!(stdout.ends_with("no newline at the end\n"), "{stdout:?}");
    let records = &home.conversations()[0];
    assert_eq!(records[2]["content"], MARKDOWN_REPLY.concat());

    let json = markdown_run(&home, &["--render", "--json"], "");
    let report: serde_json::Value = serde_json::from_slice(&json).expect("one JSON object");
    assert_eq!(
        report["text"],
        MARKDOWN_REPLY.concat(),
        "--json never renders"
    );
    assert!(!json.contains(&b'\x1b'), "JSON escapes its controls");
}

#[test]
fn raw_and_render_cannot_be_given_together() {
    TempHome::new()
        .confab()
        .args(["chat", "--raw", "--render", "hi"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--raw"));
}
