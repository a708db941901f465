//! `confab replay` through the binary: rendering a stored conversation with
//! its per-turn costs, re-running it on another model against the fake
//! provider, and dry-run estimates.

mod support;

use predicates::prelude::*;
use support::fake_provider::{FakeProvider, Reply};
use support::TempHome;

/// A two-turn conversation on gpt-4o-mini; returns its id.
fn two_turns(home: &TempHome) -> String {
    let fake = FakeProvider::start(vec![
        Reply::openai_stream(
            "gpt-4o-mini-2024-07-18",
            &["Paris."],
            Some((1_000_000, 1_000_000)),
        ),
        Reply::openai_stream(
            "gpt-4o-mini-2024-07-18",
            &["About two million people."],
            Some((20, 5)),
        ),
    ]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "-s", "be brief", "capital of France?"])
        .assert()
        .success();
    home.confab_openai(&fake.base_url())
        .args(["chat", "-c", "population?"])
        .assert()
        .success();
    home.conversations()[0][0]["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

fn reference_count(text: &str) -> u64 {
    tiktoken_rs::o200k_base()
        .expect("reference")
        .encode_ordinary(text)
        .len() as u64
}

#[test]
fn renders_turns_with_tokens_latency_model_and_cost() {
    let home = TempHome::new();
    let id = two_turns(&home);
    let output = home
        .confab()
        .args(["replay", &id, "--json"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["system"], "be brief");
    let turns = json["turns"].as_array().expect("turns");
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0]["user"], "capital of France?");
    assert_eq!(turns[0]["assistant"], "Paris.");
    assert_eq!(turns[0]["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(turns[0]["input_tokens"], 1_000_000);
    // 1M in at $0.15 + 1M out at $0.60.
    let cost = turns[0]["cost_usd"].as_f64().expect("a cost");
    assert!((cost - 0.75).abs() < 1e-9, "{cost}");
    home.confab()
        .args(["replay", "last"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--- turn 2 ---")
                .and(predicate::str::contains("About two million")),
        );
    home.confab()
        .args(["replay", &id, "--markdown"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("## Turn 1").and(predicate::str::contains("**assistant**")),
        );
}

#[test]
fn reruns_on_another_model_and_compares() {
    let home = TempHome::new();
    let id = two_turns(&home);
    let fake = FakeProvider::start(vec![
        Reply::openai_stream(
            "gpt-4.1-2025-04-14",
            &["The capital is Paris."],
            Some((30, 6)),
        ),
        Reply::openai_stream(
            "gpt-4.1-2025-04-14",
            &["Roughly two million people."],
            Some((50, 5)),
        ),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["replay", &id, "--model", "gpt-4.1", "--json"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["original"], id.as_str());
    let turns = json["turns"].as_array().expect("turns");
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0]["input_tokens"], 30);
    assert_eq!(turns[0]["original_input_tokens"], 1_000_000);
    assert!(turns[0]["similarity"]
        .as_f64()
        .is_some_and(|s| s > 0.0 && s < 1.0));
    assert_eq!(json["total"]["input_tokens"], 80);
    // The new replies are the history of the next turn.
    let second = fake.requests()[1].json();
    let contents: Vec<&str> = second["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        [
            "be brief",
            "capital of France?",
            "The capital is Paris.",
            "population?"
        ]
    );
    assert_eq!(second["model"], "gpt-4.1");
    // A new conversation, linked to the original; calls recorded as replay.
    let conversations = home.conversations();
    assert_eq!(conversations.len(), 2);
    let replay = conversations
        .iter()
        .find(|c| c[0]["replay_of"] == id.as_str())
        .expect("the replay conversation");
    assert_eq!(replay.len(), 5);
    let usage = home.usage_records();
    assert_eq!(usage.iter().filter(|r| r["command"] == "replay").count(), 2);
}

#[test]
fn dry_run_estimates_without_calling() {
    let home = TempHome::new();
    let id = two_turns(&home);
    let fake = FakeProvider::start(vec![]);
    let output = home
        .confab_openai(&fake.base_url())
        .args([
            "replay",
            &id,
            "--dry-run",
            "--model",
            "gpt-4o,claude-sonnet-4-5",
            "--json",
        ])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert!(fake.requests().is_empty());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    // Turn 1: system + user; turn 2: system, user, reply, user; 3 tokens per
    // message, the role's tokens, 3 to prime each reply.
    let (system, u1, a1, u2) = (
        reference_count("be brief"),
        reference_count("capital of France?"),
        reference_count("Paris."),
        reference_count("population?"),
    );
    let role = |r: &str| reference_count(r);
    let turn1 = (3 + role("system") + system) + (3 + role("user") + u1) + 3;
    let turn2 = turn1 + (3 + role("assistant") + a1) + (3 + role("user") + u2);
    assert_eq!(json[0]["model"], "gpt-4o");
    assert_eq!(json[0]["input_tokens"], turn1 + turn2);
    assert_eq!(
        json[0]["output_tokens"],
        a1 + reference_count("About two million people.")
    );
    assert!(json[0]["cost_usd"].is_f64());
    assert_eq!(json[1]["estimate"], true);
}

#[test]
fn bad_ids_and_interrupted_turns_are_explained() {
    let home = TempHome::new();
    home.confab()
        .args(["replay", "20990101-000000-beef"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no conversation").and(predicate::str::contains("hint:")));
    home.confab()
        .args(["replay", "../../etc/passwd"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a conversation id"));
    home.confab()
        .args(["replay", "last"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no conversations yet"));

    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["cut", " off"],
        None,
    )
    .drop_after_parts(2)]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "tell me"])
        .assert()
        .code(4);
    home.confab()
        .args(["replay", "last"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[interrupted]"))
        .stderr(predicate::str::contains("turn 1's reply was interrupted"));
}

#[test]
fn reruns_on_several_models_at_once_one_conversation_each() {
    let home = TempHome::new();
    let id = two_turns(&home);
    let fake = FakeProvider::start_with_responder(|request| {
        let model = request.json()["model"].as_str().unwrap_or("").to_string();
        let text = format!("answer from {model}");
        Reply::openai_stream(&model, &[&text], Some((10, 4)))
            .with_delay_before_first_byte(std::time::Duration::from_millis(600))
    });
    let output = home
        .confab_openai(&fake.base_url())
        .args(["replay", &id, "--model", "gpt-4.1,gpt-4o", "--json"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert!(
        fake.max_in_flight() >= 2,
        "the models were called one after the other"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["original"], id.as_str());
    let replays = json["replays"].as_array().expect("one entry per model");
    assert_eq!(replays.len(), 2);
    for (replay, model) in replays.iter().zip(["gpt-4.1", "gpt-4o"]) {
        assert_eq!(replay["model"], model);
        let turns = replay["turns"].as_array().expect("turns");
        assert_eq!(turns.len(), 2);
        for turn in turns {
            assert_eq!(turn["reply"], format!("answer from {model}").as_str());
        }
        assert_eq!(replay["total"]["input_tokens"], 20);
    }
    // One new conversation per model, each with only its model's replies.
    let conversations = home.conversations();
    assert_eq!(conversations.len(), 3);
    for replay in replays {
        let new_id = replay["replay"].as_str().expect("the new id");
        let records = conversations
            .iter()
            .find(|c| c[0]["id"] == new_id)
            .expect("the replay conversation");
        assert_eq!(records[0]["replay_of"], id.as_str());
        let replies: Vec<&str> = records
            .iter()
            .filter(|r| r["role"] == "assistant")
            .filter_map(|r| r["content"].as_str())
            .collect();
        let expected = format!("answer from {}", replay["model"].as_str().unwrap_or(""));
        assert_eq!(replies, [expected.as_str(), expected.as_str()]);
    }
    let usage = home.usage_records();
    assert_eq!(usage.iter().filter(|r| r["command"] == "replay").count(), 4);
    // Without --json: one table, a row per model.
    let table = home
        .confab_openai(&fake.base_url())
        .args(["replay", &id, "--model", "gpt-4.1,gpt-4o"])
        .output()
        .expect("running confab");
    support::assert_success(&table);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("on 2 models"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("gpt-4.1 ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("gpt-4o ")), "{text}");
}
