//! Prompt caching (issue #17, part 3, Anthropic side): `chat --cache-prompt`
//! (or `cache_prompt = true`) puts `cache_control` breakpoints on the
//! last tool declaration, the system prompt, the previous user message and
//! the newest one, never more than four; the cache write and read tokens
//! the API reports are recorded and priced in `cost-report`.

mod support;

use serde_json::Value;
use support::fake_provider::{FakeProvider, Reply};
use support::{TempHome, SAY_HI_TOOL};

/// Every `cache_control` marker in a request body, as JSON paths.
fn markers(value: &Value, path: String, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "cache_control" {
                    found.push(path.clone());
                } else {
                    markers(inner, format!("{path}.{key}"), found);
                }
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                markers(inner, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn breakpoints_go_on_the_stable_prefix_and_cache_tokens_are_priced() {
    let home = TempHome::new();
    home.write("config.toml", SAY_HI_TOOL);
    let fake = FakeProvider::start(vec![
        Reply::anthropic_cached_stream("claude-sonnet-4-5", &["one"], (10, 2), (2000, 0)),
        Reply::anthropic_cached_stream("claude-sonnet-4-5", &["two"], (12, 2), (0, 2000)),
    ]);
    for args in [
        [
            "chat",
            "--cache-prompt",
            "-m",
            "claude-sonnet-4-5",
            "-s",
            "a long system prompt",
            "first",
        ]
        .as_slice(),
        ["chat", "--cache-prompt", "-c", "second"].as_slice(),
    ] {
        let output = home
            .confab_anthropic(&fake.base_url())
            .args(args)
            .output()
            .expect("running confab");
        support::assert_success(&output);
    }
    let second = fake.requests()[1].json();
    let mut found = Vec::new();
    markers(&second, String::new(), &mut found);
    assert_eq!(
        found,
        [
            ".messages[0].content[0]",
            ".messages[2].content[0]",
            ".system[0]",
            ".tools[0]"
        ],
        "{second}"
    );
    assert_eq!(second["system"][0]["text"], "a long system prompt");

    // Without the flag, no markers.
    let fake_plain = FakeProvider::start(vec![Reply::anthropic_stream(
        "claude-sonnet-4-5",
        &["plain"],
        (10, 2),
    )]);
    let plain = home
        .confab_anthropic(&fake_plain.base_url())
        .args(["chat", "-m", "claude-sonnet-4-5", "-s", "sys", "hi"])
        .output()
        .expect("running confab");
    support::assert_success(&plain);
    assert!(!fake_plain.requests()[0].body.contains("cache_control"));

    let usage = home.usage_records();
    assert_eq!(usage[0]["cache_write_tokens"], 2000);
    assert_eq!(usage[1]["cached_input_tokens"], 2000);
    let report = home
        .confab()
        .args(["cost-report", "--group-by", "conversation", "--json"])
        .output()
        .expect("running confab");
    let report = support::success_json(&report);
    // Hand-computed at claude-sonnet-4-5's prices ($ per million: input 3,
    // cache write 3.75, cache read 0.30, output 15):
    // call 1: 10*3 + 2000*3.75 + 2*15 = 7560; call 2: 12*3 + 2000*0.3 + 2*15 = 666.
    let cached = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| row["calls"] == 2)
        .expect("the cached conversation");
    let cost = cached["cost_usd"].as_f64().expect("cost");
    assert!((cost - 8226.0e-6).abs() < 1e-9, "{cost}");
    // The saving against the full input price: call 1 would have cost
    // 2010*3 + 2*15 = 6060 (1500 less: the write premium), call 2
    // 2012*3 + 2*15 = 6066 (5400 more): 3900 saved.
    let saved = cached["prompt_cache_saved_usd"].as_f64().expect("saving");
    assert!((saved - 3900.0e-6).abs() < 1e-9, "{saved}");
    let table = home
        .confab()
        .args(["cost-report", "--group-by", "conversation"])
        .output()
        .expect("running confab");
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains("prompt cache read 2000 tokens and wrote 2000: $0.0039 less"),
        "{table}"
    );
}

#[test]
fn tokens_and_json_show_what_the_cache_did() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::anthropic_cached_stream("claude-sonnet-4-5", &["one"], (10, 2), (2000, 0)),
        Reply::anthropic_cached_stream("claude-sonnet-4-5", &["two"], (10, 2), (0, 2000)),
    ]);
    let repl = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "-i", "--cache-prompt", "-m", "claude-sonnet-4-5"])
        .write_stdin("hello\n/tokens\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&repl);
    let stdout = String::from_utf8_lossy(&repl.stdout);
    assert!(
        stdout.contains("prompt cache      on, kept 5 minutes:")
            && stdout.contains("the last reply read 0 cached tokens, wrote 2000"),
        "{stdout}"
    );
    let json = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "-c", "--cache-prompt", "--json", "again"])
        .output()
        .expect("running confab");
    let json = support::success_json(&json);
    assert_eq!(json["cached_input_tokens"], 2000);
    assert_eq!(json["cache_write_tokens"], 0);
}
