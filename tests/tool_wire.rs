//! Tool calls on the wire, through `Client::chat` against the fake
//! provider: the tools are declared, the model's call comes back, a
//! configured tool runs, and its result goes back in each provider's shape.

#[path = "support/fake_batches.rs"]
mod fake_batches;
#[path = "support/fake_provider.rs"]
mod fake_provider;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use confab::config::{Environment, ProviderConfig, ProviderKind};
use confab::llm::client::{CallEnd, CallObserver, Client};
use confab::llm::retry::RetryPolicy;
use confab::llm::{ChatRequest, Message, Role};
use confab::tools::{Risk, ToolConfig, ToolRegistry};
use fake_provider::{FakeProvider, Reply};
use serde_json::{json, Value};

struct NoEnv;
impl Environment for NoEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

struct Quiet;
impl CallObserver for Quiet {
    fn text(&mut self, _text: &str) {}
    fn retrying(&mut self, _retry: u32, _delay: Duration, _reason: &str) {}
    fn rate_limited(&mut self, _wait: Duration) {}
}

fn client(kind: ProviderKind, server: &FakeProvider) -> Client {
    let mut provider = ProviderConfig::new(kind);
    provider.base_url = Some(format!("{}/v1", server.base_url()));
    provider.api_key = Some("test-key".into());
    Client::new("test", &provider, &NoEnv)
        .expect("client")
        .with_policy(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
}

fn registry() -> ToolRegistry {
    let mut tools = BTreeMap::new();
    tools.insert(
        "echo_args".to_string(),
        ToolConfig {
            description: "Echoes its arguments".into(),
            parameters: json!({
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"]
            }),
            command: vec!["/bin/sh".into(), "-c".into(), "cat".into()],
            timeout_secs: 10,
            risk: Risk::Low,
            constraints: Vec::new(),
            env: Vec::new(),
        },
    );
    ToolRegistry::from_config(&tools).expect("registry")
}

/// Runs one round: the model calls `echo_args`, the tool runs, and the
/// follow-up request carries the result. Returns the two request bodies.
fn round_trip(kind: ProviderKind, first: Reply, second: Reply) -> (Value, Value) {
    let server = FakeProvider::start(vec![first, second]);
    let client = client(kind, &server);
    let registry = registry();
    let cancel = AtomicBool::new(false);
    let mut request = ChatRequest {
        model: "m".into(),
        messages: vec![Message::new(Role::User, "weather in Oslo?")],
        max_output_tokens: 100,
        stream: true,
        tools: registry.declarations(),
        ..ChatRequest::default()
    };
    let outcome = client.chat(&request, &cancel, &mut Quiet);
    assert_eq!(outcome.end, CallEnd::Complete);
    assert_eq!(outcome.tool_calls.len(), 1);
    let call = &outcome.tool_calls[0];
    assert_eq!(call.name, "echo_args");
    assert!(call.id.as_deref().is_some_and(|id| !id.is_empty()));

    let checked = registry.check(call).expect("valid call");
    assert!(registry.decide(&checked, &[], None).may_run());
    let output = registry.run(&checked);
    let (content, is_error) = (output.content, output.is_error);
    assert!(!is_error, "{content}");
    request.messages.push(Message::assistant_tool_calls(
        outcome.text.clone(),
        outcome.tool_calls.clone(),
    ));
    request
        .messages
        .push(Message::tool_result(confab::llm::ToolResult::text(
            &checked.call_id,
            content,
            is_error,
        )));
    let outcome = client.chat(&request, &cancel, &mut Quiet);
    assert_eq!(outcome.end, CallEnd::Complete);
    assert_eq!(outcome.text, "Sunny.");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    (requests[0].json(), requests[1].json())
}

#[test]
fn openai_tools_tool_calls_and_tool_messages() {
    let (first, second) = round_trip(
        ProviderKind::Openai,
        Reply::openai_tool_call_stream("m", "echo_args", &[r#"{"city":"#, r#""Oslo"}"#]),
        Reply::openai_stream("m", &["Sunny."], Some((30, 2))),
    );
    assert_eq!(
        first["tools"],
        json!([{"type": "function", "function": {
            "name": "echo_args",
            "description": "Echoes its arguments",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }}])
    );
    let messages = second["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3);
    let assistant = &messages[1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(assistant["content"], Value::Null);
    let call_id = assistant["tool_calls"][0]["id"].as_str().expect("id");
    assert!(call_id.starts_with("call_fake"), "{call_id}");
    assert_eq!(assistant["tool_calls"][0]["type"], "function");
    assert_eq!(
        assistant["tool_calls"][0]["function"],
        json!({"name": "echo_args", "arguments": r#"{"city":"Oslo"}"#})
    );
    assert_eq!(
        messages[2],
        json!({"role": "tool", "tool_call_id": call_id, "content": r#"{"city":"Oslo"}"#})
    );
    assert!(second.get("response_format").is_none());
}

#[test]
fn anthropic_tools_tool_use_and_tool_result_blocks() {
    let (first, second) = round_trip(
        ProviderKind::Anthropic,
        Reply::anthropic_tool_use_stream("m", "echo_args", &[r#"{"city":"#, r#""Oslo"}"#], (20, 5)),
        Reply::anthropic_stream("m", &["Sunny."], (30, 2)),
    );
    assert_eq!(
        first["tools"],
        json!([{
            "name": "echo_args",
            "description": "Echoes its arguments",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }])
    );
    let messages = second["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3);
    let tool_use = &messages[1]["content"][0];
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(tool_use["type"], "tool_use");
    assert_eq!(tool_use["name"], "echo_args");
    assert_eq!(tool_use["input"], json!({"city": "Oslo"}));
    let id = tool_use["id"].as_str().expect("id");
    assert!(id.starts_with("toolu_fake"), "{id}");
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [{
            "type": "tool_result", "tool_use_id": id,
            "content": r#"{"city":"Oslo"}"#, "is_error": false
        }]})
    );
}
