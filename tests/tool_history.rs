//! Tool rounds kept in the conversation file (issue #15, part 4): the
//! model's tool calls and their results are written as they happen,
//! resent on `chat -c` in order (a call whose result was never written gets
//! an error result), and shown by `history show` and `replay`. Against the
//! fake provider, in both wire formats.

mod support;

use serde_json::{json, Value};
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome, SAY_HI_TOOL};

const HEADER: &str = r#"{"type":"header","v":1,"id":"20261127-101500-00000000000000aa","created":"2026-11-27T10:15:00Z","title":"greet me","model":"openai:gpt-4o-mini","system":null}"#;
const ID: &str = "20261127-101500-00000000000000aa";

/// A chat turn that calls `say_hi` once (with text before the call), then
/// `chat -c next`; returns the fake with its three requests (and one more
/// reply scripted).
fn openai_turn_then_continue(home: &TempHome) -> FakeProvider {
    home.write("config.toml", SAY_HI_TOOL);
    let fake = FakeProvider::start(vec![
        Reply::openai_text_then_tool_call_stream(
            "gpt-4o-mini",
            "Let me greet.",
            "call_hi1",
            "say_hi",
            r#"{"to":"you"}"#,
        ),
        Reply::openai_stream("gpt-4o-mini", &["Said hi."], Some((30, 3))),
        Reply::openai_stream("gpt-4o-mini", &["Next answer."], Some((40, 3))),
        // For a test that continues once more.
        Reply::openai_stream("gpt-4o-mini", &["Third answer."], Some((50, 3))),
    ]);
    let first = home
        .confab_openai(&fake.base_url())
        .args(["chat", "greet me"])
        .output()
        .expect("running confab");
    support::assert_success(&first);
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        "Let me greet.\nSaid hi.\n"
    );
    let second = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-c", "next"])
        .output()
        .expect("running confab");
    support::assert_success(&second);
    fake
}

/// The `type` of every record of the only conversation.
fn record_types(home: &TempHome) -> Vec<String> {
    home.conversations()[0]
        .iter()
        .map(|r| r["type"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The output of `/bin/echo hi` as the tool result carries it.
fn say_hi_result(home: &TempHome) -> String {
    let records = &home.conversations()[0];
    let result = records
        .iter()
        .find(|r| r["type"] == "tool_result")
        .expect("a tool_result record");
    assert_eq!(result["tool"], "say_hi");
    assert_eq!(result["result"]["call_id"], "call_hi1");
    assert_eq!(result["result"]["is_error"], false);
    let content = result["result"]["content"].as_str().expect("content");
    assert!(content.contains("hi"), "{content}");
    content.to_string()
}

#[test]
fn openai_continue_resends_the_tool_round_in_order_without_duplicating_text() {
    let home = TempHome::new();
    let fake = openai_turn_then_continue(&home);
    assert_eq!(
        record_types(&home),
        [
            "header",
            "message",
            "tool_calls",
            "tool_result",
            "message",
            "message",
            "message"
        ]
    );
    let records = &home.conversations()[0];
    assert_eq!(records[2]["content"], "Let me greet.");
    assert_eq!(records[2]["calls"][0]["id"], "call_hi1");
    assert!(
        records[2]["call_id"].as_str().is_some(),
        "the usage call id"
    );
    // The reply record holds what the last call wrote; the round's text is
    // in the tool_calls record.
    assert_eq!(records[4]["content"], "Said hi.");
    let result = say_hi_result(&home);

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    let resent = requests[2].json();
    assert_eq!(
        resent["messages"],
        json!([
            {"role": "user", "content": "greet me"},
            {"role": "assistant", "content": "Let me greet.", "tool_calls": [
                {"id": "call_hi1", "type": "function",
                 "function": {"name": "say_hi", "arguments": "{\"to\":\"you\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_hi1", "content": result},
            {"role": "assistant", "content": "Said hi."},
            {"role": "user", "content": "next"}
        ])
    );
    // Within the turn, the second call got the same round.
    let within = requests[1].json();
    let resent_messages = resent["messages"].as_array().expect("messages");
    assert_eq!(
        within["messages"],
        Value::from(resent_messages[..3].to_vec())
    );
    assert_eq!(requests[2].body.matches("Let me greet.").count(), 1);
}

#[test]
fn anthropic_continue_resends_tool_use_and_tool_result_in_order() {
    let home = TempHome::new();
    home.write("config.toml", SAY_HI_TOOL);
    let model = "claude-sonnet-4-5";
    let fake = FakeProvider::start(vec![
        Reply::anthropic_text_then_tool_use_stream(
            model,
            "Let me greet.",
            "toolu_hi1",
            "say_hi",
            r#"{"to":"you"}"#,
        ),
        Reply::anthropic_stream(model, &["Said hi."], (30, 3)),
        Reply::anthropic_stream(model, &["Next answer."], (40, 3)),
    ]);
    for args in [
        vec!["chat", "-m", model, "greet me"],
        vec!["chat", "-c", "next"],
    ] {
        let output = home
            .confab_anthropic(&fake.base_url())
            .args(&args)
            .output()
            .expect("running confab");
        support::assert_success(&output);
    }
    let records = &home.conversations()[0];
    let result = records
        .iter()
        .find(|r| r["type"] == "tool_result")
        .expect("a tool_result record");
    assert_eq!(result["result"]["call_id"], "toolu_hi1");
    let content = result["result"]["content"].clone();
    let resent = fake.requests()[2].json();
    assert_eq!(
        resent["messages"],
        json!([
            {"role": "user", "content": "greet me"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me greet."},
                {"type": "tool_use", "id": "toolu_hi1", "name": "say_hi", "input": {"to": "you"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_hi1", "content": content, "is_error": false}
            ]},
            {"role": "assistant", "content": "Said hi."},
            {"role": "user", "content": "next"}
        ])
    );
    assert_eq!(fake.requests()[2].body.matches("Let me greet.").count(), 1);
}

#[test]
fn history_show_shows_the_call_and_the_result_in_place() {
    let home = TempHome::new();
    openai_turn_then_continue(&home);
    let id = home.conversations()[0][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let output = home
        .confab()
        .args(["history", "show", &id])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    let at = |needle: &str| {
        shown
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} is not in:\n{shown}"))
    };
    let order = [
        at("greet me"),
        at("Let me greet."),
        at(r#"tool call say_hi({"to":"you"}) [call_hi1]"#),
        at("tool result say_hi [call_hi1]:\nhi"),
        at("Said hi."),
        at("next"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{shown}");

    let json = home
        .confab()
        .args(["history", "show", &id, "--json"])
        .output()
        .expect("running confab");
    support::assert_success(&json);
    let lines: Vec<Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines[2]["type"], "tool_calls");
    assert_eq!(lines[2]["calls"][0]["name"], "say_hi");
    assert_eq!(lines[3]["type"], "tool_result");
    assert_eq!(lines[3]["result"]["call_id"], "call_hi1");
}

#[test]
fn replay_shows_the_tool_round_and_counts_every_call_of_the_turn() {
    let home = TempHome::new();
    openai_turn_then_continue(&home);
    let id = home.conversations()[0][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let output = home
        .confab()
        .args(["replay", &id])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    let at = |needle: &str| {
        shown
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} is not in:\n{shown}"))
    };
    let order = [
        at("user: greet me"),
        at("assistant: Let me greet."),
        at(r#"tool call say_hi({"to":"you"}) [call_hi1]"#),
        at("tool result say_hi [call_hi1]:\nhi"),
        at("assistant (gpt-4o-mini"),
        at("Said hi."),
        at("--- turn 2 ---"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{shown}");
    assert_eq!(shown.matches("Let me greet.").count(), 1, "{shown}");

    let json = support::success_json(
        &home
            .confab()
            .args(["replay", &id, "--json"])
            .output()
            .expect("running confab"),
    );
    let turn = &json["turns"][0];
    assert_eq!(turn["assistant"], "Let me greet.\n\nSaid hi.");
    let round = &turn["tool_rounds"][0];
    assert_eq!(round["content"], "Let me greet.");
    assert_eq!(round["calls"][0]["call"]["id"], "call_hi1");
    assert_eq!(round["calls"][0]["call"]["name"], "say_hi");
    assert_eq!(round["calls"][0]["call"]["arguments"], r#"{"to":"you"}"#);
    assert_eq!(round["calls"][0]["result"]["is_error"], false);
    assert!(round["calls"][0]["result"]["content"]
        .as_str()
        .is_some_and(|c| c.contains("hi")));
    // The turn made two calls: the tool round (no usage sent, so counted
    // locally) and the reply (30 in).
    let usage = home.usage_records();
    let first_two: u64 = usage[..2]
        .iter()
        .map(|r| r["input_tokens"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(turn["input_tokens"], first_two);
    assert!(turn["tool_rounds"].is_array());
    assert!(json["turns"][1].get("tool_rounds").is_none());
}

#[test]
fn replay_on_another_model_resends_only_the_user_messages() {
    let home = TempHome::new();
    openai_turn_then_continue(&home);
    let id = home.conversations()[0][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let fake = FakeProvider::start(vec![
        Reply::openai_stream("gpt-4o", &["Hi there."], Some((5, 2))),
        Reply::openai_stream("gpt-4o", &["Sure."], Some((9, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["replay", &id, "--model", "gpt-4o", "--json"])
        .output()
        .expect("running confab");
    let json = support::success_json(&output);
    assert_eq!(json["turns"].as_array().map(Vec::len), Some(2));
    let requests = fake.requests();
    assert_eq!(
        requests[0].json()["messages"],
        json!([{"role": "user", "content": "greet me"}])
    );
    assert_eq!(
        requests[1].json()["messages"],
        json!([
            {"role": "user", "content": "greet me"},
            {"role": "assistant", "content": "Hi there."},
            {"role": "user", "content": "next"}
        ])
    );
}

/// A conversation whose process died after the model asked for a tool:
/// a calls record and no result, no reply. The tool is still configured.
fn died_mid_round(home: &TempHome, model: &str, call_id: &str) {
    home.write("config.toml", SAY_HI_TOOL);
    died_mid_round_file(home, model, call_id);
}

/// The conversation file of [`died_mid_round`], without writing a config.
fn died_mid_round_file(home: &TempHome, model: &str, call_id: &str) {
    let header = HEADER.replace("openai:gpt-4o-mini", model);
    let user = r#"{"type":"message","v":1,"ts":"2026-11-27T10:15:01Z","role":"user","content":"greet me","model":null,"call_id":null,"interrupted":false}"#;
    let calls = json!({
        "type": "tool_calls", "v": 1, "ts": "2026-11-27T10:15:02Z",
        "content": "",
        "calls": [{"id": call_id, "name": "say_hi", "arguments": "{}"}],
        "model": null, "call_id": "c-1"
    });
    home.write(
        &format!("data/conversations/{ID}.jsonl"),
        format!("{header}\n{user}\n{calls}\n"),
    );
}

/// `chat -c next` on Anthropic; returns the fake with its one request.
fn anthropic_continue(home: &TempHome) -> FakeProvider {
    let fake = FakeProvider::start(vec![Reply::anthropic_stream(
        "claude-sonnet-4-5",
        &["Carrying on."],
        (9, 2),
    )]);
    let output = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "-c", "next"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    fake
}

#[test]
fn openai_a_call_without_a_recorded_result_is_answered_with_an_error() {
    let home = TempHome::new();
    died_mid_round(&home, "openai:gpt-4o-mini", "call_lost");
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["Carrying on."],
        Some((9, 2)),
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-c", "next"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        fake.requests()[0].json()["messages"],
        json!([
            {"role": "user", "content": "greet me"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_lost", "type": "function",
                 "function": {"name": "say_hi", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_lost",
             "content": "no result was recorded for this call"},
            {"role": "user", "content": "next"}
        ])
    );
}

#[test]
fn anthropic_a_call_without_a_recorded_result_is_answered_in_the_next_user_message() {
    let home = TempHome::new();
    died_mid_round(&home, "anthropic:claude-sonnet-4-5", "toolu_lost");
    let fake = anthropic_continue(&home);
    // One user message: the result first, then the new text.
    assert_eq!(
        fake.requests()[0].json()["messages"],
        json!([
            {"role": "user", "content": "greet me"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_lost", "name": "say_hi", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_lost",
                 "content": "no result was recorded for this call", "is_error": true},
                {"type": "text", "text": "next"}
            ]}
        ])
    );
    let shown = home
        .confab()
        .args(["replay", ID])
        .output()
        .expect("running confab");
    support::assert_success(&shown);
    assert!(String::from_utf8_lossy(&shown.stdout)
        .contains("tool call say_hi({}) [toolu_lost]\n(no result was recorded for this call)"));
}

#[test]
fn a_file_written_before_tool_records_still_continues_and_replays() {
    let home = TempHome::new();
    let user = r#"{"type":"message","v":1,"ts":"2026-11-27T10:15:01Z","role":"user","content":"capital of France?","model":null,"call_id":null,"interrupted":false}"#;
    let reply = r#"{"type":"message","v":1,"ts":"2026-11-27T10:15:02Z","role":"assistant","content":"Paris.","model":"gpt-4o-mini","call_id":"c-1","interrupted":false}"#;
    home.write(
        &format!("data/conversations/{ID}.jsonl"),
        format!("{HEADER}\n{user}\n{reply}\n"),
    );
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["About 2 million."],
        None,
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-c", "population?"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert!(
        !stderr_of(&output).contains("warning"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(
        fake.requests()[0].json()["messages"],
        json!([
            {"role": "user", "content": "capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "population?"}
        ])
    );
    let json = support::success_json(
        &home
            .confab()
            .args(["replay", ID, "--json"])
            .output()
            .expect("running confab"),
    );
    assert_eq!(json["turns"][0]["assistant"], "Paris.");
    assert!(json["turns"][0].get("tool_rounds").is_none());
    assert_eq!(json["turns"][1]["assistant"], "About 2 million.");
}

#[test]
fn tokens_in_the_interactive_chat_count_the_tool_round() {
    let home = TempHome::new();
    home.write("config.toml", SAY_HI_TOOL);
    let fake = FakeProvider::start(vec![
        Reply::openai_text_then_tool_call_stream(
            "gpt-4o-mini",
            "Let me greet.",
            "call_hi1",
            "say_hi",
            "{}",
        ),
        Reply::openai_stream("gpt-4o-mini", &["Said hi."], Some((30, 3))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-i"])
        .write_stdin("greet me\n/tokens\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // user, the call, its result, the reply.
    assert!(stdout.contains("(4 sent verbatim)"), "{stdout}");
}

#[test]
fn compaction_keeps_a_tool_round_whole_and_summarises_calls_readably() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        format!("{SAY_HI_TOOL}\n[compaction]\nkeep_last = 3\n"),
    );
    let model = "gpt-4o-mini";
    let round = |text: &str, id: &str| {
        Reply::openai_text_then_tool_call_stream(model, text, id, "say_hi", "{}")
    };
    let fake = FakeProvider::start(vec![
        round("Greeting one.", "call_1"),
        Reply::openai_stream(model, &["a1"], Some((10, 1))),
        round("Greeting two.", "call_2"),
        Reply::openai_stream(model, &["a2"], Some((10, 1))),
        Reply::openai_stream(model, &["a3"], Some((10, 1))),
        Reply::openai_json(model, "SUMMARY-TEXT", Some((10, 1))),
        Reply::openai_stream(model, &["a4"], Some((10, 1))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-i"])
        .write_stdin("u1\nu2\nu3\n/compact\nu4\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let requests = fake.requests();
    assert_eq!(requests.len(), 7, "{}", stderr_of(&output));
    // 10 messages, keep 3: message 7 is a reply, 6 a tool result and 5
    // its call, so the verbatim part starts at the user's message 4.
    let compaction = home.conversations()[0]
        .iter()
        .find(|r| r["type"] == "compaction")
        .cloned()
        .expect("a compaction record");
    assert_eq!(compaction["covers"], 4);
    let summary_call = requests[5].json();
    let prompt = summary_call["messages"][1]["content"]
        .as_str()
        .expect("the summary prompt");
    assert!(
        prompt.contains("[tool call call_1 to say_hi] {}"),
        "{prompt}"
    );
    assert!(prompt.contains("[tool result for call_1]\nhi"), "{prompt}");
    assert!(!prompt.contains("call_2"), "{prompt}");

    let after = requests[6].json();
    let messages = after["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant",
            "user"
        ]
    );
    let first = messages[0]["content"].as_str().unwrap_or("");
    assert!(
        first.contains("SUMMARY-TEXT") && first.ends_with("u2"),
        "{first}"
    );
    assert_eq!(messages[1]["tool_calls"][0]["id"], "call_2");
    assert_eq!(messages[2]["tool_call_id"], "call_2");
    assert_eq!(messages[6]["content"], "u4");
}

/// Continuing without tools: Anthropic answers 400 to tool_use and
/// tool_result blocks in a request that declares no tools, so the rounds go
/// as text the model can still read.
#[test]
fn anthropic_continue_without_tools_sends_the_round_as_text() {
    let home = TempHome::new();
    died_mid_round_file(&home, "anthropic:claude-sonnet-4-5", "toolu_lost");
    let fake = anthropic_continue(&home);
    let body = fake.requests()[0].json();
    assert!(body.get("tools").is_none(), "{body}");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "greet me"},
            {"role": "assistant", "content": "[called tool say_hi with {}]"},
            {"role": "user", "content":
                "[result of say_hi (an error)]\nno result was recorded for this call\n\nnext"}
        ])
    );
}

#[test]
fn openai_continue_without_tools_sends_the_round_as_text() {
    let home = TempHome::new();
    let fake = openai_turn_then_continue(&home);
    // The tool table is gone: the next turn offers no tools.
    home.write("config.toml", "");
    let third = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-c", "and then?"])
        .output()
        .expect("running confab");
    support::assert_success(&third);
    let body = fake.requests()[3].json();
    assert!(body.get("tools").is_none(), "{body}");
    let messages = body["messages"].as_array().expect("messages");
    assert!(
        messages
            .iter()
            .all(|m| m.get("tool_calls").is_none() && m["role"] != "tool"),
        "{body}"
    );
    let called = messages
        .iter()
        .find(|m| m["role"] == "assistant")
        .expect("an assistant message");
    assert_eq!(
        called["content"],
        "Let me greet.\n[called tool say_hi with {\"to\":\"you\"}]"
    );
    assert!(messages[2]["content"]
        .as_str()
        .is_some_and(|c| c.starts_with("[result of say_hi]\nhi")));
}
