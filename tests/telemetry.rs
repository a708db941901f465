//! OpenTelemetry export through the binary: spans and metrics posted over
//! OTLP/HTTP to a receiver on 127.0.0.1 that decodes the protobuf with the
//! opentelemetry-proto types, and a dead or hung collector that must not
//! change what the command does.

mod support;

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use support::fake_provider::{FakeProvider, Reply};
use support::otlp_receiver::{attribute, OtlpReceiver};
use support::{stderr_of, TempHome};

fn span<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        panic!("no span {name:?} among {names:?}")
    })
}

fn attr(span: &Span, key: &str) -> Option<String> {
    attribute(&span.attributes, key)
}

#[test]
fn a_chat_is_a_root_span_with_a_genai_client_span_and_metrics() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini-2024-07-18",
        &["Hi", " there"],
        Some((12, 3)),
    )]);
    let receiver = OtlpReceiver::start();
    home.confab_openai(&fake.base_url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_SERVICE_NAME", "confab-test")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-team=search")
        .args([
            "chat",
            "-m",
            "gpt-4o-mini",
            "--temperature",
            "0.5",
            "my secret plan",
        ])
        .assert()
        .success();
    let spans = receiver.spans();
    let root = span(&spans, "confab chat");
    let call = span(&spans, "chat gpt-4o-mini");
    assert_eq!(call.kind, SpanKind::Client as i32);
    assert_eq!(
        call.parent_span_id, root.span_id,
        "the call is under the command"
    );
    assert_eq!(call.trace_id, root.trace_id);
    assert!(root.parent_span_id.is_empty());
    let expect = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o-mini"),
        ("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
        ("gen_ai.usage.input_tokens", "12"),
        ("gen_ai.usage.output_tokens", "3"),
        ("gen_ai.request.temperature", "0.5"),
        ("gen_ai.request.stream", "true"),
        ("gen_ai.response.finish_reasons", "stop"),
        ("server.address", "127.0.0.1"),
        ("openinference.span.kind", "LLM"),
        ("llm.token_count.total", "15"),
    ];
    for (key, value) in expect {
        assert_eq!(attr(call, key).as_deref(), Some(value), "{key}");
    }
    let conversation = home.usage_records()[0]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        attr(call, "gen_ai.conversation.id"),
        Some(conversation.clone())
    );
    assert_eq!(attr(call, "session.id"), Some(conversation.clone()));
    assert_eq!(attr(root, "session.id"), Some(conversation));
    assert_eq!(
        attr(call, "server.port"),
        Some(fake.addr().port().to_string())
    );
    assert!(attr(call, "gen_ai.request.max_tokens").is_some());
    assert!(attr(call, "gen_ai.response.id").is_some());
    let cost: f64 = attr(call, "gen_ai.usage.cost").unwrap().parse().unwrap();
    assert!(cost > 0.0, "gpt-4o-mini has a price");
    assert!(call.end_time_unix_nano >= call.start_time_unix_nano);
    // Content stays out unless asked for.
    assert!(attr(call, "gen_ai.input.messages").is_none());
    assert!(!receiver
        .exports()
        .iter()
        .any(|e| String::from_utf8_lossy(&e.body).contains("secret plan")));
    // Resource and headers as configured.
    let resource = receiver.resource();
    assert_eq!(
        attribute(&resource, "service.name").as_deref(),
        Some("confab-test")
    );
    assert_eq!(
        attribute(&resource, "deployment.environment").as_deref(),
        Some("ci")
    );
    let traces = receiver.first_trace_export();
    assert_eq!(
        traces.headers.get("x-team").map(String::as_str),
        Some("search")
    );
    assert_eq!(
        traces.headers.get("content-type").map(String::as_str),
        Some("application/x-protobuf")
    );
    // Metrics with the spec's buckets.
    let histograms = receiver.histograms();
    let tokens = &histograms["gen_ai.client.token.usage"];
    assert_eq!(tokens.bounds.first(), Some(&1.0));
    assert_eq!(tokens.bounds.last(), Some(&67108864.0));
    assert_eq!(tokens.count, 2, "an input and an output count");
    assert!(tokens
        .points
        .iter()
        .any(|p| attribute(p, "gen_ai.token.type").as_deref() == Some("output")));
    let duration = &histograms["gen_ai.client.operation.duration"];
    assert_eq!(
        (
            duration.bounds.first(),
            duration.bounds.len(),
            duration.count
        ),
        (Some(&0.01), 14, 1)
    );
    assert!(histograms.contains_key("gen_ai.client.operation.time_to_first_chunk"));
}

#[test]
fn content_is_captured_only_when_asked_and_keys_are_redacted() {
    let home = TempHome::new();
    // A key in the reply: the input screen never sees it, so only the
    // redaction of captured content keeps it out of the trace.
    let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD";
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["the key is ", key],
        Some((5, 1)),
    )]);
    let receiver = OtlpReceiver::start();
    home.confab_openai(&fake.base_url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        .args(["chat", "summarise this"])
        .assert()
        .success();
    let traces = receiver.first_trace_export();
    assert_eq!(
        traces.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let body = String::from_utf8(traces.body).unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).expect("OTLP JSON");
    assert!(json["resourceSpans"].is_array());
    assert!(body.contains("gen_ai.input.messages"), "{body}");
    assert!(body.contains("gen_ai.output.messages"), "{body}");
    assert!(body.contains("summarise this"));
    assert!(body.contains("the key is"));
    assert!(!body.contains(key), "the key was sent: {body}");
}

#[test]
fn a_tool_call_is_an_execute_tool_span_under_the_command() {
    let home = TempHome::new();
    home.write("config.toml", support::SAY_HI_TOOL);
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_call_stream("gpt-4o-mini", "say_hi", &["{}"]),
        Reply::openai_stream("gpt-4o-mini", &["done"], Some((9, 1))),
    ]);
    let receiver = OtlpReceiver::start();
    home.confab_openai(&fake.base_url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .args(["chat", "greet"])
        .assert()
        .success();
    let spans = receiver.spans();
    let root = span(&spans, "confab chat");
    let tool = span(&spans, "execute_tool say_hi");
    assert_eq!(tool.parent_span_id, root.span_id);
    assert_eq!(
        attr(tool, "gen_ai.operation.name").as_deref(),
        Some("execute_tool")
    );
    assert_eq!(
        attr(tool, "confab.tool.decision").as_deref(),
        Some("allowed")
    );
    assert_eq!(
        attr(tool, "openinference.span.kind").as_deref(),
        Some("TOOL")
    );
    let calls = spans
        .iter()
        .filter(|s| s.name == "chat gpt-4o-mini")
        .count();
    assert_eq!(calls, 2, "one span per model call");
}

#[test]
fn a_rag_query_is_a_retrieval_span() {
    let home = TempHome::new();
    home.write(
        "docs/a.md",
        "# Pooling\n\nConnection pooling keeps sockets open.\n",
    );
    home.confab()
        .args(["rag", "index", "docs"])
        .assert()
        .success();
    let receiver = OtlpReceiver::start();
    home.confab()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .args(["rag", "query", "connection pooling"])
        .assert()
        .success();
    let spans = receiver.spans();
    let root = span(&spans, "confab rag query");
    let retrieval = span(&spans, "retrieval default");
    assert_eq!(retrieval.parent_span_id, root.span_id);
    assert_eq!(
        attr(retrieval, "gen_ai.operation.name").as_deref(),
        Some("retrieval")
    );
    assert_eq!(
        attr(retrieval, "confab.retrieval.returned").as_deref(),
        Some("1")
    );
}

#[test]
fn a_dead_or_hung_collector_costs_one_warning_and_loses_nothing() {
    let dead = format!("http://127.0.0.1:{}", support::real_server::free_port());
    let hung = OtlpReceiver::start_hung();
    for endpoint in [dead, hung.endpoint()] {
        let home = TempHome::new();
        let fake = FakeProvider::start(vec![Reply::openai_stream(
            "gpt-4o-mini",
            &["fine"],
            Some((5, 1)),
        )]);
        let started = Instant::now();
        // Spans only, so that the warning is about them.
        let output = home
            .confab_openai(&fake.base_url())
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env("OTEL_METRICS_EXPORTER", "none")
            .args(["chat", "hello"])
            .output()
            .unwrap();
        // A hang check, not a benchmark: the bound is far above the
        // one-second flush so that a slow machine does not fail it.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "it waited for the collector"
        );
        assert!(output.status.success(), "{}", stderr_of(&output));
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "fine");
        let stderr = stderr_of(&output);
        let warnings = stderr.matches("telemetry was not exported").count();
        assert_eq!(warnings, 1, "{stderr}");
        assert_eq!(home.usage_records().len(), 1, "the call is recorded");
    }
}

#[test]
fn a_malformed_setting_is_a_warning_and_the_command_runs() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["fine"],
        Some((5, 1)),
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .args(["chat", "hello"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("telemetry is off") && stderr.contains("http/protobuf"),
        "{stderr}"
    );
}

/// A usage record as `usage.jsonl` holds it, at `ts`.
fn past_record(ts: &str, model: &str) -> String {
    serde_json::json!({
        "v": 1, "ts": ts, "call_id": "c-1", "conversation_id": "conv-1",
        "command": "chat", "provider": "openai", "host": "api.openai.com",
        "model_requested": model, "model_reported": format!("{model}-2024-08-06"),
        "input_tokens": 100, "output_tokens": 20, "usage_source": "api",
        "latency_ms": 1500, "outcome": "ok", "finish_reason": "stop"
    })
    .to_string()
}

#[test]
fn usage_export_sends_past_calls_with_their_own_times() {
    let home = TempHome::new();
    let log = format!(
        "{}\n{}\n",
        past_record("2026-01-05T10:00:00Z", "gpt-4o-mini"),
        past_record("2026-03-01T09:30:00Z", "gpt-4o")
    );
    home.write("ci-usage.jsonl", log);
    let receiver = OtlpReceiver::start();
    let output = home
        .confab()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .args([
            "usage",
            "export",
            "--otlp",
            "--log",
            "ci-usage.jsonl",
            "--since",
            "2026-02-01",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("exported 1 calls"));
    let spans = receiver.spans();
    let call = span(&spans, "chat gpt-4o");
    assert!(
        !spans.iter().any(|s| s.name == "chat gpt-4o-mini"),
        "--since was ignored"
    );
    let start = jiff::Timestamp::from_nanosecond(call.start_time_unix_nano as i128).unwrap();
    assert_eq!(start.to_string(), "2026-03-01T09:30:00Z");
    assert_eq!(
        call.end_time_unix_nano - call.start_time_unix_nano,
        1_500_000_000
    );
    assert_eq!(
        attr(call, "gen_ai.usage.input_tokens").as_deref(),
        Some("100")
    );
    assert_eq!(attr(call, "session.id").as_deref(), Some("conv-1"));
    assert!(attr(call, "gen_ai.usage.cost").is_some());
    // With no endpoint there is nothing to export to: a usage error.
    let output = home
        .confab()
        .args(["usage", "export", "--otlp", "--log", "ci-usage.jsonl"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
    // A dead collector fails the export (it is the command's job).
    let dead = format!("http://127.0.0.1:{}", support::real_server::free_port());
    let output = home
        .confab()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", dead)
        .args(["usage", "export", "--otlp", "--log", "ci-usage.jsonl"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("the export failed"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn an_embeddings_batch_is_an_embeddings_span() {
    let home = TempHome::new();
    home.write("notes/a.md", "# A\n\nalpha text\n");
    let body = serde_json::json!({
        "object": "list", "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 0, "embedding": [1.0, 0.0, 0.0]}],
        "usage": {"prompt_tokens": 42, "total_tokens": 42}
    });
    let fake = FakeProvider::start(vec![Reply::raw(
        200,
        &[("content-type", "application/json")],
        &[&body.to_string()],
    )]);
    let receiver = OtlpReceiver::start();
    home.confab_openai(&fake.base_url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .args([
            "rag",
            "index",
            "notes",
            "--embedder",
            "openai:text-embedding-3-small",
        ])
        .assert()
        .success();
    let spans = receiver.spans();
    let call = span(&spans, "embeddings text-embedding-3-small");
    assert_eq!(call.kind, SpanKind::Client as i32);
    assert_eq!(
        attr(call, "gen_ai.operation.name").as_deref(),
        Some("embeddings")
    );
    assert_eq!(
        attr(call, "gen_ai.usage.input_tokens").as_deref(),
        Some("42")
    );
    assert_eq!(
        attr(call, "openinference.span.kind").as_deref(),
        Some("EMBEDDING")
    );
    assert_eq!(home.usage_records()[0]["operation"], "embeddings");
}

#[test]
fn a_retried_call_is_one_span_with_the_retry_as_an_event() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![
        Reply::anthropic_error(529, "overloaded_error", "Overloaded")
            .with_header("retry-after", "0.01"),
        Reply::anthropic_stream("claude-sonnet-4-5-20250929", &["fine"], (3, 1)),
    ]);
    let receiver = OtlpReceiver::start();
    home.confab_anthropic(&fake.base_url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .args(["chat", "-m", "claude-sonnet-4-5", "hi"])
        .assert()
        .success();
    let spans = receiver.spans();
    let calls: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "chat claude-sonnet-4-5")
        .collect();
    assert_eq!(
        calls.len(),
        1,
        "one logical span for the call and its retry"
    );
    let call = calls[0];
    assert_eq!(
        attr(call, "gen_ai.provider.name").as_deref(),
        Some("anthropic")
    );
    assert_eq!(attr(call, "confab.retries").as_deref(), Some("1"));
    assert_eq!(call.events.len(), 1);
    let event = &call.events[0];
    assert_eq!(event.name, "confab.retry");
    let reason = attribute(&event.attributes, "confab.retry.reason").unwrap_or_default();
    assert!(
        reason.contains("529") || reason.contains("verloaded"),
        "{reason}"
    );
    assert!(event.time_unix_nano >= call.start_time_unix_nano);
    assert!(event.time_unix_nano <= call.end_time_unix_nano);
}

#[test]
fn a_failed_export_never_shows_the_endpoints_credentials() {
    let home = TempHome::new();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["fine"],
        Some((5, 1)),
    )]);
    let port = support::real_server::free_port();
    let output = home
        .confab_openai(&fake.base_url())
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://collector-user:hunter2-secret@127.0.0.1:{port}"),
        )
        .args(["chat", "hello"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = stderr_of(&output);
    assert!(stderr.contains("telemetry was not exported"), "{stderr}");
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
}

#[test]
fn the_telemetry_table_configures_export_without_variables() {
    let home = TempHome::new();
    let receiver = OtlpReceiver::start();
    home.write(
        "config.toml",
        format!(
            "[telemetry]\nendpoint = \"{}\"\nuser_id = \"ana\"\nservice_name = \"from-config\"\n\
             headers = {{ x-team = \"search\" }}\n",
            receiver.endpoint()
        ),
    );
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["ok"],
        Some((5, 1)),
    )]);
    home.confab_openai(&fake.base_url())
        .args(["chat", "hello"])
        .assert()
        .success();
    let spans = receiver.spans();
    for name in ["confab chat", "chat gpt-4o-mini"] {
        assert_eq!(
            attr(span(&spans, name), "user.id").as_deref(),
            Some("ana"),
            "{name}"
        );
    }
    let resource = receiver.resource();
    assert_eq!(
        attribute(&resource, "service.name").as_deref(),
        Some("from-config")
    );
    let traces = receiver.first_trace_export();
    assert_eq!(
        traces.headers.get("x-team").map(String::as_str),
        Some("search")
    );
    // `confab config` shows the table with the header value masked.
    let shown = home.confab().arg("config").output().unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("[telemetry]") && !shown.contains("search"),
        "{shown}"
    );
    // OTEL_SDK_DISABLED wins over the table.
    let before = receiver.exports().len();
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["ok"],
        Some((5, 1)),
    )]);
    home.confab_openai(&fake.base_url())
        .env("OTEL_SDK_DISABLED", "true")
        .args(["chat", "hello"])
        .assert()
        .success();
    assert_eq!(
        receiver.exports().len(),
        before,
        "exported although disabled"
    );
}

#[test]
fn usage_export_is_bounded_on_outside_input() {
    let home = TempHome::new();
    // A latency no call can have is cut to the longest one can (a day).
    let record = past_record("2026-03-01T09:30:00Z", "gpt-4o").replace(
        "\"latency_ms\":1500",
        &format!("\"latency_ms\":{}", u64::MAX),
    );
    assert!(record.contains(&u64::MAX.to_string()));
    home.write("odd.jsonl", format!("{record}\n"));
    let receiver = OtlpReceiver::start();
    let output = home
        .confab()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .args(["usage", "export", "--otlp", "--log", "odd.jsonl"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let spans = receiver.spans();
    let call = span(&spans, "chat gpt-4o");
    assert_eq!(
        call.end_time_unix_nano - call.start_time_unix_nano,
        86_400 * 1_000_000_000
    );
    // A dead collector stops a long export at the first batch.
    let line = past_record("2026-03-01T09:30:00Z", "gpt-4o");
    home.write("long.jsonl", format!("{line}\n").repeat(2500));
    let dead = format!("http://127.0.0.1:{}", support::real_server::free_port());
    let output = home
        .confab()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", dead)
        .env("OTEL_METRICS_EXPORTER", "none")
        .args(["usage", "export", "--otlp", "--log", "long.jsonl"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("after 1000 calls"), "{stderr}");
    assert_eq!(
        stderr.matches("telemetry was not exported").count(),
        0,
        "{stderr}"
    );
}
