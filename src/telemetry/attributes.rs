//! The attributes of confab's spans, from typed call data: OpenTelemetry's
//! GenAI semantic conventions (the names of semantic-conventions v1.37.0,
//! where `gen_ai.provider.name` replaced `gen_ai.system`, plus the newer
//! `gen_ai.usage.cache_*`, `reasoning` and `time_to_first_chunk` names),
//! Langfuse's `session.id` / `user.id`, and the OpenInference names Arize
//! Phoenix uses to classify a span (`openinference.span.kind`,
//! `llm.model_name`, `llm.token_count.*`).

use opentelemetry::{Array, KeyValue, StringValue, Value};
use serde::Serialize;

use crate::llm::{Message, Role};
use crate::usage::{CallOutcome, UsageRecord};

/// What kind of model call a span stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A chat completion (or Anthropic message).
    Chat,
    /// An embeddings batch.
    Embeddings,
}

impl Operation {
    /// The `gen_ai.operation.name` value.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Chat => "chat",
            Operation::Embeddings => "embeddings",
        }
    }

    fn openinference_kind(self) -> &'static str {
        match self {
            Operation::Chat => "LLM",
            Operation::Embeddings => "EMBEDDING",
        }
    }
}

/// What was asked of the model, beyond the usage record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestFacts {
    /// The output cap sent.
    pub max_tokens: Option<u32>,
    /// The temperature sent.
    pub temperature: Option<f32>,
    /// Whether the reply streamed.
    pub stream: bool,
}

/// The prompt and reply of a call, for spans when content capture is on.
#[derive(Clone, Copy, Debug)]
pub struct CallContent<'a> {
    /// The system prompt.
    pub system: Option<&'a str>,
    /// The messages sent, oldest first.
    pub messages: &'a [Message],
    /// The reply text.
    pub reply: &'a str,
}

/// The parts of a message in the spec's JSON shape.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text {
        content: String,
    },
    ToolCall {
        id: Option<&'a str>,
        name: &'a str,
        arguments: String,
    },
    ToolCallResponse {
        id: &'a str,
        result: String,
    },
}

#[derive(Serialize)]
struct SpecMessage<'a> {
    role: &'a str,
    parts: Vec<Part<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
}

fn spec_message(message: &Message) -> SpecMessage<'_> {
    let redact = |text: &str| crate::safe_text::without_secrets(text, None);
    let mut parts = Vec::new();
    if let Some(result) = &message.tool_result {
        parts.push(Part::ToolCallResponse {
            id: &result.call_id,
            result: redact(&result.content),
        });
    } else if !message.content.is_empty() {
        parts.push(Part::Text {
            content: redact(&message.content),
        });
    }
    for call in &message.tool_calls {
        parts.push(Part::ToolCall {
            id: call.id.as_deref(),
            name: &call.name,
            arguments: redact(&call.arguments),
        });
    }
    let role = match (message.role, &message.tool_result) {
        (_, Some(_)) => "tool",
        (role, None) => role.as_str(),
    };
    SpecMessage {
        role,
        parts,
        finish_reason: None,
    }
}

/// `gen_ai.input.messages`, `gen_ai.output.messages` and
/// `gen_ai.system_instructions` as JSON strings, secrets redacted.
pub fn content_attributes(content: &CallContent<'_>, finish_reason: Option<&str>) -> Vec<KeyValue> {
    let input: Vec<SpecMessage<'_>> = content.messages.iter().map(spec_message).collect();
    let reply = Message::new(Role::Assistant, content.reply);
    let mut output = spec_message(&reply);
    output.finish_reason = finish_reason;
    let mut attributes = vec![
        KeyValue::new("gen_ai.input.messages", json(&input)),
        KeyValue::new("gen_ai.output.messages", json(&vec![output])),
        KeyValue::new(
            "input.value",
            crate::safe_text::without_secrets(
                content.messages.last().map_or("", |m| m.content.as_str()),
                None,
            ),
        ),
        KeyValue::new(
            "output.value",
            crate::safe_text::without_secrets(content.reply, None),
        ),
    ];
    if let Some(system) = content.system {
        let parts = vec![Part::Text {
            content: crate::safe_text::without_secrets(system, None),
        }];
        attributes.push(KeyValue::new("gen_ai.system_instructions", json(&parts)));
    }
    attributes
}

/// A value as a JSON string attribute.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The host and port of a record's `host` (`api.openai.com`,
/// `127.0.0.1:4000`).
pub fn server(host: &str) -> (String, Option<i64>) {
    match host
        .rsplit_once(':')
        .and_then(|(name, port)| Some((name, port.parse::<u16>().ok()?)))
    {
        Some((name, port)) => (name.to_string(), Some(i64::from(port))),
        None => (host.to_string(), None),
    }
}

/// The attributes a sampler may use, set when the span starts.
pub fn start_attributes(operation: Operation, record: &UsageRecord) -> Vec<KeyValue> {
    let (address, port) = server(&record.host);
    let mut attributes = vec![
        KeyValue::new("gen_ai.operation.name", operation.name()),
        KeyValue::new("gen_ai.provider.name", record.provider.clone()),
        KeyValue::new("gen_ai.request.model", record.model_requested.clone()),
        KeyValue::new("server.address", address),
    ];
    if let Some(port) = port {
        attributes.push(KeyValue::new("server.port", port));
    }
    attributes
}

/// The attributes of a finished model call: the request, the response,
/// usage, cost and, on failure, `error.type`.
pub fn call_attributes(
    operation: Operation,
    record: &UsageRecord,
    request: &RequestFacts,
    cost_usd: Option<f64>,
    latest_names_only: bool,
) -> Vec<KeyValue> {
    let mut attributes = start_attributes(operation, record);
    if !latest_names_only {
        // The name before semantic-conventions v1.37.0, for older backends.
        attributes.push(KeyValue::new("gen_ai.system", record.provider.clone()));
    }
    let model = record
        .model_reported
        .clone()
        .unwrap_or_else(|| record.model_requested.clone());
    attributes.extend([
        KeyValue::new("gen_ai.response.model", model.clone()),
        KeyValue::new("openinference.span.kind", operation.openinference_kind()),
        KeyValue::new("llm.model_name", model),
        KeyValue::new("llm.provider", record.provider.clone()),
        KeyValue::new("confab.call.id", record.call_id.clone()),
        KeyValue::new("confab.command", record.command.clone()),
        KeyValue::new("confab.retries", i64::from(record.retries)),
    ]);
    if let Some(max_tokens) = request.max_tokens {
        attributes.push(KeyValue::new(
            "gen_ai.request.max_tokens",
            i64::from(max_tokens),
        ));
    }
    if let Some(temperature) = request.temperature {
        attributes.push(KeyValue::new(
            "gen_ai.request.temperature",
            f64::from(temperature),
        ));
    }
    if request.stream {
        attributes.push(KeyValue::new("gen_ai.request.stream", true));
    }
    if let Some(id) = &record.response_id {
        attributes.push(KeyValue::new("gen_ai.response.id", id.clone()));
    }
    if let Some(reason) = &record.finish_reason {
        attributes.push(KeyValue::new(
            "gen_ai.response.finish_reasons",
            Value::Array(Array::String(vec![StringValue::from(reason.clone())])),
        ));
    }
    if let Some(ttft) = record.ttft_ms {
        attributes.push(KeyValue::new(
            "gen_ai.response.time_to_first_chunk",
            ttft as f64 / 1000.0,
        ));
    }
    attributes.extend(usage_attributes(operation, record));
    if let Some(id) = &record.conversation_id {
        attributes.push(KeyValue::new("gen_ai.conversation.id", id.clone()));
    }
    if let Some(cost) = cost_usd {
        attributes.push(KeyValue::new("gen_ai.usage.cost", cost));
        attributes.push(KeyValue::new("llm.cost.total", cost));
    }
    if let Some(error) = error_type(record) {
        attributes.push(KeyValue::new("error.type", error));
    }
    if let Some(hit) = &record.cache_match {
        attributes.push(KeyValue::new("confab.cache.match", hit.clone()));
    }
    attributes
}

/// Token counts. Input tokens include cache reads and writes (confab's
/// records already count them so for every provider, as the spec asks of
/// Anthropic).
fn usage_attributes(operation: Operation, record: &UsageRecord) -> Vec<KeyValue> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut attributes = vec![
        KeyValue::new("gen_ai.usage.input_tokens", count(record.input_tokens)),
        KeyValue::new("llm.token_count.prompt", count(record.input_tokens)),
    ];
    if operation == Operation::Chat {
        attributes.extend([
            KeyValue::new("gen_ai.usage.output_tokens", count(record.output_tokens)),
            KeyValue::new("llm.token_count.completion", count(record.output_tokens)),
            KeyValue::new(
                "llm.token_count.total",
                count(record.input_tokens.saturating_add(record.output_tokens)),
            ),
        ]);
    }
    if record.cached_input_tokens > 0 {
        attributes.push(KeyValue::new(
            "gen_ai.usage.cache_read.input_tokens",
            count(record.cached_input_tokens),
        ));
    }
    if record.cache_write_tokens > 0 {
        attributes.push(KeyValue::new(
            "gen_ai.usage.cache_creation.input_tokens",
            count(record.cache_write_tokens),
        ));
    }
    if record.reasoning_tokens > 0 {
        attributes.push(KeyValue::new(
            "gen_ai.usage.reasoning.output_tokens",
            count(record.reasoning_tokens),
        ));
    }
    attributes
}

/// `error.type` of a call that did not end well: the HTTP status when one
/// came, else confab's error kind, else `_OTHER`.
pub fn error_type(record: &UsageRecord) -> Option<String> {
    match record.outcome {
        CallOutcome::Ok | CallOutcome::CacheHit => None,
        CallOutcome::Error | CallOutcome::Interrupted => Some(
            record
                .status
                .filter(|s| *s >= 400)
                .map(|s| s.to_string())
                .or_else(|| record.error_kind.clone())
                .unwrap_or_else(|| "_OTHER".to_string()),
        ),
    }
}

/// Attributes every span carries: the conversation as Langfuse's and
/// Phoenix's `session.id`, and `user.id` when configured.
pub fn session_attributes(conversation_id: Option<&str>, user_id: Option<&str>) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    if let Some(id) = conversation_id {
        attributes.push(KeyValue::new("session.id", id.to_string()));
    }
    if let Some(user) = user_id {
        attributes.push(KeyValue::new("user.id", user.to_string()));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn server_address_and_port_come_apart() {
        assert_eq!(server("api.openai.com"), ("api.openai.com".into(), None));
        assert_eq!(server("127.0.0.1:4000"), ("127.0.0.1".into(), Some(4000)));
        assert_eq!(server("[::1]:8080"), ("[::1]".into(), Some(8080)));
    }

    #[test]
    fn content_is_in_the_spec_shape_with_secrets_redacted() {
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD";
        let messages = [Message::new(Role::User, format!("my key is {key}"))];
        let content = CallContent {
            system: Some("be brief"),
            messages: &messages,
            reply: "ok",
        };
        let attributes = content_attributes(&content, Some("stop"));
        let input = find(&attributes, "gen_ai.input.messages")
            .unwrap()
            .to_string();
        let parsed: serde_json::Value = serde_json::from_str(&input).unwrap();
        assert_eq!(parsed[0]["role"], "user");
        assert_eq!(parsed[0]["parts"][0]["type"], "text");
        assert!(!input.contains(key), "{input}");
        let output = find(&attributes, "gen_ai.output.messages")
            .unwrap()
            .to_string();
        let parsed: serde_json::Value = serde_json::from_str(&output).unwrap();
        assert_eq!(parsed[0]["finish_reason"], "stop");
        assert_eq!(parsed[0]["parts"][0]["content"], "ok");
    }
}
