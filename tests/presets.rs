//! Presets (issue #16, part 1): `chat -p NAME` takes a preset's system
//! prompt, template, settings, tools and tags, flags override them, and
//! the preset is kept in the conversation file and the usage log so that
//! `replay` and `cost-report --group-by preset` know it. `confab presets
//! list|show|edit`. Against the fake provider.

mod support;

use serde_json::{json, Value};
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome, SAY_HI_TOOL};

fn reply(text: &str) -> Reply {
    Reply::openai_stream("gpt-4o-mini", &[text], Some((20, 4)))
}

/// The messages of a request, as (role, content) pairs.
fn messages(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_piped_diff_goes_through_the_builtin_review_preset() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![reply("no problems found")]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-p", "review"])
        .write_stdin("--- a/x.rs\n+++ b/x.rs\n+let x = 1;\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "no problems found\n"
    );
    let body = fake.requests()[0].json();
    let sent = messages(&body);
    assert_eq!(sent[0].0, "system");
    assert!(
        sent[0].1.contains("careful senior code reviewer"),
        "{}",
        sent[0].1
    );
    assert_eq!(sent[1].0, "user");
    assert!(sent[1].1.starts_with("Review this diff."), "{}", sent[1].1);
    assert!(sent[1].1.ends_with("+let x = 1;\n"), "{}", sent[1].1);
    assert_eq!(body["temperature"], json!(0.0));

    let usage = home.usage_records();
    assert_eq!(usage[0]["preset"], "review");
    assert_eq!(usage[0]["tags"], json!(["review"]));
    let records = &home.conversations()[0];
    let user = records
        .iter()
        .find(|r| r["role"] == "user")
        .expect("a user message");
    assert_eq!(user["preset"], "review");
}

const TRANSLATE: &str = r#"
description = "Translate"
system = "You translate."
template = "Translate into {lang}:\n\n{input}"
max_tokens = 800
temperature = 0.5
tags = ["translate"]
"#;

#[test]
fn variables_fill_the_template_and_flags_override_the_preset() {
    let home = TempHome::new();
    home.write("presets/translate.toml", TRANSLATE);
    let fake = FakeProvider::start(vec![reply("Hallo")]);
    let output = home
        .confab_openai(&fake.base_url())
        .args([
            "chat",
            "-p",
            "translate",
            "--var",
            "lang=German",
            "--max-tokens",
            "50",
            "--tag",
            "ci",
            "hello",
        ])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let body = fake.requests()[0].json();
    assert_eq!(
        messages(&body)[1],
        (
            "user".to_string(),
            "Translate into German:\n\nhello".to_string()
        )
    );
    assert_eq!(
        body["max_tokens"]
            .as_u64()
            .or(body["max_completion_tokens"].as_u64()),
        Some(50)
    );
    assert_eq!(body["temperature"], json!(0.5));
    assert_eq!(home.usage_records()[0]["tags"], json!(["translate", "ci"]));
}

#[test]
fn a_missing_variable_is_a_usage_error_listing_the_variables_before_any_call() {
    let home = TempHome::new();
    home.write("presets/translate.toml", TRANSLATE);
    let fake = FakeProvider::start(vec![reply("unused")]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-p", "translate", "hello"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("missing variable: `lang`"), "{stderr}");
    assert!(stderr.contains("`input`, `lang`"), "{stderr}");
    assert!(stderr.contains("--var KEY=VALUE"), "{stderr}");
    assert!(fake.requests().is_empty());

    let unknown = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-p", "nope", "hello"])
        .output()
        .expect("running confab");
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = stderr_of(&unknown);
    assert!(stderr.contains("no preset named `nope`"), "{stderr}");
    assert!(
        stderr.contains("review") && stderr.contains("translate"),
        "{stderr}"
    );

    let escape = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-p", "../config", "hello"])
        .output()
        .expect("running confab");
    assert_eq!(escape.status.code(), Some(2));
    assert!(stderr_of(&escape).contains("is not a preset name"));
    assert!(fake.requests().is_empty());
}

#[test]
fn cost_report_groups_by_preset_and_replay_shows_and_keeps_it() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        reply("summary"),
        reply("plain"),
        reply("summary again"),
    ]);
    for args in [
        ["chat", "-p", "summarize", "a long text"].as_slice(),
        ["chat", "just a question"].as_slice(),
    ] {
        let output = home
            .confab_openai(&fake.base_url())
            .args(args)
            .output()
            .expect("running confab");
        support::assert_success(&output);
    }
    let report = home
        .confab()
        .args(["cost-report", "--group-by", "preset", "--json"])
        .output()
        .expect("running confab");
    let report = support::success_json(&report);
    let groups: Vec<&str> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|row| row["group"][0].as_str())
        .collect();
    assert!(groups.contains(&"summarize"), "{report}");
    assert!(groups.contains(&"(none)"), "{report}");

    // The conversation made with the preset (both may share a second).
    let first = home
        .conversations()
        .into_iter()
        .find(|records| records.iter().any(|r| r["preset"] == "summarize"))
        .and_then(|records| records[0]["id"].as_str().map(str::to_string))
        .expect("the preset's conversation");
    let shown = home
        .confab()
        .args(["replay", &first])
        .output()
        .expect("running confab");
    support::assert_success(&shown);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("user (preset summarize):"), "{text}");

    let rerun = home
        .confab_openai(&fake.base_url())
        .args(["replay", &first, "--model", "gpt-4o-mini", "--json"])
        .output()
        .expect("running confab");
    support::assert_success(&rerun);
    let replayed = home.usage_records();
    let last = replayed.last().expect("a record");
    assert_eq!(last["command"], "replay");
    assert_eq!(last["preset"], "summarize");
}

#[test]
fn a_preset_offers_only_its_tools() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        format!(
            "{SAY_HI_TOOL}\n[tools.say_bye]\ndescription = \"Say bye\"\ncommand = [\"/bin/echo\", \"bye\"]\nrisk = \"low\"\n[tools.say_bye.parameters]\ntype = \"object\"\n"
        ),
    );
    home.write("presets/greeter.toml", "tools = [\"say_hi\"]\n");
    home.write("presets/bad.toml", "tools = [\"say_what\"]\n");
    let fake = FakeProvider::start(vec![reply("hi"), reply("hi")]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-p", "greeter", "greet me"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let declared: Vec<String> = fake.requests()[0].json()["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| {
            t["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(declared, ["say_hi"]);
    let without = home
        .confab_openai(&fake.base_url())
        .args(["chat", "greet me"])
        .output()
        .expect("running confab");
    support::assert_success(&without);
    assert_eq!(
        fake.requests()[1].json()["tools"].as_array().map(Vec::len),
        Some(2)
    );

    let bad = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-p", "bad", "greet me"])
        .output()
        .expect("running confab");
    assert_eq!(bad.status.code(), Some(2));
    let stderr = stderr_of(&bad);
    assert!(stderr.contains("`say_what`"), "{stderr}");
    assert!(stderr.contains("say_bye, say_hi"), "{stderr}");
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_preset_schema_is_found_next_to_the_preset() {
    let home = TempHome::new();
    home.write(
        "presets/extract.toml",
        "template = \"Extract the names: {input}\"\nschema = \"names.schema.json\"\n",
    );
    home.write(
        "presets/names.schema.json",
        r#"{"type":"object","properties":{"person_names":{"type":"array","items":{"type":"string"}}},"required":["person_names"],"additionalProperties":false}"#,
    );
    let fake = FakeProvider::start(vec![reply(r#"{"person_names":["Ada"]}"#)]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-p", "extract", "Ada wrote it"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let body = &fake.requests()[0].body;
    assert!(body.contains("person_names"), "the schema was sent: {body}");
}

#[test]
fn presets_list_show_and_edit() {
    let home = TempHome::new();
    home.write("presets/broken.toml", "temprature = 1\n");
    let list = home
        .confab()
        .args(["presets", "list", "--json"])
        .output()
        .expect("running confab");
    let list = support::success_json(&list);
    let names: Vec<&str> = list
        .as_array()
        .expect("presets")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["broken", "commit-message", "explain", "review", "summarize"]
    );
    assert_eq!(list[0]["ok"], false);
    assert!(list[0]["description"]
        .as_str()
        .unwrap_or_default()
        .contains("temprature"));

    let show = home
        .confab()
        .args(["presets", "show", "review"])
        .output()
        .expect("running confab");
    support::assert_success(&show);
    assert!(String::from_utf8_lossy(&show.stdout).contains("template = "));

    // An "editor" that appends a line to the file it is given.
    let editor = home.write(
        "editor.sh",
        "#!/bin/sh\nprintf 'model = \"openai:gpt-4o\"\\n' >> \"$1\"\n",
    );
    make_executable(&editor);
    let edit = home
        .confab()
        .env("EDITOR", &editor)
        .args(["presets", "edit", "review"])
        .output()
        .expect("running confab");
    support::assert_success(&edit);
    let copied = std::fs::read_to_string(home.path().join("presets/review.toml")).expect("copy");
    assert!(copied.contains("careful senior code reviewer"), "{copied}");
    assert!(copied.ends_with("model = \"openai:gpt-4o\"\n"), "{copied}");

    // An edit that breaks the file keeps it and says how to fix it.
    let breaker = home.write(
        "breaker.sh",
        "#!/bin/sh\nprintf 'max_tokens = 0\\n' >> \"$1\"\n",
    );
    make_executable(&breaker);
    let broken = home
        .confab()
        .env("EDITOR", &breaker)
        .args(["presets", "edit", "fresh"])
        .output()
        .expect("running confab");
    assert_eq!(broken.status.code(), Some(2));
    let stderr = stderr_of(&broken);
    assert!(stderr.contains("max_tokens must be at least 1"), "{stderr}");
    assert!(stderr.contains("confab presets edit fresh"), "{stderr}");
    let kept = std::fs::read_to_string(home.path().join("presets/fresh.toml")).expect("kept");
    assert!(kept.contains("description = ") && kept.ends_with("max_tokens = 0\n"));
}

fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
