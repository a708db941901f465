//! Talking to model APIs: the typed requests, events and usage that cross
//! from the provider adapters (`openai`, later `anthropic`) to the rest of
//! confab, and the wire-level pieces they share (`sse`, `retry`).

pub mod anthropic;
pub mod client;
pub mod discovery;
pub mod flatten;
pub mod keys;
pub mod limiter;
pub mod models;
pub mod openai;
pub mod provider;
pub mod responses;
pub mod retry;
pub mod sse;
pub mod wire;

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role's name as files and the APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message sent to a model.
///
/// Plain messages carry only `role` and `content`; the tool fields are
/// left out of the JSON when unused, so older files read and write as before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// The text (may be empty for an assistant message that only calls tools).
    pub content: String,
    /// Tool calls the model asked for in this (assistant) message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallRequest>,
    /// The result of a tool call, when this message carries one (its role is
    /// then [`Role::User`] and `content` is not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<ToolResult>,
    /// Images and PDFs sent with a user message (`chat -a`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The model's reasoning that came with this (assistant) message's
    /// tool calls, passed back unchanged in the tool round that follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<ReasoningBlock>,
}

/// A block of a reasoning model's thinking, kept only to be passed back
/// unmodified while a tool round goes on (the APIs check it): Anthropic's
/// thinking blocks, whose signature proves them, and OpenAI Responses
/// reasoning items, whose content comes encrypted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReasoningBlock {
    /// An Anthropic `thinking` block.
    Thinking {
        /// The thinking text (a summary on Claude 4 models).
        thinking: String,
        /// The signature the API checks when the block comes back.
        signature: String,
    },
    /// An Anthropic `redacted_thinking` block (opaque, encrypted).
    RedactedThinking {
        /// The encrypted content.
        data: String,
    },
    /// An OpenAI Responses `reasoning` output item.
    OpenaiReasoning {
        /// The item id (`rs_...`).
        id: String,
        /// The reasoning, encrypted (asked for with `include`); an item
        /// without it cannot be passed back statelessly and is dropped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
        /// The summary texts, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        summary: Vec<String>,
    },
}

/// How long a provider keeps a marked prompt prefix cached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheTtl {
    /// Five minutes, refreshed on every hit (writes cost 1.25x input).
    #[default]
    #[serde(rename = "5m")]
    FiveMinutes,
    /// An hour (writes cost 2x input): for prompts reused less often.
    #[serde(rename = "1h")]
    Hour,
}

impl std::str::FromStr for CacheTtl {
    type Err = String;

    fn from_str(text: &str) -> Result<CacheTtl, String> {
        match text {
            "5m" => Ok(CacheTtl::FiveMinutes),
            "1h" => Ok(CacheTtl::Hour),
            other => Err(format!("unknown cache lifetime `{other}`: use 5m or 1h")),
        }
    }
}

/// How hard a reasoning model thinks (`--reasoning-effort`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    /// As little as the model allows (gpt-5 family).
    Minimal,
    /// Little.
    Low,
    /// The usual default.
    Medium,
    /// Much.
    High,
}

impl ReasoningEffort {
    /// The value as the APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

impl std::str::FromStr for ReasoningEffort {
    type Err = String;

    fn from_str(text: &str) -> Result<ReasoningEffort, String> {
        match text {
            "minimal" => Ok(ReasoningEffort::Minimal),
            "low" => Ok(ReasoningEffort::Low),
            "medium" => Ok(ReasoningEffort::Medium),
            "high" => Ok(ReasoningEffort::High),
            other => Err(format!(
                "unknown reasoning effort `{other}`: use minimal, low, medium or high"
            )),
        }
    }
}

/// An image or PDF sent with a message. What a conversation file keeps of
/// it is the reference (name, type, size, hash); the bytes live once in
/// the data dir's `attachments/` and are loaded into `data` to be sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The path it was attached from (`-` for stdin), for people.
    pub name: String,
    /// `image/png`, `image/jpeg`, `image/gif`, `image/webp` or `application/pdf`.
    pub media_type: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes, hex: its name in the attachment store.
    pub sha256: String,
    /// The input tokens it is estimated to cost (the provider's image
    /// formula; a per-page estimate for PDFs).
    #[serde(default)]
    pub estimated_tokens: u64,
    /// The bytes, standard base64; `None` when they could not be loaded
    /// (the model is then told the attachment is gone).
    #[serde(skip)]
    pub data: Option<std::sync::Arc<str>>,
}

impl Attachment {
    /// Whether it is a PDF (a document block) rather than an image.
    pub fn is_pdf(&self) -> bool {
        self.media_type == "application/pdf"
    }

    /// The note sent instead of an attachment whose bytes are gone.
    pub fn missing_note(&self) -> String {
        format!(
            "[attachment {} ({}) is no longer available]",
            self.name, self.media_type
        )
    }
}

impl Message {
    /// A plain text message.
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_result: None,
            attachments: Vec::new(),
            reasoning: Vec::new(),
        }
    }

    /// An assistant message asking for tool calls, with whatever text came
    /// before them.
    pub fn assistant_tool_calls(
        content: impl Into<String>,
        tool_calls: Vec<ToolCallRequest>,
    ) -> Message {
        Message {
            tool_calls,
            ..Message::new(Role::Assistant, content)
        }
    }

    /// A message carrying the result of one tool call.
    pub fn tool_result(result: ToolResult) -> Message {
        Message {
            tool_result: Some(result),
            ..Message::new(Role::User, "")
        }
    }

    /// The bytes of text this message sends (content, tool-call arguments,
    /// tool result), for rough size estimates.
    pub fn text_len(&self) -> usize {
        self.content.len()
            + self
                .tool_calls
                .iter()
                .map(|c| c.name.len() + c.arguments.len())
                .sum::<usize>()
            + self.tool_result.as_ref().map_or(0, |r| r.content.len())
    }
}

/// A tool call the model asked for, its fragments joined.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRequest {
    /// The call id the API gave ([`client::Client::chat`] fills in
    /// `call_N` when a server sent none).
    pub id: Option<String>,
    /// The function name.
    pub name: String,
    /// The arguments, a JSON string as the model wrote it (unvalidated).
    pub arguments: String,
}

/// The result of one tool call, sent back to the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the call it answers ([`ToolCallRequest::id`]).
    pub call_id: String,
    /// What the model is told: the tool's output, or why it did not run.
    pub content: String,
    /// True when the call was refused or failed.
    #[serde(default)]
    pub is_error: bool,
    /// Images the tool returned (MCP servers can), for wire formats that
    /// carry images in tool results; the others get a note instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ToolImage>,
}

impl ToolResult {
    /// A text-only result answering `call_id`.
    pub fn text(call_id: &str, content: impl Into<String>, is_error: bool) -> ToolResult {
        ToolResult {
            call_id: call_id.to_string(),
            content: content.into(),
            is_error,
            images: Vec::new(),
        }
    }

    /// The result as a conversation keeps it: images (up to megabytes of
    /// base64 each) become a line of text naming them, so conversation
    /// files stay small and a later turn does not resend them.
    pub fn for_history(&self) -> ToolResult {
        let mut content = self.content.clone();
        for image in &self.images {
            if !content.is_empty() {
                content.push('\n');
            }
            content.push_str(&format!(
                "[the tool returned an image ({}); it was shown once and is not kept]",
                image.media_type
            ));
        }
        ToolResult::text(&self.call_id, content, self.is_error)
    }
}

/// An image in a tool result: its media type and the base64 data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolImage {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub media_type: String,
    /// The image, standard base64.
    pub data: String,
}

/// A tool the model may call, as declared to the API.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolDeclaration {
    /// The function name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON Schema of its arguments (an object schema).
    pub parameters: serde_json::Value,
}

/// A JSON Schema the reply must follow (OpenAI Structured Outputs).
#[derive(Clone, Debug, PartialEq)]
pub struct JsonSchemaFormat {
    /// A name for the schema (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// The schema.
    pub schema: serde_json::Value,
}

/// One chat request, provider-neutral.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatRequest {
    /// The model id as the API knows it.
    pub model: String,
    /// The system prompt, if any (kept apart: Anthropic takes it separately).
    pub system: Option<String>,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// The explicit output cap every request carries.
    pub max_output_tokens: u32,
    /// Sampling temperature, if set.
    pub temperature: Option<f32>,
    /// Whether to stream the reply.
    pub stream: bool,
    /// Tools the model may call (none: no `tools` field is sent).
    pub tools: Vec<ToolDeclaration>,
    /// A schema the reply must follow; sent only where the wire format
    /// takes one ([`wire::WireFormat::takes_response_format`]).
    pub response_format: Option<JsonSchemaFormat>,
    /// Mark the stable prefix for the provider's prompt cache, kept this
    /// long (Anthropic's `cache_control` breakpoints; OpenAI caches on its
    /// own); `None`: no marks.
    pub cache_prompt: Option<CacheTtl>,
    /// How hard a reasoning model thinks; `None`: the model's default.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Anthropic extended thinking: the thinking budget in tokens
    /// (at least 1024, below `max_output_tokens`).
    pub thinking_budget: Option<u32>,
}

/// Token usage of one call, normalised across providers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// Of those, the ones written for an hour (Anthropic's `1h` TTL,
    /// billed at twice the input price rather than 1.25 times).
    #[serde(default)]
    pub cache_write_hour_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// Reasoning tokens among the output tokens.
    pub reasoning_tokens: u64,
}

/// Something a streamed (or whole) reply said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatEvent {
    /// The model the API reports it used.
    Model(String),
    /// The API's id of the reply (`chatcmpl-...`, `msg_...`).
    ResponseId(String),
    /// More reply text.
    TextDelta(String),
    /// More of the model's visible reasoning (an OpenAI reasoning summary,
    /// Anthropic thinking, a local server's `reasoning_content`): shown
    /// apart, never part of the reply.
    ReasoningDelta(String),
    /// A whole reasoning block, to pass back in a tool round.
    Reasoning(ReasoningBlock),
    /// A fragment of a tool call, to be accumulated by `index`.
    ToolCallDelta {
        /// Which tool call it belongs to.
        index: u32,
        /// The call id (first fragment only).
        id: Option<String>,
        /// The function name (first fragment only).
        name: Option<String>,
        /// A piece of the JSON arguments string.
        arguments: String,
    },
    /// Why the reply ended.
    Finish(FinishReason),
    /// Usage; when several arrive, the last one counts.
    Usage(Usage),
    /// The end of the stream.
    Done,
}

/// Why the model stopped, the same for every wire format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// It finished (`stop`; Anthropic `end_turn`, `stop_sequence`).
    Stop,
    /// The output cap cut it off (`length`; Anthropic `max_tokens`).
    Length,
    /// It asked for tools (`tool_calls`, `function_call`; Anthropic `tool_use`).
    ToolCalls,
    /// A filter stopped it (`content_filter`; Anthropic `refusal`).
    ContentFilter,
    /// Anything else, as the API spelled it (`pause_turn`...).
    Other(String),
}

impl FinishReason {
    /// The reason a wire format's `finish_reason` / `stop_reason` names.
    pub fn from_wire(reason: &str) -> FinishReason {
        match reason {
            "stop" | "end_turn" | "stop_sequence" => FinishReason::Stop,
            "length" | "max_tokens" => FinishReason::Length,
            "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
            "content_filter" | "refusal" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }

    /// The reason as reports show it (the OpenAI spelling for known ones).
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(other) => other,
        }
    }

    /// Whether the output cap cut the reply short.
    pub fn is_cut_off(&self) -> bool {
        *self == FinishReason::Length
    }
}

/// An error reported by a model API, in the body of an error response or
/// inside a stream.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct ApiError {
    /// The HTTP status, if the error came with one (not for mid-stream errors).
    pub status: Option<u16>,
    /// The provider's error type (`rate_limit_error`, `invalid_request_error`...).
    pub kind: Option<String>,
    /// The provider's error code, as a string (some servers send integers).
    pub code: Option<String>,
    /// The message for people.
    pub message: String,
}

impl ApiError {
    /// The error for a response body that is not in the provider's error
    /// shape (an HTML page from a proxy, plain text, nothing): its text,
    /// trimmed to 500 characters, becomes the message.
    pub fn from_raw_body(status: u16, body: &str) -> ApiError {
        ApiError {
            status: Some(status),
            kind: None,
            code: None,
            message: if body.trim().is_empty() {
                format!("HTTP {status} with an empty body")
            } else {
                body.trim().chars().take(500).collect()
            },
        }
    }
}

/// Why a streamed event (or a whole response) could not be used; shared
/// by the provider adapters.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The server reported an error inside the stream (HTTP 200).
    #[error("the server reported an error mid-stream: {0}")]
    Api(ApiError),
    /// The event's data is not what the wire format promises.
    #[error("malformed stream event: {0}")]
    Malformed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_mean_the_same_in_every_wire_format() {
        for (wire, reason) in [
            ("stop", FinishReason::Stop),
            ("end_turn", FinishReason::Stop),
            ("stop_sequence", FinishReason::Stop),
            ("length", FinishReason::Length),
            ("max_tokens", FinishReason::Length),
            ("tool_calls", FinishReason::ToolCalls),
            ("tool_use", FinishReason::ToolCalls),
            ("content_filter", FinishReason::ContentFilter),
            ("refusal", FinishReason::ContentFilter),
        ] {
            assert_eq!(FinishReason::from_wire(wire), reason, "{wire}");
        }
        let paused = FinishReason::from_wire("pause_turn");
        assert_eq!(paused.as_str(), "pause_turn");
        assert!(FinishReason::from_wire("max_tokens").is_cut_off());
        assert!(!paused.is_cut_off());
        assert_eq!(FinishReason::from_wire("end_turn").as_str(), "stop");
    }

    #[test]
    fn plain_messages_serialize_as_before_and_tool_data_round_trips() {
        let plain = Message::new(Role::User, "hi");
        assert_eq!(
            serde_json::to_value(&plain).expect("json"),
            serde_json::json!({"role": "user", "content": "hi"})
        );
        let old: Message =
            serde_json::from_str(r#"{"role":"assistant","content":"hello"}"#).expect("old");
        assert_eq!(old, Message::new(Role::Assistant, "hello"));
        for message in [
            Message::assistant_tool_calls(
                "",
                vec![ToolCallRequest {
                    id: Some("call_1".into()),
                    name: "f".into(),
                    arguments: "{}".into(),
                }],
            ),
            Message::tool_result(ToolResult {
                call_id: "call_1".into(),
                content: "out".into(),
                is_error: true,
                images: Vec::new(),
            }),
        ] {
            let text = serde_json::to_string(&message).expect("json");
            assert_eq!(
                serde_json::from_str::<Message>(&text).expect("back"),
                message
            );
        }
    }
}
