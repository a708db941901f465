//! The trust boundary of `confab chat` through the real binary against the
//! fake provider: secrets are refused or redacted before anything is sent
//! or saved.

mod support;

use predicates::prelude::*;
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome};

const OPENAI_KEY: &str = "sk-proj-Zq8vT2mW9xR4kL7pN3bY6cH1dF5gJ0sA";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLQ";

#[test]
fn a_secret_in_the_message_is_refused_with_its_location_and_nothing_is_sent() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "why does this fail?"])
        .write_stdin(format!(
            "import os\n\nclient = OpenAI(api_key=\"{OPENAI_KEY}\")\n"
        ))
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(5), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("openai_key in the message at line 5, column 26"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--redact"),
        "says what to do next: {stderr}"
    );
    assert!(!stderr.contains(OPENAI_KEY), "the secret is not echoed");
    assert!(fake.requests().is_empty(), "nothing was sent");
    assert!(home.conversations().is_empty(), "nothing was saved");
    assert!(home.usage_records().is_empty());
}

#[test]
fn redact_replaces_secrets_in_what_is_sent_and_stored() {
    let home = TempHome::new();
    home.write("config.toml", "log_prompts = true\n");
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["rotate it"],
        Some((20, 2)),
    )]);
    let message = format!("is this AWS key {AWS_KEY} and this one {OPENAI_KEY} safe to commit?");
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "--redact", &message])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert!(stderr_of(&output).contains("redacted 2 secret(s)"));
    let body = fake.requests()[0].body.clone();
    assert!(body.contains("[REDACTED:aws_access_key]") && body.contains("[REDACTED:openai_key]"));
    for secret in [AWS_KEY, OPENAI_KEY] {
        assert!(!body.contains(secret), "sent: {body}");
        let log = std::fs::read_to_string(home.path().join("data/usage.jsonl")).unwrap();
        assert!(!log.contains(secret), "the usage log holds a secret");
        let conversation = serde_json::to_string(&home.conversations()).unwrap();
        assert!(!conversation.contains(secret));
    }
    let usage = home.usage_records();
    assert!(usage[0]["prompt"]
        .as_str()
        .is_some_and(|p| p.contains("[REDACTED:openai_key]")));
}

#[test]
fn a_secret_in_the_system_prompt_is_refused_too() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "-s", &format!("use token={OPENAI_KEY}"), "hello"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("in the system prompt at line 1"));
    assert!(fake.requests().is_empty());
}
