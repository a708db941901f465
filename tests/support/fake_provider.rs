//! A scriptable fake model-provider HTTP server for integration tests.
//!
//! [`FakeProvider::start`] binds `127.0.0.1:0` and answers API requests with
//! the next [`Reply`] from a FIFO queue, one reply per request. The replies
//! speak the real wire formats of the OpenAI Chat Completions API (SSE chunks
//! ending in `data: [DONE]`, and JSON) and of the Anthropic Messages API
//! (`event:`/`data:` SSE and JSON), including their error bodies, mid-stream
//! errors, dropped connections and stalls.
//!
//! It is as strict as the real APIs about where and how a request is sent:
//! only `POST /v1/chat/completions`, `POST /v1/embeddings` (OpenAI, with
//! `Authorization: Bearer KEY`) and `POST /v1/messages` (Anthropic, with
//! `x-api-key` and `anthropic-version`) with a JSON body are API routes. A
//! request without a key gets the API's 401 (unless [`FakeProvider::allow_keyless`]),
//! one with another key than [`FakeProvider::expect_api_key`] too, and a
//! scripted reply of one API sent to the other's route a 404; none of these
//! takes a reply from the queue. Other routes (`GET /v1/models`, llama.cpp's
//! `/props`, Ollama's `/api/show`) are side routes, answered from
//! [`FakeProvider::route`] or with a 404, recorded apart
//! ([`FakeProvider::side_requests`]).
//!
//! The server uses only `std`: one accept thread, and one thread per
//! connection. Every response carries `Connection: close` and the socket is
//! closed after it. A streamed body has no `Content-Length` (it ends when the
//! connection closes); any other body has a `Content-Length` for the whole
//! body, even when [`Reply::drop_after_parts`] cuts it short. Each body part
//! is written and flushed on its own, so streaming is observable.
//!
//! Every API request that is read completely is recorded, see
//! [`FakeProvider::requests`]. A request that arrives when the queue is empty
//! gets HTTP 500 with an OpenAI-shaped error saying
//! `fake provider: no reply scripted`.

#![allow(dead_code)]

#[path = "fake_provider/reasoning.rs"]
pub mod reasoning;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// The message of the error sent when a request arrives and no reply is left.
pub const NO_REPLY_MESSAGE: &str = "fake provider: no reply scripted";

/// The `created` timestamp used in every OpenAI object.
const CREATED: u64 = 1_700_000_000;

/// How long a connection thread waits for a slow or silent client.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A source of distinct ids (`chatcmpl-fake…`, `msg_fake…`, `req_fake…`).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One request received by the fake server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The request target as sent, e.g. `/v1/chat/completions` (query included).
    pub path: String,
    /// The headers in the order received, names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
}

impl RecordedRequest {
    /// The value of the first header called `name` (matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics with the body if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("request body is not JSON ({e}): {:?}", self.body))
    }
}

/// One piece of a response body, written and flushed on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// How long to sleep before writing this part.
    pub delay: Duration,
    /// The bytes of the part.
    pub data: Vec<u8>,
}

impl Part {
    /// A part sent without delay.
    pub fn new(data: impl Into<Vec<u8>>) -> Part {
        Part {
            delay: Duration::ZERO,
            data: data.into(),
        }
    }
}

/// A description of one HTTP response.
///
/// Build one with a constructor (`openai_stream`, `anthropic_json`,
/// `openai_error`, `raw`, …) and adjust it with the `with_*` builders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// Response headers, sent as given. `Connection: close` is added unless
    /// present; `Content-Length` is added unless present or `close_delimited`.
    pub headers: Vec<(String, String)>,
    /// The body, in pieces.
    pub parts: Vec<Part>,
    /// When true the body has no `Content-Length` and ends when the
    /// connection closes (how the streams are sent).
    pub close_delimited: bool,
    /// Sleep this long after reading the request, before the first byte.
    pub delay_before_first_byte: Duration,
    /// Sleep this long between consecutive body parts.
    pub stall_between_parts: Duration,
    /// Close the connection after this many body parts have been sent.
    pub drop_after_parts: Option<usize>,
    /// Close the connection without sending anything at all (not even a
    /// status line).
    pub hang_up: bool,
    /// The API this reply belongs to; a request to another API's route gets
    /// a 404 instead. `None` (raw replies) fits any API route.
    pub api: Option<Api>,
}

/// The APIs the fake speaks, each with its routes and auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// OpenAI: `POST /v1/chat/completions` and `POST /v1/embeddings`, with
    /// `Authorization: Bearer KEY`.
    OpenAi,
    /// Anthropic: `POST /v1/messages`, with `x-api-key: KEY` (or a bearer
    /// token) and `anthropic-version`.
    Anthropic,
    /// OpenAI Responses: `POST /v1/responses`, with `Authorization: Bearer KEY`.
    OpenAiResponses,
}

impl Api {
    /// The API a route belongs to, if it is one of the fake's routes.
    pub fn of_route(method: &str, path: &str) -> Option<Api> {
        let path = path.split('?').next().unwrap_or(path);
        match (method, path) {
            ("POST", "/v1/chat/completions" | "/v1/embeddings") => Some(Api::OpenAi),
            ("POST", "/v1/messages") => Some(Api::Anthropic),
            ("POST", "/v1/responses") => Some(Api::OpenAiResponses),
            _ => None,
        }
    }
}

impl Reply {
    /// Any response: `status`, `headers` sent as given, and the body `parts`.
    /// The body gets a `Content-Length` unless `headers` hold one already or
    /// the content type is `text/event-stream` (then it is close-delimited).
    pub fn raw(status: u16, headers: &[(&str, &str)], parts: &[&str]) -> Reply {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let close_delimited = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("content-type") && v.starts_with("text/event-stream")
        });
        Reply {
            status,
            headers,
            parts: parts.iter().map(|p| Part::new(*p)).collect(),
            close_delimited,
            delay_before_first_byte: Duration::ZERO,
            stall_between_parts: Duration::ZERO,
            drop_after_parts: None,
            hang_up: false,
            api: None,
        }
    }

    /// A JSON response with the given body, sent as one part.
    fn json_body(status: u16, body: &str) -> Reply {
        Reply::raw(status, &[("content-type", "application/json")], &[body])
    }

    /// An SSE response (HTTP 200), one part per event.
    fn sse(events: Vec<String>) -> Reply {
        let parts: Vec<&str> = events.iter().map(String::as_str).collect();
        Reply::raw(
            200,
            &[
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
            ],
            &parts,
        )
    }

    /// An error response: `status` with `body_json` as an `application/json` body.
    pub fn error(status: u16, body_json: &str) -> Reply {
        Reply::json_body(status, body_json)
    }

    /// An OpenAI error: `{"error":{"message","type","param":null,"code":null}}`,
    /// with an `x-request-id` header.
    pub fn openai_error(status: u16, error_type: &str, message: &str) -> Reply {
        let body = json!({
            "error": {"message": message, "type": error_type, "param": null, "code": null}
        });
        Reply::error(status, &body.to_string()).with_openai_request_id()
    }

    /// An Anthropic error: `{"type":"error","error":{"type","message"},"request_id"}`,
    /// with a matching `request-id` header.
    pub fn anthropic_error(status: u16, error_type: &str, message: &str) -> Reply {
        let request_id = format!("req_fake{:06}", next_id());
        let body = json!({
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": request_id,
        });
        Reply::error(status, &body.to_string())
            .with_header("request-id", &request_id)
            .for_api(Api::Anthropic)
    }

    /// An OpenAI streamed chat completion: a role delta, one content delta per
    /// piece, a `finish_reason: "stop"` chunk, then (if `usage` is
    /// `(prompt, completion)`) a `choices: []` usage chunk, then `data: [DONE]`.
    /// When `usage` is given every earlier chunk carries `"usage": null`, as
    /// with `stream_options.include_usage`.
    pub fn openai_stream(model: &str, text_pieces: &[&str], usage: Option<(u64, u64)>) -> Reply {
        let chunks = OpenAiChunks::new(model, usage.is_some());
        let mut events = vec![chunks.delta(json!({"role": "assistant", "content": ""}), None)];
        for piece in text_pieces {
            events.push(chunks.delta(json!({"content": piece}), None));
        }
        events.push(chunks.delta(json!({}), Some("stop")));
        if let Some((prompt, completion)) = usage {
            events.push(chunks.usage(prompt, completion));
        }
        events.push(sse_data("[DONE]"));
        Reply::sse(events).with_openai_request_id()
    }

    /// An OpenAI streamed tool call: a role delta, a first `tool_calls`
    /// fragment (index 0, id, type, function name, empty arguments), one
    /// fragment per `arguments_fragments` item, a `finish_reason:
    /// "tool_calls"` chunk, then `data: [DONE]`.
    pub fn openai_tool_call_stream(
        model: &str,
        tool_name: &str,
        arguments_fragments: &[&str],
    ) -> Reply {
        let chunks = OpenAiChunks::new(model, false);
        let call_id = format!("call_fake{:06}", next_id());
        let mut events = vec![
            chunks.delta(json!({"role": "assistant", "content": null}), None),
            chunks.tool_call_start(&call_id, tool_name),
        ];
        for fragment in arguments_fragments {
            events.push(chunks.delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}),
                None,
            ));
        }
        events.push(chunks.delta(json!({}), Some("tool_calls")));
        events.push(sse_data("[DONE]"));
        Reply::sse(events).with_openai_request_id()
    }

    /// An OpenAI streamed round of several tool calls (parallel tool
    /// calling): per call, a first fragment (its index, id, name) and one
    /// with its whole arguments string; then `finish_reason: "tool_calls"`,
    /// a usage chunk and `data: [DONE]`. Ids are `call_<n>` by position.
    pub fn openai_tool_calls_stream(model: &str, calls: &[(&str, &str)]) -> Reply {
        let chunks = OpenAiChunks::new(model, false);
        let mut events = vec![chunks.delta(json!({"role": "assistant", "content": null}), None)];
        for (index, (name, arguments)) in calls.iter().enumerate() {
            events.push(chunks.delta(
                json!({"tool_calls": [{
                    "index": index,
                    "id": format!("call_{index}"),
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }]}),
                None,
            ));
            events.push(chunks.delta(
                json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}),
                None,
            ));
        }
        events.push(chunks.delta(json!({}), Some("tool_calls")));
        events.push(sse_data("[DONE]"));
        Reply::sse(events).with_openai_request_id()
    }

    /// An OpenAI stream that sends a role delta and the `text_before` deltas,
    /// then `data: {"error":{"message":…,"type":"server_error",…}}`, all under
    /// HTTP 200. No `[DONE]` follows.
    pub fn openai_error_in_stream(model: &str, text_before: &[&str], error_message: &str) -> Reply {
        let chunks = OpenAiChunks::new(model, false);
        let mut events = vec![chunks.delta(json!({"role": "assistant", "content": ""}), None)];
        for piece in text_before {
            events.push(chunks.delta(json!({"content": piece}), None));
        }
        let error = json!({
            "error": {"message": error_message, "type": "server_error", "param": null, "code": null}
        });
        events.push(sse_data(&error.to_string()));
        Reply::sse(events).with_openai_request_id()
    }

    /// A 200 `text/event-stream` whose first event's data is not JSON,
    /// followed by `data: [DONE]`.
    pub fn malformed_stream() -> Reply {
        Reply::sse(vec![
            sse_data("{\"id\":\"chatcmpl-broken\",\"choices\":[{not json"),
            sse_data("[DONE]"),
        ])
    }

    /// A non-streaming OpenAI `chat.completion` with one assistant message,
    /// `finish_reason: "stop"`, and `usage` when given as `(prompt, completion)`.
    pub fn openai_json(model: &str, text: &str, usage: Option<(u64, u64)>) -> Reply {
        let mut body = json!({
            "id": format!("chatcmpl-fake{:06}", next_id()),
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        });
        if let Some((prompt, completion)) = usage {
            body["usage"] = openai_usage(prompt, completion);
        }
        Reply::json_body(200, &body.to_string()).with_openai_request_id()
    }

    /// An Anthropic streamed message with one text block: `message_start`
    /// (usage `input_tokens` = `usage.0`, `output_tokens` 1),
    /// `content_block_start`, `ping`, one `content_block_delta` `text_delta`
    /// per piece, `content_block_stop`, `message_delta` (`stop_reason`
    /// `end_turn`, `usage.output_tokens` = `usage.1`), `message_stop`.
    pub fn anthropic_stream(model: &str, text_pieces: &[&str], usage: (u64, u64)) -> Reply {
        let mut events = vec![
            anthropic_message_start(model, usage.0),
            sse_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}}),
            ),
            sse_event("ping", json!({"type": "ping"})),
        ];
        for piece in text_pieces {
            events.push(sse_event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.push(sse_event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.extend(anthropic_message_end("end_turn", usage.1));
        Reply::sse(events).with_anthropic_request_id()
    }

    /// [`Reply::anthropic_stream`] whose usage says `cache.0` input tokens
    /// were written to the prompt cache and `cache.1` read from it (the
    /// `input_tokens` field holds only the rest, as the API counts them).
    pub fn anthropic_cached_stream(
        model: &str,
        text_pieces: &[&str],
        usage: (u64, u64),
        cache: (u64, u64),
    ) -> Reply {
        let mut reply = Reply::anthropic_stream(model, text_pieces, usage);
        for part in &mut reply.parts {
            let text = String::from_utf8_lossy(&part.data).replace(
                "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0",
                &format!(
                    "\"cache_creation_input_tokens\":{},\"cache_read_input_tokens\":{}",
                    cache.0, cache.1
                ),
            );
            part.data = text.into_bytes();
        }
        reply
    }

    /// An Anthropic streamed `tool_use` block: `message_start`,
    /// `content_block_start` (`tool_use`, id, name, `input: {}`), one
    /// `input_json_delta` per fragment, `content_block_stop`, `message_delta`
    /// (`stop_reason` `tool_use`), `message_stop`.
    pub fn anthropic_tool_use_stream(
        model: &str,
        tool_name: &str,
        partial_json_fragments: &[&str],
        usage: (u64, u64),
    ) -> Reply {
        let tool_id = format!("toolu_fake{:06}", next_id());
        let mut events = vec![
            anthropic_message_start(model, usage.0),
            sse_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "tool_use", "id": tool_id,
                                         "name": tool_name, "input": {}}}),
            ),
        ];
        for fragment in partial_json_fragments {
            events.push(sse_event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "input_json_delta", "partial_json": fragment}}),
            ));
        }
        events.push(sse_event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.extend(anthropic_message_end("tool_use", usage.1));
        Reply::sse(events).with_anthropic_request_id()
    }

    /// An OpenAI streamed reply that writes `text` and then calls
    /// `tool_name` with `arguments` under the id `call_id`: a role delta, a
    /// content delta, the call's first fragment (id, name), one with its
    /// arguments, `finish_reason: "tool_calls"`, then `data: [DONE]`.
    pub fn openai_text_then_tool_call_stream(
        model: &str,
        text: &str,
        call_id: &str,
        tool_name: &str,
        arguments: &str,
    ) -> Reply {
        let chunks = OpenAiChunks::new(model, false);
        let events = vec![
            chunks.delta(json!({"role": "assistant", "content": ""}), None),
            chunks.delta(json!({"content": text}), None),
            chunks.tool_call_start(call_id, tool_name),
            chunks.delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
                None,
            ),
            chunks.delta(json!({}), Some("tool_calls")),
            sse_data("[DONE]"),
        ];
        Reply::sse(events).with_openai_request_id()
    }

    /// An Anthropic streamed message with a text block (`text`) and then a
    /// `tool_use` block (`tool_id`, `tool_name`, the input as one
    /// `input_json_delta`), `stop_reason` `tool_use`.
    pub fn anthropic_text_then_tool_use_stream(
        model: &str,
        text: &str,
        tool_id: &str,
        tool_name: &str,
        input_json: &str,
    ) -> Reply {
        let mut events = vec![
            anthropic_message_start(model, 10),
            sse_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}}),
            ),
            sse_event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": text}}),
            ),
            sse_event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            sse_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 1,
                       "content_block": {"type": "tool_use", "id": tool_id,
                                         "name": tool_name, "input": {}}}),
            ),
            sse_event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1,
                       "delta": {"type": "input_json_delta", "partial_json": input_json}}),
            ),
            sse_event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ),
        ];
        events.extend(anthropic_message_end("tool_use", 5));
        Reply::sse(events).with_anthropic_request_id()
    }

    /// An Anthropic stream that starts a text block, sends the `text_before`
    /// deltas, then an `error` event
    /// (`{"type":"error","error":{"type":error_type,"message":message}}`),
    /// all under HTTP 200.
    pub fn anthropic_error_in_stream(
        model: &str,
        text_before: &[&str],
        error_type: &str,
        message: &str,
    ) -> Reply {
        let mut events = vec![
            anthropic_message_start(model, 1),
            sse_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}}),
            ),
        ];
        for piece in text_before {
            events.push(sse_event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.push(sse_event(
            "error",
            json!({"type": "error", "error": {"type": error_type, "message": message}}),
        ));
        Reply::sse(events).with_anthropic_request_id()
    }

    /// A non-streaming Anthropic message with one text block, `stop_reason`
    /// `end_turn`, and usage `(input_tokens, output_tokens)`.
    pub fn anthropic_json(model: &str, text: &str, usage: (u64, u64)) -> Reply {
        let body = json!({
            "id": format!("msg_fake{:06}", next_id()),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": anthropic_usage(usage.0, usage.1),
        });
        Reply::json_body(200, &body.to_string()).with_anthropic_request_id()
    }

    /// An OpenAI model list (`GET /v1/models`) with one entry per
    /// `(id, extra fields)`; the extra fields are merged into the entry, as
    /// LiteLLM, vLLM or LM Studio add their limits.
    pub fn openai_model_list(models: &[(&str, Value)]) -> Reply {
        let data: Vec<Value> = models
            .iter()
            .map(|(id, extra)| {
                let mut entry =
                    json!({"id": id, "object": "model", "created": CREATED, "owned_by": "system"});
                if let (Some(entry), Some(extra)) = (entry.as_object_mut(), extra.as_object()) {
                    entry.extend(extra.clone());
                }
                entry
            })
            .collect();
        Reply::json_body(200, &json!({"object": "list", "data": data}).to_string())
    }

    /// Reads the request, then closes the connection without sending a byte.
    pub fn hang_up() -> Reply {
        let mut reply = Reply::raw(200, &[], &[]);
        reply.hang_up = true;
        reply
    }

    /// Adds a response header (e.g. `retry-after`, `retry-after-ms`).
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sleeps `delay` after reading the request, before the status line.
    pub fn with_delay_before_first_byte(mut self, delay: Duration) -> Reply {
        self.delay_before_first_byte = delay;
        self
    }

    /// Sleeps `delay` before body part `index` (0 is the first part, which
    /// delays the body after the headers have been sent). Panics if there is
    /// no such part.
    pub fn with_delay_before_part(mut self, index: usize, delay: Duration) -> Reply {
        let count = self.parts.len();
        self.parts
            .get_mut(index)
            .unwrap_or_else(|| panic!("reply has {count} parts, no part {index}"))
            .delay = delay;
        self
    }

    /// Sleeps `stall` between consecutive body parts.
    pub fn with_stall_between_parts(mut self, stall: Duration) -> Reply {
        self.stall_between_parts = stall;
        self
    }

    /// Closes the connection after sending `n` body parts (the headers are
    /// always sent). A stream then ends without its terminator; a JSON body
    /// ends short of its `Content-Length`.
    pub fn drop_after_parts(mut self, n: usize) -> Reply {
        self.drop_after_parts = Some(n);
        self
    }

    /// The whole body, as it would be sent without a drop.
    pub fn body(&self) -> Vec<u8> {
        self.parts.iter().flat_map(|p| p.data.clone()).collect()
    }

    fn with_openai_request_id(self) -> Reply {
        let id = format!("req_fake{:06}", next_id());
        self.with_header("x-request-id", &id).for_api(Api::OpenAi)
    }

    fn with_anthropic_request_id(self) -> Reply {
        let id = format!("req_fake{:06}", next_id());
        self.with_header("request-id", &id).for_api(Api::Anthropic)
    }

    /// Marks the reply as one of `api`'s: a request to another API's route
    /// gets a 404 instead of it.
    pub fn for_api(mut self, api: Api) -> Reply {
        self.api = Some(api);
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The status line and headers.
    fn head(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !self.close_delimited && !self.has_header("content-length") {
            let length: usize = self.parts.iter().map(|p| p.data.len()).sum();
            head.push_str(&format!("content-length: {length}\r\n"));
        }
        if !self.has_header("connection") {
            head.push_str("connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// Writes the response; stops quietly at the first write error.
    fn send(&self, stream: &mut TcpStream) {
        if self.hang_up {
            return;
        }
        sleep(self.delay_before_first_byte);
        if stream.write_all(&self.head()).is_err() || stream.flush().is_err() {
            return;
        }
        let limit = self.drop_after_parts.unwrap_or(usize::MAX);
        for (i, part) in self.parts.iter().enumerate().take(limit) {
            if i > 0 {
                sleep(self.stall_between_parts);
            }
            sleep(part.delay);
            if stream.write_all(&part.data).is_err() || stream.flush().is_err() {
                return;
            }
        }
    }
}

fn sleep(duration: Duration) {
    if !duration.is_zero() {
        std::thread::sleep(duration);
    }
}

/// A reason phrase for the status line.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// One SSE event with only a `data:` line (the OpenAI style).
fn sse_data(data: &str) -> String {
    format!("data: {data}\n\n")
}

/// One SSE event with `event:` and `data:` lines (the Anthropic style).
fn sse_event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The usage object of an OpenAI completion.
fn openai_usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    })
}

/// The usage object of an Anthropic message.
fn anthropic_usage(input: u64, output: u64) -> Value {
    json!({
        "input_tokens": input,
        "output_tokens": output,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    })
}

/// The `message_start` event of an Anthropic stream.
fn anthropic_message_start(model: &str, input_tokens: u64) -> String {
    sse_event(
        "message_start",
        json!({
            "type": "message_start",
            "message": {
                "id": format!("msg_fake{:06}", next_id()),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": anthropic_usage(input_tokens, 1),
            },
        }),
    )
}

/// The `message_delta` and `message_stop` events that end an Anthropic stream.
fn anthropic_message_end(stop_reason: &str, output_tokens: u64) -> [String; 2] {
    [
        sse_event(
            "message_delta",
            json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                "usage": {"output_tokens": output_tokens},
            }),
        ),
        sse_event("message_stop", json!({"type": "message_stop"})),
    ]
}

/// Builds the chunks of one OpenAI stream (shared id, created and model).
struct OpenAiChunks {
    id: String,
    model: String,
    with_usage: bool,
}

impl OpenAiChunks {
    /// The chunk that opens the first tool call, its arguments still empty.
    fn tool_call_start(&self, call_id: &str, tool_name: &str) -> String {
        self.delta(
            json!({"tool_calls": [{
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": tool_name, "arguments": ""},
            }]}),
            None,
        )
    }

    fn new(model: &str, with_usage: bool) -> OpenAiChunks {
        OpenAiChunks {
            id: format!("chatcmpl-fake{:06}", next_id()),
            model: model.to_string(),
            with_usage,
        }
    }

    fn chunk(&self, choices: Value, usage: Option<Value>) -> String {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
            "choices": choices,
        });
        if self.with_usage {
            chunk["usage"] = usage.unwrap_or(Value::Null);
        }
        sse_data(&chunk.to_string())
    }

    fn delta(&self, delta: Value, finish_reason: Option<&str>) -> String {
        self.chunk(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]),
            None,
        )
    }

    fn usage(&self, prompt: u64, completion: u64) -> String {
        self.chunk(json!([]), Some(openai_usage(prompt, completion)))
    }
}

/// Makes the reply to a request when no scripted reply is queued (a fake
/// model whose answer depends on what it was sent).
pub type Responder = dyn Fn(&RecordedRequest) -> Reply + Send + Sync;

/// The state shared by the server threads and the handle.
struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    responder: Option<Box<Responder>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Requests to the side routes (model lists, `/props`...), kept apart
    /// so that counts of API calls stay what the tests expect.
    side_requests: Mutex<Vec<RecordedRequest>>,
    /// Replies to side routes by `(method, path)`; others get a 404.
    side_routes: Mutex<Vec<((String, String), Reply)>>,
    /// The key every API request must carry; `None`: any non-empty key.
    api_key: Mutex<Option<String>>,
    /// Whether requests without a key are served (local servers).
    keyless: AtomicBool,
    /// API requests being answered now, and the most there ever were.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stop: AtomicBool,
    /// The batch endpoints and their state (see `fake_batches`).
    batches: super::fake_batches::Batches,
}

/// A fake provider listening on `127.0.0.1`, stopped when dropped.
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl FakeProvider {
    /// Starts the server on `127.0.0.1:0` with a queue of replies, served in
    /// order, one per request. A request arriving when the queue is empty
    /// gets HTTP 500 with an OpenAI-shaped error body saying
    /// "fake provider: no reply scripted".
    pub fn start(replies: Vec<Reply>) -> FakeProvider {
        FakeProvider::serve(replies, None)
    }

    /// Starts the server with a responder that makes every reply from the
    /// request it answers (queued replies, pushed later, still go first).
    pub fn start_with_responder(
        responder: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    ) -> FakeProvider {
        FakeProvider::serve(Vec::new(), Some(Box::new(responder)))
    }

    fn serve(replies: Vec<Reply>, responder: Option<Box<Responder>>) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake provider");
        let addr = listener.local_addr().expect("the fake provider's address");
        let shared = Arc::new(Shared {
            replies: Mutex::new(replies.into()),
            responder,
            requests: Mutex::new(Vec::new()),
            side_requests: Mutex::new(Vec::new()),
            side_routes: Mutex::new(vec![(
                ("GET".to_string(), "/v1/models".to_string()),
                Reply::openai_model_list(&[]),
            )]),
            api_key: Mutex::new(None),
            keyless: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            batches: Default::default(),
        });
        let accept_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-provider".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawning the fake provider");
        FakeProvider {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The most API requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received (read completely) so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Appends a reply to the end of the queue.
    pub fn push(&self, reply: Reply) {
        lock(&self.shared.replies).push_back(reply);
    }

    /// How many scripted replies have not been served yet.
    pub fn remaining_replies(&self) -> usize {
        lock(&self.shared.replies).len()
    }

    /// Answers `method path` (a side route: `GET /v1/models`, `GET /props`,
    /// `POST /api/show`...) with `reply`, every time, outside the queue.
    pub fn route(&self, method: &str, path: &str, reply: Reply) {
        let mut routes = lock(&self.shared.side_routes);
        routes.retain(|((m, p), _)| !(m == method && p == path));
        routes.push(((method.to_string(), path.to_string()), reply));
    }

    /// Requests to side routes (anything but the API routes), in order.
    pub fn side_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.side_requests).clone()
    }

    /// Requires this exact key on every API request (else 401).
    pub fn expect_api_key(&self, key: &str) {
        *lock(&self.shared.api_key) = Some(key.to_string());
    }

    /// The batch endpoints' state, to script and inspect (see `fake_batches`).
    pub fn batches(&self) -> &super::fake_batches::Batches {
        &self.shared.batches
    }

    /// Serves API requests that carry no key, as local servers do.
    pub fn allow_keyless(&self) {
        self.shared.keyless.store(true, Ordering::SeqCst);
    }
}

impl Drop for FakeProvider {
    /// Stops the accept thread (connections in progress finish on their own).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; failure means the listener is gone already.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        let _ = std::thread::Builder::new()
            .name("fake-provider-conn".into())
            .spawn(move || handle_connection(stream, &shared));
    }
}

/// Reads one request, records it, and answers it: a side route from its
/// table, a request the real API would refuse (unknown route, no or wrong
/// key, no `anthropic-version`, not JSON) with the error the real API
/// sends, anything else with the next scripted reply.
fn handle_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    if let Some(reply) = shared.batches.answer(&request) {
        reply.send(&mut stream);
        let _ = stream.flush();
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let api = Api::of_route(&request.method, &request.path);
    let reply = match api {
        None => side_reply(shared, &request),
        Some(api) => match refusal(shared, api, &request) {
            Some(refused) => {
                lock(&shared.requests).push(request.clone());
                refused
            }
            None => scripted_reply(shared, api, &request),
        },
    };
    if api.is_some() {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    }
    reply.send(&mut stream);
    if api.is_some() {
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// The reply to a side route, or the 404 of an unknown route.
fn side_reply(shared: &Shared, request: &RecordedRequest) -> Reply {
    lock(&shared.side_requests).push(request.clone());
    let path = request.path.split('?').next().unwrap_or(&request.path);
    let routes = lock(&shared.side_routes);
    routes
        .iter()
        .find(|((m, p), _)| *m == request.method && p == path)
        .map(|(_, reply)| reply.clone())
        .unwrap_or_else(|| {
            if request.header("x-api-key").is_some()
                || request.header("anthropic-version").is_some()
            {
                Reply::anthropic_error(404, "not_found_error", "Not Found")
            } else {
                Reply::openai_error(
                    404,
                    "invalid_request_error",
                    &format!("Invalid URL ({} {})", request.method, path),
                )
            }
        })
}

/// The error the real API answers a request it refuses with, if it does.
fn refusal(shared: &Shared, api: Api, request: &RecordedRequest) -> Option<Reply> {
    let expected = lock(&shared.api_key).clone();
    let keyless = shared.keyless.load(Ordering::SeqCst);
    let bearer = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let key_ok = |key: Option<&str>| match (key, &expected) {
        (None, _) => keyless,
        (Some(key), Some(expected)) => key == expected,
        (Some(_), None) => true,
    };
    let json = request
        .header("content-type")
        .is_some_and(|v| v.starts_with("application/json"));
    let openai = api != Api::Anthropic;
    let refused = match api {
        _ if openai && !key_ok(bearer) => Some(Reply::openai_error(
            401,
            "invalid_request_error",
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
        )),
        Api::Anthropic if !key_ok(request.header("x-api-key").or(bearer)) => Some(
            Reply::anthropic_error(401, "authentication_error", "invalid x-api-key"),
        ),
        Api::Anthropic if request.header("anthropic-version").is_none() => Some(
            Reply::anthropic_error(
                400,
                "invalid_request_error",
                "anthropic-version: header is required",
            ),
        ),
        _ if openai && !json => Some(Reply::openai_error(
            400,
            "invalid_request_error",
            "you must provide a JSON body with content-type application/json",
        )),
        Api::Anthropic if !json => Some(Reply::anthropic_error(
            400,
            "invalid_request_error",
            "content-type must be application/json",
        )),
        _ => None,
    };
    refused.or_else(|| {
        let body: Value = serde_json::from_str(&request.body).ok()?;
        reasoning::refusal(api, &body)
    })
}

/// The next scripted reply (or the responder's), checked against the
/// route: a reply of another API is a 404 of the route's API, as a real
/// server would answer a request sent to the wrong place.
fn scripted_reply(shared: &Shared, api: Api, request: &RecordedRequest) -> Reply {
    // Record and pop under one lock order so replies match arrival order.
    let reply = {
        let mut replies = lock(&shared.replies);
        lock(&shared.requests).push(request.clone());
        replies.pop_front()
    };
    let reply = reply
        .or_else(|| shared.responder.as_ref().map(|respond| respond(request)))
        .unwrap_or_else(|| Reply::openai_error(500, "server_error", NO_REPLY_MESSAGE));
    // An OpenAI error fits both OpenAI routes.
    let fits = |wanted: Api| {
        wanted == api || (reply.status >= 400 && wanted != Api::Anthropic && api != Api::Anthropic)
    };
    match reply.api {
        Some(wanted) if !fits(wanted) => {
            let message = format!(
                "fake provider: the scripted reply is for {wanted:?} but the request went to {} {}",
                request.method, request.path
            );
            match api {
                Api::OpenAi | Api::OpenAiResponses => {
                    Reply::openai_error(404, "invalid_request_error", &message)
                }
                Api::Anthropic => Reply::anthropic_error(404, "not_found_error", &message),
            }
        }
        _ => reply,
    }
}

/// Parses a request: request line, headers, and a body framed by
/// `Content-Length` or chunked encoding. `None` if the client goes away or
/// sends something unparsable.
fn read_request(stream: &mut TcpStream) -> Option<RecordedRequest> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    // Tolerate stray blank lines before the request line.
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();

    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }

    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let length: usize = match header("content-length") {
            Some(v) => v.parse().ok()?,
            None => 0,
        };
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };

    Some(RecordedRequest {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Reads a chunked request body, trailers included.
fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let size_text = line.trim().split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        if size == 0 {
            break;
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).ok()?;
        line.clear();
        reader.read_line(&mut line).ok()?; // the CRLF after the chunk
    }
    // Trailers, up to the blank line.
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
            return Some(body);
        }
    }
}
