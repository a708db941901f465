//! `confab cost-report` and `count-tokens --cost` through the binary,
//! against totals computed by hand from a price table the test controls.

mod support;

use predicates::prelude::*;
use support::fake_provider::{FakeProvider, Reply};
use support::TempHome;

/// Prices in USD per million tokens, with a price change on 2026-06-01.
const PRICES: &str = r#"
[[price]]
model = "test-model"
from = "2026-01-01"
input = 2.0
cached_input = 0.5
cache_write = 2.5
output = 8.0

[[price]]
model = "test-model"
from = "2026-06-01"
input = 1.0
cached_input = 0.25
cache_write = 1.25
output = 4.0
"#;

fn record(ts: &str, model: &str, tokens: [u64; 4], extra: &str) -> String {
    let [input, cached, cache_write, output] = tokens;
    format!(
        r#"{{"v":1,"ts":"{ts}","call_id":"x","command":"chat","provider":"p","host":"h","model_requested":"{model}","input_tokens":{input},"cached_input_tokens":{cached},"cache_write_tokens":{cache_write},"output_tokens":{output},"usage_source":"api","latency_ms":100,"outcome":"ok"{extra}}}"#
    )
}

fn setup() -> TempHome {
    let home = TempHome::new();
    home.write("prices.toml", PRICES);
    let lines = [
        // Before the price change: 1M uncached in at $2, 1M cached at $0.50,
        // 1M cache writes at $2.50, 1M out at $8 = $13.
        record("2026-03-01T10:00:00Z", "test-model", [3_000_000, 1_000_000, 1_000_000, 1_000_000], r#","tags":["ci"]"#),
        // After: 2M in at $1, 0.5M out at $4 = $4.
        record("2026-07-01T10:00:00Z", "test-model-20260701", [2_000_000, 0, 0, 500_000], r#","tags":["ci","nightly"]"#),
        // No price: shown as unpriced, never $0.
        record("2026-07-02T10:00:00Z", "mystery-model", [1_000, 0, 0, 10], ""),
        // Counted locally, and an error.
        r#"{"v":1,"ts":"2026-07-03T10:00:00Z","call_id":"y","command":"chat","provider":"p","host":"h","model_requested":"test-model","input_tokens":1000000,"usage_source":"local","latency_ms":300,"outcome":"error"}"#.to_string(),
    ];
    home.write("data/usage.jsonl", lines.join("\n") + "\n");
    home
}

fn json_report(home: &TempHome, args: &[&str]) -> serde_json::Value {
    let output = home
        .confab()
        .args(["cost-report", "--json"])
        .args(args)
        .output()
        .expect("running confab");
    support::success_json(&output)
}

fn close(a: &serde_json::Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn totals_match_hand_computed_prices_of_each_kind_and_date() {
    let home = setup();
    let report = json_report(&home, &[]);
    let total = &report["total"];
    assert_eq!(total["calls"], 4);
    assert_eq!(total["errors"], 1);
    // $13 + $4 + 1M in at $1 (the local, errored call) = $18.
    assert!(close(&total["cost_usd"], 18.0), "{total}");
    assert_eq!(total["unpriced_calls"], 1);
    assert_eq!(total["estimated_calls"], 1);
    assert_eq!(report["unpriced_models"][0], "mystery-model");
    let rows = report["rows"].as_array().expect("rows");
    let mystery = rows
        .iter()
        .find(|r| r["group"][0] == "mystery-model")
        .expect("row");
    assert_eq!(mystery["unpriced_calls"], 1);
    assert_eq!(mystery["input_tokens"], 1000);
}

#[test]
fn filters_and_grouping() {
    let home = setup();
    let july = json_report(&home, &["--since", "2026-07-01", "--until", "2026-07-01"]);
    assert_eq!(july["total"]["calls"], 1);
    assert!(close(&july["total"]["cost_usd"], 4.0));
    let ci = json_report(&home, &["--tag", "ci", "--group-by", "month,tag"]);
    assert_eq!(ci["total"]["calls"], 2);
    let groups: Vec<String> = ci["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["group"][0].as_str().unwrap_or(""),
                r["group"][1].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(groups, ["2026-03/ci", "2026-07/ci", "2026-07/nightly"]);
    let by_model = json_report(&home, &["--model", "test-model"]);
    assert_eq!(by_model["total"]["calls"], 2, "exact model filter");
}

#[test]
fn budget_fails_ci_with_exit_3() {
    let home = setup();
    home.confab()
        .args(["cost-report", "--budget", "20"])
        .assert()
        .success();
    home.confab()
        .args(["cost-report", "--budget", "17.5"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("over the budget of $17.50")
                .and(predicate::str::contains("1 unpriced calls not counted")),
        );
    // A budget that could never fail is refused, not silently passed.
    for bad in ["NaN", "inf", "-1", "five"] {
        home.confab()
            .arg("cost-report")
            .arg(format!("--budget={bad}"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not an amount of dollars"));
    }
    home.confab()
        .args(["cost-report", "--budget", "$17.5"])
        .assert()
        .code(3);
}

#[test]
fn table_markdown_and_csv() {
    let home = setup();
    let output = home
        .confab()
        .args(["cost-report"])
        .output()
        .expect("running confab");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("model") && l.contains("p95 ms")));
    assert!(table.contains("unpriced"), "{table}");
    assert!(table.contains("~$"), "estimated rows are marked: {table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("total") && l.contains("$18.0000")),
        "{table}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no price for mystery-model"), "{stderr}");

    let md = home
        .confab()
        .args(["cost-report", "--format", "markdown", "--group-by", "day"])
        .output()
        .expect("running confab");
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("| day "), "{md}");
    assert!(
        md.lines().nth(1).is_some_and(|l| l.starts_with("| ---")),
        "{md}"
    );

    let csv = home
        .confab()
        .args(["cost-report", "--format", "csv"])
        .output()
        .expect("running confab");
    let csv = String::from_utf8_lossy(&csv.stdout);
    let header = csv.lines().next().expect("header");
    assert!(header.starts_with("model,calls,errors,input_tokens"));
    assert!(csv
        .lines()
        .last()
        .is_some_and(|l| l.starts_with("total,4,1,")));
}

#[test]
fn logs_copied_from_ci_and_bad_input() {
    let home = setup();
    let copied = home.write(
        "ci/usage.jsonl",
        record(
            "2026-08-01T00:00:00Z",
            "test-model",
            [1_000_000, 0, 0, 0],
            "",
        ) + "\n{\"v\":1,\"ts\":\"2026-08",
    );
    let output = home
        .confab()
        .args(["cost-report", "--json", "--log"])
        .arg(&copied)
        .output()
        .expect("running confab");
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(close(&report["total"]["cost_usd"], 1.0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("truncated last line"));
    home.confab()
        .args(["cost-report", "--log", "nope.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.jsonl"));
    home.confab()
        .args(["cost-report", "--since", "last tuesday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hint:"));
}

#[test]
fn free_providers_cost_nothing_and_litellm_prices_import() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[providers.ollama]\nkind = \"openai\"\nbase_url = \"http://localhost:11434/v1\"\nfree = true\n",
    );
    home.write(
        "data/usage.jsonl",
        record("2026-07-01T00:00:00Z", "llama3.2", [5_000, 0, 0, 500], "")
            .replace("\"provider\":\"p\"", "\"provider\":\"ollama\"")
            + "\n"
            + &record(
                "2026-07-01T00:00:00Z",
                "mistral-large-latest",
                [1_000_000, 0, 0, 0],
                "",
            )
            + "\n",
    );
    let litellm = home.write(
        "litellm.json",
        r#"{"mistral-large-latest": {"input_cost_per_token": 2e-06, "output_cost_per_token": 6e-06, "litellm_provider": "mistral"}}"#,
    );
    let output = home
        .confab()
        .args(["cost-report", "--json", "--prices"])
        .arg(&litellm)
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["total"]["unpriced_calls"], 0);
    assert!(close(&report["total"]["cost_usd"], 2.0));
}

#[test]
fn chat_then_cost_report_end_to_end() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini-2024-07-18",
        &["hi"],
        Some((1_000_000, 1_000_000)),
    )]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "--tag", "e2e", "hello"])
        .assert()
        .success();
    let report = json_report(&home, &["--tag", "e2e"]);
    // gpt-4o-mini's shipped price: $0.15 in, $0.60 out per million.
    assert!(close(&report["total"]["cost_usd"], 0.75), "{report}");
    assert_eq!(report["rows"][0]["group"][0], "gpt-4o-mini-2024-07-18");
}

#[test]
fn count_tokens_estimates_cost_before_spending() {
    let home = TempHome::new();
    home.write("prices.toml", PRICES);
    let output = home
        .confab()
        .args([
            "count-tokens",
            "--cost",
            "--json",
            "-m",
            "gpt-4o,test-model",
            "--output-tokens",
            "1000000",
            "--text",
            "hello world",
        ])
        .output()
        .expect("running confab");
    // test-model has no tokenizer mapping: a usage error naming it.
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("test-model"));

    // An override dated today takes precedence over the shipped price.
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    home.write(
        "prices.toml",
        format!(
            "[[price]]\nmodel = \"gpt-4o\"\nfrom = \"{today}\"\ninput = 1000000.0\noutput = 2.0\n"
        ),
    );
    let output = home
        .confab()
        .args([
            "count-tokens",
            "--cost",
            "--json",
            "-m",
            "gpt-4o,gpt-4",
            "--output-tokens",
            "1000000",
            "--text",
            "hello world",
        ])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let gpt4o = &json["models"][0];
    assert_eq!(gpt4o["input_tokens"], 2);
    // 2 tokens at $1,000,000 per million = $2; 1M output at $2 = $2.
    assert!(close(&gpt4o["input_cost_usd"], 2.0), "{gpt4o}");
    assert!(close(&gpt4o["total_cost_usd"], 4.0));
    assert_eq!(json["models"][1]["encoding"], "cl100k_base");
}

#[test]
fn since_takes_ages_counted_back_from_now() {
    let home = TempHome::new();
    home.write("prices.toml", PRICES);
    let now = jiff::Timestamp::now();
    let ago = |hours: i64| {
        now.checked_sub(jiff::SignedDuration::from_hours(hours))
            .expect("a time")
            .to_string()
    };
    let lines = [
        record(&ago(1), "test-model", [1, 0, 0, 1], ""),
        record(&ago(30), "test-model", [1, 0, 0, 1], ""),
        record(&ago(24 * 6), "test-model", [1, 0, 0, 1], ""),
        record(&ago(24 * 8), "test-model", [1, 0, 0, 1], ""),
        record(&ago(24 * 20), "test-model", [1, 0, 0, 1], ""),
    ];
    home.write("data/usage.jsonl", lines.join("\n") + "\n");
    for (since, calls) in [
        ("30m", 0),
        ("2h", 1),
        ("24h", 1),
        ("7d", 3),
        ("2w", 4),
        ("30d", 5),
    ] {
        let report = json_report(&home, &["--since", since]);
        assert_eq!(report["total"]["calls"], calls, "--since {since}");
    }
}
