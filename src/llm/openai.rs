//! The OpenAI Chat Completions wire format, spoken by OpenAI and by every
//! compatible server (Ollama, llama.cpp, vLLM, LM Studio): request bodies,
//! streamed chunks and whole responses into [`ChatEvent`]s, and error
//! bodies of every shape those servers send
//! (`shared/reference/llm-apis.md` §1 and §8).

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::llm::{ApiError, ChatEvent, ChatRequest, FinishReason, StreamError, Usage};

/// The JSON body of a Chat Completions request.
#[derive(Debug, Serialize)]
pub struct RequestBody<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    /// Sent as `max_tokens` too: compatible servers (Ollama) ignore
    /// `max_completion_tokens`, and OpenAI accepts both for chat models.
    max_completion_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<WireResponseFormat<'a>>,
    /// o-series models on OpenAI, and compatible servers (vLLM, Ollama)
    /// for their reasoning models.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
}

/// A message; `content` is `null` for an assistant message that only
/// calls tools.
#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: Option<WireContent<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

impl<'a> WireMessage<'a> {
    fn text(role: &'static str, content: &'a str) -> WireMessage<'a> {
        WireMessage {
            role,
            content: Some(WireContent::Text(Cow::Borrowed(content))),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A message's content: a string, or parts when images or files go along.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum WireContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<WirePart<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: WireImageUrl },
    File { file: WireFile<'a> },
}

#[derive(Debug, Serialize)]
struct WireImageUrl {
    url: String,
}

#[derive(Debug, Serialize)]
struct WireFile<'a> {
    filename: &'a str,
    file_data: String,
}

/// A user message with attachments as parts: the text first, then each
/// image as a data URL and each PDF as a file; one whose bytes are gone is
/// a text note.
fn parts(message: &crate::llm::Message) -> WireContent<'_> {
    let mut parts = vec![WirePart::Text {
        text: Cow::Borrowed(message.content.as_str()),
    }];
    for attachment in &message.attachments {
        let Some(data) = &attachment.data else {
            parts.push(WirePart::Text {
                text: Cow::Owned(attachment.missing_note()),
            });
            continue;
        };
        let url = format!("data:{};base64,{data}", attachment.media_type);
        parts.push(if attachment.is_pdf() {
            WirePart::File {
                file: WireFile {
                    filename: file_name(&attachment.name),
                    file_data: url,
                },
            }
        } else {
            WirePart::ImageUrl {
                image_url: WireImageUrl { url },
            }
        });
    }
    WireContent::Parts(parts)
}

/// The last component of an attachment's path, as the API's file name.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("attachment.pdf")
}

#[derive(Debug, Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Debug, Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Debug, Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Debug, Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

#[derive(Debug, Serialize)]
struct WireResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: WireJsonSchema<'a>,
}

#[derive(Debug, Serialize)]
struct WireJsonSchema<'a> {
    name: &'a str,
    schema: &'a serde_json::Value,
    strict: bool,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// A tool message's text: the result, and a note for each image, which
/// confab sends as text (Chat Completions tool messages cannot carry them).
pub(crate) fn result_text(result: &crate::llm::ToolResult) -> Cow<'_, str> {
    if result.images.is_empty() {
        return Cow::Borrowed(&result.content);
    }
    let mut text = result.content.clone();
    for image in &result.images {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!(
            "[the tool returned an image ({}, {} base64 bytes); this API takes only text in tool results]",
            image.media_type,
            image.data.len()
        ));
    }
    Cow::Owned(text)
}

/// Builds the request body; `legacy_max_tokens` also sends `max_tokens`
/// for servers that only know that field. Tool results become `tool`
/// messages; an assistant message's tool calls go in its `tool_calls`.
pub fn request_body(request: &ChatRequest, legacy_max_tokens: bool) -> RequestBody<'_> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = &request.system {
        messages.push(WireMessage::text("system", system));
    }
    for message in &request.messages {
        if let Some(result) = &message.tool_result {
            messages.push(WireMessage {
                role: "tool",
                content: Some(WireContent::Text(result_text(result))),
                tool_calls: Vec::new(),
                tool_call_id: Some(&result.call_id),
            });
            continue;
        }
        let role = message.role.as_str();
        let tool_calls: Vec<WireToolCall<'_>> = message
            .tool_calls
            .iter()
            .map(|call| WireToolCall {
                id: call.id.as_deref().unwrap_or_default(),
                kind: "function",
                function: WireFunctionCall {
                    name: &call.name,
                    arguments: &call.arguments,
                },
            })
            .collect();
        let content = if !message.attachments.is_empty() {
            Some(parts(message))
        } else if tool_calls.is_empty() || !message.content.is_empty() {
            Some(WireContent::Text(Cow::Borrowed(message.content.as_str())))
        } else {
            None
        };
        messages.push(WireMessage {
            role,
            content,
            tool_calls,
            tool_call_id: None,
        });
    }
    RequestBody {
        model: &request.model,
        messages,
        max_completion_tokens: request.max_output_tokens,
        max_tokens: legacy_max_tokens.then_some(request.max_output_tokens),
        temperature: request.temperature,
        stream: request.stream,
        stream_options: request.stream.then_some(StreamOptions {
            include_usage: true,
        }),
        tools: request
            .tools
            .iter()
            .map(|tool| WireTool {
                kind: "function",
                function: WireFunction {
                    name: &tool.name,
                    description: &tool.description,
                    parameters: &tool.parameters,
                },
            })
            .collect(),
        response_format: request
            .response_format
            .as_ref()
            .map(|format| WireResponseFormat {
                kind: "json_schema",
                json_schema: WireJsonSchema {
                    name: &format.name,
                    schema: &format.schema,
                    strict: true,
                },
            }),
        reasoning_effort: request.reasoning_effort.map(|effort| effort.as_str()),
    }
}

#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Debug, Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    message: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    /// Reasoning text as llama.cpp, vLLM and DeepSeek send it.
    #[serde(default)]
    reasoning_content: Option<String>,
    /// Reasoning text as Ollama and OpenRouter send it.
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallFragment>,
}

#[derive(Debug, Deserialize)]
struct ToolCallFragment {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionFragment>,
}

#[derive(Debug, Deserialize)]
struct FunctionFragment {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// An error as the servers send it: an object (OpenAI, Ollama, vLLM >=
/// 0.10.1) or a plain string (LM Studio).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireError {
    Object {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
    },
    Text(String),
}

/// An error code as text: servers send strings or integers.
pub(crate) fn code_text(code: serde_json::Value) -> Option<String> {
    match code {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl WireError {
    fn into_api_error(self, status: Option<u16>) -> ApiError {
        match self {
            WireError::Object {
                message,
                kind,
                code,
            } => ApiError {
                status,
                kind,
                code: code.and_then(code_text),
                message: message.unwrap_or_else(|| "the server reported an error".into()),
            },
            WireError::Text(message) => ApiError {
                status,
                kind: None,
                code: None,
                message,
            },
        }
    }
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            input_tokens: u.prompt_tokens,
            cached_input_tokens: u
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
            cache_write_hour_tokens: 0,
            output_tokens: u.completion_tokens,
            reasoning_tokens: u
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

/// The Chat Completions wire format (OpenAI and compatible servers).
pub struct ChatCompletions;

impl crate::llm::wire::WireFormat for ChatCompletions {
    fn chat_path(&self) -> &'static str {
        "chat/completions"
    }

    fn auth_headers(&self, api_key: Option<&str>) -> Vec<(&'static str, String)> {
        // Local servers want no header at all without a key.
        api_key
            .map(|key| vec![("authorization", format!("Bearer {key}"))])
            .unwrap_or_default()
    }

    fn chat_body(&self, request: &ChatRequest) -> Vec<u8> {
        // Serializing plain structs of strings and numbers cannot fail.
        serde_json::to_vec(&request_body(request, true)).unwrap_or_default()
    }

    fn stream_reader(&self) -> Box<dyn crate::llm::wire::StreamReader> {
        Box::new(ChunkReader)
    }

    fn parse_reply(&self, body: &str) -> Result<Vec<ChatEvent>, StreamError> {
        parse_chunk(body)
    }

    fn parse_error(&self, status: u16, body: &str) -> ApiError {
        parse_error_body(status, body)
    }
}

/// Reads streamed chunks: each event's data is one chunk, with no state.
struct ChunkReader;

impl crate::llm::wire::StreamReader for ChunkReader {
    fn read(&mut self, event: &crate::llm::sse::SseEvent) -> Result<Vec<ChatEvent>, StreamError> {
        parse_chunk(&event.data)
    }
}

/// Turns the `data` of one streamed event (or a whole non-streaming
/// response body) into events. Checks for a top-level `error` first.
pub fn parse_chunk(data: &str) -> Result<Vec<ChatEvent>, StreamError> {
    let data = data.trim();
    if data.starts_with("[DONE]") {
        return Ok(vec![ChatEvent::Done]);
    }
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let chunk: Chunk = serde_json::from_str(data).map_err(|err| {
        let preview: String = data.chars().take(80).collect();
        StreamError::Malformed(format!("{err}: {preview}"))
    })?;
    if let Some(error) = chunk.error {
        return Err(StreamError::Api(error.into_api_error(None)));
    }
    let mut events = Vec::new();
    if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
        events.push(ChatEvent::Model(model));
    }
    if let Some(id) = chunk.id.filter(|id| !id.is_empty()) {
        events.push(ChatEvent::ResponseId(id));
    }
    for choice in chunk.choices {
        if let Some(delta) = choice.delta.or(choice.message) {
            let reasoning = delta.reasoning_content.or(delta.reasoning);
            if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
                events.push(ChatEvent::ReasoningDelta(text));
            }
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                events.push(ChatEvent::TextDelta(text));
            }
            for call in delta.tool_calls {
                let (name, arguments) = match call.function {
                    Some(f) => (f.name, f.arguments.unwrap_or_default()),
                    None => (None, String::new()),
                };
                events.push(ChatEvent::ToolCallDelta {
                    index: call.index,
                    id: call.id,
                    name,
                    arguments,
                });
            }
        }
        if let Some(reason) = choice.finish_reason {
            events.push(ChatEvent::Finish(FinishReason::from_wire(&reason)));
        }
    }
    if let Some(usage) = chunk.usage {
        events.push(ChatEvent::Usage(usage.into()));
    }
    Ok(events)
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<WireError>,
    /// vLLM before 0.10.1 sent the error fields at the top level.
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// The error in the body of a non-2xx response, whatever its shape; a body
/// that is not JSON becomes the message as it is.
pub fn parse_error_body(status: u16, body: &str) -> ApiError {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody {
            error: Some(error), ..
        }) => error.into_api_error(Some(status)),
        Ok(ErrorBody {
            message: Some(message),
            kind,
            ..
        }) => ApiError {
            status: Some(status),
            kind,
            code: None,
            message,
        },
        _ => ApiError::from_raw_body(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, Role};

    #[test]
    fn builds_a_streaming_request_with_an_output_cap() {
        let request = ChatRequest {
            model: "gpt-4o".into(),
            system: Some("be brief".into()),
            messages: vec![Message::new(Role::User, "hi")],
            max_output_tokens: 256,
            temperature: Some(0.0),
            stream: true,
            ..ChatRequest::default()
        };
        let body = serde_json::to_value(request_body(&request, true)).expect("json");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], "hi");
        assert_eq!(body["max_completion_tokens"], 256);
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert!(body.get("tools").is_none());
        assert!(body.get("response_format").is_none());
    }

    #[test]
    fn sends_tools_tool_calls_tool_results_and_a_response_format() {
        use crate::llm::{JsonSchemaFormat, ToolCallRequest, ToolDeclaration, ToolResult};
        let parameters = serde_json::json!({
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"]
        });
        let request = ChatRequest {
            model: "gpt-4o".into(),
            messages: vec![
                Message::new(Role::User, "read it"),
                Message::assistant_tool_calls(
                    "",
                    vec![
                        ToolCallRequest {
                            id: Some("call_1".into()),
                            name: "read_file".into(),
                            arguments: r#"{"path":"/a"}"#.into(),
                        },
                        ToolCallRequest {
                            id: Some("call_2".into()),
                            name: "read_file".into(),
                            arguments: r#"{"path":"/b"}"#.into(),
                        },
                    ],
                ),
                Message::tool_result(ToolResult {
                    call_id: "call_1".into(),
                    content: "alpha".into(),
                    is_error: false,
                    images: Vec::new(),
                }),
                Message::tool_result(ToolResult {
                    call_id: "call_2".into(),
                    content: "refused: outside /srv".into(),
                    is_error: true,
                    images: Vec::new(),
                }),
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
        let body = serde_json::to_value(request_body(&request, false)).expect("json");
        assert_eq!(
            body["tools"],
            serde_json::json!([{
                "type": "function",
                "function": {"name": "read_file", "description": "Reads a file", "parameters": parameters}
            }])
        );
        assert_eq!(
            body["messages"],
            serde_json::json!([
                {"role": "user", "content": "read it"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "read_file", "arguments": "{\"path\":\"/a\"}"}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "read_file", "arguments": "{\"path\":\"/b\"}"}}
                ]},
                {"role": "tool", "content": "alpha", "tool_call_id": "call_1"},
                {"role": "tool", "content": "refused: outside /srv", "tool_call_id": "call_2"}
            ])
        );
        assert_eq!(
            body["response_format"],
            serde_json::json!({
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}
            })
        );
    }

    #[test]
    fn parses_stream_chunks_usage_and_tool_calls() {
        let events = parse_chunk(r#"{"id":"c","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}],"usage":null}"#).expect("chunk");
        assert_eq!(
            events,
            [
                ChatEvent::Model("gpt-4o-2024-08-06".into()),
                ChatEvent::ResponseId("c".into()),
                ChatEvent::TextDelta("Hel".into())
            ]
        );
        // llama.cpp: null content, empty model.
        let events = parse_chunk(
            r#"{"model":"","choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
        )
        .expect("chunk");
        assert!(events.is_empty());
        let events = parse_chunk(r#"{"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}"#).expect("chunk");
        assert_eq!(
            events,
            [ChatEvent::Usage(Usage {
                input_tokens: 20,
                cached_input_tokens: 4,
                cache_write_tokens: 0,
                cache_write_hour_tokens: 0,
                output_tokens: 9,
                reasoning_tokens: 2
            })]
        );
        let events = parse_chunk(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#).expect("chunk");
        assert_eq!(
            events,
            [ChatEvent::ToolCallDelta {
                index: 0,
                id: Some("call_1".into()),
                name: Some("get_weather".into()),
                arguments: String::new()
            }]
        );
        assert_eq!(parse_chunk("[DONE]").expect("done"), [ChatEvent::Done]);
    }

    #[test]
    fn errors_in_streams_and_bodies_of_every_shape() {
        let err = parse_chunk(
            r#"{"error":{"message":"context too long","type":"invalid_request_error","code":400}}"#,
        );
        match err {
            Err(StreamError::Api(e)) => {
                assert_eq!(e.message, "context too long");
                assert_eq!(e.code.as_deref(), Some("400"));
            }
            other => panic!("expected an API error, got {other:?}"),
        }
        assert!(matches!(
            parse_chunk("not json"),
            Err(StreamError::Malformed(_))
        ));
        let openai = parse_error_body(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(openai.code.as_deref(), Some("rate_limit_exceeded"));
        assert_eq!(openai.status, Some(429));
        let lm_studio = parse_error_body(400, r#"{"error":"Unexpected endpoint"}"#);
        assert_eq!(lm_studio.message, "Unexpected endpoint");
        let old_vllm = parse_error_body(
            400,
            r#"{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}"#,
        );
        assert_eq!(old_vllm.message, "bad");
        assert_eq!(old_vllm.kind.as_deref(), Some("BadRequestError"));
        let html = parse_error_body(502, "<html>Bad Gateway</html>");
        assert_eq!(html.message, "<html>Bad Gateway</html>");
        assert_eq!(
            parse_error_body(503, "").message,
            "HTTP 503 with an empty body"
        );
    }
}

/// The body of an embeddings request.
#[derive(Debug, Serialize)]
pub struct EmbeddingRequest<'a> {
    /// The embedding model.
    pub model: &'a str,
    /// The texts (1 to 2048, none empty).
    pub input: &'a [String],
    /// Always `float`.
    pub encoding_format: &'static str,
}

/// A parsed embeddings response.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmbeddingResponse {
    /// One vector per input, in input order.
    pub vectors: Vec<Vec<f32>>,
    /// The model the API reported.
    pub model: Option<String>,
    /// Tokens billed.
    pub prompt_tokens: Option<u64>,
}

/// Parses an embeddings response, ordering vectors by their `index`.
pub fn parse_embedding_response(
    body: &str,
    inputs: usize,
) -> Result<EmbeddingResponse, StreamError> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        data: Vec<Item>,
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        usage: Option<EmbeddingUsage>,
    }
    #[derive(Deserialize)]
    struct Item {
        index: usize,
        embedding: Vec<f32>,
    }
    #[derive(Deserialize)]
    struct EmbeddingUsage {
        #[serde(default)]
        prompt_tokens: Option<u64>,
    }
    let body: Body = serde_json::from_str(body)
        .map_err(|err| StreamError::Malformed(format!("embeddings response: {err}")))?;
    let mut vectors = vec![Vec::new(); inputs];
    for item in body.data {
        let slot = vectors.get_mut(item.index).ok_or_else(|| {
            StreamError::Malformed(format!("embedding index {} out of range", item.index))
        })?;
        *slot = item.embedding;
    }
    if vectors.iter().any(Vec::is_empty) {
        return Err(StreamError::Malformed(
            "the response is missing embeddings for some inputs".into(),
        ));
    }
    Ok(EmbeddingResponse {
        vectors,
        model: body.model,
        prompt_tokens: body.usage.and_then(|u| u.prompt_tokens),
    })
}
