//! The Anthropic Messages wire format: request bodies (with the system
//! prompt at the top level and a required `max_tokens`), streamed events and
//! whole responses into [`ChatEvent`]s, and error bodies
//! (`shared/reference/llm-apis.md` §3).

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::llm::{
    ApiError, ChatEvent, ChatRequest, FinishReason, ReasoningBlock, Role, StreamError, Usage,
};

/// The JSON body of a Messages request. `response_format` is never sent:
/// the Messages API has no such field (see
/// [`crate::llm::wire::WireFormat::takes_response_format`]).
#[derive(Debug, Serialize)]
pub struct RequestBody<'a> {
    model: &'a str,
    /// Required by Anthropic.
    max_tokens: u32,
    /// Anthropic has no `system` role: the system prompt goes here.
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<Cow<'a, str>>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<WireThinking>,
}

/// Extended thinking with a budget (`{"type": "enabled", ...}`).
#[derive(Debug, Serialize)]
struct WireThinking {
    #[serde(rename = "type")]
    kind: &'static str,
    budget_tokens: u32,
}

/// The smallest thinking budget the API takes.
pub const MIN_THINKING_BUDGET: u32 = 1024;

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: WireContent<'a>,
}

/// A plain string, or content blocks when tools are involved.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum WireContent<'a> {
    Text(&'a str),
    Blocks(Vec<WireBlock<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: serde_json::Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: WireResultContent<'a>,
        is_error: bool,
    },
    Image {
        source: WireImageSource<'a>,
    },
    Document {
        source: WireImageSource<'a>,
    },
    #[serde(rename = "text")]
    Note {
        text: String,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
}

/// The thinking blocks to pass back before an assistant message's tool
/// calls, unmodified and in order (OpenAI reasoning items are not ours).
fn thinking_blocks(reasoning: &[ReasoningBlock]) -> impl Iterator<Item = WireBlock<'_>> {
    reasoning.iter().filter_map(|block| match block {
        ReasoningBlock::Thinking {
            thinking,
            signature,
        } => Some(WireBlock::Thinking {
            thinking,
            signature,
        }),
        ReasoningBlock::RedactedThinking { data } => Some(WireBlock::RedactedThinking { data }),
        ReasoningBlock::OpenaiReasoning { .. } => None,
    })
}

/// A user message with attachments as blocks: each image or PDF first (as
/// Anthropic suggests), then the text; one whose bytes are gone is a note.
fn attachment_blocks(message: &crate::llm::Message) -> Vec<WireBlock<'_>> {
    let mut blocks: Vec<WireBlock<'_>> = message
        .attachments
        .iter()
        .map(|attachment| match &attachment.data {
            None => WireBlock::Note {
                text: attachment.missing_note(),
            },
            Some(data) => {
                let source = WireImageSource {
                    kind: "base64",
                    media_type: &attachment.media_type,
                    data,
                };
                if attachment.is_pdf() {
                    WireBlock::Document { source }
                } else {
                    WireBlock::Image { source }
                }
            }
        })
        .collect();
    if !message.content.is_empty() {
        blocks.push(WireBlock::Text {
            text: &message.content,
        });
    }
    blocks
}

/// A tool result's content: its text, or text and image blocks when the
/// tool returned images.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum WireResultContent<'a> {
    Text(&'a str),
    Blocks(Vec<WireResultBlock<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireResultBlock<'a> {
    Text { text: &'a str },
    Image { source: WireImageSource<'a> },
}

#[derive(Debug, Serialize)]
struct WireImageSource<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    media_type: &'a str,
    data: &'a str,
}

/// The content of a `tool_result` block: plain text, or (with images) a
/// text block, left out when empty, then one image block per image.
fn result_content(result: &crate::llm::ToolResult) -> WireResultContent<'_> {
    if result.images.is_empty() {
        return WireResultContent::Text(&result.content);
    }
    let text = (!result.content.is_empty()).then_some(WireResultBlock::Text {
        text: &result.content,
    });
    let images = result.images.iter().map(|image| WireResultBlock::Image {
        source: WireImageSource {
            kind: "base64",
            media_type: &image.media_type,
            data: &image.data,
        },
    });
    WireResultContent::Blocks(text.into_iter().chain(images).collect())
}

#[derive(Debug, Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a serde_json::Value,
}

/// The `input` of a `tool_use` block: the model's arguments when they are
/// a JSON object, else `{}` (the API takes nothing else; a call with such
/// arguments was refused, and its result says why).
fn tool_input(arguments: &str) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Value>(arguments) {
        Ok(value @ serde_json::Value::Object(_)) => value,
        _ => serde_json::Value::Object(serde_json::Map::new()),
    }
}

/// Builds the request body. The system prompt and any system messages of
/// the conversation go, in that order and joined by a blank line, into the
/// top-level `system` (empty ones are left out); the other messages keep
/// their order. An assistant message's tool calls become `tool_use` blocks
/// after its text; consecutive tool results become `tool_result` blocks of
/// one user message, and a user message after them a text block of it.
pub fn request_body(request: &ChatRequest) -> RequestBody<'_> {
    let mut system_parts: Vec<&str> = Vec::new();
    if let Some(system) = &request.system {
        system_parts.push(system);
    }
    let mut messages: Vec<WireMessage<'_>> = Vec::with_capacity(request.messages.len());
    // Thinking goes back for the turn under way only: the API ignores it
    // in earlier turns, and its signatures belong to the model that wrote it.
    let turn_start = request
        .messages
        .iter()
        .rposition(|m| m.role == Role::User && m.tool_result.is_none())
        .unwrap_or(0);
    for (position, message) in request.messages.iter().enumerate() {
        let thinking = request.thinking_budget.is_some() && position > turn_start;
        if let Some(result) = &message.tool_result {
            let block = WireBlock::ToolResult {
                tool_use_id: &result.call_id,
                content: result_content(result),
                is_error: result.is_error,
            };
            // Results of one round of calls go back together.
            if let Some(WireMessage {
                role: "user",
                content: WireContent::Blocks(blocks),
            }) = messages.last_mut()
            {
                if blocks
                    .iter()
                    .all(|b| matches!(b, WireBlock::ToolResult { .. }))
                {
                    blocks.push(block);
                    continue;
                }
            }
            messages.push(WireMessage {
                role: "user",
                content: WireContent::Blocks(vec![block]),
            });
            continue;
        }
        let role = match message.role {
            Role::System => {
                system_parts.push(&message.content);
                continue;
            }
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        // Text after tool results joins their user message: the API wants
        // the results in the message right after the calls, and roles to
        // alternate.
        if role == "user" {
            if let Some(WireMessage {
                role: "user",
                content: WireContent::Blocks(blocks),
            }) = messages.last_mut()
            {
                blocks.extend(attachment_blocks(message));
                continue;
            }
        }
        let content = if !message.attachments.is_empty() {
            WireContent::Blocks(attachment_blocks(message))
        } else if message.tool_calls.is_empty() {
            WireContent::Text(&message.content)
        } else {
            let mut blocks = Vec::with_capacity(message.tool_calls.len() + 1);
            if thinking {
                blocks.extend(thinking_blocks(&message.reasoning));
            }
            // The API refuses empty text blocks.
            if !message.content.is_empty() {
                blocks.push(WireBlock::Text {
                    text: &message.content,
                });
            }
            for call in &message.tool_calls {
                blocks.push(WireBlock::ToolUse {
                    id: call.id.as_deref().unwrap_or_default(),
                    name: &call.name,
                    input: tool_input(&call.arguments),
                });
            }
            WireContent::Blocks(blocks)
        };
        messages.push(WireMessage { role, content });
    }
    system_parts.retain(|part| !part.is_empty());
    let system = match system_parts.as_slice() {
        [] => None,
        [only] => Some(Cow::Borrowed(*only)),
        parts => Some(Cow::Owned(parts.join("\n\n"))),
    };
    RequestBody {
        model: &request.model,
        max_tokens: request.max_output_tokens,
        system,
        messages,
        // Thinking takes no temperature but the default.
        temperature: request
            .temperature
            .filter(|_| request.thinking_budget.is_none()),
        stream: request.stream,
        thinking: request.thinking_budget.map(|budget_tokens| WireThinking {
            kind: "enabled",
            budget_tokens,
        }),
        tools: request
            .tools
            .iter()
            .map(|tool| WireTool {
                name: &tool.name,
                description: &tool.description,
                input_schema: &tool.parameters,
            })
            .collect(),
    }
}

/// The usage as Anthropic counts it: `input_tokens` excludes the cached
/// prompt tokens, which are counted apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct AnthropicUsage {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    /// Of the cache writes, those with the one-hour TTL.
    cache_creation_hour_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    thinking_tokens: u64,
}

impl From<AnthropicUsage> for Usage {
    fn from(u: AnthropicUsage) -> Usage {
        Usage {
            input_tokens: u
                .input_tokens
                .saturating_add(u.cache_read_input_tokens)
                .saturating_add(u.cache_creation_input_tokens),
            cached_input_tokens: u.cache_read_input_tokens,
            cache_write_tokens: u.cache_creation_input_tokens,
            cache_write_hour_tokens: u.cache_creation_hour_tokens,
            output_tokens: u.output_tokens,
            reasoning_tokens: u.thinking_tokens,
        }
    }
}

/// What must persist from one streamed event to the next.
#[derive(Debug, Default)]
pub struct StreamState {
    /// Whether `message_start` has arrived.
    started: bool,
    /// The usage so far (`message_delta` carries cumulative figures).
    usage: AnthropicUsage,
    /// Content block index to the `index` of its [`ChatEvent::ToolCallDelta`]s,
    /// for the client `tool_use` blocks only.
    tool_calls: HashMap<u32, u32>,
    /// Thinking blocks being streamed, by content block index: the text
    /// and the signature so far.
    thinking: HashMap<u32, (String, String)>,
}

#[derive(Debug, Deserialize)]
struct MessageStartEvent {
    message: MessageStart,
}

#[derive(Debug, Deserialize)]
struct MessageStart {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `usage` in a Message (or `message_start`); the cache fields are nullable.
#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

/// The cache writes by TTL.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
struct OutputDetails {
    #[serde(default)]
    thinking_tokens: Option<u64>,
}

impl From<WireUsage> for AnthropicUsage {
    fn from(u: WireUsage) -> AnthropicUsage {
        AnthropicUsage {
            input_tokens: u.input_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens.unwrap_or(0),
            cache_creation_hour_tokens: u
                .cache_creation
                .and_then(|c| c.ephemeral_1h_input_tokens)
                .unwrap_or(0),
            cache_read_input_tokens: u.cache_read_input_tokens.unwrap_or(0),
            output_tokens: u.output_tokens,
            thinking_tokens: u
                .output_tokens_details
                .and_then(|d| d.thinking_tokens)
                .unwrap_or(0),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ContentBlockStartEvent {
    index: u32,
    content_block: ContentBlock,
}

/// A content block; types confab does not use (server tools...) are `Other`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Option<serde_json::Value>,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct ContentBlockStopEvent {
    index: u32,
}

#[derive(Debug, Deserialize)]
struct ContentBlockDeltaEvent {
    index: u32,
    delta: BlockDelta,
}

/// A content block delta; `citations_delta` and unknown types are `Other`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        #[serde(default)]
        text: String,
    },
    InputJsonDelta {
        #[serde(default)]
        partial_json: String,
    },
    ThinkingDelta {
        #[serde(default)]
        thinking: String,
    },
    SignatureDelta {
        #[serde(default)]
        signature: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct MessageDeltaEvent {
    #[serde(default)]
    delta: Option<MessageDelta>,
    #[serde(default)]
    usage: Option<DeltaUsage>,
}

#[derive(Debug, Deserialize)]
struct MessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// `usage` in `message_delta`: cumulative, every field optional.
#[derive(Debug, Deserialize)]
struct DeltaUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

impl AnthropicUsage {
    /// Applies a cumulative `message_delta` usage as the SDK does: assign,
    /// never add, and keep a field the delta leaves out or null.
    fn apply(&mut self, delta: DeltaUsage) {
        if let Some(n) = delta.output_tokens {
            self.output_tokens = n;
        }
        if let Some(n) = delta.input_tokens {
            self.input_tokens = n;
        }
        if let Some(n) = delta.cache_creation_input_tokens {
            self.cache_creation_input_tokens = n;
        }
        if let Some(n) = delta.cache_read_input_tokens {
            self.cache_read_input_tokens = n;
        }
        if let Some(n) = delta
            .cache_creation
            .and_then(|c| c.ephemeral_1h_input_tokens)
        {
            self.cache_creation_hour_tokens = n;
        }
        if let Some(n) = delta.output_tokens_details.and_then(|d| d.thinking_tokens) {
            self.thinking_tokens = n;
        }
    }
}

#[derive(Debug, Deserialize)]
struct ErrorEvent {
    error: WireError,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl WireError {
    fn into_api_error(self, status: Option<u16>) -> ApiError {
        ApiError {
            status,
            kind: self.kind,
            code: None,
            message: self
                .message
                .unwrap_or_else(|| "the server reported an error".into()),
        }
    }
}

/// Parses `data` as the payload of the event named `event_name`.
fn parse_data<'de, T: Deserialize<'de>>(
    event_name: &str,
    data: &'de str,
) -> Result<T, StreamError> {
    serde_json::from_str(data).map_err(|err| {
        let preview: String = data.trim().chars().take(80).collect();
        StreamError::Malformed(format!("{event_name}: {err}: {preview}"))
    })
}

/// The most `cache_control` breakpoints a request may carry.
pub const MAX_CACHE_BREAKPOINTS: usize = 4;

/// Puts prompt-cache breakpoints on a request body, at most
/// [`MAX_CACHE_BREAKPOINTS`], where the prefix is stable from turn to
/// turn: the last tool declaration, the system prompt, the user message
/// before the newest (what the previous turn cached), and the newest
/// message (for the next turn). A prefix shorter than the model's minimum
/// (1024 tokens for most) is simply not cached. Works on the serialised
/// body: `cache_control` is an attribute of whichever block ends a prefix.
pub fn mark_cache_breakpoints(body: &mut serde_json::Value, ttl: crate::llm::CacheTtl) {
    let marker = || match ttl {
        crate::llm::CacheTtl::Hour => serde_json::json!({"type": "ephemeral", "ttl": "1h"}),
        crate::llm::CacheTtl::FiveMinutes => serde_json::json!({"type": "ephemeral"}),
    };
    if let Some(last_tool) = body["tools"].as_array_mut().and_then(|t| t.last_mut()) {
        last_tool["cache_control"] = marker();
    }
    if let Some(system) = body
        .get("system")
        .and_then(|s| s.as_str())
        .map(str::to_string)
    {
        body["system"] =
            serde_json::json!([{"type": "text", "text": system, "cache_control": marker()}]);
    }
    let Some(messages) = body["messages"].as_array_mut() else {
        return;
    };
    let newest = messages.len().checked_sub(1);
    let previous_user =
        newest.and_then(|newest| messages[..newest].iter().rposition(|m| m["role"] == "user"));
    for index in [previous_user, newest].into_iter().flatten() {
        mark_message(&mut messages[index], marker());
    }
}

/// Marks the last block of a message, turning string content into a block.
fn mark_message(message: &mut serde_json::Value, marker: serde_json::Value) {
    if let Some(text) = message["content"].as_str().map(str::to_string) {
        if text.is_empty() {
            return;
        }
        message["content"] = serde_json::json!([{"type": "text", "text": text}]);
    }
    if let Some(last) = message["content"].as_array_mut().and_then(|b| b.last_mut()) {
        last["cache_control"] = marker;
    }
}

/// The Anthropic API version confab speaks.
pub const API_VERSION: &str = "2023-06-01";

/// The Messages wire format.
pub struct Messages;

impl crate::llm::wire::WireFormat for Messages {
    fn chat_path(&self) -> &'static str {
        "messages"
    }

    fn auth_headers(&self, api_key: Option<&str>) -> Vec<(&'static str, String)> {
        let mut headers = vec![("anthropic-version", API_VERSION.to_string())];
        headers.extend(api_key.map(|key| ("x-api-key", key.to_string())));
        headers
    }

    fn chat_body(&self, request: &ChatRequest) -> Vec<u8> {
        // Serializing plain structs of strings and numbers cannot fail.
        let Some(ttl) = request.cache_prompt else {
            return serde_json::to_vec(&request_body(request)).unwrap_or_default();
        };
        let mut body = serde_json::to_value(request_body(request)).unwrap_or_default();
        mark_cache_breakpoints(&mut body, ttl);
        serde_json::to_vec(&body).unwrap_or_default()
    }

    fn stream_reader(&self) -> Box<dyn crate::llm::wire::StreamReader> {
        Box::new(EventReader::default())
    }

    fn parse_reply(&self, body: &str) -> Result<Vec<ChatEvent>, StreamError> {
        parse_response(body)
    }

    fn parse_error(&self, status: u16, body: &str) -> ApiError {
        parse_error_body(status, body)
    }

    fn takes_response_format(&self) -> bool {
        false
    }

    fn takes_reasoning_effort(&self) -> bool {
        false
    }

    fn takes_thinking_budget(&self) -> bool {
        true
    }
}

/// Reads a stream's named events, keeping the state they build up.
#[derive(Default)]
struct EventReader {
    state: StreamState,
}

impl crate::llm::wire::StreamReader for EventReader {
    fn read(&mut self, event: &crate::llm::sse::SseEvent) -> Result<Vec<ChatEvent>, StreamError> {
        parse_event(&event.event, &event.data, &mut self.state)
    }
}

/// Turns one streamed event (its `event:` name and its `data:`) into events,
/// updating `state`. Unknown event names and `ping` are ignored; an `error`
/// event is an [`StreamError::Api`] without a status; any known event before
/// `message_start` is [`StreamError::Malformed`], as the SDK refuses it.
pub fn parse_event(
    event_name: &str,
    data: &str,
    state: &mut StreamState,
) -> Result<Vec<ChatEvent>, StreamError> {
    match event_name {
        "ping" => return Ok(Vec::new()),
        "error" => {
            let event: ErrorEvent = parse_data(event_name, data)?;
            return Err(StreamError::Api(event.error.into_api_error(None)));
        }
        "message_start" => {
            let event: MessageStartEvent = parse_data(event_name, data)?;
            state.started = true;
            state.usage = event.message.usage.unwrap_or_default().into();
            state.tool_calls.clear();
            state.thinking.clear();
            let mut events = Vec::new();
            if !event.message.model.is_empty() {
                events.push(ChatEvent::Model(event.message.model));
            }
            if !event.message.id.is_empty() {
                events.push(ChatEvent::ResponseId(event.message.id));
            }
            return Ok(events);
        }
        "content_block_start"
        | "content_block_delta"
        | "content_block_stop"
        | "message_delta"
        | "message_stop" => {}
        _ => return Ok(Vec::new()),
    }
    if !state.started {
        return Err(StreamError::Malformed(format!(
            "{event_name} before message_start"
        )));
    }
    let mut events = Vec::new();
    match event_name {
        "content_block_start" => {
            let event: ContentBlockStartEvent = parse_data(event_name, data)?;
            match event.content_block {
                ContentBlock::Text { text } => {
                    if !text.is_empty() {
                        events.push(ChatEvent::TextDelta(text));
                    }
                }
                ContentBlock::ToolUse { id, name, .. } => {
                    let index = event.index;
                    state.tool_calls.insert(event.index, index);
                    events.push(ChatEvent::ToolCallDelta {
                        index,
                        id: Some(id),
                        name: Some(name),
                        arguments: String::new(),
                    });
                }
                ContentBlock::Thinking {
                    thinking,
                    signature,
                } => {
                    if !thinking.is_empty() {
                        events.push(ChatEvent::ReasoningDelta(thinking.clone()));
                    }
                    state.thinking.insert(event.index, (thinking, signature));
                }
                ContentBlock::RedactedThinking { data } => {
                    events.push(ChatEvent::Reasoning(ReasoningBlock::RedactedThinking {
                        data,
                    }));
                }
                ContentBlock::Other => {}
            }
        }
        "content_block_stop" => {
            let event: ContentBlockStopEvent = parse_data(event_name, data)?;
            if let Some((thinking, signature)) = state.thinking.remove(&event.index) {
                events.push(ChatEvent::Reasoning(ReasoningBlock::Thinking {
                    thinking,
                    signature,
                }));
            }
        }
        "content_block_delta" => {
            let event: ContentBlockDeltaEvent = parse_data(event_name, data)?;
            match event.delta {
                BlockDelta::TextDelta { text } => {
                    if !text.is_empty() {
                        events.push(ChatEvent::TextDelta(text));
                    }
                }
                // Input of a block that is not a client tool call (a server
                // tool's, say) is not ours to run.
                BlockDelta::InputJsonDelta { partial_json } => {
                    if let Some(&index) = state.tool_calls.get(&event.index) {
                        events.push(ChatEvent::ToolCallDelta {
                            index,
                            id: None,
                            name: None,
                            arguments: partial_json,
                        });
                    }
                }
                BlockDelta::ThinkingDelta { thinking } => {
                    if let Some((text, _)) = state.thinking.get_mut(&event.index) {
                        text.push_str(&thinking);
                        events.push(ChatEvent::ReasoningDelta(thinking));
                    }
                }
                BlockDelta::SignatureDelta { signature } => {
                    if let Some((_, kept)) = state.thinking.get_mut(&event.index) {
                        kept.push_str(&signature);
                    }
                }
                BlockDelta::Other => {}
            }
        }
        "message_delta" => {
            let event: MessageDeltaEvent = parse_data(event_name, data)?;
            if let Some(reason) = event.delta.and_then(|d| d.stop_reason) {
                events.push(ChatEvent::Finish(FinishReason::from_wire(&reason)));
            }
            if let Some(usage) = event.usage {
                state.usage.apply(usage);
            }
            events.push(ChatEvent::Usage(state.usage.into()));
        }
        "message_stop" => events.push(ChatEvent::Done),
        _ => {}
    }
    Ok(events)
}

/// A whole (non-streaming) Messages response, or an error in its place.
#[derive(Debug, Deserialize)]
struct ResponseBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    error: Option<WireError>,
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// Turns a whole (non-streaming) Messages response body into the events a
/// stream of it would have produced: the model, the text and tool calls in
/// block order (a tool call's `index` is its block index, as in a stream),
/// the stop reason, the usage and [`ChatEvent::Done`].
pub fn parse_response(body: &str) -> Result<Vec<ChatEvent>, StreamError> {
    let response: ResponseBody = parse_data("response", body)?;
    if response.kind.as_deref() == Some("error") || response.error.is_some() {
        let error = response.error.unwrap_or(WireError {
            kind: None,
            message: None,
        });
        return Err(StreamError::Api(error.into_api_error(None)));
    }
    let mut events = Vec::new();
    if !response.model.is_empty() {
        events.push(ChatEvent::Model(response.model));
    }
    if !response.id.is_empty() {
        events.push(ChatEvent::ResponseId(response.id));
    }
    for (index, block) in (0u32..).zip(response.content) {
        match block {
            ContentBlock::Text { text } => {
                if !text.is_empty() {
                    events.push(ChatEvent::TextDelta(text));
                }
            }
            ContentBlock::ToolUse { id, name, input } => {
                let input = input.unwrap_or_else(|| serde_json::Value::Object(Default::default()));
                let arguments = serde_json::to_string(&input).map_err(|err| {
                    StreamError::Malformed(format!("tool_use input of {name}: {err}"))
                })?;
                events.push(ChatEvent::ToolCallDelta {
                    index,
                    id: Some(id),
                    name: Some(name),
                    arguments,
                });
            }
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                if !thinking.is_empty() {
                    events.push(ChatEvent::ReasoningDelta(thinking.clone()));
                }
                events.push(ChatEvent::Reasoning(ReasoningBlock::Thinking {
                    thinking,
                    signature,
                }));
            }
            ContentBlock::RedactedThinking { data } => {
                events.push(ChatEvent::Reasoning(ReasoningBlock::RedactedThinking {
                    data,
                }));
            }
            ContentBlock::Other => {}
        }
    }
    if let Some(reason) = response.stop_reason {
        events.push(ChatEvent::Finish(FinishReason::from_wire(&reason)));
    }
    if let Some(usage) = response.usage {
        events.push(ChatEvent::Usage(AnthropicUsage::from(usage).into()));
    }
    events.push(ChatEvent::Done);
    Ok(events)
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<WireError>,
}

/// The error in the body of a non-2xx response; a body that is not an
/// Anthropic error becomes the message as it is (trimmed, at most 500
/// characters).
pub fn parse_error_body(status: u16, body: &str) -> ApiError {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody { error: Some(error) }) => error.into_api_error(Some(status)),
        _ => ApiError::from_raw_body(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::wire::WireFormat;

    #[test]
    fn cache_breakpoints_mark_the_stable_prefix_and_never_pass_four() {
        let mut body = serde_json::json!({
            "system": "sys",
            "tools": [{"name": "a"}, {"name": "b"}],
            "messages": [
                {"role": "user", "content": "one"},
                {"role": "assistant", "content": "two"},
                {"role": "user", "content": "three"},
                {"role": "assistant", "content": "four"},
                {"role": "user", "content": [{"type": "text", "text": "five"}]}
            ]
        });
        mark_cache_breakpoints(&mut body, crate::llm::CacheTtl::FiveMinutes);
        let text = body.to_string();
        assert_eq!(text.matches("cache_control").count(), MAX_CACHE_BREAKPOINTS);
        assert!(body["tools"][0].get("cache_control").is_none());
        assert!(body["tools"][1].get("cache_control").is_some());
        assert_eq!(body["system"][0]["text"], "sys");
        assert!(body["messages"][2]["content"][0]
            .get("cache_control")
            .is_some());
        assert!(body["messages"][4]["content"][0]
            .get("cache_control")
            .is_some());
        assert_eq!(
            body["messages"][0]["content"], "one",
            "older turns are left alone"
        );

        let mut bare = serde_json::json!({"messages": [{"role": "user", "content": ""}]});
        mark_cache_breakpoints(&mut bare, crate::llm::CacheTtl::FiveMinutes);
        assert!(
            !bare.to_string().contains("cache_control"),
            "no marker on an empty text"
        );
    }
    use crate::llm::Message;

    fn message(role: Role, content: &str) -> Message {
        Message::new(role, content)
    }

    /// Feeds `(event name, data)` pairs through one state, collecting the
    /// events; stops at the first error.
    fn run(events: &[(&str, &str)]) -> Result<Vec<ChatEvent>, StreamError> {
        let mut state = StreamState::default();
        let mut out = Vec::new();
        for (name, data) in events {
            out.extend(parse_event(name, data, &mut state)?);
        }
        Ok(out)
    }

    const START: (&str, &str) = (
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#,
    );

    #[test]
    fn builds_a_request_with_a_top_level_system_and_max_tokens() {
        let request = ChatRequest {
            model: "claude-sonnet-4-5".into(),
            system: Some("be brief".into()),
            messages: vec![
                message(Role::User, "hi"),
                message(Role::Assistant, "hello"),
                message(Role::User, "again"),
            ],
            max_output_tokens: 256,
            temperature: Some(0.5),
            stream: true,
            ..ChatRequest::default()
        };
        let body = serde_json::to_value(request_body(&request)).expect("json");
        assert_eq!(body["model"], "claude-sonnet-4-5");
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(body["stream"], true);
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["role"].as_str().expect("role"))
            .collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(body["messages"][0]["content"], "hi");
        assert!(body.get("max_completion_tokens").is_none());
        assert!(body.get("tools").is_none());
    }

    #[test]
    fn thinking_goes_back_with_the_calls_of_the_turn_under_way_only() {
        use crate::llm::{ToolCallRequest, ToolResult};
        let thought = |text: &str| ReasoningBlock::Thinking {
            thinking: text.into(),
            signature: format!("sig-{text}"),
        };
        let calls = |id: &str, reasoning: Vec<ReasoningBlock>| Message {
            reasoning,
            ..Message::assistant_tool_calls(
                "",
                vec![ToolCallRequest {
                    id: Some(id.into()),
                    name: "read".into(),
                    arguments: "{}".into(),
                }],
            )
        };
        let mut request = ChatRequest {
            model: "claude-sonnet-4-5".into(),
            messages: vec![
                message(Role::User, "first"),
                calls("t1", vec![thought("old")]),
                Message::tool_result(ToolResult::text("t1", "a", false)),
                message(Role::Assistant, "done"),
                message(Role::User, "second"),
                calls(
                    "t2",
                    vec![
                        thought("new"),
                        ReasoningBlock::RedactedThinking { data: "xyz".into() },
                    ],
                ),
                Message::tool_result(ToolResult::text("t2", "b", false)),
            ],
            max_output_tokens: 4000,
            temperature: Some(0.2),
            thinking_budget: Some(2048),
            ..ChatRequest::default()
        };
        let body = serde_json::to_value(request_body(&request)).expect("json");
        assert_eq!(
            body["thinking"],
            serde_json::json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert!(body.get("temperature").is_none(), "thinking takes none");
        assert_eq!(
            body["messages"][1]["content"][0]["type"], "tool_use",
            "an earlier turn's thinking stays out"
        );
        assert_eq!(
            body["messages"][5]["content"],
            serde_json::json!([
                {"type": "thinking", "thinking": "new", "signature": "sig-new"},
                {"type": "redacted_thinking", "data": "xyz"},
                {"type": "tool_use", "id": "t2", "name": "read", "input": {}}
            ])
        );
        request.thinking_budget = None;
        let body = serde_json::to_value(request_body(&request)).expect("json");
        assert!(body.get("thinking").is_none());
        assert_eq!(body["temperature"], serde_json::json!(0.2f32));
        assert_eq!(body["messages"][5]["content"][0]["type"], "tool_use");
    }

    #[test]
    fn hour_long_cache_marks_carry_the_ttl_and_usage_splits_writes() {
        let request = ChatRequest {
            model: "claude-sonnet-4-5".into(),
            system: Some("long".into()),
            messages: vec![message(Role::User, "hi")],
            max_output_tokens: 10,
            cache_prompt: Some(crate::llm::CacheTtl::Hour),
            ..ChatRequest::default()
        };
        let body: serde_json::Value =
            serde_json::from_slice(&Messages.chat_body(&request)).expect("json");
        let hour = serde_json::json!({"type": "ephemeral", "ttl": "1h"});
        assert_eq!(body["system"][0]["cache_control"], hour);
        assert_eq!(body["messages"][0]["content"][0]["cache_control"], hour);
        let events = parse_response(
            r#"{"id":"m","type":"message","model":"claude-sonnet-4-5","content":[],"stop_reason":"end_turn","usage":{"input_tokens":10,"cache_creation_input_tokens":3000,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":50,"output_tokens_details":{"thinking_tokens":40}}}"#,
        )
        .expect("response");
        let usage = events
            .iter()
            .find_map(|e| match e {
                ChatEvent::Usage(u) => Some(*u),
                _ => None,
            })
            .expect("usage");
        assert_eq!(usage.input_tokens, 3010);
        assert_eq!(usage.cache_write_tokens, 3000);
        assert_eq!(usage.cache_write_hour_tokens, 2000);
        assert_eq!(usage.reasoning_tokens, 40);
    }

    #[test]
    fn sends_tools_tool_use_blocks_and_merged_tool_results() {
        use crate::llm::{JsonSchemaFormat, ToolCallRequest, ToolDeclaration, ToolResult};
        let parameters = serde_json::json!({
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"]
        });
        let call = |id: &str, arguments: &str| ToolCallRequest {
            id: Some(id.into()),
            name: "read_file".into(),
            arguments: arguments.into(),
        };
        let result = |id: &str, content: &str, is_error: bool| {
            Message::tool_result(ToolResult {
                call_id: id.into(),
                content: content.into(),
                is_error,
                images: Vec::new(),
            })
        };
        let request = ChatRequest {
            model: "claude-sonnet-4-5".into(),
            messages: vec![
                message(Role::User, "read them"),
                Message::assistant_tool_calls(
                    "Reading both.",
                    vec![
                        call("toolu_1", r#"{"path":"/a"}"#),
                        call("toolu_2", "not json"),
                    ],
                ),
                result("toolu_1", "alpha", false),
                result("toolu_2", "invalid arguments", true),
                message(Role::Assistant, "done"),
                Message::assistant_tool_calls("", vec![call("toolu_3", "")]),
                result("toolu_3", "beta", false),
                message(Role::User, "and now?"),
            ],
            max_output_tokens: 100,
            tools: vec![ToolDeclaration {
                name: "read_file".into(),
                description: "Reads a file".into(),
                parameters: parameters.clone(),
            }],
            response_format: Some(JsonSchemaFormat {
                name: "answer".into(),
                schema: serde_json::json!({"type": "object"}),
            }),
            ..ChatRequest::default()
        };
        let body = serde_json::to_value(request_body(&request)).expect("json");
        assert_eq!(
            body["tools"],
            serde_json::json!([{"name": "read_file", "description": "Reads a file", "input_schema": parameters}])
        );
        assert!(body.get("response_format").is_none());
        assert_eq!(
            body["messages"],
            serde_json::json!([
                {"role": "user", "content": "read them"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Reading both."},
                    {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "/a"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "read_file", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "alpha", "is_error": false},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "invalid arguments", "is_error": true}
                ]},
                {"role": "assistant", "content": "done"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_3", "name": "read_file", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_3", "content": "beta", "is_error": false},
                    {"type": "text", "text": "and now?"}
                ]}
            ])
        );
    }

    #[test]
    fn system_messages_join_the_top_level_system() {
        let mut request = ChatRequest {
            model: "m".into(),
            system: Some("first".into()),
            messages: vec![message(Role::System, "second"), message(Role::User, "hi")],
            max_output_tokens: 16,
            temperature: None,
            stream: false,
            ..ChatRequest::default()
        };
        let body = serde_json::to_value(request_body(&request)).expect("json");
        assert_eq!(body["system"], "first\n\nsecond");
        assert_eq!(body["messages"].as_array().expect("messages").len(), 1);
        assert_eq!(body["messages"][0]["role"], "user");
        assert!(body.get("temperature").is_none());
        assert_eq!(body["stream"], false);

        request.system = None;
        let body = serde_json::to_value(request_body(&request)).expect("json");
        assert_eq!(body["system"], "second");

        request.messages.remove(0);
        let body = serde_json::to_value(request_body(&request)).expect("json");
        assert!(body.get("system").is_none());
    }

    #[test]
    fn parses_a_full_text_stream() {
        let events = run(&[
            START,
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            ("ping", r#"{"type": "ping"}"#),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", world"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ])
        .expect("stream");
        assert_eq!(
            events,
            [
                ChatEvent::Model("claude-sonnet-4-5-20250929".into()),
                ChatEvent::ResponseId("msg_1".into()),
                ChatEvent::TextDelta("Hello".into()),
                ChatEvent::TextDelta(", world".into()),
                ChatEvent::Finish(FinishReason::Stop),
                ChatEvent::Usage(Usage {
                    input_tokens: 25,
                    cached_input_tokens: 0,
                    cache_write_tokens: 0,
                    cache_write_hour_tokens: 0,
                    output_tokens: 15,
                    reasoning_tokens: 0,
                }),
                ChatEvent::Done,
            ]
        );
    }

    #[test]
    fn message_delta_usage_is_cumulative_and_maps_cache_tokens() {
        let mut state = StreamState::default();
        parse_event(
            "message_start",
            r#"{"type":"message_start","message":{"model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":1}}}"#,
            &mut state,
        )
        .expect("start");
        let first = parse_event(
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":40}}"#,
            &mut state,
        )
        .expect("delta");
        assert_eq!(
            first,
            [ChatEvent::Usage(Usage {
                input_tokens: 3210,
                cached_input_tokens: 3000,
                cache_write_tokens: 200,
                cache_write_hour_tokens: 0,
                output_tokens: 40,
                reasoning_tokens: 0,
            })]
        );
        // The second delta restates the totals: assigned, not added; a null
        // cache field keeps the earlier value.
        let second = parse_event(
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":12,"cache_creation_input_tokens":null,"cache_read_input_tokens":2990,"output_tokens":64}}"#,
            &mut state,
        )
        .expect("delta");
        assert_eq!(
            second,
            [
                ChatEvent::Finish(FinishReason::Length),
                ChatEvent::Usage(Usage {
                    input_tokens: 12 + 2990 + 200,
                    cached_input_tokens: 2990,
                    cache_write_tokens: 200,
                    cache_write_hour_tokens: 0,
                    output_tokens: 64,
                    reasoning_tokens: 0,
                })
            ]
        );
    }

    #[test]
    fn streams_tool_use_blocks_by_block_index() {
        let events = run(&[
            START,
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Let me check."}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":1}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ])
        .expect("stream");
        let fragment =
            |id: Option<&str>, name: Option<&str>, arguments: &str| ChatEvent::ToolCallDelta {
                index: 1,
                id: id.map(Into::into),
                name: name.map(Into::into),
                arguments: arguments.into(),
            };
        assert_eq!(
            events,
            [
                ChatEvent::Model("claude-sonnet-4-5-20250929".into()),
                ChatEvent::ResponseId("msg_1".into()),
                ChatEvent::TextDelta("Let me check.".into()),
                fragment(Some("toolu_01"), Some("get_weather"), ""),
                fragment(None, None, ""),
                fragment(None, None, "{\"city\": "),
                fragment(None, None, "\"Paris\"}"),
                ChatEvent::Finish(FinishReason::ToolCalls),
                ChatEvent::Usage(Usage {
                    input_tokens: 25,
                    output_tokens: 30,
                    ..Usage::default()
                }),
                ChatEvent::Done,
            ]
        );
    }

    #[test]
    fn keeps_thinking_and_ignores_unknown_blocks_and_events() {
        let events = run(&[
            ("future_event", "not even json"),
            START,
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":3,"content_block":{"type":"redacted_thinking","data":"EmwKAhgB"}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{}}}"#,
            ),
            ("future_event", r#"{"type":"future_event"}"#),
        ])
        .expect("stream");
        assert_eq!(
            events,
            [
                ChatEvent::Model("claude-sonnet-4-5-20250929".into()),
                ChatEvent::ResponseId("msg_1".into()),
                ChatEvent::ReasoningDelta("hmm".into()),
                ChatEvent::Reasoning(ReasoningBlock::Thinking {
                    thinking: "hmm".into(),
                    signature: "abc".into()
                }),
                ChatEvent::Reasoning(ReasoningBlock::RedactedThinking {
                    data: "EmwKAhgB".into()
                }),
            ]
        );
    }

    #[test]
    fn error_event_mid_stream_is_an_api_error() {
        let mut state = StreamState::default();
        parse_event(START.0, START.1, &mut state).expect("start");
        let err = parse_event(
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            &mut state,
        );
        match err {
            Err(StreamError::Api(e)) => {
                assert_eq!(
                    e,
                    ApiError {
                        status: None,
                        kind: Some("overloaded_error".into()),
                        code: None,
                        message: "Overloaded".into(),
                    }
                );
            }
            other => panic!("expected an API error, got {other:?}"),
        }
        // An error may also come first, before message_start.
        assert!(matches!(
            parse_event(
                "error",
                r#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#,
                &mut StreamState::default()
            ),
            Err(StreamError::Api(_))
        ));
    }

    #[test]
    fn events_before_message_start_are_malformed() {
        let mut state = StreamState::default();
        assert_eq!(
            parse_event("ping", r#"{"type":"ping"}"#, &mut state).expect("ping"),
            []
        );
        for (name, data) in [
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ] {
            assert!(matches!(
                parse_event(name, data, &mut state),
                Err(StreamError::Malformed(_))
            ));
        }
    }

    #[test]
    fn data_that_is_not_json_is_malformed() {
        assert!(matches!(
            parse_event("message_start", "not json", &mut StreamState::default()),
            Err(StreamError::Malformed(_))
        ));
        let mut state = StreamState::default();
        parse_event(START.0, START.1, &mut state).expect("start");
        assert!(matches!(
            parse_event("content_block_delta", "{\"index\":", &mut state),
            Err(StreamError::Malformed(_))
        ));
        assert!(matches!(
            parse_event("error", "", &mut state),
            Err(StreamError::Malformed(_))
        ));
    }

    #[test]
    fn parses_a_whole_text_response() {
        let events = parse_response(
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello","citations":null},{"type":"text","text":" there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":7,"cache_creation_input_tokens":null,"cache_read_input_tokens":5,"output_tokens":3,"service_tier":"standard"}}"#,
        )
        .expect("response");
        assert_eq!(
            events,
            [
                ChatEvent::Model("claude-sonnet-4-5-20250929".into()),
                ChatEvent::ResponseId("msg_1".into()),
                ChatEvent::TextDelta("Hello".into()),
                ChatEvent::TextDelta(" there".into()),
                ChatEvent::Finish(FinishReason::Stop),
                ChatEvent::Usage(Usage {
                    input_tokens: 12,
                    cached_input_tokens: 5,
                    cache_write_tokens: 0,
                    cache_write_hour_tokens: 0,
                    output_tokens: 3,
                    reasoning_tokens: 0,
                }),
                ChatEvent::Done,
            ]
        );
    }

    #[test]
    fn parses_a_whole_tool_use_response() {
        let events = parse_response(
            r#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"thinking","thinking":"...","signature":"s"},{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{"city":"Paris","days":2}}],"stop_reason":"tool_use","usage":{"input_tokens":50,"output_tokens":20}}"#,
        )
        .expect("response");
        let ChatEvent::ToolCallDelta {
            index,
            id,
            name,
            arguments,
        } = &events[5]
        else {
            panic!("expected a tool call, got {events:?}");
        };
        assert_eq!(*index, 2);
        assert_eq!(id.as_deref(), Some("toolu_9"));
        assert_eq!(name.as_deref(), Some("get_weather"));
        let input: serde_json::Value = serde_json::from_str(arguments).expect("arguments");
        assert_eq!(input, serde_json::json!({"city": "Paris", "days": 2}));
        assert_eq!(events[1], ChatEvent::ResponseId("msg_2".into()));
        assert_eq!(events[2], ChatEvent::ReasoningDelta("...".into()));
        assert_eq!(
            events[3],
            ChatEvent::Reasoning(ReasoningBlock::Thinking {
                thinking: "...".into(),
                signature: "s".into()
            })
        );
        assert_eq!(events[4], ChatEvent::TextDelta("Checking.".into()));
        assert_eq!(events[6], ChatEvent::Finish(FinishReason::ToolCalls));
        assert_eq!(events.last(), Some(&ChatEvent::Done));
    }

    #[test]
    fn an_error_response_body_is_an_api_error() {
        match parse_response(
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_1"}"#,
        ) {
            Err(StreamError::Api(e)) => {
                assert_eq!(e.kind.as_deref(), Some("invalid_request_error"));
                assert_eq!(e.message, "max_tokens: Field required");
            }
            other => panic!("expected an API error, got {other:?}"),
        }
        assert!(matches!(
            parse_response("<html>"),
            Err(StreamError::Malformed(_))
        ));
    }

    #[test]
    fn parses_error_bodies_of_every_shape() {
        let anthropic = parse_error_body(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#,
        );
        assert_eq!(
            anthropic,
            ApiError {
                status: Some(529),
                kind: Some("overloaded_error".into()),
                code: None,
                message: "Overloaded".into(),
            }
        );
        let html = parse_error_body(502, "  <html>Bad Gateway</html>\n");
        assert_eq!(html.message, "<html>Bad Gateway</html>");
        assert_eq!(html.kind, None);
        let long = parse_error_body(500, &"x".repeat(2000));
        assert_eq!(long.message.len(), 500);
        assert_eq!(
            parse_error_body(503, " \n").message,
            "HTTP 503 with an empty body"
        );
    }
}
