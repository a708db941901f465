//! Rolling compaction through the real binary: long conversations against a
//! fake model that answers from what it is sent (its summaries keep the
//! lines marked FACT, as a model told to keep facts would), in the REPL and
//! in one-shot `-c` mode, and when the summary call fails.

mod support;

use confab::tokens::Encoding;
use serde_json::Value;
use support::fake_provider::{FakeProvider, RecordedRequest, Reply};
use support::{read_jsonl, stderr_of, TempHome};

/// What the summary calls' system prompt starts with.
const SUMMARY_MARK: &str = "You maintain the running summary";

const WINDOW: u64 = 3000;
const CAP: u64 = 256;

fn config(window: u64) -> String {
    format!(
        "max_tokens = {CAP}\n[models.\"gpt-4o-mini\"]\ncontext_window = {window}\nmax_output_tokens = 1024\n"
    )
}

fn is_summary_call(body: &Value) -> bool {
    body["messages"][0]["content"]
        .as_str()
        .is_some_and(|s| s.starts_with(SUMMARY_MARK))
}

/// A fake model: summary calls keep every FACT line they are shown (from
/// the previous summary and from the new messages); chat calls acknowledge
/// the last user message at some length.
fn fake_model(request: &RecordedRequest) -> Reply {
    let body = request.json();
    let messages = body["messages"].as_array().expect("messages");
    let last = messages.last().expect("a message")["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if is_summary_call(&body) {
        let mut facts: Vec<&str> = last
            .lines()
            .filter(|l| l.contains("FACT"))
            .map(str::trim)
            .collect();
        facts.dedup();
        let summary = if facts.is_empty() {
            "Small talk only.".to_string()
        } else {
            facts.join("\n")
        };
        return Reply::openai_json("gpt-4o-mini", &summary, Some((500, 40)));
    }
    let topic: String = last.lines().last().unwrap_or("").chars().take(12).collect();
    let reply = format!(
        "noted {topic}; here is a reply long enough to take room in the window, \
         with a few more words about the subject at hand and nothing else"
    );
    Reply::openai_stream("gpt-4o-mini", &[&reply], Some((100, 30)))
}

fn user_message(turn: usize) -> String {
    let fact = if turn == 1 {
        " FACT: the project codename is BLUE-HERON-7."
    } else {
        ""
    };
    format!(
        "turn {turn:03}:{fact} please consider the following remarks about the design of the \
         storage layer, the retry policy, the rate limiter and the way conversations are kept"
    )
}

/// Tokens a request's messages take (o200k with 4 per message of overhead
/// and 3 for the reply), as a careful client would count them.
fn request_tokens(body: &Value) -> u64 {
    let messages = body["messages"].as_array().expect("messages");
    3 + messages
        .iter()
        .map(|m| 4 + Encoding::O200kBase.count(m["content"].as_str().unwrap_or("")) as u64)
        .sum::<u64>()
}

fn chat_requests(fake: &FakeProvider) -> Vec<Value> {
    fake.requests()
        .iter()
        .map(RecordedRequest::json)
        .filter(|b| !is_summary_call(b))
        .collect()
}

fn message_records(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["type"] == "message").collect()
}

#[test]
fn a_200_turn_conversation_stays_in_the_window_and_keeps_its_facts() {
    let home = TempHome::new();
    home.write("config.toml", config(WINDOW));
    let fake = FakeProvider::start_with_responder(fake_model);
    let turns = 200;
    let input: String = (1..=turns).map(|t| user_message(t) + "\n").collect();
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-i"])
        .write_stdin(input + "/tokens\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("noted turn 200"), "the last turn ran");

    let chats = chat_requests(&fake);
    assert_eq!(chats.len(), turns, "one chat call per turn");
    for (i, body) in chats.iter().enumerate() {
        let tokens = request_tokens(body);
        assert!(
            tokens + CAP <= WINDOW,
            "turn {}: {tokens} prompt tokens + {CAP} cap over the {WINDOW}-token window",
            i + 1
        );
        assert_eq!(body["max_completion_tokens"], CAP);
    }
    // Compaction happened many times, and the fact from turn 1 is still in
    // every late request, carried by the chain of summaries.
    let summaries = fake
        .requests()
        .iter()
        .filter(|r| is_summary_call(&r.json()))
        .count();
    assert!(summaries >= 10, "only {summaries} summary calls");
    for body in &chats[150..] {
        let first = body["messages"][0]["content"].as_str().unwrap_or("");
        assert!(
            first.contains("<summary>") && first.contains("BLUE-HERON-7"),
            "the summary carries turn 1's fact: {first}"
        );
    }

    // The file keeps every message; the last request sends the last six
    // stored messages verbatim (the first behind the summary), then the new one.
    let conversations = home.conversations();
    assert_eq!(conversations.len(), 1);
    let records = &conversations[0];
    let stored = message_records(records);
    assert_eq!(stored.len(), 2 * turns, "no message was lost from the file");
    let compactions: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "compaction")
        .map(|r| r["covers"].as_u64().expect("covers"))
        .collect();
    assert_eq!(compactions.len(), summaries);
    assert!(
        compactions.windows(2).all(|w| w[0] < w[1]),
        "{compactions:?}"
    );

    let last = chats.last().expect("a request")["messages"]
        .as_array()
        .expect("messages")
        .clone();
    let sent: Vec<&str> = last
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    let tail: Vec<&str> = stored[stored.len() - 8..stored.len() - 2]
        .iter()
        .map(|r| r["content"].as_str().unwrap())
        .collect();
    let n = sent.len();
    assert!(n >= 7, "{n} messages sent");
    assert_eq!(
        &sent[n - 6..n - 1],
        &tail[1..],
        "the last turns go verbatim"
    );
    assert!(sent[n - 7].ends_with(tail[0]));
    assert_eq!(sent[n - 1], user_message(turns));

    // Each summary call is in the usage log as `compaction`.
    let usage = home.usage_records();
    let compaction_calls = usage
        .iter()
        .filter(|r| r["command"] == "compaction")
        .count();
    assert_eq!(compaction_calls, summaries);
    assert_eq!(usage.len(), turns + summaries);

    // `/tokens` shows how the context is spent; `history show` the summaries.
    assert!(stdout.contains("summary "), "{stdout}");
    assert!(stdout.contains("compacts when the prompt passes"));
    let id = records[0]["id"].as_str().unwrap();
    home.confab()
        .args(["history", "show", id])
        .assert()
        .success()
        .stdout(
            predicates::str::contains("--- compacted:")
                .and(predicates::str::contains("BLUE-HERON-7")),
        );
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn one_shot_continue_compacts_too() {
    let home = TempHome::new();
    home.write("config.toml", config(1500));
    let fake = FakeProvider::start_with_responder(fake_model);
    let receiver = support::otlp_receiver::OtlpReceiver::start();
    for turn in 1..=30 {
        let mut cmd = home.confab_openai(&fake.base_url());
        cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
            .env("OTEL_METRICS_EXPORTER", "none")
            .arg("chat");
        if turn > 1 {
            cmd.arg("-c");
        }
        cmd.arg(user_message(turn)).assert().success();
    }
    let chats = chat_requests(&fake);
    assert_eq!(chats.len(), 30);
    assert!(chats.iter().all(|b| request_tokens(b) + CAP <= 1500));
    let last = chats.last().unwrap()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(last.contains("BLUE-HERON-7"), "{last}");
    let records = &home.conversations()[0];
    assert_eq!(message_records(records).len(), 60);
    assert!(records.iter().any(|r| r["type"] == "compaction"));
    // Each summary is a `compaction` span around its model call, in the
    // turn's trace.
    let spans = receiver.spans();
    let compactions: Vec<_> = spans.iter().filter(|s| s.name == "compaction").collect();
    assert!(!compactions.is_empty(), "no compaction span");
    for compaction in compactions {
        let call = spans
            .iter()
            .find(|s| s.parent_span_id == compaction.span_id)
            .expect("the summary call under its compaction span");
        assert_eq!(call.name, "chat gpt-4o-mini");
        let command = support::otlp_receiver::attribute(&call.attributes, "confab.command");
        assert_eq!(command.as_deref(), Some("compaction"));
        let root = spans
            .iter()
            .find(|s| s.span_id == compaction.parent_span_id)
            .expect("the compaction under the command");
        assert_eq!(root.name, "confab chat");
    }
}

#[test]
fn a_failed_summary_call_drops_the_oldest_turns_and_keeps_the_users_turn() {
    let home = TempHome::new();
    home.write("config.toml", config(1500));
    let fake = FakeProvider::start_with_responder(|request| {
        if is_summary_call(&request.json()) {
            Reply::openai_error(400, "invalid_request_error", "summaries are broken today")
        } else {
            fake_model(request)
        }
    });
    let mut last_stderr = String::new();
    for turn in 1..=16 {
        let mut cmd = home.confab_openai(&fake.base_url());
        cmd.arg("chat");
        if turn > 1 {
            cmd.arg("-c");
        }
        let output = cmd
            .arg(user_message(turn))
            .output()
            .expect("running confab");
        support::assert_success(&output);
        last_stderr = stderr_of(&output);
    }
    assert!(
        last_stderr.contains("could not summarise") && last_stderr.contains("summaries are broken"),
        "{last_stderr}"
    );
    assert!(
        last_stderr.contains("sending without the oldest"),
        "{last_stderr}"
    );
    let chats = chat_requests(&fake);
    assert_eq!(chats.len(), 16, "every turn was sent");
    for body in &chats {
        assert_eq!(
            body["messages"][0]["role"], "user",
            "requests start with the user"
        );
    }
    let threshold = ((1500 - CAP) as f64 * 0.75) as u64;
    let last = chats.last().unwrap();
    assert!(
        request_tokens(last) <= threshold + 50,
        "dropped down to the threshold"
    );
    let first_sent = last["messages"][0]["content"].as_str().unwrap();
    assert!(
        !first_sent.contains("turn 001"),
        "the oldest turns were left out"
    );
    // 400 is never retried; nothing is lost from the file.
    let records = &home.conversations()[0];
    assert_eq!(message_records(records).len(), 32);
    assert!(!records.iter().any(|r| r["type"] == "compaction"));
    let usage = home.usage_records();
    assert!(usage
        .iter()
        .filter(|r| r["command"] == "compaction")
        .all(|r| r["outcome"] == "error" && r["retries"] == 0));
}

#[test]
fn compact_at_set_on_a_continued_conversation_is_kept_for_it() {
    let home = TempHome::new();
    home.write("config.toml", config(10_000));
    let fake = FakeProvider::start_with_responder(fake_model);
    home.confab_openai(&fake.base_url())
        .args(["chat", &user_message(1)])
        .assert()
        .success();
    // 0.05 of the window: every later turn compacts.
    home.confab_openai(&fake.base_url())
        .args(["chat", "-c", "--compact-at", "0.05", &user_message(2)])
        .assert()
        .success();
    for turn in 3..=14 {
        home.confab_openai(&fake.base_url())
            .args(["chat", "-c", &user_message(turn)])
            .assert()
            .success();
    }
    let records = &home.conversations()[0];
    assert!(records
        .iter()
        .any(|r| r["type"] == "settings" && r["compact_at"].as_f64() == Some(0.05)));
    assert!(
        records.iter().any(|r| r["type"] == "compaction"),
        "the later runs used the conversation's threshold"
    );
    home.confab_openai(&fake.base_url())
        .args(["chat", "--compact-at", "2"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("between 0.05 and 1.0"));
}

#[test]
fn compact_forces_a_summary_and_replay_still_sees_every_message() {
    let home = TempHome::new();
    let fake = FakeProvider::start_with_responder(fake_model);
    let input: String = (1..=5).map(|t| user_message(t) + "\n").collect();
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-i"])
        .write_stdin(input + "/compact\n/tokens\n/compact\n" + &user_message(6) + "\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("summarised 4 more messages"),
        "keeps the last 6 of 10 messages: {stdout}"
    );
    assert!(
        stdout.contains("stands for the first 4 messages"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing to compact"), "{stdout}");
    let chats = chat_requests(&fake);
    let last = chats.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(last.len(), 7, "6 kept verbatim plus the new message");
    assert!(last[0]["content"]
        .as_str()
        .unwrap()
        .contains("BLUE-HERON-7"));

    let id = home.conversations()[0][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let replay = home
        .confab()
        .args(["replay", &id, "--json"])
        .output()
        .expect("running confab");
    let json = support::success_json(&replay);
    assert_eq!(json["turns"].as_array().map(Vec::len), Some(6));
    let _ = read_jsonl;
}

#[test]
fn the_system_prompt_is_never_summarised_and_summaries_have_their_cap() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        format!("{}[compaction]\nsummary_max_tokens = 77\n", config(1500)),
    );
    let fake = FakeProvider::start_with_responder(fake_model);
    for turn in 1..=20 {
        let mut cmd = home.confab_openai(&fake.base_url());
        cmd.arg("chat");
        if turn > 1 {
            cmd.arg("-c");
        } else {
            cmd.args(["-s", "SYSTEM-MARKER: answer as a storage engineer"]);
        }
        cmd.arg(user_message(turn)).assert().success();
    }
    let bodies: Vec<Value> = fake.requests().iter().map(RecordedRequest::json).collect();
    let summaries: Vec<&Value> = bodies.iter().filter(|b| is_summary_call(b)).collect();
    assert!(!summaries.is_empty(), "the conversation was compacted");
    for summary in &summaries {
        assert!(
            !summary.to_string().contains("SYSTEM-MARKER"),
            "a summary call was shown the system prompt: {summary}"
        );
        assert_eq!(summary["max_completion_tokens"], 77);
    }
    for chat in bodies.iter().filter(|b| !is_summary_call(b)) {
        assert_eq!(chat["messages"][0]["role"], "system");
        assert!(chat["messages"][0]["content"]
            .as_str()
            .is_some_and(|s| s.starts_with("SYSTEM-MARKER")));
    }
}

#[test]
fn keep_last_sets_how_many_messages_stay_verbatim_after_a_summary() {
    let verbatim_after_summaries = |keep_last: usize| -> Vec<usize> {
        let home = TempHome::new();
        home.write(
            "config.toml",
            format!("{}[compaction]\nkeep_last = {keep_last}\n", config(1500)),
        );
        let fake = FakeProvider::start_with_responder(fake_model);
        for turn in 1..=24 {
            let mut cmd = home.confab_openai(&fake.base_url());
            cmd.arg("chat");
            if turn > 1 {
                cmd.arg("-c");
            }
            cmd.arg(user_message(turn)).assert().success();
        }
        let bodies: Vec<Value> = fake.requests().iter().map(RecordedRequest::json).collect();
        bodies
            .windows(2)
            .filter(|pair| is_summary_call(&pair[0]) && !is_summary_call(&pair[1]))
            .map(|pair| pair[1]["messages"].as_array().map_or(0, Vec::len))
            .collect()
    };
    // The new user message and the turn before it: the last two stay, and
    // the kept part starts at a user message, so three go verbatim.
    let two = verbatim_after_summaries(2);
    assert!(!two.is_empty(), "compacted");
    assert!(two.iter().all(|&n| n == 3), "{two:?}");
    let six = verbatim_after_summaries(6);
    assert!(!six.is_empty(), "compacted");
    assert!(six.iter().all(|&n| n == 7), "{six:?}");
}
