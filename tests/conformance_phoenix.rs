//! confab's OpenTelemetry export seen by a real backend: Arize Phoenix
//! (pinned in scripts/phoenix-requirements.txt), run with `phoenix serve`
//! as its docs say, receiving OTLP/HTTP at `/v1/traces`. A chat with a
//! tool call and a rag query are exported with only
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, then read back from Phoenix's REST
//! API (`/v1/projects/default/spans`): Phoenix must classify the chat call
//! as an LLM span with its model and token counts, the tool call as a
//! TOOL span and the retrieval as a RETRIEVER span, nested under the
//! command. The model here is the fake provider: Phoenix is what is tested.
//!
//! Needs `CONFAB_PHOENIX` (the `phoenix` program); `scripts/test.sh` sets it.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::fake_provider::{FakeProvider, Reply};
use support::real_server::{free_port, http_get_body, required_path, RealServer};
use support::TempHome;

fn start_phoenix() -> RealServer {
    let phoenix = required_path("CONFAB_PHOENIX", "scripts/test.sh");
    let grpc_port = free_port().to_string();
    RealServer::start(
        "Phoenix",
        &phoenix,
        &["serve"],
        &[],
        &[
            ("PHOENIX_HOST", "127.0.0.1"),
            ("PHOENIX_PORT", "{port}"),
            ("PHOENIX_GRPC_PORT", &grpc_port),
            ("PHOENIX_TELEMETRY_ENABLED", "false"),
            ("DO_NOT_TRACK", "1"),
        ],
        "/healthz",
        Duration::from_secs(240),
    )
}

/// An attribute of a Phoenix span, whether Phoenix keeps the dotted name
/// flat or nests it.
fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    let attributes = &span["attributes"];
    if let Some(value) = attributes.get(key) {
        return Some(value);
    }
    key.split('.')
        .try_fold(attributes, |node, part| node.get(part))
}

/// Phoenix's spans of the default project, once `expected` have arrived
/// (it ingests in the background).
fn spans(phoenix: &RealServer, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = http_get_body(phoenix.port, "/v1/projects/default/spans?limit=100");
        let spans: Vec<Value> = body
            .and_then(|b| serde_json::from_str::<Value>(&b).ok())
            .and_then(|v| v["data"].as_array().cloned())
            .unwrap_or_default();
        if spans.len() >= expected || Instant::now() > deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn named<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("Phoenix has no span {name:?}: {spans:#?}"))
}

fn span_id(span: &Value) -> &str {
    span["context"]["span_id"].as_str().unwrap_or_default()
}

#[test]
fn phoenix_shows_confab_spans_as_genai_spans() {
    let phoenix = start_phoenix();
    let endpoint = phoenix.root();
    let home = TempHome::new();
    home.write("config.toml", support::SAY_HI_TOOL);
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_call_stream("gpt-4o-mini", "say_hi", &["{}"]),
        Reply::openai_stream("gpt-4o-mini-2024-07-18", &["done"], Some((21, 4))),
    ]);
    let chat = home
        .confab_openai(&fake.base_url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .args(["chat", "-m", "gpt-4o-mini", "greet me"])
        .output()
        .unwrap();
    let stderr = support::stderr_of(&chat);
    assert!(chat.status.success(), "{stderr}");
    assert!(
        !stderr.contains("telemetry"),
        "{stderr}\nPhoenix's log:\n{}",
        phoenix.log()
    );
    home.write(
        "docs/a.md",
        "# Pooling\n\nConnection pooling keeps sockets open.\n",
    );
    home.confab()
        .args(["rag", "index", "docs"])
        .assert()
        .success();
    home.confab()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .args(["rag", "query", "connection pooling"])
        .assert()
        .success();
    // confab chat + 2 model calls + 1 tool; confab rag query + retrieval.
    let spans = spans(&phoenix, 6);
    let root = named(&spans, "confab chat");
    let calls: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "chat gpt-4o-mini")
        .collect();
    assert_eq!(calls.len(), 2, "{spans:#?}");
    let last = calls
        .iter()
        .find(|s| attribute(s, "llm.token_count.prompt") == Some(&Value::from(21)))
        .unwrap_or_else(|| panic!("no call with 21 prompt tokens: {calls:#?}"));
    assert_eq!(last["span_kind"], "LLM", "{last:#}");
    assert_eq!(last["parent_id"].as_str(), Some(span_id(root)));
    assert_eq!(
        attribute(last, "llm.model_name").and_then(Value::as_str),
        Some("gpt-4o-mini-2024-07-18")
    );
    assert_eq!(
        attribute(last, "llm.token_count.completion"),
        Some(&Value::from(4))
    );
    assert_eq!(
        attribute(last, "gen_ai.request.model").and_then(Value::as_str),
        Some("gpt-4o-mini")
    );
    assert!(attribute(last, "gen_ai.usage.cost").is_some(), "{last:#}");
    let conversation = home.usage_records()[0]["conversation_id"].clone();
    assert_eq!(attribute(last, "session.id"), Some(&conversation));
    let tool = named(&spans, "execute_tool say_hi");
    assert_eq!(tool["span_kind"], "TOOL", "{tool:#}");
    assert_eq!(tool["parent_id"].as_str(), Some(span_id(root)));
    let query = named(&spans, "confab rag query");
    let retrieval = named(&spans, "retrieval default");
    assert_eq!(retrieval["span_kind"], "RETRIEVER", "{retrieval:#}");
    assert_eq!(retrieval["parent_id"].as_str(), Some(span_id(query)));
}
