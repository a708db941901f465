//! The OpenAI Responses wire format (`POST /v1/responses`): request
//! bodies with input items, the typed event stream and whole responses
//! into [`ChatEvent`]s (`shared/reference/llm-apis.md` §9).
//!
//! confab keeps the conversation itself, so requests are stateless:
//! `store: false`, and for reasoning models the reasoning comes back
//! encrypted (`include: ["reasoning.encrypted_content"]`) to be passed back
//! with the tool round it led to. Reasoning summaries are asked for
//! (`summary: "auto"`) and arrive as [`ChatEvent::ReasoningDelta`].

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::llm::{
    ApiError, ChatEvent, ChatRequest, FinishReason, Message, ReasoningBlock, Role, StreamError,
    Usage,
};

/// The JSON body of a Responses request.
#[derive(Debug, Serialize)]
pub struct RequestBody<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<&'a str>,
    input: Vec<InputItem<'a>>,
    /// The cap covers reasoning tokens as well as the visible reply.
    max_output_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<WireReasoning>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<WireText<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    include: Vec<&'static str>,
    /// confab keeps the conversation; the server need not.
    store: bool,
    stream: bool,
}

#[derive(Debug, Serialize)]
struct WireReasoning {
    #[serde(skip_serializing_if = "Option::is_none")]
    effort: Option<&'static str>,
    summary: &'static str,
}

/// One item of `input`, discriminated by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum InputItem<'a> {
    Message {
        role: &'static str,
        content: MessageContent<'a>,
    },
    Reasoning {
        id: &'a str,
        summary: Vec<SummaryText<'a>>,
        encrypted_content: &'a str,
    },
    FunctionCall {
        call_id: &'a str,
        name: &'a str,
        arguments: &'a str,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: Cow<'a, str>,
    },
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum MessageContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<InputPart<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the API's names
enum InputPart<'a> {
    InputText {
        text: Cow<'a, str>,
    },
    InputImage {
        image_url: String,
        detail: &'static str,
    },
    InputFile {
        filename: &'a str,
        file_data: String,
    },
}

#[derive(Debug, Serialize)]
struct SummaryText<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

/// A function tool: flat, unlike Chat Completions' nested `function`.
#[derive(Debug, Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
    /// Not strict: confab's tool schemas need not meet strict mode's rules
    /// (every property required, no extra keys); arguments are validated
    /// before any tool runs.
    strict: bool,
}

#[derive(Debug, Serialize)]
struct WireText<'a> {
    format: WireFormat<'a>,
}

/// `text.format` for a schema: flat, not nested under `json_schema`.
#[derive(Debug, Serialize)]
struct WireFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    schema: &'a serde_json::Value,
    strict: bool,
}

/// Builds the request body. The system prompt goes in `instructions`;
/// system messages of the conversation stay in place as `developer`
/// messages. An assistant message's tool calls become its reasoning items
/// (when they came encrypted) and `function_call` items, and tool results
/// `function_call_output` items.
pub fn request_body(request: &ChatRequest) -> RequestBody<'_> {
    let reasoning_model = crate::llm::models::is_reasoning_model(&request.model);
    let mut input = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        push_items(message, &mut input);
    }
    RequestBody {
        model: &request.model,
        instructions: request.system.as_deref().filter(|s| !s.is_empty()),
        input,
        max_output_tokens: request.max_output_tokens,
        temperature: request.temperature,
        reasoning: (reasoning_model || request.reasoning_effort.is_some()).then(|| WireReasoning {
            effort: request.reasoning_effort.map(|effort| effort.as_str()),
            summary: "auto",
        }),
        tools: request
            .tools
            .iter()
            .map(|tool| WireTool {
                kind: "function",
                name: &tool.name,
                description: &tool.description,
                parameters: &tool.parameters,
                strict: false,
            })
            .collect(),
        text: request.response_format.as_ref().map(|format| WireText {
            format: WireFormat {
                kind: "json_schema",
                name: &format.name,
                schema: &format.schema,
                strict: true,
            },
        }),
        include: if reasoning_model {
            vec!["reasoning.encrypted_content"]
        } else {
            Vec::new()
        },
        store: false,
        stream: request.stream,
    }
}

/// Appends the input items of one message.
fn push_items<'a>(message: &'a Message, input: &mut Vec<InputItem<'a>>) {
    if let Some(result) = &message.tool_result {
        input.push(InputItem::FunctionCallOutput {
            call_id: &result.call_id,
            output: crate::llm::openai::result_text(result),
        });
        return;
    }
    let role = match message.role {
        Role::System => "developer",
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    for block in &message.reasoning {
        if let ReasoningBlock::OpenaiReasoning {
            id,
            encrypted_content: Some(encrypted),
            summary,
        } = block
        {
            input.push(InputItem::Reasoning {
                id,
                summary: summary
                    .iter()
                    .map(|text| SummaryText {
                        kind: "summary_text",
                        text,
                    })
                    .collect(),
                encrypted_content: encrypted,
            });
        }
    }
    if !message.content.is_empty() || message.tool_calls.is_empty() {
        let content = if message.attachments.is_empty() {
            MessageContent::Text(Cow::Borrowed(&message.content))
        } else {
            MessageContent::Parts(parts(message))
        };
        input.push(InputItem::Message { role, content });
    }
    for call in &message.tool_calls {
        input.push(InputItem::FunctionCall {
            call_id: call.id.as_deref().unwrap_or_default(),
            name: &call.name,
            arguments: &call.arguments,
        });
    }
}

/// A user message with attachments: the text, then each image as a data
/// URL and each PDF as a file; one whose bytes are gone is a text note.
fn parts(message: &Message) -> Vec<InputPart<'_>> {
    let mut parts = vec![InputPart::InputText {
        text: Cow::Borrowed(&message.content),
    }];
    for attachment in &message.attachments {
        let Some(data) = &attachment.data else {
            parts.push(InputPart::InputText {
                text: Cow::Owned(attachment.missing_note()),
            });
            continue;
        };
        let url = format!("data:{};base64,{data}", attachment.media_type);
        parts.push(if attachment.is_pdf() {
            InputPart::InputFile {
                filename: crate::llm::openai::file_name(&attachment.name),
                file_data: url,
            }
        } else {
            InputPart::InputImage {
                image_url: url,
                detail: "auto",
            }
        });
    }
    parts
}

/// A response object (in `response.*` lifecycle events, or whole).
#[derive(Debug, Default, Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<WireError>,
    #[serde(default)]
    incomplete_details: Option<IncompleteDetails>,
    #[serde(default)]
    output: Vec<OutputItem>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct IncompleteDetails {
    #[serde(default)]
    reason: Option<String>,
}

/// An output item; kinds confab does not use (hosted tools...) are `Other`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutputItem {
    Message {
        #[serde(default)]
        content: Vec<OutputPart>,
    },
    Reasoning {
        #[serde(default)]
        id: String,
        #[serde(default)]
        summary: Vec<SummaryPart>,
        #[serde(default)]
        encrypted_content: Option<String>,
    },
    FunctionCall {
        #[serde(default)]
        call_id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        arguments: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutputPart {
    OutputText {
        #[serde(default)]
        text: String,
    },
    Refusal {
        #[serde(default)]
        refusal: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct SummaryPart {
    #[serde(default)]
    text: String,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Debug, Default, Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        let input = u.input_tokens_details.unwrap_or_default();
        Usage {
            input_tokens: u.input_tokens,
            cached_input_tokens: input.cached_tokens.unwrap_or(0),
            cache_write_tokens: input.cache_write_tokens.unwrap_or(0),
            cache_write_hour_tokens: 0,
            output_tokens: u.output_tokens,
            reasoning_tokens: u
                .output_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl WireError {
    fn into_api_error(self, status: Option<u16>) -> ApiError {
        ApiError {
            status,
            kind: self.kind,
            code: self.code.and_then(crate::llm::openai::code_text),
            message: self
                .message
                .unwrap_or_else(|| "the server reported an error".into()),
        }
    }
}

/// One streamed event's payload; fields are those of whichever event it is.
#[derive(Debug, Deserialize)]
struct StreamPayload {
    #[serde(default)]
    response: Option<WireResponse>,
    #[serde(default)]
    output_index: Option<u32>,
    #[serde(default)]
    item: Option<OutputItem>,
    #[serde(default)]
    delta: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default)]
    summary_index: Option<u32>,
    /// An error object, as proxies send it in a plain `data:` line.
    #[serde(default)]
    error: Option<WireError>,
    // The `error` event's fields are at the top level.
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

/// What must persist from one streamed event to the next.
#[derive(Debug, Default)]
pub struct StreamState {
    /// Function calls by output index: whether their arguments came in
    /// deltas (else the `.done` event's whole arguments are used).
    calls: HashMap<u32, bool>,
    /// The summary part last shown, to put a blank line between parts.
    summary_part: Option<(u32, u32)>,
    /// A refusal was streamed.
    refused: bool,
}

/// Turns one streamed event into chat events, updating `state`. Unknown
/// event types are ignored; `error` and `response.failed` are
/// [`StreamError::Api`].
pub fn parse_event(
    event_type: &str,
    data: &str,
    state: &mut StreamState,
) -> Result<Vec<ChatEvent>, StreamError> {
    let data = data.trim();
    if data.is_empty() || data.starts_with("[DONE]") {
        return Ok(if data.is_empty() {
            Vec::new()
        } else {
            vec![ChatEvent::Done]
        });
    }
    let payload: StreamPayload = serde_json::from_str(data).map_err(|err| {
        let preview: String = data.chars().take(80).collect();
        StreamError::Malformed(format!("{event_type}: {err}: {preview}"))
    })?;
    // Like the SDK, any event that carries an error object is one.
    if let Some(error) = payload.error {
        return Err(StreamError::Api(error.into_api_error(None)));
    }
    let mut events = Vec::new();
    let index = payload.output_index.unwrap_or(0);
    match event_type {
        "response.created" | "response.in_progress" => {
            if let Some(response) = payload.response {
                identify(&response, &mut events);
            }
        }
        "response.output_text.delta" | "response.refusal.delta" => {
            state.refused |= event_type == "response.refusal.delta";
            if let Some(text) = payload.delta.filter(|t| !t.is_empty()) {
                events.push(ChatEvent::TextDelta(text));
            }
        }
        "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
            let part = (index, payload.summary_index.unwrap_or(0));
            if let Some(text) = payload.delta.filter(|t| !t.is_empty()) {
                if state.summary_part.is_some_and(|shown| shown != part) {
                    events.push(ChatEvent::ReasoningDelta("\n\n".into()));
                }
                state.summary_part = Some(part);
                events.push(ChatEvent::ReasoningDelta(text));
            }
        }
        "response.output_item.added" => {
            if let Some(OutputItem::FunctionCall { call_id, name, .. }) = payload.item {
                state.calls.insert(index, false);
                events.push(ChatEvent::ToolCallDelta {
                    index,
                    id: Some(call_id),
                    name: Some(name),
                    arguments: String::new(),
                });
            }
        }
        "response.function_call_arguments.delta" => {
            if let Some(streamed) = state.calls.get_mut(&index) {
                *streamed = true;
                events.push(ChatEvent::ToolCallDelta {
                    index,
                    id: None,
                    name: None,
                    arguments: payload.delta.unwrap_or_default(),
                });
            }
        }
        // A server that sent no deltas gives the arguments whole here.
        "response.function_call_arguments.done" if state.calls.get(&index) == Some(&false) => {
            state.calls.insert(index, true);
            events.push(ChatEvent::ToolCallDelta {
                index,
                id: None,
                name: None,
                arguments: payload.arguments.unwrap_or_default(),
            });
        }
        "response.output_item.done" => {
            if let Some(block) = payload.item.and_then(reasoning_block) {
                events.push(ChatEvent::Reasoning(block));
            }
        }
        "response.completed" | "response.incomplete" => {
            let response = payload.response.unwrap_or_default();
            identify(&response, &mut events);
            let calls = !state.calls.is_empty();
            events.push(ChatEvent::Finish(finish_reason(
                &response,
                calls,
                state.refused,
            )));
            if let Some(usage) = response.usage {
                events.push(ChatEvent::Usage(usage.into()));
            }
            events.push(ChatEvent::Done);
        }
        "response.failed" => {
            let error = payload.response.and_then(|r| r.error);
            return Err(StreamError::Api(
                error
                    .map(|e| e.into_api_error(None))
                    .unwrap_or_else(|| failed("the response failed")),
            ));
        }
        "error" => {
            return Err(StreamError::Api(
                WireError {
                    code: payload.code,
                    message: payload.message,
                    kind: None,
                }
                .into_api_error(None),
            ));
        }
        _ => {}
    }
    Ok(events)
}

fn failed(message: &str) -> ApiError {
    ApiError {
        status: None,
        kind: None,
        code: None,
        message: message.to_string(),
    }
}

/// The model and id events of a response object.
fn identify(response: &WireResponse, events: &mut Vec<ChatEvent>) {
    if !response.model.is_empty() {
        events.push(ChatEvent::Model(response.model.clone()));
    }
    if !response.id.is_empty() {
        events.push(ChatEvent::ResponseId(response.id.clone()));
    }
}

/// Why a response ended: its `incomplete_details`, a refusal, tool calls,
/// or a plain stop.
fn finish_reason(response: &WireResponse, calls: bool, refused: bool) -> FinishReason {
    let incomplete = response.status.as_deref() == Some("incomplete");
    match response
        .incomplete_details
        .as_ref()
        .and_then(|d| d.reason.as_deref())
    {
        Some("max_output_tokens") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) if incomplete => FinishReason::Other(other.to_string()),
        _ if incomplete => FinishReason::Other("incomplete".into()),
        _ if refused => FinishReason::ContentFilter,
        _ if calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// The reasoning block a `reasoning` output item is kept as.
fn reasoning_block(item: OutputItem) -> Option<ReasoningBlock> {
    match item {
        OutputItem::Reasoning {
            id,
            summary,
            encrypted_content,
        } if !id.is_empty() => Some(ReasoningBlock::OpenaiReasoning {
            id,
            encrypted_content,
            summary: summary.into_iter().map(|part| part.text).collect(),
        }),
        _ => None,
    }
}

/// Turns a whole (non-streamed) response into the events a stream of it
/// would have produced: summaries, text and calls in output order.
pub fn parse_response(body: &str) -> Result<Vec<ChatEvent>, StreamError> {
    let mut response: WireResponse = serde_json::from_str(body.trim()).map_err(|err| {
        let preview: String = body.trim().chars().take(80).collect();
        StreamError::Malformed(format!("response: {err}: {preview}"))
    })?;
    if let Some(error) = response.error.take() {
        return Err(StreamError::Api(error.into_api_error(None)));
    }
    let mut events = Vec::new();
    identify(&response, &mut events);
    let (mut calls, mut refused) = (false, false);
    for (index, item) in (0u32..).zip(std::mem::take(&mut response.output)) {
        match item {
            OutputItem::Message { content } => {
                for part in content {
                    match part {
                        OutputPart::OutputText { text } if !text.is_empty() => {
                            events.push(ChatEvent::TextDelta(text));
                        }
                        OutputPart::Refusal { refusal } => {
                            refused = true;
                            events.push(ChatEvent::TextDelta(refusal));
                        }
                        _ => {}
                    }
                }
            }
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                calls = true;
                events.push(ChatEvent::ToolCallDelta {
                    index,
                    id: Some(call_id),
                    name: Some(name),
                    arguments,
                });
            }
            item @ OutputItem::Reasoning { .. } => {
                if let OutputItem::Reasoning { summary, .. } = &item {
                    let text: Vec<&str> = summary.iter().map(|p| p.text.as_str()).collect();
                    if !text.is_empty() {
                        events.push(ChatEvent::ReasoningDelta(text.join("\n\n")));
                    }
                }
                events.extend(reasoning_block(item).map(ChatEvent::Reasoning));
            }
            OutputItem::Other => {}
        }
    }
    events.push(ChatEvent::Finish(finish_reason(&response, calls, refused)));
    if let Some(usage) = response.usage.take() {
        events.push(ChatEvent::Usage(usage.into()));
    }
    events.push(ChatEvent::Done);
    Ok(events)
}

/// The Responses wire format.
pub struct Responses;

impl crate::llm::wire::WireFormat for Responses {
    fn chat_path(&self) -> &'static str {
        "responses"
    }

    fn auth_headers(&self, api_key: Option<&str>) -> Vec<(&'static str, String)> {
        crate::llm::openai::ChatCompletions.auth_headers(api_key)
    }

    fn chat_body(&self, request: &ChatRequest) -> Vec<u8> {
        // Serializing plain structs of strings and numbers cannot fail.
        serde_json::to_vec(&request_body(request)).unwrap_or_default()
    }

    fn stream_reader(&self) -> Box<dyn crate::llm::wire::StreamReader> {
        Box::new(EventReader::default())
    }

    fn parse_reply(&self, body: &str) -> Result<Vec<ChatEvent>, StreamError> {
        parse_response(body)
    }

    fn parse_error(&self, status: u16, body: &str) -> ApiError {
        crate::llm::openai::parse_error_body(status, body)
    }
}

/// Reads a stream's typed events, keeping the state they build up.
#[derive(Default)]
struct EventReader {
    state: StreamState,
}

impl crate::llm::wire::StreamReader for EventReader {
    fn read(&mut self, event: &crate::llm::sse::SseEvent) -> Result<Vec<ChatEvent>, StreamError> {
        // The type is in the `event:` field and again in the payload's
        // `type`; servers that send only the latter are read by it.
        let event_type = if event.event == "message" {
            serde_json::from_str::<TypeOnly>(&event.data)
                .map(|t| t.kind)
                .unwrap_or_default()
        } else {
            event.event.clone()
        };
        parse_event(&event_type, &event.data, &mut self.state)
    }
}

#[derive(Deserialize)]
struct TypeOnly {
    #[serde(default, rename = "type")]
    kind: String,
}

#[cfg(test)]
mod tests;
