//! `confab batch` through the binary, against the fake provider's batch
//! endpoints (issue #17 part 4): submit, status, results in input order
//! with per-line errors, cancel, list, the usage log at the batch price,
//! cost-report showing batch calls, and --dry-run's price, each checked
//! against numbers worked out by hand from the price table.

mod support;

use serde_json::Value;
use support::fake_batches::{Outcome, DEFAULT_USAGE};
use support::fake_provider::FakeProvider;
use support::{assert_success, stderr_of, success_json, TempHome};

/// gpt-4o-mini's prices (assets/prices.toml), USD per million tokens.
const MINI_IN: f64 = 0.15;
const MINI_OUT: f64 = 0.60;
/// claude-sonnet-4-5's: input, cache read, cache write (5 min), output.
const SONNET: [f64; 4] = [3.00, 0.30, 3.75, 15.00];

fn stdout_lines(output: &std::process::Output) -> Vec<Value> {
    assert_success(output);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn submit(home: &TempHome, cmd: &mut assert_cmd::Command, file: &str, model: &str) -> String {
    let output = cmd
        .args(["batch", "submit", file, "-m", model, "--json"])
        .output()
        .expect("running confab");
    let json = success_json(&output);
    let id = json["id"].as_str().expect("an id").to_string();
    assert!(home.path().join(format!("data/batches/{id}.json")).exists());
    id
}

fn batch_records(home: &TempHome) -> Vec<Value> {
    home.usage_records()
        .into_iter()
        .filter(|r| r["tier"] == "batch")
        .collect()
}

#[test]
fn an_openai_batch_goes_through_files_and_batches_and_comes_back_in_input_order() {
    let fake = FakeProvider::start(Vec::new());
    fake.batches().script(
        "b",
        Outcome::Error {
            status: 400,
            kind: "invalid_request_error".into(),
            message: "bad request b".into(),
        },
    );
    let home = TempHome::new();
    home.write(
        "in.jsonl",
        "{\"id\": \"a\", \"prompt\": \"first\"}\n{\"id\": \"b\", \"prompt\": \"second\", \"max_tokens\": 50}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"third\"}]}\n",
    );
    let url = fake.base_url();
    let id = submit(
        &home,
        &mut home.confab_openai(&url),
        "in.jsonl",
        "gpt-4o-mini",
    );

    // What was sent: the chat body of each line, non-streaming, capped.
    let bodies = fake.batches().bodies(&id);
    let ids: Vec<&str> = bodies.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "line-4"]);
    assert_eq!(bodies[0].1["stream"], false);
    assert_eq!(bodies[0].1["max_completion_tokens"], 4096);
    assert_eq!(bodies[1].1["max_completion_tokens"], 50);
    assert_eq!(bodies[2].1["messages"][0]["content"], "third");
    let upload = &fake.batches().requests()[0];
    assert_eq!(upload.path, "/v1/files");
    assert_eq!(
        upload.header("authorization"),
        Some("Bearer test-openai-key")
    );

    // The first poll: still running, and `results` says so with exit 75.
    let fake_status = fake.batches().requests().len();
    assert_eq!(fake_status, 2, "upload and create, no poll yet");
    let running = home
        .confab_openai(&url)
        .args(["batch", "results", &id])
        .output()
        .expect("running confab");
    assert_eq!(running.status.code(), Some(75), "{}", stderr_of(&running));
    assert!(
        stderr_of(&running).contains("in_progress"),
        "{}",
        stderr_of(&running)
    );
    assert!(
        batch_records(&home).is_empty(),
        "nothing is recorded before the end"
    );

    let results = |home: &TempHome| {
        stdout_lines(
            &home
                .confab_openai(&url)
                .args(["batch", "results", &id])
                .output()
                .expect("running confab"),
        )
    };
    let lines = results(&home);
    let order: Vec<&str> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        order,
        ["a", "b", "line-4"],
        "input order, though the server sent them reversed"
    );
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["text"], "reply to a");
    assert_eq!(lines[0]["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(lines[0]["usage"]["input_tokens"], DEFAULT_USAGE.0);
    assert_eq!(lines[1]["ok"], false);
    assert_eq!(lines[1]["error"]["type"], "invalid_request_error");
    assert!(lines[1]["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("bad request b"));
    assert_eq!(lines[2]["text"], "reply to line-4");

    // Recorded once, at the batch tier, however often results are fetched.
    assert_eq!(results(&home), lines);
    let records = batch_records(&home);
    assert_eq!(records.len(), 3);
    assert!(records
        .iter()
        .all(|r| r["batch_id"] == id.as_str() && r["command"] == "batch"));
    let errors: Vec<_> = records.iter().filter(|r| r["outcome"] == "error").collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0]["input_tokens"], 0,
        "a failed request is billed nothing"
    );

    // cost-report: two answered requests at half of gpt-4o-mini's price.
    let report = success_json(
        &home
            .confab()
            .args(["cost-report", "--json", "--group-by", "tier"])
            .output()
            .expect("running confab"),
    );
    let (input, output) = (DEFAULT_USAGE.0 as f64, DEFAULT_USAGE.1 as f64);
    let expected = 2.0 * (input * MINI_IN + output * MINI_OUT) / 1e6 * 0.5;
    let row = &report["rows"][0];
    assert_eq!(row["group"][0], "batch");
    assert_eq!(row["batch_calls"], 3);
    let cost = row["cost_usd"].as_f64().expect("a cost");
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");

    let table = home
        .confab()
        .args(["cost-report"])
        .output()
        .expect("running confab");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("* includes 3 batch requests"), "{text}");
}

#[test]
fn an_anthropic_batch_is_priced_at_half_with_cache_prices_and_its_results_url_is_not_followed() {
    let fake = FakeProvider::start(Vec::new());
    fake.batches().script(
        "doc",
        Outcome::Reply {
            text: "{\"summary\": \"short\"}".into(),
            input: 1000,
            cached: 2000,
            cache_write: 500,
            output: 300,
        },
    );
    fake.batches().script(
        "bad-json",
        Outcome::Reply {
            text: "not json".into(),
            input: 10,
            cached: 0,
            cache_write: 0,
            output: 5,
        },
    );
    let home = TempHome::new();
    home.write(
        "schema.json",
        r#"{"type": "object", "required": ["summary"]}"#,
    );
    home.write(
        "in.jsonl",
        "{\"id\": \"doc\", \"prompt\": \"summarise\"}\n{\"id\": \"bad-json\", \"prompt\": \"again\", \"system\": \"own\"}\n",
    );
    let url = fake.base_url();
    let output = home
        .confab_anthropic(&url)
        .args([
            "batch",
            "submit",
            "in.jsonl",
            "-m",
            "claude-sonnet-4-5",
            "--system",
            "be terse",
        ])
        .args(["--schema", "schema.json", "--max-tokens", "700", "--json"])
        .output()
        .expect("running confab");
    let id = success_json(&output)["id"]
        .as_str()
        .expect("id")
        .to_string();
    let bodies = fake.batches().bodies(&id);
    assert_eq!(bodies[0].1["max_tokens"], 700);
    let system = bodies[0].1["system"].to_string();
    assert!(
        system.contains("be terse") && system.contains("JSON Schema"),
        "{system}"
    );
    assert!(bodies[1].1["system"].to_string().contains("own"));
    let create = &fake.batches().requests()[0];
    assert_eq!(create.path, "/v1/messages/batches");
    assert_eq!(create.header("x-api-key"), Some("test-anthropic-key"));

    let status = home
        .confab_anthropic(&url)
        .args(["batch", "status", &id, "--json"])
        .output()
        .expect("running confab");
    assert_eq!(success_json(&status)["status"], "in_progress");
    let lines = stdout_lines(
        &home
            .confab_anthropic(&url)
            .args(["batch", "results", &id])
            .output()
            .expect("running confab"),
    );
    assert_eq!(lines[0]["id"], "doc");
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["json"]["summary"], "short");
    assert_eq!(
        lines[0]["usage"]["input_tokens"], 3500,
        "uncached + read + written"
    );
    assert_eq!(
        lines[1]["ok"], false,
        "a reply that does not fit the schema"
    );
    assert_eq!(lines[1]["error"]["type"], "schema");
    let fetched = fake.batches().requests();
    let last = fetched.last().expect("requests");
    assert_eq!(last.path, format!("/v1/messages/batches/{id}/results"));

    // 1000 x $3 + 2000 x $0.30 + 500 x $3.75 + 300 x $15 = $0.009975 at the
    // standard price; "bad-json" 10 x $3 + 5 x $15 = $0.000105; half each.
    let report = success_json(
        &home
            .confab()
            .args(["cost-report", "--json"])
            .output()
            .expect("running confab"),
    );
    let [input, read, write, out] = SONNET;
    let standard =
        (1000.0 * input + 2000.0 * read + 500.0 * write + 300.0 * out + 10.0 * input + 5.0 * out)
            / 1e6;
    let cost = report["total"]["cost_usd"].as_f64().expect("cost");
    assert!(
        (cost - standard * 0.5).abs() < 1e-12,
        "{cost} vs {}",
        standard * 0.5
    );
}

#[test]
fn a_canceled_batch_ends_with_every_unrun_request_marked_and_is_listed() {
    let fake = FakeProvider::start(Vec::new());
    fake.batches().polls_before_end(10);
    let home = TempHome::new();
    home.write("in.jsonl", "{\"prompt\": \"one\"}\n{\"prompt\": \"two\"}\n");
    let url = fake.base_url();
    let id = submit(
        &home,
        &mut home.confab_anthropic(&url),
        "in.jsonl",
        "claude-sonnet-4-5",
    );
    let cancel = home
        .confab_anthropic(&url)
        .args(["batch", "cancel", &id, "--json"])
        .output()
        .expect("running confab");
    assert_eq!(success_json(&cancel)["status"], "canceling");
    let lines = stdout_lines(
        &home
            .confab_anthropic(&url)
            .args(["batch", "results", &id])
            .output()
            .expect("running confab"),
    );
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|l| l["ok"] == false && l["error"]["type"] == "canceled"));
    let list = success_json(
        &home
            .confab()
            .args(["batch", "list", "--json"])
            .output()
            .expect("running confab"),
    );
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "ended");
    assert_eq!(list[0]["requests"], 2);
    assert_eq!(list[0]["recorded"], true);
    let records = batch_records(&home);
    assert_eq!(records.len(), 2);
    assert!(records
        .iter()
        .all(|r| r["input_tokens"] == 0 && r["outcome"] == "error"));
}

#[test]
fn dry_run_counts_exactly_and_prices_the_worst_case_without_sending() {
    let fake = FakeProvider::start(Vec::new());
    let home = TempHome::new();
    let prompts = [
        "What is the capital of France?",
        "Name three primes.",
        "Say hi",
    ];
    let text: String = prompts
        .iter()
        .map(|p| format!("{}\n", serde_json::json!({ "prompt": p })))
        .collect();
    home.write("in.jsonl", text);
    let output = home
        .confab_openai(&fake.base_url())
        .args([
            "batch",
            "submit",
            "in.jsonl",
            "-m",
            "gpt-4o-mini",
            "--dry-run",
            "--json",
        ])
        .args(["--system", "Be brief.", "--max-tokens", "200"])
        .output()
        .expect("running confab");
    let estimate = success_json(&output);
    assert!(fake.requests().is_empty() && fake.batches().requests().is_empty());
    assert!(fake.side_requests().is_empty(), "a dry run stays offline");
    assert!(!home.path().join("data/batches").exists());
    // tiktoken's o200k_base: per message 3 + role + content, plus 3 priming.
    let bpe = tiktoken_rs::o200k_base().expect("o200k_base");
    let count = |s: &str| bpe.encode_ordinary(s).len() as u64;
    let each =
        |p: &str| 3 + count("system") + count("Be brief.") + 3 + count("user") + count(p) + 3;
    let input: u64 = prompts.iter().map(|p| each(p)).sum();
    assert_eq!(estimate["input_tokens"], input);
    assert_eq!(estimate["max_output_tokens"], 600);
    assert_eq!(estimate["exact"], true);
    let sync = (input as f64 * MINI_IN + 600.0 * MINI_OUT) / 1e6;
    let got = |key: &str| estimate[key].as_f64().expect("a price");
    assert!((got("sync_usd") - sync).abs() < 1e-12, "{estimate}");
    assert!((got("batch_usd") - sync / 2.0).abs() < 1e-12, "{estimate}");

    let table = home
        .confab_openai(&fake.base_url())
        .args([
            "batch",
            "submit",
            "in.jsonl",
            "-m",
            "gpt-4o-mini",
            "--dry-run",
        ])
        .output()
        .expect("running confab");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("batch price:") && text.contains("standard price:"),
        "{text}"
    );
}

#[test]
fn bad_input_is_a_usage_error_with_its_line_and_credentials_are_refused() {
    let fake = FakeProvider::start(Vec::new());
    let home = TempHome::new();
    let url = fake.base_url();
    for (text, wanted) in [
        (
            "{\"prompt\": \"ok\"}\n{\"prompt\": \"x\", \"extra\": 1}\n",
            "line 2",
        ),
        (
            "{\"id\": \"same\", \"prompt\": \"x\"}\n{\"id\": \"same\", \"prompt\": \"y\"}\n",
            "unique",
        ),
        ("{\"id\": \"has space\", \"prompt\": \"x\"}\n", "line 1"),
        ("{\"prompt\": \"x\", \"max_tokens\": 99999999}\n", "limit"),
        ("", "no requests"),
    ] {
        home.write("in.jsonl", text);
        let output = home
            .confab_openai(&url)
            .args(["batch", "submit", "in.jsonl", "-m", "gpt-4o-mini"])
            .output()
            .expect("running confab");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{text}: {}",
            stderr_of(&output)
        );
        assert!(
            stderr_of(&output).contains(wanted),
            "{text}: {}",
            stderr_of(&output)
        );
    }
    let key = format!("sk-proj-{}", "a1B2c3D4e5F6g7H8i9J0".repeat(3));
    home.write(
        "in.jsonl",
        format!("{{\"prompt\": \"fine\"}}\n{{\"prompt\": \"use {key} please\"}}\n"),
    );
    let output = home
        .confab_openai(&url)
        .args(["batch", "submit", "in.jsonl", "-m", "gpt-4o-mini"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(5), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("line 2"));
    assert!(!stderr_of(&output).contains(&key), "the key is not echoed");
    assert!(fake.batches().requests().is_empty(), "nothing was sent");
    let unknown = home
        .confab_openai(&url)
        .args(["batch", "status", "batch_nope"])
        .output()
        .expect("running confab");
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn a_reasoning_model_batches_on_the_responses_api_at_half_price() {
    let fake = FakeProvider::start(Vec::new());
    let home = TempHome::new();
    home.write(
        "in.jsonl",
        "{\"id\": \"p1\", \"prompt\": \"first\"}\n{\"id\": \"p2\", \"prompt\": \"second\"}\n",
    );
    let url = fake.base_url();
    let id = submit(&home, &mut home.confab_openai(&url), "in.jsonl", "o4-mini");
    let create = fake
        .batches()
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/batches")
        .expect("the create request");
    assert_eq!(create.json()["endpoint"], "/v1/responses");
    let bodies = fake.batches().bodies(&id);
    assert_eq!(bodies[0].1["input"][0]["content"], "first");
    assert!(bodies[0].1.get("messages").is_none());
    assert_eq!(bodies[0].1["max_output_tokens"], 4096);
    assert_eq!(bodies[0].1["reasoning"]["summary"], "auto");

    let fetch = || {
        home.confab_openai(&url)
            .args(["batch", "results", &id])
            .output()
            .expect("running confab")
    };
    let _still_running = fetch();
    let lines = stdout_lines(&fetch());
    assert_eq!(lines[0]["text"], "reply to p1");
    assert_eq!(lines[1]["text"], "reply to p2");
    let records = batch_records(&home);
    assert_eq!(records[0]["reasoning_tokens"], DEFAULT_USAGE.1 / 2);
    // o4-mini, $ per million: input 1.10, output 4.40; two requests of
    // 100 in and 20 out, at half price: 2 * (110 + 88) / 2 = 198 micro-dollars.
    let report = success_json(
        &home
            .confab()
            .args(["cost-report", "--json", "--group-by", "tier"])
            .output()
            .expect("running confab"),
    );
    let cost = report["rows"][0]["cost_usd"].as_f64().expect("a cost");
    assert!((cost - 198e-6).abs() < 1e-12, "{cost}");
}
